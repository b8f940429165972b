package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vhold/vhold/queue"
)

// base is a UTC instant with nanoseconds, so a round trip that dropped either
// would show.
var base = time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC)

func openAt(t testing.TB, path string, opt Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func openTest(t testing.TB) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "vhold.db"), Options{})
}

// newTicket is a waiting ticket of kind k; number may be empty.
func newTicket(q string, k queue.Kind, number string) *queue.Ticket {
	return &queue.Ticket{Queue: q, Kind: k, State: queue.Waiting, Number: number, JoinedAt: base, UpdatedAt: base}
}

func join(t *queue.Ticket) *queue.Transition {
	return &queue.Transition{Event: queue.EvJoin, To: t.State, Actor: "test", At: t.JoinedAt}
}

func mustInsert(t testing.TB, s *Store, tk *queue.Ticket) *queue.Ticket {
	t.Helper()
	if err := s.Insert(context.Background(), tk, join(tk)); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	return tk
}

// move applies ev to tk through the state machine and commits it.
func move(s *Store, tk *queue.Ticket, ev queue.Event, reason string) (*queue.Transition, error) {
	to, err := queue.Next(tk.State, ev)
	if err != nil {
		return nil, err
	}
	tr := &queue.Transition{Ticket: tk.ID, Event: ev, From: tk.State, To: to, Reason: reason, Actor: "test", At: tk.UpdatedAt.Add(time.Second)}
	next := tk.Clone()
	next.State, next.UpdatedAt = to, tr.At
	if to.Final() {
		next.FinalReason = reason
	}
	if err := s.Commit(context.Background(), next, tr); err != nil {
		return nil, err
	}
	*tk = *next
	return tr, nil
}

func mustMove(t testing.TB, s *Store, tk *queue.Ticket, ev queue.Event) *queue.Transition {
	t.Helper()
	tr, err := move(s, tk, ev, string(ev)+" in test")
	if err != nil {
		t.Fatalf("%s: %v", ev, err)
	}
	return tr
}

func TestRoundTripEveryField(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	at := func(d time.Duration) time.Time { return base.Add(d) }

	tk := &queue.Ticket{
		Queue:     "support",
		Priority:  3,
		Kind:      queue.Scheduled,
		State:     queue.Waiting,
		Number:    "+34911234567",
		Name:      "Ada",
		Reason:    "billing",
		Context:   "invoice 42 disputed",
		Language:  "es",
		JoinedAt:  at(0),
		SlotStart: at(time.Hour + 1),
		NotBefore: at(2*time.Hour + 2),
		Attempts:  2,
		CallRef:   "1718000000.42",
		Node:      "pbx-a",
		Agent:     "bob",
		Promise: queue.Promise{
			Deadline:         at(3*time.Hour + 3),
			OriginalDeadline: at(4*time.Hour + 4),
			Category:         "money",
			Owner:            "billing-team",
			Resets:           1,
			AtRiskAt:         at(5*time.Hour + 5),
			RecoverySentAt:   at(6*time.Hour + 6),
			Escalated:        true,
			PromisedAt:       at(7),
			Written:          true,
			MissedAt:         at(8),
			Chases:           2,
		},
		FinalReason: "not final yet, but every field is set",
		UpdatedAt:   at(7*time.Hour + 7),
	}
	in := join(tk)
	if err := s.Insert(ctx, tk, in); err != nil {
		t.Fatal(err)
	}
	if tk.ID == 0 || tk.Seq != 1 || tk.Version != 1 || in.Ticket != tk.ID || in.JournalID == 0 {
		t.Fatalf("Insert did not assign ids: ticket %d seq %d, transition for %d journal %d", tk.ID, tk.Seq, in.Ticket, in.JournalID)
	}
	check := func(when string, want *queue.Ticket) {
		t.Helper()
		got, err := s.Ticket(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Ticket:\n got %+v\nwant %+v", when, got, want)
		}
		active, err := s.Active(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(active) != 1 || !reflect.DeepEqual(active[0], want) {
			t.Errorf("%s: Active = %+v, want [%+v]", when, active, want)
		}
	}
	check("after insert", tk)

	// Change every mutable field at once.
	next := &queue.Ticket{
		ID: tk.ID, Queue: tk.Queue, Seq: tk.Seq, JoinedAt: tk.JoinedAt,
		Priority: 9, Kind: queue.Callback, State: queue.Reserved,
		Number: "+34600000001", Name: "Grace", Reason: "access", Context: "locked out", Language: "ca",
		SlotStart: at(11), NotBefore: at(12), Attempts: 3, CallRef: "uuid-2", Node: "pbx-b",
		Agent: "alice", ConnectedAt: at(10), Version: tk.Version,
		Promise: queue.Promise{
			Deadline: at(13), OriginalDeadline: at(14), Category: "access", Owner: "it-desk",
			Resets: 2, AtRiskAt: at(15), RecoverySentAt: at(16), Escalated: false, PromisedAt: at(17), MissedAt: at(18), Chases: 1,
		},
		FinalReason: "changed",
		UpdatedAt:   at(17),
	}
	tr := &queue.Transition{Ticket: tk.ID, Event: queue.EvReserve, From: queue.Waiting, To: queue.Reserved, Reason: "agent 7", Actor: "dialer", At: at(17)}
	if err := s.Commit(ctx, next, tr); err != nil {
		t.Fatal(err)
	}
	if tr.JournalID <= in.JournalID {
		t.Errorf("Commit journal id %d, want > %d", tr.JournalID, in.JournalID)
	}
	if next.Version != 2 {
		t.Errorf("version after one commit = %d, want 2", next.Version)
	}
	check("after commit", next)

	// Zero times stay zero.
	cleared := next.Clone()
	cleared.SlotStart, cleared.NotBefore, cleared.Promise = time.Time{}, time.Time{}, queue.Promise{}
	upd := &queue.Transition{Event: queue.EvUpdate, From: queue.Reserved, To: queue.Reserved, At: at(18)}
	if err := s.Commit(ctx, cleared, upd); err != nil {
		t.Fatal(err)
	}
	check("after clearing", cleared)
}

func TestSeqIsMonotonicAndKeptAcrossTransitions(t *testing.T) {
	s := openTest(t)
	var tks []*queue.Ticket
	for i := range 20 {
		tks = append(tks, mustInsert(t, s, newTicket(fmt.Sprintf("q%d", i%3), queue.Live, "")))
	}
	for i, tk := range tks {
		if tk.Seq != int64(i+1) {
			t.Errorf("ticket %d: seq %d, want %d", i, tk.Seq, i+1)
		}
	}
	// Converting keeps the place; so does any other transition.
	tk := tks[4]
	conv := tk.Clone()
	conv.Kind, conv.Number = queue.Callback, "+441234567890"
	if err := s.Commit(context.Background(), conv, &queue.Transition{Event: queue.EvConvert, From: queue.Waiting, To: queue.Waiting}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Ticket(context.Background(), tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != 5 || got.Kind != queue.Callback {
		t.Errorf("after convert: seq %d kind %s, want 5 callback", got.Seq, got.Kind)
	}
}

// Two handles on one file stand in for the server and the CLI: each has its
// own writer and connection, and only SQLite's lock orders them.
func TestSeqUniqueAcrossHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	handles := []*Store{openAt(t, path, Options{}), openAt(t, path, Options{})}
	const perGoroutine, goroutinesPerHandle = 100, 4

	var (
		mu   sync.Mutex
		seqs = map[int64]queue.TicketID{}
		wg   sync.WaitGroup
	)
	errs := make(chan error, len(handles)*goroutinesPerHandle)
	for h, s := range handles {
		for g := range goroutinesPerHandle {
			wg.Go(func() {
				for i := range perGoroutine {
					tk := newTicket("support", queue.Live, "")
					if err := s.Insert(context.Background(), tk, join(tk)); err != nil {
						errs <- fmt.Errorf("handle %d goroutine %d insert %d: %w", h, g, i, err)
						return
					}
					mu.Lock()
					if other, dup := seqs[tk.Seq]; dup {
						errs <- fmt.Errorf("seq %d given to tickets %d and %d", tk.Seq, other, tk.ID)
					}
					seqs[tk.Seq] = tk.ID
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	total := len(handles) * goroutinesPerHandle * perGoroutine
	for seq := int64(1); seq <= int64(total); seq++ {
		if _, ok := seqs[seq]; !ok {
			t.Errorf("seq %d never assigned (want 1..%d without gaps)", seq, total)
		}
	}
}

// Several processes starting together on a new file: one creates the
// schema, the others wait for its lock and find nothing left to do.
func TestConcurrentOpenOfNewFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			s, err := Open(context.Background(), path, Options{})
			if err != nil {
				t.Error(err)
				return
			}
			tk := newTicket("support", queue.Live, "")
			if err := s.Insert(context.Background(), tk, join(tk)); err != nil {
				t.Error(err)
			}
			if err := s.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func TestCommitConflict(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	tk := mustInsert(t, s, newTicket("support", queue.Callback, "+15550001"))

	// Another process reserves it first.
	other := tk.Clone()
	mustMove(t, s, other, queue.EvReserve)

	// This process, still believing it waiting, tries to cancel it.
	_, err := move(s, tk, queue.EvCancel, "customer asked")
	if !errors.Is(err, queue.ErrConflict) {
		t.Fatalf("stale commit: err = %v, want ErrConflict", err)
	}
	want := fmt.Sprintf("commit cancel of ticket %d: ", tk.ID)
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q does not start with %q", err, want)
	}
	got, err := s.Ticket(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != queue.Reserved || got.FinalReason != "" {
		t.Errorf("conflicting commit changed the ticket: %+v", got)
	}
	trs, err := s.Journal(ctx, JournalFilter{Ticket: tk.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(trs) != 2 || trs[1].Event != queue.EvReserve {
		t.Errorf("journal after conflict = %+v, want join and reserve only", trs)
	}

	// A ticket that does not exist is not a conflict.
	ghost := newTicket("support", queue.Live, "")
	ghost.ID = 4242
	_, err = move(s, ghost, queue.EvReserve, "")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("commit of unknown ticket: err = %v, want ErrNotFound", err)
	}
}

func TestOneActiveCallbackPerNumberPerQueue(t *testing.T) {
	const num = "+34911234567"
	tests := []struct {
		name   string
		first  *queue.Ticket
		end    queue.Event // if set, the first ticket is driven to a final state first
		second *queue.Ticket
		dup    bool
	}{
		{"callback twice", newTicket("support", queue.Callback, num), "", newTicket("support", queue.Callback, num), true},
		{"callback then scheduled", newTicket("support", queue.Callback, num), "", newTicket("support", queue.Scheduled, num), true},
		{"after cancel", newTicket("support", queue.Callback, num), queue.EvCancel, newTicket("support", queue.Callback, num), false},
		{"after fail", newTicket("support", queue.Callback, num), queue.EvFail, newTicket("support", queue.Callback, num), false},
		{"other queue", newTicket("support", queue.Callback, num), "", newTicket("sales", queue.Callback, num), false},
		{"other number", newTicket("support", queue.Callback, num), "", newTicket("support", queue.Callback, "+34911234568"), false},
		{"live twice", newTicket("support", queue.Live, num), "", newTicket("support", queue.Live, num), false},
		{"live then callback", newTicket("support", queue.Live, num), "", newTicket("support", queue.Callback, num), false},
		{"withheld numbers", newTicket("support", queue.Callback, ""), "", newTicket("support", queue.Callback, ""), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t)
			first := mustInsert(t, s, tc.first)
			if tc.end != "" {
				mustMove(t, s, first, tc.end)
			}
			err := s.Insert(context.Background(), tc.second, join(tc.second))
			if got := errors.Is(err, queue.ErrDuplicate); got != tc.dup {
				t.Fatalf("second insert: err = %v, want duplicate %v", err, tc.dup)
			}
			all, err := s.Tickets(context.Background(), Filter{})
			if err != nil {
				t.Fatal(err)
			}
			trs, err := s.JournalSince(context.Background(), 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			wantTickets, wantJournal := 2, 2
			if tc.dup {
				wantTickets, wantJournal = 1, 1
			}
			if tc.end != "" {
				wantJournal++
			}
			if len(all) != wantTickets || len(trs) != wantJournal {
				t.Errorf("stored %d tickets and %d journal rows, want %d and %d", len(all), len(trs), wantTickets, wantJournal)
			}
		})
	}

	t.Run("converting a live caller onto a pending callback", func(t *testing.T) {
		s := openTest(t)
		mustInsert(t, s, newTicket("support", queue.Callback, num))
		live := mustInsert(t, s, newTicket("support", queue.Live, num))
		conv := live.Clone()
		conv.Kind = queue.Callback
		err := s.Commit(context.Background(), conv, &queue.Transition{Event: queue.EvConvert, From: queue.Waiting, To: queue.Waiting})
		if !errors.Is(err, queue.ErrDuplicate) {
			t.Fatalf("convert: err = %v, want ErrDuplicate", err)
		}
		got, err := s.Ticket(context.Background(), live.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Kind != queue.Live {
			t.Errorf("refused conversion was stored: kind %s", got.Kind)
		}
	})
}

// Many callers racing to move one ticket: exactly one wins, whether or not
// the writer put them in one batch, and the journal shows only the winner.
func TestRacingCommitsOneWins(t *testing.T) {
	s := openTest(t)
	tk := mustInsert(t, s, newTicket("support", queue.Callback, "+15550002"))
	const racers = 32
	var (
		wg               sync.WaitGroup
		mu               sync.Mutex
		wins, conflicts  int
		unexpectedErrors []error
	)
	for range racers {
		wg.Go(func() {
			mine := tk.Clone()
			_, err := move(s, mine, queue.EvReserve, "")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, queue.ErrConflict):
				conflicts++
			default:
				unexpectedErrors = append(unexpectedErrors, err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || conflicts != racers-1 || len(unexpectedErrors) > 0 {
		t.Fatalf("wins %d conflicts %d errors %v; want 1, %d, none", wins, conflicts, unexpectedErrors, racers-1)
	}
	trs, err := s.Journal(context.Background(), JournalFilter{Ticket: tk.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(trs) != 2 {
		t.Errorf("journal has %d rows, want join + one reserve", len(trs))
	}
}

func TestJournalRowsAndPaging(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	a := mustInsert(t, s, newTicket("support", queue.Callback, "+15550003"))
	b := mustInsert(t, s, newTicket("sales", queue.Live, ""))
	mustMove(t, s, a, queue.EvReserve)
	mustMove(t, s, b, queue.EvAbandon)
	mustMove(t, s, a, queue.EvDial)
	mustMove(t, s, a, queue.EvRetry)

	want := []queue.Transition{
		{Ticket: a.ID, Event: queue.EvJoin, From: "", To: queue.Waiting, Reason: "", Actor: "test", At: base},
		{Ticket: b.ID, Event: queue.EvJoin, From: "", To: queue.Waiting, Reason: "", Actor: "test", At: base},
		{Ticket: a.ID, Event: queue.EvReserve, From: queue.Waiting, To: queue.Reserved, Reason: "reserve in test", Actor: "test", At: base.Add(time.Second)},
		{Ticket: b.ID, Event: queue.EvAbandon, From: queue.Waiting, To: queue.Abandoned, Reason: "abandon in test", Actor: "test", At: base.Add(time.Second)},
		{Ticket: a.ID, Event: queue.EvDial, From: queue.Reserved, To: queue.Dialing, Reason: "dial in test", Actor: "test", At: base.Add(2 * time.Second)},
		{Ticket: a.ID, Event: queue.EvRetry, From: queue.Dialing, To: queue.Waiting, Reason: "retry in test", Actor: "test", At: base.Add(3 * time.Second)},
	}
	all, err := s.JournalSince(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(want) {
		t.Fatalf("journal has %d rows, want %d: %+v", len(all), len(want), all)
	}
	for i := range want {
		want[i].JournalID = all[i].JournalID
		if i > 0 && all[i].JournalID <= all[i-1].JournalID {
			t.Errorf("journal ids not increasing: %d then %d", all[i-1].JournalID, all[i].JournalID)
		}
	}
	if !reflect.DeepEqual(all, want) {
		t.Errorf("journal:\n got %+v\nwant %+v", all, want)
	}

	// Tail the feed two at a time, as a server would.
	var paged []queue.Transition
	var last int64
	for {
		page, err := s.JournalSince(ctx, last, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 2 {
			t.Fatalf("page of %d rows, limit 2", len(page))
		}
		paged = append(paged, page...)
		last = page[len(page)-1].JournalID
	}
	if !reflect.DeepEqual(paged, all) {
		t.Errorf("paging gave %+v, want %+v", paged, all)
	}

	ofA, err := s.Journal(ctx, JournalFilter{Ticket: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if wantA := []queue.Transition{want[0], want[2], want[4], want[5]}; !reflect.DeepEqual(ofA, wantA) {
		t.Errorf("journal of ticket %d:\n got %+v\nwant %+v", a.ID, ofA, wantA)
	}
	firstTwo, err := s.Journal(ctx, JournalFilter{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(firstTwo, want[:2]) {
		t.Errorf("Journal limit 2 = %+v", firstTwo)
	}
}

func TestTicketsFilter(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	l1 := mustInsert(t, s, newTicket("support", queue.Live, ""))
	c1 := mustInsert(t, s, newTicket("support", queue.Callback, "+15550004"))
	sc := mustInsert(t, s, newTicket("support", queue.Scheduled, "+15550005"))
	l2 := mustInsert(t, s, newTicket("sales", queue.Live, ""))
	c2 := mustInsert(t, s, newTicket("sales", queue.Callback, "+15550006"))
	mustMove(t, s, l1, queue.EvAbandon)
	mustMove(t, s, c2, queue.EvReserve)

	ids := func(ts []*queue.Ticket) []queue.TicketID {
		out := []queue.TicketID{}
		for _, t := range ts {
			out = append(out, t.ID)
		}
		return out
	}
	tests := []struct {
		name string
		f    Filter
		want []*queue.Ticket
	}{
		{"all", Filter{}, []*queue.Ticket{l1, c1, sc, l2, c2}},
		{"queue", Filter{Queue: "support"}, []*queue.Ticket{l1, c1, sc}},
		{"states", Filter{States: []queue.State{queue.Reserved, queue.Abandoned}}, []*queue.Ticket{l1, c2}},
		{"kinds", Filter{Kinds: []queue.Kind{queue.Callback, queue.Scheduled}}, []*queue.Ticket{c1, sc, c2}},
		{"queue and kind", Filter{Queue: "sales", Kinds: []queue.Kind{queue.Live}}, []*queue.Ticket{l2}},
		{"limit", Filter{Limit: 2}, []*queue.Ticket{l1, c1}},
		{"nothing", Filter{Queue: "nobody"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Tickets(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ids(got), ids(tc.want)) {
				t.Errorf("Tickets(%+v) = %v, want %v", tc.f, ids(got), ids(tc.want))
			}
		})
	}

	active, err := s.Active(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []queue.TicketID{c1.ID, sc.ID, l2.ID, c2.ID}; !reflect.DeepEqual(ids(active), want) {
		t.Errorf("Active = %v, want %v", ids(active), want)
	}
	if _, err := s.Ticket(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("Ticket(999): err = %v, want ErrNotFound", err)
	}
}

func TestContextAndClose(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := openTest(t)
	tk := newTicket("support", queue.Callback, "+15550007")
	if err := s.Insert(ctx, tk, join(tk)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Insert with cancelled ctx: err = %v", err)
	}
	if all, _ := s.Tickets(context.Background(), Filter{}); len(all) != 0 {
		t.Errorf("cancelled insert was stored: %+v", all)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Insert(context.Background(), tk, join(tk)); !errors.Is(err, ErrClosed) {
		t.Errorf("Insert after Close: err = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestInvalidArguments(t *testing.T) {
	s := openTest(t)
	tk := newTicket("support", queue.Live, "")
	if err := s.Insert(context.Background(), tk, &queue.Transition{Event: queue.EvJoin, To: queue.Reserved}); err == nil {
		t.Error("Insert accepted a join transition that does not lead to the ticket's state")
	}
	mustInsert(t, s, tk)
	next := tk.Clone()
	next.State = queue.Reserved
	for name, tr := range map[string]*queue.Transition{
		"wrong ticket": {Ticket: tk.ID + 1, Event: queue.EvReserve, From: queue.Waiting, To: queue.Reserved},
		"no from":      {Event: queue.EvReserve, To: queue.Reserved},
		"wrong to":     {Event: queue.EvReserve, From: queue.Waiting, To: queue.Dialing},
	} {
		if err := s.Commit(context.Background(), next, tr); err == nil {
			t.Errorf("%s: Commit accepted %+v", name, tr)
		}
	}
}

func TestOpenRefusesBadOptions(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		path string
		opt  Options
	}{
		"memory":      {":memory:", Options{}},
		"empty path":  {"", Options{}},
		"synchronous": {filepath.Join(dir, "a.db"), Options{Synchronous: "sometimes"}},
	} {
		if s, err := Open(context.Background(), tc.path, tc.opt); err == nil {
			s.Close()
			t.Errorf("%s: Open succeeded", name)
		}
	}
}

// The driver splits a plain DSN at '?'; the path must reach SQLite whole.
func TestOpenOddPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd ?name#1 %20.db")
	s := openAt(t, path, Options{Synchronous: "FULL"})
	mustInsert(t, s, newTicket("support", queue.Live, ""))
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at %q: %v", path, err)
	}
}

// Two processes holding the same waiting ticket: the first change wins, and
// the second, computed from the version both had read, is refused even
// though the state still matches (a convert does not change the state).
func TestStaleVersionIsAConflict(t *testing.T) {
	s := openTest(t)
	tk := mustInsert(t, s, newTicket("support", queue.Live, ""))
	a, b := tk.Clone(), tk.Clone()
	a.Kind, a.Number = queue.Callback, "+15550100"
	if err := s.Commit(context.Background(), a, &queue.Transition{Event: queue.EvConvert, From: queue.Waiting, To: queue.Waiting}); err != nil {
		t.Fatal(err)
	}
	b.Kind, b.Number = queue.Callback, "+15550199"
	err := s.Commit(context.Background(), b, &queue.Transition{Event: queue.EvConvert, From: queue.Waiting, To: queue.Waiting})
	if !errors.Is(err, queue.ErrConflict) {
		t.Fatalf("stale commit: err = %v, want a conflict", err)
	}
	got, err := s.Ticket(context.Background(), tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Number != "+15550100" || got.Version != 2 {
		t.Fatalf("stored %s at version %d; the first change should stand", got.Number, got.Version)
	}
}
