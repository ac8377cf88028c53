package predicate

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
)

// Kind is the type of a Value.
type Kind uint8

// The kinds of Value.
const (
	KindNull Kind = iota
	KindBool
	KindInt
	KindFloat
	KindDecimal
	KindString
	KindBinary
	KindDate
	KindTimestamp
)

var kindNames = [...]string{
	KindNull:      "null",
	KindBool:      "boolean",
	KindInt:       "int",
	KindFloat:     "float",
	KindDecimal:   "decimal",
	KindString:    "string",
	KindBinary:    "binary",
	KindDate:      "date",
	KindTimestamp: "timestamp",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is a scalar: a literal of an expression, a statistic or a partition
// value. Only the field matching Kind is meaningful.
type Value struct {
	Kind  Kind
	Bool  bool
	Int   int64    // KindInt; KindDate = days since epoch; KindTimestamp = microseconds since epoch UTC (timestamp and timestamp_ntz)
	Float float64  // KindFloat
	Dec   *big.Rat // KindDecimal
	Str   string   // KindString, KindBinary (raw bytes)
}

const (
	microsPerSecond = int64(1_000_000)
	microsPerDay    = 86_400 * microsPerSecond
)

func (v Value) isNull() bool { return v.Kind == KindNull || (v.Kind == KindDecimal && v.Dec == nil) }

func (v Value) isNaN() bool { return v.Kind == KindFloat && math.IsNaN(v.Float) }

// Compare orders a and b. It returns false when the two are not comparable:
// either is null, or their kinds do not mix. Ints, floats and decimals compare
// numerically across kinds, exactly; NaN equals NaN and sorts above +Inf (as
// in Spark). Strings and binaries compare bytewise; dates compare with
// timestamps as midnight UTC.
func Compare(a, b Value) (int, bool) {
	if a.isNull() || b.isNull() {
		return 0, false
	}
	switch a.Kind {
	case KindBool:
		if b.Kind != KindBool {
			return 0, false
		}
		return cmpBool(a.Bool, b.Bool), true
	case KindInt, KindFloat, KindDecimal:
		return compareNumeric(a, b)
	case KindString, KindBinary:
		if b.Kind != KindString && b.Kind != KindBinary {
			return 0, false
		}
		return strings.Compare(a.Str, b.Str), true
	case KindDate, KindTimestamp:
		switch {
		case b.Kind == a.Kind:
			return cmpInt(a.Int, b.Int), true
		case b.Kind == KindDate:
			return cmpInt(a.Int, dateToMicros(b.Int)), true
		case b.Kind == KindTimestamp:
			return cmpInt(dateToMicros(a.Int), b.Int), true
		}
	}
	return 0, false
}

func compareNumeric(a, b Value) (int, bool) {
	switch b.Kind {
	case KindInt, KindFloat, KindDecimal:
	default:
		return 0, false
	}
	switch a.Kind {
	case KindInt:
		switch b.Kind {
		case KindInt:
			return cmpInt(a.Int, b.Int), true
		case KindFloat:
			return cmpIntFloat(a.Int, b.Float), true
		default:
			return -b.Dec.Cmp(new(big.Rat).SetInt64(a.Int)), true
		}
	case KindFloat:
		switch b.Kind {
		case KindInt:
			return -cmpIntFloat(b.Int, a.Float), true
		case KindFloat:
			return cmpFloat(a.Float, b.Float), true
		default:
			return -cmpRatFloat(b.Dec, a.Float), true
		}
	default:
		switch b.Kind {
		case KindInt:
			return a.Dec.Cmp(new(big.Rat).SetInt64(b.Int)), true
		case KindFloat:
			return cmpRatFloat(a.Dec, b.Float), true
		default:
			return a.Dec.Cmp(b.Dec), true
		}
	}
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case b:
		return -1
	}
	return 1
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpFloat is a total order: -Inf < ... < -0 == +0 < ... < +Inf < NaN == NaN.
func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	case a == b:
		return 0
	}
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	}
	return -1
}

// cmpIntFloat compares an int64 with a float64 exactly.
func cmpIntFloat(i int64, f float64) int {
	switch {
	case math.IsNaN(f):
		return -1
	case f >= 0x1p63:
		return -1
	case f < -0x1p63:
		return 1
	}
	t := math.Trunc(f)
	if c := cmpInt(i, int64(t)); c != 0 {
		return c
	}
	switch frac := f - t; {
	case frac > 0:
		return -1
	case frac < 0:
		return 1
	}
	return 0
}

func cmpRatFloat(r *big.Rat, f float64) int {
	switch {
	case math.IsNaN(f), math.IsInf(f, 1):
		return -1
	case math.IsInf(f, -1):
		return 1
	}
	return r.Cmp(new(big.Rat).SetFloat64(f))
}

func dateToMicros(days int64) int64 {
	const lim = math.MaxInt64 / microsPerDay
	switch {
	case days > lim:
		return math.MaxInt64
	case days < -lim:
		return math.MinInt64
	}
	return days * microsPerDay
}

// String renders v in the literal syntax of Parse: NULL, TRUE, 42, 1.50,
// 1.5e0, 'it”s', X'00ff', DATE '2024-01-31', TIMESTAMP '2024-01-31 10:00:00.5'
// (UTC). Non-finite floats render as the strings 'NaN', 'Infinity' and
// '-Infinity', which bind back to the same float against a float column.
func (v Value) String() string {
	switch v.Kind {
	case KindNull:
		return "NULL"
	case KindBool:
		if v.Bool {
			return "TRUE"
		}
		return "FALSE"
	case KindInt:
		return strconv.FormatInt(v.Int, 10)
	case KindFloat:
		return formatFloat(v.Float, 64)
	case KindDecimal:
		if v.Dec == nil {
			return "NULL"
		}
		return formatRat(v.Dec)
	case KindString:
		return quoteString(v.Str)
	case KindBinary:
		return "X'" + strings.ToUpper(hex.EncodeToString([]byte(v.Str))) + "'"
	case KindDate:
		return "DATE '" + formatDate(v.Int) + "'"
	case KindTimestamp:
		return "TIMESTAMP '" + formatTimestamp(v.Int) + "'"
	}
	return fmt.Sprintf("<invalid %s value>", v.Kind)
}

func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "'NaN'"
	case math.IsInf(f, 1):
		return "'Infinity'"
	case math.IsInf(f, -1):
		return "'-Infinity'"
	}
	s := strconv.FormatFloat(f, 'g', -1, bits)
	if !strings.ContainsAny(s, "e") {
		s += "e0" // an exponent makes the literal a float, not an int or decimal
	}
	return s
}

func quoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// formatRat renders r as an exact decimal with at least one fractional digit
// ("1.0", "-0.25"), so that it parses back as a decimal. A rational without a
// finite decimal expansion (never produced by this package) is rounded to 30
// fractional digits.
func formatRat(r *big.Rat) string {
	den := new(big.Int).Set(r.Denom())
	var twos, fives int
	two, five := big.NewInt(2), big.NewInt(5)
	m := new(big.Int)
	for den.Cmp(big.NewInt(1)) != 0 {
		if q, rem := new(big.Int).QuoRem(den, two, m); rem.Sign() == 0 {
			den, twos = q, twos+1
			continue
		}
		if q, rem := new(big.Int).QuoRem(den, five, m); rem.Sign() == 0 {
			den, fives = q, fives+1
			continue
		}
		return r.FloatString(30)
	}
	scale := max(twos, fives, 1)
	return r.FloatString(scale)
}

// civil date conversions (proleptic Gregorian), after H. Hinnant.
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func civilFromDays(z int64) (y, m, d int64) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func formatDate(days int64) string {
	y, m, d := civilFromDays(days)
	if y < 0 || y > 9999 {
		return fmt.Sprintf("%d-%02d-%02d", y, m, d)
	}
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d)
}

func formatTimestamp(micros int64) string {
	days := floorDiv(micros, microsPerDay)
	rem := micros - days*microsPerDay
	secs, frac := rem/microsPerSecond, rem%microsPerSecond
	s := fmt.Sprintf("%s %02d:%02d:%02d", formatDate(days), secs/3600, secs/60%60, secs%60)
	if frac != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%06d", frac), "0")
	}
	return s
}

// AppendTo appends v to b, an Arrow builder of the matching type: Int8..Int64
// and Uint8..Uint64 (range checked), Float32/Float64, Decimal32..Decimal256
// (rescaled exactly to the builder's scale, precision checked), String,
// LargeString, StringView, Binary, LargeBinary, BinaryView, Date32, Date64,
// Timestamp of any unit and zone, Boolean. KindNull appends a null to any
// builder. Conversions that would lose information are errors.
func (v Value) AppendTo(b array.Builder) error {
	if v.isNull() {
		b.AppendNull()
		return nil
	}
	bad := func() error {
		return fmt.Errorf("cannot append %s value %s to a %s builder", v.Kind, v, b.Type())
	}
	switch b := b.(type) {
	case *array.Int8Builder:
		i, ok := v.exactInt(math.MinInt8, math.MaxInt8)
		if !ok {
			return bad()
		}
		b.Append(int8(i))
	case *array.Int16Builder:
		i, ok := v.exactInt(math.MinInt16, math.MaxInt16)
		if !ok {
			return bad()
		}
		b.Append(int16(i))
	case *array.Int32Builder:
		i, ok := v.exactInt(math.MinInt32, math.MaxInt32)
		if !ok {
			return bad()
		}
		b.Append(int32(i))
	case *array.Int64Builder:
		i, ok := v.exactInt(math.MinInt64, math.MaxInt64)
		if !ok {
			return bad()
		}
		b.Append(i)
	case *array.Uint8Builder:
		i, ok := v.exactInt(0, math.MaxUint8)
		if !ok {
			return bad()
		}
		b.Append(uint8(i))
	case *array.Uint16Builder:
		i, ok := v.exactInt(0, math.MaxUint16)
		if !ok {
			return bad()
		}
		b.Append(uint16(i))
	case *array.Uint32Builder:
		i, ok := v.exactInt(0, math.MaxUint32)
		if !ok {
			return bad()
		}
		b.Append(uint32(i))
	case *array.Uint64Builder:
		r, ok := v.exactBigInt()
		if !ok || r.Sign() < 0 || !r.IsUint64() {
			return bad()
		}
		b.Append(r.Uint64())
	case *array.Float32Builder:
		f, ok := v.toFloat()
		if !ok {
			return bad()
		}
		b.Append(float32(f))
	case *array.Float64Builder:
		f, ok := v.toFloat()
		if !ok {
			return bad()
		}
		b.Append(f)
	case *array.Decimal32Builder:
		dt := b.Type().(*arrow.Decimal32Type)
		u, ok := v.unscaled(dt.Precision, dt.Scale)
		if !ok {
			return bad()
		}
		b.Append(decimal32Of(u))
	case *array.Decimal64Builder:
		dt := b.Type().(*arrow.Decimal64Type)
		u, ok := v.unscaled(dt.Precision, dt.Scale)
		if !ok {
			return bad()
		}
		b.Append(decimal64Of(u))
	case *array.Decimal128Builder:
		dt := b.Type().(*arrow.Decimal128Type)
		u, ok := v.unscaled(dt.Precision, dt.Scale)
		if !ok {
			return bad()
		}
		b.Append(decimal128.FromBigInt(u))
	case *array.Decimal256Builder:
		dt := b.Type().(*arrow.Decimal256Type)
		u, ok := v.unscaled(dt.Precision, dt.Scale)
		if !ok {
			return bad()
		}
		b.Append(decimal256.FromBigInt(u))
	case *array.StringBuilder:
		if v.Kind != KindString {
			return bad()
		}
		b.Append(v.Str)
	case *array.LargeStringBuilder:
		if v.Kind != KindString {
			return bad()
		}
		b.Append(v.Str)
	case *array.StringViewBuilder:
		if v.Kind != KindString {
			return bad()
		}
		b.Append(v.Str)
	case *array.BinaryBuilder: // Binary and LargeBinary
		if v.Kind != KindBinary && v.Kind != KindString {
			return bad()
		}
		b.AppendString(v.Str)
	case *array.BinaryViewBuilder:
		if v.Kind != KindBinary && v.Kind != KindString {
			return bad()
		}
		b.AppendString(v.Str)
	case *array.Date32Builder:
		if v.Kind != KindDate || v.Int < math.MinInt32 || v.Int > math.MaxInt32 {
			return bad()
		}
		b.Append(arrow.Date32(v.Int))
	case *array.Date64Builder:
		if v.Kind != KindDate {
			return bad()
		}
		ms, ok := mulExact(v.Int, 86_400_000)
		if !ok {
			return bad()
		}
		b.Append(arrow.Date64(ms))
	case *array.TimestampBuilder:
		var us int64
		switch v.Kind {
		case KindTimestamp:
			us = v.Int
		case KindDate:
			var ok bool
			if us, ok = mulExact(v.Int, microsPerDay); !ok {
				return bad()
			}
		default:
			return bad()
		}
		t, ok := microsToUnit(us, b.Type().(*arrow.TimestampType).Unit)
		if !ok {
			return bad()
		}
		b.Append(arrow.Timestamp(t))
	case *array.BooleanBuilder:
		if v.Kind != KindBool {
			return bad()
		}
		b.Append(v.Bool)
	default:
		return bad()
	}
	return nil
}

// exactInt converts an int, an integral decimal or an integral float to an
// int64 within [lo, hi].
func (v Value) exactInt(lo, hi int64) (int64, bool) {
	switch v.Kind {
	case KindInt:
		return v.Int, v.Int >= lo && v.Int <= hi
	case KindDecimal, KindFloat:
		r, ok := v.exactBigInt()
		if !ok || !r.IsInt64() {
			return 0, false
		}
		i := r.Int64()
		return i, i >= lo && i <= hi
	}
	return 0, false
}

func (v Value) exactBigInt() (*big.Int, bool) {
	r, ok := v.toRat()
	if !ok || !r.IsInt() {
		return nil, false
	}
	return new(big.Int).Set(r.Num()), true
}

// toRat converts a finite number to a rational.
func (v Value) toRat() (*big.Rat, bool) {
	switch v.Kind {
	case KindInt:
		return new(big.Rat).SetInt64(v.Int), true
	case KindDecimal:
		return v.Dec, v.Dec != nil
	case KindFloat:
		if math.IsNaN(v.Float) || math.IsInf(v.Float, 0) {
			return nil, false
		}
		return new(big.Rat).SetFloat64(v.Float), true
	}
	return nil, false
}

func (v Value) toFloat() (float64, bool) {
	switch v.Kind {
	case KindInt:
		return float64(v.Int), true
	case KindFloat:
		return v.Float, true
	case KindDecimal:
		f, _ := v.Dec.Float64()
		return f, true
	}
	return 0, false
}

var bigTen = big.NewInt(10)

func pow10(n int32) *big.Int { return new(big.Int).Exp(bigTen, big.NewInt(int64(n)), nil) }

// unscaled returns v*10^scale as an integer with at most precision digits.
func (v Value) unscaled(precision, scale int32) (*big.Int, bool) {
	r, ok := v.toRat()
	if !ok {
		return nil, false
	}
	return unscaledRat(r, precision, scale)
}

func unscaledRat(r *big.Rat, precision, scale int32) (*big.Int, bool) {
	if scale < 0 || scale > 76 || precision <= 0 || precision > 76 {
		return nil, false
	}
	t := new(big.Rat).Mul(r, new(big.Rat).SetInt(pow10(scale)))
	if !t.IsInt() {
		return nil, false
	}
	u := new(big.Int).Set(t.Num())
	if new(big.Int).Abs(u).Cmp(pow10(precision)) >= 0 {
		return nil, false
	}
	return u, true
}

func decimal32Of(u *big.Int) decimal.Decimal32 { return decimal.Decimal32(u.Int64()) }
func decimal64Of(u *big.Int) decimal.Decimal64 { return decimal.Decimal64(u.Int64()) }

func mulExact(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	c := a * b
	if c/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, false
	}
	return c, true
}

// microsToUnit converts microseconds to the given unit, failing when the
// result would be inexact or overflow.
func microsToUnit(us int64, unit arrow.TimeUnit) (int64, bool) {
	switch unit {
	case arrow.Second:
		return us / microsPerSecond, us%microsPerSecond == 0
	case arrow.Millisecond:
		return us / 1000, us%1000 == 0
	case arrow.Microsecond:
		return us, true
	case arrow.Nanosecond:
		return mulExact(us, 1000)
	}
	return 0, false
}

// unitToMicros converts a timestamp in unit to microseconds, flooring
// nanoseconds and saturating on overflow.
func unitToMicros(t int64, unit arrow.TimeUnit) int64 {
	switch unit {
	case arrow.Second:
		return satMul(t, microsPerSecond)
	case arrow.Millisecond:
		return satMul(t, 1000)
	case arrow.Nanosecond:
		return floorDiv(t, 1000)
	}
	return t
}

func satMul(a, b int64) int64 {
	if c, ok := mulExact(a, b); ok {
		return c
	}
	if (a < 0) != (b < 0) {
		return math.MinInt64
	}
	return math.MaxInt64
}

// ValueAt reads element i of a primitive Arrow array: signed and unsigned
// integers, Float16/32/64, Decimal32..256, String/LargeString/StringView,
// Binary/LargeBinary/BinaryView/FixedSizeBinary, Date32/Date64, Timestamp of
// any unit (converted to microseconds, nanoseconds floored), Boolean, and
// dictionary arrays of those. Null elements, and arrays of any other type,
// read as KindNull. Strings and bytes are copied out of the array.
func ValueAt(arr arrow.Array, i int) Value {
	v := valueAt(arr, i)
	if v.Kind == KindString || v.Kind == KindBinary {
		v.Str = strings.Clone(v.Str)
	}
	return v
}

// valueAt is ValueAt without copying: Str may alias the array's memory.
func valueAt(arr arrow.Array, i int) Value {
	if arr.IsNull(i) {
		return Value{}
	}
	switch a := arr.(type) {
	case *array.Int8:
		return Value{Kind: KindInt, Int: int64(a.Value(i))}
	case *array.Int16:
		return Value{Kind: KindInt, Int: int64(a.Value(i))}
	case *array.Int32:
		return Value{Kind: KindInt, Int: int64(a.Value(i))}
	case *array.Int64:
		return Value{Kind: KindInt, Int: a.Value(i)}
	case *array.Uint8:
		return Value{Kind: KindInt, Int: int64(a.Value(i))}
	case *array.Uint16:
		return Value{Kind: KindInt, Int: int64(a.Value(i))}
	case *array.Uint32:
		return Value{Kind: KindInt, Int: int64(a.Value(i))}
	case *array.Uint64:
		u := a.Value(i)
		if u <= math.MaxInt64 {
			return Value{Kind: KindInt, Int: int64(u)}
		}
		return Value{Kind: KindDecimal, Dec: new(big.Rat).SetInt(new(big.Int).SetUint64(u))}
	case *array.Float16:
		return Value{Kind: KindFloat, Float: float64(a.Value(i).Float32())}
	case *array.Float32:
		return Value{Kind: KindFloat, Float: float64(a.Value(i))}
	case *array.Float64:
		return Value{Kind: KindFloat, Float: a.Value(i)}
	case *array.Decimal32:
		return decimalValue(big.NewInt(int64(a.Value(i))), a.DataType().(*arrow.Decimal32Type).Scale)
	case *array.Decimal64:
		return decimalValue(big.NewInt(int64(a.Value(i))), a.DataType().(*arrow.Decimal64Type).Scale)
	case *array.Decimal128:
		return decimalValue(a.Value(i).BigInt(), a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Decimal256:
		return decimalValue(a.Value(i).BigInt(), a.DataType().(*arrow.Decimal256Type).Scale)
	case *array.String:
		return Value{Kind: KindString, Str: a.Value(i)}
	case *array.LargeString:
		return Value{Kind: KindString, Str: a.Value(i)}
	case *array.StringView:
		return Value{Kind: KindString, Str: a.Value(i)}
	case *array.Binary:
		return Value{Kind: KindBinary, Str: a.ValueString(i)}
	case *array.LargeBinary:
		return Value{Kind: KindBinary, Str: a.ValueString(i)}
	case *array.BinaryView:
		return Value{Kind: KindBinary, Str: a.ValueString(i)}
	case *array.FixedSizeBinary:
		return Value{Kind: KindBinary, Str: string(a.Value(i))}
	case *array.Date32:
		return Value{Kind: KindDate, Int: int64(a.Value(i))}
	case *array.Date64:
		return Value{Kind: KindDate, Int: floorDiv(int64(a.Value(i)), 86_400_000)}
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return Value{Kind: KindTimestamp, Int: unitToMicros(int64(a.Value(i)), unit)}
	case *array.Boolean:
		return Value{Kind: KindBool, Bool: a.Value(i)}
	case *array.Dictionary:
		return valueAt(a.Dictionary(), a.GetValueIndex(i))
	}
	return Value{}
}

func decimalValue(unscaled *big.Int, scale int32) Value {
	r := new(big.Rat).SetInt(unscaled)
	switch {
	case scale > 0:
		r.Quo(r, new(big.Rat).SetInt(pow10(scale)))
	case scale < 0:
		r.Mul(r, new(big.Rat).SetInt(pow10(-scale)))
	}
	return Value{Kind: KindDecimal, Dec: r}
}
