package dbxfake

import (
	"bytes"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/pierrec/lz4/v4"

	"github.com/lakeport/lakeport/internal/lakehouse/databricks/dbxfake/internal/tcli"
)

// eos is the Arrow IPC end-of-stream marker.
var eos = []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}

// schemaIPC is the Arrow IPC stream encoding of the schema message alone
// (no end-of-stream marker): TGetResultSetMetadataResp.arrowSchema. The
// driver reads a batch as this followed by TSparkArrowBatch.batch.
func schemaIPC(schema *arrow.Schema) ([]byte, error) {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	if err := w.Close(); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), eos), nil
}

// batchIPC encodes rec as the IPC messages that follow the schema message
// (dictionaries, if any, then the record batch), without end-of-stream
// marker: the framing of TSparkArrowBatch.batch.
func batchIPC(schema *arrow.Schema, schemaBytes []byte, rec arrow.RecordBatch) ([]byte, error) {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	if err := w.Write(rec); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	if !bytes.HasPrefix(b, schemaBytes) {
		return nil, errorf("arrow IPC stream does not start with the schema message")
	}
	return bytes.TrimSuffix(b[len(schemaBytes):], eos), nil
}

func lz4Frame(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	w := lz4.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// tableSchema describes an Arrow schema as a Thrift TTableSchema, with the
// type ids Databricks reports for the corresponding SQL types.
func tableSchema(schema *arrow.Schema) *tcli.TTableSchema {
	ts := &tcli.TTableSchema{Columns: []*tcli.TColumnDesc{}}
	if schema == nil {
		return ts
	}
	for i, f := range schema.Fields() {
		id, quals := thriftType(f.Type)
		entry := &tcli.TPrimitiveTypeEntry{Type: id}
		if quals != nil {
			entry.TypeQualifiers = &tcli.TTypeQualifiers{Qualifiers: quals}
		}
		comment := ""
		ts.Columns = append(ts.Columns, &tcli.TColumnDesc{
			ColumnName: f.Name,
			TypeDesc:   &tcli.TTypeDesc{Types: []*tcli.TTypeEntry{{PrimitiveEntry: entry}}},
			Position:   int32(i + 1),
			Comment:    &comment,
		})
	}
	return ts
}

func thriftType(t arrow.DataType) (tcli.TTypeId, map[string]*tcli.TTypeQualifierValue) {
	switch t := t.(type) {
	case *arrow.BooleanType:
		return tcli.TTypeId_BOOLEAN_TYPE, nil
	case *arrow.Int8Type:
		return tcli.TTypeId_TINYINT_TYPE, nil
	case *arrow.Int16Type:
		return tcli.TTypeId_SMALLINT_TYPE, nil
	case *arrow.Int32Type:
		return tcli.TTypeId_INT_TYPE, nil
	case *arrow.Int64Type:
		return tcli.TTypeId_BIGINT_TYPE, nil
	case *arrow.Float32Type:
		return tcli.TTypeId_FLOAT_TYPE, nil
	case *arrow.Float64Type:
		return tcli.TTypeId_DOUBLE_TYPE, nil
	case *arrow.StringType, *arrow.LargeStringType:
		return tcli.TTypeId_STRING_TYPE, nil
	case *arrow.BinaryType, *arrow.LargeBinaryType:
		return tcli.TTypeId_BINARY_TYPE, nil
	case *arrow.Date32Type, *arrow.Date64Type:
		return tcli.TTypeId_DATE_TYPE, nil
	case *arrow.TimestampType:
		return tcli.TTypeId_TIMESTAMP_TYPE, nil
	case *arrow.Decimal128Type:
		p, s := t.Precision, t.Scale
		return tcli.TTypeId_DECIMAL_TYPE, map[string]*tcli.TTypeQualifierValue{
			"precision": {I32Value: &p},
			"scale":     {I32Value: &s},
		}
	case *arrow.ListType, *arrow.LargeListType, *arrow.FixedSizeListType:
		return tcli.TTypeId_ARRAY_TYPE, nil
	case *arrow.MapType:
		return tcli.TTypeId_MAP_TYPE, nil
	case *arrow.StructType:
		return tcli.TTypeId_STRUCT_TYPE, nil
	case *arrow.NullType:
		return tcli.TTypeId_NULL_TYPE, nil
	case *arrow.MonthIntervalType:
		return tcli.TTypeId_INTERVAL_YEAR_MONTH_TYPE, nil
	case *arrow.DayTimeIntervalType, *arrow.DurationType:
		return tcli.TTypeId_INTERVAL_DAY_TIME_TYPE, nil
	}
	return tcli.TTypeId_STRING_TYPE, nil
}

// NewResult builds a one-batch Result from Go values, row by row. Supported
// field types and values (nil is NULL): Boolean (bool), Int8..Int64 and
// Float32/64 (any Go integer or float), String (string), Binary ([]byte),
// Date32 (time.Time), Timestamp (time.Time; unit and zone from the type),
// Decimal128 (string such as "12.34", or decimal128.Num).
func NewResult(fields []arrow.Field, rows ...[]any) (*Result, error) {
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for r, row := range rows {
		if len(row) != len(fields) {
			return nil, errorf("row %d has %d values, want %d", r, len(row), len(fields))
		}
		for c, v := range row {
			if err := appendValue(b.Field(c), fields[c].Type, v); err != nil {
				return nil, errorf("row %d column %q: %v", r, fields[c].Name, err)
			}
		}
	}
	rec := b.NewRecordBatch()
	return &Result{Schema: schema, Batches: []arrow.RecordBatch{rec}}, nil
}

// MustResult is NewResult that panics on error.
func MustResult(fields []arrow.Field, rows ...[]any) *Result {
	r, err := NewResult(fields, rows...)
	if err != nil {
		panic(err)
	}
	return r
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	if i, ok := toInt(v); ok {
		return float64(i), true
	}
	return 0, false
}

func appendValue(b array.Builder, t arrow.DataType, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	bad := func() error { return fmt.Errorf("cannot append %T to %s", v, t) }
	switch bb := b.(type) {
	case *array.BooleanBuilder:
		x, ok := v.(bool)
		if !ok {
			return bad()
		}
		bb.Append(x)
	case *array.Int8Builder:
		x, ok := toInt(v)
		if !ok {
			return bad()
		}
		bb.Append(int8(x))
	case *array.Int16Builder:
		x, ok := toInt(v)
		if !ok {
			return bad()
		}
		bb.Append(int16(x))
	case *array.Int32Builder:
		x, ok := toInt(v)
		if !ok {
			return bad()
		}
		bb.Append(int32(x))
	case *array.Int64Builder:
		x, ok := toInt(v)
		if !ok {
			return bad()
		}
		bb.Append(x)
	case *array.Float32Builder:
		x, ok := toFloat(v)
		if !ok {
			return bad()
		}
		bb.Append(float32(x))
	case *array.Float64Builder:
		x, ok := toFloat(v)
		if !ok {
			return bad()
		}
		bb.Append(x)
	case *array.StringBuilder:
		x, ok := v.(string)
		if !ok {
			return bad()
		}
		bb.Append(x)
	case *array.BinaryBuilder:
		x, ok := v.([]byte)
		if !ok {
			return bad()
		}
		bb.Append(x)
	case *array.Date32Builder:
		x, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		bb.Append(arrow.Date32FromTime(x))
	case *array.TimestampBuilder:
		x, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		ts, err := arrow.TimestampFromTime(x, t.(*arrow.TimestampType).Unit)
		if err != nil {
			return err
		}
		bb.Append(ts)
	case *array.Decimal128Builder:
		dt := t.(*arrow.Decimal128Type)
		switch x := v.(type) {
		case decimal128.Num:
			bb.Append(x)
		case string:
			n, err := decimal128.FromString(x, dt.Precision, dt.Scale)
			if err != nil {
				return err
			}
			bb.Append(n)
		default:
			return bad()
		}
	default:
		return fmt.Errorf("NewResult does not support %s", t)
	}
	return nil
}
