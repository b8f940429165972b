// Package promise keeps vhold's callback promises. Every callback carries a
// deadline the customer was told ("within 25 minutes"); the Keeper watches
// the line and notices early when one is slipping, before the customer has
// to chase:
//
//   - At risk: once deadline − margin(category) has passed, or sooner, once
//     the pessimistic prediction of when its place will be dialed is past the
//     deadline. Checked on every change of the line (agents leaving, handle
//     times growing, callers ahead) and at the next moment a check could
//     change its mind, never on a slow poll.
//   - Recovery: the promise gets an owner (the category's, else the queue's
//     supervisor, else whoever takes it through the API), who is told; the
//     deadline is reset once, by the same believable rule as the first
//     promise; and the customer gets one short owned message saying so
//     before the first deadline, or a written update is promised instead of
//     the call where the category says so.
//   - Second failure: a reset promise at risk again (its margin reached with
//     the call not placed) gets no third promise: the callback goes to the
//     front of the line and the supervisor is told as urgent.
//   - A deadline that passes with the call not placed is journaled as missed.
//
// Everything is journaled on the ticket (queue.EvAtRisk … EvMiss) before
// anyone is told, so the board, the metrics and a restarted vhold read the
// same story.
package promise

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/clock"
	"github.com/vhold/vhold/notify"
	"github.com/vhold/vhold/queue"
)

// actor names the keeper in the journal.
const actor = "promise"

// EscalatedPriority is the priority an escalated callback gets: ahead of
// every ordinary ticket, and escalated ones among themselves by their place.
const EscalatedPriority = 1 << 20

// retryNotice is how long the keeper waits before trying again a recovery
// message that could not be sent.
const retryNotice = time.Minute

// Policy is how one queue keeps its promises.
type Policy struct {
	// Supervisor owns the queue's promises at risk when their category names
	// no owner, and hears of every escalation.
	Supervisor string
	// Team names who has the case in the recovery message; empty says "the
	// <queue> team" in the customer's language.
	Team string
	// Categories by name; a promise of a category not listed uses Default.
	Categories map[queue.Category]Category
	Default    Category
	// Location is the zone the message's times are said in; nil is UTC.
	Location *time.Location
}

// Category is how one kind of promise is kept.
type Category struct {
	// Margin: at deadline − Margin a promise not yet kept is at risk.
	Margin time.Duration
	// Written: the reset promises a written update instead of the call.
	Written bool
	// Owner owns this category's promises at risk instead of the supervisor.
	Owner string
	// Messages are the recovery message templates by language; a language
	// missing here uses DefaultMessage.
	Messages map[string]*template.Template
}

// MessageData is what a recovery message template sees (the same fields as
// config.MessageData, which `vhold check` renders templates against).
type MessageData struct {
	Team     string
	Promised string
	Deadline string
	Queue    string
	Ticket   int64
}

// Keeper watches the line and keeps its promises. It is safe for concurrent
// use; Start and Stop bound its one goroutine at a time.
type Keeper struct {
	line *queue.Line
	clk  clock.Clock
	pol  map[string]Policy
	n    notify.Notifier
	log  *logrus.Entry

	mu      sync.Mutex
	ctx     context.Context
	running bool // an evaluation is in progress
	again   bool // something changed during it: evaluate once more
	stopped bool
	wake    clock.Timer
	unwatch func()
	wg      sync.WaitGroup
}

// New returns a keeper for the line's queues. A queue missing from policies
// keeps its promises with the default margin of 10 minutes and no owner but
// the API; n may be nil (messages are then only logged as not sent).
func New(line *queue.Line, clk clock.Clock, policies map[string]Policy, n notify.Notifier, log *logrus.Entry) *Keeper {
	if log == nil {
		l := logrus.New()
		l.SetLevel(logrus.PanicLevel)
		log = logrus.NewEntry(l)
	}
	return &Keeper{line: line, clk: clk, pol: policies, n: n, log: log}
}

// Start begins keeping: at once, after every change of the line, and at the
// next moment a promise could become at risk or missed.
func (k *Keeper) Start(ctx context.Context) {
	k.mu.Lock()
	k.ctx = ctx
	k.mu.Unlock()
	unwatch := k.line.Watch(func(queue.Change) { k.Kick() })
	k.mu.Lock()
	k.unwatch = unwatch
	k.mu.Unlock()
	k.Kick()
}

// Stop stops keeping and waits for an evaluation in progress.
func (k *Keeper) Stop() {
	k.mu.Lock()
	k.stopped = true
	if k.wake != nil {
		k.wake.Stop()
	}
	unwatch := k.unwatch
	k.mu.Unlock()
	if unwatch != nil {
		unwatch()
	}
	k.wg.Wait()
}

// Kick asks for an evaluation soon. It never calls the line, so the line may
// call it with its lock held; kicks during an evaluation make one more.
func (k *Keeper) Kick() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped || k.ctx == nil {
		return
	}
	if k.running {
		k.again = true
		return
	}
	k.running = true
	k.wg.Add(1)
	k.clk.Go(func() {
		defer k.wg.Done()
		for {
			k.evaluate()
			k.mu.Lock()
			if !k.again || k.stopped {
				k.running = false
				k.mu.Unlock()
				return
			}
			k.again = false
			k.mu.Unlock()
		}
	})
}

// evaluate checks every waiting callback once and arms the next wake-up.
func (k *Keeper) evaluate() {
	k.mu.Lock()
	ctx := k.ctx
	k.mu.Unlock()
	if ctx.Err() != nil {
		return
	}
	now := k.clk.Now()
	var wake time.Time
	for _, qn := range k.line.Queues() {
		ts, err := k.line.Waiting(qn)
		if err != nil {
			k.log.WithError(err).WithField("queue", qn).Error("promise keeper: read the line")
			continue
		}
		pol := k.policy(qn)
		for _, t := range ts {
			if t.Kind == queue.Live || t.Promise.Deadline.IsZero() {
				continue
			}
			if w := k.check(ctx, pol, t, now); !w.IsZero() && (wake.IsZero() || w.Before(wake)) {
				wake = w
			}
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.wake != nil {
		k.wake.Stop()
		k.wake = nil
	}
	if !wake.IsZero() && !k.stopped {
		k.wake = k.clk.AfterFunc(max(wake.Sub(k.clk.Now()), 0), k.Kick)
	}
}

func (k *Keeper) policy(q string) Policy {
	if p, ok := k.pol[q]; ok {
		return p
	}
	return Policy{Default: Category{Margin: 10 * time.Minute}}
}

func (p Policy) category(c queue.Category) Category {
	if cat, ok := p.Categories[c]; ok {
		return cat
	}
	return p.Default
}

// check looks at one waiting callback and acts on it; it returns when it
// should be looked at again if nothing else changes (zero: not on its own).
func (k *Keeper) check(ctx context.Context, pol Policy, t *queue.Ticket, now time.Time) time.Time {
	log := k.log.WithFields(logrus.Fields{"ticket": t.ID, "queue": t.Queue, "category": t.Promise.Category})
	p := t.Promise
	cat := pol.category(p.Category)
	if !now.Before(p.Deadline) && p.MissedAt.Before(p.Deadline) {
		late := now.Sub(p.Deadline).Round(time.Second)
		reason := fmt.Sprintf("deadline %s passed with the call not placed", stamp(p.Deadline, pol.Location))
		if late > 0 {
			reason += fmt.Sprintf(" (noticed %s late)", late)
		}
		nt, err := k.line.Keep(ctx, t.ID, queue.EvMiss, reason, actor, func(n *queue.Ticket) { n.Promise.MissedAt = now })
		if err != nil {
			log.WithError(err).Warn("journal a missed promise")
			return time.Time{}
		}
		log.Warn("promise missed: " + reason)
		t, p = nt, nt.Promise
	}
	if p.Escalated {
		// At the front already, nothing more to promise; look again only
		// to journal the deadline if it passes.
		if now.Before(p.Deadline) {
			return p.Deadline
		}
		return time.Time{}
	}
	if p.Resets > 0 && p.RecoverySentAt.IsZero() {
		// The reset is made, its message not yet delivered.
		return k.sendRecovery(ctx, log, pol, cat, t, now)
	}
	win, w, err := k.line.PromiseWindow(t.ID)
	if err != nil {
		return time.Time{}
	}
	risky, why, next := atRisk(t, cat, w, now)
	if !risky {
		return next
	}
	if p.AtRiskAt.IsZero() {
		nt, err := k.line.Keep(ctx, t.ID, queue.EvAtRisk, why, actor, func(n *queue.Ticket) { n.Promise.AtRiskAt = now })
		if err != nil {
			log.WithError(err).Warn("journal a promise at risk")
			return time.Time{}
		}
		log.WithField("why", why).Warn("promise at risk")
		t = nt
	}
	if t.Promise.Resets == 0 {
		return k.recover(ctx, log, pol, cat, t, win, now)
	}
	k.escalate(ctx, log, pol, t, why)
	return time.Time{}
}

// atRisk decides whether a promise is at risk now, says why, and otherwise
// returns the earliest moment it could become so with nothing else changing.
func atRisk(t *queue.Ticket, cat Category, w queue.Wait, now time.Time) (bool, string, time.Time) {
	p := t.Promise
	riskAt := p.Deadline.Add(-cat.Margin)
	if !now.Before(riskAt) {
		return true, fmt.Sprintf("less than %s left before the deadline and the call not placed", cat.Margin), time.Time{}
	}
	if p.Resets > 0 {
		// A reset promise is at risk only by its margin. It was made from
		// the pessimistic estimate, so a prediction past it means capacity
		// is short for everyone; escalating on that would move it ahead of
		// callers still on time, make them late in turn, and end with the
		// whole line escalated. At the margin, the promise is really about
		// to be broken: that one goes to the front.
		return false, "", riskAt
	}
	if !w.Known {
		return true, "nobody staffs the queue, so the call cannot be placed in time", time.Time{}
	}
	// The pessimistic wait for the place, counted from now, or from the
	// slot's start for a scheduled callback whose slot has not opened.
	from := now
	if t.Kind == queue.Scheduled && t.SlotStart.After(now) {
		from = t.SlotStart
	}
	predicted := from.Add(w.Pessimistic)
	if predicted.After(p.Deadline) {
		return true, fmt.Sprintf("predicted to be dialed by %s, after the deadline", predicted.Format("15:04:05")), time.Time{}
	}
	next := riskAt
	if from.Equal(now) {
		// With nothing changing the prediction moves with the clock.
		if c := p.Deadline.Add(-w.Pessimistic); c.After(now) && c.Before(next) {
			next = c
		}
	}
	return false, "", next
}

// recover is the first failure: owner, reset, message.
func (k *Keeper) recover(ctx context.Context, log *logrus.Entry, pol Policy, cat Category, t *queue.Ticket, win time.Duration, now time.Time) time.Time {
	if t.Promise.Owner == "" {
		owner, source := cat.Owner, "the category's owner"
		if owner == "" {
			owner, source = pol.Supervisor, "the queue's supervisor"
		}
		if owner == "" {
			log.Warn("promise at risk and nobody to own it: set promise.supervisor for the queue, or take it through the API")
		} else {
			nt, err := k.line.Keep(ctx, t.ID, queue.EvOwn, fmt.Sprintf("owner %s (%s)", owner, source), actor, func(n *queue.Ticket) { n.Promise.Owner = owner })
			if err != nil {
				log.WithError(err).Warn("journal the owner")
				return time.Time{}
			}
			t = nt
		}
	}
	// The reset is never earlier than the deadline it replaces, and leaves
	// at least a margin beyond it: a person would not promise less.
	d := queue.RoundForSpeech(max(win, t.Promise.Deadline.Sub(now)+cat.Margin), true)
	deadline := now.Add(d)
	written := cat.Written
	what := "the call"
	if written {
		what = "a written update"
	}
	was := t.Promise.Deadline
	nt, err := k.line.Keep(ctx, t.ID, queue.EvReset,
		fmt.Sprintf("new deadline %s for %s (was %s)", stamp(deadline, pol.Location), what, stamp(was, pol.Location)), actor,
		func(n *queue.Ticket) {
			n.Promise.Deadline, n.Promise.Resets, n.Promise.AtRiskAt, n.Promise.Written = deadline, n.Promise.Resets+1, time.Time{}, written
		})
	if err != nil {
		log.WithError(err).Warn("journal the reset")
		return time.Time{}
	}
	log.WithFields(logrus.Fields{"deadline": deadline, "was": was, "written": written}).Info("promise reset")
	if owner := nt.Promise.Owner; owner != "" {
		// Told after the reset, so the notice carries what the customer
		// is now promised: a written update is the owner's to write.
		next := fmt.Sprintf("vhold reset it to %s and tells the customer they will get the call by then.", stamp(deadline, pol.Location))
		if written {
			next = fmt.Sprintf("The customer is told they will get a written update from us by %s: write to them, then mark the callback resolved in writing on the board.",
				stamp(deadline, pol.Location))
		}
		k.tell(ctx, log, notify.Message{
			Kind: notify.Owner, To: owner, Ticket: int64(nt.ID), Queue: nt.Queue, Category: string(nt.Promise.Category),
			Deadline: deadline,
			Text: fmt.Sprintf("You own callback %d (%s, %s, %s): it was promised by %s and is at risk. %s",
				nt.ID, nt.Queue, nt.Promise.Category, nt.Number, stamp(was, pol.Location), next),
		})
	}
	return k.sendRecovery(ctx, log, pol, cat, nt, now)
}

// sendRecovery sends the reset's one message to the customer, if the
// callback is still pending and none went out for this reset; it returns
// when to try again after a failure.
func (k *Keeper) sendRecovery(ctx context.Context, log *logrus.Entry, pol Policy, cat Category, t *queue.Ticket, now time.Time) time.Time {
	// Right before sending: still pending, still unsent.
	cur, _, err := k.line.Ticket(t.ID)
	if err != nil || cur.State != queue.Waiting || !cur.Promise.RecoverySentAt.IsZero() || cur.Promise.Resets == 0 {
		return time.Time{}
	}
	if cur.Number == "" {
		log.Warn("no number to send the recovery message to")
		return time.Time{}
	}
	p := cur.Promise
	promised := p.OriginalDeadline
	text, err := render(cat, cur, pol, MessageData{
		Team: team(pol, cur), Promised: stamp(promised, pol.Location), Deadline: stamp(p.Deadline, pol.Location),
		Queue: cur.Queue, Ticket: int64(cur.ID),
	})
	if err != nil {
		log.WithError(err).Error("render the recovery message")
		return time.Time{}
	}
	if k.n == nil {
		log.Warn("no notifier configured: the recovery message was not sent")
		return time.Time{}
	}
	err = k.n.Notify(ctx, notify.Message{
		Kind: notify.Recovery, To: cur.Number, Ticket: int64(cur.ID), Queue: cur.Queue, Category: string(p.Category),
		Language: language(cur), Text: text, Deadline: p.Deadline,
	})
	if err != nil {
		log.WithError(err).Error("send the recovery message; trying again shortly")
		return now.Add(retryNotice)
	}
	sentAt := k.clk.Now()
	before := "before"
	if !sentAt.Before(promised) {
		before = "after"
	}
	if _, err := k.line.Keep(ctx, cur.ID, queue.EvRecovery,
		fmt.Sprintf("message sent to %s %s the promised %s", cur.Number, before, stamp(promised, pol.Location)), actor,
		func(n *queue.Ticket) { n.Promise.RecoverySentAt = sentAt }); err != nil {
		log.WithError(err).Error("journal the recovery message (it was sent)")
	}
	return time.Time{}
}

// escalate is the second failure: no third promise; the front of the line
// and the supervisor, urgently.
func (k *Keeper) escalate(ctx context.Context, log *logrus.Entry, pol Policy, t *queue.Ticket, why string) {
	nt, err := k.line.Keep(ctx, t.ID, queue.EvEscalate, "the reset promise is at risk too ("+why+"): to the front of the line", actor,
		func(n *queue.Ticket) { n.Promise.Escalated, n.Priority = true, EscalatedPriority })
	if err != nil {
		log.WithError(err).Warn("journal the escalation")
		return
	}
	log.Error("promise escalated: the reset is at risk too; the callback is first in line")
	to := pol.Supervisor
	if to == "" {
		to = nt.Promise.Owner
	}
	if to == "" {
		log.Warn("no supervisor to tell of the escalation: set promise.supervisor for the queue")
		return
	}
	k.tell(ctx, log, notify.Message{
		Kind: notify.Escalation, To: to, Ticket: int64(nt.ID), Queue: nt.Queue, Category: string(nt.Promise.Category),
		Deadline: nt.Promise.Deadline, Urgent: true,
		Text: fmt.Sprintf("URGENT: callback %d (%s, %s, %s) was reset to %s and is at risk again (%s). It is now first in line; owner: %s.",
			nt.ID, nt.Queue, nt.Promise.Category, nt.Number, stamp(nt.Promise.Deadline, pol.Location), why, orNobody(nt.Promise.Owner)),
	})
}

// tell sends a staff notice; a failure is logged, not retried (the journal
// and the board carry the same facts).
func (k *Keeper) tell(ctx context.Context, log *logrus.Entry, m notify.Message) {
	if k.n == nil {
		return
	}
	if err := k.n.Notify(ctx, m); err != nil {
		log.WithError(err).WithField("to", m.To).Error("notify " + string(m.Kind))
	}
}

// Take makes owner the owner of a callback's promise (an agent or a
// supervisor taking it from the board or the API).
func (k *Keeper) Take(ctx context.Context, id queue.TicketID, owner string) (*queue.Ticket, error) {
	if strings.TrimSpace(owner) == "" {
		return nil, fmt.Errorf("take ticket %d: no owner given", id)
	}
	t, err := k.line.Keep(ctx, id, queue.EvOwn, "taken by "+owner, "api", func(n *queue.Ticket) { n.Promise.Owner = owner })
	if err != nil {
		return nil, fmt.Errorf("take ticket %d: %w", id, err)
	}
	return t, nil
}

// ResolveInWriting ends a callback whose reset promised a written update,
// once its owner has written: the promise is kept without the call.
func (k *Keeper) ResolveInWriting(ctx context.Context, id queue.TicketID, by string) (*queue.Ticket, error) {
	t, _, err := k.line.Ticket(id)
	if err != nil {
		return nil, fmt.Errorf("resolve ticket %d in writing: %w", id, err)
	}
	if !t.Promise.Written {
		return nil, fmt.Errorf("resolve ticket %d in writing: its promise is a call, not a written update", id)
	}
	return k.line.Resolve(ctx, id, "resolved in writing by "+by, "api")
}

// Chased records that the customer called in while their callback was
// pending: they had to chase us.
func Chased(ctx context.Context, line *queue.Line, id queue.TicketID, how string) error {
	_, err := line.Keep(ctx, id, queue.EvChase, how, "ivr", func(n *queue.Ticket) { n.Promise.Chases++ })
	return err
}

func orNobody(s string) string {
	if s == "" {
		return "nobody yet"
	}
	return s
}

// stamp says a time as a person reads it in the queue's zone, "15:04":
// promises are hours away, not days (a scheduled slot is said by the IVR).
func stamp(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("15:04")
}

func language(t *queue.Ticket) string {
	if t.Language == "" {
		return "en"
	}
	return t.Language
}

func team(pol Policy, t *queue.Ticket) string {
	if pol.Team != "" {
		return pol.Team
	}
	if language(t) == "es" {
		return "el equipo de " + t.Queue
	}
	return "the " + t.Queue + " team"
}

// Default recovery messages, by language and reset kind: plain about the
// miss, where the case is, and the new time.
var defaultMessages = map[string]map[bool]*template.Template{
	"en": {
		false: template.Must(template.New("en").Parse("We promised to call you back by {{.Promised}} and have not yet. We are sorry. Your request is with {{.Team}}. You will get our call by {{.Deadline}}.")),
		true:  template.Must(template.New("en-w").Parse("We promised to call you back by {{.Promised}} and have not yet. We are sorry. Your request is with {{.Team}}. You will get a written update by {{.Deadline}}.")),
	},
	"es": {
		false: template.Must(template.New("es").Parse("Le prometimos llamarle antes de las {{.Promised}} y aún no lo hemos hecho. Lo sentimos. Su solicitud está con {{.Team}}. Recibirá nuestra llamada antes de las {{.Deadline}}.")),
		true:  template.Must(template.New("es-w").Parse("Le prometimos llamarle antes de las {{.Promised}} y aún no lo hemos hecho. Lo sentimos. Su solicitud está con {{.Team}}. Recibirá una respuesta por escrito antes de las {{.Deadline}}.")),
	},
}

// DefaultMessage is vhold's own recovery wording for a language (English
// when it has none) and reset kind.
func DefaultMessage(lang string, written bool) *template.Template {
	m, ok := defaultMessages[lang]
	if !ok {
		m = defaultMessages["en"]
	}
	return m[written]
}

func render(cat Category, t *queue.Ticket, pol Policy, d MessageData) (string, error) {
	tpl := cat.Messages[language(t)]
	if tpl == nil {
		tpl = DefaultMessage(language(t), t.Promise.Written)
	}
	var b bytes.Buffer
	if err := tpl.Execute(&b, d); err != nil {
		return "", fmt.Errorf("recovery message for ticket %d: %w", t.ID, err)
	}
	return strings.TrimSpace(b.String()), nil
}
