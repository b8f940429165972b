package store

import (
	"time"

	"github.com/vhold/vhold/queue"
)

// activeCond is the SQL for queue.State.Active: it must exclude exactly the
// states for which queue.State.Final is true. It appears in the partial
// indexes of the schema, and queries must repeat it word for word for SQLite
// to use them (TestActiveCondMatchesQueue keeps the three in step).
const activeCond = `state <> 'completed' AND state <> 'abandoned' AND state <> 'cancelled' AND state <> 'failed' AND state <> 'expired'`

// ticketColumns is the order scanTicket reads.
const ticketColumns = `id, queue, seq, priority, kind, state, number, name, reason, context, language,
	joined_at, slot_start, not_before, attempts, call_ref, node, agent, connected_at,
	deadline, original_deadline, category, owner, resets, at_risk_at, recovery_sent_at, escalated,
	promised_at, written, missed_at, chases,
	final_reason, updated_at, version`

const journalColumns = `id, ticket, event, from_state, to_state, reason, actor, at`

// Everything but id, queue, seq and joined_at may change after a ticket
// joined; mutableArgs gives their values in the order of the SET list below
// and of the tail of the INSERT.
const (
	insertTicketSQL = `INSERT INTO tickets (queue, joined_at, seq,
	priority, kind, state, number, name, reason, context, language,
	slot_start, not_before, attempts, call_ref, node, agent, connected_at,
	deadline, original_deadline, category, owner, resets, at_risk_at, recovery_sent_at, escalated,
	promised_at, written, missed_at, chases,
	final_reason, updated_at, version)
VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM tickets),
	?, ?, ?, ?, ?, ?, ?, ?,
	?, ?, ?, ?, ?, ?, ?,
	?, ?, ?, ?, ?, ?, ?, ?,
	?, ?, ?, ?,
	?, ?, ?)
RETURNING id, seq`

	updateTicketSQL = `UPDATE tickets SET
	priority = ?, kind = ?, state = ?, number = ?, name = ?, reason = ?, context = ?, language = ?,
	slot_start = ?, not_before = ?, attempts = ?, call_ref = ?, node = ?, agent = ?, connected_at = ?,
	deadline = ?, original_deadline = ?, category = ?, owner = ?, resets = ?, at_risk_at = ?,
	recovery_sent_at = ?, escalated = ?,
	promised_at = ?, written = ?, missed_at = ?, chases = ?,
	final_reason = ?, updated_at = ?, version = ?
WHERE id = ? AND state = ? AND version = ?`

	insertJournalSQL = `INSERT INTO journal (ticket, event, from_state, to_state, reason, actor, at)
VALUES (?, ?, ?, ?, ?, ?, ?)`
)

func mutableArgs(t *queue.Ticket) []any {
	p := &t.Promise
	return []any{
		t.Priority, string(t.Kind), string(t.State), t.Number, t.Name, t.Reason, t.Context, t.Language,
		nanos(t.SlotStart), nanos(t.NotBefore), t.Attempts, t.CallRef, t.Node, t.Agent, nanos(t.ConnectedAt),
		nanos(p.Deadline), nanos(p.OriginalDeadline), string(p.Category), p.Owner, p.Resets, nanos(p.AtRiskAt),
		nanos(p.RecoverySentAt), p.Escalated,
		nanos(p.PromisedAt), p.Written, nanos(p.MissedAt), p.Chases,
		t.FinalReason, nanos(t.UpdatedAt), t.Version,
	}
}

func journalArgs(id queue.TicketID, tr *queue.Transition) []any {
	return []any{int64(id), string(tr.Event), string(tr.From), string(tr.To), tr.Reason, tr.Actor, nanos(tr.At)}
}

// nanos stores the zero time as 0 rather than as time.Time{}.UnixNano(),
// which is outside int64's range and so undefined.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos returns UTC so that a ticket read back compares equal to one the
// caller built from UTC times, whatever the server's local zone.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

type scanner interface{ Scan(dest ...any) error }

func scanTicket(row scanner) (*queue.Ticket, error) {
	var (
		t                                                                queue.Ticket
		kind, state, category                                            string
		joined, slot, notBefore, deadline, orig, atRisk, sent, upd, conn int64
		promised, missed                                                 int64
	)
	p := &t.Promise
	err := row.Scan(&t.ID, &t.Queue, &t.Seq, &t.Priority, &kind, &state, &t.Number, &t.Name, &t.Reason, &t.Context, &t.Language,
		&joined, &slot, &notBefore, &t.Attempts, &t.CallRef, &t.Node, &t.Agent, &conn,
		&deadline, &orig, &category, &p.Owner, &p.Resets, &atRisk, &sent, &p.Escalated,
		&promised, &p.Written, &missed, &p.Chases,
		&t.FinalReason, &upd, &t.Version)
	if err != nil {
		return nil, err
	}
	t.Kind, t.State, p.Category = queue.Kind(kind), queue.State(state), queue.Category(category)
	t.JoinedAt, t.SlotStart, t.NotBefore, t.UpdatedAt = fromNanos(joined), fromNanos(slot), fromNanos(notBefore), fromNanos(upd)
	t.ConnectedAt = fromNanos(conn)
	p.Deadline, p.OriginalDeadline = fromNanos(deadline), fromNanos(orig)
	p.AtRiskAt, p.RecoverySentAt = fromNanos(atRisk), fromNanos(sent)
	p.PromisedAt, p.MissedAt = fromNanos(promised), fromNanos(missed)
	return &t, nil
}

func scanTransition(row scanner) (queue.Transition, error) {
	var (
		tr              queue.Transition
		event, from, to string
		at              int64
	)
	if err := row.Scan(&tr.JournalID, &tr.Ticket, &event, &from, &to, &tr.Reason, &tr.Actor, &at); err != nil {
		return queue.Transition{}, err
	}
	tr.Event, tr.From, tr.To, tr.At = queue.Event(event), queue.State(from), queue.State(to), fromNanos(at)
	return tr, nil
}
