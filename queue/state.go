package queue

import (
	"errors"
	"fmt"
	"time"
)

// State is where a ticket is in its life. Only Apply (through the table below)
// changes it.
type State string

const (
	// Waiting: in line. A live caller is on hold; a callback or scheduled
	// callback waits for its place (and slot) to come up.
	Waiting State = "waiting"
	// Reserved: handed to a reserved agent by Next; not yet ringing anyone.
	Reserved State = "reserved"
	// Dialing: a callback attempt is in progress (customer or agent ringing).
	Dialing State = "dialing"
	// Connected: the customer and the agent are talking.
	Connected State = "connected"

	// Final states. A ticket in one never changes again; FinalReason says why.
	Completed State = "completed"
	Abandoned State = "abandoned"
	Cancelled State = "cancelled"
	Failed    State = "failed"
	Expired   State = "expired"
)

// Final reports whether no transition leaves s.
func (s State) Final() bool {
	switch s {
	case Completed, Abandoned, Cancelled, Failed, Expired:
		return true
	}
	return false
}

// Active reports whether the ticket still holds a place or a call: any state
// that is not final.
func (s State) Active() bool { return s != "" && !s.Final() }

// Event is what happened to a ticket; with its current state it selects the
// next state from the table.
type Event string

const (
	EvJoin     Event = "join"     // created (no from-state)
	EvConvert  Event = "convert"  // live caller chose a callback: place kept
	EvSchedule Event = "schedule" // live caller chose a scheduled callback
	EvReserve  Event = "reserve"  // Next handed it to an agent
	EvRelease  Event = "release"  // the agent could not take it: back in line, same place
	EvDial     Event = "dial"     // a callback attempt started
	EvRetry    Event = "retry"    // attempt failed (busy, no answer); back in line after a backoff
	EvConnect  Event = "connect"  // customer and agent bridged
	EvComplete Event = "complete" // the conversation ended normally
	EvAbandon  Event = "abandon"  // the customer hung up or vanished
	EvCancel   Event = "cancel"   // cancelled by the customer, an admin or the API
	EvFail     Event = "fail"     // given up: no answer after N attempts, invalid number
	EvExpire   Event = "expire"   // the promise can no longer be kept in its window
	EvUpdate   Event = "update"   // promise or details changed; state unchanged

	// The promise's own events (package promise): the state is unchanged,
	// the journal is the record the board and the metrics read.
	EvAtRisk   Event = "at_risk"  // the promise is found at risk
	EvOwn      Event = "own"      // someone answers for the promise
	EvRecovery Event = "recovery" // the owned recovery message went out
	EvReset    Event = "reset"    // the one honest reset: a new deadline
	EvEscalate Event = "escalate" // the reset is at risk too: front of the line
	EvMiss     Event = "miss"     // the deadline passed before the call was placed
	EvChase    Event = "chase"    // the customer called in while it was pending
	EvResolve  Event = "resolve"  // resolved in writing instead of the call (final: completed)
)

// promiseEvents change only the promise (and, for EvEscalate, the priority):
// allowed in every active state.
var promiseEvents = []Event{EvAtRisk, EvOwn, EvRecovery, EvReset, EvEscalate, EvMiss, EvChase}

// transitions is the whole state machine: from state, event → to state.
// Anything not listed is refused with ErrIllegalTransition.
var transitions = map[State]map[Event]State{
	Waiting: {
		EvConvert:  Waiting,
		EvSchedule: Waiting,
		EvReserve:  Reserved,
		EvAbandon:  Abandoned,
		EvCancel:   Cancelled,
		EvExpire:   Expired,
		EvFail:     Failed,
		EvUpdate:   Waiting,
	},
	Reserved: {
		EvRelease: Waiting,
		EvDial:    Dialing,
		EvConnect: Connected,
		EvAbandon: Abandoned,
		EvCancel:  Cancelled,
		// The dispatcher found the callback may not be dialed again (its
		// last attempt was cut by a restart).
		EvFail:   Failed,
		EvUpdate: Reserved,
	},
	Dialing: {
		EvConnect: Connected,
		EvRetry:   Waiting,
		EvRelease: Waiting,
		EvFail:    Failed,
		EvAbandon: Abandoned,
		EvCancel:  Cancelled,
		EvUpdate:  Dialing,
	},
	Connected: {
		EvComplete: Completed,
		EvAbandon:  Abandoned,
		EvUpdate:   Connected,
	},
}

func init() {
	for from, evs := range transitions {
		for _, ev := range promiseEvents {
			evs[ev] = from
		}
	}
	transitions[Waiting][EvResolve] = Completed
}

// ErrIllegalTransition is returned (wrapped) for an event the ticket's state
// does not allow; the ticket is left unchanged.
var ErrIllegalTransition = errors.New("illegal transition")

// Next returns the state that ev leads to from s, or an error naming both.
func Next(s State, ev Event) (State, error) {
	to, ok := transitions[s][ev]
	if !ok {
		return s, fmt.Errorf("%w: %s on a %s ticket", ErrIllegalTransition, ev, s)
	}
	return to, nil
}

// Transition is one committed change of one ticket: the journal row, and what
// the store persists atomically with the ticket's new values.
type Transition struct {
	// JournalID is set by the store once committed.
	JournalID int64
	Ticket    TicketID
	Event     Event
	From      State // empty for EvJoin
	To        State
	Reason    string
	// Actor is who caused it: "ivr", "dialer", "api", "cli", "restart"…
	Actor string
	At    time.Time
}
