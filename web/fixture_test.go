package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/vhold/vhold/clock"
	"github.com/vhold/vhold/hours"
	"github.com/vhold/vhold/queue"
	"github.com/vhold/vhold/store"
)

// t0 is a Monday morning; support is open 09:00-18:00 on weekdays (UTC),
// sales around the clock.
var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

const token = "s3cret-token"

type fixture struct {
	t     *testing.T
	clk   *clock.Fake
	j     *queue.MemJournal
	line  *queue.Line
	store *memStore
	srv   *Server
	opts  Options
	// hosts counts the client addresses mustCreate has used: each create
	// comes from its own, so fixtures are not throttled per address.
	hosts int
}

func lineConfig() queue.Config {
	q := func(name string, h queue.Hours) queue.QueueConfig {
		return queue.QueueConfig{
			Name:     name,
			Estimate: queue.EstimatorOptions{PriorHandle: 5 * time.Minute, Smoothing: 0.1, Quantile: 0.9},
			Offer:    queue.OfferPolicy{Enabled: true, MinWait: 2 * time.Minute, MaxOutstanding: 50, Horizon: 2 * time.Hour},
			Hours:    h,
			Callback: queue.CallbackPolicy{MaxAttempts: 3},
		}
	}
	return queue.Config{
		Queues: []queue.QueueConfig{q("support", supportHours()), q("sales", nil)},
		Agents: []queue.AgentConfig{
			{ID: "alice", Name: "Alice", Queues: []string{"support"}},
			{ID: "bob", Name: "Bob", Queues: []string{"support"}},
			{ID: "carol", Name: "Carol", Queues: []string{"sales"}},
		},
	}
}

func supportHours() *hours.Schedule {
	h, err := hours.Parse("UTC", []string{"mon-fri 09:00-18:00"}, nil)
	if err != nil {
		panic(err)
	}
	return h
}

// newFixture builds a line on a memory journal, a store over it, and the
// server; change adjusts the options before New.
func newFixture(t *testing.T, change ...func(*Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, clk: clock.NewFake(t0), j: queue.NewMemJournal()}
	l, err := queue.NewLine(lineConfig(), f.clk, f.j, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.line = l
	f.store = &memStore{j: f.j}
	sh := supportHours()
	f.opts = Options{
		Line: l, Store: f.store, Clock: f.clk, Tokens: []string{"other-token", token},
		AllowedOrigins: []string{"https://www.example.com"},
		Queues: map[string]QueueOptions{
			"support": {Country: "ES", AllowedCountries: []string{"ES", "PT"}, Hours: sh, Location: sh.Location(),
				Language: "en", Languages: []string{"en", "es"}, Categories: []string{"general", "money"}},
			"sales": {Country: "ES", Language: "es"},
		},
		Version: "test",
	}
	for _, c := range change {
		c(&f.opts)
	}
	f.srv = New(f.opts)
	t.Cleanup(f.srv.Close)
	return f
}

// memStore is the store's reading side over the memory journal.
type memStore struct{ j *queue.MemJournal }

func (m *memStore) Ticket(_ context.Context, id queue.TicketID) (*queue.Ticket, error) {
	t, ok := m.j.Stored(id)
	if !ok {
		return nil, fmt.Errorf("load ticket %d: %w", id, store.ErrNotFound)
	}
	return t, nil
}

func (m *memStore) Tickets(_ context.Context, f store.Filter) ([]*queue.Ticket, error) {
	var out []*queue.Ticket
	for id := queue.TicketID(1); ; id++ {
		t, ok := m.j.Stored(id)
		if !ok {
			return out, nil
		}
		if f.Queue != "" && t.Queue != f.Queue || len(f.States) > 0 && !has(f.States, t.State) || len(f.Kinds) > 0 && !has(f.Kinds, t.Kind) {
			continue
		}
		out = append(out, t)
	}
}

func has[T comparable](xs []T, x T) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// req describes one request; the zero value is an anonymous GET from
// 192.0.2.1.
type req struct {
	method, path, body string
	token              string
	from               string // RemoteAddr
	header             map[string]string
}

func (f *fixture) do(r req) *httptest.ResponseRecorder {
	f.t.Helper()
	return f.send(r, false)
}

// doChunked is do with a body of unknown length, as a chunked upload is.
func (f *fixture) doChunked(r req) *httptest.ResponseRecorder {
	f.t.Helper()
	return f.send(r, true)
}

func (f *fixture) send(r req, chunked bool) *httptest.ResponseRecorder {
	f.t.Helper()
	if r.method == "" {
		r.method = http.MethodGet
	}
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
		if chunked {
			body = io.MultiReader(body)
		}
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if chunked {
		hr.ContentLength = -1
	}
	hr.RemoteAddr = "192.0.2.1:40000"
	if r.from != "" {
		hr.RemoteAddr = r.from
	}
	if r.body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, hr)
	return rec
}

// create posts a callback request and returns the answer.
func (f *fixture) create(body string, from ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	r := req{method: http.MethodPost, path: "/api/v1/callbacks", body: body}
	if len(from) > 0 {
		r.from = from[0]
	}
	return f.do(r)
}

// mustCreate creates a callback and returns its answer, failing unless 201.
func (f *fixture) mustCreate(body string) createdView {
	f.t.Helper()
	f.hosts++
	rec := f.create(body, fmt.Sprintf("10.1.%d.%d:1", f.hosts/250, f.hosts%250))
	if rec.Code != http.StatusCreated {
		f.t.Fatalf("create %s: %d %s", body, rec.Code, rec.Body)
	}
	return decode[createdView](f.t, rec)
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %T from %q: %v", v, rec.Body, err)
	}
	return v
}

// wantError checks an error answer's status, code and field.
func wantError(t *testing.T, rec *httptest.ResponseRecorder, status int, code, field string) apiError {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want JSON", ct)
	}
	e := decode[apiError](t, rec)
	if e.Code != code || e.Field != field {
		t.Errorf("error %q field %q, want %q field %q (%s)", e.Code, e.Field, code, field, e.Reason)
	}
	if e.Reason == "" {
		t.Error("error without a reason")
	}
	return e
}

// number returns the phonenumbers library's own example of a type, so the
// tests follow numbering plans as the metadata is updated.
func number(t *testing.T, region string, typ phonenumbers.PhoneNumberType) string {
	t.Helper()
	n := phonenumbers.GetExampleNumberForType(region, typ)
	if n == nil {
		t.Fatalf("no example number of type %v for %s", typ, region)
	}
	return phonenumbers.Format(n, phonenumbers.E164)
}

// mobile is the i-th of a run of valid Spanish mobile numbers.
func mobile(i int) string { return fmt.Sprintf("+3461234%04d", i) }

func body(fields ...string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i+1 < len(fields); i += 2 {
		if i > 0 {
			b.WriteString(",")
		}
		v, _ := json.Marshal(fields[i+1])
		fmt.Fprintf(&b, "%q:%s", fields[i], v)
	}
	b.WriteString("}")
	return b.String()
}
