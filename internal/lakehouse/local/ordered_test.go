package local

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakeport/lakeport/internal/delta"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/lakehouse/lakehousetest"
)

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "ts", Type: lakehousetest.TS, Nullable: true},
}, nil)

var base = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// fixture writes files of rows (id, ts offset in seconds) and opens the driver.
func fixture(t *testing.T, props map[string]string, files [][]int64, opts Options) (*Lakehouse, lakehouse.TableName, int64) {
	t.Helper()
	ctx := context.Background()
	root := t.TempDir()
	n := lakehouse.TableName{Catalog: "c", Schema: "s", Table: "t"}
	dir := filepath.Join(root, "c", "s", "t")
	os.MkdirAll(filepath.Dir(dir), 0o755)
	tbl, err := delta.Create(ctx, dir, delta.TableSpec{Schema: schema, Properties: props})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	id := 0
	var v int64
	for _, f := range files {
		var rows [][]any
		for _, s := range f {
			rows = append(rows, []any{id, base.Add(time.Duration(s) * time.Second)})
			id++
		}
		rec := lakehousetest.Batch(schema, rows...)
		res, err := tbl.Append(ctx, delta.RecordsOf(schema, rec), delta.WriteOptions{})
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
		v = res.Version
	}
	lh, err := Open(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lh.Close() })
	return lh, n, v
}

// scanAll returns the (ts, id) pairs of an ordered scan and its statistics.
func scanAll(t *testing.T, lh *Lakehouse, n lakehouse.TableName, v int64) ([][2]int64, *orderedRows) {
	t.Helper()
	ctx := context.Background()
	rs, err := lh.Scan(ctx, n, lakehouse.ScanRequest{Version: v, Order: &lakehouse.Order{Column: "ts", TieBreaker: "id"}, BatchSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out [][2]int64
	for {
		rec, err := rs.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out, rs.(*orderedRows)
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			k, _ := lakehouse.ValueAt(rec.Column(1), i)
			id, _ := lakehouse.ValueAt(rec.Column(0), i)
			out = append(out, [2]int64{k.Int, id.Int})
		}
		rec.Release()
	}
}

func expectSorted(t *testing.T, got [][2]int64, files [][]int64) {
	t.Helper()
	var want [][2]int64
	id := int64(0)
	for _, f := range files {
		for _, s := range f {
			want = append(want, [2]int64{base.Add(time.Duration(s) * time.Second).UnixMicro(), id})
			id++
		}
	}
	slices.SortFunc(want, func(a, b [2]int64) int {
		if a[0] != b[0] {
			return cmpInt(a[0], b[0])
		}
		return cmpInt(a[1], b[1])
	})
	if !slices.Equal(got, want) {
		t.Fatalf("ordered scan: got %d rows, want %d (or out of order)", len(got), len(want))
	}
}

// Time-ordered files (the usual event table): one window per target's worth
// of files, no split, each file read about once.
func TestWindowsFollowFiles(t *testing.T) {
	var files [][]int64
	for f := 0; f < 10; f++ {
		var rows []int64
		for i := 0; i < 100; i++ {
			rows = append(rows, int64(f*1000+i*7%100))
		}
		files = append(files, rows)
	}
	lh, n, v := fixture(t, nil, files, Options{WindowRows: 200})
	got, st := scanAll(t, lh, n, v)
	expectSorted(t, got, files)
	if st.Splits != 0 || st.Windows < 5 || st.Windows > 6 || st.MaxHeld > 200 {
		t.Errorf("windows %d, splits %d, max held %d; want 5-6 windows of <= 200 rows, no split", st.Windows, st.Splits, st.MaxHeld)
	}
}

// Without statistics the plan knows nothing: windows are found by splitting
// at keys of the rows read, and memory stays bounded.
func TestWindowsWithoutStatistics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	var files [][]int64
	for f := 0; f < 5; f++ {
		var rows []int64
		for i := 0; i < 200; i++ {
			rows = append(rows, rng.Int64N(100000))
		}
		files = append(files, rows)
	}
	lh, n, v := fixture(t, map[string]string{"delta.dataSkippingNumIndexedCols": "1"}, files, Options{WindowRows: 50})
	got, st := scanAll(t, lh, n, v)
	expectSorted(t, got, files)
	if st.Splits == 0 || st.MaxHeld > 2*50+16 {
		t.Errorf("windows %d, splits %d, max held %d; want splits and <= %d rows held", st.Windows, st.Splits, st.MaxHeld, 2*50+16)
	}
}

// Many rows sharing one key cannot be split: that window holds them all.
func TestWindowOfOneKey(t *testing.T) {
	var files [][]int64
	for f := 0; f < 3; f++ {
		rows := make([]int64, 100)
		for i := range rows {
			rows[i] = 42
		}
		rows[0] = int64(f)
		files = append(files, rows)
	}
	lh, n, v := fixture(t, nil, files, Options{WindowRows: 10})
	got, _ := scanAll(t, lh, n, v)
	expectSorted(t, got, files)
}
