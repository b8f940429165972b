package notify

import (
	"context"
	"slices"
	"sync"

	"github.com/sirupsen/logrus"
)

// Log is a Notifier that only writes each message to the log and keeps it.
// It stands in for real delivery in tests and demos, and runs beside it in
// production so the log shows what a customer or supervisor was told even
// when a gateway loses it.
type Log struct {
	log  *logrus.Entry
	mu   sync.Mutex
	sent []Message
}

// NewLog logs to log; nil logs to logrus's standard logger.
func NewLog(log *logrus.Entry) *Log {
	if log == nil {
		log = logrus.NewEntry(logrus.StandardLogger())
	}
	return &Log{log: log}
}

// Notify logs m, at warning level when it is urgent so an escalation stands
// out in a log nobody is watching closely. It never fails.
func (l *Log) Notify(_ context.Context, m Message) error {
	l.mu.Lock()
	l.sent = append(l.sent, m)
	l.mu.Unlock()
	e := l.log.WithFields(logrus.Fields{
		"ticket": m.Ticket,
		"queue":  m.Queue,
		"kind":   string(m.Kind),
		"to":     m.To,
		"text":   m.Text,
	})
	if m.Category != "" {
		e = e.WithField("category", m.Category)
	}
	if !m.Deadline.IsZero() {
		e = e.WithField("deadline", m.Deadline)
	}
	if m.Urgent {
		e.Warn("notify: urgent")
		return nil
	}
	e.Info("notify")
	return nil
}

// Sent returns a copy of the messages so far, oldest first.
func (l *Log) Sent() []Message {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.sent)
}
