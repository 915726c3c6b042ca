package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fiveaxis/fiveaxis/reviewer"
)

func review(repo string, pr int64, head string) reviewer.Job {
	return reviewer.Job{Kind: reviewer.JobReview, Repo: repo, PR: pr, HeadSHA: head, Reason: "synchronized"}
}

func TestUniqueAndCoalesce(t *testing.T) {
	for _, d := range drivers {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setup(t, d, func(o *Options) { o.Debounce = time.Hour })
			ctx := context.Background()
			mustEnqueue(t, b.q, review("o/r", 1, "aaa"))
			mustEnqueue(t, b.q, review("o/r", 1, "aaa")) // a redelivered webhook
			if n := b.count(t, KindReviewPR, "scheduled"); n != 1 {
				t.Fatalf("same repo/pr/head enqueued twice: %d jobs, want 1", n)
			}
			// Another PR and another repository are not affected.
			mustEnqueue(t, b.q, review("o/r", 2, "aaa"), review("o/other", 1, "aaa"))
			// A newer head cancels the queued job of the older head.
			mustEnqueue(t, b.q, review("o/r", 1, "bbb"))
			if got, want := b.count(t, KindReviewPR, "scheduled"), int64(3); got != want {
				t.Errorf("scheduled = %d, want %d", got, want)
			}
			if got := b.count(t, KindReviewPR, "cancelled"); got != 1 {
				t.Errorf("cancelled = %d, want 1 (the older head of o/r#1)", got)
			}
			// A late redelivery of the older head does not bring it back
			// ahead of the newer one, nor cancel it.
			mustEnqueue(t, b.q, review("o/r", 1, "bbb"))
			if got := b.count(t, KindReviewPR, "scheduled"); got != 3 {
				t.Errorf("after redelivery: scheduled = %d, want 3", got)
			}
			// Rebase checks are unique while queued too.
			rc := reviewer.Job{Kind: reviewer.JobRebaseCheck, Repo: "o/r", PR: 1, HeadSHA: "bbb", Reason: "sweep"}
			mustEnqueue(t, b.q, rc, rc)
			if got := b.count(t, KindRebaseCheck, "available"); got != 1 {
				t.Errorf("rebase checks = %d, want 1", got)
			}
			if err := b.q.Enqueue(ctx, reviewer.Job{Repo: "o/r"}); err == nil {
				t.Error("a job without PR and head was accepted")
			}
		})
	}
}

func mustEnqueue(t testing.TB, q *Queue, jobs ...reviewer.Job) {
	t.Helper()
	if err := q.Enqueue(context.Background(), jobs...); err != nil {
		t.Fatal(err)
	}
}

func TestOutcomes(t *testing.T) {
	for _, d := range drivers {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setup(t, d, func(o *Options) { o.MaxAttempts = 2 })
			b.proc.set(func(_ context.Context, j reviewer.Job, n int) (reviewer.Outcome, error) {
				switch j.HeadSHA {
				case "closed":
					return reviewer.OutcomeClosed, nil
				case "moved":
					return reviewer.OutcomeHeadMoved, nil
				case "gone":
					return "", fmt.Errorf("read PR: %w", reviewer.ErrNotFound)
				case "broken":
					return "", errors.New("boom")
				}
				return reviewer.OutcomeDuplicate, nil
			})
			b.start(t)
			mustEnqueue(t, b.q, review("o/a", 1, "closed"), review("o/a", 2, "moved"), review("o/a", 3, "gone"),
				review("o/a", 4, "broken"), review("o/a", 5, "fine"))
			waitFor(t, 30*time.Second, "all jobs finished", func() bool {
				return b.count(t, KindReviewPR, "cancelled") == 3 && b.count(t, KindReviewPR, "discarded") == 1 &&
					b.count(t, KindReviewPR, "completed") == 1
			})
			calls := map[string]int{}
			for _, c := range b.proc.snapshot() {
				calls[c.Job.HeadSHA]++
			}
			want := map[string]int{"closed": 1, "moved": 1, "gone": 1, "broken": 2, "fine": 1}
			for k, v := range want {
				if calls[k] != v {
					t.Errorf("%s: %d calls, want %d", k, calls[k], v)
				}
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	for _, d := range drivers {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setup(t, d, nil)
			const after = 3 * time.Second
			b.proc.set(func(_ context.Context, j reviewer.Job, n int) (reviewer.Outcome, error) {
				if n == 0 {
					return "", &reviewer.RetryableError{Err: errors.New("forge: HTTP 429"), After: after}
				}
				return reviewer.OutcomePosted, nil
			})
			b.start(t)
			mustEnqueue(t, b.q, review("o/r", 1, "aaa"))
			waitFor(t, 30*time.Second, "retried job completed", func() bool { return b.count(t, KindReviewPR, "completed") == 1 })
			calls := b.proc.snapshot()
			if len(calls) != 2 {
				t.Fatalf("%d calls, want 2", len(calls))
			}
			// River's own first backoff is about 1s; Retry-After must win.
			if gap := calls[1].Start.Sub(calls[0].End); gap < after-100*time.Millisecond {
				t.Errorf("retried after %s, want at least the Retry-After of %s", gap, after)
			}
		})
	}
}

func TestPerRepoLimit(t *testing.T) {
	for _, d := range drivers {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setup(t, d, func(o *Options) { o.Concurrency = 4; o.PerRepo = 1 })
			var mu sync.Mutex
			running, peak := map[string]int{}, map[string]int{}
			b.proc.set(func(ctx context.Context, j reviewer.Job, n int) (reviewer.Outcome, error) {
				mu.Lock()
				running[j.Repo]++
				peak[j.Repo] = max(peak[j.Repo], running[j.Repo])
				mu.Unlock()
				time.Sleep(300 * time.Millisecond)
				mu.Lock()
				running[j.Repo]--
				mu.Unlock()
				return reviewer.OutcomePosted, nil
			})
			var jobs []reviewer.Job
			for pr := int64(1); pr <= 6; pr++ {
				jobs = append(jobs, review("busy/repo", pr, "h"))
			}
			jobs = append(jobs, review("quiet/repo", 1, "h"))
			mustEnqueue(t, b.q, jobs...)
			b.start(t)
			waitFor(t, 60*time.Second, "all jobs done", func() bool { return b.count(t, KindReviewPR, "completed") == 7 })
			if peak["busy/repo"] != 1 {
				t.Errorf("busy/repo ran %d jobs at once, want at most 1", peak["busy/repo"])
			}
			// The quiet repository is not starved: its job starts before
			// the busy repository's second job ends.
			var quietStart time.Time
			var busyEnds []time.Time
			for _, c := range b.proc.snapshot() {
				if c.Job.Repo == "quiet/repo" {
					quietStart = c.Start
				} else {
					busyEnds = append(busyEnds, c.End)
				}
			}
			if len(busyEnds) < 2 {
				t.Fatalf("busy calls: %d", len(busyEnds))
			}
			secondEnd := busyEnds[1]
			if !quietStart.Before(secondEnd) {
				t.Errorf("quiet/repo waited for busy/repo: started %s after the second busy job ended", quietStart.Sub(secondEnd))
			}
		})
	}
}

func TestGracefulShutdown(t *testing.T) {
	for _, d := range drivers {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setup(t, d, nil)
			release := make(chan struct{})
			b.proc.set(func(ctx context.Context, j reviewer.Job, n int) (reviewer.Outcome, error) {
				if j.PR == 1 {
					<-release // finishes within the deadline
					return reviewer.OutcomePosted, nil
				}
				<-ctx.Done() // cut off by the deadline
				return "", ctx.Err()
			})
			b.start(t)
			mustEnqueue(t, b.q, review("o/r", 1, "a"), review("o/s", 2, "b"))
			waitFor(t, 20*time.Second, "both jobs running", func() bool { return b.proc.n() == 2 })
			go func() { time.Sleep(200 * time.Millisecond); close(release) }()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if err := b.q.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			if got := b.count(t, KindReviewPR, "completed"); got != 1 {
				t.Errorf("completed = %d, want 1 (the job that finished in time)", got)
			}
			if got := b.count(t, KindReviewPR, "running"); got != 0 {
				t.Errorf("running after shutdown = %d, want 0", got)
			}
			b.q.Close()

			// Restart: the cut-off job runs again and completes.
			proc := newRecorder()
			opts := b.opts
			opts.Processor = proc
			q2, err := Open(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			b2 := &bundle{q: q2, proc: proc}
			t.Cleanup(func() { q2.Shutdown(context.Background()); q2.Close() })
			b2.start(t)
			waitFor(t, 30*time.Second, "cut-off job retried", func() bool { return b2.count(t, KindReviewPR, "completed") == 2 })
			calls := proc.snapshot()
			if len(calls) != 1 || calls[0].Job.PR != 2 {
				t.Errorf("after restart: calls %+v, want one call for PR 2", calls)
			}
		})
	}
}

// TestBurst delivers 200 synchronized events for 10 PRs (20 pushes each, in
// order, within about a second) and expects exactly one review per PR, of
// its latest head. The processor plays the Bot against a simulated forge:
// it posts only when the job's head is the PR's current head, and once per
// head.
func TestBurst(t *testing.T) {
	for _, d := range drivers {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setup(t, d, func(o *Options) { o.Debounce = 2 * time.Second; o.Concurrency = 4; o.PerRepo = 2 })
			const prs, pushes = 10, 20
			var mu sync.Mutex
			current := map[int64]string{}
			posted := map[int64][]string{}
			b.proc.set(func(ctx context.Context, j reviewer.Job, n int) (reviewer.Outcome, error) {
				mu.Lock()
				defer mu.Unlock()
				if current[j.PR] != j.HeadSHA {
					return reviewer.OutcomeHeadMoved, nil
				}
				for _, h := range posted[j.PR] {
					if h == j.HeadSHA {
						return reviewer.OutcomeDuplicate, nil
					}
				}
				posted[j.PR] = append(posted[j.PR], j.HeadSHA)
				return reviewer.OutcomePosted, nil
			})
			b.start(t)
			var wg sync.WaitGroup
			startAt := time.Now().Add(100 * time.Millisecond)
			for pr := int64(1); pr <= prs; pr++ {
				wg.Go(func() {
					time.Sleep(time.Until(startAt))
					for i := 1; i <= pushes; i++ {
						head := fmt.Sprintf("pr%d-push%02d", pr, i)
						mu.Lock()
						current[pr] = head // the forge has the new head before the webhook
						mu.Unlock()
						if err := b.q.Enqueue(context.Background(), review("org/mono", pr, head)); err != nil {
							t.Error(err)
						}
						time.Sleep(40 * time.Millisecond)
					}
				})
			}
			wg.Wait()
			if el := time.Since(startAt); el > 2*time.Second {
				t.Logf("burst took %s (pushes spaced beyond the debounce may each be reviewed)", el)
			}
			waitFor(t, 60*time.Second, "no jobs left", func() bool {
				c, err := b.q.JobCounts(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				return c[KindReviewPR]["scheduled"]+c[KindReviewPR]["available"]+c[KindReviewPR]["running"]+c[KindReviewPR]["retryable"] == 0
			})
			mu.Lock()
			defer mu.Unlock()
			for pr := int64(1); pr <= prs; pr++ {
				want := fmt.Sprintf("pr%d-push%02d", pr, pushes)
				if got := posted[pr]; len(got) != 1 || got[0] != want {
					t.Errorf("PR %d: reviews of %v, want exactly one of %s", pr, got, want)
				}
			}
			t.Logf("%d processor calls for %d events", b.proc.n(), prs*pushes)
		})
	}
}

type sweepFunc func(ctx context.Context, enq reviewer.Enqueuer) ([]reviewer.SweepAction, error)

func (f sweepFunc) Run(ctx context.Context, enq reviewer.Enqueuer) ([]reviewer.SweepAction, error) {
	return f(ctx, enq)
}

func TestPeriodicSweep(t *testing.T) {
	for _, d := range drivers {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			sweeps := 0
			b := setup(t, d, func(o *Options) {
				o.SweepInterval = time.Second
				o.Sweeper = sweepFunc(func(ctx context.Context, enq reviewer.Enqueuer) ([]reviewer.SweepAction, error) {
					mu.Lock()
					sweeps++
					mu.Unlock()
					return nil, enq.Enqueue(ctx, reviewer.Job{Kind: reviewer.JobRebaseCheck, Repo: "o/r", PR: 1, HeadSHA: "h", Reason: "sweep"})
				})
			})
			b.start(t)
			waitFor(t, 30*time.Second, "two sweeps", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return sweeps >= 2
			})
			waitFor(t, 10*time.Second, "the sweep's rebase check ran", func() bool {
				for _, c := range b.proc.snapshot() {
					if c.Job.Kind == reviewer.JobRebaseCheck {
						return true
					}
				}
				return false
			})
		})
	}
}

func TestReadyAndMetrics(t *testing.T) {
	for _, d := range drivers {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			db, schema := database(t, d)
			reg := prometheus.NewRegistry()
			q, err := Open(context.Background(), Options{Database: db, Schema: schema, Registerer: reg,
				Metrics: NewMetrics(reg), Logger: testLogger(t), Processor: newRecorder(), Debounce: -1,
				FetchPollInterval: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			if err := q.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "migrat") {
				t.Fatalf("Ready before migrating = %v, want an error about migrations", err)
			}
			if _, err := q.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := q.Ready(context.Background()); err != nil {
				t.Fatalf("Ready after migrating: %v", err)
			}
			if err := q.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer q.Shutdown(context.Background())
			mustEnqueue(t, q, review("o/r", 1, "a"))
			waitFor(t, 20*time.Second, "job counted", func() bool {
				return testCounter(t, reg, "fiveaxis_jobs_total", "posted") == 1
			})
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			names := map[string]bool{}
			for _, mf := range mfs {
				names[mf.GetName()] = true
			}
			for _, n := range []string{"fiveaxis_jobs_total", "fiveaxis_job_duration_seconds", "fiveaxis_jobs_enqueued_total"} {
				if !names[n] {
					t.Errorf("metric %s missing; have %v", n, names)
				}
			}
			// The depth gauge is collected on scrape; there may be no
			// unfinished job left, so collect it directly.
			mustEnqueue(t, q, reviewer.Job{Kind: reviewer.JobRebaseCheck, Repo: "o/r", PR: 9, HeadSHA: "x"})
			if _, err := q.be.depth(context.Background()); err != nil {
				t.Errorf("queue depth: %v", err)
			}
		})
	}
}

func testCounter(t testing.TB, reg *prometheus.Registry, name, outcome string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

// TestCrashRecovery kills a worker process with SIGKILL in the middle of a
// job and starts another: the job is retried and nothing is lost. On SQLite
// the new process rescues the orphaned job at start; on PostgreSQL River's
// rescuer does after RescueAfter.
func TestCrashRecovery(t *testing.T) {
	for _, d := range drivers {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setup(t, d, nil) // migrates; enqueues only
			dir := t.TempDir()
			c1 := startChild(t, b.opts.Database, b.opts.Schema, dir+"/c1.log", 5*time.Second)
			var jobs []reviewer.Job
			for i := int64(1); i <= 4; i++ {
				jobs = append(jobs, review(fmt.Sprintf("o/r%d", i), i, "h"))
			}
			mustEnqueue(t, b.q, jobs...)
			waitFor(t, 20*time.Second, "a job running in the child", func() bool {
				return len(grep(readLines(t, c1.log), "start ")) > 0
			})
			c1.cmd.Process.Signal(syscall.SIGKILL)
			c1.cmd.Wait()
			c2 := startChild(t, b.opts.Database, b.opts.Schema, dir+"/c2.log", 100*time.Millisecond)
			waitFor(t, 90*time.Second, "all jobs completed", func() bool { return b.count(t, KindReviewPR, "completed") == 4 })
			done := grep(append(readLines(t, c1.log), readLines(t, c2.log)...), "done ")
			if len(done) != 4 {
				t.Errorf("done lines: %v, want one per job", done)
			}
			c2.cmd.Process.Signal(syscall.SIGTERM)
			c2.cmd.Wait()
		})
	}
}

func grep(lines []string, prefix string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// TestScaleOut runs two worker processes on one PostgreSQL database: they
// share the load, no job completes twice, and killing one loses nothing.
func TestScaleOut(t *testing.T) {
	t.Parallel()
	b := setup(t, "postgres", nil)
	dir := t.TempDir()
	c1 := startChild(t, b.opts.Database, b.opts.Schema, dir+"/c1.log", 150*time.Millisecond)
	c2 := startChild(t, b.opts.Database, b.opts.Schema, dir+"/c2.log", 150*time.Millisecond)
	const n = 60
	var jobs []reviewer.Job
	for i := int64(1); i <= n; i++ {
		jobs = append(jobs, review(fmt.Sprintf("o/r%d", i%7), i, "h"))
	}
	mustEnqueue(t, b.q, jobs...)
	waitFor(t, 30*time.Second, "both workers busy", func() bool {
		return len(grep(readLines(t, c1.log), "done ")) >= 3 && len(grep(readLines(t, c2.log), "done ")) >= 3
	})
	// Kill the first worker in the middle of its jobs.
	c1.cmd.Process.Signal(syscall.SIGKILL)
	c1.cmd.Wait()
	waitFor(t, 120*time.Second, "all jobs completed", func() bool { return b.count(t, KindReviewPR, "completed") == n })
	l1, l2 := readLines(t, c1.log), readLines(t, c2.log)
	done := map[string]int{}
	for _, l := range append(grep(l1, "done "), grep(l2, "done ")...) {
		done[strings.Fields(l)[1]]++
	}
	// A job may only run twice if the killed worker was running it.
	started1 := map[string]bool{}
	for _, l := range grep(l1, "start ") {
		started1[strings.Fields(l)[1]] = true
	}
	done1 := map[string]bool{}
	for _, l := range grep(l1, "done ") {
		done1[strings.Fields(l)[1]] = true
	}
	for id, k := range done {
		if k > 1 && !(started1[id] && done1[id]) {
			t.Errorf("job %s done %d times", id, k)
		}
	}
	if len(done) != n {
		t.Errorf("%d distinct jobs done, want %d", len(done), n)
	}
	t.Logf("worker 1 finished %d jobs before SIGKILL, worker 2 %d", len(grep(l1, "done ")), len(grep(l2, "done ")))
	c2.cmd.Process.Signal(syscall.SIGTERM)
	c2.cmd.Wait()
}
