// Package hours answers "is this queue open, until when, and when does it open
// next" for a weekly timetable kept in a named time zone, with whole-day
// holidays.
//
// Opening hours are wall-clock times in the schedule's zone, because that is how
// a contact centre publishes them and how its staff work: "08:00-18:00" means
// 08:00 to 18:00 on the local clock on every day it applies, including the
// days the clocks change. All instants handed in may be in any location; the
// answers are computed in the schedule's zone and are exact across DST
// changes (a period that ends inside a skipped hour ends when the clock jumps
// over it; a repeated hour is open or closed both times it is lived).
package hours

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	// Embedded so zones resolve on hosts and containers without system tzdata.
	_ "time/tzdata"
)

const minutesPerDay = 24 * 60

// span is an open interval of one calendar day, [start, end) in minutes after
// local midnight; end may be minutesPerDay.
type span struct{ start, end int }

// date is a calendar day in the schedule's zone.
type date struct {
	year  int
	month time.Month
	day   int
}

func dateOf(t time.Time) date {
	y, m, d := t.Date()
	return date{y, m, d}
}

// Schedule is a queue's opening hours. It is immutable once parsed and safe
// for concurrent use.
type Schedule struct {
	loc *time.Location
	// week holds the merged, sorted open spans per time.Weekday.
	week     [7][]span
	holidays map[date]bool
	// lastHoliday bounds every search: past it (plus one week) the timetable
	// repeats weekly, so a search that has found nothing by then never will.
	lastHoliday time.Time
}

// FieldError is one mistake in the input of Parse, named by the argument and
// index it came from ("open[1]", "holidays[0]", "timezone") so a caller
// holding the source (a YAML file) can place it at a line.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

func (e *FieldError) Unwrap() error { return e.Err }

// Errors is every mistake Parse found, in argument order, so an admin fixes
// them all in one edit instead of one per run.
type Errors []*FieldError

func (e Errors) Error() string {
	msgs := make([]string, len(e))
	for i, fe := range e {
		msgs[i] = fe.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap lets errors.Is and errors.As see each individual mistake.
func (e Errors) Unwrap() []error {
	errs := make([]error, len(e))
	for i, fe := range e {
		errs[i] = fe
	}
	return errs
}

// Parse builds a schedule.
//
// timezone is an IANA zone name ("Europe/Madrid"); empty means UTC. "Local" is
// refused because it would make the hours depend on the host.
//
// Each open entry is a day list followed by time ranges or "closed":
//
//	mon-fri 08:00-18:00
//	sat 09:00-13:00
//	mon,wed 14:00-20:00
//	mon-fri 08:00-14:00,16:00-19:00
//	daily 00:00-24:00
//	fri 22:00-02:00      (runs past midnight into saturday)
//	sun closed
//
// Ranges for the same day add up. "closed" wins over every range for its
// days, whatever the order, so "daily 09:00-17:00" with "sun closed" reads
// as it is meant. An empty open list means open around the clock.
//
// Each holiday is a date "2026-12-25" on which the queue is closed the whole
// calendar day, including the after-midnight part of a range that started
// the evening before.
//
// The error, if any, is of type Errors.
func Parse(timezone string, open []string, holidays []string) (*Schedule, error) {
	var errs Errors
	fail := func(field string, err error) { errs = append(errs, &FieldError{Field: field, Err: err}) }

	loc, err := loadLocation(timezone)
	if err != nil {
		fail("timezone", err)
	}

	s := &Schedule{loc: loc, holidays: make(map[date]bool)}
	var ranges [7][]span
	var closed [7]bool
	if len(open) == 0 {
		for d := range ranges {
			ranges[d] = []span{{0, minutesPerDay}}
		}
	}
	for i, entry := range open {
		days, spans, isClosed, err := parseEntry(entry)
		if err != nil {
			fail(fmt.Sprintf("open[%d]", i), fmt.Errorf("%q: %w", entry, err))
			continue
		}
		for d := range 7 {
			if !days[d] {
				continue
			}
			if isClosed {
				closed[d] = true
				continue
			}
			for _, sp := range spans {
				if sp.end > sp.start {
					ranges[d] = append(ranges[d], sp)
					continue
				}
				// Overnight: the tail belongs to the next calendar day.
				ranges[d] = append(ranges[d], span{sp.start, minutesPerDay})
				if sp.end > 0 {
					next := (d + 1) % 7
					ranges[next] = append(ranges[next], span{0, sp.end})
				}
			}
		}
	}
	anyOpen := false
	for d := range ranges {
		if closed[d] {
			continue
		}
		s.week[d] = merge(ranges[d])
		anyOpen = anyOpen || len(s.week[d]) > 0
	}
	if len(open) > 0 && !anyOpen && len(errs) == 0 {
		fail("open", errors.New("no day has open hours; leave the list empty to be open around the clock"))
	}

	for i, h := range holidays {
		t, err := time.Parse(time.DateOnly, strings.TrimSpace(h))
		if err != nil {
			fail(fmt.Sprintf("holidays[%d]", i), fmt.Errorf("%q: want a date YYYY-MM-DD", h))
			continue
		}
		s.holidays[dateOf(t)] = true
		if loc != nil {
			if end := time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc); end.After(s.lastHoliday) {
				s.lastHoliday = end
			}
		}
	}

	if len(errs) > 0 {
		return nil, errs
	}
	return s, nil
}

func loadLocation(name string) (*time.Location, error) {
	switch name {
	case "", "UTC":
		return time.UTC, nil
	case "Local":
		return nil, errors.New(`"Local" depends on the host; name a zone such as "Europe/Madrid"`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%q is not a known time zone (want a name such as \"Europe/Madrid\")", name)
	}
	return loc, nil
}

var dayNames = map[string]int{
	"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6,
}

// parseEntry reads "DAYS RANGES": day tokens come first, then either "closed"
// or ranges; commas and spaces both separate tokens, so "mon, wed" and
// "08:00-14:00, 16:00-19:00" are read as written.
func parseEntry(entry string) (days [7]bool, spans []span, closed bool, err error) {
	tokens := strings.FieldsFunc(strings.ToLower(entry), func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t'
	})
	i := 0
	for ; i < len(tokens); i++ {
		tok := tokens[i]
		if tok == "closed" || (tok[0] >= '0' && tok[0] <= '9') {
			break
		}
		if err := addDays(&days, tok); err != nil {
			return days, nil, false, err
		}
	}
	if i == 0 {
		return days, nil, false, errors.New(`want days first, as in "mon-fri 08:00-18:00"`)
	}
	rest := tokens[i:]
	if len(rest) == 0 {
		return days, nil, false, errors.New(`want hours "HH:MM-HH:MM" or "closed" after the days`)
	}
	if rest[0] == "closed" {
		if len(rest) > 1 {
			return days, nil, false, errors.New(`"closed" cannot be combined with hours`)
		}
		return days, nil, true, nil
	}
	for _, tok := range rest {
		sp, err := parseRange(tok)
		if err != nil {
			return days, nil, false, err
		}
		spans = append(spans, sp)
	}
	return days, spans, false, nil
}

func addDays(days *[7]bool, tok string) error {
	if tok == "daily" {
		for d := range days {
			days[d] = true
		}
		return nil
	}
	from, to, isRange := strings.Cut(tok, "-")
	first, ok := dayNames[from]
	if !ok {
		return fmt.Errorf("unknown day %q (want mon, tue, wed, thu, fri, sat, sun or daily)", from)
	}
	if !isRange {
		days[first] = true
		return nil
	}
	last, ok := dayNames[to]
	if !ok {
		return fmt.Errorf("unknown day %q (want mon, tue, wed, thu, fri, sat, sun or daily)", to)
	}
	// Ranges may wrap the week: "fri-mon".
	for d := first; ; d = (d + 1) % 7 {
		days[d] = true
		if d == last {
			return nil
		}
	}
}

func parseRange(tok string) (span, error) {
	from, to, ok := strings.Cut(tok, "-")
	if !ok {
		return span{}, errors.New(`want "HH:MM-HH:MM"`)
	}
	start, ok1 := parseClock(from)
	end, ok2 := parseClock(to)
	if !ok1 || !ok2 {
		return span{}, errors.New(`want "HH:MM-HH:MM"`)
	}
	if start == minutesPerDay {
		return span{}, fmt.Errorf("%q: a range cannot start at 24:00", tok)
	}
	if start == end {
		return span{}, fmt.Errorf("%q: opens and closes at the same time", tok)
	}
	// end < start is an overnight range; Parse splits it at midnight.
	return span{start, end}, nil
}

// parseClock reads "HH:MM" (two-digit fields) from 00:00 to 24:00.
func parseClock(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

// merge sorts spans and joins those that overlap or touch.
func merge(spans []span) []span {
	if len(spans) == 0 {
		return nil
	}
	sorted := slices.Clone(spans)
	slices.SortFunc(sorted, func(a, b span) int { return a.start - b.start })
	out := sorted[:1]
	for _, sp := range sorted[1:] {
		last := &out[len(out)-1]
		if sp.start <= last.end {
			last.end = max(last.end, sp.end)
			continue
		}
		out = append(out, sp)
	}
	return out
}

// Location is the zone the hours are kept in, for showing times to people.
func (s *Schedule) Location() *time.Location { return s.loc }

// Open reports whether the queue is open at t.
func (s *Schedule) Open(t time.Time) bool {
	return s.openAtWall(wall(t.In(s.loc)))
}

// ClosesAt returns the end of the open period containing t: the first instant
// after t at which the queue is closed. Periods that run into the next day's
// opening (24:00 followed by 00:00) are one period.
//
// ok is false when there is no closing time ahead: either t is closed (check
// Open) or the schedule never closes (around the clock with no holiday after
// t).
func (s *Schedule) ClosesAt(t time.Time) (end time.Time, ok bool) {
	if !s.Open(t) {
		return time.Time{}, false
	}
	return s.next(t, false)
}

// NextOpen returns the start of the next open period at or after t; t itself
// if the queue is open at t.
func (s *Schedule) NextOpen(t time.Time) time.Time {
	if s.Open(t) {
		return t
	}
	u, ok := s.next(t, true)
	if !ok {
		// Unreachable: Parse refuses a timetable with no open hours, and
		// holidays end.
		return time.Time{}
	}
	return u
}

// next finds the first instant after t at which Open becomes want. It walks
// from boundary to boundary, where a boundary is the next wall-clock span edge
// or midnight, or the next change of UTC offset; between two boundaries the
// offset is fixed, so wall time moves in step with real time and Open cannot
// change.
func (s *Schedule) next(t time.Time, want bool) (time.Time, bool) {
	horizon := t.Add(8 * 24 * time.Hour)
	if s.lastHoliday.After(t) {
		horizon = s.lastHoliday.Add(8 * 24 * time.Hour)
	}
	cur := t.In(s.loc)
	for cur.Before(horizon) {
		_, offset := cur.Zone()
		_, zoneEnd := cur.ZoneBounds()
		w := wall(cur)
		b := s.nextBoundary(w)
		u := b.Add(-time.Duration(offset) * time.Second).In(s.loc)
		if !zoneEnd.IsZero() && !u.Before(zoneEnd) {
			u = zoneEnd.In(s.loc)
		}
		cur = u
		if s.openAtWall(wall(cur)) == want {
			return cur.In(t.Location()), true
		}
	}
	return time.Time{}, false
}

// wall is t's local clock reading expressed as a UTC time, so wall-clock
// arithmetic needs no zone.
func wall(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

func (s *Schedule) openAtWall(w time.Time) bool {
	if s.holidays[dateOf(w)] {
		return false
	}
	sec := w.Hour()*3600 + w.Minute()*60 + w.Second()
	for _, sp := range s.week[w.Weekday()] {
		if sec >= sp.start*60 && sec < sp.end*60 {
			return true
		}
	}
	return false
}

// nextBoundary returns the first span edge of w's day strictly after w, or the
// next midnight.
func (s *Schedule) nextBoundary(w time.Time) time.Time {
	midnight := time.Date(w.Year(), w.Month(), w.Day(), 0, 0, 0, 0, time.UTC)
	for _, sp := range s.week[w.Weekday()] {
		for _, edge := range [2]int{sp.start, sp.end} {
			if b := midnight.Add(time.Duration(edge) * time.Minute); b.After(w) {
				return b
			}
		}
	}
	return midnight.AddDate(0, 0, 1)
}
