package asterisk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/pbx/asterisk/ari"
	"github.com/vhold/vhold/sounds"
)

// call is one Stasis channel as a pbx.Call.
type call struct {
	s      *Switch
	id     string
	queue  string
	lang   string
	caller pbx.Party

	// orphan: a leg taken back after a restart with no flow to run it (one
	// side of a conversation that was going on): when its bridge peer
	// leaves, the adapter hangs it up itself.
	orphan bool

	mu     sync.Mutex
	events []pbx.Event // queued for Wait and Collect
	wake   chan struct{}
	gone   bool
	cause  string
	moh    string // class playing, "" when off
	peer   *call
	bridge string

	// The playback in progress: its id, the keys that stop it, and where a
	// stopping key or the finish is delivered.
	playing   string
	interrupt string
	playKey   chan string
	playAbort chan struct{}
	playDone  map[string]chan string
	recording chan recResult
}

type recResult struct {
	r   ari.LiveRecording
	err error
}

var _ pbx.Call = (*call)(nil)

func (c *call) ID() string        { return c.id }
func (c *call) Switch() string    { return c.s.o.Name }
func (c *call) Queue() string     { return c.queue }
func (c *call) Language() string  { return c.lang }
func (c *call) Caller() pbx.Party { return c.caller }

func (c *call) isGone() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gone
}

func (c *call) hungUp(verb string) error { return fmt.Errorf("%s %s: %w", verb, c.id, pbx.ErrHungUp) }

// check turns ARI's "channel not found" (the caller hung up while we asked)
// into pbx.ErrHungUp, the end of the flow rather than a failure.
func (c *call) check(verb string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ari.ErrNotFound) || c.isGone() {
		return c.hungUp(verb)
	}
	return fmt.Errorf("%s %s: %w", verb, c.id, err)
}

// post queues an event for the flow and wakes it.
func (c *call) post(ev pbx.Event) {
	c.mu.Lock()
	c.events = append(c.events, ev)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// end marks the call gone and returns its bridge peer, if any.
func (c *call) end(cause string) (peer *call, bridge string) {
	c.mu.Lock()
	if c.gone {
		c.mu.Unlock()
		return nil, ""
	}
	c.gone, c.cause = true, cause
	peer, bridge = c.peer, c.bridge
	c.peer, c.bridge = nil, ""
	c.mu.Unlock()
	c.abortPlay()
	c.post(pbx.Event{Kind: pbx.EventHangup, Cause: cause})
	return peer, bridge
}

// key delivers a DTMF digit: to the playback it interrupts, or to the queue.
func (c *call) key(d string) {
	c.mu.Lock()
	if c.playing != "" && strings.Contains(c.interrupt, d) && c.playKey != nil {
		ch := c.playKey
		c.playKey = nil
		c.mu.Unlock()
		ch <- d
		return
	}
	c.mu.Unlock()
	c.post(pbx.Event{Kind: pbx.EventKey, Key: d})
}

func (c *call) playFinished(id, state string) {
	c.mu.Lock()
	ch := c.playDone[id]
	delete(c.playDone, id)
	c.mu.Unlock()
	if ch != nil {
		ch <- state
	}
}

func (c *call) recordDone(r ari.LiveRecording, err error) {
	c.mu.Lock()
	ch := c.recording
	c.recording = nil
	c.mu.Unlock()
	if ch != nil {
		ch <- recResult{r: r, err: err}
	}
}

func (c *call) Answer(ctx context.Context) error {
	if c.isGone() {
		return c.hungUp("answer")
	}
	return c.check("answer", c.s.cl.Channels().Answer(ctx, c.id))
}

// media turns prompts into ARI media URIs: vhold's prompt files by absolute
// path (so the channel's language cannot pick another file), recordings by
// name.
func (c *call) media(ps []pbx.Prompt) ([]string, error) {
	var out []string
	for _, p := range ps {
		lang := p.Language
		if lang == "" {
			lang = c.lang
		}
		if lang == "" {
			lang = c.s.o.Language
		}
		if p.Kind == pbx.KindRecording {
			out = append(out, "recording:"+p.Key)
			continue
		}
		keys, err := sounds.Expand(lang, p)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			out = append(out, "sound:"+strings.TrimRight(c.s.o.Sounds, "/")+"/"+lang+"/"+k)
		}
	}
	return out, nil
}

// Play implements pbx.Call. Music on hold is paused for the prompts and
// resumed after, which is what "announcements interrupt the music" means to
// a caller.
func (c *call) Play(ctx context.Context, opt pbx.PlayOptions, prompts ...pbx.Prompt) (string, error) {
	if c.isGone() {
		return "", c.hungUp("play")
	}
	media, err := c.media(prompts)
	if err != nil {
		return "", fmt.Errorf("play to %s: %w", c.id, err)
	}
	if len(media) == 0 {
		return "", nil
	}
	c.mu.Lock()
	moh := c.moh
	c.mu.Unlock()
	if moh != "" {
		if err := c.check("stop music", c.s.cl.Channels().StopMOH(ctx, c.id)); err != nil {
			return "", err
		}
		defer func() {
			if !c.isGone() {
				_ = c.s.cl.Channels().StartMOH(context.WithoutCancel(ctx), c.id, moh)
			}
		}()
	}
	pb := ari.NewID("vhold-pb")
	done := make(chan string, 1)
	keyc := make(chan string, 1)
	abort := make(chan struct{})
	c.mu.Lock()
	c.playing, c.interrupt, c.playKey, c.playAbort = pb, opt.Interrupt, keyc, abort
	c.playDone[pb] = done
	c.mu.Unlock()
	c.s.mu.Lock()
	c.s.plays[pb] = c
	c.s.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.playing, c.interrupt, c.playKey = "", "", nil
		if c.playAbort == abort {
			c.playAbort = nil
		}
		delete(c.playDone, pb)
		c.mu.Unlock()
		c.s.mu.Lock()
		delete(c.s.plays, pb)
		c.s.mu.Unlock()
	}()
	if _, err := c.s.cl.Channels().Play(ctx, c.id, pb, media, ""); err != nil {
		return "", c.check("play", err)
	}
	guard := c.s.o.Clock.NewTimer(time.Duration(len(media)) * c.s.o.PlayGuard)
	defer guard.Stop()
	stop := func() {
		if err := c.s.cl.Playbacks().Stop(context.WithoutCancel(ctx), pb); err != nil && !errors.Is(err, ari.ErrNotFound) {
			c.s.log.WithError(err).WithField("call", c.id).Warn("stop playback")
		}
	}
	select {
	case <-done:
		return "", nil
	case k := <-keyc:
		stop()
		return k, nil
	case <-abort:
		// The call hung up, or was bridged (the bridge stopped the playback).
		if c.isGone() {
			return "", c.hungUp("play")
		}
		return "", nil
	case <-ctx.Done():
		stop()
		return "", ctx.Err()
	case <-guard.C():
		// A playback that never finishes (bad media: errors.jsonl).
		c.s.log.WithField("call", c.id).Warn("playback did not finish in time; stopped")
		stop()
		return "", nil
	}
}

// abortPlay ends a Play in progress (the call ended or was bridged).
func (c *call) abortPlay() {
	c.mu.Lock()
	a := c.playAbort
	c.playAbort = nil
	c.mu.Unlock()
	if a != nil {
		close(a)
	}
}

func (c *call) StartMOH(ctx context.Context, class string) error {
	if c.isGone() {
		return c.hungUp("start music")
	}
	if err := c.check("start music", c.s.cl.Channels().StartMOH(ctx, c.id, class)); err != nil {
		return err
	}
	if class == "" {
		class = "default"
	}
	c.mu.Lock()
	c.moh = class
	c.mu.Unlock()
	return nil
}

func (c *call) StopMOH(ctx context.Context) error {
	if c.isGone() {
		return c.hungUp("stop music")
	}
	c.mu.Lock()
	c.moh = ""
	c.mu.Unlock()
	return c.check("stop music", c.s.cl.Channels().StopMOH(ctx, c.id))
}

// Collect implements pbx.Call.
func (c *call) Collect(ctx context.Context, opt pbx.CollectOptions) (string, error) {
	return pbx.CollectKeys(ctx, c, opt, c.flushKeys)
}

// flushKeys drops the keys queued for Wait (CollectOptions.Flush).
func (c *call) flushKeys() {
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := c.events[:0]
	for _, ev := range c.events {
		if ev.Kind != pbx.EventKey {
			kept = append(kept, ev)
		}
	}
	c.events = kept
}

// Record implements pbx.Call: a channel recording kept on Asterisk, played
// back later as recording:<name>.
func (c *call) Record(ctx context.Context, opt pbx.RecordOptions) (pbx.Recording, error) {
	if c.isGone() {
		return pbx.Recording{}, c.hungUp("record")
	}
	name := opt.Name
	if name == "" {
		name = ari.NewID("vhold-rec")
	}
	res := make(chan recResult, 1)
	c.mu.Lock()
	c.recording = res
	c.mu.Unlock()
	c.s.mu.Lock()
	c.s.recs[name] = c
	c.s.mu.Unlock()
	max := int(opt.Max / time.Second)
	if max <= 0 {
		max = 5
	}
	if _, err := c.s.cl.Channels().Record(ctx, c.id, ari.RecordRequest{
		Name: name, Format: "wav", MaxDurationSeconds: max, MaxSilenceSeconds: 3,
		Beep: opt.Beep, TerminateOn: "any", IfExists: "overwrite",
	}); err != nil {
		return pbx.Recording{}, c.check("record", err)
	}
	guard := c.s.o.Clock.NewTimer(time.Duration(max)*time.Second + 10*time.Second)
	defer guard.Stop()
	select {
	case r := <-res:
		if r.err != nil {
			return pbx.Recording{}, fmt.Errorf("record %s: %w", c.id, r.err)
		}
		return pbx.Recording{Name: name, Duration: time.Duration(r.r.Duration) * time.Second}, nil
	case <-ctx.Done():
		return pbx.Recording{}, ctx.Err()
	case <-guard.C():
		return pbx.Recording{}, fmt.Errorf("record %s: no RecordingFinished", c.id)
	}
}

// Bridge implements pbx.Call with a mixing bridge. Playbacks and music are
// stopped first: a running channel playback holds addChannel for seconds
// (callback-flow.jsonl).
func (c *call) Bridge(ctx context.Context, other pbx.Call) error {
	o, ok := other.(*call)
	if !ok || o.s != c.s {
		return fmt.Errorf("bridge %s with %s: not a call on this Asterisk", c.id, other.ID())
	}
	for _, x := range []*call{c, o} {
		if x.isGone() {
			return x.hungUp("bridge")
		}
		x.mu.Lock()
		pb, moh := x.playing, x.moh
		x.moh = ""
		x.mu.Unlock()
		if pb != "" {
			_ = c.s.cl.Playbacks().Stop(ctx, pb)
			x.abortPlay()
		}
		if moh != "" {
			_ = c.s.cl.Channels().StopMOH(ctx, x.id)
		}
	}
	id := ari.NewID("vhold-br")
	if _, err := c.s.cl.Bridges().Create(ctx, "mixing", id, "vhold"); err != nil {
		return fmt.Errorf("bridge %s with %s: %w", c.id, o.id, err)
	}
	if err := c.s.cl.Bridges().AddChannel(ctx, id, "", c.id, o.id); err != nil {
		_ = c.s.cl.Bridges().Destroy(context.WithoutCancel(ctx), id)
		if errors.Is(err, ari.ErrNotFound) {
			return c.hungUp("bridge")
		}
		return fmt.Errorf("bridge %s with %s: %w", c.id, o.id, err)
	}
	c.mu.Lock()
	c.peer, c.bridge = o, id
	c.mu.Unlock()
	o.mu.Lock()
	o.peer, o.bridge = c, id
	o.mu.Unlock()
	c.post(pbx.Event{Kind: pbx.EventBridged, Peer: o.id})
	o.post(pbx.Event{Kind: pbx.EventBridged, Peer: c.id})
	return nil
}

// Hangup implements pbx.Call; a call that is gone already is not an error.
func (c *call) Hangup(ctx context.Context, cause pbx.Cause) error {
	if c.isGone() {
		return nil
	}
	err := c.s.cl.Channels().Hangup(ctx, c.id, reasonOf(cause))
	c.s.gone(c, "hung up by vhold ("+string(cause)+")")
	if err != nil && !errors.Is(err, ari.ErrNotFound) {
		return fmt.Errorf("hang up %s: %w", c.id, err)
	}
	return nil
}

// Continue implements pbx.Continuer: the channel leaves Stasis and carries
// on in the dialplan after the Stasis() line, where the admin's fallback is.
func (c *call) Continue(ctx context.Context) error {
	if c.isGone() {
		return c.hungUp("continue")
	}
	if err := c.check("continue", c.s.cl.Channels().Continue(ctx, c.id, "", "", 0)); err != nil {
		return err
	}
	c.s.gone(c, "returned to the dialplan")
	return nil
}

func reasonOf(c pbx.Cause) ari.HangupReason {
	switch c {
	case pbx.CauseBusy:
		return ari.HangupBusy
	case pbx.CauseNoAnswer:
		return ari.HangupNoAnswer
	case pbx.CauseRejected:
		return ari.HangupRejected
	case pbx.CauseCongestion:
		return ari.HangupCongestion
	}
	return ari.HangupNormal
}

// Wait implements pbx.Call.
func (c *call) Wait(ctx context.Context, d time.Duration) (pbx.Event, error) {
	t := c.s.o.Clock.NewTimer(d)
	defer t.Stop()
	for {
		c.mu.Lock()
		if len(c.events) > 0 {
			ev := c.events[0]
			c.events = c.events[1:]
			c.mu.Unlock()
			return ev, nil
		}
		gone := c.gone
		c.mu.Unlock()
		if gone {
			return pbx.Event{}, c.hungUp("wait")
		}
		select {
		case <-c.wake:
		case <-t.C():
			return pbx.Event{Kind: pbx.EventTimeout}, nil
		case <-ctx.Done():
			return pbx.Event{}, ctx.Err()
		}
	}
}
