// Package analyzers runs type-checked static analysis on the packages a PR
// changes: the go vet suite (golang.org/x/tools/go/analysis/passes),
// staticcheck's SA checks (honnef.co/go/tools) and a few gosec rules
// (github.com/securego/gosec/v2), through golang.org/x/tools/go/analysis/checker.
//
// The checker writes the head tree's files needed to load the changed
// packages (their Go files, the module's go.mod and go.sum, the Go files of
// the same-module packages they import, and embedded files) to a temporary
// directory, loads them with go/packages without network access, and maps
// each diagnostic to an axis and a rule id ("correctness/vet-lostcancel",
// "correctness/staticcheck-sa5001", "security/gosec-g201"). When the
// packages do not load (a module missing from the module cache, a syntax or
// type error, a tree too large) or the time budget runs out, it says so in a
// note and reports nothing: the AST rules still run.
package analyzers

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"golang.org/x/tools/go/analysis"

	"github.com/fiveaxis/fiveaxis/axes"
)

// Options configure the analyzers. Zero values mean defaults.
type Options struct {
	// Timeout is the budget for loading and analysis (default 60s). It is
	// also kept a little under the checker's own deadline, so that the
	// checker can note a timeout instead of being cut off.
	Timeout time.Duration
	// MaxFiles and MaxBytes bound what is written to disk to load the
	// changed packages (default 20000 files, 256 MiB); beyond them the
	// analyzers are skipped with a note.
	MaxFiles int
	MaxBytes int64
	// Disabled lists rule ids ("correctness/vet-printf"), axis patterns
	// ("security/*" or "security") or suites ("vet", "staticcheck",
	// "gosec") that do not run.
	Disabled []string
	// GoCommand is the go command to run (default "go" from PATH).
	GoCommand string
}

func (o Options) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return 60 * time.Second
}

func (o Options) maxFiles() int {
	if o.MaxFiles > 0 {
		return o.MaxFiles
	}
	return 20000
}

func (o Options) maxBytes() int64 {
	if o.MaxBytes > 0 {
		return o.MaxBytes
	}
	return 256 << 20
}

// CheckerName is the name of the analyzers' checker.
const CheckerName = "correctness/analyzers"

// Rules returns every rule the analyzers can report, enabled by opts, sorted
// by id.
func Rules(opts Options) []Rule {
	gs := newGosecAnalyzer()
	var out []Rule
	for _, suite := range []struct {
		name  string
		rules []Rule
	}{{"vet", vetRules()}, {"staticcheck", staticcheckRules()}, {"gosec", gosecRules(gs)}} {
		for _, r := range suite.rules {
			if !disabled(opts.Disabled, suite.name, r.ID) {
				out = append(out, r)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func disabled(patterns []string, suite, id string) bool {
	axis, _, _ := strings.Cut(id, "/")
	for _, p := range patterns {
		if p == id || p == suite || p == axis || p == axis+"/*" {
			return true
		}
	}
	return false
}

// Checkers returns the type-checked analyzers as one checker. It loads the
// changed packages once and reports on every axis: each finding carries its
// own rule id and axis.
func Checkers(opts Options) []*axes.Checker {
	rules := Rules(opts)
	return []*axes.Checker{{
		Name: CheckerName,
		Doc: "Type-checked analyzers (go vet, staticcheck SA checks, selected gosec rules) on the changed packages. " +
			"Findings carry the analyzer's rule id, e.g. correctness/vet-lostcancel, and their own axis; " +
			"when the packages do not load, the analyzers are skipped with a note.",
		Axis:     axes.Correctness,
		Severity: axes.SeverityWarning,
		Run: func(ctx context.Context, pass *axes.Pass) error {
			run(ctx, pass, opts, rules)
			return nil
		},
	}}
}

// run loads, analyzes and reports. It never fails the review: every problem
// becomes a note.
func run(ctx context.Context, pass *axes.Pass, opts Options, rules []Rule) {
	if len(rules) == 0 {
		return
	}
	budget := opts.timeout()
	if dl, ok := ctx.Deadline(); ok {
		// Keep a margin under the checker's deadline so the note survives.
		left := time.Until(dl)
		if margin := left / 10; left-margin < budget {
			budget = left - margin
		}
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	start := time.Now()
	res, err := analyze(ctx, pass, opts, rules)
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (err != nil && ctx.Err() != nil):
		pass.Note(fmt.Sprintf("type-checked analyzers skipped: time budget of %s ran out", budget.Round(time.Second)))
		return
	case err != nil:
		pass.Note("type-checked analyzers skipped: " + oneLine(err.Error()))
		return
	case res == nil:
		return // no Go package changed
	}
	for _, f := range res.findings {
		pass.Report(f)
	}
	note := fmt.Sprintf("analyzers: %d %s type-checked, %d analyzers, in %s (load %s, analysis %s)",
		res.packages, plural(res.packages, "package", "packages"), res.analyzers, time.Since(start).Round(100*time.Millisecond),
		res.loadTime.Round(100*time.Millisecond), res.analyzeTime.Round(100*time.Millisecond))
	if len(res.skipped) > 0 {
		note += fmt.Sprintf("; %d skipped: %s", len(res.skipped), strings.Join(firstN(res.skipped, 3), "; "))
	}
	pass.Note(note)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
	}
	return s
}

// oneLine shortens an error for a note.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// result is what one analysis produced.
type result struct {
	findings  []axes.Finding
	packages  int
	analyzers int
	skipped   []string // packages not analyzed, with the reason

	loadTime, analyzeTime time.Duration
}

// ruleIndex finds the rule of a diagnostic.
type ruleIndex struct {
	byAnalyzer map[*analysis.Analyzer]*Rule
	byCategory map[string]*Rule // analyzer name + "\x00" + category
}

func newRuleIndex(rules []Rule) *ruleIndex {
	ix := &ruleIndex{byAnalyzer: map[*analysis.Analyzer]*Rule{}, byCategory: map[string]*Rule{}}
	for i := range rules {
		r := &rules[i]
		if r.category != "" {
			ix.byCategory[r.analyzer.Name+"\x00"+r.category] = r
		} else {
			ix.byAnalyzer[r.analyzer] = r
		}
	}
	return ix
}

func (ix *ruleIndex) lookup(a *analysis.Analyzer, d analysis.Diagnostic) *Rule {
	if r := ix.byAnalyzer[a]; r != nil {
		return r
	}
	return ix.byCategory[a.Name+"\x00"+d.Category]
}

// analyzers returns the distinct analyzers behind the rules.
func analyzersOf(rules []Rule) []*analysis.Analyzer {
	seen := map[*analysis.Analyzer]bool{}
	var out []*analysis.Analyzer
	for _, r := range rules {
		if !seen[r.analyzer] {
			seen[r.analyzer] = true
			out = append(out, r.analyzer)
		}
	}
	return out
}

// finding turns a diagnostic into a finding.
func (r *Rule) finding(p string, line int, msg string) axes.Finding {
	sev := r.Severity
	if r.errorWhen != "" && strings.Contains(msg, r.errorWhen) {
		sev = axes.SeverityError
	}
	text := sentence(msg)
	if why := sentence(r.Why); why != "" && !strings.EqualFold(why, text) {
		text += " " + why
	}
	if r.tag != "" {
		text += " " + r.tag
	}
	return axes.Finding{
		Rule:     r.ID,
		Axis:     r.Axis,
		Severity: sev,
		Path:     path.Clean(p),
		Line:     line,
		Message:  text,
		Source:   axes.SourceAnalyzer,
	}
}

// sentence capitalizes msg, unless it starts with an identifier such as
// fmt.Errorf, and ends it with a period.
func sentence(msg string) string {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return msg
	}
	first, _, _ := strings.Cut(msg, " ")
	if c := msg[0]; 'a' <= c && c <= 'z' && !strings.ContainsAny(first, ".()_") {
		msg = string(c-'a'+'A') + msg[1:]
	}
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}
