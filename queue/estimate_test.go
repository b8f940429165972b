package queue

import (
	"math"
	"testing"
	"time"
)

// Reference quantiles of Gamma(a, 1), from an independent bisection on the
// Poisson tail summed in log space (Python, float64), and for small a the
// chi-square tables (Gamma(a) = χ²(2a)/2).
var gammaQuantileRefs = []struct {
	a, p, want float64
}{
	{1, 0.9, 2.302585092994045},  // ln 10
	{1, 0.5, 0.6931471805599452}, // ln 2
	{2, 0.9, 3.889720169867428},
	{3, 0.5, 2.674060313723561},
	{5, 0.9, 7.9935895860526305},
	{10, 0.9, 14.205990292152816},
	{20, 0.99, 31.845369875782218},
	{50, 0.9, 59.249001905531074},
	{100, 0.9, 113.0105238598446},
	{100, 0.1, 87.41763649959475},
	{1000, 0.9, 1040.7343080136902},
	{10000, 0.9, 10128.36737367366},
	{100000, 0.9, 100405.47571025096},
	{100000, 0.5, 99999.666666882},
	{100001, 0.99, 100738.12977505673},
	{100001, 0.9, 100406.47773656232},
}

func TestGammaQuantileKnownValues(t *testing.T) {
	for _, c := range gammaQuantileRefs {
		got := gammaQuantile(c.a, c.p)
		tol := 1e-9 // refined by Newton on the incomplete gamma
		if c.a >= wilsonHilfertyFrom {
			tol = 2e-7 // Wilson–Hilferty alone
		}
		if rel := math.Abs(got-c.want) / c.want; rel > tol {
			t.Errorf("gammaQuantile(%v, %v) = %.12g, want %.12g (relative error %.1e > %.0e)",
				c.a, c.p, got, c.want, rel, tol)
		}
	}
}

// The quantile must invert the CDF it is defined by, including far in the
// tails where the two branches of incGamma take over from each other.
func TestGammaQuantileInvertsCDF(t *testing.T) {
	for _, a := range []float64{1, 1.5, 2, 7, 30, 250, 2500, 9999} {
		for _, p := range []float64{1e-6, 0.01, 0.3, 0.5, 0.632, 0.9, 0.99, 0.999999} {
			x := gammaQuantile(a, p)
			lg, _ := math.Lgamma(a)
			lower, upper, _ := incGamma(a, x, lg)
			if math.Abs(lower-p) > 1e-9 && math.Abs(upper-(1-p)) > 1e-9 {
				t.Errorf("a=%v p=%v: x=%v has P=%v, Q=%v", a, p, x, lower, upper)
			}
		}
	}
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// near reports whether got is within a millisecond of want: the estimator
// works in float nanoseconds and rounds once.
func near(got, want time.Duration) bool {
	d := got - want
	return d > -time.Millisecond && d < time.Millisecond
}

func learned(handle time.Duration, opts EstimatorOptions) *Estimator {
	e := NewEstimator(opts)
	e.ObserveHandle(handle)
	return e
}

func TestEstimate(t *testing.T) {
	fiveMin := learned(5*time.Minute, EstimatorOptions{})
	cases := []struct {
		name                 string
		e                    *Estimator
		ahead, servers, free int
		hol                  HeadOfLine
		want                 Wait
	}{
		{
			name: "next in line, 20 busy agents: one departure at rate 20/300s",
			e:    fiveMin, ahead: 0, servers: 20, free: 0,
			want: Wait{Mean: 15 * time.Second, Pessimistic: seconds(15 * 2.302585092994045), Basis: BasisHandleTime, Known: true},
		},
		{
			name: "nine ahead: Erlang(10)",
			e:    fiveMin, ahead: 9, servers: 20, free: 0,
			want: Wait{Mean: 150 * time.Second, Pessimistic: seconds(15 * 14.205990292152816), Basis: BasisHandleTime, Known: true},
		},
		{
			name: "learned handle time wins over the head of the line",
			e:    fiveMin, ahead: 9, servers: 20, free: 0, hol: HeadOfLine{Wait: time.Hour, Waiting: 2},
			want: Wait{Mean: 150 * time.Second, Pessimistic: seconds(15 * 14.205990292152816), Basis: BasisHandleTime, Known: true},
		},
		{
			name: "fewer ahead than free agents: no wait",
			e:    fiveMin, ahead: 2, servers: 20, free: 3,
			want: Wait{Basis: BasisFreeAgent, Known: true},
		},
		{
			name: "free agents with nothing known still mean no wait",
			e:    NewEstimator(EstimatorOptions{}), ahead: 0, servers: 1, free: 1,
			want: Wait{Basis: BasisFreeAgent, Known: true},
		},
		{
			name: "as many ahead as free agents: they take those, caller needs one departure",
			e:    fiveMin, ahead: 3, servers: 20, free: 3,
			want: Wait{Mean: 15 * time.Second, Pessimistic: seconds(15 * 2.302585092994045), Basis: BasisHandleTime, Known: true},
		},
		{
			name: "no handle time yet: head of line scaled by position",
			e:    NewEstimator(EstimatorOptions{PriorHandle: 5 * time.Minute}), ahead: 4, servers: 20, free: 0,
			hol:  HeadOfLine{Wait: 4 * time.Minute, Waiting: 8}, // 30 s per ticket; the prior says 15 s
			want: Wait{Mean: 150 * time.Second, Pessimistic: seconds(30 * 7.9935895860526305), Basis: BasisHeadOfLine, Known: true},
		},
		{
			name: "no handle time yet, the head just joined: the prior says more",
			e:    NewEstimator(EstimatorOptions{PriorHandle: time.Hour}), ahead: 4, servers: 20, free: 0,
			hol:  HeadOfLine{Wait: 4 * time.Minute, Waiting: 8}, // 30 s per ticket; the prior says 180 s
			want: Wait{Mean: 15 * time.Minute, Pessimistic: seconds(180 * 7.9935895860526305), Basis: BasisPrior, Known: true},
		},
		{
			name: "head of line with an empty count counts one",
			e:    NewEstimator(EstimatorOptions{}), ahead: 0, servers: 0, free: 0,
			hol:  HeadOfLine{Wait: time.Minute},
			want: Wait{Mean: time.Minute, Pessimistic: seconds(60 * 2.302585092994045), Basis: BasisHeadOfLine, Known: true},
		},
		{
			name: "learned handle time but no one serving: head of line",
			e:    fiveMin, ahead: 1, servers: 0, free: 0,
			hol:  HeadOfLine{Wait: 2 * time.Minute, Waiting: 2},
			want: Wait{Mean: 2 * time.Minute, Pessimistic: seconds(60 * 3.889720169867428), Basis: BasisHeadOfLine, Known: true},
		},
		{
			name: "nothing observed, no head: prior with the queue-length formula",
			e:    NewEstimator(EstimatorOptions{PriorHandle: 5 * time.Minute}), ahead: 4, servers: 10, free: 0,
			want: Wait{Mean: 150 * time.Second, Pessimistic: seconds(30 * 7.9935895860526305), Basis: BasisPrior, Known: true},
		},
		{
			name: "prior but no one serving: unknown",
			e:    NewEstimator(EstimatorOptions{PriorHandle: 5 * time.Minute}), ahead: 4, servers: 0, free: 0,
			want: Wait{Basis: BasisUnknown},
		},
		{
			name: "learned but no one serving and no head: unknown",
			e:    fiveMin, ahead: 4, servers: 0, free: 0,
			want: Wait{Basis: BasisUnknown},
		},
		{
			name: "nothing at all: unknown",
			e:    NewEstimator(EstimatorOptions{}), ahead: 4, servers: 10, free: 0,
			want: Wait{Basis: BasisUnknown},
		},
		{
			name: "negative counts are clamped, not trusted",
			e:    fiveMin, ahead: -5, servers: 20, free: -1,
			want: Wait{Mean: 15 * time.Second, Pessimistic: seconds(15 * 2.302585092994045), Basis: BasisHandleTime, Known: true},
		},
		{
			name: "quantile below the mean is raised to the mean",
			e:    learned(5*time.Minute, EstimatorOptions{Quantile: 0.5}), ahead: 0, servers: 20, free: 0,
			want: Wait{Mean: 15 * time.Second, Pessimistic: 15 * time.Second, Basis: BasisHandleTime, Known: true},
		},
		{
			name: "another quantile",
			e:    learned(5*time.Minute, EstimatorOptions{Quantile: 0.99}), ahead: 19, servers: 20, free: 0,
			want: Wait{Mean: 300 * time.Second, Pessimistic: seconds(15 * 31.845369875782218), Basis: BasisHandleTime, Known: true},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.e.Estimate(c.ahead, c.servers, c.free, c.hol)
			if got.Basis != c.want.Basis || got.Known != c.want.Known ||
				!near(got.Mean, c.want.Mean) || !near(got.Pessimistic, c.want.Pessimistic) {
				t.Errorf("Estimate(%d, %d, %d, %+v) = %+v, want %+v",
					c.ahead, c.servers, c.free, c.hol, got, c.want)
			}
		})
	}
}

func TestObserveHandle(t *testing.T) {
	e := NewEstimator(EstimatorOptions{PriorHandle: time.Hour, Smoothing: 0.1})
	if d, ok := e.MeanHandle(); ok || d != 0 {
		t.Fatalf("fresh MeanHandle() = %v, %v; want 0, false (the prior was never observed)", d, ok)
	}
	steps := []struct {
		observe time.Duration
		want    time.Duration
	}{
		{100 * time.Second, 100 * time.Second}, // the first sample initialises
		{200 * time.Second, 150 * time.Second}, // warm-up: a plain average
		{0, 150 * time.Second},                 // ignored
		{-time.Minute, 150 * time.Second},      // ignored
		{60 * time.Second, 120 * time.Second},  // average of 100, 200, 60
	}
	for range 7 { // samples 4 to 10 keep the average at 120s
		steps = append(steps, struct{ observe, want time.Duration }{120 * time.Second, 120 * time.Second})
	}
	// From the 11th sample on (1/0.1 = 10), each weighs the smoothing, 0.1.
	steps = append(steps, struct{ observe, want time.Duration }{220 * time.Second, 130 * time.Second})
	for i, s := range steps {
		e.ObserveHandle(s.observe)
		if d, ok := e.MeanHandle(); !ok || !near(d, s.want) {
			t.Fatalf("step %d: after ObserveHandle(%v), MeanHandle() = %v, %v; want %v, true", i, s.observe, d, ok, s.want)
		}
	}
}

func TestEstimatorOptionDefaults(t *testing.T) {
	for _, o := range []EstimatorOptions{
		{},
		{Smoothing: -1, Quantile: -1},
		{Smoothing: 1.5, Quantile: 1},
		{Smoothing: math.NaN(), Quantile: math.NaN()},
	} {
		e := learned(100*time.Second, o)
		e.ObserveHandle(200 * time.Second)
		mean := 150.0 // seconds: the warm-up average of 100s and 200s
		if d, _ := e.MeanHandle(); !near(d, seconds(mean)) {
			t.Errorf("%+v: mean after 100s, 200s = %v, want %vs (smoothing %v)", o, d, mean, DefaultSmoothing)
		}
		w := e.Estimate(0, 1, 0, HeadOfLine{})
		if want := seconds(mean * 2.302585092994045); !near(w.Pessimistic, want) {
			t.Errorf("%+v: pessimistic = %v, want %v (quantile %v)", o, w.Pessimistic, want, DefaultQuantile)
		}
	}
	e := learned(100*time.Second, EstimatorOptions{Smoothing: 1})
	e.ObserveHandle(200 * time.Second)
	if d, _ := e.MeanHandle(); d != 200*time.Second {
		t.Errorf("smoothing 1: mean = %v, want the last sample, 200s", d)
	}
}

// A caller further back must never be told a shorter wait or promised an
// earlier call than one in front, and the promise must cover the mean.
func TestEstimateMonotoneInPosition(t *testing.T) {
	e := learned(5*time.Minute, EstimatorOptions{})
	prev := e.Estimate(0, 20, 0, HeadOfLine{})
	for k := 1; k <= 20000; k++ {
		if k > 2000 && k%97 != 0 {
			continue // sample the long tail, including across wilsonHilfertyFrom
		}
		w := e.Estimate(k, 20, 0, HeadOfLine{})
		if w.Pessimistic <= w.Mean {
			t.Fatalf("k=%d: pessimistic %v not above mean %v", k, w.Pessimistic, w.Mean)
		}
		if w.Mean <= prev.Mean || w.Pessimistic <= prev.Pessimistic {
			t.Fatalf("k=%d: %+v not longer than k-1's %+v", k, w, prev)
		}
		prev = w
	}
}

func TestEstimateLargeQueue(t *testing.T) {
	e := learned(5*time.Minute, EstimatorOptions{})
	w := e.Estimate(100000, 20, 0, HeadOfLine{}) // Erlang(100001) at rate 20/300 s
	wantMean := seconds(100001 * 15)
	wantPess := seconds(15 * 100406.47773656232) // Python reference, as above
	if !near(w.Mean, wantMean) {
		t.Errorf("mean = %v, want %v", w.Mean, wantMean)
	}
	// Wilson–Hilferty's 2e-7 relative error is a third of a second here.
	if d := (w.Pessimistic - wantPess).Abs(); d > time.Second {
		t.Errorf("pessimistic = %v, want %v", w.Pessimistic, wantPess)
	}
	if allocs := testing.AllocsPerRun(100, func() { e.Estimate(100000, 20, 0, HeadOfLine{}) }); allocs != 0 {
		t.Errorf("Estimate allocates %v times per call", allocs)
	}

	// Absurd inputs saturate instead of wrapping negative.
	w = e.Estimate(math.MaxInt, 1, 0, HeadOfLine{})
	if !w.Known || w.Mean <= 0 || w.Pessimistic < w.Mean {
		t.Errorf("Estimate(MaxInt, 1, 0) = %+v; want a known, positive, saturated wait", w)
	}
}

func TestRoundForSpeech(t *testing.T) {
	const m = time.Minute
	cases := []struct {
		in       time.Duration
		up, near time.Duration
	}{
		{-time.Second, m, 0},
		{0, m, 0},
		{time.Second, m, m},
		{59 * time.Second, m, m},
		{m, m, m},
		{m + time.Second, 2 * m, m},
		{2*m + 29*time.Second, 3 * m, 2 * m},
		{2*m + 30*time.Second, 3 * m, 3 * m}, // halves round up
		{9*m + 59*time.Second, 10 * m, 10 * m},
		{10 * m, 10 * m, 10 * m},
		{10*m + time.Second, 15 * m, 10 * m},
		{12*m + 29*time.Second, 15 * m, 10 * m},
		{12*m + 30*time.Second, 15 * m, 15 * m},
		{21 * m, 25 * m, 20 * m},
		{29*m + time.Second, 30 * m, 30 * m},
		{30 * m, 30 * m, 30 * m},
		{42 * m, 45 * m, 40 * m},
		{59 * m, 60 * m, 60 * m},
		{60 * m, 60 * m, 60 * m},
		{60*m + time.Second, 75 * m, 60 * m},
		{68 * m, 75 * m, 75 * m},
		{97 * m, 105 * m, 90 * m},
		{119 * m, 120 * m, 120 * m},
		{120 * m, 120 * m, 120 * m},
		{120*m + time.Second, 150 * m, 120 * m},
		{165 * m, 180 * m, 180 * m},
		{4*time.Hour + 14*m, 270 * m, 4 * time.Hour},
		{time.Duration(math.MaxInt64), time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)},
	}
	for _, c := range cases {
		if got := RoundForSpeech(c.in, true); got != c.up {
			t.Errorf("RoundForSpeech(%v, up) = %v, want %v", c.in, got, c.up)
		}
		if got := RoundForSpeech(c.in, false); got != c.near {
			t.Errorf("RoundForSpeech(%v, nearest) = %v, want %v", c.in, got, c.near)
		}
	}
}

// The promise rule: rounding up never shortens, and never makes a longer
// wait sound shorter than a shorter one.
func TestRoundForSpeechUpNeverShortens(t *testing.T) {
	prev := time.Duration(0)
	for d := time.Duration(0); d <= 5*time.Hour; d += 7 * time.Second {
		got := RoundForSpeech(d, true)
		if got < d {
			t.Fatalf("RoundForSpeech(%v, up) = %v, shorter than the wait", d, got)
		}
		if got < prev {
			t.Fatalf("RoundForSpeech(%v, up) = %v, shorter than for a shorter wait (%v)", d, got, prev)
		}
		prev = got
	}
}
