package aritest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// The replay drives a Server with the REST requests and WebSocket actions of
// a recorded trace, in the trace's order and pace (sped up), plays the sipp
// parties the trace started, and checks that what comes back matches what
// the real Asterisk sent: every REST status, content type and body, and the
// sequence of events per WebSocket with their bodies. Values that cannot
// match (ids Asterisk chose, timestamps, protocol ids, channel name counters)
// are compared by shape, and the ids are learnt as they first appear so later
// requests use the fake's.
//
// ChannelVarset events are left out of the comparison on both sides: their
// number and order vary from run to run on the real Asterisk (BRIDGEPEER is
// set two to four times per bridge change in the traces), and clients must
// ignore them. The fake still sends them.

// traceDir holds the recorded traces, outside the module (DESIGN.md: the
// shared folder next to the repository).
const traceDir = "../../../../shared/pbx/asterisk/traces"

// replaySpeed is how much faster than the recording the replays run.
const replaySpeed = 20

type traceLine struct {
	TMs         float64           `json:"t_ms"`
	Seq         int               `json:"seq"`
	Kind        string            `json:"kind"`
	WS          int               `json:"ws"`
	Type        string            `json:"type"`
	Event       json.RawMessage   `json:"event"`
	Req         int               `json:"req"`
	Method      string            `json:"method"`
	URL         string            `json:"url"`
	Query       map[string]string `json:"query"`
	RequestBody json.RawMessage   `json:"request_body"`
	Status      int               `json:"status"`
	ContentType string            `json:"content_type"`
	Body        json.RawMessage   `json:"body"`
	BodyText    string            `json:"body_text"`
	Name        string            `json:"name"`
	Args        []string          `json:"args"`
	Text        string            `json:"text"`
	Error       string            `json:"error"`
	SipFlow     []string          `json:"sip_flow"`
}

func loadTrace(t *testing.T, name string) []traceLine {
	t.Helper()
	f, err := os.Open(filepath.Join(traceDir, name))
	if err != nil {
		t.Skipf("trace %s not available (%v): the conformance tests need shared/pbx/asterisk/traces next to the repository", name, err)
	}
	defer f.Close()
	var lines []traceLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		var l traceLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// scenario configures the replay of one trace.
type scenario struct {
	file string
	// anyOrder lists groups of event seqs (consecutive once ChannelVarset is
	// left out) that the fake may send in another order than this trace
	// shows, each with the reason: places where the real Asterisk's order
	// varies between runs, so the fake cannot match every trace at once.
	anyOrder [][]int
}

// replay is one running replay.
type replay struct {
	t       *testing.T
	sc      scenario
	srv     *Server
	host    string // http://127.0.0.1:port
	ids     map[string]string
	ws      map[int]*clientWS
	pending map[int]chan restResult
	uacs    map[string]*Call
	uas     map[string]*Endpoint
	wg      sync.WaitGroup

	anchorReal  time.Time
	anchorTrace float64
	groupDone   map[int]bool

	nEvents, nResponses, nFlows int // what was checked, for the summary
}

type restResult struct {
	status      int
	contentType string
	body        []byte
	err         error
}

// clientWS is the test's end of an events WebSocket: it collects the events
// other than ChannelVarset.
type clientWS struct {
	id     int // the server's number for the connection
	conn   *websocket.Conn
	raw    net.Conn
	mu     sync.Mutex
	events [][]byte
	notify chan struct{}
	done   chan struct{}
}

func (c *clientWS) next(timeout time.Duration) ([]byte, bool) {
	deadline := time.After(timeout)
	for {
		c.mu.Lock()
		if len(c.events) > 0 {
			e := c.events[0]
			c.events = c.events[1:]
			c.mu.Unlock()
			return e, true
		}
		c.mu.Unlock()
		select {
		case <-c.notify:
		case <-deadline:
			return nil, false
		}
	}
}

func (c *clientWS) buffered() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.events)
}

func runScenario(t *testing.T, sc scenario) {
	lines := loadTrace(t, sc.file)
	srv := New(Options{
		User: "vhold", Password: "vhold", App: "vhold-trace",
		Speed: replaySpeed, ServerName: "vhold-trace",
		Log: func(format string, args ...any) {
			if testing.Verbose() {
				t.Logf(format, args...)
			}
		},
	})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	r := &replay{
		t: t, sc: sc, srv: srv, host: strings.TrimSuffix(srv.URL(), "/ari"),
		ids: map[string]string{}, ws: map[int]*clientWS{}, pending: map[int]chan restResult{},
		uacs: map[string]*Call{}, uas: map[string]*Endpoint{}, groupDone: map[int]bool{},
	}
	// Endpoints no sipp plays: a static contact nobody listens at and an AOR
	// without contacts (example-conf/pjsip.conf).
	r.uas["ghost"] = srv.Endpoint("PJSIP/ghost", Behaviour{Outcome: Ghost})
	r.uas["offline"] = srv.Endpoint("PJSIP/offline", Behaviour{Outcome: Unreachable})
	defer func() {
		for _, c := range r.ws {
			_ = c.conn.CloseNow()
		}
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
		r.wg.Wait()
	}()
	r.anchorReal = time.Now()
	for _, l := range lines {
		if t.Failed() {
			t.Logf("stopping %s at seq %d", sc.file, l.Seq)
			return
		}
		r.step(l)
	}
	t.Logf("%s: %d lines replayed; checked %d events, %d REST responses, %d SIP flows", sc.file, len(lines), r.nEvents, r.nResponses, r.nFlows)
}

// pace waits until the trace time of l, relative to the last anchor.
func (r *replay) pace(l traceLine) {
	at := r.anchorReal.Add(time.Duration((l.TMs - r.anchorTrace) * float64(time.Millisecond) / replaySpeed))
	if d := time.Until(at); d > 0 {
		time.Sleep(d)
	}
}

func (r *replay) anchor(l traceLine) {
	r.anchorReal = time.Now()
	r.anchorTrace = l.TMs
}

func (r *replay) step(l traceLine) {
	t := r.t
	switch l.Kind {
	case "ws_connect":
		r.pace(l)
		r.connect(l)
	case "ws_close":
		r.pace(l)
		c := r.ws[l.WS]
		if strings.Contains(l.Text, "drops TCP") {
			_ = c.raw.Close()
		} else {
			_ = c.conn.Close(websocket.StatusNormalClosure, "")
		}
		r.waitClosed(l, c)
	case "rest_request":
		r.pace(l)
		r.request(l)
	case "rest_response":
		r.response(l)
	case "event":
		if l.Type == "ChannelVarset" {
			return
		}
		r.event(l)
	case "sipp_start":
		r.pace(l)
		r.startSipp(l)
	case "sipp_exit":
		r.pace(l)
		r.checkSipp(l)
	case "note":
		if l.Text == "WAIT TIMEOUT" {
			r.pace(l)
			r.checkNothing(l)
		}
	case "ws_open", "ws_closed", "ws_connect_failed", "meta":
	default:
		t.Fatalf("seq %d: unknown kind %q", l.Seq, l.Kind)
	}
}

// connect opens an events WebSocket like the trace's client; the failing
// ones (ws 900+) are checked against the recorded ws_connect_failed.
func (r *replay) connect(l traceLine) {
	t := r.t
	url := r.host + r.subst(l.URL)
	if l.WS >= 900 {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("seq %d: %v", l.Seq, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r.checkFailedConnect(l, resp, body)
		return
	}
	c := &clientWS{notify: make(chan struct{}, 1), done: make(chan struct{})}
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			c.raw = conn
			return conn, err
		},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http"), &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatalf("seq %d: WebSocket %d: %v", l.Seq, l.WS, err)
	}
	c.conn = conn
	r.ws[l.WS] = c
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(c.done)
		for {
			_, b, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			var head struct{ Type string }
			_ = json.Unmarshal(b, &head)
			if head.Type == "ChannelVarset" {
				continue
			}
			c.mu.Lock()
			c.events = append(c.events, b)
			c.mu.Unlock()
			select {
			case c.notify <- struct{}{}:
			default:
			}
		}
	}()
	// Let the server register the consumer before the trace goes on, as
	// the recorded client did by waiting for ws_open.
	if err := r.srv.WaitFor(ctx, func() bool { return r.srv.WebSockets() >= len(r.ws) }); err != nil {
		t.Fatalf("seq %d: %v", l.Seq, err)
	}
	c.id = r.srv.WebSockets()
}

// waitClosed waits until the server has let go of a connection the client
// closed. The client's close returns when the server echoed the close frame,
// a moment before the server drops the app's consumer; the recorded client's
// next steps (a new caller, disconnect.jsonl seq 24) came after Asterisk had.
func (r *replay) waitClosed(l traceLine, c *clientWS) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := r.srv.WaitFor(ctx, func() bool {
		r.srv.mu.Lock()
		defer r.srv.mu.Unlock()
		for sc := range r.srv.conns {
			if sc.id == c.id {
				return false
			}
		}
		return true
	})
	if err != nil {
		r.t.Fatalf("seq %d: the server kept WebSocket %d: %v", l.Seq, l.WS, err)
	}
}

// Following lines: the failed connect's expectations.
func (r *replay) checkFailedConnect(connect traceLine, resp *http.Response, body []byte) {
	t := r.t
	exp := r.findLine(func(x traceLine) bool { return x.Kind == "ws_connect_failed" && x.WS == connect.WS })
	if resp.StatusCode != exp.Status {
		t.Errorf("seq %d: WebSocket %d: status %d, want %d", exp.Seq, connect.WS, resp.StatusCode, exp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != exp.ContentType {
		t.Errorf("seq %d: content type %q, want %q", exp.Seq, ct, exp.ContentType)
	}
	if exp.BodyText != "" {
		if string(body) != exp.BodyText {
			t.Errorf("seq %d: body\n%q\nwant\n%q", exp.Seq, body, exp.BodyText)
		}
		return
	}
	r.compareJSON(exp.Seq, "body", exp.Body, body, false)
}

func (r *replay) findLine(f func(traceLine) bool) traceLine {
	for _, l := range loadTrace(r.t, r.sc.file) {
		if f(l) {
			return l
		}
	}
	r.t.Fatal("no such trace line")
	return traceLine{}
}

// idRE matches the ids Asterisk chooses: uniqueids and UUIDs.
var idRE = regexp.MustCompile(`\d{10}\.\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// subst replaces the trace's Asterisk-chosen ids with the fake's.
func (r *replay) subst(s string) string {
	return idRE.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := r.ids[m]; ok {
			return v
		}
		return m
	})
}

func (r *replay) request(l traceLine) {
	url := r.host + r.subst(l.URL)
	var body io.Reader
	if len(l.RequestBody) > 0 {
		body = bytes.NewReader([]byte(r.subst(string(l.RequestBody))))
	}
	req, err := http.NewRequest(l.Method, url, body)
	if err != nil {
		r.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cred, ok := strings.CutPrefix(l.Text, "basic auth "); ok {
		u, p, _ := strings.Cut(cred, ":")
		req.SetBasicAuth(u, p)
	}
	ch := make(chan restResult, 1)
	r.pending[l.Req] = ch
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			ch <- restResult{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ch <- restResult{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: b}
	}()
}

func (r *replay) response(l traceLine) {
	t := r.t
	var res restResult
	select {
	case res = <-r.pending[l.Req]:
	case <-time.After(10 * time.Second):
		t.Fatalf("seq %d: no response to req %d %s %s", l.Seq, l.Req, l.Method, l.URL)
	}
	if res.err != nil {
		t.Fatalf("seq %d: req %d: %v", l.Seq, l.Req, res.err)
	}
	r.nResponses++
	what := fmt.Sprintf("req %d %s %s", l.Req, l.Method, l.URL)
	if res.status != l.Status {
		t.Errorf("seq %d: %s: status %d, want %d (body %s)", l.Seq, what, res.status, l.Status, res.body)
		return
	}
	if res.contentType != l.ContentType {
		t.Errorf("seq %d: %s: content type %q, want %q", l.Seq, what, res.contentType, l.ContentType)
	}
	if len(l.Body) == 0 {
		if len(res.body) != 0 {
			t.Errorf("seq %d: %s: body %s, want none", l.Seq, what, res.body)
		}
		return
	}
	// The 201 of a play says "queued" or "playing" depending on whether the
	// playback started before Asterisk wrote it (hold-bridge.jsonl seq 37,
	// errors.jsonl seq 138); the fake always says "queued".
	lenient := l.Status == http.StatusCreated
	r.compareJSON(l.Seq, what, l.Body, res.body, lenient)
}

// event checks the next event of the line's WebSocket.
func (r *replay) event(l traceLine) {
	t := r.t
	c := r.ws[l.WS]
	if c == nil {
		t.Fatalf("seq %d: no WebSocket %d", l.Seq, l.WS)
	}
	if r.groupDone[l.Seq] {
		return
	}
	r.drive(l)
	wait := 5 * time.Second
	if g := r.group(l.Seq); g != nil {
		r.eventGroup(l, c, g)
		r.anchor(l)
		return
	}
	got, ok := c.next(wait)
	if !ok {
		t.Fatalf("seq %d: WebSocket %d: no %s event within %v", l.Seq, l.WS, l.Type, wait)
	}
	r.compareJSON(l.Seq, "event "+l.Type, l.Event, got, false)
	r.nEvents++
	r.anchor(l)
}

func (r *replay) group(seq int) []int {
	for _, g := range r.sc.anyOrder {
		if g[0] == seq {
			return g
		}
	}
	return nil
}

// eventGroup matches the next len(g) events against the group's lines in any
// order.
func (r *replay) eventGroup(first traceLine, c *clientWS, g []int) {
	t := r.t
	var want []traceLine
	for _, seq := range g {
		want = append(want, r.findLine(func(x traceLine) bool { return x.Seq == seq }))
		r.groupDone[seq] = true
	}
	var got [][]byte
	for range g {
		b, ok := c.next(5 * time.Second)
		if !ok {
			t.Fatalf("seq %v: WebSocket %d: missing events", g, first.WS)
		}
		got = append(got, b)
	}
	for _, w := range want {
		found := -1
		for i, b := range got {
			if b != nil && r.matches(w.Event, b, true) {
				found = i
				break
			}
		}
		if found < 0 {
			t.Errorf("seq %d: no event in the group matches %s; got:\n%s", w.Seq, w.Event, bytes.Join(got, []byte("\n")))
			continue
		}
		r.compareJSONWith(w.Seq, "event "+w.Type, w.Event, got[found], &comparison{anyState: true})
		r.nEvents++
		got[found] = nil
	}
}

// drive plays the sipp side at the moment the trace shows its effect: a key
// press of a caller whose sipp pressed on its own schedule. The replay presses
// when it reaches the event, so presses keep their place among the events
// even when the fake runs faster or slower than the recording.
func (r *replay) drive(l traceLine) {
	if l.Type != "ChannelDtmfReceived" {
		return
	}
	var e struct {
		Digit   string `json:"digit"`
		Channel struct {
			ID string `json:"id"`
		} `json:"channel"`
	}
	if err := json.Unmarshal(l.Event, &e); err != nil {
		r.t.Fatal(err)
	}
	pressAt := l
	pressAt.TMs -= float64(dtmfPress / time.Millisecond)
	r.pace(pressAt)
	id := r.subst(e.Channel.ID)
	for _, c := range r.srv.Calls() {
		if c.ID() == id {
			c.Press(e.Digit)
			return
		}
	}
	r.t.Fatalf("seq %d: no call on channel %s to press %s", l.Seq, id, e.Digit)
}

// checkNothing checks a "WAIT TIMEOUT": the event the client waited for did
// not come to the fake's client either.
func (r *replay) checkNothing(l traceLine) {
	m := regexp.MustCompile(`waiting for (\w+)`).FindStringSubmatch(l.Error)
	if m == nil {
		return
	}
	for n, c := range r.ws {
		for _, b := range c.buffered() {
			var head struct{ Type string }
			_ = json.Unmarshal(b, &head)
			if head.Type == m[1] {
				r.t.Errorf("seq %d: WebSocket %d got %s, which the real Asterisk never sent: %s", l.Seq, n, m[1], b)
			}
		}
	}
}

// startSipp plays what a sipp instance of the trace did, from its scenario
// file and options (../../sipp/README.md).
func (r *replay) startSipp(l traceLine) {
	t := r.t
	sf, d := "", 0
	for i, a := range l.Args {
		switch a {
		case "-sf":
			sf = l.Args[i+1]
		case "-d":
			d, _ = strconv.Atoi(l.Args[i+1])
		}
	}
	switch sf {
	case "uac-dtmf.xml", "uac-wait.xml", "uac-hangup.xml":
		spec := CallSpec{
			Caller:   Party{Number: "caller", Name: "VHold Caller"},
			Endpoint: "caller",
			App:      "vhold-trace",
			Args:     []string{"queue=support"},
		}
		if sf == "uac-hangup.xml" {
			spec.Script = Script{{Delay: time.Duration(d) * time.Millisecond, HangUp: true}}
		}
		// uac-dtmf.xml presses "1" every 3 s; the replay presses when the
		// trace shows the press arriving (drive).
		r.uacs[l.Name] = r.srv.Call(spec)
	case "uas-answer.xml":
		r.uas[l.Name] = r.srv.Endpoint("PJSIP/"+l.Name, Behaviour{Outcome: Answer, Ring: time.Second})
	case "uas-answer-bye.xml":
		r.uas[l.Name] = r.srv.Endpoint("PJSIP/"+l.Name, Behaviour{Outcome: Answer, Ring: time.Second,
			Script: Script{{Delay: 5 * time.Second, HangUp: true}}})
	case "uas-busy.xml":
		r.uas[l.Name] = r.srv.Endpoint("PJSIP/"+l.Name, Behaviour{Outcome: Busy})
	case "uas-noanswer.xml":
		r.uas[l.Name] = r.srv.Endpoint("PJSIP/"+l.Name, Behaviour{Outcome: NoAnswer})
	default:
		t.Fatalf("seq %d: unknown sipp scenario %q", l.Seq, sf)
	}
}

// checkSipp compares a sipp instance's SIP messages with the party's.
// Retransmissions (two 603 Decline in a row, disconnect.jsonl seq 25) are
// collapsed on both sides.
func (r *replay) checkSipp(l traceLine) {
	var got []string
	if c := r.uacs[l.Name]; c != nil {
		got = c.SIPFlow()
	} else if e := r.uas[l.Name]; e != nil {
		got = e.SIPFlow()
	} else {
		r.t.Fatalf("seq %d: no sipp %q", l.Seq, l.Name)
	}
	r.nFlows++
	want := slices.Compact(slices.Clone(l.SipFlow))
	got = slices.Compact(got)
	if !slices.Equal(got, want) {
		r.t.Errorf("seq %d: sipp %s SIP flow\n got %q\nwant %q", l.Seq, l.Name, got, want)
	}
}
