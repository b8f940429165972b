package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// env is a lookupEnv over a fixed map, so tests never read the process
// environment.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

var bothSecrets = env(map[string]string{
	"VHOLD_ARI_PASSWORD": "ari-secret",
	"VHOLD_ESL_PASSWORD": "ClueCon-not",
})

const example = "../configs/vhold.yaml"

func TestExample(t *testing.T) {
	c, err := Load(example, bothSecrets)
	if err != nil {
		t.Fatalf("Load(%s):\n%v", example, err)
	}

	wantDB, err := filepath.Abs("../configs/vhold.db")
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.Path != wantDB {
		t.Errorf("store.path = %q, want %q", c.Store.Path, wantDB)
	}
	if got := c.PBX.Asterisk[0]; got.Password != "ari-secret" || got.URL != "http://127.0.0.1:8088/ari" || got.App != "vhold" {
		t.Errorf("asterisk = %+v", got)
	}
	if got := c.PBX.FreeSWITCH[0]; got.Password != "ClueCon-not" || got.Address != "127.0.0.1:8021" {
		t.Errorf("freeswitch = %+v", got)
	}
	if len(c.Agents) != 3 || c.Agents["bob"].State != AgentAvailable || c.Agents["carmen"].WrapUp != 30*time.Second {
		t.Errorf("agents = %+v", c.Agents)
	}
	if c.Agents["alice"].PBX != "asterisk-1" || c.Agents["bob"].PBX != "asterisk-1" || c.Agents["carmen"].PBX != "freeswitch-1" {
		t.Errorf("agents homed on %q, %q, %q", c.Agents["alice"].PBX, c.Agents["bob"].PBX, c.Agents["carmen"].PBX)
	}
	if len(c.Queues) != 2 {
		t.Fatalf("queues = %v", sortedKeys(c.Queues))
	}

	support := c.Queues["support"]
	if support.Name != "support" || support.Country != "ES" || support.Language != LangSpanish {
		t.Errorf("support = %+v", support)
	}
	sched := support.Hours.Schedule
	if sched == nil || sched.Location().String() != "Europe/Madrid" {
		t.Fatalf("support schedule = %v", sched)
	}
	madrid := sched.Location()
	if !sched.Open(time.Date(2026, 6, 3, 10, 0, 0, 0, madrid)) || sched.Open(time.Date(2026, 12, 25, 10, 0, 0, 0, madrid)) {
		t.Errorf("support hours: not open on a wednesday morning, or open on christmas")
	}

	billing := c.Queues["billing"]
	if billing.Callback.Strategy != AgentFirst || billing.Offer.MinWait != time.Minute || billing.Offer.Horizon != 2*time.Hour {
		t.Errorf("billing = %+v", billing)
	}
	if got := billing.Promise.Categories["money"]; !reflect.DeepEqual(*got, Category{Margin: 30 * time.Minute, Reset: ResetCall}) {
		t.Errorf("billing money category = %+v, want the margin changed and the reset kept", got)
	}
	if len(billing.Promise.Categories) != 5 {
		t.Errorf("billing categories = %v, want the 5 built-in ones", sortedKeys(billing.Promise.Categories))
	}
}

func TestExampleUnsetSecret(t *testing.T) {
	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	line := 1 + strings.Count(string(data[:strings.Index(string(data), "${VHOLD_ESL_PASSWORD}")]), "\n")

	_, err = Parse(example, data, env(map[string]string{"VHOLD_ARI_PASSWORD": "x"}))
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse error = %v (%T), want Errors", err, err)
	}
	want := FieldError{
		File: example,
		Line: line,
		Path: "pbx.freeswitch[0].password",
		Msg:  "environment variable VHOLD_ESL_PASSWORD is not set",
	}
	if len(errs) != 1 || errs[0].File != want.File || errs[0].Line != want.Line || errs[0].Path != want.Path || errs[0].Msg != want.Msg {
		t.Errorf("errors:\n%v\nwant:\n%v", errs, want)
	}
}

func TestBrokenGolden(t *testing.T) {
	const name = "testdata/broken.yaml"
	_, err := Load(name, env(map[string]string{"VHOLD_ARI_PASSWORD": "x"}))
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Load error = %v (%T), want Errors", err, err)
	}
	got := err.Error() + "\n"
	golden := "testdata/broken.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("errors differ from %s (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", golden, got, want)
	}
	for i := 1; i < len(errs); i++ {
		if errs[i].Line < errs[i-1].Line {
			t.Errorf("errors out of file order at %d: line %d after %d", i, errs[i].Line, errs[i-1].Line)
		}
	}
}

const minimal = `
agents:
  a1:
    endpoint: PJSIP/1001
queues:
  q:
    agents: [a1]
`

func TestDefaults(t *testing.T) {
	c, err := Parse("vhold.yaml", []byte(minimal), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Store != (Store{Path: "vhold.db", Synchronous: SyncNormal, BusyTimeout: 5 * time.Second}) {
		t.Errorf("store = %+v", c.Store)
	}
	if c.HTTP.Listen != "127.0.0.1:8080" || c.Log != (Log{LevelInfo, FormatText}) {
		t.Errorf("http = %+v, log = %+v", c.HTTP, c.Log)
	}
	if got, want := *c.Agents["a1"], (Agent{ID: "a1", Name: "a1", Endpoint: "PJSIP/1001", WrapUp: 30 * time.Second, State: AgentAvailable}); got != want {
		t.Errorf("agent = %+v, want %+v", got, want)
	}

	q := c.Queues["q"]
	if q.Hours.Schedule == nil || q.Hours.Schedule.Location() != time.UTC || !q.Hours.Schedule.Open(time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC)) {
		t.Errorf("default hours are not UTC around the clock")
	}
	q.Hours.Schedule = nil
	want := &Queue{}
	want.setDefaults()
	want.Name = "q"
	want.Agents = []string{"a1"}
	if !reflect.DeepEqual(q, want) {
		t.Errorf("queue =\n%+v\nwant\n%+v", q, want)
	}
	if q.Country != "US" || q.Language != LangEnglish || q.Offer.MinWait != 2*time.Minute ||
		q.Callback.RetryDelays[2] != 15*time.Minute || q.Promise.Categories["money"].Margin != 20*time.Minute {
		t.Errorf("defaults not as documented: %+v", q)
	}

	// Defaults are per queue: changing one queue's map must not reach another.
	other := &Queue{}
	other.setDefaults()
	q.Promise.Categories["money"].Margin = time.Hour
	if other.Promise.Categories["money"].Margin != 20*time.Minute {
		t.Errorf("queues share their default categories")
	}
}

func TestStorePath(t *testing.T) {
	tests := []struct{ file, path, want string }{
		{"etc/vhold/vhold.yaml", "vhold.db", "etc/vhold/vhold.db"},
		{"etc/vhold/vhold.yaml", "../data/v.db", "etc/data/v.db"},
		{"vhold.yaml", "data/v.db", "data/v.db"},
		{"etc/vhold.yaml", "/var/lib/vhold/vhold.db", "/var/lib/vhold/vhold.db"},
		{"etc/vhold.yaml", ":memory:", ":memory:"},
		{"etc/vhold.yaml", "file:test.db?mode=memory", "file:test.db?mode=memory"},
	}
	for _, tt := range tests {
		c, err := Parse(tt.file, []byte("store: {path: \""+tt.path+"\"}\n"+minimal), nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		if c.Store.Path != filepath.FromSlash(tt.want) {
			t.Errorf("%s in %s = %q, want %q", tt.path, tt.file, c.Store.Path, tt.want)
		}
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "vhold.yaml")
	if err := os.WriteFile(file, []byte(minimal), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "vhold.db"); c.Store.Path != want {
		t.Errorf("Load store.path = %q, want %q", c.Store.Path, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "read config: ") {
		t.Errorf("Load error = %v", err)
	}
}

// TestProblems checks one kind of problem per case, each inside an otherwise
// valid file, so the message and line are exactly the ones expected.
func TestProblems(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"empty file", "", []string{"c.yaml: queues: at least one queue is required"}},
		{"yaml syntax", "queues: [\n", []string{"c.yaml:1: did not find expected node content"}},
		{"not a mapping", "- a\n", []string{"c.yaml:1: want a mapping of keys, got a list"}},
		{"duplicate key", "log: {level: info}\nlog: {level: debug}\n" + minimal,
			[]string{"c.yaml:2: log: duplicate key (first at line 1)"}},
		{"suggestion", "stroe: {}\n" + minimal,
			[]string{`c.yaml:1: stroe: unknown key (did you mean "store"?)`}},
		{"no suggestion", "frobnicate: 1\n" + minimal,
			[]string{`c.yaml:1: frobnicate: unknown key`}},
		{"want a list", minimal + "    allowed_countries: ES\n",
			[]string{`c.yaml:8: queues.q.allowed_countries: want a list, got "ES"`}},
		{"want a value", "http: {listen: [a]}\n" + minimal,
			[]string{`c.yaml:1: http.listen: want a single value, got a list`}},
		{"bad recovery message", minimal + "    promise: {categories: {money: {messages: {en: 'by {{.Dedline}}'}}}}\n",
			[]string{`c.yaml:8: queues.q.promise.categories.money.messages.en: cannot be rendered: template: message:1:5: executing "message" at <.Dedline>: can't evaluate field Dedline in type config.MessageData`}},
		{"unknown queue policy", "pbx: {unknown_queue: transfer}\n" + minimal,
			[]string{`c.yaml:1: pbx.unknown_queue: "transfer" is not one of hangup, continue`}},
		{"bare number duration", "store: {busy_timeout: 90}\n" + minimal,
			[]string{`c.yaml:1: store.busy_timeout: "90" is not a duration (give a unit, as in "90s" or "90m")`}},
		{"negative duration", "store: {busy_timeout: -1s}\n" + minimal,
			[]string{`c.yaml:1: store.busy_timeout: "-1s" is negative`}},
		{"not an integer", minimal + "    offer: {max_outstanding: lots}\n",
			[]string{`c.yaml:8: queues.q.offer.max_outstanding: "lots" is not a whole number`}},
		{"not a bool", minimal + "    offer: {enabled: yes}\n",
			[]string{`c.yaml:8: queues.q.offer.enabled: "yes" is not true or false`}},
		{"not a float", minimal + "    estimate: {quantile: high}\n",
			[]string{`c.yaml:8: queues.q.estimate.quantile: "high" is not a number`}},
		{"range checks", minimal + "    estimate: {handle_time: 0s, quantile: 0.5}\n    callback: {max_attempts: 0, ring_timeout: 0s}\n",
			[]string{
				`c.yaml:8: queues.q.estimate.handle_time: must be more than 0`,
				`c.yaml:8: queues.q.estimate.quantile: 0.5 is not in 0.5 < quantile < 1`,
				`c.yaml:9: queues.q.callback.max_attempts: must be at least 1`,
				`c.yaml:9: queues.q.callback.ring_timeout: must be more than 0`,
			}},
		{"horizon below min_wait", minimal + "    offer: {min_wait: 5m, horizon: 90s}\n",
			[]string{`c.yaml:8: queues.q.offer.horizon: 1m30s is shorter than min_wait (5m), so no callback would ever be offered`}},
		{"retries without delays", minimal + "    callback: {retry_delays: []}\n",
			[]string{`c.yaml:8: queues.q.callback.retry_delays: at least one delay is required when max_attempts is more than 1`}},
		{"no default category", minimal + "    promise: {default_category: vip, categories: {VIP: {margin: 5m}}}\n",
			[]string{
				`c.yaml:8: queues.q.promise.default_category: category "vip" is not defined under promise.categories`,
				`c.yaml:8: queues.q.promise.categories.VIP: category name "VIP" must be lower-case letters, digits, '_' or '-'`,
			}},
		{"hours never open", minimal + "    hours: {open: [daily closed]}\n",
			[]string{`c.yaml:8: queues.q.hours.open: no day has open hours; leave the list empty to be open around the clock`}},
		{"no agents, no queue", "agents: {}\nqueues:\n  q: {}\n",
			[]string{`c.yaml:3: queues.q.agents: at least one agent is required`}},
		{"agent listed twice", minimal + "    agents: [a1, a1]\n",
			[]string{`c.yaml:8: queues.q.agents: duplicate key (first at line 7)`}},
		{"duplicate in list", strings.Replace(minimal, "[a1]", "[a1, a1]", 1),
			[]string{`c.yaml:7: queues.q.agents[1]: agent "a1" is listed twice`}},
		{"caller id", minimal + "    caller_id: call-me\n",
			[]string{`c.yaml:8: queues.q.caller_id: "call-me" is not a phone number (want E.164 such as "+34911234567", or digits)`}},
		{"odd agent key", strings.Replace(minimal, "  a1:\n", "  \"a 1\":\n", 1),
			[]string{
				`c.yaml:3: agents["a 1"]: agent id "a 1" must be letters, digits, '.', '_' or '-'`,
				`c.yaml:7: queues.q.agents[0]: agent "a1" is not defined under agents`,
			}},
		{"pbx names and addresses", "pbx:\n  asterisk:\n    - {url: http://h/ari, username: u, password: p, app: \"my app\"}\n  freeswitch:\n    - {name: fs, address: \"h:port\", password: p}\n    - {name: fs, address: h, password: p}\n" + minimal,
			[]string{
				`c.yaml:3: pbx.asterisk[0].name: a name is required`,
				`c.yaml:3: pbx.asterisk[0].app: "my app" is not a Stasis application name (letters, digits, '.', '_', '-')`,
				`c.yaml:5: pbx.freeswitch[0].address: "h:port": port "port" is not a number from 0 to 65535`,
				`c.yaml:6: pbx.freeswitch[1].name: "fs" is already the name of pbx.freeswitch[0]`,
			}},
		{"agent pbx and reaches", "pbx:\n  asterisk:\n    - {name: ast-1, url: http://h/ari, username: u, password: p, reaches: [ast-2, fs, nope]}\n" +
			"    - {name: ast-2, url: http://h2/ari, username: u, password: p}\n  freeswitch:\n    - {name: fs, address: h, password: p}\n" +
			strings.Replace(minimal, "PJSIP/1001\n", "PJSIP/1001\n    pbx: ast-3\n", 1),
			[]string{
				`c.yaml:3: pbx.asterisk[0].reaches[1]: "fs" is pbx.freeswitch[0]: reaches lists Asterisk servers, whose agents' endpoints this one can dial`,
				`c.yaml:3: pbx.asterisk[0].reaches[2]: "nope" is not the name of a server under pbx.asterisk`,
				`c.yaml:11: agents.a1.pbx: "ast-3" is not the name of a server under pbx (ast-1, ast-2, fs)`,
			}},
		{"agent pbx without servers", strings.Replace(minimal, "PJSIP/1001\n", "PJSIP/1001\n    pbx: ast-1\n", 1),
			[]string{`c.yaml:5: agents.a1.pbx: "ast-1": no server is configured under pbx`}},
		{"shared endpoint", strings.Replace(minimal, "queues:", "  a2: {endpoint: PJSIP/1001}\nqueues:", 1),
			[]string{`c.yaml:5: agents.a2.endpoint: "PJSIP/1001" is also the endpoint of agent "a1"`}},
		{"notify webhook url", "notify:\n  customer:\n    webhook: {url: sms.example.com/send}\n" + minimal,
			[]string{`c.yaml:3: notify.customer.webhook.url: "sms.example.com/send" is not an absolute http:// or https:// URL, such as "https://sms.example.com/api/send"`}},
		{"notify webhook template", "notify:\n  staff:\n    webhook:\n      url: https://chat.example.com/hook\n      body: '{\"text\": {{jsn .Text}}}'\n" + minimal,
			[]string{`c.yaml:5: notify.staff.webhook.body: template line 1: function "jsn" not defined`}},
		{"env syntax", "http: {listen: \"${HOST:8080\"}\nlog: {level: \"${1X}\"}\n" + minimal,
			[]string{
				`c.yaml:1: http.listen: unterminated "${" (write "$$" for a literal "$")`,
				`c.yaml:2: log.level: "${1X}" is not a variable name`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tt.yaml), nil)
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse error = %v (%T), want Errors", err, err)
			}
			got := strings.Split(errs.Error(), "\n")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestEnv(t *testing.T) {
	lookup := env(map[string]string{"USER": "vhold", "EMPTY": "", "PORT": "9090", "LEVEL": "debug"})
	c, err := Parse("c.yaml", []byte(`
http: {listen: "127.0.0.1:${PORT}"}
log: {level: "${LEVEL}"}
pbx:
  asterisk:
    - {name: a, url: "http://h/ari", username: "${USER}", password: "pa$$word$", app: "v${EMPTY}hold"}
`+minimal), lookup)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Listen != "127.0.0.1:9090" || c.Log.Level != LevelDebug {
		t.Errorf("http = %+v, log = %+v", c.HTTP, c.Log)
	}
	a := c.PBX.Asterisk[0]
	if a.Username != "vhold" || a.Password != "pa$word$" || a.App != "vhold" {
		t.Errorf("asterisk = %+v", a)
	}
}

func TestAgentPBXAndReaches(t *testing.T) {
	c, err := Parse("c.yaml", []byte(`
pbx:
  asterisk:
    - {name: ast-1, url: "http://h1/ari", username: u, password: p, reaches: [ast-2]}
    - {name: ast-2, url: "http://h2/ari", username: u, password: p}
  freeswitch:
    - {name: fs-1, address: h, password: p}
agents:
  a1: {endpoint: PJSIP/1001}
  a2: {endpoint: PJSIP/1002, pbx: ast-2}
  a3: {endpoint: sofia/internal/1003, pbx: fs-1}
queues:
  q:
    agents: [a1, a2, a3]
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"a1": "ast-1", "a2": "ast-2", "a3": "fs-1"} {
		if got := c.Agents[id].PBX; got != want {
			t.Errorf("agents.%s.pbx = %q, want %q", id, got, want)
		}
	}
	if got := c.PBX.Asterisk[0].Reaches; !reflect.DeepEqual(got, []string{"ast-2"}) {
		t.Errorf("ast-1 reaches %q", got)
	}
	if got := c.PBX.Asterisk[1].Reaches; got != nil {
		t.Errorf("ast-2 reaches %q, want nothing (reach is one way)", got)
	}

	// With only FreeSWITCH configured, agents are homed on the first one.
	c, err = Parse("c.yaml", []byte("pbx:\n  freeswitch:\n    - {name: fs-1, address: h, password: p}\n"+minimal), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Agents["a1"].PBX; got != "fs-1" {
		t.Errorf("agents.a1.pbx = %q, want fs-1", got)
	}
}

// A FreeSWITCH server's prompts and recordings folders default to where
// configs/freeswitch installs them, as the Asterisk sounds folder does, and
// can be moved.
func TestFreeSWITCHFolders(t *testing.T) {
	c, err := Parse("c.yaml", []byte(`
pbx:
  freeswitch:
    - {name: fs-1, address: 127.0.0.1, password: p}
    - {name: fs-2, address: "10.0.0.2:8022", password: p, sounds: /opt/vhold/sounds, recordings: /srv/names}
`+minimal), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []FreeSWITCH{
		{Name: "fs-1", Address: "127.0.0.1:8021", Password: "p", Sounds: "/usr/share/freeswitch/sounds/vhold", Recordings: "/var/lib/freeswitch/recordings/vhold"},
		{Name: "fs-2", Address: "10.0.0.2:8022", Password: "p", Sounds: "/opt/vhold/sounds", Recordings: "/srv/names"},
	}
	if !reflect.DeepEqual(c.PBX.FreeSWITCH, want) {
		t.Errorf("freeswitch =\n%+v\nwant\n%+v", c.PBX.FreeSWITCH, want)
	}
}

func TestMergeKeys(t *testing.T) {
	c, err := Parse("c.yaml", []byte(`
agents:
  a1: {endpoint: PJSIP/1001}
  a2: {endpoint: PJSIP/1002}
queues:
  support: &base
    agents: [a1, a2]
    country: es
    offer: {min_wait: 1m, max_outstanding: 10}
  billing:
    <<: *base
    agents: [a2]
    offer: {min_wait: 3m}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	b := c.Queues["billing"]
	if !reflect.DeepEqual(b.Agents, []string{"a2"}) || b.Country != "ES" || b.Offer.MinWait != 3*time.Minute || b.Offer.MaxOutstanding != 10 {
		t.Errorf("billing = %+v", b)
	}
	if s := c.Queues["support"]; s.Offer.MinWait != time.Minute || len(s.Agents) != 2 {
		t.Errorf("support changed by the merge: %+v", s)
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		90 * time.Second: "1m30s", 2 * time.Minute: "2m", 2 * time.Hour: "2h",
		90 * time.Minute: "1h30m", 5 * time.Second: "5s", 0: "0s", time.Hour + time.Second: "1h0m1s",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
