package readability

import (
	"context"
	"go/ast"
	"go/token"
	"path"
	"regexp"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
)

// MisleadingName reports Get, Is and Has functions that change state.
var MisleadingName = &axes.Checker{
	Name: "readability/misleading-name",
	Doc: "Query-named function changes state. " +
		"A function or method named Get*, Is* or Has* reads as a side-effect-free query, so callers call it " +
		"freely (in logs, checks, loops); when it assigns receiver fields, writes maps or changes package " +
		"variables that surprise causes bugs. Rename it to say what it does, or move the change out.",
	Axis:     axes.Readability,
	Severity: axes.SeverityWarning,
	Run:      runMisleadingName,
}

// queryPrefix returns the query prefix of a name ("Get", "Is", "Has"), or
// "" when the name is not query-shaped.
func queryPrefix(name string) string {
	for _, p := range []string{"Get", "Is", "Has", "get", "is", "has"} {
		if rest, ok := strings.CutPrefix(name, p); ok && (rest == "" || rest[0] >= 'A' && rest[0] <= 'Z') {
			return p
		}
	}
	return ""
}

// pkgVarNames returns the package-level variable names declared in dir.
func pkgVarNames(pass *axes.Pass, dir string) map[string]bool {
	out := map[string]bool{}
	for _, g := range pass.PackageFiles(dir) {
		for _, d := range g.AST.Decls {
			if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.VAR {
				for _, s := range gd.Specs {
					for _, id := range s.(*ast.ValueSpec).Names {
						out[id.Name] = true
					}
				}
			}
		}
	}
	return out
}

func runMisleadingName(ctx context.Context, pass *axes.Pass) error {
	pkgVars := map[string]map[string]bool{}
	for _, g := range pass.ChangedGoFiles(false) {
		dir := path.Dir(g.Path)
		for _, d := range g.AST.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			prefix := queryPrefix(fd.Name.Name)
			if prefix == "" || admitsChange(fd.Name.Name) {
				continue
			}
			if pkgVars[dir] == nil {
				pkgVars[dir] = pkgVarNames(pass, dir)
			}
			m := findMutation(fd, pkgVars[dir])
			if m == nil {
				continue
			}
			sev := axes.SeverityWarning
			if m.counter || !isExported(fd.Name.Name) {
				sev = axes.SeverityInfo // a statistics counter, or a helper only this package calls
			}
			pass.Report(axes.Finding{Path: g.Path, Line: g.Line(fd.Name.Pos()), EndLine: g.Line(m.node.Pos()), Severity: sev,
				Message: fd.Name.Name + " reads like a side-effect-free query but it changes " + m.target +
					", which callers will not expect; rename it to say what it does or move the change out."})
		}
	}
	return nil
}

// evictWords in a doc comment say that a query drops what it finds stale.
var evictWords = regexp.MustCompile(`(?i)\b(dropped|drops|removed|removes|deleted|deletes|evicted|evicts|purged|purges)\b`)

// mutation is the first state change found in a query-named function.
type mutation struct {
	node    ast.Node
	target  string
	counter bool
}

// findMutation returns the first assignment to receiver state or a
// package variable in fd that is not lazy initialisation, or nil.
func findMutation(fd *ast.FuncDecl, pkgVars map[string]bool) *mutation {
	recv, ptrRecv := "", false
	if fd.Recv != nil && len(fd.Recv.List) > 0 && len(fd.Recv.List[0].Names) > 0 {
		recv = fd.Recv.List[0].Names[0].Name
		_, ptrRecv = fd.Recv.List[0].Type.(*ast.StarExpr)
	}
	locals := axes.LocalNames(fd.Type, fd.Body)

	// target describes what assigning to e changes, or "".
	target := func(e ast.Expr) string {
		isIndex := false
		if ix, ok := e.(*ast.IndexExpr); ok {
			e, isIndex = ix.X, true
		}
		switch x := e.(type) {
		case *ast.Ident:
			if pkgVars[x.Name] && !locals[x.Name] {
				return "the package variable " + x.Name
			}
		case *ast.SelectorExpr:
			root := x.X
			for {
				if s, ok := root.(*ast.SelectorExpr); ok {
					root = s.X
					continue
				}
				break
			}
			id, ok := root.(*ast.Ident)
			if !ok {
				return ""
			}
			if recv != "" && id.Name == recv && (ptrRecv || isIndex) && !isBookkeeping(x.Sel.Name) {
				return recv + "." + x.Sel.Name
			}
			if pkgVars[id.Name] && !locals[id.Name] {
				return "the package variable " + id.Name
			}
		}
		return ""
	}
	// Conditions anywhere in the function: a target they test is being
	// initialised lazily or memoised ("if c.x != nil { return c.x }").
	var conds []string
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if ifs, ok := n.(*ast.IfStmt); ok {
			conds = append(conds, exprString(ifs.Cond))
			if ifs.Init != nil {
				conds = append(conds, nodeIdents(ifs.Init))
			}
		}
		return true
	})
	memoised := func(t ast.Expr) bool {
		text := exprString(t)
		for _, c := range conds {
			if text != "" && strings.Contains(c, text) {
				return true
			}
		}
		return false
	}
	evicts := fd.Doc != nil && evictWords.MatchString(fd.Doc.Text())
	// Map entries the function reads: "c.entries[host]".
	reads := map[string]bool{}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if ix, ok := n.(*ast.IndexExpr); ok {
			if m, k := exprString(ix.X), exprString(ix.Index); m != "" && k != "" {
				reads[m+"["+k+"]"] = true
			}
		}
		return true
	})
	var found *mutation
	var guards []*ast.IfStmt
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if found != nil {
			return false
		}
		if n == nil {
			return true
		}
		for len(guards) > 0 && !(guards[len(guards)-1].Pos() <= n.Pos() && n.End() <= guards[len(guards)-1].End()) {
			guards = guards[:len(guards)-1]
		}
		guarded := func(t ast.Expr) bool {
			text := exprString(t)
			for _, g := range guards {
				if text != "" && (strings.Contains(exprString(g.Cond), text) || g.Init != nil && strings.Contains(nodeIdents(g.Init), text)) {
					return true
				}
			}
			return false
		}
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.IfStmt:
			guards = append(guards, n)
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE {
				return true
			}
			for _, l := range n.Lhs {
				base := l
				if ix, ok := l.(*ast.IndexExpr); ok {
					base = ix.X
				}
				if t := target(l); t != "" && !guarded(base) && !memoised(base) {
					found = &mutation{node: n, target: t}
					return false
				}
			}
		case *ast.IncDecStmt:
			if t := target(n.X); t != "" {
				found = &mutation{node: n, target: t, counter: true}
				return false
			}
		case *ast.CallExpr:
			if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "delete" && len(n.Args) == 2 &&
				!(evicts && reads[exprString(n.Args[0])+"["+exprString(n.Args[1])+"]"]) {
				// Deleting the very entry the query looked up (an expired
				// cache entry), when the doc comment says so, is documented
				// eviction, not a surprise.
				if t := target(&ast.IndexExpr{X: n.Args[0], Index: n.Args[1]}); t != "" {
					found = &mutation{node: n, target: t}
					return false
				}
			}
		}
		return true
	})
	return found
}

// exprString renders a selector chain ("c.cache") or "" for other
// expressions.
func exprString(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		if s := exprString(x.X); s != "" {
			return s + "." + x.Sel.Name
		}
	case *ast.BinaryExpr:
		return exprString(x.X) + " " + exprString(x.Y)
	case *ast.UnaryExpr:
		return exprString(x.X)
	case *ast.CallExpr:
		var parts []string
		for _, a := range x.Args {
			parts = append(parts, exprString(a))
		}
		return strings.Join(parts, " ")
	case *ast.IndexExpr:
		return exprString(x.X)
	case *ast.ParenExpr:
		return exprString(x.X)
	}
	return ""
}

// nodeIdents renders the selector chains of a statement, space-separated.
func nodeIdents(n ast.Node) string {
	var parts []string
	ast.Inspect(n, func(x ast.Node) bool {
		if e, ok := x.(ast.Expr); ok {
			if s := exprString(e); s != "" {
				parts = append(parts, s)
				return false
			}
		}
		return true
	})
	return strings.Join(parts, " ")
}

// admitsChange reports whether a query-shaped name already says that it
// changes state: GetOrCreate, getNextToken, HasNextPage.
func admitsChange(name string) bool {
	for i := 0; i+2 < len(name); i++ {
		if name[i:i+2] == "Or" && name[i+2] >= 'A' && name[i+2] <= 'Z' {
			return true
		}
	}
	return strings.Contains(name, "Next") || strings.Contains(name, "Pending")
}

// isBookkeeping reports whether a field name says it holds a cache, memo,
// lock or statistics, which queries may update without surprising anyone.
func isBookkeeping(field string) bool {
	l := strings.ToLower(field)
	for _, w := range []string{"cache", "memo", "seen", "visited", "stat", "metric", "hits", "miss"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}
