package ivr

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/pbx/pbxtest"
	"github.com/vhold/vhold/queue"
)

// t0 is a Monday morning, when the test callers dial in.
var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// handle is the handle time the line learns before the callers dial, so the
// wait announced to a caller alone in line is exactly this long and the
// promise is the next speakable step above its 90% quantile (15 minutes).
const handle = 5 * time.Minute

const agentEndpoint = "PJSIP/1001"

// rigConfig is what a test may change before the world is built.
type rigConfig struct {
	line queue.Config
	ivr  Config
}

func (c *rigConfig) queue() *queue.QueueConfig { return &c.line.Queues[0] }

// setSupport changes the IVR options of the support queue.
func (c *rigConfig) setSupport(f func(*QueueOptions)) {
	o := c.ivr.Queues["support"]
	f(&o)
	c.ivr.Queues["support"] = o
}

func baseConfig() *rigConfig {
	return &rigConfig{
		line: queue.Config{
			Queues: []queue.QueueConfig{{
				Name:     "support",
				Estimate: queue.EstimatorOptions{PriorHandle: handle},
				Offer:    queue.OfferPolicy{Enabled: true, MinWait: 2 * time.Minute, Horizon: 2 * time.Hour},
			}},
			Agents: []queue.AgentConfig{{ID: "a1", Endpoint: agentEndpoint, Queues: []string{"support"}}},
		},
		ivr: Config{Queues: map[string]QueueOptions{
			"support": {Language: "en", Country: "ES", AllowedCountries: []string{"ES"}},
		}},
	}
}

// rig is the IVR serving a pbxtest switch in virtual time, on a line with
// an in-memory journal.
type rig struct {
	t       *testing.T
	sim     *pbxtest.Sim
	sw      *pbxtest.Switch
	journal *queue.MemJournal
	line    *queue.Line
	ivr     *IVR
	conn    *fakeConn
	ctx     context.Context
	stop    context.CancelFunc

	mu      sync.Mutex
	prompts []pbx.Prompt // every prompt played on the switch, in order
}

func newRig(t *testing.T, conf func(*rigConfig)) *rig {
	t.Helper()
	cfg := baseConfig()
	if conf != nil {
		conf(cfg)
	}
	// The world starts a handle time before t0, so teach can run a
	// conversation before the callers dial.
	r := &rig{t: t, sim: pbxtest.NewSim(t0.Add(-handle)), journal: queue.NewMemJournal()}
	r.sw = pbxtest.NewSwitch(r.sim, "pbx1", pbxtest.Options{Seed: 1, PromptDuration: func(p pbx.Prompt) time.Duration {
		r.mu.Lock()
		r.prompts = append(r.prompts, p)
		r.mu.Unlock()
		return pbxtest.DefaultPromptDuration(p)
	}})
	line, err := queue.NewLine(cfg.line, r.sim, r.journal, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.line = line
	r.conn = &fakeConn{attached: map[queue.TicketID]pbx.Call{}, tickets: map[string]queue.TicketID{}}
	r.ivr = New(cfg.ivr, line, r.sim, r.conn, nil)
	r.ctx, r.stop = context.WithCancel(context.Background())
	return r
}

// serve starts the switch serving h (the IVR's Handle by default).
func (r *rig) serve(h pbx.Handler) {
	if h == nil {
		h = r.ivr.Handle
	}
	r.sim.Go(func() { _ = r.sw.Serve(r.ctx, h) })
}

// run runs the world until d after t0, then stops the switch and checks that
// every simulated goroutine has ended.
func (r *rig) run(d time.Duration) {
	r.t.Helper()
	r.sim.Run(t0.Add(d))
	r.stop()
	r.sim.RunFor(0)
	if n := r.sim.Live(); n != 0 {
		r.t.Fatalf("%d simulated goroutines still live after the switch stopped", n)
	}
}

// teach runs one conversation of the handle time through the line, so the
// estimator has learned it, and leaves the only agent busy: a caller alone
// in line then waits about one handle time.
func (r *rig) teach() {
	r.t.Helper()
	ctx := context.Background()
	j, err := r.line.Join(ctx, queue.JoinRequest{Queue: "support", Kind: queue.Live, CallRef: "warm-up", Actor: "test"})
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.line.Next(ctx); err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.line.Connect(ctx, j.Ticket.ID, "test"); err != nil {
		r.t.Fatal(err)
	}
	r.sim.Run(t0)
	if _, err := r.line.Complete(ctx, j.Ticket.ID, "test"); err != nil {
		r.t.Fatal(err)
	}
	r.busy()
}

// busy puts the agent on another call.
func (r *rig) busy() {
	r.t.Helper()
	for _, st := range []queue.AgentState{queue.AgentAvailable, queue.AgentReserved, queue.AgentBusy} {
		if err := r.line.SetAgentState("a1", st, "test"); err != nil {
			r.t.Fatal(err)
		}
	}
}

// callback puts a callback for number in line, as the web form would.
func (r *rig) callback(number string) *queue.Ticket {
	r.t.Helper()
	j, err := r.line.Join(context.Background(), queue.JoinRequest{Queue: "support", Kind: queue.Callback, Number: number, Actor: "test"})
	if err != nil {
		r.t.Fatal(err)
	}
	return j.Ticket
}

// ticketOf returns the stored ticket a call joined the line as, or nil.
func (r *rig) ticketOf(c *pbxtest.Call) *queue.Ticket {
	id, ok := r.conn.ticket(c.ID())
	if !ok {
		return nil
	}
	t, ok := r.journal.Stored(id)
	if !ok {
		r.t.Fatalf("ticket %d of %s not in the journal", id, c.ID())
	}
	return t
}

// events returns the journal's events for one ticket, in order.
func (r *rig) events(id queue.TicketID) []queue.Event {
	var evs []queue.Event
	for _, tr := range r.journal.Transitions() {
		if tr.Ticket == id {
			evs = append(evs, tr.Event)
		}
	}
	return evs
}

// transition returns the first transition of ticket id with event ev.
func (r *rig) transition(id queue.TicketID, ev queue.Event) (queue.Transition, bool) {
	for _, tr := range r.journal.Transitions() {
		if tr.Ticket == id && tr.Event == ev {
			return tr, true
		}
	}
	return queue.Transition{}, false
}

// languages returns the set of languages prompts were played in.
func (r *rig) languages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ls []string
	for _, p := range r.prompts {
		if !slices.Contains(ls, p.Language) {
			ls = append(ls, p.Language)
		}
	}
	slices.Sort(ls)
	return ls
}

// fakeConn is the dialer's side of the Connector: it records attachments and
// lets a test start a "dialer" for a caller once they are in line.
type fakeConn struct {
	mu       sync.Mutex
	attached map[queue.TicketID]pbx.Call
	tickets  map[string]queue.TicketID // call id → ticket
	log      []string
	onAttach func(id queue.TicketID, c pbx.Call)
}

func (f *fakeConn) Attach(id queue.TicketID, c pbx.Call) {
	f.mu.Lock()
	f.attached[id] = c
	f.tickets[c.ID()] = id
	f.log = append(f.log, fmt.Sprintf("attach %d", id))
	on := f.onAttach
	f.mu.Unlock()
	if on != nil {
		on(id, c)
	}
}

func (f *fakeConn) Detach(id queue.TicketID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.attached, id)
	f.log = append(f.log, fmt.Sprintf("detach %d", id))
}

func (f *fakeConn) ticket(callID string) (queue.TicketID, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.tickets[callID]
	return id, ok
}

func (f *fakeConn) stillAttached() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.attached)
}

// inOrder reports the first of want that does not appear in got after the
// previous one; "" when all do.
func inOrder(got, want []string) string {
	i := 0
	for _, w := range want {
		for i < len(got) && got[i] != w {
			i++
		}
		if i == len(got) {
			return w
		}
		i++
	}
	return ""
}

// stepAt returns the time of the first step what in a transcript.
func stepAt(tr pbxtest.Transcript, what string) (time.Time, bool) {
	for _, s := range tr {
		if s.What == what {
			return s.At, true
		}
	}
	return time.Time{}, false
}

func count(tr pbxtest.Transcript, what string) int {
	n := 0
	for _, s := range tr {
		if s.What == what {
			n++
		}
	}
	return n
}

func eventsString(evs []queue.Event) string {
	s := make([]string, len(evs))
	for i, e := range evs {
		s[i] = string(e)
	}
	return strings.Join(s, " ")
}
