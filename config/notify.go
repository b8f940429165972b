package config

import (
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/vhold/vhold/notify"
)

// Notify is how the promise keeper's messages leave vhold: the recovery
// message to a customer whose callback is late, and the notices to the
// owner of a promise at risk and to the supervisor of an escalation.
type Notify struct {
	// Customer carries Recovery messages to the customer's phone number
	// (an SMS or WhatsApp gateway); nil sends them nowhere but the log.
	Customer *Channel `yaml:"customer"`
	// Staff carries Owner and Escalation notices to the address in
	// promise.supervisor or a category's owner.
	Staff *Channel `yaml:"staff"`
	// Log also writes every message to vhold's log, so it shows what a
	// customer or supervisor was told even when a gateway loses it.
	Log bool `yaml:"log"`
}

func (n *Notify) setDefaults() { n.Log = true }

// Channel is one audience's notifiers; a message goes to all of them.
type Channel struct {
	Webhook *Webhook `yaml:"webhook"`
	Email   *Email   `yaml:"email"`
}

// Webhook is an HTTP request per message, its body shaped by a template.
type Webhook struct {
	// URL is absolute, http or https.
	URL string `yaml:"url"`
	// Method is POST, PUT or PATCH; stored upper case.
	Method string `yaml:"method"`
	// Headers are sent with every request; Content-Type defaults to
	// application/json.
	Headers map[string]string `yaml:"headers"`
	// Body is a Go template over notify.Message; empty sends every field
	// as JSON (notify.DefaultBody).
	Body    string        `yaml:"body"`
	Timeout time.Duration `yaml:"timeout"`
	// Retries follow a 5xx, a 429 or a refused connection, Backoff apart
	// and doubling; a timeout is never retried, as the gateway may have
	// taken the message.
	Retries int           `yaml:"retries"`
	Backoff time.Duration `yaml:"backoff"`
}

func (w *Webhook) setDefaults() {
	*w = Webhook{Method: "POST", Timeout: 10 * time.Second, Retries: 2, Backoff: time.Second}
}

// WebhookConfig is w as the notify package takes it.
func (w *Webhook) WebhookConfig() notify.WebhookConfig {
	return notify.WebhookConfig{
		URL: w.URL, Method: w.Method, Header: w.Headers, Body: w.Body,
		Timeout: w.Timeout, Retries: w.Retries, Backoff: w.Backoff,
	}
}

// Email is a plain-text e-mail per message, through an SMTP server.
type Email struct {
	// SMTP is host:port; the port defaults to 587 (submission).
	SMTP string `yaml:"smtp"`
	// Username turns on PLAIN authentication, over STARTTLS.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// From is the sender, "vhold <vhold@example.com>".
	From string `yaml:"from"`
	// To also receives every message, beside the message's own address.
	To []string `yaml:"to"`
	// Subject is a Go template over notify.Message; empty is
	// notify.DefaultSubject ("[vhold] URGENT promise escalated: …").
	Subject string        `yaml:"subject"`
	Timeout time.Duration `yaml:"timeout"`
}

func (e *Email) setDefaults() { e.Timeout = 30 * time.Second }

// EmailConfig is e as the notify package takes it.
func (e *Email) EmailConfig() notify.EmailConfig {
	return notify.EmailConfig{
		SMTP: e.SMTP, Username: e.Username, Password: e.Password, From: e.From,
		To: e.To, Subject: e.Subject, Timeout: e.Timeout,
	}
}

// headerName is an HTTP token (RFC 9110).
var headerName = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")

func validateNotify(d *decoder, n *Notify) {
	if n == nil {
		return
	}
	if c := n.Customer; c != nil {
		validateChannel(d, "notify.customer", c)
		if c.Email != nil {
			d.report("notify.customer.email", "customers are reached at their phone number: use a webhook to an SMS or WhatsApp gateway")
		}
	}
	if n.Staff != nil {
		validateChannel(d, "notify.staff", n.Staff)
	}
}

func validateChannel(d *decoder, path string, c *Channel) {
	// A misspelt "webhok" already has its message; "set a webhook" on top
	// would only confuse.
	if c.Webhook == nil && c.Email == nil && !failedUnder(d, path) {
		d.report(path, "set a webhook or an email, or leave %s out", path[strings.LastIndexByte(path, '.')+1:])
	}
	if c.Webhook != nil {
		validateWebhook(d, path+".webhook", c.Webhook)
	}
	if c.Email != nil {
		validateEmail(d, path+".email", c.Email)
	}
}

func validateWebhook(d *decoder, path string, w *Webhook) {
	if u, err := url.Parse(w.URL); w.URL == "" {
		d.report(path+".url", `a URL is required, such as "https://sms.example.com/api/send"`)
	} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		d.report(path+".url", "%q is not an absolute http:// or https:// URL, such as \"https://sms.example.com/api/send\"", w.URL)
	}
	switch m := strings.ToUpper(w.Method); m {
	case "POST", "PUT", "PATCH":
		w.Method = m
	default:
		d.report(path+".method", "%q is not one of POST, PUT, PATCH", w.Method)
	}
	contentType := "application/json"
	for _, k := range sortedKeys(w.Headers) {
		v := w.Headers[k]
		switch {
		case !headerName.MatchString(k):
			d.report(join(path+".headers", k), "%q is not an HTTP header name", k)
		case strings.ContainsAny(v, "\r\n"):
			d.report(join(path+".headers", k), "a header value cannot span lines")
		case strings.EqualFold(k, "Content-Type"):
			contentType = v
		}
	}
	// The body is parsed and tried on a sample message here, so "vhold
	// check" finds a broken template instead of the first late callback.
	if _, err := notify.ParseBody(w.Body, contentType); err != nil {
		d.report(path+".body", "%v", err)
	}
	if w.Timeout <= 0 {
		d.report(path+".timeout", "must be more than 0")
	}
	if w.Retries < 0 {
		d.report(path+".retries", "must be 0 or more")
	}
	if w.Retries > 0 && w.Backoff <= 0 {
		d.report(path+".backoff", "must be more than 0 when retries is more than 0")
	}
}

func validateEmail(d *decoder, path string, e *Email) {
	if addr, err := hostPort(e.SMTP, "587"); err != nil {
		d.report(path+".smtp", "%v", err)
	} else {
		e.SMTP = addr
	}
	switch {
	case e.Username != "" && e.Password == "":
		d.report(path+".password", "a password is required with a username")
	case e.Username == "" && e.Password != "":
		d.report(path+".password", "is set without a username, and a password is only sent with one")
	}
	if e.From == "" {
		d.report(path+".from", `a sender is required, such as "vhold <vhold@example.com>"`)
	} else if _, err := mail.ParseAddress(e.From); err != nil {
		d.report(path+".from", "%q is not an e-mail address (%v)", e.From, strings.TrimPrefix(err.Error(), "mail: "))
	}
	for i, to := range e.To {
		if _, err := mail.ParseAddress(to); err != nil {
			d.report(fmt.Sprintf("%s.to[%d]", path, i), "%q is not an e-mail address (%v)", to, strings.TrimPrefix(err.Error(), "mail: "))
		}
	}
	if _, err := notify.ParseSubject(e.Subject); err != nil {
		d.report(path+".subject", "%v", err)
	}
	if e.Timeout <= 0 {
		d.report(path+".timeout", "must be more than 0")
	}
}

// failedUnder reports whether something below path could not be decoded.
func failedUnder(d *decoder, path string) bool {
	for p := range d.failed {
		if strings.HasPrefix(p, path+".") || strings.HasPrefix(p, path+"[") {
			return true
		}
	}
	return false
}
