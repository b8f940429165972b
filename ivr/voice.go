package ivr

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vhold/vhold/pbx"
)

// voice is one call spoken to in one language. Every prompt goes through it
// so the language chosen for the caller (the dialplan's, else the queue's)
// is the one every prompt is played in, even where the call itself has none.
type voice struct {
	c    pbx.Call
	lang string
}

// stamp sets the voice's language on prompts that do not carry their own.
func (v voice) stamp(ps []pbx.Prompt) []pbx.Prompt {
	out := make([]pbx.Prompt, len(ps))
	for i, p := range ps {
		if p.Language == "" {
			p.Language = v.lang
		}
		out[i] = p
	}
	return out
}

// play plays prompts; a key in interrupt stops them and is returned.
func (v voice) play(ctx context.Context, interrupt string, ps ...pbx.Prompt) (string, error) {
	key, err := v.c.Play(ctx, pbx.PlayOptions{Interrupt: interrupt}, v.stamp(ps)...)
	if err != nil {
		return "", fmt.Errorf("play %s to %s: %w", describe(ps), v.c.ID(), err)
	}
	return key, nil
}

// say plays catalog prompts that nothing interrupts.
func (v voice) say(ctx context.Context, keys ...string) error {
	_, err := v.play(ctx, "", sounds(keys...)...)
	return err
}

// collect reads keys after the options' prompts.
func (v voice) collect(ctx context.Context, opt pbx.CollectOptions) (string, error) {
	opt.Prompts = v.stamp(opt.Prompts)
	digits, err := v.c.Collect(ctx, opt)
	if err != nil {
		return "", fmt.Errorf("collect after %s on %s: %w", describe(opt.Prompts), v.c.ID(), err)
	}
	return digits, nil
}

// ask plays a menu and returns the key pressed, one of keys. A caller who
// presses nothing, or a key that is not offered, hears the menu once more; ""
// means they did not choose after two tries. Keys pressed before the menu
// began are dropped, so a key meant for an earlier question does not answer
// this one.
func (v voice) ask(ctx context.Context, keys string, timeout time.Duration, ps ...pbx.Prompt) (string, error) {
	for range 2 {
		k, err := v.collect(ctx, pbx.CollectOptions{Prompts: ps, Max: 1, FirstTimeout: timeout, Flush: true})
		if err != nil {
			return "", err
		}
		if k != "" && strings.Contains(keys, k) {
			return k, nil
		}
	}
	return "", nil
}

// describe is prompts as a log shows them ("sound:greeting number:4").
func describe(ps []pbx.Prompt) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, " ")
}
