package gitea_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/reviewer"
	"github.com/fiveaxis/fiveaxis/reviewer/gitea"
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
	repo    string // owner/name
	work    string // local clone
	admin   *sdk.Client
	client  *gitea.Client
	mirrors *gitea.Mirrors
	opts    reviewer.Options
	bot     *reviewer.Bot
	queue   *recQueue
	handler *gitea.WebhookHandler
	log     *slog.Logger
}

var repoSeq atomic.Int64

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// setup creates a fresh repository with one commit on main (a tiny Go
// module), adds the bot as a write collaborator and builds the bot.
func setup(t testing.TB, maxBehind int) *fixture {
	t.Helper()
	if skipE2E != "" {
		t.Skip(skipE2E)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	f := &fixture{t: t, ctx: ctx, queue: newRecQueue()}
	f.log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var err error
	f.admin, err = sdk.NewClient(giteaEnv.URL, sdk.SetToken(giteaEnv.AdminToken))
	if err != nil {
		t.Fatalf("admin client: %v", err)
	}
	name := strings.ToLower(unsafeChars.ReplaceAllString(t.Name(), "-"))
	name = fmt.Sprintf("%s-%d", strings.Trim(name, "-"), repoSeq.Add(1))
	if _, _, err := f.admin.CreateRepo(sdk.CreateRepoOption{Name: name, DefaultBranch: "main"}); err != nil {
		t.Fatalf("create repo: %v", err)
	}
	f.repo = giteaEnv.AdminUser + "/" + name
	if _, err := f.admin.AddCollaborator(giteaEnv.AdminUser, name, giteaEnv.BotUser, sdk.AddCollaboratorOption{Permission: ptr(sdk.AccessModeWrite)}); err != nil {
		t.Fatalf("add bot as collaborator: %v", err)
	}
	f.work = t.TempDir()
	f.git("init", "-q", "-b", "main")
	f.git("remote", "add", "origin", f.remoteURL())
	f.write("go.mod", "module example.com/app\n\ngo 1.22\n")
	f.write("main.go", "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hello\")\n}\n")
	f.commit("initial commit")
	f.git("push", "-q", "origin", "main")

	f.client, err = gitea.New(ctx, giteaEnv.URL, giteaEnv.BotToken, gitea.Options{})
	if err != nil {
		t.Fatalf("bot client: %v", err)
	}
	f.mirrors = gitea.NewMirrors(t.TempDir(), giteaEnv.BotToken, f.client.CloneURL, f.log)
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

func (f *fixture) remoteURL() string {
	u := strings.TrimSuffix(giteaEnv.URL, "/")
	u = strings.Replace(u, "://", fmt.Sprintf("://%s:%s@", giteaEnv.AdminUser, giteaEnv.AdminToken), 1)
	return u + "/" + f.repo + ".git"
}

func (f *fixture) owner() string { o, _, _ := strings.Cut(f.repo, "/"); return o }
func (f *fixture) name() string  { _, n, _ := strings.Cut(f.repo, "/"); return n }

// git runs the git CLI in the clone and returns its trimmed output.
func (f *fixture) git(args ...string) string {
	f.t.Helper()
	return runGit(f.t, f.work, args...)
}

func runGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Test Author", "GIT_AUTHOR_EMAIL=author@example.com",
		"GIT_COMMITTER_NAME=Test Author", "GIT_COMMITTER_EMAIL=author@example.com")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

func (f *fixture) write(path, content string) {
	f.t.Helper()
	p := filepath.Join(f.work, path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// commit commits everything and returns the new HEAD.
func (f *fixture) commit(msg string) string {
	f.t.Helper()
	f.git("add", "-A")
	f.git("commit", "-q", "--allow-empty", "-m", msg)
	return f.git("rev-parse", "HEAD")
}

// branch creates (or resets) branch at from and checks it out.
func (f *fixture) branch(name, from string) {
	f.t.Helper()
	f.git("checkout", "-q", "-B", name, from)
}

func (f *fixture) push(branch string) {
	f.t.Helper()
	f.git("push", "-q", "-f", "origin", branch+":"+branch)
}

// openPR opens a PR as the admin and waits until Gitea reports its head.
func (f *fixture) openPR(head, base, title string) (int64, string) {
	f.t.Helper()
	// Gitea records pushed branches asynchronously: retry while it says 404.
	var pr *sdk.PullRequest
	deadline := time.Now().Add(30 * time.Second)
	for {
		var (
			resp *sdk.Response
			err  error
		)
		pr, resp, err = f.admin.CreatePullRequest(f.owner(), f.name(), sdk.CreatePullRequestOption{Head: head, Base: base, Title: title, Body: "test PR"})
		if err == nil {
			break
		}
		if resp == nil || resp.StatusCode != http.StatusNotFound || time.Now().After(deadline) {
			f.t.Fatalf("create PR: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	sha := f.git("rev-parse", head)
	f.waitHead(pr.Index, sha)
	return pr.Index, sha
}

// waitHead waits until Gitea reports sha as the PR's head.
func (f *fixture) waitHead(n int64, sha string) {
	f.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		pr, err := f.client.PullRequest(f.ctx, f.repo, n)
		if err == nil && pr.HeadSHA == sha {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("PR #%d head is not %s after 30s (err %v)", n, sha, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
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
	ss, _, err := f.admin.ListStatuses(f.owner(), f.name(), sha, sdk.ListStatusesOption{})
	if err != nil {
		f.t.Fatalf("list statuses: %v", err)
	}
	var latest *sdk.Status
	for _, s := range ss {
		if s.Context == reviewer.StatusContext && (latest == nil || s.ID > latest.ID) {
			latest = s
		}
	}
	return latest
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

// prPayload is a pull_request payload as Gitea sends it (the fields the bot
// reads, plus a few more).
func (f *fixture) prPayload(action string, n int64, head, base, sender string) map[string]any {
	return map[string]any{
		"action": action,
		"number": n,
		"pull_request": map[string]any{
			"number": n, "state": "open",
			"head": map[string]any{"ref": "feature", "sha": head},
			"base": map[string]any{"ref": base},
		},
		"repository": map[string]any{"full_name": f.repo, "name": f.name(), "owner": map[string]any{"login": f.owner()}},
		"sender":     map[string]any{"login": sender},
	}
}

func (f *fixture) commentPayload(n int64, body, sender string) map[string]any {
	return map[string]any{
		"action":     "created",
		"issue":      map[string]any{"number": n, "pull_request": map[string]any{"merged": false}},
		"comment":    map[string]any{"body": body, "user": map[string]any{"login": sender}},
		"repository": map[string]any{"full_name": f.repo, "name": f.name(), "owner": map[string]any{"login": f.owner()}},
		"sender":     map[string]any{"login": sender},
		"is_pull":    true,
	}
}

// hookServer serves the webhook handler over HTTP and registers it as a real
// Gitea webhook of the repository, for pull_request and issue_comment events.
func (f *fixture) hookServer() *httptest.Server {
	f.t.Helper()
	mux := http.NewServeMux()
	mux.Handle(gitea.WebhookPath, f.handler)
	srv := httptest.NewServer(mux)
	f.t.Cleanup(srv.Close)
	_, _, err := f.admin.CreateRepoHook(f.owner(), f.name(), sdk.CreateHookOption{
		Type:   sdk.HookTypeGitea,
		Active: true,
		Events: []string{"pull_request", "issue_comment"},
		Config: map[string]string{"url": srv.URL + gitea.WebhookPath, "content_type": "json", "secret": testSecret},
	})
	if err != nil {
		f.t.Fatalf("create webhook: %v", err)
	}
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
