package asterisk_test

import (
	"context"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/vhold/vhold/clock"
	"github.com/vhold/vhold/ivr"
	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/pbx/asterisk"
	"github.com/vhold/vhold/pbx/asterisk/ari"
	"github.com/vhold/vhold/pbx/asterisk/aritest"
	"github.com/vhold/vhold/queue"
)

// held is a line whose only agent is busy for an hour, so callers hold and
// are offered a callback, and the IVR that serves it.
type held struct {
	t    *testing.T
	srv  *aritest.Server
	j    *queue.MemJournal
	line *queue.Line
}

func heldLineConfig() queue.Config {
	return queue.Config{
		Queues: []queue.QueueConfig{{
			Name:     "support",
			Estimate: queue.EstimatorOptions{PriorHandle: 5 * time.Minute},
			Offer:    queue.OfferPolicy{Enabled: true, MinWait: time.Minute, MaxOutstanding: 10, Horizon: 2 * time.Hour},
			Callback: queue.CallbackPolicy{MaxAttempts: 2, RetryDelays: []time.Duration{time.Minute}},
		}},
		Agents: []queue.AgentConfig{{ID: "alice", Endpoint: "PJSIP/1001", Queues: []string{"support"}, WrapUp: time.Hour}},
	}
}

func newHeld(t *testing.T) *held {
	t.Helper()
	srv := aritest.New(aritest.Options{Speed: 20, SoundExists: func(string, string) bool { return true }})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	h := &held{t: t, srv: srv, j: queue.NewMemJournal()}
	h.line = h.newLine()
	for _, st := range []queue.AgentState{queue.AgentReserved, queue.AgentBusy, queue.AgentWrapUp} {
		if err := h.line.SetAgentState("alice", st, "another call"); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// newLine builds the line from the journal, as vhold does when it starts.
func (h *held) newLine() *queue.Line {
	line, err := queue.NewLine(heldLineConfig(), clock.Real{}, h.j, h.j.Active(), nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return line
}

// serve runs a Switch and the IVR on line until the returned stop is called.
// Reconnects are quick and exact (1 s), and a prompt whose end is never
// reported is waited for 10 minutes, so only reconciliation can unblock one.
func (h *held) serve(line *queue.Line, conf func(*ivr.Config)) (sw *asterisk.Switch, stop func()) {
	h.t.Helper()
	cl := ari.New(ari.Config{BaseURL: h.srv.URL(), Username: "vhold", Password: "vhold", App: "vhold"})
	sw = asterisk.New(asterisk.Options{
		Name: "ast1", Client: cl, Sounds: "/var/lib/asterisk/sounds/vhold", PlayGuard: 10 * time.Minute,
		Stream: ari.StreamOptions{MinBackoff: time.Second, MaxBackoff: time.Second, Jitter: func(d time.Duration) time.Duration { return d }},
	})
	cfg := ivr.Config{Queues: map[string]ivr.QueueOptions{"support": {Language: "en", Country: "ES", AnnounceEvery: 2 * time.Second, ConfirmTimeout: 5 * time.Second}}}
	if conf != nil {
		conf(&cfg)
	}
	flows := ivr.New(cfg, line, clock.Real{}, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sw.Serve(ctx, flows.Handle) }()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := h.srv.WaitFor(wctx, func() bool { return h.srv.WebSockets() > 0 }); err != nil {
		h.t.Fatal(err)
	}
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				h.t.Errorf("serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			h.t.Error("serve did not return after its context ended")
		}
	}
	h.t.Cleanup(stop)
	return sw, stop
}

func (h *held) call(number string) *aritest.Call {
	return h.srv.Call(aritest.CallSpec{Caller: aritest.Party{Number: number}, Args: []string{"support"}})
}

// joined places a call and waits until the caller has joined the line (they
// hear their position), so callers join in the order of the calls.
func (h *held) joined(ctx context.Context, number string) *aritest.Call {
	h.t.Helper()
	c := h.call(number)
	if _, err := c.WaitHeard(ctx, "*you-are-number"); err != nil {
		h.t.Fatalf("no position announcement: %v; heard %+v", err, c.Heard())
	}
	return c
}

// heardSince is how many items matching pattern c heard from index from on.
func heardSince(c *aritest.Call, from int, pattern string) int {
	n := 0
	for i, x := range c.Heard() {
		if i >= from && match(pattern, x.Media) {
			n++
		}
	}
	return n
}

func match(pattern, media string) bool {
	ok, _ := path.Match(pattern, path.Base(media))
	return ok
}

// takeCallback presses 1 on the next offer c hears from index from on,
// confirms the number, and waits until vhold lets the caller go.
func (h *held) takeCallback(ctx context.Context, c *aritest.Call, from int) {
	h.t.Helper()
	if err := h.srv.WaitFor(ctx, func() bool { return heardSince(c, from, "offer-callback") > 0 }); err != nil {
		h.t.Fatalf("no offer after index %d: heard %+v", from, c.Heard())
	}
	c.Press("1")
	if err := h.srv.WaitFor(ctx, func() bool { return heardSince(c, from, "number-confirm-or-other") > 0 }); err != nil {
		h.t.Fatalf("number not read back: heard %+v", c.Heard())
	}
	c.Press("1")
	if err := c.WaitHungUp(ctx); err != nil {
		h.t.Fatalf("caller not let go after confirming: heard %+v", c.Heard())
	}
}

func (h *held) ticketOf(ref string) *queue.Ticket {
	h.t.Helper()
	for _, st := range h.j.Active() {
		if st.CallRef == ref {
			return st
		}
	}
	return nil
}

func longCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// The WebSocket is cut while the second caller hears their position, and
// the prompt ends while vhold cannot hear it. After the reconnect, vhold
// reads back what it missed: the caller keeps their place (second, behind
// the first) and still gets the offer, which they take.
func TestHeldCallerKeepsPlaceAcrossWebSocketCut(t *testing.T) {
	h := newHeld(t)
	h.serve(h.line, nil)
	ctx := longCtx(t)
	first := h.joined(ctx, "+34611000001")
	second := h.joined(ctx, "+34611000002")
	before := h.ticketOf(second.ID())
	if before == nil || before.State != queue.Waiting {
		t.Fatalf("second caller's ticket before the cut: %+v", before)
	}
	// Cut while an announcement plays, and let it end in the gap.
	if err := h.srv.WaitFor(ctx, func() bool {
		hs := second.Heard()
		return len(hs) > 0 && hs[len(hs)-1].End == ""
	}); err != nil {
		t.Fatal(err)
	}
	if !h.srv.DropWebSocket() {
		t.Fatal("no WebSocket to cut")
	}
	cut := len(second.Heard())
	if err := h.srv.WaitFor(ctx, func() bool {
		hs := second.Heard()
		return hs[len(hs)-1].End != ""
	}); err != nil {
		t.Fatal(err)
	}
	if h.srv.Connected() {
		t.Fatal("vhold reconnected before the prompt ended; the test proves nothing")
	}
	if err := h.srv.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	// Both still in line, in the same order.
	for i, c := range []*aritest.Call{first, second} {
		tk, pos, ok := h.line.LiveCall("ast1", c.ID())
		if !ok || pos != i || tk.State != queue.Waiting {
			t.Fatalf("caller %d after the reconnect: %+v position %d found %v", i+1, tk, pos, ok)
		}
	}
	h.takeCallback(ctx, second, cut)
	st, ok := h.j.Stored(before.ID)
	if !ok || st.Kind != queue.Callback || st.Seq != before.Seq || st.State != queue.Waiting {
		t.Fatalf("second caller's ticket after the offer: %+v", st)
	}
	if pos, err := h.line.Position(before.ID); err != nil || pos != 1 {
		t.Fatalf("callback position %d (%v), want 1 (behind the first caller)", pos, err)
	}
	if first.HungUp() {
		t.Fatal("the first caller was dropped")
	}
}

// vhold stops (a restart) while two callers hold. Both stay on the PBX with
// music; one hangs up while vhold is down. The next vhold abandons that one,
// takes the other back at their place, and the offer is made again.
func TestRestartTakesBackHeldCaller(t *testing.T) {
	h := newHeld(t)
	_, stop := h.serve(h.line, nil)
	ctx := longCtx(t)
	stays := h.joined(ctx, "+34611000001")
	leaves := h.joined(ctx, "+34611000002")
	staysTicket, leavesTicket := h.ticketOf(stays.ID()), h.ticketOf(leaves.ID())
	stop()
	if stays.HungUp() || leaves.HungUp() {
		t.Fatal("stopping vhold hung up a held caller")
	}
	if err := h.srv.WaitFor(ctx, func() bool { return stays.MOH() != "" }); err != nil {
		t.Fatalf("caller left in silence while vhold is down: MOH history %+v", stays.MOHHistory())
	}
	for _, tk := range []*queue.Ticket{staysTicket, leavesTicket} {
		if st, _ := h.j.Stored(tk.ID); st.State != queue.Waiting {
			t.Fatalf("stopping vhold moved ticket %d to %s", tk.ID, st.State)
		}
	}
	leaves.HangUp()
	cut := len(stays.Heard())

	// The next vhold: line from the journal, live tickets kept only for the
	// calls Asterisk still has in the app.
	line := h.newLine()
	cl := ari.New(ari.Config{BaseURL: h.srv.URL(), Username: "vhold", Password: "vhold", App: "vhold"})
	ids, err := asterisk.New(asterisk.Options{Name: "ast1", Client: cl}).Calls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	alive := map[string]bool{}
	for _, id := range ids {
		alive[id] = true
	}
	if err := line.Recover(ctx, func(t *queue.Ticket) bool { return t.Node == "ast1" && alive[t.CallRef] }); err != nil {
		t.Fatal(err)
	}
	if st, _ := h.j.Stored(leavesTicket.ID); st.State != queue.Abandoned {
		t.Fatalf("caller who hung up while vhold was down: %s", st.State)
	}
	for _, st := range []queue.AgentState{queue.AgentReserved, queue.AgentBusy, queue.AgentWrapUp} {
		if err := line.SetAgentState("alice", st, "another call"); err != nil {
			t.Fatal(err)
		}
	}
	h.serve(line, nil)
	h.takeCallback(ctx, stays, cut)
	st, _ := h.j.Stored(staysTicket.ID)
	if st.Kind != queue.Callback || st.Seq != staysTicket.Seq {
		t.Fatalf("taken-back caller's ticket: %+v", st)
	}
	heard := stays.Heard()[cut:]
	if len(heard) == 0 || match("greeting", heard[0].Media) {
		t.Fatalf("the taken-back caller was greeted again: %+v", heard)
	}
	var events []string
	for _, tr := range h.j.Transitions() {
		if tr.Ticket == staysTicket.ID {
			events = append(events, string(tr.Event))
		}
	}
	if got, want := strings.Join(events, " "), "join convert"; got != want {
		t.Fatalf("journal of the taken-back caller: %s, want %s", got, want)
	}
}

// A call for a queue vhold does not serve hears that the line is not
// available and goes back to the dialplan, where the admin's fallback runs.
func TestUnknownQueueReturnsToDialplan(t *testing.T) {
	h := newHeld(t)
	h.serve(h.line, func(c *ivr.Config) { c.UnknownQueue = ivr.UnknownContinue })
	ctx := longCtx(t)
	c := h.srv.Call(aritest.CallSpec{Caller: aritest.Party{Number: "+34611000001"}, Args: []string{"sales"}})
	if err := h.srv.WaitFor(ctx, func() bool { _, ok := c.Continued(); return ok }); err != nil {
		t.Fatalf("not returned to the dialplan: heard %+v, log %v", c.Heard(), c.Log())
	}
	if heardSince(c, 0, "queue-unavailable") != 1 {
		t.Fatalf("heard %+v, want the queue-unavailable prompt", c.Heard())
	}
	// The fake has no dialplan after Stasis(): it ends the call itself
	// once continued, so there is no hangup of vhold's to look for here.
}

var _ pbx.CallLister = (*asterisk.Switch)(nil)
var _ pbx.RecordingDeleter = (*asterisk.Switch)(nil)
