package gitops

import (
	"bytes"
	"container/list"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// packReader reads objects straight from the pack files, for the diffs.
// go-git's object storage serves one caller at a time and computes the
// SHA-1 of every object it decodes from a pack (to key its cache); this
// reader serves several goroutines at once, each with its own file handle,
// and caches inflated objects by pack offset. Objects that are not in a
// pack (loose objects) are left to go-git.
type packReader struct {
	packs []*packData
	cache *objectCache
}

// packData is one pack file and its index.
type packData struct {
	path string
	idx  *idxfile.MemoryIndex

	mu   sync.Mutex
	free []*packHandle // idle handles
	all  []*packHandle
}

type packHandle struct {
	f *os.File
	s *packfile.Scanner
}

// loadPackReader reads the pack indexes of the git directory dotgit.
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
			return nil, err
		}
		idx := idxfile.NewMemoryIndex()
		err = idxfile.NewDecoder(f).Decode(idx)
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("pack index %s: %w", name, err)
		}
		pr.packs = append(pr.packs, &packData{path: dotgit.Join(dotgit.Root(), dir, packName), idx: idx})
	}
	return pr, nil
}

func (pr *packReader) close() {
	for _, p := range pr.packs {
		p.mu.Lock()
		for _, h := range p.all {
			_ = h.f.Close()
		}
		p.all, p.free = nil, nil
		p.mu.Unlock()
	}
}

func (p *packData) handle() (*packHandle, error) {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		h := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return h, nil
	}
	p.mu.Unlock()
	f, err := os.Open(p.path)
	if err != nil {
		return nil, err
	}
	h := &packHandle{f: f, s: packfile.NewScanner(f)}
	p.mu.Lock()
	p.all = append(p.all, h)
	p.mu.Unlock()
	return h, nil
}

func (p *packData) release(h *packHandle) {
	p.mu.Lock()
	p.free = append(p.free, h)
	p.mu.Unlock()
}

// errNotInPack means the object is in no pack file.
var errNotInPack = errors.New("object not in a pack")

// read returns the type and content of object h.
func (pr *packReader) read(h plumbing.Hash) (plumbing.ObjectType, []byte, error) {
	for i, p := range pr.packs {
		off, err := p.idx.FindOffset(h)
		if err != nil {
			continue
		}
		return pr.readAt(i, off, 0)
	}
	return plumbing.InvalidObject, nil, errNotInPack
}

// maxDeltaDepth guards against delta cycles in a corrupt pack.
const maxDeltaDepth = 10000

// readAt returns the object at offset off of pack i, resolving deltas.
func (pr *packReader) readAt(i int, off int64, depth int) (plumbing.ObjectType, []byte, error) {
	key := cacheKey{pack: i, off: off}
	if t, data, ok := pr.cache.get(key); ok {
		return t, data, nil
	}
	if depth > maxDeltaDepth {
		return plumbing.InvalidObject, nil, fmt.Errorf("pack object at %d: delta chain too deep", off)
	}
	p := pr.packs[i]
	hd, err := p.handle()
	if err != nil {
		return plumbing.InvalidObject, nil, err
	}
	hdr, err := hd.s.SeekObjectHeader(off)
	if err != nil {
		p.release(hd)
		return plumbing.InvalidObject, nil, fmt.Errorf("pack object at %d: %w", off, err)
	}
	var buf bytes.Buffer
	buf.Grow(int(min(hdr.Length, 1<<26)))
	_, _, err = hd.s.NextObject(&buf)
	p.release(hd)
	if err != nil {
		return plumbing.InvalidObject, nil, fmt.Errorf("pack object at %d: %w", off, err)
	}
	var (
		typ  plumbing.ObjectType
		data []byte
	)
	switch hdr.Type {
	case plumbing.OFSDeltaObject:
		bt, base, err := pr.readAt(i, hdr.OffsetReference, depth+1)
		if err != nil {
			return plumbing.InvalidObject, nil, err
		}
		if data, err = packfile.PatchDelta(base, buf.Bytes()); err != nil {
			return plumbing.InvalidObject, nil, fmt.Errorf("pack object at %d: %w", off, err)
		}
		typ = bt
	case plumbing.REFDeltaObject:
		bt, base, err := pr.read(hdr.Reference)
		if err != nil {
			return plumbing.InvalidObject, nil, err
		}
		if data, err = packfile.PatchDelta(base, buf.Bytes()); err != nil {
			return plumbing.InvalidObject, nil, fmt.Errorf("pack object at %d: %w", off, err)
		}
		typ = bt
	default:
		typ, data = hdr.Type, buf.Bytes()
	}
	pr.cache.put(key, typ, data)
	return typ, data, nil
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

// fastStorer serves go-git's tree diff and rename detection from the pack
// reader; writes and iteration go to the real storage.
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
