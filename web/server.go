// Package web is vhold's HTTP face: the JSON API under /api/v1 that a
// "Contact us" page, a chatbot or a CRM uses to ask for callbacks and that
// supervisors' tools use to watch and act on the line, plus /healthz and
// /readyz for load balancers and orchestrators.
//
// Two kinds of caller meet here, so every route is one of two kinds:
//
//   - Public routes (creating a callback, listing the slots a queue can still
//     promise) are what an embedded form on a customer-facing page calls.
//     They need no token, but are rate-limited per client IP and, when
//     creating, per number, accept only small bodies, and answer browsers
//     only from allowed origins.
//   - Every other route needs a bearer token (Options.Tokens), compared in
//     constant time.
//
// Errors are always JSON {"error": code, "reason": sentence, "field": name}:
// error is a stable snake_case code a program can branch on, reason says in
// words what was wrong and what to do about it, and field names the request
// field at fault when there is one.
//
// The routes live in one table (routes.go); the mux is built from it and the
// OpenAPI document served at /api/v1/openapi.json (openapi.json, embedded) is
// checked against it by a test, so the two cannot drift apart.
//
// Beside the API the server has two HTML pages, which are not API and are
// not in that table (pages.go): the public callback form at /callback
// (form.go), which goes through the API's own create logic, and the
// supervisors' promise board at /board (board.go: sign-in and actions;
// live.go: the Server-Sent Events that keep it current).
package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/clock"
	"github.com/vhold/vhold/promise"
	"github.com/vhold/vhold/promise/metrics"
	"github.com/vhold/vhold/queue"
	"github.com/vhold/vhold/store"
)

// Store is what the API reads from durable storage: tickets that have left
// the line (finished ones) and the history a list spans. *store.Store
// implements it.
type Store interface {
	Ticket(ctx context.Context, id queue.TicketID) (*queue.Ticket, error)
	Tickets(ctx context.Context, f store.Filter) ([]*queue.Ticket, error)
}

// QueueOptions is what the API needs to know about one queue beyond what the
// line keeps: how to read and refuse numbers, when the queue is open, and how
// its slots are cut. The binary derives it from the configuration file.
type QueueOptions struct {
	// Country is the region a number without an international prefix is
	// read in ("ES").
	Country string
	// AllowedCountries limits callbacks to numbers of these regions; empty
	// allows any (premium-rate and shared-cost numbers are always refused).
	AllowedCountries []string
	// Hours are the queue's business hours (*hours.Schedule); nil means
	// always open.
	Hours queue.Hours
	// Location is the queue's time zone, used to align slots to the local
	// clock (09:00, 09:30…); nil means UTC.
	Location *time.Location
	// Language is the language a callback gets when the request names none.
	Language string
	// Languages are the languages a request may name; empty accepts any
	// two-letter code.
	Languages []string
	// Categories are the promise categories a request may name; empty
	// accepts any (the line applies the queue's default when none is given).
	Categories []string
	// SlotLength is how long a scheduled slot lasts. It must be the line's
	// queue.CallbackPolicy.SlotLength, since the slot's end is the promise's
	// deadline; zero means 30 minutes, the line's own default.
	SlotLength time.Duration
	// HandleTime is the handle time a slot's capacity is planned with (the
	// queue's estimate.handle_time); zero means 5 minutes.
	HandleTime time.Duration
	// Quantile is how pessimistic the backlog estimate for a closed queue is
	// (the queue's estimate.quantile); zero means queue.DefaultQuantile.
	Quantile float64
	// NoForm keeps the queue off the public callback form (/callback): an
	// internal queue customers should not pick. The API still takes its
	// callbacks from those who have a token or know its name.
	NoForm bool
}

// RateLimit bounds how often the public routes may be used. Each limit is a
// token bucket: Per requests at once, refilled evenly over Window.
type RateLimit struct {
	// PerIP is requests per Window from one client address (an IPv6 client
	// is counted by its /64, which one household or host usually holds).
	// Zero means 5; negative disables the limit.
	PerIP int
	// PerNumber is callback requests per Window for one phone number, so a
	// form cannot be used to have vhold call someone over and over. Zero
	// means 5; negative disables the limit.
	PerNumber int
	// Window is the period the limits are counted over; zero means a minute.
	Window time.Duration
}

// Options is everything New needs. Line is required; the rest has defaults.
type Options struct {
	Line *queue.Line
	// Store answers for tickets that have left the line. nil: finished
	// tickets are 404 and lists show only what the line holds (waiting
	// callbacks).
	Store Store
	// Keeper takes ownership of promises and resolves them in writing. nil:
	// one is made on the line (those two verbs need no running keeper).
	Keeper *promise.Keeper
	// Queues holds each queue's options by name; a queue of the line
	// missing here uses the zero QueueOptions.
	Queues map[string]QueueOptions
	Clock  clock.Clock
	Log    *logrus.Entry
	// Tokens are the bearer tokens accepted on the routes that need one.
	// None: those routes answer 401 to everybody.
	Tokens []string
	// AllowedOrigins are the origins ("https://www.example.com") whose pages
	// may call the API from a browser, the public form embedded on a
	// customer site. A request from the API's own origin is always allowed.
	AllowedOrigins []string
	// TrustForwardedFor makes the client address the last entry of
	// X-Forwarded-For (what the one reverse proxy in front of vhold saw);
	// without it, the connection's address is the client's.
	TrustForwardedFor bool
	RateLimit         RateLimit
	// MaxBody is the largest request body accepted; zero means 8 KiB.
	MaxBody int64
	// Ready reports whether vhold can take work (store writable, every PBX
	// connected); errors.Join several failures to list each. nil: always
	// ready.
	Ready func(ctx context.Context) error
	// Version is reported by /healthz.
	Version string
	// Metrics loads what the board's promise metrics are computed from
	// (the callbacks and journal rows of the last week; the binary passes
	// the same source as /metrics). nil: the Store's callbacks without
	// their journal, or, with no Store either, no metrics on the board.
	Metrics metrics.Source
}

// Defaults for Options.
const (
	DefaultMaxBody    = 8 << 10
	DefaultRate       = 5
	DefaultWindow     = time.Minute
	DefaultSlotLength = 30 * time.Minute
	DefaultHandleTime = 5 * time.Minute
)

// Server is the HTTP API. It is an http.Handler, safe for concurrent use.
type Server struct {
	line   *queue.Line
	store  Store
	keeper *promise.Keeper
	queues map[string]QueueOptions
	clock  clock.Clock
	log    *logrus.Entry
	ready  func(context.Context) error

	version   string
	maxBody   int64
	tokens    [][sha256.Size]byte
	origins   map[string]bool
	trustXFF  bool
	perIP     *limiter
	perNumber *limiter
	slotsIP   *limiter

	// book serializes the capacity check and the join of scheduled
	// callbacks, so two requests cannot both take a slot's last place.
	book sync.Mutex

	// pages are the form's and the board's templates (pages.go).
	pages *template.Template
	// live keeps the board current and feeds its event streams (live.go).
	live *live
	// sessions are the board's signed-in browsers (board.go).
	sessions *sessions
	// loginIP limits the board's sign-in attempts per client address.
	loginIP *limiter

	mux *http.ServeMux
}

// New builds the server and its routes.
func New(o Options) *Server {
	if o.Line == nil {
		panic("web.New: Options.Line is required")
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		o.Log = logrus.NewEntry(l)
	}
	if st, ok := o.Store.(*store.Store); ok && st == nil {
		// A nil *store.Store in the interface is "no store", not a store
		// to call methods on.
		o.Store = nil
	}
	if o.Keeper == nil {
		o.Keeper = promise.New(o.Line, o.Clock, nil, nil, o.Log)
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	rl := o.RateLimit
	if rl.PerIP == 0 {
		rl.PerIP = DefaultRate
	}
	if rl.PerNumber == 0 {
		rl.PerNumber = DefaultRate
	}
	if rl.Window <= 0 {
		rl.Window = DefaultWindow
	}
	s := &Server{
		line: o.Line, store: o.Store, keeper: o.Keeper, clock: o.Clock, log: o.Log,
		ready: o.Ready, version: o.Version, maxBody: o.MaxBody, trustXFF: o.TrustForwardedFor,
		queues:    map[string]QueueOptions{},
		origins:   map[string]bool{},
		perIP:     newLimiter(rl.PerIP, rl.Window, o.Clock.Now),
		perNumber: newLimiter(rl.PerNumber, rl.Window, o.Clock.Now),
		slotsIP:   newLimiter(rl.PerIP, rl.Window, o.Clock.Now),
		loginIP:   newLimiter(DefaultRate, DefaultWindow, o.Clock.Now),
		pages:     parsePages(),
		sessions:  &sessions{byID: map[string]session{}},
		mux:       http.NewServeMux(),
	}
	for _, name := range o.Line.Queues() {
		s.queues[name] = withDefaults(o.Queues[name])
	}
	for name := range o.Queues {
		if _, ok := s.queues[name]; !ok {
			o.Log.WithField("queue", name).Warn("web: options for a queue the line does not have; ignored")
		}
	}
	for _, t := range o.Tokens {
		if t = strings.TrimSpace(t); t != "" {
			s.tokens = append(s.tokens, sha256.Sum256([]byte(t)))
		}
	}
	for _, org := range o.AllowedOrigins {
		if org = normalOrigin(org); org != "" {
			s.origins[org] = true
		}
	}
	for _, rt := range routeTable {
		s.mux.Handle(rt.pattern(), s.wrap(rt))
	}
	s.mux.HandleFunc("/api/v1/", s.noRoute)
	for _, pr := range pageTable {
		s.mux.Handle(pr.method+" "+pr.path, s.wrapPage(pr))
	}
	source := o.Metrics
	if source == nil && s.store != nil {
		source = storeMetrics(s.store)
	}
	s.live = newLive(s, source)
	return s
}

// Close ends the board's event streams and stops watching the line; call
// it before shutting the HTTP server down (http.Server.RegisterOnShutdown),
// since Shutdown waits for open streams that would otherwise never end.
// The API keeps answering after Close; only the board's live updates stop.
func (s *Server) Close() {
	s.live.close()
}

func withDefaults(q QueueOptions) QueueOptions {
	if q.SlotLength <= 0 {
		q.SlotLength = DefaultSlotLength
	}
	if q.HandleTime <= 0 {
		q.HandleTime = DefaultHandleTime
	}
	if !(q.Quantile > 0 && q.Quantile < 1) {
		q.Quantile = queue.DefaultQuantile
	}
	if q.Location == nil {
		// Slots follow the hours' own clock unless told otherwise.
		if h, ok := q.Hours.(interface{ Location() *time.Location }); ok && h.Location() != nil {
			q.Location = h.Location()
		} else {
			q.Location = time.UTC
		}
	}
	return q
}

// ServeHTTP answers CORS preflights for the API itself (they carry no token
// and match no route of their own) and hands everything else to the mux.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions && strings.HasPrefix(r.URL.Path, "/api/v1/") {
		s.preflight(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// apiError is an answer other than success: the status and the JSON body.
type apiError struct {
	Status int    `json:"-"`
	Code   string `json:"error"`
	Reason string `json:"reason"`
	Field  string `json:"field,omitempty"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Reason }

func fail(status int, code, field, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// handler is a route's work: it writes a success itself, or returns an
// error the wrapper turns into the JSON error answer (an *apiError as it
// is, anything else as a logged 500).
type handler func(s *Server, w http.ResponseWriter, r *http.Request) error

// wrap applies what every API route shares, in order: the origin check,
// then the token (required, or on a public route checked only if given),
// then the route's handler.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		var err error
		if strings.HasPrefix(rt.path, "/api/") {
			// Probes have no origin to check; the API is what browsers call.
			err = s.checkOrigin(w, r)
		}
		if err == nil {
			err = s.authorize(w, r, rt.public)
		}
		if err == nil {
			err = rt.handle(s, w, r)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		s.log.WithError(err).WithFields(logrus.Fields{"method": r.Method, "path": r.URL.Path}).Error("api")
		ae = fail(http.StatusInternalServerError, "internal", "", "vhold could not complete the request; the server log has the details")
	}
	writeJSON(w, ae.Status, ae)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// noRoute answers paths under /api/v1/ that no route serves, in JSON, with
// 405 and Allow when the path exists for other methods.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	if allow := allowed(r.URL.Path); len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.writeError(w, r, fail(http.StatusMethodNotAllowed, "method_not_allowed", "",
			"%s is not served on %s; use %s", r.Method, r.URL.Path, strings.Join(allow, " or ")))
		return
	}
	s.writeError(w, r, fail(http.StatusNotFound, "no_route", "",
		"nothing is served at %s; the routes are listed in /api/v1/openapi.json", r.URL.Path))
}

// allowed lists the methods the route table serves on path.
func allowed(path string) []string {
	var out []string
	for _, rt := range routeTable {
		if matchPath(rt.path, path) {
			out = append(out, rt.method)
		}
	}
	return out
}

// matchPath reports whether path fits pattern, whose {name} segments match
// any one non-empty segment.
func matchPath(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i, p := range ps {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if xs[i] == "" {
				return false
			}
			continue
		}
		if p != xs[i] {
			return false
		}
	}
	return true
}

// ---- origins (CORS) ----

// normalOrigin reduces an origin to scheme://host[:port] in lower case, the
// form browsers send, so the allow-list matches however it was written.
func normalOrigin(o string) string {
	u, err := url.Parse(strings.TrimSpace(o))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// originAllowed reports whether a browser request from origin may be
// answered: it comes from the API's own host (the form vhold serves itself),
// or from an allowed origin (the form embedded on a customer site).
func (s *Server) originAllowed(origin string, r *http.Request) bool {
	o := normalOrigin(origin)
	if o == "" {
		return false
	}
	if s.origins[o] {
		return true
	}
	u, _ := url.Parse(o)
	return strings.EqualFold(u.Host, r.Host)
}

// checkOrigin lets requests without an Origin (servers, curl) through, and
// refuses browsers on pages the allow-list does not name: otherwise any site
// could embed the public form and make vhold call numbers on its behalf.
func (s *Server) checkOrigin(w http.ResponseWriter, r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	if !s.originAllowed(origin, r) {
		return fail(http.StatusForbidden, "origin_not_allowed", "",
			"pages on %s may not call this API; the vhold admin can add the origin to the allowed origins", origin)
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	// A form needs Location to link to its callback and Retry-After to
	// say when to try again; browsers hide both unless named.
	h.Set("Access-Control-Expose-Headers", "Location, Retry-After")
	h.Add("Vary", "Origin")
	return nil
}

// preflight answers a browser's OPTIONS before a cross-origin request.
func (s *Server) preflight(w http.ResponseWriter, r *http.Request) {
	allow := allowed(r.URL.Path)
	if len(allow) == 0 {
		s.noRoute(w, r)
		return
	}
	h := w.Header()
	h.Set("Allow", strings.Join(append(allow, http.MethodOptions), ", "))
	if origin := r.Header.Get("Origin"); origin != "" {
		if err := s.checkOrigin(w, r); err != nil {
			s.writeError(w, r, err)
			return
		}
		h.Set("Access-Control-Allow-Methods", strings.Join(allow, ", "))
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		h.Set("Access-Control-Max-Age", "600")
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- tokens ----

// authorize checks the bearer token: required unless the route is public,
// and refused if given and wrong even there, so a client with a mistyped
// token learns it at once instead of being throttled as anonymous.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, public bool) error {
	got, given := bearer(r)
	if !given && public {
		return nil
	}
	if given && s.tokenOK(got) {
		return nil
	}
	if !given {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vhold"`)
		return fail(http.StatusUnauthorized, "unauthorized", "",
			"this route needs an API token: send it as Authorization: Bearer <token>")
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="vhold", error="invalid_token"`)
	if len(s.tokens) == 0 {
		return fail(http.StatusUnauthorized, "unauthorized", "",
			"this vhold has no API tokens configured (VHOLD_API_TOKENS), so no token is accepted")
	}
	return fail(http.StatusUnauthorized, "unauthorized", "", "the bearer token is not one this vhold accepts")
}

// bearer returns the request's bearer token and whether an Authorization
// header was given at all.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(tok), true
}

// tokenOK compares the token with every configured one in constant time.
// Hashing first gives equal-length inputs, so not even the length of a
// configured token leaks; no early exit, so neither does which one matched.
func (s *Server) tokenOK(tok string) bool {
	if tok == "" {
		return false
	}
	h := sha256.Sum256([]byte(tok))
	ok := 0
	for _, t := range s.tokens {
		ok |= subtle.ConstantTimeCompare(h[:], t[:])
	}
	return ok == 1
}

// authenticated reports whether the request carries a valid token (public
// routes use it to lift the per-IP limit for trusted systems such as a CRM).
func (s *Server) authenticated(r *http.Request) bool {
	tok, given := bearer(r)
	return given && s.tokenOK(tok)
}

// ---- client address ----

// clientKey is the rate-limit key of the request's client: its IPv4
// address, or the /64 of its IPv6 address.
func (s *Server) clientKey(r *http.Request) string {
	addr := r.RemoteAddr
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	if s.trustXFF {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if last := strings.TrimSpace(parts[len(parts)-1]); last != "" {
				addr = last
			}
		}
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// ---- bodies ----

// decode reads a JSON body of at most maxBody bytes into v, refusing other
// media types, unknown fields and trailing data with a reason that names
// the problem.
func (s *Server) decode(r *http.Request, v any, w http.ResponseWriter) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := strings.Cut(ct, ";")
		if !strings.EqualFold(strings.TrimSpace(mt), "application/json") {
			return fail(http.StatusUnsupportedMediaType, "unsupported_media_type", "",
				"send the body as JSON with Content-Type: application/json (got %q)", ct)
		}
	}
	if r.ContentLength > s.maxBody {
		return tooLarge(s.maxBody)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err, s.maxBody)
	}
	if dec.More() {
		return fail(http.StatusBadRequest, "invalid_json", "", "the body holds more than one JSON value; send exactly one object")
	}
	return nil
}

func tooLarge(limit int64) error {
	return fail(http.StatusRequestEntityTooLarge, "body_too_large", "",
		"the body is larger than %d bytes; send only the documented fields", limit)
}

func decodeError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return tooLarge(limit)
	case errors.Is(err, io.EOF):
		return fail(http.StatusBadRequest, "invalid_json", "", "the body is empty; send a JSON object")
	case errors.As(err, &se):
		return fail(http.StatusBadRequest, "invalid_json", "", "the body is not valid JSON at byte %d: %v", se.Offset, err)
	case errors.As(err, &te):
		return fail(http.StatusBadRequest, "invalid_field", te.Field, "%s must be a JSON %s", te.Field, te.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return fail(http.StatusBadRequest, "unknown_field", f, "%q is not a field of this request; see /api/v1/openapi.json", f)
	}
	return fail(http.StatusBadRequest, "invalid_json", "", "the body could not be read as JSON: %v", err)
}

// ---- health ----

func handleHealthz(s *Server, w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.version})
	return nil
}

// readyTimeout bounds /readyz, so a hung check answers "not ready" in time
// for the prober rather than never.
const readyTimeout = 3 * time.Second

func handleReadyz(s *Server, w http.ResponseWriter, r *http.Request) error {
	if s.ready == nil {
		writeJSON(w, http.StatusOK, readyView{Status: "ready"})
		return nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	err := s.ready(ctx)
	if err == nil {
		writeJSON(w, http.StatusOK, readyView{Status: "ready"})
		return nil
	}
	v := readyView{Status: "not ready"}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			v.Failures = append(v.Failures, e.Error())
		}
	} else {
		v.Failures = []string{err.Error()}
	}
	writeJSON(w, http.StatusServiceUnavailable, v)
	return nil
}

type readyView struct {
	Status   string   `json:"status"`
	Failures []string `json:"failures,omitempty"`
}
