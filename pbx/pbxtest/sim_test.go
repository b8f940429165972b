package pbxtest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

func TestSimRunsEventsInTimeThenFIFOOrder(t *testing.T) {
	sim := NewSim(t0)
	var got []string
	at := func(d time.Duration, name string) {
		sim.Schedule(t0.Add(d), func() { got = append(got, fmt.Sprintf("%s@%s", name, sim.Now().Sub(t0))) })
	}
	at(2*time.Second, "c")
	at(time.Second, "a")
	at(time.Second, "b")
	at(time.Hour, "late")
	sim.RunFor(time.Minute)
	if want := "a@1s b@1s c@2s"; strings.Join(got, " ") != want {
		t.Fatalf("order = %q, want %q", strings.Join(got, " "), want)
	}
	if !sim.Now().Equal(t0.Add(time.Minute)) {
		t.Fatalf("Now = %v after RunFor(1m), want t0+1m", sim.Now())
	}
	sim.RunFor(time.Hour)
	if got[len(got)-1] != "late@1h0m0s" {
		t.Fatalf("late event ran as %q", got[len(got)-1])
	}
}

func TestSimRunsOneTrackedGoroutineAtATime(t *testing.T) {
	sim := NewSim(t0)
	ctx := context.Background()
	var got []string
	for _, name := range []string{"a", "b", "c"} {
		sim.Go(func() {
			for i := range 3 {
				got = append(got, fmt.Sprintf("%s%d", name, i))
				if err := sim.Sleep(ctx, time.Second); err != nil {
					t.Error(err)
				}
			}
		})
	}
	sim.RunFor(time.Minute)
	want := "a0 b0 c0 a1 b1 c1 a2 b2 c2"
	if strings.Join(got, " ") != want {
		t.Fatalf("interleaving = %q, want %q", strings.Join(got, " "), want)
	}
	if sim.Live() != 0 {
		t.Fatalf("Live = %d after every goroutine returned", sim.Live())
	}
}

func TestSimTimers(t *testing.T) {
	sim := NewSim(t0)
	var fired []time.Duration
	sim.AfterFunc(2*time.Second, func() {
		fired = append(fired, sim.Now().Sub(t0))
		// An AfterFunc runs tracked, so it may wait in virtual time.
		if err := sim.Sleep(context.Background(), time.Second); err != nil {
			t.Error(err)
		}
		fired = append(fired, sim.Now().Sub(t0))
	})
	stopped := sim.AfterFunc(time.Second, func() { t.Error("a stopped AfterFunc ran") })
	if !stopped.Stop() {
		t.Fatal("Stop of a pending AfterFunc reported false")
	}
	tm := sim.NewTimer(5 * time.Second)
	sim.RunFor(10 * time.Second)
	if fmt.Sprint(fired) != "[2s 3s]" {
		t.Fatalf("AfterFunc ran at %v, want [2s 3s]", fired)
	}
	select {
	case at := <-tm.C():
		if !at.Equal(t0.Add(5 * time.Second)) {
			t.Fatalf("timer fired at %v", at)
		}
	default:
		t.Fatal("timer did not fire")
	}
	if tm.Stop() {
		t.Fatal("Stop of a fired timer reported true")
	}
}

func TestSimWakesParkedGoroutineWhenContextEnds(t *testing.T) {
	sim := NewSim(t0)
	ctx, cancel := context.WithCancel(context.Background())
	var err error
	var at time.Duration
	sim.Go(func() {
		err = sim.Sleep(ctx, time.Hour)
		at = sim.Now().Sub(t0)
	})
	sim.AfterFunc(10*time.Second, cancel) // cancelled from inside the world
	sim.RunFor(2 * time.Hour)
	if !errors.Is(err, context.Canceled) || at != 10*time.Second {
		t.Fatalf("Sleep = %v at %v, want context.Canceled at 10s", err, at)
	}

	// Cancelled from the test goroutine between runs.
	ctx, cancel = context.WithCancel(context.Background())
	err = nil
	sim.Go(func() { err = sim.Sleep(ctx, time.Hour) })
	sim.RunFor(time.Minute)
	cancel()
	sim.RunFor(0)
	if !errors.Is(err, context.Canceled) || sim.Live() != 0 {
		t.Fatalf("Sleep = %v, Live = %d; want context.Canceled, 0", err, sim.Live())
	}
}

func TestSimPropagatesPanicsToRun(t *testing.T) {
	sim := NewSim(t0)
	sim.Go(func() { panic("flow bug") })
	msg := catch(func() { sim.RunFor(time.Second) })
	if !strings.Contains(msg, "flow bug") {
		t.Fatalf("Run panicked with %q, want the goroutine's panic", msg)
	}
	if msg := catch(func() { sim.RunFor(time.Second) }); !strings.Contains(msg, "broken") {
		t.Fatalf("second Run panicked with %q, want it to say the Sim is broken", msg)
	}
}

func TestSimRefusesBlockingVerbsOutsideTrackedGoroutines(t *testing.T) {
	sim := NewSim(t0)
	msg := catch(func() { _ = sim.Sleep(context.Background(), time.Second) })
	if !strings.Contains(msg, "Sim.Go") {
		t.Fatalf("untracked Sleep panicked with %q", msg)
	}
}

func TestWatchdogCatchesGoroutineBlockedOutsideTheWorld(t *testing.T) {
	sim := NewSim(t0, WithWatchdog(100*time.Millisecond))
	block := make(chan struct{})
	exited := make(chan struct{})
	sim.Go(func() {
		defer close(exited)
		<-block
	})
	msg := catch(func() { sim.RunFor(time.Second) })
	if !strings.Contains(msg, "pbxtest: goroutine did not yield: it blocked outside the simulated world") {
		t.Fatalf("Run panicked with %q", msg)
	}
	if !strings.Contains(msg, "TestWatchdogCatchesGoroutineBlockedOutsideTheWorld") {
		t.Fatal("the panic has no goroutine dump naming the stuck function")
	}
	close(block) // let it go, so it does not outlive the test
	<-exited
}

func TestNoGoroutinesLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	sim, sw, calls := world(t, Options{Seed: 7}, holdFlow,
		Caller{Number: "+34911000001", Queue: "support", HangUpAfter: 3 * time.Minute},
		Caller{Number: "+34911000002", Queue: "support", Script: []Action{PressOn{Prompt: "offer-callback", Keys: "1"}}},
		Caller{Number: "+34911000003", Queue: "support"}, // waits until the switch stops
	)
	_ = sw
	if sim.Live() != 0 {
		t.Fatalf("Live = %d after the switch stopped", sim.Live())
	}
	for _, c := range calls {
		if c.Up() {
			t.Fatalf("%s still up:\n%s", c, c.Transcript())
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // let exited goroutines finish returning
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines before, %d after", before, n)
	}
}

// catch runs f and returns what it panicked with ("" if nothing).
func catch(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}
