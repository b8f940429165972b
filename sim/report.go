package sim

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/vhold/vhold/ivr"
	"github.com/vhold/vhold/pbx/pbxtest"
	"github.com/vhold/vhold/queue"
)

// Report is what a run did, read from the journal (the audit trail every
// figure must be traceable to) and the switch's call records.
type Report struct {
	Window      time.Duration // virtual time the run covered
	Agents      int
	Callers     int // live callers who entered the line
	Offered     int // callers who heard the callback offer
	Accepted    int // callers who converted to a callback
	Completed   int // callbacks that reached an agent and ended normally
	Failed      int // callbacks given up, with a reason
	FailReasons map[string]int
	Pending     int // callbacks still open at the end
	// Live callers served on the line, and their hold times.
	LiveServed            int
	LiveAbandoned         int
	HoldMean, HoldP90     time.Duration
	HoldSaved             time.Duration // time callbacks spent waiting off the phone
	Attempts              int           // callback dial attempts
	Occupancy             float64       // agents' talk time / (agents × window)
	Dials, DuplicateDials int           // originations, and repeats of the same call id
}

// Summarize builds the report from the journal's transitions.
func Summarize(trs []queue.Transition, sw *pbxtest.Switch, agents int, window time.Duration) Report {
	r := Report{Window: window, Agents: agents, FailReasons: map[string]int{}}
	type life struct {
		joined, converted, connected time.Time
		live, callback               bool
		final                        queue.State
	}
	lives := map[queue.TicketID]*life{}
	var holds []time.Duration
	var talk time.Duration
	for _, tr := range trs {
		l := lives[tr.Ticket]
		if l == nil {
			l = &life{}
			lives[tr.Ticket] = l
		}
		switch tr.Event {
		case queue.EvJoin:
			l.joined = tr.At
			l.live = strings.HasSuffix(tr.Reason, string(queue.Live))
			if l.live {
				r.Callers++
			} else {
				l.callback = true
			}
		case queue.EvConvert, queue.EvSchedule:
			l.converted, l.callback = tr.At, true
			r.Accepted++
		case queue.EvDial:
			r.Attempts++
		case queue.EvConnect:
			l.connected = tr.At
			if l.callback {
				r.HoldSaved += tr.At.Sub(l.converted)
			} else {
				r.LiveServed++
				holds = append(holds, tr.At.Sub(l.joined))
			}
		case queue.EvComplete:
			if !l.connected.IsZero() {
				talk += tr.At.Sub(l.connected)
			}
		}
		if tr.To.Final() {
			l.final = tr.To
			switch {
			case l.callback && tr.To == queue.Completed:
				r.Completed++
			case l.callback && tr.To == queue.Failed:
				r.Failed++
				r.FailReasons[failKind(tr.Reason)]++
			case l.live && !l.callback && tr.To == queue.Abandoned:
				r.LiveAbandoned++
			}
		}
	}
	for _, l := range lives {
		if l.callback && l.final == "" {
			r.Pending++
		}
	}
	if len(holds) > 0 {
		sort.Slice(holds, func(i, j int) bool { return holds[i] < holds[j] })
		var sum time.Duration
		for _, h := range holds {
			sum += h
		}
		r.HoldMean = sum / time.Duration(len(holds))
		r.HoldP90 = holds[(len(holds)*9)/10]
	}
	if agents > 0 && window > 0 {
		r.Occupancy = float64(talk) / (float64(agents) * float64(window))
	}
	if sw != nil {
		ids := map[string]int{}
		for _, o := range sw.Originations() {
			r.Dials++
			ids[o.ID]++
			if ids[o.ID] > 1 {
				r.DuplicateDials++
			}
		}
		for _, c := range sw.Calls() {
			for _, s := range c.Transcript() {
				if strings.Contains(s.What, "sound:"+ivr.PromptOfferCallback) {
					r.Offered++
					break
				}
			}
		}
	}
	return r
}

// failKind shortens a fail reason to its kind for the summary.
func failKind(reason string) string {
	for _, k := range []string{"no-answer", "busy", "invalid", "unreachable", "voicemail", "hung up", "restart"} {
		if strings.Contains(reason, k) {
			return k
		}
	}
	return reason
}

// Print writes the report as the summary `vhold demo` ends with.
func (r Report) Print(w io.Writer) {
	fmt.Fprintf(w, "window          %s, %d agents\n", r.Window, r.Agents)
	fmt.Fprintf(w, "callers         %d\n", r.Callers)
	fmt.Fprintf(w, "offered         %d\n", r.Offered)
	fmt.Fprintf(w, "callbacks       %d accepted, %d completed, %d failed, %d still open\n", r.Accepted, r.Completed, r.Failed, r.Pending)
	if len(r.FailReasons) > 0 {
		keys := make([]string, 0, len(r.FailReasons))
		for k := range r.FailReasons {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %d", k, r.FailReasons[k]))
		}
		fmt.Fprintf(w, "  failed by     %s\n", strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "callback dials  %d attempts, %d originations (%d repeated ids)\n", r.Attempts, r.Dials, r.DuplicateDials)
	fmt.Fprintf(w, "live callers    %d served, %d hung up while holding\n", r.LiveServed, r.LiveAbandoned)
	fmt.Fprintf(w, "hold time       mean %s, p90 %s (callers served on the line)\n", r.HoldMean.Round(time.Second), r.HoldP90.Round(time.Second))
	fmt.Fprintf(w, "hold saved      %s off the phone for callback customers\n", r.HoldSaved.Round(time.Minute))
	fmt.Fprintf(w, "occupancy       %.0f%%\n", 100*r.Occupancy)
}
