package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hook is an httptest server that records each request and answers with
// the next status from its script (the last one repeats).
type hook struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recorded
	statuses []int
	reply    string
}

type recorded struct {
	method, path string
	header       http.Header
	body         []byte
}

func newHook(t *testing.T, statuses ...int) *hook {
	t.Helper()
	h := &hook{statuses: statuses}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.requests = append(h.requests, recorded{r.Method, r.URL.Path, r.Header.Clone(), body})
		status := http.StatusOK
		if len(h.statuses) > 0 {
			status = h.statuses[min(len(h.requests), len(h.statuses))-1]
		}
		reply := h.reply
		h.mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, reply)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hook) got() []recorded {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]recorded(nil), h.requests...)
}

// The two body shapes the example configs use: a generic SMS gateway and the
// WhatsApp Cloud API.
const (
	smsBody      = `{"to": {{json .To}}, "from": "VHOLD", "text": {{json .Text}}}`
	whatsappBody = `{"messaging_product": "whatsapp", "to": {{json (e164nozero .To)}}, "type": "text", "text": {"body": {{json .Text}}}}`
)

func TestWebhookBodies(t *testing.T) {
	m := Sample()
	tests := []struct {
		name, body string
		want       map[string]any
	}{
		{"sms gateway", smsBody, map[string]any{"to": "+34911234567", "from": "VHOLD", "text": m.Text}},
		{"whatsapp cloud", whatsappBody, map[string]any{
			"messaging_product": "whatsapp", "to": "34911234567", "type": "text",
			"text": map[string]any{"body": m.Text},
		}},
		{"default", "", map[string]any{
			"kind": "recovery", "to": "+34911234567", "ticket": 42.0, "queue": "support", "category": "money",
			"language": "en", "text": m.Text, "deadline": "2026-06-03T14:45:00Z", "urgent": false,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHook(t)
			w, err := NewWebhook(WebhookConfig{
				URL:    h.URL + "/api/send?key=secret",
				Header: map[string]string{"Authorization": "Bearer tok-123", "X-Tenant": "acme"},
				Body:   tt.body,
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Notify(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			reqs := h.got()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.method != "POST" || r.path != "/api/send" {
				t.Errorf("request %s %s, want POST /api/send", r.method, r.path)
			}
			for k, want := range map[string]string{"Authorization": "Bearer tok-123", "X-Tenant": "acme", "Content-Type": "application/json"} {
				if got := r.header.Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			var got map[string]any
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatalf("body is not JSON: %v\n%s", err, r.body)
			}
			if !jsonEqual(got, tt.want) {
				t.Errorf("body = %s\nwant %v", r.body, tt.want)
			}
		})
	}
}

func jsonEqual(a, b map[string]any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// TestWebhookEscaping sends texts that would break a hand-quoted JSON body.
func TestWebhookEscaping(t *testing.T) {
	h := newHook(t)
	w, err := NewWebhook(WebhookConfig{URL: h.URL, Method: "put", Body: `{"text": {{json .Text}}, "to": {{json .To}}}`})
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{
		`she said "call me" \ twice`,
		"line one\nline two\r\n\ttabbed",
		"<b>&</b> ünïcödé – ok \u2028 sep",
		"control \x01 char",
	}
	for _, text := range texts {
		m := Sample()
		m.Text = text
		m.To = `"}, "admin": true, "x": {"`
		if err := w.Notify(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range h.got() {
		if r.method != "PUT" {
			t.Errorf("method %s, want PUT (configured in lower case)", r.method)
		}
		var got map[string]string
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatalf("body %d is not JSON: %v\n%s", i, err, r.body)
		}
		if got["text"] != texts[i] || got["to"] != `"}, "admin": true, "x": {"` || len(got) != 2 {
			t.Errorf("body %d = %q, want text %q", i, got, texts[i])
		}
	}
}

func TestWebhookNon2xx(t *testing.T) {
	h := newHook(t, http.StatusBadRequest)
	h.reply = `{"error": "invalid number"}` + strings.Repeat("x", 500)
	w, err := NewWebhook(WebhookConfig{URL: h.URL + "/send?api_key=s3cret", Body: smsBody, Retries: 3, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = w.Notify(context.Background(), Sample())
	if err == nil {
		t.Fatal("Notify succeeded on a 400")
	}
	msg := err.Error()
	for _, want := range []string{"400 Bad Request", `{"error": "invalid number"}xxx`, "ticket 42", "/send"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	if strings.Contains(msg, "s3cret") {
		t.Errorf("error %q shows the query string, where gateways put keys", msg)
	}
	if n := strings.Count(msg, "x"); n > 200 {
		t.Errorf("error holds %d bytes of the reply body, want at most 200", n)
	}
	if n := len(h.got()); n != 1 {
		t.Errorf("%d requests, want 1: a 4xx is not retried", n)
	}
}

func TestWebhookRetries(t *testing.T) {
	t.Run("5xx then ok", func(t *testing.T) {
		h := newHook(t, 503, 502, 200)
		w, err := NewWebhook(WebhookConfig{URL: h.URL, Retries: 2, Backoff: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Notify(context.Background(), Sample()); err != nil {
			t.Fatal(err)
		}
		if n := len(h.got()); n != 3 {
			t.Errorf("%d requests, want 3", n)
		}
	})
	t.Run("gives up", func(t *testing.T) {
		h := newHook(t, 500)
		w, err := NewWebhook(WebhookConfig{URL: h.URL, Retries: 2, Backoff: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		err = w.Notify(context.Background(), Sample())
		if err == nil || !strings.Contains(err.Error(), "500 Internal Server Error") || !strings.Contains(err.Error(), "after 3 attempts") {
			t.Errorf("error = %v", err)
		}
		if n := len(h.got()); n != 3 {
			t.Errorf("%d requests, want 3", n)
		}
	})
	t.Run("refused connection", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		w, err := NewWebhook(WebhookConfig{URL: "http://" + addr + "/?key=s3cret", Retries: 1, Backoff: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		err = w.Notify(context.Background(), Sample())
		if err == nil || !strings.Contains(err.Error(), "after 2 attempts") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error = %v, want a retried dial failure without the query", err)
		}
	})
	t.Run("cancelled while backing off", func(t *testing.T) {
		h := newHook(t, 500)
		w, err := NewWebhook(WebhookConfig{URL: h.URL, Retries: 5, Backoff: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		err = w.Notify(ctx, Sample())
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
			t.Errorf("error = %v after %v, want the context's, promptly", err, time.Since(start))
		}
	})
}

func TestWebhookTimeout(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)

	w, err := NewWebhook(WebhookConfig{URL: srv.URL, Timeout: 50 * time.Millisecond, Retries: 3, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = w.Notify(context.Background(), Sample())
	if err == nil || !strings.Contains(err.Error(), "no answer within 50ms") {
		t.Errorf("error = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Notify took %v", d)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d requests, want 1: a timed-out request may have been delivered, so it is not retried", n)
	}

	// The caller's context is honoured too.
	w, err = NewWebhook(WebhookConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if err := w.Notify(ctx, Sample()); !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
}

func TestWebhookConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		c    WebhookConfig
		want string
	}{
		{"relative url", WebhookConfig{URL: "/api/send"}, `"/api/send" is not an absolute http:// or https:// URL`},
		{"ftp url", WebhookConfig{URL: "ftp://h/x"}, `is not an absolute http:// or https:// URL`},
		{"parse error", WebhookConfig{URL: "http://h", Body: `{"text": {{jsn .Text}}}`}, `body: template line 1: function "jsn" not defined`},
		{"unknown field", WebhookConfig{URL: "http://h", Body: `{"text": {{json .Txt}}}`}, `can't evaluate field Txt`},
		{"hand-quoted string", WebhookConfig{URL: "http://h", Body: `{"text": "{{.Text}}"}`}, `does not render JSON for a sample message`},
		{"bad zone", WebhookConfig{URL: "http://h", Body: `{"at": {{json (.Deadline | local "Mars/Olympus")}}}`}, `time zone "Mars/Olympus"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewWebhook(tt.c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewWebhook error = %v, want it to contain %q", err, tt.want)
			}
		})
	}

	// A body that is not JSON is fine when the gateway takes a form.
	w, err := NewWebhook(WebhookConfig{
		URL:    "http://h",
		Header: map[string]string{"content-type": "application/x-www-form-urlencoded"},
		Body:   `To={{urlquery .To}}&Body={{urlquery .Text}}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.Render(Sample())
	if err != nil || !strings.HasPrefix(string(b), "To=%2B34911234567&Body=We+have+not") {
		t.Errorf("form body = %q, %v", b, err)
	}
}

func TestTemplateFuncs(t *testing.T) {
	m := Sample()
	m.To = "+34 911-23-45-67"
	m.Text = "ñandú " + strings.Repeat("a", 20)
	tests := map[string]string{
		`{{digits .To}}`:                 "34911234567",
		`{{e164nozero .To}}`:             "34911234567",
		`{{e164nozero "0034911234567"}}`: "34911234567",
		`{{rfc3339 .Deadline}}`:          "2026-06-03T14:45:00Z",
		`{{.Deadline | local "Europe/Madrid" | format "15:04"}}`: "16:45",
		`{{.Deadline | local "Europe/Madrid" | rfc3339}}`:        "2026-06-03T16:45:00+02:00",
		`{{unix .Deadline}}`: "1780497900",
		`{{trunc 7 .Text}}`:  "ñandú a",
		`{{json .Ticket}} {{json .Urgent}} {{json "a<b>"}}`:            `42 false "a<b>"`,
		`{{oneline "a\n\tb    c\r\n"}}`:                                "a b c",
		`{{upper .Queue}}/{{lower "X"}}`:                               "SUPPORT/x",
		`{{if .Urgent}}URGENT{{else}}normal{{end}} {{json .Deadline}}`: `normal "2026-06-03T14:45:00Z"`,
	}
	for text, want := range tests {
		tpl, err := parse("t", text)
		if err != nil {
			t.Errorf("%s: %v", text, err)
			continue
		}
		got, err := render(tpl, m)
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", text, got, err, want)
		}
	}
}
