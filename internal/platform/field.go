package platform

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"
)

// FieldType is the type of a profile attribute.
type FieldType string

const (
	TypeString      FieldType = "string"
	TypeNumber      FieldType = "number"   // a float64
	TypeBoolean     FieldType = "boolean"  //
	TypeDatetime    FieldType = "datetime" // stored as RFC 3339 UTC text
	TypeStringArray FieldType = "string_array"
)

// Field is a registry entry. Identifier fields (type string) identify
// profiles: a profile holds any number of values of each, and each value
// belongs to at most one profile. Other fields are attributes.
type Field struct {
	Name       string
	Type       FieldType
	Identifier bool
}

// Built-in identifier fields, always in the registry. Their values are
// normalised: email trimmed and lower-cased, phone to E.164, uuid to
// lower-case canonical form. Custom identifier values are trimmed.
const (
	FieldEmail = "email"
	FieldPhone = "phone"
	FieldUUID  = "uuid"
)

// BuiltinFields are in every registry.
var BuiltinFields = []Field{
	{Name: FieldEmail, Type: TypeString, Identifier: true},
	{Name: FieldPhone, Type: TypeString, Identifier: true},
	{Name: FieldUUID, Type: TypeString, Identifier: true},
}

// reservedNames cannot be fields: CEL keywords and the names audience
// definitions use for themselves.
var reservedNames = map[string]bool{
	"as": true, "break": true, "const": true, "continue": true, "else": true, "false": true,
	"for": true, "function": true, "if": true, "import": true, "in": true, "let": true,
	"loop": true, "package": true, "namespace": true, "null": true, "return": true,
	"true": true, "var": true, "void": true, "while": true, "attrs": true, "id": true,
}

// Validate checks a field definition.
func (f Field) Validate() error {
	if len(f.Name) == 0 || len(f.Name) > 64 || !(f.Name[0] >= 'a' && f.Name[0] <= 'z') {
		return Invalidf("field name %q: must be 1-64 characters starting with a-z", f.Name)
	}
	for i := 0; i < len(f.Name); i++ {
		c := f.Name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return Invalidf("field name %q: only a-z, 0-9 and _ allowed", f.Name)
		}
	}
	if reservedNames[f.Name] {
		return Invalidf("field name %q is reserved", f.Name)
	}
	switch f.Type {
	case TypeString, TypeNumber, TypeBoolean, TypeDatetime, TypeStringArray:
	default:
		return Invalidf("field %q: unknown type %q (string, number, boolean, datetime, string_array)", f.Name, f.Type)
	}
	if f.Identifier && f.Type != TypeString {
		return Invalidf("field %q: identifier fields must have type string", f.Name)
	}
	return nil
}

// Registry is a set of fields by name.
type Registry map[string]Field

// NewRegistry indexes fields by name.
func NewRegistry(fields []Field) Registry {
	r := make(Registry, len(fields))
	for _, f := range fields {
		r[f.Name] = f
	}
	return r
}

// Sorted returns the fields sorted by name.
func (r Registry) Sorted() []Field {
	out := make([]Field, 0, len(r))
	for _, f := range r {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// NormalizeAttributes checks attrs against the registry and returns them in
// stored form: strings, float64, bool, RFC 3339 UTC strings for datetimes,
// []any of strings for arrays; nil means "remove the attribute". An unknown
// field, an identifier field or a value of the wrong type is a *FieldError.
func (r Registry) NormalizeAttributes(attrs map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(attrs))
	for _, name := range sortedKeys(attrs) {
		f, ok := r[name]
		if !ok {
			return nil, &FieldError{Field: name, Reason: "unknown attribute (define it in the field registry first)"}
		}
		if f.Identifier {
			return nil, &FieldError{Field: name, Reason: "is an identifier field; pass it as an identifier"}
		}
		v, err := normalizeValue(f.Type, attrs[name])
		if err != nil {
			return nil, &FieldError{Field: name, Reason: err.Error()}
		}
		out[name] = v
	}
	return out, nil
}

func normalizeValue(t FieldType, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch t {
	case TypeString:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case TypeNumber:
		var f float64
		switch n := v.(type) {
		case float64:
			f = n
		case float32:
			f = float64(n)
		case int:
			f = float64(n)
		case int64:
			f = float64(n)
		case int32:
			f = float64(n)
		case json.Number:
			x, err := n.Float64()
			if err != nil {
				return nil, fmt.Errorf("want a number, got %q", n)
			}
			f = x
		default:
			return nil, fmt.Errorf("want a number, got %s", describe(v))
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("want a finite number, got %v", f)
		}
		return f, nil
	case TypeBoolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case TypeDatetime:
		switch x := v.(type) {
		case time.Time:
			return FormatDatetime(x), nil
		case string:
			ts, err := ParseDatetime(x)
			if err != nil {
				return nil, err
			}
			return FormatDatetime(ts), nil
		}
	case TypeStringArray:
		switch x := v.(type) {
		case []string:
			out := make([]any, len(x))
			for i, s := range x {
				out[i] = s
			}
			return out, nil
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("want an array of strings, element %d is %s", i, describe(e))
				}
				out[i] = s
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("want %s, got %s", t, describe(v))
}

// ParseDatetime accepts RFC 3339 (with or without fraction) or a date
// YYYY-MM-DD (midnight UTC).
func ParseDatetime(s string) (time.Time, error) {
	if ts, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return ts.UTC().Truncate(time.Microsecond), nil
	}
	if ts, err := time.Parse(time.DateOnly, s); err == nil {
		return ts.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("want an RFC 3339 datetime or YYYY-MM-DD, got %q", s)
}

// FormatDatetime is the stored form of a datetime attribute.
func FormatDatetime(t time.Time) string {
	return t.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
}

func describe(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, float32, int, int64, int32, json.Number:
		return "a number"
	case []any, []string:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
