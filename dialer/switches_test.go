package dialer

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vhold/vhold/ivr"
	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/pbx/pbxtest"
	"github.com/vhold/vhold/queue"
)

// twoPBX is the line, the IVR and the dialer on two in-memory switches, "A"
// and "B", where A can dial B's agents (a shared registrar) but not the
// other way round. Agent a1 (PJSIP/1001) is homed on A, b1 (PJSIP/2001) on
// B, c1 (PJSIP/3001) on "C", which has no switch; only the agents in free
// start available.
type twoPBX struct {
	t      *testing.T
	sim    *pbxtest.Sim
	a, b   *pbxtest.Switch
	j      *queue.MemJournal
	line   *queue.Line
	d      *Dialer
	cancel context.CancelFunc
}

func newTwoPBX(t *testing.T, free ...string) *twoPBX {
	t.Helper()
	r := &twoPBX{t: t, sim: pbxtest.NewSim(t0), j: queue.NewMemJournal()}
	r.a = pbxtest.NewSwitch(r.sim, "A", pbxtest.Options{Seed: 7})
	r.b = pbxtest.NewSwitch(r.sim, "B", pbxtest.Options{Seed: 8})
	agent := func(id, ep, node string) queue.AgentConfig {
		st := queue.AgentPaused
		for _, f := range free {
			if f == id {
				st = queue.AgentAvailable
			}
		}
		return queue.AgentConfig{ID: id, Endpoint: ep, Node: node, Queues: []string{"support"}, WrapUp: 30 * time.Second, InitialState: st}
	}
	cfg := queue.Config{
		Queues: []queue.QueueConfig{{
			Name:     "support",
			Estimate: queue.EstimatorOptions{PriorHandle: 5 * time.Minute},
			Callback: queue.CallbackPolicy{MaxAttempts: 3, RetryDelays: []time.Duration{2 * time.Minute}},
		}},
		Agents: []queue.AgentConfig{
			agent("a1", "PJSIP/1001", "A"), agent("b1", "PJSIP/2001", "B"), agent("c1", "PJSIP/3001", "C"),
		},
		Reach: func(call, agent string) bool { return call == "A" && agent == "B" },
	}
	talks := pbxtest.Talks(2*time.Second, pbxtest.Fixed(3*time.Minute))
	r.a.Agent("PJSIP/1001", talks)
	r.a.Agent("PJSIP/2001", talks) // A reaches B's agents
	r.b.Agent("PJSIP/2001", talks)
	line, err := queue.NewLine(cfg, r.sim, r.j, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.line = line
	var conn Late
	flows := ivr.New(ivr.Config{Queues: map[string]ivr.QueueOptions{"support": {Language: "en", Country: "ES"}}}, line, r.sim, &conn, nil)
	r.d = New(line, []pbx.Switch{r.a, r.b}, flows, r.sim, map[string]QueueOptions{
		"support": {CallerID: pbx.Party{Number: "+34910000000"}, DialString: "PJSIP/{number}@trunk"},
	}, nil)
	conn.D = r.d
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.sim.Go(func() { _ = r.a.Serve(ctx, flows.Handle) })
	r.sim.Go(func() { _ = r.b.Serve(ctx, flows.Handle) })
	r.d.Start(ctx)
	t.Cleanup(func() {
		cancel()
		r.sim.RunFor(time.Minute)
		r.d.Stop()
		if n := r.sim.Live(); n != 0 {
			t.Errorf("%d goroutines still running after stop", n)
		}
	})
	return r
}

func (r *twoPBX) ticket(id queue.TicketID) (*queue.Ticket, []string) {
	r.t.Helper()
	st, ok := r.j.Stored(id)
	if !ok {
		r.t.Fatalf("ticket %d not stored", id)
	}
	var evs []string
	for _, tr := range r.j.Transitions() {
		if tr.Ticket == id {
			evs = append(evs, string(tr.Event)+":"+tr.Reason)
		}
	}
	return st, evs
}

func endpoints(sw *pbxtest.Switch) []string {
	var out []string
	for _, o := range sw.Originations() {
		out = append(out, o.Endpoint)
	}
	return out
}

func (r *twoPBX) callback(node string) *queue.Ticket {
	r.t.Helper()
	var out *queue.Ticket
	r.sim.Go(func() {
		j, err := r.line.Join(context.Background(), queue.JoinRequest{Queue: "support", Kind: queue.Callback,
			Number: customer, Language: "en", Node: node, Actor: "test"})
		if err != nil {
			r.t.Error(err)
			return
		}
		out = j.Ticket
	})
	r.sim.RunFor(0)
	if out == nil {
		r.t.Fatal("join failed")
	}
	return out
}

// A caller on A is taken by b1, homed on B, because A reaches B: b1's phone
// is rung through A, the caller's switch, where the bridge can be made.
func TestLiveAgentLegOnTheCallersSwitch(t *testing.T) {
	r := newTwoPBX(t, "b1")
	caller := r.a.Dial(t0.Add(time.Second), pbxtest.Caller{Number: "+34611000002", Queue: "support"})
	r.sim.RunFor(10 * time.Minute)
	got, evs := r.ticket(1)
	if got.State != queue.Completed || got.Node != "A" {
		t.Fatalf("caller's ticket %s on %q; journal %q", got.State, got.Node, evs)
	}
	if missing := inOrder(evs, []string{"reserve:agent b1", "connect", "complete"}); missing != nil {
		t.Fatalf("journal %q lacks %q", evs, missing)
	}
	if eps := endpoints(r.a); len(eps) != 1 || eps[0] != "PJSIP/2001" {
		t.Fatalf("A originated %q, want b1's phone only", eps)
	}
	if eps := endpoints(r.b); len(eps) != 0 {
		t.Fatalf("B originated %q for a caller on A", eps)
	}
	if !strings.Contains(caller.Transcript().String(), "bridged") {
		t.Fatalf("caller never bridged:\n%s", caller.Transcript())
	}
}

// A caller on B is not taken by a1 (B does not reach A): it waits for an
// agent on B.
func TestLiveCallerWaitsForAnAgentItsSwitchReaches(t *testing.T) {
	r := newTwoPBX(t, "a1")
	r.b.Dial(t0.Add(time.Second), pbxtest.Caller{Number: "+34611000002", Queue: "support"})
	r.sim.RunFor(5 * time.Minute)
	if got, evs := r.ticket(1); got.State != queue.Waiting {
		t.Fatalf("caller on B: %s; journal %q (a1 on A cannot be bridged to it)", got.State, evs)
	}
	if n := len(r.a.Originations()) + len(r.b.Originations()); n != 0 {
		t.Fatalf("%d calls placed", n)
	}
	if err := r.line.SetAgentState("b1", queue.AgentAvailable, "login"); err != nil {
		t.Fatal(err)
	}
	r.sim.RunFor(10 * time.Minute)
	if got, evs := r.ticket(1); got.State != queue.Completed {
		t.Fatalf("caller on B after b1 logged in: %s; journal %q", got.State, evs)
	}
	if eps := endpoints(r.b); len(eps) != 1 || eps[0] != "PJSIP/2001" {
		t.Fatalf("B originated %q, want b1's phone", eps)
	}
}

// A callback taken by b1 is dialed from B, b1's home, both legs, whatever
// PBX the customer first called.
func TestCallbackDialedFromTheAgentsSwitch(t *testing.T) {
	for _, strategy := range []Strategy{CustomerFirst, AgentFirst} {
		t.Run(string(strategy), func(t *testing.T) {
			r := newTwoPBX(t, "b1")
			r.d.opts["support"] = QueueOptions{Strategy: strategy, CallerID: pbx.Party{Number: "+34910000000"}, DialString: "PJSIP/{number}@trunk"}
			r.b.Customer(customer, pressOne())
			tk := r.callback("A")
			r.sim.RunFor(time.Hour)
			got, evs := r.ticket(tk.ID)
			if got.State != queue.Completed {
				t.Fatalf("callback %s %q; journal %q", got.State, got.FinalReason, evs)
			}
			eps := endpoints(r.b)
			if len(eps) != 2 || !strings.Contains(strings.Join(eps, " "), customer+"@trunk") || !strings.Contains(strings.Join(eps, " "), "PJSIP/2001") {
				t.Fatalf("B originated %q, want the customer and b1", eps)
			}
			if eps := endpoints(r.a); len(eps) != 0 {
				t.Fatalf("A originated %q for b1's callback", eps)
			}
		})
	}
}

// An agent homed on a PBX the dialer has no switch for cannot be rung: the
// agent goes offline with the reason, and the callback keeps its place for
// another agent, no attempt used.
func TestAgentOnAnUnknownSwitchGoesOffline(t *testing.T) {
	r := newTwoPBX(t, "c1")
	r.b.Customer(customer, pressOne())
	tk := r.callback("")
	r.sim.RunFor(time.Minute)
	got, evs := r.ticket(tk.ID)
	if got.State != queue.Waiting || got.Attempts != 0 {
		t.Fatalf("callback %s after %d attempts; journal %q", got.State, got.Attempts, evs)
	}
	if missing := inOrder(evs, []string{"reserve:agent c1", `release:agent c1's PBX cannot be dialed: no connection to a PBX named "C"`}); missing != nil {
		t.Fatalf("journal %q lacks %q", evs, missing)
	}
	for _, a := range r.line.Agents() {
		if a.ID == "c1" && (a.State != queue.AgentOffline || !strings.Contains(a.Reason, `"C"`)) {
			t.Fatalf("c1 is %s (%q), want offline with the reason", a.State, a.Reason)
		}
	}
	if err := r.line.SetAgentState("b1", queue.AgentAvailable, "login"); err != nil {
		t.Fatal(err)
	}
	r.sim.RunFor(time.Hour)
	if got, evs := r.ticket(tk.ID); got.State != queue.Completed {
		t.Fatalf("callback after b1 logged in: %s; journal %q", got.State, evs)
	}
}
