package exportevents_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/flow/export/exporttest"
	"github.com/lakeport/lakeport/internal/flow/exportevents"
	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/platform"
)

var ctx = context.Background()

func TestMain(m *testing.M) {
	exporttest.ChildMain(crashCampaign)
	os.Exit(m.Run())
}

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// addEvents appends n events to stream with event times t0 + i hours.
func addEvents(tb testing.TB, store platform.Store, stream string, first, n int) {
	tb.Helper()
	var in []platform.EventInput
	for i := first; i < first+n; i++ {
		in = append(in, platform.EventInput{EventTS: t0.Add(time.Duration(i) * time.Hour), Data: json.RawMessage(fmt.Sprintf(`{"n":%d,"user":"u%d","page":"/p"}`, i, i%7))})
	}
	if _, err := store.Write(ctx, platform.Batch{Appends: []platform.Append{{Stream: stream, Events: in}}}); err != nil {
		tb.Fatal(err)
	}
}

func table(name string) lakehouse.TableName {
	return lakehouse.TableName{Catalog: "main", Schema: "exports", Table: name}
}

var wantColumns = []string{"id bigint", "event_ts timestamp", "receive_ts timestamp", "stream string", "data string"}

// ns returns the "n" of each row's data, sorted.
func ns(tb testing.TB, rows []string) []int {
	var out []int
	for _, r := range rows {
		cells := strings.Split(r, "|")
		var d struct{ N int }
		if err := json.Unmarshal([]byte(cells[len(cells)-1]), &d); err != nil {
			tb.Fatalf("data %q: %v", cells[len(cells)-1], err)
		}
		out = append(out, d.N)
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

func TestPerStreamTablesIncremental(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	addEvents(t, f.Platform, "web", 0, 30)
	addEvents(t, f.Platform, "app.v2", 100, 5)
	for _, format := range []string{"parquet", "csv", "csv.gz"} {
		t.Run(format, func(t *testing.T) {
			spec := exporttest.Spec(t, "ev-"+strings.ReplaceAll(format, ".", ""), exportevents.Kind,
				"catalog: main\nschema: exports\nprefix: x"+strings.ReplaceAll(format, ".", "")+"\nformat: "+format+"\nfile_rows: 7\n")
			flow, err := exportevents.New(spec, f.Env)
			if err != nil {
				t.Fatal(err)
			}
			res, err := f.Run(ctx, spec, flow)
			if err != nil || res.Rows != 35 {
				t.Fatalf("first run: %+v, %v", res, err)
			}
			pre := "x" + strings.ReplaceAll(format, ".", "")
			cols, rows := f.Table(t, table(pre+"_events_web"))
			if !slices.Equal(cols, wantColumns) {
				t.Errorf("columns = %v, want %v", cols, wantColumns)
			}
			if got := ns(t, rows); !slices.Equal(got, seq(0, 30)) {
				t.Errorf("web rows: %v", got)
			}
			if !strings.HasPrefix(rows[0], "") || !strings.Contains(rows[0], "|web|") {
				t.Errorf("row %q lacks the stream", rows[0])
			}
			_, rows = f.Table(t, table(pre+"_events_app_v2"))
			if got := ns(t, rows); !slices.Equal(got, seq(100, 105)) {
				t.Errorf("app.v2 rows: %v", got)
			}
			// nothing new: no rows, no new load
			res, err = f.Run(ctx, spec, flow)
			if err != nil || res.Rows != 0 {
				t.Fatalf("idle run: %+v, %v", res, err)
			}
			if left := f.Staged(t); len(left) != 0 {
				t.Errorf("staged files left: %v", left)
			}
		})
	}
	// more events: only they are appended
	addEvents(t, f.Platform, "web", 30, 3)
	spec := exporttest.Spec(t, "ev-parquet", exportevents.Kind, "catalog: main\nschema: exports\nprefix: xparquet\nfile_rows: 7\n")
	flow, _ := exportevents.New(spec, f.Env)
	if res, err := f.Run(ctx, spec, flow); err != nil || res.Rows != 3 {
		t.Fatalf("incremental run: %+v, %v", res, err)
	}
	_, rows := f.Table(t, table("xparquet_events_web"))
	if got := ns(t, rows); !slices.Equal(got, seq(0, 33)) {
		t.Errorf("web rows after increment: %v", got)
	}
}

func TestSingleTableFieldsDatesAndCap(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	addEvents(t, f.Platform, "web", 0, 48)
	addEvents(t, f.Platform, "app", 1000, 2)
	spec := exporttest.Spec(t, "all", exportevents.Kind, `
catalog: main
schema: exports
single_table: true
streams: [web]
fields: [n]
start_date: "2026-03-01T10:00:00Z"
end_date: 2026-03-02
`)
	flow, err := exportevents.New(spec, f.Env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Run(ctx, spec, flow); err != nil {
		t.Fatal(err)
	}
	_, rows := f.Table(t, table("lakeport_events_all"))
	if got := ns(t, rows); !slices.Equal(got, seq(10, 24)) {
		t.Errorf("rows in [10:00, next day): %v", got)
	}
	for _, r := range rows {
		if !strings.HasSuffix(r, `|{"n":`+strings.TrimPrefix(r[strings.LastIndex(r, ":")+1:], "")) || strings.Contains(r, "user") {
			t.Errorf("data kept fields other than n: %q", r)
		}
	}
	// a cap over the job's lifetime
	spec = exporttest.Spec(t, "capped", exportevents.Kind, "catalog: main\nschema: exports\nprefix: cap\nstreams: [web]\nmax_events: 5\n")
	flow, _ = exportevents.New(spec, f.Env)
	f.Run(ctx, spec, flow)
	f.Run(ctx, spec, flow)
	_, rows = f.Table(t, table("cap_events_web"))
	if got := ns(t, rows); !slices.Equal(got, seq(0, 5)) {
		t.Errorf("capped rows: %v", got)
	}
}

func TestFromNowOn(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	addEvents(t, f.Platform, "web", 0, 10)
	spec := exporttest.Spec(t, "fresh", exportevents.Kind, "catalog: main\nschema: exports\nfrom_now_on: true\n")
	flow, _ := exportevents.New(spec, f.Env)
	if res, err := f.Run(ctx, spec, flow); err != nil || res.Rows != 0 {
		t.Fatalf("first run: %+v, %v", res, err)
	}
	cols, rows := f.Table(t, table("lakeport_events_web"))
	if len(rows) != 0 || !slices.Equal(cols, wantColumns) {
		t.Errorf("first run created %v with %d rows", cols, len(rows))
	}
	time.Sleep(2 * time.Millisecond)
	addEvents(t, f.Platform, "web", 10, 4)
	addEvents(t, f.Platform, "later", 50, 2)
	if _, err := f.Run(ctx, spec, flow); err != nil {
		t.Fatal(err)
	}
	_, rows = f.Table(t, table("lakeport_events_web"))
	if got := ns(t, rows); !slices.Equal(got, seq(10, 14)) {
		t.Errorf("rows after the first run: %v", got)
	}
	_, rows = f.Table(t, table("lakeport_events_later"))
	if got := ns(t, rows); !slices.Equal(got, seq(50, 52)) {
		t.Errorf("a stream that appeared later: %v", got)
	}
}

func TestBadSettings(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	addEvents(t, f.Platform, "web", 0, 1)
	for _, c := range []struct{ settings, want string }{
		{"schema: exports\n", "settings.catalog: required"},
		{"catalog: main\nschema: exports\nstreams: [web, nope]\n", `settings.streams[1]: unknown stream "nope"`},
		{"catalog: main\nschema: exports\nstart_date: 2026-02-01\nend_date: 2026-01-01\n", "settings.end_date: end date 2026-01-01 is not after the start date"},
		{"catalog: main\nschema: exports\nstart_date: yesterday\n", "settings.start_date: want yyyy-mm-dd"},
		{"catalog: main\nschema: exports\nformat: xml\n", "settings.format: want one of parquet, csv, csv.gz"},
		{"catalog: main\nschema: exports\nmax_events: -1\n", "settings.max_events"},
		{"catalog: main\nschema: 'bad name'\n", "settings.schema"},
		{"catalog: main\nschema: exports\ncolour: red\n", "colour"},
	} {
		_, err := exportevents.New(exporttest.Spec(t, "bad", exportevents.Kind, c.settings), f.Env)
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("%q: got %v, want an invalid-settings error containing %q", c.settings, err, c.want)
		}
	}
}

var crashSpec = "catalog: main\nschema: exports\nfile_rows: 4\nformat: parquet\n"

var crashCampaign = exporttest.Campaign{
	Name: "events",
	Setup: func(tb testing.TB, f *exporttest.Fixture) {
		addEvents(tb, f.Platform, "web", 0, 10)
		addEvents(tb, f.Platform, "app", 1000, 5)
	},
	Grow: func(tb testing.TB, f *exporttest.Fixture, i int) {
		addEvents(tb, f.Platform, "web", 10+i*3, 9)
		addEvents(tb, f.Platform, "app", 1005+i*3, 1)
	},
	Run: func(ctx context.Context, f *exporttest.Fixture) error {
		spec := exporttest.Spec(&testing.T{}, "crash", exportevents.Kind, crashSpec)
		flow, err := exportevents.New(spec, f.Env)
		if err != nil {
			return err
		}
		_, err = f.Run(ctx, spec, flow)
		return err
	},
	Check: func(tb testing.TB, f *exporttest.Fixture) {
		for _, st := range []string{"web", "app"} {
			want, err := f.Platform.ReadStream(ctx, st, platform.Cursor{}, platform.MaxPage)
			if err != nil {
				tb.Fatal(err)
			}
			_, rows := f.Table(tb, table("lakeport_events_"+st))
			var wantN []int
			for _, ev := range want {
				var d struct{ N int }
				json.Unmarshal(ev.Data, &d)
				wantN = append(wantN, d.N)
			}
			slices.Sort(wantN)
			if got := ns(tb, rows); !slices.Equal(got, wantN) {
				tb.Errorf("%s: table holds %d rows %v, the stream %d events %v", st, len(got), got, len(wantN), wantN)
			}
		}
	},
}

func TestCrashCampaign(t *testing.T) { exporttest.RunCampaign(t, crashCampaign) }

// A lost ledger (a state store started afresh) exports everything again:
// its loads have a new epoch in their keys, so the table never skips them
// as already loaded (which would silently drop rows).
func TestResetLedgerNeverSkips(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	addEvents(t, f.Platform, "web", 0, 4)
	spec := exporttest.Spec(t, "again", exportevents.Kind, "catalog: main\nschema: exports\n")
	flow, _ := exportevents.New(spec, f.Env)
	if _, err := f.Run(ctx, spec, flow); err != nil {
		t.Fatal(err)
	}
	cp := job.NewCheckpoints(f.State, "again")
	prev, _ := cp.Get(ctx, "export")
	if err := cp.Set(ctx, "export", prev, ""); err != nil {
		t.Fatal(err)
	}
	addEvents(t, f.Platform, "web", 4, 1)
	if res, err := f.Run(ctx, spec, flow); err != nil || res.Rows != 5 {
		t.Fatalf("run after the reset: %+v, %v", res, err)
	}
	_, rows := f.Table(t, table("lakeport_events_web"))
	if got := ns(t, rows); !slices.Equal(got, []int{0, 0, 1, 1, 2, 2, 3, 3, 4}) {
		t.Errorf("after a reset ledger the table holds %v, want the first 4 twice and the new one once", got)
	}
}
