package freeswitch_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/vhold/vhold/clock"
	"github.com/vhold/vhold/ivr"
	"github.com/vhold/vhold/pbx/freeswitch"
	"github.com/vhold/vhold/pbx/freeswitch/esltest"
	"github.com/vhold/vhold/queue"
)

// BenchmarkHeldCallers500 carries 500 callers on hold through the adapter,
// the IVR and the line, against the fake FreeSWITCH over one event socket
// connection, the way `vhold serve` runs them, at real speed (as
// cmd/vhold's BenchmarkServe500HeldCallers does on the fake Asterisk): 500
// calls arrive over 2 s; each is parked with vhold_queue, answered,
// greeted, joins the line (the only agent is paused), hears the music and
// its position, again every 10 s, and hangs up 20 to 30 s after its first
// position. One op is the whole run, about 32 s. Besides time and
// allocations per op it reports the process's CPU time (user + system,
// getrusage: the fake FreeSWITCH runs in the same process and is counted
// too; a CPU profile splits it) and the announcements each caller heard.
// BenchmarkHeldCallers500Fast runs the same at ten times the speed, which
// puts the single connection's one-command-at-a-time limit to the test.
func BenchmarkHeldCallers500(b *testing.B) { benchHeld(b, 1) }

// BenchmarkHeldCallers500Fast: see BenchmarkHeldCallers500.
func BenchmarkHeldCallers500Fast(b *testing.B) { benchHeld(b, 10) }

func benchHeld(b *testing.B, speed float64) {
	const n = 500
	var cpu, heardPerCaller float64
	for range b.N {
		c, h := heldCallers(b, n, speed)
		cpu += c
		heardPerCaller += h
	}
	b.ReportMetric(cpu/float64(b.N), "cpu-s/op")
	b.ReportMetric(heardPerCaller/float64(b.N), "announcements/caller")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heldCallers(b *testing.B, n int, speed float64) (cpuSeconds, announcements float64) {
	b.StopTimer()
	srv := esltest.New(esltest.Options{Speed: speed, Password: password})
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	j := queue.NewMemJournal()
	line, err := queue.NewLine(heldLineConfig(), clock.Real{}, j, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := line.SetAgentState("alice", queue.AgentPaused, "benchmark"); err != nil {
		b.Fatal(err)
	}
	sw := freeswitch.New(freeswitch.Options{Name: "fs1", Address: srv.Addr(), Password: password, Log: quiet(b)})
	every := time.Duration(float64(10*time.Second) / speed)
	flows := ivr.New(ivr.Config{Queues: map[string]ivr.QueueOptions{"support": {Language: "en", Country: "ES", AnnounceEvery: every}}},
		line, clock.Real{}, nil, quiet(b))
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- sw.Serve(ctx, flows.Handle) }()
	defer func() {
		cancel()
		<-served
	}()
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer wcancel()
	if err := srv.WaitFor(wctx, func() bool { return srv.Connections() > 0 }); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	cpu0 := cpuTime()
	b.StartTimer()
	calls := make([]*esltest.Call, 0, n)
	for i := range n {
		hold := 20*time.Second + time.Duration(rng.Int64N(int64(10*time.Second)))
		calls = append(calls, srv.Call(esltest.CallSpec{
			CallerNumber: fmt.Sprintf("3461%07d", i), Queue: "support",
			Script: esltest.Script{{AfterMedia: "*position-you-are-number.wav", Delay: hold, HangUp: true}},
		}))
		time.Sleep(2 * time.Second / time.Duration(n))
	}
	for _, c := range calls {
		if err := c.WaitHungUp(wctx); err != nil {
			b.Fatalf("a caller never hung up: %s", heard(c))
		}
	}
	if err := srv.WaitFor(wctx, func() bool { return countEvents(j, queue.EvAbandon) == n }); err != nil {
		b.Fatalf("abandons %d, joins %d, want %d each", countEvents(j, queue.EvAbandon), countEvents(j, queue.EvJoin), n)
	}
	b.StopTimer()
	cpuSeconds = (cpuTime() - cpu0).Seconds()
	if joins := countEvents(j, queue.EvJoin); joins != n {
		b.Fatalf("joins %d, want %d", joins, n)
	}
	total := 0
	for _, c := range calls {
		k := heardSince(c, 0, "position-you-are-number")
		if k == 0 {
			b.Fatalf("a caller never heard their position: %s", heard(c))
		}
		total += k
	}
	return cpuSeconds, float64(total) / float64(n)
}

func countEvents(j *queue.MemJournal, ev queue.Event) int {
	k := 0
	for _, tr := range j.Transitions() {
		if tr.Event == ev {
			k++
		}
	}
	return k
}
