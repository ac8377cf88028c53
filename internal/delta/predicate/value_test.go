package predicate

import (
	"encoding/json"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func vInt(i int64) Value     { return Value{Kind: KindInt, Int: i} }
func vFloat(f float64) Value { return Value{Kind: KindFloat, Float: f} }
func vStr(s string) Value    { return Value{Kind: KindString, Str: s} }
func vBin(s string) Value    { return Value{Kind: KindBinary, Str: s} }
func vBool(b bool) Value     { return Value{Kind: KindBool, Bool: b} }
func vDate(d int64) Value    { return Value{Kind: KindDate, Int: d} }
func vTS(us int64) Value     { return Value{Kind: KindTimestamp, Int: us} }
func vDec(s string) Value {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic(s)
	}
	return Value{Kind: KindDecimal, Dec: r}
}

func TestCompare(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		a, b Value
		want int
		ok   bool
	}{
		{vInt(1), vInt(2), -1, true},
		{vInt(2), vInt(2), 0, true},
		{vInt(math.MaxInt64), vFloat(0x1p63), -1, true},
		{vInt(math.MaxInt64 - 1), vFloat(float64(math.MaxInt64 - 1)), -1, true}, // the float is 2^63
		{vInt(1 << 53), vFloat(1 << 53), 0, true},
		{vInt(1<<53 + 1), vFloat(1 << 53), 1, true}, // exact, not via float64
		{vInt(2), vFloat(2.5), -1, true},
		{vInt(-2), vFloat(-2.5), 1, true},
		{vInt(3), vFloat(nan), -1, true},
		{vFloat(nan), vFloat(inf), 1, true},
		{vFloat(nan), vFloat(nan), 0, true},
		{vFloat(math.Copysign(0, -1)), vFloat(0), 0, true},
		{vFloat(-inf), vFloat(-1e308), -1, true},
		{vDec("1.50"), vDec("1.5"), 0, true},
		{vDec("1.50"), vInt(1), 1, true},
		{vInt(2), vDec("1.99999999999999999999999"), 1, true},
		{vDec("0.1"), vFloat(0.1), -1, true}, // float64(0.1) is slightly above 1/10
		{vDec("1e40"), vFloat(inf), -1, true},
		{vDec("-1e40"), vFloat(nan), -1, true},
		{vFloat(nan), vDec("5"), 1, true},
		{vDec("99999999999999999999"), vInt(math.MaxInt64), 1, true},
		{vStr("a"), vStr("b"), -1, true},
		{vStr("ab"), vStr("a"), 1, true},
		{vStr("é"), vStr("z"), 1, true}, // bytewise (UTF-8)
		{vBin("\x00"), vStr(""), 1, true},
		{vBool(false), vBool(true), -1, true},
		{vDate(1), vDate(0), 1, true},
		{vDate(1), vTS(microsPerDay), 0, true},
		{vTS(microsPerDay - 1), vDate(1), -1, true},
		{vTS(5), vTS(5), 0, true},
		{Value{}, vInt(1), 0, false},
		{vInt(1), Value{}, 0, false},
		{Value{}, Value{}, 0, false},
		{vInt(1), vStr("1"), 0, false},
		{vDate(1), vInt(1), 0, false},
		{vBool(true), vInt(1), 0, false},
		{vStr("2021-01-01"), vDate(0), 0, false},
		{Value{Kind: KindDecimal}, vInt(1), 0, false}, // nil Dec reads as null
	}
	for _, tt := range tests {
		got, ok := Compare(tt.a, tt.b)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Compare(%v, %v) = %d, %v; want %d, %v", tt.a, tt.b, got, ok, tt.want, tt.ok)
		}
		if tt.ok {
			if back, _ := Compare(tt.b, tt.a); back != -tt.want {
				t.Errorf("Compare(%v, %v) = %d, not antisymmetric", tt.b, tt.a, back)
			}
		}
	}
}

func TestValueString(t *testing.T) {
	tests := []struct {
		v    Value
		want string
	}{
		{Value{}, "NULL"},
		{vBool(true), "TRUE"},
		{vBool(false), "FALSE"},
		{vInt(-42), "-42"},
		{vFloat(1.5), "1.5e0"},
		{vFloat(1e21), "1e+21"},
		{vFloat(math.NaN()), "'NaN'"},
		{vFloat(math.Inf(-1)), "'-Infinity'"},
		{vDec("1.50"), "1.5"},
		{vDec("100"), "100.0"},
		{vDec("-0.000001"), "-0.000001"},
		{Value{Kind: KindDecimal, Dec: big.NewRat(1, 3)}, "0.333333333333333333333333333333"},
		{vStr("it's"), "'it''s'"},
		{vBin("\x00\xff"), "X'00FF'"},
		{vDate(0), "DATE '1970-01-01'"},
		{vDate(-719162), "DATE '0001-01-01'"},
		{vDate(2932896), "DATE '9999-12-31'"},
		{vTS(0), "TIMESTAMP '1970-01-01 00:00:00'"},
		{vTS(-1), "TIMESTAMP '1969-12-31 23:59:59.999999'"},
		{vTS(1703265021675000), "TIMESTAMP '2023-12-22 17:10:21.675'"},
	}
	for _, tt := range tests {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.v, got, tt.want)
		}
	}
}

// TestAppendToValueAt appends values to builders of every supported type and
// reads them back.
func TestAppendToValueAt(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tests := []struct {
		dt   arrow.DataType
		in   Value
		want Value // zero Kind with wantErr
		err  bool
	}{
		{arrow.PrimitiveTypes.Int8, vInt(-128), vInt(-128), false},
		{arrow.PrimitiveTypes.Int8, vInt(128), Value{}, true},
		{arrow.PrimitiveTypes.Int16, vInt(32767), vInt(32767), false},
		{arrow.PrimitiveTypes.Int32, vDec("7.000"), vInt(7), false},
		{arrow.PrimitiveTypes.Int32, vDec("7.5"), Value{}, true},
		{arrow.PrimitiveTypes.Int64, vInt(math.MinInt64), vInt(math.MinInt64), false},
		{arrow.PrimitiveTypes.Int64, vStr("1"), Value{}, true},
		{arrow.PrimitiveTypes.Uint8, vInt(255), vInt(255), false},
		{arrow.PrimitiveTypes.Uint8, vInt(-1), Value{}, true},
		{arrow.PrimitiveTypes.Uint64, vDec("18446744073709551615"), vDec("18446744073709551615"), false},
		{arrow.PrimitiveTypes.Float32, vFloat(1.5), vFloat(1.5), false},
		{arrow.PrimitiveTypes.Float64, vFloat(math.Inf(1)), vFloat(math.Inf(1)), false},
		{arrow.PrimitiveTypes.Float64, vInt(3), vFloat(3), false},
		{&arrow.Decimal128Type{Precision: 10, Scale: 2}, vDec("123.4"), vDec("123.40"), false},
		{&arrow.Decimal128Type{Precision: 10, Scale: 2}, vDec("-0.01"), vDec("-0.01"), false},
		{&arrow.Decimal128Type{Precision: 10, Scale: 2}, vDec("1.234"), Value{}, true}, // would round
		{&arrow.Decimal128Type{Precision: 4, Scale: 2}, vDec("100"), Value{}, true},    // precision
		{&arrow.Decimal128Type{Precision: 38, Scale: 0}, vDec("99999999999999999999999999999999999999"), vDec("99999999999999999999999999999999999999"), false},
		{&arrow.Decimal128Type{Precision: 10, Scale: 2}, vInt(5), vDec("5"), false},
		{&arrow.Decimal256Type{Precision: 50, Scale: 5}, vDec("1.23456"), vDec("1.23456"), false},
		{&arrow.Decimal32Type{Precision: 9, Scale: 3}, vDec("-1.5"), vDec("-1.5"), false},
		{&arrow.Decimal64Type{Precision: 18, Scale: 3}, vDec("1234567.891"), vDec("1234567.891"), false},
		{arrow.BinaryTypes.String, vStr("héllo"), vStr("héllo"), false},
		{arrow.BinaryTypes.String, vInt(1), Value{}, true},
		{arrow.BinaryTypes.LargeString, vStr("x"), vStr("x"), false},
		{arrow.BinaryTypes.StringView, vStr("a string longer than twelve bytes"), vStr("a string longer than twelve bytes"), false},
		{arrow.BinaryTypes.Binary, vBin("\x00\x01"), vBin("\x00\x01"), false},
		{arrow.BinaryTypes.LargeBinary, vStr("ab"), vBin("ab"), false},
		{arrow.FixedWidthTypes.Date32, vDate(-1), vDate(-1), false},
		{arrow.FixedWidthTypes.Date32, vTS(0), Value{}, true},
		{arrow.FixedWidthTypes.Date64, vDate(3), vDate(3), false},
		{&arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, vTS(-5), vTS(-5), false},
		{&arrow.TimestampType{Unit: arrow.Microsecond}, vTS(1703265021675123), vTS(1703265021675123), false},
		{&arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "Europe/Paris"}, vDate(1), vTS(microsPerDay), false},
		{&arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}, vTS(-7), vTS(-7), false},
		{&arrow.TimestampType{Unit: arrow.Millisecond}, vTS(5000), vTS(5000), false},
		{&arrow.TimestampType{Unit: arrow.Millisecond}, vTS(5001), Value{}, true},
		{&arrow.TimestampType{Unit: arrow.Second}, vTS(-3_000_000), vTS(-3_000_000), false},
		{arrow.FixedWidthTypes.Boolean, vBool(true), vBool(true), false},
		{arrow.FixedWidthTypes.Boolean, vInt(1), Value{}, true},
		{arrow.BinaryTypes.String, Value{}, Value{}, false},
		{&arrow.Decimal128Type{Precision: 10, Scale: 2}, Value{}, Value{}, false},
	}
	for _, tt := range tests {
		b := array.NewBuilder(mem, tt.dt)
		err := tt.in.AppendTo(b)
		if (err != nil) != tt.err {
			t.Errorf("%v.AppendTo(%s builder): err = %v, want error %v", tt.in, tt.dt, err, tt.err)
		}
		if err == nil {
			arr := b.NewArray()
			got := ValueAt(arr, 0)
			if c, ok := Compare(got, tt.want); got.Kind != tt.want.Kind || (ok && c != 0) || (!ok && got.Kind != KindNull) {
				t.Errorf("%v.AppendTo(%s) read back %+v, want %+v", tt.in, tt.dt, got, tt.want)
			}
			arr.Release()
		}
		b.Release()
	}
}

func TestValueAtUnits(t *testing.T) {
	mem := memory.NewGoAllocator()
	for _, tt := range []struct {
		unit arrow.TimeUnit
		raw  int64
		want int64
	}{
		{arrow.Second, 2, 2_000_000},
		{arrow.Millisecond, -1, -1000},
		{arrow.Microsecond, 7, 7},
		{arrow.Nanosecond, 1999, 1},
		{arrow.Nanosecond, -1, -1}, // floored
	} {
		b := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: tt.unit})
		b.Append(arrow.Timestamp(tt.raw))
		b.AppendNull()
		arr := b.NewArray()
		if got := ValueAt(arr, 0); got.Kind != KindTimestamp || got.Int != tt.want {
			t.Errorf("ValueAt(%v %d) = %+v, want %d", tt.unit, tt.raw, got, tt.want)
		}
		if got := ValueAt(arr, 1); got.Kind != KindNull {
			t.Errorf("ValueAt(null) = %+v", got)
		}
		arr.Release()
		b.Release()
	}
	// Dictionary arrays read through their dictionary.
	db := array.NewDictionaryBuilder(mem, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}).(*array.BinaryDictionaryBuilder)
	db.AppendString("x")
	db.AppendString("y")
	db.AppendString("x")
	da := db.NewArray()
	if got := ValueAt(da, 2); got.Kind != KindString || got.Str != "x" {
		t.Errorf("ValueAt(dictionary) = %+v", got)
	}
	da.Release()
	db.Release()
}

func ptr(s string) *string { return &s }

func TestParsePartitionValue(t *testing.T) {
	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	ntz := &arrow.TimestampType{Unit: arrow.Microsecond}
	dec := &arrow.Decimal128Type{Precision: 10, Scale: 2}
	tests := []struct {
		dt      arrow.DataType
		s       *string
		want    Value
		wantErr string
	}{
		{arrow.PrimitiveTypes.Int32, nil, Value{}, ""},
		{arrow.PrimitiveTypes.Int32, ptr(""), Value{}, ""},
		{arrow.BinaryTypes.String, ptr(""), Value{}, ""}, // PROTOCOL.md: empty is null for any type
		{arrow.BinaryTypes.String, nil, Value{}, ""},
		{arrow.BinaryTypes.String, ptr("a b/c=d"), vStr("a b/c=d"), ""},
		{arrow.BinaryTypes.Binary, ptr("\x01\x02\x03"), vBin("\x01\x02\x03"), ""},
		{arrow.PrimitiveTypes.Int8, ptr("-128"), vInt(-128), ""},
		{arrow.PrimitiveTypes.Int8, ptr("128"), Value{}, `invalid byte partition value "128": out of range`},
		{arrow.PrimitiveTypes.Int16, ptr("-32768"), vInt(-32768), ""},
		{arrow.PrimitiveTypes.Int32, ptr("2147483647"), vInt(2147483647), ""},
		{arrow.PrimitiveTypes.Int32, ptr("1.0"), Value{}, `invalid integer partition value "1.0": invalid syntax`},
		{arrow.PrimitiveTypes.Int32, ptr("abc"), Value{}, `invalid integer partition value "abc": invalid syntax`},
		{arrow.PrimitiveTypes.Int64, ptr("9223372036854775807"), vInt(math.MaxInt64), ""},
		{arrow.PrimitiveTypes.Int64, ptr("9223372036854775808"), Value{}, `invalid long partition value "9223372036854775808": out of range`},
		{arrow.FixedWidthTypes.Boolean, ptr("true"), vBool(true), ""},
		{arrow.FixedWidthTypes.Boolean, ptr("false"), vBool(false), ""},
		{arrow.FixedWidthTypes.Boolean, ptr("yes"), Value{}, `invalid boolean partition value "yes": invalid syntax`},
		{arrow.PrimitiveTypes.Float64, ptr("1.25"), vFloat(1.25), ""},
		{arrow.PrimitiveTypes.Float64, ptr("-1E-3"), vFloat(-0.001), ""},
		{arrow.PrimitiveTypes.Float64, ptr("NaN"), vFloat(math.NaN()), ""},
		{arrow.PrimitiveTypes.Float64, ptr("Infinity"), vFloat(math.Inf(1)), ""},
		{arrow.PrimitiveTypes.Float64, ptr("-Infinity"), vFloat(math.Inf(-1)), ""},
		{arrow.PrimitiveTypes.Float64, ptr("1,5"), Value{}, `invalid double partition value "1,5": invalid syntax`},
		{arrow.PrimitiveTypes.Float32, ptr("0.1"), vFloat(float64(float32(0.1))), ""},
		{arrow.PrimitiveTypes.Float32, ptr("1e39"), Value{}, `invalid float partition value "1e39": out of range`},
		{dec, ptr("123.45"), vDec("123.45"), ""},
		{dec, ptr("123.4"), vDec("123.40"), ""},
		{dec, ptr("-0.01"), vDec("-0.01"), ""},
		{dec, ptr("99999999.99"), vDec("99999999.99"), ""},
		{dec, ptr("123.456"), Value{}, `invalid decimal(10,2) partition value "123.456": does not fit decimal(10,2)`},
		{dec, ptr("100000000"), Value{}, `invalid decimal(10,2) partition value "100000000": does not fit decimal(10,2)`},
		{dec, ptr("1/2"), Value{}, `invalid decimal(10,2) partition value "1/2": invalid syntax`},
		{&arrow.Decimal128Type{Precision: 38, Scale: 18}, ptr("12345678901234567890.123456789012345678"), vDec("12345678901234567890.123456789012345678"), ""},
		{arrow.FixedWidthTypes.Date32, ptr("1970-01-01"), vDate(0), ""},
		{arrow.FixedWidthTypes.Date32, ptr("2024-02-29"), vDate(19782), ""},
		{arrow.FixedWidthTypes.Date32, ptr("1900-01-01"), vDate(-25567), ""},
		{arrow.FixedWidthTypes.Date32, ptr("2023-02-29"), Value{}, `invalid date partition value "2023-02-29": out of range`},
		{arrow.FixedWidthTypes.Date32, ptr("01/02/2023"), Value{}, `invalid date partition value "01/02/2023": invalid syntax`},
		{ts, ptr("1970-01-01 00:00:00"), vTS(0), ""},
		{ts, ptr("1970-01-01 00:00:00.123456"), vTS(123456), ""},
		{ts, ptr("1970-01-01 00:00:00.5"), vTS(500000), ""},
		{ts, ptr("2023-12-22 17:10:21.675"), vTS(1703265021675000), ""},
		{ts, ptr("1970-01-01T00:00:00.123456Z"), vTS(123456), ""},
		{ts, ptr("1970-01-01T01:00:00.000000+01:00"), vTS(0), ""},
		{ts, ptr("1969-12-31T19:00:00-05:00"), vTS(0), ""},
		{ts, ptr("1970-01-01 00:00:00.123456789"), vTS(123456), ""},
		{ts, ptr("1970-01-01 24:00:00"), Value{}, `invalid timestamp partition value "1970-01-01 24:00:00": out of range`},
		{ts, ptr("1970-01-01 00:00:00 +25:00"), Value{}, `invalid timestamp partition value "1970-01-01 00:00:00 +25:00": out of range`},
		{ts, ptr("yesterday"), Value{}, `invalid timestamp partition value "yesterday": invalid syntax`},
		{ntz, ptr("2021-06-01 12:30:00"), vTS(1622550600000000), ""},
		{ntz, ptr("2021-06-01T12:30:00"), vTS(1622550600000000), ""},
		{ntz, ptr("2021-06-01 12:30:00+02:00"), Value{}, `invalid timestamp_ntz partition value "2021-06-01 12:30:00+02:00": timestamp_ntz has no time zone`},
		{arrow.StructOf(), ptr("x"), Value{}, `invalid struct partition value "x": unsupported type`},
	}
	for _, tt := range tests {
		got, err := ParsePartitionValue(tt.dt, tt.s)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParsePartitionValue(%s, %q) error = %v, want %q", tt.dt, deref(tt.s), err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePartitionValue(%s, %q): %v", tt.dt, deref(tt.s), err)
			continue
		}
		if !sameValue(got, tt.want) {
			t.Errorf("ParsePartitionValue(%s, %q) = %+v, want %+v", tt.dt, deref(tt.s), got, tt.want)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// sameValue is equality of kind and value (NaN equal to NaN).
func sameValue(a, b Value) bool {
	if a.Kind != b.Kind {
		return false
	}
	if a.Kind == KindNull {
		return true
	}
	c, ok := Compare(a, b)
	return ok && c == 0
}

func TestParseStatValue(t *testing.T) {
	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	ntz := &arrow.TimestampType{Unit: arrow.Microsecond}
	tests := []struct {
		dt      arrow.DataType
		raw     string
		want    Value
		wantErr string
	}{
		{arrow.PrimitiveTypes.Int64, `null`, Value{}, ""},
		{arrow.PrimitiveTypes.Int64, ` 42 `, vInt(42), ""},
		{arrow.PrimitiveTypes.Int64, `9007199254740993`, vInt(9007199254740993), ""}, // beyond float64 precision
		{arrow.PrimitiveTypes.Int64, `-9223372036854775808`, vInt(math.MinInt64), ""},
		{arrow.PrimitiveTypes.Int64, `9223372036854775808`, Value{}, `invalid long stat value 9223372036854775808: out of range`},
		{arrow.PrimitiveTypes.Int32, `1.0`, vInt(1), ""},
		{arrow.PrimitiveTypes.Int32, `1.5`, Value{}, `invalid integer stat value 1.5: invalid syntax`},
		{arrow.PrimitiveTypes.Int8, `200`, Value{}, `invalid byte stat value 200: out of range`},
		{arrow.PrimitiveTypes.Int32, `"7"`, vInt(7), ""},
		{arrow.PrimitiveTypes.Int32, `true`, Value{}, `invalid integer stat value true: unexpected boolean`},
		{arrow.PrimitiveTypes.Int32, `[1]`, Value{}, `invalid integer stat value [1]: invalid syntax`},
		{arrow.PrimitiveTypes.Int32, `1 2`, Value{}, `invalid integer stat value 1 2: invalid syntax`},
		{arrow.PrimitiveTypes.Float64, `1.5e300`, vFloat(1.5e300), ""},
		{arrow.PrimitiveTypes.Float64, `"NaN"`, vFloat(math.NaN()), ""},
		{arrow.PrimitiveTypes.Float64, `"Infinity"`, vFloat(math.Inf(1)), ""},
		{arrow.PrimitiveTypes.Float64, `"-Infinity"`, vFloat(math.Inf(-1)), ""},
		{arrow.PrimitiveTypes.Float32, `0.1`, vFloat(float64(float32(0.1))), ""},
		{arrow.PrimitiveTypes.Float32, `3.4028235E38`, vFloat(math.MaxFloat32), ""},
		{&arrow.Decimal128Type{Precision: 38, Scale: 10}, `12345678901234567890.0123456789`, vDec("12345678901234567890.0123456789"), ""},
		{&arrow.Decimal128Type{Precision: 5, Scale: 2}, `-1.50`, vDec("-1.5"), ""},
		{&arrow.Decimal128Type{Precision: 5, Scale: 2}, `1e-2`, vDec("0.01"), ""},
		{&arrow.Decimal128Type{Precision: 5, Scale: 2}, `"x"`, Value{}, `invalid decimal(5,2) stat value "x": invalid syntax`},
		{arrow.FixedWidthTypes.Boolean, `false`, vBool(false), ""},
		{arrow.BinaryTypes.String, `"a\"b\u00e9"`, vStr("a\"bé"), ""},
		{arrow.BinaryTypes.String, `12`, Value{}, `invalid string stat value 12: unexpected number`},
		{arrow.BinaryTypes.String, `"unterminated`, Value{}, `invalid string stat value "unterminated: invalid syntax`},
		{arrow.BinaryTypes.Binary, `"\u0001\u0002"`, vBin("\x01\x02"), ""},
		{arrow.FixedWidthTypes.Date32, `"2021-01-01"`, vDate(18628), ""},
		{arrow.FixedWidthTypes.Date32, `"2021-13-01"`, Value{}, `invalid date stat value "2021-13-01": out of range`},
		{arrow.FixedWidthTypes.Date32, `18628`, Value{}, `invalid date stat value 18628: unexpected number`},
		{ts, `"2021-01-01T00:00:00.000Z"`, vTS(1609459200000000), ""},
		{ts, `"2021-01-01T00:00:00.123Z"`, vTS(1609459200123000), ""},
		{ts, `"2021-01-01T01:00:00.000+01:00"`, vTS(1609459200000000), ""},
		{ts, `"2020-12-31T16:00:00.000-08:00"`, vTS(1609459200000000), ""},
		{ts, `"2021-01-01 00:00:00"`, vTS(1609459200000000), ""},
		{ts, `"2021-01-01T00:00:00.000+0100"`, vTS(1609455600000000), ""},
		{ts, `"2021-01-01T00:00:00.000+01"`, vTS(1609455600000000), ""},
		{ts, `"2021-01-01T00:00:00.000 CET"`, Value{}, `invalid timestamp stat value "2021-01-01T00:00:00.000 CET": invalid syntax`},
		{ntz, `"2021-01-01T00:00:00.000"`, vTS(1609459200000000), ""},
	}
	for _, tt := range tests {
		got, err := ParseStatValue(tt.dt, json.RawMessage(tt.raw))
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseStatValue(%s, %s) error = %v, want %q", tt.dt, tt.raw, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseStatValue(%s, %s): %v", tt.dt, tt.raw, err)
			continue
		}
		if !sameValue(got, tt.want) {
			t.Errorf("ParseStatValue(%s, %s) = %+v, want %+v", tt.dt, tt.raw, got, tt.want)
		}
	}
	// Decimal stats keep every digit: no float64 round trip.
	v, _ := ParseStatValue(&arrow.Decimal128Type{Precision: 38, Scale: 2}, json.RawMessage(`123456789012345678901234567890123456.78`))
	if v.Dec.FloatString(2) != "123456789012345678901234567890123456.78" {
		t.Errorf("decimal stat lost digits: %s", v.Dec.FloatString(2))
	}
	// Absurd exponents are rejected, not materialized.
	if _, err := ParseStatValue(&arrow.Decimal128Type{Precision: 38, Scale: 2}, json.RawMessage(`1e999999999`)); err == nil || !strings.Contains(err.Error(), "invalid decimal") {
		t.Errorf("huge exponent: %v", err)
	}
}
