package journeytest

import (
	"reflect"
	"strings"
	"testing"

	"github.com/vhold/vhold/ivr"
	"github.com/vhold/vhold/queue"
)

// The table is run by pbx/asterisk and pbx/freeswitch (TestJourneys); here it
// is only checked for mistakes a run would report confusingly.
func TestScenariosWellFormed(t *testing.T) {
	events := map[string]bool{}
	for _, e := range []queue.Event{queue.EvJoin, queue.EvConvert, queue.EvSchedule, queue.EvReserve, queue.EvRelease,
		queue.EvDial, queue.EvRetry, queue.EvConnect, queue.EvComplete, queue.EvAbandon, queue.EvCancel, queue.EvFail} {
		events[string(e)] = true
	}
	prompts := map[string]bool{ivr.QueuePrompt("support"): true, ivr.CategoryPrompt("general"): true}
	for _, k := range ivr.PromptKeys() {
		prompts[k] = true
	}
	names := map[string]bool{}
	for _, s := range Scenarios {
		if s.Name == "" || names[s.Name] {
			t.Errorf("scenario name %q empty or repeated", s.Name)
		}
		names[s.Name] = true
		parties := map[string]bool{}
		for _, c := range s.Callers {
			parties[c.Number] = true
			checkActions(t, s.Name, c.Actions, prompts)
		}
		for _, c := range s.Customers {
			parties[c.Number] = true
			steps, _ := c.Behaviour.Steps()
			for _, b := range steps {
				checkActions(t, s.Name, b.Actions, prompts)
			}
		}
		checkActions(t, s.Name, s.Agent.Actions, prompts)
		for n, j := range s.Tickets {
			if !parties[n] {
				t.Errorf("%s: a ticket for %s, who neither calls nor is called", s.Name, n)
			}
			evs := strings.Fields(j)
			if len(evs) == 0 || evs[0] != "join" {
				t.Errorf("%s: journal %q does not begin with join", s.Name, j)
			}
			for _, e := range evs {
				if !events[e] {
					t.Errorf("%s: journal %q: no event %q", s.Name, j, e)
				}
			}
		}
		for _, n := range s.Bridged {
			if !parties[n] {
				t.Errorf("%s: %s is to be bridged but is no party", s.Name, n)
			}
		}
		if len(s.Bridged) > 0 && s.AgentCalls == 0 {
			t.Errorf("%s: a bridge with alice, who is never rung", s.Name)
		}
	}
}

func checkActions(t *testing.T, scenario string, as []Action, prompts map[string]bool) {
	t.Helper()
	for _, a := range as {
		if a.OnPrompt != "" && !prompts[a.OnPrompt] {
			t.Errorf("%s: action on %q, which no flow plays", scenario, a.OnPrompt)
		}
		if a.Press == "" && !a.HangUp {
			t.Errorf("%s: action on %q does nothing", scenario, a.OnPrompt)
		}
	}
}

func TestInOrder(t *testing.T) {
	heard := []string{"greeting", "position-you-are-number", "num-1", "offer-callback", "vhold-name-3"}
	for _, c := range []struct {
		want []string
		ok   bool
	}{
		{nil, true},
		{[]string{"greeting", "offer-callback"}, true},
		{[]string{"num-*", "vhold-name-*"}, true},
		{[]string{"offer-callback", "greeting"}, false},
		{[]string{"goodbye"}, false},
	} {
		if err := inOrder(heard, c.want); (err == nil) != c.ok {
			t.Errorf("inOrder(%v): %v, want ok %v", c.want, err, c.ok)
		}
	}
}

func TestSteps(t *testing.T) {
	last := Behaviour{Actions: []Action{Press("confirm-connect-or-later", "1")}}
	b := Behaviour{Busy: true, For: 2, Then: &Behaviour{NoAnswer: true, For: 1, Then: &last}}
	steps, from := b.Steps()
	if len(steps) != 3 || !steps[0].Busy || !steps[1].NoAnswer || !reflect.DeepEqual(steps[2].Actions, last.Actions) {
		t.Fatalf("steps %+v", steps)
	}
	if !reflect.DeepEqual(from, []int{1, 3, 4}) {
		t.Fatalf("from %v, want [1 3 4]", from)
	}
	if steps, from := (Behaviour{Busy: true}).Steps(); len(steps) != 1 || !reflect.DeepEqual(from, []int{1}) {
		t.Fatalf("one behaviour: %+v %v", steps, from)
	}
}
