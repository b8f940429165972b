package main

import (
	"context"
	"fmt"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/vhold/vhold/pbx/freeswitch/esltest"
	"github.com/vhold/vhold/queue"
)

// TestServeBinaryOnFreeSWITCH is TestServeBinaryOnAsterisk on the fake
// FreeSWITCH: the built vhold binary (`vhold serve`) connects to the event
// socket, and nothing but the PBX drives it. Caller A (parked by extension
// 200 with vhold_queue=support) is put through to alice; caller B arrives
// while alice talks, presses 1 for a callback, confirms the number and is
// let go; when alice hangs up on A and her wrap-up ends, vhold originates
// B's callback (bgapi originate with its own origination_uuid), B presses 1,
// alice is rung, hears the whisper, and the two are joined with uuid_bridge.
// The journal in the store tells both stories.
//
// The fake runs its world 20 times faster than real time; vhold runs on
// the wall clock, so the file keeps its own timings short (wrap-up 2 s).
func TestServeBinaryOnFreeSWITCH(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the vhold binary")
	}
	const (
		speed   = 20
		numberA = "+34611000001"
		numberB = "+34611000002"
		// What alice's first call lasts from her answer, in the fake's
		// time: 80 s, 4 s of wall time.
		talkA = 80 * time.Second
	)
	bin := vholdBinary(t)

	srv := esltest.New(esltest.Options{Speed: speed, Password: fsRigPassword})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// Alice answers after a ring; on her first call she talks a while and
	// hangs up (rescripted below for the callback).
	alice := srv.Endpoint(fsRigAgent, esltest.Behaviour{Outcome: esltest.Answer, Ring: time.Second,
		Script: esltest.Script{{Delay: talkA, HangUp: true}}})
	// B, called back through the trunk, hears who calls and presses 1.
	custB := srv.Endpoint("sofia/gateway/trunk/"+numberB, esltest.Behaviour{Outcome: esltest.Answer, Ring: time.Second,
		Script: esltest.Script{{AfterMedia: "*/confirm-connect-or-later.wav", During: true, Delay: 100 * time.Millisecond, Press: "1"}}})

	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := fsRigConfig{ESL: srv.Addr(), Listen: addr, AgentState: "available", WrapUp: 2 * time.Second}.write(t, dir)
	vh := startVhold(t, bin, cfg, addr)

	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	var a, b *esltest.Call
	// dump shows what every party went through, for a failure message.
	dump := func() string {
		var sb strings.Builder
		show := func(who string, c *esltest.Call) {
			if c == nil {
				return
			}
			fmt.Fprintf(&sb, "--- %s (%s)\n", who, c.UUID())
			for _, l := range c.Log() {
				fmt.Fprintf(&sb, "  %s\n", l)
			}
			for _, h := range c.Heard() {
				fmt.Fprintf(&sb, "  heard %s (%s)\n", h.Path, h.End)
			}
		}
		show("caller A", a)
		show("caller B", b)
		for i, c := range alice.Calls() {
			show(fmt.Sprintf("alice, call %d", i+1), c)
		}
		for i, c := range custB.Calls() {
			show(fmt.Sprintf("B called back, call %d", i+1), c)
		}
		fmt.Fprintf(&sb, "--- vhold output\n%s", vh.out.String())
		return sb.String()
	}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s\n%s", fmt.Sprintf(format, args...), dump())
	}

	if err := srv.WaitFor(ctx, func() bool { return srv.Connections() > 0 }); err != nil {
		fail("vhold never connected to the event socket: %v", err)
	}
	vh.waitFor(t, "vhold to answer /healthz", 10*time.Second, func() bool { return vh.health() != nil })

	// A calls while alice is free: put through to her.
	a = srv.Call(esltest.CallSpec{CallerNumber: numberA, Queue: "support"})
	if err := a.WaitBridged(ctx); err != nil {
		fail("caller A was never bridged to alice: %v", err)
	}
	if n := len(alice.Calls()); n != 1 {
		fail("alice was rung %d times for A", n)
	}
	// Her next call is the callback: she listens to the whisper, talks 2 s
	// (40 s of the fake's time) and hangs up.
	alice.Set(esltest.Behaviour{Outcome: esltest.Answer, Ring: time.Second,
		Script: esltest.Script{{AfterMedia: "*/whisper-waited.wav", Delay: 40 * time.Second, HangUp: true}}})

	// B calls while alice is busy: offered a callback, presses 1, confirms
	// the number they call from with 1, hears the promise and is let go.
	b = srv.Call(esltest.CallSpec{
		CallerNumber: numberB, Queue: "support",
		Script: esltest.Script{
			{AfterMedia: "*/offer-callback.wav", During: true, Delay: 100 * time.Millisecond, Press: "1"},
			{AfterMedia: "*/number-confirm-or-other.wav", During: true, Delay: 100 * time.Millisecond, Press: "1"},
		},
	})
	if err := b.WaitHungUp(ctx); err != nil {
		fail("caller B was never let go: %v", err)
	}
	if a.HungUp() || len(alice.Calls()) != 1 {
		fail("alice's call with A ended before B became a callback: the scenario's timing is off")
	}
	heardB := pathsOf(b)
	for _, want := range []string{"offer-callback", "number-ending-in", "promise-within", "goodbye"} {
		if !strings.Contains(heardB, "/"+want+".wav") {
			fail("caller B never heard %s", want)
		}
	}

	// Alice hangs up on A (FreeSWITCH parks A, park_after_bridge, and vhold
	// hangs A up); after her wrap-up vhold calls B back.
	if err := a.WaitHungUp(ctx); err != nil {
		fail("caller A's call never ended: %v", err)
	}
	cust, err := custB.WaitCall(ctx, 1)
	if err != nil {
		fail("B was never called back: %v", err)
	}
	if err := cust.WaitBridged(ctx); err != nil {
		fail("B, called back, was never bridged: %v", err)
	}
	if err := cust.WaitHungUp(ctx); err != nil {
		fail("the callback never ended: %v", err)
	}
	vh.waitFor(t, "the line to settle", 15*time.Second, func() bool {
		h := vh.health()
		return h != nil && idle(h["support"])
	})

	if code := vh.stop(t); code != 0 {
		fail("vhold serve exited %d after SIGTERM", code)
	}
	if bad := logErrors(vh.out.Bytes()); len(bad) > 0 {
		fail("vhold logged errors:\n%s", strings.Join(bad, "\n"))
	}
	if w := logWarnings(vh.out.Bytes()); len(w) > 0 {
		t.Logf("warnings logged (count by message): %v", w)
	}

	// The fake FreeSWITCH's side.
	if n := len(custB.Calls()); n != 1 {
		fail("B was dialed %d times, want 1", n)
	}
	if n := len(alice.Calls()); n != 2 {
		fail("alice was rung %d times, want 2 (A, then B's callback)", n)
	}
	first, second := alice.Calls()[0], alice.Calls()[1]
	if !bridgedWith(a, first) {
		fail("caller A and alice's first call were never bridged")
	}
	if !bridgedWith(cust, second) {
		fail("the called-back customer and alice's second call were never bridged")
	}
	if hs := second.Heard(); len(hs) == 0 || path.Base(hs[0].Path) != "category-general.wav" ||
		!strings.Contains(pathsOf(second), "/whisper-waited.wav") {
		fail("alice heard no whisper before B's callback: %s", pathsOf(second))
	}

	// vhold's side: the journal of the store it ran on.
	rows, tickets := storeContents(t, vh.db)
	byNumber := map[string]*queue.Ticket{}
	for _, tk := range tickets {
		byNumber[tk.Number] = tk
	}
	ta, tb := byNumber[numberA], byNumber[numberB]
	if ta == nil || tb == nil || len(tickets) != 2 {
		fail("tickets in the store: %d, A %v, B %v; journal %+v", len(tickets), ta != nil, tb != nil, rows)
	}
	if got, want := eventsOf(rows, tb.ID), "join convert reserve dial connect complete"; got != want {
		fail("journal of B's callback (ticket %d): %s, want %s", tb.ID, got, want)
	}
	if tb.State != queue.Completed || tb.Kind != queue.Callback || tb.Attempts != 1 {
		fail("B's ticket: state %s, kind %s, %d attempts", tb.State, tb.Kind, tb.Attempts)
	}
	// The callback leg is vhold's own origination_uuid: ticket and attempt.
	if want := fmt.Sprintf("vhold-%d-1", tb.ID); cust.UUID() != want {
		fail("B's callback leg is %q, want vhold's origination_uuid %q", cust.UUID(), want)
	}
	if got, want := eventsOf(rows, ta.ID), "join reserve connect complete"; got != want {
		fail("journal of A's call (ticket %d): %s, want %s", ta.ID, got, want)
	}
	if ta.State != queue.Completed || ta.Kind != queue.Live {
		fail("A's ticket: state %s, kind %s", ta.State, ta.Kind)
	}
	if tb.Seq <= ta.Seq {
		fail("B's place %d is not behind A's %d", tb.Seq, ta.Seq)
	}
}

// pathsOf lists what a party heard, one path after the other.
func pathsOf(c *esltest.Call) string {
	var ps []string
	for _, h := range c.Heard() {
		ps = append(ps, h.Path)
	}
	return strings.Join(ps, " ")
}

// bridgedWith says whether x and y were ever bridged together: each one's
// log says "bridged with <the other's uuid>" (esltest logs it on
// uuid_bridge; BridgedWith says only who is bridged now).
func bridgedWith(x, y *esltest.Call) bool {
	has := func(c *esltest.Call, peer string) bool {
		for _, l := range c.Log() {
			if l == "bridged with "+peer {
				return true
			}
		}
		return false
	}
	return has(x, y.UUID()) && has(y, x.UUID())
}
