package esltest

import "testing"

// One test per trace scenario of shared/pbx/freeswitch/traces/README.md.
// Each replays the trace against the fake (replay_test.go) and fails on any
// difference compare_test.go does not allow for.

func TestConformanceInboundDTMF(t *testing.T) {
	t.Parallel()
	runScenario(t, scenario{file: "01-inbound-dtmf.wire.jsonl", dest: "200"})
}

func TestConformanceHold(t *testing.T) {
	t.Parallel()
	runScenario(t, scenario{file: "02-hold.wire.jsonl", dest: "200"})
}

func TestConformanceOriginateAnswer(t *testing.T) {
	t.Parallel()
	runScenario(t, scenario{file: "03-originate-answer.wire.jsonl", dest: "200"})
}

func TestConformanceOriginateFail(t *testing.T) {
	t.Parallel()
	runScenario(t, scenario{file: "04-originate-fail.wire.jsonl", dest: "200"})
}

func TestConformanceOutboundMode(t *testing.T) {
	t.Parallel()
	runScenario(t, scenario{file: "05-outbound-mode.wire.jsonl", outbound: true})
}

func TestConformanceErrors(t *testing.T) {
	t.Parallel()
	runScenario(t, scenario{file: "06-errors.wire.jsonl", dest: "200"})
}
