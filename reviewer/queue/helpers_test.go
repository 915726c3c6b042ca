package queue

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fiveaxis/fiveaxis/reviewer"
	"github.com/fiveaxis/fiveaxis/reviewer/gitea/giteatest"
)

// The suite runs on both drivers: a SQLite temp file and the machine's
// PostgreSQL, each test in a fresh schema.
var drivers = []string{"sqlite", "postgres"}

func pgURL() string {
	if u := os.Getenv("FIVEAXIS_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// database returns the Database and Schema options of a fresh database.
func database(t testing.TB, driver string) (db, schema string) {
	t.Helper()
	if driver == "sqlite" {
		return "sqlite://" + filepath.Join(t.TempDir(), "fiveaxis.db"), ""
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgURL())
	if err != nil {
		t.Fatalf("PostgreSQL at %s (set FIVEAXIS_TEST_POSTGRES; start it with pg_ctlcluster): %v", pgURL(), err)
	}
	defer conn.Close(ctx)
	schema = fmt.Sprintf("fiveaxis_test_%d_%d", time.Now().UnixNano(), rand.IntN(1e6))
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), pgURL())
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	return pgURL(), schema
}

// bundle is what a queue test needs.
type bundle struct {
	q    *Queue
	proc *recorder
	opts Options
}

// setup opens a migrated queue on a fresh database of driver. Tests change
// opts through mod before it opens.
func setup(t testing.TB, driver string, mod func(*Options)) *bundle {
	t.Helper()
	db, schema := database(t, driver)
	proc := newRecorder()
	opts := Options{
		Database:          db,
		Schema:            schema,
		Processor:         proc,
		Migrate:           true,
		Debounce:          -1,
		FetchPollInterval: 200 * time.Millisecond,
		RepoBusySnooze:    100 * time.Millisecond,
		Logger:            testLogger(t),
	}
	if mod != nil {
		mod(&opts)
	}
	q, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		q.Shutdown(ctx)
		q.Close()
	})
	return &bundle{q: q, proc: proc, opts: opts}
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("FIVEAXIS_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func (b *bundle) start(t testing.TB) {
	t.Helper()
	if err := b.q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// counts returns the number of jobs of kind in state.
func (b *bundle) count(t testing.TB, kind, state string) int64 {
	t.Helper()
	c, err := b.q.JobCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c[kind][state]
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// call is one Process call the recorder saw.
type call struct {
	Job   reviewer.Job
	Start time.Time
	End   time.Time
}

// recorder is a Processor for queue tests: it records calls and answers
// with fn (default: OutcomePosted).
type recorder struct {
	mu    sync.Mutex
	calls []call
	fn    func(ctx context.Context, j reviewer.Job, n int) (reviewer.Outcome, error)
}

func newRecorder() *recorder { return &recorder{} }

func (r *recorder) set(fn func(ctx context.Context, j reviewer.Job, n int) (reviewer.Outcome, error)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fn = fn
}

func (r *recorder) Process(ctx context.Context, j reviewer.Job) (reviewer.Outcome, error) {
	r.mu.Lock()
	n := 0
	for _, c := range r.calls {
		if c.Job == j {
			n++
		}
	}
	i := len(r.calls)
	r.calls = append(r.calls, call{Job: j, Start: time.Now()})
	fn := r.fn
	r.mu.Unlock()
	out, err := reviewer.OutcomePosted, error(nil)
	if fn != nil {
		out, err = fn(ctx, j, n)
	}
	r.mu.Lock()
	r.calls[i].End = time.Now()
	r.mu.Unlock()
	return out, err
}

func (r *recorder) snapshot() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

func (r *recorder) n() int { return len(r.snapshot()) }

// Child worker processes. TestMain turns the test binary into a worker
// process when FIVEAXIS_QUEUE_CHILD is set: it runs a Queue on the given
// database whose processor sleeps and logs "start ID" and "done ID" lines.

const childEnv = "FIVEAXIS_QUEUE_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(childMain())
	}
	os.Exit(giteatest.Main(m)) // stops the Gitea server of the e2e tests
}

// childMain runs a worker until SIGTERM. Its settings come from the
// environment: FIVEAXIS_QUEUE_CHILD=<log file>, CHILD_DATABASE,
// CHILD_SCHEMA, CHILD_WORK (how long each job takes).
func childMain() int {
	logPath := os.Getenv(childEnv)
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	work, _ := time.ParseDuration(os.Getenv("CHILD_WORK"))
	var mu sync.Mutex
	logLine := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(f, s)
		f.Sync()
	}
	proc := procFunc(func(ctx context.Context, j reviewer.Job) (reviewer.Outcome, error) {
		id := fmt.Sprintf("%s#%d@%s", j.Repo, j.PR, j.HeadSHA)
		logLine(fmt.Sprintf("start %s %d", id, os.Getpid()))
		select {
		case <-time.After(work):
		case <-ctx.Done():
			return "", ctx.Err()
		}
		logLine(fmt.Sprintf("done %s %d", id, os.Getpid()))
		return reviewer.OutcomePosted, nil
	})
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	q, err := Open(ctx, Options{
		Database:          os.Getenv("CHILD_DATABASE"),
		Schema:            os.Getenv("CHILD_SCHEMA"),
		Processor:         proc,
		Concurrency:       2,
		PerRepo:           2,
		Debounce:          -1,
		FetchPollInterval: 200 * time.Millisecond,
		JobTimeout:        2 * time.Second,
		RescueAfter:       3 * time.Second,
		Logger:            slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := q.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	logLine(fmt.Sprintf("ready %d", os.Getpid()))
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	q.Shutdown(sctx)
	q.Close()
	return 0
}

type procFunc func(ctx context.Context, j reviewer.Job) (reviewer.Outcome, error)

func (f procFunc) Process(ctx context.Context, j reviewer.Job) (reviewer.Outcome, error) {
	return f(ctx, j)
}

// child is a worker process started by startChild.
type child struct {
	cmd *exec.Cmd
	log string
}

func startChild(t testing.TB, db, schema, logPath string, work time.Duration) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+logPath, "CHILD_DATABASE="+db, "CHILD_SCHEMA="+schema,
		"CHILD_WORK="+work.String())
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, log: logPath}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	waitFor(t, 30*time.Second, "child worker ready", func() bool {
		for _, l := range readLines(t, logPath) {
			if l == fmt.Sprintf("ready %d", cmd.Process.Pid) {
				return true
			}
		}
		return false
	})
	return c
}

func readLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		out = append(out, strings.TrimSpace(s.Text()))
	}
	return out
}
