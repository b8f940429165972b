package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/sirupsen/logrus"
)

var (
	// ErrNotFound: no ticket with that id.
	ErrNotFound = errors.New("ticket not found")
	// ErrClosed: the store was closed before the change was handed to the writer;
	// nothing was committed.
	ErrClosed = errors.New("store closed")
	// ErrNewerSchema: the file was migrated by a newer vhold. Opening it anyway
	// would write rows that the newer schema's constraints or columns do not
	// expect, so it is refused until this vhold is upgraded.
	ErrNewerSchema = errors.New("schema is newer than this vhold understands")
)

// Options tune durability against speed; the zero value is the default.
type Options struct {
	// Synchronous is "normal" (default) or "full". In WAL mode "normal" keeps
	// every acknowledged change across a crash of the process, which is the
	// failure vhold must survive; "full" also keeps it across a power cut, at
	// the price of an fsync per commit (group commit shares that fsync among
	// the transitions committed together).
	Synchronous string
	// BusyTimeout is how long a connection waits for another process's write
	// lock before failing (default 5s). The CLI and the server share the file.
	BusyTimeout time.Duration
	// Log receives what the store has to say (migrations, failed batches).
	// Nil discards it.
	Log logrus.FieldLogger
	// CommitObserved, if set, is told of every committed Insert and Commit:
	// d from handing it to the writer to its acknowledgement (the wait for
	// the writer, the group commit and its fsync), and batch, how many
	// transitions that group commit held. It is called on the committing
	// caller's goroutine and must not block. Refused or failed requests are
	// not observed.
	CommitObserved func(d time.Duration, batch int)
}

// Store is the SQLite-backed queue.Journal plus the reads the server and the
// CLI need. It is safe for concurrent use.
type Store struct {
	path string
	log  logrus.FieldLogger

	// rdb is the read pool; its connections are query_only so that no read
	// path can ever write around the writer.
	rdb *sql.DB
	// wdb holds the single write connection, owned by the writer goroutine.
	wdb *sql.DB
	w   *writer
	// observe is Options.CommitObserved.
	observe func(d time.Duration, batch int)

	reqs chan *request
	quit chan struct{} // closed by Close
	done chan struct{} // closed when the writer goroutine has returned

	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed) the database at path, brings its schema up
// to date and starts the writer. path must name a file: every pooled
// connection has to see the same database, which ":memory:" would not give.
func Open(ctx context.Context, path string, opt Options) (*Store, error) {
	s, err := open(ctx, path, opt)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	return s, nil
}

func open(ctx context.Context, path string, opt Options) (*Store, error) {
	if path == "" || strings.HasPrefix(path, ":memory:") {
		return nil, errors.New("a database file path is required")
	}
	syncMode, err := synchronousMode(opt.Synchronous)
	if err != nil {
		return nil, err
	}
	if opt.BusyTimeout <= 0 {
		opt.BusyTimeout = 5 * time.Second
	}
	log := opt.Log
	if log == nil {
		l := logrus.New()
		l.Out = io.Discard
		log = l
	}
	log = log.WithField("db", path)

	migrations, err := loadMigrations(migrationFiles)
	if err != nil {
		return nil, err
	}

	wdb, err := sql.Open("sqlite3", dsn(path, syncMode, opt.BusyTimeout, false))
	if err != nil {
		return nil, err
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)

	conn, err := connect(ctx, wdb, opt.BusyTimeout)
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open write connection: %w", err)
	}
	fail := func(err error) (*Store, error) {
		conn.Close()
		wdb.Close()
		return nil, err
	}
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fail(fmt.Errorf("read journal mode: %w", err))
	}
	if !strings.EqualFold(mode, "wal") {
		// Without WAL, readers block the writer and the durability argument
		// for synchronous=normal no longer holds; better to refuse than to
		// run slower and less safe than documented.
		return fail(fmt.Errorf("journal_mode is %q, not wal (is the file on a network filesystem?)", mode))
	}
	if err := migrate(ctx, conn, migrations, log); err != nil {
		return fail(err)
	}
	w, err := newWriter(ctx, conn, log)
	if err != nil {
		return fail(err)
	}

	rdb, err := sql.Open("sqlite3", dsn(path, syncMode, opt.BusyTimeout, true))
	if err != nil {
		w.close()
		return fail(err)
	}
	n := max(4, runtime.NumCPU())
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)
	if err := rdb.PingContext(ctx); err != nil {
		rdb.Close()
		w.close()
		return fail(fmt.Errorf("open read connection: %w", err))
	}

	s := &Store{
		path:    path,
		log:     log,
		rdb:     rdb,
		wdb:     wdb,
		w:       w,
		observe: opt.CommitObserved,
		reqs:    make(chan *request),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		w.loop(s.reqs, s.quit)
	}()
	return s, nil
}

// Close stops the writer after the batch it is committing (whose callers are
// answered) and closes every connection. Calls waiting to be taken by the
// writer get ErrClosed. Close is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.quit)
		<-s.done
		s.log.WithFields(logrus.Fields{
			"batches":  s.w.batches.Load(),
			"requests": s.w.requests.Load(),
		}).Debug("store writer stopped")
		s.closeErr = errors.Join(s.w.close(), s.wdb.Close(), s.rdb.Close())
		if s.closeErr != nil {
			s.closeErr = fmt.Errorf("close store %s: %w", s.path, s.closeErr)
		}
	})
	return s.closeErr
}

// connect retries while another process is switching a new file to WAL: the
// switch takes an exclusive lock, and a connection opening meanwhile gets
// SQLITE_BUSY without the busy timeout being consulted. Only the first start
// on a new file can meet this (the server and the CLI launched together).
func connect(ctx context.Context, db *sql.DB, timeout time.Duration) (*sql.Conn, error) {
	deadline := time.Now().Add(timeout)
	delay := time.Millisecond
	for {
		conn, err := db.Conn(ctx)
		var se sqlite3.Error
		if err == nil || !errors.As(err, &se) || se.Code != sqlite3.ErrBusy || time.Now().After(deadline) {
			return conn, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

func synchronousMode(s string) (string, error) {
	switch strings.ToLower(s) {
	case "", "normal":
		return "NORMAL", nil
	case "full":
		return "FULL", nil
	}
	return "", fmt.Errorf("synchronous %q: want \"normal\" or \"full\"", s)
}

// dsn puts every setting in the DSN, not in one-off PRAGMAs, because the
// driver applies DSN settings to each connection it opens: a pool that opens a
// fresh connection later still gets busy_timeout and foreign_keys.
func dsn(path, syncMode string, busy time.Duration, readOnly bool) string {
	v := url.Values{}
	v.Set("_journal_mode", "WAL")
	v.Set("_busy_timeout", strconv.FormatInt(busy.Milliseconds(), 10))
	v.Set("_foreign_keys", "on")
	v.Set("_synchronous", syncMode)
	if readOnly {
		v.Set("_query_only", "on")
	}
	// A file: URI with the path escaped, because the driver splits a plain
	// DSN at its first '?', so a path containing one would open another file.
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	// Clean, because a path starting with "//" would read as a URI authority.
	return "file:" + esc.Replace(filepath.Clean(path)) + "?" + v.Encode()
}
