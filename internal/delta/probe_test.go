package delta_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeport/lakeport/internal/delta"
)

// TestLocalLogFromCheckpointHint: on a local directory the log after the
// hinted checkpoint is found by name (no listing of the whole directory);
// the answer is the one a listing gives, gaps are still errors, and a bad
// hint falls back to the listing.
func TestLocalLogFromCheckpointHint(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "t")
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	tbl, err := delta.Create(ctx, dir, delta.TableSpec{Schema: schema, Properties: map[string]string{"delta.checkpointInterval": "3"}})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	appendRow := func(id int64) {
		b := array.NewInt64Builder(memory.DefaultAllocator)
		b.Append(id)
		col := b.NewArray()
		rec := array.NewRecordBatch(schema, []arrow.Array{col}, 1)
		if _, err := tbl.Append(ctx, delta.RecordsOf(schema, rec), delta.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		col.Release()
	}
	for i := int64(1); i <= 10; i++ {
		appendRow(i)
	}
	check := func(wantVersion int64, wantFiles int) {
		t.Helper()
		fresh, err := delta.Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer fresh.Close()
		snap, err := fresh.Snapshot(ctx, delta.Latest())
		if err != nil {
			t.Fatal(err)
		}
		if snap.Version() != wantVersion || len(snap.Files()) != wantFiles {
			t.Errorf("snapshot: version %d with %d files, want %d with %d", snap.Version(), len(snap.Files()), wantVersion, wantFiles)
		}
	}
	hint, err := os.ReadFile(filepath.Join(dir, "_delta_log", "_last_checkpoint"))
	if err != nil || !strings.Contains(string(hint), `"version":9`) {
		t.Fatalf("_last_checkpoint = %s, %v (want the checkpoint at 9)", hint, err)
	}
	check(10, 10)
	// a stale hint (its checkpoint is gone) and a corrupt one fall back to the listing
	for _, bad := range []string{`{"version":99,"size":1}`, `{"version":`} {
		os.WriteFile(filepath.Join(dir, "_delta_log", "_last_checkpoint"), []byte(bad), 0o644)
		check(10, 10)
	}
	os.WriteFile(filepath.Join(dir, "_delta_log", "_last_checkpoint"), hint, 0o644)
	// a gap after the checkpoint is an error, as a listing would report it
	appendRow(11) // version 11; the checkpoint stays at 9
	if err := os.Remove(filepath.Join(dir, "_delta_log", "00000000000000000010.json")); err != nil {
		t.Fatal(err)
	}
	fresh, err := delta.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if _, err := fresh.Snapshot(ctx, delta.Latest()); err == nil || !strings.Contains(err.Error(), "10") {
		t.Errorf("a missing commit 10 before 11: %v, want an error naming it", err)
	}
}
