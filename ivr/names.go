package ivr

import (
	"context"
	"fmt"
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/queue"
)

// nameOf is the recording a caller's name is kept in while their ticket
// lives: one per ticket, so it can be found again from the ticket alone, even
// when the caller hung up before the callback was taken.
func nameOf(id queue.TicketID) string { return fmt.Sprintf("%s%d", namePrefix, id) }

// ForgetNames deletes the recording of a caller's name once their ticket has
// ended (completed, failed, cancelled, abandoned…): the name is kept only as
// long as the agent's whisper may need it. Only queues that record names are
// looked at. The recording is deleted on the switch the caller called in on
// (Ticket.Node), when that switch can delete recordings.
//
// One goroutine does the deleting, so the line is never held up by the PBX;
// the returned stop ends it once the deletions already asked for are done.
func (v *IVR) ForgetNames(ctx context.Context, switches map[string]pbx.Switch) (stop func()) {
	f := &forgetter{v: v, switches: switches, wake: make(chan struct{}, 1)}
	unwatch := v.line.Watch(func(c queue.Change) {
		if c.Ticket == nil || !c.Ticket.State.Final() || !v.options(c.Ticket.Queue).RecordName {
			return
		}
		f.mu.Lock()
		f.todo = append(f.todo, c.Ticket)
		f.mu.Unlock()
		select {
		case f.wake <- struct{}{}:
		default:
		}
	})
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.run(ctx)
	}()
	return func() {
		unwatch()
		cancel()
		<-done
	}
}

type forgetter struct {
	v        *IVR
	switches map[string]pbx.Switch
	wake     chan struct{}

	mu   sync.Mutex
	todo []*queue.Ticket
}

func (f *forgetter) run(ctx context.Context) {
	for {
		f.mu.Lock()
		todo := f.todo
		f.todo = nil
		f.mu.Unlock()
		for _, t := range todo {
			f.forget(context.WithoutCancel(ctx), t)
		}
		if ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
		case <-f.wake:
		}
	}
}

func (f *forgetter) forget(ctx context.Context, t *queue.Ticket) {
	log := f.v.log.WithFields(logrus.Fields{"ticket": t.ID, "queue": t.Queue, "pbx": t.Node})
	sw, ok := f.switches[t.Node].(pbx.RecordingDeleter)
	if !ok {
		if t.Node != "" {
			log.Debug("the switch cannot delete recordings; the caller's name stays")
		}
		return
	}
	name := nameOf(t.ID)
	if err := sw.DeleteRecording(ctx, name); err != nil {
		log.WithError(err).Warn("delete the recording of the caller's name")
		return
	}
	log.WithField("recording", name).Debug("caller's name deleted")
}
