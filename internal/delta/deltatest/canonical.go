package deltatest

import (
	"fmt"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// CanonicalOptions adjust CanonicalSchemaWith.
type CanonicalOptions struct {
	// NanosWithoutTZAsTimestamp maps timestamp[ns] columns without a time
	// zone to "timestamp" instead of "timestamp_ntz". Spark writes
	// TimestampType as Parquet INT96, which carries no time-zone flag; some
	// readers surface it as a zone-less timestamp[ns]. pqarrow (used by
	// ReadParquetDir) already reads INT96 as timestamp[ns, tz=UTC], so the
	// default rule is right for its output; set this for batches from
	// readers that drop the zone. Delta itself never produces nanosecond
	// timestamp_ntz values (its timestamps are microseconds), so the mapping
	// is unambiguous for Delta data.
	NanosWithoutTZAsTimestamp bool
}

// CanonicalSchema renders s as one "name: type" entry per top-level column,
// in schema order, using Delta type names (see DeltaTypeName). Nullability and
// metadata are not part of the rendering.
func CanonicalSchema(s *arrow.Schema) []string {
	return CanonicalSchemaWith(s, CanonicalOptions{})
}

// CanonicalSchemaWith is CanonicalSchema with options.
func CanonicalSchemaWith(s *arrow.Schema, o CanonicalOptions) []string {
	out := make([]string, 0, s.NumFields())
	for _, f := range s.Fields() {
		out = append(out, f.Name+": "+deltaTypeName(f.Type, o))
	}
	return out
}

// DeltaTypeName renders an Arrow type with Delta type names:
//
//	int8 byte, int16 short, int32 integer, int64 long, float32 float,
//	float64 double, bool boolean, (large/view) utf8 string,
//	(large/view/fixed-size) binary binary, date32/date64 date,
//	timestamp with a time zone timestamp, without timestamp_ntz,
//	decimal(p,s), struct<a: t, b: t>, array<t> (all list kinds),
//	map<k, v>, null void.
//
// Dictionary and run-end encoded types render as their value type; extension
// types as "variant" for Parquet variants, else as their storage type. Types
// Delta lacks (unsigned integers, float16, times, durations, intervals) keep
// their Arrow names.
func DeltaTypeName(dt arrow.DataType) string { return deltaTypeName(dt, CanonicalOptions{}) }

func deltaTypeName(dt arrow.DataType, o CanonicalOptions) string {
	switch t := dt.(type) {
	case *arrow.NullType:
		return "void"
	case *arrow.BooleanType:
		return "boolean"
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
	case *arrow.StringType, *arrow.LargeStringType, *arrow.StringViewType:
		return "string"
	case *arrow.BinaryType, *arrow.LargeBinaryType, *arrow.BinaryViewType, *arrow.FixedSizeBinaryType:
		return "binary"
	case *arrow.Date32Type, *arrow.Date64Type:
		return "date"
	case *arrow.TimestampType:
		if t.TimeZone != "" || (o.NanosWithoutTZAsTimestamp && t.Unit == arrow.Nanosecond) {
			return "timestamp"
		}
		return "timestamp_ntz"
	case arrow.DecimalType:
		return fmt.Sprintf("decimal(%d,%d)", t.GetPrecision(), t.GetScale())
	case *arrow.StructType:
		parts := make([]string, 0, t.NumFields())
		for _, f := range t.Fields() {
			parts = append(parts, f.Name+": "+deltaTypeName(f.Type, o))
		}
		return "struct<" + strings.Join(parts, ", ") + ">"
	case *arrow.MapType:
		return "map<" + deltaTypeName(t.KeyType(), o) + ", " + deltaTypeName(t.ItemType(), o) + ">"
	case arrow.ListLikeType:
		return "array<" + deltaTypeName(t.Elem(), o) + ">"
	case *arrow.DictionaryType:
		return deltaTypeName(t.ValueType, o)
	case *arrow.RunEndEncodedType:
		return deltaTypeName(t.Encoded(), o)
	case arrow.ExtensionType:
		if strings.Contains(strings.ToLower(t.ExtensionName()), "variant") {
			return "variant"
		}
		return deltaTypeName(t.StorageType(), o)
	default:
		return dt.String()
	}
}

// CanonicalRows renders every row of recs as one string, type-aware and
// exact, and returns them sorted, so that two results compare equal exactly
// when they are the same multiset of rows. Columns are separated by " | ".
//
// Values: integers in decimal; floats with strconv 'g' and shortest
// precision ("NaN", "+Inf", "-Inf"); decimals with all their scale digits
// ("1.50"); strings quoted with strconv.Quote; binary as 0x-prefixed hex;
// dates YYYY-MM-DD; timestamps in UTC as 2006-01-02T15:04:05.000000 (any unit
// normalized to microseconds, rounding down), with a "Z" suffix when the type
// has a time zone; booleans true/false; null as NULL; structs
// {a: 1, b: "x"}; lists [1, 2]; maps {k -> v, ...} in stored order.
// Large/view variants of strings, binaries and lists render alike; dictionary
// and run-end encoded arrays are decoded. s supplies the column count that
// every batch must match.
func CanonicalRows(s *arrow.Schema, recs []arrow.RecordBatch) ([]string, error) {
	cols := make([]int, s.NumFields())
	for i := range cols {
		cols[i] = i
	}
	return renderRows(s, recs, cols, canonicalStyle)
}

func renderRows(s *arrow.Schema, recs []arrow.RecordBatch, cols []int, st style) ([]string, error) {
	var rows []string
	var sb strings.Builder
	for ri, rec := range recs {
		if int(rec.NumCols()) != s.NumFields() {
			return nil, fmt.Errorf("batch %d has %d columns, schema has %d", ri, rec.NumCols(), s.NumFields())
		}
		for row := 0; row < int(rec.NumRows()); row++ {
			sb.Reset()
			for ci, c := range cols {
				if ci > 0 {
					sb.WriteString(" | ")
				}
				v, err := formatValue(rec.Column(c), row, st)
				if err != nil {
					return nil, fmt.Errorf("column %q, batch %d, row %d: %w", s.Field(c).Name, ri, row, err)
				}
				if st == prettyStyle {
					v = strings.TrimSpace(v)
				}
				sb.WriteString(v)
			}
			rows = append(rows, sb.String())
		}
	}
	sort.Strings(rows)
	return rows, nil
}

// Diff compares two multisets of rows (as produced by CanonicalRows,
// PrettyRows or PrettyTable.CanonicalRows) and returns "" when they are
// equal, else a short report: counts, then up to 20 lines of rows missing
// from got ("- ") and unexpected in got ("+ "), with multiplicities.
func Diff(wantRows, gotRows []string) string {
	const maxLines = 20
	count := map[string]int{}
	for _, r := range wantRows {
		count[r]++
	}
	for _, r := range gotRows {
		count[r]--
	}
	var missing, extra []string
	keys := make([]string, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	nMissing, nExtra := 0, 0
	for _, k := range keys {
		switch n := count[k]; {
		case n > 0:
			nMissing += n
			missing = append(missing, withCount("- ", k, n))
		case n < 0:
			nExtra += -n
			extra = append(extra, withCount("+ ", k, -n))
		}
	}
	if nMissing == 0 && nExtra == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "want %d rows, got %d: %d missing (-), %d unexpected (+)\n", len(wantRows), len(gotRows), nMissing, nExtra)
	lines := append(missing, extra...)
	for i, l := range lines {
		if i == maxLines {
			fmt.Fprintf(&b, "... and %d more differing rows\n", len(lines)-maxLines)
			break
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

func withCount(prefix, row string, n int) string {
	if n == 1 {
		return prefix + row
	}
	return fmt.Sprintf("%s%s  (x%d)", prefix, row, n)
}
