package esltest

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// The comparison of a trace message with the fake's. Everything is compared
// exactly, after these relaxations, each for a value the fake cannot or
// need not reproduce:
//
//   - uuids: FreeSWITCH chooses Unique-IDs, Job-UUIDs, Application-UUIDs,
//     Event-UUIDs and its Core-UUID at random. Every uuid in a trace value
//     is mapped to the fake's the first time it appears, and must map the
//     same way everywhere after (uuidRE). uuids the client chose
//     (origination_uuid, its own Job-UUID and Event-UUID) are sent as they
//     are, so they map to themselves.
//   - time: Event-Date-Local, Event-Date-GMT, Event-Date-Timestamp, the
//     caller profile's *-Time headers and the CDR's *_stamp/*_epoch/
//     *_uepoch values are compared by format only: the replay's clock
//     follows the trace's, but FreeSWITCH stamps on its 20 ms timer and
//     microseconds apart. Caller-*-Time must still be 0 exactly where the
//     trace's is (not answered yet, not bridged, not hung up).
//   - Event-Sequence: FreeSWITCH's counter had reached the hundreds; only
//     the order matters, checked apart (replay.checkSequence): any two
//     events must be numbered in the same order as in the trace, which
//     also checks that numbers reach the wire out of order where the
//     trace's do (the API event after the events its command caused).
//   - variables: every event must carry the same variable names as the
//     trace's, in any order (FreeSWITCH moves a variable to the end when
//     it sets it again, and the fake does not track every such move), and
//     the same values except those freeVar lists: values that come from
//     the SIP and RTP stacks (tags, Call-IDs, ports, SDP, RTP counters)
//     or from timing (how far a prompt got, durations).
//   - the bodies of status and uptime (counters and durations of another
//     FreeSWITCH), and log/data's timestamp and CPU figure.
//   - Caller-Transfer-Source and transfer_history/transfer_source:
//     "<epoch>:<uuid>:uuid_br:<other uuid>", the epoch by format.
//   - Other-Leg-*-Time: FreeSWITCH copies the peer's profile at moments
//     the trace does not show (some copies have every time 0); by format
//     only, and not even their zero-ness.
//   - the outbound socket's address in the socket application's data: the
//     lab's 127.0.0.1:8084 is the replay's own listener on a free port
//     (ids.fixed).
//
// FreeSWITCH-Hostname, -Switchname, -IPv4 and -IPv6 need no relaxation:
// the fake's defaults are the traced host's.

// uuidRE matches a FreeSWITCH uuid.
var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// ids maps trace uuids to the fake's, both ways.
type ids struct {
	fwd map[string]string
	rev map[string]string
	// fixed are literal replacements made in trace values before they are
	// compared: the outbound socket address, 127.0.0.1:8084 in the lab,
	// is the replay's own listener (a free port).
	fixed [][2]string
}

func newIDs() *ids { return &ids{fwd: map[string]string{}, rev: map[string]string{}} }

func (x *ids) learn(tr, fake string) bool {
	if m, ok := x.fwd[tr]; ok {
		return m == fake
	}
	if m, ok := x.rev[fake]; ok && m != tr {
		return false
	}
	x.fwd[tr], x.rev[fake] = fake, tr
	return true
}

// subst replaces the trace uuids the mapping knows.
func (x *ids) subst(s string) string {
	return uuidRE.ReplaceAllStringFunc(s, func(u string) string {
		if v, ok := x.fwd[u]; ok {
			return v
		}
		return u
	})
}

// match compares a trace string with the fake's: equal once uuids are
// mapped; unknown trace uuids are learnt from the fake's string.
func (x *ids) match(exp, act string) bool {
	for _, f := range x.fixed {
		exp = strings.ReplaceAll(exp, f[0], f[1])
	}
	locs := uuidRE.FindAllStringIndex(exp, -1)
	if len(locs) == 0 {
		return exp == act
	}
	var pat strings.Builder
	var unknown []string
	last := 0
	for _, l := range locs {
		pat.WriteString(regexp.QuoteMeta(exp[last:l[0]]))
		u := exp[l[0]:l[1]]
		if m, ok := x.fwd[u]; ok {
			pat.WriteString(regexp.QuoteMeta(m))
		} else {
			pat.WriteString("(" + uuidRE.String() + ")")
			unknown = append(unknown, u)
		}
		last = l[1]
	}
	pat.WriteString(regexp.QuoteMeta(exp[last:]))
	m := regexp.MustCompile("^" + pat.String() + "$").FindStringSubmatch(act)
	if m == nil {
		return false
	}
	trial := x.clone()
	for i, u := range unknown {
		if !trial.learn(u, m[i+1]) {
			return false
		}
	}
	x.fwd, x.rev = trial.fwd, trial.rev
	return true
}

// freeVar says whether a variable's value comes from the SIP or RTP stack
// or from timing, so that the fake's value cannot be the trace's: SIP tags,
// Call-IDs, CSeqs, Via branches and the headers carrying them; the sipp
// scenario's Subject; the session counter; RTP ports, SSRCs and SDP
// bodies; the RTP counters; how far a prompt got (playback_ms and
// friends) and the CDR's durations. Such variables must be present where
// the trace has them, with any value; every other variable is compared.
func freeVar(v string) bool {
	switch v {
	case "sip_from_tag", "sip_to_tag", "sip_call_id", "sip_cseq", "sip_full_via", "sip_recover_via",
		"sip_full_from", "sip_full_to", "sip_subject", "session_id", "local_media_port",
		"rtp_local_sdp_str", "rtp_use_ssrc", "switch_r_sdp", "remote_media_port", "sip_invite_stamp",
		"playback_ms", "playback_samples", "playback_seconds", "playback_last_offset_pos",
		"record_ms", "record_seconds":
		return true
	}
	if strings.HasPrefix(v, "rtp_audio_") {
		return true
	}
	for _, suffix := range []string{"duration", "sec", "msec", "usec"} {
		if strings.HasSuffix(v, suffix) && !strings.HasPrefix(v, "hold_accum") {
			return true
		}
	}
	return false
}

var (
	dateLocalRE = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)
	dateGMTRE   = regexp.MustCompile(`^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$`)
	numRE       = regexp.MustCompile(`^\d+$`)
	xferRE      = regexp.MustCompile(`^\d+:` + uuidRE.String() + `:uuid_br:(` + uuidRE.String() + `)$`)
)

// diffs collects the differences of one message.
type diffs struct {
	what []string
}

func (d *diffs) add(format string, args ...any) {
	d.what = append(d.what, fmt.Sprintf(format, args...))
}

// isTimeName says whether a header carries a time (compared by format).
func isTimeName(name string) bool {
	switch name {
	case "Event-Date-Timestamp":
		return true
	}
	if strings.HasPrefix(name, "variable_") {
		v := strings.TrimPrefix(name, "variable_")
		return strings.HasSuffix(v, "_epoch") || strings.HasSuffix(v, "_uepoch") || strings.HasSuffix(v, "_stamp")
	}
	return strings.HasSuffix(name, "-Time") && (strings.HasPrefix(name, "Caller-") || strings.HasPrefix(name, "Other-Leg-") || strings.HasPrefix(name, "Channel-"))
}

// value compares one header value.
func (x *ids) value(d *diffs, name, exp, act string) {
	switch {
	case name == "Event-Date-Local":
		if !dateLocalRE.MatchString(act) {
			d.add("%s: %q is not a local date", name, act)
		}
	case name == "Event-Date-GMT":
		if !dateGMTRE.MatchString(act) {
			d.add("%s: %q is not a GMT date", name, act)
		}
	case name == "Event-Sequence":
		if !numRE.MatchString(act) {
			d.add("%s: %q is not a number", name, act)
		}
	case isTimeName(name):
		if strings.HasSuffix(name, "_stamp") {
			if !dateLocalRE.MatchString(act) {
				d.add("%s: %q is not a date", name, act)
			}
		} else if !numRE.MatchString(act) {
			d.add("%s: %q is not a number", name, act)
		} else if strings.HasPrefix(name, "Caller-") && (exp == "0") != (act == "0") {
			d.add("%s: %q, want %s", name, act, map[bool]string{true: "0", false: "a time"}[exp == "0"])
		}
	case name == "Caller-Transfer-Source" || name == "variable_transfer_history" || name == "variable_transfer_source":
		em, am := xferRE.FindStringSubmatch(exp), xferRE.FindStringSubmatch(act)
		if em == nil || am == nil || !x.match(em[1], am[1]) {
			d.add("%s: got %q, want the shape of %q", name, act, exp)
		}
	default:
		if !x.match(exp, act) {
			d.add("%s: got %q, want %q", name, act, x.subst(exp))
		}
	}
}

// compareFields compares an event's (or the connect reply's) headers:
// the names of everything but variables in order, their values, and the
// significant variables.
func (x *ids) compareFields(d *diffs, exp, act *evFields) {
	names := func(e *evFields) []string {
		var out []string
		for _, h := range e.hdrs {
			if !strings.HasPrefix(h.name, "variable_") {
				out = append(out, h.name)
			}
		}
		return out
	}
	en, an := names(exp), names(act)
	if !slices.Equal(en, an) {
		d.add("headers differ: %s", listDiff(en, an))
	}
	// Values of the non-variable headers, pairing the i-th occurrence of
	// each name.
	seen := map[string]int{}
	for _, h := range exp.hdrs {
		if strings.HasPrefix(h.name, "variable_") {
			continue
		}
		k := seen[h.name]
		seen[h.name]++
		av, ok := nth(act.hdrs, h.name, k)
		if !ok {
			continue
		}
		x.value(d, h.name, h.value, av)
	}
	// Variables: the same names (in any order); values only for the
	// significant ones.
	varNames := func(e *evFields) []string {
		var out []string
		for _, h := range e.hdrs {
			if strings.HasPrefix(h.name, "variable_") {
				out = append(out, h.name)
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	ev, av := varNames(exp), varNames(act)
	for _, n := range ev {
		if _, ok := slices.BinarySearch(av, n); !ok {
			d.add("%s missing", n)
		}
	}
	for _, n := range av {
		if _, ok := slices.BinarySearch(ev, n); !ok {
			d.add("%s, which the trace does not have here", n)
		}
	}
	for _, h := range exp.hdrs {
		v, ok := strings.CutPrefix(h.name, "variable_")
		if !ok || freeVar(v) {
			continue
		}
		if av, ok := nth(act.hdrs, h.name, 0); ok {
			x.value(d, h.name, h.value, av)
		}
	}
	if exp.hasBody != act.hasBody {
		d.add("body: trace has one %v, fake %v", exp.hasBody, act.hasBody)
	} else if exp.hasBody && !x.match(exp.body, act.body) {
		d.add("body: got %q, want %q", act.body, x.subst(exp.body))
	}
}

// nth returns the k-th value of name.
func nth(hs []header, name string, k int) (string, bool) {
	for _, h := range hs {
		if h.name == name {
			if k == 0 {
				return h.value, true
			}
			k--
		}
	}
	return "", false
}

// listDiff describes two name lists' first difference.
func listDiff(exp, act []string) string {
	i := 0
	for i < len(exp) && i < len(act) && exp[i] == act[i] {
		i++
	}
	tail := func(l []string) string {
		if i >= len(l) {
			return "(end)"
		}
		end := min(i+4, len(l))
		return strings.Join(l[i:end], " ")
	}
	var missing, extra []string
	for _, n := range exp {
		if !slices.Contains(act, n) {
			missing = append(missing, n)
		}
	}
	for _, n := range act {
		if !slices.Contains(exp, n) {
			extra = append(extra, n)
		}
	}
	return fmt.Sprintf("at %d: got [%s], want [%s]; missing %v, extra %v", i, tail(act), tail(exp), missing, extra)
}

var (
	statusRE = regexp.MustCompile(`^UP \d+ years?, \d+ days?, \d+ hours?, \d+ minutes?, \d+ seconds?, \d+ milliseconds?, \d+ microseconds?\nFreeSWITCH \(Version 1\.10\.12-release  64bit\) is ready\n\d+ session\(s\) since startup\n\d+ session\(s\) - peak \d+, last 5min \d+ \n\d+ session\(s\) per Sec out of max 30, peak \d+, last 5min \d+ \n100 session\(s\) max\nmin idle cpu \d+\.\d\d/\d+\.\d\d\nCurrent Stack Size/Max 240K/8192K\n$`)
	uptimeRE = regexp.MustCompile(`^\d+\n$`)
	logRE    = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} \d+\.\d\d% `)
)

// compareMsg compares a trace message with the fake's; cmd is the client
// command it answers, for the bodies that vary (status, uptime).
func (x *ids) compareMsg(exp, act *wireMsg, cmd string) []string {
	d := &diffs{}
	if exp.isEvent() {
		if act.contentType() != exp.contentType() {
			d.add("Content-Type %q, want %q", act.contentType(), exp.contentType())
			return d.what
		}
		outer := func(m *wireMsg) []string {
			var out []string
			for _, h := range m.hdrs {
				out = append(out, h.name)
			}
			return out
		}
		if !slices.Equal(outer(exp), outer(act)) {
			d.add("outer headers %v, want %v", outer(act), outer(exp))
		}
		ef, err1 := eventFields(exp)
		af, err2 := eventFields(act)
		if err1 != nil || err2 != nil {
			d.add("unparsable event: %v %v", err1, err2)
			return d.what
		}
		x.compareFields(d, ef, af)
		return d.what
	}
	if exp.get("Event-Name") == "CHANNEL_DATA" {
		// The outbound connect reply: the channel as one header block,
		// URL-encoded (05-outbound-mode.esl.txt).
		dec := func(m *wireMsg) *evFields {
			e := &evFields{}
			for _, h := range m.hdrs {
				e.hdrs = append(e.hdrs, header{h.name, urlDecode(h.value)})
			}
			return e
		}
		x.compareFields(d, dec(exp), dec(act))
		return d.what
	}
	en, an := make([]string, 0, len(exp.hdrs)), make([]string, 0, len(act.hdrs))
	for _, h := range exp.hdrs {
		en = append(en, h.name)
	}
	for _, h := range act.hdrs {
		an = append(an, h.name)
	}
	if !slices.Equal(en, an) {
		d.add("headers %v, want %v", an, en)
		return d.what
	}
	api := exp.contentType() == "api/response"
	for i, h := range exp.hdrs {
		av := act.hdrs[i].value
		switch {
		case h.name == "Content-Length" && api && (strings.HasPrefix(cmd, "api status") || strings.HasPrefix(cmd, "api uptime")):
		case h.name == "Content-Length" && exp.contentType() == "log/data":
		default:
			x.value(d, h.name, h.value, av)
		}
	}
	switch {
	case api && strings.HasPrefix(cmd, "api status"):
		if !statusRE.MatchString(act.body) {
			d.add("status body %q", act.body)
		}
	case api && strings.HasPrefix(cmd, "api uptime"):
		if !uptimeRE.MatchString(act.body) {
			d.add("uptime body %q", act.body)
		}
	case exp.contentType() == "log/data":
		if !logRE.MatchString(act.body) || logRE.ReplaceAllString(act.body, "") != logRE.ReplaceAllString(exp.body, "") {
			d.add("log/data body %q, want %q", act.body, exp.body)
		}
	default:
		if !x.match(exp.body, act.body) {
			d.add("body %q, want %q", act.body, x.subst(exp.body))
		}
	}
	return d.what
}
