package queue

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vhold/vhold/clock"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) // a Monday

type fixture struct {
	t    *testing.T
	clk  *clock.Fake
	j    *MemJournal
	line *Line
	cfg  Config
}

func testConfig() Config {
	q := func(name string) QueueConfig {
		return QueueConfig{
			Name:     name,
			Estimate: EstimatorOptions{PriorHandle: 5 * time.Minute, Smoothing: 0.1, Quantile: 0.9},
			Offer: OfferPolicy{Enabled: true, MinWait: 2 * time.Minute, MaxOutstanding: 50,
				Horizon: 2 * time.Hour, CloseMargin: 15 * time.Minute, ScheduledAfterHours: true},
			Callback: CallbackPolicy{MaxAttempts: 3, RetryDelays: []time.Duration{2 * time.Minute, 5 * time.Minute}},
		}
	}
	return Config{
		Queues: []QueueConfig{q("support"), q("billing")},
		Agents: []AgentConfig{
			{ID: "alice", Queues: []string{"support"}, WrapUp: 30 * time.Second},
			{ID: "bob", Queues: []string{"support", "billing"}, WrapUp: 30 * time.Second},
		},
	}
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	f := &fixture{t: t, clk: clock.NewFake(t0), j: NewMemJournal(), cfg: cfg}
	l, err := NewLine(cfg, f.clk, f.j, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.line = l
	return f
}

// pauseAll takes every agent out so tickets stay in line while a test arranges it.
func (f *fixture) pauseAll() {
	for _, a := range f.line.Agents() {
		if err := f.line.SetAgentState(a.ID, AgentPaused, "test"); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *fixture) join(queue string, kind Kind, number string) *Ticket {
	f.t.Helper()
	j, err := f.line.Join(context.Background(), JoinRequest{Queue: queue, Kind: kind, Number: number, Actor: "test"})
	if err != nil {
		f.t.Fatal(err)
	}
	f.clk.Advance(time.Second)
	return j.Ticket
}

func (f *fixture) ids(queue string) []TicketID {
	f.t.Helper()
	ts, err := f.line.Waiting(queue)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []TicketID
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}

func (f *fixture) next() *Assignment {
	f.t.Helper()
	a, err := f.line.Next(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

func TestConvertKeepsPlace(t *testing.T) {
	f := newFixture(t, testConfig())
	f.pauseAll()
	a := f.join("support", Live, "")
	b := f.join("support", Live, "")
	c := f.join("support", Live, "")
	j, err := f.line.Convert(context.Background(), b.ID, "+34911234567", "ivr")
	if err != nil {
		t.Fatal(err)
	}
	if j.Ticket.Seq != b.Seq || j.Ticket.Kind != Callback || j.Position != 1 {
		t.Fatalf("converted ticket = seq %d kind %s position %d; want seq %d callback position 1", j.Ticket.Seq, j.Ticket.Kind, j.Position, b.Seq)
	}
	d := f.join("support", Live, "")
	if got, want := f.ids("support"), []TicketID{a.ID, b.ID, c.ID, d.ID}; !reflect.DeepEqual(got, want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
	// Serve them one by one: the callback neither jumps a nor falls behind c.
	if err := f.line.SetAgentState("alice", AgentAvailable, ""); err != nil {
		t.Fatal(err)
	}
	var served []TicketID
	for range 4 {
		as := f.next()
		if as == nil {
			t.Fatal("no assignment with alice free and tickets due")
		}
		served = append(served, as.Ticket.ID)
		if _, err := f.line.Abandon(context.Background(), as.Ticket.ID, "test", "test"); err != nil {
			t.Fatal(err)
		}
	}
	if want := []TicketID{a.ID, b.ID, c.ID, d.ID}; !reflect.DeepEqual(served, want) {
		t.Fatalf("served %v, want %v", served, want)
	}
}

func TestPriorityThenSequence(t *testing.T) {
	f := newFixture(t, testConfig())
	f.pauseAll()
	a := f.join("support", Live, "")
	vip, err := f.line.Join(context.Background(), JoinRequest{Queue: "support", Kind: Live, Priority: 5})
	if err != nil {
		t.Fatal(err)
	}
	b := f.join("support", Live, "")
	if _, err := f.line.Convert(context.Background(), b.ID, "+34911234567", "ivr"); err != nil {
		t.Fatal(err)
	}
	if got, want := f.ids("support"), []TicketID{vip.Ticket.ID, a.ID, b.ID}; !reflect.DeepEqual(got, want) {
		t.Fatalf("order = %v, want %v (the callback keeps its priority 0)", got, want)
	}
	if p, _ := f.line.Position(b.ID); p != 2 {
		t.Fatalf("position of the callback = %d, want 2", p)
	}
}

func TestScheduledTakesItsPlaceWhenTheSlotOpens(t *testing.T) {
	f := newFixture(t, testConfig())
	f.pauseAll()
	slot := t0.Add(10 * time.Minute)
	sj, err := f.line.Join(context.Background(), JoinRequest{Queue: "support", Kind: Scheduled, Number: "+34911234567", SlotStart: slot})
	if err != nil {
		t.Fatal(err)
	}
	s := sj.Ticket
	if s.Promise.Deadline != slot.Add(30*time.Minute) {
		t.Fatalf("deadline = %v, want the slot's end %v", s.Promise.Deadline, slot.Add(30*time.Minute))
	}
	f.clk.Set(t0.Add(5 * time.Minute))
	early := f.join("support", Live, "")
	if err := f.line.SetAgentState("alice", AgentAvailable, ""); err != nil {
		t.Fatal(err)
	}
	// Before the slot, only the live caller is served; the scheduled callback is never dialed early.
	as := f.next()
	if as == nil || as.Ticket.ID != early.ID {
		t.Fatalf("next = %+v, want the live caller %d", as, early.ID)
	}
	if as := f.next(); as != nil {
		t.Fatalf("next handed out %d with one agent already reserved", as.Ticket.ID)
	}
	if _, err := f.line.Abandon(context.Background(), early.ID, "test", "test"); err != nil {
		t.Fatal(err)
	}
	if err := f.line.SetAgentState("alice", AgentPaused, ""); err != nil {
		t.Fatal(err)
	}
	before := f.join("support", Live, "") // joins at t0+5m1s, before the slot
	f.clk.Set(slot.Add(5 * time.Minute))
	after := f.join("support", Live, "") // joins after the slot opened
	if got, want := f.ids("support"), []TicketID{before.ID, s.ID, after.ID}; !reflect.DeepEqual(got, want) {
		t.Fatalf("order after the slot opened = %v, want %v", got, want)
	}
	if p, _ := f.line.Position(s.ID); p != 1 {
		t.Fatalf("scheduled position = %d, want 1", p)
	}
}

func TestScheduledNotDueBeforeSlotIsNotHandedOut(t *testing.T) {
	f := newFixture(t, testConfig())
	if _, err := f.line.Join(context.Background(), JoinRequest{Queue: "support", Kind: Scheduled, Number: "+34911234567", SlotStart: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if as := f.next(); as != nil {
		t.Fatalf("scheduled ticket handed out an hour before its slot: %+v", as.Ticket)
	}
	if w := f.line.NextWake(); !w.Equal(t0.Add(time.Hour)) {
		t.Fatalf("NextWake = %v, want the slot", w)
	}
	c, _ := f.line.Counts("support")
	if c.Scheduled != 1 || c.Due != 0 {
		t.Fatalf("counts = %+v", c)
	}
	f.clk.Set(t0.Add(time.Hour))
	if as := f.next(); as == nil {
		t.Fatal("scheduled ticket not handed out at its slot")
	}
}

func TestNextNeverExceedsFreeAgents(t *testing.T) {
	f := newFixture(t, testConfig())
	for range 5 {
		f.join("support", Live, "")
	}
	var got int
	for f.next() != nil {
		got++
		if got > 5 {
			break
		}
	}
	if got != 2 {
		t.Fatalf("handed out %d tickets with 2 agents", got)
	}
	c, _ := f.line.Counts("support")
	if c.Reserved != 2 || c.OnHold != 3 {
		t.Fatalf("counts = %+v", c)
	}
}

func TestMultiQueueAgentTakesLongestWaitingHead(t *testing.T) {
	f := newFixture(t, testConfig())
	f.pauseAll()
	billing := f.join("billing", Live, "")
	support := f.join("support", Live, "")
	if err := f.line.SetAgentState("bob", AgentAvailable, ""); err != nil {
		t.Fatal(err)
	}
	as := f.next()
	if as == nil || as.Ticket.ID != billing.ID || as.Agent.ID != "bob" {
		t.Fatalf("bob got %+v, want billing ticket %d (it waited longer than %d)", as, billing.ID, support.ID)
	}
}

func TestOneActiveCallbackPerNumberPerQueue(t *testing.T) {
	f := newFixture(t, testConfig())
	f.pauseAll()
	ctx := context.Background()
	first := f.join("support", Callback, "+34911234567")
	again, err := f.line.Join(ctx, JoinRequest{Queue: "support", Kind: Callback, Number: "+34911234567"})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Existing || again.Ticket.ID != first.ID || again.Position != 0 {
		t.Fatalf("second request = %+v, want the existing ticket %d", again, first.ID)
	}
	other := f.join("billing", Callback, "+34911234567")
	if other.ID == first.ID {
		t.Fatal("a callback in another queue was merged")
	}
	// A live caller chasing their callback presses 1 again: the live ticket
	// ends and the existing place is returned.
	live := f.join("support", Live, "+34911234567")
	j, err := f.line.Convert(ctx, live.ID, "+34911234567", "ivr")
	if err != nil {
		t.Fatal(err)
	}
	if !j.Existing || j.Ticket.ID != first.ID {
		t.Fatalf("convert of a chasing caller = %+v", j)
	}
	if st, _ := f.j.Stored(live.ID); st.State != Cancelled {
		t.Fatalf("chasing live ticket is %s, want cancelled", st.State)
	}
	if _, err := f.line.Cancel(ctx, first.ID, "customer asked", "api"); err != nil {
		t.Fatal(err)
	}
	fresh := f.join("support", Callback, "+34911234567")
	if fresh.ID == first.ID {
		t.Fatal("a new callback after the first ended returned the old one")
	}
}

func TestIllegalTransitionsAreRefusedAndChangeNothing(t *testing.T) {
	f := newFixture(t, testConfig())
	f.pauseAll()
	ctx := context.Background()
	live := f.join("support", Live, "")
	if _, err := f.line.Complete(ctx, live.ID, "test"); !errors.Is(err, ErrIllegalTransition) {
		t.Fatalf("complete a waiting ticket: err = %v", err)
	}
	if _, err := f.line.Dial(ctx, live.ID, "test"); !errors.Is(err, ErrWrongKind) {
		t.Fatalf("dial a live caller: err = %v", err)
	}
	cb := f.join("support", Callback, "+34911234567")
	if _, err := f.line.Convert(ctx, cb.ID, "+34911234568", "test"); !errors.Is(err, ErrWrongKind) {
		t.Fatalf("convert a callback: err = %v", err)
	}
	if _, err := f.line.Cancel(ctx, cb.ID, "done", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.line.Cancel(ctx, cb.ID, "again", "test"); !errors.Is(err, ErrNoTicket) {
		t.Fatalf("cancel a cancelled ticket: err = %v", err)
	}
	st, _ := f.j.Stored(cb.ID)
	if st.State != Cancelled || st.FinalReason != "done" {
		t.Fatalf("stored = %s %q", st.State, st.FinalReason)
	}
	if got := len(f.j.Transitions()); got != 3 { // 2 joins + 1 cancel
		t.Fatalf("%d transitions journaled, want 3", got)
	}
}

func TestStateTableFinalStatesHaveNoExit(t *testing.T) {
	events := []Event{EvConvert, EvSchedule, EvReserve, EvRelease, EvDial, EvRetry, EvConnect, EvComplete, EvAbandon, EvCancel, EvFail, EvExpire, EvUpdate}
	for _, s := range []State{Completed, Abandoned, Cancelled, Failed, Expired} {
		for _, ev := range events {
			if _, err := Next(s, ev); err == nil {
				t.Errorf("%s on final state %s was allowed", ev, s)
			}
		}
	}
	for from, evs := range transitions {
		for ev, to := range evs {
			if from.Final() {
				t.Errorf("final state %s has an exit", from)
			}
			if !to.Final() && !to.Active() {
				t.Errorf("%s --%s--> %q is not a state", from, ev, to)
			}
		}
	}
}

func TestFailedCommitLeavesLineUnchanged(t *testing.T) {
	f := newFixture(t, testConfig())
	f.pauseAll()
	ctx := context.Background()
	a := f.join("support", Live, "")
	f.j.Fail = errors.New("disk full")
	if _, err := f.line.Convert(ctx, a.ID, "+34911234567", "ivr"); err == nil {
		t.Fatal("convert succeeded with a failing journal")
	}
	got, _, err := f.line.Ticket(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != Live || got.Number != "" {
		t.Fatalf("line changed despite the failed commit: %+v", got)
	}
	if err := f.line.SetAgentState("alice", AgentAvailable, ""); err != nil {
		t.Fatal(err)
	}
	f.j.Fail = errors.New("disk full")
	if _, err := f.line.Next(ctx); err == nil {
		t.Fatal("next succeeded with a failing journal")
	}
	for _, ag := range f.line.Agents() {
		if ag.ID == "alice" && ag.State != AgentAvailable {
			t.Fatalf("alice is %s after a failed reserve", ag.State)
		}
	}
	if as := f.next(); as == nil || as.Ticket.ID != a.ID {
		t.Fatalf("after the failure the ticket was not served: %+v", as)
	}
}

func TestRetryBackoffKeepsPlaceThenFails(t *testing.T) {
	cfg := testConfig()
	cfg.Agents = cfg.Agents[:1] // alice only
	f := newFixture(t, cfg)
	ctx := context.Background()
	cb := f.join("support", Callback, "+34911234567")
	if err := f.line.SetAgentState("alice", AgentPaused, ""); err != nil {
		t.Fatal(err)
	}
	behind := f.join("support", Live, "")
	if err := f.line.SetAgentState("alice", AgentAvailable, ""); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; attempt <= 3; attempt++ {
		as := f.next()
		if as == nil || as.Ticket.ID != cb.ID {
			t.Fatalf("attempt %d: next = %+v, want the callback %d", attempt, as, cb.ID)
		}
		if _, err := f.line.Dial(ctx, cb.ID, "dialer"); err != nil {
			t.Fatal(err)
		}
		got, err := f.line.Retry(ctx, cb.ID, "no answer", "dialer")
		if err != nil {
			t.Fatal(err)
		}
		if attempt == 3 {
			if got.State != Failed || got.FinalReason != "no answer after 3 attempts" {
				t.Fatalf("after 3 attempts: %s %q", got.State, got.FinalReason)
			}
			break
		}
		// During the backoff the live caller behind is served; the callback keeps its place.
		as = f.next()
		if as == nil || as.Ticket.ID != behind.ID {
			t.Fatalf("during backoff next = %+v, want %d", as, behind.ID)
		}
		if _, err := f.line.Release(ctx, behind.ID, "agent did not answer", "dialer"); err != nil {
			t.Fatal(err)
		}
		if err := f.line.SetAgentState("alice", AgentPaused, ""); err != nil {
			t.Fatal(err)
		}
		if err := f.line.SetAgentState("alice", AgentAvailable, ""); err != nil {
			t.Fatal(err)
		}
		want := []time.Duration{2 * time.Minute, 5 * time.Minute}[attempt-1]
		if !got.NotBefore.Equal(f.clk.Now().Add(want)) {
			t.Fatalf("attempt %d: not before %v, want now+%s", attempt, got.NotBefore, want)
		}
		f.clk.Set(got.NotBefore)
		if ids := f.ids("support"); ids[0] != cb.ID {
			t.Fatalf("after backoff order = %v, want the callback first", ids)
		}
	}
}

func TestAgentWrapUpThenAvailable(t *testing.T) {
	cfg := testConfig()
	cfg.Agents = cfg.Agents[:1]
	f := newFixture(t, cfg)
	ctx := context.Background()
	a := f.join("support", Live, "")
	b := f.join("support", Live, "")
	as := f.next()
	if _, err := f.line.Connect(ctx, as.Ticket.ID, "dialer"); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(4 * time.Minute)
	if _, err := f.line.Complete(ctx, a.ID, "dialer"); err != nil {
		t.Fatal(err)
	}
	if got := f.line.Agents()[0].State; got != AgentWrapUp {
		t.Fatalf("alice is %s after the call, want wrap-up", got)
	}
	if as := f.next(); as != nil {
		t.Fatal("agent in wrap-up got a ticket")
	}
	if w := f.line.NextWake(); !w.Equal(f.clk.Now().Add(30 * time.Second)) {
		t.Fatalf("NextWake = %v, want end of wrap-up", w)
	}
	f.clk.Advance(30 * time.Second)
	if as := f.next(); as == nil || as.Ticket.ID != b.ID {
		t.Fatalf("after wrap-up next = %+v", as)
	}
	if err := f.line.SetAgentState("alice", AgentWrapUp, ""); !errors.Is(err, ErrIllegalTransition) {
		t.Fatalf("reserved → wrap-up allowed: %v", err)
	}
	if _, err := ParseAgentState("lunch"); err == nil {
		t.Fatal("unknown agent state accepted")
	}
}

func TestReloadReproducesTheLine(t *testing.T) {
	f := newFixture(t, testConfig())
	f.pauseAll()
	ctx := context.Background()
	for i := range 20 {
		tk := f.join([]string{"support", "billing"}[i%2], Live, "")
		if i%3 == 0 {
			if _, err := f.line.Convert(ctx, tk.ID, fmt.Sprintf("+3491123450%02d", i), "ivr"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := f.line.Join(ctx, JoinRequest{Queue: "support", Kind: Scheduled, Number: "+34911234599", SlotStart: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	re, err := NewLine(f.cfg, f.clk, f.j, f.j.Active(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"support", "billing"} {
		want, _ := f.line.Waiting(q)
		got, _ := re.Waiting(q)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s after reload:\n got %v\nwant %v", q, got, want)
		}
		for _, tk := range want {
			p1, _ := f.line.Position(tk.ID)
			p2, _ := re.Position(tk.ID)
			if p1 != p2 {
				t.Fatalf("ticket %d position %d before reload, %d after", tk.ID, p1, p2)
			}
		}
	}
}

func TestRecoverAfterRestart(t *testing.T) {
	f := newFixture(t, testConfig())
	ctx := context.Background()
	cb := f.join("support", Callback, "+34911234567")
	live := f.join("support", Live, "")
	as := f.next()
	if as.Ticket.ID != cb.ID {
		t.Fatalf("first assignment %d", as.Ticket.ID)
	}
	if _, err := f.line.Dial(ctx, cb.ID, "dialer"); err != nil {
		t.Fatal(err)
	}
	re, err := NewLine(f.cfg, f.clk, f.j, f.j.Active(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := re.Recover(ctx, nil); err != nil {
		t.Fatal(err)
	}
	got, pos, err := re.Ticket(cb.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The interrupted attempt keeps its number, so it is never dialed again.
	if got.State != Waiting || got.Attempts != 1 || pos != 0 {
		t.Fatalf("callback after restart: %s attempts %d position %d", got.State, got.Attempts, pos)
	}
	if st, _ := f.j.Stored(live.ID); st.State != Abandoned {
		t.Fatalf("vanished live call is %s, want abandoned", st.State)
	}
}

func TestPromiseFieldsOnEveryCallback(t *testing.T) {
	f := newFixture(t, testConfig())
	f.pauseAll()
	for range 6 {
		f.join("support", Live, "")
	}
	if err := f.line.SetAgentState("alice", AgentAvailable, ""); err != nil {
		t.Fatal(err)
	}
	j, err := f.line.Join(context.Background(), JoinRequest{Queue: "support", Kind: Callback, Number: "+34911234567", Category: "money"})
	if err != nil {
		t.Fatal(err)
	}
	p := j.Ticket.Promise
	if p.Category != "money" || p.Deadline.IsZero() || !p.OriginalDeadline.Equal(p.Deadline) || p.Resets != 0 || p.Escalated {
		t.Fatalf("promise = %+v", p)
	}
	w, _ := f.line.Estimate(j.Ticket.ID)
	if p.Deadline.Sub(f.clk.Now()) < w.Pessimistic {
		t.Fatalf("promised %s, shorter than the pessimistic wait %s", p.Deadline.Sub(f.clk.Now()), w.Pessimistic)
	}
	cb := f.join("support", Callback, "+34911234568")
	if cb.Promise.Category != "general" {
		t.Fatalf("default category = %q", cb.Promise.Category)
	}
}

func TestRefreshSeesAnotherProcessesChanges(t *testing.T) {
	f := newFixture(t, testConfig())
	f.pauseAll()
	ctx := context.Background()
	mine := f.join("support", Live, "")
	// Another process (the CLI) shares the journal and adds a callback, then
	// cancels nothing; this line learns of it only through Refresh.
	other, err := NewLine(f.cfg, f.clk, f.j, f.j.Active(), nil)
	if err != nil {
		t.Fatal(err)
	}
	j, err := other.Join(ctx, JoinRequest{Queue: "support", Kind: Callback, Number: "+34911234567", Actor: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	load := func(id TicketID) (*Ticket, error) {
		st, ok := f.j.Stored(id)
		if !ok {
			return nil, ErrNoTicket
		}
		return st, nil
	}
	if err := f.line.Refresh(j.Ticket.ID, load); err != nil {
		t.Fatal(err)
	}
	if got, want := f.ids("support"), []TicketID{mine.ID, j.Ticket.ID}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after refresh: %v, want %v", got, want)
	}
	if _, err := other.Cancel(ctx, j.Ticket.ID, "cli cancel", "cli"); err != nil {
		t.Fatal(err)
	}
	if err := f.line.Refresh(j.Ticket.ID, load); err != nil {
		t.Fatal(err)
	}
	if got := f.ids("support"); !reflect.DeepEqual(got, []TicketID{mine.ID}) {
		t.Fatalf("after the cancel: %v", got)
	}
	// Our own stale copy is refused by the journal, not silently overwritten.
	if _, err := other.Convert(ctx, mine.ID, "+34911234568", "ivr"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.line.Convert(ctx, mine.ID, "+34911234569", "ivr"); !errors.Is(err, ErrConflict) {
		t.Fatalf("convert on a stale copy: %v, want a conflict", err)
	}
}

// Live callers whose calls outlived the restart keep their place: the one
// still waiting stays, the one an agent's phone was ringing for goes back to
// waiting at the same place, and each is found again by its call.
func TestRecoverKeepsSurvivingLiveCallers(t *testing.T) {
	f := newFixture(t, testConfig())
	ctx := context.Background()
	f.pauseAll()
	join := func(ref string) *Ticket {
		j, err := f.line.Join(ctx, JoinRequest{Queue: "support", Kind: Live, CallRef: ref, Node: "ast1", Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(time.Second)
		return j.Ticket
	}
	a, b, gone := join("chan-a"), join("chan-b"), join("chan-gone")
	if err := f.line.SetAgentState("alice", AgentAvailable, ""); err != nil {
		t.Fatal(err)
	}
	if as := f.next(); as.Ticket.ID != a.ID {
		t.Fatalf("reserved %d, want %d", as.Ticket.ID, a.ID)
	}
	re, err := NewLine(f.cfg, f.clk, f.j, f.j.Active(), nil)
	if err != nil {
		t.Fatal(err)
	}
	alive := map[string]bool{"chan-a": true, "chan-b": true}
	if err := re.Recover(ctx, func(t *Ticket) bool { return t.Node == "ast1" && alive[t.CallRef] }); err != nil {
		t.Fatal(err)
	}
	for i, want := range []*Ticket{a, b} {
		got, pos, ok := re.LiveCall("ast1", want.CallRef)
		if !ok || got.ID != want.ID || got.State != Waiting || pos != i {
			t.Fatalf("call %s after restart: %+v position %d found %v", want.CallRef, got, pos, ok)
		}
	}
	if _, _, ok := re.LiveCall("ast2", "chan-a"); ok {
		t.Fatal("a call on another node matched")
	}
	if st, _ := f.j.Stored(gone.ID); st.State != Abandoned {
		t.Fatalf("vanished live call is %s, want abandoned", st.State)
	}
}

// Watchers see each change once, in commit order, with its transition; a
// change read back from the store comes without one.
func TestWatchSeesEveryChange(t *testing.T) {
	f := newFixture(t, testConfig())
	ctx := context.Background()
	var got []string
	stop := f.line.Watch(func(c Change) {
		ev := "refresh"
		if c.Transition != nil {
			ev = string(c.Transition.Event)
			if c.Transition.Ticket != c.Ticket.ID {
				t.Errorf("transition of %d delivered with ticket %d", c.Transition.Ticket, c.Ticket.ID)
			}
		}
		got = append(got, fmt.Sprintf("%s %s", ev, c.Ticket.State))
	})
	cb := f.join("support", Callback, "+34911234567")
	if _, err := f.line.Cancel(ctx, cb.ID, "test", "test"); err != nil {
		t.Fatal(err)
	}
	stop()
	f.join("support", Callback, "+34911234568")
	if want := "join waiting,cancel cancelled"; strings.Join(got, ",") != want {
		t.Fatalf("watched %q, want %q", strings.Join(got, ","), want)
	}
}

// A reserved callback that may not be dialed again (the restart cut its last
// attempt) fails there, and its agent is free for the next ticket.
func TestFailReservedFreesAgent(t *testing.T) {
	f := newFixture(t, testConfig())
	cb := f.join("support", Callback, "+34911234567")
	as := f.next()
	if as.Ticket.ID != cb.ID {
		t.Fatalf("reserved %d, want %d", as.Ticket.ID, cb.ID)
	}
	if _, err := f.line.Fail(context.Background(), cb.ID, "no attempts left", "dialer"); err != nil {
		t.Fatal(err)
	}
	for _, a := range f.line.Agents() {
		if a.ID == as.Agent.ID && a.State != AgentAvailable {
			t.Fatalf("agent %s is %s after the fail, want available", a.ID, a.State)
		}
	}
	if st, _ := f.j.Stored(cb.ID); st.State != Failed {
		t.Fatalf("callback is %s, want failed", st.State)
	}
}
