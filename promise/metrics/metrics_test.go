package metrics

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/vhold/vhold/queue"
)

// t0 is 09:00 on the day every case happens; since and until bound that day.
var (
	t0    = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	since = t0
	until = t0.Add(24 * time.Hour)
)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

// world builds tickets and their journal the way the line would write them.
type world struct {
	tickets []*queue.Ticket
	journal []queue.Transition
	nextID  queue.TicketID
}

// callback adds a waiting callback in queue q, category cat, promised at
// minute promised with its deadline at minute deadline, journaling the join.
func (w *world) callback(q, cat string, promised, deadline int) *queue.Ticket {
	w.nextID++
	t := &queue.Ticket{
		ID: w.nextID, Queue: q, Kind: queue.Callback, State: queue.Waiting,
		JoinedAt: at(promised), UpdatedAt: at(promised),
		Promise: queue.Promise{
			Deadline: at(deadline), OriginalDeadline: at(deadline),
			Category: queue.Category(cat), PromisedAt: at(promised),
		},
	}
	w.tickets = append(w.tickets, t)
	w.journal = append(w.journal, queue.Transition{Ticket: t.ID, Event: queue.EvJoin, To: queue.Waiting, At: at(promised)})
	return t
}

// scheduled adds a scheduled callback whose slot runs from slot to deadline.
func (w *world) scheduled(q, cat string, promised, slot, deadline int) *queue.Ticket {
	t := w.callback(q, cat, promised, deadline)
	t.Kind, t.SlotStart = queue.Scheduled, at(slot)
	return t
}

// event journals ev for t at minute m and applies what the line would to the
// ticket's own fields.
func (w *world) event(t *queue.Ticket, ev queue.Event, m int) {
	to, err := queue.Next(t.State, ev)
	if err != nil {
		panic(err)
	}
	w.journal = append(w.journal, queue.Transition{Ticket: t.ID, Event: ev, From: t.State, To: to, At: at(m)})
	t.State, t.UpdatedAt = to, at(m)
	p := &t.Promise
	switch ev {
	case queue.EvConnect:
		t.ConnectedAt = at(m)
	case queue.EvRecovery:
		p.RecoverySentAt = at(m)
	case queue.EvChase:
		p.Chases++
	case queue.EvEscalate:
		p.Escalated = true
	case queue.EvMiss:
		p.MissedAt = at(m)
	}
}

// connect walks t through reserve, dial and connect at minute m.
func (w *world) connect(t *queue.Ticket, m int) {
	w.event(t, queue.EvReserve, m)
	w.event(t, queue.EvDial, m)
	w.event(t, queue.EvConnect, m)
}

// reset journals a reset at minute m to a new deadline at minute deadline.
func (w *world) reset(t *queue.Ticket, m, deadline int) {
	w.event(t, queue.EvReset, m)
	t.Promise.Deadline = at(deadline)
	t.Promise.Resets++
}

func (w *world) compute() Report { return Compute(w.tickets, w.journal, since, until) }

func TestPunctualityInsideTheWindowIsZero(t *testing.T) {
	var w world
	w.connect(w.callback("support", "general", 0, 25), 20)
	w.connect(w.callback("support", "general", 0, 25), 25) // on the deadline: inside
	f := w.compute().Overall
	want := Figures{Promised: 2, Connected: 2, InsideOriginal: 2, Punctuality: Distribution{Inside: 2}}
	if f != want {
		t.Errorf("got %+v\nwant %+v", f, want)
	}
}

func TestPunctualityLateBy12MinutesIs12(t *testing.T) {
	var w world
	w.connect(w.callback("support", "general", 0, 25), 37)
	f := w.compute().Overall
	if f.PunctualityMinutes != 12 || f.InsideOriginal != 0 || f.Punctuality.Within15 != 1 {
		t.Errorf("punctuality %v inside %d distribution %+v; want 12, 0, one within 15", f.PunctualityMinutes, f.InsideOriginal, f.Punctuality)
	}
	if f.Delayed != 1 || f.Recovery.Never != 1 {
		t.Errorf("delayed %d recovery %+v; want 1 delayed, never recovered", f.Delayed, f.Recovery)
	}
}

func TestPunctualityMeanAndDistribution(t *testing.T) {
	var w world
	for _, late := range []int{0, 3, 5, 10, 15, 40, 60, 61} {
		w.connect(w.callback("support", "general", 0, 30), 30+late)
	}
	f := w.compute().Overall
	want := Distribution{Inside: 1, Within5: 2, Within15: 2, Within60: 2, Over60: 1}
	if f.Punctuality != want {
		t.Errorf("distribution %+v, want %+v", f.Punctuality, want)
	}
	// (0+3+5+10+15+40+60+61)/8 = 24.25
	if f.PunctualityMinutes != 24.25 || f.Connected != 8 {
		t.Errorf("mean %v over %d, want 24.25 over 8", f.PunctualityMinutes, f.Connected)
	}
}

func TestPunctualityScheduledWindowStartsAtTheSlot(t *testing.T) {
	var w world
	// Promised at 09:00 for the slot 14:00–14:30.
	w.connect(w.scheduled("support", "general", 0, 300, 330), 310) // inside the slot
	w.connect(w.scheduled("support", "general", 0, 300, 330), 297) // 3 min before it
	w.connect(w.scheduled("support", "general", 0, 300, 330), 345) // 15 min after it
	r := w.compute()
	f := r.Overall
	want := Distribution{Inside: 1, Within5: 1, Within15: 1}
	if f.Punctuality != want || f.InsideOriginal != 1 {
		t.Errorf("distribution %+v inside %d, want %+v and 1", f.Punctuality, f.InsideOriginal, want)
	}
	if f.PunctualityMinutes != 6 { // (0+3+15)/3
		t.Errorf("mean %v, want 6", f.PunctualityMinutes)
	}
	// Connected early is not delayed; only the one after 14:30 is.
	if f.Delayed != 1 {
		t.Errorf("delayed %d, want 1", f.Delayed)
	}
}

func TestDelayedRecoveryBeforeAfterNever(t *testing.T) {
	var w world
	before := w.callback("support", "general", 0, 25)
	w.event(before, queue.EvAtRisk, 15)
	w.event(before, queue.EvRecovery, 16)
	w.connect(before, 40)

	after := w.callback("support", "general", 0, 25)
	w.event(after, queue.EvRecovery, 30)
	w.connect(after, 45)

	never := w.callback("support", "general", 0, 25)
	w.connect(never, 50)

	// Messaged, then called in time after all: not delayed, so in no split.
	onTime := w.callback("support", "general", 0, 25)
	w.event(onTime, queue.EvRecovery, 20)
	w.connect(onTime, 24)

	// A recovery at the deadline itself is not before it.
	atDeadline := w.callback("support", "general", 0, 25)
	w.event(atDeadline, queue.EvRecovery, 25)
	w.connect(atDeadline, 26)

	f := w.compute().Overall
	if f.Delayed != 4 {
		t.Errorf("delayed %d, want 4", f.Delayed)
	}
	want := DelayedRecovery{BeforeDeadline: 1, After: 2, Never: 1}
	if f.Recovery != want {
		t.Errorf("recovery %+v, want %+v", f.Recovery, want)
	}
}

func TestDelayedEndings(t *testing.T) {
	var w world
	// Cancelled by the customer before the deadline: not delayed.
	w.event(w.callback("support", "general", 0, 25), queue.EvCancel, 10)
	// Failed (no answer) before the deadline: not delayed either.
	failedEarly := w.callback("support", "general", 0, 25)
	w.event(failedEarly, queue.EvReserve, 5)
	w.event(failedEarly, queue.EvDial, 5)
	w.event(failedEarly, queue.EvFail, 6)
	// Cancelled after the deadline passed unserved: delayed.
	w.event(w.callback("support", "general", 0, 25), queue.EvCancel, 30)
	// Expired after the deadline: delayed.
	w.event(w.callback("support", "general", 0, 25), queue.EvExpire, 90)
	// Still waiting, deadline before until: delayed.
	w.callback("support", "general", 0, 25)
	// Still waiting, deadline after until: not (yet) delayed.
	w.callback("support", "general", 1430, 1450)
	f := w.compute().Overall
	if f.Promised != 6 || f.Delayed != 3 || f.Recovery.Never != 3 {
		t.Errorf("promised %d delayed %d recovery %+v; want 6, 3, all never", f.Promised, f.Delayed, f.Recovery)
	}
	if f.Connected != 0 || f.PunctualityMinutes != 0 {
		t.Errorf("connected %d punctuality %v; want 0, 0", f.Connected, f.PunctualityMinutes)
	}
}

func TestSecondWindows(t *testing.T) {
	var w world
	met := w.callback("support", "general", 0, 25)
	w.reset(met, 15, 60)
	w.connect(met, 55)

	metOnTheDot := w.callback("support", "general", 0, 25)
	w.reset(metOnTheDot, 15, 60)
	w.connect(metOnTheDot, 60)

	late := w.callback("support", "general", 0, 25)
	w.reset(late, 15, 60)
	w.connect(late, 65)

	// Still waiting at until, long past the reset deadline.
	w.reset(w.callback("support", "general", 0, 25), 15, 60)

	// The reset promised a written update, written before the new deadline.
	written := w.callback("billing", "money", 0, 25)
	w.reset(written, 15, 120)
	written.Promise.Written = true
	w.event(written, queue.EvResolve, 100)

	// Written after it.
	writtenLate := w.callback("billing", "money", 0, 25)
	w.reset(writtenLate, 15, 120)
	writtenLate.Promise.Written = true
	w.event(writtenLate, queue.EvResolve, 130)

	// No reset: not a second window even though connected late.
	w.connect(w.callback("support", "general", 0, 25), 40)

	r := w.compute()
	f := r.Overall
	if f.SecondWindows != 6 || f.SecondWindowsMet != 3 {
		t.Errorf("second windows %d met %d, want 6 and 3", f.SecondWindows, f.SecondWindowsMet)
	}
	if f.ResolvedInWriting != 2 {
		t.Errorf("resolved in writing %d, want 2", f.ResolvedInWriting)
	}
	// Resolved in writing after the original deadline is still delayed:
	// the call did not happen in the first window.
	if f.Delayed != 7 {
		t.Errorf("delayed %d, want 7", f.Delayed)
	}
	// Writing is not a connect: punctuality covers the four calls only.
	if f.Connected != 4 {
		t.Errorf("connected %d, want 4", f.Connected)
	}
	billing := find(t, r.Queues, "billing", "")
	if billing.SecondWindows != 2 || billing.SecondWindowsMet != 1 || billing.ResolvedInWriting != 2 {
		t.Errorf("billing %+v", billing.Figures)
	}
}

func TestChasedCountsCallbacksChasesSumsCalls(t *testing.T) {
	var w world
	twice := w.callback("support", "general", 0, 25)
	w.event(twice, queue.EvChase, 20)
	w.event(twice, queue.EvChase, 30)
	w.event(w.callback("support", "general", 0, 25), queue.EvChase, 27)
	w.callback("support", "general", 0, 25)
	f := w.compute().Overall
	if f.Chased != 2 || f.Chases != 3 {
		t.Errorf("chased %d chases %d, want 2 and 3", f.Chased, f.Chases)
	}
}

func TestEscalatedCountsCallbacks(t *testing.T) {
	var w world
	e := w.callback("support", "general", 0, 25)
	w.reset(e, 15, 60)
	w.event(e, queue.EvEscalate, 50)
	w.event(e, queue.EvEscalate, 55) // journaled twice, one escalated callback
	w.callback("support", "general", 0, 25)
	if f := w.compute().Overall; f.Escalated != 1 {
		t.Errorf("escalated %d, want 1", f.Escalated)
	}
}

func TestMissedLateness(t *testing.T) {
	var w world
	// Missed its original deadline (09:25), connected at 09:45: 20 late.
	a := w.callback("support", "general", 0, 25)
	w.event(a, queue.EvMiss, 26)
	w.connect(a, 45)
	// Reset to 10:00, missed that, resolved in writing at 10:30: 30 late
	// (the miss was about the reset deadline, which had passed).
	b := w.callback("support", "general", 0, 25)
	w.reset(b, 15, 60)
	w.event(b, queue.EvMiss, 61)
	w.event(b, queue.EvResolve, 90)
	// Missed the original, then reset (after the miss), then failed at
	// 10:05: 40 late from the original deadline it missed.
	c := w.callback("support", "general", 0, 25)
	w.event(c, queue.EvMiss, 25)
	w.reset(c, 30, 70)
	w.event(c, queue.EvFail, 65)
	// Still waiting at until: late until until.
	d := w.callback("support", "general", 1380, 1400) // deadline 08:20 next day; until is 09:00
	w.event(d, queue.EvMiss, 1401)
	// Not missed at all.
	w.connect(w.callback("support", "general", 0, 25), 10)

	f := w.compute().Overall
	if f.Missed != 4 {
		t.Fatalf("missed %d, want 4", f.Missed)
	}
	if want := (20.0 + 30 + 40 + 40) / 4; f.MissedLateMinutes != want {
		t.Errorf("missed late %v, want %v", f.MissedLateMinutes, want)
	}
}

func TestWhoIsInTheReport(t *testing.T) {
	var w world
	w.callback("support", "general", -1, 25)            // promised before since: out
	w.callback("support", "general", 0, 25)             // at since: in
	w.callback("support", "general", 24*60-1, 24*60+25) // in the last minute: in
	w.callback("support", "general", 24*60, 24*60+25)   // at until: out
	// A live caller has no promise.
	live := w.callback("support", "general", 10, 35)
	live.Kind, live.Promise = queue.Live, queue.Promise{}
	// Rows from before promised_at existed: one joined live yesterday and
	// converted today is in; one joined as a callback yesterday is out.
	old := w.callback("support", "general", -600, 30)
	old.Promise.PromisedAt = time.Time{}
	w.journal = append(w.journal, queue.Transition{Ticket: old.ID, Event: queue.EvConvert,
		From: queue.Waiting, To: queue.Waiting, At: at(5)})
	stale := w.callback("support", "general", -600, 30)
	stale.Promise.PromisedAt = time.Time{}
	if f := w.compute().Overall; f.Promised != 3 {
		t.Errorf("promised %d, want 3", f.Promised)
	}
}

func TestGroups(t *testing.T) {
	var w world
	w.connect(w.callback("support", "general", 0, 25), 20)
	w.connect(w.callback("support", "money", 0, 25), 45)
	w.callback("billing", "money", 0, 25)
	w.callback("billing", "", 0, 25)
	r := w.compute()

	names := func(gs []Group) (out []string) {
		for _, g := range gs {
			out = append(out, g.Queue+"/"+g.Category)
		}
		return out
	}
	if got, want := names(r.Queues), []string{"billing/", "support/"}; !reflect.DeepEqual(got, want) {
		t.Errorf("queues %v, want %v", got, want)
	}
	if got, want := names(r.Categories), []string{"/general", "/money", "/none"}; !reflect.DeepEqual(got, want) {
		t.Errorf("categories %v, want %v", got, want)
	}
	if got, want := names(r.QueueCategories), []string{"billing/money", "billing/none", "support/general", "support/money"}; !reflect.DeepEqual(got, want) {
		t.Errorf("queue categories %v, want %v", got, want)
	}
	if m := find(t, r.Categories, "", "money"); m.Promised != 2 || m.Connected != 1 || m.PunctualityMinutes != 20 || m.Delayed != 2 {
		t.Errorf("money %+v", m.Figures)
	}
	if s := find(t, r.Queues, "support", ""); s.Promised != 2 || s.PunctualityMinutes != 10 {
		t.Errorf("support %+v", s.Figures)
	}
	if r.Overall.Promised != 4 {
		t.Errorf("overall promised %d, want 4", r.Overall.Promised)
	}
}

// A ticket whose journal rows are missing still counts from its own fields.
func TestTicketFieldsStandInForMissingJournal(t *testing.T) {
	var w world
	tk := w.callback("support", "general", 0, 25)
	w.event(tk, queue.EvRecovery, 20)
	w.reset(tk, 21, 60)
	w.event(tk, queue.EvChase, 30)
	w.event(tk, queue.EvEscalate, 50)
	w.event(tk, queue.EvMiss, 61)
	w.connect(tk, 70)
	withJournal := w.compute().Overall
	withoutJournal := Compute(w.tickets, nil, since, until).Overall
	if withJournal != withoutJournal {
		t.Errorf("with the journal %+v\nwithout it     %+v", withJournal, withoutJournal)
	}
	want := Figures{Promised: 1, Connected: 1, PunctualityMinutes: 45, Punctuality: Distribution{Within60: 1},
		Delayed: 1, Recovery: DelayedRecovery{BeforeDeadline: 1}, SecondWindows: 1, Chased: 1, Chases: 1,
		Escalated: 1, Missed: 1, MissedLateMinutes: 10}
	if withJournal != want {
		t.Errorf("got  %+v\nwant %+v", withJournal, want)
	}
}

func TestComputeIsDeterministic(t *testing.T) {
	var w world
	for i := range 30 {
		tk := w.callback([]string{"support", "billing"}[i%2], []string{"general", "money", "tense"}[i%3], i, i+25)
		switch i % 5 {
		case 0:
			w.connect(tk, i+10)
		case 1:
			w.event(tk, queue.EvRecovery, i+20)
			w.connect(tk, i+37)
		case 2:
			w.event(tk, queue.EvMiss, i+26)
		case 3:
			w.event(tk, queue.EvChase, i+5)
		}
	}
	want := w.compute()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5 {
		ts := append([]*queue.Ticket(nil), w.tickets...)
		js := append([]queue.Transition(nil), w.journal...)
		rng.Shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
		rng.Shuffle(len(js), func(i, j int) { js[i], js[j] = js[j], js[i] })
		if got := Compute(ts, js, since, until); !reflect.DeepEqual(got, want) {
			t.Fatalf("shuffled input changed the report:\n%+v\n%+v", got, want)
		}
	}
}

func find(t *testing.T, gs []Group, q, cat string) Group {
	t.Helper()
	for _, g := range gs {
		if g.Queue == q && g.Category == cat {
			return g
		}
	}
	t.Fatalf("no group %q/%q in %+v", q, cat, gs)
	return Group{}
}
