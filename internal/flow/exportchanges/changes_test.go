package exportchanges_test

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
	"github.com/lakeport/lakeport/internal/flow/export"
	"github.com/lakeport/lakeport/internal/flow/export/exporttest"
	"github.com/lakeport/lakeport/internal/flow/exportchanges"
	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/platform"
)

var ctx = context.Background()

func TestMain(m *testing.M) {
	exporttest.ChildMain(crashCampaign)
	os.Exit(m.Run())
}

func table(name string) lakehouse.TableName {
	return lakehouse.TableName{Catalog: "main", Schema: "exports", Table: name}
}

func score(tb testing.TB, store platform.Store, email string, s float64) {
	tb.Helper()
	in := platform.ProfileInput{Identifiers: []platform.Identifier{{Field: platform.FieldEmail, Value: email}}, Attributes: map[string]any{"score": s}}
	if _, err := store.Write(ctx, platform.Batch{Upserts: []platform.ProfileInput{in}}); err != nil {
		tb.Fatal(err)
	}
}

// seed defines score and three audiences (club: 50+, vip: 80+, low: under
// 20) over ann (60), bob (90) and cat (10).
func seed(tb testing.TB, store platform.Store) {
	tb.Helper()
	if err := store.DefineField(ctx, platform.Field{Name: "score", Type: platform.TypeNumber}); err != nil {
		tb.Fatal(err)
	}
	for slug, def := range map[string]string{"club": `score >= 50.0`, "vip": `score >= 80.0`, "low": `score < 20.0`} {
		if _, err := store.PutAudience(ctx, slug, def); err != nil {
			tb.Fatal(err)
		}
	}
	score(tb, store, "ann@x.io", 60)
	score(tb, store, "bob@x.io", 90)
	score(tb, store, "cat@x.io", 10)
}

func run(tb testing.TB, f *exporttest.Fixture, name, settings string) job.Result {
	tb.Helper()
	spec := exporttest.Spec(tb, name, exportchanges.Kind, settings)
	flow, err := exportchanges.New(spec, f.Env)
	if err != nil {
		tb.Fatal(err)
	}
	res, err := f.Run(ctx, spec, flow)
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

// emails maps profile IDs to emails (profiles as they are now).
func emails(tb testing.TB, store platform.Store) map[int64]string {
	ps, err := store.Profiles(ctx, 0, platform.MaxPage)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[int64]string{}
	for _, p := range ps {
		for _, id := range p.Identifiers {
			if id.Field == platform.FieldEmail {
				out[p.ID] = id.Value
				break
			}
		}
	}
	return out
}

// logRows renders the log's changes of audiences after a position as the
// table's rows: email|slug|time|exit.
func logRows(tb testing.TB, store platform.Store, after platform.Cursor, audiences ...string) []string {
	cs, err := store.AudienceChanges(ctx, after, platform.MaxPage)
	if err != nil {
		tb.Fatal(err)
	}
	em := emails(tb, store)
	var out []string
	for _, c := range cs {
		if slices.Contains(audiences, c.Audience) {
			e, ok := em[c.ProfileID]
			if !ok {
				e = "NULL"
			}
			out = append(out, fmt.Sprintf("%s|%s|%s|%v", e, c.Audience, c.Time.Format(time.RFC3339Nano), c.Change == platform.Exit))
		}
	}
	slices.Sort(out)
	return out
}

// rows reads the table back with its timestamps rendered as RFC 3339.
func rows(tb testing.TB, f *exporttest.Fixture, name string) (cols, out []string) {
	tb.Helper()
	cols, rs := f.Table(tb, table(name))
	for _, r := range rs {
		cells := strings.Split(r, "|")
		ts, err := time.Parse(time.RFC3339Nano, cells[2])
		if err != nil {
			tb.Fatalf("row %q: timestamp: %v", r, err)
		}
		cells[2] = ts.UTC().Format(time.RFC3339Nano)
		out = append(out, strings.Join(cells, "|"))
	}
	slices.Sort(out)
	return cols, out
}

// noTime drops the timestamp of rendered rows.
func noTime(rs []string) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		c := strings.Split(r, "|")
		out[i] = c[0] + "|" + c[1] + "|" + c[3]
	}
	slices.Sort(out)
	return out
}

var wantColumns = []string{"email string", "segment_slug string", "timestamp timestamp", "exit boolean"}

func TestColumnsAndIncremental(t *testing.T) {
	for _, format := range []string{"parquet", "csv", "csv.gz"} {
		t.Run(format, func(t *testing.T) {
			f := exporttest.Open(t, t.TempDir())
			seed(t, f.Platform)
			settings := "catalog: main\nschema: exports\naudiences: [club, vip]\nformat: " + format + "\nfile_rows: 2\n"
			if res := run(t, f, "ch", settings); res.Rows != 3 {
				t.Errorf("first run exported %d rows, want 3", res.Rows)
			}
			cols, got := rows(t, f, "lakeport_seg_changes")
			if !slices.Equal(cols, wantColumns) {
				t.Errorf("columns = %v, want %v", cols, wantColumns)
			}
			want := logRows(t, f.Platform, platform.Cursor{}, "club", "vip")
			if !slices.Equal(got, want) || len(want) != 3 {
				t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			// ann enters vip, bob leaves both, cat leaves low (not exported)
			score(t, f.Platform, "ann@x.io", 85)
			score(t, f.Platform, "bob@x.io", 40)
			score(t, f.Platform, "cat@x.io", 30)
			if res := run(t, f, "ch", settings); res.Rows != 3 {
				t.Errorf("second run exported %d rows, want 3", res.Rows)
			}
			_, got = rows(t, f, "lakeport_seg_changes")
			want = logRows(t, f.Platform, platform.Cursor{}, "club", "vip")
			if !slices.Equal(got, want) || len(want) != 6 {
				t.Errorf("rows after the second run:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if nt := noTime(got); !slices.Contains(nt, "bob@x.io|vip|true") || !slices.Contains(nt, "ann@x.io|vip|false") {
				t.Errorf("rows lack bob's exit or ann's entry: %v", nt)
			}
			if res := run(t, f, "ch", settings); res.Rows != 0 {
				t.Errorf("idle run exported %d rows", res.Rows)
			}
			if left := f.Staged(t); len(left) != 0 {
				t.Errorf("staged files left: %v", left)
			}
		})
	}
}

// The first run without changes creates the table.
func TestEmptyLogCreatesTable(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	if err := f.Platform.DefineField(ctx, platform.Field{Name: "score", Type: platform.TypeNumber}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Platform.PutAudience(ctx, "club", `score >= 50.0`); err != nil {
		t.Fatal(err)
	}
	run(t, f, "empty", "catalog: main\nschema: exports\naudiences: [club]\ntable: club_changes\n")
	if cols, got := rows(t, f, "club_changes"); !slices.Equal(cols, wantColumns) || len(got) != 0 {
		t.Errorf("columns %v, rows %v", cols, got)
	}
}

func TestBackfillOnce(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	seed(t, f.Platform)
	// history the backfill replaces: dan came and went, ann left and came back
	score(t, f.Platform, "dan@x.io", 70)
	score(t, f.Platform, "dan@x.io", 5)
	score(t, f.Platform, "ann@x.io", 0)
	score(t, f.Platform, "ann@x.io", 60)
	settings := "catalog: main\nschema: exports\naudiences: [club, vip]\nbackfill: true\n"
	if res := run(t, f, "bf", settings); res.Rows != 3 {
		t.Errorf("backfill exported %d rows, want 3", res.Rows)
	}
	_, got := rows(t, f, "lakeport_seg_changes")
	var want []string
	for _, slug := range []string{"club", "vip"} {
		ms, err := f.Platform.Members(ctx, slug, 0, platform.MaxPage)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			want = append(want, fmt.Sprintf("%s|%s|%s|false", m.Profile.Identifiers[0].Value, slug, m.EnteredAt.Format(time.RFC3339Nano)))
		}
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("backfill rows:\n%s\nwant (members when they entered):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// the next runs add the changes only, never the backfill again
	end, _ := f.Platform.AudienceChanges(ctx, platform.Cursor{}, platform.MaxPage)
	score(t, f.Platform, "bob@x.io", 55)
	run(t, f, "bf", settings)
	run(t, f, "bf", settings)
	_, got = rows(t, f, "lakeport_seg_changes")
	want = append(want, logRows(t, f.Platform, end[len(end)-1].Cursor(), "club", "vip")...)
	slices.Sort(want)
	if !slices.Equal(got, want) || len(want) != 4 {
		t.Errorf("rows after the backfill:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// racing changes profiles while the backfill pages the members.
type racing struct {
	platform.Store
	calls         int
	before, after func()
}

func (r *racing) Members(ctx context.Context, slug string, afterID int64, limit int) ([]platform.Member, error) {
	r.calls++
	if r.calls == 1 && r.before != nil {
		r.before()
	}
	ms, err := r.Store.Members(ctx, slug, afterID, limit)
	if r.calls == 1 && r.after != nil {
		r.after()
	}
	return ms, err
}

// Changes made while the backfill reads the members are neither lost nor
// doubled: the backfill is the membership at its position, the changes
// follow from there.
func TestBackfillRacingChanges(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	seed(t, f.Platform)
	store := f.Platform
	f.Env.Platform = &racing{Store: store,
		before: func() { // before club's page is read: ann leaves, eve enters
			score(t, store, "ann@x.io", 1)
			score(t, store, "eve@x.io", 77)
		},
		after: func() { // after club's page, before vip's: bob leaves both
			score(t, store, "bob@x.io", 2)
		},
	}
	defer func() { f.Env.Platform = store }()
	run(t, f, "race", "catalog: main\nschema: exports\naudiences: [club, vip]\nbackfill: true\n")
	_, got := rows(t, f, "lakeport_seg_changes")
	want := []string{
		"ann@x.io|club|false", "bob@x.io|club|false", "bob@x.io|vip|false", // the members at the position
		"ann@x.io|club|true", "eve@x.io|club|false", "bob@x.io|club|true", "bob@x.io|vip|true", // the changes since
	}
	slices.Sort(want)
	if nt := noTime(got); !slices.Equal(nt, want) {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(nt, "\n"), strings.Join(want, "\n"))
	}
}

// The id column is named after id_field and is NULL for a profile without
// a value or one deleted since.
func TestIDFieldNullsAndDeletedProfiles(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	seed(t, f.Platform)
	in := platform.ProfileInput{Identifiers: []platform.Identifier{{Field: platform.FieldEmail, Value: "ann@x.io"}, {Field: platform.FieldPhone, Value: "+31612345678"}}}
	if _, err := f.Platform.Write(ctx, platform.Batch{Upserts: []platform.ProfileInput{in}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Platform.Write(ctx, platform.Batch{Deletes: []platform.Identifier{{Field: platform.FieldEmail, Value: "bob@x.io"}}}); err != nil {
		t.Fatal(err)
	}
	run(t, f, "ph", "catalog: main\nschema: exports\naudiences: [vip, club]\nid_field: phone\n")
	cols, got := rows(t, f, "lakeport_seg_changes")
	if want := []string{"phone string", "segment_slug string", "timestamp timestamp", "exit boolean"}; !slices.Equal(cols, want) {
		t.Errorf("columns = %v, want %v", cols, want)
	}
	want := []string{"+31612345678|club|false", "NULL|club|false", "NULL|club|true", "NULL|vip|false", "NULL|vip|true"}
	if nt := noTime(got); !slices.Equal(nt, want) {
		t.Errorf("rows = %v, want %v", nt, want)
	}
}

// counting counts profile reads.
type counting struct {
	platform.Store
	calls int
}

func (c *counting) Profiles(ctx context.Context, afterID int64, limit int) ([]platform.Profile, error) {
	c.calls++
	return c.Store.Profiles(ctx, afterID, limit)
}

func TestFlushRowsAndBatchedLookups(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	seed(t, f.Platform)
	for i := range 40 {
		score(t, f.Platform, fmt.Sprintf("p%02d@x.io", i), 50+float64(i))
	}
	store := f.Platform
	c := &counting{Store: store}
	f.Env.Platform = c
	defer func() { f.Env.Platform = store }()
	res := run(t, f, "flush", "catalog: main\nschema: exports\naudiences: [club]\nflush_rows: 7\n")
	if res.Rows != 42 || res.Notes["loads"] != 6 {
		t.Errorf("result %+v, want 42 rows in 6 loads of at most 7", res)
	}
	if c.calls > 2 {
		t.Errorf("%d profile reads for 42 changes of 42 profiles, want 1 or 2", c.calls)
	}
	_, got := rows(t, f, "lakeport_seg_changes")
	if want := logRows(t, store, platform.Cursor{}, "club"); !slices.Equal(got, want) {
		t.Errorf("rows differ from the log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestBadSettings(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	seed(t, f.Platform)
	var eleven []string
	for i := range 11 {
		slug := fmt.Sprintf("a%d", i)
		if _, err := f.Platform.PutAudience(ctx, slug, `score > 1.0`); err != nil {
			t.Fatal(err)
		}
		eleven = append(eleven, slug)
	}
	base := "catalog: main\nschema: exports\n"
	for _, c := range []struct{ name, settings, want string }{
		{"11 audiences", base + "audiences: [" + strings.Join(eleven, ", ") + "]\n", "jobs[0].settings.audiences[10]: at most 10 audiences"},
		{"unknown audience", base + "audiences: [club, nope]\n", `jobs[0].settings.audiences[1]: unknown audience "nope"`},
		{"no audiences", base, "jobs[0].settings.audiences: required"},
		{"empty audiences", base + "audiences: []\n", "jobs[0].settings.audiences: want 1 to 10"},
		{"twice", base + "audiences: [club, club]\n", `jobs[0].settings.audiences[1]: audience "club" is listed twice`},
		{"bad slug", base + "audiences: ['Club!']\n", "jobs[0].settings.audiences[0]: audience slug"},
		{"unknown id field", base + "audiences: [club]\nid_field: ssn\n", `jobs[0].settings.id_field: unknown identifier field "ssn" (identifier fields: email, phone, uuid)`},
		{"attribute as id field", base + "audiences: [club]\nid_field: score\n", `jobs[0].settings.id_field: unknown identifier field "score"`},
		{"flush_rows", base + "audiences: [club]\nflush_rows: -1\n", "jobs[0].settings.flush_rows: want at least 1"},
		{"format", base + "audiences: [club]\nformat: xml\n", "jobs[0].settings.format: want one of parquet, csv, csv.gz"},
		{"table", base + "audiences: [club]\ntable: 'a b'\n", "jobs[0].settings.table"},
		{"unknown setting", base + "audiences: [club]\nsegments: [club]\n", "segments"},
	} {
		_, err := exportchanges.New(exporttest.Spec(t, "bad", exportchanges.Kind, c.settings), f.Env)
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("%s: got %v, want an invalid-settings error containing %q", c.name, err, c.want)
		}
	}
}

const crashSpec = "catalog: main\nschema: exports\naudiences: [club, vip]\nbackfill: true\nfile_rows: 3\nflush_rows: 5\n"

var crashCampaign = exporttest.Campaign{
	Name: "audience_changes",
	Setup: func(tb testing.TB, f *exporttest.Fixture) {
		seed(tb, f.Platform)
		for i := range 12 {
			score(tb, f.Platform, fmt.Sprintf("p%02d@x.io", i), float64(i*8))
		}
	},
	Grow: func(tb testing.TB, f *exporttest.Fixture, i int) {
		for k := range 4 {
			score(tb, f.Platform, fmt.Sprintf("p%02d@x.io", (i*5+k*7)%(12+i/4)), float64((i*17+k*31)%100))
		}
	},
	Run: func(ctx context.Context, f *exporttest.Fixture) error {
		spec := exporttest.Spec(&testing.T{}, "crash", exportchanges.Kind, crashSpec)
		flow, err := exportchanges.New(spec, f.Env)
		if err != nil {
			return err
		}
		_, err = f.Run(ctx, spec, flow)
		return err
	},
	Check: func(tb testing.TB, f *exporttest.Fixture) {
		raw, err := job.NewCheckpoints(f.State, "crash").Get(ctx, export.LedgerKey)
		if err != nil {
			tb.Fatal(err)
		}
		var l export.Ledger
		var cur exportchanges.Cursor
		if err := json.Unmarshal([]byte(raw), &l); err != nil || json.Unmarshal(l.Cursor, &cur) != nil || cur.Backfill == nil {
			tb.Fatalf("ledger %s: no backfill position", raw)
		}
		// the members at the backfill's position, replayed from the log
		all, err := f.Platform.AudienceChanges(ctx, platform.Cursor{}, platform.MaxPage)
		if err != nil {
			tb.Fatal(err)
		}
		em := emails(tb, f.Platform)
		member := map[string]bool{}
		var want []string
		for _, c := range all {
			if c.Audience != "club" && c.Audience != "vip" {
				continue
			}
			if !cur.Backfill.Less(c.Cursor()) {
				member[em[c.ProfileID]+"|"+c.Audience] = c.Change == platform.Enter
				continue
			}
			want = append(want, fmt.Sprintf("%s|%s|%v", em[c.ProfileID], c.Audience, c.Change == platform.Exit))
		}
		for k, in := range member {
			if in {
				want = append(want, k+"|false")
			}
		}
		slices.Sort(want)
		_, got := rows(tb, f, "lakeport_seg_changes")
		if nt := noTime(got); !slices.Equal(nt, want) {
			tb.Errorf("the table holds %d rows, want %d (backfill at %v):\n%s\nwant:\n%s", len(nt), len(want), cur.Backfill,
				strings.Join(nt, "\n"), strings.Join(want, "\n"))
		}
	},
}

func TestCrashCampaign(t *testing.T) { exporttest.RunCampaign(t, crashCampaign) }

func TestDefaultSchedule(t *testing.T) {
	s, ok := job.DefaultSchedule(exportchanges.Kind)
	if !ok || s.Frequency != job.Every || s.Every != 5*time.Minute {
		t.Errorf("default schedule = %+v, %v; want every 5 minutes", s, ok)
	}
}
