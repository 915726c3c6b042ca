package reviewer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/gitops"
)

func TestMarkerRoundTrip(t *testing.T) {
	tests := []Marker{
		{Head: strings.Repeat("a", 40), Base: "main", Version: "v1.2.3", Config: "0123456789ab", Kind: MarkerReview},
		{Head: strings.Repeat("b", 40), Base: "release/1.0", Version: "dev", Config: "x", Kind: MarkerNeedsRebase, Bucket: 7},
		{Head: "c", Base: "weird-->branch", Version: "1.0 beta", Config: "y", Kind: MarkerReview},
	}
	for _, m := range tests {
		t.Run(m.Base, func(t *testing.T) {
			body := "## Review\n\nsome text <!-- not a marker -->\n\n" + m.String() + "\n"
			got, ok := ParseMarker(body)
			if !ok || got != m {
				t.Fatalf("ParseMarker = %+v, %t; want %+v", got, ok, m)
			}
		})
	}
	for _, body := range []string{"", "no marker", "<!-- fiveaxis:review version=1 -->", "<!-- fiveaxis:review -->"} {
		if m, ok := ParseMarker(body); ok {
			t.Errorf("ParseMarker(%q) = %+v, want none", body, m)
		}
	}
	// The last marker wins (a quoted older review in the body does not).
	two := Marker{Head: "old", Base: "main", Kind: MarkerReview}.String() + "\n" + Marker{Head: "new", Base: "main", Kind: MarkerReview}.String()
	if m, _ := ParseMarker(two); m.Head != "new" {
		t.Errorf("ParseMarker picked %q, want the last marker", m.Head)
	}
}

func TestRebaseBucket(t *testing.T) {
	tests := []struct{ behind, max, want int }{
		{101, 100, 2}, {149, 100, 2}, {150, 100, 3}, {0, 100, 0},
		{101, 0, 2}, // default max_behind
		{5, 3, 5}, {5, 1, 5}, {7, 10, 1},
	}
	for _, tt := range tests {
		if got := RebaseBucket(tt.behind, tt.max); got != tt.want {
			t.Errorf("RebaseBucket(%d, %d) = %d, want %d", tt.behind, tt.max, got, tt.want)
		}
	}
}

func TestConfigHash(t *testing.T) {
	a := &axes.Checker{Name: "security/a", Severity: axes.SeverityError}
	b := &axes.Checker{Name: "security/b", Severity: axes.SeverityWarning}
	h1 := ConfigHash(Options{Checkers: []*axes.Checker{a, b}})
	if h2 := ConfigHash(Options{Checkers: []*axes.Checker{b, a}, MaxBehind: DefaultMaxBehind}); h1 != h2 {
		t.Errorf("order or explicit default changed the hash: %s vs %s", h1, h2)
	}
	if h3 := ConfigHash(Options{Checkers: []*axes.Checker{a}}); h3 == h1 {
		t.Error("dropping a checker kept the hash")
	}
	if h4 := ConfigHash(Options{Checkers: []*axes.Checker{a, b}, MaxBehind: 5}); h4 == h1 {
		t.Error("max_behind did not change the hash")
	}
	if len(h1) != 12 {
		t.Errorf("hash %q is not 12 hex digits", h1)
	}
}

func TestEventAndStatusForVerdict(t *testing.T) {
	tests := []struct {
		rv    Review
		event ReviewEvent
		desc  string
	}{
		{Review{Verdict: VerdictApprove}, EventApprove, "approved"},
		{Review{Verdict: VerdictComment}, EventComment, "no blocking findings"},
		{Review{Verdict: VerdictRequestChanges, Axes: []AxisReport{{Findings: []axes.Finding{{Severity: axes.SeverityError}, {Severity: axes.SeverityWarning}}}}}, EventRequestChanges, "1 blocking finding"},
		{Review{Verdict: VerdictNeedsRebase, Base: Ref{Ref: "develop"}, Drift: Drift{Behind: 120}, MaxBehind: 100}, EventRequestChanges, "120 commits behind develop (limit 100)"},
		{Review{Verdict: VerdictNeedsRebase, Base: Ref{Ref: "main"}, Drift: Drift{Conflicts: []string{"a", "b"}}}, EventRequestChanges, "conflicts with main in 2 files"},
	}
	for _, tt := range tests {
		t.Run(string(tt.rv.Verdict), func(t *testing.T) {
			if got := eventFor(tt.rv.Verdict); got != tt.event {
				t.Errorf("event = %s, want %s", got, tt.event)
			}
			if got := statusDescription(&tt.rv); !strings.Contains(got, tt.desc) || len(got) > 140 {
				t.Errorf("description %q lacks %q (or is too long)", got, tt.desc)
			}
		})
	}
}

// gitRepo builds a real repository with the git CLI: main with base files,
// and a pr branch with head files over them. It returns the opened repo.
func gitRepo(t testing.TB, base, head map[string]string) *gitops.Repo {
	t.Helper()
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(files map[string]string) {
		for p, c := range files {
			full := filepath.Join(dir, p)
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	run("init", "-q", "-b", "main")
	write(base)
	run("add", "-A")
	run("commit", "-q", "-m", "base")
	run("checkout", "-q", "-b", "pr")
	write(head)
	run("add", "-A")
	run("commit", "-q", "-m", "head")
	repo, err := gitops.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	return repo
}

// lineChecker reports an error on every line containing "BAD", added or
// not, and one file-level finding.
var lineChecker = &axes.Checker{
	Name: "correctness/test-bad", Doc: "Lines marked BAD are bad.", Axis: axes.Correctness, Severity: axes.SeverityError,
	Run: func(ctx context.Context, pass *axes.Pass) error {
		for _, f := range pass.ChangedFiles() {
			src, err := pass.Head.ReadFile(f.NewPath)
			if err != nil {
				return err
			}
			lines := strings.Split(string(src), "\n")
			for i, l := range lines {
				if strings.Contains(l, "BAD") {
					pass.Report(axes.Finding{Path: f.NewPath, Line: i + 1, Message: "bad line"})
				}
			}
			pass.Report(axes.Finding{Path: f.NewPath, Message: "file-level note", Severity: axes.SeverityInfo})
		}
		return nil
	},
}

// Inline comments go on added lines only, at most MaxInlineComments; the
// rest are summarized in the body, which ends with the marker.
func TestBuildPostInlineComments(t *testing.T) {
	var lines []string
	for i := range 40 {
		lines = append(lines, fmt.Sprintf("x%d := 1 // BAD", i))
	}
	repo := gitRepo(t,
		map[string]string{"a.txt": "keep BAD\n"},
		map[string]string{"a.txt": "keep BAD\n" + strings.Join(lines, "\n") + "\n"})
	opts := Options{Checkers: []*axes.Checker{lineChecker}, Filter: axes.FilterFile}
	rv, err := Run(context.Background(), repo, Request{BaseRef: "main", HeadRef: "pr", PR: &PullRequest{Number: 3, Title: "t"}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBot(nil, nil, opts, nil, "v-test")
	mk := Marker{Head: rv.Head.SHA, Base: "main", Version: "v-test", Config: b.config, Kind: MarkerReview}
	post, err := b.buildPost(context.Background(), repo, Job{Kind: JobReview}, rv, mk)
	if err != nil {
		t.Fatal(err)
	}
	if post.Event != EventRequestChanges || post.CommitID != rv.Head.SHA {
		t.Errorf("event %s commit %s", post.Event, post.CommitID)
	}
	if len(post.Comments) != MaxInlineComments {
		t.Fatalf("%d inline comments, want %d", len(post.Comments), MaxInlineComments)
	}
	for _, c := range post.Comments {
		if c.Path != "a.txt" || c.Line < 2 || c.Line > 41 {
			t.Errorf("inline comment on %s:%d, which the PR did not add", c.Path, c.Line)
		}
	}
	// Line 1 is not an added line (FilterFile keeps its finding): body only.
	for _, want := range []string{"30 findings are also posted as inline comments", "10 more findings on changed lines are listed above only", "`a.txt:1`"} {
		if !strings.Contains(post.Body, want) {
			t.Errorf("body lacks %q", want)
		}
	}
	if m, ok := ParseMarker(post.Body); !ok || m != mk || !strings.HasSuffix(strings.TrimSpace(post.Body), "-->") {
		t.Errorf("body does not end with the marker %+v (got %+v)", mk, m)
	}
}

// A rebase check renders a short needs-rebase body with the rebase
// paragraph.
func TestBuildPostRebaseCheck(t *testing.T) {
	repo := gitRepo(t, map[string]string{"a.txt": "a\n"}, map[string]string{"b.txt": "b\n"})
	rv := &Review{
		Title: "t", PR: &PullRequest{Number: 9, Title: "t"}, Verdict: VerdictNeedsRebase,
		Base: Ref{Ref: "main", SHA: "1111111111"}, Head: Ref{SHA: "2222222222"}, MergeBase: "3333333333",
		Drift: Drift{Behind: 120, TargetSHA: "4444444444"}, MaxBehind: 100,
	}
	b := NewBot(nil, nil, Options{}, nil, "v")
	mk := Marker{Head: "2222222222", Base: "main", Kind: MarkerNeedsRebase, Bucket: 2}
	post, err := b.buildPost(context.Background(), repo, Job{Kind: JobRebaseCheck}, rv, mk)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Five-Axis rebase check: PR #9", "NEEDS REBASE", "120 commits behind the current `main`", "kind=needs-rebase bucket=2"} {
		if !strings.Contains(post.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, post.Body)
		}
	}
	if post.Event != EventRequestChanges || len(post.Comments) != 0 {
		t.Errorf("event %s, %d comments", post.Event, len(post.Comments))
	}
}

// procFunc adapts a function to Processor.
type procFunc func(context.Context, Job) (Outcome, error)

func (f procFunc) Process(ctx context.Context, j Job) (Outcome, error) { return f(ctx, j) }

func TestInlineQueue(t *testing.T) {
	t.Run("dedupes waiting jobs and reports full", func(t *testing.T) {
		q := NewInlineQueue(procFunc(func(context.Context, Job) (Outcome, error) { return OutcomePosted, nil }), InlineQueueOptions{Size: 2}, nil)
		j := Job{Kind: JobReview, Repo: "o/r", PR: 1, HeadSHA: "a"}
		if err := q.Enqueue(context.Background(), j, j); err != nil {
			t.Fatal(err)
		}
		if q.Len() != 1 {
			t.Fatalf("Len = %d, want 1", q.Len())
		}
		j2, j3 := j, j
		j2.HeadSHA, j3.HeadSHA = "b", "c"
		if err := q.Enqueue(context.Background(), j2); err != nil {
			t.Fatal(err)
		}
		if err := q.Enqueue(context.Background(), j3); !errors.Is(err, ErrQueueFull) {
			t.Fatalf("err = %v, want ErrQueueFull", err)
		}
	})
	t.Run("processes and retries retryable failures", func(t *testing.T) {
		var mu sync.Mutex
		calls := map[int64]int{}
		done := make(chan Outcome, 4)
		proc := procFunc(func(ctx context.Context, j Job) (Outcome, error) {
			mu.Lock()
			defer mu.Unlock()
			calls[j.PR]++
			switch {
			case j.PR == 1 && calls[1] < 3:
				return "", &RetryableError{Err: errors.New("HTTP 503"), After: time.Millisecond}
			case j.PR == 2:
				panic("boom")
			}
			return OutcomePosted, nil
		})
		q := NewInlineQueue(proc, InlineQueueOptions{Workers: 2, Backoff: time.Millisecond,
			OnDone: func(j Job, o Outcome, err error) {
				if j.PR == 2 && err == nil {
					t.Error("a panic was not turned into an error")
				}
				done <- o
			}}, nil)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go q.Run(ctx)
		if err := q.Enqueue(ctx, Job{Repo: "o/r", PR: 1}, Job{Repo: "o/r", PR: 2}); err != nil {
			t.Fatal(err)
		}
		got := map[Outcome]int{}
		for range 2 {
			select {
			case o := <-done:
				got[o]++
			case <-time.After(10 * time.Second):
				t.Fatal("jobs not done")
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if calls[1] != 3 || got[OutcomePosted] != 1 {
			t.Errorf("calls %v outcomes %v", calls, got)
		}
	})
}
