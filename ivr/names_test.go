package ivr

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/pbx/pbxtest"
	"github.com/vhold/vhold/queue"
)

// A caller's recorded name lives as long as their ticket: kept while the
// callback waits, deleted once it has ended.
func TestNameDeletedWhenCallbackEnds(t *testing.T) {
	r := newRig(t, func(c *rigConfig) {
		c.setSupport(func(o *QueueOptions) { o.RecordName = true })
	})
	stop := r.ivr.ForgetNames(context.Background(), map[string]pbx.Switch{"pbx1": r.sw})
	defer stop()
	r.teach()
	c := r.sw.Dial(t0, pbxtest.Caller{Number: ownNumber, Name: "Ana", Queue: "support", Script: []pbxtest.Action{
		takeOffer, press(PromptConfirmOrOther, "1"),
	}})
	r.serve(nil)
	r.run(time.Hour)
	tk := r.ticketOf(c)
	if tk == nil || tk.Kind != queue.Callback || tk.Name != nameOf(tk.ID) {
		t.Fatalf("ticket %+v, want a callback with a recorded name", tk)
	}
	if !slices.Contains(r.sw.Recordings(), tk.Name) {
		t.Fatalf("recordings %v while the callback waits, want %s kept", r.sw.Recordings(), tk.Name)
	}
	if _, err := r.line.Cancel(context.Background(), tk.ID, "test", "test"); err != nil {
		t.Fatal(err)
	}
	waitGone(t, r.sw, tk.Name)
}

// waitGone waits (in real time: the deleting goroutine is not simulated)
// until the switch no longer keeps the recording.
func waitGone(t *testing.T, sw *pbxtest.Switch, name string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for slices.Contains(sw.Recordings(), name) {
		if time.Now().After(deadline) {
			t.Fatalf("recording %s still kept: %v", name, sw.Recordings())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
