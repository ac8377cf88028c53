package lakehouse

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// ValueKind is the kind of a Value.
type ValueKind uint8

const (
	KindNull      ValueKind = iota
	KindInt                 // Int
	KindString              // Str
	KindTimestamp           // Int: microseconds since the epoch, UTC (timestamp and timestamp_ntz)
	KindDate                // Int: days since the epoch
)

var kindNames = [...]string{"null", "int", "string", "timestamp", "date"}

func (k ValueKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is a scalar of an ordering column: the key of a position in an
// ordered scan or a range bound. The zero Value is NULL.
type Value struct {
	Kind ValueKind
	Int  int64
	Str  string
}

// Int returns an integer Value.
func Int(v int64) Value { return Value{Kind: KindInt, Int: v} }

// String returns a string Value.
func String(s string) Value { return Value{Kind: KindString, Str: s} }

// Timestamp returns a timestamp Value (microsecond precision, UTC).
func Timestamp(t time.Time) Value { return Value{Kind: KindTimestamp, Int: t.UnixMicro()} }

// Date returns a date Value for t's calendar day in UTC.
func Date(t time.Time) Value {
	u := t.UTC()
	days := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400
	return Value{Kind: KindDate, Int: days}
}

// IsNull reports whether v is NULL.
func (v Value) IsNull() bool { return v.Kind == KindNull }

// Time returns a timestamp or date value as a time (UTC).
func (v Value) Time() time.Time {
	switch v.Kind {
	case KindTimestamp:
		return time.UnixMicro(v.Int).UTC()
	case KindDate:
		return time.Unix(v.Int*86400, 0).UTC()
	}
	return time.Time{}
}

// String renders v for messages: NULL, 42, 'text', 2024-01-31T10:00:00.000001Z, 2024-01-31.
func (v Value) String() string {
	switch v.Kind {
	case KindNull:
		return "NULL"
	case KindInt:
		return strconv.FormatInt(v.Int, 10)
	case KindString:
		return "'" + strings.ReplaceAll(v.Str, "'", "''") + "'"
	case KindTimestamp:
		return v.Time().Format(time.RFC3339Nano)
	case KindDate:
		return v.Time().Format(time.DateOnly)
	}
	return fmt.Sprintf("<%s>", v.Kind)
}

// Compare orders two values of the same kind: NULL first, integers and
// times numerically, strings bytewise. Values of different kinds order by
// kind (callers never mix kinds in one column).
func Compare(a, b Value) int {
	if a.Kind != b.Kind {
		return cmp(int64(a.Kind), int64(b.Kind))
	}
	switch a.Kind {
	case KindNull:
		return 0
	case KindString:
		return strings.Compare(a.Str, b.Str)
	}
	return cmp(a.Int, b.Int)
}

func cmp(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Compare orders positions: by Key, then by Tie.
func (p Position) Compare(q Position) int {
	if c := Compare(p.Key, q.Key); c != 0 {
		return c
	}
	return Compare(p.Tie, q.Tie)
}

type valueJSON struct {
	Kind  string `json:"kind"`
	Value string `json:"value,omitempty"`
}

// MarshalJSON renders v as {"kind":"timestamp","value":"2024-01-31T10:00:00Z"}.
func (v Value) MarshalJSON() ([]byte, error) {
	j := valueJSON{Kind: v.Kind.String()}
	switch v.Kind {
	case KindNull:
	case KindString:
		j.Value = v.Str
	case KindInt:
		j.Value = strconv.FormatInt(v.Int, 10)
	case KindTimestamp, KindDate:
		j.Value = strings.Trim(v.String(), "'")
	default:
		return nil, fmt.Errorf("cannot encode value of kind %s", v.Kind)
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (v *Value) UnmarshalJSON(b []byte) error {
	var j valueJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	switch j.Kind {
	case "null", "":
		*v = Value{}
	case "string":
		*v = String(j.Value)
	case "int":
		n, err := strconv.ParseInt(j.Value, 10, 64)
		if err != nil {
			return fmt.Errorf("int value %q: %w", j.Value, err)
		}
		*v = Int(n)
	case "timestamp":
		t, err := time.Parse(time.RFC3339Nano, j.Value)
		if err != nil {
			return fmt.Errorf("timestamp value %q: %w", j.Value, err)
		}
		*v = Timestamp(t)
	case "date":
		t, err := time.Parse(time.DateOnly, j.Value)
		if err != nil {
			return fmt.Errorf("date value %q: %w", j.Value, err)
		}
		*v = Date(t)
	default:
		return fmt.Errorf("unknown value kind %q", j.Kind)
	}
	return nil
}

// OrderKind returns the kind of Value a column of this (canonical
// Databricks) type holds, and whether it can order a scan: timestamps,
// dates and integers can be the order column; those and strings can be the
// tie-breaker.
func OrderKind(sqlType string) (kind ValueKind, key, tie bool) {
	switch strings.ToLower(sqlType) {
	case "timestamp", "timestamp_ntz":
		return KindTimestamp, true, true
	case "date":
		return KindDate, true, true
	case "bigint", "int", "smallint", "tinyint":
		return KindInt, true, true
	case "string":
		return KindString, false, true
	}
	return KindNull, false, false
}

// ValueAt reads row i of an Arrow column of an orderable type (integers,
// strings, dates, timestamps of any unit) as a Value; NULL reads as the zero
// Value. Other types are an error.
func ValueAt(arr arrow.Array, i int) (Value, error) {
	if arr.IsNull(i) {
		return Value{}, nil
	}
	switch a := arr.(type) {
	case *array.Int8:
		return Int(int64(a.Value(i))), nil
	case *array.Int16:
		return Int(int64(a.Value(i))), nil
	case *array.Int32:
		return Int(int64(a.Value(i))), nil
	case *array.Int64:
		return Int(a.Value(i)), nil
	case *array.String:
		return String(a.Value(i)), nil
	case *array.LargeString:
		return String(a.Value(i)), nil
	case *array.Date32:
		return Value{Kind: KindDate, Int: int64(a.Value(i))}, nil
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return Value{Kind: KindTimestamp, Int: toMicros(int64(a.Value(i)), unit)}, nil
	}
	return Value{}, fmt.Errorf("cannot order by a column of type %s", arr.DataType())
}

func toMicros(v int64, unit arrow.TimeUnit) int64 {
	switch unit {
	case arrow.Second:
		return v * 1_000_000
	case arrow.Millisecond:
		return v * 1_000
	case arrow.Nanosecond:
		if v < 0 && v%1000 != 0 {
			return v/1000 - 1
		}
		return v / 1000
	}
	return v
}
