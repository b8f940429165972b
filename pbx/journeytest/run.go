package journeytest

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/clock"
	"github.com/vhold/vhold/dialer"
	"github.com/vhold/vhold/ivr"
	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/queue"
)

// Run runs every scenario of Scenarios, each as a subtest with a fresh Rig
// from newRig.
func Run(t *testing.T, newRig func(t *testing.T) Rig) {
	t.Helper()
	for _, s := range Scenarios {
		t.Run(s.Name, func(t *testing.T) { RunScenario(t, newRig(t), s) })
	}
}

// Timings of the harness, on the wall clock.
const (
	// announceEvery is the time between a holding caller's announcements.
	announceEvery = 2 * time.Second
	// confirmTimeout is how long a called-back customer has to press 1.
	confirmTimeout = 3 * time.Second
	// ringTimeout is how long a customer's or an agent's phone may ring.
	// FreeSWITCH counts originate_timeout in whole seconds of its clock
	// (esltest, from 04-originate-fail: 5 s fired after 4.6 s), so a
	// timeout of N s ends after N-1 to N s there, exactly N s on Asterisk:
	// 5 s leaves a one-second ring (DefaultRing at the fakes' speed) well
	// inside it on both.
	ringTimeout = 5 * time.Second
	// scenarioTimeout bounds all the waits of one scenario together.
	scenarioTimeout = 30 * time.Second
	// settled is how long nothing may change before a scenario counts as
	// over: no live ticket and no call up.
	settled = 300 * time.Millisecond
)

const agentID = "alice"

// RunScenario runs one scenario on rig: builds the line, the IVR and the
// dialer as `vhold serve` does, serves the rig's Switch, places the
// callers, frees alice once they have left (unless she was free from the
// start), waits until no ticket is live and no call is up, and checks the
// journal, what every party heard, how often each phone was dialed and who
// was bridged with alice. Any line vhold logged at level error fails it.
func RunScenario(t *testing.T, rig Rig, s Scenario) {
	t.Helper()
	logs := &logHook{}
	lg := logrus.New()
	lg.SetLevel(logrus.InfoLevel)
	if !testing.Verbose() {
		lg.SetOutput(discard{})
	}
	lg.AddHook(logs)
	log := logrus.NewEntry(lg)

	clk := clock.Real{}
	j := queue.NewMemJournal()
	agentEP := rig.AgentEndpoint(agentID)
	line, err := queue.NewLine(queue.Config{
		Queues: []queue.QueueConfig{{
			Name:     "support",
			Estimate: queue.EstimatorOptions{PriorHandle: 5 * time.Minute},
			Offer:    queue.OfferPolicy{Enabled: true, MinWait: time.Minute, MaxOutstanding: 10, Horizon: 2 * time.Hour},
			Callback: queue.CallbackPolicy{MaxAttempts: 3, RetryDelays: []time.Duration{RetryDelay}},
		}},
		// An hour of wrap-up: after her call alice takes no other, so
		// every scenario ends with its one conversation.
		Agents: []queue.AgentConfig{{ID: agentID, Endpoint: agentEP, Queues: []string{"support"}, WrapUp: time.Hour}},
	}, clk, j, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !s.AgentFree {
		// On another call, in wrap-up for long, so callers hold.
		for _, st := range []queue.AgentState{queue.AgentReserved, queue.AgentBusy, queue.AgentWrapUp} {
			if err := line.SetAgentState(agentID, st, "another call"); err != nil {
				t.Fatal(err)
			}
		}
	}

	agent := rig.Agent(agentEP, s.Agent)
	customers := make([]Phone, len(s.Customers))
	for i, c := range s.Customers {
		customers[i] = rig.Customer(c.Number, c.Behaviour)
	}

	sw := rig.Switch(log)
	var conn dialer.Late
	flows := ivr.New(ivr.Config{Queues: map[string]ivr.QueueOptions{"support": {
		Language: "en", Country: "ES", AnnounceEvery: announceEvery, ConfirmTimeout: confirmTimeout, RecordName: s.RecordName,
	}}}, line, clk, &conn, log)
	d := dialer.New(line, []pbx.Switch{sw}, flows, clk, map[string]dialer.QueueOptions{
		"support": {DialString: rig.DialString(), CallerID: pbx.Party{Number: "+34910000000"},
			RingTimeout: ringTimeout, AgentRingTimeout: ringTimeout},
	}, log)
	conn.D = d
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- sw.Serve(ctx, flows.Handle) }()
	stopNames := flows.ForgetNames(ctx, map[string]pbx.Switch{sw.Name(): sw})
	var stopped bool
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("Serve did not return after its context ended")
		}
		d.Stop()
		stopNames()
	}
	t.Cleanup(stop)
	wctx, wcancel := context.WithTimeout(context.Background(), scenarioTimeout)
	defer wcancel()
	if err := rig.WaitConnected(wctx); err != nil {
		t.Fatalf("the switch never connected: %v", err)
	}
	d.Start(ctx)

	// dump tells what every party went through, for a failure message.
	var callers []Party
	dump := func() string {
		var sb strings.Builder
		show := func(who string, p Party) {
			fmt.Fprintf(&sb, "--- %s: heard %s\n", who, strings.Join(p.Heard(), " "))
			for _, l := range p.Log() {
				fmt.Fprintf(&sb, "    %s\n", l)
			}
		}
		for i, p := range callers {
			show("caller "+s.Callers[i].Number, p)
		}
		for i, p := range agent.Calls() {
			show(fmt.Sprintf("alice, call %d", i+1), p)
		}
		for i, ph := range customers {
			for k, p := range ph.Calls() {
				show(fmt.Sprintf("customer %s, call %d", s.Customers[i].Number, k+1), p)
			}
		}
		fmt.Fprintf(&sb, "--- journal\n")
		for _, tr := range j.Transitions() {
			fmt.Fprintf(&sb, "    ticket %d %s %s (%s)\n", tr.Ticket, tr.Event, tr.To, tr.Reason)
		}
		return sb.String()
	}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s: %s\n%s", rigName(sw), fmt.Sprintf(format, args...), dump())
	}

	for _, c := range s.Callers {
		p := rig.Caller(c.Number, c.Queue, c.Actions)
		callers = append(callers, p)
		// The next caller calls once this one has joined the line (or
		// left), so callers join in the table's order.
		if err := waitFor(wctx, func() bool { return p.HungUp() || ticketOf(j, c.Number) != nil }); err != nil {
			fail("caller %s never joined the line nor left", c.Number)
		}
	}
	// Every caller has left, and vhold has seen them go: no live ticket is
	// left (a callback's is not live). Freeing alice before vhold has seen
	// a hang-up would race it: she would be rung for a caller who is gone.
	if err := waitFor(wctx, func() bool { return allHungUp(callers) && !anyLive(j) }); err != nil {
		fail("the callers were never let go")
	}
	if !s.AgentFree {
		if err := line.SetAgentState(agentID, queue.AgentAvailable, "back from the other call"); err != nil {
			t.Fatal(err)
		}
	}
	parties := func() []Party {
		ps := append(append([]Party{}, callers...), agent.Calls()...)
		for _, ph := range customers {
			ps = append(ps, ph.Calls()...)
		}
		return ps
	}
	var quietSince time.Time
	if err := waitFor(wctx, func() bool {
		if len(j.Active()) > 0 || !allHungUp(parties()) {
			quietSince = time.Time{}
			return false
		}
		if quietSince.IsZero() {
			quietSince = time.Now()
		}
		return time.Since(quietSince) >= settled
	}); err != nil {
		fail("the line never settled: live tickets %d", len(j.Active()))
	}
	stop()

	// vhold's side: the journal.
	rows := j.Transitions()
	got := map[string]string{}
	var ids []queue.TicketID
	seen := map[queue.TicketID]bool{}
	for _, tr := range rows {
		if !seen[tr.Ticket] {
			seen[tr.Ticket] = true
			ids = append(ids, tr.Ticket)
		}
	}
	for _, id := range ids {
		st, _ := j.Stored(id)
		got[st.Number] = eventsOf(rows, id)
	}
	if !sameMap(got, s.Tickets) {
		fail("tickets by number: %v, want %v", got, s.Tickets)
	}
	if bad := logs.errors(); len(bad) > 0 {
		fail("vhold logged errors:\n%s", strings.Join(bad, "\n"))
	}
	if w := logs.warnings(); len(w) > 0 {
		t.Logf("%s: vhold warned:\n%s", rigName(sw), strings.Join(w, "\n"))
	}

	// The PBX's side: what each party heard, and who was dialed.
	for i, c := range s.Callers {
		p := callers[i]
		if !p.Answered() {
			fail("caller %s was never answered", c.Number)
		}
		if err := inOrder(p.Heard(), c.Heard); err != nil {
			fail("caller %s: %v", c.Number, err)
		}
		for _, no := range c.NotHeard {
			if contains(p.Heard(), no) {
				fail("caller %s heard %s", c.Number, no)
			}
		}
	}
	if n := len(agent.Calls()); n != s.AgentCalls {
		fail("alice was rung %d times, want %d", n, s.AgentCalls)
	}
	var agentBridges []string
	for _, p := range agent.Calls() {
		agentBridges = append(agentBridges, p.Bridges()...)
	}
	if s.AgentCalls > 0 && len(s.AgentHeard) > 0 {
		last := agent.Calls()[s.AgentCalls-1]
		if err := inOrder(last.Heard(), s.AgentHeard); err != nil {
			fail("alice: %v", err)
		}
	}
	last := map[string]Party{}
	for i, c := range s.Customers {
		calls := customers[i].Calls()
		if len(calls) != c.Calls {
			fail("customer %s was dialed %d times, want %d", c.Number, len(calls), c.Calls)
		}
		if len(calls) == 0 {
			continue
		}
		p := calls[len(calls)-1]
		last[c.Number] = p
		if err := inOrder(p.Heard(), c.Heard); err != nil {
			fail("customer %s: %v", c.Number, err)
		}
	}
	for i, c := range s.Callers {
		if _, ok := last[c.Number]; !ok {
			last[c.Number] = callers[i]
		}
	}
	for _, n := range s.Bridged {
		p, ok := last[n]
		if !ok {
			fail("no call of %s to look for a bridge in", n)
		}
		if !shareOne(p.Bridges(), agentBridges) {
			fail("%s was never bridged with alice (bridges %v, alice's %v)", n, p.Bridges(), agentBridges)
		}
	}
	if len(s.Bridged) == 0 && len(agentBridges) > 0 {
		fail("alice was bridged (%v) in a scenario with no conversation", agentBridges)
	}
}

// rigName names the switch in messages.
func rigName(sw pbx.Switch) string { return sw.Name() }

// waitFor polls cond every 10 ms until it holds or ctx ends.
func waitFor(ctx context.Context, cond func() bool) error {
	tk := time.NewTicker(10 * time.Millisecond)
	defer tk.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tk.C:
		}
	}
	return nil
}

func allHungUp(ps []Party) bool {
	for _, p := range ps {
		if !p.HungUp() {
			return false
		}
	}
	return true
}

// anyLive says whether a caller holding on the line still has a ticket.
func anyLive(j *queue.MemJournal) bool {
	for _, t := range j.Active() {
		if t.Kind == queue.Live {
			return true
		}
	}
	return false
}

func ticketOf(j *queue.MemJournal, number string) *queue.Ticket {
	for _, tr := range j.Transitions() {
		if st, ok := j.Stored(tr.Ticket); ok && st.Number == number {
			return st
		}
	}
	return nil
}

// eventsOf is one ticket's journal as "join convert reserve …".
func eventsOf(rows []queue.Transition, id queue.TicketID) string {
	var evs []string
	for _, r := range rows {
		if r.Ticket == id {
			evs = append(evs, string(r.Event))
		}
	}
	return strings.Join(evs, " ")
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// match reports whether key matches pattern, where * stands for any run of
// characters.
func match(pattern, key string) bool {
	ok, err := path.Match(pattern, key)
	return err == nil && ok
}

func contains(heard []string, pattern string) bool {
	for _, h := range heard {
		if match(pattern, h) {
			return true
		}
	}
	return false
}

// inOrder checks that want is a subsequence of heard (each a pattern).
func inOrder(heard, want []string) error {
	i := 0
	for _, h := range heard {
		if i < len(want) && match(want[i], h) {
			i++
		}
	}
	if i < len(want) {
		return fmt.Errorf("heard %s; want, in this order, %s (missing from %s on)",
			strings.Join(heard, " "), strings.Join(want, " "), want[i])
	}
	return nil
}

func shareOne(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// logHook keeps what vhold logged at level warning and worse.
type logHook struct {
	mu   sync.Mutex
	errs []string
	warn []string
}

func (h *logHook) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel, logrus.WarnLevel}
}

func (h *logHook) Fire(e *logrus.Entry) error {
	var fields []string
	for k, v := range e.Data {
		fields = append(fields, fmt.Sprintf("%s=%v", k, v))
	}
	sort.Strings(fields)
	line := fmt.Sprintf("%s: %s %s", e.Level, e.Message, strings.Join(fields, " "))
	h.mu.Lock()
	defer h.mu.Unlock()
	if e.Level <= logrus.ErrorLevel {
		h.errs = append(h.errs, line)
	} else {
		h.warn = append(h.warn, line)
	}
	return nil
}

func (h *logHook) errors() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.errs...)
}

func (h *logHook) warnings() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.warn...)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
