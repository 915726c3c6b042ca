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
//
// It also drops gosec's G305 (zip slip) in a function that confines entry
// names itself: filepath.IsLocal, filepath.Rel, filepath.Localize, a
// strings.HasPrefix test against a cleaned directory, securejoin or os.Root.
func suppressed(a *analysis.Analyzer, d analysis.Diagnostic, files []*ast.File) bool {
	var check func(path []ast.Node) bool
	switch {
	case a.Name == "SA4000":
		check = func(path []ast.Node) bool {
			for _, n := range path {
				if be, ok := n.(*ast.BinaryExpr); ok {
					return callsFunction(be.X) || callsFunction(be.Y)
				}
			}
			return false
		}
	case a.Name == "gosec" && d.Category == "G305":
		check = func(path []ast.Node) bool {
			for _, n := range path {
				switch fn := n.(type) {
				case *ast.FuncDecl:
					return confines(fn.Body)
				case *ast.FuncLit:
					return confines(fn.Body)
				}
			}
			return false
		}
	default:
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
		return check(path)
	}
	return false
}

// confines reports whether body checks that a path stays inside a
// directory.
func confines(body *ast.BlockStmt) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || found {
			return !found
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		switch sel.Sel.Name {
		case "IsLocal", "Rel", "Localize", "SecureJoin", "OpenRoot", "OpenInRoot":
			found = true
		case "HasPrefix":
			ast.Inspect(call, func(x ast.Node) bool {
				if s, ok := x.(*ast.SelectorExpr); ok && (s.Sel.Name == "Clean" || s.Sel.Name == "Abs") {
					found = true
				}
				return !found
			})
		}
		return !found
	})
	return found
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
