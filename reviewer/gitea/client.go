// Package gitea is the Gitea side of the fiveaxis bot: it reads pull
// requests, posts reviews, comments and commit statuses through
// code.gitea.io/sdk/gitea, verifies and decodes Gitea webhooks, and keeps the
// bare repository mirrors the reviews run on. It implements reviewer.Forge.
package gitea

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/fiveaxis/fiveaxis/reviewer"
)

var (
	_ reviewer.Forge            = (*Client)(nil)
	_ reviewer.BotCommentLister = (*Client)(nil)
	_ reviewer.CommentLister    = (*Client)(nil)
)

// Client talks to one Gitea server as the bot user, the owner of the token.
// It is safe for concurrent use: every call builds a light SDK client bound
// to the call's context (the SDK keeps one context per client).
type Client struct {
	baseURL string // without trailing slash
	token   string
	hc      *http.Client
	version string // server version, "" when the SDK must not check it
	bot     string // login of the token's owner
}

// Options tune a Client.
type Options struct {
	// HTTPClient is used for every request; nil means a client with a
	// 30-second timeout.
	HTTPClient *http.Client
}

// New connects to the Gitea server at baseURL with token: it reads the
// server version and the user that owns the token, who is the bot.
func New(ctx context.Context, baseURL, token string, opt Options) (*Client, error) {
	if baseURL == "" {
		return nil, errors.New("gitea: no server URL")
	}
	if token == "" {
		return nil, errors.New("gitea: no token")
	}
	c := &Client{baseURL: strings.TrimRight(baseURL, "/"), token: token, hc: opt.HTTPClient}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 30 * time.Second}
	}
	// The version query needs no authentication; an unparsable version
	// ("development") turns the SDK's version gates off.
	api, err := sdk.NewClient(c.baseURL, sdk.SetHTTPClient(c.hc), sdk.SetContext(ctx), sdk.SetGiteaVersion(""))
	if err != nil {
		return nil, fmt.Errorf("gitea %s: %w", c.baseURL, err)
	}
	v, resp, err := api.ServerVersion()
	if err != nil {
		return nil, mapErr(ctx, "gitea server version", resp, err)
	}
	// Keep the version only when the SDK can parse it (no request is made:
	// the version is given).
	if _, err := sdk.NewClient(c.baseURL, sdk.SetHTTPClient(c.hc), sdk.SetGiteaVersion(v)); err == nil {
		c.version = v
	}
	me, resp, err := c.api(ctx).GetMyUserInfo()
	if err != nil {
		return nil, mapErr(ctx, "gitea: read the token's user", resp, err)
	}
	c.bot = me.UserName
	return c, nil
}

// BotUser returns the login of the bot, the user that owns the token.
func (c *Client) BotUser() string { return c.bot }

// URL returns the server's base URL, without a trailing slash.
func (c *Client) URL() string { return c.baseURL }

// CloneURL returns the HTTP(S) clone URL of repo ("owner/name") on this
// server. It is built from the URL the bot reaches the API at, which may
// differ from the server's public ROOT_URL.
func (c *Client) CloneURL(repo string) string { return c.baseURL + "/" + repo + ".git" }

// api returns an SDK client bound to ctx.
func (c *Client) api(ctx context.Context) *sdk.Client {
	api, err := sdk.NewClient(c.baseURL, sdk.SetHTTPClient(c.hc), sdk.SetToken(c.token),
		sdk.SetContext(ctx), sdk.SetGiteaVersion(c.version), sdk.SetUserAgent("fiveaxis"))
	if err != nil {
		// Only a bad version string can fail here, and New checked it.
		api, _ = sdk.NewClient(c.baseURL, sdk.SetHTTPClient(c.hc), sdk.SetToken(c.token),
			sdk.SetContext(ctx), sdk.SetGiteaVersion(""))
	}
	return api
}

// splitRepo splits "owner/name".
func splitRepo(repo string) (string, string, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("repository %q: want owner/name", repo)
	}
	return owner, name, nil
}

// mapErr turns an SDK error into a reviewer error: 401/403 wrap
// reviewer.ErrUnauthorized, 404 wraps reviewer.ErrNotFound, 429 and 5xx and
// network failures become *reviewer.RetryableError.
func mapErr(ctx context.Context, op string, resp *sdk.Response, err error) error {
	if err == nil {
		return nil
	}
	if resp == nil || resp.Response == nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		return &reviewer.RetryableError{Err: fmt.Errorf("%s: %w", op, err)}
	}
	code := resp.StatusCode
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return fmt.Errorf("%s: %w (HTTP %d: %v)", op, reviewer.ErrUnauthorized, code, err)
	case code == http.StatusNotFound:
		return fmt.Errorf("%s: %w (%v)", op, reviewer.ErrNotFound, err)
	case code == http.StatusTooManyRequests || code >= 500:
		return &reviewer.RetryableError{
			Err:   fmt.Errorf("%s: HTTP %d: %w", op, code, err),
			After: retryAfter(resp.Header.Get("Retry-After"), time.Now()),
		}
	}
	return &httpError{op: op, code: code, err: err}
}

// httpError is an API error with a status the bot does not treat specially.
type httpError struct {
	op   string
	code int
	err  error
}

func (e *httpError) Error() string { return fmt.Sprintf("%s: HTTP %d: %v", e.op, e.code, e.err) }
func (e *httpError) Unwrap() error { return e.err }

// statusOf returns the HTTP status of an error from mapErr, or 0.
func statusOf(err error) int {
	var he *httpError
	if errors.As(err, &he) {
		return he.code
	}
	return 0
}

// retryAfter parses a Retry-After header: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
