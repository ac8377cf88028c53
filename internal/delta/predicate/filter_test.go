package predicate

import (
	"math"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var filterSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "a", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "price", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
	{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "flag", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "st", Type: arrow.StructOf(arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64, Nullable: true}), Nullable: true},
}, nil)

var null = Value{}

// filterRows: id 0..5 with nulls spread so that three-valued logic matters.
var filterRows = []row{
	{"id": vInt(0), "a": vInt(1), "s": vStr("apple"), "f": vFloat(1.5), "price": vDec("9.99"), "d": vDate(0), "ts": vTS(0), "flag": vBool(true), "bin": vBin("\x00"), "st": vBool(true), "st.x": vInt(10)},
	{"id": vInt(1), "a": vInt(2), "s": null, "f": vFloat(math.NaN()), "price": vDec("10.00"), "d": vDate(1), "ts": vTS(1), "flag": vBool(false), "bin": vBin("\x01"), "st": vBool(true), "st.x": null},
	{"id": vInt(2), "a": null, "s": vStr("banana"), "f": null, "price": null, "d": null, "ts": null, "flag": null, "bin": null, "st": null},
	{"id": vInt(3), "a": vInt(3), "s": vStr("cherry"), "f": vFloat(math.Inf(-1)), "price": vDec("-0.01"), "d": vDate(-1), "ts": vTS(-1), "flag": vBool(true), "bin": vBin(""), "st": vBool(true), "st.x": vInt(30)},
	{"id": vInt(4), "a": vInt(2), "s": vStr(""), "f": vFloat(math.Copysign(0, -1)), "price": vDec("10"), "d": vDate(19000), "ts": vTS(1703265021675000), "flag": null, "bin": vBin("\xff"), "st": vBool(true), "st.x": vInt(-1)},
	{"id": vInt(5), "a": null, "s": vStr("apple"), "f": vFloat(2), "price": vDec("99999999.99"), "d": vDate(0), "ts": vTS(999), "flag": vBool(false), "bin": null, "st": null},
}

func TestFilter(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := buildRecord(t, mem, filterSchema, filterRows)
	defer rec.Release()

	tests := []struct {
		where string
		want  []int64
	}{
		{"a = 2", []int64{1, 4}},
		{"a != 2", []int64{0, 3}},          // NULL != 2 is NULL
		{"NOT (a = 2)", []int64{0, 3}},     // NOT NULL is NULL
		{"NOT NOT (a = 2)", []int64{1, 4}}, //
		{"a > 1", []int64{1, 3, 4}},        //
		{"a <= 1", []int64{0}},             //
		{"1 < a", []int64{1, 3, 4}},        // literal on the left
		{"a = 2 OR a IS NULL", []int64{1, 2, 4, 5}},
		{"a = 2 OR s = 'banana'", []int64{1, 2, 4}}, // NULL OR TRUE is TRUE
		{"a = 2 AND s IS NULL", []int64{1}},
		{"NOT (a = 2 AND s = 'x')", []int64{0, 2, 3, 4, 5}}, // FALSE AND NULL is FALSE
		{"NOT (a = 2 OR s = 'x')", []int64{0, 3}},           // id 1: NOT (TRUE OR NULL); 2, 5: NOT (NULL OR FALSE)
		{"a IN (1, 3)", []int64{0, 3}},
		{"a IN (1, NULL)", []int64{0}},
		{"a NOT IN (1, 3)", []int64{1, 4}},
		{"a NOT IN (1, NULL)", []int64{}}, // never TRUE
		{"NOT (a IN (1, NULL))", []int64{}},
		{"a IS NULL", []int64{2, 5}},
		{"a IS NOT NULL", []int64{0, 1, 3, 4}},
		{"s = 'apple'", []int64{0, 5}},
		{"s > 'apple'", []int64{2, 3}},
		{"s < 'b'", []int64{0, 4, 5}},
		{"s = ''", []int64{4}},
		{"s = NULL", []int64{}},
		{"s != NULL", []int64{}},
		{"NOT (s = NULL)", []int64{}},
		{"f = 'NaN'", []int64{1}},                    // NaN = NaN
		{"f > 1000000", []int64{1}},                  // NaN is the largest
		{"f < 0", []int64{3}},                        // -Inf; -0.0 is not < 0
		{"f = 0", []int64{4}},                        // -0.0 = 0
		{"f >= '-Infinity'", []int64{0, 1, 3, 4, 5}}, //
		{"price = 10", []int64{1, 4}},
		{"price = 9.99", []int64{0}},
		{"price = 9.990", []int64{0}},
		{"price > 9.995", []int64{1, 4, 5}},
		{"price < 9.995", []int64{0, 3}},
		{"price = 9.995", []int64{}},
		{"price >= 99999999.99", []int64{5}},
		{"price < 0", []int64{3}},
		{"price > 1e300", []int64{}},
		{"d = '1970-01-01'", []int64{0, 5}},
		{"d < DATE '1970-01-01'", []int64{3}},
		{"d >= TIMESTAMP '1970-01-01 00:00:01'", []int64{1, 4}},
		{"ts = TIMESTAMP '1970-01-01 00:00:00.000001'", []int64{1}},
		{"ts = '2023-12-22T18:10:21.675+01:00'", []int64{4}},
		{"ts < '1970-01-01'", []int64{3}},
		{"ts > DATE '1970-01-01'", []int64{1, 4, 5}},
		{"flag", []int64{0, 3}},
		{"NOT flag", []int64{1, 5}},
		{"flag = FALSE", []int64{1, 5}},
		{"flag IS NULL", []int64{2, 4}},
		{"bin = X'00'", []int64{0}},
		{"bin > ''", []int64{0, 1, 4}},
		{"st.x > 0", []int64{0, 3}},
		{"st.x IS NULL", []int64{1, 2, 5}},
		{"st IS NULL", []int64{2, 5}},
		{"a = st.x", []int64{}},
		{"a < st.x", []int64{0, 3}},
		{"st.x > a", []int64{0, 3}},
		{"price > a", []int64{0, 1, 4}},
		{"TRUE", []int64{0, 1, 2, 3, 4, 5}},
		{"FALSE", []int64{}},
		{"NULL", []int64{}},
		{"NOT NULL", []int64{}},
		{"1 = 1", []int64{0, 1, 2, 3, 4, 5}},
		{"id >= 0", []int64{0, 1, 2, 3, 4, 5}},
	}
	for _, tt := range tests {
		b := mustBind(t, tt.where, filterSchema)
		got := filteredIDs(t, b, rec, mem)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Filter(%s) = %v, want %v", tt.where, got, tt.want)
		}
	}
}

func TestFilterCheapPaths(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := buildRecord(t, mem, filterSchema, filterRows)
	defer rec.Release()

	// Every row passes: the same record comes back, retained.
	out, err := mustBind(t, "id >= 0", filterSchema).Filter(rec, mem)
	if err != nil {
		t.Fatal(err)
	}
	if out != rec {
		t.Error("all rows pass: Filter returned a new record")
	}
	out.Release() // the extra reference
	// Contiguous and empty results are slices; scattered ones are copies.
	for _, where := range []string{"id > 100", "id >= 2 AND id <= 4", "id = 1 OR id = 4"} {
		out, err := mustBind(t, where, filterSchema).Filter(rec, mem)
		if err != nil {
			t.Fatal(err)
		}
		if out.NumCols() != rec.NumCols() || !out.Schema().Equal(rec.Schema()) {
			t.Errorf("%s: schema changed", where)
		}
		out.Release()
	}
	// Nil allocator means the default one.
	out, err = mustBind(t, "id = 1 OR id = 4", filterSchema).Filter(rec, nil)
	if err != nil || out.NumRows() != 2 {
		t.Errorf("nil allocator: %v, %v", out, err)
	}
	out.Release()
	// Empty record.
	empty := rec.NewSlice(0, 0)
	defer empty.Release()
	out, err = mustBind(t, "a = 1", filterSchema).Filter(empty, mem)
	if err != nil || out.NumRows() != 0 {
		t.Errorf("empty record: %v, %v", out, err)
	}
	out.Release()
	// A sliced record (non-zero offsets).
	sl := rec.NewSlice(2, 6)
	defer sl.Release()
	if got := filteredIDs(t, mustBind(t, "a = 2 OR st.x > 0", filterSchema), sl, mem); !reflect.DeepEqual(got, []int64{3, 4}) {
		t.Errorf("sliced record: %v", got)
	}
}

// TestFilterStructNulls checks that a field of a null struct is null even
// when the child array holds a value there.
func TestFilterStructNulls(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	xb := array.NewInt64Builder(mem)
	xb.AppendValues([]int64{1, 2, 3}, nil)
	x := xb.NewArray()
	xb.Release()
	defer x.Release()
	bitmap := memory.NewResizableBuffer(mem)
	bitmap.Resize(1)
	bitmap.Bytes()[0] = 0b101 // row 1 is a null struct
	st, err := array.NewStructArrayWithNulls([]arrow.Array{x}, []string{"x"}, bitmap, 1, 0)
	bitmap.Release()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Release()
	ib := array.NewInt64Builder(mem)
	ib.AppendValues([]int64{0, 1, 2}, nil)
	ids := ib.NewArray()
	ib.Release()
	defer ids.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "st", Type: st.DataType(), Nullable: true}}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{ids, st}, 3)
	defer rec.Release()
	for where, want := range map[string][]int64{
		"st.x >= 1":       {0, 2},
		"st.x IS NULL":    {1},
		"NOT (st.x = 2)":  {0, 2},
		"st.x NOT IN (9)": {0, 2},
	} {
		if got := filteredIDs(t, mustBind(t, where, schema), rec, mem); !reflect.DeepEqual(got, want) {
			t.Errorf("Filter(%s) = %v, want %v", where, got, want)
		}
	}
}

// TestFilterRecordTypes checks the comparison fast paths against arrays whose
// types differ from the bound schema (other units, dictionaries, views).
func TestFilterRecordTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	bindS := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: "s", Type: arrow.BinaryTypes.String},
		{Name: "u", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	recS := arrow.NewSchema([]arrow.Field{
		{Name: "ID", Type: arrow.PrimitiveTypes.Int64}, // case-insensitive lookup
		{Name: "u", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}},
		{Name: "s", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: arrow.BinaryTypes.String}},
	}, nil)
	rb := array.NewRecordBuilder(mem, recS)
	defer rb.Release()
	rb.Field(0).(*array.Int64Builder).AppendValues([]int64{0, 1, 2, 3}, nil)
	rb.Field(1).(*array.Uint64Builder).AppendValues([]uint64{0, math.MaxUint64, 5, 1 << 63}, nil)
	rb.Field(2).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{1000, 1500, 2000, -1}, nil)
	sb := rb.Field(3).(*array.BinaryDictionaryBuilder)
	for _, s := range []string{"x", "y", "x"} {
		if err := sb.AppendString(s); err != nil {
			t.Fatal(err)
		}
	}
	sb.AppendNull()
	rec := rb.NewRecordBatch()
	defer rec.Release()
	idsOf := func(where string) []int64 {
		b := mustBind(t, where, bindS)
		out, err := b.Filter(rec, mem)
		if err != nil {
			t.Fatalf("Filter(%s): %v", where, err)
		}
		defer out.Release()
		ids := []int64{}
		col := out.Column(0).(*array.Int64)
		for i := 0; i < col.Len(); i++ {
			ids = append(ids, col.Value(i))
		}
		return ids
	}
	for where, want := range map[string][]int64{
		"ts = TIMESTAMP '1970-01-01 00:00:00.000001'": {0},    // 1000ns; 1500ns is not equal
		"ts > TIMESTAMP '1970-01-01 00:00:00.000001'": {1, 2}, // 1500ns > 1µs
		"ts < TIMESTAMP '1970-01-01'":                 {3},
		"s = 'x'":                                     {0, 2},
		"s != 'x'":                                    {1},
		"s IS NULL":                                   {3},
		"u > 9223372036854775807":                     {1, 3},
		"u = 5":                                       {2},
	} {
		if got := idsOf(where); !reflect.DeepEqual(got, want) {
			t.Errorf("Filter(%s) = %v, want %v", where, got, want)
		}
	}
	// A column missing from the record is an error.
	other := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "zz", Type: arrow.PrimitiveTypes.Int64}}, nil)
	if _, err := mustBind(t, "zz = 1", other).Filter(rec, mem); err == nil {
		t.Error("missing column: no error")
	}
}

// TestBoundConcurrent uses one Bound from several goroutines (run with -race).
func TestBoundConcurrent(t *testing.T) {
	mem := memory.NewGoAllocator()
	rec := buildRecord(t, mem, filterSchema, filterRows)
	defer rec.Release()
	b := mustBind(t, "(a = 2 OR s > 'b') AND NOT (price IN (1, NULL)) OR st.x IS NULL", filterSchema)
	stats := toStats(6, map[string]cs{"a": mm(vInt(1), vInt(3))})
	want := filteredIDs(t, b, rec, mem)
	done := make(chan []int64)
	for range 8 {
		go func() {
			var got []int64
			for range 50 {
				b.MayMatch(stats)
				out, err := b.Filter(rec, mem)
				if err != nil {
					panic(err)
				}
				got = []int64{}
				col := out.Column(0).(*array.Int64)
				for i := 0; i < col.Len(); i++ {
					got = append(got, col.Value(i))
				}
				out.Release()
			}
			done <- got
		}()
	}
	for range 8 {
		if got := <-done; !reflect.DeepEqual(got, want) {
			t.Errorf("concurrent Filter = %v, want %v", got, want)
		}
	}
}
