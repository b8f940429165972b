package pbxtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/vhold/vhold/pbx"
)

// DefaultRingTimeout is how long an Originate with no Timeout rings: ARI's
// default for POST /channels.
const DefaultRingTimeout = 30 * time.Second

// Causes in Asterisk's words (ChannelDestroyed cause, cause_txt and
// tech_cause, as recorded in ../shared/pbx/asterisk/traces), so journals
// written against the in-memory switch read like production ones.
const (
	CauseNormalClearing = "16 Normal Clearing"
	CauseUserBusy       = "17 User busy (SIP 486)"
	CauseNoAnswer       = "19 User alerting, no answer (SIP 480)"
	CauseNoResponse     = "18 No user responding (SIP 408)"
	CauseUnallocated    = "1 Unallocated number (SIP 404)"
	CauseRejected       = "21 Call rejected (SIP 603)"
	CauseFailure        = "38 Network out of order (SIP 500)"
	CauseAllocation     = "Allocation failed"
	CauseDuplicateID    = "Channel with given unique ID already exists"
)

// Options configure a Switch.
type Options struct {
	// Seed makes every random draw (handle times, traffic) replayable.
	Seed uint64
	// PromptDuration says how long a prompt plays; nil is
	// DefaultPromptDuration. Recordings made on the switch are always
	// played for their recorded length.
	PromptDuration func(pbx.Prompt) time.Duration
	// Log, if set, receives every step of every call as it happens. It is
	// called with the simulated world locked, so it must not call back into
	// the Sim or the Switch (t.Logf and loggers are fine).
	Log func(format string, args ...any)
}

// Switch is an in-memory pbx.Switch on a Sim. Incoming calls come from
// scripted callers (Dial, Generate), outgoing ones go to registered agents
// and customers (Agent, Customer).
type Switch struct {
	sim  *Sim
	name string
	opts Options

	// Everything below is guarded by sim.mu.
	handler  pbx.Handler
	serveCtx context.Context
	handlers int
	idle     *waiter       // a tracked Serve waiting for handlers to return
	idleCh   chan struct{} // an untracked one
	nextID   int
	ids      map[string]bool
	calls    []*Call
	parties  map[string]*party // "agent:PJSIP/1001", "customer:+34911234567"
	origs    []Origination
	recs     map[string]time.Duration
	streams  int
}

// NewSwitch returns a switch called name on sim.
func NewSwitch(sim *Sim, name string, opts Options) *Switch {
	if opts.PromptDuration == nil {
		opts.PromptDuration = DefaultPromptDuration
	}
	return &Switch{
		sim:     sim,
		name:    name,
		opts:    opts,
		ids:     map[string]bool{},
		parties: map[string]*party{},
		recs:    map[string]time.Duration{},
	}
}

var _ pbx.Switch = (*Switch)(nil)

// Name returns the switch's name.
func (s *Switch) Name() string { return s.name }

// Serve delivers incoming calls to h until ctx ends, then waits for every
// handler to return. Start it with Sim.Go before the first Run so it is
// serving before the first call arrives; a call that arrives when nobody
// serves is declined, as Asterisk declines a call for a Stasis application
// with no WebSocket (SIP 603).
func (s *Switch) Serve(ctx context.Context, h pbx.Handler) error {
	tracked := onTrackedGoroutine()
	m := s.sim
	m.mu.Lock()
	if s.handler != nil {
		m.mu.Unlock()
		return fmt.Errorf("pbxtest: switch %s is already serving", s.name)
	}
	s.handler, s.serveCtx = h, ctx
	if !tracked {
		m.mu.Unlock()
		<-ctx.Done()
		m.mu.Lock()
		s.handler = nil
		if s.handlers > 0 {
			ch := make(chan struct{})
			s.idleCh = ch
			m.mu.Unlock()
			<-ch
			return ctx.Err()
		}
		m.mu.Unlock()
		return ctx.Err()
	}
	defer m.mu.Unlock()
	if ctx.Err() == nil {
		m.park(&waiter{p: m.cur, ctx: ctx})
	}
	s.handler = nil
	for s.handlers > 0 {
		s.idle = &waiter{p: m.cur}
		m.park(s.idle)
	}
	return ctx.Err()
}

// Dial schedules a scripted caller to call in at the given time and returns
// the call, so the test can read its transcript afterwards.
func (s *Switch) Dial(at time.Time, c Caller) *Call {
	m := s.sim
	m.mu.Lock()
	defer m.mu.Unlock()
	return s.dialLocked(at, c)
}

func (s *Switch) dialLocked(at time.Time, c Caller) *Call {
	call := &Call{
		sw:     s,
		id:     s.newID(),
		queue:  c.Queue,
		lang:   c.Language,
		caller: pbx.Party{Number: c.Number, Name: c.Name},
		far: &farEnd{
			name:        c.Name,
			script:      c.Script,
			hangUpAfter: c.HangUpAfter,
		},
	}
	s.calls = append(s.calls, call)
	s.sim.schedule(at, func() { s.arrive(call) })
	return call
}

func (s *Switch) arrive(c *Call) {
	m := s.sim
	m.mu.Lock()
	defer m.mu.Unlock()
	c.arrived = true
	what := "incoming from " + cmp.Or(c.caller.String(), "anonymous")
	if c.queue != "" {
		what += " for queue " + c.queue
	}
	c.note(what)
	if s.handler == nil || s.serveCtx.Err() != nil {
		c.gone = true
		c.note("declined (SIP 603): nobody serves the switch")
		return
	}
	if d := c.far.hangUpAfter; d > 0 {
		m.schedule(m.now.Add(d), func() { c.giveUp() })
	}
	c.scriptNext()
	h, ctx := s.handler, s.serveCtx
	s.handlers++
	m.goLocked(func() {
		h(ctx, c)
		m.mu.Lock()
		defer m.mu.Unlock()
		if !c.gone {
			c.end(true, string(pbx.CauseNormal))
		}
		s.handlers--
		if s.handlers > 0 {
			return
		}
		if s.idle != nil {
			m.wake(s.idle)
			s.idle = nil
		}
		if s.idleCh != nil {
			close(s.idleCh)
			s.idleCh = nil
		}
	})
}

// Agent registers an agent's phone under its dial string ("PJSIP/1001").
// Registering again replaces the behaviour and restarts its attempt count.
func (s *Switch) Agent(endpoint string, b Answerer) { s.register("agent:"+endpoint, b) }

// Customer registers a customer's number ("+34911234567"); any dial string
// whose last '/'-separated part, without "@...", is that number reaches it.
func (s *Switch) Customer(number string, b Answerer) { s.register("customer:"+number, b) }

func (s *Switch) register(key string, b Answerer) {
	m := s.sim
	m.mu.Lock()
	defer m.mu.Unlock()
	s.parties[key] = &party{name: key, b: b, rng: s.rand(key)}
}

// rand returns a source of randomness for one named consumer.
func (s *Switch) rand(name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(s.name + "/" + name))
	return rand.New(rand.NewPCG(s.opts.Seed, h.Sum64()))
}

// lookup finds the party a dial string reaches: an agent by the whole
// endpoint, else a customer (or agent) by the number at its end, so
// "PJSIP/+34911234567@trunk", "sofia/gateway/trunk/+34911234567" and
// "+34911234567" all reach customer +34911234567.
func (s *Switch) lookup(endpoint string) *party {
	if p := s.parties["agent:"+endpoint]; p != nil {
		return p
	}
	n := endpoint[strings.LastIndexByte(endpoint, '/')+1:]
	if i := strings.IndexByte(n, '@'); i >= 0 {
		n = n[:i]
	}
	if p := s.parties["customer:"+n]; p != nil {
		return p
	}
	return s.parties["agent:"+n]
}

// Origination is one Originate as the switch saw it.
type Origination struct {
	ID       string
	Endpoint string
	CallerID pbx.Party
	// Variables are the originate's channel variables.
	Variables map[string]string
	// At is when it was dialled, Done when it was answered or failed.
	At, Done time.Time
	// Outcome is empty while it rings.
	Outcome pbx.Outcome
	Cause   string
	// Call is the answered call, for its transcript.
	Call *Call
}

// Originations returns every Originate so far, in the order they were made.
func (s *Switch) Originations() []Origination {
	m := s.sim
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Origination(nil), s.origs...)
}

// Calls returns every call on the switch, incoming and originated, in the
// order they were created.
func (s *Switch) Calls() []*Call {
	m := s.sim
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*Call(nil), s.calls...)
}

// Originate dials r.Endpoint and waits, in virtual time, for the registered
// party's response. r.ID, when set, must be new on the switch, as ARI
// refuses a second channel with the same channelId: that is what makes the
// dialer's attempts idempotent, so the refusal is modelled too.
func (s *Switch) Originate(ctx context.Context, r pbx.Originate) (pbx.Call, error) {
	m := s.sim
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.Endpoint == "" {
		return nil, fmt.Errorf("originate: endpoint must be specified")
	}
	s.origs = append(s.origs, Origination{
		ID: r.ID, Endpoint: r.Endpoint, CallerID: r.CallerID, Variables: r.Variables, At: m.now,
	})
	oi := len(s.origs) - 1
	fail := func(o pbx.Outcome, cause string) error {
		s.origs[oi].Outcome, s.origs[oi].Cause, s.origs[oi].Done = o, cause, m.now
		return &pbx.DialError{Outcome: o, Cause: cause}
	}
	if r.ID == "" {
		r.ID = s.newID()
		s.origs[oi].ID = r.ID
	} else if s.ids[r.ID] {
		return nil, fail(pbx.Failed, CauseDuplicateID)
	}
	s.ids[r.ID] = true
	p := s.lookup(r.Endpoint)
	if p == nil {
		return nil, fail(pbx.Unreachable, CauseAllocation)
	}
	if p.active != nil {
		return nil, fail(pbx.Busy, CauseUserBusy)
	}
	p.attempts++
	resp := p.b.Attempt(p.attempts)
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultRingTimeout
	}
	outcome, cause := resp.Outcome, ""
	switch outcome {
	case "", pbx.Answered:
		outcome = pbx.Answered
	case pbx.Busy:
		cause = CauseUserBusy
	case pbx.NoAnswer:
		resp.Ring, cause = timeout, CauseNoAnswer
	case pbx.Rejected:
		cause = CauseRejected
	case pbx.Invalid:
		cause = CauseUnallocated
	case pbx.Unreachable:
		if resp.Ring <= 0 {
			return nil, fail(pbx.Unreachable, CauseAllocation)
		}
		cause = CauseNoResponse
	default:
		outcome, cause = pbx.Failed, CauseFailure
	}
	if resp.Ring >= timeout {
		outcome, cause, resp.Ring = pbx.NoAnswer, CauseNoAnswer, timeout
	}
	m.mustPark("Originate")
	var call *Call
	w := &waiter{p: m.cur, ctx: ctx}
	w.onCancel = func() { _ = fail(pbx.Failed, "cancelled while ringing") }
	w.timer = m.schedule(m.now.Add(resp.Ring), func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if outcome == pbx.Answered {
			call = s.answered(r, p, resp)
			s.origs[oi].Call = call
		}
		s.origs[oi].Outcome, s.origs[oi].Cause, s.origs[oi].Done = outcome, cause, m.now
		m.wake(w)
	})
	m.park(w)
	if w.err != nil {
		return nil, w.err
	}
	if outcome != pbx.Answered {
		return nil, &pbx.DialError{Outcome: outcome, Cause: cause}
	}
	return call, nil
}

// answered creates the call of an answered originate and starts the far
// end's script.
func (s *Switch) answered(r pbx.Originate, p *party, resp Response) *Call {
	c := &Call{
		sw:       s,
		id:       r.ID,
		lang:     r.Language,
		caller:   r.CallerID,
		outbound: true,
		arrived:  true,
		answered: true,
		far: &farEnd{
			name:        resp.Name,
			script:      resp.Script,
			talk:        resp.Talk,
			hangUpAfter: resp.HangUpAfter,
			rng:         p.rng,
			party:       p,
		},
	}
	p.active = c
	s.calls = append(s.calls, c)
	c.note("originated to " + r.Endpoint + " as " + r.CallerID.String())
	c.note("answered")
	if d := resp.HangUpAfter; d > 0 {
		s.sim.schedule(s.sim.now.Add(d), func() { c.remoteHangup() })
	}
	c.scriptNext()
	return c
}

// Generate schedules a Poisson stream of callers between t.Start and t.End.
// Each stream draws from its own seeded randomness, so adding a stream does
// not reshuffle another.
func (s *Switch) Generate(t Traffic) {
	if t.Rate <= 0 || !t.End.After(t.Start) {
		return
	}
	m := s.sim
	m.mu.Lock()
	defer m.mu.Unlock()
	s.streams++
	rng := s.rand(fmt.Sprintf("traffic/%d/%s", s.streams, t.Queue))
	mean := float64(time.Hour) / t.Rate
	var next func(i int, at time.Time)
	next = func(i int, at time.Time) {
		at = at.Add(time.Duration(rng.ExpFloat64() * mean))
		if !at.Before(t.End) {
			return
		}
		m.schedule(at, func() {
			// Make is the test's code: call it unlocked so it may read the
			// clock. The stream's events run one at a time in the
			// scheduler, so rng needs no lock.
			c := Caller{Number: fmt.Sprintf("+1555%07d", i+1)}
			if t.Make != nil {
				c = t.Make(i, rng)
			}
			if c.Queue == "" {
				c.Queue = t.Queue
			}
			m.mu.Lock()
			defer m.mu.Unlock()
			s.dialLocked(m.now, c)
			next(i+1, at)
		})
	}
	next(0, t.Start)
}

// newID returns the next call id not used yet ("pbx1-7").
func (s *Switch) newID() string {
	for {
		s.nextID++
		id := fmt.Sprintf("%s-%d", s.name, s.nextID)
		if !s.ids[id] {
			s.ids[id] = true
			return id
		}
	}
}

// promptDuration is how long p plays on this switch.
func (s *Switch) promptDuration(p pbx.Prompt) time.Duration {
	if p.Kind == pbx.KindRecording {
		if d, ok := s.recs[p.Key]; ok {
			return d
		}
	}
	return s.opts.PromptDuration(p)
}

var errNotOurs = errors.New("not a call of this pbxtest switch")

// DeleteRecording implements pbx.RecordingDeleter.
func (s *Switch) DeleteRecording(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.sim.mu.Lock()
	defer s.sim.mu.Unlock()
	delete(s.recs, name)
	return nil
}

// Recordings are the names of the recordings the switch keeps, sorted.
func (s *Switch) Recordings() []string {
	s.sim.mu.Lock()
	defer s.sim.mu.Unlock()
	out := make([]string, 0, len(s.recs))
	for n := range s.recs {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
