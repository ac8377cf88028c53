package job

import (
	"encoding"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lakeport/lakeport/internal/errs"
)

// FieldError is invalid configuration, naming the field by its path in the
// file: `jobs[2].schedule.time_of_day: want HH:MM`. It classifies as
// errs.Invalid (never retried).
type FieldError struct {
	Path   string
	Reason string
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return e.Path + ": " + e.Reason
}
func (e *FieldError) Is(target error) bool { return target == errs.ErrInvalid }

// ConfigError lists every problem found in a configuration, in file order.
// Its message is one line: the problems joined by "; ".
type ConfigError struct {
	File     string // empty when parsed from bytes
	Problems []*FieldError
}

func (e *ConfigError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Error()
	}
	msg := strings.Join(parts, "; ")
	if e.File != "" {
		msg = e.File + ": " + msg
	}
	return msg
}

func (e *ConfigError) Is(target error) bool { return target == errs.ErrInvalid }

// Unwrap returns the problems.
func (e *ConfigError) Unwrap() []error {
	out := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p
	}
	return out
}

// problems collects field errors while decoding, and bounds the work YAML
// aliases can cause (a recursive alias, or an "exponential entity" file).
type problems struct {
	list    []*FieldError
	visits  int
	aliases map[*yaml.Node]bool // alias targets being decoded
}

// maxVisits bounds the nodes one decode walks (aliases included).
const maxVisits = 1_000_000

func (p *problems) add(path, reason string) {
	p.list = append(p.list, &FieldError{Path: path, Reason: reason})
}

func (p *problems) err() error {
	switch len(p.list) {
	case 0:
		return nil
	case 1:
		return p.list[0]
	}
	return &ConfigError{Problems: p.list}
}

// nodeDecoder is implemented by configuration types that read themselves
// (schedules, secrets), reporting problems under path.
type nodeDecoder interface {
	decodeNode(n *yaml.Node, path string, p *problems)
}

var digits = regexp.MustCompile(`^[-+]?[0-9]+$`)

var (
	durationType = reflect.TypeFor[time.Duration]()
	timeType     = reflect.TypeFor[time.Time]()
)

// decodeValue decodes n strictly into out (a pointer): unknown fields,
// wrong types and missing required fields (tag `lakeport:"required"`) are
// problems named by their path.
func decodeValue(n *yaml.Node, path string, out any, p *problems) {
	decode(n, path, reflect.ValueOf(out).Elem(), p)
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func decode(n *yaml.Node, path string, v reflect.Value, p *problems) {
	if n != nil && n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	if p.visits++; p.visits > maxVisits {
		if p.visits == maxVisits+1 {
			p.add(path, "too many values (aliases expand too far)")
		}
		return
	}
	if n != nil && n.Kind == yaml.AliasNode {
		if p.aliases == nil {
			p.aliases = map[*yaml.Node]bool{}
		}
		if p.aliases[n.Alias] {
			p.add(path, "an alias refers to itself")
			return
		}
		p.aliases[n.Alias] = true
		defer delete(p.aliases, n.Alias)
		n = n.Alias
	}
	if v.CanAddr() {
		switch d := v.Addr().Interface().(type) {
		case nodeDecoder:
			if n != nil && n.Kind != 0 {
				d.decodeNode(n, path, p)
			}
			return
		case *yaml.Node:
			if n != nil {
				*d = *n
			}
			return
		case yaml.Unmarshaler:
			if isNull(n) {
				return
			}
			if err := d.UnmarshalYAML(n); err != nil {
				p.add(path, yamlReason(err))
			}
			return
		}
	}
	if isNull(n) {
		return
	}
	t := v.Type()
	switch {
	case t == durationType:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			p.add(path, "want a duration such as 30s, 15m or 2h")
			return
		}
		d, err := time.ParseDuration(n.Value)
		if err != nil {
			p.add(path, fmt.Sprintf("want a duration such as 30s, 15m or 2h, got %q", n.Value))
			return
		}
		v.SetInt(int64(d))
		return
	case t == timeType:
		if n.Kind != yaml.ScalarNode {
			p.add(path, "want a time (RFC 3339)")
			return
		}
		tm, err := time.Parse(time.RFC3339Nano, n.Value)
		if err != nil {
			p.add(path, fmt.Sprintf("want a time (RFC 3339, e.g. 2024-01-31T12:00:00Z), got %q", n.Value))
			return
		}
		v.Set(reflect.ValueOf(tm))
		return
	}
	if v.CanAddr() {
		if tu, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
			if n.Kind != yaml.ScalarNode {
				p.add(path, "want a single value")
				return
			}
			if err := tu.UnmarshalText([]byte(n.Value)); err != nil {
				p.add(path, err.Error())
			}
			return
		}
	}
	switch t.Kind() {
	case reflect.Pointer:
		nv := reflect.New(t.Elem())
		before := len(p.list)
		decode(n, path, nv.Elem(), p)
		if len(p.list) == before {
			v.Set(nv)
		}
	case reflect.Struct:
		decodeStruct(n, path, v, p)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			p.add(path, "want a mapping")
			return
		}
		if t.Key().Kind() != reflect.String {
			p.add(path, "unsupported map key type "+t.Key().String())
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(t))
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if seen[k] {
				p.add(join(path, k), "duplicate key")
				continue
			}
			seen[k] = true
			ev := reflect.New(t.Elem()).Elem()
			decode(n.Content[i+1], join(path, k), ev, p)
			v.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), ev)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			p.add(path, "want a list")
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, c := range n.Content {
			decode(c, fmt.Sprintf("%s[%d]", path, i), s.Index(i), p)
		}
		v.Set(s)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			p.add(path, yamlReason(err))
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			p.add(path, "want a string")
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			p.add(path, fmt.Sprintf("want true or false, got %s", show(n)))
			return
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			p.add(path, yamlReason(err))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.Kind == yaml.ScalarNode && n.Tag != "!!int" && digits.MatchString(n.Value) {
			p.add(path, fmt.Sprintf("integer %s out of range", n.Value))
			return
		}
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			p.add(path, fmt.Sprintf("want an integer, got %s", show(n)))
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			p.add(path, fmt.Sprintf("integer %s out of range", n.Value))
		}
	case reflect.Float32, reflect.Float64:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
			p.add(path, fmt.Sprintf("want a number, got %s", show(n)))
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			p.add(path, yamlReason(err))
		}
	default:
		if err := n.Decode(v.Addr().Interface()); err != nil {
			p.add(path, yamlReason(err))
		}
	}
}

// show describes a node in an error message without quoting secrets at
// length.
func show(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:40] + "..."
	}
	return strconv.Quote(v)
}

type structField struct {
	name     string
	index    []int
	required bool
}

func structFields(t reflect.Type) []structField {
	var out []structField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, flags, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && strings.Contains(flags, "inline") && f.Type.Kind() == reflect.Struct {
			for _, sf := range structFields(f.Type) {
				sf.index = append([]int{i}, sf.index...)
				out = append(out, sf)
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out = append(out, structField{name: name, index: []int{i}, required: f.Tag.Get("lakeport") == "required"})
	}
	return out
}

func decodeStruct(n *yaml.Node, path string, v reflect.Value, p *problems) {
	fields := structFields(v.Type())
	byName := map[string]structField{}
	names := make([]string, 0, len(fields))
	for _, f := range fields {
		byName[f.name] = f
		names = append(names, f.name)
	}
	if n.Kind != yaml.MappingNode {
		p.add(path, fmt.Sprintf("want a mapping, got %s", show(n)))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		k := kn.Value
		fp := join(path, k)
		if kn.Kind != yaml.ScalarNode {
			p.add(path, "keys must be names")
			continue
		}
		f, ok := byName[k]
		if !ok {
			sort.Strings(names)
			p.add(fp, "unknown field (want one of: "+strings.Join(names, ", ")+")")
			continue
		}
		if seen[k] {
			p.add(fp, "duplicate field")
			continue
		}
		if !isNull(vn) {
			seen[k] = true
		}
		decode(vn, fp, v.FieldByIndex(f.index), p)
	}
	for _, f := range fields {
		if f.required && !seen[f.name] {
			p.add(join(path, f.name), "required")
		} else if f.required {
			if fv := v.FieldByIndex(f.index); fv.Kind() == reflect.String && fv.String() == "" {
				p.add(join(path, f.name), "required")
			}
		}
	}
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// join appends a mapping key to a path, quoting a key that is not a plain
// name (so a path is always one unambiguous line).
func join(path, key string) string {
	if !plainKey.MatchString(key) {
		key = strconv.Quote(key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlReason turns a yaml.v3 error into a reason without the "yaml: " prefix.
func yamlReason(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
	return strings.Join(strings.Fields(msg), " ")
}
