package importtable_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"go.yaml.in/yaml/v3"

	"github.com/lakeport/lakeport/internal/delta"
	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/flow/importtable"
	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/lakehouse/lakehousetest"
	"github.com/lakeport/lakeport/internal/lakehouse/local"
	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/sqlitestore"
)

var ctx = context.Background()

var events = arrow.NewSchema([]arrow.Field{
	{Name: "event_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "ts", Type: lakehousetest.TS, Nullable: true},
	{Name: "user", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "happened", Type: lakehousetest.TS, Nullable: true},
}, nil)

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	root  string
	lh    *local.Lakehouse
	store platform.Store
	env   *job.Env
	table lakehouse.TableName
	next  int64 // next event id
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := filepath.Join(t.TempDir(), "lake")
	os.MkdirAll(filepath.Join(root, "main", "web"), 0o755)
	lh, err := local.Open(root, local.Options{WindowRows: 50})
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "platform.db"), platform.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lh.Close(); store.Close() })
	f := &fixture{root: root, lh: lh, store: store, table: lakehouse.TableName{Catalog: "main", Schema: "web", Table: "events"}}
	f.env = &job.Env{Platform: store, Connections: func(ctx context.Context, name string) (any, error) {
		if name != "lake" {
			return nil, fmt.Errorf("unknown connection %q", name)
		}
		return lh, nil
	}}
	dir, _ := lh.TablePath(f.table)
	tbl, err := delta.Create(ctx, dir, delta.TableSpec{Schema: events})
	if err != nil {
		t.Fatal(err)
	}
	tbl.Close()
	return f
}

// add appends n events; ts(i) gives the i-th new row's timestamp offset (nil: NULL).
func (f *fixture) add(t *testing.T, n int, ts func(i int) *time.Duration) {
	t.Helper()
	var rows [][]any
	for i := 0; i < n; i++ {
		var v any
		if d := ts(i); d != nil {
			v = t0.Add(*d)
		}
		rows = append(rows, []any{f.next, v, fmt.Sprint("u", f.next%7), t0.Add(-time.Duration(f.next) * time.Minute)})
		f.next++
	}
	rec := lakehousetest.Batch(events, rows...)
	defer rec.Release()
	dir, _ := f.lh.TablePath(f.table)
	tbl, err := delta.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	if _, err := tbl.Append(ctx, delta.RecordsOf(events, rec), delta.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
}

func dur(d time.Duration) *time.Duration { return &d }

func spec(t testing.TB, name, settings string) *job.Spec {
	t.Helper()
	s := &job.Spec{Name: name, Kind: importtable.Kind, Connection: "lake"}
	if err := yaml.Unmarshal([]byte(settings), &s.Settings); err != nil {
		t.Fatal(err)
	}
	return s
}

const baseSettings = "catalog: main\nschema: web\ntable: events\ntimestamp_column: ts\n"

func (f *fixture) run(t *testing.T, s *job.Spec) job.Result {
	t.Helper()
	res, err := f.tryRun(s)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (f *fixture) tryRun(s *job.Spec) (job.Result, error) {
	fl, err := importtable.New(s, f.env)
	if err != nil {
		return job.Result{}, err
	}
	return fl.Run(ctx, &job.Run{Job: s, Seq: 1, Env: f.env, Progress: func(job.Progress) {}})
}

// stream returns the stream's events as "event_id" strings, in stream order.
func (f *fixture) stream(t *testing.T, name string) ([]string, []platform.Event) {
	t.Helper()
	var ids []string
	var all []platform.Event
	var cur platform.Cursor
	for {
		evs, err := f.store.ReadStream(ctx, name, cur, 1000)
		if err != nil {
			if errors.Is(err, platform.ErrNotFound) {
				return nil, nil
			}
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return ids, all
		}
		for _, e := range evs {
			var m map[string]any
			if err := json.Unmarshal(e.Data, &m); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, fmt.Sprint(m["event_id"]))
		}
		all = append(all, evs...)
		cur = evs[len(evs)-1].Cursor()
	}
}

const stream = "databricks_main_web_events"

func TestImportIncremental(t *testing.T) {
	f := newFixture(t)
	// three files whose time ranges overlap, so the order is not file order
	for file := 0; file < 3; file++ {
		f.add(t, 100, func(i int) *time.Duration { return dur(time.Duration((i*37+file*11)%150) * time.Minute) })
	}
	s := spec(t, "web_events", baseSettings+"batch_size: 40\n")
	res := f.run(t, s)
	if res.Rows != 300 || res.Notes["null_timestamp_rows"] != int64(0) || res.Notes["stream"] != stream {
		t.Fatalf("first run: %+v", res)
	}
	ids, evs := f.stream(t, stream)
	if len(ids) != 300 {
		t.Fatalf("stream holds %d events", len(ids))
	}
	// in (ts, event_id) order, with the event time from the timestamp column
	for i := 1; i < len(evs); i++ {
		a, b := evs[i-1], evs[i]
		if a.EventTS.After(b.EventTS) {
			t.Fatalf("events out of order at %d: %v after %v", i, b.EventTS, a.EventTS)
		}
	}
	var first map[string]any
	json.Unmarshal(evs[0].Data, &first)
	if first["ts"] != t0.Format(time.RFC3339Nano) || first["user"] == nil {
		t.Errorf("first event: %s", evs[0].Data)
	}
	// nothing new: nothing written
	if res := f.run(t, s); res.Rows != 0 {
		t.Errorf("second run wrote %d rows", res.Rows)
	}
	// new rows after the watermark, plus one late row behind it (not imported: a watermark import)
	f.add(t, 3, func(i int) *time.Duration {
		if i == 2 {
			return dur(-time.Hour)
		}
		return dur(200 * time.Minute)
	})
	res = f.run(t, s)
	if res.Rows != 2 {
		t.Errorf("third run wrote %d rows, want 2", res.Rows)
	}
	ids, _ = f.stream(t, stream)
	if len(ids) != 302 || !slices.Equal(ids[300:], []string{"300", "301"}) {
		t.Errorf("stream tail %v (len %d)", ids[max(0, len(ids)-3):], len(ids))
	}
	// the checkpoint is the last row's position
	cp, _ := f.store.Checkpoint(ctx, "import.table:web_events")
	var c importtable.Checkpoint
	if err := json.Unmarshal([]byte(cp), &c); err != nil || c.After.Tie != lakehouse.Int(301) || !slices.Equal(c.Order, []string{"ts", "event_id"}) {
		t.Errorf("checkpoint %s", cp)
	}
}

func TestNullTimestampsReported(t *testing.T) {
	f := newFixture(t)
	f.add(t, 50, func(i int) *time.Duration {
		if i%10 == 0 {
			return nil
		}
		return dur(time.Duration(i) * time.Second)
	})
	res := f.run(t, spec(t, "j", baseSettings))
	if res.Rows != 45 || res.Notes["null_timestamp_rows"] != int64(5) {
		t.Errorf("result %+v", res)
	}
}

// Many rows share a (timestamp, tie-breaker) position: a write is never
// cut inside a group, so a resumed run neither loses nor repeats one.
func TestTiesAcrossWrites(t *testing.T) {
	f := newFixture(t)
	f.add(t, 200, func(i int) *time.Duration { return dur(time.Duration(i/30) * time.Hour) })
	failing := &failingStore{Store: f.store}
	f.env.Platform = failing
	s := spec(t, "ties", baseSettings+"tie_breaker_column: user\nbatch_size: 7\n")
	// with a non-unique tie-breaker too: (ts, user) repeats
	for attempt := 0; ; attempt++ {
		failing.failAfter.Store(3)
		_, err := f.tryRun(s)
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "injected") || attempt > 100 {
			t.Fatal(err)
		}
	}
	ids, _ := f.stream(t, stream)
	slices.Sort(ids)
	if len(ids) != 200 || len(slices.Compact(slices.Clone(ids))) != 200 {
		t.Fatalf("stream holds %d events (%d distinct)", len(ids), len(slices.Compact(ids)))
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

func TestSinceAndRecordTimestamp(t *testing.T) {
	f := newFixture(t)
	f.add(t, 10, func(i int) *time.Duration { return dur(time.Duration(i) * time.Hour) })
	s := spec(t, "since", baseSettings+"since: 2024-05-01 17:00:00 UTC\nrecord_timestamp_column: happened\nstream: custom.events\n")
	res := f.run(t, s)
	if res.Rows != 5 {
		t.Fatalf("rows %d, want 5 (hours 5-9)", res.Rows)
	}
	ids, evs := f.stream(t, "custom.events")
	if !slices.Equal(ids, []string{"5", "6", "7", "8", "9"}) {
		t.Errorf("ids %v", ids)
	}
	if want := t0.Add(-5 * time.Minute); !evs[0].EventTS.Equal(want) {
		t.Errorf("event time %v, want the record timestamp %v", evs[0].EventTS, want)
	}
}

func TestSettingsErrors(t *testing.T) {
	f := newFixture(t)
	f.add(t, 1, func(int) *time.Duration { return dur(0) })
	for _, c := range []struct{ settings, want string }{
		{"catalog: main\nschema: web\ntable: events\n", "jobs[0].settings.timestamp_column: required"},
		{"schema: web\ntable: events\ntimestamp_column: ts\n", "jobs[0].settings.catalog: required"},
		{baseSettings + "batch_size: 0.5\n", "jobs[0].settings.batch_size"},
		{baseSettings + "batch_size: 1000000\n", "jobs[0].settings.batch_size: want 1 to 100000"},
		{baseSettings + "since: yesterday\n", "jobs[0].settings.since: want yyyy-mm-dd HH:MM:SS UTC"},
		{baseSettings + "stream: 'bad stream'\n", "jobs[0].settings.stream"},
		{baseSettings + "colour: blue\n", "jobs[0].settings.colour"},
		{baseSettings + "query_timeout: 1ms\n", "jobs[0].settings.query_timeout"},
		{"catalog: main\nschema: web\ntable: 'events; DROP TABLE x'\ntimestamp_column: ts\n", "jobs[0].settings.table: table name"},
		{"catalog: main\nschema: web\ntable: nosuch\ntimestamp_column: ts\n", "jobs[0].settings.table: table main.web.nosuch not found"},
		{"catalog: main\nschema: web\ntable: events\ntimestamp_column: nosuch\n", `jobs[0].settings.timestamp_column: main.web.events has no column "nosuch"`},
		{"catalog: main\nschema: web\ntable: events\ntimestamp_column: user\n", "has type string; want timestamp"},
		{baseSettings + "record_timestamp_column: event_id\n", "jobs[0].settings.record_timestamp_column"},
		{baseSettings + "tie_breaker_column: ts\n", "jobs[0].settings.tie_breaker_column: must differ"},
	} {
		_, err := importtable.New(spec(t, "bad", c.settings), f.env)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("settings %q: error %v, want %q", c.settings, err, c.want)
			continue
		}
		if errs.Classify(err) != errs.Invalid {
			t.Errorf("settings %q: error %v classified %s, want invalid", c.settings, err, errs.Classify(err))
		}
	}
}

func TestCheckpointOfAnotherTable(t *testing.T) {
	f := newFixture(t)
	f.add(t, 5, func(i int) *time.Duration { return dur(time.Duration(i) * time.Second) })
	f.run(t, spec(t, "j", baseSettings))
	_, err := f.tryRun(spec(t, "j", baseSettings+"tie_breaker_column: user\n"))
	if err == nil || !strings.Contains(err.Error(), "give the job a new name") || errs.Classify(err) != errs.Invalid {
		t.Errorf("changed order: %v", err)
	}
}

func TestDefaultTieBreaker(t *testing.T) {
	d := &lakehouse.Description{Name: lakehouse.TableName{Catalog: "c", Schema: "s", Table: "orders"}, Columns: []lakehouse.Column{
		{Name: "ts", Type: "timestamp"}, {Name: "payload", Type: "string"}, {Name: "ORDERS_ID", Type: "bigint"}, {Name: "uuid", Type: "string"}}}
	if got := importtable.DefaultTieBreaker(d, "ts"); got != "ORDERS_ID" {
		t.Errorf("got %q", got)
	}
	d.Columns = append(d.Columns, lakehouse.Column{Name: "id", Type: "array<int>"})
	if got := importtable.DefaultTieBreaker(d, "ts"); got != "ORDERS_ID" {
		t.Errorf("an unorderable id column: got %q", got)
	}
	d.Columns = []lakehouse.Column{{Name: "ts", Type: "timestamp"}}
	if got := importtable.DefaultTieBreaker(d, "ts"); got != "" {
		t.Errorf("got %q", got)
	}
}

// A table with no tie-breaking column: rows sharing a timestamp are written
// together, so failures between writes lose and repeat nothing.
func TestNoTieBreakerColumn(t *testing.T) {
	f := newFixture(t)
	plain := arrow.NewSchema([]arrow.Field{
		{Name: "ts", Type: lakehousetest.TS},
		{Name: "payload", Type: arrow.BinaryTypes.String},
	}, nil)
	n := lakehouse.TableName{Catalog: "main", Schema: "web", Table: "plain"}
	dir, _ := f.lh.TablePath(n)
	tbl, err := delta.Create(ctx, dir, delta.TableSpec{Schema: plain})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	for file := 0; file < 3; file++ {
		var rows [][]any
		for i := 0; i < 70; i++ {
			rows = append(rows, []any{t0.Add(time.Duration((i+file*5)/10) * time.Minute), fmt.Sprint(file, "-", i)})
		}
		rec := lakehousetest.Batch(plain, rows...)
		if _, err := tbl.Append(ctx, delta.RecordsOf(plain, rec), delta.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	failing := &failingStore{Store: f.store}
	f.env.Platform = failing
	s := spec(t, "plain", "catalog: main\nschema: web\ntable: plain\ntimestamp_column: ts\nbatch_size: 4\n")
	batches := 0
	for attempt := 0; ; attempt++ {
		failing.failAfter.Store(2)
		res, err := f.tryRun(s)
		if err == nil {
			break
		}
		batches += 2
		if !strings.Contains(err.Error(), "injected") || attempt > 100 || res.Rows == 0 && attempt > 0 && batches > 1000 {
			t.Fatal(err)
		}
	}
	cp, _ := f.store.Checkpoint(ctx, "import.table:plain")
	if !strings.Contains(cp, `"order":["ts"]`) {
		t.Errorf("checkpoint %s", cp)
	}
	var payloads []string
	var cur platform.Cursor
	for {
		evs, err := f.store.ReadStream(ctx, "databricks_main_web_plain", cur, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			break
		}
		for _, e := range evs {
			var m map[string]any
			json.Unmarshal(e.Data, &m)
			payloads = append(payloads, m["payload"].(string))
		}
		cur = evs[len(evs)-1].Cursor()
	}
	slices.Sort(payloads)
	if len(payloads) != 210 || len(slices.Compact(payloads)) != 210 {
		t.Fatalf("stream holds %d events (%d distinct), want 210", len(payloads), len(slices.Compact(slices.Clone(payloads))))
	}
}
