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

// pressedOne takes the caller from key 1 to a promised callback: the number,
// the optional reason and name, the durable conversion, and the promise
// said aloud. done says the call is over; false sends the caller back to
// holding at the same place (no offer stands, the ticket is already being
// handed to an agent, the number could not be taken).
func (k *caller) pressedOne(ctx context.Context) (done bool, err error) {
	offer := k.offer
	if offer.Kind == queue.OfferNone {
		k.log.Debug("key 1 without an offer: ignored")
		return false, nil
	}
	t, _, err := k.ivr.line.Ticket(k.id)
	if err != nil || t.State != queue.Waiting {
		// Reserved for an agent: the bridge is coming, a callback now would
		// only race it.
		k.log.Info("key 1 while the ticket is being handed to an agent: ignored")
		return false, nil
	}
	k.log.WithField("offer", offer.Kind).Info("caller accepted the callback offer")

	number, ok, err := k.takeNumber(ctx)
	if errors.Is(err, errHandedOver) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	if !ok {
		k.log.Info("no callback number taken; caller keeps holding")
		return false, k.backToHold(ctx, PromptNumberFailed)
	}
	reason, err := k.qualify(ctx)
	if errors.Is(err, errHandedOver) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	name, err := k.recordName(ctx)
	if errors.Is(err, errHandedOver) {
		return false, nil
	}
	if err != nil {
		return true, err
	}

	req := queue.ConvertRequest{Number: number, Actor: actor}
	if offer.Kind == queue.OfferScheduled {
		req.SlotStart = offer.Slot
	}
	if reason != nil {
		req.Category, req.Reason = reason.Category, reason.Prompt
	}
	if name != nil {
		req.Name = name.Name
	}
	j, err := k.ivr.line.ConvertWith(ctx, k.id, req)
	switch {
	case errors.Is(err, queue.ErrIllegalTransition):
		// An agent took the ticket after the last answer; the bridge event
		// is waiting for the hold loop.
		k.log.Info("ticket handed to an agent during the callback request; caller stays on the line")
		return false, nil
	case errors.Is(err, queue.ErrNoTicket):
		k.log.Info("ticket left the line during the callback request")
		return true, k.goodbye(ctx)
	case err != nil:
		k.log.WithError(err).Error("converting to a callback")
		return false, k.backToHold(ctx, PromptCallbackFailed)
	}
	k.ivr.conn.Detach(k.id)
	cb := j.Ticket
	log := k.log.WithFields(logrus.Fields{"callback": cb.ID, "deadline": cb.Promise.Deadline})
	if j.Existing {
		log.Info("caller already had a callback; the live ticket ended as a duplicate")
		if _, err := k.play(ctx, "", pbx.Sound(PromptExistingRequest),
			pbx.Sound(PromptYouKeepNumber), pbx.Number(j.Position+1)); err != nil {
			return true, err
		}
		return true, k.goodbye(ctx)
	}
	log.WithField("kind", cb.Kind).Info("caller became a callback")
	k.ivr.cfg.Recorder.Accepted(k.queue, string(cb.Kind))
	if err := k.sayPromise(ctx, cb); err != nil {
		return true, err
	}
	return true, k.goodbye(ctx)
}

// sayPromise states the window honestly: the time left to the deadline,
// rounded up, so it is never shorter than what the line promised; or the
// slot of a scheduled callback.
func (k *caller) sayPromise(ctx context.Context, cb *queue.Ticket) error {
	now := k.ivr.clk.Now()
	if cb.Kind == queue.Scheduled {
		ps := append([]pbx.Prompt{pbx.Sound(PromptPromiseScheduled)}, slotPrompts(cb.SlotStart, now, k.opt.Location)...)
		_, err := k.play(ctx, "", ps...)
		return err
	}
	window := queue.RoundForSpeech(cb.Promise.Deadline.Sub(now), true)
	_, err := k.play(ctx, "", pbx.Sound(PromptPromiseWithin), pbx.Duration(window))
	return err
}

// goodbye ends the call.
func (k *caller) goodbye(ctx context.Context) error {
	if err := k.say(ctx, PromptGoodbye); err != nil {
		return err
	}
	if err := k.c.Hangup(ctx, pbx.CauseNormal); err != nil {
		return fmt.Errorf("hang up %s: %w", k.c.ID(), err)
	}
	return nil
}

// backToHold tells the caller why they are holding again and resumes the
// music, which a collection or a recording may have stopped.
func (k *caller) backToHold(ctx context.Context, why string) error {
	if err := k.say(ctx, why); err != nil {
		return err
	}
	if err := k.c.StartMOH(ctx, k.opt.MOHClass); err != nil {
		return fmt.Errorf("resume music on hold on %s: %w", k.c.ID(), err)
	}
	return nil
}

// takeNumber settles the number to call back: the caller's own, confirmed by
// its last four digits, or one they key. ok is false when no number was
// agreed.
func (k *caller) takeNumber(ctx context.Context) (number string, ok bool, err error) {
	if k.own.E164 != "" {
		key, err := k.ask(ctx, "12", menuTimeout,
			pbx.Sound(PromptNumberEndingIn), pbx.Digits(k.own.Last4), pbx.Sound(PromptConfirmOrOther))
		switch {
		case err != nil:
			return "", false, err
		case key == "1":
			return k.own.E164, true, nil
		case key == "":
			return "", false, nil
		}
	}
	return k.enterNumber(ctx)
}

// enterNumber lets the caller key a number, checks it against the queue's
// policy (saying why it is refused), reads it back and asks for a yes. Each
// number keyed is one try; after numberTries the caller keeps holding.
// Checking before the read-back spares the caller confirming a number we
// would refuse anyway.
func (k *caller) enterNumber(ctx context.Context) (number string, ok bool, err error) {
	for try := 1; try <= numberTries; try++ {
		log := k.log.WithField("try", try)
		digits, err := k.collect(ctx, pbx.CollectOptions{
			Prompts: sounds(PromptEnterNumber), Max: numberMax, Terminator: numberTerminator,
			FirstTimeout: numberFirstTimeout, InterTimeout: numberInterTimeout, Flush: true,
		})
		if err != nil {
			return "", false, err
		}
		if digits == "" {
			log.Info("no number keyed")
			if err := k.say(ctx, PromptNoNumber); err != nil {
				return "", false, err
			}
			continue
		}
		n, err := phone.Parse(digits, k.opt.Country, k.policy())
		if err != nil {
			log.WithError(err).Info("keyed number refused")
			if err := k.say(ctx, refusal(err)); err != nil {
				return "", false, err
			}
			continue
		}
		key, err := k.ask(ctx, "12", menuTimeout,
			pbx.Sound(PromptYouEntered), pbx.Digits(digits), pbx.Sound(PromptCorrectOrRetry))
		switch {
		case err != nil:
			return "", false, err
		case key == "1":
			return n.E164, true, nil
		case key == "":
			return "", false, nil
		}
	}
	return "", false, nil
}

// refusal is the prompt that says why phone.Parse refused a number.
func refusal(err error) string {
	switch {
	case errors.Is(err, phone.ErrPremium):
		return PromptNumberPremium
	case errors.Is(err, phone.ErrSharedCost):
		return PromptNumberSharedCost
	case errors.Is(err, phone.ErrRegion):
		return PromptNumberCountry
	}
	return PromptNumberInvalid
}

// qualify plays the queue's reason menu, if it has one, and returns the
// reason chosen; nil when there is no menu or the caller did not choose (the
// queue's default category then applies).
func (k *caller) qualify(ctx context.Context) (*Reason, error) {
	rs := k.opt.Reasons
	if len(rs) == 0 {
		return nil, nil
	}
	keys := ""
	ps := []pbx.Prompt{pbx.Sound(PromptReasonMenu)}
	for _, r := range rs {
		keys += r.Key
		ps = append(ps, pbx.Sound(r.Prompt))
	}
	key, err := k.ask(ctx, keys, menuTimeout, ps...)
	if err != nil {
		return nil, err
	}
	for i := range rs {
		if rs[i].Key == key {
			k.log.WithFields(logrus.Fields{"reason": key, "category": rs[i].Category}).Info("caller chose a reason")
			return &rs[i], nil
		}
	}
	return nil, nil
}

// recordName records the caller's name for the agent's whisper, when the
// queue asks for it; nil when nothing was said.
func (k *caller) recordName(ctx context.Context) (*pbx.Recording, error) {
	if !k.opt.RecordName {
		return nil, nil
	}
	if err := k.say(ctx, PromptSayName); err != nil {
		return nil, err
	}
	r, err := k.c.Record(ctx, pbx.RecordOptions{
		Name: nameOf(k.id), Max: nameMax, Beep: true, Language: k.lang,
	})
	if err != nil {
		return nil, fmt.Errorf("record name on %s: %w", k.c.ID(), err)
	}
	if err := k.checkpoint(); err != nil {
		return nil, err
	}
	if r.Duration <= 0 {
		return nil, nil
	}
	return &r, nil
}

// errHandedOver stops a callback request whose ticket was handed to an agent
// (or left the line) while the caller was answering: the request is moot,
// and the hold loop picks up the bridge event that is already queued.
var errHandedOver = errors.New("ticket handed over during the callback request")

// checkpoint returns errHandedOver once the live ticket is no longer waiting
// in line. The request's questions call it after every answer, so no further
// prompt is played into a conversation with an agent.
func (k *caller) checkpoint() error {
	if k.id == 0 {
		return nil
	}
	if t, _, err := k.ivr.line.Ticket(k.id); err != nil || t.State != queue.Waiting {
		k.log.Info("ticket handed to an agent during the callback request; caller stays on the line")
		return errHandedOver
	}
	return nil
}

// ask is voice.ask followed by a checkpoint.
func (k *caller) ask(ctx context.Context, keys string, timeout time.Duration, ps ...pbx.Prompt) (string, error) {
	key, err := k.voice.ask(ctx, keys, timeout, ps...)
	if err != nil {
		return "", err
	}
	return key, k.checkpoint()
}

// collect is voice.collect followed by a checkpoint.
func (k *caller) collect(ctx context.Context, opt pbx.CollectOptions) (string, error) {
	digits, err := k.voice.collect(ctx, opt)
	if err != nil {
		return "", err
	}
	return digits, k.checkpoint()
}
