package esltest

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// traceDir holds the recorded FreeSWITCH traces, outside the module
// (DESIGN.md: the shared folder next to the repository).
const traceDir = "../../../../shared/pbx/freeswitch/traces"

// wireRecord is one line of a *.wire.jsonl: one TCP read of the recording
// proxy (traces README, "Files for each scenario").
type wireRecord struct {
	Seq  int     `json:"seq"`
	T    string  `json:"t"`
	RelS float64 `json:"rel_s"`
	Conn string  `json:"conn"`
	Dir  string  `json:"dir"`
	Data string  `json:"data"`
}

// wireMsg is one ESL message of a trace (or of the fake), re-framed from
// the TCP stream: the outer header block and Content-Length bytes of body.
type wireMsg struct {
	idx     int       // position in the trace's wire order
	rel     float64   // rel_s of the read that completed it
	start   time.Time // when the scenario started (t - rel_s)
	conn    string    // "in#1", "out#1"
	fromApp bool      // app->fs: the client's
	raw     string    // the exact bytes, leading stray line ends included
	hdrs    []header
	body    string
}

func (m *wireMsg) get(name string) string {
	for _, h := range m.hdrs {
		if h.name == name {
			return h.value
		}
	}
	return ""
}

func (m *wireMsg) contentType() string { return m.get("Content-Type") }

// isEvent says whether the message is an event (plain or JSON).
func (m *wireMsg) isEvent() bool {
	ct := m.contentType()
	return ct == "text/event-plain" || ct == "text/event-json"
}

// frame cuts complete messages off buf. A header block ends at the first
// empty line, "\n\n" or "\r\n\r\n" (traces README fact 1); stray line ends
// before a block belong to the next message.
func frame(buf string) (msgs []string, rest string) {
	for {
		i := 0
		for i < len(buf) && (buf[i] == '\r' || buf[i] == '\n') {
			i++
		}
		if i == len(buf) {
			return msgs, buf
		}
		end, sep := -1, 0
		if j := strings.Index(buf[i:], "\n\n"); j >= 0 {
			end, sep = i+j, 2
		}
		if j := strings.Index(buf[i:], "\r\n\r\n"); j >= 0 && (end < 0 || i+j < end) {
			end, sep = i+j, 4
		}
		if end < 0 {
			return msgs, buf
		}
		head := buf[i:end]
		cl := 0
		for _, line := range strings.Split(strings.ReplaceAll(head, "\r\n", "\n"), "\n") {
			if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
				cl, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
		total := end + sep + cl
		if len(buf) < total {
			return msgs, buf
		}
		msgs = append(msgs, buf[:total])
		buf = buf[total:]
	}
}

// parseMsg splits a framed message into its outer headers and body.
func parseMsg(raw string) ([]header, string) {
	s := strings.TrimLeft(raw, "\r\n")
	end, sep := strings.Index(s, "\n\n"), 2
	if j := strings.Index(s, "\r\n\r\n"); j >= 0 && (end < 0 || j < end) {
		end, sep = j, 4
	}
	if end < 0 {
		end, sep = len(s), 0
	}
	var hs []header
	for _, line := range strings.Split(strings.ReplaceAll(s[:end], "\r\n", "\n"), "\n") {
		name, value, ok := strings.Cut(line, ": ")
		if !ok {
			name = strings.TrimSuffix(line, ":")
			value = ""
		}
		hs = append(hs, header{name, value})
	}
	return hs, s[end+sep:]
}

// loadTrace reads a *.wire.jsonl into ESL messages in wire order.
func loadTrace(t *testing.T, name string) []*wireMsg {
	t.Helper()
	f, err := os.Open(filepath.Join(traceDir, name))
	if err != nil {
		t.Skipf("trace %s not available (%v): the conformance tests need shared/pbx/freeswitch/traces next to the repository", name, err)
	}
	defer f.Close()
	bufs := map[string]string{}
	var out []*wireMsg
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r wireRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		at, err := time.Parse(time.RFC3339Nano, r.T)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		start := at.Add(-time.Duration(r.RelS * float64(time.Second)))
		key := r.Conn + " " + r.Dir
		msgs, rest := frame(bufs[key] + r.Data)
		bufs[key] = rest
		for _, raw := range msgs {
			hs, body := parseMsg(raw)
			out = append(out, &wireMsg{idx: len(out), rel: r.RelS, start: start, conn: r.Conn, fromApp: r.Dir == "app->fs", raw: raw, hdrs: hs, body: body})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// evFields is an event's own headers (values decoded) and body.
type evFields struct {
	hdrs    []header
	body    string
	hasBody bool
}

func (e *evFields) get(name string) string {
	for _, h := range e.hdrs {
		if h.name == name {
			return h.value
		}
	}
	return ""
}

// has says whether name is present.
func (e *evFields) has(name string) bool {
	for _, h := range e.hdrs {
		if h.name == name {
			return true
		}
	}
	return false
}

// eventFields parses an event message: a plain event's inner block, URL-
// decoded, with its inner body; a JSON event's members in order.
func eventFields(m *wireMsg) (*evFields, error) {
	if m.contentType() == "text/event-json" {
		return jsonFields(m.body)
	}
	return plainFields(m.body, true), nil
}

// plainFields parses "Name: value" lines up to an empty line, then an
// inner Content-Length body.
func plainFields(s string, decode bool) *evFields {
	e := &evFields{}
	head, rest, _ := strings.Cut(s, "\n\n")
	lines := strings.Split(head, "\n")
	for i, line := range lines {
		name, value, ok := strings.Cut(line, ": ")
		if !ok {
			name, value = strings.TrimSuffix(line, ":"), ""
		}
		if name == "Content-Length" && i == len(lines)-1 {
			e.hasBody = true
			e.body = rest
			continue
		}
		if decode {
			value = urlDecode(value)
		}
		e.hdrs = append(e.hdrs, header{name, value})
	}
	return e
}

// jsonFields decodes a JSON event keeping member order (duplicates too).
func jsonFields(s string) (*evFields, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	e := &evFields{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		vt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := kt.(string)
		v, _ := vt.(string)
		if k == "_body" {
			e.body, e.hasBody = v, true
			continue
		}
		e.hdrs = append(e.hdrs, header{k, v})
	}
	return e, nil
}
