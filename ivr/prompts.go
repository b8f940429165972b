package ivr

import (
	"sort"
	"time"

	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/queue"
)

// Catalog keys of everything the flows say, one per utterance. Numbers,
// digits and durations are not here: they are pbx.Number, pbx.Digits and
// pbx.Duration prompts, composed by the sounds package, so a sentence such as
// "you are number 4 in line" is three prompts: PromptYouAreNumber,
// pbx.Number(4), PromptInLine. Queue names and promise categories have keys
// derived from their names (QueuePrompt, CategoryPrompt).
const (
	// Entry.
	PromptGreeting         = "greeting"          // "Thank you for calling."
	PromptQueueUnavailable = "queue-unavailable" // "Sorry, this line is not available. Please call again later."

	// Position and wait.
	PromptYouAreNumber = "position-you-are-number" // "You are number"
	PromptInLine       = "position-in-line"        // "in line."
	PromptWaitAbout    = "wait-about"              // "The wait is about" + duration

	// Offers.
	PromptOfferCallback  = "offer-callback"  // "Press 1 to keep your place and get a call back."
	PromptOfferScheduled = "offer-scheduled" // "Press 1 and we will call you back" + day + time

	// Days and times, for scheduled slots.
	PromptToday     = "day-today"
	PromptTomorrow  = "day-tomorrow"
	PromptMonday    = "day-monday"
	PromptTuesday   = "day-tuesday"
	PromptWednesday = "day-wednesday"
	PromptThursday  = "day-thursday"
	PromptFriday    = "day-friday"
	PromptSaturday  = "day-saturday"
	PromptSunday    = "day-sunday"

	// A caller who already has a callback pending.
	PromptExistingCallback = "existing-callback"       // "We already have your callback request."
	PromptKeepOrCancel     = "existing-keep-or-cancel" // "Press 1 to keep it, 2 to cancel it and wait on the line."

	// Number capture.
	PromptNumberEndingIn   = "number-ending-in"        // "We will call you at the number ending in" + digits
	PromptConfirmOrOther   = "number-confirm-or-other" // "Press 1 to confirm, 2 to enter another number."
	PromptEnterNumber      = "number-enter"            // "Please enter your phone number, then press the hash key."
	PromptYouEntered       = "number-you-entered"      // "You entered" + digits
	PromptCorrectOrRetry   = "number-correct-or-retry" // "Press 1 if this is correct, 2 to try again."
	PromptNoNumber         = "number-none"             // "We did not receive a number."
	PromptNumberInvalid    = "number-invalid"          // "That is not a valid phone number."
	PromptNumberPremium    = "number-premium"          // "We cannot call premium-rate numbers."
	PromptNumberSharedCost = "number-shared-cost"      // "We cannot call shared-cost numbers."
	PromptNumberCountry    = "number-country"          // "We cannot call numbers in that country."
	PromptNumberFailed     = "number-failed"           // "We could not take your number; you keep your place in line."
	PromptCallbackFailed   = "callback-failed"         // "We could not set up your call back; you keep your place in line."

	// Qualification.
	PromptReasonMenu = "reason-menu" // "Please tell us what your call is about." + each Reason.Prompt
	PromptSayName    = "name-record" // "After the tone, say your name."

	// The promise.
	PromptPromiseWithin    = "promise-within"    // "We will call you back within" + duration
	PromptPromiseScheduled = "promise-scheduled" // "We will call you back" + day + time
	PromptExistingRequest  = "existing-request"  // "We already have your request."
	PromptYouKeepNumber    = "you-keep-number"   // "You keep number" + number
	PromptThankYou         = "thank-you"
	PromptGoodbye          = "goodbye"

	// The callback-answer flow.
	PromptCallbackFrom   = "confirm-callback-from"    // "This is your call back from" + queue
	PromptConnectOrLater = "confirm-connect-or-later" // "Press 1 to be connected now, 2 if this is not a good time."
	PromptCallAgainLater = "confirm-later"            // "We will call you again later."

	// The agent's side.
	PromptWhisperWaited      = "whisper-waited"             // "Waited" + duration
	PromptCustomerNotReached = "agent-customer-not-reached" // "The customer could not be reached." (agent-first dialing)
)

// Prefixes of the derived keys.
const (
	queuePrefix    = "queue-"
	categoryPrefix = "category-"
)

// QueuePrompt is the catalog key that says a queue's name ("queue-support"),
// used when a callback introduces itself.
func QueuePrompt(name string) string { return queuePrefix + name }

// CategoryPrompt is the catalog key that tells the agent what a callback is
// about ("category-money").
func CategoryPrompt(c queue.Category) string { return categoryPrefix + string(c) }

var weekdays = [7]string{
	time.Sunday:    PromptSunday,
	time.Monday:    PromptMonday,
	time.Tuesday:   PromptTuesday,
	time.Wednesday: PromptWednesday,
	time.Thursday:  PromptThursday,
	time.Friday:    PromptFriday,
	time.Saturday:  PromptSaturday,
}

// PromptKeys returns every fixed catalog key the flows may play, sorted, so
// the sounds package can check its catalog covers them. Keys that depend on
// the configuration are listed by Config.PromptKeys.
func PromptKeys() []string {
	keys := []string{
		PromptGreeting, PromptQueueUnavailable,
		PromptYouAreNumber, PromptInLine, PromptWaitAbout,
		PromptOfferCallback, PromptOfferScheduled,
		PromptToday, PromptTomorrow,
		PromptExistingCallback, PromptKeepOrCancel,
		PromptNumberEndingIn, PromptConfirmOrOther, PromptEnterNumber, PromptYouEntered,
		PromptCorrectOrRetry, PromptNoNumber, PromptNumberInvalid, PromptNumberPremium,
		PromptNumberSharedCost, PromptNumberCountry, PromptNumberFailed, PromptCallbackFailed,
		PromptReasonMenu, PromptSayName,
		PromptPromiseWithin, PromptPromiseScheduled, PromptExistingRequest, PromptYouKeepNumber,
		PromptThankYou, PromptGoodbye,
		PromptCallbackFrom, PromptConnectOrLater, PromptCallAgainLater,
		PromptWhisperWaited, PromptCustomerNotReached,
	}
	keys = append(keys, weekdays[:]...)
	sort.Strings(keys)
	return keys
}

// PromptKeys returns the catalog keys a configuration adds to the fixed ones:
// each queue's name, each reason's menu entry, and the category of each
// reason (what the whisper says), sorted and without duplicates.
func (c Config) PromptKeys() []string {
	seen := map[string]bool{}
	for name, o := range c.Queues {
		seen[QueuePrompt(name)] = true
		for _, r := range o.Reasons {
			seen[r.Prompt] = true
			seen[CategoryPrompt(r.Category)] = true
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// sounds turns catalog keys into prompts.
func sounds(keys ...string) []pbx.Prompt {
	ps := make([]pbx.Prompt, len(keys))
	for i, k := range keys {
		ps[i] = pbx.Sound(k)
	}
	return ps
}

// slotPrompts says when a slot starts, relative to now: "today"/"tomorrow"/
// "on Monday", "at", the hour, and the minute or "o'clock". Both times are
// read in loc (the queue's zone) so "tomorrow" is the caller's tomorrow.
func slotPrompts(slot, now time.Time, loc *time.Location) []pbx.Prompt {
	if loc == nil {
		loc = slot.Location()
	}
	s, n := slot.In(loc), now.In(loc)
	sy, sm, sd := s.Date()
	ny, nm, nd := n.Date()
	days := int(time.Date(sy, sm, sd, 12, 0, 0, 0, time.UTC).Sub(time.Date(ny, nm, nd, 12, 0, 0, 0, time.UTC)).Hours() / 24)
	var day string
	switch days {
	case 0:
		day = PromptToday
	case 1:
		day = PromptTomorrow
	default:
		day = weekdays[s.Weekday()]
	}
	return []pbx.Prompt{pbx.Sound(day), pbx.Time(s.Hour(), s.Minute())}
}
