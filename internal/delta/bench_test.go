package delta_test

// Benchmarks of the Delta reader on generated tables (see docs/BENCHMARKS.md;
// scripts/bench.sh runs each benchmark in its own process and DuckDB on the
// same files, side by side).
//
// The tables are generated once with deltatest.Fixture into
// $LAKEPORT_BENCH_DIR (default .tmp/bench under the module root) and reused
// while their layout version matches. Plain `go test` never generates them:
// only the Benchmark functions do (lazily) and TestGenerateBenchFixtures does
// when LAKEPORT_BENCH_GENERATE=1.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeport/lakeport/internal/benchmem"
	"github.com/lakeport/lakeport/internal/delta"
	"github.com/lakeport/lakeport/internal/delta/deltatest"
)

// benchLayout names the generated layout; change it to regenerate cached tables.
const benchLayout = "lakeport-bench-v2"

const (
	benchWideFiles    = 50
	benchWideFileRows = 200_000 // 50 x 200k = 10M rows
	benchWideRows     = benchWideFiles * benchWideFileRows
	benchUpdateFile   = 17 // the file whose even ids the 1% update changes
	benchInsertRows   = benchWideRows / 100
	benchLogWindow    = 100 // live files of the commit-log tables
	benchLogTail      = 10  // commits after the checkpoint
)

// benchCommitCounts are the sizes of the commit-log tables.
var benchCommitCounts = []int{200, 2000, 20000}

// benchProject3 is the 3-column projection.
var benchProject3 = []string{"id", "country", "score"}

var benchTSBase = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

var benchWideSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "user_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "qty", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "active", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "event_ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "event_date", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
}, nil)

var benchCountries = strings.Fields("US GB DE FR ES IT NL BE SE NO DK FI PL CZ AT CH IE PT GR HU RO BG HR SI SK " +
	"LT LV EE CA MX BR AR CL CO PE AU NZ JP KR IN")

// benchManifest describes the generated tables; bench.sh reads the file lists.
type benchManifest struct {
	Layout        string         `json:"layout"`
	Wide          string         `json:"wide"`          // the 10M-row table
	ScanVersion   int64          `json:"scanVersion"`   // 10M rows in 50 files
	UpdateVersion int64          `json:"updateVersion"` // 1% of rows updated, with a cdc file
	InsertVersion int64          `json:"insertVersion"` // 1% more rows appended
	ScanFiles     []string       `json:"scanFiles"`     // local paths of the files of ScanVersion
	UpdateCDC     []string       `json:"updateCDC"`     // local paths of the cdc files of UpdateVersion
	InsertFiles   []string       `json:"insertFiles"`   // local paths of the files added by InsertVersion
	UpdateRows    int64          `json:"updateRows"`    // change rows of UpdateVersion (pre- and post-images)
	Logs          map[int]string `json:"logs"`          // commits -> table with a checkpoint benchLogTail commits before the end
	LogsNoCP      map[int]string `json:"logsNoCheckpoint"`
}

// benchRoot is $LAKEPORT_BENCH_DIR, or .tmp/bench under the module root.
func benchRoot() (string, error) {
	if d := os.Getenv("LAKEPORT_BENCH_DIR"); d != "" {
		return filepath.Abs(d)
	}
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, ".tmp", "bench"), nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", errors.New("no go.mod above the working directory; set LAKEPORT_BENCH_DIR")
		}
		d = parent
	}
}

var (
	benchOnce sync.Once
	benchMan  *benchManifest
	benchErr  error
)

// benchFixtures returns the generated tables, generating what is missing.
func benchFixtures(tb testing.TB) *benchManifest {
	tb.Helper()
	benchOnce.Do(func() {
		root, err := benchRoot()
		if err != nil {
			benchErr = err
			return
		}
		benchMan, benchErr = benchLoadOrGenerate(root, tb.Logf)
	})
	if benchErr != nil {
		tb.Fatalf("bench fixtures: %v", benchErr)
	}
	return benchMan
}

// TestGenerateBenchFixtures generates the benchmark tables ahead of the
// benchmarks (scripts/bench.sh runs it), so that generation never counts in a
// benchmark's process. It does nothing unless LAKEPORT_BENCH_GENERATE=1.
func TestGenerateBenchFixtures(t *testing.T) {
	if os.Getenv("LAKEPORT_BENCH_GENERATE") != "1" {
		t.Skip("set LAKEPORT_BENCH_GENERATE=1 to generate the benchmark tables")
	}
	m := benchFixtures(t)
	t.Logf("bench tables ready: %s (scan v%d, update v%d, insert v%d)", m.Wide, m.ScanVersion, m.UpdateVersion, m.InsertVersion)
}

func benchLoadOrGenerate(root string, logf func(string, ...any)) (*benchManifest, error) {
	manPath := filepath.Join(root, "manifest.json")
	if b, err := os.ReadFile(manPath); err == nil {
		var m benchManifest
		if json.Unmarshal(b, &m) == nil && m.Layout == benchLayout {
			return &m, nil
		}
	}
	logf("generating benchmark tables in %s (once; a few minutes)", root)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	// remove what an older or interrupted generation left (only that: the
	// directory also holds bench.sh's binary and results)
	stale := []string{"manifest.json", "wide", "scan-files.txt", "update-cdc-files.txt", "insert-files.txt"}
	if old, err := filepath.Glob(filepath.Join(root, "log-*")); err == nil {
		stale = append(stale, old...)
	}
	for _, name := range stale {
		if err := os.RemoveAll(filepath.Join(root, name)); err != nil {
			return nil, err
		}
	}
	m := &benchManifest{Layout: benchLayout, Logs: map[int]string{}, LogsNoCP: map[int]string{}}
	start := time.Now()
	if err := benchGenWide(root, m); err != nil {
		return nil, fmt.Errorf("wide table: %w", err)
	}
	logf("wide table: %s", time.Since(start).Round(time.Millisecond))
	for _, n := range benchCommitCounts {
		start := time.Now()
		if err := benchGenLog(root, n, m); err != nil {
			return nil, fmt.Errorf("%d-commit table: %w", n, err)
		}
		logf("%d-commit table: %s", n, time.Since(start).Round(time.Millisecond))
	}
	lists := map[string][]string{"scan-files.txt": m.ScanFiles, "update-cdc-files.txt": m.UpdateCDC, "insert-files.txt": m.InsertFiles}
	for name, l := range lists {
		if err := os.WriteFile(filepath.Join(root, name), []byte(strings.Join(l, "\n")+"\n"), 0o644); err != nil {
			return nil, err
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	// the manifest goes last: its presence marks a complete generation
	return m, os.WriteFile(manPath, b, 0o644)
}

// ---- the 10M-row table ----

func benchMix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// benchWideBatch builds the rows with ids first..first+n-1 whose keep(id) is true
// (nil keeps all). Each row's values derive from its id; updated(id) rows carry
// the update's new values. A non-empty changeType adds a _change_type column.
func benchWideBatch(first, n int64, keep, updated func(int64) bool, changeType string) arrow.RecordBatch {
	schema := benchWideSchema
	if changeType != "" {
		schema = arrow.NewSchema(append(benchWideSchema.Fields(), arrow.Field{Name: "_change_type", Type: arrow.BinaryTypes.String}), nil)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	ids := b.Field(0).(*array.Int64Builder)
	users := b.Field(1).(*array.Int64Builder)
	qty := b.Field(2).(*array.Int32Builder)
	score := b.Field(3).(*array.Float64Builder)
	amount := b.Field(4).(*array.Float64Builder)
	country := b.Field(5).(*array.StringBuilder)
	name := b.Field(6).(*array.StringBuilder)
	active := b.Field(7).(*array.BooleanBuilder)
	ts := b.Field(8).(*array.TimestampBuilder)
	date := b.Field(9).(*array.Date32Builder)
	for _, fb := range b.Fields() {
		fb.Reserve(int(n))
	}
	nameBuf, numBuf := make([]byte, 0, 16), make([]byte, 0, 16)
	for id := first; id < first+n; id++ {
		if keep != nil && !keep(id) {
			continue
		}
		h := benchMix(uint64(id))
		upd := updated != nil && updated(id)
		ids.Append(id)
		user := int64(h % 1_000_000)
		users.Append(user)
		q := int32((h>>20)%100) + 1
		if upd {
			q++
		}
		qty.Append(q)
		if (h>>40)%20 == 0 {
			score.AppendNull()
		} else {
			s := float64((h>>8)%1_000_000) / 1000
			if upd {
				s++
			}
			score.Append(s)
		}
		amount.Append(float64((h>>16)%10_000_000) / 100)
		country.Append(benchCountries[(h>>28)%uint64(len(benchCountries))])
		if (h>>50)%50 == 0 {
			name.AppendNull()
		} else {
			nameBuf = append(nameBuf[:0], "user-"...)
			u := strconv.AppendInt(numBuf[:0], user, 10)
			for i := len(u); i < 7; i++ {
				nameBuf = append(nameBuf, '0')
			}
			name.BinaryBuilder.Append(append(nameBuf, u...))
		}
		active.Append((h>>33)&1 == 1)
		us := benchTSBase.UnixMicro() + id*250_000 + int64((h>>10)%1000)
		ts.Append(arrow.Timestamp(us))
		date.Append(arrow.Date32(us / 86_400_000_000))
		if changeType != "" {
			b.Field(10).(*array.StringBuilder).Append(changeType)
		}
	}
	return b.NewRecordBatch()
}

func benchGenWide(root string, m *benchManifest) error {
	dir := filepath.Join(root, "wide")
	f, err := deltatest.NewFixture(dir, benchWideSchema, nil, map[string]string{"delta.enableChangeDataFeed": "true"}, deltatest.WithClock(benchClock(time.Second)))
	if err != nil {
		return err
	}
	recs := make([]arrow.RecordBatch, benchWideFiles)
	for i := range recs {
		recs[i] = benchWideBatch(int64(i)*benchWideFileRows, benchWideFileRows, nil, nil, "")
	}
	m.ScanVersion, err = f.Append(recs...)
	for _, r := range recs {
		r.Release()
	}
	if err != nil {
		return err
	}
	for _, p := range f.Files() {
		m.ScanFiles = append(m.ScanFiles, f.LocalPath(p))
	}
	// UPDATE ... SET score = score + 1, qty = qty + 1 WHERE <even ids of one file>:
	// 1% of the rows. Copy-on-write: the file is rewritten; the cdc file holds
	// the pre- and post-images of the changed rows.
	lo := int64(benchUpdateFile) * benchWideFileRows
	even := func(id int64) bool { return id%2 == 0 }
	rewritten := benchWideBatch(lo, benchWideFileRows, nil, even, "")
	pre := benchWideBatch(lo, benchWideFileRows, even, nil, "update_preimage")
	post := benchWideBatch(lo, benchWideFileRows, even, even, "update_postimage")
	cdc, err := benchConcat(pre, post)
	if err != nil {
		return err
	}
	m.UpdateRows = cdc.NumRows()
	m.UpdateVersion, err = f.Commit(deltatest.Commit{
		Add: []arrow.RecordBatch{rewritten}, Remove: []string{f.Files()[benchUpdateFile]},
		CDC: []arrow.RecordBatch{cdc}, Operation: "UPDATE",
	})
	for _, r := range []arrow.RecordBatch{rewritten, pre, post, cdc} {
		r.Release()
	}
	if err != nil {
		return err
	}
	_, cdcs := f.Written(m.UpdateVersion)
	for _, p := range cdcs {
		m.UpdateCDC = append(m.UpdateCDC, f.LocalPath(p))
	}
	// INSERT of 1% new rows: CDF reads the added file itself.
	ins := benchWideBatch(benchWideRows, benchInsertRows, nil, nil, "")
	m.InsertVersion, err = f.Append(ins)
	ins.Release()
	if err != nil {
		return err
	}
	adds, _ := f.Written(m.InsertVersion)
	for _, p := range adds {
		m.InsertFiles = append(m.InsertFiles, f.LocalPath(p))
	}
	m.Wide = dir
	return nil
}

// benchClock is a deterministic clock that advances step per call.
func benchClock(step time.Duration) func() time.Time {
	var n int64
	return func() time.Time {
		n++
		return benchTSBase.Add(time.Duration(n) * step)
	}
}

func benchConcat(recs ...arrow.RecordBatch) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, recs[0].NumCols())
	var n int64
	for i := range cols {
		parts := make([]arrow.Array, len(recs))
		for j, r := range recs {
			parts[j] = r.Column(i)
		}
		c, err := array.Concatenate(parts, memory.DefaultAllocator)
		if err != nil {
			return nil, err
		}
		defer c.Release()
		cols[i] = c
	}
	for _, r := range recs {
		n += r.NumRows()
	}
	return array.NewRecordBatch(recs[0].Schema(), cols, n), nil
}

// ---- the commit-log tables ----

var benchLogSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "v", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// benchGenLog writes a table of n commits (versions 0..n-1): each commit after the
// first appends a 10-row file and, once benchLogWindow files are live, removes
// the oldest, so every table has the same number of live files however many
// commits it has. One copy gets a checkpoint benchLogTail commits before the
// end; the other (hard links to the same files) has none.
func benchGenLog(root string, n int, m *benchManifest) error {
	dir := filepath.Join(root, fmt.Sprintf("log-%d", n))
	// One commit a minute and tombstones kept for an hour: every checkpoint
	// holds the same ~60 tombstones, so only the number of commits varies.
	props := map[string]string{"delta.deletedFileRetentionDuration": "interval 1 hours"}
	f, err := deltatest.NewFixture(dir, benchLogSchema, nil, props, deltatest.WithClock(benchClock(time.Minute)))
	if err != nil {
		return err
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, benchLogSchema)
	defer b.Release()
	for v := 1; v < n; v++ {
		for i := 0; i < 10; i++ {
			b.Field(0).(*array.Int64Builder).Append(int64(v*10 + i))
			b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("commit %d row %d", v, i))
		}
		rec := b.NewRecordBatch()
		c := deltatest.Commit{Add: []arrow.RecordBatch{rec}}
		if files := f.Files(); len(files) >= benchLogWindow {
			c.Remove = files[:1]
		}
		_, err := f.Commit(c)
		rec.Release()
		if err != nil {
			return err
		}
		if v == n-1-benchLogTail {
			if err := f.Checkpoint(); err != nil {
				return err
			}
		}
	}
	noCP := dir + "-nocp"
	if err := benchLinkTree(dir, noCP, func(rel string) bool {
		base := filepath.Base(rel)
		return !strings.Contains(base, ".checkpoint.") && base != "_last_checkpoint"
	}); err != nil {
		return err
	}
	m.Logs[n], m.LogsNoCP[n] = dir, noCP
	return nil
}

// benchLinkTree hard-links the files of src that keep accepts into dst.
func benchLinkTree(src, dst string, keep func(rel string) bool) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !keep(rel) {
			return nil
		}
		return os.Link(p, filepath.Join(dst, rel))
	})
}

// ---- measuring ----

// benchStart prepares a measurement: memory returned to the OS, the peak RSS
// reset, the timer reset. It returns the CPU time at the start.
func benchStart(b *testing.B) time.Duration {
	benchmem.ResetPeak()
	b.ResetTimer()
	return benchmem.CPUTime()
}

// benchReport reports rows/s (wall clock), CPU ms per op (all threads; less
// sensitive than wall time to other load on the machine) and the peak RSS.
func benchReport(b *testing.B, cpu0 time.Duration, rowsPerOp int64) {
	b.StopTimer()
	cpu := benchmem.CPUTime() - cpu0
	if rowsPerOp > 0 {
		b.ReportMetric(float64(rowsPerOp)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	}
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
	b.ReportMetric(benchmem.PeakRSSMiB(), "peak-RSS-MiB")
}

// benchCountRows drains a stream and returns its row count.
func benchCountRows(ctx context.Context, bs delta.Batches) (int64, error) {
	defer bs.Close()
	var n int64
	for {
		rec, err := bs.Next(ctx)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n += rec.NumRows()
		rec.Release()
	}
}

func benchScanOnce(ctx context.Context, dir string, version int64, opts delta.ScanOptions) (int64, error) {
	tbl, err := delta.Open(ctx, dir)
	if err != nil {
		return 0, err
	}
	defer tbl.Close()
	snap, err := tbl.Snapshot(ctx, delta.AtVersion(version))
	if err != nil {
		return 0, err
	}
	bs, err := snap.Scan(ctx, opts)
	if err != nil {
		return 0, err
	}
	return benchCountRows(ctx, bs)
}

func benchDataBytes(paths []string) int64 {
	var n int64
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

func benchScan(b *testing.B, columns []string) {
	m := benchFixtures(b)
	ctx := context.Background()
	b.SetBytes(benchDataBytes(m.ScanFiles)) // MB/s of the table's Parquet (the projection reads less of it)
	cpu0 := benchStart(b)
	for i := 0; i < b.N; i++ {
		n, err := benchScanOnce(ctx, m.Wide, m.ScanVersion, delta.ScanOptions{Columns: columns})
		if err != nil {
			b.Fatal(err)
		}
		if n != benchWideRows {
			b.Fatalf("scan returned %d rows, want %d", n, benchWideRows)
		}
	}
	benchReport(b, cpu0, benchWideRows)
}

// BenchmarkScanAll scans every column of the 10M-row, 50-file table.
func BenchmarkScanAll(b *testing.B) { benchScan(b, nil) }

// BenchmarkScanProject3 scans 3 of its 10 columns (id, country, score).
func BenchmarkScanProject3(b *testing.B) { benchScan(b, benchProject3) }

// BenchmarkSnapshotLoad opens a table of N commits and loads its latest
// snapshot, from the commits alone or from a checkpoint 10 commits before the end.
func BenchmarkSnapshotLoad(b *testing.B) {
	for _, n := range benchCommitCounts {
		b.Run(fmt.Sprintf("commits=%d", n), func(b *testing.B) {
			for _, cp := range []bool{false, true} {
				b.Run(fmt.Sprintf("checkpoint=%v", cp), func(b *testing.B) {
					m := benchFixtures(b)
					dir := m.LogsNoCP[n]
					if cp {
						dir = m.Logs[n]
					}
					ctx := context.Background()
					cpu0 := benchStart(b)
					for i := 0; i < b.N; i++ {
						tbl, err := delta.Open(ctx, dir)
						if err != nil {
							b.Fatal(err)
						}
						snap, err := tbl.Snapshot(ctx, delta.Latest())
						if err != nil {
							b.Fatal(err)
						}
						if snap.Version() != int64(n-1) || len(snap.Files()) != benchLogWindow {
							b.Fatalf("snapshot: version %d with %d files, want %d with %d", snap.Version(), len(snap.Files()), n-1, benchLogWindow)
						}
						tbl.Close()
					}
					benchReport(b, cpu0, 0)
					b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/load")
				})
			}
		})
	}
}

// BenchmarkChanges1pct reads the change data feed of a commit that changed 1%
// of the 10M rows: an UPDATE (read from its cdc file: pre- and post-images)
// and an INSERT (read from its added file).
func BenchmarkChanges1pct(b *testing.B) {
	for _, op := range []string{"update", "insert"} {
		b.Run("op="+op, func(b *testing.B) {
			m := benchFixtures(b)
			v, want := m.UpdateVersion, m.UpdateRows
			if op == "insert" {
				v, want = m.InsertVersion, benchInsertRows
			}
			ctx := context.Background()
			cpu0 := benchStart(b)
			for i := 0; i < b.N; i++ {
				tbl, err := delta.Open(ctx, m.Wide)
				if err != nil {
					b.Fatal(err)
				}
				bs, err := tbl.Changes(ctx, delta.ChangesOptions{StartVersion: &v, EndVersion: &v})
				if err != nil {
					b.Fatal(err)
				}
				n, err := benchCountRows(ctx, bs)
				if err != nil {
					b.Fatal(err)
				}
				if n != want {
					b.Fatalf("changes of version %d: %d rows, want %d", v, n, want)
				}
				tbl.Close()
			}
			benchReport(b, cpu0, want)
		})
	}
}
