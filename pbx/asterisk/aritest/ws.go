package aritest

import (
	"context"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// app is a Stasis application object. It comes into being with the first
// WebSocket that names it and then stays: Asterisk keeps it while it has
// channels or subscriptions (disconnect.jsonl seq 18, info.jsonl seq 69), and
// the traced one was still listed after its last subscription went
// (info.jsonl seq 73), so the fake never removes it.
type app struct {
	name         string
	consumer     *wsConn // the one WebSocket receiving its events; nil: inactive
	subscribeAll bool    // the consumer asked for subscribeAll=true

	chanSubs     map[string]bool // explicit eventSource=channel:ID
	bridgeSubs   map[string]bool // explicit eventSource=bridge:ID
	endpointSubs []string        // "PJSIP/agent1" or a whole technology "PJSIP"
	deviceSubs   []string        // deviceState:NAME
}

// active says whether Stasis(app) can take calls: only while a WebSocket is
// connected (disconnect.jsonl seq 23-25: 603 Decline when none is).
func (a *app) active() bool { return a != nil && a.consumer != nil }

// appNamed returns the app called name, creating it; the caller holds the lock.
func (s *Server) appNamed(name string) *app {
	if a := s.apps[name]; a != nil {
		return a
	}
	a := &app{name: name, chanSubs: map[string]bool{}, bridgeSubs: map[string]bool{}}
	s.apps[name] = a
	s.appOrder = append(s.appOrder, a)
	return a
}

// wsConn is one accepted events WebSocket. Events are queued on it with the
// server locked, in emission order, and written by its own goroutine, so a
// slow reader never blocks the model.
type wsConn struct {
	id     int
	ws     *websocket.Conn
	raw    net.Conn
	apps   []string // apps it still consumes
	queue  [][]byte
	notify chan struct{}
	gone   chan struct{} // closed when the read side has ended
}

func (c *wsConn) enqueue(b []byte) {
	c.queue = append(c.queue, b)
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// ev stamps an event of type typ with the current virtual time.
func (s *Server) ev(typ string, fields ...kv) event {
	return event{typ: typ, fields: fields, at: s.now()}
}

// send queues e n times for app a's consumer, or drops it when the app has
// none: Asterisk does not queue events for an inactive app (disconnect.jsonl
// part A: the DTMF pressed during the gap never arrives).
func (s *Server) send(a *app, e event, n int) {
	if n <= 0 || a == nil {
		return
	}
	if a.consumer == nil {
		s.logf("event %s for %s dropped: no WebSocket", e.typ, a.name)
		return
	}
	b := e.encode(a.name)
	for range n {
		a.consumer.enqueue(b)
	}
}

// follows says how many times app a receives the events of channel ch. A
// channel reaches an app through its Stasis app (inbound ones only while in
// Stasis; originated ones until destroyed, traces README "Behaviours"), an
// explicit channel subscription or subscribeAll, counted once, and again
// through an endpoint subscription: that second path is why every channel event
// arrived twice in originate-answer.jsonl seq 139-174.
func (s *Server) follows(a *app, ch *channel) int {
	n := 0
	if (ch.appSub && ch.app == a.name) || a.chanSubs[ch.id] || a.subscribeAll {
		n = 1
	}
	if a.endpointFollows(ch) {
		n++
	}
	return n
}

func (a *app) endpointFollows(ch *channel) bool {
	for _, e := range a.endpointSubs {
		if e == ch.tech || e == ch.tech+"/"+ch.resource {
			return true
		}
	}
	return false
}

// chanEvent sends a channel event to every app following ch.
func (s *Server) chanEvent(ch *channel, e event) {
	for _, a := range s.appOrder {
		s.send(a, e, s.follows(a, ch))
	}
}

// createdEvent sends an event published before the app subscribed to a new
// channel (ChannelCreated, ChannelDialplan, ChannelCallerId...): only
// subscribeAll (originate-fail.jsonl seq 10-13) and endpoint subscriptions
// (originate-answer.jsonl seq 140-141, once, not twice) see those.
func (s *Server) createdEvent(ch *channel, e event) {
	for _, a := range s.appOrder {
		n := 0
		if a.subscribeAll {
			n++
		}
		if a.endpointFollows(ch) {
			n++
		}
		s.send(a, e, n)
	}
}

// stasisEvent sends StasisStart or StasisEnd: once, to the channel's Stasis
// app only, even when other subscriptions duplicate its other events
// (originate-answer.jsonl seq 154, 169).
func (s *Server) stasisEvent(ch *channel, e event) {
	s.send(s.apps[ch.app], e, 1)
}

// bridgeFollowed says whether app a follows bridge b itself. Bridges the app
// creates are not subscribed (hold-bridge.jsonl seq 106-108); an explicit
// subscription (seq 101) or an app channel hanging up inside the bridge
// (caller-abandon.jsonl seq 51, originate-answer.jsonl seq 132) makes them so.
func (s *Server) bridgeFollowed(a *app, b *bridge) bool {
	return a.bridgeSubs[b.id] || b.autoSub[a.name] || a.subscribeAll
}

// bridgeEvent sends a bridge-level event (BridgeDestroyed) to the apps that
// follow the bridge.
func (s *Server) bridgeEvent(b *bridge, e event) {
	for _, a := range s.appOrder {
		if s.bridgeFollowed(a, b) {
			s.send(a, e, 1)
		}
	}
}

// bridgePlaybackEvent sends a bridge playback's event to the apps that follow
// the bridge or one of its channels: with neither, nothing arrives at all
// (errors.jsonl seq 173-176).
func (s *Server) bridgePlaybackEvent(b *bridge, e event) {
	for _, a := range s.appOrder {
		ok := s.bridgeFollowed(a, b)
		for _, m := range b.members {
			if s.follows(a, m) > 0 {
				ok = true
			}
		}
		if ok {
			s.send(a, e, 1)
		}
	}
}

// deviceEvent sends DeviceStateChanged to apps with subscribeAll
// (originate-fail.jsonl seq 27) or a deviceState subscription (info.jsonl
// seq 46).
func (s *Server) deviceEvent(device, state string) {
	for _, a := range s.appOrder {
		if a.subscribeAll || slices.Contains(a.deviceSubs, device) {
			e := s.ev("DeviceStateChanged", kv{"device_state", obj{{"name", device}, {"state", state}}})
			e.layout = layoutAppSecond
			s.send(a, e, 1)
		}
	}
}

// endpointEvent sends EndpointStateChange to apps subscribed to the channel's
// endpoint; subscribeAll alone did not produce it (originate-fail.jsonl), an
// endpoint subscription did (originate-answer.jsonl seq 139, 174).
func (s *Server) endpointEvent(ch *channel) {
	for _, a := range s.appOrder {
		if a.endpointFollows(ch) {
			s.send(a, s.ev("EndpointStateChange", kv{"endpoint", s.endpointSnap(ch.tech, ch.resource)}), 1)
		}
	}
}

// badRequestHTML is the page Asterisk's HTTP server returns for an events
// WebSocket without app (errors.jsonl seq 7), byte for byte but for the
// server name.
const badRequestHTML = "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\r\n" +
	"<html><head>\r\n<title>400 Bad Request</title>\r\n</head><body>\r\n" +
	"<h1>Bad Request</h1>\r\n<p>HTTP request is missing param: [app]</p>\r\n" +
	"<hr />\r\n<address>%s</address>\r\n</body></html>\r\n"

// serveEvents upgrades GET /ari/events to the events WebSocket. The handler
// goroutine then becomes the connection's reader until it ends.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	appParam := q.Get("app")
	if appParam == "" {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(strings.Replace(badRequestHTML, "%s", s.opts.ServerName, 1)))
		return
	}
	raw, _ := r.Context().Value(netConnKey{}).(net.Conn)
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		s.logf("events: accept: %v", err)
		return
	}
	ws.SetReadLimit(1 << 20)
	c := &wsConn{ws: ws, raw: raw, notify: make(chan struct{}, 1), gone: make(chan struct{})}
	subscribeAll := q.Get("subscribeAll") == "true"

	s.lock()
	if s.closed {
		s.unlock()
		_ = ws.CloseNow()
		return
	}
	s.wsAccepted++
	c.id = s.wsAccepted
	s.conns[c] = struct{}{}
	for _, name := range strings.Split(appParam, ",") {
		if name == "" {
			continue
		}
		a := s.appNamed(name)
		if old := a.consumer; old != nil && old != c {
			// One consumer per app: the older socket gets ApplicationReplaced
			// and then nothing, although it stays open (disconnect.jsonl seq
			// 48-54); it is not revived when the newer one closes (seq 55-58).
			e := s.ev("ApplicationReplaced")
			e.layout = layoutAppBeforeID
			old.enqueue(e.encode(name))
			old.apps = slices.DeleteFunc(old.apps, func(n string) bool { return n == name })
		}
		a.consumer = c
		a.subscribeAll = subscribeAll
		c.apps = append(c.apps, name)
		s.logf("events: WebSocket %d consumes app %s (subscribeAll=%v)", c.id, name, subscribeAll)
	}
	s.wg.Add(1)
	s.unlock()

	go func() {
		defer s.wg.Done()
		s.writeLoop(c)
	}()
	s.readLoop(c)
}

// readLoop reads (and discards) what the client sends, so pings get their
// pongs and a close handshake completes, until the connection ends; then the
// apps it consumed become inactive.
func (s *Server) readLoop(c *wsConn) {
	for {
		if _, _, err := c.ws.Read(context.Background()); err != nil {
			break
		}
	}
	s.lock()
	s.detach(c)
	delete(s.conns, c)
	close(c.gone)
	s.logf("events: WebSocket %d closed", c.id)
	s.unlock()
	_ = c.ws.CloseNow()
}

// detach makes c consume nothing; the caller holds the lock.
func (s *Server) detach(c *wsConn) {
	for _, name := range c.apps {
		if a := s.apps[name]; a != nil && a.consumer == c {
			a.consumer = nil
			a.subscribeAll = false
		}
	}
	c.apps = nil
}

// writeLoop writes c's queued events in order until the connection ends.
func (s *Server) writeLoop(c *wsConn) {
	for {
		s.mu.Lock()
		q := c.queue
		c.queue = nil
		s.mu.Unlock()
		for _, b := range q {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := c.ws.Write(ctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				_ = c.ws.CloseNow()
				<-c.gone
				return
			}
		}
		select {
		case <-c.notify:
		case <-c.gone:
			return
		case <-s.done:
			return
		}
	}
}

// consumer is the WebSocket consuming the main app, or nil.
func (s *Server) consumer() *wsConn {
	if a := s.apps[s.opts.App]; a != nil {
		return a.consumer
	}
	return nil
}

// Connected says whether a WebSocket consumes Options.App now.
func (s *Server) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.consumer() != nil
}

// WebSockets counts the event WebSockets accepted so far, to see a client
// reconnect.
func (s *Server) WebSockets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wsAccepted
}

// WaitConnected blocks until a WebSocket consumes Options.App: a client under
// test is ready to take calls.
func (s *Server) WaitConnected(ctx context.Context) error {
	return s.WaitFor(ctx, s.Connected)
}

// DropWebSocket cuts the TCP connection of Options.App's WebSocket without a
// close frame, as a network failure or a crashed peer would (disconnect.jsonl
// part B, seen from the other side). Events are dropped until a client
// reconnects. It reports whether there was a connection to cut.
func (s *Server) DropWebSocket() bool {
	s.lock()
	defer s.unlock()
	c := s.consumer()
	if c == nil {
		return false
	}
	s.detach(c)
	s.logf("events: dropping WebSocket %d (no close frame)", c.id)
	if c.raw != nil {
		_ = c.raw.Close()
	} else {
		_ = c.ws.CloseNow()
	}
	return true
}

// CloseWebSocket closes Options.App's WebSocket cleanly with close code 1000,
// as Asterisk does when it shuts down. Events are dropped until a client
// reconnects (disconnect.jsonl part A). It reports whether there was one.
func (s *Server) CloseWebSocket() bool {
	s.lock()
	defer s.unlock()
	c := s.consumer()
	if c == nil {
		return false
	}
	s.detach(c)
	s.logf("events: closing WebSocket %d (1000)", c.id)
	if s.closed {
		_ = c.ws.CloseNow()
		return true
	}
	// The close handshake waits for the client's answer; it runs on its own
	// goroutine so the caller (a test) is not held up, and Close waits for it.
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = c.ws.Close(websocket.StatusNormalClosure, "")
	}()
	return true
}
