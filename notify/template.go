package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"
	"text/template"
	"time"
)

// DefaultBody is the webhook body when none is configured: every field of
// the message, so a receiver written for vhold needs no template at all.
const DefaultBody = `{"kind": {{json .Kind}}, "to": {{json .To}}, "ticket": {{.Ticket}}, "queue": {{json .Queue}}, ` +
	`"category": {{json .Category}}, "language": {{json .Language}}, "text": {{json .Text}}, ` +
	`"deadline": {{json (rfc3339 .Deadline)}}, "urgent": {{.Urgent}}}`

// DefaultSubject is the e-mail subject when none is configured. URGENT comes
// first so it survives the truncation of a phone's mail list.
const DefaultSubject = `[vhold] {{if .Urgent}}URGENT {{end}}` +
	`{{if eq .Kind "owner"}}promise at risk, now yours{{else if eq .Kind "escalation"}}promise escalated{{else}}{{.Kind}}{{end}}` +
	`: ticket {{.Ticket}} in {{.Queue}}{{with .Category}} ({{.}}){{end}}`

// Funcs are the functions body and subject templates may call, besides
// text/template's built-ins (urlquery among them, for form-encoded
// gateways). Text/template does no escaping of its own, so a JSON body must
// pass every string through json: {"text": {{json .Text}}}.
func Funcs() template.FuncMap {
	return template.FuncMap{
		// json encodes a value as JSON, quotes included.
		"json": func(v any) (string, error) {
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			// "<" in a message is text, not markup; the receiver is not a
			// browser.
			enc.SetEscapeHTML(false)
			if err := enc.Encode(v); err != nil {
				return "", err
			}
			return strings.TrimSuffix(b.String(), "\n"), nil
		},
		// digits keeps only the digits: "+34 911 23 45 67" → "34911234567".
		"digits": digits,
		// e164nozero is the number as the WhatsApp Cloud API wants it:
		// country code and number, no "+" and no "00" international prefix.
		"e164nozero": func(s string) string {
			s = strings.TrimSpace(s)
			if !strings.HasPrefix(s, "+") {
				s = strings.TrimPrefix(s, "00")
			}
			return digits(s)
		},
		"rfc3339": func(t time.Time) string { return t.Format(time.RFC3339) },
		// local moves a time into an IANA zone, for a customer-facing clock:
		// {{.Deadline | local "Europe/Madrid" | format "15:04"}}.
		"local": func(zone string, t time.Time) (time.Time, error) {
			loc, err := time.LoadLocation(zone)
			if err != nil {
				return t, fmt.Errorf("time zone %q: %w", zone, err)
			}
			return t.In(loc), nil
		},
		"format": func(layout string, t time.Time) string { return t.Format(layout) },
		"unix":   func(t time.Time) int64 { return t.Unix() },
		// oneline folds line breaks, tabs and runs of spaces into single
		// spaces, for fields that refuse them (a WhatsApp template
		// parameter, an SMS gateway's single-line text).
		"oneline": func(s string) string { return strings.Join(strings.Fields(s), " ") },
		"upper":   strings.ToUpper,
		"lower":   strings.ToLower,
		// trunc cuts a text to n characters (not bytes), for gateways with a
		// length limit: {{json (trunc 160 .Text)}}.
		"trunc": func(n int, s string) string {
			if r := []rune(s); len(r) > n {
				return string(r[:max(n, 0)])
			}
			return s
		},
	}
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// Sample is the message templates are tried on when they are parsed, so a
// misspelt field or a body that is not JSON is found by "vhold check"
// rather than when the first promise slips. Its text holds the characters
// that break a hand-quoted JSON string.
func Sample() Message {
	return Message{
		Kind:     Recovery,
		To:       "+34911234567",
		Ticket:   42,
		Queue:    "support",
		Category: "money",
		Language: "en",
		Text:     "We have not called you back in the time we promised.\nYour request is with \"billing\"; you will get the call or a written update by 14:45.",
		Deadline: time.Date(2026, 6, 3, 14, 45, 0, 0, time.UTC),
	}
}

// ParseBody parses a webhook body template and renders it for Sample: a
// template that cannot run, or (for a JSON content type) does not render
// JSON, is an error now. An empty text is DefaultBody.
func ParseBody(text, contentType string) (*template.Template, error) {
	if text == "" {
		text = DefaultBody
	}
	t, err := parse("body", text)
	if err != nil {
		return nil, err
	}
	out, err := render(t, Sample())
	if err != nil {
		return nil, err
	}
	if isJSON(contentType) {
		var v any
		if err := json.Unmarshal(out, &v); err != nil {
			return nil, fmt.Errorf("does not render JSON for a sample message: %v%s (wrap strings in json, as in {\"text\": {{json .Text}}})",
				err, jsonContext(out, err))
		}
	}
	return t, nil
}

// ParseSubject parses an e-mail subject template and renders it for Sample.
// An empty text is DefaultSubject.
func ParseSubject(text string) (*template.Template, error) {
	if text == "" {
		text = DefaultSubject
	}
	t, err := parse("subject", text)
	if err != nil {
		return nil, err
	}
	if _, err := render(t, Sample()); err != nil {
		return nil, err
	}
	return t, nil
}

func parse(name, text string) (*template.Template, error) {
	// missingkey does not apply to struct fields (a misspelt field always
	// fails), but keeps a map lookup from rendering "<no value>" silently.
	t, err := template.New(name).Funcs(Funcs()).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, templateError(name, err)
	}
	return t, nil
}

func render(t *template.Template, m Message) ([]byte, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, m); err != nil {
		return nil, templateError(t.Name(), err)
	}
	return b.Bytes(), nil
}

// templateError drops text/template's "template: body:" prefix: the admin
// reads the message at the key it belongs to, and "line 1:12" is what they
// need to find the mistake.
func templateError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "template: "+name+":")
	if msg == err.Error() {
		return err
	}
	return errors.New("template line " + msg)
}

// isJSON reports whether a Content-Type is JSON (application/json, or a
// +json type such as application/vnd.api+json).
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// jsonContext quotes what a JSON error came after, on one line, since
// configuration errors are one per line.
func jsonContext(out []byte, err error) string {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return ""
	}
	end := min(int(se.Offset), len(out))
	start := max(end-40, 0)
	for start > 0 && out[start]&0xC0 == 0x80 {
		start--
	}
	return fmt.Sprintf(" after %q", out[start:end])
}

// clip shortens b to n bytes for an error message, marking the cut.
func clip(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	if len(s) <= n {
		return s
	}
	// Back off to a rune boundary so the message stays valid UTF-8.
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
