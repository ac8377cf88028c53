package datafile

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/lakeport/lakeport/internal/blob"
	"github.com/lakeport/lakeport/internal/delta/deltatest"
)

func newBucket(t testing.TB) (*blob.Bucket, string) {
	t.Helper()
	dir := t.TempDir()
	b, err := blob.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, dir
}

// readParquet reads a whole Parquet file of the bucket with pqarrow.
func readParquet(t testing.TB, b *blob.Bucket, key string) (*arrow.Schema, []arrow.RecordBatch, *file.Reader) {
	t.Helper()
	ctx := context.Background()
	f, err := b.OpenFile(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	rdr, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 1000}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	var recs []arrow.RecordBatch
	for rr.Next() {
		r := rr.RecordBatch()
		r.Retain()
		recs = append(recs, r)
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	return rr.Schema(), recs, rdr
}

// canonical renders recs (of schema s) as sorted row strings.
func canonical(t testing.TB, s *arrow.Schema, recs []arrow.RecordBatch) []string {
	t.Helper()
	rows, err := deltatest.CanonicalRows(s, recs)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// project keeps the named columns of recs.
func project(t testing.TB, recs []arrow.RecordBatch, names []string) (*arrow.Schema, []arrow.RecordBatch) {
	t.Helper()
	var out []arrow.RecordBatch
	var sc *arrow.Schema
	for _, r := range recs {
		var fields []arrow.Field
		var cols []arrow.Array
		for _, n := range names {
			idx := r.Schema().FieldIndices(n)
			if len(idx) != 1 {
				t.Fatalf("no column %q", n)
			}
			fields = append(fields, r.Schema().Field(idx[0]))
			cols = append(cols, r.Column(idx[0]))
		}
		sc = arrow.NewSchema(fields, nil)
		out = append(out, array.NewRecordBatch(sc, cols, r.NumRows()))
	}
	return sc, out
}

// writeAll writes recs with a new Writer and returns the files.
func writeAll(t testing.TB, b *blob.Bucket, sc *arrow.Schema, opts Options, recs ...arrow.RecordBatch) []File {
	t.Helper()
	ctx := context.Background()
	w, err := NewWriter(b, sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Write(ctx, r); err != nil {
			w.Abort(ctx)
			t.Fatal(err)
		}
	}
	files, err := w.Close(ctx)
	if err != nil {
		w.Abort(ctx)
		t.Fatal(err)
	}
	return files
}

// checkFiles checks the invariants every File holds.
func checkFiles(t testing.TB, dir string, files []File) {
	t.Helper()
	for _, f := range files {
		key, err := url.PathUnescape(f.Path)
		if err != nil || key != f.Key {
			t.Errorf("PathUnescape(%q) = %q, %v; want key %q", f.Path, key, err, f.Key)
		}
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f.Key)))
		if err != nil {
			t.Errorf("file %q: %v", f.Key, err)
			continue
		}
		if fi.Size() != f.Size {
			t.Errorf("%s: Size %d, on disk %d", f.Key, f.Size, fi.Size())
		}
		if f.NumRecords <= 0 {
			t.Errorf("%s: %d records", f.Key, f.NumRecords)
		}
		if d := time.Since(time.UnixMilli(f.ModificationTime)); d < 0 || d > time.Hour {
			t.Errorf("%s: modification time %d", f.Key, f.ModificationTime)
		}
		if f.Stats != "" {
			var st struct {
				NumRecords int64 `json:"numRecords"`
			}
			if err := json.Unmarshal([]byte(f.Stats), &st); err != nil || st.NumRecords != f.NumRecords {
				t.Errorf("%s: stats %s: numRecords %d, %v; want %d", f.Key, f.Stats, st.NumRecords, err, f.NumRecords)
			}
		}
	}
}

// --- a table with every type, generated from Go values -------------------

type structVal struct {
	a *int32
	b *string
}

// row holds one generated row; nil pointers are nulls.
type row struct {
	id   int64
	i8   *int8
	i16  *int16
	i32  *int32
	i64  *int64
	f32  *float32
	f64  *float64
	b    *bool
	s    *string
	bin  []byte // nil = null
	d    *int32
	ts   *int64 // µs, with zone
	ntz  *int64 // µs, without
	dec1 *int64 // decimal(9,2) unscaled
	dec2 *int64 // decimal(18,4)
	dec3 *big.Int
	st   *structVal
	lst  []*int32 // nil = null
	m    [][2]any // nil = null; [string, *int32]
}

var dec3Type = &arrow.Decimal128Type{Precision: 38, Scale: 10}

func fieldID(id int) arrow.Metadata {
	return arrow.NewMetadata([]string{"PARQUET:field_id"}, []string{fmt.Sprint(id)})
}

// allTypesSchema has every Delta type; fields carry Parquet field ids.
func allTypesSchema() *arrow.Schema {
	stType := arrow.StructOf(
		arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int32, Nullable: true, Metadata: fieldID(101)},
		arrow.Field{Name: "b", Type: arrow.BinaryTypes.String, Nullable: true, Metadata: fieldID(102)},
	)
	m := arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int32)
	return arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Metadata: fieldID(1)},
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8, Nullable: true, Metadata: fieldID(2)},
		{Name: "i16", Type: arrow.PrimitiveTypes.Int16, Nullable: true, Metadata: fieldID(3)},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true, Metadata: fieldID(4)},
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true, Metadata: fieldID(5)},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true, Metadata: fieldID(6)},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true, Metadata: fieldID(7)},
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true, Metadata: fieldID(8)},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true, Metadata: fieldID(9)},
		{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true, Metadata: fieldID(10)},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true, Metadata: fieldID(11)},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true, Metadata: fieldID(12)},
		{Name: "ntz", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true, Metadata: fieldID(13)},
		{Name: "dec1", Type: &arrow.Decimal128Type{Precision: 9, Scale: 2}, Nullable: true, Metadata: fieldID(14)},
		{Name: "dec2", Type: &arrow.Decimal128Type{Precision: 18, Scale: 4}, Nullable: true, Metadata: fieldID(15)},
		{Name: "dec3", Type: dec3Type, Nullable: true, Metadata: fieldID(16)},
		{Name: "st", Type: stType, Nullable: true, Metadata: fieldID(17)},
		{Name: "lst", Type: arrow.ListOfField(arrow.Field{Name: "element", Type: arrow.PrimitiveTypes.Int32, Nullable: true, Metadata: fieldID(181)}), Nullable: true, Metadata: fieldID(18)},
		{Name: "m", Type: m, Nullable: true, Metadata: fieldID(19)},
	}, nil)
}

var sampleStrings = []string{
	"", "a", "b", "zebra", "Zürich", "日本語のテキスト", "🎵🎶", "tab\there", "quote\"back\\slash", "line\nbreak",
	strings.Repeat("x", 31), strings.Repeat("x", 32), strings.Repeat("x", 33), strings.Repeat("y", 40) + "tail",
	strings.Repeat("é", 40), strings.Repeat("z", 31) + "\U0010FFFF\U0010FFFFabc", strings.Repeat("~", 50),
	"\x01control", "<html>&amp;</html>",
}

func ptr[T any](v T) *T { return &v }

// genRows makes n random rows from seed; nullRate in [0,1].
func genRows(seed uint64, start int64, n int, nullRate float64) []row {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	null := func() bool { return r.Float64() < nullRate }
	rows := make([]row, n)
	for i := range rows {
		x := &rows[i]
		x.id = start + int64(i)
		if !null() {
			x.i8 = ptr(int8(r.IntN(256) - 128))
		}
		if !null() {
			x.i16 = ptr(int16(r.IntN(65536) - 32768))
		}
		if !null() {
			x.i32 = ptr(r.Int32() - r.Int32())
		}
		if !null() {
			x.i64 = ptr(int64(r.Uint64()))
		}
		if !null() {
			x.f32 = ptr(float32(r.NormFloat64() * 1000))
		}
		if !null() {
			switch r.IntN(40) {
			case 0:
				x.f64 = ptr(math.NaN())
			case 1:
				x.f64 = ptr(math.Inf(1))
			case 2:
				x.f64 = ptr(math.Inf(-1))
			default:
				x.f64 = ptr(r.NormFloat64() * 1e6)
			}
		}
		if !null() {
			x.b = ptr(r.IntN(2) == 1)
		}
		if !null() {
			x.s = ptr(sampleStrings[r.IntN(len(sampleStrings))])
		}
		if !null() {
			x.bin = []byte(sampleStrings[r.IntN(len(sampleStrings))])
			if x.bin == nil {
				x.bin = []byte{}
			}
		}
		if !null() {
			x.d = ptr(int32(r.IntN(40000) - 10000)) // 1942 .. 2079
		}
		if !null() {
			x.ts = ptr(int64(r.Int64N(4e15)) - 1e15) // 1938 .. 2096, microseconds
		}
		if !null() {
			x.ntz = ptr(int64(r.Int64N(4e15)) - 1e15)
		}
		if !null() {
			x.dec1 = ptr(int64(r.IntN(2e9) - 1e9))
		}
		if !null() {
			x.dec2 = ptr(r.Int64N(2e18-1) - (1e18 - 1))
		}
		if !null() {
			v := new(big.Int).Lsh(big.NewInt(r.Int64N(1<<40)), 60)
			v.Add(v, big.NewInt(r.Int64()))
			if r.IntN(2) == 0 {
				v.Neg(v)
			}
			x.dec3 = v
		}
		if !null() {
			sv := &structVal{}
			if !null() {
				sv.a = ptr(int32(r.IntN(2000) - 1000))
			}
			if !null() {
				sv.b = ptr(sampleStrings[r.IntN(len(sampleStrings))])
			}
			x.st = sv
		}
		if !null() {
			x.lst = []*int32{}
			for range r.IntN(4) {
				if null() {
					x.lst = append(x.lst, nil)
				} else {
					x.lst = append(x.lst, ptr(int32(r.IntN(100))))
				}
			}
		}
		if !null() {
			x.m = [][2]any{}
			for k := range r.IntN(3) {
				var v *int32
				if !null() {
					v = ptr(int32(r.IntN(100)))
				}
				x.m = append(x.m, [2]any{fmt.Sprintf("k%d", k), v})
			}
		}
	}
	return rows
}

func appendOpt[T any](app func(T), null func(), v *T) {
	if v == nil {
		null()
		return
	}
	app(*v)
}

// buildRecord turns rows into a record of allTypesSchema.
func buildRecord(sc *arrow.Schema, rows []row) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for _, x := range rows {
		b.Field(0).(*array.Int64Builder).Append(x.id)
		i8 := b.Field(1).(*array.Int8Builder)
		appendOpt(i8.Append, i8.AppendNull, x.i8)
		i16 := b.Field(2).(*array.Int16Builder)
		appendOpt(i16.Append, i16.AppendNull, x.i16)
		i32 := b.Field(3).(*array.Int32Builder)
		appendOpt(i32.Append, i32.AppendNull, x.i32)
		i64 := b.Field(4).(*array.Int64Builder)
		appendOpt(i64.Append, i64.AppendNull, x.i64)
		f32 := b.Field(5).(*array.Float32Builder)
		appendOpt(f32.Append, f32.AppendNull, x.f32)
		f64 := b.Field(6).(*array.Float64Builder)
		appendOpt(f64.Append, f64.AppendNull, x.f64)
		bb := b.Field(7).(*array.BooleanBuilder)
		appendOpt(bb.Append, bb.AppendNull, x.b)
		sb := b.Field(8).(*array.StringBuilder)
		appendOpt(sb.Append, sb.AppendNull, x.s)
		bin := b.Field(9).(*array.BinaryBuilder)
		if x.bin == nil {
			bin.AppendNull()
		} else {
			bin.Append(x.bin)
		}
		db := b.Field(10).(*array.Date32Builder)
		if x.d == nil {
			db.AppendNull()
		} else {
			db.Append(arrow.Date32(*x.d))
		}
		for j, v := range []*int64{x.ts, x.ntz} {
			tb := b.Field(11 + j).(*array.TimestampBuilder)
			if v == nil {
				tb.AppendNull()
			} else {
				tb.Append(arrow.Timestamp(*v))
			}
		}
		for j, v := range []*int64{x.dec1, x.dec2} {
			tb := b.Field(13 + j).(*array.Decimal128Builder)
			if v == nil {
				tb.AppendNull()
			} else {
				tb.Append(decimal128.FromI64(*v))
			}
		}
		d3 := b.Field(15).(*array.Decimal128Builder)
		if x.dec3 == nil {
			d3.AppendNull()
		} else {
			d3.Append(decimal128.FromBigInt(x.dec3))
		}
		stb := b.Field(16).(*array.StructBuilder)
		if x.st == nil {
			stb.AppendNull()
		} else {
			stb.Append(true)
			a := stb.FieldBuilder(0).(*array.Int32Builder)
			appendOpt(a.Append, a.AppendNull, x.st.a)
			s := stb.FieldBuilder(1).(*array.StringBuilder)
			appendOpt(s.Append, s.AppendNull, x.st.b)
		}
		lb := b.Field(17).(*array.ListBuilder)
		if x.lst == nil {
			lb.AppendNull()
		} else {
			lb.Append(true)
			vb := lb.ValueBuilder().(*array.Int32Builder)
			for _, v := range x.lst {
				appendOpt(vb.Append, vb.AppendNull, v)
			}
		}
		mb := b.Field(18).(*array.MapBuilder)
		if x.m == nil {
			mb.AppendNull()
		} else {
			mb.Append(true)
			kb := mb.KeyBuilder().(*array.StringBuilder)
			ib := mb.ItemBuilder().(*array.Int32Builder)
			for _, kv := range x.m {
				kb.Append(kv[0].(string))
				appendOpt(ib.Append, ib.AppendNull, kv[1].(*int32))
			}
		}
	}
	return b.NewRecordBatch()
}
