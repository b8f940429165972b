package web

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// limiter is a set of token buckets by key (a client address, a number):
// each holds up to burst requests and refills evenly, burst per window, so a
// person retrying a form a few times is never stopped, and a script is held
// to the average rate. Time comes from the server's clock, so tests step it.
type limiter struct {
	burst  float64
	window time.Duration
	now    func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// newLimiter returns a limiter of burst requests per window; burst <= 0
// returns nil, which allows everything.
func newLimiter(burst int, window time.Duration, now func() time.Time) *limiter {
	if burst <= 0 {
		return nil
	}
	return &limiter{burst: float64(burst), window: window, now: now, buckets: map[string]*bucket{}}
}

// allow takes one request from key's bucket; when it is empty it reports how
// long until the next request would be allowed.
func (l *limiter) allow(key string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = l.refill(b, now)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	perToken := float64(l.window) / l.burst
	return false, time.Duration(math.Ceil((1 - b.tokens) * perToken))
}

func (l *limiter) refill(b *bucket, now time.Time) float64 {
	if el := now.Sub(b.at); el > 0 {
		return min(l.burst, b.tokens+float64(el)/float64(l.window)*l.burst)
	}
	return b.tokens
}

// sweep forgets, once a window, the buckets that have refilled: they are
// the same as no bucket, and keeping them would let a stream of one-off
// addresses grow the map without end.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < l.window {
		return
	}
	l.lastSweep = now
	for k, b := range l.buckets {
		if l.refill(b, now) >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// limited takes one request from key's bucket, or returns the 429 to send
// with Retry-After set in whole seconds (at least one).
func limited(w http.ResponseWriter, l *limiter, key, what string) error {
	ok, wait := l.allow(key)
	if ok {
		return nil
	}
	secs := max(int64(math.Ceil(wait.Seconds())), 1)
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	return fail(http.StatusTooManyRequests, "rate_limited", "",
		"too many requests %s; try again in %d seconds", what, secs)
}
