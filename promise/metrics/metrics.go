// Package metrics measures how well vhold keeps its callback promises: how
// many were made, how punctual the calls were against the window first
// promised, how delayed promises were recovered, whether second windows were
// kept, and who had to chase us. The same figures feed the `vhold report`
// table and the Prometheus gauges at /metrics, so the two never disagree.
//
// Everything is derived from the tickets and the journal (the audit trail the
// design says the board, the metrics and the tests read), not from counters
// kept in memory: a restart loses nothing, a report for last week can be run
// today, and the figures can be re-derived after a definition changes.
//
// # Definitions
//
// A callback is a ticket of kind callback or scheduled. It is in a report for
// [since, until) when its promise was made in that interval: at
// Promise.PromisedAt, or, for rows written before promised_at existed, at its
// first convert or schedule transition, else its join, else JoinedAt.
// Outcomes are read from everything the store knows, including what happened
// after until; only "still pending" is judged at until.
//
// The original window is [PromisedAt, OriginalDeadline] for a callback and
// [SlotStart, OriginalDeadline] for a scheduled callback, both ends included.
// A ticket without any deadline counts as promised and, where it applies,
// chased, escalated or resolved in writing, but not in the figures that need a
// deadline (punctuality, delayed, missed).
//
//   - Punctuality, as Mindful defines it: for each callback that connected,
//     0 when it connected inside its original window, else the minutes from
//     the nearest edge of that window. Reported as the count inside, the mean
//     over connected callbacks, and a distribution (0, ≤5, ≤15, ≤60, >60 min).
//   - Delayed: not connected by the original deadline. Connected after it,
//     still pending at until with the deadline before until, or ended without
//     a connect (failed, expired, cancelled, abandoned, resolved in writing)
//     after it. A callback that ended before its deadline, such as one
//     cancelled by the customer, was not delayed. Each delayed callback is
//     split by its first recovery message: sent before the original deadline,
//     after it, or never.
//   - Second windows: callbacks with a reset. Met when connected, or resolved
//     in writing, no later than the last deadline on the ticket (the one the
//     reset set).
//   - Chased: callbacks with at least one chase; Chases sums the chases.
//   - Escalated: callbacks escalated at least once.
//   - Missed: callbacks with a miss. Lateness is measured from the deadline
//     the first miss was about (the latest of the original and the current
//     deadline that had passed when it was journaled) to when the customer's
//     wait past it ended: the connect, the written resolution, the ticket's
//     end, or until for one still pending (a lower bound). It is not parsed
//     from the miss's Reason, whose wording is for people and may change, and
//     which only says how late the miss was noticed, not how late the
//     customer was served.
//   - Resolved in writing: callbacks that ended with a resolve event.
//
// The journal is the record; a ticket field (RecoverySentAt, Resets, Chases,
// Escalated, MissedAt, ConnectedAt) stands in only when the journal has no
// event of that kind for the ticket, so rows the journal lost or a caller
// that passes no journal still count.
package metrics

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/vhold/vhold/queue"
)

// NoCategory is the category label of a promise that has none, so that a
// Prometheus label is never empty (an empty label reads as no label).
const NoCategory = "none"

// Report is what Compute returns: the figures for every callback promised in
// [Since, Until), overall and broken down.
type Report struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// Overall covers every callback in the report.
	Overall Figures `json:"overall"`
	// Queues has one group per queue (Category empty), by name.
	Queues []Group `json:"queues"`
	// Categories has one group per promise category (Queue empty), by name.
	Categories []Group `json:"categories"`
	// QueueCategories has one group per queue and category pair present, by
	// queue then category: the Prometheus label sets.
	QueueCategories []Group `json:"queue_categories"`
}

// Group is the figures of the callbacks of one queue, one category, or one
// pair of both.
type Group struct {
	Queue    string `json:"queue,omitempty"`
	Category string `json:"category,omitempty"`
	Figures
}

// Figures are the promise measures of one set of callbacks. Counts count
// callbacks (a callback chased twice is one Chased), except Chases.
type Figures struct {
	// Promised counts the callbacks whose promise was made in the interval.
	Promised int `json:"promised"`
	// Connected counts the promised callbacks that reached an agent: the
	// population of the punctuality figures.
	Connected int `json:"connected"`
	// InsideOriginal counts those connected inside their original window.
	InsideOriginal int `json:"inside_original_window"`
	// PunctualityMinutes is the mean, over Connected, of the minutes outside
	// the original window (0 for inside), rounded to hundredths; 0 when none
	// connected.
	PunctualityMinutes float64 `json:"punctuality_minutes"`
	// Punctuality is the distribution behind PunctualityMinutes.
	Punctuality Distribution `json:"punctuality"`

	// Delayed counts callbacks not connected by their original deadline;
	// Recovery splits them by when the recovery message went out.
	Delayed  int             `json:"delayed"`
	Recovery DelayedRecovery `json:"delayed_recovery"`

	// SecondWindows counts callbacks given a reset deadline; SecondWindowsMet
	// those connected or resolved in writing by it.
	SecondWindows    int `json:"second_windows"`
	SecondWindowsMet int `json:"second_windows_met"`

	// Chased counts callbacks whose customer called in while waiting; Chases
	// counts those calls.
	Chased int `json:"chased"`
	Chases int `json:"chases"`

	Escalated int `json:"escalated"`

	// Missed counts callbacks whose deadline passed before they were dialed;
	// MissedLateMinutes is the mean lateness (see the package doc), rounded to
	// hundredths; 0 when none.
	Missed            int     `json:"missed"`
	MissedLateMinutes float64 `json:"missed_late_minutes"`

	ResolvedInWriting int `json:"resolved_in_writing"`
}

// Distribution counts connected callbacks by minutes outside the original
// window. The bounds are the ones a supervisor reads at a glance: on time,
// a few minutes, a quarter of an hour, an hour, worse.
type Distribution struct {
	Inside   int `json:"inside"`    // 0
	Within5  int `json:"within_5"`  // (0, 5]
	Within15 int `json:"within_15"` // (5, 15]
	Within60 int `json:"within_60"` // (15, 60]
	Over60   int `json:"over_60"`   // > 60
}

// DelayedRecovery splits delayed callbacks by their first recovery message.
type DelayedRecovery struct {
	// BeforeDeadline: the customer heard from us before the original
	// deadline passed, which is what the recovery rule asks for.
	BeforeDeadline int `json:"before_deadline"`
	After          int `json:"after"`
	Never          int `json:"never"`
}

// outcome is what one callback contributes to every group it belongs to.
type outcome struct {
	key

	connected      bool
	minutesOutside float64

	delayed  bool
	recovery recoveryWhen

	secondWindow, secondWindowMet bool

	chases    int
	escalated bool

	missed      bool
	lateMinutes float64

	resolved bool
}

type recoveryWhen int

const (
	recoveryNever recoveryWhen = iota
	recoveryBefore
	recoveryAfter
)

// history is the part of one ticket's journal that the measures read.
type history struct {
	join, convert              time.Time // first join; first convert or schedule
	connect, resolve, recovery time.Time // first of each
	miss                       time.Time // first miss
	end                        time.Time // the transition into a final state
	chases                     int
	// saw* record that the journal has the event at all, so that the
	// ticket's own field is consulted only when it has none.
	sawChase, sawReset, sawEscalate, sawMiss, sawRecovery bool
}

// Compute measures the callbacks among tickets whose promise was made in
// [since, until), reading their history from journal (rows of other tickets
// are ignored; their order does not matter). It does not modify its
// arguments and, given the same input, returns the same Report.
func Compute(tickets []*queue.Ticket, journal []queue.Transition, since, until time.Time) Report {
	hist := histories(journal)
	var outs []outcome
	sorted := slices.Clone(tickets)
	slices.SortStableFunc(sorted, func(a, b *queue.Ticket) int { return cmp.Compare(a.ID, b.ID) })
	for _, t := range sorted {
		if t == nil || (t.Kind != queue.Callback && t.Kind != queue.Scheduled) {
			continue
		}
		h := hist[t.ID]
		if h == nil {
			h = &history{}
		}
		at := promisedAt(t, h)
		if at.Before(since) || !at.Before(until) {
			continue
		}
		outs = append(outs, measure(t, h, at, until))
	}

	r := Report{Since: since, Until: until, Overall: fold(outs)}
	r.Queues = groups(outs, func(k key) key { return key{queue: k.queue} })
	r.Categories = groups(outs, func(k key) key { return key{category: k.category} })
	r.QueueCategories = groups(outs, func(k key) key { return k })
	return r
}

// histories indexes the journal by ticket, each ticket's rows in time order
// (journal id breaking ties, then input order) so that "first" means first.
func histories(journal []queue.Transition) map[queue.TicketID]*history {
	rows := slices.Clone(journal)
	slices.SortStableFunc(rows, func(a, b queue.Transition) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return cmp.Compare(a.JournalID, b.JournalID)
	})
	hs := map[queue.TicketID]*history{}
	for _, tr := range rows {
		h := hs[tr.Ticket]
		if h == nil {
			h = &history{}
			hs[tr.Ticket] = h
		}
		first := func(t *time.Time) {
			if t.IsZero() {
				*t = tr.At
			}
		}
		switch tr.Event {
		case queue.EvJoin:
			first(&h.join)
		case queue.EvConvert, queue.EvSchedule:
			first(&h.convert)
		case queue.EvConnect:
			first(&h.connect)
		case queue.EvResolve:
			first(&h.resolve)
		case queue.EvRecovery:
			h.sawRecovery = true
			first(&h.recovery)
		case queue.EvMiss:
			h.sawMiss = true
			first(&h.miss)
		case queue.EvReset:
			h.sawReset = true
		case queue.EvChase:
			h.sawChase = true
			h.chases++
		case queue.EvEscalate:
			h.sawEscalate = true
		}
		if tr.To.Final() {
			first(&h.end)
		}
	}
	return hs
}

// promisedAt is when the promise was made; see the package doc for the
// fall-backs, which only rows older than promised_at need.
func promisedAt(t *queue.Ticket, h *history) time.Time {
	switch {
	case !t.Promise.PromisedAt.IsZero():
		return t.Promise.PromisedAt
	case !h.convert.IsZero():
		return h.convert
	case !h.join.IsZero():
		return h.join
	}
	return t.JoinedAt
}

// measure derives one callback's outcome; until is when a callback still
// pending is judged.
func measure(t *queue.Ticket, h *history, promised, until time.Time) outcome {
	p := &t.Promise
	o := outcome{key: key{queue: t.Queue, category: string(p.Category)}}
	if o.category == "" {
		o.category = NoCategory
	}

	connect := t.ConnectedAt
	if connect.IsZero() {
		connect = h.connect
	}
	resolve := h.resolve
	if resolve.IsZero() && t.State == queue.Completed && connect.IsZero() {
		// Completed without a connect can only be a resolve (the state
		// machine allows waiting → completed for nothing else).
		resolve = t.UpdatedAt
	}
	end := h.end
	if end.IsZero() && t.State.Final() {
		end = t.UpdatedAt
	}
	recovery := h.recovery
	if !h.sawRecovery {
		recovery = p.RecoverySentAt
	}
	miss := h.miss
	if !h.sawMiss {
		miss = p.MissedAt
	}

	o.resolved = !resolve.IsZero()
	o.chases = h.chases
	if !h.sawChase {
		o.chases = p.Chases
	}
	o.escalated = h.sawEscalate || p.Escalated

	// served is when the customer got what was promised: the call or, after
	// a reset to a written update, the writing.
	served := connect
	if served.IsZero() {
		served = resolve
	}

	if h.sawReset || p.Resets > 0 {
		o.secondWindow = true
		o.secondWindowMet = !served.IsZero() && !p.Deadline.IsZero() && !served.After(p.Deadline)
	}

	orig := p.OriginalDeadline
	if orig.IsZero() {
		orig = p.Deadline
	}
	if orig.IsZero() {
		return o
	}

	if !connect.IsZero() {
		o.connected = true
		start := promised
		if t.Kind == queue.Scheduled && !t.SlotStart.IsZero() {
			start = t.SlotStart
		}
		switch {
		case connect.Before(start):
			o.minutesOutside = start.Sub(connect).Minutes()
		case connect.After(orig):
			o.minutesOutside = connect.Sub(orig).Minutes()
		}
	}

	switch {
	case !connect.IsZero():
		o.delayed = connect.After(orig)
	case t.State.Final():
		o.delayed = end.After(orig)
	default:
		o.delayed = until.After(orig)
	}
	if o.delayed {
		switch {
		case recovery.IsZero():
			o.recovery = recoveryNever
		case recovery.Before(orig):
			o.recovery = recoveryBefore
		default:
			o.recovery = recoveryAfter
		}
	}

	if !miss.IsZero() {
		o.missed = true
		missedDeadline := orig
		if !p.Deadline.IsZero() && p.Deadline.After(orig) && !p.Deadline.After(miss) {
			missedDeadline = p.Deadline
		}
		waitEnd := served
		if waitEnd.IsZero() {
			waitEnd = end
		}
		if waitEnd.IsZero() {
			waitEnd = until
		}
		if late := waitEnd.Sub(missedDeadline); late > 0 {
			o.lateMinutes = late.Minutes()
		}
	}
	return o
}

// key names a group: a queue, a category, or both.
type key struct{ queue, category string }

// groups folds outs by the key that by maps each one's key to, sorted by
// queue then category; one pass to bucket, one to fold.
func groups(outs []outcome, by func(key) key) []Group {
	buckets := map[key][]outcome{}
	var keys []key
	for _, o := range outs {
		k := by(o.key)
		if _, ok := buckets[k]; !ok {
			keys = append(keys, k)
		}
		buckets[k] = append(buckets[k], o)
	}
	sortKeys(keys)
	gs := make([]Group, 0, len(keys))
	for _, k := range keys {
		gs = append(gs, Group{Queue: k.queue, Category: k.category, Figures: fold(buckets[k])})
	}
	return gs
}

// sortKeys orders keys by queue, then category.
func sortKeys(keys []key) {
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.queue, b.queue), cmp.Compare(a.category, b.category))
	})
}

// fold sums outcomes into Figures.
func fold(outs []outcome) Figures {
	var (
		f                  Figures
		outside, lateTotal float64
	)
	for _, o := range outs {
		f.Promised++
		if o.connected {
			f.Connected++
			outside += o.minutesOutside
			switch m := o.minutesOutside; {
			case m == 0:
				f.InsideOriginal++
				f.Punctuality.Inside++
			case m <= 5:
				f.Punctuality.Within5++
			case m <= 15:
				f.Punctuality.Within15++
			case m <= 60:
				f.Punctuality.Within60++
			default:
				f.Punctuality.Over60++
			}
		}
		if o.delayed {
			f.Delayed++
			switch o.recovery {
			case recoveryBefore:
				f.Recovery.BeforeDeadline++
			case recoveryAfter:
				f.Recovery.After++
			default:
				f.Recovery.Never++
			}
		}
		if o.secondWindow {
			f.SecondWindows++
			if o.secondWindowMet {
				f.SecondWindowsMet++
			}
		}
		if o.chases > 0 {
			f.Chased++
			f.Chases += o.chases
		}
		if o.escalated {
			f.Escalated++
		}
		if o.missed {
			f.Missed++
			lateTotal += o.lateMinutes
		}
		if o.resolved {
			f.ResolvedInWriting++
		}
	}
	f.PunctualityMinutes = mean(outside, f.Connected)
	f.MissedLateMinutes = mean(lateTotal, f.Missed)
	return f
}

// mean rounds to hundredths of a minute (0.6 s): finer is noise to a reader
// and makes the JSON and the golden files brittle.
func mean(total float64, n int) float64 {
	if n == 0 {
		return 0
	}
	return math.Round(total/float64(n)*100) / 100
}
