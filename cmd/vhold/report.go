package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/vhold/vhold/promise/metrics"
	"github.com/vhold/vhold/queue"
	"github.com/vhold/vhold/store"
)

// runReport prints how well the promises made over a period were kept: the
// figures of issue 7 (promised, punctuality against the original window,
// delayed and how they were recovered, second windows met, chases,
// escalations, missed promises, written resolutions), overall and by queue
// and category. They come from package metrics, the same code behind the
// Prometheus gauges, so the table and the graphs agree.
func runReport(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "report", "report [--since 7d|TIME] [--until TIME] [--queue Q] [--format table|json]")
	common := addCommon(e, fs)
	sinceArg := fs.String("since", "7d", "start: a duration before --until (7d, 36h, 90m, 1d12h) or an RFC 3339 time")
	untilArg := fs.String("until", "", "end, RFC 3339 (default: now)")
	q := fs.String("queue", "", "only this queue")
	format := fs.String("format", "table", "table or json")
	pos, code, ok := parse(e, fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return errorf(e, "report: unexpected argument %q", pos[0])
	}
	if *format != "table" && *format != "json" {
		return errorf(e, "report: --format %q is not table or json", *format)
	}
	until := e.clock.Now()
	if *untilArg != "" {
		t, err := time.Parse(time.RFC3339, *untilArg)
		if err != nil {
			return errorf(e, "report: --until %q: want an RFC 3339 time such as 2026-11-23T09:00:00Z", *untilArg)
		}
		until = t
	}
	since, err := reportSince(*sinceArg, until)
	if err != nil {
		return errorf(e, "report: --since %q: %v", *sinceArg, err)
	}
	if !since.Before(until) {
		return errorf(e, "report: --since %s is not before --until %s", reportTime(since), reportTime(until))
	}

	cfg, ok := loadConfig(e, *common.config)
	if !ok {
		return 1
	}
	if *q != "" {
		if _, ok := cfg.Queues[*q]; !ok {
			return errorf(e, "report: no queue %q in %s", *q, cfg.File)
		}
	}
	// A report only reads, but the store has no read-only open: store.Open
	// would create a missing file (and a report of an empty new store says
	// nothing true about a mistyped path), so a missing store is an error
	// here. (On a file from an older vhold, Open still migrates it, as every
	// other command does.)
	if _, err := os.Stat(cfg.Store.Path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return errorf(e, "report: no store at %s (has vhold run with this configuration?)", cfg.Store.Path)
		}
		return errorf(e, "report: %v", err)
	}
	st, err := store.Open(ctx, cfg.Store.Path, store.Options{
		Synchronous: string(cfg.Store.Synchronous), BusyTimeout: cfg.Store.BusyTimeout,
		Log: quietLogger(e, cfg, *common.logFormat),
	})
	if err != nil {
		return errorf(e, "report: %v", err)
	}
	defer st.Close()
	tickets, journal, err := promiseMetricsSource(st, *q, func() time.Time { return since })(ctx)
	if err != nil {
		return errorf(e, "report: %v", err)
	}
	r := metrics.Compute(tickets, journal, since, until)

	if *format == "json" {
		out := struct {
			Queue string `json:"queue,omitempty"`
			metrics.Report
		}{*q, r}
		out.Since, out.Until = out.Since.UTC(), out.Until.UTC()
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return errorf(e, "report: %v", err)
		}
		return 0
	}
	printReport(e.stdout, r, *q)
	return 0
}

// promiseMetricsSource reads from st what metrics.Compute needs for the
// callbacks (of queueName, or all queues when empty) that may have been
// promised since since(): it is the Source of the report and of the
// Prometheus collector.
//
// The tickets table has no index by promise time, so every callback row is
// read; the journal, the larger table, is read only from the join of the
// oldest callback that may be in the window (ticket ids and their join rows
// are assigned in the same order), and only those callbacks' rows are kept.
func promiseMetricsSource(st *store.Store, queueName string, since func() time.Time) metrics.Source {
	return func(ctx context.Context) ([]*queue.Ticket, []queue.Transition, error) {
		all, err := st.Tickets(ctx, store.Filter{Queue: queueName, Kinds: []queue.Kind{queue.Callback, queue.Scheduled}})
		if err != nil {
			return nil, nil, err
		}
		from := since()
		var (
			tickets []*queue.Ticket
			ids     = map[queue.TicketID]bool{}
			oldest  queue.TicketID
		)
		for _, t := range all {
			// A promise is never made after the ticket's last update, so a
			// row without promised_at (from before migration 0002) last
			// updated before the window cannot be in it.
			made := t.Promise.PromisedAt
			if made.IsZero() {
				made = t.UpdatedAt
			}
			if made.Before(from) {
				continue
			}
			tickets = append(tickets, t)
			ids[t.ID] = true
			if oldest == 0 || t.ID < oldest {
				oldest = t.ID
			}
		}
		if len(tickets) == 0 {
			return nil, nil, nil
		}
		first, err := st.Journal(ctx, store.JournalFilter{Ticket: oldest, Limit: 1})
		if err != nil {
			return nil, nil, err
		}
		var after int64
		if len(first) > 0 {
			after = first[0].JournalID - 1
		}
		rows, err := st.JournalSince(ctx, after, 0)
		if err != nil {
			return nil, nil, err
		}
		journal := rows[:0]
		for _, r := range rows {
			if ids[r.Ticket] {
				journal = append(journal, r)
			}
		}
		return tickets, journal, nil
	}
}

var reportDays = regexp.MustCompile(`^([0-9]+)d(.*)$`)

// reportSince reads --since: a duration before until in days, hours and
// minutes (time.ParseDuration has no days, and a week is what is asked
// for most), or an absolute RFC 3339 time.
func reportSince(s string, until time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	bad := errors.New("want a duration such as 7d, 36h, 90m or 1d12h, or an RFC 3339 time")
	var d time.Duration
	rest := s
	if m := reportDays.FindStringSubmatch(s); m != nil {
		days, err := strconv.Atoi(m[1])
		if err != nil || days > 100000 {
			return time.Time{}, bad
		}
		d, rest = time.Duration(days)*24*time.Hour, m[2]
	}
	if rest != "" {
		r, err := time.ParseDuration(rest)
		if err != nil {
			return time.Time{}, bad
		}
		d += r
	}
	if d <= 0 {
		return time.Time{}, errors.New("the duration must be positive")
	}
	return until.Add(-d), nil
}

// reportTime prints an instant in UTC: a report spans queues in different
// time zones, and UTC is the one reading no reader can get wrong.
func reportTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04Z") }

// printReport prints the overall figures as labelled lines, then one table
// row per queue and one per category.
func printReport(w io.Writer, r metrics.Report, q string) {
	scope := "all queues"
	if q != "" {
		scope = "queue " + q
	}
	fmt.Fprintf(w, "promises made from %s to %s, %s\n", reportTime(r.Since), reportTime(r.Until), scope)
	f := r.Overall
	if f.Promised == 0 {
		fmt.Fprintln(w, "no callbacks were promised")
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	line := func(label, format string, args ...any) {
		fmt.Fprintf(tw, "%s\t%s\n", label, fmt.Sprintf(format, args...))
	}
	line("promised", "%d", f.Promised)
	line("connected", "%d", f.Connected)
	if f.Connected > 0 {
		line("inside original window", "%d of %d connected (%s)", f.InsideOriginal, f.Connected, percent(f.InsideOriginal, f.Connected))
		p := f.Punctuality
		line("punctuality", "mean %.1f min outside the original window", f.PunctualityMinutes)
		line("  minutes outside", "0: %d, ≤5: %d, ≤15: %d, ≤60: %d, >60: %d", p.Inside, p.Within5, p.Within15, p.Within60, p.Over60)
	}
	line("delayed", "%d", f.Delayed)
	if f.Delayed > 0 {
		line("  recovery message", "before the deadline %d, after it %d, never %d",
			f.Recovery.BeforeDeadline, f.Recovery.After, f.Recovery.Never)
	}
	line("second windows met", "%d of %d", f.SecondWindowsMet, f.SecondWindows)
	calls := "calls"
	if f.Chases == 1 {
		calls = "call"
	}
	line("chased", "%d (%d %s in)", f.Chased, f.Chases, calls)
	line("escalated", "%d", f.Escalated)
	if f.Missed > 0 {
		line("missed", "%d, mean %.1f min late", f.Missed, f.MissedLateMinutes)
	} else {
		line("missed", "0")
	}
	line("resolved in writing", "%d", f.ResolvedInWriting)
	tw.Flush()

	table := func(head string, gs []metrics.Group, name func(metrics.Group) string) {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "%s\tPROMISED\tCONNECTED\tINSIDE\tMEAN OUT\tDELAYED\tRECOVERY BEFORE/AFTER/NEVER\t2ND WINDOWS\tMET\tCHASED\tESCALATED\tMISSED\tWRITTEN\n", head)
		for _, g := range gs {
			out := "-"
			if g.Connected > 0 {
				out = fmt.Sprintf("%.1f min", g.PunctualityMinutes)
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%d\t%d/%d/%d\t%d\t%d\t%d\t%d\t%d\t%d\n", name(g),
				g.Promised, g.Connected, g.InsideOriginal, out, g.Delayed,
				g.Recovery.BeforeDeadline, g.Recovery.After, g.Recovery.Never,
				g.SecondWindows, g.SecondWindowsMet, g.Chased, g.Escalated, g.Missed, g.ResolvedInWriting)
		}
		tw.Flush()
	}
	table("QUEUE", r.Queues, func(g metrics.Group) string { return g.Queue })
	table("CATEGORY", r.Categories, func(g metrics.Group) string { return g.Category })
}

// percent rounds n/of down to a whole percent, so 99.6% never reads as 100%.
func percent(n, of int) string {
	return strconv.Itoa(n*100/of) + "%"
}
