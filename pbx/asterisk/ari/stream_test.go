package ari

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/vhold/vhold/clock"
)

// wsServer is a stand-in for Asterisk's /ari/events: each accepted
// connection is handed to script with its number (1, 2, …).
type wsServer struct {
	*httptest.Server
	conns   atomic.Int32
	mu      sync.Mutex
	queries []url.Values
	// handlers tracks the handler goroutines, so a test can wait for them
	// before counting goroutines.
	handlers sync.WaitGroup
}

func newWSServer(t *testing.T, script func(n int, w http.ResponseWriter, r *http.Request)) *wsServer {
	t.Helper()
	s := &wsServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.handlers.Add(1)
		defer s.handlers.Done()
		s.mu.Lock()
		s.queries = append(s.queries, r.URL.Query())
		s.mu.Unlock()
		script(int(s.conns.Add(1)), w, r)
	}))
	return s
}

func (s *wsServer) client(cfg Config) *Client {
	cfg.BaseURL = s.URL + "/ari"
	if cfg.App == "" {
		cfg.App = "vhold-trace"
	}
	if cfg.Username == "" {
		cfg.Username, cfg.Password = "vhold", "vhold"
	}
	return New(cfg)
}

func accept(t *testing.T, w http.ResponseWriter, r *http.Request) *websocket.Conn {
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		t.Errorf("accept: %v", err)
		return nil
	}
	return conn
}

func send(t *testing.T, conn *websocket.Conn, msgs ...[]byte) {
	for _, m := range msgs {
		if err := conn.Write(context.Background(), websocket.MessageText, m); err != nil {
			t.Errorf("server write: %v", err)
			return
		}
	}
}

// drain reads until the client goes away, answering pings and the close
// handshake as Asterisk does; it returns the close status.
func drain(conn *websocket.Conn) websocket.StatusCode {
	for {
		if _, _, err := conn.Read(context.Background()); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

func rawBytes(raws []json.RawMessage) [][]byte {
	out := make([][]byte, len(raws))
	for i, r := range raws {
		out[i] = r
	}
	return out
}

func typesOf(raws []json.RawMessage) []string {
	var out []string
	for _, r := range raws {
		var b EventBase
		_ = json.Unmarshal(r, &b)
		out = append(out, b.Type)
	}
	return out
}

// next receives one event or fails after a while.
func next(t *testing.T, s *EventStream) Event {
	t.Helper()
	select {
	case ev, ok := <-s.C():
		if !ok {
			t.Fatalf("stream ended: %v", s.Err())
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	return nil
}

// settle waits until the goroutine count is back to baseline: every
// goroutine the stream started has an owner that stopped it.
func settle(t *testing.T, baseline int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines, baseline %d:\n%s", runtime.NumGoroutine(), baseline, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStreamReconnect: Asterisk sends the inbound-dtmf trace and drops the
// TCP connection (traces/disconnect.jsonl B); the stream says Disconnected,
// reconnects, says Connected{Reconnect: true}, and goes on with the
// hold-bridge trace. Cancelling the context stops everything.
func TestStreamReconnect(t *testing.T) {
	baseline := runtime.NumGoroutine()
	first := traceEvents(t, "inbound-dtmf.jsonl")
	second := traceEvents(t, "hold-bridge.jsonl")
	unknown := json.RawMessage(`{"type":"ChannelTalkingStarted","timestamp":"2026-11-21T10:51:50.000+0000","application":"vhold-trace"}`)

	srv := newWSServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		conn := accept(t, w, r)
		if conn == nil {
			return
		}
		switch n {
		case 1:
			send(t, conn, rawBytes(first)...)
			_ = conn.CloseNow() // no close frame: a dropped TCP connection
		default:
			send(t, conn, []byte("not json"), unknown)
			send(t, conn, rawBytes(second)...)
			drain(conn)
		}
	})

	ctx, cancel := context.WithCancel(context.Background())
	c := srv.client(Config{})
	s, err := c.Events(ctx, StreamOptions{MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, PingInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}

	if ev, ok := next(t, s).(*Connected); !ok || ev.Reconnect || ev.Application != "vhold-trace" || ev.Timestamp.IsZero() {
		t.Fatalf("first event %#v", ev)
	}
	for i, want := range typesOf(first) {
		if got := next(t, s).Base().Type; got != want {
			t.Fatalf("event %d of the first connection: %s, want %s", i, got, want)
		}
	}
	if d, ok := next(t, s).(*Disconnected); !ok || d.Err == nil {
		t.Fatalf("want Disconnected with its error, got %#v", d)
	}
	if ev, ok := next(t, s).(*Connected); !ok || !ev.Reconnect {
		t.Fatalf("want Connected{Reconnect: true}, got %#v", ev)
	}
	if u, ok := next(t, s).(*Unknown); !ok || u.Type != "ChannelTalkingStarted" {
		t.Fatalf("want the unknown event, got %#v", u)
	}
	for i, want := range typesOf(second) {
		if got := next(t, s).Base().Type; got != want {
			t.Fatalf("event %d of the second connection: %s, want %s", i, got, want)
		}
	}

	srv.mu.Lock()
	q := srv.queries[0]
	srv.mu.Unlock()
	if q.Get("app") != "vhold-trace" || q.Get("api_key") != "vhold:vhold" || q.Get("subscribeAll") != "false" {
		t.Errorf("query %v", q)
	}

	cancel()
	for range s.C() {
	}
	<-s.Done()
	if !errors.Is(s.Err(), context.Canceled) {
		t.Errorf("Err %v", s.Err())
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close after cancel: %v", err)
	}
	srv.handlers.Wait()
	srv.Close()
	c.http.CloseIdleConnections()
	settle(t, baseline)
}

// TestStreamApplicationReplaced: a second consumer took the app over
// (traces/disconnect.jsonl C). The stream delivers ApplicationReplaced,
// closes politely and does not reconnect: reconnecting would take the app
// back.
func TestStreamApplicationReplaced(t *testing.T) {
	baseline := runtime.NumGoroutine()
	var replaced json.RawMessage
	for _, raw := range traceEvents(t, "disconnect.jsonl") {
		if strings.Contains(string(raw), `"ApplicationReplaced"`) {
			replaced = raw
		}
	}
	start := traceEvents(t, "disconnect.jsonl")[0]
	closed := make(chan websocket.StatusCode, 1)
	srv := newWSServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		conn := accept(t, w, r)
		if conn == nil {
			return
		}
		send(t, conn, start, replaced)
		closed <- drain(conn) // Asterisk keeps the TCP connection open
	})
	c := srv.client(Config{})
	s, err := c.Events(context.Background(), StreamOptions{MinBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for ev := range s.C() {
		got = append(got, ev.Base().Type)
	}
	want := []string{TypeConnected, "StasisStart", "ApplicationReplaced"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("events %v, want %v", got, want)
	}
	if !errors.Is(s.Err(), ErrApplicationReplaced) {
		t.Errorf("Err %v", s.Err())
	}
	select {
	case code := <-closed:
		if code != websocket.StatusNormalClosure {
			t.Errorf("close status %v", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream did not close its socket")
	}
	time.Sleep(50 * time.Millisecond)
	if n := srv.conns.Load(); n != 1 {
		t.Errorf("%d connections: the stream fought for the app", n)
	}
	_ = s.Close()
	srv.handlers.Wait()
	srv.Close()
	c.http.CloseIdleConnections()
	settle(t, baseline)
}

// TestStreamUpgradeRefused: the recorded failed upgrades become typed errors.
func TestStreamUpgradeRefused(t *testing.T) {
	var fails []traceLine
	for _, l := range readTrace(t, "errors.jsonl") {
		if l.Kind == "ws_connect_failed" {
			fails = append(fails, l)
		}
	}
	if len(fails) < 2 {
		t.Fatalf("%d failed upgrades in errors.jsonl", len(fails))
	}
	for _, f := range fails {
		srv := newWSServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { writeRecorded(w, f) })
		_, err := srv.client(Config{}).Events(context.Background(), StreamOptions{})
		srv.Close()
		var ae *Error
		if !errors.As(err, &ae) || ae.Status != f.Status || ae.Path != "/events" {
			t.Errorf("status %d: %v", f.Status, err)
			continue
		}
		switch f.Status {
		case http.StatusBadRequest:
			if !errors.Is(err, ErrBadRequest) || ae.Message != "HTTP request is missing param: [app]" {
				t.Errorf("400: %v", err)
			}
		case http.StatusUnauthorized:
			if !errors.Is(err, ErrUnauthorized) || ae.Message != "Authentication required" {
				t.Errorf("401: %v", err)
			}
		}
	}
}

func TestStreamConnectRefusedHidesPassword(t *testing.T) {
	ln := httptest.NewServer(http.NotFoundHandler())
	addr := ln.URL
	ln.Close() // nothing listens there now
	c := New(Config{BaseURL: addr + "/ari", Username: "vhold", Password: "s3cret", App: "a"})
	_, err := c.Events(context.Background(), StreamOptions{})
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("password in error: %v", err)
	}
	if _, err := New(Config{BaseURL: addr}).Events(context.Background(), StreamOptions{}); err == nil {
		t.Error("no error without an app")
	}
}

// TestStreamPingDetectsDeadPeer: a peer that stops answering (no FIN, no
// pongs) is dropped after PingTimeout and replaced.
func TestStreamPingDetectsDeadPeer(t *testing.T) {
	baseline := runtime.NumGoroutine()
	release := make(chan struct{})
	srv := newWSServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		conn := accept(t, w, r)
		if conn == nil {
			return
		}
		if n == 1 {
			<-release // never reads: pings go unanswered
			_ = conn.CloseNow()
			return
		}
		drain(conn)
	})
	c := srv.client(Config{})
	s, err := c.Events(context.Background(), StreamOptions{
		PingInterval: 20 * time.Millisecond, PingTimeout: 50 * time.Millisecond,
		MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	next(t, s) // Connected
	if _, ok := next(t, s).(*Disconnected); !ok {
		t.Fatal("want Disconnected")
	}
	if ev, ok := next(t, s).(*Connected); !ok || !ev.Reconnect {
		t.Fatalf("want Connected{Reconnect: true}, got %#v", ev)
	}
	_ = s.Close()
	close(release)
	srv.handlers.Wait()
	srv.Close()
	c.http.CloseIdleConnections()
	settle(t, baseline)
}

// TestStreamBackoffOnClock: reconnect waits are timed by the injected clock
// and double from MinBackoff, through refused attempts, and the synthetic
// events carry the clock's time.
func TestStreamBackoffOnClock(t *testing.T) {
	baseline := runtime.NumGoroutine()
	srv := newWSServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 1:
			if conn := accept(t, w, r); conn != nil {
				_ = conn.CloseNow()
			}
		case 2, 3:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			if conn := accept(t, w, r); conn != nil {
				drain(conn)
			}
		}
	})
	start := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	fake := clock.NewFake(start)
	var mu sync.Mutex
	var waits []time.Duration
	c := srv.client(Config{Clock: fake})
	s, err := c.Events(context.Background(), StreamOptions{
		MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Minute,
		Jitter: func(d time.Duration) time.Duration {
			mu.Lock()
			waits = append(waits, d)
			mu.Unlock()
			return d
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ev := next(t, s).(*Connected); !ev.Timestamp.Equal(start) {
		t.Errorf("Connected at %v, want the fake clock's %v", ev.Timestamp.Time, start)
	}
	if _, ok := next(t, s).(*Disconnected); !ok {
		t.Fatal("want Disconnected")
	}
	// Each reconnect waits on a fake timer; move the clock past it.
	for attempt := 0; attempt < 3; attempt++ {
		deadline := time.Now().Add(5 * time.Second)
		for fake.Pending() == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("attempt %d: no backoff timer armed", attempt)
			}
			time.Sleep(time.Millisecond)
		}
		fake.Advance(time.Second)
	}
	ev, ok := next(t, s).(*Connected)
	if !ok || !ev.Reconnect || !ev.Timestamp.Equal(start.Add(3*time.Second)) {
		t.Fatalf("want Connected{Reconnect: true} at +3s, got %#v", ev)
	}
	mu.Lock()
	got := append([]time.Duration(nil), waits...)
	mu.Unlock()
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("backoffs %v, want %v", got, want)
	}
	_ = s.Close()
	srv.handlers.Wait()
	srv.Close()
	c.http.CloseIdleConnections()
	settle(t, baseline)
}

// TestStreamSlowConsumer: the reader keeps reading while nobody receives, so
// pongs are not missed; everything arrives later, in order.
func TestStreamSlowConsumer(t *testing.T) {
	events := traceEvents(t, "originate-answer.jsonl")
	srv := newWSServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		conn := accept(t, w, r)
		if conn == nil {
			return
		}
		for range 5 {
			send(t, conn, rawBytes(events)...)
		}
		drain(conn)
	})
	defer srv.Close()
	c := srv.client(Config{})
	s, err := c.Events(context.Background(), StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := len(events) * 5
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.q.mu.Lock()
		queued := len(s.q.items)
		s.q.mu.Unlock()
		if queued >= want { // the Connected event is already in the deliverer's hands
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reader stalled with %d of %d queued", queued, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	next(t, s) // Connected
	types := typesOf(events)
	for i := range want {
		if got := next(t, s).Base().Type; got != types[i%len(types)] {
			t.Fatalf("event %d: %s, want %s", i, got, types[i%len(types)])
		}
	}
}

func TestBackoffSchedule(t *testing.T) {
	o := StreamOptions{}.withDefaults()
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second,
		8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	for n, w := range want {
		if got := o.backoff(n); got != w {
			t.Errorf("backoff(%d) = %v, want %v", n, got, w)
		}
	}
	if got := o.backoff(1000); got != 30*time.Second {
		t.Errorf("backoff(1000) = %v", got)
	}
	for range 1000 {
		if j := o.Jitter(time.Second); j < 500*time.Millisecond || j > time.Second {
			t.Fatalf("jitter %v outside [0.5s, 1s]", j)
		}
	}
}
