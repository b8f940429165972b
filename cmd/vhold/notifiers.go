package main

import (
	"fmt"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/config"
	"github.com/vhold/vhold/notify"
)

// buildNotifier turns the notify section into the one Notifier the promise
// keeper sends through: customers' Recovery messages go to notify.customer,
// Owner and Escalation notices to notify.staff. The Log notifier is added
// for every kind when notify.log is true or the section is absent, so each
// message is at least in the log, and a file without notify still runs
// (the keeper then only logs); it is returned too, for tests and the demo to
// read what was sent, and is nil when notify.log is false. A kind with no
// notifier at all makes Notify fail with notify.ErrNoRoute, which the keeper
// journals as not sent.
func buildNotifier(c *config.Config, log *logrus.Entry) (notify.Notifier, *notify.Log, error) {
	route := notify.Route{}
	n := c.Notify
	var logged *notify.Log
	if n == nil || n.Log {
		if log != nil {
			log = log.WithField("component", "notify")
		}
		logged = notify.NewLog(log)
		route.Add(logged, notify.Recovery, notify.Owner, notify.Escalation)
	}
	if n == nil {
		return route, logged, nil
	}
	channels := []struct {
		key   string
		ch    *config.Channel
		kinds []notify.Kind
	}{
		{"notify.customer", n.Customer, []notify.Kind{notify.Recovery}},
		{"notify.staff", n.Staff, []notify.Kind{notify.Owner, notify.Escalation}},
	}
	for _, a := range channels {
		if a.ch == nil {
			continue
		}
		if a.ch.Webhook != nil {
			w, err := notify.NewWebhook(a.ch.Webhook.WebhookConfig())
			if err != nil {
				return nil, nil, fmt.Errorf("%s.webhook: %w", a.key, err)
			}
			route.Add(w, a.kinds...)
		}
		if a.ch.Email != nil {
			e, err := notify.NewEmail(a.ch.Email.EmailConfig())
			if err != nil {
				return nil, nil, fmt.Errorf("%s.email: %w", a.key, err)
			}
			route.Add(e, a.kinds...)
		}
	}
	return route, logged, nil
}
