package aritest

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// playback is one ARI playback: a list of media URIs played in turn to a
// channel or into a bridge.
type playback struct {
	id     string
	medias []string
	idx    int
	target string // "channel:ID" or "bridge:ID"
	lang   string
	state  string // queued, playing, paused, continuing, done, failed

	ch  *channel // target channel, or
	br  *bridge  // target bridge
	cmd *command

	end       *timer
	due       time.Time     // wall-clock end of the current item
	left      time.Duration // real time left of the current item while paused
	canceled  bool          // stopped before it started
	listeners []heardRef    // the parties hearing the current item
}

// heardRef points at one entry of a party's Heard list.
type heardRef struct {
	c *Call
	i int
}

// snap is the playback's JSON: next_media_uri only while another item follows
// (hold-bridge.jsonl seq 84, errors.jsonl seq 99-105).
func (pb *playback) snap() obj {
	o := obj{{"id", pb.id}, {"media_uri", pb.medias[pb.idx]}}
	if pb.idx+1 < len(pb.medias) {
		o = append(o, kv{"next_media_uri", pb.medias[pb.idx+1]})
	}
	return append(o, kv{"target_uri", pb.target}, kv{"language", pb.lang}, kv{"state", pb.state})
}

func (pb *playback) queue() *cmdQueue {
	if pb.ch != nil {
		return &pb.ch.queue
	}
	return &pb.br.queue
}

// pbEvent sends a playback event: through the channel's subscriptions, or to
// the apps following the bridge or one of its channels.
func (s *Server) pbEvent(pb *playback, typ string) {
	e := s.ev(typ, kv{"playback", pb.snap()})
	if pb.ch != nil {
		s.chanEvent(pb.ch, e)
		return
	}
	s.bridgePlaybackEvent(pb.br, e)
}

// media outcomes when an item starts.
const (
	mediaOK          = iota
	mediaMissing     // a sound file that does not exist: the item fails
	mediaUnsupported // a scheme Asterisk cannot play or a missing recording: the item never finishes
)

// mediaKind says whether media can play and for how long (real time).
func (s *Server) mediaKind(media, lang string) (int, time.Duration) {
	scheme, name, _ := strings.Cut(media, ":")
	switch scheme {
	case "sound":
		if !s.opts.SoundExists(name, lang) {
			return mediaMissing, 0
		}
		return mediaOK, s.opts.PlaybackDuration(media)
	case "recording":
		// res_stasis_playback.c play_on_channel: a recording that does not
		// exist is skipped without a final update, like an unknown scheme.
		r := s.stored[name]
		if r == nil {
			return mediaUnsupported, 0
		}
		return mediaOK, r.length
	case "number":
		if _, err := strconv.Atoi(name); err != nil {
			return mediaUnsupported, 0
		}
		return mediaOK, s.opts.PlaybackDuration(media)
	case "digits", "characters", "tone":
		return mediaOK, s.opts.PlaybackDuration(media)
	}
	// media=bogus:thing: 201 and PlaybackStarted, never PlaybackFinished
	// (errors.jsonl seq 91-97 and the WAIT for it that never ended).
	return mediaUnsupported, 0
}

// newPlayback registers a queued playback, or returns nil when media is
// empty: Asterisk answers that with 500 (errors.jsonl seq 85-86).
func (s *Server) newPlayback(q *req, target, lang string) *playback {
	medias := q.list("media")
	if len(medias) == 0 {
		q.err(http.StatusInternalServerError, "Failed to queue media for playback")
		return nil
	}
	id := q.vars["playbackId"]
	if id == "" {
		id = q.get("playbackId")
	}
	if id == "" {
		id = newUUID() // errors.jsonl seq 76
	}
	if s.playbacks[id] != nil {
		q.err(http.StatusInternalServerError, "Failed to queue media for playback")
		return nil
	}
	pb := &playback{id: id, medias: medias, target: target, lang: lang, state: "queued"}
	s.playbacks[id] = pb
	return pb
}

// queuePlayback puts pb on its target's command queue and answers 201 with the
// playback as it stands then, "queued"; the PlaybackStarted that follows can
// overtake the 201 on the wire (errors.jsonl seq 75-76).
func (s *Server) queuePlayback(q *req, pb *playback) {
	body := pb.snap()
	pb.cmd = &command{
		name:   "play " + pb.id,
		run:    func() bool { return s.startPlayback(pb) },
		hangup: func() { s.playbackOwnerGone(pb) },
		drop:   func() { delete(s.playbacks, pb.id) },
		pb:     pb,
	}
	if pb.ch != nil {
		s.enqueue(&pb.ch.queue, pb.ch, pb.cmd)
	} else {
		s.enqueue(&pb.br.queue, nil, pb.cmd)
	}
	q.created("/playbacks/"+pb.id, body)
}

// startPlayback runs when pb reaches the head of its queue.
func (s *Server) startPlayback(pb *playback) bool {
	if pb.canceled {
		// Stopped while queued: its first update publishes it as done.
		pb.state = "done"
		s.pbEvent(pb, "PlaybackFinished")
		return false
	}
	if ch := pb.ch; ch != nil && ch.state != "Up" && !ch.progress {
		// Playing before answering sends 183 Session Progress (errors.jsonl,
		// the caller's sip_flow).
		ch.progress = true
		ch.call.sip("recv 183 Session Progress")
	}
	return s.playItem(pb)
}

// playItem starts the current item and any that end at once; it returns true
// while an item plays.
func (s *Server) playItem(pb *playback) bool {
	for {
		media := pb.medias[pb.idx]
		last := pb.idx == len(pb.medias)-1
		pb.state = "playing"
		s.pbEvent(pb, "PlaybackStarted")
		s.heardStart(pb)
		kind, d := s.mediaKind(media, pb.lang)
		if pb.br != nil && pb.br.typ == "holding" && pb.br.mohOn {
			// A holding bridge has one announcer slot and bridge MOH holds it:
			// started, then failed at once (hold-bridge.jsonl seq 21-24).
			s.heardEnd(pb, "failed")
			pb.state = "failed"
			s.pbEvent(pb, "PlaybackFinished")
			delete(s.playbacks, pb.id)
			return false
		}
		switch kind {
		case mediaUnsupported:
			s.heardEnd(pb, "failed")
			if !last {
				pb.idx++
				continue
			}
			// No final update at all, so no PlaybackFinished ever; the
			// playback is gone (errors.jsonl seq 128-129: GET gives 404) and
			// the queue moves on (seq 93-96).
			delete(s.playbacks, pb.id)
			return false
		case mediaMissing:
			s.heardEnd(pb, "failed")
			if last {
				pb.state = "failed" // errors.jsonl seq 90
				s.pbEvent(pb, "PlaybackFinished")
				delete(s.playbacks, pb.id)
				return false
			}
			pb.state = "continuing" // errors.jsonl seq 103
			s.pbEvent(pb, "PlaybackContinuing")
			pb.idx++
			continue
		}
		s.runItem(pb, d)
		return true
	}
}

// runItem lets the current item play for d (real time).
func (s *Server) runItem(pb *playback, d time.Duration) {
	pb.due = time.Now().Add(s.real(d))
	pb.end = s.after(d, func() { s.itemDone(pb) })
}

// itemDone ends the current item: the next one continues (PlaybackContinuing,
// PlaybackStarted: errors.jsonl seq 101-104) or the playback finishes done.
func (s *Server) itemDone(pb *playback) {
	s.heardEnd(pb, "done")
	if pb.idx == len(pb.medias)-1 {
		pb.state = "done"
		s.pbEvent(pb, "PlaybackFinished")
		s.finishPlayback(pb)
		return
	}
	pb.state = "continuing"
	s.pbEvent(pb, "PlaybackContinuing")
	pb.idx++
	if !s.playItem(pb) {
		s.cmdDone(pb.queue(), pb.cmd)
	}
}

func (s *Server) finishPlayback(pb *playback) {
	pb.end.cancel()
	delete(s.playbacks, pb.id)
	s.cmdDone(pb.queue(), pb.cmd)
}

// playbackOwnerGone ends a running playback whose channel hung up: "done",
// not "failed" (res_stasis_playback.c playback_final_update).
func (s *Server) playbackOwnerGone(pb *playback) {
	pb.end.cancel()
	s.heardEnd(pb, "stopped")
	pb.state = "done"
	s.pbEvent(pb, "PlaybackFinished")
	delete(s.playbacks, pb.id)
}

// heardStart records the current item on every party that hears it: the
// target channel's, or everyone in the target bridge.
func (s *Server) heardStart(pb *playback) {
	pb.listeners = pb.listeners[:0]
	var chans []*channel
	if pb.ch != nil {
		chans = []*channel{pb.ch}
	} else {
		chans = pb.br.members
	}
	for _, ch := range chans {
		if c := ch.call; c != nil {
			c.heard = append(c.heard, Heard{Media: pb.medias[pb.idx], Lang: pb.lang, Via: pb.target, Playback: pb.id})
			pb.listeners = append(pb.listeners, heardRef{c, len(c.heard) - 1})
			c.onMedia(pb.medias[pb.idx], false)
		}
	}
}

// heardEnd closes the current item's Heard entries with how it ended.
func (s *Server) heardEnd(pb *playback, end string) {
	for _, l := range pb.listeners {
		l.c.heard[l.i].End = end
		if end == "done" {
			l.c.onMedia(l.c.heard[l.i].Media, true)
		}
	}
	pb.listeners = pb.listeners[:0]
}

// stopListening ends ch's Heard entry for pb's current item: it left the
// bridge the playback plays in.
func (s *Server) stopListening(pb *playback, ch *channel) {
	for i, l := range pb.listeners {
		if l.c == ch.call {
			l.c.heard[l.i].End = "stopped"
			pb.listeners = append(pb.listeners[:i], pb.listeners[i+1:]...)
			return
		}
	}
}

// playChannel is POST /channels/{id}/play[/{playbackId}].
func (s *Server) playChannel(q *req) {
	s.lock()
	defer s.unlock()
	ch := s.findControl(q)
	if ch == nil {
		return
	}
	if ch.state == "Down" || ch.state == "Ringing" {
		// res/ari/resource_channels.c channel_state_invalid; a Ring (inbound,
		// unanswered) channel can play (errors.jsonl seq 74-77).
		q.err(http.StatusPreconditionFailed, "Channel in invalid state")
		return
	}
	lang := q.get("lang")
	if lang == "" {
		lang = ch.language
	}
	pb := s.newPlayback(q, "channel:"+ch.id, lang)
	if pb == nil {
		return
	}
	pb.ch = ch
	s.queuePlayback(q, pb)
}

func (s *Server) getPlayback(q *req) {
	s.lock()
	defer s.unlock()
	pb := s.playbacks[q.vars["id"]]
	if pb == nil {
		q.err(http.StatusNotFound, "Playback not found") // errors.jsonl seq 129-131
		return
	}
	q.json(http.StatusOK, pb.snap())
}

// stopPlayback is DELETE /playbacks/{id}: 204, then PlaybackFinished "done"
// (errors.jsonl seq 143-145); a second DELETE is 404 (seq 146-147).
func (s *Server) stopPlayback(q *req) {
	s.lock()
	defer s.unlock()
	pb := s.playbacks[q.vars["id"]]
	if pb == nil {
		q.err(http.StatusNotFound, "Playback not found")
		return
	}
	delete(s.playbacks, pb.id)
	if pb.state == "queued" {
		pb.canceled = true
		q.noContent()
		return
	}
	pb.end.cancel()
	s.heardEnd(pb, "stopped")
	pb.state = "done"
	s.pbEvent(pb, "PlaybackFinished")
	s.cmdDone(pb.queue(), pb.cmd)
	q.noContent()
}

// controlPlayback is POST /playbacks/{id}/control: pause gives no event,
// unpause another PlaybackStarted (hold-bridge.jsonl seq 88-92).
func (s *Server) controlPlayback(q *req) {
	s.lock()
	defer s.unlock()
	op := q.get("operation")
	switch op {
	case "":
		q.err(http.StatusBadRequest, "Missing operation") // errors.jsonl seq 141-142
		return
	case "pause", "unpause", "restart", "reverse", "forward":
	default:
		q.err(http.StatusBadRequest, "Invalid operation %s", op) // errors.jsonl seq 139-140
		return
	}
	pb := s.playbacks[q.vars["id"]]
	if pb == nil {
		q.err(http.StatusNotFound, "Playback not found") // errors.jsonl seq 132-133
		return
	}
	switch op {
	case "pause":
		if pb.state == "playing" {
			pb.end.cancel()
			pb.left = time.Duration(float64(time.Until(pb.due)) * s.speed)
			pb.state = "paused"
		}
	case "unpause":
		if pb.state == "paused" {
			pb.state = "playing"
			s.pbEvent(pb, "PlaybackStarted")
			s.runItem(pb, pb.left)
		}
	case "restart":
		if pb.state == "playing" {
			pb.end.cancel()
			_, d := s.mediaKind(pb.medias[pb.idx], pb.lang)
			s.runItem(pb, d)
		}
	}
	if pb.state == "queued" {
		q.err(http.StatusConflict, "Playback not in a state that allows the operation")
		return
	}
	q.noContent()
}
