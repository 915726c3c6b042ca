package correctness

import (
	"context"
	"fmt"
	"go/ast"
	"go/token"
	"path"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
)

// DiscardedError reports error results that are silently dropped.
var DiscardedError = &axes.Checker{
	Name: "correctness/discarded-error",
	Doc: "Error result silently discarded. " +
		"Calls whose error says the operation did not happen (decoding input, writing or renaming files, " +
		"committing a transaction, executing a statement, flushing or closing a file being written, " +
		"parsing a number) or same-package functions returning an error are called as plain statements " +
		"or assigned to _; the failure then goes unnoticed and the code carries on with missing or " +
		"zero data. Handle or return the error.",
	Axis:     axes.Correctness,
	Severity: axes.SeverityWarning,
	Run:      runDiscardedError,
}

// mustCheck lists package functions whose only or last result is an error
// that must not be dropped, with what they do, for the message.
var mustCheck = map[string]string{
	"encoding/json.Unmarshal":    "decoding",
	"encoding/xml.Unmarshal":     "decoding",
	"gopkg.in/yaml.v3.Unmarshal": "decoding",
	"gopkg.in/yaml.v2.Unmarshal": "decoding",
	"sigs.k8s.io/yaml.Unmarshal": "decoding",
	"os.WriteFile":               "writing",
	"io/ioutil.WriteFile":        "writing",
	"os.Rename":                  "renaming",
	"os.MkdirAll":                "creating the directory",
	"os.Mkdir":                   "creating the directory",
	"os.Chmod":                   "changing the mode",
	"os.Symlink":                 "linking",
	"os.Link":                    "linking",
	"os.Truncate":                "truncating",
}

// testOK lists the mustCheck kinds that are also reported in tests.
var testOK = map[string]bool{"decoding": true}

// parseFuncs are conversions whose error means the value is a meaningless
// zero; dropping it with "v, _ :=" hides bad input.
var parseFuncs = map[string]bool{
	"strconv.Atoi": true, "strconv.ParseInt": true, "strconv.ParseUint": true,
	"strconv.ParseFloat": true, "strconv.ParseBool": true, "time.Parse": true,
	"time.ParseDuration": true, "time.ParseInLocation": true,
}

// writerCtors create values whose Close, Flush or Write report write
// failures.
var writerCtors = map[string]bool{
	"os.Create": true, "os.OpenFile": true, "bufio.NewWriter": true, "bufio.NewWriterSize": true,
	"compress/gzip.NewWriter": true, "compress/gzip.NewWriterLevel": true, "archive/zip.NewWriter": true,
	"archive/tar.NewWriter": true, "compress/zlib.NewWriter": true, "os.CreateTemp": true,
}

// pkgErrFuncs finds the functions and methods declared in dir whose last
// result is error: plain names for functions, "Recv.Name" for methods.
func pkgErrFuncs(pass *axes.Pass, dir string) map[string]bool {
	out := map[string]bool{}
	for _, g := range pass.PackageFiles(dir) {
		for _, d := range g.AST.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || !axes.ReturnsError(fd.Type) {
				continue
			}
			if fd.Recv == nil {
				out[fd.Name.Name] = true
			} else if rt := axes.RecvTypeName(fd); rt != "" {
				out[rt+"."+fd.Name.Name] = true
			}
		}
	}
	return out
}

// recvName returns the name of a method's receiver variable, or "".
func recvName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 || len(fd.Recv.List[0].Names) == 0 {
		return ""
	}
	return fd.Recv.List[0].Names[0].Name
}

func runDiscardedError(ctx context.Context, pass *axes.Pass) error {
	pkgFuncs := map[string]map[string]bool{}
	for _, g := range pass.ChangedGoFiles(true) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		dir := path.Dir(g.Path)
		if pkgFuncs[dir] == nil {
			pkgFuncs[dir] = pkgErrFuncs(pass, dir)
		}
		imports := g.Imports()
		for _, fd := range funcDecls(g.AST) {
			checkDiscards(pass, g, imports, fd, pkgFuncs[dir])
		}
	}
	return nil
}

// discard is one dropped error.
type discard struct {
	what     string // "json.Unmarshal", "f.Close" ...
	explicit bool   // assigned to _ rather than called as a statement
	own      bool   // a function or method of the same package
	sev      axes.Severity
	msg      string
}

func checkDiscards(pass *axes.Pass, g *axes.GoFile, imports map[string]string, fd *ast.FuncDecl, pkgFuncs map[string]bool) {
	// Values that write: from os.Create, bufio.NewWriter, ...; decoders;
	// transactions.
	writers, decoders, txs, queries := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || len(as.Rhs) != 1 {
			return true
		}
		call, ok := as.Rhs[0].(*ast.CallExpr)
		if !ok || len(as.Lhs) == 0 {
			return true
		}
		name := exprText(as.Lhs[0])
		if name == "" || name == "_" {
			return true
		}
		p, f := axes.PkgSelector(imports, call.Fun)
		switch {
		case writerCtors[p+"."+f]:
			writers[name] = true
		case f == "NewDecoder" && (p == "encoding/json" || p == "encoding/xml" || strings.HasPrefix(p, "gopkg.in/yaml")):
			decoders[name] = true
		case methodName(call) == "Begin" || methodName(call) == "BeginTx":
			txs[name] = true
		case isQueryCall(call):
			queries[name] = true
		}
		return true
	})
	recv, recvType := recvName(fd), axes.RecvTypeName(fd)
	params := map[string]bool{}
	if fd.Type.Params != nil {
		for _, f := range fd.Type.Params.List {
			for _, id := range f.Names {
				params[id.Name] = true
			}
		}
	}

	// dataLoss rates a dropped error that leaves the code working on zero
	// data (a failed decode or scan): an error outside tests.
	dataLoss := func(yes bool) axes.Severity {
		if yes && !g.IsTest {
			return axes.SeverityError
		}
		return ""
	}
	failing := failurePathCalls(fd.Body)
	classify := func(call *ast.CallExpr) *discard {
		p, f := axes.PkgSelector(imports, call.Fun)
		if p == "io" && (f == "Copy" || f == "CopyN" || f == "WriteString") && !g.IsTest && len(call.Args) > 0 && writers[exprText(call.Args[0])] {
			return &discard{what: "io." + f, msg: "the error from io." + f + " into " + exprText(call.Args[0]) +
				" is dropped, so a failed write leaves a truncated file without anyone knowing; check it."}
		}
		if p != "" {
			short := path.Base(p) + "." + f
			if kind, ok := mustCheck[p+"."+f]; ok && (!g.IsTest || testOK[kind]) {
				return &discard{what: short, sev: dataLoss(kind == "decoding"), msg: "the error from " + short + " is dropped, so a failure in " + kind +
					" goes unnoticed and the code carries on with missing data; handle or return it."}
			}
			return nil
		}
		switch fun := call.Fun.(type) {
		case *ast.Ident:
			if !g.IsTest && pkgFuncs[fun.Name] {
				return &discard{what: fun.Name, own: true, sev: ownSeverity(fun.Name), msg: "the error returned by " + fun.Name + " is dropped here, so its failure " +
					"goes unnoticed; handle or return it."}
			}
		case *ast.SelectorExpr:
			m := fun.Sel.Name
			x := exprText(fun.X)
			switch {
			case m == "Scan" && len(call.Args) > 0 && (queries[x] || isQueryRowCall(fun.X)):
				return &discard{what: "Scan", sev: dataLoss(true), msg: "the error from Scan is dropped, so a failed read or type mismatch " +
					"leaves the destination variables at their zero values; check it."}
			case m == "Decode" && (decoders[x] || isDecoderCtor(imports, fun.X)):
				return &discard{what: "Decode", sev: dataLoss(true), msg: "the error from Decode is dropped, so malformed or truncated input " +
					"is silently treated as empty; handle or return it."}
			case g.IsTest:
				return nil
			case (m == "Close" || m == "Flush" || m == "Sync") && len(call.Args) == 0 && writers[x] && !failing[call]:
				return &discard{what: x + "." + m, msg: "the error from " + x + "." + m + " is dropped, but for a file " +
					"being written it is where write failures (a full disk, a lost NFS server) are reported; check it " +
					"and return it."}
			case m == "Write" && writers[x]:
				return &discard{what: x + ".Write", msg: "the error from " + x + ".Write is dropped, so a failed write " +
					"leaves a truncated file without anyone knowing; check it."}
			case m == "Commit" && len(call.Args) == 0 && txs[x]:
				return &discard{what: x + ".Commit", sev: axes.SeverityError, msg: "the error from " + x +
					".Commit is dropped, so a failed commit is reported as success and the changes are lost; " +
					"return it."}
			case (m == "Exec" || m == "ExecContext") && len(call.Args) >= 1:
				return &discard{what: x + "." + m, msg: "the error from " + m + " is dropped, so a failed write to the " +
					"database goes unnoticed; check it."}
			case recv != "" && x == recv && pkgFuncs[recvType+"."+m]:
				return &discard{what: x + "." + m, own: true, sev: ownSeverity(m), msg: "the error returned by " + x + "." + m + " is dropped here, so its " +
					"failure goes unnoticed; handle or return it."}
			}
		}
		return nil
	}

	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.DeferStmt, *ast.GoStmt:
			return false
		case *ast.ExprStmt:
			call, ok := n.X.(*ast.CallExpr)
			if !ok {
				return true
			}
			if d := classify(call); d != nil {
				report(pass, g, n, d)
			}
		case *ast.AssignStmt:
			if len(n.Rhs) != 1 {
				return true
			}
			call, ok := n.Rhs[0].(*ast.CallExpr)
			if !ok {
				return true
			}
			last, ok := n.Lhs[len(n.Lhs)-1].(*ast.Ident)
			if !ok || last.Name != "_" {
				return true
			}
			p, f := axes.PkgSelector(imports, call.Fun)
			if !g.IsTest && len(n.Lhs) == 2 && parseFuncs[p+"."+f] && len(call.Args) > 0 && isExternalInput(call.Args[0], params) {
				report(pass, g, n, &discard{what: path.Base(p) + "." + f, explicit: true,
					msg: "the error from " + path.Base(p) + "." + f + " is dropped, so invalid input silently becomes " +
						"the zero value; handle the error or report the bad input."})
				return true
			}
			if d := classify(call); d != nil {
				d.explicit = true
				report(pass, g, n, d)
			}
		}
		return true
	})
}

// failurePathCalls returns the calls made as plain statements in the body of
// an "if x != nil" branch that ends by returning a non-nil error: cleanup on
// a path that already reports a failure, such as f.Close() before
// "return err" after a failed write, where a second error adds nothing.
func failurePathCalls(body *ast.BlockStmt) map[*ast.CallExpr]bool {
	m := map[*ast.CallExpr]bool{}
	ast.Inspect(body, func(n ast.Node) bool {
		is, ok := n.(*ast.IfStmt)
		if !ok || !checksNonNil(is.Cond) || len(is.Body.List) == 0 {
			return true
		}
		ret, ok := is.Body.List[len(is.Body.List)-1].(*ast.ReturnStmt)
		if !ok || len(ret.Results) == 0 {
			return true
		}
		if id, ok := ret.Results[len(ret.Results)-1].(*ast.Ident); ok && id.Name == "nil" {
			return true
		}
		for _, st := range is.Body.List {
			if es, ok := st.(*ast.ExprStmt); ok {
				if call, ok := es.X.(*ast.CallExpr); ok {
					m[call] = true
				}
			}
		}
		return true
	})
	return m
}

// checksNonNil reports whether cond contains a comparison "x != nil".
func checksNonNil(cond ast.Expr) bool {
	found := false
	ast.Inspect(cond, func(n ast.Node) bool {
		if b, ok := n.(*ast.BinaryExpr); ok && b.Op == token.NEQ {
			if id, ok := b.Y.(*ast.Ident); ok && id.Name == "nil" {
				found = true
			}
		}
		return !found
	})
	return found
}

func isDecoderCtor(imports map[string]string, e ast.Expr) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	p, f := axes.PkgSelector(imports, call.Fun)
	return f == "NewDecoder" && (p == "encoding/json" || p == "encoding/xml" || strings.HasPrefix(p, "gopkg.in/yaml"))
}

func report(pass *axes.Pass, g *axes.GoFile, n ast.Node, d *discard) {
	a, b := g.Span(n)
	if explained(g, a, b) {
		return // a comment says why the error is ignored
	}
	sev := d.sev
	if d.explicit && d.own {
		// "_ =" on the package's own function is a visible decision.
		sev = axes.SeverityInfo
	}
	msg := strings.ToUpper(d.msg[:1]) + d.msg[1:]
	pass.Report(axes.Finding{Path: g.Path, Line: a, EndLine: b, Severity: sev, Message: msg})
}

// NilErrorAfterCheck reports returning nil, or another error variable,
// right after checking that err is not nil.
var NilErrorAfterCheck = &axes.Checker{
	Name: "correctness/nil-error-after-check",
	Doc: "Error checked, then nil or another error returned. " +
		"Inside \"if err != nil {\" a function that returns an error returns nil (the failure is swallowed " +
		"and the caller sees success) or a different error variable (usually nil at that point); return err, " +
		"wrapped with context.",
	Axis:     axes.Correctness,
	Severity: axes.SeverityWarning,
	Run:      runNilErrorAfterCheck,
}

// errNotNil returns the error variable of a condition "x != nil", or "".
func errNotNil(cond ast.Expr) string {
	be, ok := cond.(*ast.BinaryExpr)
	if !ok || be.Op != token.NEQ {
		return ""
	}
	x, ok1 := be.X.(*ast.Ident)
	y, ok2 := be.Y.(*ast.Ident)
	if !ok1 || !ok2 || y.Name != "nil" || !isErrName(x.Name) {
		return ""
	}
	return x.Name
}

func runNilErrorAfterCheck(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(true) {
		for _, fn := range allFuncs(g.AST) {
			if !axes.ReturnsError(fn.Type) {
				continue
			}
			nres := resultCount(fn.Type)
			checked := map[string]token.Pos{} // error variables already returned on
			locals := axes.LocalNames(fn.Type, fn.Body)
			params := map[string]bool{}
			for _, f := range fn.Type.Params.List {
				for _, id := range f.Names {
					params[id.Name] = true
				}
			}
			inspectShallow(fn.Body, func(n ast.Node) bool {
				ifs, ok := n.(*ast.IfStmt)
				if !ok {
					return true
				}
				errVar := errNotNil(ifs.Cond)
				if errVar == "" || params[errVar] {
					return true // an error handed in (a walk callback) may be skipped on purpose
				}
				for _, st := range ifs.Body.List {
					ret, ok := st.(*ast.ReturnStmt)
					if !ok || len(ret.Results) != nres {
						if ok && len(ret.Results) == 0 {
							break
						}
						continue
					}
					last, ok := ret.Results[nres-1].(*ast.Ident)
					if !ok {
						break
					}
					line := g.Line(ret.Pos())
					switch {
					case last.Name == "nil":
						sev := axes.SeverityWarning
						if len(ifs.Body.List) > 1 || hasComment(g, ifs.Body) || commentBefore(g, ifs, 3, ignoreWords) ||
							returnsEarlierData(fn.Body, ifs, errVar, ret.Results[:nres-1]) ||
							fn.Decl != nil && fn.Decl.Doc != nil && strings.Contains(fn.Decl.Doc.Text(), "nil") {
							sev = axes.SeverityInfo // a deliberate fallback, judging by the comments around it
						}
						f := axes.Finding{Path: g.Path, Line: line, Severity: sev,
							Message: "This returns a nil error right after " + errVar + " != nil, so the failure is swallowed " +
								"and the caller carries on as if it succeeded; return " + errVar + " (wrapped with context) " +
								"or, if ignoring it is intended, say why in a comment."}
						if sev == axes.SeverityWarning {
							f.Suggestion = replaceIdent(g, ret, last, errVar)
							if n := reportsErrors(fn.Body, ifs, nres); n > 0 {
								// The function reports its other failures, so
								// this one is an oversight, not a policy.
								f.Severity = axes.SeverityError
								f.Message += fmt.Sprintf(" The function's %d other failure paths return an error.", n)
							}
						}
						pass.Report(f)
					case isErrName(last.Name) && last.Name != errVar && !assignedIn(ifs.Body, last.Name) &&
						locals[last.Name] && knownNil(fn.Body, checked, last.Name, ifs):
						pass.Report(axes.Finding{Path: g.Path, Line: line, Severity: axes.SeverityError,
							Message: "The check is on " + errVar + " but the function returns " + last.Name +
								", which is typically nil here, so the failure is lost; return " + errVar + ".",
							Suggestion: replaceIdent(g, ret, last, errVar)})
					}
					break
				}
				if endsInReturn(ifs.Body) {
					checked[errVar] = ifs.End()
				}
				return true
			})
		}
	}
	return nil
}

// reportsErrors counts the returns of body, outside skip and its nested
// functions, whose error result (index nres-1) is built or passed on: an
// errors.New or fmt.Errorf call, a sentinel Err value, or an error variable.
func reportsErrors(body *ast.BlockStmt, skip ast.Node, nres int) int {
	n := 0
	ast.Inspect(body, func(x ast.Node) bool {
		switch r := x.(type) {
		case *ast.FuncLit:
			return false
		case *ast.ReturnStmt:
			if len(r.Results) != nres || r.Pos() >= skip.Pos() && r.End() <= skip.End() {
				return true
			}
			switch e := r.Results[nres-1].(type) {
			case *ast.CallExpr:
				if name := axes.CalleeName(e); name == "Errorf" || name == "New" || name == "Join" || strings.HasPrefix(name, "Wrap") {
					n++
				}
			case *ast.Ident:
				if e.Name != "nil" && (isErrName(e.Name) || strings.HasPrefix(e.Name, "Err")) {
					n++
				}
			case *ast.SelectorExpr:
				if strings.HasPrefix(e.Sel.Name, "Err") {
					n++
				}
			}
		}
		return true
	})
	return n
}

// returnsEarlierData reports whether results (the non-error results of a
// return inside "if errVar != nil") hand back a variable obtained before the
// failed call, such as a cached value: a deliberate fallback to data the
// function already has, not a swallowed failure with zero values.
func returnsEarlierData(body *ast.BlockStmt, ifs *ast.IfStmt, errVar string, results []ast.Expr) bool {
	// The assignment that produced errVar: the if's init, or the last one
	// before the if.
	var last *ast.AssignStmt
	if as, ok := ifs.Init.(*ast.AssignStmt); ok {
		last = as
	} else {
		inspectShallow(body, func(n ast.Node) bool {
			if as, ok := n.(*ast.AssignStmt); ok && as.End() <= ifs.Pos() {
				for _, l := range as.Lhs {
					if id, ok := l.(*ast.Ident); ok && id.Name == errVar && (last == nil || as.Pos() > last.Pos()) {
						last = as
					}
				}
			}
			return true
		})
	}
	if last == nil {
		return false
	}
	for _, r := range results {
		id, ok := r.(*ast.Ident)
		if !ok || id.Name == "nil" || id.Name == "true" || id.Name == "false" || id.Name == "_" {
			continue
		}
		if assignedIn(last, id.Name) || !assignedBefore(body, id.Name, last.Pos()) {
			continue
		}
		return true
	}
	return false
}

// assignedBefore reports whether body assigns name before pos.
func assignedBefore(body *ast.BlockStmt, name string, pos token.Pos) bool {
	found := false
	inspectShallow(body, func(n ast.Node) bool {
		if as, ok := n.(*ast.AssignStmt); ok && as.Pos() < pos && assignedIn(as, name) {
			found = true
		}
		return !found
	})
	return found
}

func endsInReturn(b *ast.BlockStmt) bool {
	if len(b.List) == 0 {
		return false
	}
	_, ok := b.List[len(b.List)-1].(*ast.ReturnStmt)
	return ok
}

// assignedIn reports whether n assigns to the identifier name.
func assignedIn(n ast.Node, name string) bool {
	found := false
	ast.Inspect(n, func(x ast.Node) bool {
		if as, ok := x.(*ast.AssignStmt); ok {
			for _, l := range as.Lhs {
				if id, ok := l.(*ast.Ident); ok && id.Name == name {
					found = true
				}
			}
		}
		return !found
	})
	return found
}

// hasComment reports whether a comment lies inside n.
func hasComment(g *axes.GoFile, n ast.Node) bool {
	for _, cg := range g.AST.Comments {
		if cg.Pos() > n.Pos() && cg.End() < n.End() {
			return true
		}
	}
	return false
}

// failureVerbs start the names of functions whose failure matters: they
// write, send, validate or load something.
var failureVerbs = []string{
	"save", "write", "store", "update", "insert", "delete", "remove", "create", "send", "publish",
	"commit", "flush", "close", "put", "exec", "apply", "sync", "persist", "upload", "migrate",
	"validate", "verify", "check", "load", "read", "parse", "decode", "unmarshal", "open", "register",
	"enqueue", "notify", "charge", "transfer", "refund", "pay", "deliver", "import", "export", "copy",
	"move", "rename", "lock", "reserve", "book", "cancel", "set",
}

// ownSeverity is the severity for dropping the error of a same-package
// function: a warning when its name says it does something that can fail
// in a way the caller must know about, info otherwise.
func ownSeverity(name string) axes.Severity {
	l := strings.ToLower(name)
	for _, v := range failureVerbs {
		if strings.HasPrefix(l, v) {
			return axes.SeverityWarning
		}
	}
	return axes.SeverityInfo
}

// explained reports whether a comment sits on lines from..to or on the
// line just above, which usually says why an error is ignored.
func explained(g *axes.GoFile, from, to int) bool {
	for _, cg := range g.AST.Comments {
		start, end := g.Line(cg.Pos()), g.Line(cg.End())
		if start >= from && start <= to {
			return true // a trailing comment on the statement
		}
		if end >= from-1-discardRunAbove(g, from) && end < from && justifies(cg.Text(), ignoreWords) {
			return true // just above the statement, or above a run of such discards it belongs to
		}
	}
	return false
}

// discardRunAbove counts the lines directly above line that also discard a
// result with "_": one comment may explain a run of them.
func discardRunAbove(g *axes.GoFile, line int) int {
	n := 0
	for l := line - 1; l > 0; l-- {
		t := g.LineText(l)
		if !strings.Contains(t, ", _ :=") && !strings.Contains(t, ", _ =") && !strings.HasPrefix(strings.TrimSpace(t), "_ =") {
			break
		}
		n++
	}
	return n
}

// Words with which comments justify ignoring an error.
var (
	ignoreWords = []string{"ignor", "best effort", "best-effort", "fatal", "error", "err ", "fail", "skip", "don't care", "safe",
		"default", "malformed", "invalid", "fall back", "fallback", "become 0", "becomes 0", "zero"}
)

// justifies reports whether comment text contains one of words.
func justifies(text string, words []string) bool {
	t := strings.ToLower(text)
	for _, w := range words {
		if strings.Contains(t, w) {
			return true
		}
	}
	return false
}

// isExternalInput reports whether e is data from outside the program's
// control: a parameter of the function, or a request, form, header or
// environment lookup.
func isExternalInput(e ast.Expr, params map[string]bool) bool {
	switch x := unparen(e).(type) {
	case *ast.Ident:
		return params[x.Name]
	case *ast.CallExpr:
		switch methodName(x) {
		case "Get", "FormValue", "PostFormValue", "PathValue", "Getenv", "Header", "Param", "Query", "Value":
			return true
		}
		// strings.TrimSpace(param) and the like
		for _, a := range x.Args {
			if isExternalInput(a, params) {
				return true
			}
		}
	case *ast.IndexExpr:
		// r.URL.Query()["n"][0], args[1]
		if id, ok := x.X.(*ast.Ident); ok && params[id.Name] {
			return true
		}
		if sel, ok := x.X.(*ast.SelectorExpr); ok && (sel.Sel.Name == "Args" || sel.Sel.Name == "Form") {
			return true
		}
		if inner, ok := x.X.(*ast.CallExpr); ok {
			return isExternalInput(inner, params)
		}
	}
	return false
}

// knownNil reports whether name was checked by an earlier "if name != nil
// { ... return }" and not assigned again before ifs, so it is nil there.
func knownNil(body *ast.BlockStmt, checked map[string]token.Pos, name string, ifs *ast.IfStmt) bool {
	end, ok := checked[name]
	if !ok || end > ifs.Pos() {
		return false
	}
	reassigned := false
	ast.Inspect(body, func(n ast.Node) bool {
		if as, ok := n.(*ast.AssignStmt); ok && as.Pos() > end && as.Pos() < ifs.Pos() {
			for _, l := range as.Lhs {
				if id, ok := l.(*ast.Ident); ok && id.Name == name {
					reassigned = true
				}
			}
		}
		return !reassigned
	})
	if ifs.Init != nil && assignedIn(ifs.Init, name) {
		return false
	}
	return !reassigned
}

// commentBefore reports whether a comment containing one of words ends
// within the n lines above node.
func commentBefore(g *axes.GoFile, node ast.Node, n int, words []string) bool {
	line := g.Line(node.Pos())
	for _, cg := range g.AST.Comments {
		if l := g.Line(cg.End()); l < line && l >= line-n && justifies(cg.Text(), words) {
			return true
		}
	}
	return false
}

// isQueryCall reports whether call is a database query method.
func isQueryCall(call *ast.CallExpr) bool {
	switch methodName(call) {
	case "Query", "QueryContext", "QueryRow", "QueryRowContext":
		return len(call.Args) > 0
	}
	return false
}

// isQueryRowCall reports whether e is a call x.QueryRow(...) or
// x.QueryRowContext(...).
func isQueryRowCall(e ast.Expr) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	m := methodName(call)
	return (m == "QueryRow" || m == "QueryRowContext") && len(call.Args) > 0
}
