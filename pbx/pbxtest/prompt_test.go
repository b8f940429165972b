package pbxtest

import (
	"testing"
	"time"

	"github.com/vhold/vhold/pbx"
)

func TestDefaultPromptDuration(t *testing.T) {
	tests := []struct {
		p    pbx.Prompt
		want time.Duration
	}{
		{pbx.Sound("greeting"), 2 * time.Second},
		{pbx.Number(7), 600 * time.Millisecond},                   // seven
		{pbx.Number(40), 600 * time.Millisecond},                  // forty
		{pbx.Number(25), 1200 * time.Millisecond},                 // twenty five
		{pbx.Number(300), 1200 * time.Millisecond},                // three hundred
		{pbx.Number(125), 2400 * time.Millisecond},                // one hundred twenty five
		{pbx.Number(2026), 2400 * time.Millisecond},               // two thousand twenty six
		{pbx.Number(-3), 1200 * time.Millisecond},                 // minus three
		{pbx.Number(1_500_000), 3000 * time.Millisecond},          // one million five hundred thousand
		{pbx.Digits("4321"), 2400 * time.Millisecond},             // four three two one
		{pbx.Duration(25 * time.Minute), 1500 * time.Millisecond}, // about 25 minutes
		{pbx.Clip(pbx.Recording{Name: "unknown"}), 0},             // not recorded on this switch
	}
	for _, tt := range tests {
		if got := DefaultPromptDuration(tt.p); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.p, got, tt.want)
		}
	}
}
