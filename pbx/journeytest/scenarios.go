package journeytest

import "time"

// Scenario is one caller journey: who calls and what they press, what the
// phones vhold dials do, and what must come of it. The cast is always the
// same: one queue, "support", and one agent, alice, who is either free from
// the start or on another call (in wrap-up) until every caller has left.
type Scenario struct {
	Name string
	// Story says what happens, for a reader of the table.
	Story string

	// AgentFree makes alice available from the start. Otherwise she is
	// busy, so callers hold and are offered a callback, until every caller
	// has left; then she is free.
	AgentFree bool
	// Agent is what alice's phone does.
	Agent Behaviour
	// Callers call in, in this order.
	Callers []Caller
	// Customers are the phones callbacks reach.
	Customers []Customer
	// RecordName asks a caller taking a callback to say their name (the
	// queue's qualify.record_name), which alice then hears in the whisper.
	RecordName bool

	// Tickets is the journal expected of every ticket, by the ticket's
	// number (the callback's number once converted): "join convert reserve
	// dial connect complete". No other ticket may exist.
	Tickets map[string]string
	// AgentCalls is how many times alice's phone is rung.
	AgentCalls int
	// AgentHeard is what alice hears on her last call, in order (a
	// subsequence of all she heard; * matches any run of characters).
	AgentHeard []string
	// Bridged lists the numbers whose (last) call ends up bridged with
	// alice's: a caller put through, a customer called back.
	Bridged []string
}

// Caller is one incoming call.
type Caller struct {
	Number, Queue string
	Actions       []Action
	// Heard is what the caller hears, in order (a subsequence of all they
	// heard; * matches any run of characters); NotHeard, what they must
	// never hear.
	Heard, NotHeard []string
}

// Customer is the phone a callback to Number reaches.
type Customer struct {
	Number string
	Behaviour
	// Calls is how many times it is dialed.
	Calls int
	// Heard is what the customer hears on the last call, in order.
	Heard []string
}

// RetryDelay is the line's wait before dialing a callback again after a
// failed attempt.
const RetryDelay = time.Second

// The parties' numbers.
const (
	numberA     = "+34611000001"
	otherNumber = "+34612345678"
)

// What a caller hears from the offer to the goodbye when they take a
// callback on their own number.
var tookCallback = []string{
	"greeting", "position-you-are-number", "offer-callback",
	"number-ending-in", "number-confirm-or-other", "promise-within", "goodbye",
}

// What a called-back customer hears before pressing 1.
var calledBack = []string{"confirm-callback-from", "queue-support", "confirm-connect-or-later"}

// takesCallback presses 1 on the offer and 1 to confirm the caller's own
// number.
var takesCallback = []Action{Press("offer-callback", "1"), Press("number-confirm-or-other", "1")}

// answersAndConnects answers and presses 1 to be connected.
var answersAndConnects = Behaviour{Actions: []Action{Press("confirm-connect-or-later", "1")}}

// talksAfterWhisper is alice on a callback: she hears the whisper, talks
// half a second and hangs up.
var talksAfterWhisper = Behaviour{Actions: []Action{HangUpAfter("whisper-waited", 500*time.Millisecond)}}

// Scenarios is the table every adapter runs.
var Scenarios = []Scenario{
	{
		Name: "callback-own-number",
		Story: "A caller on hold presses 1 on the offer, confirms their own number and is let go; " +
			"when alice frees up the callback is dialed, the customer presses 1, alice hears the whisper " +
			"and the two are bridged.",
		Agent:   talksAfterWhisper,
		Callers: []Caller{{Number: numberA, Queue: "support", Actions: takesCallback, Heard: tookCallback}},
		Customers: []Customer{{Number: numberA, Behaviour: answersAndConnects, Calls: 1,
			Heard: calledBack}},
		Tickets:    map[string]string{numberA: "join convert reserve dial connect complete"},
		AgentCalls: 1,
		AgentHeard: []string{"category-general", "whisper-waited"},
		Bridged:    []string{numberA},
	},
	{
		Name:      "straight-through",
		Story:     "Alice is free: the caller is greeted and put through to her; she talks a second and hangs up.",
		AgentFree: true,
		Agent:     Behaviour{Actions: []Action{HangUpAfter("", time.Second)}},
		Callers: []Caller{{Number: numberA, Queue: "support",
			Heard: []string{"greeting"}, NotHeard: []string{"offer-callback"}}},
		Tickets:    map[string]string{numberA: "join reserve connect complete"},
		AgentCalls: 1,
		Bridged:    []string{numberA},
	},
	{
		Name:  "abandon-while-holding",
		Story: "The caller hears their place in line and hangs up while holding.",
		Callers: []Caller{{Number: numberA, Queue: "support",
			Actions: []Action{HangUpAfter("position-you-are-number", 300*time.Millisecond)},
			Heard:   []string{"greeting", "position-you-are-number"}}},
		Tickets: map[string]string{numberA: "join abandon"},
	},
	{
		Name: "callback-busy-then-answers",
		Story: "The caller takes a callback; the first dial finds the customer busy, the retry " +
			"a second later reaches them, they press 1 and are bridged with alice.",
		Agent:   talksAfterWhisper,
		Callers: []Caller{{Number: numberA, Queue: "support", Actions: takesCallback, Heard: tookCallback}},
		Customers: []Customer{{Number: numberA, Calls: 2, Heard: calledBack,
			Behaviour: Behaviour{Busy: true, For: 1, Then: &answersAndConnects}}},
		Tickets:    map[string]string{numberA: "join convert reserve dial retry reserve dial connect complete"},
		AgentCalls: 1,
		AgentHeard: []string{"category-general", "whisper-waited"},
		Bridged:    []string{numberA},
	},
	{
		Name: "customer-says-later",
		Story: "The called-back customer presses 2 (not a good time) and hears that we will call again; " +
			"the retry a second later reaches them, they press 1 and are bridged with alice.",
		Agent:   talksAfterWhisper,
		Callers: []Caller{{Number: numberA, Queue: "support", Actions: takesCallback, Heard: tookCallback}},
		Customers: []Customer{{Number: numberA, Calls: 2, Heard: calledBack,
			Behaviour: Behaviour{Actions: []Action{Press("confirm-connect-or-later", "2")}, For: 1, Then: &answersAndConnects}}},
		Tickets:    map[string]string{numberA: "join convert reserve dial retry reserve dial connect complete"},
		AgentCalls: 1,
		AgentHeard: []string{"category-general", "whisper-waited"},
		Bridged:    []string{numberA},
	},
	{
		Name: "agent-does-not-answer",
		Story: "Alice is free but does not answer her phone: after the agent ring timeout the caller goes " +
			"back to their place in line, and hangs up a while later.",
		AgentFree: true,
		Agent:     Behaviour{NoAnswer: true},
		Callers: []Caller{{Number: numberA, Queue: "support",
			Actions: []Action{HangUpAfter("position-you-are-number", time.Second)},
			Heard:   []string{"greeting", "position-you-are-number"}}},
		Tickets:    map[string]string{numberA: "join reserve release abandon"},
		AgentCalls: 1,
	},
	{
		Name: "hangs-up-keying-number",
		Story: "The caller presses 1, then 2 for another number, keys four digits and hangs up: " +
			"the live ticket is abandoned and no callback is taken.",
		Callers: []Caller{{Number: numberA, Queue: "support",
			Actions: []Action{
				Press("offer-callback", "1"),
				Press("number-confirm-or-other", "2"),
				{OnPrompt: "number-enter", After: PressDelay, Press: "6123", HangUp: true},
			},
			Heard:    []string{"offer-callback", "number-confirm-or-other", "number-enter"},
			NotHeard: []string{"number-you-entered", "promise-within"}}},
		Tickets: map[string]string{numberA: "join abandon"},
	},
	{
		Name:  "unknown-queue",
		Story: "A call handed to a queue vhold does not serve hears that the line is not available and is hung up; no ticket.",
		Callers: []Caller{{Number: numberA, Queue: "sales",
			Heard: []string{"queue-unavailable"}, NotHeard: []string{"greeting", "position-you-are-number"}}},
	},
	{
		Name: "callback-other-number",
		Story: "The caller presses 1, then 2 for another number, keys it with the hash key and confirms it; " +
			"the callback goes to that number.",
		Agent: talksAfterWhisper,
		Callers: []Caller{{Number: numberA, Queue: "support",
			Actions: []Action{
				Press("offer-callback", "1"),
				Press("number-confirm-or-other", "2"),
				Press("number-enter", "612345678#"),
				Press("number-correct-or-retry", "1"),
			},
			Heard: []string{"offer-callback", "number-confirm-or-other", "number-enter",
				"number-you-entered", "number-correct-or-retry", "promise-within", "goodbye"}}},
		Customers: []Customer{
			{Number: otherNumber, Behaviour: answersAndConnects, Calls: 1, Heard: calledBack},
			{Number: numberA, Behaviour: answersAndConnects, Calls: 0},
		},
		Tickets:    map[string]string{otherNumber: "join convert reserve dial connect complete"},
		AgentCalls: 1,
		AgentHeard: []string{"category-general", "whisper-waited"},
		Bridged:    []string{otherNumber},
	},
	{
		Name: "callback-number-unallocated",
		Story: "The caller takes a callback, but the number does not exist when dialed (SIP 404): " +
			"the callback fails at once, with no retry, and alice is never rung.",
		Agent:   talksAfterWhisper,
		Callers: []Caller{{Number: numberA, Queue: "support", Actions: takesCallback, Heard: tookCallback}},
		Customers: []Customer{{Number: numberA, Calls: 1,
			Behaviour: Behaviour{Unallocated: true}}},
		Tickets: map[string]string{numberA: "join convert reserve dial fail"},
	},
	{
		Name: "callback-with-name",
		Story: "The queue records callers' names: the caller takes a callback, says their name after the tone, " +
			"and alice hears it first in the whisper.",
		RecordName: true,
		Agent:      talksAfterWhisper,
		Callers: []Caller{{Number: numberA, Queue: "support", Actions: takesCallback,
			Heard: []string{"offer-callback", "number-confirm-or-other", "name-record", "promise-within", "goodbye"}}},
		Customers: []Customer{{Number: numberA, Behaviour: answersAndConnects, Calls: 1,
			Heard: calledBack}},
		Tickets:    map[string]string{numberA: "join convert reserve dial connect complete"},
		AgentCalls: 1,
		AgentHeard: []string{"vhold-name-*", "category-general", "whisper-waited"},
		Bridged:    []string{numberA},
	},
}
