package delta

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// DataType is a Delta data type: *PrimitiveType, *DecimalType, *StructType, *ArrayType or *MapType.
type DataType interface {
	// String renders the type the way Delta and Spark name it, e.g. "decimal(10,2)", "array<string>".
	String() string
}

// PrimitiveType is one of string, long, integer, short, byte, float, double,
// boolean, binary, date, timestamp, timestamp_ntz, void.
type PrimitiveType struct{ Name string }

func (p *PrimitiveType) String() string { return p.Name }

// DecimalType is decimal(precision, scale).
type DecimalType struct{ Precision, Scale int32 }

func (d *DecimalType) String() string { return fmt.Sprintf("decimal(%d,%d)", d.Precision, d.Scale) }

// StructField is one field of a struct: its logical name, type, nullability and metadata.
type StructField struct {
	Name     string
	Type     DataType
	Nullable bool
	Metadata map[string]any
}

// StructType is a struct (and the table schema itself).
type StructType struct{ Fields []*StructField }

func (s *StructType) String() string {
	parts := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		parts[i] = f.Name + ": " + f.Type.String()
	}
	return "struct<" + strings.Join(parts, ", ") + ">"
}

// Field returns the field with this name (exact match first, then case-insensitive).
func (s *StructType) Field(name string) *StructField {
	for _, f := range s.Fields {
		if f.Name == name {
			return f
		}
	}
	for _, f := range s.Fields {
		if strings.EqualFold(f.Name, name) {
			return f
		}
	}
	return nil
}

// ArrayType is array<element>.
type ArrayType struct {
	Element      DataType
	ContainsNull bool
}

func (a *ArrayType) String() string { return "array<" + a.Element.String() + ">" }

// MapType is map<key, value>.
type MapType struct {
	Key, Value        DataType
	ValueContainsNull bool
}

func (m *MapType) String() string { return "map<" + m.Key.String() + ", " + m.Value.String() + ">" }

const (
	metaPhysicalName = "delta.columnMapping.physicalName"
	metaFieldID      = "delta.columnMapping.id"
)

// PhysicalName is the field's name in data files under column mapping mode m.
func (f *StructField) PhysicalName(m ColumnMappingMode) string {
	if m != MappingNone {
		if s, ok := f.Metadata[metaPhysicalName].(string); ok && s != "" {
			return s
		}
	}
	return f.Name
}

// FieldID is the column-mapping field id, or -1 when there is none.
func (f *StructField) FieldID() int64 {
	switch v := f.Metadata[metaFieldID].(type) {
	case json.Number:
		n, err := v.Int64()
		if err == nil {
			return n
		}
	case float64:
		return int64(v)
	}
	return -1
}

// ColumnMappingMode is the table's delta.columnMapping.mode.
type ColumnMappingMode int

const (
	MappingNone ColumnMappingMode = iota
	MappingName
	MappingID
)

func (m ColumnMappingMode) String() string { return [...]string{"none", "name", "id"}[m] }

// ParseSchema parses a Delta schemaString. An absent schema string is an
// empty schema, as Delta Spark reads it.
func ParseSchema(s string) (*StructType, error) {
	if strings.TrimSpace(s) == "" {
		return &StructType{}, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	t, err := parseType(raw)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	st, ok := t.(*StructType)
	if !ok {
		return nil, fmt.Errorf("schema: top level is %s, want a struct", t)
	}
	return st, nil
}

var decimalRE = regexp.MustCompile(`^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$`)

var primitiveNames = map[string]bool{
	"string": true, "long": true, "integer": true, "short": true, "byte": true, "float": true,
	"double": true, "boolean": true, "binary": true, "date": true, "timestamp": true,
	"timestamp_ntz": true, "void": true,
}

func parseType(raw any) (DataType, error) {
	switch v := raw.(type) {
	case string:
		if primitiveNames[v] {
			return &PrimitiveType{Name: v}, nil
		}
		if v == "decimal" {
			return &DecimalType{Precision: 10, Scale: 0}, nil
		}
		if m := decimalRE.FindStringSubmatch(v); m != nil {
			p, _ := strconv.Atoi(m[1])
			s, _ := strconv.Atoi(m[2])
			if p < 1 || p > 38 || s > p {
				return nil, fmt.Errorf("invalid decimal type %q", v)
			}
			return &DecimalType{Precision: int32(p), Scale: int32(s)}, nil
		}
		return nil, &UnsupportedError{What: "data type", Name: v}
	case map[string]any:
		switch v["type"] {
		case "struct":
			fields, _ := v["fields"].([]any)
			st := &StructType{}
			for i, rf := range fields {
				fm, ok := rf.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("struct field %d is not an object", i)
				}
				name, _ := fm["name"].(string)
				ft, err := parseType(fm["type"])
				if err != nil {
					return nil, fmt.Errorf("field %q: %w", name, err)
				}
				nullable, _ := fm["nullable"].(bool)
				meta, _ := fm["metadata"].(map[string]any)
				st.Fields = append(st.Fields, &StructField{Name: name, Type: ft, Nullable: nullable, Metadata: meta})
			}
			return st, nil
		case "array":
			el, err := parseType(v["elementType"])
			if err != nil {
				return nil, fmt.Errorf("array element: %w", err)
			}
			cn, _ := v["containsNull"].(bool)
			return &ArrayType{Element: el, ContainsNull: cn}, nil
		case "map":
			k, err := parseType(v["keyType"])
			if err != nil {
				return nil, fmt.Errorf("map key: %w", err)
			}
			val, err := parseType(v["valueType"])
			if err != nil {
				return nil, fmt.Errorf("map value: %w", err)
			}
			vcn, _ := v["valueContainsNull"].(bool)
			return &MapType{Key: k, Value: val, ValueContainsNull: vcn}, nil
		}
		return nil, &UnsupportedError{What: "data type", Name: fmt.Sprint(v["type"])}
	}
	return nil, fmt.Errorf("malformed type %v", raw)
}

// ArrowType maps a Delta type to its Arrow type.
func ArrowType(t DataType) arrow.DataType {
	switch v := t.(type) {
	case *PrimitiveType:
		switch v.Name {
		case "string":
			return arrow.BinaryTypes.String
		case "long":
			return arrow.PrimitiveTypes.Int64
		case "integer":
			return arrow.PrimitiveTypes.Int32
		case "short":
			return arrow.PrimitiveTypes.Int16
		case "byte":
			return arrow.PrimitiveTypes.Int8
		case "float":
			return arrow.PrimitiveTypes.Float32
		case "double":
			return arrow.PrimitiveTypes.Float64
		case "boolean":
			return arrow.FixedWidthTypes.Boolean
		case "binary":
			return arrow.BinaryTypes.Binary
		case "date":
			return arrow.FixedWidthTypes.Date32
		case "timestamp":
			return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
		case "timestamp_ntz":
			return &arrow.TimestampType{Unit: arrow.Microsecond}
		case "void":
			return arrow.Null
		}
	case *DecimalType:
		return &arrow.Decimal128Type{Precision: v.Precision, Scale: v.Scale}
	case *StructType:
		return arrow.StructOf(arrowFields(v)...)
	case *ArrayType:
		return arrow.ListOfField(arrow.Field{Name: "element", Type: ArrowType(v.Element), Nullable: v.ContainsNull})
	case *MapType:
		m := arrow.MapOf(ArrowType(v.Key), ArrowType(v.Value))
		m.SetItemNullable(v.ValueContainsNull)
		return m
	}
	panic(fmt.Sprintf("delta: no arrow type for %v", t))
}

func arrowFields(s *StructType) []arrow.Field {
	fs := make([]arrow.Field, len(s.Fields))
	for i, f := range s.Fields {
		fs[i] = arrow.Field{Name: f.Name, Type: ArrowType(f.Type), Nullable: f.Nullable}
	}
	return fs
}

// ArrowSchema maps a Delta schema to an Arrow schema with the logical column names.
func ArrowSchema(s *StructType) *arrow.Schema { return arrow.NewSchema(arrowFields(s), nil) }
