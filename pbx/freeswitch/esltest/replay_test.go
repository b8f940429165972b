package esltest

import (
	"bufio"
	"context"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The replay drives a Server with what a trace's client sent, byte for
// byte (uuids FreeSWITCH chose replaced by the fake's), at the trace's
// times, plays the SIP parties the trace's sipp instances played, and
// checks that what comes back on each connection matches what the real
// FreeSWITCH sent: every reply, in order, and every event, in order,
// compared as compare_test.go says.
//
// The fake runs on a manual clock: before each step of the trace the
// replay moves the fake's time to the step's rel_s, so every timed
// behaviour (prompts, rings, 20 ms frames, msleep) happens at the same
// virtual moment relative to the client's commands as in the trace,
// however fast or loaded the test machine is. A command is sent, and the
// replay waits until the fake has read it, before time moves on.
//
// Replies and events are matched as two ordered streams per connection:
// before each command the replay waits until the fake has sent at least
// what FreeSWITCH had sent before it. How the two streams interleave is
// then checked too, exactly (checkInterleave): each reply must come after
// as many events as in the trace, which checks that replies precede the
// events their command caused (uuid_answer's +OK before CHANNEL_ANSWER, a
// foreground originate's -ERR before the leg's events).
//
// HEARTBEAT and RE_SCHEDULE are left out of the trace: FreeSWITCH sends
// them every 20 s whatever the calls do; the fake sends none.

// scenario configures the replay of one trace.
type scenario struct {
	file string
	// dest is the extension a new incoming call dials when the trace shows
	// its first event (the lab's sipp caller dialled 200).
	dest string
	// outbound places a call to 201 (socket) at the start: its socket
	// application's connection is what the trace begins with.
	outbound bool
}

// client is the test's end of one ESL connection.
type client struct {
	name   string
	nc     net.Conn
	sc     *conn // the fake's end
	mu     sync.Mutex
	ev     []*wireMsg
	rep    []*wireMsg
	order  []bool // true: event; the fake's interleaving
	notify chan struct{}
	eof    bool
	done   chan struct{}
}

func (c *client) counts() (ev, rep int, eof bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ev), len(c.rep), c.eof
}

// readRaw reads one framed message from the fake.
func readRaw(br *bufio.Reader) (string, error) {
	var b strings.Builder
	cl := 0
	started := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		b.WriteString(line)
		t := strings.TrimRight(line, "\r\n")
		if t == "" {
			if !started {
				continue
			}
			break
		}
		started = true
		if v, ok := strings.CutPrefix(t, "Content-Length: "); ok {
			cl, _ = strconv.Atoi(v)
		}
	}
	if cl > 0 {
		body := make([]byte, cl)
		if _, err := io.ReadFull(br, body); err != nil {
			return "", err
		}
		b.Write(body)
	}
	return b.String(), nil
}

func (c *client) read() {
	defer close(c.done)
	br := bufio.NewReader(c.nc)
	for {
		raw, err := readRaw(br)
		if err != nil {
			c.mu.Lock()
			c.eof = true
			c.mu.Unlock()
			select {
			case c.notify <- struct{}{}:
			default:
			}
			return
		}
		hs, body := parseMsg(raw)
		m := &wireMsg{conn: c.name, raw: raw, hdrs: hs, body: body}
		c.mu.Lock()
		if m.isEvent() {
			c.ev = append(c.ev, m)
		} else {
			c.rep = append(c.rep, m)
		}
		c.order = append(c.order, m.isEvent())
		c.mu.Unlock()
		select {
		case c.notify <- struct{}{}:
		default:
		}
	}
}

// replay is one running replay.
type replay struct {
	t      *testing.T
	sc     scenario
	srv    *Server
	ids    *ids
	msgs   []*wireMsg
	conns  map[string]*client
	outLn  net.Listener
	outCh  chan net.Conn
	calls  map[string]*Call // trace Unique-ID → party
	driven map[string]bool  // trace Event-Sequence already acted on

	expEv, expRep map[string][]*wireMsg // trace streams per connection
	okEv, okRep   map[string]int        // checked so far
	cmdFor        map[int]string        // trace reply idx → the client command before it
	seqs          [][2]int64            // (trace, fake) Event-Sequence pairs

	base     time.Time      // the fake's time at trace rel_s 0
	sent     map[string]int // commands sent per connection
	nChecked int
}

func runScenario(t *testing.T, sc scenario) {
	msgs := loadTrace(t, sc.file)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Options{
		SocketAddr: ln.Addr().String(),
		Log: func(format string, args ...any) {
			if testing.Verbose() {
				t.Logf(format, args...)
			}
		},
	})
	// The manual clock starts at the trace's own start: FreeSWITCH counts
	// originate_timeout in whole wall-clock seconds, so the same moments
	// give the same timeouts (04-originate-fail: 4.6 s for 5 s).
	srv.manual = true
	if len(msgs) > 0 {
		srv.epoch, srv.vnow, srv.started = msgs[0].start, msgs[0].start, msgs[0].start
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	r := &replay{
		t: t, sc: sc, srv: srv, ids: newIDs(), msgs: msgs, conns: map[string]*client{},
		outLn: ln, outCh: make(chan net.Conn, 4), calls: map[string]*Call{}, driven: map[string]bool{},
		expEv: map[string][]*wireMsg{}, expRep: map[string][]*wireMsg{},
		okEv: map[string]int{}, okRep: map[string]int{}, cmdFor: map[int]string{},
		base: srv.now(), sent: map[string]int{},
	}
	r.ids.fixed = [][2]string{{"127.0.0.1:8084", ln.Addr().String()}}
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				close(r.outCh)
				return
			}
			r.outCh <- nc
		}
	}()
	// The lab's sipp agents (traces README, "SIP peers"): :5091 answers
	// after ringing 1 s, :5092 answers 486, :5093 rings for ever; :5099 has
	// nobody (an unmatched sofia/lab/ dial string is Unreachable).
	srv.Endpoint("sofia/lab/agent@127.0.0.1:5091", Behaviour{Outcome: Answer, Ring: time.Second})
	srv.Endpoint("sofia/lab/agent@127.0.0.1:5092", Behaviour{Outcome: Busy})
	srv.Endpoint("sofia/lab/agent@127.0.0.1:5093", Behaviour{Outcome: NoAnswer})
	defer func() {
		for _, c := range r.conns {
			_ = c.nc.Close()
			<-c.done
		}
		_ = ln.Close()
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			for _, l := range srv.Log() {
				t.Log(l)
			}
		}
	}()
	r.prepare()
	if sc.outbound {
		// The lab's sipp dialled 201 before the trace's first message: the
		// socket application's connection is what the trace begins with.
		r.calls["outbound"] = srv.Call(CallSpec{Dest: "201"})
	}
	for _, m := range msgs {
		if t.Failed() {
			t.Logf("stopping %s at message %d (%s %.4f)", sc.file, m.idx, m.conn, m.rel)
			return
		}
		r.step(m)
	}
	r.finish()
	t.Logf("%s: %d trace messages; checked %d, %d Event-Sequence pairs", sc.file, len(msgs), r.nChecked, len(r.seqs))
}

// skipEvent says whether a trace event is left out (timer-driven).
func skipEvent(m *wireMsg) bool {
	if !m.isEvent() {
		return false
	}
	f, err := eventFields(m)
	if err != nil {
		return false
	}
	n := f.get("Event-Name")
	return n == "HEARTBEAT" || n == "RE_SCHEDULE"
}

// prepare splits the trace into per-connection streams.
func (r *replay) prepare() {
	last := map[string]string{}
	for _, m := range r.msgs {
		if m.fromApp {
			hs, _ := parseMsg(m.raw)
			if len(hs) > 0 {
				last[m.conn] = hs[0].name
			}
			continue
		}
		if skipEvent(m) {
			continue
		}
		if m.isEvent() {
			r.expEv[m.conn] = append(r.expEv[m.conn], m)
		} else {
			r.expRep[m.conn] = append(r.expRep[m.conn], m)
			r.cmdFor[m.idx] = last[m.conn]
		}
	}
}

// before counts the trace's events and replies on m's connection before m.
func (r *replay) before(m *wireMsg) (ev, rep int) {
	for _, x := range r.expEv[m.conn] {
		if x.idx < m.idx {
			ev++
		}
	}
	for _, x := range r.expRep[m.conn] {
		if x.idx < m.idx {
			rep++
		}
	}
	return ev, rep
}

// sync waits until the fake has sent on m's connection at least what the
// trace shows before m, and checks it.
func (r *replay) sync(m *wireMsg) {
	c := r.conns[m.conn]
	if c == nil {
		return
	}
	nEv, nRep := r.before(m)
	deadline := time.After(10 * time.Second)
	for {
		ev, rep, eof := c.counts()
		if ev >= nEv && rep >= nRep {
			break
		}
		if eof {
			r.check(m.conn)
			r.t.Fatalf("%s closed after %d events and %d replies; the trace has %d and %d before message %d (%.4f)", m.conn, ev, rep, nEv, nRep, m.idx, m.rel)
		}
		select {
		case <-c.notify:
		case <-deadline:
			r.check(m.conn)
			c.mu.Lock()
			for _, x := range c.ev {
				f, _ := eventFields(x)
				r.t.Logf("%s has %s %s", m.conn, f.get("Event-Name"), f.get("Event-Sequence"))
			}
			c.mu.Unlock()
			r.t.Fatalf("%s: waited 10 s for %d events and %d replies before message %d (%.4f); got %d and %d", m.conn, nEv, nRep, m.idx, m.rel, ev, rep)
		}
	}
	r.check(m.conn)
}

// advance moves the fake's clock to trace time rel.
func (r *replay) advance(rel float64) {
	r.srv.advance(r.base.Add(time.Duration(rel * float64(time.Second))))
}

// findServerConn finds the fake's end of a new connection, while it is
// surely open (before the first command).
func (r *replay) findServerConn(c *client) {
	s := r.srv
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.WaitFor(ctx, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for sc := range s.conns {
			if sc.raw.RemoteAddr().String() == c.nc.LocalAddr().String() && sc.raw.LocalAddr().String() == c.nc.RemoteAddr().String() {
				c.sc = sc
				return true
			}
		}
		return false
	})
	if err != nil {
		r.t.Fatalf("%s: the fake has no such connection: %v", c.name, err)
	}
}

// waitRead waits until the fake has read the connection's n-th command, or
// cannot (a command still executing holds the ones pipelined behind it,
// 06-errors (f); a closed socket reads nothing).
func (r *replay) waitRead(c *client, n int) {
	s, sc := r.srv, c.sc
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.WaitFor(ctx, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return sc.handled >= n || sc.gone || sc.closing || (sc.busy && sc.handled < n)
	})
	if err != nil {
		r.t.Fatalf("%s: the fake did not read command %d: %v", c.name, n, err)
	}
}

func (r *replay) step(m *wireMsg) {
	t := r.t
	r.advance(m.rel)
	if strings.HasPrefix(m.conn, "out#") && r.conns[m.conn] == nil {
		r.acceptOutbound(m)
	}
	if m.fromApp {
		r.advance(m.rel)
		r.sync(m)
		c := r.conns[m.conn]
		if c == nil {
			t.Fatalf("message %d: no connection %s", m.idx, m.conn)
		}
		raw := r.ids.subst(m.raw)
		_, _ = c.nc.Write([]byte(raw)) // a write after FreeSWITCH closed fails, as eslgo's exit did (06-errors (a))
		r.sent[m.conn]++
		r.waitRead(c, r.sent[m.conn])
		return
	}
	if r.conns[m.conn] == nil && strings.HasPrefix(m.conn, "in#") {
		r.advance(m.rel)
		nc, err := net.Dial("tcp", r.srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		r.addConn(m.conn, nc)
	}
	if m.contentType() == "text/disconnect-notice" && r.clientClosed(m) {
		r.sync(m)
		if tc, ok := r.conns[m.conn].nc.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}
	if m.isEvent() {
		r.drive(m)
	}
}

func (r *replay) addConn(name string, nc net.Conn) {
	c := &client{name: name, nc: nc, notify: make(chan struct{}, 1), done: make(chan struct{})}
	r.conns[name] = c
	go c.read()
	r.findServerConn(c)
}

// acceptOutbound takes the connection the socket application of the
// call placed at the start makes (its dialplan runs 20 ms after the call).
func (r *replay) acceptOutbound(m *wireMsg) {
	if !r.sc.outbound {
		r.t.Fatalf("trace has %s but the scenario places no outbound call", m.conn)
	}
	r.advance(m.rel)
	select {
	case nc, ok := <-r.outCh:
		if !ok {
			r.t.Fatal("outbound listener closed")
		}
		r.addConn(m.conn, nc)
	case <-time.After(5 * time.Second):
		r.t.Fatalf("the fake did not connect the socket application; call log %v", r.calls["outbound"].Log())
	}
}

// clientClosed says whether a disconnect notice answers the client
// closing its side (no exit before it, no failed auth): 06-errors in#5.
func (r *replay) clientClosed(m *wireMsg) bool {
	if m.get("Content-Disposition") == "linger" {
		return false
	}
	for i := m.idx - 1; i >= 0; i-- {
		x := r.msgs[i]
		if x.conn != m.conn {
			continue
		}
		if x.fromApp {
			return !strings.HasPrefix(strings.TrimLeft(x.raw, "\r\n"), "exit")
		}
		if x.get("Reply-Text") == "-ERR invalid" || x.get("Reply-Text") == "+OK bye" {
			return false
		}
	}
	return false
}

// drive plays the SIP side when the trace shows its effect: a new caller
// (its first event), a key press (DTMF), a party's BYE (CHANNEL_HANGUP with
// sip_term_status 200: the party hung up, 02-hold and 03-originate-answer).
func (r *replay) drive(m *wireMsg) {
	f, err := eventFields(m)
	if err != nil {
		return
	}
	seq := f.get("Event-Sequence")
	if r.driven[seq] {
		return
	}
	uuid := f.get("Unique-ID")
	switch f.get("Event-Name") {
	case "CHANNEL_STATE":
		if f.get("Channel-State") == "CS_NEW" && f.get("Call-Direction") == "inbound" && strings.HasPrefix(f.get("Channel-Name"), "sofia/") && r.calls[uuid] == nil {
			r.driven[seq] = true
			r.advance(m.rel)
			c := r.srv.Call(CallSpec{Dest: r.sc.dest})
			r.calls[uuid] = c
			if !r.ids.learn(uuid, c.UUID()) {
				r.t.Fatalf("uuid %s already mapped", uuid)
			}
		}
	case "DTMF":
		// The key was pressed dtmfPress before; its event comes now.
		r.driven[seq] = true
		r.advance(m.rel)
		r.sync(m)
		c := r.party(uuid)
		r.srv.lock()
		c.ch.dtmf(f.get("DTMF-Digit"))
		r.srv.unlock()
	case "CHANNEL_HANGUP":
		if f.get("variable_sip_term_status") != "200" {
			return
		}
		r.driven[seq] = true
		r.advance(m.rel)
		r.sync(m)
		r.party(uuid).HangUp()
	}
}

// party finds the SIP party of a trace channel.
func (r *replay) party(traceUUID string) *Call {
	if c := r.calls[traceUUID]; c != nil {
		return c
	}
	fake := r.ids.subst(traceUUID)
	if c := r.srv.Channel(fake); c != nil {
		return c
	}
	if c := r.calls["outbound"]; c != nil && r.ids.fwd[traceUUID] == c.UUID() {
		return c
	}
	r.t.Fatalf("no party for trace channel %s (fake %s)", traceUUID, fake)
	return nil
}

// check compares what has arrived on a connection with the trace, in
// order, learning uuids.
func (r *replay) check(conn string) {
	c := r.conns[conn]
	if c == nil {
		return
	}
	c.mu.Lock()
	got := slices.Clone(c.ev)
	gotRep := slices.Clone(c.rep)
	c.mu.Unlock()
	exp := r.expEv[conn]
	for r.okEv[conn] < len(exp) && r.okEv[conn] < len(got) {
		i := r.okEv[conn]
		r.compareEvent(exp[i], got[i])
		r.okEv[conn]++
	}
	expRep := r.expRep[conn]
	for r.okRep[conn] < len(expRep) && r.okRep[conn] < len(gotRep) {
		i := r.okRep[conn]
		e := expRep[i]
		if d := r.ids.compareMsg(e, gotRep[i], r.cmdFor[e.idx]); len(d) > 0 {
			r.t.Errorf("%s reply %d (trace %.4f, after %q): %s\n got: %q", conn, i, e.rel, r.cmdFor[e.idx], strings.Join(d, "\n   "), gotRep[i].raw)
		}
		r.nChecked++
		r.okRep[conn]++
	}
}

func (x *ids) clone() *ids {
	y := newIDs()
	y.fixed = x.fixed
	for k, v := range x.fwd {
		y.fwd[k] = v
	}
	for k, v := range x.rev {
		y.rev[k] = v
	}
	return y
}

// compareEvent compares one event and records its Event-Sequence pair.
func (r *replay) compareEvent(e, g *wireMsg) {
	if d := r.ids.compareMsg(e, g, ""); len(d) > 0 {
		ef, _ := eventFields(e)
		r.t.Errorf("%s event %s %s (trace %.4f): %s", e.conn, ef.get("Event-Name"), ef.get("Event-Sequence"), e.rel, strings.Join(d, "\n   "))
	}
	r.nChecked++
	ef, err1 := eventFields(e)
	gf, err2 := eventFields(g)
	if err1 == nil && err2 == nil {
		ts, _ := strconv.ParseInt(ef.get("Event-Sequence"), 10, 64)
		fs, _ := strconv.ParseInt(gf.get("Event-Sequence"), 10, 64)
		r.seqs = append(r.seqs, [2]int64{ts, fs})
	}
}

// finish waits for the rest of every connection, checks that nothing more
// comes, then checks the interleaving and the Event-Sequence order.
func (r *replay) finish() {
	if len(r.msgs) > 0 {
		r.advance(r.msgs[len(r.msgs)-1].rel + 1)
	}
	for name, c := range r.conns {
		nEv, nRep := len(r.expEv[name]), len(r.expRep[name])
		deadline := time.After(10 * time.Second)
	wait:
		for {
			ev, rep, eof := c.counts()
			if (ev >= nEv && rep >= nRep) || eof {
				break
			}
			select {
			case <-c.notify:
			case <-deadline:
				break wait
			}
		}
	}
	time.Sleep(300 * time.Millisecond)
	for name, c := range r.conns {
		r.check(name)
		ev, rep, _ := c.counts()
		if ev != len(r.expEv[name]) || rep != len(r.expRep[name]) {
			c.mu.Lock()
			var extra []string
			for _, m := range c.ev[min(len(c.ev), len(r.expEv[name])):] {
				f, _ := eventFields(m)
				extra = append(extra, f.get("Event-Name")+" "+f.get("Unique-ID"))
			}
			for _, m := range c.rep[min(len(c.rep), len(r.expRep[name])):] {
				extra = append(extra, m.raw)
			}
			c.mu.Unlock()
			r.t.Errorf("%s: fake sent %d events and %d replies, the trace %d and %d; extra: %q", name, ev, rep, len(r.expEv[name]), len(r.expRep[name]), extra)
		}
		r.checkInterleave(name)
	}
	r.checkSequence()
}

// checkInterleave compares where each reply falls among the events.
func (r *replay) checkInterleave(name string) {
	c := r.conns[name]
	c.mu.Lock()
	order := slices.Clone(c.order)
	c.mu.Unlock()
	var fakeBefore []int // events before each reply, fake
	n := 0
	for _, isEv := range order {
		if isEv {
			n++
		} else {
			fakeBefore = append(fakeBefore, n)
		}
	}
	evs := r.expEv[name]
	for k, rep := range r.expRep[name] {
		if k >= len(fakeBefore) {
			break
		}
		tb, _ := r.before(rep)
		if tb == fakeBefore[k] || destroyRace(evs, min(tb, fakeBefore[k]), max(tb, fakeBefore[k]), rep.rel) {
			continue
		}
		r.t.Errorf("%s reply %d (trace %.4f, %q): %d events before it in the fake, %d in the trace", name, k, rep.rel, strings.TrimSpace(rep.get("Reply-Text")+" "+firstLine(rep.body)), fakeBefore[k], tb)
	}
}

// destroyRace says whether the events between lo and hi are a failed
// originate leg's CHANNEL_DESTROY and last CHANNEL_STATE within 5 ms of the
// reply: the one relaxation of the interleaving. In FreeSWITCH the leg's
// destroy races the originate's return and the next command: a busy leg's
// CHANNEL_DESTROY came 4 ms after its BACKGROUND_JOB, after the reply to the
// client's next bgapi (04-originate-fail.timeline.tsv seq 615-617 at
// 1.1597-1.1639), an unreachable leg's 0.2 ms after its BACKGROUND_JOB
// (seq 646-648), a NO_ANSWER leg's at once. No one delay fits all three
// with the next commands' times; the fake destroys a leg as soon as the
// originate returns.
func destroyRace(evs []*wireMsg, lo, hi int, at float64) bool {
	for i := lo; i < hi && i < len(evs); i++ {
		f, err := eventFields(evs[i])
		if err != nil {
			return false
		}
		n := f.get("Event-Name")
		if n != "CHANNEL_DESTROY" && (n != "CHANNEL_STATE" || f.get("Channel-State") != "CS_DESTROY") {
			return false
		}
		if d := evs[i].rel - at; d > 0.005 || d < -0.005 {
			return false
		}
	}
	return true
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// checkSequence checks that the fake numbered events in the trace's order.
func (r *replay) checkSequence() {
	byTrace := map[int64]int64{}
	for _, p := range r.seqs {
		if f, ok := byTrace[p[0]]; ok && f != p[1] {
			r.t.Errorf("trace event %d is fake %d on one connection and %d on another", p[0], f, p[1])
		}
		byTrace[p[0]] = p[1]
	}
	keys := make([]int64, 0, len(byTrace))
	for k := range byTrace {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i := 1; i < len(keys); i++ {
		if byTrace[keys[i]] <= byTrace[keys[i-1]] {
			r.t.Errorf("Event-Sequence order: trace %d < %d, fake %d >= %d", keys[i-1], keys[i], byTrace[keys[i-1]], byTrace[keys[i]])
		}
	}
}
