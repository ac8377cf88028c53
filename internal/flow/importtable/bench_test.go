package importtable_test

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeport/lakeport/internal/benchmem"
	"github.com/lakeport/lakeport/internal/delta"
	"github.com/lakeport/lakeport/internal/flow/importtable"
	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/lakehouse/local"
	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/sqlitestore"
)

// Benchmarks of import.table on an event table (event_id, ts, user_id,
// page, value; ~110-byte events) written as an append-only table: files of
// up to 1M rows, each covering its own hour range with rows shuffled inside.
//
//	go test ./internal/flow/importtable -run '^$' -bench 'BenchmarkImportFull/rows=1M' -benchtime 1x
//	LAKEPORT_BENCH_LARGE=1 go test ./internal/flow/importtable -run '^$' -bench 'BenchmarkImportFull/rows=10M' -benchtime 1x -timeout 60m
//	LAKEPORT_BENCH_LARGE=1 go test ./internal/flow/importtable -run '^$' -bench 'BenchmarkImportIncremental' -benchtime 3x -timeout 60m
//
// Tables and imported platform stores are generated once under
// $LAKEPORT_BENCH_DIR (default .tmp/bench-imports at the repository root)
// and reused. Run one benchmark per process: peak-RSS-MiB is the process's
// VmHWM, reset after the fixtures are ready.

var benchSchema = arrow.NewSchema([]arrow.Field{
	{Name: "event_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: "user_id", Type: arrow.BinaryTypes.String},
	{Name: "page", Type: arrow.BinaryTypes.String},
	{Name: "value", Type: arrow.PrimitiveTypes.Float64},
}, nil)

var benchPages = []string{"/", "/pricing", "/blog/why-lakehouses", "/docs/getting-started", "/cart", "/checkout"}

func benchDir(b *testing.B) string {
	if d := os.Getenv("LAKEPORT_BENCH_DIR"); d != "" {
		return filepath.Join(d, "imports")
	}
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..", "..", ".tmp", "bench-imports")
}

// benchBatch makes rows [first, first+n) of hour range [hour, hour+1),
// shuffled.
func benchBatch(first, n int64, hour int, rng *rand.Rand) arrow.RecordBatch {
	bld := array.NewRecordBuilder(memory.DefaultAllocator, benchSchema)
	defer bld.Release()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(hour) * time.Hour)
	ids := bld.Field(0).(*array.Int64Builder)
	ts := bld.Field(1).(*array.TimestampBuilder)
	users := bld.Field(2).(*array.StringBuilder)
	pages := bld.Field(3).(*array.StringBuilder)
	vals := bld.Field(4).(*array.Float64Builder)
	for i := int64(0); i < n; i++ {
		ids.Append(first + i)
		ts.Append(arrow.Timestamp(base.Add(time.Duration(rng.Int64N(int64(time.Hour)))).Truncate(time.Millisecond).UnixMicro()))
		users.Append("user-" + strconv.Itoa(rng.IntN(1_000_000)))
		pages.Append(benchPages[rng.IntN(len(benchPages))])
		vals.Append(float64(rng.IntN(100000)) / 100)
	}
	return bld.NewRecordBatch()
}

// appendRows appends n rows as one file covering one hour.
func appendRows(b *testing.B, tbl *delta.Table, first, n int64, hour int) {
	rng := rand.New(rand.NewPCG(uint64(first), uint64(hour)))
	var recs []arrow.RecordBatch
	for done := int64(0); done < n; done += 64 * 1024 {
		recs = append(recs, benchBatch(first+done, min(64*1024, n-done), hour, rng))
	}
	_, err := tbl.Append(ctx, delta.RecordsOf(benchSchema, recs...), delta.WriteOptions{TargetFileSize: 1 << 40})
	for _, r := range recs {
		r.Release()
	}
	if err != nil {
		b.Fatal(err)
	}
}

// benchTable returns a lakehouse root holding main.web.events with n rows
// (generated once).
func benchTable(b *testing.B, n int64) string {
	root := filepath.Join(benchDir(b), fmt.Sprintf("table-%d", n))
	if _, err := os.Stat(filepath.Join(root, "done")); err == nil {
		return root
	}
	os.RemoveAll(root)
	dir := filepath.Join(root, "main", "web", "events")
	os.MkdirAll(filepath.Dir(dir), 0o755)
	tbl, err := delta.Create(ctx, dir, delta.TableSpec{Schema: benchSchema})
	if err != nil {
		b.Fatal(err)
	}
	defer tbl.Close()
	per := min(n/10, 1_000_000)
	for f := int64(0); f*per < n; f++ {
		appendRows(b, tbl, f*per, min(per, n-f*per), int(f))
	}
	os.WriteFile(filepath.Join(root, "done"), nil, 0o644)
	return root
}

// cloneTree copies src to dst, hard-linking the (immutable) data files.
func cloneTree(b *testing.B, src, dst string) {
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if strings.HasSuffix(p, ".parquet") {
			return os.Link(p, target)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		b.Fatal(err)
	}
}

type benchEnv struct {
	lh    *local.Lakehouse
	store platform.Store
	env   *job.Env
	flow  *importtable.Flow
	spec  *job.Spec
}

func openBench(b *testing.B, lake, db string) *benchEnv {
	lh, err := local.Open(lake, local.Options{})
	if err != nil {
		b.Fatal(err)
	}
	store, err := sqlitestore.Open(ctx, db, platform.Options{})
	if err != nil {
		b.Fatal(err)
	}
	e := &benchEnv{lh: lh, store: store}
	e.env = &job.Env{Platform: store, Connections: func(context.Context, string) (any, error) { return lh, nil }}
	e.spec = spec(b, "bench", baseSettings)
	f, err := importtable.New(e.spec, e.env)
	if err != nil {
		b.Fatal(err)
	}
	e.flow = f.(*importtable.Flow)
	return e
}

func (e *benchEnv) close() { e.lh.Close(); e.store.Close() }

func (e *benchEnv) run(b *testing.B) job.Result {
	res, err := e.flow.Run(ctx, &job.Run{Job: e.spec, Seq: 1, Env: e.env})
	if err != nil {
		b.Fatal(err)
	}
	return res
}

var benchSizes = []struct {
	name  string
	rows  int64
	large bool
}{{"100k", 100_000, false}, {"1M", 1_000_000, false}, {"10M", 10_000_000, true}}

func skipLarge(b *testing.B, large bool) {
	if large && os.Getenv("LAKEPORT_BENCH_LARGE") == "" {
		b.Skip("set LAKEPORT_BENCH_LARGE=1 for the 10M-row benchmarks")
	}
}

// BenchmarkImportFull imports a whole table into an empty platform store.
func BenchmarkImportFull(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run("rows="+sz.name, func(b *testing.B) {
			skipLarge(b, sz.large)
			lake := benchTable(b, sz.rows)
			var rows int64
			var elapsed, cpu time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				work := b.TempDir()
				e := openBench(b, lake, filepath.Join(work, "platform.db"))
				benchmem.ResetPeak()
				c0 := benchmem.CPUTime()
				start := time.Now()
				b.StartTimer()
				res := e.run(b)
				b.StopTimer()
				elapsed += time.Since(start)
				cpu += benchmem.CPUTime() - c0
				rows += res.Rows
				if res.Rows != sz.rows {
					b.Fatalf("imported %d rows, want %d", res.Rows, sz.rows)
				}
				e.close()
				// keep the imported store for BenchmarkImportIncremental
				imported := filepath.Join(benchDir(b), fmt.Sprintf("imported-%d.db", sz.rows))
				if _, err := os.Stat(imported + ".done"); err != nil {
					if os.Rename(filepath.Join(work, "platform.db"), imported) == nil {
						os.WriteFile(imported+".done", nil, 0o644)
					}
				}
			}
			b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(rows), "cpu-ns/row")
			b.ReportMetric(benchmem.PeakRSSMiB(), "peak-RSS-MiB")
			b.ReportMetric(cpu.Seconds()/elapsed.Seconds(), "cores")
		})
	}
}

// BenchmarkImportIncremental measures one run importing 1% new rows (one
// new file after the watermark; LAKEPORT_BENCH_NEW_ROWS=n for n rows
// instead) on a table already imported. ns/new-row is the figure to compare
// between table sizes: it must not grow with the table.
func BenchmarkImportIncremental(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run("rows="+sz.name, func(b *testing.B) {
			skipLarge(b, sz.large)
			lake := benchTable(b, sz.rows)
			imported := filepath.Join(benchDir(b), fmt.Sprintf("imported-%d.db", sz.rows))
			if _, err := os.Stat(imported + ".done"); err != nil {
				os.Remove(imported)
				e := openBench(b, lake, imported)
				e.run(b)
				e.close()
				os.WriteFile(imported+".done", nil, 0o644)
			}
			work := b.TempDir()
			cloneTree(b, lake, filepath.Join(work, "lake"))
			cloneTree(b, imported, filepath.Join(work, "platform.db"))
			e := openBench(b, filepath.Join(work, "lake"), filepath.Join(work, "platform.db"))
			defer e.close()
			dir, _ := e.lh.TablePath(lakehouse.TableName{Catalog: "main", Schema: "web", Table: "events"})
			tbl, err := delta.Open(ctx, dir)
			if err != nil {
				b.Fatal(err)
			}
			defer tbl.Close()
			newRows := sz.rows / 100
			if n, err := strconv.ParseInt(os.Getenv("LAKEPORT_BENCH_NEW_ROWS"), 10, 64); err == nil && n > 0 {
				newRows = n // the same absolute number of new rows on every table size
			}
			next := sz.rows
			hour := 1000
			if os.Getenv("LAKEPORT_BENCH_WARMUP") != "" {
				// steady state: the watermark sits in a small new file, not in
				// the last file of the full import (which the first run reads
				// again: its statistics cannot rule out rows just after the
				// watermark)
				appendRows(b, tbl, next, newRows, hour)
				next += newRows
				hour++
				e.run(b)
			}
			var elapsed, cpu time.Duration
			var imported64 int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				appendRows(b, tbl, next, newRows, hour)
				next += newRows
				hour++
				benchmem.ResetPeak()
				c0 := benchmem.CPUTime()
				start := time.Now()
				b.StartTimer()
				res := e.run(b)
				b.StopTimer()
				elapsed += time.Since(start)
				cpu += benchmem.CPUTime() - c0
				if res.Rows != newRows {
					b.Fatalf("imported %d rows, want %d", res.Rows, newRows)
				}
				imported64 += res.Rows
			}
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(imported64), "ns/new-row")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(imported64), "cpu-ns/new-row")
			b.ReportMetric(float64(imported64)/elapsed.Seconds(), "rows/s")
			b.ReportMetric(benchmem.PeakRSSMiB(), "peak-RSS-MiB")
		})
	}
}
