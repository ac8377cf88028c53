package lakehouse

import (
	"strings"
	"unicode/utf8"
)

// TableName is a three-part table name: catalog.schema.table.
type TableName struct {
	Catalog string `json:"catalog"`
	Schema  string `json:"schema"`
	Table   string `json:"table"`
}

// String renders the name quoted, e.g. `main`.`crm`.`users`.
func (n TableName) String() string {
	return QuoteIdent(n.Catalog) + "." + QuoteIdent(n.Schema) + "." + QuoteIdent(n.Table)
}

// Plain renders the name unquoted, e.g. main.crm.users (for messages and
// default names; use String in statements).
func (n TableName) Plain() string { return n.Catalog + "." + n.Schema + "." + n.Table }

// Validate checks the three parts with ValidateName.
func (n TableName) Validate() error {
	for _, p := range []struct{ what, v string }{{"catalog", n.Catalog}, {"schema", n.Schema}, {"table", n.Table}} {
		if err := ValidateName(p.what, p.v); err != nil {
			return err
		}
	}
	return nil
}

// ParseTableName reads "catalog.schema.table" (each part as ValidateName
// accepts it, optionally in backquotes).
func ParseTableName(s string) (TableName, error) {
	parts, err := splitQualified(s)
	if err != nil {
		return TableName{}, err
	}
	if len(parts) != 3 {
		return TableName{}, Invalidf("table name %q: want catalog.schema.table", s)
	}
	n := TableName{Catalog: parts[0], Schema: parts[1], Table: parts[2]}
	return n, n.Validate()
}

func splitQualified(s string) ([]string, error) {
	var parts []string
	for i := 0; i <= len(s); {
		if i < len(s) && s[i] == '`' {
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return nil, Invalidf("name %q: unterminated backquote", s)
				}
				if s[j] == '`' {
					if j+1 < len(s) && s[j+1] == '`' {
						b.WriteByte('`')
						j += 2
						continue
					}
					j++
					break
				}
				b.WriteByte(s[j])
				j++
			}
			parts = append(parts, b.String())
			if j < len(s) && s[j] != '.' {
				return nil, Invalidf("name %q: unexpected %q after a quoted part", s, s[j])
			}
			i = j + 1
			continue
		}
		j := strings.IndexByte(s[i:], '.')
		if j < 0 {
			parts = append(parts, s[i:])
			break
		}
		parts = append(parts, s[i:i+j])
		i += j + 1
	}
	return parts, nil
}

// MaxNameLength is the longest catalog, schema, table or column name.
const MaxNameLength = 255

// ValidateName checks a catalog, schema or table name: 1-255 characters of
// ASCII letters, digits, '_' and '-', not starting with '-'. These are the
// names Unity Catalog accepts without quoting (plus '-') and that are safe
// as directory names. what names the part in the error ("catalog", ...).
func ValidateName(what, s string) error {
	if s == "" {
		return Invalidf("%s name is empty", what)
	}
	if len(s) > MaxNameLength {
		return Invalidf("%s name %.20q...: longer than %d characters", what, s, MaxNameLength)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' && i > 0
		if !ok {
			return Invalidf("%s name %q: invalid character %q at position %d (letters, digits, _ and - allowed)", what, s, c, i+1)
		}
	}
	return nil
}

// ValidateColumnName checks a column name: 1-255 characters of valid UTF-8
// without control characters. Any other character is allowed (Delta column
// mapping permits spaces and punctuation); names are always quoted.
func ValidateColumnName(s string) error {
	if s == "" {
		return Invalidf("column name is empty")
	}
	if len(s) > MaxNameLength {
		return Invalidf("column name %.20q...: longer than %d characters", s, MaxNameLength)
	}
	if !utf8.ValidString(s) {
		return Invalidf("column name %q: not valid UTF-8", s)
	}
	for i, r := range s {
		if r < 0x20 || r == 0x7f {
			return Invalidf("column name %q: control character at position %d", s, i+1)
		}
	}
	return nil
}

// QuoteIdent quotes a name for Databricks SQL: in backquotes, with
// backquotes doubled. The name should have been validated.
func QuoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
