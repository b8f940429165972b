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
	wg    sync.WaitGroup       // incoming call handlers
}

type dialWait struct {
	done chan dialResult // buffered, 1
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

// Serve implements pbx.Switch: it keeps the event WebSocket open
// (reconnecting with backoff), hands every new Stasis channel to h, and
// returns when ctx ends and every handler has returned, or when another
// consumer took over the app (then vhold must not fight it for the calls).
func (s *Switch) Serve(ctx context.Context, h pbx.Handler) error {
	defer s.wg.Wait()
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
		if e.Reconnect {
			s.reconcile(ctx)
		}
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
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		h(ctx, c)
		// A handler that returns leaves no caller behind.
		if !c.isGone() {
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

// reconcile runs after the WebSocket came back: events of the gap are lost,
// so calls whose channels are no longer in the app are ended now.
func (s *Switch) reconcile(ctx context.Context) {
	app, err := s.cl.Applications().Get(ctx, s.app())
	if err != nil {
		s.log.WithError(err).Warn("reconcile after reconnect")
		return
	}
	alive := map[string]bool{}
	for _, id := range app.ChannelIDs {
		alive[id] = true
	}
	s.mu.Lock()
	var lost []*call
	for id, c := range s.calls {
		if !alive[id] {
			lost = append(lost, c)
		}
	}
	s.mu.Unlock()
	for _, c := range lost {
		s.log.WithField("call", c.id).Info("channel gone while vhold was disconnected")
		s.gone(c, "gone while vhold was disconnected from Asterisk")
	}
	s.log.WithFields(logrus.Fields{"kept": len(alive), "lost": len(lost)}).Info("reconciled after reconnect")
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
	w := &dialWait{done: make(chan dialResult, 1)}
	s.mu.Lock()
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
		AppArgs:   []string{"vhold-dialed"},
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
