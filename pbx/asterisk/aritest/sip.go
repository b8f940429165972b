package aritest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Party is a caller id: a number and a display name.
type Party struct {
	Number, Name string
}

// CallSpec describes an inbound call: a phone dialling a dialplan extension
// whose line is Stasis(App,Args...).
type CallSpec struct {
	// Caller is the calling party; default number "caller", as the traced
	// sipp endpoint presented itself (inbound-dtmf.jsonl seq 5).
	Caller Party
	// Endpoint is the PJSIP endpoint the call arrives on, which names the
	// channel "PJSIP/<Endpoint>-0000000a"; default "caller".
	Endpoint string
	// App is the Stasis application; default Options.App.
	App string
	// Args are the Stasis() arguments after the app name, delivered unparsed
	// in StasisStart: Stasis(vhold,support) gives ["support"].
	Args []string
	// Context and Exten locate the Stasis() line (priority 2, after a NoOp,
	// as in the traces' extensions.conf); default "from-caller" and "100".
	Context, Exten string
	// Language is the channel's language; default "en".
	Language string
	// Script is what the caller does by itself once answered.
	Script Script
	// Speech is how long the caller talks when recorded before falling silent;
	// default 2 s.
	Speech time.Duration
}

// Step is one thing a scripted party does, once (or Times times).
type Step struct {
	// AfterMedia triggers the step when the party has heard a playback item
	// whose media URI matches (a * matches any run of characters), played to
	// its channel or into its bridge; empty triggers it when the call is
	// answered.
	AfterMedia string
	// During triggers on the start of AfterMedia rather than its end: the
	// party presses while the prompt is still playing.
	During bool
	// Delay is the time between the trigger and the action.
	Delay time.Duration
	// Press is a string of DTMF digits to press.
	Press string
	// HangUp hangs up, after the digits if any.
	HangUp bool
	// Times repeats the action (0 or 1: once), Every apart; uac-dtmf.xml in
	// the traces is Step{Delay: 3 s, Press: "1", Every: 3 s, Times: 20}.
	Times int
	Every time.Duration
}

// Script is a scripted party's behaviour: each step fires at most once.
type Script []Step

// Heard is one media item a party heard, or began to.
type Heard struct {
	Media    string // media URI: "sound:hello-world", "recording:name-123"
	Lang     string
	Via      string // "channel:ID" for a channel playback, "bridge:ID" for one into its bridge
	Playback string // the playback id
	// End is "" while it plays, "done" when it played to its end, "stopped"
	// when it was cut short (DELETE /playbacks, the party left the bridge or
	// hung up) and "failed" when Asterisk could not play it.
	End string
}

// MOHChange is a change in the music a party hears.
type MOHChange struct {
	Class string // "" when the music stopped
	Via   string // "channel" for channel MOH, "bridge:ID" for bridge MOH
}

// Location is a dialplan place a channel was sent to with continue.
type Location struct {
	Context, Exten string
	Priority       int
	Label          string
}

// Call is the SIP side of one channel: the phone of an inbound caller, or
// the callee of an originate. A test drives it (Press, HangUp) and inspects
// what Asterisk did to it.
type Call struct {
	s       *Server
	inbound bool
	ep      *Endpoint
	script  Script
	speech  time.Duration
	silent  bool // nothing answers SIP for it (Ghost): no SIP flow

	ch        *channel
	id, name  string
	flow      []string
	log       []string
	heard     []Heard
	moh       []MOHChange
	mohNow    MOHChange
	declined  bool
	answered  bool
	hungUp    bool
	cause     int
	continued *Location
	fired     []bool
	dtmf      string
}

// Call places an inbound call. With the app's WebSocket connected the channel
// enters Stasis at once, in state Ring: StasisStart{args} (inbound-dtmf.jsonl
// seq 5). With none, Stasis() fails and the caller gets 603 Decline with no
// event at all (disconnect.jsonl seq 23-25): the returned Call says Declined.
func (s *Server) Call(spec CallSpec) *Call {
	if spec.Caller.Number == "" {
		spec.Caller.Number = "caller"
	}
	if spec.Endpoint == "" {
		spec.Endpoint = "caller"
	}
	if spec.App == "" {
		spec.App = s.opts.App
	}
	if spec.Context == "" {
		spec.Context = "from-caller"
	}
	if spec.Exten == "" {
		spec.Exten = "100"
	}
	if spec.Language == "" {
		spec.Language = "en"
	}
	if spec.Speech == 0 {
		spec.Speech = defaultSpeech
	}
	s.lock()
	defer s.unlock()
	c := &Call{s: s, inbound: true, script: spec.Script, speech: spec.Speech, fired: make([]bool, len(spec.Script))}
	s.calls = append(s.calls, c)
	ch := &channel{
		id:         s.newUniqueID(),
		name:       s.newChannelName("PJSIP", spec.Endpoint),
		state:      "Ring",
		protocolID: fmt.Sprintf("%d-%d@127.0.0.1", len(s.calls), s.pid),
		caller:     party{spec.Caller.Name, spec.Caller.Number},
		context:    spec.Context,
		exten:      spec.Exten,
		priority:   2,
		created:    s.now(),
		language:   spec.Language,
		vars:       map[string]string{},
		kind:       kindInbound,
		app:        spec.App,
		args:       slices.Clone(spec.Args),
		tech:       "PJSIP",
		resource:   spec.Endpoint,
		call:       c,
	}
	c.ch, c.id, c.name = ch, ch.id, ch.name
	c.sip("sent INVITE", "recv 100 Trying")
	if !s.apps[spec.App].active() {
		c.declined = true
		c.hungUp = true
		c.cause = 21
		c.sip("recv 603 Decline", "sent ACK")
		c.logf("declined: Stasis(%s) failed, no WebSocket for the app", spec.App)
		return c
	}
	s.register(ch)
	c.logf("in Stasis(%s) as %s", ch.app, ch.id)
	s.enterStasis(ch)
	return c
}

// Calls lists the inbound calls placed so far, in order.
func (s *Server) Calls() []*Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// sip records SIP messages in sipp's words ("recv 200 OK", "sent BYE"), the
// sip_flow of the traces' sipp_exit lines, seen from the party's side.
func (c *Call) sip(msgs ...string) {
	if c == nil || c.silent {
		return
	}
	c.flow = append(c.flow, msgs...)
	if c.ep != nil {
		c.ep.flow = append(c.ep.flow, msgs...)
	}
	for _, m := range msgs {
		c.logf("SIP %s", m)
	}
}

func (c *Call) logf(format string, args ...any) {
	if c == nil {
		return
	}
	line := fmt.Sprintf(format, args...)
	c.log = append(c.log, line)
	c.s.logf("call %s: %s", c.name, line)
}

// answeredByAsterisk: the app answered an inbound call.
func (c *Call) answeredByAsterisk() {
	if c == nil || c.answered {
		return
	}
	c.sip("recv 200 OK", "sent ACK")
	c.answered = true
	c.startScript()
}

// answeredByParty: the callee of an originate answered.
func (c *Call) answeredByParty() {
	c.sip("sent 200 OK", "recv ACK")
	c.answered = true
	c.startScript()
}

// byeFromAsterisk: Asterisk ended the call.
func (c *Call) byeFromAsterisk() {
	if c == nil {
		return
	}
	switch {
	case c.answered:
		c.sip("recv BYE", "sent 200 OK")
	case c.inbound:
		c.sip("recv 603 Decline", "sent ACK")
	default:
		c.cancelled()
	}
}

// cancelled: Asterisk gave up on a ringing outbound call (caller-abandon.jsonl,
// the noanswer sipp's flow).
func (c *Call) cancelled() {
	if c == nil {
		return
	}
	c.sip("recv CANCEL", "sent 200 OK", "sent 487 Request Terminated", "recv ACK")
}

func (c *Call) continuedTo(loc Location) {
	if c == nil {
		return
	}
	c.continued = &loc
	c.logf("continued to %s,%s,%d", loc.Context, loc.Exten, loc.Priority)
}

func (c *Call) ended(cause int) {
	c.hungUp = true
	c.cause = cause
	if c.mohNow.Class != "" {
		c.mohNow = MOHChange{}
		c.moh = append(c.moh, c.mohNow)
	}
	c.logf("ended, cause %d (%s)", cause, causeText(cause))
}

// mohChanged records a change in the music ch's party hears: its own channel
// MOH, else its bridge's.
func (s *Server) mohChanged(ch *channel) {
	c := ch.call
	if c == nil {
		return
	}
	var now MOHChange
	switch {
	case ch.mohOn:
		now = MOHChange{ch.mohClass, "channel"}
	case ch.bridge != nil && ch.bridge.mohOn:
		now = MOHChange{ch.bridge.mohClass, "bridge:" + ch.bridge.id}
	}
	if now.Class != "" && s.opts.MOHClasses != nil && !slices.Contains(s.opts.MOHClasses, now.Class) {
		now = MOHChange{} // an unknown class plays nothing (errors.jsonl seq 111)
	}
	if now != c.mohNow {
		c.mohNow = now
		c.moh = append(c.moh, now)
	}
}

// startScript fires the steps that wait for the answer.
func (c *Call) startScript() {
	for i, st := range c.script {
		if st.AfterMedia == "" {
			c.fire(i)
		}
	}
}

// onMedia fires the steps waiting for media to start or finish.
func (c *Call) onMedia(media string, finished bool) {
	if !c.answered {
		return
	}
	for i, st := range c.script {
		if !c.fired[i] && st.AfterMedia != "" && st.During != finished && globMatch(st.AfterMedia, media) {
			c.fire(i)
		}
	}
}

func (c *Call) fire(i int) {
	c.fired[i] = true
	st := c.script[i]
	for k := range max(st.Times, 1) {
		c.s.chanAfter(c.ch, st.Delay+time.Duration(k)*st.Every, func() { c.act(st) })
	}
}

func (c *Call) act(st Step) {
	if st.Press != "" {
		c.press(st.Press)
	}
	if st.HangUp {
		d := time.Duration(len(st.Press)) * (dtmfPress + dtmfGap)
		c.s.chanAfter(c.ch, d, c.hangUp)
	}
}

// globMatch matches s against pattern, where * stands for any run of
// characters (slashes included, unlike path.Match: sound:vhold/en/offer).
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// Press presses DTMF digits, one after the other: each gives one
// ChannelDtmfReceived {"digit", "duration_ms":160} at the end of its press
// (inbound-dtmf.jsonl seq 20), whatever the channel is doing: playing,
// bridged, on hold. Presses never stop a playback (traces README). Press
// returns at once; the events follow 160 ms (real time) apart plus a gap.
func (c *Call) Press(digits string) {
	c.s.lock()
	defer c.s.unlock()
	c.press(digits)
}

func (c *Call) press(digits string) {
	if c.ch == nil || c.hungUp {
		return
	}
	for i, d := range digits {
		digit := string(d)
		c.s.chanAfter(c.ch, time.Duration(i)*(dtmfPress+dtmfGap)+dtmfPress, func() { c.s.dtmf(c.ch, digit) })
	}
}

// dtmf delivers one key press; without media (not answered, no early media)
// there is no RTP to carry it.
func (s *Server) dtmf(ch *channel, digit string) {
	if ch.state != "Up" && !ch.progress {
		ch.call.logf("pressed %s with no media: lost", digit)
		return
	}
	ch.call.dtmf += digit
	ch.call.logf("pressed %s", digit)
	s.chanEvent(ch, s.chanEv(ch, "ChannelDtmfReceived", kv{"digit", digit}, kv{"duration_ms", 160}))
	if r := ch.rec; r != nil && r.state == "recording" && r.terminates(digit) {
		s.endRecording(r, "done")
	}
}

// HangUp hangs up from the party's side: a BYE once answered, a CANCEL
// before (inbound), a 603 before answering (outbound). Asterisk reports a
// remote BYE as ChannelHangupRequest with no cause (caller-abandon.jsonl seq
// 32), then ChannelLeftBridge and StasisEnd; it never hangs up the other
// party of a bridge (originate-answer.jsonl seq 106-114).
func (c *Call) HangUp() {
	c.s.lock()
	defer c.s.unlock()
	c.hangUp()
}

func (c *Call) hangUp() {
	s, ch := c.s, c.ch
	if ch == nil || ch.gone || c.hungUp {
		return
	}
	if !c.inbound && !c.answered {
		// The callee rejects the ringing call.
		s.dialFailed(ch, 21, 603, "sent 603 Decline")
		return
	}
	switch {
	case c.answered:
		c.sip("sent BYE", "recv 200 OK")
	default:
		c.sip("sent CANCEL", "recv 200 OK", "recv 487 Request Terminated", "sent ACK")
	}
	ch.hangingUp = true
	s.rtpQoS(ch)
	s.hangupRequest(ch, nil)
	s.teardown(ch)
	s.destroy(ch, 16, 0)
}

// ID is the channel id ("1795258298.0", or the channelId of an originate);
// empty for a declined call.
func (c *Call) ID() string { c.s.mu.Lock(); defer c.s.mu.Unlock(); return c.id }

// Name is the channel name, "PJSIP/caller-00000000".
func (c *Call) Name() string { c.s.mu.Lock(); defer c.s.mu.Unlock(); return c.name }

// State is the channel's last ARI state: Ring, Ringing, Down or Up; empty
// for a declined call.
func (c *Call) State() string {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.ch == nil || c.declined {
		return ""
	}
	return c.ch.state
}

// Declined says whether Stasis() refused the call (no WebSocket for the app).
func (c *Call) Declined() bool { c.s.mu.Lock(); defer c.s.mu.Unlock(); return c.declined }

// Answered says whether the call was answered.
func (c *Call) Answered() bool { c.s.mu.Lock(); defer c.s.mu.Unlock(); return c.answered }

// HungUp says whether the call has ended, by either side.
func (c *Call) HungUp() bool { c.s.mu.Lock(); defer c.s.mu.Unlock(); return c.hungUp }

// Cause is the hangup cause the channel was destroyed with (16, 17, 19...).
func (c *Call) Cause() int { c.s.mu.Lock(); defer c.s.mu.Unlock(); return c.cause }

// Continued says where POST /continue sent the call, if it did.
func (c *Call) Continued() (Location, bool) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.continued == nil {
		return Location{}, false
	}
	return *c.continued, true
}

// Heard lists the media the party heard (or began to), in order.
func (c *Call) Heard() []Heard { c.s.mu.Lock(); defer c.s.mu.Unlock(); return slices.Clone(c.heard) }

// MOH is the music-on-hold class the party hears now, "" for none.
func (c *Call) MOH() string { c.s.mu.Lock(); defer c.s.mu.Unlock(); return c.mohNow.Class }

// MOHHistory lists every change in the music the party heard.
func (c *Call) MOHHistory() []MOHChange {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return slices.Clone(c.moh)
}

// Bridge is the id of the bridge the channel is in, "" for none.
func (c *Call) Bridge() string {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.ch == nil || c.ch.bridge == nil {
		return ""
	}
	return c.ch.bridge.id
}

// BridgedWith lists the other channels in the same bridge.
func (c *Call) BridgedWith() []string {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.ch == nil || c.ch.bridge == nil {
		return nil
	}
	var out []string
	for _, m := range c.ch.bridge.members {
		if m != c.ch {
			out = append(out, m.id)
		}
	}
	return out
}

// Pressed is every digit whose press reached Asterisk.
func (c *Call) Pressed() string { c.s.mu.Lock(); defer c.s.mu.Unlock(); return c.dtmf }

// Variable reads a channel variable (or CALLERID(name)...) while the channel
// exists.
func (c *Call) Variable(name string) (string, bool) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.ch == nil || c.ch.gone {
		return "", false
	}
	return c.ch.variable(name)
}

// SIPFlow lists the SIP messages the party sent and received, in sipp's
// words, comparable with a trace's sip_flow.
func (c *Call) SIPFlow() []string { c.s.mu.Lock(); defer c.s.mu.Unlock(); return slices.Clone(c.flow) }

// Log lists what happened to the call, for failure messages.
func (c *Call) Log() []string { c.s.mu.Lock(); defer c.s.mu.Unlock(); return slices.Clone(c.log) }

// WaitAnswered waits until the call is answered.
func (c *Call) WaitAnswered(ctx context.Context) error {
	return c.s.WaitFor(ctx, c.Answered)
}

// WaitHungUp waits until the call has ended.
func (c *Call) WaitHungUp(ctx context.Context) error {
	return c.s.WaitFor(ctx, c.HungUp)
}

// WaitBridged waits until the channel is in a bridge with another channel.
func (c *Call) WaitBridged(ctx context.Context) error {
	return c.s.WaitFor(ctx, func() bool { return len(c.BridgedWith()) > 0 })
}

// WaitHeard waits until the party has begun to hear media matching pattern
// (* wildcards) and returns that entry.
func (c *Call) WaitHeard(ctx context.Context, pattern string) (Heard, error) {
	var h Heard
	err := c.s.WaitFor(ctx, func() bool {
		for _, x := range c.Heard() {
			if globMatch(pattern, x.Media) {
				h = x
				return true
			}
		}
		return false
	})
	return h, err
}
