package reviewer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// ErrQueueFull is returned by InlineQueue.Enqueue when its buffer is full.
var ErrQueueFull = errors.New("queue full")

// InlineQueueOptions tune an InlineQueue. Zero values mean defaults.
type InlineQueueOptions struct {
	// Size is the buffer of waiting jobs (default 256).
	Size int
	// Workers is the number of jobs processed at once (default 4).
	Workers int
	// Retries is how often a job that failed with a *RetryableError is
	// tried again (default 3).
	Retries int
	// Backoff is the wait before a retry when the error does not say
	// (default 5s, doubling).
	Backoff time.Duration
	// JobTimeout limits one attempt (default 10 minutes).
	JobTimeout time.Duration
	// OnDone, when set, is called after each job with its final outcome.
	OnDone func(Job, Outcome, error)
}

// InlineQueue is an in-process Enqueuer: a buffered channel drained by
// worker goroutines that call a Processor. It is not durable: jobs waiting
// when the process stops are lost until a redelivery or the sweep brings
// them back. It stands in for the durable queue behind the same Enqueuer
// interface. Identical jobs that are already waiting or running are not
// queued twice.
type InlineQueue struct {
	proc Processor
	log  *slog.Logger
	opt  InlineQueueOptions
	jobs chan Job

	mu      sync.Mutex
	pending map[string]bool
}

var _ Enqueuer = (*InlineQueue)(nil)

// NewInlineQueue returns a queue whose workers, once Run is called, hand
// jobs to proc.
func NewInlineQueue(proc Processor, opt InlineQueueOptions, log *slog.Logger) *InlineQueue {
	if opt.Size <= 0 {
		opt.Size = 256
	}
	if opt.Workers <= 0 {
		opt.Workers = 4
	}
	if opt.Retries < 0 {
		opt.Retries = 0
	} else if opt.Retries == 0 {
		opt.Retries = 3
	}
	if opt.Backoff <= 0 {
		opt.Backoff = 5 * time.Second
	}
	if opt.JobTimeout <= 0 {
		opt.JobTimeout = 10 * time.Minute
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &InlineQueue{proc: proc, log: log, opt: opt, jobs: make(chan Job, opt.Size), pending: map[string]bool{}}
}

func jobKey(j Job) string {
	return fmt.Sprintf("%s|%s|%d|%s|%t", j.Kind, j.Repo, j.PR, j.HeadSHA, j.Force)
}

// Enqueue queues jobs without blocking. It fails with ErrQueueFull when the
// buffer is full, so that the webhook sender sees a failure and can retry.
func (q *InlineQueue) Enqueue(ctx context.Context, jobs ...Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, j := range jobs {
		k := jobKey(j)
		if q.pending[k] {
			continue
		}
		select {
		case q.jobs <- j:
			q.pending[k] = true
		default:
			return fmt.Errorf("enqueue %s %s#%d: %w", j.Kind, j.Repo, j.PR, ErrQueueFull)
		}
	}
	return nil
}

// Len returns the number of jobs waiting or running.
func (q *InlineQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending)
}

// Run processes jobs until ctx is done, then waits for the running jobs'
// attempts to end (their context is cancelled too).
func (q *InlineQueue) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range q.opt.Workers {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-q.jobs:
					q.process(ctx, j)
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// process runs one job, retrying retryable failures.
func (q *InlineQueue) process(ctx context.Context, j Job) {
	defer func() {
		q.mu.Lock()
		delete(q.pending, jobKey(j))
		q.mu.Unlock()
	}()
	log := q.log.With("repo", j.Repo, "pr", j.PR, "head_sha", j.HeadSHA, "job_kind", string(j.Kind))
	backoff := q.opt.Backoff
	var (
		out Outcome
		err error
	)
	for attempt := 0; ; attempt++ {
		out, err = q.attempt(ctx, j)
		var re *RetryableError
		if err == nil || !errors.As(err, &re) || attempt >= q.opt.Retries || ctx.Err() != nil {
			break
		}
		wait := backoff
		if re.After > 0 {
			wait = re.After
		}
		backoff *= 2
		log.Warn("job failed, retrying", "err", err, "attempt", attempt+1, "wait", wait)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	if err != nil {
		log.Error("job failed", "err", err)
	} else {
		log.Info("job done", "outcome", string(out))
	}
	if q.opt.OnDone != nil {
		q.opt.OnDone(j, out, err)
	}
}

func (q *InlineQueue) attempt(ctx context.Context, j Job) (out Outcome, err error) {
	ctx, cancel := context.WithTimeout(ctx, q.opt.JobTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("job panicked: %v", p)
		}
	}()
	return q.proc.Process(ctx, j)
}
