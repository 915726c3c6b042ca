package performance

import (
	"context"
	"fmt"
	"go/ast"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
)

// RegexpCompilePerCall reports constant regular expressions and templates
// compiled inside functions on every call.
var RegexpCompilePerCall = &axes.Checker{
	Name: "performance/regexp-compile-per-call",
	Doc: `Constant regular expressions and templates should be compiled once. regexp.MustCompile or template.Parse with a constant pattern inside a function body recompiles it on every call (every request, every loop iteration), costing far more than the match itself; compile it once into a package-level variable.

Constructors (New*, Must*, init*, setup*), func main and init, compiled values that are returned or stored, and lazily initialised values (sync.Once, sync.OnceValue) are not reported.`,
	Axis:     axes.Performance,
	Severity: axes.SeverityWarning,
	Run:      runRegexpCompilePerCall,
}

var compileFuncs = map[string]map[string]bool{
	"regexp":        {"MustCompile": true, "Compile": true, "MustCompilePOSIX": true, "CompilePOSIX": true},
	"text/template": {"New": true, "ParseFiles": true, "ParseGlob": true, "ParseFS": true},
	"html/template": {"New": true, "ParseFiles": true, "ParseGlob": true, "ParseFS": true},
}

// onceSetup reports whether a function name says it runs once.
func onceSetup(name string) bool {
	for _, p := range []string{"New", "new", "Must", "must", "init", "Init", "setup", "Setup", "main", "compile", "Compile",
		"register", "Register", "create", "Create", "load", "Load", "build", "Build", "prepare", "Prepare", "configure", "Configure"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func runRegexpCompilePerCall(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(false) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		imports := g.Imports()
		uses := false
		for _, p := range imports {
			if compileFuncs[p] != nil {
				uses = true
			}
		}
		if !uses {
			continue
		}
		consts := pass.PackageConsts(g)
		axes.FuncBodies(g.AST, func(decl *ast.FuncDecl, body *ast.BlockStmt) {
			setup := decl != nil && onceSetup(decl.Name.Name)
			walkStack(body, func(n ast.Node, stack []ast.Node) bool {
				if fl, ok := n.(*ast.FuncLit); ok && lazyInit(imports, fl, stack) {
					return false
				}
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				// In a constructor only the closures it returns run per call.
				if setup && !inFuncLit(stack) {
					return true
				}
				p, name := g.PkgFunc(call)
				if p == "regexp" && (name == "MatchString" || name == "Match" || name == "MatchReader") && len(call.Args) > 0 && axes.IsConstExpr(call.Args[0], consts) {
					stmt := enclosingStmt(stack, call)
					from, to := g.Span(stmt)
					if pass.AddedIn(g.Path, from, to) {
						pass.Report(axes.Finding{Path: g.Path, Line: from, EndLine: to, Message: fmt.Sprintf(
							"regexp.%s compiles its constant pattern on every call; compile it once into a package-level variable with regexp.MustCompile and call its %s method.", name, name)})
					}
					return false
				}
				if !compileFuncs[p][name] {
					return true
				}
				what := "regular expression"
				if p != "regexp" {
					what = "template"
					if name == "New" && !parsedConst(stack, consts) {
						return true
					}
				} else if len(call.Args) != 1 {
					return true
				} else if !axes.IsConstExpr(call.Args[0], consts) {
					// A pattern that does not change between the iterations
					// of an enclosing loop is recompiled on each of them.
					loop := invariantLoop(call.Args[0], stack)
					if loop == nil || stored(body, call, stack) {
						return true
					}
					stmt := enclosingStmt(stack, call)
					from, to := g.Span(stmt)
					if pass.AddedIn(g.Path, from, to) {
						pass.Report(axes.Finding{Path: g.Path, Line: from, EndLine: to, Message: fmt.Sprintf(
							"%s is compiled on every iteration of the loop at line %d, although it does not change between them; compile it once before that loop and reuse the *regexp.Regexp.",
							exprText(call.Args[0]), g.Line(loop.Pos()))})
					}
					return false
				}
				if stored(body, call, stack) {
					return false
				}
				stmt := enclosingStmt(stack, call)
				from, to := g.Span(stmt)
				if !pass.AddedIn(g.Path, from, to) {
					return false
				}
				where := "on every call"
				if enclosingLoop(stack) != nil {
					where = "on every loop iteration"
				}
				pass.Report(axes.Finding{Path: g.Path, Line: from, EndLine: to, Message: fmt.Sprintf(
					"This constant %s is compiled %s with %s.%s, which costs far more than using it; compile it once into a package-level variable.",
					what, where, axes.DefaultImportName(p), name)})
				return false
			})
		})
	}
	return nil
}

// inFuncLit reports whether a function literal encloses the current node.
func inFuncLit(stack []ast.Node) bool {
	for _, n := range stack {
		if _, ok := n.(*ast.FuncLit); ok {
			return true
		}
	}
	return false
}

// parsedConst reports whether a template.New call is followed by .Parse of
// a constant text (template.New("x").Parse(text)).
func parsedConst(stack []ast.Node, consts map[string]bool) bool {
	for i := len(stack) - 1; i >= 1; i-- {
		sel, ok := stack[i].(*ast.SelectorExpr)
		if !ok {
			continue
		}
		if call, ok := stack[i-1].(*ast.CallExpr); ok && sel.Sel.Name == "Parse" && len(call.Args) == 1 {
			return axes.IsConstExpr(call.Args[0], consts)
		}
	}
	return false
}

// lazyInit reports whether fl is a function literal run once: an argument
// of sync.OnceValue, sync.OnceFunc, sync.OnceValues or once.Do.
func lazyInit(imports map[string]string, fl *ast.FuncLit, stack []ast.Node) bool {
	if len(stack) == 0 {
		return false
	}
	call, ok := stack[len(stack)-1].(*ast.CallExpr)
	if !ok {
		return false
	}
	if p, name := axes.PkgSelector(imports, call.Fun); p == "sync" && strings.HasPrefix(name, "Once") {
		return true
	}
	return axes.CalleeName(call) == "Do"
}

// enclosingStmt returns the innermost statement holding n.
func enclosingStmt(stack []ast.Node, n ast.Node) ast.Node {
	for i := len(stack) - 1; i >= 0; i-- {
		if s, ok := stack[i].(ast.Stmt); ok {
			if _, block := s.(*ast.BlockStmt); !block {
				return s
			}
		}
	}
	return n
}

// stored reports whether the compiled value escapes the call: it is
// returned, stored in a field, map, slice or composite literal, or assigned
// to a variable that is.
func stored(body *ast.BlockStmt, call *ast.CallExpr, stack []ast.Node) bool {
	var target string
walk:
	for i := len(stack) - 1; i >= 0; i-- {
		switch s := stack[i].(type) {
		case *ast.ParenExpr:
		case *ast.SelectorExpr:
			switch s.Sel.Name {
			case "Parse", "Funcs", "Option", "Delims", "ParseFiles", "ParseGlob", "ParseFS", "Longest":
				// a chained builder call: continue with its result
				if i > 0 {
					i--
					continue
				}
			}
			return false // a method called on the compiled value right away
		case *ast.CallExpr:
			if axes.CalleeName(s) == "append" {
				return true
			}
			if axes.CalleeName(s) != "Must" {
				return true // handed to another function, which may keep it
			}
		case *ast.ReturnStmt, *ast.CompositeLit, *ast.KeyValueExpr:
			return true
		case *ast.AssignStmt:
			for j, r := range s.Rhs {
				if r.Pos() <= call.Pos() && call.End() <= r.End() && j < len(s.Lhs) {
					if _, ok := s.Lhs[j].(*ast.Ident); !ok {
						return true // x.re = ..., m[k] = ...
					}
					target = identName(s.Lhs[j])
				}
			}
			break walk
		case *ast.ValueSpec:
			if len(s.Names) > 0 {
				target = s.Names[0].Name
			}
			break walk
		default:
			break walk
		}
	}
	if target == "" || target == "_" {
		return false
	}
	escapes := false
	ast.Inspect(body, func(n ast.Node) bool {
		switch s := n.(type) {
		case *ast.ReturnStmt:
			for _, r := range s.Results {
				if identName(r) == target {
					escapes = true
				}
			}
		case *ast.AssignStmt:
			for j, r := range s.Rhs {
				if identName(r) == target && j < len(s.Lhs) && identName(s.Lhs[j]) == "" {
					escapes = true
				}
			}
		case *ast.CompositeLit:
			for _, e := range s.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					e = kv.Value
				}
				if identName(e) == target {
					escapes = true
				}
			}
		case *ast.CallExpr:
			if axes.CalleeName(s) == "append" {
				for _, a := range s.Args[1:] {
					if identName(a) == target {
						escapes = true
					}
				}
			}
		}
		return !escapes
	})
	return escapes
}

// invariantLoop returns the outermost loop around the end of stack (within
// the same function) whose iterations all see the same value of e, or nil.
func invariantLoop(e ast.Expr, stack []ast.Node) ast.Stmt {
	var out ast.Stmt
	for i := len(stack) - 1; i >= 0; i-- {
		switch l := stack[i].(type) {
		case *ast.FuncLit:
			return out
		case *ast.ForStmt, *ast.RangeStmt:
			loop := l.(ast.Stmt)
			if !mentionsAny(e, variantVars(loop)) {
				out = loop
			}
		}
	}
	return out
}

// variantVars returns the names whose value can change from one iteration
// of loop to the next: those the loop assigns (loopVars), and the key and
// value of loops nested in it that range over something that changes.
func variantVars(loop ast.Stmt) map[string]bool {
	m := loopVars(loop)
	for changed := true; changed; {
		changed = false
		ast.Inspect(loopBody(loop), func(n ast.Node) bool {
			r, ok := n.(*ast.RangeStmt)
			if !ok || !mentionsAny(r.X, m) {
				return true
			}
			for _, e := range []ast.Expr{r.Key, r.Value} {
				if id, ok := e.(*ast.Ident); ok && id.Name != "_" && !m[id.Name] {
					m[id.Name] = true
					changed = true
				}
			}
			return true
		})
	}
	return m
}
