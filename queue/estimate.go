package queue

import (
	"math"
	"time"
)

// What an estimate rests on, so the board and the logs can tell a figure
// learned from this queue's own calls from a guess.
const (
	// BasisHandleTime: the queue-length predictor with the handle time learned
	// from completed calls.
	BasisHandleTime = "handle-time"
	// BasisHeadOfLine: no handle time learned yet; the head of the line's
	// elapsed wait, scaled by position.
	BasisHeadOfLine = "head-of-line"
	// BasisPrior: nothing observed yet; the configured prior handle time.
	BasisPrior = "prior"
	// BasisFreeAgent: an agent is free for this caller right now, so the wait
	// is zero whatever else is known.
	BasisFreeAgent = "free-agent"
	// BasisUnknown: nothing to base a figure on (no one serving, nothing
	// observed); say nothing rather than invent a number.
	BasisUnknown = "unknown"
)

// Defaults for EstimatorOptions, in one place next to the struct.
const (
	DefaultSmoothing = 0.02
	DefaultQuantile  = 0.9
)

// EstimatorOptions configures an Estimator. The zero value is usable: no
// prior, and the defaults above.
type EstimatorOptions struct {
	// PriorHandle is the handle time to assume before any call has completed
	// and there is no head of the line to learn from; zero means none, and
	// the estimate is then unknown rather than made up.
	PriorHandle time.Duration
	// Smoothing is the EWMA weight of each new handle time, in (0, 1];
	// anything else means DefaultSmoothing. Higher follows shift changes
	// faster but lets single long calls swing the figure.
	Smoothing float64
	// Quantile is how sure the pessimistic figure is to be long enough, in
	// (0, 1); anything else means DefaultQuantile. Promises ("within 25
	// minutes") are made from it, so it is the fraction of promises kept.
	Quantile float64
}

// HeadOfLine is what the line knows about its oldest waiting ticket, for the
// fallback predictor used before any handle time has been learned.
type HeadOfLine struct {
	// Wait is how long the current head of the line has waited.
	Wait time.Duration
	// Waiting is the number of tickets in line.
	Waiting int
}

// Wait is an estimated wait for one caller.
type Wait struct {
	// Mean is the expected wait: what to say when stating "about".
	Mean time.Duration
	// Pessimistic is the Quantile-quantile of the wait: what to promise.
	Pessimistic time.Duration
	// Basis is one of the Basis constants.
	Basis string
	// Known is false when there was nothing to base an estimate on; Mean and
	// Pessimistic are then zero and must not be announced.
	Known bool
}

// Estimator predicts waits for one queue and learns its handle time from the
// calls that complete.
//
// It is not safe for concurrent use: the line calls it under its own lock,
// and a second lock here would only hide an ordering bug there.
type Estimator struct {
	opts EstimatorOptions
	// meanNs is the EWMA of handle times in nanoseconds; float so the
	// smoothing does not lose sub-nanosecond fractions on every update.
	meanNs float64
	seen   bool
	// n counts the samples seen: until 1/Smoothing of them, each weighs
	// 1/n (a plain average), so one short first call cannot set the mean
	// for the next fifty as a bare EWMA seeded by it would.
	n int
}

// NewEstimator returns an estimator that has not observed any call yet.
func NewEstimator(opts EstimatorOptions) *Estimator {
	if !(opts.Smoothing > 0 && opts.Smoothing <= 1) { // also catches NaN
		opts.Smoothing = DefaultSmoothing
	}
	if !(opts.Quantile > 0 && opts.Quantile < 1) {
		opts.Quantile = DefaultQuantile
	}
	if opts.PriorHandle < 0 {
		opts.PriorHandle = 0
	}
	return &Estimator{opts: opts}
}

// ObserveHandle learns from one completed call's handle time. The first
// sample initialises the mean outright, so a fresh queue does not spend its
// first dozens of calls crawling up from zero.
//
// Non-positive durations are ignored: a zero-length "call" is a misroute or
// an instant hang-up, not service, and a zero mean would promise no wait.
func (e *Estimator) ObserveHandle(d time.Duration) {
	if d <= 0 {
		return
	}
	e.n++
	if !e.seen {
		e.meanNs, e.seen = float64(d), true
		return
	}
	w := max(e.opts.Smoothing, 1/float64(e.n))
	e.meanNs += w * (float64(d) - e.meanNs)
}

// MeanHandle returns the learned mean handle time, and false if no call has
// completed yet (the prior is not reported here: it was never observed).
func (e *Estimator) MeanHandle() (time.Duration, bool) {
	if !e.seen {
		return 0, false
	}
	return durationOf(e.meanNs), true
}

// Estimate predicts the wait of a caller with ahead due tickets in front of
// them, while servers agents serve the queue (logged in, not paused) and free
// of them are free right now.
//
// With s agents all busy and exponential handle times of mean h, departures
// form a Poisson process of rate s/h, so the wait for the n-th one is
// Erlang(n, s/h): mean n·h/s. The free agents take the first free of the
// tickets ahead at once, so the caller needs n = ahead-free+1 departures;
// with no free agent that is the textbook (k+1)/(sμ). The mean of that law is the best guess in
// the least-squares sense; its Quantile-quantile is the promise.
//
// Before any handle time is learned it falls back to the head of the line:
// the head waited hol.Wait while hol.Waiting tickets arrived behind it and
// the line stayed roughly level, so tickets leave at about Waiting/Wait, and n
// of them take n·Wait/Waiting. With no head either it uses the prior handle
// time; with nothing at all, or no one serving, the wait is unknown.
func (e *Estimator) Estimate(ahead, servers, free int, hol HeadOfLine) Wait {
	ahead = max(ahead, 0)
	free = max(free, 0)
	if ahead < free {
		return Wait{Basis: BasisFreeAgent, Known: true}
	}
	n := float64(ahead-free) + 1 // float: ahead may be MaxInt
	if e.seen && servers > 0 {
		return e.erlang(n, e.meanNs/float64(servers), BasisHandleTime)
	}
	// Nothing learned yet: the head of the line's wait so far, and the
	// configured prior. A head that has just joined says almost nothing (its
	// wait grows from zero, and the estimate with it), so where both exist
	// the longer one is said: an early caller is better told five minutes
	// and called sooner than told one minute and kept waiting.
	var w Wait
	if hol.Wait > 0 {
		perTicket := float64(hol.Wait) / float64(max(hol.Waiting, 1))
		w = e.erlang(n, perTicket, BasisHeadOfLine)
	}
	if e.opts.PriorHandle > 0 && servers > 0 {
		if p := e.erlang(n, float64(e.opts.PriorHandle)/float64(servers), BasisPrior); p.Mean > w.Mean {
			w = p
		}
	}
	if !w.Known {
		return Wait{Basis: BasisUnknown}
	}
	return w
}

// erlang builds the Wait for n departures each taking gapNs on average.
//
// Pessimistic is kept at or above Mean: for Quantile below about 0.63 the
// Erlang quantile falls under the mean, and a "pessimistic" figure shorter
// than the expected one would make promises the mean itself does not back.
func (e *Estimator) erlang(n, gapNs float64, basis string) Wait {
	mean := n * gapNs
	pess := max(gammaQuantile(n, e.opts.Quantile)*gapNs, mean)
	return Wait{Mean: durationOf(mean), Pessimistic: durationOf(pess), Basis: basis, Known: true}
}

// durationOf converts nanoseconds to a Duration, saturating instead of
// wrapping for absurd inputs (a queue of millions), so a wait never turns
// negative.
func durationOf(ns float64) time.Duration {
	if !(ns < math.MaxInt64) { // also NaN and +Inf
		return time.Duration(math.MaxInt64)
	}
	if ns <= 0 {
		return 0
	}
	return time.Duration(math.Round(ns))
}

// wilsonHilfertyFrom is the shape from which gammaQuantile trusts the
// Wilson–Hilferty approximation without refining it: there its relative
// error is below 2e-7 for p up to 0.999 (a fraction of a second on any wait
// that long), and it costs O(1) where the incomplete gamma costs O(√a)
// terms per Newton step and would need ever more as the line grows.
const wilsonHilfertyFrom = 10000

// gammaQuantile returns x with P(Gamma(a, 1) ≤ x) = p, for a > 0 and p in
// (0, 1).
//
// The starting point is Wilson–Hilferty (the cube root of a gamma variable is
// nearly normal); for small shapes it is refined by safeguarded Newton steps
// on the regularized incomplete gamma, each kept inside a bracket that
// bisection would also shrink, so a bad step can slow it but never send it
// astray.
func gammaQuantile(a, p float64) float64 {
	x := wilsonHilferty(a, p)
	if a >= wilsonHilfertyFrom {
		return x
	}
	logGammaA, _ := math.Lgamma(a) // once, for every density and tail below
	lo, hi := 0.0, math.Inf(1)
	if !(x > 0) || math.IsInf(x, 0) {
		x = a // the mean; always strictly inside (0, ∞)
	}
	for range 200 {
		// f(x) = P(a, x) - p, computed from whichever tail is accurate so the
		// difference does not cancel when p is near 1.
		var f float64
		if lower, upper, fromLower := incGamma(a, x, logGammaA); fromLower {
			f = lower - p
		} else {
			f = (1 - p) - upper
		}
		if f < 0 {
			lo = x
		} else {
			hi = x
		}
		density := math.Exp((a-1)*math.Log(x) - x - logGammaA)
		next := x - f/density
		if !(next > lo && next < hi) { // NaN, or outside the bracket
			if math.IsInf(hi, 1) {
				next = 2*x + 1
			} else {
				next = (lo + hi) / 2
			}
		}
		if math.Abs(next-x) <= 1e-14*x {
			return next
		}
		x = next
	}
	return x
}

// wilsonHilferty approximates the p-quantile of Gamma(a, 1): a·(1 − 1/(9a) +
// z/(3√a))³ with z the standard normal p-quantile.
func wilsonHilferty(a, p float64) float64 {
	z := math.Sqrt2 * math.Erfinv(2*p-1)
	c := 1 - 1/(9*a) + z/(3*math.Sqrt(a))
	return a * c * c * c
}

// incGamma returns the regularized lower and upper incomplete gamma P(a, x)
// and Q(a, x) = 1 − P, and whether P was the one computed directly (and so
// the accurate one). The series converges fast below x = a+1 and the
// continued fraction above it (Numerical Recipes, §6.2); both need O(√a)
// terms near the bulk of the distribution. logGammaA is log Γ(a).
func incGamma(a, x, logGammaA float64) (lower, upper float64, fromLower bool) {
	if x <= 0 {
		return 0, 1, true
	}
	const eps = 1e-16
	const tiny = 1e-300
	prefix := math.Exp(a*math.Log(x) - x - logGammaA)
	if x < a+1 {
		ap, del := a, 1/a
		sum := del
		for range 100000 {
			ap++
			del *= x / ap
			sum += del
			if math.Abs(del) < math.Abs(sum)*eps {
				break
			}
		}
		lower = sum * prefix
		return lower, 1 - lower, true
	}
	// Modified Lentz evaluation of the continued fraction for Q.
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / b
	h := d
	for i := 1.0; i < 100000; i++ {
		an := -i * (i - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < eps {
			break
		}
	}
	upper = prefix * h
	return 1 - upper, upper, false
}

// RoundForSpeech rounds a wait to a figure a person would say: whole minutes
// up to 10, then fives up to an hour, quarters up to two hours, half hours
// beyond. Finer steps at long waits would sound precise without being so.
//
// With up it rounds up, for promises: "within 25 minutes" must never be
// shorter than the pessimistic wait it came from. Otherwise it rounds to the
// nearest step, halves up, for "about" figures. Either way a positive wait
// under a minute becomes one minute, since "zero minutes" is not something
// to tell a caller who is still waiting; only a non-positive wait rounds to
// zero, and only when not rounding up.
func RoundForSpeech(d time.Duration, up bool) time.Duration {
	if d <= 0 && !up {
		return 0
	}
	if d < time.Minute {
		return time.Minute
	}
	var step time.Duration
	switch {
	case d <= 10*time.Minute:
		step = time.Minute
	case d <= time.Hour:
		step = 5 * time.Minute
	case d <= 2*time.Hour:
		step = 15 * time.Minute
	default:
		step = 30 * time.Minute
	}
	q, r := d/step, d%step
	if r != 0 && (up || 2*r >= step) {
		q++
	}
	if q > math.MaxInt64/step { // saturate rather than wrap
		return time.Duration(math.MaxInt64)
	}
	return q * step
}
