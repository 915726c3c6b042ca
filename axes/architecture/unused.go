package architecture

import (
	"context"
	"fmt"
	"go/ast"
	"go/token"
	"strings"
	"unicode"

	"github.com/fiveaxis/fiveaxis/axes"
)

// UnusedAddition reports unexported functions and types that the pull request
// adds but nothing in their package uses.
var UnusedAddition = &axes.Checker{
	Name:     "architecture/unused-addition",
	Doc:      `New unexported functions and types should be used. An unexported helper, shim or type that no file of its package (tests included) refers to is dead on arrival: it costs review and maintenance and hides the change that was meant to use it. Remove it, or add it together with its first caller.`,
	Axis:     axes.Architecture,
	Severity: axes.SeverityWarning,
	Run:      runUnusedAddition,
}

type decl struct {
	name string
	kind string // "function" or "type"
	pos  token.Pos
	from int
	to   int
}

func runUnusedAddition(ctx context.Context, pass *axes.Pass) error {
	refs := map[string]map[string]int{}
	for _, g := range pass.ChangedGoFiles(false) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var cands []decl
		for _, d := range g.AST.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv != nil || !unexported(d.Name.Name) || d.Name.Name == "init" || d.Name.Name == "main" {
					continue
				}
				if hasDirective(d.Doc, "//go:linkname", "//export", "//go:wasmexport") {
					continue
				}
				line := g.Line(d.Name.Pos())
				if !pass.IsAdded(g.Path, line) {
					continue
				}
				_, end := g.Span(d)
				cands = append(cands, decl{d.Name.Name, "function", d.Name.Pos(), line, end})
			case *ast.GenDecl:
				if d.Tok != token.TYPE {
					continue
				}
				for _, s := range d.Specs {
					ts := s.(*ast.TypeSpec)
					if !unexported(ts.Name.Name) {
						continue
					}
					line := g.Line(ts.Name.Pos())
					if !pass.IsAdded(g.Path, line) {
						continue
					}
					from, end := g.Span(ts)
					cands = append(cands, decl{ts.Name.Name, "type", ts.Name.Pos(), from, end})
				}
			}
		}
		if len(cands) == 0 {
			continue
		}
		key := pathDir(g.Path) + "|" + strings.TrimSuffix(g.AST.Name.Name, "_test")
		if refs[key] == nil {
			refs[key] = referencedNames(pass, g)
		}
		used := refs[key]
		for _, c := range cands {
			if used[c.name] > 0 {
				continue
			}
			sev := axes.SeverityWarning
			if c.kind == "type" {
				sev = axes.SeverityInfo // types are often used through reflection or generators
			}
			pass.Report(axes.Finding{Path: g.Path, Line: c.from, Severity: sev, Message: fmt.Sprintf(
				"The new %s %s is not used anywhere in package %s; remove it, or add it in the change that first calls it.",
				c.kind, c.name, g.AST.Name.Name)})
		}
	}
	return nil
}

// referencedNames counts the identifiers used in the package of g (all its
// files, tests included), leaving out the names being declared.
func referencedNames(pass *axes.Pass, g *axes.GoFile) map[string]int {
	pkg := strings.TrimSuffix(g.AST.Name.Name, "_test")
	used := map[string]int{}
	for _, f := range pass.PackageFiles(pathDir(g.Path)) {
		if strings.TrimSuffix(f.AST.Name.Name, "_test") != pkg {
			continue
		}
		declared := map[*ast.Ident]bool{}
		for _, d := range f.AST.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					declared[d.Name] = true
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					if ts, ok := s.(*ast.TypeSpec); ok {
						declared[ts.Name] = true
					}
				}
			}
		}
		ast.Inspect(f.AST, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && !declared[id] {
				used[id.Name]++
			}
			return true
		})
	}
	return used
}

func unexported(name string) bool {
	if name == "_" || name == "" {
		return false
	}
	return !unicode.IsUpper([]rune(name)[0])
}

func hasDirective(doc *ast.CommentGroup, prefixes ...string) bool {
	if doc == nil {
		return false
	}
	for _, c := range doc.List {
		for _, p := range prefixes {
			if strings.HasPrefix(c.Text, p) {
				return true
			}
		}
	}
	return false
}
