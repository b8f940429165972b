package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/vhold/vhold/queue"
)

func TestCreateCallback(t *testing.T) {
	f := newFixture(t)
	rec := f.create(body("number", "612 34 00 01", "queue", "support", "name", "Ana", "reason", "invoice",
		"category", "money", "context", "case 4411", "language", "es"))
	if rec.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	v := decode[createdView](t, rec)
	if v.ID == 0 || v.Queue != "support" || v.Kind != "callback" || v.State != "waiting" || v.Existing {
		t.Errorf("created %+v", v)
	}
	if v.Position == nil || *v.Position != 1 {
		t.Errorf("position %v, want 1 (next)", v.Position)
	}
	// Two free agents and nobody ahead: the shortest promise vhold makes.
	if !v.Promise.Deadline.Equal(t0.Add(queue.MinPromise)) || !v.Promise.WindowStart.Equal(t0) || v.Promise.Category != "money" {
		t.Errorf("promise %+v", v.Promise)
	}
	if loc := rec.Header().Get("Location"); loc != fmt.Sprintf("/api/v1/callbacks/%d", v.ID) {
		t.Errorf("Location %q", loc)
	}
	tk, _, err := f.line.Ticket(queue.TicketID(v.ID))
	if err != nil {
		t.Fatal(err)
	}
	if tk.Number != "+34612340001" || tk.Name != "Ana" || tk.Reason != "invoice" || tk.Context != "case 4411" || tk.Language != "es" {
		t.Errorf("ticket %+v", tk)
	}
	if tr := f.j.Transitions(); len(tr) != 1 || tr[0].Actor != "api" {
		t.Errorf("journal %+v", tr)
	}
}

// The public answer names nothing the requester did not send: anyone who
// knows a number can ask for it.
func TestCreateAnswerKeepsTheCallbackPrivate(t *testing.T) {
	f := newFixture(t)
	f.mustCreate(body("number", mobile(1), "queue", "support", "name", "Ana", "reason", "secret"))
	rec := f.create(body("number", mobile(1), "queue", "support"), "203.0.113.9:1")
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "Ana") || strings.Contains(rec.Body.String(), "secret") {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

func TestCreateReturnsTheExistingCallback(t *testing.T) {
	f := newFixture(t)
	first := f.mustCreate(body("number", "+34 612 34 00 01", "queue", "support"))
	// The same number written another way, and a slot it no longer needs.
	rec := f.create(body("number", "0034612340001", "queue", "support", "when", "2026-11-24T10:00:00Z"), "203.0.113.9:1")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	again := decode[createdView](t, rec)
	if again.ID != first.ID || !again.Existing || again.Kind != "callback" || !again.Promise.Deadline.Equal(first.Promise.Deadline) {
		t.Errorf("again %+v, first %+v", again, first)
	}
	// Another queue is another line: a second callback there is fine.
	other := f.mustCreate(body("number", "+34 612 34 00 01", "queue", "sales"))
	if other.ID == first.ID {
		t.Error("sales returned the support callback")
	}
	if c, _ := f.line.Counts("support"); c.Callbacks != 1 {
		t.Errorf("support counts %+v", c)
	}
}

// A callback another process (the CLI) created for the number, which this
// line has not followed yet, is found in the store and returned.
func TestCreateFindsAnotherProcessCallback(t *testing.T) {
	f := newFixture(t)
	other, err := queue.NewLine(lineConfig(), f.clk, f.j, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	j, err := other.Join(context.Background(), queue.JoinRequest{Queue: "sales", Kind: queue.Callback, Number: mobile(7), Actor: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	rec := f.create(body("number", mobile(7), "queue", "sales"))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	v := decode[createdView](t, rec)
	if v.ID != int64(j.Ticket.ID) || !v.Existing || v.Position != nil {
		t.Errorf("got %+v, want ticket %d, existing, no position known here", v, j.Ticket.ID)
	}
}

func TestCreateValidation(t *testing.T) {
	premium := number(t, "ES", phonenumbers.PREMIUM_RATE)
	shared := number(t, "ES", phonenumbers.SHARED_COST)
	french := number(t, "FR", phonenumbers.MOBILE)
	tests := []struct {
		name, body  string
		contentType string
		status      int
		code, field string
	}{
		{"bad number", body("number", "12345", "queue", "support"), "", 400, "invalid_number", "number"},
		{"letters", body("number", "call me", "queue", "support"), "", 400, "invalid_number", "number"},
		{"no number", body("queue", "support"), "", 400, "missing_field", "number"},
		{"premium-rate", body("number", premium, "queue", "support"), "", 400, "premium_rate", "number"},
		{"shared-cost", body("number", shared, "queue", "support"), "", 400, "shared_cost", "number"},
		{"country not allowed", body("number", french, "queue", "support"), "", 400, "country_not_allowed", "number"},
		{"no queue", body("number", mobile(1)), "", 400, "missing_field", "queue"},
		{"unknown queue", body("number", mobile(1), "queue", "suport"), "", 404, "unknown_queue", "queue"},
		{"past slot", body("number", mobile(1), "queue", "support", "when", "2026-11-23T09:30:00Z"), "", 400, "slot_past", "when"},
		{"slot now", body("number", mobile(1), "queue", "support", "when", "2026-11-23T10:00:00Z"), "", 400, "slot_past", "when"},
		{"closed slot", body("number", mobile(1), "queue", "support", "when", "2026-11-23T19:00:00Z"), "", 400, "slot_closed", "when"},
		{"weekend slot", body("number", mobile(1), "queue", "support", "when", "2026-11-28T10:00:00Z"), "", 400, "slot_closed", "when"},
		{"slot past closing", body("number", mobile(1), "queue", "support", "when", "2026-11-23T17:45:00Z"), "", 400, "slot_closed", "when"},
		{"far slot", body("number", mobile(1), "queue", "support", "when", "2026-12-23T10:00:00Z"), "", 400, "slot_too_far", "when"},
		{"bad slot", body("number", mobile(1), "queue", "support", "when", "tomorrow"), "", 400, "invalid_slot", "when"},
		{"unknown category", body("number", mobile(1), "queue", "support", "category", "vip"), "", 400, "unknown_category", "category"},
		{"unknown language", body("number", mobile(1), "queue", "support", "language", "fr"), "", 400, "unknown_language", "language"},
		{"bad language", body("number", mobile(1), "queue", "sales", "language", "english"), "", 400, "unknown_language", "language"},
		{"unknown field", `{"number":"` + mobile(1) + `","queue":"support","phone":"x"}`, "", 400, "unknown_field", "phone"},
		{"wrong type", `{"number":612340001,"queue":"support"}`, "", 400, "invalid_field", "number"},
		{"not JSON", `number=612340001`, "", 400, "invalid_json", ""},
		{"two values", `{"queue":"support"}{}`, "", 400, "invalid_json", ""},
		{"form body", `number=612340001`, "application/x-www-form-urlencoded", 415, "unsupported_media_type", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			r := req{method: http.MethodPost, path: "/api/v1/callbacks", body: tt.body}
			if tt.contentType != "" {
				r.header = map[string]string{"Content-Type": tt.contentType}
			}
			e := wantError(t, f.do(r), tt.status, tt.code, tt.field)
			t.Log(e.Reason)
			if len(f.j.Transitions()) != 0 {
				t.Error("a refused request joined the line")
			}
		})
	}
}

func TestCreateEmptyBody(t *testing.T) {
	f := newFixture(t)
	hr := req{method: http.MethodPost, path: "/api/v1/callbacks"}
	wantError(t, f.do(hr), 400, "invalid_json", "")
}

func TestCreateInASlot(t *testing.T) {
	f := newFixture(t)
	rec := f.do(req{path: "/api/v1/queues/support/slots?days=1"})
	if rec.Code != http.StatusOK {
		t.Fatalf("slots: %d %s", rec.Code, rec.Body)
	}
	sl := decode[slotsView](t, rec).Slots[3]
	v := f.mustCreate(body("number", mobile(1), "queue", "support", "when", sl.Start.Format(time.RFC3339)))
	if v.Kind != "scheduled" || v.SlotStart == nil || !v.SlotStart.Equal(sl.Start) {
		t.Errorf("created %+v, want scheduled at %s", v, sl.Start)
	}
	// The slot's end is the deadline; the window opens with the slot.
	if !v.Promise.Deadline.Equal(sl.End) || !v.Promise.WindowStart.Equal(sl.Start) {
		t.Errorf("promise %+v, want %s to %s", v.Promise, sl.Start, sl.End)
	}
	// A slot given in another zone is the same instant.
	madrid, _ := time.LoadLocation("Europe/Madrid")
	w := f.mustCreate(body("number", mobile(2), "queue", "support", "when", sl.Start.In(madrid).Format(time.RFC3339)))
	if !w.SlotStart.Equal(sl.Start) {
		t.Errorf("slot %s, want %s", w.SlotStart, sl.Start)
	}
}

// A slot is promised only while it has room: the last place goes once.
func TestCreateInAFullSlot(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		q := o.Queues["sales"]
		q.HandleTime = 15 * time.Minute // one agent: two calls per 30-minute slot
		o.Queues["sales"] = q
	})
	when := "2026-11-23T14:00:00Z"
	for i := range 2 {
		f.mustCreate(body("number", mobile(i), "queue", "sales", "when", when))
	}
	wantError(t, f.create(body("number", mobile(9), "queue", "sales", "when", when)), 409, "slot_unavailable", "when")
	// Inside the same slot counts against it too.
	wantError(t, f.create(body("number", mobile(9), "queue", "sales", "when", "2026-11-23T14:10:00Z"), "192.0.2.2:1"), 409, "slot_unavailable", "when")
	rec := f.do(req{path: "/api/v1/queues/sales/slots?days=1"})
	for _, s := range decode[slotsView](t, rec).Slots {
		if s.Start.Equal(time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)) {
			t.Error("the full slot is still offered")
		}
	}
}

// Concurrent requests for a slot's last places: exactly capacity are taken.
func TestCreateInASlotConcurrently(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		q := o.Queues["sales"]
		q.HandleTime = 10 * time.Minute // three per slot
		o.Queues["sales"] = q
	})
	testHookBeforeJoin = func() { time.Sleep(time.Millisecond) }
	t.Cleanup(func() { testHookBeforeJoin = func() {} })
	var wg sync.WaitGroup
	codes := make([]int, 12)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = f.create(body("number", mobile(i), "queue", "sales", "when", "2026-11-23T15:00:00Z"), fmt.Sprintf("10.9.0.%d:1", i)).Code
		}()
	}
	wg.Wait()
	created := 0
	for _, c := range codes {
		switch c {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
		default:
			t.Errorf("status %d", c)
		}
	}
	if created != 3 {
		t.Errorf("%d created, want 3 (the slot's capacity)", created)
	}
}

// "As soon as possible" while the queue is closed is the first slot the
// morning can keep, not the opening itself for everyone.
func TestCreateAsapWhileClosed(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		q := o.Queues["support"]
		q.HandleTime = 15 * time.Minute // two agents: four per slot
		o.Queues["support"] = q
	})
	f.clk.Set(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)) // Saturday
	monday := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	var starts []time.Time
	for i := range 5 {
		v := f.mustCreate(body("number", mobile(i), "queue", "support"))
		if v.Kind != "scheduled" || v.SlotStart == nil {
			t.Fatalf("created %+v, want scheduled", v)
		}
		starts = append(starts, *v.SlotStart)
	}
	for i, s := range starts[:4] {
		if !s.Equal(monday) {
			t.Errorf("callback %d at %s, want %s", i, s, monday)
		}
	}
	// The fifth does not fit the first slot: it gets the next.
	if want := monday.Add(30 * time.Minute); !starts[4].Equal(want) {
		t.Errorf("fifth at %s, want %s", starts[4], want)
	}
}

// A queue whose slot cannot hold one call promises nothing: asap while
// closed finds no slot and says so.
func TestCreateAsapWhileClosedWithoutCapacity(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		q := o.Queues["support"]
		q.HandleTime = 90 * time.Minute // two agents, 30-minute slots: none fits
		o.Queues["support"] = q
	})
	f.clk.Set(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	wantError(t, f.create(body("number", mobile(1), "queue", "support")), 409, "slot_unavailable", "when")
}

func TestGetCallback(t *testing.T) {
	f := newFixture(t)
	v := f.mustCreate(body("number", mobile(1), "queue", "support", "name", "Ana", "context", "case 1"))
	path := fmt.Sprintf("/api/v1/callbacks/%d", v.ID)

	rec := f.do(req{path: path, token: token})
	if rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	got := decode[ticketView](t, rec)
	if got.ID != v.ID || got.Number != mobile(1) || got.Name != "Ana" || got.Context != "case 1" || got.State != "waiting" ||
		got.Position == nil || *got.Position != 1 || got.Promise.Status != PromiseOK || got.Promise.Deadline == nil {
		t.Errorf("got %+v", got)
	}

	// Finished: from the store.
	if _, err := f.line.Cancel(context.Background(), queue.TicketID(v.ID), "test", "test"); err != nil {
		t.Fatal(err)
	}
	rec = f.do(req{path: path, token: token})
	got = decode[ticketView](t, rec)
	if rec.Code != http.StatusOK || got.State != "cancelled" || got.FinalReason != "test" || got.Position != nil {
		t.Errorf("finished: %d %+v", rec.Code, got)
	}

	wantError(t, f.do(req{path: "/api/v1/callbacks/999", token: token}), 404, "no_callback", "id")
	wantError(t, f.do(req{path: "/api/v1/callbacks/abc", token: token}), 400, "invalid_id", "id")
	wantError(t, f.do(req{path: "/api/v1/callbacks/-3", token: token}), 400, "invalid_id", "id")

	// A live caller is not a callback.
	j, err := f.line.Join(context.Background(), queue.JoinRequest{Queue: "support", Kind: queue.Live})
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, f.do(req{path: fmt.Sprintf("/api/v1/callbacks/%d", j.Ticket.ID), token: token}), 404, "not_a_callback", "id")
}

// Without a store, finished callbacks are gone.
func TestGetWithoutStore(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Store = nil })
	v := f.mustCreate(body("number", mobile(1), "queue", "support"))
	path := fmt.Sprintf("/api/v1/callbacks/%d", v.ID)
	if rec := f.do(req{path: path, token: token}); rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if _, err := f.line.Cancel(context.Background(), queue.TicketID(v.ID), "test", "test"); err != nil {
		t.Fatal(err)
	}
	wantError(t, f.do(req{path: path, token: token}), 404, "no_callback", "id")
}

func TestListCallbacks(t *testing.T) {
	for _, withStore := range []bool{true, false} {
		t.Run(fmt.Sprintf("store=%v", withStore), func(t *testing.T) {
			f := newFixture(t, func(o *Options) {
				if !withStore {
					o.Store = nil
				}
			})
			ctx := context.Background()
			a := f.mustCreate(body("number", mobile(1), "queue", "support"))
			b := f.mustCreate(body("number", mobile(2), "queue", "support"))
			c := f.mustCreate(body("number", mobile(3), "queue", "sales"))
			d := f.mustCreate(body("number", mobile(4), "queue", "sales"))
			if _, err := f.line.Join(ctx, queue.JoinRequest{Queue: "support", Kind: queue.Live}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.line.Keep(ctx, queue.TicketID(b.ID), queue.EvAtRisk, "test", "test", func(n *queue.Ticket) { n.Promise.AtRiskAt = t0 }); err != nil {
				t.Fatal(err)
			}
			if _, err := f.line.Keep(ctx, queue.TicketID(c.ID), queue.EvEscalate, "test", "test", func(n *queue.Ticket) { n.Promise.Escalated = true }); err != nil {
				t.Fatal(err)
			}
			if _, err := f.line.Cancel(ctx, queue.TicketID(d.ID), "test", "test"); err != nil {
				t.Fatal(err)
			}
			ids := func(query string) []int64 {
				t.Helper()
				rec := f.do(req{path: "/api/v1/callbacks" + query, token: token})
				if rec.Code != http.StatusOK {
					t.Fatalf("%s: %d %s", query, rec.Code, rec.Body)
				}
				l := decode[listView](t, rec)
				var out []int64
				for _, v := range l.Callbacks {
					out = append(out, v.ID)
				}
				if l.Count != len(out) {
					t.Errorf("count %d of %d", l.Count, len(out))
				}
				return out
			}
			check := func(query string, want ...int64) {
				t.Helper()
				if got := ids(query); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s: %v, want %v", query, got, want)
				}
			}
			check("", a.ID, b.ID, c.ID)
			check("?queue=support", a.ID, b.ID)
			check("?queue=sales", c.ID)
			check("?promise=at_risk", b.ID)
			check("?promise=escalated", c.ID)
			check("?promise=ok", a.ID)
			check("?queue=support&promise=escalated")
			check("?state=waiting&queue=support", a.ID, b.ID)
			if withStore {
				check("?state=cancelled", d.ID)
				check("?state=all&queue=sales", c.ID, d.ID)
			} else {
				check("?state=cancelled")
			}
		})
	}
	f := newFixture(t)
	wantError(t, f.do(req{path: "/api/v1/callbacks?state=done", token: token}), 400, "invalid_parameter", "state")
	wantError(t, f.do(req{path: "/api/v1/callbacks?promise=late", token: token}), 400, "invalid_parameter", "promise")
	wantError(t, f.do(req{path: "/api/v1/callbacks?queue=nope", token: token}), 404, "unknown_queue", "queue")
	wantError(t, f.do(req{path: "/api/v1/callbacks?stat=waiting", token: token}), 400, "unknown_parameter", "stat")
}

func TestCancelCallback(t *testing.T) {
	f := newFixture(t)
	v := f.mustCreate(body("number", mobile(1), "queue", "support"))
	path := fmt.Sprintf("/api/v1/callbacks/%d", v.ID)
	rec := f.do(req{method: http.MethodDelete, path: path + "?reason=customer+called+in", token: token})
	if rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	got := decode[ticketView](t, rec)
	if got.State != "cancelled" || got.FinalReason != "customer called in" {
		t.Errorf("cancelled %+v", got)
	}
	tr := f.j.Transitions()
	if last := tr[len(tr)-1]; last.Event != queue.EvCancel || last.Actor != "api" {
		t.Errorf("journal %+v", last)
	}
	wantError(t, f.do(req{method: http.MethodDelete, path: path, token: token}), 409, "already_ended", "id")
	wantError(t, f.do(req{method: http.MethodDelete, path: "/api/v1/callbacks/77", token: token}), 404, "no_callback", "id")

	// The reason in a body; none at all.
	w := f.mustCreate(body("number", mobile(2), "queue", "support"))
	rec = f.do(req{method: http.MethodDelete, path: fmt.Sprintf("/api/v1/callbacks/%d", w.ID), body: body("reason", "duplicate"), token: token})
	if got := decode[ticketView](t, rec); rec.Code != 200 || got.FinalReason != "duplicate" {
		t.Errorf("%d %+v", rec.Code, got)
	}
	x := f.mustCreate(body("number", mobile(3), "queue", "support"))
	rec = f.do(req{method: http.MethodDelete, path: fmt.Sprintf("/api/v1/callbacks/%d", x.ID), token: token})
	if got := decode[ticketView](t, rec); rec.Code != 200 || got.FinalReason != "cancelled through the API" {
		t.Errorf("%d %+v", rec.Code, got)
	}

	// A callback on the phone with an agent cannot be cancelled.
	y := f.mustCreate(body("number", mobile(4), "queue", "sales"))
	ctx := context.Background()
	if _, err := f.line.Next(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.line.Dial(ctx, queue.TicketID(y.ID), "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.line.Connect(ctx, queue.TicketID(y.ID), "test"); err != nil {
		t.Fatal(err)
	}
	wantError(t, f.do(req{method: http.MethodDelete, path: fmt.Sprintf("/api/v1/callbacks/%d", y.ID), token: token}), 409, "illegal_transition", "id")
}

func TestTakeOwnership(t *testing.T) {
	f := newFixture(t)
	v := f.mustCreate(body("number", mobile(1), "queue", "support"))
	path := fmt.Sprintf("/api/v1/callbacks/%d/owner", v.ID)
	rec := f.do(req{method: http.MethodPost, path: path, body: body("owner", "maria@example.com"), token: token})
	if rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if got := decode[ticketView](t, rec); got.Promise.Owner != "maria@example.com" || got.Position == nil {
		t.Errorf("got %+v", got)
	}
	tr := f.j.Transitions()
	if last := tr[len(tr)-1]; last.Event != queue.EvOwn || last.Actor != "api" {
		t.Errorf("journal %+v", last)
	}
	wantError(t, f.do(req{method: http.MethodPost, path: path, body: body("owner", "  "), token: token}), 400, "missing_field", "owner")
	wantError(t, f.do(req{method: http.MethodPost, path: path, body: `{"owner":"x","extra":1}`, token: token}), 400, "unknown_field", "extra")
	wantError(t, f.do(req{method: http.MethodPost, path: "/api/v1/callbacks/99/owner", body: body("owner", "m"), token: token}), 404, "no_callback", "id")
	if _, err := f.line.Cancel(context.Background(), queue.TicketID(v.ID), "test", "test"); err != nil {
		t.Fatal(err)
	}
	wantError(t, f.do(req{method: http.MethodPost, path: path, body: body("owner", "m"), token: token}), 409, "already_ended", "id")
}

func TestResolveInWriting(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	v := f.mustCreate(body("number", mobile(1), "queue", "support"))
	path := fmt.Sprintf("/api/v1/callbacks/%d/resolve", v.ID)
	wantError(t, f.do(req{method: http.MethodPost, path: path, body: body("by", "maria"), token: token}), 409, "not_written", "id")
	wantError(t, f.do(req{method: http.MethodPost, path: path, body: `{}`, token: token}), 400, "missing_field", "by")

	// The reset promised a written update.
	if _, err := f.line.Keep(ctx, queue.TicketID(v.ID), queue.EvReset, "test", "test", func(n *queue.Ticket) {
		n.Promise.Resets, n.Promise.Written = 1, true
	}); err != nil {
		t.Fatal(err)
	}
	rec := f.do(req{method: http.MethodPost, path: path, body: body("by", "maria"), token: token})
	if rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if got := decode[ticketView](t, rec); got.State != "completed" || !strings.Contains(got.FinalReason, "maria") {
		t.Errorf("got %+v", got)
	}
	wantError(t, f.do(req{method: http.MethodPost, path: path, body: body("by", "maria"), token: token}), 409, "already_ended", "id")
}

// N customers pressing "call me" at once for the same number: exactly one
// ticket; everyone else is handed that one.
func TestConcurrentCreatesForOneNumber(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.RateLimit.PerNumber = -1 })
	const n = 24
	var wg sync.WaitGroup
	got := make([]createdView, n)
	codes := make([]int, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			rec := f.create(body("number", "+34 612 34 00 01", "queue", "sales"), fmt.Sprintf("10.0.%d.1:1", i))
			codes[i] = rec.Code
			if rec.Code == http.StatusCreated || rec.Code == http.StatusOK {
				got[i] = decode[createdView](t, rec)
			}
		}()
	}
	close(start)
	wg.Wait()
	created, existing := 0, 0
	for i := range n {
		switch {
		case codes[i] == http.StatusCreated && !got[i].Existing:
			created++
		case codes[i] == http.StatusOK && got[i].Existing:
			existing++
		default:
			t.Errorf("request %d: %d %+v", i, codes[i], got[i])
		}
		if got[i].ID != got[0].ID {
			t.Errorf("request %d got ticket %d, request 0 ticket %d", i, got[i].ID, got[0].ID)
		}
	}
	if created != 1 || existing != n-1 {
		t.Errorf("%d created, %d existing; want 1 and %d", created, existing, n-1)
	}
	joins := 0
	for _, tr := range f.j.Transitions() {
		if tr.Event == queue.EvJoin {
			joins++
		}
	}
	if joins != 1 {
		t.Errorf("%d tickets joined, want 1", joins)
	}
}
