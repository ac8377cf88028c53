package importchanges_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.yaml.in/yaml/v3"

	"github.com/lakeport/lakeport/internal/delta"
	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/flow/importchanges"
	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/lakehouse/lakehousetest"
	"github.com/lakeport/lakeport/internal/lakehouse/local"
	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/sqlitestore"
)

var ctx = context.Background()

var t0 = time.Date(2024, 6, 1, 9, 0, 0, 0, time.UTC)

var users = arrow.NewSchema([]arrow.Field{
	{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "first_name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "age", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "vip", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "signup", Type: lakehousetest.TS, Nullable: true},
	{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
}, nil)

var params = arrow.StructOf(
	arrow.Field{Name: "event_group_id", Type: arrow.BinaryTypes.String, Nullable: true},
	arrow.Field{Name: "currency", Type: arrow.BinaryTypes.String, Nullable: true},
	arrow.Field{Name: "unit_sale_price", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	arrow.Field{Name: "quantity", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
)

var activity = arrow.NewSchema([]arrow.Field{
	{Name: "event_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "customer_id", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "event_name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "event_time", Type: lakehousetest.TS, Nullable: true},
	{Name: "params_json", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

type fixture struct {
	lh    *local.Lakehouse
	store platform.Store
	env   *job.Env
	wrap  func(lakehouse.Lakehouse) lakehouse.Lakehouse
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := filepath.Join(t.TempDir(), "lake")
	os.MkdirAll(root, 0o755)
	lh, err := local.Open(root, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "platform.db"), platform.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lh.Close(); store.Close() })
	for _, f := range []platform.Field{
		{Name: "customer_id", Type: platform.TypeString, Identifier: true},
		{Name: "first_name", Type: platform.TypeString},
		{Name: "age", Type: platform.TypeNumber},
		{Name: "vip", Type: platform.TypeBoolean},
		{Name: "signup_at", Type: platform.TypeDatetime},
		{Name: "tags", Type: platform.TypeStringArray},
	} {
		if err := store.DefineField(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{lh: lh, store: store}
	f.env = &job.Env{Platform: store, Connections: func(ctx context.Context, name string) (any, error) {
		if f.wrap != nil {
			return f.wrap(lh), nil
		}
		return lh, nil
	}}
	return f
}

func tname(table string) lakehouse.TableName {
	return lakehouse.TableName{Catalog: "main", Schema: "crm", Table: table}
}

func (f *fixture) create(t *testing.T, table string, s *arrow.Schema, cdf bool) {
	t.Helper()
	dir, _ := f.lh.TablePath(tname(table))
	os.MkdirAll(filepath.Dir(dir), 0o755)
	props := map[string]string{}
	if cdf {
		props["delta.enableChangeDataFeed"] = "true"
	}
	tbl, err := delta.Create(ctx, dir, delta.TableSpec{Schema: s, Properties: props})
	if err != nil {
		t.Fatal(err)
	}
	tbl.Close()
}

func (f *fixture) table(t *testing.T, table string) *delta.Table {
	t.Helper()
	dir, _ := f.lh.TablePath(tname(table))
	tbl, err := delta.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tbl.Close() })
	return tbl
}

func (f *fixture) append(t *testing.T, table string, s *arrow.Schema, rows ...[]any) {
	t.Helper()
	rec := lakehousetest.Batch(s, rows...)
	defer rec.Release()
	if _, err := f.table(t, table).Append(ctx, delta.RecordsOf(s, rec), delta.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) merge(t *testing.T, table string, s *arrow.Schema, key string, rows ...[]any) {
	t.Helper()
	rec := lakehousetest.Batch(s, rows...)
	defer rec.Release()
	if _, err := f.table(t, table).Merge(ctx, delta.RecordsOf(s, rec), delta.MergeOptions{Keys: []string{key}}, delta.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) delete(t *testing.T, table, where string) {
	t.Helper()
	if _, err := f.table(t, table).Delete(ctx, where, delta.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
}

func spec(t *testing.T, name, settings string) *job.Spec {
	t.Helper()
	s := &job.Spec{Name: name, Kind: importchanges.Kind, Connection: "lake"}
	if err := yaml.Unmarshal([]byte(settings), &s.Settings); err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fixture) tryRun(s *job.Spec) (job.Result, error) {
	fl, err := importchanges.New(s, f.env)
	if err != nil {
		return job.Result{}, err
	}
	return fl.Run(ctx, &job.Run{Job: s, Seq: 1, Env: f.env, Progress: func(job.Progress) {}})
}

func (f *fixture) run(t *testing.T, s *job.Spec) job.Result {
	t.Helper()
	res, err := f.tryRun(s)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// profiles renders every profile holding a customer_id as "id: attrs".
func (f *fixture) profiles(t *testing.T) []string {
	t.Helper()
	var out []string
	var after int64
	for {
		page, err := f.store.Profiles(ctx, after, 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			sort.Strings(out)
			return out
		}
		for _, p := range page {
			ids := p.Values("customer_id")
			keys := make([]string, 0, len(p.Attributes))
			for k := range p.Attributes {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var parts []string
			for _, k := range keys {
				parts = append(parts, fmt.Sprintf("%s=%v", k, p.Attributes[k]))
			}
			out = append(out, strings.Join(ids, ",")+": "+strings.Join(parts, " "))
			after = p.ID
		}
	}
}

func (f *fixture) events(t *testing.T, stream string) []string {
	t.Helper()
	var out []string
	var cur platform.Cursor
	for {
		evs, err := f.store.ReadStream(ctx, stream, cur, 1000)
		if errors.Is(err, platform.ErrNotFound) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return out
		}
		for _, e := range evs {
			out = append(out, string(e.Data))
		}
		cur = evs[len(evs)-1].Cursor()
	}
}

const userSettings = `catalog: main
schema: crm
table: users
identifier: {column: customer_id, field: customer_id}
attributes:
  first_name: first_name
  age: age
  vip: vip
  signup: signup_at
  tags: tags
`

func user(id int, name string, age int, vip bool) []any {
	return []any{id, name, age, vip, t0.Add(time.Duration(id) * time.Hour), []string{"t" + fmt.Sprint(id%3)}}
}

func TestSnapshotThenChanges(t *testing.T) {
	f := newFixture(t)
	f.create(t, "users", users, true)
	f.append(t, "users", users, user(1, "Ada", 36, true), user(2, "Bob", 41, false), user(3, "Cy", 29, false))
	s := spec(t, "users", userSettings)
	res := f.run(t, s)
	if res.Rows != 3 || res.Notes["profile_upserts"] != int64(3) || res.Notes["phase"] != importchanges.PhaseChanges {
		t.Fatalf("first run: %+v", res)
	}
	want := []string{
		"1: age=36 first_name=Ada signup_at=2024-06-01T10:00:00Z tags=[t1] vip=true",
		"2: age=41 first_name=Bob signup_at=2024-06-01T11:00:00Z tags=[t2] vip=false",
		"3: age=29 first_name=Cy signup_at=2024-06-01T12:00:00Z tags=[t0] vip=false",
	}
	if got := f.profiles(t); !slices.Equal(got, want) {
		t.Fatalf("profiles:\n%s", strings.Join(got, "\n"))
	}
	// nothing changed: nothing written
	if res := f.run(t, s); res.Rows != 0 {
		t.Errorf("idle run wrote %d rows", res.Rows)
	}
	// an update, an insert, a NULL that removes an attribute, a delete (not propagated)
	f.merge(t, "users", users, "customer_id", user(2, "Bobby", 42, true), []any{4, "Dee", nil, nil, nil, nil}, []any{3, "Cy", nil, false, t0.Add(3 * time.Hour), []string{"t0"}})
	f.delete(t, "users", "customer_id = 1")
	res = f.run(t, s)
	if res.Notes["update_preimages_ignored"] != int64(2) || res.Notes["deletes_not_propagated"] != int64(1) || res.Notes["profile_upserts"] != int64(3) {
		t.Errorf("second run: %+v", res.Notes)
	}
	want = []string{
		"1: age=36 first_name=Ada signup_at=2024-06-01T10:00:00Z tags=[t1] vip=true",
		"2: age=42 first_name=Bobby signup_at=2024-06-01T11:00:00Z tags=[t2] vip=true",
		"3: first_name=Cy signup_at=2024-06-01T12:00:00Z tags=[t0] vip=false",
		"4: first_name=Dee",
	}
	if got := f.profiles(t); !slices.Equal(got, want) {
		t.Fatalf("profiles after changes:\n%s", strings.Join(got, "\n"))
	}
	cp, _ := f.store.Checkpoint(ctx, "import.changes:users")
	var c importchanges.Checkpoint
	json.Unmarshal([]byte(cp), &c)
	if c.Phase != importchanges.PhaseChanges || c.Version != 3 {
		t.Errorf("checkpoint %s", cp)
	}
}

func TestDeletesPropagated(t *testing.T) {
	f := newFixture(t)
	f.create(t, "users", users, true)
	f.append(t, "users", users, user(1, "Ada", 36, true), user(2, "Bob", 41, false))
	s := spec(t, "users", userSettings+"delete_profiles: true\n")
	f.run(t, s)
	f.delete(t, "users", "customer_id = 1")
	// deleted and re-inserted in later commits: the profile exists at the end
	f.delete(t, "users", "customer_id = 2")
	f.append(t, "users", users, user(2, "Bob again", 41, false))
	res := f.run(t, s)
	if res.Notes["profile_deletes"] != int64(2) {
		t.Errorf("notes %+v", res.Notes)
	}
	if got := f.profiles(t); len(got) != 1 || !strings.HasPrefix(got[0], "2: age=41 first_name=Bob again") {
		t.Errorf("profiles %v", got)
	}
}

const activitySettings = `catalog: main
schema: crm
table: activity
identifier: {column: customer_id, field: customer_id}
events:
  name_column: event_name
  timestamp_column: event_time
  parameters_column: params_json
`

func TestEventsAndPurchaseRules(t *testing.T) {
	f := newFixture(t)
	f.create(t, "activity", activity, true)
	ok := `{"event_group_id":"o1","currency":"EUR","unit_sale_price":9.5,"quantity":2}`
	f.append(t, "activity", activity,
		[]any{1, "c1", "purchase", t0, ok},
		[]any{2, "c1", "purchase", t0.Add(time.Minute), `{"event_group_id":"o2","currency":"EUR","unit_sale_price":3}`}, // no quantity
		[]any{3, "c2", "cart_page_view", t0.Add(2 * time.Minute), `{"event_group_id":"o3","currency":"USD","unit_sale_price":1}`},
		[]any{4, "c2", "cart_page_view", t0.Add(3 * time.Minute), `{"currency":"USD","unit_sale_price":1}`}, // no group id
		[]any{5, "c3", "page_view", t0.Add(4 * time.Minute), nil},
		[]any{6, "c3", nil, t0, nil},                                   // no event: a profile only
		[]any{7, nil, "page_view", t0, nil},                            // no identifier
		[]any{8, "c4", "page_view", nil, nil},                          // no timestamp
		[]any{9, "c4", "page_view", t0.Add(5 * time.Minute), `[1, 2]`}, // parameters not an object
	)
	s := spec(t, "activity", activitySettings)
	res := f.run(t, s)
	if res.Notes["events"] != int64(3) || res.Notes["rejected_events"] != int64(4) || res.Notes["rows_without_identifier"] != int64(1) {
		t.Errorf("notes %+v", res.Notes)
	}
	ex := fmt.Sprint(res.Notes["examples"])
	for _, w := range []string{"needs parameter quantity", "needs parameter event_group_id", "has no timestamp", "not a JSON object", "no identifier"} {
		if !strings.Contains(ex, w) {
			t.Errorf("examples %s lack %q", ex, w)
		}
	}
	evs := f.events(t, "databricks_main_crm_activity")
	want := []string{
		`{"event_name":"purchase","event_ts":"2024-06-01T09:00:00Z","customer_id":"c1","parameters":` + ok + `}`,
		`{"event_name":"cart_page_view","event_ts":"2024-06-01T09:02:00Z","customer_id":"c2","parameters":{"event_group_id":"o3","currency":"USD","unit_sale_price":1}}`,
		`{"event_name":"page_view","event_ts":"2024-06-01T09:04:00Z","customer_id":"c3"}`,
	}
	if !slices.Equal(evs, want) {
		t.Errorf("events:\n%s", strings.Join(evs, "\n"))
	}
	if got := f.profiles(t); len(got) != 4 {
		t.Errorf("profiles %v", got)
	}
}

func TestStructParameters(t *testing.T) {
	f := newFixture(t)
	s := arrow.NewSchema([]arrow.Field{
		{Name: "customer_id", Type: arrow.BinaryTypes.String},
		{Name: "event_name", Type: arrow.BinaryTypes.String},
		{Name: "event_time", Type: lakehousetest.TS},
		{Name: "params", Type: params, Nullable: true},
	}, nil)
	f.create(t, "orders", s, true)
	dir, _ := f.lh.TablePath(tname("orders"))
	tbl, _ := delta.Open(ctx, dir)
	defer tbl.Close()
	// built through JSON: struct values
	rec, _, err := arrowFromJSON(s, `[{"customer_id":"c1","event_name":"purchase","event_time":"2024-06-01T09:00:00Z","params":{"event_group_id":"g","currency":"EUR","unit_sale_price":2.5,"quantity":1}}]`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.Append(ctx, delta.RecordsOf(s, rec), delta.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	f.run(t, spec(t, "orders", strings.ReplaceAll(strings.ReplaceAll(activitySettings, "activity", "orders"), "params_json", "params")))
	evs := f.events(t, "databricks_main_crm_orders")
	if len(evs) != 1 || !strings.Contains(evs[0], `"parameters":{"event_group_id":"g","currency":"EUR","unit_sale_price":2.5,"quantity":1}`) {
		t.Errorf("events %v", evs)
	}
}

// view wraps a lakehouse to describe its tables differently.
type view struct {
	lakehouse.Lakehouse
	kind   lakehouse.Kind
	format lakehouse.Format
}

func (v *view) Describe(ctx context.Context, n lakehouse.TableName) (*lakehouse.Description, error) {
	d, err := v.Lakehouse.Describe(ctx, n)
	if err == nil {
		d.Kind, d.Format = v.kind, v.format
	}
	return d, err
}

func TestValidation(t *testing.T) {
	f := newFixture(t)
	f.create(t, "users", users, true)
	f.create(t, "nocdf", users, false)
	f.create(t, "activity", activity, true)
	cases := []struct {
		settings, want string
		wrap           func(lakehouse.Lakehouse) lakehouse.Lakehouse
	}{
		{strings.ReplaceAll(userSettings, "table: users", "table: nocdf"),
			"jobs[0].settings.table: main.crm.nocdf has Change Data Feed turned off; turn it on with: ALTER TABLE `main`.`crm`.`nocdf` SET TBLPROPERTIES (delta.enableChangeDataFeed = true)", nil},
		{userSettings, "jobs[0].settings.table: main.crm.users is a view", func(l lakehouse.Lakehouse) lakehouse.Lakehouse {
			return &view{Lakehouse: l, kind: lakehouse.KindView, format: lakehouse.FormatDelta}
		}},
		{userSettings, "jobs[0].settings.table: main.crm.users is a PARQUET table, not a Delta table", func(l lakehouse.Lakehouse) lakehouse.Lakehouse {
			return &view{Lakehouse: l, kind: lakehouse.KindTable, format: "PARQUET"}
		}},
		{strings.ReplaceAll(userSettings, "table: users", "table: nosuch"), "jobs[0].settings.table: table main.crm.nosuch not found", nil},
		{strings.ReplaceAll(userSettings, "first_name: first_name", "first_name: nickname"),
			`jobs[0].settings.attributes.first_name: attribute "nickname" is not predefined in the platform; define it first: lakeport platform fields define nickname string`, nil},
		{strings.ReplaceAll(userSettings, "first_name: first_name", "first_name: age"),
			`jobs[0].settings.attributes.first_name: column "first_name" has type string but attribute "age" is a number; a number attribute takes tinyint, smallint, int, bigint, float, double or decimal columns`, nil},
		{strings.ReplaceAll(userSettings, "age: age", "age: vip"), `jobs[0].settings.attributes.age: column "age" has type int but attribute "vip" is a boolean`, nil},
		{strings.ReplaceAll(userSettings, "vip: vip", "vip: tags"), `jobs[0].settings.attributes.vip: column "vip" has type boolean but attribute "tags" is a string_array`, nil},
		{strings.ReplaceAll(userSettings, "signup: signup_at", "signup: first_name"), `jobs[0].settings.attributes.signup: column "signup" has type timestamp but attribute "first_name" is a string`, nil},
		{strings.ReplaceAll(userSettings, "tags: tags", "tags: signup_at"), `jobs[0].settings.attributes.tags: column "tags" has type array<string> but attribute "signup_at" is a datetime`, nil},
		{strings.ReplaceAll(userSettings, "tags: tags", "tags: email"), `jobs[0].settings.attributes.tags: "email" is an identifier field, not an attribute`, nil},
		{userSettings + "  nosuch: age\n", `jobs[0].settings.attributes.nosuch: main.crm.users has no column "nosuch"`, nil},
		{strings.ReplaceAll(userSettings, "field: customer_id", "field: age"), `jobs[0].settings.identifier.field: "age" is an attribute, not an identifier field`, nil},
		{strings.ReplaceAll(userSettings, "field: customer_id", "field: crm_id"), `jobs[0].settings.identifier.field: "crm_id" is not a platform field`, nil},
		{strings.ReplaceAll(userSettings, "{column: customer_id", "{column: signup"), `jobs[0].settings.identifier.column: column "signup" has type timestamp`, nil},
		{"catalog: main\nschema: crm\ntable: users\n", "jobs[0].settings.identifier: required", nil},
		{strings.ReplaceAll(userSettings, "identifier: {column: customer_id, field: customer_id}", "identifier: {column: customer_id}"), "jobs[0].settings.identifier.field: required", nil},
		{userSettings + "batch_size: -1\n", "jobs[0].settings.batch_size: want 1 to 100000", nil},
		{userSettings + "delete_profiles: yes please\n", "jobs[0].settings.delete_profiles", nil},
		{strings.ReplaceAll(activitySettings, "name_column: event_name", "name_column: event_id"), `jobs[0].settings.events.name_column: column "event_id" has type bigint; want string`, nil},
		{strings.ReplaceAll(activitySettings, "timestamp_column: event_time", "timestamp_column: event_name"), `jobs[0].settings.events.timestamp_column: column "event_name" has type string`, nil},
		{strings.ReplaceAll(activitySettings, "parameters_column: params_json", "parameters_column: event_id"), `jobs[0].settings.events.parameters_column: column "event_id" has type bigint`, nil},
		{activitySettings + "  stream: 'no good'\n", "jobs[0].settings.events.stream", nil},
		{strings.ReplaceAll(userSettings, "table: users", "table: '../users'"), "jobs[0].settings.table: table name", nil},
	}
	for _, c := range cases {
		f.wrap = c.wrap
		_, err := importchanges.New(spec(t, "bad", c.settings), f.env)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v\nwant %q", err, c.want)
			continue
		}
		if k := errs.Classify(err); k != errs.Invalid {
			t.Errorf("error %v classified %s, want invalid", err, k)
		}
	}
}

func TestResnapshotWhenFeedIsGone(t *testing.T) {
	f := newFixture(t)
	f.create(t, "activity", activity, true)
	ok := `{"event_group_id":"o1","currency":"EUR","unit_sale_price":9.5,"quantity":2}`
	f.append(t, "activity", activity, []any{1, "c1", "purchase", t0, ok}, []any{2, "c2", "page_view", t0.Add(time.Minute), nil}, []any{3, "c3", "page_view", t0.Add(2 * time.Minute), nil})
	s := spec(t, "activity", activitySettings+"delete_profiles: true\n")
	f.run(t, s)
	// changes the job never sees through the feed: an update of an old event
	// row, a delete, a new later event; then the feed's files are vacuumed
	f.merge(t, "activity", activity, "event_id", []any{2, "c2", "page_view", t0.Add(time.Minute), `{"x":1}`})
	f.delete(t, "activity", "event_id = 3")
	f.append(t, "activity", activity, []any{4, "c4", "page_view", t0.Add(time.Hour), nil})
	time.Sleep(5 * time.Millisecond)
	if _, err := f.table(t, "activity").Vacuum(ctx, delta.VacuumOptions{Retention: time.Nanosecond, AllowShortRetention: true}); err != nil {
		t.Fatal(err)
	}
	// a profile from elsewhere without this field survives the purge
	if _, err := f.store.Write(ctx, platform.Batch{Upserts: []platform.ProfileInput{{Identifiers: []platform.Identifier{{Field: "email", Value: "x@example.com"}}}}}); err != nil {
		t.Fatal(err)
	}
	res := f.run(t, s)
	if res.Notes["resnapshots"] != 1 || res.Notes["profile_deletes"] != int64(1) || res.Notes["events"] != int64(1) || res.Notes["events_already_imported"] != int64(2) {
		t.Fatalf("re-snapshot run: %+v", res.Notes)
	}
	evs := f.events(t, "databricks_main_crm_activity")
	if len(evs) != 4 || !strings.Contains(evs[3], `"customer_id":"c4"`) {
		t.Errorf("events:\n%s", strings.Join(evs, "\n"))
	}
	got := f.profiles(t)
	if !slices.Equal(got, []string{": ", "c1: ", "c2: ", "c4: "}) {
		t.Errorf("profiles %q", got)
	}
	// then it follows the feed again
	f.append(t, "activity", activity, []any{5, "c5", "page_view", t0.Add(2 * time.Hour), nil})
	res = f.run(t, s)
	if res.Notes["events"] != int64(1) || res.Notes["resnapshots"] != 1 {
		t.Errorf("after re-snapshot: %+v", res.Notes)
	}
}

// failingStore fails every Write after failAfter successful ones.
type failingStore struct {
	platform.Store
	failAfter atomic.Int64
}

func (s *failingStore) Write(ctx context.Context, b platform.Batch) (platform.WriteResult, error) {
	if s.failAfter.Add(-1) < 0 {
		return platform.WriteResult{}, errors.New("injected write failure")
	}
	return s.Store.Write(ctx, b)
}

// Runs that fail after a few writes, again and again, still apply every
// change exactly once.
func TestResumeAfterFailures(t *testing.T) {
	f := newFixture(t)
	f.create(t, "activity", activity, true)
	var rows [][]any
	for i := 0; i < 60; i++ {
		rows = append(rows, []any{i, fmt.Sprint("c", i%9), "page_view", t0.Add(time.Duration(i) * time.Second), nil})
	}
	f.append(t, "activity", activity, rows[:30]...)
	f.append(t, "activity", activity, rows[30:]...)
	failing := &failingStore{Store: f.store}
	f.env.Platform = failing
	s := spec(t, "activity", activitySettings+"batch_size: 4\ndelete_profiles: true\n")
	runUntilDone := func() {
		for attempt := 0; ; attempt++ {
			failing.failAfter.Store(2)
			_, err := f.tryRun(s)
			if err == nil {
				return
			}
			if !strings.Contains(err.Error(), "injected") || attempt > 200 {
				t.Fatal(err)
			}
		}
	}
	runUntilDone()
	// changes spanning versions: updates, deletes and inserts
	var more [][]any
	for i := 60; i < 90; i++ {
		more = append(more, []any{i, fmt.Sprint("c", i%13), "page_view", t0.Add(time.Duration(i) * time.Second), nil})
	}
	f.append(t, "activity", activity, more[:10]...)
	f.merge(t, "activity", activity, "event_id", more[10:]...)
	f.delete(t, "activity", "event_id < 5")
	runUntilDone()
	evs := f.events(t, "databricks_main_crm_activity")
	if len(evs) != 90 {
		t.Fatalf("%d events, want 90", len(evs))
	}
	seen := map[string]bool{}
	for _, e := range evs {
		if seen[e] {
			t.Fatalf("duplicate event %s", e)
		}
		seen[e] = true
	}
}

func arrowFromJSON(s *arrow.Schema, js string) (arrow.RecordBatch, int64, error) {
	return array.RecordFromJSON(memory.DefaultAllocator, s, strings.NewReader(js))
}

// A table dropped and created again (its version behind the checkpoint) is
// re-snapshotted, not ignored.
func TestRecreatedTable(t *testing.T) {
	f := newFixture(t)
	f.create(t, "users", users, true)
	f.append(t, "users", users, user(1, "Ada", 36, true))
	f.append(t, "users", users, user(2, "Bob", 41, false))
	f.merge(t, "users", users, "customer_id", user(2, "Bobby", 41, false))
	s := spec(t, "users", userSettings+"delete_profiles: true\n")
	f.run(t, s)
	dir, _ := f.lh.TablePath(tname("users"))
	f.lh.Close()
	os.RemoveAll(dir)
	lh, err := local.Open(filepath.Dir(filepath.Dir(filepath.Dir(dir))), local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.lh = lh
	t.Cleanup(func() { lh.Close() })
	f.create(t, "users", users, true)
	f.append(t, "users", users, user(3, "Cy", 29, false))
	res := f.run(t, s)
	if res.Notes["resnapshots"] != 1 || res.Notes["profile_deletes"] != int64(2) {
		t.Errorf("notes %+v", res.Notes)
	}
	if got := f.profiles(t); len(got) != 1 || !strings.HasPrefix(got[0], "3: age=29 first_name=Cy") {
		t.Errorf("profiles %v", got)
	}
}

// The first snapshot is interrupted, and its pinned version is vacuumed
// before the next run: that run loads the current version instead,
// emitting only the events not yet written.
func TestSnapshotVersionVacuumed(t *testing.T) {
	f := newFixture(t)
	f.create(t, "activity", activity, true)
	var rows [][]any
	for i := 0; i < 40; i++ {
		rows = append(rows, []any{i, fmt.Sprint("c", i), "page_view", t0.Add(time.Duration(i) * time.Second), nil})
	}
	f.append(t, "activity", activity, rows...)
	failing := &failingStore{Store: f.store}
	f.env.Platform = failing
	failing.failAfter.Store(2)
	s := spec(t, "activity", activitySettings+"batch_size: 5\ndelete_profiles: true\n")
	if _, err := f.tryRun(s); err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("first run: %v", err)
	}
	f.delete(t, "activity", "event_id < 3")
	time.Sleep(5 * time.Millisecond)
	if _, err := f.table(t, "activity").Vacuum(ctx, delta.VacuumOptions{Retention: time.Nanosecond, AllowShortRetention: true}); err != nil {
		t.Fatal(err)
	}
	failing.failAfter.Store(1 << 30)
	res := f.run(t, s)
	if res.Notes["resnapshots"] != 1 || !strings.Contains(fmt.Sprint(res.Notes["resnapshot_reason"]), "can no longer be read") {
		t.Fatalf("notes %+v", res.Notes)
	}
	evs := f.events(t, "databricks_main_crm_activity")
	seen := map[string]bool{}
	for _, e := range evs {
		if seen[e] {
			t.Fatalf("duplicate event %s", e)
		}
		seen[e] = true
	}
	if len(evs) != 40 {
		t.Errorf("%d events, want 40", len(evs))
	}
	if got := f.profiles(t); len(got) != 37 {
		t.Errorf("%d profiles, want 37", len(got))
	}
}
