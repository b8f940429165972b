package web

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/vhold/vhold/clock"
	"github.com/vhold/vhold/promise/metrics"
	"github.com/vhold/vhold/queue"
	"github.com/vhold/vhold/store"
)

// The board's live side. One watcher on the line (live.changed) remembers
// the callbacks that finish, so their rows stay an hour, and asks for a
// refresh; refreshes are coalesced to at most one per coalesceEvery of the
// server's clock, each reads the line once into an immutable boardState,
// and every open event stream renders that state in its own language and
// with its own CSRF token and sends it. Nothing runs while nobody watches
// the board but the watcher itself, which only files the change.
//
// Goroutines: a refresh runs in a goroutine of the clock's (Clock.Go) and
// is counted in live.wg; each event stream is its HTTP handler's goroutine,
// which returns when the client goes or Close is called. Close waits for
// the refreshes, so after it returns nothing of the board runs.

const (
	// coalesceEvery bounds how often the board is pushed: a burst of
	// changes (a keeper's recovery is four journal rows) is one update.
	coalesceEvery = 250 * time.Millisecond
	// recentFor is how long a finished callback keeps its row, so a
	// supervisor sees how it ended.
	recentFor = time.Hour
	// metricsWindow is the span of the board's promise metrics, the week
	// supervisors review promises over (as /metrics).
	metricsWindow = 7 * 24 * time.Hour
	// metricsTTL is how long computed metrics answer: computing reads the
	// store, and the week's figures barely move in seconds.
	metricsTTL = 15 * time.Second
	// keepAliveEvery sends a comment down an idle stream, so proxies do not
	// close it and a vanished client is noticed.
	keepAliveEvery = 25 * time.Second
	// maxStreams bounds the open event streams (and so their goroutines).
	maxStreams = 64
)

// boardState is one reading of everything the board shows. It is shared by
// every stream and never modified once made.
type boardState struct {
	now    time.Time
	queues []boardQueue
	rows   []*queue.Ticket
	// pos is the place in line (0 next) of each waiting row.
	pos     map[queue.TicketID]int
	metrics *metrics.Figures
	// metricsErr says why there are no metrics: no source, or its error.
	metricsErr error
}

type boardQueue struct {
	name    string
	counts  queue.Counts
	staffed int
}

var errNoMetrics = errors.New("no metrics source")

// live is the board's watcher and its subscribers.
type live struct {
	s      *Server
	source metrics.Source

	mu      sync.Mutex
	closed  bool
	subs    map[chan *boardState]struct{}
	recent  map[queue.TicketID]*queue.Ticket
	dirty   bool // a change came since the last refresh began
	pending bool // a refresh is scheduled or running
	last    time.Time
	forgot  time.Time // when forgetLocked last ran
	timer   clock.Timer
	prune   clock.Timer
	unwatch func()
	done    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	// mmu serializes metric computations and guards their cache.
	mmu   sync.Mutex
	mAt   time.Time
	mFig  *metrics.Figures
	mErr  error
	mSeen bool
}

func newLive(s *Server, source metrics.Source) *live {
	ctx, cancel := context.WithCancel(context.Background())
	l := &live{s: s, source: source, subs: map[chan *boardState]struct{}{}, recent: map[queue.TicketID]*queue.Ticket{},
		done: make(chan struct{}), ctx: ctx, cancel: cancel}
	l.unwatch = s.line.Watch(l.changed)
	return l
}

// changed is the line's watcher: called with the line's lock held, it only
// files the change and schedules a refresh.
func (l *live) changed(c queue.Change) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	if t := c.Ticket; t != nil && t.Kind != queue.Live {
		if t.State.Final() {
			l.recent[t.ID] = t
			l.forgetLocked()
		} else {
			delete(l.recent, t.ID)
		}
	}
	l.dirty = true
	l.scheduleLocked()
}

// forgetLocked drops the finished callbacks older than recentFor, at most
// once a minute, so that a board nobody opens for days does not keep every
// callback that finished meanwhile. Called with l.mu.
func (l *live) forgetLocked() {
	now := l.s.clock.Now()
	if now.Sub(l.forgot) < time.Minute {
		return
	}
	l.forgot = now
	for id, t := range l.recent {
		if now.Sub(t.UpdatedAt) >= recentFor {
			delete(l.recent, id)
		}
	}
}

// scheduleLocked starts a refresh now, or arms one for when coalesceEvery
// has passed since the last; at most one is pending. Called with l.mu.
func (l *live) scheduleLocked() {
	if l.closed || l.pending || len(l.subs) == 0 {
		return
	}
	l.pending = true
	wait := l.last.Add(coalesceEvery).Sub(l.s.clock.Now())
	if wait <= 0 {
		l.startLocked()
		return
	}
	l.timer = l.s.clock.AfterFunc(wait, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.closed {
			return
		}
		l.startLocked()
	})
}

func (l *live) startLocked() {
	l.wg.Add(1)
	l.s.clock.Go(l.refresh)
}

// refresh reads the board once and hands it to every subscriber, replacing
// one it has not taken yet: a slow browser gets the newest board, not a
// backlog.
func (l *live) refresh() {
	defer l.wg.Done()
	l.mu.Lock()
	l.dirty = false
	l.mu.Unlock()
	st := l.state(l.ctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = false
	l.last = st.now
	if l.closed {
		return
	}
	for ch := range l.subs {
		select {
		case <-ch:
		default:
		}
		ch <- st
	}
	if l.dirty {
		l.scheduleLocked()
		return
	}
	l.armPruneLocked(st.now)
}

// armPruneLocked schedules a refresh for when the oldest finished row is
// due to go, so rows leave on time on a quiet board too.
func (l *live) armPruneLocked(now time.Time) {
	if l.prune != nil {
		l.prune.Stop()
		l.prune = nil
	}
	var first time.Time
	for _, t := range l.recent {
		if at := t.UpdatedAt.Add(recentFor); first.IsZero() || at.Before(first) {
			first = at
		}
	}
	if first.IsZero() || len(l.subs) == 0 {
		return
	}
	l.prune = l.s.clock.AfterFunc(max(first.Sub(now), 0)+time.Second, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.dirty = true
		l.scheduleLocked()
	})
}

// subscribe returns a channel that receives each new board, or why there
// is none: the server is closing, or too many streams are open.
func (l *live) subscribe() (chan *boardState, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return nil, "vhold is shutting down"
	case len(l.subs) >= maxStreams:
		return nil, "too many open boards"
	}
	ch := make(chan *boardState, 1)
	l.subs[ch] = struct{}{}
	return ch, ""
}

func (l *live) unsubscribe(ch chan *boardState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.subs, ch)
}

// close ends every stream, stops the watcher and the timers, and waits for
// a refresh in progress.
func (l *live) close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	for _, t := range []clock.Timer{l.timer, l.prune} {
		if t != nil {
			t.Stop()
		}
	}
	close(l.done)
	unwatch := l.unwatch
	l.mu.Unlock()
	// Outside l.mu: the line calls changed with its own lock held, and
	// unwatch takes that lock.
	unwatch()
	l.cancel()
	l.wg.Wait()
}

// state reads the board: the queues' figures, every open callback (waiting,
// or held by an agent), the callbacks finished within recentFor, and the
// promise metrics.
func (l *live) state(ctx context.Context) *boardState {
	s := l.s
	now := s.clock.Now()
	st := &boardState{now: now, pos: map[queue.TicketID]int{}}
	agents := s.line.Agents()
	byID := map[queue.TicketID]*queue.Ticket{}
	keep := func(t *queue.Ticket) {
		if t.Kind == queue.Live {
			return
		}
		if old, ok := byID[t.ID]; !ok || t.Version > old.Version {
			byID[t.ID] = t
		}
	}
	for _, name := range s.line.Queues() {
		bq := boardQueue{name: name}
		bq.counts, _ = s.line.Counts(name)
		for _, a := range agents {
			if servesQueue(a, name) && a.State != queue.AgentOffline && a.State != queue.AgentPaused {
				bq.staffed++
			}
		}
		st.queues = append(st.queues, bq)
		ws, err := s.line.Waiting(name)
		if err != nil {
			continue
		}
		for _, t := range ws {
			keep(t)
			if t.Kind != queue.Live {
				if p, err := s.line.Position(t.ID); err == nil {
					st.pos[t.ID] = p
				}
			}
		}
	}
	for _, a := range agents {
		if a.Ticket == 0 {
			continue
		}
		if t, _, err := s.line.Ticket(a.Ticket); err == nil {
			keep(t)
		}
	}
	l.mu.Lock()
	for id, t := range l.recent {
		if now.Sub(t.UpdatedAt) >= recentFor {
			delete(l.recent, id)
			continue
		}
		keep(t)
	}
	l.mu.Unlock()
	for _, t := range byID {
		st.rows = append(st.rows, t)
	}
	// Open callbacks first, the most urgent deadline on top; then the
	// finished ones, the latest first.
	slices.SortFunc(st.rows, func(a, b *queue.Ticket) int {
		af, bf := a.State.Final(), b.State.Final()
		switch {
		case af != bf:
			if af {
				return 1
			}
			return -1
		case af:
			return cmp.Or(b.UpdatedAt.Compare(a.UpdatedAt), cmp.Compare(b.ID, a.ID))
		}
		return cmp.Or(a.Promise.Deadline.Compare(b.Promise.Deadline), cmp.Compare(a.ID, b.ID))
	})
	st.metrics, st.metricsErr = l.figures(ctx, now)
	return st
}

// figures are the promise metrics over metricsWindow, computed at most once
// per metricsTTL.
func (l *live) figures(ctx context.Context, now time.Time) (*metrics.Figures, error) {
	if l.source == nil {
		return nil, errNoMetrics
	}
	l.mmu.Lock()
	defer l.mmu.Unlock()
	if l.mSeen && !now.Before(l.mAt) && now.Sub(l.mAt) < metricsTTL {
		return l.mFig, l.mErr
	}
	ctx, cancel := context.WithTimeout(ctx, metrics.DefaultTimeout)
	defer cancel()
	ts, js, err := l.source(ctx)
	l.mAt, l.mSeen, l.mFig, l.mErr = now, true, nil, err
	if err == nil {
		// Compute's interval is half-open; the board's week includes the
		// promise made this very instant.
		r := metrics.Compute(ts, js, now.Add(-metricsWindow), now.Add(time.Nanosecond))
		l.mFig = &r.Overall
	}
	return l.mFig, l.mErr
}

// storeMetrics is the metrics source when the binary gives none: the
// store's callbacks without their journal (Compute then reads the ticket
// fields that stand in for it).
func storeMetrics(st Store) metrics.Source {
	return func(ctx context.Context) ([]*queue.Ticket, []queue.Transition, error) {
		ts, err := st.Tickets(ctx, store.Filter{Kinds: callbackKinds})
		return ts, nil, err
	}
}

// ---- the view ----

type boardView struct {
	Updated     string
	Queues      []boardQueueView
	Metrics     []metricView
	MetricsNote string
	Rows        []boardRowView
}

type boardQueueView struct {
	Name                                string
	OnHold, Pending, Scheduled, Staffed int
}

type metricView struct {
	Key, Label, Value, Detail string
}

type boardRowView struct {
	ID       int64
	IDText   string
	Customer string
	Queue    string
	Category string
	// Promised is the deadline first promised; Reset the one the reset
	// set, when there was one.
	Promised, PromisedISO string
	Risk, RiskText        string
	Owner                 string
	Recovery              string
	Reset                 string
	Attempts              int
	Outcome               string
	Active                bool
	CanResolve            bool
}

// Board risk states. A promise that was reset stays "at risk" after the
// reset (the keeper clears AtRiskAt when it resets): it has used its one
// reset, and another slip escalates it, which is what a supervisor must
// keep an eye on.
const (
	riskOK        = "ok"
	riskAtRisk    = "at_risk"
	riskEscalated = "escalated"
	riskMissed    = "missed"
)

func boardRisk(p queue.Promise) string {
	switch {
	case p.Escalated:
		return riskEscalated
	case !p.MissedAt.IsZero():
		return riskMissed
	case !p.AtRiskAt.IsZero() || p.Resets > 0:
		return riskAtRisk
	}
	return riskOK
}

func (s *Server) boardView(lang string, st *boardState) boardView {
	T := func(key string, kv ...string) string { return tr(lang, key, kv...) }
	none := T("board.none")
	v := boardView{Updated: st.now.In(s.boardLocation()).Format("15:04:05")}
	for _, q := range st.queues {
		v.Queues = append(v.Queues, boardQueueView{Name: q.name, OnHold: q.counts.OnHold, Pending: q.counts.Callbacks,
			Scheduled: q.counts.Scheduled, Staffed: q.staffed})
	}
	switch {
	case st.metricsErr == errNoMetrics:
		v.MetricsNote = T("board.m.none")
	case st.metricsErr != nil:
		v.MetricsNote = T("board.m.error", "error", st.metricsErr.Error())
	case st.metrics != nil:
		f := st.metrics
		of := func(key string, n, total int) metricView {
			m := metricView{Key: key, Label: T("board.m." + key), Value: none}
			if total > 0 {
				m.Value = T("board.m.of", "n", strconv.Itoa(n), "total", strconv.Itoa(total))
				m.Detail = fmt.Sprintf("(%d %%)", (n*100+total/2)/total)
			}
			return m
		}
		v.Metrics = []metricView{
			{Key: "promised", Label: T("board.m.promised"), Value: strconv.Itoa(f.Promised)},
			of("inside", f.InsideOriginal, f.Connected),
			of("recovered", f.Recovery.BeforeDeadline, f.Delayed),
			of("second", f.SecondWindowsMet, f.SecondWindows),
			of("chased", f.Chased, f.Promised),
		}
	}
	for _, t := range st.rows {
		loc := s.queues[t.Queue].Location
		if loc == nil {
			loc = time.UTC
		}
		when := func(at time.Time) string {
			if at.IsZero() {
				return none
			}
			return clockTime(lang, at, st.now, loc)
		}
		p := t.Promise
		promised := p.OriginalDeadline
		if promised.IsZero() {
			promised = p.Deadline
		}
		r := boardRowView{
			ID: int64(t.ID), IDText: strconv.FormatInt(int64(t.ID), 10), Customer: maskNumber(t.Number), Queue: t.Queue,
			Category: cmp.Or(string(p.Category), none), Promised: when(promised),
			Risk: boardRisk(p), Owner: p.Owner, Recovery: when(p.RecoverySentAt), Reset: none,
			Attempts: t.Attempts, Active: !t.State.Final(), CanResolve: p.Written && !t.State.Final(),
		}
		r.RiskText = T("risk." + r.Risk)
		if !promised.IsZero() {
			r.PromisedISO = promised.UTC().Format(time.RFC3339)
		}
		if p.Resets > 0 {
			r.Reset = when(p.Deadline)
		}
		state := T("state." + string(t.State))
		switch {
		case t.State.Final() && t.FinalReason != "":
			r.Outcome = state + ": " + t.FinalReason
		case t.State == queue.Waiting && t.Kind != queue.Scheduled || t.State == queue.Waiting && !t.SlotStart.After(st.now):
			if pos, ok := st.pos[t.ID]; ok {
				r.Outcome = T("board.position", "state", state, "position", strconv.Itoa(pos+1))
				break
			}
			r.Outcome = state
		default:
			r.Outcome = state
		}
		v.Rows = append(v.Rows, r)
	}
	return v
}

// boardLocation is the zone the board's "updated" time is said in: the
// first queue's, where its supervisors most likely are.
func (s *Server) boardLocation() *time.Location {
	for _, q := range s.line.Queues() {
		if loc := s.queues[q].Location; loc != nil {
			return loc
		}
	}
	return time.UTC
}

// maskNumber shows enough of a number to tell callers apart and recognise
// a repeat, not to dial it: the country code, the first digit and the last
// two ("+34 6•• ••• •01").
func maskNumber(e164 string) string {
	if e164 == "" {
		return "—"
	}
	n, err := phonenumbers.Parse(e164, "")
	text := e164
	cc := ""
	if err == nil {
		text = phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
		cc = "+" + strconv.Itoa(int(n.GetCountryCode()))
	}
	rest := strings.TrimPrefix(text, cc)
	digits := 0
	for _, r := range rest {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	var b strings.Builder
	b.WriteString(cc)
	seen := 0
	for _, r := range rest {
		if r < '0' || r > '9' {
			b.WriteRune(r)
			continue
		}
		seen++
		if seen == 1 && cc != "" || seen > digits-2 {
			b.WriteRune(r)
		} else {
			b.WriteRune('•')
		}
	}
	return b.String()
}

// ---- the event stream ----

// handleEvents streams the board as Server-Sent Events: at once, then on
// every (coalesced) change of the line. Each event is one JSON line with
// the two rendered parts, so the page replaces them without reloading.
func handleEvents(s *Server, w http.ResponseWriter, r *http.Request) error {
	_, ses, ok := s.session(r)
	if !ok {
		http.Error(w, "sign in at /board/login", http.StatusUnauthorized)
		return nil
	}
	ch, why := s.live.subscribe()
	if ch == nil {
		w.Header().Set("Retry-After", "10")
		http.Error(w, why, http.StatusServiceUnavailable)
		return nil
	}
	defer s.live.unsubscribe(ch)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	// Proxies (nginx) must pass events on as they come.
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(st *boardState) error {
		p := s.boardPageFor(r, ses, st)
		var figures, rows strings.Builder
		if err := s.pages.ExecuteTemplate(&figures, "board-figures", p); err != nil {
			return err
		}
		if err := s.pages.ExecuteTemplate(&rows, "board-rows", p); err != nil {
			return err
		}
		b, err := json.Marshal(map[string]string{"figures": figures.String(), "rows": rows.String()})
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "event: board\ndata: %s\n\n", b); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := send(s.live.state(r.Context())); err != nil {
		return nil // the client went
	}
	for {
		ka := s.clock.NewTimer(keepAliveEvery)
		select {
		case st := <-ch:
			ka.Stop()
			if _, _, ok := s.session(r); !ok {
				fmt.Fprint(w, "event: expired\ndata: {}\n\n")
				_ = rc.Flush()
				return nil
			}
			if err := send(st); err != nil {
				s.log.WithError(err).Debug("board stream ended")
				return nil
			}
		case <-ka.C():
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return nil
			}
		case <-r.Context().Done():
			ka.Stop()
			return nil
		case <-s.live.done:
			ka.Stop()
			return nil
		}
	}
}
