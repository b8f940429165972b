package notify

import (
	"context"
	"errors"
	"fmt"
)

// ErrNoRoute is wrapped by Route.Notify for a kind nothing is configured
// for, so the promise keeper can journal that the message could not be sent
// rather than believe it was.
var ErrNoRoute = errors.New("no notifier")

// Route sends each kind of message to its own notifiers: a customer's
// Recovery through an SMS or WhatsApp gateway, the staff's Owner and
// Escalation notices by e-mail or a chat hook.
type Route map[Kind][]Notifier

// Add routes the kinds to n as well.
func (r Route) Add(n Notifier, kinds ...Kind) {
	for _, k := range kinds {
		r[k] = append(r[k], n)
	}
}

// Notify hands m to every notifier of its kind, even after one fails: a
// supervisor should get the e-mail when the chat hook is down. The errors
// are joined; nil means every one of them accepted the message.
func (r Route) Notify(ctx context.Context, m Message) error {
	ns := r[m.Kind]
	if len(ns) == 0 {
		return fmt.Errorf("%w for %s (ticket %d)", ErrNoRoute, m.Kind, m.Ticket)
	}
	var errs []error
	for _, n := range ns {
		if err := n.Notify(ctx, m); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
