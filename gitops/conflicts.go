package gitops

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// maxRenameCandidates bounds the files compared when looking for the rename
// of a file that one side deleted and the other modified.
const maxRenameCandidates = 200

// sideEntry is the state of a path on one side of a merge.
type sideEntry struct {
	path   string
	exists bool
	mode   filemode.FileMode
	hash   plumbing.Hash
}

// Conflicts returns the files that a 3-way merge of ours and theirs with
// base as ancestor cannot merge cleanly, sorted. It considers the files
// changed on both sides since base: modify/delete and add/add with different
// contents conflict, as do modes changed both ways; a file modified on both
// sides conflicts when a 3-way line merge (as git's, with its zealous
// conflict refinement) leaves a conflict. A file renamed on one side and
// modified on the other is merged under its new name. Paths are reported
// as named on the theirs side.
func (r *Repo) Conflicts(ctx context.Context, base, ours, theirs string) ([]string, error) {
	r.mu.Lock()
	hb, err := r.resolve(base)
	var ho, ht plumbing.Hash
	if err == nil {
		ho, err = r.resolve(ours)
	}
	if err == nil {
		ht, err = r.resolve(theirs)
	}
	r.mu.Unlock()
	if err != nil {
		return nil, err
	}
	out, err := r.conflicts(ctx, hb, ho, ht, ours, theirs)
	if err != nil {
		return nil, fmt.Errorf("conflicts %s %s %s: %w", base, ours, theirs, err)
	}
	return out, nil
}

// conflicts is Conflicts on resolved commits; oursLabel and theirsLabel
// name the sides as git does when it moves a file out of a directory's way.
func (r *Repo) conflicts(ctx context.Context, base, ours, theirs plumbing.Hash, oursLabel, theirsLabel string) ([]string, error) {
	if ours == theirs || base == ours || base == theirs {
		return []string{}, nil
	}
	oursCh, err := r.changesBetween(ctx, base, ours, false)
	if err != nil {
		return nil, err
	}
	theirsCh, err := r.changesBetween(ctx, base, theirs, false)
	if err != nil {
		return nil, err
	}
	type state struct{ base, side sideEntry }
	index := func(ch []fileChange) map[string]state {
		m := make(map[string]state, len(ch))
		for _, c := range ch {
			p := c.path()
			s := m[p] // a type change appears as a deletion and a creation
			if c.oldPath != "" {
				s.base = sideEntry{path: p, exists: true, mode: c.oldMode, hash: c.oldHash}
			}
			if c.newPath != "" {
				s.side = sideEntry{path: p, exists: true, mode: c.newMode, hash: c.newHash}
			}
			m[p] = s
		}
		return m
	}
	om, tm := index(oursCh), index(theirsCh)

	type job struct {
		report          string
		base, o, t      sideEntry
		renamedSide     int // 0 none, 1 ours, 2 theirs: look for a rename
		renameCandidate []fileChange
	}
	var jobs []job
	for p, ts := range tm {
		ost, ok := om[p]
		if !ok {
			continue
		}
		b := ts.base
		if !b.exists {
			b = ost.base
		}
		j := job{report: p, base: b, o: ost.side, t: ts.side}
		if b.exists && !j.o.exists && j.t.exists {
			j.renamedSide, j.renameCandidate = 1, additions(oursCh)
		}
		if b.exists && j.o.exists && !j.t.exists {
			j.renamedSide, j.renameCandidate = 2, additions(theirsCh)
		}
		jobs = append(jobs, j)
	}
	sort.Slice(jobs, func(i, k int) bool { return jobs[i].report < jobs[k].report })

	conflicted := make([]bool, len(jobs))
	err = forEachParallel(ctx, len(jobs), func(i int) error {
		j := &jobs[i]
		if j.renamedSide != 0 {
			dst, ok, err := r.findRename(j.base, j.renameCandidate)
			if err != nil {
				return err
			}
			if !ok {
				conflicted[i] = true // modify/delete
				return nil
			}
			if j.renamedSide == 1 {
				j.o = dst
			} else {
				j.t = dst
				j.report = dst.path
			}
		}
		c, err := r.entryConflicts(j.base, j.o, j.t)
		conflicted[i] = c
		return err
	})
	if err != nil {
		return nil, err
	}
	out := []string{}
	for i, j := range jobs {
		if conflicted[i] {
			out = append(out, j.report)
		}
	}
	out = append(out, fileDirConflicts(oursCh, theirsCh, oursLabel)...)
	out = append(out, fileDirConflicts(theirsCh, oursCh, theirsLabel)...)
	sort.Strings(out)
	return out, nil
}

// fileDirConflicts returns the file/directory conflicts of a merge: a file
// that side adds at a path where it had none, while other puts files below
// that path as a directory. Git keeps the directory and moves the file to
// path~label, which it reports as the conflicted path.
func fileDirConflicts(side, other []fileChange, label string) []string {
	deleted := make(map[string]bool)
	for _, c := range side {
		if c.oldPath != "" {
			deleted[c.oldPath] = true
		}
	}
	var added []string // files side adds where it had none
	for _, c := range side {
		if c.oldPath == "" && c.newPath != "" && !deleted[c.newPath] {
			added = append(added, c.newPath)
		}
	}
	if len(added) == 0 {
		return nil
	}
	dirs := make(map[string]bool) // directories other has files in
	for _, c := range other {
		for p := c.newPath; p != ""; {
			i := strings.LastIndexByte(p, '/')
			if i < 0 {
				break
			}
			p = p[:i]
			if dirs[p] {
				break
			}
			dirs[p] = true
		}
	}
	var out []string
	for _, p := range added {
		if dirs[p] {
			out = append(out, p+"~"+label)
		}
	}
	return out
}

// additions returns the files a change list adds.
func additions(ch []fileChange) []fileChange {
	var out []fileChange
	for _, c := range ch {
		if c.oldPath == "" && c.newPath != "" {
			out = append(out, c)
		}
	}
	return out
}

// findRename looks among added files for the one that base was renamed to:
// the same content, or else the most similar one at git's 50% threshold.
func (r *Repo) findRename(base sideEntry, added []fileChange) (sideEntry, bool, error) {
	for _, c := range added {
		if c.newHash == base.hash {
			return sideEntry{path: c.newPath, exists: true, mode: c.newMode, hash: c.newHash}, true, nil
		}
	}
	if len(added) > maxRenameCandidates || fileType(base.mode) != filemode.Regular {
		return sideEntry{}, false, nil
	}
	baseData, err := r.blob(base.hash)
	if err != nil {
		return sideEntry{}, false, err
	}
	if isBinary(baseData) {
		return sideEntry{}, false, nil
	}
	best, bestScore := -1, renameScore-1
	for i, c := range added {
		if fileType(c.newMode) != filemode.Regular {
			continue
		}
		data, err := r.blob(c.newHash)
		if err != nil {
			return sideEntry{}, false, err
		}
		if isBinary(data) {
			continue
		}
		fc := fileChange{oldPath: base.path, newPath: c.newPath, oldHash: base.hash, newHash: c.newHash}
		if s := similarity(&fc, baseData, data); s > bestScore {
			best, bestScore = i, s
		}
	}
	if best < 0 {
		return sideEntry{}, false, nil
	}
	c := added[best]
	return sideEntry{path: c.newPath, exists: true, mode: c.newMode, hash: c.newHash}, true, nil
}

// entryConflicts decides whether one path merges cleanly.
func (r *Repo) entryConflicts(base, o, t sideEntry) (bool, error) {
	if o.exists == t.exists && o.mode == t.mode && o.hash == t.hash {
		return false, nil // same result on both sides
	}
	if !o.exists || !t.exists {
		// Deleted on one side: clean only if the other left it as it was.
		other := o
		if !o.exists {
			other = t
		}
		return !(base.exists && other.mode == base.mode && other.hash == base.hash), nil
	}
	// Modes merge on their own.
	if base.exists {
		if o.mode != base.mode && t.mode != base.mode && o.mode != t.mode {
			return true, nil
		}
	} else if o.mode != t.mode {
		return true, nil // add/add with different modes
	}
	if o.hash == t.hash || (base.exists && (o.hash == base.hash || t.hash == base.hash)) {
		return false, nil
	}
	if fileType(o.mode) != filemode.Regular || fileType(t.mode) != filemode.Regular {
		return true, nil // symlinks and submodules are not merged line by line
	}
	var baseData []byte
	var err error
	if base.exists && fileType(base.mode) == filemode.Regular {
		if baseData, err = r.blob(base.hash); err != nil {
			return false, err
		}
	}
	od, err := r.blob(o.hash)
	if err != nil {
		return false, err
	}
	td, err := r.blob(t.hash)
	if err != nil {
		return false, err
	}
	if isBinary(baseData) || isBinary(od) || isBinary(td) {
		return true, nil
	}
	return mergeConflicts(splitLines(baseData), splitLines(od), splitLines(td)), nil
}

// mergeConflicts reports whether a 3-way line merge of ours and theirs with
// base as ancestor leaves a conflict. Changes of the two sides conflict when
// their base ranges overlap or touch, unless both sides make the region
// read the same.
func mergeConflicts(base, ours, theirs [][]byte) bool {
	e1 := diffLines(base, ours, true).script()
	e2 := diffLines(base, theirs, true).script()
	if len(e1) == 0 || len(e2) == 0 {
		return false
	}
	type tagged struct {
		edit
		side int
	}
	all := make([]tagged, 0, len(e1)+len(e2))
	for _, e := range e1 {
		all = append(all, tagged{e, 1})
	}
	for _, e := range e2 {
		all = append(all, tagged{e, 2})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].i1 < all[j].i1 })
	for i := 0; i < len(all); {
		lo, hi := all[i].i1, all[i].i1+all[i].chg1
		sides := all[i].side
		j := i + 1
		for j < len(all) && all[j].i1 <= hi {
			hi = max(hi, all[j].i1+all[j].chg1)
			sides |= all[j].side
			j++
		}
		if sides == 3 {
			var oe, te []edit
			for _, t := range all[i:j] {
				if t.side == 1 {
					oe = append(oe, t.edit)
				} else {
					te = append(te, t.edit)
				}
			}
			if !equalLines(applyEdits(base, ours, oe, lo, hi), applyEdits(base, theirs, te, lo, hi)) {
				return true
			}
		}
		i = j
	}
	return false
}

// applyEdits returns base[lo:hi] with edits (all inside it) applied, their
// new lines taken from side.
func applyEdits(base, side [][]byte, edits []edit, lo, hi int) [][]byte {
	var out [][]byte
	pos := lo
	for _, e := range edits {
		out = append(out, base[pos:e.i1]...)
		out = append(out, side[e.i2:e.i2+e.chg2]...)
		pos = e.i1 + e.chg1
	}
	return append(out, base[pos:hi]...)
}

func equalLines(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// ComputeDrift measures head against the target branch targetRef: the
// merge-base, the commits behind (on the target, not in head) and ahead, the
// diffstat of the target tip against head, and the files whose changes on
// both sides since the merge-base conflict.
func (r *Repo) ComputeDrift(ctx context.Context, targetRef, head string) (*Drift, error) {
	r.mu.Lock()
	tgt, err := r.resolve(targetRef)
	var hd plumbing.Hash
	if err == nil {
		hd, err = r.resolve(head)
	}
	var bases []plumbing.Hash
	if err == nil {
		bases, err = r.mergeBases(ctx, tgt, hd)
		if err == nil && len(bases) == 0 {
			err = fmt.Errorf("no common ancestor: %w", ErrUnknownRevision)
		}
	}
	var behind, ahead int
	if err == nil {
		behind, ahead, err = r.count(ctx, tgt, hd)
	}
	r.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("drift of %s against %s: %w", head, targetRef, err)
	}
	d := &Drift{
		TargetRef: targetRef, TargetSHA: tgt.String(), HeadSHA: hd.String(),
		MergeBase: bases[0].String(), Behind: behind, Ahead: ahead,
	}
	if d.VsTarget, err = r.diffStat(ctx, tgt, hd); err != nil {
		return nil, fmt.Errorf("drift of %s against %s: %w", head, targetRef, err)
	}
	// After criss-cross merges there are several merge-bases, and git
	// merges them into a virtual one. Approximate that: a file conflicts
	// only if it conflicts against every merge-base.
	for i, base := range bases {
		conf, err := r.conflicts(ctx, base, tgt, hd, targetRef, head)
		if err != nil {
			return nil, fmt.Errorf("drift of %s against %s: %w", head, targetRef, err)
		}
		if i == 0 {
			d.Conflicts = conf
		} else {
			d.Conflicts = intersect(d.Conflicts, conf)
		}
	}
	return d, nil
}

// intersect returns the strings of sorted a that are also in b.
func intersect(a, b []string) []string {
	in := make(map[string]bool, len(b))
	for _, s := range b {
		in[s] = true
	}
	out := a[:0]
	for _, s := range a {
		if in[s] {
			out = append(out, s)
		}
	}
	return out
}
