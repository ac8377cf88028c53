package deltatest

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

type style int

const (
	canonicalStyle style = iota // exact and type-aware (CanonicalRows)
	prettyStyle                 // as arrow-rs's pretty printer (PrettyRows)
)

// formatValue renders a[i] in the given style.
func formatValue(a arrow.Array, i int, st style) (string, error) {
	var sb strings.Builder
	if err := writeValue(&sb, a, i, st); err != nil {
		return "", err
	}
	return sb.String(), nil
}

func writeValue(sb *strings.Builder, a arrow.Array, i int, st style) error {
	if a.IsNull(i) {
		if st == canonicalStyle {
			sb.WriteString("NULL")
		}
		return nil
	}
	switch a := a.(type) {
	case *array.Null:
		if st == canonicalStyle {
			sb.WriteString("NULL")
		}
	case *array.Boolean:
		sb.WriteString(strconv.FormatBool(a.Value(i)))
	case *array.Int8:
		sb.WriteString(strconv.FormatInt(int64(a.Value(i)), 10))
	case *array.Int16:
		sb.WriteString(strconv.FormatInt(int64(a.Value(i)), 10))
	case *array.Int32:
		sb.WriteString(strconv.FormatInt(int64(a.Value(i)), 10))
	case *array.Int64:
		sb.WriteString(strconv.FormatInt(a.Value(i), 10))
	case *array.Uint8:
		sb.WriteString(strconv.FormatUint(uint64(a.Value(i)), 10))
	case *array.Uint16:
		sb.WriteString(strconv.FormatUint(uint64(a.Value(i)), 10))
	case *array.Uint32:
		sb.WriteString(strconv.FormatUint(uint64(a.Value(i)), 10))
	case *array.Uint64:
		sb.WriteString(strconv.FormatUint(a.Value(i), 10))
	case *array.Float16:
		sb.WriteString(formatFloat(float64(a.Value(i).Float32()), 32, st))
	case *array.Float32:
		sb.WriteString(formatFloat(float64(a.Value(i)), 32, st))
	case *array.Float64:
		sb.WriteString(formatFloat(a.Value(i), 64, st))
	case *array.Decimal32:
		sb.WriteString(formatDecimal(big.NewInt(int64(a.Value(i))), decimalScale(a.DataType())))
	case *array.Decimal64:
		sb.WriteString(formatDecimal(big.NewInt(int64(a.Value(i))), decimalScale(a.DataType())))
	case *array.Decimal128:
		sb.WriteString(formatDecimal(a.Value(i).BigInt(), decimalScale(a.DataType())))
	case *array.Decimal256:
		sb.WriteString(formatDecimal(a.Value(i).BigInt(), decimalScale(a.DataType())))
	case *array.String:
		writeString(sb, a.Value(i), st)
	case *array.LargeString:
		writeString(sb, a.Value(i), st)
	case *array.StringView:
		writeString(sb, a.Value(i), st)
	case *array.Binary:
		writeBinary(sb, a.Value(i), st)
	case *array.LargeBinary:
		writeBinary(sb, a.Value(i), st)
	case *array.BinaryView:
		writeBinary(sb, a.Value(i), st)
	case *array.FixedSizeBinary:
		writeBinary(sb, a.Value(i), st)
	case *array.Date32:
		writeDate(sb, time.Unix(int64(a.Value(i))*86400, 0).UTC())
	case *array.Date64:
		writeDate(sb, time.UnixMilli(int64(a.Value(i))).UTC())
	case *array.Timestamp:
		ts := a.DataType().(*arrow.TimestampType)
		sec, nsec := splitTimestamp(int64(a.Value(i)), ts.Unit)
		writeTimestamp(sb, time.Unix(sec, nsec).UTC(), ts.TimeZone != "", st)
	case *array.Time32:
		unit := a.DataType().(*arrow.Time32Type).Unit
		sec, nsec := splitTimestamp(int64(a.Value(i)), unit)
		writeTime(sb, time.Unix(sec, nsec).UTC(), st)
	case *array.Time64:
		unit := a.DataType().(*arrow.Time64Type).Unit
		sec, nsec := splitTimestamp(int64(a.Value(i)), unit)
		writeTime(sb, time.Unix(sec, nsec).UTC(), st)
	case *array.Struct:
		t := a.DataType().(*arrow.StructType)
		sb.WriteByte('{')
		for f := 0; f < a.NumField(); f++ {
			if f > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(t.Field(f).Name)
			sb.WriteString(": ")
			if err := writeValue(sb, a.Field(f), i, st); err != nil {
				return err
			}
		}
		sb.WriteByte('}')
	case *array.Map: // before *array.List: Map embeds List
		start, end := a.ValueOffsets(i)
		sep := " -> "
		if st == prettyStyle {
			sep = ": "
		}
		sb.WriteByte('{')
		for j := start; j < end; j++ {
			if j > start {
				sb.WriteString(", ")
			}
			if err := writeValue(sb, a.Keys(), int(j), st); err != nil {
				return err
			}
			sb.WriteString(sep)
			if err := writeValue(sb, a.Items(), int(j), st); err != nil {
				return err
			}
		}
		sb.WriteByte('}')
	case *array.List:
		start, end := a.ValueOffsets(i)
		return writeList(sb, a.ListValues(), start, end, st)
	case *array.LargeList:
		start, end := a.ValueOffsets(i)
		return writeList(sb, a.ListValues(), start, end, st)
	case *array.ListView:
		start, end := a.ValueOffsets(i)
		return writeList(sb, a.ListValues(), start, end, st)
	case *array.LargeListView:
		start, end := a.ValueOffsets(i)
		return writeList(sb, a.ListValues(), start, end, st)
	case *array.FixedSizeList:
		start, end := a.ValueOffsets(i)
		return writeList(sb, a.ListValues(), start, end, st)
	case *array.Dictionary:
		return writeValue(sb, a.Dictionary(), a.GetValueIndex(i), st)
	case *array.RunEndEncoded:
		return writeValue(sb, a.Values(), a.GetPhysicalIndex(i), st)
	case array.ExtensionArray:
		return writeValue(sb, a.Storage(), i, st)
	default:
		return fmt.Errorf("unsupported Arrow type %s", a.DataType())
	}
	return nil
}

func writeList(sb *strings.Builder, values arrow.Array, start, end int64, st style) error {
	sb.WriteByte('[')
	for j := start; j < end; j++ {
		if j > start {
			sb.WriteString(", ")
		}
		if err := writeValue(sb, values, int(j), st); err != nil {
			return err
		}
	}
	sb.WriteByte(']')
	return nil
}

func writeString(sb *strings.Builder, s string, st style) {
	if st == canonicalStyle {
		sb.WriteString(strconv.Quote(s))
		return
	}
	sb.WriteString(s)
}

func writeBinary(sb *strings.Builder, b []byte, st style) {
	if st == canonicalStyle {
		sb.WriteString("0x")
	}
	sb.WriteString(hex.EncodeToString(b))
}

func decimalScale(dt arrow.DataType) int32 { return dt.(arrow.DecimalType).GetScale() }

// formatDecimal renders an unscaled value with exactly scale fraction digits.
func formatDecimal(v *big.Int, scale int32) string {
	neg := v.Sign() < 0
	digits := new(big.Int).Abs(v).String()
	if scale <= 0 {
		s := digits
		if v.Sign() != 0 {
			s += strings.Repeat("0", int(-scale))
		}
		if neg {
			s = "-" + s
		}
		return s
	}
	if len(digits) <= int(scale) {
		digits = strings.Repeat("0", int(scale)-len(digits)+1) + digits
	}
	s := digits[:len(digits)-int(scale)] + "." + digits[len(digits)-int(scale):]
	if neg {
		s = "-" + s
	}
	return s
}

// splitTimestamp converts a count of unit since the epoch to seconds and
// nanoseconds (0 <= nanoseconds < 1e9) without overflow.
func splitTimestamp(v int64, unit arrow.TimeUnit) (sec, nsec int64) {
	per := int64(1)
	switch unit {
	case arrow.Millisecond:
		per = 1e3
	case arrow.Microsecond:
		per = 1e6
	case arrow.Nanosecond:
		per = 1e9
	}
	sec, rem := v/per, v%per
	if rem < 0 {
		sec--
		rem += per
	}
	return sec, rem * (1e9 / per)
}

// writeYear writes a year as chrono does: four digits for 0..9999, else a
// sign and at least four digits.
func writeYear(sb *strings.Builder, y int) {
	switch {
	case y >= 0 && y <= 9999:
		fmt.Fprintf(sb, "%04d", y)
	case y < 0:
		fmt.Fprintf(sb, "-%04d", -y)
	default:
		fmt.Fprintf(sb, "+%04d", y)
	}
}

func writeDate(sb *strings.Builder, t time.Time) {
	writeYear(sb, t.Year())
	fmt.Fprintf(sb, "-%02d-%02d", int(t.Month()), t.Day())
}

func writeTimestamp(sb *strings.Builder, t time.Time, zoned bool, st style) {
	writeDate(sb, t)
	sb.WriteByte('T')
	writeTime(sb, t, st)
	if st == canonicalStyle && zoned {
		sb.WriteByte('Z')
	}
}

// writeTime writes the time of day. Canonical style always has exactly six
// fraction digits (microseconds, rounded down); pretty style follows chrono's
// Debug output: no fraction for whole seconds, else 3, 6 or 9 digits.
func writeTime(sb *strings.Builder, t time.Time, st style) {
	fmt.Fprintf(sb, "%02d:%02d:%02d", t.Hour(), t.Minute(), t.Second())
	ns := t.Nanosecond()
	switch {
	case st == canonicalStyle:
		fmt.Fprintf(sb, ".%06d", ns/1000)
	case ns == 0:
	case ns%1e6 == 0:
		fmt.Fprintf(sb, ".%03d", ns/1e6)
	case ns%1e3 == 0:
		fmt.Fprintf(sb, ".%06d", ns/1e3)
	default:
		fmt.Fprintf(sb, ".%09d", ns)
	}
}

func formatFloat(f float64, bitSize int, st style) string {
	if st == canonicalStyle {
		return strconv.FormatFloat(f, 'g', -1, bitSize)
	}
	return ryuFormat(f, bitSize)
}

// ryuFormat formats a float as Rust's ryu crate (used by arrow-rs's display)
// does: shortest round-trip digits, plain notation with at least one fraction
// digit ("1.0", "0.001") when the decimal exponent is in (-6, 21], else
// scientific without "+" ("1e21", "1.5e-7"); "NaN", "inf", "-inf".
func ryuFormat(f float64, bitSize int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	s := strconv.FormatFloat(f, 'e', -1, bitSize) // [-]d[.ddd]e±XX
	sign := ""
	if s[0] == '-' {
		sign, s = "-", s[1:]
	}
	mant, expStr, _ := strings.Cut(s, "e")
	digits := strings.Replace(mant, ".", "", 1)
	exp, _ := strconv.Atoi(expStr)
	length := len(digits)
	kk := exp + 1    // value = 0.digits * 10^kk
	k := kk - length // value = digits * 10^k
	var out string
	switch {
	case 0 <= k && kk <= 21:
		out = digits + strings.Repeat("0", k) + ".0"
	case 0 < kk && kk <= 21:
		out = digits[:kk] + "." + digits[kk:]
	case -6 < kk && kk <= 0:
		out = "0." + strings.Repeat("0", -kk) + digits
	case length == 1:
		out = digits + "e" + strconv.Itoa(kk-1)
	default:
		out = digits[:1] + "." + digits[1:] + "e" + strconv.Itoa(kk-1)
	}
	return sign + out
}
