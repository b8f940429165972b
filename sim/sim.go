// Package sim runs the real line, IVR and dialer against the in-memory
// switch with synthetic traffic, in virtual time: `vhold demo` shows a
// newcomer the whole service without a PBX, and the same run, seeded, is a
// repeatable experiment whose figures anyone can reproduce.
package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/dialer"
	"github.com/vhold/vhold/ivr"
	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/pbx/pbxtest"
	"github.com/vhold/vhold/queue"
)

// Options describe a contact centre and its afternoon.
type Options struct {
	// Agents staff the one queue, "support".
	Agents int
	// Rate is callers per hour (Poisson arrivals).
	Rate float64
	// Handle is the agents' mean handle time (exponential).
	Handle time.Duration
	// PressOne is the share of callers offered a callback who take it.
	PressOne float64
	// Patience is the mean time a caller holds before hanging up
	// (exponential); 0 means callers never give up.
	Patience time.Duration
	// Reach is the share of callback attempts the customer answers; the
	// rest ring out (no answer), and a few reach an answering machine.
	Reach float64
	// Duration is how long callers arrive. The run goes on after it until
	// every ticket has ended (or Drain has passed), like a queue that closes
	// its doors and works off its line.
	Duration, Drain time.Duration
	Seed            uint64
	// Start is the virtual start time.
	Start time.Time
	// Journal persists the line; nil keeps it in memory.
	Journal queue.Journal
	// Queue is the line's policy for "support"; zero fields take defaults.
	Queue queue.QueueConfig
	// Strategy is the callback strategy (customer-first by default).
	Strategy dialer.Strategy
	Log      *logrus.Entry
	// Trace receives every call step of the in-memory switch (verbose).
	Trace func(format string, args ...any)
}

func (o *Options) setDefaults() {
	if o.Agents <= 0 {
		o.Agents = 5
	}
	if o.Rate <= 0 {
		o.Rate = 60
	}
	if o.Handle <= 0 {
		o.Handle = 5 * time.Minute
	}
	if o.Duration <= 0 {
		o.Duration = time.Hour
	}
	if o.Drain <= 0 {
		o.Drain = 4 * time.Hour
	}
	if o.Reach <= 0 {
		o.Reach = 0.8
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	}
	if o.Log == nil {
		l := logrus.New()
		l.SetLevel(logrus.PanicLevel)
		o.Log = logrus.NewEntry(l)
	}
	q := &o.Queue
	q.Name = "support"
	if q.Estimate.PriorHandle <= 0 {
		q.Estimate.PriorHandle = o.Handle
	}
	if q.Offer.Horizon <= 0 {
		q.Offer = queue.OfferPolicy{Enabled: true, MinWait: 2 * time.Minute, MaxOutstanding: 50,
			Horizon: 2 * time.Hour, CloseMargin: 15 * time.Minute, ScheduledAfterHours: true}
	}
	if q.Callback.MaxAttempts <= 0 {
		q.Callback = queue.CallbackPolicy{MaxAttempts: 3, RetryDelays: []time.Duration{2 * time.Minute, 5 * time.Minute, 15 * time.Minute}}
	}
}

// World is a running simulation: its clock, switch, line and journal.
type World struct {
	Opts   Options
	Sim    *pbxtest.Sim
	Switch *pbxtest.Switch
	Line   *queue.Line
	IVR    *ivr.IVR
	Dialer *dialer.Dialer
	mem    *queue.MemJournal
	cancel context.CancelFunc
}

// New assembles the service on an in-memory switch, as `vhold serve`
// assembles it on a real one. active are tickets loaded from the journal
// (a restart); nil for a fresh start.
func New(o Options, active []*queue.Ticket) (*World, error) {
	o.setDefaults()
	w := &World{Opts: o, Sim: pbxtest.NewSim(o.Start)}
	w.Switch = pbxtest.NewSwitch(w.Sim, "sim", pbxtest.Options{Seed: o.Seed, Log: o.Trace})
	j := o.Journal
	if j == nil {
		w.mem = queue.NewMemJournal()
		j = w.mem
	}
	cfg := queue.Config{Queues: []queue.QueueConfig{o.Queue}}
	for i := range o.Agents {
		id := fmt.Sprintf("agent%02d", i+1)
		ep := "PJSIP/" + id
		cfg.Agents = append(cfg.Agents, queue.AgentConfig{ID: id, Endpoint: ep, Queues: []string{"support"}, WrapUp: 30 * time.Second})
		w.Switch.Agent(ep, pbxtest.Talks(3*time.Second, pbxtest.Exponential(o.Handle)))
	}
	line, err := queue.NewLine(cfg, w.Sim, j, active, o.Log)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	w.Line = line
	var conn dialer.Late
	w.IVR = ivr.New(ivr.Config{Queues: map[string]ivr.QueueOptions{"support": {Language: "en", Country: "ES"}}}, line, w.Sim, &conn, o.Log)
	w.Dialer = dialer.New(line, []pbx.Switch{w.Switch}, w.IVR, w.Sim, map[string]dialer.QueueOptions{
		"support": {Strategy: o.Strategy, CallerID: pbx.Party{Number: "+34910000000", Name: "Support"}, DialString: "PJSIP/{number}@trunk"},
	}, o.Log)
	conn.D = w.Dialer
	return w, nil
}

// Traffic schedules the synthetic callers: Poisson arrivals over Duration;
// each is offered... whatever the offer policy says, takes it with
// probability PressOne, holds for an exponential patience, and when called
// back answers with probability Reach (the others ring out; one in ten of
// those reaches an answering machine).
func (w *World) Traffic(from time.Time) {
	o := w.Opts
	w.Switch.Generate(pbxtest.Traffic{
		Rate: o.Rate, Start: from, End: o.Start.Add(o.Duration), Queue: "support",
		Make: func(i int, rng *rand.Rand) pbxtest.Caller {
			number := fmt.Sprintf("+3461%07d", i)
			c := pbxtest.Caller{Number: number, Queue: "support"}
			if o.Patience > 0 {
				c.HangUpAfter = time.Duration(rng.ExpFloat64() * float64(o.Patience))
			}
			if rng.Float64() < o.PressOne {
				c.Script = []pbxtest.Action{
					pbxtest.PressOn{Prompt: ivr.PromptOfferCallback, Keys: "1", Delay: time.Second},
					pbxtest.PressOn{Prompt: ivr.PromptConfirmOrOther, Keys: "1", Delay: time.Second},
				}
			}
			var attempts pbxtest.Attempts
			for range 3 {
				r := rng.Float64()
				switch {
				case r < o.Reach:
					attempts = append(attempts, pbxtest.Answers(5*time.Second,
						pbxtest.PressOn{Prompt: ivr.PromptConnectOrLater, Keys: "1", Delay: time.Second}))
				case r < o.Reach+(1-o.Reach)/10:
					attempts = append(attempts, pbxtest.Machine(15*time.Second, 40*time.Second))
				default:
					attempts = append(attempts, pbxtest.NoAnswer())
				}
			}
			w.Switch.Customer(number, attempts)
			return c
		},
	})
}

// Start serves incoming calls and starts dispatching; Run moves time.
func (w *World) Start(ctx context.Context) {
	ctx, w.cancel = context.WithCancel(ctx)
	w.Sim.Go(func() { _ = w.Switch.Serve(ctx, w.IVR.Handle) })
	w.Dialer.Start(ctx)
}

// RunUntilSettled runs until arrivals have ended and every ticket reached a
// final state, or the drain time has passed.
func (w *World) RunUntilSettled() {
	end := w.Opts.Start.Add(w.Opts.Duration)
	w.Sim.Run(end)
	limit := end.Add(w.Opts.Drain)
	for w.Sim.Now().Before(limit) && w.open() > 0 {
		w.Sim.RunFor(time.Minute)
	}
}

func (w *World) open() int {
	c, _ := w.Line.Counts("support")
	return c.OnHold + c.Callbacks + c.Scheduled + c.Reserved + c.Dialing + c.Connected
}

// Stop ends every flow and call and waits for them.
func (w *World) Stop() {
	if w.cancel != nil {
		w.cancel()
	}
	w.Sim.RunFor(time.Minute)
	w.Dialer.Stop()
}

// Memory is the in-memory journal, when Options.Journal was nil.
func (w *World) Memory() *queue.MemJournal { return w.mem }
