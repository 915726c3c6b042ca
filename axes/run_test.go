package axes_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/axes/axestest"
)

func checker(name string, sev axes.Severity, run func(context.Context, *axes.Pass) error) *axes.Checker {
	axis, _, _ := strings.Cut(name, "/")
	return &axes.Checker{Name: name, Doc: "Test rule " + name + ". More text.", Axis: axes.Axis(axis), Severity: sev, Run: run}
}

func reportAt(path string, lines ...int) func(context.Context, *axes.Pass) error {
	return func(_ context.Context, p *axes.Pass) error {
		for _, l := range lines {
			p.Report(axes.Finding{Path: path, Line: l, Message: "m"})
		}
		return nil
	}
}

func TestValidate(t *testing.T) {
	ok := checker("correctness/a", axes.SeverityError, reportAt("x", 1))
	tests := []struct {
		name string
		list []*axes.Checker
		want string
	}{
		{"ok", []*axes.Checker{ok}, ""},
		{"duplicate", []*axes.Checker{ok, ok}, "listed twice"},
		{"bad name", []*axes.Checker{{Name: "noaxis", Doc: "d", Axis: axes.Correctness, Severity: axes.SeverityInfo, Run: ok.Run}}, "name must be"},
		{"axis mismatch", []*axes.Checker{{Name: "security/x", Doc: "d", Axis: axes.Correctness, Severity: axes.SeverityInfo, Run: ok.Run}}, "name must be"},
		{"no doc", []*axes.Checker{{Name: "correctness/x", Axis: axes.Correctness, Severity: axes.SeverityInfo, Run: ok.Run}}, "no doc"},
		{"no run", []*axes.Checker{{Name: "correctness/x", Doc: "d", Axis: axes.Correctness, Severity: axes.SeverityInfo}}, "no Run"},
		{"bad severity", []*axes.Checker{{Name: "correctness/x", Doc: "d", Axis: axes.Correctness, Severity: "fatal", Run: ok.Run}}, "unknown severity"},
		{"nil", []*axes.Checker{nil}, "nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := axes.Validate(tt.list)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestTitle(t *testing.T) {
	c := &axes.Checker{Doc: "Finds bugs. And more."}
	if got := c.Title(); got != "Finds bugs." {
		t.Errorf("Title = %q", got)
	}
}

// setup builds a repository where the PR adds lines 3-4 of a.go and changes
// nothing else; b.go is untouched.
func setup(t testing.TB) axes.Input {
	t.Helper()
	c := &axestest.Case{
		Base: map[string][]byte{
			"a.go": []byte("package a\n\nfunc A() {}\n"),
			"b.go": []byte("package a\n"),
		},
		Head: map[string][]byte{
			"a.go": []byte("package a\n\nfunc A() { x() }\nfunc x() {}\n\n// end\n"),
		},
	}
	return axestest.Build(t, c).Input
}

func TestRunFiltersToAddedLines(t *testing.T) {
	in := setup(t)
	cs := []*axes.Checker{
		checker("correctness/lines", axes.SeverityError, reportAt("a.go", 1, 3, 4, 6)),
		checker("readability/other", axes.SeverityWarning, reportAt("b.go", 1)),
		checker("security/pr", axes.SeverityInfo, reportAt("", 0)),
	}
	tests := []struct {
		mode axes.FilterMode
		want []string
	}{
		{axes.FilterAdded, []string{":0 security/pr", "a.go:3 correctness/lines", "a.go:4 correctness/lines", "a.go:6 correctness/lines"}},
		{axes.FilterDiffContext, []string{":0 security/pr", "a.go:1 correctness/lines", "a.go:3 correctness/lines", "a.go:4 correctness/lines", "a.go:6 correctness/lines"}},
		{axes.FilterFile, []string{":0 security/pr", "a.go:1 correctness/lines", "a.go:3 correctness/lines", "a.go:4 correctness/lines", "a.go:6 correctness/lines"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			res, err := axes.Run(context.Background(), cs, in, axes.Options{Filter: tt.mode})
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(axestest.Format(res.Findings), "\n")
			if got != strings.Join(tt.want, "\n") {
				t.Errorf("findings:\n%s\nwant:\n%s", got, strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestRunIsolatesFailures(t *testing.T) {
	in := setup(t)
	cs := []*axes.Checker{
		checker("correctness/panics", axes.SeverityError, func(context.Context, *axes.Pass) error { panic("boom") }),
		checker("readability/hangs", axes.SeverityError, func(ctx context.Context, p *axes.Pass) error {
			p.Report(axes.Finding{Path: "a.go", Line: 3, Message: "late"})
			time.Sleep(time.Hour) // ignores its context on purpose
			return nil
		}),
		checker("architecture/fails", axes.SeverityError, func(context.Context, *axes.Pass) error { return errors.New("no luck") }),
		checker("security/works", axes.SeverityWarning, reportAt("a.go", 3)),
	}
	res, err := axes.Run(context.Background(), cs, in, axes.Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(axestest.Format(res.Findings), ","); got != "a.go:3 readability/hangs,a.go:3 security/works" {
		t.Errorf("findings = %v, want the working checker's and what the slow one reported in time", got)
	}
	errs := map[string]error{}
	for _, e := range res.Errors {
		errs[e.Checker] = e.Err
	}
	if e := errs["correctness/panics"]; e == nil || !strings.Contains(e.Error(), "panic: boom") {
		t.Errorf("panic error = %v", e)
	}
	if e := errs["readability/hangs"]; !errors.Is(e, axes.ErrTimeout) {
		t.Errorf("timeout error = %v", e)
	}
	if e := errs["architecture/fails"]; e == nil || !strings.Contains(e.Error(), "no luck") {
		t.Errorf("returned error = %v", e)
	}
}

func TestRunOptions(t *testing.T) {
	in := setup(t)
	cs := []*axes.Checker{
		checker("correctness/a", axes.SeverityError, reportAt("a.go", 3, 3)),
		checker("correctness/b", axes.SeverityError, reportAt("a.go", 4)),
		checker("performance/c", axes.SeverityWarning, reportAt("a.go", 4)),
	}
	tests := []struct {
		name string
		opt  axes.Options
		want string
	}{
		{"dedupe", axes.Options{}, "a.go:3 correctness/a error|a.go:4 correctness/b error|a.go:4 performance/c warning"},
		{"disable rule", axes.Options{Disabled: []string{"correctness/b"}}, "a.go:3 correctness/a error|a.go:4 performance/c warning"},
		{"disable axis", axes.Options{Disabled: []string{"correctness"}}, "a.go:4 performance/c warning"},
		{"enable only", axes.Options{Enabled: []string{"performance/*"}}, "a.go:4 performance/c warning"},
		{"severity override", axes.Options{Severity: map[string]axes.Severity{"correctness/a": axes.SeverityInfo}}, "a.go:3 correctness/a info|a.go:4 correctness/b error|a.go:4 performance/c warning"},
		{"ignore path", axes.Options{Ignore: []string{"*.go"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := axes.Run(context.Background(), cs, in, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range res.Findings {
				got = append(got, axestest.Format([]axes.Finding{f})[0]+" "+string(f.Severity))
			}
			if s := strings.Join(got, "|"); s != tt.want {
				t.Errorf("got %q, want %q", s, tt.want)
			}
		})
	}
}

func TestPassHelpers(t *testing.T) {
	in := setup(t)
	var seen []string
	c := checker("readability/helpers", axes.SeverityInfo, func(_ context.Context, p *axes.Pass) error {
		for _, g := range p.ChangedGoFiles(true) {
			seen = append(seen, g.Path+":"+g.AST.Name.Name)
		}
		if !p.IsAdded("a.go", 3) || p.IsAdded("a.go", 1) || !p.AddedIn("a.go", 1, 3) {
			return errors.New("IsAdded/AddedIn disagree with the diff")
		}
		if n := len(p.PackageFiles(".")); n != 2 {
			return errors.New("PackageFiles should see a.go and b.go")
		}
		p.Note("saw files")
		return nil
	})
	res, err := axes.Run(context.Background(), []*axes.Checker{c}, in, axes.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	if strings.Join(seen, ",") != "a.go:a" {
		t.Errorf("ChangedGoFiles = %v", seen)
	}
	if len(res.Notes) != 1 || res.Notes[0] != "saw files" {
		t.Errorf("Notes = %v", res.Notes)
	}
}

func TestMatchPath(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"vendor/**", "vendor/x/y.go", true},
		{"vendor/**", "src/vendor/x.go", true},
		{"vendor/**", "vendored.go", false},
		{"*.pb.go", "api/v1/x.pb.go", true},
		{"api/*.go", "api/x.go", true},
		{"api/*.go", "api/v1/x.go", false},
	}
	for _, tt := range tests {
		if got := axes.MatchPath(tt.pattern, tt.path); got != tt.want {
			t.Errorf("MatchPath(%q, %q) = %v", tt.pattern, tt.path, got)
		}
	}
}

func TestRunDedupeHook(t *testing.T) {
	in := setup(t)
	cs := []*axes.Checker{
		checker("correctness/ast", axes.SeverityWarning, reportAt("a.go", 3)),
		checker("correctness/vet", axes.SeverityError, reportAt("a.go", 4)),
	}
	var saw int
	dedupe := func(fs []axes.Finding) []axes.Finding {
		saw = len(fs)
		var out []axes.Finding
		for _, f := range fs {
			if f.Rule != "correctness/vet" {
				out = append(out, f)
			}
		}
		return out
	}
	res, err := axes.Run(context.Background(), cs, in, axes.Options{Dedupe: dedupe})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(axestest.Format(res.Findings), ","); got != "a.go:3 correctness/ast" || saw != 2 {
		t.Errorf("findings = %s (hook saw %d), want the hook's choice", got, saw)
	}
}

func TestCheckerOwnTimeout(t *testing.T) {
	in := setup(t)
	slow := checker("correctness/slow", axes.SeverityWarning, func(ctx context.Context, p *axes.Pass) error {
		select {
		case <-time.After(300 * time.Millisecond):
			p.Report(axes.Finding{Path: "a.go", Line: 3, Message: "done"})
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	slow.Timeout = 5 * time.Second
	res, err := axes.Run(context.Background(), []*axes.Checker{slow}, in, axes.Options{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 0 || len(res.Findings) != 1 {
		t.Errorf("errors %v, findings %v: the checker's own timeout should apply", res.Errors, res.Findings)
	}
}

func TestLateCheckersSeePriorFindings(t *testing.T) {
	in := setup(t)
	var sawEarly, sawLate int
	early := checker("correctness/early", axes.SeverityError, func(_ context.Context, p *axes.Pass) error {
		sawEarly = len(p.Prior())
		p.Report(axes.Finding{Path: "a.go", Line: 3, Message: "m"})
		p.Report(axes.Finding{Path: "a.go", Line: 1, Message: "not on an added line"})
		return nil
	})
	late := checker("security/late", axes.SeverityWarning, func(_ context.Context, p *axes.Pass) error {
		sawLate = len(p.Prior())
		if n := len(p.Prior()); n == 1 && p.Prior()[0].Rule == "correctness/early" {
			p.Report(axes.Finding{Path: "a.go", Line: 4, Message: "agrees"})
		}
		return nil
	})
	late.Late = true
	res, err := axes.Run(context.Background(), []*axes.Checker{late, early}, in, axes.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sawEarly != 0 || sawLate != 1 {
		t.Errorf("early saw %d prior findings, late saw %d; want 0 and 1 (filtered to added lines)", sawEarly, sawLate)
	}
	if got := strings.Join(axestest.Format(res.Findings), ","); got != "a.go:3 correctness/early,a.go:4 security/late" {
		t.Errorf("findings = %s", got)
	}
}
