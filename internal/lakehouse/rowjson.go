package lakehouse

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/lakeport/lakeport/internal/format"
)

// RowEncoder renders rows of record batches of one schema as JSON objects,
// one key per column in schema order: integers and decimals as numbers,
// floats as numbers (NaN and infinities as strings), timestamps as RFC 3339
// UTC strings with microseconds (timestamp_ntz as if UTC), dates as
// YYYY-MM-DD, binary as base64, nested values as JSON, NULL as null.
type RowEncoder struct {
	keys [][]byte // `"name":` per column, with the leading comma where needed
	skip []bool
}

// NewRowEncoder prepares an encoder for the schema; columns named in omit
// are left out.
func NewRowEncoder(schema *arrow.Schema, omit ...string) *RowEncoder {
	e := &RowEncoder{}
	first := true
	for _, f := range schema.Fields() {
		skip := false
		for _, o := range omit {
			if o == f.Name {
				skip = true
			}
		}
		e.skip = append(e.skip, skip)
		if skip {
			e.keys = append(e.keys, nil)
			continue
		}
		var k []byte
		if !first {
			k = append(k, ',')
		}
		first = false
		k = appendJSONString(k, f.Name)
		k = append(k, ':')
		e.keys = append(e.keys, k)
	}
	return e
}

// Append appends row i of rec as a JSON object to buf.
func (e *RowEncoder) Append(buf []byte, rec arrow.RecordBatch, i int) []byte {
	buf = append(buf, '{')
	for c, k := range e.keys {
		if e.skip[c] {
			continue
		}
		buf = append(buf, k...)
		buf = AppendJSONValue(buf, rec.Column(c), i)
	}
	return append(buf, '}')
}

// AppendJSONValue appends value i of arr as JSON.
func AppendJSONValue(buf []byte, arr arrow.Array, i int) []byte {
	if arr.IsNull(i) {
		return append(buf, "null"...)
	}
	switch a := arr.(type) {
	case *array.Int8:
		return strconv.AppendInt(buf, int64(a.Value(i)), 10)
	case *array.Int16:
		return strconv.AppendInt(buf, int64(a.Value(i)), 10)
	case *array.Int32:
		return strconv.AppendInt(buf, int64(a.Value(i)), 10)
	case *array.Int64:
		return strconv.AppendInt(buf, a.Value(i), 10)
	case *array.Uint8:
		return strconv.AppendUint(buf, uint64(a.Value(i)), 10)
	case *array.Uint16:
		return strconv.AppendUint(buf, uint64(a.Value(i)), 10)
	case *array.Uint32:
		return strconv.AppendUint(buf, uint64(a.Value(i)), 10)
	case *array.Uint64:
		return strconv.AppendUint(buf, a.Value(i), 10)
	case *array.Float32:
		return appendFloat(buf, float64(a.Value(i)), 32)
	case *array.Float64:
		return appendFloat(buf, a.Value(i), 64)
	case *array.Boolean:
		return strconv.AppendBool(buf, a.Value(i))
	case *array.String:
		return appendJSONString(buf, a.Value(i))
	case *array.LargeString:
		return appendJSONString(buf, a.Value(i))
	case *array.Binary:
		return appendJSONString(buf, base64.StdEncoding.EncodeToString(a.Value(i)))
	case *array.Date32:
		return appendJSONString(buf, a.Value(i).ToTime().Format(time.DateOnly))
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		t := time.UnixMicro(toMicros(int64(a.Value(i)), unit)).UTC()
		buf = append(buf, '"')
		buf = t.AppendFormat(buf, time.RFC3339Nano)
		return append(buf, '"')
	case *array.Decimal128:
		return append(buf, a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)...)
	}
	b, err := json.Marshal(format.JSONValue(arr, i))
	if err != nil {
		s, _ := format.Cell(arr, i)
		return appendJSONString(buf, s)
	}
	return append(buf, b...)
}

func appendFloat(buf []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(buf, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(buf, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(buf, `"-Infinity"`...)
	}
	return strconv.AppendFloat(buf, f, 'g', -1, bits)
}

// appendJSONString appends s as a JSON string (invalid UTF-8 replaced).
func appendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, `\u00`...)
				buf = append(buf, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\u202`...)
			buf = append(buf, "0123456789abcdef"[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
