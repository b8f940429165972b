package aritest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// testClient is a minimal ARI client for the unit tests: raw REST calls and
// the events of one WebSocket, ChannelVarset left out.
type testClient struct {
	t      *testing.T
	srv    *Server
	ws     *websocket.Conn
	events chan map[string]any
	done   chan struct{}
}

func newServer(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.Speed == 0 {
		opts.Speed = 50
	}
	srv := New(opts)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// connect opens the events WebSocket for the server's app (query adds
// parameters such as "&subscribeAll=true").
func connect(t *testing.T, srv *Server, query string) *testClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(srv.URL(), "http") + "/events?app=" + srv.opts.App + "&api_key=" + srv.opts.User + ":" + srv.opts.Password + query
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &testClient{t: t, srv: srv, ws: ws, events: make(chan map[string]any, 1000), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			_, b, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			var e map[string]any
			if err := json.Unmarshal(b, &e); err != nil {
				t.Errorf("event %s: %v", b, err)
				return
			}
			if e["type"] != "ChannelVarset" {
				c.events <- e
			}
		}
	}()
	t.Cleanup(func() {
		_ = ws.CloseNow()
		<-c.done
	})
	if err := srv.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// do sends a REST request and returns the status and the decoded body.
func (c *testClient) do(method, path string, body any) (int, any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.srv.URL()+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.SetBasicAuth(c.srv.opts.User, c.srv.opts.Password)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &v); err != nil {
			c.t.Fatalf("%s %s: %q: %v", method, path, b, err)
		}
	}
	return resp.StatusCode, v
}

// must sends a request that must answer status.
func (c *testClient) must(status int, method, path string) any {
	c.t.Helper()
	got, v := c.do(method, path, nil)
	if got != status {
		c.t.Fatalf("%s %s: %d %v, want %d", method, path, got, v, status)
	}
	return v
}

// next returns the next event, which must be of type typ.
func (c *testClient) next(typ string) map[string]any {
	c.t.Helper()
	select {
	case e := <-c.events:
		if e["type"] != typ {
			c.t.Fatalf("got event %v, want %s", e, typ)
		}
		return e
	case <-time.After(5 * time.Second):
		c.t.Fatalf("no %s event", typ)
	}
	return nil
}

// until skips events up to the next one of type typ.
func (c *testClient) until(typ string) map[string]any {
	c.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-c.events:
			if e["type"] == typ {
				return e
			}
		case <-deadline:
			c.t.Fatalf("no %s event", typ)
		}
	}
}

// quiet checks that no event arrives for d.
func (c *testClient) quiet(d time.Duration) {
	c.t.Helper()
	select {
	case e := <-c.events:
		c.t.Fatalf("unexpected event %v", e)
	case <-time.After(d):
	}
}

func field(e map[string]any, path ...string) any {
	var v any = e
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}
