package aritest

import (
	"container/heap"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options configure a Server. The zero value is a usable real-time server
// for the app "vhold" with the credentials vhold:vhold.
type Options struct {
	// User and Password are the ARI credentials (ari.conf); both default to
	// "vhold", as in the traces' example-conf/ari.conf.
	User, Password string
	// App is the Stasis application scripted callers dial into, as the
	// dialplan line Stasis(App,args) would; default "vhold".
	App string
	// Log, if set, receives one line per thing the server does (REST
	// requests, events sent or dropped, SIP-side steps). It is called with the
	// server locked: it must not call back into the Server (t.Logf is fine).
	Log func(format string, args ...any)

	// Speed runs the scripted world that many times faster than real time:
	// ring times, playback lengths, SIP Timer B, originate timeouts and DTMF
	// presses all shrink by it, and event timestamps advance by it. 0 means 1
	// (real time). Tests use 10 to 100; the durations in the API (Behaviour,
	// Script, PlaybackDuration) are always stated in real time.
	Speed float64
	// PlaybackDuration says how long one media item (a URI such as
	// "sound:hello-world") plays, in real time; nil is
	// DefaultPlaybackDuration. Recordings made on the server play for their
	// recorded length whatever this says.
	PlaybackDuration func(media string) time.Duration
	// SoundExists says whether sound:name exists in lang; a missing sound gives
	// 201, PlaybackStarted and PlaybackFinished "failed" (errors.jsonl seq 87-90).
	// nil is DefaultSoundExists. A sound missing only in lang but present in
	// English plays in English, as Asterisk does (errors.jsonl seq 93-97), so
	// only the name matters to the default.
	SoundExists func(name, lang string) bool
	// MOHClasses, if not nil, lists the music-on-hold classes that exist.
	// Asterisk accepts any class with 204 and plays nothing for an unknown one
	// (errors.jsonl seq 111, 193): a Call then reports no music. nil means every
	// class exists.
	MOHClasses []string
	// ServerName is what Asterisk's http.conf servername says: the Server
	// header and the <address> of its HTML error pages. Default
	// "Asterisk/22.10.1"; the traces' server used "vhold-trace".
	ServerName string
}

// DefaultPlaybackDuration gives each sound the length the traced Asterisk took
// to play it (PlaybackStarted to PlaybackFinished), and 1.5 s to anything
// else, so flows timed against the fake take as long as on the real thing.
func DefaultPlaybackDuration(media string) time.Duration {
	switch media {
	case "sound:hello-world": // inbound-dtmf.jsonl seq 17-18
		return 1400 * time.Millisecond
	case "sound:beep": // errors.jsonl seq 75-77
		return 424 * time.Millisecond
	case "sound:queue-periodic-announce": // callback-flow.jsonl seq 19-25
		return 7850 * time.Millisecond
	case "sound:queue-thereare": // hold-bridge.jsonl seq 29-32
		return 2255 * time.Millisecond
	case "sound:queue-youarenext": // hold-bridge.jsonl seq 38-40
		return 5365 * time.Millisecond
	case "sound:queue-thankyou": // hold-bridge.jsonl seq 70-71
		return 1590 * time.Millisecond
	case "sound:auth-thankyou": // callback-flow.jsonl seq 30-31
		return 958 * time.Millisecond
	case "sound:pls-hold-while-try": // callback-flow.jsonl seq 56-68
		return 2423 * time.Millisecond
	}
	return 1500 * time.Millisecond
}

// DefaultSoundExists treats every sound as installed except names containing
// "no-such" or "does-not-exist", the names errors.jsonl used to provoke the
// failure (seq 87, 98). Tests that need another missing sound set
// Options.SoundExists.
func DefaultSoundExists(name, lang string) bool {
	return !strings.Contains(name, "no-such") && !strings.Contains(name, "does-not-exist")
}

// Timings of the traced SIP peers, in real time.
const (
	// dtmfPress is how long one key press lasts; ChannelDtmfReceived comes at
	// its end with duration_ms 160 (inbound-dtmf.jsonl seq 20).
	dtmfPress = 160 * time.Millisecond
	// dtmfGap separates the presses of one Press call.
	dtmfGap = 90 * time.Millisecond
	// timerB is when pjsip gives up on an INVITE nobody answers: 32 s
	// (originate-fail.jsonl seq 41-50).
	timerB = 32 * time.Second
	// defaultRing is how long uas-answer.xml rings before answering
	// (originate-answer.jsonl seq 18-19).
	defaultRing = time.Second
	// sipStep separates the steps of an outgoing call's signalling (Dial,
	// 180, 486...), about a millisecond apart in originate-fail.jsonl.
	sipStep = time.Millisecond
	// defaultSpeech is how long a recorded party talks before falling silent.
	defaultSpeech = 2 * time.Second
)

// Server is an in-process Asterisk 22 speaking ARI: REST under /ari and the
// events WebSocket at /ari/events, with scripted SIP parties on the other side
// of its channels (Call, Endpoint). Everything it sends is shaped and ordered
// as the recorded traces in shared/pbx/asterisk/traces show; the comments name
// the trace line each behaviour reproduces.
//
// All state lives behind one mutex. Timed behaviour (rings, playbacks,
// presses) runs on one scheduler goroutine under that mutex, so the order of
// events is the order the scheduler fires them in, as deterministic as the
// wall clock allows.
type Server struct {
	opts  Options
	speed float64

	mu      sync.Mutex
	changed chan struct{} // closed and replaced at every unlock: wakes WaitFor

	// lifecycle
	ln        net.Listener
	hs        *http.Server
	base      string
	done      chan struct{}
	closed    bool // guarded by mu: no goroutine may be added to wg once set
	closeOnce sync.Once
	wg        sync.WaitGroup // scheduler, WebSocket readers and writers, HTTP handlers
	wake      chan struct{}  // a timer earlier than the scheduler's next was added

	// clock: virtual time runs speed times faster than the wall clock from start.
	start  time.Time
	epoch  time.Time
	timers timerHeap
	tseq   uint64

	// identity
	idBase  int64 // uniqueid prefix: Asterisk's start time in seconds
	uniq    int   // uniqueid suffix, one per channel Asterisk allocates
	nameSeq int   // the hex suffix of channel names
	pid     int   // the fake sipp's pid in inbound protocol_ids

	// model, guarded by mu
	apps       map[string]*app
	appOrder   []*app
	channels   map[string]*channel
	chanOrder  []*channel
	bridges    map[string]*bridge
	bridgeList []*bridge
	playbacks  map[string]*playback
	liveRecs   map[string]*recording
	stored     map[string]*storedRecording
	storedList []string
	endpoints  []*Endpoint
	calls      []*Call
	conns      map[*wsConn]struct{}
	wsAccepted int

	routeTable []route
}

// New returns a server that is not listening yet; call Start.
func New(opts Options) *Server {
	if opts.User == "" {
		opts.User = "vhold"
	}
	if opts.Password == "" {
		opts.Password = "vhold"
	}
	if opts.App == "" {
		opts.App = "vhold"
	}
	if opts.PlaybackDuration == nil {
		opts.PlaybackDuration = DefaultPlaybackDuration
	}
	if opts.SoundExists == nil {
		opts.SoundExists = DefaultSoundExists
	}
	if opts.ServerName == "" {
		opts.ServerName = "Asterisk/22.10.1"
	}
	speed := opts.Speed
	if speed <= 0 {
		speed = 1
	}
	now := time.Now()
	s := &Server{
		opts:      opts,
		speed:     speed,
		changed:   make(chan struct{}),
		done:      make(chan struct{}),
		wake:      make(chan struct{}, 1),
		start:     now,
		epoch:     now,
		idBase:    now.Unix(),
		pid:       29000 + int(now.UnixNano()%1000),
		apps:      map[string]*app{},
		channels:  map[string]*channel{},
		bridges:   map[string]*bridge{},
		playbacks: map[string]*playback{},
		liveRecs:  map[string]*recording{},
		stored:    map[string]*storedRecording{},
		conns:     map[*wsConn]struct{}{},
	}
	s.routeTable = s.routes()
	return s
}

// Start listens on 127.0.0.1 at a free port and serves ARI until Close.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("aritest: listen: %w", err)
	}
	s.ln = ln
	s.base = "http://" + ln.Addr().String() + "/ari"
	s.hs = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		// The WebSocket handler needs the raw TCP connection to drop it
		// without a close frame (disconnect.jsonl part B).
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, netConnKey{}, c)
		},
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := s.hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logf("serve: %v", err)
		}
	}()
	go func() {
		defer s.wg.Done()
		s.schedule()
	}()
	return nil
}

// netConnKey keys the raw connection in a request's context.
type netConnKey struct{}

// URL is the ARI base URL, "http://127.0.0.1:port/ari"; the events WebSocket
// is URL()+"/events" with ws: instead of http:.
func (s *Server) URL() string { return s.base }

// Close stops the server: listener, WebSockets (dropped), the scheduler and
// every goroutine the server started. Scripted parties stop where they are.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.done)
		if s.hs != nil {
			_ = s.hs.Close()
		}
		s.mu.Lock()
		for c := range s.conns {
			_ = c.raw.Close()
		}
		s.mu.Unlock()
	})
	s.wg.Wait()
	return nil
}

// lock and unlock guard the model. unlock wakes every WaitFor, so waiting on a
// condition never misses the change that made it true.
func (s *Server) lock() { s.mu.Lock() }

func (s *Server) unlock() {
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// WaitFor blocks until cond returns true, ctx ends or the server closes. cond
// is called without the server locked, so it may use any accessor (Call.State,
// Server.Connected...); it is called again after every change.
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
			return errors.New("aritest: server closed")
		}
	}
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Log != nil {
		s.opts.Log(format, args...)
	}
}

// now is the server's virtual time: the wall clock at New plus the elapsed
// wall time multiplied by Speed.
func (s *Server) now() time.Time {
	return s.epoch.Add(time.Duration(float64(time.Since(s.start)) * s.speed))
}

// real converts a real-time duration of the scripted world to wall time.
func (s *Server) real(d time.Duration) time.Duration {
	return time.Duration(float64(d) / s.speed)
}

// newUniqueID allocates an Asterisk uniqueid, "1795258298.0": the start time
// in seconds, a dot and a counter every channel consumes (inbound-dtmf.jsonl
// seq 5), including channels the client names itself.
func (s *Server) newUniqueID() string {
	id := fmt.Sprintf("%d.%d", s.idBase, s.uniq)
	s.uniq++
	return id
}

// newChannelName names a channel as chan_pjsip does: the endpoint and an
// eight-digit hex sequence, "PJSIP/caller-00000000" (all traces).
func (s *Server) newChannelName(tech, resource string) string {
	n := fmt.Sprintf("%s/%s-%08x", tech, resource, s.nameSeq)
	s.nameSeq++
	if tech == "Local" {
		n += ";1"
	}
	return n
}

// newUUID is a random version-4 UUID: originated channels' protocol_id (the
// SIP Call-ID pjsip makes) and playback ids Asterisk chooses (errors.jsonl
// seq 76).
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// timer is one scheduled action. Its func runs on the scheduler goroutine with
// the server locked.
type timer struct {
	at       time.Time // wall clock
	seq      uint64
	f        func()
	canceled bool
	index    int
}

// cancel keeps a scheduled action from running; the caller holds the lock.
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

// after runs f once d of scripted (real) time has passed; the caller holds the
// lock. Actions due at the same moment run in the order they were scheduled,
// which is how the fake keeps Asterisk's event order (Dial, then
// ChannelStateChange...).
func (s *Server) after(d time.Duration, f func()) *timer {
	if d < 0 {
		d = 0
	}
	s.tseq++
	t := &timer{at: time.Now().Add(s.real(d)), seq: s.tseq, f: f}
	heap.Push(&s.timers, t)
	if t.index == 0 {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return t
}

// schedule is the scheduler goroutine: it runs due actions in order with the
// server locked, and sleeps until the next one otherwise.
func (s *Server) schedule() {
	sleep := time.NewTimer(time.Hour)
	defer sleep.Stop()
	for {
		s.lock()
		var wait time.Duration = -1
		for s.timers.Len() > 0 {
			t := s.timers[0]
			if d := time.Until(t.at); d > 0 {
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
		sleep.Reset(wait) // since Go 1.23 Reset discards a stale expiry
		select {
		case <-sleep.C:
		case <-s.wake:
		case <-s.done:
			return
		}
	}
}
