package correctness

import (
	"context"
	"go/ast"
	"go/token"
	"strconv"

	"github.com/fiveaxis/fiveaxis/axes"
)

// ContextBackgroundWithCtx reports context.Background or TODO in a function
// that was given a context.
var ContextBackgroundWithCtx = &axes.Checker{
	Name: "correctness/context-background-with-ctx",
	Doc: "context.Background used where a context was passed in. " +
		"A function that receives ctx but builds a fresh context.Background() or context.TODO() cuts the " +
		"work off from the caller's cancellation, deadline and values (a cancelled request keeps running); " +
		"derive from ctx instead (context.WithoutCancel(ctx) when the work must outlive it).",
	Axis:     axes.Correctness,
	Severity: axes.SeverityWarning,
	Run:      runContextBackgroundWithCtx,
}

// ctxParam returns the name of ft's context.Context parameter, or "".
func ctxParam(imports map[string]string, ft *ast.FuncType) string {
	if ft.Params == nil {
		return ""
	}
	for _, f := range ft.Params.List {
		if p, n := axes.PkgSelector(imports, f.Type); p == "context" && n == "Context" {
			for _, id := range f.Names {
				if id.Name != "_" {
					return id.Name
				}
			}
		}
	}
	return ""
}

func runContextBackgroundWithCtx(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(false) {
		imports := g.Imports()
		seen := map[token.Pos]bool{}
		// context.Background() compared with ctx is a check, not a use.
		ast.Inspect(g.AST, func(n ast.Node) bool {
			if be, ok := n.(*ast.BinaryExpr); ok && (be.Op == token.EQL || be.Op == token.NEQ) {
				for _, e := range []ast.Expr{be.X, be.Y} {
					if call, ok := e.(*ast.CallExpr); ok {
						seen[call.Pos()] = true
					}
				}
			}
			return true
		})
		immediate := map[*ast.FuncLit]bool{}
		ast.Inspect(g.AST, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if lit, ok := call.Fun.(*ast.FuncLit); ok {
					immediate[lit] = true
				}
			}
			return true
		})
		for _, fn := range allFuncs(g.AST) {
			name := ctxParam(imports, fn.Type)
			if name == "" {
				continue
			}
			// A ctx the function never uses at all is simply ignored: the
			// caller's cancellation has no effect anywhere, so it blocks.
			sev := axes.SeverityError
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if id, ok := n.(*ast.Ident); ok && id.Name == name {
					sev = axes.SeverityWarning
				}
				return sev == axes.SeverityError
			})
			var walk func(n ast.Node)
			walk = func(root ast.Node) {
				ast.Inspect(root, func(n ast.Node) bool {
					switch n := n.(type) {
					case *ast.GoStmt:
						return false // detached background work is a deliberate choice
					case *ast.FuncLit:
						// Its own ctx: visited on its own. A callback stored or
						// passed on may run after ctx is done, where a fresh
						// context is right; only a literal called on the spot
						// is part of this function.
						if ctxParam(imports, n.Type) != "" || !immediate[n] {
							return false
						}
					case *ast.CallExpr:
						if isPkgCall(imports, n, "context", "Background", "TODO") && !seen[n.Pos()] {
							seen[n.Pos()] = true
							pass.Report(axes.Finding{Path: g.Path, Line: g.Line(n.Pos()), Severity: sev,
								Message: "This creates a new root context although " + name + " was passed in, so " +
									"cancellation and deadlines of the caller are ignored; derive from " + name +
									" (context.WithoutCancel(" + name + ") if the work must outlive it)."})
						}
					}
					return true
				})
			}
			walk(fn.Body)
		}
	}
	return nil
}

// LostCancel reports cancel functions that are discarded or never called.
var LostCancel = &axes.Checker{
	Name: "correctness/lost-cancel",
	Doc: "Cancel function of a derived context is lost. " +
		"The cancel function returned by context.WithCancel, WithTimeout or WithDeadline must be called, " +
		"usually with defer; assigning it to _ or never using it leaks the context and its timer until " +
		"the parent is cancelled.",
	Axis:     axes.Correctness,
	Severity: axes.SeverityError,
	Run:      runLostCancel,
}

func runLostCancel(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(true) {
		imports := g.Imports()
		for _, fd := range funcDecls(g.AST) {
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				as, ok := n.(*ast.AssignStmt)
				if !ok || len(as.Lhs) != 2 || len(as.Rhs) != 1 {
					return true
				}
				call, ok := as.Rhs[0].(*ast.CallExpr)
				if !ok {
					return true
				}
				isCtx := isPkgCall(imports, call, "context", "WithCancel", "WithTimeout", "WithDeadline",
					"WithCancelCause", "WithTimeoutCause", "WithDeadlineCause")
				if !isCtx && !isPkgCall(imports, call, "os/signal", "NotifyContext") {
					return true
				}
				id, ok := as.Lhs[1].(*ast.Ident)
				if !ok {
					// ctx, t.cancel = context.WithTimeout(...): the cancel
					// func lives in t, which must reach the caller or be
					// cancelled on every return.
					if root := axes.RootIdent(as.Lhs[1]); root != nil {
						reportLeakyCancel(pass, g, fd, as, exprText(as.Lhs[1]), root.Name)
					}
					return true
				}
				lost := id.Name == "_"
				if !lost && as.Tok == token.DEFINE {
					lost = !usedOutside(fd.Body, id)
				}
				if !lost && id.Name != "_" {
					reportLeakyCancel(pass, g, fd, as, id.Name, id.Name)
				}
				if lost {
					line := g.Line(as.Pos())
					pass.Report(axes.Finding{Path: g.Path, Line: line, EndLine: g.Line(as.End() - 1),
						Message: "The cancel function is discarded or never called, so the derived context and its " +
							"timer leak until the parent ends; keep it and defer cancel() right after this line.",
						Suggestion: cancelSuggestion(g, fd, as, id)})
				}
				return true
			})
		}
	}
	return nil
}

// reportLeakyCancel reports the first return after as that neither calls
// the cancel func (cancel, the expression it was assigned to) nor hands
// holder (the variable that holds it) to someone else, when the function
// does not defer the cancel.
func reportLeakyCancel(pass *axes.Pass, g *axes.GoFile, fd *ast.FuncDecl, as *ast.AssignStmt, cancel, holder string) {
	if cancel == "" || deferredCall(fd.Body, cancel) {
		return
	}
	list, i, _ := enclosingList(fd.Body, as)
	if list == nil {
		return
	}
	settles := func(n ast.Node) bool { return callsExpr(n, cancel) || handedOff(n, nil, holder) }
	ret := leakyReturn(list[i+1:], settles)
	if ret == nil || !pass.IsAdded(g.Path, g.Line(ret.Pos())) {
		return
	}
	pass.Report(axes.Finding{Path: g.Path, Line: g.Line(ret.Pos()), EndLine: g.Line(ret.End() - 1),
		Message: "This return neither calls " + cancel + " nor hands " + holder + " to the caller, so the context " +
			"from line " + strconv.Itoa(g.Line(as.Pos())) + " and its timer leak until the parent ends; call " + cancel +
			"() before returning, or defer it and hand out a context the caller cancels."})
}

// deferredCall reports whether body defers fn() directly or in a deferred
// function literal.
func deferredCall(body *ast.BlockStmt, fn string) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		if d, ok := n.(*ast.DeferStmt); ok && callsExpr(d, fn) {
			found = true
		}
		return !found
	})
	return found
}

// callsExpr reports whether n calls fn(), where fn is a name or selector
// chain such as cancel or t.cancel.
func callsExpr(n ast.Node, fn string) bool {
	found := false
	ast.Inspect(n, func(x ast.Node) bool {
		if call, ok := x.(*ast.CallExpr); ok && exprText(call.Fun) == fn {
			found = true
		}
		return !found
	})
	return found
}

// cancelSuggestion rewrites a one-line `ctx, _ := context.WithX(...)` to keep
// the cancel func and defer it, when the name cancel is free in the
// function; otherwise it returns "" (no mechanical fix).
func cancelSuggestion(g *axes.GoFile, fd *ast.FuncDecl, as *ast.AssignStmt, id *ast.Ident) string {
	line := g.Line(as.Pos())
	if id.Name != "_" || line != g.Line(as.End()-1) {
		return ""
	}
	taken := false
	ast.Inspect(fd, func(n ast.Node) bool {
		if x, ok := n.(*ast.Ident); ok && x.Name == "cancel" {
			taken = true
		}
		return !taken
	})
	if taken {
		return ""
	}
	text := g.LineText(line)
	col := g.Fset.Position(id.Pos()).Column - 1 // byte offset of the _
	if col < 0 || col >= len(text) || text[col] != '_' {
		return ""
	}
	return text[:col] + "cancel" + text[col+1:] + "\n" + axes.Indent(text) + "defer cancel()"
}

// usedOutside reports whether the identifier named like def is mentioned in
// scope other than at def itself.
func usedOutside(scope ast.Node, def *ast.Ident) bool {
	used := false
	ast.Inspect(scope, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && id != def && id.Name == def.Name && id.Pos() > def.Pos() {
			used = true
		}
		return !used
	})
	return used
}
