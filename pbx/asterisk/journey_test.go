package asterisk_test

import (
	"context"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/pbx/asterisk"
	"github.com/vhold/vhold/pbx/asterisk/ari"
	"github.com/vhold/vhold/pbx/asterisk/aritest"
	"github.com/vhold/vhold/pbx/journeytest"
)

// The caller journeys of pbx/journeytest, the same table the FreeSWITCH
// adapter runs (pbx/freeswitch/journey_test.go), on the fake Asterisk.
func TestJourneys(t *testing.T) {
	journeytest.Run(t, newJourneyRig)
}

// journeySpeed is how much faster than the wall clock the fake's world
// runs (rings, prompts, key presses).
const journeySpeed = 20

// journeyRig is the fake Asterisk behind journeytest.Rig.
type journeyRig struct {
	t   *testing.T
	srv *aritest.Server
	ctx context.Context
}

func newJourneyRig(t *testing.T) journeytest.Rig {
	srv := aritest.New(aritest.Options{Speed: journeySpeed, SoundExists: func(string, string) bool { return true }})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		srv.Close()
	})
	return &journeyRig{t: t, srv: srv, ctx: ctx}
}

func (r *journeyRig) Switch(log *logrus.Entry) pbx.Switch {
	cl := ari.New(ari.Config{BaseURL: r.srv.URL(), Username: "vhold", Password: "vhold", App: "vhold", Log: log})
	return asterisk.New(asterisk.Options{Name: "ast1", Client: cl, Sounds: "/var/lib/asterisk/sounds/vhold", Log: log})
}

func (r *journeyRig) WaitConnected(ctx context.Context) error { return r.srv.WaitConnected(ctx) }

func (r *journeyRig) AgentEndpoint(id string) string { return "PJSIP/" + id }

func (r *journeyRig) DialString() string { return "PJSIP/{number}@trunk" }

func (r *journeyRig) Caller(number, queue string, actions []journeytest.Action) journeytest.Party {
	c := r.srv.Call(aritest.CallSpec{Caller: aritest.Party{Number: number}, Args: []string{queue}, Script: ariScript(actions)})
	return ariParty{c}
}

func (r *journeyRig) Agent(endpoint string, b journeytest.Behaviour) journeytest.Phone {
	return r.phone(endpoint, b)
}

func (r *journeyRig) Customer(number string, b journeytest.Behaviour) journeytest.Phone {
	return r.phone("PJSIP/"+number+"@trunk", b)
}

// phone registers the endpoint with the first behaviour of b's chain, and
// moves it to the next each time the calls of one are placed: the fake
// takes an endpoint's behaviour when a call is placed, and vhold places the
// next one a retry delay (a second) later.
func (r *journeyRig) phone(pattern string, b journeytest.Behaviour) journeytest.Phone {
	steps, from := b.Steps()
	ep := r.srv.Endpoint(pattern, ariBehaviour(steps[0]))
	if len(steps) > 1 {
		go func() {
			for i := 1; i < len(steps); i++ {
				if _, err := ep.WaitCall(r.ctx, from[i]-1); err != nil {
					return
				}
				ep.Set(ariBehaviour(steps[i]))
			}
		}()
	}
	return ariPhone{ep}
}

func ariBehaviour(b journeytest.Behaviour) aritest.Behaviour {
	switch {
	case b.Busy:
		return aritest.Behaviour{Outcome: aritest.Busy}
	case b.Unallocated:
		// Q.850 1, SIP 404 (aritest.Behaviour: "1 and 404 for an unknown
		// number").
		return aritest.Behaviour{Outcome: aritest.Reject, Cause: 1, SIPStatus: 404}
	case b.NoAnswer:
		return aritest.Behaviour{Outcome: aritest.NoAnswer}
	}
	ring := b.Ring
	if ring == 0 {
		ring = journeytest.DefaultRing
	}
	return aritest.Behaviour{Outcome: aritest.Answer, Ring: fake(ring), Script: ariScript(b.Actions)}
}

// fake turns a wall-clock duration into the fake's time.
func fake(d time.Duration) time.Duration { return d * journeySpeed }

// ariScript turns the table's actions into the fake's script: a prompt is
// played as sound:<sounds>/<lang>/<key>.
func ariScript(actions []journeytest.Action) aritest.Script {
	var s aritest.Script
	for _, a := range actions {
		st := aritest.Step{Delay: fake(a.After), Press: a.Press, HangUp: a.HangUp}
		if a.OnPrompt != "" {
			st.AfterMedia, st.During = "*/"+a.OnPrompt, true
		}
		s = append(s, st)
	}
	return s
}

type ariPhone struct{ ep *aritest.Endpoint }

func (p ariPhone) Calls() []journeytest.Party {
	var out []journeytest.Party
	for _, c := range p.ep.Calls() {
		out = append(out, ariParty{c})
	}
	return out
}

type ariParty struct{ c *aritest.Call }

func (p ariParty) Answered() bool { return p.c.Answered() }
func (p ariParty) HungUp() bool   { return p.c.HungUp() }
func (p ariParty) Log() []string  { return p.c.Log() }

// Heard lists the keys: "sound:/var/lib/asterisk/sounds/vhold/en/greeting"
// is greeting, "recording:vhold-name-1" is vhold-name-1.
func (p ariParty) Heard() []string {
	var out []string
	for _, h := range p.c.Heard() {
		m := h.Media
		if i := strings.IndexByte(m, ':'); i >= 0 {
			m = m[i+1:]
		}
		out = append(out, path.Base(m))
	}
	return out
}

// Bridges are the ids of the bridges the channel entered (its log says
// "entered bridge <id>").
func (p ariParty) Bridges() []string {
	var out []string
	for _, l := range p.c.Log() {
		if id, ok := strings.CutPrefix(l, "entered bridge "); ok {
			out = append(out, id)
		}
	}
	return out
}
