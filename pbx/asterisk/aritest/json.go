package aritest

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// asteriskID is the entity id the traced Asterisk reported (asterisk_id in
// every event, system.entity_id in /asterisk/info); all traces.
const asteriskID = "02:fc:00:00:00:01"

// tsLayout is how Asterisk writes event and snapshot times: milliseconds and a
// +0000 offset without a colon, which time.RFC3339 cannot parse (traces
// README, "Line format").
const tsLayout = "2006-01-02T15:04:05.000-0700"

func stamp(t time.Time) string { return t.UTC().Format(tsLayout) }

// kv is one member of an obj.
type kv struct {
	k string
	v any
}

// obj is a JSON object whose members keep the order they were written in.
// Asterisk (jansson) writes members in a fixed order per message type, and the
// fake reproduces that order so a byte-level diff against a trace line reads
// cleanly; encoding/json maps would sort the keys.
type obj []kv

// MarshalJSON writes the members in order.
func (o obj) MarshalJSON() ([]byte, error) { return appendJSON(nil, o), nil }

// mustJSON encodes v compactly.
func mustJSON(v any) []byte { return appendJSON(nil, v) }

// appendJSON appends v's encoding to b. It handles the types the fake builds
// its messages from directly, which keeps encoding cheap when 500 callers'
// events carry bridge snapshots listing 500 channels; anything else goes
// through encoding/json. Strings are written without HTML escaping, as
// jansson writes them (caller ids like "VHold" <7000> stay readable).
func appendJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case obj:
		b = append(b, '{')
		for i, m := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, m.k)
			b = append(b, ':')
			b = appendJSON(b, m.v)
		}
		return append(b, '}')
	case string:
		return appendString(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case bool:
		return strconv.AppendBool(b, x)
	case []string:
		b = append(b, '[')
		for i, s := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		return append(b, ']')
	case []obj:
		b = append(b, '[')
		for i, o := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, o)
		}
		return append(b, ']')
	case nil:
		return append(b, "null"...)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Everything the fake encodes is built from strings, numbers and
		// objs: an error is a programming error.
		panic("aritest: encode JSON: " + err.Error())
	}
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// strs returns an empty JSON array rather than null for no elements: Asterisk
// writes "channels":[] and "args":[] (info.jsonl, errors.jsonl seq 58).
func strs(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// event is one ARI event before it is addressed to an application: the
// timestamp is fixed when it is emitted and the application member is filled
// per receiving app.
type event struct {
	typ    string
	pre    obj // members Asterisk writes before "type": ChannelVarset, ChannelHangupRequest (all traces)
	fields obj // members between "timestamp" and "asterisk_id"
	layout int
	at     time.Time
}

const (
	layoutNormal      = iota // type, timestamp, fields, asterisk_id, application
	layoutAppSecond          // type, application, timestamp, fields, asterisk_id: DeviceStateChanged (originate-fail.jsonl seq 27, info.jsonl seq 46)
	layoutAppBeforeID        // type, timestamp, application, asterisk_id: ApplicationReplaced (disconnect.jsonl seq 49)
)

// encode writes the event as the app called app receives it.
func (e event) encode(app string) []byte {
	o := make(obj, 0, len(e.pre)+len(e.fields)+4)
	o = append(o, e.pre...)
	switch e.layout {
	case layoutAppSecond:
		o = append(o, kv{"type", e.typ}, kv{"application", app}, kv{"timestamp", stamp(e.at)})
		o = append(o, e.fields...)
		o = append(o, kv{"asterisk_id", asteriskID})
	case layoutAppBeforeID:
		o = append(o, kv{"type", e.typ}, kv{"timestamp", stamp(e.at)})
		o = append(o, e.fields...)
		o = append(o, kv{"application", app}, kv{"asterisk_id", asteriskID})
	default:
		o = append(o, kv{"type", e.typ}, kv{"timestamp", stamp(e.at)})
		o = append(o, e.fields...)
		o = append(o, kv{"asterisk_id", asteriskID}, kv{"application", app})
	}
	return mustJSON(o)
}

// causeText is Asterisk's ast_cause2str for the causes the fake produces
// (main/channel.c causes[]); ChannelDestroyed carries it as cause_txt.
func causeText(cause int) string {
	switch cause {
	case 1:
		return "Unallocated (unassigned) number"
	case 16:
		return "Normal Clearing"
	case 17:
		return "User busy"
	case 18:
		return "No user responding"
	case 19:
		return "User alerting, no answer"
	case 21:
		return "Call Rejected"
	case 27:
		return "Destination out of order"
	case 28:
		return "Invalid number format"
	case 31:
		return "Normal, unspecified"
	case 34:
		return "Circuit/channel congestion"
	case 38:
		return "Network out of order"
	case 41:
		return "Temporary failure"
	case 42:
		return "Switching equipment congestion"
	case 58:
		return "Bearer capability not available"
	case 127:
		return "Interworking, unspecified"
	}
	return "Unknown"
}

// hangupReason maps DELETE /channels/{id}?reason= to a cause, as
// res/ari/resource_channels.c convert_reason_to_hangup_code does; false for a
// reason Asterisk rejects with 400.
func hangupReason(reason string) (int, bool) {
	switch reason {
	case "normal":
		return 16, true
	case "busy":
		return 17, true
	case "congestion":
		return 34, true
	case "no_answer":
		return 19, true
	case "timeout":
		return 18, true
	case "rejected":
		return 21, true
	case "unallocated":
		return 1, true
	case "normal_unspecified":
		return 31, true
	case "number_incomplete":
		return 28, true
	case "codec_mismatch":
		return 58, true
	case "interworking":
		return 127, true
	case "failure":
		return 38, true
	case "answered_elsewhere":
		return 26, true
	}
	return 0, false
}
