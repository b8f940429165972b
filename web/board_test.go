package web

import (
	"bufio"
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vhold/vhold/queue"
)

// login signs in to the board and returns the session cookie and the CSRF
// token the board page carries.
func (f *fixture) login(name string) (*http.Cookie, string) {
	f.t.Helper()
	rec := f.do(req{method: http.MethodPost, path: "/board/login", body: url.Values{"token": {token}, "name": {name}}.Encode(),
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/board" {
		f.t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	var c *http.Cookie
	for _, k := range rec.Result().Cookies() {
		if k.Name == sessionCookie {
			c = k
		}
	}
	if c == nil {
		f.t.Fatal("login set no session cookie")
	}
	page := f.board(c)
	m := regexp.MustCompile(`data-csrf="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		f.t.Fatal("board has no CSRF token")
	}
	return c, m[1]
}

// board fetches the board page with the session cookie.
func (f *fixture) board(c *http.Cookie) string {
	f.t.Helper()
	rec := f.do(req{path: "/board", header: map[string]string{"Cookie": c.String()}})
	if rec.Code != http.StatusOK {
		f.t.Fatalf("board: %d %s", rec.Code, rec.Header())
	}
	return html.UnescapeString(rec.Body.String())
}

func (f *fixture) act(c *http.Cookie, csrf, path string, header map[string]string) *httptest.ResponseRecorder {
	f.t.Helper()
	h := map[string]string{"Cookie": c.String(), "Content-Type": "application/x-www-form-urlencoded"}
	for k, v := range header {
		h[k] = v
	}
	return f.do(req{method: http.MethodPost, path: path, body: url.Values{"csrf": {csrf}}.Encode(), header: h})
}

func TestBoardNeedsASession(t *testing.T) {
	f := newFixture(t)
	if rec := f.do(req{path: "/board"}); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/board/login" {
		t.Errorf("board: %d %v", rec.Code, rec.Header())
	}
	if rec := f.do(req{path: "/board/events"}); rec.Code != http.StatusUnauthorized {
		t.Errorf("events: %d", rec.Code)
	}
	if rec := f.do(req{path: "/board", header: map[string]string{"Cookie": sessionCookie + "=made-up"}}); rec.Code != http.StatusSeeOther {
		t.Errorf("made-up session: %d", rec.Code)
	}
	id := f.mustCreate(body("number", mobile(1), "queue", "support")).ID
	rec := f.do(req{method: http.MethodPost, path: "/board/callbacks/1/cancel", body: "csrf=x",
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/board/login") {
		t.Errorf("action without a session: %d", rec.Code)
	}
	if tk, _, err := f.line.Ticket(queue.TicketID(id)); err != nil || tk.State != queue.Waiting {
		t.Error("an action without a session changed the callback")
	}
	// The board is never framed.
	rec = f.do(req{path: "/board/login"})
	if rec.Header().Get("X-Frame-Options") != "DENY" || !strings.Contains(rec.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("login headers %v", rec.Header())
	}
}

func TestBoardLogin(t *testing.T) {
	f := newFixture(t)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	rec := f.do(req{method: http.MethodPost, path: "/board/login", body: "token=wrong&name=Sara", header: form})
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "That token is not accepted here.") || len(rec.Result().Cookies()) != 0 {
		t.Errorf("wrong token: %d %v", rec.Code, rec.Result().Cookies())
	}
	rec = f.do(req{method: http.MethodPost, path: "/board/login", body: "token=" + token + "&name=+", header: form})
	if rec.Code != http.StatusBadRequest || len(rec.Result().Cookies()) != 0 {
		t.Errorf("no name: %d", rec.Code)
	}
	rec = f.do(req{method: http.MethodPost, path: "/board/login", body: "token=" + token + "&name=Sara",
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"}})
	if rec.Code != http.StatusForbidden {
		t.Errorf("cross-site login: %d", rec.Code)
	}

	c, _ := f.login("Sara")
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/board" || c.Secure || len(c.Value) < 20 {
		t.Errorf("cookie %+v", c)
	}
	// Over TLS (here: through the trusted proxy) the cookie is Secure.
	g := newFixture(t, func(o *Options) { o.TrustForwardedFor = true })
	rec = g.do(req{method: http.MethodPost, path: "/board/login", body: "token=" + token + "&name=Sara",
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-Proto": "https"}})
	if cs := rec.Result().Cookies(); len(cs) != 1 || !cs[0].Secure {
		t.Errorf("behind TLS: %v", cs)
	}

	// A vhold without tokens says why nobody can sign in.
	h := newFixture(t, func(o *Options) { o.Tokens = nil })
	rec = h.do(req{method: http.MethodPost, path: "/board/login", body: "token=x&name=Sara", header: form})
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "no API tokens") {
		t.Errorf("no tokens: %d", rec.Code)
	}

	// Sessions expire.
	f.clk.Advance(sessionTTL)
	if rec := f.do(req{path: "/board", header: map[string]string{"Cookie": c.String()}}); rec.Code != http.StatusSeeOther {
		t.Errorf("expired session: %d", rec.Code)
	}
}

// Guessing the token through the login is no faster than through the API.
func TestBoardLoginIsRateLimited(t *testing.T) {
	f := newFixture(t)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for range DefaultRate {
		f.do(req{method: http.MethodPost, path: "/board/login", body: "token=guess&name=x", header: form})
	}
	rec := f.do(req{method: http.MethodPost, path: "/board/login", body: "token=" + token + "&name=x", header: form})
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" || len(rec.Result().Cookies()) != 0 {
		t.Errorf("%d %v", rec.Code, rec.Header())
	}
}

func TestBoardLogout(t *testing.T) {
	f := newFixture(t)
	c, csrf := f.login("Sara")
	if rec := f.act(c, csrf, "/board/logout", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("logout: %d", rec.Code)
	}
	if rec := f.do(req{path: "/board", header: map[string]string{"Cookie": c.String()}}); rec.Code != http.StatusSeeOther {
		t.Errorf("after logout: %d", rec.Code)
	}
}

func TestBoardRows(t *testing.T) {
	f := newFixture(t)
	f.mustCreate(body("number", "+34 612 34 56 01", "queue", "support", "category", "money"))
	c, _ := f.login("Sara")
	page := f.board(c)
	for _, want := range []string{
		`<tr id="cb-1" data-id="1" data-risk="ok"`, `<td class="customer">+34 6•• •• •• 01</td>`, "<td>money</td>",
		`<time datetime="2026-11-23T10:05:00Z">10:05</time>`, `<span class="badge badge-ok">On time</span>`,
		"waiting, place 1", "Signed in as Sara",
		// Header figures: support has one callback and two agents.
		`<tr data-queue="support"><th scope="row">support</th><td>0</td><td>1</td><td>0</td><td>2</td></tr>`,
		// The metrics (from the store): one promised.
		`<div class="metric" data-metric="promised"><dt>Promised</dt><dd>1</dd></div>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("board lacks %q", want)
		}
	}
	if strings.Contains(page, "612 34 56 01") {
		t.Error("the board shows the whole number")
	}
	if strings.Contains(page, "resolve-1") {
		t.Error("a call promise offers 'resolved in writing'")
	}
	// In Spanish.
	rec := f.do(req{path: "/board", header: map[string]string{"Cookie": c.String(), "Accept-Language": "es"}})
	if p := html.UnescapeString(rec.Body.String()); !strings.Contains(p, "Panel de promesas") || !strings.Contains(p, "A tiempo") {
		t.Error("no Spanish board")
	}
}

func TestBoardRisk(t *testing.T) {
	for _, c := range []struct {
		p    queue.Promise
		want string
	}{
		{queue.Promise{}, riskOK},
		{queue.Promise{AtRiskAt: t0}, riskAtRisk},
		{queue.Promise{Resets: 1}, riskAtRisk},
		{queue.Promise{Resets: 1, MissedAt: t0}, riskMissed},
		{queue.Promise{Resets: 1, Escalated: true, MissedAt: t0}, riskEscalated},
	} {
		if got := boardRisk(c.p); got != c.want {
			t.Errorf("%+v: %s, want %s", c.p, got, c.want)
		}
	}
}

func TestBoardActions(t *testing.T) {
	f := newFixture(t)
	id := f.mustCreate(body("number", mobile(1), "queue", "support")).ID
	c, csrf := f.login("Sara")

	// The CSRF token is required, and must be this session's.
	if rec := f.act(c, "forged", "/board/callbacks/1/take", nil); rec.Code != http.StatusForbidden {
		t.Errorf("forged token: %d", rec.Code)
	}
	other, _ := f.login("Mallory")
	if rec := f.act(other, csrf, "/board/callbacks/1/take", nil); rec.Code != http.StatusForbidden {
		t.Errorf("another session's token: %d", rec.Code)
	}
	tk, _, _ := f.line.Ticket(queue.TicketID(id))
	if tk.Promise.Owner != "" {
		t.Fatal("a refused action took the callback")
	}

	rec := f.act(c, csrf, "/board/callbacks/1/take", nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/board?done=take&id=1#cb-1" {
		t.Fatalf("take: %d %v", rec.Code, rec.Header())
	}
	if tk, _, _ := f.line.Ticket(queue.TicketID(id)); tk.Promise.Owner != "Sara" {
		t.Errorf("owner %q", tk.Promise.Owner)
	}
	if p := f.do(req{path: "/board?done=take&id=1", header: map[string]string{"Cookie": c.String()}}).Body.String(); !strings.Contains(p, "You own callback 1.") {
		t.Error("no confirmation")
	}

	// Resolving a call promise in writing is refused, in JSON for the
	// board's script.
	rec = f.act(c, csrf, "/board/callbacks/1/resolve", map[string]string{"Accept": "application/json"})
	if rec.Code != http.StatusConflict || decode[apiError](t, rec).Code != "not_written" {
		t.Errorf("resolve: %d %s", rec.Code, rec.Body)
	}

	rec = f.act(c, csrf, "/board/callbacks/1/cancel", map[string]string{"Accept": "application/json"})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Callback 1 is cancelled.") {
		t.Fatalf("cancel: %d %s", rec.Code, rec.Body)
	}
	st, _ := f.store.Ticket(context.Background(), queue.TicketID(id))
	if st.State != queue.Cancelled || st.FinalReason != "cancelled from the board by Sara" {
		t.Errorf("stored %s %q", st.State, st.FinalReason)
	}
	tr := f.j.Transitions()
	if last := tr[len(tr)-1]; last.Actor != "board" {
		t.Errorf("journal actor %q", last.Actor)
	}
	// The finished row stays an hour, without its actions.
	page := f.board(c)
	if !strings.Contains(page, `class="risk-ok finished"`) || !strings.Contains(page, "cancelled: cancelled from the board by Sara") || strings.Contains(page, "cancel-1") {
		t.Error("the cancelled row is not shown as finished")
	}
	f.clk.Advance(recentFor)
	if page := f.board(c); strings.Contains(page, `id="cb-1"`) || !strings.Contains(page, "No open callbacks") {
		t.Error("the finished row outlived its hour")
	}
	// Acting on it now is a conflict the board shows.
	rec = f.act(c, csrf, "/board/callbacks/1/cancel", nil)
	if rec.Code != http.StatusConflict || !strings.Contains(html.UnescapeString(rec.Body.String()), "callback 1 already ended") {
		t.Errorf("cancel again: %d", rec.Code)
	}
}

// A callback whose reset promised a written update can be resolved from the
// board.
func TestBoardResolveInWriting(t *testing.T) {
	f := newFixture(t)
	id := queue.TicketID(f.mustCreate(body("number", mobile(1), "queue", "support")).ID)
	if _, err := f.line.Keep(context.Background(), id, queue.EvReset, "test", "test", func(n *queue.Ticket) {
		n.Promise.Resets, n.Promise.Written, n.Promise.Deadline = 1, true, t0.Add(time.Hour)
	}); err != nil {
		t.Fatal(err)
	}
	c, csrf := f.login("Sara")
	page := f.board(c)
	if !strings.Contains(page, `id="resolve-1"`) || !strings.Contains(page, `data-risk="at_risk"`) || !strings.Contains(page, "<td>11:00</td>") {
		t.Errorf("written reset row:\n%s", page)
	}
	if rec := f.act(c, csrf, "/board/callbacks/1/resolve", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("resolve: %d %s", rec.Code, rec.Body)
	}
	st, _ := f.store.Ticket(context.Background(), id)
	if st.State != queue.Completed || st.FinalReason != "resolved in writing by Sara" {
		t.Errorf("stored %s %q", st.State, st.FinalReason)
	}
}

// serve runs the server over HTTP until the test ends, closing the server
// (which ends its event streams) before the listener, which waits for them.
func (f *fixture) serve() *httptest.Server {
	ts := httptest.NewServer(f.srv)
	f.t.Cleanup(func() {
		f.srv.Close()
		ts.Close()
	})
	return ts
}

// sse reads a board event stream.
type sse struct {
	t    *testing.T
	resp *http.Response
	ch   chan map[string]string
}

func openStream(t *testing.T, url string, c *http.Cookie) *sse {
	t.Helper()
	r, err := http.NewRequest(http.MethodGet, url+"/board/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.AddCookie(c)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %v", resp.StatusCode, resp.Header)
	}
	s := &sse{t: t, resp: resp, ch: make(chan map[string]string, 100)}
	go func() {
		defer close(s.ch)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && event == "board":
				var m map[string]string
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &m); err == nil {
					s.ch <- m
				}
			}
		}
	}()
	t.Cleanup(func() { resp.Body.Close() })
	return s
}

// next waits for the next board event.
func (s *sse) next() map[string]string {
	s.t.Helper()
	select {
	case m, ok := <-s.ch:
		if !ok {
			s.t.Fatal("the stream ended")
		}
		return m
	case <-time.After(5 * time.Second):
		s.t.Fatal("no board event in 5 s")
	}
	return nil
}

// The stream sends the board at once and again on a change of the line,
// bursts coalesced into one update per coalesceEvery of the clock, and
// ends when the server closes.
func TestBoardEvents(t *testing.T) {
	f := newFixture(t)
	ts := f.serve()
	c, _ := f.login("Sara")
	s := openStream(t, ts.URL, c)
	if m := s.next(); !strings.Contains(m["rows"], "No open callbacks") || !strings.Contains(m["figures"], `data-queue="support"`) {
		t.Fatalf("first event %v", m)
	}
	f.clk.Advance(time.Second)
	f.mustCreate(body("number", mobile(1), "queue", "support"))
	if m := s.next(); !strings.Contains(m["rows"], `id="cb-1"`) {
		t.Fatalf("after a create: %v", m["rows"])
	}
	// A burst inside one coalescing period: at most one more event until
	// the clock moves on, and then the board has all of it.
	for i := 2; i <= 6; i++ {
		f.mustCreate(body("number", mobile(i), "queue", "support"))
	}
	var last map[string]string
	deadline := time.Now().Add(5 * time.Second)
	for last == nil || !strings.Contains(last["rows"], `id="cb-6"`) {
		if time.Now().After(deadline) {
			t.Fatal("the burst never reached the board")
		}
		select {
		case m := <-s.ch:
			last = m
		case <-time.After(50 * time.Millisecond):
			f.clk.Advance(coalesceEvery)
		}
	}
	done := make(chan struct{})
	go func() {
		for range s.ch {
		}
		close(done)
	}()
	f.srv.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the stream")
	}
}

func TestBoardEventsCoalesce(t *testing.T) {
	f := newFixture(t)
	ts := f.serve()
	c, _ := f.login("Sara")
	s := openStream(t, ts.URL, c)
	s.next()
	f.clk.Advance(time.Second)
	for i := 1; i <= 20; i++ {
		f.mustCreate(body("number", mobile(i), "queue", "support"))
	}
	// Without the clock moving, twenty changes make at most one event (the
	// first, sent at once) however long we wait.
	n := 0
	timeout := time.After(500 * time.Millisecond)
wait:
	for {
		select {
		case <-s.ch:
			n++
		case <-timeout:
			break wait
		}
	}
	if n > 1 {
		t.Errorf("%d events for a burst within one coalescing period, want at most 1", n)
	}
}

// Close is safe to call twice and with no board open.
func TestCloseTwice(t *testing.T) {
	f := newFixture(t)
	f.srv.Close()
	f.srv.Close()
	if s, _ := f.srv.live.subscribe(); s != nil {
		t.Error("subscribed after Close")
	}
}

// With no board open, finished callbacks are still forgotten after their
// hour: the watcher's memory does not grow with the history.
func TestFinishedRowsForgottenUnwatched(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		id := f.mustCreate(body("number", mobile(i), "queue", "support")).ID
		if _, err := f.line.Cancel(ctx, queue.TicketID(id), "test", "test"); err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(recentFor)
	}
	f.srv.live.mu.Lock()
	n := len(f.srv.live.recent)
	f.srv.live.mu.Unlock()
	if n != 1 {
		t.Errorf("%d finished callbacks remembered, want only the last hour's 1", n)
	}
}
