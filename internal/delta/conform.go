package delta

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// fieldMatcher finds the data-file field that stores a logical field, honouring column mapping.
type fieldMatcher struct{ mode ColumnMappingMode }

// find returns the index of f among the file's fields, or -1.
func (m fieldMatcher) find(fileFields []arrow.Field, f *StructField) int {
	if m.mode == MappingID {
		if id := f.FieldID(); id >= 0 {
			for i, ff := range fileFields {
				if s, ok := ff.Metadata.GetValue("PARQUET:field_id"); ok && s == strconv.FormatInt(id, 10) {
					return i
				}
			}
		}
	}
	name := f.PhysicalName(m.mode)
	for i, ff := range fileFields {
		if ff.Name == name {
			return i
		}
	}
	if m.mode == MappingNone {
		for i, ff := range fileFields {
			if strings.EqualFold(ff.Name, name) {
				return i
			}
		}
	}
	return -1
}

// conform converts an array read from a data file into the table's logical
// type: it renames nested fields (column mapping), fills fields missing from the
// file with nulls, and widens primitive types (type widening, INT96 and
// millisecond timestamps, narrower integers and decimals).
func (m fieldMatcher) conform(ctx context.Context, src arrow.Array, t DataType) (arrow.Array, error) {
	target := ArrowType(t)
	if src.Data().Offset() != 0 {
		return nil, fmt.Errorf("internal: sliced array from the Parquet reader")
	}
	switch t := t.(type) {
	case *StructType:
		s, ok := src.(*array.Struct)
		if !ok {
			return nil, fmt.Errorf("file has %s where the table has a struct", src.DataType())
		}
		st := s.DataType().(*arrow.StructType)
		cols := make([]arrow.Array, len(t.Fields))
		defer func() {
			for _, c := range cols {
				if c != nil {
					c.Release()
				}
			}
		}()
		for i, f := range t.Fields {
			j := m.find(st.Fields(), f)
			if j < 0 {
				cols[i] = array.MakeArrayOfNull(memory.DefaultAllocator, ArrowType(f.Type), s.Len())
				continue
			}
			c, err := m.conform(ctx, s.Field(j), f.Type)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Name, err)
			}
			cols[i] = c
		}
		var nulls *memory.Buffer
		if s.NullN() > 0 {
			nulls = s.Data().Buffers()[0]
		}
		return array.NewStructArrayWithFieldsAndNulls(cols, target.(*arrow.StructType).Fields(), nulls, s.NullN(), 0)
	case *ArrayType:
		var values arrow.Array
		switch l := src.(type) {
		case *array.List:
			values = l.ListValues()
		default:
			cast, err := compute.CastArray(ctx, src, compute.UnsafeCastOptions(arrow.ListOf(src.DataType().(arrow.ListLikeType).Elem())))
			if err != nil {
				return nil, fmt.Errorf("file has %s where the table has an array", src.DataType())
			}
			defer cast.Release()
			return m.conform(ctx, cast, t)
		}
		child, err := m.conform(ctx, values, t.Element)
		if err != nil {
			return nil, fmt.Errorf("element: %w", err)
		}
		defer child.Release()
		d := array.NewData(target, src.Len(), src.Data().Buffers()[:2], []arrow.ArrayData{child.Data()}, src.NullN(), 0)
		defer d.Release()
		return array.MakeFromData(d), nil
	case *MapType:
		mp, ok := src.(*array.Map)
		if !ok {
			return nil, fmt.Errorf("file has %s where the table has a map", src.DataType())
		}
		keys, err := m.conform(ctx, mp.Keys(), t.Key)
		if err != nil {
			return nil, fmt.Errorf("key: %w", err)
		}
		defer keys.Release()
		items, err := m.conform(ctx, mp.Items(), t.Value)
		if err != nil {
			return nil, fmt.Errorf("value: %w", err)
		}
		defer items.Release()
		mt := target.(*arrow.MapType)
		entries := array.NewData(mt.Elem(), keys.Len(), []*memory.Buffer{nil}, []arrow.ArrayData{keys.Data(), items.Data()}, 0, 0)
		defer entries.Release()
		d := array.NewData(mt, src.Len(), src.Data().Buffers()[:2], []arrow.ArrayData{entries}, src.NullN(), 0)
		defer d.Release()
		return array.MakeFromData(d), nil
	}
	if arrow.TypeEqual(src.DataType(), target) {
		src.Retain()
		return src, nil
	}
	if src.DataType().ID() == target.ID() && sameStorage(src.DataType(), target) {
		// same values, other metadata (a time zone): retype without copying
		d := array.NewData(target, src.Len(), src.Data().Buffers(), nil, src.NullN(), 0)
		defer d.Release()
		return array.MakeFromData(d), nil
	}
	if src.DataType().ID() == arrow.NULL {
		return array.MakeArrayOfNull(memory.DefaultAllocator, target, src.Len()), nil
	}
	out, err := compute.CastArray(ctx, src, compute.UnsafeCastOptions(target))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s as %s: %w", src.DataType(), t, err)
	}
	return out, nil
}

func sameStorage(a, b arrow.DataType) bool {
	ta, ok1 := a.(*arrow.TimestampType)
	tb, ok2 := b.(*arrow.TimestampType)
	return ok1 && ok2 && ta.Unit == tb.Unit
}

// filterRecord keeps the rows where mask is true.
func filterRecord(rec arrow.RecordBatch, mask arrow.Array) (arrow.RecordBatch, error) {
	return compute.FilterRecordBatch(context.Background(), rec, mask, compute.DefaultFilterOptions())
}
