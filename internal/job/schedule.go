package job

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones work on machines without a zoneinfo database

	"go.yaml.in/yaml/v3"
)

// Frequency is how often a schedule fires.
type Frequency string

// The frequencies. The zero Frequency is Manual: the job runs only when
// asked (`lakeport run JOB`).
const (
	Manual  Frequency = ""
	Once    Frequency = "once"
	Every   Frequency = "every"
	Hourly  Frequency = "hourly"
	Daily   Frequency = "daily"
	Weekly  Frequency = "weekly"
	Monthly Frequency = "monthly"
)

// MinEvery is the shortest `every` interval.
const MinEvery = time.Minute

// Schedule says when a job runs. Times of day are wall-clock times in
// Location (UTC unless configured).
//
// Daylight-saving time, the documented choices:
//   - A time of day that does not exist on a day (the spring-forward gap,
//     e.g. 02:30 in Europe/Amsterdam on the last Sunday of March) fires at
//     the first instant after the gap: 03:00 local time.
//   - A time of day that exists twice (the fall-back overlap) fires once,
//     at its first occurrence (still on summer time).
//   - Every and Hourly measure elapsed time, so an hourly job fires 23
//     times on a spring-forward day and 25 times on a fall-back day, and
//     `every 15m` keeps its 15 minutes through both.
type Schedule struct {
	Frequency  Frequency
	Every      time.Duration  // Every: the interval (slots aligned to multiples of it since year 1, UTC)
	Minute     int            // Hourly: minutes past the hour, 0-59 (local time)
	Hour, Min  int            // Daily, Weekly, Monthly: time of day
	Weekday    time.Weekday   // Weekly
	DayOfMonth int            // Monthly: 1-31; a month without that day fires on its last day
	At         time.Time      // Once: when; zero means at the first opportunity
	Location   *time.Location // nil means UTC
}

// Recurring reports whether the schedule fires more than once (the job
// keeps running until stopped).
func (s Schedule) Recurring() bool {
	switch s.Frequency {
	case Every, Hourly, Daily, Weekly, Monthly:
		return true
	}
	return false
}

func (s Schedule) loc() *time.Location {
	if s.Location == nil {
		return time.UTC
	}
	return s.Location
}

// Next returns the first time strictly after `after` at which the schedule
// fires, or the zero Time if it never fires again (Manual; Once whose time
// has passed or was not set).
func (s Schedule) Next(after time.Time) time.Time {
	loc := s.loc()
	switch s.Frequency {
	case Once:
		if !s.At.IsZero() && s.At.After(after) {
			return s.At
		}
		return time.Time{}
	case Every:
		if s.Every <= 0 {
			return time.Time{}
		}
		return after.Truncate(s.Every).Add(s.Every)
	case Hourly:
		t := after.Truncate(time.Minute)
		for i := 1; i <= 24*60; i++ {
			c := t.Add(time.Duration(i) * time.Minute)
			if c.In(loc).Minute() == s.Minute {
				return c
			}
		}
	case Daily:
		y, m, d := after.In(loc).Date()
		for i := 0; i < 4; i++ {
			if t := LocalTime(y, m, d+i, s.Hour, s.Min, loc); t.After(after) {
				return t
			}
		}
	case Weekly:
		y, m, d := after.In(loc).Date()
		for i := 0; i < 15; i++ {
			if time.Date(y, m, d+i, 12, 0, 0, 0, time.UTC).Weekday() != s.Weekday {
				continue
			}
			if t := LocalTime(y, m, d+i, s.Hour, s.Min, loc); t.After(after) {
				return t
			}
		}
	case Monthly:
		y, m, _ := after.In(loc).Date()
		for i := 0; i < 4; i++ {
			first := time.Date(y, m+time.Month(i), 1, 12, 0, 0, 0, time.UTC)
			day := min(s.DayOfMonth, daysIn(first.Year(), first.Month()))
			if t := LocalTime(first.Year(), first.Month(), day, s.Hour, s.Min, loc); t.After(after) {
				return t
			}
		}
	}
	return time.Time{}
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 12, 0, 0, 0, time.UTC).Day()
}

// LocalTime returns the instant at which the wall clock in loc reads
// y-m-d hh:mm:00 (out-of-range values normalise as in time.Date). Unlike
// time.Date it makes the daylight-saving choices explicit: a wall time that
// happens twice resolves to the first occurrence; one that never happens
// (a spring-forward gap) to the end of the gap, the first instant after it.
func LocalTime(y int, m time.Month, d, hh, mm int, loc *time.Location) time.Time {
	wall := time.Date(y, m, d, hh, mm, 0, 0, time.UTC) // the wall clock, normalised
	wy, wm, wd := wall.Date()
	wh, wmin, _ := wall.Clock()
	var best time.Time
	var before int
	for i, probe := range []time.Time{wall.Add(-36 * time.Hour), wall.Add(36 * time.Hour)} {
		_, off := probe.In(loc).Zone()
		if i == 0 {
			before = off
		}
		c := wall.Add(-time.Duration(off) * time.Second)
		l := c.In(loc)
		ly, lm, ld := l.Date()
		lh, lmin, _ := l.Clock()
		if ly == wy && lm == wm && ld == wd && lh == wh && lmin == wmin && (best.IsZero() || c.Before(best)) {
			best = c
		}
	}
	if !best.IsZero() {
		return best.In(loc)
	}
	// In a gap: read with the offset before it, the wall time is an instant
	// after the transition; the zone in effect then began at the transition.
	c := wall.Add(-time.Duration(before) * time.Second).In(loc)
	if start, _ := c.ZoneBounds(); !start.IsZero() {
		return start
	}
	return c
}

// String describes the schedule: "manual", "once", "once at 2025-01-01 10:00 UTC",
// "every 15m", "hourly at :05", "daily at 02:30 Europe/Amsterdam",
// "weekly on Monday at 09:00 UTC", "monthly on day 1 at 06:00 UTC".
func (s Schedule) String() string {
	loc := s.loc().String()
	tod := fmt.Sprintf("%02d:%02d", s.Hour, s.Min)
	switch s.Frequency {
	case Manual:
		return "manual"
	case Once:
		if s.At.IsZero() {
			return "once"
		}
		return "once at " + s.At.In(s.loc()).Format("2006-01-02 15:04") + " " + loc
	case Every:
		return "every " + shortDuration(s.Every)
	case Hourly:
		str := fmt.Sprintf("hourly at :%02d", s.Minute)
		if s.Location != nil && s.Location != time.UTC {
			str += " " + loc
		}
		return str
	case Daily:
		return "daily at " + tod + " " + loc
	case Weekly:
		return "weekly on " + s.Weekday.String() + " at " + tod + " " + loc
	case Monthly:
		return fmt.Sprintf("monthly on day %d at %s %s", s.DayOfMonth, tod, loc)
	}
	return string(s.Frequency)
}

// shortDuration prints 15m0s as 15m and 1h0m0s as 1h.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// scheduleFields are the keys of a schedule mapping.
type scheduleFields struct {
	Frequency  string `yaml:"frequency"`
	Every      string `yaml:"every"`
	Minute     *int   `yaml:"minute"`
	TimeOfDay  string `yaml:"time_of_day"`
	TimeZone   string `yaml:"time_zone"`
	DayOfWeek  string `yaml:"day_of_week"`
	DayOfMonth *int   `yaml:"day_of_month"`
	At         string `yaml:"at"`
}

// decodeNode reads a schedule: a scalar shorthand ("once", "hourly",
// "daily", "every 15m") or a mapping with frequency and its fields.
func (s *Schedule) decodeNode(n *yaml.Node, path string, p *problems) {
	var f scheduleFields
	set := map[string]bool{}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return
		}
		word, rest, _ := strings.Cut(strings.TrimSpace(n.Value), " ")
		f.Frequency = word
		if word == "every" {
			f.Every = strings.TrimSpace(rest)
			set["every"] = true
		} else if rest != "" {
			p.add(path, "want once, hourly, daily, weekly, monthly or every DURATION (e.g. every 15m), or a mapping with frequency")
			return
		}
	case yaml.MappingNode:
		decodeValue(n, path, &f, p)
		for i := 0; i+1 < len(n.Content); i += 2 {
			set[n.Content[i].Value] = true
		}
		if f.Frequency == "" && f.Every != "" {
			f.Frequency = "every"
		}
		if f.Frequency == "" && !set["frequency"] {
			p.add(path+".frequency", "required (once, every, hourly, daily, weekly or monthly)")
			return
		}
	default:
		p.add(path, "want a frequency (e.g. daily) or a mapping with frequency, time_of_day, time_zone, ...")
		return
	}
	freq := Frequency(f.Frequency)
	fields := map[Frequency][]string{
		Manual:  {"frequency"},
		Once:    {"frequency", "at", "time_zone"},
		Every:   {"frequency", "every"},
		Hourly:  {"frequency", "minute", "time_zone"},
		Daily:   {"frequency", "time_of_day", "time_zone"},
		Weekly:  {"frequency", "day_of_week", "time_of_day", "time_zone"},
		Monthly: {"frequency", "day_of_month", "time_of_day", "time_zone"},
	}
	if f.Frequency == "manual" {
		freq = Manual
	}
	allowed, ok := fields[freq]
	if !ok {
		fp := path
		if n.Kind == yaml.MappingNode {
			fp += ".frequency"
		}
		p.add(fp, fmt.Sprintf("unknown frequency %q (want once, every, hourly, daily, weekly, monthly or manual)", f.Frequency))
		return
	}
	for k := range set {
		if k == "every" && freq == Every {
			continue
		}
		if !contains(allowed, k) && contains([]string{"every", "minute", "time_of_day", "time_zone", "day_of_week", "day_of_month", "at"}, k) {
			p.add(join(path, k), fmt.Sprintf("not used by %s schedules", f.Frequency))
		}
	}
	*s = Schedule{Frequency: freq}
	if f.TimeZone != "" {
		loc, err := time.LoadLocation(f.TimeZone)
		if err != nil || f.TimeZone == "Local" {
			p.add(path+".time_zone", fmt.Sprintf("unknown time zone %q (want an IANA name such as Europe/Amsterdam or UTC)", f.TimeZone))
		} else {
			s.Location = loc
		}
	}
	tod := func() {
		if f.TimeOfDay == "" {
			return // midnight
		}
		h, m, ok := parseHHMM(f.TimeOfDay)
		if !ok {
			p.add(path+".time_of_day", "want HH:MM")
			return
		}
		s.Hour, s.Min = h, m
	}
	switch freq {
	case Once:
		if f.At != "" {
			at, err := parseAt(f.At, s.loc())
			if err != nil {
				p.add(path+".at", "want YYYY-MM-DD HH:MM (in time_zone) or an RFC 3339 time")
			}
			s.At = at
		}
	case Every:
		if f.Every == "" {
			p.add(path+".every", "required (a duration such as 15m or 2h)")
			break
		}
		d, err := time.ParseDuration(f.Every)
		switch {
		case err != nil:
			p.add(path+".every", fmt.Sprintf("want a duration such as 15m or 2h, got %q", f.Every))
		case d < MinEvery:
			p.add(path+".every", fmt.Sprintf("must be at least %s", shortDuration(MinEvery)))
		default:
			s.Every = d
		}
	case Hourly:
		if f.Minute != nil {
			if *f.Minute < 0 || *f.Minute > 59 {
				p.add(path+".minute", "want 0-59")
			} else {
				s.Minute = *f.Minute
			}
		}
	case Daily:
		tod()
	case Weekly:
		tod()
		wd, ok := parseWeekday(f.DayOfWeek)
		switch {
		case f.DayOfWeek == "":
			p.add(path+".day_of_week", "required (monday ... sunday)")
		case !ok:
			p.add(path+".day_of_week", fmt.Sprintf("want a day of the week (monday ... sunday), got %q", f.DayOfWeek))
		default:
			s.Weekday = wd
		}
	case Monthly:
		tod()
		s.DayOfMonth = 1
		if f.DayOfMonth != nil {
			if *f.DayOfMonth < 1 || *f.DayOfMonth > 31 {
				p.add(path+".day_of_month", "want 1-31 (months without the day run on their last day)")
			} else {
				s.DayOfMonth = *f.DayOfMonth
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func parseHHMM(s string) (h, m int, ok bool) {
	hs, ms, found := strings.Cut(s, ":")
	if !found || len(hs) != 2 || len(ms) != 2 {
		return 0, 0, false
	}
	h, err1 := strconv.Atoi(hs)
	m, err2 := strconv.Atoi(ms)
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, 0, false
	}
	return h, m, true
}

func parseWeekday(s string) (time.Weekday, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := strings.ToLower(d.String())
		if s == name || (len(s) == 3 && s == name[:3]) {
			return d, true
		}
	}
	return 0, false
}

func parseAt(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		return time.Time{}, err
	}
	return LocalTime(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), loc), nil
}
