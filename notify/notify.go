// Package notify delivers the promise keeper's messages: the short owned
// recovery message to a customer whose callback is late, and the notices to
// the person who owns a promise at risk or to the supervisor when one is
// escalated. Delivery is pluggable so SMS and WhatsApp gateways, e-mail and
// chat hooks fit without vhold knowing them.
package notify

import (
	"context"
	"time"
)

// Kind says who a message is for and why.
type Kind string

const (
	// Recovery is the message to the customer: the call has not happened in
	// the promised time, where the case is, and the new time.
	Recovery Kind = "recovery"
	// Owner tells a person they now own a promise at risk.
	Owner Kind = "owner"
	// Escalation tells the supervisor that a reset promise is at risk too:
	// the callback went to the front of the line. Always urgent.
	Escalation Kind = "escalation"
)

// Message is one notification. Text is already rendered in the customer's
// language (for Recovery) or the staff's; the other fields let a webhook
// template shape its own body.
type Message struct {
	Kind Kind
	// To is the customer's number (E.164) for Recovery, or the owner's or
	// supervisor's address (an e-mail address, a chat handle) otherwise.
	To       string
	Ticket   int64
	Queue    string
	Category string
	Language string
	// Text is the message itself.
	Text string
	// Deadline is the promise's current deadline (the new one after a reset).
	Deadline time.Time
	// Urgent marks escalations.
	Urgent bool
}

// Notifier delivers messages. Notify returns once the message was handed
// over (a 2xx from a webhook, an accepted SMTP transaction) or has failed.
type Notifier interface {
	Notify(ctx context.Context, m Message) error
}
