package llm

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// Entry is one cached result: the model's findings for one chunk of the diff
// on one axis, or a marker that the chunk was left out of an earlier review
// for lack of budget (Deferred). A deferred chunk is not sent again on a
// later push unless it changes: incremental reviews send only what changed.
type Entry struct {
	Deferred bool           `json:"deferred,omitempty"`
	Findings []ModelFinding `json:"findings"`
}

// Store caches Entries by key. Keys are made by cacheKey from the prompt
// version, the model, the axis and a hash of the chunk (hunks and context).
// Implementations must be safe for concurrent use.
type Store interface {
	// Get returns the entry under key; ok is false when there is none.
	Get(ctx context.Context, key string) (e Entry, ok bool, err error)
	// Put stores e under key, replacing any earlier entry.
	Put(ctx context.Context, key string, e Entry) error
}

// MemoryStore is a Store in memory, for tests and one-shot `fiveaxis review`
// runs without a data directory.
type MemoryStore struct {
	mu sync.Mutex
	m  map[string]Entry
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{m: map[string]Entry{}} }

// Get implements Store.
func (s *MemoryStore) Get(_ context.Context, key string) (Entry, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	return e, ok, nil
}

// Put implements Store.
func (s *MemoryStore) Put(_ context.Context, key string, e Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = e
	return nil
}

// Len returns the number of entries.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// SQLiteStore is a Store in one SQLite table (llm_cache), through the pure-Go
// modernc.org/sqlite driver. The file usually lives in the data directory.
type SQLiteStore struct {
	db *sql.DB
}

var _ Store = (*SQLiteStore)(nil)

// OpenSQLiteStore opens (creating if needed) the cache database at path.
func OpenSQLiteStore(path string) (*SQLiteStore, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, fmt.Errorf("open llm cache %s: %w", path, err)
	}
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS llm_cache (
		key        TEXT PRIMARY KEY,
		entry      BLOB NOT NULL,
		created_at INTEGER NOT NULL
	)`); err != nil {
		db.Close()
		return nil, fmt.Errorf("create llm cache table in %s: %w", path, err)
	}
	return &SQLiteStore{db: db}, nil
}

// Close closes the database.
func (s *SQLiteStore) Close() error { return s.db.Close() }

// Get implements Store.
func (s *SQLiteStore) Get(ctx context.Context, key string) (Entry, bool, error) {
	var data []byte
	err := s.db.QueryRowContext(ctx, `SELECT entry FROM llm_cache WHERE key = ?`, key).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("llm cache get: %w", err)
	}
	var e Entry
	if err := json.Unmarshal(data, &e); err != nil {
		return Entry{}, false, fmt.Errorf("llm cache entry %s: %w", key, err)
	}
	return e, true, nil
}

// Put implements Store.
func (s *SQLiteStore) Put(ctx context.Context, key string, e Entry) error {
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO llm_cache (key, entry, created_at) VALUES (?, ?, ?)
		ON CONFLICT(key) DO UPDATE SET entry = excluded.entry, created_at = excluded.created_at`,
		key, data, time.Now().Unix())
	if err != nil {
		return fmt.Errorf("llm cache put: %w", err)
	}
	return nil
}
