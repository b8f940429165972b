package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/vhold/vhold/queue"
	"github.com/vhold/vhold/store"
)

// journalView is one journal row for people and for scripts.
type journalView struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Ticket int64     `json:"ticket"`
	Event  string    `json:"event"`
	From   string    `json:"from,omitempty"`
	To     string    `json:"to"`
	Actor  string    `json:"actor,omitempty"`
	Reason string    `json:"reason,omitempty"`
}

// runJournal prints the audit trail: one row per ticket transition.
func runJournal(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "journal", "journal [--ticket ID] [--limit N] [--json]")
	common := addCommon(e, fs)
	ticket := fs.Int64("ticket", 0, "only this ticket's transitions")
	limit := fs.Int("limit", 0, "at most this many rows, the oldest first (0: all)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if _, code, ok := parse(e, fs, args); !ok {
		return code
	}
	cfg, ok := loadConfig(e, *common.config)
	if !ok {
		return 1
	}
	st, err := store.Open(ctx, cfg.Store.Path, store.Options{
		Synchronous: string(cfg.Store.Synchronous), BusyTimeout: cfg.Store.BusyTimeout,
		Log: quietLogger(e, cfg, *common.logFormat),
	})
	if err != nil {
		return errorf(e, "journal: %v", err)
	}
	defer st.Close()
	rows, err := st.Journal(ctx, store.JournalFilter{Ticket: queue.TicketID(*ticket), Limit: *limit})
	if err != nil {
		return errorf(e, "journal: %v", err)
	}
	views := make([]journalView, 0, len(rows))
	for _, r := range rows {
		views = append(views, journalView{
			ID: r.JournalID, At: r.At.UTC(), Ticket: int64(r.Ticket), Event: string(r.Event),
			From: string(r.From), To: string(r.To), Actor: r.Actor, Reason: r.Reason,
		})
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(views); err != nil {
			return errorf(e, "journal: %v", err)
		}
		return 0
	}
	if len(views) == 0 {
		fmt.Fprintln(e.stdout, "no journal rows")
		return 0
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAT\tTICKET\tEVENT\tFROM\tTO\tACTOR\tREASON")
	for _, v := range views {
		from := v.From
		if from == "" {
			from = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.At.Format("2006-01-02 15:04:05Z"),
			strconv.FormatInt(v.Ticket, 10), v.Event, from, v.To, v.Actor, v.Reason)
	}
	tw.Flush()
	return 0
}
