package ari

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/sirupsen/logrus"
)

// StreamOptions tune the event stream; the zero value is what production
// uses.
type StreamOptions struct {
	// SubscribeAll asks Asterisk for every event of the system, not only
	// those of the app's channels, bridges and subscriptions. vhold does not
	// need it: it subscribes to the channels whose ChannelDestroyed it wants.
	SubscribeAll bool
	// PingInterval is how often the stream pings Asterisk, so a connection
	// that died without a FIN (a NAT, a pulled cable) is noticed and
	// replaced; 0 means 15 s, negative disables pings.
	PingInterval time.Duration
	// PingTimeout is how long a pong may take; 0 means 10 s.
	PingTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before a reconnect, doubling
	// from Min up to Max; 0 means 500 ms and 30 s. A connection that stayed
	// up for MaxBackoff starts the next series from MinBackoff again.
	MinBackoff, MaxBackoff time.Duration
	// Jitter turns a backoff into the wait actually used, so many vhold
	// instances do not reconnect in step; nil picks uniformly in [d/2, d].
	Jitter func(d time.Duration) time.Duration
}

func (o StreamOptions) withDefaults() StreamOptions {
	if o.PingInterval == 0 {
		o.PingInterval = 15 * time.Second
	}
	if o.PingTimeout <= 0 {
		o.PingTimeout = 10 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.Jitter == nil {
		o.Jitter = func(d time.Duration) time.Duration {
			if d < 2 {
				return d
			}
			return d/2 + rand.N(d/2+1)
		}
	}
	return o
}

// backoff is the wait before reconnect attempt n (0-based).
func (o StreamOptions) backoff(n int) time.Duration {
	d := o.MinBackoff
	for i := 0; i < n && d < o.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, o.MaxBackoff)
}

// readLimit bounds one event. Asterisk's largest are a few kilobytes (a
// channel with channelvars); coder/websocket's 32 KiB default is close
// enough to matter for a bridge with many members.
const readLimit = 1 << 20

// EventStream is the app's event WebSocket, kept open: it reads events,
// decodes them, and delivers them in order on C. When the socket drops it
// delivers Disconnected, reconnects with backoff and delivers
// Connected{Reconnect: true}; Asterisk does not replay the events of the
// gap, so the consumer reconciles then.
//
// It owns two goroutines: the reader (connect, read, decode, ping,
// reconnect) and the deliverer, which hands events to C from an unbounded
// queue so the reader never waits for a slow consumer (a reader that waits
// misses pongs, and the stream would then reconnect and lose events).
// Both stop when the context given to Events is cancelled or Close is called.
type EventStream struct {
	c   *Client
	opt StreamOptions
	log *logrus.Entry

	parent context.Context
	ctx    context.Context
	cancel context.CancelFunc

	out  chan Event
	done chan struct{}
	q    eventQueue

	mu  sync.Mutex
	err error
}

// Events opens the client's app event WebSocket
// (ws://…/ari/events?app=APP&api_key=user:pass). The first connection is
// made before it returns, so a bad address, a wrong password (401) or a
// missing app (400, with Asterisk's HTML page) is an error here, as an
// *Error when Asterisk answered. Later drops are handled by reconnecting.
// The first event on C is Connected{Reconnect: false}.
func (c *Client) Events(ctx context.Context, opt StreamOptions) (*EventStream, error) {
	if c.app == "" {
		return nil, errors.New("ari events: no app name configured")
	}
	opt = opt.withDefaults()
	conn, err := c.dialEvents(ctx, opt.SubscribeAll)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	s := &EventStream{
		c:      c,
		opt:    opt,
		log:    c.log.WithField("app", c.app),
		parent: ctx,
		ctx:    sctx,
		cancel: cancel,
		out:    make(chan Event),
		done:   make(chan struct{}),
		q:      eventQueue{wake: make(chan struct{}, 1)},
	}
	s.q.log = s.log
	s.q.push(s.connected(false))
	s.log.Info("ari events connected")

	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer s.q.finish()
		s.run(conn)
	}()
	go func() {
		defer wg.Done()
		s.deliver()
	}()
	go func() {
		wg.Wait()
		cancel()
		close(s.done)
	}()
	return s, nil
}

// C delivers the events in the order Asterisk sent them, with the synthetic
// Connected/Disconnected in place. It is closed when the stream ends.
func (s *EventStream) C() <-chan Event { return s.out }

// Done is closed once every goroutine of the stream has returned.
func (s *EventStream) Done() <-chan struct{} { return s.done }

// Close stops the stream, sending Asterisk a close frame, and waits for its
// goroutines. Events not yet received from C are dropped.
func (s *EventStream) Close() error {
	s.cancel()
	<-s.done
	return nil
}

// Err says why the stream ended: ErrApplicationReplaced when another consumer
// took the app over, the context's error when it was cancelled, nil after
// Close or while it runs.
func (s *EventStream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *EventStream) setErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

func (s *EventStream) connected(reconnect bool) *Connected {
	return &Connected{
		EventBase: EventBase{Type: TypeConnected, Application: s.c.app, Timestamp: Time{s.c.clock.Now()}},
		Reconnect: reconnect,
	}
}

// run reads from conn, and from its replacements, until the stream stops.
func (s *EventStream) run(conn *websocket.Conn) {
	failures := 0
	for {
		up := time.Now()
		err := s.serve(conn)
		switch {
		case errors.Is(err, ErrApplicationReplaced):
			s.log.Error("ari application taken over by another consumer; vhold stops acting on this Asterisk")
			s.setErr(ErrApplicationReplaced)
			return
		case s.ctx.Err() != nil:
			if s.parent.Err() != nil {
				s.setErr(s.parent.Err())
			}
			return
		}
		if time.Since(up) >= s.opt.MaxBackoff {
			failures = 0
		}
		s.log.WithError(err).Warn("ari events disconnected; reconnecting")
		s.q.push(&Disconnected{
			EventBase: EventBase{Type: TypeDisconnected, Application: s.c.app, Timestamp: Time{s.c.clock.Now()}},
			Err:       err,
		})
		conn = s.reconnect(&failures)
		if conn == nil {
			if s.parent.Err() != nil {
				s.setErr(s.parent.Err())
			}
			return
		}
		s.log.Info("ari events reconnected")
		s.q.push(s.connected(true))
	}
}

// reconnect dials until it succeeds or the stream stops (nil).
func (s *EventStream) reconnect(failures *int) *websocket.Conn {
	for {
		wait := s.opt.Jitter(s.opt.backoff(*failures))
		*failures++
		t := s.c.clock.NewTimer(wait)
		select {
		case <-s.ctx.Done():
			t.Stop()
			return nil
		case <-t.C():
		}
		conn, err := s.c.dialEvents(s.ctx, s.opt.SubscribeAll)
		if err == nil {
			return conn
		}
		if s.ctx.Err() != nil {
			return nil
		}
		entry := s.log.WithError(err).WithField("attempt", *failures)
		if errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrBadRequest) {
			// Asterisk is there but refuses us: configuration, not weather.
			entry.Error("ari events reconnect refused")
		} else {
			entry.Warn("ari events reconnect failed")
		}
	}
}

// serve reads one connection until it fails or the stream stops. A helper
// goroutine, waited for before serve returns, pings the server and closes
// the connection when the stream stops; the read itself is never cancelled
// by context, because coder/websocket closes the connection without a close
// frame when a read's context ends.
func (s *EventStream) serve(conn *websocket.Conn) error {
	cctx, stop := context.WithCancel(s.ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.keepAlive(cctx, conn)
	}()
	defer func() {
		stop()
		wg.Wait()
	}()

	for {
		_, data, err := conn.Read(context.Background())
		if err != nil {
			return fmt.Errorf("ari events: read: %w", err)
		}
		ev, err := Decode(data)
		if err != nil {
			s.log.WithError(err).WithField("bytes", len(data)).Warn("ari event dropped")
			continue
		}
		if u, ok := ev.(*Unknown); ok {
			s.log.WithField("type", u.Type).Debug("ari event of a type vhold does not decode")
		}
		s.q.push(ev)
		if _, ok := ev.(*ApplicationReplaced); ok {
			// The old socket gets nothing more, although its TCP connection
			// stays open (traces/disconnect.jsonl C); reconnecting would
			// take the app back from the new consumer.
			return ErrApplicationReplaced
		}
	}
}

// keepAlive pings conn until ctx ends, then closes conn politely. A failed
// ping closes it at once, which ends serve's read.
func (s *EventStream) keepAlive(ctx context.Context, conn *websocket.Conn) {
	var tick <-chan time.Time
	if s.opt.PingInterval > 0 {
		t := time.NewTicker(s.opt.PingInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			_ = conn.Close(websocket.StatusNormalClosure, "")
			return
		case <-tick:
			pctx, cancel := context.WithTimeout(ctx, s.opt.PingTimeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				s.log.WithError(err).Warn("ari events ping failed; dropping the connection")
				_ = conn.CloseNow()
				return
			}
		}
	}
}

// deliver hands queued events to C in order until the queue is finished and
// empty, or the stream stops.
func (s *EventStream) deliver() {
	defer close(s.out)
	for {
		ev, ok, more := s.q.pop()
		if ok {
			select {
			case s.out <- ev:
			case <-s.ctx.Done():
				return
			}
			continue
		}
		if !more {
			return
		}
		select {
		case <-s.q.wake:
		case <-s.ctx.Done():
			return
		}
	}
}

// eventQueue is the unbounded FIFO between reader and deliverer.
type eventQueue struct {
	mu       sync.Mutex
	items    []Event
	finished bool
	warned   bool
	wake     chan struct{}
	log      *logrus.Entry
}

// slowConsumer is the backlog at which the queue warns once.
const slowConsumer = 10000

func (q *eventQueue) push(e Event) {
	q.mu.Lock()
	q.items = append(q.items, e)
	if len(q.items) >= slowConsumer && !q.warned && q.log != nil {
		q.warned = true
		q.log.WithField("backlog", len(q.items)).Warn("ari events are not being consumed")
	}
	q.mu.Unlock()
	q.signal()
}

func (q *eventQueue) finish() {
	q.mu.Lock()
	q.finished = true
	q.mu.Unlock()
	q.signal()
}

func (q *eventQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pop returns the next event (ok), or reports whether more may come.
func (q *eventQueue) pop() (ev Event, ok, more bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		q.items = nil
		return nil, false, !q.finished
	}
	ev = q.items[0]
	q.items[0] = nil
	q.items = q.items[1:]
	if len(q.items) < slowConsumer/2 {
		q.warned = false
	}
	return ev, true, true
}

// eventsURL is the WebSocket URL of the app's events. It carries the
// credentials (api_key), so it is never logged; see redact.
func (c *Client) eventsURL(subscribeAll bool) (string, error) {
	u, err := url.Parse(c.base + "/events")
	if err != nil {
		return "", fmt.Errorf("ari events: base URL %q: %w", c.base, err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("ari events: base URL %q: scheme must be http or https", c.base)
	}
	u.RawQuery = url.Values{
		"app":          {c.app},
		"api_key":      {c.user + ":" + c.pass},
		"subscribeAll": {fmt.Sprint(subscribeAll)},
	}.Encode()
	return u.String(), nil
}

// dialEvents opens one WebSocket, within the client's request timeout. A
// refused upgrade becomes an *Error with Asterisk's status and message.
func (c *Client) dialEvents(ctx context.Context, subscribeAll bool) (*websocket.Conn, error) {
	u, err := c.eventsURL(subscribeAll)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	conn, resp, err := websocket.Dial(dctx, u, &websocket.DialOptions{HTTPClient: c.http})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			var body []byte
			if resp.Body != nil {
				body, _ = io.ReadAll(resp.Body)
			}
			return nil, fmt.Errorf("ari events: connect: %w", newError(resp.StatusCode, http.MethodGet, "/events", body))
		}
		return nil, fmt.Errorf("ari events: connect: %w", c.redact(err))
	}
	conn.SetReadLimit(readLimit)
	return conn, nil
}

// redactedError hides the api_key in a wrapped error's text (net/http puts
// the whole URL in its errors) while keeping the chain for errors.Is.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func (c *Client) redact(err error) error {
	msg := err.Error()
	secret := c.user + ":" + c.pass
	clean := strings.ReplaceAll(msg, url.QueryEscape(secret), "REDACTED")
	clean = strings.ReplaceAll(clean, secret, "REDACTED")
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}
