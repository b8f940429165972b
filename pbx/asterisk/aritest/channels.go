package aritest

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// party is a caller or connected-line id.
type party struct{ name, number string }

func (p party) json() obj { return obj{{"name", p.name}, {"number", p.number}} }

// chanKind says how a channel came to be; it decides which events it gets
// after StasisEnd and what its dialplan looks like when destroyed.
type chanKind int

const (
	kindInbound    chanKind = iota // dialplan Stasis() from a scripted Call
	kindOriginated                 // POST /channels
	kindCreated                    // POST /channels/create (+ /dial)
)

// channel is one Asterisk channel.
type channel struct {
	id, name, state, protocolID string
	caller, connected           party
	context, exten              string
	priority                    int
	appName, appData            string
	created                     time.Time
	language                    string
	vars                        map[string]string

	kind     chanKind
	app      string   // the Stasis app it is in or was originated into
	args     []string // its Stasis args
	inStasis bool
	// appSub: the app follows the channel outside of explicit subscriptions.
	// Inbound channels only while in Stasis, originated and created ones until
	// destroyed (traces README, "Behaviours").
	appSub bool

	tech, resource, dialstring string // PJSIP, agent1, agent1 (or +34...@trunk)
	ep                         *Endpoint
	beh                        Behaviour
	devState                   string // last DeviceStateChanged sent for it under subscribeAll

	bridge   *bridge
	mohOn    bool
	mohClass string
	queue    cmdQueue
	rec      *recording

	hangingUp bool // a hangup was requested; the channel still exists
	gone      bool // destroyed
	progress  bool // 183 Session Progress sent to the caller
	rung      bool // 180 Ringing sent to the caller
	dialed    bool // a created channel was dialed
	timers    []*timer
	call      *Call
}

// snap is the channel's JSON snapshot, members in Asterisk's order (all traces).
func (ch *channel) snap() obj {
	return obj{
		{"id", ch.id},
		{"name", ch.name},
		{"state", ch.state},
		{"protocol_id", ch.protocolID},
		{"caller", ch.caller.json()},
		{"connected", ch.connected.json()},
		{"accountcode", ""},
		{"dialplan", obj{
			{"context", ch.context},
			{"exten", ch.exten},
			{"priority", ch.priority},
			{"app_name", ch.appName},
			{"app_data", ch.appData},
		}},
		{"creationtime", stamp(ch.created)},
		{"language", ch.language},
	}
}

// live returns the channel called id if it still exists.
func (s *Server) live(id string) *channel {
	if ch := s.channels[id]; ch != nil && !ch.gone {
		return ch
	}
	return nil
}

func (s *Server) register(ch *channel) {
	s.channels[ch.id] = ch
	s.chanOrder = append(s.chanOrder, ch)
}

// chanAfter runs f after d (real time) on ch's behalf, unless ch is
// destroyed first: a hung-up party does nothing more.
func (s *Server) chanAfter(ch *channel, d time.Duration, f func()) *timer {
	t := s.after(d, func() {
		if !ch.gone {
			f()
		}
	})
	ch.timers = append(ch.timers, t)
	return t
}

// chanEv builds a channel event: extra members, then the channel snapshot.
func (s *Server) chanEv(ch *channel, typ string, extra ...kv) event {
	return s.ev(typ, append(extra, kv{"channel", ch.snap()})...)
}

// varset sends ChannelVarset, the noise that makes up a third of all events
// (traces README): its members come before "type".
func (s *Server) varset(ch *channel, name, value string) {
	e := s.chanEv(ch, "ChannelVarset")
	e.pre = obj{{"variable", name}, {"value", value}}
	s.chanEvent(ch, e)
}

// hangupRequest sends ChannelHangupRequest. An app hangup is {"cause":32,
// "soft":true}, 32 being Asterisk's explicit-soft-hangup flag rather than a
// Q.850 cause (inbound-dtmf.jsonl seq 27); a remote BYE has neither member
// (caller-abandon.jsonl seq 32); a SIP failure has cause and tech_cause
// (originate-fail.jsonl seq 15).
func (s *Server) hangupRequest(ch *channel, pre obj) {
	e := s.chanEv(ch, "ChannelHangupRequest")
	e.pre = pre
	s.chanEvent(ch, e)
}

func softHangup(cause int) obj { return obj{{"cause", cause}, {"soft", true}} }

// rtpQoS sends the five RTPAUDIOQOS variables Asterisk sets on every hangup of
// a channel that had media (inbound-dtmf.jsonl seq 22-26), with the BRIDGED
// variants on a two-party bridge peer (originate-answer.jsonl seq 52-61).
func (s *Server) rtpQoS(ch *channel) {
	if ch.state != "Up" {
		return
	}
	var peer *channel
	if b := ch.bridge; b != nil && b.typ == "mixing" && len(b.members) == 2 {
		peer = b.other(ch)
	}
	for _, v := range [][2]string{
		{"RTPAUDIOQOS", "ssrc=127253187;themssrc=1447579468;lp=0;rxjitter=0.000000;rxcount=11;txjitter=0.000000;txcount=71;rlp=0;rtt=0.000000;rxmes=0.000000;txmes=0.000000"},
		{"RTPAUDIOQOSJITTER", "minrxjitter=000.000000;maxrxjitter=000.000000;avgrxjitter=000.000000;stdevrxjitter=000.000000;mintxjitter=000.000000;maxtxjitter=000.000000;avgtxjitter=000.000000;stdevtxjitter=000.000000;"},
		{"RTPAUDIOQOSLOSS", "  minrxlost=000.000000;  maxrxlost=000.000000;  avgrxlost=000.000000;  stdevrxlost=000.000000;  mintxlost=000.000000;  maxtxlost=000.000000;  avgtxlost=000.000000;  stdevtxlost=000.000000;"},
		{"RTPAUDIOQOSRTT", "     minrtt=000.000000;     maxrtt=000.000000;     avgrtt=000.000000;     stdevrtt=000.000000;"},
		{"RTPAUDIOQOSMES", "   minrxmes=000.000000;   maxrxmes=000.000000;   avgrxmes=000.000000;   stdevrxmes=000.000000;   mintxmes=000.000000;   maxtxmes=000.000000;   avgtxmes=000.000000;   stdevtxmes=000.000000;"},
	} {
		s.varset(ch, v[0], v[1])
		if peer != nil {
			s.varset(peer, v[0]+"BRIDGED", v[1])
		}
	}
}

// enterStasis puts ch into its app: StasisStart with the dialplan's args,
// unparsed ("queue=support" stays one arg, inbound-dtmf.jsonl seq 5).
func (s *Server) enterStasis(ch *channel) {
	ch.inStasis = true
	ch.appSub = true
	ch.appName = "Stasis"
	ch.appData = strings.Join(append([]string{ch.app}, ch.args...), ",")
	s.stasisEvent(ch, s.chanEv(ch, "StasisStart", kv{"args", strs(slices.Clone(ch.args))}))
}

// exitStasis ends ch's time in Stasis: StasisEnd, then STASISSTATUS=SUCCESS,
// which an inbound channel's app no longer follows unless subscribed
// (caller-abandon.jsonl seq 34-35 with a subscription, inbound-dtmf.jsonl
// seq 29 without).
func (s *Server) exitStasis(ch *channel) {
	if !ch.inStasis {
		return
	}
	s.stasisEvent(ch, s.chanEv(ch, "StasisEnd"))
	ch.inStasis = false
	if ch.kind == kindInbound {
		ch.appSub = false
	}
	s.varset(ch, "STASISSTATUS", "SUCCESS")
}

// explicitlyFollowed says whether some app subscribed to ch by id.
func (s *Server) explicitlyFollowed(ch *channel) bool {
	for _, a := range s.appOrder {
		if a.chanSubs[ch.id] {
			return true
		}
	}
	return false
}

// stopActivity ends what ch is doing when it hangs up: a running playback
// finishes "done" (res_stasis_playback.c playback_final_update: hangup means
// complete), a recording finishes, queued commands are dropped.
func (s *Server) stopActivity(ch *channel) {
	for _, c := range ch.queue.cmds {
		c.abandon()
	}
	ch.queue.cmds = nil
	if c := ch.queue.cur; c != nil {
		ch.queue.cur = nil
		if c.hangup != nil {
			c.hangup()
		}
		c.abandon()
	}
}

// teardown takes a hanging-up channel out of everything in Asterisk's order:
// playback, bridge (ChannelLeftBridge), Stasis (StasisEnd) (traces README:
// "Event order on an app-initiated hangup").
func (s *Server) teardown(ch *channel) {
	s.stopActivity(ch)
	if ch.bridge != nil {
		s.leaveBridge(ch, true)
	}
	wasIn := ch.inStasis
	s.exitStasis(ch)
	if wasIn && ch.kind == kindInbound && s.explicitlyFollowed(ch) {
		// The dialplan after Stasis() hangs the channel up again: a subscribed
		// app sees a second ChannelHangupRequest {"cause":16,"soft":true}
		// (caller-abandon.jsonl seq 36).
		s.hangupRequest(ch, softHangup(16))
	}
}

// destroy ends ch: ChannelDestroyed to whoever still follows it, with the
// cause and, for SIP failures, tech_cause (originate-fail.jsonl seq 17).
func (s *Server) destroy(ch *channel, cause, techCause int) {
	if ch.gone {
		return
	}
	s.stopActivity(ch)
	switch ch.kind {
	case kindInbound, kindCreated:
		// Stasis() has returned: the snapshot shows no application
		// (caller-abandon.jsonl seq 37, originate-fail.jsonl seq 75).
		ch.appName, ch.appData = "", ""
	case kindOriginated:
		// The dial thread owns the channel again (originate-answer.jsonl seq 68).
		ch.appName, ch.appData = "AppDial2", "(Outgoing Line)"
	}
	fields := []kv{{"cause", cause}, {"cause_txt", causeText(cause)}}
	if techCause != 0 {
		fields = append(fields, kv{"tech_cause", techCause})
	}
	s.chanEvent(ch, s.chanEv(ch, "ChannelDestroyed", fields...))
	s.setDevState(ch, "NOT_INUSE")
	ch.gone = true
	for _, t := range ch.timers {
		t.cancel()
	}
	ch.timers = nil
	for _, a := range s.appOrder {
		delete(a.chanSubs, ch.id)
	}
	delete(s.channels, ch.id)
	s.chanOrder = slices.DeleteFunc(s.chanOrder, func(c *channel) bool { return c == ch })
	s.endpointEvent(ch)
	if ch.call != nil {
		ch.call.ended(cause)
	}
	s.logf("channel %s destroyed: %d %s", ch.id, cause, causeText(cause))
}

// setDevState sends DeviceStateChanged for ch's device when subscribeAll
// asked for it (originate-fail.jsonl seq 27, 29, 109, 112, 125); NOT_INUSE
// only after RINGING or INUSE.
func (s *Server) setDevState(ch *channel, state string) {
	if ch.kind == kindInbound || ch.devState == state || (state == "NOT_INUSE" && ch.devState == "") {
		return
	}
	ch.devState = state
	s.deviceEvent(ch.tech+"/"+ch.resource, state)
}

// findControl finds a channel a verb may act on: 404 when it does not exist,
// 409 when it is not in Stasis (res/ari/resource_channels.c find_control;
// errors.jsonl seq 24-43).
func (s *Server) findControl(q *req) *channel {
	ch := s.live(q.vars["id"])
	if ch == nil {
		q.err(http.StatusNotFound, "Channel not found")
		return nil
	}
	if !ch.inStasis {
		q.err(http.StatusConflict, "Channel not in Stasis application")
		return nil
	}
	return ch
}

// runSync queues a command on ch and waits for it to run: the verbs Asterisk
// executes synchronously on the channel's command queue (answer, set variable,
// bridge add/remove) wait there behind a running playback (callback-flow.jsonl
// seq 23-27: removeChannel took 4.7 s). It is called locked and returns locked;
// false means the wait was abandoned (the channel went away or the server is
// closing).
func (s *Server) runSync(q *req, ch *channel, name string, run func()) bool {
	done := make(chan struct{})
	ok := false
	s.enqueue(&ch.queue, ch, &command{
		name: name,
		run:  func() bool { run(); ok = true; return false },
		done: done,
	})
	s.unlock()
	select {
	case <-done:
	case <-s.done:
	case <-q.r.Context().Done():
	}
	s.lock()
	return ok
}

func (s *Server) listChannels(q *req) {
	s.lock()
	defer s.unlock()
	out := []obj{}
	for _, ch := range s.chanOrder {
		out = append(out, ch.snap())
	}
	q.json(http.StatusOK, out)
}

func (s *Server) getChannel(q *req) {
	s.lock()
	defer s.unlock()
	ch := s.live(q.vars["id"])
	if ch == nil {
		q.err(http.StatusNotFound, "Channel not found") // inbound-dtmf.jsonl seq 34
		return
	}
	q.json(http.StatusOK, ch.snap())
}

// hangupChannel is DELETE /channels/{id}: ChannelHangupRequest {32, soft} at
// once (before the 204, inbound-dtmf.jsonl seq 27-28), the rest just after.
func (s *Server) hangupChannel(q *req) {
	s.lock()
	defer s.unlock()
	ch := s.live(q.vars["id"])
	if ch == nil {
		q.err(http.StatusNotFound, "Channel not found")
		return
	}
	cause := 16
	reason, code := q.get("reason"), q.get("reason_code")
	switch {
	case reason != "" && code != "":
		q.err(http.StatusBadRequest, "The reason and reason_code can't both be specified")
		return
	case code != "":
		c, ok := leadingInt(code)
		if !ok {
			q.err(http.StatusBadRequest, "Invalid reason for hangup reason code provided")
			return
		}
		cause = c
	case reason != "":
		c, ok := hangupReason(reason)
		if !ok {
			q.err(http.StatusBadRequest, "Invalid reason for hangup reason provided")
			return
		}
		cause = c
	}
	if !ch.hangingUp {
		ch.hangingUp = true
		s.rtpQoS(ch)
		s.hangupRequest(ch, softHangup(32))
		s.after(0, func() { s.appHangup(ch, cause) })
	}
	q.noContent()
}

// appHangup completes an app's hangup of ch with cause.
func (s *Server) appHangup(ch *channel, cause int) {
	if ch.gone {
		return
	}
	switch {
	case ch.kind == kindOriginated && !ch.inStasis && ch.state != "Up":
		// Still ringing: the dial gives up, Dial NOANSWER, the callee gets a
		// CANCEL (caller-abandon.jsonl seq 47-49 and its sip_flow).
		s.dialEvent(ch, "NOANSWER", ch.dialstring)
		ch.call.cancelled()
	default:
		s.teardown(ch)
		ch.call.byeFromAsterisk()
	}
	s.destroy(ch, cause, 0)
}

func (s *Server) answerChannel(q *req) {
	s.lock()
	defer s.unlock()
	ch := s.findControl(q)
	if ch == nil {
		return
	}
	// Answer runs on the command queue and waits for it (res_stasis_answer.c
	// stasis_app_send_command); ChannelStateChange Up goes out before the 204
	// (inbound-dtmf.jsonl seq 13-14). Answering an Up channel again is a
	// silent 204 (errors.jsonl seq 81-82).
	if !s.runSync(q, ch, "answer", func() { s.answer(ch) }) {
		q.err(http.StatusInternalServerError, "Failed to answer channel")
		return
	}
	q.noContent()
}

// answer brings an inbound channel Up.
func (s *Server) answer(ch *channel) {
	if ch.state == "Up" {
		return
	}
	ch.state = "Up"
	s.chanEvent(ch, s.chanEv(ch, "ChannelStateChange"))
	ch.call.answeredByAsterisk()
}

func (s *Server) ringChannel(q *req) {
	s.lock()
	defer s.unlock()
	ch := s.findControl(q)
	if ch == nil {
		return
	}
	// Ring is queued asynchronously; the caller hears 180 and the channel
	// state does not change (inbound-dtmf.jsonl seq 10-11 and its sip_flow).
	s.enqueue(&ch.queue, ch, &command{name: "ring", run: func() bool {
		if !ch.rung && ch.state != "Up" && ch.kind == kindInbound {
			ch.rung = true
			ch.call.sip("recv 180 Ringing")
		}
		return false
	}})
	q.noContent()
}

func (s *Server) ringStopChannel(q *req) {
	s.lock()
	defer s.unlock()
	if s.findControl(q) == nil {
		return
	}
	q.noContent()
}

// holdChannel accepts POST and DELETE /hold: the party is told, nothing else
// changes.
func (s *Server) holdChannel(q *req) {
	s.lock()
	defer s.unlock()
	ch := s.findControl(q)
	if ch == nil {
		return
	}
	ch.call.logf("%s hold", q.r.Method)
	q.noContent()
}

func (s *Server) startChannelMOH(q *req) {
	s.lock()
	defer s.unlock()
	ch := s.findControl(q)
	if ch == nil {
		return
	}
	class := q.get("mohClass")
	if class == "" {
		class = "default"
	}
	// Queued asynchronously; any class is accepted (errors.jsonl seq 111).
	s.enqueue(&ch.queue, ch, &command{name: "moh start", run: func() bool {
		ch.mohOn, ch.mohClass = true, class
		s.mohChanged(ch)
		return false
	}})
	q.noContent()
}

func (s *Server) stopChannelMOH(q *req) {
	s.lock()
	defer s.unlock()
	ch := s.findControl(q)
	if ch == nil {
		return
	}
	// 204 whether or not music was on (errors.jsonl seq 114-115).
	s.enqueue(&ch.queue, ch, &command{name: "moh stop", run: func() bool {
		ch.mohOn = false
		s.mohChanged(ch)
		return false
	}})
	q.noContent()
}

// getChannelVar reads a variable or one of the dialplan functions vhold uses.
func (s *Server) getChannelVar(q *req) {
	s.lock()
	defer s.unlock()
	name := q.get("variable")
	if name == "" {
		q.err(http.StatusBadRequest, "Variable name is required") // errors.jsonl seq 119
		return
	}
	ch := s.live(q.vars["id"])
	if ch == nil || !ch.inStasis {
		q.err(http.StatusNotFound, "Provided channel was not found") // errors.jsonl seq 39
		return
	}
	v, ok := ch.variable(name)
	if !ok {
		q.err(http.StatusNotFound, "Provided variable was not found") // errors.jsonl seq 121
		return
	}
	q.json(http.StatusOK, obj{{"value", v}}) // inbound-dtmf.jsonl seq 9
}

// variable returns a channel variable or dialplan function value.
func (ch *channel) variable(name string) (string, bool) {
	switch name {
	case "CALLERID(num)", "CALLERID(number)":
		return ch.caller.number, true
	case "CALLERID(name)":
		return ch.caller.name, true
	case "CALLERID(all)":
		return `"` + ch.caller.name + `" <` + ch.caller.number + `>`, true
	case "CONNECTEDLINE(num)":
		return ch.connected.number, true
	case "CONNECTEDLINE(name)":
		return ch.connected.name, true
	case "CHANNEL(language)":
		return ch.language, true
	case "CHANNEL(name)":
		return ch.name, true
	case "UNIQUEID", "CHANNEL(uniqueid)":
		return ch.id, true
	}
	v, ok := ch.vars[name]
	return v, ok
}

// setVariable sets a variable or dialplan function and reports it with
// ChannelVarset (errors.jsonl seq 125).
func (s *Server) setVariable(ch *channel, name, value string) {
	switch name {
	case "CALLERID(num)", "CALLERID(number)":
		ch.caller.number = value
	case "CALLERID(name)":
		ch.caller.name = value
	case "CHANNEL(language)":
		ch.language = value
	default:
		ch.vars[name] = value
	}
	s.varset(ch, name, value)
}

func (s *Server) setChannelVar(q *req) {
	s.lock()
	defer s.unlock()
	if !q.has("variable") && q.body == nil {
		// Asterisk 22.10.1 answers this way, not "Variable name is required"
		// as its source suggests (errors.jsonl seq 122-123).
		q.err(http.StatusBadRequest, "Error parsing request body")
		return
	}
	name := q.get("variable")
	if name == "" {
		q.err(http.StatusBadRequest, "Variable name is required")
		return
	}
	ch := s.findControl(q)
	if ch == nil {
		return
	}
	value := q.get("value")
	if !s.runSync(q, ch, "set variable", func() { s.setVariable(ch, name, value) }) {
		q.err(http.StatusBadRequest, "Failed to execute function")
		return
	}
	q.noContent()
}

// continueChannel sends the channel back to the dialplan: StasisEnd, and the
// app hears no more of it (errors.jsonl seq 214-222). The fake has no
// dialplan: the channel is hung up as the traced non-existent context did,
// and the Call records where it was sent.
func (s *Server) continueChannel(q *req) {
	s.lock()
	defer s.unlock()
	ch := s.findControl(q)
	if ch == nil {
		return
	}
	loc := Location{Context: q.get("context"), Exten: q.get("extension"), Priority: q.int("priority", 0), Label: q.get("label")}
	s.enqueue(&ch.queue, ch, &command{name: "continue", run: func() bool {
		if ch.bridge != nil {
			s.leaveBridge(ch, false)
		}
		s.exitStasis(ch)
		ch.call.continuedTo(loc)
		s.chanAfter(ch, sipStep, func() {
			ch.call.byeFromAsterisk()
			s.destroy(ch, 16, 0)
		})
		return false
	}})
	q.noContent()
}

func (s *Server) sendDTMF(q *req) {
	s.lock()
	defer s.unlock()
	dtmf := q.get("dtmf")
	if dtmf == "" {
		q.err(http.StatusBadRequest, "DTMF is required") // errors.jsonl seq 116-117
		return
	}
	ch := s.findControl(q)
	if ch == nil {
		return
	}
	s.enqueue(&ch.queue, ch, &command{name: "dtmf", run: func() bool {
		ch.call.logf("received DTMF %s", dtmf)
		return false
	}})
	q.noContent()
}
