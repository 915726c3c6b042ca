package gitops

import "bytes"

// This file holds the line diff. Its results must equal git's default diff
// (Myers with git's heuristics, plus its change compaction and indent
// heuristic), because review comments are anchored to the line numbers git
// shows and the counts must equal `git diff --shortstat`. It follows the
// same steps as git's xdiff, written afresh in Go:
//
//  1. Split both sides into lines (each with its newline) and give equal
//     lines the same class number.
//  2. Set aside the common prefix and suffix.
//  3. Mark lines that occur nowhere on the other side as changed, and set
//     aside runs of lines that occur too often on the other side, so that
//     the core search stays small.
//  4. Run Myers' O(ND) search in linear space (divide at a middle snake),
//     with git's cost limits for large inputs.
//  5. Slide each group of changed lines up or down where that gives an
//     equivalent diff: to line up with changes on the other side, and
//     otherwise to where the indent heuristic scores best.

// Tuning constants, with git's values.
const (
	maxCostMin     = 256  // lower bound of the cost at which a split gives up
	heurMinCost    = 256  // cost above which a good snake ends the search
	snakeCount     = 20   // length of a "good" snake
	kHeur          = 4    // weight of the good-snake measure
	maxEqLimit     = 1024 // cap on "occurs too often"
	simScanWindow  = 100  // window of the too-often run scan
	kpDisRun       = 4    // ratio of the too-often run test
	maxIndent      = 200
	maxBlanks      = 20
	indentMaxSlide = 100
	binarySniffLen = 8000 // git looks for a NUL byte in this many bytes
)

// splitLines splits data into lines, each keeping its trailing newline; the
// last line may lack one.
func splitLines(data []byte) [][]byte {
	if len(data) == 0 {
		return nil
	}
	n := bytes.Count(data, []byte{'\n'})
	if data[len(data)-1] != '\n' {
		n++
	}
	lines := make([][]byte, 0, n)
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			lines = append(lines, data)
			break
		}
		lines = append(lines, data[:i+1:i+1])
		data = data[i+1:]
	}
	return lines
}

// isBinary reports whether git would treat data as binary: a NUL byte in
// its first 8000 bytes.
func isBinary(data []byte) bool {
	if len(data) > binarySniffLen {
		data = data[:binarySniffLen]
	}
	return bytes.IndexByte(data, 0) >= 0
}

// diffSide is one side of a line diff.
type diffSide struct {
	lines   [][]byte
	class   []int  // equivalence class of each line
	changed []bool // len(lines)+2; changed[i+1] is line i; both ends false
	rindex  []int  // lines that take part in the core search
	ha      []int  // their classes
	dstart  int    // first line after the common prefix
	dend    int    // last line before the common suffix
}

func (s *diffSide) isChanged(i int) bool { return s.changed[i+1] }
func (s *diffSide) setChanged(i int, v bool) {
	s.changed[i+1] = v
}

// lineDiff is a computed diff between two line slices.
type lineDiff struct {
	a, b diffSide
}

// bogoSqrt is git's cheap square-root approximation.
func bogoSqrt(n int) int {
	i := 1
	for ; n > 0; n >>= 2 {
		i <<= 1
	}
	return i
}

// diffLines computes the diff of two line slices. With compact it also
// slides change groups as git does before printing; counts do not need it.
func diffLines(a, b [][]byte, compact bool) *lineDiff {
	d := &lineDiff{}
	d.a.lines, d.b.lines = a, b
	classes := make(map[string]int, len(a)+len(b))
	classify := func(s *diffSide) {
		s.class = make([]int, len(s.lines))
		for i, l := range s.lines {
			c, ok := classes[string(l)]
			if !ok {
				c = len(classes)
				classes[string(l)] = c
			}
			s.class[i] = c
		}
		s.changed = make([]bool, len(s.lines)+2)
	}
	classify(&d.a)
	classify(&d.b)
	d.trimEnds()
	d.cleanupRecords(len(classes))

	na, nb := len(d.a.rindex), len(d.b.rindex)
	ndiags := na + nb + 3
	kv := make([]int, 2*ndiags+2)
	e := &myersEnv{
		d:      d,
		kvdf:   kv[:ndiags],
		kvdb:   kv[ndiags:],
		off:    nb + 1,
		mxcost: max(bogoSqrt(ndiags), maxCostMin),
	}
	e.recsCmp(0, na, 0, nb, false)
	if compact {
		changeCompact(&d.a, &d.b)
		changeCompact(&d.b, &d.a)
	}
	return d
}

// trimEnds sets aside the common prefix and suffix.
func (d *lineDiff) trimEnds() {
	a, b := &d.a, &d.b
	lim := min(len(a.lines), len(b.lines))
	i := 0
	for i < lim && a.class[i] == b.class[i] {
		i++
	}
	a.dstart, b.dstart = i, i
	lim -= i
	j := 0
	for j < lim && a.class[len(a.lines)-1-j] == b.class[len(b.lines)-1-j] {
		j++
	}
	a.dend = len(a.lines) - j - 1
	b.dend = len(b.lines) - j - 1
}

// cleanupRecords decides which lines take part in the core search: lines
// without a match on the other side are changed outright; lines with many
// matches are left out when they sit in a run of such lines.
func (d *lineDiff) cleanupRecords(nclasses int) {
	// Matches are counted among all lines of the other side.
	allA := make([]int, nclasses)
	allB := make([]int, nclasses)
	for _, c := range d.a.class {
		allA[c]++
	}
	for _, c := range d.b.class {
		allB[c]++
	}
	mark := func(s *diffSide, other []int) {
		mlim := min(bogoSqrt(len(s.lines)), maxEqLimit)
		n := s.dend - s.dstart + 1
		if n <= 0 {
			return
		}
		dis := make([]byte, len(s.lines))
		for i := s.dstart; i <= s.dend; i++ {
			nm := other[s.class[i]]
			switch {
			case nm == 0:
				dis[i] = 0
			case nm >= mlim:
				dis[i] = 2
			default:
				dis[i] = 1
			}
		}
		s.rindex = make([]int, 0, n)
		s.ha = make([]int, 0, n)
		for i := s.dstart; i <= s.dend; i++ {
			if dis[i] == 1 || (dis[i] == 2 && !cleanMultiMatch(dis, i, s.dstart, s.dend)) {
				s.rindex = append(s.rindex, i)
				s.ha = append(s.ha, s.class[i])
			} else {
				s.setChanged(i, true)
			}
		}
	}
	mark(&d.a, allB)
	mark(&d.b, allA)
}

// cleanMultiMatch reports whether the often-matching line i sits in a run
// of unmatched and often-matching lines dense enough to leave it out.
func cleanMultiMatch(dis []byte, i, s, e int) bool {
	if i-s > simScanWindow {
		s = i - simScanWindow
	}
	if e-i > simScanWindow {
		e = i + simScanWindow
	}
	rdis0, rpdis0 := 0, 1
	for r := 1; i-r >= s; r++ {
		if dis[i-r] == 0 {
			rdis0++
		} else if dis[i-r] == 2 {
			rpdis0++
		} else {
			break
		}
	}
	if rdis0 == 0 {
		return false
	}
	rdis1, rpdis1 := 0, 1
	for r := 1; i+r <= e; r++ {
		if dis[i+r] == 0 {
			rdis1++
		} else if dis[i+r] == 2 {
			rpdis1++
		} else {
			break
		}
	}
	if rdis1 == 0 {
		return false
	}
	rdis1 += rdis0
	rpdis1 += rpdis0
	return rpdis1*kpDisRun < rpdis1+rdis1
}

// myersEnv holds the state of the core search over the kept lines.
type myersEnv struct {
	d          *lineDiff
	kvdf, kvdb []int // furthest reach per diagonal, indexed k+off
	off        int
	mxcost     int
}

const lineMax = int(^uint(0) >> 1)

// recsCmp diffs kept lines [off1,lim1) of a with [off2,lim2) of b by
// divide and conquer, marking changed lines.
func (e *myersEnv) recsCmp(off1, lim1, off2, lim2 int, needMin bool) {
	ha1, ha2 := e.d.a.ha, e.d.b.ha
	for {
		for off1 < lim1 && off2 < lim2 && ha1[off1] == ha2[off2] {
			off1++
			off2++
		}
		for off1 < lim1 && off2 < lim2 && ha1[lim1-1] == ha2[lim2-1] {
			lim1--
			lim2--
		}
		if off1 == lim1 {
			for ; off2 < lim2; off2++ {
				e.d.b.setChanged(e.d.b.rindex[off2], true)
			}
			return
		}
		if off2 == lim2 {
			for ; off1 < lim1; off1++ {
				e.d.a.setChanged(e.d.a.rindex[off1], true)
			}
			return
		}
		i1, i2, minLo, minHi := e.split(off1, lim1, off2, lim2, needMin)
		e.recsCmp(off1, i1, off2, i2, minLo)
		// Loop for the upper half instead of recursing.
		off1, off2, needMin = i1, i2, minHi
	}
}

// split finds where to divide the box (off1,off2)-(lim1,lim2): a middle
// snake, or a good-enough point once the cost grows too large.
func (e *myersEnv) split(off1, lim1, off2, lim2 int, needMin bool) (s1, s2 int, minLo, minHi bool) {
	ha1, ha2 := e.d.a.ha, e.d.b.ha
	kf, kb, o := e.kvdf, e.kvdb, e.off
	dmin, dmax := off1-lim2, lim1-off2
	fmid, bmid := off1-off2, lim1-lim2
	odd := (fmid-bmid)&1 != 0
	fmin, fmax := fmid, fmid
	bmin, bmax := bmid, bmid
	kf[fmid+o] = off1
	kb[bmid+o] = lim1

	for ec := 1; ; ec++ {
		gotSnake := false
		if fmin > dmin {
			fmin--
			kf[fmin-1+o] = -1
		} else {
			fmin++
		}
		if fmax < dmax {
			fmax++
			kf[fmax+1+o] = -1
		} else {
			fmax--
		}
		for d := fmax; d >= fmin; d -= 2 {
			var i1 int
			if kf[d-1+o] >= kf[d+1+o] {
				i1 = kf[d-1+o] + 1
			} else {
				i1 = kf[d+1+o]
			}
			prev1 := i1
			i2 := i1 - d
			for i1 < lim1 && i2 < lim2 && ha1[i1] == ha2[i2] {
				i1++
				i2++
			}
			if i1-prev1 > snakeCount {
				gotSnake = true
			}
			kf[d+o] = i1
			if odd && bmin <= d && d <= bmax && kb[d+o] <= i1 {
				return i1, i2, true, true
			}
		}

		if bmin > dmin {
			bmin--
			kb[bmin-1+o] = lineMax
		} else {
			bmin++
		}
		if bmax < dmax {
			bmax++
			kb[bmax+1+o] = lineMax
		} else {
			bmax--
		}
		for d := bmax; d >= bmin; d -= 2 {
			var i1 int
			if kb[d-1+o] < kb[d+1+o] {
				i1 = kb[d-1+o]
			} else {
				i1 = kb[d+1+o] - 1
			}
			prev1 := i1
			i2 := i1 - d
			for i1 > off1 && i2 > off2 && ha1[i1-1] == ha2[i2-1] {
				i1--
				i2--
			}
			if prev1-i1 > snakeCount {
				gotSnake = true
			}
			kb[d+o] = i1
			if !odd && fmin <= d && d <= fmax && i1 <= kf[d+o] {
				return i1, i2, true, true
			}
		}

		if needMin {
			continue
		}

		// Past the heuristic threshold, accept a diagonal that has gone
		// far along a long snake.
		if gotSnake && ec > heurMinCost {
			best := 0
			for d := fmax; d >= fmin; d -= 2 {
				dd := d - fmid
				if dd < 0 {
					dd = -dd
				}
				i1 := kf[d+o]
				i2 := i1 - d
				v := (i1 - off1) + (i2 - off2) - dd
				if v > kHeur*ec && v > best &&
					off1+snakeCount <= i1 && i1 < lim1 &&
					off2+snakeCount <= i2 && i2 < lim2 {
					for k := 1; ha1[i1-k] == ha2[i2-k]; k++ {
						if k == snakeCount {
							best = v
							s1, s2 = i1, i2
							break
						}
					}
				}
			}
			if best > 0 {
				return s1, s2, true, false
			}
			for d := bmax; d >= bmin; d -= 2 {
				dd := d - bmid
				if dd < 0 {
					dd = -dd
				}
				i1 := kb[d+o]
				i2 := i1 - d
				v := (lim1 - i1) + (lim2 - i2) - dd
				if v > kHeur*ec && v > best &&
					off1 < i1 && i1 <= lim1-snakeCount &&
					off2 < i2 && i2 <= lim2-snakeCount {
					for k := 0; ha1[i1+k] == ha2[i2+k]; k++ {
						if k == snakeCount-1 {
							best = v
							s1, s2 = i1, i2
							break
						}
					}
				}
			}
			if best > 0 {
				return s1, s2, false, true
			}
		}

		// Too expensive: take the furthest-reaching diagonal.
		if ec >= e.mxcost {
			fbest, fbest1 := -1, -1
			for d := fmax; d >= fmin; d -= 2 {
				i1 := min(kf[d+o], lim1)
				i2 := i1 - d
				if lim2 < i2 {
					i1 = lim2 + d
					i2 = lim2
				}
				if fbest < i1+i2 {
					fbest = i1 + i2
					fbest1 = i1
				}
			}
			bbest, bbest1 := lineMax, lineMax
			for d := bmax; d >= bmin; d -= 2 {
				i1 := max(off1, kb[d+o])
				i2 := i1 - d
				if i2 < off2 {
					i1 = off2 + d
					i2 = off2
				}
				if i1+i2 < bbest {
					bbest = i1 + i2
					bbest1 = i1
				}
			}
			if (lim1+lim2)-bbest < fbest-(off1+off2) {
				return fbest1, fbest - fbest1, true, false
			}
			return bbest1, bbest - bbest1, false, true
		}
	}
}

// group is a run of changed lines [start,end) in one side; an empty group
// sits above line start.
type group struct{ start, end int }

func firstGroup(s *diffSide) group {
	g := group{}
	for s.isChanged(g.end) {
		g.end++
	}
	return g
}

func (g *group) next(s *diffSide) bool {
	if g.end == len(s.lines) {
		return false
	}
	g.start = g.end + 1
	g.end = g.start
	for s.isChanged(g.end) {
		g.end++
	}
	return true
}

func (g *group) previous(s *diffSide) bool {
	if g.start == 0 {
		return false
	}
	g.end = g.start - 1
	g.start = g.end
	for s.isChanged(g.start - 1) {
		g.start--
	}
	return true
}

func (g *group) slideDown(s *diffSide) bool {
	if g.end < len(s.lines) && s.class[g.start] == s.class[g.end] {
		s.setChanged(g.start, false)
		s.setChanged(g.end, true)
		g.start++
		g.end++
		for s.isChanged(g.end) {
			g.end++
		}
		return true
	}
	return false
}

func (g *group) slideUp(s *diffSide) bool {
	if g.start > 0 && s.class[g.start-1] == s.class[g.end-1] {
		g.start--
		g.end--
		s.setChanged(g.start, true)
		s.setChanged(g.end, false)
		for s.isChanged(g.start - 1) {
			g.start--
		}
		return true
	}
	return false
}

// changeCompact slides the change groups of s (o is the other side) as git
// does: merge groups that touch, line groups up with changes on the other
// side, and otherwise place them where the indent heuristic scores best.
func changeCompact(s, o *diffSide) {
	g := firstGroup(s)
	gov := firstGroup(o)
	for {
		if g.end != g.start {
			var groupSize, earliestEnd int
			endMatchingOther := -1
			for {
				groupSize = g.end - g.start
				endMatchingOther = -1
				for g.slideUp(s) {
					gov.previous(o)
				}
				earliestEnd = g.end
				if gov.end > gov.start {
					endMatchingOther = g.end
				}
				for g.slideDown(s) {
					gov.next(o)
					if gov.end > gov.start {
						endMatchingOther = g.end
					}
				}
				if groupSize == g.end-g.start {
					break
				}
			}
			switch {
			case g.end == earliestEnd:
				// It cannot move.
			case endMatchingOther != -1:
				for gov.end == gov.start {
					g.slideUp(s)
					gov.previous(o)
				}
			default:
				shift := earliestEnd
				if g.end-groupSize-1 > shift {
					shift = g.end - groupSize - 1
				}
				if g.end-indentMaxSlide > shift {
					shift = g.end - indentMaxSlide
				}
				bestShift := -1
				var best splitScore
				for ; shift <= g.end; shift++ {
					var sc splitScore
					sc.add(measureSplit(s, shift))
					sc.add(measureSplit(s, shift-groupSize))
					if bestShift == -1 || sc.cmp(best) <= 0 {
						best = sc
						bestShift = shift
					}
				}
				for g.end > bestShift {
					g.slideUp(s)
					gov.previous(o)
				}
			}
		}
		if !g.next(s) {
			break
		}
		gov.next(o)
	}
}

// indentOf returns the indentation of line (tabs to multiples of 8), or -1
// for a blank line.
func indentOf(line []byte) int {
	ret := 0
	for _, c := range line {
		switch c {
		case ' ':
			ret++
		case '\t':
			ret += 8 - ret%8
		case '\n', '\r', '\v', '\f':
		default:
			return ret
		}
		if ret >= maxIndent {
			return maxIndent
		}
	}
	return -1
}

type splitMeasure struct {
	endOfFile             bool
	indent                int
	preBlank, preIndent   int
	postBlank, postIndent int
}

// measureSplit describes a split of s just above line split.
func measureSplit(s *diffSide, split int) splitMeasure {
	var m splitMeasure
	n := len(s.lines)
	if split >= n {
		m.endOfFile = true
		m.indent = -1
	} else {
		m.indent = indentOf(s.lines[split])
	}
	m.preIndent = -1
	for i := split - 1; i >= 0; i-- {
		m.preIndent = indentOf(s.lines[i])
		if m.preIndent != -1 {
			break
		}
		m.preBlank++
		if m.preBlank == maxBlanks {
			m.preIndent = 0
			break
		}
	}
	m.postIndent = -1
	for i := split + 1; i < n; i++ {
		m.postIndent = indentOf(s.lines[i])
		if m.postIndent != -1 {
			break
		}
		m.postBlank++
		if m.postBlank == maxBlanks {
			m.postIndent = 0
			break
		}
	}
	return m
}

type splitScore struct{ effectiveIndent, penalty int }

// add adds the badness of the split m (the weights are git's, found
// empirically by its authors).
func (s *splitScore) add(m splitMeasure) {
	const (
		startOfFilePenalty             = 1
		endOfFilePenalty               = 21
		totalBlankWeight               = -30
		postBlankWeight                = 6
		relativeIndentPenalty          = -4
		relativeIndentWithBlankPenalty = 10
		relativeOutdentPenalty         = 24
		relativeOutdentWithBlank       = 17
		relativeDedentPenalty          = 23
		relativeDedentWithBlank        = 17
	)
	if m.preIndent == -1 && m.preBlank == 0 {
		s.penalty += startOfFilePenalty
	}
	if m.endOfFile {
		s.penalty += endOfFilePenalty
	}
	postBlank := 0
	if m.indent == -1 {
		postBlank = 1 + m.postBlank
	}
	totalBlank := m.preBlank + postBlank
	s.penalty += totalBlankWeight * totalBlank
	s.penalty += postBlankWeight * postBlank
	indent := m.indent
	if indent == -1 {
		indent = m.postIndent
	}
	anyBlanks := totalBlank != 0
	s.effectiveIndent += indent
	switch {
	case indent == -1, m.preIndent == -1:
	case indent > m.preIndent:
		if anyBlanks {
			s.penalty += relativeIndentWithBlankPenalty
		} else {
			s.penalty += relativeIndentPenalty
		}
	case indent == m.preIndent:
	default:
		if m.postIndent != -1 && m.postIndent > indent {
			if anyBlanks {
				s.penalty += relativeOutdentWithBlank
			} else {
				s.penalty += relativeOutdentPenalty
			}
		} else {
			if anyBlanks {
				s.penalty += relativeDedentWithBlank
			} else {
				s.penalty += relativeDedentPenalty
			}
		}
	}
}

func (s splitScore) cmp(o splitScore) int {
	const indentWeight = 60
	c := 0
	if s.effectiveIndent > o.effectiveIndent {
		c = 1
	} else if s.effectiveIndent < o.effectiveIndent {
		c = -1
	}
	return indentWeight*c + (s.penalty - o.penalty)
}

// edit is one change of a script: lines [i1,i1+chg1) of a replaced by
// [i2,i2+chg2) of b.
type edit struct{ i1, chg1, i2, chg2 int }

// script returns the changes in order.
func (d *lineDiff) script() []edit {
	var out []edit
	na, nb := len(d.a.lines), len(d.b.lines)
	i1, i2 := 0, 0
	for i1 < na || i2 < nb {
		if d.a.isChanged(i1) || d.b.isChanged(i2) {
			s1, s2 := i1, i2
			for i1 < na && d.a.isChanged(i1) {
				i1++
			}
			for i2 < nb && d.b.isChanged(i2) {
				i2++
			}
			out = append(out, edit{s1, i1 - s1, s2, i2 - s2})
			continue
		}
		i1++
		i2++
	}
	return out
}

// counts returns the numbers of added and removed lines.
func (d *lineDiff) counts() (added, removed int) {
	for i := range d.a.lines {
		if d.a.isChanged(i) {
			removed++
		}
	}
	for i := range d.b.lines {
		if d.b.isChanged(i) {
			added++
		}
	}
	return added, removed
}
