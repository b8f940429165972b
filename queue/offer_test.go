package queue

import (
	"context"
	"strings"
	"testing"
	"time"
)

// dayHours is open every day from open to close (UTC): enough to drive the
// offer policy without the hours package.
type dayHours struct{ open, close time.Duration }

func (h dayHours) day(t time.Time) time.Time { return t.Truncate(24 * time.Hour) }
func (h dayHours) Open(t time.Time) bool {
	d := t.Sub(h.day(t))
	return d >= h.open && d < h.close
}
func (h dayHours) ClosesAt(t time.Time) (time.Time, bool) {
	if !h.Open(t) {
		return time.Time{}, false
	}
	return h.day(t).Add(h.close), true
}
func (h dayHours) NextOpen(t time.Time) time.Time {
	if h.Open(t) {
		return t
	}
	if t.Sub(h.day(t)) < h.open {
		return h.day(t).Add(h.open)
	}
	return h.day(t).Add(24*time.Hour + h.open)
}

func TestOfferPolicy(t *testing.T) {
	hours := dayHours{open: 8 * time.Hour, close: 18 * time.Hour}
	cases := []struct {
		name   string
		at     time.Time
		ahead  int // live callers already waiting
		agents int // agents serving support (0, 1 or 2)
		handle time.Duration
		mutate func(*QueueConfig)
		kind   OfferKind
		reason string
		slot   time.Time
		minWin time.Duration
		maxWin time.Duration
	}{
		{name: "short wait: hold is better", at: t0, ahead: 3, agents: 2, handle: time.Minute,
			kind: OfferNone, reason: "under"},
		{name: "long wait: offer with an honest window", at: t0, ahead: 10, agents: 1, handle: 5 * time.Minute,
			kind: OfferCallback, minWin: 55 * time.Minute, maxWin: 2 * time.Hour},
		{name: "backlog beyond the horizon", at: t0, ahead: 40, agents: 1, handle: 5 * time.Minute,
			kind: OfferNone, reason: "horizon"},
		{name: "capacity used up", at: t0, ahead: 10, agents: 1, handle: 5 * time.Minute,
			mutate: func(q *QueueConfig) { q.Offer.MaxOutstanding = 1 }, kind: OfferNone, reason: "outstanding"},
		{name: "closed: scheduled in the next open period", at: t0.Add(9 * time.Hour), ahead: 0, agents: 0, handle: 5 * time.Minute,
			kind: OfferScheduled, slot: t0.Add(22 * time.Hour), reason: "closed"},
		{name: "closing before the backlog: next morning", at: t0.Add(7*time.Hour + 30*time.Minute), ahead: 10, agents: 1, handle: 5 * time.Minute,
			kind: OfferScheduled, slot: t0.Add(22 * time.Hour), reason: "before closing"},
		{name: "nobody staffs the queue", at: t0, ahead: 3, agents: 0, handle: 0,
			kind: OfferNone, reason: "unknown"},
		{name: "disabled", at: t0, ahead: 10, agents: 1, handle: 5 * time.Minute,
			mutate: func(q *QueueConfig) { q.Offer.Enabled = false }, kind: OfferNone, reason: "disabled"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Queues[0].Hours = hours
			cfg.Queues[0].Estimate.PriorHandle = 0
			if c.mutate != nil {
				c.mutate(&cfg.Queues[0])
			}
			f := newFixture(t, cfg)
			f.clk.Set(c.at)
			f.pauseAll()
			ctx := context.Background()
			if c.handle > 0 {
				// Teach the estimator the handle time through one real call.
				if err := f.line.SetAgentState("alice", AgentAvailable, ""); err != nil {
					t.Fatal(err)
				}
				tk := f.join("support", Live, "")
				f.next()
				if _, err := f.line.Connect(ctx, tk.ID, "test"); err != nil {
					t.Fatal(err)
				}
				f.clk.Advance(c.handle)
				if _, err := f.line.Complete(ctx, tk.ID, "test"); err != nil {
					t.Fatal(err)
				}
				f.clk.Advance(time.Minute) // wrap-up over
				if err := f.line.SetAgentState("alice", AgentPaused, ""); err != nil {
					t.Fatal(err)
				}
			}
			for range c.ahead {
				f.join("support", Live, "")
			}
			me := f.join("support", Live, "")
			if cfg.Queues[0].Offer.MaxOutstanding == 1 {
				f.join("support", Callback, "+34911234567")
			}
			for i, id := range []string{"alice", "bob"} {
				if i < c.agents {
					if err := f.line.SetAgentState(id, AgentAvailable, ""); err != nil {
						t.Fatal(err)
					}
				}
			}
			// Staffed agents take the heads of the line; they are busy now.
			for range c.agents {
				if as := f.next(); as != nil {
					if _, err := f.line.Connect(ctx, as.Ticket.ID, "test"); err != nil {
						t.Fatal(err)
					}
				}
			}
			o, err := f.line.OfferFor(me.ID)
			if err != nil {
				t.Fatal(err)
			}
			if o.Kind != c.kind {
				t.Fatalf("offer = %s (%s), want %s; wait %+v", o.Kind, o.Reason, c.kind, o.Wait)
			}
			if c.reason != "" && !strings.Contains(o.Reason, c.reason) {
				t.Fatalf("reason %q does not mention %q", o.Reason, c.reason)
			}
			if !c.slot.IsZero() && !o.Slot.Equal(c.slot) {
				t.Fatalf("slot = %v, want %v", o.Slot, c.slot)
			}
			if c.kind == OfferCallback {
				if o.Window < c.minWin || o.Window > c.maxWin || o.Window < o.Wait.Pessimistic {
					t.Fatalf("window %s outside [%s, %s] or under the pessimistic wait %s", o.Window, c.minWin, c.maxWin, o.Wait.Pessimistic)
				}
			}
		})
	}
}

func TestOfferNewForTheWebForm(t *testing.T) {
	f := newFixture(t, testConfig())
	o, err := f.line.OfferNew("support")
	if err != nil {
		t.Fatal(err)
	}
	if o.Kind != OfferNone || !strings.Contains(o.Reason, "under") {
		t.Fatalf("empty queue with free agents: %+v", o)
	}
	if _, err := f.line.OfferNew("nope"); err == nil {
		t.Fatal("unknown queue accepted")
	}
}

func TestNoCallbackDialedOutsideHours(t *testing.T) {
	cfg := testConfig()
	cfg.Queues[0].Hours = dayHours{open: 8 * time.Hour, close: 18 * time.Hour}
	f := newFixture(t, cfg)
	f.pauseAll()
	f.clk.Set(t0.Add(8*time.Hour + 30*time.Minute)) // 18:30: closed
	cb := f.join("support", Callback, "+34911234567")
	live := f.join("support", Live, "")
	if err := f.line.SetAgentState("alice", AgentAvailable, ""); err != nil {
		t.Fatal(err)
	}
	as := f.next()
	if as == nil || as.Ticket.ID != live.ID {
		t.Fatalf("after hours next = %+v, want the caller still on the line %d", as, live.ID)
	}
	if err := f.line.SetAgentState("bob", AgentAvailable, ""); err != nil {
		t.Fatal(err)
	}
	if as := f.next(); as != nil {
		t.Fatalf("callback %d handed out after hours", as.Ticket.ID)
	}
	if w := f.line.NextWake(); !w.Equal(t0.Add(22 * time.Hour)) {
		t.Fatalf("NextWake = %v, want the next opening", w)
	}
	f.clk.Set(t0.Add(22 * time.Hour))
	if as := f.next(); as == nil || as.Ticket.ID != cb.ID {
		t.Fatalf("at opening next = %+v, want the callback", as)
	}
}
