package format

import (
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Writer writes record batches in one format. Close flushes.
type Writer interface {
	Write(rec arrow.RecordBatch) error
	Close() error
}

// Names lists the formats NewWriter accepts.
var Names = []string{"table", "json", "csv"}

// NewWriter returns a writer of the named format ("table", "json" for NDJSON, "csv").
func NewWriter(name string, w io.Writer, schema *arrow.Schema) (Writer, error) {
	switch name {
	case "table":
		return &tableWriter{w: w, schema: schema}, nil
	case "json":
		return &jsonWriter{w: w, schema: schema}, nil
	case "csv":
		cw := csv.NewWriter(w)
		header := make([]string, schema.NumFields())
		for i, f := range schema.Fields() {
			header[i] = f.Name
		}
		if err := cw.Write(header); err != nil {
			return nil, err
		}
		return &csvWriter{w: cw}, nil
	}
	return nil, fmt.Errorf("unknown format %q (want one of %s)", name, strings.Join(Names, ", "))
}

// Cell renders one value as text; ok is false for null.
func Cell(arr arrow.Array, i int) (string, bool) {
	if arr.IsNull(i) {
		return "", false
	}
	switch a := arr.(type) {
	case *array.String:
		return a.Value(i), true
	case *array.LargeString:
		return a.Value(i), true
	case *array.Binary:
		return hex.EncodeToString(a.Value(i)), true
	case *array.LargeBinary:
		return hex.EncodeToString(a.Value(i)), true
	case *array.Float32:
		return formatFloat(float64(a.Value(i)), 32), true
	case *array.Float64:
		return formatFloat(a.Value(i), 64), true
	case *array.Decimal128:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale), true
	case *array.Date32:
		return a.Value(i).ToTime().Format("2006-01-02"), true
	case *array.Timestamp:
		tt := a.DataType().(*arrow.TimestampType)
		t := a.Value(i).ToTime(tt.Unit).UTC()
		layout := "2006-01-02T15:04:05.999999"
		if tt.TimeZone != "" {
			layout += "Z07:00"
		}
		return t.Format(layout), true
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i)), true
	case *array.Struct, *array.List, *array.LargeList, *array.Map, *array.FixedSizeList:
		b, err := json.Marshal(JSONValue(arr, i))
		if err != nil {
			return arr.ValueStr(i), true
		}
		return string(b), true
	}
	return arr.ValueStr(i), true
}

func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}

// JSONValue converts one value to a value encoding/json renders faithfully.
func JSONValue(arr arrow.Array, i int) any {
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.Struct:
		st := a.DataType().(*arrow.StructType)
		m := make(orderedObject, 0, st.NumFields())
		for j, f := range st.Fields() {
			m = append(m, kv{f.Name, JSONValue(a.Field(j), i)})
		}
		return m
	case *array.Map:
		start, end := a.ValueOffsets(i)
		keys, items := a.Keys(), a.Items()
		m := make(orderedObject, 0, end-start)
		for j := int(start); j < int(end); j++ {
			k, _ := Cell(keys, j)
			m = append(m, kv{k, JSONValue(items, j)})
		}
		return m
	case *array.List:
		start, end := a.ValueOffsets(i)
		out := make([]any, 0, end-start)
		for j := int(start); j < int(end); j++ {
			out = append(out, JSONValue(a.ListValues(), j))
		}
		return out
	case *array.LargeList:
		start, end := a.ValueOffsets(i)
		out := make([]any, 0, end-start)
		for j := int(start); j < int(end); j++ {
			out = append(out, JSONValue(a.ListValues(), j))
		}
		return out
	case *array.Int8:
		return a.Value(i)
	case *array.Int16:
		return a.Value(i)
	case *array.Int32:
		return a.Value(i)
	case *array.Int64:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.Float32, *array.Float64:
		s, _ := Cell(arr, i)
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return json.Number(s)
		}
		return s
	case *array.Decimal128:
		s, _ := Cell(arr, i)
		return json.Number(s)
	}
	s, _ := Cell(arr, i)
	return s
}

type kv struct {
	k string
	v any
}

// orderedObject is a JSON object that keeps its key order.
type orderedObject []kv

func (o orderedObject) MarshalJSON() ([]byte, error) {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, e := range o {
		if i > 0 {
			sb.WriteByte(',')
		}
		k, _ := json.Marshal(e.k)
		sb.Write(k)
		sb.WriteByte(':')
		v, err := json.Marshal(e.v)
		if err != nil {
			return nil, err
		}
		sb.Write(v)
	}
	sb.WriteByte('}')
	return []byte(sb.String()), nil
}

type jsonWriter struct {
	w      io.Writer
	schema *arrow.Schema
}

func (j *jsonWriter) Write(rec arrow.RecordBatch) error {
	enc := json.NewEncoder(j.w)
	enc.SetEscapeHTML(false)
	for r := 0; r < int(rec.NumRows()); r++ {
		obj := make(orderedObject, rec.NumCols())
		for c := 0; c < int(rec.NumCols()); c++ {
			obj[c] = kv{rec.Schema().Field(c).Name, JSONValue(rec.Column(c), r)}
		}
		if err := enc.Encode(obj); err != nil {
			return err
		}
	}
	return nil
}

func (j *jsonWriter) Close() error { return nil }

type csvWriter struct{ w *csv.Writer }

func (c *csvWriter) Write(rec arrow.RecordBatch) error {
	row := make([]string, rec.NumCols())
	for r := 0; r < int(rec.NumRows()); r++ {
		for i := range row {
			row[i], _ = Cell(rec.Column(i), r)
		}
		if err := c.w.Write(row); err != nil {
			return err
		}
	}
	return nil
}

func (c *csvWriter) Close() error {
	c.w.Flush()
	return c.w.Error()
}

// tableWriter buffers rows to align columns; callers bound it with a row limit.
type tableWriter struct {
	w      io.Writer
	schema *arrow.Schema
	rows   [][]string
}

func (t *tableWriter) Write(rec arrow.RecordBatch) error {
	for r := 0; r < int(rec.NumRows()); r++ {
		row := make([]string, rec.NumCols())
		for i := range row {
			s, ok := Cell(rec.Column(i), r)
			if !ok {
				s = "NULL"
			}
			row[i] = s
		}
		t.rows = append(t.rows, row)
	}
	return nil
}

func (t *tableWriter) Close() error {
	n := t.schema.NumFields()
	widths := make([]int, n)
	for i, f := range t.schema.Fields() {
		widths[i] = utf8.RuneCountInString(f.Name)
	}
	for _, r := range t.rows {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	var sb strings.Builder
	line := func() {
		for _, w := range widths {
			sb.WriteString("+" + strings.Repeat("-", w+2))
		}
		sb.WriteString("+\n")
	}
	row := func(cells []string) {
		for i, c := range cells {
			sb.WriteString("| " + c + strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)) + " ")
		}
		sb.WriteString("|\n")
	}
	header := make([]string, n)
	for i, f := range t.schema.Fields() {
		header[i] = f.Name
	}
	line()
	row(header)
	line()
	for _, r := range t.rows {
		row(r)
	}
	line()
	fmt.Fprintf(&sb, "(%d rows)\n", len(t.rows))
	_, err := io.WriteString(t.w, sb.String())
	return err
}
