package freeswitch

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/percipia/eslgo"
	"github.com/percipia/eslgo/command"
	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/clock"
	"github.com/vhold/vhold/pbx"
)

// Options configure one FreeSWITCH.
type Options struct {
	// Name identifies the server in logs and tickets.
	Name string
	// Address is the event socket's host:port (event_socket.conf.xml).
	Address  string
	Password string
	// Sounds is where `vhold sounds export` wrote the prompts on the
	// FreeSWITCH host; a prompt plays as <Sounds>/<lang>/<key>.wav.
	Sounds string
	// Recordings is the folder, on the FreeSWITCH host, where callers'
	// names are recorded (<Recordings>/<name>.wav); FreeSWITCH must be able
	// to write it.
	Recordings string
	// Music is what a caller on hold hears for the default class:
	// "local_stream://moh" (the lab's local_stream.conf). Another class
	// plays local_stream://<class>; a class with "://" or a "/" is played
	// as written.
	Music string
	// Language is the prompts' language when the call has none.
	Language string
	Clock    clock.Clock
	Log      *logrus.Entry

	// CommandTimeout is the longest a command's reply may take; one that
	// takes longer means the connection is broken (eslgo would hand its
	// reply to the next command), so vhold reconnects. 0 means 5 s.
	CommandTimeout time.Duration
	// DialTimeout bounds connecting and logging in. 0 means 5 s.
	DialTimeout time.Duration
	// MinBackoff and MaxBackoff pace reconnection attempts: 0 means 500 ms
	// doubling to 30 s.
	MinBackoff, MaxBackoff time.Duration
	// Heartbeat is how often vhold proves the connection alive and
	// refreshes the AliveVariable. 0 means 10 s.
	Heartbeat time.Duration
	// AliveVariable is the FreeSWITCH global variable vhold keeps at "now
	// plus three heartbeats" (Unix seconds, vhold's clock) while it is
	// connected, and sets to 0 when it stops: the dialplan reads it to send
	// callers to a fallback when vhold is not there to take them (a parked
	// call would otherwise wait in silence: configs/freeswitch). Default
	// "vhold_alive_until".
	AliveVariable string
	// LinkWait is how long a verb waits for a connection while vhold
	// reconnects before it fails. 0 means 2 min.
	LinkWait time.Duration
	// PlayGuard is the longest any one prompt file may play before the
	// adapter stops waiting for its PLAYBACK_STOP; 0 means 30 s.
	PlayGuard time.Duration
	// MediaGuard is how long the adapter waits for the music to start or
	// stop after asking; 0 means 2 s.
	MediaGuard time.Duration
}

func (o *Options) setDefaults() {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		l := logrus.New()
		l.SetLevel(logrus.PanicLevel)
		o.Log = logrus.NewEntry(l)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.CommandTimeout, 5*time.Second)
	def(&o.DialTimeout, 5*time.Second)
	def(&o.MinBackoff, 500*time.Millisecond)
	def(&o.MaxBackoff, 30*time.Second)
	def(&o.Heartbeat, 10*time.Second)
	def(&o.LinkWait, 2*time.Minute)
	def(&o.PlayGuard, 30*time.Second)
	def(&o.MediaGuard, 2*time.Second)
	if o.Sounds == "" {
		o.Sounds = "/usr/share/freeswitch/sounds/vhold"
	}
	if o.Recordings == "" {
		o.Recordings = "/var/lib/freeswitch/recordings/vhold"
	}
	if o.Music == "" {
		o.Music = "local_stream://moh"
	}
	if o.Language == "" {
		o.Language = "en"
	}
	if o.AliveVariable == "" {
		o.AliveVariable = "vhold_alive_until"
	}
}

// Switch is one FreeSWITCH as a pbx.Switch, over one inbound event socket
// connection.
type Switch struct {
	o   Options
	log *logrus.Entry
	in  *inbox

	mu         sync.Mutex
	link       *link         // the live connection, nil while (re)connecting
	linkCh     chan struct{} // closed and replaced whenever link changes
	epoch      int           // connections made so far; the live one's number
	calls      map[string]*call
	dials      map[string]*dialWait // leg uuid → originate waiting for its outcome
	jobs       map[string]string    // Job-UUID → leg uuid
	ended      map[string]bool      // channels known to be gone (late events)
	endedQ     []string
	handler    pbx.Handler
	hctx       context.Context
	serving    bool
	closing    bool // Serve is ending: no new handlers, no waiting for a link
	tasks      []func(context.Context)
	taskCh     chan struct{}
	aliveOK    bool // the AliveVariable could be set
	aliveTried bool

	wg      sync.WaitGroup // call handlers, started only while serving
	dialers sync.WaitGroup // eslgo Dials (see dial)
}

type dialWait struct {
	done chan dialResult // buffered, 1
	job  string
	r    pbx.Originate
	// epoch is the connection the originate was sent on; placed says
	// FreeSWITCH accepted it; abandoned says nobody waits for the outcome
	// any more (cancelled, guard, lost connection): an answered leg is hung
	// up.
	epoch     int
	placed    bool
	abandoned bool
}

type dialResult struct {
	c   *call
	err error
}

// New returns the Switch for one FreeSWITCH.
func New(o Options) *Switch {
	o.setDefaults()
	return &Switch{
		o: o, log: o.Log.WithField("pbx", o.Name), in: newInbox(),
		linkCh: make(chan struct{}),
		calls:  map[string]*call{}, dials: map[string]*dialWait{}, jobs: map[string]string{},
		ended: map[string]bool{}, taskCh: make(chan struct{}, 1),
	}
}

// Name implements pbx.Switch.
func (s *Switch) Name() string { return s.o.Name }

var _ pbx.ConnectionState = (*Switch)(nil)

// Connected implements pbx.ConnectionState: Serve holds a live, logged-in
// event socket connection. It is false before the first one, while Serve
// reconnects (a link found dead counts at once), and once Serve is ending.
func (s *Switch) Connected() bool {
	s.mu.Lock()
	l, closing := s.link, s.closing
	s.mu.Unlock()
	return l != nil && !closing && l.alive()
}

func (s *Switch) currentEpoch() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epoch
}

// Serve implements pbx.Switch: it keeps one event socket connection open
// (reconnecting with backoff), hands every call parked with vhold_queue to
// h, and returns when ctx ends and every handler has returned. Callers on
// hold are left parked with their music when it stops, for the next vhold
// to take back.
func (s *Switch) Serve(ctx context.Context, h pbx.Handler) error {
	s.mu.Lock()
	if s.serving {
		s.mu.Unlock()
		return fmt.Errorf("freeswitch %s: already serving", s.o.Name)
	}
	s.serving, s.handler, s.hctx = true, h, ctx
	s.mu.Unlock()

	// The dispatcher and the task runner outlive ctx: the handlers that
	// end with it still need their events and their last commands.
	bctx, bstop := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	bg.Add(2)
	go func() {
		defer bg.Done()
		s.dispatchLoop(bctx)
	}()
	go func() {
		defer bg.Done()
		s.runTasks(bctx)
	}()
	defer func() {
		s.mu.Lock()
		s.closing = true
		s.setLink(s.link) // wakes verbs waiting for a link that will not come
		s.mu.Unlock()
		s.wg.Wait()
		s.mu.Lock()
		l := s.link
		s.setLink(nil)
		s.mu.Unlock()
		if l != nil {
			if l.alive() {
				s.markAlive(context.Background(), l, false)
			}
			l.close()
		}
		bstop()
		bg.Wait()
	}()

	backoff := s.o.MinBackoff
	for ctx.Err() == nil {
		l, err := s.dial(ctx, true)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			s.log.WithError(err).WithField("retry_in", backoff).Warn("event socket: cannot connect; retrying")
			if !s.sleep(ctx, backoff) {
				break
			}
			backoff = min(2*backoff, s.o.MaxBackoff)
			continue
		}
		backoff = s.o.MinBackoff
		s.mu.Lock()
		s.setLink(l)
		s.mu.Unlock()
		s.log.WithFields(logrus.Fields{"address": s.o.Address, "connection": l.epoch}).Info("connected to the event socket")
		s.markAlive(ctx, l, true)
		s.reconcile(ctx, l)
		s.watch(ctx, l)
		if ctx.Err() != nil {
			break // the link stays up for the handlers; closed above
		}
		s.mu.Lock()
		s.setLink(nil)
		s.mu.Unlock()
		why := l.err()
		l.close()
		s.log.WithError(why).WithField("retry_in", backoff).Warn("event socket connection lost; reconnecting")
		// Not at once: a FreeSWITCH that just dropped vhold is often
		// restarting or shedding load.
		if !s.sleep(ctx, backoff) {
			break
		}
	}
	return nil
}

// setLink changes the live connection and wakes the verbs waiting for one;
// s.mu is held.
func (s *Switch) setLink(l *link) {
	s.link = l
	close(s.linkCh)
	s.linkCh = make(chan struct{})
}

func (s *Switch) sleep(ctx context.Context, d time.Duration) bool {
	t := s.o.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

// dial connects and logs in; with subscribe, the connection's events feed
// the dispatcher under a new epoch.
func (s *Switch) dial(ctx context.Context, subscribe bool) (*link, error) {
	if _, err := greet(ctx, s.o.Clock, s.o.Address, s.o.Password, s.o.DialTimeout); err != nil {
		return nil, err
	}
	lctx, stop := context.WithCancel(context.Background())
	l := &link{s: s, stop: stop, sem: make(chan struct{}, 1), dead: make(chan struct{})}
	opts := eslgo.InboundOptions{
		Options: eslgo.Options{Context: lctx, Logger: eslLogger{s.log}, ExitTimeout: s.o.DialTimeout},
		Network: "tcp", Password: s.o.Password, AuthTimeout: s.o.DialTimeout,
		// Called on EOF and on FreeSWITCH's disconnect notice. A socket
		// that fails otherwise (a reset) ends eslgo's reader silently, which
		// the heartbeat's timeout catches.
		OnDisconnect: func() { l.kill(errors.New("FreeSWITCH closed the event socket")) },
	}
	// eslgo's Dial cannot be bounded (it waits for the greeting with no
	// timeout): greet has just seen the greeting come at once, so it is
	// run in a goroutine and given DialTimeout. If it overruns, its
	// connection is closed as soon as it returns; a Dial that never
	// returns (a server that greeted greet but not this connection, and
	// keeps the socket open) cannot be stopped from outside eslgo: that
	// one goroutine stays until the process ends, and the log says so.
	type result struct {
		c   *eslgo.Conn
		err error
	}
	res := make(chan result, 1)
	var mu sync.Mutex
	abandoned := false
	s.dialers.Add(1)
	go func() {
		defer s.dialers.Done()
		c, err := opts.Dial(s.o.Address)
		mu.Lock()
		defer mu.Unlock()
		if abandoned {
			stop()
			if c != nil {
				if nc := detach(c); nc != nil {
					_ = nc.Close()
				} else {
					c.Close()
				}
			}
			return
		}
		res <- result{c, err}
	}()
	t := s.o.Clock.NewTimer(s.o.DialTimeout)
	defer t.Stop()
	var r result
	select {
	case r = <-res:
	case <-t.C():
		r.err = fmt.Errorf("event socket %s: eslgo did not log in within %s (its Dial is left to finish on its own)", s.o.Address, s.o.DialTimeout)
	case <-ctx.Done():
		r.err = ctx.Err()
	}
	if r.c == nil && r.err == nil {
		r.err = errors.New("eslgo returned no connection")
	}
	if r.err != nil {
		mu.Lock()
		abandoned = true
		mu.Unlock()
		stop()
		select {
		case late := <-res:
			if late.c != nil {
				if nc := detach(late.c); nc != nil {
					_ = nc.Close()
				} else {
					late.c.Close()
				}
			}
		default:
		}
		return nil, fmt.Errorf("event socket %s: %w", s.o.Address, r.err)
	}
	l.conn = r.c
	l.nc = detach(r.c)
	if !subscribe {
		return l, nil
	}
	s.mu.Lock()
	s.epoch++
	l.epoch = s.epoch
	s.mu.Unlock()
	epoch := l.epoch
	l.conn.RegisterEventListener(eslgo.EventListenAll, func(ev *eslgo.Event) { s.in.put(newEvent(ev, epoch)) })
	reply, err := l.send(ctx, raw(subscription))
	if err == nil && failed(reply) {
		err = &replyError{Command: subscription, Text: reply}
	}
	if err != nil {
		l.close()
		return nil, fmt.Errorf("event socket %s: subscribe: %w", s.o.Address, err)
	}
	return l, nil
}

// watch returns when l dies or ctx ends. Every Heartbeat it sends one
// command: a connection that stopped answering is found even when no call
// is active, since eslgo reports only an EOF, not a reset socket.
func (s *Switch) watch(ctx context.Context, l *link) {
	for {
		t := s.o.Clock.NewTimer(s.o.Heartbeat)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-l.dead:
			t.Stop()
			return
		case <-t.C():
			s.markAlive(ctx, l, true)
		}
	}
}

// markAlive sets the AliveVariable (see Options): until a little after the
// next heartbeat while connected, 0 when vhold lets go.
func (s *Switch) markAlive(ctx context.Context, l *link, up bool) {
	until := int64(0)
	if up {
		until = s.o.Clock.Now().Add(3 * s.o.Heartbeat).Unix()
	}
	reply, err := l.send(ctx, raw(fmt.Sprintf("api global_setvar %s=%d", s.o.AliveVariable, until)))
	if err != nil {
		return // the link is dead: watch sees it
	}
	s.mu.Lock()
	warn := failed(reply) && (s.aliveOK || !s.aliveTried)
	s.aliveOK, s.aliveTried = !failed(reply), true
	s.mu.Unlock()
	if warn {
		s.log.WithFields(logrus.Fields{"variable": s.o.AliveVariable, "reply": reply}).Warn("cannot set the alive variable (global_setvar): a dialplan fallback that reads it will not see vhold")
	}
}

// waitLink returns the live connection, waiting for one while vhold
// reconnects (up to LinkWait), so the flows ride out a short cut.
func (s *Switch) waitLink(ctx context.Context) (*link, error) {
	var t clock.Timer
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for {
		s.mu.Lock()
		l, ch, closing := s.link, s.linkCh, s.closing
		s.mu.Unlock()
		if l != nil && l.alive() {
			return l, nil
		}
		if closing {
			return nil, errNoLink // Serve is ending and will not reconnect
		}
		if t == nil {
			t = s.o.Clock.NewTimer(s.o.LinkWait)
		}
		var dead <-chan struct{}
		if l != nil {
			dead = l.dead
		}
		select {
		case <-ch:
		case <-dead:
			// A dead link that Serve has not dropped yet: wait for the
			// change.
			select {
			case <-ch:
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-t.C():
				return nil, fmt.Errorf("%w within %s", errNoLink, s.o.LinkWait)
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C():
			return nil, fmt.Errorf("%w within %s", errNoLink, s.o.LinkWait)
		}
	}
}

// send runs a command on the live connection: the reply text and the
// connection's epoch.
func (s *Switch) send(ctx context.Context, c command.Command) (string, int, error) {
	l, err := s.waitLink(ctx)
	if err != nil {
		return "", 0, err
	}
	reply, err := l.send(ctx, c)
	return reply, l.epoch, err
}

// api runs "api <line>".
func (s *Switch) api(ctx context.Context, line string) (string, error) {
	if err := clean(line); err != nil {
		return "", err
	}
	reply, _, err := s.send(ctx, raw("api "+line))
	return reply, err
}

// apiAgain is api for a command that may safely run twice (uuid_answer,
// uuid_kill, uuid_setvar, uuid_getvar): if the connection is lost before
// its reply, it is sent again on the next one.
func (s *Switch) apiAgain(ctx context.Context, line string) (string, error) {
	reply, err := s.api(ctx, line)
	if errors.Is(err, errLinkLost) {
		reply, err = s.api(ctx, line)
	}
	return reply, err
}

// later queues f for the task goroutine: the dispatcher never sends
// commands itself, and the adapter's own chores (hanging up the other side
// of a taken-back conversation, a leg answered after its dial was given up)
// have an owner that Serve waits for.
func (s *Switch) later(f func(context.Context)) {
	s.mu.Lock()
	s.tasks = append(s.tasks, f)
	s.mu.Unlock()
	select {
	case s.taskCh <- struct{}{}:
	default:
	}
}

func (s *Switch) runTasks(ctx context.Context) {
	for {
		s.mu.Lock()
		tasks := s.tasks
		s.tasks = nil
		s.mu.Unlock()
		for _, f := range tasks {
			tctx, cancel := context.WithCancel(ctx)
			t := s.o.Clock.AfterFunc(s.o.CommandTimeout+s.o.DialTimeout, cancel)
			f(tctx)
			t.Stop()
			cancel()
		}
		select {
		case <-ctx.Done():
			return
		case <-s.taskCh:
		}
	}
}

// dispatch handles one event.
func (s *Switch) dispatch(e *event) {
	if c := s.call(e.uuid); c != nil {
		c.mu.Lock()
		late := e.seq < c.last
		c.last = max(c.last, e.seq)
		c.mu.Unlock()
		if late {
			// Sorted per batch, an event can still come after a later one
			// of the same call; the call state takes it in any order.
			s.log.WithFields(logrus.Fields{"call": e.uuid, "event": e.name, "seq": e.seq}).Debug("event later than its successor")
		}
	}
	switch e.name {
	case "CHANNEL_PARK":
		s.parked(e)
	case "CHANNEL_HANGUP":
		s.hungUp(e)
	case "CHANNEL_UNBRIDGE":
		s.unbridged(e)
	case "BACKGROUND_JOB":
		s.jobDone(e)
	case "DTMF":
		if c := s.call(e.uuid); c != nil {
			c.key(e.get("DTMF-Digit"))
		}
	case "PLAYBACK_START", "PLAYBACK_STOP":
		if c := s.call(e.uuid); c != nil {
			c.playback(e.name == "PLAYBACK_START", e.get("Playback-File-Path"), e.get(mediaParam))
		}
	case "RECORD_STOP":
		if c := s.call(e.uuid); c != nil {
			ms, _ := strconv.Atoi(e.get("variable_record_ms"))
			c.recordStopped(e.get("Record-File-Path"), time.Duration(ms)*time.Millisecond)
		}
	}
}

func (s *Switch) call(id string) *call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[id]
}

// parked is a call entering park: a new caller when the dialplan set
// vhold_queue (park does not answer: 01-inbound-dtmf, Answer-State
// ringing; CHANNEL_CREATE is not a call's first event, so the park is
// where vhold meets it). A known call parking is a leg back from a bridge
// (park_after_bridge), a dialed leg parks on answer (&park()).
func (s *Switch) parked(e *event) {
	queue := e.get("variable_vhold_queue")
	if queue == "" {
		return
	}
	lang := e.get("variable_vhold_lang")
	if lang == "" {
		lang = e.get("variable_vhold_language")
	}
	caller := pbx.Party{Number: e.get("Caller-Caller-ID-Number"), Name: e.get("Caller-Caller-ID-Name")}
	if c := s.take(e.uuid, queue, lang, caller, false); c != nil {
		s.log.WithFields(logrus.Fields{"call": c.id, "queue": queue, "caller": caller.Number}).Info("call entered vhold")
	}
}

// take registers a caller and runs the handler on it, unless it is known,
// gone, or Serve is ending; nil when it did not. foreign says something
// vhold did not start may play on it.
func (s *Switch) take(id, queue, lang string, caller pbx.Party, foreign bool) *call {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls[id] != nil || s.dials[id] != nil || s.ended[id] || s.closing || !s.serving {
		return nil
	}
	c := newCall(s, id, queue, lang, caller)
	c.foreign = foreign
	s.calls[id] = c
	h, ctx := s.handler, s.hctx
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		c.setup(ctx)
		h(ctx, c)
		// A handler that returns leaves no caller behind, unless vhold is
		// stopping: then the caller stays parked (with the music, if they
		// were on hold) for the next vhold to take back.
		if !c.isGone() && ctx.Err() == nil {
			if err := c.Hangup(context.WithoutCancel(ctx), pbx.CauseNormal); err != nil {
				s.log.WithError(err).WithField("call", c.id).Warn("hang up after the flow")
			}
		}
	}()
	return c
}

// hungUp is CHANNEL_HANGUP: the end of a call, or the outcome of a dial
// whose leg failed (its CHANNEL_HANGUP comes before its BACKGROUND_JOB:
// 04-originate-fail).
func (s *Switch) hungUp(e *event) {
	cause := e.get("Hangup-Cause")
	s.mu.Lock()
	w := s.dials[e.uuid]
	s.mu.Unlock()
	if w != nil {
		// A leg that answered and hung up at once is an answered call that
		// is gone; the flow finds out with its first verb.
		if at := e.get("Caller-Channel-Answered-Time"); at != "" && at != "0" {
			s.settle(e.uuid, w, true, cause)
		} else {
			s.settle(e.uuid, w, false, cause)
		}
	}
	if c := s.call(e.uuid); c != nil {
		s.gone(c, cause)
		return
	}
	s.mu.Lock()
	s.tombstone(e.uuid)
	s.mu.Unlock()
}

// tombstone remembers a gone channel, so that a late event (a CHANNEL_PARK
// handled after its CHANNEL_HANGUP, a reconcile that listed it just
// before) does not bring it back; s.mu is held.
func (s *Switch) tombstone(id string) {
	if s.ended[id] {
		return
	}
	s.ended[id] = true
	s.endedQ = append(s.endedQ, id)
	if len(s.endedQ) > 4096 {
		delete(s.ended, s.endedQ[0])
		s.endedQ = s.endedQ[1:]
	}
}

// gone ends a call once: pending verbs fail with pbx.ErrHungUp, its flow
// sees an EventHangup, and a bridged peer is told it is alone. FreeSWITCH
// would hang the peer up itself after uuid_bridge (03-originate-answer);
// vhold sets park_after_bridge on its calls, so the peer parks instead and
// its flow decides, as on Asterisk. The peer of a taken-back conversation
// has no flow: it is hung up here.
func (s *Switch) gone(c *call, cause string) {
	s.mu.Lock()
	if s.calls[c.id] == c {
		delete(s.calls, c.id)
	}
	s.tombstone(c.id)
	s.mu.Unlock()
	peer := c.end(cause)
	if peer == nil {
		return
	}
	peer.mu.Lock()
	if peer.peer == c {
		peer.peer, peer.bridging = nil, false
	}
	peer.mu.Unlock()
	peer.post(pbx.Event{Kind: pbx.EventUnbridge, Peer: c.id})
	if peer.orphan {
		s.later(func(ctx context.Context) {
			if err := peer.Hangup(ctx, pbx.CauseNormal); err != nil {
				s.log.WithError(err).WithField("call", peer.id).Warn("hang up the other side of a taken-back conversation")
			}
		})
	}
}

// unbridged is CHANNEL_UNBRIDGE (on the bridge's first leg, with both ids).
// After a hangup gone has told the survivor already; an unbridge without a
// hangup (someone parked or transferred a leg) ends the conversation for
// both flows the same way.
func (s *Switch) unbridged(e *event) {
	ids := []string{e.get("Bridge-A-Unique-ID"), e.get("Bridge-B-Unique-ID"), e.uuid}
	for i, id := range ids {
		if id == "" || slices.Contains(ids[:i], id) {
			continue
		}
		c := s.call(id)
		if c == nil {
			continue
		}
		c.mu.Lock()
		peer := c.peer
		if peer == nil && !c.orphan {
			c.mu.Unlock()
			continue
		}
		c.peer, c.bridging = nil, false
		c.mu.Unlock()
		if peer != nil {
			c.post(pbx.Event{Kind: pbx.EventUnbridge, Peer: peer.id})
		}
		if c.orphan {
			s.later(func(ctx context.Context) {
				if err := c.Hangup(ctx, pbx.CauseNormal); err != nil {
					s.log.WithError(err).WithField("call", c.id).Warn("hang up a taken-back leg left alone")
				}
			})
		}
	}
}

// jobDone is a BACKGROUND_JOB: the answer to an originate, "+OK <uuid>" or
// "-ERR <CAUSE>" (03-originate-answer, 04-originate-fail).
func (s *Switch) jobDone(e *event) {
	job := e.get("Job-UUID")
	s.mu.Lock()
	id, ok := s.jobs[job]
	w := s.dials[id]
	s.mu.Unlock()
	if !ok || w == nil {
		return
	}
	body := strings.TrimSpace(string(e.ev.Body))
	if strings.HasPrefix(body, "+OK") {
		s.settle(id, w, true, "")
		return
	}
	cause := strings.TrimSpace(strings.TrimPrefix(body, "-ERR"))
	if cause == "" {
		cause = body
	}
	s.settle(id, w, false, cause)
}

// settle ends a dial once. An answered leg becomes a call at once (in the
// dispatcher, before any later event of it); one nobody waits for is hung
// up.
func (s *Switch) settle(id string, w *dialWait, answered bool, cause string) {
	s.mu.Lock()
	if s.dials[id] != w {
		s.mu.Unlock()
		return
	}
	delete(s.dials, id)
	delete(s.jobs, w.job)
	var c *call
	if answered && !w.abandoned {
		lang := w.r.Language
		if lang == "" {
			lang = s.o.Language
		}
		c = newCall(s, id, "", lang, w.r.CallerID)
		c.dialed = true
		if cause != "" {
			// Answered, then hung up before the BACKGROUND_JOB came.
			c.gone, c.cause = true, cause
			s.tombstone(id)
		} else {
			s.calls[id] = c
		}
	}
	abandoned := w.abandoned
	s.mu.Unlock()
	if abandoned {
		if answered && cause == "" {
			s.later(func(ctx context.Context) {
				if _, err := s.apiAgain(ctx, "uuid_kill "+id+" NORMAL_CLEARING"); err != nil {
					s.log.WithError(err).WithField("call", id).Warn("hang up a leg answered after its dial was given up")
				}
			})
		}
		return
	}
	if c != nil {
		w.done <- dialResult{c: c}
		return
	}
	if cause == "" {
		cause = "ended with no cause reported"
	}
	w.done <- dialResult{err: &pbx.DialError{Outcome: outcomeOf(cause), Cause: cause}}
}

// Originate implements pbx.Switch with vhold's own originate: bgapi with a
// Job-UUID it chooses, and origination_uuid set to the call's id, so the
// leg's events are recognised from the first one and a second originate of
// the same attempt is refused (eslgo's originate helpers drop
// origination_uuid and send "bgapi bgapi": traces README, gotchas). The
// outcome is the BACKGROUND_JOB or the leg's CHANNEL_HANGUP, whichever
// comes first. The leg parks on answer (&park()) with park_after_bridge, so
// vhold keeps it when the other side of a bridge leaves.
func (s *Switch) Originate(ctx context.Context, r pbx.Originate) (pbx.Call, error) {
	id := legID(r.ID)
	if err := clean(r.Endpoint); err != nil || strings.ContainsAny(r.Endpoint, " {}") || r.Endpoint == "" {
		return nil, &pbx.DialError{Outcome: pbx.Invalid, Cause: fmt.Sprintf("dial string %q cannot be dialed", r.Endpoint)}
	}
	timeout := int(r.Timeout / time.Second)
	if timeout <= 0 {
		timeout = 30
	}
	w := &dialWait{done: make(chan dialResult, 1), job: newUUID(), r: r}
	s.mu.Lock()
	if s.dials[id] != nil || s.calls[id] != nil {
		s.mu.Unlock()
		return nil, &pbx.DialError{Outcome: pbx.Failed, Cause: "a call with id " + id + " is already being placed"}
	}
	s.dials[id] = w
	s.jobs[w.job] = id
	s.mu.Unlock()

	vars := map[string]string{
		"origination_uuid":  id,
		"originate_timeout": strconv.Itoa(timeout),
		// Ringback is not an answer: the callee is reached when they pick
		// up (03-originate-answer set it too).
		"ignore_early_media":   "true",
		"playback_terminators": "none",
		"park_after_bridge":    "true",
		"vhold_dialed":         "true",
	}
	if r.CallerID.Number != "" {
		vars["origination_caller_id_number"] = r.CallerID.Number
	}
	if r.CallerID.Name != "" {
		vars["origination_caller_id_name"] = r.CallerID.Name
	}
	for k, v := range r.Variables {
		if safeVar.MatchString(k) {
			vars[k] = v
		}
	}
	line := "originate " + varBlock(vars) + r.Endpoint + " &park()"
	cmd := "bgapi " + line + "\r\nJob-UUID: " + w.job
	if err := clean(line); err != nil {
		s.forget(id, w)
		return nil, &pbx.DialError{Outcome: pbx.Failed, Cause: err.Error()}
	}
	reply, epoch, err := s.send(ctx, raw(cmd))
	if err != nil {
		if errors.Is(err, errLinkLost) {
			// It may be ringing: whatever it becomes, nobody waits for it.
			s.mu.Lock()
			w.abandoned, w.placed, w.epoch = true, true, epoch
			s.mu.Unlock()
			return nil, &pbx.DialError{Outcome: pbx.Failed, Cause: "connection to FreeSWITCH lost while dialing"}
		}
		s.forget(id, w)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &pbx.DialError{Outcome: pbx.Failed, Cause: err.Error()}
	}
	if failed(reply) {
		s.forget(id, w)
		return nil, &pbx.DialError{Outcome: pbx.Failed, Cause: reply}
	}
	s.mu.Lock()
	w.placed, w.epoch = true, epoch
	s.mu.Unlock()
	guard := s.o.Clock.NewTimer(time.Duration(timeout)*time.Second + 45*time.Second)
	defer guard.Stop()
	select {
	case res := <-w.done:
		if res.err != nil {
			return nil, res.err
		}
		return res.c, nil
	case <-ctx.Done():
		s.cancelDial(id, w)
		return nil, ctx.Err()
	case <-guard.C():
		s.cancelDial(id, w)
		return nil, &pbx.DialError{Outcome: pbx.Failed, Cause: "no answer or hangup reported by FreeSWITCH"}
	}
}

func (s *Switch) forget(id string, w *dialWait) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dials[id] == w {
		delete(s.dials, id)
		delete(s.jobs, w.job)
	}
}

// cancelDial stops a ringing originate (the caller it was for has left):
// the leg is killed; if it answered meanwhile, settle hangs it up.
func (s *Switch) cancelDial(id string, w *dialWait) {
	s.mu.Lock()
	pending := s.dials[id] == w
	w.abandoned = true
	s.mu.Unlock()
	if !pending {
		// Settled just now: a call nobody will use.
		select {
		case res := <-w.done:
			if res.c != nil {
				_ = res.c.Hangup(context.Background(), pbx.CauseNormal)
			}
		default:
		}
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t := s.o.Clock.AfterFunc(s.o.CommandTimeout, cancel)
	defer t.Stop()
	if _, err := s.apiAgain(ctx, "uuid_kill "+id+" ORIGINATOR_CANCEL"); err != nil {
		s.log.WithError(err).WithField("call", id).Warn("cancel dial")
	}
}

// safeVar is a channel variable name vhold passes through to originate.
var safeVar = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// varBlock is originate's {k=v,...} block, sorted for a stable command.
// A value with a comma, a brace or a space is single-quoted, as FreeSWITCH
// reads it; quotes in values are dropped.
func varBlock(vars map[string]string) string {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		v := strings.NewReplacer("'", "", "\"", "").Replace(vars[k])
		if strings.ContainsAny(v, ", {}") {
			v = "'" + v + "'"
		}
		b.WriteString(k + "=" + v)
	}
	b.WriteByte('}')
	return b.String()
}

// legID is the origination_uuid for a dial. FreeSWITCH keeps a session's
// uuid in a 36-character buffer (a UUID's length) and would cut a longer
// id, so the events would not match it; such ids, and ids with characters
// a dial string cannot carry, are turned into a UUID derived from them, so
// that dialing the same attempt twice still yields the same uuid (and
// FreeSWITCH refuses the second).
func legID(id string) string {
	if id == "" {
		return newUUID()
	}
	if len(id) <= 36 && plainID.MatchString(id) {
		return id
	}
	h := sha1.Sum([]byte("vhold:" + id))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

var plainID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// chanInfo is one channel FreeSWITCH lists, with vhold's variables.
type chanInfo struct {
	uuid      string
	callstate string
	caller    pbx.Party
	queue     string // vhold_queue: a caller handed to vhold
	lang      string
	dialed    bool   // vhold_dialed: a leg vhold originated
	bridgeTo  string // bridge_to: the other leg while bridged
	app       string // the application it runs now (park, playback…)
}

func (ci chanInfo) owned() bool { return ci.queue != "" || ci.dialed }

// inventory lists FreeSWITCH's channels ("show channels as json"), and for
// those want says, reads vhold's variables with uuid_getvar (an unset one
// reads "_undef_"). The traces do not show "show channels"; its shape is
// mod_commands' (esltest follows it).
func (s *Switch) inventory(ctx context.Context, l *link, want func(uuid string) bool) ([]chanInfo, error) {
	reply, err := l.send(ctx, raw("api show channels as json"))
	if err != nil {
		return nil, fmt.Errorf("show channels: %w", err)
	}
	if failed(reply) {
		return nil, &replyError{Command: "show channels", Text: reply}
	}
	var list struct {
		Rows []map[string]string `json:"rows"`
	}
	if err := json.Unmarshal([]byte(reply), &list); err != nil {
		return nil, fmt.Errorf("show channels: %w", err)
	}
	getvar := func(uuid, name string) (string, error) {
		v, err := l.send(ctx, raw("api uuid_getvar "+uuid+" "+name))
		if err != nil {
			return "", err
		}
		if v == "_undef_" || failed(v) {
			return "", nil
		}
		return v, nil
	}
	out := make([]chanInfo, 0, len(list.Rows))
	for _, row := range list.Rows {
		ci := chanInfo{uuid: row["uuid"], callstate: row["callstate"], app: row["application"],
			caller: pbx.Party{Number: row["cid_num"], Name: row["cid_name"]}}
		if ci.uuid == "" || clean(ci.uuid) != nil || strings.Contains(ci.uuid, " ") {
			continue
		}
		if want(ci.uuid) {
			if ci.queue, err = getvar(ci.uuid, "vhold_queue"); err != nil {
				return nil, err
			}
			if ci.queue == "" {
				v, err := getvar(ci.uuid, "vhold_dialed")
				if err != nil {
					return nil, err
				}
				ci.dialed = v == "true"
			}
			if ci.owned() {
				if ci.bridgeTo, err = getvar(ci.uuid, "bridge_to"); err != nil {
					return nil, err
				}
				if ci.queue != "" {
					if ci.lang, err = getvar(ci.uuid, "vhold_lang"); err != nil {
						return nil, err
					}
					if ci.lang == "" {
						if ci.lang, err = getvar(ci.uuid, "vhold_language"); err != nil {
							return nil, err
						}
					}
				}
			}
		}
		out = append(out, ci)
	}
	return out, nil
}

// Calls implements pbx.CallLister: the channels vhold owns on this
// FreeSWITCH now (callers parked with vhold_queue, legs it dialed). A
// caller stays parked while vhold is away, so their live ticket keeps its
// place. Before Serve it uses a connection of its own.
func (s *Switch) Calls(ctx context.Context) ([]string, error) {
	s.mu.Lock()
	l := s.link
	s.mu.Unlock()
	if l == nil || !l.alive() {
		var err error
		if l, err = s.dial(ctx, false); err != nil {
			return nil, fmt.Errorf("list the calls on %s: %w", s.o.Name, err)
		}
		defer l.close()
	}
	infos, err := s.inventory(ctx, l, func(string) bool { return true })
	if err != nil {
		return nil, fmt.Errorf("list the calls on %s: %w", s.o.Name, err)
	}
	var ids []string
	for _, ci := range infos {
		if ci.owned() {
			ids = append(ids, ci.uuid)
		}
	}
	return ids, nil
}

// reconcile runs each time a connection comes up. FreeSWITCH does not
// replay the events of a gap (and a new vhold never saw them), so the
// state is read back:
//   - calls whose channels are gone are ended (their flows see the hangup;
//     the line abandons a caller who was waiting);
//   - a prompt that was playing across the gap is stopped if it still
//     plays, finished if not;
//   - a dial whose outcome was lost is settled: answered if the leg is up
//     and answered, failed if it is gone;
//   - channels vhold owns but does not know (vhold restarted; or a caller
//     parked during the gap) are taken back: a caller is handed to the
//     handler, whose flow finds its ticket by the call's id and resumes;
//     the two legs of a conversation are watched so that one hanging up
//     ends the other; a dialed leg caught half-way is hung up (its
//     attempt is retried).
func (s *Switch) reconcile(ctx context.Context, l *link) {
	s.mu.Lock()
	known := make(map[string]bool, len(s.calls)+len(s.dials))
	for id := range s.calls {
		known[id] = true
	}
	for id := range s.dials {
		known[id] = true
	}
	s.mu.Unlock()
	infos, err := s.inventory(ctx, l, func(id string) bool { return !known[id] })
	if err != nil {
		s.log.WithError(err).Warn("reconcile after connecting")
		return
	}
	byID := make(map[string]chanInfo, len(infos))
	for _, ci := range infos {
		byID[ci.uuid] = ci
	}
	s.mu.Lock()
	var lost, playing []*call
	for id, c := range s.calls {
		if _, ok := byID[id]; !ok {
			lost = append(lost, c)
			continue
		}
		c.mu.Lock()
		if p := c.play; p != nil && p.epoch < l.epoch {
			playing = append(playing, c)
		}
		c.mu.Unlock()
	}
	dials := map[string]*dialWait{}
	for id, w := range s.dials {
		if w.placed && w.epoch < l.epoch {
			dials[id] = w
		}
	}
	var unknown []chanInfo
	for _, ci := range infos {
		if ci.owned() && s.calls[ci.uuid] == nil && s.dials[ci.uuid] == nil && !s.ended[ci.uuid] {
			unknown = append(unknown, ci)
		}
	}
	s.mu.Unlock()
	for _, c := range lost {
		s.log.WithField("call", c.id).Info("channel gone while vhold was disconnected")
		s.gone(c, "gone while vhold was disconnected from FreeSWITCH")
	}
	for _, c := range playing {
		s.settlePlay(c, l.epoch)
	}
	for id, w := range dials {
		ci, up := byID[id]
		switch {
		case !up:
			s.settle(id, w, false, "ended while vhold was disconnected from FreeSWITCH; outcome unknown")
		case ci.callstate == "ACTIVE":
			s.settle(id, w, true, "")
		}
	}
	taken := s.adopt(ctx, l, unknown)
	s.log.WithFields(logrus.Fields{"connection": l.epoch, "channels": len(infos), "lost": len(lost), "taken_back": taken}).Info("reconciled with FreeSWITCH")
}

// settlePlay finishes a Play whose PLAYBACK_STOPs may have been lost in a
// gap. FreeSWITCH cannot say whether a channel plays now
// (current_application stays "playback" after a broadcast has ended, in
// park: switch_core_session_exec sets it and nothing restores it), and a
// uuid_break sent to a silent channel would stay armed and cut the next
// prompt (CF_BREAK, mod_commands' break). So the Play simply ends, as if
// played out; what is left of it plays on and its events, tagged with the
// old Play, are ignored; the next prompt or the music queues after it.
func (s *Switch) settlePlay(c *call, epoch int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.play; p != nil && p.epoch < epoch {
		p.finished = true
		c.signal()
	}
}

// adopt takes back the channels vhold owns but does not know.
func (s *Switch) adopt(ctx context.Context, l *link, infos []chanInfo) int {
	n := 0
	pairs := map[string]*call{}
	for _, ci := range infos {
		log := s.log.WithFields(logrus.Fields{"call": ci.uuid, "caller": ci.caller.Number})
		switch {
		case ci.bridgeTo != "":
			c := newCall(s, ci.uuid, ci.queue, ci.lang, ci.caller)
			c.orphan, c.dialed, c.bridging = true, ci.dialed, true
			s.mu.Lock()
			if s.calls[ci.uuid] != nil || s.ended[ci.uuid] {
				s.mu.Unlock()
				continue
			}
			s.calls[ci.uuid] = c
			s.mu.Unlock()
			pairs[ci.uuid] = c
			log.WithField("bridged_to", ci.bridgeTo).Info("conversation taken back: watched until one side hangs up")
			n++
		case ci.dialed:
			log.Info("dialed leg caught half-way by a restart: hung up (the attempt is retried)")
			if reply, err := l.send(ctx, raw("api uuid_kill "+ci.uuid+" NORMAL_CLEARING")); err != nil || failed(reply) && !noChannel(reply) {
				log.WithError(err).WithField("reply", reply).Warn("hang up a dialed leg after a restart")
			}
		default:
			// A broadcast may still play (the music vhold left the
			// caller with): "playback" is the last application the
			// channel ran, "park" means nothing was broadcast since it
			// parked.
			if c := s.take(ci.uuid, ci.queue, ci.lang, ci.caller, ci.app == "playback"); c != nil {
				log.WithField("queue", ci.queue).Info("call taken back")
				n++
			}
		}
	}
	for id, c := range pairs {
		ci := slices.IndexFunc(infos, func(x chanInfo) bool { return x.uuid == id })
		if other := pairs[infos[ci].bridgeTo]; other != nil {
			c.mu.Lock()
			c.peer = other
			c.mu.Unlock()
		}
	}
	return n
}
