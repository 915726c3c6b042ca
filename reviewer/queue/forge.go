package queue

import (
	"context"

	"github.com/fiveaxis/fiveaxis/reviewer"
)

// Forge operations, the op label of fiveaxis_forge_errors_total.
const (
	opPullRequest      = "pull_request"
	opOpenPullRequests = "open_pull_requests"
	opBotReviews       = "bot_reviews"
	opPostReview       = "post_review"
	opSupersedeReview  = "supersede_review"
	opSetStatus        = "set_status"
	opComment          = "comment"
	opCanWrite         = "can_write"
	opBotComments      = "bot_comments"
	opPRComments       = "pr_comments"
)

// InstrumentForge wraps f so that m counts its failed calls by operation
// (fiveaxis_forge_errors_total) and the reviews it posts by verdict
// (fiveaxis_reviews_posted_total). The wrapper lists the bot's comments
// (reviewer.BotCommentLister) and the PR's comments (reviewer.CommentLister)
// exactly when f does. This keeps the core (reviewer, reviewer/gitea) free
// of Prometheus.
func InstrumentForge(f reviewer.Forge, m *Metrics) reviewer.Forge {
	w := &metricsForge{f: f, m: m}
	bl, botOK := f.(reviewer.BotCommentLister)
	cl, prOK := f.(reviewer.CommentLister)
	switch {
	case botOK && prOK:
		return &metricsBothListerForge{
			metricsListerForge: &metricsListerForge{metricsForge: w, l: bl},
			cl:                 &metricsCommentListerForge{metricsForge: w, l: cl},
		}
	case botOK:
		return &metricsListerForge{metricsForge: w, l: bl}
	case prOK:
		return &metricsCommentListerForge{metricsForge: w, l: cl}
	}
	return w
}

// metricsForge is a reviewer.Forge that counts errors and posted reviews.
type metricsForge struct {
	f reviewer.Forge
	m *Metrics
}

var _ reviewer.Forge = (*metricsForge)(nil)

// count records err, when not nil, as a failure of op and returns it.
func (w *metricsForge) count(op string, err error) error {
	if err != nil {
		w.m.ForgeError(op)
	}
	return err
}

func (w *metricsForge) PullRequest(ctx context.Context, repo string, number int64) (*reviewer.PRState, error) {
	pr, err := w.f.PullRequest(ctx, repo, number)
	return pr, w.count(opPullRequest, err)
}

func (w *metricsForge) OpenPullRequests(ctx context.Context, scope string) ([]*reviewer.PRState, error) {
	prs, err := w.f.OpenPullRequests(ctx, scope)
	return prs, w.count(opOpenPullRequests, err)
}

func (w *metricsForge) BotReviews(ctx context.Context, repo string, number int64) ([]reviewer.PostedReview, error) {
	rs, err := w.f.BotReviews(ctx, repo, number)
	return rs, w.count(opBotReviews, err)
}

// PostReview posts r and counts it by verdict (by its event when the
// verdict is not set).
func (w *metricsForge) PostReview(ctx context.Context, repo string, number int64, r reviewer.ReviewPost) error {
	if err := w.count(opPostReview, w.f.PostReview(ctx, repo, number, r)); err != nil {
		return err
	}
	verdict := string(r.Verdict)
	if verdict == "" {
		verdict = "event_" + string(r.Event)
	}
	w.m.ReviewPosted(verdict)
	return nil
}

func (w *metricsForge) SupersedeReview(ctx context.Context, repo string, number int64, id int64, reason string) error {
	return w.count(opSupersedeReview, w.f.SupersedeReview(ctx, repo, number, id, reason))
}

func (w *metricsForge) SetStatus(ctx context.Context, repo, sha string, s reviewer.CommitStatus) error {
	return w.count(opSetStatus, w.f.SetStatus(ctx, repo, sha, s))
}

func (w *metricsForge) Comment(ctx context.Context, repo string, number int64, body string) error {
	return w.count(opComment, w.f.Comment(ctx, repo, number, body))
}

func (w *metricsForge) CanWrite(ctx context.Context, repo, user string) (bool, error) {
	ok, err := w.f.CanWrite(ctx, repo, user)
	return ok, w.count(opCanWrite, err)
}

// metricsListerForge is a metricsForge over a forge that lists the bot's
// comments.
type metricsListerForge struct {
	*metricsForge
	l reviewer.BotCommentLister
}

var _ reviewer.BotCommentLister = (*metricsListerForge)(nil)

func (w *metricsListerForge) BotComments(ctx context.Context, repo string, number int64) ([]string, error) {
	cs, err := w.l.BotComments(ctx, repo, number)
	return cs, w.count(opBotComments, err)
}

// metricsCommentListerForge is a metricsForge over a forge that lists the
// PR's comments.
type metricsCommentListerForge struct {
	*metricsForge
	l reviewer.CommentLister
}

var _ reviewer.CommentLister = (*metricsCommentListerForge)(nil)

func (w *metricsCommentListerForge) PRComments(ctx context.Context, repo string, number int64) ([]string, error) {
	cs, err := w.l.PRComments(ctx, repo, number)
	return cs, w.count(opPRComments, err)
}

// metricsBothListerForge is a metricsForge over a forge that lists both the
// bot's comments and the PR's comments.
type metricsBothListerForge struct {
	*metricsListerForge
	cl *metricsCommentListerForge
}

func (w *metricsBothListerForge) PRComments(ctx context.Context, repo string, number int64) ([]string, error) {
	return w.cl.PRComments(ctx, repo, number)
}

var (
	_ reviewer.Forge            = (*metricsBothListerForge)(nil)
	_ reviewer.BotCommentLister = (*metricsBothListerForge)(nil)
	_ reviewer.CommentLister    = (*metricsBothListerForge)(nil)
)
