package freeswitch

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/sounds"
)

// beep is the tone before a recording: FreeSWITCH's tone generator, so no
// file is needed.
const beep = "tone_stream://%(500,0,800)"

// call is one channel as a pbx.Call.
type call struct {
	s      *Switch
	id     string
	queue  string
	lang   string
	caller pbx.Party
	dialed bool // originated by vhold
	// orphan: a leg taken back after a restart with no flow to run it (one
	// side of a conversation that was going on): when it is left alone,
	// the adapter hangs it up itself.
	orphan bool

	// media serialises the verbs that play or record (Play, StartMOH,
	// StopMOH, Record): FreeSWITCH queues broadcasts per channel, and the
	// adapter matches PLAYBACK_START/STOP to them by order. Bridge does
	// not take it: it stops what plays and makes the verb return.
	media sync.Mutex

	mu      sync.Mutex
	events  []pbx.Event // queued for Wait and Collect
	wake    chan struct{}
	changed chan struct{} // media state changed: wakes the media verb waiting
	gone    bool
	cause   string
	peer    *call
	// bridging: a bridge is being made or is up; media verbs stand back
	// (a broadcast into a bridge would interrupt the conversation).
	bridging bool

	// Music: what is wanted, the path last broadcast (to tell its
	// PLAYBACK_START/STOP from the prompts'), and how many of its starts
	// and stops FreeSWITCH reported.
	moh                 string
	musicPath           string
	mohStarts, mohStops int

	play  *play
	plays int // Plays so far: the number in each prompt's tag
	rec   *rec
	last  uint64 // highest Event-Sequence handled, for the debug log
	// foreign: something vhold did not start may be playing (a call taken
	// back after a restart, left with its music): the first media verb
	// breaks it, once.
	foreign bool
}

// play is one Play in progress: n files queued with uuid_broadcast, the
// PLAYBACK_STARTs and STOPs seen for them, and the key that interrupts it.
// Each file is queued as {vhold_media=<tag>.<i>}<path>: FreeSWITCH opens a
// file with such parameters as the file itself (switch_is_file_path skips
// them) and echoes them in Playback-File-Path and as headers of both
// events (switch_ivr_play_file), so an event is matched to its Play
// exactly, and the leftovers of a Play that has ended (after a lost
// connection, or a guard) are told apart.
type play struct {
	tag           string
	interrupt     string
	n             int
	starts, stops int
	key           string
	breakSent     bool
	finished      bool // settled by reconcile after a gap
	aborted       bool // the call was bridged
	epoch         int  // the connection it was started on
}

// mediaParam is the file parameter that tags vhold's prompts.
const mediaParam = "vhold_media"

// tagged is path with the tag of file i of play tag.
func tagged(tag string, i int, path string) string {
	return "{" + mediaParam + "=" + tag + "." + strconv.Itoa(i) + "}" + path
}

// playTag reads the play tag off an event: from the path's leading
// {vhold_media=…} (what FreeSWITCH echoes), else from the merged header.
func playTag(path, header string) (tag, file string) {
	file = path
	if strings.HasPrefix(path, "{") {
		if end := strings.IndexByte(path, '}'); end > 0 {
			file = path[end+1:]
			for _, kv := range strings.Split(path[1:end], ",") {
				if k, v, ok := strings.Cut(kv, "="); ok && k == mediaParam {
					header = v
				}
			}
		}
	}
	tag, _, _ = strings.Cut(header, ".")
	return tag, file
}

func (p *play) done() bool {
	return p.finished || p.aborted || (p.breakSent && p.stops >= p.starts) || (p.n > 0 && p.stops >= p.n)
}

// rec is one recording in progress (uuid_record).
type rec struct {
	path     string
	key      string
	stopSent bool
	stopped  bool
	length   time.Duration
}

var _ pbx.Call = (*call)(nil)

func newCall(s *Switch, id, queue, lang string, caller pbx.Party) *call {
	return &call{s: s, id: id, queue: queue, lang: lang, caller: caller,
		wake: make(chan struct{}, 1), changed: make(chan struct{}, 1)}
}

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

// signal wakes the media verb waiting on the call; c.mu is held or not.
func (c *call) signal() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
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
func (c *call) end(cause string) *call {
	c.mu.Lock()
	if c.gone {
		c.mu.Unlock()
		return nil
	}
	c.gone, c.cause = true, cause
	peer := c.peer
	c.peer = nil
	c.mu.Unlock()
	c.signal()
	c.post(pbx.Event{Kind: pbx.EventHangup, Cause: cause})
	return peer
}

// reply turns a failed reply into an error: pbx.ErrHungUp when the channel
// does not exist (the call is then marked gone at once, without waiting
// for its CHANNEL_HANGUP), a *replyError otherwise.
func (c *call) reply(verb, reply string, err error) error {
	if err != nil {
		if c.isGone() {
			return c.hungUp(verb)
		}
		return fmt.Errorf("%s %s: %w", verb, c.id, err)
	}
	if !failed(reply) {
		return nil
	}
	if noChannel(reply) || c.isGone() {
		c.s.gone(c, "gone (FreeSWITCH: "+reply+")")
		return c.hungUp(verb)
	}
	return fmt.Errorf("%s %s: %w", verb, c.id, &replyError{Command: verb, Text: reply})
}

// setup prepares a caller for vhold's verbs: no key stops a prompt or the
// music by itself (playback_terminators defaults to "*", which stopped
// both in 02-hold: the adapter stops prompts on the keys each Play names),
// and the caller parks rather than being hung up when the other side of a
// bridge leaves (FreeSWITCH hangs up the survivor of a uuid_bridge:
// 03-originate-answer), so the flow decides, as on Asterisk.
func (c *call) setup(ctx context.Context) {
	for _, v := range []string{"playback_terminators none", "park_after_bridge true"} {
		r, err := c.s.apiAgain(ctx, "uuid_setvar "+c.id+" "+v)
		if err := c.reply("setvar", r, err); err != nil && !errors.Is(err, pbx.ErrHungUp) {
			c.s.log.WithError(err).WithField("call", c.id).Warn("prepare the call")
		}
	}
}

// key delivers a DTMF digit: to the prompt it interrupts, to the recording
// it ends (consumed: it is not an answer to the next question), or to the
// queue for Wait and Collect. A key never stops a prompt by itself on
// FreeSWITCH (01-inbound-dtmf: "1" during the announcement): the Play that
// waits sends uuid_break.
func (c *call) key(d string) {
	if d == "" {
		return
	}
	c.mu.Lock()
	if p := c.play; p != nil && p.key == "" && !p.done() && strings.Contains(p.interrupt, d) {
		p.key = d
		c.mu.Unlock()
		c.signal()
		return
	}
	if r := c.rec; r != nil && !r.stopped && r.key == "" {
		r.key = d
		c.mu.Unlock()
		c.signal()
		return
	}
	c.mu.Unlock()
	c.post(pbx.Event{Kind: pbx.EventKey, Key: d})
}

// playback counts a PLAYBACK_START or PLAYBACK_STOP: a prompt's by its
// tag, the music's by its path (the music is not tagged: local_stream://
// is recognised by its prefix). Any other STOP ends what was foreign. A
// STOP after the hangup (02-hold: the music's came after CHANNEL_HANGUP)
// finds the call gone and changes nothing that matters.
func (c *call) playback(start bool, path, header string) {
	tag, file := playTag(path, header)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case tag != "":
		p := c.play
		if p == nil || p.tag != tag {
			if !start && c.foreign {
				c.foreign = false
				break
			}
			return // the leftovers of a Play that has ended
		}
		if start {
			p.starts++
		} else {
			p.stops++
		}
	case c.musicPath != "" && file == c.musicPath:
		if start {
			c.mohStarts++
		} else {
			c.mohStops++
		}
	case !start && c.foreign:
		c.foreign = false
	default:
		return
	}
	c.signal()
}

// clearForeign breaks what plays on a call taken back, once, and waits
// (MediaGuard) for its PLAYBACK_STOP. c.media is held.
func (c *call) clearForeign(ctx context.Context) error {
	c.mu.Lock()
	foreign := c.foreign
	c.mu.Unlock()
	if !foreign {
		return nil
	}
	if err := c.breakMedia(ctx); err != nil {
		return err
	}
	err := c.waitMedia(ctx, func() bool { return !c.foreign })
	c.mu.Lock()
	c.foreign = false
	c.mu.Unlock()
	return err
}

func (c *call) recordStopped(path string, length time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.rec; r != nil && r.path == path {
		r.stopped, r.length = true, length
		c.signal()
	}
}

// Answer implements pbx.Call: park does not answer (01-inbound-dtmf), so
// vhold does, when its flow is ready. The reply comes before
// CHANNEL_ANSWER; broadcasts queued after it play once media is up.
func (c *call) Answer(ctx context.Context) error {
	if c.isGone() {
		return c.hungUp("answer")
	}
	r, err := c.s.apiAgain(ctx, "uuid_answer "+c.id)
	return c.reply("answer", r, err)
}

// files turns prompts into paths on the FreeSWITCH host: vhold's prompts
// by absolute path (<Sounds>/<lang>/<key>.wav), recordings under
// Recordings.
func (c *call) files(ps []pbx.Prompt) ([]string, error) {
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
			out = append(out, c.s.recordingPath(p.Key))
			continue
		}
		keys, err := sounds.Expand(lang, p)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			out = append(out, strings.TrimRight(c.s.o.Sounds, "/")+"/"+lang+"/"+k+".wav")
		}
	}
	for _, f := range out {
		if err := clean(f); err != nil || strings.ContainsAny(f, " ") {
			return nil, fmt.Errorf("prompt path %q cannot be played", f)
		}
	}
	return out, nil
}

func (s *Switch) recordingPath(name string) string {
	return strings.TrimRight(s.o.Recordings, "/") + "/" + name + ".wav"
}

// Play implements pbx.Call. The music is paused for the prompts and
// resumed after, which is what "announcements interrupt the music" means
// to a caller.
func (c *call) Play(ctx context.Context, opt pbx.PlayOptions, prompts ...pbx.Prompt) (string, error) {
	files, err := c.files(prompts)
	if err != nil {
		return "", fmt.Errorf("play to %s: %w", c.id, err)
	}
	if len(files) == 0 {
		return "", nil
	}
	c.media.Lock()
	defer c.media.Unlock()
	if c.isGone() {
		return "", c.hungUp("play")
	}
	if c.inBridge() {
		return "", nil
	}
	if err := c.clearForeign(ctx); err != nil {
		return "", err
	}
	resume, err := c.pauseMusic(ctx)
	if err != nil {
		return "", err
	}
	defer resume()
	return c.playFiles(ctx, opt.Interrupt, files)
}

func (c *call) inBridge() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bridging
}

// playFiles queues the files with uuid_broadcast and waits until they have
// played or one of interrupt's keys stopped them. uuid_broadcast answers
// "+OK Message sent" before anything plays (PLAYBACK_START comes about
// 200 ms later: 01-inbound-dtmf), so a file plays from its START to its
// STOP. An interrupting key is acted on only while a file plays: uuid_break
// sent when nothing plays would stay armed and cut the next prompt
// (mod_commands' uuid_break sets CF_BREAK, which only a playing file
// clears), so a key pressed in the gap before a START waits for it.
// c.media is held.
func (c *call) playFiles(ctx context.Context, interrupt string, files []string) (string, error) {
	c.mu.Lock()
	c.plays++
	p := &play{tag: "p" + strconv.Itoa(c.plays), interrupt: interrupt, epoch: c.s.currentEpoch()}
	c.play = p
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if c.play == p {
			c.play = nil
		}
		c.mu.Unlock()
	}()
	for i, f := range files {
		r, _, err := c.s.send(ctx, raw("api uuid_broadcast "+c.id+" "+tagged(p.tag, i, f)+" aleg"))
		if errors.Is(err, errLinkLost) {
			// It may or may not be queued: the reconcile of the next
			// connection settles the prompt.
			c.mu.Lock()
			p.n++
			c.mu.Unlock()
			break
		}
		if err := c.reply("play", r, err); err != nil {
			if p.n == 0 || errors.Is(err, pbx.ErrHungUp) {
				return "", err
			}
			break // play what was queued
		}
		c.mu.Lock()
		p.n++
		c.mu.Unlock()
	}
	guard := c.s.o.Clock.NewTimer(time.Duration(len(files)) * c.s.o.PlayGuard)
	defer guard.Stop()
	for {
		c.mu.Lock()
		gone, done, key := c.gone, p.done(), p.key
		brk := key != "" && !p.breakSent && p.starts > p.stops
		if brk {
			p.breakSent = true
		}
		playing := p.starts > p.stops && !p.breakSent
		c.mu.Unlock()
		switch {
		case gone:
			return "", c.hungUp("play")
		case done:
			return key, nil
		case brk:
			if err := c.breakMedia(ctx); err != nil {
				return "", err
			}
			continue
		}
		select {
		case <-c.changed:
		case <-ctx.Done():
			if playing {
				c.mu.Lock()
				p.breakSent = true
				c.mu.Unlock()
				_ = c.breakMedia(context.WithoutCancel(ctx))
			}
			return "", ctx.Err()
		case <-guard.C():
			// A prompt whose end is never reported (a file FreeSWITCH
			// cannot open ends at once with an error, but a lost event
			// would leave the flow waiting for ever).
			c.s.log.WithField("call", c.id).Warn("prompt did not finish in time; stopped")
			if playing {
				_ = c.breakMedia(context.WithoutCancel(ctx))
			}
			return "", nil
		}
	}
}

// breakMedia stops what plays now and drops what is queued: uuid_break
// all (02-hold: PLAYBACK_STOP "break" 20 ms later).
func (c *call) breakMedia(ctx context.Context) error {
	r, _, err := c.s.send(ctx, raw("api uuid_break "+c.id+" all"))
	if errors.Is(err, errLinkLost) {
		return nil // the reconcile settles it
	}
	return c.reply("break", r, err)
}

// musicFor is the stream a class plays.
func (s *Switch) musicFor(class string) string {
	switch {
	case class == "" || class == "default":
		return s.o.Music
	case strings.Contains(class, "://") || strings.HasPrefix(class, "/"):
		return class
	}
	return "local_stream://" + class
}

// StartMOH implements pbx.Call: the music is a uuid_broadcast of the
// stream, which plays until broken (02-hold), with playback_terminators
// none (setup) so "*" does not stop it. It returns once the music plays.
func (c *call) StartMOH(ctx context.Context, class string) error {
	c.media.Lock()
	defer c.media.Unlock()
	if c.isGone() {
		return c.hungUp("start music")
	}
	if c.inBridge() {
		return nil
	}
	path := c.s.musicFor(class)
	if err := clean(path); err != nil || strings.Contains(path, " ") {
		return fmt.Errorf("start music on %s: class %q cannot be played", c.id, class)
	}
	c.mu.Lock()
	same := c.moh == path && c.mohStarts > c.mohStops
	other := c.moh != "" && c.moh != path
	c.mu.Unlock()
	if same {
		return nil
	}
	if err := c.clearForeign(ctx); err != nil {
		return err
	}
	if other {
		if err := c.stopMusic(ctx); err != nil {
			return err
		}
	}
	return c.startMusic(ctx, path)
}

// startMusic broadcasts the music and waits (MediaGuard) for its
// PLAYBACK_START, so a prompt that follows at once finds it playing and
// can break it. c.media is held.
func (c *call) startMusic(ctx context.Context, path string) error {
	c.mu.Lock()
	c.moh, c.musicPath = path, path
	before := c.mohStarts
	c.mu.Unlock()
	r, _, err := c.s.send(ctx, raw("api uuid_broadcast "+c.id+" "+path+" aleg"))
	if errors.Is(err, errLinkLost) {
		return nil // the next announcement starts it again if need be
	}
	if err := c.reply("start music", r, err); err != nil {
		c.mu.Lock()
		c.moh = ""
		c.mu.Unlock()
		return err
	}
	return c.waitMedia(ctx, func() bool { return c.mohStarts > before })
}

// stopMusic breaks the music, if it plays, and waits (MediaGuard) for its
// PLAYBACK_STOP, so a prompt queued next is not cut by the break (02-hold
// waited for it too). c.media is held.
func (c *call) stopMusic(ctx context.Context) error {
	c.mu.Lock()
	wanted, playing := c.moh != "", c.mohStarts > c.mohStops
	c.moh = ""
	c.mu.Unlock()
	if !wanted {
		return nil
	}
	if !playing {
		// Asked for, not started yet (queued behind what is left of a
		// prompt after a reconnect, or a slow FreeSWITCH): it must start
		// before it can be broken, or the next prompt would queue behind
		// music that never ends.
		if err := c.waitMedia(ctx, func() bool { return c.mohStarts > c.mohStops }); err != nil {
			return err
		}
		c.mu.Lock()
		playing = c.mohStarts > c.mohStops
		c.mu.Unlock()
		if !playing {
			return nil
		}
	}
	c.mu.Lock()
	before := c.mohStops
	c.mu.Unlock()
	if err := c.breakMedia(ctx); err != nil {
		return err
	}
	return c.waitMedia(ctx, func() bool { return c.mohStops > before })
}

// waitMedia waits until cond (read with c.mu held) holds, the call is
// gone, or MediaGuard passes (the music is not worth failing a flow for).
func (c *call) waitMedia(ctx context.Context, cond func() bool) error {
	t := c.s.o.Clock.NewTimer(c.s.o.MediaGuard)
	defer t.Stop()
	for {
		c.mu.Lock()
		ok, gone := cond(), c.gone
		c.mu.Unlock()
		if gone {
			return c.hungUp("music")
		}
		if ok {
			return nil
		}
		select {
		case <-c.changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C():
			return nil
		}
	}
}

// pauseMusic stops the music for a prompt or a recording and returns what
// starts it again. c.media is held.
func (c *call) pauseMusic(ctx context.Context) (func(), error) {
	c.mu.Lock()
	m := c.moh
	c.mu.Unlock()
	if m == "" {
		return func() {}, nil
	}
	if err := c.stopMusic(ctx); err != nil {
		return nil, err
	}
	return func() {
		c.mu.Lock()
		skip := c.gone || c.bridging || c.moh != ""
		c.mu.Unlock()
		if !skip {
			if err := c.startMusic(context.WithoutCancel(ctx), m); err != nil && !errors.Is(err, pbx.ErrHungUp) {
				c.s.log.WithError(err).WithField("call", c.id).Warn("resume the music")
			}
		}
	}, nil
}

// StopMOH implements pbx.Call.
func (c *call) StopMOH(ctx context.Context) error {
	c.media.Lock()
	defer c.media.Unlock()
	if c.isGone() {
		return c.hungUp("stop music")
	}
	return c.stopMusic(ctx)
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

// Record implements pbx.Call with uuid_record: a recording of the channel
// (a media bug, so the caller stays parked), to <Recordings>/<name>.wav,
// for up to Max; any key ends it early (uuid_record stop). Recording is not
// in the traces; the replies and RECORD_STOP follow FreeSWITCH's source,
// as esltest does.
func (c *call) Record(ctx context.Context, opt pbx.RecordOptions) (pbx.Recording, error) {
	c.media.Lock()
	defer c.media.Unlock()
	if c.isGone() {
		return pbx.Recording{}, c.hungUp("record")
	}
	name := opt.Name
	if name == "" {
		name = "vhold-rec-" + newUUID()
	}
	path := c.s.recordingPath(name)
	if err := clean(path); err != nil || strings.Contains(path, " ") {
		return pbx.Recording{}, fmt.Errorf("record %s: name %q cannot be used", c.id, name)
	}
	if err := c.clearForeign(ctx); err != nil {
		return pbx.Recording{}, err
	}
	resume, err := c.pauseMusic(ctx)
	if err != nil {
		return pbx.Recording{}, err
	}
	defer resume()
	if opt.Beep {
		if _, err := c.playFiles(ctx, "", []string{beep}); err != nil {
			return pbx.Recording{}, err
		}
	}
	secs := int(opt.Max / time.Second)
	if secs <= 0 {
		secs = 5
	}
	r := &rec{path: path}
	c.mu.Lock()
	c.rec = r
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if c.rec == r {
			c.rec = nil
		}
		c.mu.Unlock()
	}()
	began := c.s.o.Clock.Now()
	reply, err := c.s.api(ctx, "uuid_record "+c.id+" start "+path+" "+strconv.Itoa(secs))
	if err := c.reply("record", reply, err); err != nil {
		return pbx.Recording{}, err
	}
	guard := c.s.o.Clock.NewTimer(time.Duration(secs)*time.Second + 10*time.Second)
	defer guard.Stop()
	stop := func(ctx context.Context) error {
		reply, err := c.s.api(ctx, "uuid_record "+c.id+" stop "+path)
		if errors.Is(err, errLinkLost) {
			return nil
		}
		return c.reply("stop recording", reply, err)
	}
	for {
		c.mu.Lock()
		gone, stopped, length := c.gone, r.stopped, r.length
		stopNow := r.key != "" && !r.stopSent && !r.stopped
		if stopNow {
			r.stopSent = true
		}
		c.mu.Unlock()
		switch {
		case stopped:
			if length <= 0 {
				length = c.s.o.Clock.Now().Sub(began)
			}
			return pbx.Recording{Name: name, Duration: length}, nil
		case gone:
			return pbx.Recording{}, c.hungUp("record")
		case stopNow:
			if err := stop(ctx); err != nil {
				return pbx.Recording{}, err
			}
			continue
		}
		select {
		case <-c.changed:
		case <-ctx.Done():
			_ = stop(context.WithoutCancel(ctx))
			return pbx.Recording{}, ctx.Err()
		case <-guard.C():
			c.s.log.WithField("call", c.id).Warn("recording did not report its end in time")
			return pbx.Recording{Name: name, Duration: c.s.o.Clock.Now().Sub(began)}, nil
		}
	}
}

// Bridge implements pbx.Call with uuid_bridge. What plays on either leg is
// broken first (03-originate-answer: uuid_break, then uuid_bridge at once;
// the bridge takes the channels out of park), and a Play in progress
// returns. Both legs have park_after_bridge (setup, originate), so when one
// hangs up the other parks and its flow is told (EventUnbridge) rather than
// FreeSWITCH hanging it up.
func (c *call) Bridge(ctx context.Context, other pbx.Call) error {
	o, ok := other.(*call)
	if !ok || o.s != c.s {
		return fmt.Errorf("bridge %s with %s: not a call on this FreeSWITCH", c.id, other.ID())
	}
	legs := []*call{c, o}
	for _, x := range legs {
		if x.isGone() {
			return x.hungUp("bridge")
		}
	}
	for _, x := range legs {
		x.mu.Lock()
		x.bridging = true
		playing := x.moh != "" && x.mohStarts > x.mohStops || x.foreign
		x.foreign = false
		if p := x.play; p != nil {
			playing = playing || p.starts > p.stops
			p.aborted = true
		}
		x.moh = ""
		x.mu.Unlock()
		x.signal()
		if playing {
			_ = x.breakMedia(ctx)
		}
	}
	undo := func() {
		for _, x := range legs {
			x.mu.Lock()
			x.bridging = false
			x.mu.Unlock()
		}
	}
	r, err := c.s.api(ctx, "uuid_bridge "+c.id+" "+o.id)
	if err != nil {
		undo()
		return fmt.Errorf("bridge %s with %s: %w", c.id, o.id, err)
	}
	if failed(r) {
		undo()
		if noChannel(r) {
			// "-ERR Invalid uuid": one of them is gone; say which.
			for _, x := range legs {
				if e, err := c.s.api(ctx, "uuid_exists "+x.id); err == nil && e == "false" {
					c.s.gone(x, "gone (FreeSWITCH: "+r+")")
					return x.hungUp("bridge")
				}
			}
		}
		return fmt.Errorf("bridge %s with %s: %w", c.id, o.id, &replyError{Command: "uuid_bridge", Text: r})
	}
	c.mu.Lock()
	c.peer = o
	c.mu.Unlock()
	o.mu.Lock()
	o.peer = c
	o.mu.Unlock()
	c.post(pbx.Event{Kind: pbx.EventBridged, Peer: o.id})
	o.post(pbx.Event{Kind: pbx.EventBridged, Peer: c.id})
	return nil
}

// Hangup implements pbx.Call with uuid_kill and a cause; a call that is
// gone already is not an error.
func (c *call) Hangup(ctx context.Context, cause pbx.Cause) error {
	if c.isGone() {
		return nil
	}
	r, err := c.s.apiAgain(ctx, "uuid_kill "+c.id+" "+causeOf(cause))
	c.s.gone(c, "hung up by vhold ("+string(cause)+")")
	if err != nil {
		return fmt.Errorf("hang up %s: %w", c.id, err)
	}
	if failed(r) && !noChannel(r) {
		return fmt.Errorf("hang up %s: %w", c.id, &replyError{Command: "uuid_kill", Text: r})
	}
	return nil
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
