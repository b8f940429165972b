package asterisk_test

import (
	"testing"
	"time"
)

// Connected follows the event WebSocket: true once it is up, false when it
// is cut (before the stream reconnects), true again after the reconnect,
// and false once Serve has returned.
func TestConnectedFollowsTheEventStream(t *testing.T) {
	h := newHeld(t)
	sw, stop := h.serve(h.line, nil)
	until := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("gave up waiting until %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	until("connected", sw.Connected)
	if !h.srv.DropWebSocket() {
		t.Fatal("no WebSocket to cut")
	}
	// The stream waits a second before it reconnects.
	until("disconnected after the cut", func() bool { return !sw.Connected() })
	until("connected again", sw.Connected)
	stop()
	if sw.Connected() {
		t.Fatal("still connected after Serve returned")
	}
}
