package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/config"
	"github.com/vhold/vhold/dialer"
	"github.com/vhold/vhold/ivr"
	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/queue"
	"github.com/vhold/vhold/store"
)

// app is what most commands need: the checked configuration, the store it
// names, and the line rebuilt from that store.
type app struct {
	cfg   *config.Config
	store *store.Store
	line  *queue.Line
	log   *logrus.Entry
}

// loadConfig reads the file and prints every mistake in it.
func loadConfig(e *env, path string) (*config.Config, bool) {
	cfg, err := config.Load(path, e.lookupEnv)
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return nil, false
	}
	// VHOLD_STORE overrides the file's store path (tests, containers).
	if p, ok := e.lookupEnv("VHOLD_STORE"); ok && p != "" {
		cfg.Store.Path = p
	}
	return cfg, true
}

// newLogger writes text to a terminal and JSON when asked (or configured).
func newLogger(e *env, cfg *config.Config, format string) *logrus.Entry {
	l := logrus.New()
	l.SetOutput(e.stderr)
	if format == "" && cfg != nil {
		format = string(cfg.Log.Format)
	}
	if format == "json" {
		l.SetFormatter(&logrus.JSONFormatter{})
	} else {
		tf := &logrus.TextFormatter{FullTimestamp: true}
		tf.DisableColors = !isTerminal(e.stderr)
		l.SetFormatter(tf)
	}
	l.SetLevel(logrus.InfoLevel)
	if cfg != nil {
		if lv, err := logrus.ParseLevel(string(cfg.Log.Level)); err == nil {
			l.SetLevel(lv)
		}
	}
	return logrus.NewEntry(l)
}

// openApp loads the config, opens the store and rebuilds the line from it.
// quiet is for the admin commands, whose output is their answer: they log
// only warnings and errors unless the config asks for debug. tune, if any,
// adjusts the store's options before it is opened (serve's commit metric).
func openApp(ctx context.Context, e *env, cfgPath, logFormat string, quiet bool, tune ...func(*store.Options)) (*app, int) {
	cfg, ok := loadConfig(e, cfgPath)
	if !ok {
		return nil, 1
	}
	log := newLogger(e, cfg, logFormat)
	if quiet {
		log = quietLogger(e, cfg, logFormat)
	}
	opts := store.Options{
		Synchronous: string(cfg.Store.Synchronous),
		BusyTimeout: cfg.Store.BusyTimeout,
		Log:         log,
	}
	for _, f := range tune {
		f(&opts)
	}
	st, err := store.Open(ctx, cfg.Store.Path, opts)
	if err != nil {
		return nil, errorf(e, "%v", err)
	}
	active, err := st.Active(ctx)
	if err != nil {
		st.Close()
		return nil, errorf(e, "load the line: %v", err)
	}
	line, err := queue.NewLine(lineConfig(cfg), e.clock, st, active, log)
	if err != nil {
		st.Close()
		return nil, errorf(e, "rebuild the line from %s: %v", cfg.Store.Path, err)
	}
	return &app{cfg: cfg, store: st, line: line, log: log}, 0
}

func (a *app) Close() {
	if err := a.store.Close(); err != nil {
		a.log.WithError(err).Warn("close store")
	}
}

// lineConfig turns the file's queues and agents into the line's own
// configuration. Agents learn their queues from the queues that list them.
func lineConfig(c *config.Config) queue.Config {
	var lc queue.Config
	names := make([]string, 0, len(c.Queues))
	for n := range c.Queues {
		names = append(names, n)
	}
	sort.Strings(names)
	served := map[string][]string{}
	for _, n := range names {
		q := c.Queues[n]
		qc := queue.QueueConfig{
			Name: n,
			Estimate: queue.EstimatorOptions{
				PriorHandle: q.Estimate.HandleTime,
				Smoothing:   q.Estimate.Smoothing,
				Quantile:    q.Estimate.Quantile,
			},
			Offer: queue.OfferPolicy{
				Enabled:             q.Offer.Enabled,
				MinWait:             q.Offer.MinWait,
				MaxOutstanding:      q.Offer.MaxOutstanding,
				Horizon:             q.Offer.Horizon,
				CloseMargin:         q.Offer.CloseMargin,
				ScheduledAfterHours: q.Offer.ScheduledAfterHours,
			},
			Callback: queue.CallbackPolicy{
				MaxAttempts: q.Callback.MaxAttempts,
				RetryDelays: q.Callback.RetryDelays,
			},
			Promise: queue.PromisePolicy{DefaultCategory: queue.Category(q.Promise.DefaultCategory)},
		}
		if q.Hours.Schedule != nil {
			qc.Hours = q.Hours.Schedule
		}
		lc.Queues = append(lc.Queues, qc)
		for _, a := range q.Agents {
			served[a] = append(served[a], n)
		}
	}
	ids := make([]string, 0, len(c.Agents))
	for id := range c.Agents {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		a := c.Agents[id]
		lc.Agents = append(lc.Agents, queue.AgentConfig{
			ID: id, Name: a.Name, Endpoint: a.Endpoint, WrapUp: a.WrapUp,
			Queues: served[id], InitialState: queue.AgentState(a.State), Node: a.PBX,
		})
	}
	lc.Reach = pbxReach(c)
	return lc
}

// pbxReach is the line's Reach for the configured servers: a caller on server
// X can be connected to an agent homed on server Y only if X lists Y under
// reaches (one way; the line itself matches a server with itself). With one
// server or none it is nil: every agent takes every caller.
func pbxReach(c *config.Config) func(callNode, agentNode string) bool {
	if len(c.PBX.Asterisk)+len(c.PBX.FreeSWITCH) < 2 {
		return nil
	}
	reaches := map[[2]string]bool{}
	for _, s := range c.PBX.Asterisk {
		for _, r := range s.Reaches {
			reaches[[2]string{s.Name, r}] = true
		}
	}
	return func(call, agent string) bool { return reaches[[2]string{call, agent}] }
}

// quietLogger is newLogger for the admin commands (see openApp).
func quietLogger(e *env, cfg *config.Config, format string) *logrus.Entry {
	l := newLogger(e, cfg, format)
	if l.Logger.GetLevel() == logrus.InfoLevel {
		l.Logger.SetLevel(logrus.WarnLevel)
	}
	return l
}

// isTerminal reports whether w is a character device (a terminal), where
// colours help; in a file or a pipe they are noise.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// ivrConfig turns the file's queues into the call flows' options.
func ivrConfig(c *config.Config) ivr.Config {
	out := ivr.Config{Queues: map[string]ivr.QueueOptions{}, UnknownQueue: string(c.PBX.UnknownQueue)}
	for name, q := range c.Queues {
		o := ivr.QueueOptions{
			Language:       string(q.Language),
			Country:        string(q.Country),
			MOHClass:       q.Hold.MOHClass,
			AnnounceEvery:  q.Hold.AnnounceEvery,
			RecordName:     q.Qualify.RecordName,
			ConfirmTimeout: q.Callback.ConfirmTimeout,
		}
		for _, r := range q.AllowedCountries {
			o.AllowedCountries = append(o.AllowedCountries, string(r))
		}
		for _, r := range q.Qualify.Reasons {
			o.Reasons = append(o.Reasons, ivr.Reason{Key: r.Key, Category: queue.Category(r.Category), Prompt: r.Prompt})
		}
		if q.Hours.Schedule != nil {
			o.Location = q.Hours.Schedule.Location()
		}
		out.Queues[name] = o
	}
	return out
}

// dialerOptions turns the file's callback settings into the dialer's.
func dialerOptions(c *config.Config) map[string]dialer.QueueOptions {
	out := map[string]dialer.QueueOptions{}
	for name, q := range c.Queues {
		id := q.Callback.CallerID
		if id == "" {
			id = q.CallerID
		}
		out[name] = dialer.QueueOptions{
			Strategy:         dialer.Strategy(q.Callback.Strategy),
			CallerID:         pbx.Party{Number: id},
			DialString:       q.Callback.DialString,
			RingTimeout:      q.Callback.RingTimeout,
			AgentRingTimeout: q.Callback.AgentRingTimeout,
			MaxAttempts:      q.Callback.MaxAttempts,
		}
	}
	return out
}
