package main

import (
	"context"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/pbx/asterisk"
	"github.com/vhold/vhold/pbx/asterisk/ari"
	"github.com/vhold/vhold/queue"
)

// survivors asks each PBX which calls are still in vhold's hands: callers
// stay in Stasis while vhold restarts (disconnect.jsonl), so their live
// tickets keep their place and the flows take them back once connected. A
// PBX that cannot be asked counts as having none: its callers' tickets end
// as abandoned, and a caller still there when it answers again starts over.
func survivors(ctx context.Context, a *app) func(*queue.Ticket) bool {
	alive := map[string]map[string]bool{}
	for _, ac := range a.cfg.PBX.Asterisk {
		log := a.log.WithField("pbx", ac.Name)
		cl := ari.New(ari.Config{BaseURL: ac.URL, Username: ac.Username, Password: ac.Password, App: ac.App, Log: log})
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ids, err := asterisk.New(asterisk.Options{Name: ac.Name, Client: cl, Log: a.log}).Calls(lctx)
		cancel()
		if err != nil {
			log.WithError(err).Warn("cannot ask which calls survived the restart: this server's live callers are closed as abandoned")
			continue
		}
		alive[ac.Name] = map[string]bool{}
		for _, id := range ids {
			alive[ac.Name][id] = true
		}
		log.WithFields(logrus.Fields{"calls": len(ids)}).Info("calls still in vhold's app")
	}
	return func(t *queue.Ticket) bool { return alive[t.Node][t.CallRef] }
}
