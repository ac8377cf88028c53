package export

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/lakehouse/staging"
)

// DefaultPrefix starts the default table names ({prefix}_events_all, ...).
const DefaultPrefix = "lakeport"

// Common are the settings every export kind has (inline them with
// `yaml:",inline"`).
type Common struct {
	// Catalog and Schema hold the export's tables.
	Catalog string `yaml:"catalog" lakeport:"required"`
	Schema  string `yaml:"schema" lakeport:"required"`
	// Prefix starts the default table names (default "lakeport").
	Prefix string `yaml:"prefix"`
	// Staging is where files wait to be loaded: a local directory or a
	// bucket URL (default: the connection's staging, else the
	// configuration's .lakeport/staging directory).
	Staging string `yaml:"staging"`
	// Format of the staged files: parquet, csv or csv.gz (kind default).
	Format string `yaml:"format"`
	// FileRows closes a staged file after this many rows (kind default;
	// files also close at 1 GB).
	FileRows int64 `yaml:"file_rows"`
}

// Check validates the common settings and fills defaults; formats lists the
// formats the kind allows, the first being its default.
func (c *Common) Check(spec *job.Spec, formats ...string) error {
	for _, p := range []struct{ field, what, v string }{{"catalog", "catalog", c.Catalog}, {"schema", "schema", c.Schema}} {
		if err := lakehouse.ValidateName(p.what, p.v); err != nil {
			return spec.Errorf("settings."+p.field, "%v", err)
		}
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if err := lakehouse.ValidateName("table name prefix", c.Prefix); err != nil {
		return spec.Errorf("settings.prefix", "%v", err)
	}
	if c.FileRows < 0 {
		return spec.Errorf("settings.file_rows", "want 0 (the default) or more, got %d", c.FileRows)
	}
	if c.Format == "" {
		c.Format = formats[0]
	}
	if !slices.Contains(formats, c.Format) {
		return spec.Errorf("settings.format", "want one of %s, got %q", strings.Join(formats, ", "), c.Format)
	}
	return nil
}

// Table is catalog.schema.name with name sanitized (TableSlug).
func (c *Common) Table(name string) lakehouse.TableName {
	return lakehouse.TableName{Catalog: c.Catalog, Schema: c.Schema, Table: TableSlug(name)}
}

// TableSlug makes a table name of s: lower case, every character other than
// a-z, 0-9 and '_' replaced by '_', at most 255 characters.
func TableSlug(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) > 255 {
		b = b[:255]
	}
	return string(b)
}

// Begin starts an export run of kind the way every kind does: it resolves
// the job's lakehouse and staging area (see openStaging), then Start
// (which finishes a load an earlier run left). mode and schema are the
// kind's (LoadAppend when empty; a nil schema is inferred from the staged
// data); format and file size come from the settings.
func (c *Common) Begin(ctx context.Context, r *job.Run, kind string, mode lakehouse.LoadMode, schema *arrow.Schema) (*Exporter, error) {
	if err := Platform(r); err != nil {
		return nil, err
	}
	lh, err := job.ConnectionAs[lakehouse.Lakehouse](ctx, r.Job, r.Env, "a lakehouse")
	if err != nil {
		return nil, err
	}
	area, err := c.openStaging(ctx, r.Job, r.Env, lh)
	if err != nil {
		return nil, err
	}
	return Start(ctx, r, kind, Target{Lakehouse: lh, Staging: area, Format: c.Format, Mode: mode, Schema: schema, FileRows: c.FileRows})
}

// StagingProvider is implemented by lakehouse drivers that have a staging
// area of their own (a warehouse reads only from places it can reach).
type StagingProvider interface {
	DefaultStaging(ctx context.Context) (staging.Area, error)
}

// openStaging opens the staging area: the settings' location, else the
// driver's, else the environment's default directory.
func (c *Common) openStaging(ctx context.Context, spec *job.Spec, env *job.Env, lh lakehouse.Lakehouse) (staging.Area, error) {
	if c.Staging != "" {
		a, err := staging.Open(ctx, c.Staging)
		if err != nil {
			return nil, spec.Errorf("settings.staging", "%v", err)
		}
		return a, nil
	}
	if p, ok := lh.(StagingProvider); ok {
		return p.DefaultStaging(ctx)
	}
	dir := job.DefaultStagingDir
	if env != nil && env.StagingDir != "" {
		dir = env.StagingDir
	}
	a, err := staging.Open(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("%s: default staging: %w", spec.Path(), err)
	}
	return a, nil
}

// Platform checks the run has a platform store.
func Platform(r *job.Run) error {
	if r.Env == nil || r.Env.Platform == nil {
		return errs.Invalidf("%s: no platform store", r.Job.Path())
	}
	return nil
}

// DateRange reads the settings start_date and end_date (each optional,
// ParseDate's forms); the end, when both are set, must be after the start.
func DateRange(spec *job.Spec, startDate, endDate string) (start, end *time.Time, err error) {
	for _, p := range []struct {
		field, v string
		out      **time.Time
	}{{"start_date", startDate, &start}, {"end_date", endDate, &end}} {
		if p.v == "" {
			continue
		}
		t, err := ParseDate(p.v)
		if err != nil {
			return nil, nil, spec.Errorf("settings."+p.field, "%v", err)
		}
		*p.out = &t
	}
	if start != nil && end != nil && !end.After(*start) {
		return nil, nil, spec.Errorf("settings.end_date", "end date %s is not after the start date %s", endDate, startDate)
	}
	return start, end, nil
}

// LoadRows checks the setting load_rows (rows per load), 0 meaning def.
func LoadRows(spec *job.Spec, n *int64, def int64) error {
	switch {
	case *n == 0:
		*n = def
	case *n < 1:
		return spec.Errorf("settings.load_rows", "want at least 1, got %d", *n)
	}
	return nil
}

// ParseDate reads a yyyy-mm-dd date (UTC midnight) or an RFC 3339 time.
func ParseDate(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("want yyyy-mm-dd or an RFC 3339 time, got %q", s)
}
