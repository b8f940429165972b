package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/phone"
	"github.com/vhold/vhold/queue"
	"github.com/vhold/vhold/store"
)

// actor names the API in the journal.
const actor = "api"

// asapSlotDays is how far ahead "as soon as possible" looks for a slot when
// the queue is closed.
const asapSlotDays = 7

// createRequest is the body of POST /api/v1/callbacks.
type createRequest struct {
	Number   string `json:"number"`
	Queue    string `json:"queue"`
	Name     string `json:"name"`
	Reason   string `json:"reason"`
	Category string `json:"category"`
	Context  string `json:"context"`
	Language string `json:"language"`
	// When is "asap" (or empty) or the RFC 3339 start of a slot.
	When string `json:"when"`
}

// handleCreate asks for a callback: the public form's and a CRM's verb. It
// validates as the IVR does, keeps one pending callback per number per
// queue (answering 200 with the existing one), and promises only slots the
// queue can keep (see slots.go).
func handleCreate(s *Server, w http.ResponseWriter, r *http.Request) error {
	if err := s.limitClient(w, r); err != nil {
		return err
	}
	var req createRequest
	if err := s.decode(r, &req, w); err != nil {
		return err
	}
	res, err := s.create(r.Context(), w, req)
	if err != nil {
		return err
	}
	return s.created(w, res)
}

// limitClient takes one request from the client's per-address bucket of
// callback requests, unless it carries a valid token (a CRM is trusted).
// The API and the form share the bucket, so alternating between them gains
// nobody a larger quota.
func (s *Server) limitClient(w http.ResponseWriter, r *http.Request) error {
	if s.authenticated(r) {
		return nil
	}
	return limited(w, s.perIP, s.clientKey(r), "from this address")
}

// createResult is what a callback request came to: the callback, its place
// when known, and whether it already existed.
type createResult struct {
	t        *queue.Ticket
	pos      int
	hasPos   bool
	existing bool
}

// create is the one implementation of asking for a callback, behind both the
// API and the public form: validation as the IVR does it, the per-number
// limit (its Retry-After goes on w), one pending callback per number per
// queue, and slots the queue can keep. Errors are *apiError whose Field
// names the request field at fault, which the form shows next to it.
func (s *Server) create(ctx context.Context, w http.ResponseWriter, req createRequest) (createResult, error) {
	req.Queue = strings.TrimSpace(req.Queue)
	if req.Queue == "" {
		return createResult{}, fail(http.StatusBadRequest, "missing_field", "queue", "queue is required: the name of the queue to be called back from")
	}
	qo, ok := s.queues[req.Queue]
	if !ok {
		return createResult{}, unknownQueue(req.Queue)
	}
	n, err := phone.Parse(req.Number, qo.Country, phone.Policy{AllowedRegions: qo.AllowedCountries})
	if err != nil {
		return createResult{}, numberError(err, qo)
	}
	if err := limited(w, s.perNumber, n.E164, "for this number"); err != nil {
		return createResult{}, err
	}
	if req.Category != "" && len(qo.Categories) > 0 && !slices.Contains(qo.Categories, req.Category) {
		return createResult{}, fail(http.StatusBadRequest, "unknown_category", "category",
			"queue %s has no promise category %q; use one of %s, or leave it out", req.Queue, req.Category, strings.Join(qo.Categories, ", "))
	}
	lang, err := language(req.Language, qo)
	if err != nil {
		return createResult{}, err
	}
	now := s.clock.Now()
	jr := queue.JoinRequest{
		Queue: req.Queue, Kind: queue.Callback, Number: n.E164,
		Name: strings.TrimSpace(req.Name), Reason: strings.TrimSpace(req.Reason), Context: strings.TrimSpace(req.Context),
		Language: lang, Category: queue.Category(req.Category), Actor: actor,
	}
	when := strings.TrimSpace(req.When)
	asap := when == "" || strings.EqualFold(when, "asap")
	if !asap {
		start, err := time.Parse(time.RFC3339, when)
		if err != nil {
			return createResult{}, fail(http.StatusBadRequest, "invalid_slot", "when",
				`when must be "asap" or a slot start in RFC 3339 ("2026-11-24T09:30:00+01:00"), got %q`, when)
		}
		if !start.After(now) {
			return createResult{}, fail(http.StatusBadRequest, "slot_past", "when", "%s is in the past; pick a slot from GET /api/v1/queues/%s/slots", when, req.Queue)
		}
		if start.After(now.Add(maxSlotDays * 24 * time.Hour)) {
			return createResult{}, fail(http.StatusBadRequest, "slot_too_far", "when",
				"%s is more than %d days ahead; the staffing a promise rests on is not known that far", when, maxSlotDays)
		}
		p := &plan{opts: qo}
		if why := p.hoursProblem(start); why != "" {
			return createResult{}, fail(http.StatusBadRequest, "slot_closed", "when", "%s: %s", when, why)
		}
		jr.Kind, jr.SlotStart = queue.Scheduled, start
	}
	// One pending callback per number per queue: the customer asking again
	// gets the callback they already have, not a second call, and not an
	// error about a slot they no longer need.
	if t, pos, ok := s.line.ActiveCallback(req.Queue, n.E164); ok {
		return createResult{t: t, pos: pos, hasPos: true, existing: true}, nil
	}
	if asap && qo.Hours != nil && !qo.Hours.Open(now) {
		// Nobody calls back while the queue is closed, so "as soon as
		// possible" is the first slot that can be kept once it opens;
		// promising the opening itself to everyone who asked overnight
		// would be a promise the morning cannot keep.
		jr.Kind = queue.Scheduled
	}
	var j queue.Joined
	if jr.Kind == queue.Scheduled {
		j, err = s.joinSlot(ctx, jr, asap, now)
	} else {
		j, err = s.line.Join(ctx, jr)
	}
	if errors.Is(err, queue.ErrDuplicate) {
		// Another process (the CLI, a second vhold) took the number first
		// and this line has not followed the store yet.
		if t, pos, hasPos, ok := s.existing(ctx, req.Queue, n.E164); ok {
			return createResult{t: t, pos: pos, hasPos: hasPos, existing: true}, nil
		}
		return createResult{}, fail(http.StatusConflict, "duplicate", "number", "%s already has a pending callback in %s", n.E164, req.Queue)
	}
	if err != nil {
		return createResult{}, joinError(err, req.Queue)
	}
	if !j.Existing {
		s.log.WithFields(logrus.Fields{"ticket": j.Ticket.ID, "queue": j.Ticket.Queue, "kind": j.Ticket.Kind}).Info("callback requested through the API")
	}
	return createResult{t: j.Ticket, pos: j.Position, hasPos: true, existing: j.Existing}, nil
}

// joinSlot joins a scheduled callback if the queue can keep its slot (for
// asap, the first slot it can keep), holding s.book so that the check and
// the join are one step against other requests.
func (s *Server) joinSlot(ctx context.Context, jr queue.JoinRequest, asap bool, now time.Time) (queue.Joined, error) {
	s.book.Lock()
	defer s.book.Unlock()
	p, err := s.plan(jr.Queue, now)
	if err != nil {
		return queue.Joined{}, err
	}
	if asap {
		slots := p.slots(now.Add(asapSlotDays * 24 * time.Hour))
		if len(slots) == 0 {
			why := p.none
			if why == "" {
				why = fmt.Sprintf("every slot in the next %d days is booked or behind the backlog", asapSlotDays)
			}
			return queue.Joined{}, fail(http.StatusConflict, "slot_unavailable", "when",
				"the queue is closed and no later time can be promised: %s", why)
		}
		jr.SlotStart = slots[0].Start
	} else if why := p.keepable(jr.SlotStart); why != "" {
		return queue.Joined{}, fail(http.StatusConflict, "slot_unavailable", "when",
			"%s cannot be promised: %s; pick a slot from GET /api/v1/queues/%s/slots", jr.SlotStart.Format(time.RFC3339), why, jr.Queue)
	}
	testHookBeforeJoin()
	return s.line.Join(ctx, jr)
}

// testHookBeforeJoin lets a test widen the gap between a slot's capacity
// check and the join, where a second request must not slip in.
var testHookBeforeJoin = func() {}

// existing finds a number's active callback in a queue: in the line, or in
// the store when another process created it (its place is then unknown
// here until the line follows the store).
func (s *Server) existing(ctx context.Context, q, number string) (t *queue.Ticket, pos int, hasPos, ok bool) {
	if t, pos, ok := s.line.ActiveCallback(q, number); ok {
		return t, pos, true, true
	}
	if s.store == nil {
		return nil, 0, false, false
	}
	ts, err := s.store.Tickets(ctx, store.Filter{Queue: q, States: activeStates, Kinds: callbackKinds})
	if err != nil {
		s.log.WithError(err).Warn("look for the existing callback of a number")
		return nil, 0, false, false
	}
	for _, t := range ts {
		if t.Number == number {
			pos, err := s.line.Position(t.ID)
			return t, pos, err == nil, true
		}
	}
	return nil, 0, false, false
}

// created answers a create: 201 for a new callback, 200 for the number's
// existing one.
func (s *Server) created(w http.ResponseWriter, res createResult) error {
	status := http.StatusCreated
	if res.existing {
		status = http.StatusOK
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/callbacks/%d", res.t.ID))
	writeJSON(w, status, createdOf(res.t, res.pos, res.hasPos, res.existing))
	return nil
}

// numberError turns phone's typed refusal into the answer the form shows.
func numberError(err error, qo QueueOptions) error {
	var pe *phone.Error
	region := ""
	if errors.As(err, &pe) {
		region = pe.Region
	}
	switch {
	case errors.Is(err, phone.ErrEmpty):
		return fail(http.StatusBadRequest, "missing_field", "number", "number is required: the phone number to call back")
	case errors.Is(err, phone.ErrPremium):
		return fail(http.StatusBadRequest, "premium_rate", "number", "%v: give a fixed or mobile number", err)
	case errors.Is(err, phone.ErrSharedCost):
		return fail(http.StatusBadRequest, "shared_cost", "number", "%v: give a fixed or mobile number", err)
	case errors.Is(err, phone.ErrRegion):
		return fail(http.StatusBadRequest, "country_not_allowed", "number",
			"numbers in %s are not called back from this queue; it calls numbers in %s", region, strings.Join(qo.AllowedCountries, ", "))
	}
	hint := "give it with its international prefix (+34…)"
	if qo.Country != "" {
		hint = fmt.Sprintf("give it with its international prefix (+34…), or as dialed within %s", qo.Country)
	}
	return fail(http.StatusBadRequest, "invalid_number", "number", "%v; %s", err, hint)
}

var langCode = regexp.MustCompile(`^[a-z]{2}$`)

// language is the request's language, checked, or the queue's.
func language(l string, qo QueueOptions) (string, error) {
	l = strings.ToLower(strings.TrimSpace(l))
	if l == "" {
		return qo.Language, nil
	}
	if len(qo.Languages) > 0 && !slices.Contains(qo.Languages, l) || len(qo.Languages) == 0 && !langCode.MatchString(l) {
		want := "a two-letter language code"
		if len(qo.Languages) > 0 {
			want = "one of " + strings.Join(qo.Languages, ", ")
		}
		return "", fail(http.StatusBadRequest, "unknown_language", "language", "language %q is not spoken here; use %s, or leave it out", l, want)
	}
	return l, nil
}

func unknownQueue(name string) error {
	return fail(http.StatusNotFound, "unknown_queue", "queue", "there is no queue %q; GET /api/v1/queues lists them", name)
}

// joinError maps the line's refusals; anything else is the server's fault.
func joinError(err error, q string) error {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, queue.ErrNoQueue):
		return unknownQueue(q)
	}
	return fmt.Errorf("join %s through the API: %w", q, err)
}

// ---- reading and acting on callbacks ----

var (
	activeStates  = []queue.State{queue.Waiting, queue.Reserved, queue.Dialing, queue.Connected}
	callbackKinds = []queue.Kind{queue.Callback, queue.Scheduled}
)

// parseID reads the {id} path value.
func parseID(r *http.Request) (queue.TicketID, error) {
	raw := r.PathValue("id")
	id, err := strconv.ParseInt(strings.TrimPrefix(raw, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fail(http.StatusBadRequest, "invalid_id", "id", "%q is not a callback id (a positive whole number)", raw)
	}
	return queue.TicketID(id), nil
}

// lookup finds callback id, active or finished. It returns the ticket, its
// place when active, and whether it is active.
func (s *Server) lookup(ctx context.Context, id queue.TicketID) (*queue.Ticket, int, bool, error) {
	t, pos, err := s.line.Ticket(id)
	active := err == nil
	if !active {
		if !errors.Is(err, queue.ErrNoTicket) {
			return nil, 0, false, fmt.Errorf("read ticket %d: %w", id, err)
		}
		if s.store == nil {
			return nil, 0, false, noCallback(id)
		}
		t, err = s.store.Ticket(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, 0, false, noCallback(id)
		}
		if err != nil {
			return nil, 0, false, fmt.Errorf("read ticket %d: %w", id, err)
		}
		// Active in the store but not (yet) in this line: another process's.
		active = false
	}
	if t.Kind == queue.Live {
		return nil, 0, false, fail(http.StatusNotFound, "not_a_callback", "id", "ticket %d is a caller on hold, not a callback", id)
	}
	return t, pos, active, nil
}

func noCallback(id queue.TicketID) error {
	return fail(http.StatusNotFound, "no_callback", "id", "there is no callback %d", id)
}

// activeCallback is lookup for the verbs that change a callback: one that
// has ended is a conflict that says how it ended.
func (s *Server) activeCallback(ctx context.Context, id queue.TicketID) (*queue.Ticket, error) {
	t, _, active, err := s.lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	if !active {
		return nil, ended(t)
	}
	return t, nil
}

func ended(t *queue.Ticket) error {
	if !t.State.Final() {
		return fail(http.StatusConflict, "not_in_line", "id", "callback %d is %s but not in this server's line yet; try again in a moment", t.ID, t.State)
	}
	how := string(t.State)
	if t.FinalReason != "" {
		how += " (" + t.FinalReason + ")"
	}
	return fail(http.StatusConflict, "already_ended", "id", "callback %d already ended: %s", t.ID, how)
}

// changeError maps a refused change of a callback.
func changeError(err error, id queue.TicketID) error {
	switch {
	case errors.Is(err, queue.ErrNoTicket):
		return fail(http.StatusConflict, "already_ended", "id", "callback %d ended while the request was made", id)
	case errors.Is(err, queue.ErrIllegalTransition):
		return fail(http.StatusConflict, "illegal_transition", "id", "callback %d cannot be changed so now: %v", id, err)
	}
	return err
}

func handleGet(s *Server, w http.ResponseWriter, r *http.Request) error {
	id, err := parseID(r)
	if err != nil {
		return err
	}
	t, pos, active, err := s.lookup(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewOf(t, pos, active))
	return nil
}

type listView struct {
	Callbacks []ticketView `json:"callbacks"`
	Count     int          `json:"count"`
}

// handleList lists callbacks by queue, state and promise status. With a
// store it reads the store (every callback ever, by id); without one it can
// only show the callbacks waiting in the line.
func handleList(s *Server, w http.ResponseWriter, r *http.Request) error {
	if err := onlyParams(r, "queue", "state", "promise"); err != nil {
		return err
	}
	q := r.URL.Query()
	name := q.Get("queue")
	if name != "" {
		if _, ok := s.queues[name]; !ok {
			return unknownQueue(name)
		}
	}
	states, err := parseStates(q.Get("state"))
	if err != nil {
		return err
	}
	status := q.Get("promise")
	switch status {
	case "", PromiseOK, PromiseAtRisk, PromiseEscalated:
	default:
		return fail(http.StatusBadRequest, "invalid_parameter", "promise", "promise must be ok, at_risk or escalated (got %q)", status)
	}
	var ts []*queue.Ticket
	if s.store != nil {
		ts, err = s.store.Tickets(r.Context(), store.Filter{Queue: name, States: states, Kinds: callbackKinds})
		if err != nil {
			return fmt.Errorf("list callbacks: %w", err)
		}
	} else if states == nil || slices.Contains(states, queue.Waiting) {
		names := s.line.Queues()
		if name != "" {
			names = []string{name}
		}
		for _, qn := range names {
			wt, err := s.line.Waiting(qn)
			if err != nil {
				return fmt.Errorf("list callbacks: %w", err)
			}
			for _, t := range wt {
				if t.Kind != queue.Live {
					ts = append(ts, t)
				}
			}
		}
		slices.SortFunc(ts, func(a, b *queue.Ticket) int { return cmp.Compare(a.ID, b.ID) })
	}
	out := listView{Callbacks: []ticketView{}}
	for _, t := range ts {
		if status != "" && promiseStatus(t.Promise) != status {
			continue
		}
		pos, err := s.line.Position(t.ID)
		out.Callbacks = append(out.Callbacks, viewOf(t, pos, err == nil))
	}
	out.Count = len(out.Callbacks)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// parseStates reads the state filter: "active" (the default: any state
// still in line), "all", or one state.
func parseStates(s string) ([]queue.State, error) {
	switch s {
	case "", "active":
		return activeStates, nil
	case "all":
		return nil, nil
	}
	st := queue.State(s)
	switch st {
	case queue.Waiting, queue.Reserved, queue.Dialing, queue.Connected,
		queue.Completed, queue.Abandoned, queue.Cancelled, queue.Failed, queue.Expired:
		return []queue.State{st}, nil
	}
	return nil, fail(http.StatusBadRequest, "invalid_parameter", "state",
		"state must be active, all, waiting, reserved, dialing, connected, completed, abandoned, cancelled, failed or expired (got %q)", s)
}

// onlyParams refuses query parameters the route does not take, so a typo
// ("stat=waiting") is an error rather than a silently unfiltered answer.
func onlyParams(r *http.Request, names ...string) error {
	for k := range r.URL.Query() {
		if !slices.Contains(names, k) {
			want := "none"
			if len(names) > 0 {
				want = strings.Join(names, ", ")
			}
			return fail(http.StatusBadRequest, "unknown_parameter", k, "%q is not a parameter of this route (it takes %s)", k, want)
		}
	}
	return nil
}

type cancelRequest struct {
	Reason string `json:"reason"`
}

// handleCancel cancels a callback. The reason, journaled, comes from the
// reason parameter or a JSON body; both are optional.
func handleCancel(s *Server, w http.ResponseWriter, r *http.Request) error {
	if err := onlyParams(r, "reason"); err != nil {
		return err
	}
	id, err := parseID(r)
	if err != nil {
		return err
	}
	var req cancelRequest
	if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		if err := s.decode(r, &req, w); err != nil {
			return err
		}
	}
	reason := strings.TrimSpace(r.URL.Query().Get("reason"))
	if reason == "" {
		reason = strings.TrimSpace(req.Reason)
	}
	if reason == "" {
		reason = "cancelled through the API"
	}
	t, err := s.cancel(r.Context(), id, reason, actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewOf(t, 0, false))
	return nil
}

// cancel cancels an active callback, journaled as by actor: the API's and
// the board's verb.
func (s *Server) cancel(ctx context.Context, id queue.TicketID, reason, by string) (*queue.Ticket, error) {
	if _, err := s.activeCallback(ctx, id); err != nil {
		return nil, err
	}
	t, err := s.line.Cancel(ctx, id, reason, by)
	if err != nil {
		return nil, changeError(err, id)
	}
	s.log.WithFields(logrus.Fields{"ticket": id, "reason": reason, "actor": by}).Info("callback cancelled")
	return t, nil
}

type ownerRequest struct {
	Owner string `json:"owner"`
}

// handleOwner makes someone answer for a callback's promise (the board's
// "take ownership").
func handleOwner(s *Server, w http.ResponseWriter, r *http.Request) error {
	id, err := parseID(r)
	if err != nil {
		return err
	}
	var req ownerRequest
	if err := s.decode(r, &req, w); err != nil {
		return err
	}
	owner := strings.TrimSpace(req.Owner)
	if owner == "" {
		return fail(http.StatusBadRequest, "missing_field", "owner", "owner is required: who answers for this promise (a name or an address)")
	}
	t, err := s.take(r.Context(), id, owner)
	if err != nil {
		return err
	}
	pos, perr := s.line.Position(id)
	writeJSON(w, http.StatusOK, viewOf(t, pos, perr == nil))
	return nil
}

// take makes owner answer for an active callback's promise: the API's and
// the board's verb.
func (s *Server) take(ctx context.Context, id queue.TicketID, owner string) (*queue.Ticket, error) {
	if _, err := s.activeCallback(ctx, id); err != nil {
		return nil, err
	}
	t, err := s.keeper.Take(ctx, id, owner)
	if err != nil {
		return nil, changeError(err, id)
	}
	return t, nil
}

type resolveRequest struct {
	By string `json:"by"`
}

// handleResolve ends a callback whose reset promised a written update, once
// its owner has written (the board's "resolved in writing").
func handleResolve(s *Server, w http.ResponseWriter, r *http.Request) error {
	id, err := parseID(r)
	if err != nil {
		return err
	}
	var req resolveRequest
	if err := s.decode(r, &req, w); err != nil {
		return err
	}
	by := strings.TrimSpace(req.By)
	if by == "" {
		return fail(http.StatusBadRequest, "missing_field", "by", "by is required: who wrote to the customer")
	}
	nt, err := s.resolve(r.Context(), id, by)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewOf(nt, 0, false))
	return nil
}

// resolve ends an active callback whose reset promised a written update,
// written by by: the API's and the board's verb.
func (s *Server) resolve(ctx context.Context, id queue.TicketID, by string) (*queue.Ticket, error) {
	t, err := s.activeCallback(ctx, id)
	if err != nil {
		return nil, err
	}
	if !t.Promise.Written {
		return nil, fail(http.StatusConflict, "not_written", "id",
			"callback %d was promised a call, not a written update; only a callback whose reset promised a written update can be resolved in writing", id)
	}
	nt, err := s.keeper.ResolveInWriting(ctx, id, by)
	if err != nil {
		return nil, changeError(err, id)
	}
	return nt, nil
}
