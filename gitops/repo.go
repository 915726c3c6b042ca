package gitops

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Sentinel errors.
var (
	// ErrNotRepository means the path is not a git repository.
	ErrNotRepository = errors.New("not a git repository")
	// ErrUnknownRevision means a revision does not resolve to a commit.
	ErrUnknownRevision = errors.New("unknown revision")
	// ErrNotExist means a file does not exist at a revision.
	ErrNotExist = errors.New("file does not exist at revision")
	// ErrAuth means the remote refused a fetch's credentials (HTTP 401 or
	// 403): a bad token or a missing scope. Retrying does not help.
	ErrAuth = errors.New("remote refused the credentials")
)

// objectCacheSize is the size of go-git's object cache of an open
// repository. Diffs read blobs through the pack reader (with its own cache),
// so go-git's cache holds little more than commits, tags and trees.
const objectCacheSize = 32 * cache.MiByte

// Repo is an open repository (work tree or bare). It is safe for concurrent
// use: go-git's storage is not, so every access to it holds mu.
type Repo struct {
	mu      sync.Mutex // guards repo, storage and graph
	repo    *git.Repository
	storage *filesystem.Storage
	dotgit  billy.Filesystem // the .git directory (or the bare repository)
	graph   *commitGraph     // lazily loaded; nil until first walk

	prMu sync.Mutex  // guards pr
	pr   *packReader // lazily loaded; nil until first object read

	fetchMu sync.Mutex // serializes Fetch
}

// Open opens the repository at path, a work tree (or any directory inside
// one) or a bare repository.
func Open(path string) (*Repo, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("open %s: %w: %w", path, ErrNotRepository, err)
	}
	if isGitDir(abs) {
		return openStorage(osDir(abs))
	}
	probe, err := git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		if errors.Is(err, git.ErrRepositoryNotExists) {
			return nil, fmt.Errorf("open %s: %w", path, ErrNotRepository)
		}
		return nil, fmt.Errorf("open %s: %w: %w", path, ErrNotRepository, err)
	}
	st, ok := probe.Storer.(*filesystem.Storage)
	if !ok {
		return nil, fmt.Errorf("open %s: unexpected storage %T", path, probe.Storer)
	}
	return openStorage(st.Filesystem())
}

// openStorage opens the repository whose git directory is dotgit, keeping
// pack file descriptors open between reads.
func openStorage(dotgit billy.Filesystem) (*Repo, error) {
	st := filesystem.NewStorageWithOptions(dotgit, cache.NewObjectLRU(objectCacheSize),
		filesystem.Options{KeepDescriptors: true})
	repo, err := git.Open(st, nil)
	if err != nil {
		_ = st.Close()
		if errors.Is(err, git.ErrRepositoryNotExists) {
			return nil, fmt.Errorf("open %s: %w", dotgit.Root(), ErrNotRepository)
		}
		return nil, fmt.Errorf("open %s: %w", dotgit.Root(), err)
	}
	r := &Repo{repo: repo, storage: st, dotgit: dotgit}
	// Read the pack indexes now, as part of opening; on error the first
	// object read tries again.
	_, _ = r.packs()
	return r, nil
}

// Close releases the repository's resources.
func (r *Repo) Close() error {
	r.resetPacks()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.graph != nil {
		r.graph.close()
		r.graph = nil
	}
	return r.storage.Close()
}

// Resolve resolves a revision (branch, tag, HEAD, full or short SHA,
// remote-tracking branch such as origin/main, or a full ref name such as
// refs/pull/7/head) to a commit SHA. Annotated tags are peeled.
func (r *Repo) Resolve(rev string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, err := r.resolve(rev)
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

// resolve is Resolve with r.mu held.
func (r *Repo) resolve(rev string) (plumbing.Hash, error) {
	if rev == "" {
		return plumbing.ZeroHash, fmt.Errorf("resolve %q: %w", rev, ErrUnknownRevision)
	}
	if plumbing.IsHash(rev) {
		// Fast path: a full SHA needs no ref look-ups.
		if h, err := r.peel(plumbing.NewHash(rev)); err == nil {
			return h, nil
		}
	}
	// Fast path: a ref name, tried with git's rules in git's order.
	if !strings.ContainsAny(rev, "~^@{}:") {
		for _, rule := range plumbing.RefRevParseRules {
			ref, err := storer.ResolveReference(r.repo.Storer, plumbing.ReferenceName(fmt.Sprintf(rule, rev)))
			if err == nil {
				return r.peel(ref.Hash())
			}
		}
	}
	// Everything else (short SHAs, main~2, ...) goes to go-git.
	h, err := r.repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil || h == nil || h.IsZero() {
		return plumbing.ZeroHash, fmt.Errorf("resolve %q: %w", rev, ErrUnknownRevision)
	}
	// ResolveRevision peels one level of tag; peel the rest.
	return r.peel(*h)
}

// peel returns the commit that h names, following annotated tags. r.mu
// must be held.
func (r *Repo) peel(h plumbing.Hash) (plumbing.Hash, error) {
	for range 10 {
		typ, data, err := r.objectLocked(h)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("resolve %s: %w", h, ErrUnknownRevision)
		}
		switch typ {
		case plumbing.CommitObject:
			return h, nil
		case plumbing.TagObject:
			tag, err := object.DecodeTag(r.repo.Storer, &memObject{h: h, t: typ, data: data})
			if err != nil {
				return plumbing.ZeroHash, fmt.Errorf("resolve %s: %w", h, err)
			}
			h = tag.Target
		default:
			return plumbing.ZeroHash, fmt.Errorf("resolve %s: %s is not a commit: %w", h, typ, ErrUnknownRevision)
		}
	}
	return plumbing.ZeroHash, fmt.Errorf("resolve %s: tag chain too deep: %w", h, ErrUnknownRevision)
}

// DefaultBranch returns the branch a review targets when none is given: the
// remote's default branch (refs/remotes/origin/HEAD, returned as e.g.
// "origin/main"), otherwise main, otherwise master. The result can be passed
// to Resolve.
func (r *Repo) DefaultBranch() (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ref, err := r.repo.Storer.Reference("refs/remotes/origin/HEAD")
	if err == nil && ref.Type() == plumbing.SymbolicReference {
		target := ref.Target().String()
		if name, ok := strings.CutPrefix(target, "refs/remotes/"); ok {
			if _, err := r.repo.Storer.Reference(ref.Target()); err == nil {
				return name, nil
			}
		}
	}
	for _, name := range []string{"main", "master"} {
		if _, err := r.repo.Storer.Reference(plumbing.NewBranchReferenceName(name)); err == nil {
			return name, nil
		}
	}
	return "", fmt.Errorf("default branch: no origin/HEAD, main or master: %w", ErrUnknownRevision)
}

// ReadFile returns the content of path at the commit rev.
func (r *Repo) ReadFile(rev, path string) ([]byte, error) {
	r.mu.Lock()
	h, err := r.resolve(rev)
	r.mu.Unlock()
	if err != nil {
		return nil, err
	}
	tree, err := r.commitTree(h)
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", path, rev, err)
	}
	entry, err := tree.FindEntry(strings.Trim(path, "/"))
	if err != nil || !entry.Mode.IsFile() {
		return nil, fmt.Errorf("read %s at %s: %w", path, rev, ErrNotExist)
	}
	data, err := r.blob(entry.Hash)
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", path, rev, err)
	}
	return data, nil
}

// isGitDir reports whether dir is itself a git directory (a bare
// repository or a .git directory), as git's is_git_directory decides.
func isGitDir(dir string) bool {
	for _, name := range []string{"HEAD", "objects", "refs"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return false
		}
	}
	return true
}

// osDir returns the git directory as a billy filesystem rooted at dir.
func osDir(dir string) billy.Filesystem { return osfs.New(dir, osfs.WithBoundOS()) }

// ListFiles returns the paths of every file (blob: regular file, executable
// or symlink) in the tree of commit rev, sorted.
func (r *Repo) ListFiles(rev string) ([]string, error) {
	r.mu.Lock()
	h, err := r.resolve(rev)
	r.mu.Unlock()
	if err != nil {
		return nil, err
	}
	tree, err := r.commitTree(h)
	if err != nil {
		return nil, fmt.Errorf("list files at %s: %w", rev, err)
	}
	var paths []string
	walker := object.NewTreeWalker(tree, true, nil)
	defer walker.Close()
	for {
		name, entry, err := walker.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("list files at %s: %w", rev, err)
		}
		if entry.Mode.IsFile() {
			paths = append(paths, name)
		}
	}
	sort.Strings(paths)
	return paths, nil
}
