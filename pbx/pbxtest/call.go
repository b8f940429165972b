package pbxtest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vhold/vhold/pbx"
)

// Call is one leg on a Switch: a scripted caller's incoming call or an
// answered Originate. Its verbs block in virtual time; Play, Collect,
// Record, Wait (and Switch.Originate) must be called from tracked
// goroutines, the other verbs from anywhere.
type Call struct {
	sw       *Switch
	id       string
	queue    string
	lang     string
	caller   pbx.Party
	outbound bool
	// bridgedOnce: the call has been bridged at least once, so a caller's
	// patience no longer applies.
	bridgedOnce bool

	// Everything below is guarded by sw.sim.mu.
	arrived    bool
	answered   bool
	gone       bool
	remoteGone bool
	events     []pbx.Event // queued for Wait (keys also for Collect)
	ops        []*op       // verbs waiting on this call, oldest first
	moh        bool
	mohClass   string
	peer       *Call
	far        *farEnd
	steps      []Step
}

var _ pbx.Call = (*Call)(nil)

// Step is one thing that happened on a call, at a virtual time.
type Step struct {
	At   time.Time
	What string
}

func (s Step) String() string { return s.At.Format("15:04:05.000") + " " + s.What }

// Transcript is a call's history, for flow tests to assert on and to print
// when they fail.
type Transcript []Step

// String prints one step a line.
func (t Transcript) String() string {
	var b strings.Builder
	for _, s := range t {
		b.WriteString(s.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// What returns the steps without their times, for comparing with a want list.
func (t Transcript) What() []string {
	w := make([]string, len(t))
	for i, s := range t {
		w[i] = s.What
	}
	return w
}

// Transcript returns what happened on the call so far: "answer",
// "play sound:greeting", "key 1", "moh on default", "bridged with pbx1-2",
// "collected 612345678 (terminator #)", "hangup normal", "remote hangup".
func (c *Call) Transcript() Transcript {
	m := c.sw.sim
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(Transcript(c.steps))
}

// Up reports whether the call has arrived and nobody has hung up.
func (c *Call) Up() bool {
	m := c.sw.sim
	m.mu.Lock()
	defer m.mu.Unlock()
	return c.arrived && !c.gone
}

func (c *Call) ID() string        { return c.id }
func (c *Call) Switch() string    { return c.sw.name }
func (c *Call) Queue() string     { return c.queue }
func (c *Call) Language() string  { return c.lang }
func (c *Call) Caller() pbx.Party { return c.caller }
func (c *Call) String() string    { return c.id }

type opKind uint8

const (
	opWait opKind = iota
	opPlay
	opCollect
	opRecord
)

// op is one verb waiting on a call. The events that end it (a prompt's
// end, a key, a bridge, the hangup, a timeout) fill in its result and wake
// its goroutine.
type op struct {
	w    waiter
	c    *Call
	kind opKind
	verb string

	// Play, and Collect's prompts.
	prompts   []pbx.Prompt
	idx       int
	interrupt string
	// Collect.
	collecting   bool // past the prompts
	digits       []byte
	max          int
	term         string
	first, inter time.Duration
	why          string
	// Record.
	recName string
	started time.Time

	key   string
	event pbx.Event
	rec   pbx.Recording
	err   error
}

func (c *Call) newOp(ctx context.Context, kind opKind, verb string) *op {
	o := &op{c: c, kind: kind, verb: verb}
	o.w = waiter{p: c.sw.sim.cur, ctx: ctx, onCancel: o.detach}
	c.ops = append(c.ops, o)
	return o
}

func (o *op) detach() { o.c.removeOp(o) }

func (o *op) result() error {
	if o.err != nil {
		return o.err
	}
	return o.w.err
}

func (c *Call) removeOp(o *op) {
	if i := slices.Index(c.ops, o); i >= 0 {
		c.ops = slices.Delete(c.ops, i, i+1)
	}
}

// finish ends o and readies its goroutine.
func (c *Call) finish(o *op) {
	c.removeOp(o)
	c.sw.sim.wake(&o.w)
}

// check is every verb's first word: a cancelled context, then a call that
// is gone.
func (c *Call) check(ctx context.Context, verb string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.gone {
		return c.hungUp(verb)
	}
	return nil
}

func (c *Call) hungUp(verb string) error {
	return fmt.Errorf("%s %s: %w", verb, c.id, pbx.ErrHungUp)
}

func (c *Call) note(what string) {
	m := c.sw.sim
	c.steps = append(c.steps, Step{At: m.now, What: what})
	if log := c.sw.opts.Log; log != nil {
		log("%s %s %s", m.now.Format("15:04:05.000"), c.id, what)
	}
}

// Answer answers an incoming call; an originated call is already up.
func (c *Call) Answer(ctx context.Context) error {
	m := c.sw.sim
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := c.check(ctx, "answer"); err != nil {
		return err
	}
	if c.answered {
		return nil
	}
	c.answered = true
	c.note("answer")
	c.scriptTimed()
	return nil
}

// Play plays prompts one after another, each for its PromptDuration; the
// caller hears each as it starts, which is when PressOn scripts react.
func (c *Call) Play(ctx context.Context, opt pbx.PlayOptions, prompts ...pbx.Prompt) (string, error) {
	m := c.sw.sim
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := c.check(ctx, "play"); err != nil {
		return "", err
	}
	if len(prompts) == 0 {
		return "", nil
	}
	m.mustPark("Play")
	o := c.newOp(ctx, opPlay, "play")
	o.prompts, o.interrupt = prompts, opt.Interrupt
	c.startPrompt(o)
	m.park(&o.w)
	return o.key, o.result()
}

func (c *Call) startPrompt(o *op) {
	m := c.sw.sim
	p := o.prompts[o.idx]
	c.note("play " + p.String())
	c.heard(p)
	o.w.timer = m.schedule(m.now.Add(c.sw.promptDuration(p)), func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		c.promptDone(o)
	})
}

func (c *Call) promptDone(o *op) {
	if o.w.woken {
		return
	}
	o.w.timer = nil
	o.idx++
	switch {
	case o.idx < len(o.prompts):
		c.startPrompt(o)
	case o.kind == opCollect:
		c.startCollecting(o)
	default:
		c.finish(o)
	}
}

// StartMOH starts music on hold; a Play pauses it and it resumes after.
func (c *Call) StartMOH(ctx context.Context, class string) error {
	m := c.sw.sim
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := c.check(ctx, "start moh on"); err != nil {
		return err
	}
	if class == "" {
		class = "default"
	}
	if c.moh && c.mohClass == class {
		return nil
	}
	c.moh, c.mohClass = true, class
	c.note("moh on " + class)
	return nil
}

// StopMOH stops music on hold; stopping it when none plays is not an error.
func (c *Call) StopMOH(ctx context.Context) error {
	m := c.sw.sim
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := c.check(ctx, "stop moh on"); err != nil {
		return err
	}
	if c.moh {
		c.moh = false
		c.note("moh off")
	}
	return nil
}

// MOH reports the music on hold class playing, if any.
func (c *Call) MOH() (class string, on bool) {
	m := c.sw.sim
	m.mu.Lock()
	defer m.mu.Unlock()
	return c.mohClass, c.moh
}

// Collect reads keys. Zero timeouts do not wait at all: the switch adds no
// defaults of its own, so a flow's forgotten timeout shows up in its tests.
func (c *Call) Collect(ctx context.Context, opt pbx.CollectOptions) (string, error) {
	m := c.sw.sim
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := c.check(ctx, "collect"); err != nil {
		return "", err
	}
	o := &op{c: c, kind: opCollect, verb: "collect", max: opt.Max, term: opt.Terminator,
		first: opt.FirstTimeout, inter: opt.InterTimeout}
	if opt.Flush {
		c.events = slices.DeleteFunc(c.events, func(e pbx.Event) bool { return e.Kind == pbx.EventKey })
	}
	typed := false
	for i := 0; i < len(c.events); {
		if c.events[i].Kind != pbx.EventKey {
			i++
			continue
		}
		k := c.events[i].Key
		c.events = slices.Delete(c.events, i, i+1)
		typed = true
		if o.push(k) {
			c.note(o.collected())
			return string(o.digits), nil
		}
	}
	m.mustPark("Collect")
	o.w = waiter{p: m.cur, ctx: ctx, onCancel: o.detach}
	c.ops = append(c.ops, o)
	if !typed && len(opt.Prompts) > 0 {
		// Type-ahead skips the prompts: the caller already knows what to key.
		o.prompts = opt.Prompts
		c.startPrompt(o)
	} else {
		c.startCollecting(o)
	}
	m.park(&o.w)
	return string(o.digits), o.result()
}

// push adds one key and reports whether the collection is complete.
func (o *op) push(k string) bool {
	if o.term != "" && strings.Contains(o.term, k) {
		o.why = "terminator " + k
		return true
	}
	o.digits = append(o.digits, k...)
	if o.max > 0 && len(o.digits) >= o.max {
		o.why = "max"
		return true
	}
	return false
}

func (o *op) collected() string { return fmt.Sprintf("collected %s (%s)", o.digits, o.why) }

func (c *Call) startCollecting(o *op) {
	o.collecting = true
	d := o.first
	if len(o.digits) > 0 {
		d = o.inter
	}
	c.armCollect(o, d)
}

func (c *Call) armCollect(o *op, d time.Duration) {
	m := c.sw.sim
	m.cancel(o.w.timer)
	o.w.timer = nil
	if d <= 0 {
		o.why = "timeout"
		c.endCollect(o)
		return
	}
	o.w.timer = m.schedule(m.now.Add(d), func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if o.w.woken {
			return
		}
		o.w.timer = nil
		o.why = "timeout"
		c.endCollect(o)
	})
}

func (c *Call) endCollect(o *op) {
	c.note(o.collected())
	c.finish(o)
}

// Record records the far end saying its name (Caller.Name, Response.Name)
// at about ten characters a second; a silent party fills Max.
func (c *Call) Record(ctx context.Context, opt pbx.RecordOptions) (pbx.Recording, error) {
	m := c.sw.sim
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := c.check(ctx, "record"); err != nil {
		return pbx.Recording{}, err
	}
	m.mustPark("Record")
	o := c.newOp(ctx, opRecord, "record")
	o.recName, o.started = opt.Name, m.now
	var d time.Duration
	if c.far != nil {
		d = time.Duration(utf8.RuneCountInString(c.far.name)) * nameRate
	}
	if d <= 0 || (opt.Max > 0 && d > opt.Max) {
		d = opt.Max
	}
	what := "record " + opt.Name
	if opt.Beep {
		what += " after a beep"
	}
	c.note(what)
	o.w.timer = m.schedule(m.now.Add(d), func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if !o.w.woken {
			o.w.timer = nil
			c.endRecord(o)
		}
	})
	m.park(&o.w)
	return o.rec, o.result()
}

func (c *Call) endRecord(o *op) {
	d := c.sw.sim.now.Sub(o.started)
	o.rec = pbx.Recording{Name: o.recName, Duration: d}
	c.sw.recs[o.recName] = d
	c.note(fmt.Sprintf("recorded %s %s", o.recName, d))
	c.finish(o)
}

// Wait returns the next event, or a timeout after d.
func (c *Call) Wait(ctx context.Context, d time.Duration) (pbx.Event, error) {
	m := c.sw.sim
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return pbx.Event{}, err
	}
	// Events queued before a remote hangup, and the hangup itself, are
	// still read in order; after our own Hangup the queue is gone.
	if len(c.events) > 0 {
		ev := c.events[0]
		c.events = c.events[1:]
		return ev, nil
	}
	if c.gone {
		return pbx.Event{}, c.hungUp("wait on")
	}
	if d <= 0 {
		return pbx.Event{Kind: pbx.EventTimeout}, nil
	}
	m.mustPark("Wait")
	o := c.newOp(ctx, opWait, "wait on")
	o.w.timer = m.schedule(m.now.Add(d), func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if !o.w.woken {
			o.w.timer = nil
			o.event = pbx.Event{Kind: pbx.EventTimeout}
			c.finish(o)
		}
	})
	m.park(&o.w)
	return o.event, o.result()
}

// post delivers a non-key event to the oldest waiting Wait, or queues it.
func (c *Call) post(ev pbx.Event) {
	for _, o := range c.ops {
		if o.kind == opWait {
			o.event = ev
			c.finish(o)
			return
		}
	}
	c.events = append(c.events, ev)
}

// deliverKey gives a key to the first waiting verb that takes it, or
// queues it: a key never stops a prompt unless the Play asked for it.
func (c *Call) deliverKey(k string) {
	c.note("key " + k)
	for _, o := range c.ops {
		switch o.kind {
		case opPlay:
			if o.interrupt == "" || !strings.Contains(o.interrupt, k) {
				continue
			}
			o.key = k
			c.finish(o)
		case opCollect:
			if !o.collecting {
				c.sw.sim.cancel(o.w.timer) // the key stops the prompts
				o.w.timer = nil
				o.collecting = true
			}
			if o.push(k) {
				c.endCollect(o)
			} else {
				c.armCollect(o, o.inter)
			}
		case opRecord:
			c.endRecord(o)
		case opWait:
			o.event = pbx.Event{Kind: pbx.EventKey, Key: k}
			c.finish(o)
		}
		return
	}
	c.events = append(c.events, pbx.Event{Kind: pbx.EventKey, Key: k})
}

// Bridge connects c and other, which must be calls of the same Switch.
// Whatever either was playing, collecting or recording ends at once, with
// what it had so far and no error, as on a PBX where the bridge takes the
// channel's media.
func (c *Call) Bridge(ctx context.Context, other pbx.Call) error {
	m := c.sw.sim
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	o, ok := other.(*Call)
	if !ok || o == nil || o.sw != c.sw {
		return fmt.Errorf("bridge %s with %v: %w", c.id, other, errNotOurs)
	}
	if o == c {
		return fmt.Errorf("bridge %s with itself", c.id)
	}
	if err := c.check(ctx, "bridge"); err != nil {
		return err
	}
	if err := o.check(ctx, "bridge"); err != nil {
		return err
	}
	if c.peer == o {
		return nil
	}
	c.leaveBridge()
	o.leaveBridge()
	c.peer, o.peer = o, c
	c.bridgedOnce, o.bridgedOnce = true, true
	c.joined(o)
	o.joined(c)
	return nil
}

// leaveBridge takes c out of its bridge; the peer stays up, alone, as
// Asterisk leaves the other channel in the bridge.
func (c *Call) leaveBridge() {
	p := c.peer
	if p == nil {
		return
	}
	c.peer, p.peer = nil, nil
	p.note("unbridged from " + c.id)
	p.post(pbx.Event{Kind: pbx.EventUnbridge, Peer: c.id})
}

func (c *Call) joined(peer *Call) {
	m := c.sw.sim
	c.moh = false
	c.note("bridged with " + peer.id)
	for _, o := range slices.Clone(c.ops) {
		switch o.kind {
		case opPlay:
			c.finish(o)
		case opCollect:
			o.why = "bridged"
			c.endCollect(o)
		case opRecord:
			c.endRecord(o)
		}
	}
	c.post(pbx.Event{Kind: pbx.EventBridged, Peer: peer.id})
	if f := c.far; f != nil && f.talk != nil && !f.talked && f.rng != nil {
		f.talked = true
		m.schedule(m.now.Add(f.talk.Draw(f.rng)), c.remoteHangup)
	}
}

// Hangup hangs the call up; the far end's script stops and a bridged peer
// is left alone in the bridge.
func (c *Call) Hangup(ctx context.Context, cause pbx.Cause) error {
	m := c.sw.sim
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.gone {
		return nil
	}
	if cause == "" {
		cause = pbx.CauseNormal
	}
	c.end(true, string(cause))
	return nil
}

// Continue hands the call back to the dialplan (pbx.Continuer): for the flow
// it is gone, as after a hangup, and the transcript says where it went.
func (c *Call) Continue(ctx context.Context) error {
	m := c.sw.sim
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.gone {
		return c.hungUp("continue")
	}
	c.note("continue in the dialplan")
	c.end(true, causeContinued)
	return nil
}

// causeContinued marks an end that was a return to the dialplan, which the
// transcript does not show as a hangup.
const causeContinued = "continued"

// remoteHangup is the far end hanging up, from a scheduled event.
// giveUp is a waiting caller's patience running out: it hangs up unless it
// has reached an agent by then (nobody hangs up on the agent for having
// waited too long).
func (c *Call) giveUp() {
	m := c.sw.sim
	m.mu.Lock()
	talked := c.bridgedOnce
	m.mu.Unlock()
	if !talked {
		c.remoteHangup()
	}
}

func (c *Call) remoteHangup() {
	m := c.sw.sim
	m.mu.Lock()
	defer m.mu.Unlock()
	if !c.gone {
		c.end(false, "")
	}
}

// end takes the call down. A remote hangup is an event the flow reads once
// with Wait; every other verb, pending or later, fails with ErrHungUp.
func (c *Call) end(local bool, cause string) {
	c.gone = true
	if local {
		if cause != causeContinued {
			c.note("hangup " + cause)
		}
		c.events = nil
	} else {
		c.remoteGone = true
		c.note("remote hangup")
	}
	c.moh = false
	c.leaveBridge()
	told := local
	for _, o := range slices.Clone(c.ops) {
		if !told && o.kind == opWait {
			o.event = pbx.Event{Kind: pbx.EventHangup, Cause: CauseNormalClearing}
			told = true
		} else {
			o.err = c.hungUp(o.verb)
		}
		c.finish(o)
	}
	if !told {
		c.events = append(c.events, pbx.Event{Kind: pbx.EventHangup, Cause: CauseNormalClearing})
	}
	if f := c.far; f != nil && f.party != nil && f.party.active == c {
		f.party.active = nil
	}
}

// scriptNext makes the far end's current step wait for its trigger.
func (c *Call) scriptNext() {
	if f := c.far; f != nil {
		f.armed = false
		c.scriptTimed()
	}
}

// scriptTimed starts the clock of a timed step, which only runs once the
// call is answered.
func (c *Call) scriptTimed() {
	f := c.far
	if f == nil || f.armed || !c.answered || c.gone || f.next >= len(f.script) {
		return
	}
	switch a := f.script[f.next].(type) {
	case Press:
		c.arm(a.After, func() { c.press(a.Keys) })
	case HangUp:
		c.arm(a.After, func() { c.end(false, "") })
	}
}

// heard is the far end starting to hear p.
func (c *Call) heard(p pbx.Prompt) {
	f := c.far
	if f == nil || f.armed || f.next >= len(f.script) {
		return
	}
	switch a := f.script[f.next].(type) {
	case PressOn:
		if promptMatches(a.Prompt, p) {
			c.arm(a.Delay, func() { c.press(a.Keys) })
		}
	case HangUpOn:
		if promptMatches(a.Prompt, p) {
			c.arm(a.Delay, func() { c.end(false, "") })
		}
	}
}

// arm schedules the current step's action d from now.
func (c *Call) arm(d time.Duration, act func()) {
	m := c.sw.sim
	c.far.armed = true
	m.schedule(m.now.Add(d), func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if !c.gone {
			act()
		}
	})
}

// press presses keys KeyGap apart, then moves the script on.
func (c *Call) press(keys string) {
	if keys == "" {
		c.far.next++
		c.scriptNext()
		return
	}
	c.deliverKey(keys[:1])
	if len(keys) == 1 {
		c.far.next++
		c.scriptNext()
		return
	}
	m := c.sw.sim
	rest := keys[1:]
	m.schedule(m.now.Add(KeyGap), func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if !c.gone {
			c.press(rest)
		}
	})
}
