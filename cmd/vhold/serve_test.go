package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vhold/vhold/clock"
	"github.com/vhold/vhold/pbx/asterisk/aritest"
	"github.com/vhold/vhold/queue"
	"github.com/vhold/vhold/store"
)

const serveConfig = `
store: {path: vhold.db}
http: {listen: "%s"}
agents:
  alice: {endpoint: PJSIP/1001}
queues:
  support:
    country: ES
    agents: [alice]
`

// TestServeRecoversAndFollowsTheCLI starts `vhold serve` in-process on a
// store that holds a live caller and a callback from before a restart, then
// adds a callback with the CLI and sees the server's line pick it up.
func TestServeRecoversAndFollowsTheCLI(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfgPath := filepath.Join(dir, "vhold.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(serveConfig, addr)), 0o644); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(now)
	ctx := context.Background()

	// Before the "restart": a caller on hold and a callback waiting.
	st, err := store.Open(ctx, filepath.Join(dir, "vhold.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := queue.NewLine(queue.Config{Queues: []queue.QueueConfig{{Name: "support"}}}, clk, st, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	live, err := l.Join(ctx, queue.JoinRequest{Queue: "support", Kind: queue.Live, Actor: "ivr"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Join(ctx, queue.JoinRequest{Queue: "support", Kind: queue.Callback, Number: "+34911234567", Actor: "ivr"}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	newEnv := func(out, errs *bytes.Buffer) *env {
		return &env{stdout: out, stderr: errs, clock: clk, lookupEnv: func(string) (string, bool) { return "", false }}
	}
	sctx, stop := context.WithCancel(ctx)
	var serveOut, serveErr bytes.Buffer
	var wg sync.WaitGroup
	code := -1
	wg.Add(1)
	go func() {
		defer wg.Done()
		code = run(sctx, newEnv(&serveOut, &serveErr), []string{"serve", "-c", cfgPath, "--log-format", "json"})
	}()
	defer func() {
		stop()
		wg.Wait()
		if code != 0 {
			t.Errorf("serve exited %d; stderr:\n%s", code, serveErr.String())
		}
	}()

	health := func() map[string]queue.Counts {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		var h struct {
			Queues map[string]queue.Counts `json:"queues"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
			t.Fatal(err)
		}
		return h.Queues
	}
	// waitFor polls (wall clock, bounded) until cond holds: it synchronises
	// with the server's goroutines, it asserts nothing about speed.
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("gave up waiting for %s; serve stderr:\n%s", what, serveErr.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("serve to answer /healthz", func() bool { return health() != nil })
	if c := health()["support"]; c.OnHold != 0 || c.Callbacks != 1 {
		t.Fatalf("after restart: %+v, want the callback kept and the vanished caller gone", c)
	}

	var out, errs bytes.Buffer
	if code := run(ctx, newEnv(&out, &errs), []string{"callbacks", "add", "-c", cfgPath, "--queue", "support", "--number", "612345678"}); code != 0 {
		t.Fatalf("callbacks add: %d %s", code, errs.String())
	}
	waitFor("the follower to arm its timer", func() bool { return clk.Pending() > 0 })
	clk.Advance(time.Second)
	waitFor("serve to see the CLI's callback", func() bool { return health()["support"].Callbacks == 2 })

	// The vanished live caller was journaled as abandoned by the restart.
	out.Reset()
	if code := run(ctx, newEnv(&out, &errs), []string{"journal", "-c", cfgPath, "--ticket", fmt.Sprint(live.Ticket.ID), "--json"}); code != 0 {
		t.Fatalf("journal: %d %s", code, errs.String())
	}
	var rows []journalView
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[1].To != "abandoned" || rows[1].Actor != "restart" {
		t.Fatalf("live ticket's journal: %+v", rows)
	}

	// /metrics has the promise figures of the week: two callbacks promised
	// in the support queue.
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"vhold_promises_up 1", `vhold_promises_promised{category="general",queue="support"} 2`} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("/metrics lacks %q:\n%s", want, body)
		}
	}

	// The API is served beside them: ready, and a web request joins the
	// same line.
	if resp, err := http.Get("http://" + addr + "/readyz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz: %v %v", resp, err)
	}
	resp, err = http.Post("http://"+addr+"/api/v1/callbacks", "application/json",
		strings.NewReader(`{"number": "612345679", "queue": "support", "when": "asap"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/v1/callbacks: %d %s", resp.StatusCode, body)
	}
	waitFor("the web callback in line", func() bool { return health()["support"].Callbacks == 3 })

	// The form and the board's sign-in page are served too.
	for _, page := range []string{"/callback", "/board/login"} {
		resp, err := http.Get("http://" + addr + page)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %v %v", page, resp, err)
		}
		resp.Body.Close()
	}
}

const serveAsteriskConfig = `
store: {path: vhold.db}
http: {listen: "%s"}
pbx:
  asterisk:
    - name: ast1
      url: http://%s/ari
      username: vhold
      password: vhold
      app: vhold
agents:
  alice: {endpoint: PJSIP/1001, state: paused}
queues:
  support:
    country: ES
    agents: [alice]
`

// TestServeMetricsAndReadiness runs `vhold serve` against an Asterisk that
// is unreachable at first: /readyz says so (503) and /metrics shows the PBX
// down; once the Asterisk (a fake one, behind a forwarder on the configured
// address) answers, the switch connects, /readyz is 200 and the gauge is 1.
// /metrics also carries the store's commit latency.
func TestServeMetricsAndReadiness(t *testing.T) {
	dir := t.TempDir()
	addr, ariAddr := freeAddr(t), freeAddr(t)
	cfgPath := filepath.Join(dir, "vhold.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(serveAsteriskConfig, addr, ariAddr)), 0o644); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(now)
	e := &env{stdout: io.Discard, stderr: &syncBuffer{}, clock: clk, lookupEnv: func(string) (string, bool) { return "", false }}
	serveErr := e.stderr.(*syncBuffer)
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(sctx, e, []string{"serve", "-c", cfgPath, "--log-format", "json"}) }()
	defer func() {
		stop()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d; stderr:\n%s", code, serveErr.String())
		}
	}()

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, ""
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("gave up waiting for %s; serve stderr:\n%s", what, serveErr.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("serve to answer /healthz", func() bool { code, _ := get("/healthz"); return code == http.StatusOK })

	// Nothing listens on the ARI address yet.
	code, body := get("/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "pbx ast1: not connected") {
		t.Fatalf("/readyz with Asterisk unreachable: %d %s", code, body)
	}
	// A web callback: one commit through the store at least.
	resp, err := http.Post("http://"+addr+"/api/v1/callbacks", "application/json",
		strings.NewReader(`{"number": "612345679", "queue": "support", "when": "asap"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/v1/callbacks: %d", resp.StatusCode)
	}
	_, metrics := get("/metrics")
	if want := `vhold_pbx_connected{kind="asterisk",pbx="ast1"} 0`; !strings.Contains(metrics, want) {
		t.Fatalf("/metrics lacks %q:\n%s", want, metrics)
	}
	if n := metricValue(t, metrics, "vhold_store_commit_seconds_count"); n < 1 {
		t.Fatalf("vhold_store_commit_seconds_count = %v, want > 0", n)
	}

	// The Asterisk comes up on the configured address; the switch retries
	// after its backoff, on the fake clock.
	srv := aritest.New(aritest.Options{})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	forward(t, ariAddr, strings.TrimSuffix(strings.TrimPrefix(srv.URL(), "http://"), "/ari"))
	waitFor("the switch to connect", func() bool {
		clk.Advance(time.Second)
		code, _ := get("/readyz")
		return code == http.StatusOK
	})
	_, metrics = get("/metrics")
	if want := `vhold_pbx_connected{kind="asterisk",pbx="ast1"} 1`; !strings.Contains(metrics, want) {
		t.Fatalf("/metrics lacks %q:\n%s", want, metrics)
	}
}

// metricValue returns the value of the sample named exactly name (no labels)
// in a Prometheus text exposition.
func metricValue(t *testing.T, exposition, name string) float64 {
	t.Helper()
	for _, line := range strings.Split(exposition, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("no %s in:\n%s", name, exposition)
	return 0
}

// forward listens on from and relays every connection to to, until the test
// ends.
func forward(t *testing.T, from, to string) {
	t.Helper()
	ln, err := net.Listen("tcp", from)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", to)
			if err != nil {
				in.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, in, out)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(out, in); out.Close() }()
			go func() { defer wg.Done(); _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
}
