package asterisk

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/pbx/asterisk/ari"
	"github.com/vhold/vhold/pbx/asterisk/aritest"
)

const soundsDir = "/var/lib/asterisk/sounds/vhold"

// rig is the adapter serving the in-process fake Asterisk.
type rig struct {
	srv *aritest.Server
	sw  *Switch
}

func newRig(t *testing.T, h pbx.Handler) *rig {
	t.Helper()
	srv := aritest.New(aritest.Options{Speed: 20, SoundExists: func(string, string) bool { return true }})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	cl := ari.New(ari.Config{BaseURL: srv.URL(), Username: "vhold", Password: "vhold", App: "vhold"})
	sw := New(Options{Name: "ast1", Client: cl, Sounds: soundsDir})
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
		case <-time.After(10 * time.Second):
			t.Error("serve did not return after its context ended")
		}
		srv.Close()
	})
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := srv.WaitConnected(wctx); err != nil {
		t.Fatal(err)
	}
	return &rig{srv: srv, sw: sw}
}

func within(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// An incoming caller: the queue from Stasis(vhold,support), a prompt by its
// absolute path, the key that interrupts it (DTMF does not stop a playback
// on Asterisk: the adapter does, inbound-dtmf.jsonl), and our hangup.
func TestIncomingCallPromptKeyHangup(t *testing.T) {
	type result struct {
		queue, number, key string
		err                error
	}
	got := make(chan result, 1)
	r := newRig(t, func(ctx context.Context, c pbx.Call) {
		res := result{queue: c.Queue(), number: c.Caller().Number}
		if res.err = c.Answer(ctx); res.err == nil {
			res.key, res.err = c.Play(ctx, pbx.PlayOptions{Interrupt: "1"}, pbx.Sound("greeting"), pbx.Sound("offer-callback"))
		}
		got <- res
		_ = c.Hangup(ctx, pbx.CauseNormal)
	})
	call := r.srv.Call(aritest.CallSpec{
		Caller: aritest.Party{Number: "+34911234567"}, Args: []string{"support"},
		Script: aritest.Script{{AfterMedia: "*offer-callback", During: true, Delay: 200 * time.Millisecond, Press: "1"}},
	})
	ctx := within(t)
	select {
	case res := <-got:
		if res.err != nil {
			t.Fatal(res.err)
		}
		if res.queue != "support" || res.number != "+34911234567" || res.key != "1" {
			t.Fatalf("handler saw %+v", res)
		}
	case <-ctx.Done():
		t.Fatal("the handler never finished")
	}
	if err := call.WaitHungUp(ctx); err != nil {
		t.Fatal(err)
	}
	var media []string
	for _, h := range call.Heard() {
		media = append(media, h.Media+" "+h.End)
	}
	want := []string{"sound:" + soundsDir + "/en/greeting done", "sound:" + soundsDir + "/en/offer-callback stopped"}
	if strings.Join(media, "|") != strings.Join(want, "|") {
		t.Fatalf("caller heard %q, want %q", media, want)
	}
}

// A caller who hangs up mid-prompt ends the flow with pbx.ErrHungUp.
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
	r.srv.Call(aritest.CallSpec{Args: []string{"support"}, Script: aritest.Script{{AfterMedia: "*greeting", During: true, HangUp: true}}})
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

// Originate outcomes come from ChannelDestroyed's cause
// (originate-fail.jsonl), and an unknown endpoint fails at once.
func TestOriginateOutcomes(t *testing.T) {
	r := newRig(t, func(ctx context.Context, c pbx.Call) {})
	r.srv.Endpoint("PJSIP/busy", aritest.Behaviour{Outcome: aritest.Busy})
	r.srv.Endpoint("PJSIP/noanswer", aritest.Behaviour{Outcome: aritest.NoAnswer})
	r.srv.Endpoint("PJSIP/agent1", aritest.Behaviour{Outcome: aritest.Answer, Ring: time.Second})
	cases := []struct {
		ep      string
		outcome pbx.Outcome
		cause   string
	}{
		{"PJSIP/busy", pbx.Busy, "17"},
		{"PJSIP/noanswer", pbx.NoAnswer, "19"},
		{"PJSIP/nobody", pbx.Unreachable, "Allocation failed"},
		{"PJSIP/agent1", pbx.Answered, ""},
	}
	for i, c := range cases {
		ctx := within(t)
		call, err := r.sw.Originate(ctx, pbx.Originate{ID: "vhold-test-" + string(rune('a'+i)), Endpoint: c.ep, Timeout: 5 * time.Second})
		if got := pbx.OutcomeOf(err); got != c.outcome {
			t.Fatalf("%s: outcome %s (%v), want %s", c.ep, got, err, c.outcome)
		}
		if err != nil && !strings.Contains(err.Error(), c.cause) {
			t.Fatalf("%s: %v does not carry the cause %q", c.ep, err, c.cause)
		}
		if call != nil {
			// While the call is up, the same attempt again is refused by
			// Asterisk (409 duplicate channel id, errors.jsonl).
			if _, err := r.sw.Originate(ctx, pbx.Originate{ID: call.ID(), Endpoint: c.ep, Timeout: 5 * time.Second}); err == nil {
				t.Fatal("a second originate with the same id was placed")
			}
			if err := call.Hangup(ctx, pbx.CauseNormal); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// A stored recording (a caller's name) is deleted; deleting one that is not
// there is not an error, so a second cleanup after a restart is harmless.
func TestDeleteRecording(t *testing.T) {
	r := newRig(t, func(ctx context.Context, c pbx.Call) {})
	r.srv.AddRecording("vhold-name-7", "wav", 2*time.Second)
	ctx := within(t)
	for range 2 {
		if err := r.sw.DeleteRecording(ctx, "vhold-name-7"); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range r.srv.Recordings() {
		if n == "vhold-name-7" {
			t.Fatalf("recording still stored: %v", r.srv.Recordings())
		}
	}
}
