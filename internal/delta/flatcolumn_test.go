package delta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/lakeport/lakeport/internal/blob"
)

// flatTestSchema has a column of every type flatColumn reads, nullable and
// not, with few distinct values (dictionary-friendly) and many.
var flatTestSchema = arrow.NewSchema([]arrow.Field{
	{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "i32_req", Type: arrow.PrimitiveTypes.Int32},
	{Name: "date", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
	{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "i64_req", Type: arrow.PrimitiveTypes.Int64},
	{Name: "i64_few", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "ts_ntz", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
	{Name: "ts_ms", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "b_req", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "s_few", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "s_many", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "s_req", Type: arrow.BinaryTypes.String},
	{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "all_null", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "one_value", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
}, nil)

// flatTestRecord builds n rows of flatTestSchema from seed; about nullPct% of
// each nullable column's rows are null.
func flatTestRecord(seed int64, n, nullPct int) arrow.RecordBatch {
	rng := rand.New(rand.NewSource(seed))
	b := array.NewRecordBuilder(memory.DefaultAllocator, flatTestSchema)
	defer b.Release()
	words := []string{"", "a", "US", "GB", "sixteen-bytes-xx", "seventeen-bytes-x", strings.Repeat("long", 20)}
	null := func() bool { return rng.Intn(100) < nullPct }
	for i := 0; i < n; i++ {
		for f, fb := range b.Fields() {
			name := flatTestSchema.Field(f).Name
			if name == "all_null" || (flatTestSchema.Field(f).Nullable && null()) {
				fb.AppendNull()
				continue
			}
			switch fb := fb.(type) {
			case *array.Int32Builder:
				fb.Append(rng.Int31() - 1<<30)
			case *array.Date32Builder:
				fb.Append(arrow.Date32(rng.Intn(100)))
			case *array.Float32Builder:
				fb.Append(rng.Float32())
			case *array.Int64Builder:
				switch name {
				case "i64_few":
					fb.Append(int64(rng.Intn(30)) << 40)
				case "one_value":
					fb.Append(42)
				default:
					fb.Append(rng.Int63() - 1<<62)
				}
			case *array.TimestampBuilder:
				fb.Append(arrow.Timestamp(rng.Int63n(1 << 50)))
			case *array.Float64Builder:
				fb.Append(float64(rng.Intn(1000)) / 7)
			case *array.BooleanBuilder:
				fb.Append(rng.Intn(3) == 0)
			case *array.StringBuilder:
				if name == "s_few" || name == "s_req" {
					fb.Append(words[rng.Intn(len(words))])
				} else {
					fb.Append(fmt.Sprintf("value-%d-%s", rng.Intn(1_000_000), words[rng.Intn(len(words))]))
				}
			case *array.BinaryBuilder:
				v := make([]byte, rng.Intn(40))
				rng.Read(v)
				fb.Append(v)
			default:
				panic(fmt.Sprintf("no generator for %T", fb))
			}
		}
	}
	return b.NewRecordBatch()
}

// flatTestLayout is one way of writing the test file.
type flatTestLayout struct {
	name    string
	rows    int
	nullPct int
	rgRows  int64 // row group length
	props   []parquet.WriterProperty
}

var flatTestLayouts = []flatTestLayout{
	{name: "dict-v1-snappy", rows: 5000, nullPct: 20, rgRows: 5000,
		props: []parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Snappy)}},
	// small pages and a small dictionary limit: many pages per chunk, and
	// chunks that start with dictionary pages and fall back to plain ones
	{name: "dict-fallback-small-pages-v1", rows: 9000, nullPct: 10, rgRows: 4000,
		props: []parquet.WriterProperty{parquet.WithDataPageSize(2048), parquet.WithDictionaryPageSizeLimit(4096),
			parquet.WithBatchSize(300), parquet.WithCompression(compress.Codecs.Snappy)}},
	{name: "dict-fallback-small-pages-v2", rows: 9000, nullPct: 10, rgRows: 2500,
		props: []parquet.WriterProperty{parquet.WithDataPageVersion(parquet.DataPageV2), parquet.WithDataPageSize(2048),
			parquet.WithDictionaryPageSizeLimit(4096), parquet.WithBatchSize(300), parquet.WithCompression(compress.Codecs.Zstd)}},
	{name: "plain-v1-uncompressed", rows: 3000, nullPct: 30, rgRows: 1000,
		props: []parquet.WriterProperty{parquet.WithDictionaryDefault(false), parquet.WithDataPageSize(4096)}},
	{name: "plain-v2-rle-booleans", rows: 3000, nullPct: 5, rgRows: 3000,
		props: []parquet.WriterProperty{parquet.WithDataPageVersion(parquet.DataPageV2), parquet.WithDictionaryDefault(false),
			parquet.WithEncodingFor("b", parquet.Encodings.RLE), parquet.WithEncodingFor("b_req", parquet.Encodings.RLE)}},
	{name: "no-nulls", rows: 4000, nullPct: 0, rgRows: 1500,
		props: []parquet.WriterProperty{parquet.WithDataPageSize(1024)}},
}

// writeFlatTestFile writes rec with the layout into dir and returns its name.
func writeFlatTestFile(t *testing.T, dir string, l flatTestLayout, rec arrow.RecordBatch) string {
	t.Helper()
	name := l.name + ".parquet"
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tbl := array.NewTableFromRecords(rec.Schema(), []arrow.RecordBatch{rec})
	defer tbl.Release()
	props := parquet.NewWriterProperties(l.props...)
	if err := pqarrow.WriteTable(tbl, f, l.rgRows, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())); err != nil {
		t.Fatal(err)
	}
	return name
}

// readFlat reads top-level field i of the file with a flatColumn, batch rows at a time.
func readFlat(t *testing.T, pf *parquetFile, field, batch int) []arrow.Array {
	t.Helper()
	leaf, kind, ok := pf.flatLeaf(field)
	if !ok {
		t.Fatalf("field %d: flatLeaf says no", field)
	}
	c := newFlatColumn(pf, field, leaf, kind)
	defer c.close()
	var out []arrow.Array
	total := int(pf.NumRows())
	for done := 0; done < total; {
		n := min(batch, total-done)
		arr, err := c.next(n)
		if err != nil {
			t.Fatalf("field %d after %d rows: %v", field, done, err)
		}
		if arr.Len() != n {
			t.Fatalf("field %d: batch of %d rows, want %d", field, arr.Len(), n)
		}
		out = append(out, arr)
		done += n
	}
	return out
}

// readPqarrow reads top-level field i of the file with pqarrow's record reader, as a single array.
func readPqarrow(t *testing.T, pf *parquetFile, field int) arrow.Array {
	t.Helper()
	rr, err := pf.reader.GetRecordReader(context.Background(), pf.leaves([]int{field}), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	var parts []arrow.Array
	for {
		rec, err := rr.Read()
		if errors.Is(err, io.EOF) || (err == nil && rec == nil) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		col := rec.Column(0) // the reader releases rec at the next Read
		col.Retain()
		parts = append(parts, col)
	}
	defer func() {
		for _, p := range parts {
			p.Release()
		}
	}()
	return concatArrays(t, parts)
}

func concatArrays(t *testing.T, parts []arrow.Array) arrow.Array {
	t.Helper()
	out, err := array.Concatenate(parts, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// compareArrays fails unless got and want have the same type, nulls and values.
func compareArrays(t *testing.T, what string, got, want arrow.Array) {
	t.Helper()
	if !arrow.TypeEqual(got.DataType(), want.DataType()) {
		t.Fatalf("%s: type %s, pqarrow %s", what, got.DataType(), want.DataType())
	}
	if got.Len() != want.Len() || got.NullN() != want.NullN() {
		t.Fatalf("%s: %d rows with %d nulls, pqarrow %d with %d", what, got.Len(), got.NullN(), want.Len(), want.NullN())
	}
	if !array.Equal(got, want) {
		for i := 0; i < got.Len(); i++ {
			if got.IsNull(i) != want.IsNull(i) || got.ValueStr(i) != want.ValueStr(i) {
				t.Fatalf("%s: row %d is %s, pqarrow %s", what, i, got.ValueStr(i), want.ValueStr(i))
			}
		}
		t.Fatalf("%s: arrays differ", what)
	}
}

func openTestParquet(t *testing.T, dir, name string) *parquetFile {
	t.Helper()
	ctx := context.Background()
	b, err := blob.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	pf, err := openParquet(ctx, b, name, 1024)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pf.Close() })
	return pf
}

// TestFlatColumnMatchesPqarrow reads every column of files of varied layouts
// (dictionary and plain pages, fallback from one to the other within a chunk,
// V1 and V2 pages, RLE booleans, several row groups and pages, nulls or none)
// with flatColumn, in batches of several sizes, and compares with pqarrow.
func TestFlatColumnMatchesPqarrow(t *testing.T) {
	dir := t.TempDir()
	for li, l := range flatTestLayouts {
		t.Run(l.name, func(t *testing.T) {
			rec := flatTestRecord(int64(li), l.rows, l.nullPct)
			defer rec.Release()
			pf := openTestParquet(t, dir, writeFlatTestFile(t, dir, l, rec))
			if pf.reader.ParquetReader().NumRowGroups() < int(int64(l.rows)/l.rgRows) {
				t.Fatalf("%d row groups", pf.reader.ParquetReader().NumRowGroups())
			}
			for field := range flatTestSchema.Fields() {
				want := readPqarrow(t, pf, field)
				for _, batch := range []int{1, 333, 1024, 4096, l.rows} {
					parts := readFlat(t, pf, field, batch)
					got := concatArrays(t, parts)
					compareArrays(t, fmt.Sprintf("%s, batch %d", flatTestSchema.Field(field).Name, batch), got, want)
					got.Release()
					for _, p := range parts {
						p.Release()
					}
				}
				want.Release()
			}
		})
	}
}

// TestFlatLeafDeclines checks that columns flatColumn cannot decode (other
// encodings, nested, other types) are left to pqarrow.
func TestFlatLeafDeclines(t *testing.T) {
	dir := t.TempDir()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "delta_int", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "delta_str", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "small", Type: arrow.PrimitiveTypes.Int16, Nullable: true},
		{Name: "dec", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
		{Name: "list", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
		{Name: "plain", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := 0; i < 100; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprint(i))
		b.Field(2).(*array.Int16Builder).Append(int16(i))
		b.Field(3).(*array.Decimal128Builder).AppendNull()
		b.Field(4).(*array.ListBuilder).AppendNull()
		b.Field(5).(*array.Int64Builder).Append(int64(i))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	l := flatTestLayout{name: "declines", rgRows: 100, props: []parquet.WriterProperty{
		parquet.WithDictionaryDefault(false),
		parquet.WithEncodingFor("delta_int", parquet.Encodings.DeltaBinaryPacked),
		parquet.WithEncodingFor("delta_str", parquet.Encodings.DeltaByteArray),
	}}
	pf := openTestParquet(t, dir, writeFlatTestFile(t, dir, l, rec))
	for i, f := range schema.Fields() {
		_, _, ok := pf.flatLeaf(i)
		if ok != (f.Name == "plain") {
			t.Errorf("%s: flatLeaf = %v", f.Name, ok)
		}
	}
}

// TestFlatColumnArraysOutliveReader checks that the arrays a flatColumn
// returns, and strings taken from them, do not change when the column is
// closed, its scratch goes back to the pool and other files are read with it.
func TestFlatColumnArraysOutliveReader(t *testing.T) {
	dir := t.TempDir()
	layout := flatTestLayouts[1]
	recA := flatTestRecord(100, layout.rows, layout.nullPct)
	defer recA.Release()
	pfA := openTestParquet(t, dir, writeFlatTestFile(t, dir, layout, recA))
	other := layout
	other.name = "other"
	recB := flatTestRecord(200, layout.rows, layout.nullPct)
	defer recB.Release()
	pfB := openTestParquet(t, dir, writeFlatTestFile(t, dir, other, recB))

	fields := flatTestSchema.Fields()
	kept := make([][]arrow.Array, len(fields))
	var strs []string
	for i := range fields {
		kept[i] = readFlat(t, pfA, i, 500)
		for _, p := range kept[i] {
			if s, ok := p.(*array.String); ok {
				for j := 0; j < s.Len(); j++ {
					strs = append(strs, s.Value(j)) // aliases the array's buffer
				}
			}
		}
	}
	// the columns of A are closed: read B (several times, with other batch
	// sizes) through the same pooled scratch
	for round := 0; round < 3; round++ {
		for i := range fields {
			for _, p := range readFlat(t, pfB, i, 700+round*300) {
				p.Release()
			}
		}
	}
	var wantStrs []string
	for i := range fields {
		want := readPqarrow(t, pfA, i)
		got := concatArrays(t, kept[i])
		compareArrays(t, fields[i].Name, got, want)
		if s, ok := want.(*array.String); ok {
			for j := 0; j < s.Len(); j++ {
				wantStrs = append(wantStrs, s.Value(j))
			}
		}
		got.Release()
		want.Release()
		for _, p := range kept[i] {
			p.Release()
		}
	}
	if len(strs) != len(wantStrs) {
		t.Fatalf("%d strings, want %d", len(strs), len(wantStrs))
	}
	for i := range strs {
		if strs[i] != wantStrs[i] {
			t.Fatalf("string %d changed: %q, want %q", i, strs[i], wantStrs[i])
		}
	}
}

// TestRLEDecoder decodes hand-made RLE/bit-packed hybrid runs.
func TestRLEDecoder(t *testing.T) {
	// width 3: an RLE run of 5 x value 6, then one bit-packed group 0..7
	data := []byte{5 << 1, 6, 1<<1 | 1, 0b10001000, 0b11000110, 0b11111010}
	var d rleDecoder
	d.reset(data, 3)
	got := make([]uint32, 13)
	if err := d.decodeUint32(got); err != nil {
		t.Fatal(err)
	}
	want := []uint32{6, 6, 6, 6, 6, 0, 1, 2, 3, 4, 5, 6, 7}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if err := d.decodeUint32(make([]uint32, 1)); err == nil {
		t.Fatal("no error past the end of the data")
	}
	// width 1 into a bitmap at an odd offset: RLE 3 x 1, bit-packed 10110010
	d.reset([]byte{3 << 1, 1, 1<<1 | 1, 0b01001101}, 1)
	bm := make([]byte, 2)
	ones, err := d.decodeBits(bm, 3, 11)
	if err != nil {
		t.Fatal(err)
	}
	if ones != 7 || bm[0] != 0b01111000 || bm[1] != 0b00010011 {
		t.Fatalf("ones %d, bitmap %08b %08b", ones, bm[0], bm[1])
	}
}

// TestUnpackBits compares unpackBits with a bit-at-a-time reference for every
// width, from several starting values and for several counts.
func TestUnpackBits(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	src := make([]byte, 301)
	rng.Read(src)
	for width := uint(0); width <= 32; width++ {
		for _, start := range []int{0, 1, 5, 8, 13, -1} {
			for _, n := range []int{0, 1, 7, 8, 9, 31} {
				first := start
				if first < 0 && width > 0 {
					first = len(src)*8/int(width) - n // the last values of src
				}
				if first < 0 || (first+n)*int(width) > len(src)*8 {
					continue
				}
				got := make([]uint32, n)
				unpackBits(got, src, first*int(width), width)
				for i := range got {
					var want uint32
					for k := 0; k < int(width); k++ {
						bit := (first+i)*int(width) + k
						want |= uint32(src[bit/8]>>(bit%8)&1) << k
					}
					if got[i] != want {
						t.Fatalf("width %d, value %d: %d, want %d", width, first+i, got[i], want)
					}
				}
			}
		}
	}
}
