package asterisk_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/clock"
	"github.com/vhold/vhold/dialer"
	"github.com/vhold/vhold/ivr"
	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/pbx/asterisk"
	"github.com/vhold/vhold/pbx/asterisk/ari"
	"github.com/vhold/vhold/pbx/asterisk/aritest"
	"github.com/vhold/vhold/queue"
)

// The whole journey on the Asterisk adapter: a caller on hold presses 1,
// confirms their number and hangs up; the agent frees up; the customer is
// called back, presses 1 and is bridged to the agent. The journal shows the
// path; the fake Asterisk shows the bridge.
func TestCallbackJourneyOnAsterisk(t *testing.T) {
	srv := aritest.New(aritest.Options{Speed: 20, SoundExists: func(string, string) bool { return true }})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	const number = "+34611000001"
	agentEP := srv.Endpoint("PJSIP/1001", aritest.Behaviour{Outcome: aritest.Answer, Ring: time.Second,
		// The agent hears the whisper, talks a while (40 s at the fake's
		// speed of 20: 2 s), and hangs up.
		Script: aritest.Script{{AfterMedia: "*whisper-waited", Delay: 40 * time.Second, HangUp: true}}})
	custEP := srv.Endpoint("PJSIP/"+number+"@trunk", aritest.Behaviour{Outcome: aritest.Answer, Ring: time.Second,
		Script: aritest.Script{{AfterMedia: "*confirm-connect-or-later", During: true, Delay: 100 * time.Millisecond, Press: "1"}}})

	clk := clock.Real{}
	j := queue.NewMemJournal()
	line, err := queue.NewLine(queue.Config{
		Queues: []queue.QueueConfig{{
			Name:     "support",
			Estimate: queue.EstimatorOptions{PriorHandle: 5 * time.Minute},
			Offer:    queue.OfferPolicy{Enabled: true, MinWait: time.Minute, MaxOutstanding: 10, Horizon: 2 * time.Hour},
			Callback: queue.CallbackPolicy{MaxAttempts: 2, RetryDelays: []time.Duration{time.Minute}},
		}},
		Agents: []queue.AgentConfig{{ID: "alice", Endpoint: "PJSIP/1001", Queues: []string{"support"}, WrapUp: time.Hour}},
	}, clk, j, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Alice is staffed but busy on another call (in wrap-up for long), so
	// the caller waits and is offered a callback.
	for _, st := range []queue.AgentState{queue.AgentReserved, queue.AgentBusy, queue.AgentWrapUp} {
		if err := line.SetAgentState("alice", st, "another call"); err != nil {
			t.Fatal(err)
		}
	}
	cl := ari.New(ari.Config{BaseURL: srv.URL(), Username: "vhold", Password: "vhold", App: "vhold"})
	sw := asterisk.New(asterisk.Options{Name: "ast1", Client: cl, Sounds: "/var/lib/asterisk/sounds/vhold"})
	var conn dialer.Late
	flows := ivr.New(ivr.Config{Queues: map[string]ivr.QueueOptions{"support": {Language: "en", Country: "ES", ConfirmTimeout: 5 * time.Second}}}, line, clk, &conn, nil)
	lg := logrus.New()
	lg.SetLevel(logrus.WarnLevel)
	d := dialer.New(line, []pbx.Switch{sw}, flows, clk, map[string]dialer.QueueOptions{
		"support": {DialString: "PJSIP/{number}@trunk", CallerID: pbx.Party{Number: "+34910000000"}},
	}, logrus.NewEntry(lg))
	conn.D = d
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- sw.Serve(ctx, flows.Handle) }()
	defer func() {
		cancel()
		<-served
		d.Stop()
	}()
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	if err := srv.WaitConnected(wctx); err != nil {
		t.Fatal(err)
	}
	d.Start(ctx)

	caller := srv.Call(aritest.CallSpec{
		Caller: aritest.Party{Number: number}, Args: []string{"support"},
		Script: aritest.Script{
			{AfterMedia: "*offer-callback", During: true, Delay: 100 * time.Millisecond, Press: "1"},
			{AfterMedia: "*number-confirm-or-other", During: true, Delay: 100 * time.Millisecond, Press: "1"},
		},
	})
	if err := caller.WaitHungUp(wctx); err != nil {
		t.Fatalf("the caller was never let go: %v; heard %+v", err, caller.Heard())
	}
	var id queue.TicketID
	for _, tr := range j.Transitions() {
		if tr.Event == queue.EvConvert {
			id = tr.Ticket
		}
	}
	if id == 0 {
		t.Fatalf("no callback was taken; journal %+v; caller heard %+v", j.Transitions(), caller.Heard())
	}
	// Alice frees up: the callback is dialed at once.
	if err := line.SetAgentState("alice", queue.AgentAvailable, "done"); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitFor(wctx, func() bool { st, _ := j.Stored(id); return st.State == queue.Completed }); err != nil {
		st, _ := j.Stored(id)
		t.Fatalf("callback ended %s %q; journal %+v", st.State, st.FinalReason, j.Transitions())
	}
	var events []string
	for _, tr := range j.Transitions() {
		if tr.Ticket == id {
			events = append(events, string(tr.Event))
		}
	}
	if got, want := strings.Join(events, " "), "join convert reserve dial connect complete"; got != want {
		t.Fatalf("journal of the callback: %s, want %s", got, want)
	}
	if len(custEP.Calls()) != 1 || len(agentEP.Calls()) != 1 {
		t.Fatalf("customer dialed %d times, agent %d times", len(custEP.Calls()), len(agentEP.Calls()))
	}
	agentLeg := agentEP.Calls()[0]
	if log := strings.Join(custEP.Calls()[0].Log(), "\n"); !strings.Contains(log, "entered bridge") {
		t.Fatalf("the customer was never bridged; log:\n%s", strings.Join(custEP.Calls()[0].Log(), "\n"))
	}
	if len(agentLeg.Heard()) == 0 || !strings.Contains(agentLeg.Heard()[0].Media, "category-general") {
		t.Fatalf("the agent heard no whisper before the bridge: %+v", agentLeg.Heard())
	}
}
