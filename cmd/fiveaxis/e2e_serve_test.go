package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/fiveaxis/fiveaxis/reviewer"
	"github.com/fiveaxis/fiveaxis/reviewer/gitea/giteatest"
)

// End-to-end tests of `fiveaxis review --pr` and `fiveaxis serve` against a
// real Gitea (one per test binary, from giteatest), with real git and the
// real SQLite queue.

const e2eSecret = "serve-e2e-webhook-secret"

var (
	e2eBinOnce sync.Once
	e2eBinDir  string
	e2eBin     string
	e2eBinErr  error
)

// TestMain stops the package's Gitea server and removes the serve binary.
func TestMain(m *testing.M) {
	code := giteatest.Main(m)
	if e2eBinDir != "" {
		_ = os.RemoveAll(e2eBinDir)
	}
	os.Exit(code)
}

// serveBinary builds fiveaxis once for the package's end-to-end tests.
func serveBinary(t testing.TB) string {
	t.Helper()
	e2eBinOnce.Do(func() {
		if e2eBinDir, e2eBinErr = os.MkdirTemp("", "fiveaxis-e2e-bin-"); e2eBinErr != nil {
			return
		}
		e2eBin = filepath.Join(e2eBinDir, "fiveaxis")
		out, err := exec.Command("go", "build", "-o", e2eBin, ".").CombinedOutput()
		if err != nil {
			e2eBinErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if e2eBinErr != nil {
		t.Fatal(e2eBinErr)
	}
	return e2eBin
}

// sqlPR is a file whose query is built with fmt.Sprintf from a parameter:
// a blocking security finding.
const sqlPR = `// Package catalog searches products.
package catalog

import (
	"context"
	"database/sql"
	"fmt"
)

// Search finds products by name.
func Search(ctx context.Context, db *sql.DB, name string) (*sql.Rows, error) {
	q := fmt.Sprintf("SELECT id FROM products WHERE name = '%s'", name)
	return db.QueryContext(ctx, q)
}
`

// botReviewsOf returns the bot's reviews of PR n whose marker names head.
func botReviewsOf(t testing.TB, r *giteatest.Repo, n int64, head string) []*sdk.PullReview {
	t.Helper()
	var out []*sdk.PullReview
	for _, rv := range r.Reviews(n) {
		if rv.Reviewer == nil || rv.Reviewer.UserName != r.Srv.BotUser {
			continue
		}
		if m, ok := reviewer.ParseMarker(rv.Body); ok && m.Head == head {
			out = append(out, rv)
		}
	}
	return out
}

// `fiveaxis review --pr OWNER/REPO#N` prints the review of a real PR and
// posts nothing; with --post it posts it once.
func TestE2EReviewPR(t *testing.T) {
	srv := giteatest.Start(t)
	r := srv.NewRepo(t)
	r.Branch("feature", "main")
	r.Write("catalog/search.go", sqlPR)
	r.Commit("search")
	r.Push("feature")
	n, head := r.OpenPR("feature", "main", "Search products")
	env := map[string]string{
		"FIVEAXIS_GITEA_URL":   srv.URL,
		"FIVEAXIS_GITEA_TOKEN": srv.BotToken,
		"FIVEAXIS_DATA_DIR":    t.TempDir(),
		"FIVEAXIS_LOG_FORMAT":  "text",
	}
	ref := fmt.Sprintf("%s#%d", r.FullName, n)

	code, out, errOut := runCLI(t, env, "review", "--pr", ref)
	if code != exitBlocking {
		t.Fatalf("review --pr: exit %d, want %d (blocking)\nstdout:\n%s\nstderr:\n%s", code, exitBlocking, out, errOut)
	}
	for _, want := range []string{"REQUEST CHANGES", "catalog/search.go", head} {
		if !strings.Contains(out, want) {
			t.Errorf("review --pr output lacks %q:\n%s", want, out)
		}
	}
	if rs := r.Reviews(n); len(rs) != 0 {
		t.Fatalf("review --pr without --post posted %d reviews", len(rs))
	}
	if st := r.Status(head, reviewer.StatusContext); st != nil {
		t.Errorf("review --pr without --post set a status: %+v", st)
	}

	code, out, errOut = runCLI(t, env, "review", "--pr", ref, "--post")
	if code != 0 || strings.TrimSpace(out) != ref+": "+string(reviewer.OutcomePosted) {
		t.Fatalf("review --pr --post: exit %d, stdout %q, want %q\nstderr:\n%s", code, out, ref+": posted", errOut)
	}
	rs := botReviewsOf(t, r, n, head)
	if len(rs) != 1 || rs[0].State != sdk.ReviewStateRequestChanges {
		t.Fatalf("after --post: %d bot reviews of the head (%+v), want 1 REQUEST_CHANGES", len(rs), rs)
	}
	if rs[0].CodeCommentsCount == 0 {
		t.Errorf("the posted review has no inline comment on the query")
	}
	if st := r.Status(head, reviewer.StatusContext); st == nil || st.State != sdk.StatusFailure {
		t.Errorf("status after --post: %+v, want failure", st)
	}
	// Posting again finds the marker: nothing new.
	code, out, _ = runCLI(t, env, "review", "--pr", ref, "--post")
	if code != 0 || !strings.Contains(out, string(reviewer.OutcomeDuplicate)) {
		t.Errorf("second --post: exit %d, %q; want %s", code, out, reviewer.OutcomeDuplicate)
	}
	if got := len(botReviewsOf(t, r, n, head)); got != 1 {
		t.Errorf("%d bot reviews after a second --post, want 1", got)
	}
}

// holdProxy sits between serve and Gitea. While hold is set it never
// forwards a request that posts a review: it reports it on held and waits
// until the client goes away (serve is killed). Everything else passes.
// It injects the fault "serve dies in the middle of a review".
type holdProxy struct {
	rp   *httputil.ReverseProxy
	hold atomic.Bool
	held chan string
}

func newHoldProxy(t testing.TB, target string) *httpTestServer {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &holdProxy{rp: httputil.NewSingleHostReverseProxy(u), held: make(chan string, 16)}
	return startHTTP(t, p, p)
}

func (p *holdProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.hold.Load() && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/reviews") {
		select {
		case p.held <- r.URL.Path:
		default:
		}
		<-r.Context().Done()
		return
	}
	p.rp.ServeHTTP(w, r)
}

// httpTestServer is an HTTP server on a free loopback port.
type httpTestServer struct {
	URL   string
	proxy *holdProxy
}

func startHTTP(t testing.TB, h http.Handler, p *holdProxy) *httpTestServer {
	t.Helper()
	port := freePort(t)
	s := &http.Server{Addr: "127.0.0.1:" + port, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.ListenAndServe() }()
	t.Cleanup(func() { _ = s.Close() })
	return &httpTestServer{URL: "http://127.0.0.1:" + port, proxy: p}
}

// serveProc is a `fiveaxis serve` child process.
type serveProc struct {
	t      testing.TB
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan error
	base   string // http://127.0.0.1:PORT
}

// startServe starts `fiveaxis serve` with its data (mirrors, SQLite queue)
// in dataDir, against the Gitea at giteaURL, and waits for /readyz.
func startServe(t testing.TB, bin, giteaURL, token, dataDir, port string) *serveProc {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:"+port)
	cmd.Env = append(os.Environ(),
		"FIVEAXIS_GITEA_URL="+giteaURL,
		"FIVEAXIS_GITEA_TOKEN="+token,
		"FIVEAXIS_WEBHOOK_SECRET="+e2eSecret,
		"FIVEAXIS_DATA_DIR="+dataDir,
		"FIVEAXIS_LOG_LEVEL=debug",
		"FIVEAXIS_LOG_FORMAT=json",
		"FIVEAXIS_CONFIG=", // no config file: the environment only
	)
	cmd.Dir = dataDir
	p := &serveProc{t: t, cmd: cmd, logs: &syncBuffer{}, exited: make(chan error, 1), base: "http://127.0.0.1:" + port}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("serve (pid %d) logs:\n%s", cmd.Process.Pid, p.logs.String())
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		if code, _ := p.get("/readyz"); code == http.StatusOK {
			return p
		}
		select {
		case err := <-p.exited:
			p.exited <- err
			t.Fatalf("serve exited: %v\n%s", err, p.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready after 90s\n%s", p.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *serveProc) get(path string) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return resp.StatusCode, b.String()
}

// deliver POSTs a signed webhook to serve and requires 202.
func (p *serveProc) deliver(event string, payload any) {
	p.t.Helper()
	code, err := giteatest.Deliver(context.Background(), p.base+"/webhook/gitea", e2eSecret, event, payload)
	if err != nil || code != http.StatusAccepted {
		p.t.Fatalf("deliver %s: HTTP %d, %v; want 202", event, code, err)
	}
}

// kill sends SIGKILL and waits for the process to end.
func (p *serveProc) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.t.Fatal(err)
	}
	<-p.exited
}

// stop sends SIGTERM and waits up to 90s for a clean exit.
func (p *serveProc) stop() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		if err != nil {
			p.t.Errorf("serve exited after SIGTERM: %v", err)
		}
	case <-time.After(90 * time.Second):
		p.t.Error("serve did not stop within 90s of SIGTERM")
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// metric sums the samples of a metric family in serve's /metrics whose
// labels contain every one of labels (e.g. `state="running"`).
func (p *serveProc) metric(name string, labels ...string) float64 {
	p.t.Helper()
	code, body := p.get("/metrics")
	if code != http.StatusOK {
		p.t.Fatalf("GET /metrics: HTTP %d: %s", code, body)
	}
	var sum float64
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if !ok {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}

// waitIdle waits until serve's queue has no review or rebase-check job
// waiting, scheduled, running or to be retried.
func (p *serveProc) waitIdle(d time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for {
		busy := 0.0
		for _, st := range []string{"available", "scheduled", "running", "retryable", "pending"} {
			busy += p.metric("fiveaxis_queue_depth", `state="`+st+`"`)
		}
		if busy == 0 {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("serve's queue still has %v unfinished jobs after %s", busy, d)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// waitFor polls cond every 200ms for up to d.
func waitUntil(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Crash safety and the whole webhook path. `fiveaxis serve` runs as a child
// process on SQLite in a temporary data directory. It gets signed webhooks
// for two PRs and is killed with SIGKILL while it posts the first review
// (a proxy in front of Gitea holds the review request: fault injection).
// While it is down, one PR gets a new head. After a restart, each PR's
// latest head has exactly one review, the older head none, and nothing
// was lost. Then a real Gitea webhook drives a review end to end, and the
// metrics count the posted reviews and a forge error.
func TestE2EServeCrashSafety(t *testing.T) {
	srv := giteatest.Start(t)
	bin := serveBinary(t)
	proxy := newHoldProxy(t, srv.URL)
	dataDir := t.TempDir()
	port := freePort(t)

	r := srv.NewRepo(t)
	r.Branch("feature-a", "main")
	r.Write("a.go", "package main\n\n// A is a.\nconst A = 1\n")
	r.Commit("a")
	r.Push("feature-a")
	prA, headA := r.OpenPR("feature-a", "main", "A")
	r.Branch("feature-b", "main")
	r.Write("b.go", "package main\n\n// B is b.\nconst B = 2\n")
	r.Commit("b")
	r.Push("feature-b")
	prB, headB1 := r.OpenPR("feature-b", "main", "B")

	// 1. serve #1 gets the webhooks and dies in the middle of a review.
	proxy.proxy.hold.Store(true)
	s1 := startServe(t, bin, proxy.URL, srv.BotToken, dataDir, port)
	s1.deliver("pull_request", r.PRPayload("opened", prA, headA, "main", srv.AdminUser))
	s1.deliver("pull_request", r.PRPayload("opened", prB, headB1, "main", srv.AdminUser))
	s1.deliver("pull_request", r.PRPayload("opened", prA, headA, "main", srv.AdminUser)) // a redelivery
	var heldPath string
	select {
	case heldPath = <-proxy.proxy.held:
	case <-time.After(90 * time.Second):
		t.Fatalf("serve never posted a review\n%s", s1.logs.String())
	}
	heldPR := prA
	heldHead := headA
	if strings.Contains(heldPath, fmt.Sprintf("/pulls/%d/", prB)) {
		heldPR, heldHead = prB, headB1
	}
	if st := r.Status(heldHead, reviewer.StatusContext); st == nil || st.State != sdk.StatusPending {
		t.Errorf("status of PR #%d while its review is being posted: %+v, want pending", heldPR, st)
	}
	s1.kill()
	proxy.proxy.hold.Store(false)
	for _, pr := range []int64{prA, prB} {
		if rs := r.Reviews(pr); len(rs) != 0 {
			t.Fatalf("PR #%d has %d reviews after the crash, want none", pr, len(rs))
		}
	}

	// 2. While serve is down, PR B gets a new head.
	r.Git("checkout", "-q", "feature-b")
	r.Write("b.go", "package main\n\n// B is b, again.\nconst B = 3\n")
	headB2 := r.Commit("b again")
	r.Push("feature-b")
	r.WaitHead(prB, headB2)

	// 3. serve #2 picks up the jobs left running or queued, and gets the
	// webhook of the new head (Gitea would have retried it).
	s2 := startServe(t, bin, proxy.URL, srv.BotToken, dataDir, port)
	defer s2.stop()
	s2.deliver("pull_request", r.PRPayload("synchronized", prB, headB2, "main", srv.AdminUser))
	waitUntil(t, 2*time.Minute, "reviews of A and of B's new head", func() bool {
		return len(botReviewsOf(t, r, prA, headA)) > 0 && len(botReviewsOf(t, r, prB, headB2)) > 0
	})
	// A redelivery after the review changes nothing.
	s2.deliver("pull_request", r.PRPayload("opened", prA, headA, "main", srv.AdminUser))
	s2.waitIdle(2 * time.Minute)
	for _, c := range []struct {
		pr   int64
		head string
		want int
	}{{prA, headA, 1}, {prB, headB1, 0}, {prB, headB2, 1}} {
		if got := len(botReviewsOf(t, r, c.pr, c.head)); got != c.want {
			t.Errorf("PR #%d head %.10s: %d reviews, want %d", c.pr, c.head, got, c.want)
		}
	}
	if st := r.Status(headA, reviewer.StatusContext); st == nil || st.State != sdk.StatusSuccess {
		t.Errorf("status of A after the restart: %+v, want success", st)
	}

	// 4. A real Gitea webhook: Gitea → serve → review posted.
	r2 := srv.NewRepo(t)
	r2.AddWebhook(s2.base+"/webhook/gitea", e2eSecret)
	r2.Branch("feature", "main")
	r2.Write("catalog/search.go", sqlPR)
	r2.Commit("search")
	r2.Push("feature")
	n2, head2 := r2.OpenPR("feature", "main", "Search")
	waitUntil(t, 2*time.Minute, "the review of a PR opened on Gitea", func() bool {
		return len(botReviewsOf(t, r2, n2, head2)) > 0
	})
	rs := botReviewsOf(t, r2, n2, head2)
	if len(rs) != 1 || rs[0].State != sdk.ReviewStateRequestChanges {
		t.Errorf("PR opened on Gitea: %d reviews (%+v), want 1 REQUEST_CHANGES", len(rs), rs)
	}

	// 5. Metrics: the reviews serve #2 posted, by verdict, and a forge
	// error (a webhook for a PR that does not exist).
	s2.deliver("pull_request", r.PRPayload("opened", 9999, strings.Repeat("f", 40), "main", srv.AdminUser))
	s2.waitIdle(2 * time.Minute)
	if got := s2.metric("fiveaxis_reviews_posted_total"); got != 3 {
		t.Errorf("fiveaxis_reviews_posted_total = %v, want 3 (A, B's new head, the PR opened on Gitea)", got)
	}
	if got := s2.metric("fiveaxis_reviews_posted_total", `verdict="request_changes"`); got != 1 {
		t.Errorf(`fiveaxis_reviews_posted_total{verdict="request_changes"} = %v, want 1`, got)
	}
	if got := s2.metric("fiveaxis_forge_errors_total", `op="pull_request"`); got < 1 {
		t.Errorf(`fiveaxis_forge_errors_total{op="pull_request"} = %v, want at least 1`, got)
	}
}
