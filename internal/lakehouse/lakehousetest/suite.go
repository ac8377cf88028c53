package lakehousetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/klauspost/compress/gzip"

	"github.com/lakeport/lakeport/internal/format"
	"github.com/lakeport/lakeport/internal/lakehouse"
)

var ctx = context.Background()

// Run runs the whole suite; each test gets its own harness.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"Browse", testBrowse},
		{"BadNames", testBadNames},
		{"Describe", testDescribe},
		{"ScanPinnedVersion", testScanPinned},
		{"ScanOffset", testScanOffset},
		{"OrderedScan", testOrderedScan},
		{"OrderedScanTypes", testOrderedScanTypes},
		{"OrderedScanResume", testOrderedScanResume},
		{"OrderedScanErrors", testOrderedScanErrors},
		{"CountNulls", testCountNulls},
		{"Changes", testChanges},
		{"ChangesUnavailable", testChangesUnavailable},
		{"VersionUnavailable", testVersionUnavailable},
		{"Load", testLoad},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := open(t)
			t.Cleanup(func() {
				if err := h.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, h)
		})
	}
}

func name(c, s, tb string) lakehouse.TableName {
	return lakehouse.TableName{Catalog: c, Schema: s, Table: tb}
}

// must(f())(t) fails the test if f returned an error.
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func create(t *testing.T, h Harness, n lakehouse.TableName, s *arrow.Schema, o TableOptions) {
	t.Helper()
	if err := h.CreateTable(ctx, n, s, o); err != nil {
		t.Fatalf("create %s: %v", n, err)
	}
}

func appendRows(t *testing.T, h Harness, n lakehouse.TableName, rec arrow.RecordBatch) int64 {
	t.Helper()
	defer rec.Release()
	v, err := h.Append(ctx, n, rec)
	if err != nil {
		t.Fatalf("append to %s: %v", n, err)
	}
	return v
}

// readAll renders every row as "v1|v2|..." (NULL for nulls), in stream order.
func readAll(t *testing.T, rows lakehouse.Rows) []string {
	t.Helper()
	defer rows.Close()
	var out []string
	for {
		rec, err := rows.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, render(rec)...)
		rec.Release()
	}
}

func render(rec arrow.RecordBatch) []string {
	var out []string
	for i := 0; i < int(rec.NumRows()); i++ {
		cells := make([]string, rec.NumCols())
		for j := range cells {
			s, ok := format.Cell(rec.Column(j), i)
			if !ok {
				s = "NULL"
			}
			cells[j] = s
		}
		out = append(out, strings.Join(cells, "|"))
	}
	return out
}

func wantErr(t *testing.T, err error, target error, contains string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error (%v) containing %q, got none", target, contains)
	}
	if !errors.Is(err, target) {
		t.Fatalf("error %q: want errors.Is %v", err, target)
	}
	if !strings.Contains(err.Error(), contains) {
		t.Fatalf("error %q: want it to contain %q", err, contains)
	}
}

var simple = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

func testBrowse(t *testing.T, h Harness) {
	lh := h.Lakehouse()
	for _, n := range []lakehouse.TableName{name("main", "crm", "users"), name("main", "crm", "orders"), name("main", "web", "events"), name("dev", "crm", "users")} {
		create(t, h, n, simple, TableOptions{})
	}
	cats := must(lh.Catalogs(ctx))(t)
	for _, c := range []string{"dev", "main"} {
		if !slices.Contains(cats, c) {
			t.Errorf("Catalogs = %v, want it to hold %q", cats, c)
		}
	}
	if !sort.StringsAreSorted(cats) {
		t.Errorf("Catalogs not sorted: %v", cats)
	}
	schemas := must(lh.Schemas(ctx, "main"))(t)
	if !slices.Equal(schemas, []string{"crm", "web"}) {
		t.Errorf("Schemas(main) = %v, want [crm web]", schemas)
	}
	tables := must(lh.Tables(ctx, "main", "crm"))(t)
	var got []string
	for _, ti := range tables {
		got = append(got, ti.Name.Plain()+":"+string(ti.Kind))
	}
	if want := []string{"main.crm.orders:TABLE", "main.crm.users:TABLE"}; !slices.Equal(got, want) {
		t.Errorf("Tables(main, crm) = %v, want %v", got, want)
	}
	_, err := lh.Schemas(ctx, "nosuch")
	wantErr(t, err, lakehouse.ErrNotFound, "nosuch")
	_, err = lh.Tables(ctx, "main", "nosuch")
	wantErr(t, err, lakehouse.ErrNotFound, "nosuch")
	_, err = lh.Describe(ctx, name("main", "crm", "nosuch"))
	wantErr(t, err, lakehouse.ErrNotFound, "main.crm.nosuch")
}

func testBadNames(t *testing.T, h Harness) {
	lh := h.Lakehouse()
	create(t, h, name("main", "crm", "users"), simple, TableOptions{})
	for _, bad := range []lakehouse.TableName{
		name("", "crm", "users"), name("main", "..", "users"), name("main", "crm", "a/b"), name("main", "crm", "users; DROP TABLE x"),
		name("main", "crm", "-x"), name("ma in", "crm", "users"), name("main", "crm", strings.Repeat("x", 300)),
	} {
		_, err := lh.Describe(ctx, bad)
		if !errors.Is(err, lakehouse.ErrInvalid) {
			t.Errorf("Describe(%q): %v, want ErrInvalid", bad.Plain(), err)
		}
		_, err = lh.Scan(ctx, bad, lakehouse.ScanRequest{})
		if !errors.Is(err, lakehouse.ErrInvalid) {
			t.Errorf("Scan(%q): %v, want ErrInvalid", bad.Plain(), err)
		}
	}
	for _, bad := range []string{"..", "a/b", "", "x y"} {
		if _, err := lh.Schemas(ctx, bad); !errors.Is(err, lakehouse.ErrInvalid) {
			t.Errorf("Schemas(%q): %v, want ErrInvalid", bad, err)
		}
	}
	_, err := lh.Scan(ctx, name("main", "crm", "users"), lakehouse.ScanRequest{Version: 0, Columns: []string{"id", "nosuch"}})
	wantErr(t, err, lakehouse.ErrInvalid, "nosuch")
	_, err = lh.Scan(ctx, name("main", "crm", "users"), lakehouse.ScanRequest{Version: 0, Columns: []string{"bad\x00name"}})
	wantErr(t, err, lakehouse.ErrInvalid, "control character")
	if n, err := lakehouse.ParseTableName("main.`crm`.users"); err != nil || n != name("main", "crm", "users") {
		t.Errorf("ParseTableName = %v, %v", n, err)
	}
	if _, err := lakehouse.ParseTableName("main.crm"); !errors.Is(err, lakehouse.ErrInvalid) {
		t.Errorf("ParseTableName(main.crm): %v, want ErrInvalid", err)
	}
	if q := name("main", "crm", "users").String(); q != "`main`.`crm`.`users`" {
		t.Errorf("String = %s", q)
	}
	if q := lakehouse.QuoteIdent("we`ird"); q != "`we``ird`" {
		t.Errorf("QuoteIdent = %s", q)
	}
}

var allTypes = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "n32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "ts", Type: TS, Nullable: true},
	{Name: "local_ts", Type: TSNTZ, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "price", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
	{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	{Name: "attrs", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String), Nullable: true},
	{Name: "addr", Type: arrow.StructOf(arrow.Field{Name: "city", Type: arrow.BinaryTypes.String, Nullable: true}), Nullable: true},
}, nil)

func testDescribe(t *testing.T, h Harness) {
	lh := h.Lakehouse()
	n := name("main", "crm", "typed")
	create(t, h, n, allTypes, TableOptions{PartitionColumns: []string{"day"}, ChangeDataFeed: true})
	d := must(lh.Describe(ctx, n))(t)
	if d.Format != lakehouse.FormatDelta || d.Kind != lakehouse.KindTable || !d.ChangeDataFeed || d.Name != n {
		t.Errorf("Describe = %+v", d)
	}
	if !slices.Equal(d.PartitionColumns, []string{"day"}) {
		t.Errorf("PartitionColumns = %v", d.PartitionColumns)
	}
	var got []string
	for _, c := range d.Columns {
		got = append(got, c.Name+" "+c.Type)
	}
	want := []string{"id bigint", "n32 int", "name string", "amount double", "ok boolean", "ts timestamp", "local_ts timestamp_ntz",
		"day date", "price decimal(10,2)", "tags array<string>", "attrs map<string,string>", "addr struct<city:string>"}
	if !slices.Equal(got, want) {
		t.Errorf("Columns:\n got %v\nwant %v", got, want)
	}
	if c := d.Column("NAME"); c == nil || c.Name != "name" {
		t.Errorf("Column(NAME) = %v", c)
	}
	v0 := d.Version
	n2 := name("main", "crm", "plain")
	create(t, h, n2, simple, TableOptions{})
	v1 := appendRows(t, h, n2, Batch(simple, []any{1, "a"}))
	d2 := must(lh.Describe(ctx, n2))(t)
	if d2.ChangeDataFeed || d2.Version != v1 || len(d2.PartitionColumns) != 0 {
		t.Errorf("Describe(plain) = %+v (append returned version %d)", d2, v1)
	}
	if v0 < 0 || d2.VersionTime.IsZero() {
		t.Errorf("versions: %d, time %v", v0, d2.VersionTime)
	}
}

func testScanPinned(t *testing.T, h Harness) {
	lh := h.Lakehouse()
	n := name("main", "crm", "users")
	create(t, h, n, simple, TableOptions{})
	v1 := appendRows(t, h, n, Batch(simple, []any{1, "ada"}, []any{2, nil}))
	v2 := appendRows(t, h, n, Batch(simple, []any{3, "cy"}))
	all := func(v int64, cols ...string) []string {
		rows := must(lh.Scan(ctx, n, lakehouse.ScanRequest{Version: v, Columns: cols}))(t)
		got := readAll(t, rows)
		sort.Strings(got)
		return got
	}
	if got := all(v1); !slices.Equal(got, []string{"1|ada", "2|NULL"}) {
		t.Errorf("version %d: %v", v1, got)
	}
	if got := all(v2); !slices.Equal(got, []string{"1|ada", "2|NULL", "3|cy"}) {
		t.Errorf("version %d: %v", v2, got)
	}
	if got := all(v2, "name"); !slices.Equal(got, []string{"NULL", "ada", "cy"}) {
		t.Errorf("projection: %v", got)
	}
	_, err := lh.Scan(ctx, n, lakehouse.ScanRequest{Version: v2 + 5})
	if err == nil {
		t.Errorf("scan of a version that does not exist: no error")
	}
}

func testScanOffset(t *testing.T, h Harness) {
	lh := h.Lakehouse()
	n := name("main", "crm", "many")
	create(t, h, n, simple, TableOptions{})
	var v int64
	for f := 0; f < 4; f++ {
		var rows [][]any
		for i := 0; i < 50; i++ {
			rows = append(rows, []any{f*50 + i, fmt.Sprint("n", f*50+i)})
		}
		v = appendRows(t, h, n, Batch(simple, rows...))
	}
	full := readAll(t, must(lh.Scan(ctx, n, lakehouse.ScanRequest{Version: v, BatchSize: 7}))(t))
	if len(full) != 200 {
		t.Fatalf("%d rows", len(full))
	}
	again := readAll(t, must(lh.Scan(ctx, n, lakehouse.ScanRequest{Version: v, BatchSize: 13}))(t))
	if !slices.Equal(full, again) {
		t.Fatalf("an unordered scan of one version is not stable")
	}
	for _, off := range []int64{0, 1, 49, 50, 51, 137, 199, 200, 250} {
		got := readAll(t, must(lh.Scan(ctx, n, lakehouse.ScanRequest{Version: v, Offset: off, BatchSize: 9}))(t))
		want := full[min(int(off), len(full)):]
		if !slices.Equal(got, want) {
			t.Errorf("offset %d: %d rows, want %d", off, len(got), len(want))
		}
	}
}

var eventSchema = arrow.NewSchema([]arrow.Field{
	{Name: "event_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "ts", Type: TS, Nullable: true},
	{Name: "kind", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

var t0 = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

type erow struct {
	id   *int64
	ts   *time.Time
	kind string
}

func (r erow) values() []any {
	var id, ts any
	if r.id != nil {
		id = *r.id
	}
	if r.ts != nil {
		ts = *r.ts
	}
	return []any{id, ts, r.kind}
}

func (r erow) String() string {
	id, ts := "NULL", "NULL"
	if r.id != nil {
		id = fmt.Sprint(*r.id)
	}
	if r.ts != nil {
		ts, _ = format.Cell(Batch(eventSchema, []any{nil, *r.ts, ""}).Column(1), 0)
	}
	return id + "|" + ts + "|" + r.kind
}

// eventRows makes n rows in files of a table whose timestamps overlap
// across files, with ties, some NULL timestamps and NULL ids.
func eventRows(rng *rand.Rand, n, base int, spread time.Duration) []erow {
	var rows []erow
	for i := 0; i < n; i++ {
		id := int64(base + i)
		ts := t0.Add(time.Duration(rng.Int64N(int64(spread))))
		if rng.IntN(5) == 0 {
			ts = ts.Truncate(time.Hour) // many ties
		}
		r := erow{id: &id, ts: &ts, kind: fmt.Sprint("k", rng.IntN(3))}
		switch rng.IntN(40) {
		case 0:
			r.ts = nil
		case 1:
			r.id = nil
		}
		rows = append(rows, r)
	}
	return rows
}

func sortedRows(rows []erow, after *lakehouse.Position, withTie bool) []string {
	var keep []erow
	for _, r := range rows {
		if r.ts == nil {
			continue
		}
		if after != nil {
			p := position(r, withTie)
			if p.Compare(*after) <= 0 {
				continue
			}
		}
		keep = append(keep, r)
	}
	sort.SliceStable(keep, func(i, j int) bool {
		return position(keep[i], withTie).Compare(position(keep[j], withTie)) < 0
	})
	out := make([]string, len(keep))
	for i, r := range keep {
		out[i] = r.String()
	}
	return out
}

func position(r erow, withTie bool) lakehouse.Position {
	p := lakehouse.Position{Key: lakehouse.Timestamp(*r.ts)}
	if withTie && r.id != nil {
		p.Tie = lakehouse.Int(*r.id)
	}
	return p
}

func writeEvents(t *testing.T, h Harness, n lakehouse.TableName, rows []erow, files int) int64 {
	var v int64
	per := (len(rows) + files - 1) / files
	for i := 0; i < len(rows); i += per {
		var vals [][]any
		for _, r := range rows[i:min(len(rows), i+per)] {
			vals = append(vals, r.values())
		}
		v = appendRows(t, h, n, Batch(eventSchema, vals...))
	}
	return v
}

// keysOnly drops the rows' order among equal keys when there is no tie-breaker.
func keysOf(rows []string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = strings.SplitN(r, "|", 3)[1]
	}
	return out
}

func testOrderedScan(t *testing.T, h Harness) {
	lh := h.Lakehouse()
	n := name("main", "web", "events")
	create(t, h, n, eventSchema, TableOptions{})
	rng := rand.New(rand.NewPCG(1, 2))
	rows := eventRows(rng, 600, 0, 48*time.Hour)
	v := writeEvents(t, h, n, rows, 6)
	// rows written after the pinned version are not seen
	later := appendRows(t, h, n, Batch(eventSchema, []any{int64(99999), t0, "late"}))
	if later <= v {
		t.Fatalf("versions %d, %d", v, later)
	}
	order := &lakehouse.Order{Column: "ts", TieBreaker: "event_id"}
	got := readAll(t, must(lh.Scan(ctx, n, lakehouse.ScanRequest{Version: v, Columns: []string{"event_id", "ts", "kind"}, Order: order, BatchSize: 17}))(t))
	want := sortedRows(rows, nil, true)
	if !slices.Equal(got, want) {
		t.Fatalf("ordered scan:\n%s", diff(want, got))
	}
	// without a tie-breaker the keys are in order
	got = readAll(t, must(lh.Scan(ctx, n, lakehouse.ScanRequest{Version: v, Columns: []string{"event_id", "ts", "kind"}, Order: &lakehouse.Order{Column: "ts"}}))(t))
	if !slices.Equal(keysOf(got), keysOf(want)) || len(got) != len(want) {
		t.Fatalf("ordered scan without tie-breaker: keys out of order")
	}
	// after random positions
	for i := 0; i < 20; i++ {
		r := rows[rng.IntN(len(rows))]
		if r.ts == nil {
			continue
		}
		after := position(r, true)
		o := *order
		o.After = &after
		got := readAll(t, must(lh.Scan(ctx, n, lakehouse.ScanRequest{Version: v, Columns: []string{"event_id", "ts", "kind"}, Order: &o, BatchSize: 50}))(t))
		if want := sortedRows(rows, &after, true); !slices.Equal(got, want) {
			t.Fatalf("after %v:\n%s", after, diff(want, got))
		}
		// without tie-breaker: strictly after the key
		o2 := lakehouse.Order{Column: "ts", After: &lakehouse.Position{Key: after.Key}}
		got = readAll(t, must(lh.Scan(ctx, n, lakehouse.ScanRequest{Version: v, Columns: []string{"event_id", "ts", "kind"}, Order: &o2}))(t))
		if want := sortedRows(rows, &lakehouse.Position{Key: after.Key, Tie: lakehouse.Value{Kind: 255}}, false); !slices.Equal(keysOf(got), keysOf(want)) {
			t.Fatalf("after key %v: got %d rows, want %d", after.Key, len(got), len(want))
		}
	}
	// from / until, with the projection lacking the order columns (they are added)
	from, until := lakehouse.Timestamp(t0.Add(6*time.Hour)), lakehouse.Timestamp(t0.Add(30*time.Hour))
	rs := must(lh.Scan(ctx, n, lakehouse.ScanRequest{Version: v, Columns: []string{"kind"}, Order: &lakehouse.Order{Column: "ts", TieBreaker: "event_id", From: &from, Until: &until}}))(t)
	names := make([]string, rs.Schema().NumFields())
	for i, f := range rs.Schema().Fields() {
		names[i] = f.Name
	}
	if !slices.Equal(names, []string{"kind", "ts", "event_id"}) {
		t.Errorf("ordered scan columns = %v, want [kind ts event_id]", names)
	}
	got = readAll(t, rs)
	var wantRange []string
	for _, w := range sortedRows(rows, nil, true) {
		p := strings.SplitN(w, "|", 3)
		ts, err := time.Parse(time.RFC3339Nano, p[1])
		if err != nil {
			t.Fatal(err)
		}
		if !ts.Before(from.Time()) && !ts.After(until.Time()) {
			wantRange = append(wantRange, p[2]+"|"+p[1]+"|"+p[0])
		}
	}
	if !slices.Equal(got, wantRange) {
		t.Errorf("from/until:\n%s", diff(wantRange, got))
	}
}

func diff(want, got []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "want %d rows, got %d\n", len(want), len(got))
	for i := 0; i < max(len(want), len(got)); i++ {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			fmt.Fprintf(&b, "row %d: want %q got %q\n", i, w, g)
			if b.Len() > 2000 {
				break
			}
		}
	}
	return b.String()
}

func testOrderedScanTypes(t *testing.T, h Harness) {
	lh := h.Lakehouse()
	s := arrow.NewSchema([]arrow.Field{
		{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "code", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "seq", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "local_ts", Type: TSNTZ, Nullable: true},
	}, nil)
	n := name("main", "web", "typed")
	create(t, h, n, s, TableOptions{PartitionColumns: []string{"day"}})
	rng := rand.New(rand.NewPCG(3, 4))
	var v int64
	type row struct {
		day  int
		code string
		seq  int64
		lts  time.Time
	}
	var all []row
	for f := 0; f < 4; f++ {
		var vals [][]any
		for i := 0; i < 40; i++ {
			r := row{day: rng.IntN(5), code: fmt.Sprintf("c%03d", rng.IntN(1000)), seq: rng.Int64N(1000) - 500, lts: t0.Add(time.Duration(rng.IntN(1000)) * time.Minute)}
			all = append(all, r)
			vals = append(vals, []any{t0.AddDate(0, 0, r.day), r.code, r.seq, r.lts})
		}
		v = appendRows(t, h, n, Batch(s, vals...))
	}
	check := func(order lakehouse.Order, key func(row) (lakehouse.Value, lakehouse.Value), render func(row) string, cols ...string) {
		t.Helper()
		got := readAll(t, must(lh.Scan(ctx, n, lakehouse.ScanRequest{Version: v, Columns: cols, Order: &order, BatchSize: 11}))(t))
		rs := slices.Clone(all)
		sort.SliceStable(rs, func(i, j int) bool {
			ki, ti := key(rs[i])
			kj, tj := key(rs[j])
			return lakehouse.Position{Key: ki, Tie: ti}.Compare(lakehouse.Position{Key: kj, Tie: tj}) < 0
		})
		var want []string
		for _, r := range rs {
			want = append(want, render(r))
		}
		if order.TieBreaker == "" {
			for i := range got {
				got[i] = strings.SplitN(got[i], "|", 2)[0]
				want[i] = strings.SplitN(want[i], "|", 2)[0]
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("order %+v:\n%s", order, diff(want, got))
		}
	}
	day := func(r row) string { return t0.AddDate(0, 0, r.day).Format(time.DateOnly) }
	// a partition (date) column with a string tie-breaker
	check(lakehouse.Order{Column: "day", TieBreaker: "code"},
		func(r row) (lakehouse.Value, lakehouse.Value) {
			return lakehouse.Date(t0.AddDate(0, 0, r.day)), lakehouse.String(r.code)
		},
		func(r row) string { return day(r) + "|" + r.code }, "day", "code")
	// an integer key (negative values too) without tie-breaker
	check(lakehouse.Order{Column: "seq"},
		func(r row) (lakehouse.Value, lakehouse.Value) { return lakehouse.Int(r.seq), lakehouse.Value{} },
		func(r row) string { return fmt.Sprint(r.seq) + "|x" }, "seq")
	// timestamp_ntz with a date tie-breaker
	check(lakehouse.Order{Column: "local_ts", TieBreaker: "day"},
		func(r row) (lakehouse.Value, lakehouse.Value) {
			return lakehouse.Timestamp(r.lts), lakehouse.Date(t0.AddDate(0, 0, r.day))
		},
		func(r row) string { return r.lts.Format("2006-01-02T15:04:05.999999") + "|" + day(r) }, "local_ts", "day")
}

// testOrderedScanResume reads an ordered scan in pieces the way an import
// does: it stops at a random batch, keeps the position of the last row
// whose key differs from the next row's, and resumes after it.
func testOrderedScanResume(t *testing.T, h Harness) {
	lh := h.Lakehouse()
	n := name("main", "web", "events")
	create(t, h, n, eventSchema, TableOptions{})
	rng := rand.New(rand.NewPCG(5, 6))
	rows := eventRows(rng, 500, 0, 6*time.Hour)
	v := writeEvents(t, h, n, rows, 5)
	for _, withTie := range []bool{true, false} {
		order := lakehouse.Order{Column: "ts"}
		if withTie {
			order.TieBreaker = "event_id"
		}
		var got []string
		var after *lakehouse.Position
		for round := 0; round < 1000; round++ {
			o := order
			o.After = after
			rs := must(lh.Scan(ctx, n, lakehouse.ScanRequest{Version: v, Columns: []string{"event_id", "ts", "kind"}, Order: &o, BatchSize: 1 + rng.IntN(60)}))(t)
			var piece []string
			var keys []lakehouse.Position
			stop := 1 + rng.IntN(4)
			for b := 0; b < stop; b++ {
				rec, err := rs.Next(ctx)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				piece = append(piece, render(rec)...)
				for i := 0; i < int(rec.NumRows()); i++ {
					k, _ := lakehouse.ValueAt(rec.Column(1), i)
					p := lakehouse.Position{Key: k}
					if withTie {
						p.Tie, _ = lakehouse.ValueAt(rec.Column(0), i)
					}
					keys = append(keys, p)
				}
				rec.Release()
			}
			// peek one more row to see whether the last key continues
			rec, err := rs.Next(ctx)
			var next *lakehouse.Position
			if err == nil {
				k, _ := lakehouse.ValueAt(rec.Column(1), 0)
				p := lakehouse.Position{Key: k}
				if withTie {
					p.Tie, _ = lakehouse.ValueAt(rec.Column(0), 0)
				}
				next = &p
				rec.Release()
			}
			rs.Close()
			// commit only through the last complete key group
			cut := len(keys)
			if next != nil {
				for cut > 0 && keys[cut-1].Compare(*next) == 0 {
					cut--
				}
			}
			got = append(got, piece[:cut]...)
			if cut > 0 {
				after = &keys[cut-1]
			}
			if next == nil && cut == len(keys) {
				break
			}
		}
		want := sortedRows(rows, nil, withTie)
		if withTie {
			if !slices.Equal(got, want) {
				t.Fatalf("resumed scan (tie-breaker):\n%s", diff(want, got))
			}
		} else {
			g, w := slices.Clone(got), slices.Clone(want)
			sort.Strings(g)
			sort.Strings(w)
			if !slices.Equal(g, w) || !slices.Equal(keysOf(got), keysOf(want)) {
				t.Fatalf("resumed scan (no tie-breaker):\n%s", diff(w, g))
			}
		}
	}
}

func testOrderedScanErrors(t *testing.T, h Harness) {
	lh := h.Lakehouse()
	n := name("main", "crm", "typed")
	create(t, h, n, allTypes, TableOptions{})
	v := must(lh.Describe(ctx, n))(t).Version
	for _, c := range []struct {
		order    lakehouse.Order
		contains string
	}{
		{lakehouse.Order{Column: "name"}, "name"},
		{lakehouse.Order{Column: "amount"}, "amount"},
		{lakehouse.Order{Column: "ts", TieBreaker: "tags"}, "tags"},
		{lakehouse.Order{Column: "ts", TieBreaker: "ok"}, "ok"},
		{lakehouse.Order{Column: "nosuch"}, "nosuch"},
		{lakehouse.Order{Column: "ts", TieBreaker: "ts"}, "ts"},
		{lakehouse.Order{Column: "ts", After: &lakehouse.Position{Key: lakehouse.Int(3)}}, "int"},
		{lakehouse.Order{Column: "ts", TieBreaker: "id", After: &lakehouse.Position{Key: lakehouse.Timestamp(t0), Tie: lakehouse.String("x")}}, "string"},
	} {
		_, err := lh.Scan(ctx, n, lakehouse.ScanRequest{Version: v, Order: &c.order})
		if !errors.Is(err, lakehouse.ErrInvalid) || !strings.Contains(err.Error(), c.contains) {
			t.Errorf("order %+v: %v, want ErrInvalid naming %q", c.order, err, c.contains)
		}
	}
}

func testCountNulls(t *testing.T, h Harness) {
	lh := h.Lakehouse()
	n := name("main", "web", "events")
	create(t, h, n, eventSchema, TableOptions{})
	rows := eventRows(rand.New(rand.NewPCG(7, 8)), 300, 0, time.Hour)
	v := writeEvents(t, h, n, rows, 3)
	want := 0
	for _, r := range rows {
		if r.ts == nil {
			want++
		}
	}
	if want == 0 {
		t.Fatal("no null timestamps in the fixture")
	}
	if got := must(lh.CountNulls(ctx, n, v, "ts"))(t); got != int64(want) {
		t.Errorf("CountNulls(ts) = %d, want %d", got, want)
	}
	if got := must(lh.CountNulls(ctx, n, v, "kind"))(t); got != 0 {
		t.Errorf("CountNulls(kind) = %d, want 0", got)
	}
	_, err := lh.CountNulls(ctx, n, v, "nosuch")
	wantErr(t, err, lakehouse.ErrInvalid, "nosuch")
}

func changeRows(t *testing.T, lh lakehouse.Lakehouse, n lakehouse.TableName, from, to int64, cols ...string) []string {
	t.Helper()
	rs := must(lh.Changes(ctx, n, lakehouse.ChangesRequest{StartVersion: from, EndVersion: to, Columns: cols, BatchSize: 3}))(t)
	sch := rs.Schema()
	k := sch.NumFields()
	if sch.Field(k-3).Name != lakehouse.ChangeTypeColumn || sch.Field(k-2).Name != lakehouse.CommitVersionColumn || sch.Field(k-1).Name != lakehouse.CommitTimestampColumn {
		t.Fatalf("change columns: %v", sch)
	}
	var out []string
	for _, r := range readAll(t, rs) {
		p := strings.Split(r, "|")
		out = append(out, strings.Join(p[:len(p)-1], "|")) // drop the commit time
	}
	return out
}

func testChanges(t *testing.T, h Harness) {
	lh := h.Lakehouse()
	n := name("main", "crm", "users")
	create(t, h, n, simple, TableOptions{ChangeDataFeed: true})
	v1 := appendRows(t, h, n, Batch(simple, []any{1, "ada"}, []any{2, "bob"}, []any{3, "cy"}))
	rec := Batch(simple, []any{2, "bobby"}, []any{4, "dee"})
	v2 := must(h.Merge(ctx, n, []string{"id"}, rec))(t)
	rec.Release()
	v3 := must(h.Delete(ctx, n, "id", []int64{1}))(t)
	got := changeRows(t, lh, n, v1, v3)
	byVersion := map[string][]string{}
	var versions []string
	for _, r := range got {
		p := strings.Split(r, "|")
		v := p[len(p)-1]
		if len(versions) == 0 || versions[len(versions)-1] != v {
			versions = append(versions, v)
		}
		byVersion[v] = append(byVersion[v], r)
	}
	last := int64(-1)
	for _, r := range got {
		var cv int64
		fmt.Sscan(r[strings.LastIndex(r, "|")+1:], &cv)
		if cv < last {
			t.Errorf("changes not in commit order: %v", got)
			break
		}
		last = cv
	}
	expect := map[int64][]string{
		v1: {"1|ada|insert", "2|bob|insert", "3|cy|insert"},
		v2: {"2|bob|update_preimage", "2|bobby|update_postimage", "4|dee|insert"},
		v3: {"1|ada|delete"},
	}
	for v, want := range expect {
		var g []string
		for _, r := range byVersion[fmt.Sprint(v)] {
			g = append(g, strings.TrimSuffix(r, fmt.Sprintf("|%d", v)))
		}
		sort.Strings(g)
		sort.Strings(want)
		if !slices.Equal(g, want) {
			t.Errorf("version %d changes = %v, want %v", v, g, want)
		}
	}
	// a sub-range and a projection
	if got := changeRows(t, lh, n, v3, v3, "id"); !slices.Equal(got, []string{fmt.Sprintf("1|delete|%d", v3)}) {
		t.Errorf("changes %d..%d of id = %v", v3, v3, got)
	}
	// the same range twice reads the same rows in the same order
	if again := changeRows(t, lh, n, v1, v3); !slices.Equal(again, got) {
		t.Errorf("changes are not stable")
	}
	if _, err := lh.Changes(ctx, n, lakehouse.ChangesRequest{StartVersion: v3, EndVersion: v1}); !errors.Is(err, lakehouse.ErrInvalid) {
		t.Errorf("reversed range: %v, want ErrInvalid", err)
	}
	if _, err := lh.Changes(ctx, n, lakehouse.ChangesRequest{StartVersion: v1, EndVersion: v3 + 10}); err == nil {
		t.Errorf("range past the latest version: no error")
	}
}

func drain(rs lakehouse.Rows) error {
	defer rs.Close()
	for {
		rec, err := rs.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		rec.Release()
	}
}

func testChangesUnavailable(t *testing.T, h Harness) {
	lh := h.Lakehouse()
	// change data feed off
	off := name("main", "crm", "nocdf")
	create(t, h, off, simple, TableOptions{})
	v := appendRows(t, h, off, Batch(simple, []any{1, "a"}))
	rs, err := lh.Changes(ctx, off, lakehouse.ChangesRequest{StartVersion: v, EndVersion: v})
	if err == nil {
		err = drain(rs)
	}
	wantErr(t, err, lakehouse.ErrChangesUnavailable, "main.crm.nocdf")
	var cu *lakehouse.ChangesUnavailableError
	if !errors.As(err, &cu) || cu.Table != off {
		t.Errorf("error %v: want a *ChangesUnavailableError for %s", err, off)
	}
	// expired
	n := name("main", "crm", "users")
	create(t, h, n, simple, TableOptions{ChangeDataFeed: true})
	v1 := appendRows(t, h, n, Batch(simple, []any{1, "ada"}, []any{2, "bob"}))
	rec := Batch(simple, []any{2, "bobby"})
	v2 := must(h.Merge(ctx, n, []string{"id"}, rec))(t)
	rec.Release()
	v3 := must(h.Delete(ctx, n, "id", []int64{1}))(t)
	if err := h.ExpireChanges(ctx, n); err != nil {
		t.Fatal(err)
	}
	rs, err = lh.Changes(ctx, n, lakehouse.ChangesRequest{StartVersion: v1, EndVersion: v3})
	if err == nil {
		err = drain(rs)
	}
	wantErr(t, err, lakehouse.ErrChangesUnavailable, "main.crm.users")
	// the table itself still reads
	got := readAll(t, must(lh.Scan(ctx, n, lakehouse.ScanRequest{Version: v3}))(t))
	if !slices.Equal(got, []string{"2|bobby"}) {
		t.Errorf("after expiry the table holds %v", got)
	}
	_ = v2
}

// stage writes rows into the harness's staging area as a file of the
// format and returns its name.
func stage(t *testing.T, h Harness, rec arrow.RecordBatch, f string) string {
	t.Helper()
	defer rec.Release()
	stageSeq++
	name := fmt.Sprintf("suite/%s/part-%05d.%s", strings.ReplaceAll(t.Name(), "/", "-"), stageSeq, f)
	w := must(h.Staging().NewWriter(ctx, name))(t)
	var out io.WriteCloser = w
	if f == lakehouse.FormatCSVGzip {
		out = gzip.NewWriter(w)
	}
	switch f {
	case lakehouse.FormatParquet:
		pw := must(pqarrow.NewFileWriter(rec.Schema(), out, nil, pqarrow.DefaultWriterProps()))(t)
		if err := pw.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := pw.Close(); err != nil { // closes w
			t.Fatal(err)
		}
		return name
	case lakehouse.FormatCSV, lakehouse.FormatCSVGzip:
		cw := must(format.NewWriter("csv", out, rec.Schema()))(t)
		if err := cw.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := cw.Close(); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("stage: format %q", f)
	}
	if out != io.WriteCloser(w) {
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return name
}

var stageSeq int

func testLoad(t *testing.T, h Harness) {
	lh := h.Lakehouse()
	area := h.Staging()
	n := name("main", "exports", "users")
	p1 := stage(t, h, Batch(simple, []any{1, "ada"}, []any{2, "bob"}), "parquet")
	p2 := stage(t, h, Batch(simple, []any{3, "cy"}), "parquet")
	key := func(app string, v int64) lakehouse.LoadKey { return lakehouse.LoadKey{App: app, Version: v} }
	// missing table without Create
	_, err := lh.Load(ctx, n, lakehouse.LoadRequest{Staging: area, Files: []string{p1}, Key: key("job1", 1)})
	wantErr(t, err, lakehouse.ErrNotFound, "main.exports.users")
	res := must(lh.Load(ctx, n, lakehouse.LoadRequest{Staging: area, Files: []string{p1, p2}, Key: key("job1", 1), Create: true}))(t)
	if res.Skipped || res.Rows != 3 || !res.Created {
		t.Errorf("first load = %+v", res)
	}
	again := must(lh.Load(ctx, n, lakehouse.LoadRequest{Staging: area, Files: []string{p1, p2}, Key: key("job1", 1), Create: true}))(t)
	if !again.Skipped || again.Version != res.Version {
		t.Errorf("repeated load = %+v, want skipped at version %d", again, res.Version)
	}
	scanOf := func(n lakehouse.TableName) []string {
		d := must(lh.Describe(ctx, n))(t)
		got := readAll(t, must(lh.Scan(ctx, n, lakehouse.ScanRequest{Version: d.Version}))(t))
		sort.Strings(got)
		return got
	}
	scan := func() []string { return scanOf(n) }
	if got := scan(); !slices.Equal(got, []string{"1|ada", "2|bob", "3|cy"}) {
		t.Errorf("after loads: %v", got)
	}
	// a CSV file and a gzip CSV file, next run
	p3 := stage(t, h, Batch(simple, []any{4, "dee"}), "csv")
	p4 := stage(t, h, Batch(simple, []any{5, "eve"}), "csv.gz")
	must(lh.Load(ctx, n, lakehouse.LoadRequest{Staging: area, Files: []string{p3}, Key: key("job1", 2)}))(t)
	must(lh.Load(ctx, n, lakehouse.LoadRequest{Staging: area, Files: []string{p4}, Key: key("job1", 3)}))(t)
	// an older run of the same job is a no-op
	old := must(lh.Load(ctx, n, lakehouse.LoadRequest{Staging: area, Files: []string{p3}, Key: key("job1", 1)}))(t)
	if !old.Skipped {
		t.Errorf("older key loaded again: %+v", old)
	}
	if got := scan(); !slices.Equal(got, []string{"1|ada", "2|bob", "3|cy", "4|dee", "5|eve"}) {
		t.Errorf("after csv loads: %v", got)
	}
	// overwrite
	must(lh.Load(ctx, n, lakehouse.LoadRequest{Staging: area, Files: []string{p2}, Mode: lakehouse.LoadOverwrite, Key: key("job2", 1)}))(t)
	if got := scan(); !slices.Equal(got, []string{"3|cy"}) {
		t.Errorf("after overwrite: %v", got)
	}
	// replace: drop and create from the data, with new columns
	wide := arrow.NewSchema([]arrow.Field{{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "score", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	p5 := stage(t, h, Batch(wide, []any{"a@x.io", 7}, []any{"b@x.io", nil}), "csv")
	rr := must(lh.Load(ctx, n, lakehouse.LoadRequest{Staging: area, Files: []string{p5}, Mode: lakehouse.LoadReplace, Key: key("job3", 1)}))(t)
	if rr.Rows != 2 || !rr.Created {
		t.Errorf("replace = %+v", rr)
	}
	d := must(lh.Describe(ctx, n))(t)
	if len(d.Columns) != 2 || d.Columns[0].Name != "email" || d.Columns[0].Type != "string" || d.Columns[1].Type != "bigint" {
		t.Errorf("replaced table columns = %+v (want email string, score bigint inferred from the CSV)", d.Columns)
	}
	if got := scan(); !slices.Equal(got, []string{"a@x.io|7", "b@x.io|NULL"}) {
		t.Errorf("after replace: %v", got)
	}
	// replace into a table that does not exist yet, with an explicit schema
	n2 := name("main", "exports", "fresh")
	must(lh.Load(ctx, n2, lakehouse.LoadRequest{Staging: area, Files: []string{p5}, Mode: lakehouse.LoadReplace, Schema: wide, Key: key("job4", 1)}))(t)
	if got := scanOf(n2); !slices.Equal(got, []string{"a@x.io|7", "b@x.io|NULL"}) {
		t.Errorf("replace into a new table: %v", got)
	}
	// create with an explicit schema: CSV columns parsed as its types
	n3 := name("main", "exports", "typed")
	typed := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, {Name: "at", Type: TS, Nullable: true}}, nil)
	when := time.Date(2026, 3, 1, 12, 30, 0, 123456000, time.UTC)
	p6 := stage(t, h, Batch(typed, []any{1, when}), "csv.gz")
	must(lh.Load(ctx, n3, lakehouse.LoadRequest{Staging: area, Files: []string{p6}, Schema: typed, Create: true, Key: key("job5", 1)}))(t)
	d3 := must(lh.Describe(ctx, n3))(t)
	if len(d3.Columns) != 2 || d3.Columns[1].Type != "timestamp" {
		t.Errorf("typed table columns = %+v", d3.Columns)
	}
	if got := scanOf(n3); len(got) != 1 || !strings.HasPrefix(got[0], "1|2026-03-01") {
		t.Errorf("typed load: %v", got)
	}
	_, err = lh.Load(ctx, n, lakehouse.LoadRequest{Staging: area, Files: []string{p1}})
	wantErr(t, err, lakehouse.ErrInvalid, "idempotency key")
	_, err = lh.Load(ctx, n, lakehouse.LoadRequest{Staging: area, Files: []string{"missing.parquet"}, Key: key("x", 1)})
	if err == nil || !strings.Contains(err.Error(), "missing.parquet") {
		t.Errorf("load of a missing file: %v", err)
	}
	_, err = lh.Load(ctx, n, lakehouse.LoadRequest{Staging: area, Files: []string{p1}, Mode: "upsert", Key: key("x", 1)})
	wantErr(t, err, lakehouse.ErrInvalid, "upsert")
}

func testVersionUnavailable(t *testing.T, h Harness) {
	lh := h.Lakehouse()
	n := name("main", "crm", "users")
	create(t, h, n, simple, TableOptions{ChangeDataFeed: true})
	v1 := appendRows(t, h, n, Batch(simple, []any{1, "ada"}, []any{2, "bob"}))
	v2 := must(h.Delete(ctx, n, "id", []int64{1}))(t)
	if err := h.ExpireChanges(ctx, n); err != nil {
		t.Fatal(err)
	}
	rs, err := lh.Scan(ctx, n, lakehouse.ScanRequest{Version: v1})
	if err == nil {
		err = drain(rs)
	}
	wantErr(t, err, lakehouse.ErrVersionUnavailable, "main.crm.users")
	rs, err = lh.Scan(ctx, n, lakehouse.ScanRequest{Version: v1, Order: &lakehouse.Order{Column: "id"}})
	if err == nil {
		err = drain(rs)
	}
	wantErr(t, err, lakehouse.ErrVersionUnavailable, "main.crm.users")
	if got := readAll(t, must(lh.Scan(ctx, n, lakehouse.ScanRequest{Version: v2}))(t)); !slices.Equal(got, []string{"2|bob"}) {
		t.Errorf("current version: %v", got)
	}
}
