package gitea

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/fiveaxis/fiveaxis/reviewer"
)

// pageSize is the page size of list calls (Gitea's default maximum is 50).
const pageSize = 50

// maxPages bounds every paginated list, as a guard against a server that
// never stops answering.
const maxPages = 200

// PullRequest reads a PR's current state.
func (c *Client) PullRequest(ctx context.Context, repo string, number int64) (*reviewer.PRState, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return nil, err
	}
	pr, resp, err := c.api(ctx).GetPullRequest(owner, name, number)
	if err != nil {
		return nil, mapErr(ctx, fmt.Sprintf("read PR %s#%d", repo, number), resp, err)
	}
	return c.prState(repo, pr), nil
}

// prState converts an SDK pull request.
func (c *Client) prState(repo string, pr *sdk.PullRequest) *reviewer.PRState {
	s := &reviewer.PRState{
		Repo:      repo,
		Number:    pr.Index,
		State:     string(pr.State),
		Merged:    pr.HasMerged,
		Title:     pr.Title,
		Body:      pr.Body,
		URL:       pr.HTMLURL,
		Mergeable: pr.Mergeable,
		CloneURL:  c.CloneURL(repo),
	}
	if pr.Poster != nil {
		s.Author = pr.Poster.UserName
	}
	if pr.Head != nil {
		s.HeadSHA, s.HeadRef = pr.Head.Sha, pr.Head.Ref
	}
	if pr.Base != nil {
		s.BaseSHA, s.BaseRef = pr.Base.Sha, pr.Base.Ref
	}
	if pr.Updated != nil {
		s.UpdatedAt = *pr.Updated
	}
	return s
}

// OpenPullRequests lists the open PRs of a repository ("owner/name"), of an
// organization ("org") or of every repository the bot can see ("").
func (c *Client) OpenPullRequests(ctx context.Context, scope string) ([]*reviewer.PRState, error) {
	var repos []string
	switch {
	case strings.Contains(scope, "/"):
		if _, _, err := splitRepo(scope); err != nil {
			return nil, err
		}
		repos = []string{scope}
	default:
		var err error
		if repos, err = c.listRepos(ctx, scope); err != nil {
			return nil, err
		}
	}
	var out []*reviewer.PRState
	for _, repo := range repos {
		prs, err := c.repoOpenPRs(ctx, repo)
		if err != nil {
			return nil, err
		}
		out = append(out, prs...)
	}
	return out, nil
}

// listRepos lists the repositories of org, or every repository the bot can
// see when org is empty. Archived repositories are skipped.
func (c *Client) listRepos(ctx context.Context, org string) ([]string, error) {
	var out []string
	api := c.api(ctx)
	for page := 1; page <= maxPages; page++ {
		lo := sdk.ListOptions{Page: page, PageSize: pageSize}
		var (
			rs   []*sdk.Repository
			resp *sdk.Response
			err  error
		)
		if org == "" {
			rs, resp, err = api.ListMyRepos(sdk.ListReposOptions{ListOptions: lo})
		} else {
			rs, resp, err = api.ListOrgRepos(org, sdk.ListOrgReposOptions{ListOptions: lo})
		}
		if err != nil {
			return nil, mapErr(ctx, "list repositories of "+orAll(org), resp, err)
		}
		for _, r := range rs {
			if !r.Archived {
				out = append(out, r.FullName)
			}
		}
		if len(rs) < pageSize {
			break
		}
	}
	return out, nil
}

func orAll(org string) string {
	if org == "" {
		return "the bot"
	}
	return org
}

// repoOpenPRs lists the open PRs of one repository.
func (c *Client) repoOpenPRs(ctx context.Context, repo string) ([]*reviewer.PRState, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return nil, err
	}
	api := c.api(ctx)
	var out []*reviewer.PRState
	for page := 1; page <= maxPages; page++ {
		prs, resp, err := api.ListRepoPullRequests(owner, name, sdk.ListPullRequestsOptions{
			ListOptions: sdk.ListOptions{Page: page, PageSize: pageSize},
			State:       sdk.StateOpen,
		})
		if err != nil {
			return nil, mapErr(ctx, "list open PRs of "+repo, resp, err)
		}
		for _, pr := range prs {
			out = append(out, c.prState(repo, pr))
		}
		if len(prs) < pageSize {
			break
		}
	}
	return out, nil
}

// BotReviews lists the reviews the bot itself posted on a PR, oldest first.
func (c *Client) BotReviews(ctx context.Context, repo string, number int64) ([]reviewer.PostedReview, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return nil, err
	}
	api := c.api(ctx)
	var out []reviewer.PostedReview
	for page := 1; page <= maxPages; page++ {
		rs, resp, err := api.ListPullReviews(owner, name, number, sdk.ListPullReviewsOptions{
			ListOptions: sdk.ListOptions{Page: page, PageSize: pageSize},
		})
		if err != nil {
			return nil, mapErr(ctx, fmt.Sprintf("list reviews of %s#%d", repo, number), resp, err)
		}
		for _, r := range rs {
			if r.Reviewer == nil || !strings.EqualFold(r.Reviewer.UserName, c.bot) {
				continue
			}
			out = append(out, reviewer.PostedReview{
				ID: r.ID, Body: r.Body, CommitID: r.CommitID, State: string(r.State),
				Dismissed: r.Dismissed, Stale: r.Stale,
			})
		}
		if len(rs) < pageSize {
			break
		}
	}
	return out, nil
}

// PostReview posts a review with its inline comments. Gitea refuses to let
// a user approve or reject their own PR (422); when the bot is the PR's
// author the review is posted as a COMMENT instead.
func (c *Client) PostReview(ctx context.Context, repo string, number int64, r reviewer.ReviewPost) error {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return err
	}
	opt := sdk.CreatePullReviewOptions{
		State:    sdk.ReviewStateType(r.Event),
		Body:     r.Body,
		CommitID: r.CommitID,
	}
	for _, ic := range r.Comments {
		opt.Comments = append(opt.Comments, sdk.CreatePullReviewComment{
			Path: ic.Path, Body: ic.Body, NewLineNum: int64(ic.Line),
		})
	}
	op := fmt.Sprintf("post %s review on %s#%d", r.Event, repo, number)
	_, resp, err := c.api(ctx).CreatePullReview(owner, name, number, opt)
	err = mapErr(ctx, op, resp, err)
	if statusOf(err) == http.StatusUnprocessableEntity && r.Event != reviewer.EventComment {
		opt.State = sdk.ReviewStateComment
		_, resp, err = c.api(ctx).CreatePullReview(owner, name, number, opt)
		return mapErr(ctx, op+" (as COMMENT)", resp, err)
	}
	return err
}

// SupersedeReview dismisses an older bot review. Gitea lets only repository
// admins dismiss; when the bot may not, and Gitea has not already dismissed
// the review itself (it does so for a user's older official reviews), the
// review is marked superseded with a PR comment that names it.
func (c *Client) SupersedeReview(ctx context.Context, repo string, number int64, id int64, reason string) error {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return err
	}
	api := c.api(ctx)
	resp, err := api.DismissPullReview(owner, name, number, id, sdk.DismissPullReviewOptions{Message: reason})
	err = mapErr(ctx, fmt.Sprintf("dismiss review %d on %s#%d", id, repo, number), resp, err)
	if err == nil || !(errors.Is(err, reviewer.ErrUnauthorized) || statusOf(err) == http.StatusUnprocessableEntity) {
		return err
	}
	rv, resp, gerr := api.GetPullReview(owner, name, number, id)
	if gerr != nil {
		return mapErr(ctx, fmt.Sprintf("read review %d on %s#%d", id, repo, number), resp, gerr)
	}
	if rv.Dismissed {
		return nil
	}
	mark := fmt.Sprintf("<!-- fiveaxis:superseded review=%d -->", id)
	said, err := c.botCommented(ctx, repo, number, mark)
	if err != nil || said {
		return err
	}
	body := fmt.Sprintf("Review %d is superseded: %s", id, reason)
	if rv.HTMLURL != "" {
		body = fmt.Sprintf("[Review %d](%s) is superseded: %s", id, rv.HTMLURL, reason)
	}
	return c.Comment(ctx, repo, number, body+"\n\n"+mark)
}

// botCommented reports whether the bot already left a comment containing
// mark on the PR.
func (c *Client) botCommented(ctx context.Context, repo string, number int64, mark string) (bool, error) {
	bodies, err := c.BotComments(ctx, repo, number)
	if err != nil {
		return false, err
	}
	for _, b := range bodies {
		if strings.Contains(b, mark) {
			return true, nil
		}
	}
	return false, nil
}

// BotComments returns the bodies of the plain comments (not reviews) the
// bot posted on a PR, oldest first. The sweep uses it to comment on an idle
// PR only once.
func (c *Client) BotComments(ctx context.Context, repo string, number int64) ([]string, error) {
	return c.comments(ctx, repo, number, true)
}

// PRComments returns the bodies of the human comments on a PR (its issue
// comments, not review comments), oldest first, without the bot's own and
// capped with reviewer.CapComments. The review passes them to the checkers
// as data.
func (c *Client) PRComments(ctx context.Context, repo string, number int64) ([]string, error) {
	cs, err := c.comments(ctx, repo, number, false)
	if err != nil {
		return nil, err
	}
	return reviewer.CapComments(cs), nil
}

// comments lists the bodies of a PR's issue comments, oldest first: those of
// the bot when bot is true, the others' otherwise.
func (c *Client) comments(ctx context.Context, repo string, number int64, bot bool) ([]string, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return nil, err
	}
	api := c.api(ctx)
	var out []string
	for page := 1; page <= maxPages; page++ {
		cs, resp, err := api.ListIssueComments(owner, name, number, sdk.ListIssueCommentOptions{
			ListOptions: sdk.ListOptions{Page: page, PageSize: pageSize},
		})
		if err != nil {
			return nil, mapErr(ctx, fmt.Sprintf("list comments of %s#%d", repo, number), resp, err)
		}
		for _, cm := range cs {
			mine := cm.Poster != nil && strings.EqualFold(cm.Poster.UserName, c.bot)
			if mine == bot {
				out = append(out, cm.Body)
			}
		}
		if len(cs) < pageSize {
			break
		}
	}
	return out, nil
}

// SetStatus sets a commit status on sha.
func (c *Client) SetStatus(ctx context.Context, repo, sha string, s reviewer.CommitStatus) error {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return err
	}
	_, resp, err := c.api(ctx).CreateStatus(owner, name, sha, sdk.CreateStatusOption{
		State:       sdk.StatusState(s.State),
		TargetURL:   s.TargetURL,
		Description: s.Description,
		Context:     s.Context,
	})
	return mapErr(ctx, fmt.Sprintf("set status %s=%s on %s@%.10s", s.Context, s.State, repo, sha), resp, err)
}

// Comment posts a plain comment on the PR.
func (c *Client) Comment(ctx context.Context, repo string, number int64, body string) error {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return err
	}
	_, resp, err := c.api(ctx).CreateIssueComment(owner, name, number, sdk.CreateIssueCommentOption{Body: body})
	return mapErr(ctx, fmt.Sprintf("comment on %s#%d", repo, number), resp, err)
}

// CanWrite reports whether user has write access to repo. It asks for the
// user's permission, which Gitea answers only to admins; a bot with plain
// write access falls back to the repository's assignees, the users Gitea
// considers writers (owner, write collaborators, writing teams).
func (c *Client) CanWrite(ctx context.Context, repo, user string) (bool, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return false, err
	}
	if user == "" {
		return false, nil
	}
	api := c.api(ctx)
	perm, resp, err := api.CollaboratorPermission(owner, name, user)
	err = mapErr(ctx, fmt.Sprintf("read %s's permission on %s", user, repo), resp, err)
	if err == nil {
		switch perm.Permission {
		case sdk.AccessModeWrite, sdk.AccessModeAdmin, sdk.AccessModeOwner:
			return true, nil
		}
		return false, nil
	}
	if !errors.Is(err, reviewer.ErrUnauthorized) && !errors.Is(err, reviewer.ErrNotFound) {
		return false, err
	}
	users, resp, err := api.GetAssignees(owner, name)
	if err != nil {
		return false, mapErr(ctx, "list writers of "+repo, resp, err)
	}
	for _, u := range users {
		if strings.EqualFold(u.UserName, user) {
			return true, nil
		}
	}
	return false, nil
}
