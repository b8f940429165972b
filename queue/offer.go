package queue

import (
	"fmt"
	"time"
)

// Hours is what the offer policy needs of a queue's business hours
// (package hours implements it).
type Hours interface {
	Open(t time.Time) bool
	// ClosesAt is the end of the open period containing t; false when t is
	// not in an open period or the period never ends.
	ClosesAt(t time.Time) (time.Time, bool)
	// NextOpen is the start of the next open period at or after t.
	NextOpen(t time.Time) time.Time
}

// OfferPolicy decides when a caller on hold hears "press 1 to keep your place
// and get a call back".
type OfferPolicy struct {
	Enabled bool
	// MinWait: below this estimated wait, holding is better than a callback.
	MinWait time.Duration
	// MaxOutstanding caps callbacks waiting in the queue, so the line does not
	// fill with promises the agents cannot keep.
	MaxOutstanding int
	// Horizon is the longest window vhold will promise.
	Horizon time.Duration
	// CloseMargin: the callback must be reachable this long before closing.
	CloseMargin time.Duration
	// ScheduledAfterHours offers a callback in the next open period when the
	// queue is closed (or closes before the backlog can be served).
	ScheduledAfterHours bool
}

// OfferKind is what the caller may be offered.
type OfferKind string

const (
	OfferNone      OfferKind = "none"
	OfferCallback  OfferKind = "callback"
	OfferScheduled OfferKind = "scheduled"
)

// Offer is the policy's answer for one caller, with its reason so the board
// and the logs can say why a caller was or was not offered a callback.
type Offer struct {
	Kind OfferKind
	// Window is the promise for a callback: "we will call you within Window".
	Window time.Duration
	// Slot is the start of the slot of a scheduled offer.
	Slot   time.Time
	Reason string
	Wait   Wait
}

// OfferFor evaluates the offer policy for a live ticket at its current place.
func (l *Line) OfferFor(id TicketID) (Offer, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	l.promote(now)
	t, err := l.get(id)
	if err != nil {
		return Offer{}, err
	}
	if t.Kind != Live || t.State != Waiting {
		return Offer{Kind: OfferNone, Reason: "not a caller on hold"}, nil
	}
	q := l.queues[t.Queue]
	return l.offer(q, l.estimate(q, t, now), now), nil
}

// OfferNew evaluates the offer policy for a request joining the back of a
// queue now (the web form asking "can you call me back?").
func (l *Line) OfferNew(queue string) (Offer, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	l.promote(now)
	q, ok := l.queues[queue]
	if !ok {
		return Offer{}, fmt.Errorf("offer %q: %w", queue, ErrNoQueue)
	}
	return l.offer(q, l.estimateAhead(q, len(q.due), now), now), nil
}

func (l *Line) offer(q *lineQueue, w Wait, now time.Time) Offer {
	p := q.cfg.Offer
	o := Offer{Kind: OfferNone, Wait: w}
	if !p.Enabled {
		o.Reason = "offers disabled for this queue"
		return o
	}
	scheduled := func(from time.Time, why string) Offer {
		o.Reason = why
		if !p.ScheduledAfterHours || q.cfg.Hours == nil {
			return o
		}
		o.Kind, o.Slot = OfferScheduled, q.cfg.Hours.NextOpen(from)
		return o
	}
	if h := q.cfg.Hours; h != nil && !h.Open(now) {
		return scheduled(now, "queue closed")
	}
	if !w.Known {
		o.Reason = "wait unknown: nobody staffs the queue"
		return o
	}
	if w.Mean < p.MinWait {
		o.Reason = fmt.Sprintf("estimated wait %s is under %s", w.Mean.Round(time.Second), p.MinWait)
		return o
	}
	if c := l.counts(q, now); p.MaxOutstanding > 0 && c.Callbacks+c.Scheduled >= p.MaxOutstanding {
		o.Reason = fmt.Sprintf("%d callbacks already outstanding", c.Callbacks+c.Scheduled)
		return o
	}
	window := promiseWindow(w, p.Horizon)
	if window > p.Horizon {
		o.Reason = fmt.Sprintf("the backlog needs %s, beyond the %s horizon", window, p.Horizon)
		return o
	}
	if h := q.cfg.Hours; h != nil {
		if closes, ok := h.ClosesAt(now); ok && now.Add(w.Pessimistic+p.CloseMargin).After(closes) {
			return scheduled(closes, fmt.Sprintf("the backlog cannot be called back before closing at %s", closes.Format("15:04")))
		}
	}
	o.Kind, o.Window, o.Reason = OfferCallback, window, "wait above threshold and capacity left"
	return o
}
