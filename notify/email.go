package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"os"
	"strings"
	"text/template"
	"time"
)

// EmailConfig is how an Email reaches its mail server.
type EmailConfig struct {
	// SMTP is the server's host:port (587 is the submission port).
	SMTP string
	// Username turns on PLAIN authentication, which net/smtp allows only
	// over TLS (or to localhost), so a password never crosses the network
	// in clear.
	Username string
	Password string
	// From is the sender, "vhold <vhold@example.com>".
	From string
	// To receives every message, beside the message's own To when that is
	// an e-mail address (a supervisors' list, say).
	To []string
	// Subject is a text/template over Message; empty is DefaultSubject.
	Subject string
	// Timeout bounds one delivery; default 30s.
	Timeout time.Duration
	// TLS configures STARTTLS; nil verifies the server against the system
	// roots under the host name of SMTP.
	TLS *tls.Config
	// Hostname is what vhold calls itself in EHLO; default the machine's
	// host name.
	Hostname string
}

// Email sends each message as a plain-text e-mail, for the staff: the owner
// of a promise at risk and the supervisor of an escalation. It is safe for
// concurrent use: each message is its own SMTP connection.
type Email struct {
	addr, host string
	username   string
	password   string
	from       *mail.Address
	to         []*mail.Address
	subject    *template.Template
	timeout    time.Duration
	tls        *tls.Config
	hostname   string
	now        func() time.Time
}

// NewEmail checks the configuration and parses the subject template, so a
// mistake is found at start-up rather than by the first escalation.
func NewEmail(c EmailConfig) (*Email, error) {
	host, _, err := net.SplitHostPort(c.SMTP)
	if err != nil || host == "" {
		return nil, fmt.Errorf("email: smtp %q is not host:port", c.SMTP)
	}
	e := &Email{
		addr:     c.SMTP,
		host:     host,
		username: c.Username,
		password: c.Password,
		timeout:  c.Timeout,
		hostname: c.Hostname,
		now:      time.Now,
	}
	if e.from, err = mail.ParseAddress(c.From); err != nil {
		return nil, fmt.Errorf("email: from %q: %w", c.From, err)
	}
	for _, s := range c.To {
		a, err := mail.ParseAddress(s)
		if err != nil {
			return nil, fmt.Errorf("email: to %q: %w", s, err)
		}
		e.to = append(e.to, a)
	}
	if e.subject, err = ParseSubject(c.Subject); err != nil {
		return nil, fmt.Errorf("email: subject: %w", err)
	}
	if e.timeout <= 0 {
		e.timeout = 30 * time.Second
	}
	if c.TLS != nil {
		e.tls = c.TLS.Clone()
	} else {
		e.tls = &tls.Config{}
	}
	if e.tls.ServerName == "" {
		e.tls.ServerName = host
	}
	if e.hostname == "" {
		if e.hostname, err = os.Hostname(); err != nil || e.hostname == "" {
			e.hostname = "localhost"
		}
	}
	return e, nil
}

// Notify delivers m in one SMTP transaction: STARTTLS when the server
// offers it, PLAIN authentication when a username is configured.
func (e *Email) Notify(ctx context.Context, m Message) error {
	rcpt := e.recipients(m)
	if len(rcpt) == 0 {
		return fmt.Errorf("email via %s: ticket %d: %q is not an e-mail address and no fixed recipient is configured", e.addr, m.Ticket, m.To)
	}
	msg, err := e.compose(m, rcpt)
	if err != nil {
		return fmt.Errorf("email via %s: ticket %d: %w", e.addr, m.Ticket, err)
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	if err := e.send(ctx, rcpt, msg); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return fmt.Errorf("email via %s: ticket %d: %w", e.addr, m.Ticket, err)
	}
	return nil
}

// recipients is m.To when it is an address, then the fixed ones, without
// repeats.
func (e *Email) recipients(m Message) []*mail.Address {
	var out []*mail.Address
	seen := map[string]bool{}
	if a, err := mail.ParseAddress(m.To); err == nil {
		out = append(out, a)
		seen[strings.ToLower(a.Address)] = true
	}
	for _, a := range e.to {
		if !seen[strings.ToLower(a.Address)] {
			out = append(out, a)
			seen[strings.ToLower(a.Address)] = true
		}
	}
	return out
}

func (e *Email) send(ctx context.Context, rcpt []*mail.Address, msg []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", e.addr)
	if err != nil {
		return err
	}
	// net/smtp takes no context: when ctx ends (Notify gives it the
	// timeout), the deadline moves into the past to unblock the read or
	// write under way.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, e.host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello(e.hostname); err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(e.tls); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if e.username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("a username is configured but the server offers no AUTH")
		}
		if err := c.Auth(smtp.PlainAuth("", e.username, e.password, e.host)); err != nil {
			return fmt.Errorf("AUTH PLAIN as %s: %w", e.username, err)
		}
	}
	if err := c.Mail(e.from.Address); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	for _, a := range rcpt {
		if err := c.Rcpt(a.Address); err != nil {
			return fmt.Errorf("RCPT TO %s: %w", a.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	// Close is where the server accepts or refuses the message.
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	// The message is accepted; a failed QUIT does not unsend it.
	_ = c.Quit()
	return nil
}

// compose writes the message: quoted-printable UTF-8, since the text is in
// the customer's or staff's language, and marked auto-generated so vacation
// replies do not answer vhold.
func (e *Email) compose(m Message, rcpt []*mail.Address) ([]byte, error) {
	subj, err := render(e.subject, m)
	if err != nil {
		return nil, fmt.Errorf("subject: %w", err)
	}
	// A newline in a header would start a header of its own.
	subject := strings.Join(strings.Fields(string(subj)), " ")
	to := make([]string, len(rcpt))
	for i, a := range rcpt {
		to[i] = a.String()
	}
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", e.from.String())
	// One address a line keeps a long list inside the 78-character lines
	// mail readers expect.
	h("To", strings.Join(to, ",\r\n "))
	h("Subject", mime.QEncoding.Encode("utf-8", subject))
	h("Date", e.now().Format(time.RFC1123Z))
	h("Message-ID", fmt.Sprintf("<vhold.%d.%s@%s>", m.Ticket, randomID(), e.from.Address[strings.LastIndexByte(e.from.Address, '@')+1:]))
	h("Auto-Submitted", "auto-generated")
	if m.Urgent {
		h("Importance", "high")
		h("X-Priority", "1")
	}
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")

	qp := quotedprintable.NewWriter(&b)
	fmt.Fprintf(qp, "%s\n\n", strings.TrimRight(m.Text, "\n"))
	fmt.Fprintf(qp, "Ticket:   %d\nQueue:    %s\n", m.Ticket, m.Queue)
	if m.Category != "" {
		fmt.Fprintf(qp, "Category: %s\n", m.Category)
	}
	if !m.Deadline.IsZero() {
		fmt.Fprintf(qp, "Deadline: %s\n", m.Deadline.Format("2006-01-02 15:04 MST"))
	}
	if m.Kind == Recovery && m.To != "" {
		fmt.Fprintf(qp, "Customer: %s\n", m.To)
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func randomID() string {
	var r [8]byte
	_, _ = rand.Read(r[:])
	return hex.EncodeToString(r[:])
}
