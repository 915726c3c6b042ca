package security

import (
	"context"
	"go/ast"
	"go/token"
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

// nameWords splits an identifier into lower-case words at case changes,
// underscores, hyphens and digits: "apiKeyID" -> [api key id].
func nameWords(s string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case r == '_' || r == '-' || r == '.' || r == ' ':
			flush()
			continue
		case r >= 'A' && r <= 'Z':
			// A new word starts at an upper-case letter that follows a
			// lower-case one, or that precedes one in an acronym (IDToken).
			if i > 0 && (isLower(rs[i-1]) || i+1 < len(rs) && isLower(rs[i+1]) && isUpper(rs[i-1])) {
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return words
}

func isLower(r rune) bool { return r >= 'a' && r <= 'z' }
func isUpper(r rune) bool { return r >= 'A' && r <= 'Z' }

// exprName returns the name an expression is known by: x for x, f for
// a.b.f, and the name of the converted or called value for string(x) or
// x.String().
func exprName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.Ident:
		return t.Name
	case *ast.SelectorExpr:
		return t.Sel.Name
	case *ast.StarExpr:
		return exprName(t.X)
	case *ast.ParenExpr:
		return exprName(t.X)
	case *ast.IndexExpr:
		if lit, ok := t.Index.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			s, _ := strconv.Unquote(lit.Value)
			return s
		}
	case *ast.CallExpr:
		if id, ok := t.Fun.(*ast.Ident); ok && len(t.Args) == 1 && id.Name == "string" {
			return exprName(t.Args[0])
		}
		if _, ok := t.Fun.(*ast.ArrayType); ok && len(t.Args) == 1 {
			return exprName(t.Args[0]) // []byte(x)
		}
	}
	return ""
}

// isConstExpr reports whether e is built only from literals and names
// declared as constants in consts.
func isConstExpr(e ast.Expr, consts map[string]bool) bool {
	switch t := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.Ident:
		return consts[t.Name] || t.Name == "true" || t.Name == "false"
	case *ast.ParenExpr:
		return isConstExpr(t.X, consts)
	case *ast.BinaryExpr:
		return isConstExpr(t.X, consts) && isConstExpr(t.Y, consts)
	}
	return false
}

// fileConsts collects the names of constants declared anywhere in f.
func fileConsts(f *ast.File) map[string]bool {
	m := map[string]bool{}
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
	return m
}

// stringLit returns the value of a string literal.
func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// funcs calls fn for every function body of f: declarations and the
// function literals at package level, with the enclosing declaration (nil
// for package-level literals).
func funcs(f *ast.File, fn func(decl *ast.FuncDecl, body *ast.BlockStmt)) {
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

// packageConsts collects the constants declared in the package of g (all
// its files) and inside g.
func packageConsts(ix *pkgIndex, g *axes.GoFile) map[string]bool {
	key := path.Dir(g.Path) + "|" + g.AST.Name.Name
	if m, ok := ix.consts[key]; ok {
		return m
	}
	m := fileConsts(g.AST)
	ix.consts[key] = m
	for _, f := range ix.files(path.Dir(g.Path)) {
		if f.Path == g.Path || f.AST.Name.Name != g.AST.Name.Name {
			continue
		}
		for k := range fileConsts(f.AST) {
			m[k] = true
		}
	}
	return m
}

// pkgIndex lists the head tree's Go files by directory once per checker
// run; Pass.PackageFiles lists the whole tree on every call, which is
// quadratic on large pull requests.
type pkgIndex struct {
	pass   *axes.Pass
	byDir  map[string][]string
	memo   map[string][]*axes.GoFile
	consts map[string]map[string]bool // package constants by dir|package
}

func newPkgIndex(pass *axes.Pass) *pkgIndex {
	ix := &pkgIndex{pass: pass, byDir: map[string][]string{}, memo: map[string][]*axes.GoFile{}, consts: map[string]map[string]bool{}}
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
