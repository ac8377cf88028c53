package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/pgstore/pgtest"
)

// blockDriver returns a driver on a fresh schema holding n events of
// stream "s" (no statistics: nothing analyses the table).
func blockDriver(t *testing.T, n int) *driver {
	ctx := context.Background()
	d, err := openDriver(ctx, pgtest.FreshSchema(t, pgtest.URL(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	for done := 0; done < n; {
		in := make([]platform.EventInput, min(10_000, n-done))
		for i := range in {
			in[i].Data = json.RawMessage(fmt.Sprintf(`{"i":%d,"page":"/p"}`, done+i))
		}
		tx, err := d.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Append(ctx, "s", in, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		done += len(in)
	}
	return d
}

// Without statistics and with a limit above the planner's guess of the
// stream's size, a block read still walks the primary key in order
// rather than sorting the rest of the stream.
func TestBlockReadPlan(t *testing.T) {
	ctx := context.Background()
	d := blockDriver(t, 20_000)
	tx, id, err := d.beginBlockRead(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	rows, err := tx.Query(ctx, "EXPLAIN "+blockSQL, id, time.Time{}, 0, 16*1024)
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	p := strings.Join(plan, "\n")
	if strings.Contains(p, "Sort") || !strings.Contains(p, "Index Scan using events_pkey") {
		t.Fatalf("block read plan does not walk the primary key:\n%s", p)
	}
}

// A block read allocates nothing per event: reading 4000 events costs
// about what reading 40 does.
func TestBlockReadAllocs(t *testing.T) {
	ctx := context.Background()
	d := blockDriver(t, 4000)
	var b platform.EventBlock
	b.Grow(4000, 4000*64)
	read := func(limit int) float64 {
		return testing.AllocsPerRun(5, func() {
			b.Reset()
			if n, err := d.ReadStreamBlock(ctx, "s", platform.Cursor{}, limit, &b); err != nil || n != limit {
				t.Fatalf("read %d of %d events: %v", n, limit, err)
			}
		})
	}
	few, many := read(40), read(4000)
	if many-few > 100 {
		t.Fatalf("reading 4000 events allocates %.0f times, 40 events %.0f: allocations per event", many, few)
	}
	t.Logf("allocations per call: %.0f (40 events), %.0f (4000 events)", few, many)
}
