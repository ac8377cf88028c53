package importtable

import (
	"fmt"
	"strings"
	"time"

	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/platform"
)

// Kind is the job kind this package registers.
const Kind = "import.table"

func init() { job.Register(Kind, New) }

// Settings are the job's `settings:` in lakeport.yaml.
type Settings struct {
	Catalog string `yaml:"catalog" lakeport:"required"`
	Schema  string `yaml:"schema" lakeport:"required"`
	Table   string `yaml:"table" lakeport:"required"`
	// TimestampColumn orders the rows and selects those newer than the last
	// import (a timestamp, timestamp_ntz or date column).
	TimestampColumn string `yaml:"timestamp_column" lakeport:"required"`
	// RecordTimestampColumn gives each event its time (default: TimestampColumn).
	RecordTimestampColumn string `yaml:"record_timestamp_column"`
	// TieBreakerColumn orders rows sharing a timestamp (default: see
	// DefaultTieBreaker).
	TieBreakerColumn string `yaml:"tie_breaker_column"`
	// Since imports only rows at or after this time: "yyyy-mm-dd HH:MM:SS UTC".
	Since string `yaml:"since"`
	// Stream receives the events (default databricks_{catalog}_{schema}_{table}).
	Stream string `yaml:"stream"`
	// BatchSize is the number of rows per platform write (default 10000).
	BatchSize int `yaml:"batch_size"`
	// QueryTimeout bounds each wait for the lakehouse (default 15m).
	QueryTimeout time.Duration `yaml:"query_timeout"`
}

// Defaults.
const (
	DefaultBatchSize    = 10000
	MaxBatchSize        = 100000
	DefaultQueryTimeout = 15 * time.Minute
	SinceLayout         = "2006-01-02 15:04:05 UTC"
)

// tieBreakerNames are the column names DefaultTieBreaker looks for, in order
// ({table}_id is tried after id).
var tieBreakerNames = []string{"id", "{table}_id", "event_id", "uuid", "key"}

// DefaultTieBreaker picks the tie-breaking column when the settings name
// none: the first column named id, {table}_id, event_id, uuid or key
// (case-insensitive) that is not the timestamp column and has an orderable
// type (integer, string, date, timestamp). Without one, rows sharing a
// timestamp are ordered arbitrarily but always written in the same
// platform transaction, so the watermark stays exact.
func DefaultTieBreaker(d *lakehouse.Description, tsColumn string) string {
	for _, n := range tieBreakerNames {
		n = strings.ReplaceAll(n, "{table}", d.Name.Table)
		c := d.Column(n)
		if c == nil || strings.EqualFold(c.Name, tsColumn) {
			continue
		}
		if _, _, tie := lakehouse.OrderKind(c.Type); tie {
			return c.Name
		}
	}
	return ""
}

// config is the validated settings.
type config struct {
	spec         *job.Spec
	table        lakehouse.TableName
	tsColumn     string
	recordColumn string // "" = tsColumn
	tieColumn    string // "" = default
	since        *time.Time
	stream       string
	batchSize    int
	queryTimeout time.Duration
	key          string // platform checkpoint key
}

func parseSettings(spec *job.Spec) (*config, error) {
	var s Settings
	if err := spec.DecodeSettings(&s); err != nil {
		return nil, err
	}
	c := &config{spec: spec, table: lakehouse.TableName{Catalog: s.Catalog, Schema: s.Schema, Table: s.Table},
		tsColumn: s.TimestampColumn, recordColumn: s.RecordTimestampColumn, tieColumn: s.TieBreakerColumn,
		stream: s.Stream, batchSize: s.BatchSize, queryTimeout: s.QueryTimeout, key: Kind + ":" + spec.Name}
	for _, p := range []struct{ field, what, v string }{{"catalog", "catalog", s.Catalog}, {"schema", "schema", s.Schema}, {"table", "table", s.Table}} {
		if err := lakehouse.ValidateName(p.what, p.v); err != nil {
			return nil, spec.Errorf("settings."+p.field, "%v", err)
		}
	}
	for _, p := range []struct{ field, v string }{{"timestamp_column", s.TimestampColumn}, {"record_timestamp_column", s.RecordTimestampColumn}, {"tie_breaker_column", s.TieBreakerColumn}} {
		if p.v == "" {
			continue
		}
		if err := lakehouse.ValidateColumnName(p.v); err != nil {
			return nil, spec.Errorf("settings."+p.field, "%v", err)
		}
	}
	if s.Since != "" {
		t, err := time.Parse(SinceLayout, strings.TrimSpace(s.Since))
		if err != nil {
			return nil, spec.Errorf("settings.since", "want yyyy-mm-dd HH:MM:SS UTC (e.g. 2024-01-31 00:00:00 UTC), got %q", s.Since)
		}
		c.since = &t
	}
	if c.stream == "" {
		c.stream = fmt.Sprintf("databricks_%s_%s_%s", s.Catalog, s.Schema, s.Table)
	}
	if err := platform.ValidateStreamName(c.stream); err != nil {
		return nil, spec.Errorf("settings.stream", "%v", err)
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

// columns are the table's columns the import uses, as the table spells them.
type columns struct {
	ts, record, tie string
	tsKind          lakehouse.ValueKind
	tieKind         lakehouse.ValueKind
}

// check validates the settings against the table's description.
func (c *config) check(d *lakehouse.Description) (*columns, error) {
	if d.Kind != lakehouse.KindTable && d.Kind != lakehouse.KindView {
		return nil, c.spec.Errorf("settings.table", "%s is a %s, not a table or view", c.table.Plain(), d.Kind)
	}
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
	out := &columns{}
	ts, err := find("timestamp_column", c.tsColumn)
	if err != nil {
		return nil, err
	}
	if !isTime(ts.Type) {
		return nil, c.spec.Errorf("settings.timestamp_column", "column %q of %s has type %s; want timestamp, timestamp_ntz or date", ts.Name, c.table.Plain(), ts.Type)
	}
	out.ts = ts.Name
	out.tsKind, _, _ = lakehouse.OrderKind(ts.Type)
	out.record = ts.Name
	if c.recordColumn != "" {
		rc, err := find("record_timestamp_column", c.recordColumn)
		if err != nil {
			return nil, err
		}
		if !isTime(rc.Type) {
			return nil, c.spec.Errorf("settings.record_timestamp_column", "column %q of %s has type %s; want timestamp, timestamp_ntz or date", rc.Name, c.table.Plain(), rc.Type)
		}
		out.record = rc.Name
	}
	tie := c.tieColumn
	if tie == "" {
		tie = DefaultTieBreaker(d, ts.Name)
	}
	if tie != "" {
		tc, err := find("tie_breaker_column", tie)
		if err != nil {
			return nil, err
		}
		kind, _, ok := lakehouse.OrderKind(tc.Type)
		if !ok {
			return nil, c.spec.Errorf("settings.tie_breaker_column", "column %q of %s has type %s; want an integer, string, date or timestamp column", tc.Name, c.table.Plain(), tc.Type)
		}
		if strings.EqualFold(tc.Name, ts.Name) {
			return nil, c.spec.Errorf("settings.tie_breaker_column", "must differ from the timestamp column %q", ts.Name)
		}
		out.tie, out.tieKind = tc.Name, kind
	}
	if col := d.Column(platform.EventTSField); col != nil && !isTime(col.Type) && col.Type != "string" {
		return nil, c.spec.Errorf("settings.table", "column %q of %s has type %s, but %q is the platform's event-time key and must hold a time", col.Name, c.table.Plain(), col.Type, platform.EventTSField)
	}
	return out, nil
}

func isTime(sqlType string) bool {
	switch sqlType {
	case "timestamp", "timestamp_ntz", "date":
		return true
	}
	return false
}
