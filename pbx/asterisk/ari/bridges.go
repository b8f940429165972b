package ari

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Bridges is the /bridges resource: where callers wait and where agent and
// customer talk.
//
// Bridges vhold creates are not subscribed by themselves: ChannelEnteredBridge
// and ChannelLeftBridge arrive through the channels, and BridgeDestroyed only
// with an explicit subscription (Applications().Subscribe "bridge:<id>").
// Hanging up one member never ends the bridge or the other member; vhold
// destroys the bridge itself.
type Bridges struct{ c *Client }

// Bridges returns the bridge verbs.
func (c *Client) Bridges() Bridges { return Bridges{c} }

// Create creates a bridge of type typ (BridgeMixing, BridgeHolding, or a
// comma-separated list of ARI bridge types) with vhold's id (409 if it
// exists) and an optional name shown in Asterisk's CLI.
//
// A holding bridge has one announcer slot and bridge MOH takes it, so a
// bridge playback there fails while MOH runs; hold callers with channel MOH
// and channel playbacks instead.
func (b Bridges) Create(ctx context.Context, typ, id, name string) (*Bridge, error) {
	q := url.Values{}
	setIf(q, "type", typ)
	setIf(q, "bridgeId", id)
	setIf(q, "name", name)
	var out Bridge
	if err := b.c.do(ctx, request{method: http.MethodPost, path: "/bridges", query: q}, &out); err != nil {
		return nil, fmt.Errorf("create %s bridge %s: %w", typ, id, err)
	}
	return &out, nil
}

// Get returns a snapshot of the bridge.
func (b Bridges) Get(ctx context.Context, id string) (*Bridge, error) {
	var out Bridge
	if err := b.c.do(ctx, request{method: http.MethodGet, path: p("bridges", id)}, &out); err != nil {
		return nil, fmt.Errorf("get bridge %s: %w", id, err)
	}
	return &out, nil
}

// List returns every bridge.
func (b Bridges) List(ctx context.Context) ([]Bridge, error) {
	var out []Bridge
	if err := b.c.do(ctx, request{method: http.MethodGet, path: "/bridges"}, &out); err != nil {
		return nil, fmt.Errorf("list bridges: %w", err)
	}
	return out, nil
}

// Destroy ends the bridge; channels still inside stay up, in Stasis.
func (b Bridges) Destroy(ctx context.Context, id string) error {
	if err := b.c.do(ctx, request{method: http.MethodDelete, path: p("bridges", id)}, nil); err != nil {
		return fmt.Errorf("destroy bridge %s: %w", id, err)
	}
	return nil
}

// AddChannel puts channels into the bridge, with a role ("" for none,
// "participant", "announcer"). It waits until each channel's running
// playback ends (seconds; Config.BridgeTimeout): stop playbacks first. A
// channel that is gone gives 400 "Channel not found", which matches
// ErrNotFound. Adding a channel to the bridge it is in makes it leave and
// re-enter.
func (b Bridges) AddChannel(ctx context.Context, bridgeID, role string, channelIDs ...string) error {
	return b.membership(ctx, "addChannel", bridgeID, role, channelIDs)
}

// RemoveChannel takes channels out of the bridge; like AddChannel it waits
// for their playbacks. A channel that is not in the bridge is
// ErrUnprocessable.
func (b Bridges) RemoveChannel(ctx context.Context, bridgeID string, channelIDs ...string) error {
	return b.membership(ctx, "removeChannel", bridgeID, "", channelIDs)
}

func (b Bridges) membership(ctx context.Context, verb, bridgeID, role string, channelIDs []string) error {
	if len(channelIDs) == 0 {
		return fmt.Errorf("%s bridge %s: no channel", verb, bridgeID)
	}
	list, err := joinList("channel id", channelIDs)
	if err != nil {
		return fmt.Errorf("%s bridge %s: %w", verb, bridgeID, err)
	}
	q := url.Values{"channel": {list}}
	setIf(q, "role", role)
	r := request{method: http.MethodPost, path: p("bridges", bridgeID, verb), query: q, timeout: b.c.bridgeTO}
	if err := b.c.do(ctx, r, nil); err != nil {
		return fmt.Errorf("%s %v bridge %s: %w", verb, channelIDs, bridgeID, err)
	}
	return nil
}

// StartMOH plays music on hold to the whole bridge (class "" for default).
func (b Bridges) StartMOH(ctx context.Context, id, class string) error {
	q := url.Values{}
	setIf(q, "mohClass", class)
	if err := b.c.do(ctx, request{method: http.MethodPost, path: p("bridges", id, "moh"), query: q}, nil); err != nil {
		return fmt.Errorf("start moh in bridge %s: %w", id, err)
	}
	return nil
}

// StopMOH stops the bridge's music on hold; ErrConflict if none plays.
func (b Bridges) StopMOH(ctx context.Context, id string) error {
	if err := b.c.do(ctx, request{method: http.MethodDelete, path: p("bridges", id, "moh")}, nil); err != nil {
		return fmt.Errorf("stop moh in bridge %s: %w", id, err)
	}
	return nil
}

// Play plays media to everyone in the bridge (see Channels.Play). Its events
// arrive only while an app channel is in the bridge or the bridge is
// subscribed; in a holding bridge with MOH it fails (PlaybackFinished
// "failed").
func (b Bridges) Play(ctx context.Context, bridgeID, playbackID string, media []string, lang string) (*Playback, error) {
	return play(ctx, b.c, "bridges", bridgeID, playbackID, media, lang)
}
