package pbx

import (
	"context"
	"fmt"
	"strings"
)

// CollectKeys is Call.Collect for an adapter that delivers keys as
// EventKey events to Wait and stops an interruptible prompt itself, which is
// how both PBXs behave (a key never stops a prompt on its own: ARI
// inbound-dtmf, ESL 01-inbound-dtmf). The Asterisk and FreeSWITCH adapters
// share it, so digit collection cannot drift apart between them.
// flushKeys drops the keys already queued; it is called when opt.Flush is
// set.
func CollectKeys(ctx context.Context, c Call, opt CollectOptions, flushKeys func()) (string, error) {
	if opt.Flush {
		flushKeys()
	}
	var got strings.Builder
	if len(opt.Prompts) > 0 {
		k, err := c.Play(ctx, PlayOptions{Interrupt: "0123456789*#"}, opt.Prompts...)
		if err != nil {
			return "", err
		}
		if k != "" {
			if opt.Terminator != "" && strings.Contains(opt.Terminator, k) {
				return "", nil
			}
			got.WriteString(k)
		}
	}
	for opt.Max <= 0 || got.Len() < opt.Max {
		d := opt.InterTimeout
		if got.Len() == 0 {
			d = opt.FirstTimeout
		}
		if d <= 0 {
			break
		}
		ev, err := c.Wait(ctx, d)
		if err != nil {
			return got.String(), err
		}
		switch ev.Kind {
		case EventKey:
			if opt.Terminator != "" && strings.Contains(opt.Terminator, ev.Key) {
				return got.String(), nil
			}
			got.WriteString(ev.Key)
		case EventHangup:
			return got.String(), fmt.Errorf("collect %s: %w", c.ID(), ErrHungUp)
		case EventTimeout, EventBridged:
			return got.String(), nil
		}
	}
	return got.String(), nil
}
