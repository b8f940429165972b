package queue

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/clock"
)

// Errors the line's callers branch on.
var (
	ErrNoQueue     = errors.New("no such queue")
	ErrNoTicket    = errors.New("no such active ticket")
	ErrNoAgent     = errors.New("no such agent")
	ErrWrongKind   = errors.New("wrong kind of ticket for this")
	ErrNeedsNumber = errors.New("a callback needs a number to call")
)

// Config is everything the line needs to know about its queues and agents.
type Config struct {
	Queues []QueueConfig
	Agents []AgentConfig
	// Reach reports whether a live caller on PBX callNode can be bridged to
	// an agent homed on PBX agentNode: the caller's PBX can dial the agent's
	// endpoint (a shared registrar, a trunk between the servers). A bridge
	// needs both legs on one server, so the agent's leg is originated on the
	// caller's PBX. Equal nodes, and an empty node on either side, always
	// match without asking. nil: every agent can take every caller (one PBX).
	// Callbacks are dialed from the agent's own PBX, so Reach never limits them.
	Reach func(callNode, agentNode string) bool
}

// QueueConfig is one queue's policy, as the line applies it.
type QueueConfig struct {
	Name     string
	Estimate EstimatorOptions
	Offer    OfferPolicy
	// Hours are the queue's business hours; nil means always open.
	Hours    Hours
	Callback CallbackPolicy
	Promise  PromisePolicy
}

// CallbackPolicy says how often and how patiently a callback is retried.
type CallbackPolicy struct {
	MaxAttempts int
	// RetryDelays[i] is the wait after the (i+1)-th failed attempt; the last
	// one repeats.
	RetryDelays []time.Duration
	// SlotLength is how long a scheduled slot lasts; the slot's end is the
	// promise deadline. Zero means 30 minutes.
	SlotLength time.Duration
}

// PromisePolicy holds the promise fields a new callback starts with.
type PromisePolicy struct {
	DefaultCategory Category
}

// Line is every queue's line and every agent, kept in memory for speed and
// committed through a Journal for durability. It is safe for concurrent use.
// All methods that change a ticket return only after the change is committed.
type Line struct {
	mu      sync.Mutex
	clock   clock.Clock
	journal Journal
	log     *logrus.Entry

	queues  map[string]*lineQueue
	order   []string // queue names in config order, for stable output
	agents  map[string]*Agent
	tickets map[TicketID]*Ticket
	// callbacks maps queue+number to the number's active callback there.
	callbacks map[numberKey]TicketID
	// reach is Config.Reach; nil when every agent can take every caller.
	reach func(callNode, agentNode string) bool
	// notify is called after every committed change (see Notify).
	notify func()
	// dispatchable, when set, says which tickets Next may hand out now
	// (see SetDispatchable).
	dispatchable func(*Ticket) bool
	// watchers see every change of a ticket (see Watch).
	watchers  map[int]func(Change)
	watcherID int
}

// Notify sets f to be called after every committed change of a ticket (and
// after agent state changes), so a dispatcher learns at once that there may
// be work. f is called with the line's lock held: it must not call back into
// the line synchronously (start a goroutine, or schedule the work).
func (l *Line) Notify(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.notify = f
}

func (l *Line) changed() {
	if l.notify != nil {
		l.notify()
	}
}

// SetDispatchable sets f to say which tickets Next may hand out now; the
// others keep their place and are skipped, as a caller an agent cannot reach
// is. The dialer uses it for live callers whose calls it does not hold yet:
// the moment between a caller joining and their flow handing the call over,
// and after a restart, until the PBX adapter has taken the call back. f is
// called with the line's lock held and must not call the line.
func (l *Line) SetDispatchable(f func(*Ticket) bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dispatchable = f
}

func (l *Line) ready(t *Ticket) bool { return l.dispatchable == nil || l.dispatchable(t) }

// Change is one change of a ticket, or of an agent, that the line made or
// learned of.
type Change struct {
	// Ticket is the ticket after the change (a copy the watcher may keep);
	// nil for an agent's change.
	Ticket *Ticket
	// Agent is the agent after a change of their state; nil for a ticket's.
	Agent *Agent
	// Transition is the journaled transition; nil when another process made
	// the change and the line read it back (Refresh).
	Transition *Transition
}

// Watch makes f see every change of a ticket or an agent from now on, in commit order,
// until the returned stop is called. Like Notify's f, it is called with the
// line's lock held and must hand the work off rather than call the line.
func (l *Line) Watch(f func(Change)) (stop func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.watchers == nil {
		l.watchers = map[int]func(Change){}
	}
	l.watcherID++
	id := l.watcherID
	l.watchers[id] = f
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.watchers, id)
	}
}

// tellAgent hands an agent's change to the watchers; called under the lock.
func (l *Line) tellAgent(a *Agent) {
	for _, f := range l.watchers {
		c := *a
		c.Queues = append([]string(nil), a.Queues...)
		f(Change{Agent: &c})
	}
}

// tell hands a change to the watchers; called under the lock.
func (l *Line) tell(t *Ticket, tr *Transition) {
	for _, f := range l.watchers {
		var trc *Transition
		if tr != nil {
			c := *tr
			trc = &c
		}
		f(Change{Ticket: t.Clone(), Transition: trc})
	}
}

type numberKey struct{ queue, number string }

// lineQueue is one queue: the due tickets in service order, and those waiting
// for a time (a scheduled slot or a retry backoff) before they are due.
type lineQueue struct {
	cfg QueueConfig
	est *Estimator
	// due holds Waiting tickets that may be served now, in service order.
	due []*Ticket
	// later holds Waiting tickets not due yet, by due time.
	later laterHeap
}

// NewLine builds the line from its configuration and the active tickets
// loaded from the store, in any order; their places come from their Seq and
// priority, so a restart reproduces the line exactly.
func NewLine(cfg Config, clk clock.Clock, j Journal, active []*Ticket, log *logrus.Entry) (*Line, error) {
	if log == nil {
		l := logrus.New()
		l.SetOutput(discard{})
		l.SetLevel(logrus.PanicLevel)
		log = logrus.NewEntry(l)
	}
	l := &Line{
		clock:     clk,
		journal:   j,
		log:       log,
		queues:    map[string]*lineQueue{},
		agents:    map[string]*Agent{},
		tickets:   map[TicketID]*Ticket{},
		callbacks: map[numberKey]TicketID{},
		reach:     cfg.Reach,
	}
	for _, q := range cfg.Queues {
		if _, dup := l.queues[q.Name]; dup {
			return nil, fmt.Errorf("queue %q configured twice", q.Name)
		}
		if q.Callback.MaxAttempts <= 0 {
			q.Callback.MaxAttempts = 1
		}
		if q.Callback.SlotLength <= 0 {
			q.Callback.SlotLength = 30 * time.Minute
		}
		if q.Offer.Horizon <= 0 {
			q.Offer.Horizon = 2 * time.Hour
		}
		if q.Promise.DefaultCategory == "" {
			q.Promise.DefaultCategory = "general"
		}
		l.queues[q.Name] = &lineQueue{cfg: q, est: NewEstimator(q.Estimate)}
		l.order = append(l.order, q.Name)
	}
	now := clk.Now()
	for _, a := range cfg.Agents {
		if _, dup := l.agents[a.ID]; dup {
			return nil, fmt.Errorf("agent %q configured twice", a.ID)
		}
		for _, q := range a.Queues {
			if _, ok := l.queues[q]; !ok {
				return nil, fmt.Errorf("agent %q: %w %q", a.ID, ErrNoQueue, q)
			}
		}
		st := a.InitialState
		switch st {
		case "":
			st = AgentAvailable
		case AgentAvailable, AgentPaused, AgentOffline:
		default:
			return nil, fmt.Errorf("agent %q: cannot start %s", a.ID, st)
		}
		l.agents[a.ID] = &Agent{AgentConfig: a, State: st, Since: now}
	}
	for _, t := range active {
		if !t.State.Active() {
			continue
		}
		if _, ok := l.queues[t.Queue]; !ok {
			return nil, fmt.Errorf("ticket %d: %w %q (removed from the config while it had tickets?)", t.ID, ErrNoQueue, t.Queue)
		}
		l.insert(t.Clone())
	}
	return l, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// ---- indexes ----

// insert adds t to the in-memory indexes according to its state.
func (l *Line) insert(t *Ticket) {
	l.tickets[t.ID] = t
	if t.Kind != Live && t.Number != "" {
		l.callbacks[numberKey{t.Queue, t.Number}] = t.ID
	}
	if t.State != Waiting {
		return
	}
	q := l.queues[t.Queue]
	if t.Due(l.clock.Now()) {
		q.insertDue(t)
	} else {
		heap.Push(&q.later, t)
	}
}

// remove takes t out of every index.
func (l *Line) remove(t *Ticket) {
	delete(l.tickets, t.ID)
	k := numberKey{t.Queue, t.Number}
	if id, ok := l.callbacks[k]; ok && id == t.ID {
		delete(l.callbacks, k)
	}
	if t.State != Waiting {
		return
	}
	q := l.queues[t.Queue]
	if i, ok := q.indexDue(t); ok {
		q.removeDueAt(i)
		return
	}
	for i, u := range q.later {
		if u == t {
			heap.Remove(&q.later, i)
			return
		}
	}
}

// replace swaps old for nt in the indexes. When the ticket keeps its place
// among the due tickets the pointer is swapped in place, so converting a live
// caller deep in a long line costs no reordering.
func (l *Line) replace(old, nt *Ticket) {
	if old.State == Waiting && nt.State == Waiting && old.Priority == nt.Priority &&
		old.OrderAt().Equal(nt.OrderAt()) && nt.Due(l.clock.Now()) {
		q := l.queues[old.Queue]
		if i, ok := q.indexDue(old); ok {
			q.due[i] = nt
			l.tickets[nt.ID] = nt
			if old.Number != nt.Number || old.Kind != nt.Kind {
				k := numberKey{old.Queue, old.Number}
				if id, ok := l.callbacks[k]; ok && id == old.ID {
					delete(l.callbacks, k)
				}
				if nt.Kind != Live && nt.Number != "" {
					l.callbacks[numberKey{nt.Queue, nt.Number}] = nt.ID
				}
			}
			return
		}
	}
	l.remove(old)
	if nt.State.Active() {
		l.insert(nt)
	}
}

// search returns the index of the first due ticket not ahead of t.
func (q *lineQueue) search(t *Ticket) int {
	return sort.Search(len(q.due), func(i int) bool { return !q.due[i].Ahead(t) })
}

func (q *lineQueue) indexDue(t *Ticket) (int, bool) {
	i := q.search(t)
	if i < len(q.due) && q.due[i].ID == t.ID {
		return i, true
	}
	return i, false
}

func (q *lineQueue) insertDue(t *Ticket) {
	i := q.search(t)
	if i == len(q.due) {
		q.due = append(q.due, t)
		return
	}
	q.due = append(q.due, nil)
	copy(q.due[i+1:], q.due[i:])
	q.due[i] = t
}

func (q *lineQueue) removeDueAt(i int) {
	if i == 0 {
		q.due[0] = nil
		q.due = q.due[1:]
		return
	}
	copy(q.due[i:], q.due[i+1:])
	q.due[len(q.due)-1] = nil
	q.due = q.due[:len(q.due)-1]
}

// promote moves the tickets whose slot or backoff has passed into service
// order. Every read and write calls it first, so no timer is needed for a
// scheduled callback to take its place; a dispatcher asks NextWake when to look.
func (l *Line) promote(now time.Time) {
	for _, q := range l.queues {
		for len(q.later) > 0 && q.later[0].Due(now) {
			t := heap.Pop(&q.later).(*Ticket)
			q.insertDue(t)
		}
	}
	for _, a := range l.agents {
		if a.State == AgentWrapUp && !now.Before(a.Since.Add(a.WrapUp)) {
			a.State, a.Since, a.Reason, a.Ticket = AgentAvailable, a.Since.Add(a.WrapUp), "wrap-up over", 0
		}
	}
}

type laterHeap []*Ticket

func (h laterHeap) Len() int { return len(h) }
func (h laterHeap) Less(i, j int) bool {
	di, dj := h[i].DueAt(), h[j].DueAt()
	if !di.Equal(dj) {
		return di.Before(dj)
	}
	return h[i].Ahead(h[j])
}
func (h laterHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *laterHeap) Push(x any)   { *h = append(*h, x.(*Ticket)) }
func (h *laterHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return t
}

// ---- changing tickets ----

// apply runs one event through the state machine, commits it, and only then
// changes the line. mutate may adjust the new copy (never the state).
func (l *Line) apply(ctx context.Context, t *Ticket, ev Event, reason, actor string, mutate func(*Ticket)) (*Ticket, error) {
	to, err := Next(t.State, ev)
	if err != nil {
		return nil, fmt.Errorf("ticket %d: %w", t.ID, err)
	}
	now := l.clock.Now()
	nt := t.Clone()
	if mutate != nil {
		mutate(nt)
	}
	nt.State = to
	nt.UpdatedAt = now
	if to.Final() {
		nt.FinalReason = reason
	}
	tr := Transition{Ticket: t.ID, Event: ev, From: t.State, To: to, Reason: reason, Actor: actor, At: now}
	if err := l.journal.Commit(ctx, nt, &tr); err != nil {
		return nil, fmt.Errorf("%s ticket %d: %w", ev, t.ID, err)
	}
	l.replace(t, nt)
	l.tell(nt, &tr)
	l.changed()
	if l.log.Logger.IsLevelEnabled(logrus.DebugLevel) {
		l.log.WithFields(logrus.Fields{"ticket": t.ID, "queue": t.Queue, "event": ev, "from": t.State, "to": to}).Debug(reason)
	}
	return nt, nil
}

// get returns the active ticket id under the lock.
func (l *Line) get(id TicketID) (*Ticket, error) {
	t, ok := l.tickets[id]
	if !ok {
		return nil, fmt.Errorf("ticket %d: %w", id, ErrNoTicket)
	}
	return t, nil
}

// JoinRequest is a new ticket: a live caller entering the queue, or a
// callback requested by the web, the API or the CLI.
type JoinRequest struct {
	Queue    string
	Kind     Kind
	Number   string // E.164, already validated (package phone)
	Name     string
	Reason   string
	Context  string
	Language string
	Category Category
	Priority int
	// SlotStart is required for a Scheduled ticket.
	SlotStart time.Time
	CallRef   string
	Node      string
	Actor     string
}

// Joined is the answer to a join: the ticket, its place now, and whether it
// is an existing callback for the same number rather than a new ticket.
type Joined struct {
	Ticket   *Ticket
	Position int
	Existing bool
}

// Join adds a ticket at the back of its queue (or, for a scheduled callback,
// at its slot's place). A callback for a number that already has an active
// callback in the queue returns that one instead of a duplicate.
func (l *Line) Join(ctx context.Context, r JoinRequest) (Joined, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	l.promote(now)
	q, ok := l.queues[r.Queue]
	if !ok {
		return Joined{}, fmt.Errorf("join %q: %w", r.Queue, ErrNoQueue)
	}
	switch r.Kind {
	case Live:
	case Callback, Scheduled:
		if r.Number == "" {
			return Joined{}, fmt.Errorf("join %s: %w", r.Queue, ErrNeedsNumber)
		}
		if id, ok := l.callbacks[numberKey{r.Queue, r.Number}]; ok {
			t := l.tickets[id]
			return Joined{Ticket: t.Clone(), Position: l.position(t), Existing: true}, nil
		}
		if r.Kind == Scheduled && r.SlotStart.IsZero() {
			return Joined{}, fmt.Errorf("join %s: a scheduled callback needs a slot", r.Queue)
		}
	default:
		return Joined{}, fmt.Errorf("join %s: %w %q", r.Queue, ErrWrongKind, r.Kind)
	}
	t := &Ticket{
		Queue: r.Queue, Kind: r.Kind, State: Waiting, Priority: r.Priority,
		Number: r.Number, Name: r.Name, Reason: r.Reason, Context: r.Context, Language: r.Language,
		JoinedAt: now, UpdatedAt: now, CallRef: r.CallRef, Node: r.Node,
	}
	if r.Kind == Scheduled {
		t.SlotStart = r.SlotStart
	}
	if r.Kind != Live {
		l.promise(q, t, r.Category, now)
	}
	tr := Transition{Event: EvJoin, To: Waiting, Reason: "joined as " + string(r.Kind), Actor: r.Actor, At: now}
	if err := l.journal.Insert(ctx, t, &tr); err != nil {
		return Joined{}, fmt.Errorf("join %s: %w", r.Queue, err)
	}
	l.insert(t)
	l.tell(t, &tr)
	l.changed()
	if l.log.Logger.IsLevelEnabled(logrus.DebugLevel) {
		l.log.WithFields(logrus.Fields{"ticket": t.ID, "queue": t.Queue, "kind": t.Kind, "seq": t.Seq}).Debug("joined")
	}
	return Joined{Ticket: t.Clone(), Position: l.position(t)}, nil
}

// promise sets the promise a new callback starts with: the deadline is the
// pessimistic wait for its place rounded up to what we say aloud, so that
// "within 25 minutes" is what the line can actually keep; a scheduled
// callback is promised by the end of its slot.
func (l *Line) promise(q *lineQueue, t *Ticket, cat Category, now time.Time) {
	if cat == "" {
		cat = q.cfg.Promise.DefaultCategory
	}
	var deadline time.Time
	if t.Kind == Scheduled {
		deadline = t.SlotStart.Add(q.cfg.Callback.SlotLength)
	} else {
		w := l.estimate(q, t, now)
		deadline = now.Add(promiseWindow(w, q.cfg.Offer.Horizon))
	}
	t.Promise = Promise{Deadline: deadline, OriginalDeadline: deadline, Category: cat, PromisedAt: now}
}

// Convert turns a live caller on hold into a callback that keeps the caller's
// place (same Seq, same priority). If the number already has an active
// callback in the queue, the live ticket ends as a duplicate and the existing
// callback is returned.
func (l *Line) Convert(ctx context.Context, id TicketID, number, actor string) (Joined, error) {
	return l.ConvertWith(ctx, id, ConvertRequest{Number: number, Actor: actor})
}

// Schedule turns a live caller into a scheduled callback for the slot starting
// at slotStart (the after-hours offer).
func (l *Line) Schedule(ctx context.Context, id TicketID, number string, slotStart time.Time, actor string) (Joined, error) {
	if slotStart.IsZero() {
		return Joined{}, fmt.Errorf("schedule ticket %d: no slot", id)
	}
	return l.ConvertWith(ctx, id, ConvertRequest{Number: number, SlotStart: slotStart, Actor: actor})
}

// ConvertRequest is what a caller told the IVR before hanging up: the number
// to call, and optionally why (a reason menu choice that sets the promise
// category), their recorded name, and a slot for a scheduled callback.
type ConvertRequest struct {
	Number    string
	Category  Category
	Reason    string
	Name      string // a recording's name, played to the agent
	SlotStart time.Time
	Actor     string
}

// ConvertWith is Convert (or Schedule, when SlotStart is set) with the
// qualification the caller gave.
func (l *Line) ConvertWith(ctx context.Context, id TicketID, r ConvertRequest) (Joined, error) {
	return l.toCallback(ctx, id, r)
}

func (l *Line) toCallback(ctx context.Context, id TicketID, r ConvertRequest) (Joined, error) {
	number, slot, cat, actor := r.Number, r.SlotStart, r.Category, r.Actor
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	l.promote(now)
	t, err := l.get(id)
	if err != nil {
		return Joined{}, err
	}
	if t.Kind != Live {
		return Joined{}, fmt.Errorf("convert ticket %d: %w: it is already a %s", id, ErrWrongKind, t.Kind)
	}
	if number == "" {
		return Joined{}, fmt.Errorf("convert ticket %d: %w", id, ErrNeedsNumber)
	}
	if eid, ok := l.callbacks[numberKey{t.Queue, number}]; ok {
		if _, err := l.apply(ctx, t, EvCancel, fmt.Sprintf("duplicate of callback %d for the same number", eid), actor, nil); err != nil {
			return Joined{}, err
		}
		e := l.tickets[eid]
		return Joined{Ticket: e.Clone(), Position: l.position(e), Existing: true}, nil
	}
	ev, kind := EvConvert, Callback
	if !slot.IsZero() {
		ev, kind = EvSchedule, Scheduled
	}
	q := l.queues[t.Queue]
	nt, err := l.apply(ctx, t, ev, "caller chose a "+string(kind), actor, func(n *Ticket) {
		n.Kind, n.Number, n.SlotStart, n.CallRef = kind, number, slot, ""
		if r.Reason != "" {
			n.Reason = r.Reason
		}
		if r.Name != "" {
			n.Name = r.Name
		}
		l.promise(q, n, cat, now)
	})
	if err != nil {
		return Joined{}, err
	}
	return Joined{Ticket: nt.Clone(), Position: l.position(nt)}, nil
}

// Assignment pairs the ticket at the head of a line with the agent reserved for it.
type Assignment struct {
	Ticket *Ticket
	Agent  Agent
}

// Next hands the longest-idle available agent the best due ticket among the
// queues that agent serves, reserving both. It returns nil when no agent is
// free or nothing is due for the free agents, so it never hands out more
// tickets than there are free agents. With several PBXs an agent takes only
// the live callers their PBX can be bridged to (Config.Reach): when the head
// of a queue is a caller the agent cannot reach, the agent takes the first
// ticket behind it that they can (see first).
func (l *Line) Next(ctx context.Context) (*Assignment, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	l.promote(now)
	free := make([]*Agent, 0, len(l.agents))
	for _, a := range l.agents {
		if a.State == AgentAvailable {
			free = append(free, a)
		}
	}
	sort.Slice(free, func(i, j int) bool {
		if !free[i].Since.Equal(free[j].Since) {
			return free[i].Since.Before(free[j].Since)
		}
		return free[i].ID < free[j].ID
	})
	var scans map[scanKey]*Ticket // what first found past a head, for agents on one PBX
	for _, a := range free {
		var best *Ticket
		for _, qn := range a.Queues {
			if t := l.first(l.queues[qn], a, now, &scans); t != nil && (best == nil || t.Ahead(best)) {
				best = t
			}
		}
		if best == nil {
			continue
		}
		nt, err := l.apply(ctx, best, EvReserve, "agent "+a.ID, "dispatcher", func(n *Ticket) { n.Agent = a.ID })
		if err != nil {
			return nil, err
		}
		a.State, a.Since, a.Reason, a.Ticket, a.ReservedAt = AgentReserved, now, "", nt.ID, now
		return &Assignment{Ticket: nt.Clone(), Agent: *a}, nil
	}
	return nil, nil
}

// head is the first due ticket that may be served now. Outside the queue's
// hours no callback is dialed, so only callers still holding on the line are
// served, in their order; callbacks wait for the next opening.
func (q *lineQueue) head(now time.Time) *Ticket {
	if len(q.due) == 0 {
		return nil
	}
	if q.cfg.Hours == nil || q.cfg.Hours.Open(now) {
		return q.due[0]
	}
	for _, t := range q.due {
		if t.Kind == Live {
			return t
		}
	}
	return nil
}

// first is the first due ticket of q that agent a may take now: head's
// ticket when the agent can take it, else the first one behind it, in line
// order, that head's hours rule allows and the agent can take. Only a Reach
// filter or a ticket that is not dispatchable yet makes the head untakeable,
// so otherwise this is head alone and the line is never scanned. What a scan finds depends only on the queue and
// the agent's PBX, so within one Next it is remembered in scans: free agents
// on a PBX that can take nothing scan the line once between them.
func (l *Line) first(q *lineQueue, a *Agent, now time.Time, scans *map[scanKey]*Ticket) *Ticket {
	t := q.head(now)
	if t == nil || (l.takes(a, t) && l.ready(t)) {
		return t
	}
	k := scanKey{q, a.Node}
	if t, ok := (*scans)[k]; ok {
		return t
	}
	if *scans == nil {
		*scans = map[scanKey]*Ticket{}
	}
	t = l.scan(q, a, now)
	(*scans)[k] = t
	return t
}

// scanKey is a queue and an agent's PBX.
type scanKey struct {
	q    *lineQueue
	node string
}

// scan returns the first dispatchable ticket of q, in line order, that the
// hours allow and agent a can take.
func (l *Line) scan(q *lineQueue, a *Agent, now time.Time) *Ticket {
	open := q.cfg.Hours == nil || q.cfg.Hours.Open(now)
	// Callers come in runs from one PBX: ask Reach once per run.
	var node string
	var reached, asked bool
	for _, u := range q.due {
		if !l.ready(u) {
			continue
		}
		switch {
		case u.Kind != Live:
			if open {
				return u
			}
			continue
		case u.Node == "" || a.Node == "":
			return u
		case !asked || u.Node != node:
			node, reached, asked = u.Node, l.takes(a, u), true
		}
		if reached {
			return u
		}
	}
	return nil
}

// takes reports whether agent a can be given ticket t. A live caller can be
// bridged only to an agent the caller's PBX can dial; a callback is dialed
// from the agent's own PBX, so any agent takes it.
func (l *Line) takes(a *Agent, t *Ticket) bool {
	return l.reach == nil || t.Kind != Live || t.Node == "" || a.Node == "" ||
		t.Node == a.Node || l.reach(t.Node, a.Node)
}

// NextWake is the earliest time after now at which something becomes due
// without any event: a scheduled slot opening, a retry backoff ending, an
// agent's wrap-up ending. Zero if nothing is pending.
func (l *Line) NextWake() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	var w time.Time
	earlier := func(t time.Time) {
		if w.IsZero() || t.Before(w) {
			w = t
		}
	}
	now := l.clock.Now()
	for _, q := range l.queues {
		if len(q.later) > 0 {
			earlier(q.later[0].DueAt())
		}
		if len(q.due) > 0 && q.cfg.Hours != nil && !q.cfg.Hours.Open(now) {
			earlier(q.cfg.Hours.NextOpen(now))
		}
	}
	for _, a := range l.agents {
		if a.State == AgentWrapUp {
			earlier(a.Since.Add(a.WrapUp))
		}
	}
	return w
}

// Keep applies one of the promise's own events (EvAtRisk, EvOwn, EvRecovery,
// EvReset, EvEscalate, EvMiss, EvChase) to an active ticket: f changes the
// promise, and for EvEscalate the priority (which moves the ticket), and the
// change is journaled with reason. The ticket's state does not change.
func (l *Line) Keep(ctx context.Context, id TicketID, ev Event, reason, actor string, f func(*Ticket)) (*Ticket, error) {
	switch ev {
	case EvAtRisk, EvOwn, EvRecovery, EvReset, EvEscalate, EvMiss, EvChase:
	default:
		return nil, fmt.Errorf("keep the promise of ticket %d: %q is not a promise event", id, ev)
	}
	return l.change(ctx, id, ev, reason, actor, f, nil)
}

// Resolve ends a waiting callback whose reset promised a written update, once
// its owner has written: the promise is kept without the call.
func (l *Line) Resolve(ctx context.Context, id TicketID, reason, actor string) (*Ticket, error) {
	return l.change(ctx, id, EvResolve, reason, actor, nil, nil)
}

// Release puts a reserved or dialing ticket back in line at its own place
// (the agent did not answer, the dial could not start) and frees the agent.
func (l *Line) Release(ctx context.Context, id TicketID, reason, actor string) (*Ticket, error) {
	return l.change(ctx, id, EvRelease, reason, actor, clearAgent, l.freeAgent)
}

// Dial records the start of a callback attempt.
func (l *Line) Dial(ctx context.Context, id TicketID, actor string) (*Ticket, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.promote(l.clock.Now())
	t, err := l.get(id)
	if err != nil {
		return nil, err
	}
	if t.Kind == Live {
		return nil, fmt.Errorf("dial ticket %d: %w: a live caller is connected, not dialed", id, ErrWrongKind)
	}
	return l.apply(ctx, t, EvDial, fmt.Sprintf("attempt %d", t.Attempts+1), actor, func(n *Ticket) { n.Attempts++ })
}

// Retry records a failed attempt (busy, no answer). The callback goes back to
// its own place after the queue's retry delay, or fails for good once the
// attempts are used up. It returns the ticket as it now is.
func (l *Line) Retry(ctx context.Context, id TicketID, outcome, actor string) (*Ticket, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	l.promote(now)
	t, err := l.get(id)
	if err != nil {
		return nil, err
	}
	p := l.queues[t.Queue].cfg.Callback
	if t.Attempts >= p.MaxAttempts {
		nt, err := l.apply(ctx, t, EvFail, fmt.Sprintf("%s after %d attempts", outcome, t.Attempts), actor, clearAgent)
		if err == nil {
			l.freeAgent(t, now)
		}
		return nt, err
	}
	delay := time.Duration(0)
	if n := len(p.RetryDelays); n > 0 {
		i := t.Attempts - 1
		if i >= n {
			i = n - 1
		}
		if i < 0 {
			i = 0
		}
		delay = p.RetryDelays[i]
	}
	reason := fmt.Sprintf("%s on attempt %d; next in %s", outcome, t.Attempts, delay)
	nt, err := l.apply(ctx, t, EvRetry, reason, actor, func(n *Ticket) {
		n.Agent = ""
		n.NotBefore = now.Add(delay)
	})
	if err == nil {
		l.freeAgent(t, now)
	}
	return nt, err
}

// Connect records that the customer and the agent are bridged.
func (l *Line) Connect(ctx context.Context, id TicketID, actor string) (*Ticket, error) {
	now := l.clock.Now()
	return l.change(ctx, id, EvConnect, "bridged", actor, func(n *Ticket) { n.ConnectedAt = now },
		func(t *Ticket, now time.Time) {
			if a, ok := l.agents[t.Agent]; ok && a.Ticket == t.ID {
				a.State, a.Since, a.Reason = AgentBusy, now, ""
			}
		})
}

// Complete ends a conversation normally; its length teaches the wait estimator
// and the agent goes into wrap-up.
func (l *Line) Complete(ctx context.Context, id TicketID, actor string) (*Ticket, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	l.promote(now)
	t, err := l.get(id)
	if err != nil {
		return nil, err
	}
	nt, err := l.apply(ctx, t, EvComplete, "conversation ended", actor, nil)
	if err != nil {
		return nil, err
	}
	a, ok := l.agents[t.Agent]
	ok = ok && a.Ticket == t.ID
	switch {
	case ok && !a.ReservedAt.IsZero():
		// What callers wait for is the agent's whole cycle: ringing (and,
		// for a callback, dialing the customer), talking and wrap-up.
		l.queues[t.Queue].est.ObserveHandle(now.Sub(a.ReservedAt) + a.WrapUp)
	case !t.ConnectedAt.IsZero():
		l.queues[t.Queue].est.ObserveHandle(now.Sub(t.ConnectedAt))
	}
	if ok {
		a.State, a.Since, a.Reason = AgentWrapUp, now, "wrap-up"
	}
	return nt, nil
}

// Abandon ends a ticket whose customer hung up or vanished.
func (l *Line) Abandon(ctx context.Context, id TicketID, reason, actor string) (*Ticket, error) {
	return l.endWithAgentFreed(ctx, id, EvAbandon, reason, actor)
}

// Cancel ends a ticket on request (the customer, an admin, the API).
func (l *Line) Cancel(ctx context.Context, id TicketID, reason, actor string) (*Ticket, error) {
	return l.endWithAgentFreed(ctx, id, EvCancel, reason, actor)
}

// Fail gives a callback up for a reason other than running out of attempts
// (the number turned out to be invalid, say).
func (l *Line) Fail(ctx context.Context, id TicketID, reason, actor string) (*Ticket, error) {
	return l.endWithAgentFreed(ctx, id, EvFail, reason, actor)
}

// Expire ends a waiting ticket whose window can no longer be kept.
func (l *Line) Expire(ctx context.Context, id TicketID, reason, actor string) (*Ticket, error) {
	return l.change(ctx, id, EvExpire, reason, actor, nil, nil)
}

// UpdatePromise changes a ticket's promise fields (the promise keeper's verb).
func (l *Line) UpdatePromise(ctx context.Context, id TicketID, reason, actor string, f func(*Promise)) (*Ticket, error) {
	return l.change(ctx, id, EvUpdate, reason, actor, func(n *Ticket) { f(&n.Promise) }, nil)
}

func (l *Line) endWithAgentFreed(ctx context.Context, id TicketID, ev Event, reason, actor string) (*Ticket, error) {
	return l.change(ctx, id, ev, reason, actor, clearAgent, l.freeAgent)
}

// clearAgent is the ticket side of freeing its agent.
func clearAgent(n *Ticket) { n.Agent = "" }

// freeAgent makes the agent reserved for t available again, once the
// ticket's change is committed. Only a reserved agent is freed here: an agent
// whose phone is ringing or who is talking is on a real call, and the dialer
// that placed it sets their state when that call ends.
func (l *Line) freeAgent(t *Ticket, now time.Time) {
	a, ok := l.agents[t.Agent]
	if !ok || a.Ticket != t.ID || a.State != AgentReserved {
		return
	}
	a.State, a.Since, a.Reason, a.Ticket = AgentAvailable, now, "", 0
	l.tellAgent(a)
	l.changed()
}

// change applies ev to ticket id under the lock, then, once committed, lets
// after adjust the agents.
func (l *Line) change(ctx context.Context, id TicketID, ev Event, reason, actor string, mutate func(*Ticket), after func(old *Ticket, now time.Time)) (*Ticket, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	l.promote(now)
	t, err := l.get(id)
	if err != nil {
		return nil, err
	}
	nt, err := l.apply(ctx, t, ev, reason, actor, mutate)
	if err != nil {
		return nil, err
	}
	if after != nil {
		after(t, now)
	}
	return nt, nil
}

// Refresh replaces the line's copy of ticket id with the stored one, after
// another process (the CLI, a second vhold) changed it; a ticket in a final
// state leaves the line. load runs under the line's lock, so no change of this
// process can slip between the read and the replacement and be undone by a
// stale copy.
func (l *Line) Refresh(id TicketID, load func(TicketID) (*Ticket, error)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.promote(l.clock.Now())
	t, err := load(id)
	if err != nil {
		return fmt.Errorf("refresh ticket %d: %w", id, err)
	}
	if _, ok := l.queues[t.Queue]; !ok {
		return fmt.Errorf("refresh ticket %d: %w %q", t.ID, ErrNoQueue, t.Queue)
	}
	old, ok := l.tickets[t.ID]
	if ok {
		if reflect.DeepEqual(old, t) {
			return nil
		}
		l.remove(old)
	}
	if t.State.Active() {
		l.insert(t.Clone())
	} else if !ok {
		// Final, and already gone from this line: nothing changed here.
		return nil
	}
	l.tell(t, nil)
	l.changed()
	return nil
}

// Recover settles what a restart left in flight. Callbacks that were reserved
// or being dialed go back to their place (the attempt's outcome is unknown, so
// it does not count). A live ticket is kept only if stillThere says its call
// still exists on the PBX (the adapter adopts it and the flow resumes);
// otherwise it ends as abandoned. A surviving caller who was being connected
// goes back to waiting at their place; one who was talking to an agent is
// complete. A nil stillThere means no live call survived.
func (l *Line) Recover(ctx context.Context, stillThere func(*Ticket) bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	l.promote(now)
	ids := make([]TicketID, 0, len(l.tickets))
	for id := range l.tickets {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var errs []error
	for _, id := range ids {
		t := l.tickets[id]
		var err error
		switch {
		case t.Kind == Live && (stillThere == nil || !stillThere(t)):
			_, err = l.apply(ctx, t, EvAbandon, "call gone after a restart", "restart", func(n *Ticket) { n.Agent = "" })
		case t.Kind == Live && t.State == Reserved:
			// The caller is still on hold; the agent's phone that was
			// ringing for them is not ours any more.
			_, err = l.apply(ctx, t, EvRelease, "restart during dispatch", "restart", func(n *Ticket) { n.Agent = "" })
		case t.Kind == Live && t.State == Connected:
			// Still talking to the agent: the conversation is theirs; the
			// ticket's part is done.
			_, err = l.apply(ctx, t, EvComplete, "restart during the conversation", "restart", func(n *Ticket) { n.Agent = "" })
		case t.Kind != Live && t.State == Reserved:
			_, err = l.apply(ctx, t, EvRelease, "restart during dispatch", "restart", func(n *Ticket) { n.Agent = "" })
		case t.Kind != Live && t.State == Dialing:
			// The attempt keeps its number: its outcome is unknown, and the
			// dialer never dials the same attempt twice.
			_, err = l.apply(ctx, t, EvRelease, fmt.Sprintf("restart during attempt %d; outcome unknown", t.Attempts), "restart", func(n *Ticket) {
				n.Agent = ""
			})
		case t.Kind != Live && t.State == Connected:
			_, err = l.apply(ctx, t, EvComplete, "restart during the conversation", "restart", func(n *Ticket) { n.Agent = "" })
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
