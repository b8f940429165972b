package config

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vhold/vhold/notify"
)

func TestNotify(t *testing.T) {
	c, err := Parse("c.yaml", []byte(minimal+`
notify:
  customer:
    webhook:
      url: https://sms.example.com/api/send
      headers: {Authorization: "Bearer ${SMS_TOKEN}"}
      body: '{"to": {{json .To}}, "text": {{json .Text}}}'
  staff:
    email: {smtp: "mail.example.com", username: vhold, password: "${SMTP_PASSWORD}", from: "vhold <vhold@example.com>"}
    webhook: {url: "http://chat.internal/hook", method: put, timeout: 3s, retries: 0}
`), env(map[string]string{"SMS_TOKEN": "tok", "SMTP_PASSWORD": "pw"}))
	if err != nil {
		t.Fatal(err)
	}
	n := c.Notify
	if n == nil || !n.Log || n.Customer == nil || n.Staff == nil || n.Customer.Email != nil {
		t.Fatalf("notify = %+v", n)
	}
	want := Webhook{
		URL: "https://sms.example.com/api/send", Method: "POST", Headers: map[string]string{"Authorization": "Bearer tok"},
		Body: `{"to": {{json .To}}, "text": {{json .Text}}}`, Timeout: 10 * time.Second, Retries: 2, Backoff: time.Second,
	}
	if !reflect.DeepEqual(*n.Customer.Webhook, want) {
		t.Errorf("customer webhook = %+v\nwant %+v", *n.Customer.Webhook, want)
	}
	if got := *n.Staff.Webhook; got.Method != "PUT" || got.Timeout != 3*time.Second || got.Retries != 0 || got.Body != "" {
		t.Errorf("staff webhook = %+v", got)
	}
	wantEmail := Email{SMTP: "mail.example.com:587", Username: "vhold", Password: "pw", From: "vhold <vhold@example.com>", Timeout: 30 * time.Second}
	if !reflect.DeepEqual(*n.Staff.Email, wantEmail) {
		t.Errorf("staff email = %+v\nwant %+v", *n.Staff.Email, wantEmail)
	}

	// What the config says is what the notifiers are built from.
	if _, err := notify.NewWebhook(n.Customer.Webhook.WebhookConfig()); err != nil {
		t.Error(err)
	}
	if _, err := notify.NewWebhook(n.Staff.Webhook.WebhookConfig()); err != nil {
		t.Error(err)
	}
	if _, err := notify.NewEmail(n.Staff.Email.EmailConfig()); err != nil {
		t.Error(err)
	}

	for _, tt := range []struct{ yaml, what string }{{"", "no notify key"}, {"notify:\n", "an empty notify key"}} {
		c, err := Parse("c.yaml", []byte(minimal+tt.yaml), nil)
		if err != nil || c.Notify != nil {
			t.Errorf("%s: notify = %+v, %v; want nil", tt.what, c.Notify, err)
		}
	}
	c, err = Parse("c.yaml", []byte(minimal+"notify: {log: false}\n"), nil)
	if err != nil || c.Notify == nil || c.Notify.Log || c.Notify.Customer != nil {
		t.Errorf("notify = %+v, %v", c.Notify, err)
	}
}

// TestNotifyProblems is TestProblems for the notify section.
func TestNotifyProblems(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"no url", "notify:\n  customer:\n    webhook: {body: ''}\n",
			[]string{`c.yaml:3: notify.customer.webhook.url: a URL is required, such as "https://sms.example.com/api/send"`}},
		{"hand-quoted text", "notify:\n  customer:\n    webhook: {url: 'https://h/send', body: '{\"text\": \"{{.Text}}\"}'}\n",
			[]string{`c.yaml:3: notify.customer.webhook.body: does not render JSON for a sample message: invalid character '\n' in string literal after "alled you back in the time we promised.\n" (wrap strings in json, as in {"text": {{json .Text}}})`}},
		{"misspelt field", "notify:\n  customer:\n    webhook:\n      url: https://h/send\n      body: |\n        {\"to\": {{json .To}},\n         \"text\": {{json .Txt}}}\n",
			[]string{`c.yaml:5: notify.customer.webhook.body: template line 2:16: executing "body" at <.Txt>: can't evaluate field Txt in type notify.Message`}},
		{"form body", "notify:\n  customer:\n    webhook: {url: 'https://h/send', headers: {content-type: application/x-www-form-urlencoded}, body: 'To={{urlquery .To}}'}\n",
			nil},
		{"email for customers", "notify:\n  customer:\n    email: {smtp: 'mail:25', from: a@b.c}\n",
			[]string{`c.yaml:3: notify.customer.email: customers are reached at their phone number: use a webhook to an SMS or WhatsApp gateway`}},
		{"empty channel", "notify:\n  staff: {}\n",
			[]string{`c.yaml:2: notify.staff: set a webhook or an email, or leave staff out`}},
		{"webhook values", "notify:\n  staff:\n    webhook: {url: 'http://h', method: get, headers: {'Bad Name': x, X-Ok: \"a\\nb\"}, timeout: 0s, retries: 1, backoff: 0s}\n",
			[]string{
				`c.yaml:3: notify.staff.webhook.method: "get" is not one of POST, PUT, PATCH`,
				`c.yaml:3: notify.staff.webhook.headers["Bad Name"]: "Bad Name" is not an HTTP header name`,
				`c.yaml:3: notify.staff.webhook.headers.X-Ok: a header value cannot span lines`,
				`c.yaml:3: notify.staff.webhook.timeout: must be more than 0`,
				`c.yaml:3: notify.staff.webhook.backoff: must be more than 0 when retries is more than 0`,
			}},
		{"email values", "notify:\n  staff:\n    email:\n      smtp: 'mail:smtp'\n      from: vhold\n      to: [a@b.c, nope]\n      password: x\n      subject: '{{.Tiket}}'\n",
			[]string{
				`c.yaml:4: notify.staff.email.smtp: "mail:smtp": port "smtp" is not a number from 0 to 65535`,
				`c.yaml:5: notify.staff.email.from: "vhold" is not an e-mail address (missing '@' or angle-addr)`,
				`c.yaml:6: notify.staff.email.to[1]: "nope" is not an e-mail address (missing '@' or angle-addr)`,
				`c.yaml:7: notify.staff.email.password: is set without a username, and a password is only sent with one`,
				`c.yaml:8: notify.staff.email.subject: template line 1:2: executing "subject" at <.Tiket>: can't evaluate field Tiket in type notify.Message`,
			}},
		{"unset secret", "notify:\n  staff:\n    email: {smtp: 'mail:587', from: a@b.c, username: u, password: '${SMTP_PASSWORD}'}\n",
			[]string{`c.yaml:3: notify.staff.email.password: environment variable SMTP_PASSWORD is not set`}},
		{"unknown key", "notify:\n  staff:\n    webhok: {url: 'http://h'}\n",
			[]string{`c.yaml:3: notify.staff.webhok: unknown key (did you mean "webhook"?)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tt.yaml+minimal), nil)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse error = %v (%T), want Errors", err, err)
			}
			got := strings.Split(errs.Error(), "\n")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestExampleNotify uncomments the notify section of the example file and
// loads it, so the documentation cannot drift from what vhold accepts.
func TestExampleNotify(t *testing.T) {
	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	var block []string
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSuffix(line, "\n")
		switch {
		case block == nil && line == "# notify:":
			block = append(block, "notify:")
		case block != nil && strings.HasPrefix(line, "#   "):
			block = append(block, line[2:])
		case block != nil:
			goto done
		}
	}
done:
	if len(block) < 10 {
		t.Fatalf("no commented notify section in %s: %q", example, block)
	}
	yaml := minimal + strings.Join(block, "\n") + "\n"
	c, err := Parse(example, []byte(yaml), env(map[string]string{"SMS_TOKEN": "t", "SMTP_PASSWORD": "p", "CHAT_HOOK_ID": "h"}))
	if err != nil {
		t.Fatalf("the notify section of %s, uncommented, does not load:\n%v\n%s", example, err, yaml)
	}
	n := c.Notify
	if n.Customer.Webhook.URL != "https://sms.example.com/api/send" || n.Staff.Email.SMTP != "mail.example.com:587" ||
		n.Staff.Webhook.URL != "https://chat.example.com/hooks/h" || !n.Log {
		t.Errorf("notify = %+v %+v %+v", n.Customer.Webhook, n.Staff.Email, n.Staff.Webhook)
	}
	hook, err := notify.NewWebhook(n.Staff.Webhook.WebhookConfig())
	if err != nil {
		t.Fatal(err)
	}
	m := notify.Sample()
	m.Kind, m.Urgent, m.Text = notify.Escalation, true, "ticket 42 \"escalated\""
	if body, err := hook.Render(m); err != nil || string(body) != `{"text": "URGENT: ticket 42 \"escalated\""}` {
		t.Errorf("chat body = %s, %v", body, err)
	}
}
