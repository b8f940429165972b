package hours

import (
	"errors"
	"testing"
	"time"
)

func mustParse(t *testing.T, tz string, open, holidays []string) *Schedule {
	t.Helper()
	s, err := Parse(tz, open, holidays)
	if err != nil {
		t.Fatalf("Parse(%q, %q, %q): %v", tz, open, holidays, err)
	}
	return s
}

// at reads a local time in Europe/Madrid with an explicit offset, so each test
// case says which side of a DST change it means.
func at(t *testing.T, s string) time.Time {
	t.Helper()
	u, err := time.Parse("2006-01-02 15:04 -0700", s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

var (
	office  = []string{"mon-fri 08:00-18:00", "sat 09:00-13:00", "sun closed"}
	madrid  = "Europe/Madrid"
	xmas    = []string{"2026-12-25", "2027-01-01"}
	aroundC = []string{"daily 00:00-24:00"}
)

func TestOpen(t *testing.T) {
	tests := []struct {
		name     string
		open     []string
		holidays []string
		at       string
		want     bool
	}{
		{"weekday morning", office, nil, "2026-06-03 08:00 +0200", true},
		{"weekday before opening", office, nil, "2026-06-03 07:59 +0200", false},
		{"closing minute is closed", office, nil, "2026-06-03 18:00 +0200", false},
		{"saturday", office, nil, "2026-06-06 12:59 +0200", true},
		{"saturday afternoon", office, nil, "2026-06-06 13:00 +0200", false},
		{"sunday", office, nil, "2026-06-07 10:00 +0200", false},
		{"holiday", office, xmas, "2026-12-25 10:00 +0100", false},
		{"day after holiday", office, xmas, "2026-12-28 10:00 +0100", true},
		{"instant given in UTC", office, nil, "2026-06-03 06:30 +0000", true},
		{"instant given in UTC, closed in Madrid", office, nil, "2026-06-03 16:30 +0000", false},
		{"empty list is 24/7", nil, nil, "2026-06-07 03:00 +0200", true},
		{"empty list keeps holidays", nil, xmas, "2026-12-25 03:00 +0100", false},
		{"closed wins over daily", []string{"daily 09:00-17:00", "sun closed"}, nil, "2026-06-07 10:00 +0200", false},
		{"closed wins whatever the order", []string{"sun closed", "daily 09:00-17:00"}, nil, "2026-06-07 10:00 +0200", false},
		{"ranges add up", []string{"mon-fri 08:00-14:00", "mon,wed 16:00-20:00"}, nil, "2026-06-03 17:00 +0200", true},
		{"ranges add up, other day", []string{"mon-fri 08:00-14:00", "mon,wed 16:00-20:00"}, nil, "2026-06-04 17:00 +0200", false},
		{"split shift", []string{"mon-fri 08:00-14:00, 16:00-19:00"}, nil, "2026-06-03 15:00 +0200", false},
		{"overnight tail", []string{"fri 22:00-02:00"}, nil, "2026-06-06 01:30 +0200", true},
		{"overnight tail on a holiday", []string{"fri 22:00-02:00"}, []string{"2026-06-06"}, "2026-06-06 01:30 +0200", false},
		{"week wrap", []string{"fri-mon 10:00-12:00"}, nil, "2026-06-07 11:00 +0200", true},
		{"week wrap excludes tue", []string{"fri-mon 10:00-12:00"}, nil, "2026-06-09 11:00 +0200", false},
		{"repeated hour first pass", []string{"sun 02:00-02:30"}, nil, "2026-10-25 02:15 +0200", true},
		{"repeated hour second pass", []string{"sun 02:00-02:30"}, nil, "2026-10-25 02:15 +0100", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, madrid, tt.open, tt.holidays)
			if got := s.Open(at(t, tt.at)); got != tt.want {
				t.Errorf("Open(%s) = %v, want %v", tt.at, got, tt.want)
			}
		})
	}
}

func TestClosesAt(t *testing.T) {
	tests := []struct {
		name     string
		open     []string
		holidays []string
		at       string
		want     string // "" means ok == false
	}{
		{"weekday", office, nil, "2026-06-03 09:00 +0200", "2026-06-03 18:00 +0200"},
		{"closed", office, nil, "2026-06-03 19:00 +0200", ""},
		{"24/7 never closes", nil, nil, "2026-06-03 19:00 +0200", ""},
		{"daily 00:00-24:00 never closes", aroundC, nil, "2026-03-28 23:00 +0100", ""},
		{"24/7 closes for a holiday", nil, xmas, "2026-12-24 09:00 +0100", "2026-12-25 00:00 +0100"},
		{"merges over midnight", []string{"mon-fri 20:00-24:00", "tue-sat 00:00-06:00"}, nil, "2026-06-01 21:00 +0200", "2026-06-02 06:00 +0200"},
		{"overnight range", []string{"mon-fri 20:00-06:00"}, nil, "2026-06-01 21:00 +0200", "2026-06-02 06:00 +0200"},
		{"merge stops at a holiday", []string{"mon-fri 20:00-06:00"}, []string{"2026-06-02"}, "2026-06-01 21:00 +0200", "2026-06-02 00:00 +0200"},
		{"touching ranges merge", []string{"mon 08:00-12:00", "mon 12:00-14:00"}, nil, "2026-06-01 09:00 +0200", "2026-06-01 14:00 +0200"},
		// Spring forward: 02:00 CET becomes 03:00 CEST on 2026-03-29.
		{"period across spring forward", []string{"sun 01:00-04:00"}, nil, "2026-03-29 01:30 +0100", "2026-03-29 04:00 +0200"},
		{"period ending in the skipped hour", []string{"sun 00:00-02:30"}, nil, "2026-03-29 01:30 +0100", "2026-03-29 03:00 +0200"},
		// Fall back: 03:00 CEST becomes 02:00 CET on 2026-10-25.
		{"period across fall back", []string{"sun 01:00-04:00"}, nil, "2026-10-25 01:30 +0200", "2026-10-25 04:00 +0100"},
		{"period ending in the repeated hour, first pass", []string{"sun 00:00-02:30"}, nil, "2026-10-25 01:00 +0200", "2026-10-25 02:30 +0200"},
		{"repeated hour lived twice", []string{"sun 02:00-03:00"}, nil, "2026-10-25 02:15 +0200", "2026-10-25 03:00 +0100"},
		{"utc schedule", []string{"daily 09:00-17:00"}, nil, "2026-06-03 10:00 +0000", "2026-06-03 17:00 +0000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tz := madrid
			if tt.name == "utc schedule" {
				tz = ""
			}
			s := mustParse(t, tz, tt.open, tt.holidays)
			got, ok := s.ClosesAt(at(t, tt.at))
			if tt.want == "" {
				if ok {
					t.Fatalf("ClosesAt(%s) = %v, want none", tt.at, got)
				}
				return
			}
			want := at(t, tt.want)
			if !ok || !got.Equal(want) {
				t.Fatalf("ClosesAt(%s) = %v, %v; want %v", tt.at, got, ok, want)
			}
			if s.Open(got) || !s.Open(got.Add(-time.Second)) {
				t.Errorf("ClosesAt(%s) = %v is not where Open turns false", tt.at, got)
			}
		})
	}
}

func TestNextOpen(t *testing.T) {
	tests := []struct {
		name     string
		open     []string
		holidays []string
		at       string
		want     string
	}{
		{"open now", office, nil, "2026-06-03 09:00 +0200", "2026-06-03 09:00 +0200"},
		{"before opening", office, nil, "2026-06-03 06:00 +0200", "2026-06-03 08:00 +0200"},
		{"friday evening to saturday", office, nil, "2026-06-05 18:00 +0200", "2026-06-06 09:00 +0200"},
		{"saturday afternoon to monday", office, nil, "2026-06-06 13:00 +0200", "2026-06-08 08:00 +0200"},
		{"over christmas", office, xmas, "2026-12-24 18:30 +0100", "2026-12-26 09:00 +0100"},
		{"over new year", []string{"mon-fri 08:00-18:00"}, xmas, "2026-12-31 18:30 +0100", "2027-01-04 08:00 +0100"},
		{"24/7 after a holiday", nil, xmas, "2026-12-25 12:00 +0100", "2026-12-26 00:00 +0100"},
		{"opening in the skipped hour", []string{"sun 02:30-05:00"}, nil, "2026-03-29 00:00 +0100", "2026-03-29 03:00 +0200"},
		{"opening after spring forward", []string{"sun 09:00-10:00"}, nil, "2026-03-29 00:00 +0100", "2026-03-29 09:00 +0200"},
		{"opening after fall back", []string{"sun 09:00-10:00"}, nil, "2026-10-25 00:00 +0200", "2026-10-25 09:00 +0100"},
		{"repeated hour reopens", []string{"sun 02:00-02:30"}, nil, "2026-10-25 02:45 +0200", "2026-10-25 02:00 +0100"},
		{"week wrap", []string{"fri-mon 10:00-12:00"}, nil, "2026-06-08 12:00 +0200", "2026-06-12 10:00 +0200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, madrid, tt.open, tt.holidays)
			got := s.NextOpen(at(t, tt.at))
			if want := at(t, tt.want); !got.Equal(want) {
				t.Fatalf("NextOpen(%s) = %v, want %v", tt.at, got, want)
			}
			if !s.Open(got) {
				t.Errorf("NextOpen(%s) = %v, which is not open", tt.at, got)
			}
		})
	}
}

func TestNextOpenKeepsCallerLocation(t *testing.T) {
	s := mustParse(t, madrid, office, nil)
	in := time.Date(2026, 6, 6, 20, 0, 0, 0, time.UTC)
	got := s.NextOpen(in)
	if got.Location() != time.UTC {
		t.Errorf("NextOpen returned location %v, want UTC", got.Location())
	}
	if want := time.Date(2026, 6, 8, 6, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("NextOpen = %v, want %v", got, want)
	}
	if s.Location().String() != madrid {
		t.Errorf("Location = %v", s.Location())
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name     string
		tz       string
		open     []string
		holidays []string
		want     []string
	}{
		{"short hours", madrid, []string{"mon-fri 08:00-18:00", "sat 9-13"}, nil,
			[]string{`open[1]: "sat 9-13": want "HH:MM-HH:MM"`}},
		{"unknown zone", "Europe/Madird", nil, nil,
			[]string{`timezone: "Europe/Madird" is not a known time zone (want a name such as "Europe/Madrid")`}},
		{"local zone", "Local", nil, nil,
			[]string{`timezone: "Local" depends on the host; name a zone such as "Europe/Madrid"`}},
		{"bad day", madrid, []string{"mon-fry 08:00-18:00"}, nil,
			[]string{`open[0]: "mon-fry 08:00-18:00": unknown day "fry" (want mon, tue, wed, thu, fri, sat, sun or daily)`}},
		{"no hours", madrid, []string{"sat"}, nil,
			[]string{`open[0]: "sat": want hours "HH:MM-HH:MM" or "closed" after the days`}},
		{"no days", madrid, []string{"08:00-18:00"}, nil,
			[]string{`open[0]: "08:00-18:00": want days first, as in "mon-fri 08:00-18:00"`}},
		{"out of range", madrid, []string{"mon 08:00-24:30"}, nil,
			[]string{`open[0]: "mon 08:00-24:30": want "HH:MM-HH:MM"`}},
		{"empty range", madrid, []string{"mon 08:00-08:00"}, nil,
			[]string{`open[0]: "mon 08:00-08:00": "08:00-08:00": opens and closes at the same time`}},
		{"closed with hours", madrid, []string{"sun closed 09:00-10:00"}, nil,
			[]string{`open[0]: "sun closed 09:00-10:00": "closed" cannot be combined with hours`}},
		{"never open", madrid, []string{"daily closed"}, nil,
			[]string{`open: no day has open hours; leave the list empty to be open around the clock`}},
		{"bad holiday", madrid, nil, []string{"2026-12-25", "25/12/2026"},
			[]string{`holidays[1]: "25/12/2026": want a date YYYY-MM-DD`}},
		{"all at once", "Mars/Olympus", []string{"sat 9-13", "mon-fri 08:00-18:00", "xyz 10:00-11:00"}, []string{"2026-02-30"},
			[]string{
				`timezone: "Mars/Olympus" is not a known time zone (want a name such as "Europe/Madrid")`,
				`open[0]: "sat 9-13": want "HH:MM-HH:MM"`,
				`open[2]: "xyz 10:00-11:00": unknown day "xyz" (want mon, tue, wed, thu, fri, sat, sun or daily)`,
				`holidays[0]: "2026-02-30": want a date YYYY-MM-DD`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.tz, tt.open, tt.holidays)
			if s != nil {
				t.Errorf("Parse returned a schedule with an error")
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse error = %v (%T), want Errors", err, err)
			}
			if len(errs) != len(tt.want) {
				t.Fatalf("Parse errors:\n%v\nwant:\n%q", err, tt.want)
			}
			for i, fe := range errs {
				if fe.Error() != tt.want[i] {
					t.Errorf("error %d = %s\nwant      %s", i, fe, tt.want[i])
				}
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	for _, open := range [][]string{
		{"Mon-Fri 08:00-18:00"},
		{"mon, wed 14:00-20:00"},
		{"daily 00:00-24:00"},
		{"sat-sun 10:00-14:00", "mon-fri 08:00-14:00,16:00-19:00"},
		{"fri 22:00-00:00"},
	} {
		if _, err := Parse("America/New_York", open, nil); err != nil {
			t.Errorf("Parse(%q): %v", open, err)
		}
	}
}
