package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vhold/vhold/config"
	"github.com/vhold/vhold/phone"
	"github.com/vhold/vhold/queue"
	"github.com/vhold/vhold/store"
)

// runCallbacks dispatches `vhold callbacks list|add|cancel`.
func runCallbacks(ctx context.Context, e *env, args []string) int {
	sub := map[string]func(context.Context, *env, []string) int{
		"list": callbacksList, "add": callbacksAdd, "cancel": callbacksCancel,
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		w := e.stderr
		if len(args) > 0 {
			w = e.stdout
		}
		fmt.Fprintln(w, "Usage: vhold callbacks list [--queue Q] [--state S] [--json]")
		fmt.Fprintln(w, "       vhold callbacks add --queue Q --number N [--at TIME] [--reason R]")
		fmt.Fprintln(w, "       vhold callbacks cancel ID [--reason R]")
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	f, ok := sub[args[0]]
	if !ok {
		return errorf(e, "callbacks: unknown subcommand %q (want list, add or cancel)", args[0])
	}
	return f(ctx, e, args[1:])
}

// commonFlags are the flags every command that opens the store takes.
type commonFlags struct {
	config    *string
	logFormat *string
}

func addCommon(e *env, fs *flag.FlagSet) commonFlags {
	c := commonFlags{config: configFlag(e, fs)}
	c.logFormat = fs.String("log-format", "", "log format: text or json (default: the config's log.format)")
	return c
}

// ticketView is a ticket as the CLI and, later, the API show it: named
// fields, RFC 3339 times, empty times left out.
type ticketView struct {
	ID    int64  `json:"id"`
	Queue string `json:"queue"`
	Kind  string `json:"kind"`
	State string `json:"state"`
	// Position is the place in line, 1 for next, as a caller hears it.
	Position    *int       `json:"position,omitempty"`
	Number      string     `json:"number,omitempty"`
	Name        string     `json:"name,omitempty"`
	Reason      string     `json:"reason,omitempty"`
	Seq         int64      `json:"seq"`
	Priority    int        `json:"priority"`
	JoinedAt    time.Time  `json:"joined_at"`
	SlotStart   *time.Time `json:"slot_start,omitempty"`
	NotBefore   *time.Time `json:"not_before,omitempty"`
	Attempts    int        `json:"attempts"`
	Deadline    *time.Time `json:"deadline,omitempty"`
	Category    string     `json:"category,omitempty"`
	Owner       string     `json:"owner,omitempty"`
	Resets      int        `json:"resets"`
	Escalated   bool       `json:"escalated"`
	FinalReason string     `json:"final_reason,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func viewOf(t *queue.Ticket, pos int, hasPos bool) ticketView {
	v := ticketView{
		ID: int64(t.ID), Queue: t.Queue, Kind: string(t.Kind), State: string(t.State),
		Number: t.Number, Name: t.Name, Reason: t.Reason, Seq: t.Seq, Priority: t.Priority,
		JoinedAt: t.JoinedAt.UTC(), SlotStart: optTime(t.SlotStart), NotBefore: optTime(t.NotBefore),
		Attempts: t.Attempts, Deadline: optTime(t.Promise.Deadline), Category: string(t.Promise.Category),
		Owner: t.Promise.Owner, Resets: t.Promise.Resets, Escalated: t.Promise.Escalated,
		FinalReason: t.FinalReason,
	}
	if hasPos {
		p := pos + 1
		v.Position = &p
	}
	return v
}

func callbacksList(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "callbacks list", "callbacks list [--queue Q] [--state S] [--json]")
	common := addCommon(e, fs)
	q := fs.String("queue", "", "only this queue")
	state := fs.String("state", "active", "waiting, reserved, dialing, connected, completed, abandoned, cancelled, failed, expired; active (any of the first four) or all")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if _, code, ok := parse(e, fs, args); !ok {
		return code
	}
	a, code := openApp(ctx, e, *common.config, *common.logFormat, true)
	if a == nil {
		return code
	}
	defer a.Close()
	f := store.Filter{Queue: *q, Kinds: []queue.Kind{queue.Callback, queue.Scheduled}}
	switch *state {
	case "all":
	case "active":
		f.States = []queue.State{queue.Waiting, queue.Reserved, queue.Dialing, queue.Connected}
	default:
		st := queue.State(*state)
		if !st.Active() && !st.Final() || !knownState(st) {
			return errorf(e, "callbacks list: --state %q is not a ticket state", *state)
		}
		f.States = []queue.State{st}
	}
	if *q != "" {
		if _, ok := a.cfg.Queues[*q]; !ok {
			return errorf(e, "callbacks list: no queue %q in %s", *q, a.cfg.File)
		}
	}
	ts, err := a.store.Tickets(ctx, f)
	if err != nil {
		return errorf(e, "callbacks list: %v", err)
	}
	views := make([]ticketView, 0, len(ts))
	for _, t := range ts {
		pos, err := a.line.Position(t.ID)
		views = append(views, viewOf(t, pos, err == nil && t.State == queue.Waiting))
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(views); err != nil {
			return errorf(e, "callbacks list: %v", err)
		}
		return 0
	}
	printTickets(e.stdout, views, func(q string) *time.Location {
		if qc, ok := a.cfg.Queues[q]; ok && qc.Hours.Schedule != nil {
			return qc.Hours.Schedule.Location()
		}
		return time.UTC
	})
	return 0
}

func knownState(s queue.State) bool {
	switch s {
	case queue.Waiting, queue.Reserved, queue.Dialing, queue.Connected,
		queue.Completed, queue.Abandoned, queue.Cancelled, queue.Failed, queue.Expired:
		return true
	}
	return false
}

// printTickets prints a table with times in each queue's own time zone, the
// one its customers and agents live in.
func printTickets(w io.Writer, vs []ticketView, loc func(queue string) *time.Location) {
	if len(vs) == 0 {
		fmt.Fprintln(w, "no callbacks")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tQUEUE\tKIND\tSTATE\tPOS\tNUMBER\tDUE\tPROMISED BY\tATTEMPTS\tREASON")
	for _, v := range vs {
		pos := "-"
		if v.Position != nil {
			pos = strconv.Itoa(*v.Position)
		}
		l := loc(v.Queue)
		show := func(t time.Time) string { return t.In(l).Format("2006-01-02 15:04 MST") }
		due := "now"
		if v.SlotStart != nil {
			due = show(*v.SlotStart)
		}
		if v.NotBefore != nil && (v.SlotStart == nil || v.NotBefore.After(*v.SlotStart)) {
			due = show(*v.NotBefore)
		}
		by := "-"
		if v.Deadline != nil {
			by = show(*v.Deadline)
		}
		reason := v.Reason
		if v.FinalReason != "" {
			reason = v.FinalReason
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n",
			v.ID, v.Queue, v.Kind, v.State, pos, v.Number, due, by, v.Attempts, reason)
	}
	tw.Flush()
}

func callbacksAdd(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "callbacks add", "callbacks add --queue Q --number N [--at TIME] [--reason R] [--name NAME] [--category C]")
	common := addCommon(e, fs)
	q := fs.String("queue", "", "queue to join (required)")
	number := fs.String("number", "", "number to call back, national or international (required)")
	at := fs.String("at", "", "schedule for a time: \"2026-11-23 09:30\", \"09:30\" (today or tomorrow) or RFC 3339; in the queue's time zone")
	reason := fs.String("reason", "", "why the customer wants a call (shown to the agent)")
	name := fs.String("name", "", "customer's name")
	category := fs.String("category", "", "promise category (default: the queue's default_category)")
	if _, code, ok := parse(e, fs, args); !ok {
		return code
	}
	if *q == "" || *number == "" {
		fs.Usage()
		return 2
	}
	a, code := openApp(ctx, e, *common.config, *common.logFormat, true)
	if a == nil {
		return code
	}
	defer a.Close()
	qc, ok := a.cfg.Queues[*q]
	if !ok {
		return errorf(e, "callbacks add: no queue %q in %s", *q, a.cfg.File)
	}
	if *category != "" {
		if _, ok := qc.Promise.Categories[*category]; !ok {
			return errorf(e, "callbacks add: queue %s has no promise category %q", *q, *category)
		}
	}
	n, err := phone.Parse(*number, string(qc.Country), phonePolicy(qc))
	if err != nil {
		return errorf(e, "callbacks add: %v", err)
	}
	req := queue.JoinRequest{
		Queue: *q, Kind: queue.Callback, Number: n.E164, Name: *name, Reason: *reason,
		Language: string(qc.Language), Category: queue.Category(*category), Actor: "cli",
	}
	note := ""
	if *at != "" {
		slot, err := parseSlot(*at, e.clock.Now(), qc)
		if err != nil {
			return errorf(e, "callbacks add: --at %q: %v", *at, err)
		}
		req.Kind, req.SlotStart = queue.Scheduled, slot
	} else if sch := qc.Hours.Schedule; sch != nil && !sch.Open(e.clock.Now()) {
		// Nobody calls back while the queue is closed, so "as soon as
		// possible" means the start of the next open period; promising
		// anything sooner would be a promise we cannot keep.
		req.Kind, req.SlotStart = queue.Scheduled, sch.NextOpen(e.clock.Now())
		note = " (the queue is closed now)"
	}
	j, err := a.line.Join(ctx, req)
	if err != nil {
		return errorf(e, "callbacks add: %v", err)
	}
	t := j.Ticket
	if j.Existing {
		fmt.Fprintf(e.stdout, "ticket %d already pending for %s in %s: position %d, promised by %s\n",
			t.ID, t.Number, t.Queue, j.Position+1, localTime(t.Promise.Deadline, qc))
		return 0
	}
	when := "as soon as possible"
	if t.Kind == queue.Scheduled {
		when = "at " + localTime(t.SlotStart, qc)
	}
	fmt.Fprintf(e.stdout, "ticket %d: %s in %s %s%s, position %d, promised by %s\n",
		t.ID, t.Number, t.Queue, when, note, j.Position+1, localTime(t.Promise.Deadline, qc))
	return 0
}

func phonePolicy(q *config.Queue) phone.Policy {
	p := phone.Policy{}
	for _, r := range q.AllowedCountries {
		p.AllowedRegions = append(p.AllowedRegions, string(r))
	}
	return p
}

// localTime prints t in the queue's time zone, the one its customers live in.
func localTime(t time.Time, q *config.Queue) string {
	if q.Hours.Schedule != nil {
		t = t.In(q.Hours.Schedule.Location())
	}
	return t.Format("2006-01-02 15:04 MST")
}

// parseSlot reads --at in the queue's time zone and refuses a time that is
// past or outside the queue's hours: a slot nobody can keep is not promised.
func parseSlot(s string, now time.Time, q *config.Queue) (time.Time, error) {
	loc := time.UTC
	if q.Hours.Schedule != nil {
		loc = q.Hours.Schedule.Location()
	}
	var t time.Time
	var err error
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04", "2006-01-02T15:04"} {
		if t, err = time.ParseInLocation(layout, s, loc); err == nil {
			break
		}
	}
	if err != nil {
		hm, herr := time.ParseInLocation("15:04", s, loc)
		if herr != nil {
			return time.Time{}, errors.New(`want "YYYY-MM-DD HH:MM", "HH:MM" or RFC 3339`)
		}
		n := now.In(loc)
		t = time.Date(n.Year(), n.Month(), n.Day(), hm.Hour(), hm.Minute(), 0, 0, loc)
		if !t.After(now) {
			t = time.Date(n.Year(), n.Month(), n.Day()+1, hm.Hour(), hm.Minute(), 0, 0, loc)
		}
	}
	if !t.After(now) {
		return time.Time{}, fmt.Errorf("%s is in the past", t.In(loc).Format("2006-01-02 15:04 MST"))
	}
	if sch := q.Hours.Schedule; sch != nil && !sch.Open(t) {
		return time.Time{}, fmt.Errorf("the queue is closed then; it next opens %s",
			sch.NextOpen(t).In(loc).Format("2006-01-02 15:04 MST"))
	}
	return t, nil
}

func callbacksCancel(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "callbacks cancel", "callbacks cancel ID [--reason R]")
	common := addCommon(e, fs)
	reason := fs.String("reason", "cancelled from the command line", "why (journaled)")
	pos, code, ok := parse(e, fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(pos[0], "#"), 10, 64)
	if err != nil || id <= 0 {
		return errorf(e, "callbacks cancel: %q is not a ticket id", pos[0])
	}
	a, code := openApp(ctx, e, *common.config, *common.logFormat, true)
	if a == nil {
		return code
	}
	defer a.Close()
	t, _, err := a.line.Ticket(queue.TicketID(id))
	if err != nil {
		st, serr := a.store.Ticket(ctx, queue.TicketID(id))
		if serr != nil {
			return errorf(e, "callbacks cancel: no ticket %d", id)
		}
		return errorf(e, "callbacks cancel: ticket %d already ended: %s (%s)", id, st.State, st.FinalReason)
	}
	if t.Kind == queue.Live {
		return errorf(e, "callbacks cancel: ticket %d is a caller on hold, not a callback", id)
	}
	if _, err := a.line.Cancel(ctx, t.ID, *reason, "cli"); err != nil {
		return errorf(e, "callbacks cancel: %v", err)
	}
	fmt.Fprintf(e.stdout, "ticket %d cancelled\n", id)
	return 0
}
