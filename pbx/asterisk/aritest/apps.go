package aritest

import (
	"net/http"
	"slices"
	"strings"
)

// getInfo is GET /asterisk/info, shaped as info.jsonl seq 4; ?only= keeps the
// named sections.
func (s *Server) getInfo(q *req) {
	s.lock()
	defer s.unlock()
	start := stamp(s.epoch)
	all := obj{
		{"build", obj{
			{"os", "Linux"}, {"kernel", "6.1.0"}, {"machine", "x86_64"},
			{"options", "OPTIONAL_API"}, {"date", s.epoch.UTC().Format("2006-01-02 15:04:05 UTC")}, {"user", "root"},
		}},
		{"system", obj{{"version", "22.10.1"}, {"entity_id", asteriskID}}},
		{"config", obj{
			{"name", ""}, {"default_language", "en"},
			{"setid", obj{{"user", ""}, {"group", ""}}},
		}},
		{"status", obj{{"startup_time", start}, {"last_reload_time", start}}},
	}
	only := q.list("only")
	if len(only) == 0 {
		q.json(http.StatusOK, all)
		return
	}
	var out obj
	for _, m := range all {
		if slices.Contains(only, m.k) {
			out = append(out, m)
		}
	}
	q.json(http.StatusOK, out)
}

// getPing is GET /asterisk/ping (info.jsonl seq 6).
func (s *Server) getPing(q *req) {
	s.lock()
	defer s.unlock()
	q.json(http.StatusOK, obj{{"ping", "pong"}, {"timestamp", stamp(s.now())}, {"asterisk_id", asteriskID}})
}

// appSnap is the Application JSON (info.jsonl seq 14, caller-abandon.jsonl
// seq 41): the channels and bridges it follows, its endpoint and device
// subscriptions.
func (s *Server) appSnap(a *app) obj {
	chans := []string{}
	for _, ch := range s.chanOrder {
		if (ch.appSub && ch.app == a.name) || a.chanSubs[ch.id] {
			chans = append(chans, ch.id)
		}
	}
	bridges := []string{}
	for _, b := range s.bridgeList {
		if a.bridgeSubs[b.id] || b.autoSub[a.name] {
			bridges = append(bridges, b.id)
		}
	}
	return obj{
		{"name", a.name},
		{"channel_ids", chans},
		{"bridge_ids", bridges},
		{"endpoint_ids", strs(slices.Clone(a.endpointSubs))},
		{"device_names", strs(slices.Clone(a.deviceSubs))},
		{"events_allowed", []string{}},
		{"events_disallowed", []string{}},
	}
}

// listApps is GET /applications: [] before any WebSocket (info.jsonl seq 8).
func (s *Server) listApps(q *req) {
	s.lock()
	defer s.unlock()
	out := []obj{}
	for _, a := range s.appOrder {
		out = append(out, s.appSnap(a))
	}
	q.json(http.StatusOK, out)
}

func (s *Server) getApp(q *req) {
	s.lock()
	defer s.unlock()
	a := s.apps[q.vars["app"]]
	if a == nil {
		q.err(http.StatusNotFound, "Application not found") // errors.jsonl seq 211-212
		return
	}
	q.json(http.StatusOK, s.appSnap(a))
}

// subscribe is POST /applications/{app}/subscription?eventSource=...
func (s *Server) subscribe(q *req) { s.subscription(q, true) }

// unsubscribe is DELETE /applications/{app}/subscription?eventSource=...
func (s *Server) unsubscribe(q *req) { s.subscription(q, false) }

func (s *Server) subscription(q *req, add bool) {
	s.lock()
	defer s.unlock()
	a := s.apps[q.vars["app"]]
	if a == nil {
		q.err(http.StatusNotFound, "Application not found")
		return
	}
	sources := q.list("eventSource")
	if len(sources) == 0 {
		q.err(http.StatusBadRequest, "Missing parameter eventSource")
		return
	}
	// Validate every source first, as Asterisk does (errors.jsonl seq 207-210).
	for _, src := range sources {
		scheme, name, _ := strings.Cut(src, ":")
		switch scheme {
		case "channel":
			if s.live(name) == nil {
				q.err(http.StatusUnprocessableEntity, "Event source does not exist")
				return
			}
		case "bridge":
			if s.bridges[name] == nil {
				q.err(http.StatusUnprocessableEntity, "Event source does not exist")
				return
			}
		case "endpoint", "deviceState":
			if name == "" {
				q.err(http.StatusUnprocessableEntity, "Event source does not exist")
				return
			}
		default:
			q.err(http.StatusBadRequest, "Invalid event source URI scheme")
			return
		}
	}
	for _, src := range sources {
		scheme, name, _ := strings.Cut(src, ":")
		switch scheme {
		case "channel":
			if add {
				a.chanSubs[name] = true
			} else {
				delete(a.chanSubs, name)
			}
		case "bridge":
			if add {
				a.bridgeSubs[name] = true
			} else {
				delete(a.bridgeSubs, name)
			}
		case "endpoint":
			a.endpointSubs = toggle(a.endpointSubs, name, add)
		case "deviceState":
			a.deviceSubs = toggle(a.deviceSubs, name, add)
		}
	}
	q.json(http.StatusOK, s.appSnap(a)) // caller-abandon.jsonl seq 12, info.jsonl seq 43
}

func toggle(list []string, name string, add bool) []string {
	list = slices.DeleteFunc(list, func(x string) bool { return x == name })
	if add {
		list = append(list, name)
	}
	return list
}

// endpointSnap is the Endpoint JSON (info.jsonl seq 20): an endpoint without
// a contact is offline.
func (s *Server) endpointSnap(tech, resource string) obj {
	state := "online"
	if e := s.findEndpoint(tech + "/" + resource); e != nil && e.beh.Outcome == Unreachable {
		state = "offline"
	}
	ids := []string{}
	for _, ch := range s.chanOrder {
		if ch.tech == tech && ch.resource == resource {
			ids = append(ids, ch.id)
		}
	}
	return obj{{"technology", tech}, {"resource", resource}, {"state", state}, {"channel_ids", ids}}
}

// listEndpoints is GET /endpoints[/{tech}]: the endpoints registered by exact
// name.
func (s *Server) listEndpoints(q *req) {
	s.lock()
	defer s.unlock()
	out := []obj{}
	for _, e := range s.endpoints {
		tech, resource, _, ok := splitEndpoint(e.pattern)
		if !ok || strings.Contains(e.pattern, "*") || (q.vars["tech"] != "" && tech != q.vars["tech"]) {
			continue
		}
		out = append(out, s.endpointSnap(tech, resource))
	}
	q.json(http.StatusOK, out)
}

func (s *Server) getEndpoint(q *req) {
	s.lock()
	defer s.unlock()
	name := q.vars["tech"] + "/" + q.vars["resource"]
	for _, e := range s.endpoints {
		if e.pattern == name {
			q.json(http.StatusOK, s.endpointSnap(q.vars["tech"], q.vars["resource"]))
			return
		}
	}
	q.err(http.StatusNotFound, "Endpoint not found") // info.jsonl seq 23-24
}
