package delta

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// RecordSource is a stream of record batches to write. Batches (what scans
// return) is one; RecordsOf wraps batches already in memory.
type RecordSource interface {
	Schema() *arrow.Schema
	Next(ctx context.Context) (arrow.RecordBatch, error) // io.EOF at the end
}

// RecordsOf is a RecordSource over batches in memory (they are not released).
func RecordsOf(schema *arrow.Schema, recs ...arrow.RecordBatch) RecordSource {
	return &memSource{schema: schema, recs: recs}
}

type memSource struct {
	schema *arrow.Schema
	recs   []arrow.RecordBatch
	i      int
}

func (m *memSource) Schema() *arrow.Schema { return m.schema }

func (m *memSource) Next(context.Context) (arrow.RecordBatch, error) {
	if m.i >= len(m.recs) {
		return nil, io.EOF
	}
	m.i++
	r := m.recs[m.i-1]
	r.Retain()
	return r, nil
}

// conformer turns incoming batches into batches of the table's logical schema:
// columns matched by name (case-insensitively), missing nullable columns
// filled with nulls, safe widenings cast, NOT NULL columns checked, and, with
// merge-schema, new nullable columns added to the schema.
type conformer struct {
	table   *StructType // the schema after evolution
	evolved bool        // new columns were added
	srcIdx  []int       // for each table field: index in the incoming schema, or -1
}

func newConformer(snap *Snapshot, in *arrow.Schema, mergeSchema bool, ignore map[string]bool) (*conformer, error) {
	schema := &StructType{Fields: append([]*StructField(nil), snap.schema.Fields...)}
	c := &conformer{table: schema}
	used := make([]bool, in.NumFields())
	for _, f := range schema.Fields {
		idx := fieldIndexFold(in.Fields(), f.Name)
		c.srcIdx = append(c.srcIdx, idx)
		if idx < 0 {
			if !f.Nullable {
				return nil, &InvalidDataError{Column: f.Name, Reason: "the data has no such column and it is NOT NULL"}
			}
			continue
		}
		used[idx] = true
		if err := checkAssignable(in.Field(idx).Type, f.Type); err != nil {
			return nil, &InvalidDataError{Column: f.Name, Reason: err.Error()}
		}
	}
	for i, f := range in.Fields() {
		if used[i] || ignore[strings.ToLower(f.Name)] {
			continue
		}
		if !mergeSchema {
			return nil, &InvalidDataError{Column: f.Name, Reason: "not in the table schema (enable merge-schema to add it)"}
		}
		t, err := fromArrowType(f.Type)
		if err != nil {
			return nil, &InvalidDataError{Column: f.Name, Reason: err.Error()}
		}
		schema.Fields = append(schema.Fields, &StructField{Name: f.Name, Type: t, Nullable: true, Metadata: map[string]any{}})
		c.srcIdx = append(c.srcIdx, i)
		c.evolved = true
	}
	return c, nil
}

// InvalidDataError reports data that cannot be written to a table; nothing is written.
type InvalidDataError struct {
	Column string
	Reason string
}

func (e *InvalidDataError) Error() string { return fmt.Sprintf("column %q: %s", e.Column, e.Reason) }

// checkAssignable allows equal types and safe widenings of primitives.
func checkAssignable(in arrow.DataType, t DataType) error {
	want := ArrowType(t)
	if arrow.TypeEqual(in, want) {
		return nil
	}
	got, err := fromArrowType(in)
	if err != nil {
		return err
	}
	if got.String() == t.String() {
		return nil // same Delta type, other Arrow flavour (a time zone, large string)
	}
	if safeWidening(got, t) {
		return nil
	}
	return fmt.Errorf("cannot write %s into a %s column (not a safe widening)", got, t)
}

func safeWidening(from, to DataType) bool {
	rank := map[string]int{"byte": 1, "short": 2, "integer": 3, "long": 4}
	fp, ok1 := from.(*PrimitiveType)
	tp, ok2 := to.(*PrimitiveType)
	if ok1 && ok2 {
		if rank[fp.Name] > 0 && rank[tp.Name] > rank[fp.Name] {
			return true
		}
		switch {
		case fp.Name == "float" && tp.Name == "double":
			return true
		case (fp.Name == "byte" || fp.Name == "short" || fp.Name == "integer") && tp.Name == "double":
			return true
		case fp.Name == "date" && tp.Name == "timestamp_ntz":
			return true
		}
		return false
	}
	fd, fromDec := from.(*DecimalType)
	td, toDec := to.(*DecimalType)
	switch {
	case fromDec && toDec:
		return td.Scale >= fd.Scale && td.Precision-td.Scale >= fd.Precision-fd.Scale
	case toDec && ok1:
		// an integer fits a decimal with enough integer digits
		digits := map[string]int32{"byte": 3, "short": 5, "integer": 10, "long": 20}[fp.Name]
		return digits > 0 && td.Precision-td.Scale >= digits
	}
	return false
}

// apply conforms one batch to the table's logical schema.
func (c *conformer) apply(ctx context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	n := int(rec.NumRows())
	cols := make([]arrow.Array, len(c.table.Fields))
	release := func() {
		for _, col := range cols {
			if col != nil {
				col.Release()
			}
		}
	}
	for i, f := range c.table.Fields {
		want := ArrowType(f.Type)
		if c.srcIdx[i] < 0 {
			cols[i] = array.MakeArrayOfNull(memory.DefaultAllocator, want, n)
			continue
		}
		src := rec.Column(c.srcIdx[i])
		if !f.Nullable && src.NullN() > 0 {
			release()
			return nil, &InvalidDataError{Column: f.Name, Reason: fmt.Sprintf("is NOT NULL but the data has %d null values", src.NullN())}
		}
		switch {
		case arrow.TypeEqual(src.DataType(), want):
			src.Retain()
			cols[i] = src
		case src.DataType().ID() == want.ID() && sameStorage(src.DataType(), want):
			d := array.NewData(want, src.Len(), src.Data().Buffers(), src.Data().Children(), src.NullN(), src.Data().Offset())
			cols[i] = array.MakeFromData(d)
			d.Release()
		default:
			out, err := compute.CastArray(ctx, src, compute.SafeCastOptions(want))
			if err != nil {
				release()
				return nil, &InvalidDataError{Column: f.Name, Reason: fmt.Sprintf("cannot convert %s to %s: %v", src.DataType(), f.Type, err)}
			}
			cols[i] = out
		}
	}
	out := array.NewRecordBatch(ArrowSchema(c.table), cols, int64(n))
	release()
	return out, nil
}

// physicalSchema is the Arrow schema of data files: column-mapping physical
// names and field ids where the table maps columns.
func physicalSchema(s *StructType, mode ColumnMappingMode) *arrow.Schema {
	return arrow.NewSchema(physicalFields(s, mode), nil)
}

func physicalFields(s *StructType, mode ColumnMappingMode) []arrow.Field {
	out := make([]arrow.Field, len(s.Fields))
	for i, f := range s.Fields {
		af := arrow.Field{Name: f.PhysicalName(mode), Type: physicalType(f.Type, mode), Nullable: f.Nullable}
		if mode != MappingNone {
			if id := f.FieldID(); id >= 0 {
				af.Metadata = arrow.NewMetadata([]string{"PARQUET:field_id"}, []string{fmt.Sprint(id)})
			}
		}
		out[i] = af
	}
	return out
}

func physicalType(t DataType, mode ColumnMappingMode) arrow.DataType {
	switch v := t.(type) {
	case *StructType:
		return arrow.StructOf(physicalFields(v, mode)...)
	case *ArrayType:
		return arrow.ListOfField(arrow.Field{Name: "element", Type: physicalType(v.Element, mode), Nullable: v.ContainsNull})
	case *MapType:
		m := arrow.MapOf(physicalType(v.Key, mode), physicalType(v.Value, mode))
		m.SetItemNullable(v.ValueContainsNull)
		return m
	}
	return ArrowType(t)
}

// toPhysical re-labels a logical batch with the physical schema (same data, other names).
func toPhysical(rec arrow.RecordBatch, phys *arrow.Schema) arrow.RecordBatch {
	cols := make([]arrow.Array, rec.NumCols())
	for i := range cols {
		cols[i] = relabel(rec.Column(i), phys.Field(i).Type)
	}
	out := array.NewRecordBatch(phys, cols, rec.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return out
}

func relabel(a arrow.Array, t arrow.DataType) arrow.Array {
	if arrow.TypeEqual(a.DataType(), t) {
		a.Retain()
		return a
	}
	d := relabelData(a.Data(), t)
	defer d.Release()
	return array.MakeFromData(d)
}

func relabelData(d arrow.ArrayData, t arrow.DataType) arrow.ArrayData {
	children := d.Children()
	var newChildren []arrow.ArrayData
	switch tt := t.(type) {
	case *arrow.StructType:
		for i, c := range children {
			newChildren = append(newChildren, relabelData(c, tt.Field(i).Type))
		}
	case *arrow.ListType:
		newChildren = []arrow.ArrayData{relabelData(children[0], tt.Elem())}
	case *arrow.MapType:
		newChildren = []arrow.ArrayData{relabelData(children[0], tt.Elem())}
	default:
		newChildren = children
	}
	out := array.NewData(t, d.Len(), d.Buffers(), newChildren, d.NullN(), d.Offset())
	for i, c := range newChildren {
		if i < len(children) && c != children[i] {
			c.Release()
		}
	}
	return out
}
