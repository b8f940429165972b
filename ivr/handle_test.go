package ivr

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vhold/vhold/hours"
	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/pbx/pbxtest"
	"github.com/vhold/vhold/queue"
)

const (
	ownNumber   = "+34911234567" // a Madrid landline: the caller's own
	otherNumber = "+34612345678" // a mobile the caller keys as 612345678
)

// The announcement of a caller alone in line behind one busy agent who
// takes a handle time per call, with the callback offer.
var announcement = []string{
	"play sound:position-you-are-number", "play number:1", "play sound:position-in-line",
	"play sound:wait-about", "play duration:5m0s", "play sound:offer-callback",
}

func cat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// flowCase is one incoming caller's journey.
type flowCase struct {
	name string
	// conf changes the configuration; prep readies the world (teach the
	// line, put callbacks in it, start a dialer).
	conf func(*rigConfig)
	prep func(*rig)
	// handler wraps the IVR's Handle, for a handler that is slow to start.
	handler func(r *rig) pbx.Handler
	caller  pbxtest.Caller
	// want are transcript steps that must appear in this order; absent
	// must not appear at all.
	want, absent []string
	// events are the journal events of the caller's ticket; nil means the
	// caller never joined the line.
	events []queue.Event
	check  func(t *testing.T, r *rig, c *pbxtest.Call, tk *queue.Ticket)
}

func press(prompt, keys string) pbxtest.PressOn {
	return pbxtest.PressOn{Prompt: prompt, Keys: keys, Delay: 500 * time.Millisecond}
}

// takeOffer presses 1 during the offer.
var takeOffer = pbxtest.PressOn{Prompt: PromptOfferCallback, Keys: "1", Delay: time.Second}

func TestHandle(t *testing.T) {
	tests := []flowCase{
		{
			name:   "press 1 during the offer and confirm the own number",
			prep:   (*rig).teach,
			caller: pbxtest.Caller{Number: ownNumber, Queue: "support", Script: []pbxtest.Action{takeOffer, press(PromptConfirmOrOther, "1")}},
			want: cat([]string{"answer", "play sound:greeting", "moh on default"}, announcement, []string{
				"key 1",
				"play sound:number-ending-in", "play digits:4567", "play sound:number-confirm-or-other", "key 1",
				"play sound:promise-within", "play duration:15m0s", "play sound:goodbye", "hangup normal",
			}),
			events: []queue.Event{queue.EvJoin, queue.EvConvert},
			check: func(t *testing.T, r *rig, c *pbxtest.Call, tk *queue.Ticket) {
				if tk.Kind != queue.Callback || tk.State != queue.Waiting || tk.Number != ownNumber {
					t.Errorf("ticket = %s %s %q, want a waiting callback for %s", tk.Kind, tk.State, tk.Number, ownNumber)
				}
				conv, _ := r.transition(tk.ID, queue.EvConvert)
				if want := conv.At.Add(15 * time.Minute); !tk.Promise.Deadline.Equal(want) {
					t.Errorf("deadline %s, want the 15 minutes said at %s", tk.Promise.Deadline, want)
				}
				if r.conn.stillAttached() != 0 {
					t.Error("the converted caller is still attached to the dialer")
				}
			},
		},
		{
			name: "press 1 during the music long after the offer",
			prep: (*rig).teach,
			caller: pbxtest.Caller{Number: ownNumber, Queue: "support", Script: []pbxtest.Action{
				pbxtest.Press{Keys: "1", After: 45 * time.Second}, press(PromptConfirmOrOther, "1"),
			}},
			want: cat(announcement, []string{
				"key 1", "play sound:number-ending-in", "play digits:4567", "play sound:number-confirm-or-other", "key 1",
				"play sound:promise-within", "play duration:15m0s", "play sound:goodbye", "hangup normal",
			}),
			events: []queue.Event{queue.EvJoin, queue.EvConvert},
			check: func(t *testing.T, r *rig, c *pbxtest.Call, tk *queue.Ticket) {
				at, _ := stepAt(c.Transcript(), "key 1")
				if want := t0.Add(45 * time.Second); !at.Equal(want) {
					t.Errorf("key 1 at %s, want %s (during the music)", at, want)
				}
			},
		},
		{
			name:   "the offer repeats with every announcement",
			prep:   (*rig).teach,
			caller: pbxtest.Caller{Number: ownNumber, Queue: "support", HangUpAfter: 150 * time.Second},
			want:   cat(announcement, announcement, announcement, []string{"remote hangup"}),
			events: []queue.Event{queue.EvJoin, queue.EvAbandon},
			check: func(t *testing.T, r *rig, c *pbxtest.Call, tk *queue.Ticket) {
				if n := count(c.Transcript(), "play sound:position-you-are-number"); n != 3 {
					t.Errorf("%d announcements in 150 s, want 3 (every 60 s)", n)
				}
				if tk.FinalReason != "caller hung up" {
					t.Errorf("final reason %q", tk.FinalReason)
				}
			},
		},
		{
			name: "enter another number",
			prep: (*rig).teach,
			caller: pbxtest.Caller{Number: ownNumber, Queue: "support", Script: []pbxtest.Action{
				takeOffer, press(PromptConfirmOrOther, "2"), press(PromptEnterNumber, "612345678#"), press(PromptCorrectOrRetry, "1"),
			}},
			want: []string{
				"play sound:number-confirm-or-other", "key 2", "play sound:number-enter", "collected 612345678 (terminator #)",
				"play sound:number-you-entered", "play digits:612345678", "play sound:number-correct-or-retry", "key 1",
				"play sound:promise-within", "play sound:goodbye", "hangup normal",
			},
			events: []queue.Event{queue.EvJoin, queue.EvConvert},
			check: func(t *testing.T, r *rig, c *pbxtest.Call, tk *queue.Ticket) {
				if tk.Number != otherNumber {
					t.Errorf("callback number %s, want %s", tk.Number, otherNumber)
				}
			},
		},
		{
			name: "a premium-rate number is refused, then a valid one taken",
			prep: (*rig).teach,
			caller: pbxtest.Caller{Number: ownNumber, Queue: "support", Script: []pbxtest.Action{
				takeOffer, press(PromptConfirmOrOther, "2"),
				press(PromptEnterNumber, "803123456#"),
				press(PromptEnterNumber, "612345678#"), press(PromptCorrectOrRetry, "1"),
			}},
			want: []string{
				"collected 803123456 (terminator #)", "play sound:number-premium",
				"play sound:number-enter", "collected 612345678 (terminator #)", "play digits:612345678", "key 1",
				"play sound:promise-within", "play sound:goodbye",
			},
			absent: []string{"play digits:803123456"},
			events: []queue.Event{queue.EvJoin, queue.EvConvert},
			check: func(t *testing.T, r *rig, c *pbxtest.Call, tk *queue.Ticket) {
				if tk.Number != otherNumber {
					t.Errorf("callback number %s, want %s", tk.Number, otherNumber)
				}
			},
		},
		{
			name: "a number from a country not allowed is refused with its reason",
			prep: (*rig).teach,
			caller: pbxtest.Caller{Queue: "support", HangUpAfter: 40 * time.Second, Script: []pbxtest.Action{
				takeOffer, press(PromptEnterNumber, "00442071838750#"),
			}},
			want:   []string{"play sound:number-enter", "collected 00442071838750 (terminator #)", "play sound:number-country", "play sound:number-enter"},
			events: []queue.Event{queue.EvJoin, queue.EvAbandon},
		},
		{
			name: "two failed tries: the caller keeps holding in the same place",
			prep: (*rig).teach,
			caller: pbxtest.Caller{Number: ownNumber, Queue: "support", HangUpAfter: 3 * time.Minute, Script: []pbxtest.Action{
				takeOffer, press(PromptConfirmOrOther, "2"), press(PromptEnterNumber, "12#"), press(PromptEnterNumber, "#"),
			}},
			want: cat([]string{
				"play sound:number-enter", "collected 12 (terminator #)", "play sound:number-invalid",
				"play sound:number-enter", "collected  (terminator #)", "play sound:number-none",
				"play sound:number-failed",
			}, announcement, []string{"remote hangup"}),
			absent: []string{"play sound:promise-within", "play sound:goodbye"},
			events: []queue.Event{queue.EvJoin, queue.EvAbandon},
			check: func(t *testing.T, r *rig, c *pbxtest.Call, tk *queue.Ticket) {
				if tk.Kind != queue.Live || tk.Seq != 2 {
					t.Errorf("ticket %s seq %d, want the live caller's own place (seq 2)", tk.Kind, tk.Seq)
				}
			},
		},
		{
			name:   "no key at the number confirmation: asked twice, then back to holding",
			prep:   (*rig).teach,
			caller: pbxtest.Caller{Number: ownNumber, Queue: "support", HangUpAfter: 2 * time.Minute, Script: []pbxtest.Action{takeOffer}},
			want: cat([]string{
				"play sound:number-confirm-or-other", "collected  (timeout)",
				"play sound:number-confirm-or-other", "collected  (timeout)",
				"play sound:number-failed",
			}, announcement),
			events: []queue.Event{queue.EvJoin, queue.EvAbandon},
		},
		{
			name: "reason menu and recorded name",
			conf: func(c *rigConfig) {
				c.setSupport(func(o *QueueOptions) {
					o.Reasons = []Reason{{Key: "1", Category: "money", Prompt: "reason-billing"}, {Key: "2", Category: "access", Prompt: "reason-login"}}
					o.RecordName = true
				})
			},
			prep: (*rig).teach,
			caller: pbxtest.Caller{Number: ownNumber, Name: "Ana", Queue: "support", Script: []pbxtest.Action{
				takeOffer, press(PromptConfirmOrOther, "1"), press("reason-login", "2"),
			}},
			want: []string{
				"play sound:number-confirm-or-other", "key 1",
				"play sound:reason-menu", "play sound:reason-billing", "play sound:reason-login", "key 2",
				"play sound:name-record", "record vhold-name-2 after a beep", "recorded vhold-name-2 300ms",
				"play sound:promise-within", "play sound:goodbye",
			},
			events: []queue.Event{queue.EvJoin, queue.EvConvert},
			check: func(t *testing.T, r *rig, c *pbxtest.Call, tk *queue.Ticket) {
				if tk.Promise.Category != "access" || tk.Reason != "reason-login" || tk.Name != "vhold-name-2" {
					t.Errorf("category %q reason %q name %q, want access, reason-login, vhold-name-2", tk.Promise.Category, tk.Reason, tk.Name)
				}
			},
		},
		{
			name: "hang-up before the answer",
			handler: func(r *rig) pbx.Handler {
				return func(ctx context.Context, c pbx.Call) {
					_ = r.sim.Sleep(ctx, 2*time.Second) // the switch hands the call over late
					r.ivr.Handle(ctx, c)
				}
			},
			caller: pbxtest.Caller{Number: ownNumber, Queue: "support", HangUpAfter: time.Second},
			want:   []string{"remote hangup"},
			absent: []string{"answer", "play sound:greeting"},
		},
		{
			name:   "hang-up during the greeting",
			caller: pbxtest.Caller{Number: ownNumber, Queue: "support", Script: []pbxtest.Action{pbxtest.HangUpOn{Prompt: PromptGreeting, Delay: time.Second}}},
			want:   []string{"answer", "play sound:greeting", "remote hangup"},
			absent: []string{"moh on default"},
		},
		{
			name: "hang-up during the number capture",
			prep: (*rig).teach,
			caller: pbxtest.Caller{Number: ownNumber, Queue: "support", Script: []pbxtest.Action{
				takeOffer, press(PromptConfirmOrOther, "2"), pbxtest.HangUpOn{Prompt: PromptEnterNumber, Delay: 3 * time.Second},
			}},
			want:   []string{"play sound:number-enter", "remote hangup"},
			events: []queue.Event{queue.EvJoin, queue.EvAbandon},
			check: func(t *testing.T, r *rig, c *pbxtest.Call, tk *queue.Ticket) {
				if tk.FinalReason != "caller hung up" {
					t.Errorf("final reason %q", tk.FinalReason)
				}
			},
		},
		{
			name: "hang-up during the promise: the callback stands",
			prep: (*rig).teach,
			caller: pbxtest.Caller{Number: ownNumber, Queue: "support", Script: []pbxtest.Action{
				takeOffer, press(PromptConfirmOrOther, "1"), pbxtest.HangUpOn{Prompt: PromptPromiseWithin, Delay: 500 * time.Millisecond},
			}},
			want:   []string{"play sound:promise-within", "remote hangup"},
			absent: []string{"play sound:goodbye"},
			events: []queue.Event{queue.EvJoin, queue.EvConvert},
			check: func(t *testing.T, r *rig, c *pbxtest.Call, tk *queue.Ticket) {
				if tk.Kind != queue.Callback || tk.State != queue.Waiting {
					t.Errorf("stored ticket %s %s, want a waiting callback", tk.Kind, tk.State)
				}
			},
		},
		{
			name: "no offer when the wait is short: key 1 does nothing",
			conf: func(c *rigConfig) { c.queue().Offer.MinWait = 30 * time.Minute },
			prep: (*rig).teach,
			caller: pbxtest.Caller{Number: ownNumber, Queue: "support", HangUpAfter: 90 * time.Second, Script: []pbxtest.Action{
				pbxtest.Press{Keys: "1", After: 30 * time.Second},
			}},
			want:   []string{"play sound:wait-about", "play duration:5m0s", "key 1", "play sound:position-you-are-number", "remote hangup"},
			absent: []string{"play sound:offer-callback", "play sound:number-ending-in"},
			events: []queue.Event{queue.EvJoin, queue.EvAbandon},
		},
		{
			name:   "nobody staffs the queue: no wait figure and no offer",
			conf:   func(c *rigConfig) { c.line.Agents[0].InitialState = queue.AgentOffline },
			caller: pbxtest.Caller{Number: ownNumber, Queue: "support", HangUpAfter: 30 * time.Second},
			want:   []string{"play sound:position-you-are-number", "play number:1", "play sound:position-in-line", "remote hangup"},
			absent: []string{"play sound:wait-about", "play sound:offer-callback"},
			events: []queue.Event{queue.EvJoin, queue.EvAbandon},
		},
		{
			name: "after hours: a callback scheduled for the next opening",
			conf: func(c *rigConfig) {
				h, err := hours.Parse("UTC", []string{"mon-fri 09:00-09:30"}, nil)
				if err != nil {
					panic(err)
				}
				c.queue().Hours = h
				c.queue().Offer.ScheduledAfterHours = true
			},
			caller: pbxtest.Caller{Number: ownNumber, Queue: "support", Script: []pbxtest.Action{
				press("time:09:00", "1"), press(PromptConfirmOrOther, "1"),
			}},
			want: []string{
				"play sound:offer-scheduled", "play sound:day-tomorrow", "play time:09:00", "key 1",
				"play sound:number-confirm-or-other", "key 1",
				"play sound:promise-scheduled", "play sound:day-tomorrow", "play time:09:00",
				"play sound:goodbye", "hangup normal",
			},
			events: []queue.Event{queue.EvJoin, queue.EvSchedule},
			check: func(t *testing.T, r *rig, c *pbxtest.Call, tk *queue.Ticket) {
				if want := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC); tk.Kind != queue.Scheduled || !tk.SlotStart.Equal(want) {
					t.Errorf("ticket %s slot %s, want scheduled at %s", tk.Kind, tk.SlotStart, want)
				}
			},
		},
		{
			name: "a repeat caller keeps the pending callback",
			prep: func(r *rig) { r.callback(ownNumber) },
			caller: pbxtest.Caller{Number: ownNumber, Queue: "support", Script: []pbxtest.Action{
				press(PromptKeepOrCancel, "1"),
			}},
			want: []string{
				"answer", "play sound:greeting", "play sound:existing-callback",
				"play sound:position-you-are-number", "play number:1", "play sound:position-in-line",
				"play sound:existing-keep-or-cancel", "key 1", "play sound:thank-you", "play sound:goodbye", "hangup normal",
			},
			absent: []string{"moh on default"},
			check: func(t *testing.T, r *rig, c *pbxtest.Call, tk *queue.Ticket) {
				cb, _, ok := r.line.ActiveCallback("support", ownNumber)
				if !ok {
					t.Fatal("the pending callback is gone")
				}
				// They had to chase us: counted on the promise.
				if cb.Promise.Chases != 1 || cb.Promise.Category != "tense" || eventsString(r.events(cb.ID)) != "join chase" {
					t.Errorf("pending callback: chases %d, journal %v", cb.Promise.Chases, r.events(cb.ID))
				}
			},
		},
		{
			name: "a repeat caller cancels the callback and waits on the line",
			prep: func(r *rig) { r.callback(ownNumber) },
			caller: pbxtest.Caller{Number: ownNumber, Queue: "support", HangUpAfter: 30 * time.Second, Script: []pbxtest.Action{
				press(PromptKeepOrCancel, "2"),
			}},
			want:   []string{"play sound:existing-keep-or-cancel", "key 2", "moh on default", "play sound:position-you-are-number", "remote hangup"},
			events: []queue.Event{queue.EvJoin, queue.EvAbandon},
			check: func(t *testing.T, r *rig, c *pbxtest.Call, tk *queue.Ticket) {
				if evs := r.events(1); eventsString(evs) != "join chase cancel" {
					t.Errorf("pending callback's journal: %v, want join chase cancel", evs)
				}
			},
		},
		{
			name: "a number that already has a callback keeps that one",
			prep: func(r *rig) { r.teach(); r.callback(otherNumber) },
			caller: pbxtest.Caller{Queue: "support", Script: []pbxtest.Action{
				takeOffer, press(PromptEnterNumber, "612345678#"), press(PromptCorrectOrRetry, "1"),
			}},
			want: []string{
				"play sound:number-enter", "collected 612345678 (terminator #)", "key 1",
				"play sound:existing-request", "play sound:you-keep-number", "play number:1", "play sound:goodbye", "hangup normal",
			},
			absent: []string{"play sound:number-confirm-or-other", "play sound:promise-within"},
			events: []queue.Event{queue.EvJoin, queue.EvCancel},
		},
		{
			name:   "bridged to an agent: the flow waits, then ends the caller's leg",
			prep:   func(r *rig) { r.dialer(30*time.Second, 0) },
			caller: pbxtest.Caller{Number: ownNumber, Queue: "support"},
			want: []string{
				"moh on default", "play sound:position-you-are-number", "bridged with agent-call", "unbridged from agent-call", "hangup normal",
			},
			absent: []string{"play sound:goodbye"},
			events: []queue.Event{queue.EvJoin, queue.EvReserve, queue.EvConnect, queue.EvComplete},
			check: func(t *testing.T, r *rig, c *pbxtest.Call, tk *queue.Ticket) {
				tr := c.Transcript()
				unbridged, _ := stepAt(tr, "unbridged from agent-call")
				if n := count(tr, "play sound:position-you-are-number"); n != 1 {
					t.Errorf("%d announcements, want 1: none after the bridge", n)
				}
				if hung, _ := stepAt(tr, "hangup normal"); !hung.Equal(unbridged) {
					t.Errorf("caller hung up at %s, want at once when the agent left (%s)", hung, unbridged)
				}
				if r.conn.stillAttached() != 0 {
					t.Error("caller still attached after the call")
				}
			},
		},
		{
			name: "key 1 while the ticket is reserved for an agent is ignored",
			prep: func(r *rig) { r.teach(); r.dialer(20*time.Second, 30*time.Second) },
			caller: pbxtest.Caller{Number: ownNumber, Queue: "support", Script: []pbxtest.Action{
				pbxtest.Press{Keys: "1", After: 35 * time.Second},
			}},
			want:   cat(announcement, []string{"key 1", "bridged with agent-call", "unbridged from agent-call", "hangup normal"}),
			absent: []string{"play sound:number-ending-in"},
			events: []queue.Event{queue.EvJoin, queue.EvReserve, queue.EvConnect, queue.EvComplete},
		},
		{
			name:   "unknown queue: refused politely",
			caller: pbxtest.Caller{Number: ownNumber, Queue: "sales"},
			want:   []string{"answer", "play sound:queue-unavailable", "hangup normal"},
			absent: []string{"play sound:greeting"},
		},
		{
			name:   "unknown queue: told, and returned to the dialplan",
			conf:   func(c *rigConfig) { c.ivr.UnknownQueue = UnknownContinue },
			caller: pbxtest.Caller{Number: ownNumber, Queue: "sales"},
			want:   []string{"answer", "play sound:queue-unavailable", "continue in the dialplan"},
			absent: []string{"play sound:greeting", "hangup normal"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.conf)
			if tt.prep != nil {
				tt.prep(r)
			}
			c := r.sw.Dial(t0, tt.caller)
			var h pbx.Handler
			if tt.handler != nil {
				h = tt.handler(r)
			}
			r.serve(h)
			r.run(time.Hour)

			tr := c.Transcript()
			if missing := inOrder(tr.What(), tt.want); missing != "" {
				t.Errorf("transcript lacks %q (in order):\n%s", missing, tr)
			}
			for _, a := range tt.absent {
				if count(tr, a) > 0 {
					t.Errorf("transcript has %q:\n%s", a, tr)
				}
			}
			if c.Up() {
				t.Errorf("call still up at the end:\n%s", tr)
			}
			tk := r.ticketOf(c)
			switch {
			case tt.events == nil && tk != nil:
				t.Errorf("caller joined the line as ticket %d: %v", tk.ID, r.events(tk.ID))
			case tt.events != nil && tk == nil:
				t.Fatalf("caller never joined the line:\n%s", tr)
			case tk != nil:
				if got, want := eventsString(r.events(tk.ID)), eventsString(tt.events); got != want {
					t.Errorf("journal of ticket %d: %s, want %s", tk.ID, got, want)
				}
				checkPromiseBeforeGoodbye(t, r, tr, tk)
			}
			if tt.check != nil {
				tt.check(t, r, c, tk)
			}
		})
	}
}

// checkPromiseBeforeGoodbye: when the caller became a callback, the
// conversion was committed before the goodbye, and before the promise was
// said.
func checkPromiseBeforeGoodbye(t *testing.T, r *rig, tr pbxtest.Transcript, tk *queue.Ticket) {
	t.Helper()
	for _, ev := range []queue.Event{queue.EvConvert, queue.EvSchedule} {
		conv, ok := r.transition(tk.ID, ev)
		if !ok {
			continue
		}
		for _, s := range tr {
			if (s.What == "play sound:goodbye" || strings.HasPrefix(s.What, "play sound:promise-")) && s.At.Before(conv.At) {
				t.Errorf("%q at %s, before the %s was committed at %s", s.What, s.At, ev, conv.At)
			}
		}
	}
}

// dialer starts, for each caller who joins the line, a "dialer" that after
// a while frees the agent, reserves the caller's ticket, waits ring (the
// agent's phone ringing), connects and bridges them, and completes the
// ticket when the agent hangs up after two minutes of talk.
func (r *rig) dialer(after, ring time.Duration) {
	r.sw.Agent(agentEndpoint, pbxtest.Talks(0, pbxtest.Fixed(2*time.Minute)))
	r.conn.onAttach = func(id queue.TicketID, c pbx.Call) {
		r.sim.AfterFunc(after, func() {
			ctx := r.ctx
			if err := r.line.SetAgentState("a1", queue.AgentAvailable, "previous call over"); err != nil {
				r.t.Error(err)
				return
			}
			as, err := r.line.Next(ctx)
			if err != nil || as == nil || as.Ticket.ID != id {
				r.t.Errorf("dialer: Next = %v, %v; want ticket %d", as, err, id)
				return
			}
			if err := r.sim.Sleep(ctx, ring); err != nil {
				return
			}
			ag, err := r.sw.Originate(ctx, pbx.Originate{ID: "agent-call", Endpoint: agentEndpoint, Timeout: time.Minute})
			if err != nil {
				r.t.Errorf("dialer: originate: %v", err)
				return
			}
			if _, err := r.line.Connect(ctx, id, "dialer"); err != nil {
				r.t.Errorf("dialer: connect: %v", err)
				return
			}
			if err := c.Bridge(ctx, ag); err != nil {
				r.t.Errorf("dialer: bridge: %v", err)
				return
			}
			for {
				ev, err := ag.Wait(ctx, time.Hour)
				if err != nil || ev.Kind == pbx.EventHangup {
					break
				}
			}
			if _, err := r.line.Complete(ctx, id, "dialer"); err != nil {
				r.t.Errorf("dialer: complete: %v", err)
			}
		})
	}
}

func TestHandleLanguage(t *testing.T) {
	tests := []struct {
		name, callLang, want string
	}{
		{"the queue's when the dialplan sets none", "", "en"},
		{"the dialplan's", "es", "es"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, nil)
			r.teach()
			c := r.sw.Dial(t0, pbxtest.Caller{Number: ownNumber, Queue: "support", Language: tt.callLang, Script: []pbxtest.Action{
				takeOffer, press(PromptConfirmOrOther, "1"),
			}})
			r.serve(nil)
			r.run(time.Hour)
			tk := r.ticketOf(c)
			if tk == nil || tk.Language != tt.want {
				t.Fatalf("ticket %+v, want language %s", tk, tt.want)
			}
			if got := r.languages(); len(got) != 1 || got[0] != tt.want {
				t.Errorf("prompts played in %v, want all in %s", got, tt.want)
			}
		})
	}
}
