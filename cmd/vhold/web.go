package main

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/vhold/vhold/config"
	"github.com/vhold/vhold/promise"
	"github.com/vhold/vhold/web"
)

// The API's tokens and allowed origins come from the environment until the
// configuration file has keys for them:
//
//	VHOLD_API_TOKENS   comma-separated bearer tokens for the staff routes
//	                   (none: those routes refuse everybody)
//	VHOLD_API_ORIGINS  comma-separated origins whose pages may embed the
//	                   public callback form ("https://www.example.com")
//
// Secrets belong in the environment anyway; the file can then refer to them.
const (
	envAPITokens  = "VHOLD_API_TOKENS"
	envAPIOrigins = "VHOLD_API_ORIGINS"
)

// newWebServer builds the HTTP API, the callback form and the promise board
// on the running line: the store answers for finished callbacks, the keeper
// for promise ownership, ready for /readyz (store writable, every PBX
// connected), and the board's promise metrics come from the same source as
// /metrics, over the same week.
func newWebServer(e *env, a *app, k *promise.Keeper, ready func(context.Context) error) *web.Server {
	tokens := envList(e, envAPITokens)
	if len(tokens) == 0 {
		a.log.Warn(envAPITokens + " is not set: the API's staff routes refuse every request")
	}
	return web.New(web.Options{
		Line:           a.line,
		Store:          a.store,
		Keeper:         k,
		Queues:         webQueues(a.cfg),
		Clock:          e.clock,
		Log:            a.log.WithField("part", "web"),
		Tokens:         tokens,
		AllowedOrigins: envList(e, envAPIOrigins),
		Ready:          ready,
		Version:        version,
		Metrics:        promiseMetricsSource(a.store, "", func() time.Time { return e.clock.Now().Add(-metricsWindow) }),
	})
}

// webQueues gives the API each queue's number rules, hours and slot
// planning figures, from the same settings the IVR and the line use.
func webQueues(c *config.Config) map[string]web.QueueOptions {
	out := map[string]web.QueueOptions{}
	for name, q := range c.Queues {
		o := web.QueueOptions{
			Country:    string(q.Country),
			Language:   string(q.Language),
			Languages:  []string{string(config.LangEnglish), string(config.LangSpanish)},
			HandleTime: q.Estimate.HandleTime,
			Quantile:   q.Estimate.Quantile,
			// SlotLength is left to the API's default, which is the line's:
			// the file has no slot length yet, so lineConfig sets none.
		}
		for _, r := range q.AllowedCountries {
			o.AllowedCountries = append(o.AllowedCountries, string(r))
		}
		for cat := range q.Promise.Categories {
			o.Categories = append(o.Categories, cat)
		}
		sort.Strings(o.Categories)
		if q.Hours.Schedule != nil {
			o.Hours = q.Hours.Schedule
			o.Location = q.Hours.Schedule.Location()
		}
		out[name] = o
	}
	return out
}

// envList reads a comma-separated list from the environment, dropping
// blanks.
func envList(e *env, key string) []string {
	v, _ := e.lookupEnv(key)
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
