package exportaudience_test

import (
	"context"
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
	"github.com/lakeport/lakeport/internal/flow/exportaudience"
	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/pgstore"
	"github.com/lakeport/lakeport/internal/platform/pgstore/pgtest"
)

var ctx = context.Background()

func TestMain(m *testing.M) {
	exporttest.ChildMain(crashCampaign)
	os.Exit(m.Run())
}

func table(name string) lakehouse.TableName {
	return lakehouse.TableName{Catalog: "main", Schema: "exports", Table: name}
}

var fields = []platform.Field{
	{Name: "country", Type: platform.TypeString},
	{Name: "score", Type: platform.TypeNumber},
	{Name: "vip", Type: platform.TypeBoolean},
	{Name: "signup_at", Type: platform.TypeDatetime},
	{Name: "tags", Type: platform.TypeStringArray},
	{Name: "zip", Type: platform.TypeString},
}

func define(tb testing.TB, store platform.Store, fs ...platform.Field) {
	tb.Helper()
	for _, f := range fs {
		if err := store.DefineField(ctx, f); err != nil {
			tb.Fatal(err)
		}
	}
}

// upsert writes a profile identified by email with attrs.
func upsert(tb testing.TB, store platform.Store, email string, attrs map[string]any, more ...platform.Identifier) {
	tb.Helper()
	ids := append([]platform.Identifier{{Field: platform.FieldEmail, Value: email}}, more...)
	if _, err := store.Write(ctx, platform.Batch{Upserts: []platform.ProfileInput{{Identifiers: ids, Attributes: attrs}}}); err != nil {
		tb.Fatal(err)
	}
}

func audience(tb testing.TB, store platform.Store, slug, def string) {
	tb.Helper()
	if _, err := store.PutAudience(ctx, slug, def); err != nil {
		tb.Fatal(err)
	}
}

func run(tb testing.TB, f *exporttest.Fixture, name, settings string) {
	tb.Helper()
	spec := exporttest.Spec(tb, name, exportaudience.Kind, settings)
	flow, err := exportaudience.New(spec, f.Env)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := f.Run(ctx, spec, flow); err != nil {
		tb.Fatal(err)
	}
}

func seed(tb testing.TB, store platform.Store) {
	define(tb, store, fields...)
	upsert(tb, store, "ann@x.io", map[string]any{"country": "NL", "score": 7, "vip": true, "signup_at": "2026-01-02T03:04:05Z",
		"tags": []string{"gold", "early"}, "zip": "02134"}, platform.Identifier{Field: platform.FieldPhone, Value: "+31612345678"})
	upsert(tb, store, "bob@x.io", map[string]any{"country": "NL", "score": 2.5, "zip": "SW1A 1AA"})
	upsert(tb, store, "cat@x.io", map[string]any{"country": "DE", "score": 9})
	audience(tb, store, "dutch", `country == "NL"`)
}

func TestColumnsTypesAndReplace(t *testing.T) {
	for _, format := range []string{"csv", "csv.gz"} {
		t.Run(format, func(t *testing.T) {
			f := exporttest.Open(t, t.TempDir())
			seed(t, f.Platform)
			settings := "catalog: main\nschema: exports\naudience: dutch\nformat: " + format + "\nfile_rows: 1\n"
			run(t, f, "aud", settings)
			cols, rows := f.Table(t, table("lakeport_user_dutch"))
			want := []string{"email string", "phone string", "country string", "score double", "signup_at timestamp",
				"tags string", "vip boolean", "zip string"}
			if !slices.Equal(cols, want) {
				t.Errorf("columns = %v, want %v", cols, want)
			}
			wantRows := []string{
				`ann@x.io|+31612345678|NL|7|2026-01-02T03:04:05Z|["gold","early"]|true|02134`,
				`bob@x.io|NULL|NL|2.5|NULL|NULL|NULL|SW1A 1AA`,
			}
			if !slices.Equal(rows, wantRows) {
				t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(wantRows, "\n"))
			}
			// bob leaves, dan joins, ann gets a new field: the table is replaced
			define(t, f.Platform, platform.Field{Name: "tier", Type: platform.TypeString})
			upsert(t, f.Platform, "bob@x.io", map[string]any{"country": "BE"})
			upsert(t, f.Platform, "dan@x.io", map[string]any{"country": "NL"})
			upsert(t, f.Platform, "ann@x.io", map[string]any{"tier": "gold", "tags": nil})
			run(t, f, "aud", settings)
			cols, rows = f.Table(t, table("lakeport_user_dutch"))
			want = []string{"email string", "phone string", "country string", "score double", "signup_at timestamp",
				"tier string", "vip boolean", "zip string"}
			if !slices.Equal(cols, want) {
				t.Errorf("columns after the second run = %v, want %v", cols, want)
			}
			wantRows = []string{
				`ann@x.io|+31612345678|NL|7|2026-01-02T03:04:05Z|gold|true|02134`,
				`dan@x.io|NULL|NL|NULL|NULL|NULL|NULL|NULL`,
			}
			if !slices.Equal(rows, wantRows) {
				t.Errorf("rows after the second run:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(wantRows, "\n"))
			}
			if left := f.Staged(t); len(left) != 0 {
				t.Errorf("staged files left: %v", left)
			}
		})
	}
}

func TestChosenFieldsAndTable(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	seed(t, f.Platform)
	run(t, f, "chosen", "catalog: main\nschema: exports\naudience: dutch\nfields: [score, email, tags, uuid]\ntable: dutch_people\n")
	cols, rows := f.Table(t, table("dutch_people"))
	if want := []string{"score double", "email string", "tags string", "uuid string"}; !slices.Equal(cols, want) {
		t.Errorf("columns = %v, want %v", cols, want)
	}
	if want := []string{`2.5|bob@x.io|NULL|NULL`, `7|ann@x.io|["gold","early"]|NULL`}; !slices.Equal(rows, want) {
		t.Errorf("rows = %q, want %q", rows, want)
	}
}

// An empty audience still replaces the table: no rows, the registry's
// identifier fields as columns.
func TestEmptyAudience(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	seed(t, f.Platform)
	audience(t, f.Platform, "french", `country == "FR"`)
	for _, format := range []string{"csv", "csv.gz"} {
		name := "fr-" + strings.ReplaceAll(format, ".", "")
		run(t, f, name, "catalog: main\nschema: exports\naudience: french\nformat: "+format+"\nprefix: "+strings.ReplaceAll(name, "-", "_")+"\n")
		cols, rows := f.Table(t, table(strings.ReplaceAll(name, "-", "_")+"_user_french"))
		if want := []string{"email string", "phone string", "uuid string"}; !slices.Equal(cols, want) || len(rows) != 0 {
			t.Errorf("%s: empty audience gave columns %v and rows %v", format, cols, rows)
		}
	}
	// members who all leave: the table is emptied
	run(t, f, "nl", "catalog: main\nschema: exports\naudience: dutch\n")
	if _, rows := f.Table(t, table("lakeport_user_dutch")); len(rows) != 2 {
		t.Fatalf("rows: %v", rows)
	}
	upsert(t, f.Platform, "ann@x.io", map[string]any{"country": "FR"})
	upsert(t, f.Platform, "bob@x.io", map[string]any{"country": "FR"})
	run(t, f, "nl", "catalog: main\nschema: exports\naudience: dutch\n")
	if _, rows := f.Table(t, table("lakeport_user_dutch")); len(rows) != 0 {
		t.Errorf("after everyone left the table holds %v", rows)
	}
}

// A load left pending by a crashed run is finished with the columns it was
// staged with, even when the members' fields changed since.
func TestPendingLoadKeepsItsColumns(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	seed(t, f.Platform)
	settings := "catalog: main\nschema: exports\naudience: dutch\nfile_rows: 1\n"
	spec := exporttest.Spec(t, "pend", exportaudience.Kind, settings)
	flow, err := exportaudience.New(spec, f.Env)
	if err != nil {
		t.Fatal(err)
	}
	func() {
		export.Hook = func(point string) {
			if point == "pending-recorded" {
				panic("crash")
			}
		}
		defer func() { export.Hook = nil; recover() }()
		f.Run(ctx, spec, flow)
		t.Fatal("the run did not reach the crash point")
	}()
	// the only member with zip leaves, a new field appears
	define(t, f.Platform, platform.Field{Name: "tier", Type: platform.TypeString})
	upsert(t, f.Platform, "ann@x.io", map[string]any{"country": "DE"})
	upsert(t, f.Platform, "bob@x.io", map[string]any{"tier": "silver", "zip": nil})
	res, err := f.Run(ctx, spec, flow)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 3 { // the pending load's 2 and this run's 1
		t.Errorf("rows = %d, want 3", res.Rows)
	}
	cols, rows := f.Table(t, table("lakeport_user_dutch"))
	if want := []string{"email string", "country string", "score double", "tier string"}; !slices.Equal(cols, want) {
		t.Errorf("columns = %v, want %v", cols, want)
	}
	if want := []string{"bob@x.io|NL|2.5|silver"}; !slices.Equal(rows, want) {
		t.Errorf("rows = %v, want %v", rows, want)
	}
	if left := f.Staged(t); len(left) != 0 {
		t.Errorf("staged files left: %v", left)
	}
}

func TestBadSettings(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	seed(t, f.Platform)
	for _, c := range []struct{ name, settings, want string }{
		{"no audience", "catalog: main\nschema: exports\n", "jobs[0].settings.audience: required"},
		{"unknown audience", "catalog: main\nschema: exports\naudience: nope\n", `jobs[0].settings.audience: unknown audience "nope" (audiences: dutch)`},
		{"bad slug", "catalog: main\nschema: exports\naudience: 'Dutch!'\n", "jobs[0].settings.audience: audience slug"},
		{"unknown field", "catalog: main\nschema: exports\naudience: dutch\nfields: [email, shoe_size]\n", `jobs[0].settings.fields[1]: unknown field "shoe_size"`},
		{"field twice", "catalog: main\nschema: exports\naudience: dutch\nfields: [email, email]\n", `jobs[0].settings.fields[1]: field "email" is listed twice`},
		{"parquet", "catalog: main\nschema: exports\naudience: dutch\nformat: parquet\n", "jobs[0].settings.format: want one of csv, csv.gz"},
		{"bad table", "catalog: main\nschema: exports\naudience: dutch\ntable: 'a b'\n", "jobs[0].settings.table"},
		{"no catalog", "schema: exports\naudience: dutch\n", "jobs[0].settings.catalog: required"},
		{"unknown setting", "catalog: main\nschema: exports\naudience: dutch\ncolour: red\n", "colour"},
	} {
		_, err := exportaudience.New(exporttest.Spec(t, "bad", exportaudience.Kind, c.settings), f.Env)
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("%s: got %v, want an invalid-settings error containing %q", c.name, err, c.want)
		}
	}
}

const crashSpec = "catalog: main\nschema: exports\naudience: club\nfile_rows: 3\n"

// members renders the audience's current members as the table's rows.
func members(tb testing.TB, store platform.Store, slug string) []string {
	ms, err := store.Members(ctx, slug, 0, platform.MaxPage)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		email, _ := exportaudience.Identifier(m.Profile, platform.FieldEmail)
		out = append(out, fmt.Sprintf("%s|%v", email, m.Profile.Attributes["score"]))
	}
	slices.Sort(out)
	return out
}

var crashCampaign = exporttest.Campaign{
	Name: "audience",
	Setup: func(tb testing.TB, f *exporttest.Fixture) {
		define(tb, f.Platform, fields...)
		for i := range 20 {
			upsert(tb, f.Platform, fmt.Sprintf("p%02d@x.io", i), map[string]any{"score": i * 5})
		}
		audience(tb, f.Platform, "club", `score >= 50.0`)
	},
	Grow: func(tb testing.TB, f *exporttest.Fixture, i int) {
		// some members leave, others enter, a new profile may join
		for k := range 4 {
			upsert(tb, f.Platform, fmt.Sprintf("p%02d@x.io", (i*7+k*5)%(20+i/3)), map[string]any{"score": (i*13 + k*29) % 100})
		}
	},
	Run: func(ctx context.Context, f *exporttest.Fixture) error {
		spec := exporttest.Spec(&testing.T{}, "crash", exportaudience.Kind, crashSpec)
		flow, err := exportaudience.New(spec, f.Env)
		if err != nil {
			return err
		}
		_, err = f.Run(ctx, spec, flow)
		return err
	},
	Check: func(tb testing.TB, f *exporttest.Fixture) {
		want := members(tb, f.Platform, "club")
		cols, rows := f.Table(tb, table("lakeport_user_club"))
		if !slices.Equal(cols, []string{"email string", "score double"}) {
			tb.Errorf("columns = %v", cols)
		}
		if !slices.Equal(rows, want) {
			tb.Errorf("the table holds %d rows %v, the audience %d members %v", len(rows), rows, len(want), want)
		}
	},
}

func TestCrashCampaign(t *testing.T) { exporttest.RunCampaign(t, crashCampaign) }

func TestDefaultSchedule(t *testing.T) {
	s, ok := job.DefaultSchedule(exportaudience.Kind)
	if !ok || s.Frequency != job.Every || s.Every != 24*time.Hour {
		t.Errorf("default schedule = %+v, %v; want every 24 hours", s, ok)
	}
}

// An audience of several pages: every member
// once, in profile ID order, with its values.
func TestManyPages(t *testing.T) {
	t.Run("store=sqlite", func(t *testing.T) { manyPages(t, exporttest.Open(t, t.TempDir())) })
	t.Run("store=postgres", func(t *testing.T) {
		pg, err := pgstore.Open(ctx, pgtest.FreshSchema(t, pgtest.URL(t)), platform.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer pg.Close()
		f := exporttest.Open(t, t.TempDir())
		f.UsePlatform(pg)
		manyPages(t, f)
	})
}

func manyPages(t *testing.T, f *exporttest.Fixture) {
	define(t, f.Platform, fields...)
	const n = 3*platform.MaxPage + 123
	for lo := 0; lo < n; lo += 5000 {
		var in []platform.ProfileInput
		for i := lo; i < min(lo+5000, n); i++ {
			attrs := map[string]any{"country": "NL", "score": float64(i)}
			if i%7 == 0 {
				attrs["signup_at"] = fmt.Sprintf("19%02d-01-02T03:04:05.%06dZ", i%100, i)
			}
			if i%11 == 0 {
				attrs["tags"] = []string{"a,b", `"q"`}
			}
			in = append(in, platform.ProfileInput{Identifiers: []platform.Identifier{{Field: platform.FieldEmail, Value: fmt.Sprintf("u%06d@x.io", i)}}, Attributes: attrs})
		}
		if _, err := f.Platform.Write(ctx, platform.Batch{Upserts: in}); err != nil {
			t.Fatal(err)
		}
	}
	audience(t, f.Platform, "dutch", `country == "NL"`)
	for _, settings := range []string{"", "fields: [email, score, signup_at, tags]\n"} {
		run(t, f, "many", "catalog: main\nschema: exports\naudience: dutch\nfile_rows: 7000\n"+settings)
		d, err := f.Lake.Describe(ctx, table("lakeport_user_dutch"))
		if err != nil {
			t.Fatal(err)
		}
		r, err := f.Lake.Scan(ctx, table("lakeport_user_dutch"), lakehouse.ScanRequest{Version: d.Version, Columns: []string{"email", "score", "signup_at", "tags"}})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for {
			rec, err := r.Next(ctx)
			if err != nil {
				break
			}
			got = append(got, exporttest.Lines(rec)...)
			rec.Release()
		}
		r.Close()
		if len(got) != n {
			t.Fatalf("%q: %d rows, want %d", settings, len(got), n)
		}
		for i, line := range got {
			ts, tags := "NULL", "NULL"
			if i%7 == 0 {
				ts = fmt.Sprintf("19%02d-01-02T03:04:05.%06dZ", i%100, i)
				ts = strings.TrimRight(strings.TrimRight(ts[:len(ts)-1], "0"), ".") + "Z"
			}
			if i%11 == 0 {
				tags = `["a,b","\"q\""]`
			}
			if want := fmt.Sprintf("u%06d@x.io|%d|%s|%s", i, i, ts, tags); line != want {
				t.Fatalf("%q: row %d = %s, want %s", settings, i, line, want)
			}
		}
	}
}
