package queue

import (
	"context"
	"testing"
	"time"

	"github.com/vhold/vhold/clock"
)

// reachConfig is one queue served by a1, homed on PBX "A", and b1, homed on
// "B", both paused; reach lists, per PBX, the PBXs whose agents it can dial.
func reachConfig(reach map[string][]string) Config {
	cfg := testConfig()
	cfg.Agents = []AgentConfig{
		{ID: "a1", Queues: []string{"support"}, Node: "A", InitialState: AgentPaused},
		{ID: "b1", Queues: []string{"support"}, Node: "B", InitialState: AgentPaused},
	}
	cfg.Reach = func(call, agent string) bool {
		for _, n := range reach[call] {
			if n == agent {
				return true
			}
		}
		return false
	}
	return cfg
}

// joinOn adds a ticket whose call is (or was) on PBX node.
func (f *fixture) joinOn(kind Kind, node, number string) *Ticket {
	f.t.Helper()
	j, err := f.line.Join(context.Background(), JoinRequest{Queue: "support", Kind: kind, Number: number, Node: node, Actor: "test"})
	if err != nil {
		f.t.Fatal(err)
	}
	f.clk.Advance(time.Second)
	return j.Ticket
}

// free makes agent id available and returns what Next hands out.
func (f *fixture) free(id string) *Assignment {
	f.t.Helper()
	if err := f.line.SetAgentState(id, AgentAvailable, "test"); err != nil {
		f.t.Fatal(err)
	}
	return f.next()
}

func wantTicket(t *testing.T, as *Assignment, agent string, want *Ticket) {
	t.Helper()
	switch {
	case want == nil && as != nil:
		t.Fatalf("%s was given ticket %d (node %q), want nothing", as.Agent.ID, as.Ticket.ID, as.Ticket.Node)
	case want == nil:
	case as == nil:
		t.Fatalf("nothing handed out, want ticket %d for %s", want.ID, agent)
	case as.Agent.ID != agent || as.Ticket.ID != want.ID:
		t.Fatalf("%s was given ticket %d, want %s given ticket %d", as.Agent.ID, as.Ticket.ID, agent, want.ID)
	}
}

func TestAgentOnAnotherPBXSkipsCallersItCannotReach(t *testing.T) {
	f := newFixture(t, reachConfig(nil))
	onA := f.joinOn(Live, "A", "")
	onB := f.joinOn(Live, "B", "")
	onA2 := f.joinOn(Live, "A", "")

	// b1 cannot be bridged to A's callers: it takes the first caller on its
	// own PBX, behind the head.
	wantTicket(t, f.free("b1"), "b1", onB)
	if err := f.line.SetAgentState("b1", AgentAvailable, "test"); err != nil {
		t.Fatal(err)
	}
	wantTicket(t, f.next(), "b1", nil)

	// A's callers keep their places for A's agents, in their order.
	wantTicket(t, f.free("a1"), "a1", onA)
	if err := f.line.SetAgentState("a1", AgentAvailable, "test"); err != nil {
		t.Fatal(err)
	}
	wantTicket(t, f.next(), "a1", onA2)
}

func TestReachLetsAnAgentTakeTheHead(t *testing.T) {
	// A can dial B's agents, not the other way round.
	f := newFixture(t, reachConfig(map[string][]string{"A": {"B"}}))
	onA := f.joinOn(Live, "A", "")
	onB := f.joinOn(Live, "B", "")
	wantTicket(t, f.free("b1"), "b1", onA)
	// Reach is directional: B's caller is not a1's.
	wantTicket(t, f.free("a1"), "a1", nil)
	if err := f.line.SetAgentState("b1", AgentAvailable, "test"); err != nil {
		t.Fatal(err)
	}
	wantTicket(t, f.next(), "b1", onB)
}

func TestCallbacksGoToAnyPBXsAgent(t *testing.T) {
	f := newFixture(t, reachConfig(nil))
	// A caller on A who pressed 1 keeps Node A; the callback is dialed from
	// the agent's own PBX, so b1 takes it at its place.
	onA := f.joinOn(Live, "A", "")
	cb := f.joinOn(Callback, "A", "+34611000001")
	if _, err := f.line.Convert(context.Background(), onA.ID, "+34611000002", "test"); err != nil {
		t.Fatal(err)
	}
	wantTicket(t, f.free("b1"), "b1", onA)
	if err := f.line.SetAgentState("b1", AgentAvailable, "test"); err != nil {
		t.Fatal(err)
	}
	wantTicket(t, f.next(), "b1", cb)
}

func TestEmptyNodesAndNoReachMatchEveryone(t *testing.T) {
	f := newFixture(t, reachConfig(nil))
	anywhere := f.joinOn(Live, "", "")
	wantTicket(t, f.free("b1"), "b1", anywhere)

	// Without a Reach function (one PBX), nodes are not compared at all.
	cfg := reachConfig(nil)
	cfg.Reach = nil
	g := newFixture(t, cfg)
	onA := g.joinOn(Live, "A", "")
	wantTicket(t, g.free("b1"), "b1", onA)
}

func TestUnreachableHeadOutsideHoursOnlyLiveCallers(t *testing.T) {
	cfg := reachConfig(nil)
	cfg.Queues[0].Hours = dayHours{open: 12 * time.Hour, close: 18 * time.Hour} // closed at t0 (10:00)
	f := newFixture(t, cfg)
	f.joinOn(Callback, "B", "+34611000001")
	f.joinOn(Live, "A", "")
	onB := f.joinOn(Live, "B", "")
	// Closed: the callback is not dialed, A's caller is not b1's; B's is.
	wantTicket(t, f.free("b1"), "b1", onB)
	if err := f.line.SetAgentState("b1", AgentAvailable, "test"); err != nil {
		t.Fatal(err)
	}
	wantTicket(t, f.next(), "b1", nil)
}

func TestAgentsOnAPBXThatTakesNothingLetOthersThrough(t *testing.T) {
	cfg := reachConfig(nil)
	cfg.Agents = append(cfg.Agents, AgentConfig{ID: "b2", Queues: []string{"support"}, Node: "B", InitialState: AgentPaused})
	f := newFixture(t, cfg)
	onA := f.joinOn(Live, "A", "")
	onA2 := f.joinOn(Live, "A", "")
	// b1 and b2 have idled longest, and neither can take A's callers.
	for _, id := range []string{"b1", "b2", "a1"} {
		if err := f.line.SetAgentState(id, AgentAvailable, "test"); err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(time.Second)
	}
	wantTicket(t, f.next(), "a1", onA)
	onB := f.joinOn(Live, "B", "")
	wantTicket(t, f.next(), "b1", onB)
	wantTicket(t, f.next(), "b2", nil)
	if err := f.line.SetAgentState("a1", AgentAvailable, "test"); err != nil {
		t.Fatal(err)
	}
	wantTicket(t, f.next(), "a1", onA2)
}

// BenchmarkNextReach: an agent on PBX B takes the next B caller in a line of
// 10,000 where nine callers in ten are on PBX A, which B's agents cannot be
// bridged to; so Next scans past A's callers, further and further down.
func BenchmarkNextReach(b *testing.B) {
	ctx := context.Background()
	build := func() *Line {
		b.Helper()
		l, err := NewLine(reachConfig(nil), clock.NewFake(t0), &countingJournal{}, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		for i := range benchWaiting {
			node := "A"
			if i%10 == 9 {
				node = "B"
			}
			if _, err := l.Join(ctx, JoinRequest{Queue: "support", Kind: Live, Node: node}); err != nil {
				b.Fatal(err)
			}
		}
		return l
	}
	l := build()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i > 0 && i%(benchWaiting/10) == 0 {
			b.StopTimer()
			l = build()
			b.StartTimer()
		}
		if err := l.SetAgentState("b1", AgentAvailable, ""); err != nil {
			b.Fatal(err)
		}
		as, err := l.Next(ctx)
		if err != nil || as == nil || as.Ticket.Node != "B" {
			b.Fatalf("next: %v %v", as, err)
		}
	}
}
