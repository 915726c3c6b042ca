package reviewer

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// sweepForge is an in-memory forge for the sweep's planning logic; the
// sweep against real Gitea is tested with the Gitea adapter.
type sweepForge struct {
	Forge
	mu       sync.Mutex
	prs      []*PRState
	reviews  map[int64][]PostedReview
	comments map[int64][]string
}

func (f *sweepForge) OpenPullRequests(_ context.Context, scope string) ([]*PRState, error) {
	var out []*PRState
	for _, p := range f.prs {
		if scope == "" || scope == p.Repo || strings.HasPrefix(p.Repo, scope+"/") {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f *sweepForge) BotReviews(_ context.Context, _ string, n int64) ([]PostedReview, error) {
	return f.reviews[n], nil
}

func (f *sweepForge) BotComments(_ context.Context, _ string, n int64) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.comments[n]...), nil
}

func (f *sweepForge) Comment(_ context.Context, _ string, n int64, body string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.comments[n] = append(f.comments[n], body)
	return nil
}

type jobList struct{ jobs []Job }

func (l *jobList) Enqueue(_ context.Context, jobs ...Job) error {
	l.jobs = append(l.jobs, jobs...)
	return nil
}

func TestSweep(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	reviewed := Marker{Head: "h1", Base: "main", Version: "v", Config: "c", Kind: MarkerReview}.String()
	f := &sweepForge{
		prs: []*PRState{
			{Repo: "o/a", Number: 1, State: "open", HeadSHA: "h1", BaseRef: "main", UpdatedAt: now.Add(-time.Hour)},
			{Repo: "o/a", Number: 2, State: "open", HeadSHA: "h2", BaseRef: "main", UpdatedAt: now.Add(-30 * 24 * time.Hour)},
			{Repo: "o/a", Number: 3, State: "closed", HeadSHA: "h3", BaseRef: "main"},
		},
		reviews:  map[int64][]PostedReview{1: {{ID: 9, Body: "LGTM\n" + reviewed, CommitID: "h1"}}},
		comments: map[int64][]string{},
	}
	var progress []string
	s := &Sweeper{Forge: f, Scopes: []string{"o/a", "o"}, IdleAfter: 14 * 24 * time.Hour, Now: func() time.Time { return now },
		Progress: func(done, total int) { progress = append(progress, fmt.Sprintf("%d/%d", done, total)) }}
	plan, err := s.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(progress, " "); got != "0/3 1/3 2/3 3/3 0/3 1/3 2/3 3/3" {
		t.Errorf("progress = %s, want each scope counted to its end", got)
	}
	var got []string
	for _, a := range plan {
		got = append(got, a.Action+" "+a.HeadSHA)
	}
	want := []string{"rebase_check h1", "rebase_check h2", "review h2", "idle_comment h2"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("plan = %v, want %v (a PR in two scopes is swept once; closed PRs are skipped)", got, want)
	}
	for i := range 3 {
		enq := &jobList{}
		if _, err := s.Run(context.Background(), enq); err != nil {
			t.Fatal(err)
		}
		if len(enq.jobs) != 3 {
			t.Errorf("sweep %d: %d jobs, want 3", i, len(enq.jobs))
		}
	}
	if n := len(f.comments[2]); n != 1 {
		t.Errorf("idle comments over three sweeps: %d, want 1", n)
	}
	if !strings.Contains(f.comments[2][0], IdleMarker("h2")) {
		t.Errorf("idle comment lacks its marker: %q", f.comments[2][0])
	}
}
