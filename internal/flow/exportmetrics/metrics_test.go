package exportmetrics_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/flow/export/exporttest"
	"github.com/lakeport/lakeport/internal/flow/exportmetrics"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/platform"
)

var ctx = context.Background()

func TestMain(m *testing.M) {
	exporttest.ChildMain(crashCampaign)
	os.Exit(m.Run())
}

const day = 24 * time.Hour

// addPoints records n points numbered first.. (the number is the value)
// of stream "web", type events, timestamped age before now, each with
// points of other streams, dimensions and types around it (negative
// values) that a stream/web/events job skips.
func addPoints(tb testing.TB, store platform.Store, first, n int, age time.Duration) {
	tb.Helper()
	ts := platform.Now().Add(-age)
	var pts []platform.Metric
	for i := first; i < first+n; i++ {
		pts = append(pts,
			platform.Metric{Dimension: platform.DimensionStream, DimensionID: "app", Type: platform.MetricEvents, Timestamp: ts, Value: -1},
			platform.Metric{Dimension: platform.DimensionStream, DimensionID: "web", Type: platform.MetricEvents, Timestamp: ts, Value: float64(i)},
			platform.Metric{Dimension: platform.DimensionAudience, DimensionID: "vip", Type: platform.MetricSize, Timestamp: ts, Value: -2},
			platform.Metric{Dimension: platform.DimensionJob, DimensionID: "web", Type: platform.MetricRows, Timestamp: ts, Value: -3})
	}
	if err := store.RecordMetrics(ctx, pts); err != nil {
		tb.Fatal(err)
	}
}

func table(name string) lakehouse.TableName {
	return lakehouse.TableName{Catalog: "main", Schema: "exports", Table: name}
}

var wantColumns = []string{"dimension string", "dimension_id string", "dimension_type string", "ts timestamp", "value double", "exported_ts timestamp"}

// values returns each row's value, sorted, checking every row has the
// same exported_ts (the run's) when one is asked for.
func values(tb testing.TB, rows []string) []int {
	var out []int
	for _, r := range rows {
		cells := strings.Split(r, "|")
		if len(cells) != len(wantColumns) {
			tb.Fatalf("row %q: %d cells", r, len(cells))
		}
		v, err := strconv.ParseFloat(cells[4], 64)
		if err != nil {
			tb.Fatalf("row %q: value %q", r, cells[4])
		}
		out = append(out, int(v))
	}
	slices.Sort(out)
	return out
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

const webSpec = "catalog: main\nschema: exports\ndimension: stream\ndimension_id: web\nmetric_type: events\nfile_rows: 3\n"

func TestColumnsTypesAndIncremental(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	addPoints(t, f.Platform, 0, 10, time.Hour)
	spec := exporttest.Spec(t, "web", exportmetrics.Kind, webSpec)
	flow, err := exportmetrics.New(spec, f.Env)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.Run(ctx, spec, flow)
	if err != nil || res.Rows != 10 {
		t.Fatalf("first run: %+v, %v", res, err)
	}
	cols, rows := f.Table(t, table("lakeport_default_metrics"))
	if !slices.Equal(cols, wantColumns) {
		t.Errorf("columns = %v, want %v", cols, wantColumns)
	}
	if got := values(t, rows); !slices.Equal(got, seq(0, 10)) {
		t.Errorf("rows: %v", got)
	}
	// every cell, against the platform's own record
	pts, err := f.Platform.Metrics(ctx, platform.MetricQuery{Dimension: "stream", DimensionID: "web", Type: "events"})
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, r := range rows {
		c := strings.Split(r, "|")
		p := pts[int(must(strconv.ParseFloat(c[4], 64)))]
		ts, err := time.Parse(time.RFC3339Nano, c[3])
		if c[0] != "stream" || c[1] != "web" || c[2] != "events" || err != nil || !ts.Equal(p.Timestamp) {
			t.Errorf("row %q, want point %+v", r, p)
		}
		if _, err := time.Parse(time.RFC3339Nano, c[5]); err != nil {
			t.Errorf("row %q: exported_ts: %v", r, err)
		}
		exported[c[5]] = true
	}
	if len(exported) != 1 {
		t.Errorf("one run, exported_ts values %v", exported)
	}
	// nothing new: no rows
	if res, err := f.Run(ctx, spec, flow); err != nil || res.Rows != 0 {
		t.Fatalf("idle run: %+v, %v", res, err)
	}
	// new points: only they are appended, with the later run's exported_ts
	addPoints(t, f.Platform, 10, 4, time.Minute)
	if res, err := f.Run(ctx, spec, flow); err != nil || res.Rows != 4 {
		t.Fatalf("incremental run: %+v, %v", res, err)
	}
	_, rows = f.Table(t, table("lakeport_default_metrics"))
	if got := values(t, rows); !slices.Equal(got, seq(0, 14)) {
		t.Errorf("rows after increment: %v", got)
	}
	runs := map[string]int{}
	for _, r := range rows {
		runs[strings.Split(r, "|")[5]]++
	}
	if len(runs) != 2 {
		t.Errorf("two runs with rows, exported_ts counts %v", runs)
	}
	if left := f.Staged(t); len(left) != 0 {
		t.Errorf("staged files left: %v", left)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestDimensionsAndTableNames(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	addPoints(t, f.Platform, 0, 3, time.Hour)
	if err := f.Platform.RecordMetrics(ctx, []platform.Metric{
		{Dimension: "audience", DimensionID: "nl", Type: "size", Timestamp: platform.Now(), Value: 7},
		{Dimension: "audience", DimensionID: "vip", Type: "added", Timestamp: platform.Now(), Value: 8},
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, settings, table string
		want                  []int
	}{
		{"all-streams", "dimension: stream\nmetric_type: events\n", "lakeport_default_metrics", []int{-1, -1, -1, 0, 1, 2}},
		{"vip", "dimension: audience\ndimension_id: vip\nmetric_type: size\naccount: Acme Corp\n", "lakeport_acme_corp_metrics", []int{-2, -2, -2}},
		{"sizes", "dimension: audience\nmetric_type: size\nprefix: lp\naccount: a1\n", "lp_a1_metrics", []int{-2, -2, -2, 7}},
		{"jobs", "dimension: job\nmetric_type: rows\ntable: job_rows\n", "job_rows", []int{-3, -3, -3}},
		{"durations", "dimension: job\nmetric_type: duration\ntable: job_durations\n", "job_durations", nil},
	} {
		spec := exporttest.Spec(t, c.name, exportmetrics.Kind, "catalog: main\nschema: exports\n"+c.settings)
		flow, err := exportmetrics.New(spec, f.Env)
		if err != nil {
			t.Fatal(err)
		}
		if got := flow.(*exportmetrics.Flow).TableName(); got != table(c.table) {
			t.Errorf("%s: table %s, want %s", c.name, got.Plain(), c.table)
		}
		if _, err := f.Run(ctx, spec, flow); err != nil {
			t.Fatal(err)
		}
		cols, rows := f.Table(t, table(c.table))
		if got := values(t, rows); !slices.Equal(got, c.want) || !slices.Equal(cols, wantColumns) {
			t.Errorf("%s: %v rows %v, want %v", c.name, cols, got, c.want)
		}
	}
	// a blank dimension id is NULL
	if err := f.Platform.RecordMetrics(ctx, []platform.Metric{{Dimension: "job", Type: "duration", Timestamp: platform.Now(), Value: 1.5}}); err != nil {
		t.Fatal(err)
	}
	spec := exporttest.Spec(t, "durations", exportmetrics.Kind, "catalog: main\nschema: exports\ndimension: job\nmetric_type: duration\ntable: job_durations\n")
	flow, _ := exportmetrics.New(spec, f.Env)
	if _, err := f.Run(ctx, spec, flow); err != nil {
		t.Fatal(err)
	}
	if _, rows := f.Table(t, table("job_durations")); len(rows) != 1 || !strings.HasPrefix(rows[0], "job|NULL|duration|") || strings.Split(rows[0], "|")[4] != "1.5" {
		t.Errorf("blank dimension id: %q", rows)
	}
}

// The lookback applies to the first run; later runs export every new
// point, however old its timestamp.
func TestLookback(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	ages := []time.Duration{time.Hour, 10 * day, 20 * day, 40 * day, 80 * day, 100 * day} // values 0..5
	for i, age := range ages {
		addPoints(t, f.Platform, i, 1, age)
	}
	for _, c := range []struct {
		lookback string
		want     []int
	}{
		{"0d", nil}, {"7d", []int{0}}, {"14d", []int{0, 1}}, {"", []int{0, 1, 2}}, {"30d", []int{0, 1, 2}},
		{"60d", []int{0, 1, 2, 3}}, {"90d", []int{0, 1, 2, 3, 4}},
	} {
		name := "lb" + c.lookback
		settings := webSpec + "table: " + name + "\n"
		if c.lookback != "" {
			settings += "lookback: " + c.lookback + "\n"
		}
		spec := exporttest.Spec(t, name, exportmetrics.Kind, settings)
		flow, err := exportmetrics.New(spec, f.Env)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Run(ctx, spec, flow); err != nil {
			t.Fatal(err)
		}
		if _, rows := f.Table(t, table(name)); !slices.Equal(values(t, rows), c.want) {
			t.Errorf("lookback %q: %v, want %v", c.lookback, values(t, rows), c.want)
		}
	}
	// a point recorded after the first run is new, whatever its timestamp
	addPoints(t, f.Platform, 6, 1, 365*day)
	addPoints(t, f.Platform, 7, 1, 0)
	spec := exporttest.Spec(t, "lb0d", exportmetrics.Kind, webSpec+"table: lb0d\nlookback: 0d\n")
	flow, _ := exportmetrics.New(spec, f.Env)
	if res, err := f.Run(ctx, spec, flow); err != nil || res.Rows != 2 {
		t.Fatalf("second run: %+v, %v", res, err)
	}
	if _, rows := f.Table(t, table("lb0d")); !slices.Equal(values(t, rows), []int{6, 7}) {
		t.Errorf("second run with lookback 0d: %v, want the two new points", values(t, rows))
	}
}

func TestBadSettings(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	const base = "catalog: main\nschema: exports\n"
	for _, c := range []struct{ settings, want string }{
		{"schema: exports\ndimension: stream\nmetric_type: events\n", "settings.catalog: required"},
		{base + "metric_type: events\n", "settings.dimension: required"},
		{base + "dimension: stream\n", "settings.metric_type: required"},
		{base + "dimension: profile\nmetric_type: events\n", `settings.dimension: unknown dimension "profile" (want one of stream, audience, job)`},
		{base + "dimension: stream\nmetric_type: size\n", `settings.metric_type: "size" is not a metric type of dimension stream (want one of events)`},
		{base + "dimension: audience\nmetric_type: rows\n", `settings.metric_type: "rows" is not a metric type of dimension audience (want one of size, added, removed)`},
		{base + "dimension: job\nmetric_type: events\n", `settings.metric_type: "events" is not a metric type of dimension job`},
		{base + "dimension: stream\nmetric_type: events\nlookback: 5d\n", `settings.lookback: want one of 0d, 7d, 14d, 30d, 60d, 90d, got "5d"`},
		{base + "dimension: stream\nmetric_type: events\nlookback: 30\n", `settings.lookback: want one of`},
		{base + "dimension: stream\nmetric_type: events\nformat: parquet\n", `settings.format: export.metrics stages gzip CSV only: want csv.gz`},
		{base + "dimension: stream\nmetric_type: events\nformat: csv\n", `settings.format`},
		{base + "dimension: stream\nmetric_type: events\nfile_rows: -1\n", "settings.file_rows"},
		{base + "dimension: stream\nmetric_type: events\ntable: 'no spaces'\n", "settings.table"},
		{base + "dimension: stream\nmetric_type: events\nstart_date: 2026-01-01\n", "start_date"},
	} {
		_, err := exportmetrics.New(exporttest.Spec(t, "bad", exportmetrics.Kind, c.settings), f.Env)
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("%q: got %v, want an invalid-settings error containing %q", c.settings, err, c.want)
		}
	}
	// csv.gz spelled out is the one format allowed
	if _, err := exportmetrics.New(exporttest.Spec(t, "ok", exportmetrics.Kind, base+"dimension: stream\nmetric_type: events\nformat: csv.gz\n"), f.Env); err != nil {
		t.Errorf("format csv.gz: %v", err)
	}
}

var crashSpec = "catalog: main\nschema: exports\ndimension: stream\ndimension_id: web\nmetric_type: events\nfile_rows: 4\n"

var crashCampaign = exporttest.Campaign{
	Name: "metrics",
	Setup: func(tb testing.TB, f *exporttest.Fixture) {
		addPoints(tb, f.Platform, 0, 20, time.Hour)
		addPoints(tb, f.Platform, 1000, 5, 45*day) // before the lookback: never exported
	},
	Grow: func(tb testing.TB, f *exporttest.Fixture, i int) {
		addPoints(tb, f.Platform, 20+i*3, 9, time.Minute)
	},
	Run: func(ctx context.Context, f *exporttest.Fixture) error {
		spec := exporttest.Spec(&testing.T{}, "crash", exportmetrics.Kind, crashSpec)
		flow, err := exportmetrics.New(spec, f.Env)
		if err != nil {
			return err
		}
		_, err = f.Run(ctx, spec, flow)
		return err
	},
	Check: func(tb testing.TB, f *exporttest.Fixture) {
		var want []int
		for after := int64(0); ; {
			page, err := f.Platform.Metrics(ctx, platform.MetricQuery{Dimension: "stream", DimensionID: "web", Type: "events", AfterID: after, Limit: platform.MaxPage})
			if err != nil {
				tb.Fatal(err)
			}
			for _, p := range page {
				if p.Value < 1000 {
					want = append(want, int(p.Value))
				}
				after = p.ID
			}
			if len(page) < platform.MaxPage {
				break
			}
		}
		slices.Sort(want)
		_, rows := f.Table(tb, table("lakeport_default_metrics"))
		if got := values(tb, rows); !slices.Equal(got, want) {
			tb.Errorf("the table holds %d rows %v, the platform %d points %v", len(got), got, len(want), want)
		}
	},
}

func TestCrashCampaign(t *testing.T) { exporttest.RunCampaign(t, crashCampaign) }
