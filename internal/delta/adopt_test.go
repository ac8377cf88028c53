package delta_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/lakeport/lakeport/internal/delta"
)

var adoptTS = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// adoptSchema is an event-like table with a few more types.
var adoptSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "event_ts", Type: adoptTS, Nullable: true},
	{Name: "stream", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "amount", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
}, nil)

var adoptBase = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

// adoptBatch builds rows ids [from, from+n) of adoptSchema; every 7th row has nulls.
func adoptBatch(s *arrow.Schema, from, n int64) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, s)
	defer b.Release()
	for i := from; i < from+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(i)
		if i%7 == 3 {
			for j := 1; j < s.NumFields(); j++ {
				b.Field(j).AppendNull()
			}
			continue
		}
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(adoptBase.Add(time.Duration(i) * time.Second).UnixMicro()))
		b.Field(2).(*array.StringBuilder).Append([]string{"web", "app", "Zürich"}[i%3])
		b.Field(3).(*array.Decimal128Builder).Append(decimal128.FromI64(i*101 - 7000))
		b.Field(4).(*array.Date32Builder).Append(arrow.Date32FromTime(adoptBase.Add(time.Duration(i) * time.Hour)))
		b.Field(5).(*array.BooleanBuilder).Append(i%2 == 0)
		b.Field(6).(*array.Float64Builder).Append(float64(i) / 4)
	}
	return b.NewRecordBatch()
}

func adoptRow(i int64) string {
	if i%7 == 3 {
		return fmt.Sprintf("%d|NULL|NULL|NULL|NULL|NULL|NULL", i)
	}
	ts := adoptBase.Add(time.Duration(i) * time.Second)
	return fmt.Sprintf("%d|%s|%s|%s|%s|%v|%v", i, ts.Format("2006-01-02 15:04:05.000000"), []string{"web", "app", "Zürich"}[i%3],
		decimal128.FromI64(i*101-7000).ToString(2), adoptBase.Add(time.Duration(i)*time.Hour).Format("2006-01-02"), i%2 == 0, float64(i)/4)
}

// stagedProps are the export's staging writer settings (flow/export).
func stagedProps(extra ...parquet.WriterProperty) *parquet.WriterProperties {
	return parquet.NewWriterProperties(append([]parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Snappy), parquet.WithDictionaryDefault(false),
		parquet.WithMaxRowGroupLength(100), parquet.WithStats(true)}, extra...)...)
}

// writeParquetFile writes recs as a Parquet file at dir/key.
func writeParquetFile(t *testing.T, dir, key string, s *arrow.Schema, props *parquet.WriterProperties, recs ...arrow.RecordBatch) {
	t.Helper()
	if props == nil {
		props = stagedProps()
	}
	f, err := os.Create(filepath.Join(dir, key))
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(s, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
		r.Release()
	}
	if err := w.Close(); err != nil { // closes f
		t.Fatal(err)
	}
}

// rowsOf scans a snapshot (optionally filtered) into sorted pipe-joined rows.
func rowsOf(t *testing.T, ctx context.Context, snap *delta.Snapshot, where string) []string {
	t.Helper()
	b, err := snap.Scan(ctx, delta.ScanOptions{Where: where})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, recs, err := drain(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rec := range recs {
		for i := 0; i < int(rec.NumRows()); i++ {
			var parts []string
			for j, c := range rec.Columns() {
				if c.IsNull(i) {
					parts = append(parts, "NULL")
					continue
				}
				switch c := c.(type) {
				case *array.Timestamp:
					parts = append(parts, time.UnixMicro(int64(c.Value(i))).UTC().Format("2006-01-02 15:04:05.000000"))
				case *array.Date32:
					parts = append(parts, c.Value(i).ToTime().Format("2006-01-02"))
				case *array.Decimal128:
					parts = append(parts, c.Value(i).ToString(rec.Schema().Field(j).Type.(*arrow.Decimal128Type).Scale))
				default:
					parts = append(parts, c.ValueStr(i))
				}
			}
			out = append(out, strings.Join(parts, "|"))
		}
		rec.Release()
	}
	sort.Strings(out)
	return out
}

func wantRows(ranges ...[2]int64) []string {
	var out []string
	for _, r := range ranges {
		for i := r[0]; i < r[1]; i++ {
			out = append(out, adoptRow(i))
		}
	}
	sort.Strings(out)
	return out
}

func newAdoptTable(t *testing.T, ctx context.Context, spec delta.TableSpec) (*delta.Table, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "t")
	if spec.Schema == nil {
		spec.Schema = adoptSchema
	}
	tbl, err := delta.Create(ctx, dir, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tbl.Close() })
	return tbl, dir
}

// TestAppendParquet adopts staged-like files: one commit with the txn, the
// files as they are, every row read once (by the kernel and by DuckDB),
// footer statistics that drive file skipping, and a repeated load skipped.
func TestAppendParquet(t *testing.T) {
	ctx := context.Background()
	tbl, dir := newAdoptTable(t, ctx, delta.TableSpec{Properties: map[string]string{"delta.enableChangeDataFeed": "true"}})
	writeParquetFile(t, dir, "part-00000-a-c000.parquet", adoptSchema, nil, adoptBatch(adoptSchema, 0, 250), adoptBatch(adoptSchema, 250, 50))
	writeParquetFile(t, dir, "part-00001-b-c000.parquet", adoptSchema, nil, adoptBatch(adoptSchema, 300, 200))
	before, _ := os.ReadFile(filepath.Join(dir, "part-00000-a-c000.parquet"))
	o := delta.WriteOptions{AppID: "export-1", AppVersion: 7}
	res, err := tbl.AppendParquet(ctx, []string{"part-00000-a-c000.parquet", "part-00001-b-c000.parquet"}, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped || res.Version != 1 || res.FilesAdded != 2 || res.RowsInserted != 500 {
		t.Errorf("result %+v", res)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "part-00000-a-c000.parquet"))
	if string(before) != string(after) {
		t.Errorf("the adopted file was rewritten")
	}
	acts := logActions(t, dir, 1)
	var adds []map[string]any
	txns := 0
	for _, a := range acts {
		if raw, ok := a["add"]; ok {
			var m map[string]any
			json.Unmarshal(raw, &m)
			adds = append(adds, m)
		}
		if raw, ok := a["txn"]; ok {
			txns++
			if !strings.Contains(string(raw), `"appId":"export-1","version":7`) {
				t.Errorf("txn %s", raw)
			}
		}
		if raw, ok := a["commitInfo"]; ok && !strings.Contains(string(raw), `"isBlindAppend":true`) {
			t.Errorf("commitInfo %s", raw)
		}
	}
	if len(adds) != 2 || txns != 1 {
		t.Fatalf("commit 1 has %d adds, %d txns", len(adds), txns)
	}
	for _, a := range adds {
		st, _ := a["stats"].(string)
		fi, _ := os.Stat(filepath.Join(dir, a["path"].(string)))
		if a["dataChange"] != true || fi == nil || a["size"].(float64) != float64(fi.Size()) || !strings.Contains(st, `"numRecords":`) {
			t.Errorf("add %v", a)
		}
	}
	if want := `{"numRecords":300,"minValues":{"id":0,"event_ts":"2026-03-01T12:00:00.123Z","stream":"Zürich","amount":-70.00,"day":"2026-03-01","score":0},` +
		`"maxValues":{"id":299,"event_ts":"2026-03-01T12:04:59.123Z","stream":"web","amount":231.99,"day":"2026-03-13"},` +
		`"nullCount":{"id":0,"event_ts":43,"stream":43,"amount":43,"day":43,"ok":43,"score":43}}`; adds[0]["stats"] != want {
		t.Errorf("stats\n%s\nwant\n%s", adds[0]["stats"], want)
	}
	snap, err := tbl.Snapshot(ctx, delta.Latest())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rowsOf(t, ctx, snap, ""), wantRows([2]int64{0, 500}); !slices.Equal(got, want) {
		t.Errorf("rows: %d, want %d\n%v", len(got), len(want), got[:min(5, len(got))])
	}
	// footer statistics drive data skipping
	for _, c := range []struct {
		where string
		files []string
	}{
		{"id = 5", []string{"part-00000-a-c000.parquet"}},
		{"id >= 300", []string{"part-00001-b-c000.parquet"}},
		{"event_ts > TIMESTAMP '2026-03-01 12:06:00'", []string{"part-00001-b-c000.parquet"}},
		{"id > 1000", nil},
	} {
		files, err := snap.FilesFor(c.where)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range files {
			got = append(got, f.Path)
		}
		if !slices.Equal(got, c.files) {
			t.Errorf("FilesFor(%s) = %v, want %v", c.where, got, c.files)
		}
	}
	if got := rowsOf(t, ctx, snap, "id = 5"); !slices.Equal(got, []string{adoptRow(5)}) {
		t.Errorf("id = 5: %v", got)
	}
	// DuckDB reads the adopted files on its own
	if tool := duckdbIfPresent(t); tool != "" {
		var files []string
		for _, f := range snap.Files() {
			key, _ := url.PathUnescape(f.Path)
			files = append(files, "'"+filepath.Join(dir, key)+"'")
		}
		got := runDuckDB(t, tool, "SELECT count(*) || '|' || count(DISTINCT id) || '|' || min(id) || '|' || max(id) || '|' || count(event_ts) FROM read_parquet(["+strings.Join(files, ",")+"])")
		if want := []string{"500|500|0|499|429"}; !slices.Equal(got, want) {
			t.Errorf("DuckDB: %v, want %v", got, want)
		}
	}
	// the same load again: skipped, nothing added
	writeParquetFile(t, dir, "part-00002-c-c000.parquet", adoptSchema, nil, adoptBatch(adoptSchema, 0, 10))
	again, err := tbl.AppendParquet(ctx, []string{"part-00002-c-c000.parquet"}, o)
	if err != nil || !again.Skipped || again.Version != 1 {
		t.Errorf("repeated load: %+v, %v", again, err)
	}
	// a file the table already holds, a missing file, bad keys
	if _, err := tbl.AppendParquet(ctx, []string{"part-00000-a-c000.parquet"}, delta.WriteOptions{}); err == nil || !strings.Contains(err.Error(), "already part of the table") {
		t.Errorf("adopting a live file again: %v", err)
	}
	if _, err := tbl.AppendParquet(ctx, []string{"nope.parquet"}, delta.WriteOptions{}); err == nil || errors.Is(err, delta.ErrNotAdoptable) {
		t.Errorf("missing file: %v", err)
	}
	for _, k := range []string{"", "../x.parquet", "/abs.parquet", "_delta_log/x.parquet", "a/./b.parquet", ".hidden.parquet"} {
		if _, err := tbl.AppendParquet(ctx, []string{k}, delta.WriteOptions{}); err == nil {
			t.Errorf("key %q accepted", k)
		}
	}
	if v := latestVersion(t, ctx, tbl); v != 1 {
		t.Errorf("version %d after refused adoptions", v)
	}
	// the change feed sees the adopted rows as inserts
	start := int64(1)
	ch, err := tbl.Changes(ctx, delta.ChangesOptions{StartVersion: &start, Columns: []string{"id"}})
	if err != nil {
		t.Fatal(err)
	}
	_, recs, err := drain(ctx, ch)
	ch.Close()
	n := 0
	for _, r := range recs {
		n += int(r.NumRows())
		r.Release()
	}
	if err != nil || n != 500 {
		t.Errorf("change feed: %d rows, %v", n, err)
	}
}

func latestVersion(t *testing.T, ctx context.Context, tbl *delta.Table) int64 {
	t.Helper()
	snap, err := tbl.Snapshot(ctx, delta.Latest())
	if err != nil {
		t.Fatal(err)
	}
	return snap.Version()
}

func duckdbIfPresent(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/work/shared/tools/duckdb"); err != nil {
		return ""
	}
	return duckdb(t)
}

// TestOverwriteParquet replaces the table's rows with the adopted files'.
func TestOverwriteParquet(t *testing.T) {
	ctx := context.Background()
	tbl, dir := newAdoptTable(t, ctx, delta.TableSpec{})
	if _, err := tbl.Append(ctx, delta.RecordsOf(adoptSchema, adoptBatch(adoptSchema, 0, 40)), delta.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	writeParquetFile(t, dir, "part-00000-x-c000.parquet", adoptSchema, nil, adoptBatch(adoptSchema, 100, 30))
	res, err := tbl.OverwriteParquet(ctx, []string{"part-00000-x-c000.parquet"}, delta.WriteOptions{AppID: "a", AppVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.FilesRemoved != 1 || res.RowsDeleted != 40 || res.RowsInserted != 30 {
		t.Errorf("result %+v", res)
	}
	snap, _ := tbl.Snapshot(ctx, delta.Latest())
	if got, want := rowsOf(t, ctx, snap, ""), wantRows([2]int64{100, 130}); !slices.Equal(got, want) {
		t.Errorf("rows after overwrite: %v", got)
	}
	// an append-only table refuses an overwrite (not as "not adoptable")
	ao, aodir := newAdoptTable(t, ctx, delta.TableSpec{Properties: map[string]string{"delta.appendOnly": "true"}})
	writeParquetFile(t, aodir, "p.parquet", adoptSchema, nil, adoptBatch(adoptSchema, 0, 3))
	if _, err := ao.OverwriteParquet(ctx, []string{"p.parquet"}, delta.WriteOptions{}); err == nil || errors.Is(err, delta.ErrNotAdoptable) || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("overwrite of an append-only table: %v", err)
	}
}

// TestAppendParquetRefuses: files whose columns or encoding do not fit, and
// tables the adopt path cannot honour, are refused with ErrNotAdoptable
// naming the table, the file and the column, and nothing is committed.
func TestAppendParquetRefuses(t *testing.T) {
	ctx := context.Background()
	field := func(name string, dt arrow.DataType, nullable bool) arrow.Field {
		return arrow.Field{Name: name, Type: dt, Nullable: nullable}
	}
	with := func(i int, f arrow.Field) *arrow.Schema {
		fs := slices.Clone(adoptSchema.Fields())
		fs[i] = f
		return arrow.NewSchema(fs, nil)
	}
	// a batch of schema s: adoptSchema's rows, columns converted by cast
	batchOf := func(s *arrow.Schema) arrow.RecordBatch {
		b := array.NewRecordBuilder(memory.DefaultAllocator, s)
		defer b.Release()
		for i := int64(0); i < 5; i++ {
			for j, f := range s.Fields() {
				fb := b.Field(j)
				switch fb := fb.(type) {
				case *array.Int64Builder:
					fb.Append(i)
				case *array.Int32Builder:
					fb.Append(int32(i))
				case *array.TimestampBuilder:
					if f.Type.(*arrow.TimestampType).Unit == arrow.Nanosecond {
						fb.Append(arrow.Timestamp(adoptBase.UnixNano()))
					} else {
						fb.Append(arrow.Timestamp(adoptBase.UnixMicro()))
					}
				case *array.StringBuilder:
					fb.Append("s")
				case *array.Decimal128Builder:
					fb.Append(decimal128.FromI64(i))
				case *array.Date32Builder:
					fb.Append(arrow.Date32(i))
				case *array.BooleanBuilder:
					fb.Append(true)
				case *array.Float64Builder:
					fb.Append(1.5)
				default:
					fb.AppendNull()
				}
			}
		}
		return b.NewRecordBatch()
	}
	extra := arrow.NewSchema(append(slices.Clone(adoptSchema.Fields()), field("extra", arrow.BinaryTypes.String, true)), nil)
	missing := arrow.NewSchema(adoptSchema.Fields()[:6], nil)
	type fileCase struct {
		name   string
		schema *arrow.Schema
		props  *parquet.WriterProperties
		rec    arrow.RecordBatch // nil: batchOf(schema)
		want   string
	}
	nullID := func() arrow.RecordBatch {
		s := with(0, field("id", arrow.PrimitiveTypes.Int64, true))
		r := adoptBatch(s, 0, 3)
		cols := slices.Clone(r.Columns())
		ib := array.NewInt64Builder(memory.DefaultAllocator)
		ib.AppendValues([]int64{1, 0, 3}, []bool{true, false, true})
		cols[0] = ib.NewArray()
		out := array.NewRecordBatch(s, cols, 3)
		r.Release()
		return out
	}
	for _, c := range []fileCase{
		{name: "wrong type", schema: with(0, field("id", arrow.PrimitiveTypes.Int32, false)), want: `column "id" is int32`},
		{name: "extra column", schema: extra, want: "it has 8 columns"},
		{name: "missing column", schema: missing, want: "it has 6 columns"},
		{name: "renamed column", schema: with(2, field("Stream", arrow.BinaryTypes.String, true)), want: `column 3 is "Stream"`},
		{name: "nanoseconds", schema: with(1, field("event_ts", &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}, true)), want: `column "event_ts" is timestamp[ns`},
		{name: "timestamp without zone", schema: with(1, field("event_ts", &arrow.TimestampType{Unit: arrow.Microsecond}, true)), want: `column "event_ts" is timestamp[us]`},
		{name: "nulls in a non-nullable column", schema: with(0, field("id", arrow.PrimitiveTypes.Int64, true)), rec: nullID(), want: `column "id" is not nullable in the table and holds 1 nulls`},
		{name: "nullable without null counts", schema: with(0, field("id", arrow.PrimitiveTypes.Int64, true)), props: stagedProps(parquet.WithStats(false)), want: "does not count its nulls"},
		{name: "brotli", schema: adoptSchema, props: stagedProps(parquet.WithCompression(compress.Codecs.Brotli)), want: "compressed with BROTLI"},
		{name: "delta encoding", schema: adoptSchema, props: stagedProps(parquet.WithEncodingFor("id", parquet.Encodings.DeltaBinaryPacked)), want: "has encoding DELTA_BINARY_PACKED"},
		{name: "data page v2", schema: adoptSchema, props: stagedProps(parquet.WithDataPageVersion(parquet.DataPageV2)), want: "version 2 data pages"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tbl, dir := newAdoptTable(t, ctx, delta.TableSpec{})
			rec := c.rec
			if rec == nil {
				rec = batchOf(c.schema)
			}
			writeParquetFile(t, dir, "f.parquet", c.schema, c.props, rec)
			_, err := tbl.AppendParquet(ctx, []string{"f.parquet"}, delta.WriteOptions{AppID: "x", AppVersion: 1})
			if !errors.Is(err, delta.ErrNotAdoptable) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "f.parquet") || !strings.Contains(err.Error(), dir) {
				t.Errorf("error %v, want ErrNotAdoptable naming the table, the file and %q", err, c.want)
			}
			if v := latestVersion(t, ctx, tbl); v != 0 {
				t.Errorf("version %d", v)
			}
		})
	}
	t.Run("not a Parquet file", func(t *testing.T) {
		tbl, dir := newAdoptTable(t, ctx, delta.TableSpec{})
		os.WriteFile(filepath.Join(dir, "f.parquet"), []byte("id,name\n1,a\n"), 0o644)
		if _, err := tbl.AppendParquet(ctx, []string{"f.parquet"}, delta.WriteOptions{}); !errors.Is(err, delta.ErrNotAdoptable) {
			t.Errorf("error %v", err)
		}
	})
	for _, c := range []struct {
		name string
		spec delta.TableSpec
		want string
	}{
		{"partitioned", delta.TableSpec{PartitionColumns: []string{"stream"}}, "the table is partitioned"},
		{"column mapping", delta.TableSpec{Properties: map[string]string{"delta.columnMapping.mode": "name"}}, "column mapping"},
		{"check constraint", delta.TableSpec{Properties: map[string]string{"delta.constraints.positive": "id > 0"}}, "CHECK constraint"},
		{"nested column", delta.TableSpec{Schema: arrow.NewSchema([]arrow.Field{field("id", arrow.PrimitiveTypes.Int64, false),
			field("tags", arrow.ListOf(arrow.BinaryTypes.String), true)}, nil)}, `nested column "tags"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			tbl, dir := newAdoptTable(t, ctx, c.spec)
			writeParquetFile(t, dir, "f.parquet", adoptSchema, nil, adoptBatch(adoptSchema, 0, 5))
			_, err := tbl.AppendParquet(ctx, []string{"f.parquet"}, delta.WriteOptions{})
			if !errors.Is(err, delta.ErrNotAdoptable) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want ErrNotAdoptable: %s", err, c.want)
			}
		})
	}
}

// TestAppendParquetConcurrent: adoptions are blind appends; they commit
// alongside concurrent appends, each exactly once.
func TestAppendParquetConcurrent(t *testing.T) {
	ctx := context.Background()
	tbl, dir := newAdoptTable(t, ctx, delta.TableSpec{})
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, 2*n)
	for i := range n {
		key := fmt.Sprintf("part-%05d-c000.parquet", i)
		writeParquetFile(t, dir, key, adoptSchema, nil, adoptBatch(adoptSchema, int64(i*10), 10))
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, errs[2*i] = tbl.AppendParquet(ctx, []string{key}, delta.WriteOptions{AppID: fmt.Sprint("job-", i), AppVersion: 1, MaxAttempts: 50})
		}()
		go func() {
			defer wg.Done()
			_, errs[2*i+1] = tbl.Append(ctx, delta.RecordsOf(adoptSchema, adoptBatch(adoptSchema, int64(1000+i*10), 10)), delta.WriteOptions{MaxAttempts: 50})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	snap, _ := tbl.Snapshot(ctx, delta.Latest())
	if got, want := rowsOf(t, ctx, snap, ""), wantRows([2]int64{0, 10 * n}, [2]int64{1000, 1000 + 10*n}); !slices.Equal(got, want) {
		t.Errorf("%d rows, want %d", len(got), len(want))
	}
}
