package esltest

import (
	"encoding/json"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The behaviours the traces do not replay as a whole: scripted parties,
// originate outcomes and their event order, bridges and what happens to
// the survivor, terminators, recording, filters, JSON, dropped and
// outbound connections.

func TestInboundCallScriptAndTerminators(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Options{})
	c := dial(t, srv, "event plain ALL")
	// The caller presses 1 during the announcement (it does not stop it),
	// then * during the second one (it does).
	call := parkedCall(t, srv, c, CallSpec{Script: Script{
		{AfterMedia: "*/announce.wav", During: true, Delay: time.Second, Press: "1"},
		{AfterMedia: "*/beep.wav", During: true, Delay: 100 * time.Millisecond, Press: "*"},
	}})
	uuid := call.UUID()
	if got := c.api("uuid_broadcast " + uuid + " /srv/lab/fs-run/sounds/announce.wav aleg"); got != "+OK Message sent\n" {
		t.Fatalf("uuid_broadcast: %q", got)
	}
	if e := c.until("DTMF", uuid); e.get("DTMF-Digit") != "1" || e.get("DTMF-Duration") != "2240" {
		t.Fatalf("DTMF %v", e.hdrs)
	}
	stop := c.until("PLAYBACK_STOP", uuid)
	if stop.get("Playback-Status") != "done" {
		t.Fatalf("1 stopped the prompt: %s", stop.get("Playback-Status"))
	}
	c.ok("sendmsg "+uuid, "call-command: execute", "execute-app-name: playback", "execute-app-arg: /srv/lab/fs-run/sounds/beep.wav", "Event-UUID: 11111111-2222-4333-8444-555555555555")
	if e := c.until("CHANNEL_EXECUTE", uuid); e.get("Application-UUID") != "11111111-2222-4333-8444-555555555555" {
		t.Fatalf("Application-UUID %q", e.get("Application-UUID"))
	}
	c.until("DTMF", uuid)
	stop = c.until("PLAYBACK_STOP", uuid)
	if stop.get("Playback-Status") != "break" || stop.get("variable_playback_terminator_used") != "*" {
		t.Fatalf("* did not break the prompt: %s %q", stop.get("Playback-Status"), stop.get("variable_playback_terminator_used"))
	}
	heard := call.Heard()
	if len(heard) != 2 || heard[0].End != "done" || heard[0].Via != "broadcast" || heard[1].End != "terminator" || heard[1].Via != "sendmsg" {
		t.Fatalf("heard %+v", heard)
	}
	if call.Pressed() != "1*" {
		t.Fatalf("pressed %q", call.Pressed())
	}
}

func TestMusicWithoutTerminators(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Options{})
	c := dial(t, srv, "event plain ALL")
	call := parkedCall(t, srv, c, CallSpec{})
	uuid := call.UUID()
	// playback_terminators=none keeps "*" from stopping the music
	// (traces README fact 9).
	if got := c.api("uuid_setvar " + uuid + " playback_terminators none"); got != "+OK\n" {
		t.Fatalf("uuid_setvar: %q", got)
	}
	c.api("uuid_broadcast " + uuid + " local_stream://moh aleg")
	start := c.until("PLAYBACK_START", uuid)
	if start.get("Playback-File-Type") != "local_stream" {
		t.Fatalf("PLAYBACK_START %v", start.hdrs)
	}
	call.Press("*")
	c.until("DTMF", uuid)
	c.quiet(300 * time.Millisecond)
	if got := c.api("uuid_getvar " + uuid + " current_application"); got != "playback" {
		t.Fatalf("current_application %q", got)
	}
	if got := c.api("uuid_getvar " + uuid + " no_such_var"); got != "_undef_" {
		t.Fatalf("unset variable: %q", got)
	}
	c.api("uuid_break " + uuid + " all")
	if e := c.until("PLAYBACK_STOP", uuid); e.get("Playback-Status") != "break" {
		t.Fatalf("uuid_break: %s", e.get("Playback-Status"))
	}
	// The caller hangs up during music: PLAYBACK_STOP comes after
	// CHANNEL_HANGUP (02-hold).
	c.api("uuid_broadcast " + uuid + " local_stream://moh aleg")
	c.until("PLAYBACK_START", uuid)
	call.HangUp()
	got := c.seen(uuid, "CHANNEL_DESTROY")
	want := []string{"CHANNEL_HANGUP", "PLAYBACK_STOP", "CHANNEL_EXECUTE_COMPLETE", "COMMAND", "CHANNEL_UNPARK", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_STATE(CS_HANGUP)", "CHANNEL_CALLSTATE(CS_HANGUP)", "CHANNEL_STATE(CS_REPORTING)", "CHANNEL_HANGUP_COMPLETE", "CHANNEL_DESTROY"}
	if !slices.Equal(got, want) {
		t.Fatalf("hangup events\n got %v\nwant %v", got, want)
	}
}

// originate runs a bgapi originate to dial and returns the leg's events up
// to BACKGROUND_JOB and the job's body.
func originate(t *testing.T, c *eslClient, uuid, dial string, timeout int) ([]string, string) {
	t.Helper()
	job := "00000000-0000-4000-8000-" + uuid[len(uuid)-12:]
	r := c.cmd("bgapi originate {origination_uuid="+uuid+",ignore_early_media=true,originate_timeout="+strconv.Itoa(timeout)+"}"+dial+" &park()", "Job-UUID: "+job)
	if r.get("Reply-Text") != "+OK Job-UUID: "+job || r.get("Job-UUID") != job {
		t.Fatalf("bgapi reply %q", r.raw)
	}
	var names []string
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-c.events:
			if e.get("Event-Name") == "BACKGROUND_JOB" {
				if e.get("Job-UUID") != job || e.get("Job-Command") != "originate" {
					t.Fatalf("BACKGROUND_JOB %v", e.hdrs)
				}
				return names, e.body
			}
			if e.get("Unique-ID") == uuid {
				names = append(names, e.get("Event-Name"))
			}
		case <-deadline:
			t.Fatalf("no BACKGROUND_JOB; saw %v", names)
		}
	}
}

func TestOriginateOutcomes(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Options{Speed: 50})
	srv.Endpoint("sofia/lab/agent@127.0.0.1:5091", Behaviour{Outcome: Answer})
	srv.Endpoint("sofia/lab/agent@127.0.0.1:5092", Behaviour{Outcome: Busy})
	srv.Endpoint("sofia/lab/agent@127.0.0.1:5093", Behaviour{Outcome: NoAnswer})
	srv.Endpoint("sofia/gateway/trunk/*", Behaviour{Outcome: Reject, Cause: "UNALLOCATED_NUMBER", SIPStatus: 404})
	c := dial(t, srv, "event plain ALL")
	cases := []struct {
		dial, body string
		names      []string
	}{
		{"sofia/lab/agent@127.0.0.1:5091", "+OK %s\n", []string{"CHANNEL_OUTGOING", "CHANNEL_STATE", "CHANNEL_CREATE", "CHANNEL_ORIGINATE", "CHANNEL_STATE", "CHANNEL_STATE", "CHANNEL_PROGRESS", "CHANNEL_CALLSTATE", "CODEC", "CODEC", "CHANNEL_ANSWER", "CHANNEL_CALLSTATE", "CALL_UPDATE"}},
		// The failed leg's CHANNEL_HANGUP (and, busy, its
		// CHANNEL_HANGUP_COMPLETE) before the BACKGROUND_JOB.
		{"sofia/lab/agent@127.0.0.1:5092", "-ERR USER_BUSY\n", []string{"CHANNEL_OUTGOING", "CHANNEL_STATE", "CHANNEL_CREATE", "CHANNEL_ORIGINATE", "CHANNEL_STATE", "CHANNEL_STATE", "CHANNEL_HANGUP", "CHANNEL_STATE", "CHANNEL_CALLSTATE", "CHANNEL_STATE", "CHANNEL_HANGUP_COMPLETE"}},
		{"sofia/lab/agent@127.0.0.1:5093", "-ERR NO_ANSWER\n", []string{"CHANNEL_OUTGOING", "CHANNEL_STATE", "CHANNEL_CREATE", "CHANNEL_ORIGINATE", "CHANNEL_STATE", "CHANNEL_STATE", "CHANNEL_PROGRESS", "CHANNEL_CALLSTATE", "CHANNEL_HANGUP"}},
		{"sofia/lab/agent@127.0.0.1:5099", "-ERR NORMAL_TEMPORARY_FAILURE\n", []string{"CHANNEL_OUTGOING", "CHANNEL_STATE", "CHANNEL_CREATE", "CHANNEL_ORIGINATE", "CHANNEL_STATE", "CHANNEL_HANGUP", "CHANNEL_STATE", "CHANNEL_CALLSTATE", "CHANNEL_STATE", "CHANNEL_HANGUP_COMPLETE"}},
		{"sofia/gateway/trunk/15551234567", "-ERR UNALLOCATED_NUMBER\n", []string{"CHANNEL_OUTGOING", "CHANNEL_STATE", "CHANNEL_CREATE", "CHANNEL_ORIGINATE", "CHANNEL_STATE", "CHANNEL_STATE", "CHANNEL_HANGUP", "CHANNEL_STATE", "CHANNEL_CALLSTATE", "CHANNEL_STATE", "CHANNEL_HANGUP_COMPLETE"}},
	}
	for i, tc := range cases {
		uuid := "aaaaaaaa-0000-4000-8000-00000000000" + string(rune('1'+i))
		names, body := originate(t, c, uuid, tc.dial, 5)
		want := tc.body
		if strings.Contains(want, "%s") {
			want = strings.Replace(want, "%s", uuid, 1)
		}
		if body != want {
			t.Errorf("%s: body %q, want %q", tc.dial, body, want)
		}
		if !slices.Equal(names, tc.names) {
			t.Errorf("%s: events\n got %v\nwant %v", tc.dial, names, tc.names)
		}
	}
	if got := c.api("originate sofia/nosuchprofile/x@127.0.0.1 &park()"); got != "-ERR INVALID_PROFILE\n" {
		t.Errorf("invalid profile: %q", got)
	}
	// A foreground originate answers before the leg's events (04-originate-fail).
	const fg = "bbbbbbbb-0000-4000-8000-000000000001"
	c.send("api originate {origination_uuid=" + fg + "}sofia/lab/agent@127.0.0.1:5092 &park()")
	if r := c.reply(); r.body != "-ERR USER_BUSY\n" {
		t.Fatalf("foreground busy: %q", r.raw)
	}
	c.until("CHANNEL_HANGUP", fg)
	order := c.arrivals()
	reply := slices.Index(order, "reply -ERR USER_BUSY")
	first := slices.Index(order, "CHANNEL_OUTGOING "+fg)
	if reply < 0 || first < reply {
		t.Fatalf("the leg's events came before the reply: %v", order)
	}
}

func TestBridgeAgentHangsUpCallerFollows(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Options{Speed: 50})
	agentEP := srv.Endpoint("sofia/lab/agent@127.0.0.1:5091", Behaviour{Outcome: Answer, Script: Script{{Delay: 5 * time.Second, HangUp: true}}})
	c := dial(t, srv, "event plain ALL")
	call := parkedCall(t, srv, c, CallSpec{})
	const agent = "cccccccc-0000-4000-8000-000000000001"
	if _, body := originate(t, c, agent, "sofia/lab/agent@127.0.0.1:5091", 10); body != "+OK "+agent+"\n" {
		t.Fatalf("originate: %q", body)
	}
	if got := c.api("uuid_bridge " + call.UUID() + " " + agent); got != "+OK "+agent+"\n" {
		t.Fatalf("uuid_bridge: %q", got)
	}
	b := c.until("CHANNEL_BRIDGE", call.UUID())
	if b.get("Bridge-A-Unique-ID") != call.UUID() || b.get("Bridge-B-Unique-ID") != agent || b.get("Other-Leg-Unique-ID") != agent {
		t.Fatalf("CHANNEL_BRIDGE %v", b.hdrs)
	}
	c.until("CHANNEL_UNBRIDGE", call.UUID())
	h := c.until("CHANNEL_HANGUP", call.UUID())
	if h.get("Hangup-Cause") != "NORMAL_CLEARING" {
		t.Fatalf("caller cause %q", h.get("Hangup-Cause"))
	}
	must(t, call.WaitHungUp(ctxT(t)))
	ag, _ := agentEP.WaitCall(ctxT(t), 1)
	if !ag.HungUp() || ag.UUID() != agent {
		t.Fatalf("agent %v", ag.Log())
	}
}

func TestParkAfterBridgeKeepsTheCaller(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Options{Speed: 50})
	srv.Endpoint("sofia/lab/agent@127.0.0.1:5091", Behaviour{Outcome: Answer, Ring: 100 * time.Millisecond})
	c := dial(t, srv, "event plain ALL")
	call := parkedCall(t, srv, c, CallSpec{})
	uuid := call.UUID()
	c.api("uuid_setvar " + uuid + " park_after_bridge true")
	const agent = "dddddddd-0000-4000-8000-000000000001"
	originate(t, c, agent, "sofia/lab/agent@127.0.0.1:5091", 10)
	c.api("uuid_bridge " + uuid + " " + agent)
	c.until("CHANNEL_BRIDGE", uuid)
	c.until("CALL_UPDATE", uuid)
	ag := srv.Channel(agent)
	ag.HangUp()
	got := c.seen(uuid, "CHANNEL_PARK")
	if !slices.Equal(got, []string{"CHANNEL_UNBRIDGE", "CHANNEL_STATE(CS_PARK)", "CHANNEL_PARK"}) {
		t.Fatalf("caller after the agent's BYE: %v", got)
	}
	if !call.Parked() || call.HungUp() {
		t.Fatalf("caller not parked: %v", call.Log())
	}
	if got := c.api("uuid_exists " + uuid); got != "true" {
		t.Fatalf("uuid_exists %q", got)
	}
	// Back in park, a broadcast plays again.
	c.api("uuid_broadcast " + uuid + " local_stream://moh aleg")
	c.until("PLAYBACK_START", uuid)
	if h, _ := call.WaitHeard(ctxT(t), "local_stream://moh"); h.Via != "broadcast" {
		t.Fatalf("heard %+v", h)
	}
}

func TestCallerHangsUpWhileBridged(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Options{Speed: 50})
	srv.Endpoint("sofia/lab/agent@127.0.0.1:5091", Behaviour{Outcome: Answer, Ring: 100 * time.Millisecond})
	c := dial(t, srv, "event plain ALL")
	call := parkedCall(t, srv, c, CallSpec{})
	const agent = "eeeeeeee-0000-4000-8000-000000000001"
	originate(t, c, agent, "sofia/lab/agent@127.0.0.1:5091", 10)
	c.api("uuid_bridge " + call.UUID() + " " + agent)
	c.until("CHANNEL_BRIDGE", call.UUID())
	call.HangUp()
	c.until("CHANNEL_UNBRIDGE", call.UUID())
	if e := c.until("CHANNEL_HANGUP", agent); e.get("Hangup-Cause") != "NORMAL_CLEARING" {
		t.Fatalf("agent %v", e.hdrs)
	}
	c.until("CHANNEL_DESTROY", agent)
}

func TestDropConnectionKeepsCalls(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Options{})
	c := dial(t, srv, "event plain ALL")
	call := parkedCall(t, srv, c, CallSpec{Queue: "sales"})
	if n := srv.DropConnection(); n != 1 {
		t.Fatalf("dropped %d", n)
	}
	select {
	case _, ok := <-c.replies:
		if ok {
			t.Fatal("a message instead of a closed socket")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the socket stayed open")
	}
	if call.HungUp() {
		t.Fatal("the drop hung the call up")
	}
	// A reconnecting client finds the call.
	c2 := dial(t, srv, "")
	if got := c2.api("uuid_exists " + call.UUID()); got != "true" {
		t.Fatalf("uuid_exists %q", got)
	}
	var show struct {
		RowCount int                 `json:"row_count"`
		Rows     []map[string]string `json:"rows"`
	}
	body := c2.api("show channels as json")
	if err := json.Unmarshal([]byte(body), &show); err != nil {
		t.Fatalf("%q: %v", body, err)
	}
	if show.RowCount != 1 || show.Rows[0]["uuid"] != call.UUID() || show.Rows[0]["application"] != "park" || show.Rows[0]["callstate"] != "ACTIVE" {
		t.Fatalf("show channels: %s", body)
	}
	if got := c2.api("uuid_getvar " + call.UUID() + " vhold_queue"); got != "sales" {
		t.Fatalf("vhold_queue %q", got)
	}
	plain := c2.api("show channels")
	if !strings.HasPrefix(plain, "uuid,direction,created,") || !strings.HasSuffix(plain, "\n1 total.\n") {
		t.Fatalf("show channels plain: %q", plain)
	}
	// Events resume once subscribed again.
	c2.ok("event plain CHANNEL_HANGUP")
	c2.api("uuid_kill " + call.UUID() + " USER_BUSY")
	if e := c2.until("CHANNEL_HANGUP", call.UUID()); e.get("Hangup-Cause") != "USER_BUSY" {
		t.Fatalf("kill cause %q", e.get("Hangup-Cause"))
	}
	must(t, srv.WaitFor(ctxT(t), func() bool { return len(srv.Channels()) == 0 }))
	if got := c2.api("show channels as json"); got != "{\"row_count\":0}\n" {
		t.Fatalf("empty show channels: %q", got)
	}
}

func TestRecording(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Options{Speed: 50})
	c := dial(t, srv, "event plain ALL")
	call := parkedCall(t, srv, c, CallSpec{Speech: time.Second})
	uuid := call.UUID()
	// The record application: RECORD_START, the party talks, then silence
	// ends it: RECORD_STOP and the completion.
	c.ok("sendmsg "+uuid, "call-command: execute", "execute-app-name: record", "execute-app-arg: /tmp/name.wav 10")
	if e := c.until("RECORD_START", uuid); e.get("Record-File-Path") != "/tmp/name.wav" {
		t.Fatalf("RECORD_START %v", e.hdrs)
	}
	c.until("RECORD_STOP", uuid)
	if e := c.until("CHANNEL_EXECUTE_COMPLETE", uuid); e.get("Application") != "record" {
		t.Fatalf("completion %v", e.get("Application"))
	}
	// A terminator ends it at once.
	c.ok("sendmsg "+uuid, "call-command: execute", "execute-app-name: record", "execute-app-arg: /tmp/two.wav 30")
	c.until("RECORD_START", uuid)
	call.Press("*")
	if e := c.until("RECORD_STOP", uuid); e.get("variable_playback_terminator_used") != "*" {
		t.Fatalf("terminator %v", e.get("variable_playback_terminator_used"))
	}
	// uuid_record start/stop.
	if got := c.api("uuid_record " + uuid + " start /tmp/all.wav"); got != "+OK Success\n" {
		t.Fatalf("uuid_record start %q", got)
	}
	c.until("RECORD_START", uuid)
	if got := c.api("uuid_record " + uuid + " stop /tmp/all.wav"); got != "+OK Success\n" {
		t.Fatalf("uuid_record stop %q", got)
	}
	c.until("RECORD_STOP", uuid)
	if got := c.api("uuid_record 00000000-0000-4000-8000-000000000000 start /tmp/x.wav"); got != "-ERR Cannot locate session!\n" {
		t.Fatalf("unknown uuid %q", got)
	}
	if rec := call.Recorded(); !slices.Equal(rec, []string{"/tmp/name.wav", "/tmp/two.wav", "/tmp/all.wav"}) {
		t.Fatalf("recorded %v", rec)
	}
}

func TestFiltersMyEventsAndJSON(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Options{})
	c := dial(t, srv, "event json CHANNEL_PARK BACKGROUND_JOB")
	one := srv.Call(CallSpec{})
	e := c.until("CHANNEL_PARK", one.UUID())
	if e.get("variable_vhold_queue") != "support" {
		t.Fatalf("JSON event %v", e.hdrs)
	}
	// BACKGROUND_JOB in JSON carries its body under _body.
	c.ok("bgapi uuid_exists " + one.UUID())
	if e := c.until("BACKGROUND_JOB", ""); !e.hasBody || e.body != "true" {
		t.Fatalf("BACKGROUND_JOB json %v %q", e.hdrs, e.body)
	}
	// A filter on Unique-ID keeps only that channel's events.
	f := dial(t, srv, "event plain CHANNEL_PARK CHANNEL_HANGUP")
	two := srv.Call(CallSpec{})
	f.until("CHANNEL_PARK", two.UUID())
	if r := f.ok("filter Unique-ID " + two.UUID()); r != "+OK filter added. [Unique-ID]=["+two.UUID()+"]" {
		t.Fatalf("filter reply %q", r)
	}
	f.api("uuid_kill " + one.UUID())
	f.api("uuid_kill " + two.UUID())
	if e := f.next(); e.get("Unique-ID") != two.UUID() {
		t.Fatalf("filtered event for %s", e.get("Unique-ID"))
	}
	// myevents <uuid> on an inbound connection.
	m := dial(t, srv, "")
	three := srv.Call(CallSpec{})
	must(t, srv.WaitFor(ctxT(t), func() bool { return three.Parked() }))
	if r := m.ok("myevents " + three.UUID()); r != "+OK Events Enabled" {
		t.Fatalf("myevents %q", r)
	}
	srv.Call(CallSpec{})
	m.api("uuid_answer " + three.UUID())
	if e := m.next(); e.get("Event-Name") != "CHANNEL_ANSWER" || e.get("Unique-ID") != three.UUID() {
		t.Fatalf("myevents event %s %s", e.get("Event-Name"), e.get("Unique-ID"))
	}
	if r := m.ok("noevents"); r != "+OK no longer listening for events" {
		t.Fatalf("noevents %q", r)
	}
	m.api("uuid_kill " + three.UUID())
	m.quiet(200 * time.Millisecond)
}

func TestOutboundSocket(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	srv := newServer(t, Options{SocketAddr: ln.Addr().String()})
	call := srv.Call(CallSpec{Dest: "201", Queue: "billing"})
	nc, err := ln.Accept()
	must(t, err)
	c := attach(t, nc)
	c.send("connect")
	r := c.reply()
	if r.get("Reply-Text") != "%2BOK%0A" || r.get("Unique-ID") != call.UUID() || r.get("variable_vhold_queue") != "billing" || r.get("Socket-Mode") != "async" {
		t.Fatalf("connect reply %q", r.raw)
	}
	c.ok("myevents plain")
	c.ok("linger 5")
	c.ok("sendmsg", "call-command: execute", "execute-app-name: answer")
	c.until("CHANNEL_ANSWER", call.UUID())
	// The socket closing hangs the call up.
	_ = nc.Close()
	must(t, call.WaitHungUp(ctxT(t)))
	if call.Cause() != "NORMAL_CLEARING" {
		t.Fatalf("cause %q", call.Cause())
	}
}

func TestOutboundNobodyListening(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := ln.Addr().String()
	_ = ln.Close()
	srv := newServer(t, Options{SocketAddr: addr})
	call := srv.Call(CallSpec{Dest: "201"})
	must(t, call.WaitHungUp(ctxT(t)))
	// example-conf README: the dialplan ends and the caller gets 480.
	if call.Response() != 480 || call.Cause() != "NORMAL_CLEARING" || call.Answered() {
		t.Fatalf("response %d cause %q: %v", call.Response(), call.Cause(), call.Log())
	}
	unknown := srv.Call(CallSpec{Dest: "999"})
	must(t, unknown.WaitHungUp(ctxT(t)))
	if unknown.Response() != 404 {
		t.Fatalf("respond 404: %d", unknown.Response())
	}
}

func TestCommandForAGoneCall(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Options{Speed: 50})
	c := dial(t, srv, "event plain CHANNEL_DESTROY")
	call := srv.Call(CallSpec{})
	must(t, srv.WaitFor(ctxT(t), call.Parked))
	c.api("uuid_kill " + call.UUID())
	c.until("CHANNEL_DESTROY", call.UUID())
	for cmd, want := range map[string]string{
		"uuid_exists " + call.UUID():                  "false",
		"uuid_answer " + call.UUID():                  "-ERROR\n",
		"uuid_kill " + call.UUID():                    "-ERR No such channel!\n",
		"uuid_broadcast " + call.UUID() + " x aleg":   "-ERR invalid uuid\n",
		"uuid_getvar " + call.UUID() + " vhold_queue": "-ERR No such channel!\n",
	} {
		if got := c.api(cmd); got != want {
			t.Errorf("%s: %q, want %q", cmd, got, want)
		}
	}
	r := c.cmd("sendmsg "+call.UUID(), "call-command: hangup")
	if r.get("Reply-Text") != "-ERR invalid session id ["+call.UUID()+"]" {
		t.Errorf("sendmsg %q", r.raw)
	}
}

func TestAgentScriptPressesAfterWhisper(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Options{Speed: 50})
	ep := srv.Endpoint("sofia/lab/*@127.0.0.1:5091", Behaviour{Outcome: Answer, Ring: 200 * time.Millisecond,
		Script: Script{{AfterMedia: "*/whisper.wav", Press: "1"}}})
	c := dial(t, srv, "event plain ALL")
	const agent = "ffffffff-0000-4000-8000-000000000001"
	originate(t, c, agent, "sofia/lab/agent7@127.0.0.1:5091", 10)
	c.until("CHANNEL_PARK", agent)
	c.api("uuid_broadcast " + agent + " /sounds/whisper.wav aleg")
	if e := c.until("DTMF", agent); e.get("DTMF-Digit") != "1" {
		t.Fatalf("agent pressed %q", e.get("DTMF-Digit"))
	}
	a, _ := ep.WaitCall(ctxT(t), 1)
	if a.Name() != "sofia/lab/agent7@127.0.0.1:5091" {
		t.Fatalf("name %q", a.Name())
	}
}

func TestOriginateEndsWithTheLeg(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Options{Speed: 50})
	srv.Endpoint("sofia/lab/ringing@127.0.0.1:5093", Behaviour{Outcome: NoAnswer})
	c := dial(t, srv, "event plain BACKGROUND_JOB CHANNEL_PROGRESS")
	const leg = "12121212-0000-4000-8000-000000000001"
	c.ok("bgapi originate {origination_uuid="+leg+",originate_timeout=60}sofia/lab/ringing@127.0.0.1:5093 &park()", "Job-UUID: 12121212-0000-4000-8000-00000000000f")
	c.until("CHANNEL_PROGRESS", leg)
	// The dialer gives up on a ringing callback: the job fails with the
	// kill's cause.
	c.api("uuid_kill " + leg + " ORIGINATOR_CANCEL")
	if e := c.until("BACKGROUND_JOB", ""); e.body != "-ERR ORIGINATOR_CANCEL\n" {
		t.Fatalf("job %q", e.body)
	}
	// A callee declining a ringing call: CALL_REJECTED.
	const leg2 = "12121212-0000-4000-8000-000000000002"
	c.ok("bgapi originate {origination_uuid=" + leg2 + "}sofia/lab/ringing@127.0.0.1:5093 &park()")
	c.until("CHANNEL_PROGRESS", leg2)
	srv.Channel(leg2).HangUp()
	if e := c.until("BACKGROUND_JOB", ""); e.body != "-ERR CALL_REJECTED\n" {
		t.Fatalf("job %q", e.body)
	}
}
