package ivr

import (
	"strings"
	"testing"
	"time"

	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/pbx/pbxtest"
	"github.com/vhold/vhold/queue"
)

// The callback question, as the customer hears it.
var question = []string{"play sound:confirm-callback-from", "play sound:queue-support", "play sound:confirm-connect-or-later"}

func TestConfirm(t *testing.T) {
	tests := []struct {
		name   string
		resp   pbxtest.Response
		want   Answer
		steps  []string
		absent []string
	}{
		{
			name:  "1: connect",
			resp:  pbxtest.Answers(2*time.Second, press(PromptConnectOrLater, "1")),
			want:  AnswerConnect,
			steps: cat(question, []string{"key 1", "collected 1 (max)"}),
		},
		{
			name:  "2: call again later",
			resp:  pbxtest.Answers(2*time.Second, press(PromptConnectOrLater, "2")),
			want:  AnswerLater,
			steps: cat(question, []string{"key 2", "play sound:confirm-later"}),
		},
		{
			name:  "a wrong key asks again",
			resp:  pbxtest.Answers(2*time.Second, press(PromptConnectOrLater, "5"), press(PromptConnectOrLater, "1")),
			want:  AnswerConnect,
			steps: cat(question, []string{"key 5"}, question, []string{"key 1"}),
		},
		{
			name:   "no key twice: an answering machine, left no message",
			resp:   pbxtest.Machine(2*time.Second, 5*time.Minute),
			want:   AnswerNotReached,
			steps:  cat(question, []string{"collected  (timeout)"}, question, []string{"collected  (timeout)"}),
			absent: []string{"play sound:confirm-later"},
		},
		{
			name:  "hang-up during the question",
			resp:  pbxtest.Answers(2*time.Second, pbxtest.HangUpOn{Prompt: QueuePrompt("support"), Delay: time.Second}),
			want:  AnswerHungUp,
			steps: []string{"play sound:confirm-callback-from", "play sound:queue-support", "remote hangup"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, nil)
			r.sw.Customer(otherNumber, tt.resp)
			tk := &queue.Ticket{ID: 42, Queue: "support", Kind: queue.Callback, Number: otherNumber, Language: "es"}
			var (
				got   Answer
				err   error
				call  *pbxtest.Call
				asked time.Time
				done  time.Time
			)
			r.sim.Go(func() {
				c, derr := r.sw.Originate(r.ctx, pbx.Originate{ID: "cb-42-1", Endpoint: "PJSIP/" + otherNumber, Timeout: 30 * time.Second, Language: "es"})
				if derr != nil {
					t.Errorf("originate: %v", derr)
					return
				}
				call = c.(*pbxtest.Call)
				asked = r.sim.Now()
				got, err = r.ivr.Confirm(r.ctx, c, tk)
				done = r.sim.Now()
				_ = c.Hangup(r.ctx, pbx.CauseNormal) // the dialer's part
			})
			r.run(time.Hour)
			if err != nil || got != tt.want {
				t.Errorf("Confirm = %q, %v; want %q", got, err, tt.want)
			}
			if call == nil {
				t.Fatal("no call")
			}
			tr := call.Transcript()
			if missing := inOrder(tr.What(), tt.steps); missing != "" {
				t.Errorf("transcript lacks %q (in order):\n%s", missing, tr)
			}
			for _, a := range tt.absent {
				if count(tr, a) > 0 {
					t.Errorf("transcript has %q:\n%s", a, tr)
				}
			}
			if got := r.languages(); len(got) != 1 || got[0] != "es" {
				t.Errorf("prompts played in %v, want the ticket's language es", got)
			}
			if tt.want == AnswerNotReached {
				// Two questions (3 prompts of 2 s) and two timeouts.
				if want := 2 * (6*time.Second + DefaultConfirmTimeout); done.Sub(asked) != want {
					t.Errorf("not reached after %s, want %s", done.Sub(asked), want)
				}
			}
		})
	}
}

func TestWhisper(t *testing.T) {
	tests := []struct {
		name  string
		tk    queue.Ticket
		steps []string
	}{
		{
			name: "recorded name, category and wait",
			tk:   queue.Ticket{ID: 7, Queue: "support", Name: "vhold-name-7", Promise: queue.Promise{Category: "money"}, JoinedAt: t0.Add(-18 * time.Minute)},
			steps: []string{
				"play recording:vhold-name-7", "play sound:category-money", "play sound:whisper-waited", "play duration:20m0s",
			},
		},
		{
			name:  "a name typed on the web is not a recording",
			tk:    queue.Ticket{ID: 8, Queue: "support", Name: "Ana", Promise: queue.Promise{Category: "general"}, JoinedAt: t0.Add(-4 * time.Minute)},
			steps: []string{"play sound:category-general", "play sound:whisper-waited", "play duration:4m0s"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, nil)
			r.sw.Agent(agentEndpoint, pbxtest.Answers(time.Second))
			var call *pbxtest.Call
			r.sim.Go(func() {
				if err := r.sim.Sleep(r.ctx, t0.Sub(r.sim.Now())); err != nil {
					return
				}
				ag, err := r.sw.Originate(r.ctx, pbx.Originate{ID: "agent-call", Endpoint: agentEndpoint})
				if err != nil {
					t.Errorf("originate: %v", err)
					return
				}
				call = ag.(*pbxtest.Call)
				if err := r.ivr.Whisper(r.ctx, ag, &tt.tk); err != nil {
					t.Errorf("Whisper: %v", err)
				}
				_ = ag.Hangup(r.ctx, pbx.CauseNormal)
			})
			r.run(time.Hour)
			if call == nil {
				t.Fatal("no agent call")
			}
			tr := call.Transcript()
			var plays []string
			for _, w := range tr.What() {
				if strings.HasPrefix(w, "play ") {
					plays = append(plays, w)
				}
			}
			if got, want := strings.Join(plays, " | "), strings.Join(tt.steps, " | "); got != want {
				t.Errorf("whisper:\n%s\nwant exactly %s", tr, want)
			}
		})
	}
}
