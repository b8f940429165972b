package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"text/template"
	"time"
)

// WebhookConfig is how a Webhook reaches its gateway.
type WebhookConfig struct {
	// URL is absolute, http or https.
	URL string
	// Method defaults to POST.
	Method string
	// Header is sent with every request ("Authorization: Bearer …").
	// Content-Type defaults to application/json.
	Header map[string]string
	// Body is a text/template over Message; empty is DefaultBody.
	Body string
	// Timeout bounds each attempt; default 10s.
	Timeout time.Duration
	// Retries is how many more attempts follow a 5xx, a 429 or a refused
	// connection; 0 tries once.
	Retries int
	// Backoff is the wait before the first retry, doubled before each next
	// one; default 1s.
	Backoff time.Duration
	// Client replaces the default HTTP client (a proxy, a test transport);
	// Timeout still bounds each attempt.
	Client *http.Client
}

// Webhook sends each message as one HTTP request whose body a template
// shapes, so any SMS, WhatsApp or chat gateway that takes JSON (or a form)
// plugs in through configuration alone. It is safe for concurrent use.
type Webhook struct {
	url     string
	method  string
	header  http.Header
	body    *template.Template
	timeout time.Duration
	retries int
	backoff time.Duration
	client  *http.Client
	// name is the method and the URL without its query, which some gateways
	// use for credentials, for error messages.
	name string
}

// NewWebhook checks the configuration and parses the body template, so a
// broken template stops vhold at start-up (and "vhold check") instead of
// failing the first recovery message.
func NewWebhook(c WebhookConfig) (*Webhook, error) {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook: %q is not an absolute http:// or https:// URL", c.URL)
	}
	w := &Webhook{
		url:     c.URL,
		method:  strings.ToUpper(c.Method),
		header:  make(http.Header, len(c.Header)+1),
		timeout: c.Timeout,
		retries: max(c.Retries, 0),
		backoff: c.Backoff,
		client:  c.Client,
	}
	if w.method == "" {
		w.method = http.MethodPost
	}
	if w.timeout <= 0 {
		w.timeout = 10 * time.Second
	}
	if w.backoff <= 0 {
		w.backoff = time.Second
	}
	if w.client == nil {
		w.client = &http.Client{}
	}
	for k, v := range c.Header {
		w.header.Set(k, v)
	}
	if w.header.Get("Content-Type") == "" {
		w.header.Set("Content-Type", "application/json")
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	w.name = w.method + " " + u.String()
	if w.body, err = ParseBody(c.Body, w.header.Get("Content-Type")); err != nil {
		return nil, fmt.Errorf("webhook %s: body: %w", w.name, err)
	}
	return w, nil
}

// Render returns the body the webhook would send for m.
func (w *Webhook) Render(m Message) ([]byte, error) {
	return render(w.body, m)
}

// Notify sends m, retrying what may succeed later (a 5xx, a 429, a refused
// connection) with a doubling backoff. A timed-out attempt is not retried:
// the gateway may have accepted the message, and a customer must never get
// the same recovery message twice.
func (w *Webhook) Notify(ctx context.Context, m Message) error {
	body, err := w.Render(m)
	if err != nil {
		return fmt.Errorf("webhook %s: ticket %d: %w", w.name, m.Ticket, err)
	}
	wait := w.backoff
	for attempt := 1; ; attempt++ {
		retry, err := w.send(ctx, body)
		if err == nil {
			return nil
		}
		if !retry || attempt > w.retries {
			if attempt > 1 {
				err = fmt.Errorf("%w (after %d attempts)", err, attempt)
			}
			return fmt.Errorf("webhook %s: ticket %d: %w", w.name, m.Ticket, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("webhook %s: ticket %d: %w (gave up waiting to retry: %w)", w.name, m.Ticket, err, ctx.Err())
		case <-t.C:
		}
		wait *= 2
	}
}

// send makes one attempt and says whether a failure is worth another.
func (w *Webhook) send(ctx context.Context, body []byte) (retry bool, err error) {
	actx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, w.method, w.url, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header = w.header.Clone()
	resp, err := w.client.Do(req)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return false, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			return false, fmt.Errorf("no answer within %s", w.timeout)
		}
		// url.Error repeats the URL, query and all.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		// Only a failed dial is certain not to have delivered anything.
		var op *net.OpError
		return errors.As(err, &op) && op.Op == "dial", err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Drained so the connection is reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return false, nil
	}
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 201))
	msg := resp.Status
	if s := clip(head, 200); s != "" {
		msg += ": " + s
	}
	return resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests, errors.New(msg)
}
