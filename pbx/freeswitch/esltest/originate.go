package esltest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Outcome is what a scripted SIP endpoint does with an INVITE from
// originate.
type Outcome int

const (
	// Answer rings (180: CHANNEL_PROGRESS) for Behaviour.Ring, then answers:
	// CODEC ×2, CHANNEL_ANSWER, CHANNEL_CALLSTATE ACTIVE, CALL_UPDATE, then
	// the originate succeeds (BACKGROUND_JOB "+OK <uuid>") and the leg runs
	// its application, &park() (03-originate-answer.timeline.tsv 0.643 to
	// 1.671).
	Answer Outcome = iota
	// Busy answers 486 after 324 ms: Hangup-Cause USER_BUSY,
	// sip_term_status 486, disposition recv_refuse; the originate fails with
	// "-ERR USER_BUSY" (04-originate-fail.timeline.tsv 0.506 to 0.832).
	Busy
	// NoAnswer rings (180) until originate_timeout: Hangup-Cause NO_ANSWER,
	// FreeSWITCH CANCELs (send_cancel); "-ERR NO_ANSWER"
	// (04-originate-fail.timeline.tsv 1.162 to 5.763).
	NoAnswer
	// Unreachable has nothing listening on the port: the local 503 gives
	// NORMAL_TEMPORARY_FAILURE within 20 ms, hung up in CS_ROUTING
	// (04-originate-fail.timeline.tsv 5.766 to 5.809). A sofia/lab/ dial
	// string no Endpoint matches behaves so.
	Unreachable
	// Reject answers the final SIP status Behaviour.SIPStatus with
	// Hangup-Cause Behaviour.Cause (e.g. 404 and UNALLOCATED_NUMBER, 603
	// and CALL_REJECTED), shaped like Busy. Only 486 is traced.
	Reject
)

// Behaviour scripts an endpoint's answer to originates.
type Behaviour struct {
	Outcome Outcome
	// Ring is how long an Answer endpoint rings before answering (the
	// traced uas-answer rang 1 s; zero means that) or how long a Busy or
	// Reject endpoint takes to refuse (324 ms when zero).
	Ring time.Duration
	// Cause and SIPStatus are a Reject endpoint's failure.
	Cause     string
	SIPStatus int
	// Script is what the answered party does by itself: press digits after
	// hearing a prompt, hang up after a while (the traced agent sent BYE 8 s
	// after the bridge: Step{Delay: 8 * time.Second, HangUp: true}).
	Script Script
	// Speech is how long the party talks when recorded; default 2 s.
	Speech time.Duration
}

// Endpoint is a scripted SIP peer reachable by originate: a dial string
// ("sofia/lab/agent@127.0.0.1:5091") or a pattern with * ("sofia/lab/*@127.0.0.1:5091",
// "sofia/gateway/trunk/*").
type Endpoint struct {
	s       *Server
	pattern string
	beh     Behaviour
	calls   []*Call
}

// Endpoint registers (or re-scripts) the endpoint matching pattern. Exact
// dial strings win over patterns; among patterns the latest registered
// wins. With no match, sofia/lab/... is Unreachable, another sofia profile
// is INVALID_PROFILE (06-errors.esl.txt), loopback/<ext>/<context> runs the
// lab dialplan, and any other technology fails CHAN_NOT_IMPLEMENTED.
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

// Set changes what the endpoint does with the next calls.
func (e *Endpoint) Set(b Behaviour) {
	e.s.lock()
	defer e.s.unlock()
	e.beh = b
}

// Pattern is the dial string or pattern it was registered with.
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

// originateUsage is originate's usage line (06-errors.esl.txt).
const originateUsage = "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]\n"

// originateReq is a parsed originate command.
type originateReq struct {
	vars    []header // {k=v,...} in order
	dial    string   // after the {...}
	app     string   // &app(args): the application
	appArg  string
	exten   string // or a dialplan extension
	cidName string
	cidNum  string
	timeout time.Duration
}

func (r *originateReq) get(k string) (string, bool) {
	for _, h := range r.vars {
		if h.name == k {
			return h.value, true
		}
	}
	return "", false
}

// parseOriginate splits "originate {vars}url &app(args) ...".
func parseOriginate(arg string) (*originateReq, bool) {
	arg = strings.TrimSpace(arg)
	if arg == "" {
		return nil, false
	}
	r := &originateReq{timeout: defaultOriginateTimeout}
	if strings.HasPrefix(arg, "{") {
		end := strings.Index(arg, "}")
		if end < 0 {
			return nil, false
		}
		for _, kv := range strings.Split(arg[1:end], ",") {
			k, v, _ := strings.Cut(kv, "=")
			if k != "" {
				r.vars = append(r.vars, header{k, v})
			}
		}
		arg = arg[end+1:]
	}
	fields := strings.Fields(arg)
	if len(fields) < 2 {
		return nil, false
	}
	r.dial = fields[0]
	target := fields[1]
	if strings.HasPrefix(target, "&") {
		target = target[1:]
		name, rest, _ := strings.Cut(target, "(")
		r.app = name
		r.appArg = strings.TrimSuffix(rest, ")")
	} else {
		r.exten = target
	}
	if len(fields) > 4 {
		r.cidName = fields[4]
	}
	if len(fields) > 5 {
		r.cidNum = fields[5]
	}
	if len(fields) > 6 {
		if n, err := strconv.Atoi(fields[6]); err == nil && n > 0 {
			r.timeout = time.Duration(n) * time.Second
		}
	}
	if v, ok := r.get("originate_timeout"); ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			r.timeout = time.Duration(n) * time.Second
		}
	}
	return r, true
}

// originate runs "originate"; done gets the api body when it ends:
// "+OK <uuid>\n" once the leg answers, "-ERR <CAUSE>\n" otherwise
// (03-originate-answer and 04-originate-fail). The leg's CHANNEL_DESTROY
// waits for that answer: the originating thread owns the session until it
// returns.
func (s *Server) originate(arg string, done func(body string)) {
	r, ok := parseOriginate(arg)
	if !ok {
		done(originateUsage)
		return
	}
	ep := s.findEndpoint(r.dial)
	tech, rest, _ := strings.Cut(r.dial, "/")
	switch {
	case ep != nil:
	case tech == "sofia":
		profileName, _, _ := strings.Cut(rest, "/")
		if profileName != "lab" {
			// 06-errors.esl.txt: "-ERR INVALID_PROFILE", no channel at all.
			done("-ERR INVALID_PROFILE\n")
			return
		}
		ep = &Endpoint{s: s, pattern: r.dial, beh: Behaviour{Outcome: Unreachable}}
	case tech == "loopback":
		s.originateLoopback(r, done)
		return
	default:
		done("-ERR CHAN_NOT_IMPLEMENTED\n")
		return
	}
	s.originateSofia(r, ep, done)
}

// originateSofia creates the outgoing SIP leg: CHANNEL_OUTGOING
// (CS_NONE, state 1), CHANNEL_STATE CS_INIT, CHANNEL_CREATE,
// CHANNEL_ORIGINATE, CHANNEL_STATE CS_ROUTING and CS_CONSUME_MEDIA, all with
// the uuid of origination_uuid from the first one
// (03-originate-answer.timeline.tsv seq 530-535), then the endpoint's
// behaviour.
func (s *Server) originateSofia(r *originateReq, ep *Endpoint, done func(string)) {
	now := s.now()
	uuid, ok := r.get("origination_uuid")
	if !ok || uuid == "" {
		uuid = newUUID()
	}
	if s.live(uuid) != nil {
		// FreeSWITCH refuses a uuid in use (switch_core_session_request_uuid
		// fails); not traced.
		done("-ERR DESTINATION_OUT_OF_ORDER\n")
		return
	}
	_, after, _ := strings.Cut(r.dial, "/")
	_, target, _ := strings.Cut(after, "/")
	if strings.HasPrefix(after, "gateway/") {
		parts := strings.SplitN(after, "/", 3)
		if len(parts) == 3 {
			target = parts[2]
		}
	}
	user, host, _ := strings.Cut(target, "@")
	cidName, cidNum := r.cidName, r.cidNum
	if v, ok := r.get("origination_caller_id_name"); ok {
		cidName = v
	}
	if v, ok := r.get("origination_caller_id_number"); ok {
		cidNum = v
	}
	if cidNum == "" {
		// 04-originate-fail.esl.txt: without a caller id the leg shows
		// Caller-Caller-ID-Number 0000000000 and no name.
		cidNum = "0000000000"
	}
	name := "sofia/" + after
	if strings.HasPrefix(after, "gateway/") {
		name = "sofia/" + after
	}
	b := ep.beh
	if b.Speech == 0 {
		b.Speech = 2 * time.Second
	}
	ch := &channel{
		s: s, kind: kindOutbound, uuid: uuid, name: name,
		direction: "outbound", callUUID: uuid,
		running: "CS_NONE", state: "CS_INIT", callState: "DOWN", answerState: "ringing",
		created: now, records: map[string]*recording{},
	}
	ch.prof = &profile{
		direction: "outbound", logicalDirection: "outbound",
		cidName: cidName, cidNumber: cidNum, origCIDName: cidName, origCIDNumber: cidNum,
		calleeName: "Outbound Call", calleeNumber: user, ani: cidNum, dest: user,
		uuid: uuid, source: "src/switch_ivr_originate.c", context: "default", channelName: name,
		index: 1, created: now.UnixMicro(), chanCreated: now.UnixMicro(),
	}
	c := &Call{s: s, ch: ch, uuid: uuid, ep: ep, script: b.Script, speech: b.Speech, fired: make([]bool, len(b.Script))}
	ch.call = c
	ep.calls = append(ep.calls, c)
	s.register(ch)
	ch.holds++
	c.logf("INVITE from originate to %s as %s", r.dial, uuid)

	// Variables (03-originate-answer.esl.txt CHANNEL_CREATE, seq 532).
	v := &ch.vars
	v.set("direction", "outbound")
	v.set("is_outbound", "true")
	v.set("uuid", uuid)
	v.set("call_uuid", uuid)
	v.set("session_id", strconv.Itoa(s.newSession()))
	v.set("sip_local_network_addr", "127.0.0.1")
	v.set("sip_profile_name", "lab")
	v.set("video_media_flow", "disabled")
	v.set("text_media_flow", "disabled")
	v.set("channel_name", name)
	v.set("sip_destination_url", "sip:"+target)
	for _, h := range r.vars {
		v.set(h.name, h.value)
	}
	v.set("originate_early_media", "false")
	v.set("originate_endpoint", "sofia")
	v.set("rtp_use_codec_string", "PCMU")
	port := strconv.Itoa(31000 + 2*rand.IntN(100))
	v.set("local_media_ip", "127.0.0.1")
	v.set("local_media_port", port)
	v.set("advertised_media_ip", "127.0.0.1")
	v.set("audio_media_flow", "sendrecv")
	v.set("rtp_local_sdp_str", "v=0\r\no=FreeSWITCH 1795227100 1795227101 IN IP4 127.0.0.1\r\ns=FreeSWITCH\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio "+port+" RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n")
	v.set("sip_outgoing_contact_uri", "<sip:mod_sofia@127.0.0.1:5080>")
	v.set("sip_req_uri", target)
	v.set("sip_to_host", host)
	v.set("sip_from_host", "127.0.0.1")
	v.set("sofia_profile_name", "lab")
	v.set("recovery_profile_name", "lab")
	v.set("sofia_profile_url", "sip:mod_sofia@127.0.0.1:5080")

	ch.fire("CHANNEL_OUTGOING", siteOutgoing, false, nil)
	ch.setRunning("CS_INIT")
	ch.request("CS_ROUTING")
	ch.fire("CHANNEL_CREATE", siteCreate, true, nil)
	ch.fire("CHANNEL_ORIGINATE", siteOriginate, true, nil)
	ch.setRunning("CS_ROUTING")

	finish := func(body string) {
		ch.originating = nil
		done(body)
		ch.release()
	}
	start := s.now()
	// Anything else that ends the leg before it answers (uuid_kill, the
	// callee declining) fails the originate with that cause, answered
	// after the leg's CHANNEL_HANGUP_COMPLETE like a busy one.
	var timeout *timer
	ch.originating = func(cause string) {
		timeout.cancel()
		done("-ERR " + cause + "\n")
		s.after(0, ch.release)
	}

	switch b.Outcome {
	case Unreachable:
		// Hung up in CS_ROUTING; the originate answers 20 ms after the
		// leg's CHANNEL_HANGUP_COMPLETE, its destroy follows
		// (04-originate-fail.timeline.tsv 5.789 to 5.809).
		s.after(refuseAfter, func() {
			// The 503 is sofia's own: no Caller-Network-Addr
			// (04-originate-fail.esl.txt seq 641).
			ch.originating = nil
			s.refused(ch, "NORMAL_TEMPORARY_FAILURE", 503)
			s.after(stepGap, func() { finish("-ERR NORMAL_TEMPORARY_FAILURE\n") })
		})
		return
	}
	ch.setRunning("CS_CONSUME_MEDIA")
	switch b.Outcome {
	case Busy, Reject:
		cause, status := "USER_BUSY", 486
		if b.Outcome == Reject {
			cause, status = b.Cause, b.SIPStatus
			if cause == "" {
				cause = "CALL_REJECTED"
			}
			if status == 0 {
				status = 603
			}
		}
		wait := b.Ring
		if wait <= 0 {
			wait = busyAfter
		}
		s.after(wait, func() {
			if !ch.up() {
				return
			}
			ch.prof.networkAddr = "127.0.0.1"
			ch.originating = nil
			s.refused(ch, cause, status)
			// The answer comes after CHANNEL_HANGUP_COMPLETE, before the
			// destroy (04-originate-fail.timeline.tsv seq 600, 589, 601).
			s.after(0, func() { finish("-ERR " + cause + "\n") })
		})
		return
	}
	// Answer and NoAnswer ring first.
	s.after(progressAfter, func() {
		if !ch.up() {
			return
		}
		s.ringing(ch)
	})
	// originate_timeout counts whole seconds: the traced 5 s timeout fired
	// after 4.6 s (04-originate-fail.timeline.tsv 1.162 to 5.762).
	deadline := start.Truncate(time.Second).Add(r.timeout)
	timeout = s.after(deadline.Sub(s.now()), func() {
		if !ch.up() || ch.answered() {
			return
		}
		// NO_ANSWER: the originate answers right after CHANNEL_HANGUP,
		// before the rest of the teardown (04-originate-fail.timeline.tsv
		// seq 627, 618, 628, 629).
		if c := ch.call; c != nil {
			c.cancelledBySwitch()
		}
		ch.originating = nil
		s.hangup(ch, "NO_ANSWER", hangupCancel)
		done("-ERR NO_ANSWER\n")
		s.after(0, func() { ch.release() })
	})
	if b.Outcome != Answer {
		return
	}
	ring := b.Ring
	if ring <= 0 {
		ring = defaultRing
	}
	s.after(progressAfter+ring, func() {
		if !ch.up() || ch.answered() {
			return
		}
		timeout.cancel()
		ch.originating = nil
		s.legAnswered(ch, r)
		finish("+OK " + uuid + "\n")
		s.after(0, func() { s.legApplication(ch, r) })
	})
}

// ringing is a 180 from the peer: CHANNEL_PROGRESS (with Network-Addr and
// the SIP dialog's variables), CHANNEL_CALLSTATE DOWN to RINGING
// (03-originate-answer.timeline.tsv seq 536-537).
func (s *Server) ringing(ch *channel) {
	now := s.now()
	ch.progressAt = now
	ch.prof.progress = now.UnixMicro()
	ch.prof.networkAddr = "127.0.0.1"
	target, user, port := sofiaTarget(ch)
	v := &ch.vars
	s.sipReplyVars(ch)
	branch := "z9hG4bK" + newUUID()[:13]
	toTag := strconv.Itoa(28000+rand.IntN(1000)) + "SIPpTag011"
	fromTag := newUUID()[:13]
	v.set("sip_recover_contact", "<sip:"+target+";transport=UDP>")
	v.set("sip_full_via", "SIP/2.0/UDP 127.0.0.1:5080;rport;branch="+branch)
	v.set("sip_recover_via", "SIP/2.0/UDP 127.0.0.1:5080;rport;branch="+branch)
	from := "<sip:" + ch.prof.origCIDNumber + "@127.0.0.1>"
	if ch.prof.origCIDName != "" {
		v.set("sip_from_display", ch.prof.origCIDName)
		from = fmt.Sprintf("%q %s", ch.prof.origCIDName, from)
	}
	v.set("sip_full_from", from+";tag="+fromTag)
	v.set("sip_full_to", "<sip:"+target+">;tag="+toTag)
	v.set("sip_from_user", ch.prof.origCIDNumber)
	v.set("sip_from_uri", ch.prof.origCIDNumber+"@127.0.0.1")
	v.set("sip_to_user", user)
	v.set("sip_to_port", port)
	v.set("sip_to_uri", target)
	v.set("sip_contact_params", "transport=UDP")
	v.set("sip_contact_user", user)
	v.set("sip_contact_port", port)
	v.set("sip_contact_uri", target)
	v.set("sip_contact_host", "127.0.0.1")
	v.set("sip_to_tag", toTag)
	v.set("sip_from_tag", fromTag)
	v.set("sip_cseq", strconv.Itoa(123075000+rand.IntN(1000)))
	v.set("sip_call_id", newUUID())
	v.put("sip_to_host", "127.0.0.1")
	if c := ch.call; c != nil {
		c.logf("SIP 180 Ringing")
	}
	ch.fire("CHANNEL_PROGRESS", siteProgress, true, nil)
	ch.setCallState("RINGING")
}

// sofiaTarget splits an outgoing sofia channel's name: "agent@127.0.0.1:5091",
// "agent", "5091".
func sofiaTarget(ch *channel) (target, user, port string) {
	rest := strings.TrimPrefix(ch.name, "sofia/")
	_, target, _ = strings.Cut(rest, "/")
	if strings.HasPrefix(rest, "gateway/") {
		parts := strings.SplitN(rest, "/", 3)
		if len(parts) == 3 {
			target = parts[2]
		}
	}
	user, host, _ := strings.Cut(target, "@")
	_, port, _ = strings.Cut(host, ":")
	return target, user, port
}

// sipReplyVars are what the first SIP answer from the peer sets
// (04-originate-fail.esl.txt seq 596; 03-originate-answer.esl.txt seq 536).
func (s *Server) sipReplyVars(ch *channel) {
	_, _, port := sofiaTarget(ch)
	v := &ch.vars
	if _, ok := v.get("sip_call_id"); !ok {
		v.set("sip_call_id", newUUID())
	}
	v.set("sip_reply_host", "127.0.0.1")
	v.set("sip_reply_port", port)
	v.set("sip_network_ip", "127.0.0.1")
	v.set("sip_network_port", port)
}

// refused ends a leg the peer refused: CHANNEL_HANGUP with recv_refuse and
// the status on it, then the usual teardown (04-originate-fail.timeline.tsv
// seq 596-602).
func (s *Server) refused(ch *channel, cause string, status int) {
	if c := ch.call; c != nil {
		c.refusedByParty(status)
	}
	if status == 503 && ch.prof.networkAddr == "" {
		// sofia's own 503 for a dead port: no peer address, ports 0
		// (04-originate-fail.esl.txt seq 641).
		ch.vars.set("sip_call_id", newUUID())
		ch.vars.set("sip_reply_port", "0")
		ch.vars.set("sip_network_port", "0")
	} else if ch.progressAt.IsZero() {
		s.sipReplyVars(ch)
	}
	ch.vars.set("sip_invite_failure_status", strconv.Itoa(status))
	ch.vars.set("sip_invite_failure_phrase", sipReason(status))
	s.hangupStart(ch, cause, hangupRefused, status)
}

// legAnswered is the 200 OK: two CODEC events, CHANNEL_ANSWER (running
// CS_CONSUME_MEDIA), CHANNEL_CALLSTATE ACTIVE and CALL_UPDATE "RECV" from
// switch_channel_flip_cid, which swaps the caller and callee ids
// (03-originate-answer.timeline.tsv seq 540-544).
func (s *Server) legAnswered(ch *channel, r *originateReq) {
	ch.codecEvents(pcmu, siteCodecRealRead)
	v := &ch.vars
	for _, kv := range [][2]string{
		{"switch_r_sdp", "v=0\r\no=labagent 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 32100 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\n"},
		{"ep_codec_string", "CORE_PCM_MODULE.PCMU@8000h@20i@64000b"},
		{"remote_video_media_flow", "inactive"}, {"remote_text_media_flow", "inactive"},
		{"remote_audio_media_flow", "sendrecv"}, {"rtp_audio_recv_pt", "0"},
		{"rtp_use_codec_name", "PCMU"}, {"rtp_use_codec_rate", "8000"}, {"rtp_use_codec_ptime", "20"},
		{"rtp_use_codec_channels", "1"}, {"rtp_last_audio_codec_string", "PCMU@8000h@20i@1c"},
		{"read_codec", "PCMU"}, {"original_read_codec", "PCMU"}, {"read_rate", "8000"},
		{"original_read_rate", "8000"}, {"write_codec", "PCMU"}, {"write_rate", "8000"},
		{"dtmf_type", "rfc2833"},
	} {
		v.set(kv[0], kv[1])
	}
	v.set("remote_media_ip", "127.0.0.1")
	v.set("remote_media_port", "32100")
	s.answer(ch)
	v.set("endpoint_disposition", "ANSWER")
	p := ch.prof
	v.set("pre_transfer_caller_id_name", p.cidName)
	v.set("pre_transfer_caller_id_number", p.cidNumber)
	v.set("channel_cid_flipped", "yes")
	p.cidName, p.calleeName = p.calleeName, p.cidName
	p.cidNumber, p.calleeNumber = p.calleeNumber, p.cidNumber
	// From the answer the leg runs the originate's application as its
	// dialplan: Channel-HIT-Dialplan true until a bridge takes it
	// (03-originate-answer.esl.txt seq 544-548, false again at 551).
	ch.hitDialplan = true
	ch.fire("CALL_UPDATE", siteFlipCID, true, []header{{"Direction", "RECV"}})
}

// legApplication runs the originate's target on the answered leg: &park()
// gives CHANNEL_STATE CS_EXECUTE, CHANNEL_EXECUTE park and CHANNEL_PARK
// (03-originate-answer.timeline.tsv seq 546-548); an extension runs the lab
// dialplan.
func (s *Server) legApplication(ch *channel, r *originateReq) {
	if !ch.up() {
		return
	}
	ch.setRunning("CS_EXECUTE")
	if r.app != "" {
		ch.dialplan = []app{{r.app, r.appArg}}
	} else {
		ch.dialplan = dialplanFor(CallSpec{Dest: r.exten, Queue: "support", Socket: s.opts.SocketAddr})
	}
	s.runDialplan(ch)
}

// originateLoopback is loopback/<ext>/<context>: two legs, A originated
// and B running the lab dialplan for ext. Only the traced case is
// modelled, an extension the dialplan rejects: B executes respond 404 and
// hangs up NORMAL_CLEARING, A follows, and the originate fails "-ERR
// NORMAL_CLEARING". The events and their interleaving are those of
// 04-originate-fail.timeline.tsv seq 650-681 (also 06-errors (c) and (g));
// other extensions fail the same way: the lab never looped back into
// 200-202.
func (s *Server) originateLoopback(r *originateReq, done func(string)) {
	// The whole attempt takes 3 ms with ignore_early_media=true
	// (04-originate-fail.timeline.tsv 5.8102 to 5.8139) and 22 ms without
	// (06-errors.timeline.tsv 6.8175 to 6.8396, 14.8954 to 14.9174): the
	// originate polls its legs on the 20 ms timer unless it ignores early
	// media.
	d := 22 * time.Millisecond
	if v, _ := r.get("ignore_early_media"); truthy(v) {
		d = 3 * time.Millisecond
	}
	s.after(d, func() { s.loopbackLegs(r, done) })
}

// loopbackLegs runs the two legs of a loopback originate.
func (s *Server) loopbackLegs(r *originateReq, done func(string)) {
	now := s.now()
	_, rest, _ := strings.Cut(r.dial, "/")
	ext, ctx, _ := strings.Cut(rest, "/")
	if ctx == "" {
		ctx = "default"
	}
	cidNum := "0000000000"
	if v, ok := r.get("origination_caller_id_number"); ok {
		cidNum = v
	}
	mk := func(leg, name string) *channel {
		uuid := newUUID()
		ch := &channel{s: s, kind: kindLoopback, uuid: uuid, name: name,
			callUUID: uuid, running: "CS_NONE", state: "CS_NEW", callState: "DOWN", answerState: "ringing",
			created: now, records: map[string]*recording{}, holds: 1}
		ch.direction = "outbound"
		if leg == "b" {
			ch.direction, ch.hitDialplan = "inbound", true
		}
		s.register(ch)
		return ch
	}
	prof := func(ch *channel) *profile {
		return &profile{direction: ch.direction, logicalDirection: ch.direction, dialplan: "xml",
			cidNumber: cidNum, origCIDNumber: cidNum, calleeName: "Outbound Call", calleeNumber: ctx,
			ani: cidNum, dest: ext, uuid: ch.uuid, source: "mod_loopback", context: ctx, channelName: ch.name,
			index: 1, created: now.UnixMicro(), chanCreated: now.UnixMicro()}
	}
	// A's codecs are set while it still has its request's name
	// ("loopback/999/public-a"), before it has a caller profile.
	a := mk("a", "loopback/"+ext+"/"+ctx+"-a")
	a.codecEvents(l16, siteCodecRead)
	a.name = "loopback/" + ext + "-a"
	a.prof = prof(a)
	a.state = "CS_INIT"
	a.fire("CHANNEL_OUTGOING", siteOutgoing, false, nil)
	a.setRunning("CS_INIT")
	b := mk("b", "loopback/"+ext+"-b")
	b.codecEvents(l16, siteCodecRead)
	b.prof = prof(b)
	codecVars := func(ch *channel) {
		ch.vars.set("read_codec", "L16")
		ch.vars.set("read_rate", "8000")
		ch.vars.set("write_codec", "L16")
		ch.vars.set("write_rate", "8000")
	}
	av := &a.vars
	av.set("direction", "outbound")
	av.set("is_outbound", "true")
	av.set("uuid", a.uuid)
	av.set("call_uuid", a.uuid)
	av.set("session_id", strconv.Itoa(s.newSession()))
	codecVars(a)
	av.set("channel_name", a.name)
	for _, h := range r.vars {
		av.set(h.name, h.value)
	}
	av.set("originate_early_media", "false")
	av.set("originate_endpoint", "loopback")
	av.set("other_loopback_leg_uuid", b.uuid)
	av.set("loopback_leg", "A")
	bv := &b.vars
	bv.set("direction", "inbound")
	bv.set("uuid", b.uuid)
	bv.set("call_uuid", b.uuid)
	bv.set("session_id", strconv.Itoa(s.newSession()))
	bv.set("channel_name", b.name)
	codecVars(b)
	for _, h := range r.vars {
		if h.name != "origination_uuid" {
			bv.set(h.name, h.value)
		}
	}
	bv.set("other_loopback_leg_uuid", a.uuid)
	bv.set("loopback_leg", "B")

	a.request("CS_ROUTING")
	a.fire("CHANNEL_CREATE", siteCreate, true, nil)
	a.fire("CHANNEL_ORIGINATE", siteOriginate, true, nil)
	a.setRunning("CS_ROUTING")
	a.setRunning("CS_CONSUME_MEDIA")
	b.setRunning("CS_INIT")
	b.request("CS_ROUTING")
	b.fire("CHANNEL_CREATE", siteCreate, true, nil)
	b.running = "CS_ROUTING"
	b.setCallState("RINGING")
	b.setRunning("CS_ROUTING")
	b.setRunning("CS_EXECUTE")
	b.execApp("respond", "404", newUUID(), nil, nil)
	start := func(ch *channel) {
		ch.hangingUp = true
		ch.cause = "NORMAL_CLEARING"
		ch.request("CS_HANGUP")
		ch.answerState = "hangup"
		ch.fire("CHANNEL_HANGUP", siteHangup, true, nil)
	}
	start(b)
	b.setRunning("CS_HANGUP")
	s.hungUpTime(b)
	b.setCallState("HANGUP")
	start(a)
	b.setRunning("CS_REPORTING")
	done("-ERR NORMAL_CLEARING\n")
	b.cdrVars(s.now())
	b.vars.set("is_loopback", "1")
	b.fire("CHANNEL_HANGUP_COMPLETE", siteHangupComplete, true, []header{{"Hangup-Cause", b.cause}})
	a.setRunning("CS_HANGUP")
	s.hungUpTime(a)
	a.setCallState("HANGUP")
	s.reportingOnly(a)
	s.destroy(a)
	s.destroy(b)
}

func sipReason(status int) string {
	switch status {
	case 404:
		return "Not Found"
	case 408:
		return "Request Timeout"
	case 480:
		return "Temporarily Unavailable"
	case 486:
		return "Busy Here"
	case 487:
		return "Request Terminated"
	case 503:
		return "Service Unavailable"
	case 603:
		return "Decline"
	}
	return fmt.Sprintf("Status %d", status)
}
