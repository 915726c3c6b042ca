package architecture

import (
	"context"
	"fmt"
	"go/ast"
	"go/token"
	"regexp"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
)

// PackageMutableState reports new package-level variables that hold shared
// mutable state.
var PackageMutableState = &axes.Checker{
	Name: "architecture/package-mutable-state",
	Doc: `New package-level variables should not hold mutable shared state. A global database handle, client or pool, or a package-level map or pointer that functions reassign or write, is hidden coupling: it makes tests interfere with each other, hides dependencies from callers and races without a lock. Pass such values in through a struct or constructor instead.

Sentinel errors, compiled regexps, sync primitives and read-only lookup tables are not reported.`,
	Axis:     axes.Architecture,
	Severity: axes.SeverityWarning,
	Run:      runPackageMutableState,
}

// handleType matches type names of shared resource handles.
var handleType = regexp.MustCompile(`^(DB|Tx|Conn|Pool|Client|Session|Engine|Driver|Collection|Database)$|(DB|Pool|Client|Conn)$`)

// handleConstructors are functions whose result is a shared resource handle.
var handleConstructors = map[string]bool{
	"Open": true, "Connect": true, "NewClient": true, "Dial": true, "NewPool": true,
}

// immutableValueFuncs are calls whose result is conventionally read-only.
var immutableValueFuncs = map[string]bool{
	"New": true, "Errorf": true, "MustCompile": true, "MustCompilePOSIX": true,
	"Must": true, "NewReplacer": true, "MustParse": true, "LoadLocation": true,
	"FixedZone": true,
}

func runPackageMutableState(ctx context.Context, pass *axes.Pass) error {
	infos := map[string]*pkgInfo{}
	for _, g := range pass.ChangedGoFiles(false) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var pkg *pkgInfo
		for _, decl := range g.AST.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				from, to := g.Span(vs)
				if !pass.AddedIn(g.Path, from, to) {
					continue
				}
				for i, name := range vs.Names {
					if name.Name == "_" {
						continue
					}
					var val ast.Expr
					if len(vs.Values) == len(vs.Names) {
						val = vs.Values[i]
					} else if len(vs.Values) == 1 && i == 0 {
						val = vs.Values[0] // var db, err = sql.Open(...)
					}
					kind := stateKind(vs.Type, val)
					if kind == "" {
						continue
					}
					if pkg == nil {
						key := pathDir(g.Path) + "|" + g.AST.Name.Name
						if infos[key] == nil {
							infos[key] = loadPkgInfo(pass, g)
						}
						pkg = infos[key]
					}
					msg, sev := judgeState(name.Name, kind, pkg, g.IsMain())
					if msg == "" {
						continue
					}
					line := g.Line(name.Pos())
					pass.Report(axes.Finding{Path: g.Path, Line: line, Severity: sev, Message: msg})
				}
			}
		}
	}
	return nil
}

// stateKind classifies a package-level variable by its declared type or
// initial value: "handle" (a database/client handle), "map", "pointer",
// "slice", or "" for anything not worth a look.
func stateKind(typ, val ast.Expr) string {
	if typ != nil {
		return typeKind(typ)
	}
	switch v := val.(type) {
	case *ast.CompositeLit:
		switch t := v.Type.(type) {
		case *ast.MapType:
			if len(v.Elts) == 0 {
				return "map"
			}
			return "table-map"
		case *ast.ArrayType:
			if t.Len == nil && len(v.Elts) == 0 {
				return "slice"
			}
		}
	case *ast.UnaryExpr:
		if v.Op == token.AND {
			if cl, ok := v.X.(*ast.CompositeLit); ok {
				if k := typeKind(cl.Type); k == "handle" {
					return k
				}
				return "pointer"
			}
		}
	case *ast.CallExpr:
		name := axes.CalleeName(v)
		if name == "make" && len(v.Args) > 0 {
			if _, ok := v.Args[0].(*ast.MapType); ok {
				return "map"
			}
			return ""
		}
		if handleConstructors[name] {
			return "handle"
		}
		if immutableValueFuncs[name] {
			return ""
		}
	}
	return ""
}

func typeKind(typ ast.Expr) string {
	if syncType(typ) {
		return "" // sync.Pool, sync.Map, atomic values: made for shared use
	}
	switch t := typ.(type) {
	case *ast.StarExpr:
		if n := typeName(t.X); n != "" && handleType.MatchString(n) {
			return "handle"
		}
		if n := typeName(t.X); isImmutableType(n) {
			return ""
		}
		return "pointer"
	case *ast.MapType:
		return "map"
	case *ast.SelectorExpr, *ast.Ident:
		if n := typeName(t); n != "" && handleType.MatchString(n) && n != "Conn" {
			// interface handles such as redis.UniversalClient or a DB interface
			return "handle"
		}
	}
	return ""
}

// syncType reports whether typ (or what it points to) comes from package
// sync or sync/atomic.
func syncType(typ ast.Expr) bool {
	if st, ok := typ.(*ast.StarExpr); ok {
		typ = st.X
	}
	sel, ok := typ.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && (pkg.Name == "sync" || pkg.Name == "atomic")
}

func typeName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.Ident:
		return t.Name
	case *ast.SelectorExpr:
		return t.Sel.Name
	case *ast.IndexExpr:
		return typeName(t.X)
	}
	return ""
}

func isImmutableType(n string) bool {
	switch n {
	case "Regexp", "Template", "Location", "Replacer", "Int", "Rat", "Float", "Logger", "FlagSet", "Once", "Mutex", "RWMutex", "WaitGroup":
		return true
	}
	return false
}

// pkgInfo is what judgeState needs to know about the rest of the package.
type pkgInfo struct {
	writes   map[string]bool // package-level names assigned or written through in non-test functions
	writers  map[string][]string
	hasMutex bool
}

// registryWriter matches the names of functions that fill a registry once,
// at start-up.
var registryWriter = regexp.MustCompile(`^(?i)(register|init|add|set|load|setup|reset|must)`)

// onlyRegistry reports whether every function writing name looks like
// start-up registration (RegisterDriver, init, AddProvider).
func (p *pkgInfo) onlyRegistry(name string) bool {
	ws := p.writers[name]
	for _, w := range ws {
		if !registryWriter.MatchString(w) {
			return false
		}
	}
	return len(ws) > 0
}

func loadPkgInfo(pass *axes.Pass, g *axes.GoFile) *pkgInfo {
	dir := pathDir(g.Path)
	info := &pkgInfo{writes: map[string]bool{}, writers: map[string][]string{}}
	onces := onceVars(pass, dir, g.AST.Name.Name)
	for _, f := range pass.PackageFiles(dir) {
		if f.AST.Name.Name != g.AST.Name.Name {
			continue
		}
		for _, decl := range f.AST.Decls {
			switch d := decl.(type) {
			case *ast.GenDecl:
				if d.Tok != token.VAR {
					continue
				}
				for _, s := range d.Specs {
					vs := s.(*ast.ValueSpec)
					if n := typeName(vs.Type); n == "Mutex" || n == "RWMutex" {
						info.hasMutex = true
					}
					for _, v := range vs.Values {
						if cl, ok := v.(*ast.CompositeLit); ok {
							if n := typeName(cl.Type); n == "Mutex" || n == "RWMutex" {
								info.hasMutex = true
							}
						}
					}
				}
			case *ast.FuncDecl:
				if d.Body == nil || f.IsTest {
					continue
				}
				locals := localNames(d)
				fn := d.Name.Name
				write := func(name string) {
					info.writes[name] = true
					info.writers[name] = append(info.writers[name], fn)
				}
				ast.Inspect(d.Body, func(n ast.Node) bool {
					switch s := n.(type) {
					case *ast.AssignStmt:
						if s.Tok == token.DEFINE {
							return true
						}
						for _, lhs := range s.Lhs {
							if id := axes.RootIdent(lhs); id != nil && !locals[id.Name] {
								write(id.Name)
							}
						}
					case *ast.IncDecStmt:
						if id := axes.RootIdent(s.X); id != nil && !locals[id.Name] {
							write(id.Name)
						}
					case *ast.CallExpr:
						if isOnceDo(s, onces, locals) {
							return false // lazy one-time initialization, not shared mutation
						}
						if id, ok := s.Fun.(*ast.Ident); ok && id.Name == "delete" && len(s.Args) > 0 {
							if r := axes.RootIdent(s.Args[0]); r != nil && !locals[r.Name] {
								write(r.Name)
							}
						}
					}
					return true
				})
			}
		}
	}
	return info
}

// onceVars returns the package-level variables of package pkg in dir whose
// type is sync.Once.
func onceVars(pass *axes.Pass, dir, pkg string) map[string]bool {
	m := map[string]bool{}
	for _, f := range pass.PackageFiles(dir) {
		if f.AST.Name.Name != pkg {
			continue
		}
		for _, decl := range f.AST.Decls {
			d, ok := decl.(*ast.GenDecl)
			if !ok || d.Tok != token.VAR {
				continue
			}
			for _, s := range d.Specs {
				vs := s.(*ast.ValueSpec)
				if typeName(vs.Type) != "Once" {
					continue
				}
				for _, n := range vs.Names {
					m[n.Name] = true
				}
			}
		}
	}
	return m
}

// isOnceDo reports whether call is once.Do(func() { ... }) on a
// package-level sync.Once: the writes in its body happen exactly once, as
// lazy initialization guarded by the Once.
func isOnceDo(call *ast.CallExpr, onces, locals map[string]bool) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Do" || len(call.Args) != 1 {
		return false
	}
	if _, ok := call.Args[0].(*ast.FuncLit); !ok {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && onces[id.Name] && !locals[id.Name]
}

// localNames collects the names a function declares (parameters, results,
// receivers and := or var declarations), which shadow package-level ones.
func localNames(fd *ast.FuncDecl) map[string]bool {
	m := axes.LocalNames(fd.Type, fd.Body)
	addFields := func(fl *ast.FieldList) {
		if fl == nil {
			return
		}
		for _, f := range fl.List {
			for _, n := range f.Names {
				m[n.Name] = true
			}
		}
	}
	addFields(fd.Recv)
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch s := n.(type) {
		case *ast.FuncLit:
			addFields(s.Type.Params)
		case *ast.RangeStmt:
			if s.Tok == token.DEFINE {
				for _, e := range []ast.Expr{s.Key, s.Value} {
					if id, ok := e.(*ast.Ident); ok {
						m[id.Name] = true
					}
				}
			}
		}
		return true
	})
	return m
}

func pathDir(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return "."
}

// judgeState decides whether a package-level variable is shared mutable
// state worth reporting.
func judgeState(name, kind string, pkg *pkgInfo, isMain bool) (string, axes.Severity) {
	written := pkg.writes[name]
	switch kind {
	case "handle":
		sev := axes.SeverityWarning
		return fmt.Sprintf("Package-level variable %s holds a shared resource handle, which hides the dependency from callers and makes tests share one connection; pass it in through a struct field or constructor parameter instead.", name), sev
	case "map", "table-map", "slice", "pointer":
		if !written || pkg.onlyRegistry(name) {
			return "", "" // read-only, or a registry filled at start-up
		}
		sev := axes.SeverityWarning
		if pkg.hasMutex || isMain || kind == "pointer" || kind == "slice" {
			sev = axes.SeverityInfo // often a deliberate singleton set up once
		}
		what := map[string]string{"map": "map", "table-map": "map", "slice": "slice", "pointer": "pointer"}[kind]
		return fmt.Sprintf("Package-level %s %s is written by functions of the package, making it global mutable state that tests and goroutines share; keep it in a struct that callers create and pass around (guarded by a mutex if shared).", what, name), sev
	}
	return "", ""
}
