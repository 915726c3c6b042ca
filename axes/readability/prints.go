package readability

import (
	"context"
	"go/ast"
	"regexp"
	"strconv"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
)

// DebugPrint reports prints to standard output left in library code.
var DebugPrint = &axes.Checker{
	Name: "readability/debug-print",
	Doc: "Debug print in library code. " +
		"fmt.Print, fmt.Println, fmt.Printf and the print and println builtins in a non-main package write " +
		"to the process's standard output on every call, pollute the output of every program that uses " +
		"the package and are usually left-over debugging; remove them or log through an injected logger.",
	Axis:     axes.Readability,
	Severity: axes.SeverityWarning,
	Run:      runDebugPrint,
}

// printerFuncPrefixes name functions whose job is to print.
var printerFuncPrefixes = []string{
	"Print", "print", "Dump", "dump", "Show", "show", "Display", "display", "Usage", "usage", "Help", "help",
	"Trace", "trace", "Debug", "debug", "Log", "log", "Verbose", "verbose",
}

// toolDirs are path elements of code that is run by hand, where printing is
// the point.
var toolDirs = []string{"cmd", "examples", "example", "tools", "scripts", "hack", "test", "testutil", "testing", "testhelper", "testhelpers"}

func runDebugPrint(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(false) {
		if !isLibraryFile(g) || inToolDir(g.Path) || allowed(pass.Settings.AllowPrintsIn, g.Path) {
			continue
		}
		imports := g.Imports()
		shadowed := map[string]bool{}
		for _, d := range g.AST.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil {
				shadowed[fd.Name.Name] = true
			}
		}
		for _, d := range g.AST.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil || isPrinterFunc(fd.Name.Name) {
				continue
			}
			reported := map[int]bool{}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if ifs, ok := n.(*ast.IfStmt); ok && isVerbosityCheck(ifs.Cond) {
					return false // printing is switched on deliberately
				}
				if b, ok := n.(*ast.BlockStmt); ok && endsProgram(imports, b) {
					return false // a diagnostic printed just before a panic or exit
				}
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				what, sev := "", axes.SeverityWarning
				switch fun := call.Fun.(type) {
				case *ast.Ident:
					if (fun.Name == "println" || fun.Name == "print") && !shadowed[fun.Name] {
						what = fun.Name
					}
				case *ast.SelectorExpr:
					p, f := axes.PkgSelector(imports, fun)
					switch {
					case p == "fmt" && (f == "Print" || f == "Println" || f == "Printf"):
						what = "fmt." + f
					case p == "fmt" && strings.HasPrefix(f, "Fprint") && len(call.Args) > 0 && isStdStream(imports, call.Args[0]):
						what = "fmt." + f + " to " + exprName(call.Args[0])
						if strings.HasSuffix(what, "Stderr") && deliberateDiagnostic(call.Args[1:]) {
							sev = axes.SeverityInfo // reporting a failure: often a deliberate diagnostic
						}
					case p == "github.com/davecgh/go-spew/spew" || p == "github.com/k0kubun/pp" || p == "github.com/k0kubun/pp/v3":
						what = p[strings.LastIndex(p, "/")+1:] + "." + f
					case p == "log" && (f == "Print" || f == "Println" || f == "Printf"):
						what = "log." + f
						if !looksLikeDebug(call) {
							sev = axes.SeverityInfo
						}
					}
				}
				line := g.Line(call.Pos())
				if what == "" || reported[line] {
					return true
				}
				reported[line] = true
				msg := what + " in library code writes to the process's output on every call and looks like " +
					"left-over debugging; remove it or log through a logger the caller provides."
				if strings.HasPrefix(what, "log.") && sev == axes.SeverityInfo {
					msg = what + " writes to the global logger from library code, which callers cannot silence or " +
						"route; return the information or accept a *slog.Logger instead."
				}
				pass.Report(axes.Finding{Path: g.Path, Line: line, EndLine: g.Line(call.End() - 1), Severity: sev, Message: msg})
				return true
			})
		}
	}
	return nil
}

func isPrinterFunc(name string) bool {
	for _, p := range printerFuncPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func inToolDir(p string) bool {
	base := p[strings.LastIndex(p, "/")+1:]
	if strings.HasPrefix(base, "test") || strings.Contains(base, "_test") || strings.Contains(base, "example") {
		return true // test helpers and examples
	}
	for _, el := range strings.Split(p, "/") {
		if strings.HasPrefix(el, "_") || strings.HasPrefix(el, ".") {
			return true // ignored by the go tool
		}
		for _, d := range toolDirs {
			if el == d {
				return true
			}
		}
	}
	return false
}

func allowed(patterns []string, p string) bool {
	for _, pat := range patterns {
		if axes.MatchPath(pat, p) {
			return true
		}
	}
	return false
}

// looksLikeDebug reports whether a log call's message reads like debugging
// output: "debug", "here", "got x =", or %#v / %+v dumps.
// diagnosticWords in a message say that it reports a failure.
var diagnosticWords = regexp.MustCompile(`(?i)\b(want|wanted|got|error|err|fail|failed|failure|warn|warning|panic|invalid|unexpected|deprecated|usage|cannot|can't)\b`)

// deliberateDiagnostic reports whether the arguments of a print to stderr
// look like a report of a failure rather than debugging: they mention an
// error value, the format is not a literal (a tracing helper's), or its
// words say what went wrong; unless they carry a debugging marker.
func deliberateDiagnostic(args []ast.Expr) bool {
	if len(args) == 0 {
		return false
	}
	if looksLikeDebug(&ast.CallExpr{Args: args}) {
		return false
	}
	if mentionsErr(args) {
		return true
	}
	lit, ok := args[0].(*ast.BasicLit)
	if !ok {
		return true
	}
	text, err := strconv.Unquote(lit.Value)
	return err != nil || diagnosticWords.MatchString(text)
}

// mentionsErr reports whether es mention an error value: err, fooErr,
// errFoo or err.Error().
func mentionsErr(es []ast.Expr) bool {
	found := false
	for _, e := range es {
		ast.Inspect(e, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok {
				l := id.Name
				if l == "err" || strings.HasPrefix(l, "err") && len(l) > 3 && l[3] >= 'A' && l[3] <= 'Z' || strings.HasSuffix(l, "Err") {
					found = true
				}
			}
			return !found
		})
	}
	return found
}

func looksLikeDebug(call *ast.CallExpr) bool {
	if len(call.Args) == 0 {
		return false
	}
	lit, ok := call.Args[0].(*ast.BasicLit)
	if !ok {
		return false
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil {
		return false
	}
	l := strings.ToLower(s)
	return strings.Contains(l, "debug") || strings.HasPrefix(l, "here") || strings.Contains(s, "%#v") ||
		strings.Contains(s, "%+v") || strings.Contains(l, ">>>") || strings.Contains(l, "xxx")
}

// isVerbosityCheck reports whether cond tests a debug, verbose or trace
// switch.
func isVerbosityCheck(cond ast.Expr) bool {
	found := false
	ast.Inspect(cond, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			l := strings.ToLower(id.Name)
			if strings.Contains(l, "debug") || strings.Contains(l, "verbose") || strings.Contains(l, "trac") ||
				l == "v" || strings.Contains(l, "print") || strings.HasPrefix(l, "log") && l != "log" {
				found = true
			}
		}
		if sel, ok := n.(*ast.SelectorExpr); ok && (sel.Sel.Name == "Getenv" || sel.Sel.Name == "LookupEnv") {
			found = true // switched on by an environment variable
		}
		return !found
	})
	return found
}

// endsProgram reports whether a block calls panic, os.Exit or log.Fatal
// directly.
func endsProgram(imports map[string]string, b *ast.BlockStmt) bool {
	for _, st := range b.List {
		es, ok := st.(*ast.ExprStmt)
		if !ok {
			continue
		}
		call, ok := es.X.(*ast.CallExpr)
		if !ok {
			continue
		}
		if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "panic" {
			return true
		}
		p, f := axes.PkgSelector(imports, call.Fun)
		if p == "os" && f == "Exit" || p == "log" && strings.HasPrefix(f, "Fatal") {
			return true
		}
	}
	return false
}

// isStdStream reports whether e is os.Stdout or os.Stderr.
func isStdStream(imports map[string]string, e ast.Expr) bool {
	p, n := axes.PkgSelector(imports, e)
	return p == "os" && (n == "Stdout" || n == "Stderr")
}

// exprName renders pkg.Name selectors for messages.
func exprName(e ast.Expr) string {
	if sel, ok := e.(*ast.SelectorExpr); ok {
		if id, ok := sel.X.(*ast.Ident); ok {
			return id.Name + "." + sel.Sel.Name
		}
	}
	return "a standard stream"
}
