package axes

import (
	"bytes"
	"go/ast"
	"go/token"
	"path"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"weak"
)

// This file holds the AST helpers that the rule packages share: resolving
// imported names, line spans, constant expressions and file reads that
// treat a missing file as empty.

// importCache holds the result of GoFile.Imports for each live GoFile. It
// is keyed by a weak pointer so that it never keeps a GoFile alive; the
// entry is dropped when the GoFile is collected.
var importCache sync.Map // weak.Pointer[GoFile] -> map[string]string

// Imports maps the local names of g's imports to their import paths:
// "rand" for "math/rand", "yaml" for "gopkg.in/yaml.v3", the explicit name
// for a renamed import. Blank (_) and dot (.) imports are left out, since no
// selector can refer to them. The map is computed once per file and shared
// by every checker, which may run concurrently: do not modify it.
func (g *GoFile) Imports() map[string]string {
	if g.AST == nil {
		return nil
	}
	key := weak.Make(g)
	if m, ok := importCache.Load(key); ok {
		return m.(map[string]string)
	}
	m, loaded := importCache.LoadOrStore(key, importNames(g.AST))
	if !loaded {
		runtime.AddCleanup(g, func(k weak.Pointer[GoFile]) { importCache.Delete(k) }, key)
	}
	return m.(map[string]string)
}

func importNames(f *ast.File) map[string]string {
	m := make(map[string]string, len(f.Imports))
	for _, spec := range f.Imports {
		p, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			continue
		}
		name := DefaultImportName(p)
		if spec.Name != nil {
			name = spec.Name.Name
		}
		if name == "_" || name == "." {
			continue
		}
		m[name] = p
	}
	return m
}

// DefaultImportName guesses the package name of an import path without
// loading it: the last element, skipping a major-version suffix such as
// "/v2" and a gopkg.in ".v3" suffix, with hyphens turned into underscores
// ("go_sqlite3" for github.com/mattn/go-sqlite3, whose package is sqlite3:
// such imports are usually renamed, and then the explicit name counts).
func DefaultImportName(importPath string) string {
	base := path.Base(importPath)
	if len(base) > 1 && base[0] == 'v' && isDigits(base[1:]) && path.Dir(importPath) != "." {
		base = path.Base(path.Dir(importPath))
	}
	if i := strings.Index(base, ".v"); i > 0 && isDigits(base[i+2:]) {
		base = base[:i]
	}
	return strings.ReplaceAll(base, "-", "_")
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// PkgSelector returns the import path and name of a selector pkg.Name whose
// pkg is a local import name in imports (as returned by GoFile.Imports), or
// two empty strings when e has another form. It resolves functions
// (call.Fun), types and variables alike.
func PkgSelector(imports map[string]string, e ast.Expr) (pkgPath, name string) {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return "", ""
	}
	id, ok := sel.X.(*ast.Ident)
	if !ok {
		return "", ""
	}
	p, ok := imports[id.Name]
	if !ok {
		return "", ""
	}
	return p, sel.Sel.Name
}

// PkgFunc returns the import path and function name of a call pkg.Func(...)
// in g, or two empty strings when the call has another form (a method call,
// a local function).
func (g *GoFile) PkgFunc(call *ast.CallExpr) (pkgPath, name string) {
	return PkgSelector(g.Imports(), call.Fun)
}

// Span returns the first and last line of n in g.
func (g *GoFile) Span(n ast.Node) (from, to int) {
	return g.Line(n.Pos()), g.Line(n.End() - 1)
}

// IsMain reports whether g belongs to package main.
func (g *GoFile) IsMain() bool { return g.AST.Name.Name == "main" }

// CalleeName returns the name of the called function or method: "Func" for
// Func(...), x.Func(...) and Func[T](...), or "" for any other callee.
// Without type information f[i](...) also yields "f".
func CalleeName(call *ast.CallExpr) string {
	switch fn := call.Fun.(type) {
	case *ast.Ident:
		return fn.Name
	case *ast.SelectorExpr:
		return fn.Sel.Name
	case *ast.IndexExpr:
		if id, ok := fn.X.(*ast.Ident); ok {
			return id.Name
		}
	}
	return ""
}

// FuncBodies calls fn for the body of every function declaration of f and
// of every function literal at package level (in a var initializer, say),
// with decl nil for those. Literals inside function bodies are not visited
// separately.
func FuncBodies(f *ast.File, fn func(decl *ast.FuncDecl, body *ast.BlockStmt)) {
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Body != nil {
				fn(d, d.Body)
			}
		case *ast.GenDecl:
			ast.Inspect(d, func(n ast.Node) bool {
				if fl, ok := n.(*ast.FuncLit); ok {
					fn(nil, fl.Body)
					return false
				}
				return true
			})
		}
	}
}

// IsConstExpr reports whether e is built only from literals, true, false
// and the names in consts (see FileConsts and Pass.PackageConsts), joined by
// binary operators and parentheses.
func IsConstExpr(e ast.Expr, consts map[string]bool) bool {
	switch t := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.Ident:
		return consts[t.Name] || t.Name == "true" || t.Name == "false"
	case *ast.ParenExpr:
		return IsConstExpr(t.X, consts)
	case *ast.BinaryExpr:
		return IsConstExpr(t.X, consts) && IsConstExpr(t.Y, consts)
	}
	return false
}

// FileConsts returns the names of the constants declared anywhere in f, at
// package level or inside functions.
func FileConsts(f *ast.File) map[string]bool {
	m := map[string]bool{}
	addConsts(m, f)
	return m
}

func addConsts(m map[string]bool, f *ast.File) {
	ast.Inspect(f, func(n ast.Node) bool {
		if gd, ok := n.(*ast.GenDecl); ok && gd.Tok == token.CONST {
			for _, s := range gd.Specs {
				for _, name := range s.(*ast.ValueSpec).Names {
					m[name.Name] = true
				}
			}
		}
		return true
	})
}

// PackageConsts returns the names of the constants declared in g and in
// the other head files of its package (same directory and package name,
// tests included). The result is a new map on each call; a checker that
// visits many files of one package should keep it.
func (p *Pass) PackageConsts(g *GoFile) map[string]bool {
	m := FileConsts(g.AST)
	for _, f := range p.PackageFiles(path.Dir(g.Path)) {
		if f.Path != g.Path && f.AST.Name.Name == g.AST.Name.Name {
			addConsts(m, f.AST)
		}
	}
	return m
}

// ReadHeadFile returns the content of path at the head revision, or nil
// when it does not exist or cannot be read.
func (p *Pass) ReadHeadFile(path string) []byte {
	return readTree(p.Head, path)
}

// ReadBaseFile returns the content of path at the base revision, or nil
// when it did not exist there, cannot be read or there is no base.
func (p *Pass) ReadBaseFile(path string) []byte {
	return readTree(p.Base, path)
}

func readTree(t Tree, path string) []byte {
	if t == nil {
		return nil
	}
	b, err := t.ReadFile(path)
	if err != nil {
		return nil
	}
	return b
}

// LineText returns line n (1-based) of the file's source, without its
// newline, or "" when there is no such line.
func (g *GoFile) LineText(n int) string {
	if n < 1 {
		return ""
	}
	src := g.Src
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(src, '\n')
		if j < 0 {
			return ""
		}
		src = src[j+1:]
	}
	if j := bytes.IndexByte(src, '\n'); j >= 0 {
		src = src[:j]
	}
	return string(src)
}

// Indent returns the leading spaces and tabs of line.
func Indent(line string) string {
	return line[:len(line)-len(strings.TrimLeft(line, " \t"))]
}

// RootIdent returns the variable an lvalue writes to: x for x, x[k], x.f,
// *x and (x), or nil when the chain does not end in an identifier.
func RootIdent(e ast.Expr) *ast.Ident {
	for {
		switch t := e.(type) {
		case *ast.Ident:
			return t
		case *ast.IndexExpr:
			e = t.X
		case *ast.SelectorExpr:
			e = t.X
		case *ast.StarExpr:
			e = t.X
		case *ast.ParenExpr:
			e = t.X
		default:
			return nil
		}
	}
}

// RecvTypeName returns the name of a method's receiver type (T for a
// receiver of type T, *T or *T[K]), or "" for a function or an unnamed
// receiver type.
func RecvTypeName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return ""
	}
	t := fd.Recv.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	switch x := t.(type) {
	case *ast.IndexExpr:
		t = x.X
	case *ast.IndexListExpr:
		t = x.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// LocalNames returns the names a function declares: the parameters and
// named results of ft, and every name body defines with := or declares in
// a var or const spec, at any depth. body must not be nil.
func LocalNames(ft *ast.FuncType, body *ast.BlockStmt) map[string]bool {
	m := map[string]bool{}
	for _, fl := range []*ast.FieldList{ft.Params, ft.Results} {
		if fl == nil {
			continue
		}
		for _, f := range fl.List {
			for _, id := range f.Names {
				m[id.Name] = true
			}
		}
	}
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE {
				for _, l := range n.Lhs {
					if id, ok := l.(*ast.Ident); ok {
						m[id.Name] = true
					}
				}
			}
		case *ast.ValueSpec:
			for _, id := range n.Names {
				m[id.Name] = true
			}
		}
		return true
	})
	return m
}

// ReturnsError reports whether a function type's last result is the
// predeclared error type.
func ReturnsError(ft *ast.FuncType) bool {
	if ft.Results == nil || len(ft.Results.List) == 0 {
		return false
	}
	id, ok := ft.Results.List[len(ft.Results.List)-1].Type.(*ast.Ident)
	return ok && id.Name == "error"
}
