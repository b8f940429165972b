package pbxtest

import (
	"time"
	"unicode/utf8"

	"github.com/vhold/vhold/pbx"
)

// Spoken lengths of the default prompt model: close enough to vhold's
// catalog that hold loops, offers and timeouts interleave as on a real line.
const (
	soundLength    = 2 * time.Second
	wordLength     = 600 * time.Millisecond
	durationLength = 1500 * time.Millisecond
	// nameRate is how fast a caller says their name into Record.
	nameRate = 100 * time.Millisecond // per character
)

// DefaultPromptDuration is the prompt model used when Options.PromptDuration
// is nil: a sound 2 s, a number or digits 0.6 s per word or digit spoken, a
// duration 1.5 s. Recordings are timed by the switch that made them.
func DefaultPromptDuration(p pbx.Prompt) time.Duration {
	switch p.Kind {
	case pbx.KindNumber:
		return time.Duration(numberWords(p.N)) * wordLength
	case pbx.KindDigits:
		return time.Duration(utf8.RuneCountInString(p.Key)) * wordLength
	case pbx.KindDuration:
		return durationLength
	case pbx.KindRecording:
		return 0
	default:
		return soundLength
	}
}

// numberWords counts the English words that say n ("one hundred twenty five" is 4).
func numberWords(n int) int {
	if n < 0 {
		return 1 + numberWords(-n)
	}
	switch {
	case n < 20:
		return 1
	case n < 100:
		if n%10 == 0 {
			return 1
		}
		return 2
	}
	for _, u := range []struct{ size, words int }{{1_000_000_000, 1}, {1_000_000, 1}, {1000, 1}, {100, 1}} {
		if n >= u.size {
			w := numberWords(n/u.size) + u.words
			if r := n % u.size; r > 0 {
				w += numberWords(r)
			}
			return w
		}
	}
	return 1
}

// promptMatches reports whether a script's prompt name names p.
func promptMatches(name string, p pbx.Prompt) bool {
	return (p.Kind == pbx.KindSound && p.Key == name) || p.String() == name
}
