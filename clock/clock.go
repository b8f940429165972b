// Package clock gives every package that waits or schedules one source of time,
// so tests and the simulator can run hours of traffic in milliseconds with the
// same code that runs in production.
package clock

import "time"

// Clock is the time source a component is given instead of calling time.Now,
// and the owner of the goroutines that wait on it.
//
// Under a virtual clock (pbxtest.Sim) time advances only when every goroutine
// started with Go is blocked on the virtual world (a call's verb, an
// originate), and those goroutines run one at a time; that is how a simulated
// afternoon runs in a second and the same seed gives the same journal. Code
// that may run under a virtual clock therefore starts its goroutines with Go,
// blocks only in pbx verbs, and schedules timed work with AfterFunc rather
// than by waiting on a timer's channel.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that fires once, d after Now.
	NewTimer(d time.Duration) Timer
	// AfterFunc calls f once, d after Now, in a goroutine of the clock's own;
	// Stop cancels it.
	AfterFunc(d time.Duration, f func()) Timer
	// Go runs f in a new goroutine that the clock accounts for.
	Go(f func())
}

// Timer is the part of time.Timer vhold uses, so a fake clock can stand in.
type Timer interface {
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it was still pending.
	Stop() bool
}

// Real is the wall clock.
type Real struct{}

// Now returns the current wall-clock time.
func (Real) Now() time.Time { return time.Now() }

// NewTimer wraps time.NewTimer.
func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

// AfterFunc wraps time.AfterFunc.
func (Real) AfterFunc(d time.Duration, f func()) Timer { return funcTimer{time.AfterFunc(d, f)} }

// Go starts f in a plain goroutine.
func (Real) Go(f func()) { go f() }

type funcTimer struct{ t *time.Timer }

func (f funcTimer) C() <-chan time.Time { return nil }
func (f funcTimer) Stop() bool          { return f.t.Stop() }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }
