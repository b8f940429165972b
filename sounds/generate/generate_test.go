package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeCatalog(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "catalog.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadCatalogSay(t *testing.T) {
	p := writeCatalog(t, `
prompts:
  greeting:
    en: "Thank you for calling."
    es: "Gracias por llamar."
  number-premium:
    en: "We cannot call premium-rate numbers."
    es: "No podemos llamar a números de tarificación adicional."
    say:
      en: "We cannot call premium rate numbers."
`)
	c, err := loadCatalog(p, []string{"en", "es"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.keys(); !slices.Equal(got, []string{"greeting", "number-premium"}) {
		t.Errorf("keys = %v", got)
	}
	e := c.Prompts["number-premium"]
	if len(e.Text) != 2 {
		t.Errorf("words = %v, want en and es only (say is not a language)", e.Text)
	}
	for _, tc := range []struct{ key, lang, want string }{
		{"greeting", "en", "Thank you for calling."},
		{"number-premium", "en", "We cannot call premium rate numbers."},
		{"number-premium", "es", "No podemos llamar a números de tarificación adicional."},
	} {
		if got := c.Prompts[tc.key].spoken(tc.lang); got != tc.want {
			t.Errorf("%s/%s spoken = %q, want %q", tc.lang, tc.key, got, tc.want)
		}
	}
}

func TestLoadCatalogGaps(t *testing.T) {
	p := writeCatalog(t, `
prompts:
  greeting:
    en: "Thank you for calling."
  goodbye:
    en: "Goodbye."
    es: " "
    say:
      en: ""
`)
	_, err := loadCatalog(p, []string{"en", "es"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"greeting: no es words", "goodbye: no es words", "goodbye: empty en say"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if _, err := loadCatalog(p, []string{"en"}); err == nil || strings.Contains(err.Error(), "no es") {
		t.Errorf("en only: %v, want only the empty say", err)
	}
}

func TestParseArgs(t *testing.T) {
	o, err := parseArgs([]string{"-lang", "es, en,es", "-only", "greeting,goodbye", "-out", "x"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.langs, []string{"es", "en"}) || !slices.Equal(o.only, []string{"greeting", "goodbye"}) || o.out != "x" {
		t.Errorf("options = %+v", o)
	}
	for _, args := range [][]string{{"-lang", "fr"}, {"-lang", ""}, {"extra"}} {
		if _, err := parseArgs(args); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"greeting.wav", "old.wav", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := &catalog{Prompts: map[string]entry{"greeting": {}}}
	removed, err := removeStale(dir, c)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(dir, "old.wav")}; !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(left) != 2 {
		t.Errorf("left %v", left)
	}
}

// The shipped catalog has every language a voice exists for, and the keys
// the sounds package composes numbers, durations and times from.
func TestShippedCatalog(t *testing.T) {
	c, err := loadCatalog(filepath.Join("..", "catalog.yaml"), voiceLangs())
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"and", "num-hundred", "num-1-m", "num-1-f", "num-21-m", "num-21-f", "num-100", "num-100-plus",
		"unit-minute", "unit-minutes", "unit-hour", "unit-hours", "time-at", "time-at-one", "time-o-clock", "time-oh"}
	for i := range 10 {
		keys = append(keys, fmt.Sprintf("digit-%d", i))
	}
	for i := range 30 {
		keys = append(keys, fmt.Sprintf("num-%d", i))
	}
	for i := 3; i <= 9; i++ {
		keys = append(keys, fmt.Sprintf("num-%d0", i))
	}
	for i := 2; i <= 9; i++ {
		keys = append(keys, fmt.Sprintf("num-%d00", i), fmt.Sprintf("num-%d00-f", i))
	}
	for _, k := range keys {
		if _, ok := c.Prompts[k]; !ok {
			t.Errorf("catalog lacks %s", k)
		}
	}
}
