package esltest

import (
	"fmt"
	"time"
)

// bridge is two channels joined by uuid_bridge: a the originator (the
// first uuid), b the originatee.
type bridge struct {
	a, b *channel
}

// other is the channel bridged with ch.
func (br *bridge) other(ch *channel) *channel {
	if br.a == ch {
		return br.b
	}
	return br.a
}

// uuidBridge joins a and b after "+OK <b>" (03-originate-answer.timeline.tsv
// seq 550-570). 20 ms after the reply b leaves park (CHANNEL_UNPARK, its
// park's completion, CHANNEL_STATE CS_HIBERNATE and CS_RESET); a's prompt
// stops ("done", "PLAYBACK ERROR") and a leaves park; 5 ms later both reach
// CS_SOFT_EXECUTE through CS_HIBERNATE and CS_RESET; 16 ms later each gets
// CHANNEL_EXECUTE uuid_bridge (no Application-UUID), b goes CS_CONSUME_MEDIA,
// a single CHANNEL_BRIDGE comes on a with Bridge-A-Unique-ID and
// Bridge-B-Unique-ID (numbered before b's CHANNEL_STATE but sent after it),
// b goes CS_EXCHANGE_MEDIA, and each gets a CALL_UPDATE naming the other.
func (s *Server) uuidBridge(a, b *channel) {
	s.after(stepGap, func() {
		a.leaving, b.leaving = false, false
		if !a.up() || !b.up() {
			return
		}
		now := s.now()
		br := &bridge{a: a, b: b}
		a.bridge, b.bridge = br, br
		if a.jobTimer != nil {
			a.jobTimer.cancel()
			a.jobTimer = nil
		}
		if b.jobTimer != nil {
			b.jobTimer.cancel()
			b.jobTimer = nil
		}

		// The other leg's profile as each saw it when the bridge began
		// (03-originate-answer.esl.txt: a's Other-Leg-* is b's flipped
		// profile; b's Other-Leg-* is a's, its times zero).
		bView := *b.prof
		aView := *a.prof
		aView.index = 0
		aView.created, aView.chanCreated, aView.answered, aView.progress, aView.hungUp = 0, 0, 0, 0, 0
		bView.created = now.UnixMicro()
		// The originator's copy of the flipped leg says Logical-Direction
		// inbound (03-originate-answer.esl.txt seq 555).
		bView.logicalDirection = "inbound"
		a.otherType, a.otherProf = "originatee", &bView
		b.otherType, b.otherProf = "originator", &aView

		// Both get a second caller profile, with the transfer that the
		// bridge is (Caller-Profile-Index 2, Caller-Transfer-Source), and
		// b shows a's caller id while a shows b's as the callee.
		xfer := func(other *channel) string {
			return fmt.Sprintf("%d:%s:uuid_br:%s", now.Unix(), newUUID(), other.uuid)
		}
		aSrc, bSrc := xfer(b), xfer(a)
		origName, origNum := b.prof.calleeName, b.prof.calleeNumber
		b.vars.set("bridge_channel", a.name)
		b.vars.set("bridge_uuid", a.uuid)
		b.vars.set("signal_bond", a.uuid)
		b.vars.set("original_destination_number", b.prof.dest)
		b.vars.set("original_caller_id_name", b.prof.cidName)
		b.vars.set("original_caller_id_number", b.prof.cidNumber)
		b.vars.set("transfer_history", bSrc)
		b.vars.set("transfer_source", bSrc)
		b.prof.cidName, b.prof.cidNumber = a.prof.cidName, a.prof.cidNumber
		b.prof.xferSource, b.prof.index, b.prof.created = bSrc, 2, now.UnixMicro()
		a.prof.calleeName, a.prof.calleeNumber = origName, origNum
		a.prof.xferSource, a.prof.index, a.prof.created = aSrc, 2, now.UnixMicro()
		a.vars.set("bridge_channel", b.name)
		a.vars.set("bridge_uuid", b.uuid)
		a.vars.set("signal_bond", b.uuid)
		// uuid_bridge names the peer until the bridge runs; the transfer
		// keeps a's original destination and caller id
		// (03-originate-answer.esl.txt seq 555).
		a.vars.set("uuid_bridge", b.uuid)
		a.vars.set("original_destination_number", a.prof.dest)
		a.vars.set("original_caller_id_name", a.prof.cidName)
		a.vars.set("original_caller_id_number", a.prof.cidNumber)
		a.vars.set("transfer_history", aSrc)
		a.vars.set("transfer_source", aSrc)

		if b.kind != kindInbound {
			b.hitDialplan = false
		}
		a.request("CS_HIBERNATE")
		b.request("CS_HIBERNATE")
		s.leavePark(b)
		b.setRunning("CS_HIBERNATE")
		b.setRunning("CS_RESET")
		if ex := a.current; ex != nil && ex.pb != nil {
			a.stopPlayback(ex.pb, stopTransfer)
		}
		s.leavePark(a)
		s.after(5*time.Millisecond, func() {
			if !a.up() || !b.up() {
				return
			}
			a.setRunning("CS_HIBERNATE")
			a.setRunning("CS_RESET")
			a.setRunning("CS_SOFT_EXECUTE")
			b.setRunning("CS_SOFT_EXECUTE")
			s.after(16*time.Millisecond, func() { s.bridged(br) })
		})
	})
}

// leavePark ends the park (or socket application) a channel sits in
// because something takes it elsewhere: CHANNEL_UNPARK, then the park's
// CHANNEL_EXECUTE_COMPLETE (03-originate-answer.esl.txt seq 551-552,
// 558-559).
func (s *Server) leavePark(ch *channel) {
	h := ch.host
	if h == nil {
		return
	}
	ch.fire("CHANNEL_UNPARK", siteUnpark, true, nil)
	if h.pseudo {
		ch.host = nil
		if ch.current == h {
			ch.current = nil
		}
		return
	}
	h.complete("")
}

// bridged is the media bridge starting (uuid_bridge_on_soft_execute).
func (s *Server) bridged(br *bridge) {
	a, b := br.a, br.b
	if !a.up() || !b.up() {
		return
	}
	now := s.now()
	a.vars.del("uuid_bridge")
	a.fire("CHANNEL_EXECUTE", siteUUIDBridgeA, true, nil, header{"Application", "uuid_bridge"}, header{"Application-Data", b.uuid})
	b.fire("CHANNEL_EXECUTE", siteUUIDBridgeB, true, nil, header{"Application", "uuid_bridge"}, header{"Application-Data", a.uuid})
	// Caller-Channel-Bridged-Time is set once the bridge starts, after the
	// uuid_bridge executes (03-originate-answer.esl.txt seq 564-567).
	a.prof.bridged, b.prof.bridged = now.UnixMicro(), now.UnixMicro()
	a.bridgedAt, b.bridgedAt = now, now
	ev := a.event("CHANNEL_BRIDGE", siteBridge, true, []header{{"Bridge-A-Unique-ID", a.uuid}, {"Bridge-B-Unique-ID", b.uuid}})
	// The peer's call_uuid becomes the originator's before its state
	// changes (03-originate-answer.esl.txt seq 567: Channel-Call-UUID).
	b.callUUID = a.uuid
	b.vars.set("call_uuid", a.uuid)
	b.setRunning("CS_CONSUME_MEDIA")
	s.fire(ev)
	b.setRunning("CS_EXCHANGE_MEDIA")
	a.vars.set("bridge_to", b.uuid)
	a.vars.set("last_bridge_to", b.uuid)
	a.vars.set("last_sent_callee_id_name", b.prof.origCIDName)
	a.vars.set("last_sent_callee_id_number", b.prof.origCIDNumber)
	a.fire("CALL_UPDATE", siteSofiaUpdate, true, []header{
		{"Direction", "SEND"}, {"Sent-Callee-ID-Name", b.prof.origCIDName},
		{"Sent-Callee-ID-Number", b.prof.origCIDNumber}, {"Bridged-To", b.uuid}})
	b.vars.set("bridge_to", a.uuid)
	b.vars.set("last_bridge_to", a.uuid)
	b.vars.set("last_sent_callee_id_name", a.prof.cidName)
	b.vars.set("last_sent_callee_id_number", a.prof.cidNumber)
	b.fire("CALL_UPDATE", siteSofiaUpdate, true, []header{
		{"Direction", "SEND"}, {"Sent-Callee-ID-Name", a.prof.cidName},
		{"Sent-Callee-ID-Number", a.prof.cidNumber}, {"Bridged-To", a.uuid}})
	if c := a.call; c != nil {
		c.logf("bridged with %s", b.uuid)
	}
	if c := b.call; c != nil {
		c.logf("bridged with %s", a.uuid)
	}
}

// unbridgeOnHangup ends a bridge because ch hangs up.
//
// The traced case is b (the agent) hanging up: after b's
// CHANNEL_HANGUP_COMPLETE, a gets CHANNEL_UNBRIDGE, goes back to
// CS_EXECUTE and, having nothing left to execute, FreeSWITCH hangs it up
// too, NORMAL_CLEARING (03-originate-answer.timeline.tsv seq 571-586: "A
// parked caller bridged with uuid_bridge does not go back to park on its
// own"). park_after_bridge=true on the survivor parks it instead
// (switch_ivr_bridge.c: switch_ivr_park_session; not traced, the traces
// README lists park_after_bridge as not covered): CHANNEL_UNBRIDGE,
// CHANNEL_STATE CS_PARK and CHANNEL_PARK, and it stays up.
// hangup_after_bridge=false does not keep a uuid_bridge'd caller: its
// dialplan has ended, so CS_EXECUTE hangs it up all the same.
//
// a hanging up first (not traced) ends b the same way from the other side.
func (s *Server) unbridgeOnHangup(ch *channel, br *bridge) {
	if ch.bridge != br {
		return
	}
	other := br.other(ch)
	a := br.a
	end := func() {
		if br.a.bridge == br {
			br.a.bridge = nil
		}
		if br.b.bridge == br {
			br.b.bridge = nil
		}
	}
	if ch == br.b {
		// b's bridge variable goes with its hangup
		// (03-originate-answer.esl.txt seq 575: no bridge_to).
		ch.vars.del("bridge_to")
		// b's destroy waits for a's teardown; 20 ms after b's
		// CHANNEL_HANGUP_COMPLETE comes a's CHANNEL_UNBRIDGE, and the two
		// ends interleave as traced: b's CHANNEL_DESTROY is numbered after
		// a's CHANNEL_CALLSTATE HANGUP and sent after a's CS_REPORTING; a's
		// CHANNEL_HANGUP_COMPLETE, CHANNEL_DESTROY and CS_DESTROY follow,
		// and b's CS_DESTROY comes last (seq 576-586).
		ch.holds++
		ch.onReported = func() {
			s.after(stepGap, func() {
				s.unbridgeEvent(a, br.b)
				end()
				// The bridge gives b its own call_uuid back
				// (03-originate-answer.esl.txt seq 581).
				ch.callUUID = ch.uuid
				ch.vars.set("call_uuid", ch.uuid)
				if !a.up() {
					ch.release()
					return
				}
				if v, _ := a.vars.get("park_after_bridge"); truthy(v) {
					s.afterBridge(a, ch, nil)
					ch.release()
					return
				}
				var bDestroy *event
				a.onHungUp = func() {
					ch.onRelease = nil
					ch.request("CS_DESTROY")
					bDestroy = ch.event("CHANNEL_DESTROY", siteDestroy, true, nil)
				}
				a.onReporting = func() {
					if bDestroy != nil {
						s.fire(bDestroy)
					}
				}
				a.onDestroyed = func() {
					if !ch.gone {
						s.destroyed(ch)
					}
				}
				s.afterBridge(a, ch, nil)
			})
		}
		return
	}
	// a ends the bridge: its own CHANNEL_UNBRIDGE now, then b.
	s.unbridgeEvent(a, br.b)
	end()
	if other.up() {
		s.after(stepGap, func() {
			if other.up() {
				s.afterBridge(other, ch, nil)
			}
		})
	}
}

// unbridgeEvent is CHANNEL_UNBRIDGE on a, with what b's hangup left in a's
// variables (03-originate-answer.esl.txt seq 576).
func (s *Server) unbridgeEvent(a, b *channel) {
	if b.cause != "" {
		if b.remote {
			// The peer's BYE reason phrase comes along
			// (03-originate-answer.esl.txt seq 576).
			a.vars.set("sip_hangup_phrase", "OK")
		}
		a.vars.set("last_bridge_hangup_cause", b.cause)
		a.vars.set("last_bridge_proto_specific_hangup_cause", "sip:200")
		a.vars.set("bridge_hangup_cause", b.cause)
	}
	a.vars.del("bridge_to")
	a.fire("CHANNEL_UNBRIDGE", siteUnbridge, true, []header{{"Bridge-A-Unique-ID", a.uuid}, {"Bridge-B-Unique-ID", b.uuid}})
}

// afterBridge decides the survivor's fate: park with park_after_bridge,
// otherwise hang up. reported runs once the survivor has reported its
// hangup (or parked).
func (s *Server) afterBridge(ch, gone *channel, reported func()) {
	if v, _ := ch.vars.get("park_after_bridge"); truthy(v) {
		ch.park = true
		ch.callUUID = ch.uuid
		ch.vars.set("call_uuid", ch.uuid)
		ch.setRunning("CS_PARK")
		h := &exec{ch: ch, app: "park", host: true, pseudo: true}
		ch.host, ch.current = h, h
		ch.fire("CHANNEL_PARK", sitePark, true, nil)
		if c := ch.call; c != nil {
			c.logf("parked after the bridge (park_after_bridge)")
		}
		if reported != nil {
			reported()
		}
		ch.nextJob()
		return
	}
	if ch == gone {
		return
	}
	if ch.direction == "inbound" || ch.kind == kindInbound {
		ch.setRunning("CS_EXECUTE")
	}
	ch.callUUID = ch.uuid
	ch.vars.set("call_uuid", ch.uuid)
	if reported != nil {
		ch.onReported = reported
	}
	s.hangup(ch, "NORMAL_CLEARING", hangupLocal)
}

// truthy is switch_true: "true", "yes", "on", "enabled", "active", "allow"
// or a non-zero number.
func truthy(v string) bool {
	switch v {
	case "true", "yes", "on", "enabled", "active", "allow", "1":
		return true
	}
	return false
}
