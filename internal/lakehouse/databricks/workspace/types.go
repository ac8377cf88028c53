package workspace

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/databricks/databricks-sdk-go/service/catalog"
)

// ColumnType returns a Unity Catalog column's type in Lakeport's canonical
// form (lakehouse.Column.Type): lower case, Spark's aliases resolved (long
// -> bigint, integer -> int, short -> smallint, byte -> tinyint, real ->
// float, dec/numeric -> decimal), decimal always with precision and scale,
// char(n)/varchar(n) -> string, nested types without spaces, struct field
// NOT NULL and COMMENT dropped, struct field names unquoted. It reads type_json first (the most exact),
// then type_text, then type_name with precision and scale. Types outside the
// canonical list (variant, interval ..., geography ...) keep their lower-case
// Databricks spelling; a type that cannot be parsed is an error naming the
// column.
func ColumnType(c catalog.ColumnInfo) (string, error) {
	if c.TypeJson != "" {
		if t, err := typeFromJSON(c.TypeJson); err == nil {
			return t, nil
		}
	}
	if c.TypeText != "" {
		t, err := ParseType(c.TypeText)
		if err != nil {
			return "", fmt.Errorf("column %q: type %q: %w", c.Name, c.TypeText, err)
		}
		return t, nil
	}
	switch n := strings.ToLower(string(c.TypeName)); n {
	case "":
		return "", fmt.Errorf("column %q: Unity Catalog gave no type", c.Name)
	case "decimal":
		if c.TypePrecision > 0 {
			return fmt.Sprintf("decimal(%d,%d)", c.TypePrecision, c.TypeScale), nil
		}
		return "decimal(10,0)", nil
	case "array", "map", "struct":
		return "", fmt.Errorf("column %q: Unity Catalog gave the nested type %s without its type_text or type_json", c.Name, n)
	case "char":
		return "string", nil
	default:
		return canonicalName(n), nil
	}
}

// canonicalName maps a primitive type name to its canonical spelling.
func canonicalName(n string) string {
	switch n {
	case "long", "bigint":
		return "bigint"
	case "integer", "int":
		return "int"
	case "short", "smallint":
		return "smallint"
	case "byte", "tinyint":
		return "tinyint"
	case "real", "float":
		return "float"
	case "bool", "boolean":
		return "boolean"
	case "char", "varchar", "string":
		return "string"
	case "timestamp_ltz":
		return "timestamp"
	}
	return n
}

// ParseType parses a Databricks SQL type (UC type_text) and renders it in
// canonical form (see ColumnType).
func ParseType(s string) (string, error) {
	p := &typeParser{s: s}
	t, err := p.typ()
	if err != nil {
		return "", err
	}
	p.space()
	if p.i != len(p.s) {
		return "", fmt.Errorf("unexpected %q at position %d", p.s[p.i:], p.i+1)
	}
	return t, nil
}

type typeParser struct {
	s     string
	i     int
	depth int
}

func (p *typeParser) space() {
	for p.i < len(p.s) && unicode.IsSpace(rune(p.s[p.i])) {
		p.i++
	}
}

func (p *typeParser) peek() byte {
	p.space()
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *typeParser) expect(c byte) error {
	if p.peek() != c {
		if p.i >= len(p.s) {
			return fmt.Errorf("want %q, got the end", c)
		}
		return fmt.Errorf("want %q at position %d, got %q", c, p.i+1, p.s[p.i])
	}
	p.i++
	return nil
}

// word reads an identifier (letters, digits, '_').
func (p *typeParser) word() string {
	p.space()
	j := p.i
	for p.i < len(p.s) && (isLetter(p.s[p.i]) || p.s[p.i] >= '0' && p.s[p.i] <= '9' || p.s[p.i] == '_') {
		p.i++
	}
	return p.s[j:p.i]
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func (p *typeParser) number() (int, error) {
	w := p.word()
	n, err := strconv.Atoi(w)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a number, got %q", w)
	}
	return n, nil
}

func (p *typeParser) typ() (string, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > 100 {
		return "", fmt.Errorf("type nested too deeply")
	}
	w := strings.ToLower(p.word())
	if w == "" {
		if p.i >= len(p.s) {
			return "", fmt.Errorf("missing type")
		}
		return "", fmt.Errorf("unexpected %q at position %d", p.s[p.i], p.i+1)
	}
	switch w {
	case "decimal", "dec", "numeric":
		prec, scale := 10, 0
		if p.peek() == '(' {
			p.i++
			var err error
			if prec, err = p.number(); err != nil {
				return "", err
			}
			if p.peek() == ',' {
				p.i++
				if scale, err = p.number(); err != nil {
					return "", err
				}
			}
			if err := p.expect(')'); err != nil {
				return "", err
			}
		}
		if prec < 1 || prec > 38 || scale > prec {
			return "", fmt.Errorf("decimal(%d,%d): want precision 1-38 and scale 0-precision", prec, scale)
		}
		return fmt.Sprintf("decimal(%d,%d)", prec, scale), nil
	case "char", "varchar", "string":
		if p.peek() == '(' {
			p.i++
			if _, err := p.number(); err != nil {
				return "", err
			}
			if err := p.expect(')'); err != nil {
				return "", err
			}
		}
		return "string", nil
	case "array":
		if err := p.expect('<'); err != nil {
			return "", err
		}
		e, err := p.typ()
		if err != nil {
			return "", err
		}
		if err := p.expect('>'); err != nil {
			return "", err
		}
		return "array<" + e + ">", nil
	case "map":
		if err := p.expect('<'); err != nil {
			return "", err
		}
		k, err := p.typ()
		if err != nil {
			return "", err
		}
		if err := p.expect(','); err != nil {
			return "", err
		}
		v, err := p.typ()
		if err != nil {
			return "", err
		}
		if err := p.expect('>'); err != nil {
			return "", err
		}
		return "map<" + k + "," + v + ">", nil
	case "struct":
		return p.structBody()
	case "interval":
		// interval year [to month], interval day [to second], ...
		parts := []string{"interval"}
		for {
			save := p.i
			u := strings.ToLower(p.word())
			switch u {
			case "year", "month", "day", "hour", "minute", "second", "to":
				parts = append(parts, u)
				continue
			}
			p.i = save
			break
		}
		return strings.Join(parts, " "), nil
	case "timestamp":
		// "timestamp with local time zone" is timestamp.
		save := p.i
		if strings.ToLower(p.word()) == "with" {
			for range 3 {
				p.word()
			}
			return "timestamp", nil
		}
		p.i = save
		return "timestamp", nil
	}
	// Other names (geography(4326) and the like): keep parameters as given.
	if p.peek() == '(' {
		j := strings.IndexByte(p.s[p.i:], ')')
		if j < 0 {
			return "", fmt.Errorf("unterminated parameters of %s", w)
		}
		params := strings.ReplaceAll(p.s[p.i:p.i+j+1], " ", "")
		p.i += j + 1
		return w + strings.ToLower(params), nil
	}
	return canonicalName(w), nil
}

func (p *typeParser) structBody() (string, error) {
	if err := p.expect('<'); err != nil {
		return "", err
	}
	var fields []string
	if p.peek() == '>' {
		p.i++
		return "struct<>", nil
	}
	for {
		name, err := p.fieldName()
		if err != nil {
			return "", err
		}
		// Spark writes name:type; DDL allows name type.
		if p.peek() == ':' {
			p.i++
		}
		t, err := p.typ()
		if err != nil {
			return "", err
		}
		if err := p.fieldTail(); err != nil {
			return "", err
		}
		fields = append(fields, name+":"+t)
		switch p.peek() {
		case ',':
			p.i++
		case '>':
			p.i++
			return "struct<" + strings.Join(fields, ",") + ">", nil
		default:
			return "", p.expect('>')
		}
	}
}

// fieldName reads a struct field name: an identifier or a backquoted name
// (returned without its quotes: canonical struct types spell field names
// as they are, like the local driver does).
func (p *typeParser) fieldName() (string, error) {
	if p.peek() == '`' {
		p.i++
		var b strings.Builder
		for {
			if p.i >= len(p.s) {
				return "", fmt.Errorf("unterminated backquote")
			}
			c := p.s[p.i]
			p.i++
			if c == '`' {
				if p.i < len(p.s) && p.s[p.i] == '`' {
					b.WriteByte('`')
					p.i++
					continue
				}
				break
			}
			b.WriteByte(c)
		}
		return b.String(), nil
	}
	p.space()
	j := p.i
	for p.i < len(p.s) && p.s[p.i] != ':' && p.s[p.i] != ' ' && p.s[p.i] != ',' && p.s[p.i] != '<' && p.s[p.i] != '>' {
		p.i++
	}
	if j == p.i {
		return "", fmt.Errorf("missing struct field name at position %d", p.i+1)
	}
	return p.s[j:p.i], nil
}

// fieldTail skips a struct field's NOT NULL and COMMENT 'text'.
func (p *typeParser) fieldTail() error {
	for {
		save := p.i
		switch strings.ToLower(p.word()) {
		case "not":
			if strings.ToLower(p.word()) != "null" {
				return fmt.Errorf("want NOT NULL at position %d", save+1)
			}
		case "comment":
			if p.peek() != '\'' && p.peek() != '"' {
				return fmt.Errorf("want a quoted comment at position %d", p.i+1)
			}
			q := p.s[p.i]
			p.i++
			for {
				if p.i >= len(p.s) {
					return fmt.Errorf("unterminated comment")
				}
				c := p.s[p.i]
				p.i++
				if c == '\\' {
					p.i++
					continue
				}
				if c == q {
					break
				}
			}
		default:
			p.i = save
			return nil
		}
	}
}

// typeFromJSON reads a Spark JSON type: a StructField ({"name", "type",
// "nullable", "metadata"}) as UC's type_json holds, or a bare type.
func typeFromJSON(s string) (string, error) {
	var field struct {
		Type json.RawMessage `json:"type"`
	}
	if err := json.Unmarshal([]byte(s), &field); err != nil {
		return "", err
	}
	var probe map[string]json.RawMessage
	_ = json.Unmarshal([]byte(s), &probe)
	if _, isField := probe["name"]; isField && field.Type != nil {
		return jsonType(field.Type, 0)
	}
	return jsonType(json.RawMessage(s), 0)
}

func jsonType(raw json.RawMessage, depth int) (string, error) {
	if depth > 100 {
		return "", fmt.Errorf("type nested too deeply")
	}
	var name string
	if err := json.Unmarshal(raw, &name); err == nil {
		return ParseType(name)
	}
	var t struct {
		Type        string          `json:"type"`
		ElementType json.RawMessage `json:"elementType"`
		KeyType     json.RawMessage `json:"keyType"`
		ValueType   json.RawMessage `json:"valueType"`
		Fields      []struct {
			Name string          `json:"name"`
			Type json.RawMessage `json:"type"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return "", err
	}
	switch t.Type {
	case "array":
		e, err := jsonType(t.ElementType, depth+1)
		if err != nil {
			return "", err
		}
		return "array<" + e + ">", nil
	case "map":
		k, err := jsonType(t.KeyType, depth+1)
		if err != nil {
			return "", err
		}
		v, err := jsonType(t.ValueType, depth+1)
		if err != nil {
			return "", err
		}
		return "map<" + k + "," + v + ">", nil
	case "struct":
		parts := make([]string, len(t.Fields))
		for i, f := range t.Fields {
			ft, err := jsonType(f.Type, depth+1)
			if err != nil {
				return "", err
			}
			parts[i] = f.Name + ":" + ft
		}
		return "struct<" + strings.Join(parts, ",") + ">", nil
	}
	return "", fmt.Errorf("unknown JSON type %q", t.Type)
}
