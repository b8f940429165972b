package clock

import (
	"sort"
	"sync"
	"time"
)

// Fake is a clock that moves only when told to. Timers fire, in deadline order,
// as Advance or Set passes them. It is safe for concurrent use.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

// NewFake returns a fake clock reading start.
func NewFake(start time.Time) *Fake { return &Fake{now: start} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer returns a timer that fires when the fake time reaches Now()+d.
func (f *Fake) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{f: f, at: f.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.c <- f.now
		return t
	}
	f.timers = append(f.timers, t)
	return t
}

// Advance moves the clock forward by d, firing the timers it passes.
func (f *Fake) Advance(d time.Duration) { f.Set(f.Now().Add(d)) }

// Set moves the clock to t (never backwards), firing the timers it passes
// in deadline order; AfterFunc functions run after the lock is released.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	if t.Before(f.now) {
		f.mu.Unlock()
		return
	}
	sort.SliceStable(f.timers, func(i, j int) bool { return f.timers[i].at.Before(f.timers[j].at) })
	kept := f.timers[:0]
	var funcs []func()
	for _, tm := range f.timers {
		if !tm.at.After(t) {
			if tm.fn != nil {
				funcs = append(funcs, tm.fn)
			} else {
				tm.c <- tm.at
			}
			continue
		}
		kept = append(kept, tm)
	}
	f.timers = kept
	f.now = t
	f.mu.Unlock()
	for _, fn := range funcs {
		fn()
	}
}

// Pending reports how many timers have not fired yet; tests use it to wait
// until a goroutine under test has armed its timer before advancing.
func (f *Fake) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

type fakeTimer struct {
	f  *Fake
	at time.Time
	c  chan time.Time
	fn func() // AfterFunc's function, called instead of sending on c
}

// AfterFunc calls f when the fake time reaches Now()+d, from the goroutine
// that moves the clock, after the clock's lock is released.
func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	f.mu.Lock()
	t := &fakeTimer{f: f, at: f.now.Add(d), c: make(chan time.Time, 1), fn: fn}
	f.timers = append(f.timers, t)
	f.mu.Unlock()
	if d <= 0 {
		f.Set(f.Now())
	}
	return t
}

// Go starts f in a plain goroutine: a Fake is moved by hand, so it need not
// know when goroutines are blocked.
func (f *Fake) Go(fn func()) { go fn() }

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	for i, tm := range t.f.timers {
		if tm == t {
			t.f.timers = append(t.f.timers[:i], t.f.timers[i+1:]...)
			return true
		}
	}
	return false
}
