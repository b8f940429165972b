package config

import (
	"fmt"
	"strings"

	"github.com/vhold/vhold/phone"
)

// The decoder calls decodeScalar on types that implement it, so each closed
// set of words is checked where it is defined and reported at its key.

// Synchronous is SQLite's synchronous pragma under WAL: normal can lose the
// last transactions on power loss (never on a crash of vhold); full cannot.
type Synchronous string

const (
	SyncNormal Synchronous = "normal"
	SyncFull   Synchronous = "full"
)

func (s *Synchronous) decodeScalar(v string) error { return oneOf(s, v, SyncNormal, SyncFull) }

// LogLevel is the least severe level written.
type LogLevel string

const (
	LevelDebug LogLevel = "debug"
	LevelInfo  LogLevel = "info"
	LevelWarn  LogLevel = "warn"
	LevelError LogLevel = "error"
)

func (l *LogLevel) decodeScalar(v string) error {
	return oneOf(l, v, LevelDebug, LevelInfo, LevelWarn, LevelError)
}

// LogFormat is text for people, json for collectors.
type LogFormat string

const (
	FormatText LogFormat = "text"
	FormatJSON LogFormat = "json"
)

func (f *LogFormat) decodeScalar(v string) error { return oneOf(f, v, FormatText, FormatJSON) }

// AgentState is an agent's state when vhold starts.
type AgentState string

const (
	AgentAvailable AgentState = "available"
	AgentPaused    AgentState = "paused"
	AgentOffline   AgentState = "offline"
)

func (s *AgentState) decodeScalar(v string) error {
	return oneOf(s, v, AgentAvailable, AgentPaused, AgentOffline)
}

// Language selects a queue's prompt set.
type Language string

const (
	LangEnglish Language = "en"
	LangSpanish Language = "es"
)

func (l *Language) decodeScalar(v string) error { return oneOf(l, v, LangEnglish, LangSpanish) }

// Strategy is who is called first on a callback: the customer (then an agent
// once they confirm) or the agent (who hears the context, then the customer).
type Strategy string

const (
	CustomerFirst Strategy = "customer-first"
	AgentFirst    Strategy = "agent-first"
)

func (s *Strategy) decodeScalar(v string) error { return oneOf(s, v, CustomerFirst, AgentFirst) }

// Reset is what a category's one honest reset promises.
type Reset string

const (
	ResetCall    Reset = "call"
	ResetWritten Reset = "written"
)

func (r *Reset) decodeScalar(v string) error { return oneOf(r, v, ResetCall, ResetWritten) }

// Region is an ISO 3166 region code such as "ES"; lower case is accepted and
// stored upper case, as the phone package expects.
type Region string

func (r *Region) decodeScalar(v string) error {
	if !phone.IsRegion(v) {
		return fmt.Errorf("%q is not a country code (want ISO 3166, such as \"ES\")", v)
	}
	*r = Region(strings.ToUpper(v))
	return nil
}

func oneOf[T ~string](p *T, v string, allowed ...T) error {
	for _, a := range allowed {
		if string(a) == v {
			*p = a
			return nil
		}
	}
	words := make([]string, len(allowed))
	for i, a := range allowed {
		words[i] = string(a)
	}
	return fmt.Errorf("%q is not one of %s", v, strings.Join(words, ", "))
}

// UnknownQueue is what happens to a call for a queue vhold does not serve.
type UnknownQueue string

const (
	UnknownHangup   UnknownQueue = "hangup"
	UnknownContinue UnknownQueue = "continue"
)

func (u *UnknownQueue) decodeScalar(v string) error {
	return oneOf(u, v, UnknownHangup, UnknownContinue)
}
