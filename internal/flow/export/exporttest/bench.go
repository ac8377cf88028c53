package exporttest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/lakeport/lakeport/internal/benchmem"
	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/platform"
)

// BenchDir is where the export benchmarks keep the platform stores they
// generate once and reuse: $LAKEPORT_BENCH_DIR/exports, else
// .tmp/bench-exports at the repository root (benchmarks run in
// internal/flow/<kind>).
func BenchDir() string {
	if d := os.Getenv("LAKEPORT_BENCH_DIR"); d != "" {
		return filepath.Join(d, "exports")
	}
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..", "..", ".tmp", "bench-exports")
}

// Bench runs an export end to end once per iteration, each into a fresh
// lakehouse and job state, over the platform store in the SQLite file src
// (linked in) or, when src is "", over store. It fails unless a run exports
// rows rows, and reports rows/s, cpu-ms/op and peak-RSS-MiB (setup outside
// the timer). LAKEPORT_BENCH_KEEP=DIR keeps the last exported lakehouse
// there (a peer reads the same rows).
func Bench(b *testing.B, src string, store platform.Store, kind string, newFlow job.Factory, settings string, rows int) {
	ctx := context.Background()
	benchmem.ResetPeak()
	cpu0 := benchmem.CPUTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		if src != "" {
			if err := os.Symlink(src, filepath.Join(dir, "platform.db")); err != nil {
				b.Fatal(err)
			}
		}
		f := Open(b, dir)
		if src == "" {
			f.UsePlatform(store)
		}
		spec := Spec(b, "bench", kind, settings)
		flow, err := newFlow(spec, f.Env)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := f.Run(ctx, spec, flow)
		if err != nil {
			b.Fatal(err)
		}
		if res.Rows != int64(rows) {
			b.Fatalf("exported %d rows, want %d", res.Rows, rows)
		}
		b.StopTimer()
		f.Close()
		if keep := os.Getenv("LAKEPORT_BENCH_KEEP"); keep != "" {
			os.RemoveAll(keep)
			if err := os.Rename(filepath.Join(dir, "lake"), keep); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64((benchmem.CPUTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
	b.ReportMetric(benchmem.PeakRSSMiB(), "peak-RSS-MiB")
}
