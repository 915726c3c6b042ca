package analyzers

import (
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
)

// astClasses maps the AST rules (axes/correctness, axes/security,
// axes/performance) to the bug class of the analyzer rules that report the
// same problem. The ids are the other packages' stable rule ids; they are
// listed here, not imported, so that this package depends on axes only.
var astClasses = map[string]string{
	"correctness/lost-cancel":             "lost-cancel",
	"correctness/wg-add-in-goroutine":     "wg-add",
	"security/sql-injection":              "sql-injection",
	"security/shell-injection":            "command-injection",
	"security/path-traversal":             "path-traversal",
	"security/insecure-tls":               "insecure-tls",
	"performance/regexp-compile-per-call": "regexp-per-call",
}

// Class returns the bug class of a rule id, for de-duplication: the analyzer
// rules' Class, or the class of the AST rule that reports the same problem
// (correctness/lost-cancel and correctness/vet-lostcancel are both
// "lost-cancel"). It returns "" for a rule with no counterpart.
func Class(rule string) string {
	if c, ok := astClasses[rule]; ok {
		return c
	}
	return ruleClasses()[rule]
}

// ruleClasses maps every analyzer rule id with a class to it.
func ruleClasses() map[string]string {
	m := map[string]string{}
	for _, r := range Rules(Options{}) {
		if r.Class != "" {
			m[r.ID] = r.Class
		}
	}
	return m
}

// Dedupe removes analyzer findings that repeat another finding of the same
// class on the same file within three lines (gosec reports SQL injection at
// the Sprintf, the AST rule at the statement, the taint analysis at the
// query): the AST rule's finding is kept
// (its message and suggestion are written for the reviewer) unless the
// analyzer's is more severe, and between two analyzers the first one
// listed is kept. Findings without a class are kept as they are. Dedupe
// keeps the order of what it keeps.
func Dedupe(fs []axes.Finding) []axes.Finding {
	classes := ruleClasses()
	for r, c := range astClasses {
		classes[r] = c
	}
	return dedupe(fs, classes)
}

func dedupe(fs []axes.Finding, classes map[string]string) []axes.Finding {
	drop := make([]bool, len(fs))
	for i := range fs {
		ci := classes[fs[i].Rule]
		if ci == "" || drop[i] {
			continue
		}
		for j := i + 1; j < len(fs); j++ {
			if drop[j] || classes[fs[j].Rule] != ci || fs[j].Path != fs[i].Path || !near(fs[i], fs[j], slackFor(ci)) ||
				fs[i].Source != axes.SourceAnalyzer && fs[j].Source != axes.SourceAnalyzer {
				// Two AST findings are two problems: only an analyzer's
				// repeat of another finding goes.
				continue
			}
			if loser(fs[i], fs[j]) {
				drop[i] = true
				break
			}
			drop[j] = true
		}
	}
	out := fs[:0:0]
	for i, f := range fs {
		if !drop[i] {
			out = append(out, f)
		}
	}
	return out
}

// slack is how many lines apart two findings of one class may be and still
// be the same problem.
const slack = 3

// taintSlack is the slack of the classes gosec finds by taint analysis: it
// reports the sink (the Query call), which can sit well below the line
// that built the statement, where the AST rule reports.
const taintSlack = 15

func slackFor(class string) int {
	switch class {
	case "sql-injection", "command-injection", "path-traversal":
		return taintSlack
	}
	return slack
}

// near reports whether two findings' line ranges are at most slack lines
// apart.
func near(a, b axes.Finding, slack int) bool {
	as, ae := a.Span()
	bs, be := b.Span()
	return as <= be+slack && bs <= ae+slack
}

// loser reports whether a should give way to b.
func loser(a, b axes.Finding) bool {
	if a.Severity.Rank() != b.Severity.Rank() {
		return a.Severity.Rank() < b.Severity.Rank()
	}
	aa, ba := a.Source == axes.SourceAnalyzer, b.Source == axes.SourceAnalyzer
	if aa != ba {
		return aa
	}
	return false
}

// dedupeClasses removes repeats among the analyzers' own findings, such as
// nilness and staticcheck SA5000 on the same nil map write. The vet passes
// come first, then staticcheck, then gosec.
func dedupeClasses(fs []axes.Finding, _ *ruleIndex) []axes.Finding {
	order := func(rule string) int {
		switch {
		case strings.Contains(rule, "/vet-"):
			return 0
		case strings.Contains(rule, "/staticcheck-"):
			return 1
		}
		return 2
	}
	ranked := make([]axes.Finding, 0, len(fs))
	for pass := 0; pass < 3; pass++ {
		for _, f := range fs {
			if order(f.Rule) == pass {
				ranked = append(ranked, f)
			}
		}
	}
	classes := ruleClasses()
	keep := map[string]bool{}
	for _, f := range dedupe(ranked, classes) {
		keep[f.Fingerprint()+"|"+f.Message] = true
	}
	out := fs[:0:0]
	for _, f := range fs {
		if keep[f.Fingerprint()+"|"+f.Message] {
			out = append(out, f)
		}
	}
	return out
}
