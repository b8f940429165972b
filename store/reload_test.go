package store

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/vhold/vhold/clock"
	"github.com/vhold/vhold/queue"
)

// TestLineReloadsExactly builds a line on a file-backed store (live callers,
// callbacks converted in the middle, priorities, a scheduled slot, a retry
// backoff), reopens the file as a restart would, and finds the same order,
// the same positions and the same promises.
func TestLineReloadsExactly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vhold.db")
	clk := clock.NewFake(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	cfg := queue.Config{
		Queues: []queue.QueueConfig{
			{Name: "support", Estimate: queue.EstimatorOptions{PriorHandle: 5 * time.Minute},
				Callback: queue.CallbackPolicy{MaxAttempts: 3, RetryDelays: []time.Duration{10 * time.Minute}}},
			{Name: "billing", Estimate: queue.EstimatorOptions{PriorHandle: 5 * time.Minute}},
		},
		Agents: []queue.AgentConfig{{ID: "alice", Queues: []string{"support", "billing"}, InitialState: queue.AgentPaused}},
	}
	s := openAt(t, path, Options{})
	line, err := queue.NewLine(cfg, clk, s, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var retried queue.TicketID
	for i := range 30 {
		q := []string{"support", "billing"}[i%2]
		j, err := line.Join(ctx, queue.JoinRequest{Queue: q, Kind: queue.Live, Priority: map[bool]int{true: 1}[i%7 == 0]})
		if err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if _, err := line.Convert(ctx, j.Ticket.ID, fmt.Sprintf("+349112345%02d", i), "ivr"); err != nil {
				t.Fatal(err)
			}
		}
		clk.Advance(7 * time.Second)
	}
	if _, err := line.Join(ctx, queue.JoinRequest{Queue: "support", Kind: queue.Scheduled, Number: "+34911234599",
		SlotStart: clk.Now().Add(time.Hour), Category: "money"}); err != nil {
		t.Fatal(err)
	}
	// One callback fails an attempt and waits out its backoff.
	if err := line.SetAgentState("alice", queue.AgentAvailable, ""); err != nil {
		t.Fatal(err)
	}
	as, err := line.Next(ctx)
	if err != nil || as == nil {
		t.Fatalf("next: %v %v", as, err)
	}
	if as.Ticket.Kind == queue.Live {
		t.Fatalf("expected the priority callback first, got %+v", as.Ticket)
	}
	retried = as.Ticket.ID
	if _, err := line.Dial(ctx, retried, "dialer"); err != nil {
		t.Fatal(err)
	}
	if _, err := line.Retry(ctx, retried, "busy", "dialer"); err != nil {
		t.Fatal(err)
	}
	if err := line.SetAgentState("alice", queue.AgentPaused, ""); err != nil {
		t.Fatal(err)
	}
	type snap struct {
		order map[string][]*queue.Ticket
		pos   map[queue.TicketID]int
	}
	take := func(l *queue.Line) snap {
		sn := snap{order: map[string][]*queue.Ticket{}, pos: map[queue.TicketID]int{}}
		for _, q := range []string{"support", "billing"} {
			ts, err := l.Waiting(q)
			if err != nil {
				t.Fatal(err)
			}
			sn.order[q] = ts
			for _, tk := range ts {
				p, err := l.Position(tk.ID)
				if err != nil {
					t.Fatal(err)
				}
				sn.pos[tk.ID] = p
			}
		}
		return sn
	}
	before := take(line)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := openAt(t, path, Options{})
	active, err := s2.Active(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reloaded, err := queue.NewLine(cfg, clk, s2, active, nil)
	if err != nil {
		t.Fatal(err)
	}
	after := take(reloaded)
	for _, q := range []string{"support", "billing"} {
		if !reflect.DeepEqual(before.order[q], after.order[q]) {
			t.Errorf("%s order after reload differs:\n got %v\nwant %v", q, after.order[q], before.order[q])
		}
	}
	if !reflect.DeepEqual(before.pos, after.pos) {
		t.Errorf("positions after reload: %v, want %v", after.pos, before.pos)
	}
	got, _, err := reloaded.Ticket(retried)
	if err != nil {
		t.Fatal(err)
	}
	if got.Attempts != 1 || got.NotBefore.IsZero() {
		t.Errorf("retried callback after reload: attempts %d not before %v", got.Attempts, got.NotBefore)
	}
}
