package main

import (
	"context"
	"fmt"
	"text/template"
	"time"

	"github.com/vhold/vhold/config"
	"github.com/vhold/vhold/promise"
	"github.com/vhold/vhold/queue"
)

// promisePolicies turns each queue's promise settings into the keeper's.
// The message templates were checked by `vhold check` (config.CheckMessage);
// a parse error here would mean the two drifted apart, so it is an error.
func promisePolicies(c *config.Config) (map[string]promise.Policy, error) {
	out := map[string]promise.Policy{}
	for name, q := range c.Queues {
		p := promise.Policy{
			Supervisor: q.Promise.Supervisor,
			Team:       q.Promise.Team,
			Categories: map[queue.Category]promise.Category{},
			Default:    promise.Category{Margin: 10 * time.Minute},
		}
		if q.Hours.Schedule != nil {
			p.Location = q.Hours.Schedule.Location()
		}
		for cn, cc := range q.Promise.Categories {
			cat := promise.Category{Margin: cc.Margin, Written: cc.Reset == config.ResetWritten, Owner: cc.Owner,
				Messages: map[string]*template.Template{}}
			for lang, text := range cc.Messages {
				t, err := template.New(cn + "-" + lang).Option("missingkey=error").Parse(text)
				if err != nil {
					return nil, fmt.Errorf("queue %s category %s message %s: %w", name, cn, lang, err)
				}
				cat.Messages[lang] = t
			}
			p.Categories[queue.Category(cn)] = cat
		}
		if d, ok := p.Categories[queue.Category(q.Promise.DefaultCategory)]; ok {
			p.Default = d
		}
		out[name] = p
	}
	return out, nil
}

// startPromises starts the promise keeper on the line with the configured
// notifiers; the caller stops it.
func startPromises(ctx context.Context, e *env, a *app) (*promise.Keeper, error) {
	pols, err := promisePolicies(a.cfg)
	if err != nil {
		return nil, fmt.Errorf("promise policies: %w", err)
	}
	n, _, err := buildNotifier(a.cfg, a.log.WithField("part", "notify"))
	if err != nil {
		return nil, fmt.Errorf("notifiers: %w", err)
	}
	k := promise.New(a.line, e.clock, pols, n, a.log.WithField("part", "promise"))
	k.Start(ctx)
	return k, nil
}
