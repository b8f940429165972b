package esltest

import (
	"bufio"
	"strings"
	"testing"
)

var traceFiles = []string{
	"01-inbound-dtmf.wire.jsonl", "02-hold.wire.jsonl", "03-originate-answer.wire.jsonl",
	"04-originate-fail.wire.jsonl", "05-outbound-mode.wire.jsonl", "06-errors.wire.jsonl",
}

// TestEventSerialisationMatchesTraces rebuilds every traced event from its
// decoded headers and body with the fake's serialiser and checks the bytes
// are FreeSWITCH's: the outer block, the URL encoding of every plain value
// (traces README fact 3), the inner Content-Length and body, and cJSON's
// escaping and member order for JSON events.
func TestEventSerialisationMatchesTraces(t *testing.T) {
	t.Parallel()
	n := 0
	for _, file := range traceFiles {
		for _, m := range loadTrace(t, file) {
			if m.fromApp || !m.isEvent() {
				continue
			}
			f, err := eventFields(m)
			if err != nil {
				t.Fatalf("%s %d: %v", file, m.idx, err)
			}
			e := &event{headers: f.hdrs, body: f.body, hasBody: f.hasBody}
			var got []byte
			if m.contentType() == "text/event-json" {
				got = e.json()
			} else {
				got = e.plain()
			}
			if string(got) != strings.TrimLeft(m.raw, "\r\n") {
				t.Errorf("%s message %d (%s):\n got %q\nwant %q", file, m.idx, f.get("Event-Name"), firstDiff(string(got), m.raw), firstDiff(m.raw, string(got)))
			}
			n++
		}
	}
	t.Logf("%d events re-serialised byte for byte", n)
}

// firstDiff shows a from where it differs from b.
func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	start := max(0, i-40)
	return a[start:min(len(a), i+60)]
}

// TestReplyFraming checks the fake's fixed replies against the traces'
// bytes.
func TestReplyFraming(t *testing.T) {
	t.Parallel()
	want := map[string]bool{}
	for _, file := range traceFiles {
		for _, m := range loadTrace(t, file) {
			if !m.fromApp && !m.isEvent() {
				want[m.raw] = true
			}
		}
	}
	for name, b := range map[string][]byte{
		"auth/request":         authRequest(),
		"+OK accepted":         commandReply("+OK accepted"),
		"-ERR invalid":         commandReply("-ERR invalid"),
		"command not found":    commandReply("-ERR command not found"),
		"+OK bye":              commandReply("+OK bye"),
		"disconnect":           disconnectNotice(),
		"api -ERR No such":     apiResponse("-ERR No such channel!\n"),
		"api false":            apiResponse("false"),
		"enabled plain":        commandReply("+OK event listener enabled plain"),
		"enabled json":         commandReply("+OK event listener enabled json"),
		"will linger":          commandReply("+OK will linger 5 seconds"),
		"events enabled":       commandReply("+OK Events Enabled"),
		"invalid session id":   commandReply("-ERR invalid session id [00000000-0000-4000-8000-000000000000]"),
		"log level":            commandReply("+OK log level 7 [7]"),
		"api -USAGE uuid_kill": apiResponse("-USAGE: <uuid> [cause]\n"),
		"api originate usage":  apiResponse(originateUsage),
	} {
		if !want[string(b)] {
			t.Errorf("%s: %q is not in any trace", name, b)
		}
	}
}

// TestReadMessage reads the client side of every trace with the fake's
// reader: eslgo's \r\n\r\n, raw \n\n, bodies and stray line ends.
func TestReadMessage(t *testing.T) {
	t.Parallel()
	for _, file := range traceFiles {
		var stream strings.Builder
		var want []*wireMsg
		for _, m := range loadTrace(t, file) {
			if m.fromApp && (m.conn == "in#3" || m.conn == "out#1") {
				stream.WriteString(m.raw)
				want = append(want, m)
			}
		}
		br := bufio.NewReader(strings.NewReader(stream.String()))
		for i, w := range want {
			msg, err := readMessage(br)
			if err != nil {
				t.Fatalf("%s: message %d: %v", file, i, err)
			}
			if msg.command() != w.hdrs[0].name || msg.body != w.body {
				t.Errorf("%s: message %d is %q %q, want %q %q", file, i, msg.command(), msg.body, w.hdrs[0].name, w.body)
			}
		}
	}
}
