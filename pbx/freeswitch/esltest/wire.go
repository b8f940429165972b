package esltest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// header is one "Name: value" line of an ESL message or event, in order.
// Names repeat (CHANNEL_HANGUP_COMPLETE carries Hangup-Cause twice,
// 01-inbound-dtmf.esl.txt), so messages keep a slice, not a map.
type header struct {
	name, value string
}

// message is one ESL message as the client sent it: the header block (its
// first line is the command, "api uuid_answer <uuid>", as a header with an
// empty value) and the Content-Length body.
type message struct {
	headers []header
	body    string
}

// get returns the first value of name (case-insensitive: eslgo canonicalises
// sendmsg headers to Event-Uuid and Call-Command, and FreeSWITCH accepts
// them, 01-inbound-dtmf.esl.txt).
func (m *message) get(name string) (string, bool) {
	for _, h := range m.headers[1:] {
		if strings.EqualFold(h.name, name) {
			return h.value, true
		}
	}
	return "", false
}

// command is the message's first line.
func (m *message) command() string {
	if len(m.headers) == 0 {
		return ""
	}
	return m.headers[0].name
}

// errTooLarge guards against a client that never ends its header block.
var errTooLarge = errors.New("esltest: message too large")

// readMessage reads one client message: lines up to an empty line, each
// ended by \n or \r\n (eslgo ends commands with \r\n\r\n, raw clients with
// \n\n; FreeSWITCH takes both, traces README fact 1), then Content-Length
// bytes of body. Empty lines before a header block are skipped: eslgo
// writes a stray \r\n\r\n after a sendmsg body (05-outbound-mode.esl.txt,
// "stray line-terminator bytes").
func readMessage(r *bufio.Reader) (*message, error) {
	m := &message{}
	size := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if err == io.EOF && line == "" && len(m.headers) == 0 {
				return nil, io.EOF
			}
			return nil, err
		}
		size += len(line)
		if size > 1<<20 {
			return nil, errTooLarge
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if len(m.headers) == 0 {
				continue
			}
			break
		}
		if len(m.headers) == 0 {
			// The command line keeps its trailing space: eslgo sends
			// "api status " (traces README, eslgo gotchas).
			m.headers = append(m.headers, header{name: line})
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		m.headers = append(m.headers, header{name: strings.TrimSpace(name), value: strings.TrimLeft(value, " ")})
	}
	if v, ok := m.get("Content-Length"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 || n > 1<<20 {
			return nil, fmt.Errorf("esltest: bad Content-Length %q", v)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		m.body = string(b)
	}
	return m, nil
}

// urlUnsafe is FreeSWITCH's SWITCH_URL_UNSAFE: the characters
// switch_url_encode escapes in plain event headers, besides controls and
// bytes above '~'. Checked against every plain event of the traces: %20 %22
// %26 %3A %3B %3C %3D %3E %40 %7B %7D %0A %0D appear escaped, ( ) * , - . /
// _ ~ never (01-inbound-dtmf.esl.txt, 06-errors.esl.txt), and + as %2B in
// the connect reply (05-outbound-mode.esl.txt).
const urlUnsafe = "\r\n #%&+:;<=>?@[\\]^`{|}\""

// urlEncode escapes a plain event header value as FreeSWITCH does.
func urlEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' || c > '~' || strings.IndexByte(urlUnsafe, c) >= 0 {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// urlDecode undoes urlEncode (and any %XX), for the tests and for headers
// clients send URL-encoded.
func urlDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// jsonString writes s as cJSON does (FreeSWITCH serialises JSON events with
// cJSON_PrintUnformatted): only the quote, the backslash and control
// characters are escaped; '/', '<', '>' and '&' are not, unlike Go's
// encoding/json. 01-inbound-dtmf.esl.txt (in#2) shows the SDP's \r\n as
// "\r\n" and "sip:mod_sofia@127.0.0.1" unescaped.
func jsonString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < ' ' {
				fmt.Fprintf(b, `\u%04x`, c)
				continue
			}
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

// Replies. FreeSWITCH ends every header line with \n only (traces README
// fact 1).

// authRequest greets a new inbound connection (every inbound connection of
// every trace starts with it, e.g. 01-inbound-dtmf.esl.txt).
func authRequest() []byte { return []byte("Content-Type: auth/request\n\n") }

// commandReply is the answer to every command but api
// (01-inbound-dtmf.esl.txt: "+OK accepted", "+OK event listener enabled
// plain").
func commandReply(text string, extra ...header) []byte {
	var b strings.Builder
	b.WriteString("Content-Type: command/reply\nReply-Text: ")
	b.WriteString(text)
	b.WriteString("\n")
	for _, h := range extra {
		b.WriteString(h.name + ": " + h.value + "\n")
	}
	b.WriteString("\n")
	return []byte(b.String())
}

// apiResponse carries an api command's result in its body, with or without
// a final newline as the command makes it (06-errors.esl.txt: "-ERR No such
// channel!\n", "false").
func apiResponse(body string) []byte {
	return []byte(fmt.Sprintf("Content-Type: api/response\nContent-Length: %d\n\n%s", len(body), body))
}

// goodbye is the body of the disconnect notice FreeSWITCH sends when a
// connection ends (01-inbound-dtmf.esl.txt, after "+OK bye").
const goodbye = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"

// disconnectNotice ends an inbound connection (01-inbound-dtmf.esl.txt).
func disconnectNotice() []byte {
	return []byte(fmt.Sprintf("Content-Type: text/disconnect-notice\nContent-Length: %d\n\n%s", len(goodbye), goodbye))
}

// outboundDisconnect ends an outbound (socket application) connection: it
// names the controlled session (05-outbound-mode.esl.txt, after exit).
func outboundDisconnect(uuid string) []byte {
	return []byte(fmt.Sprintf("Content-Type: text/disconnect-notice\nControlled-Session-UUID: %s\nContent-Disposition: disconnect\nContent-Length: %d\n\n%s", uuid, len(goodbye), goodbye))
}

// lingerNotice tells an outbound connection in linger mode that its channel
// hung up; the Channel-Name is not URL-encoded (05-outbound-mode.esl.txt,
// after CHANNEL_HANGUP_COMPLETE).
func lingerNotice(uuid, channelName string, seconds int) []byte {
	return []byte(fmt.Sprintf("Content-Type: text/disconnect-notice\nControlled-Session-UUID: %s\nContent-Disposition: linger\nChannel-Name: %s\nLinger-Time: %d\nContent-Length: 0\n\n", uuid, channelName, seconds))
}
