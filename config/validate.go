package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vhold/vhold/hours"
)

var (
	// Queue names go into dialplans (Stasis(vhold,support)), URLs and metric
	// labels, so they are kept to what is safe in all three.
	queueName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	agentID   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	category  = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	callerID  = regexp.MustCompile(`^\+?[0-9]{2,15}$`)
	stasisApp = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
)

// validate checks what decoding cannot see on one value alone, and fills in
// what is derived from the file (names from keys, parsed hours, resolved
// paths). It reports every problem through d.
func validate(d *decoder, c *Config, dir string) {
	validateStore(d, &c.Store, dir)
	if c.Sounds.Custom != "" {
		if !filepath.IsAbs(c.Sounds.Custom) {
			c.Sounds.Custom = filepath.Join(dir, c.Sounds.Custom)
		}
		if fi, err := os.Stat(c.Sounds.Custom); err != nil || !fi.IsDir() {
			d.report("sounds.custom", "%q is not a folder", c.Sounds.Custom)
		}
	}
	if _, err := hostPort(c.HTTP.Listen, ""); err != nil {
		d.report("http.listen", "%v", err)
	}
	servers := validatePBX(d, &c.PBX)

	for _, id := range sortedKeys(c.Agents) {
		validateAgent(d, join("agents", id), id, c.Agents[id])
	}
	checkAgentPBX(d, c, servers)
	endpoints := make(map[string]string)
	for _, id := range sortedKeys(c.Agents) {
		a := c.Agents[id]
		if other, dup := endpoints[a.Endpoint]; dup && a.Endpoint != "" {
			d.report(join("agents", id)+".endpoint", "%q is also the endpoint of agent %q", a.Endpoint, other)
		}
		endpoints[a.Endpoint] = id
	}

	if len(c.Queues) == 0 {
		d.report("queues", "at least one queue is required")
	}
	for _, name := range sortedKeys(c.Queues) {
		validateQueue(d, join("queues", name), name, c.Queues[name], c.Agents)
	}
	validateNotify(d, c.Notify)
}

func validateStore(d *decoder, s *Store, dir string) {
	switch {
	case s.Path == "":
		d.report("store.path", "a database path is required")
	case s.Path == ":memory:" || strings.HasPrefix(s.Path, "file:"):
	case !filepath.IsAbs(s.Path):
		s.Path = filepath.Join(dir, s.Path)
	}
}

// validatePBX checks the servers and returns their names, each with the
// path of the server it names ("pbx.asterisk[0]").
func validatePBX(d *decoder, p *PBX) map[string]string {
	names := make(map[string]string) // name → path of its first use
	checkName := func(path, name string) {
		switch first, dup := names[name]; {
		case name == "":
			d.report(path, "a name is required")
		case dup:
			d.report(path, "%q is already the name of %s", name, first)
		default:
			names[name] = parent(path)
		}
	}
	for i := range p.Asterisk {
		a := &p.Asterisk[i]
		path := fmt.Sprintf("pbx.asterisk[%d]", i)
		checkName(path+".name", a.Name)
		if u, err := ariURL(a.URL); err != nil {
			d.report(path+".url", "%v", err)
		} else {
			a.URL = u
		}
		if a.Username == "" {
			d.report(path+".username", "a username is required (ari.conf)")
		}
		if a.Password == "" {
			d.report(path+".password", "a password is required (ari.conf)")
		}
		if !stasisApp.MatchString(a.App) {
			d.report(path+".app", "%q is not a Stasis application name (letters, digits, '.', '_', '-')", a.App)
		}
	}
	for i := range p.FreeSWITCH {
		f := &p.FreeSWITCH[i]
		path := fmt.Sprintf("pbx.freeswitch[%d]", i)
		checkName(path+".name", f.Name)
		if addr, err := hostPort(f.Address, "8021"); err != nil {
			d.report(path+".address", "%v", err)
		} else {
			f.Address = addr
		}
		if f.Password == "" {
			d.report(path+".password", "a password is required (event_socket.conf.xml)")
		}
	}
	for i, a := range p.Asterisk {
		for j, r := range a.Reaches {
			rp := fmt.Sprintf("pbx.asterisk[%d].reaches[%d]", i, j)
			switch first, ok := names[r]; {
			case !ok:
				d.report(rp, "%q is not the name of a server under pbx.asterisk", r)
			case !strings.HasPrefix(first, "pbx.asterisk["):
				d.report(rp, "%q is %s: reaches lists Asterisk servers, whose agents' endpoints this one can dial", r, first)
			}
		}
	}
	return names
}

// checkAgentPBX homes every agent on a server: the one named by pbx, or the
// first configured (Asterisk before FreeSWITCH).
func checkAgentPBX(d *decoder, c *Config, servers map[string]string) {
	home := ""
	switch {
	case len(c.PBX.Asterisk) > 0:
		home = c.PBX.Asterisk[0].Name
	case len(c.PBX.FreeSWITCH) > 0:
		home = c.PBX.FreeSWITCH[0].Name
	}
	for _, id := range sortedKeys(c.Agents) {
		a := c.Agents[id]
		switch _, ok := servers[a.PBX]; {
		case a.PBX == "":
			a.PBX = home
		case ok:
		case len(servers) == 0:
			d.report(join("agents", id)+".pbx", "%q: no server is configured under pbx", a.PBX)
		default:
			d.report(join("agents", id)+".pbx", "%q is not the name of a server under pbx (%s)", a.PBX, strings.Join(sortedKeys(servers), ", "))
		}
	}
}

// ariURL checks an ARI base URL and drops a trailing slash.
func ariURL(raw string) (string, error) {
	if raw == "" {
		return "", errors.New(`a URL is required, such as "http://127.0.0.1:8088/ari"`)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http:// or https:// URL, such as \"http://127.0.0.1:8088/ari\"", raw)
	}
	return strings.TrimSuffix(raw, "/"), nil
}

// hostPort checks host:port, adding defaultPort when the port is left out (if
// there is a default).
func hostPort(addr, defaultPort string) (string, error) {
	if addr == "" {
		return "", errors.New("an address host:port is required")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil && defaultPort != "" {
		host, port, err = net.SplitHostPort(net.JoinHostPort(strings.Trim(addr, "[]"), defaultPort))
	}
	if err != nil {
		return "", fmt.Errorf("%q is not host:port (write \":8080\" for every address)", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("%q: port %q is not a number from 0 to 65535", addr, port)
	}
	return net.JoinHostPort(host, port), nil
}

func validateAgent(d *decoder, path, id string, a *Agent) {
	a.ID = id
	if a.Name == "" {
		a.Name = id
	}
	if !agentID.MatchString(id) {
		d.report(path, "agent id %q must be letters, digits, '.', '_' or '-'", id)
	}
	if !strings.Contains(a.Endpoint, "/") {
		d.report(path+".endpoint", "%q is not a dial string (want technology/resource, such as \"PJSIP/1001\")", a.Endpoint)
	}
}

func validateQueue(d *decoder, path, name string, q *Queue, agents map[string]*Agent) {
	q.Name = name
	if !queueName.MatchString(name) {
		d.report(path, "queue name %q must be lower-case letters, digits, '_' or '-', starting with a letter or digit", name)
	}
	checkCallerID(d, path+".caller_id", q.CallerID)

	if len(q.Agents) == 0 {
		d.report(path+".agents", "at least one agent is required")
	}
	listed := make(map[string]bool)
	for i, id := range q.Agents {
		ip := fmt.Sprintf("%s.agents[%d]", path, i)
		switch {
		case agents[id] == nil:
			d.report(ip, "agent %q is not defined under agents", id)
		case listed[id]:
			d.report(ip, "agent %q is listed twice", id)
		}
		listed[id] = true
	}

	sched, err := hours.Parse(q.Hours.Timezone, q.Hours.Open, q.Hours.Holidays)
	var herrs hours.Errors
	switch {
	case errors.As(err, &herrs):
		for _, fe := range herrs {
			d.report(path+".hours."+fe.Field, "%v", fe.Err)
		}
	case err != nil:
		d.report(path+".hours", "%v", err)
	default:
		q.Hours.Schedule = sched
	}

	e := &q.Estimate
	if e.HandleTime <= 0 {
		d.report(path+".estimate.handle_time", "must be more than 0")
	}
	if e.Smoothing <= 0 || e.Smoothing > 1 {
		d.report(path+".estimate.smoothing", "%v is not in 0 < smoothing <= 1", e.Smoothing)
	}
	if e.Quantile <= 0.5 || e.Quantile >= 1 {
		d.report(path+".estimate.quantile", "%v is not in 0.5 < quantile < 1", e.Quantile)
	}

	o := &q.Offer
	if o.MaxOutstanding < 1 {
		d.report(path+".offer.max_outstanding", "must be at least 1 (set offer.enabled: false to offer no callbacks)")
	}
	if o.Horizon <= 0 {
		d.report(path+".offer.horizon", "must be more than 0")
	} else if o.Horizon < o.MinWait && !d.isFailed(path+".offer.min_wait") {
		d.report(path+".offer.horizon", "%s is shorter than min_wait (%s), so no callback would ever be offered",
			shortDuration(o.Horizon), shortDuration(o.MinWait))
	}

	cb := &q.Callback
	if cb.MaxAttempts < 1 {
		d.report(path+".callback.max_attempts", "must be at least 1")
	}
	if cb.MaxAttempts > 1 && len(cb.RetryDelays) == 0 {
		d.report(path+".callback.retry_delays", "at least one delay is required when max_attempts is more than 1")
	}
	for i, delay := range cb.RetryDelays {
		if delay <= 0 {
			d.report(fmt.Sprintf("%s.callback.retry_delays[%d]", path, i), "must be more than 0")
		}
	}
	if cb.RingTimeout <= 0 {
		d.report(path+".callback.ring_timeout", "must be more than 0")
	}
	checkCallerID(d, path+".callback.caller_id", cb.CallerID)
	if !strings.Contains(cb.DialString, "{number}") || !strings.Contains(cb.DialString, "/") {
		d.report(path+".callback.dial_string", "%q must be a dial string containing {number}, such as \"PJSIP/{number}@trunk\"", cb.DialString)
	}
	if cb.AgentRingTimeout <= 0 {
		d.report(path+".callback.agent_ring_timeout", "must be more than 0")
	}
	if cb.ConfirmTimeout <= 0 {
		d.report(path+".callback.confirm_timeout", "must be more than 0")
	}
	if q.Hold.AnnounceEvery < 10*time.Second {
		d.report(path+".hold.announce_every", "%s is too often to repeat an announcement (at least 10s)", shortDuration(q.Hold.AnnounceEvery))
	}
	if q.Hold.MOHClass == "" {
		d.report(path+".hold.moh_class", "a music-on-hold class is required (\"default\" on a stock PBX)")
	}

	p := &q.Promise
	keys := map[string]int{}
	for i, r := range q.Qualify.Reasons {
		rp := fmt.Sprintf("%s.qualify.reasons[%d]", path, i)
		if len(r.Key) != 1 || !strings.Contains("0123456789", r.Key) {
			d.report(rp+".key", "%q is not a single key 0-9", r.Key)
		} else if first, dup := keys[r.Key]; dup {
			d.report(rp+".key", "key %s is already used by reasons[%d]", r.Key, first)
		} else {
			keys[r.Key] = i
		}
		if p.Categories[r.Category] == nil {
			d.report(rp+".category", "category %q is not defined under promise.categories", r.Category)
		}
		if r.Prompt == "" {
			d.report(rp+".prompt", "a prompt is required (the catalog key that names this choice)")
		}
	}
	for _, c := range sortedKeys(p.Categories) {
		if !category.MatchString(c) {
			d.report(join(path+".promise.categories", c), "category name %q must be lower-case letters, digits, '_' or '-'", c)
		}
		for _, lang := range sortedKeys(p.Categories[c].Messages) {
			if err := CheckMessage(p.Categories[c].Messages[lang]); err != nil {
				d.report(join(join(path+".promise.categories", c)+".messages", lang), "%v", err)
			}
		}
	}
	if p.Categories[p.DefaultCategory] == nil {
		d.report(path+".promise.default_category", "category %q is not defined under promise.categories", p.DefaultCategory)
	}
}

func checkCallerID(d *decoder, path, id string) {
	if id != "" && !callerID.MatchString(id) {
		d.report(path, "%q is not a phone number (want E.164 such as \"+34911234567\", or digits)", id)
	}
}

// shortDuration writes a duration as an admin would: "2m", not "2m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
