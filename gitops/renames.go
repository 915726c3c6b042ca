package gitops

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// This file holds rename detection, done as git's diffcore-rename does it
// with `git diff`'s defaults (-M50%, diff.renameLimit 1000, no copies, no
// break detection), so that the same pairs become renames and the
// "similarity index" is git's:
//
//  1. Exact renames: each added file, in path order, takes a deleted file
//     with the same blob (and, for symlinks and submodules, the same mode),
//     preferring one with the same basename.
//  2. Basename matches: an added and a deleted file whose basename is
//     unique among the remaining added and among the remaining deleted
//     files are a rename if they are at least 75% similar.
//  3. Unless remaining added × remaining deleted exceeds 1000², every
//     remaining pair of regular files is scored; each added file keeps its
//     4 best candidates, and the candidates are taken best first, each file
//     used once, down to 50%.
//
// Similarity is git's estimate (diffcore-delta): each file is cut into
// chunks ending at a newline or after 64 bytes, each chunk is hashed, and
// the score is the number of bytes of the deleted file's chunks that the
// added file also has, over the larger size. Files whose sizes differ too
// much for the threshold are not compared. A file's chunk table is built
// once, not once per pair, and tables and rows of the matrix are built on
// all cores.

// Scores are out of maxScore, as in git.
const (
	maxScore         = 60000
	minRenameScore   = renameScore * maxScore / 100                 // 50%
	minBasenameScore = minRenameScore + (maxScore-minRenameScore)/2 // 75%
	exactCandidates  = 100                                          // sources with one blob git looks at
	candidatesPerDst = 4                                            // git's NUM_CANDIDATE_PER_DST
	spanHashBase     = 107927                                       // git's HASHBASE
	spanMaxLen       = 64                                           // longest chunk
)

// spanCount is the number of bytes in the chunks of a file whose hash is
// hash.
type spanCount struct{ hash, cnt uint32 }

// renameFile is a deleted (source) or added (destination) file.
type renameFile struct {
	change int // index in the changes
	path   string
	mode   filemode.FileMode
	size   int
	sig    []spanCount // sorted by hash; nil until loaded
	loaded bool
	used   bool // a source already renamed, or a destination already paired
}

func (f *renameFile) regular() bool { return fileType(f.mode) == filemode.Regular }

func basename(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

// findRenames turns deletions and additions among changes into renames as
// `git diff` does by default; changes must be in path order (git's tree
// order). The result keeps the order of changes, a rename taking the place
// of its added file.
func (r *Repo) findRenames(ctx context.Context, changes []fileChange) ([]fileChange, error) {
	var srcs, dsts []*renameFile
	for i := range changes {
		c := &changes[i]
		switch {
		case c.oldPath == "" && c.newPath != "":
			dsts = append(dsts, &renameFile{change: i, path: c.newPath, mode: c.newMode})
		case c.newPath == "" && c.oldPath != "":
			srcs = append(srcs, &renameFile{change: i, path: c.oldPath, mode: c.oldMode})
		}
	}
	if len(srcs) == 0 || len(dsts) == 0 {
		return changes, nil
	}
	hashOf := func(f *renameFile) plumbing.Hash {
		if c := &changes[f.change]; c.oldPath == "" {
			return c.newHash
		}
		return changes[f.change].oldHash
	}
	pairs := make(map[int]renamePair) // destination change index -> pair
	record := func(src, dst *renameFile, score int) {
		src.used, dst.used = true, true
		pairs[dst.change] = renamePair{src: src.change, score: score}
	}

	// 1. Exact renames.
	bySHA := make(map[plumbing.Hash][]*renameFile, len(srcs))
	for _, s := range srcs {
		h := hashOf(s)
		bySHA[h] = append(bySHA[h], s)
	}
	for _, d := range dsts {
		var best *renameFile
		bestScore, tries := -1, exactCandidates
		for _, s := range bySHA[hashOf(d)] {
			if (!s.regular() || !d.regular()) && s.mode != d.mode {
				continue
			}
			if s.used {
				continue
			}
			score := 1
			if basename(s.path) == basename(d.path) {
				score++
			}
			if score > bestScore {
				best, bestScore = s, score
				if score == 2 {
					break
				}
			}
			if tries--; tries == 0 {
				break
			}
		}
		if best != nil {
			record(best, d, maxScore)
		}
	}
	srcs = slices.DeleteFunc(srcs, func(f *renameFile) bool { return f.used })
	dsts = slices.DeleteFunc(dsts, func(f *renameFile) bool { return f.used })
	if len(srcs) == 0 || len(dsts) == 0 {
		return applyRenames(changes, pairs), nil
	}

	// 2. Pairs with a unique basename on both sides.
	uniq := func(files []*renameFile) map[string]*renameFile {
		m := make(map[string]*renameFile, len(files))
		for _, f := range files {
			b := basename(f.path)
			if _, dup := m[b]; dup {
				m[b] = nil
			} else {
				m[b] = f
			}
		}
		return m
	}
	srcBase, dstBase := uniq(srcs), uniq(dsts)
	type cand struct{ src, dst *renameFile }
	var byName []cand
	for _, s := range srcs {
		b := basename(s.path)
		if d := dstBase[b]; d != nil && srcBase[b] == s {
			byName = append(byName, cand{s, d})
		}
	}
	if len(byName) > 0 {
		var need []*renameFile
		for _, c := range byName {
			need = append(need, c.src, c.dst)
		}
		if err := r.loadSignatures(ctx, changes, need); err != nil {
			return nil, err
		}
		for _, c := range byName {
			if score := similarityScore(c.src, c.dst, minBasenameScore); score >= minBasenameScore {
				record(c.src, c.dst, score)
			}
		}
		srcs = slices.DeleteFunc(srcs, func(f *renameFile) bool { return f.used })
		dsts = slices.DeleteFunc(dsts, func(f *renameFile) bool { return f.used })
	}
	if len(srcs) == 0 || len(dsts) == 0 || len(srcs)*len(dsts) > renameLimit*renameLimit {
		return applyRenames(changes, pairs), nil
	}

	// 3. Every remaining pair.
	if err := r.loadSignatures(ctx, changes, append(slices.Clip(srcs), dsts...)); err != nil {
		return nil, err
	}
	type score struct {
		score, nameScore int
		dst, src         int // indexes in dsts and srcs; dst < 0: unused slot
	}
	// worse reports whether a ranks below b (git's score_compare(a, b) > 0).
	compare := func(a, b *score) int {
		if a.dst < 0 {
			if b.dst >= 0 {
				return 1
			}
			return 0
		}
		if b.dst < 0 {
			return -1
		}
		if a.score == b.score {
			return b.nameScore - a.nameScore
		}
		return b.score - a.score
	}
	mx := make([]score, len(dsts)*candidatesPerDst)
	err := forEachParallel(ctx, len(dsts), func(i int) error {
		d := dsts[i]
		m := mx[i*candidatesPerDst : (i+1)*candidatesPerDst]
		for k := range m {
			m[k].dst = -1
		}
		for j, s := range srcs {
			o := score{score: similarityScore(s, d, minRenameScore), dst: i, src: j}
			if basename(s.path) == basename(d.path) {
				o.nameScore = 1
			}
			worst := 0
			for k := 1; k < len(m); k++ {
				if compare(&m[k], &m[worst]) > 0 {
					worst = k
				}
			}
			if compare(&m[worst], &o) > 0 {
				m[worst] = o
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(mx, func(a, b score) int { return compare(&a, &b) })
	for _, m := range mx {
		if m.dst < 0 || m.score < minRenameScore {
			break
		}
		d, s := dsts[m.dst], srcs[m.src]
		if d.used || s.used {
			continue
		}
		record(s, d, m.score)
	}
	return applyRenames(changes, pairs), nil
}

// renamePair is the source and score of a rename.
type renamePair struct{ src, score int }

// applyRenames replaces each paired addition with a rename from its
// deletion, and drops the deletions that were renamed.
func applyRenames(changes []fileChange, pairs map[int]renamePair) []fileChange {
	if len(pairs) == 0 {
		return changes
	}
	gone := make(map[int]bool, len(pairs))
	for _, p := range pairs {
		gone[p.src] = true
	}
	out := make([]fileChange, 0, len(changes)-len(pairs))
	for i, c := range changes {
		if gone[i] {
			continue
		}
		if p, ok := pairs[i]; ok {
			s := &changes[p.src]
			c.oldPath, c.oldMode, c.oldHash = s.oldPath, s.oldMode, s.oldHash
			c.score = p.score
		}
		out = append(out, c)
	}
	return out
}

// loadSignatures reads the regular files among files that are not loaded
// yet and builds their chunk tables, on all cores.
func (r *Repo) loadSignatures(ctx context.Context, changes []fileChange, files []*renameFile) error {
	var todo []*renameFile
	for _, f := range files {
		if !f.loaded && f.regular() {
			f.loaded = true // set here, before the workers start
			todo = append(todo, f)
		}
	}
	return forEachParallel(ctx, len(todo), func(i int) error {
		f := todo[i]
		c := &changes[f.change]
		h := c.newHash
		if c.newPath == "" {
			h = c.oldHash
		}
		data, err := r.blob(h)
		if err != nil {
			return err
		}
		f.size = len(data)
		f.sig = spanSignature(data)
		return nil
	})
}

// similarityScore is git's estimate_similarity: how much of dst comes from
// src, out of maxScore, or 0 when the files are not both regular or their
// sizes differ too much for minScore.
func similarityScore(src, dst *renameFile, minScore int) int {
	if !src.regular() || !dst.regular() {
		return 0
	}
	maxSize, baseSize := uint64(max(src.size, dst.size)), uint64(min(src.size, dst.size))
	if maxSize*(maxScore-uint64(minScore)) < (maxSize-baseSize)*maxScore {
		return 0
	}
	if dst.size == 0 {
		return 0
	}
	return int(copiedBytes(src.sig, dst.sig) * maxScore / maxSize)
}

// copiedBytes is the number of bytes of src's chunks found in dst: per
// chunk hash, the smaller of the two byte counts.
func copiedBytes(src, dst []spanCount) uint64 {
	var n uint64
	j := 0
	for _, s := range src {
		for j < len(dst) && dst[j].hash < s.hash {
			j++
		}
		if j == len(dst) {
			break
		}
		if dst[j].hash == s.hash {
			n += uint64(min(s.cnt, dst[j].cnt))
			j++
		}
	}
	return n
}

// spanScratch is a dense table of byte counts per chunk hash, reused
// between files.
type spanScratch struct {
	counts  [spanHashBase]uint32
	touched []uint32
}

var spanScratchPool = sync.Pool{New: func() any { return new(spanScratch) }}

// spanSignature cuts data into chunks as git's diffcore-delta does (each
// ends at a newline or after 64 bytes; in a text file the CR of a CRLF is
// skipped) and returns the byte count of each chunk hash, sorted by hash.
// As git 2.39 does, a last chunk with no newline that is shorter than 64
// bytes is not counted.
func spanSignature(data []byte) []spanCount {
	sc := spanScratchPool.Get().(*spanScratch)
	defer spanScratchPool.Put(sc)
	text := !isBinary(data)
	var a1, a2, n uint32
	for i, b := range data {
		c := uint32(b)
		if text && c == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			continue
		}
		old1 := a1
		a1 = (a1 << 7) ^ (a2 >> 25)
		a2 = (a2 << 7) ^ (old1 >> 25)
		a1 += c
		n++
		if n < spanMaxLen && c != '\n' {
			continue
		}
		h := (a1 + a2*0x61) % spanHashBase
		if sc.counts[h] == 0 {
			sc.touched = append(sc.touched, h)
		}
		sc.counts[h] += n
		n, a1, a2 = 0, 0, 0
	}
	slices.Sort(sc.touched)
	sig := make([]spanCount, len(sc.touched))
	for i, h := range sc.touched {
		sig[i] = spanCount{hash: h, cnt: sc.counts[h]}
		sc.counts[h] = 0
	}
	sc.touched = sc.touched[:0]
	return sig
}
