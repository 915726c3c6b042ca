package performance

import (
	"context"
	"fmt"
	"go/ast"
	"go/token"
	"path"
	"regexp"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
)

// NPlusOne reports database queries issued once per item of a loop.
var NPlusOne = &axes.Checker{
	Name: "performance/n-plus-one",
	Doc: `Database queries should not run once per item of a loop. A query inside a range loop or a rows.Next loop that uses the item makes N+1 round trips where one would do, so latency grows with the data; fetch everything at once with a JOIN or WHERE id = ANY($1) / IN (...), or batch the writes.

Prepared statements executed in a loop, and writes inside a transaction, are not reported as warnings.`,
	Axis:     axes.Performance,
	Severity: axes.SeverityWarning,
	Run:      runNPlusOne,
}

// StringConcatInLoop reports strings built with += in loops.
var StringConcatInLoop = &axes.Checker{
	Name:     "performance/string-concat-in-loop",
	Doc:      `Strings should not be built with += in a loop over data. Each += copies the whole string built so far, so the loop is quadratic in the output size; use a strings.Builder (or bytes.Buffer) and write to it, or strings.Join.`,
	Axis:     axes.Performance,
	Severity: axes.SeverityWarning,
	Run:      runStringConcatInLoop,
}

// GoroutinePerItem reports goroutines started per item without a bound.
var GoroutinePerItem = &axes.Checker{
	Name:     "performance/goroutine-per-item",
	Doc:      `Goroutines should not be started once per item without a bound. A go statement (or errgroup Go) in a loop over input starts as many goroutines as there are items, so a large input opens unbounded connections, files or memory at once; use a fixed pool of workers, errgroup.SetLimit or a semaphore channel.`,
	Axis:     axes.Performance,
	Severity: axes.SeverityWarning,
	Run:      runGoroutinePerItem,
}

// AppendKnownSize reports appends in a loop to a slice that could be
// pre-sized.
var AppendKnownSize = &axes.Checker{
	Name:     "performance/append-known-size",
	Doc:      `Slices filled from a collection of known size can be allocated once. Appending every item of a range loop to an empty slice regrows and copies it about log2(n) times; make([]T, 0, len(src)) allocates once.`,
	Axis:     axes.Performance,
	Severity: axes.SeverityInfo,
	Run:      runAppendKnownSize,
}

// MarshalOrSortInLoop reports loop-invariant encoding and repeated sorting
// inside loops.
var MarshalOrSortInLoop = &axes.Checker{
	Name:     "performance/marshal-or-sort-in-loop",
	Doc:      `Work that does not change between iterations belongs outside the loop. Marshalling or sorting a value that the loop does not modify, or re-sorting a slice after every append, repeats the same O(n log n) work on each iteration; do it once before or after the loop.`,
	Axis:     axes.Performance,
	Severity: axes.SeverityWarning,
	Run:      runMarshalOrSortInLoop,
}

// ReadAllUnboundedBody reports request bodies read whole without a limit.
var ReadAllUnboundedBody = &axes.Checker{
	Name:     "performance/readall-unbounded-body",
	Doc:      `Request bodies should be read with a size limit. io.ReadAll(r.Body) on an incoming request buffers whatever the client sends, so one large or endless request exhausts memory; wrap the body with http.MaxBytesReader (or io.LimitReader) first.`,
	Axis:     axes.Performance,
	Severity: axes.SeverityWarning,
	Run:      runReadAllUnboundedBody,
}

// queryMethods are methods that always mean a database round trip.
var queryMethods = map[string]bool{
	"Query": true, "QueryContext": true, "QueryRow": true, "QueryRowContext": true,
	"Queryx": true, "QueryRowx": true, "QueryxContext": true, "QueryRowxContext": true,
	"NamedQuery": true, "NamedQueryContext": true,
}

// dbMethods are methods that mean a round trip when called on a database
// handle.
var dbMethods = map[string]bool{
	"Get": true, "GetContext": true, "Select": true, "SelectContext": true, "Exec": true, "ExecContext": true,
	"NamedExec": true, "NamedExecContext": true, "First": true, "Find": true, "Take": true, "Count": true,
	"FindOne": true, "HGetAll": true, "HGet": true,
}

var dbRecv = regexp.MustCompile(`(?i)^(db|tx|conn|pool|database|sqldb|dbx|sqlx|gorm|orm|rdb|redis|pg|pgx|mongo|coll|collection|querier|q)$|(DB|Db|Tx|Pool|Conn)$`)

// loopVars returns the names the loop declares or assigns: range key and
// value and every name defined or assigned in its body.
func loopVars(loop ast.Stmt) map[string]bool {
	m := map[string]bool{}
	if r, ok := loop.(*ast.RangeStmt); ok {
		for _, e := range []ast.Expr{r.Key, r.Value} {
			if id, ok := e.(*ast.Ident); ok {
				m[id.Name] = true
			}
		}
	}
	if f, ok := loop.(*ast.ForStmt); ok && f.Init != nil {
		if as, ok := f.Init.(*ast.AssignStmt); ok {
			for _, l := range as.Lhs {
				if id, ok := l.(*ast.Ident); ok {
					m[id.Name] = true
				}
			}
		}
	}
	ast.Inspect(loopBody(loop), func(n ast.Node) bool {
		switch s := n.(type) {
		case *ast.AssignStmt:
			for _, l := range s.Lhs {
				if id := axes.RootIdent(l); id != nil {
					m[id.Name] = true
				}
			}
		case *ast.ValueSpec:
			for _, id := range s.Names {
				m[id.Name] = true
			}
		case *ast.IncDecStmt:
			if id := axes.RootIdent(s.X); id != nil {
				m[id.Name] = true
			}
		case *ast.UnaryExpr:
			if s.Op == token.AND {
				if id := axes.RootIdent(s.X); id != nil {
					m[id.Name] = true // &x passed to Scan and the like
				}
			}
		}
		return true
	})
	return m
}

// dataLoop reports whether loop iterates over data: a range loop, or a
// for loop driven by X.Next().
func dataLoop(loop ast.Stmt) bool {
	switch l := loop.(type) {
	case *ast.RangeStmt:
		return true
	case *ast.ForStmt:
		if as, ok := l.Post.(*ast.AssignStmt); ok && as.Tok == token.ADD_ASSIGN {
			return false // for i := 0; i < n; i += chunk: one step per batch, not per item
		}
		if call, ok := l.Cond.(*ast.CallExpr); ok && axes.CalleeName(call) == "Next" {
			return true
		}
		// for i := 0; i < len(items); i++
		if b, ok := l.Cond.(*ast.BinaryExpr); ok && (b.Op == token.LSS || b.Op == token.LEQ) {
			if call, ok := b.Y.(*ast.CallExpr); ok && axes.CalleeName(call) == "len" {
				return true
			}
		}
	}
	return false
}

func mentionsAny(n ast.Node, names map[string]bool) bool {
	found := false
	ast.Inspect(n, func(x ast.Node) bool {
		if id, ok := x.(*ast.Ident); ok && names[id.Name] {
			found = true
		}
		return !found
	})
	return found
}

func mentionsAnyOf(es []ast.Expr, names map[string]bool) bool {
	for _, e := range es {
		if mentionsAny(e, names) {
			return true
		}
	}
	return false
}

// chainNames returns the names along a receiver chain: s, db and Where
// for s.db.Where(...).
func chainNames(e ast.Expr) []string {
	var out []string
	for e != nil {
		switch t := e.(type) {
		case *ast.Ident:
			return append(out, t.Name)
		case *ast.SelectorExpr:
			out = append(out, t.Sel.Name)
			e = t.X
		case *ast.CallExpr:
			e = t.Fun
		case *ast.ParenExpr:
			e = t.X
		case *ast.IndexExpr:
			e = t.X
		default:
			return out
		}
	}
	return out
}

// isQueryCall reports whether call is a database round trip, and the
// receiver name to show.
func isQueryCall(imports map[string]string, call *ast.CallExpr) (string, bool) {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || len(call.Args) == 0 {
		return "", false
	}
	if p, _ := axes.PkgSelector(imports, call.Fun); p != "" {
		return "", false
	}
	name := sel.Sel.Name
	recv := exprName(sel.X)
	if queryMethods[name] {
		return recv, true
	}
	if !dbMethods[name] {
		return "", false
	}
	for _, n := range chainNames(sel.X) {
		if dbRecv.MatchString(n) {
			return recv, true
		}
	}
	return "", false
}

// queryFuncs returns the names of the package's functions and methods whose
// bodies run a database query directly.
func queryFuncs(pass *axes.Pass, g *axes.GoFile) map[string]bool {
	m := map[string]bool{}
	for _, f := range pass.PackageFiles(path.Dir(g.Path)) {
		if f.IsTest || f.AST.Name.Name != g.AST.Name.Name {
			continue
		}
		imports := f.Imports()
		for _, d := range f.AST.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if call, ok := n.(*ast.CallExpr); ok {
					if _, q := isQueryCall(imports, call); q {
						m[fd.Name.Name] = true
					}
				}
				return !m[fd.Name.Name]
			})
		}
	}
	return m
}

// batchMethods maps the method names of g's package (declared methods and
// interface methods) that have a batch sibling to that sibling: Product to
// Products when Products takes a slice. Calling the single form per item of
// a loop is an N+1 whatever the store is.
func batchMethods(pass *axes.Pass, g *axes.GoFile) map[string]string {
	takesSlice := map[string]bool{}
	var names []string
	add := func(name string, ft *ast.FuncType) {
		names = append(names, name)
		for _, f := range ft.Params.List {
			if at, ok := f.Type.(*ast.ArrayType); ok && at.Len == nil {
				takesSlice[name] = true
			}
		}
	}
	for _, f := range pass.PackageFiles(path.Dir(g.Path)) {
		if f.IsTest || f.AST.Name.Name != g.AST.Name.Name {
			continue
		}
		ast.Inspect(f.AST, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.FuncDecl:
				if x.Recv != nil {
					add(x.Name.Name, x.Type)
				}
				return false
			case *ast.InterfaceType:
				for _, m := range x.Methods.List {
					if ft, ok := m.Type.(*ast.FuncType); ok {
						for _, id := range m.Names {
							add(id.Name, ft)
						}
					}
				}
			}
			return true
		})
	}
	out := map[string]string{}
	for _, n := range names {
		if takesSlice[n] {
			continue
		}
		for _, b := range []string{n + "s", n + "es", strings.TrimSuffix(n, "y") + "ies", n + "Batch", "Batch" + n, n + "Many"} {
			if b != n && takesSlice[b] {
				out[n] = b
				break
			}
		}
	}
	return out
}

func runNPlusOne(ctx context.Context, pass *axes.Pass) error {
	helperMemo := map[string]map[string]bool{}
	batchMemo := map[string]map[string]string{}
	for _, g := range pass.ChangedGoFiles(false) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		imports := g.Imports()
		reported := map[ast.Node]bool{}
		var helpers map[string]bool
		var batchers map[string]string
		axes.FuncBodies(g.AST, func(fd *ast.FuncDecl, body *ast.BlockStmt) {
			walkStack(body, func(n ast.Node, stack []ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				recv, direct := isQueryCall(imports, call)
				name := axes.CalleeName(call)
				viaHelper, viaBatch := false, ""
				if !direct {
					if _, isLit := call.Fun.(*ast.FuncLit); isLit || name == "" || len(call.Args) == 0 {
						return true
					}
					if p, _ := g.PkgFunc(call); p != "" {
						return true
					}
					if helpers == nil {
						key := path.Dir(g.Path) + "|" + g.AST.Name.Name
						if helperMemo[key] == nil {
							helperMemo[key] = queryFuncs(pass, g)
							batchMemo[key] = batchMethods(pass, g)
						}
						helpers, batchers = helperMemo[key], batchMemo[key]
					}
					if batch := batchers[name]; batch != "" {
						if _, isSel := call.Fun.(*ast.SelectorExpr); isSel {
							viaBatch = batch
						}
					}
					if viaBatch == "" && (!helpers[name] || fd != nil && fd.Name.Name == name) {
						return true
					}
					viaHelper = viaBatch == ""
				}
				loop := enclosingLoop(stack)
				if loop == nil || !inBody(loop, call) || !dataLoop(loop) {
					return true
				}
				if !mentionsAnyOf(call.Args, loopVars(loop)) {
					return true
				}
				if strings.Contains(strings.ToLower(recv), "stmt") {
					return true // a prepared statement executed per item
				}
				stmt := enclosingStmt(stack, call)
				if reported[stmt] {
					return true
				}
				reported[stmt] = true
				from, to := g.Span(stmt)
				if !pass.AddedIn(g.Path, from, to) {
					return true
				}
				sev := axes.SeverityWarning
				if lp := strings.ToLower(g.Path); strings.Contains(lp, "migration") || strings.Contains(lp, "test") || strings.Contains(g.AST.Name.Name, "test") {
					sev = axes.SeverityInfo // one-off migrations and test fixtures
				}
				var msg string
				switch {
				case viaBatch != "":
					msg = fmt.Sprintf("%s is called once per item of the loop although %s takes many at once; collect the keys and call %s once before the loop.", exprText(call.Fun), viaBatch, viaBatch)
				case viaHelper:
					msg = fmt.Sprintf("%s queries the database and is called once per item of the loop, so the loop makes N+1 round trips; load all the items' data with one query (a JOIN, or WHERE id = ANY($1) / IN (...)) before the loop.", name)
				case strings.HasPrefix(name, "Exec") || strings.HasPrefix(name, "NamedExec"):
					msg = fmt.Sprintf("%s.%s runs once per item of the loop, one round trip each; batch the writes (a multi-row INSERT, COPY, or a prepared statement in a transaction).", recv, name)
					if (strings.EqualFold(recv, "tx") || strings.HasSuffix(recv, "Tx")) && !bulkInsert(imports, loop, call) {
						// Row-by-row logic in a transaction (each item also
						// read, updated or checked) rather than a bulk load.
						sev = axes.SeverityInfo
					}
				default:
					msg = fmt.Sprintf("%s.%s runs once per item of the loop, so the loop makes N+1 database round trips; fetch all rows with one query (a JOIN, or WHERE id = ANY($1) / IN (...)) before the loop.", recv, name)
				}
				pass.Report(axes.Finding{Path: g.Path, Line: from, EndLine: to, Severity: sev, Message: msg})
				return true
			})
		})
	}
	return nil
}

// exprName returns x for x and f for a.b.f.
func exprName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.Ident:
		return t.Name
	case *ast.SelectorExpr:
		return t.Sel.Name
	case *ast.CallExpr:
		return exprName(t.Fun)
	case *ast.ParenExpr:
		return exprName(t.X)
	}
	return ""
}

// stringVars returns the names a function declares as strings.
func stringVars(fd *ast.FuncDecl, body *ast.BlockStmt) map[string]bool {
	m := map[string]bool{}
	isStringType := func(e ast.Expr) bool { id, ok := e.(*ast.Ident); return ok && id.Name == "string" }
	if fd != nil {
		for _, fl := range []*ast.FieldList{fd.Type.Params, fd.Type.Results} {
			if fl == nil {
				continue
			}
			for _, f := range fl.List {
				if isStringType(f.Type) {
					for _, n := range f.Names {
						m[n.Name] = true
					}
				}
			}
		}
	}
	ast.Inspect(body, func(n ast.Node) bool {
		switch s := n.(type) {
		case *ast.ValueSpec:
			if s.Type != nil && isStringType(s.Type) {
				for _, id := range s.Names {
					m[id.Name] = true
				}
			}
			for i, v := range s.Values {
				if i < len(s.Names) && stringValued(v) {
					m[s.Names[i].Name] = true
				}
			}
		case *ast.AssignStmt:
			if s.Tok == token.DEFINE && len(s.Lhs) == len(s.Rhs) {
				for i, v := range s.Rhs {
					if id, ok := s.Lhs[i].(*ast.Ident); ok && stringValued(v) {
						m[id.Name] = true
					}
				}
			}
		}
		return true
	})
	return m
}

// stringValued reports whether e is evidently a string: a string literal,
// a concatenation with one, a string conversion or fmt.Sprint*.
func stringValued(e ast.Expr) bool {
	switch t := e.(type) {
	case *ast.BasicLit:
		return t.Kind == token.STRING
	case *ast.BinaryExpr:
		return t.Op == token.ADD && (stringValued(t.X) || stringValued(t.Y))
	case *ast.ParenExpr:
		return stringValued(t.X)
	case *ast.CallExpr:
		if id, ok := t.Fun.(*ast.Ident); ok && id.Name == "string" {
			return true
		}
		if sel, ok := t.Fun.(*ast.SelectorExpr); ok {
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "fmt" && strings.HasPrefix(sel.Sel.Name, "Sprint") {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "strconv" && (sel.Sel.Name == "Itoa" || strings.HasPrefix(sel.Sel.Name, "Format") || sel.Sel.Name == "Quote") {
				return true
			}
		}
	}
	return false
}

func runStringConcatInLoop(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(false) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		axes.FuncBodies(g.AST, func(fd *ast.FuncDecl, body *ast.BlockStmt) {
			strs := stringVars(fd, body)
			walkStack(body, func(n ast.Node, stack []ast.Node) bool {
				as, ok := n.(*ast.AssignStmt)
				if !ok || as.Tok != token.ADD_ASSIGN || len(as.Lhs) != 1 {
					return true
				}
				id, ok := as.Lhs[0].(*ast.Ident)
				if !ok || !(strs[id.Name] || stringValued(as.Rhs[0])) {
					return true
				}
				loop := enclosingLoop(stack)
				if loop == nil || !inBody(loop, as) || declaredIn(loopBody(loop), id.Name) {
					return true
				}
				line := g.Line(as.Pos())
				if !pass.IsAdded(g.Path, line) {
					return true
				}
				sev := axes.SeverityInfo
				if r, ok := loop.(*ast.RangeStmt); ok && !runeLoop(r, strs) && !allLiterals(as.Rhs[0]) || isNextLoop(loop) {
					sev = axes.SeverityWarning
				}
				pass.Report(axes.Finding{Path: g.Path, Line: line, Severity: sev, Message: fmt.Sprintf(
					"%s += ... in this loop copies the whole string on every iteration, so building it is quadratic in its length; write to a strings.Builder and call String() once after the loop.", id.Name)})
				return true
			})
		})
	}
	return nil
}

// runeLoop reports whether a range loop walks the characters of a string:
// it ranges over a string literal, a variable known to be a string (strs),
// a string conversion or a strings/strconv call. Building a string from a
// string's characters is bounded by that string, so it is only a note.
func runeLoop(r *ast.RangeStmt, strs map[string]bool) bool {
	switch x := r.X.(type) {
	case *ast.BasicLit:
		return x.Kind == token.STRING
	case *ast.Ident:
		return strs[x.Name]
	case *ast.CallExpr:
		if id, ok := x.Fun.(*ast.Ident); ok && id.Name == "string" {
			return true
		}
		if sel, ok := x.Fun.(*ast.SelectorExpr); ok {
			if pkg, ok := sel.X.(*ast.Ident); ok && (pkg.Name == "strings" || pkg.Name == "strconv") {
				return true
			}
		}
	}
	return false
}

// isNextLoop reports whether loop is driven by X.Next(), as rows.Next().
func isNextLoop(loop ast.Stmt) bool {
	f, ok := loop.(*ast.ForStmt)
	if !ok {
		return false
	}
	call, ok := f.Cond.(*ast.CallExpr)
	return ok && axes.CalleeName(call) == "Next"
}

// allLiterals reports whether e is made of literals only (s += ", ").
func allLiterals(e ast.Expr) bool {
	switch t := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.BinaryExpr:
		return allLiterals(t.X) && allLiterals(t.Y)
	case *ast.ParenExpr:
		return allLiterals(t.X)
	}
	return false
}

// declaredIn reports whether name is declared (:= or var) inside block.
func declaredIn(block *ast.BlockStmt, name string) bool {
	found := false
	ast.Inspect(block, func(n ast.Node) bool {
		switch s := n.(type) {
		case *ast.AssignStmt:
			if s.Tok == token.DEFINE {
				for _, l := range s.Lhs {
					if identName(l) == name {
						found = true
					}
				}
			}
		case *ast.ValueSpec:
			for _, id := range s.Names {
				if id.Name == name {
					found = true
				}
			}
		}
		return !found
	})
	return found
}

var workerCount = regexp.MustCompile(`(?i)worker|concurren|parallel|cpu|procs|shards?$|^n$|^size$|limit`)

// rangesOverCount reports whether a range loop iterates over a count (an
// integer) rather than over data: an int literal, a call of
// runtime.NumCPU, an int parameter, or a name that says it is a count.
func rangesOverCount(r *ast.RangeStmt, fd *ast.FuncDecl, body *ast.BlockStmt) bool {
	switch x := r.X.(type) {
	case *ast.BasicLit:
		return x.Kind == token.INT
	case *ast.CallExpr:
		n := axes.CalleeName(x)
		return n == "NumCPU" || n == "GOMAXPROCS" || n == "min" || n == "max"
	case *ast.SelectorExpr:
		return workerCount.MatchString(x.Sel.Name)
	case *ast.Ident:
		if workerCount.MatchString(x.Name) {
			return true
		}
		if fd != nil {
			for _, f := range fd.Type.Params.List {
				for _, n := range f.Names {
					if n.Name == x.Name {
						if t, ok := f.Type.(*ast.Ident); ok && strings.Contains(t.Name, "int") {
							return true
						}
					}
				}
			}
		}
		intVal := false
		ast.Inspect(body, func(n ast.Node) bool {
			if as, ok := n.(*ast.AssignStmt); ok && as.Tok == token.DEFINE && len(as.Lhs) == len(as.Rhs) {
				for i, l := range as.Lhs {
					if identName(l) != x.Name {
						continue
					}
					switch v := as.Rhs[i].(type) {
					case *ast.BasicLit:
						intVal = v.Kind == token.INT
					case *ast.CallExpr:
						n := axes.CalleeName(v)
						intVal = n == "NumCPU" || n == "GOMAXPROCS" || n == "min" || n == "max" || n == "len" || n == "int"
					}
				}
			}
			return !intVal
		})
		return intVal
	}
	return false
}

// inputCollection reports whether a ranged expression is data the function
// received or loaded (a parameter, a local variable or a call), as opposed
// to a fixed registry held in a field or a package variable (hooks, tasks).
func inputCollection(x ast.Expr, fd *ast.FuncDecl, body *ast.BlockStmt) bool {
	switch t := x.(type) {
	case *ast.CallExpr:
		return true
	case *ast.Ident:
		if fd != nil {
			for _, f := range fd.Type.Params.List {
				for _, n := range f.Names {
					if n.Name == t.Name {
						return true
					}
				}
			}
		}
		return declaredIn(body, t.Name)
	}
	return false
}

// smallWords in a comment say that a collection is small by design.
var smallWords = regexp.MustCompile(`(?i)\b(short|small|fixed|few|handful|bounded|at most \d+|a dozen)\b`)

// documentedSmall reports whether the function's doc comment, or a comment
// ending just above the loop, says the collection is small by design ("runs
// the deploy's checks (a short, fixed list) concurrently").
func documentedSmall(g *axes.GoFile, fd *ast.FuncDecl, loop ast.Stmt) bool {
	if fd != nil && fd.Doc != nil && smallWords.MatchString(fd.Doc.Text()) {
		return true
	}
	line := g.Line(loop.Pos())
	for _, cg := range g.AST.Comments {
		if end := g.Line(cg.End()); end < line && end >= line-2 && smallWords.MatchString(cg.Text()) {
			return true
		}
	}
	return false
}

// limiterCtor matches constructors of bounded groups, pools and limiters.
var limiterCtor = regexp.MustCompile(`^(?i:new|make|with)[A-Za-z]*(Group|Pool|Limiter|Limit|Semaphore|Sem|Throttle|Workers)$`)

// bounded reports whether a function limits its concurrency: errgroup
// SetLimit, a weighted semaphore, or a channel send used as a semaphore.
func bounded(body *ast.BlockStmt) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		switch s := n.(type) {
		case *ast.CallExpr:
			switch name := axes.CalleeName(s); name {
			case "SetLimit", "Acquire", "TryAcquire", "NewWeighted":
				found = true
			default:
				// newGroup(ctx, parallel), NewPool(workers): the package's
				// own bounded group, sized by an argument.
				if limiterCtor.MatchString(name) && len(s.Args) > 0 {
					found = true
				}
			}
		case *ast.SendStmt:
			found = true
		}
		return !found
	})
	return found
}

func runGoroutinePerItem(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(false) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		axes.FuncBodies(g.AST, func(fd *ast.FuncDecl, body *ast.BlockStmt) {
			if bounded(body) {
				return
			}
			walkStack(body, func(n ast.Node, stack []ast.Node) bool {
				var at ast.Node
				switch s := n.(type) {
				case *ast.GoStmt:
					at = s
				case *ast.CallExpr:
					if sel, ok := s.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Go" && len(s.Args) == 1 {
						if _, ok := s.Args[0].(*ast.FuncLit); ok {
							at = s
						}
					}
				}
				if at == nil {
					return true
				}
				loop := enclosingLoop(stack)
				if loop == nil || !inBody(loop, at) || !dataLoop(loop) {
					return true
				}
				if r, ok := loop.(*ast.RangeStmt); ok && (rangesOverCount(r, fd, body) || !inputCollection(r.X, fd, body)) {
					return true
				}
				if documentedSmall(g, fd, loop) {
					return true
				}
				line := g.Line(at.Pos())
				if !pass.IsAdded(g.Path, line) {
					return true
				}
				pass.Report(axes.Finding{Path: g.Path, Line: line, Message: "This starts one goroutine per item of the loop with no limit, so a large input runs that many requests or allocations at once; bound it with a fixed worker pool, errgroup.SetLimit or a semaphore channel."})
				return true
			})
		})
	}
	return nil
}

func runAppendKnownSize(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(false) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		axes.FuncBodies(g.AST, func(fd *ast.FuncDecl, body *ast.BlockStmt) {
			empty := emptySlices(body)
			ast.Inspect(body, func(n ast.Node) bool {
				r, ok := n.(*ast.RangeStmt)
				if !ok || rangesOverCount(r, fd, body) {
					return true
				}
				switch r.X.(type) {
				case *ast.Ident, *ast.SelectorExpr:
				default:
					return true
				}
				for _, st := range r.Body.List {
					as, ok := st.(*ast.AssignStmt)
					if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
						continue
					}
					call, ok := as.Rhs[0].(*ast.CallExpr)
					name := identName(as.Lhs[0])
					if !ok || axes.CalleeName(call) != "append" || len(call.Args) != 2 || call.Ellipsis.IsValid() || identName(call.Args[0]) != name {
						continue
					}
					decl, ok := empty[name]
					if !ok || decl >= r.Pos() {
						continue
					}
					line := g.Line(as.Pos())
					if !pass.IsAdded(g.Path, line) {
						continue
					}
					src := exprText(r.X)
					pass.Report(axes.Finding{Path: g.Path, Line: line, Message: fmt.Sprintf(
						"%s gets one element per item of %s but starts empty, so it is regrown several times; allocate it once with make(..., 0, len(%s)).", name, src, src)})
				}
				return true
			})
		})
	}
	return nil
}

// emptySlices maps the names of slices declared empty without capacity to
// their declaration positions.
func emptySlices(body *ast.BlockStmt) map[string]token.Pos {
	m := map[string]token.Pos{}
	ast.Inspect(body, func(n ast.Node) bool {
		switch s := n.(type) {
		case *ast.ValueSpec:
			if _, ok := s.Type.(*ast.ArrayType); ok && len(s.Values) == 0 {
				for _, id := range s.Names {
					m[id.Name] = s.Pos()
				}
			}
		case *ast.AssignStmt:
			if s.Tok != token.DEFINE || len(s.Lhs) != 1 || len(s.Rhs) != 1 {
				return true
			}
			name := identName(s.Lhs[0])
			switch v := s.Rhs[0].(type) {
			case *ast.CompositeLit:
				if at, ok := v.Type.(*ast.ArrayType); ok && at.Len == nil && len(v.Elts) == 0 {
					m[name] = s.Pos()
				}
			case *ast.CallExpr:
				if axes.CalleeName(v) == "make" && len(v.Args) == 2 {
					if lit, ok := v.Args[1].(*ast.BasicLit); ok && lit.Value == "0" {
						m[name] = s.Pos()
					}
				}
			}
		}
		return true
	})
	return m
}

// exprText renders x or a.b for messages.
func exprText(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.Ident:
		return t.Name
	case *ast.SelectorExpr:
		return exprText(t.X) + "." + t.Sel.Name
	}
	return "the source"
}

var encodeFuncs = map[string]map[string]bool{
	"encoding/json": {"Marshal": true, "MarshalIndent": true},
	"encoding/xml":  {"Marshal": true, "MarshalIndent": true},
	"sort":          {"Slice": true, "SliceStable": true, "Sort": true, "Stable": true, "Strings": true, "Ints": true, "Float64s": true},
	"slices":        {"Sort": true, "SortFunc": true, "SortStableFunc": true},
}

func runMarshalOrSortInLoop(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(false) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		axes.FuncBodies(g.AST, func(_ *ast.FuncDecl, body *ast.BlockStmt) {
			walkStack(body, func(n ast.Node, stack []ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) == 0 {
					return true
				}
				p, name := g.PkgFunc(call)
				if !encodeFuncs[p][name] {
					return true
				}
				loop := enclosingLoop(stack)
				if loop == nil || !inBody(loop, call) {
					return true
				}
				vars := loopVars(loop)
				arg := call.Args[0]
				target := axes.RootIdent(arg)
				if u, ok := arg.(*ast.UnaryExpr); ok {
					target = axes.RootIdent(u.X)
				}
				isSort := p == "sort" || p == "slices"
				var msg string
				if target != nil && declaredIn(loopBody(loop), target.Name) {
					// A fresh value each iteration, such as the sorted keys of
					// one element, unless it is built the same way each time.
					iv := iterationVars(loop)
					if !isSort || iv["*"] || iv[target.Name] || leavesLoop(stack, loop) {
						return true
					}
					msg = fmt.Sprintf("%s is rebuilt and sorted on every iteration although nothing in it depends on the iteration, which makes the loop O(n² log n); build and sort it once before the loop.", target.Name)
				}
				switch {
				case msg != "":
				case isSort && target != nil && appendsTo(loopBody(loop), target.Name) && !worklist(loop, target.Name):
					msg = fmt.Sprintf("%s is re-sorted on every iteration after appending to it, which makes the loop O(n² log n); append everything first and sort once after the loop.", target.Name)
				case target != nil && !mentionsAnyOf(call.Args, vars) && !hasCall(call.Args):
					verb := "marshals"
					if isSort {
						verb = "sorts"
					}
					msg = fmt.Sprintf("The loop %s %s on every iteration although the loop does not change it; do it once before the loop.", verb, target.Name)
				default:
					return true
				}
				if leavesLoop(stack, loop) {
					return true // runs at most once: its block returns or breaks
				}
				stmt := enclosingStmt(stack, call)
				from, to := g.Span(stmt)
				if !pass.AddedIn(g.Path, from, to) {
					return true
				}
				pass.Report(axes.Finding{Path: g.Path, Line: from, EndLine: to, Message: msg})
				return true
			})
		})
	}
	return nil
}

// bulkInsert reports whether exec is an INSERT and the only database call
// in the body of loop: a bulk load written one row at a time.
func bulkInsert(imports map[string]string, loop ast.Stmt, exec *ast.CallExpr) bool {
	insert := false
	for _, a := range exec.Args {
		if lit, ok := a.(*ast.BasicLit); ok && strings.HasPrefix(strings.ToUpper(strings.TrimSpace(strings.Trim(lit.Value, "`\""))), "INSERT") {
			insert = true
		}
	}
	if !insert {
		return false
	}
	calls := 0
	ast.Inspect(loopBody(loop), func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok {
			name := axes.CalleeName(c)
			if _, q := isQueryCall(imports, c); q || strings.HasPrefix(name, "Exec") || strings.HasPrefix(name, "Query") {
				calls++ // also prepared statements, whatever their name
			}
		}
		return true
	})
	return calls == 1
}

// worklist reports whether loop runs while name has items ("for
// len(queue) > 0"), popping and pushing them: keeping such a queue sorted is
// a priority queue done simply, not a sort that belongs after the loop.
func worklist(loop ast.Stmt, name string) bool {
	f, ok := loop.(*ast.ForStmt)
	return ok && f.Cond != nil && mentionsAny(f.Cond, map[string]bool{name: true})
}

// iterationVars returns the names whose value depends on the iteration of
// loop: its key, value and loop variable, and whatever the body derives
// from them (assignments, appends, nested loops over them), to a fixed
// point.
func iterationVars(loop ast.Stmt) map[string]bool {
	t := map[string]bool{}
	switch l := loop.(type) {
	case *ast.RangeStmt:
		for _, e := range []ast.Expr{l.Key, l.Value} {
			if id, ok := e.(*ast.Ident); ok && id.Name != "_" {
				t[id.Name] = true
			}
		}
	case *ast.ForStmt:
		if as, ok := l.Init.(*ast.AssignStmt); ok {
			for _, e := range as.Lhs {
				if id, ok := e.(*ast.Ident); ok {
					t[id.Name] = true
				}
			}
		}
		if l.Init == nil && l.Cond != nil {
			return map[string]bool{"*": true} // for cond {...}: anything may change
		}
	}
	for changed := true; changed; {
		changed = false
		mark := func(e ast.Expr) {
			if id := axes.RootIdent(e); id != nil && id.Name != "_" && !t[id.Name] {
				t[id.Name] = true
				changed = true
			}
		}
		ast.Inspect(loopBody(loop), func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.AssignStmt:
				if mentionsAnyOf(x.Rhs, t) || hasCall(x.Rhs) && !onlyPureCalls(x.Rhs) {
					for _, l := range x.Lhs {
						mark(l)
					}
				}
			case *ast.RangeStmt:
				if mentionsAny(x.X, t) {
					mark(x.Key)
					if x.Value != nil {
						mark(x.Value)
					}
				}
			case *ast.UnaryExpr:
				if x.Op == token.AND {
					mark(x.X) // &v handed to a call that may fill it
				}
			}
			return true
		})
	}
	return t
}

// onlyPureCalls reports whether the calls in es are make, len, cap, new and
// append, whose results depend only on their arguments.
func onlyPureCalls(es []ast.Expr) bool {
	pure := true
	for _, e := range es {
		ast.Inspect(e, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				switch axes.CalleeName(call) {
				case "make", "len", "cap", "new", "append":
				default:
					if _, isType := call.Fun.(*ast.ArrayType); !isType {
						pure = false
					}
				}
			}
			return pure
		})
	}
	return pure
}

// leavesLoop reports whether the innermost block around the current node,
// inside loop, ends by returning or breaking out of the loop.
func leavesLoop(stack []ast.Node, loop ast.Stmt) bool {
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i] == loop {
			return false
		}
		b, ok := stack[i].(*ast.BlockStmt)
		if !ok || len(b.List) == 0 {
			continue
		}
		switch last := b.List[len(b.List)-1].(type) {
		case *ast.ReturnStmt:
			return true
		case *ast.BranchStmt:
			return last.Tok == token.BREAK || last.Tok == token.GOTO
		}
		return false
	}
	return false
}

// hasCall reports whether any of es contains a call, whose result may
// change between iterations.
func hasCall(es []ast.Expr) bool {
	found := false
	for _, e := range es {
		ast.Inspect(e, func(n ast.Node) bool {
			if _, ok := n.(*ast.CallExpr); ok {
				found = true
			}
			if _, ok := n.(*ast.FuncLit); ok {
				return false
			}
			return !found
		})
	}
	return found
}

// appendsTo reports whether block appends to name.
func appendsTo(block *ast.BlockStmt, name string) bool {
	found := false
	ast.Inspect(block, func(n ast.Node) bool {
		if as, ok := n.(*ast.AssignStmt); ok && len(as.Lhs) == 1 && len(as.Rhs) == 1 && identName(as.Lhs[0]) == name {
			if call, ok := as.Rhs[0].(*ast.CallExpr); ok && axes.CalleeName(call) == "append" {
				found = true
			}
		}
		return !found
	})
	return found
}

// requestParams returns the names of *http.Request parameters of fn types
// in f.
func requestParams(f *ast.File, imports map[string]string) map[string]bool {
	m := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		ft, ok := n.(*ast.FuncType)
		if !ok || ft.Params == nil {
			return true
		}
		for _, p := range ft.Params.List {
			star, ok := p.Type.(*ast.StarExpr)
			if !ok {
				continue
			}
			sel, ok := star.X.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Request" {
				continue
			}
			if x, ok := sel.X.(*ast.Ident); ok && imports[x.Name] == "net/http" {
				for _, name := range p.Names {
					m[name.Name] = true
				}
			}
		}
		return true
	})
	return m
}

func runReadAllUnboundedBody(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(false) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		imports := g.Imports()
		reqs := requestParams(g.AST, imports)
		if len(reqs) == 0 {
			continue
		}
		axes.FuncBodies(g.AST, func(_ *ast.FuncDecl, body *ast.BlockStmt) {
			limited := false
			ast.Inspect(body, func(n ast.Node) bool {
				if call, ok := n.(*ast.CallExpr); ok {
					switch axes.CalleeName(call) {
					case "MaxBytesReader", "LimitReader", "MaxBytesHandler":
						limited = true
					}
				}
				if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "LimitedReader" {
					limited = true
				}
				return !limited
			})
			if limited {
				return
			}
			ast.Inspect(body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) != 1 {
					return true
				}
				p, name := g.PkgFunc(call)
				if name != "ReadAll" || (p != "io" && p != "io/ioutil") {
					return true
				}
				sel, ok := call.Args[0].(*ast.SelectorExpr)
				if !ok || sel.Sel.Name != "Body" || !reqs[identName(sel.X)] {
					return true
				}
				from, to := g.Span(call)
				if !pass.AddedIn(g.Path, from, to) {
					return true
				}
				pass.Report(axes.Finding{Path: g.Path, Line: from, EndLine: to, Message: fmt.Sprintf(
					"io.ReadAll(%s.Body) buffers whatever the client sends, so one huge request can exhaust the server's memory; wrap it first: %s.Body = http.MaxBytesReader(w, %s.Body, limit).",
					identName(sel.X), identName(sel.X), identName(sel.X))})
				return true
			})
		})
	}
	return nil
}
