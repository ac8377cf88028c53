package platformtest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/platform"
)

// BenchUpsertProfiles upserts b.N new profiles (an email and four
// attributes each) in writes of 10000, with one audience defined, and
// reports profiles/s and peak RSS. open must return an empty store.
func BenchUpsertProfiles(b *testing.B, open Open) {
	s := openBench(b, open, platform.Options{})
	if _, err := s.PutAudience(ctx, "vip", `vip`); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	upsertProfiles(b, s, 0, b.N)
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "profiles/s")
	ReportPeakRSS(b)
}

// BenchAudienceRefresh builds a store of $LAKEPORT_BENCH_PROFILES profiles
// (default 1,000,000) with three audiences, then, per round, changes
// $LAKEPORT_BENCH_CHANGES random profiles (default 10,000) and times the
// audience refresh that follows. It reports the refresh time per round and
// how many profiles the refresh evaluated: the changed ones, whatever the
// store's size. Run it with -benchtime 1x (b.N is the number of rounds).
func BenchAudienceRefresh(b *testing.B, open Open) {
	total, changes := envInt("LAKEPORT_BENCH_PROFILES", 1_000_000), envInt("LAKEPORT_BENCH_CHANGES", 10_000)
	rounds := max(b.N, envInt("LAKEPORT_BENCH_ROUNDS", 3))
	s := openBench(b, open, platform.Options{DeferAudienceRefresh: true})
	t0 := time.Now()
	upsertProfiles(b, s, 0, total)
	load := time.Since(t0)
	t0 = time.Now()
	for slug, def := range map[string]string{"vip": `vip`, "dutch-adults": `country == "NL" && age >= 18.0`, "young": `age < 25.0`} {
		if _, err := s.PutAudience(ctx, slug, def); err != nil {
			b.Fatal(err)
		}
	}
	backfill := time.Since(t0)
	if _, err := s.RefreshAudiences(ctx); err != nil { // the load's queue
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var refresh, write time.Duration
	var st platform.RefreshStats
	b.ResetTimer()
	for r := 0; r < rounds; r++ {
		var in []platform.ProfileInput
		for _, i := range rng.Perm(total)[:changes] {
			in = append(in, platform.ProfileInput{
				Identifiers: []platform.Identifier{{Field: platform.FieldEmail, Value: benchEmail(i)}},
				Attributes:  map[string]any{"age": float64((i + 7*(r+1)) % 90), "vip": rng.IntN(20) == 0},
			})
		}
		t0 = time.Now()
		if _, err := s.Write(ctx, platform.Batch{Upserts: in}); err != nil {
			b.Fatal(err)
		}
		write += time.Since(t0)
		t0 = time.Now()
		got, err := s.RefreshAudiences(ctx)
		if err != nil {
			b.Fatal(err)
		}
		refresh += time.Since(t0)
		st.Add(got)
	}
	b.StopTimer()
	n := float64(rounds)
	b.ReportMetric(float64(total), "profiles")
	b.ReportMetric(load.Seconds(), "load-s")
	b.ReportMetric(backfill.Seconds(), "backfill-3-audiences-s")
	b.ReportMetric(write.Seconds()*1000/n, "write-changes-ms")
	b.ReportMetric(refresh.Seconds()*1000/n, "refresh-ms")
	b.ReportMetric(float64(st.ProfilesEvaluated)/n, "profiles-evaluated")
	b.ReportMetric(float64(st.Entered+st.Exited)/n, "enters+exits")
	if st.ProfilesEvaluated != rounds*changes {
		b.Errorf("refresh evaluated %d profiles in %d rounds, want exactly the %d changed per round", st.ProfilesEvaluated, rounds, changes)
	}
	ReportPeakRSS(b)
}

func openBench(b *testing.B, open Open, opts platform.Options) platform.Store {
	b.Helper()
	s := open(b, opts)
	b.Cleanup(func() { s.Close() })
	for _, f := range benchFields {
		if err := s.DefineField(ctx, f); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

var benchFields = []platform.Field{
	{Name: "age", Type: platform.TypeNumber},
	{Name: "country", Type: platform.TypeString},
	{Name: "vip", Type: platform.TypeBoolean},
	{Name: "signed_up", Type: platform.TypeDatetime},
}

var countries = []string{"NL", "DE", "FR", "BE", "GB", "US", "ES", "IT", "PL", "SE"}

// upsertProfiles creates profiles first..first+n-1 in writes of 10000.
func upsertProfiles(b *testing.B, s platform.Store, first, n int) {
	const batch = 10_000
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for lo := first; lo < first+n; lo += batch {
		hi := min(lo+batch, first+n)
		in := make([]platform.ProfileInput, 0, hi-lo)
		for i := lo; i < hi; i++ {
			in = append(in, platform.ProfileInput{
				Identifiers: []platform.Identifier{{Field: platform.FieldEmail, Value: benchEmail(i)}},
				Attributes: map[string]any{"age": float64(i % 90), "country": countries[i%len(countries)],
					"vip": i%50 == 0, "signed_up": t0.Add(time.Duration(i) * time.Minute)},
			})
		}
		if _, err := s.Write(ctx, platform.Batch{Upserts: in}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchEmail(i int) string { return fmt.Sprintf("user%07d@example.com", i) }

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchReadStream appends $LAKEPORT_BENCH_EVENTS events (default 1,000,000,
// ~110-byte JSON each) to one stream, then reads the whole stream per
// iteration with ReadStream (pages of MaxPage) and with ReadStreamBlock
// (blocks of 16k events, as export.events does), reporting events/s.
func BenchReadStream(b *testing.B, open Open) {
	total := envInt("LAKEPORT_BENCH_EVENTS", 1_000_000)
	s := openBench(b, open, platform.Options{})
	for done := 0; done < total; {
		n := min(10_000, total-done)
		in := events(n, func(i int) json.RawMessage {
			return json.RawMessage(fmt.Sprintf(`{"page":"/blog/why-lakehouses","user":"u%07d","ref":"https://example.com/x","n":%d}`, (done+i)%99991, done+i))
		})
		if _, err := s.Write(ctx, appendBatch("bench", in...)); err != nil {
			b.Fatal(err)
		}
		done += n
	}
	report := func(b *testing.B, start time.Time) {
		b.ReportMetric(float64(total)*float64(b.N)/time.Since(start).Seconds(), "events/s")
	}
	b.Run("api=ReadStream", func(b *testing.B) {
		start := time.Now()
		for range b.N {
			if got := len(readAll(b, s, "bench", 0)); got != total {
				b.Fatalf("read %d events, want %d", got, total)
			}
		}
		report(b, start)
	})
	b.Run("api=ReadStreamBlock", func(b *testing.B) {
		start := time.Now()
		for range b.N {
			var cur platform.Cursor
			got := 0
			for {
				var blk platform.EventBlock
				blk.Grow(16*1024, 16*1024*128)
				n, err := s.ReadStreamBlock(ctx, "bench", cur, 16*1024, &blk)
				if err != nil {
					b.Fatal(err)
				}
				got += n
				if n < 16*1024 {
					break
				}
				cur = blk.Cursor(n - 1)
			}
			if got != total {
				b.Fatalf("read %d events, want %d", got, total)
			}
		}
		report(b, start)
	})
}
