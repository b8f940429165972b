package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/dialer"
	"github.com/vhold/vhold/sim"
)

// runDemo runs the whole service (line, IVR, dialer) on the in-memory switch
// with synthetic callers, in virtual time: a newcomer with no PBX sees every
// step of the caller's journey and a summary, and the same seed gives the
// same run.
func runDemo(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "demo", "demo [--agents N] [--rate CALLS/H] [--handle D] [--press1 SHARE] [--duration D] [--speed X] [--seed N]")
	agents := fs.Int("agents", 5, "agents staffing the queue")
	rate := fs.Float64("rate", 55, "callers per hour (Poisson)")
	handle := fs.Duration("handle", 5*time.Minute, "mean handle time (exponential)")
	press1 := fs.Float64("press1", 0.4, "share of callers offered a callback who press 1")
	patience := fs.Duration("patience", 15*time.Minute, "mean time a caller holds before hanging up (0: forever)")
	reach := fs.Float64("reach", 0.8, "share of callback attempts the customer answers")
	duration := fs.Duration("duration", time.Hour, "how long callers arrive (the line is then worked off)")
	speed := fs.Float64("speed", 0, "virtual seconds per wall second (0: as fast as possible)")
	seed := fs.Uint64("seed", 1, "random seed: the same seed replays the same run")
	strategy := fs.String("strategy", string(dialer.CustomerFirst), "callback strategy: customer-first or agent-first")
	verbose := fs.Bool("v", false, "log every step of every call")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	listen := fs.String("listen", "", "serve /healthz on this address during the run and after it, until interrupted (with --speed, watch the line move)")
	if _, code, ok := parse(e, fs, args); !ok {
		return code
	}
	switch {
	case *agents < 1:
		return errorf(e, "demo: --agents must be at least 1")
	case *rate <= 0:
		return errorf(e, "demo: --rate must be more than 0")
	case *press1 < 0 || *press1 > 1:
		return errorf(e, "demo: --press1 is a share between 0 and 1")
	case *reach <= 0 || *reach > 1:
		return errorf(e, "demo: --reach is a share above 0, at most 1")
	case *duration <= 0:
		return errorf(e, "demo: --duration must be more than 0")
	case *strategy != string(dialer.CustomerFirst) && *strategy != string(dialer.AgentFirst):
		return errorf(e, "demo: --strategy %q is not customer-first or agent-first", *strategy)
	}
	log := newLogger(e, nil, *logFormat)
	if !*verbose {
		log.Logger.SetLevel(logrus.WarnLevel)
	}
	o := sim.Options{
		Agents: *agents, Rate: *rate, Handle: *handle, PressOne: *press1, Patience: *patience,
		Reach: *reach, Duration: *duration, Seed: *seed, Strategy: dialer.Strategy(*strategy), Log: log,
	}
	if *verbose {
		// Straight to stderr: the switch calls this with its world locked, and
		// the log's virtual-time hook would ask that world for the time.
		o.Trace = func(format string, args ...any) { fmt.Fprintf(e.stderr, "call  "+format+"\n", args...) }
		log.Logger.SetLevel(logrus.DebugLevel)
	}
	w, err := sim.New(o, nil)
	if err != nil {
		return errorf(e, "demo: %v", err)
	}
	// Virtual time is also what a demo reports in, so log lines carry it.
	log.Logger.AddHook(virtualTime{now: w.Sim.Now})
	var srv *http.Server
	if *listen != "" {
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			return errorf(e, "demo: %v", err)
		}
		srv = &http.Server{Handler: healthHandler(w.Line), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		fmt.Fprintf(e.stdout, "serving http://%s/healthz\n", ln.Addr())
	}
	wall := time.Now()
	w.Traffic(w.Opts.Start)
	w.Start(ctx)
	if *speed > 0 {
		// Paced: one virtual second per 1/speed wall seconds, in steps.
		step := time.Second
		for w.Sim.Now().Before(w.Opts.Start.Add(w.Opts.Duration)) && ctx.Err() == nil {
			w.Sim.RunFor(step)
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(float64(step) / *speed)):
			}
		}
	}
	w.RunUntilSettled()
	w.Stop()
	r := sim.Summarize(w.Memory().Transitions(), w.Switch, *agents, w.Sim.Now().Sub(w.Opts.Start))
	fmt.Fprintf(e.stdout, "vhold demo: %d agents, %.0f callers/h for %s, handle %s, %.0f%% press 1, seed %d\n",
		*agents, *rate, *duration, *handle, 100**press1, *seed)
	r.Print(e.stdout)
	fmt.Fprintf(e.stdout, "ran %s of virtual time in %s\n", r.Window, time.Since(wall).Round(time.Millisecond))
	if srv != nil {
		fmt.Fprintln(e.stdout, "still serving /healthz; interrupt to stop")
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}
	return 0
}

// virtualTime stamps log entries with the simulation's clock.
type virtualTime struct{ now func() time.Time }

func (virtualTime) Levels() []logrus.Level { return logrus.AllLevels }
func (v virtualTime) Fire(e *logrus.Entry) error {
	e.Time = v.now()
	return nil
}
