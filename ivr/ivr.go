// Package ivr is what a caller hears and presses: the hold loop with position
// and wait announcements, the callback offer, number capture and validation,
// the optional qualification, the promise, and the two short flows the dialer
// runs on its own calls (the customer's "press 1 to be connected" and the
// agent's whisper).
//
// The flows speak only pbx verbs and block only in them, so the same code runs
// on Asterisk, on FreeSWITCH and in virtual time under pbxtest. A hang-up
// makes every verb fail with pbx.ErrHungUp; each flow ends on the first such
// error and leaves the line as the caller left it: a live caller who was still
// waiting is abandoned, a callback that was already promised stays.
package ivr

import (
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/clock"
	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/queue"
)

// Defaults for QueueOptions and the fixed timings of the flows, in one place.
const (
	// DefaultAnnounceEvery is how often a caller on hold hears the position
	// again: often enough that the wait does not feel forgotten, rarely
	// enough that the music is not a string of interruptions.
	DefaultAnnounceEvery = 60 * time.Second
	// DefaultConfirmTimeout is how long an answered callback waits for a key
	// before it counts as an answering machine.
	DefaultConfirmTimeout = 10 * time.Second

	// menuTimeout is how long a menu waits for its key after the prompts.
	menuTimeout = 5 * time.Second
	// Number entry: the longest E.164 number is 15 digits, plus a trunk or
	// international prefix; the first key may take a while (the caller
	// looks the number up), later ones come quickly.
	numberMax          = 16
	numberTerminator   = "#"
	numberFirstTimeout = 10 * time.Second
	numberInterTimeout = 5 * time.Second
	// numberTries is how many numbers a caller may key before we stop
	// asking and let them keep holding.
	numberTries = 2
	// nameMax is long enough for a name, short enough that nobody tells
	// their story into it.
	nameMax = 4 * time.Second
	// namePrefix starts the name of every recording of a caller's name, so
	// the whisper can tell a recording in Ticket.Name from a name typed
	// into the web form.
	namePrefix = "vhold-name-"
	// bridgedWait is how long each Wait of a bridged caller lasts; any
	// value works, it only bounds how long a Wait blocks.
	bridgedWait = time.Hour
)

// What to do with a call handed to a queue the IVR has no options for.
const (
	// UnknownHangup: say the queue is not available and hang up.
	UnknownHangup = "hangup"
	// UnknownContinue: say the queue is not available, then hand the call
	// back to the dialplan (pbx.Continuer), which carries on with it; on a
	// PBX that cannot take a call back, the call is hung up as with
	// UnknownHangup.
	UnknownContinue = "continue"
)

// Config is what the IVR needs to know about each queue, keyed by the queue
// name the dialplan passes.
type Config struct {
	Queues map[string]QueueOptions
	// UnknownQueue is UnknownHangup (the default) or UnknownContinue. It
	// lives here, not in QueueOptions, because an unknown queue has no
	// options to read it from.
	UnknownQueue string
	// Recorder receives the flows' operational figures (package
	// opsmetrics); nil records nothing.
	Recorder Recorder
}

// Recorder counts what the call flows see, for the operational metrics.
// Its methods are called from the flows' goroutines and must not block.
type Recorder interface {
	// CallEntered: a live caller joined queue's line on the PBX named pbx
	// (not a caller taken back after a restart).
	CallEntered(queue, pbx string)
	// Offered: a caller heard an offer of kind ("callback", "scheduled")
	// for the first time in the call; repeats in later announcements are
	// not counted again.
	Offered(queue, kind string)
	// Accepted: a caller took an offer and became a callback of kind
	// ("callback", "scheduled"); not a caller who turned out to have one
	// already.
	Accepted(queue, kind string)
	// Estimated: the estimate (its mean) behind the first wait announced
	// to a caller; once per caller, at the first announcement whose
	// estimate was known.
	Estimated(queue string, announced time.Duration)
	// Waited: a live caller was connected to an agent after realised
	// (ConnectedAt − JoinedAt); announced is what Estimated recorded for
	// them, negative when no estimate was known.
	Waited(queue string, announced, realised time.Duration)
}

type noRecorder struct{}

func (noRecorder) CallEntered(string, string)                  {}
func (noRecorder) Offered(string, string)                      {}
func (noRecorder) Accepted(string, string)                     {}
func (noRecorder) Estimated(string, time.Duration)             {}
func (noRecorder) Waited(string, time.Duration, time.Duration) {}

// QueueOptions is how one queue talks to its callers.
type QueueOptions struct {
	// Language selects the prompts when the dialplan did not set one.
	Language string
	// Country is the region a keyed number without an international prefix
	// is read in (ISO 3166, "ES").
	Country string
	// AllowedCountries limits callback numbers to these regions; empty
	// allows any.
	AllowedCountries []string
	// MOHClass is the PBX's music-on-hold class; empty is its default.
	MOHClass string
	// AnnounceEvery is the time between position announcements.
	AnnounceEvery time.Duration
	// Reasons, when set, are offered as a menu after the number is taken;
	// the chosen reason's Category becomes the promise category.
	Reasons []Reason
	// RecordName asks the caller to say their name for the agent's whisper.
	RecordName bool
	// ConfirmTimeout is how long the callback-answer flow waits for a key.
	ConfirmTimeout time.Duration
	// Location is the zone a scheduled slot's day and time are said in (the
	// queue's business hours zone); nil says them in the slot's own zone.
	Location *time.Location
}

// Reason is one entry of the qualification menu.
type Reason struct {
	// Key is the key the caller presses ("1".."9").
	Key      string
	Category queue.Category
	// Prompt is the catalog key of the menu entry ("for billing, press 1").
	Prompt string
}

// withDefaults fills the zero fields of o.
func (o QueueOptions) withDefaults() QueueOptions {
	if o.AnnounceEvery <= 0 {
		o.AnnounceEvery = DefaultAnnounceEvery
	}
	if o.ConfirmTimeout <= 0 {
		o.ConfirmTimeout = DefaultConfirmTimeout
	}
	return o
}

// Connector is what the IVR needs of the dialer: to know which live callers
// are on hold and can be bridged to an agent.
type Connector interface {
	// Attach is called once a live caller has joined the line as ticket id.
	Attach(id queue.TicketID, c pbx.Call)
	// Detach is called when the caller leaves the live line: hung up,
	// became a callback, or finished with an agent.
	Detach(id queue.TicketID)
}

// IVR runs the call flows of every queue against one line.
type IVR struct {
	cfg  Config
	line *queue.Line
	clk  clock.Clock
	conn Connector
	log  *logrus.Entry
}

// New builds the IVR. conn may be nil when nothing bridges live callers (the
// flows then only take callbacks); log may be nil.
func New(cfg Config, line *queue.Line, clk clock.Clock, conn Connector, log *logrus.Entry) *IVR {
	qs := make(map[string]QueueOptions, len(cfg.Queues))
	for name, o := range cfg.Queues {
		qs[name] = o.withDefaults()
	}
	cfg.Queues = qs
	if cfg.UnknownQueue != UnknownContinue {
		cfg.UnknownQueue = UnknownHangup
	}
	if cfg.Recorder == nil {
		cfg.Recorder = noRecorder{}
	}
	if conn == nil {
		conn = noConnector{}
	}
	if log == nil {
		l := logrus.New()
		l.SetLevel(logrus.PanicLevel)
		log = logrus.NewEntry(l)
	}
	return &IVR{cfg: cfg, line: line, clk: clk, conn: conn, log: log}
}

// options returns a queue's options, or the defaults for a queue the IVR was
// not configured with (the dialer may call back a web request for one).
func (v *IVR) options(q string) QueueOptions {
	if o, ok := v.cfg.Queues[q]; ok {
		return o
	}
	return QueueOptions{}.withDefaults()
}

type noConnector struct{}

func (noConnector) Attach(queue.TicketID, pbx.Call) {}
func (noConnector) Detach(queue.TicketID)           {}
