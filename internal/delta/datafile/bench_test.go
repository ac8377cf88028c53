package datafile

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeport/lakeport/internal/benchmem"
	"github.com/lakeport/lakeport/internal/blob"
)

// The event export schema: the rows BenchmarkWriteEvents writes and
// scripts/bench-write.sh asks DuckDB to COPY (eventsSQL must match).
var eventSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "event_ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "receive_ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "stream", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "data", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

var eventKinds = []string{"page_view", "click", "purchase", "signup", "logout"}

// eventBase is 2024-01-01T00:00:00Z in microseconds.
const eventBase = 1704067200000000

// eventGen builds batches of generated events; row i is the same as row i
// of the DuckDB query in scripts/bench-write.sh.
type eventGen struct {
	id, ets, rts *array.Int64Builder
	ts1, ts2     *array.TimestampBuilder
	stream, data *array.StringBuilder
	buf          []byte
}

func newEventGen() *eventGen {
	mem := memory.DefaultAllocator
	return &eventGen{
		id:     array.NewInt64Builder(mem),
		ts1:    array.NewTimestampBuilder(mem, eventSchema.Field(1).Type.(*arrow.TimestampType)),
		ts2:    array.NewTimestampBuilder(mem, eventSchema.Field(2).Type.(*arrow.TimestampType)),
		stream: array.NewStringBuilder(mem),
		data:   array.NewStringBuilder(mem),
	}
}

func hex8(b []byte, v int64) []byte {
	s := strconv.FormatInt(v, 16)
	for range 8 - len(s) {
		b = append(b, '0')
	}
	return append(b, s...)
}

// batch returns rows [from, from+n).
func (g *eventGen) batch(from, n int64) arrow.RecordBatch {
	g.id.Reserve(int(n))
	g.ts1.Reserve(int(n))
	g.ts2.Reserve(int(n))
	g.stream.Reserve(int(n))
	g.data.Reserve(int(n))
	g.data.ReserveData(int(n) * 200)
	streams := [8]string{}
	for k := range streams {
		streams[k] = "stream_" + strconv.Itoa(k)
	}
	for i := from; i < from+n; i++ {
		g.id.UnsafeAppend(i)
		g.ts1.UnsafeAppend(arrow.Timestamp(eventBase + i*997))
		g.ts2.UnsafeAppend(arrow.Timestamp(eventBase + i*997 + 250000 + (i*7919)%1000000))
		g.stream.Append(streams[i%8])
		b := g.buf[:0]
		b = append(b, `{"user_id":`...)
		b = strconv.AppendInt(b, (i*7919)%1000003, 10)
		b = append(b, `,"event":"`...)
		b = append(b, eventKinds[i%5]...)
		b = append(b, `","session":"`...)
		b = hex8(b, (i*2654435761)%4294967291)
		b = hex8(b, (i*40503+7)%4294967279)
		b = append(b, `","props":{"url":"https://example.com/products/`...)
		b = strconv.AppendInt(b, (i*31)%50000, 10)
		b = append(b, `","referrer":"https://search.example.org/?q=item`...)
		b = strconv.AppendInt(b, (i*17)%9973, 10)
		b = append(b, `","amount_cents":`...)
		b = strconv.AppendInt(b, (i*13)%100000, 10)
		b = append(b, `}}`...)
		g.buf = b
		g.data.BinaryBuilder.Append(b)
	}
	cols := []arrow.Array{g.id.NewArray(), g.ts1.NewArray(), g.ts2.NewArray(), g.stream.NewArray(), g.data.NewArray()}
	rec := array.NewRecordBatch(eventSchema, cols, n)
	for _, c := range cols {
		c.Release()
	}
	return rec
}

func benchRows() int64 {
	if s := os.Getenv("LAKEPORT_BENCH_ROWS"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return 10_000_000
}

// BenchmarkWriteEvents writes 10M event rows (LAKEPORT_BENCH_ROWS) in
// batches of 64k rows to a local directory bucket. rows/s includes making
// the batches (gen-s/op of the time, on the caller's goroutine, while the
// writer encodes earlier batches on its own), as DuckDB's COPY of generated
// rows does. peak-RSS-MiB is the process's VmHWM, reset at the start.
// LAKEPORT_BENCH_DIR sets where the files go (default a temp dir) and
// LAKEPORT_BENCH_COMPRESSION the codec.
func BenchmarkWriteEvents(b *testing.B) {
	rows := benchRows()
	const batch = 64 << 10
	ctx := context.Background()
	dir := os.Getenv("LAKEPORT_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	} else {
		dir = dir + "/go-events"
		os.RemoveAll(dir)
	}
	bkt, err := blob.Open(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	defer bkt.Close()
	benchmem.ResetPeak()
	b.ResetTimer()
	var total, sizes int64
	var files int
	var gen time.Duration
	for range b.N {
		b.StopTimer()
		os.RemoveAll(dir)
		g := newEventGen()
		b.StartTimer()
		w, err := NewWriter(bkt, eventSchema, Options{Compression: os.Getenv("LAKEPORT_BENCH_COMPRESSION")})
		if err != nil {
			b.Fatal(err)
		}
		for from := int64(0); from < rows; from += batch {
			t0 := time.Now()
			rec := g.batch(from, min(batch, rows-from))
			gen += time.Since(t0)
			if err := w.Write(ctx, rec); err != nil {
				b.Fatal(err)
			}
			rec.Release()
		}
		out, err := w.Close(ctx)
		if err != nil {
			b.Fatal(err)
		}
		total += rows
		files = len(out)
		sizes = 0
		for _, f := range out {
			sizes += f.Size
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(gen.Seconds()/float64(b.N), "gen-s/op")
	b.ReportMetric(benchmem.PeakRSSMiB(), "peak-RSS-MiB")
	b.ReportMetric(float64(files), "files")
	b.ReportMetric(float64(sizes)/(1<<20), "MiB")
}
