package correctness

import (
	"context"
	"go/ast"
	"go/token"
	"path"

	"github.com/fiveaxis/fiveaxis/axes"
)

// GoroutineErrorDropped reports go statements that call a function
// returning an error, which the go statement throws away.
var GoroutineErrorDropped = &axes.Checker{
	Name: "correctness/goroutine-error-dropped",
	Doc: "Error of a function run with go is dropped. " +
		"\"go f(x)\" discards every result of f, so when f returns an error the failure is lost. When " +
		"nothing waits for the goroutine either, a function that itself returns an error reports success " +
		"before the work has run. Run the call in a function literal that handles the error, or use an " +
		"errgroup (with SetLimit for many items) and return what Wait returns.",
	Axis:     axes.Correctness,
	Severity: axes.SeverityWarning,
	Run:      runGoroutineErrorDropped,
}

func runGoroutineErrorDropped(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(false) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var sigs errorSigs
		imports := g.Imports()
		for _, fd := range funcDecls(g.AST) {
			joins := waits(fd.Body)
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				gs, ok := n.(*ast.GoStmt)
				if !ok {
					return true
				}
				line := g.Line(gs.Pos())
				if !pass.IsAdded(g.Path, line) {
					return true
				}
				if sigs == nil {
					sigs = packageErrorSigs(pass, g)
				}
				name, returnsErr := sigs.returnsError(gs.Call, imports)
				if !returnsErr {
					return true
				}
				f := axes.Finding{Path: g.Path, Line: line, EndLine: g.Line(gs.End() - 1),
					Message: "go discards the error that " + name + " returns, so its failures are never seen; " +
						"call it in a function literal that handles the error, or run it in an errgroup and return Wait's error."}
				if axes.ReturnsError(fd.Type) && !joins {
					f.Severity = axes.SeverityError
					f.Message = "go discards the error that " + name + " returns and nothing waits for the goroutine, so " +
						fd.Name.Name + " reports success before the work has run and its failures are lost; run the calls " +
						"in an errgroup (with SetLimit when there are many), return what Wait returns."
				}
				pass.Report(f)
				return true
			})
		}
	}
	return nil
}

// waits reports whether body waits for goroutines: a Wait call (WaitGroup,
// errgroup) or a channel receive.
func waits(body *ast.BlockStmt) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.CallExpr:
			if methodName(x) == "Wait" {
				found = true
			}
		case *ast.UnaryExpr:
			if x.Op == token.ARROW {
				found = true
			}
		}
		return !found
	})
	return found
}

// errorSigs maps function and method names of a package to whether all
// their declarations return an error last: "F" for functions, ".M" for
// methods and interface methods.
type errorSigs map[string]bool

// packageErrorSigs collects the signatures of g's package.
func packageErrorSigs(pass *axes.Pass, g *axes.GoFile) errorSigs {
	sigs := errorSigs{}
	seen := map[string]bool{}
	add := func(key string, ft *ast.FuncType) {
		e := axes.ReturnsError(ft)
		if seen[key] {
			sigs[key] = sigs[key] && e
			return
		}
		seen[key] = true
		sigs[key] = e
	}
	for _, f := range pass.PackageFiles(path.Dir(g.Path)) {
		if f.AST.Name.Name != g.AST.Name.Name {
			continue
		}
		for _, d := range f.AST.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					add(d.Name.Name, d.Type)
				} else {
					add("."+d.Name.Name, d.Type)
				}
			case *ast.GenDecl:
				for _, sp := range d.Specs {
					ts, ok := sp.(*ast.TypeSpec)
					if !ok {
						continue
					}
					it, ok := ts.Type.(*ast.InterfaceType)
					if !ok {
						continue
					}
					for _, m := range it.Methods.List {
						if ft, ok := m.Type.(*ast.FuncType); ok {
							for _, n := range m.Names {
								add("."+n.Name, ft)
							}
						}
					}
				}
			}
		}
	}
	return sigs
}

// returnsError reports whether call is a call of a function or method of
// the package that returns an error, with a printable name.
func (s errorSigs) returnsError(call *ast.CallExpr, imports map[string]string) (string, bool) {
	switch fn := call.Fun.(type) {
	case *ast.Ident:
		return fn.Name, s[fn.Name]
	case *ast.SelectorExpr:
		if id, ok := fn.X.(*ast.Ident); ok && imports[id.Name] != "" {
			return "", false // another package's function: its signature is not in sight
		}
		name := exprText(fn)
		if name == "" {
			name = fn.Sel.Name
		}
		return name, s["."+fn.Sel.Name]
	}
	return "", false
}
