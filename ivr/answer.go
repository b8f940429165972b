package ivr

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/queue"
)

// Answer is what the customer did when a callback reached them; the dialer
// journals it and acts on it.
type Answer string

const (
	// AnswerConnect: they pressed 1; bridge them to the agent.
	AnswerConnect Answer = "connect"
	// AnswerLater: they pressed 2 (not a good time); try again later.
	AnswerLater Answer = "later"
	// AnswerNotReached: no key within the timeout, twice: an answering
	// machine or voicemail, most likely. Nothing more was played, so no
	// message is left half-said on a mailbox.
	AnswerNotReached Answer = "not-reached"
	// AnswerHungUp: they hung up during the question.
	AnswerHungUp Answer = "hung-up"
)

// Confirm runs the callback-answer flow on an answered callback: who is
// calling and "press 1 to be connected now, 2 if this is not a good time",
// asked twice at most, in the ticket's language. A hang-up is an answer, not
// an error; the error is for anything else going wrong on the call.
func (v *IVR) Confirm(ctx context.Context, c pbx.Call, t *queue.Ticket) (Answer, error) {
	log := v.log.WithFields(logrus.Fields{"call": c.ID(), "ticket": t.ID, "queue": t.Queue})
	opt := v.options(t.Queue)
	vo := voice{c: c, lang: t.Language}
	key, err := vo.ask(ctx, "12", opt.ConfirmTimeout,
		pbx.Sound(PromptCallbackFrom), pbx.Sound(QueuePrompt(t.Queue)), pbx.Sound(PromptConnectOrLater))
	if errors.Is(err, pbx.ErrHungUp) {
		log.Info("customer hung up at the callback question")
		return AnswerHungUp, nil
	}
	if err != nil {
		return "", fmt.Errorf("confirm callback %d: %w", t.ID, err)
	}
	var a Answer
	switch key {
	case "1":
		a = AnswerConnect
	case "2":
		a = AnswerLater
		if err := vo.say(ctx, PromptCallAgainLater); err != nil && !errors.Is(err, pbx.ErrHungUp) {
			return a, fmt.Errorf("confirm callback %d: %w", t.ID, err)
		}
	default:
		a = AnswerNotReached
	}
	log.WithField("answer", a).Info("callback answered")
	return a, nil
}

// Whisper tells the agent, before the bridge, who is calling and why: the
// recorded name if there is one, the promise category, and how long the
// customer has waited since they first asked. It is said in the agent's
// language (the agent call's own).
func (v *IVR) Whisper(ctx context.Context, agent pbx.Call, t *queue.Ticket) error {
	var ps []pbx.Prompt
	if strings.HasPrefix(t.Name, namePrefix) {
		ps = append(ps, pbx.Clip(pbx.Recording{Name: t.Name}))
	}
	if t.Promise.Category != "" {
		ps = append(ps, pbx.Sound(CategoryPrompt(t.Promise.Category)))
	}
	if waited := queue.RoundForSpeech(v.clk.Now().Sub(t.JoinedAt), false); waited > 0 {
		ps = append(ps, pbx.Sound(PromptWhisperWaited), pbx.Duration(waited))
	}
	if len(ps) == 0 {
		return nil
	}
	if _, err := agent.Play(ctx, pbx.PlayOptions{}, ps...); err != nil {
		return fmt.Errorf("whisper ticket %d to %s: %w", t.ID, agent.ID(), err)
	}
	return nil
}
