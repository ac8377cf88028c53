package exportsystem_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/flow/export"
	"github.com/lakeport/lakeport/internal/flow/export/exporttest"
	"github.com/lakeport/lakeport/internal/flow/exportsystem"
	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/platform"
)

var ctx = context.Background()

func TestMain(m *testing.M) {
	exporttest.ChildMain(crashCampaign)
	os.Exit(m.Run())
}

// subjects cycle through the events addEvents records.
var subjects = []string{platform.SubjectJob, platform.SubjectAudience, platform.SubjectAuthorization}

// addEvents records n system events numbered first.. (the number is in the
// notes): subject i%3 of subjects, subject id "s{i%4}", an actor on even
// numbers only, related {"run": "{i}"} on odd numbers only.
func addEvents(tb testing.TB, store platform.Store, first, n int) {
	tb.Helper()
	for i := first; i < first+n; i++ {
		e := platform.SystemEvent{SubjectType: subjects[i%3], SubjectID: fmt.Sprintf("s%d", i%4), Verb: platform.VerbFinished,
			Notes: fmt.Sprintf("n=%d", i)}
		if i%2 == 0 {
			e.AccountID, e.UserID = "acct-1", fmt.Sprintf("user-%d", i%5)
		} else {
			e.Related = map[string]string{"run": strconv.Itoa(i), "job": "nightly"}
		}
		if _, err := store.RecordSystemEvent(ctx, e); err != nil {
			tb.Fatal(err)
		}
	}
}

// allEvents reads the whole audit log.
func allEvents(tb testing.TB, store platform.Store) []platform.SystemEvent {
	tb.Helper()
	var out []platform.SystemEvent
	var after platform.Cursor
	for {
		page, err := store.SystemEvents(ctx, after, platform.MaxPage)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, page...)
		if len(page) < platform.MaxPage {
			return out
		}
		after = page[len(page)-1].Cursor()
	}
}

func table(name string) lakehouse.TableName {
	return lakehouse.TableName{Catalog: "main", Schema: "exports", Table: name}
}

var wantColumns = []string{"id bigint", "date timestamp", "aid string", "user_id string", "subject_type string",
	"subject_id string", "verb string", "notes string", "related string"}

// ns returns the number in each row's notes, sorted.
func ns(tb testing.TB, rows []string) []int {
	var out []int
	for _, r := range rows {
		cells := strings.Split(r, "|")
		if len(cells) != len(wantColumns) {
			tb.Fatalf("row %q: %d cells", r, len(cells))
		}
		n, err := strconv.Atoi(strings.TrimPrefix(cells[7], "n="))
		if err != nil {
			tb.Fatalf("row %q: notes %q", r, cells[7])
		}
		out = append(out, n)
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

// numbers returns the numbers of the events that pass keep, sorted.
func numbers(evs []platform.SystemEvent, keep func(platform.SystemEvent) bool) []int {
	var out []int
	for _, ev := range evs {
		if keep(ev) {
			n, _ := strconv.Atoi(strings.TrimPrefix(ev.Notes, "n="))
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

func TestColumnsTypesAndIncremental(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	addEvents(t, f.Platform, 0, 23)
	for _, format := range []string{"parquet", "csv", "csv.gz"} {
		t.Run(format, func(t *testing.T) {
			pre := "x" + strings.ReplaceAll(format, ".", "")
			spec := exporttest.Spec(t, "sys-"+pre, exportsystem.Kind,
				"catalog: main\nschema: exports\nprefix: "+pre+"\nformat: "+format+"\nfile_rows: 5\n")
			flow, err := exportsystem.New(spec, f.Env)
			if err != nil {
				t.Fatal(err)
			}
			res, err := f.Run(ctx, spec, flow)
			if err != nil || res.Rows != 23 {
				t.Fatalf("first run: %+v, %v", res, err)
			}
			cols, rows := f.Table(t, table(pre+"_system_event_export_default"))
			if !slices.Equal(cols, wantColumns) {
				t.Errorf("columns = %v, want %v", cols, wantColumns)
			}
			if got := ns(t, rows); !slices.Equal(got, seq(0, 23)) {
				t.Errorf("rows: %v", got)
			}
			// every cell, against the platform's own record
			evs := allEvents(t, f.Platform)
			byNotes := map[string]string{}
			for _, r := range rows {
				byNotes[strings.Split(r, "|")[7]] = r
			}
			for _, ev := range evs[:4] {
				cells := strings.Split(byNotes[ev.Notes], "|")
				if cells[0] != strconv.FormatInt(ev.ID, 10) {
					t.Errorf("%s: id %s, want %d", ev.Notes, cells[0], ev.ID)
				}
				if ts, err := time.Parse(time.RFC3339Nano, cells[1]); err != nil || !ts.Equal(ev.Time) {
					t.Errorf("%s: date %q, want %s", ev.Notes, cells[1], ev.Time)
				}
				want := []string{ev.AccountID, ev.UserID, ev.SubjectType, ev.SubjectID, ev.Verb, ev.Notes}
				for i, w := range want {
					if w == "" {
						w = "NULL"
					}
					if cells[2+i] != w {
						t.Errorf("%s: %s = %q, want %q", ev.Notes, wantColumns[2+i], cells[2+i], w)
					}
				}
				var related map[string]string
				if err := json.Unmarshal([]byte(cells[8]), &related); err != nil || len(related) != len(ev.Related) || related["run"] != ev.Related["run"] {
					t.Errorf("%s: related %q, want %v as a JSON object", ev.Notes, cells[8], ev.Related)
				}
			}
			// nothing new: no rows
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
	addEvents(t, f.Platform, 23, 4)
	spec := exporttest.Spec(t, "sys-xcsvgz", exportsystem.Kind, "catalog: main\nschema: exports\nprefix: xcsvgz\nformat: csv.gz\nfile_rows: 5\n")
	flow, _ := exportsystem.New(spec, f.Env)
	if res, err := f.Run(ctx, spec, flow); err != nil || res.Rows != 4 {
		t.Fatalf("incremental run: %+v, %v", res, err)
	}
	_, rows := f.Table(t, table("xcsvgz_system_event_export_default"))
	if got := ns(t, rows); !slices.Equal(got, seq(0, 27)) {
		t.Errorf("rows after increment: %v", got)
	}
}

// Empty aid, user_id, subject_id and notes are NULL in every format, and
// an event without related subjects has related {}.
func TestEmptyCells(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	if _, err := f.Platform.RecordSystemEvent(ctx, platform.SystemEvent{SubjectType: platform.SubjectJob, Verb: platform.VerbStarted}); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"parquet", "csv", "csv.gz"} {
		pre := "e" + strings.ReplaceAll(format, ".", "")
		spec := exporttest.Spec(t, pre, exportsystem.Kind, "catalog: main\nschema: exports\nprefix: "+pre+"\nformat: "+format+"\n")
		flow, _ := exportsystem.New(spec, f.Env)
		if _, err := f.Run(ctx, spec, flow); err != nil {
			t.Fatal(err)
		}
		_, rows := f.Table(t, table(pre+"_system_event_export_default"))
		if len(rows) != 1 || !strings.HasSuffix(rows[0], "|NULL|NULL|job|NULL|started|NULL|{}") {
			t.Errorf("%s: rows %q", format, rows)
		}
	}
}

func TestTableNames(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	addEvents(t, f.Platform, 0, 2)
	for _, c := range []struct{ settings, table string }{
		{"account: Acme Corp.EU\n", "lakeport_system_event_export_acme_corp_eu"},
		{"prefix: lp\naccount: a1\n", "lp_system_event_export_a1"},
		{"table: audit_log\naccount: ignored\n", "audit_log"},
	} {
		spec := exporttest.Spec(t, "names-"+strconv.Itoa(len(c.table)), exportsystem.Kind, "catalog: main\nschema: exports\n"+c.settings)
		flow, err := exportsystem.New(spec, f.Env)
		if err != nil {
			t.Fatal(err)
		}
		if got := flow.(*exportsystem.Flow).TableName(); got != table(c.table) {
			t.Errorf("%q: table %s, want %s", c.settings, got.Plain(), c.table)
		}
		if _, err := f.Run(ctx, spec, flow); err != nil {
			t.Fatal(err)
		}
		if _, rows := f.Table(t, table(c.table)); len(rows) != 2 {
			t.Errorf("%s holds %d rows, want 2", c.table, len(rows))
		}
	}
}

func TestFilters(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	addEvents(t, f.Platform, 0, 10)
	time.Sleep(2 * time.Millisecond) // the later events have later times
	addEvents(t, f.Platform, 10, 10)
	time.Sleep(2 * time.Millisecond)
	addEvents(t, f.Platform, 20, 10)
	evs := allEvents(t, f.Platform)
	at := func(n int) time.Time { return evs[n].Time } // events are numbered in log order
	start, end := at(10).Format(time.RFC3339Nano), at(20).Format(time.RFC3339Nano)
	spec := exporttest.Spec(t, "filtered", exportsystem.Kind, fmt.Sprintf(`
catalog: main
schema: exports
subject_type: job
start_date: %q
end_date: %q
`, start, end))
	flow, err := exportsystem.New(spec, f.Env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Run(ctx, spec, flow); err != nil {
		t.Fatal(err)
	}
	want := numbers(evs, func(ev platform.SystemEvent) bool {
		return ev.SubjectType == platform.SubjectJob && !ev.Time.Before(at(10)) && ev.Time.Before(at(20))
	})
	if len(want) == 0 {
		t.Fatal("the filters keep nothing: a useless test")
	}
	_, rows := f.Table(t, table("lakeport_system_event_export_default"))
	if got := ns(t, rows); !slices.Equal(got, want) {
		t.Errorf("rows %v, want the job events in [%s, %s): %v", got, start, end, want)
	}
	// skipped events moved the cursor: a later run reads only new events
	addEvents(t, f.Platform, 30, 3)
	if res, err := f.Run(ctx, spec, flow); err != nil || res.Rows != 0 {
		t.Fatalf("run after the end date: %+v, %v", res, err)
	}
	// subject id and type, no dates
	spec = exporttest.Spec(t, "subject", exportsystem.Kind, "catalog: main\nschema: exports\nprefix: subj\nsubject_type: audience\nsubject_id: s1\n")
	flow, _ = exportsystem.New(spec, f.Env)
	if _, err := f.Run(ctx, spec, flow); err != nil {
		t.Fatal(err)
	}
	want = numbers(allEvents(t, f.Platform), func(ev platform.SystemEvent) bool {
		return ev.SubjectType == platform.SubjectAudience && ev.SubjectID == "s1"
	})
	_, rows = f.Table(t, table("subj_system_event_export_default"))
	if got := ns(t, rows); len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("rows %v, want audience s1: %v", got, want)
	}
}

// The default start date is 30 days before the first run, kept in the
// cursor; start_date replaces it.
func TestDefaultStartDate(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	addEvents(t, f.Platform, 0, 3)
	cursor := func(name string) exportsystem.Cursor {
		raw, err := job.NewCheckpoints(f.State, name).Get(ctx, export.LedgerKey)
		if err != nil {
			t.Fatal(err)
		}
		var l export.Ledger
		var c exportsystem.Cursor
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(l.Cursor, &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	spec := exporttest.Spec(t, "dflt", exportsystem.Kind, "catalog: main\nschema: exports\n")
	flow, _ := exportsystem.New(spec, f.Env)
	before := platform.Now()
	if res, err := f.Run(ctx, spec, flow); err != nil || res.Rows != 3 {
		t.Fatalf("first run: %+v, %v", res, err)
	}
	after := platform.Now()
	c := cursor("dflt")
	if c.Start == nil || c.Start.Before(before.AddDate(0, 0, -30)) || c.Start.After(after.AddDate(0, 0, -30)) {
		t.Errorf("default start %v, want 30 days before the first run (%s .. %s)", c.Start, before, after)
	}
	first := *c.Start
	addEvents(t, f.Platform, 3, 1)
	if _, err := f.Run(ctx, spec, flow); err != nil {
		t.Fatal(err)
	}
	if c := cursor("dflt"); c.Start == nil || !c.Start.Equal(first) {
		t.Errorf("start moved to %v on a later run, want %v", c.Start, first)
	}
	// an explicit start date in the future keeps everything out
	spec = exporttest.Spec(t, "future", exportsystem.Kind, "catalog: main\nschema: exports\nprefix: fut\nstart_date: 2999-01-01\n")
	flow, _ = exportsystem.New(spec, f.Env)
	if res, err := f.Run(ctx, spec, flow); err != nil || res.Rows != 0 {
		t.Fatalf("future start: %+v, %v", res, err)
	}
	if c := cursor("future"); c.Start != nil {
		t.Errorf("cursor start %v with start_date set", c.Start)
	}
	if cols, rows := f.Table(t, table("fut_system_event_export_default")); len(rows) != 0 || !slices.Equal(cols, wantColumns) {
		t.Errorf("future start: %v, %d rows", cols, len(rows))
	}
}

func TestBadSettings(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	for _, c := range []struct{ settings, want string }{
		{"schema: exports\n", "settings.catalog: required"},
		{"catalog: main\nschema: exports\nstart_date: 2026-02-01\nend_date: 2026-01-01\n", "settings.end_date: end date 2026-01-01 is not after the start date 2026-02-01"},
		{"catalog: main\nschema: exports\nstart_date: 2026-02-01\nend_date: 2026-02-01\n", "settings.end_date: end date 2026-02-01 is not after"},
		{"catalog: main\nschema: exports\nstart_date: yesterday\n", "settings.start_date: want yyyy-mm-dd"},
		{"catalog: main\nschema: exports\nend_date: 01/02/2026\n", "settings.end_date: want yyyy-mm-dd"},
		{"catalog: main\nschema: exports\nformat: xml\n", "settings.format: want one of parquet, csv, csv.gz"},
		{"catalog: main\nschema: exports\nfile_rows: -1\n", "settings.file_rows"},
		{"catalog: main\nschema: exports\nload_rows: -5\n", "settings.load_rows: want at least 1"},
		{"catalog: main\nschema: exports\ntable: 'bad name'\n", "settings.table"},
		{"catalog: main\nschema: 'bad name'\n", "settings.schema"},
		{"catalog: main\nschema: exports\nsubject_type: [job]\n", "settings.subject_type"},
		{"catalog: main\nschema: exports\ncolour: red\n", "colour"},
	} {
		_, err := exportsystem.New(exporttest.Spec(t, "bad", exportsystem.Kind, c.settings), f.Env)
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("%q: got %v, want an invalid-settings error containing %q", c.settings, err, c.want)
		}
	}
}

var crashSpec = "catalog: main\nschema: exports\nfile_rows: 4\nload_rows: 10\nformat: csv.gz\nsubject_type: job\n"

var crashCampaign = exporttest.Campaign{
	Name: "system_events",
	Setup: func(tb testing.TB, f *exporttest.Fixture) {
		addEvents(tb, f.Platform, 0, 30)
	},
	Grow: func(tb testing.TB, f *exporttest.Fixture, i int) {
		addEvents(tb, f.Platform, 30+i*5, 15)
	},
	Run: func(ctx context.Context, f *exporttest.Fixture) error {
		spec := exporttest.Spec(&testing.T{}, "crash", exportsystem.Kind, crashSpec)
		flow, err := exportsystem.New(spec, f.Env)
		if err != nil {
			return err
		}
		_, err = f.Run(ctx, spec, flow)
		return err
	},
	Check: func(tb testing.TB, f *exporttest.Fixture) {
		want := numbers(allEvents(tb, f.Platform), func(ev platform.SystemEvent) bool { return ev.SubjectType == platform.SubjectJob })
		_, rows := f.Table(tb, table("lakeport_system_event_export_default"))
		if got := ns(tb, rows); !slices.Equal(got, want) {
			tb.Errorf("the table holds %d rows %v, the audit log %d job events %v", len(got), got, len(want), want)
		}
	},
}

func TestCrashCampaign(t *testing.T) { exporttest.RunCampaign(t, crashCampaign) }
