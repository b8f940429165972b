package pbxtest

import (
	"context"
	"testing"
	"time"

	"github.com/vhold/vhold/pbx"
)

// BenchmarkCalls measures how many whole calls the switch simulates per
// second of wall time: each caller is answered, hears a three-prompt
// greeting, waits a minute on hold and is hung up. Callers arrive 100 ms
// apart, so about 650 calls are up at once.
func BenchmarkCalls(b *testing.B) {
	r := newRig(b, Options{Seed: 1})
	for i := range b.N {
		r.sw.Dial(t0.Add(time.Duration(i)*100*time.Millisecond), Caller{Number: "+34911000000", Queue: "support"})
	}
	r.serve(func(ctx context.Context, c pbx.Call) {
		if c.Answer(ctx) != nil {
			return
		}
		if _, err := c.Play(ctx, pbx.PlayOptions{}, pbx.Sound("greeting"), pbx.Sound("position"), pbx.Number(3)); err != nil {
			return
		}
		if c.StartMOH(ctx, "") != nil {
			return
		}
		if _, err := c.Wait(ctx, time.Minute); err != nil {
			return
		}
		_ = c.Hangup(ctx, pbx.CauseNormal)
	})
	b.ResetTimer()
	start := time.Now()
	r.sim.RunFor(time.Duration(b.N)*100*time.Millisecond + time.Hour)
	elapsed := time.Since(start)
	b.StopTimer()
	r.finish()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
}
