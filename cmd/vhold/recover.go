package main

import (
	"context"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/pbx/asterisk"
	"github.com/vhold/vhold/pbx/asterisk/ari"
	"github.com/vhold/vhold/pbx/freeswitch"
	"github.com/vhold/vhold/queue"
)

// survivors asks each PBX which calls are still in vhold's hands: callers
// stay in Stasis (disconnect.jsonl) or parked with vhold_queue (FreeSWITCH)
// while vhold restarts, so their live tickets keep their place and the
// flows take them back once connected. A PBX that cannot be asked counts as
// having none: its callers' tickets end as abandoned, and a caller still
// there when it answers again starts over.
func survivors(ctx context.Context, a *app) func(*queue.Ticket) bool {
	alive := map[string]map[string]bool{}
	ask := func(name string, l pbx.CallLister) {
		log := a.log.WithField("pbx", name)
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ids, err := l.Calls(lctx)
		cancel()
		if err != nil {
			log.WithError(err).Warn("cannot ask which calls survived the restart: this server's live callers are closed as abandoned")
			return
		}
		alive[name] = map[string]bool{}
		for _, id := range ids {
			alive[name][id] = true
		}
		log.WithFields(logrus.Fields{"calls": len(ids)}).Info("calls still in vhold's hands")
	}
	for _, ac := range a.cfg.PBX.Asterisk {
		cl := ari.New(ari.Config{BaseURL: ac.URL, Username: ac.Username, Password: ac.Password, App: ac.App, Log: a.log.WithField("pbx", ac.Name)})
		ask(ac.Name, asterisk.New(asterisk.Options{Name: ac.Name, Client: cl, Log: a.log}))
	}
	for _, fc := range a.cfg.PBX.FreeSWITCH {
		ask(fc.Name, freeswitch.New(freeswitch.Options{Name: fc.Name, Address: fc.Address, Password: fc.Password, Log: a.log}))
	}
	return func(t *queue.Ticket) bool { return alive[t.Node][t.CallRef] }
}
