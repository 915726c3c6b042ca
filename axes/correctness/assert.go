package correctness

import (
	"context"
	"go/ast"

	"github.com/fiveaxis/fiveaxis/axes"
)

// UncheckedTypeAssertion reports single-result type assertions on decoded
// or untyped data.
var UncheckedTypeAssertion = &axes.Checker{
	Name: "correctness/unchecked-type-assertion",
	Doc: "Unchecked type assertion on untyped data. " +
		"v.(T) without the ok result panics when v holds another type; on values taken from a " +
		"map[string]any, a []any or decoded JSON the type depends on the input, so one unexpected " +
		"payload crashes the handler. Use the two-result form and handle !ok, or decode into a struct.",
	Axis:     axes.Correctness,
	Severity: axes.SeverityWarning,
	Run:      runUncheckedTypeAssertion,
}

// isDynamicType reports whether t is any, interface{}, or a map or slice
// of them.
func isDynamicType(t ast.Expr) bool {
	switch t := t.(type) {
	case *ast.Ident:
		return t.Name == "any"
	case *ast.InterfaceType:
		return t.Methods == nil || len(t.Methods.List) == 0
	case *ast.MapType:
		return isDynamicType(t.Value)
	case *ast.ArrayType:
		return isDynamicType(t.Elt)
	}
	return false
}

// isContainerType reports whether t is a map or slice of any.
func isContainerType(t ast.Expr) bool {
	switch t := t.(type) {
	case *ast.MapType:
		return isDynamicType(t.Value)
	case *ast.ArrayType:
		return isDynamicType(t.Elt)
	}
	return false
}

func runUncheckedTypeAssertion(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(false) {
		for _, fd := range funcDecls(g.AST) {
			checkAssertions(pass, g, fd)
		}
	}
	return nil
}

func checkAssertions(pass *axes.Pass, g *axes.GoFile, fd *ast.FuncDecl) {
	// untyped: names holding data whose dynamic type depends on input:
	// containers of any (declared, decoded into or passed in) and values
	// read from them.
	untyped := map[string]bool{}
	anyParams, sliceParams := map[string]bool{}, map[string]bool{}
	if fd.Type.Params != nil {
		for _, f := range fd.Type.Params.List {
			for _, id := range f.Names {
				_, isMap := f.Type.(*ast.MapType)
				if isContainerType(f.Type) && isMap {
					untyped[id.Name] = true
				} else if isContainerType(f.Type) {
					sliceParams[id.Name] = true // the caller decides what goes in
				} else if isDynamicType(f.Type) {
					anyParams[id.Name] = true
				}
			}
		}
	}
	decoded := map[string]bool{}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			m := methodName(call)
			if m == "Unmarshal" || m == "Decode" {
				for _, a := range call.Args {
					if u, ok := a.(*ast.UnaryExpr); ok {
						if id, ok := u.X.(*ast.Ident); ok {
							decoded[id.Name] = true
						}
					}
				}
			}
		}
		return true
	})
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ValueSpec:
			if n.Type != nil && isDynamicType(n.Type) {
				for _, id := range n.Names {
					if isContainerType(n.Type) || decoded[id.Name] {
						untyped[id.Name] = true
					}
				}
			}
		case *ast.AssignStmt:
			if len(n.Rhs) == 1 {
				// m := x.(map[string]any) and m, ok := x.(map[string]any)
				if ta, ok := n.Rhs[0].(*ast.TypeAssertExpr); ok && ta.Type != nil && isContainerType(ta.Type) {
					if id, ok := n.Lhs[0].(*ast.Ident); ok {
						untyped[id.Name] = true
					}
				}
			}
			for i, r := range n.Rhs {
				if i >= len(n.Lhs) || len(n.Lhs) != len(n.Rhs) {
					break
				}
				id, ok := n.Lhs[i].(*ast.Ident)
				if !ok {
					continue
				}
				if ix, ok := r.(*ast.IndexExpr); ok && untyped[rootIdent(ix.X)] {
					untyped[id.Name] = true
				}
				if cl, ok := r.(*ast.CompositeLit); ok && cl.Type != nil && isContainerType(cl.Type) {
					untyped[id.Name] = true
				}
				if isMakeOf(r, isContainerType) {
					untyped[id.Name] = true
				}
			}
		case *ast.RangeStmt:
			if untyped[rootIdent(n.X)] {
				if id, ok := n.Value.(*ast.Ident); ok {
					untyped[id.Name] = true
				}
			}
		}
		return true
	})
	// Single-result assertions: everything except "v, ok := x.(T)" and
	// type switches.
	checked := map[*ast.TypeAssertExpr]bool{}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if len(n.Lhs) == 2 && len(n.Rhs) == 1 {
				if ta, ok := n.Rhs[0].(*ast.TypeAssertExpr); ok {
					checked[ta] = true
				}
			}
		case *ast.ValueSpec:
			if len(n.Names) == 2 && len(n.Values) == 1 {
				if ta, ok := n.Values[0].(*ast.TypeAssertExpr); ok {
					checked[ta] = true
				}
			}
		}
		return true
	})
	reported := map[int]bool{}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		ta, ok := n.(*ast.TypeAssertExpr)
		if !ok || ta.Type == nil || checked[ta] {
			return true
		}
		sev := axes.Severity("")
		switch x := unparen(ta.X).(type) {
		case *ast.IndexExpr:
			inner, chained := unparen(x.X).(*ast.TypeAssertExpr)
			switch {
			case chained && inner.Type != nil && isContainerType(inner.Type):
				sev = axes.SeverityWarning // m["a"].(map[string]any)["b"].(string)
			case untyped[rootIdent(x.X)]:
				sev = axes.SeverityWarning
			case sliceParams[rootIdent(x.X)]:
				sev = axes.SeverityInfo
			}
		case *ast.Ident:
			switch {
			case untyped[x.Name] || decoded[x.Name]:
				sev = axes.SeverityWarning
			case anyParams[x.Name] && fd.Name.Name != "Push":
				sev = axes.SeverityInfo
			}
		}
		line := g.Line(ta.Pos())
		if sev == "" || reported[line] {
			return true
		}
		if sev == axes.SeverityWarning && !g.IsTest {
			// The value comes from input: one odd payload panics the
			// program, so outside tests it blocks.
			sev = axes.SeverityError
		}
		reported[line] = true
		pass.Report(axes.Finding{Path: g.Path, Line: line, Severity: sev,
			Message: "This type assertion panics when the value has another type or is missing, which depends on " +
				"the input here; use the two-result form (v, ok := ...) and handle !ok, or decode into a typed struct."})
		return true
	})
}

// isMakeOf reports whether e is make(T, ...) with pred(T).
func isMakeOf(e ast.Expr, pred func(ast.Expr) bool) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok || len(call.Args) == 0 {
		return false
	}
	id, ok := call.Fun.(*ast.Ident)
	return ok && id.Name == "make" && pred(call.Args[0])
}
