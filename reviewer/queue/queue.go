// Package queue owns the bot's durable job queue: the River job arguments,
// the workers that hand jobs to a reviewer.Processor, the periodic stale-PR
// sweep, migrations, and the queue's Prometheus metrics.
//
// River runs on an embedded SQLite file by default (riversqlite on
// modernc.org/sqlite, one connection, WAL) and on PostgreSQL (riverpgxv5) to
// scale out over many worker processes.
//
// Design notes:
//
//   - Uniqueness. Review jobs are unique on repo, pr and head_sha (River
//     UniqueOpts.ByArgs over those fields), so a redelivered webhook does not
//     queue a second review of the same head.
//   - Coalescing. Reviews wait a short debounce before they run. When a newer
//     head of a PR is enqueued, jobs of the same PR for other heads that were
//     enqueued earlier and have not started are cancelled through River's
//     JobCancel. A job that already runs finishes; the Bot sees the moved head
//     and posts nothing (OutcomeHeadMoved, which cancels the job).
//   - Retries. A *reviewer.RetryableError is retried with River's backoff, or
//     after its After (Retry-After) when set; other errors too, up to
//     MaxAttempts. A closed PR or a moved head cancels the job.
//   - Limits. Concurrency caps the jobs one process runs (River's
//     QueueConfig.MaxWorkers). PerRepo caps the jobs of one repository that
//     one process runs at once: a job whose repository is at its limit is
//     snoozed for RepoBusySnooze, which frees its worker for other
//     repositories and does not count as an attempt. The per-repository limit
//     is per process; with N worker processes a repository may have up to
//     N*PerRepo jobs running.
//   - Intake. Enqueue returns only after its jobs are committed. Concurrent
//     Enqueue calls are grouped into one transaction by a committer
//     goroutine (group commit, intake.go), which makes one River
//     InsertManyTx and one commit serve every webhook that arrived while
//     the previous batch committed. On SQLite the file is in WAL mode with
//     synchronous=FULL, so a committed job survives a process crash and a
//     power loss.
//   - Crashes. A job cut off by a crash stays "running" in the table. On
//     PostgreSQL, River's rescuer retries it after RescueAfter (longer than
//     JobTimeout, so a slow job is never run twice). The SQLite file belongs
//     to one worker process (held with a lock file), so at start that process
//     rescues every job left running by its predecessor at once.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/fiveaxis/fiveaxis/reviewer"
)

var _ reviewer.Enqueuer = (*Queue)(nil)

// SweepRunner runs one stale-PR sweep, enqueueing its jobs on enq.
// *reviewer.Sweeper implements it.
type SweepRunner interface {
	Run(ctx context.Context, enq reviewer.Enqueuer) ([]reviewer.SweepAction, error)
}

// Options configure a Queue. Zero values mean defaults.
type Options struct {
	// Database is "" for the SQLite file <DataDir>/fiveaxis.db, sqlite://PATH
	// for another SQLite file, or a postgres:// URL.
	Database string
	// DataDir holds the default SQLite file.
	DataDir string
	// Schema is the PostgreSQL schema of River's tables (default: the
	// search_path). Ignored on SQLite.
	Schema string

	// Processor does the work of review and rebase-check jobs. Without one,
	// the Queue can only enqueue.
	Processor reviewer.Processor
	// Sweeper runs the periodic sweep.
	Sweeper SweepRunner
	// SweepInterval is the period of the sweep (default 6h; negative: no
	// periodic sweep).
	SweepInterval time.Duration

	// Concurrency is how many jobs this process runs at once (default 4).
	Concurrency int
	// PerRepo caps the jobs of one repository this process runs at once
	// (default 1).
	PerRepo int
	// RepoBusySnooze is how long a job waits when its repository is at its
	// limit (default 2s, plus jitter).
	RepoBusySnooze time.Duration
	// Debounce delays reviews that are not forced, so that a burst of pushes
	// leads to one review (default 3s; negative: no delay).
	Debounce time.Duration
	// MaxAttempts bounds the attempts of a job (default 10).
	MaxAttempts int
	// JobTimeout bounds one attempt of a review or rebase check (default
	// 10m).
	JobTimeout time.Duration
	// RescueAfter is when River's rescuer retries a job left running by a
	// dead worker (default JobTimeout + 5m; must exceed JobTimeout).
	RescueAfter time.Duration
	// FetchPollInterval is how often workers poll for new jobs when they
	// are not notified (default River's, 1s).
	FetchPollInterval time.Duration
	// ID names this client in River's tables (default River's).
	ID string

	// Migrate applies River's migrations when the Queue opens.
	Migrate bool
	// Logger receives the queue's logs (default slog.Default()).
	Logger *slog.Logger
	// Metrics receives job metrics (default: unregistered collectors).
	Metrics *Metrics
	// Registerer, when set, gets the queue depth collector.
	Registerer prometheus.Registerer
}

func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.PerRepo <= 0 {
		o.PerRepo = 1
	}
	if o.RepoBusySnooze <= 0 {
		o.RepoBusySnooze = 2 * time.Second
	}
	if o.SweepInterval == 0 {
		o.SweepInterval = 6 * time.Hour
	}
	if o.Debounce == 0 {
		o.Debounce = 3 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.JobTimeout <= 0 {
		o.JobTimeout = 10 * time.Minute
	}
	if o.RescueAfter <= o.JobTimeout {
		o.RescueAfter = o.JobTimeout + 5*time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	return o
}

// Queue is the durable job queue: it enqueues bot jobs and runs them with
// River. It implements reviewer.Enqueuer.
type Queue struct {
	opts    Options
	log     *slog.Logger
	metrics *Metrics
	be      *backend
	limit   *repoLimiter

	retryAfter sync.Map // job ID -> time.Duration from a RetryableError

	// latest remembers, per PR tag, the last review job this process
	// enqueued, so that coalescing needs no job-table search for PRs seen
	// since start.
	latestMu sync.Mutex
	latest   map[string]latestJob

	// reqs carries Enqueue calls to the committer goroutine (intake.go);
	// closing stops it and committerDone is closed when it has stopped.
	reqs          chan *enqueueReq
	closing       chan struct{}
	committerDone chan struct{}
	closeOnce     sync.Once

	mu      sync.Mutex
	started bool
	unlock  func()
}

// Open connects to the database, applies migrations when opts.Migrate is
// set, and prepares River. Workers run only after Start.
func Open(ctx context.Context, opts Options) (*Queue, error) {
	opts = opts.withDefaults()
	q := &Queue{
		opts:    opts,
		log:     opts.Logger,
		metrics: opts.Metrics,
		limit:   newRepoLimiter(opts.PerRepo),
		latest:  map[string]latestJob{},
	}
	cfg := q.riverConfig()
	be, err := openBackend(ctx, opts, cfg)
	if err != nil {
		return nil, err
	}
	q.be = be
	if opts.Migrate {
		if _, err := q.Migrate(ctx); err != nil {
			be.close()
			return nil, err
		}
	}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(newDepthCollector(be.depth, q.log)); err != nil {
			be.close()
			return nil, fmt.Errorf("queue: register depth collector: %w", err)
		}
	}
	q.startCommitter()
	return q, nil
}

// Driver names the database in use: "sqlite" or "postgres".
func (q *Queue) Driver() string { return q.be.kind }

// riverConfig builds River's client config: the workers, the queue, the
// periodic sweep and the retry and rescue settings.
func (q *Queue) riverConfig() *river.Config {
	o := q.opts
	workers := river.NewWorkers()
	river.AddWorker(workers, &reviewWorker{q: q})
	river.AddWorker(workers, &rebaseWorker{q: q})
	river.AddWorker(workers, &sweepWorker{q: q})
	cfg := &river.Config{
		ID:                   o.ID,
		Logger:               o.Logger.With("component", "river"),
		Workers:              workers,
		MaxAttempts:          o.MaxAttempts,
		JobTimeout:           o.JobTimeout,
		RescueStuckJobsAfter: o.RescueAfter,
		FetchPollInterval:    o.FetchPollInterval,
		ErrorHandler:         &errorHandler{q: q},
	}
	if o.Processor != nil {
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: o.Concurrency}}
		if o.Sweeper != nil && o.SweepInterval > 0 {
			cfg.PeriodicJobs = []*river.PeriodicJob{river.NewPeriodicJob(
				river.PeriodicInterval(o.SweepInterval),
				func() (river.JobArgs, *river.InsertOpts) { return SweepArgs{}, nil },
				&river.PeriodicJobOpts{ID: "fiveaxis_sweep"},
			)}
		}
	}
	return cfg
}

// Migrate applies River's pending migrations and returns the versions it
// applied.
func (q *Queue) Migrate(ctx context.Context) ([]int, error) {
	v, err := q.be.migrate(ctx)
	if err != nil {
		return nil, fmt.Errorf("queue: migrate %s: %w", q.be.kind, err)
	}
	if len(v) > 0 {
		q.log.Info("applied River migrations", "driver", q.be.kind, "versions", v)
	}
	return v, nil
}

// Ready reports whether the database is reachable and every migration is
// applied. It backs /readyz.
func (q *Queue) Ready(ctx context.Context) error {
	if err := q.be.ping(ctx); err != nil {
		return fmt.Errorf("queue: database unreachable: %w", err)
	}
	if err := q.be.validate(ctx); err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	return nil
}

// Start starts the workers and, when a Sweeper is set, the periodic sweep.
// They run until Shutdown, whatever happens to ctx. On SQLite it first takes the database's lock file and rescues jobs the
// previous process left running.
func (q *Queue) Start(ctx context.Context) error {
	if q.opts.Processor == nil {
		return errors.New("queue: Start needs a Processor")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started {
		return errors.New("queue: already started")
	}
	if q.be.lock != nil {
		unlock, err := q.be.lock()
		if err != nil {
			return err
		}
		q.unlock = unlock
		n, err := q.be.rescueOrphans(ctx)
		if err != nil {
			unlock()
			return fmt.Errorf("queue: rescue jobs of the previous process: %w", err)
		}
		if n > 0 {
			q.log.Warn("rescued jobs left running by the previous process", "jobs", n)
		}
	}
	// River soft-stops when its Start context ends; Shutdown is the one way
	// to stop, so that the drain deadline is the caller's.
	if err := q.be.client.Start(context.WithoutCancel(ctx)); err != nil {
		if q.unlock != nil {
			q.unlock()
		}
		return fmt.Errorf("queue: start: %w", err)
	}
	q.started = true
	q.log.Info("queue started", "driver", q.be.kind, "concurrency", q.opts.Concurrency,
		"per_repo", q.opts.PerRepo, "sweep_interval", q.opts.SweepInterval)
	return nil
}

// Shutdown stops fetching jobs and waits for running jobs until ctx is done.
// Jobs still running then have their contexts cancelled and are put back to
// be retried; Shutdown waits up to 10s more for them. Jobs that ignore
// cancellation are rescued on the next start.
func (q *Queue) Shutdown(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.started {
		return nil
	}
	q.started = false
	defer func() {
		if q.unlock != nil {
			q.unlock()
			q.unlock = nil
		}
	}()
	err := q.be.client.Stop(ctx)
	if err == nil {
		q.log.Info("queue stopped")
		return nil
	}
	q.log.Warn("graceful stop deadline passed: cancelling running jobs", "err", err)
	hard, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.be.client.StopAndCancel(hard); err != nil {
		return fmt.Errorf("queue: stop: %w", err)
	}
	return nil
}

// Close waits for the Enqueue batch being committed, if any, and releases
// the database. Call it after Shutdown; Enqueue fails after Close.
func (q *Queue) Close() error {
	q.stopCommitter()
	q.be.close()
	return nil
}

// Enqueue stores jobs and returns once they are committed. A job that is
// already queued (same kind, repo, PR and head) is skipped. Enqueueing a
// review cancels, in the same transaction, queued jobs of the same PR for
// other heads that were enqueued before it.
//
// Concurrent calls share one transaction (group commit, see intake.go):
// each returns after the commit of the transaction that holds its jobs. If
// ctx ends first, Enqueue returns ctx's error and the jobs may or may not
// be committed.
func (q *Queue) Enqueue(ctx context.Context, jobs ...reviewer.Job) error {
	jobs = dedupe(jobs)
	if len(jobs) == 0 {
		return nil
	}
	now := time.Now()
	params := make([]river.InsertManyParams, len(jobs))
	for i, j := range jobs {
		p, err := insertParams(j, q.debounce(), now)
		if err != nil {
			return err
		}
		params[i] = p
	}
	req := &enqueueReq{jobs: jobs, params: params, done: make(chan error, 1)}
	select {
	case q.reqs <- req:
	case <-q.closing:
		return errClosed
	case <-ctx.Done():
		return fmt.Errorf("queue: enqueue: %w", ctx.Err())
	}
	select {
	case err := <-req.done:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		return fmt.Errorf("queue: enqueue: %w (the jobs may have been committed)", ctx.Err())
	}
	for i, r := range req.res {
		j := jobs[i]
		kind := params[i].Args.Kind()
		result := "inserted"
		if req.dup[i] {
			result = "duplicate"
		}
		q.metrics.Enqueued.WithLabelValues(kind, result).Inc()
		q.log.Debug("enqueue", "result", result, "kind", kind, "repo", j.Repo, "pr", j.PR, "head_sha", j.HeadSHA,
			"job_id", r.Job.ID, "reason", j.Reason)
	}
	return nil
}

// cancelledJob is a job that coalescing cancels.
type cancelledJob struct {
	ID             int64
	Repo           string
	PR             int64
	HeadSHA, Newer string

	// committed is set for a job of an earlier transaction, which other
	// transactions (River's scheduler) may lock; priority and scheduledAt
	// order the cancels of those (see cancelInOrder).
	committed   bool
	priority    int
	scheduledAt time.Time
}

// latestJob is the last review job of a PR that this process enqueued.
type latestJob struct {
	ID   int64
	Head string
}

// maxLatest bounds the latest map; past it the map starts over.
const maxLatest = 100000

// remember records the review jobs just committed as their PRs' latest.
func (q *Queue) remember(params []river.InsertManyParams, res []*rivertype.JobInsertResult) {
	q.latestMu.Lock()
	defer q.latestMu.Unlock()
	if len(q.latest) > maxLatest {
		q.latest = map[string]latestJob{}
	}
	for i, r := range res {
		a, ok := params[i].Args.(ReviewPRArgs)
		if !ok || r.UniqueSkippedAsDuplicate {
			continue
		}
		tag := prTag(a.Repo, a.PR)
		if l, ok := q.latest[tag]; !ok || l.ID < r.Job.ID {
			q.latest[tag] = latestJob{ID: r.Job.ID, Head: a.HeadSHA}
		}
	}
}

// coalesce returns the jobs of j's PR for other heads that were enqueued
// before newID and have not started, which the caller cancels (see
// cancelInOrder), and records newID as the PR's latest job in inBatch. When
// the PR's previous review is in inBatch (inserted earlier in this
// transaction, so still queued), it needs no read. When this process
// enqueued it in an earlier transaction, only that job is looked at (a
// primary-key read). Otherwise the PR's queued jobs are searched. Jobs
// another process enqueued in between are not cancelled: they run and find
// the head moved.
func (q *Queue) coalesce(tx txOps, inBatch map[string]latestJob, j reviewer.Job, newID int64) ([]cancelledJob, error) {
	tag := prTag(j.Repo, j.PR)
	prev, inTx := inBatch[tag]
	inBatch[tag] = latestJob{ID: newID, Head: j.HeadSHA}
	if inTx {
		if prev.Head == j.HeadSHA {
			return nil, nil
		}
		return []cancelledJob{{ID: prev.ID, Repo: j.Repo, PR: j.PR, HeadSHA: prev.Head, Newer: j.HeadSHA}}, nil
	}
	q.latestMu.Lock()
	l, known := q.latest[tag]
	q.latestMu.Unlock()
	if known {
		if l.ID >= newID || l.Head == j.HeadSHA {
			return nil, nil
		}
		row, err := tx.get(l.ID)
		if errors.Is(err, river.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("coalesce: %w", err)
		}
		switch row.State {
		case rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable:
		default:
			return nil, nil
		}
		return []cancelledJob{{ID: row.ID, Repo: j.Repo, PR: j.PR, HeadSHA: l.Head, Newer: j.HeadSHA,
			priority: row.Priority, scheduledAt: row.ScheduledAt, committed: true}}, nil
	}
	params := river.NewJobListParams().
		Kinds(KindReviewPR, KindRebaseCheck).
		States(rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable).
		TagsAny(prTag(j.Repo, j.PR)).
		First(1000)
	res, err := tx.list(params)
	if err != nil {
		return nil, fmt.Errorf("coalesce: %w", err)
	}
	var out []cancelledJob
	for _, row := range res.Jobs {
		if row.ID >= newID {
			continue
		}
		var a struct {
			Repo    string `json:"repo"`
			PR      int64  `json:"pr"`
			HeadSHA string `json:"head_sha"`
		}
		if err := jsonUnmarshal(row.EncodedArgs, &a); err != nil {
			return nil, err
		}
		if a.Repo != j.Repo || a.PR != j.PR || a.HeadSHA == j.HeadSHA {
			continue
		}
		out = append(out, cancelledJob{ID: row.ID, Repo: a.Repo, PR: a.PR, HeadSHA: a.HeadSHA, Newer: j.HeadSHA,
			priority: row.Priority, scheduledAt: row.ScheduledAt, committed: true})
	}
	return out, nil
}

// dedupe drops repeated jobs from one batch: River rejects a batch that
// holds one unique key twice.
func dedupe(jobs []reviewer.Job) []reviewer.Job {
	type key struct {
		kind  reviewer.JobKind
		repo  string
		pr    int64
		head  string
		force bool
	}
	seen := make(map[key]bool, len(jobs))
	out := jobs[:0:0]
	for _, j := range jobs {
		kind := j.Kind
		if kind == "" {
			kind = reviewer.JobReview
		}
		k := key{kind, j.Repo, j.PR, j.HeadSHA, j.Force}
		if !seen[k] {
			seen[k] = true
			out = append(out, j)
		}
	}
	return out
}

func (q *Queue) debounce() time.Duration {
	if q.opts.Debounce < 0 {
		return 0
	}
	return q.opts.Debounce
}

// JobCounts returns how many jobs of each kind are in each state. Tests and
// `fiveaxis sweep` use it.
func (q *Queue) JobCounts(ctx context.Context) (map[string]map[string]int64, error) {
	rows, err := q.be.depthAll(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]int64{}
	for _, r := range rows {
		if out[r.Kind] == nil {
			out[r.Kind] = map[string]int64{}
		}
		out[r.Kind][r.State] = r.N
	}
	return out, nil
}

// repoLimiter is a keyed semaphore: at most n jobs per repository.
type repoLimiter struct {
	mu      sync.Mutex
	n       int
	running map[string]int
}

func newRepoLimiter(n int) *repoLimiter { return &repoLimiter{n: n, running: map[string]int{}} }

func (l *repoLimiter) acquire(repo string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := strings.ToLower(repo)
	if l.running[key] >= l.n {
		return false
	}
	l.running[key]++
	return true
}

func (l *repoLimiter) release(repo string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := strings.ToLower(repo)
	if l.running[key]--; l.running[key] <= 0 {
		delete(l.running, key)
	}
}

// jitter returns d plus up to half of d at random.
func jitter(d time.Duration) time.Duration {
	return d + rand.N(d/2+1)
}
