package exportevents_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lakeport/lakeport/internal/flow/export/exporttest"
	"github.com/lakeport/lakeport/internal/flow/exportevents"
	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/pgstore"
	"github.com/lakeport/lakeport/internal/platform/pgstore/pgtest"
	"github.com/lakeport/lakeport/internal/platform/sqlitestore"
)

// Benchmarks of export.events end to end: events read from the platform
// store (store=sqlite: the embedded default; store=postgres: the test
// server), staged as files, loaded into a local Delta table.
//
//	go test ./internal/flow/exportevents -run '^$' -bench 'BenchmarkExportEvents/store=sqlite/format=parquet/rows=1M' -benchtime 1x
//	LAKEPORT_BENCH_LARGE=1 go test ./internal/flow/exportevents -run '^$' -bench 'BenchmarkExportEvents/store=sqlite/format=parquet/rows=10M' -benchtime 1x -timeout 60m
//
// LAKEPORT_BENCH_KEEP=DIR keeps the last exported lakehouse there.
// scripts/bench-export.sh runs every format at 10M rows, one process each,
// side by side with DuckDB writing the same rows to Parquet. The platform
// store is generated once under $LAKEPORT_BENCH_DIR/exports (default
// .tmp/bench-exports) and reused; each iteration exports into a fresh
// lakehouse and job state.

var benchPages = []string{"/", "/pricing", "/blog/why-lakehouses", "/docs/getting-started", "/cart", "/checkout"}

// benchPlatform returns the path of a platform store holding n events of
// stream "web" (about 110 bytes of JSON each), generating it once.
func benchPlatform(b *testing.B, n int) string {
	dir := filepath.Join(exporttest.BenchDir(), fmt.Sprintf("platform-%d", n))
	path := filepath.Join(dir, "platform.db")
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return path
	}
	os.RemoveAll(dir)
	os.MkdirAll(dir, 0o755)
	store, err := sqlitestore.Open(ctx, path, platform.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	fillBench(b, store, n)
	os.WriteFile(filepath.Join(dir, "done"), nil, 0o644)
	return path
}

// benchPostgres returns a PostgreSQL platform store (schema
// lakeport_bench_events_N of the test server, kept between runs) holding
// the same n events.
func benchPostgres(b *testing.B, n int) platform.Store {
	base := pgtest.URL(b)
	schema := fmt.Sprintf("lakeport_bench_events_%d", n)
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var done bool
	conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'bench_done')`, schema).Scan(&done)
	if !done {
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE; CREATE SCHEMA "+schema); err != nil {
			b.Fatal(err)
		}
	}
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	store, err := pgstore.Open(ctx, u.String(), platform.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if !done {
		fillBench(b, store, n)
		if _, err := conn.Exec(ctx, "CREATE TABLE "+schema+".bench_done ()"); err != nil {
			b.Fatal(err)
		}
	}
	return store
}

func fillBench(b *testing.B, store platform.Store, n int) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for done := 0; done < n; {
		k := min(10000, n-done)
		in := make([]platform.EventInput, k)
		for i := range in {
			d := map[string]any{"user_id": "user-" + strconv.Itoa(rng.IntN(1_000_000)), "page": benchPages[rng.IntN(len(benchPages))],
				"value": float64(rng.IntN(100000)) / 100, "session": rng.Int64N(1 << 40)}
			raw, _ := json.Marshal(d)
			in[i] = platform.EventInput{EventTS: base.Add(time.Duration(done+i) * time.Second), Data: raw}
		}
		if _, err := store.Write(ctx, platform.Batch{Appends: []platform.Append{{Stream: "web", Events: in}}}); err != nil {
			b.Fatal(err)
		}
		done += k
	}
}

func BenchmarkExportEvents(b *testing.B) {
	for _, store := range []string{"sqlite", "postgres"} {
		for _, format := range []string{"parquet", "csv", "csv.gz"} {
			for _, n := range []int{1_000_000, 10_000_000} {
				b.Run(fmt.Sprintf("store=%s/format=%s/rows=%dM", store, format, n/1_000_000), func(b *testing.B) {
					if n > 1_000_000 && os.Getenv("LAKEPORT_BENCH_LARGE") == "" {
						b.Skip("set LAKEPORT_BENCH_LARGE=1 for the 10M-row benchmark")
					}
					var src string
					var pg platform.Store
					if store == "sqlite" {
						src = benchPlatform(b, n)
					} else {
						pg = benchPostgres(b, n)
						defer pg.Close()
					}
					exporttest.Bench(b, src, pg, exportevents.Kind, exportevents.New, "catalog: main\nschema: exports\nformat: "+format+"\n", n)
				})
			}
		}
	}
}
