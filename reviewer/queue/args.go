package queue

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/fiveaxis/fiveaxis/reviewer"
)

// River job kinds.
const (
	KindReviewPR    = "review_pr"
	KindRebaseCheck = "rebase_check"
	KindSweep       = "sweep"
)

// queuedStates are the states in which a job still waits to run or runs. A
// unique job that lists only these states may be inserted again once the
// earlier one has finished.
var queuedStates = []rivertype.JobState{
	rivertype.JobStateAvailable,
	rivertype.JobStatePending,
	rivertype.JobStateRunning,
	rivertype.JobStateRetryable,
	rivertype.JobStateScheduled,
}

// ReviewPRArgs asks for a full review of one head of a pull request. Jobs are
// unique on repo, pr and head_sha: the same head is reviewed once while its
// job is queued, running or completed (until River cleans completed jobs out).
// A Force job (the /review command) is unique only while it waits or runs.
type ReviewPRArgs struct {
	Repo    string `json:"repo" river:"unique"`
	PR      int64  `json:"pr" river:"unique"`
	HeadSHA string `json:"head_sha" river:"unique"`
	Reason  string `json:"reason"`
	Force   bool   `json:"force,omitempty" river:"unique"`
}

// Kind implements river.JobArgs.
func (ReviewPRArgs) Kind() string { return KindReviewPR }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (a ReviewPRArgs) InsertOpts() river.InsertOpts {
	u := river.UniqueOpts{ByArgs: true}
	if a.Force {
		u.ByState = queuedStates
	}
	return river.InsertOpts{UniqueOpts: u, Tags: []string{prTag(a.Repo, a.PR)}}
}

// RebaseCheckArgs asks whether one head of a pull request needs a rebase.
// Jobs are unique on repo, pr and head_sha while they wait or run, so that
// every sweep may check again.
type RebaseCheckArgs struct {
	Repo    string `json:"repo" river:"unique"`
	PR      int64  `json:"pr" river:"unique"`
	HeadSHA string `json:"head_sha" river:"unique"`
	Reason  string `json:"reason"`
}

// Kind implements river.JobArgs.
func (RebaseCheckArgs) Kind() string { return KindRebaseCheck }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (a RebaseCheckArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: queuedStates},
		Tags:       []string{prTag(a.Repo, a.PR)},
	}
}

// SweepArgs runs the stale-PR sweep once. At most one sweep waits or runs at
// a time.
type SweepArgs struct{}

// Kind implements river.JobArgs.
func (SweepArgs) Kind() string { return KindSweep }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (SweepArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: 3,
		UniqueOpts:  river.UniqueOpts{ByState: queuedStates},
	}
}

// prTag is the River tag shared by all jobs of one pull request. Tags allow
// only word characters and dashes, so the repository name is hashed.
func prTag(repo string, pr int64) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s#%d", repo, pr))
	return "pr-" + hex.EncodeToString(sum[:10])
}

// insertParams turns a bot job into River insert parameters. Reviews that
// are not forced wait debounce before they run, so that a burst of pushes
// coalesces into one review of the last head.
func insertParams(j reviewer.Job, debounce time.Duration, now time.Time) (river.InsertManyParams, error) {
	if j.Repo == "" || j.PR <= 0 || j.HeadSHA == "" {
		return river.InsertManyParams{}, fmt.Errorf("enqueue: job needs repo, pr and head_sha: %+v", j)
	}
	switch j.Kind {
	case reviewer.JobReview, "":
		p := river.InsertManyParams{Args: ReviewPRArgs{Repo: j.Repo, PR: j.PR, HeadSHA: j.HeadSHA, Reason: j.Reason, Force: j.Force}}
		if debounce > 0 && !j.Force {
			p.InsertOpts = &river.InsertOpts{ScheduledAt: now.Add(debounce)}
		}
		return p, nil
	case reviewer.JobRebaseCheck:
		return river.InsertManyParams{Args: RebaseCheckArgs{Repo: j.Repo, PR: j.PR, HeadSHA: j.HeadSHA, Reason: j.Reason}}, nil
	default:
		return river.InsertManyParams{}, fmt.Errorf("enqueue: unknown job kind %q", j.Kind)
	}
}
