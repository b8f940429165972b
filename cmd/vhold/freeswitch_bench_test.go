package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vhold/vhold/pbx/freeswitch/esltest"
)

// BenchmarkServe500HeldCallersFreeSWITCH is BenchmarkServe500HeldCallers on
// the fake FreeSWITCH: the vhold binary holding 500 callers at once over
// one event socket connection, in real time (the fake at speed 1, so every
// prompt plays for as long as on a real FreeSWITCH). Nobody answers: the
// only agent starts paused. The callers arrive over 2 s, each parked by
// extension 200 with vhold_queue=support; each is answered, hears the
// greeting, the music (local_stream://moh) and its place in line, again
// every 10 s, holds 20 to 30 s from its answer and hangs up.
//
// One op is the whole 500-caller run, about 35 s of wall time: run it with
// -benchtime 1x. Reported per op, as for Asterisk:
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
// The fake FreeSWITCH runs in the benchmark's own process and is not
// counted.
//
//	go test -run '^$' -bench Serve500HeldCallersFreeSWITCH -benchtime 1x ./cmd/vhold/
func BenchmarkServe500HeldCallersFreeSWITCH(b *testing.B) {
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
		r := serveHeldCallersFreeSWITCH(b, bin, callers)
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

// serveHeldCallersFreeSWITCH is one op of
// BenchmarkServe500HeldCallersFreeSWITCH.
func serveHeldCallersFreeSWITCH(b *testing.B, bin string, n int) heldRun {
	b.StopTimer()
	srv := esltest.New(esltest.Options{Speed: 1, Password: fsRigPassword})
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	dir := b.TempDir()
	addr := freeAddr(b)
	cfg := fsRigConfig{ESL: srv.Addr(), Listen: addr, AgentState: "paused", AnnounceEvery: 10 * time.Second}.write(b, dir)
	vh := startVhold(b, bin, cfg, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.WaitFor(ctx, func() bool { return srv.Connections() > 0 }); err != nil {
		b.Fatalf("vhold never connected to the event socket: %v\n%s", err, vh.out.String())
	}
	vh.waitFor(b, "vhold to answer /healthz", 10*time.Second, func() bool { return vh.health() != nil })

	b.StartTimer()
	start := time.Now()
	const arrivals = 2 * time.Second
	calls := make([]*esltest.Call, n)
	for i := range n {
		// Arrivals evenly over 2 s; holds of 20 to 30 s, varied so the
		// hang-ups spread too.
		if d := time.Until(start.Add(arrivals * time.Duration(i) / time.Duration(n))); d > 0 {
			time.Sleep(d)
		}
		hold := 20*time.Second + time.Duration(i%11)*time.Second
		calls[i] = srv.Call(esltest.CallSpec{
			CallerNumber: fmt.Sprintf("+3461200%04d", i), Queue: "support",
			Script: esltest.Script{{Delay: hold, HangUp: true}},
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
			if strings.HasSuffix(h.Path, "/position-you-are-number.wav") {
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
