package correctness

import (
	"context"
	"go/ast"
	"go/token"
	"path"
	"strconv"

	"github.com/fiveaxis/fiveaxis/axes"
)

// HTTPBodyNotClosed reports HTTP responses whose body is never closed.
var HTTPBodyNotClosed = &axes.Checker{
	Name: "correctness/http-body-not-closed",
	Doc: "HTTP response body is never closed. " +
		"A response from http.Get, Post, Head, PostForm or a client's Do must have its Body closed on every " +
		"path, usually with defer resp.Body.Close() right after the error check; otherwise each call leaks " +
		"the connection and its buffers and the client eventually runs out of connections.",
	Axis:     axes.Correctness,
	Severity: axes.SeverityError,
	Run:      runHTTPBodyNotClosed,
}

// httpMethods are client methods that return (*http.Response, error).
var httpMethods = map[string]bool{"Do": true, "Get": true, "Head": true, "Post": true, "PostForm": true, "RoundTrip": true}

// readerFuncs read from a body without closing it or taking ownership.
var readerFuncs = map[string]bool{
	"encoding/json.NewDecoder": true, "encoding/xml.NewDecoder": true, "io.ReadAll": true,
	"io/ioutil.ReadAll": true, "io.Copy": true, "io.CopyN": true, "io.CopyBuffer": true,
	"io.LimitReader": true, "io.TeeReader": true, "bufio.NewReader": true, "bufio.NewScanner": true,
	"bufio.NewReaderSize": true, "encoding/csv.NewReader": true, "compress/gzip.NewReader": true,
	"io.ReadFull": true, "mime/multipart.NewReader": true,
}

func runHTTPBodyNotClosed(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(true) {
		imports := g.Imports()
		var own map[string]bool // the package's functions returning *http.Response
		for _, fd := range funcDecls(g.AST) {
			type respVar struct {
				as     *ast.AssignStmt
				direct bool // from a net/http function rather than a method
			}
			var resps []respVar
			pairCalls(fd.Body, func(as *ast.AssignStmt, call *ast.CallExpr, _ *ast.Ident) {
				if isPkgCall(imports, call, "net/http", "Get", "Head", "Post", "PostForm") {
					resps = append(resps, respVar{as: as, direct: true})
					return
				}
				p, _ := g.PkgFunc(call)
				if p != "" {
					return
				}
				if own == nil {
					own = responseFuncs(pass, g)
				}
				if own[axes.CalleeName(call)] {
					resps = append(resps, respVar{as: as, direct: true})
				} else if httpMethods[methodName(call)] {
					resps = append(resps, respVar{as: as})
				}
			})
			for _, r := range resps {
				name := r.as.Lhs[0].(*ast.Ident).Name
				if !r.direct && !usesBody(fd.Body, name) {
					continue // not an *http.Response, as far as we can tell
				}
				sev := axes.SeverityError
				if g.IsTest {
					sev = axes.SeverityWarning
				}
				if closedOrHandedOff(fd.Body, r.as, name, imports) {
					if ret := returnBeforeClose(fd.Body, r.as, name, imports); ret != nil {
						msg := "This path returns before " + name + ".Body is closed, so every call that takes it " +
							"leaks a connection; put defer " + name + ".Body.Close() right after the error check."
						if _, ok := ret.(*ast.BranchStmt); ok {
							msg = "The " + ret.(*ast.BranchStmt).Tok.String() + " at line " + strconv.Itoa(g.Line(ret.Pos())) +
								" drops this iteration's " + name + " without closing its body, so every retry or skipped " +
								"item leaks a connection; close (and drain) " + name + ".Body before moving on."
						}
						pass.Report(axes.Finding{Path: g.Path, Line: g.Line(r.as.Pos()), EndLine: g.Line(ret.End() - 1), Severity: sev, Message: msg})
					}
					continue
				}
				f := axes.Finding{Path: g.Path, Line: g.Line(r.as.Pos()), EndLine: g.Line(r.as.End() - 1), Severity: sev,
					Message: name + ".Body is never closed, so every call leaks a connection and its buffers; add " +
						"defer " + name + ".Body.Close() right after the error check."}
				if fix, ok := deferCloseAfterCheck(g, fd, r.as, name+".Body.Close()"); ok {
					f.EndLine, f.Suggestion = fix.endLine, fix.suggestion
				}
				pass.Report(f)
			}
		}
	}
	return nil
}

// responseFuncs returns the names of the functions and methods of g's
// package whose first result is an *http.Response, such as a get helper
// that checks the status and leaves the body to its caller.
func responseFuncs(pass *axes.Pass, g *axes.GoFile) map[string]bool {
	m := map[string]bool{}
	for _, f := range pass.PackageFiles(path.Dir(g.Path)) {
		if f.AST.Name.Name != g.AST.Name.Name {
			continue
		}
		http := ""
		for name, p := range f.Imports() {
			if p == "net/http" {
				http = name
			}
		}
		if http == "" {
			continue
		}
		for _, fd := range funcDecls(f.AST) {
			if fd.Type.Results == nil || len(fd.Type.Results.List) == 0 {
				continue
			}
			star, ok := fd.Type.Results.List[0].Type.(*ast.StarExpr)
			if !ok {
				continue
			}
			if sel, ok := star.X.(*ast.SelectorExpr); ok && sel.Sel.Name == "Response" {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == http {
					m[fd.Name.Name] = true
				}
			}
		}
	}
	return m
}

// usesBody reports whether scope reads name.Body or name.StatusCode, which
// marks name as an *http.Response.
func usesBody(scope ast.Node, name string) bool {
	found := false
	ast.Inspect(scope, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == name &&
				(sel.Sel.Name == "Body" || sel.Sel.Name == "StatusCode") {
				found = true
			}
		}
		return !found
	})
	return found
}

// closedOrHandedOff reports whether scope closes name.Body, or gives name
// or name.Body to code that may close it: returns it, passes it to a
// function other than a plain reader, stores it or sends it.
func closedOrHandedOff(scope ast.Node, def *ast.AssignStmt, name string, imports map[string]string) bool {
	isResp := func(e ast.Expr) bool {
		e = unparen(e)
		if u, ok := e.(*ast.UnaryExpr); ok {
			e = u.X
		}
		if id, ok := e.(*ast.Ident); ok {
			return id.Name == name
		}
		if sel, ok := e.(*ast.SelectorExpr); ok && sel.Sel.Name == "Body" {
			id, ok := sel.X.(*ast.Ident)
			return ok && id.Name == name
		}
		return false
	}
	reads := func(call *ast.CallExpr) bool {
		p, f := axes.PkgSelector(imports, call.Fun)
		return readerFuncs[p+"."+f] || p == "fmt" || p == "log" || p == "errors"
	}
	return passedOn(scope, def, handOff{
		is:       isResp,
		returned: func(r ast.Expr) bool { return containsResp(r, isResp, reads) },
		visit: func(n ast.Node) (settled, skip bool) {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				// name.Body.Close, called or passed as a value.
				return n.Sel.Name == "Close" && isResp(n.X), false
			case *ast.CallExpr:
				return false, reads(n)
			}
			return false, false
		},
	})
}

func unparen(e ast.Expr) ast.Expr {
	for {
		p, ok := e.(*ast.ParenExpr)
		if !ok {
			return e
		}
		e = p.X
	}
}

func containsResp(e ast.Expr, isResp func(ast.Expr) bool, reads func(*ast.CallExpr) bool) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok && reads(call) {
			return false // io.ReadAll(resp.Body) reads the body; it hands nothing off
		}
		if x, ok := n.(ast.Expr); ok && isResp(x) {
			found = true
		}
		if _, ok := n.(*ast.SelectorExpr); ok {
			return false // resp.StatusCode reads a field; it hands nothing off
		}
		return !found
	})
	return found
}

// DeferInLoop reports defer statements inside loops.
var DeferInLoop = &axes.Checker{
	Name: "correctness/defer-in-loop",
	Doc: "defer inside a loop. " +
		"Deferred calls run when the function returns, not at the end of the iteration, so a defer in a " +
		"loop holds every file, lock or connection until the loop is over (and a deferred Unlock after a " +
		"Lock in the loop deadlocks on the second iteration); move the body into a function or release " +
		"the resource explicitly.",
	Axis:     axes.Correctness,
	Severity: axes.SeverityWarning,
	Run:      runDeferInLoop,
}

func runDeferInLoop(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(true) {
		var walk func(root ast.Node, inLoop bool)
		// loop is the body of the innermost loop being walked.
		var loop *ast.BlockStmt
		walk = func(root ast.Node, inLoop bool) {
			ast.Inspect(root, func(n ast.Node) bool {
				if n == root {
					return true
				}
				switch n := n.(type) {
				case *ast.FuncLit:
					walk(n.Body, false)
					return false
				case *ast.ForStmt:
					outer := loop
					loop = n.Body
					walk(n.Body, !runsOnce(n.Body))
					loop = outer
					return false
				case *ast.RangeStmt:
					outer := loop
					loop = n.Body
					walk(n.Body, !runsOnce(n.Body))
					loop = outer
					return false
				case *ast.DeferStmt:
					if !inLoop || !acquiredIn(loop, n.Call) {
						return true
					}
					sev := axes.SeverityWarning
					msg := "This defer runs only when the function returns, so the resource is held across all " +
						"iterations; move the loop body into a function or release it at the end of the iteration."
					if methodName(n.Call) == "Unlock" || methodName(n.Call) == "RUnlock" {
						sev = axes.SeverityError
						msg = "The deferred unlock runs only when the function returns, so the next iteration's Lock " +
							"deadlocks; unlock at the end of the iteration or move the body into a function."
					} else if g.IsTest {
						sev = axes.SeverityInfo
					}
					pass.Report(axes.Finding{Path: g.Path, Line: g.Line(n.Pos()), Severity: sev, Message: msg})
				}
				return true
			})
		}
		walk(g.AST, false)
	}
	return nil
}

// runsOnce reports whether a loop body always leaves the loop at its end.
func runsOnce(b *ast.BlockStmt) bool {
	if len(b.List) == 0 {
		return false
	}
	switch s := b.List[len(b.List)-1].(type) {
	case *ast.ReturnStmt:
		return true
	case *ast.BranchStmt:
		return s.Tok.String() == "break"
	}
	return false
}

// acquiredIn reports whether the deferred call releases something the loop
// body acquires: its receiver (f in f.Close(), resp in resp.Body.Close(),
// cancel in cancel()) is assigned in the body, or it unlocks a mutex the
// body locks.
func acquiredIn(body *ast.BlockStmt, call *ast.CallExpr) bool {
	if body == nil {
		return false
	}
	var root string
	switch fun := call.Fun.(type) {
	case *ast.Ident:
		root = fun.Name
	case *ast.SelectorExpr:
		root = rootIdent(fun.X)
	}
	if root == "" {
		return false
	}
	m := methodName(call)
	recv := receiverText(call)
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.AssignStmt:
			for _, l := range n.Lhs {
				if id, ok := l.(*ast.Ident); ok && id.Name == root {
					found = true
				}
			}
		case *ast.CallExpr:
			if (m == "Unlock" && methodName(n) == "Lock" || m == "RUnlock" && methodName(n) == "RLock") && receiverText(n) == recv {
				found = true
			}
		}
		return !found
	})
	return found
}

// returnBeforeClose returns the first statement after def, in def's own
// statement list, that leaves before the response name is closed or handed
// off: a return, or, when def sits in a loop, a continue or break that
// drops this iteration's response. It returns nil if there is none.
func returnBeforeClose(body *ast.BlockStmt, def *ast.AssignStmt, name string, imports map[string]string) ast.Stmt {
	list, i, inLoop := enclosingList(body, def)
	if list == nil {
		return nil
	}
	start := i + 1
	if start < len(list) {
		if ifs, ok := list[start].(*ast.IfStmt); ok && errNotNil(ifs.Cond) != "" {
			start++ // the error check: the response is nil there
		}
	}
	return leakyExit(list[start:], func(n ast.Node) bool { return closedOrHandedOff(n, nil, name, imports) }, inLoop)
}

// isTerminating reports whether st leaves the function: a return or a
// panic (not break or continue, after which the code below may run).
func isTerminating(st ast.Stmt) bool {
	if _, ok := st.(*ast.BranchStmt); ok {
		return false
	}
	return terminates(&ast.BlockStmt{List: []ast.Stmt{st}})
}

// leakyReturn walks stmts in order and returns the first return statement
// reached before a statement that closes settles the resource (closes it or
// hands it off). Branches are followed one by one, so a switch that closes
// a body in one case and returns without closing it in another is caught.
func leakyReturn(stmts []ast.Stmt, closes func(ast.Node) bool) *ast.ReturnStmt {
	r, _ := leakyExit(stmts, closes, false).(*ast.ReturnStmt)
	return r
}

// leakyExit is leakyReturn that, with loop set, also counts an unlabeled
// continue or break as leaving: the iteration's resource is dropped.
func leakyExit(stmts []ast.Stmt, closes func(ast.Node) bool, loop bool) ast.Stmt {
	for _, st := range stmts {
		var branches [][]ast.Stmt
		switch s := st.(type) {
		case *ast.BranchStmt:
			if loop && s.Label == nil && (s.Tok == token.CONTINUE || s.Tok == token.BREAK) {
				return s
			}
			continue
		case *ast.ReturnStmt:
			if closes(s) {
				return nil
			}
			return s
		case *ast.IfStmt:
			if s.Init != nil && closes(s.Init) {
				return nil
			}
			branches = append(branches, s.Body.List)
			switch e := s.Else.(type) {
			case *ast.BlockStmt:
				branches = append(branches, e.List)
			case *ast.IfStmt:
				branches = append(branches, []ast.Stmt{e})
			}
		case *ast.SwitchStmt:
			for _, c := range s.Body.List {
				branches = append(branches, c.(*ast.CaseClause).Body)
			}
		case *ast.TypeSwitchStmt:
			for _, c := range s.Body.List {
				branches = append(branches, c.(*ast.CaseClause).Body)
			}
		case *ast.SelectStmt:
			for _, c := range s.Body.List {
				branches = append(branches, c.(*ast.CommClause).Body)
			}
		case *ast.BlockStmt:
			branches = append(branches, s.List)
		default:
			if closes(st) {
				return nil
			}
			var r *ast.ReturnStmt
			inspectShallow(st, func(n ast.Node) bool {
				if x, ok := n.(*ast.ReturnStmt); ok && r == nil {
					r = x
				}
				return r == nil
			})
			if r != nil {
				return r
			}
			continue
		}
		settled := false
		for _, b := range branches {
			if r := leakyExit(b, closes, loop); r != nil {
				return r
			}
			if len(b) > 0 && !isTerminating(b[len(b)-1]) && closes(&ast.BlockStmt{List: b}) {
				settled = true
			}
		}
		if settled {
			// A branch closed it and carries on: later code may rely on
			// that branch, so stop looking.
			return nil
		}
	}
	return nil
}
