package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/vhold/vhold/config"
	"github.com/vhold/vhold/notify"
)

// wrapped is a minimal valid vhold.yaml with a snippet under
// notify.customer.webhook, indented as a user pasting it would.
func wrapped(snippet string) []byte {
	var b strings.Builder
	b.WriteString("agents:\n  a1: {endpoint: PJSIP/1001}\nqueues:\n  q: {agents: [a1]}\nnotify:\n  customer:\n    webhook:\n")
	for line := range strings.Lines(snippet) {
		if strings.TrimSpace(line) != "" {
			b.WriteString("      ")
		}
		b.WriteString(line)
	}
	return []byte(b.String())
}

// uncomment returns the commented YAML block that starts with the line
// "# "+first: its lines without "# ", up to the first line that is not part
// of it.
func uncomment(t *testing.T, text, first string) string {
	t.Helper()
	var out []string
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\n")
		switch {
		case out == nil && line == "# "+first:
			out = append(out, first)
		case out != nil && strings.HasPrefix(line, "#   "):
			out = append(out, line[2:])
		case out != nil:
			return strings.Join(out, "\n") + "\n"
		}
	}
	if out == nil {
		t.Fatalf("no commented %q block", first)
	}
	return strings.Join(out, "\n") + "\n"
}

var exampleEnv = map[string]string{
	"SMS_TOKEN":                "sms-tok",
	"SMS_FROM":                 "ACME",
	"WHATSAPP_TOKEN":           "wa-tok",
	"WHATSAPP_PHONE_NUMBER_ID": "1234567890",
}

func lookup(name string) (string, bool) {
	v, ok := exampleEnv[name]
	return v, ok
}

// TestExampleWebhooks loads each snippet in configs/notify into a config,
// renders it for a message and checks the request the gateway would get.
func TestExampleWebhooks(t *testing.T) {
	sms, err := os.ReadFile("../configs/notify/sms-gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	wa, err := os.ReadFile("../configs/notify/whatsapp-cloud.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The template-message body, commented out in the snippet, in place of
	// the text one.
	i, j := strings.Index(string(wa), "\nbody: |")+1, strings.Index(string(wa), "\ntimeout:")+1
	waTemplate := string(wa[:i]) + uncomment(t, string(wa), "body: |") + string(wa[j:])

	m := notify.Sample()
	m.To = "+34611223344"
	m.Text = "We have not called you back in the time we promised.\nYour request is with \"billing\";\tyou will get the call by 14:45."

	tests := []struct {
		name, snippet string
		path, auth    string
		want          map[string]any
	}{
		{"sms-gateway", string(sms), "/api/v1/messages", "Bearer sms-tok", map[string]any{
			"to": "+34611223344", "from": "ACME", "text": m.Text, "reference": "vhold-42",
		}},
		{"whatsapp-cloud", string(wa), "/v20.0/1234567890/messages", "Bearer wa-tok", map[string]any{
			"messaging_product": "whatsapp", "recipient_type": "individual", "to": "34611223344", "type": "text",
			"text": map[string]any{"preview_url": false, "body": m.Text},
		}},
		{"whatsapp-cloud template message", waTemplate, "/v20.0/1234567890/messages", "Bearer wa-tok", map[string]any{
			"messaging_product": "whatsapp", "to": "34611223344", "type": "template",
			"template": map[string]any{
				"name":     "callback_delay",
				"language": map[string]any{"code": "en"},
				"components": []any{map[string]any{"type": "body", "parameters": []any{map[string]any{
					"type": "text",
					"text": `We have not called you back in the time we promised. Your request is with "billing"; you will get the call by 14:45.`,
				}}}},
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse("vhold.yaml", wrapped(tt.snippet), lookup)
			if err != nil {
				t.Fatalf("snippet does not load:\n%v\n%s", err, wrapped(tt.snippet))
			}
			wc := c.Notify.Customer.Webhook.WebhookConfig()
			if wc.Method != "POST" || wc.Retries != 2 {
				t.Errorf("method %q, retries %d", wc.Method, wc.Retries)
			}
			var path, auth string
			var body []byte
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				path, auth = r.URL.Path, r.Header.Get("Authorization")
				body, _ = io.ReadAll(r.Body)
			}))
			defer srv.Close()
			// Sent to the test server, keeping the snippet's path.
			u, err := url.Parse(wc.URL)
			if err != nil {
				t.Fatal(err)
			}
			wc.URL = srv.URL + u.Path
			w, err := notify.NewWebhook(wc)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Notify(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			if path != tt.path || auth != tt.auth {
				t.Errorf("request to %q with Authorization %q, want %q, %q", path, auth, tt.path, tt.auth)
			}
			var got map[string]any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("body is not JSON: %v\n%s", err, body)
			}
			if !reflect.DeepEqual(got, tt.want) {
				g, _ := json.MarshalIndent(got, "", "  ")
				w, _ := json.MarshalIndent(tt.want, "", "  ")
				t.Errorf("body:\n%s\nwant:\n%s", g, w)
			}
		})
	}
}
