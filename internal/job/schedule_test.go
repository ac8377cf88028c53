package job

import (
	"math/rand/v2"
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// fires returns the first n times the schedule fires after from.
func fires(s Schedule, from time.Time, n int) []time.Time {
	var out []time.Time
	t := from
	for range n {
		t = s.Next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out
}

func checkFires(t *testing.T, s Schedule, from string, want ...string) {
	t.Helper()
	got := fires(s, utc(from), len(want))
	if len(got) != len(want) {
		t.Fatalf("%s from %s: %v, want %v", s, from, got, want)
	}
	for i := range want {
		if !got[i].Equal(utc(want[i])) {
			t.Errorf("%s from %s: fire %d = %s (%s), want %s", s, from, i, got[i].UTC().Format(time.RFC3339), got[i], want[i])
		}
	}
}

func TestDailyAcrossDST(t *testing.T) {
	ams := mustLoc(t, "Europe/Amsterdam")
	nyc := mustLoc(t, "America/New_York")
	daily := func(h, m int, loc *time.Location) Schedule {
		return Schedule{Frequency: Daily, Hour: h, Min: m, Location: loc}
	}
	// Amsterdam, spring forward 2025-03-30 02:00 CET -> 03:00 CEST: 02:30
	// does not exist; the run is at the end of the gap, 03:00 CEST.
	checkFires(t, daily(2, 30, ams), "2025-03-28T12:00:00Z",
		"2025-03-29T01:30:00Z", // 02:30 CET
		"2025-03-30T01:00:00Z", // 03:00 CEST (gap)
		"2025-03-31T00:30:00Z", // 02:30 CEST
	)
	// Amsterdam, fall back 2025-10-26 03:00 CEST -> 02:00 CET: 02:30
	// happens twice; the run is once, at the first (CEST).
	checkFires(t, daily(2, 30, ams), "2025-10-24T12:00:00Z",
		"2025-10-25T00:30:00Z", // 02:30 CEST
		"2025-10-26T00:30:00Z", // 02:30 CEST, first of two
		"2025-10-27T01:30:00Z", // 02:30 CET
	)
	// Asked again just after the first 02:30 on the fall-back day: not again
	// at the second 02:30 (01:30Z), but the next day.
	if got := daily(2, 30, ams).Next(utc("2025-10-26T00:30:00Z")); !got.Equal(utc("2025-10-27T01:30:00Z")) {
		t.Errorf("after the first 02:30 on the fall-back day: %s", got.UTC())
	}
	// New York, spring forward 2025-03-09 02:00 EST -> 03:00 EDT.
	checkFires(t, daily(2, 30, nyc), "2025-03-07T12:00:00Z",
		"2025-03-08T07:30:00Z", // 02:30 EST
		"2025-03-09T07:00:00Z", // 03:00 EDT (gap)
		"2025-03-10T06:30:00Z", // 02:30 EDT
	)
	// New York, fall back 2025-11-02 02:00 EDT -> 01:00 EST: 01:30 twice.
	checkFires(t, daily(1, 30, nyc), "2025-10-31T12:00:00Z",
		"2025-11-01T05:30:00Z", // 01:30 EDT
		"2025-11-02T05:30:00Z", // 01:30 EDT, first of two
		"2025-11-03T06:30:00Z", // 01:30 EST
	)
	// A time of day away from the transition keeps its wall-clock time.
	for _, f := range fires(daily(9, 0, nyc), utc("2025-03-01T00:00:00Z"), 20) {
		if l := f.In(nyc); l.Hour() != 9 || l.Minute() != 0 {
			t.Errorf("daily 09:00 New York fired at %s", l)
		}
	}
	// Midnight at a zone whose transition is at midnight (America/Santiago:
	// 2025-09-07 00:00 -> 01:00): the end of the gap, 01:00.
	scl := mustLoc(t, "America/Santiago")
	if got := daily(0, 0, scl).Next(utc("2025-09-06T12:00:00Z")); got.In(scl).Format("2006-01-02 15:04") != "2025-09-07 01:00" {
		t.Errorf("Santiago midnight on its gap day: %s", got.In(scl))
	}
}

func TestDailyOncePerLocalDay(t *testing.T) {
	for _, zone := range []string{"Europe/Amsterdam", "America/New_York"} {
		loc := mustLoc(t, zone)
		for _, tod := range [][2]int{{0, 0}, {1, 30}, {2, 0}, {2, 30}, {3, 0}, {23, 59}} {
			s := Schedule{Frequency: Daily, Hour: tod[0], Min: tod[1], Location: loc}
			got := fires(s, utc("2024-12-31T12:00:00Z"), 730)
			seen := map[string]bool{}
			for i, f := range got {
				day := f.In(loc).Format("2006-01-02")
				if seen[day] {
					t.Fatalf("%s fired twice on %s", s, day)
				}
				seen[day] = true
				if i > 0 {
					if gap := f.Sub(got[i-1]); gap < 22*time.Hour || gap > 26*time.Hour {
						t.Fatalf("%s: %s after the previous fire", s, gap)
					}
				}
				l := f.In(loc)
				if l.Hour() != tod[0] || l.Minute() != tod[1] {
					// Only on a gap day, and then at the end of the gap.
					start, _ := f.ZoneBounds()
					if !start.Equal(f) {
						t.Errorf("%s fired at %s, neither the time of day nor the end of a gap", s, l)
					}
				}
			}
			if len(seen) != 730 {
				t.Errorf("%s: %d days", s, len(seen))
			}
		}
	}
}

func TestHourlyAndEveryAcrossDST(t *testing.T) {
	ams := mustLoc(t, "Europe/Amsterdam")
	nyc := mustLoc(t, "America/New_York")
	count := func(s Schedule, loc *time.Location, day string) int {
		start := LocalTime(utc(day+"T00:00:00Z").Year(), utc(day+"T00:00:00Z").Month(), utc(day+"T00:00:00Z").Day(), 0, 0, loc)
		end := start.AddDate(0, 0, 1)
		end = LocalTime(end.Year(), end.Month(), end.Day(), 0, 0, loc)
		n := 0
		for t := s.Next(start.Add(-time.Nanosecond)); t.Before(end); t = s.Next(t) {
			n++
		}
		return n
	}
	hourly := Schedule{Frequency: Hourly, Minute: 5, Location: ams}
	if n := count(hourly, ams, "2025-03-30"); n != 23 {
		t.Errorf("hourly on the Amsterdam spring-forward day: %d runs, want 23", n)
	}
	if n := count(hourly, ams, "2025-10-26"); n != 25 {
		t.Errorf("hourly on the Amsterdam fall-back day: %d runs, want 25", n)
	}
	hourlyNY := Schedule{Frequency: Hourly, Location: nyc}
	if n := count(hourlyNY, nyc, "2025-03-09"); n != 23 {
		t.Errorf("hourly on the New York spring-forward day: %d, want 23", n)
	}
	if n := count(hourlyNY, nyc, "2025-11-02"); n != 25 {
		t.Errorf("hourly on the New York fall-back day: %d, want 25", n)
	}
	for _, f := range fires(hourly, utc("2025-10-25T20:00:00Z"), 30) {
		if f.In(ams).Minute() != 5 || f.Second() != 0 {
			t.Fatalf("hourly at :05 fired at %s", f.In(ams))
		}
	}
	// A half-hour zone: minute 0 local is minute 30 UTC.
	ist := mustLoc(t, "Asia/Kolkata")
	if got := (Schedule{Frequency: Hourly, Location: ist}).Next(utc("2025-01-01T00:00:00Z")); !got.Equal(utc("2025-01-01T00:30:00Z")) {
		t.Errorf("hourly in Kolkata: %s", got.UTC())
	}
	every := Schedule{Frequency: Every, Every: 15 * time.Minute}
	checkFires(t, every, "2025-03-30T00:52:10Z", "2025-03-30T01:00:00Z", "2025-03-30T01:15:00Z", "2025-03-30T01:30:00Z")
	got := fires(every, utc("2025-10-25T22:00:00Z"), 200)
	for i := 1; i < len(got); i++ {
		if got[i].Sub(got[i-1]) != 15*time.Minute {
			t.Fatalf("every 15m across fall-back: %s then %s", got[i-1], got[i])
		}
	}
	if n := count(every, ams, "2025-10-26"); n != 100 {
		t.Errorf("every 15m on a 25-hour day: %d, want 100", n)
	}
}

func TestWeeklyMonthlyOnce(t *testing.T) {
	ams := mustLoc(t, "Europe/Amsterdam")
	// 2025-03-30 is a Sunday and the spring-forward day.
	weekly := Schedule{Frequency: Weekly, Weekday: time.Sunday, Hour: 2, Min: 30, Location: ams}
	checkFires(t, weekly, "2025-03-24T00:00:00Z",
		"2025-03-30T01:00:00Z", // 03:00 CEST (gap)
		"2025-04-06T00:30:00Z", // 02:30 CEST
	)
	checkFires(t, Schedule{Frequency: Weekly, Weekday: time.Monday, Hour: 9}, "2025-01-06T09:00:00Z",
		"2025-01-13T09:00:00Z", "2025-01-20T09:00:00Z")
	monthly := Schedule{Frequency: Monthly, DayOfMonth: 31, Hour: 6}
	checkFires(t, monthly, "2025-01-01T00:00:00Z",
		"2025-01-31T06:00:00Z", "2025-02-28T06:00:00Z", "2025-03-31T06:00:00Z", "2025-04-30T06:00:00Z")
	checkFires(t, Schedule{Frequency: Monthly, DayOfMonth: 29}, "2024-02-01T00:00:00Z",
		"2024-02-29T00:00:00Z", "2024-03-29T00:00:00Z")
	checkFires(t, Schedule{Frequency: Monthly, DayOfMonth: 30, Hour: 2, Min: 30, Location: ams}, "2025-03-01T00:00:00Z",
		"2025-03-30T01:00:00Z", // gap day
		"2025-04-30T00:30:00Z")
	at := utc("2025-06-01T10:00:00Z")
	once := Schedule{Frequency: Once, At: at}
	if got := once.Next(at.Add(-time.Second)); !got.Equal(at) {
		t.Errorf("once before: %s", got)
	}
	if got := once.Next(at); !got.IsZero() {
		t.Errorf("once after: %s", got)
	}
	if got := (Schedule{}).Next(at); !got.IsZero() {
		t.Errorf("manual: %s", got)
	}
}

// Property: Next is strictly after its argument, and stepping through
// Next never skips a fire that a later starting point would find.
func TestNextProperties(t *testing.T) {
	ams := mustLoc(t, "Europe/Amsterdam")
	nyc := mustLoc(t, "America/New_York")
	scheds := []Schedule{
		{Frequency: Every, Every: 15 * time.Minute},
		{Frequency: Every, Every: 7 * time.Hour},
		{Frequency: Hourly, Minute: 30, Location: nyc},
		{Frequency: Daily, Hour: 2, Min: 30, Location: ams},
		{Frequency: Daily, Hour: 1, Min: 30, Location: nyc},
		{Frequency: Weekly, Weekday: time.Sunday, Hour: 2, Min: 15, Location: ams},
		{Frequency: Monthly, DayOfMonth: 31, Hour: 2, Min: 30, Location: nyc},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	base := utc("2024-01-01T00:00:00Z")
	for _, s := range scheds {
		for range 300 {
			after := base.Add(time.Duration(rng.Int64N(int64(3 * 365 * 24 * time.Hour))))
			n := s.Next(after)
			if !n.After(after) {
				t.Fatalf("%s: Next(%s) = %s, not after", s, after, n)
			}
			// Any point between after and n finds the same next fire.
			mid := after.Add(time.Duration(rng.Int64N(int64(n.Sub(after)))))
			if m := s.Next(mid); !m.Equal(n) {
				t.Fatalf("%s: Next(%s) = %s but Next(%s) = %s", s, after, n, mid, m)
			}
		}
	}
}

func TestLocalTime(t *testing.T) {
	ams := mustLoc(t, "Europe/Amsterdam")
	cases := []struct {
		y    int
		m    time.Month
		d    int
		h, n int
		want string
	}{
		{2025, 3, 30, 2, 0, "2025-03-30T01:00:00Z"},  // gap start
		{2025, 3, 30, 2, 59, "2025-03-30T01:00:00Z"}, // in the gap
		{2025, 3, 30, 3, 0, "2025-03-30T01:00:00Z"},  // first real time after the gap
		{2025, 3, 30, 1, 59, "2025-03-30T00:59:00Z"},
		{2025, 10, 26, 2, 0, "2025-10-26T00:00:00Z"}, // ambiguous: first
		{2025, 10, 26, 2, 59, "2025-10-26T00:59:00Z"},
		{2025, 10, 26, 3, 0, "2025-10-26T02:00:00Z"},
		{2025, 7, 1, 12, 0, "2025-07-01T10:00:00Z"},
		{2025, 12, 32, 0, 0, "2025-12-31T23:00:00Z"}, // normalised: Jan 1 00:00 CET
	}
	for _, c := range cases {
		if got := LocalTime(c.y, c.m, c.d, c.h, c.n, ams); !got.Equal(utc(c.want)) {
			t.Errorf("LocalTime(%d-%02d-%02d %02d:%02d Amsterdam) = %s, want %s", c.y, c.m, c.d, c.h, c.n, got.UTC().Format(time.RFC3339), c.want)
		}
	}
}

func TestNextRunAndCatchUp(t *testing.T) {
	created := utc("2025-01-01T10:07:00Z")
	every := Schedule{Frequency: Every, Every: 15 * time.Minute}
	if got := NextRun(every, time.Time{}, created); !got.Equal(utc("2025-01-01T10:15:00Z")) {
		t.Errorf("first slot = %s", got)
	}
	if got := NextRun(every, utc("2025-01-01T10:15:00Z"), created); !got.Equal(utc("2025-01-01T10:30:00Z")) {
		t.Errorf("after a run = %s", got)
	}
	if got := latestSlot(every, utc("2025-01-01T10:15:00Z"), utc("2025-01-02T03:20:00Z")); !got.Equal(utc("2025-01-02T03:15:00Z")) {
		t.Errorf("missed slots collapse to the latest: %s", got)
	}
	once := Schedule{Frequency: Once}
	if got := NextRun(once, time.Time{}, created); !got.Equal(created) {
		t.Errorf("once: %s", got)
	}
	if got := NextRun(once, created, created); !got.IsZero() {
		t.Errorf("once after its run: %s", got)
	}
	at := utc("2025-02-01T00:00:00Z")
	if got := NextRun(Schedule{Frequency: Once, At: at}, time.Time{}, created); !got.Equal(at) {
		t.Errorf("once at: %s", got)
	}
	if got := latestSlot(Schedule{Frequency: Once, At: at}, at, at.Add(time.Hour)); !got.Equal(at) {
		t.Errorf("once catch-up: %s", got)
	}
	if got := NextRun(Schedule{}, time.Time{}, created); !got.IsZero() {
		t.Errorf("manual: %s", got)
	}
}

func TestScheduleString(t *testing.T) {
	ams := mustLoc(t, "Europe/Amsterdam")
	cases := map[string]Schedule{
		"manual":                          {},
		"once":                            {Frequency: Once},
		"every 15m":                       {Frequency: Every, Every: 15 * time.Minute},
		"every 1h30m":                     {Frequency: Every, Every: 90 * time.Minute},
		"hourly at :05":                   {Frequency: Hourly, Minute: 5},
		"daily at 02:30 Europe/Amsterdam": {Frequency: Daily, Hour: 2, Min: 30, Location: ams},
		"weekly on Monday at 09:00 UTC":   {Frequency: Weekly, Weekday: time.Monday, Hour: 9},
		"monthly on day 31 at 06:00 UTC":  {Frequency: Monthly, DayOfMonth: 31, Hour: 6},
		"once at 2025-06-01 12:00 Europe/Amsterdam": {Frequency: Once, At: utc("2025-06-01T10:00:00Z"), Location: ams},
	}
	for want, s := range cases {
		if got := s.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}
