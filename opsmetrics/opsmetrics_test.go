package opsmetrics

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vhold/vhold/queue"
)

func newRecorder(t *testing.T) (*Recorder, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	return New(reg), reg
}

func TestCounters(t *testing.T) {
	r, _ := newRecorder(t)
	r.CallEntered("support", "ast1")
	r.CallEntered("support", "ast1")
	r.CallEntered("sales", "fs1")
	r.Offered("support", "callback")
	r.Offered("support", "scheduled")
	r.Accepted("support", "callback")
	r.Attempt("support", "busy")
	r.Attempt("support", "busy")
	r.Attempt("support", "answered")

	for _, c := range []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"entered support/ast1", r.callsEntered.WithLabelValues("support", "ast1"), 2},
		{"entered sales/fs1", r.callsEntered.WithLabelValues("sales", "fs1"), 1},
		{"offers callback", r.offers.WithLabelValues("support", "callback"), 1},
		{"offers scheduled", r.offers.WithLabelValues("support", "scheduled"), 1},
		{"accepted callback", r.accepted.WithLabelValues("support", "callback"), 1},
		{"accepted scheduled", r.accepted.WithLabelValues("support", "scheduled"), 0},
		{"attempts busy", r.attempts.WithLabelValues("support", "busy"), 2},
		{"attempts answered", r.attempts.WithLabelValues("support", "answered"), 1},
	} {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestLineChanged counts callbacks by outcome from the line's changes, and
// nothing else: live tickets, changes that are not final, agents.
func TestLineChanged(t *testing.T) {
	r, _ := newRecorder(t)
	cb := func(kind queue.Kind, st queue.State) *queue.Ticket {
		return &queue.Ticket{Queue: "support", Kind: kind, State: st}
	}
	tr := func(ev queue.Event, to queue.State) *queue.Transition {
		return &queue.Transition{Event: ev, To: to}
	}
	for _, c := range []queue.Change{
		{Ticket: cb(queue.Callback, queue.Completed), Transition: tr(queue.EvComplete, queue.Completed)},
		{Ticket: cb(queue.Callback, queue.Completed), Transition: tr(queue.EvResolve, queue.Completed)},
		{Ticket: cb(queue.Scheduled, queue.Failed), Transition: tr(queue.EvFail, queue.Failed)},
		{Ticket: cb(queue.Callback, queue.Cancelled), Transition: tr(queue.EvCancel, queue.Cancelled)},
		{Ticket: cb(queue.Callback, queue.Cancelled)}, // read back from another process (the CLI)
		{Ticket: cb(queue.Callback, queue.Expired), Transition: tr(queue.EvExpire, queue.Expired)},
		{Ticket: cb(queue.Callback, queue.Abandoned), Transition: tr(queue.EvAbandon, queue.Abandoned)},
		// Not counted:
		{Ticket: cb(queue.Live, queue.Abandoned), Transition: tr(queue.EvAbandon, queue.Abandoned)},
		{Ticket: cb(queue.Live, queue.Completed), Transition: tr(queue.EvComplete, queue.Completed)},
		{Ticket: cb(queue.Callback, queue.Waiting), Transition: tr(queue.EvRetry, queue.Waiting)},
		{Ticket: cb(queue.Callback, queue.Connected), Transition: tr(queue.EvConnect, queue.Connected)},
		{Agent: &queue.Agent{State: queue.AgentBusy}},
	} {
		r.LineChanged(c)
	}
	want := `
# HELP vhold_callbacks_ended_total Callbacks (and scheduled callbacks) that ended, by queue and outcome: completed, resolved (in writing), failed, cancelled, expired, abandoned.
# TYPE vhold_callbacks_ended_total counter
vhold_callbacks_ended_total{outcome="abandoned",queue="support"} 1
vhold_callbacks_ended_total{outcome="cancelled",queue="support"} 2
vhold_callbacks_ended_total{outcome="completed",queue="support"} 1
vhold_callbacks_ended_total{outcome="expired",queue="support"} 1
vhold_callbacks_ended_total{outcome="failed",queue="support"} 1
vhold_callbacks_ended_total{outcome="resolved",queue="support"} 1
`
	if err := testutil.CollectAndCompare(r.callbacks, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}

func TestWaits(t *testing.T) {
	r, _ := newRecorder(t)
	r.Estimated("support", 5*time.Minute)
	// Served two minutes sooner than said.
	r.Waited("support", 5*time.Minute, 3*time.Minute)
	// Never told a wait: the realised wait counts, the error cannot.
	r.Waited("support", -1, 10*time.Minute)

	if n := testutil.CollectAndCount(r.waitEstimate, "vhold_wait_estimate_seconds"); n != 1 {
		t.Fatalf("%d estimate series", n)
	}
	want := `
# HELP vhold_wait_estimate_error_seconds Realised wait minus the estimate first announced, for live callers connected to an agent who heard one, by queue; negative is sooner than said.
# TYPE vhold_wait_estimate_error_seconds histogram
vhold_wait_estimate_error_seconds_bucket{queue="support",le="-1800"} 0
vhold_wait_estimate_error_seconds_bucket{queue="support",le="-900"} 0
vhold_wait_estimate_error_seconds_bucket{queue="support",le="-600"} 0
vhold_wait_estimate_error_seconds_bucket{queue="support",le="-300"} 0
vhold_wait_estimate_error_seconds_bucket{queue="support",le="-180"} 0
vhold_wait_estimate_error_seconds_bucket{queue="support",le="-120"} 1
vhold_wait_estimate_error_seconds_bucket{queue="support",le="-60"} 1
vhold_wait_estimate_error_seconds_bucket{queue="support",le="-30"} 1
vhold_wait_estimate_error_seconds_bucket{queue="support",le="0"} 1
vhold_wait_estimate_error_seconds_bucket{queue="support",le="30"} 1
vhold_wait_estimate_error_seconds_bucket{queue="support",le="60"} 1
vhold_wait_estimate_error_seconds_bucket{queue="support",le="120"} 1
vhold_wait_estimate_error_seconds_bucket{queue="support",le="180"} 1
vhold_wait_estimate_error_seconds_bucket{queue="support",le="300"} 1
vhold_wait_estimate_error_seconds_bucket{queue="support",le="600"} 1
vhold_wait_estimate_error_seconds_bucket{queue="support",le="900"} 1
vhold_wait_estimate_error_seconds_bucket{queue="support",le="1800"} 1
vhold_wait_estimate_error_seconds_bucket{queue="support",le="+Inf"} 1
vhold_wait_estimate_error_seconds_sum{queue="support"} -120
vhold_wait_estimate_error_seconds_count{queue="support"} 1
`
	if err := testutil.CollectAndCompare(r.waitError, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	realised := histogram(t, r.waitRealised)
	if realised.GetSampleCount() != 2 || realised.GetSampleSum() != 780 {
		t.Fatalf("realised: %d samples, sum %v; want 2, 780", realised.GetSampleCount(), realised.GetSampleSum())
	}
	estimate := histogram(t, r.waitEstimate)
	if estimate.GetSampleCount() != 1 || estimate.GetSampleSum() != 300 {
		t.Fatalf("estimate: %d samples, sum %v; want 1, 300", estimate.GetSampleCount(), estimate.GetSampleSum())
	}
}

func TestStoreCommitted(t *testing.T) {
	r, _ := newRecorder(t)
	r.StoreCommitted(3*time.Millisecond, 1)
	r.StoreCommitted(7*time.Millisecond, 4)
	h := histogram(t, r.storeCommit)
	if h.GetSampleCount() != 2 || h.GetSampleSum() < 0.0099 || h.GetSampleSum() > 0.0101 {
		t.Fatalf("commit: %d samples, sum %v; want 2, 0.01", h.GetSampleCount(), h.GetSampleSum())
	}
	b := histogram(t, r.storeBatch)
	if b.GetSampleCount() != 2 || b.GetSampleSum() != 5 {
		t.Fatalf("batch: %d samples, sum %v; want 2, 5", b.GetSampleCount(), b.GetSampleSum())
	}
}

type fakeConn struct{ up atomic.Bool }

func (f *fakeConn) Connected() bool { return f.up.Load() }

// TestPBXConnected reads each PBX's state at scrape time.
func TestPBXConnected(t *testing.T) {
	r, reg := newRecorder(t)
	ast, fs := &fakeConn{}, &fakeConn{}
	r.PBX("ast1", "asterisk", ast)
	r.PBX("fs1", "freeswitch", fs)
	ast.up.Store(true)
	want := func(a, f int) string {
		return strings.NewReplacer("A", string(rune('0'+a)), "F", string(rune('0'+f))).Replace(`
# HELP vhold_pbx_connected 1 while vhold's event connection to the PBX is up, 0 otherwise, by PBX name and kind (asterisk, freeswitch).
# TYPE vhold_pbx_connected gauge
vhold_pbx_connected{kind="asterisk",pbx="ast1"} A
vhold_pbx_connected{kind="freeswitch",pbx="fs1"} F
`)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want(1, 0)), "vhold_pbx_connected"); err != nil {
		t.Fatal(err)
	}
	ast.up.Store(false)
	fs.up.Store(true)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want(0, 1)), "vhold_pbx_connected"); err != nil {
		t.Fatal(err)
	}
}

// TestLint keeps the series' names and help within Prometheus' conventions.
func TestLint(t *testing.T) {
	r, reg := newRecorder(t)
	r.CallEntered("q", "p")
	r.Offered("q", "callback")
	r.Accepted("q", "callback")
	r.Attempt("q", "busy")
	r.Estimated("q", time.Minute)
	r.Waited("q", time.Minute, time.Minute)
	r.StoreCommitted(time.Millisecond, 1)
	r.LineChanged(queue.Change{Ticket: &queue.Ticket{Queue: "q", Kind: queue.Callback, State: queue.Completed}})
	r.PBX("p", "asterisk", &fakeConn{})
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// histogram gathers the one histogram c holds.
func histogram(t *testing.T, c prometheus.Collector) interface {
	GetSampleCount() uint64
	GetSampleSum() float64
} {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 1 || len(mfs[0].GetMetric()) != 1 {
		t.Fatalf("want one histogram, got %v", mfs)
	}
	return mfs[0].GetMetric()[0].GetHistogram()
}
