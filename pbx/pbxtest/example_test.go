package pbxtest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/pbx/pbxtest"
)

// A flow test: a caller who takes the callback offer and keys another
// number, then the callback that confirms with 1.
func Example() {
	start := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	sim := pbxtest.NewSim(start)
	sw := pbxtest.NewSwitch(sim, "pbx1", pbxtest.Options{Seed: 1})

	caller := sw.Dial(start, pbxtest.Caller{Number: "+34911234567", Queue: "support", Script: []pbxtest.Action{
		pbxtest.PressOn{Prompt: "offer-callback", Keys: "1", Delay: time.Second},
		pbxtest.PressOn{Prompt: "confirm-number", Keys: "2"},
		pbxtest.PressOn{Prompt: "enter-number", Keys: "612345678#"},
	}})
	sw.Customer("+34612345678", pbxtest.Attempts{
		pbxtest.NoAnswer(),
		pbxtest.Answers(3*time.Second, pbxtest.PressOn{Prompt: "callback-intro", Keys: "1"}),
	})

	flow := func(ctx context.Context, c pbx.Call) {
		_ = c.Answer(ctx)
		k, _ := c.Play(ctx, pbx.PlayOptions{Interrupt: "1"}, pbx.Sound("offer-callback"))
		if k != "1" {
			return
		}
		k, _ = c.Play(ctx, pbx.PlayOptions{Interrupt: "12"}, pbx.Sound("confirm-number"), pbx.Digits("4567"))
		number := c.Caller().Number
		if k == "2" {
			d, _ := c.Collect(ctx, pbx.CollectOptions{Prompts: []pbx.Prompt{pbx.Sound("enter-number")},
				Max: 15, Terminator: "#", FirstTimeout: 8 * time.Second, InterTimeout: 4 * time.Second})
			number = "+34" + d
		}
		_ = c.Hangup(ctx, pbx.CauseNormal)
		for attempt := 1; ; attempt++ {
			cb, err := sw.Originate(ctx, pbx.Originate{
				ID: fmt.Sprintf("cb-%d", attempt), Endpoint: "PJSIP/" + number + "@trunk", Timeout: 25 * time.Second,
			})
			if err != nil {
				_ = sim.Sleep(ctx, 2*time.Minute)
				continue
			}
			k, _ := cb.Play(ctx, pbx.PlayOptions{Interrupt: "1"}, pbx.Sound("callback-intro"))
			fmt.Println("callback answered, key", k)
			_ = cb.Hangup(ctx, pbx.CauseNormal)
			return
		}
	}

	ctx, stop := context.WithCancel(context.Background())
	sim.Go(func() { _ = sw.Serve(ctx, flow) })
	sim.RunFor(time.Hour)
	stop()
	sim.RunFor(0)

	fmt.Print(caller.Transcript())
	for _, o := range sw.Originations() {
		fmt.Println(o.ID, o.Endpoint, o.Done.Format(time.TimeOnly), o.Outcome, o.Cause)
	}
	// Output:
	// callback answered, key 1
	// 09:00:00.000 incoming from +34911234567 for queue support
	// 09:00:00.000 answer
	// 09:00:00.000 play sound:offer-callback
	// 09:00:01.000 key 1
	// 09:00:01.000 play sound:confirm-number
	// 09:00:01.000 key 2
	// 09:00:01.000 play sound:enter-number
	// 09:00:01.000 key 6
	// 09:00:01.300 key 1
	// 09:00:01.600 key 2
	// 09:00:01.900 key 3
	// 09:00:02.200 key 4
	// 09:00:02.500 key 5
	// 09:00:02.800 key 6
	// 09:00:03.100 key 7
	// 09:00:03.400 key 8
	// 09:00:03.700 key #
	// 09:00:03.700 collected 612345678 (terminator #)
	// 09:00:03.700 hangup normal
	// cb-1 PJSIP/+34612345678@trunk 09:00:28 no-answer 19 User alerting, no answer (SIP 480)
	// cb-2 PJSIP/+34612345678@trunk 09:02:31 answered
}
