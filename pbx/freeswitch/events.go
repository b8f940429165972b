package freeswitch

import (
	"cmp"
	"context"
	"runtime"
	"slices"
	"strconv"
	"sync"

	"github.com/percipia/eslgo"
)

// subscription is what vhold asks FreeSWITCH for, in plain format: eslgo
// does not parse JSON events (it hands them over with no headers at all,
// 06-errors (e)), and "event json" would switch the whole connection. Only
// the events the adapter acts on: on a busy FreeSWITCH "ALL" is thousands
// of events a second that eslgo would hand to a goroutine each.
const subscription = "event plain CHANNEL_PARK CHANNEL_HANGUP CHANNEL_UNBRIDGE DTMF PLAYBACK_START PLAYBACK_STOP RECORD_STOP BACKGROUND_JOB"

// event is one FreeSWITCH event as the dispatcher sees it.
type event struct {
	name  string // Event-Name
	uuid  string // Unique-ID ("" for BACKGROUND_JOB)
	seq   uint64 // Event-Sequence
	epoch int    // the link it came on
	ev    *eslgo.Event
}

// get reads a header through eslgo, which canonicalises the key
// ("Unique-Id", "Variable_vhold_queue") and URL-decodes the value (plain
// events are URL-encoded, traces README fact 3).
func (e *event) get(k string) string { return e.ev.GetHeader(k) }

func newEvent(ev *eslgo.Event, epoch int) *event {
	seq, _ := strconv.ParseUint(ev.GetHeader("Event-Sequence"), 10, 64)
	return &event{name: ev.GetName(), uuid: ev.GetHeader("Unique-ID"), seq: seq, epoch: epoch, ev: ev}
}

// inbox collects events from eslgo's listener goroutines for the one
// dispatcher goroutine.
//
// eslgo starts a goroutine per event per listener (go listener(ev)), so
// events arrive here in no particular order: in 01-inbound-dtmf.app.log
// CHANNEL_CALLSTATE 420 came before CHANNEL_CREATE 419, PLAYBACK_START 436
// before its CHANNEL_EXECUTE 435. The dispatcher restores FreeSWITCH's own
// order: it takes what has arrived, lets the goroutines eslgo has just
// started run (a burst read off the socket together is spawned together),
// and handles the batch sorted by Event-Sequence, which FreeSWITCH assigns
// when it creates an event (fact 7: even the wire is not in that order).
// No time-based hold: a timer would add latency to every key press and
// would stop delivery altogether under a virtual clock. Events that still
// come late are handled in any order by the call state (a hangup is final,
// a PLAYBACK_STOP after it is ignored, a dial settles on whichever of the
// leg's CHANNEL_HANGUP and its BACKGROUND_JOB comes first).
type inbox struct {
	mu   sync.Mutex
	evs  []*event
	wake chan struct{}
}

func newInbox() *inbox { return &inbox{wake: make(chan struct{}, 1)} }

func (b *inbox) put(e *event) {
	b.mu.Lock()
	b.evs = append(b.evs, e)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *inbox) take(dst []*event) []*event {
	b.mu.Lock()
	dst = append(dst, b.evs...)
	clear(b.evs)
	b.evs = b.evs[:0]
	b.mu.Unlock()
	return dst
}

// dispatchLoop is the dispatcher goroutine: it runs from Serve's start to
// its end. It never sends a command (a reply could only come through the
// connection whose events it is handling): it changes call state and wakes
// the goroutines that wait on it.
func (s *Switch) dispatchLoop(ctx context.Context) {
	var batch []*event
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.in.wake:
		}
		for range 3 {
			runtime.Gosched()
		}
		batch = s.in.take(batch[:0])
		slices.SortStableFunc(batch, func(a, b *event) int { return cmp.Compare(a.seq, b.seq) })
		epoch := s.currentEpoch()
		for _, e := range batch {
			// Events of a connection that has since been replaced are
			// stale: the reconcile of the new one read the state back.
			if e.epoch == epoch {
				s.dispatch(e)
			}
		}
		clear(batch)
	}
}
