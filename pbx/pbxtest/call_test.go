package pbxtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vhold/vhold/pbx"
)

// TestVerbs runs one scripted caller against a small flow per case and
// compares what the flow saw, with virtual times since the call arrived.
func TestVerbs(t *testing.T) {
	noPlay := pbx.PlayOptions{}
	collect := func(r *rig, ctx context.Context, c pbx.Call, opt pbx.CollectOptions) {
		d, err := c.Collect(ctx, opt)
		r.say("collect=%q %v", d, err)
	}
	wait := func(r *rig, ctx context.Context, c pbx.Call, d time.Duration) {
		ev, err := c.Wait(ctx, d)
		switch {
		case err != nil:
			r.say("wait: %v", err)
		case ev.Kind == pbx.EventKey:
			r.say("wait: key %s", ev.Key)
		case ev.Kind == pbx.EventHangup:
			r.say("wait: hangup %s", ev.Cause)
		default:
			r.say("wait: %s", ev.Kind)
		}
	}
	play := func(r *rig, ctx context.Context, c pbx.Call, opt pbx.PlayOptions, p ...pbx.Prompt) {
		k, err := c.Play(ctx, opt, p...)
		r.say("play=%q %v", k, err)
	}
	tests := []struct {
		name   string
		caller Caller
		flow   func(r *rig, ctx context.Context, c pbx.Call)
		want   []string
	}{{
		name: "play runs every prompt to its end",
		flow: func(r *rig, ctx context.Context, c pbx.Call) {
			play(r, ctx, c, noPlay, pbx.Sound("greeting"), pbx.Number(25), pbx.Digits("4321"), pbx.Duration(25*time.Minute))
		},
		want: []string{`7.1s play="" <nil>`}, // 2 + 2×0.6 + 4×0.6 + 1.5
	}, {
		name:   "an interrupt key stops the prompt at once and is consumed",
		caller: Caller{Script: []Action{PressOn{Prompt: "offer-callback", Keys: "1", Delay: time.Second}}},
		flow: func(r *rig, ctx context.Context, c pbx.Call) {
			play(r, ctx, c, pbx.PlayOptions{Interrupt: "12"}, pbx.Sound("offer-callback"), pbx.Sound("never-heard"))
			wait(r, ctx, c, 5*time.Second)
		},
		want: []string{`1s play="1" <nil>`, `6s wait: timeout`},
	}, {
		name:   "other keys do not stop the prompt and queue for Wait",
		caller: Caller{Script: []Action{PressOn{Prompt: "offer-callback", Keys: "5", Delay: time.Second}}},
		flow: func(r *rig, ctx context.Context, c pbx.Call) {
			play(r, ctx, c, pbx.PlayOptions{Interrupt: "1"}, pbx.Sound("offer-callback"))
			play(r, ctx, c, noPlay, pbx.Sound("position"))
			wait(r, ctx, c, 5*time.Second)
		},
		want: []string{`2s play="" <nil>`, `4s play="" <nil>`, `4s wait: key 5`},
	}, {
		name: "press steps follow each other and the answer",
		caller: Caller{Script: []Action{
			Press{Keys: "1", After: 3 * time.Second},
			Press{Keys: "2", After: time.Second},
		}},
		flow: func(r *rig, ctx context.Context, c pbx.Call) {
			wait(r, ctx, c, 10*time.Second) // not answered: the script's clock has not started
			_ = c.Answer(ctx)
			wait(r, ctx, c, 10*time.Second)
			wait(r, ctx, c, 10*time.Second)
		},
		want: []string{`10s wait: timeout`, `13s wait: key 1`, `14s wait: key 2`},
	}, {
		name:   "a key during Collect's prompts stops them and is the first digit",
		caller: Caller{Script: []Action{PressOn{Prompt: "enter-number", Keys: "612345678#", Delay: 500 * time.Millisecond}}},
		flow: func(r *rig, ctx context.Context, c pbx.Call) {
			collect(r, ctx, c, pbx.CollectOptions{Prompts: []pbx.Prompt{pbx.Sound("enter-number")},
				Max: 15, Terminator: "#", FirstTimeout: 5 * time.Second, InterTimeout: 3 * time.Second})
		},
		want: []string{`3.2s collect="612345678" <nil>`}, // 0.5 s + 9 keys 0.3 s apart
	}, {
		name:   "collect stops at Max and the next keys queue",
		caller: Caller{Script: []Action{PressOn{Prompt: "menu", Keys: "123"}}},
		flow: func(r *rig, ctx context.Context, c pbx.Call) {
			collect(r, ctx, c, pbx.CollectOptions{Prompts: []pbx.Prompt{pbx.Sound("menu")}, Max: 2, FirstTimeout: time.Second, InterTimeout: time.Second})
			wait(r, ctx, c, time.Second)
		},
		want: []string{`300ms collect="12" <nil>`, `600ms wait: key 3`},
	}, {
		name:   "a zero InterTimeout does not wait for a second key",
		caller: Caller{Script: []Action{PressOn{Prompt: "menu", Keys: "12"}}},
		flow: func(r *rig, ctx context.Context, c pbx.Call) {
			collect(r, ctx, c, pbx.CollectOptions{Prompts: []pbx.Prompt{pbx.Sound("menu")}, Max: 2, FirstTimeout: time.Second})
		},
		want: []string{`0s collect="1" <nil>`},
	}, {
		name: "collect gives up after FirstTimeout",
		flow: func(r *rig, ctx context.Context, c pbx.Call) {
			collect(r, ctx, c, pbx.CollectOptions{Prompts: []pbx.Prompt{pbx.Sound("menu")}, Max: 1, FirstTimeout: 5 * time.Second})
		},
		want: []string{`7s collect="" <nil>`},
	}, {
		name: "collect returns what it has after InterTimeout",
		caller: Caller{Script: []Action{
			Press{Keys: "12", After: time.Second},
			Press{Keys: "3", After: 10 * time.Second},
		}},
		flow: func(r *rig, ctx context.Context, c pbx.Call) {
			_ = c.Answer(ctx)
			collect(r, ctx, c, pbx.CollectOptions{Max: 5, FirstTimeout: 5 * time.Second, InterTimeout: 3 * time.Second})
		},
		want: []string{`4.3s collect="12" <nil>`},
	}, {
		name:   "collect takes type-ahead keys and skips its prompts",
		caller: Caller{Script: []Action{PressOn{Prompt: "position", Keys: "42"}}},
		flow: func(r *rig, ctx context.Context, c pbx.Call) {
			play(r, ctx, c, noPlay, pbx.Sound("position"))
			collect(r, ctx, c, pbx.CollectOptions{Prompts: []pbx.Prompt{pbx.Sound("enter")}, Max: 2, FirstTimeout: time.Second})
		},
		want: []string{`2s play="" <nil>`, `2s collect="42" <nil>`},
	}, {
		name:   "Flush drops type-ahead",
		caller: Caller{Script: []Action{PressOn{Prompt: "position", Keys: "42"}}},
		flow: func(r *rig, ctx context.Context, c pbx.Call) {
			play(r, ctx, c, noPlay, pbx.Sound("position"))
			collect(r, ctx, c, pbx.CollectOptions{Max: 2, FirstTimeout: time.Second, Flush: true})
		},
		want: []string{`2s play="" <nil>`, `3s collect="" <nil>`},
	}, {
		name:   "a hangup mid-prompt fails the Play; Wait reads the hangup once",
		caller: Caller{Script: []Action{HangUpOn{Prompt: "greeting", Delay: time.Second}}},
		flow: func(r *rig, ctx context.Context, c pbx.Call) {
			play(r, ctx, c, noPlay, pbx.Sound("greeting"))
			wait(r, ctx, c, time.Minute)
			wait(r, ctx, c, time.Minute)
			play(r, ctx, c, noPlay, pbx.Sound("goodbye"))
			r.say("hangup %v", c.Hangup(ctx, pbx.CauseNormal))
		},
		want: []string{
			`1s play="" play pbx1-1: call hung up`,
			`1s wait: hangup 16 Normal Clearing`,
			`1s wait: wait on pbx1-1: call hung up`,
			`1s play="" play pbx1-1: call hung up`,
			`1s hangup <nil>`,
		},
	}, {
		name:   "a hangup while waiting is the Wait's event",
		caller: Caller{HangUpAfter: 90 * time.Second},
		flow: func(r *rig, ctx context.Context, c pbx.Call) {
			wait(r, ctx, c, time.Minute)
			wait(r, ctx, c, time.Minute)
			wait(r, ctx, c, time.Minute)
		},
		want: []string{`1m0s wait: timeout`, `1m30s wait: hangup 16 Normal Clearing`, `1m30s wait: wait on pbx1-1: call hung up`},
	}, {
		name: "our own hangup fails the verbs pending on the call",
		flow: func(r *rig, ctx context.Context, c pbx.Call) {
			r.sim.AfterFunc(5*time.Second, func() { _ = c.Hangup(ctx, pbx.CauseNormal) })
			play(r, ctx, c, noPlay, pbx.Sound("long"), pbx.Sound("long"), pbx.Sound("long"))
			wait(r, ctx, c, time.Minute)
		},
		want: []string{`5s play="" play pbx1-1: call hung up`, `5s wait: wait on pbx1-1: call hung up`},
	}, {
		name:   "record takes as long as the caller's name",
		caller: Caller{Name: "Ana Garcia"},
		flow: func(r *rig, ctx context.Context, c pbx.Call) {
			rec, err := c.Record(ctx, pbx.RecordOptions{Name: "name-1", Max: 5 * time.Second, Beep: true})
			r.say("record %s %v", rec.Duration, err)
			play(r, ctx, c, noPlay, pbx.Clip(rec))
		},
		want: []string{`1s record 1s <nil>`, `2s play="" <nil>`},
	}, {
		name:   "a key ends a recording early",
		caller: Caller{Script: []Action{Press{Keys: "#", After: 2 * time.Second}}},
		flow: func(r *rig, ctx context.Context, c pbx.Call) {
			_ = c.Answer(ctx)
			rec, err := c.Record(ctx, pbx.RecordOptions{Name: "name-1", Max: 5 * time.Second})
			r.say("record %s %v", rec.Duration, err)
			wait(r, ctx, c, 0)
		},
		want: []string{`2s record 2s <nil>`, `2s wait: timeout`},
	}, {
		name: "a cancelled context ends a pending verb with the context's error",
		flow: func(r *rig, ctx context.Context, c pbx.Call) {
			ctx, cancel := context.WithCancel(ctx)
			r.sim.AfterFunc(3*time.Second, cancel)
			wait(r, ctx, c, time.Minute)
			play(r, ctx, c, noPlay, pbx.Sound("greeting"))
		},
		want: []string{`3s wait: context canceled`, `3s play="" context canceled`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, Options{})
			call := r.sw.Dial(t0, tt.caller)
			r.serve(func(ctx context.Context, c pbx.Call) { tt.flow(r, ctx, c) })
			r.sim.RunFor(time.Hour)
			r.finish()
			if !slices.Equal(r.log, tt.want) {
				t.Errorf("flow saw\n\t%s\nwant\n\t%s\ntranscript:\n%s",
					strings.Join(r.log, "\n\t"), strings.Join(tt.want, "\n\t"), call.Transcript())
			}
		})
	}
}

func TestTranscript(t *testing.T) {
	_, _, calls := world(t, Options{}, holdFlow,
		Caller{Number: "+34911234567", Queue: "support", Script: []Action{
			PressOn{Prompt: "offer-callback", Keys: "1", Delay: 500 * time.Millisecond},
		}},
	)
	got := calls[0].Transcript().String()
	want := `09:00:00.000 incoming from +34911234567 for queue support
09:00:00.000 answer
09:00:00.000 play sound:greeting
09:00:02.000 play sound:position
09:00:04.000 play number:3
09:00:04.600 play sound:offer-callback
09:00:05.100 key 1
09:00:05.100 play sound:goodbye
09:00:07.100 hangup normal
`
	if got != want {
		t.Fatalf("transcript:\n%s\nwant:\n%s", got, want)
	}
}

func TestMusicOnHold(t *testing.T) {
	r := newRig(t, Options{})
	call := r.sw.Dial(t0, Caller{})
	r.serve(func(ctx context.Context, c pbx.Call) {
		_ = c.Answer(ctx)
		_ = c.StartMOH(ctx, "")
		_ = c.StartMOH(ctx, "") // already on: nothing new
		_, _ = c.Play(ctx, pbx.PlayOptions{}, pbx.Sound("position"))
		if class, on := c.(*Call).MOH(); !on || class != "default" {
			t.Errorf("MOH after a Play = %q %v, want it resumed", class, on)
		}
		_ = c.StopMOH(ctx)
		if err := c.StopMOH(ctx); err != nil {
			t.Errorf("StopMOH without music: %v", err)
		}
	})
	r.sim.RunFor(time.Minute)
	r.finish()
	want := []string{"incoming from anonymous", "answer", "moh on default", "play sound:position", "moh off", "hangup normal"}
	if got := call.Transcript().What(); !slices.Equal(got, want) {
		t.Fatalf("transcript %q, want %q", got, want)
	}
}

func TestVerbsOnHungUpCall(t *testing.T) {
	r := newRig(t, Options{})
	r.sw.Dial(t0, Caller{Script: []Action{HangUp{}}})
	r.serve(func(ctx context.Context, c pbx.Call) {
		_ = c.Answer(ctx)
		if err := r.sim.Sleep(ctx, time.Second); err != nil {
			t.Error(err)
		}
		_, _ = c.Wait(ctx, 0) // the hangup
		checks := map[string]error{
			"answer":  c.Answer(ctx),
			"moh":     c.StartMOH(ctx, ""),
			"stopmoh": c.StopMOH(ctx),
			"bridge":  c.Bridge(ctx, c),
		}
		_, checks["play"] = c.Play(ctx, pbx.PlayOptions{}, pbx.Sound("x"))
		_, checks["collect"] = c.Collect(ctx, pbx.CollectOptions{Max: 1})
		_, checks["record"] = c.Record(ctx, pbx.RecordOptions{Name: "x"})
		_, checks["wait"] = c.Wait(ctx, time.Second)
		for verb, err := range checks {
			if verb == "bridge" {
				continue // bridging a call with itself is refused before the hangup matters
			}
			if !errors.Is(err, pbx.ErrHungUp) {
				t.Errorf("%s on a hung-up call: %v, want ErrHungUp", verb, err)
			}
		}
		if err := c.Hangup(ctx, pbx.CauseNormal); err != nil {
			t.Errorf("hanging up a hung-up call: %v", err)
		}
	})
	r.sim.RunFor(time.Minute)
	r.finish()
}

func TestCallerPatience(t *testing.T) {
	_, _, calls := world(t, Options{}, holdFlow,
		Caller{Queue: "support", HangUpAfter: 150 * time.Second},
		Caller{Queue: "support", Script: []Action{HangUpOn{Prompt: "position"}}},
	)
	for i, want := range []time.Duration{150 * time.Second, 2 * time.Second} {
		tr := calls[i].Transcript()
		last := tr[len(tr)-1]
		start := tr[0].At
		if last.What != "remote hangup" || last.At.Sub(start) != want {
			t.Errorf("caller %d ended with %q after %s, want a remote hangup after %s\n%s", i, last.What, last.At.Sub(start), want, tr)
		}
	}
}

func TestUnservedCallsAreDeclined(t *testing.T) {
	sim := NewSim(t0)
	sw := NewSwitch(sim, "pbx1", Options{})
	c := sw.Dial(t0, Caller{Number: "100"})
	sim.RunFor(time.Second)
	if got := c.Transcript().What(); len(got) != 2 || !strings.HasPrefix(got[1], "declined") {
		t.Fatalf("transcript %q, want the call declined", got)
	}
}

func TestServeFromAPlainGoroutine(t *testing.T) {
	sim := NewSim(t0)
	sw := NewSwitch(sim, "pbx1", Options{})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error)
	go func() { served <- sw.Serve(ctx, holdFlow) }()
	// Serve registers as soon as its goroutine runs; give it that moment,
	// in wall time, since an untracked Serve is outside the world.
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		sim.mu.Lock()
		up := sw.handler != nil
		sim.mu.Unlock()
		if up {
			break
		}
	}
	c := sw.Dial(t0.Add(time.Second), Caller{})
	sim.RunFor(time.Minute)
	if !c.Up() {
		t.Fatalf("call not up:\n%s", c.Transcript())
	}
	cancel()
	sim.RunFor(0)
	select {
	case err := <-served:
		if err != context.Canceled {
			t.Fatalf("Serve = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after its handlers did")
	}
	if c.Up() {
		t.Fatal("call still up after the switch stopped")
	}
}

func TestLog(t *testing.T) {
	var lines []string
	world(t, Options{Log: func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) }}, holdFlow,
		Caller{Number: "+1", HangUpAfter: time.Second})
	if len(lines) == 0 || lines[0] != "09:00:00.000 pbx1-1 incoming from +1" {
		t.Fatalf("log = %q", lines)
	}
}
