package importchanges

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/platform"
)

// Kind is the job kind this package registers.
const Kind = "import.changes"

func init() { job.Register(Kind, New) }

// Settings are the job's `settings:` in lakeport.yaml.
type Settings struct {
	Catalog string `yaml:"catalog" lakeport:"required"`
	Schema  string `yaml:"schema" lakeport:"required"`
	Table   string `yaml:"table" lakeport:"required"`
	// Identifier maps the column that identifies a profile to a platform
	// identifier field.
	Identifier IdentifierMapping `yaml:"identifier" lakeport:"required"`
	// Attributes maps columns to predefined platform attributes (column: attribute).
	Attributes map[string]string `yaml:"attributes"`
	// Events, when set, makes rows with an event name events of a stream.
	Events *EventMapping `yaml:"events"`
	// DeleteProfiles propagates deleted rows as profile deletions.
	DeleteProfiles bool `yaml:"delete_profiles"`
	// BatchSize is the number of change rows per platform write (default 5000).
	BatchSize int `yaml:"batch_size"`
	// QueryTimeout bounds each wait for the lakehouse (default 15m).
	QueryTimeout time.Duration `yaml:"query_timeout"`
}

// IdentifierMapping maps the identifier column.
type IdentifierMapping struct {
	Column string `yaml:"column" lakeport:"required"`
	Field  string `yaml:"field" lakeport:"required"`
}

// EventMapping maps the event columns.
type EventMapping struct {
	NameColumn       string `yaml:"name_column" lakeport:"required"`
	TimestampColumn  string `yaml:"timestamp_column" lakeport:"required"`
	ParametersColumn string `yaml:"parameters_column"`
	// Stream receives the events (default databricks_{catalog}_{schema}_{table}).
	Stream string `yaml:"stream"`
}

// Defaults.
const (
	DefaultBatchSize    = 5000
	MaxBatchSize        = 100000
	DefaultQueryTimeout = 15 * time.Minute
)

type config struct {
	spec         *job.Spec
	table        lakehouse.TableName
	s            Settings
	attrColumns  []string // sorted
	stream       string
	batchSize    int
	queryTimeout time.Duration
	key          string
}

func parseSettings(spec *job.Spec) (*config, error) {
	var s Settings
	if err := spec.DecodeSettings(&s); err != nil {
		return nil, err
	}
	c := &config{spec: spec, s: s, table: lakehouse.TableName{Catalog: s.Catalog, Schema: s.Schema, Table: s.Table},
		batchSize: s.BatchSize, queryTimeout: s.QueryTimeout, key: Kind + ":" + spec.Name}
	for _, p := range []struct{ field, v string }{{"catalog", s.Catalog}, {"schema", s.Schema}, {"table", s.Table}} {
		if err := lakehouse.ValidateName(p.field, p.v); err != nil {
			return nil, spec.Errorf("settings."+p.field, "%v", err)
		}
	}
	cols := []struct{ field, v string }{{"identifier.column", s.Identifier.Column}}
	for col := range s.Attributes {
		cols = append(cols, struct{ field, v string }{"attributes." + col, col})
		c.attrColumns = append(c.attrColumns, col)
	}
	sort.Strings(c.attrColumns)
	if e := s.Events; e != nil {
		cols = append(cols, struct{ field, v string }{"events.name_column", e.NameColumn}, struct{ field, v string }{"events.timestamp_column", e.TimestampColumn})
		if e.ParametersColumn != "" {
			cols = append(cols, struct{ field, v string }{"events.parameters_column", e.ParametersColumn})
		}
		c.stream = e.Stream
		if c.stream == "" {
			c.stream = fmt.Sprintf("databricks_%s_%s_%s", s.Catalog, s.Schema, s.Table)
		}
		if err := platform.ValidateStreamName(c.stream); err != nil {
			return nil, spec.Errorf("settings.events.stream", "%v", err)
		}
	}
	for _, p := range cols {
		if err := lakehouse.ValidateColumnName(p.v); err != nil {
			return nil, spec.Errorf("settings."+p.field, "%v", err)
		}
	}
	switch {
	case c.batchSize == 0:
		c.batchSize = DefaultBatchSize
	case c.batchSize < 1 || c.batchSize > MaxBatchSize:
		return nil, spec.Errorf("settings.batch_size", "want 1 to %d, got %d", MaxBatchSize, c.batchSize)
	}
	switch {
	case c.queryTimeout == 0:
		c.queryTimeout = DefaultQueryTimeout
	case c.queryTimeout < time.Second:
		return nil, spec.Errorf("settings.query_timeout", "want at least 1s, got %s", c.queryTimeout)
	}
	return c, nil
}

// checkTable applies the rules a table must meet: a Delta table (not a
// view) with the change data feed on.
func (c *config) checkTable(d *lakehouse.Description) error {
	t := c.table
	switch {
	case d.Kind == lakehouse.KindView:
		return c.spec.Errorf("settings.table", "%s is a view; import.changes reads a table's change data feed, which views do not have: point the job at the underlying Delta table", t.Plain())
	case d.Format != lakehouse.FormatDelta:
		return c.spec.Errorf("settings.table", "%s is a %s table, not a Delta table; import.changes needs the Delta change data feed (convert it with CONVERT TO DELTA or copy it into a Delta table)", t.Plain(), d.Format)
	case !d.ChangeDataFeed:
		return c.spec.Errorf("settings.table", "%s has Change Data Feed turned off; turn it on with: ALTER TABLE %s SET TBLPROPERTIES (delta.enableChangeDataFeed = true)", t.Plain(), t.String())
	}
	return nil
}

// mapping is the validated mapping, resolved against the table and the
// platform's field registry.
type mapping struct {
	idColumn string
	idField  string
	attrs    []attrMapping // sorted by column
	event    *eventCols
}

type attrMapping struct {
	column    string
	attribute string
	typ       platform.FieldType
}

type eventCols struct {
	name, ts, params string
}

// TypeMatches says which column types map to which attribute types (the
// documented type matching).
var TypeMatches = map[platform.FieldType]string{
	platform.TypeString:      "string (VARCHAR, TEXT, STRING)",
	platform.TypeDatetime:    "timestamp, timestamp_ntz or date",
	platform.TypeNumber:      "tinyint, smallint, int, bigint, float, double or decimal",
	platform.TypeBoolean:     "boolean",
	platform.TypeStringArray: "array<string>",
}

// AttributeType returns the attribute type a column type maps to.
func AttributeType(sqlType string) (platform.FieldType, bool) {
	t := strings.ToLower(strings.TrimSpace(sqlType))
	switch {
	case t == "string" || strings.HasPrefix(t, "varchar") || strings.HasPrefix(t, "char") || t == "text":
		return platform.TypeString, true
	case t == "timestamp" || t == "timestamp_ntz" || t == "date":
		return platform.TypeDatetime, true
	case t == "tinyint" || t == "smallint" || t == "int" || t == "bigint" || t == "float" || t == "double" || strings.HasPrefix(t, "decimal"):
		return platform.TypeNumber, true
	case t == "boolean":
		return platform.TypeBoolean, true
	case t == "array<string>":
		return platform.TypeStringArray, true
	}
	return "", false
}

func (c *config) checkMapping(d *lakehouse.Description, reg platform.Registry) (*mapping, error) {
	names := make([]string, len(d.Columns))
	for i, col := range d.Columns {
		names[i] = col.Name
	}
	find := func(field, name string) (*lakehouse.Column, error) {
		col := d.Column(name)
		if col == nil {
			return nil, c.spec.Errorf("settings."+field, "%s has no column %q (columns: %s)", c.table.Plain(), name, strings.Join(names, ", "))
		}
		return col, nil
	}
	m := &mapping{}
	idc, err := find("identifier.column", c.s.Identifier.Column)
	if err != nil {
		return nil, err
	}
	if idc.Type != "string" && idc.Type != "bigint" && idc.Type != "int" && idc.Type != "smallint" && idc.Type != "tinyint" {
		return nil, c.spec.Errorf("settings.identifier.column", "column %q has type %s; an identifier column must be a string or an integer", idc.Name, idc.Type)
	}
	f, ok := reg[c.s.Identifier.Field]
	switch {
	case !ok:
		return nil, c.spec.Errorf("settings.identifier.field", "%q is not a platform field; define it first (lakeport platform fields define %s string --identifier) or use a built-in one: email, phone, uuid", c.s.Identifier.Field, c.s.Identifier.Field)
	case !f.Identifier:
		return nil, c.spec.Errorf("settings.identifier.field", "%q is an attribute, not an identifier field", c.s.Identifier.Field)
	}
	m.idColumn, m.idField = idc.Name, f.Name
	for _, colName := range c.attrColumns {
		attr := c.s.Attributes[colName]
		path := "attributes." + colName
		col, err := find(path, colName)
		if err != nil {
			return nil, err
		}
		ct, ok := AttributeType(col.Type)
		if !ok {
			return nil, c.spec.Errorf("settings."+path, "column %q has type %s, which maps to no attribute type (%s)", col.Name, col.Type, matchList())
		}
		af, ok := reg[attr]
		switch {
		case attr == "":
			return nil, c.spec.Errorf("settings."+path, "name the platform attribute the column maps to")
		case !ok:
			return nil, c.spec.Errorf("settings."+path, "attribute %q is not predefined in the platform; define it first: lakeport platform fields define %s %s", attr, attr, ct)
		case af.Identifier:
			return nil, c.spec.Errorf("settings."+path, "%q is an identifier field, not an attribute; map it as the identifier", attr)
		}
		if ct != af.Type {
			return nil, c.spec.Errorf("settings."+path, "column %q has type %s but attribute %q is a %s; a %s attribute takes %s columns",
				col.Name, col.Type, attr, af.Type, af.Type, TypeMatches[af.Type])
		}
		m.attrs = append(m.attrs, attrMapping{column: col.Name, attribute: attr, typ: af.Type})
	}
	if e := c.s.Events; e != nil {
		nc, err := find("events.name_column", e.NameColumn)
		if err != nil {
			return nil, err
		}
		if nc.Type != "string" {
			return nil, c.spec.Errorf("settings.events.name_column", "column %q has type %s; want string", nc.Name, nc.Type)
		}
		tc, err := find("events.timestamp_column", e.TimestampColumn)
		if err != nil {
			return nil, err
		}
		if t, _ := AttributeType(tc.Type); t != platform.TypeDatetime {
			return nil, c.spec.Errorf("settings.events.timestamp_column", "column %q has type %s; want timestamp, timestamp_ntz or date", tc.Name, tc.Type)
		}
		m.event = &eventCols{name: nc.Name, ts: tc.Name}
		if e.ParametersColumn != "" {
			pc, err := find("events.parameters_column", e.ParametersColumn)
			if err != nil {
				return nil, err
			}
			if !strings.HasPrefix(pc.Type, "struct<") && !strings.HasPrefix(pc.Type, "map<string,") && pc.Type != "string" {
				return nil, c.spec.Errorf("settings.events.parameters_column", "column %q has type %s; want a struct, a map<string,...> or a string holding a JSON object", pc.Name, pc.Type)
			}
			m.event.params = pc.Name
		}
	}
	return m, nil
}

func matchList() string {
	var parts []string
	for _, t := range []platform.FieldType{platform.TypeString, platform.TypeDatetime, platform.TypeNumber, platform.TypeBoolean, platform.TypeStringArray} {
		parts = append(parts, string(t)+" <- "+TypeMatches[t])
	}
	return strings.Join(parts, "; ")
}

// columns lists the table columns the mapping reads.
func (m *mapping) columns() []string {
	cols := []string{m.idColumn}
	add := func(c string) {
		for _, x := range cols {
			if x == c {
				return
			}
		}
		cols = append(cols, c)
	}
	for _, a := range m.attrs {
		add(a.column)
	}
	if m.event != nil {
		add(m.event.name)
		add(m.event.ts)
		if m.event.params != "" {
			add(m.event.params)
		}
	}
	return cols
}

func describeError(spec *job.Spec, t lakehouse.TableName, err error) error {
	if errors.Is(err, lakehouse.ErrNotFound) || errors.Is(err, lakehouse.ErrInvalid) {
		return spec.Errorf("settings.table", "%v", err)
	}
	return fmt.Errorf("describe %s: %w", t.Plain(), err)
}

// validate checks the table and the mapping (at job creation and at the
// start of every run).
func (c *config) validate(ctx context.Context, lh lakehouse.Lakehouse, store platform.Store) (*lakehouse.Description, *mapping, error) {
	d, err := lh.Describe(ctx, c.table)
	if err != nil {
		return nil, nil, describeError(c.spec, c.table, err)
	}
	if err := c.checkTable(d); err != nil {
		return nil, nil, err
	}
	fields, err := store.Fields(ctx)
	if err != nil {
		return nil, nil, err
	}
	m, err := c.checkMapping(d, platform.NewRegistry(fields))
	if err != nil {
		return nil, nil, err
	}
	return d, m, nil
}
