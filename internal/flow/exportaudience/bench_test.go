package exportaudience_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/flow/export/exporttest"
	"github.com/lakeport/lakeport/internal/flow/exportaudience"
	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/sqlitestore"
)

// Benchmarks of export.audience end to end: an audience of every profile
// in the embedded SQLite platform store (an email and seven attributes
// each: strings, a number, a boolean, a datetime, a string array), read
// twice (columns, then rows), staged as CSV, loaded into a local Delta
// table in replace mode with the registry's column types.
//
//	go test ./internal/flow/exportaudience -run '^$' -bench 'BenchmarkExportAudience/format=csv/rows=1M' -benchtime 1x
//	go test ./internal/flow/exportaudience -run '^$' -bench 'BenchmarkExportAudience/format=csv/rows=100k' -benchtime 3x
//
// The platform store is generated once under $LAKEPORT_BENCH_DIR/exports
// (default .tmp/bench-exports) and reused (1M profiles take about a
// minute); each iteration exports into a fresh lakehouse and job state.
// LAKEPORT_BENCH_KEEP=DIR keeps the last exported lakehouse there.

var benchFields = []platform.Field{
	{Name: "first_name", Type: platform.TypeString},
	{Name: "country", Type: platform.TypeString},
	{Name: "zip", Type: platform.TypeString},
	{Name: "lifetime_value", Type: platform.TypeNumber},
	{Name: "vip", Type: platform.TypeBoolean},
	{Name: "signup_at", Type: platform.TypeDatetime},
	{Name: "interests", Type: platform.TypeStringArray},
}

var (
	benchNames     = []string{"Ann", "Bob", "Cat", "Dan", "Eve", "Fay", "Gus", "Hal", "Ivy", "Jan", "Kim", "Lou"}
	benchCountries = []string{"NL", "DE", "FR", "BE", "GB", "US", "ES", "IT", "PL", "SE"}
	benchInterests = []string{"gold", "early", "outdoor", "books", "travel", "music", "food, wine", `say "hi"`}
)

// benchAudience returns the path of a platform store holding n profiles,
// all members of audience "all", generating it once.
func benchAudience(b *testing.B, n int) string {
	dir := filepath.Join(exporttest.BenchDir(), fmt.Sprintf("audience-v1-%d", n))
	path := filepath.Join(dir, "platform.db")
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return path
	}
	os.RemoveAll(dir)
	os.MkdirAll(dir, 0o755)
	store, err := sqlitestore.Open(ctx, path, platform.Options{DeferAudienceRefresh: true})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	define(b, store, benchFields...)
	rng := rand.New(rand.NewPCG(3, 4))
	base := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
	const batch = 10_000
	for lo := 0; lo < n; lo += batch {
		in := make([]platform.ProfileInput, 0, batch)
		for i := lo; i < min(lo+batch, n); i++ {
			attrs := map[string]any{
				"first_name":     benchNames[rng.IntN(len(benchNames))],
				"country":        benchCountries[rng.IntN(len(benchCountries))],
				"lifetime_value": float64(rng.IntN(1_000_000)) / 100,
				"vip":            rng.IntN(20) == 0,
				// whole seconds, milliseconds or microseconds
				"signup_at": base.Add(time.Duration(rng.Int64N(7*365*24*3600)) * time.Second).
					Add(time.Duration(rng.IntN(3)) * time.Duration(rng.IntN(1_000_000)) * time.Microsecond),
			}
			if i%3 != 0 { // some profiles lack these: NULL cells
				attrs["zip"] = fmt.Sprintf("%05d", rng.IntN(100000))
				k := 1 + rng.IntN(3)
				tags := make([]string, k)
				for j := range tags {
					tags[j] = benchInterests[rng.IntN(len(benchInterests))]
				}
				attrs["interests"] = tags
			}
			in = append(in, platform.ProfileInput{
				Identifiers: []platform.Identifier{{Field: platform.FieldEmail, Value: fmt.Sprintf("user%07d@example.com", i)}},
				Attributes:  attrs,
			})
		}
		if _, err := store.Write(ctx, platform.Batch{Upserts: in}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := store.RefreshAudiences(ctx); err != nil { // the load's queue
		b.Fatal(err)
	}
	a, err := store.PutAudience(ctx, "all", `true`)
	if err != nil {
		b.Fatal(err)
	}
	if a.Members != int64(n) {
		b.Fatalf("audience has %d members, want %d", a.Members, n)
	}
	os.WriteFile(filepath.Join(dir, "done"), nil, 0o644)
	return path
}

func BenchmarkExportAudience(b *testing.B) {
	for _, format := range []string{"csv", "csv.gz"} {
		for _, n := range []int{100_000, 1_000_000} {
			name := fmt.Sprintf("format=%s/rows=%dk", format, n/1000)
			if n >= 1_000_000 {
				name = fmt.Sprintf("format=%s/rows=%dM", format, n/1_000_000)
			}
			b.Run(name, func(b *testing.B) {
				exporttest.Bench(b, benchAudience(b, n), nil, exportaudience.Kind, exportaudience.New,
					"catalog: main\nschema: exports\naudience: all\nformat: "+format+"\n", n)
			})
		}
	}
}
