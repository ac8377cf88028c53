package local_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/lakeport/lakeport/internal/benchmem"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/lakehouse/local"
	"github.com/lakeport/lakeport/internal/lakehouse/staging"
)

// benchEventSchema is export.events' table schema.
var benchEventSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "event_ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "receive_ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "stream", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "data", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// benchStage writes rows event rows into dir as the export stages them
// (snappy, no dictionary, statistics, 64 Ki-row row groups, files of at
// most 1M rows, the Arrow schema stored) unless they are there already.
func benchStage(b *testing.B, dir string, rows int64) []string {
	const fileRows, rgRows, batch = 1_000_000, 64 * 1024, 16 * 1024
	var names []string
	for start := int64(0); start < rows; start += fileRows {
		name := fmt.Sprintf("run-%d/events-part-%05d.parquet", rows, len(names))
		names = append(names, name)
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			continue
		}
		os.MkdirAll(filepath.Dir(p), 0o755)
		f, err := os.Create(p + ".tmp")
		if err != nil {
			b.Fatal(err)
		}
		props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithDictionaryDefault(false),
			parquet.WithMaxRowGroupLength(rgRows), parquet.WithStats(true))
		w, err := pqarrow.NewFileWriter(benchEventSchema, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
		if err != nil {
			b.Fatal(err)
		}
		end := min(rows, start+fileRows)
		base := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
		streams := []string{"page_view", "add_to_cart", "checkout", "search"}
		buf := make([]byte, 0, 160)
		for from := start; from < end; from += batch {
			n := min(batch, end-from)
			rb := array.NewRecordBuilder(memory.DefaultAllocator, benchEventSchema)
			for i := from; i < from+n; i++ {
				rb.Field(0).(*array.Int64Builder).Append(i)
				rb.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(base + i*997))
				rb.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(base + i*997 + 250000 + (i*7919)%1000000))
				rb.Field(3).(*array.StringBuilder).Append(streams[i%4])
				buf = append(buf[:0], `{"user_id":"u`...)
				buf = strconv.AppendInt(buf, (i*7919)%1000003, 10)
				buf = append(buf, `","url":"https://example.com/p/`...)
				buf = strconv.AppendInt(buf, (i*31)%50000, 10)
				buf = append(buf, `","ref":"https://search.example.org/?q=`...)
				buf = strconv.AppendInt(buf, (i*17)%9973, 10)
				buf = append(buf, `","cents":`...)
				buf = strconv.AppendInt(buf, (i*13)%100000, 10)
				buf = append(buf, '}')
				rb.Field(4).(*array.StringBuilder).BinaryBuilder.Append(buf)
			}
			rec := rb.NewRecordBatch()
			rb.Release()
			if err := w.WriteBuffered(rec); err != nil {
				b.Fatal(err)
			}
			rec.Release()
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(p+".tmp", p); err != nil {
			b.Fatal(err)
		}
	}
	return names
}

// BenchmarkLoadEvents loads event rows staged as Parquet into a new local
// table (LAKEPORT_BENCH_ROWS rows, default 1M; LAKEPORT_BENCH_STAGING keeps
// the staged files between runs). It reports wall rows/s, CPU time per
// load and the peak RSS of the loads (benchmem: run it in a process of its
// own, as scripts/bench-*.sh do).
func BenchmarkLoadEvents(b *testing.B) {
	rows := int64(1_000_000)
	if s := os.Getenv("LAKEPORT_BENCH_ROWS"); s != "" {
		rows, _ = strconv.ParseInt(s, 10, 64)
	}
	stageDir := os.Getenv("LAKEPORT_BENCH_STAGING")
	if stageDir == "" {
		stageDir = b.TempDir()
	}
	files := benchStage(b, stageDir, rows)
	area, err := staging.Open(context.Background(), stageDir)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var cpu, wall time.Duration
	benchmem.ResetPeak()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		root := filepath.Join(stageDir, fmt.Sprintf("lake-%d", time.Now().UnixNano()))
		os.MkdirAll(root, 0o755)
		lh, err := local.Open(root, local.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		c0, t0 := benchmem.CPUTime(), time.Now()
		res, err := lh.Load(ctx, lakehouse.TableName{Catalog: "main", Schema: "exports", Table: "events"}, lakehouse.LoadRequest{
			Staging: area, Files: files, Format: lakehouse.FormatParquet, Key: lakehouse.LoadKey{App: "bench", Version: 1},
			Create: true, Schema: benchEventSchema})
		wall += time.Since(t0)
		cpu += benchmem.CPUTime() - c0
		b.StopTimer()
		if err != nil || res.Rows != rows {
			b.Fatalf("load %+v, %v", res, err)
		}
		lh.Close()
		os.RemoveAll(root)
		b.StartTimer()
	}
	b.ReportMetric(float64(rows)*float64(b.N)/wall.Seconds(), "rows/s")
	b.ReportMetric(cpu.Seconds()*1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(benchmem.PeakRSSMiB(), "peak-RSS-MiB")
}
