package correctness

import (
	"context"
	"go/ast"
	"go/token"
	"path"
	"slices"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
)

// SQLRowsNotClosed reports *sql.Rows that are never closed.
var SQLRowsNotClosed = &axes.Checker{
	Name: "correctness/sql-rows-not-closed",
	Doc: "SQL rows are never closed. " +
		"The rows returned by Query or QueryContext hold a database connection until Close is called; " +
		"without defer rows.Close() an early return or a panic while scanning leaks the connection and " +
		"the pool eventually runs dry.",
	Axis:     axes.Correctness,
	Severity: axes.SeverityError,
	Run:      runSQLRowsNotClosed,
}

// RowsErrUnchecked reports row loops that never check rows.Err.
var RowsErrUnchecked = &axes.Checker{
	Name: "correctness/rows-err-unchecked",
	Doc: "rows.Err is not checked after the loop. " +
		"rows.Next returns false both at the end of the result set and when reading fails (a dropped " +
		"connection, a cancelled context); without checking rows.Err() after the loop a partial result " +
		"is returned as if it were complete.",
	Axis:     axes.Correctness,
	Severity: axes.SeverityWarning,
	Run:      runRowsErrUnchecked,
}

// rowsVars finds "rows, err := x.Query(...)" assignments whose first
// variable is used as *sql.Rows (Next or Scan).
func rowsVars(fd *ast.FuncDecl) []*ast.AssignStmt {
	var out []*ast.AssignStmt
	pairCalls(fd.Body, func(as *ast.AssignStmt, call *ast.CallExpr, id *ast.Ident) {
		if m := methodName(call); m != "Query" && m != "QueryContext" && m != "Queryx" && m != "QueryxContext" {
			return
		}
		if callsMethod(fd.Body, id.Name, "Next") {
			out = append(out, as)
		}
	})
	return out
}

// returnInRowLoop returns a return statement inside a "for name.Next()"
// loop of scope that is reached before name is closed or handed off.
func returnInRowLoop(scope ast.Node, name string) *ast.ReturnStmt {
	closes := func(n ast.Node) bool { return callsMethod(n, name, "Close") || handedOff(n, nil, name) }
	var ret *ast.ReturnStmt
	ast.Inspect(scope, func(n ast.Node) bool {
		loop, ok := n.(*ast.ForStmt)
		if !ok || ret != nil {
			return ret == nil
		}
		if call, ok := loop.Cond.(*ast.CallExpr); ok && methodName(call) == "Next" && receiverText(call) == name {
			ret = leakyReturn(loop.Body.List, closes)
		}
		return ret == nil
	})
	return ret
}

// callsMethod reports whether scope calls name.method(...) or mentions
// name.method.
func callsMethod(scope ast.Node, name, method string) bool {
	found := false
	ast.Inspect(scope, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == method {
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == name {
				found = true
			}
		}
		return !found
	})
	return found
}

// handedOff reports whether scope passes name to a call, returns it,
// stores it or sends it, after def.
func handedOff(scope ast.Node, def ast.Node, name string) bool {
	is := func(e ast.Expr) bool {
		id, ok := unparen(e).(*ast.Ident)
		return ok && id.Name == name
	}
	return passedOn(scope, def, handOff{is: is, returned: is})
}

// handOff says what passedOn looks for.
type handOff struct {
	// is reports whether an expression is the value being tracked.
	is func(ast.Expr) bool
	// returned reports whether a returned expression gives the value away.
	returned func(ast.Expr) bool
	// visit, when not nil, sees each node first: settled ends the walk
	// with true; skip leaves the node's own arguments unchecked (its
	// children are still walked).
	visit func(n ast.Node) (settled, skip bool)
}

// passedOn reports whether scope, outside def, passes a value h.is
// accepts to a call, returns it, assigns it, puts it in a composite
// literal or sends it on a channel.
func passedOn(scope, def ast.Node, h handOff) bool {
	done := false
	ast.Inspect(scope, func(n ast.Node) bool {
		if done || n == def {
			return false
		}
		if h.visit != nil {
			settled, skip := h.visit(n)
			if settled {
				done = true
				return false
			}
			if skip {
				return true
			}
		}
		switch n := n.(type) {
		case *ast.CallExpr:
			done = slices.ContainsFunc(n.Args, h.is)
		case *ast.ReturnStmt:
			done = slices.ContainsFunc(n.Results, h.returned)
		case *ast.AssignStmt:
			done = slices.ContainsFunc(n.Rhs, h.is)
		case *ast.CompositeLit:
			for _, e := range n.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					e = kv.Value
				}
				if h.is(e) {
					done = true
				}
			}
		case *ast.SendStmt:
			done = h.is(n.Value)
		}
		return !done
	})
	return done
}

func runSQLRowsNotClosed(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(true) {
		for _, fd := range funcDecls(g.AST) {
			for _, as := range rowsVars(fd) {
				name := as.Lhs[0].(*ast.Ident).Name
				if handedOff(fd.Body, as, name) {
					continue
				}
				if callsMethod(fd.Body, name, "Close") {
					// Closed by hand: every return from inside the row loop
					// must close first.
					if deferredCall(fd.Body, name+".Close") {
						continue
					}
					if ret := returnInRowLoop(fd.Body, name); ret != nil {
						sev := axes.SeverityError
						if g.IsTest {
							sev = axes.SeverityInfo
						}
						pass.Report(axes.Finding{Path: g.Path, Line: g.Line(ret.Pos()), EndLine: g.Line(ret.End() - 1), Severity: sev,
							Message: "This return leaves the loop over " + name + " without closing it (the other paths close it by hand), " +
								"so the database connection stays busy; put defer " + name + ".Close() right after the query instead."})
					}
					continue
				}
				// Rows close themselves when Next returns false, so the leak is
				// on the paths that leave the loop early.
				sev := axes.SeverityWarning
				if returnsInLoop(fd.Body, name) {
					sev = axes.SeverityError
				}
				if g.IsTest {
					sev = axes.SeverityInfo
				}
				f := axes.Finding{Path: g.Path, Line: g.Line(as.Pos()), EndLine: g.Line(as.End() - 1), Severity: sev,
					Message: name + " is never closed, so each call holds a database connection until the " +
						"garbage collector finds it; add defer " + name + ".Close() right after the error check."}
				if fix, ok := deferCloseAfterCheck(g, fd, as, name+".Close()"); ok {
					f.EndLine, f.Suggestion = fix.endLine, fix.suggestion
				}
				pass.Report(f)
			}
		}
	}
	return nil
}

func runRowsErrUnchecked(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(true) {
		for _, fd := range funcDecls(g.AST) {
			for _, as := range rowsVars(fd) {
				name := as.Lhs[0].(*ast.Ident).Name
				if callsMethod(fd.Body, name, "Err") || handedOff(fd.Body, as, name) {
					continue
				}
				// Report on the loop.
				var loop ast.Node = as
				ast.Inspect(fd.Body, func(n ast.Node) bool {
					if fs, ok := n.(*ast.ForStmt); ok && fs.Cond != nil && refersTo(fs.Cond, name) {
						loop = fs
						return false
					}
					return true
				})
				sev := axes.SeverityWarning
				if g.IsTest {
					sev = axes.SeverityInfo
				}
				line := g.Line(loop.Pos())
				end := line
				if fs, ok := loop.(*ast.ForStmt); ok {
					end = g.Line(fs.End() - 1)
				}
				pass.Report(axes.Finding{Path: g.Path, Line: line, EndLine: end, Severity: sev,
					Message: "The loop stops silently when reading " + name + " fails, and " + name +
						".Err() is never checked, so a partial result looks complete; check " + name +
						".Err() after the loop."})
			}
		}
	}
	return nil
}

// LockHeldOnReturn reports returns between Lock and Unlock that leave the
// mutex locked.
var LockHeldOnReturn = &axes.Checker{
	Name: "correctness/lock-held-on-return",
	Doc: "A return leaves the mutex locked. " +
		"When a function calls mu.Lock() and later mu.Unlock() without defer, a return in between " +
		"(an error path, an early exit) keeps the mutex locked and the next Lock deadlocks; use " +
		"defer mu.Unlock() right after Lock, or unlock before returning.",
	Axis:     axes.Correctness,
	Severity: axes.SeverityError,
	Run:      runLockHeldOnReturn,
}

func runLockHeldOnReturn(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(true) {
		for _, fn := range allFuncs(g.AST) {
			if fn.Decl != nil && fn.Decl.Doc != nil && strings.Contains(strings.ToLower(fn.Decl.Doc.Text()), "lock") {
				continue // documents its locking, e.g. "returns with mu held"
			}
			inspectShallow(fn.Body, func(n ast.Node) bool {
				var list []ast.Stmt
				switch n := n.(type) {
				case *ast.BlockStmt:
					list = n.List
				case *ast.CaseClause:
					list = n.Body
				case *ast.CommClause:
					list = n.Body
				default:
					return true
				}
				checkLockRuns(pass, g, fn, list)
				return true
			})
		}
	}
	return nil
}

// lockCall returns the receiver and unlock method of "x.Lock()" or
// "x.RLock()", or "".
func lockCall(st ast.Stmt) (string, string) {
	es, ok := st.(*ast.ExprStmt)
	if !ok {
		return "", ""
	}
	call, ok := es.X.(*ast.CallExpr)
	if !ok || len(call.Args) != 0 {
		return "", ""
	}
	switch methodName(call) {
	case "Lock":
		return receiverText(call), "Unlock"
	case "RLock":
		return receiverText(call), "RUnlock"
	}
	return "", ""
}

func checkLockRuns(pass *axes.Pass, g *axes.GoFile, fn funcBody, list []ast.Stmt) {
	for i, st := range list {
		recv, unlock := lockCall(st)
		if recv == "" {
			continue
		}
		isUnlock := func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			return ok && methodName(call) == unlock && receiverText(call) == recv
		}
		if deferredBefore(fn.Body, st.Pos(), isUnlock) {
			continue // "defer mu.Unlock()" written before "mu.Lock()" still runs on every return
		}
		// An unlock anywhere in a statement (also in a goroutine or defer
		// it starts, which takes the lock over) settles the paths through
		// it; branches are followed one by one, so an unlock on one early
		// return does not excuse another.
		unlocks := func(n ast.Node) bool {
			found := false
			ast.Inspect(n, func(x ast.Node) bool {
				if x != nil && isUnlock(x) {
					found = true
				}
				return !found
			})
			return found
		}
		if bad := leakyReturn(list[i+1:], unlocks); bad != nil {
			pass.Report(axes.Finding{Path: g.Path, Line: g.Line(bad.Pos()), EndLine: g.Line(bad.End() - 1),
				Message: "This return leaves " + recv + " locked, so the next " + recv + ".Lock() deadlocks; " +
					"unlock before returning or use defer " + recv + "." + unlock + "() right after locking."})
		}
	}
}

// deferredBefore reports whether body defers a call matching isCall (not in a
// nested function literal) before pos.
func deferredBefore(body *ast.BlockStmt, pos token.Pos, isCall func(ast.Node) bool) bool {
	found := false
	inspectShallow(body, func(n ast.Node) bool {
		if d, ok := n.(*ast.DeferStmt); ok && d.Pos() < pos && isCall(d.Call) {
			found = true
		}
		return !found
	})
	return found
}

// MutexCopy reports value-receiver methods that lock a mutex field of the
// receiver, which is a copy.
var MutexCopy = &axes.Checker{
	Name: "correctness/mutex-copy",
	Doc: "Method with a value receiver locks a copied mutex. " +
		"A method on T (not *T) gets a copy of the struct, so locking its sync.Mutex field locks the copy " +
		"and protects nothing; use a pointer receiver.",
	Axis:     axes.Correctness,
	Severity: axes.SeverityError,
	Run:      runMutexCopy,
}

func runMutexCopy(ctx context.Context, pass *axes.Pass) error {
	done := map[string]bool{}
	for _, g := range pass.ChangedGoFiles(false) {
		dir := path.Dir(g.Path)
		if done[dir] {
			continue
		}
		done[dir] = true
		// mutex fields ("" for an embedded mutex) of each struct type.
		mutexes := map[string]map[string]bool{}
		files := pass.PackageFiles(dir)
		for _, pf := range files {
			imports := pf.Imports()
			ast.Inspect(pf.AST, func(n ast.Node) bool {
				ts, ok := n.(*ast.TypeSpec)
				if !ok {
					return true
				}
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					return false
				}
				for _, f := range st.Fields.List {
					if p, name := axes.PkgSelector(imports, f.Type); p == "sync" && (name == "Mutex" || name == "RWMutex") {
						if mutexes[ts.Name.Name] == nil {
							mutexes[ts.Name.Name] = map[string]bool{}
						}
						if len(f.Names) == 0 {
							mutexes[ts.Name.Name][""] = true
						}
						for _, id := range f.Names {
							mutexes[ts.Name.Name][id.Name] = true
						}
					}
				}
				return false
			})
		}
		for _, pf := range files {
			if pf.IsTest {
				continue
			}
			for _, fd := range funcDecls(pf.AST) {
				if fd.Recv == nil || len(fd.Recv.List) == 0 {
					continue
				}
				if _, ptr := fd.Recv.List[0].Type.(*ast.StarExpr); ptr {
					continue
				}
				fields := mutexes[axes.RecvTypeName(fd)]
				recv := recvName(fd)
				if fields == nil || recv == "" {
					continue
				}
				var lock *ast.CallExpr
				ast.Inspect(fd.Body, func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok || lock != nil || (methodName(call) != "Lock" && methodName(call) != "RLock") {
						return lock == nil
					}
					r := receiverText(call)
					if r == recv && fields[""] || strings.HasPrefix(r, recv+".") && fields[strings.TrimPrefix(r, recv+".")] {
						lock = call
					}
					return lock == nil
				})
				if lock == nil {
					continue
				}
				pass.Report(axes.Finding{Path: pf.Path, Line: pf.Line(fd.Pos()), EndLine: pf.Line(lock.Pos()),
					Message: fd.Name.Name + " has a value receiver, so it locks a copy of the mutex and protects " +
						"nothing; give it a pointer receiver (*" + axes.RecvTypeName(fd) + ")."})
			}
		}
	}
	return nil
}

// NilMapWrite reports writes to a map variable declared without a value.
var NilMapWrite = &axes.Checker{
	Name: "correctness/nil-map-write",
	Doc: "Write to a nil map. " +
		"A map declared with var m map[K]V is nil until it is made; writing to it panics with " +
		"\"assignment to entry in nil map\". Initialise it with make or a literal first. The same holds " +
		"for a map field that a constructor of the type leaves out of its keyed literal and a method " +
		"then writes without making it.",
	Axis:     axes.Correctness,
	Severity: axes.SeverityError,
	Run:      runNilMapWrite,
}

func runNilMapWrite(ctx context.Context, pass *axes.Pass) error {
	memo := map[string]map[string]map[string]string{}
	for _, g := range pass.ChangedGoFiles(true) {
		if !g.IsTest {
			nilMapFields(pass, g, memo)
		}
		for _, fn := range allFuncs(g.AST) {
			inspectShallow(fn.Body, func(n ast.Node) bool {
				ds, ok := n.(*ast.DeclStmt)
				if !ok {
					return true
				}
				gd, ok := ds.Decl.(*ast.GenDecl)
				if !ok || gd.Tok != token.VAR {
					return true
				}
				for _, s := range gd.Specs {
					vs := s.(*ast.ValueSpec)
					if _, isMap := vs.Type.(*ast.MapType); !isMap || len(vs.Values) > 0 {
						continue
					}
					for _, id := range vs.Names {
						if w := firstWriteBeforeInit(fn.Body, ds, id.Name); w != nil {
							pass.Report(axes.Finding{Path: g.Path, Line: g.Line(w.Pos()), EndLine: g.Line(w.End() - 1),
								Message: id.Name + " is a nil map here (declared without make), so this write panics; " +
									"declare it with " + id.Name + " := make(...) or a map literal."})
						}
					}
				}
				return true
			})
		}
	}
	return nil
}

// firstWriteBeforeInit returns the first statement after decl that writes
// an entry of the map name before anything assigns name or takes its
// address, or nil.
func firstWriteBeforeInit(body *ast.BlockStmt, decl ast.Node, name string) ast.Node {
	var write ast.Node
	stop := false
	isEntry := func(e ast.Expr) bool {
		ix, ok := e.(*ast.IndexExpr)
		if !ok {
			return false
		}
		id, ok := ix.X.(*ast.Ident)
		return ok && id.Name == name
	}
	ast.Inspect(body, func(n ast.Node) bool {
		if stop || n == nil || n.Pos() <= decl.End() {
			return !stop
		}
		switch n := n.(type) {
		case *ast.FuncLit:
			// A closure may run after an initialisation further down; stop
			// rather than guess.
			if refersTo(n, name) {
				stop = true
			}
			return false
		case *ast.ForStmt, *ast.RangeStmt:
			// A loop that initialises the map somewhere may have done so in
			// an earlier iteration.
			if assignedIn(n, name) {
				stop = true
				return false
			}
		case *ast.AssignStmt:
			for _, l := range n.Lhs {
				if id, ok := l.(*ast.Ident); ok && id.Name == name {
					stop = true
					return false
				}
				if isEntry(l) {
					write, stop = n, true
					return false
				}
			}
		case *ast.IncDecStmt:
			if isEntry(n.X) {
				write, stop = n, true
				return false
			}
		case *ast.UnaryExpr:
			if id, ok := n.X.(*ast.Ident); ok && n.Op == token.AND && id.Name == name {
				stop = true
			}
		case *ast.CallExpr:
			for _, a := range n.Args {
				if id, ok := a.(*ast.Ident); ok && id.Name == name {
					stop = true // handed to code that may replace it
				}
			}
		}
		return !stop
	})
	return write
}

// returnsInLoop reports whether a "for name.Next()" loop in scope can
// return or break out early.
func returnsInLoop(scope ast.Node, name string) bool {
	found := false
	ast.Inspect(scope, func(n ast.Node) bool {
		fs, ok := n.(*ast.ForStmt)
		if !ok || fs.Cond == nil || !refersTo(fs.Cond, name) {
			return !found
		}
		inspectShallow(fs.Body, func(x ast.Node) bool {
			switch x := x.(type) {
			case *ast.ReturnStmt:
				found = true
			case *ast.BranchStmt:
				if x.Tok == token.BREAK && x.Label == nil {
					found = true
				}
			case *ast.ForStmt, *ast.RangeStmt, *ast.SwitchStmt, *ast.TypeSwitchStmt, *ast.SelectStmt:
				// a break in there leaves the inner statement only
				inspectShallow(x, func(y ast.Node) bool {
					if _, ok := y.(*ast.ReturnStmt); ok {
						found = true
					}
					return !found
				})
				return false
			}
			return !found
		})
		return !found
	})
	return found
}
