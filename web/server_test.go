package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fill puts sample values into a route's {name} segments.
func fill(path string) string {
	return strings.NewReplacer("{id}", "1", "{queue}", "support").Replace(path)
}

// Every route that is not public refuses a request without a token, or with
// a wrong one, with 401 and a WWW-Authenticate challenge, before doing
// anything.
func TestTokenRequired(t *testing.T) {
	f := newFixture(t)
	for _, rt := range routeTable {
		if rt.public {
			continue
		}
		t.Run(rt.pattern(), func(t *testing.T) {
			for _, tc := range []struct{ name, auth, challenge string }{
				{"none", "", `Bearer realm="vhold"`},
				{"wrong", "Bearer nope", `Bearer realm="vhold", error="invalid_token"`},
				{"prefix of a token", "Bearer " + token[:len(token)-1], `Bearer realm="vhold", error="invalid_token"`},
				{"basic", "Basic " + token, `Bearer realm="vhold", error="invalid_token"`},
				{"empty bearer", "Bearer ", `Bearer realm="vhold", error="invalid_token"`},
			} {
				r := req{method: rt.method, path: fill(rt.path), body: "{}"}
				if tc.auth != "" {
					r.header = map[string]string{"Authorization": tc.auth}
				}
				rec := f.do(r)
				wantError(t, rec, http.StatusUnauthorized, "unauthorized", "")
				if got := rec.Header().Get("WWW-Authenticate"); got != tc.challenge {
					t.Errorf("%s: WWW-Authenticate %q, want %q", tc.name, got, tc.challenge)
				}
			}
			// Every configured token is accepted.
			for _, tok := range f.opts.Tokens {
				if rec := f.do(req{method: rt.method, path: fill(rt.path), body: "{}", token: tok}); rec.Code == http.StatusUnauthorized {
					t.Errorf("token %q refused: %s", tok, rec.Body)
				}
			}
		})
	}
}

// With no token configured nobody gets in, and the answer says why.
func TestNoTokensConfigured(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Tokens = []string{" ", ""} })
	wantError(t, f.do(req{path: "/api/v1/queues", token: " "}), 401, "unauthorized", "")
	e := wantError(t, f.do(req{path: "/api/v1/queues", token: "x"}), 401, "unauthorized", "")
	if !strings.Contains(e.Reason, "VHOLD_API_TOKENS") {
		t.Errorf("reason %q does not say how to configure tokens", e.Reason)
	}
}

// A public route ignores a missing token but refuses a wrong one, so a
// client with a mistyped token learns it at once.
func TestPublicRouteWithWrongToken(t *testing.T) {
	f := newFixture(t)
	rec := f.do(req{method: http.MethodPost, path: "/api/v1/callbacks", body: body("number", mobile(1), "queue", "support"), token: "typo"})
	wantError(t, rec, 401, "unauthorized", "")
	rec = f.do(req{path: "/api/v1/queues/support/slots", token: "typo"})
	wantError(t, rec, 401, "unauthorized", "")
}

func TestRateLimitPerAddress(t *testing.T) {
	f := newFixture(t)
	from := "192.0.2.10:5555"
	for i := range 5 {
		if rec := f.create(body("number", mobile(i), "queue", "support"), from); rec.Code != http.StatusCreated {
			t.Fatalf("request %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	rec := f.create(body("number", mobile(5), "queue", "support"), from)
	wantError(t, rec, http.StatusTooManyRequests, "rate_limited", "")
	// Five a minute: one more every twelve seconds.
	if ra := rec.Header().Get("Retry-After"); ra != "12" {
		t.Errorf("Retry-After %q, want 12", ra)
	}
	// Another port is the same client; another address is not.
	wantError(t, f.create(body("number", mobile(5), "queue", "support"), "192.0.2.10:6666"), 429, "rate_limited", "")
	if rec := f.create(body("number", mobile(5), "queue", "support"), "192.0.2.11:5555"); rec.Code != http.StatusCreated {
		t.Errorf("other address: %d %s", rec.Code, rec.Body)
	}
	// Refused requests do not count against the refill.
	f.clk.Advance(11 * time.Second)
	wantError(t, f.create(body("number", mobile(6), "queue", "support"), from), 429, "rate_limited", "")
	f.clk.Advance(time.Second)
	if rec := f.create(body("number", mobile(6), "queue", "support"), from); rec.Code != http.StatusCreated {
		t.Errorf("after the refill: %d %s", rec.Code, rec.Body)
	}
	// A system with a token is not throttled per address.
	for i := range 10 {
		rec := f.do(req{method: http.MethodPost, path: "/api/v1/callbacks", from: from, token: token,
			body: body("number", mobile(100+i), "queue", "sales")})
		if rec.Code != http.StatusCreated {
			t.Fatalf("with a token, request %d: %d %s", i, rec.Code, rec.Body)
		}
	}
}

// An IPv6 client is counted by its /64: one host hopping addresses inside
// its own prefix is still one client.
func TestRateLimitIPv6Prefix(t *testing.T) {
	f := newFixture(t)
	for i := range 5 {
		from := fmt.Sprintf("[2001:db8:1:2::%x]:443", i+1)
		if rec := f.create(body("number", mobile(i), "queue", "support"), from); rec.Code != http.StatusCreated {
			t.Fatalf("request %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	wantError(t, f.create(body("number", mobile(9), "queue", "support"), "[2001:db8:1:2::ffff]:443"), 429, "rate_limited", "")
	if rec := f.create(body("number", mobile(9), "queue", "support"), "[2001:db8:1:3::1]:443"); rec.Code != http.StatusCreated {
		t.Errorf("another /64: %d %s", rec.Code, rec.Body)
	}
}

// Behind a trusted proxy the client is what the proxy saw; otherwise the
// header is the client's own word and ignored.
func TestRateLimitForwardedFor(t *testing.T) {
	for _, trust := range []bool{true, false} {
		t.Run(fmt.Sprint("trust=", trust), func(t *testing.T) {
			f := newFixture(t, func(o *Options) { o.TrustForwardedFor = trust })
			send := func(i int, client string) int {
				return f.do(req{method: http.MethodPost, path: "/api/v1/callbacks", from: "10.0.0.1:1",
					header: map[string]string{"X-Forwarded-For": "203.0.113.200, " + client},
					body:   body("number", mobile(i), "queue", "support")}).Code
			}
			for i := range 5 {
				if c := send(i, fmt.Sprintf("198.51.100.%d", i)); c != http.StatusCreated {
					t.Fatalf("request %d: %d", i, c)
				}
			}
			c := send(5, "198.51.100.99")
			if trust && c != http.StatusCreated || !trust && c != http.StatusTooManyRequests {
				t.Errorf("sixth request: %d", c)
			}
		})
	}
}

// The same number from many addresses: vhold will not be made to call
// someone over and over.
func TestRateLimitPerNumber(t *testing.T) {
	f := newFixture(t)
	for i := range 5 {
		rec := f.create(body("number", mobile(1), "queue", "support"), fmt.Sprintf("10.2.0.%d:1", i))
		if rec.Code != http.StatusCreated && rec.Code != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	// However it is written.
	rec := f.create(body("number", "0034 612 34 00 01", "queue", "sales"), "10.2.1.1:1")
	wantError(t, rec, 429, "rate_limited", "")
	if rec.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if rec := f.create(body("number", mobile(2), "queue", "support"), "10.2.1.1:1"); rec.Code != http.StatusCreated {
		t.Errorf("another number: %d %s", rec.Code, rec.Body)
	}
}

func TestRateLimitSlots(t *testing.T) {
	f := newFixture(t)
	for i := range 5 {
		if rec := f.do(req{path: "/api/v1/queues/support/slots"}); rec.Code != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	rec := f.do(req{path: "/api/v1/queues/support/slots"})
	wantError(t, rec, 429, "rate_limited", "")
	if rec.Header().Get("Retry-After") != "12" {
		t.Errorf("Retry-After %q", rec.Header().Get("Retry-After"))
	}
	// Creating a callback has its own budget: loading the form's slots
	// does not use up the submit.
	if rec := f.create(body("number", mobile(1), "queue", "support")); rec.Code != http.StatusCreated {
		t.Errorf("create after slots: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(req{path: "/api/v1/queues/support/slots", token: token}); rec.Code != http.StatusOK {
		t.Errorf("with a token: %d", rec.Code)
	}
}

func TestLimiterRefillsAndForgets(t *testing.T) {
	now := t0
	l := newLimiter(2, time.Minute, func() time.Time { return now })
	for i := range 2 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("request %d refused", i)
		}
	}
	if ok, wait := l.allow("a"); ok || wait != 30*time.Second {
		t.Errorf("third: %v, wait %s; want refused, 30s", ok, wait)
	}
	now = now.Add(15 * time.Second)
	if ok, wait := l.allow("a"); ok || wait != 15*time.Second {
		t.Errorf("half refilled: %v, wait %s; want refused, 15s", ok, wait)
	}
	now = now.Add(15 * time.Second)
	if ok, _ := l.allow("a"); !ok {
		t.Error("refilled token refused")
	}
	now = now.Add(2 * time.Minute)
	l.allow("b")
	if _, kept := l.buckets["a"]; kept {
		t.Error("a full bucket was kept")
	}
	if newLimiter(-1, time.Minute, nil) != nil {
		t.Error("a negative limit should disable the limiter")
	}
	var none *limiter
	if ok, _ := none.allow("x"); !ok {
		t.Error("a disabled limiter refused")
	}
}

func TestBodyTooLarge(t *testing.T) {
	f := newFixture(t)
	big := body("number", mobile(1), "queue", "support", "context", strings.Repeat("x", 9<<10))
	e := wantError(t, f.create(big), http.StatusRequestEntityTooLarge, "body_too_large", "")
	t.Log(e.Reason)
	// Without a Content-Length (chunked), the limit holds while reading.
	hr := req{method: http.MethodPost, path: "/api/v1/callbacks", body: big}
	rec := f.doChunked(hr)
	wantError(t, rec, http.StatusRequestEntityTooLarge, "body_too_large", "")
	// On the staff routes too.
	rec = f.do(req{method: http.MethodPut, path: "/api/v1/agents/alice/state", token: token,
		body: body("state", "paused", "reason", strings.Repeat("x", 9<<10))})
	wantError(t, rec, http.StatusRequestEntityTooLarge, "body_too_large", "")
	if len(f.j.Transitions()) != 0 {
		t.Error("an oversized request joined the line")
	}
	// Just under the limit is fine.
	ok := body("number", mobile(1), "queue", "support", "context", strings.Repeat("x", 7<<10))
	if rec := f.create(ok); rec.Code != http.StatusCreated {
		t.Errorf("under the limit: %d %s", rec.Code, rec.Body)
	}
}

func TestOrigins(t *testing.T) {
	f := newFixture(t)
	post := func(origin string, n int) (int, http.Header) {
		rec := f.do(req{method: http.MethodPost, path: "/api/v1/callbacks", from: fmt.Sprintf("10.3.0.%d:1", n),
			header: map[string]string{"Origin": origin}, body: body("number", mobile(n), "queue", "support")})
		return rec.Code, rec.Header()
	}
	code, h := post("https://www.example.com", 1)
	if code != http.StatusCreated || h.Get("Access-Control-Allow-Origin") != "https://www.example.com" || h.Get("Vary") != "Origin" {
		t.Errorf("allowed origin: %d %v", code, h)
	}
	// The same origin written differently by the admin still matches.
	code, _ = post("HTTPS://WWW.EXAMPLE.COM", 2)
	if code != http.StatusCreated {
		t.Errorf("allowed origin in capitals: %d", code)
	}
	// The API's own pages (the form vhold serves) are always allowed.
	code, _ = post("http://example.com", 3) // httptest's Host
	if code != http.StatusCreated {
		t.Errorf("same origin: %d", code)
	}
	for i, o := range []string{"https://evil.example", "https://www.example.com.evil.example", "null", "http://www.example.com"} {
		rec := f.do(req{method: http.MethodPost, path: "/api/v1/callbacks", from: fmt.Sprintf("10.3.1.%d:1", i),
			header: map[string]string{"Origin": o}, body: body("number", mobile(10+i), "queue", "support")})
		wantError(t, rec, http.StatusForbidden, "origin_not_allowed", "")
		if rec.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s got CORS headers", o)
		}
	}
	if c, _ := f.line.Counts("support"); c.Callbacks != 3 {
		t.Errorf("counts %+v: a refused origin's request joined", c)
	}
	// Probes are not the API: no origin check there.
	if rec := f.do(req{path: "/healthz", header: map[string]string{"Origin": "https://evil.example"}}); rec.Code != 200 {
		t.Errorf("healthz with an origin: %d", rec.Code)
	}
}

func TestPreflight(t *testing.T) {
	f := newFixture(t)
	pre := func(origin, path string) *http.Response {
		rec := f.do(req{method: http.MethodOptions, path: path, header: map[string]string{
			"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}})
		return rec.Result()
	}
	r := pre("https://www.example.com", "/api/v1/callbacks")
	if r.StatusCode != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != "https://www.example.com" ||
		!strings.Contains(r.Header.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "Content-Type") {
		t.Errorf("allowed preflight: %d %v", r.StatusCode, r.Header)
	}
	if r := pre("https://www.example.com", "/api/v1/queues/sales/slots"); r.StatusCode != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Methods") != "GET" {
		t.Errorf("slots preflight: %d %v", r.StatusCode, r.Header)
	}
	if r := pre("https://evil.example", "/api/v1/callbacks"); r.StatusCode != http.StatusForbidden || r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("refused preflight: %d %v", r.StatusCode, r.Header)
	}
	if r := pre("https://www.example.com", "/api/v1/nowhere"); r.StatusCode != http.StatusNotFound {
		t.Errorf("preflight to nowhere: %d", r.StatusCode)
	}
}

func TestNoRoute(t *testing.T) {
	f := newFixture(t)
	wantError(t, f.do(req{path: "/api/v1/nothing"}), 404, "no_route", "")
	rec := f.do(req{method: http.MethodPatch, path: "/api/v1/callbacks/1", token: token})
	wantError(t, rec, 405, "method_not_allowed", "")
	if a := rec.Header().Get("Allow"); a != "GET, DELETE" {
		t.Errorf("Allow %q", a)
	}
}

func TestHealthz(t *testing.T) {
	f := newFixture(t)
	rec := f.do(req{path: "/healthz"})
	if rec.Code != 200 || decode[map[string]string](t, rec)["status"] != "ok" || decode[map[string]string](t, rec)["version"] != "test" {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

func TestReadyz(t *testing.T) {
	var fault error
	f := newFixture(t, func(o *Options) {
		o.Ready = func(ctx context.Context) error {
			if _, ok := ctx.Deadline(); !ok {
				return errors.New("readyz gave the check no deadline")
			}
			return fault
		}
	})
	rec := f.do(req{path: "/readyz"})
	if rec.Code != 200 || decode[readyView](t, rec).Status != "ready" {
		t.Errorf("ready: %d %s", rec.Code, rec.Body)
	}
	fault = errors.Join(errors.New("store: not writable: disk full"), errors.New("pbx asterisk-1: not connected"))
	rec = f.do(req{path: "/readyz"})
	v := decode[readyView](t, rec)
	if rec.Code != http.StatusServiceUnavailable || v.Status != "not ready" || len(v.Failures) != 2 || !strings.Contains(v.Failures[1], "asterisk-1") {
		t.Errorf("not ready: %d %+v", rec.Code, v)
	}
	fault = errors.New("store: locked")
	v = decode[readyView](t, f.do(req{path: "/readyz"}))
	if len(v.Failures) != 1 || v.Failures[0] != "store: locked" {
		t.Errorf("one failure: %+v", v)
	}
	// No check configured: the process is as ready as it is up.
	g := newFixture(t)
	if rec := g.do(req{path: "/readyz"}); rec.Code != 200 {
		t.Errorf("no check: %d", rec.Code)
	}
}
