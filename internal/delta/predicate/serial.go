package predicate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// typeName names an Arrow type by its Delta name where there is one.
func typeName(dt arrow.DataType) string {
	switch t := dt.(type) {
	case *arrow.Int8Type:
		return "byte"
	case *arrow.Int16Type:
		return "short"
	case *arrow.Int32Type:
		return "integer"
	case *arrow.Int64Type:
		return "long"
	case *arrow.Float32Type:
		return "float"
	case *arrow.Float64Type:
		return "double"
	case *arrow.BooleanType:
		return "boolean"
	case *arrow.StringType, *arrow.LargeStringType, *arrow.StringViewType:
		return "string"
	case *arrow.BinaryType, *arrow.LargeBinaryType, *arrow.BinaryViewType:
		return "binary"
	case *arrow.Date32Type:
		return "date"
	case *arrow.TimestampType:
		if t.TimeZone == "" {
			return "timestamp_ntz"
		}
		return "timestamp"
	case *arrow.Decimal32Type:
		return fmt.Sprintf("decimal(%d,%d)", t.Precision, t.Scale)
	case *arrow.Decimal64Type:
		return fmt.Sprintf("decimal(%d,%d)", t.Precision, t.Scale)
	case *arrow.Decimal128Type:
		return fmt.Sprintf("decimal(%d,%d)", t.Precision, t.Scale)
	case *arrow.Decimal256Type:
		return fmt.Sprintf("decimal(%d,%d)", t.Precision, t.Scale)
	case *arrow.StructType:
		return "struct"
	case *arrow.DictionaryType:
		return typeName(t.ValueType)
	}
	return dt.String()
}

// valueType strips dictionary encoding.
func valueType(dt arrow.DataType) arrow.DataType {
	if d, ok := dt.(*arrow.DictionaryType); ok {
		return d.ValueType
	}
	return dt
}

// ParsePartitionValue parses a Delta partition value (PROTOCOL.md, "Partition
// Value Serialization") of a column of Arrow type dt. A nil or empty string is
// null, for every type (the protocol: "An empty string for any type translates
// to a null partition value"). Floats accept NaN, Infinity and -Infinity;
// decimals are exact and must fit the type's precision and scale; dates are
// YYYY-MM-DD; timestamps are "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC or ISO 8601
// with Z or an offset; timestamp_ntz takes the same forms without a zone;
// binary is the raw bytes of the string.
func ParsePartitionValue(dt arrow.DataType, s *string) (Value, error) {
	if s == nil || *s == "" {
		return Value{}, nil
	}
	v, err := parseText(valueType(dt), *s, false)
	if err != nil {
		return Value{}, fmt.Errorf("invalid %s partition value %q: %w", typeName(dt), *s, err)
	}
	return v, nil
}

var (
	errSyntax = errors.New("invalid syntax")
	errRange  = errors.New("out of range")
)

// parseText parses the text form of a value of type dt. lenientNumbers makes
// integer columns accept any exactly integral number ("1.0", "1e3").
func parseText(dt arrow.DataType, s string, lenientNumbers bool) (Value, error) {
	switch t := dt.(type) {
	case *arrow.Int8Type:
		return parseIntText(s, math.MinInt8, math.MaxInt8, lenientNumbers)
	case *arrow.Int16Type:
		return parseIntText(s, math.MinInt16, math.MaxInt16, lenientNumbers)
	case *arrow.Int32Type:
		return parseIntText(s, math.MinInt32, math.MaxInt32, lenientNumbers)
	case *arrow.Int64Type:
		return parseIntText(s, math.MinInt64, math.MaxInt64, lenientNumbers)
	case *arrow.Uint8Type:
		return parseIntText(s, 0, math.MaxUint8, lenientNumbers)
	case *arrow.Uint16Type:
		return parseIntText(s, 0, math.MaxUint16, lenientNumbers)
	case *arrow.Uint32Type:
		return parseIntText(s, 0, math.MaxUint32, lenientNumbers)
	case *arrow.Uint64Type:
		r, ok := parseDecimalText(s)
		if !ok || !r.IsInt() {
			return Value{}, errSyntax
		}
		if r.Sign() < 0 || !r.Num().IsUint64() {
			return Value{}, errRange
		}
		if r.Num().IsInt64() {
			return Value{Kind: KindInt, Int: r.Num().Int64()}, nil
		}
		return Value{Kind: KindDecimal, Dec: r}, nil
	case *arrow.Float16Type, *arrow.Float32Type:
		f, err := parseFloatText(s, 32)
		return Value{Kind: KindFloat, Float: f}, err
	case *arrow.Float64Type:
		f, err := parseFloatText(s, 64)
		return Value{Kind: KindFloat, Float: f}, err
	case *arrow.Decimal32Type:
		return parseDecimalTyped(s, t.Precision, t.Scale)
	case *arrow.Decimal64Type:
		return parseDecimalTyped(s, t.Precision, t.Scale)
	case *arrow.Decimal128Type:
		return parseDecimalTyped(s, t.Precision, t.Scale)
	case *arrow.Decimal256Type:
		return parseDecimalTyped(s, t.Precision, t.Scale)
	case *arrow.BooleanType:
		switch strings.ToLower(s) {
		case "true":
			return Value{Kind: KindBool, Bool: true}, nil
		case "false":
			return Value{Kind: KindBool, Bool: false}, nil
		}
		return Value{}, errSyntax
	case *arrow.StringType, *arrow.LargeStringType, *arrow.StringViewType:
		return Value{Kind: KindString, Str: s}, nil
	case *arrow.BinaryType, *arrow.LargeBinaryType, *arrow.BinaryViewType, *arrow.FixedSizeBinaryType:
		return Value{Kind: KindBinary, Str: s}, nil
	case *arrow.Date32Type, *arrow.Date64Type:
		d, err := parseDate(s)
		return Value{Kind: KindDate, Int: d}, err
	case *arrow.TimestampType:
		us, err := parseTimestamp(s, t.TimeZone == "")
		return Value{Kind: KindTimestamp, Int: us}, err
	}
	return Value{}, errors.New("unsupported type")
}

func parseIntText(s string, lo, hi int64, lenient bool) (Value, error) {
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return Value{}, errRange
		}
		if !lenient {
			return Value{}, errSyntax
		}
		r, ok := parseDecimalText(s)
		if !ok || !r.IsInt() {
			return Value{}, errSyntax
		}
		if !r.Num().IsInt64() {
			return Value{}, errRange
		}
		i = r.Num().Int64()
	}
	if i < lo || i > hi {
		return Value{}, errRange
	}
	return Value{Kind: KindInt, Int: i}, nil
}

// parseFloatText parses a float or double, including NaN, Infinity and
// -Infinity in any case; a float (bits 32) is rounded to float32.
func parseFloatText(s string, bits int) (float64, error) {
	switch strings.ToLower(s) {
	case "nan":
		return math.NaN(), nil
	case "infinity", "+infinity", "inf", "+inf":
		return math.Inf(1), nil
	case "-infinity", "-inf":
		return math.Inf(-1), nil
	}
	if _, ok := checkNumberSyntax(s); !ok {
		return 0, errSyntax
	}
	f, err := strconv.ParseFloat(s, bits)
	if err != nil {
		return 0, errRange
	}
	return f, nil
}

// checkNumberSyntax accepts [+-]digits[.digits][e[+-]digits] (either digit
// run may be empty but not both) and returns the exponent.
func checkNumberSyntax(s string) (exp int64, ok bool) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && isDigit(s[i]) {
		i, digits = i+1, digits+1
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i, digits = i+1, digits+1
		}
	}
	if digits == 0 {
		return 0, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		neg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			neg = s[i] == '-'
			i++
		}
		start := i
		for i < len(s) && isDigit(s[i]) {
			if exp < 1<<40 {
				exp = exp*10 + int64(s[i]-'0')
			}
			i++
		}
		if i == start {
			return 0, false
		}
		if neg {
			exp = -exp
		}
	}
	return exp, i == len(s)
}

// maxDecimalExponent bounds exponents of exact decimals: big.Rat would
// otherwise materialize 10^exponent.
const maxDecimalExponent = 400

// parseDecimalText parses a decimal number exactly.
func parseDecimalText(s string) (*big.Rat, bool) {
	exp, ok := checkNumberSyntax(s)
	if !ok || exp > maxDecimalExponent || exp < -maxDecimalExponent || len(s) > 1000 {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

func parseDecimalTyped(s string, precision, scale int32) (Value, error) {
	r, ok := parseDecimalText(s)
	if !ok {
		return Value{}, errSyntax
	}
	if _, ok := unscaledRat(r, precision, scale); !ok {
		return Value{}, fmt.Errorf("does not fit decimal(%d,%d)", precision, scale)
	}
	return Value{Kind: KindDecimal, Dec: r}, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// digits reads between min and max decimal digits at s[*i:].
func digits(s string, i *int, min, max int) (int64, bool) {
	start := *i
	var n int64
	for *i < len(s) && *i-start < max && isDigit(s[*i]) {
		n = n*10 + int64(s[*i]-'0')
		*i++
	}
	return n, *i-start >= min
}

// parseDatePrefix parses [+-]YYYY-M[M]-D[D] (years of 4 to 6 digits) at the
// start of s and returns the days since epoch and the rest.
func parseDatePrefix(s string) (int64, string, error) {
	i := 0
	neg := false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	y, ok := digits(s, &i, 4, 6)
	if !ok || i >= len(s) || s[i] != '-' {
		return 0, "", errSyntax
	}
	i++
	m, ok := digits(s, &i, 1, 2)
	if !ok || i >= len(s) || s[i] != '-' {
		return 0, "", errSyntax
	}
	i++
	d, ok := digits(s, &i, 1, 2)
	if !ok {
		return 0, "", errSyntax
	}
	if neg {
		y = -y
	}
	if m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, "", errRange
	}
	return daysFromCivil(y, m, d), s[i:], nil
}

func daysIn(y, m int64) int64 {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// parseDate parses YYYY-MM-DD.
func parseDate(s string) (int64, error) {
	d, rest, err := parseDatePrefix(s)
	if err != nil {
		return 0, err
	}
	if rest != "" {
		return 0, errSyntax
	}
	return d, nil
}

// parseTimestamp parses "YYYY-MM-DD[( |T)HH:MM[:SS[.fffffffff]]][zone]" where
// zone is Z, UTC, or an offset ±HH[:MM] / ±HHMM, and returns microseconds since
// the epoch (sub-microsecond digits are truncated). Without a zone the time is
// UTC. For timestamp_ntz (ntz) a zone other than Z/UTC/+00:00 is an error.
func parseTimestamp(s string, ntz bool) (int64, error) {
	days, rest, err := parseDatePrefix(s)
	if err != nil {
		return 0, err
	}
	us := dateToMicros(days)
	if rest == "" {
		return us, nil
	}
	if rest[0] != ' ' && rest[0] != 'T' && rest[0] != 't' {
		return 0, errSyntax
	}
	s, i := rest, 1
	h, ok := digits(s, &i, 1, 2)
	if !ok || i >= len(s) || s[i] != ':' {
		return 0, errSyntax
	}
	i++
	m, ok := digits(s, &i, 2, 2)
	if !ok {
		return 0, errSyntax
	}
	var sec, frac int64
	if i < len(s) && s[i] == ':' {
		i++
		if sec, ok = digits(s, &i, 2, 2); !ok {
			return 0, errSyntax
		}
		if i < len(s) && s[i] == '.' {
			i++
			start := i
			f, ok := digits(s, &i, 1, 9)
			if !ok {
				return 0, errSyntax
			}
			for n := i - start; n < 9; n++ {
				f *= 10
			}
			frac = f / 1000
		}
	}
	if h > 23 || m > 59 || sec > 59 {
		return 0, errRange
	}
	offset, err := parseZone(s[i:])
	if err != nil {
		return 0, err
	}
	if ntz && offset != 0 {
		return 0, errors.New("timestamp_ntz has no time zone")
	}
	us += ((h*60+m)*60+sec-offset)*microsPerSecond + frac
	return us, nil
}

// parseZone returns the offset in seconds east of UTC.
func parseZone(z string) (int64, error) {
	z = strings.TrimPrefix(z, " ")
	switch z {
	case "", "Z", "z", "UTC":
		return 0, nil
	}
	if z[0] != '+' && z[0] != '-' {
		return 0, errSyntax
	}
	i := 1
	h, ok := digits(z, &i, 2, 2)
	if !ok {
		return 0, errSyntax
	}
	var m int64
	if i < len(z) {
		if z[i] == ':' {
			i++
		}
		if m, ok = digits(z, &i, 2, 2); !ok {
			return 0, errSyntax
		}
	}
	if i != len(z) {
		return 0, errSyntax
	}
	if h > 18 || m > 59 {
		return 0, errRange
	}
	off := (h*60 + m) * 60
	if z[0] == '-' {
		off = -off
	}
	return off, nil
}

// ParseStatValue parses a minValues/maxValues entry of Delta add.stats JSON
// for a column of Arrow type dt: JSON numbers (exact: integers beyond float
// precision and decimals keep every digit), strings, booleans, dates
// "2021-01-01", timestamps "2021-01-01T00:00:00.000Z" or with an offset, and
// for floats also the strings "NaN", "Infinity", "-Infinity". JSON null is a
// null Value.
func ParseStatValue(dt arrow.DataType, raw json.RawMessage) (Value, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return Value{}, nil
	}
	bad := func(err error) (Value, error) {
		text := string(raw)
		if len(text) > 100 {
			text = text[:100] + "..."
		}
		return Value{}, fmt.Errorf("invalid %s stat value %s: %w", typeName(dt), text, err)
	}
	var text string
	switch c := raw[0]; {
	case c == '"':
		if err := json.Unmarshal(raw, &text); err != nil {
			return bad(errSyntax)
		}
	case c == 't' || c == 'f':
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return bad(errSyntax)
		}
		if _, ok := valueType(dt).(*arrow.BooleanType); !ok {
			return bad(errors.New("unexpected boolean"))
		}
		return Value{Kind: KindBool, Bool: b}, nil
	case c == '-' || isDigit(c):
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var n json.Number
		if err := dec.Decode(&n); err != nil || dec.More() {
			return bad(errSyntax)
		}
		text = n.String()
		switch valueType(dt).(type) {
		case *arrow.StringType, *arrow.LargeStringType, *arrow.StringViewType,
			*arrow.BinaryType, *arrow.LargeBinaryType, *arrow.BinaryViewType,
			*arrow.Date32Type, *arrow.Date64Type, *arrow.TimestampType, *arrow.BooleanType:
			return bad(errors.New("unexpected number"))
		}
	default:
		return bad(errSyntax)
	}
	v, err := parseText(valueType(dt), text, true)
	if err != nil {
		return bad(err)
	}
	return v, nil
}
