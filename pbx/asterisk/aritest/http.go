package aritest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ServeHTTP serves ARI: GET /ari/events (the WebSocket) and the REST resources
// under /ari. Anything outside /ari is a plain 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1) // Close waits for handlers, some of which wait on the model
	s.mu.Unlock()
	defer s.wg.Done()

	w.Header().Set("Server", s.opts.ServerName)
	p, ok := strings.CutPrefix(r.URL.Path, "/ari/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	q := &req{s: s, w: w, r: r}
	if !s.authorized(r) {
		// errors.jsonl seq 9-16: a missing or wrong password, by Basic auth or
		// api_key, for REST and for the WebSocket alike.
		w.Header().Set("WWW-Authenticate", `Basic realm="Asterisk REST Interface"`)
		q.err(http.StatusUnauthorized, "Authentication required")
		return
	}
	if p == "events" && r.Method == http.MethodGet {
		s.serveEvents(w, r)
		return
	}
	if err := q.parse(); err != nil {
		q.err(http.StatusBadRequest, "Error parsing request body")
		return
	}
	segs := strings.Split(strings.TrimSuffix(p, "/"), "/")
	pathMatched := false
	for _, rt := range s.routeTable {
		vars, ok := rt.match(segs)
		if !ok {
			continue
		}
		pathMatched = true
		if rt.method != r.Method {
			continue
		}
		q.vars = vars
		s.logf("REST %s %s", r.Method, r.URL.RequestURI())
		rt.h(q)
		return
	}
	if pathMatched {
		q.err(http.StatusMethodNotAllowed, "Invalid method") // errors.jsonl seq 21-22
		return
	}
	q.err(http.StatusNotFound, "Resource not found") // errors.jsonl seq 19-20
}

// authorized checks HTTP Basic auth or ?api_key=user:pass, the two ways the
// traces authenticate (README, errors.jsonl seq 17-18).
func (s *Server) authorized(r *http.Request) bool {
	if key := r.URL.Query().Get("api_key"); key != "" {
		return key == s.opts.User+":"+s.opts.Password
	}
	u, p, ok := r.BasicAuth()
	return ok && u == s.opts.User && p == s.opts.Password
}

// route is one REST resource and method; pattern segments in braces are
// variables.
type route struct {
	method  string
	pattern []string
	h       func(*req)
}

func (rt route) match(segs []string) (map[string]string, bool) {
	if len(segs) != len(rt.pattern) {
		return nil, false
	}
	vars := map[string]string{}
	for i, p := range rt.pattern {
		if strings.HasPrefix(p, "{") {
			if segs[i] == "" {
				return nil, false
			}
			vars[strings.Trim(p, "{}")] = segs[i]
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return vars, true
}

// routes lists the resources the fake serves: the subset of the Swagger files
// in shared/pbx/asterisk/ari-api-docs that vhold uses or the traces exercise.
func (s *Server) routes() []route {
	r := func(method, pattern string, h func(*req)) route {
		return route{method, strings.Split(pattern, "/"), h}
	}
	return []route{
		r("GET", "asterisk/info", s.getInfo),
		r("GET", "asterisk/ping", s.getPing),
		r("GET", "applications", s.listApps),
		r("GET", "applications/{app}", s.getApp),
		r("POST", "applications/{app}/subscription", s.subscribe),
		r("DELETE", "applications/{app}/subscription", s.unsubscribe),
		r("GET", "endpoints", s.listEndpoints),
		r("GET", "endpoints/{tech}", s.listEndpoints),
		r("GET", "endpoints/{tech}/{resource}", s.getEndpoint),

		r("GET", "channels", s.listChannels),
		r("POST", "channels", s.originate),
		r("POST", "channels/create", s.createChannel),
		r("GET", "channels/{id}", s.getChannel),
		r("POST", "channels/{id}", s.originate),
		r("DELETE", "channels/{id}", s.hangupChannel),
		r("POST", "channels/{id}/answer", s.answerChannel),
		r("POST", "channels/{id}/ring", s.ringChannel),
		r("DELETE", "channels/{id}/ring", s.ringStopChannel),
		r("POST", "channels/{id}/hold", s.holdChannel),
		r("DELETE", "channels/{id}/hold", s.holdChannel),
		r("POST", "channels/{id}/moh", s.startChannelMOH),
		r("DELETE", "channels/{id}/moh", s.stopChannelMOH),
		r("POST", "channels/{id}/play", s.playChannel),
		r("POST", "channels/{id}/play/{playbackId}", s.playChannel),
		r("POST", "channels/{id}/record", s.recordChannel),
		r("GET", "channels/{id}/variable", s.getChannelVar),
		r("POST", "channels/{id}/variable", s.setChannelVar),
		r("POST", "channels/{id}/continue", s.continueChannel),
		r("POST", "channels/{id}/dial", s.dialChannel),
		r("POST", "channels/{id}/dtmf", s.sendDTMF),

		r("GET", "bridges", s.listBridges),
		r("POST", "bridges", s.createBridge),
		r("GET", "bridges/{id}", s.getBridge),
		r("POST", "bridges/{id}", s.createBridge),
		r("DELETE", "bridges/{id}", s.destroyBridge),
		r("POST", "bridges/{id}/addChannel", s.addChannel),
		r("POST", "bridges/{id}/removeChannel", s.removeChannel),
		r("POST", "bridges/{id}/moh", s.startBridgeMOH),
		r("DELETE", "bridges/{id}/moh", s.stopBridgeMOH),
		r("POST", "bridges/{id}/play", s.playBridge),
		r("POST", "bridges/{id}/play/{playbackId}", s.playBridge),

		r("GET", "playbacks/{id}", s.getPlayback),
		r("DELETE", "playbacks/{id}", s.stopPlayback),
		r("POST", "playbacks/{id}/control", s.controlPlayback),

		r("GET", "recordings/stored", s.listStored),
		r("GET", "recordings/stored/{name}", s.getStored),
		r("DELETE", "recordings/stored/{name}", s.deleteStored),
		r("GET", "recordings/live/{name}", s.getLive),
		r("DELETE", "recordings/live/{name}", s.cancelLive),
		r("POST", "recordings/live/{name}/stop", s.stopLive),
	}
}

// req is one REST request: its path variables and its parameters, which ARI
// takes from the query string or from the members of a JSON body (the
// originate body's "variables" in originate-answer.jsonl seq 72).
type req struct {
	s    *Server
	w    http.ResponseWriter
	r    *http.Request
	vars map[string]string
	q    url.Values
	body map[string]any
}

func (q *req) parse() error {
	q.q = q.r.URL.Query()
	if q.r.Body == nil || q.r.ContentLength == 0 {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(q.r.Body, 1<<20))
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	if strings.HasPrefix(q.r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		form, err := url.ParseQuery(string(b))
		if err != nil {
			return err
		}
		for k, v := range form {
			if !q.q.Has(k) {
				q.q[k] = v
			}
		}
		return nil
	}
	return json.Unmarshal(b, &q.body)
}

// has says whether parameter name was given at all.
func (q *req) has(name string) bool {
	if q.q.Has(name) {
		return true
	}
	_, ok := q.body[name]
	return ok
}

// get returns parameter name from the query, else from the JSON body.
func (q *req) get(name string) string {
	if q.q.Has(name) {
		return q.q.Get(name)
	}
	switch v := q.body[name].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// list returns a multi-valued parameter: repeated or comma-separated
// (channel=a,b in originate-answer.jsonl seq 29; media=x,y in hold-bridge.jsonl
// seq 82), or a JSON array.
func (q *req) list(name string) []string {
	var raw []string
	if q.q.Has(name) {
		raw = q.q[name]
	} else {
		switch v := q.body[name].(type) {
		case string:
			raw = []string{v}
		case []any:
			for _, x := range v {
				if s, ok := x.(string); ok {
					raw = append(raw, s)
				}
			}
		}
	}
	var out []string
	for _, r := range raw {
		for _, p := range strings.Split(r, ",") {
			if p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// int parses an integer parameter the way Asterisk's generated code does
// (atoi): anything unparsable is 0, which is why timeout=abc originates with
// the default timeout instead of failing (errors.jsonl seq 49-50).
func (q *req) int(name string, def int) int {
	if !q.has(name) {
		return def
	}
	n, _ := leadingInt(q.get(name))
	return n
}

// leadingInt reads an optional sign and digits at the start of s, as C's
// sscanf("%d") does; false when there are none.
func leadingInt(s string) (int, bool) {
	s = strings.TrimSpace(s)
	end := 0
	if end < len(s) && (s[end] == '-' || s[end] == '+') {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(s[:end])
	return n, err == nil
}

func (q *req) bool(name string) bool {
	v := strings.ToLower(q.get(name))
	return v == "true" || v == "yes" || v == "1"
}

// variables returns the JSON body's "variables" object: values are strings,
// or objects with a "value" member as Asterisk 22 also accepts.
func (q *req) variables() [][2]string {
	m, _ := q.body["variables"].(map[string]any)
	var out [][2]string
	for k, v := range m {
		switch x := v.(type) {
		case string:
			out = append(out, [2]string{k, x})
		case map[string]any:
			if s, ok := x["value"].(string); ok {
				out = append(out, [2]string{k, s})
			}
		}
	}
	// Asterisk applies them in the JSON object's order; Go maps lose it, so
	// keep CALLERID() functions last, which is what matters: they override
	// the callerId parameter (originate-answer.jsonl seq 72-73).
	sortVars(out)
	return out
}

func sortVars(v [][2]string) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && lessVar(v[j], v[j-1]); j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}

func lessVar(a, b [2]string) bool {
	ac, bc := strings.HasPrefix(a[0], "CALLERID("), strings.HasPrefix(b[0], "CALLERID(")
	if ac != bc {
		return !ac
	}
	return a[0] < b[0]
}

// json writes a JSON response.
func (q *req) json(status int, v any) {
	q.w.Header().Set("Content-Type", "application/json")
	q.w.WriteHeader(status)
	_, _ = q.w.Write(mustJSON(v))
}

// created writes 201 with the Location Asterisk sets for playbacks and live
// recordings.
func (q *req) created(location string, v any) {
	q.w.Header().Set("Location", location)
	q.json(http.StatusCreated, v)
}

// noContent writes 204, the answer to every successful verb without a body.
func (q *req) noContent() { q.w.WriteHeader(http.StatusNoContent) }

// err writes Asterisk's usual error body, {"message":"..."}.
func (q *req) err(status int, format string, args ...any) {
	q.s.logf("REST %s %s -> %d %s", q.r.Method, q.r.URL.RequestURI(), status, fmt.Sprintf(format, args...))
	q.json(status, obj{{"message", fmt.Sprintf(format, args...)}})
}

// allocFailed writes the one error body that is not {"message"}: originate and
// create failures are 500 {"error":"Allocation failed"} (originate-fail.jsonl
// seq 53, 56, 59, 128).
func (q *req) allocFailed() {
	q.s.logf("REST %s %s -> 500 Allocation failed", q.r.Method, q.r.URL.RequestURI())
	q.json(http.StatusInternalServerError, obj{{"error", "Allocation failed"}})
}
