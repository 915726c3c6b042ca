package reviewer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/gitops"
)

// StatusContext is the commit status the bot sets on every head it reviews,
// for branch protection to require.
const StatusContext = "fiveaxis/review"

// MaxInlineComments caps the inline comments of one review; further
// findings on commentable lines are only listed in the body.
const MaxInlineComments = 30

// MirrorFunc returns the bare mirror of pr's repository, fetched so that it
// holds the PR's target branch (refs/heads/<BaseRef>) and its head
// (refs/pull/<N>/head). The mirror stays locked for the caller, so that no
// other fetch changes it during the review, until release is called; release
// also closes repo.
type MirrorFunc func(ctx context.Context, pr *PRState) (repo *gitops.Repo, release func(), err error)

// Bot is the reviewer bot: it processes jobs by reading the PR from the
// forge, reviewing its head against the PR's own target branch and posting
// the review, its inline comments and the fiveaxis/review commit status.
//
// Its rules:
//   - nothing is ever posted on a closed or merged PR;
//   - drift is measured against the PR's own target branch;
//   - the PR is read again just before posting, and nothing is posted if
//     its head moved or it closed meanwhile;
//   - one review per (head SHA, target branch), found through a hidden
//     Marker in the review body, so this holds across restarts and
//     replicas; a forced job (/review) reviews again;
//   - a needs-rebase review is posted once per (head SHA, target tip
//     bucket): see RebaseBucket.
//
// Verdicts map to review states as follows: approve → APPROVED,
// request_changes → REQUEST_CHANGES, comment → COMMENT, and needs_rebase →
// REQUEST_CHANGES with the rebase paragraph, so that a branch that must be
// rebased cannot be merged on an older approval. The commit status is
// success for approve and comment, failure for request_changes and
// needs_rebase.
type Bot struct {
	forge   Forge
	mirror  MirrorFunc
	opts    Options
	log     *slog.Logger
	version string
	config  string
}

var _ Processor = (*Bot)(nil)

// NewBot returns a bot. opts are the review options (checkers, max_behind,
// filter); version is the fiveaxis version recorded in each review's marker.
func NewBot(forge Forge, mirror MirrorFunc, opts Options, log *slog.Logger, version string) *Bot {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts.Version = version
	return &Bot{forge: forge, mirror: mirror, opts: opts, log: log, version: version, config: ConfigHash(opts)}
}

// ConfigHash identifies the review configuration (checkers, max_behind,
// filter) in review markers: 12 hex digits of a SHA-256.
func ConfigHash(opts Options) string {
	names := make([]string, 0, len(opts.Checkers))
	for _, c := range opts.Checkers {
		names = append(names, c.Name+":"+string(c.Severity))
	}
	sort.Strings(names)
	maxBehind := opts.MaxBehind
	if maxBehind <= 0 {
		maxBehind = DefaultMaxBehind
	}
	h := sha256.Sum256(fmt.Appendf(nil, "checkers=%s\nmax_behind=%d\nfilter=%s\nrepo_config=%t\n",
		strings.Join(names, ","), maxBehind, opts.Filter, !opts.IgnoreRepoConfig))
	return hex.EncodeToString(h[:6])
}

// RebaseBucket is the target tip bucket of a needs-rebase review: the
// number of commits the head is behind its target, in steps of half of
// maxBehind (behind/50 with the default max_behind of 100). A needs-rebase
// review is posted once per (head SHA, bucket): again only once the target
// has moved on by another half of max_behind commits.
func RebaseBucket(behind, maxBehind int) int {
	if maxBehind <= 0 {
		maxBehind = DefaultMaxBehind
	}
	step := max(maxBehind/2, 1)
	return behind / step
}

// Marker kinds.
const (
	MarkerReview      = "review"
	MarkerNeedsRebase = "needs-rebase"
)

// Marker is the hidden HTML comment at the end of each review the bot
// posts: <!-- fiveaxis:review head=<sha> base=<branch> version=<v>
// config=<hash> --> and, for a needs-rebase review, also kind=needs-rebase
// bucket=<n>. Values are query-escaped.
type Marker struct {
	Head    string
	Base    string
	Version string
	Config  string
	Kind    string // MarkerReview or MarkerNeedsRebase
	Bucket  int    // RebaseBucket, for MarkerNeedsRebase
}

// String renders the marker.
func (m Marker) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- fiveaxis:review head=%s base=%s version=%s config=%s",
		url.QueryEscape(m.Head), url.QueryEscape(m.Base), url.QueryEscape(m.Version), url.QueryEscape(m.Config))
	if m.Kind == MarkerNeedsRebase {
		fmt.Fprintf(&b, " kind=%s bucket=%d", MarkerNeedsRebase, m.Bucket)
	}
	b.WriteString(" -->")
	return b.String()
}

var markerRE = regexp.MustCompile(`<!-- fiveaxis:review ([^>]*) -->`)

// ParseMarker finds the last marker in a review body.
func ParseMarker(body string) (Marker, bool) {
	all := markerRE.FindAllStringSubmatch(body, -1)
	if len(all) == 0 {
		return Marker{}, false
	}
	m := Marker{Kind: MarkerReview}
	for _, f := range strings.Fields(all[len(all)-1][1]) {
		k, v, _ := strings.Cut(f, "=")
		if u, err := url.QueryUnescape(v); err == nil {
			v = u
		}
		switch k {
		case "head":
			m.Head = v
		case "base":
			m.Base = v
		case "version":
			m.Version = v
		case "config":
			m.Config = v
		case "kind":
			m.Kind = v
		case "bucket":
			m.Bucket, _ = strconv.Atoi(v)
		}
	}
	if m.Head == "" {
		return Marker{}, false
	}
	return m, true
}

// botReview is an earlier bot review with its marker.
type botReview struct {
	PostedReview
	marker Marker
}

func markedReviews(posted []PostedReview) []botReview {
	var out []botReview
	for _, p := range posted {
		if m, ok := ParseMarker(p.Body); ok {
			out = append(out, botReview{PostedReview: p, marker: m})
		}
	}
	return out
}

// reviewed reports whether a full review of (head, base) exists.
func reviewed(rs []botReview, head, base string) bool {
	for _, r := range rs {
		if r.marker.Head == head && r.marker.Base == base && r.marker.Kind == MarkerReview {
			return true
		}
	}
	return false
}

// rebaseSaid reports whether a needs-rebase review of (head, base, bucket)
// exists.
func rebaseSaid(rs []botReview, head, base string, bucket int) bool {
	for _, r := range rs {
		if r.marker.Head == head && r.marker.Base == base && r.marker.Kind == MarkerNeedsRebase && r.marker.Bucket == bucket {
			return true
		}
	}
	return false
}

// Process does one job. It returns the outcome and an error only for
// failures worth retrying (a *RetryableError) or that need attention.
func (b *Bot) Process(ctx context.Context, job Job) (Outcome, error) {
	log := b.log.With("repo", job.Repo, "pr", job.PR, "job_kind", string(job.Kind), "reason", job.Reason)
	pr, err := b.forge.PullRequest(ctx, job.Repo, job.PR)
	if err != nil {
		return forgeFailure(log, "read PR", err)
	}
	if !pr.Open() {
		log.Info("PR is closed or merged: nothing to do", "head_sha", job.HeadSHA, "state", pr.State, "merged", pr.Merged)
		return OutcomeClosed, nil
	}
	if job.HeadSHA != "" && job.HeadSHA != pr.HeadSHA {
		log.Info("the PR has a newer head: nothing to do", "head_sha", job.HeadSHA, "current_head", pr.HeadSHA)
		return OutcomeHeadMoved, nil
	}
	log = log.With("head_sha", pr.HeadSHA, "base", pr.BaseRef)
	posted, err := b.forge.BotReviews(ctx, pr.Repo, pr.Number)
	if err != nil {
		return forgeFailure(log, "list the bot's reviews", err)
	}
	earlier := markedReviews(posted)
	if job.Kind != JobRebaseCheck && !job.Force && reviewed(earlier, pr.HeadSHA, pr.BaseRef) {
		log.Info("this head is already reviewed")
		return OutcomeDuplicate, nil
	}
	review := job.Kind != JobRebaseCheck
	if review {
		if err := b.status(ctx, pr, StatePending, "review in progress"); err != nil {
			return forgeFailure(log, "set pending status", err)
		}
	}
	out, err := b.run(ctx, log, job, pr, earlier)
	if err != nil && review && !isRetryable(err) && ctx.Err() == nil {
		if serr := b.status(ctx, pr, StateError, "review failed: "+truncate(err.Error(), 100)); serr != nil {
			log.Warn("cannot set error status", "err", serr)
		}
	}
	return out, err
}

// prComments reads the human comments on pr when the forge can list them
// (CommentLister), capped with CapComments. A failure is logged, not
// returned: the review goes on without the comments.
func (b *Bot) prComments(ctx context.Context, log *slog.Logger, pr *PRState) []string {
	l, ok := b.forge.(CommentLister)
	if !ok {
		return nil
	}
	cs, err := l.PRComments(ctx, pr.Repo, pr.Number)
	if err != nil {
		log.Warn("cannot read the PR's comments: reviewing without them", "err", err)
		return nil
	}
	return CapComments(cs)
}

// run fetches the mirror, reviews and posts, holding the mirror's lock.
func (b *Bot) run(ctx context.Context, log *slog.Logger, job Job, pr *PRState, earlier []botReview) (Outcome, error) {
	repo, release, err := b.mirror(ctx, pr)
	if err != nil {
		if errors.Is(err, ErrUnauthorized) {
			return forgeFailure(log, "fetch the mirror", err)
		}
		return "", fmt.Errorf("mirror of %s: %w", pr.Repo, err)
	}
	defer release()
	opts := b.opts
	if job.Kind == JobRebaseCheck {
		opts.Checkers = nil // drift only
	}
	var comments []string
	if job.Kind != JobRebaseCheck {
		comments = b.prComments(ctx, log, pr)
	}
	rv, err := Run(ctx, repo, Request{
		BaseRef: pr.BaseRef, // the PR's own target, never a fixed branch
		HeadRef: pr.HeadSHA,
		PR: &PullRequest{
			Repo: pr.Repo, Number: pr.Number, Title: pr.Title, Body: pr.Body, URL: pr.URL, Author: pr.Author,
			Comments: comments,
		},
	}, opts)
	if err != nil {
		if errors.Is(err, gitops.ErrUnknownRevision) {
			// The head may have moved between reading the PR and fetching.
			if now, rerr := b.forge.PullRequest(ctx, pr.Repo, pr.Number); rerr == nil && (!now.Open() || now.HeadSHA != pr.HeadSHA) {
				log.Info("the PR changed during the fetch: nothing to do")
				return OutcomeHeadMoved, nil
			}
		}
		return "", fmt.Errorf("review %s#%d at %.10s against %s: %w", pr.Repo, pr.Number, pr.HeadSHA, pr.BaseRef, err)
	}
	mk := Marker{Head: pr.HeadSHA, Base: pr.BaseRef, Version: b.version, Config: b.config, Kind: MarkerReview}
	if rv.Verdict == VerdictNeedsRebase {
		mk.Kind, mk.Bucket = MarkerNeedsRebase, RebaseBucket(rv.Drift.Behind, rv.MaxBehind)
	}
	log = log.With("verdict", string(rv.Verdict), "behind", rv.Drift.Behind)
	switch {
	case job.Kind == JobRebaseCheck && rv.Verdict != VerdictNeedsRebase:
		log.Info("rebase check: no rebase needed")
		return OutcomeNotDue, nil
	case job.Kind == JobRebaseCheck && rebaseSaid(earlier, mk.Head, mk.Base, mk.Bucket):
		log.Info("rebase check: needs-rebase already posted for this bucket", "bucket", mk.Bucket)
		return OutcomeNotDue, nil
	case rv.Verdict == VerdictNeedsRebase && !job.Force && rebaseSaid(earlier, mk.Head, mk.Base, mk.Bucket):
		log.Info("needs-rebase already posted for this bucket", "bucket", mk.Bucket)
		if err := b.status(ctx, pr, StateFailure, statusDescription(rv)); err != nil {
			return forgeFailure(log, "set status", err)
		}
		return OutcomeDuplicate, nil
	}
	post, err := b.buildPost(ctx, repo, job, rv, mk)
	if err != nil {
		return "", err
	}
	// Read the PR again just before posting.
	now, err := b.forge.PullRequest(ctx, pr.Repo, pr.Number)
	if err != nil {
		return forgeFailure(log, "re-read PR", err)
	}
	switch {
	case !now.Open():
		log.Info("PR closed during the review: nothing posted")
		return OutcomeClosed, nil
	case now.HeadSHA != pr.HeadSHA:
		log.Info("head moved during the review: nothing posted", "current_head", now.HeadSHA)
		return OutcomeHeadMoved, nil
	case now.BaseRef != pr.BaseRef:
		log.Info("target branch changed during the review: nothing posted", "current_base", now.BaseRef)
		return OutcomeSkipped, nil
	}
	if err := b.forge.PostReview(ctx, pr.Repo, pr.Number, post); err != nil {
		return forgeFailure(log, "post review", err)
	}
	state := StateSuccess
	if rv.Verdict.Blocking() {
		state = StateFailure
	}
	if err := b.status(ctx, pr, state, statusDescription(rv)); err != nil {
		return forgeFailure(log, "set status", err)
	}
	log.Info("review posted", "event", string(post.Event), "inline_comments", len(post.Comments))
	b.supersede(ctx, log, pr)
	return OutcomePosted, nil
}

// supersede dismisses (or marks superseded) the bot's earlier reviews of
// other heads or another target branch. Failures are logged: the new review
// is already posted.
func (b *Bot) supersede(ctx context.Context, log *slog.Logger, pr *PRState) {
	posted, err := b.forge.BotReviews(ctx, pr.Repo, pr.Number)
	if err != nil {
		log.Warn("cannot list reviews to supersede", "err", err)
		return
	}
	for _, r := range markedReviews(posted) {
		if r.marker.Head == pr.HeadSHA && r.marker.Base == pr.BaseRef {
			continue
		}
		if r.Dismissed {
			log.Debug("older review already dismissed", "review_id", r.ID, "review_head", r.marker.Head)
			continue
		}
		reason := fmt.Sprintf("superseded by the fiveaxis review of head %.10s against %s.", pr.HeadSHA, pr.BaseRef)
		if err := b.forge.SupersedeReview(ctx, pr.Repo, pr.Number, r.ID, reason); err != nil {
			log.Warn("cannot supersede an older review", "review_id", r.ID, "err", err)
		}
	}
}

func (b *Bot) status(ctx context.Context, pr *PRState, state CommitState, desc string) error {
	return b.forge.SetStatus(ctx, pr.Repo, pr.HeadSHA, CommitStatus{
		Context: StatusContext, State: state, Description: desc, TargetURL: pr.URL,
	})
}

// eventFor maps a verdict to a review state.
func eventFor(v Verdict) ReviewEvent {
	switch v {
	case VerdictApprove:
		return EventApprove
	case VerdictRequestChanges, VerdictNeedsRebase:
		return EventRequestChanges
	}
	return EventComment
}

// statusDescription is the one-line description of the commit status.
func statusDescription(rv *Review) string {
	switch rv.Verdict {
	case VerdictApprove:
		return "approved: all five axes pass"
	case VerdictRequestChanges:
		n := 0
		for _, f := range rv.Findings() {
			if f.Severity == axes.SeverityError {
				n++
			}
		}
		return fmt.Sprintf("changes requested: %d blocking %s", n, plural(n, "finding", "findings"))
	case VerdictNeedsRebase:
		if len(rv.Drift.Conflicts) > 0 {
			return truncate(fmt.Sprintf("needs rebase: conflicts with %s in %d %s", rv.Base.Ref,
				len(rv.Drift.Conflicts), plural(len(rv.Drift.Conflicts), "file", "files")), 140)
		}
		return truncate(fmt.Sprintf("needs rebase: %d commits behind %s (limit %d)", rv.Drift.Behind, rv.Base.Ref, rv.MaxBehind), 140)
	}
	return "reviewed: no blocking findings, some checks could not run"
}

// buildPost renders the review: the markdown body with the marker, and
// inline comments for findings on lines the PR added (the lines Gitea can
// comment on), capped at MaxInlineComments.
func (b *Bot) buildPost(ctx context.Context, repo *gitops.Repo, job Job, rv *Review, mk Marker) (ReviewPost, error) {
	post := ReviewPost{Event: eventFor(rv.Verdict), Verdict: rv.Verdict, CommitID: rv.Head.SHA}
	var body strings.Builder
	if job.Kind == JobRebaseCheck {
		title := rv.Title
		if rv.PR != nil {
			title = fmt.Sprintf("PR #%d `%s`", rv.PR.Number, rv.Title)
		}
		fmt.Fprintf(&body, "## Five-Axis rebase check: %s\n\n**Verdict: NEEDS REBASE**\n\nChecked at head SHA `%s`.\n\n%s\n",
			title, rv.Head.SHA, RebaseParagraph(rv))
	} else if err := WriteMarkdown(&body, rv); err != nil {
		return post, fmt.Errorf("render review: %w", err)
	}
	findings := rv.Findings()
	if len(findings) > 0 {
		diff, err := repo.Diff(ctx, rv.MergeBase, rv.Head.SHA)
		if err != nil {
			return post, fmt.Errorf("diff for inline comments: %w", err)
		}
		added := map[string]map[int]bool{}
		for _, f := range diff.Files {
			if f.NewPath == "" {
				continue
			}
			m := make(map[int]bool, len(f.Added))
			for _, l := range f.Added {
				m[l] = true
			}
			added[f.NewPath] = m
		}
		over := 0
		for _, f := range findings {
			if f.Path == "" || f.Line <= 0 || !added[f.Path][f.Line] {
				continue // stays in the body only
			}
			if len(post.Comments) == MaxInlineComments {
				over++
				continue
			}
			post.Comments = append(post.Comments, InlineComment{Path: f.Path, Line: f.Line, Body: FindingMarkdown(f, true)})
		}
		if n := len(post.Comments); n > 0 {
			fmt.Fprintf(&body, "\n_%d %s also posted as inline comments on the changed lines._\n", n, plural(n, "finding is", "findings are"))
		}
		if over > 0 {
			fmt.Fprintf(&body, "_%d more %s on changed lines %s listed above only (at most %d inline comments per review)._\n",
				over, plural(over, "finding", "findings"), plural(over, "is", "are"), MaxInlineComments)
		}
	}
	fmt.Fprintf(&body, "\n%s\n", mk)
	post.Body = body.String()
	return post, nil
}

// forgeFailure turns a forge error into an outcome: a bad token or a
// missing repository is not worth retrying (logged, no error); anything
// else is returned for the queue to retry.
func forgeFailure(log *slog.Logger, op string, err error) (Outcome, error) {
	switch {
	case errors.Is(err, ErrUnauthorized):
		log.Error(op+": the bot has no access", "err", err)
		return OutcomeNoAccess, nil
	case errors.Is(err, ErrNotFound):
		log.Warn(op+": not found", "err", err)
		return OutcomeSkipped, nil
	}
	return "", fmt.Errorf("%s: %w", op, err)
}

func isRetryable(err error) bool {
	var re *RetryableError
	return errors.As(err, &re)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n-3], "") + "..."
}
