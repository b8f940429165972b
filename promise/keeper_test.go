package promise

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vhold/vhold/dialer"
	"github.com/vhold/vhold/ivr"
	"github.com/vhold/vhold/notify"
	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/pbx/pbxtest"
	"github.com/vhold/vhold/promise/metrics"
	"github.com/vhold/vhold/queue"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// sent is a notifier that keeps what it was given, in order.
type sent struct {
	mu      sync.Mutex
	msgs    []notify.Message
	at      []time.Time
	clk     interface{ Now() time.Time }
	failing *error // while *failing is set, recovery messages fail with it
}

func (s *sent) Notify(_ context.Context, m notify.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing != nil && *s.failing != nil && m.Kind == notify.Recovery {
		return *s.failing
	}
	s.msgs = append(s.msgs, m)
	s.at = append(s.at, s.clk.Now())
	return nil
}

func (s *sent) of(kind notify.Kind) (out []notify.Message, at []time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, m := range s.msgs {
		if m.Kind == kind {
			out = append(out, m)
			at = append(at, s.at[i])
		}
	}
	return out, at
}

// world is the line, the IVR, the dialer and the keeper on the in-memory
// switch, in virtual time.
type world struct {
	t      *testing.T
	sim    *pbxtest.Sim
	sw     *pbxtest.Switch
	j      *queue.MemJournal
	line   *queue.Line
	d      *dialer.Dialer
	k      *Keeper
	notes  *sent
	cancel context.CancelFunc
}

const handle = 35 * time.Minute

func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldWith(t, Policy{
		Supervisor: "sara@example.com",
		Default:    Category{Margin: 10 * time.Minute},
		Categories: map[queue.Category]Category{"general": {Margin: 10 * time.Minute}},
	}, nil)
}

// newWorldWith builds the world with the support queue's policy pol; its
// notifier fails (with failing) until failing is nil.
func newWorldWith(t *testing.T, pol Policy, failing *error) *world {
	t.Helper()
	w := &world{t: t, sim: pbxtest.NewSim(t0), j: queue.NewMemJournal()}
	w.sw = pbxtest.NewSwitch(w.sim, "pbx1", pbxtest.Options{Seed: 3})
	var agents []queue.AgentConfig
	for i := 1; i <= 3; i++ {
		ep := fmt.Sprintf("PJSIP/100%d", i)
		agents = append(agents, queue.AgentConfig{ID: fmt.Sprintf("a%d", i), Endpoint: ep, Queues: []string{"support"}, WrapUp: time.Minute})
		// Every conversation lasts exactly the handle time.
		w.sw.Agent(ep, pbxtest.Talks(2*time.Second, pbxtest.Fixed(handle)))
	}
	line, err := queue.NewLine(queue.Config{
		Queues: []queue.QueueConfig{{
			Name:     "support",
			Estimate: queue.EstimatorOptions{PriorHandle: handle},
			Offer:    queue.OfferPolicy{Enabled: true, MinWait: time.Minute, Horizon: 2 * time.Hour},
			Callback: queue.CallbackPolicy{MaxAttempts: 3, RetryDelays: []time.Duration{2 * time.Minute}},
			Promise:  queue.PromisePolicy{DefaultCategory: "general"},
		}},
		Agents: agents,
	}, w.sim, w.j, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.line = line
	var conn dialer.Late
	flows := ivr.New(ivr.Config{Queues: map[string]ivr.QueueOptions{"support": {Language: "en", Country: "ES"}}}, line, w.sim, &conn, nil)
	w.d = dialer.New(line, []pbx.Switch{w.sw}, flows, w.sim, map[string]dialer.QueueOptions{
		"support": {CallerID: pbx.Party{Number: "+34910000000"}, DialString: "PJSIP/{number}@trunk"},
	}, nil)
	conn.D = w.d
	w.notes = &sent{clk: w.sim, failing: failing}
	w.k = New(line, w.sim, map[string]Policy{"support": pol}, w.notes, nil)
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	w.sim.Go(func() { _ = w.sw.Serve(ctx, flows.Handle) })
	w.d.Start(ctx)
	w.k.Start(ctx)
	t.Cleanup(func() {
		cancel()
		w.sim.RunFor(time.Minute)
		w.d.Stop()
		w.k.Stop()
	})
	return w
}

// do runs f as a simulated goroutine now and lets the world settle.
func (w *world) do(f func(ctx context.Context) error) {
	w.t.Helper()
	var err error
	w.sim.Go(func() { err = f(context.Background()) })
	w.sim.RunFor(0)
	if err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) setAgents(st queue.AgentState, ids ...string) {
	w.t.Helper()
	w.do(func(context.Context) error {
		for _, id := range ids {
			if err := w.line.SetAgentState(id, st, "test"); err != nil {
				return err
			}
		}
		return nil
	})
}

// events is one ticket's journal: "event" words in order.
func (w *world) events(id queue.TicketID) []queue.Event {
	var out []queue.Event
	for _, tr := range w.j.Transitions() {
		if tr.Ticket == id {
			out = append(out, tr.Event)
		}
	}
	return out
}

func (w *world) transition(id queue.TicketID, ev queue.Event) (queue.Transition, bool) {
	for _, tr := range w.j.Transitions() {
		if tr.Ticket == id && tr.Event == ev {
			return tr, true
		}
	}
	return queue.Transition{}, false
}

func count(evs []queue.Event, e queue.Event) int {
	n := 0
	for _, x := range evs {
		if x == e {
			n++
		}
	}
	return n
}

// The scenario of the promise issue: a sudden loss of agents puts five
// callbacks at risk; each gets one owner, one message before its deadline
// and one reset; when one agent comes back, two of them slip again and are
// escalated to the front; none gets a third promise.
func TestSuddenLossOfAgents(t *testing.T) {
	w := newWorld(t)
	// The three agents are on other calls: the callbacks wait.
	for _, st := range []queue.AgentState{queue.AgentReserved, queue.AgentBusy} {
		w.setAgents(st, "a1", "a2", "a3")
	}
	var ids []queue.TicketID
	for i := range 5 {
		number := fmt.Sprintf("+3461100000%d", i+1)
		w.sw.Customer(number, pbxtest.Answers(3*time.Second, pbxtest.PressOn{Prompt: ivr.PromptConnectOrLater, Keys: "1", Delay: time.Second}))
		w.do(func(ctx context.Context) error {
			j, err := w.line.Join(ctx, queue.JoinRequest{Queue: "support", Kind: queue.Callback, Number: number, Language: "en", Actor: "test"})
			if err == nil {
				ids = append(ids, j.Ticket.ID)
			}
			return err
		})
		w.sim.RunFor(time.Second)
	}
	original := map[queue.TicketID]time.Time{}
	for _, id := range ids {
		st, _ := w.j.Stored(id)
		original[id] = st.Promise.Deadline
		if len(w.events(id)) != 1 {
			t.Fatalf("ticket %d before the loss: %v", id, w.events(id))
		}
	}

	// 10:01 the three agents log off at once.
	w.sim.RunFor(time.Minute)
	w.setAgents(queue.AgentOffline, "a1", "a2", "a3")
	lost := w.sim.Now()
	for _, id := range ids {
		st, _ := w.j.Stored(id)
		evs := w.events(id)
		if count(evs, queue.EvAtRisk) != 1 || count(evs, queue.EvOwn) != 1 || count(evs, queue.EvReset) != 1 || count(evs, queue.EvRecovery) != 1 {
			t.Fatalf("ticket %d right after the loss: %v", id, evs)
		}
		if st.Promise.Owner != "sara@example.com" || st.Promise.Resets != 1 || !st.Promise.Deadline.After(original[id]) {
			t.Fatalf("ticket %d promise after the loss: %+v", id, st.Promise)
		}
		// Flagged within the one event that lost the agents, not on a poll.
		if tr, ok := w.transition(id, queue.EvAtRisk); !ok || !tr.At.Equal(lost) {
			t.Fatalf("ticket %d flagged at %v, agents lost at %v", id, tr.At, lost)
		}
		if st.Promise.RecoverySentAt.After(lost) || !st.Promise.RecoverySentAt.Before(original[id]) {
			t.Fatalf("ticket %d message at %v; lost at %v, first deadline %v", id, st.Promise.RecoverySentAt, lost, original[id])
		}
	}
	msgs, at := w.notes.of(notify.Recovery)
	if len(msgs) != 5 {
		t.Fatalf("%d recovery messages, want 5: %+v", len(msgs), msgs)
	}
	for i, m := range msgs {
		if !strings.Contains(m.Text, "have not yet") || !strings.Contains(m.Text, "the support team") || !at[i].Before(original[queue.TicketID(m.Ticket)]) {
			t.Fatalf("recovery message %d at %v: %+v", i, at[i], m)
		}
	}
	if owners, _ := w.notes.of(notify.Owner); len(owners) != 5 {
		t.Fatalf("%d owner notices, want 5", len(owners))
	}

	// 10:10 one agent comes back. Each conversation lasts 35 minutes, so
	// the callbacks are dialed about 10:10, 10:46, 11:22, 11:58 and 12:34:
	// with the reset deadlines at 12:01 (the queue's two-hour horizon, as
	// nobody staffed it when they were reset) the first three are kept and
	// the last two reach their margin (11:51) undialed and are escalated.
	w.sim.RunFor(9 * time.Minute)
	w.setAgents(queue.AgentAvailable, "a1")
	w.sim.RunFor(6 * time.Hour)

	var escalated, kept []queue.TicketID
	for _, id := range ids {
		st, _ := w.j.Stored(id)
		evs := w.events(id)
		if count(evs, queue.EvReset) != 1 || st.Promise.Resets != 1 {
			t.Fatalf("ticket %d got %d resets: %v", id, count(evs, queue.EvReset), evs)
		}
		if count(evs, queue.EvRecovery) != 1 || count(evs, queue.EvOwn) != 1 {
			t.Fatalf("ticket %d: %v", id, evs)
		}
		if st.State != queue.Completed {
			t.Fatalf("ticket %d ended %s: %v", id, st.State, evs)
		}
		if st.Promise.Escalated {
			escalated = append(escalated, id)
			if count(evs, queue.EvEscalate) != 1 {
				t.Fatalf("ticket %d escalated %d times: %v", id, count(evs, queue.EvEscalate), evs)
			}
			continue
		}
		kept = append(kept, id)
		if st.ConnectedAt.After(st.Promise.Deadline) {
			t.Fatalf("ticket %d kept its reset deadline %v but connected %v", id, st.Promise.Deadline, st.ConnectedAt)
		}
	}
	sort.Slice(escalated, func(i, j int) bool { return escalated[i] < escalated[j] })
	if len(escalated) != 2 || escalated[0] != ids[3] || escalated[1] != ids[4] {
		t.Fatalf("escalated %v, want the last two of %v", escalated, ids)
	}
	if esc, _ := w.notes.of(notify.Escalation); len(esc) != 2 || !esc[0].Urgent || esc[0].To != "sara@example.com" {
		t.Fatalf("escalation notices: %+v", esc)
	}
	if msgs, _ := w.notes.of(notify.Recovery); len(msgs) != 5 {
		t.Fatalf("%d recovery messages in all, want 5 (never a second one)", len(msgs))
	}
	if len(kept) != 3 {
		t.Fatalf("kept %v, want three", kept)
	}
	// The first escalated was dialed before its reset deadline; the second
	// could not be and is journaled as missed.
	if evs := w.events(ids[4]); count(evs, queue.EvMiss) != 1 {
		t.Fatalf("last callback: %v, want one miss", evs)
	}
	if evs := w.events(ids[3]); count(evs, queue.EvMiss) != 0 {
		t.Fatalf("fourth callback: %v, want no miss", evs)
	}

	// The metrics tell exactly this story.
	var tickets []*queue.Ticket
	for _, id := range ids {
		st, _ := w.j.Stored(id)
		tickets = append(tickets, st)
	}
	got := metrics.Compute(tickets, w.j.Transitions(), t0, w.sim.Now()).Overall
	want := metrics.Figures{
		Promised: 5, Connected: 5,
		// The first two were still called inside their original windows
		// (by 10:30 and 10:50); the other three were late, and each had
		// been told before its first deadline.
		InsideOriginal: 2, Delayed: 3,
		Recovery: metrics.DelayedRecovery{BeforeDeadline: 3},
		// Three kept the reset deadline, plus the fourth, dialed at the
		// front just before it; the fifth missed it.
		SecondWindows: 5, SecondWindowsMet: 4,
		Escalated: 2, Missed: 1,
	}
	if got.Promised != want.Promised || got.Connected != want.Connected || got.InsideOriginal != want.InsideOriginal ||
		got.Delayed != want.Delayed || got.Recovery != want.Recovery ||
		got.SecondWindows != want.SecondWindows || got.SecondWindowsMet != want.SecondWindowsMet ||
		got.Escalated != want.Escalated || got.Missed != want.Missed || got.Chased != 0 || got.ResolvedInWriting != 0 {
		t.Fatalf("metrics %+v\nwant     %+v", got, want)
	}
}

// oneCallbackAtRisk joins one callback while the only staffed agents are
// busy, then logs them all off: the promise is at risk at once.
func (w *world) oneCallbackAtRisk(lang string) queue.TicketID {
	w.t.Helper()
	for _, st := range []queue.AgentState{queue.AgentReserved, queue.AgentBusy} {
		w.setAgents(st, "a1", "a2", "a3")
	}
	var id queue.TicketID
	w.do(func(ctx context.Context) error {
		j, err := w.line.Join(ctx, queue.JoinRequest{Queue: "support", Kind: queue.Callback, Number: "+34611000009", Language: lang, Category: "money", Actor: "test"})
		if err == nil {
			id = j.Ticket.ID
		}
		return err
	})
	w.sim.RunFor(time.Minute)
	w.setAgents(queue.AgentOffline, "a1", "a2", "a3")
	return id
}

// A category that resets to a written update: the message promises one, in
// the customer's language, owned by the category's owner; the owner marks it
// resolved in writing and the callback ends there.
func TestWrittenResetResolvedByOwner(t *testing.T) {
	w := newWorldWith(t, Policy{
		Supervisor: "sara@example.com", Team: "el equipo de facturación",
		Default:    Category{Margin: 10 * time.Minute},
		Categories: map[queue.Category]Category{"money": {Margin: 20 * time.Minute, Written: true, Owner: "luis@example.com"}},
	}, nil)
	id := w.oneCallbackAtRisk("es")
	st, _ := w.j.Stored(id)
	if !st.Promise.Written || st.Promise.Owner != "luis@example.com" || st.Promise.Resets != 1 {
		t.Fatalf("promise after the reset: %+v", st.Promise)
	}
	msgs, _ := w.notes.of(notify.Recovery)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, "respuesta por escrito") || !strings.Contains(msgs[0].Text, "el equipo de facturación") || msgs[0].Language != "es" {
		t.Fatalf("recovery messages: %+v", msgs)
	}
	// The owner is told what the customer was promised, and that the
	// written update is theirs to write.
	if owners, _ := w.notes.of(notify.Owner); len(owners) != 1 || owners[0].To != "luis@example.com" ||
		!strings.Contains(owners[0].Text, "written update from us by "+st.Promise.Deadline.Format("15:04")) ||
		!owners[0].Deadline.Equal(st.Promise.Deadline) {
		t.Fatalf("owner notices: %+v", owners)
	}
	w.do(func(ctx context.Context) error {
		_, err := w.k.ResolveInWriting(ctx, id, "luis@example.com")
		return err
	})
	if st, _ := w.j.Stored(id); st.State != queue.Completed || st.FinalReason != "resolved in writing by luis@example.com" {
		t.Fatalf("after the written update: %s %q", st.State, st.FinalReason)
	}
}

// A promise whose reset is a call cannot be closed "in writing".
func TestResolveInWritingNeedsAWrittenPromise(t *testing.T) {
	w := newWorld(t)
	id := w.oneCallbackAtRisk("en")
	var err error
	w.sim.Go(func() { _, err = w.k.ResolveInWriting(context.Background(), id, "sara") })
	w.sim.RunFor(0)
	if err == nil || !strings.Contains(err.Error(), "its promise is a call") {
		t.Fatalf("err = %v", err)
	}
}

// A recovery message that cannot be delivered is tried again a minute later
// and sent exactly once when the gateway is back; the reset is not repeated.
func TestRecoveryMessageRetriedOnce(t *testing.T) {
	down := fmt.Errorf("gateway down")
	failing := error(down)
	w := newWorldWith(t, Policy{Supervisor: "sara@example.com", Default: Category{Margin: 10 * time.Minute}}, &failing)
	id := w.oneCallbackAtRisk("en")
	if st, _ := w.j.Stored(id); st.Promise.Resets != 1 || !st.Promise.RecoverySentAt.IsZero() {
		t.Fatalf("after a failed send: %+v", st.Promise)
	}
	w.sim.RunFor(90 * time.Second)
	if msgs, _ := w.notes.of(notify.Recovery); len(msgs) != 0 {
		t.Fatalf("sent while the gateway was down: %+v", msgs)
	}
	w.do(func(context.Context) error { failing = nil; return nil })
	w.sim.RunFor(5 * time.Minute)
	msgs, _ := w.notes.of(notify.Recovery)
	evs := w.events(id)
	if len(msgs) != 1 || count(evs, queue.EvRecovery) != 1 || count(evs, queue.EvReset) != 1 {
		t.Fatalf("messages %d, journal %v", len(msgs), evs)
	}
}

// Taking ownership through the API journals the new owner; a chase is
// counted on the promise.
func TestTakeAndChase(t *testing.T) {
	w := newWorld(t)
	id := w.oneCallbackAtRisk("en")
	w.do(func(ctx context.Context) error {
		if _, err := w.k.Take(ctx, id, "agent-ana"); err != nil {
			return err
		}
		return Chased(ctx, w.line, id, "called in again while the callback was pending")
	})
	st, _ := w.j.Stored(id)
	if st.Promise.Owner != "agent-ana" || st.Promise.Chases != 1 {
		t.Fatalf("promise: %+v", st.Promise)
	}
	if tr, ok := w.transition(id, queue.EvChase); !ok || tr.Actor != "ivr" {
		t.Fatalf("chase transition: %+v", tr)
	}
}
