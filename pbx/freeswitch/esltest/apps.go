package esltest

import (
	"strconv"
	"strings"
	"time"
)

// exec is one application running on a channel (switch_core_session_exec).
type exec struct {
	ch      *channel
	app     string
	data    string
	appUUID string // "" leaves Application-UUID out (uuid_bridge's, 03-originate-answer.esl.txt)
	host    bool   // park or socket: the channel sits in it and runs queued jobs
	pseudo  bool   // a park state entered without the park application (park_after_bridge)
	pb      *playback
	rec     *recording
	job     *job
	timer   *timer
	ended   bool
	onDone  func()
}

// job is a private event queued for a channel: a uuid_broadcast's playback
// or a sendmsg execute (switch_core_session_queue_private_event).
type job struct {
	broadcast bool
	app, arg  string
	appUUID   string
	// prefix is the queued event's own headers: for a broadcast the COMMAND
	// event FreeSWITCH made when the api ran (base headers included, its
	// Event-Sequence taken then: 02-hold.esl.txt seq 483); for a sendmsg the
	// client's headers after a Command header (01-inbound-dtmf.esl.txt seq
	// 444).
	prefix []header
	fired  bool
}

// stopReason is why a playback ended.
type stopReason int

const (
	stopDone       stopReason = iota // played to its end
	stopBreak                        // uuid_break
	stopTerminator                   // a key in playback_terminators
	stopHangup                       // the channel hung up
	stopTransfer                     // uuid_bridge took the channel out of park
)

// execApp runs an application: CHANNEL_EXECUTE with Application,
// Application-Data (when there is data) and Application-UUID
// (01-inbound-dtmf.esl.txt seq 424, 428), after setting current_application
// and current_application_data and clearing the last response (seq 440:
// current_application_response disappears).
func (ch *channel) execApp(name, data, appUUID string, j *job, onDone func(*exec)) *exec {
	ex := &exec{ch: ch, app: name, data: data, appUUID: appUUID, job: j}
	if onDone != nil {
		ex.onDone = func() { onDone(ex) }
	}
	ch.lastApp, ch.lastArg = name, data
	ch.vars.set("current_application", name)
	if data != "" {
		ch.vars.set("current_application_data", data)
	} else {
		ch.vars.del("current_application_data")
	}
	ch.vars.del("current_application_response")
	if ch.dialogVars {
		ch.dialogVars = false
		tag := newUUID()[:13]
		ch.vars.set("sip_to_tag", tag)
		ch.vars.set("sip_cseq", "1")
		if to, ok := ch.vars.get("sip_full_to"); ok && !strings.Contains(to, ";tag=") {
			ch.vars.put("sip_full_to", to+";tag="+tag)
		}
	}
	ch.fire("CHANNEL_EXECUTE", siteExecute, true, nil, ex.appHeaders(false)...)
	ch.current = ex
	ch.s.logf("%s: execute %s(%s)", ch.name, name, data)
	ch.runApp(ex)
	return ex
}

// appHeaders are the trailing headers of CHANNEL_EXECUTE(_COMPLETE).
// Application-Response is current_application_response or "_none_": a park
// that ends after a prompt reports the prompt's "FILE PLAYED"
// (01-inbound-dtmf.esl.txt seq 448), a socket app "FILE PLAYED" too
// (05-outbound-mode.esl.txt seq 720).
func (ex *exec) appHeaders(complete bool) []header {
	hs := []header{{"Application", ex.app}}
	if ex.data != "" {
		hs = append(hs, header{"Application-Data", ex.data})
	}
	if complete {
		resp, ok := ex.ch.vars.get("current_application_response")
		if !ok || resp == "" {
			resp = "_none_"
		}
		hs = append(hs, header{"Application-Response", resp})
	}
	if ex.appUUID != "" {
		hs = append(hs, header{"Application-UUID", ex.appUUID})
	}
	return hs
}

// complete ends an application: CHANNEL_EXECUTE_COMPLETE, then whatever
// waits for it.
func (ex *exec) complete(response string) {
	if ex.ended {
		return
	}
	ex.ended = true
	ch := ex.ch
	ex.timer.cancel()
	if response != "" {
		ch.vars.set("current_application_response", response)
	}
	ch.fire("CHANNEL_EXECUTE_COMPLETE", siteExecuteDone, true, nil, ex.appHeaders(true)...)
	if ch.current == ex {
		ch.current = nil
		if ch.host != nil && ch.host != ex {
			ch.current = ch.host
		}
	}
	if ch.host == ex {
		ch.host = nil
	}
	if ex.onDone != nil {
		ex.onDone()
	}
}

// runApp starts what an application does.
func (ch *channel) runApp(ex *exec) {
	s := ch.s
	switch ex.app {
	case "set", "export":
		// set: the variable appears between CHANNEL_EXECUTE and
		// CHANNEL_EXECUTE_COMPLETE (01-inbound-dtmf.esl.txt seq 424-425).
		k, v, _ := strings.Cut(ex.data, "=")
		if v == "" {
			ch.vars.del(k)
		} else {
			ch.vars.set(k, v)
		}
		ex.complete("")
	case "unset":
		ch.vars.del(ex.data)
		ex.complete("")
	case "answer":
		// 05-outbound-mode.esl.txt seq 700-703: CHANNEL_EXECUTE answer,
		// CHANNEL_ANSWER, CHANNEL_EXECUTE_COMPLETE.
		s.answer(ch)
		ex.complete("")
	case "park":
		// park does not answer: CHANNEL_PARK with Answer-State ringing
		// (01-inbound-dtmf.esl.txt seq 429).
		ex.host = true
		ch.host = ex
		ch.fire("CHANNEL_PARK", sitePark, true, nil)
		ch.nextJob()
	case "socket":
		ex.host = true
		ch.host = ex
		s.socketApp(ch, ex)
	case "playback":
		ch.startPlayback(ex, ex.data)
	case "sleep":
		ms, _ := strconv.Atoi(ex.data)
		ex.timer = s.after(time.Duration(ms)*time.Millisecond, func() { ex.complete("") })
	case "hangup":
		cause := ex.data
		if cause == "" {
			cause = "NORMAL_CLEARING"
		}
		s.hangup(ch, cause, hangupLocal)
		ex.complete("")
	case "respond":
		// 04-originate-fail.esl.txt seq 666-668: respond 404 completes, then
		// the extension ends and the channel hangs up NORMAL_CLEARING.
		if c := ch.call; c != nil {
			c.respond(ex.data)
		}
		ex.complete("")
	case "record":
		ch.startRecord(ex)
	case "ring_ready", "pre_answer", "info", "log", "event":
		ex.complete("")
	default:
		// FreeSWITCH refuses an unknown application before executing it;
		// the fake runs it as a no-op so a flow sees it complete.
		s.logf("%s: application %s is not modelled; treated as a no-op", ch.name, ex.app)
		ex.complete("")
	}
}

// queue adds a private event and runs it when the channel is free.
func (ch *channel) queueJob(j *job, lead time.Duration) {
	ch.queue = append(ch.queue, j)
	if ch.host != nil && ch.current == ch.host && ch.jobTimer == nil {
		ch.jobTimer = ch.s.after(lead, func() {
			ch.jobTimer = nil
			ch.nextJob()
		})
	}
}

// nextJob runs the next queued job if the channel sits idle in park or in
// the socket application: "A channel in park plays broadcasts and then
// returns to park" (traces README fact 10).
func (ch *channel) nextJob() {
	if !ch.up() || ch.host == nil || ch.current != ch.host || len(ch.queue) == 0 || ch.bridge != nil {
		return
	}
	j := ch.queue[0]
	ch.queue = ch.queue[1:]
	// Every executed job carries current_loop/total_loops until the park
	// ends (01-inbound-dtmf.esl.txt seq 435; removed at seq 446).
	ch.vars.set("current_loop", "1")
	ch.vars.set("total_loops", "1")
	ch.execApp(j.app, j.arg, j.appUUID, j, func(ex *exec) {
		ch.afterJob(ex)
		if ch.up() {
			ch.nextJob()
		}
	})
}

// afterJob fires what FreeSWITCH fires once a queued job's application
// ends. A sendmsg's event comes back as PRIVATE_COMMAND
// (01-inbound-dtmf.esl.txt seq 444). A broadcast's COMMAND event comes back
// merged with a PRIVATE_COMMAND header block only when its prompt was cut
// by a terminator key, a hangup or a bridge (02-hold.esl.txt seq 483/491
// and 493/500; 03-originate-answer.esl.txt seq 528/557); a prompt that
// played to its end or was stopped by uuid_break leaves no such event
// (01-inbound-dtmf seq 434 and 02-hold seq 475 never reach the wire). The
// traces show the rule, not why.
func (ch *channel) afterJob(ex *exec) {
	j := ex.job
	if j == nil || j.fired {
		return
	}
	j.fired = true
	// The job's loop counters go once it ends (01-inbound-dtmf.esl.txt:
	// present at seq 443, gone at 446).
	ch.vars.del("current_loop")
	ch.vars.del("total_loops")
	if j.broadcast {
		if ex.pb == nil || (ex.pb.reason != stopTerminator && ex.pb.reason != stopHangup && ex.pb.reason != stopTransfer) {
			return
		}
	}
	e := &event{name: "PRIVATE_COMMAND", uuid: ch.uuid}
	e.addAll(j.prefix)
	e.seq = ch.s.nextSeq()
	e.addAll(ch.s.baseHeaders("PRIVATE_COMMAND", sitePrivate, e.seq))
	e.addAll(ch.data(false))
	ch.s.fire(e)
}

// playback is one prompt or music stream playing to a channel.
type playback struct {
	ex      *exec
	path    string
	started time.Time
	length  time.Duration // 0: never ends (local_stream://)
	reason  stopReason
	heard   int // index in the party's Heard
}

// stream says whether path is endless music (local_stream://moh in
// 02-hold.esl.txt plays until broken or hung up).
func stream(path string) bool { return strings.HasPrefix(path, "local_stream://") }

// startPlayback is playback: PLAYBACK_START, with Playback-File-Type for a
// stream (02-hold.esl.txt seq 477) and Playback-File-Path, then
// PLAYBACK_STOP after the file's length.
func (ch *channel) startPlayback(ex *exec, path string) {
	s := ch.s
	pb := &playback{ex: ex, path: path, started: s.now(), heard: -1}
	ex.pb = pb
	// The terminator of the previous prompt is forgotten at the next one
	// (02-hold.esl.txt seq 495).
	ch.vars.del("playback_terminator_used")
	var trail []header
	if stream(path) {
		trail = append(trail, header{"Playback-File-Type", "local_stream"})
	} else {
		pb.length = s.opts.MediaDuration(path)
		if pb.length <= 0 {
			pb.length = time.Millisecond
		}
	}
	trail = append(trail, header{"Playback-File-Path", path})
	ch.fire("PLAYBACK_START", sitePlayStart, true, nil, trail...)
	if c := ch.call; c != nil {
		pb.heard = c.heardStart(path, ex)
	}
	if pb.length > 0 {
		ex.timer = s.after(pb.length, func() { ch.stopPlayback(pb, stopDone) })
	}
}

// stopPlayback ends a playback: PLAYBACK_STOP with Playback-Status "done"
// or "break", then CHANNEL_EXECUTE_COMPLETE with "FILE PLAYED" or
// "PLAYBACK ERROR":
//   - played out: done, FILE PLAYED (01-inbound-dtmf.esl.txt seq 438-439)
//   - uuid_break: break, FILE PLAYED (02-hold.esl.txt seq 480-481)
//   - a terminator key: break, FILE PLAYED, variable_playback_terminator_used
//     (02-hold.esl.txt seq 489-490)
//   - hangup: done, PLAYBACK ERROR (02-hold.esl.txt seq 498-499)
//   - uuid_bridge: done, PLAYBACK ERROR (03-originate-answer.esl.txt seq
//     555-556)
func (ch *channel) stopPlayback(pb *playback, why stopReason) {
	ex := pb.ex
	if ex.ended {
		return
	}
	s := ch.s
	pb.reason = why
	status, resp := "done", "FILE PLAYED"
	switch why {
	case stopBreak:
		status = "break"
	case stopTerminator:
		status = "break"
	case stopHangup, stopTransfer:
		resp = "PLAYBACK ERROR"
	}
	played := s.now().Sub(pb.started)
	if pb.length > 0 && played > pb.length {
		played = pb.length
	}
	samples := played.Milliseconds() * 8
	ch.vars.set("playback_last_offset_pos", strconv.FormatInt(samples, 10))
	ch.vars.set("playback_seconds", strconv.FormatInt(int64(played.Seconds()), 10))
	ch.vars.set("playback_ms", strconv.FormatInt(played.Milliseconds(), 10))
	ch.vars.set("playback_samples", strconv.FormatInt(samples, 10))
	var trail []header
	if stream(pb.path) {
		trail = append(trail, header{"Playback-File-Type", "local_stream"})
	}
	trail = append(trail, header{"Playback-File-Path", pb.path}, header{"Playback-Status", status})
	ch.fire("PLAYBACK_STOP", sitePlayStop, true, nil, trail...)
	if c := ch.call; c != nil {
		c.heardEnd(pb.heard, why)
	}
	ex.complete(resp)
}

// terminators are the keys that stop a prompt: playback_terminators, "*"
// when unset (02-hold.esl.txt: "*" stopped the announcement with no
// variable set), none for "none".
func (ch *channel) terminators() string {
	v, ok := ch.vars.get("playback_terminators")
	if !ok {
		return "*"
	}
	if strings.EqualFold(v, "none") {
		return ""
	}
	if strings.EqualFold(v, "any") {
		return "0123456789*#ABCD"
	}
	return v
}

// recording is a record application or uuid_record running on a channel.
// Recording is not traced (traces README, "Not covered here"): events and
// replies follow FreeSWITCH 1.10's source (RECORD_START / RECORD_STOP with
// Record-File-Path; the record application stops on a terminator key, its
// time limit or hangup).
type recording struct {
	ch      *channel
	path    string
	ex      *exec // nil for uuid_record
	started time.Time
	timer   *timer
	stopped bool
}

// startRecord is the record application: record <path> [<limit secs>].
func (ch *channel) startRecord(ex *exec) {
	s := ch.s
	fields := strings.Fields(ex.data)
	if len(fields) == 0 {
		ex.complete("")
		return
	}
	r := &recording{ch: ch, path: fields[0], ex: ex, started: s.now()}
	ex.rec = r
	ch.fire("RECORD_START", siteRecordStart, true, nil, header{"Record-File-Path", r.path})
	limit := time.Duration(0)
	if len(fields) > 1 {
		if n, err := strconv.Atoi(fields[1]); err == nil && n > 0 {
			limit = time.Duration(n) * time.Second
		}
	}
	if c := ch.call; c != nil && c.speech > 0 && (limit == 0 || c.speech < limit) {
		// The party talks, then stays silent: the fake ends the recording
		// when the limit passes, or after the party's speech plus the
		// silence FreeSWITCH waits for (silence_hits, 3 s by default).
		limit = c.speech + 3*time.Second
	}
	if limit > 0 {
		r.timer = s.after(limit, func() { ch.stopRecord(r, "") })
	}
	if c := ch.call; c != nil {
		c.logf("recorded to %s", r.path)
	}
}

// stopRecord ends a recording: RECORD_STOP, then the application's
// completion. term is the terminator key that stopped it, if any.
func (ch *channel) stopRecord(r *recording, term string) {
	if r.stopped {
		return
	}
	r.stopped = true
	r.timer.cancel()
	s := ch.s
	ms := s.now().Sub(r.started).Milliseconds()
	ch.vars.set("record_ms", strconv.FormatInt(ms, 10))
	ch.vars.set("record_seconds", strconv.FormatInt(ms/1000, 10))
	if term != "" {
		ch.vars.set("playback_terminator_used", term)
	}
	at := siteRecordStop
	if r.ex == nil {
		at = siteAsyncRecordStop
	}
	ch.fire("RECORD_STOP", at, true, nil, header{"Record-File-Path", r.path})
	if c := ch.call; c != nil {
		c.recorded = append(c.recorded, r.path)
	}
	if r.ex != nil {
		r.ex.complete("")
	} else {
		delete(ch.records, r.path)
	}
}

// dtmf delivers one key press from the party: a DTMF event (no variables,
// DTMF-Digit, DTMF-Duration 2240, DTMF-Source RTP; 01-inbound-dtmf.esl.txt
// seq 437). A key stops a prompt only if it is a terminator: "1" did not
// (01-inbound-dtmf), "*" did (02-hold.esl.txt seq 488-489). Without media
// there is no RTP to carry it.
func (ch *channel) dtmf(digit string) {
	if !ch.up() || !ch.answered() {
		if c := ch.call; c != nil {
			c.logf("pressed %s with no media: lost", digit)
		}
		return
	}
	ch.digits += digit
	if c := ch.call; c != nil {
		c.pressed += digit
		c.logf("pressed %s", digit)
	}
	ch.fire("DTMF", siteDTMF, false, nil,
		header{"DTMF-Digit", digit}, header{"DTMF-Duration", "2240"}, header{"DTMF-Source", "RTP"})
	ex := ch.current
	if ex == nil || !strings.Contains(ch.terminators(), digit) {
		return
	}
	switch {
	case ex.pb != nil:
		ch.vars.set("playback_terminator_used", digit)
		ch.stopPlayback(ex.pb, stopTerminator)
	case ex.rec != nil:
		ch.stopRecord(ex.rec, digit)
	}
}
