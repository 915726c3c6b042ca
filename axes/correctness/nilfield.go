package correctness

import (
	"go/ast"
	"go/token"
	"path"

	"github.com/fiveaxis/fiveaxis/axes"
)

// nilMapFields reports methods that write an entry of a map field which a
// constructor of the type leaves nil: New builds &T{...} without the field,
// and T.Add does t.m[k] = v without making it first. memo keeps each
// package's constructors, so a PR with many files in one package scans it
// once.
func nilMapFields(pass *axes.Pass, g *axes.GoFile, memo map[string]map[string]map[string]string) {
	key := path.Dir(g.Path) + "|" + g.AST.Name.Name
	leftNil, ok := memo[key]
	if !ok {
		leftNil = nilFieldCtors(pass, g)
		memo[key] = leftNil
	}
	if len(leftNil) == 0 {
		return
	}
	reportNilFieldWrites(pass, g, leftNil)
}

// nilFieldCtors maps each struct type of g's package to its map fields that
// a constructor leaves nil and no method initialises, with that
// constructor's name.
func nilFieldCtors(pass *axes.Pass, g *axes.GoFile) map[string]map[string]string {
	files := pass.PackageFiles(path.Dir(g.Path))
	mapFields := map[string]map[string]bool{} // type -> map fields
	for _, f := range files {
		if f.AST.Name.Name != g.AST.Name.Name {
			continue
		}
		ast.Inspect(f.AST, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return false
			}
			for _, fl := range st.Fields.List {
				if _, isMap := fl.Type.(*ast.MapType); isMap {
					for _, id := range fl.Names {
						if mapFields[ts.Name.Name] == nil {
							mapFields[ts.Name.Name] = map[string]bool{}
						}
						mapFields[ts.Name.Name][id.Name] = true
					}
				}
			}
			return false
		})
	}
	if len(mapFields) == 0 {
		return nil
	}
	// leftNil[type][field] names a non-test constructor that builds the type
	// with a keyed literal lacking the field and never sets it afterwards.
	leftNil := map[string]map[string]string{}
	for _, f := range files {
		if f.IsTest || f.AST.Name.Name != g.AST.Name.Name {
			continue
		}
		for _, fd := range funcDecls(f.AST) {
			if fd.Recv != nil {
				continue
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				cl, ok := n.(*ast.CompositeLit)
				if !ok {
					return true
				}
				id, ok := cl.Type.(*ast.Ident)
				if !ok || mapFields[id.Name] == nil || len(cl.Elts) == 0 {
					return true
				}
				set := map[string]bool{}
				for _, e := range cl.Elts {
					kv, ok := e.(*ast.KeyValueExpr)
					if !ok {
						return true // positional: every field is given
					}
					if k, ok := kv.Key.(*ast.Ident); ok {
						set[k.Name] = true
					}
				}
				for field := range mapFields[id.Name] {
					if !set[field] && !setsField(fd.Body, field) {
						if leftNil[id.Name] == nil {
							leftNil[id.Name] = map[string]string{}
						}
						if leftNil[id.Name][field] == "" {
							leftNil[id.Name][field] = fd.Name.Name
						}
					}
				}
				return true
			})
		}
	}
	if len(leftNil) == 0 {
		return nil
	}
	// A field some method assigns is initialised by the type itself (an
	// init or reset method run before the writes): leave it alone.
	for _, f := range files {
		if f.IsTest || f.AST.Name.Name != g.AST.Name.Name {
			continue
		}
		for _, fd := range funcDecls(f.AST) {
			typ := axes.RecvTypeName(fd)
			for field := range leftNil[typ] {
				if setsField(fd.Body, field) {
					delete(leftNil[typ], field)
				}
			}
		}
	}
	return leftNil
}

// reportNilFieldWrites reports the writes of g's methods to the map fields
// in leftNil.
func reportNilFieldWrites(pass *axes.Pass, g *axes.GoFile, leftNil map[string]map[string]string) {
	for _, fd := range funcDecls(g.AST) {
		typ, recv := axes.RecvTypeName(fd), recvName(fd)
		if recv == "" || leftNil[typ] == nil {
			continue
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			as, ok := n.(*ast.AssignStmt)
			if !ok || as.Tok == token.DEFINE {
				return true
			}
			for _, l := range as.Lhs {
				ix, ok := l.(*ast.IndexExpr)
				if !ok {
					continue
				}
				sel, ok := ix.X.(*ast.SelectorExpr)
				if !ok || exprText(sel.X) != recv {
					continue
				}
				ctor := leftNil[typ][sel.Sel.Name]
				if ctor == "" || comparesNil(fd.Body, recv+"."+sel.Sel.Name) {
					continue
				}
				line := g.Line(as.Pos())
				if !pass.IsAdded(g.Path, line) {
					continue
				}
				pass.Report(axes.Finding{Path: g.Path, Line: line, EndLine: g.Line(as.End() - 1),
					Message: recv + "." + sel.Sel.Name + " is nil in a " + typ + " made by " + ctor + ", which does not " +
						"initialise it, so this write panics with \"assignment to entry in nil map\"; make the map in " +
						ctor + " (or here when it is nil)."})
				return false
			}
			return true
		})
	}
}

// setsField reports whether body assigns x.field = ... for some x.
func setsField(body *ast.BlockStmt, field string) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		if as, ok := n.(*ast.AssignStmt); ok {
			for _, l := range as.Lhs {
				if sel, ok := l.(*ast.SelectorExpr); ok && sel.Sel.Name == field {
					found = true
				}
			}
		}
		return !found
	})
	return found
}

// comparesNil reports whether body compares the expression text x with nil
// (a lazy "if t.m == nil { t.m = make(...) }").
func comparesNil(body *ast.BlockStmt, x string) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		if be, ok := n.(*ast.BinaryExpr); ok && (be.Op == token.EQL || be.Op == token.NEQ) {
			if id, ok := be.Y.(*ast.Ident); ok && id.Name == "nil" && exprText(be.X) == x {
				found = true
			}
		}
		return !found
	})
	return found
}
