package analyzers

import (
	"sort"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/appends"
	"golang.org/x/tools/go/analysis/passes/assign"
	"golang.org/x/tools/go/analysis/passes/atomic"
	"golang.org/x/tools/go/analysis/passes/bools"
	"golang.org/x/tools/go/analysis/passes/copylock"
	"golang.org/x/tools/go/analysis/passes/defers"
	"golang.org/x/tools/go/analysis/passes/errorsas"
	"golang.org/x/tools/go/analysis/passes/httpresponse"
	"golang.org/x/tools/go/analysis/passes/ifaceassert"
	"golang.org/x/tools/go/analysis/passes/loopclosure"
	"golang.org/x/tools/go/analysis/passes/lostcancel"
	"golang.org/x/tools/go/analysis/passes/nilfunc"
	"golang.org/x/tools/go/analysis/passes/nilness"
	"golang.org/x/tools/go/analysis/passes/printf"
	"golang.org/x/tools/go/analysis/passes/shift"
	"golang.org/x/tools/go/analysis/passes/sigchanyzer"
	"golang.org/x/tools/go/analysis/passes/slog"
	"golang.org/x/tools/go/analysis/passes/stdmethods"
	"golang.org/x/tools/go/analysis/passes/stringintconv"
	"golang.org/x/tools/go/analysis/passes/structtag"
	"golang.org/x/tools/go/analysis/passes/testinggoroutine"
	"golang.org/x/tools/go/analysis/passes/tests"
	"golang.org/x/tools/go/analysis/passes/timeformat"
	"golang.org/x/tools/go/analysis/passes/unmarshal"
	"golang.org/x/tools/go/analysis/passes/unreachable"
	"golang.org/x/tools/go/analysis/passes/unsafeptr"
	"golang.org/x/tools/go/analysis/passes/unusedresult"
	"golang.org/x/tools/go/analysis/passes/waitgroup"
	"honnef.co/go/tools/staticcheck"

	"github.com/fiveaxis/fiveaxis/axes"
)

// Rule is one analyzer as fiveaxis reports it: the finding's rule id, axis,
// default severity and the one-line reason appended to the analyzer's own
// message.
type Rule struct {
	// ID is the finding's rule id, "<axis>/vet-<analyzer>",
	// "<axis>/staticcheck-<check>" or "security/gosec-<rule>".
	ID       string
	Axis     axes.Axis
	Severity axes.Severity
	// Why is one sentence on why the diagnostic matters.
	Why string
	// Class names the bug class for de-duplication against the AST rules;
	// see Dedupe. Empty when no AST rule covers it.
	Class string

	analyzer *analysis.Analyzer
	// category, when set, selects the analyzer's diagnostics whose Category
	// is this (gosec reports all its rules through one analyzer).
	category string
	// tag, if set, names the check after the message, e.g. "(staticcheck
	// SA5000)".
	tag string
	// errorWhen, if set, promotes a diagnostic to SeverityError when its
	// message contains the string.
	errorWhen string
}

// Analyzer returns the go/analysis analyzer behind the rule.
func (r Rule) Analyzer() *analysis.Analyzer { return r.analyzer }

// vet builds the rule for one pass of the go vet suite.
func vet(a *analysis.Analyzer, axis axes.Axis, sev axes.Severity, class, why string) Rule {
	return Rule{ID: string(axis) + "/vet-" + a.Name, Axis: axis, Severity: sev, Why: why, Class: class, analyzer: a}
}

// vetRules lists the go vet passes fiveaxis runs: the default `go vet`
// suite, minus the ones about assembly, cgo and build files, plus nilness
// and waitgroup.
func vetRules() []Rule {
	const (
		c = axes.Correctness
		r = axes.Readability
		e = axes.SeverityError
		w = axes.SeverityWarning
	)
	nil1 := vet(nilness.Analyzer, c, w, "nil-deref", "Type-checked data flow shows the value is always nil there, so the code panics or the branch is dead.")
	nil1.errorWhen = "nil dereference"
	return []Rule{
		vet(appends.Analyzer, c, w, "", "append with a single argument adds nothing; the values meant to be appended are missing."),
		vet(assign.Analyzer, c, w, "", "A self-assignment has no effect and usually hides a typo."),
		vet(atomic.Analyzer, c, e, "", "Assigning the result of an atomic operation to the same variable is a data race that defeats the atomic."),
		vet(bools.Analyzer, c, w, "", "The boolean expression is redundant or always has the same value."),
		vet(copylock.Analyzer, c, e, "copylock", "A copied lock guards nothing: the copy and the original no longer exclude each other; pass a pointer."),
		vet(defers.Analyzer, c, w, "", "Arguments of a deferred call are evaluated at the defer statement, not when the call runs."),
		vet(errorsas.Analyzer, c, e, "", "errors.As panics unless its second argument is a non-nil pointer to an interface or to a type implementing error."),
		vet(httpresponse.Analyzer, c, e, "defer-before-check", "The response is used before the error is checked, so a failed request dereferences a nil response."),
		vet(ifaceassert.Analyzer, c, w, "", "This type assertion can never succeed, so its branch is dead or it always panics."),
		vet(loopclosure.Analyzer, c, w, "", "The closure captures a loop variable that the loop keeps changing."),
		vet(lostcancel.Analyzer, c, e, "lost-cancel", "The context's cancel function is not called on every path, so its resources leak until the parent is cancelled; defer cancel()."),
		vet(nilfunc.Analyzer, c, w, "", "Comparing a function with nil is always false (or true): the call was probably forgotten."),
		nil1,
		vet(printf.Analyzer, c, w, "", "The format verbs do not match the arguments, so the output is garbled or the call misbehaves."),
		vet(shift.Analyzer, c, e, "", "The shift count is at least the operand's width, so the result is always zero."),
		vet(sigchanyzer.Analyzer, c, w, "", "signal.Notify on an unbuffered channel can drop the signal; give the channel a buffer of 1."),
		vet(slog.Analyzer, c, w, "", "slog key-value arguments are mismatched, so attributes come out as !BADKEY."),
		vet(stdmethods.Analyzer, c, w, "", "The method has a well-known name but the wrong signature, so the interface it was meant for is not satisfied."),
		vet(stringintconv.Analyzer, c, w, "", "string(int) yields a rune, not decimal digits; use strconv.Itoa or string(rune(x))."),
		vet(structtag.Analyzer, c, w, "", "The struct tag is malformed or duplicated, so encoders ignore it."),
		vet(testinggoroutine.Analyzer, c, e, "", "t.Fatal and FailNow must run on the test's goroutine; from another goroutine they do not stop the test."),
		vet(tests.Analyzer, c, w, "", "A malformed test, benchmark, fuzz test or example is silently not run."),
		vet(timeformat.Analyzer, c, w, "", "The layout uses 2006-02-01 (year-day-month), which is almost always a mistake for 2006-01-02."),
		vet(unmarshal.Analyzer, c, e, "", "Unmarshal into a non-pointer cannot store anything and returns an error at run time."),
		vet(unreachable.Analyzer, r, w, "", "Unreachable code is dead; remove it or fix the control flow that skips it."),
		vet(unsafeptr.Analyzer, c, w, "", "Converting an integer back to unsafe.Pointer this way is invalid: the garbage collector may move or free the object."),
		vet(unusedresult.Analyzer, c, w, "discarded-result", "The call has no effect other than its result, which is discarded."),
		vet(waitgroup.Analyzer, c, e, "wg-add", "WaitGroup.Add inside the goroutine races with Wait; call Add before the go statement."),
	}
}

// staticcheck checks that fiveaxis does not run: non-default ones, those
// duplicating a vet pass (SA5009 is printf), and those obsolete since the Go
// versions fiveaxis supports (SA1015: time.Tick no longer leaks).
// SA2000 and SA2002 are the vet passes waitgroup and testinggoroutine.
var staticcheckSkip = map[string]bool{"SA5009": true, "SA1015": true, "SA2000": true, "SA2002": true}

// staticcheckErrors are the staticcheck checks whose findings are real bugs.
var staticcheckErrors = map[string]bool{
	"SA1000": true, // invalid regular expression
	"SA1001": true, // invalid template
	"SA1002": true, // invalid time.Parse layout
	"SA1014": true, // non-pointer passed to Unmarshal
	"SA2000": true, // wg.Add inside the goroutine
	"SA2002": true, // t.FailNow in a goroutine
	"SA2003": true, // defer Lock right after Lock
	"SA5000": true, // assignment to a nil map
	"SA5001": true, // defer Close before checking the error
	"SA5007": true, // infinite recursion
	"SA5011": true, // nil pointer dereference after a nil check
}

// staticcheckClass links staticcheck checks to the AST rules' bug classes.
var staticcheckClass = map[string]string{
	"SA5000": "nil-deref",
	"SA5001": "defer-before-check",
	"SA5011": "nil-deref",
	"SA4017": "discarded-result",
	"SA6000": "regexp-per-call",
}

// staticcheckRules lists the SA (bug) checks of staticcheck, mapped to axes:
// SA6 (performance) to performance, SA1019 (use of deprecated API) to
// readability, the rest to correctness.
func staticcheckRules() []Rule {
	var out []Rule
	for _, a := range staticcheck.Analyzers {
		name := a.Analyzer.Name
		if staticcheckSkip[name] || a.Doc.NonDefault {
			continue
		}
		ru := Rule{Axis: axes.Correctness, Severity: axes.SeverityWarning, Class: staticcheckClass[name], analyzer: a.Analyzer}
		switch {
		case strings.HasPrefix(name, "SA6"):
			ru.Axis, ru.Severity = axes.Performance, axes.SeverityInfo
		case name == "SA1019":
			ru.Axis, ru.Severity = axes.Readability, axes.SeverityInfo
		case staticcheckErrors[name]:
			ru.Severity = axes.SeverityError
		}
		ru.ID = string(ru.Axis) + "/staticcheck-" + strings.ToLower(name)
		ru.Why = strings.ReplaceAll(strings.TrimSpace(firstLine(a.Doc.Title)), "\\", "")
		ru.tag = "(staticcheck " + name + ")"
		out = append(out, ru)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
