package analyzers

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/axes/axestest"
)

func TestCases(t *testing.T) {
	axestest.Run(t, "testdata", Checkers(Options{})...)
}

// runCase runs the checkers on one txtar case and returns the result.
func runCase(t *testing.T, name string, opts Options) *axes.Result {
	t.Helper()
	c := axestest.Load(t, filepath.Join("testdata", name+".txtar"))
	r := axestest.Build(t, c)
	res, err := axes.Run(context.Background(), Checkers(opts), r.Input, axes.Options{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Errors {
		t.Errorf("checker error: %v", e)
	}
	return res
}

func TestNotes(t *testing.T) {
	tests := []struct {
		name, want string
	}{
		{"vet_pos", "analyzers: 1 package type-checked"},
		{"missing_module_neg", "type-checked analyzers skipped: "},
		{"type_error_neg", "type-checked analyzers skipped: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := runCase(t, tt.name, Options{})
			if len(res.Notes) != 1 || !strings.HasPrefix(res.Notes[0], tt.want) {
				t.Errorf("notes = %q, want one starting with %q", res.Notes, tt.want)
			}
		})
	}
}

func TestFindingShape(t *testing.T) {
	res := runCase(t, "vet_pos", Options{})
	if len(res.Findings) == 0 {
		t.Fatal("no findings")
	}
	for _, f := range res.Findings {
		if f.Source != axes.SourceAnalyzer {
			t.Errorf("%s: source %q", f.Rule, f.Source)
		}
		if !strings.HasSuffix(f.Message, ".") || strings.Count(f.Message, ". ") < 1 {
			t.Errorf("%s: message %q lacks the why", f.Rule, f.Message)
		}
	}
}

func TestDisabled(t *testing.T) {
	res := runCase(t, "vet_pos", Options{Disabled: []string{"correctness/vet-printf", "correctness/vet-copylock"}})
	for _, f := range res.Findings {
		if f.Rule == "correctness/vet-printf" || f.Rule == "correctness/vet-copylock" {
			t.Errorf("disabled rule reported: %s:%d %s", f.Path, f.Line, f.Rule)
		}
	}
}

func TestTimeoutNotes(t *testing.T) {
	res := runCase(t, "vet_pos", Options{Timeout: time.Millisecond})
	if len(res.Findings) != 0 {
		t.Errorf("findings after a timeout: %v", axestest.Format(res.Findings))
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "time budget") {
		t.Errorf("notes = %q, want a time-budget note", res.Notes)
	}
}

func TestRules(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules(Options{}) {
		if seen[r.ID] {
			t.Errorf("rule %s listed twice", r.ID)
		}
		seen[r.ID] = true
		axis, _, _ := strings.Cut(r.ID, "/")
		if axes.Axis(axis) != r.Axis || !r.Axis.Valid() || r.Severity.Rank() == 0 || r.Why == "" || r.Analyzer() == nil {
			t.Errorf("bad rule %+v", r)
		}
	}
	for _, id := range []string{"correctness/vet-lostcancel", "correctness/staticcheck-sa5001", "security/gosec-g701", "performance/staticcheck-sa6000"} {
		if !seen[id] {
			t.Errorf("rule %s missing", id)
		}
	}
	if err := axes.Validate(Checkers(Options{})); err != nil {
		t.Error(err)
	}
}
