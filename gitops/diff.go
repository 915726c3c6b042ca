package gitops

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Git's defaults for rename detection (diff.renames=true since git 2.9).
const (
	renameScore = 50   // minimum similarity, percent
	renameLimit = 1000 // at most this many sources or destinations
	contextLen  = 3    // lines of context around each change
	funcLineMax = 80   // git truncates hunk headings to this many bytes
	abbrevLen   = 7    // length of abbreviated object names in index lines
)

// fileChange is one changed file between two trees.
type fileChange struct {
	oldPath, newPath string // empty for an added / deleted file
	oldMode, newMode filemode.FileMode
	oldHash, newHash plumbing.Hash
	score            int // of a rename, out of maxScore
}

func (c *fileChange) path() string {
	if c.newPath != "" {
		return c.newPath
	}
	return c.oldPath
}

// treeChanges diffs the trees of two commits, with git's rename detection
// when renames is set, sorted by path. r.mu must not be held: objects come
// from the pack reader, or from go-git's storage under r.mu.
func (r *Repo) treeChanges(ctx context.Context, from, to plumbing.Hash, renames bool) ([]fileChange, error) {
	changes, err := r.rawChanges(ctx, from, to)
	if err != nil {
		return nil, err
	}
	if renames {
		if changes, err = r.findRenames(ctx, changes); err != nil {
			return nil, fmt.Errorf("diff trees %s..%s: renames: %w", from, to, err)
		}
	}
	return splitTypeChanges(changes), nil
}

// rawChanges diffs the trees of two commits without rename detection, in
// path order.
func (r *Repo) rawChanges(ctx context.Context, from, to plumbing.Hash) ([]fileChange, error) {
	fromTree, err := r.commitTreeHash(from)
	if err != nil {
		return nil, err
	}
	toTree, err := r.commitTreeHash(to)
	if err != nil {
		return nil, err
	}
	var out []fileChange
	if err := r.diffTrees(ctx, fromTree, toTree, "", &out); err != nil {
		return nil, fmt.Errorf("diff trees %s..%s: %w", from, to, err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].path() < out[j].path() })
	return out, nil
}

// splitTypeChanges returns changes sorted by path, with each change between
// a file and a symlink (or submodule) as git shows it: a deletion and a
// creation.
func splitTypeChanges(changes []fileChange) []fileChange {
	out := make([]fileChange, 0, len(changes))
	for _, fc := range changes {
		if fc.oldPath != "" && fc.newPath != "" && fileType(fc.oldMode) != fileType(fc.newMode) {
			out = append(out,
				fileChange{oldPath: fc.oldPath, oldMode: fc.oldMode, oldHash: fc.oldHash},
				fileChange{newPath: fc.newPath, newMode: fc.newMode, newHash: fc.newHash})
			continue
		}
		out = append(out, fc)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].path() < out[j].path() })
	return out
}

// typeChanges counts the type changes in changes (each appears as a
// deletion followed by a creation of the same path).
func typeChanges(changes []fileChange) int {
	n := 0
	for i := 1; i < len(changes); i++ {
		a, b := &changes[i-1], &changes[i]
		if a.newPath == "" && b.oldPath == "" && a.oldPath == b.newPath {
			n++
		}
	}
	return n
}

// fileType is the type part of a mode: regular file, symlink or submodule.
func fileType(m filemode.FileMode) filemode.FileMode {
	switch m {
	case filemode.Regular, filemode.Executable, filemode.Deprecated:
		return filemode.Regular
	}
	return m
}

// commitTree returns the root tree of commit h, read through the pack
// reader. r.mu must not be held.
func (r *Repo) commitTree(h plumbing.Hash) (*object.Tree, error) {
	c, err := object.GetCommit(fastStorer{r.repo.Storer, r}, h)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", h, err)
	}
	t, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("tree of %s: %w", h, err)
	}
	return t, nil
}

// content returns what git diffs for one side of a change: the blob, or
// for a submodule the "Subproject commit" line.
func (r *Repo) content(path string, mode filemode.FileMode, h plumbing.Hash) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	if mode == filemode.Submodule {
		return []byte("Subproject commit " + h.String() + "\n"), nil
	}
	return r.blob(h)
}

// loadContents reads both sides of a change.
func (r *Repo) loadContents(c *fileChange) (old, new []byte, err error) {
	if old, err = r.content(c.oldPath, c.oldMode, c.oldHash); err != nil {
		return nil, nil, err
	}
	if new, err = r.content(c.newPath, c.newMode, c.newHash); err != nil {
		return nil, nil, err
	}
	return old, new, nil
}

// forEachParallel runs fn(i) for i in [0,n) on up to GOMAXPROCS workers and
// returns the first error.
func forEachParallel(ctx context.Context, n int, fn func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(i); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		next     int
		firstErr error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if firstErr != nil || next >= n {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				err := ctx.Err()
				if err == nil {
					err = fn(i)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// resolvePair resolves two revisions under r.mu.
func (r *Repo) resolvePair(a, b string) (plumbing.Hash, plumbing.Hash, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ha, err := r.resolve(a)
	if err != nil {
		return ha, ha, err
	}
	hb, err := r.resolve(b)
	return ha, hb, err
}

// changesBetween resolves nothing: it diffs the trees of two commits.
func (r *Repo) changesBetween(ctx context.Context, from, to plumbing.Hash, renames bool) ([]fileChange, error) {
	return r.treeChanges(ctx, from, to, renames)
}

// DiffStat returns the diffstat between two commits, as
// `git diff --shortstat from to` with git's default rename detection:
// a pure rename or a mode-only change counts as a changed file with no
// lines, and so does a binary file.
func (r *Repo) DiffStat(ctx context.Context, from, to string) (Stat, error) {
	hf, ht, err := r.resolvePair(from, to)
	if err != nil {
		return Stat{}, err
	}
	st, err := r.diffStat(ctx, hf, ht)
	if err != nil {
		return Stat{}, fmt.Errorf("diffstat %s..%s: %w", from, to, err)
	}
	return st, nil
}

func (r *Repo) diffStat(ctx context.Context, from, to plumbing.Hash) (Stat, error) {
	if from == to {
		return Stat{}, nil
	}
	raw, err := r.rawChanges(ctx, from, to)
	if err != nil {
		return Stat{}, err
	}
	// Rename detection only pairs added and deleted files: count the
	// modified files meanwhile.
	var modified, addDel []fileChange
	for _, c := range raw {
		if c.oldPath != "" && c.newPath != "" {
			modified = append(modified, c)
		} else {
			addDel = append(addDel, c)
		}
	}
	var (
		renamed   []fileChange
		renameErr error
		done      = make(chan struct{})
	)
	go func() {
		defer close(done)
		renamed, renameErr = r.findRenames(ctx, addDel)
	}()
	st, err := r.countChanges(ctx, splitTypeChanges(modified))
	<-done
	if err != nil {
		return Stat{}, err
	}
	if renameErr != nil {
		return Stat{}, renameErr
	}
	st2, err := r.countChanges(ctx, renamed)
	if err != nil {
		return Stat{}, err
	}
	st.FilesChanged += st2.FilesChanged
	st.Insertions += st2.Insertions
	st.Deletions += st2.Deletions
	return st, nil
}

// countChanges returns the diffstat of changes, counting lines on all
// cores.
func (r *Repo) countChanges(ctx context.Context, changes []fileChange) (Stat, error) {
	type counts struct{ add, del int }
	res := make([]counts, len(changes))
	err := forEachParallel(ctx, len(changes), func(i int) error {
		c := &changes[i]
		if c.oldHash == c.newHash && c.oldPath != "" && c.newPath != "" {
			return nil // rename or mode change only
		}
		old, new, err := r.loadContents(c)
		if err != nil {
			return err
		}
		if isBinary(old) || isBinary(new) {
			return nil
		}
		d := diffLines(splitLines(old), splitLines(new), false)
		res[i].add, res[i].del = d.counts()
		return nil
	})
	if err != nil {
		return Stat{}, err
	}
	st := Stat{FilesChanged: len(changes) - typeChanges(changes)}
	for _, c := range res {
		st.Insertions += c.add
		st.Deletions += c.del
	}
	return st, nil
}

// UnifiedDiff returns the diff between two commits as git prints it with
// `git diff from to` and no configuration: git's format, 3 lines of
// context, git's line diff and hunk headings, rename detection with git's
// defaults. Index lines carry 7-digit object names, where git may use more
// in large repositories.
func (r *Repo) UnifiedDiff(ctx context.Context, from, to string) ([]byte, error) {
	hf, ht, err := r.resolvePair(from, to)
	if err != nil {
		return nil, err
	}
	text, err := r.unifiedDiff(ctx, hf, ht)
	if err != nil {
		return nil, fmt.Errorf("diff %s..%s: %w", from, to, err)
	}
	return text, nil
}

func (r *Repo) unifiedDiff(ctx context.Context, from, to plumbing.Hash) ([]byte, error) {
	if from == to {
		return nil, nil
	}
	changes, err := r.changesBetween(ctx, from, to, true)
	if err != nil {
		return nil, err
	}
	parts := make([][]byte, len(changes))
	err = forEachParallel(ctx, len(changes), func(i int) error {
		c := &changes[i]
		var old, new []byte
		if c.oldHash != c.newHash || c.oldPath != c.newPath {
			var err error
			if old, new, err = r.loadContents(c); err != nil {
				return err
			}
		}
		var buf bytes.Buffer
		writeFilePatch(&buf, c, old, new)
		parts[i] = buf.Bytes()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return bytes.Join(parts, nil), nil
}

// Diff returns the parsed diff between two commits, with rename detection.
func (r *Repo) Diff(ctx context.Context, from, to string) (*Diff, error) {
	hf, ht, err := r.resolvePair(from, to)
	if err != nil {
		return nil, err
	}
	text, err := r.unifiedDiff(ctx, hf, ht)
	if err != nil {
		return nil, fmt.Errorf("diff %s..%s: %w", from, to, err)
	}
	files, err := ParseDiff(text)
	if err != nil {
		return nil, fmt.Errorf("diff %s..%s: %w", from, to, err)
	}
	d := &Diff{From: hf.String(), To: ht.String(), Files: files}
	// git's diffstat counts a type change (shown as a deletion and a
	// creation of the same path) as one file.
	d.Stat.FilesChanged = len(files)
	for i := 1; i < len(files); i++ {
		if files[i-1].Status == StatusDeleted && files[i].Status == StatusAdded && files[i-1].OldPath == files[i].NewPath {
			d.Stat.FilesChanged--
		}
	}
	for _, f := range files {
		d.Stat.Insertions += len(f.Added)
		d.Stat.Deletions += len(f.Removed)
	}
	return d, nil
}

// writeFilePatch writes one file's part of a git diff.
func writeFilePatch(buf *bytes.Buffer, c *fileChange, old, new []byte) {
	oldName, newName := c.oldPath, c.newPath
	if oldName == "" {
		oldName = newName
	}
	if newName == "" {
		newName = oldName
	}
	fmt.Fprintf(buf, "diff --git %s %s\n", quotePath("a/"+oldName), quotePath("b/"+newName))
	switch {
	case c.oldPath == "":
		fmt.Fprintf(buf, "new file mode %06o\n", uint32(c.newMode))
	case c.newPath == "":
		fmt.Fprintf(buf, "deleted file mode %06o\n", uint32(c.oldMode))
	case c.oldMode != c.newMode:
		fmt.Fprintf(buf, "old mode %06o\nnew mode %06o\n", uint32(c.oldMode), uint32(c.newMode))
	}
	if c.oldPath != "" && c.newPath != "" && c.oldPath != c.newPath {
		fmt.Fprintf(buf, "similarity index %d%%\nrename from %s\nrename to %s\n",
			c.score*100/maxScore, quotePath(c.oldPath), quotePath(c.newPath))
	}
	if c.oldHash == c.newHash && c.oldPath != "" && c.newPath != "" {
		return
	}
	oldHash, newHash := c.oldHash, c.newHash
	if c.oldPath == "" {
		oldHash = plumbing.ZeroHash
	}
	if c.newPath == "" {
		newHash = plumbing.ZeroHash
	}
	fmt.Fprintf(buf, "index %s..%s", oldHash.String()[:abbrevLen], newHash.String()[:abbrevLen])
	if c.oldPath != "" && c.newPath != "" && c.oldMode == c.newMode {
		fmt.Fprintf(buf, " %06o", uint32(c.oldMode))
	}
	buf.WriteByte('\n')
	oldLabel, newLabel := "/dev/null", "/dev/null"
	if c.oldPath != "" {
		oldLabel = quotePath("a/" + c.oldPath)
	}
	if c.newPath != "" {
		newLabel = quotePath("b/" + c.newPath)
	}
	if isBinary(old) || isBinary(new) {
		fmt.Fprintf(buf, "Binary files %s and %s differ\n", oldLabel, newLabel)
		return
	}
	a, b := splitLines(old), splitLines(new)
	d := diffLines(a, b, true)
	edits := d.script()
	if len(edits) == 0 {
		return
	}
	// git ends a label that has a space with a tab.
	fmt.Fprintf(buf, "--- %s%s\n+++ %s%s\n", oldLabel, labelTab(oldLabel), newLabel, labelTab(newLabel))
	writeHunks(buf, a, b, edits)
}

// similarity estimates git's similarity index of a rename, in percent: the
// share of the larger side made of lines the two sides have in common.
func similarity(c *fileChange, old, new []byte) int {
	if c.oldHash == c.newHash {
		return 100
	}
	if isBinary(old) || isBinary(new) {
		return renameScore
	}
	d := diffLines(splitLines(old), splitLines(new), false)
	common := 0
	for i, l := range d.b.lines {
		if !d.b.isChanged(i) {
			common += len(l)
		}
	}
	size := max(len(old), len(new))
	if size == 0 {
		return 100
	}
	s := common * 100 / size
	return min(max(s, renameScore), 99)
}

// writeHunks writes the hunks of a line diff with git's context rules:
// changes at most 2*contextLen lines apart share a hunk.
func writeHunks(buf *bytes.Buffer, a, b [][]byte, edits []edit) {
	funcLine := []byte(nil)
	funcPrev := -1
	for k := 0; k < len(edits); {
		last := k
		for last+1 < len(edits) && edits[last+1].i1-(edits[last].i1+edits[last].chg1) <= 2*contextLen {
			last++
		}
		first, end := edits[k], edits[last]
		s1 := max(first.i1-contextLen, 0)
		s2 := max(first.i2-contextLen, 0)
		lctx := min(contextLen, len(a)-(end.i1+end.chg1), len(b)-(end.i2+end.chg2))
		e1 := end.i1 + end.chg1 + lctx
		e2 := end.i2 + end.chg2 + lctx

		// The heading: the nearest line above the hunk that looks like
		// the start of a definition; git keeps the previous one when there
		// is none between two hunks.
		for l := s1 - 1; l > funcPrev && l >= 0; l-- {
			if fl, ok := funcName(a[l]); ok {
				funcLine = fl
				break
			}
		}
		funcPrev = s1 - 1

		buf.WriteString("@@ -")
		writeRange(buf, s1, e1-s1)
		buf.WriteString(" +")
		writeRange(buf, s2, e2-s2)
		buf.WriteString(" @@")
		if len(funcLine) > 0 {
			buf.WriteByte(' ')
			buf.Write(funcLine)
		}
		buf.WriteByte('\n')

		i1 := s1
		for j := k; j <= last; j++ {
			e := edits[j]
			for ; i1 < e.i1; i1++ {
				writeLine(buf, ' ', a[i1])
			}
			for i := e.i1; i < e.i1+e.chg1; i++ {
				writeLine(buf, '-', a[i])
			}
			for i := e.i2; i < e.i2+e.chg2; i++ {
				writeLine(buf, '+', b[i])
			}
			i1 = e.i1 + e.chg1
		}
		for ; i1 < e1; i1++ {
			writeLine(buf, ' ', a[i1])
		}
		k = last + 1
	}
}

// writeRange writes a hunk range as git does: the start is the line before
// an empty range, and a count of 1 is left out.
func writeRange(buf *bytes.Buffer, start, count int) {
	if count > 0 {
		start++
	}
	buf.WriteString(strconv.Itoa(start))
	if count != 1 {
		buf.WriteByte(',')
		buf.WriteString(strconv.Itoa(count))
	}
}

func writeLine(buf *bytes.Buffer, prefix byte, line []byte) {
	buf.WriteByte(prefix)
	buf.Write(line)
	if len(line) == 0 || line[len(line)-1] != '\n' {
		buf.WriteString("\n\\ No newline at end of file\n")
	}
}

// funcName is git's default hunk-heading rule: a line that starts with a
// letter, '_' or '$', cut to 80 bytes, without trailing white space.
func funcName(line []byte) ([]byte, bool) {
	if len(line) == 0 {
		return nil, false
	}
	c := line[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$') {
		return nil, false
	}
	if len(line) > funcLineMax {
		line = line[:funcLineMax]
	}
	for len(line) > 0 && isSpace(line[len(line)-1]) {
		line = line[:len(line)-1]
	}
	return line, true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// quotePath quotes a path as git does with core.quotePath=true: paths with
// control characters, '"', '\\' or non-ASCII bytes are put in double
// quotes with C escapes.
func quotePath(p string) string {
	need := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			need = true
			break
		}
	}
	if !need {
		return p
	}
	var b bytes.Buffer
	b.WriteByte('"')
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch c {
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\v':
			b.WriteString(`\v`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		default:
			if c < 0x20 || c >= 0x7f {
				fmt.Fprintf(&b, `\%03o`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// labelTab is the tab git puts after a ---/+++ label that has a space.
func labelTab(label string) string {
	if strings.IndexByte(label, ' ') >= 0 {
		return "\t"
	}
	return ""
}
