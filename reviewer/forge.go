package reviewer

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// The interfaces the bot needs from its adapters. They live here, with the
// package that uses them; each adapter asserts that it satisfies them.

// PRState is what the forge says about a pull request right now.
type PRState struct {
	Repo      string // "owner/name"
	Number    int64
	State     string // "open" or "closed"
	Merged    bool
	Title     string
	Body      string
	Author    string
	URL       string
	HeadSHA   string
	HeadRef   string
	BaseRef   string // the PR's own target branch
	BaseSHA   string // the target's tip as the forge reports it
	Mergeable bool
	UpdatedAt time.Time
	CloneURL  string // HTTP(S) clone URL of the base repository
}

// Open reports whether the PR is open and not merged.
func (p *PRState) Open() bool { return p.State == "open" && !p.Merged }

// InlineComment is a review comment on one line of the PR's new side.
type InlineComment struct {
	Path string
	Line int // line in the new file
	Body string
}

// ReviewEvent is the state a posted review carries.
type ReviewEvent string

// Review events.
const (
	EventApprove        ReviewEvent = "APPROVED"
	EventRequestChanges ReviewEvent = "REQUEST_CHANGES"
	EventComment        ReviewEvent = "COMMENT"
)

// ReviewPost is a review ready to post.
type ReviewPost struct {
	Event    ReviewEvent
	Verdict  Verdict // the review's verdict (Event is how the forge shows it)
	Body     string  // markdown, including the hidden marker
	CommitID string  // the head SHA the review is about
	Comments []InlineComment
}

// PostedReview is a review the bot posted earlier.
type PostedReview struct {
	ID        int64
	Body      string
	CommitID  string
	State     string
	Dismissed bool
	Stale     bool
}

// CommitState is the state of a commit status.
type CommitState string

// Commit states.
const (
	StatePending CommitState = "pending"
	StateSuccess CommitState = "success"
	StateFailure CommitState = "failure"
	StateError   CommitState = "error"
)

// CommitStatus is a status on a commit, e.g. fiveaxis/review.
type CommitStatus struct {
	Context     string
	State       CommitState
	Description string
	TargetURL   string
}

// Forge is the code host the bot reviews on.
type Forge interface {
	// PullRequest reads a PR's current state.
	PullRequest(ctx context.Context, repo string, number int64) (*PRState, error)
	// OpenPullRequests lists the open PRs of a repository ("owner/name"),
	// of an organization ("org"), or of every repository the bot can see ("").
	OpenPullRequests(ctx context.Context, scope string) ([]*PRState, error)
	// BotReviews lists the reviews the bot itself posted on a PR.
	BotReviews(ctx context.Context, repo string, number int64) ([]PostedReview, error)
	// PostReview posts a review.
	PostReview(ctx context.Context, repo string, number int64, r ReviewPost) error
	// SupersedeReview dismisses (or marks superseded) an older bot review.
	SupersedeReview(ctx context.Context, repo string, number int64, id int64, reason string) error
	// SetStatus sets a commit status on sha.
	SetStatus(ctx context.Context, repo, sha string, s CommitStatus) error
	// Comment posts a plain comment on the PR.
	Comment(ctx context.Context, repo string, number int64, body string) error
	// CanWrite reports whether user has write access to repo.
	CanWrite(ctx context.Context, repo, user string) (bool, error)
}

// CommentLister is an optional Forge capability: the bodies of the human
// comments on a PR (its issue comments, not review comments), oldest first,
// without the bot's own. A forge may keep only the most recent ones
// (MaxPRComments, MaxPRCommentBytes). The review passes them to the checkers
// as data, never instructions; with a forge that lacks it, reviews go
// without comments.
type CommentLister interface {
	PRComments(ctx context.Context, repo string, number int64) ([]string, error)
}

// Caps on the PR comments a CommentLister returns: the most recent
// MaxPRComments, and of those the most recent that fit in MaxPRCommentBytes.
const (
	MaxPRComments     = 20
	MaxPRCommentBytes = 8 << 10
)

// CapComments keeps the most recent comments of cs (oldest first) within
// MaxPRComments and MaxPRCommentBytes. A single comment longer than the byte
// cap is cut, so the most recent comment is always kept in part.
func CapComments(cs []string) []string {
	if len(cs) > MaxPRComments {
		cs = cs[len(cs)-MaxPRComments:]
	}
	total, start := 0, len(cs)
	for i := len(cs) - 1; i >= 0; i-- {
		if total+len(cs[i]) > MaxPRCommentBytes {
			break
		}
		total += len(cs[i])
		start = i
	}
	out := append([]string(nil), cs[start:]...)
	if len(out) == 0 && len(cs) > 0 {
		last := cs[len(cs)-1]
		cut := MaxPRCommentBytes
		for cut > 0 && !utf8.RuneStart(last[cut]) {
			cut--
		}
		out = []string{last[:cut] + "\n[the rest of the comment was cut]"}
	}
	return out
}

// JobKind says what a job does.
type JobKind string

// Job kinds.
const (
	JobReview      JobKind = "review"       // a full Five-Axis review
	JobRebaseCheck JobKind = "rebase_check" // drift only: post needs-rebase when due
)

// Job is one unit of bot work, as the webhook receiver or the sweep enqueues
// it. Jobs are unique on (Kind, Repo, PR, HeadSHA).
type Job struct {
	Kind    JobKind `json:"kind"`
	Repo    string  `json:"repo"`
	PR      int64   `json:"pr"`
	HeadSHA string  `json:"head_sha"`
	Reason  string  `json:"reason"` // "opened", "synchronized", "comment:/review", "sweep", ...
	// Force re-reviews even when a review of HeadSHA exists (the /review command).
	Force bool `json:"force,omitempty"`
}

// Enqueuer puts jobs on a durable queue. Enqueue returns only once the job is
// stored; enqueueing a job that is already queued is not an error.
type Enqueuer interface {
	Enqueue(ctx context.Context, jobs ...Job) error
}

// Outcome says what processing a job did.
type Outcome string

// Outcomes.
const (
	OutcomePosted    Outcome = "posted"     // a review or comment was posted
	OutcomeDuplicate Outcome = "duplicate"  // this head already has the bot's review
	OutcomeClosed    Outcome = "closed"     // the PR is closed or merged: nothing posted
	OutcomeHeadMoved Outcome = "head_moved" // a newer head exists: nothing posted
	OutcomeNotDue    Outcome = "not_due"    // rebase check: no rebase needed or already said
	OutcomeNoAccess  Outcome = "no_access"  // the bot cannot read the repository
	OutcomeSkipped   Outcome = "skipped"    // ignored for another reason
)

// Processor does the work of one job. The queue calls it; the webhook
// receiver and the sweep only enqueue.
type Processor interface {
	Process(ctx context.Context, job Job) (Outcome, error)
}

// RetryableError marks a failure worth retrying (a forge 5xx or 429, a
// network error, an LLM timeout). After says how long to wait, when the
// server said so (Retry-After).
type RetryableError struct {
	Err   error
	After time.Duration
}

func (e *RetryableError) Error() string {
	if e.After > 0 {
		return fmt.Sprintf("%v (retry after %s)", e.Err, e.After)
	}
	return e.Err.Error()
}

func (e *RetryableError) Unwrap() error { return e.Err }

// Sentinel errors of the forge.
var (
	// ErrUnauthorized means a bad token or a missing scope (401/403).
	ErrUnauthorized = errors.New("forge: unauthorized: check the bot token and its scopes")
	// ErrNotFound means the repository or PR does not exist (404).
	ErrNotFound = errors.New("forge: not found")
)
