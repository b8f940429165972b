package aritest

import "testing"

// One test per trace scenario of shared/pbx/asterisk/traces/README.md. Each
// replays the trace against the fake (see replay_test.go) and fails on any
// difference in REST statuses and bodies, event order and bodies (ChannelVarset
// aside), or the SIP messages each sipp party saw.

func TestConformanceInboundDTMF(t *testing.T) {
	t.Parallel()
	runScenario(t, scenario{file: "inbound-dtmf.jsonl"})
}

func TestConformanceHoldBridge(t *testing.T) {
	t.Parallel()
	runScenario(t, scenario{file: "hold-bridge.jsonl"})
}

func TestConformanceCallerAbandon(t *testing.T) {
	t.Parallel()
	runScenario(t, scenario{file: "caller-abandon.jsonl"})
}

func TestConformanceOriginateAnswer(t *testing.T) {
	t.Parallel()
	runScenario(t, scenario{file: "originate-answer.jsonl", anyOrder: [][]int{
		// Dial RINGING before ChannelStateChange Ringing here, after it for
		// agent2 in the same trace (seq 75-76): the fake sends the latter.
		{17, 18},
		// The caller's ChannelConnectedLine before agent2's; agent1's came
		// first in seq 40/48 and callback-flow.jsonl seq 81/86.
		{95, 100},
	}})
}

func TestConformanceOriginateFail(t *testing.T) {
	t.Parallel()
	runScenario(t, scenario{file: "originate-fail.jsonl", anyOrder: [][]int{
		// Dial RINGING, DeviceStateChanged, ChannelStateChange here; the
		// reverse for the created channel's dial (seq 88-90).
		{26, 27, 28},
	}})
}

func TestConformanceErrors(t *testing.T) {
	t.Parallel()
	runScenario(t, scenario{file: "errors.jsonl"})
}

func TestConformanceDisconnect(t *testing.T) {
	t.Parallel()
	runScenario(t, scenario{file: "disconnect.jsonl"})
}

func TestConformanceCallbackFlow(t *testing.T) {
	t.Parallel()
	runScenario(t, scenario{file: "callback-flow.jsonl"})
}
