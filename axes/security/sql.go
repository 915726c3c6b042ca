package security

import (
	"context"
	"fmt"
	"go/ast"
	"go/token"
	"path"
	"regexp"
	"strings"
	"unicode"

	"github.com/fiveaxis/fiveaxis/axes"
)

// SQLInjection reports SQL statements built from non-constant strings.
var SQLInjection = &axes.Checker{
	Name: "security/sql-injection",
	Doc: `SQL must not be built by formatting or concatenating values into the statement. A query built with fmt.Sprintf or + from a variable lets a crafted value change the statement (SQL injection); pass values as query parameters ($1, ?) and choose identifiers such as column names from a fixed allow-list.

Integer verbs (%d), constants and strconv conversions are not reported.`,
	Axis:     axes.Security,
	Severity: axes.SeverityError,
	Run:      runSQLInjection,
}

var (
	sqlLike = regexp.MustCompile(`(?is)\bselect\b.+\bfrom\b|\binsert\s+into\b|\bupdate\s+\S+\s+set\b|\bdelete\s+from\b|\bwhere\s+[\w."]+\s*(=|<|>|!=|\blike\b|\bilike\b|\bin\b|\bis\b|\bbetween\b)|\border\s+by\s+[\w."]+|\bvalues\s*\(|\b(create|drop|alter|truncate)\s+table\b`)
	// condLike matches SQL condition fragments passed to query builders.
	condLike = regexp.MustCompile(`(?i)(=|<|>|\blike\b|\bin\s*\()\s*'?%?%?$`)
	// identBefore matches the text before an interpolation that puts it in
	// an identifier position (a table or column name).
	identBefore = regexp.MustCompile("(?i)(\\bfrom|\\bjoin|\\binto|\\bupdate|\\btable|\\bby|\\bcolumn|\\bconstraint|\\bindex|\\bsequence|\\bexists|\\bview|\\bschema|\\bdatabase|\\bon|\\btype|\\bmodify|\\.|\"|`|\\[)\\s*[\"`\\[]?$")
	// identName matches names of values that hold SQL identifiers or
	// keywords rather than data.
	identNameRE = regexp.MustCompile(`(?i)table|column|^cols?$|cols$|seq|constraint|index|idx|schema|sqltype|dialect|order|sort|direction|^dir$|field`)
	verbRE      = regexp.MustCompile(`%[-+# 0]*(\*|\d+)?(\.(\*|\d+))?[a-zA-Z%]`)
)

// sqlMethods are methods whose arguments are SQL text.
var sqlMethods = map[string]bool{
	"Query": true, "QueryContext": true, "QueryRow": true, "QueryRowContext": true,
	"Exec": true, "ExecContext": true, "Prepare": true, "PrepareContext": true,
	"Get": true, "GetContext": true, "Select": true, "SelectContext": true,
	"Queryx": true, "QueryRowx": true, "QueryxContext": true, "QueryRowxContext": true,
	"MustExec": true, "MustExecContext": true, "NamedExec": true, "NamedQuery": true,
	"NamedExecContext": true, "NamedQueryContext": true, "Raw": true, "SendBatch": true,
}

// condMethods are query-builder methods that take SQL condition text.
var condMethods = map[string]bool{"Where": true, "Or": true, "Not": true, "Having": true, "Order": true, "Joins": true}

// taint describes a non-constant SQL string.
type taint struct {
	from, to int    // lines of the expression or assignment that built it
	how      string // "fmt.Sprintf" or "concatenation"
	operand  string // the name of an interpolated value, if known
	strong   bool   // the value lands in a quoted or value position
	cond     bool   // only a condition fragment, without SQL keywords
	quoted   bool   // the value lands inside '...'
}

// reportable reports whether a taint is clear enough to report without
// seeing the query run: a value in a value position of SQL text, or inside
// quotes in a condition fragment.
func (t *taint) reportable() bool { return t.strong && (!t.cond || t.quoted) }

var quotedBefore = regexp.MustCompile(`'%*$`)

type sqlScan struct {
	pass    *axes.Pass
	g       *axes.GoFile
	imports map[string]string
	consts  map[string]bool
	vars    map[string]*taint // variables holding tainted SQL
	sqlVars map[string]bool   // variables holding constant SQL text
	locals  map[string]bool   // variables holding constant text
	done    map[*taint]bool
	// allow holds maps whose values are all constant strings: a value
	// looked up in one is picked from a fixed allow-list.
	allow map[string]bool
	// helpers holds the package's functions whose string result is built
	// only from constants and allow-list lookups (an ORDER BY builder).
	helpers map[string]bool
	// quiet scans a helper without reporting.
	quiet bool
}

func runSQLInjection(ctx context.Context, pass *axes.Pass) error {
	consts := map[string]map[string]bool{}  // package constants by dir|package
	allow := map[string]map[string]bool{}   // allow-list maps by dir|package
	helpers := map[string]map[string]bool{} // safe SQL-text helpers by dir|package
	for _, g := range pass.ChangedGoFiles(false) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		key := path.Dir(g.Path) + "|" + g.AST.Name.Name
		if consts[key] == nil {
			consts[key] = pass.PackageConsts(g)
		}
		if allow[key] == nil {
			allow[key] = allowListMaps(pass, g)
		}
		if helpers[key] == nil {
			helpers[key] = safeHelpers(pass, g, consts[key], allow[key])
		}
		s := &sqlScan{pass: pass, g: g, imports: g.Imports(), consts: consts[key], helpers: helpers[key]}
		axes.FuncBodies(g.AST, func(_ *ast.FuncDecl, body *ast.BlockStmt) {
			s.vars, s.sqlVars, s.done, s.locals = map[string]*taint{}, map[string]bool{}, map[*taint]bool{}, map[string]bool{}
			s.allow = map[string]bool{}
			for k := range allow[key] {
				s.allow[k] = true
			}
			s.scan(body)
			// Quoted interpolation is reported even when the sink is not
			// in sight (a helper that returns the statement).
			for _, t := range s.vars {
				if t.reportable() && !s.done[t] {
					s.report(t, "")
				}
			}
		})
	}
	return nil
}

func (s *sqlScan) scan(body ast.Node) {
	ast.Inspect(body, func(n ast.Node) bool {
		switch st := n.(type) {
		case *ast.AssignStmt:
			// col, ok := columns[key]: a value picked from an allow-list;
			// order, err := orderBy(key): text from a safe helper
			if len(st.Lhs) == 2 && len(st.Rhs) == 1 {
				if id, ok := st.Lhs[0].(*ast.Ident); ok && (s.allowLookup(st.Rhs[0]) || s.helperCall(st.Rhs[0])) {
					s.locals[id.Name] = true
				}
			}
			if len(st.Lhs) != len(st.Rhs) {
				return true
			}
			for i, lhs := range st.Lhs {
				if id, ok := lhs.(*ast.Ident); ok && constStringMap(st.Rhs[i]) {
					s.allow[id.Name] = true
				}
			}
			for i, lhs := range st.Lhs {
				id, ok := lhs.(*ast.Ident)
				if !ok {
					continue
				}
				rhs := st.Rhs[i]
				if st.Tok == token.ADD_ASSIGN {
					if !s.isConst(rhs) {
						delete(s.locals, id.Name)
					}
					if prev := s.vars[id.Name]; prev != nil {
						continue
					}
					if s.sqlVars[id.Name] && !s.isConst(rhs) {
						from, to := s.g.Span(st)
						t := &taint{from: from, to: to, how: "concatenation", operand: firstOperand(rhs, s), strong: quotedConcat(rhs, s)}
						s.vars[id.Name] = t
						continue
					}
				}
				if st.Tok != token.ADD_ASSIGN && s.isConst(rhs) {
					s.locals[id.Name] = true
				} else if !s.isConst(rhs) {
					delete(s.locals, id.Name)
				}
				if t := s.taintOf(rhs); t != nil {
					from, to := s.g.Span(st)
					if t.from == 0 || t.from >= from {
						t.from, t.to = from, to
					}
					s.vars[id.Name] = t
					continue
				}
				if str, ok := stringLit(rhs); ok && sqlLike.MatchString(str) {
					s.sqlVars[id.Name] = true
				}
			}
		case *ast.ValueSpec:
			for i, id := range st.Names {
				if i < len(st.Values) {
					if t := s.taintOf(st.Values[i]); t != nil {
						t.from, t.to = s.g.Span(st)
						s.vars[id.Name] = t
					}
				}
			}
		case *ast.CallExpr:
			name := axes.CalleeName(st)
			if id, ok := st.Fun.(*ast.Ident); ok && id.Name == "append" {
				// conds = append(conds, "status IN ('"+...+"')"): a
				// quoted fragment collected for a statement built later.
				for _, a := range st.Args[1:] {
					if t := s.taintOf(a); t != nil && t.reportable() && t.quoted && !s.done[t] {
						t.from, t.to = s.g.Span(a)
						s.report(t, "")
					}
				}
				return true
			}
			if _, isSel := st.Fun.(*ast.SelectorExpr); !isSel {
				return true
			}
			if p, fn := axes.PkgSelector(s.imports, st.Fun); p != "" {
				// fmt.Fprintf(&b, "... WHERE name = '%s'", v) into a builder
				if p == "fmt" && fn == "Fprintf" && len(st.Args) > 2 {
					t := s.sprintfTaint(st.Args[1:])
					if t == nil && s.sqlVars[builderName(st.Args[0])] {
						// A fragment of a statement the builder holds:
						// "(%d, '%s')" after "INSERT ... VALUES ".
						t = s.quotedVerbTaint(st.Args[1:])
					}
					if t != nil && t.reportable() {
						t.from, t.to = s.g.Span(st)
						s.report(t, "")
					}
				}
				return true // a package function such as fmt.Sprintf, not a method
			}
			if (name == "WriteString" || name == "Write") && len(st.Args) == 1 {
				// b.WriteString("INSERT INTO ..."): the builder holds SQL.
				if text, ok := s.literalText(st.Args[0]); ok && sqlLike.MatchString(text) && startsLikeSQL(text) {
					s.sqlVars[builderName(st.Fun.(*ast.SelectorExpr).X)] = true
				}
			}
			if !sqlMethods[name] && !condMethods[name] {
				// SQL text built into a strings.Builder or passed to a helper
				for _, a := range st.Args {
					if _, isIdent := a.(*ast.Ident); isIdent {
						continue
					}
					if t := s.taintOf(a); t != nil && t.reportable() && !s.done[t] {
						t.from, t.to = s.g.Span(a)
						s.report(t, "")
					}
				}
				return true
			}
			for _, a := range st.Args {
				t := s.vars[identName(a)]
				if t == nil {
					t = s.taintOf(a)
					if t != nil {
						t.from, t.to = s.g.Span(a)
					}
				}
				if t == nil || s.done[t] || (t.cond && !condMethods[name]) {
					continue
				}
				s.report(t, name)
			}
		}
		return true
	})
}

func identName(e ast.Expr) string {
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

func (s *sqlScan) report(t *taint, sink string) {
	s.done[t] = true
	if s.quiet {
		return
	}
	if !s.pass.AddedIn(s.g.Path, t.from, t.to) {
		return
	}
	sev := axes.SeverityError
	if !t.strong {
		sev = axes.SeverityWarning
	}
	if strings.Contains(strings.ToLower(s.g.Path), "migration") {
		sev = axes.SeverityInfo // schema migrations interpolate their own identifiers
	}
	what := "a value"
	if t.operand != "" {
		what = t.operand
	}
	msg := fmt.Sprintf("This SQL statement is built by %s with %s, so a crafted value can rewrite the query (SQL injection); pass it as a query parameter ($1 or ?) instead.", t.how, what)
	if !t.strong {
		msg = fmt.Sprintf("This SQL statement interpolates %s by %s into an identifier position; if it can come from a request this is SQL injection, so pick identifiers from a fixed allow-list and pass values as parameters.", what, t.how)
	}
	_ = sink
	s.pass.Report(axes.Finding{Path: s.g.Path, Line: t.from, EndLine: t.to, Severity: sev, Message: msg})
}

func (s *sqlScan) isConst(e ast.Expr) bool {
	switch t := e.(type) {
	case *ast.Ident:
		if s.locals[t.Name] {
			return true
		}
	case *ast.SelectorExpr:
		// pkg.Name: an exported constant of another package
		if id, ok := t.X.(*ast.Ident); ok && s.imports[id.Name] != "" {
			return true
		}
	case *ast.BinaryExpr:
		return s.isConst(t.X) && s.isConst(t.Y)
	case *ast.ParenExpr:
		return s.isConst(t.X)
	}
	if axes.IsConstExpr(e, s.consts) {
		return true
	}
	return s.safeValue(e)
}

// safeValue reports whether e cannot carry SQL syntax: numeric conversions,
// lengths, quoting helpers and placeholder lists.
func (s *sqlScan) safeValue(e ast.Expr) bool {
	switch t := e.(type) {
	case *ast.CallExpr:
		if p, name := axes.PkgSelector(s.imports, t.Fun); p == "strconv" || p == "strings" && (name == "Join" || name == "Repeat") {
			// strings.Join(ph, ", ") of placeholders is safe; joining
			// values with "', '" builds a quoted list of them.
			if name == "Join" && len(t.Args) == 2 {
				if sep, ok := s.literalText(t.Args[1]); ok && strings.ContainsAny(sep, `'"`) {
					return false
				}
			}
			return true
		}
		name := strings.ToLower(axes.CalleeName(t))
		if name == "len" || name == "cap" || strings.Contains(name, "quote") || strings.Contains(name, "placeholder") || strings.HasPrefix(name, "int") || strings.HasPrefix(name, "float") {
			return true
		}
	case *ast.Ident:
		n := strings.ToLower(t.Name)
		return strings.Contains(n, "placeholder") || s.sqlVars[t.Name]
	case *ast.IndexExpr:
		return s.allowLookup(t)
	}
	return s.helperCall(e)
}

// builderName returns the name of a builder written to: b for b and &b.
func builderName(e ast.Expr) string {
	if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.AND {
		e = u.X
	}
	return identName(e)
}

// quotedVerbTaint returns the taint of a format whose verb sits between
// single quotes with a non-constant argument: a string literal of SQL
// filled with a value.
func (s *sqlScan) quotedVerbTaint(args []ast.Expr) *taint {
	format, ok := s.literalText(args[0])
	if !ok {
		return nil
	}
	argi := 1
	for _, v := range verbRE.FindAllStringIndex(format, -1) {
		verb := format[v[0]:v[1]]
		if verb == "%%" {
			continue
		}
		if argi >= len(args) {
			break
		}
		arg := args[argi]
		argi++
		if verb[len(verb)-1] != 's' && verb[len(verb)-1] != 'v' || s.isConst(arg) {
			continue
		}
		if quotedBefore.MatchString(format[:v[0]]) {
			return &taint{how: "fmt.Fprintf", operand: exprText(arg), strong: true, quoted: true}
		}
	}
	return nil
}

// helperCall reports whether e calls one of the package's safe helpers.
func (s *sqlScan) helperCall(e ast.Expr) bool {
	call, ok := ast.Unparen(e).(*ast.CallExpr)
	if !ok {
		return false
	}
	id, ok := call.Fun.(*ast.Ident)
	return ok && s.helpers[id.Name]
}

// safeHelpers returns the functions of g's package whose first result is a
// string and every return gives text built only from constants, allow-list
// lookups and formatting of those: an ORDER BY builder that maps a sort key
// through a fixed map, say. Their results are as safe as constants.
func safeHelpers(pass *axes.Pass, g *axes.GoFile, consts, allow map[string]bool) map[string]bool {
	out := map[string]bool{}
	for _, f := range pass.PackageFiles(path.Dir(g.Path)) {
		if f.AST.Name.Name != g.AST.Name.Name {
			continue
		}
		for _, d := range f.AST.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil || fd.Recv != nil || fd.Type.Results == nil || len(fd.Type.Results.List) == 0 {
				continue
			}
			if id, ok := fd.Type.Results.List[0].Type.(*ast.Ident); !ok || id.Name != "string" {
				continue
			}
			s := &sqlScan{pass: pass, g: f, imports: f.Imports(), consts: consts, quiet: true,
				vars: map[string]*taint{}, sqlVars: map[string]bool{}, done: map[*taint]bool{}, locals: map[string]bool{},
				allow: map[string]bool{}, helpers: map[string]bool{}}
			for k := range allow {
				s.allow[k] = true
			}
			s.scan(fd.Body)
			safe, returns := true, 0
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				switch r := n.(type) {
				case *ast.FuncLit:
					return false
				case *ast.ReturnStmt:
					returns++
					if len(r.Results) == 0 || !s.safeText(r.Results[0]) {
						safe = false
					}
				}
				return safe
			})
			if safe && returns > 0 {
				out[fd.Name.Name] = true
			}
		}
	}
	return out
}

// safeText reports whether e is constant text, or fmt.Sprintf of a
// constant format with constant arguments.
func (s *sqlScan) safeText(e ast.Expr) bool {
	if s.isConst(e) {
		return true
	}
	call, ok := ast.Unparen(e).(*ast.CallExpr)
	if !ok || len(call.Args) == 0 {
		return false
	}
	if p, name := axes.PkgSelector(s.imports, call.Fun); p != "fmt" || name != "Sprintf" {
		return false
	}
	for _, a := range call.Args {
		if !s.isConst(a) {
			return false
		}
	}
	return true
}

// allowLookup reports whether e looks a value up in an allow-list map.
func (s *sqlScan) allowLookup(e ast.Expr) bool {
	ix, ok := ast.Unparen(e).(*ast.IndexExpr)
	if !ok {
		return false
	}
	id, ok := ix.X.(*ast.Ident)
	return ok && s.allow[id.Name]
}

// allowListMaps returns the package-level variables of g's package that are
// map literals whose values are all string literals (allow-lists of
// identifiers such as sortable columns).
func allowListMaps(pass *axes.Pass, g *axes.GoFile) map[string]bool {
	m := map[string]bool{}
	add := func(f *ast.File) {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, sp := range gd.Specs {
				vs := sp.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if i < len(vs.Values) && constStringMap(vs.Values[i]) {
						m[id.Name] = true
					}
				}
			}
		}
	}
	add(g.AST)
	for _, f := range pass.PackageFiles(path.Dir(g.Path)) {
		if f.Path != g.Path && f.AST.Name.Name == g.AST.Name.Name {
			add(f.AST)
		}
	}
	return m
}

// constStringMap reports whether e is a non-empty map literal whose values
// are all string literals.
func constStringMap(e ast.Expr) bool {
	cl, ok := e.(*ast.CompositeLit)
	if !ok || len(cl.Elts) == 0 {
		return false
	}
	if _, isMap := cl.Type.(*ast.MapType); !isMap {
		return false
	}
	for _, el := range cl.Elts {
		kv, ok := el.(*ast.KeyValueExpr)
		if !ok {
			return false
		}
		if _, ok := stringLit(kv.Value); !ok {
			return false
		}
	}
	return true
}

// taintOf returns the taint of an expression that builds SQL text from
// non-constant parts, or nil.
func (s *sqlScan) taintOf(e ast.Expr) *taint {
	switch t := e.(type) {
	case *ast.ParenExpr:
		return s.taintOf(t.X)
	case *ast.Ident:
		return s.vars[t.Name]
	case *ast.CallExpr:
		p, name := axes.PkgSelector(s.imports, t.Fun)
		if p != "fmt" || name != "Sprintf" || len(t.Args) < 2 {
			return nil
		}
		return s.sprintfTaint(t.Args)
	case *ast.BinaryExpr:
		return s.concatTaint(t)
	}
	return nil
}

// sprintfTaint checks a format and its arguments, as passed to Sprintf.
func (s *sqlScan) sprintfTaint(args []ast.Expr) *taint {
	format, ok := s.literalText(args[0])
	if !ok {
		return nil
	}
	isSQL := sqlLike.MatchString(format) && startsLikeSQL(format)
	verbs := verbRE.FindAllStringIndex(format, -1)
	argi := 1
	var res *taint
	for _, v := range verbs {
		verb := format[v[0]:v[1]]
		if verb == "%%" {
			continue
		}
		if strings.Contains(verb, "*") {
			argi++
		}
		if argi >= len(args) {
			break
		}
		arg := args[argi]
		argi++
		switch verb[len(verb)-1] {
		case 'd', 'f', 'g', 'e', 't', 'b', 'o', 'c', 'x', 'X', 'U':
			continue
		}
		if s.isConst(arg) {
			continue
		}
		before := format[:v[0]]
		cond := !isSQL && condLike.MatchString(before)
		if !isSQL && !cond {
			continue
		}
		strong := !identBefore.MatchString(before) && !identNameRE.MatchString(exprText(arg))
		if res == nil || strong && !res.strong {
			res = &taint{how: "fmt.Sprintf", operand: exprText(arg), strong: strong, cond: cond, quoted: quotedBefore.MatchString(before)}
		}
	}
	return res
}

// sqlStart lists the words a SQL statement, or a fragment appended to one,
// starts with.
var sqlStart = map[string]bool{
	"select": true, "insert": true, "update": true, "delete": true, "with": true, "where": true,
	"and": true, "or": true, "order": true, "group": true, "limit": true, "offset": true,
	"having": true, "join": true, "left": true, "right": true, "inner": true, "outer": true,
	"cross": true, "from": true, "values": true, "set": true, "create": true, "drop": true,
	"alter": true, "truncate": true, "replace": true, "merge": true, "upsert": true,
	"returning": true, "on": true, "union": true, "exec": true, "execute": true, "call": true,
	"not": true, "in": true, "like": true, "ilike": true, "between": true, "is": true,
}

// startsLikeSQL reports whether text (a format or the literal parts of a
// concatenation) reads as SQL from its start, skipping leading format verbs,
// spaces and punctuation: "SELECT … %s", " WHERE name = '%s'", "%s ORDER
// BY %s". Prose that merely mentions SQL ("%s runs once per item; use a JOIN
// or WHERE id = ANY($1)") does not.
func startsLikeSQL(text string) bool {
	rest := strings.TrimLeft(verbRE.ReplaceAllString(text, " "), " \t\r\n(,.;'\"`")
	word := rest
	if i := strings.IndexFunc(rest, func(r rune) bool { return !unicode.IsLetter(r) }); i >= 0 {
		word = rest[:i]
	}
	return sqlStart[strings.ToLower(word)]
}

// concatTaint checks a + concatenation.
func (s *sqlScan) concatTaint(t *ast.BinaryExpr) *taint {
	if t.Op != token.ADD {
		return nil
	}
	ops := flattenAdd(t)
	var text strings.Builder
	for _, op := range ops {
		if str, ok := s.literalText(op); ok {
			text.WriteString(str)
		}
	}
	full := text.String()
	isSQL := sqlLike.MatchString(full) && (startsLikeSQL(full) || s.sqlVars[identName(ops[0])])
	var res *taint
	before := ""
	for _, op := range ops {
		if str, ok := s.literalText(op); ok {
			before += str
			continue
		}
		if inner := s.vars[identName(op)]; inner != nil {
			return inner
		}
		if s.isConst(op) {
			before += "?"
			continue
		}
		cond := !isSQL && condLike.MatchString(before)
		if !isSQL && !cond {
			before += "?"
			continue
		}
		strong := !identBefore.MatchString(before) && !identNameRE.MatchString(exprText(op))
		if res == nil || strong && !res.strong {
			res = &taint{how: "concatenation", operand: exprText(op), strong: strong, cond: cond, quoted: quotedBefore.MatchString(before)}
		}
		before += "?"
	}
	return res
}

// literalText returns the text of a string literal or of a constant SQL
// variable's literal (unknown text for the latter is returned as "SELECT").
func (s *sqlScan) literalText(e ast.Expr) (string, bool) {
	if str, ok := stringLit(e); ok {
		return str, true
	}
	if id, ok := e.(*ast.Ident); ok && s.sqlVars[id.Name] {
		return "SELECT x FROM t WHERE ", true
	}
	return "", false
}

func flattenAdd(e ast.Expr) []ast.Expr {
	if b, ok := e.(*ast.BinaryExpr); ok && b.Op == token.ADD {
		return append(flattenAdd(b.X), flattenAdd(b.Y)...)
	}
	if p, ok := e.(*ast.ParenExpr); ok {
		return flattenAdd(p.X)
	}
	return []ast.Expr{e}
}

func firstOperand(e ast.Expr, s *sqlScan) string {
	for _, op := range flattenAdd(e) {
		if !s.isConst(op) {
			return exprText(op)
		}
	}
	return ""
}

// quotedConcat reports whether a concatenation puts a non-constant operand
// in a quoted or value position.
func quotedConcat(e ast.Expr, s *sqlScan) bool {
	before := ""
	for _, op := range flattenAdd(e) {
		if str, ok := stringLit(op); ok {
			before += str
			continue
		}
		if !s.isConst(op) {
			return !identBefore.MatchString(before)
		}
	}
	return false
}

// exprText renders a short expression such as term, req.Name or
// r.FormValue("q") for messages.
func exprText(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.Ident:
		return t.Name
	case *ast.SelectorExpr:
		if x := exprText(t.X); x != "" {
			return x + "." + t.Sel.Name
		}
		return t.Sel.Name
	case *ast.CallExpr:
		if f := exprText(t.Fun); f != "" {
			return f + "(…)"
		}
	case *ast.IndexExpr:
		return exprText(t.X) + "[…]"
	}
	return ""
}
