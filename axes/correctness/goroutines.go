package correctness

import (
	"context"
	"go/ast"
	"go/token"
	"path"
	"strconv"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
)

// TestGoroutineNotJoined reports goroutines that a test starts and never
// waits for.
var TestGoroutineNotJoined = &axes.Checker{
	Name: "correctness/test-goroutine-not-joined",
	Doc: "Goroutine started by a test is not waited for. " +
		"A goroutine that a Test or Benchmark function starts (directly, or by calling a function of " +
		"the same package that starts one and does not wait for it) must be joined before the test " +
		"returns, with a WaitGroup, a channel receive, an errgroup or a t.Cleanup that waits; otherwise " +
		"it keeps running into later tests, races with them on shared state and may call t methods " +
		"after the test has completed.",
	Axis:     axes.Correctness,
	Severity: axes.SeverityError,
	Run:      runTestGoroutineNotJoined,
}

// stopMethods are method names that stop or wait for background work.
var stopMethods = map[string]bool{
	"Close": true, "Stop": true, "Shutdown": true, "Cancel": true, "Wait": true,
	"Kill": true, "Done": false, "GracefulStop": true, "Quit": true, "Drain": true,
}

// goInfo is what a goroutine (or a call that starts one) touches.
type goInfo struct {
	refs    map[string]bool // identifiers it mentions
	signals map[string]bool // channels it sends on or closes, WaitGroups it marks Done
}

func newGoInfo(n ast.Node) goInfo {
	gi := goInfo{refs: map[string]bool{}, signals: map[string]bool{}}
	ast.Inspect(n, func(x ast.Node) bool {
		switch x := x.(type) {
		case *ast.Ident:
			gi.refs[x.Name] = true
		case *ast.SendStmt:
			if t := rootIdent(x.Chan); t != "" {
				gi.signals[t] = true
			}
		case *ast.CallExpr:
			if id, ok := x.Fun.(*ast.Ident); ok && id.Name == "close" && len(x.Args) == 1 {
				if t := rootIdent(x.Args[0]); t != "" {
					gi.signals[t] = true
				}
			}
			if methodName(x) == "Done" {
				if t := rootIdent(x.Fun.(*ast.SelectorExpr).X); t != "" {
					gi.signals[t] = true
				}
			}
		}
		return true
	})
	return gi
}

// rootIdent returns the leftmost identifier of a selector chain, or "".
func rootIdent(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.Ident:
			return x.Name
		case *ast.SelectorExpr:
			e = x.X
		case *ast.StarExpr:
			e = x.X
		case *ast.ParenExpr:
			e = x.X
		case *ast.UnaryExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		default:
			return ""
		}
	}
}

// chanVars returns the names that scope declares as channels.
func chanVars(scope ast.Node) map[string]bool {
	out := map[string]bool{}
	ast.Inspect(scope, func(n ast.Node) bool {
		bindsTo(n, isChanType, isMakeChan, out)
		switch n := n.(type) {
		case *ast.Field:
			if _, ok := n.Type.(*ast.ChanType); ok {
				for _, id := range n.Names {
					out[id.Name] = true
				}
			}
		}
		return true
	})
	return out
}

func isMakeChan(e ast.Expr) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok || len(call.Args) == 0 {
		return false
	}
	if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "make" {
		return false
	}
	_, ok = call.Args[0].(*ast.ChanType)
	return ok
}

// joinedAfter reports whether scope waits for (or at least stops) the
// background work started by start: after start (or anywhere in a defer or
// a t.Cleanup) it calls Wait, receives from a channel, ranges over a
// channel, closes or stops something the goroutine uses, calls a cancel or
// stop function, or hands a channel or WaitGroup the goroutine signals on
// to other code. The subtree of start and of other go statements is not
// searched.
func joinedAfter(scope ast.Node, start ast.Node, gi goInfo, chans map[string]bool) bool {
	joined := false
	var stack []ast.Node
	deferred := func() bool {
		for _, n := range stack {
			switch n := n.(type) {
			case *ast.DeferStmt:
				return true
			case *ast.CallExpr:
				if name := methodName(n); name == "Cleanup" {
					return true
				}
			}
		}
		return false
	}
	ast.Inspect(scope, func(n ast.Node) bool {
		if joined {
			return false
		}
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		if n == start {
			return false
		}
		if _, ok := n.(*ast.GoStmt); ok {
			return false
		}
		stack = append(stack, n)
		if n.Pos() < start.End() && !deferred() {
			return true
		}
		switch n := n.(type) {
		case *ast.UnaryExpr:
			if n.Op == token.ARROW {
				joined = true
			}
		case *ast.RangeStmt:
			if id := rootIdent(n.X); id != "" && (chans[id] || gi.signals[id]) {
				joined = true
			}
		case *ast.CallExpr:
			switch f := n.Fun.(type) {
			case *ast.Ident:
				lower := strings.ToLower(f.Name)
				if f.Name == "close" && len(n.Args) == 1 && gi.refs[rootIdent(n.Args[0])] ||
					strings.Contains(lower, "cancel") || strings.Contains(lower, "stop") ||
					strings.Contains(lower, "wait") || strings.Contains(lower, "shutdown") {
					joined = true
				}
				if gi.refs[f.Name] && isHandleName(f.Name) {
					joined = true
				}
			case *ast.SelectorExpr:
				// wg.Wait() waits for this goroutine only if it marks wg
				// done or hands wg on; another goroutine's group does not.
				if f.Sel.Name == "Wait" {
					if x := rootIdent(f.X); x == "" || gi.refs[x] || gi.signals[x] {
						joined = true
					}
				}
			}
		case *ast.SelectorExpr:
			if stopMethods[n.Sel.Name] && gi.refs[rootIdent(n.X)] {
				joined = true
			}
		case *ast.Ident:
			if gi.signals[n.Name] {
				joined = true
			}
		}
		return !joined
	})
	return joined
}

// isHandleName reports whether a function value's name suggests it stops
// or waits for background work ("stop", "done", "wait", "closeFn").
func isHandleName(name string) bool {
	l := strings.ToLower(name)
	for _, s := range []string{"stop", "done", "wait", "close", "cancel", "shutdown", "cleanup", "teardown", "quit"} {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// starter is a package function that starts a goroutine it does not wait
// for.
type starter struct {
	returns bool // whether it returns a value the caller could stop it with
	// path and from..to locate its go statement when it is a test helper
	// (in a _test.go file), where the finding belongs on the goroutine.
	path     string
	from, to int
}

// unjoinedStarters finds the package-level functions in dir that start a
// goroutine without waiting for it.
func unjoinedStarters(pass *axes.Pass, dir string) map[string]starter {
	out := map[string]starter{}
	for _, g := range pass.PackageFiles(dir) {
		imports := g.Imports()
		for _, fd := range funcDecls(g.AST) {
			if isTestFunc(imports, fd) || fd.Name.Name == "main" || fd.Name.Name == "init" {
				continue
			}
			chans := chanVars(fd)
			var start *ast.GoStmt
			inspectShallow(fd.Body, func(n ast.Node) bool {
				gs, ok := n.(*ast.GoStmt)
				if !ok || start != nil {
					return start == nil
				}
				if !joinedAfter(fd.Body, gs, newGoInfo(gs), chans) {
					start = gs
				}
				return false
			})
			if start != nil {
				key := fd.Name.Name
				if fd.Recv != nil {
					key = "." + key // a method: s.Start() starting go s.loop()
				}
				st := starter{returns: resultCount(fd.Type) > 0}
				if g.IsTest {
					st.path = g.Path
					st.from, st.to = g.Span(start)
				}
				out[key] = st
			}
		}
	}
	return out
}

func runTestGoroutineNotJoined(ctx context.Context, pass *axes.Pass) error {
	starters := map[string]map[string]starter{}
	reportedGo := map[starter]bool{}
	for _, g := range pass.ChangedGoFiles(true) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !g.IsTest {
			continue
		}
		imports := g.Imports()
		for _, fd := range funcDecls(g.AST) {
			if !isTestFunc(imports, fd) {
				continue
			}
			from, to := g.Span(fd)
			if !pass.AddedIn(g.Path, from, to) {
				continue
			}
			chans := chanVars(fd)
			closures := closureVars(fd.Body)
			params := paramNames(fd)
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.GoStmt:
					gi := newGoInfo(n)
					if id, ok := n.Call.Fun.(*ast.Ident); ok && closures[id.Name] != nil {
						// go observe(): what the closure touches counts too.
						more := newGoInfo(closures[id.Name])
						for k := range more.refs {
							gi.refs[k] = true
						}
						for k := range more.signals {
							gi.signals[k] = true
						}
					}
					if !joinedAfter(fd.Body, n, gi, chans) {
						a, b := g.Span(n)
						pass.Report(axes.Finding{Path: g.Path, Line: a, EndLine: b,
							Message: "This goroutine is never waited for, so it can outlive " + fd.Name.Name +
								" and race with later tests on shared state; join it before the test returns " +
								"(sync.WaitGroup, a done channel or t.Cleanup that waits) or drop it."})
					}
					return false
				case *ast.ExprStmt, *ast.AssignStmt:
					call := stmtCall(n)
					if call == nil {
						return true
					}
					key, recv, name := starterKey(call, imports, params)
					if key == "" {
						return true
					}
					dir := path.Dir(g.Path)
					if starters[dir] == nil {
						starters[dir] = unjoinedStarters(pass, dir)
					}
					st, ok := starters[dir][key]
					if !ok {
						return true
					}
					gi := goInfo{refs: map[string]bool{}, signals: map[string]bool{}}
					if recv != "" {
						// b.Start(): b.Stop(), t.Cleanup(b.Close) and the like join it.
						gi.refs[recv] = true
					}
					if as, ok := n.(*ast.AssignStmt); ok {
						for _, l := range as.Lhs {
							if lid, ok := l.(*ast.Ident); ok && lid.Name != "_" {
								gi.refs[lid.Name] = true
								gi.signals[lid.Name] = true
							}
						}
					}
					if !joinedAfter(fd.Body, n, gi, chans) {
						f := axes.Finding{Path: g.Path, Severity: axes.SeverityWarning,
							Message: name + " starts a goroutine that nothing waits for, so it can outlive " +
								fd.Name.Name + " and interfere with later tests; give it a way to stop and wait " +
								"for it (for example with t.Cleanup)."}
						f.Line, f.EndLine = g.Span(n)
						if st.path != "" && pass.AddedIn(st.path, st.from, st.to) && !reportedGo[st] {
							// A test helper: point at its goroutine, once.
							reportedGo[st] = true
							f.Path, f.Line, f.EndLine = st.path, st.from, st.to
							f.Message = "This goroutine, started by the test helper " + name + ", is never waited for, so it " +
								"outlives " + fd.Name.Name + " and interferes with later tests; have the helper wait for it in " +
								"t.Cleanup (a WaitGroup or done channel)."
						} else if st.path != "" && reportedGo[st] {
							return true
						}
						pass.Report(f)
					}
				}
				return true
			})
		}
	}
	return nil
}

// starterKey returns the key under which unjoinedStarters records what call
// calls ("Name" for a package function, ".Name" for a method called on a
// local variable), the receiver variable and a name for messages; key is ""
// for calls that cannot be a starter of the package (package-qualified
// calls, methods of the test's own parameters such as t.Run).
func starterKey(call *ast.CallExpr, imports map[string]string, params map[string]bool) (key, recv, name string) {
	switch f := call.Fun.(type) {
	case *ast.Ident:
		return f.Name, "", f.Name
	case *ast.SelectorExpr:
		id, ok := f.X.(*ast.Ident)
		if !ok || imports[id.Name] != "" || params[id.Name] {
			return "", "", ""
		}
		return "." + f.Sel.Name, id.Name, id.Name + "." + f.Sel.Name
	}
	return "", "", ""
}

// paramNames returns the names of the parameters of fd and of the function
// literals in it (t in t.Run("x", func(t *testing.T) {...})).
func paramNames(fd *ast.FuncDecl) map[string]bool {
	m := map[string]bool{}
	add := func(ft *ast.FuncType) {
		for _, f := range ft.Params.List {
			for _, n := range f.Names {
				m[n.Name] = true
			}
		}
	}
	add(fd.Type)
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if lit, ok := n.(*ast.FuncLit); ok {
			add(lit.Type)
		}
		return true
	})
	return m
}

// stmtCall returns the call of an expression statement or of the single
// right-hand side of an assignment, or nil.
func stmtCall(n ast.Node) *ast.CallExpr {
	switch n := n.(type) {
	case *ast.ExprStmt:
		c, _ := n.X.(*ast.CallExpr)
		return c
	case *ast.AssignStmt:
		if len(n.Rhs) == 1 {
			c, _ := n.Rhs[0].(*ast.CallExpr)
			return c
		}
	}
	return nil
}

// WGAddInGoroutine reports sync.WaitGroup.Add called by the goroutine it
// counts.
var WGAddInGoroutine = &axes.Checker{
	Name: "correctness/wg-add-in-goroutine",
	Doc: "WaitGroup.Add is called inside the goroutine it counts. " +
		"When a goroutine calls wg.Add(1) for itself, Wait can run before the Add and return while " +
		"the goroutine is still working; call Add before the go statement.",
	Axis:     axes.Correctness,
	Severity: axes.SeverityError,
	Run:      runWGAddInGoroutine,
}

func runWGAddInGoroutine(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(true) {
		ast.Inspect(g.AST, func(n ast.Node) bool {
			gs, ok := n.(*ast.GoStmt)
			if !ok {
				return true
			}
			lit, ok := gs.Call.Fun.(*ast.FuncLit)
			if !ok {
				return true
			}
			// Add and Done on the same receiver, at the literal's own level
			// (not for goroutines it starts in turn).
			adds := map[string]*ast.CallExpr{}
			dones := map[string]bool{}
			nested := false
			inspectShallow(lit.Body, func(x ast.Node) bool {
				if _, ok := x.(*ast.GoStmt); ok {
					nested = true
					return false
				}
				call, ok := x.(*ast.CallExpr)
				if !ok {
					return true
				}
				switch methodName(call) {
				case "Add":
					if r := receiverText(call); r != "" && len(call.Args) == 1 {
						if _, seen := adds[r]; !seen {
							adds[r] = call
						}
					}
				case "Done":
					if r := receiverText(call); r != "" {
						dones[r] = true
					}
				}
				return true
			})
			if nested {
				return true
			}
			for r, call := range adds {
				if !dones[r] {
					continue
				}
				f := axes.Finding{Path: g.Path, Line: g.Line(call.Pos()),
					Message: r + ".Add runs inside the goroutine it counts, so " + r + ".Wait can return before it " +
						"runs; call " + r + ".Add(1) before the go statement."}
				if line, fix, ok := addBeforeGo(g, gs, lit, call); ok {
					f.Line, f.EndLine, f.Suggestion = line, f.Line, fix
				}
				pass.Report(f)
			}
			return true
		})
	}
	return nil
}

// MapWriteInGoroutines reports maps written by concurrent goroutines
// without a lock.
var MapWriteInGoroutines = &axes.Checker{
	Name: "correctness/map-write-in-goroutines",
	Doc: "Map written by several goroutines without a lock. " +
		"Go maps are not safe for concurrent writes: a map captured from outside and written by goroutines " +
		"started in a loop (or by several go statements) with no Lock in the goroutine is a data race that " +
		"crashes with \"concurrent map writes\"; guard it with a mutex, use sync.Map or collect results " +
		"through a channel.",
	Axis:     axes.Correctness,
	Severity: axes.SeverityError,
	Run:      runMapWriteInGoroutines,
}

// mapNames collects identifiers declared with a map type or initialised
// with a map in n, and struct field names of map type.
func mapNames(n ast.Node, vars, fields map[string]bool) {
	ast.Inspect(n, func(x ast.Node) bool {
		bindsTo(x, isMapType, isMapValue, vars)
		switch x := x.(type) {
		case *ast.FuncType:
			if x.Params != nil {
				for _, f := range x.Params.List {
					if _, ok := f.Type.(*ast.MapType); ok {
						for _, id := range f.Names {
							vars[id.Name] = true
						}
					}
				}
			}
		case *ast.StructType:
			for _, f := range x.Fields.List {
				if _, ok := f.Type.(*ast.MapType); ok {
					for _, id := range f.Names {
						fields[id.Name] = true
					}
				}
			}
		}
		return true
	})
}

// bindsTo adds to names the identifiers that n, an assignment or a var
// spec, binds to a value isValue accepts, and those a var spec declares
// with a type isType accepts. Other nodes add nothing.
func bindsTo(n ast.Node, isType, isValue func(ast.Expr) bool, names map[string]bool) {
	switch n := n.(type) {
	case *ast.AssignStmt:
		for i, r := range n.Rhs {
			if i < len(n.Lhs) && isValue(r) {
				if id, ok := n.Lhs[i].(*ast.Ident); ok {
					names[id.Name] = true
				}
			}
		}
	case *ast.ValueSpec:
		typed := n.Type != nil && isType(n.Type)
		for i, id := range n.Names {
			if typed || i < len(n.Values) && isValue(n.Values[i]) {
				names[id.Name] = true
			}
		}
	}
}

func isChanType(e ast.Expr) bool { _, ok := e.(*ast.ChanType); return ok }

func isMapType(e ast.Expr) bool { _, ok := e.(*ast.MapType); return ok }

func isMapValue(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.CompositeLit:
		_, ok := e.Type.(*ast.MapType)
		return ok
	case *ast.CallExpr:
		if id, ok := e.Fun.(*ast.Ident); ok && id.Name == "make" && len(e.Args) > 0 {
			_, ok := e.Args[0].(*ast.MapType)
			return ok
		}
	}
	return false
}

// mapWrites returns the names of captured maps lit writes (m[k] = v,
// m[k]++, delete(m, k), x.field[k] = v), keyed by "name" or ".field".
func mapWrites(lit *ast.FuncLit, vars, fields map[string]bool) map[string]bool {
	local := literalLocals(lit)
	out := map[string]bool{}
	target := func(e ast.Expr) {
		ix, ok := e.(*ast.IndexExpr)
		if !ok {
			return
		}
		switch m := ix.X.(type) {
		case *ast.Ident:
			if vars[m.Name] && !local[m.Name] {
				out[m.Name] = true
			}
		case *ast.SelectorExpr:
			if fields[m.Sel.Name] && !local[rootIdent(m)] {
				out["."+m.Sel.Name] = true
			}
		}
	}
	ast.Inspect(lit.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for _, l := range n.Lhs {
				target(l)
			}
		case *ast.IncDecStmt:
			target(n.X)
		case *ast.CallExpr:
			if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "delete" && len(n.Args) == 2 {
				target(&ast.IndexExpr{X: n.Args[0], Index: n.Args[1]})
			}
		}
		return true
	})
	return out
}

// locks reports whether n calls a Lock method.
func locks(n ast.Node) bool {
	found := false
	ast.Inspect(n, func(x ast.Node) bool {
		if call, ok := x.(*ast.CallExpr); ok && methodName(call) == "Lock" {
			found = true
		}
		return !found
	})
	return found
}

func runMapWriteInGoroutines(ctx context.Context, pass *axes.Pass) error {
	pkgVars := map[string]map[string]bool{}
	pkgFields := map[string]map[string]bool{}
	for _, g := range pass.ChangedGoFiles(true) {
		dir := path.Dir(g.Path)
		if pkgVars[dir] == nil {
			pkgVars[dir], pkgFields[dir] = map[string]bool{}, map[string]bool{}
			for _, pf := range pass.PackageFiles(dir) {
				for _, d := range pf.AST.Decls {
					if gd, ok := d.(*ast.GenDecl); ok {
						mapNames(gd, pkgVars[dir], pkgFields[dir])
					}
				}
			}
		}
		for _, fd := range funcDecls(g.AST) {
			vars := map[string]bool{}
			for k := range pkgVars[dir] {
				vars[k] = true
			}
			mapNames(fd, vars, map[string]bool{})
			type goWrite struct {
				gs     *ast.GoStmt
				inLoop bool
			}
			writers := map[string][]goWrite{}
			var loops []ast.Node
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if n == nil {
					return true
				}
				for len(loops) > 0 && !contains(loops[len(loops)-1], n) {
					loops = loops[:len(loops)-1]
				}
				switch n := n.(type) {
				case *ast.ForStmt, *ast.RangeStmt:
					loops = append(loops, n)
				case *ast.GoStmt:
					lit, ok := n.Call.Fun.(*ast.FuncLit)
					if !ok || locks(lit) {
						return true
					}
					for m := range mapWrites(lit, vars, pkgFields[dir]) {
						writers[m] = append(writers[m], goWrite{gs: n, inLoop: len(loops) > 0})
					}
				}
				return true
			})
			for m, ws := range writers {
				if len(ws) < 2 && !ws[0].inLoop {
					continue
				}
				name := strings.TrimPrefix(m, ".")
				for _, w := range ws {
					a, b := g.Span(w.gs)
					pass.Report(axes.Finding{Path: g.Path, Line: a, EndLine: b,
						Message: "Several goroutines write the map " + name + " with no lock, which is a data race " +
							"that crashes with \"concurrent map writes\"; guard the writes with a sync.Mutex or send " +
							"the results over a channel and write the map in one goroutine."})
				}
			}
		}
	}
	return nil
}

// SleepInTest reports time.Sleep used by a test to wait for other
// goroutines.
var SleepInTest = &axes.Checker{
	Name: "correctness/sleep-in-test",
	Doc: "Test waits with time.Sleep. " +
		"Sleeping for a fixed time to let another goroutine finish makes a test slow when the sleep is " +
		"long and flaky when the machine is slow; wait on a channel, a sync.WaitGroup or poll a condition " +
		"with a deadline instead.",
	Axis:     axes.Correctness,
	Severity: axes.SeverityWarning,
	Run:      runSleepInTest,
}

func runSleepInTest(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(true) {
		if !g.IsTest {
			continue
		}
		imports := g.Imports()
		for _, fd := range funcDecls(g.AST) {
			if !isTestFunc(imports, fd) {
				continue
			}
			var firstGo token.Pos
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if gs, ok := n.(*ast.GoStmt); ok && firstGo == token.NoPos {
					firstGo = gs.Pos()
				}
				return true
			})
			// Walk the test's own flow: not goroutines, not handlers, not
			// polling loops.
			var walk func(n ast.Node)
			walk = func(root ast.Node) {
				ast.Inspect(root, func(n ast.Node) bool {
					switch n := n.(type) {
					case *ast.GoStmt, *ast.ForStmt, *ast.RangeStmt:
						return false
					case *ast.FuncLit:
						return false
					case *ast.CallExpr:
						if methodName(n) == "Run" && len(n.Args) == 2 {
							if lit, ok := n.Args[1].(*ast.FuncLit); ok {
								walk(lit.Body)
								return false
							}
						}
						if !isPkgCall(imports, n, "time", "Sleep") {
							return true
						}
						sev := axes.SeverityInfo
						if (firstGo != token.NoPos && firstGo < n.Pos()) || assertsAfter(fd.Body, n.End()) {
							sev = axes.SeverityWarning
						}
						pass.Report(axes.Finding{Path: g.Path, Line: g.Line(n.Pos()), Severity: sev,
							Message: "Waiting with time.Sleep makes the test slow and flaky; synchronise on a channel " +
								"or sync.WaitGroup, or poll the condition with a deadline."})
					}
					return true
				})
			}
			walk(fd.Body)
		}
	}
	return nil
}

// assertsAfter reports whether body calls t.Fatal, t.Error or the like after
// pos: a sleep followed by an assertion is waiting for something to happen
// in the background (often a goroutine the code under test started).
func assertsAfter(body *ast.BlockStmt, pos token.Pos) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		if found {
			return false
		}
		if c, ok := n.(*ast.CallExpr); ok && c.Pos() > pos {
			switch methodName(c) {
			case "Fatal", "Fatalf", "Error", "Errorf", "Fail", "FailNow":
				found = true
			}
		}
		return true
	})
	return found
}

// SharedWriteInGoroutines reports captured variables that goroutines
// started in a loop update without a lock.
var SharedWriteInGoroutines = &axes.Checker{
	Name: "correctness/shared-write-in-goroutines",
	Doc: "Captured variable updated by several goroutines without a lock. " +
		"count++, total += n or s = append(s, x) on a variable captured from outside, in goroutines " +
		"started in a loop (or by several go statements) with no Lock, is a data race: updates are " +
		"lost and append can corrupt the slice. Guard it with a mutex, use sync/atomic, or send the " +
		"values over a channel.",
	Axis:     axes.Correctness,
	Severity: axes.SeverityError,
	Run:      runSharedWriteInGoroutines,
}

// goroutineSites returns the go statements with a function literal in fd,
// each with whether it sits in a loop.
func goroutineSites(fd *ast.FuncDecl) map[*ast.GoStmt]bool {
	out := map[*ast.GoStmt]bool{}
	var loops []ast.Node
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if n == nil {
			return true
		}
		for len(loops) > 0 && !contains(loops[len(loops)-1], n) {
			loops = loops[:len(loops)-1]
		}
		switch n := n.(type) {
		case *ast.ForStmt, *ast.RangeStmt:
			loops = append(loops, n)
		case *ast.GoStmt:
			if _, ok := n.Call.Fun.(*ast.FuncLit); ok {
				out[n] = len(loops) > 0
			}
		}
		return true
	})
	return out
}

// literalLocals returns the names a function literal declares: its
// parameters and its := and var declarations.
func literalLocals(lit *ast.FuncLit) map[string]bool {
	local := map[string]bool{}
	ast.Inspect(lit, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE {
				for _, l := range n.Lhs {
					if id, ok := l.(*ast.Ident); ok {
						local[id.Name] = true
					}
				}
			}
		case *ast.ValueSpec:
			for _, id := range n.Names {
				local[id.Name] = true
			}
		case *ast.Field:
			for _, id := range n.Names {
				local[id.Name] = true
			}
		case *ast.RangeStmt:
			for _, e := range []ast.Expr{n.Key, n.Value} {
				if id, ok := e.(*ast.Ident); ok && n.Tok == token.DEFINE {
					local[id.Name] = true
				}
			}
		}
		return true
	})
	return local
}

// sharedWrites returns the captured variables (by source text) that lit
// updates with ++, --, op= or self-append, with the first statement doing
// so.
func sharedWrites(lit *ast.FuncLit) map[string]ast.Stmt {
	local := literalLocals(lit)
	out := map[string]ast.Stmt{}
	captured := func(e ast.Expr) string {
		t := exprText(e)
		root := rootIdent(e)
		if t == "" || root == "" || root == "_" || local[root] {
			return ""
		}
		return t
	}
	ast.Inspect(lit.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.IncDecStmt:
			if t := captured(n.X); t != "" && out[t] == nil {
				out[t] = n
			}
		case *ast.AssignStmt:
			if len(n.Lhs) != 1 || len(n.Rhs) != 1 {
				return true
			}
			t := captured(n.Lhs[0])
			if t == "" {
				return true
			}
			switch n.Tok {
			case token.ADD_ASSIGN, token.SUB_ASSIGN, token.MUL_ASSIGN, token.QUO_ASSIGN, token.OR_ASSIGN, token.AND_ASSIGN:
				if out[t] == nil {
					out[t] = n
				}
			case token.ASSIGN:
				if call, ok := n.Rhs[0].(*ast.CallExpr); ok && len(call.Args) > 0 {
					if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "append" && exprText(call.Args[0]) == t && out[t] == nil {
						out[t] = n
					}
				}
			}
		}
		return true
	})
	return out
}

func runSharedWriteInGoroutines(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(true) {
		for _, fd := range funcDecls(g.AST) {
			sites := goroutineSites(fd)
			type write struct {
				gs     *ast.GoStmt
				st     ast.Stmt
				inLoop bool
			}
			writes := map[string][]write{}
			for gs, inLoop := range sites {
				lit := gs.Call.Fun.(*ast.FuncLit)
				if locks(lit) {
					continue
				}
				for t, st := range sharedWrites(lit) {
					writes[t] = append(writes[t], write{gs: gs, st: st, inLoop: inLoop})
				}
			}
			for t, ws := range writes {
				if len(ws) < 2 && !ws[0].inLoop {
					continue
				}
				for _, w := range ws {
					a, b := g.Span(w.gs)
					pass.Report(axes.Finding{Path: g.Path, Line: a, EndLine: b,
						Message: "Several goroutines update " + t + " without a lock (at line " + itoa(g.Line(w.st.Pos())) +
							"), a data race that loses updates; guard it with a sync.Mutex, use sync/atomic, or " +
							"send the values over a channel."})
				}
			}
		}
	}
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// closureVars maps names assigned a function literal in scope to it.
func closureVars(scope ast.Node) map[string]*ast.FuncLit {
	out := map[string]*ast.FuncLit{}
	ast.Inspect(scope, func(n ast.Node) bool {
		if as, ok := n.(*ast.AssignStmt); ok && len(as.Lhs) == len(as.Rhs) {
			for i, r := range as.Rhs {
				if lit, ok := r.(*ast.FuncLit); ok {
					if id, ok := as.Lhs[i].(*ast.Ident); ok {
						out[id.Name] = lit
					}
				}
			}
		}
		return true
	})
	return out
}
