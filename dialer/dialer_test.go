package dialer

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vhold/vhold/ivr"
	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/pbx/pbxtest"
	"github.com/vhold/vhold/queue"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

const customer = "+34611000001"

// rig is the line, the IVR and the dialer on an in-memory switch in virtual
// time, with agents a1 (PJSIP/1001) and a2 (PJSIP/1002) and no caller yet.
type rig struct {
	t    *testing.T
	sim  *pbxtest.Sim
	sw   *pbxtest.Switch
	j    *queue.MemJournal
	line *queue.Line
	d    *Dialer
	stop context.CancelFunc
}

type rigOpts struct {
	strategy Strategy
	agents   map[string]pbxtest.Answerer // endpoint → behaviour; default: answers, talks 3m
	hours    queue.Hours
	rec      *fakeRecorder // the IVR's and the dialer's recorder; nil records nothing
}

func newRig(t *testing.T, o rigOpts) *rig {
	t.Helper()
	r := &rig{t: t, sim: pbxtest.NewSim(t0), j: queue.NewMemJournal()}
	r.sw = pbxtest.NewSwitch(r.sim, "pbx1", pbxtest.Options{Seed: 7})
	cfg := queue.Config{
		Queues: []queue.QueueConfig{{
			Name:     "support",
			Estimate: queue.EstimatorOptions{PriorHandle: 5 * time.Minute},
			Offer:    queue.OfferPolicy{Enabled: true, MinWait: 2 * time.Minute, Horizon: 2 * time.Hour},
			Callback: queue.CallbackPolicy{MaxAttempts: 3, RetryDelays: []time.Duration{2 * time.Minute, 5 * time.Minute}},
			Hours:    o.hours,
		}},
		Agents: []queue.AgentConfig{
			{ID: "a1", Endpoint: "PJSIP/1001", Queues: []string{"support"}, WrapUp: 30 * time.Second},
			{ID: "a2", Endpoint: "PJSIP/1002", Queues: []string{"support"}, WrapUp: 30 * time.Second, InitialState: queue.AgentPaused},
		},
	}
	for _, ep := range []string{"PJSIP/1001", "PJSIP/1002"} {
		b := pbxtest.Answerer(pbxtest.Talks(2*time.Second, pbxtest.Fixed(3*time.Minute)))
		if ob, ok := o.agents[ep]; ok {
			b = ob
		}
		r.sw.Agent(ep, b)
	}
	line, err := queue.NewLine(cfg, r.sim, r.j, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.line = line
	var conn Late
	icfg := ivr.Config{Queues: map[string]ivr.QueueOptions{"support": {Language: "en", Country: "ES"}}}
	var with []Option
	if o.rec != nil {
		icfg.Recorder = o.rec
		with = append(with, WithRecorder(o.rec))
	}
	flows := ivr.New(icfg, line, r.sim, &conn, nil)
	r.d = New(line, []pbx.Switch{r.sw}, flows, r.sim, map[string]QueueOptions{
		"support": {Strategy: o.strategy, CallerID: pbx.Party{Number: "+34910000000"}, DialString: "PJSIP/{number}@trunk"},
	}, nil, with...)
	conn.D = r.d
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	r.sim.Go(func() { _ = r.sw.Serve(ctx, flows.Handle) })
	r.d.Start(ctx)
	t.Cleanup(func() {
		cancel()
		r.sim.RunFor(time.Minute)
		r.d.Stop()
		if n := r.sim.Live(); n != 0 {
			t.Errorf("%d goroutines still running after stop", n)
		}
	})
	return r
}

// callback adds a callback request for the customer (as the web or CLI would).
func (r *rig) callback(number string) *queue.Ticket {
	r.t.Helper()
	var out *queue.Ticket
	r.sim.Go(func() {
		j, err := r.line.Join(context.Background(), queue.JoinRequest{Queue: "support", Kind: queue.Callback, Number: number, Language: "en", Actor: "test"})
		if err != nil {
			r.t.Error(err)
			return
		}
		out = j.Ticket
	})
	r.sim.RunFor(0)
	if out == nil {
		r.t.Fatal("join failed")
	}
	return out
}

// events returns "event:reason" for ticket id, in journal order.
func (r *rig) events(id queue.TicketID) []string {
	var out []string
	for _, tr := range r.j.Transitions() {
		if tr.Ticket == id {
			out = append(out, string(tr.Event)+":"+tr.Reason)
		}
	}
	return out
}

func (r *rig) final(id queue.TicketID) *queue.Ticket {
	st, ok := r.j.Stored(id)
	if !ok {
		r.t.Fatalf("ticket %d not stored", id)
	}
	return st
}

func (r *rig) agentState(id string) queue.AgentState {
	for _, a := range r.line.Agents() {
		if a.ID == id {
			return a.State
		}
	}
	r.t.Fatalf("no agent %s", id)
	return ""
}

func pressOne() pbxtest.Response {
	return pbxtest.Answers(4*time.Second, pbxtest.PressOn{Prompt: ivr.PromptConnectOrLater, Keys: "1", Delay: time.Second})
}

func TestCallbackOutcomes(t *testing.T) {
	cases := []struct {
		name     string
		customer pbxtest.Answerer
		agent    pbxtest.Answerer
		strategy Strategy
		state    queue.State
		reason   string   // substring of the final reason
		attempts int      // originations to the customer
		events   []string // substrings expected among the ticket's journal rows, in order
	}{
		{name: "answers and presses 1", customer: pressOne(), state: queue.Completed, attempts: 1,
			events: []string{"join", "reserve:agent a1", "dial:attempt 1", "connect", "complete"}},
		{name: "busy, then answers on the retry", customer: pbxtest.Attempts{pbxtest.Busy(), pressOne()}, state: queue.Completed, attempts: 2,
			events: []string{"dial:attempt 1", "retry:busy (17 User busy (SIP 486)) on attempt 1; next in 2m0s", "dial:attempt 2", "connect", "complete"}},
		{name: "never answers", customer: pbxtest.NoAnswer(), state: queue.Failed, attempts: 3,
			reason: "no-answer", events: []string{"retry:no-answer", "retry:no-answer", "fail:no-answer"}},
		{name: "answering machine", customer: pbxtest.Machine(5*time.Second, time.Minute), state: queue.Failed, attempts: 3,
			reason: "no key pressed", events: []string{"retry:answered but no key pressed"}},
		{name: "invalid number", customer: pbxtest.Invalid(), state: queue.Failed, attempts: 1,
			reason: "invalid number"},
		{name: "not a good time, then answers", customer: pbxtest.Attempts{
			pbxtest.Answers(4*time.Second, pbxtest.PressOn{Prompt: ivr.PromptConnectOrLater, Keys: "2"}), pressOne()},
			state: queue.Completed, attempts: 2, events: []string{"retry:customer asked to be called later"}},
		{name: "agent does not answer after the customer confirmed", customer: pressOne(),
			// a1 is paused for not answering and a2 is not logged in: the
			// callback waits, place kept, for the next agent.
			agent: pbxtest.NoAnswer(), state: queue.Waiting, attempts: 1, events: []string{"retry:agent a1 did not answer"}},
		{name: "agent-first", strategy: AgentFirst, customer: pbxtest.Answers(3 * time.Second), state: queue.Completed, attempts: 1,
			events: []string{"reserve", "dial:attempt 1", "connect", "complete"}},
		{name: "agent-first, customer busy", strategy: AgentFirst, customer: pbxtest.Attempts{pbxtest.Busy(), pbxtest.Answers(3 * time.Second)},
			state: queue.Completed, attempts: 2, events: []string{"retry:busy", "dial:attempt 2", "connect"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := rigOpts{strategy: c.strategy}
			if c.agent != nil {
				o.agents = map[string]pbxtest.Answerer{"PJSIP/1001": c.agent}
			}
			r := newRig(t, o)
			r.sw.Customer(customer, c.customer)
			tk := r.callback(customer)
			r.sim.RunFor(2 * time.Hour)
			got := r.final(tk.ID)
			if got.State != c.state || !strings.Contains(got.FinalReason, c.reason) {
				t.Fatalf("ticket ended %s %q, want %s containing %q\njournal: %q", got.State, got.FinalReason, c.state, c.reason, r.events(tk.ID))
			}
			var dials []string
			for _, o := range r.sw.Originations() {
				if strings.HasSuffix(o.Endpoint, customer+"@trunk") {
					dials = append(dials, o.ID)
				}
			}
			if len(dials) != c.attempts {
				t.Fatalf("customer dialed %d times (%v), want %d", len(dials), dials, c.attempts)
			}
			for i, id := range dials {
				if want := fmt.Sprintf("vhold-%d-%d", tk.ID, i+1); id != want {
					t.Fatalf("attempt %d id %q, want %q (one id per attempt)", i+1, id, want)
				}
			}
			evs := r.events(tk.ID)
			if missing := inOrder(evs, c.events); missing != nil {
				t.Fatalf("journal %q lacks %q (in order)", evs, missing)
			}
		})
	}
}

// inOrder checks that each want ("event" or "event:text") matches a journal
// row ("event:reason") after the previous match, and returns the wants left
// unmatched.
func inOrder(rows, wants []string) []string {
	k := 0
	for _, row := range rows {
		if k == len(wants) {
			break
		}
		ev, text, _ := strings.Cut(wants[k], ":")
		rev, reason, _ := strings.Cut(row, ":")
		if rev == ev && strings.Contains(reason, text) {
			k++
		}
	}
	if k == len(wants) {
		return nil
	}
	return wants[k:]
}

func TestWhisperBeforeBridgeAndWrapUp(t *testing.T) {
	r := newRig(t, rigOpts{})
	r.sw.Customer(customer, pressOne())
	tk := r.callback(customer)
	r.sim.RunFor(30 * time.Second)
	if st := r.agentState("a1"); st != queue.AgentBusy {
		t.Fatalf("a1 is %s during the call, want busy", st)
	}
	r.sim.RunFor(3 * time.Minute)
	if st := r.agentState("a1"); st != queue.AgentWrapUp {
		t.Fatalf("a1 is %s right after the call, want wrap-up", st)
	}
	var agentLeg *pbxtest.Call
	for _, o := range r.sw.Originations() {
		if o.Endpoint == "PJSIP/1001" {
			agentLeg = o.Call
		}
	}
	if agentLeg == nil {
		t.Fatal("agent never rung")
	}
	tr := agentLeg.Transcript().String()
	wi, bi := strings.Index(tr, ivr.PromptWhisperWaited), strings.Index(tr, "bridged")
	if wi < 0 || bi < 0 || wi > bi {
		t.Fatalf("agent did not hear the whisper before the bridge:\n%s", tr)
	}
	if r.final(tk.ID).State != queue.Completed {
		t.Fatalf("ticket %s", r.final(tk.ID).State)
	}
}

func TestLiveCallerConnectedToAgent(t *testing.T) {
	r := newRig(t, rigOpts{})
	caller := r.sw.Dial(t0.Add(time.Second), pbxtest.Caller{Number: "+34611000002", Queue: "support"})
	r.sim.RunFor(10 * time.Minute)
	var id queue.TicketID
	for _, tr := range r.j.Transitions() {
		if tr.Event == queue.EvJoin {
			id = tr.Ticket
		}
	}
	got := r.final(id)
	if got.State != queue.Completed {
		t.Fatalf("live ticket %s %q; journal %q", got.State, got.FinalReason, r.events(id))
	}
	if caller.Up() {
		t.Fatal("caller still up after the agent hung up")
	}
	if !strings.Contains(caller.Transcript().String(), "bridged") {
		t.Fatalf("caller never bridged:\n%s", caller.Transcript())
	}
}

func TestAgentNotAnsweringIsPausedAndCallerKeepsHead(t *testing.T) {
	r := newRig(t, rigOpts{agents: map[string]pbxtest.Answerer{"PJSIP/1001": pbxtest.NoAnswer()}})
	r.sw.Dial(t0.Add(time.Second), pbxtest.Caller{Number: "+34611000002", Queue: "support"})
	r.sim.RunFor(time.Minute)
	if st := r.agentState("a1"); st != queue.AgentPaused {
		t.Fatalf("a1 is %s after not answering, want paused", st)
	}
	if err := r.line.SetAgentState("a2", queue.AgentAvailable, "login"); err != nil {
		t.Fatal(err)
	}
	r.sim.RunFor(10 * time.Minute)
	var id queue.TicketID = 1
	evs := r.events(id)
	if got := r.final(id); got.State != queue.Completed {
		t.Fatalf("caller's ticket %s; journal %q", got.State, evs)
	}
	if !strings.Contains(strings.Join(evs, "|"), "release:agent a1 did not answer") || !strings.Contains(strings.Join(evs, "|"), "reserve:agent a2") {
		t.Fatalf("journal %q: want a1's no-answer release, then a2", evs)
	}
}

func TestCallerHangsUpWhileAgentRings(t *testing.T) {
	r := newRig(t, rigOpts{agents: map[string]pbxtest.Answerer{"PJSIP/1001": pbxtest.Talks(20*time.Second, pbxtest.Fixed(time.Minute))}})
	r.sw.Dial(t0.Add(time.Second), pbxtest.Caller{Number: "+34611000002", Queue: "support", HangUpAfter: 15 * time.Second})
	r.sim.RunFor(5 * time.Minute)
	if got := r.final(1); got.State != queue.Abandoned {
		t.Fatalf("ticket %s; journal %q", got.State, r.events(1))
	}
	if st := r.agentState("a1"); st != queue.AgentAvailable {
		t.Fatalf("a1 is %s after the caller left, want available", st)
	}
	for _, o := range r.sw.Originations() {
		if o.Call != nil && o.Call.Up() {
			t.Fatalf("agent leg %s left up", o.ID)
		}
	}
}

func TestNothingDialedOutsideHours(t *testing.T) {
	r := newRig(t, rigOpts{hours: closedUntil{t0.Add(time.Hour)}})
	r.sw.Customer(customer, pressOne())
	tk := r.callback(customer)
	r.sim.RunFor(59 * time.Minute)
	if n := len(r.sw.Originations()); n != 0 {
		t.Fatalf("%d calls placed while the queue was closed", n)
	}
	r.sim.RunFor(30 * time.Minute)
	if got := r.final(tk.ID); got.State != queue.Completed {
		t.Fatalf("after opening: %s; journal %q", got.State, r.events(tk.ID))
	}
}

// closedUntil is closed until a time, then open for good.
type closedUntil struct{ at time.Time }

func (c closedUntil) Open(t time.Time) bool { return !t.Before(c.at) }
func (c closedUntil) ClosesAt(time.Time) (time.Time, bool) {
	return time.Time{}, false
}
func (c closedUntil) NextOpen(t time.Time) time.Time {
	if t.Before(c.at) {
		return c.at
	}
	return t
}

// A live ticket whose call no flow holds (after a restart, before the PBX
// adapter took the call back) keeps its place but is not handed to an agent;
// a callback behind it is served meanwhile. If the call is never attached,
// the ticket is abandoned after attachGrace; an attached one is served.
func TestLiveTicketWaitsForItsCall(t *testing.T) {
	r := newRig(t, rigOpts{})
	r.sw.Customer(customer, pressOne())
	join := func(ref string) *queue.Ticket {
		var out *queue.Ticket
		r.sim.Go(func() {
			j, err := r.line.Join(context.Background(), queue.JoinRequest{Queue: "support", Kind: queue.Live, CallRef: ref, Node: "pbx1", Actor: "test"})
			if err != nil {
				r.t.Error(err)
				return
			}
			out = j.Ticket
		})
		r.sim.RunFor(0)
		if out == nil {
			t.Fatal("join failed")
		}
		return out
	}
	ghost := join("gone-during-restart")
	cb := r.callback(customer)
	r.sim.RunFor(10 * time.Minute)
	if got := r.events(ghost.ID); len(got) != 2 || !strings.HasPrefix(got[1], "abandon:no call attached within 30s") {
		t.Fatalf("ghost live ticket: %v", got)
	}
	if st := r.final(cb.ID); st.State != queue.Completed {
		t.Fatalf("callback behind the ghost: %s (%v)", st.State, r.events(cb.ID))
	}
	at, ok := r.transition(ghost.ID, queue.EvAbandon)
	if !ok || at.At.Sub(ghost.JoinedAt) != attachGrace {
		t.Fatalf("ghost abandoned at %v, joined %v", at.At, ghost.JoinedAt)
	}
}

func (r *rig) transition(id queue.TicketID, ev queue.Event) (queue.Transition, bool) {
	for _, tr := range r.j.Transitions() {
		if tr.Ticket == id && tr.Event == ev {
			return tr, true
		}
	}
	return queue.Transition{}, false
}
