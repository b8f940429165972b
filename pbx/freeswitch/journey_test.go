package freeswitch_test

import (
	"context"
	"path"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/pbx/freeswitch"
	"github.com/vhold/vhold/pbx/freeswitch/esltest"
	"github.com/vhold/vhold/pbx/journeytest"
)

// The caller journeys of pbx/journeytest, the same table the Asterisk
// adapter runs (pbx/asterisk/journey_test.go), on the fake FreeSWITCH.
func TestJourneys(t *testing.T) {
	journeytest.Run(t, newJourneyRig)
}

// journeySpeed is how much faster than the wall clock the fake's world
// runs (rings, prompts, key presses).
const journeySpeed = 20

// journeyRig is the fake FreeSWITCH behind journeytest.Rig.
type journeyRig struct {
	t   *testing.T
	srv *esltest.Server
	ctx context.Context
}

func newJourneyRig(t *testing.T) journeytest.Rig {
	srv := esltest.New(esltest.Options{Speed: journeySpeed, Password: password})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		_ = srv.Close()
	})
	return &journeyRig{t: t, srv: srv, ctx: ctx}
}

func (r *journeyRig) Switch(log *logrus.Entry) pbx.Switch {
	return freeswitch.New(freeswitch.Options{Name: "fs1", Address: r.srv.Addr(), Password: password, Log: log})
}

func (r *journeyRig) WaitConnected(ctx context.Context) error {
	return r.srv.WaitFor(ctx, func() bool { return r.srv.Connections() > 0 })
}

// AgentEndpoint is a phone registered on the lab's profile.
func (r *journeyRig) AgentEndpoint(id string) string { return "sofia/lab/" + id + "@127.0.0.1:5091" }

func (r *journeyRig) DialString() string { return "sofia/gateway/trunk/{number}" }

// Caller dials extension 200, which sets vhold_queue and parks the call.
func (r *journeyRig) Caller(number, queue string, actions []journeytest.Action) journeytest.Party {
	return eslParty{r.srv.Call(esltest.CallSpec{CallerNumber: number, Queue: queue, Script: eslScript(actions)})}
}

func (r *journeyRig) Agent(endpoint string, b journeytest.Behaviour) journeytest.Phone {
	return r.phone(endpoint, b)
}

func (r *journeyRig) Customer(number string, b journeytest.Behaviour) journeytest.Phone {
	return r.phone("sofia/gateway/trunk/"+number, b)
}

// phone registers the endpoint with the first behaviour of b's chain, and
// moves it to the next each time the calls of one are placed: the fake
// takes an endpoint's behaviour when a call is placed, and vhold places the
// next one a retry delay (a second) later.
func (r *journeyRig) phone(pattern string, b journeytest.Behaviour) journeytest.Phone {
	steps, from := b.Steps()
	ep := r.srv.Endpoint(pattern, eslBehaviour(steps[0]))
	if len(steps) > 1 {
		go func() {
			for i := 1; i < len(steps); i++ {
				if _, err := ep.WaitCall(r.ctx, from[i]-1); err != nil {
					return
				}
				ep.Set(eslBehaviour(steps[i]))
			}
		}()
	}
	return eslPhone{ep}
}

func eslBehaviour(b journeytest.Behaviour) esltest.Behaviour {
	switch {
	case b.Busy:
		return esltest.Behaviour{Outcome: esltest.Busy}
	case b.Unallocated:
		return esltest.Behaviour{Outcome: esltest.Reject, Cause: "UNALLOCATED_NUMBER", SIPStatus: 404}
	case b.NoAnswer:
		return esltest.Behaviour{Outcome: esltest.NoAnswer}
	}
	ring := b.Ring
	if ring == 0 {
		ring = journeytest.DefaultRing
	}
	return esltest.Behaviour{Outcome: esltest.Answer, Ring: fake(ring), Script: eslScript(b.Actions)}
}

// fake turns a wall-clock duration into the fake's time.
func fake(d time.Duration) time.Duration { return d * journeySpeed }

// eslScript turns the table's actions into the fake's script: a prompt is
// played as <sounds>/<lang>/<key>.wav.
func eslScript(actions []journeytest.Action) esltest.Script {
	var s esltest.Script
	for _, a := range actions {
		st := esltest.Step{Delay: fake(a.After), Press: a.Press, HangUp: a.HangUp}
		if a.OnPrompt != "" {
			st.AfterMedia, st.During = "*/"+a.OnPrompt+".wav", true
		}
		s = append(s, st)
	}
	return s
}

type eslPhone struct{ ep *esltest.Endpoint }

func (p eslPhone) Calls() []journeytest.Party {
	var out []journeytest.Party
	for _, c := range p.ep.Calls() {
		out = append(out, eslParty{c})
	}
	return out
}

type eslParty struct{ c *esltest.Call }

func (p eslParty) Answered() bool { return p.c.Answered() }
func (p eslParty) HungUp() bool   { return p.c.HungUp() }
func (p eslParty) Log() []string  { return p.c.Log() }

// Heard lists the keys: "/usr/share/freeswitch/sounds/vhold/en/greeting.wav"
// is greeting; the music (local_stream://) is left out.
func (p eslParty) Heard() []string {
	var out []string
	for _, h := range p.c.Heard() {
		if strings.Contains(h.Path, "://") {
			continue
		}
		out = append(out, strings.TrimSuffix(path.Base(h.Path), ".wav"))
	}
	return out
}

// Bridges are named by the two channels bridged (its log says "bridged
// with <uuid>").
func (p eslParty) Bridges() []string {
	var out []string
	for _, l := range p.c.Log() {
		if peer, ok := strings.CutPrefix(l, "bridged with "); ok {
			pair := []string{p.c.UUID(), peer}
			sort.Strings(pair)
			out = append(out, strings.Join(pair, "+"))
		}
	}
	return out
}
