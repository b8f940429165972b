// Package opsmetrics holds vhold's operational series for /metrics: calls
// entered, offers and acceptances, callbacks by outcome, callback attempts by
// cause, announced against realised waits, PBX connection state and store
// commit latency. (The promise figures, computed from the store, are package
// promise/metrics.)
//
// A Recorder is built on the registry it is given; nothing is registered
// globally. The packages that feed it (ivr, dialer, store) declare the small
// interfaces or funcs they call, so they never import Prometheus; a nil
// recorder there means "not recorded". Every method is safe for concurrent
// use and only moves a counter or a histogram, so LineChanged may run under
// the line's lock.
package opsmetrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vhold/vhold/queue"
)

// waitBuckets spans a wait on the line, from seconds to two hours.
var waitBuckets = []float64{15, 30, 60, 120, 180, 300, 450, 600, 900, 1200, 1800, 2700, 3600, 7200}

// errorBuckets spans realised − announced: negative when the caller was
// served sooner than the estimate, positive when later.
var errorBuckets = []float64{-1800, -900, -600, -300, -180, -120, -60, -30, 0, 30, 60, 120, 180, 300, 600, 900, 1800}

// commitBuckets spans a group commit, from a page-cache write to a slow fsync
// or a wait for another process's write lock.
var commitBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// batchBuckets spans the size of a group commit (at most 256).
var batchBuckets = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256}

// Recorder holds the operational collectors of one vhold process.
type Recorder struct {
	callsEntered *prometheus.CounterVec
	offers       *prometheus.CounterVec
	accepted     *prometheus.CounterVec
	callbacks    *prometheus.CounterVec
	attempts     *prometheus.CounterVec
	waitEstimate *prometheus.HistogramVec
	waitRealised *prometheus.HistogramVec
	waitError    *prometheus.HistogramVec
	storeCommit  prometheus.Histogram
	storeBatch   prometheus.Histogram
	pbxConnected *pbxCollector
}

// New builds the collectors and registers them on reg.
func New(reg prometheus.Registerer) *Recorder {
	r := &Recorder{
		callsEntered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vhold_calls_entered_total",
			Help: "Live callers who joined a queue's line, by queue and PBX.",
		}, []string{"queue", "pbx"}),
		offers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vhold_offers_total",
			Help: "Live callers who heard an offer, by queue and kind (callback, scheduled); once per caller and kind, however often it was repeated.",
		}, []string{"queue", "kind"}),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vhold_offers_accepted_total",
			Help: "Live callers who took an offer and became a callback, by queue and kind (callback, scheduled).",
		}, []string{"queue", "kind"}),
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vhold_callbacks_ended_total",
			Help: "Callbacks (and scheduled callbacks) that ended, by queue and outcome: completed, resolved (in writing), failed, cancelled, expired, abandoned.",
		}, []string{"queue", "outcome"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vhold_callback_attempts_total",
			Help: "Dials of a callback's customer, by queue and outcome: answered, later, machine, hung_up, busy, no_answer, rejected, unreachable, invalid, failed.",
		}, []string{"queue", "outcome"}),
		waitEstimate: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vhold_wait_estimate_seconds",
			Help:    "The wait estimate (mean) behind the first announcement to each live caller, by queue.",
			Buckets: waitBuckets,
		}, []string{"queue"}),
		waitRealised: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vhold_wait_realised_seconds",
			Help:    "How long live callers connected to an agent waited (connected − joined), by queue.",
			Buckets: waitBuckets,
		}, []string{"queue"}),
		waitError: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vhold_wait_estimate_error_seconds",
			Help:    "Realised wait minus the estimate first announced, for live callers connected to an agent who heard one, by queue; negative is sooner than said.",
			Buckets: errorBuckets,
		}, []string{"queue"}),
		storeCommit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "vhold_store_commit_seconds",
			Help:    "Per committed transition, from handing it to the store's writer to the acknowledgement after its group commit.",
			Buckets: commitBuckets,
		}),
		storeBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "vhold_store_commit_batch_size",
			Help:    "Per committed transition, how many transitions its group commit held.",
			Buckets: batchBuckets,
		}),
		pbxConnected: &pbxCollector{desc: prometheus.NewDesc("vhold_pbx_connected",
			"1 while vhold's event connection to the PBX is up, 0 otherwise, by PBX name and kind (asterisk, freeswitch).",
			[]string{"pbx", "kind"}, nil)},
	}
	reg.MustRegister(r.callsEntered, r.offers, r.accepted, r.callbacks, r.attempts,
		r.waitEstimate, r.waitRealised, r.waitError, r.storeCommit, r.storeBatch, r.pbxConnected)
	return r
}

// CallEntered counts a live caller joining queue on the PBX named pbx
// (ivr.Recorder).
func (r *Recorder) CallEntered(queue, pbx string) {
	r.callsEntered.WithLabelValues(queue, pbx).Inc()
}

// Offered counts a caller hearing an offer of kind for the first time in the
// call (ivr.Recorder).
func (r *Recorder) Offered(queue, kind string) {
	r.offers.WithLabelValues(queue, kind).Inc()
}

// Accepted counts a caller who took an offer and became a callback of kind
// (ivr.Recorder).
func (r *Recorder) Accepted(queue, kind string) {
	r.accepted.WithLabelValues(queue, kind).Inc()
}

// Estimated records the estimate behind a caller's first announcement
// (ivr.Recorder).
func (r *Recorder) Estimated(queue string, announced time.Duration) {
	r.waitEstimate.WithLabelValues(queue).Observe(announced.Seconds())
}

// Waited records a live caller's realised wait when they are connected to an
// agent and, when they were told an estimate (announced ≥ 0), its error
// (ivr.Recorder).
func (r *Recorder) Waited(queue string, announced, realised time.Duration) {
	r.waitRealised.WithLabelValues(queue).Observe(realised.Seconds())
	if announced >= 0 {
		r.waitError.WithLabelValues(queue).Observe((realised - announced).Seconds())
	}
}

// Attempt counts one dial of a callback's customer and how it ended
// (dialer.Recorder).
func (r *Recorder) Attempt(queue, outcome string) {
	r.attempts.WithLabelValues(queue, outcome).Inc()
}

// StoreCommitted records one committed transition: d from handing it to the
// writer to its acknowledgement, and the size of the group commit it was in
// (store.Options.CommitObserved).
func (r *Recorder) StoreCommitted(d time.Duration, batch int) {
	r.storeCommit.Observe(d.Seconds())
	r.storeBatch.Observe(float64(batch))
}

// LineChanged counts the callbacks that reach a final state; give it to
// queue.Line.Watch. Live tickets are not callbacks (a live caller who hung up
// is abandoned; one who became a callback is counted when that callback
// ends). A change another process made and the line read back (Refresh) has
// no transition, so a callback resolved in writing elsewhere counts as
// completed. It runs under the line's lock and only moves a counter.
func (r *Recorder) LineChanged(c queue.Change) {
	t := c.Ticket
	if t == nil || t.Kind == queue.Live || !t.State.Final() {
		return
	}
	outcome := string(t.State)
	if c.Transition != nil && c.Transition.Event == queue.EvResolve {
		outcome = "resolved"
	}
	r.callbacks.WithLabelValues(t.Queue, outcome).Inc()
}

// ConnectionState is a PBX connection that can say whether it is up
// (pbx.ConnectionState).
type ConnectionState interface {
	Connected() bool
}

// PBX makes vhold_pbx_connected{pbx=name,kind=kind} follow s, read at every
// scrape. A second call with the same name and kind replaces the first.
func (r *Recorder) PBX(name, kind string, s ConnectionState) {
	r.pbxConnected.add(name, kind, s)
}

// pbxCollector reads the PBX connections at scrape time.
type pbxCollector struct {
	desc *prometheus.Desc

	mu  sync.Mutex
	pbx map[[2]string]ConnectionState
}

func (c *pbxCollector) add(name, kind string, s ConnectionState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pbx == nil {
		c.pbx = map[[2]string]ConnectionState{}
	}
	c.pbx[[2]string{name, kind}] = s
}

// Describe implements prometheus.Collector.
func (c *pbxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *pbxCollector) Collect(ch chan<- prometheus.Metric) {
	type entry struct {
		key [2]string
		s   ConnectionState
	}
	c.mu.Lock()
	es := make([]entry, 0, len(c.pbx))
	for k, s := range c.pbx {
		es = append(es, entry{k, s})
	}
	c.mu.Unlock()
	// Outside the lock: Connected takes the switch's own.
	for _, e := range es {
		v := 0.0
		if e.s.Connected() {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, e.key[0], e.key[1])
	}
}
