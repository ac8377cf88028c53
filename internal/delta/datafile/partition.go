package datafile

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// hiveDefaultPartition is the directory name of a null (or empty string) partition value.
const hiveDefaultPartition = "__HIVE_DEFAULT_PARTITION__"

// SerializePartitionValue returns the Delta partition value (PROTOCOL.md,
// "Partition Value Serialization") of row i of arr; nil means null. It is
// what Spark/Databricks write in add.partitionValues:
//
//	string            as is (must be valid UTF-8); "" is null (the protocol reads an empty value as null)
//	binary            the bytes as a string (must be valid UTF-8); empty is null
//	boolean           true, false
//	byte..long        decimal digits
//	float, double     Java's Double.toString: 1.5, 1.0E10, NaN, Infinity, -Infinity; -0.0 is 0.0
//	decimal           plain notation with all scale digits: 1.230, -0.50, 12
//	date              YYYY-MM-DD
//	timestamp         UTC, ISO 8601 with microseconds and Z: 2024-06-15T19:30:45.000000Z
//	timestamp_ntz     YYYY-MM-DD HH:MM:SS, plus .ffffff when there are sub-seconds
//
// Timestamps with a time zone use the UTC ISO 8601 form the protocol
// recommends for modern writers (and Delta Spark writes since 3.3): it
// carries its zone, so readers in any session time zone agree; older Spark
// readers cast it to a timestamp correctly too. Years outside 0001-9999 are
// an error, as are types that cannot be partition columns.
func SerializePartitionValue(arr arrow.Array, i int) (*string, error) {
	if i < 0 || i >= arr.Len() {
		return nil, fmt.Errorf("row %d out of range [0, %d)", i, arr.Len())
	}
	if arr.IsNull(i) {
		return nil, nil
	}
	s, err := serializeValue(arr, i)
	if err != nil || s == "" {
		return nil, err
	}
	return &s, nil
}

func serializeValue(arr arrow.Array, i int) (string, error) {
	switch a := arr.(type) {
	case *array.String:
		return textPartition(a.Value(i))
	case *array.LargeString:
		return textPartition(a.Value(i))
	case *array.Binary:
		return textPartition(string(a.Value(i)))
	case *array.LargeBinary:
		return textPartition(string(a.Value(i)))
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i)), nil
	case *array.Int8:
		return strconv.FormatInt(int64(a.Value(i)), 10), nil
	case *array.Int16:
		return strconv.FormatInt(int64(a.Value(i)), 10), nil
	case *array.Int32:
		return strconv.FormatInt(int64(a.Value(i)), 10), nil
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10), nil
	case *array.Float32:
		return javaFloat(float64(a.Value(i)), 32), nil
	case *array.Float64:
		return javaFloat(a.Value(i), 64), nil
	case *array.Decimal128:
		return formatDecimal(a.Value(i), a.DataType().(*arrow.Decimal128Type).Scale), nil
	case *array.Date32:
		return formatDate(int64(a.Value(i)))
	case *array.Timestamp:
		typ := a.DataType().(*arrow.TimestampType)
		us, err := toMicros(int64(a.Value(i)), typ.Unit)
		if err != nil {
			return "", err
		}
		t, err := microsTime(us)
		if err != nil {
			return "", err
		}
		if typ.TimeZone != "" {
			return t.Format("2006-01-02T15:04:05.000000Z"), nil
		}
		if us%1e6 == 0 {
			return t.Format("2006-01-02 15:04:05"), nil
		}
		return t.Format("2006-01-02 15:04:05.000000"), nil
	}
	return "", fmt.Errorf("type %s cannot be a partition column", arr.DataType())
}

// textPartition checks a string or binary partition value: the log (JSON)
// and the object key hold UTF-8 text only.
func textPartition(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", errors.New("partition value is not valid UTF-8")
	}
	return strings.Clone(s), nil
}

// partitionDirValue is the text of a partition directory name (before Hive
// escaping) for a serialized value v of arr's type: timestamps with a zone
// are shown as "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC, as Spark names its
// directories (Spark uses the session time zone; the log's partitionValues,
// not the directory, is what readers use). Everything else is v itself.
func partitionDirValue(arr arrow.Array, i int, v *string) string {
	if v == nil {
		return hiveDefaultPartition
	}
	if a, ok := arr.(*array.Timestamp); ok {
		if typ := a.DataType().(*arrow.TimestampType); typ.TimeZone != "" {
			us, _ := toMicros(int64(a.Value(i)), typ.Unit)
			t, _ := microsTime(us)
			s := t.Format("2006-01-02 15:04:05.000000")
			return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
		}
	}
	return *v
}

// javaFloat formats v like Java's Double.toString (Float.toString for
// bits=32), which is what Spark writes for float partition values:
// shortest round-trip digits, plain notation for 1e-3 <= |v| < 1e7 with at
// least one fractional digit, else d.dddE<exp>.
func javaFloat(v float64, bits int) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	case v == 0:
		return "0.0" // Spark normalizes -0.0 to 0.0
	}
	if abs := math.Abs(v); abs >= 1e-3 && abs < 1e7 {
		s := strconv.FormatFloat(v, 'f', -1, bits)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(v, 'e', -1, bits) // d.ddde+XX
	mant, exp, _ := strings.Cut(s, "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

// formatDecimal renders an unscaled value in plain notation with exactly
// scale fractional digits.
func formatDecimal(n decimal128.Num, scale int32) string {
	var digits string
	neg := n.Sign() < 0
	if hi, lo := n.HighBits(), n.LowBits(); (hi == 0 && lo < 1<<63) || (hi == -1 && lo >= 1<<63) {
		v := int64(n.LowBits())
		if v < 0 {
			digits = strconv.FormatUint(uint64(-v), 10) // -MinInt64 wraps to its magnitude as uint64
		} else {
			digits = strconv.FormatInt(v, 10)
		}
	} else {
		digits = new(big.Int).Abs(n.BigInt()).String()
	}
	return placePoint(digits, neg, int(scale))
}

func placePoint(digits string, neg bool, scale int) string {
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	switch {
	case scale <= 0:
		b.WriteString(digits)
		for range -scale {
			b.WriteByte('0')
		}
	case len(digits) > scale:
		b.WriteString(digits[:len(digits)-scale])
		b.WriteByte('.')
		b.WriteString(digits[len(digits)-scale:])
	default:
		b.WriteString("0.")
		for range scale - len(digits) {
			b.WriteByte('0')
		}
		b.WriteString(digits)
	}
	return b.String()
}

var (
	minTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// formatDate renders days since the epoch as YYYY-MM-DD.
func formatDate(days int64) (string, error) {
	if days < -719162 || days > 2932896 { // 0001-01-01 .. 9999-12-31
		return "", fmt.Errorf("date %d days from 1970-01-01 is outside years 0001-9999", days)
	}
	return time.Unix(days*86400, 0).UTC().Format("2006-01-02"), nil
}

// toMicros converts a timestamp in unit to microseconds; nanoseconds are
// truncated toward zero, as pqarrow stores them.
func toMicros(v int64, unit arrow.TimeUnit) (int64, error) {
	switch unit {
	case arrow.Second:
		if v > math.MaxInt64/1_000_000 || v < math.MinInt64/1_000_000 {
			return 0, fmt.Errorf("timestamp %ds out of range", v)
		}
		return v * 1e6, nil
	case arrow.Millisecond:
		if v > math.MaxInt64/1000 || v < math.MinInt64/1000 {
			return 0, fmt.Errorf("timestamp %dms out of range", v)
		}
		return v * 1e3, nil
	case arrow.Nanosecond:
		return v / 1000, nil
	}
	return v, nil
}

// microsTime converts microseconds since the epoch to a UTC time in years 0001-9999.
func microsTime(us int64) (time.Time, error) {
	t := time.UnixMicro(us).UTC()
	if t.Before(minTime) || t.After(maxTime) {
		return time.Time{}, fmt.Errorf("timestamp %dµs from 1970-01-01 is outside years 0001-9999", us)
	}
	return t, nil
}

// escapePathName applies Hive/Spark partition-path escaping
// (ExternalCatalogUtils.escapePathName): control characters and
// "#%'*/:=?\{[]^ (and DEL) become %XX; everything else, including spaces and
// non-ASCII text, is kept.
func escapePathName(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if hiveEscape(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		if c := s[i]; hiveEscape(c) {
			b = append(b, '%', hexUpper[c>>4], hexUpper[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

const hexUpper = "0123456789ABCDEF"

func hiveEscape(c byte) bool {
	if c < 0x20 || c == 0x7f {
		return true
	}
	switch c {
	case '"', '#', '%', '\'', '*', '/', ':', '=', '?', '\\', '{', '[', ']', '^':
		return true
	}
	return false
}

// EncodePath is the add.path of the file at a relative key (see encodePath).
func EncodePath(key string) string { return encodePath(key) }

// encodePath URL-encodes a relative key for add.path the way Hadoop's
// Path.toUri (java.net.URI, RFC 2396) does: ASCII control characters, space
// and "#%<>?[\]^`{|} become %XX; other ASCII is kept; non-ASCII text is kept
// except space and control characters, which are percent-encoded as UTF-8.
// url.PathUnescape inverts it.
func encodePath(key string) string {
	var b strings.Builder
	for i := 0; i < len(key); {
		c := key[i]
		if c < utf8.RuneSelf {
			if uriEscape(c) {
				b.WriteByte('%')
				b.WriteByte(hexUpper[c>>4])
				b.WriteByte(hexUpper[c&15])
			} else {
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(key[i:])
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp) {
			for j := i; j < i+size; j++ {
				b.WriteByte('%')
				b.WriteByte(hexUpper[key[j]>>4])
				b.WriteByte(hexUpper[key[j]&15])
			}
		} else {
			b.WriteString(key[i : i+size])
		}
		i += size
	}
	return b.String()
}

func uriEscape(c byte) bool {
	if c <= 0x20 || c == 0x7f {
		return true
	}
	switch c {
	case '"', '#', '%', '<', '>', '?', '[', '\\', ']', '^', '`', '{', '|', '}':
		return true
	}
	return false
}
