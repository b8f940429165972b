package ari

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// TimeLayout is how Asterisk writes dates in ARI ("2026-11-21T10:51:38.101+0000"):
// milliseconds and an offset without a colon, which time.RFC3339 rejects.
const TimeLayout = "2006-01-02T15:04:05.000-0700"

// Time is an ARI date. It decodes Asterisk's layout (and RFC 3339, so test
// servers written either way work) and encodes Asterisk's, so a fake server
// built on these models sends what a real Asterisk sends.
type Time struct{ time.Time }

// UnmarshalJSON accepts TimeLayout, RFC 3339, an empty string and null.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("ari time %s: %w", b, err)
	}
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	for _, layout := range []string{TimeLayout, "2006-01-02T15:04:05-0700", time.RFC3339Nano} {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v
			return nil
		}
	}
	return fmt.Errorf("ari time %q: not %s nor RFC 3339", s, TimeLayout)
}

// MarshalJSON writes TimeLayout, or "" for the zero time.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte(`""`), nil
	}
	return json.Marshal(t.Format(TimeLayout))
}

// Channel states as ARI spells them (Channel.State).
const (
	StateDown    = "Down"
	StateRsrved  = "Rsrved"
	StateOffHook = "OffHook"
	StateDialing = "Dialing"
	StateRing    = "Ring"
	StateRinging = "Ringing"
	StateUp      = "Up"
	StateBusy    = "Busy"
)

// Channel is a snapshot of one Asterisk channel (a call leg).
type Channel struct {
	// ID is the uniqueid ("1795258298.0") for inbound channels, or the
	// channelId vhold chose when it originated.
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	State       string      `json:"state"`
	ProtocolID  string      `json:"protocol_id"`
	Caller      CallerID    `json:"caller"`
	Connected   CallerID    `json:"connected"`
	AccountCode string      `json:"accountcode"`
	Dialplan    DialplanCEP `json:"dialplan"`
	// CreationTime is when the channel was created.
	CreationTime Time   `json:"creationtime"`
	Language     string `json:"language"`
	// ChannelVars holds the variables named in ari.conf's channelvars.
	ChannelVars map[string]string `json:"channelvars,omitempty"`
	CallerRDNIS string            `json:"caller_rdnis,omitempty"`
	TenantID    string            `json:"tenantid,omitempty"`
}

// CallerID is a name and number pair.
type CallerID struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

// DialplanCEP is where a channel is in the dialplan.
type DialplanCEP struct {
	Context  string `json:"context"`
	Exten    string `json:"exten"`
	Priority int64  `json:"priority"`
	AppName  string `json:"app_name"`
	AppData  string `json:"app_data"`
}

// Bridge types vhold creates: callers wait in a holding bridge, agent and
// customer talk in a mixing bridge.
const (
	BridgeMixing  = "mixing"
	BridgeHolding = "holding"
)

// Bridge is a snapshot of a bridge.
type Bridge struct {
	ID string `json:"id"`
	// Technology changes with the members: native_rtp with two SIP legs,
	// simple_bridge when one is left, holding_bridge for a holding bridge.
	Technology    string            `json:"technology"`
	BridgeType    string            `json:"bridge_type"`
	BridgeClass   string            `json:"bridge_class"`
	Creator       string            `json:"creator"`
	Name          string            `json:"name"`
	Channels      []string          `json:"channels"`
	VideoMode     string            `json:"video_mode,omitempty"`
	VideoSourceID string            `json:"video_source_id,omitempty"`
	CreationTime  Time              `json:"creationtime"`
	BridgeVars    map[string]string `json:"bridgevars,omitempty"`
}

// Playback states: the 201 of play says queued; PlaybackFinished says done
// (also after a stop) or failed (missing file, holding bridge whose
// announcer slot MOH holds).
const (
	PlaybackStateQueued     = "queued"
	PlaybackStatePlaying    = "playing"
	PlaybackStateContinuing = "continuing"
	PlaybackStatePaused     = "paused"
	PlaybackStateDone       = "done"
	PlaybackStateFailed     = "failed"
)

// Playback is a media playback on a channel or bridge.
type Playback struct {
	ID       string `json:"id"`
	MediaURI string `json:"media_uri"`
	// NextMediaURI is set while a media list is playing.
	NextMediaURI string `json:"next_media_uri,omitempty"`
	// TargetURI is "channel:<id>" or "bridge:<id>".
	TargetURI string `json:"target_uri"`
	Language  string `json:"language,omitempty"`
	State     string `json:"state"`
}

// LiveRecording is a recording in progress (or just finished, in
// RecordingFinished/RecordingFailed).
type LiveRecording struct {
	Name            string `json:"name"`
	Format          string `json:"format"`
	TargetURI       string `json:"target_uri"`
	State           string `json:"state"`
	Duration        int    `json:"duration,omitempty"`
	TalkingDuration int    `json:"talking_duration,omitempty"`
	SilenceDuration int    `json:"silence_duration,omitempty"`
	// Cause says why a recording failed.
	Cause string `json:"cause,omitempty"`
}

// StoredRecording is a finished recording on Asterisk's disk, playable as
// "recording:<name>".
type StoredRecording struct {
	Name   string `json:"name"`
	Format string `json:"format"`
}

// AsteriskInfo is GET /asterisk/info; vhold check reports the version.
type AsteriskInfo struct {
	Build struct {
		OS      string `json:"os"`
		Kernel  string `json:"kernel"`
		Options string `json:"options"`
		Machine string `json:"machine"`
		Date    string `json:"date"`
		User    string `json:"user"`
	} `json:"build"`
	System struct {
		Version  string `json:"version"`
		EntityID string `json:"entity_id"`
	} `json:"system"`
	Config struct {
		Name            string  `json:"name"`
		DefaultLanguage string  `json:"default_language"`
		MaxChannels     int     `json:"max_channels,omitempty"`
		MaxOpenFiles    int     `json:"max_open_files,omitempty"`
		MaxLoad         float64 `json:"max_load,omitempty"`
		SetID           struct {
			User  string `json:"user"`
			Group string `json:"group"`
		} `json:"setid"`
	} `json:"config"`
	Status struct {
		StartupTime    Time `json:"startup_time"`
		LastReloadTime Time `json:"last_reload_time"`
	} `json:"status"`
}

// AsteriskPing is GET /asterisk/ping.
type AsteriskPing struct {
	AsteriskID string `json:"asterisk_id"`
	Ping       string `json:"ping"`
	Timestamp  Time   `json:"timestamp"`
}

// Application is an ARI application and what it is subscribed to. It
// outlives its WebSocket while it has channels or subscriptions.
type Application struct {
	Name             string            `json:"name"`
	ChannelIDs       []string          `json:"channel_ids"`
	BridgeIDs        []string          `json:"bridge_ids"`
	EndpointIDs      []string          `json:"endpoint_ids"`
	DeviceNames      []string          `json:"device_names"`
	EventsAllowed    []json.RawMessage `json:"events_allowed"`
	EventsDisallowed []json.RawMessage `json:"events_disallowed"`
}

// DeviceState is a device and its state ("INUSE", "NOT_INUSE", "RINGING"…).
type DeviceState struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

// Endpoint is a technology/resource pair such as PJSIP/agent1. Its state is
// "online" for a static contact whether or not anything listens there.
type Endpoint struct {
	Technology string   `json:"technology"`
	Resource   string   `json:"resource"`
	State      string   `json:"state,omitempty"`
	ChannelIDs []string `json:"channel_ids"`
}
