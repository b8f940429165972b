// Package queue is the line itself: tickets and their kept places, the order in
// which they are served, scheduled slots, wait estimation, when to offer a
// callback, and the agents who serve the queues.
//
// The line owns its types; the store persists them. Every change to a ticket
// goes through the state machine in state.go and is committed through the
// Journal before the line applies it in memory, so nothing vhold says or does
// rests on a change that a crash could take back.
package queue

import (
	"time"
)

// TicketID identifies a ticket for its whole life (the API, the CLI, the journal).
type TicketID int64

// Kind says how a ticket waits. It changes only live→callback or live→scheduled.
type Kind string

const (
	// Live: the caller is on the phone, on hold.
	Live Kind = "live"
	// Callback: the customer hung up (or asked on the web); we call back as soon
	// as their place comes up.
	Callback Kind = "callback"
	// Scheduled: a callback due at a chosen time; it takes its place in the line
	// when its slot opens and is never dialed before that.
	Scheduled Kind = "scheduled"
)

// Category names a promise category (money, escalation, access, tense, general
// by default); the set is configurable, so it is a plain string.
type Category string

// Promise is what vhold told the customer about when they will hear from us.
// Every callback carries one from the moment it is created; the promise keeper
// (a later part of vhold) reads and updates these fields, never others.
type Promise struct {
	// Deadline is the time by which the customer was told they would get the call.
	Deadline time.Time
	// OriginalDeadline is the first deadline given, kept after resets so the
	// board can tell "met inside the original window" from "met after a reset".
	OriginalDeadline time.Time
	Category         Category
	// Owner is the person who answers for this promise once it is at risk.
	Owner string
	// Resets counts how many times the deadline was honestly reset (at most one
	// before escalation).
	Resets int
	// AtRiskAt is when the promise was found at risk; zero while it is not.
	AtRiskAt time.Time
	// RecoverySentAt is when the proactive recovery message went out; zero if none.
	RecoverySentAt time.Time
	Escalated      bool
	// PromisedAt is when the promise was made: the start of the window the
	// punctuality of the call is measured against.
	PromisedAt time.Time
	// Written says the reset promised a written update rather than the call.
	Written bool
	// MissedAt is when the current deadline passed without the call being
	// placed; zero while it has not.
	MissedAt time.Time
	// Chases counts the customer's calls in while the callback was pending.
	Chases int
}

// Ticket is one customer in one queue's line.
type Ticket struct {
	ID    TicketID
	Queue string
	// Seq is the place in line, taken once when the ticket joined and never
	// changed: converting a live caller to a callback keeps it.
	Seq int64
	// Priority orders before Seq: a higher priority is served first. Callbacks
	// keep the priority they joined with (raising it on conversion would let them
	// jump callers who were ahead, the FreePBX VQPlus bug).
	Priority int
	Kind     Kind
	State    State

	// Number is the customer's number in E.164 ("+34911234567"); empty for a
	// live caller whose number was withheld.
	Number   string
	Name     string
	Reason   string
	Context  string
	Language string

	// JoinedAt is when the ticket was created.
	JoinedAt time.Time
	// SlotStart is the start of a scheduled callback's slot; the ticket is
	// ordered by it against live callers and is not due before it.
	SlotStart time.Time
	// NotBefore holds a callback back after a failed attempt (retry backoff);
	// zero when it is due as soon as its place comes up.
	NotBefore time.Time
	Attempts  int

	// Agent is the agent the ticket is reserved for or talking to.
	Agent string
	// ConnectedAt is when the customer and the agent were bridged; the handle
	// time that teaches the wait estimator runs from here to completion.
	ConnectedAt time.Time

	// CallRef is the PBX's id of the live call (channel id, UUID) and Node the
	// PBX it is on, so a restart can match tickets to calls that still exist.
	CallRef string
	Node    string

	Promise Promise

	// FinalReason says why a ticket in a final state ended there
	// ("no answer after 3 attempts", "caller hung up", "cancelled by API").
	FinalReason string
	UpdatedAt   time.Time
	// Version counts the ticket's committed transitions (1 after the join);
	// the Journal sets it. A commit succeeds only over the version it was
	// computed from, so two processes sharing the store cannot overwrite each
	// other's changes.
	Version int64
}

// OrderAt is the time that places the ticket against others of the same
// priority: when it joined, or for a scheduled callback when its slot opens.
func (t *Ticket) OrderAt() time.Time {
	if t.Kind == Scheduled && !t.SlotStart.IsZero() {
		return t.SlotStart
	}
	return t.JoinedAt
}

// DueAt is the earliest time the ticket may be handed to an agent.
func (t *Ticket) DueAt() time.Time {
	due := t.JoinedAt
	if t.Kind == Scheduled && t.SlotStart.After(due) {
		due = t.SlotStart
	}
	if t.NotBefore.After(due) {
		due = t.NotBefore
	}
	return due
}

// Due reports whether the ticket may be handed to an agent at now.
func (t *Ticket) Due(now time.Time) bool { return !t.DueAt().After(now) }

// Ahead reports whether t is served before u when both are due: higher
// priority first, then earlier OrderAt, then lower Seq.
func (t *Ticket) Ahead(u *Ticket) bool {
	if t.Priority != u.Priority {
		return t.Priority > u.Priority
	}
	if ta, ua := t.OrderAt(), u.OrderAt(); !ta.Equal(ua) {
		return ta.Before(ua)
	}
	return t.Seq < u.Seq
}

// Clone returns a copy the caller may keep; the line never hands out its own.
func (t *Ticket) Clone() *Ticket {
	c := *t
	return &c
}
