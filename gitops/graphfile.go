package gitops

import (
	"bytes"
	"encoding/binary"
	"errors"

	"github.com/go-git/go-git/v5/plumbing"
)

// graphFile reads the records of a commit-graph file in place, for the
// history walks: go-git's index decodes each commit's record into freshly
// allocated structures (and turns parent positions into hashes) on every
// visit, which was most of a walk's time. Only a single file is read this
// way; a split chain is left to go-git.
type graphFile struct {
	fanout []byte // OIDF: 256 big-endian counts
	oids   []byte // OIDL: sorted hashes
	cdat   []byte // CDAT: tree, parent 1, parent 2, generation and date
	gda2   []byte // GDA2: corrected commit date offsets; nil without
	gdo2   []byte // GDO2: offsets that do not fit in 31 bits
	edge   []byte // EDGE: parents of octopus merges
	n      uint32
}

const (
	cdatSize       = 36
	graphNoParent  = 0x70000000
	graphHighBit   = 0x80000000
	graphIndexMask = 0x7fffffff
)

var errBadGraph = errors.New("malformed commit-graph file")

// parseGraphFile reads the chunk table of a commit-graph file; nil, nil
// for a file this reader does not handle (part of a chain, another hash).
func parseGraphFile(data []byte) (*graphFile, error) {
	if len(data) < 8 || string(data[:4]) != "CGPH" {
		return nil, errBadGraph
	}
	if data[4] != 1 || data[5] != 1 || data[7] != 0 {
		return nil, nil // other version, not SHA-1, or a chain's layer
	}
	numChunks := int(data[6])
	table := 8
	if len(data) < table+(numChunks+1)*12 {
		return nil, errBadGraph
	}
	g := &graphFile{}
	for k := range numChunks {
		e := data[table+k*12:]
		start := binary.BigEndian.Uint64(e[4:12])
		end := binary.BigEndian.Uint64(e[16:24])
		if start > end || end > uint64(len(data)) {
			return nil, errBadGraph
		}
		chunk := data[start:end]
		switch string(e[:4]) {
		case "OIDF":
			g.fanout = chunk
		case "OIDL":
			g.oids = chunk
		case "CDAT":
			g.cdat = chunk
		case "GDA2":
			g.gda2 = chunk
		case "GDO2":
			g.gdo2 = chunk
		case "EDGE":
			g.edge = chunk
		}
	}
	if len(g.fanout) != 256*4 {
		return nil, errBadGraph
	}
	g.n = binary.BigEndian.Uint32(g.fanout[255*4:])
	if uint64(len(g.oids)) != uint64(g.n)*20 || uint64(len(g.cdat)) != uint64(g.n)*cdatSize {
		return nil, errBadGraph
	}
	if g.gda2 != nil && uint64(len(g.gda2)) != uint64(g.n)*4 {
		return nil, errBadGraph
	}
	return g, nil
}

// find returns the position of commit h in the file.
func (g *graphFile) find(h plumbing.Hash) (uint32, bool) {
	lo := uint32(0)
	if h[0] > 0 {
		lo = binary.BigEndian.Uint32(g.fanout[(int(h[0])-1)*4:])
	}
	hi := binary.BigEndian.Uint32(g.fanout[int(h[0])*4:])
	if hi > g.n || lo > hi {
		return 0, false
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		switch c := bytes.Compare(g.oids[mid*20:mid*20+20], h[:]); {
		case c == 0:
			return mid, true
		case c < 0:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return 0, false
}

// hash returns the hash of the commit at position i.
func (g *graphFile) hash(i uint32) plumbing.Hash {
	var h plumbing.Hash
	copy(h[:], g.oids[i*20:])
	return h
}

func (g *graphFile) genAndTime(i uint32) uint64 {
	return binary.BigEndian.Uint64(g.cdat[i*cdatSize+28:])
}

// when returns the commit date of the commit at position i.
func (g *graphFile) when(i uint32) int64 { return int64(g.genAndTime(i) & 0x3FFFFFFFF) }

// generation returns the topological level of the commit at position i.
func (g *graphFile) generation(i uint32) uint64 { return g.genAndTime(i) >> 34 }

// generationV2 returns the corrected commit date of the commit at position
// i, or 0 when the file has none.
func (g *graphFile) generationV2(i uint32) (uint64, error) {
	if g.gda2 == nil {
		return 0, nil
	}
	v := binary.BigEndian.Uint32(g.gda2[i*4:])
	off := uint64(v)
	if v&graphHighBit != 0 {
		k := uint64(v&graphIndexMask) * 8
		if k+8 > uint64(len(g.gdo2)) {
			return 0, errBadGraph
		}
		off = binary.BigEndian.Uint64(g.gdo2[k:])
	}
	return uint64(g.when(i)) + off, nil
}

// parents appends the positions of the parents of the commit at position i
// to buf.
func (g *graphFile) parents(i uint32, buf []uint32) ([]uint32, error) {
	rec := g.cdat[i*cdatSize:]
	p1 := binary.BigEndian.Uint32(rec[20:])
	p2 := binary.BigEndian.Uint32(rec[24:])
	switch {
	case p2&graphHighBit != 0:
		buf = append(buf, p1&graphIndexMask)
		for k := uint64(p2&graphIndexMask) * 4; ; k += 4 {
			if k+4 > uint64(len(g.edge)) {
				return nil, errBadGraph
			}
			e := binary.BigEndian.Uint32(g.edge[k:])
			buf = append(buf, e&graphIndexMask)
			if e&graphHighBit != 0 {
				break
			}
		}
	case p2 != graphNoParent:
		buf = append(buf, p1&graphIndexMask, p2&graphIndexMask)
	case p1 != graphNoParent:
		buf = append(buf, p1&graphIndexMask)
	}
	for _, p := range buf {
		if p >= g.n {
			return nil, errBadGraph
		}
	}
	return buf, nil
}
