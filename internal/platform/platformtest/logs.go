package platformtest

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/platform"
)

var logTests = []test{
	{"SystemEvents/RecordAndPage", testSystemEvents},
	{"SystemEvents/Invalid", testSystemEventsInvalid},
	{"Metrics/RecordAndQuery", testMetrics},
	{"Metrics/ConcurrentWritersNeverBehindAReader", testMetricsConcurrent},
}

// testMetricsConcurrent: writers record points at once while a reader pages
// by id (as export.metrics does); a point never commits behind an id the
// reader has seen, so the reader collects every point exactly once.
func testMetricsConcurrent(t *testing.T, open Open) {
	s := fresh(t, open)
	const writers, batches, per = 4, 25, 3
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for b := 0; b < batches; b++ {
				pts := make([]platform.Metric, per)
				for i := range pts {
					pts[i] = platform.Metric{Dimension: platform.DimensionJob, DimensionID: itoa(w), Type: platform.MetricRows,
						Timestamp: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), Value: float64(b*per + i)}
				}
				if err := s.RecordMetrics(ctx, pts); err != nil {
					errc <- err
					return
				}
			}
		}(w)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	seen := map[int64]bool{}
	var after int64
	read := func() {
		for {
			page, err := s.Metrics(ctx, platform.MetricQuery{AfterID: after, Limit: 7})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page {
				if seen[m.ID] {
					t.Fatalf("metric %d read twice", m.ID)
				}
				seen[m.ID] = true
				after = m.ID
			}
			if len(page) < 7 {
				return
			}
		}
	}
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		case err := <-errc:
			t.Fatal(err)
		default:
		}
		read()
	}
	read()
	if len(seen) != writers*batches*per {
		t.Fatalf("the reader paging by id saw %d points, %d were recorded (points committed behind its position were missed)", len(seen), writers*batches*per)
	}
}

func testSystemEvents(t *testing.T, open Open) {
	s := fresh(t, open)
	actx := platform.WithActor(ctx, platform.Actor{AccountID: "acc", UserID: "usr"})
	verbs := []string{platform.VerbCreated, platform.VerbStarted, platform.VerbFinished, platform.VerbStarted, platform.VerbFailed}
	before := platform.Now()
	for i, v := range verbs {
		e := platform.SystemEvent{SubjectType: platform.SubjectJob, SubjectID: "job-7", Verb: v,
			Notes: "run " + itoa(i), Related: map[string]string{"run": itoa(i)}}
		if i == 4 {
			e.AccountID, e.UserID = "other", "" // explicit actor wins over the context's
		}
		got, err := s.RecordSystemEvent(actx, e)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != int64(i+1) || got.Time.Before(before) {
			t.Fatalf("recorded %+v: want id %d and a time assigned", got, i+1)
		}
	}
	var all []platform.SystemEvent
	var cur platform.Cursor
	for {
		page, err := s.SystemEvents(ctx, cur, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		cur = page[len(page)-1].Cursor()
	}
	if len(all) != len(verbs) {
		t.Fatalf("paged %d system events, want %d", len(all), len(verbs))
	}
	for i, e := range all {
		if e.ID != int64(i+1) || e.Verb != verbs[i] || e.SubjectType != platform.SubjectJob || e.SubjectID != "job-7" ||
			e.Notes != "run "+itoa(i) || e.Related["run"] != itoa(i) {
			t.Errorf("event %d = %+v", i, e)
		}
		if i > 0 && e.Time.Before(all[i-1].Time) {
			t.Errorf("times go back at %d", e.ID)
		}
	}
	if all[0].AccountID != "acc" || all[0].UserID != "usr" || all[4].AccountID != "other" {
		t.Errorf("actors = %q/%q and %q, want acc/usr from the context and an explicit other", all[0].AccountID, all[0].UserID, all[4].AccountID)
	}
	// A cursor holding only a time starts there.
	page, err := s.SystemEvents(ctx, platform.Cursor{Time: all[2].Time.Add(-time.Microsecond), ID: 1 << 40}, 10)
	if err != nil || len(page) == 0 || page[0].ID > 3 {
		t.Fatalf("from time = %+v, %v", page, err)
	}
}

func testSystemEventsInvalid(t *testing.T, open Open) {
	s := fresh(t, open)
	_, err := s.RecordSystemEvent(ctx, platform.SystemEvent{SubjectType: platform.SubjectJob})
	wantFieldError(t, err, "verb")
	_, err = s.RecordSystemEvent(ctx, platform.SystemEvent{Verb: platform.VerbStarted})
	wantFieldError(t, err, "subject_type")
}

func testMetrics(t *testing.T, open Open) {
	s := fresh(t, open)
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	var pts []platform.Metric
	for i := 0; i < 6; i++ {
		pts = append(pts,
			platform.Metric{Dimension: platform.DimensionJob, DimensionID: "job-1", Type: platform.MetricRows, Timestamp: t0.Add(time.Duration(i) * time.Hour), Value: float64(100 * i)},
			platform.Metric{Dimension: platform.DimensionJob, DimensionID: "job-2", Type: platform.MetricDuration, Timestamp: t0.Add(time.Duration(i) * time.Hour), Value: 1.5})
	}
	if err := s.RecordMetrics(ctx, pts); err != nil {
		t.Fatal(err)
	}
	all, err := s.Metrics(ctx, platform.MetricQuery{})
	if err != nil || len(all) != 12 {
		t.Fatalf("all metrics = %d, %v", len(all), err)
	}
	for i, m := range all {
		if i > 0 && m.ID <= all[i-1].ID {
			t.Fatalf("metrics not in ID order")
		}
		want := pts[i]
		want.ID = m.ID
		if m != want {
			t.Fatalf("metric %d = %+v, want %+v", i, m, want)
		}
	}
	got, _ := s.Metrics(ctx, platform.MetricQuery{DimensionID: "job-1", From: t0.Add(time.Hour), To: t0.Add(4 * time.Hour)})
	if len(got) != 3 || got[0].Value != 100 || got[2].Value != 300 {
		t.Fatalf("job-1 in [1h, 4h) = %+v, want 3 points 100..300", got)
	}
	got, _ = s.Metrics(ctx, platform.MetricQuery{Type: platform.MetricDuration, AfterID: all[5].ID, Limit: 2})
	if len(got) != 2 || got[0].ID <= all[5].ID {
		t.Fatalf("durations after id %d, limit 2 = %+v", all[5].ID, got)
	}
	err = s.RecordMetrics(ctx, []platform.Metric{{Dimension: "job", Type: "rows"}})
	wantFieldError(t, err, "timestamp")
	err = s.RecordMetrics(ctx, []platform.Metric{{Type: "rows", Timestamp: t0}})
	wantFieldError(t, err, "dimension")
	err = s.RecordMetrics(ctx, []platform.Metric{{Dimension: "job", Type: "rows", Timestamp: t0, Value: math.NaN()}})
	wantFieldError(t, err, "value")
}
