package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/dialer"
	"github.com/vhold/vhold/ivr"
	"github.com/vhold/vhold/opsmetrics"
	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/pbx/asterisk"
	"github.com/vhold/vhold/pbx/asterisk/ari"
	"github.com/vhold/vhold/pbx/freeswitch"
	"github.com/vhold/vhold/promise/metrics"
	"github.com/vhold/vhold/queue"
	"github.com/vhold/vhold/store"
)

// runServe runs vhold: it rebuilds the line from the store, settles what a
// restart left in flight, follows the store for changes made by other
// processes (the CLI), and answers HTTP health checks. The PBX adapters, the
// dialer and the web API hang off this command as they arrive.
func runServe(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "serve", "serve -c FILE [--log-format text|json]")
	common := addCommon(e, fs)
	poll := fs.Duration("follow-every", time.Second, "how often to look for changes made by other processes (the CLI)")
	if _, code, ok := parse(e, fs, args); !ok {
		return code
	}
	// One registry for /metrics: the operational series are fed from the
	// store (commit latency), the line (callbacks by outcome), the flows,
	// the dialer and the PBX connections.
	reg := prometheus.NewRegistry()
	ops := opsmetrics.New(reg)
	a, code := openApp(ctx, e, *common.config, *common.logFormat, false,
		func(o *store.Options) { o.CommitObserved = ops.StoreCommitted })
	if a == nil {
		return code
	}
	defer a.Close()
	log := a.log
	// From before Recover, so the callbacks a restart ends are counted.
	stopWatch := a.line.Watch(ops.LineChanged)
	defer stopWatch()
	// Callers still on the PBX keep their place; the others are abandoned;
	// callbacks resume.
	if err := a.line.Recover(ctx, survivors(ctx, a)); err != nil {
		log.WithError(err).Error("recover the line after a restart")
		return 1
	}
	for _, q := range a.line.Queues() {
		c, _ := a.line.Counts(q)
		log.WithFields(logrus.Fields{"queue": q, "callbacks": c.Callbacks, "scheduled": c.Scheduled}).Info("line loaded")
	}
	mark, err := a.store.LastJournalID(ctx)
	if err != nil {
		log.WithError(err).Error("read the journal")
		return 1
	}

	ln, err := net.Listen("tcp", a.cfg.HTTP.Listen)
	if err != nil {
		log.WithError(err).Error("listen")
		return 1
	}
	mux := healthHandler(a.line)
	mux.Handle("GET /metrics", metricsHandler(e, a, reg))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.WithField("addr", ln.Addr().String()).Info("vhold serving")

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	stopCalls, switches := startCalls(ctx, e, a, &wg, ops)
	defer stopCalls()
	keeper, err := startPromises(ctx, e, a)
	if err != nil {
		log.WithError(err).Error("start the promise keeper")
		return 1
	}
	defer keeper.Stop()
	// The REST API under /api/v1, and /readyz (the store answers, every
	// PBX is connected); /healthz and /metrics stay with the mux above.
	api := newWebServer(e, a, keeper, func(ctx context.Context) error {
		var errs []error
		if err := a.store.Writable(ctx); err != nil {
			errs = append(errs, fmt.Errorf("store: %w", err))
		}
		for _, sw := range switches {
			if cs, ok := sw.(pbx.ConnectionState); ok && !cs.Connected() {
				errs = append(errs, fmt.Errorf("pbx %s: not connected", sw.Name()))
			}
		}
		return errors.Join(errs...)
	})
	mux.Handle("/api/", api)
	mux.Handle("GET /readyz", api)
	// The public callback form and the supervisors' live board.
	api.MountPages(mux)
	srv.RegisterOnShutdown(api.Close)
	wg.Add(2)
	go func() {
		defer wg.Done()
		follow(ctx, e, a, mark, *poll)
	}()
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.WithError(err).Error("http")
			cancel()
		}
	}()
	<-ctx.Done()
	log.Info("stopping")
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.WithError(err).Warn("http shutdown")
	}
	wg.Wait()
	return 0
}

// follow tails the journal from mark and refreshes every ticket another
// process touched, so `vhold callbacks add` on the same store reaches the
// running line within one poll. Our own rows come back too; refreshing them
// is a no-op.
func follow(ctx context.Context, e *env, a *app, mark int64, every time.Duration) {
	load := func(id queue.TicketID) (*queue.Ticket, error) { return a.store.Ticket(ctx, id) }
	for {
		t := e.clock.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		rows, err := a.store.JournalSince(ctx, mark, 1000)
		if err != nil {
			if ctx.Err() == nil {
				a.log.WithError(err).Warn("follow the journal")
			}
			continue
		}
		seen := map[queue.TicketID]bool{}
		for _, r := range rows {
			mark = r.JournalID
			if seen[r.Ticket] {
				continue
			}
			seen[r.Ticket] = true
			if err := a.line.Refresh(r.Ticket, load); err != nil && !errors.Is(err, store.ErrNotFound) {
				a.log.WithError(err).WithField("ticket", r.Ticket).Warn("refresh from the store")
				continue
			}
			if r.Actor != "" && r.Actor != "dispatcher" && r.Actor != "restart" {
				a.log.WithFields(logrus.Fields{"ticket": r.Ticket, "event": r.Event, "actor": r.Actor}).Debug("followed")
			}
		}
	}
}

// metricsWindow is the rolling window of the promise metrics on /metrics:
// a week, the period supervisors review promises over.
const metricsWindow = 7 * 24 * time.Hour

// metricsHandler serves /metrics from reg, which holds the operational
// series (package opsmetrics), adding the promise metrics over
// metricsWindow, computed from the store (cached a few seconds per scrape),
// and the Go runtime's own.
func metricsHandler(e *env, a *app, reg *prometheus.Registry) http.Handler {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(metrics.NewCollector(
		promiseMetricsSource(a.store, "", func() time.Time { return e.clock.Now().Add(-metricsWindow) }),
		metricsWindow, e.clock.Now))
	return metrics.Handler(reg)
}

// healthHandler answers /healthz with the line's figures: enough for a
// load balancer or a monitoring check until the web API arrives.
func healthHandler(line *queue.Line) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		type queueHealth struct {
			queue.Counts
			Agents int `json:"agents_staffed"`
		}
		out := struct {
			Status  string                 `json:"status"`
			Version string                 `json:"version"`
			Queues  map[string]queueHealth `json:"queues"`
		}{Status: "ok", Version: version, Queues: map[string]queueHealth{}}
		staffed := map[string]int{}
		for _, ag := range line.Agents() {
			if ag.State == queue.AgentOffline || ag.State == queue.AgentPaused {
				continue
			}
			for _, q := range ag.Queues {
				staffed[q]++
			}
		}
		for _, q := range line.Queues() {
			c, _ := line.Counts(q)
			out.Queues[q] = queueHealth{Counts: c, Agents: staffed[q]}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	return mux
}

// startCalls connects to the PBXs and runs the call flows and the dialer on
// them. Each Asterisk and each FreeSWITCH is its own switch on the one
// shared line: a caller is connected through the server the call is on, to
// agents homed there or on a server it reaches (pbx.asterisk[].reaches); a
// callback is dialed from the agent's own server (agents.<id>.pbx). See the
// README on several servers. Callers' recorded names are deleted once their
// tickets end, on the servers that can delete them. The flows, the dialer
// and each switch's connection state report to ops. It returns the function
// that stops the dialer and that cleanup once the switches have ended, and
// the switches (for /readyz).
func startCalls(ctx context.Context, e *env, a *app, wg *sync.WaitGroup, ops *opsmetrics.Recorder) (func(), []pbx.Switch) {
	var switches []pbx.Switch
	for _, ac := range a.cfg.PBX.Asterisk {
		cl := ari.New(ari.Config{BaseURL: ac.URL, Username: ac.Username, Password: ac.Password, App: ac.App,
			Log: a.log.WithField("pbx", ac.Name)})
		sw := asterisk.New(asterisk.Options{
			Name: ac.Name, Client: cl, Sounds: ac.Sounds, Clock: e.clock, Log: a.log,
		})
		ops.PBX(ac.Name, "asterisk", sw)
		switches = append(switches, sw)
	}
	for _, fc := range a.cfg.PBX.FreeSWITCH {
		sw := freeswitch.New(freeswitch.Options{
			Name: fc.Name, Address: fc.Address, Password: fc.Password,
			Sounds: fc.Sounds, Recordings: fc.Recordings, Clock: e.clock, Log: a.log,
		})
		ops.PBX(fc.Name, "freeswitch", sw)
		switches = append(switches, sw)
	}
	if len(switches) == 0 {
		a.log.Warn("no PBX configured: vhold keeps the line but handles no calls")
		return func() {}, nil
	}
	var conn dialer.Late
	icfg := ivrConfig(a.cfg)
	icfg.Recorder = ops
	flows := ivr.New(icfg, a.line, e.clock, &conn, a.log)
	d := dialer.New(a.line, switches, flows, e.clock, dialerOptions(a.cfg), a.log, dialer.WithRecorder(ops))
	conn.D = d
	for _, sw := range switches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sw.Serve(ctx, flows.Handle); err != nil {
				a.log.WithError(err).WithField("pbx", sw.Name()).Error("PBX connection ended")
			}
		}()
	}
	d.Start(ctx)
	byName := make(map[string]pbx.Switch, len(switches))
	for _, sw := range switches {
		byName[sw.Name()] = sw
	}
	stopNames := flows.ForgetNames(ctx, byName)
	return func() {
		d.Stop()
		stopNames()
	}, switches
}
