package sounds

import (
	"fmt"
	"time"

	"github.com/vhold/vhold/pbx"
)

// gender is what a Spanish number agrees with: said alone ("uno"), before
// a masculine noun ("un minuto", "veintiún minutos") or before a feminine
// one ("una hora", "doscientas horas"). English has one form for all.
type gender int

const (
	alone gender = iota
	masculine
	feminine
)

// Expand returns the catalog keys that say p in lang, in the order they are
// played. Sounds are one key; numbers, digits, durations and times are
// composed from vhold's own prompts with each language's grammar, so that
// Asterisk and FreeSWITCH say exactly the same words. A recording is not in
// the catalog and cannot be expanded.
func Expand(lang string, p pbx.Prompt) ([]string, error) {
	switch lang {
	case "en", "es":
	default:
		return nil, fmt.Errorf("expand %s: no prompts in language %q", p, lang)
	}
	switch p.Kind {
	case pbx.KindSound:
		return []string{p.Key}, nil
	case pbx.KindDigits:
		out := make([]string, 0, len(p.Key))
		for _, r := range p.Key {
			if r < '0' || r > '9' {
				return nil, fmt.Errorf("expand %s: %q is not a digit", p, r)
			}
			out = append(out, "digit-"+string(r))
		}
		return out, nil
	case pbx.KindNumber:
		return number(lang, p.N, alone), nil
	case pbx.KindDuration:
		return duration(lang, p.D), nil
	case pbx.KindTime:
		return clock(lang, p.D)
	}
	return nil, fmt.Errorf("expand %s: a %s prompt has no catalog keys", p, p.Kind)
}

// ExpandAll expands every prompt, in order.
func ExpandAll(lang string, ps ...pbx.Prompt) ([]string, error) {
	var out []string
	for _, p := range ps {
		ks, err := Expand(lang, p)
		if err != nil {
			return nil, err
		}
		out = append(out, ks...)
	}
	return out, nil
}

// number says n (0 and up). Beyond 999 it reads the digits, which a caller
// understands as well as "one thousand two hundred…" and needs no more prompts.
func number(lang string, n int, g gender) []string {
	if n < 0 {
		n = 0
	}
	if n > 999 {
		var out []string
		for _, r := range fmt.Sprint(n) {
			out = append(out, "digit-"+string(r))
		}
		return out
	}
	if lang == "es" {
		return numberES(n, g)
	}
	return numberEN(n)
}

func numberEN(n int) []string {
	switch {
	case n < 20:
		return []string{key("num", n)}
	case n < 100:
		out := []string{key("num", n/10*10)}
		if n%10 != 0 {
			out = append(out, key("num", n%10))
		}
		return out
	}
	out := []string{key("num", n/100), "num-hundred"}
	if n%100 != 0 {
		out = append(out, "and")
		out = append(out, numberEN(n%100)...)
	}
	return out
}

func numberES(n int, g gender) []string {
	switch {
	case n == 1 || n == 21:
		switch g {
		case masculine:
			return []string{key("num", n) + "-m"}
		case feminine:
			return []string{key("num", n) + "-f"}
		}
		return []string{key("num", n)}
	case n < 30:
		return []string{key("num", n)}
	case n < 100:
		out := []string{key("num", n/10*10)}
		if n%10 != 0 {
			out = append(out, "and")
			out = append(out, numberES(n%10, g)...)
		}
		return out
	case n == 100:
		return []string{"num-100"}
	case n < 200:
		return append([]string{"num-100-plus"}, numberES(n%100, g)...)
	}
	h := key("num", n/100*100)
	if g == feminine {
		h += "-f"
	}
	out := []string{h}
	if n%100 != 0 {
		out = append(out, numberES(n%100, g)...)
	}
	return out
}

// duration says a wait in minutes, or hours and minutes: "25 minutes",
// "1 hour and 5 minutes", "una hora y cinco minutos". It rounds to the
// minute; the IVR has already rounded to what a person would say.
func duration(lang string, d time.Duration) []string {
	m := int(d.Round(time.Minute) / time.Minute)
	h, m := m/60, m%60
	var out []string
	if h > 0 {
		out = append(out, number(lang, h, feminine)...)
		out = append(out, plural("unit-hour", h))
		if m == 0 {
			return out
		}
		out = append(out, "and")
	}
	out = append(out, number(lang, m, masculine)...)
	return append(out, plural("unit-minute", m))
}

func plural(unit string, n int) string {
	if n == 1 {
		return unit
	}
	return unit + "s"
}

// clock says a time of day with its "at": "at nine thirty", "at nine oh
// five", "at five o'clock" (12-hour in English, where the context gives the
// half of the day); "a las nueve y treinta", "a la una en punto" (24-hour,
// feminine, as Spanish says hours).
func clock(lang string, d time.Duration) ([]string, error) {
	if d < 0 || d >= 24*time.Hour {
		return nil, fmt.Errorf("expand time %s: not a time of day", d)
	}
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	var out []string
	if lang == "es" {
		if h == 1 {
			out = append(out, "time-at-one")
		} else {
			out = append(out, "time-at")
		}
		out = append(out, number(lang, h, feminine)...)
		if m == 0 {
			return append(out, "time-o-clock"), nil
		}
		out = append(out, "time-oh")
		return append(out, number(lang, m, alone)...), nil
	}
	h12 := h % 12
	if h12 == 0 {
		h12 = 12
	}
	out = append(out, "time-at")
	out = append(out, number(lang, h12, alone)...)
	switch {
	case m == 0:
		out = append(out, "time-o-clock")
	case m < 10:
		out = append(out, "time-oh")
		out = append(out, number(lang, m, alone)...)
	default:
		out = append(out, number(lang, m, alone)...)
	}
	return out, nil
}

func key(prefix string, n int) string { return fmt.Sprintf("%s-%d", prefix, n) }

// ComposeKeys lists every key Expand can produce for numbers, digits,
// durations and times in lang, so the catalog test can demand audio for all
// of them.
func ComposeKeys(lang string) []string {
	seen := map[string]bool{}
	add := func(ks []string) {
		for _, k := range ks {
			seen[k] = true
		}
	}
	for n := 0; n <= 999; n++ {
		add(number(lang, n, alone))
		add(number(lang, n, masculine))
		add(number(lang, n, feminine))
	}
	for d := 0; d < 10; d++ {
		add([]string{key("digit", d)})
	}
	for m := 0; m <= 24*60; m++ {
		add(duration(lang, time.Duration(m)*time.Minute))
	}
	for m := 0; m < 24*60; m++ {
		ks, _ := clock(lang, time.Duration(m)*time.Minute)
		add(ks)
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}
