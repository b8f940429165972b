// Package config reads vhold's YAML file into one struct tree that the rest of
// vhold receives ready to use: defaults applied, secrets substituted, relative
// paths resolved, hours parsed, and every value checked.
//
// A PBX admin edits this file by hand, often on a live system, so a mistake
// must cost one round trip: Load reports every problem at once, each with its
// file, line and key path, in the order they appear in the file.
//
// Defaults live beside each struct, in its setDefaults method, and are set
// before the YAML is decoded over them; what the file leaves out keeps them.
package config

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vhold/vhold/hours"
)

// Config is the whole file.
type Config struct {
	// File is the path the configuration was read from, for messages.
	File string `yaml:"-"`

	Store  Store             `yaml:"store"`
	HTTP   HTTP              `yaml:"http"`
	Log    Log               `yaml:"log"`
	PBX    PBX               `yaml:"pbx"`
	Sounds Sounds            `yaml:"sounds"`
	Agents map[string]*Agent `yaml:"agents"`
	Queues map[string]*Queue `yaml:"queues"`
	// Notify is nil when the file has no notify section: the promise
	// keeper's messages then only go to the log.
	Notify *Notify `yaml:"notify"`
}

func (c *Config) setDefaults() {
	c.Store = Store{Path: "vhold.db", Synchronous: SyncNormal, BusyTimeout: 5 * time.Second}
	c.HTTP = HTTP{Listen: "127.0.0.1:8080"}
	c.Log = Log{Level: LevelInfo, Format: FormatText}
}

// Default returns the configuration an empty file yields (it has no queues, so
// it does not validate); tests and tools start from it.
func Default() *Config {
	c := &Config{}
	c.setDefaults()
	return c
}

// Store is the SQLite database.
type Store struct {
	// Path is the database file; a relative path is resolved against the
	// folder of the configuration file. ":memory:" and "file:" URIs are kept
	// as written.
	Path        string        `yaml:"path"`
	Synchronous Synchronous   `yaml:"synchronous"`
	BusyTimeout time.Duration `yaml:"busy_timeout"`
}

// Sounds says which voice vhold speaks with.
type Sounds struct {
	// Custom is a folder of recorded prompts, laid out as <lang>/<key>.wav
	// (8 kHz, 16-bit, mono), that replace the generated voice key by key;
	// empty uses the generated voice. A relative path is relative to this
	// file's folder. `vhold check` lists the prompts it lacks.
	Custom string `yaml:"custom"`
}

// HTTP is the API, the callback form, the board and /metrics.
type HTTP struct {
	// Listen is host:port.
	Listen string `yaml:"listen"`
}

// Log is what vhold writes about itself.
type Log struct {
	Level  LogLevel  `yaml:"level"`
	Format LogFormat `yaml:"format"`
}

// PBX lists the switches vhold connects to; names are unique across both
// kinds, because logs and metrics name a connection by it.
type PBX struct {
	Asterisk   []Asterisk   `yaml:"asterisk"`
	FreeSWITCH []FreeSWITCH `yaml:"freeswitch"`
	// UnknownQueue is what happens to a call handed to a queue vhold does
	// not serve (a typo in the dialplan, a queue removed from vhold.yaml):
	// the caller always hears that the line is not available, then is hung
	// up, or handed back to the dialplan to carry on after Stasis().
	UnknownQueue UnknownQueue `yaml:"unknown_queue"`
}

// Asterisk is one ARI connection.
type Asterisk struct {
	Name string `yaml:"name"`
	// URL is the ARI base, e.g. "http://127.0.0.1:8088/ari", kept without a
	// trailing slash so adapters can append resource paths.
	URL      string `yaml:"url"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// App is the Stasis application name the dialplan hands calls to.
	App string `yaml:"app"`
	// Sounds is where `vhold sounds export` put the prompts on the Asterisk
	// host; they are played from <sounds>/<lang>/<key>.
	Sounds string `yaml:"sounds"`
	// Reaches names the other Asterisk servers whose agents this one can
	// dial with the same endpoint string (a shared registrar, or trunks
	// between the servers with matching dial strings): a caller on this
	// server can then be connected to those agents. It is one way; for both
	// ways, each server lists the other. Callbacks need no reach: they are
	// dialed from the agent's own server.
	Reaches []string `yaml:"reaches"`
}

func (a *Asterisk) setDefaults() { a.App, a.Sounds = "vhold", "/var/lib/asterisk/sounds/vhold" }

// FreeSWITCH is one event-socket connection.
type FreeSWITCH struct {
	Name string `yaml:"name"`
	// Address is host:port; the port defaults to 8021 when left out.
	Address  string `yaml:"address"`
	Password string `yaml:"password"`
	// Sounds is where `vhold sounds export` put the prompts on the
	// FreeSWITCH host; they are played from <sounds>/<lang>/<key>.wav.
	Sounds string `yaml:"sounds"`
	// Recordings is the folder on the FreeSWITCH host where callers' names
	// are recorded (qualify.record_name); FreeSWITCH must be able to write
	// it. vhold cannot delete files there over the event socket: clean it
	// up on the host (the README says how).
	Recordings string `yaml:"recordings"`
}

func (f *FreeSWITCH) setDefaults() {
	f.Sounds, f.Recordings = "/usr/share/freeswitch/sounds/vhold", "/var/lib/freeswitch/recordings/vhold"
}

// Agent is a person who answers queue calls and callbacks.
type Agent struct {
	// ID is the key under agents, which queues refer to.
	ID string `yaml:"-"`
	// Name is shown on the board; it defaults to the ID.
	Name string `yaml:"name"`
	// Endpoint is the dial string for the agent's phone: "PJSIP/1001",
	// "sofia/internal/1001@example.com".
	Endpoint string        `yaml:"endpoint"`
	WrapUp   time.Duration `yaml:"wrap_up"`
	// State is the agent's state when vhold starts.
	State AgentState `yaml:"state"`
	// PBX is the name of the server under pbx the agent's phone is registered
	// on: their callbacks are dialed from it, and callers on other servers
	// reach them only through those servers' reaches. It defaults to the
	// first configured server (Asterisk before FreeSWITCH); empty when no
	// server is configured.
	PBX string `yaml:"pbx"`
}

func (a *Agent) setDefaults() {
	a.WrapUp = 30 * time.Second
	a.State = AgentAvailable
}

// Queue is one line callers wait in. Its name is the one the dialplan passes:
// Stasis(vhold,support).
type Queue struct {
	// Name is the key under queues.
	Name string `yaml:"-"`
	// CallerID is presented on calls vhold places for this queue; empty leaves
	// it to the PBX.
	CallerID string `yaml:"caller_id"`
	// Language selects the prompt set.
	Language Language `yaml:"language"`
	// Country is the region a callback number without an international prefix
	// is read in.
	Country Region `yaml:"country"`
	// AllowedCountries limits callbacks to numbers of these regions; empty
	// allows any.
	AllowedCountries []Region `yaml:"allowed_countries"`
	// Agents are IDs under agents, in no particular order.
	Agents   []string `yaml:"agents"`
	Hours    Hours    `yaml:"hours"`
	Hold     Hold     `yaml:"hold"`
	Estimate Estimate `yaml:"estimate"`
	Offer    Offer    `yaml:"offer"`
	Qualify  Qualify  `yaml:"qualify"`
	Callback Callback `yaml:"callback"`
	Promise  Promise  `yaml:"promise"`
}

// Hold is what a caller hears while waiting on the line.
type Hold struct {
	// MOHClass is the PBX's music-on-hold class (musiconhold.conf on
	// Asterisk, a local_stream name on FreeSWITCH).
	MOHClass string `yaml:"moh_class"`
	// AnnounceEvery repeats the position and wait (and the offer) this often.
	AnnounceEvery time.Duration `yaml:"announce_every"`
}

// Qualify asks a caller who pressed 1 why they call and who they are,
// before the promise: the reason picks the promise category.
type Qualify struct {
	Reasons []Reason `yaml:"reasons"`
	// RecordName records the caller saying their name, played to the agent.
	RecordName bool `yaml:"record_name"`
}

// Reason is one choice of the reason menu.
type Reason struct {
	// Key is the key the caller presses ("1").
	Key string `yaml:"key"`
	// Category is the promise category the choice sets.
	Category string `yaml:"category"`
	// Prompt is the catalog key of the choice's prompt ("reason-billing").
	Prompt string `yaml:"prompt"`
}

func (q *Queue) setDefaults() {
	q.Language = LangEnglish
	q.Country = "US"
	q.Hours = Hours{Timezone: "UTC"}
	q.Hold = Hold{MOHClass: "default", AnnounceEvery: time.Minute}
	q.Estimate = Estimate{HandleTime: 5 * time.Minute, Smoothing: 0.02, Quantile: 0.9}
	q.Offer = Offer{
		Enabled:             true,
		MinWait:             2 * time.Minute,
		MaxOutstanding:      50,
		Horizon:             2 * time.Hour,
		CloseMargin:         15 * time.Minute,
		ScheduledAfterHours: true,
	}
	q.Callback = Callback{
		Strategy:         CustomerFirst,
		MaxAttempts:      3,
		RetryDelays:      []time.Duration{2 * time.Minute, 5 * time.Minute, 15 * time.Minute},
		RingTimeout:      30 * time.Second,
		DialString:       "PJSIP/{number}",
		AgentRingTimeout: 20 * time.Second,
		ConfirmTimeout:   10 * time.Second,
	}
	q.Promise = Promise{
		DefaultCategory: "general",
		Categories: map[string]*Category{
			"money":      {Margin: 20 * time.Minute, Reset: ResetCall},
			"escalation": {Margin: 15 * time.Minute, Reset: ResetCall},
			"access":     {Margin: 15 * time.Minute, Reset: ResetCall},
			"tense":      {Margin: 10 * time.Minute, Reset: ResetCall},
			"general":    {Margin: 10 * time.Minute, Reset: ResetCall},
		},
	}
}

// Hours is when a queue is open, as written; Schedule is the parsed form the
// rest of vhold uses.
type Hours struct {
	Timezone string   `yaml:"timezone"`
	Open     []string `yaml:"open"`
	Holidays []string `yaml:"holidays"`

	Schedule *hours.Schedule `yaml:"-"`
}

// Estimate tunes the wait estimate a caller is told.
type Estimate struct {
	// HandleTime is the mean handle time assumed before any call is measured.
	HandleTime time.Duration `yaml:"handle_time"`
	// Smoothing is the EWMA weight of each new measurement, 0 < a <= 1.
	Smoothing float64 `yaml:"smoothing"`
	// Quantile is how pessimistic a promised window is, 0.5 < q < 1.
	Quantile float64 `yaml:"quantile"`
}

// Offer decides when a caller hears "press 1 to be called back".
type Offer struct {
	Enabled bool `yaml:"enabled"`
	// MinWait is the estimated wait below which no callback is offered.
	MinWait time.Duration `yaml:"min_wait"`
	// MaxOutstanding caps callbacks waiting in the queue at once.
	MaxOutstanding int `yaml:"max_outstanding"`
	// Horizon is the longest window vhold will promise.
	Horizon time.Duration `yaml:"horizon"`
	// CloseMargin is how long before closing the backlog must be served.
	CloseMargin time.Duration `yaml:"close_margin"`
	// ScheduledAfterHours offers a callback slot in the next open period when
	// the queue cannot serve the caller today.
	ScheduledAfterHours bool `yaml:"scheduled_after_hours"`
}

// Callback says how a callback is dialed.
type Callback struct {
	Strategy    Strategy `yaml:"strategy"`
	MaxAttempts int      `yaml:"max_attempts"`
	// RetryDelays are the waits before the second, third… attempt; the last
	// one repeats if there are more attempts than delays.
	RetryDelays []time.Duration `yaml:"retry_delays"`
	RingTimeout time.Duration   `yaml:"ring_timeout"`
	// CallerID is presented to the customer; empty falls back to the queue's.
	CallerID string `yaml:"caller_id"`
	// DialString turns a customer's number into an endpoint; {number} is
	// replaced by the number in E.164 ("PJSIP/{number}@trunk",
	// "sofia/gateway/trunk/{number}").
	DialString string `yaml:"dial_string"`
	// AgentRingTimeout is how long an agent's phone rings before the agent
	// is paused as not answering.
	AgentRingTimeout time.Duration `yaml:"agent_ring_timeout"`
	// ConfirmTimeout is how long a called-back customer has to press 1;
	// silence (an answering machine) counts as not reached.
	ConfirmTimeout time.Duration `yaml:"confirm_timeout"`
}

// Promise configures the deadlines vhold keeps.
type Promise struct {
	// DefaultCategory applies when a callback is not given one.
	DefaultCategory string `yaml:"default_category"`
	// Supervisor owns the queue's promises at risk (unless their category
	// names an owner) and is told of every escalation: an address the staff
	// notifiers understand (an e-mail address, a chat handle).
	Supervisor string `yaml:"supervisor"`
	// Team is how the recovery message names who has the case ("the billing
	// team"); default "the <queue> team".
	Team string `yaml:"team"`
	// Categories merges over the defaults (money, escalation, access, tense,
	// general): naming one changes only the fields given.
	Categories map[string]*Category `yaml:"categories"`
}

// Category is how a kind of promise is kept.
type Category struct {
	// Margin is how long before the deadline a promise counts as at risk.
	Margin time.Duration `yaml:"margin"`
	// Reset is what the one honest reset promises: another call, or a
	// written update.
	Reset Reset `yaml:"reset"`
	// Owner, when set, owns this category's promises at risk instead of the
	// queue's supervisor (a billing lead for money, say).
	Owner string `yaml:"owner"`
	// Messages are the recovery message's text by language ("en", "es"), as
	// Go templates over {{.Team}}, {{.Promised}} (the time first promised),
	// {{.Deadline}} (the new time), {{.Queue}} and {{.Ticket}}. A language
	// left out uses vhold's own wording.
	Messages map[string]string `yaml:"messages"`
}

func (c *Category) setDefaults() { *c = Category{Margin: 10 * time.Minute, Reset: ResetCall} }

// Load reads and checks the file at path. lookupEnv supplies ${VAR}
// substitutions (os.LookupEnv in the binary; nil treats every variable as
// unset). An invalid file yields Errors.
func Load(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	// An absolute base keeps store.path right if the process later changes
	// directory.
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	return parse(path, dir, data, lookupEnv)
}

// Parse checks data as if read from the file name; relative paths resolve
// against name's folder.
func Parse(name string, data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	return parse(name, filepath.Dir(name), data, lookupEnv)
}

func parse(name, dir string, data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	c := Default()
	c.File = name
	d := newDecoder(name, lookupEnv)
	d.decodeDocument(data, c)
	validate(d, c, dir)
	if err := d.errors(); err != nil {
		return nil, err
	}
	return c, nil
}
