package axes

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"slices"
	"sync"
	"testing"
)

// mapTree is an in-memory Tree.
type mapTree map[string]string

func (t mapTree) ReadFile(p string) ([]byte, error) {
	s, ok := t[p]
	if !ok {
		return nil, errors.New(p + ": not found")
	}
	return []byte(s), nil
}

func (t mapTree) Files() ([]string, error) { return slices.Sorted(maps.Keys(t)), nil }

func parseGoFile(tb testing.TB, path, src string) *GoFile {
	tb.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		tb.Fatalf("parse %s: %v", path, err)
	}
	return &GoFile{Path: path, Src: []byte(src), Fset: fset, AST: f}
}

// firstCall returns the first call expression in g whose callee is name.
func firstCall(tb testing.TB, g *GoFile, name string) *ast.CallExpr {
	tb.Helper()
	var found *ast.CallExpr
	ast.Inspect(g.AST, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok && found == nil && CalleeName(c) == name {
			found = c
		}
		return found == nil
	})
	if found == nil {
		tb.Fatalf("no call of %s", name)
	}
	return found
}

const importsSrc = `package lib

import (
	"fmt"
	mrand "math/rand/v2"
	"gopkg.in/yaml.v3"
	"github.com/go-chi/chi/v5"
	"github.com/mattn/go-sqlite3"
	_ "embed"
	. "strings"
)

const limit = 3

func F[T any](x T) {}

func run() {
	const local = "x"
	fmt.Println(mrand.IntN(limit), yaml.Marshal, chi.NewRouter, go_sqlite3.ErrNo, ToUpper(local))
	F[int](1)
	run()
	var v struct{ M func() }
	v.M()
}
`

func TestImports(t *testing.T) {
	g := parseGoFile(t, "lib/lib.go", importsSrc)
	want := map[string]string{
		"fmt":   "fmt",
		"mrand": "math/rand/v2",
		"yaml":  "gopkg.in/yaml.v3",
		"chi":   "github.com/go-chi/chi/v5",
		// A guess from the path: the package's real name (sqlite3) is
		// not known without loading it.
		"go_sqlite3": "github.com/mattn/go-sqlite3",
	}
	got := g.Imports()
	if !maps.Equal(got, want) {
		t.Errorf("Imports() = %v, want %v", got, want)
	}

	// Concurrent callers share one map.
	var wg sync.WaitGroup
	res := make([]map[string]string, 8)
	for i := range res {
		wg.Go(func() { res[i] = g.Imports() })
	}
	wg.Wait()
	for _, m := range res {
		m["probe"] = "x"
		if got["probe"] != "x" {
			t.Fatal("Imports() returned different maps for one file")
		}
		delete(m, "probe")
	}

	if (&GoFile{}).Imports() != nil {
		t.Error("Imports() of a file without AST should be nil")
	}
}

func TestDefaultImportName(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"fmt", "fmt"},
		{"math/rand", "rand"},
		{"math/rand/v2", "rand"},
		{"github.com/jackc/pgx/v5", "pgx"},
		{"gopkg.in/yaml.v3", "yaml"},
		{"github.com/mattn/go-sqlite3", "go_sqlite3"},
		{"v2", "v2"},
		{"example.com/vx", "vx"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			if got := DefaultImportName(tc.path); got != tc.want {
				t.Errorf("DefaultImportName(%q) = %q, want %q", tc.path, got, tc.want)
			}
		})
	}
}

func TestPkgFuncAndSelector(t *testing.T) {
	g := parseGoFile(t, "lib/lib.go", importsSrc)
	for _, tc := range []struct {
		callee, wantPath, wantName string
	}{
		{"Println", "fmt", "Println"},
		{"IntN", "math/rand/v2", "IntN"},
		{"ToUpper", "", ""}, // dot import: not a selector
		{"F", "", ""},       // generic local function
		{"run", "", ""},     // local function
		{"M", "", ""},       // method on a local value
	} {
		t.Run(tc.callee, func(t *testing.T) {
			p, n := g.PkgFunc(firstCall(t, g, tc.callee))
			if p != tc.wantPath || n != tc.wantName {
				t.Errorf("PkgFunc = %q, %q; want %q, %q", p, n, tc.wantPath, tc.wantName)
			}
		})
	}
	sel, err := parser.ParseExpr("go_sqlite3.ErrNo")
	if err != nil {
		t.Fatal(err)
	}
	if p, n := PkgSelector(g.Imports(), sel); p != "github.com/mattn/go-sqlite3" || n != "ErrNo" {
		t.Errorf("PkgSelector(go_sqlite3.ErrNo) = %q, %q", p, n)
	}
}

func TestCalleeName(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"f(x)", "f"},
		{"a.b.Method()", "Method"},
		{"F[int](1)", "F"},
		{"func(){}()", ""},
		{"fs[0]()", "fs"}, // an index looks like an instantiation without types
	} {
		t.Run(tc.src, func(t *testing.T) {
			e, err := parser.ParseExpr(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			if got := CalleeName(e.(*ast.CallExpr)); got != tc.want {
				t.Errorf("CalleeName(%s) = %q, want %q", tc.src, got, tc.want)
			}
		})
	}
}

func TestSpanAndIsMain(t *testing.T) {
	g := parseGoFile(t, "cmd/x/main.go", "package main\n\nfunc main() {\n\tprintln(1,\n\t\t2)\n}\n")
	if !g.IsMain() {
		t.Error("IsMain() = false for package main")
	}
	if from, to := g.Span(firstCall(t, g, "println")); from != 4 || to != 5 {
		t.Errorf("Span(println call) = %d, %d; want 4, 5", from, to)
	}
	if from, to := g.Span(g.AST.Decls[0]); from != 3 || to != 6 {
		t.Errorf("Span(main) = %d, %d; want 3, 6", from, to)
	}
	if parseGoFile(t, "lib/lib.go", importsSrc).IsMain() {
		t.Error("IsMain() = true for package lib")
	}
}

func TestFuncBodies(t *testing.T) {
	g := parseGoFile(t, "lib/f.go", `package lib

var handler = func() { _ = func() {} }

func A() { _ = func() {} }

func (T) B() {}

func external()

type T struct{}
`)
	var got []string
	FuncBodies(g.AST, func(decl *ast.FuncDecl, body *ast.BlockStmt) {
		name := "literal"
		if decl != nil {
			name = decl.Name.Name
		}
		got = append(got, name)
	})
	if want := []string{"literal", "A", "B"}; !slices.Equal(got, want) {
		t.Errorf("FuncBodies visited %v, want %v", got, want)
	}
}

func TestConsts(t *testing.T) {
	head := mapTree{
		"lib/a.go":      "package lib\n\nconst A = \"a\"\n\nfunc f() { const inner = 1; _ = inner }\n",
		"lib/b.go":      "package lib\n\nconst (\n\tB = A + \"b\"\n\tC = 2\n)\n",
		"lib/b_test.go": "package lib_test\n\nconst X = 1\n",
		"lib/sub/c.go":  "package sub\n\nconst D = 4\n",
		"lib/broken.go": "package lib\n\nconst (",
	}
	in := &Input{Head: head}
	p := &Pass{Input: in, shared: newShared(in)}
	g, err := p.GoFile("lib/a.go")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := FileConsts(g.AST), map[string]bool{"A": true, "inner": true}; !maps.Equal(got, want) {
		t.Errorf("FileConsts = %v, want %v", got, want)
	}
	consts := p.PackageConsts(g)
	if want := map[string]bool{"A": true, "inner": true, "B": true, "C": true}; !maps.Equal(consts, want) {
		t.Errorf("PackageConsts = %v, want %v", consts, want)
	}

	for _, tc := range []struct {
		src  string
		want bool
	}{
		{`"SELECT 1"`, true},
		{`A + "x" + B`, true},
		{`(C * 2) - 1`, true},
		{`true`, true},
		{`A + name`, false},
		{`fmt.Sprint(A)`, false},
		{`-1`, false}, // unary expressions are not folded
	} {
		t.Run(tc.src, func(t *testing.T) {
			e, err := parser.ParseExpr(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			if got := IsConstExpr(e, consts); got != tc.want {
				t.Errorf("IsConstExpr(%s) = %v, want %v", tc.src, got, tc.want)
			}
		})
	}
}

func TestReadFiles(t *testing.T) {
	in := &Input{Head: mapTree{"a.txt": "head"}, Base: mapTree{"a.txt": "base"}}
	p := &Pass{Input: in, shared: newShared(in)}
	if got := string(p.ReadHeadFile("a.txt")); got != "head" {
		t.Errorf("ReadHeadFile = %q", got)
	}
	if got := string(p.ReadBaseFile("a.txt")); got != "base" {
		t.Errorf("ReadBaseFile = %q", got)
	}
	if p.ReadHeadFile("missing") != nil || p.ReadBaseFile("missing") != nil {
		t.Error("a missing file should read as nil")
	}
	noBase := &Pass{Input: &Input{Head: mapTree{}}}
	if noBase.ReadBaseFile("a.txt") != nil {
		t.Error("ReadBaseFile without a base should be nil")
	}
}

func TestRootIdent(t *testing.T) {
	for src, want := range map[string]string{
		"x": "x", "x[k]": "x", "x.f.g": "x", "*x": "x", "(x).f": "x", "(*p)[0]": "p",
		"f()": "", "&x": "", `"s"`: "",
	} {
		e, err := parser.ParseExpr(src)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if id := RootIdent(e); id != nil {
			got = id.Name
		}
		if got != want {
			t.Errorf("RootIdent(%s) = %q, want %q", src, got, want)
		}
	}
}

func TestRecvTypeName(t *testing.T) {
	g := parseGoFile(t, "a.go", `package p
func F() {}
func (T) A() {}
func (t *T) B() {}
func (l *List[E]) C() {}
func (m Map[K, V]) D() {}
`)
	var got []string
	for _, d := range g.AST.Decls {
		got = append(got, RecvTypeName(d.(*ast.FuncDecl)))
	}
	if want := []string{"", "T", "T", "List", "Map"}; !slices.Equal(got, want) {
		t.Errorf("RecvTypeName = %q, want %q", got, want)
	}
}

func TestLocalNames(t *testing.T) {
	g := parseGoFile(t, "a.go", `package p
func (r *T) F(a, b int, _ string) (n int, err error) {
	c := 1
	var d, e = 2, 3
	const k = 4
	x.f, y := 5, 6
	z = 7
	go func(q int) { w := q; _ = w }(c)
	for i, v := range s {}
}
`)
	fd := g.AST.Decls[0].(*ast.FuncDecl)
	got := slices.Sorted(maps.Keys(LocalNames(fd.Type, fd.Body)))
	want := []string{"_", "a", "b", "c", "d", "e", "err", "k", "n", "w", "y"}
	if !slices.Equal(got, want) {
		t.Errorf("LocalNames = %q, want %q", got, want)
	}
}
