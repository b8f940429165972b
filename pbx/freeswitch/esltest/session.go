package esltest

import (
	"net"
	"strconv"
	"strings"
	"time"
)

// answer answers a channel: CHANNEL_ANSWER (still Channel-Call-State
// RINGING, Answer-State answered), then CHANNEL_CALLSTATE RINGING to
// ACTIVE (01-inbound-dtmf.esl.txt seq 431-432). Answering twice does
// nothing.
func (s *Server) answer(ch *channel) {
	if ch.answered() || !ch.up() {
		return
	}
	now := s.now()
	ch.answeredAt = now
	ch.answerState = "answered"
	if ch.prof != nil {
		ch.prof.answered = now.UnixMicro()
	}
	ch.localMediaVars()
	ch.fire("CHANNEL_ANSWER", siteAnswer, true, nil)
	if ch.kind == kindInbound {
		// sofia marks the dialog answered right after CHANNEL_ANSWER: the
		// next event with variables shows it (05-outbound-mode.esl.txt seq
		// 703); the To tag and CSeq of the 200 OK show from the next
		// application on (01-inbound-dtmf.esl.txt seq 435).
		ch.vars.put("endpoint_disposition", "ANSWER")
		ch.dialogVars = true
	}
	ch.setCallState("ACTIVE")
	if c := ch.call; c != nil {
		c.answeredBySwitch()
	}
}

// hangupHow says which side ended the SIP call, which sets
// variable_sip_hangup_disposition (traces README fact 8).
type hangupHow int

const (
	hangupLocal    hangupHow = iota // FreeSWITCH sends BYE (uuid_kill): send_bye
	hangupRemote                    // the party sent BYE: recv_bye
	hangupRefused                   // a final error answer to our INVITE: recv_refuse
	hangupCancel                    // FreeSWITCH gives up ringing: send_cancel
	hangupInternal                  // a loopback leg: no SIP at all
)

// hangup ends a channel with cause. CHANNEL_HANGUP comes at once (Answer-
// State hangup, Channel-State still the running one, Channel-State-Number
// 10: 01-inbound-dtmf.esl.txt seq 446); the rest of the teardown runs on
// the session's thread right after: the prompt's PLAYBACK_STOP (after the
// hangup, 02-hold.esl.txt seq 498), CHANNEL_UNPARK and the park's
// completion, CHANNEL_STATE CS_HANGUP, CHANNEL_CALLSTATE HANGUP,
// CHANNEL_STATE CS_REPORTING, CHANNEL_HANGUP_COMPLETE, CHANNEL_DESTROY and
// CHANNEL_STATE CS_DESTROY (seq 447-454).
func (s *Server) hangup(ch *channel, cause string, how hangupHow) {
	s.hangupStart(ch, cause, how, 0)
}

// hangupStart is hangup with a SIP status for a refused INVITE.
func (s *Server) hangupStart(ch *channel, cause string, how hangupHow, sipStatus int) {
	if ch == nil || ch.gone || ch.hangingUp {
		return
	}
	ch.hangingUp = true
	ch.cause = cause
	ch.request("CS_HANGUP")
	ch.answerState = "hangup"
	if ch.jobTimer != nil {
		ch.jobTimer.cancel()
		ch.jobTimer = nil
	}
	ch.queue = nil
	disp := ""
	switch how {
	case hangupRemote:
		ch.remote = true
		if !ch.answered() {
			// A caller's CANCEL (not traced): recv_cancel.
			break
		}
		// The BYE's 200 shows on CHANNEL_HANGUP (02-hold.esl.txt seq 497);
		// recv_bye right after (seq 498).
		ch.vars.set("sip_term_status", "200")
		ch.vars.set("proto_specific_hangup_cause", "sip:200")
		ch.vars.set("sip_term_cause", strconv.Itoa(q850(cause)))
		if ch.bridge != nil {
			ch.vars.set("last_bridge_role", "originatee")
		}
	case hangupRefused:
		// A refused INVITE: recv_refuse and the status are on
		// CHANNEL_HANGUP already (04-originate-fail.timeline.tsv seq 596).
		ch.vars.set("sip_hangup_disposition", "recv_refuse")
		ch.vars.set("sip_term_status", strconv.Itoa(sipStatus))
		ch.vars.set("proto_specific_hangup_cause", "sip:"+strconv.Itoa(sipStatus))
		ch.vars.set("sip_term_cause", strconv.Itoa(q850(cause)))
	case hangupLocal:
		if ch.kind != kindLoopback {
			disp = "send_bye"
			if !ch.answered() {
				if ch.direction == "inbound" {
					disp = "send_refuse"
				} else {
					disp = "send_cancel"
				}
			}
		}
	case hangupCancel:
		// FreeSWITCH CANCELs the INVITE; the 487 shows at
		// CHANNEL_HANGUP_COMPLETE (04-originate-fail.esl.txt seq 632).
		disp = "send_cancel"
	}
	ch.fire("CHANNEL_HANGUP", siteHangup, true, nil)
	if how == hangupRemote {
		if ch.answered() {
			ch.vars.set("sip_hangup_disposition", "recv_bye")
		} else {
			ch.vars.set("sip_hangup_disposition", "recv_cancel")
		}
	}
	s.logf("%s: hangup %s", ch.name, cause)
	if c := ch.call; c != nil {
		c.endedBySwitch(how, cause)
	}
	if f := ch.originating; f != nil {
		ch.originating = nil
		s.after(0, func() { f(cause) })
	}
	// The rest runs on the session thread, after the api call that caused
	// the hangup has answered (uuid_kill's API event comes between
	// CHANNEL_HANGUP and CHANNEL_UNPARK, 01-inbound-dtmf.esl.txt seq
	// 445-447).
	s.after(0, func() { s.teardown(ch, disp) })
}

// teardown is the session thread's part of a hangup.
func (s *Server) teardown(ch *channel, disp string) {
	if ex := ch.current; ex != nil && ex != ch.host {
		switch {
		case ex.pb != nil:
			ch.stopPlayback(ex.pb, stopHangup)
		case ex.rec != nil:
			ch.stopRecord(ex.rec, "")
		default:
			ex.complete("")
		}
	}
	for _, r := range ch.records {
		ch.stopRecord(r, "")
	}
	if b := ch.bridge; b != nil {
		s.unbridgeOnHangup(ch, b)
	}
	if ch.host != nil {
		ch.vars.del("current_loop")
		ch.vars.del("total_loops")
		s.leavePark(ch)
	}
	ch.setRunning("CS_HANGUP")
	s.hungUpTime(ch)
	ch.setCallState("HANGUP")
	runHook(&ch.onHungUp)
	s.reporting(ch, disp)
}

// runHook runs and clears a teardown hook.
func runHook(h *func()) {
	if f := *h; f != nil {
		*h = nil
		f()
	}
}

// reporting is CS_REPORTING: the CDR variables, the disposition of a call
// FreeSWITCH ended itself, the RTP counters, CHANNEL_HANGUP_COMPLETE with
// Hangup-Cause before the channel data (01-inbound-dtmf.esl.txt seq
// 451-452), then the destroy once no originate holds the session.
func (s *Server) reporting(ch *channel, disp string) {
	ch.setRunning("CS_REPORTING")
	runHook(&ch.onReporting)
	ch.cdrVars(s.now())
	s.reported(ch, disp)
}

// hungUpTime fills Caller-Channel-Hangup-Time, which reads 0 until
// CHANNEL_CALLSTATE HANGUP (01-inbound-dtmf.esl.txt seq 449-450).
func (s *Server) hungUpTime(ch *channel) {
	if ch.prof != nil {
		ch.prof.hungUp = s.micros()
	}
}

// reportingOnly is CS_REPORTING and CHANNEL_HANGUP_COMPLETE without the
// destroy (the loopback legs' interleaving).
func (s *Server) reportingOnly(ch *channel) {
	ch.setRunning("CS_REPORTING")
	ch.cdrVars(s.now())
	if ch.kind == kindLoopback {
		// mod_loopback marks its legs in the CDR (04-originate-fail.esl.txt
		// seq 673, 677).
		ch.vars.set("is_loopback", "1")
	}
	ch.fire("CHANNEL_HANGUP_COMPLETE", siteHangupComplete, true, []header{{"Hangup-Cause", ch.cause}})
}

// reported fires CHANNEL_HANGUP_COMPLETE and schedules the destroy.
func (s *Server) reported(ch *channel, disp string) {
	if disp != "" {
		ch.vars.set("sip_hangup_disposition", disp)
		if disp == "send_cancel" {
			ch.vars.set("sip_invite_failure_status", "487")
			ch.vars.set("sip_invite_failure_phrase", "CANCEL")
		}
	}
	ch.rtpStats()
	ch.fire("CHANNEL_HANGUP_COMPLETE", siteHangupComplete, true, []header{{"Hangup-Cause", ch.cause}})
	if c := ch.outbound; c != nil && !c.gone {
		s.lingerOrClose(c, ch)
	}
	if ch.onReported != nil {
		f := ch.onReported
		ch.onReported = nil
		f()
	}
	ch.request("CS_DESTROY")
	if ch.holds > 0 {
		ch.onRelease = func() { s.destroy(ch) }
		return
	}
	s.after(0, func() { s.destroy(ch) })
}

// release drops an originate's hold on a channel; a destroy waiting for it
// runs now (the failed leg's CHANNEL_DESTROY follows the originate's
// answer: 04-originate-fail.timeline.tsv seq 600-601, 614-616, 645-647).
func (ch *channel) release() {
	if ch.holds > 0 {
		ch.holds--
	}
	if ch.holds == 0 && ch.onRelease != nil {
		f := ch.onRelease
		ch.onRelease = nil
		f()
	}
}

// destroy is CHANNEL_DESTROY (running CS_REPORTING, state 12) and the last
// CHANNEL_STATE, CS_DESTROY (01-inbound-dtmf.esl.txt seq 453-454).
func (s *Server) destroy(ch *channel) {
	if ch.gone {
		return
	}
	ch.request("CS_DESTROY")
	ch.fire("CHANNEL_DESTROY", siteDestroy, true, nil)
	s.destroyed(ch)
}

// destroyed is the last CHANNEL_STATE, CS_DESTROY, and the end of the
// channel.
func (s *Server) destroyed(ch *channel) {
	ch.setRunning("CS_DESTROY")
	ch.gone = true
	if c := ch.call; c != nil {
		c.destroyed = true
	}
	runHook(&ch.onDestroyed)
}

// CallSpec describes an incoming SIP call to the lab's profile.
type CallSpec struct {
	// CallerNumber and CallerName are the caller id; default 15551230001
	// "Lab Caller", the traced sipp caller (01-inbound-dtmf.esl.txt).
	CallerNumber, CallerName string
	// Dest is the dialled extension of example-conf/dialplan/public.xml:
	// "200" sets vhold_queue and parks (the default), "201" sets it and
	// hands the call to the outbound socket, "202" answers and parks;
	// anything else gets respond 404.
	Dest string
	// Queue is the vhold_queue value extensions 200 and 201 set; default
	// "support".
	Queue string
	// Dialplan, if set, replaces the extension's applications.
	Dialplan []App
	// Socket is where extension 201's socket application connects; default
	// Options.SocketAddr.
	Socket string
	// Script is what the caller does by itself once answered.
	Script Script
	// Speech is how long the caller talks when recorded; default 2 s.
	Speech time.Duration
}

// App is a dialplan application for CallSpec.Dialplan.
type App struct {
	Name, Data string
}

// dialplanFor is example-conf/dialplan/public.xml.
func dialplanFor(spec CallSpec) []app {
	if len(spec.Dialplan) > 0 {
		out := make([]app, len(spec.Dialplan))
		for i, a := range spec.Dialplan {
			out[i] = app{a.Name, a.Data}
		}
		return out
	}
	switch spec.Dest {
	case "200":
		return []app{{"set", "lab_scenario=inbound"}, {"set", "vhold_queue=" + spec.Queue}, {"park", ""}}
	case "201":
		return []app{{"set", "lab_scenario=outbound"}, {"set", "vhold_queue=" + spec.Queue}, {"socket", spec.Socket + " async full"}}
	case "202":
		return []app{{"answer", ""}, {"park", ""}}
	}
	return []app{{"respond", "404"}}
}

// Call places an incoming SIP call. Its first events are not
// CHANNEL_CREATE: CHANNEL_STATE CS_NEW, two CODEC, CHANNEL_STATE CS_INIT,
// then CHANNEL_CREATE, CHANNEL_CALLSTATE RINGING and CHANNEL_STATE
// CS_ROUTING (01-inbound-dtmf.esl.txt seq 415-421); 20 ms later the
// dialplan runs: CHANNEL_STATE CS_EXECUTE and one CHANNEL_EXECUTE /
// CHANNEL_EXECUTE_COMPLETE per application (seq 423-429).
func (s *Server) Call(spec CallSpec) *Call {
	if spec.CallerNumber == "" {
		spec.CallerNumber = "15551230001"
	}
	if spec.CallerName == "" {
		spec.CallerName = "Lab Caller"
	}
	if spec.Dest == "" {
		spec.Dest = "200"
	}
	if spec.Queue == "" {
		spec.Queue = "support"
	}
	if spec.Speech == 0 {
		spec.Speech = 2 * time.Second
	}
	s.lock()
	defer s.unlock()
	if spec.Socket == "" {
		spec.Socket = s.opts.SocketAddr
	}
	now := s.now()
	uuid := newUUID()
	name := "sofia/lab/" + spec.CallerNumber + "@127.0.0.1:5094"
	ch := &channel{
		s: s, kind: kindInbound, uuid: uuid, name: name,
		direction: "inbound", hitDialplan: true, callUUID: uuid,
		running: "CS_NEW", state: "CS_NEW", callState: "DOWN", answerState: "ringing",
		created: now, dialplan: dialplanFor(spec), records: map[string]*recording{},
	}
	c := &Call{s: s, inbound: true, ch: ch, uuid: uuid, script: spec.Script, speech: spec.Speech, fired: make([]bool, len(spec.Script))}
	ch.call = c
	s.calls = append(s.calls, c)
	s.register(ch)
	c.logf("INVITE to %s as %s", spec.Dest, uuid)
	ch.fire("CHANNEL_STATE", siteState, false, nil)
	ch.prof = &profile{
		direction: "inbound", logicalDirection: "inbound",
		username: spec.CallerNumber, dialplan: "XML",
		cidName: spec.CallerName, cidNumber: spec.CallerNumber,
		origCIDName: spec.CallerName, origCIDNumber: spec.CallerNumber,
		networkAddr: "127.0.0.1", ani: spec.CallerNumber, dest: spec.Dest,
		uuid: uuid, source: "mod_sofia", context: "public", channelName: name,
		index: 1, created: now.UnixMicro(), chanCreated: now.UnixMicro(),
	}
	ch.codecEvents(pcmu, siteCodecRealRead)
	ch.setRunning("CS_INIT")
	s.inboundSIPVars(ch, spec, s.newSession())
	ch.request("CS_ROUTING")
	ch.fire("CHANNEL_CREATE", siteCreate, true, nil)
	ch.running = "CS_ROUTING"
	ch.setCallState("RINGING")
	ch.setRunning("CS_ROUTING")
	s.after(inboundSetup, func() {
		if !ch.up() {
			return
		}
		ch.setRunning("CS_EXECUTE")
		s.runDialplan(ch)
	})
	return c
}

// runDialplan executes the extension's next application; when none is
// left the channel hangs up NORMAL_CLEARING (the caller of a 404 or of a
// socket nobody answers gets its final answer then; example-conf README).
func (s *Server) runDialplan(ch *channel) {
	for ch.up() && ch.dpNext < len(ch.dialplan) && ch.host == nil {
		a := ch.dialplan[ch.dpNext]
		ch.dpNext++
		async := false
		ex := ch.execApp(a.name, a.data, newUUID(), nil, func(*exec) {
			if async && ch.up() && !ch.park {
				s.after(0, func() { s.runDialplan(ch) })
			}
		})
		if !ex.ended {
			async = true
			return
		}
	}
	if ch.up() && ch.host == nil && ch.dpNext >= len(ch.dialplan) && ch.bridge == nil && !ch.park {
		s.hangup(ch, "NORMAL_CLEARING", hangupLocal)
	}
}

// socketApp is the socket application in async full mode: FreeSWITCH
// dials the outbound ESL server and parks the channel while the server
// drives it (mod_event_socket's socket_function). Nothing listening: the
// application fails, the extension ends and the caller, not answered, gets
// 480 (example-conf README).
func (s *Server) socketApp(ch *channel, ex *exec) {
	addr, mode, _ := strings.Cut(ex.data, " ")
	host, _, _ := strings.Cut(addr, ":")
	ch.vars.set("socket_host", host)
	if addr == "" {
		s.logf("%s: socket: no address", ch.name)
		ex.complete("")
		return
	}
	// The dial happens with the server locked: the target is a loopback
	// listener the test owns, so it answers or refuses at once.
	d := net.Dialer{Timeout: 2 * time.Second}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		s.logf("%s: socket %s: %v", ch.name, addr, err)
		if c := ch.call; c != nil {
			c.logf("socket application: Socket Error: %v", err)
		}
		ex.complete("")
		return
	}
	if s.closed {
		_ = nc.Close()
		ex.complete("")
		return
	}
	c := s.newConn(nc, ch)
	c.async = strings.Contains(mode, "async")
	c.full = strings.Contains(mode, "full")
	ch.outbound = c
	c.run()
	// park without the CHANNEL_PARK reaching the socket: it subscribes
	// later (05-outbound-mode.esl.txt shows no CHANNEL_PARK, but
	// CHANNEL_UNPARK at hangup).
	ch.fire("CHANNEL_PARK", sitePark, true, nil)
}

// connect answers the outbound client's connect with the whole channel:
// CHANNEL_DATA's base headers, the caller profile under "Channel-", the
// channel data with every variable, then Content-Type command/reply,
// Reply-Text "+OK\n" URL-encoded, Socket-Mode and Control, all in one
// header block with no body (05-outbound-mode.esl.txt).
func (c *conn) connect() {
	s, ch := c.s, c.session
	c.connected = true
	e := s.newEvent("CHANNEL_DATA", siteChannelData)
	if ch.prof != nil {
		e.addAll(ch.prof.headers("Channel-"))
	}
	e.addAll(ch.data(true))
	e.add("Content-Type", "command/reply")
	e.add("Reply-Text", "+OK\n")
	mode := "static"
	if c.async {
		mode = "async"
	}
	control := "single-channel"
	if c.full {
		control = "full"
	}
	e.add("Socket-Mode", mode)
	e.add("Control", control)
	var b strings.Builder
	for _, h := range e.headers {
		b.WriteString(h.name + ": " + urlEncode(h.value) + "\n")
	}
	b.WriteString("\n")
	c.finish([]byte(b.String()))
}

// lingerOrClose: at CHANNEL_HANGUP_COMPLETE an outbound connection in
// linger mode gets a disconnect notice with Content-Disposition linger and
// no more events (05-outbound-mode.esl.txt); after the linger time, or at
// once without linger, FreeSWITCH says goodbye and closes the socket
// (mod_event_socket source; the trace's client exited first).
func (s *Server) lingerOrClose(c *conn, ch *channel) {
	if c.linger > 0 {
		c.send(lingerNotice(ch.uuid, ch.name, c.linger))
		c.lingered = true
		s.after(time.Duration(c.linger)*time.Second, func() {
			if !c.gone && !c.closing {
				c.send(outboundDisconnect(ch.uuid))
				c.hangUpSocket()
			}
		})
		return
	}
	c.lingered = true
	c.send(outboundDisconnect(ch.uuid))
	c.hangUpSocket()
}

// socketGone: the outbound connection closed (exit or a drop) while its
// channel was up. The socket application returns and, with nothing after
// it in the extension, the call hangs up (mod_event_socket source; not
// traced: 05-outbound-mode hung up before exit).
func (s *Server) socketGone(ch *channel) {
	if ch.outbound == nil {
		return
	}
	ch.outbound = nil
	if !ch.up() {
		return
	}
	s.after(stepGap, func() {
		if !ch.up() {
			return
		}
		if h := ch.host; h != nil && h.app == "socket" {
			ch.vars.del("current_loop")
			ch.vars.del("total_loops")
			ch.fire("CHANNEL_UNPARK", siteUnpark, true, nil)
			// The socket application's completion lets the extension go
			// on (runDialplan's onDone), which has nothing left.
			h.complete("")
		}
	})
}
