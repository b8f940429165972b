package ari

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Channels is the /channels resource: what vhold does to a call leg.
type Channels struct{ c *Client }

// Channels returns the channel verbs.
func (c *Client) Channels() Channels { return Channels{c} }

// HangupReason is ARI's simple hangup reason (DELETE /channels/{id}?reason=),
// mapped by Asterisk to a Q.850 cause the far end sees.
type HangupReason string

// Reasons from channels.json's allowableValues.
const (
	HangupNormal            HangupReason = "normal"
	HangupBusy              HangupReason = "busy"
	HangupCongestion        HangupReason = "congestion"
	HangupNoAnswer          HangupReason = "no_answer"
	HangupTimeout           HangupReason = "timeout"
	HangupRejected          HangupReason = "rejected"
	HangupUnallocated       HangupReason = "unallocated"
	HangupNormalUnspecified HangupReason = "normal_unspecified"
	HangupNumberIncomplete  HangupReason = "number_incomplete"
	HangupCodecMismatch     HangupReason = "codec_mismatch"
	HangupInterworking      HangupReason = "interworking"
	HangupFailure           HangupReason = "failure"
	HangupAnsweredElsewhere HangupReason = "answered_elsewhere"
)

// List returns every channel Asterisk has, in or out of Stasis; after a
// reconnect the adapter keeps those whose Dialplan.AppName is "Stasis" with
// its app, and closes the rest of its calls.
func (ch Channels) List(ctx context.Context) ([]Channel, error) {
	var out []Channel
	if err := ch.c.do(ctx, request{method: http.MethodGet, path: "/channels"}, &out); err != nil {
		return nil, fmt.Errorf("list channels: %w", err)
	}
	return out, nil
}

// Get returns a snapshot of one channel; ErrNotFound once it is gone.
func (ch Channels) Get(ctx context.Context, id string) (*Channel, error) {
	var out Channel
	if err := ch.c.do(ctx, request{method: http.MethodGet, path: p("channels", id)}, &out); err != nil {
		return nil, fmt.Errorf("get channel %s: %w", id, err)
	}
	return &out, nil
}

func (ch Channels) verb(ctx context.Context, method, id, what string, q url.Values) error {
	r := request{method: method, path: p("channels", id, what), query: q}
	if err := ch.c.do(ctx, r, nil); err != nil {
		return fmt.Errorf("%s channel %s: %w", verbName(method, what), id, err)
	}
	return nil
}

func verbName(method, what string) string {
	if method == http.MethodDelete {
		return "stop " + what
	}
	return what
}

// Answer answers an inbound channel. ChannelStateChange Up may arrive before
// this returns.
func (ch Channels) Answer(ctx context.Context, id string) error {
	return ch.verb(ctx, http.MethodPost, id, "answer", nil)
}

// Ring sends ringing (180) to the caller before it is answered.
func (ch Channels) Ring(ctx context.Context, id string) error {
	return ch.verb(ctx, http.MethodPost, id, "ring", nil)
}

// StopRing stops the ringing indication.
func (ch Channels) StopRing(ctx context.Context, id string) error {
	return ch.verb(ctx, http.MethodDelete, id, "ring", nil)
}

// Hangup hangs the channel up with reason ("" lets Asterisk choose, normal
// clearing). The other legs of its bridge stay up: hanging up one party
// never ends the other.
func (ch Channels) Hangup(ctx context.Context, id string, reason HangupReason) error {
	q := url.Values{}
	setIf(q, "reason", string(reason))
	if err := ch.c.do(ctx, request{method: http.MethodDelete, path: p("channels", id), query: q}, nil); err != nil {
		return fmt.Errorf("hang up channel %s: %w", id, err)
	}
	return nil
}

// Play starts media on the channel. playbackID is vhold's id for it ("" lets
// Asterisk choose, but then PlaybackStarted may arrive before the id is
// known); media are URIs such as "sound:queue-thankyou" or
// "recording:name", played in order as one playback; lang picks the sound
// language ("" for the channel's).
//
// A 201 is not a promise: a missing file gives PlaybackFinished "failed", and
// a bad scheme ("bogus:thing") never finishes at all, so every wait on a
// playback needs its own guard. Key presses do not stop a playback; call
// Playbacks().Stop.
func (ch Channels) Play(ctx context.Context, channelID, playbackID string, media []string, lang string) (*Playback, error) {
	return play(ctx, ch.c, "channels", channelID, playbackID, media, lang)
}

func play(ctx context.Context, c *Client, kind, id, playbackID string, media []string, lang string) (*Playback, error) {
	what := kind[:len(kind)-1] // "channel", "bridge"
	if len(media) == 0 {
		// Asterisk answers a play without media with a 500, not a 400.
		return nil, fmt.Errorf("play to %s %s: no media", what, id)
	}
	m, err := joinList("media", media)
	if err != nil {
		return nil, fmt.Errorf("play to %s %s: %w", what, id, err)
	}
	q := url.Values{"media": {m}}
	setIf(q, "lang", lang)
	path := p(kind, id, "play")
	if playbackID != "" {
		path = p(kind, id, "play", playbackID)
	}
	var out Playback
	if err := c.do(ctx, request{method: http.MethodPost, path: path, query: q}, &out); err != nil {
		return nil, fmt.Errorf("play %v to %s %s: %w", media, what, id, err)
	}
	return &out, nil
}

// StartMOH plays music on hold to the channel (class "" for the default).
// An unknown class is accepted with 204 and plays nothing.
func (ch Channels) StartMOH(ctx context.Context, id, class string) error {
	q := url.Values{}
	setIf(q, "mohClass", class)
	return ch.verb(ctx, http.MethodPost, id, "moh", q)
}

// StopMOH stops the channel's music on hold.
func (ch Channels) StopMOH(ctx context.Context, id string) error {
	return ch.verb(ctx, http.MethodDelete, id, "moh", nil)
}

// SendDTMF sends digits to the channel (e.g. to an IVR behind a trunk).
func (ch Channels) SendDTMF(ctx context.Context, id, digits string) error {
	if digits == "" {
		return fmt.Errorf("send dtmf to channel %s: no digits", id)
	}
	return ch.verb(ctx, http.MethodPost, id, "dtmf", url.Values{"dtmf": {digits}})
}

// Continue sends the channel back to the dialplan (StasisEnd follows); empty
// context/extension keep the current ones, priority 0 means the next one.
// Asterisk accepts a context that does not exist, and the dialplan then
// hangs the channel up.
func (ch Channels) Continue(ctx context.Context, id, dialplanContext, extension string, priority int) error {
	q := url.Values{}
	setIf(q, "context", dialplanContext)
	setIf(q, "extension", extension)
	if priority > 0 {
		q.Set("priority", strconv.Itoa(priority))
	}
	return ch.verb(ctx, http.MethodPost, id, "continue", q)
}

// GetVar reads a channel variable or function (e.g. "CALLERID(num)"). An
// unset variable is ErrNoVariable; a missing channel is ErrNotFound.
func (ch Channels) GetVar(ctx context.Context, id, name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("get variable of channel %s: no name", id)
	}
	var out struct {
		Value string `json:"value"`
	}
	r := request{method: http.MethodGet, path: p("channels", id, "variable"), query: url.Values{"variable": {name}}}
	if err := ch.c.do(ctx, r, &out); err != nil {
		return "", fmt.Errorf("get variable %s of channel %s: %w", name, id, err)
	}
	return out.Value, nil
}

// SetVar sets a channel variable or function.
func (ch Channels) SetVar(ctx context.Context, id, name, value string) error {
	if name == "" {
		return fmt.Errorf("set variable of channel %s: no name", id)
	}
	r := request{method: http.MethodPost, path: p("channels", id, "variable"), query: url.Values{"variable": {name}, "value": {value}}}
	if err := ch.c.do(ctx, r, nil); err != nil {
		return fmt.Errorf("set variable %s of channel %s: %w", name, id, err)
	}
	return nil
}

// OriginateRequest is a call vhold places into its own Stasis app.
type OriginateRequest struct {
	// Endpoint is any Asterisk dial string: "PJSIP/agent1",
	// "PJSIP/0612345678@trunk", "Local/200@agents".
	Endpoint string
	// App is the Stasis app the answered channel enters; "" means the
	// client's app.
	App string
	// AppArgs arrive as StasisStart.Args (joined with commas on the wire,
	// so an argument must not contain one).
	AppArgs []string
	// CallerID as `"Name" <number>`; a CALLERID(name) variable overrides the
	// name.
	CallerID string
	// Timeout is how long to ring, in seconds; 0 leaves Asterisk's default
	// (30 s). An unreachable host rings out exactly like no answer when the
	// timeout is shorter than SIP timer B (32 s).
	Timeout int
	// ChannelID is vhold's id for the new channel (recommended: events for
	// it can arrive before the response); OtherChannelID names the ;2 half
	// of a Local channel.
	ChannelID      string
	OtherChannelID string
	// Originator is the channel this call is placed for (e.g. the waiting
	// caller), for connected-line and codec choices.
	Originator string
	// Variables are set on the channel before dialing (sent as the JSON
	// body {"variables": {...}}).
	Variables map[string]string
}

func (r OriginateRequest) query(defaultApp string, withTimeout bool) (url.Values, error) {
	if r.Endpoint == "" {
		return nil, errors.New("no endpoint")
	}
	q := url.Values{"endpoint": {r.Endpoint}}
	app := r.App
	if app == "" {
		app = defaultApp
	}
	setIf(q, "app", app)
	if len(r.AppArgs) > 0 {
		args, err := joinList("app argument", r.AppArgs)
		if err != nil {
			return nil, err
		}
		q.Set("appArgs", args)
	}
	setIf(q, "callerId", r.CallerID)
	if withTimeout && r.Timeout > 0 {
		q.Set("timeout", strconv.Itoa(r.Timeout))
	}
	setIf(q, "channelId", r.ChannelID)
	setIf(q, "otherChannelId", r.OtherChannelID)
	setIf(q, "originator", r.Originator)
	return q, nil
}

func variablesBody(v map[string]string) any {
	if len(v) == 0 {
		return nil
	}
	return struct {
		Variables map[string]string `json:"variables"`
	}{v}
}

// Originate dials r.Endpoint; the answered channel enters Stasis (StasisStart
// with r.AppArgs) only once it is answered. The 200 means the dial started
// (the channel is Down): the outcome comes later, from ChannelDestroyed's
// cause for a failure (17 busy, 19 no answer, 18 no response…) or
// StasisStart for an answer. An endpoint that cannot be dialed at all
// (offline, unknown, bad technology) is ErrAllocationFailed at once.
func (ch Channels) Originate(ctx context.Context, r OriginateRequest) (*Channel, error) {
	q, err := r.query(ch.c.app, true)
	if err != nil {
		return nil, fmt.Errorf("originate to %s: %w", r.Endpoint, err)
	}
	var out Channel
	req := request{method: http.MethodPost, path: "/channels", query: q, body: variablesBody(r.Variables)}
	if err := ch.c.do(ctx, req, &out); err != nil {
		return nil, fmt.Errorf("originate to %s: %w", r.Endpoint, err)
	}
	return &out, nil
}

// Create makes a channel to r.Endpoint without dialing it; Dial starts the
// call. Unlike Originate, the channel is in Stasis right away (StasisStart in
// state Down), so vhold can set it up before it rings; a failed Dial hangs it
// up by itself (StasisEnd, ChannelDestroyed with the cause). r.CallerID and
// r.Timeout do not apply (Dial takes the timeout).
func (ch Channels) Create(ctx context.Context, r OriginateRequest) (*Channel, error) {
	q, err := r.query(ch.c.app, false)
	if err != nil {
		return nil, fmt.Errorf("create channel to %s: %w", r.Endpoint, err)
	}
	q.Del("callerId")
	if q.Get("app") == "" {
		return nil, fmt.Errorf("create channel to %s: no app", r.Endpoint)
	}
	var out Channel
	req := request{method: http.MethodPost, path: "/channels/create", query: q, body: variablesBody(r.Variables)}
	if err := ch.c.do(ctx, req, &out); err != nil {
		return nil, fmt.Errorf("create channel to %s: %w", r.Endpoint, err)
	}
	return &out, nil
}

// Dial dials a channel made by Create, ringing for timeout seconds (0: no
// limit of ARI's own). caller is the channel it is dialed for, if any.
func (ch Channels) Dial(ctx context.Context, id, caller string, timeout int) error {
	q := url.Values{}
	setIf(q, "caller", caller)
	if timeout > 0 {
		q.Set("timeout", strconv.Itoa(timeout))
	}
	return ch.verb(ctx, http.MethodPost, id, "dial", q)
}

// RecordRequest is a recording of what a channel says (the caller's name).
type RecordRequest struct {
	// Name is the stored recording's name, later playable as
	// "recording:<Name>" and deleted with Recordings().DeleteStored.
	Name string
	// Format is the file format, e.g. "wav".
	Format             string
	MaxDurationSeconds int
	MaxSilenceSeconds  int
	// Beep plays a beep before recording starts.
	Beep bool
	// TerminateOn is the DTMF that ends the recording: "none", "any", "*",
	// "#".
	TerminateOn string
	// IfExists is "fail" (Asterisk's default), "overwrite" or "append".
	IfExists string
}

// Record starts recording the channel; RecordingFinished or RecordingFailed
// tells how it ended.
func (ch Channels) Record(ctx context.Context, channelID string, r RecordRequest) (*LiveRecording, error) {
	if r.Name == "" || r.Format == "" {
		return nil, fmt.Errorf("record channel %s: name and format are required", channelID)
	}
	q := url.Values{"name": {r.Name}, "format": {r.Format}}
	if r.MaxDurationSeconds > 0 {
		q.Set("maxDurationSeconds", strconv.Itoa(r.MaxDurationSeconds))
	}
	if r.MaxSilenceSeconds > 0 {
		q.Set("maxSilenceSeconds", strconv.Itoa(r.MaxSilenceSeconds))
	}
	if r.Beep {
		q.Set("beep", "true")
	}
	setIf(q, "terminateOn", r.TerminateOn)
	setIf(q, "ifExists", r.IfExists)
	var out LiveRecording
	if err := ch.c.do(ctx, request{method: http.MethodPost, path: p("channels", channelID, "record"), query: q}, &out); err != nil {
		return nil, fmt.Errorf("record channel %s to %s: %w", channelID, r.Name, err)
	}
	return &out, nil
}
