package llm

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/axes/axestest"
	"github.com/fiveaxis/fiveaxis/gitops"
	"github.com/fiveaxis/fiveaxis/reviewer"
)

// ruleOn is a rule (not Late) of axis that reports one finding of sev on
// path, lines line..end.
func ruleOn(axis axes.Axis, path string, line, end int, sev axes.Severity) *axes.Checker {
	return &axes.Checker{
		Name: string(axis) + "/test-rule", Doc: "A test rule.", Axis: axis, Severity: sev,
		Run: func(_ context.Context, pass *axes.Pass) error {
			pass.Report(axes.Finding{Path: path, Line: line, EndLine: end, Message: "the rule fired"})
			return nil
		},
	}
}

func TestModelCheckersAreLate(t *testing.T) {
	b := setup(t, Config{}, empty)
	for _, c := range b.rv.Checkers() {
		if !c.Late {
			t.Errorf("%s is not Late", c.Name)
		}
	}
	if PromptInjection().Late {
		t.Error("the prompt-injection rule is Late; it is a rule, not a model")
	}
}

// goFile returns a Go file of n added statements, large enough that a
// request's fixed overhead is small beside it.
func goFile(pkg string, n int) string {
	var s strings.Builder
	fmt.Fprintf(&s, "package %s\n\nfunc F(x int) int {\n", pkg)
	for i := range n {
		fmt.Fprintf(&s, "\tx = x*%d + %d // step %d of the computation\n", i+3, i*7, i)
	}
	s.WriteString("\treturn x\n}\n")
	return s.String()
}

// When the budget fits one file only, the file a rule fired on is sent, not
// the file that file kind and name alone rank first.
func TestRankingPrefersRuleFindings(t *testing.T) {
	const auth, plain = "internal/auth/login.go", "pkg/plain/plain.go"
	head := map[string]string{auth: goFile("auth", 80), plain: goFile("plain", 80)}
	in := build(t, nil, head)
	if fileRisk(auth) <= fileRisk(plain) {
		t.Fatalf("test setup: %s should outrank %s without findings", auth, plain)
	}

	// Price both files together with an unlimited budget.
	whole := setup(t, Config{Budget: 10_000_000}, empty)
	res := run(t, in, whole.rv.Checkers(), 0)
	m := regexp.MustCompile(`LLM reviewed all 2 files, ([0-9,]+) input tokens`).FindStringSubmatch(noteWith(res, "LLM reviewed"))
	if m == nil {
		t.Fatalf("notes = %v", res.Notes)
	}
	both, _ := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
	// 90% of the budget is planned: make that three quarters of both files,
	// which fits one file with its five request overheads but not two.
	budget := both * 3 / 4 * 10 / 9

	sent := func(t *testing.T, extra ...*axes.Checker) (files []string, note string) {
		b := setup(t, Config{Budget: budget}, empty)
		res := run(t, in, append(extra, b.rv.Checkers()...), 0)
		seen := map[string]bool{}
		for _, req := range b.fake.requests() {
			for _, p := range []string{auth, plain} {
				if strings.Contains(req.user(), "FILE "+p+" ") && !seen[p] {
					seen[p] = true
					files = append(files, p)
				}
			}
		}
		return files, noteWith(res, "LLM reviewed")
	}
	files, note := sent(t)
	if strings.Join(files, ",") != auth || !strings.Contains(note, "LLM reviewed 1 of 2 files") {
		t.Fatalf("without findings: sent %v (%s), want %s only", files, note, auth)
	}
	files, note = sent(t, ruleOn(axes.Readability, plain, 5, 5, axes.SeverityWarning))
	if strings.Join(files, ",") != plain || !strings.Contains(note, "LLM reviewed 1 of 2 files") {
		t.Errorf("with a rule finding on %s: sent %v (%s), want that file only", plain, files, note)
	}
	// More severe findings rank first: a warning on one file loses to an
	// error on the other.
	files, _ = sent(t, ruleOn(axes.Readability, plain, 5, 5, axes.SeverityWarning), ruleOn(axes.Correctness, auth, 6, 6, axes.SeverityError))
	if strings.Join(files, ",") != auth {
		t.Errorf("with a warning on %s and an error on %s: sent %v, want %s only", plain, auth, files, auth)
	}
}

func TestFindingWeights(t *testing.T) {
	got := findingWeights([]axes.Finding{
		{Path: "a.go", Severity: axes.SeverityError, Source: axes.SourceHeuristic},
		{Path: "a.go", Severity: axes.SeverityInfo, Source: axes.SourceAnalyzer},
		{Path: "b.go", Severity: axes.SeverityWarning, Source: axes.SourceHeuristic},
		{Path: "b.go", Severity: axes.SeverityError, Source: axes.SourceLLM},
		{Path: "", Severity: axes.SeverityError, Source: axes.SourceHeuristic},
	})
	if fmt.Sprint(got) != "map[a.go:17 b.go:4]" {
		t.Errorf("weights = %v", got)
	}
}

// A high-confidence model error keeps its severity only on lines a rule or
// analyzer of the same axis flagged; everywhere else it is capped.
func TestSeverityNeedsAgreement(t *testing.T) {
	const path = "calc/calc.go"
	dir := t.TempDir()
	axestest.Git(t, dir, "init", "-q", "-b", "main")
	write(t, dir, "README.md", "base\n")
	axestest.Git(t, dir, "add", "-A")
	axestest.Git(t, dir, "commit", "-q", "-m", "base")
	axestest.Git(t, dir, "checkout", "-q", "-b", "pr")
	write(t, dir, path, goFile("calc", 20)) // lines 4..23 are the statements
	axestest.Git(t, dir, "add", "-A")
	axestest.Git(t, dir, "commit", "-q", "-m", "head")
	repo, err := gitops.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()

	f := func(sev string, line, end int, conf string) string {
		return fmt.Sprintf(`{"rule":"r","severity":%q,"path":%q,"line":%d,"end_line":%d,"message":"m %d-%d %s","confidence":%q}`, sev, path, line, end, line, end, conf, conf)
	}
	answer := func(int, chatRequest, http.ResponseWriter, *http.Request) (string, bool) {
		return `{"findings":[]}`, true
	}
	model := func(n int, req chatRequest, w http.ResponseWriter, r *http.Request) (string, bool) {
		switch req.axis() {
		case "correctness":
			return `{"findings":[` + strings.Join([]string{
				f("error", 9, 10, "high"),    // overlaps the rule's 10..11: kept
				f("error", 15, 15, "high"),   // no rule there: capped
				f("error", 10, 10, "medium"), // overlaps, not high: capped
				f("error", 11, 11, "low"),    // low: dropped
				f("info", 11, 12, "high"),    // overlaps, info stays info
			}, ",") + `]}`, true
		case "security":
			// Same lines, another axis: the correctness rule does not agree.
			return `{"findings":[` + f("error", 10, 10, "high") + `]}`, true
		}
		return answer(n, req, w, r)
	}

	review := func(t *testing.T, rule *axes.Checker) *reviewer.Review {
		b := setup(t, Config{}, model)
		checkers := append([]*axes.Checker{rule}, b.rv.Checkers()...)
		rv, err := reviewer.Run(context.Background(), repo, reviewer.Request{BaseRef: "main", HeadRef: "pr"},
			reviewer.Options{Checkers: checkers, CheckerTimeout: time.Minute, IgnoreRepoConfig: true})
		if err != nil {
			t.Fatal(err)
		}
		return rv
	}
	llmFindings := func(rv *reviewer.Review) []string {
		var out []string
		for _, a := range rv.Axes {
			for _, f := range a.Findings {
				if f.Source == axes.SourceLLM {
					out = append(out, fmt.Sprintf("%s %d-%d %s", f.Rule, f.Line, f.EndLine, f.Severity))
				}
			}
		}
		return out
	}

	t.Run("rule warning agrees", func(t *testing.T) {
		rv := review(t, ruleOn(axes.Correctness, path, 10, 11, axes.SeverityWarning))
		want := []string{
			"correctness/llm 9-10 warning", // never above the agreeing rule
			"correctness/llm 10-10 warning",
			"correctness/llm 11-12 info",
			"correctness/llm 15-15 warning",
			"security/llm 10-10 warning",
		}
		if got := llmFindings(rv); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("model findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		// A rule warning and a high-confidence model error on the same
		// lines do not block: the model never changes the verdict.
		if rv.Verdict == reviewer.VerdictRequestChanges {
			t.Errorf("verdict = %s: the model turned a warning into a block", rv.Verdict)
		}
	})
	t.Run("rule error agrees", func(t *testing.T) {
		rv := review(t, ruleOn(axes.Correctness, path, 10, 11, axes.SeverityError))
		want := []string{
			"correctness/llm 9-10 error",
			"correctness/llm 10-10 warning",
			"correctness/llm 11-12 info",
			"correctness/llm 15-15 warning",
			"security/llm 10-10 warning",
		}
		if got := llmFindings(rv); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("model findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		for _, a := range rv.Axes {
			for _, f := range a.Findings {
				if f.Source == axes.SourceLLM && f.Severity == axes.SeverityError && !strings.Contains(f.Message, "on the lines of correctness/test-rule") {
					t.Errorf("kept error does not name the agreeing rule: %q", f.Message)
				}
			}
		}
		// The rule blocks on its own; the model agrees.
		if rv.Verdict != reviewer.VerdictRequestChanges {
			t.Errorf("verdict = %s, want request_changes", rv.Verdict)
		}
	})
	t.Run("rule elsewhere", func(t *testing.T) {
		rv := review(t, ruleOn(axes.Correctness, path, 20, 21, axes.SeverityWarning))
		for _, s := range llmFindings(rv) {
			if strings.HasSuffix(s, " error") {
				t.Errorf("%s: not capped, though no rule fired on its lines", s)
			}
		}
		if rv.Verdict == reviewer.VerdictRequestChanges {
			t.Errorf("verdict = %s: the model blocked on its own", rv.Verdict)
		}
	})
	t.Run("prompt-injection does not agree", func(t *testing.T) {
		inj := ruleOn(axes.Correctness, path, 10, 11, axes.SeverityWarning)
		inj.Name = PromptInjectionRule
		inj.Axis = axes.Security
		rv := review(t, inj)
		for _, s := range llmFindings(rv) {
			if strings.HasSuffix(s, " error") {
				t.Errorf("%s: a prompt-injection finding counted as agreement", s)
			}
		}
	})
}

func TestAgreed(t *testing.T) {
	prior := []axes.Finding{
		{Rule: "correctness/a", Axis: axes.Correctness, Path: "x.go", Line: 10, EndLine: 12, Severity: axes.SeverityWarning, Source: axes.SourceHeuristic},
		{Rule: "correctness/b", Axis: axes.Correctness, Path: "x.go", Line: 12, Severity: axes.SeverityError, Source: axes.SourceAnalyzer},
		{Rule: "correctness/llm", Axis: axes.Correctness, Path: "x.go", Line: 20, Severity: axes.SeverityError, Source: axes.SourceLLM},
		{Rule: "correctness/file", Axis: axes.Correctness, Path: "x.go", Line: 0, Severity: axes.SeverityError, Source: axes.SourceHeuristic},
	}
	for _, c := range []struct {
		axis      axes.Axis
		path      string
		line, end int
		want      string
	}{
		{axes.Correctness, "x.go", 8, 10, "correctness/a"},
		{axes.Correctness, "x.go", 11, 14, "correctness/b"}, // the more severe of two
		{axes.Correctness, "x.go", 13, 13, ""},
		{axes.Correctness, "x.go", 20, 20, ""}, // a model's own finding
		{axes.Correctness, "y.go", 10, 10, ""},
		{axes.Security, "x.go", 10, 10, ""},
	} {
		if got, _ := agreed(prior, c.axis, c.path, c.line, c.end); got != c.want {
			t.Errorf("agreed(%s %s:%d-%d) = %q, want %q", c.axis, c.path, c.line, c.end, got, c.want)
		}
	}
}
