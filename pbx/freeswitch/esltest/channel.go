package esltest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// vars is a channel's variables in FreeSWITCH's order. Setting a variable
// removes it and appends it again, as switch_channel_set_variable does: in
// 03-originate-answer.esl.txt variable_call_uuid moves to the end when the
// bridge ends.
type vars struct {
	keys []string
	vals map[string]string
}

func (v *vars) set(k, val string) {
	if v.vals == nil {
		v.vals = map[string]string{}
	}
	v.del(k)
	v.keys = append(v.keys, k)
	v.vals[k] = val
}

// put sets k keeping its place if it exists (sofia updating a SIP variable
// in place, 01-inbound-dtmf.esl.txt variable_sip_full_via).
func (v *vars) put(k, val string) {
	if _, ok := v.vals[k]; ok {
		v.vals[k] = val
		return
	}
	v.set(k, val)
}

func (v *vars) del(k string) {
	if _, ok := v.vals[k]; !ok {
		return
	}
	delete(v.vals, k)
	v.keys = slices.DeleteFunc(v.keys, func(x string) bool { return x == k })
}

func (v *vars) get(k string) (string, bool) {
	val, ok := v.vals[k]
	return val, ok
}

func (v *vars) headers() []header {
	hs := make([]header, 0, len(v.keys))
	for _, k := range v.keys {
		hs = append(hs, header{"variable_" + k, v.vals[k]})
	}
	return hs
}

// chanKind is where a channel came from.
type chanKind int

const (
	kindInbound  chanKind = iota // a SIP caller into the dialplan
	kindOutbound                 // an originated sofia leg
	kindLoopback                 // a loopback leg (A: originated, B: in the dialplan)
)

// channel is one FreeSWITCH session.
type channel struct {
	s    *Server
	kind chanKind
	uuid string
	name string // Channel-Name

	direction   string // Call-Direction: inbound or outbound
	hitDialplan bool   // Channel-HIT-Dialplan
	callUUID    string // Channel-Call-UUID
	running     string // Channel-State: the running state
	state       string // Channel-State-Number's state: the one asked for
	callState   string // Channel-Call-State
	answerState string // Answer-State: ringing, early, answered, hangup
	cause       string // Hangup-Cause once hanging up

	readCodec, writeCodec *codec
	prof                  *profile
	otherType             string // "originator" or "originatee" once bridged
	otherProf             *profile
	vars                  vars

	created    time.Time
	answeredAt time.Time
	progressAt time.Time
	bridgedAt  time.Time
	digits     string // every DTMF digit, for variable_digits_dialed

	// execution
	dialplan   []app  // the extension's applications (inbound calls)
	dpNext     int    // next dialplan application
	host       *exec  // the application the channel sits in: park or socket
	current    *exec  // the innermost running application
	queue      []*job // private events waiting: broadcasts, sendmsg executes
	jobTimer   *timer
	lastApp    string
	lastArg    string
	bridge     *bridge
	park       bool // park_after_bridge parked it in CS_PARK state
	leaving    bool // a uuid_bridge is taking it out of park
	dialogVars bool // the answered dialog's To tag is due at the next application
	// originating fails the originate still waiting for this leg.
	originating func(cause string)
	hangingUp   bool
	gone        bool   // destroyed
	holds       int    // an originate still owns the session: no CHANNEL_DESTROY yet
	onRelease   func() // the destroy waiting for holds to drop
	onReported  func() // runs after CHANNEL_HANGUP_COMPLETE (a bridge peer's teardown)
	// Hooks into the teardown, for a bridge peer whose end interleaves
	// with this channel's (bridge.go): after CHANNEL_CALLSTATE HANGUP,
	// after CHANNEL_STATE CS_REPORTING, after CHANNEL_STATE CS_DESTROY.
	onHungUp, onReporting, onDestroyed func()
	remote                             bool // the far end hung up (recv_bye / recv_refuse)

	call     *Call // the party on the other side of the SIP leg
	outbound *conn // the outbound-mode connection controlling it
	records  map[string]*recording
}

// app is one dialplan application.
type app struct {
	name, data string
}

// register adds a channel to the server's tables.
func (s *Server) register(ch *channel) {
	s.channels[ch.uuid] = ch
	s.chanOrder = append(s.chanOrder, ch)
	s.since++
	if n := s.liveCount(); n > s.peak {
		s.peak = n
	}
}

func (s *Server) liveCount() int {
	n := 0
	for _, ch := range s.chanOrder {
		if !ch.gone {
			n++
		}
	}
	return n
}

// live returns the channel with uuid if it exists and is not destroyed.
func (s *Server) live(uuid string) *channel {
	if ch := s.channels[uuid]; ch != nil && !ch.gone {
		return ch
	}
	return nil
}

// up says whether the channel can still be controlled: it exists and has
// not started hanging up (what uuid_* commands and sendmsg check).
func (ch *channel) up() bool { return ch != nil && !ch.gone && !ch.hangingUp }

// answered says whether the channel has media to play to and DTMF from.
func (ch *channel) answered() bool { return !ch.answeredAt.IsZero() }

// data is switch_channel_event_set_data: the channel block of an event
// (01-inbound-dtmf.esl.txt): Channel-State ... Answer-State, Hangup-Cause
// once hanging up, the codecs once set, the caller profile, the bridge
// peer's profile, and the variables for the event types that carry them.
func (ch *channel) data(withVars bool) []header {
	hs := []header{
		{"Channel-State", ch.running},
		{"Channel-Call-State", ch.callState},
		{"Channel-State-Number", strconv.Itoa(stateNumbers[ch.state])},
		{"Channel-Name", ch.name},
		{"Unique-ID", ch.uuid},
		{"Call-Direction", ch.direction},
		{"Presence-Call-Direction", ch.direction},
		{"Channel-HIT-Dialplan", strconv.FormatBool(ch.hitDialplan)},
		{"Channel-Call-UUID", ch.callUUID},
		{"Answer-State", ch.answerState},
	}
	if ch.cause != "" {
		hs = append(hs, header{"Hangup-Cause", ch.cause})
	}
	if ch.readCodec != nil {
		hs = append(hs, ch.readCodec.headers("Read")...)
	}
	if ch.writeCodec != nil {
		hs = append(hs, ch.writeCodec.headers("Write")...)
	}
	if ch.prof != nil {
		hs = append(hs, ch.prof.headers("Caller-")...)
	}
	if ch.otherProf != nil {
		hs = append(hs, header{"Other-Type", ch.otherType})
		hs = append(hs, ch.otherProf.headers("Other-Leg-")...)
	}
	if withVars {
		hs = append(hs, ch.vars.headers()...)
	}
	return hs
}

// event builds a channel event: base headers, the event's own leading
// headers, the channel data, then its trailing headers.
func (ch *channel) event(name string, at site, withVars bool, lead []header, trail ...header) *event {
	e := ch.s.newEvent(name, at)
	e.uuid = ch.uuid
	e.addAll(lead)
	e.addAll(ch.data(withVars))
	e.addAll(trail)
	return e
}

// fire builds and sends a channel event.
func (ch *channel) fire(name string, at site, withVars bool, lead []header, trail ...header) {
	ch.s.fire(ch.event(name, at, withVars, lead, trail...))
}

// setRunning moves the channel's running state and fires CHANNEL_STATE
// (never with variables, 01-inbound-dtmf.esl.txt). In every traced
// CHANNEL_STATE the state asked for equals the running one, so both move.
func (ch *channel) setRunning(st string) {
	ch.running = st
	ch.state = st
	ch.fire("CHANNEL_STATE", siteState, false, nil)
}

// request asks for a state the channel has not reached yet: events until it
// gets there show Channel-State-Number of the new state with the old
// Channel-State (CHANNEL_CREATE: CS_INIT with 2, 01-inbound-dtmf.esl.txt seq
// 419; CHANNEL_HANGUP: CS_EXECUTE with 10, seq 446).
func (ch *channel) request(st string) { ch.state = st }

// setCallState moves Channel-Call-State and fires CHANNEL_CALLSTATE with
// Original-Channel-Call-State and Channel-Call-State-Number first
// (01-inbound-dtmf.esl.txt seq 420).
func (ch *channel) setCallState(cs string) {
	old := ch.callState
	ch.callState = cs
	ch.fire("CHANNEL_CALLSTATE", siteCallState, false, []header{
		{"Original-Channel-Call-State", old},
		{"Channel-Call-State-Number", strconv.Itoa(callStateNumbers[cs])},
	})
}

// codecEvents sets the codecs and fires the two CODEC events
// (01-inbound-dtmf.esl.txt seq 416-417): the first repeats the read codec
// in lower case, the second the write codec with a lower-case
// "bit-rate". loopback legs use switch_core_session_set_read_codec, before
// any caller profile (04-originate-fail.esl.txt seq 650-651).
func (ch *channel) codecEvents(c codec, read site) {
	ch.readCodec = &c
	if read == siteCodecRead {
		// A loopback leg: the read codec alone first.
		e := ch.s.newEvent("CODEC", read)
		e.uuid = ch.uuid
		hs := ch.data(false)
		e.addAll(hs)
		e.add("channel-read-codec-name", c.name)
		e.add("channel-read-codec-rate", strconv.Itoa(c.rate))
		e.add("channel-read-codec-bit-rate", strconv.Itoa(c.bitRate))
		ch.s.fire(e)
		ch.writeCodec = &c
	} else {
		ch.writeCodec = &c
		ch.fire("CODEC", read, false, nil,
			header{"channel-read-codec-name", c.name},
			header{"channel-read-codec-rate", strconv.Itoa(c.rate)},
			header{"channel-read-codec-bit-rate", strconv.Itoa(c.bitRate)})
	}
	ch.fire("CODEC", siteCodecWrite, false, nil,
		header{"Channel-Write-Codec-Name", c.name},
		header{"Channel-Write-Codec-Rate", strconv.Itoa(c.rate)},
		header{"Channel-Write-codec-bit-rate", strconv.Itoa(c.bitRate)})
}

// newSession takes the next session_id (variable_session_id counts the
// sessions since FreeSWITCH started: 1 in 01-inbound-dtmf, 11 in
// 05-outbound-mode).
func (s *Server) newSession() int {
	s.session++
	return s.session
}

// inboundSIPVars are the variables sofia gives an incoming call before the
// dialplan runs, in its order (01-inbound-dtmf.esl.txt CHANNEL_CREATE, 67
// variables). Values that come from the SIP and RTP stacks (tags, ports,
// the SDP) are made up in the same shape.
func (s *Server) inboundSIPVars(ch *channel, spec CallSpec, session int) {
	v := &ch.vars
	pid := 27000 + rand.IntN(2000)
	from := spec.CallerNumber + "@127.0.0.1:5094"
	to := spec.Dest + "@127.0.0.1:5080"
	v.set("direction", "inbound")
	v.set("uuid", ch.uuid)
	v.set("call_uuid", ch.uuid)
	v.set("session_id", strconv.Itoa(session))
	v.set("sip_from_user", spec.CallerNumber)
	v.set("sip_from_port", "5094")
	v.set("sip_from_uri", from)
	v.set("sip_from_host", "127.0.0.1")
	v.set("video_media_flow", "disabled")
	v.set("text_media_flow", "disabled")
	v.set("channel_name", ch.name)
	v.set("sip_call_id", fmt.Sprintf("%d-%d@127.0.0.1", session, pid))
	v.set("sip_local_network_addr", "127.0.0.1")
	v.set("sip_network_ip", "127.0.0.1")
	v.set("sip_network_port", "5094")
	v.set("sip_invite_stamp", strconv.FormatInt(ch.created.UnixMicro(), 10))
	v.set("sip_received_ip", "127.0.0.1")
	v.set("sip_received_port", "5094")
	v.set("sip_via_protocol", "udp")
	v.set("sip_from_user_stripped", spec.CallerNumber)
	v.set("sip_from_tag", fmt.Sprintf("%dSIPpTag001", pid))
	v.set("sofia_profile_name", "lab")
	v.set("sofia_profile_url", "sip:mod_sofia@127.0.0.1:5080")
	v.set("recovery_profile_name", "lab")
	v.set("sip_full_via", fmt.Sprintf("SIP/2.0/UDP 127.0.0.1:5094;branch=z9hG4bK-%d-1-0", pid))
	v.set("sip_from_display", spec.CallerName)
	v.set("sip_full_from", fmt.Sprintf("%q <sip:%s>;tag=%dSIPpTag001", spec.CallerName, from, pid))
	v.set("sip_full_to", "<sip:"+to+">")
	v.set("sip_req_user", spec.Dest)
	v.set("sip_req_port", "5080")
	v.set("sip_req_uri", to)
	v.set("sip_req_host", "127.0.0.1")
	v.set("sip_to_user", spec.Dest)
	v.set("sip_to_port", "5080")
	v.set("sip_to_uri", to)
	v.set("sip_to_host", "127.0.0.1")
	v.set("sip_contact_user", spec.CallerNumber)
	v.set("sip_contact_port", "5094")
	v.set("sip_contact_uri", from)
	v.set("sip_contact_host", "127.0.0.1")
	v.set("sip_subject", "lab-uac-dtmf")
	v.set("sip_via_host", "127.0.0.1")
	v.set("sip_via_port", "5094")
	v.set("max_forwards", "70")
	v.set("switch_r_sdp", "v=0\r\no=labuac 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 32000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\n")
	v.set("ep_codec_string", "CORE_PCM_MODULE.PCMU@8000h@20i@64000b")
	v.set("rtp_use_codec_string", "PCMU")
	v.set("remote_video_media_flow", "inactive")
	v.set("remote_text_media_flow", "inactive")
	v.set("remote_audio_media_flow", "sendrecv")
	v.set("audio_media_flow", "sendrecv")
	v.set("remote_media_ip", "127.0.0.1")
	v.set("remote_media_port", "32000")
	v.set("rtp_audio_recv_pt", "0")
	v.set("rtp_use_codec_name", "PCMU")
	v.set("rtp_use_codec_rate", "8000")
	v.set("rtp_use_codec_ptime", "20")
	v.set("rtp_use_codec_channels", "1")
	v.set("rtp_last_audio_codec_string", "PCMU@8000h@20i@1c")
	v.set("read_codec", "PCMU")
	v.set("original_read_codec", "PCMU")
	v.set("read_rate", "8000")
	v.set("original_read_rate", "8000")
	v.set("write_codec", "PCMU")
	v.set("write_rate", "8000")
	v.set("dtmf_type", "rfc2833")
	v.set("endpoint_disposition", "RECEIVED")
}

// localMediaVars are what sofia adds when it answers or is answered
// (01-inbound-dtmf.esl.txt CHANNEL_ANSWER: rtp_local_sdp_str ...
// rtp_2833_recv_payload).
func (ch *channel) localMediaVars() {
	v := &ch.vars
	port := strconv.Itoa(31000 + 2*rand.IntN(100))
	if _, ok := v.get("rtp_local_sdp_str"); !ok {
		v.set("rtp_local_sdp_str", "v=0\r\no=FreeSWITCH 1795226979 1795226980 IN IP4 127.0.0.1\r\ns=FreeSWITCH\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio "+port+" RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n")
		v.set("local_media_ip", "127.0.0.1")
		v.set("local_media_port", port)
		v.set("advertised_media_ip", "127.0.0.1")
	}
	v.set("rtp_use_timer_name", "soft")
	v.set("rtp_use_pt", "0")
	v.set("rtp_use_ssrc", strconv.FormatUint(uint64(rand.Uint32()), 10))
	v.set("rtp_2833_send_payload", "101")
	v.set("rtp_2833_recv_payload", "101")
}

// cdrVars are what FreeSWITCH adds for CHANNEL_HANGUP_COMPLETE
// (01-inbound-dtmf.esl.txt seq 452: hangup_cause ... flow_billusec, then the
// RTP statistics).
func (ch *channel) cdrVars(end time.Time) {
	s, v := ch.s, &ch.vars
	v.set("hangup_cause", ch.cause)
	v.set("hangup_cause_q850", strconv.Itoa(q850(ch.cause)))
	digits := ch.digits
	if digits == "" {
		digits = "none"
	}
	v.set("digits_dialed", digits)
	ep := func(t time.Time) string {
		if t.IsZero() {
			return "0"
		}
		return strconv.FormatInt(t.Unix(), 10)
	}
	uep := func(t time.Time) string {
		if t.IsZero() {
			return "0"
		}
		return strconv.FormatInt(t.UnixMicro(), 10)
	}
	v.set("start_stamp", s.dateStamp(ch.created))
	v.set("profile_start_stamp", s.dateStamp(ch.created))
	if !ch.answeredAt.IsZero() {
		v.set("answer_stamp", s.dateStamp(ch.answeredAt))
	}
	if !ch.bridgedAt.IsZero() {
		v.set("bridge_stamp", s.dateStamp(ch.bridgedAt))
	}
	if !ch.progressAt.IsZero() {
		v.set("progress_stamp", s.dateStamp(ch.progressAt))
	}
	v.set("end_stamp", s.dateStamp(end))
	v.set("start_epoch", ep(ch.created))
	v.set("start_uepoch", uep(ch.created))
	v.set("profile_start_epoch", ep(ch.created))
	v.set("profile_start_uepoch", uep(ch.created))
	v.set("answer_epoch", ep(ch.answeredAt))
	v.set("answer_uepoch", uep(ch.answeredAt))
	v.set("bridge_epoch", ep(ch.bridgedAt))
	v.set("bridge_uepoch", uep(ch.bridgedAt))
	for _, k := range []string{"last_hold_epoch", "last_hold_uepoch", "hold_accum_seconds", "hold_accum_usec", "hold_accum_ms", "resurrect_epoch", "resurrect_uepoch"} {
		v.set(k, "0")
	}
	v.set("progress_epoch", ep(ch.progressAt))
	v.set("progress_uepoch", uep(ch.progressAt))
	v.set("progress_media_epoch", "0")
	v.set("progress_media_uepoch", "0")
	v.set("end_epoch", ep(end))
	v.set("end_uepoch", uep(end))
	if ch.lastApp != "" {
		v.set("last_app", ch.lastApp)
		if ch.lastArg != "" {
			v.set("last_arg", ch.lastArg)
		}
	}
	if ch.prof != nil {
		// '"Lab Caller" <15551230001>', or the bare number without a name
		// (01-inbound-dtmf.esl.txt seq 452; 04-originate-fail.esl.txt seq
		// 600).
		if ch.prof.cidName != "" {
			v.set("caller_id", fmt.Sprintf("%q <%s>", ch.prof.cidName, ch.prof.cidNumber))
		} else {
			v.set("caller_id", ch.prof.cidNumber)
		}
	}
	dur := end.Sub(ch.created)
	var bill, wait time.Duration
	if !ch.answeredAt.IsZero() {
		bill = end.Sub(ch.answeredAt)
		wait = ch.answeredAt.Sub(ch.created)
	}
	v.set("duration", strconv.Itoa(int(dur.Seconds())))
	v.set("billsec", strconv.Itoa(int(bill.Seconds())))
	v.set("progresssec", "0")
	v.set("answersec", strconv.Itoa(int(wait.Seconds())))
	v.set("waitsec", strconv.Itoa(int(wait.Seconds())))
	v.set("progress_mediasec", "0")
	v.set("flow_billsec", strconv.Itoa(int(dur.Seconds())))
	v.set("mduration", strconv.FormatInt(dur.Milliseconds(), 10))
	v.set("billmsec", strconv.FormatInt(bill.Milliseconds(), 10))
	v.set("progressmsec", "0")
	v.set("answermsec", strconv.FormatInt(wait.Milliseconds(), 10))
	v.set("waitmsec", strconv.FormatInt(wait.Milliseconds(), 10))
	v.set("progress_mediamsec", "0")
	v.set("flow_billmsec", strconv.FormatInt(dur.Milliseconds(), 10))
	v.set("uduration", strconv.FormatInt(dur.Microseconds(), 10))
	v.set("billusec", strconv.FormatInt(bill.Microseconds(), 10))
	v.set("progressusec", "0")
	v.set("answerusec", strconv.FormatInt(wait.Microseconds(), 10))
	v.set("waitusec", strconv.FormatInt(wait.Microseconds(), 10))
	v.set("progress_mediausec", "0")
	v.set("flow_billusec", strconv.FormatInt(dur.Microseconds(), 10))
}

// rtpStats are the RTP counters sofia adds at the very end
// (01-inbound-dtmf.esl.txt seq 452, after sip_hangup_disposition).
func (ch *channel) rtpStats() {
	// Only a channel that had media has RTP counters: no failed originate
	// leg shows them (04-originate-fail.esl.txt seq 600, 632, 645).
	if ch.kind == kindLoopback || !ch.answered() {
		return
	}
	v := &ch.vars
	for _, k := range []string{"in_raw_bytes", "in_media_bytes", "in_packet_count", "in_media_packet_count", "in_skip_packet_count", "in_jitter_packet_count", "in_dtmf_packet_count", "in_cng_packet_count", "in_flush_packet_count", "in_largest_jb_size"} {
		v.set("rtp_audio_"+k, "0")
	}
	for _, k := range []string{"in_jitter_min_variance", "in_jitter_max_variance", "in_jitter_loss_rate", "in_jitter_burst_rate", "in_mean_interval"} {
		v.set("rtp_audio_"+k, "0.00")
	}
	v.set("rtp_audio_in_flaw_total", "0")
	v.set("rtp_audio_in_quality_percentage", "100.00")
	v.set("rtp_audio_in_mos", "4.50")
	for _, k := range []string{"out_raw_bytes", "out_media_bytes", "out_packet_count", "out_media_packet_count", "out_skip_packet_count", "out_dtmf_packet_count", "out_cng_packet_count", "rtcp_packet_count", "rtcp_octet_count"} {
		v.set("rtp_audio_"+k, "0")
	}
}

// q850 maps the causes the traces show (and a few more vhold meets) to
// their Q.850 numbers (variable_hangup_cause_q850: 16 for NORMAL_CLEARING,
// 01-inbound-dtmf.esl.txt).
func q850(cause string) int {
	switch cause {
	case "UNALLOCATED_NUMBER":
		return 1
	case "NO_ROUTE_DESTINATION":
		return 3
	case "NORMAL_CLEARING":
		return 16
	case "USER_BUSY":
		return 17
	case "NO_USER_RESPONSE":
		return 18
	case "NO_ANSWER":
		return 19
	case "CALL_REJECTED":
		return 21
	case "DESTINATION_OUT_OF_ORDER":
		return 27
	case "NORMAL_TEMPORARY_FAILURE":
		return 41
	case "ORIGINATOR_CANCEL":
		return 487
	case "RECOVERY_ON_TIMER_EXPIRE":
		return 102
	case "INVALID_PROFILE":
		return 0
	}
	return 16
}
