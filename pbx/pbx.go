// Package pbx is the switch-neutral call-control interface. The call flows
// (ivr) and the dialer speak only of calls, prompts, keys and outcomes; the
// Asterisk (ARI) and FreeSWITCH (ESL) adapters and the in-memory switch
// (pbxtest) implement it.
//
// The shape follows what the real switches do, as recorded in
// ../shared/pbx/*/traces:
//
//   - Every verb blocks until the switch has done it (a prompt has finished
//     or been interrupted, a dial has been answered or failed), because both
//     PBXs report completion as a later event (ARI PlaybackFinished, ESL
//     PLAYBACK_STOP / BACKGROUND_JOB), and flows read best as sequences.
//   - A key press never stops a prompt by itself on either PBX (ARI
//     inbound-dtmf, ESL 01-inbound-dtmf); interruption is asked for per
//     prompt, and the adapter stops the playback when such a key arrives.
//   - Originate ends in an Outcome with the PBX's own cause kept for the
//     journal (ARI ChannelDestroyed cause/tech_cause; ESL Hangup-Cause).
//   - A call that hangs up makes every pending and later verb return an
//     error wrapping ErrHungUp, so a flow ends with one errors.Is check.
package pbx

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors the flows branch on.
var (
	// ErrHungUp: the call is gone (the caller hung up, or we did).
	ErrHungUp = errors.New("call hung up")
	// ErrNoSuchQueue is what an adapter reports for a call handed to an
	// unknown queue, so the flow can refuse it politely.
	ErrNoSuchQueue = errors.New("no such queue")
)

// Handler runs one incoming call's flow. The switch calls it in a goroutine
// it owns; when Handler returns, the switch hangs the call up if it is still
// up. ctx ends when the switch stops.
type Handler func(ctx context.Context, c Call)

// Switch is one PBX: it delivers incoming calls and originates outgoing ones.
type Switch interface {
	// Name identifies the switch in logs, tickets (Ticket.Node) and metrics.
	Name() string
	// Serve delivers every incoming call to h, each in its own goroutine,
	// until ctx ends; it returns after every handler has returned.
	Serve(ctx context.Context, h Handler) error
	// Originate places an outgoing call and blocks until it is answered
	// (returning the call) or has failed (returning a *DialError).
	Originate(ctx context.Context, r Originate) (Call, error)
}

// Continuer is a Call that can be handed back to the PBX's dialplan (ARI
// continue). A flow that lets go of an incoming call this way leaves the
// caller with the PBX, where the admin's fallback runs; the flow sees the call
// as gone.
type Continuer interface {
	Continue(ctx context.Context) error
}

// CallLister is a Switch that can say which calls are in vhold's hands on it
// right now, even before Serve: after a restart, the live tickets whose calls
// are listed keep their place, and Serve hands those calls to the handler
// again (the flow finds its ticket by the call's id and resumes).
type CallLister interface {
	Calls(ctx context.Context) ([]string, error)
}

// ConnectionState is a Switch that can say whether its connection to the PBX
// is up right now: /readyz and the vhold_pbx_connected metric read it. It
// is false before the first connection and while reconnecting.
type ConnectionState interface {
	Connected() bool
}

// RecordingDeleter is a Switch that keeps recordings (a caller's name) until
// told to delete them.
type RecordingDeleter interface {
	// DeleteRecording deletes a stored recording; one that does not exist
	// is not an error.
	DeleteRecording(ctx context.Context, name string) error
}

// Originate is one outgoing call.
type Originate struct {
	// ID is the caller's id for the call. Adapters use it as the PBX's call
	// id (ARI channelId, FreeSWITCH origination_uuid), so dialing the same
	// attempt twice is refused by the PBX itself: the dialer's ids are
	// ticket and attempt, which makes every attempt idempotent.
	ID string
	// Endpoint is the PBX dial string: "PJSIP/1001", "PJSIP/+34911234567@trunk",
	// "sofia/gateway/trunk/+34911234567".
	Endpoint string
	CallerID Party
	// Timeout is how long it may ring before it counts as no answer.
	Timeout time.Duration
	// Variables are channel variables for the dialplan and the CDR.
	Variables map[string]string
	// Language selects the prompts on the new call.
	Language string
}

// Party is one end's identity.
type Party struct {
	Number string
	Name   string
}

func (p Party) String() string {
	if p.Name == "" {
		return p.Number
	}
	return fmt.Sprintf("%q <%s>", p.Name, p.Number)
}

// Outcome is how a dial ended.
type Outcome string

const (
	Answered Outcome = "answered"
	// Busy: the far end said busy (SIP 486, Q.850 17, USER_BUSY).
	Busy Outcome = "busy"
	// NoAnswer: it rang until the timeout (Q.850 19, NO_ANSWER).
	NoAnswer Outcome = "no-answer"
	// Rejected: the far end declined (SIP 603, CALL_REJECTED, 21).
	Rejected Outcome = "rejected"
	// Unreachable: nothing answered the signalling (SIP 408/503, Q.850 18,
	// NORMAL_TEMPORARY_FAILURE) or the endpoint does not exist (ARI's 500
	// "Allocation failed" for an offline or unknown endpoint).
	Unreachable Outcome = "unreachable"
	// Invalid: the number cannot be called (Q.850 1 UNALLOCATED_NUMBER,
	// 28 INVALID_NUMBER_FORMAT): retrying will not help.
	Invalid Outcome = "invalid"
	// Failed: anything else (a PBX error, a lost connection).
	Failed Outcome = "failed"
)

// Retryable reports whether another attempt later may succeed.
func (o Outcome) Retryable() bool {
	switch o {
	case Busy, NoAnswer, Rejected, Unreachable, Failed:
		return true
	}
	return false
}

// DialError is a dial that did not end in an answer.
type DialError struct {
	Outcome Outcome
	// Cause is the PBX's own words, kept for the journal: "17 User busy (SIP
	// 486)" from Asterisk, "USER_BUSY" from FreeSWITCH.
	Cause string
}

func (e *DialError) Error() string {
	if e.Cause == "" {
		return string(e.Outcome)
	}
	return fmt.Sprintf("%s (%s)", e.Outcome, e.Cause)
}

// OutcomeOf returns the Outcome of an Originate error: Answered for nil, the
// DialError's outcome, or Failed for anything else.
func OutcomeOf(err error) Outcome {
	if err == nil {
		return Answered
	}
	var de *DialError
	if errors.As(err, &de) {
		return de.Outcome
	}
	return Failed
}

// Cause says why a call is hung up; adapters map it to their own (Q.850
// codes on Asterisk, names on FreeSWITCH).
type Cause string

const (
	CauseNormal     Cause = "normal"
	CauseBusy       Cause = "busy"
	CauseNoAnswer   Cause = "no-answer"
	CauseRejected   Cause = "rejected"
	CauseCongestion Cause = "congestion"
)

// Call is one leg on a switch: an incoming caller or an originated call.
// Its methods are safe for concurrent use: the flow may be waiting on the
// call while the dialer bridges it.
type Call interface {
	// ID is the switch's id for the call (ARI channel id, FreeSWITCH UUID).
	ID() string
	// Switch is the name of the switch the call is on.
	Switch() string
	// Queue is the queue an incoming call was handed to (Stasis argument,
	// vhold_queue variable); empty for originated calls.
	Queue() string
	// Language is the language the dialplan asked for, if any.
	Language() string
	// Caller is the calling party as the switch reports it.
	Caller() Party

	Answer(ctx context.Context) error
	// Play plays the prompts in order. If a key in opt.Interrupt is pressed,
	// the playback stops and Play returns that key (consumed); other keys stay
	// queued for Wait and Collect. It returns "" when all prompts finished.
	Play(ctx context.Context, opt PlayOptions, prompts ...Prompt) (key string, err error)
	// StartMOH plays music on hold until StopMOH, a Play (which pauses it and
	// resumes it after), a bridge or the hangup.
	StartMOH(ctx context.Context, class string) error
	StopMOH(ctx context.Context) error
	// Collect reads keys: up to Max, or until the terminator, or a timeout.
	// It consumes keys already queued (type-ahead) unless Flush is set.
	Collect(ctx context.Context, opt CollectOptions) (digits string, err error)
	// Record records the caller for up to max (ended early by any key) and
	// returns a reference a Prompt of KindRecording can play.
	Record(ctx context.Context, opt RecordOptions) (Recording, error)
	// Bridge connects this call with other; both stop whatever they played.
	// Each side's flow sees an EventBridged.
	Bridge(ctx context.Context, other Call) error
	// Hangup ends the call; hanging up a call that is gone is not an error.
	Hangup(ctx context.Context, cause Cause) error
	// Wait returns the next event of the call (a key, the hangup, a bridge),
	// or an EventTimeout after d. A queued event is returned at once.
	Wait(ctx context.Context, d time.Duration) (Event, error)
}

// PlayOptions say which keys stop a prompt.
type PlayOptions struct {
	// Interrupt lists the keys that stop the playback ("1", "12", "0123456789*#").
	Interrupt string
}

// CollectOptions is a digit collection.
type CollectOptions struct {
	// Prompts play first; a key pressed during them starts the collection.
	Prompts []Prompt
	Max     int
	// Terminator ends the input ("#") and is not returned.
	Terminator string
	// FirstTimeout waits for the first key after the prompts, InterTimeout
	// between keys.
	FirstTimeout, InterTimeout time.Duration
	// Flush discards keys pressed before the collection began.
	Flush bool
}

// RecordOptions is a short recording (the caller's name).
type RecordOptions struct {
	// Name is a file-safe name for the recording (the adapter adds format and folder).
	Name     string
	Max      time.Duration
	Beep     bool
	Language string
}

// Recording is a recorded clip.
type Recording struct {
	Name     string
	Duration time.Duration
}

// PromptKind is what a Prompt says.
type PromptKind string

const (
	// KindSound plays a catalog prompt by its key ("offer-callback").
	KindSound PromptKind = "sound"
	// KindNumber says a number ("fourteen").
	KindNumber PromptKind = "number"
	// KindDigits says digits one by one ("four three two one").
	KindDigits PromptKind = "digits"
	// KindDuration says a duration in minutes and hours ("about 25 minutes").
	KindDuration PromptKind = "duration"
	// KindRecording plays a recording made with Record.
	KindRecording PromptKind = "recording"
	// KindTime says a time of day, with its "at": "at nine thirty", "a las
	// nueve y treinta". D is the time since midnight.
	KindTime PromptKind = "time"
)

// Prompt is one thing to say. Numbers, digits and durations are composed
// from vhold's own prompts by the sounds package, so both PBXs say exactly
// the same words.
type Prompt struct {
	Kind     PromptKind
	Key      string        // KindSound: catalog key; KindRecording: recording name; KindDigits: the digits
	N        int           // KindNumber
	D        time.Duration // KindDuration
	Language string        // empty: the call's language
}

// Sound, Number, Digits, Duration and Clip build prompts.
func Sound(key string) Prompt         { return Prompt{Kind: KindSound, Key: key} }
func Number(n int) Prompt             { return Prompt{Kind: KindNumber, N: n} }
func Digits(s string) Prompt          { return Prompt{Kind: KindDigits, Key: s} }
func Duration(d time.Duration) Prompt { return Prompt{Kind: KindDuration, D: d} }
func Clip(r Recording) Prompt         { return Prompt{Kind: KindRecording, Key: r.Name} }

// Time says "at H:MM" in the call's language.
func Time(hour, minute int) Prompt {
	return Prompt{Kind: KindTime, D: time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute}
}

// String is the prompt as logs and test transcripts show it ("sound:greeting",
// "number:4", "duration:25m0s").
func (p Prompt) String() string {
	switch p.Kind {
	case KindNumber:
		return fmt.Sprintf("number:%d", p.N)
	case KindDuration:
		return fmt.Sprintf("duration:%s", p.D)
	case KindTime:
		return fmt.Sprintf("time:%02d:%02d", int(p.D.Hours()), int(p.D.Minutes())%60)
	default:
		return string(p.Kind) + ":" + p.Key
	}
}

// EventKind is what happened on a call.
type EventKind string

const (
	EventKey      EventKind = "key"
	EventHangup   EventKind = "hangup"
	EventBridged  EventKind = "bridged"
	EventTimeout  EventKind = "timeout"
	EventUnbridge EventKind = "unbridged"
)

// Event is one thing that happened on a call.
type Event struct {
	Kind EventKind
	// Key is the key pressed (EventKey).
	Key string
	// Cause is the hangup cause as the PBX said it (EventHangup).
	Cause string
	// Peer is the id of the other call (EventBridged, EventUnbridge).
	Peer string
}
