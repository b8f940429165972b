package esltest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// event is one FreeSWITCH event: its headers in order (names may repeat)
// and an optional body.
type event struct {
	name    string // Event-Name, for subscriptions
	sub     string // Event-Subclass of a CUSTOM event
	seq     uint64
	headers []header
	body    string
	hasBody bool
	uuid    string // the channel it is about ("" for API, BACKGROUND_JOB...)
}

func (e *event) add(name, value string) { e.headers = append(e.headers, header{name, value}) }

func (e *event) addAll(hs []header) { e.headers = append(e.headers, hs...) }

func (e *event) setBody(b string) { e.body, e.hasBody = b, true }

// get returns the first value of name.
func (e *event) get(name string) string {
	for _, h := range e.headers {
		if h.name == name {
			return h.value
		}
	}
	return ""
}

// site is where in FreeSWITCH's source an event is fired: its
// Event-Calling-File, -Function and -Line-Number headers, copied from the
// traces.
type site struct {
	file, fn string
	line     int
}

var (
	siteState          = site{"switch_channel.c", "switch_channel_perform_set_running_state", 2408}  // all traces
	siteCodecRealRead  = site{"switch_core_codec.c", "switch_core_session_set_real_read_codec", 168} // 01-inbound-dtmf
	siteCodecRead      = site{"switch_core_codec.c", "switch_core_session_set_read_codec", 279}      // 04-originate-fail (loopback)
	siteCodecWrite     = site{"switch_core_codec.c", "switch_core_session_set_write_codec", 450}     // 01-inbound-dtmf
	siteCreate         = site{"switch_core_state_machine.c", "switch_core_session_run", 626}         // 01-inbound-dtmf
	siteOriginate      = site{"switch_core_state_machine.c", "switch_core_session_run", 632}         // 03-originate-answer
	siteCallState      = site{"switch_channel.c", "switch_channel_perform_set_callstate", 301}       // 01-inbound-dtmf
	siteExecute        = site{"switch_core_session.c", "switch_core_session_exec", 2944}             // 01-inbound-dtmf
	siteExecuteDone    = site{"switch_core_session.c", "switch_core_session_exec", 2967}             // 01-inbound-dtmf
	sitePark           = site{"switch_ivr.c", "switch_ivr_park", 1002}                               // 01-inbound-dtmf
	siteUnpark         = site{"switch_ivr.c", "switch_ivr_park", 1213}                               // 01-inbound-dtmf
	siteAnswer         = site{"switch_channel.c", "switch_channel_perform_mark_answered", 3846}      // 01-inbound-dtmf
	siteAPI            = site{"switch_loadable_module.c", "switch_api_execute", 2954}                // 01-inbound-dtmf
	sitePlayStart      = site{"switch_ivr_play_say.c", "switch_ivr_play_file", 1646}                 // 01-inbound-dtmf
	sitePlayStop       = site{"switch_ivr_play_say.c", "switch_ivr_play_file", 2020}                 // 01-inbound-dtmf
	siteDTMF           = site{"switch_channel.c", "switch_channel_dequeue_dtmf", 677}                // 01-inbound-dtmf
	sitePrivate        = site{"switch_ivr.c", "switch_ivr_parse_next_event", 804}                    // 01-inbound-dtmf
	siteBroadcast      = site{"switch_ivr_async.c", "switch_ivr_broadcast", 5731}                    // 02-hold
	siteHangup         = site{"switch_channel.c", "switch_channel_perform_hangup", 3445}             // 01-inbound-dtmf
	siteHangupComplete = site{"switch_core_state_machine.c", "switch_core_session_reporting_state", 943}
	siteDestroy        = site{"switch_core_session.c", "switch_core_session_perform_destroy", 1584}     // 01-inbound-dtmf
	siteOutgoing       = site{"switch_core_session.c", "switch_core_session_outgoing_channel", 768}     // 03-originate-answer
	siteProgress       = site{"switch_channel.c", "switch_channel_perform_mark_ring_ready_value", 3505} // 03-originate-answer
	siteFlipCID        = site{"switch_channel.c", "switch_channel_flip_cid", 3277}                      // 03-originate-answer
	siteSofiaUpdate    = site{"mod_sofia.c", "sofia_receive_message", 2100}                             // 03-originate-answer
	siteBgJob          = site{"mod_event_socket.c", "api_exec", 1572}                                   // 03-originate-answer
	siteBgJobNested    = site{"mod_commands.c", "bgapi_exec", 5396}                                     // 06-errors (g)
	siteUUIDBridgeA    = site{"switch_ivr_bridge.c", "uuid_bridge_on_soft_execute", 1236}               // 03-originate-answer
	siteUUIDBridgeB    = site{"switch_ivr_bridge.c", "uuid_bridge_on_soft_execute", 1243}               // 03-originate-answer
	siteBridge         = site{"switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", 1689}          // 03-originate-answer
	siteUnbridge       = site{"switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", 1879}          // 03-originate-answer
	siteSendEvent      = site{"mod_event_socket.c", "parse_command", 2275}                              // 06-errors (d)
	siteChannelData    = site{"mod_event_socket.c", "parse_command", 2021}                              // 05-outbound-mode
	siteHeartbeat      = site{"switch_core.c", "send_heartbeat", 95}                                    // 02-hold
	// Recording is not traced (traces README, "Not covered here"): the
	// sites of RECORD_START and RECORD_STOP follow FreeSWITCH 1.10's
	// switch_ivr_play_say.c (record app) and switch_ivr_async.c
	// (uuid_record); their line numbers are not known from a trace.
	siteRecordStart      = site{"switch_ivr_play_say.c", "switch_ivr_record_file_event", 0}
	siteRecordStop       = site{"switch_ivr_play_say.c", "switch_ivr_record_file_event", 0}
	siteAsyncRecordStart = site{"switch_ivr_async.c", "record_callback", 0}
	siteAsyncRecordStop  = site{"switch_ivr_async.c", "record_callback", 0}
)

// newEvent starts an event with the base headers every FreeSWITCH event
// begins with, in their order (01-inbound-dtmf.esl.txt): Event-Name,
// Core-UUID, FreeSWITCH-Hostname/-Switchname/-IPv4/-IPv6, Event-Date-Local/
// -GMT/-Timestamp, Event-Calling-File/-Function/-Line-Number,
// Event-Sequence. The sequence number is taken now, when FreeSWITCH creates
// the event, whenever it is sent.
func (s *Server) newEvent(name string, at site) *event {
	e := &event{name: name, seq: s.nextSeq()}
	e.addAll(s.baseHeaders(name, at, e.seq))
	return e
}

func (s *Server) baseHeaders(name string, at site, seq uint64) []header {
	now := s.now()
	local := now.In(s.opts.Location)
	return []header{
		{"Event-Name", name},
		{"Core-UUID", s.coreUUID},
		{"FreeSWITCH-Hostname", s.opts.Hostname},
		{"FreeSWITCH-Switchname", s.opts.Hostname},
		{"FreeSWITCH-IPv4", s.opts.IPv4},
		{"FreeSWITCH-IPv6", s.opts.IPv6},
		{"Event-Date-Local", local.Format("2006-01-02 15:04:05")},
		{"Event-Date-GMT", now.UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT")},
		{"Event-Date-Timestamp", strconv.FormatInt(now.UnixMicro(), 10)},
		{"Event-Calling-File", at.file},
		{"Event-Calling-Function", at.fn},
		{"Event-Calling-Line-Number", strconv.Itoa(at.line)},
		{"Event-Sequence", strconv.FormatUint(seq, 10)},
	}
}

// plain serialises the event as text/event-plain: an outer block with only
// Content-Length and Content-Type, then the event's own header block with
// URL-encoded values, ended by an empty line or by an inner Content-Length,
// an empty line and the body (traces README fact 3; 06-errors.esl.txt
// BACKGROUND_JOB and CUSTOM).
func (e *event) plain() []byte {
	var b strings.Builder
	for _, h := range e.headers {
		b.WriteString(h.name)
		b.WriteString(": ")
		b.WriteString(urlEncode(h.value))
		b.WriteByte('\n')
	}
	if e.hasBody {
		fmt.Fprintf(&b, "Content-Length: %d\n\n%s", len(e.body), e.body)
	} else {
		b.WriteByte('\n')
	}
	inner := b.String()
	return []byte(fmt.Sprintf("Content-Length: %d\nContent-Type: text/event-plain\n\n%s", len(inner), inner))
}

// json serialises the event as text/event-json: one compact object, values
// not URL-encoded, no trailing newline (01-inbound-dtmf.esl.txt, in#2;
// 06-errors.esl.txt (e)). A body goes under "_body" after a
// "Content-Length" member: no traced JSON event has a body, so that part
// follows switch_event_serialize_json in FreeSWITCH's source.
func (e *event) json() []byte {
	var b strings.Builder
	b.WriteByte('{')
	for i, h := range e.headers {
		if i > 0 {
			b.WriteByte(',')
		}
		jsonString(&b, h.name)
		b.WriteByte(':')
		jsonString(&b, h.value)
	}
	if e.hasBody {
		if len(e.headers) > 0 {
			b.WriteByte(',')
		}
		jsonString(&b, "Content-Length")
		b.WriteByte(':')
		jsonString(&b, strconv.Itoa(len(e.body)))
		b.WriteByte(',')
		jsonString(&b, "_body")
		b.WriteByte(':')
		jsonString(&b, e.body)
	}
	b.WriteByte('}')
	inner := b.String()
	return []byte(fmt.Sprintf("Content-Length: %d\nContent-Type: text/event-json\n\n%s", len(inner), inner))
}

// profile is a caller profile (switch_caller_profile_t): the Caller-*
// headers of a channel's events, and the Other-Leg-* headers of its bridge
// peer's. Empty strings are left out, as switch_caller_profile_event_set_data
// does (03-originate-answer.esl.txt: an originated leg has no
// Caller-Username nor Caller-Dialplan; it gains Caller-Network-Addr with the
// 180 Ringing).
type profile struct {
	direction, logicalDirection string
	username, dialplan          string
	cidName, cidNumber          string
	origCIDName, origCIDNumber  string
	calleeName, calleeNumber    string
	networkAddr, ani, dest      string
	uuid, source, xferSource    string
	context, channelName        string
	index                       int
	created, chanCreated        int64
	answered, progress          int64
	progressMedia, hungUp       int64
	transferred, bridged        int64
}

// headers renders the profile under prefix ("Caller-", "Other-Leg-",
// "Channel-" for the connect reply). Other-Leg- omits Profile-Index
// (03-originate-answer.esl.txt, CHANNEL_UNPARK).
func (p *profile) headers(prefix string) []header {
	var hs []header
	add := func(name, v string) {
		if v != "" {
			hs = append(hs, header{prefix + name, v})
		}
	}
	t := func(v int64) string { return strconv.FormatInt(v, 10) }
	add("Direction", p.direction)
	add("Logical-Direction", p.logicalDirection)
	add("Username", p.username)
	add("Dialplan", p.dialplan)
	add("Caller-ID-Name", p.cidName)
	add("Caller-ID-Number", p.cidNumber)
	add("Orig-Caller-ID-Name", p.origCIDName)
	add("Orig-Caller-ID-Number", p.origCIDNumber)
	add("Callee-ID-Name", p.calleeName)
	add("Callee-ID-Number", p.calleeNumber)
	add("Network-Addr", p.networkAddr)
	add("ANI", p.ani)
	add("Destination-Number", p.dest)
	add("Unique-ID", p.uuid)
	add("Source", p.source)
	add("Transfer-Source", p.xferSource)
	add("Context", p.context)
	add("Channel-Name", p.channelName)
	if prefix != "Other-Leg-" {
		add("Profile-Index", strconv.Itoa(p.index))
	}
	add("Profile-Created-Time", t(p.created))
	add("Channel-Created-Time", t(p.chanCreated))
	add("Channel-Answered-Time", t(p.answered))
	add("Channel-Progress-Time", t(p.progress))
	add("Channel-Progress-Media-Time", t(p.progressMedia))
	add("Channel-Hangup-Time", t(p.hungUp))
	add("Channel-Transfer-Time", t(p.transferred))
	add("Channel-Resurrect-Time", "0")
	add("Channel-Bridged-Time", t(p.bridged))
	add("Channel-Last-Hold", "0")
	add("Channel-Hold-Accum", "0")
	add("Screen-Bit", "true")
	add("Privacy-Hide-Name", "false")
	add("Privacy-Hide-Number", "false")
	return hs
}

// codec is a channel's read and write codec.
type codec struct {
	name    string
	rate    int
	bitRate int
}

func (c codec) headers(dir string) []header {
	return []header{
		{"Channel-" + dir + "-Codec-Name", c.name},
		{"Channel-" + dir + "-Codec-Rate", strconv.Itoa(c.rate)},
		{"Channel-" + dir + "-Codec-Bit-Rate", strconv.Itoa(c.bitRate)},
	}
}

// pcmu is the lab's only SIP codec (traces README: "PCMU only").
var pcmu = codec{"PCMU", 8000, 64000}

// l16 is what loopback legs use (04-originate-fail.esl.txt).
var l16 = codec{"L16", 8000, 128000}

// stateNumbers are FreeSWITCH's switch_channel_state_t values, as
// Channel-State-Number shows them (CS_EXECUTE 4, CS_CONSUME_MEDIA 7,
// CS_HIBERNATE 8, CS_HANGUP 10... all traces).
var stateNumbers = map[string]int{
	"CS_NEW": 0, "CS_INIT": 1, "CS_ROUTING": 2, "CS_SOFT_EXECUTE": 3, "CS_EXECUTE": 4,
	"CS_EXCHANGE_MEDIA": 5, "CS_PARK": 6, "CS_CONSUME_MEDIA": 7, "CS_HIBERNATE": 8,
	"CS_RESET": 9, "CS_HANGUP": 10, "CS_REPORTING": 11, "CS_DESTROY": 12, "CS_NONE": 13,
}

// callStateNumbers are switch_channel_callstate_t values
// (Channel-Call-State-Number: RINGING 2, ACTIVE 4, HANGUP 7 in
// 01-inbound-dtmf.esl.txt).
var callStateNumbers = map[string]int{
	"DOWN": 0, "DIALING": 1, "RINGING": 2, "EARLY": 3, "ACTIVE": 4, "HELD": 5,
	"RING_WAIT": 6, "HANGUP": 7, "UNHELD": 8,
}

// dateStamp is a CDR *_stamp value, "2026-11-21 10:49:03".
func (s *Server) dateStamp(t time.Time) string {
	return t.In(s.opts.Location).Format("2006-01-02 15:04:05")
}
