package pbxtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vhold/vhold/pbx"
)

// rig is a switch serving a handler on a fresh Sim.
type rig struct {
	t    testing.TB
	sim  *Sim
	sw   *Switch
	stop context.CancelFunc
	log  []string
}

func newRig(t testing.TB, opts Options) *rig {
	sim := NewSim(t0)
	return &rig{t: t, sim: sim, sw: NewSwitch(sim, "pbx1", opts)}
}

// serve starts the switch serving h; the Serve goroutine is tracked, so it
// is serving before the first call arrives.
func (r *rig) serve(h pbx.Handler) {
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	r.sim.Go(func() {
		if err := r.sw.Serve(ctx, h); err != context.Canceled {
			r.t.Errorf("Serve returned %v, want context.Canceled", err)
		}
	})
}

// finish stops the switch and checks that every simulated goroutine ended.
func (r *rig) finish() {
	r.t.Helper()
	if r.stop != nil {
		r.stop()
	}
	r.sim.RunFor(0)
	if n := r.sim.Live(); n != 0 {
		r.t.Fatalf("%d simulated goroutines still live after the switch stopped", n)
	}
}

// say records a line prefixed with the virtual time since t0.
func (r *rig) say(format string, args ...any) {
	r.log = append(r.log, fmt.Sprintf("%s ", r.sim.Now().Sub(t0))+fmt.Sprintf(format, args...))
}

// world dials each caller a minute apart from t0, runs flow for them for
// up to a day, stops the switch and returns the calls.
func world(t testing.TB, opts Options, flow pbx.Handler, callers ...Caller) (*Sim, *Switch, []*Call) {
	r := newRig(t, opts)
	var calls []*Call
	for i, c := range callers {
		calls = append(calls, r.sw.Dial(t0.Add(time.Duration(i)*time.Minute), c))
	}
	r.serve(flow)
	r.sim.RunFor(24 * time.Hour)
	r.finish()
	return r.sim, r.sw, calls
}

// holdFlow is a small virtual-hold flow: greeting, then the callback offer
// between minutes of music until the caller takes it or leaves.
func holdFlow(ctx context.Context, c pbx.Call) {
	if c.Answer(ctx) != nil {
		return
	}
	if _, err := c.Play(ctx, pbx.PlayOptions{}, pbx.Sound("greeting"), pbx.Sound("position"), pbx.Number(3)); err != nil {
		return
	}
	for {
		k, err := c.Play(ctx, pbx.PlayOptions{Interrupt: "1"}, pbx.Sound("offer-callback"))
		if err != nil {
			return
		}
		if k == "1" {
			_, _ = c.Play(ctx, pbx.PlayOptions{}, pbx.Sound("goodbye"))
			_ = c.Hangup(ctx, pbx.CauseNormal)
			return
		}
		if c.StartMOH(ctx, "") != nil {
			return
		}
		if _, err := c.Wait(ctx, time.Minute); err != nil {
			return
		}
	}
}
