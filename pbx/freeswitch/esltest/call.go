package esltest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Step is one thing a scripted party does, once (or Times times).
type Step struct {
	// AfterMedia triggers the step when the party has heard a playback
	// whose path matches (a * matches any run of characters); empty
	// triggers it when the call is answered.
	AfterMedia string
	// During triggers on the start of AfterMedia rather than its end: the
	// party presses while the prompt is still playing (the traced caller
	// pressed 1 two seconds into the announcement, 01-inbound-dtmf).
	During bool
	// Delay is the time between the trigger and the action.
	Delay time.Duration
	// Press is a string of DTMF digits to press.
	Press string
	// HangUp hangs up, after the digits if any.
	HangUp bool
	// Times repeats the action (0 or 1: once), Every apart.
	Times int
	Every time.Duration
}

// Script is a scripted party's behaviour: each step fires at most once.
type Script []Step

// Heard is one prompt or stream a party heard, or began to.
type Heard struct {
	Path string // "/srv/lab/fs-run/sounds/announce.wav", "local_stream://moh"
	// Via is how it was started: "broadcast" (uuid_broadcast), "sendmsg"
	// (sendmsg execute playback) or "dialplan".
	Via string
	// AppUUID is the Application-UUID of its CHANNEL_EXECUTE: the client's
	// Event-UUID for a sendmsg.
	AppUUID string
	// End is "" while it plays, then "done" (played out), "break"
	// (uuid_break), "terminator" (a playback_terminators key), "hangup" or
	// "bridge" (uuid_bridge took the channel).
	End string
}

// Call is the SIP party of one channel: the caller of an incoming call or
// the callee of an originate. A test drives it (Press, HangUp) and
// inspects what FreeSWITCH did to it.
type Call struct {
	s       *Server
	inbound bool
	ch      *channel
	uuid    string
	ep      *Endpoint
	script  Script
	speech  time.Duration
	fired   []bool

	answered  bool
	hungUp    bool
	destroyed bool
	cause     string
	response  int // the final SIP status an unanswered inbound call got
	heard     []Heard
	pressed   string
	recorded  []string
	log       []string
}

// Calls lists the incoming calls placed so far, in order.
func (s *Server) Calls() []*Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Channel finds a call (incoming or originated) by its channel uuid.
func (s *Server) Channel(uuid string) *Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.channels[uuid]; ch != nil {
		return ch.call
	}
	return nil
}

// Channels lists the uuids of the channels that exist now (not yet
// destroyed), in creation order: what "show channels" lists.
func (s *Server) Channels() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, ch := range s.chanOrder {
		if !ch.gone {
			out = append(out, ch.uuid)
		}
	}
	return out
}

func (c *Call) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	c.log = append(c.log, line)
	c.s.logf("call %s: %s", c.uuid, line)
}

// answeredBySwitch: FreeSWITCH answered the caller, or the callee answered
// an originate.
func (c *Call) answeredBySwitch() {
	if c.answered {
		return
	}
	c.answered = true
	if c.inbound {
		c.logf("SIP 200 OK (answered by FreeSWITCH)")
	} else {
		c.logf("SIP 200 OK (answered)")
	}
	for i, st := range c.script {
		if st.AfterMedia == "" {
			c.fire(i)
		}
	}
}

// endedBySwitch: the channel hangs up, whoever started it.
func (c *Call) endedBySwitch(how hangupHow, cause string) {
	if c.hungUp {
		return
	}
	c.hungUp = true
	c.cause = cause
	switch how {
	case hangupLocal:
		if c.answered {
			c.logf("SIP BYE from FreeSWITCH (%s)", cause)
		} else if c.inbound {
			if c.response == 0 {
				// An unanswered caller whose extension ended: 480
				// (example-conf README: no socket listener).
				c.response = 480
			}
			c.logf("SIP %d from FreeSWITCH (%s)", c.response, cause)
		} else {
			c.logf("SIP CANCEL from FreeSWITCH (%s)", cause)
		}
	case hangupCancel:
		c.logf("SIP CANCEL from FreeSWITCH (%s)", cause)
	default:
		c.logf("ended: %s", cause)
	}
}

// respond: the dialplan's respond application answered the caller.
func (c *Call) respond(code string) {
	var n int
	fmt.Sscanf(code, "%d", &n)
	c.response = n
}

// cancelledBySwitch: an originate gave up ringing.
func (c *Call) cancelledBySwitch() { c.logf("SIP CANCEL (originate_timeout)") }

// refusedByParty: the callee answered a final error status.
func (c *Call) refusedByParty(status int) {
	c.logf("SIP %d %s", status, sipReason(status))
}

func (c *Call) heardStart(path string, ex *exec) int {
	via := "dialplan"
	if ex.job != nil {
		via = "sendmsg"
		if ex.job.broadcast {
			via = "broadcast"
		}
	}
	c.heard = append(c.heard, Heard{Path: path, Via: via, AppUUID: ex.appUUID})
	c.logf("hears %s", path)
	c.onMedia(path, false)
	return len(c.heard) - 1
}

func (c *Call) heardEnd(i int, why stopReason) {
	if i < 0 || i >= len(c.heard) {
		return
	}
	h := &c.heard[i]
	switch why {
	case stopDone:
		h.End = "done"
	case stopBreak:
		h.End = "break"
	case stopTerminator:
		h.End = "terminator"
	case stopHangup:
		h.End = "hangup"
	case stopTransfer:
		h.End = "bridge"
	}
	c.onMedia(h.Path, true)
}

// onMedia fires the steps waiting for media to start or finish.
func (c *Call) onMedia(path string, finished bool) {
	if !c.answered {
		return
	}
	for i, st := range c.script {
		if !c.fired[i] && st.AfterMedia != "" && st.During != finished && globMatch(st.AfterMedia, path) {
			c.fire(i)
		}
	}
}

func (c *Call) fire(i int) {
	c.fired[i] = true
	st := c.script[i]
	for k := range max(st.Times, 1) {
		c.s.after(st.Delay+time.Duration(k)*st.Every, func() { c.act(st) })
	}
}

func (c *Call) act(st Step) {
	if c.hungUp {
		return
	}
	if st.Press != "" {
		c.press(st.Press)
	}
	if st.HangUp {
		d := time.Duration(len(st.Press)) * (dtmfPress + dtmfGap)
		c.s.after(d, c.hangUp)
	}
}

// Press presses DTMF digits one after the other: each gives one DTMF event
// at the end of its press, whatever the channel is doing. A key stops a
// prompt only if it is in playback_terminators ("*" by default). Press
// returns at once.
func (c *Call) Press(digits string) {
	c.s.lock()
	defer c.s.unlock()
	c.press(digits)
}

func (c *Call) press(digits string) {
	if c.hungUp {
		return
	}
	for i, d := range digits {
		digit := string(d)
		c.s.after(time.Duration(i)*(dtmfPress+dtmfGap)+dtmfPress, func() { c.ch.dtmf(digit) })
	}
}

// HangUp hangs up from the party's side: a BYE once answered
// (NORMAL_CLEARING, recv_bye: 02-hold.esl.txt seq 497; the agent's BYE in
// 03-originate-answer), a CANCEL before (ORIGINATOR_CANCEL), a 603 from a
// ringing callee (CALL_REJECTED).
func (c *Call) HangUp() {
	c.s.lock()
	defer c.s.unlock()
	c.hangUp()
}

func (c *Call) hangUp() {
	s, ch := c.s, c.ch
	if c.hungUp || !ch.up() {
		return
	}
	switch {
	case c.answered:
		c.logf("SIP BYE")
		s.hangup(ch, "NORMAL_CLEARING", hangupRemote)
	case c.inbound:
		c.logf("SIP CANCEL")
		s.hangup(ch, "ORIGINATOR_CANCEL", hangupRemote)
	default:
		s.refused(ch, "CALL_REJECTED", 603)
	}
}

// UUID is the channel's Unique-ID.
func (c *Call) UUID() string { return c.uuid }

// Name is the channel name, "sofia/lab/15551230001@127.0.0.1:5094".
func (c *Call) Name() string { c.s.mu.Lock(); defer c.s.mu.Unlock(); return c.ch.name }

// Answered says whether the call was answered.
func (c *Call) Answered() bool { c.s.mu.Lock(); defer c.s.mu.Unlock(); return c.answered }

// HungUp says whether the call has ended, by either side.
func (c *Call) HungUp() bool { c.s.mu.Lock(); defer c.s.mu.Unlock(); return c.hungUp }

// Destroyed says whether the channel is gone (CHANNEL_DESTROY sent).
func (c *Call) Destroyed() bool { c.s.mu.Lock(); defer c.s.mu.Unlock(); return c.destroyed }

// Cause is the Hangup-Cause the channel ended with.
func (c *Call) Cause() string { c.s.mu.Lock(); defer c.s.mu.Unlock(); return c.cause }

// Response is the final SIP status an unanswered incoming call got (404
// from respond, 480 when its extension ended), 0 otherwise.
func (c *Call) Response() int { c.s.mu.Lock(); defer c.s.mu.Unlock(); return c.response }

// Heard lists what the party heard (or began to), in order.
func (c *Call) Heard() []Heard { c.s.mu.Lock(); defer c.s.mu.Unlock(); return slices.Clone(c.heard) }

// Pressed is every digit whose press reached FreeSWITCH.
func (c *Call) Pressed() string { c.s.mu.Lock(); defer c.s.mu.Unlock(); return c.pressed }

// Recorded lists the files recorded from the party, in order.
func (c *Call) Recorded() []string {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return slices.Clone(c.recorded)
}

// Log lists what happened to the call, for failure messages.
func (c *Call) Log() []string { c.s.mu.Lock(); defer c.s.mu.Unlock(); return slices.Clone(c.log) }

// Variable reads a channel variable while the channel exists.
func (c *Call) Variable(name string) (string, bool) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.ch.gone {
		return "", false
	}
	return c.ch.vars.get(name)
}

// BridgedWith is the uuid of the channel bridged with this one, "" for
// none.
func (c *Call) BridgedWith() string {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if br := c.ch.bridge; br != nil {
		return br.other(c.ch).uuid
	}
	return ""
}

// Parked says whether the channel sits in park (or in park_after_bridge's
// park state).
func (c *Call) Parked() bool {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.ch.up() && c.ch.host != nil && c.ch.host.app == "park"
}

// WaitAnswered waits until the call is answered.
func (c *Call) WaitAnswered(ctx context.Context) error { return c.s.WaitFor(ctx, c.Answered) }

// WaitHungUp waits until the call has ended.
func (c *Call) WaitHungUp(ctx context.Context) error { return c.s.WaitFor(ctx, c.HungUp) }

// WaitBridged waits until the channel is bridged.
func (c *Call) WaitBridged(ctx context.Context) error {
	return c.s.WaitFor(ctx, func() bool { return c.BridgedWith() != "" })
}

// WaitHeard waits until the party has begun to hear a path matching
// pattern (* wildcards) and returns that entry.
func (c *Call) WaitHeard(ctx context.Context, pattern string) (Heard, error) {
	var h Heard
	err := c.s.WaitFor(ctx, func() bool {
		for _, x := range c.Heard() {
			if globMatch(pattern, x.Path) {
				h = x
				return true
			}
		}
		return false
	})
	return h, err
}

// String describes the call for test messages.
func (c *Call) String() string {
	return fmt.Sprintf("call %s [%s]", c.uuid, strings.Join(c.Log(), "; "))
}
