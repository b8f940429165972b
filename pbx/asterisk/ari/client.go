package ari

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/clock"
)

// Defaults, in one place.
const (
	// DefaultTimeout bounds an ordinary REST call. Asterisk answers them in
	// about a millisecond on a healthy box (traces: elapsed_ms < 5); seconds
	// mean it is stuck, and the flow should hear about it.
	DefaultTimeout = 10 * time.Second
	// DefaultBridgeTimeout bounds addChannel/removeChannel, which wait for a
	// running channel playback to end before they return (4.7 s in
	// traces/callback-flow.jsonl). It must outlast the longest prompt vhold
	// could be playing; the adapter stops playbacks first so that it rarely
	// matters.
	DefaultBridgeTimeout = 60 * time.Second
	// maxConns caps connections to one Asterisk. Its HTTP server refuses
	// sessions beyond http.conf's sessionlimit (100 by default), and the
	// event WebSocket needs one of them.
	maxConns = 64
	// idleConnTimeout drops idle keep-alive connections before Asterisk's
	// session_keep_alive (15 s by default) closes them under us: a POST sent
	// on a connection the server has just closed fails and is not retried.
	idleConnTimeout = 10 * time.Second
	// maxBody bounds how much of a response is read.
	maxBody = 8 << 20
)

// Config configures a Client for one Asterisk server.
type Config struct {
	// BaseURL is the ARI root, e.g. "http://127.0.0.1:8088/ari".
	BaseURL string
	// Username and Password are an ari.conf user; sent as HTTP Basic auth on
	// REST calls and as api_key on the WebSocket.
	Username, Password string
	// App is the Stasis application name (Stasis(App,...) in the dialplan).
	App string
	// HTTPClient carries REST calls and the WebSocket handshake. Nil gives a
	// keep-alive client sized for ARI (see maxConns, idleConnTimeout). Its
	// Timeout, if any, applies to REST calls only; prefer Timeout below.
	HTTPClient *http.Client
	// Timeout bounds each REST call; zero means DefaultTimeout.
	Timeout time.Duration
	// BridgeTimeout bounds addChannel/removeChannel; zero means
	// DefaultBridgeTimeout.
	BridgeTimeout time.Duration
	// Clock stamps synthetic events and paces reconnects; nil is the wall
	// clock.
	Clock clock.Clock
	// Log receives debug lines per request and the stream's connection
	// changes; nil discards them.
	Log *logrus.Entry
}

// Client talks to one Asterisk over ARI. It is safe for concurrent use.
type Client struct {
	base     string
	user     string
	pass     string
	app      string
	http     *http.Client
	timeout  time.Duration
	bridgeTO time.Duration
	clock    clock.Clock
	log      *logrus.Entry
}

// New returns a client for cfg. It does not contact Asterisk; call
// Asterisk().Info to check the address and credentials.
func New(cfg Config) *Client {
	c := &Client{
		base:     strings.TrimRight(cfg.BaseURL, "/"),
		user:     cfg.Username,
		pass:     cfg.Password,
		app:      cfg.App,
		http:     cfg.HTTPClient,
		timeout:  cfg.Timeout,
		bridgeTO: cfg.BridgeTimeout,
		clock:    cfg.Clock,
		log:      cfg.Log,
	}
	if c.http == nil {
		c.http = &http.Client{Transport: NewTransport()}
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.bridgeTO <= 0 {
		c.bridgeTO = DefaultBridgeTimeout
	}
	if c.clock == nil {
		c.clock = clock.Real{}
	}
	if c.log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		l.SetLevel(logrus.PanicLevel)
		c.log = logrus.NewEntry(l)
	}
	c.log = c.log.WithField("ari", c.base)
	return c
}

// NewTransport returns the HTTP transport New uses when Config.HTTPClient is
// nil: keep-alive, a connection cap below Asterisk's session limit, idle
// connections dropped before Asterisk drops them, and no proxy from the
// environment (ARI is a local service, and nothing below cmd reads the
// environment).
func NewTransport() *http.Transport {
	return &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        maxConns,
		MaxIdleConnsPerHost: maxConns,
		MaxConnsPerHost:     maxConns,
		IdleConnTimeout:     idleConnTimeout,
		TLSHandshakeTimeout: 5 * time.Second,
	}
}

// App is the Stasis application name the client was configured with.
func (c *Client) App() string { return c.app }

// NewID returns prefix + "-" + 16 random hex digits, for the channelId,
// playbackId and bridgeId vhold chooses itself: a retried request then hits
// 409 instead of creating a second object, and events can be matched to the
// request before its response arrives.
func NewID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	if prefix == "" {
		return hex.EncodeToString(b[:])
	}
	return prefix + "-" + hex.EncodeToString(b[:])
}

// request is one REST call.
type request struct {
	method string
	// path is below the ARI root, with ids already escaped (see p).
	path    string
	query   url.Values
	body    any
	timeout time.Duration
}

// p joins path segments, escaping each one: channel ids contain dots,
// device names colons, recording names anything.
func p(segments ...string) string {
	var b strings.Builder
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// do sends r and decodes a 2xx JSON body into out (if out is not nil).
// A non-2xx status becomes an *Error; a transport failure or timeout is
// wrapped with the method and path. A timed-out request may still be carried
// out by Asterisk later.
func (c *Client) do(ctx context.Context, r request, out any) error {
	timeout := r.timeout
	if timeout <= 0 {
		timeout = c.timeout
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return fmt.Errorf("ari %s %s: encode body: %w", r.method, r.path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return fmt.Errorf("ari %s %s: %w", r.method, r.path, err)
	}
	req.SetBasicAuth(c.user, c.pass)
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && parent.Err() == nil {
			return fmt.Errorf("ari %s %s: no answer within %s: %w", r.method, r.path, timeout, err)
		}
		return fmt.Errorf("ari %s %s: %w", r.method, r.path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	c.log.WithFields(logrus.Fields{
		"method":     r.method,
		"path":       r.path,
		"status":     resp.StatusCode,
		"elapsed_ms": time.Since(start).Milliseconds(),
	}).Debug("ari request")
	if err != nil {
		return fmt.Errorf("ari %s %s: read response: %w", r.method, r.path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newError(resp.StatusCode, r.method, r.path, data)
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("ari %s %s: decode %d response: %w", r.method, r.path, resp.StatusCode, err)
	}
	return nil
}

// setIf adds key=value to q when value is not empty: ARI treats an empty
// parameter differently from a missing one for some verbs (callerId).
func setIf(q url.Values, key, value string) {
	if value != "" {
		q.Set(key, value)
	}
}

// joinList joins ids or arguments with commas, the list separator of ARI's
// query parameters (appArgs, media, channel). An item containing a comma
// cannot be sent that way, so it is an error rather than a silent split.
func joinList(what string, items []string) (string, error) {
	for _, it := range items {
		if strings.Contains(it, ",") {
			return "", fmt.Errorf("ari: %s %q contains a comma, which ARI would split", what, it)
		}
	}
	return strings.Join(items, ","), nil
}
