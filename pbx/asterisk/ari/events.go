package ari

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Event is one message from the ARI WebSocket, decoded to its own type
// (*StasisStart, *ChannelDtmfReceived…), or *Unknown for a type vhold does
// not decode, or one of the stream's synthetic *Connected / *Disconnected.
type Event interface {
	// Base returns the fields every event has.
	Base() *EventBase
}

// EventBase holds the fields every ARI event carries (Message and Event in
// events.json).
type EventBase struct {
	Type        string `json:"type"`
	Application string `json:"application"`
	// Timestamp is Asterisk's clock, in its own layout (see Time).
	Timestamp  Time   `json:"timestamp"`
	AsteriskID string `json:"asterisk_id,omitempty"`
}

// Base returns e itself, so every event type embedding EventBase is an Event.
func (e *EventBase) Base() *EventBase { return e }

// StasisStart: a channel entered the app. Inbound channels arrive in state
// Ring with the dialplan's argument string unparsed (Stasis(app,queue=support)
// gives Args ["queue=support"]); originated channels arrive only once
// answered, created ones (Channels.Create) at once in state Down.
type StasisStart struct {
	EventBase
	Args           []string `json:"args"`
	Channel        Channel  `json:"channel"`
	ReplaceChannel *Channel `json:"replace_channel,omitempty"`
}

// StasisEnd: the channel left the app (hung up, or continued in the
// dialplan). For an inbound channel nothing follows unless it was subscribed
// explicitly: no ChannelDestroyed, no cause.
type StasisEnd struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelDtmfReceived: one key press, reported when the key is released. It
// arrives during playbacks and in bridges, and does not stop a playback.
type ChannelDtmfReceived struct {
	EventBase
	Digit      string  `json:"digit"`
	DurationMS int     `json:"duration_ms"`
	Channel    Channel `json:"channel"`
}

// PlaybackStarted: a playback began (again, after an unpause).
type PlaybackStarted struct {
	EventBase
	Playback Playback `json:"playback"`
}

// PlaybackContinuing: a media list moved to its next item.
type PlaybackContinuing struct {
	EventBase
	Playback Playback `json:"playback"`
}

// PlaybackFinished: a playback ended; Playback.State is PlaybackStateDone
// (also after a stop) or PlaybackStateFailed.
type PlaybackFinished struct {
	EventBase
	Playback Playback `json:"playback"`
}

// RecordingStarted: a recording began.
type RecordingStarted struct {
	EventBase
	Recording LiveRecording `json:"recording"`
}

// RecordingFinished: a recording ended and is stored.
type RecordingFinished struct {
	EventBase
	Recording LiveRecording `json:"recording"`
}

// RecordingFailed: a recording could not be made; Recording.Cause says why.
type RecordingFailed struct {
	EventBase
	Recording LiveRecording `json:"recording"`
}

// ChannelStateChange: Channel.State changed (Ringing, Up…).
type ChannelStateChange struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelHangupRequest: something asked the channel to hang up. Its fields
// are not a reliable cause: with Soft set, Cause is a bit of Asterisk's
// soft-hangup flags (32 explicit, 16 app unload), not Q.850; a remote BYE
// carries neither field; a SIP failure carries Cause and TechCause
// ({"cause":17,"tech_cause":486}). Use ChannelDestroyed for the cause, or
// Q850 here.
type ChannelHangupRequest struct {
	EventBase
	// Cause is 0 when absent.
	Cause int `json:"cause,omitempty"`
	// TechCause is the SIP status, 0 when absent.
	TechCause int     `json:"tech_cause,omitempty"`
	Soft      bool    `json:"soft,omitempty"`
	Channel   Channel `json:"channel"`
}

// Q850 returns the request's cause when it is one: present and not a soft
// hangup.
func (e *ChannelHangupRequest) Q850() (cause int, ok bool) {
	if e.Soft || e.Cause == 0 {
		return 0, false
	}
	return e.Cause, true
}

// ChannelDestroyed: the channel is gone, with the reliable cause. Delivered
// for channels vhold originated or created, and for inbound channels only
// when subscribed explicitly (or with subscribeAll).
type ChannelDestroyed struct {
	EventBase
	Cause    int    `json:"cause"`
	CauseTxt string `json:"cause_txt"`
	// TechCause is the SIP status behind Cause (486, 480, 408), 0 when absent.
	TechCause int     `json:"tech_cause,omitempty"`
	Channel   Channel `json:"channel"`
}

// Describe is the cause for the journal, e.g. "17 User busy (SIP 486 Busy
// Here)".
func (e *ChannelDestroyed) Describe() string {
	return DescribeCause(e.Cause, e.CauseTxt, e.TechCause)
}

// Dial status values of the Dial event (Dial.DialStatus). "" is the start of
// a dial; an originate that rings out gives no final Dial event, only
// ChannelDestroyed 19.
const (
	DialStarted     = ""
	DialRinging     = "RINGING"
	DialProgress    = "PROGRESS"
	DialAnswer      = "ANSWER"
	DialBusy        = "BUSY"
	DialNoAnswer    = "NOANSWER"
	DialCancel      = "CANCEL"
	DialCongestion  = "CONGESTION"
	DialChanUnavail = "CHANUNAVAIL"
)

// Dial: progress of a dial. For an originate there is no Caller, only Peer.
type Dial struct {
	EventBase
	Caller     *Channel `json:"caller,omitempty"`
	Peer       Channel  `json:"peer"`
	Forward    string   `json:"forward"`
	Forwarded  *Channel `json:"forwarded,omitempty"`
	DialString string   `json:"dialstring"`
	DialStatus string   `json:"dialstatus"`
}

// ChannelEnteredBridge: a channel joined a bridge.
type ChannelEnteredBridge struct {
	EventBase
	Bridge  Bridge   `json:"bridge"`
	Channel *Channel `json:"channel,omitempty"`
}

// ChannelLeftBridge: a channel left a bridge (removed, hung up, or the bridge
// was destroyed).
type ChannelLeftBridge struct {
	EventBase
	Bridge  Bridge  `json:"bridge"`
	Channel Channel `json:"channel"`
}

// BridgeCreated: a bridge was created (subscribeAll only).
type BridgeCreated struct {
	EventBase
	Bridge Bridge `json:"bridge"`
}

// BridgeDestroyed: a bridge is gone; delivered only for subscribed bridges or
// when an app channel hung up inside it.
type BridgeDestroyed struct {
	EventBase
	Bridge Bridge `json:"bridge"`
}

// ApplicationReplaced: another WebSocket took this app over; this one gets
// nothing more. The stream stops after delivering it.
type ApplicationReplaced struct {
	EventBase
}

// ChannelVarset: a variable changed (about a third of all events:
// STASISSTATUS, BRIDGEPEER, RTPAUDIOQOS*). Channel is nil for a global one.
type ChannelVarset struct {
	EventBase
	Variable string   `json:"variable"`
	Value    string   `json:"value"`
	Channel  *Channel `json:"channel,omitempty"`
}

// ChannelConnectedLine: the connected party's name/number changed.
type ChannelConnectedLine struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelCreated: a channel was created (for originated channels, before or
// after the 200 of the originate).
type ChannelCreated struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelCallerID is ARI's ChannelCallerId: the channel's caller id changed.
type ChannelCallerID struct {
	EventBase
	CallerPresentation    int     `json:"caller_presentation"`
	CallerPresentationTxt string  `json:"caller_presentation_txt"`
	Channel               Channel `json:"channel"`
}

// ChannelDialplan: the channel moved in the dialplan.
type ChannelDialplan struct {
	EventBase
	DialplanApp     string  `json:"dialplan_app"`
	DialplanAppData string  `json:"dialplan_app_data"`
	Channel         Channel `json:"channel"`
}

// DeviceStateChanged: a subscribed device changed state.
type DeviceStateChanged struct {
	EventBase
	DeviceState DeviceState `json:"device_state"`
}

// EndpointStateChange: a subscribed endpoint changed state or channels.
type EndpointStateChange struct {
	EventBase
	Endpoint Endpoint `json:"endpoint"`
}

// Unknown is an event of a type this package does not decode. It is logged at
// debug level and delivered, never an error: Asterisk adds event types.
type Unknown struct {
	EventBase
	Raw json.RawMessage `json:"-"`
}

// Connected is synthetic: the stream (re)opened its WebSocket. After a
// reconnect (Reconnect true) events of the gap are lost, not replayed:
// reconcile with Channels().List.
type Connected struct {
	EventBase
	Reconnect bool
}

// Disconnected is synthetic: the WebSocket dropped and the stream is
// reconnecting. Until the next Connected, Asterisk drops events for the app
// and new Stasis() calls fail at once.
type Disconnected struct {
	EventBase
	Err error
}

// Synthetic event types; Asterisk never sends these.
const (
	TypeConnected    = "vhold.Connected"
	TypeDisconnected = "vhold.Disconnected"
)

// newEvent returns an empty event of the named type, or nil.
func newEvent(typ string) Event {
	switch typ {
	case "StasisStart":
		return &StasisStart{}
	case "StasisEnd":
		return &StasisEnd{}
	case "ChannelDtmfReceived":
		return &ChannelDtmfReceived{}
	case "PlaybackStarted":
		return &PlaybackStarted{}
	case "PlaybackContinuing":
		return &PlaybackContinuing{}
	case "PlaybackFinished":
		return &PlaybackFinished{}
	case "RecordingStarted":
		return &RecordingStarted{}
	case "RecordingFinished":
		return &RecordingFinished{}
	case "RecordingFailed":
		return &RecordingFailed{}
	case "ChannelStateChange":
		return &ChannelStateChange{}
	case "ChannelHangupRequest":
		return &ChannelHangupRequest{}
	case "ChannelDestroyed":
		return &ChannelDestroyed{}
	case "Dial":
		return &Dial{}
	case "ChannelEnteredBridge":
		return &ChannelEnteredBridge{}
	case "ChannelLeftBridge":
		return &ChannelLeftBridge{}
	case "BridgeCreated":
		return &BridgeCreated{}
	case "BridgeDestroyed":
		return &BridgeDestroyed{}
	case "ApplicationReplaced":
		return &ApplicationReplaced{}
	case "ChannelVarset":
		return &ChannelVarset{}
	case "ChannelConnectedLine":
		return &ChannelConnectedLine{}
	case "ChannelCreated":
		return &ChannelCreated{}
	case "ChannelCallerId":
		return &ChannelCallerID{}
	case "ChannelDialplan":
		return &ChannelDialplan{}
	case "DeviceStateChanged":
		return &DeviceStateChanged{}
	case "EndpointStateChange":
		return &EndpointStateChange{}
	}
	return nil
}

// Decode turns one WebSocket message into its event. A message that is not a
// JSON object with a "type" is an error; a type this package does not know is
// an *Unknown, not an error.
func Decode(data []byte) (Event, error) {
	var base EventBase
	if err := json.Unmarshal(data, &base); err != nil {
		return nil, fmt.Errorf("decode ari event: %w", err)
	}
	if base.Type == "" {
		return nil, errors.New("decode ari event: no type")
	}
	ev := newEvent(base.Type)
	if ev == nil {
		raw := make(json.RawMessage, len(data))
		copy(raw, data)
		return &Unknown{EventBase: base, Raw: raw}, nil
	}
	if err := json.Unmarshal(data, ev); err != nil {
		return nil, fmt.Errorf("decode ari %s event: %w", base.Type, err)
	}
	return ev, nil
}

// ChannelOf returns the channel an event is about, or nil: the Channel of
// channel events, the Peer of Dial. Adapters use it to route events to the
// call they belong to.
func ChannelOf(e Event) *Channel {
	switch e := e.(type) {
	case *StasisStart:
		return &e.Channel
	case *StasisEnd:
		return &e.Channel
	case *ChannelDtmfReceived:
		return &e.Channel
	case *ChannelStateChange:
		return &e.Channel
	case *ChannelHangupRequest:
		return &e.Channel
	case *ChannelDestroyed:
		return &e.Channel
	case *Dial:
		return &e.Peer
	case *ChannelEnteredBridge:
		return e.Channel
	case *ChannelLeftBridge:
		return &e.Channel
	case *ChannelVarset:
		return e.Channel
	case *ChannelConnectedLine:
		return &e.Channel
	case *ChannelCreated:
		return &e.Channel
	case *ChannelCallerID:
		return &e.Channel
	case *ChannelDialplan:
		return &e.Channel
	}
	return nil
}
