package pbxtest

import (
	"math/rand/v2"
	"time"

	"github.com/vhold/vhold/pbx"
)

// KeyGap is the time between two keys of one Press: about what a person
// typing a phone number on a keypad takes, so inter-digit timeouts are
// exercised realistically.
const KeyGap = 300 * time.Millisecond

// Caller is a scripted person dialling in.
type Caller struct {
	Number, Name string
	// Queue and Language are what the dialplan hands the call over with.
	Queue, Language string
	// Script is what the caller does, one step after another (see Action).
	Script []Action
	// HangUpAfter is the caller's patience, counted from when they dialled;
	// 0 means they never hang up on their own. A caller who has been
	// bridged to someone by then stays on the call.
	HangUpAfter time.Duration
}

// Action is one step of a script. Steps run in order: each waits for its
// trigger (a prompt heard, or time since the previous step), acts, and
// hands over to the next. Reacting to prompts rather than to fixed times is
// what keeps an IVR test passing when a prompt's wording or length changes.
//
// A caller who takes the callback offer and confirms their number:
//
//	Script: []pbxtest.Action{
//		pbxtest.PressOn{Prompt: "offer-callback", Keys: "1", Delay: time.Second},
//		pbxtest.PressOn{Prompt: "confirm-number", Keys: "1"},
//	}
//
// or keys another number instead:
//
//	pbxtest.PressOn{Prompt: "confirm-number", Keys: "2"},
//	pbxtest.PressOn{Prompt: "enter-number", Keys: "612345678#"},
type Action interface{ action() }

// Press presses Keys (KeyGap apart) After the previous step has acted; for
// the first step, After the call was answered. A step never counts time
// before the answer.
type Press struct {
	Keys  string
	After time.Duration
}

// PressOn presses Keys Delay after the party starts hearing Prompt: a
// catalog key ("offer-callback") or a prompt as pbx.Prompt.String shows it
// ("digits:4321"). Only a prompt that starts while this step is the current
// one counts.
type PressOn struct {
	Prompt string
	Keys   string
	Delay  time.Duration
}

// HangUp hangs up After the previous step (or the answer).
type HangUp struct{ After time.Duration }

// HangUpOn hangs up Delay after the party starts hearing Prompt.
type HangUpOn struct {
	Prompt string
	Delay  time.Duration
}

func (Press) action()    {}
func (PressOn) action()  {}
func (HangUp) action()   {}
func (HangUpOn) action() {}

// Answerer decides how a called party (a customer called back, an agent)
// responds to each call it receives.
type Answerer interface {
	// Attempt is the response to the party's n-th call, counting from 1.
	Attempt(n int) Response
}

// Response is how a called party responds to one call. Every attempt gets
// the same Response; use Attempts for a party that changes its mind.
type Response struct {
	// Outcome is how the dial ends; zero means pbx.Answered.
	Outcome pbx.Outcome
	// Ring is how long it rings before the party answers (or the network
	// says busy, invalid...). Ringing past the originate's timeout is a
	// NoAnswer. An Unreachable with no Ring is an endpoint that cannot even
	// be allocated (ARI's 500 "Allocation failed"); with a Ring it is one
	// that never answers the signalling (SIP 408, Timer B).
	Ring time.Duration
	// Name is what the party says when recorded.
	Name string
	// Script runs from the answer (see Action).
	Script []Action
	// HangUpAfter hangs up this long after the answer; 0 never.
	HangUpAfter time.Duration
	// Talk, once the call is bridged, is how long the party talks before
	// hanging up (an agent's handle time); nil stays until the other side
	// or the flow ends the call.
	Talk Dist
}

// Attempt makes a Response an Answerer that responds the same way every time.
func (r Response) Attempt(int) Response { return r }

// Attempts is a party whose n-th call gets the n-th response; the last one
// repeats. Retries are tested with it: Attempts{NoAnswer(), Answers(3*time.Second)}.
type Attempts []Answerer

// Attempt returns the n-th response.
func (a Attempts) Attempt(n int) Response {
	if len(a) == 0 {
		return NoAnswer()
	}
	return a[min(max(n, 1), len(a))-1].Attempt(n)
}

// Answers answers after ringing for after, then runs script.
func Answers(after time.Duration, script ...Action) Response {
	return Response{Ring: after, Script: script}
}

// Talks answers after ringing for after and, once bridged, talks for a
// handle time drawn from talk, then hangs up: an agent taking a call.
func Talks(after time.Duration, talk Dist) Response {
	return Response{Ring: after, Talk: talk}
}

// Machine is an answering machine: it answers after ringing for after,
// never presses anything, and hangs up hangUpAfter after answering.
func Machine(after, hangUpAfter time.Duration) Response {
	return Response{Ring: after, HangUpAfter: hangUpAfter}
}

// Busy says busy at once (SIP 486).
func Busy() Response { return Response{Outcome: pbx.Busy} }

// NoAnswer rings until the originate's timeout.
func NoAnswer() Response { return Response{Outcome: pbx.NoAnswer} }

// Unreachable is an endpoint the switch cannot allocate: it fails at once.
func Unreachable() Response { return Response{Outcome: pbx.Unreachable} }

// Invalid is a number the network does not know (SIP 404).
func Invalid() Response { return Response{Outcome: pbx.Invalid} }

// Rejects declines the call (SIP 603).
func Rejects() Response { return Response{Outcome: pbx.Rejected} }

// Dist is a distribution of durations, drawn from the switch's seeded
// randomness so a run replays exactly.
type Dist interface {
	Draw(rng *rand.Rand) time.Duration
}

// Fixed is always the same duration.
type Fixed time.Duration

// Draw returns f.
func (f Fixed) Draw(*rand.Rand) time.Duration { return time.Duration(f) }

// Exponential is an exponential distribution with the given mean: the
// textbook model of handle times and patience.
type Exponential time.Duration

// Draw returns one sample.
func (e Exponential) Draw(rng *rand.Rand) time.Duration {
	return time.Duration(rng.ExpFloat64() * float64(e))
}

// Traffic is a Poisson stream of callers for demos and the simulator.
type Traffic struct {
	// Rate is the mean arrival rate in calls per hour.
	Rate       float64
	Start, End time.Time
	// Queue is the queue callers ask for unless Make says otherwise.
	Queue string
	// Make builds the i-th caller (from 0) with the stream's own
	// randomness; nil makes a caller who waits and never presses anything.
	Make func(i int, rng *rand.Rand) Caller
}

// party is a registered called party (agent or customer). Each has its own
// randomness derived from the seed and its name, so adding one party does
// not change what the others draw.
type party struct {
	name     string
	b        Answerer
	attempts int
	rng      *rand.Rand
	active   *Call // a party on a call answers a second one busy
}

// farEnd is the scripted person at the other end of a Call.
type farEnd struct {
	name        string
	script      []Action
	next        int  // index of the current step
	armed       bool // the current step has triggered; its action is scheduled
	talk        Dist
	talked      bool
	hangUpAfter time.Duration
	rng         *rand.Rand
	party       *party
}
