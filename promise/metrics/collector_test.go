package metrics

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vhold/vhold/queue"
)

// fakeSource serves a world and counts the loads.
type fakeSource struct {
	mu    sync.Mutex
	w     *world
	err   error
	loads int
}

func (s *fakeSource) load(context.Context) ([]*queue.Ticket, []queue.Transition, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loads++
	if s.err != nil {
		return nil, nil, s.err
	}
	return s.w.tickets, s.w.journal, nil
}

// fakeClock is a settable clock for the collector.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestCollectorExposesTheFigures(t *testing.T) {
	var w world
	// support/general: one on time, one 12 minutes late after a recovery
	// sent before the deadline, one reset and met, one chased twice.
	w.connect(w.callback("support", "general", 0, 25), 20)
	late := w.callback("support", "general", 0, 25)
	w.event(late, queue.EvRecovery, 20)
	w.connect(late, 37)
	reset := w.callback("support", "general", 0, 25)
	w.event(reset, queue.EvRecovery, 30)
	w.reset(reset, 31, 60)
	w.event(reset, queue.EvEscalate, 50)
	w.connect(reset, 58)
	chased := w.callback("support", "general", 0, 25)
	w.event(chased, queue.EvChase, 26)
	w.event(chased, queue.EvChase, 28)
	w.event(chased, queue.EvMiss, 26)
	// billing/money: resolved in writing, never messaged before.
	written := w.callback("billing", "money", 0, 25)
	w.reset(written, 40, 90)
	w.event(written, queue.EvResolve, 80)

	src := &fakeSource{w: &w}
	clk := &fakeClock{now: at(120)}
	c := NewCollector(src.load, 24*time.Hour, clk.Now)

	want := `
# HELP vhold_promises_chased Callbacks promised in the last 24h0m0s whose customer called in while waiting.
# TYPE vhold_promises_chased gauge
vhold_promises_chased{category="general",queue="support"} 1
vhold_promises_chased{category="money",queue="billing"} 0
# HELP vhold_promises_chases Calls in from customers waiting for a callback promised in the last 24h0m0s.
# TYPE vhold_promises_chases gauge
vhold_promises_chases{category="general",queue="support"} 2
vhold_promises_chases{category="money",queue="billing"} 0
# HELP vhold_promises_connected Callbacks promised in the last 24h0m0s that connected to an agent: the population of the punctuality figures.
# TYPE vhold_promises_connected gauge
vhold_promises_connected{category="general",queue="support"} 3
vhold_promises_connected{category="money",queue="billing"} 0
# HELP vhold_promises_delayed Callbacks promised in the last 24h0m0s not connected by their original deadline, by when the recovery message went out (before_deadline, after, never).
# TYPE vhold_promises_delayed gauge
vhold_promises_delayed{category="general",queue="support",recovery="after"} 1
vhold_promises_delayed{category="general",queue="support",recovery="before_deadline"} 1
vhold_promises_delayed{category="general",queue="support",recovery="never"} 1
vhold_promises_delayed{category="money",queue="billing",recovery="after"} 0
vhold_promises_delayed{category="money",queue="billing",recovery="before_deadline"} 0
vhold_promises_delayed{category="money",queue="billing",recovery="never"} 1
# HELP vhold_promises_escalated Callbacks promised in the last 24h0m0s escalated after their reset deadline was at risk.
# TYPE vhold_promises_escalated gauge
vhold_promises_escalated{category="general",queue="support"} 1
vhold_promises_escalated{category="money",queue="billing"} 0
# HELP vhold_promises_inside_original_window Callbacks promised in the last 24h0m0s that connected inside their original window.
# TYPE vhold_promises_inside_original_window gauge
vhold_promises_inside_original_window{category="general",queue="support"} 1
vhold_promises_inside_original_window{category="money",queue="billing"} 0
# HELP vhold_promises_missed Callbacks promised in the last 24h0m0s whose deadline passed before they were dialed.
# TYPE vhold_promises_missed gauge
vhold_promises_missed{category="general",queue="support"} 1
vhold_promises_missed{category="money",queue="billing"} 0
# HELP vhold_promises_missed_late_minutes Mean minutes the missed callbacks promised in the last 24h0m0s waited past the deadline they missed; absent when none.
# TYPE vhold_promises_missed_late_minutes gauge
vhold_promises_missed_late_minutes{category="general",queue="support"} 95
# HELP vhold_promises_promised Callbacks promised in the last 24h0m0s.
# TYPE vhold_promises_promised gauge
vhold_promises_promised{category="general",queue="support"} 4
vhold_promises_promised{category="money",queue="billing"} 1
# HELP vhold_promises_punctuality_minutes Mean minutes outside the original window (0 inside) of the connected callbacks promised in the last 24h0m0s; absent when none connected.
# TYPE vhold_promises_punctuality_minutes gauge
vhold_promises_punctuality_minutes{category="general",queue="support"} 15
# HELP vhold_promises_resolved_in_writing Callbacks promised in the last 24h0m0s resolved by a written update instead of the call.
# TYPE vhold_promises_resolved_in_writing gauge
vhold_promises_resolved_in_writing{category="general",queue="support"} 0
vhold_promises_resolved_in_writing{category="money",queue="billing"} 1
# HELP vhold_promises_second_windows Callbacks promised in the last 24h0m0s given a reset deadline.
# TYPE vhold_promises_second_windows gauge
vhold_promises_second_windows{category="general",queue="support"} 1
vhold_promises_second_windows{category="money",queue="billing"} 1
# HELP vhold_promises_second_windows_met Callbacks promised in the last 24h0m0s connected or resolved in writing by their reset deadline.
# TYPE vhold_promises_second_windows_met gauge
vhold_promises_second_windows_met{category="general",queue="support"} 1
vhold_promises_second_windows_met{category="money",queue="billing"} 1
# HELP vhold_promises_up 1 if the promise figures could be computed from the store at this scrape, else 0 (and no other vhold_promises_ series).
# TYPE vhold_promises_up gauge
vhold_promises_up 1
`
	// Punctuality: (0 + 12 + 33) / 3 = 15. The chased one missed 09:25 and
	// is still waiting at 11:00: 95 minutes late so far.
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(c); n != 29 {
		t.Errorf("%d series, want 29", n)
	}
}

func TestCollectorCachesAndRollsTheWindow(t *testing.T) {
	var w world
	w.connect(w.callback("support", "general", 0, 25), 20)
	src := &fakeSource{w: &w}
	clk := &fakeClock{now: at(60)}
	c := NewCollector(src.load, time.Hour, clk.Now)
	promised := func() float64 {
		t.Helper()
		return testutil.ToFloat64(onlyPromised{c})
	}

	if got := promised(); got != 1 {
		t.Fatalf("promised %v, want 1", got)
	}
	clk.Advance(4 * time.Second)
	promised()
	if src.loads != 1 {
		t.Errorf("%d loads within the cache TTL, want 1", src.loads)
	}
	clk.Advance(time.Second)
	promised()
	if src.loads != 2 {
		t.Errorf("%d loads after the cache TTL, want 2", src.loads)
	}

	// An hour on, the callback has left the window: its series stays, at 0.
	clk.Advance(time.Hour)
	if got := promised(); got != 0 {
		t.Errorf("promised %v an hour later, want 0", got)
	}

	c.WithCacheTTL(0)
	promised()
	promised()
	if src.loads != 5 {
		t.Errorf("%d loads without a cache, want 5", src.loads)
	}
}

// onlyPromised narrows a Collector to its promised series, for ToFloat64.
type onlyPromised struct{ c *Collector }

func (o onlyPromised) Describe(ch chan<- *prometheus.Desc) { o.c.Describe(ch) }
func (o onlyPromised) Collect(ch chan<- prometheus.Metric) {
	all := make(chan prometheus.Metric)
	go func() { o.c.Collect(all); close(all) }()
	for m := range all {
		if m.Desc() == o.c.promised {
			ch <- m
		}
	}
}

func TestCollectorSourceErrorIsUpZero(t *testing.T) {
	var w world
	w.callback("support", "general", 0, 25)
	src := &fakeSource{w: &w, err: errors.New("database is locked")}
	clk := &fakeClock{now: at(60)}
	c := NewCollector(src.load, time.Hour, clk.Now)
	want := `
# HELP vhold_promises_up 1 if the promise figures could be computed from the store at this scrape, else 0 (and no other vhold_promises_ series).
# TYPE vhold_promises_up gauge
vhold_promises_up 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	// The failure is not cached: the next scrape recovers.
	src.mu.Lock()
	src.err = nil
	src.mu.Unlock()
	if err := testutil.CollectAndCompare(c, strings.NewReader(strings.Replace(want, "up 0", "up 1", 1)), "vhold_promises_up"); err != nil {
		t.Error(err)
	}
}

func TestHandlerServesTheRegistry(t *testing.T) {
	var w world
	w.callback("support", "general", 0, 25)
	src := &fakeSource{w: &w}
	clk := &fakeClock{now: at(60)}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(src.load, time.Hour, clk.Now))
	srv := httptest.NewServer(Handler(reg))
	defer srv.Close()

	var wg sync.WaitGroup
	bodies := make([]string, 4)
	for i := range bodies {
		wg.Go(func() {
			resp, err := srv.Client().Get(srv.URL)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			bodies[i] = string(b)
		})
	}
	wg.Wait()
	for _, b := range bodies {
		if !strings.Contains(b, `vhold_promises_promised{category="general",queue="support"} 1`) {
			t.Errorf("body lacks the promised series:\n%s", b)
		}
	}
	if src.loads != 1 {
		t.Errorf("%d loads for 4 concurrent scrapes, want 1", src.loads)
	}
}
