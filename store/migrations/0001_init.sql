-- 0001: tickets and the journal of their transitions.
--
-- Times are INTEGER unix nanoseconds, 0 meaning "not set" (the zero time.Time).
-- Tables are STRICT so a value of the wrong type is refused at write time
-- instead of being read back later as 0 or ''.

CREATE TABLE tickets (
    -- AUTOINCREMENT: a ticket id is quoted by the API, the CLI and the journal
    -- for the ticket's whole life, so it must never be handed out twice.
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    queue             TEXT    NOT NULL,
    -- seq is the place in line, assigned as MAX(seq)+1 inside the inserting
    -- write transaction; UNIQUE makes a collision impossible rather than unlikely.
    seq               INTEGER NOT NULL UNIQUE,
    priority          INTEGER NOT NULL DEFAULT 0,
    kind              TEXT    NOT NULL,
    state             TEXT    NOT NULL,
    number            TEXT    NOT NULL DEFAULT '',
    name              TEXT    NOT NULL DEFAULT '',
    reason            TEXT    NOT NULL DEFAULT '',
    context           TEXT    NOT NULL DEFAULT '',
    language          TEXT    NOT NULL DEFAULT '',
    joined_at         INTEGER NOT NULL DEFAULT 0,
    slot_start        INTEGER NOT NULL DEFAULT 0,
    not_before        INTEGER NOT NULL DEFAULT 0,
    attempts          INTEGER NOT NULL DEFAULT 0,
    call_ref          TEXT    NOT NULL DEFAULT '',
    node              TEXT    NOT NULL DEFAULT '',
    agent             TEXT    NOT NULL DEFAULT '',
    connected_at      INTEGER NOT NULL DEFAULT 0,
    -- queue.Promise
    deadline          INTEGER NOT NULL DEFAULT 0,
    original_deadline INTEGER NOT NULL DEFAULT 0,
    category          TEXT    NOT NULL DEFAULT '',
    owner             TEXT    NOT NULL DEFAULT '',
    resets            INTEGER NOT NULL DEFAULT 0,
    at_risk_at        INTEGER NOT NULL DEFAULT 0,
    recovery_sent_at  INTEGER NOT NULL DEFAULT 0,
    escalated         INTEGER NOT NULL DEFAULT 0 CHECK (escalated IN (0, 1)),
    final_reason      TEXT    NOT NULL DEFAULT '',
    updated_at        INTEGER NOT NULL DEFAULT 0,
    -- version counts committed transitions; an UPDATE succeeds only over the
    -- version it was computed from (see queue.Journal.Commit).
    version           INTEGER NOT NULL DEFAULT 1
) STRICT;

-- "Active" is spelled as a chain of <> rather than NOT IN (…): SQLite
-- evaluates an IN list of more than two constants through a temporary b-tree,
-- and it evaluates a partial index's WHERE for the old and the new row on
-- every UPDATE, so the IN spelling doubled the cost of a transition. Queries
-- that should use these indexes repeat the condition word for word.

-- The line reloads its active tickets at start, queue by queue, in seq order.
CREATE INDEX tickets_active_by_queue ON tickets (queue, seq)
    WHERE state <> 'completed' AND state <> 'abandoned' AND state <> 'cancelled' AND state <> 'failed' AND state <> 'expired';

-- One pending callback per number per queue, enforced by the database so that
-- two processes (the server and the CLI) cannot both accept one. Live callers
-- are exempt: the same number may legitimately be on hold twice.
CREATE UNIQUE INDEX tickets_one_active_callback ON tickets (queue, number)
    WHERE kind IN ('callback', 'scheduled')
      AND number <> ''
      AND state <> 'completed' AND state <> 'abandoned' AND state <> 'cancelled' AND state <> 'failed' AND state <> 'expired';

CREATE TABLE journal (
    -- AUTOINCREMENT: the journal is a change feed read with "id > last seen";
    -- an id reused after a delete would be silently skipped by every reader.
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket     INTEGER NOT NULL REFERENCES tickets (id),
    event      TEXT    NOT NULL,
    from_state TEXT    NOT NULL DEFAULT '',
    to_state   TEXT    NOT NULL,
    reason     TEXT    NOT NULL DEFAULT '',
    actor      TEXT    NOT NULL DEFAULT '',
    at         INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX journal_by_ticket ON journal (ticket, id);
