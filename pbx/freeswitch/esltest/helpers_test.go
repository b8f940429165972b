package esltest

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// eslClient is a minimal inbound ESL client on a plain net.Conn: replies
// and events on two channels.
type eslClient struct {
	t       *testing.T
	nc      net.Conn
	mu      sync.Mutex
	order   []string // what arrived, in order: "reply <first line>", "<event> <uuid>"
	replies chan *wireMsg
	events  chan *evFields
	done    chan struct{}
}

func newServer(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.Speed == 0 {
		opts.Speed = 20
	}
	if opts.Log == nil {
		opts.Log = func(format string, args ...any) {
			if testing.Verbose() {
				t.Logf(format, args...)
			}
		}
	}
	srv := New(opts)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// dial connects and authenticates; events is the subscription ("" for
// none), e.g. "event plain ALL".
func dial(t *testing.T, srv *Server, events string) *eslClient {
	t.Helper()
	nc, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c := attach(t, nc)
	if r := c.reply(); r.contentType() != "auth/request" {
		t.Fatalf("greeting %q", r.raw)
	}
	c.ok("auth ClueCon")
	if events != "" {
		c.ok(events)
	}
	return c
}

// attach reads messages from nc.
func attach(t *testing.T, nc net.Conn) *eslClient {
	c := &eslClient{t: t, nc: nc, replies: make(chan *wireMsg, 100), events: make(chan *evFields, 1000), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		br := bufio.NewReader(nc)
		for {
			raw, err := readRaw(br)
			if err != nil {
				close(c.replies)
				return
			}
			hs, body := parseMsg(raw)
			m := &wireMsg{raw: raw, hdrs: hs, body: body}
			if m.isEvent() {
				f, err := eventFields(m)
				if err != nil {
					t.Errorf("event %q: %v", raw, err)
					continue
				}
				c.mu.Lock()
				c.order = append(c.order, f.get("Event-Name")+" "+f.get("Unique-ID"))
				c.mu.Unlock()
				c.events <- f
				continue
			}
			first := m.get("Reply-Text")
			if first == "" {
				first, _, _ = strings.Cut(m.body, "\n")
			}
			c.mu.Lock()
			c.order = append(c.order, "reply "+first)
			c.mu.Unlock()
			c.replies <- m
		}
	}()
	t.Cleanup(func() {
		_ = nc.Close()
		<-c.done
	})
	return c
}

// arrivals lists what arrived so far, in order.
func (c *eslClient) arrivals() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.order...)
}

// send writes a command with optional header lines and body.
func (c *eslClient) send(cmd string, headers ...string) {
	c.t.Helper()
	var b strings.Builder
	b.WriteString(cmd + "\n")
	for _, h := range headers {
		b.WriteString(h + "\n")
	}
	b.WriteString("\n")
	if _, err := c.nc.Write([]byte(b.String())); err != nil {
		c.t.Fatal(err)
	}
}

// reply waits for the next non-event message.
func (c *eslClient) reply() *wireMsg {
	c.t.Helper()
	select {
	case m, ok := <-c.replies:
		if !ok {
			c.t.Fatal("connection closed")
		}
		return m
	case <-time.After(5 * time.Second):
		c.t.Fatal("no reply")
	}
	return nil
}

// cmd sends a command and returns its reply.
func (c *eslClient) cmd(cmd string, headers ...string) *wireMsg {
	c.t.Helper()
	c.send(cmd, headers...)
	return c.reply()
}

// ok sends a command whose Reply-Text must start with +OK.
func (c *eslClient) ok(cmd string, headers ...string) string {
	c.t.Helper()
	r := c.cmd(cmd, headers...)
	if txt := r.get("Reply-Text"); !strings.HasPrefix(txt, "+OK") {
		c.t.Fatalf("%s: %q", cmd, r.raw)
	}
	return r.get("Reply-Text")
}

// api runs "api <line>" and returns the body.
func (c *eslClient) api(line string) string {
	c.t.Helper()
	r := c.cmd("api " + line)
	if r.contentType() != "api/response" {
		c.t.Fatalf("api %s: %q", line, r.raw)
	}
	return r.body
}

// next returns the next event.
func (c *eslClient) next() *evFields {
	c.t.Helper()
	select {
	case e := <-c.events:
		return e
	case <-time.After(5 * time.Second):
		c.t.Fatal("no event")
	}
	return nil
}

// until skips events up to the next one named name (and, if uuid is not
// empty, about that channel), and returns it.
func (c *eslClient) until(name, uuid string) *evFields {
	c.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-c.events:
			if e.get("Event-Name") == name && (uuid == "" || e.get("Unique-ID") == uuid) {
				return e
			}
		case <-deadline:
			c.t.Fatalf("no %s event for %q", name, uuid)
		}
	}
}

// seen collects the names of the events for uuid until one named last.
func (c *eslClient) seen(uuid, last string) []string {
	c.t.Helper()
	var names []string
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-c.events:
			if uuid != "" && e.get("Unique-ID") != uuid {
				continue
			}
			n := e.get("Event-Name")
			if n == "CHANNEL_STATE" || n == "CHANNEL_CALLSTATE" || n == "CODEC" || n == "CALL_UPDATE" {
				n += "(" + e.get("Channel-State") + ")"
			}
			names = append(names, n)
			if e.get("Event-Name") == last {
				return names
			}
		case <-deadline:
			c.t.Fatalf("no %s for %s; saw %v", last, uuid, names)
		}
	}
}

// quiet checks that no event comes for d.
func (c *eslClient) quiet(d time.Duration) {
	c.t.Helper()
	select {
	case e := <-c.events:
		c.t.Fatalf("unexpected event %s %s", e.get("Event-Name"), e.get("Unique-ID"))
	case <-time.After(d):
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// parkedCall places a call to 200 and waits until it is parked, answered.
func parkedCall(t *testing.T, srv *Server, c *eslClient, spec CallSpec) *Call {
	t.Helper()
	call := srv.Call(spec)
	c.until("CHANNEL_PARK", call.UUID())
	if got := c.api("uuid_answer " + call.UUID()); got != "+OK\n" {
		t.Fatalf("uuid_answer: %q", got)
	}
	c.until("CHANNEL_ANSWER", call.UUID())
	return call
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
