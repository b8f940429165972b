package ari

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Playbacks is the /playbacks resource.
type Playbacks struct{ c *Client }

// Playbacks returns the playback verbs.
func (c *Client) Playbacks() Playbacks { return Playbacks{c} }

// Get returns the playback; ErrNotFound once it has finished.
func (pb Playbacks) Get(ctx context.Context, id string) (*Playback, error) {
	var out Playback
	if err := pb.c.do(ctx, request{method: http.MethodGet, path: p("playbacks", id)}, &out); err != nil {
		return nil, fmt.Errorf("get playback %s: %w", id, err)
	}
	return &out, nil
}

// Stop stops the playback (PlaybackFinished "done" follows). This is how an
// interruptible prompt ends on a key press: DTMF does not stop playbacks. A
// playback that already ended is ErrNotFound, which a caller stopping it
// "just in case" can ignore.
func (pb Playbacks) Stop(ctx context.Context, id string) error {
	if err := pb.c.do(ctx, request{method: http.MethodDelete, path: p("playbacks", id)}, nil); err != nil {
		return fmt.Errorf("stop playback %s: %w", id, err)
	}
	return nil
}

// Control sends a playback operation: "pause", "unpause", "restart",
// "reverse", "forward". Unpausing emits a second PlaybackStarted.
func (pb Playbacks) Control(ctx context.Context, id, operation string) error {
	if operation == "" {
		return fmt.Errorf("control playback %s: no operation", id)
	}
	r := request{method: http.MethodPost, path: p("playbacks", id, "control"), query: url.Values{"operation": {operation}}}
	if err := pb.c.do(ctx, r, nil); err != nil {
		return fmt.Errorf("%s playback %s: %w", operation, id, err)
	}
	return nil
}

// Recordings is the /recordings resource.
type Recordings struct{ c *Client }

// Recordings returns the recording verbs.
func (c *Client) Recordings() Recordings { return Recordings{c} }

// GetStored returns a finished recording.
func (rc Recordings) GetStored(ctx context.Context, name string) (*StoredRecording, error) {
	var out StoredRecording
	if err := rc.c.do(ctx, request{method: http.MethodGet, path: p("recordings", "stored", name)}, &out); err != nil {
		return nil, fmt.Errorf("get stored recording %s: %w", name, err)
	}
	return &out, nil
}

// DeleteStored deletes a finished recording (the caller's name, once the
// callback is over).
func (rc Recordings) DeleteStored(ctx context.Context, name string) error {
	if err := rc.c.do(ctx, request{method: http.MethodDelete, path: p("recordings", "stored", name)}, nil); err != nil {
		return fmt.Errorf("delete stored recording %s: %w", name, err)
	}
	return nil
}

// StopLive ends a live recording and keeps what was recorded.
func (rc Recordings) StopLive(ctx context.Context, name string) error {
	if err := rc.c.do(ctx, request{method: http.MethodPost, path: p("recordings", "live", name, "stop")}, nil); err != nil {
		return fmt.Errorf("stop live recording %s: %w", name, err)
	}
	return nil
}

// CancelLive ends a live recording and discards it.
func (rc Recordings) CancelLive(ctx context.Context, name string) error {
	if err := rc.c.do(ctx, request{method: http.MethodDelete, path: p("recordings", "live", name)}, nil); err != nil {
		return fmt.Errorf("cancel live recording %s: %w", name, err)
	}
	return nil
}

// Asterisk is the /asterisk resource.
type Asterisk struct{ c *Client }

// Asterisk returns the server-level calls.
func (c *Client) Asterisk() Asterisk { return Asterisk{c} }

// Info returns the server's version and status; it needs valid credentials,
// so vhold check uses it to tell "refused" from "401" from "fine".
func (a Asterisk) Info(ctx context.Context) (*AsteriskInfo, error) {
	var out AsteriskInfo
	if err := a.c.do(ctx, request{method: http.MethodGet, path: "/asterisk/info"}, &out); err != nil {
		return nil, fmt.Errorf("asterisk info: %w", err)
	}
	return &out, nil
}

// Ping checks that Asterisk answers.
func (a Asterisk) Ping(ctx context.Context) (*AsteriskPing, error) {
	var out AsteriskPing
	if err := a.c.do(ctx, request{method: http.MethodGet, path: "/asterisk/ping"}, &out); err != nil {
		return nil, fmt.Errorf("asterisk ping: %w", err)
	}
	return &out, nil
}

// Applications is the /applications resource.
type Applications struct{ c *Client }

// Applications returns the application calls.
func (c *Client) Applications() Applications { return Applications{c} }

// List returns the registered applications ([] before any WebSocket).
func (ap Applications) List(ctx context.Context) ([]Application, error) {
	var out []Application
	if err := ap.c.do(ctx, request{method: http.MethodGet, path: "/applications"}, &out); err != nil {
		return nil, fmt.Errorf("list applications: %w", err)
	}
	return out, nil
}

// Get returns the application ("" for the client's); ErrNotFound until a
// WebSocket has registered it.
func (ap Applications) Get(ctx context.Context, app string) (*Application, error) {
	if app == "" {
		app = ap.c.app
	}
	var out Application
	if err := ap.c.do(ctx, request{method: http.MethodGet, path: p("applications", app)}, &out); err != nil {
		return nil, fmt.Errorf("get application %s: %w", app, err)
	}
	return &out, nil
}

// Subscribe adds an event source to the application ("" for the client's):
// "channel:<id>" (how an inbound channel's ChannelDestroyed, with its cause,
// reaches vhold after StasisEnd), "bridge:<id>" (BridgeDestroyed),
// "endpoint:<tech>/<resource>", "deviceState:<name>". An endpoint
// subscription delivers its channels' events a second time when they are
// also vhold's own. A source that does not exist is ErrUnprocessable.
func (ap Applications) Subscribe(ctx context.Context, app, eventSource string) (*Application, error) {
	return ap.subscription(ctx, http.MethodPost, "subscribe", app, eventSource)
}

// Unsubscribe removes an event source from the application.
func (ap Applications) Unsubscribe(ctx context.Context, app, eventSource string) (*Application, error) {
	return ap.subscription(ctx, http.MethodDelete, "unsubscribe", app, eventSource)
}

func (ap Applications) subscription(ctx context.Context, method, verb, app, eventSource string) (*Application, error) {
	if app == "" {
		app = ap.c.app
	}
	var out Application
	r := request{method: method, path: p("applications", app, "subscription"), query: url.Values{"eventSource": {eventSource}}}
	if err := ap.c.do(ctx, r, &out); err != nil {
		return nil, fmt.Errorf("%s %s to %s: %w", verb, app, eventSource, err)
	}
	return &out, nil
}
