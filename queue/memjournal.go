package queue

import (
	"context"
	"fmt"
	"sync"
)

// MemJournal is an in-memory Journal with the store's rules (seq assignment,
// one active callback per number, compare-and-set commits). Tests, the demo
// and the simulator use it where durability is not the point.
type MemJournal struct {
	mu          sync.Mutex
	tickets     map[TicketID]*Ticket
	callbacks   map[numberKey]TicketID
	transitions []Transition
	// Fail, when set, is returned by the next Insert or Commit (and cleared):
	// tests use it to prove a failed commit leaves the line unchanged.
	Fail error
}

// NewMemJournal returns an empty in-memory journal.
func NewMemJournal() *MemJournal {
	return &MemJournal{tickets: map[TicketID]*Ticket{}, callbacks: map[numberKey]TicketID{}}
}

// index keeps the one-active-callback-per-number rule as the store's unique
// index does.
func (m *MemJournal) index(t *Ticket) {
	k := numberKey{t.Queue, t.Number}
	if t.Kind != Live && t.Number != "" && t.State.Active() {
		m.callbacks[k] = t.ID
	} else if id, ok := m.callbacks[k]; ok && id == t.ID {
		delete(m.callbacks, k)
	}
}

// Insert implements Journal.
func (m *MemJournal) Insert(_ context.Context, t *Ticket, tr *Transition) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.takeFail(); err != nil {
		return err
	}
	if _, dup := m.callbacks[numberKey{t.Queue, t.Number}]; dup && t.Kind != Live && t.Number != "" {
		return fmt.Errorf("insert %s callback for %s: %w", t.Queue, t.Number, ErrDuplicate)
	}
	t.ID, t.Version = TicketID(len(m.tickets)+1), 1
	t.Seq = int64(t.ID)
	tr.Ticket = t.ID
	tr.JournalID = int64(len(m.transitions) + 1)
	m.tickets[t.ID] = t.Clone()
	m.index(t)
	m.transitions = append(m.transitions, *tr)
	return nil
}

// Commit implements Journal.
func (m *MemJournal) Commit(_ context.Context, t *Ticket, tr *Transition) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.takeFail(); err != nil {
		return err
	}
	cur, ok := m.tickets[t.ID]
	if !ok || cur.State != tr.From || cur.Version != t.Version {
		return fmt.Errorf("commit %s of ticket %d: %w", tr.Event, t.ID, ErrConflict)
	}
	if t.Kind != Live && t.Number != "" && t.State.Active() {
		if id, dup := m.callbacks[numberKey{t.Queue, t.Number}]; dup && id != t.ID {
			return fmt.Errorf("commit %s of ticket %d: %w", tr.Event, t.ID, ErrDuplicate)
		}
	}
	tr.JournalID = int64(len(m.transitions) + 1)
	t.Version++
	if cur.Number != t.Number || cur.Kind != t.Kind {
		old := *cur
		old.State = Completed // drop the old key
		m.index(&old)
	}
	m.tickets[t.ID] = t.Clone()
	m.index(t)
	m.transitions = append(m.transitions, *tr)
	return nil
}

func (m *MemJournal) takeFail() error {
	err := m.Fail
	m.Fail = nil
	return err
}

// Transitions returns every committed transition in order (the test oracle).
func (m *MemJournal) Transitions() []Transition {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Transition(nil), m.transitions...)
}

// Stored returns the committed copy of a ticket.
func (m *MemJournal) Stored(id TicketID) (*Ticket, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tickets[id]
	if !ok {
		return nil, false
	}
	return t.Clone(), true
}

// Active returns the committed active tickets, as a store would at start.
func (m *MemJournal) Active() []*Ticket {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Ticket
	for _, t := range m.tickets {
		if t.State.Active() {
			out = append(out, t.Clone())
		}
	}
	return out
}
