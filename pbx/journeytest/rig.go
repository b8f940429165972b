// Package journeytest is one table of caller journeys run against every PBX
// adapter, so the Asterisk and FreeSWITCH adapters cannot drift apart: the
// same callers press the same keys at the same prompts, the same customers
// answer or are busy, and the same journal, prompts and bridges are expected
// of both.
//
// The real line (queue), IVR and dialer are built here, once for every PBX;
// an adapter's test file supplies a Rig, which starts its fake PBX
// (pbx/asterisk/aritest, pbx/freeswitch/esltest), builds its Switch against
// it, and turns the table's scripted parties into the fake's own scripts:
//
//	func TestJourneys(t *testing.T) {
//		journeytest.Run(t, func(t *testing.T) journeytest.Rig { return newRig(t) })
//	}
//
// Time: vhold runs on the wall clock with short settings (announcements every
// 2 s, a 1 s retry delay); the fakes run their world sped up (rings,
// prompts, key presses). Every duration in this package is wall-clock time;
// a Rig converts it to its fake's time.
package journeytest

import (
	"context"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/pbx"
)

// Rig is one PBX under test: a fake PBX started for one scenario, the
// adapter's Switch connected to it, and the scripted parties on its side.
// A Rig is made fresh for every scenario (Run's newRig) and closes its fake
// when the scenario's test ends.
type Rig interface {
	// Switch builds the adapter's pbx.Switch for the fake, logging to log.
	// RunScenario serves it and stops it.
	Switch(log *logrus.Entry) pbx.Switch
	// WaitConnected returns once the Switch being served has connected to
	// the fake, so calls placed from then on reach vhold.
	WaitConnected(ctx context.Context) error
	// AgentEndpoint is the dial string of agent id's phone on this PBX
	// ("PJSIP/1001", "sofia/lab/1001@127.0.0.1:5091").
	AgentEndpoint(id string) string
	// DialString turns a customer's E.164 number into a dial string, with
	// "{number}" in its place ("PJSIP/{number}@trunk",
	// "sofia/gateway/trunk/{number}").
	DialString() string

	// Caller places an incoming call from number, handed to queue by the
	// dialplan, whose party does actions once answered.
	Caller(number, queue string, actions []Action) Party
	// Agent scripts the phone at endpoint (from AgentEndpoint).
	Agent(endpoint string, b Behaviour) Phone
	// Customer scripts the phone a callback to number reaches (through
	// DialString).
	Customer(number string, b Behaviour) Phone
}

// Action is one thing a scripted party does, once, after its call is
// answered.
type Action struct {
	// OnPrompt is the catalog key of the prompt whose start triggers the
	// action ("offer-callback"); empty triggers it when the call is
	// answered.
	OnPrompt string
	// After is the time from the trigger to the action.
	After time.Duration
	// Press is DTMF digits to press, one after the other.
	Press string
	// HangUp hangs up (after the digits, if any).
	HangUp bool
}

// PressDelay is how long a party takes to press a key once a prompt has
// begun: the key lands while the prompt plays, as a caller who knows the
// menu presses it.
const PressDelay = 5 * time.Millisecond

// Press presses keys while prompt plays.
func Press(prompt, keys string) Action {
	return Action{OnPrompt: prompt, After: PressDelay, Press: keys}
}

// HangUpAfter hangs up d after prompt began (after the answer, for "").
func HangUpAfter(prompt string, d time.Duration) Action {
	return Action{OnPrompt: prompt, After: d, HangUp: true}
}

// Behaviour is what a phone vhold dials does with its calls: answer after a
// ring and do Actions, or refuse (Busy, Unallocated), or ring out
// (NoAnswer). For and Then chain behaviours: busy once, then answer.
type Behaviour struct {
	// Busy refuses the call busy (SIP 486: USER_BUSY, Q.850 17).
	Busy bool
	// Unallocated refuses the call as a number that does not exist (SIP
	// 404: UNALLOCATED_NUMBER, Q.850 1).
	Unallocated bool
	// NoAnswer rings until vhold's ring timeout (NO_ANSWER, Q.850 19).
	NoAnswer bool
	// Ring is how long the phone rings before it answers; 0 is DefaultRing.
	Ring time.Duration
	// Actions are what the party does on an answered call.
	Actions []Action
	// For is how many calls this behaviour takes; Then takes the calls
	// after those. 0 (or a nil Then) takes every call.
	For  int
	Then *Behaviour
}

// Steps flattens the chain: each behaviour with the number of the first
// call (1-based) it takes.
func (b Behaviour) Steps() (steps []Behaviour, from []int) {
	n := 1
	for cur := &b; cur != nil; cur = cur.Then {
		steps, from = append(steps, *cur), append(from, n)
		if cur.For <= 0 {
			break
		}
		n += cur.For
	}
	return steps, from
}

// DefaultRing is how long a phone rings before answering: a second at the
// rigs' speed of 20.
const DefaultRing = 50 * time.Millisecond

// Party is one call as its far end (the caller's, agent's or customer's
// phone) saw it.
type Party interface {
	Answered() bool
	HungUp() bool
	// Heard lists the catalog keys of the prompts the party began to hear,
	// in order: "greeting", "position-you-are-number", the composed
	// numbers' keys, a recording's name; music on hold is left out.
	Heard() []string
	// Bridges lists an id for every bridge the party has been in; two
	// parties bridged together share one.
	Bridges() []string
	// Log is the fake's account of the call, for failure messages.
	Log() []string
}

// Phone is a scripted phone vhold dials (an agent's, a customer's).
type Phone interface {
	// Calls lists the calls that reached it, in order.
	Calls() []Party
}
