package gitea

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/fiveaxis/fiveaxis/gitops"
	"github.com/fiveaxis/fiveaxis/reviewer"
)

// Mirrors keeps one bare mirror per repository under Dir
// (<Dir>/<owner>/<name>.git), fetched over HTTP(S) with the bot's token.
// A per-repository lock is held from the fetch until the review that uses
// it is posted, so concurrent jobs never fetch into a mirror another job is
// reading. Prune removes mirrors not used for a while.
type Mirrors struct {
	dir      string
	token    string
	cloneURL func(repo string) string
	log      *slog.Logger

	mu    sync.Mutex
	locks map[string]chan struct{} // one-slot semaphores, by "owner/name"

	// Progress, when set before use, receives the server's progress
	// messages of every fetch (the CLI sets it when stderr is a terminal).
	Progress io.Writer
}

// NewMirrors returns the mirror cache rooted at dir. cloneURL builds a
// repository's clone URL (Client.CloneURL); token authenticates fetches.
func NewMirrors(dir, token string, cloneURL func(repo string) string, log *slog.Logger) *Mirrors {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Mirrors{dir: dir, token: token, cloneURL: cloneURL, log: log, locks: map[string]chan struct{}{}}
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// checkRepoName accepts "owner/name" where both are Gitea-style names
// (letters, digits, '_', '.', '-'; not "." or ".."), safe as path parts.
func checkRepoName(repo string) error {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return err
	}
	for _, s := range []string{owner, name} {
		if !nameRE.MatchString(s) || s == "." || s == ".." {
			return fmt.Errorf("repository %q: not a valid owner/name", repo)
		}
	}
	return nil
}

// Path returns the mirror directory of repo ("owner/name").
func (m *Mirrors) Path(repo string) (string, error) {
	if err := checkRepoName(repo); err != nil {
		return "", err
	}
	owner, name, _ := splitRepo(repo)
	return filepath.Join(m.dir, owner, name+".git"), nil
}

func (m *Mirrors) lock(repo string) chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.locks[repo]
	if !ok {
		l = make(chan struct{}, 1)
		m.locks[repo] = l
	}
	return l
}

// acquire takes repo's lock, or fails when ctx ends first.
func (m *Mirrors) acquire(ctx context.Context, repo string) (func(), error) {
	l := m.lock(repo)
	select {
	case l <- struct{}{}:
		return func() { <-l }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for the mirror lock of %s: %w", repo, ctx.Err())
	}
}

// Open is a reviewer.MirrorFunc: it locks the repository's mirror, creates
// it if needed and fetches the PR's target branch and refs/pull/<N>/head
// (narrow, incremental refspecs). release closes the repository, marks the
// mirror as used and unlocks it. A fetch the server refuses (HTTP 401 or
// 403: a bad token) wraps reviewer.ErrUnauthorized; other fetch failures are
// a *reviewer.RetryableError.
func (m *Mirrors) Open(ctx context.Context, pr *reviewer.PRState) (*gitops.Repo, func(), error) {
	dir, err := m.Path(pr.Repo)
	if err != nil {
		return nil, nil, err
	}
	if pr.BaseRef == "" || strings.HasPrefix(pr.BaseRef, "-") {
		return nil, nil, fmt.Errorf("PR %s#%d: bad target branch %q", pr.Repo, pr.Number, pr.BaseRef)
	}
	unlock, err := m.acquire(ctx, pr.Repo)
	if err != nil {
		return nil, nil, err
	}
	refspecs := []string{
		fmt.Sprintf("+refs/heads/%s:refs/heads/%s", pr.BaseRef, pr.BaseRef),
		fmt.Sprintf("+refs/pull/%d/head:refs/pull/%d/head", pr.Number, pr.Number),
	}
	start := time.Now()
	var fetchOpts []gitops.FetchOption
	if m.Progress != nil {
		fetchOpts = append(fetchOpts, gitops.WithProgress(m.Progress))
	}
	repo, err := openAndFetch(ctx, dir, m.cloneURL(pr.Repo), m.token, refspecs, fetchOpts...)
	if err != nil {
		unlock()
		switch {
		case errors.Is(err, gitops.ErrAuth):
			// A bad token or a missing scope: retrying does not help.
			err = fmt.Errorf("mirror %s (%s, PR #%d): %w: %w", pr.Repo, pr.BaseRef, pr.Number, reviewer.ErrUnauthorized, err)
		case ctx.Err() == nil:
			err = &reviewer.RetryableError{Err: fmt.Errorf("mirror %s (%s, PR #%d): %w", pr.Repo, pr.BaseRef, pr.Number, err)}
		default:
			err = fmt.Errorf("mirror %s (%s, PR #%d): %w", pr.Repo, pr.BaseRef, pr.Number, err)
		}
		return nil, nil, err
	}
	release := func() {
		if err := repo.Close(); err != nil {
			m.log.Warn("close mirror", "repo", pr.Repo, "err", err)
		}
		now := time.Now()
		_ = os.Chtimes(dir, now, now) // the last use, for Prune
		unlock()
	}
	m.log.Debug("mirror fetched", "repo", pr.Repo, "pr", pr.Number, "took", time.Since(start))
	return repo, release, nil
}

// Prune removes the mirrors not used for longer than maxIdle, skipping
// those locked right now. It returns the repositories removed.
func (m *Mirrors) Prune(maxIdle time.Duration) ([]string, error) {
	owners, err := os.ReadDir(m.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("prune mirrors: %w", err)
	}
	var removed []string
	cutoff := time.Now().Add(-maxIdle)
	for _, o := range owners {
		if !o.IsDir() {
			continue
		}
		repos, err := os.ReadDir(filepath.Join(m.dir, o.Name()))
		if err != nil {
			return removed, fmt.Errorf("prune mirrors: %w", err)
		}
		for _, r := range repos {
			name, ok := strings.CutSuffix(r.Name(), ".git")
			if !ok || !r.IsDir() {
				continue
			}
			repo := o.Name() + "/" + name
			info, err := r.Info()
			if err != nil || info.ModTime().After(cutoff) {
				continue
			}
			l := m.lock(repo)
			select {
			case l <- struct{}{}:
			default:
				continue // in use
			}
			path := filepath.Join(m.dir, o.Name(), r.Name())
			if fi, serr := os.Stat(path); serr != nil || fi.ModTime().After(cutoff) {
				<-l // used since the listing
				continue
			}
			err = os.RemoveAll(path)
			<-l
			if err != nil {
				return removed, fmt.Errorf("prune mirror of %s: %w", repo, err)
			}
			m.log.Info("mirror pruned", "repo", repo, "idle_since", info.ModTime())
			removed = append(removed, repo)
		}
	}
	return removed, nil
}

// openAndFetch opens (creating if needed) the bare mirror at dir and
// fetches refspecs from url with token.
func openAndFetch(ctx context.Context, dir, url, token string, refspecs []string, opts ...gitops.FetchOption) (*gitops.Repo, error) {
	repo, err := gitops.OpenMirror(dir)
	if err != nil {
		return nil, err
	}
	if err := repo.Fetch(ctx, url, token, refspecs, opts...); err != nil {
		_ = repo.Close()
		return nil, err
	}
	return repo, nil
}
