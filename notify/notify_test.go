package notify

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

func TestLog(t *testing.T) {
	logger, hook := test.NewNullLogger()
	l := NewLog(logrus.NewEntry(logger))
	a := Sample()
	b := Sample()
	b.Kind, b.To, b.Ticket, b.Urgent, b.Text = Escalation, "supervisor@example.com", 43, true, "ticket 43 escalated"

	var wg sync.WaitGroup
	for _, m := range []Message{a, b} {
		wg.Go(func() {
			if err := l.Notify(context.Background(), m); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	sent := l.Sent()
	if len(sent) != 2 {
		t.Fatalf("Sent() = %d messages, want 2", len(sent))
	}
	if sent[0].Ticket > sent[1].Ticket {
		sent[0], sent[1] = sent[1], sent[0]
	}
	if !reflect.DeepEqual(sent, []Message{a, b}) {
		t.Errorf("Sent() = %+v", sent)
	}
	mine := l.Sent()
	mine[0].Text = "changed"
	if l.Sent()[0].Text == "changed" {
		t.Error("Sent() returns the Log's own slice")
	}

	entries := hook.AllEntries()
	if len(entries) != 2 {
		t.Fatalf("%d log entries, want 2", len(entries))
	}
	for _, e := range entries {
		want := a
		level := logrus.InfoLevel
		if e.Data["ticket"] == b.Ticket {
			want, level = b, logrus.WarnLevel
		}
		if e.Level != level {
			t.Errorf("ticket %v logged at %v, want %v", e.Data["ticket"], e.Level, level)
		}
		for k, v := range map[string]any{"ticket": want.Ticket, "queue": want.Queue, "kind": string(want.Kind), "to": want.To, "text": want.Text} {
			if e.Data[k] != v {
				t.Errorf("ticket %v: field %s = %#v, want %#v", want.Ticket, k, e.Data[k], v)
			}
		}
	}
}

// failing is a Notifier that always fails, and counts its calls.
type failing struct {
	name  string
	calls int
}

func (f *failing) Notify(context.Context, Message) error {
	f.calls++
	return errors.New(f.name + " is down")
}

func TestRoute(t *testing.T) {
	quiet, _ := test.NewNullLogger()
	customer := NewLog(logrus.NewEntry(quiet))
	staff := NewLog(logrus.NewEntry(quiet))
	chat, mailer := &failing{name: "chat"}, &failing{name: "smtp"}
	r := Route{}
	r.Add(customer, Recovery)
	r.Add(staff, Owner, Escalation)
	r.Add(chat, Escalation)
	r.Add(mailer, Escalation)

	ctx := context.Background()
	rec := Sample()
	if err := r.Notify(ctx, rec); err != nil {
		t.Fatal(err)
	}
	own := Sample()
	own.Kind = Owner
	if err := r.Notify(ctx, own); err != nil {
		t.Fatal(err)
	}
	if got := customer.Sent(); len(got) != 1 || got[0].Kind != Recovery {
		t.Errorf("customer channel got %+v, want the recovery message only", got)
	}

	esc := Sample()
	esc.Kind, esc.Urgent = Escalation, true
	err := r.Notify(ctx, esc)
	if err == nil || !strings.Contains(err.Error(), "chat is down") || !strings.Contains(err.Error(), "smtp is down") {
		t.Errorf("error = %v, want both failures", err)
	}
	if got := staff.Sent(); len(got) != 2 || got[1].Kind != Escalation {
		t.Errorf("staff log got %+v: a failing notifier must not keep the others from the message", got)
	}
	if chat.calls != 1 || mailer.calls != 1 {
		t.Errorf("calls: chat %d, smtp %d", chat.calls, mailer.calls)
	}

	err = Route{Owner: {staff}}.Notify(ctx, rec)
	if !errors.Is(err, ErrNoRoute) || !strings.Contains(err.Error(), "no notifier for recovery") {
		t.Errorf("unrouted kind: error = %v", err)
	}
}
