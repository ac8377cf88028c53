package predicate

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// skipSchema is the table of the skipping tests.
var skipSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "i2", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
	{Name: "dec", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "ntz", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
	{Name: "flag", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "p", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "st", Type: arrow.StructOf(arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int32, Nullable: true}), Nullable: true},
}, nil)

// leafTypes are the leaf columns of skipSchema by path.
var leafTypes = func() map[string]arrow.DataType {
	m := map[string]arrow.DataType{}
	for _, f := range skipSchema.Fields() {
		if st, ok := f.Type.(*arrow.StructType); ok {
			for _, c := range st.Fields() {
				m[f.Name+"."+c.Name] = c.Type
			}
			continue
		}
		m[f.Name] = f.Type
	}
	return m
}()

// cs describes one column's statistics; nil Min/Max and negative NullCount
// are unknown.
type cs struct {
	min, max *Value
	nc       int64
}

func mm(min, max Value) cs            { return cs{min: &min, max: &max, nc: -1} }
func mmn(min, max Value, nc int64) cs { return cs{min: &min, max: &max, nc: nc} }
func onlyMin(min Value) cs            { return cs{min: &min, nc: -1} }
func onlyMax(max Value) cs            { return cs{max: &max, nc: -1} }
func nulls(nc int64) cs               { return cs{nc: nc} }

// part is a partition value as the reader passes it: min = max = v.
func part(v Value, n int64) cs {
	if v.Kind == KindNull {
		return nulls(n)
	}
	return mmn(v, v, 0)
}

func toStats(n int64, cols map[string]cs) mapStats {
	s := mapStats{min: map[string]Value{}, max: map[string]Value{}, nullCount: map[string]int64{}}
	if n >= 0 {
		s.numRecords = i64(n)
	}
	for c, st := range cols {
		if st.min != nil {
			s.min[c] = *st.min
		}
		if st.max != nil {
			s.max[c] = *st.max
		}
		if st.nc >= 0 {
			s.nullCount[c] = st.nc
		}
	}
	return s
}

func tsv(s string) Value {
	us, err := parseTimestamp(s, false)
	if err != nil {
		panic(err)
	}
	return vTS(us)
}

func datev(s string) Value {
	d, err := parseDate(s)
	if err != nil {
		panic(err)
	}
	return vDate(d)
}

func f32v(f float64) Value { return vFloat(float64(float32(f))) }

type skipCase struct {
	where string
	n     int64 // numRecords; -1 unknown
	cols  map[string]cs
	want  bool
}

var long32 = strings.Repeat("m", 32)

var skipCases = []skipCase{
	// = and the bounds
	{"i = 5", 4, map[string]cs{"i": mm(vInt(1), vInt(4))}, false},
	{"i = 5", 4, map[string]cs{"i": mm(vInt(1), vInt(5))}, true},
	{"i = 5", 4, map[string]cs{"i": mm(vInt(5), vInt(9))}, true},
	{"i = 5", 4, map[string]cs{"i": mm(vInt(6), vInt(9))}, false},
	{"i = 5", 4, map[string]cs{}, true},
	{"i = 5", -1, map[string]cs{}, true},
	{"i = 5", 4, map[string]cs{"i": onlyMin(vInt(6))}, false},
	{"i = 5", 4, map[string]cs{"i": onlyMax(vInt(4))}, false},
	{"i = 5", 4, map[string]cs{"i": onlyMin(vInt(4))}, true},
	{"i = 5", 4, map[string]cs{"i": mm(vStr("a"), vStr("b"))}, true}, // unexpected stat kind: unknown
	{"i = 5", 4, map[string]cs{"i": mm(Value{}, Value{})}, true},     // KindNull bounds: unknown
	{"5 = i", 4, map[string]cs{"i": mm(vInt(6), vInt(9))}, false},
	// !=
	{"i != 5", 4, map[string]cs{"i": mmn(vInt(5), vInt(5), 0)}, false},
	{"i != 5", 4, map[string]cs{"i": mmn(vInt(5), vInt(5), 2)}, false}, // the nulls do not match either
	{"i != 5", 4, map[string]cs{"i": mm(vInt(5), vInt(6))}, true},
	{"i <> 5", 4, map[string]cs{"i": onlyMin(vInt(5))}, true},
	// < <= > >=
	{"i < 5", 4, map[string]cs{"i": mm(vInt(5), vInt(9))}, false},
	{"i < 5", 4, map[string]cs{"i": mm(vInt(4), vInt(9))}, true},
	{"i <= 5", 4, map[string]cs{"i": mm(vInt(5), vInt(9))}, true},
	{"i <= 5", 4, map[string]cs{"i": mm(vInt(6), vInt(9))}, false},
	{"i > 5", 4, map[string]cs{"i": mm(vInt(1), vInt(5))}, false},
	{"i > 5", 4, map[string]cs{"i": mm(vInt(1), vInt(6))}, true},
	{"i >= 5", 4, map[string]cs{"i": mm(vInt(1), vInt(4))}, false},
	{"i >= 5", 4, map[string]cs{"i": mm(vInt(1), vInt(5))}, true},
	{"i > 5", 4, map[string]cs{"i": onlyMin(vInt(100))}, true},
	{"5 > i", 4, map[string]cs{"i": mm(vInt(5), vInt(9))}, false},
	{"5 <= i", 4, map[string]cs{"i": mm(vInt(1), vInt(4))}, false},
	{"i > 2.5", 4, map[string]cs{"i": mm(vInt(0), vInt(2))}, false},
	{"i > 2.5", 4, map[string]cs{"i": mm(vInt(0), vInt(3))}, true},
	{"i = 2.5", 4, map[string]cs{"i": mm(vInt(2), vInt(3))}, true},
	{"i < 1e20", 4, map[string]cs{"i": mm(vInt(math.MaxInt64), vInt(math.MaxInt64))}, true},
	{"i = 9223372036854775808", 4, map[string]cs{"i": mm(vInt(0), vInt(math.MaxInt64))}, false},
	{"i >= -9223372036854775808", 4, map[string]cs{"i": mm(vInt(math.MinInt64), vInt(math.MinInt64))}, true},
	// all null, IS [NOT] NULL
	{"i = 5", 3, map[string]cs{"i": nulls(3)}, false},
	{"i != 5", 3, map[string]cs{"i": nulls(3)}, false},
	{"i IN (5)", 3, map[string]cs{"i": nulls(3)}, false},
	{"i NOT IN (5)", 3, map[string]cs{"i": nulls(3)}, false},
	{"i IS NULL", 3, map[string]cs{"i": nulls(3)}, true},
	{"i IS NULL", 3, map[string]cs{"i": nulls(0)}, false},
	{"i IS NULL", 3, map[string]cs{"i": nulls(1)}, true},
	{"i IS NULL", 3, map[string]cs{}, true},
	{"i IS NOT NULL", 3, map[string]cs{"i": nulls(3)}, false},
	{"i IS NOT NULL", 3, map[string]cs{"i": nulls(2)}, true},
	{"i IS NOT NULL", 3, map[string]cs{}, true},
	{"i IS NOT NULL", -1, map[string]cs{"i": nulls(3)}, true},
	{"i = 5", -1, map[string]cs{"i": nulls(3)}, true},
	// NOT pushed down
	{"NOT (i = 5)", 4, map[string]cs{"i": mmn(vInt(5), vInt(5), 0)}, false},
	{"NOT (i = 5)", 4, map[string]cs{"i": mmn(vInt(5), vInt(6), 0)}, true},
	{"NOT (i != 5)", 4, map[string]cs{"i": mm(vInt(1), vInt(4))}, false},
	{"NOT (i < 5)", 4, map[string]cs{"i": mm(vInt(1), vInt(4))}, false},
	{"NOT (i <= 5)", 4, map[string]cs{"i": mm(vInt(1), vInt(5))}, false},
	{"NOT (i > 5)", 4, map[string]cs{"i": mm(vInt(6), vInt(9))}, false},
	{"NOT (i >= 5)", 4, map[string]cs{"i": mm(vInt(5), vInt(9))}, false},
	{"NOT (i IS NULL)", 3, map[string]cs{"i": nulls(3)}, false},
	{"NOT (i IS NOT NULL)", 3, map[string]cs{"i": nulls(0)}, false},
	{"NOT NOT (i = 5)", 4, map[string]cs{"i": mm(vInt(6), vInt(9))}, false},
	{"NOT (i = 5)", 3, map[string]cs{"i": nulls(3)}, false},
	// IN / NOT IN
	{"i IN (1, 2)", 4, map[string]cs{"i": mm(vInt(3), vInt(9))}, false},
	{"i IN (1, 5)", 4, map[string]cs{"i": mm(vInt(3), vInt(9))}, true},
	{"i IN (10, 20)", 4, map[string]cs{"i": mm(vInt(3), vInt(9))}, false},
	{"i IN (NULL)", 4, map[string]cs{}, false},
	{"i IN (NULL, 5)", 4, map[string]cs{"i": mm(vInt(5), vInt(5))}, true},
	{"i NOT IN (5)", 4, map[string]cs{"i": mm(vInt(5), vInt(5))}, false},
	{"i NOT IN (4, 5)", 4, map[string]cs{"i": mm(vInt(5), vInt(5))}, false},
	{"i NOT IN (5, 6)", 4, map[string]cs{"i": mm(vInt(5), vInt(6))}, true}, // conservative
	{"i NOT IN (1, NULL)", 4, map[string]cs{}, false},
	{"NOT (i IN (5))", 4, map[string]cs{"i": mm(vInt(5), vInt(5))}, false},
	{"NOT (i IN (1, NULL))", 4, map[string]cs{}, false},
	{"NOT (i NOT IN (1, 2))", 4, map[string]cs{"i": mm(vInt(3), vInt(9))}, false},
	{"NOT (i NOT IN (1, NULL))", 4, map[string]cs{"i": mm(vInt(3), vInt(9))}, false},
	{"NOT (i NOT IN (1, NULL))", 4, map[string]cs{"i": mm(vInt(0), vInt(9))}, true},
	// AND / OR and De Morgan
	{"i = 5 AND i2 = 1", 4, map[string]cs{"i": mm(vInt(6), vInt(9))}, false},
	{"i = 5 AND i2 = 1", 4, map[string]cs{"i": mm(vInt(5), vInt(9))}, true},
	{"i = 5 OR i2 = 1", 4, map[string]cs{"i": mm(vInt(6), vInt(9))}, true},
	{"i = 5 OR i2 = 1", 4, map[string]cs{"i": mm(vInt(6), vInt(9)), "i2": mm(vInt(2), vInt(3))}, false},
	{"NOT (i = 5 OR i2 = 1)", 4, map[string]cs{"i": mm(vInt(5), vInt(5))}, false},
	{"NOT (i = 5 OR i2 = 1)", 4, map[string]cs{"i": mm(vInt(4), vInt(5))}, true},
	{"NOT (i = 5 AND i2 = 1)", 4, map[string]cs{"i": mm(vInt(5), vInt(5)), "i2": mm(vInt(1), vInt(1))}, false},
	{"NOT (i = 5 AND i2 = 1)", 4, map[string]cs{"i": mm(vInt(5), vInt(5)), "i2": mm(vInt(1), vInt(2))}, true},
	{"NOT (i > 5 AND NOT (i2 < 0))", 4, map[string]cs{"i": mm(vInt(6), vInt(9)), "i2": mm(vInt(0), vInt(9))}, false},
	// column against column
	{"i = i2", 4, map[string]cs{"i": mm(vInt(1), vInt(2)), "i2": mm(vInt(8), vInt(9))}, true},
	{"i = i2", 4, map[string]cs{"i": nulls(4)}, false},
	{"NOT (i < i2)", 4, map[string]cs{"i2": nulls(4)}, false},
	{"NOT (i < i2)", 4, map[string]cs{}, true},
	// constants and NULL literals
	{"TRUE", 4, map[string]cs{}, true},
	{"FALSE", 4, map[string]cs{}, false},
	{"NULL", 4, map[string]cs{}, false},
	{"NOT NULL", 4, map[string]cs{}, false},
	{"NOT FALSE", 4, map[string]cs{}, true},
	{"i = NULL", 4, map[string]cs{}, false},
	{"NOT (i = NULL)", 4, map[string]cs{}, false},
	{"i = NULL OR i = 5", 4, map[string]cs{"i": mm(vInt(6), vInt(9))}, false},
	{"NOT (i = NULL AND i = 5)", 4, map[string]cs{"i": mm(vInt(5), vInt(5))}, false},
	{"NOT (i = NULL AND i = 5)", 4, map[string]cs{"i": mm(vInt(4), vInt(5))}, true},
	// empty file
	{"i IS NULL", 0, map[string]cs{}, false},
	{"TRUE", 0, map[string]cs{}, false},
	// floats: NaN in stats means no skipping; NaN rows may be missing from
	// the bounds, so the max does not bound comparisons NaN satisfies.
	{"f < 5", 4, map[string]cs{"f": mm(vFloat(6), vFloat(9))}, false},
	{"f <= 5", 4, map[string]cs{"f": mm(vFloat(6), vFloat(9))}, false},
	{"f = 5", 4, map[string]cs{"f": mm(vFloat(1), vFloat(4))}, false},
	{"f = 5", 4, map[string]cs{"f": mm(vFloat(6), vFloat(9))}, false},
	{"f IN (5, 10)", 4, map[string]cs{"f": mm(vFloat(6), vFloat(9))}, false},
	{"f > 5", 4, map[string]cs{"f": mm(vFloat(1), vFloat(4))}, true},
	{"f >= 5", 4, map[string]cs{"f": mm(vFloat(1), vFloat(4))}, true},
	{"f != 5", 4, map[string]cs{"f": mm(vFloat(5), vFloat(5))}, true},
	{"f NOT IN (5)", 4, map[string]cs{"f": mm(vFloat(5), vFloat(5))}, true},
	{"f < 5", 4, map[string]cs{"f": mm(vFloat(math.NaN()), vFloat(math.NaN()))}, true},
	{"f = 5", 4, map[string]cs{"f": mm(vFloat(6), vFloat(math.NaN()))}, true},
	{"f = 'NaN'", 4, map[string]cs{"f": mm(vFloat(1), vFloat(4))}, true},
	{"f < 'NaN'", 4, map[string]cs{"f": mm(vFloat(1), vFloat(4))}, true},
	{"f < '-Infinity'", 4, map[string]cs{"f": mm(vFloat(math.Inf(-1)), vFloat(4))}, false},
	{"f <= '-Infinity'", 4, map[string]cs{"f": mm(vFloat(math.Inf(-1)), vFloat(4))}, true},
	{"f = 0", 4, map[string]cs{"f": mm(vFloat(math.Copysign(0, -1)), vFloat(math.Copysign(0, -1)))}, true},
	{"NOT (f > 5)", 4, map[string]cs{"f": mm(vFloat(6), vFloat(9))}, false},
	{"NOT (f <= 5)", 4, map[string]cs{"f": mm(vFloat(1), vFloat(4))}, true},
	{"f32 = 0.1", 4, map[string]cs{"f32": mm(f32v(0.1), f32v(0.1))}, true},
	{"f32 < 0.1", 4, map[string]cs{"f32": mm(f32v(0.1), f32v(0.2))}, false},
	{"f32 <= 0.1", 4, map[string]cs{"f32": mm(f32v(0.1), f32v(0.2))}, true},
	{"f32 = 0.3", 4, map[string]cs{"f32": mm(f32v(0.1), f32v(0.2))}, false},
	{"f32 > 0.2", 4, map[string]cs{"f32": mm(f32v(0.1), f32v(0.2))}, true},
	// decimals, exactly
	{"dec = 10", 4, map[string]cs{"dec": mm(vDec("10.00"), vDec("10.00"))}, true},
	{"dec = 10.001", 4, map[string]cs{"dec": mm(vDec("10"), vDec("10"))}, false},
	{"dec > 99.99", 4, map[string]cs{"dec": mm(vDec("1"), vDec("99.99"))}, false},
	{"dec >= 99.99", 4, map[string]cs{"dec": mm(vDec("1"), vDec("99.99"))}, true},
	{"dec != 10", 4, map[string]cs{"dec": mm(vDec("10.00"), vDec("10"))}, false},
	{"dec < 0.1e0", 4, map[string]cs{"dec": mm(vDec("0.10"), vDec("1"))}, false},
	{"dec > 0.005", 4, map[string]cs{"dec": mm(vDec("-1"), vDec("0.00"))}, false},
	{"dec > 0.005", 4, map[string]cs{"dec": mm(vDec("-1"), vDec("0.01"))}, true},
	// strings: a max of 32 characters or more may be a truncated prefix
	{"s = 'b'", 4, map[string]cs{"s": mm(vStr("c"), vStr("d"))}, false},
	{"s = 'b'", 4, map[string]cs{"s": mm(vStr("a"), vStr("az"))}, false},
	{"s = 'b'", 4, map[string]cs{"s": mm(vStr("a"), vStr("bz"))}, true},
	{"s > 'm'", 4, map[string]cs{"s": mm(vStr("a"), vStr("l"))}, false},
	{"s > '" + long32 + "a'", 4, map[string]cs{"s": mm(vStr("a"), vStr(long32))}, true},
	{"s = '" + long32 + "a'", 4, map[string]cs{"s": mm(vStr("a"), vStr(long32))}, true},
	{"s >= '" + long32 + "a'", 4, map[string]cs{"s": mm(vStr("a"), vStr(long32))}, true},
	{"s = 'x'", 4, map[string]cs{"s": mm(vStr("a"), vStr(strings.Repeat("w", 31)))}, false},
	{"s > 'x'", 4, map[string]cs{"s": mm(vStr("a"), vStr(strings.Repeat("é", 15)))}, true}, // 'é' > 'x' bytewise
	{"s > 'ê'", 4, map[string]cs{"s": mm(vStr("a"), vStr(strings.Repeat("é", 15)))}, false},
	{"s > 'ê'", 4, map[string]cs{"s": mm(vStr("a"), vStr(strings.Repeat("é", 16)))}, true},      // 32 bytes: maybe truncated by bytes
	{"s < 'b'", 4, map[string]cs{"s": mm(vStr("b"+strings.Repeat("z", 31)), vStr("c"))}, false}, // a truncated min is still a lower bound
	{"s >= 'é'", 4, map[string]cs{"s": mm(vStr("a"), vStr("z"))}, false},
	{"s != 'a'", 4, map[string]cs{"s": mm(vStr("a"), vStr("a"))}, false},
	{"s != '" + long32 + "'", 4, map[string]cs{"s": mm(vStr(long32), vStr(long32))}, true},
	{"s IN ('a', 'b')", 4, map[string]cs{"s": mm(vStr("c"), vStr("d"))}, false},
	{"s < 'a'", 4, map[string]cs{"s": mm(vStr(""), vStr("d"))}, true},
	{"s < ''", 4, map[string]cs{"s": mm(vStr(""), vStr("d"))}, false},
	{"bin = X'00'", 4, map[string]cs{"bin": mm(vBin("\x01"), vBin("\x02"))}, false},
	{"bin < X'01'", 4, map[string]cs{"bin": mm(vBin("\x00"), vBin("\x02"))}, true},
	// dates
	{"d = '2021-01-01'", 4, map[string]cs{"d": mm(datev("2021-01-02"), datev("2021-02-01"))}, false},
	{"d >= DATE '2021-01-01'", 4, map[string]cs{"d": mm(datev("2020-01-01"), datev("2020-12-31"))}, false},
	{"d < TIMESTAMP '2021-01-01 00:00:01'", 4, map[string]cs{"d": mm(datev("2021-01-01"), datev("2021-01-09"))}, true},
	{"d < TIMESTAMP '2021-01-01 00:00:01'", 4, map[string]cs{"d": mm(datev("2021-01-02"), datev("2021-01-09"))}, false},
	// timestamps: the max is truncated to milliseconds
	{"ts > TIMESTAMP '2021-01-01 00:00:00.0005'", 4, map[string]cs{"ts": mm(tsv("2020-01-01"), tsv("2021-01-01 00:00:00.000"))}, true},
	{"ts >= TIMESTAMP '2021-01-01 00:00:00.000999'", 4, map[string]cs{"ts": mm(tsv("2020-01-01"), tsv("2021-01-01 00:00:00.000"))}, true},
	{"ts > TIMESTAMP '2021-01-01 00:00:00.000999'", 4, map[string]cs{"ts": mm(tsv("2020-01-01"), tsv("2021-01-01 00:00:00.000"))}, false},
	{"ts > TIMESTAMP '2021-01-01 00:00:00.001'", 4, map[string]cs{"ts": mm(tsv("2020-01-01"), tsv("2021-01-01 00:00:00.000"))}, false},
	{"ts = TIMESTAMP '2021-01-01 00:00:00.0005'", 4, map[string]cs{"ts": mm(tsv("2021-01-01"), tsv("2021-01-01"))}, true},
	{"ts = TIMESTAMP '2021-01-01 00:00:00.0015'", 4, map[string]cs{"ts": mm(tsv("2021-01-01"), tsv("2021-01-01"))}, false},
	{"ts < TIMESTAMP '2021-01-01 00:00:00'", 4, map[string]cs{"ts": mm(tsv("2021-01-01"), tsv("2021-02-01"))}, false},
	{"ts <= TIMESTAMP '2021-01-01 00:00:00'", 4, map[string]cs{"ts": mm(tsv("2021-01-01"), tsv("2021-02-01"))}, true},
	{"ts != TIMESTAMP '2021-01-01 00:00:00'", 4, map[string]cs{"ts": mm(tsv("2021-01-01"), tsv("2021-01-01"))}, true},
	{"ts < '2021-01-01'", 4, map[string]cs{"ts": mm(tsv("2021-01-01T01:00:00.000+01:00"), tsv("2021-02-01"))}, false},
	{"ts >= '2021-01-01T11:59:59.9995+12:00'", 4, map[string]cs{"ts": mm(tsv("2020-01-01"), tsv("2020-12-31T23:59:59.999"))}, true},
	{"ts >= '2021-01-01T12:00:00+11:00'", 4, map[string]cs{"ts": mm(tsv("2020-01-01"), tsv("2020-12-31T23:59:59.999"))}, false},
	{"ntz > TIMESTAMP_NTZ '2021-01-01 00:00:00.0005'", 4, map[string]cs{"ntz": mm(tsv("2020-01-01"), tsv("2021-01-01"))}, true},
	{"ntz > TIMESTAMP_NTZ '2021-01-01 00:00:00.001'", 4, map[string]cs{"ntz": mm(tsv("2020-01-01"), tsv("2021-01-01"))}, false},
	// booleans
	{"flag", 4, map[string]cs{"flag": mm(vBool(true), vBool(true))}, true},
	{"flag", 4, map[string]cs{"flag": mm(vBool(false), vBool(false))}, false},
	{"NOT flag", 4, map[string]cs{"flag": mm(vBool(true), vBool(true))}, false},
	{"flag = FALSE", 4, map[string]cs{"flag": mm(vBool(false), vBool(true))}, true},
	// nested
	{"st.x > 5", 4, map[string]cs{"st.x": mm(vInt(1), vInt(5))}, false},
	{"ST.X > 5", 4, map[string]cs{"st.x": mm(vInt(1), vInt(6))}, true},
	{"st.x IS NULL", 4, map[string]cs{"st.x": nulls(0)}, false},
	// partition values: min = max = value, null count 0 or all
	{"p = 3", 5, map[string]cs{"p": part(vInt(2), 5)}, false},
	{"p = 3", 5, map[string]cs{"p": part(vInt(3), 5)}, true},
	{"p != 3", 5, map[string]cs{"p": part(vInt(3), 5)}, false},
	{"p != 3", 5, map[string]cs{"p": part(vInt(4), 5)}, true},
	{"p IN (1, 2)", 5, map[string]cs{"p": part(vInt(3), 5)}, false},
	{"p NOT IN (3)", 5, map[string]cs{"p": part(vInt(3), 5)}, false},
	{"p IS NULL", 5, map[string]cs{"p": part(vInt(3), 5)}, false},
	{"p IS NOT NULL", 5, map[string]cs{"p": part(vInt(3), 5)}, true},
	{"p = 3", 5, map[string]cs{"p": part(Value{}, 5)}, false},
	{"p IS NULL", 5, map[string]cs{"p": part(Value{}, 5)}, true},
	{"p IS NOT NULL", 5, map[string]cs{"p": part(Value{}, 5)}, false},
	{"p > 1 AND p < 3", 5, map[string]cs{"p": part(vInt(3), 5)}, false},
}

// TestMayMatch checks each case's expected result, then generates random
// files consistent with the case's statistics and checks that when MayMatch
// says false, Filter keeps no row of any of them.
func TestMayMatch(t *testing.T) {
	mem := memory.NewGoAllocator()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range skipCases {
		b := mustBind(t, tc.where, skipSchema)
		stats := toStats(tc.n, tc.cols)
		if got := b.MayMatch(stats); got != tc.want {
			t.Errorf("MayMatch(%s | %s) = %v, want %v", tc.where, describeStats(tc), got, tc.want)
			continue
		}
		if tc.want {
			continue
		}
		for range 120 {
			rows := genRows(rng, tc.n, tc.cols)
			rec := buildRecord(t, mem, skipSchema, rows)
			out, err := b.Filter(rec, mem)
			if err != nil {
				t.Fatal(err)
			}
			if out.NumRows() != 0 {
				t.Errorf("%s | %s: skipped, but Filter keeps %d of these rows:\n%s", tc.where, describeStats(tc), out.NumRows(), dumpRows(rows))
				out.Release()
				rec.Release()
				break
			}
			out.Release()
			rec.Release()
		}
	}
}

func describeStats(tc skipCase) string {
	var parts []string
	parts = append(parts, fmt.Sprintf("numRecords=%d", tc.n))
	for c, st := range tc.cols {
		s := c + ":"
		if st.min != nil {
			s += " min=" + st.min.String()
		}
		if st.max != nil {
			s += " max=" + st.max.String()
		}
		if st.nc >= 0 {
			s += fmt.Sprintf(" nullCount=%d", st.nc)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func dumpRows(rows []row) string {
	var sb strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&sb, "  %v\n", r)
	}
	return sb.String()
}

// genRows generates rows consistent with the statistics: numRecords rows
// (random when unknown), exactly nullCount nulls per column where known,
// values within [min, max] read the way writers produce them: the true max of
// a timestamp up to 999µs above the recorded one, a string max of 32
// characters possibly a prefix of longer values, NaN anywhere in a float
// column whose bounds leave NaN out.
func genRows(rng *rand.Rand, n int64, cols map[string]cs) []row {
	if n < 0 {
		n = int64(1 + rng.IntN(8))
	}
	rows := make([]row, n)
	for i := range rows {
		rows[i] = row{"id": vInt(int64(i)), "st": vBool(true)}
	}
	for path, dt := range leafTypes {
		if path == "id" {
			continue
		}
		st, ok := cols[path]
		if !ok {
			st = cs{nc: -1}
		}
		nullAt := make([]bool, n)
		if st.nc >= 0 {
			for _, j := range rng.Perm(int(n))[:min(int(st.nc), int(n))] {
				nullAt[j] = true
			}
		} else {
			for j := range nullAt {
				nullAt[j] = rng.IntN(4) == 0
			}
		}
		for j := range rows {
			if nullAt[j] {
				rows[j][path] = Value{}
				continue
			}
			rows[j][path] = genValue(rng, dt, st)
		}
	}
	return rows
}

// genValue draws a random value of type dt within the bounds of st.
func genValue(rng *rand.Rand, dt arrow.DataType, st cs) Value {
	var lo, hi *Value
	if st.min != nil && st.min.Kind != KindNull {
		lo = st.min
	}
	if st.max != nil && st.max.Kind != KindNull {
		hi = st.max
	}
	cands := candidates(rng, dt, lo, hi)
	ok := func(v Value) bool { return inBounds(dt, v, lo, hi) }
	for range 50 {
		v := cands[rng.IntN(len(cands))]
		if ok(v) {
			return v
		}
	}
	for _, v := range cands {
		if ok(v) {
			return v
		}
	}
	panic(fmt.Sprintf("no %s value within [%v, %v]", dt, lo, hi))
}

func inBounds(dt arrow.DataType, v Value, lo, hi *Value) bool {
	cl := classOf(dt)
	if cl == clsFloat && v.isNaN() {
		return true // bounds from Parquet statistics leave NaN out
	}
	if lo != nil {
		if lo.isNaN() {
			// Spark's min is NaN only when every value is NaN.
			return v.isNaN()
		}
		if c, ok := Compare(v, *lo); ok && c < 0 {
			return false
		}
	}
	if hi != nil {
		h := *hi
		if h.isNaN() {
			return true
		}
		if cl == clsTimestamp && h.Kind == KindTimestamp {
			h.Int += 999
		}
		c, ok := Compare(v, h)
		if ok && c > 0 {
			if (cl == clsString || cl == clsBinary) && len(h.Str) >= 32 && strings.HasPrefix(v.Str, h.Str) {
				return true
			}
			return false
		}
	}
	return true
}

// candidates lists values of dt worth trying: the bounds, their neighbours,
// special values and random ones.
func candidates(rng *rand.Rand, dt arrow.DataType, lo, hi *Value) []Value {
	var out []Value
	add := func(vs ...Value) { out = append(out, vs...) }
	switch classOf(dt) {
	case clsInt:
		lim := int64(math.MaxInt64)
		if _, ok := dt.(*arrow.Int32Type); ok {
			lim = math.MaxInt32
		}
		add(vInt(0), vInt(-lim-1), vInt(lim))
		for range 10 {
			add(vInt(rng.Int64N(41) - 20))
		}
		for _, b := range []*Value{lo, hi} {
			if b != nil && b.Kind == KindInt {
				for d := int64(-2); d <= 2; d++ {
					if x := b.Int + d; (d < 0 && x < b.Int || d >= 0 && x >= b.Int) && x >= -lim-1 && x <= lim {
						add(vInt(x))
					}
				}
			}
		}
		if lo != nil && hi != nil && lo.Kind == KindInt && hi.Kind == KindInt && hi.Int >= lo.Int && hi.Int-lo.Int > 0 && hi.Int-lo.Int < 1<<62 {
			add(vInt(lo.Int + rng.Int64N(hi.Int-lo.Int+1)))
		}
	case clsFloat:
		f32 := false
		if _, ok := dt.(*arrow.Float32Type); ok {
			f32 = true
		}
		conv := func(f float64) Value {
			if f32 {
				return vFloat(float64(float32(f)))
			}
			return vFloat(f)
		}
		add(conv(0), conv(math.Copysign(0, -1)), conv(math.NaN()), conv(math.Inf(1)), conv(math.Inf(-1)), conv(0.1), conv(0.2), conv(0.3))
		for range 10 {
			add(conv(rng.NormFloat64() * 10))
			add(conv(float64(rng.IntN(21) - 10)))
		}
		for _, b := range []*Value{lo, hi} {
			if b != nil && b.Kind == KindFloat {
				add(*b)
				if f32 {
					add(vFloat(float64(math.Nextafter32(float32(b.Float), float32(math.Inf(1))))), vFloat(float64(math.Nextafter32(float32(b.Float), float32(math.Inf(-1))))))
				} else {
					add(vFloat(math.Nextafter(b.Float, math.Inf(1))), vFloat(math.Nextafter(b.Float, math.Inf(-1))))
				}
			}
		}
		if lo != nil && hi != nil && lo.Kind == KindFloat && hi.Kind == KindFloat {
			add(conv(lo.Float + rng.Float64()*(hi.Float-lo.Float)))
		}
	case clsDecimal:
		for range 10 {
			add(Value{Kind: KindDecimal, Dec: big.NewRat(rng.Int64N(4001)-2000, 100)})
		}
		for _, b := range []*Value{lo, hi} {
			if b != nil && b.Kind == KindDecimal {
				for d := int64(-2); d <= 2; d++ {
					add(Value{Kind: KindDecimal, Dec: new(big.Rat).Add(b.Dec, big.NewRat(d, 100))})
				}
			}
		}
	case clsString, clsBinary:
		kind := KindString
		if classOf(dt) == clsBinary {
			kind = KindBinary
		}
		alpha := []string{"", "a", "b", "m", "z", "é", "ê", "\x00", "\xff"}
		if kind == KindString {
			alpha = alpha[:7]
		}
		rnd := func() string {
			var sb strings.Builder
			for range rng.IntN(5) {
				sb.WriteString(alpha[rng.IntN(len(alpha))])
			}
			return sb.String()
		}
		for range 10 {
			add(Value{Kind: kind, Str: rnd()})
		}
		for _, b := range []*Value{lo, hi} {
			if b != nil {
				add(Value{Kind: kind, Str: b.Str}, Value{Kind: kind, Str: b.Str + rnd()}, Value{Kind: kind, Str: b.Str + "zzz"})
				if len(b.Str) > 0 {
					add(Value{Kind: kind, Str: b.Str[:len(b.Str)-1]})
				}
			}
		}
	case clsDate:
		add(vDate(0))
		for _, b := range []*Value{lo, hi} {
			if b != nil {
				for d := int64(-2); d <= 2; d++ {
					add(vDate(b.Int + d))
				}
			}
		}
		if lo != nil && hi != nil && hi.Int >= lo.Int {
			add(vDate(lo.Int + rng.Int64N(hi.Int-lo.Int+1)))
		}
	case clsTimestamp:
		add(vTS(0))
		for _, b := range []*Value{lo, hi} {
			if b != nil {
				for _, d := range []int64{-1000, -1, 0, 1, 500, 998, 999, 1000, 1001} {
					add(vTS(b.Int + d))
				}
				add(vTS(b.Int + rng.Int64N(2000) - 1000))
			}
		}
		if lo != nil && hi != nil && hi.Int >= lo.Int && hi.Int-lo.Int < 1<<62 {
			add(vTS(lo.Int + rng.Int64N(hi.Int-lo.Int+1)))
		}
	case clsBool:
		add(vBool(false), vBool(true))
	}
	return out
}
