package notify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSMTP is just enough of an SMTP server for net/smtp: EHLO, STARTTLS
// (when given a certificate), AUTH PLAIN, MAIL, RCPT, DATA, RSET, QUIT. It
// records every accepted message.
type fakeSMTP struct {
	ln  net.Listener
	tls *tls.Config
	// rejectRcpt refuses recipients with this domain.
	rejectRcpt string

	mu    sync.Mutex
	mails []fakeMail
	wg    sync.WaitGroup
}

type fakeMail struct {
	helo, auth, from string
	rcpt             []string
	tls              bool
	data             string
}

func newFakeSMTP(t *testing.T, tlsConfig *tls.Config) *fakeSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeSMTP{ln: ln, tls: tlsConfig}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(conn)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *fakeSMTP) addr() string { return s.ln.Addr().String() }

func (s *fakeSMTP) got() []fakeMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]fakeMail(nil), s.mails...)
}

func (s *fakeSMTP) serve(conn net.Conn) {
	defer func() { conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(conn)
	tp.PrintfLine("220 fake ESMTP")
	var m fakeMail
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			m.helo = arg
			ext := []string{"fake greets " + arg}
			if s.tls != nil && !m.tls {
				ext = append(ext, "STARTTLS")
			}
			ext = append(ext, "AUTH PLAIN", "8BITMIME")
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				tp.PrintfLine("250%s%s", sep, e)
			}
		case "STARTTLS":
			tp.PrintfLine("220 ready to start TLS")
			tc := tls.Server(conn, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn, tp = tc, textproto.NewConn(tc)
			m = fakeMail{tls: true}
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			dec, err := base64.StdEncoding.DecodeString(resp)
			if mech != "PLAIN" || err != nil {
				tp.PrintfLine("504 unsupported")
				continue
			}
			m.auth = string(dec)
			tp.PrintfLine("235 ok")
		case "MAIL":
			m.from = angle(arg)
			tp.PrintfLine("250 ok")
		case "RCPT":
			a := angle(arg)
			if s.rejectRcpt != "" && strings.HasSuffix(a, "@"+s.rejectRcpt) {
				tp.PrintfLine("550 no such user here")
				continue
			}
			m.rcpt = append(m.rcpt, a)
			tp.PrintfLine("250 ok")
		case "DATA":
			tp.PrintfLine("354 go ahead")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			m.data = string(data)
			s.mu.Lock()
			s.mails = append(s.mails, m)
			s.mu.Unlock()
			m = fakeMail{helo: m.helo, auth: m.auth, tls: m.tls}
			tp.PrintfLine("250 queued")
		case "RSET", "NOOP":
			tp.PrintfLine("250 ok")
		case "QUIT":
			tp.PrintfLine("221 bye")
			return
		default:
			tp.PrintfLine("502 not implemented")
		}
	}
}

// angle takes the address out of "FROM:<a@b> BODY=8BITMIME".
func angle(arg string) string {
	_, rest, _ := strings.Cut(arg, "<")
	a, _, _ := strings.Cut(rest, ">")
	return a
}

// readMail parses a recorded message, decoding the subject and the
// quoted-printable body.
func readMail(t *testing.T, data string) (mail.Header, string, string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatalf("not a mail message: %v\n%s", err, data)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	return msg.Header, subject, string(body)
}

func TestEmail(t *testing.T) {
	srv := newFakeSMTP(t, nil)
	e, err := NewEmail(EmailConfig{
		SMTP:     srv.addr(),
		Username: "vhold",
		Password: "pw",
		From:     "vhold <vhold@example.com>",
		To:       []string{"Supervisors <supervisors@example.com>", "maria@example.com"},
		Hostname: "pbx1.example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Date(2026, 6, 3, 14, 45, 0, 0, time.FixedZone("CEST", 2*3600))
	m := Message{
		Kind: Escalation, To: "María Pérez <maria@example.com>", Ticket: 7, Queue: "billing", Category: "money",
		Text:     "Ticket 7 (+34911234567) missed its reset deadline: it is at the front of the line.\nSegunda promesa también en riesgo — a long line that quoted-printable has to wrap somewhere past seventy-six characters.",
		Deadline: deadline, Urgent: true,
	}
	if err := e.Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	mails := srv.got()
	if len(mails) != 1 {
		t.Fatalf("%d messages, want 1", len(mails))
	}
	got := mails[0]
	if got.helo != "pbx1.example.com" || got.auth != "\x00vhold\x00pw" || got.from != "vhold@example.com" {
		t.Errorf("helo %q, auth %q, from %q", got.helo, got.auth, got.from)
	}
	// The message's own address first, and a fixed one it repeats only once.
	if want := []string{"maria@example.com", "supervisors@example.com"}; !reflect.DeepEqual(got.rcpt, want) {
		t.Errorf("recipients %q, want %q", got.rcpt, want)
	}

	h, subject, body := readMail(t, got.data)
	if want := "[vhold] URGENT promise escalated: ticket 7 in billing (money)"; subject != want {
		t.Errorf("subject %q, want %q", subject, want)
	}
	from, err := h.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Address != "vhold@example.com" || from[0].Name != "vhold" {
		t.Errorf("From %q: %v", h.Get("From"), err)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 2 || to[0].Name != "María Pérez" || to[1].Address != "supervisors@example.com" {
		t.Errorf("To %q: %v", h.Get("To"), err)
	}
	for k, want := range map[string]string{
		"Importance": "high", "X-Priority": "1", "Auto-Submitted": "auto-generated", "MIME-Version": "1.0",
		"Content-Type": "text/plain; charset=utf-8", "Content-Transfer-Encoding": "quoted-printable",
	} {
		if h.Get(k) != want {
			t.Errorf("%s: %q, want %q", k, h.Get(k), want)
		}
	}
	if _, err := h.Date(); err != nil {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	if id := h.Get("Message-ID"); !strings.HasPrefix(id, "<vhold.7.") || !strings.HasSuffix(id, "@example.com>") {
		t.Errorf("Message-ID %q", id)
	}
	// (textproto's dot reader turned the wire's CRLF into LF.)
	wantBody := m.Text + "\n\nTicket:   7\nQueue:    billing\nCategory: money\nDeadline: 2026-06-03 14:45 CEST\n"
	if body != wantBody {
		t.Errorf("body:\n%q\nwant:\n%q", body, wantBody)
	}
	for line := range strings.SplitSeq(got.data, "\n") {
		if len(line) > 78 {
			t.Errorf("line of %d characters on the wire: %q", len(line), line)
		}
	}
}

func TestEmailSTARTTLS(t *testing.T) {
	serverTLS, roots := selfSigned(t)
	srv := newFakeSMTP(t, serverTLS)
	e, err := NewEmail(EmailConfig{
		SMTP: srv.addr(), Username: "vhold", Password: "pw", From: "vhold@example.com",
		Subject: `{{.Queue}} #{{.Ticket}}: {{.Kind}}`,
		TLS:     &tls.Config{RootCAs: roots},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := Sample()
	m.Kind, m.To = Owner, "ana@example.com"
	if err := e.Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	mails := srv.got()
	if len(mails) != 1 || !mails[0].tls || mails[0].auth != "\x00vhold\x00pw" {
		t.Fatalf("messages %+v, want one sent after STARTTLS and AUTH", mails)
	}
	h, subject, _ := readMail(t, mails[0].data)
	if subject != "support #42: owner" || h.Get("Importance") != "" {
		t.Errorf("subject %q, importance %q", subject, h.Get("Importance"))
	}

	// Without the certificate in the roots the server is not trusted, and
	// nothing (least of all the password) is sent.
	e, err = NewEmail(EmailConfig{SMTP: srv.addr(), Username: "vhold", Password: "pw", From: "vhold@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Notify(context.Background(), m); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("error = %v, want a STARTTLS failure", err)
	}
	if n := len(srv.got()); n != 1 {
		t.Errorf("%d messages, want still 1", n)
	}
}

func TestDefaultSubject(t *testing.T) {
	tpl, err := ParseSubject("")
	if err != nil {
		t.Fatal(err)
	}
	m := Sample()
	for kind, want := range map[Kind]string{
		Owner:      "[vhold] promise at risk, now yours: ticket 42 in support (money)",
		Escalation: "[vhold] URGENT promise escalated: ticket 42 in support (money)",
		Recovery:   "[vhold] recovery: ticket 42 in support (money)",
	} {
		m.Kind, m.Urgent = kind, kind == Escalation
		if got, err := render(tpl, m); err != nil || string(got) != want {
			t.Errorf("%s: %q, %v; want %q", kind, got, err, want)
		}
	}
}

func TestEmailErrors(t *testing.T) {
	srv := newFakeSMTP(t, nil)
	srv.rejectRcpt = "gone.example.com"
	e, err := NewEmail(EmailConfig{SMTP: srv.addr(), From: "vhold@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	m := Sample()
	m.Kind = Owner
	if err := e.Notify(context.Background(), m); err == nil || !strings.Contains(err.Error(), `"+34911234567" is not an e-mail address`) {
		t.Errorf("phone number as recipient: error = %v", err)
	}
	m.To = "old@gone.example.com"
	if err := e.Notify(context.Background(), m); err == nil || !strings.Contains(err.Error(), "RCPT TO old@gone.example.com: 550") || !strings.Contains(err.Error(), "no such user here") {
		t.Errorf("refused recipient: error = %v", err)
	}
	// A subject can carry the message's text, but never a header of its own.
	e, err = NewEmail(EmailConfig{SMTP: srv.addr(), From: "vhold@example.com", Subject: "{{.Text}}"})
	if err != nil {
		t.Fatal(err)
	}
	m.To, m.Text = "ana@example.com", "hi\r\nBcc: evil@example.com"
	if err := e.Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	mails := srv.got()
	if len(mails) != 1 {
		t.Fatalf("%d messages, want 1", len(mails))
	}
	if h, _, _ := readMail(t, mails[0].data); h.Get("Bcc") != "" || h.Get("Subject") != "hi Bcc: evil@example.com" {
		t.Errorf("headers %q, want the text on the subject line and no Bcc", h)
	}

	// A server that never greets: the context ends the attempt.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			defer c.Close()
			io.Copy(io.Discard, c)
		}
	}()
	e, err = NewEmail(EmailConfig{SMTP: ln.Addr().String(), From: "vhold@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := e.Notify(ctx, m); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("silent server: error = %v after %v", err, time.Since(start))
	}
}

func TestNewEmailErrors(t *testing.T) {
	tests := []struct {
		c    EmailConfig
		want string
	}{
		{EmailConfig{SMTP: "mail.example.com", From: "a@b.c"}, `smtp "mail.example.com" is not host:port`},
		{EmailConfig{SMTP: "h:25", From: "vhold"}, `from "vhold": mail: missing '@' or angle-addr`},
		{EmailConfig{SMTP: "h:25", From: "a@b.c", To: []string{"x"}}, `to "x"`},
		{EmailConfig{SMTP: "h:25", From: "a@b.c", Subject: "{{.Tiket}}"}, `subject: template line 1:2: executing "subject" at <.Tiket>`},
	}
	for _, tt := range tests {
		if _, err := NewEmail(tt.c); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewEmail(%+v) error = %v, want it to contain %q", tt.c, err, tt.want)
		}
	}
}

// selfSigned makes a server certificate for 127.0.0.1 and the pool that
// trusts it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "fake smtp"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, roots
}
