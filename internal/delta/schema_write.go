package delta

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
)

// FromArrow maps an Arrow schema to a Delta schema. Arrow types with no Delta
// equivalent (unsigned integers, time of day, intervals...) are an error naming the column.
func FromArrow(s *arrow.Schema) (*StructType, error) {
	st := &StructType{}
	for _, f := range s.Fields() {
		t, err := fromArrowType(f.Type)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", f.Name, err)
		}
		st.Fields = append(st.Fields, &StructField{Name: f.Name, Type: t, Nullable: f.Nullable, Metadata: map[string]any{}})
	}
	return st, nil
}

func fromArrowType(dt arrow.DataType) (DataType, error) {
	p := func(n string) (DataType, error) { return &PrimitiveType{Name: n}, nil }
	switch t := dt.(type) {
	case *arrow.Int8Type:
		return p("byte")
	case *arrow.Int16Type:
		return p("short")
	case *arrow.Int32Type:
		return p("integer")
	case *arrow.Int64Type:
		return p("long")
	case *arrow.Float32Type:
		return p("float")
	case *arrow.Float64Type:
		return p("double")
	case *arrow.BooleanType:
		return p("boolean")
	case *arrow.StringType, *arrow.LargeStringType:
		return p("string")
	case *arrow.BinaryType, *arrow.LargeBinaryType:
		return p("binary")
	case *arrow.Date32Type:
		return p("date")
	case *arrow.TimestampType:
		if t.TimeZone == "" {
			return p("timestamp_ntz")
		}
		return p("timestamp")
	case *arrow.Decimal128Type:
		return &DecimalType{Precision: t.Precision, Scale: t.Scale}, nil
	case *arrow.StructType:
		st, err := FromArrow(arrow.NewSchema(t.Fields(), nil))
		if err != nil {
			return nil, err
		}
		return st, nil
	case *arrow.ListType:
		el, err := fromArrowType(t.Elem())
		if err != nil {
			return nil, err
		}
		return &ArrayType{Element: el, ContainsNull: t.ElemField().Nullable}, nil
	case *arrow.MapType:
		k, err := fromArrowType(t.KeyType())
		if err != nil {
			return nil, err
		}
		v, err := fromArrowType(t.ItemType())
		if err != nil {
			return nil, err
		}
		return &MapType{Key: k, Value: v, ValueContainsNull: t.ItemField().Nullable}, nil
	case *arrow.NullType:
		return p("void")
	}
	return nil, &UnsupportedError{What: "Arrow type", Name: dt.String()}
}

// MarshalJSON renders the schema as a Delta schemaString.
func (s *StructType) MarshalJSON() ([]byte, error) { return json.Marshal(typeJSON(s)) }

func typeJSON(t DataType) any {
	switch v := t.(type) {
	case *PrimitiveType:
		return v.Name
	case *DecimalType:
		return v.String()
	case *StructType:
		fields := make([]any, len(v.Fields))
		for i, f := range v.Fields {
			meta := f.Metadata
			if meta == nil {
				meta = map[string]any{}
			}
			fields[i] = orderedFields{{"name", f.Name}, {"type", typeJSON(f.Type)}, {"nullable", f.Nullable}, {"metadata", sortedMap(meta)}}
		}
		return orderedFields{{"type", "struct"}, {"fields", fields}}
	case *ArrayType:
		return orderedFields{{"type", "array"}, {"elementType", typeJSON(v.Element)}, {"containsNull", v.ContainsNull}}
	case *MapType:
		return orderedFields{{"type", "map"}, {"keyType", typeJSON(v.Key)}, {"valueType", typeJSON(v.Value)}, {"valueContainsNull", v.ValueContainsNull}}
	}
	return nil
}

type field struct {
	k string
	v any
}

// orderedFields is a JSON object with a fixed key order (Spark's order, for readable logs).
type orderedFields []field

func (o orderedFields) MarshalJSON() ([]byte, error) {
	buf := []byte{'{'}
	for i, f := range o {
		if i > 0 {
			buf = append(buf, ',')
		}
		k, _ := json.Marshal(f.k)
		v, err := json.Marshal(f.v)
		if err != nil {
			return nil, err
		}
		buf = append(append(append(buf, k...), ':'), v...)
	}
	return append(buf, '}'), nil
}

func sortedMap(m map[string]any) orderedFields {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(orderedFields, len(keys))
	for i, k := range keys {
		out[i] = field{k, m[k]}
	}
	return out
}

// SchemaString is the schema as the metaData action stores it.
func (s *StructType) SchemaString() string {
	b, _ := s.MarshalJSON()
	return string(b)
}
