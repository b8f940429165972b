package freeswitch

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/percipia/eslgo"
	"github.com/percipia/eslgo/command"
	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/clock"
)

// Errors of the connection, for callers (vhold check) and for the flows.
var (
	// ErrRefused: nothing listens on the event socket's address.
	ErrRefused = errors.New("connection refused")
	// ErrAuth: the event socket refused the password.
	ErrAuth = errors.New("authentication failed")
	// ErrNotESL: something answered on the address, but not an event
	// socket (no auth/request greeting).
	ErrNotESL = errors.New("not a FreeSWITCH event socket")
	// errLinkLost: the command may or may not have reached FreeSWITCH; the
	// connection it was sent on is gone.
	errLinkLost = errors.New("connection to FreeSWITCH lost")
	// errNoLink: no connection came up in time for the command.
	errNoLink = errors.New("no connection to FreeSWITCH")
)

// replyError is a reply that says a command failed: "-ERR …", "-USAGE: …",
// "-ERROR" (traces README fact 4; 06-errors table).
type replyError struct {
	Command string
	Text    string
}

func (e *replyError) Error() string {
	return fmt.Sprintf("%s: FreeSWITCH answered %q", e.Command, e.Text)
}

// failed reports whether a reply is a failure. Success is "+OK…" or, for
// getters, a bare value ("playback", "true"): only the three error prefixes
// FreeSWITCH uses mean failure, so a getter's value is never mistaken for
// one (eslgo's IsOk would call "true" a failure: traces README, gotchas).
func failed(reply string) bool {
	return strings.HasPrefix(reply, "-ERR") || strings.HasPrefix(reply, "-USAGE") || strings.HasPrefix(reply, "-ERROR")
}

// noChannel reports whether a failed reply means the channel does not
// exist (any more): the flows' pbx.ErrHungUp. Each api command words it its
// own way (06-errors table).
func noChannel(reply string) bool {
	switch {
	case strings.HasPrefix(reply, "-ERR No such channel"), // uuid_kill, uuid_break, uuid_getvar, uuid_setvar
		reply == "-ERROR", // uuid_answer
		strings.EqualFold(reply, "-ERR invalid uuid"),          // uuid_broadcast ("invalid"), uuid_bridge ("Invalid")
		strings.HasPrefix(reply, "-ERR Cannot locate session"), // uuid_record (FreeSWITCH source)
		strings.HasPrefix(reply, "-ERR invalid session id"):    // sendmsg
		return true
	}
	return false
}

// raw is an ESL command eslgo sends as written. eslgo's own command types
// cannot add headers under an api line (the Job-UUID of a bgapi, traces
// README fact 6), and its originate helpers send "bgapi bgapi" and drop
// origination_uuid (gotchas), so every command vhold sends is built here.
type raw string

func (r raw) BuildMessage() string { return string(r) }

// clean refuses a command text that would break the framing: a newline in
// an api argument ends the command and starts headers (or another
// command). Everything vhold sends comes from its configuration and its
// own ids, but a dial string carries a number a caller keyed.
func clean(s string) error {
	if strings.ContainsAny(s, "\r\n") {
		return fmt.Errorf("command %q: contains a line break", s)
	}
	return nil
}

// link is one authenticated inbound connection, with its subscription.
//
// eslgo does not match replies to requests: every waiter takes the next
// reply off one shared channel, so two commands in flight can swap replies,
// and one command given up on (a timeout) shifts every later reply by one
// (06-errors (f)). A link therefore sends one command at a time (sem), never
// gives up on a reply it is owed (the caller's context only bounds the wait
// for its turn), and a reply that does not come within CommandTimeout kills
// the link: Serve then closes it and connects again.
type link struct {
	s     *Switch
	conn  *eslgo.Conn
	nc    net.Conn // eslgo's socket (detach), nil if it could not be reached
	epoch int
	stop  context.CancelFunc // ends eslgo's goroutines (its Options.Context)

	sem  chan struct{} // one command in flight
	dead chan struct{} // closed by kill
	once sync.Once
	mu   sync.Mutex
	why  error
	// inflight ends the wait for the reply of the command being sent,
	// when the link is closed under it.
	inflight context.CancelFunc
}

// kill marks the link broken; Serve closes it and reconnects.
func (l *link) kill(why error) {
	l.once.Do(func() {
		l.mu.Lock()
		l.why = why
		l.mu.Unlock()
		close(l.dead)
	})
}

func (l *link) err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.why
}

func (l *link) alive() bool {
	select {
	case <-l.dead:
		return false
	default:
		return true
	}
}

// close ends the connection: eslgo's goroutines stop with their context,
// a command waiting for its reply is released, and the socket is closed
// (see detach); FreeSWITCH ends its listener when the socket closes
// (06-errors: in#5).
func (l *link) close() {
	l.kill(errors.New("closed by vhold"))
	l.stop()
	l.mu.Lock()
	if l.inflight != nil {
		l.inflight()
	}
	l.mu.Unlock()
	if l.nc != nil {
		_ = l.nc.Close()
	} else {
		l.conn.Close()
	}
}

// detach takes the closing of c away from eslgo and returns its socket.
//
// eslgo v1.5.0's Conn.close deletes from and closes its response channels
// while three of its goroutines read that map without the lock (authLoop
// and disconnectLoop as they wait, receiveLoop when it meets EOF): the race
// detector reports it on every close, and receiveLoop, finding EOF as
// FreeSWITCH drops the connection while vhold closes it, can send on a
// channel close has just closed, which panics. So eslgo's close must never
// run: its sync.Once is spent here on a no-op (Close, and the Close its
// disconnectLoop calls on a disconnect notice or EOF, then do nothing), and
// link.close ends the connection the way close would minus the map: cancel
// eslgo's context, which stops authLoop, disconnectLoop and eventLoop, and
// close the socket, which ends receiveLoop with a non-EOF error that
// touches nothing. The fields are read by reflection, checked by name and
// type; if eslgo changes shape, nil is returned and vhold falls back to
// eslgo's own Close.
func detach(c *eslgo.Conn) net.Conn {
	v := reflect.ValueOf(c).Elem()
	conn, once := v.FieldByName("conn"), v.FieldByName("closeOnce")
	if !conn.IsValid() || conn.Type() != reflect.TypeFor[net.Conn]() || !once.IsValid() || once.Type() != reflect.TypeFor[sync.Once]() {
		return nil
	}
	nc := *(*net.Conn)(unsafe.Pointer(conn.UnsafeAddr()))
	if nc == nil {
		return nil
	}
	(*sync.Once)(unsafe.Pointer(once.UnsafeAddr())).Do(func() {})
	return nc
}

// send runs one command and returns the reply text: Reply-Text of a
// command/reply, the body of an api/response, trimmed of its newline. An
// error is errLinkLost (the reply will never come, the link is dead) or
// ctx's error while waiting for the turn.
func (l *link) send(ctx context.Context, c command.Command) (string, error) {
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	case <-l.dead:
		return "", fmt.Errorf("%w: %v", errLinkLost, l.err())
	}
	defer func() { <-l.sem }()
	if !l.alive() {
		return "", fmt.Errorf("%w: %v", errLinkLost, l.err())
	}
	// Not the caller's context: a reply given up on shifts all later ones.
	// The timer is the injected clock's; it also kills the link, so Serve
	// closes the socket and unblocks a write stuck on a peer that stopped
	// reading (eslgo sets no write deadline without a context deadline).
	cctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l.mu.Lock()
	l.inflight = cancel
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.inflight = nil
		l.mu.Unlock()
	}()
	t := l.s.o.Clock.AfterFunc(l.s.o.CommandTimeout, func() {
		cancel()
		l.kill(fmt.Errorf("no reply to %q within %s", firstLine(c.BuildMessage()), l.s.o.CommandTimeout))
	})
	resp, err := l.conn.SendCommand(cctx, c)
	t.Stop()
	if err != nil {
		l.kill(fmt.Errorf("%s: %w", firstLine(c.BuildMessage()), err))
		return "", fmt.Errorf("%w: %v", errLinkLost, err)
	}
	var reply string
	if resp.HasHeader("Reply-Text") {
		reply = resp.GetHeader("Reply-Text")
	} else {
		reply = string(resp.Body)
	}
	return strings.TrimRight(reply, "\r\n"), nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}

// greet checks, on a connection of its own, that an event socket answers
// at addr and takes the password, and returns the server's version line.
// It runs before every eslgo Dial because eslgo's Dial waits for the
// auth/request greeting with no timeout at all (a port that accepts and
// says nothing blocks it for ever), and because after a wrong password it
// spends its 5 s ExitTimeout on a socket FreeSWITCH has already closed
// (06-errors (a)). Here each step is bounded by timeout on the injected
// clock, and the three failures are told apart for `vhold check`.
func greet(ctx context.Context, clk clock.Clock, addr, password string, timeout time.Duration) (string, error) {
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t := clk.AfterFunc(timeout, cancel)
	defer t.Stop()
	var d net.Dialer
	nc, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return "", fmt.Errorf("event socket %s: %w", addr, ErrRefused)
		}
		if dctx.Err() != nil && ctx.Err() == nil {
			return "", fmt.Errorf("event socket %s: no connection within %s", addr, timeout)
		}
		return "", fmt.Errorf("event socket %s: %w", addr, err)
	}
	// The same timer bounds the conversation: closing the socket ends a
	// read that waits for ever.
	var closed sync.Once
	shut := func() { closed.Do(func() { _ = nc.Close() }) }
	defer shut()
	t2 := clk.AfterFunc(timeout, shut)
	defer t2.Stop()
	stop := context.AfterFunc(ctx, shut)
	defer stop()
	br := bufio.NewReader(nc)
	h, _, err := readFrame(br)
	if err != nil || h.Get("Content-Type") != "auth/request" {
		return "", fmt.Errorf("event socket %s: %w (greeting: %v %v)", addr, ErrNotESL, h.Get("Content-Type"), err)
	}
	if _, err := io.WriteString(nc, "auth "+password+"\n\n"); err != nil {
		return "", fmt.Errorf("event socket %s: send auth: %w", addr, err)
	}
	h, _, err = readFrame(br)
	if err != nil {
		return "", fmt.Errorf("event socket %s: no answer to auth: %w", addr, err)
	}
	if reply := h.Get("Reply-Text"); !strings.HasPrefix(reply, "+OK") {
		return "", fmt.Errorf("event socket %s: %w (%s)", addr, ErrAuth, reply)
	}
	version := ""
	if _, err := io.WriteString(nc, "api version\n\n"); err == nil {
		if h, body, err := readFrame(br); err == nil && h.Get("Content-Type") == "api/response" {
			version = strings.TrimSpace(string(body))
		}
	}
	_, _ = io.WriteString(nc, "exit\n\n")
	return version, nil
}

// readFrame reads one ESL message: a header block, then Content-Length
// bytes of body (traces README fact 1). Events are skipped by the caller
// (none are subscribed on greet's connection).
func readFrame(br *bufio.Reader) (textproto.MIMEHeader, []byte, error) {
	h, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil {
		return h, nil, err
	}
	var body []byte
	if cl := h.Get("Content-Length"); cl != "" {
		n, err := strconv.Atoi(cl)
		if err != nil || n < 0 {
			return h, nil, fmt.Errorf("bad Content-Length %q", cl)
		}
		body = make([]byte, n)
		if _, err := io.ReadFull(br, body); err != nil {
			return h, nil, err
		}
	}
	return h, body, nil
}

// Check tells whether an event socket answers at addr and takes password,
// for `vhold check`: it returns FreeSWITCH's version line, or an error
// wrapping ErrRefused, ErrAuth or ErrNotESL (or a timeout).
func Check(ctx context.Context, addr, password string, timeout time.Duration) (string, error) {
	return greet(ctx, clock.Real{}, addr, password, timeout)
}

// eslLogger sends eslgo's own messages to the Switch's log at debug level:
// eslgo logs every connection and every unhandled reply, which is noise in
// vhold's log; what matters is reported by the adapter itself.
type eslLogger struct{ log *logrus.Entry }

func (l eslLogger) Debug(format string, args ...any) { l.debug(format, args) }
func (l eslLogger) Info(format string, args ...any)  { l.debug(format, args) }
func (l eslLogger) Warn(format string, args ...any)  { l.debug(format, args) }
func (l eslLogger) Error(format string, args ...any) { l.debug(format, args) }

func (l eslLogger) debug(format string, args []any) {
	l.log.Debugf(strings.TrimSpace(format), args...)
}
