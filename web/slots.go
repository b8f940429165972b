package web

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/vhold/vhold/queue"
)

// Slots: what a queue can still promise.
//
// A form must never offer a time the contact centre cannot keep, so a slot
// [start, start+L) (L: the queue's slot length; its end is the promise's
// deadline) is offered only if all of these hold:
//
//  1. Hours: start is after now, the queue is open at start, and still open
//     at start+L: callbacks are not dialed while the queue is closed.
//     Slots are aligned to the queue's local clock (every L from midnight:
//     09:00, 09:30…), so every client shows the same choices.
//  2. Backlog: start is no earlier than the earliest time the line can
//     reach a ticket joining now. While the queue is open that is now plus
//     the pessimistic wait of a new ticket (queue.Line.EstimateNew): the
//     tickets already in line are served before a slot's ticket joins them,
//     and a slot opening sooner would be eaten by them. While it is closed
//     it is the next opening plus the pessimistic time for the whole roster,
//     all free at the opening, to clear the backlog waiting for it, with the
//     queue's configured handle time.
//  3. Capacity: fewer scheduled callbacks are booked in the slot than
//     staff × L / handle time (rounded down), the calls the staff can make
//     in one slot. Staff is the agents serving the queue who are logged in
//     and not paused now; while the queue is closed (when agents are
//     usually logged out) it is every agent serving it, the roster expected
//     at the opening. The handle time is the queue's configured one (the
//     line does not publish the one it learns).
//
// With nobody staffing an open queue, the wait cannot be known and no slot
// is offered: any figure would be invented.

// Slot days a request may ask for.
const (
	defaultSlotDays = 3
	maxSlotDays     = 14
)

// plan is what a queue can promise in slots, as of one moment.
type plan struct {
	queue    string
	opts     QueueOptions
	now      time.Time
	staff    int
	capacity int
	// earliest is the earliest slot start the backlog allows.
	earliest time.Time
	// none says why no slot can be promised at all; empty when some can.
	none string
	// booked counts the scheduled callbacks waiting, by their grid slot's
	// start in Unix seconds.
	booked map[int64]int
}

// plan works out the queue's capacity, backlog and bookings now.
func (s *Server) plan(name string, now time.Time) (*plan, error) {
	qo := s.queues[name]
	p := &plan{queue: name, opts: qo, now: now, booked: map[int64]int{}}
	staffed, roster := 0, 0
	for _, a := range s.line.Agents() {
		if !servesQueue(a, name) {
			continue
		}
		roster++
		if a.State != queue.AgentOffline && a.State != queue.AgentPaused {
			staffed++
		}
	}
	if qo.Hours == nil || qo.Hours.Open(now) {
		p.staff = staffed
		w, err := s.line.EstimateNew(name)
		if err != nil {
			return nil, fmt.Errorf("plan slots of %s: %w", name, err)
		}
		switch {
		case staffed == 0:
			p.none = "nobody staffs the queue now, so no time can be promised"
		case !w.Known:
			p.none = "the wait cannot be estimated yet, so no time can be promised"
		}
		p.earliest = now.Add(w.Pessimistic)
	} else {
		p.staff = roster
		if roster == 0 {
			p.none = "no agent serves this queue"
		}
		c, err := s.line.Counts(name)
		if err != nil {
			return nil, fmt.Errorf("plan slots of %s: %w", name, err)
		}
		est := queue.NewEstimator(queue.EstimatorOptions{PriorHandle: qo.HandleTime, Quantile: qo.Quantile})
		w := est.Estimate(c.Due, max(roster, 1), max(roster, 1), queue.HeadOfLine{})
		open := qo.Hours.NextOpen(now)
		if open.IsZero() {
			p.none = "the queue never opens again"
		}
		p.earliest = open.Add(w.Pessimistic)
	}
	p.capacity = int(int64(p.staff) * int64(qo.SlotLength) / int64(qo.HandleTime))
	if p.none == "" && p.capacity == 0 {
		p.none = fmt.Sprintf("%d agents cannot finish a %s call within a %s slot", p.staff, qo.HandleTime, qo.SlotLength)
	}
	waiting, err := s.line.Waiting(name)
	if err != nil {
		return nil, fmt.Errorf("plan slots of %s: %w", name, err)
	}
	for _, t := range waiting {
		if t.Kind == queue.Scheduled && !t.SlotStart.IsZero() {
			p.booked[p.floor(t.SlotStart).Unix()]++
		}
	}
	return p, nil
}

func servesQueue(a queue.Agent, q string) bool {
	for _, n := range a.Queues {
		if n == q {
			return true
		}
	}
	return false
}

// slotMinutes is the slot length in whole minutes, the grid's step.
func (p *plan) slotMinutes() int { return max(int(p.opts.SlotLength/time.Minute), 1) }

// floor is the start of the grid slot holding t: the last multiple of the
// slot length after local midnight, on the wall clock, so slots stay at
// 09:00, 09:30… across a change of daylight saving time.
func (p *plan) floor(t time.Time) time.Time {
	l := t.In(p.opts.Location)
	m := p.slotMinutes()
	k := (l.Hour()*60 + l.Minute()) / m
	return time.Date(l.Year(), l.Month(), l.Day(), 0, k*m, 0, 0, p.opts.Location)
}

// ceil is the first grid slot start at or after t.
func (p *plan) ceil(t time.Time) time.Time {
	f := p.floor(t)
	if !f.Before(t) {
		return f
	}
	l := f.In(p.opts.Location)
	next := time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute()+p.slotMinutes(), 0, 0, p.opts.Location)
	if !next.After(f) { // a wall clock that went back: step in real time
		next = f.Add(p.opts.SlotLength)
	}
	return next
}

// hoursProblem says why the hours rule refuses a slot starting at start,
// and when the queue next opens; empty when it does not.
func (p *plan) hoursProblem(start time.Time) string {
	h := p.opts.Hours
	if h == nil {
		return ""
	}
	if !h.Open(start) {
		return fmt.Sprintf("the queue is closed then; it next opens %s", p.local(h.NextOpen(start)))
	}
	if closes, ok := h.ClosesAt(start); ok && start.Add(p.opts.SlotLength).After(closes) {
		return fmt.Sprintf("a %s slot starting then would end after the queue closes at %s", p.opts.SlotLength, p.local(closes))
	}
	return ""
}

// keepable says why a slot starting at start that passes the hours rule
// cannot be promised (backlog, capacity); empty when it can.
func (p *plan) keepable(start time.Time) string {
	switch {
	case p.none != "":
		return p.none
	case start.Before(p.earliest):
		return fmt.Sprintf("the callbacks already waiting take until about %s", p.local(p.earliest))
	case p.booked[p.floor(start).Unix()] >= p.capacity:
		return "that slot is fully booked"
	}
	return ""
}

func (p *plan) local(t time.Time) string {
	return t.In(p.opts.Location).Format("2006-01-02 15:04 MST")
}

// slot is one offered slot.
type slot struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// slots lists the slots that can be promised, starting before until.
func (p *plan) slots(until time.Time) []slot {
	out := []slot{}
	if p.none != "" {
		return out
	}
	from := p.now.Add(time.Nanosecond)
	if p.earliest.After(from) {
		from = p.earliest
	}
	t := p.ceil(from)
	// The bound only guards against a schedule that never lets t move on;
	// 14 days of one-minute slots fit well within it.
	for i := 0; t.Before(until) && i < 50000; i++ {
		if h := p.opts.Hours; h != nil {
			if !h.Open(t) {
				next := h.NextOpen(t)
				if next.IsZero() {
					break
				}
				t = p.ceil(next)
				continue
			}
			if closes, ok := h.ClosesAt(t); ok && t.Add(p.opts.SlotLength).After(closes) {
				t = p.ceil(closes)
				continue
			}
		}
		if p.booked[t.Unix()] < p.capacity {
			out = append(out, slot{Start: t.UTC(), End: t.Add(p.opts.SlotLength).UTC()})
		}
		next := p.ceil(t.Add(p.opts.SlotLength))
		if !next.After(t) {
			next = t.Add(p.opts.SlotLength)
		}
		t = next
	}
	return out
}

type slotsView struct {
	Queue       string `json:"queue"`
	Timezone    string `json:"timezone"`
	SlotSeconds int64  `json:"slot_seconds"`
	Slots       []slot `json:"slots"`
	// Reason says why no slot is offered, when none is.
	Reason string `json:"reason,omitempty"`
}

func handleSlots(s *Server, w http.ResponseWriter, r *http.Request) error {
	if !s.authenticated(r) {
		if err := limited(w, s.slotsIP, s.clientKey(r), "from this address"); err != nil {
			return err
		}
	}
	if err := onlyParams(r, "days"); err != nil {
		return err
	}
	name := r.PathValue("queue")
	if _, ok := s.queues[name]; !ok {
		return unknownQueue(name)
	}
	days := defaultSlotDays
	if d := r.URL.Query().Get("days"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > maxSlotDays {
			return fail(http.StatusBadRequest, "invalid_parameter", "days", "days must be a whole number from 1 to %d (got %q)", maxSlotDays, d)
		}
		days = n
	}
	now := s.clock.Now()
	p, err := s.plan(name, now)
	if err != nil {
		return err
	}
	v := slotsView{Queue: name, Timezone: p.opts.Location.String(), SlotSeconds: int64(p.opts.SlotLength / time.Second)}
	v.Slots = p.slots(now.Add(time.Duration(days) * 24 * time.Hour))
	if len(v.Slots) == 0 {
		v.Reason = p.none
		if v.Reason == "" {
			v.Reason = fmt.Sprintf("every slot in the next %d days is booked, closed or behind the backlog", days)
		}
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
