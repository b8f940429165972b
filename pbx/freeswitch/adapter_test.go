package freeswitch

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/pbx/freeswitch/esltest"
)

const soundsDir = "/usr/share/freeswitch/sounds/vhold"

// rig is the adapter serving the in-process fake FreeSWITCH.
type rig struct {
	srv *esltest.Server
	sw  *Switch
}

// testLog is a logger that shows the adapter's log with -v.
func testLog(t testing.TB) *logrus.Entry {
	l := logrus.New()
	l.SetLevel(logrus.PanicLevel)
	if testing.Verbose() {
		l.SetLevel(logrus.DebugLevel)
		l.SetOutput(tbWriter{t})
	}
	return logrus.NewEntry(l)
}

type tbWriter struct{ t testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func newServer(t testing.TB) *esltest.Server {
	t.Helper()
	srv := esltest.New(esltest.Options{Speed: 20, Password: "not-ClueCon"})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

func testOptions(t testing.TB, srv *esltest.Server) Options {
	return Options{
		Name: "fs1", Address: srv.Addr(), Password: "not-ClueCon", Sounds: soundsDir, Log: testLog(t),
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
	}
}

// serve runs sw on h until the test ends, and waits for the connection.
func serve(t testing.TB, srv *esltest.Server, sw *Switch, h pbx.Handler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sw.Serve(ctx, h) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not return after its context ended")
		}
	})
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := srv.WaitFor(wctx, func() bool { return sw.currentEpoch() > 0 && srv.Connections() > 0 }); err != nil {
		t.Fatal("the adapter never connected")
	}
}

func newRig(t *testing.T, h pbx.Handler) *rig {
	t.Helper()
	srv := newServer(t)
	sw := New(testOptions(t, srv))
	serve(t, srv, sw, h)
	return &rig{srv: srv, sw: sw}
}

func within(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// heardPaths is what c heard, each path without vhold's tag, with how it
// ended.
func heardPaths(c *esltest.Call) []string {
	var out []string
	for _, h := range c.Heard() {
		_, file := playTag(h.Path, "")
		out = append(out, file+" "+h.End)
	}
	return out
}

// An incoming call (01-inbound-dtmf): the dialplan sets vhold_queue and
// parks; the CHANNEL_PARK names the queue, the call is still ringing (park
// does not answer) until vhold answers; the prompts play by absolute path;
// "1" does not stop a prompt by itself, the adapter breaks it
// (uuid_break, 02-hold) and Play returns the key.
func TestIncomingCallPromptKeyHangup(t *testing.T) {
	type result struct {
		queue, number, lang, key string
		answeredBefore           bool
		err                      error
	}
	got := make(chan result, 1)
	var srv *esltest.Server
	r := newRig(t, func(ctx context.Context, c pbx.Call) {
		res := result{queue: c.Queue(), number: c.Caller().Number, lang: c.Language()}
		res.answeredBefore = srv.Channel(c.ID()).Answered()
		if res.err = c.Answer(ctx); res.err == nil {
			res.key, res.err = c.Play(ctx, pbx.PlayOptions{Interrupt: "1"}, pbx.Sound("greeting"), pbx.Sound("offer-callback"), pbx.Sound("goodbye"))
		}
		got <- res
		_ = c.Hangup(ctx, pbx.CauseNormal)
	})
	srv = r.srv
	call := r.srv.Call(esltest.CallSpec{
		CallerNumber: "34911234567", Queue: "support",
		Script: esltest.Script{{AfterMedia: "*offer-callback.wav", During: true, Delay: 200 * time.Millisecond, Press: "1"}},
	})
	ctx := within(t)
	select {
	case res := <-got:
		if res.err != nil {
			t.Fatal(res.err)
		}
		if res.queue != "support" || res.number != "34911234567" || res.key != "1" || res.lang != "" {
			t.Fatalf("handler saw %+v", res)
		}
		if res.answeredBefore {
			t.Fatal("the call was answered before vhold answered it: park does not answer")
		}
	case <-ctx.Done():
		t.Fatalf("the handler never finished; %v", call)
	}
	if err := call.WaitHungUp(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{soundsDir + "/en/greeting.wav done", soundsDir + "/en/offer-callback.wav break"}
	if got := heardPaths(call); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("caller heard %q, want %q (goodbye dropped by uuid_break all)", got, want)
	}
	if v, _ := call.Variable("playback_terminators"); v != "" && v != "none" {
		t.Fatalf("playback_terminators %q", v)
	}
}

// A caller who hangs up mid-prompt ends the flow with pbx.ErrHungUp: the
// CHANNEL_HANGUP comes before the prompt's PLAYBACK_STOP (02-hold).
func TestHangupMidPromptEndsTheFlow(t *testing.T) {
	got := make(chan error, 1)
	r := newRig(t, func(ctx context.Context, c pbx.Call) {
		_ = c.Answer(ctx)
		_, err := c.Play(ctx, pbx.PlayOptions{}, pbx.Sound("greeting"), pbx.Sound("goodbye"))
		if err == nil {
			_, err = c.Wait(ctx, 5*time.Second)
			if err == nil {
				_, err = c.Wait(ctx, 5*time.Second)
			}
		}
		got <- err
	})
	r.srv.Call(esltest.CallSpec{Script: esltest.Script{{AfterMedia: "*greeting.wav", During: true, Delay: 300 * time.Millisecond, HangUp: true}}})
	ctx := within(t)
	select {
	case err := <-got:
		if !errors.Is(err, pbx.ErrHungUp) {
			t.Fatalf("flow ended with %v, want ErrHungUp", err)
		}
	case <-ctx.Done():
		t.Fatal("the flow never learnt the caller hung up")
	}
}

// Music on hold (02-hold): a broadcast of local_stream://moh that plays
// until broken. An announcement breaks it (PLAYBACK_STOP "break"), plays,
// and the music comes back; "*", FreeSWITCH's default terminator that cut
// both in the trace, does nothing with playback_terminators none; StopMOH
// breaks it.
func TestMusicOnHoldAndAnnouncements(t *testing.T) {
	step := make(chan error, 1)
	release := make(chan struct{})
	r := newRig(t, func(ctx context.Context, c pbx.Call) {
		err := c.Answer(ctx)
		if err == nil {
			err = c.StartMOH(ctx, "")
		}
		if err == nil {
			_, err = c.Play(ctx, pbx.PlayOptions{Interrupt: "1"}, pbx.Sound("position-you-are-number"), pbx.Number(2))
		}
		step <- err
		<-release
		step <- c.StopMOH(ctx)
		_, _ = c.Wait(ctx, 5*time.Second)
	})
	call := r.srv.Call(esltest.CallSpec{})
	ctx := within(t)
	wait := func() {
		t.Helper()
		select {
		case err := <-step:
			if err != nil {
				t.Fatal(err)
			}
		case <-ctx.Done():
			t.Fatalf("the flow is stuck; %v", call)
		}
	}
	wait()
	// The music is back, playing.
	if err := r.srv.WaitFor(ctx, func() bool { return len(call.Heard()) == 4 }); err != nil {
		t.Fatalf("heard %q", heardPaths(call))
	}
	want := []string{"local_stream://moh break", soundsDir + "/en/position-you-are-number.wav done", soundsDir + "/en/num-2.wav done", "local_stream://moh "}
	if got := heardPaths(call); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("caller heard %q, want %q", got, want)
	}
	call.Press("*")
	if err := r.srv.WaitFor(ctx, func() bool { return strings.Contains(call.Pressed(), "*") }); err != nil {
		t.Fatal(err)
	}
	if h := call.Heard(); h[len(h)-1].End != "" {
		t.Fatalf("\"*\" stopped the music: %q", heardPaths(call))
	}
	close(release)
	wait()
	if h := call.Heard(); h[len(h)-1].End != "break" {
		t.Fatalf("StopMOH did not stop the music: %q", heardPaths(call))
	}
}

// Originate outcomes (03-originate-answer, 04-originate-fail): the leg is
// created with vhold's id as origination_uuid; busy, no answer and an
// unreachable host come from the Hangup-Cause (USER_BUSY, NO_ANSWER after
// originate_timeout, NORMAL_TEMPORARY_FAILURE), as do the untraced 404 and
// 603; an answered leg is a call, and the same id again is refused while it
// is up.
func TestOriginateOutcomes(t *testing.T) {
	r := newRig(t, func(ctx context.Context, c pbx.Call) {})
	r.srv.Endpoint("sofia/lab/agent@127.0.0.1:5091", esltest.Behaviour{Outcome: esltest.Answer})
	r.srv.Endpoint("sofia/lab/busy@127.0.0.1:5092", esltest.Behaviour{Outcome: esltest.Busy})
	r.srv.Endpoint("sofia/lab/ring@127.0.0.1:5093", esltest.Behaviour{Outcome: esltest.NoAnswer})
	r.srv.Endpoint("sofia/gateway/trunk/404*", esltest.Behaviour{Outcome: esltest.Reject, Cause: "UNALLOCATED_NUMBER", SIPStatus: 404})
	r.srv.Endpoint("sofia/gateway/trunk/603*", esltest.Behaviour{Outcome: esltest.Reject, Cause: "CALL_REJECTED", SIPStatus: 603})
	cases := []struct {
		ep      string
		outcome pbx.Outcome
		cause   string
	}{
		{"sofia/lab/busy@127.0.0.1:5092", pbx.Busy, "USER_BUSY"},
		{"sofia/lab/ring@127.0.0.1:5093", pbx.NoAnswer, "NO_ANSWER"},
		{"sofia/lab/nobody@127.0.0.1:5099", pbx.Unreachable, "NORMAL_TEMPORARY_FAILURE"},
		{"sofia/gateway/trunk/404555", pbx.Invalid, "UNALLOCATED_NUMBER"},
		{"sofia/gateway/trunk/603555", pbx.Rejected, "CALL_REJECTED"},
		{"sofia/nosuchprofile/1000", pbx.Failed, "INVALID_PROFILE"},
		{"sofia/lab/agent@127.0.0.1:5091", pbx.Answered, ""},
	}
	for i, c := range cases {
		ctx := within(t)
		id := "vhold-test-" + string(rune('a'+i))
		// The fake counts originate_timeout in whole seconds of its
		// sped-up clock, as FreeSWITCH does (4.6 s for 5 s in
		// 04-originate-fail): 5 s leaves the answering agent's 1 s ring
		// well inside it.
		timeout := 5 * time.Second
		if c.outcome == pbx.NoAnswer {
			timeout = 2 * time.Second
		}
		call, err := r.sw.Originate(ctx, pbx.Originate{ID: id, Endpoint: c.ep, Timeout: timeout,
			CallerID: pbx.Party{Number: "15550001111", Name: "Virtual Hold"}, Variables: map[string]string{"VHOLD_TICKET": "7"}})
		if got := pbx.OutcomeOf(err); got != c.outcome {
			t.Fatalf("%s: outcome %s (%v), want %s", c.ep, got, err, c.outcome)
		}
		if err != nil && !strings.Contains(err.Error(), c.cause) {
			t.Fatalf("%s: %v does not carry the cause %q", c.ep, err, c.cause)
		}
		if call == nil {
			continue
		}
		if call.ID() != id {
			t.Fatalf("answered call id %q, want the origination_uuid %q", call.ID(), id)
		}
		leg := r.srv.Channel(id)
		if v, _ := leg.Variable("VHOLD_TICKET"); v != "7" {
			t.Fatalf("VHOLD_TICKET on the leg: %q", v)
		}
		if v, _ := leg.Variable("park_after_bridge"); v != "true" {
			t.Fatalf("park_after_bridge on the leg: %q", v)
		}
		// While the call is up, the same attempt again is refused.
		if _, err := r.sw.Originate(ctx, pbx.Originate{ID: id, Endpoint: c.ep, Timeout: timeout}); pbx.OutcomeOf(err) != pbx.Failed {
			t.Fatalf("a second originate with the same id: %v", err)
		}
		if err := call.Hangup(ctx, pbx.CauseNormal); err != nil {
			t.Fatal(err)
		}
		if err := leg.WaitHungUp(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// An id longer than a FreeSWITCH uuid is turned into one, the same
	// every time.
	long := "vhold-1234567-v42-an-agent-with-a-long-name"
	if a, b := legID(long), legID(long); a != b || len(a) != 36 || a == long {
		t.Fatalf("legID(%q) = %q, %q", long, a, b)
	}
	ctx := within(t)
	call, err := r.sw.Originate(ctx, pbx.Originate{ID: long, Endpoint: "sofia/lab/agent@127.0.0.1:5091", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if call.ID() != legID(long) {
		t.Fatalf("call id %q", call.ID())
	}
	_ = call.Hangup(ctx, pbx.CauseNormal)
}

// A dial given up on (the caller it was for left) is cancelled: the ringing
// leg is killed.
func TestOriginateCancelled(t *testing.T) {
	r := newRig(t, func(ctx context.Context, c pbx.Call) {})
	ep := r.srv.Endpoint("sofia/lab/ring@127.0.0.1:5093", esltest.Behaviour{Outcome: esltest.NoAnswer})
	ctx, cancel := context.WithCancel(within(t))
	done := make(chan error, 1)
	go func() {
		_, err := r.sw.Originate(ctx, pbx.Originate{ID: "vhold-cancel", Endpoint: ep.Pattern(), Timeout: time.Minute})
		done <- err
	}()
	leg, err := ep.WaitCall(within(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("originate returned %v", err)
	}
	if err := leg.WaitHungUp(within(t)); err != nil {
		t.Fatalf("the ringing leg was not cancelled: %v", leg)
	}
}

// A caller bridged with an answered agent leg (03-originate-answer): both
// flows see EventBridged; when the agent hangs up, FreeSWITCH would hang up
// the caller too, but park_after_bridge parks it and the caller's flow is
// told (EventUnbridge) and ends the call itself. The other way round, the
// agent's side is told when the caller leaves.
func TestBridgeAndOneSideHangingUp(t *testing.T) {
	for _, agentLeaves := range []bool{true, false} {
		name := "caller leaves"
		if agentLeaves {
			name = "agent leaves"
		}
		t.Run(name, func(t *testing.T) {
			callers := make(chan pbx.Call, 1)
			events := make(chan []pbx.EventKind, 1)
			kept := make(chan bool, 1)
			var srv *esltest.Server
			r := newRig(t, func(ctx context.Context, c pbx.Call) {
				_ = c.Answer(ctx)
				_ = c.StartMOH(ctx, "")
				callers <- c
				var seen []pbx.EventKind
				for {
					ev, err := c.Wait(ctx, 10*time.Second)
					if err != nil || ev.Kind == pbx.EventTimeout {
						break
					}
					seen = append(seen, ev.Kind)
					if ev.Kind == pbx.EventUnbridge {
						// The caller is still there, parked, until the
						// flow ends the call.
						ch := srv.Channel(c.ID())
						_ = srv.WaitFor(ctx, func() bool { return ch.Parked() || ch.HungUp() })
						kept <- ch.Parked()
						_ = c.Hangup(ctx, pbx.CauseNormal)
					}
					if ev.Kind == pbx.EventHangup {
						break
					}
				}
				events <- seen
			})
			var script esltest.Script
			if agentLeaves {
				script = esltest.Script{{Delay: 8 * time.Second, HangUp: true}} // the traced agent's BYE, 8 s in
			}
			srv = r.srv
			r.srv.Endpoint("sofia/lab/agent@127.0.0.1:5091", esltest.Behaviour{Outcome: esltest.Answer, Script: script})
			call := r.srv.Call(esltest.CallSpec{})
			ctx := within(t)
			var caller pbx.Call
			select {
			case caller = <-callers:
			case <-ctx.Done():
				t.Fatal("no caller")
			}
			agent, err := r.sw.Originate(ctx, pbx.Originate{ID: "vhold-agent-1", Endpoint: "sofia/lab/agent@127.0.0.1:5091", Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if err := caller.Bridge(ctx, agent); err != nil {
				t.Fatal(err)
			}
			if err := call.WaitBridged(ctx); err != nil || call.BridgedWith() != agent.ID() {
				t.Fatalf("caller bridged with %q: %v", call.BridgedWith(), call)
			}
			if h := call.Heard(); len(h) == 0 || h[len(h)-1].End == "" {
				t.Fatalf("the music still plays into the bridge: %q", heardPaths(call))
			}
			if ev, err := agent.Wait(ctx, time.Second); err != nil || ev.Kind != pbx.EventBridged {
				t.Fatalf("agent side: %+v %v", ev, err)
			}
			if !agentLeaves {
				call.HangUp()
			}
			ev, err := agent.Wait(ctx, 10*time.Second)
			want := pbx.EventHangup
			if !agentLeaves {
				want = pbx.EventUnbridge
			}
			if err != nil || ev.Kind != want {
				t.Fatalf("agent side after the bridge: %+v %v, want %s", ev, err, want)
			}
			if !agentLeaves {
				if err := agent.Hangup(ctx, pbx.CauseNormal); err != nil {
					t.Fatal(err)
				}
			}
			var seen []pbx.EventKind
			select {
			case seen = <-events:
			case <-ctx.Done():
				t.Fatal("the caller's flow never ended")
			}
			wantSeen := "bridged unbridged hangup"
			if !agentLeaves {
				wantSeen = "bridged hangup"
			}
			if got := fmtKinds(seen); got != wantSeen {
				t.Fatalf("caller's flow saw %s, want %s", got, wantSeen)
			}
			if agentLeaves {
				// Hung up by vhold's flow, not by FreeSWITCH's bridge
				// teardown: the caller was parked in between.
				if !<-kept {
					t.Fatalf("caller was not kept after the agent left: %v", call.Log())
				}
			}
		})
	}
}

func fmtKinds(ks []pbx.EventKind) string {
	var s []string
	for _, k := range ks {
		s = append(s, string(k))
	}
	return strings.Join(s, " ")
}

// Verbs on a channel FreeSWITCH no longer has return pbx.ErrHungUp, even
// before the adapter has seen the hangup: each api command's own wording
// (06-errors table: uuid_answer "-ERROR", uuid_broadcast "-ERR invalid
// uuid", uuid_break/uuid_setvar "-ERR No such channel!", uuid_bridge "-ERR
// Invalid uuid", uuid_record "-ERR Cannot locate session!") is read as the
// call being gone.
func TestCommandOnHungUpCall(t *testing.T) {
	r := newRig(t, func(ctx context.Context, c pbx.Call) {})
	ctx := within(t)
	verbs := []struct {
		name string
		do   func(c *call) error
	}{
		{"answer", func(c *call) error { return c.Answer(ctx) }},
		{"play", func(c *call) error { _, err := c.Play(ctx, pbx.PlayOptions{}, pbx.Sound("greeting")); return err }},
		{"music", func(c *call) error { return c.StartMOH(ctx, "") }},
		{"record", func(c *call) error {
			_, err := c.Record(ctx, pbx.RecordOptions{Name: "vhold-name-1", Max: time.Second})
			return err
		}},
		{"break", func(c *call) error { return c.breakMedia(ctx) }},
		{"bridge", func(c *call) error {
			other := newCall(r.sw, "00000000-0000-4000-8000-00000000beef", "", "", pbx.Party{})
			return c.Bridge(ctx, other)
		}},
	}
	for i, v := range verbs {
		// A channel that hung up unseen: the adapter still has it.
		c := newCall(r.sw, "00000000-0000-4000-8000-00000000000"+string(rune('0'+i)), "support", "", pbx.Party{})
		r.sw.mu.Lock()
		r.sw.calls[c.id] = c
		r.sw.mu.Unlock()
		if err := v.do(c); !errors.Is(err, pbx.ErrHungUp) {
			t.Fatalf("%s on a gone channel: %v, want ErrHungUp", v.name, err)
		}
		if !c.isGone() || r.sw.call(c.id) != nil {
			t.Fatalf("%s: the call is still taken for alive", v.name)
		}
		if err := c.Hangup(ctx, pbx.CauseNormal); err != nil {
			t.Fatalf("hanging up a gone call: %v", err)
		}
	}
}

// The reply prefixes of fact 4 and the 06-errors table.
func TestReplies(t *testing.T) {
	for _, c := range []struct {
		reply           string
		failed, noChann bool
	}{
		{"+OK", false, false}, {"+OK Message sent", false, false}, {"playback", false, false},
		{"true", false, false}, {"false", false, false}, {"_undef_", false, false},
		{"-ERR No such channel!", true, true}, {"-ERROR", true, true}, {"-ERR invalid uuid", true, true},
		{"-ERR Invalid uuid", true, true}, {"-ERR Cannot locate session!", true, true},
		{"-ERR invalid session id [x]", true, true},
		{"-USAGE: <uuid> [cause]", true, false}, {"-ERR nosuchcommand Command not found!", true, false},
		{"-ERR INVALID_PROFILE", true, false},
	} {
		if failed(c.reply) != c.failed || noChannel(c.reply) != c.noChann {
			t.Errorf("%q: failed %v noChannel %v, want %v %v", c.reply, failed(c.reply), noChannel(c.reply), c.failed, c.noChann)
		}
	}
}

// Recording a caller's name: uuid_record (not in the traces: its replies
// and RECORD_STOP follow FreeSWITCH's source, as esltest does) after a beep
// (tone_stream), with the music paused, into <Recordings>/<name>.wav, for
// up to Max, ended early by a key, which is consumed rather than left for
// the next question; then played back by its path.
func TestRecordName(t *testing.T) {
	type result struct {
		rec  pbx.Recording
		next pbx.Event
		err  error
	}
	got := make(chan result, 1)
	r := newRig(t, func(ctx context.Context, c pbx.Call) {
		var res result
		res.err = c.Answer(ctx)
		if res.err == nil {
			res.err = c.StartMOH(ctx, "")
		}
		if res.err == nil {
			res.rec, res.err = c.Record(ctx, pbx.RecordOptions{Name: "vhold-name-7", Max: 4 * time.Second, Beep: true})
		}
		if res.err == nil {
			res.next, res.err = c.Wait(ctx, 200*time.Millisecond)
		}
		if res.err == nil {
			_, res.err = c.Play(ctx, pbx.PlayOptions{}, pbx.Clip(res.rec))
		}
		got <- res
	})
	call := r.srv.Call(esltest.CallSpec{Script: esltest.Script{{AfterMedia: "*tone_stream*", Delay: time.Second, Press: "#"}}})
	ctx := within(t)
	var res result
	select {
	case res = <-got:
	case <-ctx.Done():
		t.Fatalf("the flow is stuck; %v", call)
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	const file = "/var/lib/freeswitch/recordings/vhold/vhold-name-7.wav"
	if rec := call.Recorded(); len(rec) != 1 || rec[0] != file {
		t.Fatalf("recorded %q, want %s", rec, file)
	}
	if res.rec.Name != "vhold-name-7" || res.rec.Duration <= 0 || res.rec.Duration >= 4*time.Second {
		t.Fatalf("recording %+v: want ended early by the key", res.rec)
	}
	if res.next.Kind != pbx.EventTimeout {
		t.Fatalf("the key that ended the recording was left for the next question: %+v", res.next)
	}
	// The music stops for the beep and the recording, comes back, stops
	// for the playback and comes back again.
	// (The last music ends as the flow returns and the call is hung up.)
	want := []string{"local_stream://moh break", beep + " done", "local_stream://moh break", file + " done", "local_stream://moh"}
	heard := heardPaths(call)
	if len(heard) == 5 {
		heard[4] = strings.Fields(heard[4])[0]
	}
	if strings.Join(heard, "|") != strings.Join(want, "|") {
		t.Fatalf("caller heard %q, want %q", heard, want)
	}
}

// The strings vhold builds into commands, and reads back off events.
func TestCommandStrings(t *testing.T) {
	got := varBlock(map[string]string{"origination_uuid": "vhold-1-2", "origination_caller_id_name": "Virtual Hold, Inc.", "x": "{y}"})
	if want := "{origination_caller_id_name='Virtual Hold, Inc.',origination_uuid=vhold-1-2,x='{y}'}"; got != want {
		t.Errorf("varBlock = %s, want %s", got, want)
	}
	for _, c := range []struct{ path, header, tag, file string }{
		{tagged("p3", 1, "/s/en/greeting.wav"), "", "p3", "/s/en/greeting.wav"},
		{"/s/en/greeting.wav", "p4.0", "p4", "/s/en/greeting.wav"}, // the merged header, if the path came without it
		{"local_stream://moh", "", "", "local_stream://moh"},
		{"{other=1}/x.wav", "", "", "/x.wav"},
	} {
		if tag, file := playTag(c.path, c.header); tag != c.tag || file != c.file {
			t.Errorf("playTag(%q, %q) = %q, %q", c.path, c.header, tag, file)
		}
	}
	if id := legID("vhold-12-3"); id != "vhold-12-3" {
		t.Errorf("legID kept a short id as %q", id)
	}
	if id := legID("vhold 12"); id == "vhold 12" || len(id) != 36 {
		t.Errorf("legID(%q) = %q", "vhold 12", id)
	}
	if err := clean("uuid_kill x\nexit"); err == nil {
		t.Error("a command with a line break was accepted")
	}
}
