package esltest

import (
	"container/heap"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configure a Server. The zero value is a usable real-time server
// with the traced lab's password and identity.
type Options struct {
	// Password is event_socket.conf's password; default "ClueCon", the
	// traced lab's (traces README: "ESL 127.0.0.1:8021, password ClueCon").
	Password string
	// SocketAddr is where the dialplan's "socket <addr> async full" line
	// (extension 201 of example-conf/dialplan/public.xml) connects an
	// outbound-mode call: the test's own listener. Empty means nothing
	// listens there. CallSpec.Socket overrides it per call.
	SocketAddr string
	// Log, if set, receives one line per thing the server does. It is
	// called with the server locked: it must not call back into the Server
	// (t.Logf is fine).
	Log func(format string, args ...any)
	// Speed runs the scripted world that many times faster than real time:
	// rings, prompts, key presses, originate timeouts, msleep and linger
	// shrink by it, and event timestamps advance by it. 0 means 1. The
	// durations in the API (Behaviour, Script, MediaDuration) are always
	// stated in real time.
	Speed float64
	// MediaDuration says how long playing path lasts, in real time; nil is
	// DefaultMediaDuration. local_stream:// music never ends whatever it
	// says (02-hold.esl.txt: the music plays until broken or hung up).
	MediaDuration func(path string) time.Duration
	// Hostname, IPv4 and IPv6 fill FreeSWITCH-Hostname/-Switchname/-IPv4/
	// -IPv6 on every event and answer "global_getvar hostname"; defaults are
	// the traced host's: "vm", "192.0.2.2", "fd00::2" (all traces).
	Hostname, IPv4, IPv6 string
	// Location is the time zone of Event-Date-Local; default UTC, the
	// traced host's (Event-Date-Local equals Event-Date-GMT in every trace).
	Location *time.Location
}

// DefaultMediaDuration gives the traced prompts their traced length
// (PLAYBACK_START to PLAYBACK_STOP "done"): announce.wav 3.0 s
// (01-inbound-dtmf.timeline.tsv, 0.334 to 3.343), beep.wav 0.5 s (3.365 to
// 3.867); the traces README lists the files' lengths the same way. Any other
// file plays 1.5 s; local_stream:// never ends.
func DefaultMediaDuration(p string) time.Duration {
	switch path.Base(p) {
	case "announce.wav":
		return 3 * time.Second
	case "beep.wav":
		return 500 * time.Millisecond
	case "moh-melody.wav":
		return 10 * time.Second
	}
	return 1500 * time.Millisecond
}

// Timings of the traced FreeSWITCH and sipp peers, in real time.
const (
	// broadcastLead is the time from uuid_broadcast's reply to the
	// CHANNEL_EXECUTE of the playback it queues: 181 ms and 202 ms
	// (01-inbound-dtmf.timeline.tsv 0.152 to 0.333; 02-hold.timeline.tsv
	// 6.800 to 7.002).
	broadcastLead = 190 * time.Millisecond
	// sendmsgLead is the time from a sendmsg execute's reply to its
	// CHANNEL_EXECUTE: 20 ms (01-inbound-dtmf.timeline.tsv 3.344 to 3.365,
	// 05-outbound-mode.timeline.tsv 0.449 to 0.470).
	sendmsgLead = 20 * time.Millisecond
	// stepGap is FreeSWITCH's 20 ms timer tick that separates a session
	// thread's reaction from the api call that caused it (uuid_break's
	// PLAYBACK_STOP 20 ms after the reply, 02-hold.timeline.tsv 4.301 to
	// 4.322; uuid_bridge's CHANNEL_UNPARK, 03-originate-answer.timeline.tsv
	// 1.678 to 1.699).
	stepGap = 20 * time.Millisecond
	// dtmfPress is how long a key press lasts before its DTMF event:
	// DTMF-Duration 2240 samples at 8 kHz (01-inbound-dtmf.esl.txt).
	dtmfPress = 280 * time.Millisecond
	// dtmfGap separates the presses of one Press call.
	dtmfGap = 120 * time.Millisecond
	// progressAfter is when a SIP peer's 180 Ringing gives
	// CHANNEL_PROGRESS: 20 ms after the originate (03-originate-answer
	// .timeline.tsv 0.643 to 0.663; 04-originate-fail 1.164 to 1.184).
	progressAfter = 20 * time.Millisecond
	// busyAfter is how long the busy sipp took to answer 486: 324 ms both
	// times (04-originate-fail.timeline.tsv 0.5062 to 0.8302 and 0.8360 to
	// 1.1597).
	busyAfter = 324 * time.Millisecond
	// refuseAfter is how fast a dead port's 503 came back: 20 ms
	// (04-originate-fail.timeline.tsv 5.769 to 5.789).
	refuseAfter = 20 * time.Millisecond
	// defaultRing is how long the answering sipp rang: 1.0 s
	// (03-originate-answer.timeline.tsv 0.663 to 1.668).
	defaultRing = time.Second
	// inboundSetup is the time from the INVITE to the dialplan starting
	// (CHANNEL_STATE CS_EXECUTE): 1.5 ms in 03-originate-answer.timeline.tsv
	// (0.6272 to 0.6287), under 5 ms in 02-hold, 20 ms in 01-inbound-dtmf;
	// the fake takes the shortest, which every traced client waited for.
	inboundSetup = time.Millisecond
	// defaultOriginateTimeout is originate's default originate_timeout (60
	// s, FreeSWITCH's switch_ivr_originate; the traces always set one).
	defaultOriginateTimeout = 60 * time.Second
)

// Server is an in-process FreeSWITCH 1.10 speaking the Event Socket: inbound
// mode on 127.0.0.1 (Addr) and outbound mode by dialling Options.SocketAddr
// for calls routed to the socket application. Everything it sends is shaped
// and ordered as the recorded traces in shared/pbx/freeswitch/traces show;
// the comments name the trace each behaviour reproduces, and say so where a
// behaviour follows FreeSWITCH's source because no trace shows it.
//
// All state lives behind one mutex. Timed behaviour (rings, prompts, key
// presses) runs on one scheduler goroutine under that mutex, so the order of
// events is the order the scheduler fires them in.
type Server struct {
	opts  Options
	speed float64

	mu      sync.Mutex
	changed chan struct{} // closed and replaced at every unlock: wakes WaitFor

	// lifecycle
	ln        net.Listener
	addr      string
	done      chan struct{}
	closed    bool // guarded by mu: no goroutine may be added to wg once set
	closeOnce sync.Once
	wg        sync.WaitGroup
	wake      chan struct{}

	// clock: virtual time runs speed times faster than the wall clock, or,
	// with manual set (the trace replays), moves only with advance.
	start  time.Time
	epoch  time.Time
	manual bool
	vnow   time.Time
	timers timerHeap
	tseq   uint64

	// identity
	coreUUID string
	eventSeq uint64
	session  int // session_id counter (variable_session_id)
	started  time.Time

	// model, guarded by mu
	channels  map[string]*channel
	chanOrder []*channel
	conns     map[*conn]struct{}
	connSeq   int
	calls     []*Call
	endpoints []*Endpoint
	since     int // sessions since startup, for status
	peak      int
	log       []string
}

// New returns a server that is not listening yet; call Start.
func New(opts Options) *Server {
	if opts.Password == "" {
		opts.Password = "ClueCon"
	}
	if opts.MediaDuration == nil {
		opts.MediaDuration = DefaultMediaDuration
	}
	if opts.Hostname == "" {
		opts.Hostname = "vm"
	}
	if opts.IPv4 == "" {
		opts.IPv4 = "192.0.2.2"
	}
	if opts.IPv6 == "" {
		opts.IPv6 = "fd00::2"
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	speed := opts.Speed
	if speed <= 0 {
		speed = 1
	}
	now := time.Now()
	return &Server{
		opts:     opts,
		speed:    speed,
		changed:  make(chan struct{}),
		done:     make(chan struct{}),
		wake:     make(chan struct{}, 1),
		start:    now,
		epoch:    now,
		vnow:     now,
		started:  now,
		coreUUID: newUUID(),
		// Event-Sequence is global and had reached the hundreds when the
		// traces began (415 at the start of 01-inbound-dtmf.timeline.tsv);
		// only its order matters.
		eventSeq: 400,
		channels: map[string]*channel{},
		conns:    map[*conn]struct{}{},
	}
}

// Start listens on 127.0.0.1 at a free port and serves inbound ESL
// connections until Close.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("esltest: listen: %w", err)
	}
	s.ln = ln
	s.addr = ln.Addr().String()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.accept()
	}()
	if !s.manual {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.schedule()
		}()
	}
	return nil
}

// Addr is the inbound Event Socket address, "127.0.0.1:port" (what
// event_socket.conf's listen-ip and listen-port say on the real thing).
func (s *Server) Addr() string { return s.addr }

// Close stops the server: listener, every connection (dropped), the
// scheduler and every goroutine the server started. Calls stop where they
// are.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		for c := range s.conns {
			_ = c.raw.Close()
		}
		s.mu.Unlock()
		close(s.done)
		if s.ln != nil {
			_ = s.ln.Close()
		}
	})
	s.wg.Wait()
	return nil
}

// accept serves inbound connections.
func (s *Server) accept() {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.lock()
		if s.closed {
			s.unlock()
			_ = nc.Close()
			return
		}
		c := s.newConn(nc, nil)
		s.unlock()
		c.run()
	}
}

// lock and unlock guard the model. unlock wakes every WaitFor.
func (s *Server) lock() { s.mu.Lock() }

func (s *Server) unlock() {
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// WaitFor blocks until cond returns true, ctx ends or the server closes.
// cond is called without the server locked, so it may use any accessor; it
// is called again after every change.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return errors.New("esltest: server closed")
		}
	}
}

// maxLog bounds Server.Log for long runs (benchmarks with hundreds of
// calls): the oldest lines go first.
const maxLog = 10000

func (s *Server) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if len(s.log) >= maxLog {
		s.log = append(s.log[:0], s.log[len(s.log)-maxLog/2:]...)
	}
	s.log = append(s.log, line)
	if s.opts.Log != nil {
		s.opts.Log("%s", line)
	}
}

// Log lists what the server did, one line per step, for failure messages.
func (s *Server) Log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// now is the server's virtual time.
func (s *Server) now() time.Time {
	if s.manual {
		return s.vnow
	}
	return s.epoch.Add(time.Duration(float64(time.Since(s.start)) * s.speed))
}

// wall is the wall-clock moment of virtual time v.
func (s *Server) wall(v time.Time) time.Time {
	return s.start.Add(time.Duration(float64(v.Sub(s.epoch)) / s.speed))
}

// advance moves a manual clock to "to", running every action due by then
// in order, each at its own time. The trace replays use it so that what
// happens depends on the trace's times only, never on how fast the test
// machine is.
func (s *Server) advance(to time.Time) {
	s.lock()
	defer s.unlock()
	for s.timers.Len() > 0 && !s.timers[0].at.After(to) {
		t := heap.Pop(&s.timers).(*timer)
		if t.at.After(s.vnow) {
			s.vnow = t.at
		}
		if !t.canceled {
			t.f()
		}
	}
	if to.After(s.vnow) {
		s.vnow = to
	}
}

// micros is a FreeSWITCH timestamp: microseconds since the epoch
// (Event-Date-Timestamp, Caller-Channel-Created-Time).
func (s *Server) micros() int64 { return s.now().UnixMicro() }

// nextSeq allocates an Event-Sequence number. FreeSWITCH numbers an event
// when it creates it, not when it sends it, so numbers reach the wire out of
// order (traces README fact 7).
func (s *Server) nextSeq() uint64 {
	s.eventSeq++
	return s.eventSeq
}

// newUUID is a random version-4 UUID, the form of every FreeSWITCH uuid in
// the traces (Unique-ID, Job-UUID, Application-UUID, Core-UUID).
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// timer is one scheduled action. Its func runs on the scheduler goroutine
// with the server locked.
type timer struct {
	at       time.Time // virtual time
	seq      uint64
	f        func()
	canceled bool
	index    int
}

func (t *timer) cancel() {
	if t != nil {
		t.canceled = true
	}
}

type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].seq < h[j].seq
	}
	return h[i].at.Before(h[j].at)
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *timerHeap) Push(x any)   { t := x.(*timer); t.index = len(*h); *h = append(*h, t) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

// after runs f once d of scripted (real) time has passed; the caller holds
// the lock. Actions due at the same moment run in the order they were
// scheduled.
func (s *Server) after(d time.Duration, f func()) *timer {
	if d < 0 {
		d = 0
	}
	s.tseq++
	t := &timer{at: s.now().Add(d), seq: s.tseq, f: f}
	heap.Push(&s.timers, t)
	if t.index == 0 {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return t
}

// schedule is the scheduler goroutine.
func (s *Server) schedule() {
	sleep := time.NewTimer(time.Hour)
	defer sleep.Stop()
	for {
		s.lock()
		var wait time.Duration = -1
		for s.timers.Len() > 0 {
			t := s.timers[0]
			if d := time.Until(s.wall(t.at)); d > 0 {
				wait = d
				break
			}
			heap.Pop(&s.timers)
			if !t.canceled {
				t.f()
			}
		}
		s.unlock()
		if wait < 0 {
			wait = time.Hour
		}
		sleep.Reset(wait)
		select {
		case <-sleep.C:
		case <-s.wake:
		case <-s.done:
			return
		}
	}
}

// globMatch matches s against pattern, where * stands for any run of
// characters (slashes and @ included).
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}
