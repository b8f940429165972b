package aritest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Outcome is what a scripted endpoint does with an INVITE.
type Outcome int

const (
	// Answer rings for Behaviour.Ring, then answers: Dial "", ChannelStateChange
	// Ringing, Dial RINGING, ChannelStateChange Up, Dial ANSWER, StasisStart
	// with appArgs, which comes only after the answer (originate-answer.jsonl
	// seq 16-22).
	Answer Outcome = iota
	// Busy answers 486: ChannelHangupRequest {17, tech_cause 486}, Dial BUSY,
	// ChannelDestroyed 17 "User busy" (originate-fail.jsonl seq 14-17).
	Busy
	// NoAnswer rings until the originate timeout: ChannelDestroyed 19 "User
	// alerting, no answer", tech_cause 480, and no final Dial event
	// (originate-fail.jsonl seq 25-30).
	NoAnswer
	// Ghost is a contact nobody listens at: no ringing; within 32 s the
	// timeout looks exactly like NoAnswer (originate-fail.jsonl seq 38-39);
	// with a longer one SIP Timer B fires at 32 s: ChannelHangupRequest
	// {18, 408}, Dial NOANSWER, ChannelDestroyed 18 "No user responding"
	// (seq 47-50).
	Ghost
	// Unreachable has no contact at all: originate and create fail at once
	// with 500 {"error":"Allocation failed"} (originate-fail.jsonl seq 52-53).
	Unreachable
	// Reject answers with the final SIP status Behaviour.SIPStatus and cause
	// Behaviour.Cause, as Busy does for 486/17. Not traced beyond Busy; the
	// Dial status is inferred from the cause.
	Reject
)

// Behaviour scripts an endpoint's answer to originates.
type Behaviour struct {
	Outcome Outcome
	// Ring is how long an Answer endpoint rings before answering; the traced
	// uas-answer.xml rang 1 s. Zero answers without ringing.
	Ring time.Duration
	// Cause and SIPStatus are a Reject endpoint's failure (21 and 603 for a
	// decline, 1 and 404 for an unknown number, 34 and 503 for congestion).
	Cause, SIPStatus int
	// Context is the dialplan context of its channels (its pjsip.conf
	// endpoint); default "from-agents", the traced endpoints' context.
	Context string
	// Script is what the answered party does by itself: press digits after
	// hearing a prompt, hang up after a while (uas-answer-bye.xml hung up 5 s
	// after answering: Step{Delay: 5 * time.Second, HangUp: true}).
	Script Script
	// Speech is how long the party talks when recorded; default 2 s.
	Speech time.Duration
}

// Endpoint is a scripted SIP peer reachable by originate: one exact endpoint
// ("PJSIP/agent1") or a pattern with * ("PJSIP/+34*@trunk").
type Endpoint struct {
	s       *Server
	pattern string
	beh     Behaviour
	calls   []*Call
	flow    []string
}

// Endpoint registers (or re-scripts) the endpoint matching pattern. An
// originate to an endpoint string nothing matches fails like an unknown
// endpoint: 500 Allocation failed (originate-fail.jsonl seq 55-59). Exact
// names win over patterns; among patterns the latest registered wins.
func (s *Server) Endpoint(pattern string, b Behaviour) *Endpoint {
	s.lock()
	defer s.unlock()
	for _, e := range s.endpoints {
		if e.pattern == pattern {
			e.beh = b
			return e
		}
	}
	e := &Endpoint{s: s, pattern: pattern, beh: b}
	s.endpoints = append(s.endpoints, e)
	return e
}

// Set changes what the endpoint does with the next calls (an agent goes
// busy, a customer stops answering).
func (e *Endpoint) Set(b Behaviour) {
	e.s.lock()
	defer e.s.unlock()
	e.beh = b
}

// Pattern is the endpoint string or pattern it was registered with.
func (e *Endpoint) Pattern() string { return e.pattern }

// Calls lists the calls originated to the endpoint, in order.
func (e *Endpoint) Calls() []*Call {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	return slices.Clone(e.calls)
}

// WaitCall waits for the n-th call (1-based) originated to the endpoint.
func (e *Endpoint) WaitCall(ctx context.Context, n int) (*Call, error) {
	var c *Call
	err := e.s.WaitFor(ctx, func() bool {
		calls := e.Calls()
		if len(calls) >= n {
			c = calls[n-1]
			return true
		}
		return false
	})
	return c, err
}

// SIPFlow lists every SIP message of every call to the endpoint, in order,
// as a sipp UAS serving it would log them (the traces' sipp_exit sip_flow).
func (e *Endpoint) SIPFlow() []string {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	return slices.Clone(e.flow)
}

// findEndpoint resolves an originate's endpoint string.
func (s *Server) findEndpoint(dial string) *Endpoint {
	for _, e := range s.endpoints {
		if e.pattern == dial {
			return e
		}
	}
	for i := len(s.endpoints) - 1; i >= 0; i-- {
		if e := s.endpoints[i]; strings.Contains(e.pattern, "*") && globMatch(e.pattern, dial) {
			return e
		}
	}
	return nil
}

// splitEndpoint splits "PJSIP/+34911@trunk" into the technology, the resource
// the channel is named after ("trunk", as chan_pjsip names by endpoint) and
// the dial string ("+34911@trunk", the Dial event's dialstring).
func splitEndpoint(dial string) (tech, resource, dialstring string, ok bool) {
	tech, dialstring, ok = strings.Cut(dial, "/")
	if !ok || tech == "" || dialstring == "" {
		return "", "", "", false
	}
	resource = dialstring
	if tech == "PJSIP" || tech == "SIP" {
		if _, after, found := strings.Cut(dialstring, "@"); found {
			resource = after
		}
	}
	return tech, resource, dialstring, true
}

// parseCallerID splits `"VHold Queue" <7000>` as ast_callerid_parse does.
func parseCallerID(s string) (name, number string) {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "<"); i >= 0 {
		if j := strings.Index(s[i:], ">"); j > 0 {
			number = s[i+1 : i+j]
			name = strings.Trim(strings.TrimSpace(s[:i]), `"`)
			return name, number
		}
	}
	if strings.Trim(s, "+0123456789*#-() ") == "" {
		return "", strings.NewReplacer("-", "", "(", "", ")", "", " ", "").Replace(s)
	}
	return strings.Trim(s, `"`), ""
}

// newOutbound allocates an outgoing channel to ep, or answers the request
// with the error Asterisk gives and returns nil.
func (s *Server) newOutbound(q *req, kind chanKind) *channel {
	dial := q.get("endpoint")
	if dial == "" {
		q.err(http.StatusBadRequest, "Endpoint must be specified") // errors.jsonl seq 45-46
		return nil
	}
	tech, resource, dialstring, ok := splitEndpoint(dial)
	if !ok {
		q.err(http.StatusBadRequest, "Invalid endpoint specified")
		return nil
	}
	app := q.get("app")
	if kind == kindOriginated && app == "" && q.get("extension") == "" {
		q.err(http.StatusBadRequest, "Application or extension must be specified") // errors.jsonl seq 47-48
		return nil
	}
	if kind == kindCreated && app == "" {
		q.err(http.StatusBadRequest, "Application must be specified")
		return nil
	}
	id := q.vars["id"]
	if id == "" {
		id = q.get("channelId")
	}
	if id != "" && s.live(id) != nil {
		q.err(http.StatusConflict, "Channel with given unique ID already exists") // errors.jsonl seq 83-84
		return nil
	}
	ep := s.findEndpoint(dial)
	if ep == nil || ep.beh.Outcome == Unreachable {
		// No endpoint, no contact, or an unknown technology alike
		// (originate-fail.jsonl seq 52-59, 127-128).
		q.allocFailed()
		return nil
	}
	uid := s.newUniqueID()
	if id == "" {
		id = uid
	}
	b := ep.beh
	if b.Context == "" {
		b.Context = "from-agents"
	}
	if b.Speech == 0 {
		b.Speech = defaultSpeech
	}
	c := &Call{s: s, ep: ep, script: b.Script, speech: b.Speech, fired: make([]bool, len(b.Script)), silent: b.Outcome == Ghost}
	var args []string
	if a := q.get("appArgs"); a != "" {
		args = strings.Split(a, ",")
	}
	ch := &channel{
		id:         id,
		name:       s.newChannelName(tech, resource),
		state:      "Down",
		protocolID: newUUID(),
		context:    b.Context,
		exten:      "s",
		priority:   1,
		created:    s.now(),
		language:   "en",
		vars:       map[string]string{},
		kind:       kind,
		app:        app,
		args:       args,
		appSub:     app != "",
		tech:       tech,
		resource:   resource,
		dialstring: dialstring,
		ep:         ep,
		beh:        b,
		call:       c,
	}
	c.ch, c.id, c.name = ch, ch.id, ch.name
	ep.calls = append(ep.calls, c)
	s.register(ch)
	return ch
}

// originate is POST /channels and POST /channels/{channelId}: 200 with the
// channel Down at once, the call's progress as events afterwards.
func (s *Server) originate(q *req) {
	s.lock()
	defer s.unlock()
	ch := s.newOutbound(q, kindOriginated)
	if ch == nil {
		return
	}
	ch.appName, ch.appData = "AppDial2", "(Outgoing Line)"
	// Snapshots of the set-up steps, for subscribeAll and endpoint
	// subscriptions (originate-fail.jsonl seq 10-13).
	bare := *ch
	bare.appName, bare.appData = "", ""
	created := bare.snap()
	dialplan := (*ch).snap()
	var callerID, connected obj
	if cid := q.get("callerId"); cid != "" {
		name, number := parseCallerID(cid)
		ch.caller = party{name, number}
		withCaller := *ch
		callerID = withCaller.snap()
		ch.connected = party{name, number}
		connected = ch.snap()
	}
	for _, v := range q.variables() {
		s.setVariableQuiet(ch, v[0], v[1]) // CALLERID(name) overrides callerId (originate-answer.jsonl seq 72-73)
	}
	timeout := 30 * time.Second
	switch t := q.int("timeout", 0); {
	case t > 0:
		timeout = time.Duration(t) * time.Second
	case t == -1:
		timeout = 0
	}
	s.after(0, func() {
		s.endpointEvent(ch)
		s.createdEvent(ch, s.ev("ChannelCreated", kv{"channel", created}))
		s.createdEvent(ch, s.ev("ChannelDialplan", kv{"dialplan_app", "AppDial2"}, kv{"dialplan_app_data", "(Outgoing Line)"}, kv{"channel", dialplan}))
		if callerID != nil {
			s.createdEvent(ch, s.ev("ChannelCallerId", kv{"caller_presentation", 0}, kv{"caller_presentation_txt", "Presentation Allowed, Not Screened"}, kv{"channel", callerID}))
			s.createdEvent(ch, s.ev("ChannelConnectedLine", kv{"channel", connected}))
		}
	})
	s.dial(ch, timeout)
	s.logf("originate %s to %s (timeout %v)", ch.id, ch.dialstring, timeout)
	q.json(http.StatusOK, ch.snap())
}

// setVariableQuiet sets a variable before the app follows the channel.
func (s *Server) setVariableQuiet(ch *channel, name, value string) {
	switch name {
	case "CALLERID(num)", "CALLERID(number)":
		ch.caller.number = value
	case "CALLERID(name)":
		ch.caller.name = value
	default:
		ch.vars[name] = value
	}
}

// createChannel is POST /channels/create: the channel enters Stasis at once,
// in state Down, with no caller id (originate-fail.jsonl seq 61-68); /dial
// then calls out.
func (s *Server) createChannel(q *req) {
	s.lock()
	defer s.unlock()
	ch := s.newOutbound(q, kindCreated)
	if ch == nil {
		return
	}
	for _, v := range q.variables() {
		s.setVariableQuiet(ch, v[0], v[1])
	}
	s.createdEvent(ch, s.ev("ChannelCreated", kv{"channel", ch.snap()}))
	body := ch.snap()
	s.after(0, func() {
		if ch.gone {
			return
		}
		ch.appName = "Stasis"
		ch.appData = strings.Join(append([]string{ch.app}, ch.args...), ",")
		s.createdEvent(ch, s.ev("ChannelDialplan", kv{"dialplan_app", "Stasis"}, kv{"dialplan_app_data", ch.appData}, kv{"channel", ch.snap()}))
		s.varset(ch, "STASISSTATUS", "")
		if !s.apps[ch.app].active() {
			s.destroy(ch, 16, 0)
			return
		}
		s.enterStasis(ch)
	})
	q.json(http.StatusOK, body)
}

// dialChannel is POST /channels/{id}/dial for a created channel: 204, then
// the call's progress; failures hang the channel up by themselves
// (originate-fail.jsonl seq 69-75).
func (s *Server) dialChannel(q *req) {
	s.lock()
	defer s.unlock()
	ch := s.findControl(q)
	if ch == nil {
		return
	}
	if ch.kind != kindCreated || ch.dialed {
		q.err(http.StatusConflict, "Channel cannot be dialed.")
		return
	}
	ch.dialed = true
	var timeout time.Duration
	if t := q.int("timeout", 0); t > 0 {
		timeout = time.Duration(t) * time.Second
	}
	s.enqueue(&ch.queue, ch, &command{name: "dial", run: func() bool {
		s.dial(ch, timeout)
		return false
	}})
	q.noContent()
}

// dialEvent sends Dial for ch as the peer of a dial with no caller channel.
func (s *Server) dialEvent(ch *channel, status, dialstring string) {
	s.chanEvent(ch, s.ev("Dial", kv{"dialstatus", status}, kv{"forward", ""}, kv{"dialstring", dialstring}, kv{"peer", ch.snap()}))
}

// laterDialstring is the dialstring of Dial events after the first: the
// originated call repeats it, a created channel's dial leaves it empty
// (originate-fail.jsonl seq 90, 110, 113).
func (ch *channel) laterDialstring() string {
	if ch.kind == kindCreated {
		return ""
	}
	return ch.dialstring
}

// dial runs ch's outgoing call per its endpoint's behaviour. timeout 0 rings
// for ever.
func (s *Server) dial(ch *channel, timeout time.Duration) {
	b, c := ch.beh, ch.call
	s.chanAfter(ch, sipStep, func() {
		s.dialEvent(ch, "", ch.dialstring)
		c.sip("recv INVITE", "sent 100 Trying")
		switch b.Outcome {
		case Busy:
			s.chanAfter(ch, sipStep, func() { s.dialFailed(ch, 17, 486, "sent 486 Busy Here") })
		case Reject:
			s.chanAfter(ch, sipStep, func() {
				s.dialFailed(ch, b.Cause, b.SIPStatus, fmt.Sprintf("sent %d %s", b.SIPStatus, sipReason(b.SIPStatus)))
			})
		case Answer:
			if b.Ring <= 0 {
				s.chanAfter(ch, sipStep, func() { s.partyAnswered(ch) })
				break
			}
			s.chanAfter(ch, sipStep, func() { s.ringing(ch) })
			s.chanAfter(ch, sipStep+b.Ring, func() {
				if ch.state == "Ringing" {
					s.partyAnswered(ch)
				}
			})
		case NoAnswer:
			s.chanAfter(ch, sipStep, func() { s.ringing(ch) })
		}
	})
	switch {
	case b.Outcome == Ghost && (timeout <= 0 || timeout >= timerB):
		s.chanAfter(ch, timerB, func() { s.timerB(ch) })
	case timeout > 0 && (b.Outcome == Answer || b.Outcome == NoAnswer || b.Outcome == Ghost):
		s.chanAfter(ch, timeout, func() {
			if ch.state != "Up" {
				s.noAnswer(ch)
			}
		})
	}
}

// ringing: 180 from the callee. ChannelStateChange Ringing, then Dial RINGING
// (originate-answer.jsonl seq 75-76; the opposite order also occurs, seq
// 17-18).
func (s *Server) ringing(ch *channel) {
	ch.state = "Ringing"
	ch.call.sip("sent 180 Ringing")
	s.chanEvent(ch, s.chanEv(ch, "ChannelStateChange"))
	s.setDevState(ch, "RINGING")
	s.dialEvent(ch, "RINGING", ch.laterDialstring())
}

// partyAnswered: 200 OK from the callee. An originated channel enters Stasis
// only now (originate-answer.jsonl seq 19-22); a created one is already in it
// and gets no second StasisStart (originate-fail.jsonl seq 111-113).
func (s *Server) partyAnswered(ch *channel) {
	ch.state = "Up"
	s.chanEvent(ch, s.chanEv(ch, "ChannelStateChange"))
	s.setDevState(ch, "INUSE")
	s.dialEvent(ch, "ANSWER", ch.laterDialstring())
	ch.call.answeredByParty()
	if ch.kind != kindOriginated || ch.app == "" {
		return
	}
	s.varset(ch, "STASISSTATUS", "")
	if !s.apps[ch.app].active() {
		// Stasis() fails for an app without a WebSocket; the dial thread
		// hangs the channel up.
		ch.call.byeFromAsterisk()
		s.destroy(ch, 16, 0)
		return
	}
	s.enterStasis(ch)
}

// noAnswer: the originate or dial timeout expired while ringing.
func (s *Server) noAnswer(ch *channel) {
	if ch.kind == kindCreated {
		// originate-fail.jsonl seq 91-95.
		s.hangupRequest(ch, softHangup(32))
		s.teardown(ch)
		ch.call.cancelled()
		s.destroy(ch, 19, 480)
		return
	}
	// originate-fail.jsonl seq 29-30: the device goes idle first, then
	// ChannelDestroyed; no hangup request, no final Dial event.
	s.setDevState(ch, "NOT_INUSE")
	ch.call.cancelled()
	s.destroy(ch, 19, 480)
}

// timerB: nobody answered the INVITE for 32 s (originate-fail.jsonl seq 48-50).
func (s *Server) timerB(ch *channel) {
	if ch.state == "Up" {
		return
	}
	s.hangupRequest(ch, obj{{"cause", 18}, {"tech_cause", 408}})
	if ch.kind == kindCreated {
		s.teardown(ch)
	} else {
		s.dialEvent(ch, "NOANSWER", ch.laterDialstring())
	}
	s.destroy(ch, 18, 408)
}

// dialFailed: a final SIP failure. Originated: ChannelHangupRequest with cause
// and tech_cause, Dial with the status, ChannelDestroyed (originate-fail.jsonl
// seq 15-17). Created: no Dial event but StasisEnd (seq 72-75).
func (s *Server) dialFailed(ch *channel, cause, sipStatus int, sipLine string) {
	if ch.gone || ch.state == "Up" {
		return
	}
	ch.call.sip(sipLine, "recv ACK")
	s.hangupRequest(ch, obj{{"cause", cause}, {"tech_cause", sipStatus}})
	if ch.kind == kindCreated {
		s.teardown(ch)
	} else {
		s.dialEvent(ch, dialStatus(cause), ch.laterDialstring())
	}
	s.destroy(ch, cause, sipStatus)
}

// dialStatus is the Dial event status for a failure cause: BUSY for 17 as
// traced; the others follow Asterisk's usual mapping.
func dialStatus(cause int) string {
	switch cause {
	case 17:
		return "BUSY"
	case 18, 19:
		return "NOANSWER"
	case 1, 3, 20, 27:
		return "CHANUNAVAIL"
	}
	return "CONGESTION"
}

func sipReason(status int) string {
	switch status {
	case 404:
		return "Not Found"
	case 480:
		return "Temporarily Unavailable"
	case 486:
		return "Busy Here"
	case 503:
		return "Service Unavailable"
	case 603:
		return "Decline"
	}
	return "Failure"
}
