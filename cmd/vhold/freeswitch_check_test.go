package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vhold/vhold/clock"
	"github.com/vhold/vhold/pbx/freeswitch/esltest"
)

// `vhold check` logs in to each FreeSWITCH's event socket and says what is
// wrong: nothing listening, a wrong password (06-errors (a): "-ERR
// invalid", then FreeSWITCH closes the socket), or not an event socket.
func TestCheckReachesFreeSWITCH(t *testing.T) {
	srv := esltest.New(esltest.Options{Password: "esl-secret"})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := closed.Addr().String()
	closed.Close()
	// Something that accepts and says nothing, like a wrong port.
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	go func() {
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n\r\n"))
			defer c.Close()
		}
	}()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "vhold.yaml")
	cfg := fmt.Sprintf(`
store: {path: vhold.db}
pbx:
  freeswitch:
    - {name: fs-ok, address: "%s", password: esl-secret}
    - {name: fs-pw, address: "%s", password: ClueCon}
    - {name: fs-off, address: "%s", password: p}
    - {name: fs-ssh, address: "%s", password: p}
agents:
  carmen: {endpoint: sofia/internal/1003}
queues:
  support: {agents: [carmen]}
`, srv.Addr(), srv.Addr(), refused, mute.Addr())
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	e := &env{stdout: &out, stderr: &errs, clock: clock.Real{}, lookupEnv: func(string) (string, bool) { return "", false }}
	if code := run(context.Background(), e, []string{"check", "-c", cfgPath}); code != 0 {
		t.Fatalf("check exited %d:\n%s%s", code, out.String(), errs.String())
	}
	for _, want := range []string{
		"  fs-ok:      reachable, FreeSWITCH 1.10.12-release, password accepted",
		"  fs-pw:      WARNING: " + srv.Addr() + " refused the password (check event_socket.conf.xml)",
		"  fs-off:     WARNING: " + refused + " refused the connection (is FreeSWITCH running, with event_socket.conf.xml listening there?)",
		"  fs-ssh:     WARNING: " + mute.Addr().String() + " answered, but not as a FreeSWITCH event socket (wrong port?)",
	} {
		if !strings.Contains(out.String(), want+"\n") {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}
}
