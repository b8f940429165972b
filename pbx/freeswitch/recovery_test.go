package freeswitch_test

import (
	"context"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/clock"
	"github.com/vhold/vhold/ivr"
	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/pbx/freeswitch"
	"github.com/vhold/vhold/pbx/freeswitch/esltest"
	"github.com/vhold/vhold/queue"
)

const password = "not-ClueCon"

// held is a line whose only agent is busy for an hour, so callers hold and
// are offered a callback, and the IVR that serves it, on the fake
// FreeSWITCH.
type held struct {
	t    *testing.T
	srv  *esltest.Server
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
		Agents: []queue.AgentConfig{{ID: "alice", Endpoint: "sofia/lab/1001@127.0.0.1:5091", Queues: []string{"support"}, WrapUp: time.Hour}},
	}
}

func newHeld(t *testing.T) *held {
	t.Helper()
	srv := esltest.New(esltest.Options{Speed: 20, Password: password})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
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

func quiet(t testing.TB) *logrus.Entry {
	l := logrus.New()
	l.SetLevel(logrus.PanicLevel)
	if testing.Verbose() {
		l.SetLevel(logrus.InfoLevel)
	}
	return logrus.NewEntry(l)
}

func (h *held) options() freeswitch.Options {
	// A reconnect waits one second, so a prompt of the fake (1.5 s at
	// speed 20: 75 ms) ends while vhold is away; a prompt whose end is
	// never reported is waited for 10 minutes, so only the reconcile can
	// end one.
	return freeswitch.Options{
		Name: "fs1", Address: h.srv.Addr(), Password: password, Log: quiet(h.t),
		MinBackoff: time.Second, MaxBackoff: time.Second, PlayGuard: 10 * time.Minute,
	}
}

// serve runs a Switch and the IVR on line until the returned stop is called.
func (h *held) serve(line *queue.Line) (sw *freeswitch.Switch, stop func()) {
	h.t.Helper()
	sw = freeswitch.New(h.options())
	cfg := ivr.Config{Queues: map[string]ivr.QueueOptions{"support": {Language: "en", Country: "ES", AnnounceEvery: 2 * time.Second, ConfirmTimeout: 5 * time.Second}}}
	flows := ivr.New(cfg, line, clock.Real{}, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sw.Serve(ctx, flows.Handle) }()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := h.srv.WaitFor(wctx, func() bool { return h.srv.Connections() > 0 }); err != nil {
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
		case <-time.After(15 * time.Second):
			h.t.Error("serve did not return after its context ended")
		}
	}
	h.t.Cleanup(stop)
	return sw, stop
}

func (h *held) call(number string) *esltest.Call {
	return h.srv.Call(esltest.CallSpec{CallerNumber: number, Queue: "support"})
}

// joined places a call and waits until the caller has joined the line (they
// hear their position), so callers join in the order of the calls.
func (h *held) joined(ctx context.Context, number string) *esltest.Call {
	h.t.Helper()
	c := h.call(number)
	if _, err := c.WaitHeard(ctx, "*/position-you-are-number.wav"); err != nil {
		h.t.Fatalf("no position announcement: %v; heard %s", err, heard(c))
	}
	return c
}

// heard lists what c heard, short, for failure messages: the last 30.
func heard(c *esltest.Call) string {
	var out []string
	for _, x := range c.Heard() {
		out = append(out, strings.TrimSuffix(path.Base(x.Path), ".wav")+":"+x.End)
	}
	if len(out) > 30 {
		out = append([]string{"…"}, out[len(out)-30:]...)
	}
	return strings.Join(out, " ")
}

// heardSince is how many items matching pattern c heard from index from on.
func heardSince(c *esltest.Call, from int, pattern string) int {
	n := 0
	for i, x := range c.Heard() {
		if i >= from && match(pattern, x.Path) {
			n++
		}
	}
	return n
}

func match(pattern, p string) bool {
	ok, _ := path.Match(pattern, strings.TrimSuffix(path.Base(p), ".wav"))
	return ok
}

// takeCallback presses 1 on the next offer c hears from index from on,
// confirms the number, and waits until vhold lets the caller go.
func (h *held) takeCallback(ctx context.Context, c *esltest.Call, from int) {
	h.t.Helper()
	if err := h.srv.WaitFor(ctx, func() bool { return heardSince(c, from, "offer-callback") > 0 }); err != nil {
		h.t.Fatalf("no offer after index %d: heard %s", from, heard(c))
	}
	c.Press("1")
	if err := h.srv.WaitFor(ctx, func() bool { return heardSince(c, from, "number-confirm-or-other") > 0 }); err != nil {
		h.t.Fatalf("number not read back: heard %s", heard(c))
	}
	c.Press("1")
	if err := c.WaitHungUp(ctx); err != nil {
		h.t.Fatalf("caller not let go after confirming: heard %s", heard(c))
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

// The event socket is cut (esltest DropConnection: the socket closes with
// no disconnect notice; the channels stay, as mod_event_socket removes
// only the listener) while the second caller hears their position, and the
// prompt ends while vhold is away. After the reconnect, vhold reads back
// what it missed (show channels, uuid_getvar): the caller keeps their place
// (second, behind the first) and still gets the offer, which they take.
func TestHeldCallerKeepsPlaceAcrossConnectionDrop(t *testing.T) {
	h := newHeld(t)
	h.serve(h.line)
	ctx := longCtx(t)
	first := h.joined(ctx, "34611000001")
	second := h.joined(ctx, "34611000002")
	before := h.ticketOf(second.UUID())
	if before == nil || before.State != queue.Waiting {
		t.Fatalf("second caller's ticket before the cut: %+v", before)
	}
	// Cut while an announcement plays, and let it end in the gap.
	if err := h.srv.WaitFor(ctx, func() bool {
		hs := second.Heard()
		return len(hs) > 0 && hs[len(hs)-1].End == "" && !strings.HasPrefix(hs[len(hs)-1].Path, "local_stream")
	}); err != nil {
		t.Fatal(err)
	}
	if h.srv.DropConnection() == 0 {
		t.Fatal("no connection to cut")
	}
	cut := len(second.Heard())
	if err := h.srv.WaitFor(ctx, func() bool { return second.Heard()[cut-1].End != "" }); err != nil {
		t.Fatal(err)
	}
	if h.srv.Connections() != 0 {
		t.Fatal("vhold reconnected before the prompt ended; the test proves nothing")
	}
	if err := h.srv.WaitFor(ctx, func() bool { return h.srv.Connections() > 0 }); err != nil {
		t.Fatal(err)
	}
	// Both still in line, in the same order.
	for i, c := range []*esltest.Call{first, second} {
		tk, pos, ok := h.line.LiveCall("fs1", c.UUID())
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

// vhold stops (a restart) while two callers hold. Both stay parked with
// their music; one hangs up while vhold is down. The next vhold abandons
// that one (Calls, which Recover asks, lists only the other), takes the
// other back at their place, and the offer is made again, with no second
// greeting.
func TestRestartTakesBackHeldCaller(t *testing.T) {
	h := newHeld(t)
	_, stop := h.serve(h.line)
	ctx := longCtx(t)
	stays := h.joined(ctx, "34611000001")
	leaves := h.joined(ctx, "34611000002")
	staysTicket, leavesTicket := h.ticketOf(stays.UUID()), h.ticketOf(leaves.UUID())
	stop()
	if stays.HungUp() || leaves.HungUp() {
		t.Fatal("stopping vhold hung up a held caller")
	}
	if err := h.srv.WaitFor(ctx, func() bool {
		hs := stays.Heard()
		return len(hs) > 0 && hs[len(hs)-1].Path == "local_stream://moh" && hs[len(hs)-1].End == ""
	}); err != nil {
		t.Fatalf("caller left in silence while vhold is down: heard %s", heard(stays))
	}
	if v, ok := stays.Variable("vhold_queue"); !ok || v != "support" {
		t.Fatalf("vhold_queue %q", v)
	}
	leaves.HangUp()
	// FreeSWITCH lists a channel until it is destroyed, a moment after the
	// hangup: wait for that, as a restart would take longer anyway.
	if err := h.srv.WaitFor(ctx, leaves.Destroyed); err != nil {
		t.Fatal(err)
	}
	cut := len(stays.Heard())

	line := h.newLine()
	ids, err := freeswitch.New(h.options()).Calls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	alive := map[string]bool{}
	for _, id := range ids {
		alive[id] = true
	}
	if !alive[stays.UUID()] || alive[leaves.UUID()] {
		t.Fatalf("Calls listed %v", ids)
	}
	if err := line.Recover(ctx, func(t *queue.Ticket) bool { return t.Node == "fs1" && alive[t.CallRef] }); err != nil {
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
	h.serve(line)
	h.takeCallback(ctx, stays, cut)
	st, _ := h.j.Stored(staysTicket.ID)
	if st.Kind != queue.Callback || st.Seq != staysTicket.Seq {
		t.Fatalf("taken-back caller's ticket: %+v", st)
	}
	if len(stays.Heard()) == cut || heardSince(stays, cut, "greeting") > 0 {
		t.Fatalf("the taken-back caller was greeted again: %s", heard(stays))
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

var _ pbx.CallLister = (*freeswitch.Switch)(nil)
