package pbxtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vhold/vhold/pbx"
)

func TestOriginateOutcomes(t *testing.T) {
	const num = "+34911234567"
	tests := []struct {
		name     string
		b        Answerer // registered as customer num; nil: nobody
		endpoint string
		timeout  time.Duration
		want     string // outcome, cause, virtual time
	}{
		{"answers through a trunk", Answers(3 * time.Second), "PJSIP/" + num + "@trunk", 0, "answered  3s"},
		{"answers a FreeSWITCH gateway string", Answers(time.Second), "sofia/gateway/trunk/" + num, 0, "answered  1s"},
		{"answers a bare number", Answers(time.Second), num, 0, "answered  1s"},
		{"busy", Busy(), num, 0, "busy 17 User busy (SIP 486) 0s"},
		{"no answer rings for the timeout", NoAnswer(), num, 20 * time.Second, "no-answer 19 User alerting, no answer (SIP 480) 20s"},
		{"no answer rings for ARI's default", NoAnswer(), num, 0, "no-answer 19 User alerting, no answer (SIP 480) 30s"},
		{"answering after the timeout is no answer", Answers(40 * time.Second), num, 25 * time.Second, "no-answer 19 User alerting, no answer (SIP 480) 25s"},
		{"unknown endpoint", nil, "PJSIP/9999", 0, "unreachable Allocation failed 0s"},
		{"unreachable", Unreachable(), num, 0, "unreachable Allocation failed 0s"},
		{"no response to signalling", Response{Outcome: pbx.Unreachable, Ring: 32 * time.Second}, num, time.Minute, "unreachable 18 No user responding (SIP 408) 32s"},
		{"invalid", Invalid(), num, 0, "invalid 1 Unallocated number (SIP 404) 0s"},
		{"rejected", Rejects(), num, 0, "rejected 21 Call rejected (SIP 603) 0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, Options{})
			if tt.b != nil {
				r.sw.Customer(num, tt.b)
			}
			r.sim.Go(func() {
				c, err := r.sw.Originate(context.Background(), pbx.Originate{ID: "cb-1", Endpoint: tt.endpoint, Timeout: tt.timeout})
				var de *pbx.DialError
				cause := ""
				if errors.As(err, &de) {
					cause = de.Cause
				}
				if (err == nil) != (c != nil) {
					t.Errorf("Originate = %v, %v", c, err)
				}
				r.say("%s %s", pbx.OutcomeOf(err), cause)
			})
			r.sim.RunFor(time.Hour)
			r.finish()
			if len(r.log) != 1 {
				t.Fatalf("log %q", r.log)
			}
			f := strings.SplitN(r.log[0], " ", 2)
			if got := f[1] + " " + f[0]; got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			o := r.sw.Originations()
			if len(o) != 1 || o[0].ID != "cb-1" || o[0].Endpoint != tt.endpoint || string(o[0].Outcome) != strings.Fields(tt.want)[0] {
				t.Errorf("originations %+v", o)
			}
		})
	}
}

func TestOriginateRefusesADuplicateID(t *testing.T) {
	r := newRig(t, Options{})
	r.sw.Customer("+1", Attempts{Busy(), Answers(time.Second)})
	r.sim.Go(func() {
		ctx := context.Background()
		for _, id := range []string{"t1-a1", "t1-a1", "t1-a2"} {
			_, err := r.sw.Originate(ctx, pbx.Originate{ID: id, Endpoint: "PJSIP/+1@trunk", CallerID: pbx.Party{Number: "7000", Name: "VHold"}})
			r.say("%s %v", id, err)
		}
	})
	r.sim.RunFor(time.Minute)
	r.finish()
	want := []string{
		"0s t1-a1 busy (17 User busy (SIP 486))",
		"0s t1-a1 failed (Channel with given unique ID already exists)",
		"1s t1-a2 <nil>",
	}
	if !slices.Equal(r.log, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(r.log, "\n"), strings.Join(want, "\n"))
	}
	var got []string
	for _, o := range r.sw.Originations() {
		got = append(got, fmt.Sprintf("%s %s %s %s %s", o.ID, o.CallerID, o.Outcome, o.At.Sub(t0), o.Done.Sub(t0)))
	}
	wantO := []string{
		`t1-a1 "VHold" <7000> busy 0s 0s`,
		`t1-a1 "VHold" <7000> failed 0s 0s`,
		`t1-a2 "VHold" <7000> answered 0s 1s`,
	}
	if !slices.Equal(got, wantO) {
		t.Fatalf("originations\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantO, "\n"))
	}
}

// TestCustomerCalledBack is the dialer's view: retries until the customer
// answers, confirms with 1, or an answering machine that never does.
func TestCustomerCalledBack(t *testing.T) {
	r := newRig(t, Options{})
	r.sw.Customer("+34600000001", Attempts{NoAnswer(), Busy(), Answers(2*time.Second, PressOn{Prompt: "callback-intro", Keys: "1", Delay: time.Second})})
	r.sw.Customer("+34600000002", Machine(4*time.Second, 20*time.Second))
	confirm := func(ctx context.Context, number string) {
		for attempt := 1; attempt <= 3; attempt++ {
			c, err := r.sw.Originate(ctx, pbx.Originate{ID: fmt.Sprintf("%s-%d", number, attempt), Endpoint: "PJSIP/" + number + "@trunk", Timeout: 20 * time.Second})
			if err != nil {
				r.say("%s attempt %d: %s", number, attempt, pbx.OutcomeOf(err))
				if err := r.sim.Sleep(ctx, time.Minute); err != nil {
					return
				}
				continue
			}
			k, err := c.Play(ctx, pbx.PlayOptions{Interrupt: "1"}, pbx.Sound("callback-intro"))
			if err == nil && k == "" {
				ev, err := c.Wait(ctx, time.Minute)
				r.say("%s attempt %d: answered, no key: %s %v", number, attempt, ev.Kind, err)
				return
			}
			r.say("%s attempt %d: answered, key %q %v", number, attempt, k, err)
			_ = c.Hangup(ctx, pbx.CauseNormal)
			return
		}
	}
	r.sim.Go(func() { confirm(context.Background(), "+34600000001") })
	r.sim.Go(func() { confirm(context.Background(), "+34600000002") })
	r.sim.RunFor(time.Hour)
	r.finish()
	got := strings.Join(r.log, "\n")
	wantS := strings.Join([]string{
		"20s +34600000001 attempt 1: no-answer",
		"24s +34600000002 attempt 1: answered, no key: hangup <nil>", // the machine hangs up 20 s after answering
		"1m20s +34600000001 attempt 2: busy",
		"2m23s +34600000001 attempt 3: answered, key \"1\" <nil>",
	}, "\n")
	if got != wantS {
		t.Fatalf("got\n%s\nwant\n%s", got, wantS)
	}
}

func TestMachineHangsUp(t *testing.T) {
	r := newRig(t, Options{})
	r.sw.Customer("+2", Machine(4*time.Second, 20*time.Second))
	r.sim.Go(func() {
		ctx := context.Background()
		c, err := r.sw.Originate(ctx, pbx.Originate{Endpoint: "+2"})
		if err != nil {
			t.Error(err)
			return
		}
		ev, err := c.Wait(ctx, time.Minute)
		r.say("%s %s %v", ev.Kind, ev.Cause, err)
	})
	r.sim.RunFor(time.Hour)
	r.finish()
	if want := []string{"24s hangup 16 Normal Clearing <nil>"}; !slices.Equal(r.log, want) {
		t.Fatalf("got %q, want %q", r.log, want)
	}
}

// TestBridge connects a caller on hold to an agent from another goroutine,
// as the dialer does: the caller's flow, parked in Wait, sees the bridge,
// then the agent hanging up after the handle time.
func TestBridge(t *testing.T) {
	r := newRig(t, Options{})
	r.sw.Agent("PJSIP/1001", Talks(2*time.Second, Fixed(3*time.Minute)))
	caller := r.sw.Dial(t0, Caller{Number: "+34911234567", Queue: "support"})
	var agent *Call
	r.serve(func(ctx context.Context, c pbx.Call) {
		_ = c.Answer(ctx)
		_ = c.StartMOH(ctx, "")
		r.sim.AfterFunc(10*time.Second, func() {
			a, err := r.sw.Originate(ctx, pbx.Originate{ID: "agent-leg", Endpoint: "PJSIP/1001"})
			if err != nil {
				t.Error(err)
				return
			}
			agent = a.(*Call)
			if err := c.Bridge(ctx, a); err != nil {
				t.Error(err)
			}
			// A second agent call while this one talks is busy.
			_, err = r.sw.Originate(ctx, pbx.Originate{Endpoint: "PJSIP/1001"})
			r.say("second agent call: %v", err)
		})
		for {
			ev, err := c.Wait(ctx, time.Hour)
			if err != nil {
				r.say("wait: %v", err)
				return
			}
			r.say("%s %s", ev.Kind, ev.Peer)
			if ev.Kind == pbx.EventUnbridge {
				return // the switch hangs the caller up
			}
		}
	})
	r.sim.RunFor(time.Hour)
	r.finish()
	want := []string{
		// The dialer goroutine runs on until it parks, and a busy agent
		// answers at once, so it is first.
		"12s second agent call: busy (17 User busy (SIP 486))",
		"12s bridged agent-leg",
		"3m12s unbridged agent-leg",
	}
	if !slices.Equal(r.log, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(r.log, "\n"), strings.Join(want, "\n"))
	}
	wantCaller := []string{"incoming from +34911234567 for queue support", "answer", "moh on default",
		"bridged with agent-leg", "unbridged from agent-leg", "hangup normal"}
	if got := caller.Transcript().What(); !slices.Equal(got, wantCaller) {
		t.Errorf("caller transcript %q", got)
	}
	wantAgent := []string{"originated to PJSIP/1001 as ", "answered", "bridged with pbx1-1", "remote hangup"}
	if got := agent.Transcript().What(); !slices.Equal(got, wantAgent) {
		t.Errorf("agent transcript %q", got)
	}
}

// TestBridgeStopsWhatPlays bridges two callers while one hears prompts and
// the other keys digits: both verbs end at once without an error.
func TestBridgeStopsWhatPlays(t *testing.T) {
	r := newRig(t, Options{})
	a := r.sw.Dial(t0, Caller{Number: "a"})
	b := r.sw.Dial(t0, Caller{Number: "b", Script: []Action{PressOn{Prompt: "enter-number", Keys: "61"}}})
	calls := map[string]pbx.Call{}
	r.serve(func(ctx context.Context, c pbx.Call) {
		calls[c.Caller().Number] = c
		_ = c.StartMOH(ctx, "")
		if c.Caller().Number == "a" {
			r.sim.AfterFunc(5*time.Second, func() { _ = calls["a"].Bridge(ctx, calls["b"]) })
			k, err := c.Play(ctx, pbx.PlayOptions{}, pbx.Sound("long"), pbx.Sound("long"), pbx.Sound("long"))
			r.say("a play %q %v", k, err)
		} else {
			d, err := c.Collect(ctx, pbx.CollectOptions{Prompts: []pbx.Prompt{pbx.Sound("enter-number")}, Max: 9, FirstTimeout: time.Minute, InterTimeout: time.Minute})
			r.say("b collect %q %v", d, err)
		}
		ev, err := c.Wait(ctx, time.Minute)
		r.say("%s %s %s %v", c.Caller().Number, ev.Kind, ev.Peer, err)
		if _, on := c.(*Call).MOH(); on {
			t.Errorf("%s: music still on in a bridge", c)
		}
	})
	r.sim.RunFor(time.Hour)
	r.finish()
	// Each flow runs until it parks: a finds its bridged event queued.
	want := []string{`5s a play "" <nil>`, `5s a bridged pbx1-2 <nil>`, `5s b collect "61" <nil>`, `5s b bridged pbx1-1 <nil>`}
	if !slices.Equal(r.log, want) {
		t.Fatalf("got\n%s\nwant\n%s\n%s%s", strings.Join(r.log, "\n"), strings.Join(want, "\n"), a.Transcript(), b.Transcript())
	}
}

func TestBridgeRefusesForeignCalls(t *testing.T) {
	r := newRig(t, Options{})
	other := NewSwitch(r.sim, "pbx2", Options{})
	a := r.sw.Dial(t0, Caller{})
	b := other.Dial(t0, Caller{})
	r.sim.RunFor(0)
	if err := a.Bridge(context.Background(), b); err == nil {
		t.Fatal("bridged calls of two switches")
	}
}

func TestCallerHangingUpLeavesAgentAlone(t *testing.T) {
	r := newRig(t, Options{})
	r.sw.Agent("PJSIP/1001", Answers(0))
	// Talking to the agent, the caller hangs up a minute after the answer
	// (patience no longer applies once bridged: TestPatienceEndsAtTheBridge).
	r.sw.Dial(t0, Caller{Script: []Action{HangUp{After: time.Minute}}})
	r.serve(func(ctx context.Context, c pbx.Call) {
		if err := c.Answer(ctx); err != nil {
			t.Error(err)
			return
		}
		a, err := r.sw.Originate(ctx, pbx.Originate{Endpoint: "PJSIP/1001"})
		if err != nil {
			t.Error(err)
			return
		}
		defer a.Hangup(ctx, pbx.CauseNormal)
		if err := c.Bridge(ctx, a); err != nil {
			t.Error(err)
		}
		for {
			ev, err := a.Wait(ctx, time.Hour)
			if err != nil {
				t.Error(err)
				return
			}
			r.say("agent leg: %s %s", ev.Kind, ev.Peer)
			if ev.Kind == pbx.EventUnbridge {
				return
			}
		}
	})
	r.sim.RunFor(time.Hour)
	r.finish()
	want := []string{"0s agent leg: bridged pbx1-1", "1m0s agent leg: unbridged pbx1-1"}
	if !slices.Equal(r.log, want) {
		t.Fatalf("got %q, want %q", r.log, want)
	}
}

// handleTimes bridges n callers with agents whose handle time is drawn
// from d and returns how long each agent talked.
func handleTimes(t *testing.T, seed uint64, d Dist, n int) []time.Duration {
	r := newRig(t, Options{Seed: seed})
	for i := range n {
		r.sw.Agent(fmt.Sprintf("PJSIP/%d", 1000+i), Talks(0, d))
		r.sw.Dial(t0, Caller{Number: fmt.Sprint(i)})
	}
	talked := make([]time.Duration, n)
	r.serve(func(ctx context.Context, c pbx.Call) {
		var i int
		fmt.Sscan(c.Caller().Number, &i)
		a, err := r.sw.Originate(ctx, pbx.Originate{Endpoint: fmt.Sprintf("PJSIP/%d", 1000+i)})
		if err != nil {
			t.Error(err)
			return
		}
		start := r.sim.Now()
		_ = c.Bridge(ctx, a)
		for {
			ev, err := c.Wait(ctx, 24*time.Hour)
			if err != nil || ev.Kind == pbx.EventUnbridge {
				break
			}
		}
		talked[i] = r.sim.Now().Sub(start)
	})
	r.sim.RunFor(48 * time.Hour)
	r.finish()
	return talked
}

func TestAgentHandleTime(t *testing.T) {
	fixed := handleTimes(t, 1, Fixed(4*time.Minute), 3)
	if fmt.Sprint(fixed) != "[4m0s 4m0s 4m0s]" {
		t.Fatalf("fixed handle times %v", fixed)
	}
	const n = 400
	a := handleTimes(t, 1, Exponential(5*time.Minute), n)
	b := handleTimes(t, 1, Exponential(5*time.Minute), n)
	c := handleTimes(t, 2, Exponential(5*time.Minute), n)
	if !slices.Equal(a, b) {
		t.Fatal("the same seed drew different handle times")
	}
	if slices.Equal(a, c) {
		t.Fatal("different seeds drew the same handle times")
	}
	var sum time.Duration
	for _, d := range a {
		sum += d
	}
	if mean := sum / n; mean < 4*time.Minute || mean > 6*time.Minute {
		t.Fatalf("mean handle time %s, want about 5m", mean)
	}
}

// sim runs an afternoon of Poisson traffic with callbacks, and returns
// everything observable as text.
func afternoon(t *testing.T, seed uint64) string {
	r := newRig(t, Options{Seed: seed})
	r.sw.Generate(Traffic{
		Rate: 120, Start: t0, End: t0.Add(2 * time.Hour), Queue: "support",
		Make: func(i int, rng *rand.Rand) Caller {
			c := Caller{Number: fmt.Sprintf("+3460000%04d", i), HangUpAfter: Exponential(10 * time.Minute).Draw(rng)}
			if rng.IntN(2) == 0 {
				c.Script = []Action{PressOn{Prompt: "offer-callback", Keys: "1", Delay: time.Duration(rng.IntN(2000)) * time.Millisecond}}
			}
			var b Answerer = Attempts{NoAnswer(), Answers(5 * time.Second)}
			if rng.IntN(3) == 0 {
				b = Machine(3*time.Second, 15*time.Second)
			}
			r.sw.Customer(c.Number, b)
			return c
		},
	})
	r.serve(func(ctx context.Context, c pbx.Call) {
		holdFlow(ctx, c)
		if c.(*Call).Transcript()[len(c.(*Call).Transcript())-1].What != "hangup normal" {
			return
		}
		// Took the offer: call back twice, a minute apart.
		for attempt := 1; attempt <= 2; attempt++ {
			if err := r.sim.Sleep(ctx, time.Minute); err != nil {
				return
			}
			cb, err := r.sw.Originate(ctx, pbx.Originate{ID: fmt.Sprintf("%s-%d", c.ID(), attempt), Endpoint: "PJSIP/" + c.Caller().Number + "@trunk", Timeout: 20 * time.Second})
			if err == nil {
				_, _ = cb.Play(ctx, pbx.PlayOptions{}, pbx.Sound("callback-intro"))
				_ = cb.Hangup(ctx, pbx.CauseNormal)
				return
			}
		}
	})
	r.sim.RunFor(4 * time.Hour)
	r.finish()
	var b strings.Builder
	for _, c := range r.sw.Calls() {
		fmt.Fprintf(&b, "%s\n%s", c, c.Transcript())
	}
	for _, o := range r.sw.Originations() {
		fmt.Fprintf(&b, "%s %s %s %s %s\n", o.ID, o.At.Format(time.TimeOnly), o.Done.Format(time.TimeOnly), o.Outcome, o.Cause)
	}
	if len(r.sw.Calls()) < 150 || len(r.sw.Originations()) < 30 {
		t.Fatalf("only %d calls, %d originations", len(r.sw.Calls()), len(r.sw.Originations()))
	}
	return b.String()
}

func TestDeterminism(t *testing.T) {
	a, b, c := afternoon(t, 42), afternoon(t, 42), afternoon(t, 43)
	if a != b {
		t.Fatal("two runs with the same seed differ")
	}
	if a == c {
		t.Fatal("runs with different seeds are identical")
	}
}

func TestPatienceEndsAtTheBridge(t *testing.T) {
	r := newRig(t, Options{})
	r.sw.Agent("PJSIP/1001", Answers(0))
	caller := r.sw.Dial(t0, Caller{HangUpAfter: time.Minute})
	r.serve(func(ctx context.Context, c pbx.Call) {
		a, err := r.sw.Originate(ctx, pbx.Originate{Endpoint: "PJSIP/1001"})
		if err != nil {
			t.Error(err)
			return
		}
		defer a.Hangup(ctx, pbx.CauseNormal)
		if err := c.Bridge(ctx, a); err != nil {
			t.Error(err)
		}
		for { // talk for two minutes
			ev, err := a.Wait(ctx, 2*time.Minute)
			if err != nil || ev.Kind == pbx.EventTimeout || ev.Kind == pbx.EventUnbridge {
				return
			}
		}
	})
	r.sim.RunFor(90 * time.Second)
	if !caller.Up() {
		t.Fatalf("a caller bridged before their patience ran out hung up on the agent:\n%s", caller.Transcript())
	}
	r.sim.RunFor(time.Hour)
	r.finish()
}
