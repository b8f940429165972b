package queue

import (
	"context"
	"errors"
)

// Journal is what the line needs of durable storage. The store package
// implements it; tests may use MemJournal.
//
// Both methods return only after the change is committed: the line applies a
// change in memory, and so lets anyone act on it, only after that.
type Journal interface {
	// Insert commits a new ticket with its join transition. It assigns the
	// ticket's ID, its Seq (the place in line, unique across processes sharing
	// the store) and Version 1, and the transition's Ticket and JournalID. If the ticket is an
	// active callback for a number that already has one in that queue, it
	// returns an error wrapping ErrDuplicate and commits nothing.
	Insert(ctx context.Context, t *Ticket, tr *Transition) error
	// Commit stores t's new values and the transition atomically, but only if
	// the stored ticket is still at t.Version (the version the change was
	// computed from) and in tr.From; otherwise it returns an error wrapping
	// ErrConflict and changes nothing (another process moved it). On success
	// it increments t.Version and sets tr.JournalID.
	Commit(ctx context.Context, t *Ticket, tr *Transition) error
}

var (
	// ErrDuplicate: the number already has an active callback in that queue.
	ErrDuplicate = errors.New("number already has an active callback in this queue")
	// ErrConflict: the stored ticket moved on since it was read.
	ErrConflict = errors.New("ticket changed in the store")
)
