package freeswitch_test

import (
	"testing"
	"time"

	"github.com/vhold/vhold/pbx/freeswitch"
)

// Connected follows the event socket: false before Serve, true once it is
// up, false when it is cut (before Serve reconnects), true again after the
// reconnect, and false once Serve has returned.
func TestConnectedFollowsTheEventSocket(t *testing.T) {
	h := newHeld(t)
	if freeswitch.New(h.options()).Connected() {
		t.Fatal("connected before Serve")
	}
	sw, stop := h.serve(h.line)
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
	if h.srv.DropConnection() == 0 {
		t.Fatal("no connection to cut")
	}
	// Serve waits a second (MinBackoff) before it reconnects.
	until("disconnected after the cut", func() bool { return !sw.Connected() })
	until("connected again", sw.Connected)
	stop()
	if sw.Connected() {
		t.Fatal("still connected after Serve returned")
	}
}
