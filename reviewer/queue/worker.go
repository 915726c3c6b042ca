package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/fiveaxis/fiveaxis/reviewer"
)

// Outcome labels of the jobs metric beyond reviewer.Outcome.
const (
	outcomeRetry     = "retry"     // a retryable error; River retries
	outcomeError     = "error"     // another error; River retries
	outcomeDiscarded = "discarded" // the last attempt failed
	outcomeCancelled = "cancelled" // a permanent error cancelled the job
	outcomeRepoBusy  = "repo_busy" // the repository was at its limit: snoozed
	outcomeStopped   = "stopped"   // cut off by shutdown: retried
	outcomePanic     = "panic"
	outcomeSwept     = "swept"
)

// maxRetryAfter caps a server's Retry-After.
const maxRetryAfter = time.Hour

type reviewWorker struct {
	river.WorkerDefaults[ReviewPRArgs]
	q *Queue
}

func (w *reviewWorker) Work(ctx context.Context, job *river.Job[ReviewPRArgs]) error {
	a := job.Args
	return w.q.work(ctx, job.JobRow, reviewer.Job{Kind: reviewer.JobReview, Repo: a.Repo, PR: a.PR, HeadSHA: a.HeadSHA, Reason: a.Reason, Force: a.Force})
}

func (w *reviewWorker) NextRetry(job *river.Job[ReviewPRArgs]) time.Time {
	return w.q.nextRetry(job.ID)
}

func (w *reviewWorker) Timeout(*river.Job[ReviewPRArgs]) time.Duration { return w.q.opts.JobTimeout }

type rebaseWorker struct {
	river.WorkerDefaults[RebaseCheckArgs]
	q *Queue
}

func (w *rebaseWorker) Work(ctx context.Context, job *river.Job[RebaseCheckArgs]) error {
	a := job.Args
	return w.q.work(ctx, job.JobRow, reviewer.Job{Kind: reviewer.JobRebaseCheck, Repo: a.Repo, PR: a.PR, HeadSHA: a.HeadSHA, Reason: a.Reason})
}

func (w *rebaseWorker) NextRetry(job *river.Job[RebaseCheckArgs]) time.Time {
	return w.q.nextRetry(job.ID)
}

func (w *rebaseWorker) Timeout(*river.Job[RebaseCheckArgs]) time.Duration {
	return w.q.opts.JobTimeout
}

type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	q *Queue
}

func (w *sweepWorker) Work(ctx context.Context, job *river.Job[SweepArgs]) error {
	q := w.q
	if q.opts.Sweeper == nil {
		return river.JobCancel(errors.New("no sweeper configured"))
	}
	start := time.Now()
	actions, err := q.opts.Sweeper.Run(ctx, q)
	q.metrics.JobDuration.WithLabelValues(KindSweep).Observe(time.Since(start).Seconds())
	if err != nil {
		q.metrics.Jobs.WithLabelValues(KindSweep, outcomeError).Inc()
		q.log.Error("sweep failed", "job_id", job.ID, "attempt", job.Attempt, "err", err)
		return err
	}
	q.metrics.Jobs.WithLabelValues(KindSweep, outcomeSwept).Inc()
	q.log.Info("sweep done", "job_id", job.ID, "actions", len(actions))
	return nil
}

func (w *sweepWorker) Timeout(*river.Job[SweepArgs]) time.Duration { return time.Hour }

// work runs one review or rebase-check job through the Processor and maps
// its result to River: cancel, snooze, retry or complete.
func (q *Queue) work(ctx context.Context, row *rivertype.JobRow, j reviewer.Job) error {
	log := q.log.With("repo", j.Repo, "pr", j.PR, "head_sha", j.HeadSHA, "job_id", row.ID,
		"kind", row.Kind, "attempt", row.Attempt)
	if !q.limit.acquire(j.Repo) {
		q.metrics.Jobs.WithLabelValues(row.Kind, outcomeRepoBusy).Inc()
		d := jitter(q.opts.RepoBusySnooze)
		log.Debug("repository at its limit: snoozing", "snooze", d)
		return river.JobSnooze(d)
	}
	defer q.limit.release(j.Repo)

	start := time.Now()
	out, err := q.opts.Processor.Process(ctx, j)
	q.metrics.JobDuration.WithLabelValues(row.Kind).Observe(time.Since(start).Seconds())
	return q.result(ctx, log, row, out, err)
}

// result maps an outcome or error to what River should do with the job.
func (q *Queue) result(ctx context.Context, log *slog.Logger, row *rivertype.JobRow, out reviewer.Outcome, err error) error {
	count := func(outcome string) { q.metrics.Jobs.WithLabelValues(row.Kind, outcome).Inc() }
	if err == nil {
		count(string(out))
		switch out {
		case reviewer.OutcomeClosed, reviewer.OutcomeHeadMoved:
			log.Info("job cancelled: nothing to do", "outcome", out)
			return river.JobCancel(fmt.Errorf("outcome %s", out))
		default:
			log.Info("job done", "outcome", out)
			return nil
		}
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		// Shutdown or a cancellation from the client API. River retries a
		// job cut off by shutdown; pass the error on unchanged.
		count(outcomeStopped)
		log.Warn("job cut off", "err", err)
		return err
	}
	if errors.Is(err, reviewer.ErrUnauthorized) {
		count(outcomeCancelled)
		log.Error("job cancelled: the forge refused the bot's token", "err", err)
		return river.JobCancel(err)
	}
	if errors.Is(err, reviewer.ErrNotFound) {
		count(outcomeCancelled)
		log.Warn("job cancelled: repository or PR not found", "err", err)
		return river.JobCancel(err)
	}
	var re *reviewer.RetryableError
	if errors.As(err, &re) {
		if re.After > 0 {
			q.retryAfter.Store(row.ID, min(re.After, maxRetryAfter))
		}
		if row.Attempt >= row.MaxAttempts {
			count(outcomeDiscarded)
			log.Error("job failed for the last time", "err", err)
			return err
		}
		count(outcomeRetry)
		log.Warn("job failed: retrying", "err", err, "retry_after", re.After)
		return err
	}
	if row.Attempt >= row.MaxAttempts {
		count(outcomeDiscarded)
		log.Error("job failed for the last time", "err", err)
		return err
	}
	count(outcomeError)
	log.Warn("job failed: retrying with backoff", "err", err)
	return err
}

// nextRetry returns when to retry a job whose processor asked for a delay
// (Retry-After), or the zero time for River's default backoff.
func (q *Queue) nextRetry(jobID int64) time.Time {
	v, ok := q.retryAfter.LoadAndDelete(jobID)
	if !ok {
		return time.Time{}
	}
	return time.Now().Add(v.(time.Duration))
}

// errorHandler logs panics in workers; errors are logged by work.
type errorHandler struct{ q *Queue }

func (h *errorHandler) HandleError(context.Context, *rivertype.JobRow, error) *river.ErrorHandlerResult {
	return nil
}

func (h *errorHandler) HandlePanic(_ context.Context, row *rivertype.JobRow, v any, trace string) *river.ErrorHandlerResult {
	h.q.metrics.Jobs.WithLabelValues(row.Kind, outcomePanic).Inc()
	h.q.log.Error("job panicked", "job_id", row.ID, "kind", row.Kind, "panic", fmt.Sprint(v), "trace", trace)
	return nil
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func jsonUnmarshal(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode job args: %w", err)
	}
	return nil
}
