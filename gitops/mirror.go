package gitops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/http"
)

// fetchUser is the user name sent with a token; Gitea accepts a token as
// the password with any user name.
const fetchUser = "fiveaxis"

// OpenMirror opens the bare repository at dir that mirrors a remote for the
// bot, creating it (and its parent directories) when missing. Fill it with
// Fetch.
func OpenMirror(dir string) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open mirror %s: %w", dir, err)
	}
	if !isGitDir(abs) {
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return nil, fmt.Errorf("open mirror %s: %w", dir, err)
		}
		if _, err := git.PlainInit(abs, true); err != nil && !errors.Is(err, git.ErrRepositoryAlreadyExists) {
			return nil, fmt.Errorf("open mirror %s: init: %w", dir, err)
		}
	}
	return openStorage(osDir(abs))
}

// Fetch fetches refspecs (narrow ones, such as
// "+refs/heads/main:refs/heads/main" and
// "+refs/pull/7/head:refs/pull/7/head") from the HTTP(S) remote url into
// the repository, authenticating with token as the password when it is not
// empty, then rewrites the commit-graph file. Nothing new to fetch is not an
// error; a remote that refuses the credentials (HTTP 401 or 403) gives an
// error wrapping ErrAuth. Fetches of one Repo run one at a time, and other
// calls on the Repo wait for a fetch to finish.
func (r *Repo) Fetch(ctx context.Context, remoteURL, token string, refspecs []string, opts ...FetchOption) error {
	var fo fetchOptions
	for _, o := range opts {
		o(&fo)
	}
	u, err := url.Parse(remoteURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// go-git runs the git binary for local and file:// remotes, and
		// this package never runs git.
		return fmt.Errorf("fetch %s: only http and https remotes are supported", redactURL(remoteURL))
	}
	if len(refspecs) == 0 {
		return fmt.Errorf("fetch %s: no refspecs", redactURL(remoteURL))
	}
	specs := make([]config.RefSpec, len(refspecs))
	for i, s := range refspecs {
		rs := config.RefSpec(s)
		if err := rs.Validate(); err != nil {
			return fmt.Errorf("fetch %s: refspec %q: %w", redactURL(remoteURL), s, err)
		}
		specs[i] = rs
	}
	r.fetchMu.Lock()
	defer r.fetchMu.Unlock()

	gopts := &git.FetchOptions{RemoteName: "fiveaxis", RemoteURL: remoteURL, RefSpecs: specs, Tags: git.NoTags, Force: true, Progress: fo.progress}
	if token != "" {
		gopts.Auth = &http.BasicAuth{Username: fetchUser, Password: token}
	}
	remote := git.NewRemote(r.storage, &config.RemoteConfig{Name: "fiveaxis", URLs: []string{remoteURL}, Fetch: specs})
	r.mu.Lock()
	err = remote.FetchContext(ctx, gopts)
	r.mu.Unlock()
	r.resetPacks()
	upToDate := errors.Is(err, git.NoErrAlreadyUpToDate)
	if err != nil && !upToDate {
		if errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed) {
			return fmt.Errorf("fetch %s %v: %w: %w", redactURL(remoteURL), refspecs, ErrAuth, err)
		}
		return fmt.Errorf("fetch %s %v: %w", redactURL(remoteURL), refspecs, err)
	}
	if upToDate {
		if _, err := r.dotgit.Stat(commitGraphPath); err == nil {
			return nil
		}
	}
	if err := r.WriteCommitGraph(); err != nil {
		return fmt.Errorf("fetch %s: %w", redactURL(remoteURL), err)
	}
	return nil
}

// FetchOption changes how Fetch works.
type FetchOption func(*fetchOptions)

type fetchOptions struct {
	progress io.Writer
}

// WithProgress sends the server's progress messages ("Counting objects",
// "Receiving objects") to w, for a progress display on a terminal.
func WithProgress(w io.Writer) FetchOption {
	return func(o *fetchOptions) { o.progress = w }
}

// redactURL drops the user information (which may hold a secret) from a URL
// for error messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<invalid url>"
	}
	u.User = nil
	return u.String()
}
