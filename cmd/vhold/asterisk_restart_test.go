package main

import (
	"context"
	"path"
	"testing"
	"time"

	"github.com/vhold/vhold/pbx/asterisk/aritest"
	"github.com/vhold/vhold/queue"
)

// TestServeRestartKeepsHeldCaller restarts the vhold binary (SIGTERM, as
// systemd and docker do) while a caller holds on the fake Asterisk. The
// caller is not dropped and stays in Stasis with music while no vhold runs;
// the next vhold takes the call back at the same place, without a second
// greeting, and when an agent is free the caller is put through to them. The
// journal shows no abandon in between.
func TestServeRestartKeepsHeldCaller(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the vhold binary")
	}
	bin := vholdBinary(t)
	srv := aritest.New(aritest.Options{Speed: 20, SoundExists: func(string, string) bool { return true }})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// Alice answers and, after 40 s of the fake's time (2 s), hangs up.
	alice := srv.Endpoint("PJSIP/1001", aritest.Behaviour{Outcome: aritest.Answer, Ring: time.Second,
		Script: aritest.Script{{Delay: 40 * time.Second, HangUp: true}}})
	dir := t.TempDir()
	addr := freeAddr(t)
	// First run: alice is paused, so the caller holds.
	cfg := rigConfig{ARI: srv.URL(), Listen: addr, AgentState: "paused"}.write(t, dir)
	first := startVhold(t, bin, cfg, addr)
	first.waitFor(t, "the ARI WebSocket", 20*time.Second, srv.Connected)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := srv.Call(aritest.CallSpec{Caller: aritest.Party{Number: "+34611000001"}, Args: []string{"support"}})
	if _, err := c.WaitHeard(ctx, "*you-are-number"); err != nil {
		t.Fatalf("caller never heard their position: %v; heard %+v; vhold:\n%s", err, c.Heard(), first.out.String())
	}
	if code := first.stop(t); code != 0 {
		t.Fatalf("first vhold exited %d; output:\n%s", code, first.out.String())
	}
	if c.HungUp() {
		t.Fatalf("stopping vhold dropped the caller; log %v", c.Log())
	}
	// The music comes back once the prompt cut by the stop has ended (a
	// channel's operations run in turn: callback-flow.jsonl).
	mctx, mcancel := context.WithTimeout(ctx, 10*time.Second)
	defer mcancel()
	if err := srv.WaitFor(mctx, func() bool { return c.MOH() != "" }); err != nil {
		t.Fatalf("the caller waits in silence while vhold is down; MOH %+v", c.MOHHistory())
	}
	from := len(c.Heard())

	// Second run: alice has logged in meanwhile.
	cfg = rigConfig{ARI: srv.URL(), Listen: addr, AgentState: "available"}.write(t, dir)
	second := startVhold(t, bin, cfg, addr)
	second.waitFor(t, "the caller put through to alice", 30*time.Second, func() bool { return len(c.BridgedWith()) > 0 })
	for _, h := range c.Heard()[from:] {
		if path.Base(h.Media) == "greeting" {
			t.Fatalf("the caller was greeted again after the restart: %+v", c.Heard()[from:])
		}
	}
	if err := c.WaitHungUp(ctx); err != nil {
		t.Fatalf("caller's leg not ended after alice hung up: %v", err)
	}
	second.waitFor(t, "the line to settle", 20*time.Second, func() bool {
		h := second.health()
		return h != nil && idle(h["support"])
	})
	if code := second.stop(t); code != 0 {
		t.Fatalf("second vhold exited %d; output:\n%s", code, second.out.String())
	}
	for i, p := range []*vholdProc{first, second} {
		if errs := logErrors(p.out.Bytes()); len(errs) > 0 {
			t.Fatalf("vhold run %d logged errors: %v", i+1, errs)
		}
	}
	if n := len(alice.Calls()); n != 1 {
		t.Fatalf("alice was rung %d times, want once", n)
	}
	rows, tickets := storeContents(t, first.db)
	if len(tickets) != 1 {
		t.Fatalf("%d tickets, want the caller's one", len(tickets))
	}
	tk := tickets[0]
	if got, want := eventsOf(rows, tk.ID), "join reserve connect complete"; got != want {
		t.Fatalf("journal of the caller: %q, want %q", got, want)
	}
	if tk.State != queue.Completed {
		t.Fatalf("ticket after the restart: %s", tk.State)
	}
}
