package freeswitch

import (
	"github.com/vhold/vhold/pbx"
)

// outcomeOf maps a Hangup-Cause (the leg's CHANNEL_HANGUP, or the "-ERR
// <CAUSE>" body of originate's BACKGROUND_JOB) to the dial's outcome. The
// traced ones are USER_BUSY (486), NO_ANSWER (originate_timeout) and
// NORMAL_TEMPORARY_FAILURE (nothing on the port, a local 503)
// (04-originate-fail); the others follow the Q.850 meaning the Asterisk
// adapter gives the same codes, so the two PBXs retry alike.
func outcomeOf(cause string) pbx.Outcome {
	switch cause {
	case "USER_BUSY": // Q.850 17
		return pbx.Busy
	case "NO_ANSWER", "NO_USER_RESPONSE", "PROGRESS_TIMEOUT", "ALLOTTED_TIMEOUT": // 19, 18 (no response from the phone)
		return pbx.NoAnswer
	case "CALL_REJECTED": // 21
		return pbx.Rejected
	case "UNALLOCATED_NUMBER", "NO_ROUTE_DESTINATION", "NUMBER_CHANGED", "INVALID_NUMBER_FORMAT", "NO_ROUTE_TRANSIT_NET": // 1, 3, 22, 28, 2
		return pbx.Invalid
	case "NORMAL_TEMPORARY_FAILURE", "RECOVERY_ON_TIMER_EXPIRE", "DESTINATION_OUT_OF_ORDER", // 41, 102 (SIP 408), 27
		"NETWORK_OUT_OF_ORDER", "NORMAL_CIRCUIT_CONGESTION", "SWITCH_CONGESTION", // 38, 34, 42
		"SUBSCRIBER_ABSENT", "USER_NOT_REGISTERED", "GATEWAY_DOWN", "MEDIA_TIMEOUT": // 20, and FreeSWITCH's own for an unregistered phone or a dead gateway
		return pbx.Unreachable
	}
	return pbx.Failed
}

// causeOf is the Hangup-Cause vhold hangs a call up with (uuid_kill's
// second argument).
func causeOf(c pbx.Cause) string {
	switch c {
	case pbx.CauseBusy:
		return "USER_BUSY"
	case pbx.CauseNoAnswer:
		return "NO_ANSWER"
	case pbx.CauseRejected:
		return "CALL_REJECTED"
	case pbx.CauseCongestion:
		return "NORMAL_CIRCUIT_CONGESTION"
	}
	return "NORMAL_CLEARING"
}
