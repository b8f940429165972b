// Package pbxtest is an in-memory switch that runs in virtual time: vhold's
// tests, `vhold demo` and the simulator drive the real ivr, queue and dialer
// code against scripted callers, customers and agents, hours of traffic in a
// fraction of a second, and the same seed always gives the same afternoon.
//
// Two parts: Sim, a virtual clock that is also a cooperative scheduler (it
// implements clock.Clock), and Switch, a pbx.Switch whose calls block in
// virtual time. Code under test starts its goroutines with Sim.Go (the
// Switch does so for handlers, Sim.AfterFunc for timed work) and blocks only
// in the switch's verbs or Sim.Sleep; the test goroutine drives the world
// with Sim.Run.
package pbxtest

import (
	"container/heap"
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/vhold/vhold/clock"
)

// DefaultWatchdog is how long Run waits, in wall time, for a simulated
// goroutine to park or return before it declares the goroutine stuck.
// It is generous because a stuck goroutine is a bug, not a slow machine.
const DefaultWatchdog = 10 * time.Second

// Sim is a virtual clock and a cooperative scheduler.
//
// Determinism comes from running at most one tracked goroutine (one started
// with Go) at a time: a tracked goroutine runs until it parks in a
// sim-served wait (a pbx verb on a pbxtest call, an Originate, Sleep) or
// returns, and only then does the scheduler resume the next ready one, in
// FIFO order. When none is ready, the earliest scheduled event runs and the
// clock jumps to its time. Nothing depends on the Go runtime's scheduling or
// on wall time, so the same code and seed replay the same order of
// everything.
//
// The goroutine calling Run is not tracked and must not be; nor may other
// untracked goroutines block in the switch's verbs while Run is running.
// Now, Go, AfterFunc, Schedule and non-blocking verbs (Hangup, Bridge,
// StartMOH...) are safe from any goroutine.
type Sim struct {
	// mu guards the whole simulated world, the Switches on this Sim included:
	// one lock means no lock ordering to get wrong, and it is uncontended
	// because only one tracked goroutine runs at a time.
	mu      sync.Mutex
	now     time.Time
	seq     uint64
	events  eventHeap
	ready   []*proc
	head    int   // ready[head:] are waiting to run
	cur     *proc // the tracked goroutine running now, nil in the scheduler
	running bool
	live    int // tracked goroutines queued or not yet returned
	failed  string

	// groups are the cancellable contexts that parked goroutines wait on,
	// one entry per Done channel, checked each time the world goes idle.
	groups  []*ctxGroup
	groupOf map[<-chan struct{}]*ctxGroup

	yield    chan yieldMsg
	watchdog time.Duration
	wd       *time.Timer
}

// SimOption adjusts a Sim.
type SimOption func(*Sim)

// WithWatchdog sets how long Run waits for a tracked goroutine to park
// before it panics; 0 disables the watchdog (for a debugger).
func WithWatchdog(d time.Duration) SimOption { return func(s *Sim) { s.watchdog = d } }

// NewSim returns a Sim whose clock reads start.
func NewSim(start time.Time, opts ...SimOption) *Sim {
	s := &Sim{
		now:      start.Round(0), // virtual time has no monotonic reading
		groupOf:  map[<-chan struct{}]*ctxGroup{},
		yield:    make(chan yieldMsg, 1),
		watchdog: DefaultWatchdog,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

var _ clock.Clock = (*Sim)(nil)

// proc is one tracked goroutine. Its Go goroutine is started only when the
// scheduler first runs it, so queued work that never runs leaks nothing.
type proc struct {
	f       func()
	resume  chan struct{}
	started bool
}

type yieldMsg struct {
	exited   bool
	panicked bool
	val      any
	stack    []byte
}

// waiter is one parked goroutine's reason to wake. It is woken at most
// once, by whichever comes first: its event, its timer, or its context.
type waiter struct {
	p        *proc
	ctx      context.Context // nil: not cancellable
	grp      *ctxGroup
	gi       int
	woken    bool
	err      error  // the context's error when cancelled
	timer    *event // cancelled when woken
	onCancel func() // undoes the wait's registrations when the context ends first
}

type ctxGroup struct {
	done <-chan struct{}
	ws   []*waiter
	i    int // index in Sim.groups
}

// Now returns the virtual time.
func (s *Sim) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Live reports how many tracked goroutines are queued or have not returned;
// a test that ends its contexts and runs the Sim expects 0.
func (s *Sim) Live() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live
}

// Go queues f to run as a tracked goroutine. It does not start f: f runs
// when the scheduler reaches it, after the goroutines already ready.
func (s *Sim) Go(f func()) {
	s.mu.Lock()
	s.goLocked(f)
	s.mu.Unlock()
}

func (s *Sim) goLocked(f func()) {
	s.live++
	s.pushReady(&proc{f: f})
}

// Schedule runs f in the scheduler at virtual time at (now, if at has
// passed), after the events already scheduled for the same time. f must
// not block: it is how the switch moves the world (a prompt ends, a key is
// pressed); to start work that blocks, call Go from f.
func (s *Sim) Schedule(at time.Time, f func()) {
	s.mu.Lock()
	s.schedule(at, f)
	s.mu.Unlock()
}

// AfterFunc runs f as a tracked goroutine d from now, so f may block in the
// switch's verbs like any other simulated goroutine.
func (s *Sim) AfterFunc(d time.Duration, f func()) clock.Timer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &simTimer{s: s, ev: s.schedule(s.now.Add(d), func() { s.Go(f) })}
}

// NewTimer returns a timer whose channel receives the virtual time when it
// fires. It exists for the clock.Clock interface and for untracked code: a
// tracked goroutine must never wait on C, because time only moves once every
// tracked goroutine has parked, so the timer could never fire; the watchdog
// reports that as a goroutine blocked outside the simulated world. Tracked
// code waits with Sleep or schedules with AfterFunc instead.
func (s *Sim) NewTimer(d time.Duration) clock.Timer {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := make(chan time.Time, 1)
	t := &simTimer{s: s, c: c}
	t.ev = s.schedule(s.now.Add(d), func() {
		s.mu.Lock()
		now := s.now
		s.mu.Unlock()
		c <- now
	})
	return t
}

type simTimer struct {
	s  *Sim
	ev *event
	c  chan time.Time
}

func (t *simTimer) C() <-chan time.Time {
	if t.c == nil {
		return nil
	}
	return t.c
}

func (t *simTimer) Stop() bool {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	return t.s.cancel(t.ev)
}

// Sleep parks the calling tracked goroutine for d of virtual time. It is the
// sim-served wait for tests and helpers that hold a *Sim; code that only sees
// a clock.Clock uses AfterFunc.
func (s *Sim) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mustPark("Sleep")
	w := &waiter{p: s.cur, ctx: ctx}
	w.timer = s.schedule(s.now.Add(d), func() { s.mu.Lock(); s.wake(w); s.mu.Unlock() })
	s.park(w)
	return w.err
}

// RunFor runs the world for d of virtual time.
func (s *Sim) RunFor(d time.Duration) { s.Run(s.Now().Add(d)) }

// Run drives the world until nothing is left to do at or before until, then
// leaves the clock at until (or where it was, if later). Goroutines still
// parked stay parked for the next Run.
func (s *Sim) Run(until time.Time) {
	s.mu.Lock()
	switch {
	case s.cur != nil:
		s.mu.Unlock()
		panic("pbxtest: Run called from a simulated goroutine; only the test goroutine drives the Sim")
	case s.running:
		s.mu.Unlock()
		panic("pbxtest: Run called while the Sim is already running")
	case s.failed != "":
		f := s.failed
		s.mu.Unlock()
		panic("pbxtest: Run on a Sim broken by an earlier failure: " + f)
	}
	s.running = true
	locked, clean := true, false
	defer func() {
		if clean {
			return
		}
		// A panic is on its way out (an event's bug, the watchdog): mark
		// the Sim broken so the next Run says why instead of hanging.
		if !locked {
			s.mu.Lock()
		}
		s.running = false
		if s.failed == "" {
			s.failed = "a panic in Run"
		}
		s.mu.Unlock()
	}()
	for {
		if p := s.popReady(); p != nil {
			s.cur = p
			s.mu.Unlock()
			locked = false
			msg := s.step(p)
			s.mu.Lock()
			locked = true
			s.cur = nil
			if msg.exited {
				s.live--
			}
			if msg.panicked {
				s.failed = fmt.Sprintf("simulated goroutine panicked: %v", msg.val)
				panic(fmt.Sprintf("pbxtest: %s\n\n%s", s.failed, msg.stack))
			}
			continue
		}
		// Contexts are polled only before the clock moves (or Run ends):
		// polling costs a look at every parked context, and a cancelled
		// wait still resumes at the instant it was cancelled.
		if (len(s.events) == 0 || s.events[0].at.After(s.now)) && s.wakeCancelled() {
			continue
		}
		if len(s.events) == 0 || s.events[0].at.After(until) {
			break
		}
		ev := heap.Pop(&s.events).(*event)
		s.now = ev.at
		s.mu.Unlock()
		locked = false
		ev.f()
		s.mu.Lock()
		locked = true
	}
	if until.After(s.now) {
		s.now = until
	}
	s.running = false
	clean = true
	s.mu.Unlock()
}

// step resumes p and waits until it parks or returns.
func (s *Sim) step(p *proc) yieldMsg {
	if !p.started {
		p.started = true
		p.resume = make(chan struct{}, 1)
		go s.runTracked(p)
	} else {
		p.resume <- struct{}{}
	}
	if s.watchdog <= 0 {
		return <-s.yield
	}
	if s.wd == nil {
		s.wd = time.NewTimer(s.watchdog)
	} else {
		s.wd.Reset(s.watchdog)
	}
	select {
	case msg := <-s.yield:
		s.wd.Stop()
		return msg
	case <-s.wd.C:
		s.mu.Lock()
		s.failed = "a goroutine blocked outside the simulated world"
		s.mu.Unlock()
		panic(fmt.Sprintf("pbxtest: goroutine did not yield: it blocked outside the simulated world "+
			"(no park or return for %s of wall time). A simulated goroutine may block only in the "+
			"switch's verbs or Sim.Sleep: not on a plain channel, a mutex held by an untracked "+
			"goroutine, or the C of a Sim.NewTimer (use AfterFunc).\n\n%s", s.watchdog, allStacks()))
	}
}

// runTracked is the body of every tracked goroutine; its name is how
// onTrackedGoroutine recognises one, so it must stay a real frame.
//
//go:noinline
func (s *Sim) runTracked(p *proc) {
	returned := false
	defer func() {
		msg := yieldMsg{exited: true}
		if !returned {
			// recover is nil after runtime.Goexit (t.FailNow): a plain exit.
			if r := recover(); r != nil {
				msg.panicked, msg.val, msg.stack = true, r, debug.Stack()
			}
		}
		s.yield <- msg
	}()
	p.f()
	returned = true
}

// mustPark panics when the caller is not a tracked goroutine: an untracked
// goroutine blocking in a verb would wait for a scheduler that is not
// waiting for it. s.mu is held; callers release it in a deferred Unlock.
func (s *Sim) mustPark(verb string) {
	if s.cur != nil {
		return
	}
	panic("pbxtest: " + verb + " waits in virtual time, so it must run in a goroutine started with " +
		"Sim.Go (a Serve handler or an AfterFunc function is one), while Sim.Run is driving the world")
}

// park hands control back to the scheduler until w is woken. s.mu is held
// on entry and on return; w.p is the running goroutine.
func (s *Sim) park(w *waiter) {
	if !w.woken { // a wait can end before it parks: a zero timeout
		s.watch(w)
	}
	s.mu.Unlock()
	s.yield <- yieldMsg{}
	<-w.p.resume
	s.mu.Lock()
}

// wake makes w's goroutine ready, once; it reports whether it did.
func (s *Sim) wake(w *waiter) bool {
	if w.woken {
		return false
	}
	w.woken = true
	s.unwatch(w)
	if w.timer != nil {
		s.cancel(w.timer)
		w.timer = nil
	}
	s.pushReady(w.p)
	return true
}

// watch files w under its context's Done channel. Context cancellation is
// noticed by polling those channels whenever the world is idle, never by a
// callback goroutine: a callback would race the scheduler, and the moment a
// cancelled wait resumes would depend on the Go runtime instead of on the
// simulation.
func (s *Sim) watch(w *waiter) {
	if w.ctx == nil {
		return
	}
	done := w.ctx.Done()
	if done == nil {
		return
	}
	g := s.groupOf[done]
	if g == nil {
		g = &ctxGroup{done: done, i: len(s.groups)}
		s.groups = append(s.groups, g)
		s.groupOf[done] = g
	}
	w.grp, w.gi = g, len(g.ws)
	g.ws = append(g.ws, w)
}

func (s *Sim) unwatch(w *waiter) {
	g := w.grp
	if g == nil {
		return
	}
	w.grp = nil
	last := len(g.ws) - 1
	g.ws[w.gi] = g.ws[last]
	g.ws[w.gi].gi = w.gi
	g.ws[last] = nil
	g.ws = g.ws[:last]
	if len(g.ws) > 0 {
		return
	}
	delete(s.groupOf, g.done)
	lastG := len(s.groups) - 1
	s.groups[g.i] = s.groups[lastG]
	s.groups[g.i].i = g.i
	s.groups[lastG] = nil
	s.groups = s.groups[:lastG]
}

// wakeCancelled wakes every waiter whose context has ended; it reports
// whether it woke any.
func (s *Sim) wakeCancelled() bool {
	woke := false
	for i := 0; i < len(s.groups); {
		g := s.groups[i]
		select {
		case <-g.done:
		default:
			i++
			continue
		}
		// Waking removes each waiter and finally the group, whose slot
		// is then taken by another group: look at index i again.
		for len(g.ws) > 0 {
			w := g.ws[0]
			w.err = w.ctx.Err()
			if w.onCancel != nil {
				w.onCancel()
			}
			s.wake(w)
		}
		woke = true
	}
	return woke
}

func (s *Sim) pushReady(p *proc) { s.ready = append(s.ready, p) }

func (s *Sim) popReady() *proc {
	if s.head == len(s.ready) {
		return nil
	}
	p := s.ready[s.head]
	s.ready[s.head] = nil
	s.head++
	if s.head == len(s.ready) {
		s.ready, s.head = s.ready[:0], 0
	}
	return p
}

// event is one scheduled function; seq keeps events of the same instant in
// the order they were scheduled.
type event struct {
	at  time.Time
	seq uint64
	f   func()
	idx int // in the heap; -1 once popped or cancelled
}

func (s *Sim) schedule(at time.Time, f func()) *event {
	if at.Before(s.now) {
		at = s.now
	}
	s.seq++
	ev := &event{at: at, seq: s.seq, f: f}
	heap.Push(&s.events, ev)
	return ev
}

// cancel removes ev if it is still pending and reports whether it was.
func (s *Sim) cancel(ev *event) bool {
	if ev == nil || ev.idx < 0 {
		return false
	}
	heap.Remove(&s.events, ev.idx)
	return true
}

type eventHeap []*event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].seq < h[j].seq
	}
	return h[i].at.Before(h[j].at)
}
func (h eventHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *eventHeap) Push(x any) {
	ev := x.(*event)
	ev.idx = len(*h)
	*h = append(*h, ev)
}
func (h *eventHeap) Pop() any {
	old := *h
	n := len(old) - 1
	ev := old[n]
	old[n] = nil
	ev.idx = -1
	*h = old[:n]
	return ev
}

// onTrackedGoroutine reports whether the caller runs in a tracked goroutine,
// by looking for runTracked at the bottom of its stack. It costs a stack
// walk, so only Serve, which runs once, uses it.
func onTrackedGoroutine() bool {
	pcs := make([]uintptr, 64)
	for {
		n := runtime.Callers(1, pcs)
		if n < len(pcs) {
			pcs = pcs[:n]
			break
		}
		pcs = make([]uintptr, 2*len(pcs))
	}
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if strings.HasSuffix(f.Function, "/pbxtest.(*Sim).runTracked") {
			return true
		}
		if !more {
			return false
		}
	}
}

func allStacks() string {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}
