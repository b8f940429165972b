package ari

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestDecodeEveryTraceEvent runs every event Asterisk 22 sent in the traces
// through Decode: none is an error, every type seen is decoded to its own
// struct, and the fields the adapter routes on are filled.
func TestDecodeEveryTraceEvent(t *testing.T) {
	total := 0
	for _, file := range traceFiles(t) {
		name := filepath.Base(file)
		for _, l := range readTrace(t, file) {
			if l.Kind != "event" {
				continue
			}
			total++
			where := fmt.Sprintf("%s seq %d (%s)", name, l.Seq, l.Type)
			ev, err := Decode(l.Event)
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			b := ev.Base()
			if b.Type != l.Type {
				t.Errorf("%s: type %q", where, b.Type)
			}
			if _, unknown := ev.(*Unknown); unknown {
				t.Errorf("%s: decoded as Unknown", where)
			}
			if b.Application != "vhold-trace" || b.AsteriskID == "" {
				t.Errorf("%s: application %q asterisk_id %q", where, b.Application, b.AsteriskID)
			}
			if b.Timestamp.IsZero() || b.Timestamp.Year() != 2026 {
				t.Errorf("%s: timestamp %v", where, b.Timestamp)
			}
			if err := keyFields(ev); err != nil {
				t.Errorf("%s: %v", where, err)
			}
		}
	}
	if total < 400 {
		t.Errorf("only %d events in the traces; expected the full set", total)
	}
	t.Logf("%d traced events decoded", total)
}

// keyFields checks the fields a consumer routes on are present.
func keyFields(ev Event) error {
	if ch := ChannelOf(ev); ch != nil {
		if ch.ID == "" || ch.Name == "" || ch.State == "" || ch.CreationTime.IsZero() {
			return fmt.Errorf("channel incomplete: %+v", ch)
		}
	}
	switch e := ev.(type) {
	case *StasisStart:
		if len(e.Args) == 0 && e.Channel.Dialplan.AppName != "Stasis" {
			return errors.New("StasisStart without args")
		}
	case *ChannelDtmfReceived:
		if e.Digit == "" || e.DurationMS <= 0 {
			return fmt.Errorf("dtmf %q %d", e.Digit, e.DurationMS)
		}
	case *PlaybackStarted:
		return playbackOK(e.Playback)
	case *PlaybackContinuing:
		if e.Playback.NextMediaURI == "" {
			return errors.New("PlaybackContinuing without next_media_uri")
		}
		return playbackOK(e.Playback)
	case *PlaybackFinished:
		if s := e.Playback.State; s != PlaybackStateDone && s != PlaybackStateFailed {
			return fmt.Errorf("PlaybackFinished state %q", s)
		}
		return playbackOK(e.Playback)
	case *ChannelDestroyed:
		if e.Cause == 0 || e.CauseTxt == "" {
			return fmt.Errorf("ChannelDestroyed cause %d %q", e.Cause, e.CauseTxt)
		}
		if CauseText(e.Cause) != e.CauseTxt {
			return fmt.Errorf("cause %d: Asterisk says %q, CauseText %q", e.Cause, e.CauseTxt, CauseText(e.Cause))
		}
	case *ChannelEnteredBridge:
		if e.Bridge.ID == "" || e.Channel == nil {
			return errors.New("ChannelEnteredBridge without bridge or channel")
		}
	case *ChannelLeftBridge:
		if e.Bridge.ID == "" {
			return errors.New("ChannelLeftBridge without bridge")
		}
	case *BridgeDestroyed:
		if e.Bridge.ID == "" || e.Bridge.BridgeType == "" {
			return errors.New("BridgeDestroyed without bridge")
		}
	case *ChannelVarset:
		if e.Variable == "" {
			return errors.New("ChannelVarset without variable")
		}
	case *DeviceStateChanged:
		if e.DeviceState.Name == "" || e.DeviceState.State == "" {
			return errors.New("DeviceStateChanged without device")
		}
	case *EndpointStateChange:
		if e.Endpoint.Resource == "" {
			return errors.New("EndpointStateChange without endpoint")
		}
	case *ChannelDialplan:
		if e.DialplanApp == "" {
			return errors.New("ChannelDialplan without app")
		}
	}
	return nil
}

func playbackOK(p Playback) error {
	if p.ID == "" || p.MediaURI == "" || p.TargetURI == "" || p.State == "" {
		return fmt.Errorf("playback incomplete: %+v", p)
	}
	return nil
}

// TestTraceEventsFullyModelled decodes every traced event strictly: a field
// Asterisk sends that the structs do not have is reported, so the models
// stay complete (the in-process ARI server builds its events from them).
// Re-encoding must give back the same JSON, field for field.
func TestTraceEventsFullyModelled(t *testing.T) {
	for _, file := range traceFiles(t) {
		name := filepath.Base(file)
		for _, l := range readTrace(t, file) {
			if l.Kind != "event" {
				continue
			}
			where := fmt.Sprintf("%s seq %d (%s)", name, l.Seq, l.Type)
			ev := newEvent(l.Type)
			dec := json.NewDecoder(bytes.NewReader(l.Event))
			dec.DisallowUnknownFields()
			if err := dec.Decode(ev); err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			again, err := json.Marshal(ev)
			if err != nil {
				t.Errorf("%s: encode: %v", where, err)
				continue
			}
			var want, got map[string]any
			if err := json.Unmarshal(l.Event, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(again, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(want, got) {
				t.Errorf("%s: re-encoded differs\nwant %s\n got %s", where, l.Event, again)
			}
		}
	}
}

// find returns the first event of type T in a trace that matches ok.
func find[T Event](t *testing.T, trace string, ok func(T) bool) T {
	t.Helper()
	for _, raw := range traceEvents(t, trace) {
		ev, err := Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		if e, is := ev.(T); is && ok(e) {
			return e
		}
	}
	var zero T
	t.Fatalf("%s: no %T matching", trace, zero)
	return zero
}

func TestTraceEventValues(t *testing.T) {
	t.Run("inbound StasisStart", func(t *testing.T) {
		e := find(t, "inbound-dtmf.jsonl", func(*StasisStart) bool { return true })
		if !reflect.DeepEqual(e.Args, []string{"queue=support"}) {
			t.Errorf("args %q", e.Args)
		}
		c := e.Channel
		if c.ID != "1795258298.0" || c.State != StateRing || c.Caller != (CallerID{"VHold Caller", "caller"}) {
			t.Errorf("channel %+v", c)
		}
		if c.Dialplan != (DialplanCEP{"from-caller", "100", 2, "Stasis", "vhold-trace,queue=support"}) {
			t.Errorf("dialplan %+v", c.Dialplan)
		}
		want := time.Date(2026, 11, 21, 10, 51, 38, 100e6, time.UTC)
		if !e.Timestamp.Equal(want) {
			t.Errorf("timestamp %v, want %v", e.Timestamp.Time, want)
		}
		if !c.CreationTime.Equal(time.Date(2026, 11, 21, 10, 51, 38, 99e6, time.UTC)) {
			t.Errorf("creationtime %v", c.CreationTime.Time)
		}
	})
	t.Run("dtmf", func(t *testing.T) {
		e := find(t, "inbound-dtmf.jsonl", func(*ChannelDtmfReceived) bool { return true })
		if e.Digit != "1" || e.DurationMS != 160 || e.Channel.ID != "1795258298.0" {
			t.Errorf("%+v", e)
		}
	})
	t.Run("app hangup is a soft 32, not Q.850", func(t *testing.T) {
		e := find(t, "inbound-dtmf.jsonl", func(*ChannelHangupRequest) bool { return true })
		if e.Cause != 32 || !e.Soft {
			t.Errorf("cause %d soft %v", e.Cause, e.Soft)
		}
		if c, ok := e.Q850(); ok {
			t.Errorf("Q850 = %d, want none", c)
		}
	})
	t.Run("remote BYE has no cause", func(t *testing.T) {
		e := find(t, "caller-abandon.jsonl", func(e *ChannelHangupRequest) bool { return !e.Soft })
		if e.Cause != 0 || e.TechCause != 0 {
			t.Errorf("%+v", e)
		}
		if _, ok := e.Q850(); ok {
			t.Error("Q850 reported for a BYE")
		}
	})
	t.Run("busy", func(t *testing.T) {
		hr := find(t, "originate-fail.jsonl", func(e *ChannelHangupRequest) bool { return e.Channel.ID == "busy-358434" })
		if c, ok := hr.Q850(); !ok || c != CauseUserBusy || hr.TechCause != 486 {
			t.Errorf("hangup request %+v", hr)
		}
		d := find(t, "originate-fail.jsonl", func(e *ChannelDestroyed) bool { return e.Channel.ID == "busy-358434" })
		if d.Cause != 17 || d.TechCause != 486 || d.CauseTxt != "User busy" {
			t.Errorf("%+v", d)
		}
		if got := d.Describe(); got != "17 User busy (SIP 486 Busy Here)" {
			t.Errorf("Describe %q", got)
		}
		dial := find(t, "originate-fail.jsonl", func(e *Dial) bool { return e.Peer.ID == "busy-358434" && e.DialStatus == DialBusy })
		if dial.Caller != nil || dial.DialString != "busy" {
			t.Errorf("dial %+v", dial)
		}
	})
	t.Run("no answer and timer B", func(t *testing.T) {
		for id, want := range map[string]string{
			"noanswer-358938":     "19 User alerting, no answer (SIP 480 Temporarily Unavailable)",
			"ghost-364444":        "19 User alerting, no answer (SIP 480 Temporarily Unavailable)",
			"ghost-timerB-372950": "18 No user responding (SIP 408 Request Timeout)",
			"cd-agent1-412979":    "16 Normal Clearing",
		} {
			d := find(t, "originate-fail.jsonl", func(e *ChannelDestroyed) bool { return e.Channel.ID == id })
			if got := d.Describe(); got != want {
				t.Errorf("%s: %q, want %q", id, got, want)
			}
		}
	})
	t.Run("playback list", func(t *testing.T) {
		e := find(t, "errors.jsonl", func(*PlaybackContinuing) bool { return true })
		if e.Playback.ID != "pb-multi" || e.Playback.NextMediaURI != "sound:no-such-file-2" || e.Playback.State != PlaybackStateContinuing {
			t.Errorf("%+v", e.Playback)
		}
		f := find(t, "hold-bridge.jsonl", func(e *PlaybackFinished) bool { return e.Playback.State == PlaybackStateFailed })
		if f.Playback.TargetURI != "bridge:hold-306401" {
			t.Errorf("failed bridge playback %+v", f.Playback)
		}
	})
	t.Run("bridge", func(t *testing.T) {
		e := find(t, "originate-answer.jsonl", func(e *ChannelEnteredBridge) bool { return len(e.Bridge.Channels) == 2 })
		if e.Bridge.BridgeType != BridgeMixing || e.Channel == nil {
			t.Errorf("%+v", e)
		}
	})
	t.Run("application replaced", func(t *testing.T) {
		e := find(t, "disconnect.jsonl", func(*ApplicationReplaced) bool { return true })
		if e.Application != "vhold-trace" {
			t.Errorf("%+v", e)
		}
	})
	t.Run("originated StasisStart args", func(t *testing.T) {
		e := find(t, "originate-answer.jsonl", func(e *StasisStart) bool { return e.Channel.ID == "agent1-341466" })
		if !reflect.DeepEqual(e.Args, []string{"dialed", "agent1"}) || e.Channel.State != StateUp {
			t.Errorf("%+v", e)
		}
	})
}

func TestDecodeUnknownAndBad(t *testing.T) {
	raw := []byte(`{"type":"ChannelTalkingStarted","timestamp":"2026-11-21T10:51:38.101+0000","application":"a","channel":{"id":"x"}}`)
	ev, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	u, ok := ev.(*Unknown)
	if !ok || u.Type != "ChannelTalkingStarted" || !bytes.Equal(u.Raw, raw) || u.Timestamp.IsZero() {
		t.Fatalf("%#v", ev)
	}
	for _, bad := range []string{``, `[]`, `{"no":"type"}`, `{"type":"StasisStart","args":"notalist"}`, `{"type":"Dial","timestamp":"yesterday"}`} {
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%q): no error", bad)
		}
	}
}

func TestTime(t *testing.T) {
	for in, want := range map[string]time.Time{
		`"2026-11-21T10:51:38.101+0000"`: time.Date(2026, 11, 21, 10, 51, 38, 101e6, time.UTC),
		`"2026-11-21T11:51:38.101+0100"`: time.Date(2026, 11, 21, 10, 51, 38, 101e6, time.UTC),
		`"2026-11-21T10:51:38Z"`:         time.Date(2026, 11, 21, 10, 51, 38, 0, time.UTC),
		`""`:                             {},
		`null`:                           {},
	} {
		var tm Time
		if err := json.Unmarshal([]byte(in), &tm); err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if !tm.Equal(want) {
			t.Errorf("%s: %v, want %v", in, tm.Time, want)
		}
	}
	out, err := json.Marshal(Time{time.Date(2026, 11, 21, 10, 51, 38, 101e6, time.UTC)})
	if err != nil || string(out) != `"2026-11-21T10:51:38.101+0000"` {
		t.Errorf("marshal: %s %v", out, err)
	}
}

func TestDescribeCause(t *testing.T) {
	for _, c := range []struct {
		cause int
		txt   string
		tech  int
		want  string
	}{
		{17, "", 486, "17 User busy (SIP 486 Busy Here)"},
		{19, "", 480, "19 User alerting, no answer (SIP 480 Temporarily Unavailable)"},
		{18, "", 408, "18 No user responding (SIP 408 Request Timeout)"},
		{16, "", 0, "16 Normal Clearing"},
		{21, "", 603, "21 Call Rejected (SIP 603 Decline)"},
		{1, "", 404, "1 Unallocated (unassigned) number (SIP 404 Not Found)"},
		{34, "", 0, "34 Circuit/channel congestion"},
		{99, "Custom", 499, "99 Custom (SIP 499)"},
		{0, "", 0, "no cause"},
	} {
		if got := DescribeCause(c.cause, c.txt, c.tech); got != c.want {
			t.Errorf("DescribeCause(%d, %q, %d) = %q, want %q", c.cause, c.txt, c.tech, got, c.want)
		}
	}
	if CauseName(17) != "USER_BUSY" || CauseName(500) != "" || CauseText(500) != "Unknown" {
		t.Error("CauseName/CauseText")
	}
}
