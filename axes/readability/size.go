package readability

import (
	"context"
	"fmt"
	"go/ast"

	"github.com/fiveaxis/fiveaxis/axes"
)

// LongFunction reports new or substantially grown functions longer than
// the configured limit.
var LongFunction = &axes.Checker{
	Name: "readability/long-function",
	Doc: "Function is too long. " +
		"A function body longer than max_func_lines (80 by default) that the PR adds or grows substantially " +
		"is hard to read, test and review as a unit; split it into well-named steps.",
	Axis:     axes.Readability,
	Severity: axes.SeverityWarning,
	Run:      runLongFunction,
}

func runLongFunction(ctx context.Context, pass *axes.Pass) error {
	limit := pass.Settings.FuncLines()
	for _, g := range pass.ChangedGoFiles(true) {
		for _, d := range g.AST.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			from, to := g.Line(fd.Body.Lbrace), g.Line(fd.Body.Rbrace)
			lines := to - from - 1
			if lines <= limit {
				continue
			}
			added := addedCount(pass, g.Path, from, to)
			isNew := pass.IsAdded(g.Path, g.Line(fd.Pos()))
			if !isNew && added*4 < lines && added < limit/2 {
				continue
			}
			sev := axes.SeverityWarning
			if g.IsTest {
				sev = axes.SeverityInfo // table-driven tests are long by nature
			}
			pass.Report(axes.Finding{Path: g.Path, Line: g.Line(fd.Pos()), EndLine: to, Severity: sev,
				Message: fmt.Sprintf("%s is %d lines long (limit %d), which makes it hard to follow and test; "+
					"extract its steps into smaller, well-named functions.", fd.Name.Name, lines, limit)})
		}
	}
	return nil
}

// DeepNesting reports code nested deeper than the configured limit.
var DeepNesting = &axes.Checker{
	Name: "readability/deep-nesting",
	Doc: "Code is nested too deeply. " +
		"Blocks nested deeper than max_nesting (5 by default) bury the main path of a function; return " +
		"early, invert conditions or extract the inner part into a function.",
	Axis:     axes.Readability,
	Severity: axes.SeverityWarning,
	Run:      runDeepNesting,
}

func runDeepNesting(ctx context.Context, pass *axes.Pass) error {
	limit := pass.Settings.Nesting()
	for _, g := range pass.ChangedGoFiles(true) {
		for _, d := range g.AST.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			var deepest ast.Node
			var walk func(n ast.Node, depth int)
			walk = func(n ast.Node, depth int) {
				if deepest != nil || n == nil {
					return
				}
				nest := func(body ast.Node, opener ast.Node) {
					if depth+1 > limit {
						if deepest == nil && pass.IsAdded(g.Path, g.Line(opener.Pos())) {
							deepest = opener
						}
						return
					}
					walk(body, depth+1)
				}
				ast.Inspect(n, func(x ast.Node) bool {
					if x == n || deepest != nil {
						return deepest == nil
					}
					switch x := x.(type) {
					case *ast.IfStmt:
						nest(x.Body, x)
						for e := x.Else; e != nil; {
							if ei, ok := e.(*ast.IfStmt); ok {
								nest(ei.Body, ei)
								e = ei.Else
								continue
							}
							nest(e, x)
							break
						}
						return false
					case *ast.ForStmt:
						nest(x.Body, x)
						return false
					case *ast.RangeStmt:
						nest(x.Body, x)
						return false
					case *ast.SwitchStmt:
						nest(x.Body, x)
						return false
					case *ast.TypeSwitchStmt:
						nest(x.Body, x)
						return false
					case *ast.SelectStmt:
						nest(x.Body, x)
						return false
					case *ast.FuncLit:
						walk(x.Body, depth) // a closure does not add a level of its own
						return false
					case *ast.CaseClause, *ast.CommClause:
						return true
					}
					return true
				})
			}
			walk(fd.Body, 0)
			if deepest == nil {
				continue
			}
			line := g.Line(deepest.Pos())
			sev := axes.SeverityWarning
			if g.IsTest {
				sev = axes.SeverityInfo
			}
			pass.Report(axes.Finding{Path: g.Path, Line: line, Severity: sev,
				Message: fmt.Sprintf("This block in %s is nested more than %d levels deep, which hides the main "+
					"path; return early, invert conditions or extract the inner part into a function.", fd.Name.Name, limit)})
		}
	}
	return nil
}

// TooManyParams reports new functions with a long list of parameters.
var TooManyParams = &axes.Checker{
	Name: "readability/too-many-params",
	Doc: "Function takes too many parameters. " +
		"A function with seven or more parameters (several of the same type) is easy to call with " +
		"arguments in the wrong order and hard to read at the call site; group them in an options " +
		"or config struct.",
	Axis:     axes.Readability,
	Severity: axes.SeverityWarning,
	Run:      runTooManyParams,
}

func runTooManyParams(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(false) {
		for _, d := range g.AST.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Type.Params == nil || !pass.IsAdded(g.Path, g.Line(fd.Pos())) {
				continue
			}
			n := 0
			for _, f := range fd.Type.Params.List {
				if len(f.Names) == 0 {
					n++
				}
				n += len(f.Names)
			}
			if n < 7 {
				continue
			}
			sev := axes.SeverityWarning
			if n < 9 && !isExported(fd.Name.Name) {
				sev = axes.SeverityInfo
			}
			pass.Report(axes.Finding{Path: g.Path, Line: g.Line(fd.Pos()), EndLine: g.Line(fd.Type.End() - 1), Severity: sev,
				Message: fmt.Sprintf("%s takes %d parameters, which makes calls easy to get wrong and hard to read; "+
					"group them in an options or config struct.", fd.Name.Name, n)})
		}
	}
	return nil
}
