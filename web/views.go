package web

import (
	"time"

	"github.com/vhold/vhold/queue"
)

// Promise status words, for the list filter and the board: a promise is
// escalated (second failure: first in line, supervisor told), at risk (found
// slipping and not yet reset), or ok.
const (
	PromiseOK        = "ok"
	PromiseAtRisk    = "at_risk"
	PromiseEscalated = "escalated"
)

func promiseStatus(p queue.Promise) string {
	switch {
	case p.Escalated:
		return PromiseEscalated
	case !p.AtRiskAt.IsZero():
		return PromiseAtRisk
	}
	return PromiseOK
}

// windowStart is when the promised window opens: the slot's start for a
// scheduled callback, otherwise the moment the promise was made.
func windowStart(t *queue.Ticket) time.Time {
	if t.Kind == queue.Scheduled && !t.SlotStart.IsZero() {
		return t.SlotStart
	}
	if !t.Promise.PromisedAt.IsZero() {
		return t.Promise.PromisedAt
	}
	return t.JoinedAt
}

// utc is t in UTC, the one zone every time in the API is given in (each
// queue's own zone is named where people read times: slots, queues).
func utc(t time.Time) time.Time { return t.UTC() }

// opt is an optional time: nil (left out of the JSON) when zero.
func opt(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// position is the place in line as a caller hears it, 1 for next; nil when
// the ticket is not waiting (its place no longer means anything).
func position(t *queue.Ticket, pos int, known bool) *int {
	if !known || t.State != queue.Waiting {
		return nil
	}
	p := pos + 1
	return &p
}

// publicPromise is what the customer who asked is told: by when, from
// when, and what about.
type publicPromise struct {
	Deadline    time.Time `json:"deadline"`
	WindowStart time.Time `json:"window_start"`
	Category    string    `json:"category"`
}

// createdView answers a create. It carries nothing the requester did not
// send, since anyone who knows a number can ask for it: an existing
// callback's name and reason stay private.
type createdView struct {
	ID        int64         `json:"id"`
	Queue     string        `json:"queue"`
	Kind      string        `json:"kind"`
	State     string        `json:"state"`
	Position  *int          `json:"position,omitempty"`
	SlotStart *time.Time    `json:"slot_start,omitempty"`
	Promise   publicPromise `json:"promise"`
	Existing  bool          `json:"existing"`
}

func createdOf(t *queue.Ticket, pos int, hasPos, existing bool) createdView {
	return createdView{
		ID: int64(t.ID), Queue: t.Queue, Kind: string(t.Kind), State: string(t.State),
		Position: position(t, pos, hasPos), SlotStart: opt(t.SlotStart),
		Promise: publicPromise{
			Deadline: utc(t.Promise.Deadline), WindowStart: utc(windowStart(t)), Category: string(t.Promise.Category),
		},
		Existing: existing,
	}
}

// promiseView is the whole promise, for staff.
type promiseView struct {
	Status           string     `json:"status"`
	Deadline         *time.Time `json:"deadline,omitempty"`
	WindowStart      time.Time  `json:"window_start"`
	OriginalDeadline *time.Time `json:"original_deadline,omitempty"`
	Category         string     `json:"category,omitempty"`
	Owner            string     `json:"owner,omitempty"`
	Resets           int        `json:"resets"`
	AtRiskAt         *time.Time `json:"at_risk_at,omitempty"`
	RecoverySentAt   *time.Time `json:"recovery_sent_at,omitempty"`
	Escalated        bool       `json:"escalated"`
	Written          bool       `json:"written"`
	MissedAt         *time.Time `json:"missed_at,omitempty"`
	Chases           int        `json:"chases"`
}

// ticketView is a callback as staff see it through the API.
type ticketView struct {
	ID          int64       `json:"id"`
	Queue       string      `json:"queue"`
	Kind        string      `json:"kind"`
	State       string      `json:"state"`
	Position    *int        `json:"position,omitempty"`
	Number      string      `json:"number,omitempty"`
	Name        string      `json:"name,omitempty"`
	Reason      string      `json:"reason,omitempty"`
	Context     string      `json:"context,omitempty"`
	Language    string      `json:"language,omitempty"`
	Seq         int64       `json:"seq"`
	Priority    int         `json:"priority"`
	JoinedAt    time.Time   `json:"joined_at"`
	SlotStart   *time.Time  `json:"slot_start,omitempty"`
	NotBefore   *time.Time  `json:"not_before,omitempty"`
	Attempts    int         `json:"attempts"`
	Agent       string      `json:"agent,omitempty"`
	Promise     promiseView `json:"promise"`
	FinalReason string      `json:"final_reason,omitempty"`
	UpdatedAt   time.Time   `json:"updated_at"`
}

func viewOf(t *queue.Ticket, pos int, hasPos bool) ticketView {
	p := t.Promise
	return ticketView{
		ID: int64(t.ID), Queue: t.Queue, Kind: string(t.Kind), State: string(t.State),
		Position: position(t, pos, hasPos),
		Number:   t.Number, Name: t.Name, Reason: t.Reason, Context: t.Context, Language: t.Language,
		Seq: t.Seq, Priority: t.Priority, JoinedAt: utc(t.JoinedAt),
		SlotStart: opt(t.SlotStart), NotBefore: opt(t.NotBefore), Attempts: t.Attempts, Agent: t.Agent,
		Promise: promiseView{
			Status: promiseStatus(p), Deadline: opt(p.Deadline), WindowStart: utc(windowStart(t)),
			OriginalDeadline: opt(p.OriginalDeadline), Category: string(p.Category), Owner: p.Owner,
			Resets: p.Resets, AtRiskAt: opt(p.AtRiskAt), RecoverySentAt: opt(p.RecoverySentAt),
			Escalated: p.Escalated, Written: p.Written, MissedAt: opt(p.MissedAt), Chases: p.Chases,
		},
		FinalReason: t.FinalReason, UpdatedAt: utc(t.UpdatedAt),
	}
}

// waitView is a wait estimate in seconds, with what it rests on.
type waitView struct {
	Known              bool   `json:"known"`
	Basis              string `json:"basis"`
	MeanSeconds        int64  `json:"mean_seconds"`
	PessimisticSeconds int64  `json:"pessimistic_seconds"`
}

func waitOf(w queue.Wait) waitView {
	return waitView{Known: w.Known, Basis: w.Basis,
		MeanSeconds: int64(w.Mean.Round(time.Second) / time.Second), PessimisticSeconds: int64(w.Pessimistic.Round(time.Second) / time.Second)}
}

// agentView is one agent and what they are doing.
type agentView struct {
	ID     string    `json:"id"`
	Name   string    `json:"name,omitempty"`
	State  string    `json:"state"`
	Since  time.Time `json:"since"`
	Reason string    `json:"reason,omitempty"`
	Queues []string  `json:"queues"`
	Ticket int64     `json:"ticket,omitempty"`
}

func agentOf(a queue.Agent) agentView {
	qs := a.Queues
	if qs == nil {
		qs = []string{}
	}
	return agentView{ID: a.ID, Name: a.Name, State: string(a.State), Since: utc(a.Since), Reason: a.Reason,
		Queues: qs, Ticket: int64(a.Ticket)}
}
