// Package sqlite is the embedded ginflix.Store: one SQLite file in the
// data directory (modernc.org/sqlite, pure Go), with FTS5 for search.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ginflix/ginflix"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

var _ ginflix.Store = (*DB)(nil)

// DB is the SQLite store. Writes go through one connection, so SQLite
// never has to arbitrate between writers; reads use a pool in WAL mode.
type DB struct {
	write *sql.DB
	read  *sql.DB
	// stmts caches prepared catalogue queries: there are a few dozen
	// shapes, and preparing costs as much as running one.
	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt
	// wstmts caches the statements of the hot write paths (playback
	// events), prepared once on the single write connection.
	wstmts map[string]*sql.Stmt
	// The playback-events writer (RecordPlayback): started on first use,
	// stopped by Close.
	playbackOnce sync.Once
	playbackQ    chan *playbackReq
	closing      chan struct{}
	playbackDone chan struct{}
	// Now stamps records; tests replace it.
	Now func() time.Time
}

// Open opens (creating if needed) the database file at path and migrates it.
func Open(ctx context.Context, path string) (*DB, error) {
	dsn := func(extra ...string) string {
		q := url.Values{}
		// A large page cache and mmap keep reads of a hot catalogue off
		// the read(2) path: each pooled connection has its own cache.
		for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(NORMAL)",
			"cache_size(-65536)", "mmap_size(1073741824)", "temp_store(MEMORY)"} {
			q.Add("_pragma", p)
		}
		for i := 0; i+1 < len(extra); i += 2 {
			q.Add(extra[i], extra[i+1])
		}
		return "file:" + path + "?" + q.Encode()
	}
	write, err := sql.Open("sqlite", dsn("_txlock", "immediate"))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	db := &DB{write: write, Now: ginflix.Now, stmts: map[string]*sql.Stmt{}, wstmts: map[string]*sql.Stmt{},
		playbackQ: make(chan *playbackReq, 4*maxGroup), closing: make(chan struct{}), playbackDone: make(chan struct{})}
	if err := db.migrate(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", dsn("_pragma", "query_only(1)"))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	read.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)*2))
	read.SetMaxIdleConns(max(4, runtime.GOMAXPROCS(0)*2))
	db.read = read
	return db, nil
}

// migrate applies the embedded migrations newer than the file's
// user_version, each in its own transaction.
func (db *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	var version int
	if err := db.write.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if version > len(names) {
		return fmt.Errorf("the database is at schema version %d, newer than this binary knows (%d): upgrade ginflix", version, len(names))
	}
	for i := version; i < len(names); i++ {
		body, err := migrations.ReadFile(names[i])
		if err != nil {
			return err
		}
		tx, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("%s: %w", names[i], err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// Ping checks both pools answer.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return err
	}
	return db.write.PingContext(ctx)
}

// Close checkpoints the WAL and closes the file.
func (db *DB) Close() error {
	select {
	case <-db.closing:
		return nil // closed already
	default:
	}
	close(db.closing)
	started := true
	db.playbackOnce.Do(func() { started = false })
	if started {
		<-db.playbackDone // the group in progress is finished, not cut
	}
	db.stmtMu.Lock()
	for _, s := range db.stmts {
		s.Close()
	}
	for _, s := range db.wstmts {
		s.Close()
	}
	db.stmts, db.wstmts = map[string]*sql.Stmt{}, map[string]*sql.Stmt{}
	db.stmtMu.Unlock()
	return errors.Join(db.read.Close(), db.write.Close())
}

// readStmt returns the prepared read statement for query.
func (db *DB) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	if s, ok := db.stmts[query]; ok {
		return s, nil
	}
	s, err := db.read.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	db.stmts[query] = s
	return s, nil
}

// preparedTx is a write transaction whose ExecContext and QueryRowContext
// reuse statements prepared once per query text: parsing the SQL of every
// statement of every batch was a third of the playback-events write path.
// A query seen for the first time runs unprepared and is prepared after
// the transaction: the single write connection is the transaction's until
// then.
type preparedTx struct {
	*sql.Tx
	db     *DB
	missed *[]string
}

func (t preparedTx) stmt(ctx context.Context, query string) *sql.Stmt {
	t.db.stmtMu.Lock()
	s, ok := t.db.wstmts[query]
	t.db.stmtMu.Unlock()
	if !ok {
		*t.missed = append(*t.missed, query)
		return nil
	}
	return t.Tx.StmtContext(ctx, s)
}

func (t preparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := t.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

func (t preparedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := t.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}

// preparedTxDo runs fn in one write transaction with prepared statements.
func (db *DB) preparedTxDo(ctx context.Context, fn func(preparedTx) error) error {
	var missed []string
	err := db.tx(ctx, func(tx *sql.Tx) error { return fn(preparedTx{Tx: tx, db: db, missed: &missed}) })
	for _, q := range missed {
		s, perr := db.write.PrepareContext(ctx, q)
		if perr != nil {
			continue // it runs unprepared next time, and is tried again
		}
		db.stmtMu.Lock()
		if _, ok := db.wstmts[q]; ok {
			s.Close()
		} else {
			db.wstmts[q] = s
		}
		db.stmtMu.Unlock()
	}
	return err
}

// tx runs fn in one write transaction.
func (db *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func msPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func fromMSPtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func isUniqueViolation(err error) bool {
	var se *sqlite3.Error
	return errors.As(err, &se) && (se.Code() == sqlite3lib.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY)
}

func notFound(what, id string) error {
	return ginflix.Errorf(ginflix.ENOTFOUND, "No %s with id %q.", what, id)
}

// placeholders returns "?, ?, ..." for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
