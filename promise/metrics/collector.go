package metrics

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vhold/vhold/queue"
)

// Source loads what Compute reads: the callbacks (other tickets are
// ignored) and the journal rows of those that may be in the window.
type Source func(ctx context.Context) ([]*queue.Ticket, []queue.Transition, error)

// DefaultCacheTTL is how long a computed report answers scrapes. Several
// Prometheus servers, or one scraping fast, would otherwise each make the
// source read the store again; 5 s is far below any scrape interval anyone
// graphs promises at, so nobody sees stale figures.
const DefaultCacheTTL = 5 * time.Second

// DefaultTimeout bounds one load from the source, since Collect has no
// context of its own: a scrape that waits longer has given up anyway.
const DefaultTimeout = 10 * time.Second

// Collector exposes the Report of the callbacks promised over a rolling
// window as gauges labeled by queue and category.
//
// Cost: every scrape older than the cache TTL calls the source and Compute.
// Compute is linear in the tickets and journal rows it is given; the source
// decides what it reads. A source over the SQLite store reads every callback
// row (there is no index by promise time) and the journal from the oldest
// callback in the window on, so the cost grows with the history kept and
// with the window; keep the window to what is graphed (hours to a week) and
// raise the TTL with WithCacheTTL if the store is large.
//
// A queue and category pair once seen keeps being exported, with zero
// counts, after its callbacks leave the window, so graphs drop to zero
// rather than to a gap. The means (punctuality, missed lateness) are left
// out when nothing was measured, because 0 would read as "perfectly on
// time".
type Collector struct {
	source  Source
	window  time.Duration
	clock   func() time.Time
	ttl     time.Duration
	timeout time.Duration

	// mu serialises loads: concurrent scrapes wait for the one load under
	// way instead of each starting their own.
	mu       sync.Mutex
	cached   *Report
	cachedAt time.Time
	seen     map[key]bool

	up, promised, connected, inside, punctuality, delayed *prometheus.Desc
	secondWindows, secondWindowsMet, chased, chases       *prometheus.Desc
	escalated, missed, missedLate, resolved               *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector measures the callbacks that source returns, promised within
// window before clock(); clock is injected so tests (and the simulator) run
// on virtual time. Register it with a prometheus.Registry and serve that
// with Handler.
func NewCollector(source Source, window time.Duration, clock func() time.Time) *Collector {
	c := &Collector{source: source, window: window, clock: clock,
		ttl: DefaultCacheTTL, timeout: DefaultTimeout, seen: map[key]bool{}}
	in := fmt.Sprintf(" promised in the last %s", window)
	labels := []string{"queue", "category"}
	d := func(name, help string, extra ...string) *prometheus.Desc {
		return prometheus.NewDesc("vhold_promises_"+name, help, append(labels[:len(labels):len(labels)], extra...), nil)
	}
	c.up = prometheus.NewDesc("vhold_promises_up",
		"1 if the promise figures could be computed from the store at this scrape, else 0 (and no other vhold_promises_ series).", nil, nil)
	c.promised = d("promised", "Callbacks"+in+".")
	c.connected = d("connected", "Callbacks"+in+" that connected to an agent: the population of the punctuality figures.")
	c.inside = d("inside_original_window", "Callbacks"+in+" that connected inside their original window.")
	c.punctuality = d("punctuality_minutes", "Mean minutes outside the original window (0 inside) of the connected callbacks"+in+"; absent when none connected.")
	c.delayed = d("delayed", "Callbacks"+in+" not connected by their original deadline, by when the recovery message went out (before_deadline, after, never).", "recovery")
	c.secondWindows = d("second_windows", "Callbacks"+in+" given a reset deadline.")
	c.secondWindowsMet = d("second_windows_met", "Callbacks"+in+" connected or resolved in writing by their reset deadline.")
	c.chased = d("chased", "Callbacks"+in+" whose customer called in while waiting.")
	c.chases = d("chases", "Calls in from customers waiting for a callback"+in+".")
	c.escalated = d("escalated", "Callbacks"+in+" escalated after their reset deadline was at risk.")
	c.missed = d("missed", "Callbacks"+in+" whose deadline passed before they were dialed.")
	c.missedLate = d("missed_late_minutes", "Mean minutes the missed callbacks"+in+" waited past the deadline they missed; absent when none.")
	c.resolved = d("resolved_in_writing", "Callbacks"+in+" resolved by a written update instead of the call.")
	return c
}

// WithCacheTTL sets how long a computed report answers scrapes (default
// DefaultCacheTTL); 0 computes on every scrape. It returns c.
func (c *Collector) WithCacheTTL(ttl time.Duration) *Collector {
	c.mu.Lock()
	c.ttl = ttl
	c.mu.Unlock()
	return c
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.promised, c.connected, c.inside, c.punctuality, c.delayed,
		c.secondWindows, c.secondWindowsMet, c.chased, c.chases, c.escalated, c.missed, c.missedLate, c.resolved} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. A source error is reported as
// vhold_promises_up 0 rather than failing the scrape, so the process's
// other metrics still arrive and an alert can fire on the figure itself.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	r, keys, err := c.report()
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	figs := make(map[key]Figures, len(r.QueueCategories))
	for _, g := range r.QueueCategories {
		figs[key{g.Queue, g.Category}] = g.Figures
	}
	for _, k := range keys {
		f := figs[k]
		gauge := func(d *prometheus.Desc, v float64, extra ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{k.queue, k.category}, extra...)...)
		}
		gauge(c.promised, float64(f.Promised))
		gauge(c.connected, float64(f.Connected))
		gauge(c.inside, float64(f.InsideOriginal))
		if f.Connected > 0 {
			gauge(c.punctuality, f.PunctualityMinutes)
		}
		gauge(c.delayed, float64(f.Recovery.BeforeDeadline), "before_deadline")
		gauge(c.delayed, float64(f.Recovery.After), "after")
		gauge(c.delayed, float64(f.Recovery.Never), "never")
		gauge(c.secondWindows, float64(f.SecondWindows))
		gauge(c.secondWindowsMet, float64(f.SecondWindowsMet))
		gauge(c.chased, float64(f.Chased))
		gauge(c.chases, float64(f.Chases))
		gauge(c.escalated, float64(f.Escalated))
		gauge(c.missed, float64(f.Missed))
		if f.Missed > 0 {
			gauge(c.missedLate, f.MissedLateMinutes)
		}
		gauge(c.resolved, float64(f.ResolvedInWriting))
	}
}

// report returns the cached report while it is fresh, else loads and
// computes a new one, with every label pair seen so far in order.
func (c *Collector) report() (*Report, []key, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock()
	if c.cached == nil || c.ttl <= 0 || now.Sub(c.cachedAt) >= c.ttl || now.Before(c.cachedAt) {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		ts, js, err := c.source(ctx)
		cancel()
		if err != nil {
			// Not cached: the next scrape tries again rather than
			// reporting an outage that has ended.
			return nil, nil, err
		}
		r := Compute(ts, js, now.Add(-c.window), now)
		c.cached, c.cachedAt = &r, now
		for _, g := range r.QueueCategories {
			c.seen[key{g.Queue, g.Category}] = true
		}
	}
	keys := make([]key, 0, len(c.seen))
	for k := range c.seen {
		keys = append(keys, k)
	}
	// The registry sorts what it gathers; the order here only keeps
	// Collect deterministic for anyone reading the channel directly.
	sortKeys(keys)
	return c.cached, keys, nil
}

// Handler serves reg in the Prometheus text format, for a /metrics route:
// promhttp.HandlerFor with the defaults, named here so the server need not
// import promhttp itself.
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
