package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vhold/vhold/ivr"
	"github.com/vhold/vhold/pbx/pbxtest"
	"github.com/vhold/vhold/queue"
	"github.com/vhold/vhold/store"
)

// person is one scripted caller of the end-to-end test and, when called
// back, the same person as a customer.
type person struct {
	at       time.Time
	caller   pbxtest.Caller
	customer pbxtest.Answerer
}

const (
	premiumCaller = 110 // keys a premium-rate number first, then a valid one
	machineCaller = 150 // an answering machine takes every callback
	repeatCaller  = 130 // calls again while the callback is pending
)

func answersAndPresses1() pbxtest.Response {
	return pbxtest.Answers(5*time.Second, pbxtest.PressOn{Prompt: ivr.PromptConnectOrLater, Keys: "1", Delay: time.Second})
}

// people makes the afternoon: 200 callers over an hour, 40% press 1 when
// offered, a few who never answer the first callback, one answering
// machine, one premium-rate number, one repeat caller.
func people(start time.Time) []person {
	rng := rand.New(rand.NewPCG(42, 1))
	var out []person
	at := start
	for i := range 200 {
		at = at.Add(time.Duration(rng.ExpFloat64() * float64(18*time.Second)))
		number := fmt.Sprintf("+3461100%04d", i)
		p := person{at: at, caller: pbxtest.Caller{Number: number, Queue: "support", HangUpAfter: time.Duration(rng.ExpFloat64() * float64(20*time.Minute))}}
		p.customer = answersAndPresses1()
		if i%10 == 3 {
			p.customer = pbxtest.Attempts{pbxtest.NoAnswer(), answersAndPresses1()}
		}
		if rng.Float64() < 0.4 || i == premiumCaller || i == machineCaller || i == repeatCaller {
			p.caller.HangUpAfter = 0
			p.caller.Script = []pbxtest.Action{
				pbxtest.PressOn{Prompt: ivr.PromptOfferCallback, Keys: "1", Delay: time.Second},
				pbxtest.PressOn{Prompt: ivr.PromptConfirmOrOther, Keys: "1", Delay: time.Second},
			}
		}
		switch i {
		case premiumCaller:
			p.caller.Script = []pbxtest.Action{
				pbxtest.PressOn{Prompt: ivr.PromptOfferCallback, Keys: "1", Delay: time.Second},
				pbxtest.PressOn{Prompt: ivr.PromptConfirmOrOther, Keys: "2", Delay: time.Second},
				pbxtest.PressOn{Prompt: ivr.PromptEnterNumber, Keys: "00449098790879#"},
				pbxtest.PressOn{Prompt: ivr.PromptEnterNumber, Keys: "612345699#"},
				pbxtest.PressOn{Prompt: ivr.PromptCorrectOrRetry, Keys: "1"},
			}
		case machineCaller:
			p.customer = pbxtest.Machine(10*time.Second, 90*time.Second)
		}
		out = append(out, p)
	}
	return out
}

// TestEndToEndWithRestart is the caller's journey at scale: 5 agents, 200
// callers over an hour on the in-memory switch, the real line, IVR and
// dialer on a SQLite file, and a crash of the service half-way (a new
// process opens the same file and carries on). Every assertion reads the
// journal.
func TestEndToEndWithRestart(t *testing.T) {
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	crash := start.Add(30 * time.Minute)
	path := filepath.Join(t.TempDir(), "vhold.db")
	ctx := context.Background()
	ps := people(start)
	base := Options{Agents: 5, Handle: 100 * time.Second, Seed: 42, Start: start, Drain: 6 * time.Hour}
	base.Queue.Offer = queue.OfferPolicy{Enabled: true, MinWait: time.Minute, MaxOutstanding: 50, Horizon: 2 * time.Hour}

	// Before the crash.
	st1, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o1 := base
	o1.Journal, o1.Duration = st1, 30*time.Minute
	w1, err := New(o1, nil)
	if err != nil {
		t.Fatal(err)
	}
	w1.Switch.Customer("+34612345699", answersAndPresses1()) // the number the premium caller keys instead
	for _, p := range ps {
		w1.Switch.Customer(p.caller.Number, p.customer)
		if p.at.Before(crash) {
			w1.Switch.Dial(p.at, p.caller)
		}
	}
	// The repeat caller calls again 3 minutes after the first call, while
	// the callback is pending, and keeps it.
	repeat := ps[repeatCaller]
	repeat.at = repeat.at.Add(3 * time.Minute)
	repeat.caller.Script = []pbxtest.Action{pbxtest.PressOn{Prompt: ivr.PromptKeepOrCancel, Keys: "1", Delay: time.Second}}
	if !repeat.at.After(crash) {
		t.Fatal("the repeat caller must call after the restart, so the restarted line recognises them")
	}
	ctx1, cancel1 := context.WithCancel(ctx)
	defer cancel1()
	w1.Start(ctx1)
	w1.Sim.Run(crash)
	// The crash: the first process's goroutines never run again; it wrote
	// nothing after its last acknowledged commit.
	if err := st1.Close(); err != nil {
		t.Fatal(err)
	}

	// After the restart: same file, a new line rebuilt from it.
	st2, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	active, err := st2.Active(ctx)
	if err != nil {
		t.Fatal(err)
	}
	o2 := base
	o2.Journal, o2.Start, o2.Duration = st2, crash, 30*time.Minute
	w2, err := New(o2, active)
	if err != nil {
		t.Fatal(err)
	}
	if err := w2.Line.Recover(ctx, nil); err != nil {
		t.Fatal(err)
	}
	w2.Switch.Customer("+34612345699", answersAndPresses1())
	for _, p := range ps {
		w2.Switch.Customer(p.caller.Number, p.customer)
		if !p.at.Before(crash) {
			w2.Switch.Dial(p.at, p.caller)
		}
	}
	w2.Switch.Dial(repeat.at, repeat.caller)
	w2.Start(ctx)
	w2.RunUntilSettled()
	w2.Stop()

	trs, err := st2.Journal(ctx, store.JournalFilter{})
	if err != nil {
		t.Fatal(err)
	}
	tickets, err := st2.Tickets(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	r := Summarize(trs, nil, 5, w2.Sim.Now().Sub(start))
	t.Logf("callers %d, callbacks %d accepted, %d completed, %d failed %v, live served %d, abandoned %d",
		r.Callers, r.Accepted, r.Completed, r.Failed, r.FailReasons, r.LiveServed, r.LiveAbandoned)
	if r.Callers < 190 || r.Accepted < 20 {
		t.Fatalf("the afternoon was too quiet to test anything: %+v", r)
	}

	byID := map[queue.TicketID]*queue.Ticket{}
	for _, tk := range tickets {
		byID[tk.ID] = tk
	}
	rows := map[queue.TicketID][]queue.Transition{}
	for _, tr := range trs {
		rows[tr.Ticket] = append(rows[tr.Ticket], tr)
	}

	// 1. Every callback ended, completed or failed with a reason (or was
	// cancelled by its customer); none is left pending.
	for _, tk := range tickets {
		if tk.Kind == queue.Live {
			continue
		}
		switch tk.State {
		case queue.Completed:
		case queue.Failed, queue.Cancelled:
			if tk.FinalReason == "" {
				t.Errorf("callback %d ended %s without a reason", tk.ID, tk.State)
			}
		default:
			t.Errorf("callback %d still %s after the line was worked off", tk.ID, tk.State)
		}
	}

	// 2. No attempt was dialed twice: every origination id is unique across
	// both processes, and the attempt that the crash cut is never redialed.
	seen := map[string]bool{}
	for _, sw := range []*pbxtest.Switch{w1.Switch, w2.Switch} {
		for _, o := range sw.Originations() {
			if seen[o.ID] {
				t.Errorf("call %s dialed twice", o.ID)
			}
			seen[o.ID] = true
		}
	}

	// 3. No callback was put through before a caller who was holding ahead
	// of it when it converted: such a caller, if served on the line, was
	// reserved for an agent first.
	firstReserve := map[queue.TicketID]int64{}
	for _, tr := range trs {
		if tr.Event == queue.EvReserve && firstReserve[tr.Ticket] == 0 {
			firstReserve[tr.Ticket] = tr.JournalID
		}
	}
	liveServed := func(id queue.TicketID) bool {
		for _, tr := range rows[id] {
			if tr.Event == queue.EvConvert || tr.Event == queue.EvSchedule {
				return false
			}
		}
		return firstReserve[id] != 0
	}
	checked := 0
	for _, c := range tickets {
		if c.Kind == queue.Live || firstReserve[c.ID] == 0 {
			continue
		}
		var convertedAt int64
		for _, tr := range rows[c.ID] {
			if tr.Event == queue.EvConvert {
				convertedAt = tr.JournalID
			}
		}
		if convertedAt == 0 {
			continue
		}
		for _, x := range tickets {
			if x.Kind != queue.Live || !liveServed(x.ID) || x.Seq >= c.Seq {
				continue
			}
			if firstReserve[x.ID] > convertedAt || waitingAt(rows[x.ID], convertedAt) {
				checked++
				if firstReserve[x.ID] > firstReserve[c.ID] {
					t.Errorf("callback %d (seq %d) was put through before caller %d (seq %d), who was ahead of it when it converted",
						c.ID, c.Seq, x.ID, x.Seq)
				}
			}
		}
	}
	t.Logf("ordering: %d (callback, caller ahead) pairs checked", checked)
	if checked == 0 {
		t.Error("no callback had a live caller ahead of it: the ordering check checked nothing")
	}

	// 4. The crash: live calls of the first process were closed as
	// abandoned by the restart, and callbacks resumed.
	restarts := 0
	for _, tr := range trs {
		if tr.Actor == "restart" {
			restarts++
		}
	}
	t.Logf("restart: %d transitions by the restart", restarts)
	if restarts == 0 {
		t.Error("nothing was in flight at the crash: the restart tested nothing")
	}

	// 5. The special callers.
	var premium, machine *queue.Ticket
	callbacksOf := map[string]int{}
	for _, tk := range tickets {
		if tk.Kind == queue.Live {
			continue
		}
		callbacksOf[tk.Number]++
		switch tk.Number {
		case "+34612345699":
			premium = tk
		case ps[machineCaller].caller.Number:
			machine = tk
		}
	}
	if premium == nil || premium.State != queue.Completed {
		t.Errorf("the caller who first keyed a premium-rate number: %+v", premium)
	}
	if machine == nil || machine.State != queue.Failed || !strings.Contains(machine.FinalReason, "no key pressed") {
		t.Errorf("the answering machine's callback: %+v", machine)
	}
	if n := callbacksOf[ps[repeatCaller].caller.Number]; n != 1 {
		t.Errorf("the repeat caller has %d callbacks, want 1", n)
	}
	heardPremium, heardExisting := false, false
	for _, sw := range []*pbxtest.Switch{w1.Switch, w2.Switch} {
		for _, c := range sw.Calls() {
			tr := c.Transcript().String()
			heardPremium = heardPremium || strings.Contains(tr, ivr.PromptNumberPremium)
			heardExisting = heardExisting || strings.Contains(tr, ivr.PromptExistingCallback)
		}
	}
	if !heardPremium {
		t.Error("nobody was told a premium-rate number is refused")
	}
	if !heardExisting {
		t.Error("the repeat caller was not recognised")
	}
	retried := 0
	for _, tr := range trs {
		if tr.Event == queue.EvRetry && strings.Contains(tr.Reason, "no-answer") {
			retried++
		}
	}
	if retried == 0 {
		t.Error("no callback was unanswered and retried")
	}
}

// waitingAt reports whether a ticket was waiting in line at journal position
// at: joined before it and not yet reserved or ended.
func waitingAt(rows []queue.Transition, at int64) bool {
	state := queue.State("")
	for _, tr := range rows {
		if tr.JournalID > at {
			break
		}
		state = tr.To
	}
	return state == queue.Waiting
}
