package server_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/platformtest"
	"github.com/lakeport/lakeport/internal/server"
)

// The collect benchmarks post b.N events through the HTTP endpoint (a real
// listener on 127.0.0.1) in NDJSON batches of $LAKEPORT_BENCH_BATCH events
// (default 10000) from $LAKEPORT_BENCH_CLIENTS concurrent clients (default
// 4), and report events/s and the process's peak RSS. Run one per process:
//
//	go test -run '^$' -bench '^BenchmarkCollectSQLite$' -benchtime 1000000x ./internal/server/
func BenchmarkCollectSQLite(b *testing.B)   { benchCollect(b, sqliteStore(b)) }
func BenchmarkCollectPostgres(b *testing.B) { benchCollect(b, pgStore(b)) }

func benchCollect(b *testing.B, s platform.Store) {
	batch, clients := envInt("LAKEPORT_BENCH_BATCH", 10000), envInt("LAKEPORT_BENCH_CLIENTS", 4)
	srv := httptest.NewServer(server.New(s, server.Options{}))
	defer srv.Close()
	// A few distinct bodies, reused: the client side costs little CPU.
	bodies := make([][]byte, 4)
	for i := range bodies {
		bodies[i] = ndjson(i*batch, batch)
	}
	tail := ndjson(0, b.N%batch)
	jobs := make(chan []byte)
	go func() {
		for i := 0; i < b.N/batch; i++ {
			jobs <- bodies[i%len(bodies)]
		}
		if len(tail) > 0 {
			jobs <- tail
		}
		close(jobs)
	}()
	b.SetBytes(int64(len(bodies[0]) / batch))
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range jobs {
				resp, err := http.Post(srv.URL+"/api/v1/collect/bench", server.ContentTypeNDJSON, bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	platformtest.ReportPeakRSS(b)
}

// ndjson renders n events of about 180 bytes, numbered from first.
func ndjson(first, n int) []byte {
	var buf bytes.Buffer
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := first; i < first+n; i++ {
		fmt.Fprintf(&buf, `{"event":"page_view","user_id":"u-%07d","session":"s-%05d","url":"https://shop.example.com/p/%d?ref=home","event_ts":"%s","value":%d.5}`+"\n",
			i%1000003, i%40000, i%9973, t0.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano), i%1000)
	}
	return buf.Bytes()
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
