package delta_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeport/lakeport/internal/delta"
)

// Writer benchmarks (issue: append of the event export schema, merge of 100k
// keys into a 10M-row table). scripts/bench-writer.sh runs each in its own
// process, with DuckDB's COPY of the same rows beside it.

var eventSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "event_ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: "receive_ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: "stream", Type: arrow.BinaryTypes.String},
	{Name: "data", Type: arrow.BinaryTypes.String},
}, nil)

var benchStreams = []string{"web", "app", "email", "push", "sms"}

// eventSource generates n events in batches of 64k; row i is the same in every run.
type eventSource struct {
	n, next int64
	base    time.Time
	buf     []byte
}

func (e *eventSource) Schema() *arrow.Schema { return eventSchema }

func (e *eventSource) Next(context.Context) (arrow.RecordBatch, error) {
	if e.next >= e.n {
		return nil, io.EOF
	}
	k := min(65536, e.n-e.next)
	b := array.NewRecordBuilder(memory.DefaultAllocator, eventSchema)
	defer b.Release()
	ids, ets, rts := b.Field(0).(*array.Int64Builder), b.Field(1).(*array.TimestampBuilder), b.Field(2).(*array.TimestampBuilder)
	streams, data := b.Field(3).(*array.StringBuilder), b.Field(4).(*array.StringBuilder)
	ids.Reserve(int(k))
	data.ReserveData(int(k) * 200)
	base := e.base.UnixMicro()
	for i := e.next; i < e.next+k; i++ {
		ids.Append(i)
		ets.Append(arrow.Timestamp(base + i*1000))
		rts.Append(arrow.Timestamp(base + i*1000 + 250))
		streams.Append(benchStreams[i%5])
		e.buf = e.buf[:0]
		e.buf = fmt.Appendf(e.buf, `{"user_id":"u%07d","event":"page_view","url":"https://shop.example.com/p/%d","session":"s%09d","props":{"price":%d.99,"qty":%d,"campaign":"spring-%d"}}`,
			benchMix(uint64(i))%10000000, i%100000, i/7, i%500, i%9, i%37)
		data.BinaryBuilder.Append(e.buf)
	}
	e.next += k
	return b.NewRecordBatch(), nil
}

func benchRows(def int64) int64 {
	if n, err := strconv.ParseInt(os.Getenv("LAKEPORT_BENCH_ROWS"), 10, 64); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkAppendEvents appends 10M events (LAKEPORT_BENCH_ROWS) to a new table.
func BenchmarkAppendEvents(b *testing.B) {
	ctx := context.Background()
	root, err := benchRoot()
	if err != nil {
		b.Fatal(err)
	}
	n := benchRows(10_000_000)
	cpu0 := benchStart(b)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := filepath.Join(root, "append", strconv.Itoa(i))
		os.RemoveAll(dir)
		tbl, err := delta.Create(ctx, dir, delta.TableSpec{Schema: eventSchema})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := tbl.Append(ctx, &eventSource{n: n, base: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}, delta.WriteOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.FilesAdded), "files")
	}
	benchReport(b, cpu0, n)
}

// mergeTarget returns a 10M-row events table written by the writer (50
// files of 200k rows, ids ascending), created once and copied per run.
func mergeTarget(b *testing.B) string {
	ctx := context.Background()
	root, err := benchRoot()
	if err != nil {
		b.Fatal(err)
	}
	n := benchRows(10_000_000)
	dir := filepath.Join(root, fmt.Sprintf("merge-target-%d", n))
	if _, err := os.Stat(filepath.Join(dir, "_delta_log", "00000000000000000001.json")); err == nil {
		return dir
	}
	os.RemoveAll(dir)
	tbl, err := delta.Create(ctx, dir, delta.TableSpec{Schema: eventSchema})
	if err != nil {
		b.Fatal(err)
	}
	src := &eventSource{n: n, base: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	// ~50 files: roll at a size that holds n/50 rows
	if _, err := tbl.Append(ctx, src, delta.WriteOptions{TargetFileSize: 30 << 20 * n / 10_000_000}); err != nil {
		b.Fatal(err)
	}
	return dir
}

// benchMerge upserts 100k keys; spread chooses keys across the whole table
// (every file touched) or in one narrow id range (few files touched).
func benchMerge(b *testing.B, spread bool) {
	ctx := context.Background()
	target := mergeTarget(b)
	n := benchRows(10_000_000)
	keys := int64(100_000)
	if keys > n/10 {
		keys = n / 10
	}
	cpu0 := benchStart(b)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := filepath.Join(filepath.Dir(target), "merge-run")
		os.RemoveAll(dir)
		if err := benchLinkTree(target, dir, func(string) bool { return true }); err != nil {
			b.Fatal(err)
		}
		tbl, err := delta.Open(ctx, dir)
		if err != nil {
			b.Fatal(err)
		}
		ib := array.NewRecordBuilder(memory.DefaultAllocator, eventSchema)
		for k := int64(0); k < keys; k++ {
			id := k * (n / keys) // spread over the table
			if !spread {
				id = n/2 + k // one narrow range
			}
			ib.Field(0).(*array.Int64Builder).Append(id)
			ib.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(id))
			ib.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(id))
			ib.Field(3).(*array.StringBuilder).Append("updated")
			ib.Field(4).(*array.StringBuilder).Append(`{"updated":true}`)
		}
		src := ib.NewRecordBatch()
		ib.Release()
		b.StartTimer()
		res, err := tbl.Merge(ctx, delta.RecordsOf(eventSchema, src), delta.MergeOptions{Keys: []string{"id"}}, delta.WriteOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		src.Release()
		if res.RowsUpdated != keys {
			b.Fatalf("merge updated %d rows, want %d", res.RowsUpdated, keys)
		}
		b.ReportMetric(float64(res.FilesRemoved), "files-rewritten")
		b.StartTimer()
	}
	benchReport(b, cpu0, keys)
}

func BenchmarkMerge100kSpread(b *testing.B)    { benchMerge(b, true) }
func BenchmarkMerge100kClustered(b *testing.B) { benchMerge(b, false) }
