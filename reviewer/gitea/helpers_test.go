package gitea_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/reviewer"
	"github.com/fiveaxis/fiveaxis/reviewer/gitea"
	"github.com/fiveaxis/fiveaxis/reviewer/gitea/giteatest"
)

const testSecret = "e2e-webhook-secret"

// sqlChecker is a small security rule for the tests: it reports an error on
// every added line that builds SQL with fmt.Sprintf.
var sqlChecker = &axes.Checker{
	Name:     "security/test-sql-sprintf",
	Doc:      "SQL built with fmt.Sprintf is injectable. Use query parameters.",
	Axis:     axes.Security,
	Severity: axes.SeverityError,
	Run: func(ctx context.Context, pass *axes.Pass) error {
		for _, f := range pass.ChangedFiles() {
			src, err := pass.Head.ReadFile(f.NewPath)
			if err != nil {
				return err
			}
			lines := strings.Split(string(src), "\n")
			for _, n := range f.Added {
				if n-1 < len(lines) && strings.Contains(lines[n-1], `fmt.Sprintf("SELECT`) {
					pass.Report(axes.Finding{Path: f.NewPath, Line: n, Message: "SQL built with fmt.Sprintf from a request value: use a query parameter"})
				}
			}
		}
		return nil
	},
}

// recQueue is an Enqueuer that records jobs for the test to process.
type recQueue struct {
	mu   sync.Mutex
	jobs []reviewer.Job
	fail error
	ch   chan reviewer.Job
}

func newRecQueue() *recQueue { return &recQueue{ch: make(chan reviewer.Job, 100)} }

func (q *recQueue) Enqueue(ctx context.Context, jobs ...reviewer.Job) error {
	if q.fail != nil {
		return q.fail
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, jobs...)
	for _, j := range jobs {
		q.ch <- j
	}
	return nil
}

func (q *recQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.jobs)
}

// next waits for the next enqueued job matching keep.
func (q *recQueue) next(t testing.TB, keep func(reviewer.Job) bool) reviewer.Job {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case j := <-q.ch:
			if keep == nil || keep(j) {
				return j
			}
		case <-timeout:
			t.Fatal("no job enqueued within 60s")
		}
	}
}

// fixture is what one end-to-end test needs: a fresh repository with a
// local clone, the bot's client, a bot and a webhook handler.
type fixture struct {
	t       testing.TB
	ctx     context.Context
	srv     *giteatest.Server
	r       *giteatest.Repo
	repo    string // owner/name
	admin   *sdk.Client
	client  *gitea.Client
	mirrors *gitea.Mirrors
	opts    reviewer.Options
	bot     *reviewer.Bot
	queue   *recQueue
	handler *gitea.WebhookHandler
	log     *slog.Logger
}

// setup creates a fresh repository with one commit on main (a tiny Go
// module), adds the bot as a write collaborator and builds the bot.
func setup(t testing.TB, maxBehind int) *fixture {
	t.Helper()
	srv := giteatest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	f := &fixture{t: t, ctx: ctx, srv: srv, queue: newRecQueue()}
	f.log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.r = srv.NewRepo(t)
	f.repo, f.admin = f.r.FullName, f.r.Admin
	var err error
	f.client, err = gitea.New(ctx, srv.URL, srv.BotToken, gitea.Options{})
	if err != nil {
		t.Fatalf("bot client: %v", err)
	}
	f.mirrors = gitea.NewMirrors(t.TempDir(), srv.BotToken, f.client.CloneURL, f.log)
	f.opts = reviewer.Options{Checkers: []*axes.Checker{sqlChecker}, MaxBehind: maxBehind, Notes: []string{"LLM off"}}
	f.bot = reviewer.NewBot(f.client, f.mirrors.Open, f.opts, f.log, "test")
	f.handler, err = gitea.NewWebhookHandler(testSecret, f.client, f.queue, f.client.BotUser(), f.log)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func ptr[T any](v T) *T { return &v }

// testWriter sends log lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (f *fixture) owner() string { return f.r.Owner }
func (f *fixture) name() string  { return f.r.Name }

// The repository helpers of giteatest, under the names the tests use.
func (f *fixture) git(args ...string) string    { f.t.Helper(); return f.r.Git(args...) }
func (f *fixture) write(path, content string)   { f.t.Helper(); f.r.Write(path, content) }
func (f *fixture) commit(msg string) string     { f.t.Helper(); return f.r.Commit(msg) }
func (f *fixture) branch(name, from string)     { f.t.Helper(); f.r.Branch(name, from) }
func (f *fixture) push(branch string)           { f.t.Helper(); f.r.Push(branch) }
func (f *fixture) waitHead(n int64, sha string) { f.t.Helper(); f.r.WaitHead(n, sha) }
func (f *fixture) openPR(head, base, title string) (int64, string) {
	f.t.Helper()
	return f.r.OpenPR(head, base, title)
}

// process runs a job through the bot and fails on an error.
func (f *fixture) process(job reviewer.Job) reviewer.Outcome {
	f.t.Helper()
	out, err := f.bot.Process(f.ctx, job)
	if err != nil {
		f.t.Fatalf("process %+v: %v", job, err)
	}
	return out
}

func (f *fixture) reviews(n int64) []reviewer.PostedReview {
	f.t.Helper()
	rs, err := f.client.BotReviews(f.ctx, f.repo, n)
	if err != nil {
		f.t.Fatalf("bot reviews: %v", err)
	}
	return rs
}

// status returns the fiveaxis/review status on sha, or nil.
func (f *fixture) status(sha string) *sdk.Status {
	f.t.Helper()
	return f.r.Status(sha, reviewer.StatusContext)
}

// deliver posts a webhook payload to the handler, signed like Gitea, and
// returns the status code.
func (f *fixture) deliver(event string, payload any) int {
	f.t.Helper()
	body, err := json.Marshal(payload)
	if err != nil {
		f.t.Fatal(err)
	}
	return deliverRaw(f.handler, event, body, gitea.Sign(testSecret, body))
}

func deliverRaw(h http.Handler, event string, body []byte, sig string) int {
	req := httptest.NewRequest(http.MethodPost, gitea.WebhookPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Gitea-Event", event)
	if sig != "" {
		req.Header.Set("X-Gitea-Signature", sig)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	_, _ = io.Copy(io.Discard, rec.Body)
	return rec.Code
}

// prPayload is a pull_request payload as Gitea sends it.
func (f *fixture) prPayload(action string, n int64, head, base, sender string) map[string]any {
	return f.r.PRPayload(action, n, head, base, sender)
}

func (f *fixture) commentPayload(n int64, body, sender string) map[string]any {
	return f.r.CommentPayload(n, body, sender)
}

// hookServer serves the webhook handler over HTTP and registers it as a real
// Gitea webhook of the repository, for pull_request and issue_comment events.
func (f *fixture) hookServer() *httptest.Server {
	f.t.Helper()
	mux := http.NewServeMux()
	mux.Handle(gitea.WebhookPath, f.handler)
	srv := httptest.NewServer(mux)
	f.t.Cleanup(srv.Close)
	f.r.AddWebhook(srv.URL+gitea.WebhookPath, testSecret)
	return srv
}

// findMarker fails unless exactly one of the reviews carries a marker for
// head, and returns it.
func findReview(t testing.TB, rs []reviewer.PostedReview, head string) reviewer.PostedReview {
	t.Helper()
	var found []reviewer.PostedReview
	for _, r := range rs {
		if m, ok := reviewer.ParseMarker(r.Body); ok && m.Head == head {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want 1 bot review of %.10s, got %d (of %d reviews)", head, len(found), len(rs))
	}
	return found[0]
}
