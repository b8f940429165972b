package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vhold/vhold/clock"
	"github.com/vhold/vhold/queue"
	"github.com/vhold/vhold/store"
)

// TestReportGolden runs each testdata/report*/script against a store that
// seedPromises fills with a week of promise histories, and compares the
// transcript with the want file beside it (`go test ./cmd/vhold -update`
// rewrites it). The scripts are not named cmd because TestGolden runs every
// testdata/*/cmd against an empty store; testdata/report-cli/cmd is such a
// case, for what needs no seeding.
func TestReportGolden(t *testing.T) {
	scripts, err := filepath.Glob("testdata/report*/script")
	if err != nil {
		t.Fatal(err)
	}
	if len(scripts) == 0 {
		t.Fatal("no report scripts")
	}
	for _, s := range scripts {
		dir := filepath.Dir(s)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			script, err := os.ReadFile(s)
			if err != nil {
				t.Fatal(err)
			}
			db := filepath.Join(t.TempDir(), "vhold.db")
			seedPromises(t, db)
			got := seededTranscript(t, db, string(script))
			wantFile := filepath.Join(dir, "want")
			if *update {
				if err := os.WriteFile(wantFile, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("transcript differs from %s:\n--- got\n%s\n--- want\n%s", wantFile, got, want)
			}
		})
	}
}

// seededTranscript is transcript (main_test.go) over the store at db, which
// the caller has filled, rather than over a fresh one.
func seededTranscript(t *testing.T, db, script string) string {
	t.Helper()
	envs := map[string]string{"VHOLD_STORE": db, "VHOLD_ARI_PASSWORD": "ari-secret", "VHOLD_ESL_PASSWORD": "ClueCon"}
	clk := clock.NewFake(now)
	var out bytes.Buffer
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		args, err := splitArgs(line)
		if err != nil || args[0] != "vhold" {
			t.Fatalf("bad script line %q", line)
		}
		var stdout, stderr bytes.Buffer
		e := &env{stdout: &stdout, stderr: &stderr, clock: clk,
			lookupEnv: func(k string) (string, bool) { v, ok := envs[k]; return v, ok }}
		code := run(context.Background(), e, args[1:])
		fmt.Fprintf(&out, "$ %s\n%s", line, strings.ReplaceAll(stdout.String(), db, "$STORE"))
		if stderr.Len() > 0 {
			for _, l := range strings.Split(strings.TrimRight(strings.ReplaceAll(stderr.String(), db, "$STORE"), "\n"), "\n") {
				fmt.Fprintf(&out, "stderr: %s\n", l)
			}
		}
		if code != 0 {
			fmt.Fprintf(&out, "exit %d\n", code)
		}
	}
	return out.String()
}

// seeder writes tickets and their transitions through the store's own
// Insert and Commit, as the line would, at the times a story needs.
type seeder struct {
	t  *testing.T
	st *store.Store
	n  int
}

// callback joins a callback promised at p with its deadline window later.
func (s *seeder) callback(q, cat string, p time.Time, window time.Duration) *queue.Ticket {
	return s.join(q, cat, queue.Callback, p, time.Time{}, p.Add(window))
}

// scheduled joins a callback promised at p for the slot from slot to
// deadline.
func (s *seeder) scheduled(q, cat string, p, slot, deadline time.Time) *queue.Ticket {
	return s.join(q, cat, queue.Scheduled, p, slot, deadline)
}

func (s *seeder) join(q, cat string, kind queue.Kind, p, slot, deadline time.Time) *queue.Ticket {
	s.n++
	tk := &queue.Ticket{
		Queue: q, Kind: kind, State: queue.Waiting, Number: fmt.Sprintf("+3491100%04d", s.n),
		JoinedAt: p, UpdatedAt: p, SlotStart: slot,
		Promise: queue.Promise{Deadline: deadline, OriginalDeadline: deadline, Category: queue.Category(cat), PromisedAt: p},
	}
	if err := s.st.Insert(context.Background(), tk, &queue.Transition{Event: queue.EvJoin, To: queue.Waiting,
		Reason: "joined as " + string(kind), Actor: "test", At: p}); err != nil {
		s.t.Fatal(err)
	}
	return tk
}

// event commits ev on tk at at; f changes the ticket as the line would.
func (s *seeder) event(tk *queue.Ticket, ev queue.Event, at time.Time, reason string, f func(*queue.Ticket)) {
	to, err := queue.Next(tk.State, ev)
	if err != nil {
		s.t.Fatal(err)
	}
	next := tk.Clone()
	next.State, next.UpdatedAt = to, at
	if to.Final() {
		next.FinalReason = reason
	}
	if f != nil {
		f(next)
	}
	tr := &queue.Transition{Ticket: tk.ID, Event: ev, From: tk.State, To: to, Reason: reason, Actor: "test", At: at}
	if err := s.st.Commit(context.Background(), next, tr); err != nil {
		s.t.Fatal(err)
	}
	*tk = *next
}

// call dials tk a minute before connect, connects it then and completes it
// after ten minutes of conversation.
func (s *seeder) call(tk *queue.Ticket, connect time.Time) {
	s.event(tk, queue.EvReserve, connect.Add(-time.Minute), "", func(n *queue.Ticket) { n.Agent = "alice" })
	s.event(tk, queue.EvDial, connect.Add(-time.Minute), "attempt 1", func(n *queue.Ticket) { n.Attempts++ })
	s.event(tk, queue.EvConnect, connect, "", func(n *queue.Ticket) { n.ConnectedAt = connect })
	s.event(tk, queue.EvComplete, connect.Add(10*time.Minute), "done", func(n *queue.Ticket) { n.Agent = "" })
}

func (s *seeder) atRisk(tk *queue.Ticket, at time.Time) {
	s.event(tk, queue.EvAtRisk, at, "deadline minus margin passed", func(n *queue.Ticket) { n.Promise.AtRiskAt = at })
}

// reset gives tk its one new deadline and sends the recovery message.
func (s *seeder) reset(tk *queue.Ticket, at, deadline time.Time, written bool) {
	s.event(tk, queue.EvOwn, at, "owner maria", func(n *queue.Ticket) { n.Promise.Owner = "maria" })
	s.event(tk, queue.EvReset, at, "new deadline", func(n *queue.Ticket) {
		n.Promise.Deadline, n.Promise.Resets, n.Promise.Written = deadline, n.Promise.Resets+1, written
	})
	s.event(tk, queue.EvRecovery, at, "message sent", func(n *queue.Ticket) { n.Promise.RecoverySentAt = at })
}

func (s *seeder) chase(tk *queue.Ticket, at time.Time) {
	s.event(tk, queue.EvChase, at, "called in", func(n *queue.Ticket) { n.Promise.Chases++ })
}

func (s *seeder) miss(tk *queue.Ticket, at time.Time) {
	s.event(tk, queue.EvMiss, at, "deadline passed with the call not placed", func(n *queue.Ticket) { n.Promise.MissedAt = at })
}

// seedPromises writes the week before the golden cases' now (Monday
// 2026-11-23 09:00Z) at path. With --since 7d the report should show:
// 11 promised; 8 connected, 4 inside the original window (A F J M), the
// others 25, 12, 70 and 20 minutes late (mean 127/8 = 15.9); 6 delayed
// (B I recovered before the deadline, D after, C G K never); second windows
// met 2 of 3 (B I; D missed its); 2 chased with 3 calls (D K); 1 escalated
// (D); 2 missed (D 70 and G 95 minutes late, mean 82.5); 1 resolved in
// writing (I).
func seedPromises(t *testing.T, path string) {
	st, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := &seeder{t: t, st: st}
	day := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, time.UTC) }
	mins := func(n int) time.Duration { return time.Duration(n) * time.Minute }

	// A: called inside its window.
	a := s.callback("support", "general", day(19, 10, 0), mins(25))
	s.call(a, day(19, 10, 20))

	// B: at risk, reset with a message before the deadline, called inside
	// the second window: 25 minutes outside the first.
	b := s.callback("support", "general", day(19, 11, 0), mins(25))
	s.atRisk(b, day(19, 11, 15))
	s.reset(b, day(19, 11, 16), day(19, 12, 0), false)
	s.call(b, day(19, 11, 50))

	// C: called 12 minutes late, nobody told the customer.
	c := s.callback("support", "general", day(20, 9, 30), mins(20))
	s.call(c, day(20, 10, 2))

	// D: missed outright, chased, reset after the deadline, at risk again,
	// escalated, called 70 minutes after the original deadline (and after
	// the reset one).
	d := s.callback("support", "access", day(20, 10, 0), mins(30))
	s.atRisk(d, day(20, 10, 20))
	s.miss(d, day(20, 10, 31))
	s.chase(d, day(20, 10, 35))
	s.reset(d, day(20, 10, 40), day(20, 11, 30), false)
	s.atRisk(d, day(20, 11, 20))
	s.event(d, queue.EvEscalate, day(20, 11, 20), "the reset promise is at risk too", func(n *queue.Ticket) {
		n.Promise.Escalated, n.Priority = true, 100
	})
	s.call(d, day(20, 11, 40))

	// E: cancelled by the customer before the deadline: not delayed.
	e := s.callback("support", "general", day(21, 12, 0), mins(25))
	s.event(e, queue.EvCancel, day(21, 12, 5), "cancelled by the customer", nil)

	// F: scheduled on 20 November for the 17:00–17:30 slot, called at 17:10.
	f := s.scheduled("support", "general", day(20, 8, 0), day(20, 17, 0), day(20, 17, 30))
	s.call(f, day(20, 17, 10))

	// G: promised this morning, at risk, missed, still waiting at 09:00.
	g := s.callback("support", "general", day(23, 7, 0), mins(25))
	s.atRisk(g, day(23, 7, 15))
	s.miss(g, day(23, 7, 26))

	// H: promised before the week: in no report for --since 7d.
	h := s.callback("support", "general", day(14, 10, 0), mins(25))
	s.call(h, day(14, 12, 0))

	// I: a money callback reset to a written update, written before the
	// new deadline.
	i := s.callback("billing", "money", day(22, 10, 0), mins(30))
	s.atRisk(i, day(22, 10, 10))
	s.reset(i, day(22, 10, 12), day(22, 12, 0), true)
	s.event(i, queue.EvResolve, day(22, 11, 30), "written update sent by maria", nil)

	// J: called inside its window.
	j := s.callback("billing", "money", day(22, 11, 0), mins(30))
	s.call(j, day(22, 11, 25))

	// K: chased twice, called 20 minutes late.
	k := s.callback("billing", "money", day(22, 12, 0), mins(30))
	s.chase(k, day(22, 12, 40))
	s.chase(k, day(22, 12, 45))
	s.call(k, day(22, 12, 50))

	// L: a live caller: no promise, in no report.
	s.n++
	l := &queue.Ticket{Queue: "billing", Kind: queue.Live, State: queue.Waiting, Number: "+34911009999",
		JoinedAt: day(22, 13, 0), UpdatedAt: day(22, 13, 0)}
	if err := st.Insert(context.Background(), l, &queue.Transition{Event: queue.EvJoin, To: queue.Waiting, Actor: "test", At: l.JoinedAt}); err != nil {
		t.Fatal(err)
	}
	s.event(l, queue.EvReserve, day(22, 13, 4), "", nil)
	s.event(l, queue.EvConnect, day(22, 13, 4), "", func(n *queue.Ticket) { n.ConnectedAt = day(22, 13, 4) })

	// M: a live caller converted before promised_at was kept (a row
	// migrated from an older vhold): promised at the convert, called
	// inside its window.
	m := &queue.Ticket{Queue: "support", Kind: queue.Live, State: queue.Waiting, Number: "+34911008888",
		JoinedAt: day(21, 9, 0), UpdatedAt: day(21, 9, 0)}
	if err := st.Insert(context.Background(), m, &queue.Transition{Event: queue.EvJoin, To: queue.Waiting, Actor: "test", At: m.JoinedAt}); err != nil {
		t.Fatal(err)
	}
	s.event(m, queue.EvConvert, day(21, 9, 5), "pressed 1", func(n *queue.Ticket) {
		n.Kind = queue.Callback
		n.Promise = queue.Promise{Deadline: day(21, 9, 30), OriginalDeadline: day(21, 9, 30), Category: "general"}
	})
	s.call(m, day(21, 9, 20))
}
