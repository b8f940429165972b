package ivr

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/phone"
	"github.com/vhold/vhold/queue"
)

// actor names the IVR in the journal.
const actor = "ivr"

// Handle runs an incoming call's flow: entry, the hold loop with its
// announcements and offer, and the callback request. It is a pbx.Handler.
// It returns when the caller has hung up, become a callback, or finished
// talking to an agent; errors are logged here, since a switch has nobody to
// hand them to.
func (v *IVR) Handle(ctx context.Context, c pbx.Call) {
	log := v.log.WithFields(logrus.Fields{"call": c.ID(), "queue": c.Queue()})
	opt, ok := v.cfg.Queues[c.Queue()]
	if !ok {
		v.refuse(ctx, c, log)
		return
	}
	k := &caller{ivr: v, c: c, queue: c.Queue(), opt: opt, log: log, announced: -1}
	k.lang = c.Language()
	if k.lang == "" {
		k.lang = opt.Language
	}
	var err error
	if t, pos, ok := v.line.LiveCall(c.Switch(), c.ID()); ok {
		if t.Language != "" {
			k.lang = t.Language
		}
		k.voice = voice{c: c, lang: k.lang}
		err = k.resume(ctx, t, pos)
	} else {
		k.voice = voice{c: c, lang: k.lang}
		err = k.run(ctx)
	}
	if ctx.Err() != nil && !errors.Is(err, pbx.ErrHungUp) {
		k.stopping()
		return
	}
	k.leave(ctx, err)
	switch {
	case err == nil:
		k.log.Debug("call flow done")
	case errors.Is(err, pbx.ErrHungUp):
		k.log.Info("caller hung up")
	default:
		k.log.WithError(err).Error("call flow failed")
	}
}

// resume takes back a caller whose call outlived a restart of vhold or a
// lost connection to the PBX: same ticket, same place, straight back to the
// hold loop, whose first announcement gives the position and the offer.
func (k *caller) resume(ctx context.Context, t *queue.Ticket, pos int) error {
	k.id, k.joinedAt = t.ID, t.JoinedAt
	k.log = k.log.WithField("ticket", k.id)
	if n, err := phone.Parse(k.c.Caller().Number, k.opt.Country, k.policy()); err == nil {
		k.own = n
	}
	if t.State != queue.Waiting {
		// Only a waiting caller is resumed; Recover settled the others.
		return fmt.Errorf("resume %s: ticket %d is %s", k.c.ID(), t.ID, t.State)
	}
	k.ivr.conn.Attach(k.id, k.c)
	k.log.WithField("position", pos).Info("caller taken back after a restart; place kept")
	if err := k.c.StartMOH(ctx, k.opt.MOHClass); err != nil {
		return fmt.Errorf("start music on hold on %s: %w", k.c.ID(), err)
	}
	return k.hold(ctx)
}

// stopping is the end of a flow because vhold is stopping, not because the
// caller left: the caller stays on the PBX (on hold, with the music) and
// keeps the ticket, so the next vhold takes them back at their place.
func (k *caller) stopping() {
	if k.id == 0 {
		k.log.Info("vhold stopping: caller left with the PBX before joining the line")
		return
	}
	k.ivr.conn.Detach(k.id)
	k.log.Info("vhold stopping: caller left on hold with their place kept")
}

// refuse turns away a call for a queue the IVR does not know: politely, or
// not at all when the dialplan is to carry on with it.
func (v *IVR) refuse(ctx context.Context, c pbx.Call, log *logrus.Entry) {
	vo := voice{c: c, lang: c.Language()}
	cont, canContinue := c.(pbx.Continuer)
	if v.cfg.UnknownQueue != UnknownContinue || !canContinue {
		if v.cfg.UnknownQueue == UnknownContinue {
			log.Warn("call for an unknown queue: this PBX cannot take it back, so it is refused")
		} else {
			log.Warn("call for an unknown queue: refused")
		}
		if err := sayUnavailable(ctx, c, vo); err != nil && !errors.Is(err, pbx.ErrHungUp) {
			log.WithError(err).Error("refusing the call")
		}
		return
	}
	log.Warn("call for an unknown queue: told, and returned to the dialplan")
	err := c.Answer(ctx)
	if err == nil {
		err = vo.say(ctx, PromptQueueUnavailable)
	}
	if err == nil {
		err = cont.Continue(ctx)
	}
	if err != nil && !errors.Is(err, pbx.ErrHungUp) {
		log.WithError(err).Error("returning the call to the dialplan")
	}
}

// sayUnavailable answers, says the line is not available, and hangs up.
func sayUnavailable(ctx context.Context, c pbx.Call, vo voice) error {
	if err := c.Answer(ctx); err != nil {
		return fmt.Errorf("answer %s: %w", c.ID(), err)
	}
	if err := vo.say(ctx, PromptQueueUnavailable); err != nil {
		return err
	}
	if err := c.Hangup(ctx, pbx.CauseNormal); err != nil {
		return fmt.Errorf("hang up %s: %w", c.ID(), err)
	}
	return nil
}

// caller is one incoming call's flow state.
type caller struct {
	ivr *IVR
	c   pbx.Call
	voice
	queue string
	opt   QueueOptions
	lang  string
	log   *logrus.Entry

	// own is the caller's own number when it is one we would call back;
	// its E164 is empty otherwise (withheld, invalid, not allowed).
	own phone.Number
	// id is the live ticket, zero until joined.
	id queue.TicketID
	// offer is the offer last announced; key 1 acts on it.
	offer queue.Offer
	// For the metrics: the offer kinds this caller has heard, when the
	// ticket joined, and the estimate first announced (negative until one
	// was known).
	offered   map[queue.OfferKind]bool
	joinedAt  time.Time
	announced time.Duration
}

// policy is the queue's rule for numbers it calls back.
func (k *caller) policy() phone.Policy {
	return phone.Policy{AllowedRegions: k.opt.AllowedCountries}
}

// run is the flow from the answer to the end of the hold.
func (k *caller) run(ctx context.Context) error {
	if err := k.c.Answer(ctx); err != nil {
		return fmt.Errorf("answer %s: %w", k.c.ID(), err)
	}
	if err := k.say(ctx, PromptGreeting); err != nil {
		return err
	}
	if n, err := phone.Parse(k.c.Caller().Number, k.opt.Country, k.policy()); err == nil {
		k.own = n
	}
	if k.own.E164 != "" {
		done, err := k.repeatCaller(ctx)
		if done || err != nil {
			return err
		}
	}
	j, err := k.ivr.line.Join(ctx, queue.JoinRequest{
		Queue: k.queue, Kind: queue.Live, Number: k.own.E164, Language: k.lang,
		CallRef: k.c.ID(), Node: k.c.Switch(), Actor: actor,
	})
	if err != nil {
		if uerr := sayUnavailable(ctx, k.c, k.voice); uerr != nil {
			err = errors.Join(err, uerr)
		}
		return fmt.Errorf("join %s: %w", k.queue, err)
	}
	k.id, k.joinedAt = j.Ticket.ID, j.Ticket.JoinedAt
	k.log = k.log.WithField("ticket", k.id)
	k.ivr.conn.Attach(k.id, k.c)
	k.ivr.cfg.Recorder.CallEntered(k.queue, k.c.Switch())
	k.log.WithField("position", j.Position).Info("caller joined the line")
	if err := k.c.StartMOH(ctx, k.opt.MOHClass); err != nil {
		return fmt.Errorf("start music on hold on %s: %w", k.c.ID(), err)
	}
	return k.hold(ctx)
}

// repeatCaller handles a caller who already has a callback pending in the
// queue: keep it (and hang up) or cancel it and wait on the line. done says
// the call is over. A caller who does not choose keeps the callback: it is
// what they asked for before, and holding as well would put them in line
// twice.
func (k *caller) repeatCaller(ctx context.Context) (done bool, err error) {
	t, pos, ok := k.ivr.line.ActiveCallback(k.queue, k.own.E164)
	if !ok {
		return false, nil
	}
	log := k.log.WithField("callback", t.ID)
	// They had to chase us: the promise's metrics count it, and a general
	// promise becomes a tense one (the built-in category for a caller who
	// is already upset), which the keeper may hold to a tighter margin.
	if _, err := k.ivr.line.Keep(ctx, t.ID, queue.EvChase, "called in again while the callback was pending", actor,
		func(n *queue.Ticket) {
			n.Promise.Chases++
			if n.Promise.Category == "general" {
				n.Promise.Category = "tense"
			}
		}); err != nil {
		log.WithError(err).Warn("journal the chase")
	}
	key, err := k.ask(ctx, "12", menuTimeout,
		pbx.Sound(PromptExistingCallback), pbx.Sound(PromptYouAreNumber), pbx.Number(pos+1), pbx.Sound(PromptInLine),
		pbx.Sound(PromptKeepOrCancel))
	if err != nil {
		return true, err
	}
	if key == "2" {
		if _, err := k.ivr.line.Cancel(ctx, t.ID, "caller called again and chose to wait on the line", actor); err != nil {
			// Most likely the callback is being dialed right now; the
			// caller waits on the line all the same.
			log.WithError(err).Warn("could not cancel the pending callback")
		} else {
			log.Info("caller cancelled the pending callback to wait on the line")
		}
		return false, nil
	}
	log.Info("caller keeps the pending callback")
	if err := k.say(ctx, PromptThankYou); err != nil {
		return true, err
	}
	return true, k.goodbye(ctx)
}

// hold is the hold loop: announcements every AnnounceEvery, music between
// them, key 1 at any moment while an offer stands, and the bridge to an
// agent. It blocks only in Play and Wait, so virtual time moves while the
// caller listens.
func (k *caller) hold(ctx context.Context) error {
	next := k.ivr.clk.Now()
	for {
		now := k.ivr.clk.Now()
		if !now.Before(next) {
			next = now.Add(k.opt.AnnounceEvery)
			key, done, err := k.announce(ctx)
			if done || err != nil {
				return err
			}
			if key == "1" {
				if done, err := k.pressedOne(ctx); done || err != nil {
					return err
				}
			}
			continue
		}
		ev, err := k.c.Wait(ctx, next.Sub(now))
		if err != nil {
			return fmt.Errorf("wait on %s: %w", k.c.ID(), err)
		}
		switch ev.Kind {
		case pbx.EventHangup:
			return fmt.Errorf("hold on %s (%s): %w", k.c.ID(), ev.Cause, pbx.ErrHungUp)
		case pbx.EventBridged:
			return k.bridged(ctx, ev)
		case pbx.EventKey:
			if ev.Key != "1" {
				continue
			}
			if done, err := k.pressedOne(ctx); done || err != nil {
				return err
			}
		}
	}
}

// announce says the position, the wait if it is known, and the offer if the
// policy makes one; the offer's key stops the announcement. done says the
// ticket has left the line elsewhere (cancelled by an admin, say).
func (k *caller) announce(ctx context.Context) (key string, done bool, err error) {
	line := k.ivr.line
	_, pos, err := line.Ticket(k.id)
	if errors.Is(err, queue.ErrNoTicket) {
		k.log.Info("ticket left the line elsewhere; ending the call")
		return "", true, k.goodbye(ctx)
	}
	if err != nil {
		return "", true, fmt.Errorf("announce: %w", err)
	}
	ps := []pbx.Prompt{pbx.Sound(PromptYouAreNumber), pbx.Number(pos + 1), pbx.Sound(PromptInLine)}
	if w, err := line.Estimate(k.id); err == nil && w.Known {
		if k.announced < 0 {
			k.announced = w.Mean
			k.ivr.cfg.Recorder.Estimated(k.queue, w.Mean)
		}
		if m := queue.RoundForSpeech(w.Mean, false); m > 0 {
			ps = append(ps, pbx.Sound(PromptWaitAbout), pbx.Duration(m))
		}
	}
	offer, err := line.OfferFor(k.id)
	if err != nil {
		offer = queue.Offer{Kind: queue.OfferNone, Reason: err.Error()}
	}
	if offer.Kind != k.offer.Kind {
		k.log.WithFields(logrus.Fields{"offer": offer.Kind, "why": offer.Reason}).Info("offer changed")
	}
	k.offer = offer
	if offer.Kind != queue.OfferNone && !k.offered[offer.Kind] {
		if k.offered == nil {
			k.offered = map[queue.OfferKind]bool{}
		}
		k.offered[offer.Kind] = true
		k.ivr.cfg.Recorder.Offered(k.queue, string(offer.Kind))
	}
	interrupt := ""
	switch offer.Kind {
	case queue.OfferCallback:
		ps = append(ps, pbx.Sound(PromptOfferCallback))
		interrupt = "1"
	case queue.OfferScheduled:
		ps = append(ps, pbx.Sound(PromptOfferScheduled))
		ps = append(ps, slotPrompts(offer.Slot, k.ivr.clk.Now(), k.opt.Location)...)
		interrupt = "1"
	}
	key, err = k.play(ctx, interrupt, ps...)
	return key, false, err
}

// bridged waits out the conversation with the agent. The dialer owns the
// ticket from here (it completes it); the flow only ends the caller's leg
// once the agent has left.
func (k *caller) bridged(ctx context.Context, ev pbx.Event) error {
	k.log.WithField("agent_call", ev.Peer).Info("caller bridged to an agent")
	k.waited()
	for {
		ev, err := k.c.Wait(ctx, bridgedWait)
		if errors.Is(err, pbx.ErrHungUp) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("wait on bridged %s: %w", k.c.ID(), err)
		}
		switch ev.Kind {
		case pbx.EventHangup:
			k.log.Info("caller hung up after talking to an agent")
			return nil
		case pbx.EventUnbridge:
			k.log.Info("agent left; ending the caller's leg")
			if err := k.c.Hangup(ctx, pbx.CauseNormal); err != nil && !errors.Is(err, pbx.ErrHungUp) {
				return fmt.Errorf("hang up %s: %w", k.c.ID(), err)
			}
			return nil
		}
	}
}

// waited records how long the caller waited for the agent they are now
// bridged to: the ticket's ConnectedAt − JoinedAt, or until now if the
// ticket has already left the line (the conversation was that short).
func (k *caller) waited() {
	realised := k.ivr.clk.Now().Sub(k.joinedAt)
	if t, _, err := k.ivr.line.Ticket(k.id); err == nil && !t.ConnectedAt.IsZero() {
		realised = t.ConnectedAt.Sub(t.JoinedAt)
	}
	k.ivr.cfg.Recorder.Waited(k.queue, k.announced, realised)
}

// leave settles the line when the flow ends: a live caller still waiting is
// abandoned (the line must not dispatch an agent to a call that is gone), and
// the dialer is told the call left. It uses a context that outlives the
// switch's, so a shutdown does not leave a ghost in line.
func (k *caller) leave(ctx context.Context, flowErr error) {
	if k.id == 0 {
		return
	}
	k.ivr.conn.Detach(k.id)
	ctx = context.WithoutCancel(ctx)
	t, _, err := k.ivr.line.Ticket(k.id)
	// Reserved: an agent's phone is ringing for this caller; the dialer
	// sees the ticket gone when the agent answers and hangs the agent up.
	if err != nil || t.Kind != queue.Live || (t.State != queue.Waiting && t.State != queue.Reserved) {
		return
	}
	reason := "caller hung up"
	if flowErr != nil && !errors.Is(flowErr, pbx.ErrHungUp) {
		reason = "call flow ended: " + flowErr.Error()
	}
	if _, err := k.ivr.line.Abandon(ctx, k.id, reason, actor); err != nil {
		k.log.WithError(err).Error("abandoning the ticket")
		return
	}
	k.log.Info("ticket abandoned")
}
