package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vhold/vhold/clock"
	"github.com/vhold/vhold/config"
	"github.com/vhold/vhold/pbx/freeswitch/esltest"
)

func TestLineConfigHomesAgentsAndReach(t *testing.T) {
	c, err := config.Parse("c.yaml", []byte(`
pbx:
  asterisk:
    - {name: ast-1, url: "http://h1/ari", username: u, password: p, reaches: [ast-2]}
    - {name: ast-2, url: "http://h2/ari", username: u, password: p}
agents:
  alice: {endpoint: PJSIP/1001}
  bob: {endpoint: PJSIP/1002, pbx: ast-2}
queues:
  support: {agents: [alice, bob]}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	lc := lineConfig(c)
	nodes := map[string]string{}
	for _, a := range lc.Agents {
		nodes[a.ID] = a.Node
	}
	if nodes["alice"] != "ast-1" || nodes["bob"] != "ast-2" {
		t.Errorf("agents homed on %v, want alice on ast-1 (the first server), bob on ast-2", nodes)
	}
	if lc.Reach == nil {
		t.Fatal("two servers and no Reach: every agent would take every caller")
	}
	for _, c := range []struct {
		call, agent string
		want        bool
	}{{"ast-1", "ast-2", true}, {"ast-2", "ast-1", false}, {"ast-2", "ast-3", false}} {
		if got := lc.Reach(c.call, c.agent); got != c.want {
			t.Errorf("Reach(%s, %s) = %v, want %v", c.call, c.agent, got, c.want)
		}
	}

	one, err := config.Parse("c.yaml", []byte(`
pbx:
  asterisk:
    - {name: ast-1, url: "http://h1/ari", username: u, password: p}
agents:
  alice: {endpoint: PJSIP/1001}
queues:
  support: {agents: [alice]}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if lineConfig(one).Reach != nil {
		t.Error("one server: want no Reach filter (nothing to filter, and Next never scans)")
	}
}

// TestServeRunsCallsOnFreeSWITCH: `vhold serve` connects to every server
// under pbx.freeswitch (here the fake FreeSWITCH; the Asterisk beside it is
// unreachable) with the configured password, takes the calls the dialplan
// parks with vhold_queue, plays them the prompts from the configured sounds
// folder, and keeps the agents homed there staffed.
func TestServeRunsCallsOnFreeSWITCH(t *testing.T) {
	srv := esltest.New(esltest.Options{Speed: 20, Password: "esl-secret"})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfgPath := filepath.Join(dir, "vhold.yaml")
	cfg := fmt.Sprintf(`
store: {path: vhold.db}
http: {listen: "%s"}
pbx:
  asterisk:
    - {name: ast-1, url: "http://127.0.0.1:1/ari", username: u, password: p}
  freeswitch:
    - {name: fs-1, address: "%s", password: esl-secret, sounds: /opt/vhold/sounds}
agents:
  alice: {endpoint: PJSIP/1001}
  carmen: {endpoint: sofia/internal/1003, pbx: fs-1}
queues:
  support: {agents: [alice, carmen]}
`, addr, srv.Addr())
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	var serveOut, serveErr logBuffer
	done := make(chan int, 1)
	go func() {
		e := &env{stdout: &serveOut, stderr: &serveErr, clock: clock.NewFake(now), lookupEnv: func(string) (string, bool) { return "", false }}
		done <- run(ctx, e, []string{"serve", "-c", cfgPath, "--log-format", "json"})
	}()
	defer func() {
		stop()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d; stderr:\n%s", code, serveErr.String())
		}
	}()
	staffed := func() int {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return -1
		}
		defer resp.Body.Close()
		var h struct {
			Queues map[string]struct {
				Agents int `json:"agents_staffed"`
			} `json:"queues"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
			t.Fatal(err)
		}
		return h.Queues["support"].Agents
	}
	deadline := time.Now().Add(10 * time.Second)
	n := staffed()
	for ; n < 0 && time.Now().Before(deadline); n = staffed() {
		time.Sleep(10 * time.Millisecond)
	}
	if n != 2 {
		t.Fatalf("support staffed by %d, want 2 (alice and carmen, homed on fs-1); stderr:\n%s", n, serveErr.String())
	}
	wctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.WaitFor(wctx, func() bool { return srv.Connections() > 0 }); err != nil {
		t.Fatalf("vhold never connected to the event socket; stderr:\n%s", serveErr.String())
	}
	call := srv.Call(esltest.CallSpec{Queue: "support"})
	h, err := call.WaitHeard(wctx, "*/opt/vhold/sounds/en/greeting.wav")
	if err != nil {
		t.Fatalf("the caller was not greeted from the sounds folder: %v; stderr:\n%s", call, serveErr.String())
	}
	if h.Via != "broadcast" || !call.Answered() {
		t.Fatalf("greeting %+v, answered %v", h, call.Answered())
	}
}

// logBuffer is a bytes.Buffer safe to read while serve writes its log.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *logBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *logBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
