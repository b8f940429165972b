package aritest

import (
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// A caller scripted to press 1 after the offer hears it to the end, presses,
// and the press arrives after PlaybackFinished; DTMF does not stop a
// playback.
func TestScriptPressAfterMedia(t *testing.T) {
	srv := newServer(t, Options{})
	c := connect(t, srv, "")
	call := srv.Call(CallSpec{Caller: Party{"+34911234567", "Ana"}, Args: []string{"support"},
		Script: Script{{AfterMedia: "sound:vhold/*/offer", Press: "1"}}})
	e := c.next("StasisStart")
	if got := field(e, "args"); len(got.([]any)) != 1 || got.([]any)[0] != "support" {
		t.Fatalf("args %v", got)
	}
	id := call.ID()
	c.must(204, "POST", "/channels/"+id+"/answer")
	c.next("ChannelStateChange")
	c.must(201, "POST", "/channels/"+id+"/play/p1?media=sound:vhold/en/offer")
	c.next("PlaybackStarted")
	if e := c.next("PlaybackFinished"); field(e, "playback", "state") != "done" {
		t.Fatalf("finished %v", e)
	}
	if e := c.next("ChannelDtmfReceived"); e["digit"] != "1" || e["duration_ms"] != 160.0 {
		t.Fatalf("dtmf %v", e)
	}
	h := call.Heard()
	if len(h) != 1 || h[0].Media != "sound:vhold/en/offer" || h[0].End != "done" || h[0].Via != "channel:"+id {
		t.Fatalf("heard %+v", h)
	}
	if call.Pressed() != "1" {
		t.Fatalf("pressed %q", call.Pressed())
	}
}

// During presses while the prompt plays; the prompt keeps playing.
func TestScriptPressDuringMediaAndRepeat(t *testing.T) {
	srv := newServer(t, Options{PlaybackDuration: func(string) time.Duration { return 3 * time.Second }})
	c := connect(t, srv, "")
	call := srv.Call(CallSpec{Script: Script{
		{AfterMedia: "sound:offer", During: true, Delay: 200 * time.Millisecond, Press: "12"},
		{Delay: 10 * time.Second, Press: "9", Every: time.Second, Times: 2},
	}})
	c.next("StasisStart")
	c.must(204, "POST", "/channels/"+call.ID()+"/answer")
	c.next("ChannelStateChange")
	c.must(201, "POST", "/channels/"+call.ID()+"/play?media=sound:offer")
	c.next("PlaybackStarted")
	if e := c.next("ChannelDtmfReceived"); e["digit"] != "1" {
		t.Fatal(e)
	}
	if e := c.next("ChannelDtmfReceived"); e["digit"] != "2" {
		t.Fatal(e)
	}
	c.next("PlaybackFinished")
	c.next("ChannelDtmfReceived")
	c.next("ChannelDtmfReceived")
	if call.Pressed() != "1299" {
		t.Fatalf("pressed %q", call.Pressed())
	}
}

// While no WebSocket is connected events are dropped and new calls are
// declined; after a reconnect nothing is replayed and events flow again
// (disconnect.jsonl).
func TestDropWebSocket(t *testing.T) {
	srv := newServer(t, Options{})
	c := connect(t, srv, "")
	call := srv.Call(CallSpec{})
	c.next("StasisStart")
	c.must(204, "POST", "/channels/"+call.ID()+"/answer")
	c.next("ChannelStateChange")
	if !srv.DropWebSocket() {
		t.Fatal("no WebSocket to drop")
	}
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the client did not see the connection drop")
	}
	if srv.Connected() {
		t.Fatal("still connected")
	}
	call.Press("5")
	second := srv.Call(CallSpec{})
	if !second.Declined() || second.ID() != call.ID() && second.State() != "" {
		t.Fatalf("second call: declined %v state %q", second.Declined(), second.State())
	}
	if got, want := second.SIPFlow(), []string{"sent INVITE", "recv 100 Trying", "recv 603 Decline", "sent ACK"}; !slices.Equal(got, want) {
		t.Fatalf("flow %q", got)
	}
	// The pressed 5 went nowhere, yet the channel is still up in Stasis.
	if err := srv.WaitFor(ctx(t), func() bool { return call.Pressed() == "5" }); err != nil {
		t.Fatal(err)
	}
	c2 := connect(t, srv, "")
	v := c2.must(200, "GET", "/applications/"+srv.opts.App)
	if ids := field(v.(map[string]any), "channel_ids").([]any); len(ids) != 1 || ids[0] != call.ID() {
		t.Fatalf("app %v", v)
	}
	c2.quiet(100 * time.Millisecond)
	call.Press("6")
	if e := c2.next("ChannelDtmfReceived"); e["digit"] != "6" {
		t.Fatal(e)
	}
	if srv.WebSockets() != 2 {
		t.Fatalf("%d WebSockets", srv.WebSockets())
	}
}

// CloseWebSocket closes with 1000 from the server's side.
func TestCloseWebSocket(t *testing.T) {
	srv := newServer(t, Options{})
	c := connect(t, srv, "")
	if !srv.CloseWebSocket() {
		t.Fatal("nothing to close")
	}
	select {
	case <-c.done:
	case <-time.After(6 * time.Second):
		t.Fatal("the client did not see the close")
	}
	if srv.Connected() || srv.CloseWebSocket() {
		t.Fatal("still connected")
	}
}

// An answered leg hanging up leaves its peer in the bridge
// (originate-answer.jsonl seq 106-114), and both calls report their bridge.
func TestRemoteHangupLeavesPeerBridged(t *testing.T) {
	srv := newServer(t, Options{})
	c := connect(t, srv, "")
	agent := srv.Endpoint("PJSIP/agent1", Behaviour{Outcome: Answer, Ring: time.Second})
	call := srv.Call(CallSpec{})
	c.next("StasisStart")
	c.must(204, "POST", "/channels/"+call.ID()+"/answer")
	c.must(200, "POST", "/channels?endpoint=PJSIP/agent1&app=vhold&appArgs=agent&channelId=a1&callerId=Queue+<7000>")
	if e := c.until("StasisStart"); field(e, "channel", "id") != "a1" {
		t.Fatal(e)
	}
	c.must(200, "POST", "/bridges?type=mixing&bridgeId=b1")
	c.must(204, "POST", "/bridges/b1/addChannel?channel="+call.ID()+",a1")
	leg, err := agent.WaitCall(ctx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := call.WaitBridged(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if got := call.BridgedWith(); !slices.Equal(got, []string{"a1"}) {
		t.Fatalf("bridged with %v", got)
	}
	if v, _ := call.Variable("CONNECTEDLINE(num)"); v != "7000" {
		t.Fatalf("connected %q", v)
	}
	leg.HangUp()
	c.until("ChannelLeftBridge")
	c.next("StasisEnd")
	if e := c.next("ChannelDestroyed"); e["cause"] != 16.0 {
		t.Fatal(e)
	}
	if call.HungUp() || call.Bridge() != "b1" || len(call.BridgedWith()) != 0 {
		t.Fatalf("caller: hung up %v bridge %q with %v", call.HungUp(), call.Bridge(), call.BridgedWith())
	}
	v := c.must(200, "GET", "/bridges/b1")
	if tech := field(v.(map[string]any), "technology"); tech != "simple_bridge" {
		t.Fatalf("technology %v", tech)
	}
}

// Pattern endpoints name channels after the SIP endpoint and put the whole
// dial string in Dial; Reject fails with its cause.
func TestOriginatePatternAndReject(t *testing.T) {
	srv := newServer(t, Options{})
	c := connect(t, srv, "")
	srv.Endpoint("PJSIP/+34*@trunk", Behaviour{Outcome: Answer, Context: "from-trunk",
		Script: Script{{Delay: time.Second, HangUp: true}}})
	v := c.must(200, "POST", "/channels?endpoint=PJSIP/%2B34911234567@trunk&app=vhold&appArgs=callback,T-1&timeout=20")
	ch := v.(map[string]any)
	if !strings.HasPrefix(ch["name"].(string), "PJSIP/trunk-") || field(ch, "dialplan", "context") != "from-trunk" {
		t.Fatalf("channel %v", ch)
	}
	if e := c.next("Dial"); e["dialstring"] != "+34911234567@trunk" || e["dialstatus"] != "" {
		t.Fatal(e)
	}
	c.next("ChannelStateChange")
	if e := c.next("Dial"); e["dialstatus"] != "ANSWER" {
		t.Fatal(e)
	}
	if e := c.next("StasisStart"); len(e["args"].([]any)) != 2 {
		t.Fatal(e)
	}
	c.next("ChannelHangupRequest")
	c.next("StasisEnd")
	c.next("ChannelDestroyed")

	srv.Endpoint("PJSIP/+1*@trunk", Behaviour{Outcome: Reject, Cause: 21, SIPStatus: 603})
	c.must(200, "POST", "/channels?endpoint=PJSIP/%2B1555@trunk&app=vhold")
	c.next("Dial")
	if e := c.next("ChannelHangupRequest"); e["cause"] != 21.0 || e["tech_cause"] != 603.0 {
		t.Fatal(e)
	}
	if e := c.next("Dial"); e["dialstatus"] != "CONGESTION" {
		t.Fatal(e)
	}
	if e := c.next("ChannelDestroyed"); e["cause_txt"] != "Call Rejected" || e["tech_cause"] != 603.0 {
		t.Fatal(e)
	}
	c.must(500, "POST", "/channels?endpoint=PJSIP/nobody&app=vhold")
}

// Recording: 201 queued, RecordingStarted, RecordingFinished when the caller
// falls silent, a stored recording that plays as recording:NAME; a missing
// recording plays like a bogus scheme: started, never finished.
func TestRecordAndPlayBack(t *testing.T) {
	srv := newServer(t, Options{})
	c := connect(t, srv, "")
	call := srv.Call(CallSpec{Speech: 2 * time.Second})
	c.next("StasisStart")
	id := call.ID()
	c.must(204, "POST", "/channels/"+id+"/answer")
	c.next("ChannelStateChange")
	v := c.must(201, "POST", "/channels/"+id+"/record?name=name-1&format=wav&maxSilenceSeconds=1&maxDurationSeconds=10")
	if field(v.(map[string]any), "state") != "queued" {
		t.Fatal(v)
	}
	if e := c.next("RecordingStarted"); field(e, "recording", "state") != "recording" {
		t.Fatal(e)
	}
	e := c.next("RecordingFinished")
	if rec := e["recording"].(map[string]any); rec["state"] != "done" || rec["duration"] != 3.0 || rec["talking_duration"] != 2.0 || rec["silence_duration"] != 1.0 {
		t.Fatal(e)
	}
	c.must(409, "POST", "/channels/"+id+"/record?name=name-1&format=wav")
	c.must(422, "POST", "/channels/"+id+"/record?name=x&format=mp9")
	if v := c.must(200, "GET", "/recordings/stored/name-1"); field(v.(map[string]any), "format") != "wav" {
		t.Fatal(v)
	}
	c.must(201, "POST", "/channels/"+id+"/play/r1?media=recording:name-1")
	c.next("PlaybackStarted")
	c.next("PlaybackFinished")
	c.must(204, "DELETE", "/recordings/stored/name-1")
	c.must(404, "GET", "/recordings/stored/name-1")
	c.must(201, "POST", "/channels/"+id+"/play/r2?media=recording:name-1")
	c.next("PlaybackStarted")
	c.quiet(200 * time.Millisecond)
	c.must(404, "GET", "/playbacks/r2")

	// terminateOn: the caller's # ends it.
	c.must(201, "POST", "/channels/"+id+"/record?name=name-2&format=wav&terminateOn=%23")
	c.next("RecordingStarted")
	call.Press("#")
	c.next("ChannelDtmfReceived")
	c.next("RecordingFinished")
	if !slices.Equal(srv.Recordings(), []string{"name-2"}) {
		t.Fatal(srv.Recordings())
	}

	// A channel in a bridge cannot record.
	c.must(200, "POST", "/bridges?bridgeId=b")
	c.must(204, "POST", "/bridges/b/addChannel?channel="+id)
	c.next("ChannelEnteredBridge")
	c.must(201, "POST", "/channels/"+id+"/record?name=name-3&format=wav")
	if e := c.next("RecordingFailed"); field(e, "recording", "cause") != "Cannot record channel while in bridge" {
		t.Fatal(e)
	}
}

// The holding bridge's music reaches its callers; channel MOH overrides it;
// an unknown class plays nothing when the classes are declared.
func TestMusicOnHold(t *testing.T) {
	srv := newServer(t, Options{MOHClasses: []string{"default", "support"}})
	c := connect(t, srv, "")
	call := srv.Call(CallSpec{})
	c.next("StasisStart")
	id := call.ID()
	c.must(204, "POST", "/channels/"+id+"/answer")
	c.must(200, "POST", "/bridges?type=holding&bridgeId=h")
	c.must(204, "POST", "/bridges/h/addChannel?channel="+id)
	c.must(204, "POST", "/bridges/h/moh?mohClass=support")
	if call.MOH() != "support" {
		t.Fatalf("moh %q", call.MOH())
	}
	c.must(204, "POST", "/channels/"+id+"/moh?mohClass=nosuch")
	if err := srv.WaitFor(ctx(t), func() bool { return call.MOH() == "" }); err != nil {
		t.Fatal(err)
	}
	c.must(204, "DELETE", "/channels/"+id+"/moh")
	c.must(204, "DELETE", "/bridges/h/moh")
	c.must(409, "DELETE", "/bridges/h/moh")
	want := []MOHChange{{"support", "bridge:h"}, {}, {"support", "bridge:h"}, {}}
	if got := call.MOHHistory(); !slices.Equal(got, want) {
		t.Fatalf("history %+v", got)
	}
}

// Asterisk queues verbs behind a channel playback: addChannel answers only
// when the prompt has ended (callback-flow.jsonl seq 67-72).
func TestAddChannelWaitsForPlayback(t *testing.T) {
	srv := newServer(t, Options{Speed: 10, PlaybackDuration: func(string) time.Duration { return 2 * time.Second }})
	c := connect(t, srv, "")
	call := srv.Call(CallSpec{})
	c.next("StasisStart")
	id := call.ID()
	c.must(204, "POST", "/channels/"+id+"/answer")
	c.must(200, "POST", "/bridges?bridgeId=b")
	c.must(201, "POST", "/channels/"+id+"/play?media=sound:x")
	start := time.Now()
	c.must(204, "POST", "/bridges/b/addChannel?channel="+id)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("addChannel answered after %v, before the 200 ms playback ended", d)
	}
	c.until("PlaybackFinished")
	c.next("ChannelEnteredBridge")
}

// The read-only resources have the shapes info.jsonl recorded.
func TestInfoShapes(t *testing.T) {
	lines := loadTrace(t, "info.jsonl")
	srv := newServer(t, Options{App: "vhold-trace"})
	srv.Endpoint("PJSIP/agent1", Behaviour{})
	srv.Endpoint("PJSIP/offline", Behaviour{Outcome: Unreachable})
	c := &testClient{t: t, srv: srv}
	want := func(seq int) json.RawMessage {
		for _, l := range lines {
			if l.Seq == seq {
				return l.Body
			}
		}
		t.Fatalf("no seq %d", seq)
		return nil
	}
	r := &replay{t: t, ids: map[string]string{}}
	get := func(path string) []byte {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL()+path, nil)
		req.SetBasicAuth("vhold", "vhold")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		b, _ := io.ReadAll(resp.Body)
		return b
	}
	check := func(seq int, path string) {
		t.Helper()
		b := get(path)
		exp, _ := parseOrdered(want(seq))
		act, _ := parseOrdered(b)
		// Only the shape, members in order: a fake's build and times differ.
		if shape(exp) != shape(act) {
			t.Errorf("%s: shape %s, want %s", path, shape(act), shape(exp))
		}
	}
	check(4, "/asterisk/info")
	check(6, "/asterisk/ping")
	r.compareJSON(8, "applications", want(8), []byte("[]"), false)
	status, v := c.do("GET", "/applications", nil)
	if status != 200 || len(v.([]any)) != 0 {
		t.Fatalf("applications before any WebSocket: %d %v", status, v)
	}
	connect(t, srv, "")
	for _, tc := range []struct {
		seq  int
		path string
	}{{12, "/applications"}, {14, "/applications/vhold-trace"}, {20, "/endpoints/PJSIP/agent1"}, {22, "/endpoints/PJSIP/offline"}} {
		r.compareJSON(tc.seq, tc.path, want(tc.seq), get(tc.path), false)
	}
	c.must(404, "GET", "/endpoints/PJSIP/nosuch")
}

// shape renders a JSON value's structure: member names and value kinds.
func shape(v any) string {
	switch x := v.(type) {
	case *ordered:
		var parts []string
		for _, k := range x.keys {
			parts = append(parts, k+":"+shape(x.vals[k]))
		}
		return "{" + strings.Join(parts, ",") + "}"
	case []any:
		if len(x) == 0 {
			return "[]"
		}
		return "[" + shape(x[0]) + "]"
	case string:
		return "s"
	case json.Number:
		return "n"
	}
	return "?"
}

// Close ends every goroutine the server started, including handlers waiting
// behind a playback and WebSockets still open.
func TestCloseStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	srv := New(Options{Speed: 1})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	c := connect(t, srv, "")
	call := srv.Call(CallSpec{Script: Script{{Delay: time.Hour, Press: "1"}}})
	c.next("StasisStart")
	c.must(204, "POST", "/channels/"+call.ID()+"/answer")
	c.must(201, "POST", "/channels/"+call.ID()+"/play?media=sound:queue-periodic-announce")
	c.must(200, "POST", "/bridges?bridgeId=b")
	blocked := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("POST", srv.URL()+"/bridges/b/addChannel?channel="+call.ID(), nil)
		req.SetBasicAuth("vhold", "vhold")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		blocked <- err
	}()
	time.Sleep(100 * time.Millisecond)
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	<-blocked
	_ = c.ws.CloseNow()
	<-c.done
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+1 {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

// Unknown resources, wrong methods and bad credentials answer as Asterisk
// does (errors.jsonl seq 13-22).
func TestRouting(t *testing.T) {
	srv := newServer(t, Options{})
	c := &testClient{t: t, srv: srv}
	c.must(404, "GET", "/nosuchresource")
	c.must(405, "PATCH", "/channels")
	resp, err := http.Get(srv.URL() + "/channels")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no credentials: %d", resp.StatusCode)
	}
	resp, err = http.Get(srv.URL() + "/channels?api_key=vhold:vhold")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("api_key: %d", resp.StatusCode)
	}
}
