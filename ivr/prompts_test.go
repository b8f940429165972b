package ivr

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vhold/vhold/pbx"
	"github.com/vhold/vhold/phone"
)

func TestPromptKeysAreUniqueAndSorted(t *testing.T) {
	keys := PromptKeys()
	if !slices.IsSorted(keys) {
		t.Errorf("PromptKeys not sorted: %v", keys)
	}
	if c := slices.Compact(slices.Clone(keys)); len(c) != len(keys) {
		t.Errorf("PromptKeys has duplicates: %v", keys)
	}
	for _, k := range keys {
		if k == "" {
			t.Error("empty prompt key")
		}
	}
}

func TestConfigPromptKeys(t *testing.T) {
	cfg := Config{Queues: map[string]QueueOptions{
		"support": {Reasons: []Reason{{Key: "1", Category: "money", Prompt: "reason-billing"}, {Key: "2", Category: "access", Prompt: "reason-login"}}},
		"sales":   {Reasons: []Reason{{Key: "1", Category: "money", Prompt: "reason-billing"}}},
	}}
	want := []string{"category-access", "category-money", "queue-sales", "queue-support", "reason-billing", "reason-login"}
	if got := cfg.PromptKeys(); !slices.Equal(got, want) {
		t.Errorf("Config.PromptKeys() = %v, want %v", got, want)
	}
}

func TestSlotPrompts(t *testing.T) {
	madrid, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	// Thursday 2026-03-05 22:30 in Madrid.
	now := time.Date(2026, 3, 5, 22, 30, 0, 0, madrid)
	tests := []struct {
		name string
		slot time.Time
		loc  *time.Location
		want string
	}{
		{"later today", time.Date(2026, 3, 5, 23, 15, 0, 0, madrid), madrid, "[sound:day-today time:23:15]"},
		{"tomorrow on the hour", time.Date(2026, 3, 6, 9, 0, 0, 0, madrid), madrid, "[sound:day-tomorrow time:09:00]"},
		{"after the weekend", time.Date(2026, 3, 9, 8, 30, 0, 0, madrid), madrid, "[sound:day-monday time:08:30]"},
		// The slot comes in UTC from the clock; it is said in the queue's zone.
		{"utc slot in the queue's zone", time.Date(2026, 3, 6, 8, 0, 0, 0, time.UTC), madrid, "[sound:day-tomorrow time:09:00]"},
		{"no zone: the slot's own", time.Date(2026, 3, 6, 8, 0, 0, 0, time.UTC), nil, "[sound:day-tomorrow time:08:00]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fmt.Sprint(slotPrompts(tt.slot, now, tt.loc)); got != tt.want {
				t.Errorf("slotPrompts = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestRefusal(t *testing.T) {
	tests := []struct {
		raw  string
		want string
	}{
		{"12", PromptNumberInvalid},
		{"803123456", PromptNumberPremium},    // Spanish premium rate
		{"902123456", PromptNumberSharedCost}, // Spanish shared cost
		{"+442071838750", PromptNumberCountry},
	}
	for _, tt := range tests {
		_, err := phone.Parse(tt.raw, "ES", phone.Policy{AllowedRegions: []string{"ES"}})
		if err == nil {
			t.Fatalf("phone.Parse(%q) accepted", tt.raw)
		}
		if got := refusal(err); got != tt.want {
			t.Errorf("refusal(%v) = %s, want %s", err, got, tt.want)
		}
	}
	if got := refusal(errors.New("other")); got != PromptNumberInvalid {
		t.Errorf("refusal(other) = %s", got)
	}
}

func TestVoiceStampsLanguage(t *testing.T) {
	v := voice{lang: "es"}
	got := v.stamp([]pbx.Prompt{pbx.Sound("greeting"), {Kind: pbx.KindSound, Key: "x", Language: "en"}})
	if got[0].Language != "es" || got[1].Language != "en" {
		t.Errorf("stamp = %+v", got)
	}
}
