package queue

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vhold/vhold/clock"
)

// countingJournal assigns ids and sequence numbers and keeps nothing: these
// benchmarks measure the line's own work (ordering, positions, dispatch);
// durable commits are measured by the store's benchmarks.
type countingJournal struct{ n int64 }

func (c *countingJournal) Insert(_ context.Context, t *Ticket, tr *Transition) error {
	c.n++
	t.ID, t.Seq, tr.Ticket, tr.JournalID = TicketID(c.n), c.n, TicketID(c.n), c.n
	return nil
}

func (c *countingJournal) Commit(_ context.Context, _ *Ticket, tr *Transition) error {
	c.n++
	tr.JournalID = c.n
	return nil
}

const benchWaiting = 10000

// benchLine returns a line with n live callers waiting in "support" and its
// one agent paused, plus their ids in order.
func benchLine(b *testing.B, n int) (*Line, *clock.Fake, []TicketID) {
	b.Helper()
	clk := clock.NewFake(t0)
	cfg := testConfig()
	cfg.Agents = []AgentConfig{{ID: "alice", Queues: []string{"support"}, InitialState: AgentPaused}}
	l, err := NewLine(cfg, clk, &countingJournal{}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]TicketID, 0, n)
	for range n {
		j, err := l.Join(context.Background(), JoinRequest{Queue: "support", Kind: Live})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, j.Ticket.ID)
		clk.Advance(time.Millisecond)
	}
	return l, clk, ids
}

// BenchmarkJoin: a caller joins the back of a line of 10,000.
func BenchmarkJoin(b *testing.B) {
	ctx := context.Background()
	l, clk, _ := benchLine(b, benchWaiting)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i > 0 && i%benchWaiting == 0 { // keep the line near 10,000
			b.StopTimer()
			l, clk, _ = benchLine(b, benchWaiting)
			b.StartTimer()
		}
		clk.Advance(time.Millisecond)
		if _, err := l.Join(ctx, JoinRequest{Queue: "support", Kind: Live}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConvertToCallback: a caller somewhere in a line of 10,000 presses 1.
func BenchmarkConvertToCallback(b *testing.B) {
	ctx := context.Background()
	l, _, ids := benchLine(b, benchWaiting)
	rng := rand.New(rand.NewPCG(1, 2))
	order := rng.Perm(len(ids))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % benchWaiting
		if i > 0 && k == 0 {
			b.StopTimer()
			l, _, ids = benchLine(b, benchWaiting)
			b.StartTimer()
		}
		if _, err := l.Convert(ctx, ids[order[k]], fmt.Sprintf("+1202555%04d", k), "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNext: an agent frees up and takes the head of a line of 5,000 to
// 10,000.
func BenchmarkNext(b *testing.B) {
	ctx := context.Background()
	l, _, _ := benchLine(b, benchWaiting)
	if err := l.SetAgentState("alice", AgentAvailable, ""); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i > 0 && i%(benchWaiting/2) == 0 {
			b.StopTimer()
			l, _, _ = benchLine(b, benchWaiting)
			b.StartTimer()
		}
		if i%(benchWaiting/2) == 0 {
			if err := l.SetAgentState("alice", AgentAvailable, ""); err != nil {
				b.Fatal(err)
			}
		}
		as, err := l.Next(ctx)
		if err != nil || as == nil {
			b.Fatalf("next: %v %v", as, err)
		}
		// The agent comes straight back (the ticket stays reserved, out of line).
		if err := l.SetAgentState("alice", AgentAvailable, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPosition: where is this caller in a line of 10,000?
func BenchmarkPosition(b *testing.B) {
	l, _, ids := benchLine(b, benchWaiting)
	rng := rand.New(rand.NewPCG(3, 4))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := l.Position(ids[rng.IntN(len(ids))]); err != nil {
			b.Fatal(err)
		}
	}
}
