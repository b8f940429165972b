package esltest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// conn is one Event Socket connection: an inbound client that dialled
// Server.Addr, or an outbound one the socket application dialled.
type conn struct {
	s    *Server
	id   int
	name string // "in#1", "out#1": how the traces name connections
	raw  net.Conn

	// outbound mode: the channel whose socket application made it.
	session   *channel
	connected bool // the outbound client sent connect
	async     bool
	full      bool

	authed bool
	// subscriptions (mod_event_socket's listener flags and event list)
	format   string // "plain", "json" or "xml"; "" before any event command
	all      bool
	events   map[string]bool
	subs     map[string]bool // CUSTOM subclasses
	myevents string          // Unique-ID filter of myevents
	filters  []header
	linger   int // seconds; 0 no linger
	lingered bool
	logLevel int // 0: no log

	// output, guarded by s.mu
	out     [][]byte
	signal  chan struct{}
	closing bool     // close the socket once out is written
	gone    bool     // the socket is closed
	busy    bool     // a command is executing: events wait in held
	handled int      // commands read and started, for the trace replays
	logq    [][]byte // log lines ready to write
	logNext [][]byte // log lines the running command produced
	held    [][]byte
	done    chan struct{} // closed when the executing command has answered
}

// newConn registers a connection; the caller holds the lock and then calls
// run without it. An inbound connection is greeted with auth/request
// (every inbound connection of every trace); an outbound one waits for
// connect (05-outbound-mode.esl.txt).
func (s *Server) newConn(nc net.Conn, session *channel) *conn {
	s.connSeq++
	c := &conn{s: s, id: s.connSeq, raw: nc, session: session, signal: make(chan struct{}, 1),
		events: map[string]bool{}, subs: map[string]bool{}}
	if session != nil {
		c.name = fmt.Sprintf("out#%d", c.id)
		c.authed = true // the socket application's listener is authed (LFLAG_AUTHED)
	} else {
		c.name = fmt.Sprintf("in#%d", c.id)
		c.send(authRequest())
	}
	s.conns[c] = struct{}{}
	s.logf("%s: connected", c.name)
	return c
}

// run starts the connection's reader and writer goroutines; the caller
// does not hold the lock.
func (c *conn) run() {
	c.s.wg.Add(2)
	go func() {
		defer c.s.wg.Done()
		c.writer()
	}()
	go func() {
		defer c.s.wg.Done()
		c.reader()
	}()
}

// send queues bytes for the writer; the caller holds the lock.
func (c *conn) send(b []byte) {
	if c.gone || c.closing {
		return
	}
	c.out = append(c.out, b)
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

// deliver queues an event or log line. While a command executes the
// connection's thread cannot write events, so they wait until its reply
// is out: that is why uuid_answer's reply comes before its CHANNEL_ANSWER
// and a failed foreground originate's -ERR before the leg's events
// (01-inbound-dtmf.timeline.tsv 0.151; 04-originate-fail.timeline.tsv
// 0.830).
func (c *conn) deliver(b []byte) {
	if c.busy {
		c.held = append(c.held, b)
		return
	}
	c.send(b)
}

// finish answers the executing command and releases the events it held.
func (c *conn) finish(reply []byte) {
	if reply != nil {
		c.send(reply)
	}
	for _, b := range c.held {
		c.send(b)
	}
	c.held = nil
	// Lines logged while this command ran reach the listener's queue after
	// its reply: they go out after the next reply, or when the connection
	// is idle (flushLogs' timer).
	c.flushLogs()
	c.logq, c.logNext = c.logNext, nil
	c.busy = false
	if c.done != nil {
		close(c.done)
		c.done = nil
	}
}

// hangUpSocket closes the connection after what is queued.
func (c *conn) hangUpSocket() {
	if c.gone {
		return
	}
	c.closing = true
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

// writer writes queued bytes in order.
func (c *conn) writer() {
	for {
		c.s.mu.Lock()
		out := c.out
		c.out = nil
		closing := c.closing
		c.s.mu.Unlock()
		for _, b := range out {
			if _, err := c.raw.Write(b); err != nil {
				c.s.lock()
				c.closed("write: " + err.Error())
				c.s.unlock()
				return
			}
		}
		if closing && len(out) == 0 {
			_ = c.raw.Close()
			c.s.lock()
			c.closed("closed by FreeSWITCH")
			c.s.unlock()
			return
		}
		if len(out) > 0 {
			continue
		}
		select {
		case <-c.signal:
		case <-c.s.done:
			return
		}
	}
}

// reader reads the client's commands one at a time: FreeSWITCH's listener
// thread executes a command before it reads the next, so commands
// pipelined behind a slow one wait (06-errors.esl.txt (f): msleep 1500,
// then global_getvar's reply).
func (c *conn) reader() {
	br := bufio.NewReader(c.raw)
	for {
		m, err := readMessage(br)
		if err != nil {
			c.s.lock()
			if err == io.EOF && !c.gone && !c.closing {
				// The client closed its side: FreeSWITCH's listener ends
				// and still says goodbye (06-errors.esl.txt in#5: the
				// disconnect notice after eslgo's reader had died and the
				// client closed the socket).
				if c.session != nil {
					c.send(outboundDisconnect(c.session.uuid))
				} else {
					c.send(disconnectNotice())
				}
				c.hangUpSocket()
				if ch := c.session; ch != nil && ch.outbound == c {
					c.s.socketGone(ch)
				}
			} else {
				c.closed("read: " + err.Error())
			}
			c.s.unlock()
			return
		}
		c.s.lock()
		if c.gone || c.closing {
			c.s.unlock()
			continue
		}
		done := make(chan struct{})
		c.done = done
		c.busy = true
		c.handle(m)
		c.handled++
		c.s.unlock()
		select {
		case <-done:
		case <-c.s.done:
			return
		}
	}
}

// closed forgets a connection whose socket is gone.
func (c *conn) closed(why string) {
	if c.gone {
		return
	}
	c.gone = true
	_ = c.raw.Close()
	delete(c.s.conns, c)
	c.s.logf("%s: %s", c.name, why)
	if c.done != nil {
		close(c.done)
		c.done = nil
	}
	if ch := c.session; ch != nil && ch.outbound == c {
		c.s.socketGone(ch)
	}
}

// DropConnection cuts every inbound connection's socket without a
// disconnect notice, as a network failure or a FreeSWITCH restart of
// mod_event_socket would. Calls are untouched: channels belong to
// FreeSWITCH's sessions, not to the inbound socket (mod_event_socket
// removes only the listener), so a client that reconnects finds them with
// show channels and uuid_exists. No trace shows a drop; this follows
// mod_event_socket's source. It returns how many connections it cut.
func (s *Server) DropConnection() int {
	s.lock()
	defer s.unlock()
	n := 0
	for c := range s.conns {
		if c.session == nil {
			_ = c.raw.Close()
			c.closed("dropped by the test")
			n++
		}
	}
	return n
}

// Connections is the number of open inbound connections.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.conns {
		if c.session == nil {
			n++
		}
	}
	return n
}

// fire sends an event to every connection that subscribed to it, in
// connection order.
func (s *Server) fire(e *event) {
	var plain, js []byte
	for _, c := range s.connList() {
		if !c.wants(e) {
			continue
		}
		switch c.format {
		case "json":
			if js == nil {
				js = e.json()
			}
			c.deliver(js)
		default:
			if plain == nil {
				plain = e.plain()
			}
			c.deliver(plain)
		}
	}
}

// connList lists the open connections in the order they were made.
func (s *Server) connList() []*conn {
	out := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].id < out[j-1].id; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// myEventsList is what myevents subscribes to (mod_event_socket.c in
// FreeSWITCH 1.10; consistent with 05-outbound-mode, where PLAYBACK_* and
// CHANNEL_CALLSTATE never arrive but CHANNEL_STATE, DTMF and the
// CHANNEL_EXECUTE* do).
var myEventsList = []string{
	"CHANNEL_ANSWER", "CHANNEL_APPLICATION", "CHANNEL_BRIDGE", "CHANNEL_CREATE", "CHANNEL_DATA",
	"CHANNEL_DESTROY", "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP",
	"CHANNEL_HANGUP_COMPLETE", "CHANNEL_ORIGINATE", "CHANNEL_UUID", "CHANNEL_OUTGOING",
	"CHANNEL_PARK", "CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA", "CHANNEL_STATE",
	"CHANNEL_UNBRIDGE", "CHANNEL_UNPARK", "DETECTED_SPEECH", "DTMF", "NOTALK", "TALK",
}

// wants says whether the connection's subscription takes e
// (mod_event_socket's event_handler: the event list or ALL, CUSTOM
// subclasses, the myevents Unique-ID match, then the filters).
func (c *conn) wants(e *event) bool {
	if c.gone || !c.authed || c.format == "" {
		return false
	}
	if c.lingered {
		// After the linger notice the outbound socket gets nothing more:
		// not even the channel's CHANNEL_DESTROY (05-outbound-mode.esl.txt
		// ends with the notice).
		return false
	}
	send := c.all
	if !send && c.events[e.name] {
		send = e.name != "CUSTOM" || e.sub == "" || c.subs[e.sub]
	}
	if !send {
		return false
	}
	if c.myevents != "" && e.uuid != c.myevents {
		return false
	}
	if len(c.filters) > 0 {
		// filter: an event passes when one of the filters matches it
		// (FreeSWITCH 1.10 source; no trace uses filter).
		ok := false
		for _, f := range c.filters {
			if v := e.get(f.name); v != "" && (f.value == "" || v == f.value) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// handle executes one client message; the caller holds the lock and has
// set c.busy. The command must end with c.finish (at once, or later for a
// command that takes time).
func (c *conn) handle(m *message) {
	s := c.s
	line := m.command()
	cmd, arg, _ := strings.Cut(line, " ")
	s.logf("%s: >>> %s", c.name, line)
	lc := strings.ToLower(cmd)

	// exit works before auth too (mod_event_socket parse_command).
	if lc == "exit" {
		c.exit()
		return
	}
	if !c.authed {
		if lc == "auth" {
			if arg == s.opts.Password {
				c.authed = true
				c.finish(commandReply("+OK accepted"))
				return
			}
			// 06-errors.esl.txt (a): -ERR invalid, a disconnect notice,
			// and the socket closes.
			c.finish(commandReply("-ERR invalid"))
			c.send(disconnectNotice())
			c.hangUpSocket()
			return
		}
		// 06-errors.esl.txt (b): anything else before auth.
		c.finish(commandReply("-ERR command not found"))
		return
	}
	if c.session != nil && !c.connected && lc != "connect" {
		// An outbound client must start with connect; FreeSWITCH gives up
		// on the socket otherwise (mod_event_socket reads one packet).
		c.finish(commandReply("-ERR command not found"))
		return
	}

	switch lc {
	case "connect":
		if c.session == nil {
			break
		}
		c.connect()
		return
	case "getvar":
		if c.session == nil {
			break
		}
		v, _ := c.session.vars.get(strings.TrimSpace(arg))
		c.finish(commandReply(v))
		return
	case "myevents":
		c.myEvents(arg)
		return
	case "linger":
		n := 600
		if arg != "" {
			if v, err := strconv.Atoi(strings.TrimSpace(arg)); err == nil {
				n = v
			}
		}
		c.linger = n
		// 05-outbound-mode.esl.txt: "+OK will linger 5 seconds".
		c.finish(commandReply(fmt.Sprintf("+OK will linger %d seconds", n)))
		return
	case "nolinger":
		c.linger = 0
		c.finish(commandReply("+OK will not linger"))
		return
	case "event":
		c.subscribe(arg)
		return
	case "nixevent":
		c.nixEvent(arg)
		return
	case "noevents":
		if c.format == "" {
			c.finish(commandReply("-ERR not listening for events"))
			return
		}
		c.format, c.all = "", false
		c.events, c.subs = map[string]bool{}, map[string]bool{}
		c.finish(commandReply("+OK no longer listening for events"))
		return
	case "filter":
		c.filter(arg)
		return
	case "divert_events":
		if strings.EqualFold(strings.TrimSpace(arg), "on") {
			c.finish(commandReply("+OK events diverted"))
		} else {
			c.finish(commandReply("+OK events not diverted"))
		}
		return
	case "log":
		c.logCmd(arg)
		return
	case "nolog":
		if c.logLevel == 0 {
			c.finish(commandReply("-ERR not loging"))
			return
		}
		c.logLevel = 0
		c.finish(commandReply("+OK no longer logging"))
		return
	case "api":
		c.api(arg)
		return
	case "bgapi":
		c.bgapi(arg, m)
		return
	case "sendmsg":
		c.sendmsg(arg, m)
		return
	case "sendevent":
		c.sendevent(arg, m)
		return
	case "resume":
		if c.session != nil {
			c.finish(commandReply("+OK"))
			return
		}
	}
	// 06-errors.esl.txt (b), "foobar": an unknown verb.
	c.finish(commandReply("-ERR command not found"))
}

// exit: "+OK bye", then the disconnect notice, and FreeSWITCH closes the
// socket (01-inbound-dtmf.esl.txt; 05-outbound-mode.esl.txt names the
// session in the notice).
func (c *conn) exit() {
	c.finish(commandReply("+OK bye"))
	if c.session != nil {
		c.send(outboundDisconnect(c.session.uuid))
	} else {
		c.send(disconnectNotice())
	}
	c.hangUpSocket()
	if ch := c.session; ch != nil && ch.outbound == c {
		c.s.socketGone(ch)
	}
}

// subscribe is "event <format> <names...>". The format applies to the whole
// connection: after "event json" even the plain subscriptions arrive as
// JSON (06-errors.esl.txt (e)). The reply names the format
// (01-inbound-dtmf.esl.txt: "+OK event listener enabled plain"/"json").
func (c *conn) subscribe(arg string) {
	words := strings.Fields(arg)
	if len(words) > 0 {
		switch strings.ToLower(words[0]) {
		case "plain", "json", "xml":
			c.format = strings.ToLower(words[0])
			words = words[1:]
		}
	}
	keys := 0
	custom := false
	for _, w := range words {
		if custom {
			c.subs[w] = true
			continue
		}
		name := strings.ToUpper(w)
		if !knownEvent(name) {
			continue
		}
		keys++
		if name == "ALL" {
			c.all = true
			continue
		}
		c.events[name] = true
		if name == "CUSTOM" {
			custom = true
		}
	}
	if keys == 0 {
		c.finish(commandReply("-ERR no keywords supplied"))
		return
	}
	if c.format == "" {
		c.format = "plain"
	}
	c.finish(commandReply("+OK event listener enabled " + c.format))
}

// nixEvent drops event names (mod_event_socket source; not traced).
func (c *conn) nixEvent(arg string) {
	keys := 0
	custom := false
	for _, w := range strings.Fields(arg) {
		if custom {
			delete(c.subs, w)
			continue
		}
		name := strings.ToUpper(w)
		if !knownEvent(name) {
			continue
		}
		keys++
		switch name {
		case "CUSTOM":
			custom = true
		case "ALL":
			c.all = false
			c.events = map[string]bool{}
		default:
			if c.all {
				c.all = false
				for _, n := range eventNames {
					c.events[n] = true
				}
			}
			delete(c.events, name)
		}
	}
	if keys == 0 {
		c.finish(commandReply("-ERR no keywords supplied"))
		return
	}
	c.finish(commandReply("+OK events nixed"))
}

// myEvents subscribes to one channel's events: on an outbound connection
// its own (05-outbound-mode.esl.txt: "myevents plain", "+OK Events
// Enabled"); on an inbound one "myevents <uuid> [format]".
func (c *conn) myEvents(arg string) {
	words := strings.Fields(arg)
	uuid := ""
	if c.session != nil {
		uuid = c.session.uuid
	} else if len(words) > 0 {
		uuid, words = words[0], words[1:]
		if c.s.live(uuid) == nil {
			c.finish(commandReply("-ERR invalid uuid"))
			return
		}
	} else {
		c.finish(commandReply("-ERR invalid uuid"))
		return
	}
	c.format = "plain"
	if len(words) > 0 {
		switch strings.ToLower(words[0]) {
		case "json", "xml":
			c.format = strings.ToLower(words[0])
		}
	}
	c.myevents = uuid
	for _, n := range myEventsList {
		c.events[n] = true
	}
	c.finish(commandReply("+OK Events Enabled"))
}

// filter adds or deletes an event filter (mod_event_socket source; the
// traces README lists ESL filter as not captured).
func (c *conn) filter(arg string) {
	words := strings.SplitN(strings.TrimSpace(arg), " ", 2)
	if len(words) == 0 || words[0] == "" {
		c.finish(commandReply("-ERR invalid syntax"))
		return
	}
	if strings.EqualFold(words[0], "delete") {
		rest := ""
		if len(words) > 1 {
			rest = words[1]
		}
		name, value, _ := strings.Cut(rest, " ")
		if strings.EqualFold(name, "all") || name == "" {
			c.filters = nil
			c.finish(commandReply("+OK filter deleted. [all]=[]"))
			return
		}
		var kept []header
		for _, f := range c.filters {
			if f.name == name && (value == "" || f.value == value) {
				continue
			}
			kept = append(kept, f)
		}
		c.filters = kept
		c.finish(commandReply(fmt.Sprintf("+OK filter deleted. [%s]=[%s]", name, value)))
		return
	}
	value := ""
	if len(words) > 1 {
		value = words[1]
	}
	c.filters = append(c.filters, header{words[0], value})
	c.finish(commandReply(fmt.Sprintf("+OK filter added. [%s]=[%s]", words[0], value)))
}

// logLevels are FreeSWITCH's log level names.
var logLevels = map[string]int{"console": 0, "alert": 1, "crit": 2, "err": 3, "error": 3, "warning": 4, "notice": 5, "info": 6, "debug": 7}

// logCmd is "log <level>": "+OK log level 7 [7]" (06-errors.esl.txt (h)).
// From then on FreeSWITCH sends log/data messages, which stop eslgo's
// reader (traces README, eslgo gotchas).
func (c *conn) logCmd(arg string) {
	arg = strings.TrimSpace(arg)
	level := 7
	if arg != "" {
		if n, err := strconv.Atoi(arg); err == nil && n >= 0 && n <= 7 {
			level = n
		} else if n, ok := logLevels[strings.ToLower(arg)]; ok {
			level = n
		} else {
			c.finish(commandReply("-ERR invalid log level"))
			return
		}
	}
	c.logLevel = level
	if level == 0 {
		c.logLevel = -1 // console: on, but at level 0
	}
	c.finish(commandReply(fmt.Sprintf("+OK log level %s [%d]", arg, level)))
}

// logLine queues a log/data message for the connections logging at level
// or above, shaped as 06-errors.esl.txt (h) shows it. The listener thread
// writes queued log lines only when no command is waiting, so a command
// the client sends at once is answered first: in the trace the line of
// "api log" came after the reply to the next command, "api uptime".
func (s *Server) logLine(level int, file, fn string, line int, text string) {
	names := []string{"CONSOLE", "ALERT", "CRIT", "ERR", "WARNING", "NOTICE", "INFO", "DEBUG"}
	stamp := s.now().In(s.opts.Location).Format("2006-01-02 15:04:05.000000")
	body := fmt.Sprintf("%s 98.53%% [%s] %s:%d %s\n", stamp, names[level], file, line, text)
	msg := []byte(fmt.Sprintf("Content-Type: log/data\nContent-Length: %d\nLog-Level: %d\nText-Channel: 3\nLog-File: %s\nLog-Func: %s\nLog-Line: %d\nUser-Data: \n\n%s", len(body), level, file, fn, line, body))
	for _, c := range s.connList() {
		if c.logLevel != 0 && (c.logLevel >= level || c.logLevel == -1 && level == 0) {
			cc := c
			if c.busy {
				c.logNext = append(c.logNext, msg)
			} else {
				c.logq = append(c.logq, msg)
			}
			s.after(time.Millisecond, func() {
				if !cc.busy {
					cc.logq = append(cc.logq, cc.logNext...)
					cc.logNext = nil
					cc.flushLogs()
				}
			})
		}
	}
}

// flushLogs writes the queued log lines.
func (c *conn) flushLogs() {
	for _, b := range c.logq {
		c.send(b)
	}
	c.logq = nil
}

// sendevent fires a client's event: the reply carries the new Event-UUID,
// and the event keeps the client's headers, its subclass first, then
// Command, then Event-UUID and the base headers (06-errors.esl.txt (d)).
func (c *conn) sendevent(arg string, m *message) {
	s := c.s
	name := strings.ToUpper(strings.TrimSpace(arg))
	if name == "" || !knownEvent(name) {
		name = "CUSTOM"
	}
	e := &event{name: name}
	if sub, ok := m.get("Event-Subclass"); ok {
		e.sub = sub
		e.add("Event-Subclass", sub)
	}
	e.add("Command", m.command())
	for _, h := range m.headers[1:] {
		if strings.EqualFold(h.name, "Event-Subclass") {
			continue
		}
		e.add(h.name, h.value)
	}
	id := newUUID()
	e.add("Event-UUID", id)
	e.seq = s.nextSeq()
	e.addAll(s.baseHeaders(name, siteSendEvent, e.seq))
	if m.body != "" {
		e.setBody(m.body)
	}
	c.finish(commandReply("+OK " + id))
	// The event comes back 20 ms later, through the event thread
	// (06-errors.timeline.tsv 6.8449 to 6.8652).
	s.after(stepGap, func() { s.fire(e) })
}

// eventNames are the event types a subscription may name.
var eventNames = []string{
	"CUSTOM", "CLONE", "CHANNEL_CREATE", "CHANNEL_DESTROY", "CHANNEL_STATE", "CHANNEL_CALLSTATE",
	"CHANNEL_ANSWER", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE", "CHANNEL_EXECUTE",
	"CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HOLD", "CHANNEL_UNHOLD", "CHANNEL_BRIDGE",
	"CHANNEL_UNBRIDGE", "CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA", "CHANNEL_OUTGOING",
	"CHANNEL_PARK", "CHANNEL_UNPARK", "CHANNEL_APPLICATION", "CHANNEL_ORIGINATE", "CHANNEL_UUID",
	"API", "LOG", "INBOUND_CHAN", "OUTBOUND_CHAN", "STARTUP", "SHUTDOWN", "PUBLISH", "UNPUBLISH",
	"TALK", "NOTALK", "SESSION_CRASH", "MODULE_LOAD", "MODULE_UNLOAD", "DTMF", "MESSAGE",
	"PRESENCE_IN", "NOTIFY_IN", "PRESENCE_OUT", "PRESENCE_PROBE", "MESSAGE_WAITING",
	"MESSAGE_QUERY", "ROSTER", "CODEC", "BACKGROUND_JOB", "DETECTED_SPEECH", "DETECTED_TONE",
	"PRIVATE_COMMAND", "HEARTBEAT", "TRAP", "ADD_SCHEDULE", "DEL_SCHEDULE", "EXE_SCHEDULE",
	"RE_SCHEDULE", "RELOADXML", "NOTIFY", "PHONE_FEATURE", "PHONE_FEATURE_SUBSCRIBE",
	"SEND_MESSAGE", "RECV_MESSAGE", "REQUEST_PARAMS", "CHANNEL_DATA", "GENERAL", "COMMAND",
	"SESSION_HEARTBEAT", "CLIENT_DISCONNECTED", "SERVER_DISCONNECTED", "SEND_INFO", "RECV_INFO",
	"RECV_RTCP_MESSAGE", "SEND_RTCP_MESSAGE", "CALL_SECURE", "NAT", "RECORD_START", "RECORD_STOP",
	"PLAYBACK_START", "PLAYBACK_STOP", "CALL_UPDATE", "FAILURE", "SOCKET_DATA", "MEDIA_BUG_START",
	"MEDIA_BUG_STOP", "CONFERENCE_DATA_QUERY", "CONFERENCE_DATA", "CALL_SETUP_REQ",
	"CALL_SETUP_RESULT", "CALL_DETAIL", "DEVICE_STATE", "TEXT", "SHUTDOWN_REQUESTED", "ALL",
}

func knownEvent(name string) bool {
	for _, n := range eventNames {
		if n == name {
			return true
		}
	}
	return false
}
