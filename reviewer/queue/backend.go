package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// riverClient is the part of *river.Client[TTx] the Queue uses; it does not
// depend on the transaction type, so one Queue serves both drivers.
type riverClient interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	JobCancel(ctx context.Context, jobID int64) (*rivertype.JobRow, error)
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
}

// backend is River on one database.
type backend struct {
	kind   string // "sqlite" or "postgres"
	client riverClient

	migrate  func(ctx context.Context) ([]int, error)
	validate func(ctx context.Context) error
	ping     func(ctx context.Context) error
	// depth counts unfinished jobs by kind and state; depthAll counts all.
	depth, depthAll func(ctx context.Context) ([]depthRow, error)
	// lock, when set, takes the database's single-worker lock.
	lock          func() (unlock func(), err error)
	rescueOrphans func(ctx context.Context) (int, error)
	close         func()
	// inTx runs fn in one transaction, with River's list and cancel
	// operations bound to it, and commits.
	inTx func(ctx context.Context, fn func(tx txOps) error) error
}

// txOps are River's operations inside one transaction.
type txOps struct {
	insertMany func(params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	list       func(params *river.JobListParams) (*river.JobListResult, error)
	get        func(id int64) (*rivertype.JobRow, error)
	cancel     func(id int64) error
}

// SQLitePath returns the SQLite file a database setting names, or "" for
// PostgreSQL.
func SQLitePath(database, dataDir string) string {
	switch {
	case database == "":
		return filepath.Join(dataDir, "fiveaxis.db")
	case strings.HasPrefix(database, "sqlite://"):
		return strings.TrimPrefix(database, "sqlite://")
	case strings.HasPrefix(database, "sqlite:"):
		return strings.TrimPrefix(database, "sqlite:")
	default:
		return ""
	}
}

func openBackend(ctx context.Context, o Options, cfg *river.Config) (*backend, error) {
	if path := SQLitePath(o.Database, o.DataDir); path != "" {
		return openSQLite(ctx, path, cfg)
	}
	if strings.HasPrefix(o.Database, "postgres://") || strings.HasPrefix(o.Database, "postgresql://") {
		return openPostgres(ctx, o, cfg)
	}
	return nil, fmt.Errorf("queue: database: want a postgres:// URL, sqlite://PATH or empty")
}

// sqliteDSN opens a file in WAL mode with a busy timeout. synchronous=FULL
// makes each committed insert survive a power loss, not only a crash.
func sqliteDSN(path string) string {
	return "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
		"&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate"
}

func openSQLite(ctx context.Context, path string, cfg *river.Config) (*backend, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	db, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		return nil, fmt.Errorf("queue: open %s: %w", path, err)
	}
	// SQLite runs one statement at a time; River's driver wants one
	// connection to avoid SQLITE_BUSY between its own goroutines.
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("queue: open %s: %w", path, err)
	}
	be, err := newBackend(riversqlite.New(db), cfg, "")
	if err != nil {
		db.Close()
		return nil, err
	}
	be.kind = "sqlite"
	be.ping = db.PingContext
	be.depth = func(ctx context.Context) ([]depthRow, error) { return sqlDepth(ctx, db, true) }
	be.depthAll = func(ctx context.Context) ([]depthRow, error) { return sqlDepth(ctx, db, false) }
	be.lock = func() (func(), error) { return lockFile(path + ".lock") }
	be.close = func() { db.Close() }
	return be, nil
}

func sqlDepth(ctx context.Context, db *sql.DB, unfinished bool) ([]depthRow, error) {
	q := "SELECT kind, state, count(*) FROM river_job"
	if unfinished {
		q += " WHERE state NOT IN ('completed', 'cancelled', 'discarded')"
	}
	rows, err := db.QueryContext(ctx, q+" GROUP BY kind, state")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []depthRow
	for rows.Next() {
		var r depthRow
		if err := rows.Scan(&r.Kind, &r.State, &r.N); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func openPostgres(ctx context.Context, o Options, cfg *river.Config) (*backend, error) {
	pc, err := pgxpool.ParseConfig(o.Database)
	if err != nil {
		return nil, fmt.Errorf("queue: database URL: %w", err)
	}
	// Workers, River's producer, notifier, elector and completer, and the
	// webhook receiver's inserts share the pool.
	pc.MaxConns = int32(max(10, o.Concurrency+6))
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("queue: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("queue: connect %s: %w", pc.ConnConfig.Host, err)
	}
	cfg.Schema = o.Schema
	be, err := newBackend(riverpgxv5.New(pool), cfg, o.Schema)
	if err != nil {
		pool.Close()
		return nil, err
	}
	table := "river_job"
	if o.Schema != "" {
		table = pgx.Identifier{o.Schema, "river_job"}.Sanitize()
	}
	depth := func(unfinished bool) func(ctx context.Context) ([]depthRow, error) {
		return func(ctx context.Context) ([]depthRow, error) {
			q := "SELECT kind, state::text, count(*) FROM " + table
			if unfinished {
				q += " WHERE state NOT IN ('completed', 'cancelled', 'discarded')"
			}
			rows, err := pool.Query(ctx, q+" GROUP BY kind, state")
			if err != nil {
				return nil, err
			}
			return pgx.CollectRows(rows, func(r pgx.CollectableRow) (depthRow, error) {
				var d depthRow
				err := r.Scan(&d.Kind, &d.State, &d.N)
				return d, err
			})
		}
	}
	be.kind = "postgres"
	be.ping = pool.Ping
	be.depth = depth(true)
	be.depthAll = depth(false)
	be.close = pool.Close
	return be, nil
}

// newBackend builds the River client and migrator for one driver.
func newBackend[TTx any](driver riverdriver.Driver[TTx], cfg *river.Config, schema string) (*backend, error) {
	client, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, fmt.Errorf("queue: river client: %w", err)
	}
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Schema: schema, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("queue: river migrator: %w", err)
	}
	be := &backend{client: client}
	be.migrate = func(ctx context.Context) ([]int, error) {
		res, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
		if err != nil {
			return nil, err
		}
		var v []int
		for _, m := range res.Versions {
			v = append(v, m.Version)
		}
		return v, nil
	}
	be.validate = func(ctx context.Context) error {
		res, err := migrator.Validate(ctx, nil)
		if err != nil {
			return fmt.Errorf("check migrations: %w", err)
		}
		if !res.OK {
			return fmt.Errorf("migrations not applied (run `fiveaxis migrate`): %s", strings.Join(res.Messages, "; "))
		}
		return nil
	}
	be.inTx = func(ctx context.Context, fn func(tx txOps) error) error {
		execTx, err := driver.GetExecutor().Begin(ctx)
		if err != nil {
			return err
		}
		tx := driver.UnwrapTx(execTx)
		ops := txOps{
			insertMany: func(p []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
				return client.InsertManyTx(ctx, tx, p)
			},
			list: func(p *river.JobListParams) (*river.JobListResult, error) { return client.JobListTx(ctx, tx, p) },
			get:  func(id int64) (*rivertype.JobRow, error) { return client.JobGetTx(ctx, tx, id) },
			cancel: func(id int64) error {
				_, err := client.JobCancelTx(ctx, tx, id)
				if errors.Is(err, river.ErrNotFound) {
					return nil
				}
				return err
			},
		}
		if err := fn(ops); err != nil {
			_ = execTx.Rollback(ctx)
			return err
		}
		return execTx.Commit(ctx)
	}
	be.rescueOrphans = func(ctx context.Context) (int, error) {
		return rescueOrphans(ctx, client, driver.GetExecutor(), schema)
	}
	return be, nil
}

// rescueOrphans makes jobs left "running" by a dead process available now,
// using River's own rescue operation. Only call it while no worker of this
// database runs (SQLite, under its lock file, before Start).
func rescueOrphans[TTx any](ctx context.Context, client *river.Client[TTx], exec riverdriver.Executor, schema string) (int, error) {
	res, err := client.JobList(ctx, river.NewJobListParams().States(rivertype.JobStateRunning).First(10000))
	if err != nil {
		return 0, err
	}
	if len(res.Jobs) == 0 {
		return 0, nil
	}
	now := time.Now().UTC()
	p := &riverdriver.JobRescueManyParams{Schema: schema, StuckHorizon: now.Add(time.Second)}
	for _, j := range res.Jobs {
		errData, err := jsonMarshal(rivertype.AttemptError{At: now, Attempt: max(j.Attempt, 0),
			Error: "job left running by a process that stopped; rescued at start"})
		if err != nil {
			return 0, err
		}
		state, finalized := rivertype.JobStateAvailable, (*time.Time)(nil)
		if j.Attempt >= j.MaxAttempts {
			state, finalized = rivertype.JobStateDiscarded, &now
		}
		p.ID = append(p.ID, j.ID)
		p.Error = append(p.Error, errData)
		p.FinalizedAt = append(p.FinalizedAt, finalized)
		p.ScheduledAt = append(p.ScheduledAt, now)
		p.State = append(p.State, string(state))
	}
	if _, err := exec.JobRescueMany(ctx, p); err != nil {
		return 0, err
	}
	return len(res.Jobs), nil
}

var errLocked = errors.New("queue: another process runs workers on this SQLite database; use PostgreSQL to run several")
