// Package readability holds the rules of the readability axis: code that
// works but is harder to read, review or maintain than it needs to be, such
// as long or deeply nested functions, undocumented exported API, debug
// prints and commented-out code left in library packages, TODOs nobody
// owns, stuttering names and query-named functions that change state.
//
// The rules read the Go AST of the head revision only and report on the
// lines a pull request adds.
package readability

import (
	"go/ast"
	"path"
	"strconv"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
)

// Checkers returns the readability rules.
func Checkers() []*axes.Checker {
	return []*axes.Checker{
		LongFunction,
		DeepNesting,
		MissingDoc,
		CommentedOutCode,
		DebugPrint,
		TodoWithoutOwner,
		Stutter,
		MisleadingName,
		TooManyParams,
		DuplicateCode,
	}
}

// importNames maps the local names of f's imports to their paths.
func importNames(f *ast.File) map[string]string {
	m := make(map[string]string, len(f.Imports))
	for _, spec := range f.Imports {
		p, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			continue
		}
		name := path.Base(p)
		if len(name) > 1 && name[0] == 'v' && isDigits(name[1:]) && path.Dir(p) != "." {
			name = path.Base(path.Dir(p))
		}
		if i := strings.Index(name, ".v"); i > 0 && isDigits(name[i+2:]) {
			name = name[:i]
		}
		name = strings.ReplaceAll(name, "-", "_")
		if spec.Name != nil {
			name = spec.Name.Name
		}
		m[name] = p
	}
	return m
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

// pkgFunc returns the import path and name of a selector pkg.Name, or ""
// when e has another form.
func pkgFunc(imports map[string]string, e ast.Expr) (string, string) {
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

// span returns the first and last line of n in g.
func span(g *axes.GoFile, n ast.Node) (int, int) {
	return g.Line(n.Pos()), g.Line(n.End() - 1)
}

// isLibraryFile reports whether g is non-test code of a non-main package
// outside testdata, where API and output conventions apply.
func isLibraryFile(g *axes.GoFile) bool {
	if g.IsTest || g.AST.Name.Name == "main" {
		return false
	}
	return !strings.Contains("/"+g.Path, "/testdata/")
}

// addedCount returns how many lines of [from, to] the PR added in path.
func addedCount(pass *axes.Pass, path string, from, to int) int {
	n := 0
	for l := from; l <= to; l++ {
		if pass.IsAdded(path, l) {
			n++
		}
	}
	return n
}

// isExported reports whether name starts with an upper-case letter.
func isExported(name string) bool { return ast.IsExported(name) }
