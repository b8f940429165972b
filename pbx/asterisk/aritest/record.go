package aritest

import (
	"net/http"
	"slices"
	"time"
)

// The recording verbs are not in the traces. They follow
// res/res_stasis_recording.c and res/ari/resource_channels.c of Asterisk:
// 201 with the LiveRecording "queued", then RecordingStarted when the
// channel's command queue reaches it, RecordingFinished (or RecordingFailed
// with a cause) at the end, and a stored recording that plays as
// "recording:NAME".

// recording is a live channel recording.
type recording struct {
	name, format, target string
	state                string // queued, recording, done, failed, canceled
	cause                string
	ch                   *channel
	cmd                  *command
	maxDur, maxSil       time.Duration
	terminateOn          string
	started              time.Time // virtual
	end                  *timer
	total, talking       int // seconds; -1 while unknown
}

// storedRecording is a finished recording.
type storedRecording struct {
	format string
	length time.Duration // how long it plays
}

// snap is the LiveRecording JSON (stasis_app_recording_to_json): duration
// once known, talking and silence durations when silence detection was on,
// cause on failure.
func (r *recording) snap() obj {
	o := obj{{"name", r.name}, {"format", r.format}, {"state", r.state}, {"target_uri", r.target}}
	if r.total >= 0 {
		o = append(o, kv{"duration", r.total})
	}
	if r.talking >= 0 {
		o = append(o, kv{"talking_duration", r.talking}, kv{"silence_duration", r.total - r.talking})
	}
	if r.cause != "" {
		o = append(o, kv{"cause", r.cause})
	}
	return o
}

// terminates says whether digit ends the recording (terminateOn).
func (r *recording) terminates(digit string) bool {
	switch r.terminateOn {
	case "any":
		return true
	case "#", "*":
		return digit == r.terminateOn
	}
	return false
}

// recEvent sends RecordingStarted/Finished/Failed through the channel.
func (s *Server) recEvent(r *recording, typ string) {
	s.chanEvent(r.ch, s.ev(typ, kv{"recording", r.snap()}))
}

// knownFormat lists the file formats a stock Asterisk can record.
func knownFormat(f string) bool {
	switch f {
	case "wav", "WAV", "wav49", "gsm", "ulaw", "alaw", "sln", "slin", "g722", "g729", "g719", "siren7", "siren14", "ogg", "au", "pcm", "vox":
		return true
	}
	return false
}

// recordChannel is POST /channels/{id}/record, with Asterisk's checks in
// Asterisk's order.
func (s *Server) recordChannel(q *req) {
	s.lock()
	defer s.unlock()
	maxDur, maxSil := q.int("maxDurationSeconds", 0), q.int("maxSilenceSeconds", 0)
	if maxDur < 0 {
		q.err(http.StatusBadRequest, "max_duration_seconds cannot be negative")
		return
	}
	if maxSil < 0 {
		q.err(http.StatusBadRequest, "max_silence_seconds cannot be negative")
		return
	}
	ch := s.findControl(q)
	if ch == nil {
		return
	}
	term := q.get("terminateOn")
	switch term {
	case "", "none", "any", "#", "*":
	default:
		q.err(http.StatusBadRequest, "terminateOn invalid")
		return
	}
	ifExists := q.get("ifExists")
	switch ifExists {
	case "", "fail", "overwrite", "append":
	default:
		q.err(http.StatusBadRequest, "ifExists invalid")
		return
	}
	name, format := q.get("name"), q.get("format")
	if !knownFormat(format) {
		q.err(http.StatusUnprocessableEntity, "specified format is unknown on this system")
		return
	}
	if name == "" {
		q.err(http.StatusInternalServerError, "Error parsing request")
		return
	}
	if s.liveRecs[name] != nil || (s.stored[name] != nil && (ifExists == "" || ifExists == "fail")) {
		q.err(http.StatusConflict, "Recording '%s' already exists and can not be overwritten", name)
		return
	}
	r := &recording{
		name: name, format: format, target: "channel:" + ch.id, state: "queued", ch: ch,
		maxDur: time.Duration(maxDur) * time.Second, maxSil: time.Duration(maxSil) * time.Second,
		terminateOn: term, total: -1, talking: -1,
	}
	s.liveRecs[name] = r
	body := r.snap()
	r.cmd = &command{
		name:   "record " + name,
		run:    func() bool { return s.startRecording(r) },
		hangup: func() { s.endRecording(r, "done") },
		drop:   func() { delete(s.liveRecs, r.name) },
	}
	s.enqueue(&ch.queue, ch, r.cmd)
	q.created("/recordings/live/"+name, body)
}

// startRecording runs when the recording reaches the head of the queue.
func (s *Server) startRecording(r *recording) bool {
	ch := r.ch
	if r.state == "canceled" {
		delete(s.liveRecs, r.name)
		return false
	}
	if ch.bridge != nil {
		r.state, r.cause = "failed", "Cannot record channel while in bridge"
		s.recEvent(r, "RecordingFailed")
		delete(s.liveRecs, r.name)
		return false
	}
	s.answer(ch) // ast_auto_answer
	r.state = "recording"
	r.started = s.now()
	ch.rec = r
	s.recEvent(r, "RecordingStarted")
	ch.call.logf("recording %s", r.name)
	var end time.Duration
	if r.maxSil > 0 {
		end = ch.call.speech + r.maxSil
	}
	if r.maxDur > 0 && (end == 0 || r.maxDur < end) {
		end = r.maxDur
	}
	if end > 0 {
		r.end = s.after(end, func() { s.endRecording(r, "done") })
	}
	return true
}

// endRecording ends a running recording: done (kept) or canceled (deleted).
func (s *Server) endRecording(r *recording, state string) {
	if r.state != "recording" {
		return
	}
	r.end.cancel()
	elapsed := s.now().Sub(r.started)
	r.total = int(elapsed / time.Second)
	length := elapsed
	if r.maxSil > 0 {
		talk := min(r.ch.call.speech, elapsed)
		r.talking = int(talk / time.Second)
		length = talk // Asterisk trims the trailing silence
	}
	r.state = state
	s.recEvent(r, "RecordingFinished")
	delete(s.liveRecs, r.name)
	r.ch.rec = nil
	if state == "done" {
		if s.stored[r.name] == nil {
			s.storedList = append(s.storedList, r.name)
		}
		s.stored[r.name] = &storedRecording{format: r.format, length: length}
	}
	s.cmdDone(&r.ch.queue, r.cmd)
}

// AddRecording stores a recording as if made earlier, so playbacks of
// "recording:name" play it for length (real time).
func (s *Server) AddRecording(name, format string, length time.Duration) {
	s.lock()
	defer s.unlock()
	if s.stored[name] == nil {
		s.storedList = append(s.storedList, name)
	}
	s.stored[name] = &storedRecording{format: format, length: length}
}

// Recordings lists the stored recordings' names.
func (s *Server) Recordings() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.storedList)
}

func (s *Server) listStored(q *req) {
	s.lock()
	defer s.unlock()
	out := []obj{}
	for _, n := range s.storedList {
		out = append(out, obj{{"name", n}, {"format", s.stored[n].format}})
	}
	q.json(http.StatusOK, out)
}

func (s *Server) getStored(q *req) {
	s.lock()
	defer s.unlock()
	r := s.stored[q.vars["name"]]
	if r == nil {
		q.err(http.StatusNotFound, "Recording not found")
		return
	}
	q.json(http.StatusOK, obj{{"name", q.vars["name"]}, {"format", r.format}})
}

func (s *Server) deleteStored(q *req) {
	s.lock()
	defer s.unlock()
	name := q.vars["name"]
	if s.stored[name] == nil {
		q.err(http.StatusNotFound, "Recording not found")
		return
	}
	delete(s.stored, name)
	s.storedList = slices.DeleteFunc(s.storedList, func(n string) bool { return n == name })
	q.noContent()
}

func (s *Server) getLive(q *req) {
	s.lock()
	defer s.unlock()
	r := s.liveRecs[q.vars["name"]]
	if r == nil {
		q.err(http.StatusNotFound, "Recording not found")
		return
	}
	q.json(http.StatusOK, r.snap())
}

// stopLive is POST /recordings/live/{name}/stop: the recording is kept.
func (s *Server) stopLive(q *req) { s.finishLive(q, "done") }

// cancelLive is DELETE /recordings/live/{name}: the recording is discarded.
func (s *Server) cancelLive(q *req) { s.finishLive(q, "canceled") }

func (s *Server) finishLive(q *req, state string) {
	s.lock()
	defer s.unlock()
	r := s.liveRecs[q.vars["name"]]
	if r == nil {
		q.err(http.StatusNotFound, "Recording not found")
		return
	}
	if r.state == "queued" {
		r.state = "canceled" // stasis_app_recording operations: disregard
		q.noContent()
		return
	}
	s.endRecording(r, state)
	q.noContent()
}
