package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/vhold/vhold/queue"
)

// Reads go to the pool, never through the writer: in WAL mode each one sees
// the last committed state without waiting for, or delaying, a batch. Anything
// Insert or Commit acknowledged is visible to a read started afterwards.

// activeQuery names the partial index because tickets are never deleted:
// without statistics the planner would scan the whole history, rowid order
// sparing it a sort, to find the few tickets still in line. The WHERE clause
// repeats the index's word for word so that the index is usable.
const activeQuery = "SELECT " + ticketColumns + " FROM tickets INDEXED BY tickets_active_by_queue WHERE " +
	activeCond + " ORDER BY id"

// Active returns every ticket that still holds a place or a call, by id. The
// line reloads these at start; it orders them itself.
func (s *Store) Active(ctx context.Context) ([]*queue.Ticket, error) {
	ts, err := s.queryTickets(ctx, activeQuery)
	if err != nil {
		return nil, fmt.Errorf("load active tickets: %w", err)
	}
	return ts, nil
}

// Ticket returns one ticket; an unknown id gives an error wrapping ErrNotFound.
func (s *Store) Ticket(ctx context.Context, id queue.TicketID) (*queue.Ticket, error) {
	row := s.rdb.QueryRowContext(ctx, "SELECT "+ticketColumns+" FROM tickets WHERE id = ?", int64(id))
	t, err := scanTicket(row)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load ticket %d: %w", id, err)
	}
	return t, nil
}

// Filter selects tickets; a zero field does not filter.
type Filter struct {
	Queue  string
	States []queue.State
	Kinds  []queue.Kind
	// Limit caps the number returned, from the lowest id; 0 means no cap.
	Limit int
}

// Tickets returns the tickets f selects, by id (the CLI's and the API's list).
func (s *Store) Tickets(ctx context.Context, f Filter) ([]*queue.Ticket, error) {
	var (
		q    strings.Builder
		args []any
	)
	q.WriteString("SELECT " + ticketColumns + " FROM tickets WHERE 1 = 1")
	if f.Queue != "" {
		q.WriteString(" AND queue = ?")
		args = append(args, f.Queue)
	}
	if len(f.States) > 0 {
		q.WriteString(" AND state IN (" + placeholders(len(f.States)) + ")")
		for _, st := range f.States {
			args = append(args, string(st))
		}
	}
	if len(f.Kinds) > 0 {
		q.WriteString(" AND kind IN (" + placeholders(len(f.Kinds)) + ")")
		for _, k := range f.Kinds {
			args = append(args, string(k))
		}
	}
	q.WriteString(" ORDER BY id")
	if f.Limit > 0 {
		q.WriteString(" LIMIT ?")
		args = append(args, f.Limit)
	}
	ts, err := s.queryTickets(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("list tickets: %w", err)
	}
	return ts, nil
}

func (s *Store) queryTickets(ctx context.Context, query string, args ...any) ([]*queue.Ticket, error) {
	rows, err := s.rdb.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ts []*queue.Ticket
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, rows.Err()
}

// JournalSince returns up to limit transitions with an id above afterID, by
// id; limit 0 means all. It is the change feed: a running server tails it to
// learn about tickets the CLI added or cancelled from another process, and
// because ids are assigned under the write lock and become visible in order,
// remembering the last id seen is enough to miss nothing.
func (s *Store) JournalSince(ctx context.Context, afterID int64, limit int) ([]queue.Transition, error) {
	q := "SELECT " + journalColumns + " FROM journal WHERE id > ? ORDER BY id"
	args := []any{afterID}
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	trs, err := s.queryJournal(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read journal after %d: %w", afterID, err)
	}
	return trs, nil
}

// JournalFilter selects journal rows; a zero field does not filter.
type JournalFilter struct {
	Ticket queue.TicketID
	// Limit caps the number returned, from the lowest id; 0 means no cap.
	Limit int
}

// Journal returns the transitions f selects, by id: a ticket's history for
// the board, the CLI and the tests' oracle.
func (s *Store) Journal(ctx context.Context, f JournalFilter) ([]queue.Transition, error) {
	q := "SELECT " + journalColumns + " FROM journal"
	var args []any
	if f.Ticket != 0 {
		q += " WHERE ticket = ?"
		args = append(args, int64(f.Ticket))
	}
	q += " ORDER BY id"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	trs, err := s.queryJournal(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	return trs, nil
}

func (s *Store) queryJournal(ctx context.Context, query string, args ...any) ([]queue.Transition, error) {
	rows, err := s.rdb.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var trs []queue.Transition
	for rows.Next() {
		tr, err := scanTransition(rows)
		if err != nil {
			return nil, err
		}
		trs = append(trs, tr)
	}
	return trs, rows.Err()
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// LastJournalID is the id of the newest journal row (0 for none): where a
// server that has just loaded the line starts following the change feed.
func (s *Store) LastJournalID(ctx context.Context) (int64, error) {
	var id int64
	if err := s.rdb.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM journal").Scan(&id); err != nil {
		return 0, fmt.Errorf("read the last journal id: %w", err)
	}
	return id, nil
}
