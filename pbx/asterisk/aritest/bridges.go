package aritest

import (
	"net/http"
	"slices"
	"time"
)

// bridge is one Stasis bridge.
type bridge struct {
	id, name string
	typ      string // "holding" or "mixing"
	tech     string // holding_bridge, simple_bridge, native_rtp
	created  time.Time
	members  []*channel

	mohOn     bool
	mohClass  string
	announcer string          // uniqueid of the MOH announcer channel of a holding bridge
	queue     cmdQueue        // the announcer's playbacks
	autoSub   map[string]bool // apps following it because one of their channels hung up inside
	gone      bool
}

// snap is the bridge's JSON, members in Asterisk's order (all traces).
func (b *bridge) snap(channels []string) obj {
	return obj{
		{"id", b.id},
		{"technology", b.tech},
		{"bridge_type", b.typ},
		{"bridge_class", "stasis"},
		{"creator", "Stasis"},
		{"name", b.name},
		{"channels", strs(channels)},
		{"creationtime", stamp(b.created)},
		{"video_mode", "talker"},
	}
}

func (b *bridge) ids() []string {
	out := make([]string, 0, len(b.members))
	for _, m := range b.members {
		out = append(out, m.id)
	}
	return out
}

func (b *bridge) other(ch *channel) *channel {
	for _, m := range b.members {
		if m != ch {
			return m
		}
	}
	return nil
}

// settleTech updates the technology after a join or leave: a mixing bridge
// with exactly two members goes native_rtp, otherwise simple_bridge. Events
// describing the change still carry the old value: ChannelEnteredBridge of
// the second member says simple_bridge (originate-answer.jsonl seq 31), the
// ChannelLeftBridge that leaves one member says native_rtp (seq 65), a GET in
// between says native_rtp (seq 44).
func (b *bridge) settleTech() {
	if b.typ != "mixing" {
		return
	}
	if len(b.members) == 2 {
		b.tech = "native_rtp"
	} else {
		b.tech = "simple_bridge"
	}
}

// joinBridge puts ch into b, leaving any bridge it is in first; re-adding a
// channel to its own bridge makes it leave and re-enter (errors.jsonl seq
// 180-183, 187-189).
func (s *Server) joinBridge(ch *channel, b *bridge, inhibitCOLP bool) {
	if b.gone || ch.gone {
		return
	}
	if ch.bridge != nil {
		s.leaveBridge(ch, false)
	}
	b.members = append(b.members, ch)
	ch.bridge = b
	s.chanEvent(ch, s.chanEv(ch, "ChannelEnteredBridge", kv{"bridge", b.snap(b.ids())}))
	b.settleTech()
	ch.call.logf("entered bridge %s", b.id)
	s.mohChanged(ch)
	if b.typ == "mixing" && len(b.members) == 2 {
		peer := b.other(ch)
		for _, pair := range [][2]*channel{{ch, peer}, {peer, ch}} {
			s.varset(pair[0], "BRIDGEPEER", pair[1].name)
			s.varset(pair[0], "BRIDGEPVTCALLID", pair[1].protocolID)
		}
		if !inhibitCOLP {
			// Each side learns the other's caller id as its connected line:
			// the joiner first (originate-answer.jsonl seq 40, 48;
			// callback-flow.jsonl seq 81, 86).
			ch.connected = peer.caller
			s.chanEvent(ch, s.chanEv(ch, "ChannelConnectedLine"))
			peer.connected = ch.caller
			s.chanEvent(peer, s.chanEv(peer, "ChannelConnectedLine"))
		}
	}
}

// leaveBridge takes ch out of its bridge. hungUp marks the bridge as followed
// by ch's app: after an app channel hangs up inside a bridge, deleting the
// bridge gives BridgeDestroyed (caller-abandon.jsonl seq 51), which a bridge
// the channels merely left does not (callback-flow.jsonl seq 120-122).
func (s *Server) leaveBridge(ch *channel, hungUp bool) {
	b := ch.bridge
	if b == nil {
		return
	}
	if b.typ == "mixing" && len(b.members) == 2 {
		s.varset(ch, "BRIDGEPEER", "")
		s.varset(ch, "BRIDGEPVTCALLID", "")
	}
	if cur := b.queue.cur; cur != nil && cur.pb != nil {
		s.stopListening(cur.pb, ch)
	}
	b.members = slices.DeleteFunc(b.members, func(m *channel) bool { return m == ch })
	ch.bridge = nil
	ids := b.ids()
	if len(ids) == 0 && b.typ == "holding" && b.mohOn && b.announcer != "" {
		// The last participant leaving a holding bridge with MOH on sees the
		// MOH announcer channel still listed (caller-abandon.jsonl seq 33,
		// callback-flow.jsonl seq 26); a GET right after shows none (seq 39).
		ids = []string{b.announcer}
	}
	s.chanEvent(ch, s.chanEv(ch, "ChannelLeftBridge", kv{"bridge", b.snap(ids)}))
	b.settleTech()
	if hungUp && ch.app != "" {
		b.autoSub[ch.app] = true
	}
	ch.call.logf("left bridge %s", b.id)
	s.mohChanged(ch)
}

func (s *Server) listBridges(q *req) {
	s.lock()
	defer s.unlock()
	out := []obj{}
	for _, b := range s.bridgeList {
		out = append(out, b.snap(b.ids()))
	}
	q.json(http.StatusOK, out)
}

func (s *Server) getBridge(q *req) {
	s.lock()
	defer s.unlock()
	b := s.bridges[q.vars["id"]]
	if b == nil {
		q.err(http.StatusNotFound, "Bridge not found") // errors.jsonl seq 151-152
		return
	}
	q.json(http.StatusOK, b.snap(b.ids()))
}

// createBridge is POST /bridges and POST /bridges/{id}.
func (s *Server) createBridge(q *req) {
	s.lock()
	defer s.unlock()
	id := q.vars["id"]
	if id == "" {
		id = q.get("bridgeId")
	}
	if id != "" && s.bridges[id] != nil {
		q.err(http.StatusConflict, "Bridge with id '%s' already exists", id) // errors.jsonl seq 161-164
		return
	}
	typ := "mixing"
	for _, t := range q.list("type") {
		switch t {
		case "holding":
			typ = "holding"
		case "mixing", "dtmf_events", "proxy_media", "video_sfu", "video_single", "sdp_label":
		default:
			// errors.jsonl seq 149-150: the message blames a duplicate id,
			// "(null)" when none was given.
			shown := id
			if shown == "" {
				shown = "(null)"
			}
			q.err(http.StatusInternalServerError, "Unable to create bridge. Possible duplicate bridge id '%s'", shown)
			return
		}
	}
	if id == "" {
		id = newUUID()
	}
	b := &bridge{id: id, name: q.get("name"), typ: typ, created: s.now(), autoSub: map[string]bool{}}
	if typ == "holding" {
		b.tech = "holding_bridge"
	} else {
		b.tech = "simple_bridge"
	}
	s.bridges[id] = b
	s.bridgeList = append(s.bridgeList, b)
	for _, a := range s.appOrder {
		if a.subscribeAll {
			s.send(a, s.ev("BridgeCreated", kv{"bridge", b.snap(nil)}), 1)
		}
	}
	q.json(http.StatusOK, b.snap(nil))
}

// destroyBridge is DELETE /bridges/{id}: each channel inside leaves
// (ChannelLeftBridge) and stays in Stasis; BridgeDestroyed only for apps
// following the bridge (hold-bridge.jsonl seq 97-108).
func (s *Server) destroyBridge(q *req) {
	s.lock()
	defer s.unlock()
	b := s.bridges[q.vars["id"]]
	if b == nil {
		q.err(http.StatusNotFound, "Bridge not found") // errors.jsonl seq 204-205
		return
	}
	for len(b.members) > 0 {
		s.leaveBridge(b.members[0], false)
	}
	if c := b.queue.cur; c != nil {
		b.queue.cur = nil
		c.hangup()
		c.release()
	}
	for _, c := range b.queue.cmds {
		c.abandon()
	}
	b.queue.cmds = nil
	b.gone = true
	s.bridgeEvent(b, s.ev("BridgeDestroyed", kv{"bridge", b.snap(nil)}))
	delete(s.bridges, b.id)
	s.bridgeList = slices.DeleteFunc(s.bridgeList, func(x *bridge) bool { return x == b })
	for _, a := range s.appOrder {
		delete(a.bridgeSubs, b.id)
	}
	q.noContent()
}

// bridgeChannels resolves the channel parameter of addChannel/removeChannel
// with Asterisk's checks and messages (res/ari/resource_bridges.c
// control_list_create; errors.jsonl seq 165-172).
func (s *Server) bridgeChannels(q *req) (*bridge, []*channel) {
	b := s.bridges[q.vars["id"]]
	if b == nil {
		q.err(http.StatusNotFound, "Bridge not found")
		return nil, nil
	}
	ids := q.list("channel")
	if len(ids) == 0 {
		q.err(http.StatusBadRequest, "Missing parameter channel")
		return nil, nil
	}
	var chans []*channel
	for _, id := range ids {
		ch := s.live(id)
		if ch == nil {
			q.err(http.StatusBadRequest, "Channel not found")
			return nil, nil
		}
		if !ch.inStasis {
			q.err(http.StatusUnprocessableEntity, "Channel not in Stasis application")
			return nil, nil
		}
		chans = append(chans, ch)
	}
	return b, chans
}

// addChannel joins the channels one after the other, each through its command
// queue: a channel that is playing joins only when its playback ends
// (callback-flow.jsonl seq 67-72: 1.4 s).
func (s *Server) addChannel(q *req) {
	s.lock()
	defer s.unlock()
	b, chans := s.bridgeChannels(q)
	if b == nil {
		return
	}
	for _, ch := range chans {
		if ch.rec != nil && ch.rec.state == "recording" {
			q.err(http.StatusConflict, "Channel %s currently recording", ch.id)
			return
		}
	}
	inhibit := q.bool("inhibitConnectedLineUpdates")
	for _, ch := range chans {
		s.runSync(q, ch, "add to "+b.id, func() { s.joinBridge(ch, b, inhibit) })
	}
	q.noContent()
}

// removeChannel takes the channels out, through their command queues like
// addChannel (callback-flow.jsonl seq 23-27: 4.7 s behind the offer prompt).
func (s *Server) removeChannel(q *req) {
	s.lock()
	defer s.unlock()
	b, chans := s.bridgeChannels(q)
	if b == nil {
		return
	}
	for _, ch := range chans {
		if ch.bridge != b {
			q.err(http.StatusUnprocessableEntity, "Channel not in this bridge") // errors.jsonl seq 169-170
			return
		}
	}
	for _, ch := range chans {
		s.runSync(q, ch, "remove from "+b.id, func() {
			if ch.bridge == b {
				s.leaveBridge(ch, false)
			}
		})
	}
	q.noContent()
}

// startBridgeMOH is POST /bridges/{id}/moh: any class, 204 (errors.jsonl seq
// 193-194). In a holding bridge the music takes the announcer slot.
func (s *Server) startBridgeMOH(q *req) {
	s.lock()
	defer s.unlock()
	b := s.bridges[q.vars["id"]]
	if b == nil {
		q.err(http.StatusNotFound, "Bridge not found") // errors.jsonl seq 157-158
		return
	}
	class := q.get("mohClass")
	if class == "" {
		class = "default"
	}
	b.mohOn, b.mohClass = true, class
	if b.typ == "holding" && b.announcer == "" {
		// The announcer is a Local-like pair; Asterisk spends two uniqueids
		// and lists the second (caller-abandon.jsonl seq 33: .18 after .16).
		s.newUniqueID()
		b.announcer = s.newUniqueID()
	}
	for _, m := range b.members {
		s.mohChanged(m)
	}
	q.noContent()
}

// stopBridgeMOH is DELETE /bridges/{id}/moh; 409 when no music plays
// (errors.jsonl seq 197-198).
func (s *Server) stopBridgeMOH(q *req) {
	s.lock()
	defer s.unlock()
	b := s.bridges[q.vars["id"]]
	if b == nil {
		q.err(http.StatusNotFound, "Bridge not found")
		return
	}
	if !b.mohOn {
		q.err(http.StatusConflict, "Bridge isn't playing music")
		return
	}
	b.mohOn = false
	b.announcer = ""
	for _, m := range b.members {
		s.mohChanged(m)
	}
	q.noContent()
}

// playBridge is POST /bridges/{id}/play[/{playbackId}]: the announcer plays
// to everyone inside; events reach the app only through a channel of its in
// the bridge or a bridge subscription (errors.jsonl seq 173-176).
func (s *Server) playBridge(q *req) {
	s.lock()
	defer s.unlock()
	b := s.bridges[q.vars["id"]]
	if b == nil {
		q.err(http.StatusNotFound, "Bridge not found")
		return
	}
	lang := q.get("lang")
	if lang == "" {
		lang = "en"
	}
	pb := s.newPlayback(q, "bridge:"+b.id, lang)
	if pb == nil {
		return
	}
	pb.br = b
	s.queuePlayback(q, pb)
}
