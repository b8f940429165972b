package ari

import (
	"fmt"
	"strconv"
)

// Q.850 hangup causes as Asterisk numbers them (include/asterisk/causes.h),
// the ones a dial outcome is decided on. ChannelDestroyed.Cause carries them.
const (
	CauseUnallocated           = 1  // no such number (SIP 404)
	CauseNoRouteDestination    = 3  // no route
	CauseNormalClearing        = 16 // an ordinary hangup
	CauseUserBusy              = 17 // SIP 486, 600
	CauseNoUserResponse        = 18 // SIP 408: nothing answered the signalling
	CauseNoAnswer              = 19 // SIP 480, or rang until the timeout
	CauseSubscriberAbsent      = 20
	CauseCallRejected          = 21 // SIP 603
	CauseNumberChanged         = 22 // SIP 410
	CauseAnsweredElsewhere     = 26
	CauseDestinationOutOfOrder = 27 // SIP 502
	CauseInvalidNumberFormat   = 28 // SIP 484
	CauseNormalUnspecified     = 31
	CauseCircuitCongestion     = 34 // "congestion"
	CauseNetworkOutOfOrder     = 38
	CauseTemporaryFailure      = 41 // SIP 500, 503
	CauseSwitchCongestion      = 42
	CauseRequestedChanUnavail  = 44
	CauseInterworking          = 127
)

// causeNames holds Asterisk's name and text for each cause (channel.c's
// causes[] table), so the journal reads the same as Asterisk's own logs.
var causeNames = map[int][2]string{
	1:   {"UNALLOCATED", "Unallocated (unassigned) number"},
	2:   {"NO_ROUTE_TRANSIT_NET", "No route to specified transmit network"},
	3:   {"NO_ROUTE_DESTINATION", "No route to destination"},
	5:   {"MISDIALLED_TRUNK_PREFIX", "Misdialed trunk prefix"},
	6:   {"CHANNEL_UNACCEPTABLE", "Channel unacceptable"},
	7:   {"CALL_AWARDED_DELIVERED", "Call awarded and being delivered in an established channel"},
	8:   {"PRE_EMPTED", "Pre-empted"},
	14:  {"NUMBER_PORTED_NOT_HERE", "Number ported elsewhere"},
	16:  {"NORMAL_CLEARING", "Normal Clearing"},
	17:  {"USER_BUSY", "User busy"},
	18:  {"NO_USER_RESPONSE", "No user responding"},
	19:  {"NO_ANSWER", "User alerting, no answer"},
	20:  {"SUBSCRIBER_ABSENT", "Subscriber absent"},
	21:  {"CALL_REJECTED", "Call Rejected"},
	22:  {"NUMBER_CHANGED", "Number changed"},
	23:  {"REDIRECTED_TO_NEW_DESTINATION", "Redirected to new destination"},
	26:  {"ANSWERED_ELSEWHERE", "Answered elsewhere"},
	27:  {"DESTINATION_OUT_OF_ORDER", "Destination out of order"},
	28:  {"INVALID_NUMBER_FORMAT", "Invalid number format"},
	29:  {"FACILITY_REJECTED", "Facility rejected"},
	30:  {"RESPONSE_TO_STATUS_ENQUIRY", "Response to STATus ENQuiry"},
	31:  {"NORMAL_UNSPECIFIED", "Normal, unspecified"},
	34:  {"NORMAL_CIRCUIT_CONGESTION", "Circuit/channel congestion"},
	38:  {"NETWORK_OUT_OF_ORDER", "Network out of order"},
	41:  {"NORMAL_TEMPORARY_FAILURE", "Temporary failure"},
	42:  {"SWITCH_CONGESTION", "Switching equipment congestion"},
	43:  {"ACCESS_INFO_DISCARDED", "Access information discarded"},
	44:  {"REQUESTED_CHAN_UNAVAIL", "Requested channel not available"},
	50:  {"FACILITY_NOT_SUBSCRIBED", "Facility not subscribed"},
	52:  {"OUTGOING_CALL_BARRED", "Outgoing call barred"},
	54:  {"INCOMING_CALL_BARRED", "Incoming call barred"},
	57:  {"BEARERCAPABILITY_NOTAUTH", "Bearer capability not authorized"},
	58:  {"BEARERCAPABILITY_NOTAVAIL", "Bearer capability not available"},
	65:  {"BEARERCAPABILITY_NOTIMPL", "Bearer capability not implemented"},
	66:  {"CHAN_NOT_IMPLEMENTED", "Channel not implemented"},
	69:  {"FACILITY_NOT_IMPLEMENTED", "Facility not implemented"},
	81:  {"INVALID_CALL_REFERENCE", "Invalid call reference value"},
	88:  {"INCOMPATIBLE_DESTINATION", "Incompatible destination"},
	95:  {"INVALID_MSG_UNSPECIFIED", "Invalid message unspecified"},
	96:  {"MANDATORY_IE_MISSING", "Mandatory information element is missing"},
	97:  {"MESSAGE_TYPE_NONEXIST", "Message type nonexist."},
	98:  {"WRONG_MESSAGE", "Wrong message"},
	99:  {"IE_NONEXIST", "Info. element nonexist or not implemented"},
	100: {"INVALID_IE_CONTENTS", "Invalid information element contents"},
	101: {"WRONG_CALL_STATE", "Message not compatible with call state"},
	102: {"RECOVERY_ON_TIMER_EXPIRE", "Recover on timer expiry"},
	103: {"MANDATORY_IE_LENGTH_ERROR", "Mandatory IE length error"},
	111: {"PROTOCOL_ERROR", "Protocol error, unspecified"},
	127: {"INTERWORKING", "Interworking, unspecified"},
}

// CauseName is Asterisk's name for a Q.850 cause ("USER_BUSY"), or "" if it
// has none.
func CauseName(cause int) string { return causeNames[cause][0] }

// CauseText is Asterisk's text for a Q.850 cause ("User busy"), the same as
// ChannelDestroyed.CauseTxt; "Unknown" for a cause it has no text for.
func CauseText(cause int) string {
	if n, ok := causeNames[cause]; ok {
		return n[1]
	}
	return "Unknown"
}

// sipReasons are the SIP statuses a dial to an agent or customer ends with
// (the tech_cause of ChannelDestroyed).
var sipReasons = map[int]string{
	400: "Bad Request",
	401: "Unauthorized",
	403: "Forbidden",
	404: "Not Found",
	407: "Proxy Authentication Required",
	408: "Request Timeout",
	410: "Gone",
	415: "Unsupported Media Type",
	480: "Temporarily Unavailable",
	481: "Call/Transaction Does Not Exist",
	484: "Address Incomplete",
	485: "Ambiguous",
	486: "Busy Here",
	487: "Request Terminated",
	488: "Not Acceptable Here",
	500: "Server Internal Error",
	502: "Bad Gateway",
	503: "Service Unavailable",
	504: "Server Time-out",
	600: "Busy Everywhere",
	603: "Decline",
	604: "Does Not Exist Anywhere",
	606: "Not Acceptable",
}

// SIPStatusText is the reason phrase of a SIP status ("Busy Here"), or "" if
// it is not one vhold knows.
func SIPStatusText(status int) string { return sipReasons[status] }

// DescribeCause renders a hangup cause for the journal:
// "17 User busy (SIP 486 Busy Here)", "19 User alerting, no answer (SIP 480
// Temporarily Unavailable)", "16 Normal Clearing". causeTxt is Asterisk's
// own text when the event had one; techCause 0 means none.
func DescribeCause(cause int, causeTxt string, techCause int) string {
	if causeTxt == "" {
		causeTxt = CauseText(cause)
	}
	s := strconv.Itoa(cause) + " " + causeTxt
	if cause == 0 {
		s = "no cause"
	}
	if techCause != 0 {
		if r := SIPStatusText(techCause); r != "" {
			s += fmt.Sprintf(" (SIP %d %s)", techCause, r)
		} else {
			s += fmt.Sprintf(" (SIP %d)", techCause)
		}
	}
	return s
}
