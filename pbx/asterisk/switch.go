// Package asterisk runs vhold's call flows on Asterisk through ARI: it turns
// Stasis channels into pbx.Calls and pbx verbs into ARI requests, and the
// events that answer them (which arrive in any order relative to the REST
// replies: ../shared/pbx/asterisk/traces/README.md) back into completions.
//
// Choices the traces forced:
//   - A held caller hears channel MOH and channel playbacks, never a holding
//     bridge: a holding bridge has one announcer slot and bridge MOH takes it
//     (hold-bridge.jsonl).
//   - A playback is stopped before its channel is bridged: addChannel waits
//     for a running channel playback to end (callback-flow.jsonl).
//   - DTMF never stops a playback (inbound-dtmf.jsonl): an interruptible
//     prompt is stopped here when one of its keys arrives.
//   - Every wait on a playback has a guard: a playback of bad media may never
//     finish (errors.jsonl).
//   - Outcomes of an originate come from ChannelDestroyed's cause (17 busy,
//     19 no answer, 18 no response; originate-fail.jsonl); an unknown or
//     offline endpoint fails at once with 500 "Allocation failed".
//   - Hanging up one leg never tears down the other: the adapter tells the
//     remaining leg (EventUnbridge) and destroys the bridge itself
//     (originate-answer.jsonl).
package asterisk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/clock"
	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/pbx/asterisk/ari"
)

// Options configure one Asterisk server.
type Options struct {
	// Name identifies the server in logs and tickets.
	Name   string
	Client *ari.Client
	// Sounds is where vhold's prompts are on the Asterisk host, as
	// `vhold sounds export` wrote them: <Sounds>/<lang>/<key>.wav, played
	// as sound:<Sounds>/<lang>/<key>.
	Sounds string
	// Language is the prompts' language when the call has none.
	Language string
	Clock    clock.Clock
	Log      *logrus.Entry
	// Stream tunes the event WebSocket (pings, backoff).
	Stream ari.StreamOptions
	// PlayGuard is the longest any one prompt file may play before the
	// adapter gives up waiting for PlaybackFinished; 0 means 30 s.
	PlayGuard time.Duration
}

// Switch is one Asterisk as a pbx.Switch.
type Switch struct {
	o   Options
	cl  *ari.Client
	log *logrus.Entry

	mu    sync.Mutex
	calls map[string]*call     // channel id → call
	plays map[string]*call     // playback id → call playing it
	recs  map[string]*call     // recording name → call recording it
	dials map[string]*dialWait // channel id → originate waiting for its outcome
	epoch int                  // event connections so far
	wg    sync.WaitGroup       // incoming call handlers

	// connected is true from the event stream's Connected until it drops
	// (Disconnected, or the stream ends).
	connected atomic.Bool
}

type dialWait struct {
	done chan dialResult // buffered, 1
	// epoch is the event connection the originate began under, and placed
	// says Asterisk accepted it: only a placed originate from an earlier
	// connection can have lost its outcome in a gap.
	epoch  int
	placed bool
}

type dialResult struct {
	answered *ari.Channel
	err      error
}

// New returns the Switch for one Asterisk.
func New(o Options) *Switch {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		l := logrus.New()
		l.SetLevel(logrus.PanicLevel)
		o.Log = logrus.NewEntry(l)
	}
	if o.PlayGuard <= 0 {
		o.PlayGuard = 30 * time.Second
	}
	if o.Language == "" {
		o.Language = "en"
	}
	return &Switch{
		o: o, cl: o.Client, log: o.Log.WithField("pbx", o.Name),
		calls: map[string]*call{}, plays: map[string]*call{}, recs: map[string]*call{}, dials: map[string]*dialWait{},
	}
}

// Name implements pbx.Switch.
func (s *Switch) Name() string { return s.o.Name }

var _ pbx.ConnectionState = (*Switch)(nil)

// Connected implements pbx.ConnectionState: the ARI event WebSocket is up.
// It is false before Serve's first connection, while the stream reconnects,
// and once Serve has returned.
func (s *Switch) Connected() bool { return s.connected.Load() }

// Serve implements pbx.Switch: it keeps the event WebSocket open
// (reconnecting with backoff), hands every new Stasis channel to h, and
// returns when ctx ends and every handler has returned, or when another
// consumer took over the app (then vhold must not fight it for the calls).
func (s *Switch) Serve(ctx context.Context, h pbx.Handler) error {
	defer s.wg.Wait()
	defer s.connected.Store(false)
	backoff := time.Second
	for {
		stream, err := s.cl.Events(ctx, s.o.Stream)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.WithError(err).Warn("ARI events: cannot connect; retrying")
			if !s.sleep(ctx, backoff) {
				return nil
			}
			backoff = min(2*backoff, 30*time.Second)
			continue
		}
		backoff = time.Second
		err = s.run(ctx, stream, h)
		s.connected.Store(false)
		stream.Close()
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ari.ErrApplicationReplaced) {
			s.log.Error("another program took over the ARI application: vhold stops acting on this Asterisk")
			return fmt.Errorf("asterisk %s: %w", s.o.Name, err)
		}
		s.log.WithError(err).Warn("ARI events ended; reconnecting")
	}
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

func (s *Switch) run(ctx context.Context, stream *ari.EventStream, h pbx.Handler) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-stream.C():
			if !ok {
				if err := stream.Err(); err != nil {
					return err
				}
				return errors.New("event stream closed")
			}
			s.dispatch(ctx, ev, h)
		}
	}
}

// dispatch routes one event to the call or originate it is about.
func (s *Switch) dispatch(ctx context.Context, ev ari.Event, h pbx.Handler) {
	switch e := ev.(type) {
	case *ari.Connected:
		s.mu.Lock()
		s.epoch++
		s.mu.Unlock()
		s.connected.Store(true)
		s.reconcile(ctx, e.Reconnect, h)
	case *ari.Disconnected:
		// The stream reconnects by itself and says Connected again.
		s.connected.Store(false)
	case *ari.StasisStart:
		s.stasisStart(ctx, e, h)
	case *ari.ChannelDtmfReceived:
		if c := s.call(e.Channel.ID); c != nil {
			c.key(e.Digit)
		}
	case *ari.PlaybackFinished:
		s.mu.Lock()
		c := s.plays[e.Playback.ID]
		delete(s.plays, e.Playback.ID)
		s.mu.Unlock()
		if c != nil {
			c.playFinished(e.Playback.ID, e.Playback.State)
		}
	case *ari.RecordingFinished:
		s.recordingDone(e.Recording, nil)
	case *ari.RecordingFailed:
		s.recordingDone(e.Recording, fmt.Errorf("recording %s failed: %s", e.Recording.Name, e.Recording.Cause))
	case *ari.StasisEnd:
		if c := s.call(e.Channel.ID); c != nil {
			s.gone(c, "left Stasis")
		}
	case *ari.ChannelHangupRequest:
		if c := s.call(e.Channel.ID); c != nil {
			cause := "hangup requested"
			if q, ok := e.Q850(); ok {
				cause = ari.DescribeCause(q, "", e.TechCause)
			}
			s.gone(c, cause)
		}
	case *ari.ChannelDestroyed:
		s.mu.Lock()
		w := s.dials[e.Channel.ID]
		delete(s.dials, e.Channel.ID)
		s.mu.Unlock()
		if w != nil {
			w.done <- dialResult{err: &pbx.DialError{Outcome: outcomeOf(e.Cause), Cause: e.Describe()}}
		}
		if c := s.call(e.Channel.ID); c != nil {
			s.gone(c, e.Describe())
		}
	case *ari.ApplicationReplaced:
		s.log.Error("ApplicationReplaced: another consumer connected to the same ARI app")
	}
}

func (s *Switch) call(id string) *call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[id]
}

// stasisStart is either an originated channel that was answered (only then
// does it enter Stasis: originate-answer.jsonl) or a new caller.
func (s *Switch) stasisStart(ctx context.Context, e *ari.StasisStart, h pbx.Handler) {
	ch := e.Channel
	s.mu.Lock()
	w := s.dials[ch.ID]
	delete(s.dials, ch.ID)
	_, known := s.calls[ch.ID]
	s.mu.Unlock()
	if w != nil {
		w.done <- dialResult{answered: &ch}
		return
	}
	if known {
		return
	}
	queue, lang := stasisArgs(e.Args)
	if lang == "" {
		lang = ch.Language
	}
	c := s.newCall(ch, queue, lang)
	s.log.WithFields(logrus.Fields{"call": ch.ID, "queue": queue, "caller": ch.Caller.Number}).Info("call entered vhold")
	s.handle(ctx, c, h)
}

// handle runs h on c in a goroutine the Switch owns (Serve waits for it).
func (s *Switch) handle(ctx context.Context, c *call, h pbx.Handler) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		h(ctx, c)
		// A handler that returns leaves no caller behind, unless vhold is
		// stopping: then the caller stays in Stasis (with the music, if
		// they were on hold) for the next vhold to take back.
		if !c.isGone() && ctx.Err() == nil {
			if err := c.Hangup(context.WithoutCancel(ctx), pbx.CauseNormal); err != nil {
				s.log.WithError(err).WithField("call", c.id).Warn("hang up after the flow")
			}
		}
	}()
}

// stasisArgs reads Stasis(app,queue[,lang]); "queue=support" (as the trace
// rig's dialplan wrote it) works too.
func stasisArgs(args []string) (queue, lang string) {
	get := func(i int) string {
		if i >= len(args) {
			return ""
		}
		v := strings.TrimSpace(args[i])
		if k, val, ok := strings.Cut(v, "="); ok && (k == "queue" || k == "lang" || k == "language") {
			return val
		}
		return v
	}
	return get(0), get(1)
}

func (s *Switch) newCall(ch ari.Channel, queue, lang string) *call {
	c := &call{
		s: s, id: ch.ID, queue: queue, lang: lang,
		caller:   pbx.Party{Number: ch.Caller.Number, Name: ch.Caller.Name},
		wake:     make(chan struct{}, 1),
		playDone: map[string]chan string{},
	}
	s.mu.Lock()
	s.calls[ch.ID] = c
	s.mu.Unlock()
	return c
}

// gone ends a call once: pending verbs fail with pbx.ErrHungUp, its flow sees
// an EventHangup, and a bridged peer is told it is alone (Asterisk leaves it
// up in the bridge) and the bridge is destroyed.
func (s *Switch) gone(c *call, cause string) {
	s.mu.Lock()
	delete(s.calls, c.id)
	s.mu.Unlock()
	peer, bridge := c.end(cause)
	if peer != nil {
		peer.post(pbx.Event{Kind: pbx.EventUnbridge, Peer: c.id})
		peer.mu.Lock()
		if peer.peer == c {
			peer.peer, peer.bridge = nil, ""
		}
		peer.mu.Unlock()
		if peer.orphan {
			// Nobody runs a flow for it: end the conversation as the
			// flow would have.
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := peer.Hangup(ctx, pbx.CauseNormal); err != nil {
					s.log.WithError(err).WithField("call", peer.id).Warn("hang up the other side of a taken-back conversation")
				}
			}()
		}
	}
	if bridge != "" {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := s.cl.Bridges().Destroy(ctx, bridge); err != nil && !errors.Is(err, ari.ErrNotFound) {
				s.log.WithError(err).WithField("bridge", bridge).Warn("destroy bridge")
			}
		}()
	}
}

// reconcile runs each time the WebSocket is (re)connected. Events of a gap
// are lost, not replayed (disconnect.jsonl), so the state is read back:
//   - calls whose channels left the app meanwhile are ended;
//   - a prompt that finished meanwhile (its playback is gone) is finished;
//   - an originate whose StasisStart or ChannelDestroyed was lost is settled;
//   - channels in the app that this Switch does not know (vhold restarted;
//     they stayed in Stasis) are taken back: a caller is handed to h, whose
//     flow finds its ticket by the channel id; the two sides of a bridged
//     conversation are watched so that one hanging up ends the other; a
//     dialed leg caught mid-way is hung up (its attempt is retried).
func (s *Switch) reconcile(ctx context.Context, reconnect bool, h pbx.Handler) {
	ids, err := s.Calls(ctx)
	if err != nil {
		s.log.WithError(err).Warn("reconcile after connecting")
		return
	}
	alive := map[string]bool{}
	for _, id := range ids {
		alive[id] = true
	}
	s.mu.Lock()
	epoch := s.epoch
	var lost []*call
	var playing = map[string]*call{}
	for id, c := range s.calls {
		if !alive[id] {
			lost = append(lost, c)
			continue
		}
		c.mu.Lock()
		if c.playing != "" {
			playing[c.playing] = c
		}
		c.mu.Unlock()
	}
	dials := map[string]*dialWait{}
	for id, w := range s.dials {
		// Only a reconnect has a gap whose events were lost; an originate
		// placed before the first connection is waited for as usual
		// (its guard ends it if nothing is ever heard).
		if reconnect && w.placed && w.epoch < epoch {
			dials[id] = w
		}
	}
	var unknown []string
	for _, id := range ids {
		if _, known := s.calls[id]; !known && s.dials[id] == nil {
			unknown = append(unknown, id)
		}
	}
	s.mu.Unlock()
	for _, c := range lost {
		s.log.WithField("call", c.id).Info("channel gone while vhold was disconnected")
		s.gone(c, "gone while vhold was disconnected from Asterisk")
	}
	for pb, c := range playing {
		if _, err := s.cl.Playbacks().Get(ctx, pb); errors.Is(err, ari.ErrNotFound) {
			s.mu.Lock()
			delete(s.plays, pb)
			s.mu.Unlock()
			c.playFinished(pb, ari.PlaybackStateDone)
		}
	}
	for id, w := range dials {
		s.settleDial(ctx, id, w, alive[id])
	}
	adopted := s.adopt(ctx, unknown, h)
	s.log.WithFields(logrus.Fields{"reconnect": reconnect, "in_app": len(ids), "lost": len(lost), "taken_back": adopted}).Info("reconciled with Asterisk")
}

// Calls implements pbx.CallLister: the channels in vhold's Stasis app now.
// Asterisk keeps an app whose WebSocket closed while it has channels
// (disconnect.jsonl: /applications still lists the held caller during the
// gap). A 404 for the app is read as "no calls": that part is inferred, not
// traced (no trace asks for an app nobody ever connected), and it is the
// safe reading, since a caller vhold does not list is still taken back on
// connect and starts the flow over rather than being lost.
func (s *Switch) Calls(ctx context.Context) ([]string, error) {
	app, err := s.cl.Applications().Get(ctx, s.app())
	if errors.Is(err, ari.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list the calls in ARI app %s on %s: %w", s.app(), s.o.Name, err)
	}
	return app.ChannelIDs, nil
}

// settleDial ends an originate whose outcome event was lost in a gap.
func (s *Switch) settleDial(ctx context.Context, id string, w *dialWait, inApp bool) {
	ch, err := s.cl.Channels().Get(ctx, id)
	var res dialResult
	switch {
	case err == nil && inApp:
		res.answered = ch
	case errors.Is(err, ari.ErrNotFound):
		res.err = &pbx.DialError{Outcome: pbx.Failed, Cause: "ended while vhold was disconnected from Asterisk; outcome unknown"}
	default:
		return // still ringing, or Asterisk cannot say: keep waiting
	}
	s.mu.Lock()
	mine := s.dials[id] == w
	if mine {
		delete(s.dials, id)
	}
	s.mu.Unlock()
	if mine {
		w.done <- res
	}
}

// adopt takes back the channels of the app that this Switch does not know.
func (s *Switch) adopt(ctx context.Context, ids []string, h pbx.Handler) int {
	if len(ids) == 0 {
		return 0
	}
	inBridge := map[string]string{}
	if bs, err := s.cl.Bridges().List(ctx); err == nil {
		for _, b := range bs {
			for _, id := range b.Channels {
				inBridge[id] = b.ID
			}
		}
	} else {
		s.log.WithError(err).Warn("list bridges to take calls back")
	}
	byBridge := map[string][]*call{}
	n := 0
	for _, id := range ids {
		ch, err := s.cl.Channels().Get(ctx, id)
		if err != nil {
			if !errors.Is(err, ari.ErrNotFound) {
				s.log.WithError(err).WithField("call", id).Warn("read a channel to take it back")
			}
			continue
		}
		args := appArgs(ch.Dialplan.AppData)
		dialed := len(args) > 0 && args[0] == dialedArg
		log := s.log.WithFields(logrus.Fields{"call": id, "caller": ch.Caller.Number})
		if b := inBridge[id]; b != "" {
			c := s.newCall(*ch, "", ch.Language)
			c.orphan = true
			c.mu.Lock()
			c.bridge = b
			c.mu.Unlock()
			byBridge[b] = append(byBridge[b], c)
			log.WithField("bridge", b).Info("conversation taken back after a restart: watched until one side hangs up")
			n++
			continue
		}
		if dialed {
			log.Info("dialed leg caught mid-way by a restart: hung up (the attempt is retried)")
			if err := s.cl.Channels().Hangup(ctx, id, ari.HangupNormal); err != nil && !errors.Is(err, ari.ErrNotFound) {
				log.WithError(err).Warn("hang up a dialed leg after a restart")
			}
			continue
		}
		queue, lang := stasisArgs(args)
		if lang == "" {
			lang = ch.Language
		}
		c := s.newCall(*ch, queue, lang)
		log.WithField("queue", queue).Info("call taken back after a restart")
		s.handle(ctx, c, h)
		n++
	}
	for b, cs := range byBridge {
		if len(cs) == 2 {
			cs[0].mu.Lock()
			cs[0].peer = cs[1]
			cs[0].mu.Unlock()
			cs[1].mu.Lock()
			cs[1].peer = cs[0]
			cs[1].mu.Unlock()
			continue
		}
		s.log.WithFields(logrus.Fields{"bridge": b, "legs": len(cs)}).Info("bridge taken back with a single vhold leg")
	}
	return n
}

// dialedArg is the Stasis argument of every channel vhold originates, which
// tells a dialed leg from a caller when channels are taken back.
const dialedArg = "vhold-dialed"

// appArgs splits a Stasis app_data ("vhold,support,es") into the arguments
// after the app name.
func appArgs(appData string) []string {
	parts := strings.Split(appData, ",")
	if len(parts) <= 1 {
		return nil
	}
	return parts[1:]
}

func (s *Switch) app() string { return s.cl.App() }

func (s *Switch) recordingDone(r ari.LiveRecording, err error) {
	s.mu.Lock()
	c := s.recs[r.Name]
	delete(s.recs, r.Name)
	s.mu.Unlock()
	if c != nil {
		c.recordDone(r, err)
	}
}

// Originate implements pbx.Switch: the channel is created with vhold's id
// (so a second originate of the same attempt is refused by Asterisk with
// 409), and its outcome is the channel entering Stasis (answered) or its
// ChannelDestroyed cause.
func (s *Switch) Originate(ctx context.Context, r pbx.Originate) (pbx.Call, error) {
	id := r.ID
	if id == "" {
		id = ari.NewID("vhold")
	}
	s.mu.Lock()
	w := &dialWait{done: make(chan dialResult, 1), epoch: s.epoch}
	if _, dup := s.dials[id]; dup {
		s.mu.Unlock()
		return nil, &pbx.DialError{Outcome: pbx.Failed, Cause: "a call with id " + id + " is already being placed"}
	}
	s.dials[id] = w
	s.mu.Unlock()
	timeout := int(r.Timeout / time.Second)
	if timeout <= 0 {
		timeout = 30
	}
	_, err := s.cl.Channels().Originate(ctx, ari.OriginateRequest{
		Endpoint:  r.Endpoint,
		AppArgs:   []string{dialedArg},
		CallerID:  callerID(r.CallerID),
		Timeout:   timeout,
		ChannelID: id,
		Variables: r.Variables,
	})
	if err != nil {
		s.mu.Lock()
		delete(s.dials, id)
		s.mu.Unlock()
		switch {
		case errors.Is(err, ari.ErrAllocationFailed):
			return nil, &pbx.DialError{Outcome: pbx.Unreachable, Cause: "Allocation failed"}
		case errors.Is(err, ari.ErrConflict):
			return nil, &pbx.DialError{Outcome: pbx.Failed, Cause: "Asterisk already has a channel " + id}
		}
		return nil, &pbx.DialError{Outcome: pbx.Failed, Cause: err.Error()}
	}
	s.mu.Lock()
	w.placed = true
	s.mu.Unlock()
	guard := s.o.Clock.NewTimer(time.Duration(timeout)*time.Second + 45*time.Second)
	defer guard.Stop()
	select {
	case res := <-w.done:
		if res.err != nil {
			return nil, res.err
		}
		lang := r.Language
		if lang == "" {
			lang = s.o.Language
		}
		return s.newCall(*res.answered, "", lang), nil
	case <-ctx.Done():
		s.cancelDial(id)
		return nil, ctx.Err()
	case <-guard.C():
		s.cancelDial(id)
		return nil, &pbx.DialError{Outcome: pbx.Failed, Cause: "no answer or hangup reported by Asterisk"}
	}
}

// cancelDial stops a ringing originate (the caller it was for has left).
func (s *Switch) cancelDial(id string) {
	s.mu.Lock()
	delete(s.dials, id)
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.cl.Channels().Hangup(ctx, id, ari.HangupNormal); err != nil && !errors.Is(err, ari.ErrNotFound) {
		s.log.WithError(err).WithField("call", id).Warn("cancel dial")
	}
}

func callerID(p pbx.Party) string {
	if p.Name == "" {
		return p.Number
	}
	return fmt.Sprintf("%q <%s>", p.Name, p.Number)
}

// outcomeOf maps ChannelDestroyed's Q.850 cause (originate-fail.jsonl).
func outcomeOf(cause int) pbx.Outcome {
	switch cause {
	case 17:
		return pbx.Busy
	case 19: // rang out (originate-fail.jsonl, noanswer row)
		return pbx.NoAnswer
	case 18, 20, 27, 34, 38, 41, 42:
		return pbx.Unreachable
	case 21:
		return pbx.Rejected
	case 1, 3, 22, 28:
		return pbx.Invalid
	}
	return pbx.Failed
}

// DeleteRecording implements pbx.RecordingDeleter: the stored recording of a
// caller's name, once its callback has ended.
func (s *Switch) DeleteRecording(ctx context.Context, name string) error {
	if err := s.cl.Recordings().DeleteStored(ctx, name); err != nil && !errors.Is(err, ari.ErrNotFound) {
		return fmt.Errorf("delete recording %s on %s: %w", name, s.o.Name, err)
	}
	return nil
}
