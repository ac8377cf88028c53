package pgstore

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/engine"
	"github.com/lakeport/lakeport/internal/platform/pgstore/pgtest"
)

func TestZZExplainTmp(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ZZN"))
	if n == 0 {
		t.Skip()
	}
	ctx := context.Background()
	url := pgtest.FreshSchema(t, pgtest.URL(t))
	d, err := openDriver(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	s := engine.New(d, platform.Options{DeferAudienceRefresh: true})
	defer s.Close()
	s.DefineField(ctx, platform.Field{Name: "age", Type: platform.TypeNumber})
	t0 := time.Now()
	for lo := 0; lo < n; lo += 10000 {
		var in []platform.ProfileInput
		for i := lo; i < lo+10000; i++ {
			in = append(in, platform.ProfileInput{Identifiers: []platform.Identifier{{Field: "email", Value: fmt.Sprintf("u%d@x.io", i)}}, Attributes: map[string]any{"age": i % 90}})
		}
		if _, err := s.Write(ctx, platform.Batch{Upserts: in}); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println("load", time.Since(t0))
	t0 = time.Now()
	for _, a := range []string{"a", "b", "c"} {
		t0 = time.Now()
		if _, err := s.PutAudience(ctx, a, "age > 40.0"); err != nil {
			t.Fatal(err)
		}
		fmt.Println("put audience", time.Since(t0))
	}
	ids := make([]int64, 1000)
	for i := range ids {
		ids[i] = int64(n/2 + i)
	}
	for _, q := range []string{
		`SELECT id, attrs::text, created_at, updated_at FROM profiles WHERE id > $1 ORDER BY id LIMIT 1000`,
		`SELECT i.profile_id, i.field, i.value FROM unnest($1::bigint[]) AS u(id) JOIN identifiers i ON i.profile_id = u.id ORDER BY i.profile_id, i.field COLLATE "C", i.value COLLATE "C"`,
		`SELECT m.profile_id, m.audience_id FROM unnest($1::bigint[]) AS u(id) JOIN memberships m ON m.profile_id = u.id`,
		`SELECT id, attrs::text, created_at, updated_at FROM profiles WHERE id = ANY($1)`,
		`SELECT profile_id FROM audience_queue ORDER BY profile_id LIMIT 1000 FOR UPDATE SKIP LOCKED`,
	} {
		for rep := 0; rep < 7; rep++ { // let generic plans kick in
			conn, _ := d.pool.Acquire(ctx)
			var args []any
			switch {
			case strings.Contains(q, "ANY") || strings.Contains(q, "unnest"):
				args = []any{ids}
			case strings.Contains(q, "$1"):
				args = []any{int64(n / 2)}
			}
			rows, err := conn.Query(ctx, "EXPLAIN ANALYZE "+q, args...)
			if err != nil {
				t.Log(q, err)
				conn.Release()
				break
			}
			var lines []string
			for rows.Next() {
				var l string
				rows.Scan(&l)
				lines = append(lines, l)
			}
			rows.Close()
			conn.Release()
			if rep == 6 {
				fmt.Println("----", q)
				for _, l := range lines {
					if len(l) > 160 {
						l = l[:160]
					}
					fmt.Println(l)
				}
			}
		}
	}
}
