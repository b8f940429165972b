package sounds

import (
	"strings"
	"testing"
	"time"

	"github.com/vhold/vhold/pbx"
)

// words turns keys into the words the catalog gives them, so the cases
// below read as what the caller hears.
func words(t *testing.T, c *Catalog, lang string, keys []string) string {
	t.Helper()
	var out []string
	for _, k := range keys {
		w, ok := c.Text(k, lang)
		if !ok {
			t.Fatalf("key %q has no %s text in the catalog", k, lang)
		}
		out = append(out, strings.TrimRight(w, "."))
	}
	return strings.Join(out, " ")
}

func TestCompose(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		lang string
		p    pbx.Prompt
		keys string // the keys, space separated
	}{
		// English numbers.
		{"en", pbx.Number(0), "num-0"},
		{"en", pbx.Number(4), "num-4"},
		{"en", pbx.Number(14), "num-14"},
		{"en", pbx.Number(20), "num-20"},
		{"en", pbx.Number(45), "num-40 num-5"},
		{"en", pbx.Number(100), "num-1 num-hundred"},
		{"en", pbx.Number(125), "num-1 num-hundred and num-20 num-5"},
		{"en", pbx.Number(999), "num-9 num-hundred and num-90 num-9"},
		{"en", pbx.Number(1234), "digit-1 digit-2 digit-3 digit-4"},
		// Spanish numbers: alone ("el número uno"), the veinti- forms, cien/ciento.
		{"es", pbx.Number(1), "num-1"},
		{"es", pbx.Number(21), "num-21"},
		{"es", pbx.Number(23), "num-23"},
		{"es", pbx.Number(31), "num-30 and num-1"},
		{"es", pbx.Number(100), "num-100"},
		{"es", pbx.Number(101), "num-100-plus num-1"},
		{"es", pbx.Number(115), "num-100-plus num-15"},
		{"es", pbx.Number(200), "num-200"},
		{"es", pbx.Number(521), "num-500 num-21"},
		{"es", pbx.Number(999), "num-900 num-90 and num-9"},
		// Digits.
		{"en", pbx.Digits("4321"), "digit-4 digit-3 digit-2 digit-1"},
		{"es", pbx.Digits("0"), "digit-0"},
		// English durations.
		{"en", pbx.Duration(time.Minute), "num-1 unit-minute"},
		{"en", pbx.Duration(25 * time.Minute), "num-20 num-5 unit-minutes"},
		{"en", pbx.Duration(time.Hour), "num-1 unit-hour"},
		{"en", pbx.Duration(2*time.Hour + 15*time.Minute), "num-2 unit-hours and num-15 unit-minutes"},
		{"en", pbx.Duration(89 * time.Second), "num-1 unit-minute"},
		// Spanish durations: minutes are masculine (un, veintiún), hours feminine (una, veintiuna, doscientas).
		{"es", pbx.Duration(time.Minute), "num-1-m unit-minute"},
		{"es", pbx.Duration(21 * time.Minute), "num-21-m unit-minutes"},
		{"es", pbx.Duration(31 * time.Minute), "num-30 and num-1-m unit-minutes"},
		{"es", pbx.Duration(time.Hour + 5*time.Minute), "num-1-f unit-hour and num-5 unit-minutes"},
		{"es", pbx.Duration(21 * time.Hour), "num-21-f unit-hours"},
		{"es", pbx.Duration(200 * time.Hour), "num-200-f unit-hours"},
		{"es", pbx.Duration(201 * time.Minute), "num-3 unit-hours and num-21-m unit-minutes"},
		// Times.
		{"en", pbx.Time(9, 0), "time-at num-9 time-o-clock"},
		{"en", pbx.Time(9, 30), "time-at num-9 num-30"},
		{"en", pbx.Time(9, 5), "time-at num-9 time-oh num-5"},
		{"en", pbx.Time(17, 45), "time-at num-5 num-40 num-5"},
		{"en", pbx.Time(0, 0), "time-at num-12 time-o-clock"},
		{"es", pbx.Time(9, 0), "time-at num-9 time-o-clock"},
		{"es", pbx.Time(1, 15), "time-at-one num-1-f time-oh num-15"},
		{"es", pbx.Time(21, 30), "time-at num-21-f time-oh num-30"},
		// Sounds pass through.
		{"es", pbx.Sound("greeting"), "greeting"},
	}
	for _, tc := range cases {
		t.Run(tc.lang+"/"+tc.p.String(), func(t *testing.T) {
			got, err := Expand(tc.lang, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if g := strings.Join(got, " "); g != tc.keys {
				t.Fatalf("Expand(%s, %s) = %q, want %q", tc.lang, tc.p, g, tc.keys)
			}
			t.Logf("%s: %q", tc.p, words(t, c, tc.lang, got))
		})
	}
}

// The Spanish sentences a caller hears, in full: the agreement is the point.
func TestSpanishSentences(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		p    pbx.Prompt
		want string
	}{
		{pbx.Duration(time.Minute), "un minuto"},
		{pbx.Duration(21 * time.Minute), "veintiún minutos"},
		{pbx.Duration(time.Hour), "una hora"},
		{pbx.Duration(time.Hour + 21*time.Minute), "una hora y veintiún minutos"},
		{pbx.Duration(200 * time.Hour), "doscientas horas"},
		{pbx.Number(21), "veintiuno"},
		{pbx.Number(101), "ciento uno"},
		{pbx.Time(1, 0), "a la una en punto"},
	}
	for _, tc := range cases {
		keys, err := Expand("es", tc.p)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.ToLower(words(t, c, "es", keys)); got != tc.want {
			t.Errorf("%s says %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestExpandRefuses(t *testing.T) {
	for _, tc := range []struct {
		lang string
		p    pbx.Prompt
	}{
		{"fr", pbx.Sound("greeting")},
		{"en", pbx.Digits("12a")},
		{"en", pbx.Clip(pbx.Recording{Name: "x"})},
		{"en", pbx.Prompt{Kind: pbx.KindTime, D: 25 * time.Hour}},
	} {
		if _, err := Expand(tc.lang, tc.p); err == nil {
			t.Errorf("Expand(%s, %s) succeeded", tc.lang, tc.p)
		}
	}
}
