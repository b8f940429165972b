package esltest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// api is "api <command> [<arg>]": an api/response with the command's
// output as its body, then the API event, which FreeSWITCH numbered
// before running the command, so it follows whatever the command caused
// (01-inbound-dtmf.timeline.tsv: API 430 after CHANNEL_ANSWER 431 and
// CHANNEL_CALLSTATE 432).
func (c *conn) api(line string) {
	s := c.s
	cmd, arg := splitAPI(line)
	ev := s.apiEvent(cmd, arg)
	s.runAPI(c, cmd, arg, func(body string) {
		if body == "" {
			body = "-ERR no reply\n"
		}
		c.finish(apiResponse(body))
		if ev != nil {
			s.fire(ev)
		}
	})
}

// splitAPI splits "uuid_kill <uuid>" into the command and its argument.
// eslgo's "api status " has an empty argument (traces README).
func splitAPI(line string) (string, string) {
	line = strings.TrimLeft(line, " ")
	cmd, arg, _ := strings.Cut(line, " ")
	return cmd, arg
}

// apiEvent makes the API event of a known command: API-Command and
// API-Command-Argument (02-hold.esl.txt seq 471). Unknown commands get
// none.
func (s *Server) apiEvent(cmd, arg string) *event {
	if _, ok := apiCommands[cmd]; !ok {
		return nil
	}
	e := s.newEvent("API", siteAPI)
	e.add("API-Command", cmd)
	if strings.TrimSpace(arg) != "" {
		e.add("API-Command-Argument", arg)
	}
	return e
}

// bgapi is "bgapi <command> [<arg>]", with an optional Job-UUID header the
// client chose: a command/reply "+OK Job-UUID: <j>" with a Job-UUID header
// at once, then the command runs and its output comes back as the body of
// BACKGROUND_JOB with Job-UUID, Job-Command and Job-Command-Arg
// (03-originate-answer.esl.txt seq 545; 04-originate-fail.esl.txt echoes
// the client's Job-UUID; 06-errors.esl.txt for errors).
func (c *conn) bgapi(line string, m *message) {
	s := c.s
	job, ok := m.get("Job-UUID")
	if !ok || job == "" {
		job = newUUID()
	}
	c.finish(commandReply("+OK Job-UUID: "+job, header{"Job-UUID", job}))
	cmd, arg := splitAPI(line)
	s.backgroundJob(c, job, cmd, arg, siteBgJob)
}

// backgroundJob runs cmd in the background and fires BACKGROUND_JOB. The
// API event of the job is numbered when it starts and sent when it ends,
// just before BACKGROUND_JOB (03-originate-answer.timeline.tsv seq 529,
// 545).
func (s *Server) backgroundJob(c *conn, job, cmd, arg string, at site) {
	ev := s.apiEvent(cmd, arg)
	s.runAPI(c, cmd, arg, func(body string) {
		if ev != nil {
			s.fire(ev)
		}
		e := s.newEvent("BACKGROUND_JOB", at)
		e.add("Job-UUID", job)
		e.add("Job-Command", cmd)
		if arg != "" {
			e.add("Job-Command-Arg", arg)
		}
		e.setBody(body)
		s.fire(e)
	})
}

// apiCommands are the api commands the fake knows; any other answers
// "-ERR <cmd> Command not found!" (06-errors.esl.txt (c)).
var apiCommands = map[string]bool{
	"uuid_answer": true, "uuid_broadcast": true, "uuid_break": true, "uuid_bridge": true,
	"uuid_kill": true, "uuid_exists": true, "uuid_getvar": true, "uuid_setvar": true,
	"uuid_record": true, "uuid_park": true, "originate": true, "show": true, "status": true,
	"uptime": true, "global_getvar": true, "eval": true, "msleep": true, "log": true,
	"version": true, "bgapi": true, "hostname": true,
}

// runAPI executes an api command and calls done with its output, at once
// or, for originate and msleep, when they end.
func (s *Server) runAPI(c *conn, cmd, arg string, done func(string)) {
	args := strings.Fields(arg)
	need := func(n int, usage string) bool {
		if len(args) < n {
			done(usage)
			return false
		}
		return true
	}
	// A channel that is hanging up is no longer found (switch_core_session_locate
	// fails once the session is destroyed; a channel in CS_HANGUP is
	// still there, but not ready).
	locate := func(uuid string) *channel { return s.live(uuid) }
	switch cmd {
	case "uuid_answer":
		if !need(1, "-USAGE: <uuid>\n") {
			return
		}
		ch := locate(args[0])
		if ch == nil || !ch.up() {
			// 06-errors.esl.txt: "-ERROR" for an unknown uuid.
			done("-ERROR\n")
			return
		}
		s.answer(ch)
		done("+OK\n")
	case "uuid_broadcast":
		if !need(2, "-USAGE: <uuid> <path> [aleg|bleg|holdb|both]\n") {
			return
		}
		ch := locate(args[0])
		if ch == nil || !ch.up() {
			done("-ERR invalid uuid\n") // 06-errors.esl.txt
			return
		}
		leg := "aleg"
		if len(args) > 2 {
			leg = args[2]
		}
		s.broadcast(ch, args[1], leg)
		done("+OK Message sent\n") // 01-inbound-dtmf.esl.txt
	case "uuid_break":
		if !need(1, "-USAGE: <uuid> [all]\n") {
			return
		}
		ch := locate(args[0])
		if ch == nil || !ch.up() {
			done("-ERR No such channel!\n") // 06-errors.esl.txt
			return
		}
		s.uuidBreak(ch, len(args) > 1 && args[1] == "all")
		done("+OK\n") // 02-hold.esl.txt
	case "uuid_bridge":
		if !need(2, "-USAGE: <uuid> <other_uuid>\n") {
			return
		}
		a, b := locate(args[0]), locate(args[1])
		if a == nil || b == nil || !a.up() || !b.up() || a == b {
			done("-ERR Invalid uuid\n") // 06-errors.esl.txt
			return
		}
		a.leaving, b.leaving = true, true
		s.uuidBridge(a, b)
		done("+OK " + b.uuid + "\n") // 03-originate-answer.esl.txt
	case "uuid_kill":
		if len(args) < 1 {
			done("-USAGE: <uuid> [cause]\n") // 06-errors.esl.txt
			return
		}
		ch := locate(args[0])
		if ch == nil || !ch.up() {
			done("-ERR No such channel!\n") // 06-errors.esl.txt
			return
		}
		cause := "NORMAL_CLEARING"
		if len(args) > 1 {
			cause = strings.ToUpper(args[1])
		}
		s.hangup(ch, cause, hangupLocal)
		done("+OK\n") // 01-inbound-dtmf.esl.txt
	case "uuid_exists":
		// A bare "true" or "false", no newline (01-inbound-dtmf.esl.txt,
		// 06-errors.esl.txt). A channel is found until it is destroyed.
		if len(args) > 0 && locate(args[0]) != nil {
			done("true")
		} else {
			done("false")
		}
	case "uuid_getvar":
		if !need(2, "-USAGE: <uuid> <var>\n") {
			return
		}
		ch := locate(args[0])
		if ch == nil {
			done("-ERR No such channel!\n") // 06-errors.esl.txt
			return
		}
		// The bare value, no newline (02-hold.esl.txt "playback";
		// 05-outbound-mode.esl.txt "greeting"); "_undef_" when unset
		// (FreeSWITCH source).
		v, ok := ch.vars.get(args[1])
		if !ok {
			v = "_undef_"
		}
		done(v)
	case "uuid_setvar":
		if !need(2, "-USAGE: <uuid> <var> [value]\n") {
			return
		}
		ch := locate(args[0])
		if ch == nil {
			done("-ERR No such channel!\n") // 06-errors.esl.txt
			return
		}
		_, rest, _ := strings.Cut(strings.TrimSpace(arg), " ")
		name, value, _ := strings.Cut(strings.TrimSpace(rest), " ")
		if value == "" {
			ch.vars.del(name)
		} else {
			ch.vars.set(name, value)
		}
		done("+OK\n")
	case "uuid_record":
		s.uuidRecord(args, done)
	case "uuid_park":
		if !need(1, "-USAGE: <uuid>\n") {
			return
		}
		ch := locate(args[0])
		if ch == nil || !ch.up() {
			done("-ERR No such channel!\n")
			return
		}
		s.uuidPark(ch)
		done("+OK\n")
	case "originate":
		s.originate(arg, done)
	case "show":
		done(s.show(args))
	case "status":
		done(s.status())
	case "uptime":
		// "76\n": whole seconds since start (06-errors.esl.txt (f)).
		done(strconv.Itoa(int(s.now().Sub(s.started).Seconds())) + "\n")
	case "global_getvar":
		// The bare value, no newline (06-errors.esl.txt (f): "vm").
		if len(args) > 0 && args[0] == "hostname" {
			done(s.opts.Hostname)
			return
		}
		done("")
	case "hostname":
		done(s.opts.Hostname)
	case "eval":
		// eval echoes its argument, no newline (06-errors.esl.txt (f)).
		done(arg)
	case "msleep":
		// "+OK" with no newline after the time (06-errors.esl.txt (f)).
		ms, _ := strconv.Atoi(strings.TrimSpace(arg))
		s.after(time.Duration(ms)*time.Millisecond, func() { done("+OK") })
	case "log":
		// "api log info <text>": "+OK\n", and a log/data line to loggers
		// (06-errors.esl.txt (h)).
		if len(args) < 1 {
			done("-ERR no level\n")
			return
		}
		level, ok := logLevels[strings.ToLower(args[0])]
		if !ok {
			level = 7
		}
		_, text, _ := strings.Cut(strings.TrimSpace(arg), " ")
		s.logLine(level, "mod_commands.c", "log_function", 7200, text)
		done("+OK\n")
	case "version":
		done("FreeSWITCH Version 1.10.12-release  64bit (-release 64bit)\n")
	case "bgapi":
		// The api command bgapi (what eslgo's BackgroundOriginateCall with
		// background=true ends up sending as "bgapi bgapi ..."): its output
		// is a Job-UUID, and the inner job's BACKGROUND_JOB comes from
		// mod_commands (06-errors.esl.txt (g)).
		if strings.TrimSpace(arg) == "" {
			done("-ERR Invalid syntax\n")
			return
		}
		job := newUUID()
		inner, innerArg := splitAPI(arg)
		done("+OK Job-UUID: " + job + "\n")
		s.backgroundJob(c, job, inner, innerArg, siteBgJobNested)
	default:
		// 06-errors.esl.txt: "-ERR nosuchcommand Command not found!".
		done("-ERR " + cmd + " Command not found!\n")
	}
}

// broadcast is uuid_broadcast: the reply "+OK Message sent" comes at once
// and the playback about 200 ms later, queued on the channel
// (01-inbound-dtmf.timeline.tsv 0.152 to 0.333). FreeSWITCH makes the
// COMMAND event carrying the playback now (its Event-Sequence right after
// the API event's: 02-hold.esl.txt seq 482-483).
func (s *Server) broadcast(ch *channel, path, leg string) {
	targets := []*channel{ch}
	if br := ch.bridge; br != nil {
		switch leg {
		case "bleg":
			targets = []*channel{br.other(ch)}
		case "both":
			targets = append(targets, br.other(ch))
		}
	}
	for _, t := range targets {
		cmd := s.newEvent("COMMAND", siteBroadcast)
		cmd.add("call-command", "execute")
		cmd.add("execute-app-name", "playback")
		cmd.add("execute-app-arg", path)
		cmd.add("event-lock", "true")
		cmd.add("lead-frames", "5")
		t.queueJob(&job{broadcast: true, app: "playback", arg: path, appUUID: newUUID(), prefix: cmd.headers}, broadcastLead)
	}
}

// uuidBreak stops the prompt playing now, 20 ms after the reply
// (PLAYBACK_STOP "break": 02-hold.timeline.tsv 4.301 to 4.322); with "all"
// the queued ones go too (traces README fact 10).
func (s *Server) uuidBreak(ch *channel, all bool) {
	if all {
		ch.queue = nil
	}
	ex := ch.current
	if ex == nil || ex.pb == nil {
		return
	}
	pb := ex.pb
	s.after(stepGap, func() {
		// A uuid_bridge asked for just after the break takes the channel
		// first: the prompt ends "done" with "PLAYBACK ERROR", not
		// "break" (03-originate-answer.esl.txt seq 549-556: uuid_break,
		// then uuid_bridge 0.5 ms later).
		if !pb.ex.ended && ch.up() && !ch.leaving {
			ch.stopPlayback(pb, stopBreak)
		}
	})
}

// uuidPark parks a channel (FreeSWITCH source; not traced): out of a
// bridge with CHANNEL_UNBRIDGE, then CHANNEL_STATE CS_PARK and
// CHANNEL_PARK.
func (s *Server) uuidPark(ch *channel) {
	s.after(stepGap, func() {
		if !ch.up() || ch.host != nil {
			return
		}
		ch.vars.set("park_after_bridge", "true")
		if br := ch.bridge; br != nil {
			other := br.other(ch)
			s.unbridgeEvent(br.a, br.b)
			br.a.bridge, br.b.bridge = nil, nil
			s.afterBridge(ch, nil, nil)
			if other.up() {
				s.afterBridge(other, ch, nil)
			}
			return
		}
		s.afterBridge(ch, nil, nil)
	})
}

// uuidRecord is "uuid_record <uuid> start|stop <path> [<limit>]". Not
// traced: replies and events follow FreeSWITCH 1.10's mod_commands
// ("+OK Success", "-ERR Cannot locate session!") and switch_ivr_async
// (RECORD_START / RECORD_STOP with Record-File-Path).
func (s *Server) uuidRecord(args []string, done func(string)) {
	const usage = "-USAGE: <uuid> [start|stop|mask|unmask] <path> [<limit>] [<recording_vars>]\n"
	if len(args) < 3 {
		done(usage)
		return
	}
	ch := s.live(args[0])
	if ch == nil || !ch.up() {
		done("-ERR Cannot locate session!\n")
		return
	}
	path := args[2]
	switch args[1] {
	case "start":
		r := &recording{ch: ch, path: path, started: s.now()}
		ch.records[path] = r
		ch.fire("RECORD_START", siteAsyncRecordStart, true, nil, header{"Record-File-Path", path})
		if len(args) > 3 {
			if n, err := strconv.Atoi(args[3]); err == nil && n > 0 {
				r.timer = s.after(time.Duration(n)*time.Second, func() { ch.stopRecord(r, "") })
			}
		}
		done("+OK Success\n")
	case "stop":
		if path == "all" {
			for _, r := range ch.records {
				ch.stopRecord(r, "")
			}
			done("+OK Success\n")
			return
		}
		r := ch.records[path]
		if r == nil {
			done("-ERR Cannot stop record session!\n")
			return
		}
		ch.stopRecord(r, "")
		done("+OK Success\n")
	case "mask", "unmask":
		done("+OK Success\n")
	default:
		done(usage)
	}
}

// status is the status command's text, shaped as 06-errors.esl.txt shows
// it; the counts are the fake's.
func (s *Server) status() string {
	up := s.now().Sub(s.started)
	plural := func(n int64, unit string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, unit)
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	us := up.Microseconds()
	days := us / (86400 * 1e6)
	years := days / 365
	days %= 365
	hours := us / (3600 * 1e6) % 24
	mins := us / (60 * 1e6) % 60
	secs := us / 1e6 % 60
	ms := us / 1000 % 1000
	micro := us % 1000
	return fmt.Sprintf("UP %s, %s, %s, %s, %s, %s, %s\nFreeSWITCH (Version 1.10.12-release  64bit) is ready\n%d session(s) since startup\n%d session(s) - peak %d, last 5min %d \n0 session(s) per Sec out of max 30, peak 3, last 5min 3 \n100 session(s) max\nmin idle cpu 0.00/98.10\nCurrent Stack Size/Max 240K/8192K\n",
		plural(years, "year"), plural(days, "day"), plural(hours, "hour"), plural(mins, "minute"),
		plural(secs, "second"), plural(ms, "millisecond"), plural(micro, "microsecond"),
		s.since, s.liveCount(), s.peak, s.peak)
}

// showColumns are the columns of "show channels" (FreeSWITCH 1.10's
// channels table; not traced).
var showColumns = []string{"uuid", "direction", "created", "created_epoch", "name", "state", "cid_name", "cid_num", "ip_addr", "dest", "application", "application_data", "dialplan", "context", "read_codec", "read_rate", "read_bit_rate", "write_codec", "write_rate", "write_bit_rate", "secure", "hostname", "presence_id", "presence_data", "accountcode", "callstate", "callee_name", "callee_num", "callee_direction", "call_uuid", "sent_callee_name", "sent_callee_num", "initial_cid_name", "initial_cid_num", "initial_ip_addr", "initial_dest", "initial_dialplan", "initial_context"}

// show is "show channels [as json]" and "show calls": every channel not
// yet destroyed, in creation order. The traces do not show it; the format
// is mod_commands' (CSV with a header line and "N total.", or
// {"row_count":N,"rows":[...]} as json, just {"row_count":0} when empty).
func (s *Server) show(args []string) string {
	if len(args) == 0 {
		return "-USAGE: codec|endpoint|application|api|dialplan|file|timer|calls [count]|channels [count|like <match string>]|calls|detailed_calls|bridged_calls|detailed_bridged_calls|aliases|complete|chat|management|modules|nat_map|say|interfaces|interface_types|tasks|limits|status\n"
	}
	what := args[0]
	if what != "channels" && what != "calls" {
		return "-ERR Cannot find table\n"
	}
	var rows [][]string
	for _, ch := range s.chanOrder {
		if ch.gone {
			continue
		}
		rows = append(rows, s.showRow(ch))
	}
	asJSON := len(args) >= 3 && args[1] == "as" && args[2] == "json"
	if len(args) >= 2 && args[1] == "count" {
		return fmt.Sprintf("\n%d total.\n", len(rows))
	}
	if asJSON {
		var b strings.Builder
		fmt.Fprintf(&b, `{"row_count":%d`, len(rows))
		if len(rows) > 0 {
			b.WriteString(`,"rows":[`)
			for i, r := range rows {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteByte('{')
				for j, col := range showColumns {
					if j > 0 {
						b.WriteByte(',')
					}
					jsonString(&b, col)
					b.WriteByte(':')
					jsonString(&b, r[j])
				}
				b.WriteByte('}')
			}
			b.WriteByte(']')
		}
		b.WriteString("}\n")
		return b.String()
	}
	var b strings.Builder
	if len(rows) > 0 {
		b.WriteString(strings.Join(showColumns, ",") + "\n")
		for _, r := range rows {
			b.WriteString(strings.Join(r, ",") + "\n")
		}
	}
	fmt.Fprintf(&b, "\n%d total.\n", len(rows))
	return b.String()
}

func (s *Server) showRow(ch *channel) []string {
	p := ch.prof
	if p == nil {
		p = &profile{}
	}
	app, _ := ch.vars.get("current_application")
	data, _ := ch.vars.get("current_application_data")
	rc, wc := codec{}, codec{}
	if ch.readCodec != nil {
		rc = *ch.readCodec
	}
	if ch.writeCodec != nil {
		wc = *ch.writeCodec
	}
	num := func(n int) string {
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	callUUID, _ := ch.vars.get("call_uuid")
	return []string{
		ch.uuid, ch.direction, s.dateStamp(ch.created), strconv.FormatInt(ch.created.Unix(), 10),
		ch.name, ch.running, p.cidName, p.cidNumber, p.networkAddr, p.dest, app, data,
		p.dialplan, p.context, rc.name, num(rc.rate), num(rc.bitRate), wc.name, num(wc.rate), num(wc.bitRate),
		"", s.opts.Hostname, "", "", "", ch.callState, p.calleeName, p.calleeNumber, "",
		callUUID, "", "", p.origCIDName, p.origCIDNumber, p.networkAddr, p.dest, p.dialplan, p.context,
	}
}

// sendmsg is "sendmsg [<uuid>]" with Call-Command execute or hangup. The
// reply "+OK" comes at once, even with event-lock (05-outbound-mode: async
// socket); an unknown uuid gets "-ERR invalid session id [<uuid>]"
// (06-errors.esl.txt). An execute is queued like a broadcast and runs 20 ms
// later when the channel is free; its events carry the client's Event-UUID
// as Application-UUID (01-inbound-dtmf.esl.txt seq 440). The argument is
// Execute-App-Arg or, with Content-Type text/plain, the body
// (05-outbound-mode.esl.txt, eslgo's call.Set).
func (c *conn) sendmsg(arg string, m *message) {
	s := c.s
	uuid := strings.TrimSpace(arg)
	if uuid == "" && c.session != nil {
		uuid = c.session.uuid
	}
	ch := s.live(uuid)
	if ch == nil || !ch.up() {
		c.finish(commandReply(fmt.Sprintf("-ERR invalid session id [%s]", uuid)))
		return
	}
	command, _ := m.get("Call-Command")
	c.finish(commandReply("+OK"))
	switch strings.ToLower(command) {
	case "execute":
		name, _ := m.get("Execute-App-Name")
		appArg, _ := m.get("Execute-App-Arg")
		if ct, _ := m.get("Content-Type"); strings.EqualFold(ct, "text/plain") && m.body != "" {
			appArg = m.body
		}
		id, ok := m.get("Event-UUID")
		if !ok || id == "" {
			id = newUUID()
		}
		prefix := []header{{"Command", m.command()}}
		prefix = append(prefix, m.headers[1:]...)
		ch.queueJob(&job{app: name, arg: appArg, appUUID: id, prefix: prefix}, sendmsgLead)
	case "hangup":
		cause, _ := m.get("Hangup-Cause")
		if cause == "" {
			cause = "NORMAL_CLEARING"
		}
		// 05-outbound-mode.timeline.tsv: CHANNEL_HANGUP 20 ms after the
		// reply.
		s.after(sendmsgLead, func() {
			if ch.up() {
				s.hangup(ch, strings.ToUpper(cause), hangupLocal)
			}
		})
	default:
		s.logf("%s: sendmsg %s not modelled; ignored", c.name, command)
	}
}
