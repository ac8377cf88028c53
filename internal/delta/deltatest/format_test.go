package deltatest

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestRyuFormat(t *testing.T) {
	cases := []struct {
		f    float64
		bits int
		want string
	}{
		{1, 64, "1.0"}, {100, 64, "100.0"}, {3.14, 64, "3.14"}, {-2.5, 64, "-2.5"},
		{0, 64, "0.0"}, {math.Copysign(0, -1), 64, "-0.0"},
		{1e20, 64, "100000000000000000000.0"}, {1e21, 64, "1e21"}, {1.5e21, 64, "1.5e21"},
		{123456789012345680000, 64, "123456789012345680000.0"},
		{0.001, 64, "0.001"}, {0.000001, 64, "0.000001"}, {1e-7, 64, "1e-7"}, {1.25e-7, 64, "1.25e-7"},
		{0.1, 32, "0.1"}, {float64(float32(3.14)), 32, "3.14"}, {16777216, 32, "16777216.0"},
		{math.NaN(), 64, "NaN"}, {math.Inf(1), 64, "inf"}, {math.Inf(-1), 64, "-inf"},
		{math.MaxFloat64, 64, "1.7976931348623157e308"}, {5e-324, 64, "5e-324"},
	}
	for _, c := range cases {
		if got := ryuFormat(c.f, c.bits); got != c.want {
			t.Errorf("ryuFormat(%v, %d) = %q, want %q", c.f, c.bits, got, c.want)
		}
	}
}

func TestFormatDecimal(t *testing.T) {
	cases := []struct {
		v     int64
		scale int32
		want  string
	}{
		{150, 2, "1.50"}, {-150, 2, "-1.50"}, {5, 2, "0.05"}, {-5, 3, "-0.005"}, {0, 2, "0.00"},
		{12345, 0, "12345"}, {12, -2, "1200"}, {0, -2, "0"},
	}
	for _, c := range cases {
		if got := formatDecimal(decimal128.FromI64(c.v).BigInt(), c.scale); got != c.want {
			t.Errorf("formatDecimal(%d, %d) = %q, want %q", c.v, c.scale, got, c.want)
		}
	}
}

// allTypesBatch builds one batch with a column of every supported kind and
// two rows: values, then nulls (nested values hold inner nulls).
func allTypesBatch(t *testing.T) (*arrow.Schema, arrow.RecordBatch) {
	t.Helper()
	mem := memory.DefaultAllocator
	structType := arrow.StructOf(
		arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		arrow.Field{Name: "b", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	)
	fields := []arrow.Field{
		{Name: "byte", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
		{Name: "short", Type: arrow.PrimitiveTypes.Int16, Nullable: true},
		{Name: "int", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "long", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "float", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "double", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "bool", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "str", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "lstr", Type: arrow.BinaryTypes.LargeString, Nullable: true},
		{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "date", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "ts_ntz", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
		{Name: "ts_ns", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "dec", Type: &arrow.Decimal128Type{Precision: 5, Scale: 2}, Nullable: true},
		{Name: "st", Type: structType, Nullable: true},
		{Name: "m", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64), Nullable: true},
		{Name: "dict", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}, Nullable: true},
	}
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()

	b.Field(0).(*array.Int8Builder).AppendValues([]int8{-8, 0}, []bool{true, false})
	b.Field(1).(*array.Int16Builder).AppendValues([]int16{16, 0}, []bool{true, false})
	b.Field(2).(*array.Int32Builder).AppendValues([]int32{32, 0}, []bool{true, false})
	b.Field(3).(*array.Int64Builder).AppendValues([]int64{99999999999999999, 0}, []bool{true, false})
	b.Field(4).(*array.Float32Builder).AppendValues([]float32{3.14, 0}, []bool{true, false})
	b.Field(5).(*array.Float64Builder).AppendValues([]float64{100, 0}, []bool{true, false})
	b.Field(6).(*array.BooleanBuilder).AppendValues([]bool{true, false}, []bool{true, false})
	b.Field(7).(*array.StringBuilder).AppendValues([]string{`a "quoted" | s`, ""}, []bool{true, false})
	b.Field(8).(*array.LargeStringBuilder).AppendValues([]string{"large", ""}, []bool{true, false})
	b.Field(9).(*array.BinaryBuilder).AppendValues([][]byte{{0xde, 0xad, 0x01}, nil}, []bool{true, false})
	b.Field(10).(*array.Date32Builder).AppendValues([]arrow.Date32{19713, 0}, []bool{true, false}) // 2023-12-22
	// 2023-12-22T17:10:18.828Z in µs and ns (+ sub-µs digits).
	b.Field(11).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{1703265018828000, 0}, []bool{true, false})
	b.Field(12).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{1703265018000000, 0}, []bool{true, false})
	b.Field(13).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{1703265018828123456, 0}, []bool{true, false})
	b.Field(14).(*array.Decimal128Builder).AppendValues([]decimal128.Num{decimal128.FromI64(150), {}}, []bool{true, false})

	sb := b.Field(15).(*array.StructBuilder)
	sb.Append(true)
	sb.FieldBuilder(0).(*array.Int32Builder).AppendNull()
	lb := sb.FieldBuilder(1).(*array.ListBuilder)
	lb.Append(true)
	lb.ValueBuilder().(*array.StringBuilder).Append("x")
	lb.ValueBuilder().(*array.StringBuilder).AppendNull()
	sb.AppendNull()

	mb := b.Field(16).(*array.MapBuilder)
	mb.Append(true)
	mb.KeyBuilder().(*array.StringBuilder).AppendValues([]string{"z", "a"}, nil) // stored order kept
	mb.ItemBuilder().(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
	mb.AppendNull()

	db := b.Field(17).(*array.BinaryDictionaryBuilder)
	if err := db.AppendString("dictval"); err != nil {
		t.Fatal(err)
	}
	db.AppendNull()
	return schema, b.NewRecordBatch()
}

func TestCanonicalSchemaAndRows(t *testing.T) {
	schema, rec := allTypesBatch(t)
	defer rec.Release()
	wantSchema := []string{
		"byte: byte", "short: short", "int: integer", "long: long", "float: float", "double: double",
		"bool: boolean", "str: string", "lstr: string", "bin: binary", "date: date", "ts: timestamp",
		"ts_ntz: timestamp_ntz", "ts_ns: timestamp", "dec: decimal(5,2)",
		"st: struct<a: integer, b: array<string>>", "m: map<string, long>", "dict: string",
	}
	if got := CanonicalSchema(schema); !slices.Equal(got, wantSchema) {
		t.Errorf("CanonicalSchema:\n got %q\nwant %q", got, wantSchema)
	}
	ntz := arrow.NewSchema([]arrow.Field{{Name: "t", Type: &arrow.TimestampType{Unit: arrow.Nanosecond}}}, nil)
	if got := CanonicalSchemaWith(ntz, CanonicalOptions{NanosWithoutTZAsTimestamp: true}); !slices.Equal(got, []string{"t: timestamp"}) {
		t.Errorf("NanosWithoutTZAsTimestamp: %q", got)
	}
	if got := CanonicalSchema(ntz); !slices.Equal(got, []string{"t: timestamp_ntz"}) {
		t.Errorf("default ns without zone: %q", got)
	}

	rows, err := CanonicalRows(schema, []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		strings.Join([]string{"-8", "16", "32", "99999999999999999", "3.14", "100", "true",
			`"a \"quoted\" | s"`, `"large"`, "0xdead01", "2023-12-22", "2023-12-22T17:10:18.828000Z",
			"2023-12-22T17:10:18.000000", "2023-12-22T17:10:18.828123Z", "1.50",
			`{a: NULL, b: ["x", NULL]}`, `{"z" -> 1, "a" -> 2}`, `"dictval"`}, " | "),
		strings.TrimSuffix(strings.Repeat("NULL | ", 18), " | "),
	}
	slices.Sort(want)
	if !slices.Equal(rows, want) {
		t.Errorf("CanonicalRows:\n got %q\nwant %q", rows, want)
	}

	cols := []string{"long", "float", "double", "str", "bin", "date", "ts", "ts_ntz", "ts_ns", "dec", "st", "m", "dict", "bool"}
	pretty, err := PrettyRows(schema, []arrow.RecordBatch{rec}, cols)
	if err != nil {
		t.Fatal(err)
	}
	wantPretty := []string{
		strings.Join([]string{"99999999999999999", "3.14", "100.0", `a "quoted" | s`, "dead01", "2023-12-22",
			"2023-12-22T17:10:18.828", "2023-12-22T17:10:18", "2023-12-22T17:10:18.828123456", "1.50",
			"{a: , b: [x, ]}", "{z: 1, a: 2}", "dictval", "true"}, " | "),
		strings.TrimSuffix(strings.Repeat(" | ", 14), " | "),
	}
	slices.Sort(wantPretty)
	if !slices.Equal(pretty, wantPretty) {
		t.Errorf("PrettyRows:\n got %q\nwant %q", pretty, wantPretty)
	}
	if _, err := PrettyRows(schema, []arrow.RecordBatch{rec}, []string{"nope"}); err == nil {
		t.Error("PrettyRows with an unknown column succeeded")
	}
}

func TestDiff(t *testing.T) {
	if d := Diff([]string{"a", "b", "b"}, []string{"b", "a", "b"}); d != "" {
		t.Errorf("equal multisets: %q", d)
	}
	d := Diff([]string{"a", "b", "b", "c"}, []string{"a", "b", "d", "d"})
	for _, want := range []string{"want 4 rows, got 4: 2 missing (-), 2 unexpected (+)", "- b", "- c", "+ d  (x2)"} {
		if !strings.Contains(d, want) {
			t.Errorf("Diff output %q lacks %q", d, want)
		}
	}
	var many []string
	for i := 0; i < 50; i++ {
		many = append(many, strings.Repeat("x", i+1))
	}
	d = Diff(many, nil)
	if lines := strings.Count(d, "\n"); lines > 22 || !strings.Contains(d, "... and 30 more") {
		t.Errorf("long diff not truncated (%d lines):\n%s", lines, d)
	}
}
