package dialer

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vhold/vhold/ivr"
	"github.com/vhold/vhold/pbx/pbxtest"
	"github.com/vhold/vhold/queue"
)

// fakeRecorder is both the IVR's and the dialer's Recorder: it keeps every
// call as "Method queue label…" with a count, and the waits.
type fakeRecorder struct {
	mu     sync.Mutex
	counts map[string]int
	waits  []wait
}

type wait struct{ announced, realised time.Duration }

var (
	_ ivr.Recorder = (*fakeRecorder)(nil)
	_ Recorder     = (*fakeRecorder)(nil)
)

func (f *fakeRecorder) add(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.counts == nil {
		f.counts = map[string]int{}
	}
	f.counts[key]++
}

func (f *fakeRecorder) CallEntered(q, pbx string)           { f.add("entered " + q + " " + pbx) }
func (f *fakeRecorder) Offered(q, kind string)              { f.add("offered " + q + " " + kind) }
func (f *fakeRecorder) Accepted(q, kind string)             { f.add("accepted " + q + " " + kind) }
func (f *fakeRecorder) Attempt(q, outcome string)           { f.add("attempt " + q + " " + outcome) }
func (f *fakeRecorder) Estimated(q string, _ time.Duration) { f.add("estimated " + q) }
func (f *fakeRecorder) Waited(q string, announced, realised time.Duration) {
	f.add("waited " + q)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waits = append(f.waits, wait{announced, realised})
}

// got returns the counts, keys sorted, as "key=n" lines for messages.
func (f *fakeRecorder) got() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.counts)
}

func show(m map[string]int) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "%s=%d\n", k, m[k])
	}
	return b.String()
}

// TestAttemptsByCause counts each dial of a callback's customer once, by how
// it ended: the PBX's outcome for a dial nobody answered, what the customer
// did for one they answered.
func TestAttemptsByCause(t *testing.T) {
	cases := []struct {
		name     string
		customer pbxtest.Answerer
		strategy Strategy
		want     map[string]int
	}{
		{name: "busy, no answer, then presses 1",
			customer: pbxtest.Attempts{pbxtest.Busy(), pbxtest.NoAnswer(), pressOne()},
			want:     map[string]int{"attempt support busy": 1, "attempt support no_answer": 1, "attempt support answered": 1}},
		{name: "answering machine every time", customer: pbxtest.Machine(5*time.Second, time.Minute),
			want: map[string]int{"attempt support machine": 3}},
		{name: "invalid number", customer: pbxtest.Invalid(),
			want: map[string]int{"attempt support invalid": 1}},
		{name: "unreachable, rejected, then not a good time",
			customer: pbxtest.Attempts{pbxtest.Unreachable(), pbxtest.Rejects(),
				pbxtest.Answers(4*time.Second, pbxtest.PressOn{Prompt: ivr.PromptConnectOrLater, Keys: "2"})},
			want: map[string]int{"attempt support unreachable": 1, "attempt support rejected": 1, "attempt support later": 1}},
		{name: "agent-first: busy, then answers", strategy: AgentFirst,
			customer: pbxtest.Attempts{pbxtest.Busy(), pbxtest.Answers(3 * time.Second)},
			want:     map[string]int{"attempt support busy": 1, "attempt support answered": 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &fakeRecorder{}
			r := newRig(t, rigOpts{strategy: c.strategy, rec: rec})
			r.sw.Customer(customer, c.customer)
			r.callback(customer)
			r.sim.RunFor(2 * time.Hour)
			got := rec.got()
			// A web callback is no live caller: nothing but attempts.
			if !maps.Equal(got, c.want) {
				t.Fatalf("recorded:\n%swant:\n%s", show(got), show(c.want))
			}
		})
	}
}

// TestLiveCallerMetrics follows three live callers through the IVR and the
// dialer: X is put through at once; Y hears the offer and takes it; Z hears
// it at every announcement while waiting behind Y's callback, and is put
// through. Every caller is counted as entered once, each offer once per
// caller however often it is repeated, Y's acceptance once, Y's callback as
// one answered attempt, and X's and Z's waits as the journal has them.
func TestLiveCallerMetrics(t *testing.T) {
	rec := &fakeRecorder{}
	r := newRig(t, rigOpts{rec: rec})
	const yNumber = "+34911000003"
	r.sw.Customer(yNumber, pressOne())
	r.sw.Dial(t0.Add(time.Second), pbxtest.Caller{Number: "+34911000002", Queue: "support"})
	r.sw.Dial(t0.Add(10*time.Second), pbxtest.Caller{Number: yNumber, Queue: "support", Script: []pbxtest.Action{
		pbxtest.PressOn{Prompt: ivr.PromptOfferCallback, Keys: "1", Delay: time.Second},
		pbxtest.PressOn{Prompt: ivr.PromptConfirmOrOther, Keys: "1", Delay: time.Second},
	}})
	z := r.sw.Dial(t0.Add(20*time.Second), pbxtest.Caller{Number: "+34911000004", Queue: "support"})
	r.sim.RunFor(30 * time.Minute)

	// The journal's own account: who joined live, who was connected, when.
	joined := map[queue.TicketID]time.Time{}
	var realised []time.Duration
	converted := 0
	for _, tr := range r.j.Transitions() {
		switch tr.Event {
		case queue.EvJoin:
			joined[tr.Ticket] = tr.At
		case queue.EvConvert:
			converted++
		case queue.EvConnect:
			if st := r.final(tr.Ticket); st.Kind == queue.Live {
				realised = append(realised, tr.At.Sub(joined[tr.Ticket]))
			}
		}
	}
	if len(joined) != 3 || converted != 1 || len(realised) != 2 {
		t.Fatalf("journal: %d joined, %d converted, %d live connected; want 3, 1, 2", len(joined), converted, len(realised))
	}
	if n := strings.Count(z.Transcript().String(), "sound:"+ivr.PromptOfferCallback); n < 2 {
		t.Fatalf("Z heard the offer %d times; the test wants it repeated", n)
	}

	got := rec.got()
	want := map[string]int{
		"entered support pbx1":      3,
		"offered support callback":  2, // Y and Z; X was put through before any wait
		"accepted support callback": 1,
		"attempt support answered":  1, // Y's callback
		"waited support":            2, // X and Z
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s = %d, want %d", k, got[k], n)
		}
	}
	if t.Failed() {
		t.Fatalf("recorded:\n%s", show(got))
	}
	rec.mu.Lock()
	waits := slices.Clone(rec.waits)
	rec.mu.Unlock()
	t.Logf("recorded:\n%swaits: %v", show(got), waits)
	for i, w := range waits {
		if w.realised != realised[i] {
			t.Errorf("wait %d: realised %s, journal says %s", i, w.realised, realised[i])
		}
	}
	// X was told no wait (an agent was free: a known estimate of 0); Z
	// was told one and waited behind X's call and Y's callback.
	if xw := waits[0]; xw.announced != 0 {
		t.Errorf("X: announced %s, want 0", xw.announced)
	}
	if zw := waits[1]; zw.announced <= 0 || zw.realised <= time.Minute {
		t.Errorf("Z: announced %s, realised %s; want a wait told and a real wait", zw.announced, zw.realised)
	}
}
