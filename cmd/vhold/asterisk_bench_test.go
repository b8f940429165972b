package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vhold/vhold/pbx/asterisk/aritest"
	"github.com/vhold/vhold/queue"
)

// BenchmarkServe500HeldCallers measures the vhold binary holding 500 callers
// at once on the fake Asterisk, in real time (the fake at speed 1, so every
// prompt plays for as long as on a real Asterisk). Nobody answers: the only
// agent starts paused. The callers arrive over 2 s; each is answered, hears
// the greeting and its place in line, again every 10 s (the shortest
// hold.announce_every vhold accepts), holds 20 to 30 s and hangs up.
//
// One op is the whole 500-caller run, about 35 s of wall time: run it with
// -benchtime 1x (a larger b.N repeats the run with a fresh vhold and store
// each time). Reported per op:
//
//	cpu-s/op  the vhold process's CPU time, user + system, from /proc/<pid>/stat
//	          (start-up, 500 calls, and the line settling; read before SIGTERM)
//	peak-MiB  its peak resident set, VmHWM in /proc/<pid>/status
//	callers   500
//	errors    callers not answered or who never heard a position
//	          announcement, + lines vhold logged at level error or worse,
//	          + tickets whose journal is not exactly "join abandon" (or
//	          missing): the benchmark fails unless this is 0.
//
//	go test -run '^$' -bench Serve500 -benchtime 1x ./cmd/vhold/
func BenchmarkServe500HeldCallers(b *testing.B) {
	if testing.Short() {
		b.Skip("builds and runs the vhold binary for 35 s")
	}
	const callers = 500
	bin := vholdBinary(b)
	var (
		cpu      time.Duration
		peak     int64
		failures int
	)
	b.ResetTimer()
	for range b.N {
		r := serveHeldCallers(b, bin, callers)
		cpu += r.stat.CPU
		peak = max(peak, r.stat.PeakRSS)
		failures += r.failures
	}
	b.StopTimer()
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
	b.ReportMetric(callers, "callers")
	b.ReportMetric(float64(failures), "errors")
	if failures > 0 {
		b.Fatalf("%d errors (see the log above)", failures)
	}
}

type heldRun struct {
	stat     procStat
	failures int
}

// serveHeldCallers is one op of BenchmarkServe500HeldCallers.
func serveHeldCallers(b *testing.B, bin string, n int) heldRun {
	b.StopTimer()
	srv := aritest.New(aritest.Options{Speed: 1, SoundExists: func(string, string) bool { return true }})
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	dir := b.TempDir()
	addr := freeAddr(b)
	cfg := rigConfig{ARI: srv.URL(), Listen: addr, AgentState: "paused", AnnounceEvery: 10 * time.Second}.write(b, dir)
	vh := startVhold(b, bin, cfg, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.WaitConnected(ctx); err != nil {
		b.Fatalf("vhold never opened the ARI WebSocket: %v\n%s", err, vh.out.String())
	}
	vh.waitFor(b, "vhold to answer /healthz", 10*time.Second, func() bool { return vh.health() != nil })

	b.StartTimer()
	start := time.Now()
	const arrivals = 2 * time.Second
	calls := make([]*aritest.Call, n)
	for i := range n {
		// Arrivals evenly over 2 s; holds of 20 to 30 s, varied so the
		// hang-ups spread too.
		if d := time.Until(start.Add(arrivals * time.Duration(i) / time.Duration(n))); d > 0 {
			time.Sleep(d)
		}
		hold := 20*time.Second + time.Duration(i%11)*time.Second
		calls[i] = srv.Call(aritest.CallSpec{
			Caller: aritest.Party{Number: fmt.Sprintf("+3461200%04d", i)}, Args: []string{"support"},
			Script: aritest.Script{{Delay: hold, HangUp: true}},
		})
	}
	vh.waitFor(b, "every caller to hang up", 90*time.Second, func() bool {
		for _, c := range calls {
			if !c.HungUp() {
				return false
			}
		}
		return true
	})
	vh.waitFor(b, "the line to empty", 30*time.Second, func() bool {
		h := vh.health()
		return h != nil && idle(h["support"])
	})
	b.StopTimer()
	wall := time.Since(start)

	stat, err := readProcStat(vh.cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	if code := vh.stop(b); code != 0 {
		b.Fatalf("vhold serve exited %d after SIGTERM; output:\n%s", code, vh.out.String())
	}

	// The callers' side.
	var notAnswered, noPosition, announcements int
	for _, c := range calls {
		if !c.Answered() {
			notAnswered++
			continue
		}
		heard := 0
		for _, h := range c.Heard() {
			if strings.HasSuffix(h.Media, "/position-you-are-number") {
				heard++
			}
		}
		if heard == 0 {
			noPosition++
		}
		announcements += heard
	}
	return judgeHeldRun(b, vh, n, wall, stat, notAnswered, noPosition, announcements)
}

// judgeHeldRun is the common end of the held-callers benchmarks on either
// fake PBX: with the callers' side counted by the caller, it checks vhold's
// log and journal (every caller joined and was abandoned once they hung up),
// logs the figures, and returns the run with its failures.
func judgeHeldRun(b *testing.B, vh *vholdProc, n int, wall time.Duration, stat procStat, notAnswered, noPosition, announcements int) heldRun {
	// vhold's log.
	logged := logErrors(vh.out.Bytes())
	// The journal: every caller joined and, having hung up, was abandoned.
	rows, tickets := storeContents(b, vh.db)
	badTickets := max(n-len(tickets), 0)
	var joins, abandons int
	for _, r := range rows {
		switch r.Event {
		case queue.EvJoin:
			joins++
		case queue.EvAbandon:
			abandons++
		}
	}
	var badJournal []string
	for _, t := range tickets {
		if ev := eventsOf(rows, t.ID); ev != "join abandon" || t.State != queue.Abandoned {
			badTickets++
			if len(badJournal) < 10 {
				badJournal = append(badJournal, fmt.Sprintf("ticket %d (%s): %s, %s %q", t.ID, t.Number, ev, t.State, t.FinalReason))
			}
		}
	}
	errs := notAnswered + noPosition + len(logged) + badTickets
	b.Logf("%d callers in %s: %d not answered, %d heard no position, %d announcements heard (%.1f each); "+
		"journal %d tickets, %d joins, %d abandons, %d not as expected; %d error lines logged; "+
		"vhold cpu %.2fs (user+system), peak RSS %.1f MiB",
		n, wall.Round(time.Millisecond), notAnswered, noPosition, announcements, float64(announcements)/float64(n),
		len(tickets), joins, abandons, badTickets, len(logged), stat.CPU.Seconds(), float64(stat.PeakRSS)/(1<<20))
	if len(badJournal) > 0 {
		b.Logf("tickets not as expected (first %d):\n%s", len(badJournal), strings.Join(badJournal, "\n"))
	}
	if w := logWarnings(vh.out.Bytes()); len(w) > 0 {
		b.Logf("warnings logged (count by message): %v", w)
	}
	if len(logged) > 0 {
		b.Logf("error lines (first %d):\n%s", min(len(logged), 10), strings.Join(logged[:min(len(logged), 10)], "\n"))
	}
	return heldRun{stat: stat, failures: errs}
}
