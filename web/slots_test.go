package web

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/vhold/vhold/hours"
	"github.com/vhold/vhold/queue"
)

func at(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, time.UTC) }

func (f *fixture) slots(query string) slotsView {
	f.t.Helper()
	f.hosts++
	rec := f.do(req{path: "/api/v1/queues/" + query, from: fmt.Sprintf("10.7.%d.%d:1", f.hosts/250, f.hosts%250)})
	if rec.Code != http.StatusOK {
		f.t.Fatalf("%s: %d %s", query, rec.Code, rec.Body)
	}
	return decode[slotsView](f.t, rec)
}

// An open, idle queue offers every slot of its hours, aligned to the clock,
// from the next one on.
func TestSlotsOfAnIdleQueue(t *testing.T) {
	f := newFixture(t)
	f.clk.Set(at(23, 10, 7)) // Monday 10:07
	v := f.slots("support/slots?days=1")
	if v.Queue != "support" || v.Timezone != "UTC" || v.SlotSeconds != 1800 || v.Reason != "" {
		t.Errorf("view %+v", v)
	}
	var want []slot
	for s := at(23, 10, 30); s.Before(at(23, 18, 0)); s = s.Add(30 * time.Minute) {
		want = append(want, slot{s, s.Add(30 * time.Minute)})
	}
	// Tomorrow, until 24 hours from now.
	want = append(want, slot{at(24, 9, 0), at(24, 9, 30)}, slot{at(24, 9, 30), at(24, 10, 0)}, slot{at(24, 10, 0), at(24, 10, 30)})
	if fmt.Sprint(v.Slots) != fmt.Sprint(want) {
		t.Errorf("slots\n%v\nwant\n%v", v.Slots, want)
	}
	// The default is three days, and none is on the weekend's closed days:
	// Friday's last slot, then Monday's until 17:00.
	f.clk.Set(at(27, 17, 0)) // Friday 17:00
	v = f.slots("support/slots")
	if n := len(v.Slots); n != 17 || !v.Slots[0].Start.Equal(at(27, 17, 30)) || !v.Slots[1].Start.Equal(at(30, 9, 0)) ||
		!v.Slots[n-1].Start.Equal(at(30, 16, 30)) {
		t.Errorf("Friday evening to Monday 17:00: %v", v.Slots)
	}
}

// Slots are aligned to the queue's own clock, across a change of daylight
// saving time.
func TestSlotsInTheQueuesZone(t *testing.T) {
	madrid, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	h, err := hours.Parse("Europe/Madrid", []string{"daily 09:00-11:00"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(o *Options) {
		q := o.Queues["sales"]
		q.Hours, q.Location, q.SlotLength = h, madrid, time.Hour
		o.Queues["sales"] = q
	})
	// Saturday 27 March 2027, 12:00 in Madrid; the clocks go forward on the
	// Sunday morning.
	f.clk.Set(time.Date(2027, 3, 27, 12, 0, 0, 0, madrid))
	v := f.slots("sales/slots?days=2")
	if v.Timezone != "Europe/Madrid" || v.SlotSeconds != 3600 {
		t.Errorf("view %+v", v)
	}
	var got []string
	for _, s := range v.Slots {
		got = append(got, s.Start.In(madrid).Format("Mon 15:04 MST"))
	}
	want := "[Sun 09:00 CEST Sun 10:00 CEST Mon 09:00 CEST Mon 10:00 CEST]"
	if fmt.Sprint(got) != want {
		t.Errorf("slots %v, want %s", got, want)
	}
}

// The backlog comes first: no slot starts before the line could reach a
// ticket joining now.
func TestSlotsBehindTheBacklog(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.RateLimit.PerIP = -1 })
	ctx := context.Background()
	for i := range 30 {
		if _, err := f.line.Join(ctx, queue.JoinRequest{Queue: "sales", Kind: queue.Callback, Number: mobile(i)}); err != nil {
			t.Fatal(err)
		}
	}
	w, err := f.line.EstimateNew("sales")
	if err != nil || !w.Known {
		t.Fatalf("estimate %+v %v", w, err)
	}
	reach := t0.Add(w.Pessimistic)
	v := f.slots("sales/slots?days=1")
	if len(v.Slots) == 0 {
		t.Fatal("no slots")
	}
	first := v.Slots[0].Start
	if first.Before(reach) || !first.Before(reach.Add(30*time.Minute)) {
		t.Errorf("first slot %s; the backlog is reached at %s", first, reach)
	}
	// And a request for an earlier one is refused with the reason.
	early := reach.Add(-30 * time.Minute).Truncate(30 * time.Minute)
	rec := f.create(body("number", mobile(99), "queue", "sales", "when", early.Format(time.RFC3339)))
	e := wantError(t, rec, 409, "slot_unavailable", "when")
	t.Log(e.Reason)
}

// Nobody staffing an open queue: no time can be promised, and the answer
// says why rather than offering slots nobody will keep.
func TestSlotsWithNobodyStaffing(t *testing.T) {
	f := newFixture(t)
	if err := f.line.SetAgentState("carol", queue.AgentPaused, "break"); err != nil {
		t.Fatal(err)
	}
	v := f.slots("sales/slots")
	if len(v.Slots) != 0 || v.Reason == "" {
		t.Errorf("view %+v", v)
	}
	wantError(t, f.create(body("number", mobile(1), "queue", "sales", "when", "2026-11-23T15:00:00Z")), 409, "slot_unavailable", "when")
}

// While closed, the roster is expected at the opening and the backlog
// waiting for it is served first.
func TestSlotsWhileClosed(t *testing.T) {
	f := newFixture(t)
	f.clk.Set(at(28, 12, 0)) // Saturday
	for _, a := range []string{"alice", "bob"} {
		if err := f.line.SetAgentState(a, queue.AgentOffline, "weekend"); err != nil {
			t.Fatal(err)
		}
	}
	v := f.slots("support/slots?days=3")
	if len(v.Slots) == 0 || !v.Slots[0].Start.Equal(at(30, 9, 0)) {
		t.Fatalf("slots %v", v.Slots)
	}
	// Thirty callbacks waiting for Monday: two agents at five minutes a
	// call need over an hour for them (more at the promise's quantile).
	ctx := context.Background()
	for i := range 30 {
		if _, err := f.line.Join(ctx, queue.JoinRequest{Queue: "support", Kind: queue.Callback, Number: mobile(i)}); err != nil {
			t.Fatal(err)
		}
	}
	v = f.slots("support/slots?days=3")
	if first := v.Slots[0].Start; first.Before(at(30, 10, 15)) || first.After(at(30, 11, 30)) {
		t.Errorf("first slot %s, want after the backlog of 30", first)
	}
}

func TestSlotsCapacity(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		q := o.Queues["sales"]
		q.HandleTime = 12 * time.Minute // one agent: two per 30 minutes
		o.Queues["sales"] = q
	})
	ctx := context.Background()
	for i := range 2 {
		if _, err := f.line.Join(ctx, queue.JoinRequest{Queue: "sales", Kind: queue.Scheduled, Number: mobile(i), SlotStart: at(23, 11, 0)}); err != nil {
			t.Fatal(err)
		}
	}
	// One in the next slot, off the grid: it counts against 11:30.
	if _, err := f.line.Join(ctx, queue.JoinRequest{Queue: "sales", Kind: queue.Scheduled, Number: mobile(5), SlotStart: at(23, 11, 40)}); err != nil {
		t.Fatal(err)
	}
	v := f.slots("sales/slots?days=1")
	starts := map[time.Time]bool{}
	for _, s := range v.Slots {
		starts[s.Start] = true
	}
	if starts[at(23, 11, 0)] || !starts[at(23, 10, 30)] || !starts[at(23, 11, 30)] || !starts[at(23, 12, 0)] {
		t.Errorf("slots %v: 11:00 is full, 11:30 has room for one more", v.Slots)
	}
}

func TestSlotsRequest(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.RateLimit.PerIP = -1 })
	for _, d := range []string{"0", "15", "x", "-1", "1.5"} {
		wantError(t, f.do(req{path: "/api/v1/queues/support/slots?days=" + d}), 400, "invalid_parameter", "days")
	}
	wantError(t, f.do(req{path: "/api/v1/queues/support/slots?day=1"}), 400, "unknown_parameter", "day")
	wantError(t, f.do(req{path: "/api/v1/queues/nope/slots"}), 404, "unknown_queue", "queue")
	if v := f.slots("support/slots?days=14"); len(v.Slots) == 0 {
		t.Error("no slots in 14 days")
	}
}
