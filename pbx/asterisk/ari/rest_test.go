package ari

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// replayServer answers every request with one recorded response and records
// what it was asked.
type replayServer struct {
	*httptest.Server
	mu   sync.Mutex
	resp traceLine
	got  []seenRequest
}

type seenRequest struct {
	method, path string
	query        map[string]string
	body         []byte
	user, pass   string
}

func newReplayServer(t *testing.T) *replayServer {
	t.Helper()
	rs := &replayServer{}
	rs.Server = httptest.NewServer(http.HandlerFunc(rs.serve))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *replayServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	q := map[string]string{}
	for k, v := range r.URL.Query() {
		q[k] = v[0]
	}
	user, pass, _ := r.BasicAuth()
	rs.mu.Lock()
	rs.got = append(rs.got, seenRequest{r.Method, strings.TrimPrefix(r.URL.Path, "/ari"), q, body, user, pass})
	resp := rs.resp
	rs.mu.Unlock()
	writeRecorded(w, resp)
}

// writeRecorded writes a recorded rest_response (or ws_connect_failed) as
// Asterisk sent it.
func writeRecorded(w http.ResponseWriter, l traceLine) {
	if l.ContentType != "" {
		w.Header().Set("Content-Type", l.ContentType)
	}
	w.WriteHeader(l.Status)
	switch {
	case len(l.Body) > 0 && string(l.Body) != "null":
		_, _ = w.Write(l.Body)
	case l.BodyText != "":
		_, _ = io.WriteString(w, l.BodyText)
	}
}

func (rs *replayServer) set(l traceLine) {
	rs.mu.Lock()
	rs.resp = l
	rs.got = nil
	rs.mu.Unlock()
}

func (rs *replayServer) requests() []seenRequest {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]seenRequest(nil), rs.got...)
}

func (rs *replayServer) client() *Client {
	return New(Config{BaseURL: rs.URL + "/ari", Username: "vhold", Password: "vhold", App: "vhold-trace"})
}

// responses pairs each rest_request of a trace with its rest_response.
func responses(t *testing.T, file string) (reqs []traceLine, resp map[int]traceLine) {
	t.Helper()
	resp = map[int]traceLine{}
	for _, l := range readTrace(t, file) {
		switch l.Kind {
		case "rest_request":
			reqs = append(reqs, l)
		case "rest_response":
			resp[l.Req] = l
		}
	}
	return reqs, resp
}

// seg returns path segment i of "/a/b/c" (0 is "a").
func seg(path string, i int) string {
	s := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if i < len(s) {
		return s[i]
	}
	return ""
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func atoi(s string) (int, bool) {
	if s == "" {
		return 0, true
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// callFor maps a recorded request to the typed method vhold would use for
// it, called with the recorded arguments. ok is false for requests outside
// the client's scope (endpoints, device states, sounds, deliberately broken
// URLs).
func callFor(ctx context.Context, c *Client, l traceLine) (out any, ok bool, err error) {
	q := l.Query
	if _, has := q["api_key"]; has {
		return nil, false, nil
	}
	p := l.Path
	n := len(strings.Split(strings.TrimPrefix(p, "/"), "/"))
	ch, br, pb, ap := c.Channels(), c.Bridges(), c.Playbacks(), c.Applications()
	switch {
	case l.Method == "GET" && p == "/asterisk/info":
		out, err = c.Asterisk().Info(ctx)
	case l.Method == "GET" && p == "/asterisk/ping":
		out, err = c.Asterisk().Ping(ctx)
	case l.Method == "GET" && p == "/applications":
		out, err = ap.List(ctx)
	case l.Method == "GET" && seg(p, 0) == "applications" && n == 2:
		out, err = ap.Get(ctx, seg(p, 1))
	case seg(p, 0) == "applications" && seg(p, 2) == "subscription":
		if l.Method == "POST" {
			out, err = ap.Subscribe(ctx, seg(p, 1), q["eventSource"])
		} else {
			out, err = ap.Unsubscribe(ctx, seg(p, 1), q["eventSource"])
		}
	case l.Method == "GET" && p == "/channels":
		out, err = ch.List(ctx)
	case l.Method == "POST" && (p == "/channels" || p == "/channels/create"):
		timeout, good := atoi(q["timeout"])
		if !good {
			return nil, false, nil // timeout=abc: not expressible
		}
		var body struct{ Variables map[string]string }
		if len(l.RequestBody) > 0 {
			if err := json.Unmarshal(l.RequestBody, &body); err != nil {
				return nil, false, err
			}
		}
		r := OriginateRequest{
			Endpoint: q["endpoint"], App: q["app"], AppArgs: split(q["appArgs"]), CallerID: q["callerId"],
			Timeout: timeout, ChannelID: q["channelId"], OtherChannelID: q["otherChannelId"],
			Originator: q["originator"], Variables: body.Variables,
		}
		if p == "/channels" {
			if r.App == "" {
				return nil, false, nil // the client always names its app
			}
			out, err = ch.Originate(ctx, r)
		} else {
			out, err = ch.Create(ctx, r)
		}
	case seg(p, 0) == "channels" && n == 2:
		switch l.Method {
		case "GET":
			out, err = ch.Get(ctx, seg(p, 1))
		case "DELETE":
			err = ch.Hangup(ctx, seg(p, 1), HangupReason(q["reason"]))
		default:
			return nil, false, nil
		}
	case seg(p, 0) == "channels" && n >= 3:
		id := seg(p, 1)
		switch l.Method + " " + seg(p, 2) {
		case "POST answer":
			err = ch.Answer(ctx, id)
		case "POST ring":
			err = ch.Ring(ctx, id)
		case "POST moh":
			err = ch.StartMOH(ctx, id, q["mohClass"])
		case "DELETE moh":
			err = ch.StopMOH(ctx, id)
		case "POST play":
			out, err = ch.Play(ctx, id, seg(p, 3), split(q["media"]), q["lang"])
		case "POST dial":
			timeout, _ := atoi(q["timeout"])
			err = ch.Dial(ctx, id, q["caller"], timeout)
		case "POST continue":
			prio, _ := atoi(q["priority"])
			err = ch.Continue(ctx, id, q["context"], q["extension"], prio)
		case "POST dtmf":
			err = ch.SendDTMF(ctx, id, q["dtmf"])
		case "GET variable":
			var v string
			v, err = ch.GetVar(ctx, id, q["variable"])
			out = map[string]string{"value": v}
		case "POST variable":
			err = ch.SetVar(ctx, id, q["variable"], q["value"])
		default:
			return nil, false, nil
		}
	case l.Method == "POST" && p == "/bridges":
		out, err = br.Create(ctx, q["type"], q["bridgeId"], q["name"])
	case l.Method == "GET" && p == "/bridges":
		out, err = br.List(ctx)
	case seg(p, 0) == "bridges" && n == 2:
		switch l.Method {
		case "GET":
			out, err = br.Get(ctx, seg(p, 1))
		case "DELETE":
			err = br.Destroy(ctx, seg(p, 1))
		default:
			return nil, false, nil // createWithId: vhold does not use it
		}
	case seg(p, 0) == "bridges" && n >= 3:
		id := seg(p, 1)
		switch l.Method + " " + seg(p, 2) {
		case "POST addChannel":
			err = br.AddChannel(ctx, id, q["role"], split(q["channel"])...)
		case "POST removeChannel":
			err = br.RemoveChannel(ctx, id, split(q["channel"])...)
		case "POST moh":
			err = br.StartMOH(ctx, id, q["mohClass"])
		case "DELETE moh":
			err = br.StopMOH(ctx, id)
		case "POST play":
			out, err = br.Play(ctx, id, seg(p, 3), split(q["media"]), q["lang"])
		default:
			return nil, false, nil
		}
	case seg(p, 0) == "playbacks" && n == 2:
		switch l.Method {
		case "GET":
			out, err = pb.Get(ctx, seg(p, 1))
		case "DELETE":
			err = pb.Stop(ctx, seg(p, 1))
		default:
			return nil, false, nil
		}
	case seg(p, 0) == "playbacks" && seg(p, 2) == "control":
		err = pb.Control(ctx, seg(p, 1), q["operation"])
	default:
		return nil, false, nil
	}
	return out, true, err
}

// TestTraceRESTReplay replays every recorded REST call vhold's client covers:
// the typed method must send the same method, path, query and body as the
// recording, and turn the recorded answer into the same model (re-encoded
// field for field) or into an *Error with the recorded status. Requests the
// client refuses before sending must be ones Asterisk refused too.
func TestTraceRESTReplay(t *testing.T) {
	rs := newReplayServer(t)
	c := rs.client()
	ctx := context.Background()
	covered := 0
	for _, file := range traceFiles(t) {
		reqs, resp := responses(t, file)
		for _, l := range reqs {
			where := fmt.Sprintf("%s req %d %s %s", filepath.Base(file), l.Req, l.Method, l.URL)
			want, has := resp[l.Req]
			if !has {
				t.Fatalf("%s: no response", where)
			}
			rs.set(want)
			out, ok, err := callFor(ctx, c, l)
			if !ok {
				if err != nil {
					t.Errorf("%s: %v", where, err)
				}
				continue
			}
			covered++
			seen := rs.requests()
			if len(seen) == 0 {
				if want.Status < 400 {
					t.Errorf("%s: refused locally (%v) what Asterisk accepted", where, err)
				} else if err == nil {
					t.Errorf("%s: nothing sent and no error", where)
				}
				continue
			}
			checkSent(t, where, l, seen)
			checkAnswer(t, where, want, out, err)
		}
	}
	if covered < 150 {
		t.Errorf("only %d recorded requests covered", covered)
	}
	t.Logf("%d recorded requests replayed through the typed methods", covered)
}

func checkSent(t *testing.T, where string, l traceLine, seen []seenRequest) {
	t.Helper()
	if len(seen) != 1 {
		t.Errorf("%s: %d requests sent", where, len(seen))
		return
	}
	s := seen[0]
	wantQuery := l.Query
	if wantQuery == nil {
		wantQuery = map[string]string{}
	}
	if s.method != l.Method || s.path != l.Path || !reflect.DeepEqual(s.query, wantQuery) {
		t.Errorf("%s: sent %s %s %v, recorded %s %s %v", where, s.method, s.path, s.query, l.Method, l.Path, wantQuery)
	}
	if s.user != "vhold" || s.pass != "vhold" {
		t.Errorf("%s: basic auth %q:%q", where, s.user, s.pass)
	}
	if len(l.RequestBody) > 0 || len(s.body) > 0 {
		var a, b any
		_ = json.Unmarshal(l.RequestBody, &a)
		_ = json.Unmarshal(s.body, &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: body %s, recorded %s", where, s.body, l.RequestBody)
		}
	}
}

func checkAnswer(t *testing.T, where string, want traceLine, out any, err error) {
	t.Helper()
	if want.Status >= 400 {
		var ae *Error
		if !errors.As(err, &ae) || ae.Status != want.Status {
			t.Errorf("%s: error %v, want status %d", where, err, want.Status)
		}
		return
	}
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	if out == nil || len(want.Body) == 0 || string(want.Body) == "null" {
		return
	}
	got, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	_ = json.Unmarshal(want.Body, &a)
	_ = json.Unmarshal(got, &b)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("%s: decoded\n%s\nrecorded\n%s", where, got, want.Body)
	}
}

// TestTraceErrorBodies maps every error Asterisk answered in the traces to
// the *Error and the sentinels the flows branch on.
func TestTraceErrorBodies(t *testing.T) {
	rs := newReplayServer(t)
	c := rs.client()
	sentinels := []error{ErrNotFound, ErrNoVariable, ErrConflict, ErrUnprocessable, ErrPrecondition,
		ErrBadRequest, ErrUnauthorized, ErrServer, ErrAllocationFailed}
	n := 0
	for _, file := range traceFiles(t) {
		for _, l := range readTrace(t, file) {
			if l.Kind != "rest_response" || l.Status < 400 {
				continue
			}
			n++
			where := fmt.Sprintf("%s req %d %s %s", filepath.Base(file), l.Req, l.Method, l.Path)
			rs.set(l)
			err := c.do(context.Background(), request{method: l.Method, path: l.Path}, nil)
			var ae *Error
			if !errors.As(err, &ae) {
				t.Errorf("%s: %v is not an *Error", where, err)
				continue
			}
			var body struct{ Message, Error string }
			_ = json.Unmarshal(l.Body, &body)
			if ae.Status != l.Status || ae.Method != l.Method || ae.Path != l.Path || ae.Message != body.Message+body.Error {
				t.Errorf("%s: %+v", where, ae)
			}
			want := map[error]bool{}
			switch l.Status {
			case 400:
				want[ErrBadRequest] = true
				want[ErrNotFound] = body.Message == "Channel not found"
			case 401:
				want[ErrUnauthorized] = true
			case 404:
				variable := strings.Contains(body.Message, "variable")
				want[ErrNotFound], want[ErrNoVariable] = !variable, variable
			case 409:
				want[ErrConflict] = true
			case 422:
				want[ErrUnprocessable] = true
			case 500:
				want[ErrServer] = true
				want[ErrAllocationFailed] = body.Error == "Allocation failed"
			}
			for _, s := range sentinels {
				if errors.Is(err, s) != want[s] {
					t.Errorf("%s (%s): errors.Is(%v) = %v", where, ae.Message, s, !want[s])
				}
			}
		}
	}
	if n < 40 {
		t.Errorf("only %d error responses in the traces", n)
	}
	t.Logf("%d recorded error responses mapped", n)
}

// recorded finds the response to the first request of file matching method,
// path and (if not empty) a message/error substring.
func recorded(t *testing.T, file, method, path, msg string) traceLine {
	t.Helper()
	reqs, resp := responses(t, file)
	for _, l := range reqs {
		r := resp[l.Req]
		if l.Method == method && l.Path == path && strings.Contains(string(r.Body), msg) {
			return r
		}
	}
	t.Fatalf("%s: no %s %s answered %q", file, method, path, msg)
	return traceLine{}
}

// TestTypedErrors drives the verbs a flow uses into the answers Asterisk gave
// for them, and checks the branch the flow would take.
func TestTypedErrors(t *testing.T) {
	rs := newReplayServer(t)
	c := rs.client()
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		file      string
		method    string
		path, msg string
		call      func() error
		is        []error
		isNot     []error
	}{
		{"play to a caller who hung up", "errors.jsonl", "POST", "/channels/no-such-channel/play", "",
			func() error {
				_, err := c.Channels().Play(ctx, "gone", "pb-1", []string{"sound:hello-world"}, "")
				return err
			}, []error{ErrNotFound}, []error{ErrServer}},
		{"answer a channel that is gone", "errors.jsonl", "POST", "/channels/no-such-channel/answer", "",
			func() error { return c.Channels().Answer(ctx, "gone") }, []error{ErrNotFound}, nil},
		{"originate to an offline endpoint", "originate-fail.jsonl", "POST", "/channels", "Allocation failed",
			func() error {
				_, err := c.Channels().Originate(ctx, OriginateRequest{Endpoint: "PJSIP/offline", Timeout: 8})
				return err
			}, []error{ErrAllocationFailed, ErrServer}, []error{ErrNotFound, ErrBadRequest}},
		{"create to an offline endpoint", "originate-fail.jsonl", "POST", "/channels/create", "Allocation failed",
			func() error {
				_, err := c.Channels().Create(ctx, OriginateRequest{Endpoint: "PJSIP/offline"})
				return err
			}, []error{ErrAllocationFailed}, nil},
		{"duplicate channel id", "errors.jsonl", "POST", "/channels", "already exists",
			func() error {
				_, err := c.Channels().Originate(ctx, OriginateRequest{Endpoint: "PJSIP/agent1", ChannelID: "dup"})
				return err
			}, []error{ErrConflict}, []error{ErrServer}},
		{"variable not set", "errors.jsonl", "GET", "/channels/1795258419.32/variable", "variable was not found",
			func() error { _, err := c.Channels().GetVar(ctx, "x", "NOSUCHVAR"); return err },
			[]error{ErrNoVariable}, []error{ErrNotFound}},
		{"variable of a missing channel", "errors.jsonl", "GET", "/channels/no-such-channel/variable", "",
			func() error { _, err := c.Channels().GetVar(ctx, "gone", "CALLERID(num)"); return err },
			[]error{ErrNotFound}, []error{ErrNoVariable}},
		{"bridge a caller who hung up", "errors.jsonl", "POST", "/bridges/err-bridge-1/addChannel", "Channel not found",
			func() error { return c.Bridges().AddChannel(ctx, "b", "", "gone") }, []error{ErrNotFound, ErrBadRequest}, nil},
		{"remove a channel not in the bridge", "errors.jsonl", "POST", "/bridges/err-bridge-1/removeChannel", "not in this bridge",
			func() error { return c.Bridges().RemoveChannel(ctx, "b", "x") }, []error{ErrUnprocessable}, []error{ErrNotFound}},
		{"stop MOH that is not playing", "errors.jsonl", "DELETE", "/bridges/err-bridge-1/moh", "isn't playing",
			func() error { return c.Bridges().StopMOH(ctx, "b") }, []error{ErrConflict}, nil},
		{"duplicate bridge id", "errors.jsonl", "POST", "/bridges", "already exists",
			func() error { _, err := c.Bridges().Create(ctx, BridgeMixing, "b", ""); return err }, []error{ErrConflict}, nil},
		{"stop a finished playback", "errors.jsonl", "DELETE", "/playbacks/pb-long", "Playback not found",
			func() error { return c.Playbacks().Stop(ctx, "pb-long") }, []error{ErrNotFound}, nil},
		{"app not registered", "errors.jsonl", "GET", "/applications/no-such-app", "",
			func() error { _, err := c.Applications().Get(ctx, "x"); return err }, []error{ErrNotFound}, nil},
		{"subscribe to a missing channel", "errors.jsonl", "POST", "/applications/vhold-trace/subscription", "does not exist",
			func() error { _, err := c.Applications().Subscribe(ctx, "", "channel:gone"); return err },
			[]error{ErrUnprocessable}, nil},
		{"wrong password", "errors.jsonl", "GET", "/channels", "Authentication required",
			func() error { _, err := c.Asterisk().Info(ctx); return err }, []error{ErrUnauthorized}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs.set(recorded(t, tc.file, tc.method, tc.path, tc.msg))
			err := tc.call()
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range tc.is {
				if !errors.Is(err, s) {
					t.Errorf("%v is not %v", err, s)
				}
			}
			for _, s := range tc.isNot {
				if errors.Is(err, s) {
					t.Errorf("%v is %v", err, s)
				}
			}
		})
	}
}

func TestErrorMessageHTML(t *testing.T) {
	var l traceLine
	for _, x := range readTrace(t, "errors.jsonl") {
		if x.Kind == "ws_connect_failed" && x.Status == 400 {
			l = x
		}
	}
	if l.BodyText == "" {
		t.Fatal("no HTML upgrade failure in errors.jsonl")
	}
	e := newError(l.Status, "GET", "/events", []byte(l.BodyText))
	if e.Message != "HTTP request is missing param: [app]" {
		t.Errorf("message %q", e.Message)
	}
	if got := e.Error(); got != "ari GET /events: 400 HTTP request is missing param: [app]" {
		t.Errorf("Error() %q", got)
	}
	if m := errorMessage([]byte("  plain\ntext  ")); m != "plain text" {
		t.Errorf("plain %q", m)
	}
	if m := newError(502, "GET", "/x", nil).Error(); m != "ari GET /x: 502 Bad Gateway" {
		t.Errorf("empty body %q", m)
	}
}

// TestBridgeTimeout: addChannel waits for a running playback (4.7 s in
// callback-flow), so it gets the longer BridgeTimeout; other calls keep the
// short one.
func TestBridgeTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(150 * time.Millisecond)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	c := New(Config{BaseURL: srv.URL + "/ari", App: "a", Timeout: 50 * time.Millisecond, BridgeTimeout: 5 * time.Second})
	if err := c.Bridges().AddChannel(context.Background(), "b", "", "c1"); err != nil {
		t.Errorf("addChannel: %v", err)
	}
	err := c.Channels().Answer(context.Background(), "c1")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer within 50ms") {
		t.Errorf("answer: %v", err)
	}
}

// TestKeepAlive: sequential calls reuse one connection.
func TestKeepAlive(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := New(Config{BaseURL: srv.URL + "/ari", App: "a"})
	for range 20 {
		if err := c.Channels().Ring(context.Background(), "x"); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 20 calls", n)
	}
}

func TestLocalRefusals(t *testing.T) {
	c := New(Config{BaseURL: "http://127.0.0.1:1/ari", App: "a"})
	ctx := context.Background()
	for name, err := range map[string]error{
		"comma in app arg": func() error {
			_, err := c.Channels().Originate(ctx, OriginateRequest{Endpoint: "PJSIP/a", AppArgs: []string{"a,b"}})
			return err
		}(),
		"no endpoint": func() error { _, err := c.Channels().Originate(ctx, OriginateRequest{}); return err }(),
		"no media": func() error {
			_, err := c.Channels().Play(ctx, "c", "", nil, "")
			return err
		}(),
		"no channel to add": c.Bridges().AddChannel(ctx, "b", ""),
		"record without name": func() error {
			_, err := c.Channels().Record(ctx, "c", RecordRequest{Format: "wav"})
			return err
		}(),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
		var ae *Error
		if errors.As(err, &ae) {
			t.Errorf("%s: sent to the server: %v", name, err)
		}
	}
}

// TestRecordRequest checks the record verb against channels.json (no trace
// recorded it): parameter names and the LiveRecording model.
func TestRecordRequest(t *testing.T) {
	var got seenRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := map[string]string{}
		for k, v := range r.URL.Query() {
			q[k] = v[0]
		}
		got = seenRequest{method: r.Method, path: r.URL.Path, query: q}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"name":"vhold-name-1","format":"wav","target_uri":"channel:c1","state":"queued"}`)
	}))
	defer srv.Close()
	c := New(Config{BaseURL: srv.URL + "/ari", App: "a"})
	rec, err := c.Channels().Record(context.Background(), "c1", RecordRequest{
		Name: "vhold-name-1", Format: "wav", MaxDurationSeconds: 5, MaxSilenceSeconds: 2,
		Beep: true, TerminateOn: "#", IfExists: "overwrite",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"name": "vhold-name-1", "format": "wav", "maxDurationSeconds": "5",
		"maxSilenceSeconds": "2", "beep": "true", "terminateOn": "#", "ifExists": "overwrite"}
	if got.method != "POST" || got.path != "/ari/channels/c1/record" || !reflect.DeepEqual(got.query, want) {
		t.Errorf("sent %+v", got)
	}
	if rec.Name != "vhold-name-1" || rec.State != "queued" || rec.TargetURI != "channel:c1" {
		t.Errorf("%+v", rec)
	}
}

func TestNewID(t *testing.T) {
	a, b := NewID("pb"), NewID("pb")
	if a == b || !strings.HasPrefix(a, "pb-") || len(a) != len("pb-")+16 {
		t.Errorf("%q %q", a, b)
	}
	if id := NewID(""); len(id) != 16 || strings.Contains(id, "-") {
		t.Errorf("%q", id)
	}
	// Path escaping keeps ids with reserved characters intact.
	if got := p("recordings", "stored", "a b/c"); got != "/recordings/stored/a%20b%2Fc" {
		t.Errorf("p = %q", got)
	}
}
