package architecture

import (
	"context"
	"go/ast"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/fiveaxis/fiveaxis/axes"
)

// importNames maps the local names of f's imports to their paths.
func importNames(f *ast.File) map[string]string {
	m := make(map[string]string, len(f.Imports))
	for _, spec := range f.Imports {
		p, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			continue
		}
		name := defaultImportName(p)
		if spec.Name != nil {
			name = spec.Name.Name
		}
		m[name] = p
	}
	return m
}

// defaultImportName guesses the package name of an import path: its last
// element, skipping a major-version suffix such as "/v2" and a ".v3"
// gopkg.in suffix.
func defaultImportName(p string) string {
	base := path.Base(p)
	if len(base) > 1 && base[0] == 'v' && isDigits(base[1:]) && path.Dir(p) != "." {
		base = path.Base(path.Dir(p))
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

// pkgFunc returns the import path and function name of a call of the form
// pkg.Func(...), or "" when the call has another form.
func pkgFunc(imports map[string]string, call *ast.CallExpr) (string, string) {
	sel, ok := call.Fun.(*ast.SelectorExpr)
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

// span returns the first and last line of n in g.
func span(g *axes.GoFile, n ast.Node) (int, int) {
	return g.Line(n.Pos()), g.Line(n.End() - 1)
}

// isMainPackage reports whether g belongs to package main.
func isMainPackage(g *axes.GoFile) bool { return g.AST.Name.Name == "main" }

// calleeName returns the name of the called function or method: "Func" for
// Func(...) and x.Func(...).
func calleeName(call *ast.CallExpr) string {
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

// readHead returns the head content of p, or nil.
func readHead(pass *axes.Pass, p string) []byte {
	b, err := pass.Head.ReadFile(p)
	if err != nil {
		return nil
	}
	return b
}

// readBase returns the base content of p, or nil when it did not exist.
func readBase(pass *axes.Pass, p string) []byte {
	if pass.Base == nil {
		return nil
	}
	b, err := pass.Base.ReadFile(p)
	if err != nil {
		return nil
	}
	return b
}

// pkgIndex lists the head tree's Go files by directory once per checker
// run; Pass.PackageFiles lists the whole tree on every call, which is
// quadratic on large pull requests.
type pkgIndex struct {
	pass  *axes.Pass
	byDir map[string][]string
	memo  map[string][]*axes.GoFile
}

func newPkgIndex(pass *axes.Pass) *pkgIndex {
	ix := &pkgIndex{pass: pass, byDir: map[string][]string{}, memo: map[string][]*axes.GoFile{}}
	all, err := pass.Head.Files()
	if err != nil {
		return ix
	}
	for _, f := range all {
		if strings.HasSuffix(f, ".go") {
			d := path.Dir(f)
			ix.byDir[d] = append(ix.byDir[d], f)
		}
	}
	return ix
}

// files returns the parsed Go files of dir (tests included).
func (ix *pkgIndex) files(dir string) []*axes.GoFile {
	if fs, ok := ix.memo[dir]; ok {
		return fs
	}
	var out []*axes.GoFile
	for _, p := range ix.byDir[dir] {
		if g, err := ix.pass.GoFile(p); err == nil {
			out = append(out, g)
		}
	}
	ix.memo[dir] = out
	return out
}

// outOfTime reports whether less than a fifth of the checker's time budget
// is left, so that a checker can stop early and keep what it found: the
// driver discards every finding of a checker that overruns.
func outOfTime(ctx context.Context, start time.Time) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	if !ok {
		return false
	}
	return time.Until(dl) < dl.Sub(start)/5
}
