package freeswitch_test

import (
	"context"
	"fmt"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/clock"
	"github.com/vhold/vhold/dialer"
	"github.com/vhold/vhold/ivr"
	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/pbx/freeswitch"
	"github.com/vhold/vhold/pbx/freeswitch/esltest"
	"github.com/vhold/vhold/queue"
)

// The whole journey on the FreeSWITCH adapter, as on Asterisk
// (pbx/asterisk/flow_test.go): a caller parked with vhold_queue=support
// (01-inbound-dtmf) holds with music (02-hold), presses 1 on the offer,
// confirms their number and hangs up; the agent frees up; the customer is
// called back through the trunk (03-originate-answer: bgapi originate with
// vhold's origination_uuid), presses 1, the agent's phone is rung and hears
// the whisper, and the two are bridged (uuid_bridge). The agent hangs up:
// the customer, parked by park_after_bridge, is hung up by vhold. The
// journal shows the path; the fake FreeSWITCH shows the bridge.
func TestCallbackJourneyOnFreeSWITCH(t *testing.T) {
	srv := esltest.New(esltest.Options{Speed: 20, Password: password})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	const number = "+34611000001"
	agentEP := srv.Endpoint("sofia/lab/1001@127.0.0.1:5091", esltest.Behaviour{Outcome: esltest.Answer, Ring: time.Second,
		// The agent hears the whisper, talks a while (40 s at the fake's
		// speed of 20: 2 s), and hangs up.
		Script: esltest.Script{{AfterMedia: "*whisper-waited.wav", Delay: 40 * time.Second, HangUp: true}}})
	custEP := srv.Endpoint("sofia/gateway/trunk/"+number, esltest.Behaviour{Outcome: esltest.Answer, Ring: time.Second,
		Script: esltest.Script{{AfterMedia: "*confirm-connect-or-later.wav", During: true, Delay: 100 * time.Millisecond, Press: "1"}}})

	clk := clock.Real{}
	j := queue.NewMemJournal()
	line, err := queue.NewLine(queue.Config{
		Queues: []queue.QueueConfig{{
			Name:     "support",
			Estimate: queue.EstimatorOptions{PriorHandle: 5 * time.Minute},
			Offer:    queue.OfferPolicy{Enabled: true, MinWait: time.Minute, MaxOutstanding: 10, Horizon: 2 * time.Hour},
			Callback: queue.CallbackPolicy{MaxAttempts: 2, RetryDelays: []time.Duration{time.Minute}},
		}},
		Agents: []queue.AgentConfig{{ID: "alice", Endpoint: "sofia/lab/1001@127.0.0.1:5091", Queues: []string{"support"}, WrapUp: time.Hour}},
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
	sw := freeswitch.New(freeswitch.Options{Name: "fs1", Address: srv.Addr(), Password: password, Log: quiet(t)})
	var conn dialer.Late
	flows := ivr.New(ivr.Config{Queues: map[string]ivr.QueueOptions{"support": {Language: "en", Country: "ES", ConfirmTimeout: 5 * time.Second}}}, line, clk, &conn, nil)
	lg := logrus.New()
	lg.SetLevel(logrus.WarnLevel)
	d := dialer.New(line, []pbx.Switch{sw}, flows, clk, map[string]dialer.QueueOptions{
		"support": {DialString: "sofia/gateway/trunk/{number}", CallerID: pbx.Party{Number: "+34910000000"}},
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
	if err := srv.WaitFor(wctx, func() bool { return srv.Connections() > 0 }); err != nil {
		t.Fatal(err)
	}
	d.Start(ctx)

	caller := srv.Call(esltest.CallSpec{
		CallerNumber: number, Queue: "support",
		Script: esltest.Script{
			{AfterMedia: "*offer-callback.wav", During: true, Delay: 100 * time.Millisecond, Press: "1"},
			{AfterMedia: "*number-confirm-or-other.wav", During: true, Delay: 100 * time.Millisecond, Press: "1"},
		},
	})
	if err := caller.WaitHungUp(wctx); err != nil {
		t.Fatalf("the caller was never let go: %v; heard %s", err, heard(caller))
	}
	var id queue.TicketID
	for _, tr := range j.Transitions() {
		if tr.Event == queue.EvConvert {
			id = tr.Ticket
		}
	}
	if id == 0 {
		t.Fatalf("no callback was taken; journal %+v; caller heard %s", j.Transitions(), heard(caller))
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
	cust, agentLeg := custEP.Calls()[0], agentEP.Calls()[0]
	if cust.UUID() != fmt.Sprintf("vhold-%d-1", id) {
		t.Fatalf("customer leg %q: not vhold's origination_uuid", cust.UUID())
	}
	if log := strings.Join(cust.Log(), "\n"); !strings.Contains(log, "bridged with "+agentLeg.UUID()) {
		t.Fatalf("the customer was never bridged; log:\n%s", log)
	}
	if len(agentLeg.Heard()) == 0 || path.Base(agentLeg.Heard()[0].Path) != "category-general.wav" {
		t.Fatalf("the agent heard no whisper before the bridge: %s", heard(agentLeg))
	}
	if err := cust.WaitHungUp(wctx); err != nil {
		t.Fatalf("the customer was left on the line after the agent hung up: %v", cust)
	}
}
