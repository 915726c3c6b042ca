package architecture

import (
	"context"
	"go/ast"
	"go/token"
	"go/types"
	"path"
	"regexp"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
)

// PanicInLibrary reports panics on ordinary errors in library code.
var PanicInLibrary = &axes.Checker{
	Name:     "architecture/panic-in-library",
	Doc:      `Library code should return errors, not panic on them. A panic in a non-main package on an ordinary failure (an error from I/O or parsing, a bad input) takes the decision away from the caller and crashes servers that call it; return an error instead. An exported function that panics when its configuration parameter (cfg, opts, a *Config or *Options value) is invalid is reported too. Not reported: Must* helpers, init functions, functions whose doc comment mentions the panic, package main, tests and test support code, panics on impossible states that do not involve an error, errors from calls that cannot fail (marshalling a Go value, crypto/rand, a call with constant arguments), panics a comment explains as an invariant, and panics that re-raise a recovered value.`,
	Axis:     axes.Architecture,
	Severity: axes.SeverityWarning,
	Run:      runPanicInLibrary,
}

func runPanicInLibrary(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(false) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if g.IsMain() || testSupport(g) {
			continue
		}
		var musts map[string]bool
		for _, d := range g.AST.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			name := fd.Name.Name
			if name == "init" || strings.HasPrefix(name, "Must") {
				continue
			}
			if strings.HasPrefix(name, "must") {
				if musts == nil {
					musts = mustOnInput(pass, g)
				}
				if !musts[name] {
					continue // a must helper used on constants
				}
			}
			if fd.Doc != nil && strings.Contains(strings.ToLower(fd.Doc.Text()), "panic") && !panicsWithErrors(fd.Body) {
				continue // a documented panic is part of the contract, unless errors travel by panic
			}
			config := configParams(fd)
			for name := range envVars(g, fd.Body) {
				if config == nil {
					config = map[string]bool{}
				}
				config[name] = true // a missing or bad environment variable is a deployment mistake
			}
			pc := &panicCheck{pass: pass, g: g, assigns: errAssigns(fd.Body), config: config, body: fd.Body,
				errResult: axes.ReturnsError(fd.Type)}
			pc.inspect(fd.Body, nil, nil)
		}
	}
	return nil
}

// panicCheck looks for panics on errors in one function.
type panicCheck struct {
	pass    *axes.Pass
	g       *axes.GoFile
	assigns []errAssign
	config  map[string]bool // configuration parameters of an exported function
	body    *ast.BlockStmt  // the function's body: comments before it are its doc
	// errResult: the function returns an error, so a panic on bad data
	// there bypasses the channel it already has.
	errResult bool
}

// errAssign records that the error variable name was assigned the result of
// call at pos.
type errAssign struct {
	pos  token.Pos
	name string
	call *ast.CallExpr
}

// errAssigns lists the assignments of a single call's results to error
// variables in body, in source order.
func errAssigns(body ast.Node) []errAssign {
	var out []errAssign
	ast.Inspect(body, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || len(as.Rhs) != 1 {
			return true
		}
		if call, ok := as.Rhs[0].(*ast.CallExpr); ok {
			for _, l := range as.Lhs {
				if id, ok := l.(*ast.Ident); ok && isErrName(id.Name) {
					out = append(out, errAssign{as.Pos(), id.Name, call})
				}
			}
		}
		return true
	})
	return out
}

// inspect walks body, remembering the conditions of enclosing if
// statements and the innermost one (encl), and reports panics on errors.
func (pc *panicCheck) inspect(body ast.Node, conds []ast.Expr, encl *ast.IfStmt) {
	ast.Inspect(body, func(n ast.Node) bool {
		switch s := n.(type) {
		case *ast.IfStmt:
			if s.Init != nil {
				pc.inspect(s.Init, conds, encl)
			}
			pc.inspect(s.Body, append(conds[:len(conds):len(conds)], s.Cond), s)
			if s.Else != nil {
				pc.inspect(s.Else, conds, encl)
			}
			return false
		case *ast.CallExpr:
			id, ok := s.Fun.(*ast.Ident)
			if !ok || id.Name != "panic" || len(s.Args) != 1 {
				return true
			}
			pc.check(s, conds, encl)
		}
		return true
	})
}

// check reports the panic call p unless it is exempt.
func (pc *panicCheck) check(p *ast.CallExpr, conds []ast.Expr, encl *ast.IfStmt) {
	g := pc.g
	from, to := g.Span(p)
	if !pc.pass.AddedIn(g.Path, from, to) {
		return
	}
	if !mentionsError(p.Args[0]) && !anyMentionsError(conds) && !mentionsAny(conds, pc.config) &&
		!(pc.errResult && len(conds) > 0 && !invariantMessage(p.Args[0]) && validationMessage(p.Args[0])) {
		return
	}
	if invariantComment(g, from) || commentedIf(g, encl, pc.body.Lbrace) || rePanic(p.Args[0], conds) {
		return
	}
	if call := pc.errSource(p, conds); call != nil && cannotFail(g, call) {
		return
	}
	pc.pass.Report(axes.Finding{Path: g.Path, Line: from, EndLine: to, Message: "This library code panics on an ordinary error, which crashes any program that calls it; return the error (wrapped with context) and let the caller decide."})
}

// errSource returns the call whose error the panic p reacts to: the last
// call assigned, before p, to the error variable named in the innermost
// condition that names one (or in p's argument), or nil.
func (pc *panicCheck) errSource(p *ast.CallExpr, conds []ast.Expr) *ast.CallExpr {
	name := ""
	for i := len(conds) - 1; i >= 0 && name == ""; i-- {
		name = errIdent(conds[i])
	}
	if name == "" {
		name = errIdent(p.Args[0])
	}
	var src *ast.CallExpr
	for _, a := range pc.assigns {
		if a.pos < p.Pos() && a.name == name {
			src = a.call
		}
	}
	return src
}

// errIdent returns the first identifier in e named like an error variable,
// or "".
func errIdent(e ast.Expr) string {
	name := ""
	ast.Inspect(e, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && name == "" && isErrName(id.Name) {
			name = id.Name
		}
		return name == ""
	})
	return name
}

// cannotFail reports whether call only fails on a programming error:
// marshalling a Go value, reading crypto/rand, or any call whose arguments
// are all constants (url.Parse("https://example.com")).
func cannotFail(g *axes.GoFile, call *ast.CallExpr) bool {
	p, f := g.PkgFunc(call)
	switch {
	case (p == "encoding/json" || p == "encoding/xml") && strings.HasPrefix(f, "Marshal"):
		return true
	case p == "crypto/rand":
		return true
	}
	if len(call.Args) == 0 {
		return false
	}
	for _, a := range call.Args {
		switch a := a.(type) {
		case *ast.BasicLit:
		case *ast.SelectorExpr: // a constant such as time.RFC3339
		case *ast.Ident:
			if a.Name != "nil" && a.Name != "true" && a.Name != "false" {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// justifyRE matches the words with which a comment just above an if
// statement says why its panic is acceptable.
var justifyRE = regexp.MustCompile(`(?i)panic|never|can't|cannot|impossible|invariant|should not|shouldn't|programmer|bug|ok to|okay`)

// commentedIf reports whether the if statement around a panic carries a
// comment in its body, or ends a comment with justifying words in the
// three lines above it.
func commentedIf(g *axes.GoFile, ifs *ast.IfStmt, bodyStart token.Pos) bool {
	if ifs == nil {
		return false
	}
	line := g.Line(ifs.Pos())
	for _, cg := range g.AST.Comments {
		if cg.Pos() < bodyStart {
			continue // the function's doc comment describes it, it does not justify this if
		}
		if cg.Pos() > ifs.Body.Lbrace && cg.End() < ifs.Body.Rbrace {
			return true
		}
		if l := g.Line(cg.End()); l < line && l >= line-3 && justifyRE.MatchString(cg.Text()) {
			return true
		}
	}
	return false
}

// invariantRE matches comments that explain a panic as an invariant.
var invariantRE = regexp.MustCompile(`(?i)never (fail|happen)|should(n't| not) (fail|happen)|can(not|'t|no) (fail|happen)|impossible|unreachable|must not happen|programm(er|ing) error|\bbug\b`)

// invariantComment reports whether the panic's line or the two lines
// before it carry a comment saying the failure cannot happen.
func invariantComment(g *axes.GoFile, line int) bool {
	lines := strings.Split(string(g.Src), "\n")
	for l := line - 2; l <= line; l++ {
		if l < 1 || l > len(lines) {
			continue
		}
		if i := strings.Index(lines[l-1], "//"); i >= 0 && invariantRE.MatchString(lines[l-1][i:]) {
			return true
		}
	}
	return false
}

// validationWords in a panic's message say that it rejects bad input.
var validationWords = regexp.MustCompile(`(?i)\b(unsupported|unknown|invalid|malformed|not a number|cannot parse|can.t parse)\b`)

// validationMessage reports whether a panic's message rejects bad input
// ("unsupported currency %q") rather than stating a broken invariant.
func validationMessage(arg ast.Expr) bool {
	found := false
	ast.Inspect(arg, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && validationWords.MatchString(lit.Value) {
			found = true
		}
		return !found
	})
	return found
}

// invariantMessage reports whether a panic's message says it cannot happen
// ("unreachable", "impossible", "bug").
func invariantMessage(arg ast.Expr) bool {
	found := false
	ast.Inspect(arg, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && invariantRE.MatchString(lit.Value) {
			found = true
		}
		return !found
	})
	return found
}

// rePanic reports whether the panic re-raises a recovered value.
func rePanic(arg ast.Expr, conds []ast.Expr) bool {
	if id, ok := arg.(*ast.Ident); ok && (id.Name == "rec" || id.Name == "r" || id.Name == "recovered") {
		return true // panic(rec): re-raising what recover returned
	}
	found := false
	for _, c := range append([]ast.Expr{arg}, conds...) {
		ast.Inspect(c, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok && axes.CalleeName(call) == "recover" {
				found = true
			}
			if id, ok := n.(*ast.Ident); ok && (id.Name == "recovered" || strings.Contains(strings.ToLower(id.Name), "panic")) {
				found = true
			}
			return !found
		})
	}
	return found
}

// configParams returns the parameters of an exported function that carry
// caller configuration: named cfg, conf, config, opts or options, or of a
// type named like Config, Options or Settings. A panic when one of them is
// invalid punishes the caller for input it may have read from a file.
func configParams(fd *ast.FuncDecl) map[string]bool {
	if !fd.Name.IsExported() || fd.Type.Params == nil {
		return nil
	}
	out := map[string]bool{}
	fields := fd.Type.Params.List
	if fd.Recv != nil {
		// A method of the configuration type validating itself.
		fields = append(fields[:len(fields):len(fields)], fd.Recv.List...)
	}
	for _, f := range fields {
		typeName := ""
		t := f.Type
		if st, ok := t.(*ast.StarExpr); ok {
			t = st.X
		}
		switch t := t.(type) {
		case *ast.Ident:
			typeName = t.Name
		case *ast.SelectorExpr:
			typeName = t.Sel.Name
		}
		cfgType := configTypeRE.MatchString(typeName)
		for _, n := range f.Names {
			switch strings.ToLower(n.Name) {
			case "cfg", "conf", "config", "opts", "options", "settings":
				out[n.Name] = true
			default:
				if cfgType {
					out[n.Name] = true
				}
			}
		}
	}
	return out
}

// mustOnInput returns the unexported must* helpers of g's package that a
// function returning an error calls with a non-constant argument: Parse
// handing a field of its input to mustAtoi turns bad input into a panic
// although Parse could have returned the error.
func mustOnInput(pass *axes.Pass, g *axes.GoFile) map[string]bool {
	out := map[string]bool{}
	// Helpers that take text (string or []byte): they parse, so their
	// failure is bad input rather than misuse such as a missing context value.
	parses := map[string]bool{}
	for _, f := range pass.PackageFiles(path.Dir(g.Path)) {
		if f.AST.Name.Name != g.AST.Name.Name {
			continue
		}
		for _, d := range f.AST.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && strings.HasPrefix(fd.Name.Name, "must") {
				for _, p := range fd.Type.Params.List {
					if t := types.ExprString(p.Type); t == "string" || t == "[]byte" {
						parses[fd.Name.Name] = true
					}
				}
			}
		}
	}
	for _, f := range pass.PackageFiles(path.Dir(g.Path)) {
		if f.IsTest || f.AST.Name.Name != g.AST.Name.Name {
			continue
		}
		consts := pass.PackageConsts(f)
		for _, d := range f.AST.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil || !axes.ReturnsError(fd.Type) {
				continue
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				id, ok := call.Fun.(*ast.Ident)
				if !ok || !parses[id.Name] {
					return true
				}
				for _, a := range call.Args {
					if !axes.IsConstExpr(a, consts) {
						out[id.Name] = true
					}
				}
				return true
			})
		}
	}
	return out
}

// panicsWithErrors reports whether body panics with error values
// (errors.New, fmt.Errorf, a sentinel ErrX): errors sent through panic, a
// contract callers must recover from, which documenting does not fix.
func panicsWithErrors(body *ast.BlockStmt) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || found {
			return !found
		}
		if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "panic" || len(call.Args) != 1 {
			return true
		}
		switch a := call.Args[0].(type) {
		case *ast.CallExpr:
			if sel, ok := a.Fun.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok {
					found = x.Name == "fmt" && sel.Sel.Name == "Errorf" || x.Name == "errors" && sel.Sel.Name == "New"
				}
			}
		case *ast.Ident:
			found = strings.HasPrefix(a.Name, "Err")
		case *ast.SelectorExpr:
			found = strings.HasPrefix(a.Sel.Name, "Err")
		}
		return !found
	})
	return found
}

// envVars returns the variables of body assigned from os.Getenv or
// os.LookupEnv.
func envVars(g *axes.GoFile, body *ast.BlockStmt) map[string]bool {
	out := map[string]bool{}
	ast.Inspect(body, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || len(as.Rhs) != 1 {
			return true
		}
		call, ok := as.Rhs[0].(*ast.CallExpr)
		if !ok {
			return true
		}
		if p, f := g.PkgFunc(call); p == "os" && (f == "Getenv" || f == "LookupEnv") {
			for _, l := range as.Lhs {
				if id, ok := l.(*ast.Ident); ok && id.Name != "_" {
					out[id.Name] = true
				}
			}
		}
		return true
	})
	return out
}

// configTypeRE matches type names of configuration structs.
var configTypeRE = regexp.MustCompile(`(Config|Conf|Options|Opts|Settings)$`)

// mentionsAny reports whether one of es refers to an identifier in names.
func mentionsAny(es []ast.Expr, names map[string]bool) bool {
	if len(names) == 0 {
		return false
	}
	found := false
	for _, e := range es {
		ast.Inspect(e, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && names[id.Name] {
				found = true
			}
			return !found
		})
	}
	return found
}

func anyMentionsError(es []ast.Expr) bool {
	for _, e := range es {
		if mentionsError(e) {
			return true
		}
	}
	return false
}

// mentionsError reports whether e refers to an error value: an identifier
// named err or ending in Err/Error, or a call building an error.
func mentionsError(e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.Ident:
			if isErrName(x.Name) {
				found = true
			}
		case *ast.SelectorExpr:
			if x.Sel.Name == "Errorf" || x.Sel.Name == "Err" {
				found = true
			}
			ast.Inspect(x.X, func(m ast.Node) bool {
				if id, ok := m.(*ast.Ident); ok && isErrName(id.Name) {
					found = true
				}
				return !found
			})
			return false
		}
		return !found
	})
	return found
}

func isErrName(n string) bool {
	if n == "err" || strings.HasSuffix(n, "Err") {
		return true
	}
	return len(n) > 3 && strings.HasPrefix(n, "err") && n[3] >= 'A' && n[3] <= 'Z'
}

// ExitInLibrary reports library code that exits the process.
var ExitInLibrary = &axes.Checker{
	Name:     "architecture/exit-in-library",
	Doc:      `Library code must not exit the process. log.Fatal and os.Exit in a non-main package (and log.Panic outside Must* functions and functions documented to panic) end the program without running deferred calls or letting the caller recover, log or retry; return an error and let main decide. Command packages (under cmd/, or named cmd or cli) and tests are not reported.`,
	Axis:     axes.Architecture,
	Severity: axes.SeverityWarning,
	Run:      runExitInLibrary,
}

// commandPackage reports whether g belongs to a command: package main, or a
// package under cmd/ or named like a CLI package.
func commandPackage(g *axes.GoFile) bool {
	switch g.AST.Name.Name {
	case "main", "cmd", "cli", "commands", "command":
		return true
	}
	return strings.HasPrefix(g.Path, "cmd/") || strings.Contains(g.Path, "/cmd/")
}

func runExitInLibrary(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(false) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if commandPackage(g) || testSupport(g) {
			continue
		}
		// Functions named Must* and functions documented to panic may
		// call log.Panic; nothing in a library may exit.
		mayPanic := map[ast.Node]bool{}
		for _, d := range g.AST.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
				n := fd.Name.Name
				if n == "init" || strings.HasPrefix(n, "Must") || strings.HasPrefix(n, "must") ||
					fd.Doc != nil && strings.Contains(strings.ToLower(fd.Doc.Text()), "panic") {
					mayPanic[fd.Body] = true
				}
			}
		}
		panicOK := false
		ast.Inspect(g.AST, func(n ast.Node) bool {
			if mayPanic[n] {
				panicOK = true
				ast.Inspect(n, func(m ast.Node) bool { exitCall(pass, g, m, true); return true })
				panicOK = false
				return false
			}
			exitCall(pass, g, n, panicOK)
			return true
		})
	}
	return nil
}

// exitCall reports n when it is a call that exits the program (log.Fatal*,
// os.Exit) or, unless panicOK, panics through log.Panic*.
func exitCall(pass *axes.Pass, g *axes.GoFile, n ast.Node, panicOK bool) {
	call, ok := n.(*ast.CallExpr)
	if !ok {
		return
	}
	p, name := g.PkgFunc(call)
	msg := ""
	switch {
	case p == "log" && strings.HasPrefix(name, "Fatal"):
		msg = "log." + name + " in library code ends the whole program, skipping deferred cleanup and taking the decision away from the caller; return an error and let main decide how to exit."
	case p == "os" && name == "Exit":
		msg = "os.Exit in library code ends the whole program, skipping deferred cleanup and taking the decision away from the caller; return an error and let main decide how to exit."
	case p == "log" && strings.HasPrefix(name, "Panic") && !panicOK:
		msg = "log." + name + " in library code panics, which crashes any program that calls it on an ordinary error; return the error (wrapped with context) and let the caller decide."
	default:
		return
	}
	from, to := g.Span(call)
	if !pass.AddedIn(g.Path, from, to) {
		return
	}
	pass.Report(axes.Finding{Path: g.Path, Line: from, EndLine: to, Message: msg})
}

// testSupport reports whether g is test support code (a package or file
// named for tests, such as unittest or testenv.go), where panics and exits
// end a test run on purpose.
func testSupport(g *axes.GoFile) bool {
	base := strings.ToLower(g.Path[strings.LastIndex(g.Path, "/")+1:])
	return strings.Contains(strings.ToLower(g.AST.Name.Name), "test") || strings.Contains(base, "test")
}
