package analyzers

import (
	"go/ast"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/ast/astutil"
)

// suppressed reports whether a diagnostic is a known false positive that
// fiveaxis drops: SA4000 ("identical expressions on both sides") where the
// operands call functions, which may have side effects or return a new
// value each time (!b.Allow() || !b.Allow() takes two tokens).
func suppressed(a *analysis.Analyzer, d analysis.Diagnostic, files []*ast.File) bool {
	if a.Name != "SA4000" {
		return false
	}
	end := d.End
	if !end.IsValid() {
		end = d.Pos
	}
	for _, f := range files {
		if f.FileStart > d.Pos || d.Pos > f.FileEnd {
			continue
		}
		path, _ := astutil.PathEnclosingInterval(f, d.Pos, end)
		for _, n := range path {
			if be, ok := n.(*ast.BinaryExpr); ok {
				return callsFunction(be.X) || callsFunction(be.Y)
			}
		}
	}
	return false
}

// callsFunction reports whether e contains a call other than a conversion
// to a basic type or a builtin without side effects.
func callsFunction(e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return !found
		}
		if id, ok := call.Fun.(*ast.Ident); ok {
			switch id.Name {
			case "len", "cap", "string", "int", "int64", "uint", "float64", "byte", "rune":
				return true
			}
		}
		found = true
		return false
	})
	return found
}
