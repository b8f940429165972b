package store

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vhold/vhold/queue"
)

// crashDBEnv names the database TestCrashChild writes to; unset, that test
// does nothing, so a plain `go test` run skips it.
const crashDBEnv = "VHOLD_STORE_CRASH_CHILD_DB"

// TestCrashChild is the process TestCrashLosesNothingAcknowledged kills. Four
// goroutines each take tickets through join, update and reserve, and print
// "ack <ticket> <seq> <journal id>" after each call returned nil and not
// before: every line on stdout is a promise the parent then checks.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashDBEnv)
	if path == "" {
		t.Skip("runs only as the child of TestCrashLosesNothingAcknowledged")
	}
	// synchronous=normal: in WAL mode a commit is durable once its frames
	// are written to the WAL file, i.e. in the OS page cache. That survives
	// the death of the process, which is what this test inflicts; it does
	// not survive a power cut (that needs synchronous=full), and a test
	// cannot pull the plug.
	s, err := Open(context.Background(), path, Options{Synchronous: "normal"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	ack := func(id queue.TicketID, seq, journalID int64) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, "ack %d %d %d\n", id, seq, journalID)
		if err := out.Flush(); err != nil {
			os.Exit(4) // the parent is gone
		}
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(5)
	}
	for g := range 4 {
		go func() {
			for i := 0; ; i++ {
				// Same priority and join time for all, so the line's order
				// is the seq order and the parent can predict it.
				tk := &queue.Ticket{
					Queue: "support", Kind: queue.Callback, State: queue.Waiting,
					Number: fmt.Sprintf("+3491%d%07d", g, i), JoinedAt: base, UpdatedAt: base,
					Promise: queue.Promise{Deadline: base.Add(25 * time.Minute), OriginalDeadline: base.Add(25 * time.Minute), Category: "general"},
				}
				tr := &queue.Transition{Event: queue.EvJoin, To: queue.Waiting, Actor: "ivr", At: base}
				if err := s.Insert(context.Background(), tk, tr); err != nil {
					fail(err)
				}
				ack(tk.ID, tk.Seq, tr.JournalID)

				tk.Promise.Owner = "billing"
				tk.UpdatedAt = base.Add(time.Second)
				tr = &queue.Transition{Ticket: tk.ID, Event: queue.EvUpdate, From: queue.Waiting, To: queue.Waiting, Actor: "promise", At: tk.UpdatedAt}
				if err := s.Commit(context.Background(), tk, tr); err != nil {
					fail(err)
				}
				ack(tk.ID, tk.Seq, tr.JournalID)

				tk.State = queue.Reserved
				tk.UpdatedAt = base.Add(2 * time.Second)
				tr = &queue.Transition{Ticket: tk.ID, Event: queue.EvReserve, From: queue.Waiting, To: queue.Reserved, Actor: "dialer", At: tk.UpdatedAt}
				if err := s.Commit(context.Background(), tk, tr); err != nil {
					fail(err)
				}
				ack(tk.ID, tk.Seq, tr.JournalID)
			}
		}()
	}
	time.Sleep(2 * time.Minute) // the parent kills us long before
	fail(fmt.Errorf("crash child was never killed"))
}

// TestCrashLosesNothingAcknowledged kills a writing process with SIGKILL in
// the middle of its work and checks that everything it acknowledged is in the
// file, consistent, in the same order of the line.
func TestCrashLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns and kills a child process")
	}
	const wantAcks = 2000
	path := filepath.Join(t.TempDir(), "crash.db")

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDBEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	kill := func() {
		if !killed {
			killed = true
			cmd.Process.Kill() // SIGKILL: no deferred function, no Close, no flush runs
		}
	}
	// If the child stalls, kill it so the read below ends.
	watchdog := time.AfterFunc(time.Minute, kill)
	defer watchdog.Stop()

	type acked struct {
		seq        int64
		journalIDs []int64 // in the order the calls returned: join, update, reserve
	}
	acks := map[queue.TicketID]*acked{}
	n := 0
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "ack ") {
			continue // test framework chatter
		}
		var (
			id       queue.TicketID
			seq, jid int64
		)
		if _, err := fmt.Sscanf(line, "ack %d %d %d", &id, &seq, &jid); err != nil {
			t.Fatalf("child printed %q: %v", line, err)
		}
		a := acks[id]
		if a == nil {
			a = &acked{seq: seq}
			acks[id] = a
		}
		if a.seq != seq {
			t.Fatalf("ticket %d acknowledged with seq %d and %d", id, a.seq, seq)
		}
		a.journalIDs = append(a.journalIDs, jid)
		// Keep reading after the kill: lines already in the pipe were
		// acknowledged before the child died.
		if n++; n == wantAcks {
			kill()
		}
	}
	err = cmd.Wait()
	watchdog.Stop()
	if n < wantAcks {
		t.Fatalf("child stopped after %d acks (%v); stderr:\n%s", n, err, stderr.String())
	}
	if !killed || err == nil {
		t.Fatalf("child was not killed: %v; stderr:\n%s", err, stderr.String())
	}
	t.Logf("child killed after %d acknowledged calls on %d tickets", n, len(acks))

	ctx := context.Background()
	s := openAt(t, path, Options{})

	var integrity string
	if err := s.rdb.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check: %q %v", integrity, err)
	}
	rows, err := s.rdb.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Error("foreign_key_check found journal rows without their ticket")
	}
	rows.Close()

	journal, err := s.JournalSince(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	byTicket := map[queue.TicketID][]queue.Transition{}
	for _, tr := range journal {
		byTicket[tr.Ticket] = append(byTicket[tr.Ticket], tr)
	}
	all, err := s.Tickets(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	seqs := map[int64]queue.TicketID{}
	for _, tk := range all {
		if other, dup := seqs[tk.Seq]; dup {
			t.Errorf("seq %d held by tickets %d and %d", tk.Seq, other, tk.ID)
		}
		seqs[tk.Seq] = tk.ID
		// The ticket row and its journal were committed together: the
		// ticket is where its last journal row says.
		trs := byTicket[tk.ID]
		if len(trs) == 0 || trs[0].Event != queue.EvJoin || trs[len(trs)-1].To != tk.State {
			t.Errorf("ticket %d in %s disagrees with its journal %+v", tk.ID, tk.State, trs)
		}
	}

	events := []queue.Event{queue.EvJoin, queue.EvUpdate, queue.EvReserve}
	for id, a := range acks {
		tk, err := s.Ticket(ctx, id)
		if err != nil {
			t.Errorf("acknowledged ticket lost: %v", err)
			continue
		}
		if tk.Seq != a.seq {
			t.Errorf("ticket %d: seq %d, acknowledged %d", id, tk.Seq, a.seq)
		}
		trs := byTicket[id]
		for i, jid := range a.journalIDs {
			if i >= len(trs) || trs[i].JournalID != jid || trs[i].Event != events[i] {
				t.Errorf("ticket %d: acknowledged %s as journal %d, journal has %+v", id, events[i], jid, trs)
				break
			}
		}
		if len(a.journalIDs) == 3 && (tk.State != queue.Reserved || tk.Promise.Owner != "billing") {
			t.Errorf("ticket %d: reserve acknowledged but stored %s owned by %q", id, tk.State, tk.Promise.Owner)
		}
	}

	// The line rebuilt from Active is the line the child was serving.
	active, err := s.Active(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var line []*queue.Ticket
	for _, tk := range active {
		if acks[tk.ID] != nil {
			line = append(line, tk)
		}
	}
	if len(line) != len(acks) {
		t.Errorf("Active holds %d of the %d acknowledged tickets", len(line), len(acks))
	}
	slices.SortFunc(line, func(a, b *queue.Ticket) int {
		switch {
		case a.Ahead(b):
			return -1
		case b.Ahead(a):
			return 1
		}
		return 0
	})
	var gotOrder, wantOrder []queue.TicketID
	for _, tk := range line {
		gotOrder = append(gotOrder, tk.ID)
	}
	for id := range acks {
		wantOrder = append(wantOrder, id)
	}
	slices.SortFunc(wantOrder, func(a, b queue.TicketID) int { return cmp.Compare(acks[a].seq, acks[b].seq) })
	if !reflect.DeepEqual(gotOrder, wantOrder) {
		t.Errorf("line order after restart differs from acknowledged seq order")
	}
}
