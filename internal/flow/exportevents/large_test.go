package exportevents_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/lakeport/lakeport/internal/delta"
	"github.com/lakeport/lakeport/internal/flow/export/exporttest"
	"github.com/lakeport/lakeport/internal/flow/exportevents"
	"github.com/lakeport/lakeport/internal/platform"
)

// Large events are read in short chunks (a byte budget per block) and
// staged in row groups cut by size, not by row count alone: 120 events of
// ~600 KB (hex, so compression does not shrink them) land exactly once and
// intact, in row groups of about 32 MiB rather than one of 72 MB.
func TestLargeEvents(t *testing.T) {
	f := exporttest.Open(t, t.TempDir())
	rng := rand.NewChaCha8([32]byte{3, 4})
	const n, size = 120, 300 << 10 // each event ~600 KB of hex
	want := map[int]string{}
	for b := 0; b < n; b += 20 {
		var in []platform.EventInput
		for i := b; i < b+20; i++ {
			raw := make([]byte, size)
			rng.Read(raw)
			data := fmt.Sprintf(`{"n":%d,"blob":"%s"}`, i, hex.EncodeToString(raw))
			sum := sha256.Sum256([]byte(data))
			want[i] = hex.EncodeToString(sum[:])
			in = append(in, platform.EventInput{EventTS: t0, Data: json.RawMessage(data)})
		}
		if _, err := f.Platform.Write(ctx, platform.Batch{Appends: []platform.Append{{Stream: "big", Events: in}}}); err != nil {
			t.Fatal(err)
		}
	}
	spec := exporttest.Spec(t, "big", exportevents.Kind, "catalog: main\nschema: exports\n")
	flow, err := exportevents.New(spec, f.Env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Run(ctx, spec, flow); err != nil {
		t.Fatal(err)
	}
	_, rows := f.Table(t, table("lakeport_events_big"))
	if len(rows) != n {
		t.Fatalf("%d rows, want %d", len(rows), n)
	}
	seen := map[int]bool{}
	for _, r := range rows {
		data := r[len(r)-(size*2+len(`{"n":000,"blob":""}`)):]
		for data[0] != '{' {
			data = data[1:]
		}
		var d struct{ N int }
		if err := json.Unmarshal([]byte(data), &d); err != nil {
			t.Fatalf("row data: %v", err)
		}
		sum := sha256.Sum256([]byte(data))
		if seen[d.N] || want[d.N] != hex.EncodeToString(sum[:]) {
			t.Fatalf("event %d: seen before %v, or its data changed", d.N, seen[d.N])
		}
		seen[d.N] = true
	}
	dir, err := f.Lake.TablePath(table("lakeport_events_big"))
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := delta.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	snap, err := tbl.Snapshot(ctx, delta.Latest())
	if err != nil {
		t.Fatal(err)
	}
	groups := 0
	for _, a := range snap.Files() {
		r, err := file.OpenParquetFile(filepath.Join(dir, a.Path), false)
		if err != nil {
			t.Fatal(err)
		}
		for g := range r.NumRowGroups() {
			if sz := r.MetaData().RowGroup(g).TotalByteSize(); sz > 48<<20 {
				t.Errorf("%s: row group %d holds %d MiB", a.Path, g, sz>>20)
			}
		}
		groups += r.NumRowGroups()
		r.Close()
	}
	if groups < 3 {
		t.Errorf("%d row groups for %d MB of events, want them cut at about 32 MiB", groups, n*size*2>>20)
	}
}
