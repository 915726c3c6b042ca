package reviewer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Sweep actions.
const (
	SweepRebaseCheck = "rebase_check" // enqueue a RebaseCheck job
	SweepReview      = "review"       // enqueue a review: the head has no bot review
	SweepIdle        = "idle_comment" // comment once that the PR is idle
)

// SweepAction is one thing a sweep does, or would do in a dry run.
type SweepAction struct {
	Action  string
	Repo    string
	PR      int64
	HeadSHA string
	Reason  string
}

// BotCommentLister is an optional Forge capability: the bodies of the plain
// comments the bot posted on a PR. The sweep needs it to comment on an idle
// PR only once; with a forge that lacks it, idle comments are skipped.
type BotCommentLister interface {
	BotComments(ctx context.Context, repo string, number int64) ([]string, error)
}

// IdleMarker is the hidden marker of the sweep's idle comment on head.
func IdleMarker(head string) string { return "<!-- fiveaxis:idle head=" + head + " -->" }

// Sweeper finds open PRs that need attention: each gets a rebase check; a
// head without a bot review gets a review; a PR idle longer than IdleAfter
// gets one comment per head. The queue runs it periodically.
type Sweeper struct {
	// Forge lists PRs and reviews and posts idle comments.
	Forge Forge
	// Scopes are "owner/name" repositories and organizations; empty means
	// every repository the bot can see.
	Scopes []string
	// IdleAfter flags PRs not updated for this long (0: never).
	IdleAfter time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log receives the sweep's logs (default: discarded).
	Log *slog.Logger
	// Progress, when set, is called after each PR of a scope is looked at,
	// with the PRs done and the scope's total (for a progress line).
	Progress func(done, total int)
}

// Plan lists what a sweep would do, without doing it.
func (s *Sweeper) Plan(ctx context.Context) ([]SweepAction, error) {
	log := s.logger()
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	scopes := s.Scopes
	if len(scopes) == 0 {
		scopes = []string{""}
	}
	lister, canList := s.Forge.(BotCommentLister)
	if s.IdleAfter > 0 && !canList {
		log.Warn("sweep: the forge cannot list the bot's comments; idle comments are off")
	}
	seen := map[string]bool{}
	var actions []SweepAction
	var errs []error
	for _, scope := range scopes {
		prs, err := s.Forge.OpenPullRequests(ctx, scope)
		if err != nil {
			errs = append(errs, fmt.Errorf("sweep %q: %w", scope, err))
			continue
		}
		for i, pr := range prs {
			if s.Progress != nil {
				s.Progress(i, len(prs))
			}
			key := fmt.Sprintf("%s#%d", strings.ToLower(pr.Repo), pr.Number)
			if seen[key] || !pr.Open() || pr.HeadSHA == "" {
				continue
			}
			seen[key] = true
			act := func(action, reason string) {
				actions = append(actions, SweepAction{Action: action, Repo: pr.Repo, PR: pr.Number, HeadSHA: pr.HeadSHA, Reason: reason})
			}
			act(SweepRebaseCheck, "sweep")
			reviews, err := s.Forge.BotReviews(ctx, pr.Repo, pr.Number)
			if err != nil {
				errs = append(errs, fmt.Errorf("sweep %s: reviews: %w", key, err))
				continue
			}
			if !headReviewed(reviews, pr) {
				act(SweepReview, "sweep: head has no review")
			}
			if s.IdleAfter <= 0 || !canList || pr.UpdatedAt.IsZero() {
				continue
			}
			idle := now().Sub(pr.UpdatedAt)
			if idle < s.IdleAfter {
				continue
			}
			comments, err := lister.BotComments(ctx, pr.Repo, pr.Number)
			if err != nil {
				errs = append(errs, fmt.Errorf("sweep %s: comments: %w", key, err))
				continue
			}
			if !containsMarker(comments, IdleMarker(pr.HeadSHA)) {
				act(SweepIdle, fmt.Sprintf("idle for %s", idle.Round(time.Hour)))
			}
		}
		if s.Progress != nil {
			s.Progress(len(prs), len(prs))
		}
	}
	return actions, errors.Join(errs...)
}

// Apply carries out planned actions: it enqueues the jobs on enq in one
// call and posts idle comments.
func (s *Sweeper) Apply(ctx context.Context, enq Enqueuer, actions []SweepAction) error {
	var jobs []Job
	var errs []error
	for _, a := range actions {
		switch a.Action {
		case SweepRebaseCheck:
			jobs = append(jobs, Job{Kind: JobRebaseCheck, Repo: a.Repo, PR: a.PR, HeadSHA: a.HeadSHA, Reason: "sweep"})
		case SweepReview:
			jobs = append(jobs, Job{Kind: JobReview, Repo: a.Repo, PR: a.PR, HeadSHA: a.HeadSHA, Reason: "sweep"})
		case SweepIdle:
			body := fmt.Sprintf("This pull request has had no activity for a while (%s). "+
				"Is it still needed? Rebase it on its target branch, or close it if it is no longer wanted.\n\n%s",
				a.Reason, IdleMarker(a.HeadSHA))
			if err := s.Forge.Comment(ctx, a.Repo, a.PR, body); err != nil {
				errs = append(errs, fmt.Errorf("idle comment %s#%d: %w", a.Repo, a.PR, err))
			}
		}
	}
	if len(jobs) > 0 {
		if err := enq.Enqueue(ctx, jobs...); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Run plans a sweep and applies it. Actions planned for PRs that could not
// be read are skipped; the errors are returned together.
func (s *Sweeper) Run(ctx context.Context, enq Enqueuer) ([]SweepAction, error) {
	actions, planErr := s.Plan(ctx)
	applyErr := s.Apply(ctx, enq, actions)
	s.logger().Info("sweep", "actions", len(actions), "plan_err", planErr, "apply_err", applyErr)
	return actions, errors.Join(planErr, applyErr)
}

func (s *Sweeper) logger() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// headReviewed reports whether the bot reviewed pr's head against its
// target, with a full review or a needs-rebase review.
func headReviewed(reviews []PostedReview, pr *PRState) bool {
	for _, r := range reviews {
		m, ok := ParseMarker(r.Body)
		if !ok {
			continue
		}
		if m.Head == pr.HeadSHA && (m.Base == "" || m.Base == pr.BaseRef) {
			return true
		}
	}
	return false
}

func containsMarker(bodies []string, marker string) bool {
	for _, b := range bodies {
		if strings.Contains(b, marker) {
			return true
		}
	}
	return false
}
