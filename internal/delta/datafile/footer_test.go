package datafile

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/lakeport/lakeport/internal/blob"
)

// footerOf reads the footer of a file of the bucket.
func footerOf(t testing.TB, b *blob.Bucket, key string) *metadata.FileMetaData {
	t.Helper()
	f, err := b.OpenFile(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rdr, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	defer rdr.Close()
	return rdr.MetaData()
}

// parseStats parses a stats JSON with numbers kept as text ("-0" read as "0").
func parseStats(t testing.TB, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("stats %s: %v", s, err)
	}
	var norm func(v any) any
	norm = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				v[k] = norm(x)
			}
		case json.Number:
			if v == "-0" {
				return json.Number("0")
			}
		}
		return v
	}
	norm(m)
	return m
}

// del removes a value at a path of nested objects ("maxValues", "f64"); it
// reports whether it was there.
func del(m map[string]any, path ...string) bool {
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			return false
		}
		m = next
	}
	_, ok := m[path[len(path)-1]]
	delete(m, path[len(path)-1])
	return ok
}

// compareFooterStats checks FooterStats of a file against the Writer's own
// stats for it. The intended differences are asserted and removed first:
// footer stats have no max for float columns and no null count for lists
// and maps.
func compareFooterStats(t *testing.T, b *blob.Bucket, sc *arrow.Schema, f File, statsColumns int) {
	t.Helper()
	got, err := FooterStats(footerOf(t, b, f.Key), sc.Fields(), statsColumns)
	if err != nil {
		t.Fatal(err)
	}
	g, w := parseStats(t, got), parseStats(t, f.Stats)
	for _, fl := range sc.Fields() {
		switch fl.Type.(type) {
		case *arrow.Float32Type, *arrow.Float64Type:
			if del(g, "maxValues", fl.Name) {
				t.Errorf("%s: footer stats have a max for float column %s: %s", f.Key, fl.Name, got)
			}
			del(w, "maxValues", fl.Name)
		case *arrow.ListType, *arrow.MapType:
			if del(g, "nullCount", fl.Name) {
				t.Errorf("%s: footer stats have a null count for %s: %s", f.Key, fl.Name, got)
			}
			del(w, "nullCount", fl.Name)
		}
	}
	gj, _ := json.Marshal(g)
	wj, _ := json.Marshal(w)
	if string(gj) != string(wj) {
		t.Errorf("%s: footer stats differ from the writer's (intended differences removed)\nfooter %s\nwriter %s", f.Key, got, f.Stats)
	}
}

// TestFooterStats: statistics derived from the footers of files the Writer
// wrote (every Delta type, NaN and infinities, non-ASCII and long strings,
// nulls, structs, several row groups) equal the Writer's own, but for the
// intended differences.
func TestFooterStats(t *testing.T) {
	sc := allTypesSchema()
	for _, n := range []int{0, -1, 5, 17, 1} {
		t.Run(fmt.Sprintf("StatsColumns=%d", n), func(t *testing.T) {
			b, _ := newBucket(t)
			var recs []arrow.RecordBatch
			for i := range 5 {
				recs = append(recs, buildRecord(sc, genRows(uint64(11+i), int64(i*700), 700, 0.3)))
			}
			files := writeAll(t, b, sc, Options{StatsColumns: n, RowGroupSize: 256, TargetFileSize: 64 << 10}, recs...)
			if len(files) < 2 {
				t.Fatalf("%d files, want several", len(files))
			}
			for _, f := range files {
				if md := footerOf(t, b, f.Key); md.NumRowGroups() < 2 {
					t.Errorf("%s: %d row groups, want several", f.Key, md.NumRowGroups())
				}
				compareFooterStats(t, b, sc, f, n)
			}
		})
	}
	t.Run("all null", func(t *testing.T) {
		b, _ := newBucket(t)
		files := writeAll(t, b, sc, Options{}, buildRecord(sc, genRows(5, 0, 50, 1)))
		compareFooterStats(t, b, sc, files[0], 0)
	})
	t.Run("null row groups", func(t *testing.T) {
		// a column whose values are all null in some row groups keeps the
		// min/max of the others
		b, _ := newBucket(t)
		s := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, {Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
		rb := array.NewRecordBuilder(memory.DefaultAllocator, s)
		defer rb.Release()
		for i := range 40 {
			if i/10%2 == 0 {
				rb.Field(0).(*array.Int64Builder).AppendNull()
				rb.Field(1).(*array.StringBuilder).AppendNull()
			} else {
				rb.Field(0).(*array.Int64Builder).Append(int64(i))
				rb.Field(1).(*array.StringBuilder).Append(fmt.Sprint("v", i))
			}
		}
		files := writeAll(t, b, s, Options{RowGroupSize: 10}, rb.NewRecordBatch())
		if md := footerOf(t, b, files[0].Key); md.NumRowGroups() != 4 {
			t.Fatalf("%d row groups", md.NumRowGroups())
		}
		compareFooterStats(t, b, s, files[0], 0)
		got, _ := FooterStats(footerOf(t, b, files[0].Key), s.Fields(), 0)
		if want := `{"numRecords":40,"minValues":{"x":10,"s":"v10"},"maxValues":{"x":39,"s":"v39"},"nullCount":{"x":20,"s":20}}`; got != want {
			t.Errorf("stats %s, want %s", got, want)
		}
	})
	t.Run("strings", func(t *testing.T) {
		// long and non-ASCII strings truncate the same way; invalid UTF-8 is left out
		b, _ := newBucket(t)
		s := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "bad", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
		rb := array.NewRecordBuilder(memory.DefaultAllocator, s)
		defer rb.Release()
		rb.Field(0).(*array.StringBuilder).AppendValues([]string{"Zürich", strings.Repeat("日本", 30), strings.Repeat("\U0010FFFF", 3) + "a", strings.Repeat("é", 40)}, nil)
		rb.Field(1).(*array.StringBuilder).AppendValues([]string{"abc", strings.Repeat("z", 40) + "\xff", "\xfe", "q"}, nil)
		files := writeAll(t, b, s, Options{RowGroupSize: 2}, rb.NewRecordBatch())
		compareFooterStats(t, b, s, files[0], 0)
	})
	t.Run("NaN", func(t *testing.T) {
		// the footer cannot tell a NaN (Delta's largest value) is there: no
		// max; the min is the smallest number, or none when all are NaN
		b, _ := newBucket(t)
		s := arrow.NewSchema([]arrow.Field{{Name: "d", Type: arrow.PrimitiveTypes.Float64, Nullable: true}, {Name: "n", Type: arrow.PrimitiveTypes.Float64, Nullable: true}, {Name: "f", Type: arrow.PrimitiveTypes.Float32}}, nil)
		rb := array.NewRecordBuilder(memory.DefaultAllocator, s)
		defer rb.Release()
		rb.Field(0).(*array.Float64Builder).AppendValues([]float64{math.Inf(-1), 2.5, math.NaN()}, nil)
		rb.Field(1).(*array.Float64Builder).AppendValues([]float64{math.NaN(), math.NaN(), 0}, []bool{true, true, false})
		rb.Field(2).(*array.Float32Builder).AppendValues([]float32{3.4, -0.1, 1e-7}, nil)
		files := writeAll(t, b, s, Options{}, rb.NewRecordBatch())
		got, err := FooterStats(footerOf(t, b, files[0].Key), s.Fields(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"numRecords":3,"minValues":{"d":"-Infinity","f":-0.1},"maxValues":{},"nullCount":{"d":0,"n":1,"f":0}}`; got != want {
			t.Errorf("stats %s, want %s (writer: %s)", got, want, files[0].Stats)
		}
	})
	t.Run("oversized values", func(t *testing.T) {
		// a writer drops min/max larger than its limit (arrow-go: 4 KiB): no bounds
		b, _ := newBucket(t)
		s := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
		rb := array.NewRecordBuilder(memory.DefaultAllocator, s)
		defer rb.Release()
		rb.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
		rb.Field(1).(*array.StringBuilder).AppendValues([]string{"a", strings.Repeat("b", 5000)}, nil)
		rec := rb.NewRecordBatch()
		defer rec.Release()
		files := writeAll(t, b, s, Options{}, rec)
		got, _ := FooterStats(footerOf(t, b, files[0].Key), s.Fields(), 0)
		if want := `{"numRecords":2,"minValues":{"id":1},"maxValues":{"id":2},"nullCount":{"id":0,"s":0}}`; got != want {
			t.Errorf("stats %s, want %s (writer: %s)", got, want, files[0].Stats)
		}
		// a file written without statistics has a row count only
		key := "nostats.parquet"
		w, err := b.NewWriter(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		pw, err := pqarrow.NewFileWriter(s, w, parquet.NewWriterProperties(parquet.WithStats(false), parquet.WithCompression(compress.Codecs.Snappy)), pqarrow.DefaultWriterProps())
		if err != nil {
			t.Fatal(err)
		}
		if err := pw.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := pw.Close(); err != nil {
			t.Fatal(err)
		}
		got, _ = FooterStats(footerOf(t, b, key), s.Fields(), 0)
		if want := `{"numRecords":2,"minValues":{},"maxValues":{},"nullCount":{}}`; got != want {
			t.Errorf("stats without footer statistics %s, want %s", got, want)
		}
	})
}
