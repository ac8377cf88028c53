package exportaudience

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/flow/export"
	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/platform"
)

// Kind is the job kind this package registers.
const Kind = "export.audience"

func init() {
	job.Register(Kind, New)
	job.RegisterDefaultSchedule(Kind, job.Schedule{Frequency: job.Every, Every: 24 * time.Hour})
}

// Settings are the job's `settings:` in lakeport.yaml.
type Settings struct {
	export.Common `yaml:",inline"`
	Audience      string   `yaml:"audience" lakeport:"required"`
	Fields        []string `yaml:"fields"`
	Table         string   `yaml:"table"`
}

// Column is one column of the table: a profile field and its type.
type Column struct {
	Name string             `json:"name"`
	Type platform.FieldType `json:"type"`
	// Identifier columns hold the profile's (first) value of the
	// identifier field.
	Identifier bool `json:"identifier,omitempty"`
}

// ArrowType is the column's type in the table: string, number, boolean and
// datetime fields as STRING, DOUBLE, BOOLEAN and TIMESTAMP; identifiers and
// non-scalar fields (string arrays) as STRING (the latter as JSON).
func (c Column) ArrowType() arrow.DataType {
	switch {
	case c.Identifier:
		return arrow.BinaryTypes.String
	case c.Type == platform.TypeNumber:
		return arrow.PrimitiveTypes.Float64
	case c.Type == platform.TypeBoolean:
		return arrow.FixedWidthTypes.Boolean
	case c.Type == platform.TypeDatetime:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	}
	return arrow.BinaryTypes.String
}

// Schema is the table's columns, all nullable.
func Schema(cols []Column) *arrow.Schema {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.Name, Type: c.ArrowType(), Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

// Flow is one export.audience job.
type Flow struct {
	spec *job.Spec
	s    Settings
}

// New is the job.Factory of export.audience.
func New(spec *job.Spec, env *job.Env) (job.Flow, error) {
	f := &Flow{spec: spec}
	s := &f.s
	if err := spec.DecodeSettings(s); err != nil {
		return nil, err
	}
	if err := s.Check(spec, lakehouse.FormatCSV, lakehouse.FormatCSVGzip); err != nil {
		return nil, err
	}
	if err := platform.ValidateSlug(s.Audience); err != nil {
		return nil, spec.Errorf("settings.audience", "%v", err)
	}
	if s.Table == "" {
		s.Table = export.TableSlug(s.Prefix + "_user_" + s.Audience)
	}
	if err := lakehouse.ValidateName("table", s.Table); err != nil {
		return nil, spec.Errorf("settings.table", "%v", err)
	}
	for i, fl := range s.Fields {
		if slices.Contains(s.Fields[:i], fl) {
			return nil, spec.Errorf(fmt.Sprintf("settings.fields[%d]", i), "field %q is listed twice", fl)
		}
	}
	if env != nil && env.Platform != nil {
		ctx := context.Background()
		if _, err := env.Platform.Audience(ctx, s.Audience); err != nil {
			if !errors.Is(err, platform.ErrNotFound) {
				return nil, err
			}
			known, err := audienceSlugs(ctx, env.Platform)
			if err != nil {
				return nil, err
			}
			return nil, spec.Errorf("settings.audience", "unknown audience %q (audiences: %s)", s.Audience, known)
		}
		if len(s.Fields) > 0 {
			fields, err := env.Platform.Fields(ctx)
			if err != nil {
				return nil, err
			}
			reg := platform.NewRegistry(fields)
			for i, fl := range s.Fields {
				if _, ok := reg[fl]; !ok {
					return nil, spec.Errorf(fmt.Sprintf("settings.fields[%d]", i), "unknown field %q (fields: %s)", fl, fieldNames(fields))
				}
			}
		}
	}
	return f, nil
}

func audienceSlugs(ctx context.Context, store platform.Store) (string, error) {
	all, err := store.Audiences(ctx)
	if err != nil {
		return "", err
	}
	var names []string
	for _, a := range all {
		names = append(names, a.Slug)
	}
	if len(names) == 0 {
		return "none", nil
	}
	return strings.Join(names, ", "), nil
}

func fieldNames(fields []platform.Field) string {
	var names []string
	for _, f := range fields {
		names = append(names, f.Name)
	}
	return strings.Join(names, ", ")
}

// Cursor is what a load records in the ledger: the columns it staged and
// the number of members. Every run replaces the whole table, so nothing in
// it is a position.
type Cursor struct {
	Audience string   `json:"audience"`
	Columns  []Column `json:"columns"`
	Members  int64    `json:"members"`
}

// TableName is the table the audience is exported to.
func (f *Flow) TableName() lakehouse.TableName { return f.s.Common.Table(f.s.Table) }

// Run replaces the table with the audience's current members.
func (f *Flow) Run(ctx context.Context, r *job.Run) (job.Result, error) {
	if err := export.Platform(r); err != nil {
		return job.Result{}, err
	}
	store := r.Env.Platform
	reg, err := registry(ctx, store)
	if err != nil {
		return job.Result{}, err
	}
	cols, err := f.columns(ctx, store, reg)
	if err != nil {
		return job.Result{}, err
	}
	// a load an earlier run left pending is finished by Begin with the
	// columns and format it was staged with (kept in the ledger), not this
	// run's: the membership, and with it the columns, may have changed
	e, err := f.s.Begin(ctx, r, Kind, lakehouse.LoadReplace, Schema(cols))
	if err != nil {
		return job.Result{}, err
	}
	b := e.NewBatch()
	b.Ensure(f.TableName()) // an empty audience still replaces the table
	n, err := f.stage(ctx, store, cols, b)
	if err != nil {
		b.Abort(ctx)
		return e.Result(), err
	}
	if err := e.Commit(ctx, b, Cursor{Audience: f.s.Audience, Columns: cols, Members: n}); err != nil {
		return e.Result(), err
	}
	return e.Result(), nil
}

func registry(ctx context.Context, store platform.Store) (platform.Registry, error) {
	fields, err := store.Fields(ctx)
	if err != nil {
		return nil, err
	}
	return platform.NewRegistry(fields), nil
}

// columns are the chosen fields in their order; without a choice, the
// identifier fields and then the attributes the current members have, each
// sorted by name (a first pass over the members), or, when the members
// have none (an empty audience), the registry's identifier fields.
func (f *Flow) columns(ctx context.Context, store platform.Store, reg platform.Registry) ([]Column, error) {
	col := func(name string) Column {
		fl, ok := reg[name]
		if !ok { // not in the registry: kept as JSON text
			return Column{Name: name, Type: platform.TypeStringArray}
		}
		return Column{Name: name, Type: fl.Type, Identifier: fl.Identifier}
	}
	var out []Column
	if len(f.s.Fields) > 0 {
		for _, name := range f.s.Fields {
			out = append(out, col(name))
		}
		return out, nil
	}
	seen := map[string]bool{}
	var after int64
	for {
		page, err := store.Members(ctx, f.s.Audience, after, platform.MaxPage)
		if err != nil {
			return nil, fmt.Errorf("read audience %s: %w", f.s.Audience, err)
		}
		for _, m := range page {
			for _, id := range m.Profile.Identifiers {
				seen[id.Field] = true
			}
			for k, v := range m.Profile.Attributes {
				if v != nil {
					seen[k] = true
				}
			}
			after = m.Profile.ID
		}
		if len(page) < platform.MaxPage {
			break
		}
	}
	if len(seen) == 0 {
		for _, fl := range reg.Sorted() {
			if fl.Identifier {
				seen[fl.Name] = true
			}
		}
	}
	for name := range seen {
		out = append(out, col(name))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Identifier != out[j].Identifier {
			return out[i].Identifier
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// chunkRows is the number of rows per record batch handed to staging.
const chunkRows = 64 * 1024

// stage writes every current member as a row; it returns their number.
func (f *Flow) stage(ctx context.Context, store platform.Store, cols []Column, b *export.Batch) (int64, error) {
	bld := array.NewRecordBuilder(memory.DefaultAllocator, Schema(cols))
	defer bld.Release()
	table := f.TableName()
	flush := func() error {
		rec := bld.NewRecordBatch()
		defer rec.Release()
		return b.Write(ctx, table, rec)
	}
	var after, n int64
	for {
		page, err := store.Members(ctx, f.s.Audience, after, platform.MaxPage)
		if err != nil {
			return n, fmt.Errorf("read audience %s: %w", f.s.Audience, err)
		}
		for _, m := range page {
			if err := appendRow(bld, cols, m.Profile); err != nil {
				return n, err
			}
			after = m.Profile.ID
			n++
		}
		if bld.Field(0).Len() >= chunkRows {
			if err := flush(); err != nil {
				return n, err
			}
		}
		if len(page) < platform.MaxPage {
			break
		}
	}
	if bld.Field(0).Len() > 0 {
		return n, flush()
	}
	return n, nil
}

// appendRow appends a profile's values of the columns.
func appendRow(bld *array.RecordBuilder, cols []Column, p platform.Profile) error {
	for i, c := range cols {
		fb := bld.Field(i)
		if c.Identifier {
			if v, ok := Identifier(p, c.Name); ok {
				fb.(*array.StringBuilder).Append(v)
			} else {
				fb.AppendNull()
			}
			continue
		}
		v, ok := p.Attributes[c.Name]
		if !ok || v == nil {
			fb.AppendNull()
			continue
		}
		bad := func() error {
			return errs.Invalidf("profile %d: attribute %q holds %T, not a %s", p.ID, c.Name, v, c.Type)
		}
		switch b := fb.(type) {
		case *array.Float64Builder:
			x, ok := v.(float64)
			if !ok {
				return bad()
			}
			b.Append(x)
		case *array.BooleanBuilder:
			x, ok := v.(bool)
			if !ok {
				return bad()
			}
			b.Append(x)
		case *array.TimestampBuilder:
			s, ok := v.(string)
			if !ok {
				return bad()
			}
			t, err := platform.ParseDatetime(s)
			if err != nil {
				return bad()
			}
			b.Append(arrow.Timestamp(t.UnixMicro()))
		case *array.StringBuilder:
			if s, ok := v.(string); ok && c.Type == platform.TypeString {
				b.Append(s)
				continue
			}
			raw, err := json.Marshal(v) // non-scalar values as JSON
			if err != nil {
				return fmt.Errorf("profile %d: attribute %q: %w", p.ID, c.Name, err)
			}
			b.BinaryBuilder.Append(raw)
		}
	}
	return nil
}

// Identifier returns a profile's value of an identifier field: the first
// in sort order when it holds several; false when it holds none.
func Identifier(p platform.Profile, field string) (string, bool) {
	for _, id := range p.Identifiers { // sorted by field, then value
		if id.Field == field {
			return id.Value, true
		}
	}
	return "", false
}
