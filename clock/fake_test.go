package clock

import (
	"testing"
	"time"
)

func TestFakeFiresTimersInOrderAsTimePasses(t *testing.T) {
	start := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	f := NewFake(start)
	late := f.NewTimer(10 * time.Minute)
	early := f.NewTimer(time.Minute)
	stopped := f.NewTimer(2 * time.Minute)
	if !stopped.Stop() {
		t.Fatal("Stop on a pending timer reported false")
	}
	f.Advance(5 * time.Minute)
	select {
	case at := <-early.C():
		if !at.Equal(start.Add(time.Minute)) {
			t.Fatalf("early fired at %v", at)
		}
	default:
		t.Fatal("early timer did not fire")
	}
	select {
	case <-late.C():
		t.Fatal("late timer fired 5 minutes early")
	case <-stopped.C():
		t.Fatal("stopped timer fired")
	default:
	}
	if f.Pending() != 1 {
		t.Fatalf("pending = %d, want 1", f.Pending())
	}
	f.Set(start) // backwards: ignored
	if !f.Now().Equal(start.Add(5 * time.Minute)) {
		t.Fatalf("clock went backwards to %v", f.Now())
	}
	f.Advance(5 * time.Minute)
	if _, ok := <-late.C(); !ok {
		t.Fatal("late timer channel closed")
	}
}
