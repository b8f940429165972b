package main

// The rig of the end-to-end test and the load benchmark: the real vhold
// binary, built once, run as a subprocess with a YAML file of its own against
// the in-process fake Asterisk (pbx/asterisk/aritest), and read back through
// its HTTP health check, its JSON log and its SQLite journal.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vhold/vhold/queue"
	"github.com/vhold/vhold/store"
)

// builtVhold is the binary the rig runs. It is built once for every test and
// benchmark that is running at the same time and removed when the last of
// them ends (tests run one after the other here, so in practice: once for the
// tests, once more, from the build cache, for a benchmark run after them).
var builtVhold struct {
	mu    sync.Mutex
	users int
	dir   string
	path  string
	err   error
	out   []byte
}

// vholdBinary builds github.com/vhold/vhold/cmd/vhold (or hands out the
// build another test made) and returns its path. VHOLD_E2E_RACE=1 builds it
// with the race detector, so the end-to-end run also checks the server.
func vholdBinary(tb testing.TB) string {
	tb.Helper()
	b := &builtVhold
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.users == 0 {
		b.path, b.err, b.out = "", nil, nil
		dir, err := os.MkdirTemp("", "vhold-e2e-")
		if err != nil {
			tb.Fatal(err)
		}
		b.dir = dir
		b.path = filepath.Join(dir, "vhold")
		args := []string{"build", "-o", b.path, "-ldflags", "-X main.version=e2e"}
		if os.Getenv("VHOLD_E2E_RACE") == "1" {
			args = append(args, "-race")
		}
		args = append(args, "github.com/vhold/vhold/cmd/vhold")
		cmd := exec.Command("go", args...)
		b.out, b.err = cmd.CombinedOutput()
	}
	b.users++
	tb.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.users--
		if b.users == 0 {
			os.RemoveAll(b.dir)
		}
	})
	if b.err != nil {
		tb.Fatalf("go build ./cmd/vhold: %v\n%s", b.err, b.out)
	}
	return b.path
}

// rigConfig is what differs between the rig's vhold.yaml files: one Asterisk,
// one agent (alice on PJSIP/1001), one queue (support, open around the clock).
type rigConfig struct {
	ARI           string        // the fake's ARI base URL
	Listen        string        // http.listen
	AgentState    string        // alice at start: available | paused | offline
	WrapUp        time.Duration // alice's rest after a call
	AnnounceEvery time.Duration
	// ConfirmTimeout is how long a called-back customer has to press 1.
	ConfirmTimeout time.Duration
}

const rigYAML = `# written by the end-to-end rig (cmd/vhold/asterisk_rig_test.go)
store:
  path: vhold.db
http:
  listen: "%s"
log:
  level: info
  format: json
pbx:
  asterisk:
    - name: ast-e2e
      url: %s
      username: vhold
      password: ${VHOLD_ARI_PASSWORD}
      app: vhold
      sounds: /var/lib/asterisk/sounds/vhold
agents:
  alice:
    name: Alice
    endpoint: PJSIP/1001
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
      dial_string: "PJSIP/{number}@trunk"
      max_attempts: 2
      retry_delays: [1m]
      ring_timeout: 20s
      agent_ring_timeout: 10s
      confirm_timeout: %s
`

// write puts the file in dir and returns its path; the store lands beside it.
func (c rigConfig) write(tb testing.TB, dir string) string {
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
	text := fmt.Sprintf(rigYAML, c.Listen, c.ARI, c.WrapUp, c.AgentState, c.AnnounceEvery, c.ConfirmTimeout)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// freeAddr finds a free local port for http.listen. Another process could
// take it before vhold does; on this machine nothing does.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// syncBuffer collects a subprocess's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

func (s *syncBuffer) String() string { return string(s.Bytes()) }

// vholdProc is a running `vhold serve`.
type vholdProc struct {
	cmd    *exec.Cmd
	out    *syncBuffer // stdout and stderr, in order
	addr   string      // http.listen
	cfg    string
	db     string
	done   chan struct{} // closed when the process has exited
	err    error         // cmd.Wait's, once done
	cancel context.CancelFunc
}

// startVhold runs `bin serve -c cfg --log-format json` with a clean
// environment (no VHOLD_* from the caller's shell but the ARI password the
// file asks for). The process is killed when the test ends if stop was not
// called.
func startVhold(tb testing.TB, bin, cfg, addr string) *vholdProc {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", "-c", cfg, "--log-format", "json")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VHOLD_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "VHOLD_ARI_PASSWORD=vhold")
	cmd.Dir = filepath.Dir(cfg)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	// SIGTERM first (what systemd and docker send), SIGKILL 10 s later.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		tb.Fatalf("start %s: %v", bin, err)
	}
	p := &vholdProc{cmd: cmd, out: out, addr: addr, cfg: cfg, db: filepath.Join(filepath.Dir(cfg), "vhold.db"),
		done: make(chan struct{}), cancel: cancel}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(func() {
		cancel()
		<-p.done
	})
	return p
}

// stop sends SIGTERM and waits for the exit; it returns the exit code (-1
// for a process ended by a signal, as SIGKILL after WaitDelay would).
func (p *vholdProc) stop(tb testing.TB) int {
	tb.Helper()
	p.cancel()
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		tb.Fatalf("vhold did not exit after SIGTERM; output:\n%s", p.out.String())
	}
	// After a Cancel, Wait reports the context's error even for a clean
	// exit: the exit status is in ProcessState.
	if p.cmd.ProcessState == nil {
		tb.Fatalf("vhold: %v", p.err)
	}
	return p.cmd.ProcessState.ExitCode()
}

// exited says whether the process has ended (by itself: a crash, a bad file).
func (p *vholdProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// health reads /healthz's queues; nil while the server does not answer.
func (p *vholdProc) health() map[string]queue.Counts {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + p.addr + "/healthz")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var h struct {
		Queues map[string]queue.Counts `json:"queues"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&h) != nil {
		return nil
	}
	return h.Queues
}

// waitFor polls cond (wall clock, bounded by timeout) and fails the test with
// vhold's output if it never holds or vhold exits meanwhile.
func (p *vholdProc) waitFor(tb testing.TB, what string, timeout time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if p.exited() {
			tb.Fatalf("vhold exited (%v) while waiting for %s; output:\n%s", p.err, what, p.out.String())
		}
		if time.Now().After(deadline) {
			tb.Fatalf("gave up after %s waiting for %s; vhold output:\n%s", timeout, what, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// idle says the queue has nobody on hold, no callback pending and nothing
// ringing, dialing or connected.
func idle(c queue.Counts) bool {
	return c.OnHold == 0 && c.Callbacks == 0 && c.Scheduled == 0 && c.Reserved == 0 && c.Dialing == 0 && c.Connected == 0
}

// logErrors returns the lines of vhold's JSON log at level error or worse,
// and anything the Go runtime printed on a crash (which is not JSON).
func logErrors(out []byte) []string {
	var bad []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		var rec struct {
			Level string `json:"level"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			if strings.HasPrefix(line, "panic:") || strings.HasPrefix(line, "fatal error:") || strings.HasPrefix(line, "WARNING: DATA RACE") {
				bad = append(bad, line)
			}
			continue
		}
		switch rec.Level {
		case "error", "fatal", "panic":
			bad = append(bad, line)
		}
	}
	return bad
}

// logWarnings counts vhold's JSON log lines at level warning by message,
// for the benchmark's report: a warning is no error, but a new one under load
// is worth a look.
func logWarnings(out []byte) map[string]int {
	msgs := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		var rec struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Level == "warning" {
			msgs[rec.Msg]++
		}
	}
	return msgs
}

// storeContents reads the journal and the tickets of a store vhold no longer
// runs on.
func storeContents(tb testing.TB, path string) ([]queue.Transition, []*queue.Ticket) {
	tb.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer st.Close()
	rows, err := st.Journal(ctx, store.JournalFilter{})
	if err != nil {
		tb.Fatal(err)
	}
	ts, err := st.Tickets(ctx, store.Filter{})
	if err != nil {
		tb.Fatal(err)
	}
	return rows, ts
}

// eventsOf is one ticket's journal as "join convert reserve …".
func eventsOf(rows []queue.Transition, id queue.TicketID) string {
	var evs []string
	for _, r := range rows {
		if r.Ticket == id {
			evs = append(evs, string(r.Event))
		}
	}
	return strings.Join(evs, " ")
}

// procStat is what /proc says of a process's use of the machine: CPU time
// (user + system) and the peak resident set (VmHWM).
type procStat struct {
	CPU     time.Duration
	PeakRSS int64 // bytes
}

// clockTicks is sysconf(_SC_CLK_TCK), the unit of /proc/<pid>/stat's times:
// 100 on every Linux the rig runs on.
const clockTicks = 100

// readProcStat reads /proc/<pid>/stat (utime and stime, fields 14 and 15)
// and /proc/<pid>/status (VmHWM) of a live process.
func readProcStat(pid int) (procStat, error) {
	var ps procStat
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ps, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields from after its closing one, where field 3 starts.
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ps, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return ps, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return ps, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	ps.CPU = time.Duration(utime+stime) * time.Second / clockTicks
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ps, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return ps, fmt.Errorf("/proc/%d/status: VmHWM %q", pid, v)
			}
			ps.PeakRSS = kb * 1024
		}
	}
	if ps.PeakRSS == 0 {
		return ps, fmt.Errorf("/proc/%d/status: no VmHWM", pid)
	}
	return ps, nil
}
