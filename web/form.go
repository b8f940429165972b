package web

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/vhold/vhold/queue"
)

// The public callback form: GET /callback shows it, POST /callback takes it
// without JavaScript. The page works as a plain HTML form that the server
// answers with the result, or with the errors next to their fields and the
// input kept; form.js, when it runs, sends the same fields to POST
// /api/v1/callbacks instead, refreshes the slots from the API and shows the
// answer in place. Both paths go through Server.create, so the form has the
// API's validation, limits and one-callback-per-number rule, not a copy.

// formQueue is the queue the form serves: ?queue= (a hidden field when
// posting), or the first queue that takes requests from the form.
func (s *Server) formQueue(name string) (string, bool) {
	if name != "" {
		qo, ok := s.queues[name]
		return name, ok && !qo.NoForm
	}
	for _, q := range s.line.Queues() {
		if !s.queues[q].NoForm {
			return q, true
		}
	}
	return "", false
}

// formValues are the fields as the customer typed them, kept on an error.
type formValues struct {
	Number, Name, Reason string
	// When is "asap" or "slot"; Slot is the chosen slot's start (RFC 3339).
	When, Slot string
}

// fieldError is one line of the error summary; Field is the id of the
// input it is about, empty for the form as a whole.
type fieldError struct {
	Field, Message string
}

type slotOption struct {
	Value, Label string
	Selected     bool
}

type slotDay struct {
	Label string
	Slots []slotOption
}

// formResult is what the customer is told after asking.
type formResult struct {
	pageBase
	Existing  bool
	Scheduled bool
	// FirstSlot: asked for as soon as possible while the queue is closed,
	// so booked in the first slot it can keep.
	FirstSlot bool
	// Position is the place in line, 1 for next; empty when not known or
	// not meaningful (a scheduled callback waits for its slot).
	Position string
	Window   string
	Again    string
}

type formPage struct {
	pageBase
	Unavailable bool
	// LangParam keeps ?lang= on the form's action, so the answer comes in
	// the language the embedding page asked for.
	LangParam  bool
	Queue      string
	Timezone   string
	Closed     bool
	NumberHint string
	Example    string
	Values     formValues
	Errors     map[string]string
	Summary    []fieldError
	Days       []slotDay
	Result     *formResult
	// CallbackLang is the language the callback is asked in: the page's,
	// when the queue speaks it; empty leaves the queue's.
	CallbackLang string
	// Client is what form.js needs, as JSON in a data attribute: the
	// strings it shows, in the page's language.
	Client string
}

// clientKeys are the catalog entries form.js shows; the rest of its text is
// already in the page.
var clientKeys = []string{
	"form.sending", "form.submit", "form.slot.none", "form.another", "form.errors",
	"err.missing_field", "err.invalid_number", "err.premium_rate", "err.shared_cost", "err.country_not_allowed",
	"err.slot", "err.slot_missing", "err.rate_limited", "err.duplicate", "err.unknown_queue", "err.body_too_large",
	"err.origin_not_allowed", "err.internal", "err.network",
	"result.title", "result.existing", "result.position", "result.scheduled", "result.firstslot", "result.place", "result.window", "result.keep",
}

func handleFormGet(s *Server, w http.ResponseWriter, r *http.Request) error {
	q, ok := s.formQueue(r.URL.Query().Get("queue"))
	p := s.formPage(r, q, ok)
	if !ok {
		return s.render(w, http.StatusNotFound, "form", p)
	}
	p.Values.When = "asap"
	return s.render(w, http.StatusOK, "form", p)
}

// formPage builds the page for queue q with no input yet.
func (s *Server) formPage(r *http.Request, q string, ok bool) *formPage {
	lang := pageLanguage(r)
	p := &formPage{pageBase: pageBase{Lang: lang}, Unavailable: !ok, Queue: q, Errors: map[string]string{},
		LangParam: r.URL.Query().Get("lang") != ""}
	if !ok {
		return p
	}
	qo := s.queues[q]
	now := s.clock.Now()
	p.Timezone = qo.Location.String()
	p.Closed = qo.Hours != nil && !qo.Hours.Open(now)
	p.NumberHint = tr(lang, "form.number.intl")
	if qo.Country != "" {
		if code := phonenumbers.GetCountryCodeForRegion(qo.Country); code != 0 {
			if ex := phonenumbers.GetExampleNumberForType(qo.Country, phonenumbers.MOBILE); ex != nil {
				p.Example = phonenumbers.Format(ex, phonenumbers.NATIONAL)
			}
			p.NumberHint = tr(lang, "form.number.hint", "country", regionName(lang, qo.Country),
				"code", strconv.Itoa(code), "example", p.Example)
		}
	}
	client := map[string]string{}
	for _, k := range clientKeys {
		client[k] = tr(lang, k)
	}
	client["countries"] = s.countryList(lang, qo)
	b, _ := json.Marshal(client)
	p.Client = string(b)
	p.Days = s.formSlots(lang, q, now)
	if _, err := language(lang, qo); err == nil {
		p.CallbackLang = lang
	}
	return p
}

// countryList names the regions a queue calls, for the "only numbers in"
// message.
func (s *Server) countryList(lang string, qo QueueOptions) string {
	names := make([]string, 0, len(qo.AllowedCountries))
	for _, c := range qo.AllowedCountries {
		names = append(names, regionName(lang, c))
	}
	return strings.Join(names, ", ")
}

// formSlots are the slots the queue can still promise in the next days,
// grouped by local day: the same plan as GET /api/v1/queues/{q}/slots.
func (s *Server) formSlots(lang, q string, now time.Time) []slotDay {
	p, err := s.plan(q, now)
	if err != nil {
		s.log.WithError(err).Warn("form: plan the slots")
		return nil
	}
	loc := p.opts.Location
	var days []slotDay
	for _, sl := range p.slots(now.Add(defaultSlotDays * 24 * time.Hour)) {
		st, en := sl.Start.In(loc), sl.End.In(loc)
		label := longDate(lang, st)
		if len(days) == 0 || days[len(days)-1].Label != label {
			days = append(days, slotDay{Label: label})
		}
		d := &days[len(days)-1]
		// The day is in the option too: a closed select shows the option
		// alone, without its group's label.
		d.Slots = append(d.Slots, slotOption{Value: sl.Start.Format(time.RFC3339),
			Label: shortDate(lang, st) + ", " + st.Format("15:04") + "–" + en.Format("15:04")})
	}
	return days
}

// handleFormPost takes the form without JavaScript: the same checks as the
// API (origin, per-address and per-number limits, body size, validation),
// answered in HTML.
func handleFormPost(s *Server, w http.ResponseWriter, r *http.Request) error {
	lang := pageLanguage(r)
	if err := s.checkOrigin(w, r); err != nil {
		return s.formFailed(w, r, s.formPage(r, "", false), err)
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			err = tooLarge(s.maxBody)
		} else {
			err = formErr(http.StatusBadRequest, "invalid_form", "")
		}
		return s.formFailed(w, r, s.formPage(r, "", false), err)
	}
	q, ok := s.formQueue(r.PostForm.Get("queue"))
	p := s.formPage(r, q, ok)
	if !ok {
		return s.render(w, http.StatusNotFound, "form", p)
	}
	p.Values = formValues{
		Number: r.PostForm.Get("number"), Name: r.PostForm.Get("name"), Reason: r.PostForm.Get("reason"),
		When: r.PostForm.Get("when"), Slot: r.PostForm.Get("slot"),
	}
	for i := range p.Days {
		for j := range p.Days[i].Slots {
			p.Days[i].Slots[j].Selected = p.Days[i].Slots[j].Value == p.Values.Slot
		}
	}
	req := createRequest{Queue: q, Number: p.Values.Number, Name: p.Values.Name, Reason: p.Values.Reason, When: "asap"}
	if p.Values.When == "slot" {
		if p.Values.Slot == "" {
			return s.formFailed(w, r, p, formErr(http.StatusBadRequest, "slot_missing", "when"))
		}
		req.When = p.Values.Slot
	}
	// The callback is in the customer's language when the queue speaks it.
	req.Language = p.CallbackLang
	if err := s.limitClient(w, r); err != nil {
		return s.formFailed(w, r, p, err)
	}
	res, err := s.create(r.Context(), w, req)
	if err != nil {
		return s.formFailed(w, r, p, err)
	}
	p.Result = s.formResult(lang, q, res, r)
	p.Result.FirstSlot = p.Result.Scheduled && req.When == "asap"
	status := http.StatusCreated
	if res.existing {
		status = http.StatusOK
	}
	return s.render(w, status, "form", p)
}

// formResult words a created (or existing) callback for its customer.
func (s *Server) formResult(lang, q string, res createResult, r *http.Request) *formResult {
	now := s.clock.Now()
	v := createdOf(res.t, res.pos, res.hasPos, res.existing)
	out := &formResult{pageBase: pageBase{Lang: lang}, Existing: res.existing, Scheduled: res.t.Kind == queue.Scheduled,
		Window: timeRange(lang, v.Promise.WindowStart, v.Promise.Deadline, now, s.queues[q].Location)}
	if v.Position != nil && !out.Scheduled {
		out.Position = strconv.Itoa(*v.Position)
	}
	again := url.Values{"queue": {q}}
	if l := r.URL.Query().Get("lang"); l != "" {
		again.Set("lang", lang)
	}
	out.Again = "/callback?" + again.Encode()
	return out
}

// formFailed shows the form again with err next to its field (or above
// the form), the input kept, and the API's status code.
func (s *Server) formFailed(w http.ResponseWriter, r *http.Request, p *formPage, err error) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		s.log.WithError(err).WithField("path", r.URL.Path).Error("callback form")
		ae = formErr(http.StatusInternalServerError, "internal", "")
	}
	msg := formMessage(p.Lang, ae, w, s.countryList(p.Lang, s.queues[p.Queue]))
	field := ""
	switch ae.Field {
	case "number", "when":
		field = ae.Field
		p.Errors[field] = msg
	}
	p.Summary = append(p.Summary, fieldError{Field: field, Message: msg})
	return s.render(w, ae.Status, "form", p)
}

// formErr is an error only the HTML form answers with (the API's codes are
// made by fail and listed in openapi.json); its reason is the code, since a
// customer reads formMessage's wording instead.
func formErr(status int, code, field string) *apiError {
	return &apiError{Status: status, Code: code, Field: field, Reason: code}
}

// formMessage says an API error to a customer, in lang: the API's reasons
// are for developers.
func formMessage(lang string, ae *apiError, w http.ResponseWriter, countries string) string {
	switch ae.Code {
	case "missing_field", "invalid_number", "premium_rate", "shared_cost", "duplicate", "unknown_queue",
		"body_too_large", "origin_not_allowed", "slot_missing":
		return tr(lang, "err."+ae.Code)
	case "country_not_allowed":
		return tr(lang, "err.country_not_allowed", "countries", countries)
	case "rate_limited":
		return tr(lang, "err.rate_limited", "seconds", w.Header().Get("Retry-After"))
	case "invalid_slot", "slot_past", "slot_too_far", "slot_closed", "slot_unavailable":
		return tr(lang, "err.slot")
	}
	return tr(lang, "err.internal")
}

// render executes a page template into a buffer first, so a template error
// is a clean 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, status int, name string, data any) error {
	var b strings.Builder
	if err := s.pages.ExecuteTemplate(&b, name, data); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write([]byte(b.String()))
	return err
}

// parsePages parses the embedded page templates; they are part of the
// binary, so an error is a bug the tests catch.
func parsePages() *template.Template {
	return template.Must(template.New("").ParseFS(uiFS, "ui/*.html"))
}
