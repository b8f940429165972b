package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/queue"
)

// maxBatch bounds one group commit so that a burst cannot hold the write lock
// (and keep the CLI in another process waiting) for an unbounded time.
const maxBatch = 256

type op int

const (
	opInsert op = iota
	opCommit
	// opProbe writes nothing: it goes through a group commit like any
	// change, which proves the writer is alive and can take SQLite's write
	// lock and commit (Writable).
	opProbe
)

// request is one Insert or Commit on its way through the writer. It carries
// copies of the caller's ticket and transition: the writer never touches the
// caller's structs, and the caller writes the results back itself once it
// knows they are committed.
type request struct {
	ctx  context.Context
	op   op
	t    queue.Ticket
	tr   queue.Transition
	done chan result // buffered: the writer never waits for a caller
}

type result struct {
	id        queue.TicketID
	seq       int64
	journalID int64
	err       error
	// batch is how many requests the group commit that committed this one
	// held (for Options.CommitObserved).
	batch int
}

var _ queue.Journal = (*Store)(nil)

// Insert implements queue.Journal. Once the writer has taken the request,
// Insert waits for its outcome even if ctx ends meanwhile, so an error from
// ctx always means nothing was committed and success always means it was;
// the caller never has to guess. tr must lead from "" to t.State: the journal
// is the audit trail, and a join row that disagrees with the ticket would be
// believed.
func (s *Store) Insert(ctx context.Context, t *queue.Ticket, tr *queue.Transition) error {
	if tr.From != "" || tr.To != t.State {
		return fmt.Errorf("insert %s ticket in queue %s: join transition %q→%q does not lead to the ticket's state %q",
			t.Kind, t.Queue, tr.From, tr.To, t.State)
	}
	res := s.submit(ctx, opInsert, t, tr)
	if res.err != nil {
		return fmt.Errorf("insert %s ticket in queue %s: %w", t.Kind, t.Queue, res.err)
	}
	t.ID, t.Seq, t.Version = res.id, res.seq, 1
	tr.Ticket, tr.JournalID = res.id, res.journalID
	return nil
}

// Commit implements queue.Journal; see Insert for what ctx means. A ticket
// that does not exist gives an error wrapping ErrNotFound rather than
// queue.ErrConflict, since re-reading it would not help. Queue, Seq and
// JoinedAt are not written: they fix the ticket's place in line, which no
// transition may change.
func (s *Store) Commit(ctx context.Context, t *queue.Ticket, tr *queue.Transition) error {
	switch {
	case tr.Ticket != 0 && tr.Ticket != t.ID:
		return fmt.Errorf("commit %s of ticket %d: transition is for ticket %d", tr.Event, t.ID, tr.Ticket)
	case tr.From == "":
		return fmt.Errorf("commit %s of ticket %d: no from-state (a join goes through Insert)", tr.Event, t.ID)
	case tr.To != t.State:
		return fmt.Errorf("commit %s of ticket %d: transition leads to %q but the ticket is %q", tr.Event, t.ID, tr.To, t.State)
	}
	res := s.submit(ctx, opCommit, t, tr)
	if res.err != nil {
		return fmt.Errorf("commit %s of ticket %d: %w", tr.Event, t.ID, res.err)
	}
	tr.Ticket, tr.JournalID = t.ID, res.journalID
	t.Version++
	return nil
}

func (s *Store) submit(ctx context.Context, o op, t *queue.Ticket, tr *queue.Transition) result {
	start := time.Now()
	r := &request{ctx: ctx, op: o, t: *t, tr: *tr, done: make(chan result, 1)}
	if r.tr.Ticket == 0 {
		r.tr.Ticket = t.ID
	}
	select {
	case s.reqs <- r:
	case <-ctx.Done():
		return result{err: ctx.Err()}
	case <-s.quit:
		return result{err: ErrClosed}
	}
	// The writer answers every request it took, within one batch (bounded by
	// maxBatch and the busy timeout), even while closing.
	res := <-r.done
	if res.err == nil && s.observe != nil && o != opProbe {
		s.observe(time.Since(start), res.batch)
	}
	return res
}

// writer owns the single write connection. Only its goroutine uses conn and
// the statements, so it needs no lock; SQLite allows one writer per file
// anyway, and one connection lets the group commit share one transaction.
type writer struct {
	conn *sql.Conn
	log  logrus.FieldLogger

	begin, commit, rollback             *sql.Stmt
	savepoint, release, rollbackToSaved *sql.Stmt
	insertTicket, updateTicket          *sql.Stmt
	stateOf, insertJournal              *sql.Stmt

	// batches and requests count what the writer committed or refused, for
	// the log at Close and the benchmarks' batch size.
	batches, requests atomic.Int64
}

func newWriter(ctx context.Context, conn *sql.Conn, log logrus.FieldLogger) (*writer, error) {
	w := &writer{conn: conn, log: log}
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		// IMMEDIATE takes the write lock at BEGIN. A deferred transaction
		// would read MAX(seq) under a read snapshot and then fail with
		// SQLITE_BUSY, which no busy timeout retries, when another process
		// wrote in between.
		{&w.begin, "BEGIN IMMEDIATE"},
		{&w.commit, "COMMIT"},
		{&w.rollback, "ROLLBACK"},
		{&w.savepoint, "SAVEPOINT request"},
		{&w.release, "RELEASE request"},
		{&w.rollbackToSaved, "ROLLBACK TO request"},
		{&w.insertTicket, insertTicketSQL},
		{&w.updateTicket, updateTicketSQL},
		{&w.stateOf, "SELECT state, version FROM tickets WHERE id = ?"},
		{&w.insertJournal, insertJournalSQL},
	} {
		st, err := conn.PrepareContext(ctx, p.query)
		if err != nil {
			w.close()
			first, _, _ := strings.Cut(p.query, "\n")
			return nil, fmt.Errorf("prepare %q: %w", first, err)
		}
		*p.stmt = st
	}
	return w, nil
}

// close releases the statements and gives the connection back to its pool;
// only after the loop has returned.
func (w *writer) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{w.begin, w.commit, w.rollback, w.savepoint, w.release, w.rollbackToSaved,
		w.insertTicket, w.updateTicket, w.stateOf, w.insertJournal} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	errs = append(errs, w.conn.Close())
	return errors.Join(errs...)
}

// loop takes the first request, then every other one already waiting, and
// commits them together. While a batch commits (or fsyncs), new requests
// queue up behind it and form the next batch, so the batch size follows the
// load without any timer.
func (w *writer) loop(reqs <-chan *request, quit <-chan struct{}) {
	batch := make([]*request, 0, maxBatch)
	for {
		select {
		case r := <-reqs:
			batch = append(batch[:0], r)
		case <-quit:
			return
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case r := <-reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		w.runBatch(batch)
		clear(batch)
	}
}

// runBatch commits batch in one transaction and answers every request, only
// after COMMIT returned: nobody acts on a change that is not yet durable.
func (w *writer) runBatch(batch []*request) {
	// The driver watches a cancellable context with a goroutine per
	// statement; the writer's statements are bounded by the busy timeout
	// instead, so they run under Background.
	ctx := context.Background()

	// A caller whose ctx ended before its batch began gets ctx's error and
	// nothing of it is written: then the error is the whole truth.
	pending := make([]*request, 0, len(batch))
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- result{err: err}
			continue
		}
		pending = append(pending, r)
	}
	if len(pending) == 0 {
		return
	}
	w.batches.Add(1)
	w.requests.Add(int64(len(pending)))

	if _, err := w.begin.ExecContext(ctx); err != nil {
		w.failAll(pending, fmt.Errorf("begin: %w", err))
		return
	}
	results := make([]result, len(pending))
	for i, r := range pending {
		if _, err := w.savepoint.ExecContext(ctx); err != nil {
			w.abort(pending, fmt.Errorf("savepoint: %w", err))
			return
		}
		results[i] = w.apply(ctx, r)
		if results[i].err != nil {
			// Undo this request alone. If SQLite already rolled the whole
			// transaction back (I/O error, disk full), there is no savepoint
			// left and the batch fails as one.
			if _, err := w.rollbackToSaved.ExecContext(ctx); err != nil {
				w.abort(pending, fmt.Errorf("%w (and undoing it: %v)", results[i].err, err))
				return
			}
		}
		if _, err := w.release.ExecContext(ctx); err != nil {
			w.abort(pending, fmt.Errorf("release savepoint: %w", err))
			return
		}
	}
	if _, err := w.commit.ExecContext(ctx); err != nil {
		w.abort(pending, fmt.Errorf("commit: %w", err))
		return
	}
	for i, r := range pending {
		results[i].batch = len(pending)
		r.done <- results[i]
	}
}

// apply writes one request inside the open transaction.
func (w *writer) apply(ctx context.Context, r *request) result {
	switch r.op {
	case opInsert:
		r.t.Version = 1
		args := append([]any{r.t.Queue, nanos(r.t.JoinedAt)}, mutableArgs(&r.t)...)
		var res result
		if err := w.insertTicket.QueryRowContext(ctx, args...).Scan(&res.id, &res.seq); err != nil {
			return result{err: duplicateOr(err)}
		}
		jres, err := w.insertJournal.ExecContext(ctx, journalArgs(res.id, &r.tr)...)
		if err != nil {
			return result{err: err}
		}
		if res.journalID, err = jres.LastInsertId(); err != nil {
			return result{err: err}
		}
		return res

	case opCommit:
		read := r.t.Version
		r.t.Version++
		args := append(mutableArgs(&r.t), int64(r.t.ID), string(r.tr.From), read)
		ures, err := w.updateTicket.ExecContext(ctx, args...)
		if err != nil {
			return result{err: duplicateOr(err)}
		}
		if n, err := ures.RowsAffected(); err != nil {
			return result{err: err}
		} else if n == 0 {
			return result{err: w.whyNotUpdated(ctx, r)}
		}
		jres, err := w.insertJournal.ExecContext(ctx, journalArgs(r.t.ID, &r.tr)...)
		if err != nil {
			return result{err: err}
		}
		id, err := jres.LastInsertId()
		return result{journalID: id, err: err}

	case opProbe:
		return result{}
	}
	return result{err: fmt.Errorf("unknown store operation %d", r.op)}
}

// Writable reports whether the store can commit right now: a probe goes
// through the writer and a group commit (BEGIN IMMEDIATE … COMMIT) without
// changing anything. /readyz uses it: a store that can still be read but no
// longer written (a full disk, a lock held elsewhere) is not ready.
func (s *Store) Writable(ctx context.Context) error {
	if res := s.submit(ctx, opProbe, &queue.Ticket{}, &queue.Transition{}); res.err != nil {
		return fmt.Errorf("store %s is not writable: %w", s.path, res.err)
	}
	return nil
}

// whyNotUpdated tells a missing ticket from one that moved on, so the error
// says which state the caller was behind.
func (w *writer) whyNotUpdated(ctx context.Context, r *request) error {
	var (
		state   string
		version int64
	)
	err := w.stateOf.QueryRowContext(ctx, int64(r.t.ID)).Scan(&state, &version)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return err
	}
	return fmt.Errorf("%w: it is %s at version %d, not %s at version %d",
		queue.ErrConflict, state, version, r.tr.From, r.t.Version-1) // r.t.Version was bumped in apply
}

// duplicateOr turns a violation of tickets_one_active_callback into
// queue.ErrDuplicate; seq cannot collide inside the write lock, so the
// column names are what tells the two unique constraints apart.
func duplicateOr(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintUnique &&
		strings.Contains(se.Error(), "tickets.number") {
		return queue.ErrDuplicate
	}
	return err
}

// abort rolls back a batch that cannot go on and gives every request the
// error: none of them is committed.
func (w *writer) abort(batch []*request, err error) {
	// ROLLBACK fails harmlessly if SQLite already ended the transaction.
	_, _ = w.rollback.ExecContext(context.Background())
	w.failAll(batch, err)
}

func (w *writer) failAll(batch []*request, err error) {
	w.log.WithError(err).WithField("batch", len(batch)).Error("store batch failed; nothing in it was committed")
	for _, r := range batch {
		r.done <- result{err: err}
	}
}
