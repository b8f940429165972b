package queue

import (
	"fmt"
	"sort"
	"time"
)

// position is how many due tickets are served before t: 0 means next. A
// ticket that is not due yet (a future slot, a retry backoff) is counted
// against the tickets that are due now, which is where it will stand when it
// becomes due if nobody else joins.
func (l *Line) position(t *Ticket) int {
	if t.State != Waiting {
		return 0
	}
	return l.queues[t.Queue].search(t)
}

// Position returns the number of due tickets ahead of ticket id.
func (l *Line) Position(id TicketID) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.promote(l.clock.Now())
	t, err := l.get(id)
	if err != nil {
		return 0, err
	}
	return l.position(t), nil
}

// Ticket returns a copy of an active ticket and its position.
func (l *Line) Ticket(id TicketID) (*Ticket, int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.promote(l.clock.Now())
	t, err := l.get(id)
	if err != nil {
		return nil, 0, err
	}
	return t.Clone(), l.position(t), nil
}

// ActiveCallback returns the number's active callback in a queue, if any.
func (l *Line) ActiveCallback(queue, number string) (*Ticket, int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.promote(l.clock.Now())
	id, ok := l.callbacks[numberKey{queue, number}]
	if !ok {
		return nil, 0, false
	}
	t := l.tickets[id]
	return t.Clone(), l.position(t), true
}

// LiveCall returns the active live ticket of a call on a PBX node, if any:
// how a call that outlived a restart or a reconnect finds its place again.
// It scans the line; adoption is rare enough not to need an index.
func (l *Line) LiveCall(node, callRef string) (*Ticket, int, bool) {
	if callRef == "" {
		return nil, 0, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.promote(l.clock.Now())
	for _, t := range l.tickets {
		if t.Kind == Live && t.CallRef == callRef && t.Node == node {
			return t.Clone(), l.position(t), true
		}
	}
	return nil, 0, false
}

// Counts is a queue's tickets by what they are doing.
type Counts struct {
	// OnHold: live callers waiting in line.
	OnHold int `json:"on_hold"`
	// Callbacks: callbacks waiting for their place (including those in a
	// retry backoff and scheduled ones whose slot has opened).
	Callbacks int `json:"callbacks"`
	// Scheduled: scheduled callbacks whose slot has not opened yet.
	Scheduled int `json:"scheduled"`
	// Due: waiting tickets that could be served right now.
	Due       int `json:"due"`
	Reserved  int `json:"reserved"`
	Dialing   int `json:"dialing"`
	Connected int `json:"connected"`
}

// Counts returns the current counts of a queue.
func (l *Line) Counts(queue string) (Counts, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	l.promote(now)
	q, ok := l.queues[queue]
	if !ok {
		return Counts{}, fmt.Errorf("counts %q: %w", queue, ErrNoQueue)
	}
	return l.counts(q, now), nil
}

func (l *Line) counts(q *lineQueue, now time.Time) Counts {
	var c Counts
	c.Due = len(q.due)
	for _, t := range l.tickets {
		if t.Queue != q.cfg.Name {
			continue
		}
		switch t.State {
		case Waiting:
			switch {
			case t.Kind == Live:
				c.OnHold++
			case t.Kind == Scheduled && now.Before(t.SlotStart):
				c.Scheduled++
			default:
				c.Callbacks++
			}
		case Reserved:
			c.Reserved++
		case Dialing:
			c.Dialing++
		case Connected:
			c.Connected++
		}
	}
	return c
}

// Waiting returns a queue's waiting tickets in the order they will be served:
// the due ones first, then those due later by the time they become due.
func (l *Line) Waiting(queue string) ([]*Ticket, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.promote(l.clock.Now())
	q, ok := l.queues[queue]
	if !ok {
		return nil, fmt.Errorf("waiting %q: %w", queue, ErrNoQueue)
	}
	out := make([]*Ticket, 0, len(q.due)+len(q.later))
	for _, t := range q.due {
		out = append(out, t.Clone())
	}
	later := append(laterHeap(nil), q.later...)
	sort.Sort(later)
	for _, t := range later {
		out = append(out, t.Clone())
	}
	return out, nil
}

// Queues returns the configured queue names in config order.
func (l *Line) Queues() []string { return append([]string(nil), l.order...) }

// Agents returns every agent, sorted by id.
func (l *Line) Agents() []Agent {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.promote(l.clock.Now())
	out := make([]Agent, 0, len(l.agents))
	for _, a := range l.agents {
		c := *a
		c.Queues = append([]string(nil), a.Queues...)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// SetAgentState moves an agent (login, pause, ringing, logoff…) along the
// agent state table. Agents' states are not journaled: they come back from
// the config and the PBX after a restart.
func (l *Line) SetAgentState(id string, st AgentState, reason string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	l.promote(now)
	a, ok := l.agents[id]
	if !ok {
		return fmt.Errorf("agent %q: %w", id, ErrNoAgent)
	}
	if !agentCan(a.State, st) {
		return fmt.Errorf("agent %q: %w: %s to %s", id, ErrIllegalTransition, a.State, st)
	}
	if a.State != st {
		a.State, a.Since = st, now
	}
	a.Reason = reason
	switch st {
	case AgentAvailable, AgentOffline, AgentPaused:
		a.Ticket = 0
	}
	l.tellAgent(a)
	l.changed()
	return nil
}

// Estimate returns the wait for a ticket at its current place.
func (l *Line) Estimate(id TicketID) (Wait, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	l.promote(now)
	t, err := l.get(id)
	if err != nil {
		return Wait{}, err
	}
	return l.estimate(l.queues[t.Queue], t, now), nil
}

// EstimateNew returns the wait for someone joining the back of a queue now.
func (l *Line) EstimateNew(queue string) (Wait, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	l.promote(now)
	q, ok := l.queues[queue]
	if !ok {
		return Wait{}, fmt.Errorf("estimate %q: %w", queue, ErrNoQueue)
	}
	return l.estimateAhead(q, len(q.due), now), nil
}

func (l *Line) estimate(q *lineQueue, t *Ticket, now time.Time) Wait {
	return l.estimateAhead(q, l.position(t), now)
}

// estimateAhead asks the queue's estimator for the wait behind ahead due
// tickets, with the agents staffing the queue right now.
func (l *Line) estimateAhead(q *lineQueue, ahead int, now time.Time) Wait {
	servers, free := 0, 0
	for _, a := range l.agents {
		if !a.serves(q.cfg.Name) || !a.staffed() {
			continue
		}
		servers++
		if a.State == AgentAvailable {
			free++
		}
	}
	if servers == 0 {
		// Nobody staffs the queue: any figure (even the head of the line's
		// wait so far) would be invented. Say nothing rather than promise.
		return Wait{Basis: BasisUnknown}
	}
	var hol HeadOfLine
	if len(q.due) > 0 {
		// From when the head became due: a scheduled callback has not been
		// waiting while its slot was still ahead.
		hol = HeadOfLine{Wait: now.Sub(q.due[0].DueAt()), Waiting: len(q.due)}
	}
	return q.est.Estimate(ahead, servers, free, hol)
}

// MinPromise is the shortest window vhold promises: even with an agent free
// now, a callback takes a dial, a ring and an answer, and "within a minute"
// is a promise a person would not make.
const MinPromise = 5 * time.Minute

// promiseWindow is how long we tell a customer to expect: the pessimistic
// wait rounded up to what a person would say, or the queue's horizon when the
// wait cannot be estimated (nobody staffs the queue, no history).
// PromiseWindow is how long vhold can believably promise a callback at
// ticket id's place right now: the pessimistic wait rounded up to what a
// person would say, at least MinPromise, or the queue's horizon when the wait
// cannot be known. The honest reset of a slipping promise uses it, so a
// reset is made by the same rule as the promise it replaces.
func (l *Line) PromiseWindow(id TicketID) (time.Duration, Wait, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	l.promote(now)
	t, err := l.get(id)
	if err != nil {
		return 0, Wait{}, err
	}
	q := l.queues[t.Queue]
	w := l.estimate(q, t, now)
	return promiseWindow(w, q.cfg.Offer.Horizon), w, nil
}

func promiseWindow(w Wait, horizon time.Duration) time.Duration {
	if !w.Known {
		return horizon
	}
	return max(RoundForSpeech(w.Pessimistic, true), MinPromise)
}
