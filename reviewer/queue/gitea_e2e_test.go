package queue

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/fiveaxis/fiveaxis/reviewer"
	"github.com/fiveaxis/fiveaxis/reviewer/gitea"
	"github.com/fiveaxis/fiveaxis/reviewer/gitea/giteatest"
)

// waitDrained waits until no job of the queue is waiting, scheduled,
// running or retryable.
func (b *bundle) waitDrained(t testing.TB, d time.Duration) {
	t.Helper()
	waitFor(t, d, "the queue to drain", func() bool {
		c, err := b.q.JobCounts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, states := range c {
			for _, st := range []string{"available", "scheduled", "running", "retryable", "pending"} {
				if states[st] > 0 {
					return false
				}
			}
		}
		return true
	})
}

// The stale-PR sweep against a real Gitea, with the real Gitea forge, the
// real Bot and the real queue (SQLite): a PR whose target moved past
// max_behind gets exactly one needs-rebase review over three sweeps, an idle
// PR exactly one idle comment, and the metrics count the posted review by
// verdict and the forge's failed calls.
func TestE2ESweepAgainstGitea(t *testing.T) {
	srv := giteatest.Start(t)
	r := srv.NewRepo(t)
	r.Branch("feature", "main")
	r.Write("f.go", "package main\n\n// F is f.\nconst F = 1\n")
	r.Commit("f")
	r.Push("feature")
	n, head := r.OpenPR("feature", "main", "F")
	// The target moves 4 commits past the PR's base; max_behind is 3.
	r.Git("checkout", "-q", "main")
	for i := range 4 {
		r.Write(fmt.Sprintf("m%d.txt", i), "main work\n")
		r.Commit(fmt.Sprintf("main %d", i))
	}
	r.Push("main")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	log := testLogger(t)
	client, err := gitea.New(ctx, srv.URL, srv.BotToken, gitea.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	forge := InstrumentForge(client, m)
	if _, ok := forge.(reviewer.BotCommentLister); !ok {
		t.Fatal("the instrumented Gitea forge does not list the bot's comments")
	}
	mirrors := gitea.NewMirrors(t.TempDir(), srv.BotToken, client.CloneURL, log)
	bot := reviewer.NewBot(forge, mirrors.Open, reviewer.Options{MaxBehind: 3, Notes: []string{"LLM off"}}, log, "test")
	b := setup(t, "sqlite", func(o *Options) {
		o.Processor = bot
		o.Metrics = m
		o.Registerer = reg
		o.SweepInterval = -1
	})
	b.start(t)
	sw := &reviewer.Sweeper{Forge: forge, Scopes: []string{r.FullName}, IdleAfter: time.Millisecond, Log: log}

	var plans [][]string
	for i := range 3 {
		actions, err := sw.Run(ctx, b.q)
		if err != nil {
			t.Fatalf("sweep %d: %v", i+1, err)
		}
		var kinds []string
		for _, a := range actions {
			kinds = append(kinds, a.Action)
		}
		plans = append(plans, kinds)
		b.waitDrained(t, 90*time.Second)
	}
	t.Logf("sweep actions: %v", plans)
	if got := strings.Join(plans[0], ","); got != "rebase_check,review,idle_comment" {
		t.Errorf("first sweep: %s, want rebase_check,review,idle_comment", got)
	}
	if got := strings.Join(plans[2], ","); got != "rebase_check" {
		t.Errorf("third sweep: %s, want rebase_check only (head reviewed, idle comment posted)", got)
	}

	// Exactly one review, the needs-rebase one, on the head.
	rs, err := client.BotReviews(ctx, r.FullName, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 {
		t.Fatalf("%d bot reviews after three sweeps, want 1", len(rs))
	}
	mk, ok := reviewer.ParseMarker(rs[0].Body)
	if !ok || mk.Head != head || mk.Kind != reviewer.MarkerNeedsRebase || rs[0].State != "REQUEST_CHANGES" {
		t.Errorf("review: state %s, marker %+v; want REQUEST_CHANGES needs-rebase of %.10s", rs[0].State, mk, head)
	}
	if !strings.Contains(rs[0].Body, "4 commits") {
		t.Errorf("needs-rebase review does not say 4 commits behind:\n%s", rs[0].Body)
	}
	if st := r.Status(head, reviewer.StatusContext); st == nil || string(st.State) != "failure" {
		t.Errorf("status of the head: %+v, want failure", st)
	}

	// Exactly one idle comment, found through BotComments.
	comments, err := client.BotComments(ctx, r.FullName, n)
	if err != nil {
		t.Fatal(err)
	}
	idle := 0
	for _, c := range comments {
		if strings.Contains(c, reviewer.IdleMarker(head)) {
			idle++
		}
	}
	if idle != 1 {
		t.Errorf("%d idle comments over three sweeps, want 1 (bot comments: %q)", idle, comments)
	}

	// Metrics: one review posted, by verdict; forge errors by operation.
	if got := counterValue(t, m.ReviewsPosted.WithLabelValues(string(reviewer.VerdictNeedsRebase))); got != 1 {
		t.Errorf("fiveaxis_reviews_posted_total{verdict=needs_rebase} = %v, want 1", got)
	}
	before := counterValue(t, m.ForgeErrors.WithLabelValues(opPullRequest))
	if _, err := forge.PullRequest(ctx, r.FullName, 9999); err == nil {
		t.Fatal("reading a missing PR succeeded")
	}
	if got := counterValue(t, m.ForgeErrors.WithLabelValues(opPullRequest)); got != before+1 {
		t.Errorf("fiveaxis_forge_errors_total{op=pull_request} = %v, want %v", got, before+1)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, f := range families {
		found[f.GetName()] = len(f.GetMetric()) > 0
	}
	for _, name := range []string{"fiveaxis_reviews_posted_total", "fiveaxis_forge_errors_total", "fiveaxis_jobs_total"} {
		if !found[name] {
			t.Errorf("the registry has no %s series", name)
		}
	}
}

// counterValue reads a counter's value.
func counterValue(t testing.TB, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
