package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/vhold/vhold/queue"
)

func quietLog() logrus.FieldLogger {
	l := logrus.New()
	l.Out = io.Discard
	return l
}

// rawConn opens a connection with the store's own settings but no writer, for
// tests that drive the writer or the migrations by hand.
func rawConn(t *testing.T, path string) *sql.Conn {
	t.Helper()
	db, err := sql.Open("sqlite3", dsn(path, "NORMAL", 5*time.Second, false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// One batch, one transaction: the requests that fail are undone alone, the
// others commit, and each caller hears its own outcome.
func TestBatchOneFailsOthersCommit(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "batch.db")
	s := openAt(t, path, Options{})
	pending := mustInsert(t, s, newTicket("support", queue.Callback, "+15550100"))
	c := mustInsert(t, s, newTicket("support", queue.Live, ""))
	d := mustInsert(t, s, newTicket("support", queue.Live, ""))
	before, err := s.JournalSince(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}

	// Drive a writer by hand so the batch is exactly the one below.
	w, err := newWriter(ctx, rawConn(t, path), quietLog())
	if err != nil {
		t.Fatal(err)
	}
	req := func(o op, tk *queue.Ticket, tr *queue.Transition) *request {
		tr.Ticket = tk.ID
		return &request{ctx: ctx, op: o, t: *tk, tr: *tr, done: make(chan result, 1)}
	}
	x := newTicket("support", queue.Callback, "+15550200")
	dup := newTicket("support", queue.Callback, pending.Number)
	dupInBatch := newTicket("support", queue.Scheduled, x.Number) // duplicates x, inserted earlier in this batch
	staleC := c.Clone()
	staleC.State = queue.Waiting
	dNext := d.Clone()
	dNext.State = queue.Reserved
	ghost := newTicket("support", queue.Live, "")
	ghost.ID, ghost.State = 999, queue.Reserved
	cancelled, cancel := context.WithCancel(ctx)
	cancel()

	batch := []*request{
		req(opInsert, x, join(x)),
		req(opInsert, dup, join(dup)),
		req(opCommit, staleC, &queue.Transition{Event: queue.EvRelease, From: queue.Reserved, To: queue.Waiting}), // c is waiting
		req(opCommit, dNext, &queue.Transition{Event: queue.EvReserve, From: queue.Waiting, To: queue.Reserved, Actor: "dialer"}),
		req(opCommit, ghost, &queue.Transition{Event: queue.EvReserve, From: queue.Waiting, To: queue.Reserved}),
		req(opInsert, dupInBatch, join(dupInBatch)),
		{ctx: cancelled, op: opInsert, t: *newTicket("support", queue.Live, ""), tr: queue.Transition{Event: queue.EvJoin, To: queue.Waiting}, done: make(chan result, 1)},
	}
	w.runBatch(batch)
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	if n := w.batches.Load(); n != 1 {
		t.Fatalf("ran %d transactions, want 1", n)
	}

	wantErr := []error{nil, queue.ErrDuplicate, queue.ErrConflict, nil, ErrNotFound, queue.ErrDuplicate, context.Canceled}
	results := make([]result, len(batch))
	for i, r := range batch {
		results[i] = <-r.done
		if wantErr[i] == nil && results[i].err != nil || wantErr[i] != nil && !errors.Is(results[i].err, wantErr[i]) {
			t.Errorf("request %d: err = %v, want %v", i, results[i].err, wantErr[i])
		}
	}

	after, err := s.JournalSince(ctx, before[len(before)-1].JournalID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != 2 ||
		after[0].JournalID != results[0].journalID || after[0].Ticket != results[0].id || after[0].Event != queue.EvJoin ||
		after[1].JournalID != results[3].journalID || after[1].Ticket != d.ID || after[1].Event != queue.EvReserve {
		t.Errorf("journal rows written by the batch: %+v; want x's join and d's reserve", after)
	}
	all, err := s.Tickets(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 {
		t.Errorf("%d tickets stored, want the 3 before plus x", len(all))
	}
	if got, _ := s.Ticket(ctx, d.ID); got == nil || got.State != queue.Reserved {
		t.Errorf("d not reserved: %+v", got)
	}
	if got, _ := s.Ticket(ctx, results[0].id); got == nil || got.Seq != 4 || got.Number != x.Number {
		t.Errorf("x stored as %+v, want seq 4", got)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	s := openAt(t, path, Options{})
	s.Close()
	if _, err := rawConn(t, path).ExecContext(context.Background(), "PRAGMA user_version = 7"); err != nil {
		t.Fatal(err)
	}

	_, err := Open(context.Background(), path, Options{})
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open: err = %v, want ErrNewerSchema", err)
	}
	ms, _ := loadMigrations(migrationFiles)
	want := fmt.Sprintf("store %s: schema version 7 is newer than this vhold understands (%d); upgrade vhold", path, len(ms))
	if err.Error() != want {
		t.Errorf("error:\n got %q\nwant %q", err, want)
	}
}

func TestReopenAppliesNothingTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "re.db")
	applied := func() int {
		t.Helper()
		log, hook := logtest.NewNullLogger()
		s, err := Open(context.Background(), path, Options{Log: log})
		if err != nil {
			t.Fatal(err)
		}
		mustInsert(t, s, newTicket("support", queue.Live, ""))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range hook.AllEntries() {
			if e.Message == "applied schema migration" {
				n++
			}
		}
		return n
	}
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	if n := applied(); n != len(ms) {
		t.Errorf("first open applied %d migrations, want %d", n, len(ms))
	}
	for range 2 {
		if n := applied(); n != 0 {
			t.Errorf("reopen applied %d migrations, want 0", n)
		}
	}
	var v int
	if err := rawConn(t, path).QueryRowContext(context.Background(), "PRAGMA user_version").Scan(&v); err != nil || v != len(ms) {
		t.Errorf("user_version %d (%v), want %d", v, err, len(ms))
	}
}

func TestMigrationSteps(t *testing.T) {
	ctx := context.Background()
	conn := rawConn(t, filepath.Join(t.TempDir(), "m.db"))
	fsys := fstest.MapFS{
		"migrations/0001_a.sql": {Data: []byte("CREATE TABLE a (x INTEGER);")},
		"migrations/0002_b.sql": {Data: []byte("CREATE TABLE b (x INTEGER); INSERT INTO a VALUES (1);")},
	}
	step := func(want int) {
		t.Helper()
		ms, err := loadMigrations(fsys)
		if err != nil {
			t.Fatal(err)
		}
		if err := migrate(ctx, conn, ms, quietLog()); err != nil {
			t.Fatal(err)
		}
		if v, _ := userVersion(ctx, conn); v != want {
			t.Errorf("user_version %d, want %d", v, want)
		}
	}
	step(2)
	fsys["migrations/0003_c.sql"] = &fstest.MapFile{Data: []byte("INSERT INTO a VALUES (3);")}
	step(3)
	step(3)
	var sum int
	if err := conn.QueryRowContext(ctx, "SELECT SUM(x) FROM a").Scan(&sum); err != nil || sum != 4 {
		t.Errorf("rows of a sum to %d (%v), want 4: a migration ran twice or not at all", sum, err)
	}

	// A failing migration leaves the previous schema and version.
	fsys["migrations/0004_bad.sql"] = &fstest.MapFile{Data: []byte("INSERT INTO a VALUES (4); CREATE TABLE a (y);")}
	ms, err := loadMigrations(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, conn, ms, quietLog()); err == nil {
		t.Fatal("bad migration applied")
	}
	if v, _ := userVersion(ctx, conn); v != 3 {
		t.Errorf("after failed migration user_version %d, want 3", v)
	}
	if err := conn.QueryRowContext(ctx, "SELECT SUM(x) FROM a").Scan(&sum); err != nil || sum != 4 {
		t.Errorf("failed migration left its rows: sum %d (%v)", sum, err)
	}
}

func TestMigrationNamesChecked(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"gap":       {"migrations/0001_a.sql": {}, "migrations/0003_c.sql": {}},
		"duplicate": {"migrations/0001_a.sql": {}, "migrations/1_b.sql": {}},
		"bad name":  {"migrations/init.sql": {}},
		"zero":      {"migrations/0000_a.sql": {}},
	} {
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := loadMigrations(migrationFiles); err != nil {
		t.Errorf("embedded migrations: %v", err)
	}
}

// The settings must hold on every connection the pools open, not only the
// first: a connection opened later without busy_timeout would fail at the
// first contention, and without foreign_keys would accept orphans.
func TestSettingsOnEveryConnection(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []struct {
		opt  Options
		sync int
	}{{Options{}, 1}, {Options{Synchronous: "full", BusyTimeout: 1500 * time.Millisecond}, 2}} {
		s := openAt(t, filepath.Join(t.TempDir(), "p.db"), mode.opt)
		busy := mode.opt.BusyTimeout.Milliseconds()
		if busy == 0 {
			busy = 5000
		}
		check := func(what string, conn *sql.Conn, queryOnly int) {
			t.Helper()
			want := map[string]string{
				"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": fmt.Sprint(busy),
				"synchronous": fmt.Sprint(mode.sync), "query_only": fmt.Sprint(queryOnly),
			}
			for pragma, v := range want {
				var got string
				if err := conn.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != v {
					t.Errorf("%s: PRAGMA %s = %s, want %s", what, pragma, got, v)
				}
			}
		}
		// Hold several read connections at once so the pool must open new ones.
		var conns []*sql.Conn
		for i := range 4 {
			conn, err := s.rdb.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, conn)
			check(fmt.Sprintf("read connection %d", i), conn, 1)
		}
		for _, c := range conns {
			c.Close()
		}
		// The write connection belongs to the writer goroutine, which is idle
		// here (nothing submitted), and *sql.Conn serialises its users.
		check("write connection", s.w.conn, 0)
	}
}

func TestReadPoolCannotWrite(t *testing.T) {
	s := openTest(t)
	if _, err := s.rdb.ExecContext(context.Background(), "DELETE FROM journal"); err == nil {
		t.Error("read pool accepted a write")
	}
}

func TestActiveCondMatchesQueue(t *testing.T) {
	all := []queue.State{queue.Waiting, queue.Reserved, queue.Dialing, queue.Connected,
		queue.Completed, queue.Abandoned, queue.Cancelled, queue.Failed, queue.Expired}
	for _, st := range all {
		if excluded := strings.Contains(activeCond, "state <> '"+string(st)+"'"); excluded != st.Final() {
			t.Errorf("state %s: excluded by activeCond %v, Final() %v", st, excluded, st.Final())
		}
	}
	body, err := migrationFiles.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(body), activeCond); n != 2 {
		t.Errorf("0001_init.sql spells activeCond %d times, want 2 (both partial indexes)", n)
	}

	// Active must be answered from the partial index, not a scan of history.
	s := openTest(t)
	var id, parent, unused int
	var detail string
	err = s.rdb.QueryRowContext(context.Background(), "EXPLAIN QUERY PLAN "+activeQuery).Scan(&id, &parent, &unused, &detail)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(detail, "USING INDEX tickets_active_by_queue") {
		t.Errorf("Active's plan: %s", detail)
	}
}

// Closing while callers wait: every caller gets an answer, and whatever was
// acknowledged is stored.
func TestCloseUnderLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "close.db")
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		id  queue.TicketID
		err error
	}
	out := make(chan outcome, 400)
	for range 8 {
		go func() {
			for range 50 {
				tk := newTicket("support", queue.Live, "")
				err := s.Insert(context.Background(), tk, join(tk))
				out <- outcome{tk.ID, err}
			}
		}()
	}
	var acked []queue.TicketID
	for i := range 400 {
		if i == 20 { // close mid-stream, with callers still queued
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
		o := <-out
		switch {
		case o.err == nil:
			acked = append(acked, o.id)
		case !errors.Is(o.err, ErrClosed):
			t.Errorf("insert during close: %v", o.err)
		}
	}
	s2 := openAt(t, path, Options{})
	for _, id := range acked {
		if _, err := s2.Ticket(context.Background(), id); err != nil {
			t.Errorf("acknowledged ticket lost: %v", err)
		}
	}
}
