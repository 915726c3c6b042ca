package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/fiveaxis/fiveaxis/reviewer"
)

// Group commit.
//
// Enqueue does not open a transaction of its own. It hands its jobs to one
// committer goroutine per Queue and waits. The committer takes every request
// that is waiting, inserts all their jobs with one River InsertManyTx,
// coalesces in the same transaction, commits once and then wakes each
// caller. A caller therefore returns only after the transaction holding its
// jobs committed, exactly as with a transaction per call, but N concurrent
// webhooks cost one BEGIN, one insert statement and one commit (one fsync)
// instead of N. There is no timer: a batch is whatever arrived while the
// previous one committed, so a lone event waits for nothing.

// maxBatch bounds the requests one transaction carries.
const maxBatch = 256

// batchTimeout bounds one batch transaction. It does not depend on the
// callers' contexts, since one batch serves many callers.
const batchTimeout = 30 * time.Second

// errClosed is returned by Enqueue after Close.
var errClosed = errors.New("queue: closed")

// enqueueReq is one Enqueue call waiting for its batch to commit.
type enqueueReq struct {
	jobs   []reviewer.Job
	params []river.InsertManyParams
	// done receives nil once the jobs are committed, or the error.
	done chan error
	// res and dup hold, per job, its insert result and whether it was a
	// duplicate (of a queued job or of a job earlier in the batch). They are
	// set before done is sent to.
	res []*rivertype.JobInsertResult
	dup []bool
}

// startCommitter starts the goroutine that commits Enqueue batches.
func (q *Queue) startCommitter() {
	q.reqs = make(chan *enqueueReq)
	q.closing = make(chan struct{})
	q.committerDone = make(chan struct{})
	go q.commitLoop()
}

// stopCommitter stops the committer after the batch it holds, if any, is
// committed. Later Enqueue calls fail with errClosed.
func (q *Queue) stopCommitter() {
	q.closeOnce.Do(func() { close(q.closing) })
	<-q.committerDone
}

func (q *Queue) commitLoop() {
	defer close(q.committerDone)
	for {
		var first *enqueueReq
		select {
		case first = <-q.reqs:
		case <-q.closing:
			return
		}
		batch := []*enqueueReq{first}
	gather:
		for len(batch) < maxBatch {
			select {
			case r := <-q.reqs:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		q.commitBatch(batch)
	}
}

// commitBatch commits the jobs of every request of batch in one
// transaction and wakes the callers. When the batch fails as a whole, each
// request is retried in a transaction of its own, so that one caller's bad
// job does not fail the others.
func (q *Queue) commitBatch(batch []*enqueueReq) {
	err := q.commitTx(batch)
	if err != nil && len(batch) > 1 {
		q.log.Warn("enqueue batch failed; committing its requests one by one", "requests", len(batch), "err", err)
		for _, r := range batch {
			r.done <- q.commitTx([]*enqueueReq{r})
		}
		return
	}
	for _, r := range batch {
		r.done <- err
	}
}

// batchKey identifies a job as River's unique key does: River rejects an
// insert batch that holds one unique key twice.
type batchKey struct {
	kind  string
	repo  string
	pr    int64
	head  string
	force bool
}

func keyOf(p river.InsertManyParams) batchKey {
	switch a := p.Args.(type) {
	case ReviewPRArgs:
		return batchKey{KindReviewPR, a.Repo, a.PR, a.HeadSHA, a.Force}
	case RebaseCheckArgs:
		return batchKey{KindRebaseCheck, a.Repo, a.PR, a.HeadSHA, false}
	default:
		return batchKey{kind: p.Args.Kind()}
	}
}

// commitTx inserts the jobs of batch, in request order, in one transaction,
// coalesces older heads, commits, and then records the results in the
// requests and the latest-job map. A job whose unique key occurs earlier in
// the batch is not inserted again: its caller gets the earlier job, as a
// duplicate.
func (q *Queue) commitTx(batch []*enqueueReq) error {
	var params []river.InsertManyParams
	var jobs []reviewer.Job
	index := map[batchKey]int{}
	slots := make([][]int, len(batch)) // request job -> index into params
	for bi, r := range batch {
		slots[bi] = make([]int, len(r.params))
		for i, p := range r.params {
			k := keyOf(p)
			at, seen := index[k]
			if !seen {
				at = len(params)
				index[k] = at
				params = append(params, p)
				jobs = append(jobs, r.jobs[i])
			}
			slots[bi][i] = at
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	var res []*rivertype.JobInsertResult
	var cancelled []cancelledJob
	err := q.be.inTx(ctx, func(tx txOps) error {
		var err error
		cancelled = cancelled[:0]
		if res, err = tx.insertMany(params); err != nil {
			return err
		}
		if len(res) != len(params) {
			return fmt.Errorf("river returned %d results for %d jobs", len(res), len(params))
		}
		// inBatch is the latest review job of each PR among the jobs of
		// this batch so far: those are known to be queued and uncommitted,
		// so coalescing them needs no read.
		inBatch := map[string]latestJob{}
		for i, r := range res {
			if params[i].Args.Kind() != KindReviewPR || r.UniqueSkippedAsDuplicate {
				continue
			}
			c, err := q.coalesce(tx, inBatch, jobs[i], r.Job.ID)
			if err != nil {
				return err
			}
			cancelled = append(cancelled, c...)
		}
		return cancelInOrder(tx, cancelled)
	})
	if err != nil {
		return fmt.Errorf("queue: enqueue: %w", err)
	}
	q.remember(params, res)
	first := make([]bool, len(params)) // whether a request already took the job
	for bi, r := range batch {
		r.res = make([]*rivertype.JobInsertResult, len(r.params))
		r.dup = make([]bool, len(r.params))
		for i, at := range slots[bi] {
			r.res[i] = res[at]
			r.dup[i] = res[at].UniqueSkippedAsDuplicate || first[at]
			first[at] = true
		}
	}
	for _, c := range cancelled {
		q.metrics.Coalesced.Inc()
		q.log.Info("cancelled job for an older head", "repo", c.Repo, "pr", c.PR, "head_sha", c.HeadSHA,
			"job_id", c.ID, "newer_head_sha", c.Newer)
	}
	return nil
}

// cancelInOrder cancels the jobs coalescing found. Jobs of earlier
// transactions are cancelled in the order in which River's scheduler locks
// due jobs (priority, scheduled_at, id), so that on PostgreSQL a batch that
// cancels several of them cannot deadlock with the scheduler. Jobs inserted
// by this transaction are invisible to others and go last.
func cancelInOrder(tx txOps, jobs []cancelledJob) error {
	slices.SortStableFunc(jobs, func(a, b cancelledJob) int {
		switch {
		case a.committed != b.committed:
			if a.committed {
				return -1
			}
			return 1
		case !a.committed:
			return 0
		case a.priority != b.priority:
			return a.priority - b.priority
		case !a.scheduledAt.Equal(b.scheduledAt):
			return a.scheduledAt.Compare(b.scheduledAt)
		}
		return int(a.ID - b.ID)
	})
	for _, c := range jobs {
		if err := tx.cancel(c.ID); err != nil {
			return fmt.Errorf("coalesce: cancel job %d: %w", c.ID, err)
		}
	}
	return nil
}
