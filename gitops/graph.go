package gitops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"sort"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	cgformat "github.com/go-git/go-git/v5/plumbing/format/commitgraph/v2"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/object/commitgraph"
)

// commitGraph is the commit-node index used for history walks: backed by the
// commit-graph file when the repository has one (read into memory once), and
// by commit objects otherwise or for commits newer than the file.
type commitGraph struct {
	index  commitgraph.CommitNodeIndex
	file   cgformat.Index // nil without a commit-graph file
	hasGen bool           // generation numbers are usable for ordering
	useV2  bool           // order by corrected commit date (generation v2)
	fast   *graphFile     // the same file read in place; nil for a chain
}

func (g *commitGraph) close() {
	if g.file != nil {
		_ = g.file.Close()
	}
}

// memFile is an in-memory commit-graph file.
type memFile struct{ *bytes.Reader }

func (memFile) Close() error { return nil }

// commitGraphPath is the commit-graph file, relative to the git directory.
var commitGraphPath = path.Join("objects", "info", "commit-graph")

// nodes returns the commit-node index, loading it on first use. r.mu must
// be held.
func (r *Repo) nodes() *commitGraph {
	if r.graph != nil {
		return r.graph
	}
	g := &commitGraph{}
	if idx, data, err := r.readCommitGraphFile(); err == nil && idx != nil {
		g.file = idx
		g.hasGen = true
		g.useV2 = idx.HasGenerationV2()
		g.index = commitgraph.NewGraphCommitNodeIndex(idx, r.repo.Storer)
		if data != nil {
			if fast, err := parseGraphFile(data); err == nil && fast != nil && (fast.gda2 != nil) == g.useV2 {
				g.fast = fast
			}
		}
	} else {
		g.index = commitgraph.NewObjectCommitNodeIndex(r.repo.Storer)
	}
	r.graph = g
	return g
}

// loadCommitGraphFile reads the commit-graph file (or chain) into memory.
func (r *Repo) loadCommitGraphFile() (cgformat.Index, error) {
	idx, _, err := r.readCommitGraphFile()
	return idx, err
}

// readCommitGraphFile is loadCommitGraphFile that also returns the content
// of a single commit-graph file (nil for a chain).
func (r *Repo) readCommitGraphFile() (cgformat.Index, []byte, error) {
	f, err := r.dotgit.Open(commitGraphPath)
	if err != nil {
		// A split commit-graph chain: let go-git read it from disk.
		idx, err := cgformat.OpenChainIndex(r.dotgit)
		return idx, nil, err
	}
	data, err := io.ReadAll(f)
	_ = f.Close()
	if err != nil {
		return nil, nil, err
	}
	idx, err := cgformat.OpenFileIndex(memFile{bytes.NewReader(data)})
	if err != nil {
		return nil, nil, err
	}
	return idx, data, nil
}

// Walk flags, as in git's commit-reach.c.
const (
	flagA      = 1 << iota // reachable from the first commit
	flagB                  // reachable from the second commit
	flagStale              // below a common ancestor
	flagResult             // recorded as a merge-base candidate
)

// walkNode is a commit visited by a history walk.
type walkNode struct {
	id    plumbing.Hash
	node  commitgraph.CommitNode // nil for a commit read from g.fast
	pos   uint32                 // position in g.fast, when node is nil
	flags uint8
	gen   uint64
	when  int64
}

// walker holds the state of one history walk.
type walker struct {
	g     *commitGraph
	seen  map[plumbing.Hash]*walkNode // commits not in g.fast
	byPos []*walkNode                 // commits in g.fast, by position
	slab  []walkNode
	queue nodeQueue
	ctr   uint64
	pbuf  []uint32
}

func newWalker(g *commitGraph) *walker {
	w := &walker{g: g, seen: make(map[plumbing.Hash]*walkNode, 64)}
	if g.fast != nil {
		w.byPos = make([]*walkNode, g.fast.n)
	}
	return w
}

// alloc returns a new walk node.
func (w *walker) alloc() *walkNode {
	if len(w.slab) == 0 {
		w.slab = make([]walkNode, 256)
	}
	wn := &w.slab[0]
	w.slab = w.slab[1:]
	return wn
}

// each calls fn for every commit the walk has seen.
func (w *walker) each(fn func(*walkNode)) {
	for _, wn := range w.byPos {
		if wn != nil {
			fn(wn)
		}
	}
	for _, wn := range w.seen {
		fn(wn)
	}
}

// atPos returns the walk node for the commit at position i of g.fast.
func (w *walker) atPos(i uint32) (*walkNode, error) {
	if wn := w.byPos[i]; wn != nil {
		return wn, nil
	}
	f := w.g.fast
	wn := w.alloc()
	*wn = walkNode{id: f.hash(i), pos: i, when: f.when(i)}
	if w.g.useV2 {
		gen, err := f.generationV2(i)
		if err != nil {
			return nil, err
		}
		wn.gen = gen
	} else {
		wn.gen = f.generation(i)
	}
	w.byPos[i] = wn
	return wn, nil
}

// get returns the walk node for n, creating it.
func (w *walker) get(n commitgraph.CommitNode) (*walkNode, error) {
	id := n.ID()
	if w.g.fast != nil {
		if i, ok := w.g.fast.find(id); ok {
			return w.atPos(i)
		}
	}
	if wn, ok := w.seen[id]; ok {
		return wn, nil
	}
	wn := w.alloc()
	*wn = walkNode{id: id, node: n, when: n.CommitTime().Unix(), gen: math.MaxUint64}
	if w.g.hasGen {
		if w.g.useV2 {
			wn.gen = n.GenerationV2()
		} else {
			wn.gen = n.Generation()
		}
	} else {
		wn.gen = 0 // order by commit date alone
	}
	w.seen[id] = wn
	return wn, nil
}

// lookup returns the walk node for the commit h.
func (w *walker) lookup(h plumbing.Hash) (*walkNode, error) {
	if w.g.fast != nil {
		if i, ok := w.g.fast.find(h); ok {
			return w.atPos(i)
		}
	}
	if wn, ok := w.seen[h]; ok {
		return wn, nil
	}
	n, err := w.g.index.Get(h)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", h, err)
	}
	return w.get(n)
}

func (w *walker) push(wn *walkNode) {
	w.ctr++
	w.queue.push(queueItem{wn, w.ctr})
}

func (w *walker) pop() *walkNode { return w.queue.pop().n }

// parents returns the walk nodes of wn's parents.
func (w *walker) parents(wn *walkNode) ([]*walkNode, error) {
	if wn.node == nil {
		pos, err := w.g.fast.parents(wn.pos, w.pbuf[:0])
		if err != nil {
			return nil, fmt.Errorf("parents of %s: %w", wn.id, err)
		}
		w.pbuf = pos
		out := make([]*walkNode, len(pos))
		for k, i := range pos {
			if out[k], err = w.atPos(i); err != nil {
				return nil, fmt.Errorf("parents of %s: %w", wn.id, err)
			}
		}
		return out, nil
	}
	num := wn.node.NumParents()
	if num == 0 {
		return nil, nil
	}
	hashes := wn.node.ParentHashes()
	out := make([]*walkNode, 0, num)
	for i := range num {
		if i < len(hashes) {
			if w.g.fast != nil {
				if k, ok := w.g.fast.find(hashes[i]); ok {
					p, err := w.atPos(k)
					if err != nil {
						return nil, err
					}
					out = append(out, p)
					continue
				}
			}
			if p, ok := w.seen[hashes[i]]; ok {
				out = append(out, p)
				continue
			}
		}
		p, err := wn.node.ParentNode(i)
		if err != nil {
			return nil, fmt.Errorf("parent %d of %s: %w", i, wn.id, err)
		}
		pn, err := w.get(p)
		if err != nil {
			return nil, err
		}
		out = append(out, pn)
	}
	return out, nil
}

// nonStale reports whether the queue holds a commit that is not stale. The
// queue of these walks stays about as wide as the history, so a scan is
// cheap enough.
func (w *walker) nonStale() bool {
	for _, it := range w.queue {
		if it.n.flags&flagStale == 0 {
			return true
		}
	}
	return false
}

type queueItem struct {
	n   *walkNode
	ctr uint64
}

// nodeQueue orders commits as git's prio_queue with
// compare_commits_by_gen_then_commit_date: highest generation first, then
// newest commit date, then first in first out.
type nodeQueue []queueItem

func (q nodeQueue) Len() int { return len(q) }

// less orders the queue: highest generation first, then newest commit
// date, then first in first out.
func (q nodeQueue) less(i, j int) bool {
	a, b := q[i].n, q[j].n
	if a.gen != b.gen {
		return a.gen > b.gen
	}
	if a.when != b.when {
		return a.when > b.when
	}
	return q[i].ctr < q[j].ctr
}

// push adds it to the binary heap.
func (q *nodeQueue) push(it queueItem) {
	*q = append(*q, it)
	h := *q
	for j := len(h) - 1; j > 0; {
		i := (j - 1) / 2
		if !h.less(j, i) {
			break
		}
		h[i], h[j] = h[j], h[i]
		j = i
	}
}

// pop removes and returns the first item of the heap.
func (q *nodeQueue) pop() queueItem {
	h := *q
	n := len(h) - 1
	h[0], h[n] = h[n], h[0]
	for i := 0; ; {
		j := 2*i + 1
		if j >= n {
			break
		}
		if j+1 < n && h.less(j+1, j) {
			j++
		}
		if !h.less(j, i) {
			break
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
	it := h[n]
	*q = h[:n]
	return it
}

// MergeBase returns the best common ancestor of a and b, as `git merge-base`
// (the first one when there are several, as after a criss-cross merge).
func (r *Repo) MergeBase(ctx context.Context, a, b string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ha, err := r.resolve(a)
	if err != nil {
		return "", err
	}
	hb, err := r.resolve(b)
	if err != nil {
		return "", err
	}
	bases, err := r.mergeBases(ctx, ha, hb)
	if err != nil {
		return "", fmt.Errorf("merge-base %s %s: %w", a, b, err)
	}
	if len(bases) == 0 {
		return "", fmt.Errorf("merge-base %s %s: no common ancestor: %w", a, b, ErrUnknownRevision)
	}
	return bases[0].String(), nil
}

// mergeBases returns all best common ancestors of a and b, newest first, as
// `git merge-base --all`. r.mu must be held.
func (r *Repo) mergeBases(ctx context.Context, a, b plumbing.Hash) ([]plumbing.Hash, error) {
	if a == b {
		return []plumbing.Hash{a}, nil
	}
	g := r.nodes()
	w := newWalker(g)
	cands, err := w.paintDownToCommon(ctx, a, b)
	if err != nil {
		return nil, err
	}
	if len(cands) <= 1 {
		out := make([]plumbing.Hash, len(cands))
		for i, c := range cands {
			out[i] = c.id
		}
		return out, nil
	}
	// Remove candidates that are ancestors of other candidates.
	var keep []*walkNode
	for i, c := range cands {
		redundant := false
		for j, o := range cands {
			if i == j {
				continue
			}
			anc, err := r.isAncestor(ctx, g, c.id, o.id)
			if err != nil {
				return nil, err
			}
			if anc {
				redundant = true
				break
			}
		}
		if !redundant {
			keep = append(keep, c)
		}
	}
	out := make([]plumbing.Hash, len(keep))
	for i, c := range keep {
		out[i] = c.id
	}
	return out, nil
}

// paintDownToCommon is git's paint_down_to_common: it paints the history of
// a and b until only commits below common ancestors remain, and returns the
// common ancestors found on the way, newest first.
func (w *walker) paintDownToCommon(ctx context.Context, a, b plumbing.Hash) ([]*walkNode, error) {
	na, err := w.lookup(a)
	if err != nil {
		return nil, err
	}
	nb, err := w.lookup(b)
	if err != nil {
		return nil, err
	}
	na.flags |= flagA
	nb.flags |= flagB
	w.push(na)
	w.push(nb)
	var result []*walkNode
	steps := 0
	for w.nonStale() {
		if steps++; steps%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		c := w.pop()
		flags := c.flags & (flagA | flagB | flagStale)
		if flags == flagA|flagB {
			if c.flags&flagResult == 0 {
				c.flags |= flagResult
				result = insertByDate(result, c)
			}
			flags |= flagStale
		}
		ps, err := w.parents(c)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if p.flags&flags == flags {
				continue
			}
			p.flags |= flags
			w.push(p)
		}
	}
	var out []*walkNode
	for _, c := range result {
		if c.flags&flagStale == 0 {
			out = append(out, c)
		}
	}
	return out, nil
}

// insertByDate inserts c into list, ordered newest first, after the commits
// of the same date (git's commit_list_insert_by_date).
func insertByDate(list []*walkNode, c *walkNode) []*walkNode {
	i := sort.Search(len(list), func(i int) bool { return list[i].when < c.when })
	list = append(list, nil)
	copy(list[i+1:], list[i:])
	list[i] = c
	return list
}

// isAncestor reports whether anc is reachable from desc.
func (r *Repo) isAncestor(ctx context.Context, g *commitGraph, anc, desc plumbing.Hash) (bool, error) {
	if anc == desc {
		return true, nil
	}
	w := newWalker(g)
	target, err := w.lookup(anc)
	if err != nil {
		return false, err
	}
	start, err := w.lookup(desc)
	if err != nil {
		return false, err
	}
	start.flags |= flagA
	w.push(start)
	for w.queue.Len() > 0 {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		c := w.pop()
		if c == target {
			return true, nil
		}
		// Below the target's generation nothing can reach it.
		if g.hasGen && c.gen < target.gen {
			continue
		}
		if !g.hasGen && c.when < target.when-86400 {
			continue
		}
		ps, err := w.parents(c)
		if err != nil {
			return false, err
		}
		for _, p := range ps {
			if p.flags&flagA == 0 {
				p.flags |= flagA
				w.push(p)
			}
		}
	}
	return false, nil
}

// Count returns the number of commits reachable from a but not b, and from b
// but not a, as `git rev-list --left-right --count a...b`.
func (r *Repo) Count(ctx context.Context, a, b string) (onlyA, onlyB int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ha, err := r.resolve(a)
	if err != nil {
		return 0, 0, err
	}
	hb, err := r.resolve(b)
	if err != nil {
		return 0, 0, err
	}
	onlyA, onlyB, err = r.count(ctx, ha, hb)
	if err != nil {
		return 0, 0, fmt.Errorf("count %s...%s: %w", a, b, err)
	}
	return onlyA, onlyB, nil
}

// countSlop is how many more commits a walk ordered by commit date alone
// (no commit-graph) goes on after every queued commit is common, to absorb
// clock skew, as git's revision walk does.
const countSlop = 5

// count walks the histories of a and b together, in generation (or date)
// order, propagating flags A and B; commits carrying both are common. It
// stops once only common commits remain queued. r.mu must be held.
func (r *Repo) count(ctx context.Context, a, b plumbing.Hash) (onlyA, onlyB int, err error) {
	if a == b {
		return 0, 0, nil
	}
	g := r.nodes()
	w := newWalker(g)
	na, err := w.lookup(a)
	if err != nil {
		return 0, 0, err
	}
	nb, err := w.lookup(b)
	if err != nil {
		return 0, 0, err
	}
	na.flags |= flagA
	nb.flags |= flagB
	w.push(na)
	w.push(nb)
	slop := countSlop
	steps := 0
	for w.queue.Len() > 0 {
		if steps++; steps%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, 0, err
			}
		}
		if !w.nonStale() {
			if g.hasGen || slop == 0 {
				break
			}
			slop--
		}
		c := w.pop()
		flags := c.flags & (flagA | flagB)
		if flags == flagA|flagB {
			c.flags |= flagStale
		}
		ps, err := w.parents(c)
		if err != nil {
			return 0, 0, err
		}
		for _, p := range ps {
			before := p.flags
			p.flags |= flags
			if p.flags&(flagA|flagB) == flagA|flagB {
				p.flags |= flagStale
			}
			if p.flags != before {
				w.push(p)
			}
		}
	}
	w.each(func(n *walkNode) {
		switch n.flags & (flagA | flagB) {
		case flagA:
			onlyA++
		case flagB:
			onlyB++
		}
	})
	return onlyA, onlyB, nil
}

// WriteCommitGraph writes a commit-graph file covering every commit in the
// repository to objects/info/commit-graph, with generation numbers (v1 and
// corrected commit dates), so that later history walks read the compact
// graph instead of commit objects. When a commit-graph file with corrected
// commit dates exists, it is extended with the commits reachable from refs
// that it lacks instead of being rebuilt from every commit object.
func (r *Repo) WriteCommitGraph() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	commits, err := r.graphCommits()
	if err != nil {
		return fmt.Errorf("write commit-graph: %w", err)
	}
	// Generation numbers, computed depth-first without recursion.
	var stack []plumbing.Hash
	for h := range commits {
		if commits[h].gen != 0 {
			continue
		}
		stack = append(stack[:0], h)
		for len(stack) > 0 {
			top := stack[len(stack)-1]
			c := commits[top]
			if c.gen != 0 {
				stack = stack[:len(stack)-1]
				continue
			}
			ready := true
			var gen, gen2 uint64
			for _, p := range c.parents {
				pc, ok := commits[p]
				if !ok {
					continue // parent outside the repository (shallow)
				}
				if pc.gen == 0 {
					ready = false
					stack = append(stack, p)
					continue
				}
				gen = max(gen, pc.gen)
				gen2 = max(gen2, pc.gen2+1)
			}
			if !ready {
				continue
			}
			c.gen = gen + 1
			c.gen2 = max(gen2, uint64(max(c.when, 0)))
			stack = stack[:len(stack)-1]
		}
	}
	idx := cgformat.NewMemoryIndex()
	for h, c := range commits {
		parents := make([]plumbing.Hash, 0, len(c.parents))
		for _, p := range c.parents {
			if _, ok := commits[p]; ok {
				parents = append(parents, p)
			}
		}
		gen := c.gen
		if gen > 0x3FFFFFFF {
			gen = 0x3FFFFFFF
		}
		gen2 := c.gen2
		if gen2 == 0 {
			gen2 = 1 // zero would mean "no corrected date" to the encoder
		}
		idx.Add(h, &cgformat.CommitData{TreeHash: c.tree, ParentHashes: parents,
			Generation: gen, GenerationV2: gen2, When: unixTime(c.when)})
	}
	var buf bytes.Buffer
	if err := cgformat.NewEncoder(&buf).Encode(idx); err != nil {
		return fmt.Errorf("write commit-graph: %w", err)
	}
	if err := r.writeFileAtomic(commitGraphPath, buf.Bytes()); err != nil {
		return fmt.Errorf("write commit-graph: %w", err)
	}
	if r.graph != nil {
		r.graph.close()
		r.graph = nil
	}
	return nil
}

// graphInfo is what the commit-graph file holds about a commit.
type graphInfo struct {
	tree    plumbing.Hash
	parents []plumbing.Hash
	when    int64
	gen     uint64 // topological level; 0 until computed
	gen2    uint64 // corrected commit date
}

// graphCommits collects the commits for a new commit-graph file: those of
// the current file plus the ones reachable from refs that it lacks, or every
// commit object when there is no usable file. r.mu must be held.
func (r *Repo) graphCommits() (map[plumbing.Hash]*graphInfo, error) {
	idx, err := r.loadCommitGraphFile()
	if err != nil || idx == nil || !idx.HasGenerationV2() {
		if idx != nil {
			_ = idx.Close()
		}
		return r.allCommits()
	}
	defer idx.Close()
	hashes := idx.Hashes()
	commits := make(map[plumbing.Hash]*graphInfo, len(hashes)+1024)
	for _, h := range hashes {
		i, err := idx.GetIndexByHash(h)
		if err != nil {
			return nil, err
		}
		d, err := idx.GetCommitDataByIndex(i)
		if err != nil {
			return nil, err
		}
		commits[h] = &graphInfo{tree: d.TreeHash, parents: d.ParentHashes, when: d.When.Unix(),
			gen: max(d.Generation, 1), gen2: d.GenerationV2}
	}
	refs, err := r.repo.Storer.IterReferences()
	if err != nil {
		return nil, err
	}
	var stack []plumbing.Hash
	err = refs.ForEach(func(ref *plumbing.Reference) error {
		if ref.Type() != plumbing.HashReference {
			return nil
		}
		if h, err := r.peel(ref.Hash()); err == nil {
			stack = append(stack, h)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, ok := commits[h]; ok {
			continue
		}
		c, err := r.repo.CommitObject(h)
		if err != nil {
			if errors.Is(err, plumbing.ErrObjectNotFound) {
				continue // beyond a shallow boundary
			}
			return nil, err
		}
		commits[h] = &graphInfo{tree: c.TreeHash, parents: c.ParentHashes, when: c.Committer.When.Unix()}
		stack = append(stack, c.ParentHashes...)
	}
	return commits, nil
}

// allCommits reads every commit object. r.mu must be held.
func (r *Repo) allCommits() (map[plumbing.Hash]*graphInfo, error) {
	commits := make(map[plumbing.Hash]*graphInfo, 1<<14)
	iter, err := r.repo.Storer.IterEncodedObjects(plumbing.CommitObject)
	if err != nil {
		return nil, err
	}
	err = iter.ForEach(func(o plumbing.EncodedObject) error {
		c, err := object.DecodeCommit(r.repo.Storer, o)
		if err != nil {
			return err
		}
		commits[c.Hash] = &graphInfo{tree: c.TreeHash, parents: c.ParentHashes, when: c.Committer.When.Unix()}
		return nil
	})
	return commits, err
}

// writeFileAtomic writes data to name (relative to the git directory)
// through a temporary file and a rename.
func (r *Repo) writeFileAtomic(name string, data []byte) error {
	if err := r.dotgit.MkdirAll(path.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := r.dotgit.TempFile(path.Dir(name), "tmp-graph-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		_ = r.dotgit.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		_ = r.dotgit.Remove(tmp)
		return err
	}
	if err := r.dotgit.Rename(tmp, name); err != nil {
		_ = r.dotgit.Remove(tmp)
		return err
	}
	return nil
}

func unixTime(sec int64) time.Time { return time.Unix(sec, 0) }
