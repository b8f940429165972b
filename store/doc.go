// Package store keeps the line in SQLite so that a crash or restart loses no
// accepted callback and no place in line. It implements queue.Journal and the
// reads the server, the CLI and the board need.
//
// WAL mode, because the server, the CLI in another process and the board's
// readers all share one file: readers never block the writer nor each other,
// and a commit is one append to the log instead of a rewrite of the pages.
// With synchronous=NORMAL a committed transaction survives the death of the
// process (the WAL is in the OS page cache once write returns) but the last
// transactions may be lost, never corrupted, on power loss; synchronous=FULL
// also survives power loss at the price of one fsync per commit.
//
// Group commit, because every ticket transition must be durable before vhold
// acts on it, and the cost of a durable commit is the commit, not the rows.
// One writer goroutine owns the only write connection; Insert and Commit hand
// it their change and wait. It takes every request waiting and commits them in
// one transaction, each inside its own SAVEPOINT so that a request that fails
// (a conflict, a duplicate) is undone alone and the rest still commit. Under
// load a batch carries many transitions for the price of one fsync; alone, a
// request pays what it would have paid anyway.
//
// Compare-and-set on the state (UPDATE … WHERE id = ? AND state = from),
// because a second process (the CLI cancelling a callback, another node) may
// have moved the ticket since this process read it. Rather than lock rows
// across the network of processes, a stale change is refused with
// queue.ErrConflict and the line re-reads; the journal then holds only
// transitions that really happened, in the order they happened.
//
// Times are INTEGER unix nanoseconds, 0 for the zero time.Time, because
// SQLite has no time type: text in mixed zones does not sort as time, and the
// driver's text round trip changes the Location, so a ticket would not come
// back equal to what was stored. Integers compare and index as times, keep
// every nanosecond, and come back in UTC. (The range is that of
// time.UnixNano, years 1678 to 2262; a 1970-01-01T00:00:00Z instant reads
// back as the zero time.)
//
// Ticket ids, seqs and journal ids are assigned inside the write transaction
// that holds SQLite's single write lock, so they are unique across every
// process sharing the file, and journal ids become visible in increasing
// order: a reader tailing JournalSince never skips a row that commits late.
package store
