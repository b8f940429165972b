package aritest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// ordered is a JSON object with its members' order, so the comparison also
// checks that the fake writes members in Asterisk's order.
type ordered struct {
	keys []string
	vals map[string]any
}

// parseOrdered decodes JSON keeping object member order and numbers as text.
func parseOrdered(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := parseValue(dec)
	if err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data")
	}
	return v, nil
}

func parseValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch d := tok.(type) {
	case json.Delim:
		switch d {
		case '{':
			o := &ordered{vals: map[string]any{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k := kt.(string)
				v, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				o.keys = append(o.keys, k)
				o.vals[k] = v
			}
			_, err := dec.Token()
			return o, err
		case '[':
			a := []any{}
			for dec.More() {
				v, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			_, err := dec.Token()
			return a, err
		}
	}
	return tok, nil
}

// comparison compares an expected (trace) value with an actual (fake) one,
// learning id mappings into ids.
type comparison struct {
	ids     map[string]string
	lenient bool // a 201 playback: state queued or playing
	// anyState skips channel states: inside an anyOrder group the snapshot
	// in each event reflects the order it was sent in (a Dial RINGING sent
	// before ChannelStateChange Ringing shows the peer still Down).
	anyState bool
	diffs    []string
}

var (
	timeRE   = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$`)
	idOnlyRE = regexp.MustCompile(`^(\d{10}\.\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	nameRE   = regexp.MustCompile(`^(.+)-[0-9a-f]{8}(;\d)?$`)
)

func (c *comparison) diff(path, format string, args ...any) {
	c.diffs = append(c.diffs, path+": "+fmt.Sprintf(format, args...))
}

func (c *comparison) cmp(path string, exp, act any) {
	switch e := exp.(type) {
	case *ordered:
		a, ok := act.(*ordered)
		if !ok {
			c.diff(path, "got %v, want an object", act)
			return
		}
		if !slices.Equal(e.keys, a.keys) {
			c.diff(path, "members %v, want %v", a.keys, e.keys)
		}
		for _, k := range e.keys {
			if av, ok := a.vals[k]; ok {
				c.member(path+"."+k, k, e.vals[k], av)
			}
		}
	case []any:
		a, ok := act.([]any)
		if !ok {
			c.diff(path, "got %v, want an array", act)
			return
		}
		if len(a) != len(e) {
			c.diff(path, "got %d elements, want %d", len(a), len(e))
			return
		}
		for i := range e {
			c.cmp(fmt.Sprintf("%s[%d]", path, i), e[i], a[i])
		}
	case string:
		a, ok := act.(string)
		if !ok {
			c.diff(path, "got %v, want %q", act, e)
			return
		}
		c.str(path, e, a)
	default:
		if fmt.Sprint(exp) != fmt.Sprint(act) {
			c.diff(path, "got %v, want %v", act, exp)
		}
	}
}

// member compares one object member, with the allowances for values the fake
// cannot reproduce.
func (c *comparison) member(path, key string, exp, act any) {
	switch key {
	case "timestamp", "creationtime", "startup_time", "last_reload_time":
		if a, _ := act.(string); !timeRE.MatchString(a) {
			c.diff(path, "%v is not an Asterisk timestamp", act)
		}
		return
	case "protocol_id":
		if _, ok := act.(string); !ok {
			c.diff(path, "got %v, want a string", act)
		}
		return
	case "channels", "channel_ids", "bridge_ids":
		// Bridge member order follows Asterisk's hash containers
		// (callback-flow.jsonl seq 70): compare as sets.
		c.set(path, exp, act)
		return
	case "state":
		if c.lenient && (exp == "playing" || exp == "queued") && (act == "playing" || act == "queued") {
			return
		}
		if c.anyState && (strings.HasSuffix(path, ".channel.state") || strings.HasSuffix(path, ".peer.state")) {
			return
		}
	}
	c.cmp(path, exp, act)
}

// str compares strings: ids are mapped (learning unknown ones), channel names
// compared without their sequence suffix, BRIDGEPEER-like values likewise.
func (c *comparison) str(path, e, a string) {
	if !idOnlyRE.MatchString(e) && idRE.MatchString(e) {
		c.embedded(path, e, a)
		return
	}
	if idOnlyRE.MatchString(e) {
		if m, ok := c.ids[e]; ok {
			if m != a {
				c.diff(path, "got %q, want %q (trace %q)", a, m, e)
			}
			return
		}
		if !idOnlyRE.MatchString(a) {
			c.diff(path, "got %q, want an Asterisk id like %q", a, e)
			return
		}
		c.ids[e] = a
		return
	}
	if em := nameRE.FindStringSubmatch(e); em != nil && strings.Contains(e, "/") {
		am := nameRE.FindStringSubmatch(a)
		if am == nil || am[1] != em[1] || am[2] != em[2] {
			c.diff(path, "got %q, want a name like %q", a, e)
		}
		return
	}
	if e != a {
		c.diff(path, "got %q, want %q", a, e)
	}
}

// embedded compares strings with ids inside ("channel:1795258298.0"): mapped
// ids must match, unknown ones are learnt.
func (c *comparison) embedded(path, e, a string) {
	var pat strings.Builder
	var unknown []string
	last := 0
	for _, loc := range idRE.FindAllStringIndex(e, -1) {
		pat.WriteString(regexp.QuoteMeta(e[last:loc[0]]))
		id := e[loc[0]:loc[1]]
		if m, ok := c.ids[id]; ok {
			pat.WriteString(regexp.QuoteMeta(m))
		} else {
			pat.WriteString("(" + idRE.String() + ")")
			unknown = append(unknown, id)
		}
		last = loc[1]
	}
	pat.WriteString(regexp.QuoteMeta(e[last:]))
	m := regexp.MustCompile("^" + pat.String() + "$").FindStringSubmatch(a)
	if m == nil {
		c.diff(path, "got %q, want %q", a, e)
		return
	}
	for i, id := range unknown {
		c.ids[id] = m[i+1]
	}
}

// set compares two arrays of ids as sets, pairing unknown trace ids with the
// fake's leftovers in order.
func (c *comparison) set(path string, exp, act any) {
	e, ok1 := exp.([]any)
	a, ok2 := act.([]any)
	if !ok1 || !ok2 || len(e) != len(a) {
		c.diff(path, "got %v, want %v", render(act), render(exp))
		return
	}
	left := map[string]int{}
	for _, x := range a {
		left[fmt.Sprint(x)]++
	}
	var unknown []string
	for _, x := range e {
		s := fmt.Sprint(x)
		if m, ok := c.ids[s]; ok {
			s = m
		} else if idOnlyRE.MatchString(s) {
			unknown = append(unknown, s)
			continue
		}
		if left[s] == 0 {
			c.diff(path, "got %v, want %v", render(act), render(exp))
			return
		}
		left[s]--
	}
	rest := []string{}
	for _, k := range slices.Sorted(maps.Keys(left)) {
		for range left[k] {
			rest = append(rest, k)
		}
	}
	for i, u := range unknown {
		c.ids[u] = rest[i]
	}
}

func render(v any) string {
	switch x := v.(type) {
	case []any:
		var parts []string
		for _, e := range x {
			parts = append(parts, render(e))
		}
		return "[" + strings.Join(parts, ",") + "]"
	case *ordered:
		var parts []string
		for _, k := range x.keys {
			parts = append(parts, k+":"+render(x.vals[k]))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return fmt.Sprint(v)
}

// compareJSON reports the differences between a trace body and the fake's.
func (r *replay) compareJSON(seq int, what string, exp json.RawMessage, act []byte, lenient bool) {
	r.compareJSONWith(seq, what, exp, act, &comparison{lenient: lenient})
}

func (r *replay) compareJSONWith(seq int, what string, exp json.RawMessage, act []byte, c *comparison) {
	ev, err := parseOrdered(exp)
	if err != nil {
		r.t.Fatalf("seq %d: trace JSON: %v", seq, err)
	}
	av, err := parseOrdered(act)
	if err != nil {
		r.t.Errorf("seq %d: %s: not JSON: %q", seq, what, act)
		return
	}
	c.ids = r.ids
	c.cmp("", ev, av)
	for _, d := range c.diffs {
		r.t.Errorf("seq %d: %s: %s", seq, what, d)
	}
}

// matches says whether act matches exp, without learning ids unless it does.
func (r *replay) matches(exp json.RawMessage, act []byte, anyState bool) bool {
	ev, err1 := parseOrdered(exp)
	av, err2 := parseOrdered(act)
	if err1 != nil || err2 != nil {
		return false
	}
	trial := &comparison{ids: maps.Clone(r.ids), anyState: anyState}
	trial.cmp("", ev, av)
	return len(trial.diffs) == 0
}
