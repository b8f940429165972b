// Package dialer decides who gets the next free agent and makes the calls
// that connect them: it rings agents for callers holding on the line, and
// dials callbacks by the queue's strategy, journaling every attempt with its
// outcome and the PBX's cause.
//
// It owns the agents' states while their phones ring or they talk: the line
// frees a merely reserved agent, the dialer everyone else, because only it
// knows whether a real call is still up.
package dialer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/clock"
	"github.com/vhold/vhold/ivr"
	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/queue"
)

// Strategy is who is called first on a callback.
type Strategy string

const (
	// CustomerFirst calls the customer, who presses 1 to be connected; the
	// agent stays reserved meanwhile and is rung only for a customer who is there.
	CustomerFirst Strategy = "customer-first"
	// AgentFirst rings the agent, who hears the context, then calls the
	// customer while the agent listens.
	AgentFirst Strategy = "agent-first"
)

// QueueOptions is how one queue's calls are made.
type QueueOptions struct {
	Strategy Strategy
	// CallerID is what the customer sees when called back.
	CallerID pbx.Party
	// DialString turns a customer's number into an endpoint; "{number}" is
	// replaced by the E.164 number ("PJSIP/{number}@trunk").
	DialString string
	// RingTimeout is how long a customer's phone may ring; AgentRingTimeout
	// an agent's.
	RingTimeout, AgentRingTimeout time.Duration
	MaxAttempts                   int
}

func (o *QueueOptions) setDefaults() {
	if o.Strategy == "" {
		o.Strategy = CustomerFirst
	}
	if o.DialString == "" {
		o.DialString = "PJSIP/{number}"
	}
	if o.RingTimeout <= 0 {
		o.RingTimeout = 30 * time.Second
	}
	if o.AgentRingTimeout <= 0 {
		o.AgentRingTimeout = 20 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 3
	}
}

// Flows is what the dialer needs of the IVR: the customer's side of a
// callback, and the whisper to the agent.
type Flows interface {
	Confirm(ctx context.Context, c pbx.Call, t *queue.Ticket) (ivr.Answer, error)
	Whisper(ctx context.Context, agent pbx.Call, t *queue.Ticket) error
}

// Recorder counts the dialer's attempts, for the operational metrics
// (package opsmetrics). It must not block.
type Recorder interface {
	// Attempt: one dial of a callback's customer ended with outcome, one of
	// the Attempt* outcomes.
	Attempt(queue, outcome string)
}

// The outcomes of one dial of a customer, as Recorder.Attempt is told them:
// the PBX's (pbx.Outcome, with "_" for "-") for a dial that was not
// answered, and for an answered one what the customer did (customer-first)
// or AttemptAnswered (agent-first, where nothing is asked).
const (
	// AttemptAnswered: answered and put through (customer-first: pressed 1).
	AttemptAnswered = "answered"
	// AttemptLater: answered and asked to be called later (pressed 2).
	AttemptLater = "later"
	// AttemptMachine: answered but no key was pressed: an answering
	// machine or voicemail, most likely.
	AttemptMachine = "machine"
	// AttemptHungUp: answered, then hung up before confirming.
	AttemptHungUp = "hung_up"
)

type noRecorder struct{}

func (noRecorder) Attempt(string, string) {}

// Option configures a Dialer beyond New's arguments.
type Option func(*Dialer)

// WithRecorder makes the dialer count its attempts on r; nil records
// nothing.
func WithRecorder(r Recorder) Option {
	return func(d *Dialer) {
		if r != nil {
			d.rec = r
		}
	}
}

// attemptOutcome is the Recorder's name for how a dial that was not
// answered ended.
func attemptOutcome(err error) string {
	return strings.ReplaceAll(string(pbx.OutcomeOf(err)), "-", "_")
}

// Late is the ivr.Connector of a dialer built after the IVR: the IVR needs a
// connector and the dialer needs the IVR's flows, so one of them has to be
// handed the other late. Set D before the first call arrives.
type Late struct{ D *Dialer }

// Attach implements ivr.Connector.
func (l *Late) Attach(id queue.TicketID, c pbx.Call) { l.D.Attach(id, c) }

// Detach implements ivr.Connector.
func (l *Late) Detach(id queue.TicketID) { l.D.Detach(id) }

// Dialer connects the head of the line to free agents.
type Dialer struct {
	line *queue.Line
	// switches are the PBXs by name; def is the first, for an empty node.
	switches map[string]pbx.Switch
	def      pbx.Switch
	flows    Flows
	clk      clock.Clock
	opts     map[string]QueueOptions
	log      *logrus.Entry
	rec      Recorder

	mu    sync.Mutex
	ctx   context.Context
	calls map[queue.TicketID]pbx.Call // live callers on hold, by ticket
	// ringing cancels the agent ring for a live caller who hangs up meanwhile.
	ringing map[queue.TicketID]context.CancelFunc
	// unheld: live tickets the line offered whose calls no flow has
	// attached yet, and since when (see dispatchable).
	unheld    map[queue.TicketID]time.Time
	scheduled bool // a dispatch is queued
	wake      clock.Timer
	wg        sync.WaitGroup
	stopped   bool
}

// New returns a dialer for the line's queues on the given switches, found by
// their Name (the node of tickets and agents). A bridge needs both legs on
// one PBX, so a live caller's agent is rung through the caller's switch
// (Ticket.Node), and both legs of a callback are dialed through the agent's
// home switch (AgentConfig.Node). The first switch serves an empty node (one
// PBX, tests); of two switches with one name, the first is used.
func New(line *queue.Line, switches []pbx.Switch, flows Flows, clk clock.Clock, opts map[string]QueueOptions, log *logrus.Entry, with ...Option) *Dialer {
	if log == nil {
		l := logrus.New()
		l.SetLevel(logrus.PanicLevel)
		log = logrus.NewEntry(l)
	}
	o := map[string]QueueOptions{}
	for q, qo := range opts {
		qo.setDefaults()
		o[q] = qo
	}
	d := &Dialer{line: line, switches: map[string]pbx.Switch{}, flows: flows, clk: clk, opts: o, log: log,
		calls: map[queue.TicketID]pbx.Call{}, ringing: map[queue.TicketID]context.CancelFunc{},
		unheld: map[queue.TicketID]time.Time{}, rec: noRecorder{}}
	for _, o := range with {
		o(d)
	}
	for _, sw := range switches {
		if d.def == nil {
			d.def = sw
		}
		if _, dup := d.switches[sw.Name()]; dup {
			log.WithField("pbx", sw.Name()).Warn("two PBX connections with one name; the dialer uses the first")
			continue
		}
		d.switches[sw.Name()] = sw
	}
	return d
}

// switchOn returns the switch called node; the first one for an empty node.
func (d *Dialer) switchOn(node string) (pbx.Switch, error) {
	if node == "" && d.def != nil {
		return d.def, nil
	}
	if sw, ok := d.switches[node]; ok {
		return sw, nil
	}
	if node == "" {
		return nil, errors.New("no PBX connected")
	}
	return nil, fmt.Errorf("no connection to a PBX named %q", node)
}

// Start begins dispatching: at once, after every change of the line, and
// when a slot, a backoff or a wrap-up ends. Stop ends it.
func (d *Dialer) Start(ctx context.Context) {
	d.mu.Lock()
	d.ctx = ctx
	d.mu.Unlock()
	d.line.SetDispatchable(d.dispatchable)
	d.line.Notify(d.Kick)
	d.Kick()
}

// attachGrace is how long a live ticket may wait for its call to be attached
// before the dialer takes it for a ghost: long enough for a PBX adapter to
// reconnect and take its calls back after a restart, short enough that a
// caller who vanished meanwhile does not hold a place for long.
const attachGrace = 30 * time.Second

// dispatchable tells the line which tickets may be handed out: a live caller
// only once a flow has attached the call (ivr.Connector), which closes the
// gap between a caller joining and the flow attaching, and the longer one
// after a restart before the adapter has taken the call back. Called with
// the line's lock held.
func (d *Dialer) dispatchable(t *queue.Ticket) bool {
	if t.Kind != queue.Live {
		return true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.calls[t.ID] != nil {
		return true
	}
	if _, ok := d.unheld[t.ID]; !ok {
		d.unheld[t.ID] = d.clk.Now()
	}
	return false
}

// sweepUnheld abandons the live tickets whose calls were never attached
// within attachGrace (their callers left while nobody held the call: during
// a restart, or before the PBX was reachable again), and returns when the
// next one would be due.
func (d *Dialer) sweepUnheld(ctx context.Context) time.Time {
	now := d.clk.Now()
	var ghosts []queue.TicketID
	var next time.Time
	d.mu.Lock()
	for id, since := range d.unheld {
		switch {
		case d.calls[id] != nil:
			delete(d.unheld, id)
		case !now.Before(since.Add(attachGrace)):
			ghosts = append(ghosts, id)
			delete(d.unheld, id)
		case next.IsZero() || since.Add(attachGrace).Before(next):
			next = since.Add(attachGrace)
		}
	}
	d.mu.Unlock()
	for _, id := range ghosts {
		_, err := d.line.Abandon(ctx, id, fmt.Sprintf("no call attached within %s: the caller left while vhold was not holding the call", attachGrace), "dialer")
		if err := ignoreGone(err); err != nil {
			d.log.WithError(err).WithField("ticket", id).Warn("abandon a live ticket without a call")
			continue
		}
		d.log.WithField("ticket", id).Info("live ticket without a call abandoned")
	}
	return next
}

// Stop stops dispatching and waits for the calls in progress to finish
// (they end when the context given to Start ends).
func (d *Dialer) Stop() {
	d.mu.Lock()
	d.stopped = true
	if d.wake != nil {
		d.wake.Stop()
	}
	d.mu.Unlock()
	d.line.Notify(nil)
	d.line.SetDispatchable(nil)
	d.wg.Wait()
}

// Kick asks for a dispatch soon. It never calls the line itself, so the line
// may call it with its lock held; kicks coalesce into one dispatch.
func (d *Dialer) Kick() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.scheduled || d.stopped || d.ctx == nil {
		return
	}
	d.scheduled = true
	d.wg.Add(1)
	d.clk.Go(func() {
		defer d.wg.Done()
		d.dispatch()
	})
}

// Attach registers a live caller's call so the dialer can bridge it to an
// agent (ivr.Connector).
func (d *Dialer) Attach(id queue.TicketID, c pbx.Call) {
	d.mu.Lock()
	d.calls[id] = c
	_, waited := d.unheld[id]
	delete(d.unheld, id)
	d.mu.Unlock()
	if waited {
		// The line skipped this caller while the call was not held.
		d.Kick()
	}
}

// Detach forgets a live caller's call (ivr.Connector). If an agent's phone
// is ringing for that caller, the ring is cancelled: nobody is left to talk to.
func (d *Dialer) Detach(id queue.TicketID) {
	d.mu.Lock()
	delete(d.calls, id)
	cancel := d.ringing[id]
	d.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

func (d *Dialer) attached(id queue.TicketID) pbx.Call {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls[id]
}

// dispatch hands every free agent the head of their queues, then arms a
// wake-up for the next moment something becomes due on its own.
func (d *Dialer) dispatch() {
	d.mu.Lock()
	d.scheduled = false
	ctx, stopped := d.ctx, d.stopped
	d.mu.Unlock()
	if stopped || ctx.Err() != nil {
		return
	}
	for {
		as, err := d.line.Next(ctx)
		if err != nil {
			d.log.WithError(err).Error("dispatch")
			break
		}
		if as == nil {
			break
		}
		d.wg.Add(1)
		d.clk.Go(func() {
			defer d.wg.Done()
			d.handle(ctx, as)
		})
	}
	w := d.line.NextWake()
	if u := d.sweepUnheld(ctx); !u.IsZero() && (w.IsZero() || u.Before(w)) {
		w = u
	}
	if !w.IsZero() {
		d.mu.Lock()
		if d.wake != nil {
			d.wake.Stop()
		}
		if !d.stopped {
			d.wake = d.clk.AfterFunc(w.Sub(d.clk.Now()), d.Kick)
		}
		d.mu.Unlock()
	}
}

func (d *Dialer) handle(ctx context.Context, as *queue.Assignment) {
	t := as.Ticket
	log := d.log.WithFields(logrus.Fields{"ticket": t.ID, "queue": t.Queue, "agent": as.Agent.ID})
	if t.Kind == queue.Live {
		sw, err := d.switchOn(t.Node)
		if err != nil {
			// Nobody could ring an agent for this caller: putting the
			// ticket back would hand it out again at once.
			log.WithError(err).Error("cannot connect the caller: their PBX has no connection here")
			d.must(log, "cancel", func() error {
				_, err := d.line.Cancel(ctx, t.ID, fmt.Sprintf("caller's PBX cannot be dialed: %v", err), "dialer")
				return ignoreGone(err)
			})
			return
		}
		d.connectLive(ctx, log.WithField("pbx", sw.Name()), sw, t, as.Agent)
		return
	}
	opt := d.opts[t.Queue]
	opt.setDefaults()
	if t.Attempts >= opt.MaxAttempts {
		// Only after a restart interrupted the last attempt: its outcome is
		// unknown and it is never dialed again.
		d.must(log, "fail", func() error {
			_, err := d.line.Fail(ctx, t.ID, fmt.Sprintf("no answer confirmed after %d attempts (the last was cut by a restart)", t.Attempts), "dialer")
			return err
		})
		return
	}
	sw, err := d.switchOn(as.Agent.Node)
	if err != nil {
		// The agent cannot be rung from anywhere: they leave the line's
		// agents (offline, which also unreserves them), and the callback
		// goes back to its place for another agent; no attempt is used.
		log.WithError(err).Error("cannot dial a callback for the agent: their PBX has no connection here; agent set offline")
		d.setAgent(as.Agent.ID, queue.AgentOffline, fmt.Sprintf("their PBX cannot be dialed: %v", err))
		d.must(log, "release", func() error {
			_, err := d.line.Release(ctx, t.ID, fmt.Sprintf("agent %s's PBX cannot be dialed: %v", as.Agent.ID, err), "dialer")
			return ignoreGone(err)
		})
		return
	}
	log = log.WithField("pbx", sw.Name())
	if opt.Strategy == AgentFirst {
		d.agentFirst(ctx, log, sw, t, as.Agent, opt)
		return
	}
	d.customerFirst(ctx, log, sw, t, as.Agent, opt)
}

// connectLive rings an agent for a caller holding on the line and bridges
// them. An agent who does not answer is paused and the caller keeps the head
// of the line.
func (d *Dialer) connectLive(ctx context.Context, log *logrus.Entry, sw pbx.Switch, t *queue.Ticket, agent queue.Agent) {
	caller := d.attached(t.ID)
	if caller == nil {
		d.must(log, "abandon", func() error {
			_, err := d.line.Abandon(ctx, t.ID, "caller not on the line any more", "dialer")
			return err
		})
		return
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d.mu.Lock()
	d.ringing[t.ID] = cancel
	d.mu.Unlock()
	ag, err := d.ringAgent(rctx, log, sw, t, agent, pbx.Party{Number: t.Number, Name: t.Queue})
	d.mu.Lock()
	delete(d.ringing, t.ID)
	d.mu.Unlock()
	if err != nil {
		if d.attached(t.ID) == nil {
			d.must(log, "abandon", func() error {
				_, err := d.line.Abandon(ctx, t.ID, "caller hung up while the agent's phone rang", "dialer")
				return ignoreGone(err)
			})
			return
		}
		d.must(log, "release", func() error {
			_, err := d.line.Release(ctx, t.ID, fmt.Sprintf("agent %s did not answer: %v", agent.ID, err), "dialer")
			return ignoreGone(err)
		})
		return
	}
	if _, err := d.line.Connect(ctx, t.ID, "dialer"); err != nil {
		// The caller hung up while the agent's phone rang.
		log.WithError(err).Info("caller left before the agent answered")
		d.endAgentCall(ctx, ag, agent.ID, queue.AgentAvailable, "caller left")
		return
	}
	if err := caller.Bridge(ctx, ag); err != nil {
		d.must(log, "abandon", func() error {
			_, err := d.line.Abandon(ctx, t.ID, "caller hung up as the agent answered", "dialer")
			return ignoreGone(err)
		})
		d.endAgentCall(ctx, ag, agent.ID, queue.AgentAvailable, "caller left")
		return
	}
	d.talk(ctx, log, t, ag)
}

// customerFirst dials the customer with the agent reserved; the customer
// confirms with 1, then the agent is rung, hears the whisper, and is bridged.
func (d *Dialer) customerFirst(ctx context.Context, log *logrus.Entry, sw pbx.Switch, t *queue.Ticket, agent queue.Agent, opt QueueOptions) {
	cust, t, ok := d.dialCustomer(ctx, log, sw, t, opt)
	if !ok {
		return
	}
	ans, err := d.flows.Confirm(ctx, cust, t)
	if err != nil && !errors.Is(err, pbx.ErrHungUp) {
		log.WithError(err).Warn("callback confirmation")
	}
	d.rec.Attempt(t.Queue, confirmOutcome(ans))
	switch ans {
	case ivr.AnswerConnect:
	case ivr.AnswerLater:
		d.hangup(ctx, cust)
		d.retry(ctx, log, t.ID, "customer asked to be called later")
		return
	case ivr.AnswerNotReached:
		d.hangup(ctx, cust)
		d.retry(ctx, log, t.ID, "answered but no key pressed (voicemail?)")
		return
	default:
		d.hangup(ctx, cust)
		d.retry(ctx, log, t.ID, "customer hung up before confirming")
		return
	}
	ag, err := d.ringAgent(ctx, log, sw, t, agent, pbx.Party{Number: t.Number, Name: t.Name})
	if err != nil {
		d.hangup(ctx, cust)
		d.retry(ctx, log, t.ID, fmt.Sprintf("agent %s did not answer", agent.ID))
		return
	}
	if err := d.flows.Whisper(ctx, ag, t); err != nil && !errors.Is(err, pbx.ErrHungUp) {
		log.WithError(err).Warn("whisper")
	}
	d.bridgeAndTalk(ctx, log, t, cust, ag, agent.ID)
}

// agentFirst rings the agent, whispers the context, then dials the customer
// while the agent waits on the line.
func (d *Dialer) agentFirst(ctx context.Context, log *logrus.Entry, sw pbx.Switch, t *queue.Ticket, agent queue.Agent, opt QueueOptions) {
	ag, err := d.ringAgent(ctx, log, sw, t, agent, pbx.Party{Number: t.Number, Name: t.Name})
	if err != nil {
		d.must(log, "release", func() error {
			_, err := d.line.Release(ctx, t.ID, fmt.Sprintf("agent %s did not answer: %v", agent.ID, err), "dialer")
			return ignoreGone(err)
		})
		return
	}
	if err := d.flows.Whisper(ctx, ag, t); err != nil {
		d.endAgentCall(ctx, ag, agent.ID, queue.AgentAvailable, "agent hung up during the whisper")
		d.must(log, "release", func() error {
			_, err := d.line.Release(ctx, t.ID, "agent hung up during the whisper", "dialer")
			return ignoreGone(err)
		})
		return
	}
	_ = ag.StartMOH(ctx, "")
	cust, t, ok := d.dialCustomer(ctx, log, sw, t, opt)
	if !ok {
		_, _ = ag.Play(ctx, pbx.PlayOptions{}, pbx.Sound(ivr.PromptCustomerNotReached))
		d.endAgentCall(ctx, ag, agent.ID, queue.AgentAvailable, "customer not reached")
		return
	}
	d.rec.Attempt(t.Queue, AttemptAnswered)
	d.bridgeAndTalk(ctx, log, t, cust, ag, agent.ID)
}

// confirmOutcome is the Recorder's name for what an answered customer did
// at the callback question.
func confirmOutcome(a ivr.Answer) string {
	switch a {
	case ivr.AnswerConnect:
		return AttemptAnswered
	case ivr.AnswerLater:
		return AttemptLater
	case ivr.AnswerNotReached:
		return AttemptMachine
	case ivr.AnswerHungUp:
		return AttemptHungUp
	}
	return string(pbx.Failed) // the question itself failed
}

// dialCustomer starts attempt N (journaled first, so a crash never dials the
// same attempt twice: the call id is ticket and attempt) and dials. A failed
// dial is journaled with its outcome and cause, then retried or failed.
func (d *Dialer) dialCustomer(ctx context.Context, log *logrus.Entry, sw pbx.Switch, t *queue.Ticket, opt QueueOptions) (pbx.Call, *queue.Ticket, bool) {
	t, err := d.line.Dial(ctx, t.ID, "dialer")
	if err != nil {
		log.WithError(err).Warn("start attempt")
		return nil, nil, false
	}
	log = log.WithField("attempt", t.Attempts)
	c, err := sw.Originate(ctx, pbx.Originate{
		ID:        fmt.Sprintf("vhold-%d-%d", t.ID, t.Attempts),
		Endpoint:  strings.ReplaceAll(opt.DialString, "{number}", t.Number),
		CallerID:  opt.CallerID,
		Timeout:   opt.RingTimeout,
		Language:  t.Language,
		Variables: map[string]string{"VHOLD_TICKET": fmt.Sprint(t.ID), "VHOLD_ATTEMPT": fmt.Sprint(t.Attempts)},
	})
	if err != nil {
		d.rec.Attempt(t.Queue, attemptOutcome(err))
		outcome := pbx.OutcomeOf(err)
		if outcome == pbx.Invalid {
			d.must(log, "fail", func() error {
				_, err := d.line.Fail(ctx, t.ID, fmt.Sprintf("invalid number: %v", err), "dialer")
				return err
			})
		} else {
			d.retry(ctx, log, t.ID, err.Error())
		}
		return nil, nil, false
	}
	return c, t, true
}

// ringAgent rings an agent for ticket t. The call id includes the ticket's
// version, which every transition bumps, so each ring of an agent for a
// ticket is a distinct call even across a restart.
func (d *Dialer) ringAgent(ctx context.Context, log *logrus.Entry, sw pbx.Switch, t *queue.Ticket, agent queue.Agent, shown pbx.Party) (pbx.Call, error) {
	if err := d.line.SetAgentState(agent.ID, queue.AgentRinging, fmt.Sprintf("ticket %d", t.ID)); err != nil {
		return nil, err
	}
	opt := d.opts[t.Queue]
	opt.setDefaults()
	c, err := sw.Originate(ctx, pbx.Originate{
		ID:       fmt.Sprintf("vhold-%d-v%d-%s", t.ID, t.Version, agent.ID),
		Endpoint: agent.Endpoint,
		CallerID: shown,
		Timeout:  opt.AgentRingTimeout,
	})
	if err != nil {
		var de *pbx.DialError
		if errors.As(err, &de) {
			log.WithError(err).Info("agent did not answer; pausing them")
			d.setAgent(agent.ID, queue.AgentPaused, "did not answer")
		} else {
			// Cancelled (the caller left) or the switch failed: not the agent's doing.
			d.setAgent(agent.ID, queue.AgentAvailable, "ring cancelled")
		}
		return nil, err
	}
	return c, nil
}

// bridgeAndTalk connects a confirmed customer to the agent and follows the
// conversation to its end.
func (d *Dialer) bridgeAndTalk(ctx context.Context, log *logrus.Entry, t *queue.Ticket, cust, ag pbx.Call, agentID string) {
	if _, err := d.line.Connect(ctx, t.ID, "dialer"); err != nil {
		log.WithError(err).Warn("connect")
		d.hangup(ctx, cust)
		d.endAgentCall(ctx, ag, agentID, queue.AgentAvailable, "ticket changed")
		return
	}
	if err := cust.Bridge(ctx, ag); err != nil {
		log.WithError(err).Warn("bridge customer and agent")
		d.must(log, "abandon", func() error {
			_, err := d.line.Abandon(ctx, t.ID, "customer hung up before the bridge", "dialer")
			return ignoreGone(err)
		})
		d.endAgentCall(ctx, ag, agentID, queue.AgentAvailable, "customer left")
		return
	}
	d.talk(ctx, log, t, ag)
	d.hangup(ctx, cust)
}

// talk waits on the agent's leg until the conversation ends (either side
// hangs up; the other is left alone in the bridge on Asterisk, hung up on
// FreeSWITCH), then completes the ticket, which puts the agent in wrap-up.
func (d *Dialer) talk(ctx context.Context, log *logrus.Entry, t *queue.Ticket, ag pbx.Call) {
	for {
		ev, err := ag.Wait(ctx, time.Hour)
		if err != nil || ev.Kind == pbx.EventHangup || ev.Kind == pbx.EventUnbridge {
			break
		}
	}
	d.hangup(ctx, ag)
	d.must(log, "complete", func() error {
		_, err := d.line.Complete(ctx, t.ID, "dialer")
		return ignoreGone(err)
	})
}

// endAgentCall hangs up an agent leg that will not be used and sets the agent.
func (d *Dialer) endAgentCall(ctx context.Context, ag pbx.Call, agentID string, st queue.AgentState, reason string) {
	d.hangup(ctx, ag)
	d.setAgent(agentID, st, reason)
}

func (d *Dialer) setAgent(id string, st queue.AgentState, reason string) {
	if err := d.line.SetAgentState(id, st, reason); err != nil {
		d.log.WithError(err).WithField("agent", id).Warn("agent state")
	}
}

func (d *Dialer) retry(ctx context.Context, log *logrus.Entry, id queue.TicketID, outcome string) {
	d.must(log, "retry", func() error {
		t, err := d.line.Retry(ctx, id, outcome, "dialer")
		if err == nil {
			log.WithFields(logrus.Fields{"state": t.State, "outcome": outcome}).Info("attempt failed")
		}
		return ignoreGone(err)
	})
}

func (d *Dialer) hangup(ctx context.Context, c pbx.Call) {
	if c == nil {
		return
	}
	if err := c.Hangup(ctx, pbx.CauseNormal); err != nil && !errors.Is(err, pbx.ErrHungUp) {
		d.log.WithError(err).WithField("call", c.ID()).Warn("hangup")
	}
}

// must runs a line change and logs its failure: the dialer cannot undo a
// call, so a refused change is reported and the line keeps its own truth.
func (d *Dialer) must(log *logrus.Entry, what string, f func() error) {
	if err := f(); err != nil {
		log.WithError(err).Errorf("%s ticket", what)
	}
}

// ignoreGone treats a ticket that already ended (the caller hung up, the CLI
// cancelled it) as nothing to do.
func ignoreGone(err error) error {
	if errors.Is(err, queue.ErrNoTicket) {
		return nil
	}
	return err
}
