// Package axes is the checker framework of fiveaxis, after
// golang.org/x/tools/go/analysis: a Checker is a value with a Name, a Doc,
// an Axis and a Run function; the driver (Run) validates the list, runs the
// checkers concurrently with a timeout each, turns panics into errors,
// filters findings to the lines the PR changed and removes duplicates.
//
// The rules themselves live in one package per axis (axes/correctness,
// axes/readability, ...). This package knows nothing about forges, queues or
// models.
package axes

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Axis is one of the five review axes.
type Axis string

// The five axes, in report order.
const (
	Correctness  Axis = "correctness"
	Readability  Axis = "readability"
	Architecture Axis = "architecture"
	Security     Axis = "security"
	Performance  Axis = "performance"
)

// All lists the five axes in report order.
var All = []Axis{Correctness, Readability, Architecture, Security, Performance}

// Valid reports whether a is one of the five axes.
func (a Axis) Valid() bool {
	for _, x := range All {
		if a == x {
			return true
		}
	}
	return false
}

// Severity is how much a finding matters. Only SeverityError blocks a merge.
type Severity string

// Severities, from most to least severe.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

// Rank orders severities: error 3, warning 2, info 1, anything else 0.
func (s Severity) Rank() int {
	switch s {
	case SeverityError:
		return 3
	case SeverityWarning:
		return 2
	case SeverityInfo:
		return 1
	}
	return 0
}

// Source says what produced a finding.
type Source string

// Finding sources.
const (
	SourceHeuristic Source = "heuristic"
	SourceAnalyzer  Source = "analyzer"
	SourceLLM       Source = "llm"
)

// Finding is one problem a checker reports.
type Finding struct {
	Rule     string   `json:"rule"` // "axis/rule-name"; defaults to the checker's Name
	Axis     Axis     `json:"-"`    // defaults to the checker's Axis
	Severity Severity `json:"severity"`
	Path     string   `json:"path"` // slash-separated, relative to the repository root
	Line     int      `json:"line"` // 1-based line in the head version; 0 for a file- or PR-level finding
	EndLine  int      `json:"end_line,omitempty"`
	Message  string   `json:"message"`
	// Suggestion is an optional replacement for lines Line..EndLine, when the
	// fix is mechanical.
	Suggestion string `json:"suggestion,omitempty"`
	Source     Source `json:"source"`
}

// Span returns the finding's line range, with EndLine defaulting to Line.
func (f Finding) Span() (int, int) {
	if f.EndLine < f.Line {
		return f.Line, f.Line
	}
	return f.Line, f.EndLine
}

// Fingerprint identifies a finding for de-duplication: same rule, path and
// line range.
func (f Finding) Fingerprint() string {
	a, b := f.Span()
	return fmt.Sprintf("%s|%s|%d|%d", f.Rule, f.Path, a, b)
}

// Checker is one review rule. It is a value, not a type hierarchy.
type Checker struct {
	// Name is the stable rule id, "axis/rule-name".
	Name string
	// Doc describes the rule; its first sentence is its title.
	Doc string
	// Axis is the axis the rule belongs to.
	Axis Axis
	// Severity is the default severity of the rule's findings.
	Severity Severity
	// Run inspects the pass and reports findings with pass.Report.
	Run func(ctx context.Context, pass *Pass) error
	// Timeout, when set, replaces the run's per-checker timeout for this
	// checker: a model call needs minutes where a rule needs milliseconds.
	Timeout time.Duration
	// Late checkers run after all the others have finished and see their
	// findings through Pass.Prior (a model ranks its work by them).
	Late bool
}

// Title returns the first sentence of the checker's Doc.
func (c *Checker) Title() string {
	doc := strings.TrimSpace(c.Doc)
	if i := strings.Index(doc, ". "); i >= 0 {
		return doc[:i+1]
	}
	if i := strings.IndexByte(doc, '\n'); i >= 0 {
		return doc[:i]
	}
	return doc
}

// Validate checks a list of checkers: names unique and of the form
// "axis/rule-name" with a valid axis, docs non-empty, a Run function and a
// known severity.
func Validate(checkers []*Checker) error {
	seen := make(map[string]bool, len(checkers))
	for i, c := range checkers {
		if c == nil {
			return fmt.Errorf("checker %d is nil", i)
		}
		if c.Name == "" {
			return fmt.Errorf("checker %d has no name", i)
		}
		if seen[c.Name] {
			return fmt.Errorf("checker %q is listed twice", c.Name)
		}
		seen[c.Name] = true
		axis, rule, ok := strings.Cut(c.Name, "/")
		if !ok || rule == "" || Axis(axis) != c.Axis || !c.Axis.Valid() {
			return fmt.Errorf("checker %q: name must be \"<axis>/<rule>\" with axis %q", c.Name, c.Axis)
		}
		if strings.TrimSpace(c.Doc) == "" {
			return fmt.Errorf("checker %q has no doc", c.Name)
		}
		if c.Run == nil {
			return fmt.Errorf("checker %q has no Run function", c.Name)
		}
		if c.Severity.Rank() == 0 {
			return fmt.Errorf("checker %q: unknown severity %q", c.Name, c.Severity)
		}
	}
	return nil
}
