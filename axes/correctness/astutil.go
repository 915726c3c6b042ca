package correctness

import (
	"go/ast"
	"go/token"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
)

// isPkgCall reports whether call calls pkgPath.name for one of names.
func isPkgCall(imports map[string]string, call *ast.CallExpr, pkgPath string, names ...string) bool {
	p, n := axes.PkgSelector(imports, call.Fun)
	if p != pkgPath {
		return false
	}
	for _, want := range names {
		if n == want {
			return true
		}
	}
	return false
}

// methodName returns the selector name of a call x.Name(...), or "".
func methodName(call *ast.CallExpr) string {
	if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
		return sel.Sel.Name
	}
	return ""
}

// receiverText returns the source form of the receiver of a method call
// x.y.Name(...) ("x.y"), or "" when it is not a plain chain of names.
func receiverText(call *ast.CallExpr) string {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	return exprText(sel.X)
}

// exprText renders a chain of identifiers and selectors ("a.b.c"), or ""
// for any other expression.
func exprText(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		x := exprText(e.X)
		if x == "" {
			return ""
		}
		return x + "." + e.Sel.Name
	case *ast.StarExpr:
		return exprText(e.X)
	case *ast.ParenExpr:
		return exprText(e.X)
	case *ast.UnaryExpr:
		if e.Op == token.AND {
			return exprText(e.X)
		}
	}
	return ""
}

// pairCalls calls fn, in source order, for each assignment in body of the
// form "x, y := f(...)" or "x, y = f(...)" whose first variable is a name
// other than _, with the call and that name.
func pairCalls(body ast.Node, fn func(as *ast.AssignStmt, call *ast.CallExpr, first *ast.Ident)) {
	ast.Inspect(body, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || len(as.Lhs) != 2 || len(as.Rhs) != 1 {
			return true
		}
		call, ok := as.Rhs[0].(*ast.CallExpr)
		if !ok {
			return true
		}
		if id, ok := as.Lhs[0].(*ast.Ident); ok && id.Name != "_" {
			fn(as, call, id)
		}
		return true
	})
}

// funcDecls returns the function declarations of f that have a body.
func funcDecls(f *ast.File) []*ast.FuncDecl {
	var out []*ast.FuncDecl
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
			out = append(out, fd)
		}
	}
	return out
}

// funcBody is one function: a declaration or a literal.
type funcBody struct {
	Decl *ast.FuncDecl // nil for a literal
	Type *ast.FuncType
	Body *ast.BlockStmt
}

// allFuncs returns every function of f with a body, declarations and
// literals, outermost first.
func allFuncs(f *ast.File) []funcBody {
	var out []funcBody
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			if n.Body != nil {
				out = append(out, funcBody{Decl: n, Type: n.Type, Body: n.Body})
			}
		case *ast.FuncLit:
			out = append(out, funcBody{Type: n.Type, Body: n.Body})
		}
		return true
	})
	return out
}

// inspectShallow walks root like ast.Inspect but does not enter function
// literals.
func inspectShallow(root ast.Node, fn func(ast.Node) bool) {
	ast.Inspect(root, func(n ast.Node) bool {
		if _, ok := n.(*ast.FuncLit); ok && n != root {
			return false
		}
		return fn(n)
	})
}

// isTestingParam reports whether t is *testing.T, *testing.B or *testing.F
// (or testing.TB).
func isTestingType(imports map[string]string, t ast.Expr) bool {
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	p, n := axes.PkgSelector(imports, t)
	return p == "testing" && (n == "T" || n == "B" || n == "F" || n == "TB")
}

// isTestFunc reports whether fd is a Test, Benchmark or Fuzz function.
func isTestFunc(imports map[string]string, fd *ast.FuncDecl) bool {
	if fd.Recv != nil || fd.Body == nil {
		return false
	}
	name := fd.Name.Name
	ok := false
	for _, prefix := range []string{"Test", "Benchmark", "Fuzz"} {
		if rest, found := strings.CutPrefix(name, prefix); found {
			ok = rest == "" || !(rest[0] >= 'a' && rest[0] <= 'z')
		}
	}
	if !ok || fd.Type.Params == nil || len(fd.Type.Params.List) != 1 {
		return false
	}
	return isTestingType(imports, fd.Type.Params.List[0].Type)
}

// isErrName reports whether name looks like a local error variable: err,
// err2, errRead, readErr.
func isErrName(name string) bool {
	return name == "err" || strings.HasPrefix(name, "err") && len(name) > 3 && !isLower(name[3]) ||
		strings.HasSuffix(name, "Err") && len(name) > 3
}

func isLower(b byte) bool { return b >= 'a' && b <= 'z' }

// resultCount returns the number of results the function type declares.
func resultCount(ft *ast.FuncType) int {
	if ft.Results == nil {
		return 0
	}
	n := 0
	for _, f := range ft.Results.List {
		if len(f.Names) == 0 {
			n++
		} else {
			n += len(f.Names)
		}
	}
	return n
}

// refersTo reports whether n mentions the identifier name anywhere.
func refersTo(n ast.Node, name string) bool {
	found := false
	ast.Inspect(n, func(x ast.Node) bool {
		if found {
			return false
		}
		if id, ok := x.(*ast.Ident); ok && id.Name == name {
			found = true
		}
		return !found
	})
	return found
}

// contains reports whether inner lies within outer.
func contains(outer, inner ast.Node) bool {
	return outer.Pos() <= inner.Pos() && inner.End() <= outer.End()
}
