package gitops

import (
	"bytes"
	"container/list"
	"errors"
	"fmt"
	"github.com/klauspost/compress/zlib"
	"io"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// packReader reads objects straight from the pack files, for the diffs.
// go-git's object storage serves one caller at a time and computes the
// SHA-1 of every object it decodes from a pack (to key its cache); this
// reader serves several goroutines at once from pack files mapped into
// memory, inflates each object straight into a buffer of its final size,
// applies deltas itself, and caches inflated objects by pack offset.
// Objects that are not in a pack (loose objects) are left to go-git.
type packReader struct {
	mu     sync.RWMutex // held for reading by every read; close takes it
	closed bool
	packs  []*packData
	cache  *objectCache
}

// packData is one pack file, mapped into memory, and its index.
type packData struct {
	path  string
	idx   *idxfile.MemoryIndex
	data  []byte
	unmap func() error
}

// loadPackReader reads the pack indexes of the git directory dotgit and
// maps the packs.
func loadPackReader(dotgit billy.Filesystem) (*packReader, error) {
	dir := path.Join("objects", "pack")
	entries, err := dotgit.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	pr := &packReader{cache: newObjectCache(objectCacheBytes)}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "pack-") || !strings.HasSuffix(name, ".idx") {
			continue
		}
		packName := strings.TrimSuffix(name, ".idx") + ".pack"
		if _, err := dotgit.Stat(path.Join(dir, packName)); err != nil {
			continue // an index whose pack is being written or removed
		}
		f, err := dotgit.Open(path.Join(dir, name))
		if err != nil {
			pr.close()
			return nil, err
		}
		idx := idxfile.NewMemoryIndex()
		err = idxfile.NewDecoder(f).Decode(idx)
		_ = f.Close()
		if err != nil {
			pr.close()
			return nil, fmt.Errorf("pack index %s: %w", name, err)
		}
		packPath := dotgit.Join(dotgit.Root(), dir, packName)
		data, unmap, err := mapFile(packPath)
		if err != nil {
			pr.close()
			return nil, fmt.Errorf("pack %s: %w", packName, err)
		}
		pr.packs = append(pr.packs, &packData{path: packPath, idx: idx, data: data, unmap: unmap})
	}
	return pr, nil
}

// close unmaps the packs once no read is in progress.
func (pr *packReader) close() {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.closed = true
	for _, p := range pr.packs {
		if p.unmap != nil {
			_ = p.unmap()
		}
		p.data, p.unmap = nil, nil
	}
}

// errNotInPack means the object is in no pack file.
var errNotInPack = errors.New("object not in a pack")

// errPackClosed means the repository was closed, or a fetch replaced the
// packs, during a read.
var errPackClosed = errors.New("pack reader closed")

// read returns the type and content of object h.
func (pr *packReader) read(h plumbing.Hash) (plumbing.ObjectType, []byte, error) {
	pr.mu.RLock()
	defer pr.mu.RUnlock()
	if pr.closed {
		return plumbing.InvalidObject, nil, errPackClosed
	}
	return pr.readLocked(h, 0)
}

// readLocked is read with pr.mu held for reading.
func (pr *packReader) readLocked(h plumbing.Hash, depth int) (plumbing.ObjectType, []byte, error) {
	for i, p := range pr.packs {
		off, err := p.idx.FindOffset(h)
		if err != nil {
			continue
		}
		return pr.readAt(i, off, depth)
	}
	return plumbing.InvalidObject, nil, errNotInPack
}

// maxDeltaDepth guards against delta cycles in a corrupt pack.
const maxDeltaDepth = 10000

// Pack object types (the 3-bit type in an object header).
const (
	packOFSDelta = 6
	packREFDelta = 7
)

// readAt returns the object at offset off of pack i, resolving deltas.
// pr.mu must be held for reading.
func (pr *packReader) readAt(i int, off int64, depth int) (plumbing.ObjectType, []byte, error) {
	key := cacheKey{pack: i, off: off}
	if t, data, ok := pr.cache.get(key); ok {
		return t, data, nil
	}
	if depth > maxDeltaDepth {
		return plumbing.InvalidObject, nil, fmt.Errorf("pack object at %d: delta chain too deep", off)
	}
	p := pr.packs[i]
	corrupt := func(what string) (plumbing.ObjectType, []byte, error) {
		return plumbing.InvalidObject, nil, fmt.Errorf("pack %s: object at %d: %s", p.path, off, what)
	}
	pack := p.data
	if off < 0 || off >= int64(len(pack)) {
		return corrupt("offset out of range")
	}
	// Header: type and inflated size, then the delta base if any.
	pos := off
	c := pack[pos]
	pos++
	objType := (c >> 4) & 7
	size := uint64(c & 15)
	for shift := uint(4); c&0x80 != 0; shift += 7 {
		if pos >= int64(len(pack)) || shift > 63 {
			return corrupt("bad header")
		}
		c = pack[pos]
		pos++
		size |= uint64(c&0x7f) << shift
	}
	var (
		baseOff  int64 = -1
		baseHash plumbing.Hash
	)
	switch objType {
	case packOFSDelta:
		if pos >= int64(len(pack)) {
			return corrupt("bad delta offset")
		}
		c = pack[pos]
		pos++
		rel := int64(c & 0x7f)
		for c&0x80 != 0 {
			if pos >= int64(len(pack)) || rel > 1<<48 {
				return corrupt("bad delta offset")
			}
			c = pack[pos]
			pos++
			rel = (rel+1)<<7 | int64(c&0x7f)
		}
		if baseOff = off - rel; baseOff < 0 || rel == 0 {
			return corrupt("bad delta offset")
		}
	case packREFDelta:
		if pos+20 > int64(len(pack)) {
			return corrupt("bad delta base")
		}
		copy(baseHash[:], pack[pos:pos+20])
		pos += 20
	case 1, 2, 3, 4: // commit, tree, blob, tag
	default:
		return corrupt(fmt.Sprintf("bad type %d", objType))
	}
	if size > 1<<40 {
		return corrupt("object too large")
	}
	raw, err := inflate(pack[pos:], int(size))
	if err != nil {
		return corrupt(err.Error())
	}
	typ, data := plumbing.ObjectType(objType), raw
	if baseOff >= 0 || objType == packREFDelta {
		var base []byte
		if baseOff >= 0 {
			typ, base, err = pr.readAt(i, baseOff, depth+1)
		} else {
			typ, base, err = pr.readLocked(baseHash, depth+1)
		}
		if err != nil {
			return plumbing.InvalidObject, nil, err
		}
		if data, err = applyDelta(base, raw); err != nil {
			return corrupt(err.Error())
		}
	}
	pr.cache.put(key, typ, data)
	return typ, data, nil
}

// zlibReaders holds zlib readers for reuse.
var zlibReaders sync.Pool

// inflate returns the first size bytes of the zlib stream at the start of
// src.
func inflate(src []byte, size int) ([]byte, error) {
	br := bytes.NewReader(src)
	var zr io.ReadCloser
	if v := zlibReaders.Get(); v != nil {
		zr = v.(io.ReadCloser)
		if err := zr.(zlib.Resetter).Reset(br, nil); err != nil {
			return nil, err
		}
	} else {
		var err error
		if zr, err = zlib.NewReader(br); err != nil {
			return nil, err
		}
	}
	out := make([]byte, size)
	_, err := io.ReadFull(zr, out)
	zlibReaders.Put(zr)
	if err != nil {
		return nil, fmt.Errorf("inflate: %w", err)
	}
	return out, nil
}

// applyDelta applies a git delta to base.
func applyDelta(base, delta []byte) ([]byte, error) {
	errBad := errors.New("bad delta")
	varint := func() (int, bool) {
		var n uint64
		for shift := uint(0); shift < 64; shift += 7 {
			if len(delta) == 0 {
				return 0, false
			}
			c := delta[0]
			delta = delta[1:]
			n |= uint64(c&0x7f) << shift
			if c&0x80 == 0 {
				return int(n), n < 1<<40
			}
		}
		return 0, false
	}
	srcSize, ok := varint()
	if !ok || srcSize != len(base) {
		return nil, errBad
	}
	dstSize, ok := varint()
	if !ok {
		return nil, errBad
	}
	out := make([]byte, dstSize)
	o := 0
	for len(delta) > 0 {
		cmd := delta[0]
		delta = delta[1:]
		switch {
		case cmd&0x80 != 0: // copy from base
			var offset, n int
			for k := range 4 {
				if cmd&(1<<k) != 0 {
					if len(delta) == 0 {
						return nil, errBad
					}
					offset |= int(delta[0]) << (8 * k)
					delta = delta[1:]
				}
			}
			for k := range 3 {
				if cmd&(0x10<<k) != 0 {
					if len(delta) == 0 {
						return nil, errBad
					}
					n |= int(delta[0]) << (8 * k)
					delta = delta[1:]
				}
			}
			if n == 0 {
				n = 0x10000
			}
			if offset+n > len(base) || o+n > dstSize {
				return nil, errBad
			}
			o += copy(out[o:], base[offset:offset+n])
		case cmd != 0: // insert literal bytes
			n := int(cmd)
			if n > len(delta) || o+n > dstSize {
				return nil, errBad
			}
			o += copy(out[o:], delta[:n])
			delta = delta[n:]
		default:
			return nil, errBad
		}
	}
	if o != dstSize {
		return nil, errBad
	}
	return out, nil
}

// objectCacheBytes bounds the inflated objects a packReader keeps.
const objectCacheBytes = 64 << 20

type cacheKey struct {
	pack int
	off  int64
}

type cacheEntry struct {
	key  cacheKey
	typ  plumbing.ObjectType
	data []byte
}

// objectCache is an LRU cache of inflated objects, bounded in bytes.
type objectCache struct {
	mu    sync.Mutex
	max   int
	size  int
	ll    *list.List
	items map[cacheKey]*list.Element
}

func newObjectCache(maxBytes int) *objectCache {
	return &objectCache{max: maxBytes, ll: list.New(), items: make(map[cacheKey]*list.Element)}
}

func (c *objectCache) get(k cacheKey) (plumbing.ObjectType, []byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.ll.MoveToFront(e)
		ce := e.Value.(*cacheEntry)
		return ce.typ, ce.data, true
	}
	return plumbing.InvalidObject, nil, false
}

func (c *objectCache) put(k cacheKey, t plumbing.ObjectType, data []byte) {
	if len(data) > c.max/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[k]; ok {
		return
	}
	c.items[k] = c.ll.PushFront(&cacheEntry{key: k, typ: t, data: data})
	c.size += len(data)
	for c.size > c.max {
		e := c.ll.Back()
		ce := e.Value.(*cacheEntry)
		c.ll.Remove(e)
		delete(c.items, ce.key)
		c.size -= len(ce.data)
	}
}

// packs returns the pack reader, loading it on first use.
func (r *Repo) packs() (*packReader, error) {
	r.prMu.Lock()
	defer r.prMu.Unlock()
	if r.pr == nil {
		pr, err := loadPackReader(r.dotgit)
		if err != nil {
			return nil, err
		}
		r.pr = pr
	}
	return r.pr, nil
}

// resetPacks drops the pack reader, after a fetch added a pack.
func (r *Repo) resetPacks() {
	r.prMu.Lock()
	defer r.prMu.Unlock()
	if r.pr != nil {
		r.pr.close()
		r.pr = nil
	}
}

// object returns the type and content of object h: from the packs without
// any lock, else from go-git's storage under r.mu. r.mu must not be held.
func (r *Repo) object(h plumbing.Hash) (plumbing.ObjectType, []byte, error) {
	if t, data, err := r.packObject(h); !errors.Is(err, errNotInPack) {
		return t, data, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.storageObject(h)
}

// objectLocked is object for callers that hold r.mu.
func (r *Repo) objectLocked(h plumbing.Hash) (plumbing.ObjectType, []byte, error) {
	if t, data, err := r.packObject(h); !errors.Is(err, errNotInPack) {
		return t, data, err
	}
	return r.storageObject(h)
}

// packObject reads object h from the packs; errNotInPack if it is in none.
func (r *Repo) packObject(h plumbing.Hash) (plumbing.ObjectType, []byte, error) {
	pr, err := r.packs()
	if err != nil {
		return plumbing.InvalidObject, nil, errNotInPack
	}
	return pr.read(h)
}

// storageObject reads object h through go-git's storage. r.mu must be held.
func (r *Repo) storageObject(h plumbing.Hash) (plumbing.ObjectType, []byte, error) {
	obj, err := r.repo.Storer.EncodedObject(plumbing.AnyObject, h)
	if err != nil {
		return plumbing.InvalidObject, nil, fmt.Errorf("object %s: %w", h, err)
	}
	rd, err := obj.Reader()
	if err != nil {
		return plumbing.InvalidObject, nil, fmt.Errorf("object %s: %w", h, err)
	}
	defer rd.Close()
	data := make([]byte, obj.Size())
	if _, err := io.ReadFull(rd, data); err != nil {
		return plumbing.InvalidObject, nil, fmt.Errorf("object %s: %w", h, err)
	}
	return obj.Type(), data, nil
}

// blob returns the content of blob h, safe for concurrent use.
func (r *Repo) blob(h plumbing.Hash) ([]byte, error) {
	t, data, err := r.object(h)
	if err != nil {
		return nil, err
	}
	if t != plumbing.BlobObject {
		return nil, fmt.Errorf("object %s is a %s, not a blob", h, t)
	}
	return data, nil
}

// memObject is an object whose content is in memory and whose hash is
// known, so go-git never needs to compute it.
type memObject struct {
	h    plumbing.Hash
	t    plumbing.ObjectType
	data []byte
}

func (o *memObject) Hash() plumbing.Hash           { return o.h }
func (o *memObject) Type() plumbing.ObjectType     { return o.t }
func (o *memObject) SetType(t plumbing.ObjectType) { o.t = t }
func (o *memObject) Size() int64                   { return int64(len(o.data)) }
func (o *memObject) SetSize(int64)                 {}
func (o *memObject) Reader() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(o.data)), nil
}
func (o *memObject) Writer() (io.WriteCloser, error) {
	return nil, errors.New("read-only object")
}

// fastStorer serves go-git's commit and tree decoding (ReadFile, ListFiles)
// from the pack reader; writes and iteration go to the real storage.
type fastStorer struct {
	storer.EncodedObjectStorer
	r *Repo
}

func (s fastStorer) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	typ, data, err := s.r.object(h)
	if err != nil {
		return nil, plumbing.ErrObjectNotFound
	}
	if t != plumbing.AnyObject && typ != t {
		return nil, plumbing.ErrObjectNotFound
	}
	return &memObject{h: h, t: typ, data: data}, nil
}

func (s fastStorer) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	_, data, err := s.r.object(h)
	if err != nil {
		return 0, plumbing.ErrObjectNotFound
	}
	return int64(len(data)), nil
}

func (s fastStorer) HasEncodedObject(h plumbing.Hash) error {
	if _, _, err := s.r.object(h); err != nil {
		return plumbing.ErrObjectNotFound
	}
	return nil
}
