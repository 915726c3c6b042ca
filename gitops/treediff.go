package gitops

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// This file diffs two trees straight from their raw objects, as git's
// tree-diff does: both trees are walked in git's entry order, subtrees with
// the same hash are skipped, and an entry that is a directory on one side
// and not on the other is a deletion and an addition.

// rawTreeEntry is one entry of a tree object; name points into the object.
type rawTreeEntry struct {
	name []byte
	mode filemode.FileMode
	hash plumbing.Hash
}

func (e *rawTreeEntry) isDir() bool { return e.mode&0o170000 == 0o040000 }

var errBadTree = errors.New("malformed tree object")

// parseTree splits a tree object into its entries.
func parseTree(data []byte) ([]rawTreeEntry, error) {
	entries := make([]rawTreeEntry, 0, bytes.Count(data, []byte{0}))
	for len(data) > 0 {
		sp := bytes.IndexByte(data, ' ')
		if sp <= 0 {
			return nil, errBadTree
		}
		var mode uint32
		for _, c := range data[:sp] {
			if c < '0' || c > '7' {
				return nil, errBadTree
			}
			mode = mode<<3 | uint32(c-'0')
		}
		data = data[sp+1:]
		nul := bytes.IndexByte(data, 0)
		if nul <= 0 || len(data) < nul+1+20 {
			return nil, errBadTree
		}
		e := rawTreeEntry{name: data[:nul], mode: filemode.FileMode(mode)}
		copy(e.hash[:], data[nul+1:nul+21])
		entries = append(entries, e)
		data = data[nul+21:]
	}
	return entries, nil
}

// compareEntries orders tree entries as git does: by name, a directory's
// name compared as if it ended with '/'.
func compareEntries(a, b *rawTreeEntry) int {
	n := min(len(a.name), len(b.name))
	if c := bytes.Compare(a.name[:n], b.name[:n]); c != 0 {
		return c
	}
	var ca, cb byte
	if len(a.name) > n {
		ca = a.name[n]
	} else if a.isDir() {
		ca = '/'
	}
	if len(b.name) > n {
		cb = b.name[n]
	} else if b.isDir() {
		cb = '/'
	}
	return int(ca) - int(cb)
}

// commitTreeHash returns the hash of the root tree of commit h.
func (r *Repo) commitTreeHash(h plumbing.Hash) (plumbing.Hash, error) {
	typ, data, err := r.object(h)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("commit %s: %w", h, err)
	}
	if typ != plumbing.CommitObject {
		return plumbing.ZeroHash, fmt.Errorf("object %s is a %s, not a commit", h, typ)
	}
	line, _, _ := bytes.Cut(data, []byte{'\n'})
	hexHash, ok := bytes.CutPrefix(line, []byte("tree "))
	if !ok || !plumbing.IsHash(string(hexHash)) {
		return plumbing.ZeroHash, fmt.Errorf("commit %s: no tree", h)
	}
	return plumbing.NewHash(string(hexHash)), nil
}

// readTree returns the entries of tree h; none for the zero hash.
func (r *Repo) readTree(h plumbing.Hash) ([]rawTreeEntry, error) {
	if h.IsZero() {
		return nil, nil
	}
	typ, data, err := r.object(h)
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", h, err)
	}
	if typ != plumbing.TreeObject {
		return nil, fmt.Errorf("object %s is a %s, not a tree", h, typ)
	}
	entries, err := parseTree(data)
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", h, err)
	}
	return entries, nil
}

// diffTrees appends to out the files that differ between trees a and b
// (either may be the zero hash, an empty tree), their paths under prefix.
func (r *Repo) diffTrees(ctx context.Context, a, b plumbing.Hash, prefix string, out *[]fileChange) error {
	if a == b {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ea, err := r.readTree(a)
	if err != nil {
		return err
	}
	eb, err := r.readTree(b)
	if err != nil {
		return err
	}
	// removed and added handle an entry present on one side only.
	removed := func(e *rawTreeEntry) error {
		p := prefix + string(e.name)
		if e.isDir() {
			return r.diffTrees(ctx, e.hash, plumbing.ZeroHash, p+"/", out)
		}
		*out = append(*out, fileChange{oldPath: p, oldMode: e.mode, oldHash: e.hash})
		return nil
	}
	added := func(e *rawTreeEntry) error {
		p := prefix + string(e.name)
		if e.isDir() {
			return r.diffTrees(ctx, plumbing.ZeroHash, e.hash, p+"/", out)
		}
		*out = append(*out, fileChange{newPath: p, newMode: e.mode, newHash: e.hash})
		return nil
	}
	i, j := 0, 0
	for i < len(ea) || j < len(eb) {
		var c int
		switch {
		case i == len(ea):
			c = 1
		case j == len(eb):
			c = -1
		default:
			c = compareEntries(&ea[i], &eb[j])
		}
		switch {
		case c < 0:
			err = removed(&ea[i])
			i++
		case c > 0:
			err = added(&eb[j])
			j++
		default:
			x, y := &ea[i], &eb[j]
			i++
			j++
			switch {
			case x.isDir() && y.isDir():
				if x.hash != y.hash {
					err = r.diffTrees(ctx, x.hash, y.hash, prefix+string(x.name)+"/", out)
				}
			case x.isDir() != y.isDir():
				// Cannot happen: a directory and a file with the same name
				// compare unequal. Kept for safety.
				if err = removed(x); err == nil {
					err = added(y)
				}
			case x.hash != y.hash || x.mode != y.mode:
				p := prefix + string(x.name)
				*out = append(*out, fileChange{oldPath: p, newPath: p,
					oldMode: x.mode, newMode: y.mode, oldHash: x.hash, newHash: y.hash})
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}
