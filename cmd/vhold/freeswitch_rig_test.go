package main

// The FreeSWITCH variant of the end-to-end rig (asterisk_rig_test.go): the
// same built binary, process handling, store and /proc readers, with a
// vhold.yaml whose one PBX is the in-process fake FreeSWITCH
// (pbx/freeswitch/esltest) reached over its event socket.

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fsRigPassword is the fake FreeSWITCH's event socket password: not
// ClueCon, as configs/freeswitch asks of a real one.
const fsRigPassword = "esl-e2e-secret"

// fsRigAgent is alice's phone on the fake FreeSWITCH's lab profile.
const fsRigAgent = "sofia/lab/1001@127.0.0.1:5091"

// fsRigConfig is what differs between the FreeSWITCH rig's vhold.yaml
// files: one FreeSWITCH, one agent (alice on fsRigAgent), one queue
// (support, open around the clock), as in rigConfig.
type fsRigConfig struct {
	ESL           string        // the fake's event socket, host:port
	Listen        string        // http.listen
	AgentState    string        // alice at start: available | paused | offline
	WrapUp        time.Duration // alice's rest after a call
	AnnounceEvery time.Duration
	// ConfirmTimeout is how long a called-back customer has to press 1.
	ConfirmTimeout time.Duration
}

const fsRigYAML = `# written by the end-to-end rig (cmd/vhold/freeswitch_rig_test.go)
store:
  path: vhold.db
http:
  listen: "%s"
log:
  level: info
  format: json
pbx:
  freeswitch:
    - name: fs-e2e
      address: "%s"
      password: %s
      sounds: /usr/share/freeswitch/sounds/vhold
      recordings: /var/lib/freeswitch/recordings/vhold
agents:
  alice:
    name: Alice
    endpoint: %s
    wrap_up: %s
    state: %s
queues:
  support:
    caller_id: "+34910000000"
    language: en
    country: ES
    agents: [alice]
    hold:
      announce_every: %s
    estimate:
      handle_time: 5m
    offer:
      enabled: true
      min_wait: 1m
    callback:
      strategy: customer-first
      dial_string: "sofia/gateway/trunk/{number}"
      max_attempts: 2
      retry_delays: [1m]
      ring_timeout: 20s
      agent_ring_timeout: 10s
      confirm_timeout: %s
`

// write puts the file in dir and returns its path; the store lands beside it.
func (c fsRigConfig) write(tb testing.TB, dir string) string {
	tb.Helper()
	if c.AgentState == "" {
		c.AgentState = "available"
	}
	if c.WrapUp == 0 {
		c.WrapUp = 2 * time.Second
	}
	if c.AnnounceEvery == 0 {
		c.AnnounceEvery = 10 * time.Second
	}
	if c.ConfirmTimeout == 0 {
		c.ConfirmTimeout = 5 * time.Second
	}
	p := filepath.Join(dir, "vhold.yaml")
	text := fmt.Sprintf(fsRigYAML, c.Listen, c.ESL, fsRigPassword, fsRigAgent, c.WrapUp, c.AgentState, c.AnnounceEvery, c.ConfirmTimeout)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}
