package exportmetrics

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeport/lakeport/internal/flow/export"
	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/platform"
)

// Kind is the job kind this package registers.
const Kind = "export.metrics"

func init() {
	job.Register(Kind, New)
	job.RegisterDefaultSchedule(Kind, job.Schedule{Frequency: job.Every, Every: time.Hour})
}

// Settings are the job's `settings:` in lakeport.yaml.
type Settings struct {
	export.Common `yaml:",inline"`
	Dimension     string `yaml:"dimension" lakeport:"required"`
	DimensionID   string `yaml:"dimension_id"`
	MetricType    string `yaml:"metric_type" lakeport:"required"`
	Lookback      string `yaml:"lookback"`
	Account       string `yaml:"account"`
	Table         string `yaml:"table"`
}

// Defaults of the settings.
const (
	DefaultAccount  = "default"
	DefaultLookback = "30d"
)

// Types are the metric types of each dimension.
var Types = map[string][]string{
	platform.DimensionStream:   {platform.MetricEvents},
	platform.DimensionAudience: {platform.MetricSize, platform.MetricAdded, platform.MetricRemoved},
	platform.DimensionJob:      {platform.MetricRows, platform.MetricBytes, platform.MetricDuration},
}

// Dimensions are the dimensions in the order errors list them.
var Dimensions = []string{platform.DimensionStream, platform.DimensionAudience, platform.DimensionJob}

// Lookbacks are the lookback settings allowed, in days.
var Lookbacks = map[string]int{"0d": 0, "7d": 7, "14d": 14, "30d": 30, "60d": 60, "90d": 90}

var lookbackNames = []string{"0d", "7d", "14d", "30d", "60d", "90d"}

// Schema is the table's columns.
var Schema = arrow.NewSchema([]arrow.Field{
	{Name: "dimension", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "dimension_id", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "dimension_type", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "value", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "exported_ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
}, nil)

// Flow is one export.metrics job.
type Flow struct {
	spec     *job.Spec
	s        Settings
	lookback time.Duration
	table    lakehouse.TableName
}

// New is the job.Factory of export.metrics.
func New(spec *job.Spec, env *job.Env) (job.Flow, error) {
	f := &Flow{spec: spec}
	s := &f.s
	if err := spec.DecodeSettings(s); err != nil {
		return nil, err
	}
	if s.Format != "" && s.Format != lakehouse.FormatCSVGzip {
		return nil, spec.Errorf("settings.format", "export.metrics stages gzip CSV only: want %s (or leave it out), got %q", lakehouse.FormatCSVGzip, s.Format)
	}
	if err := s.Check(spec, lakehouse.FormatCSVGzip); err != nil {
		return nil, err
	}
	types, ok := Types[s.Dimension]
	if !ok {
		return nil, spec.Errorf("settings.dimension", "unknown dimension %q (want one of %s)", s.Dimension, strings.Join(Dimensions, ", "))
	}
	if !slices.Contains(types, s.MetricType) {
		return nil, spec.Errorf("settings.metric_type", "%q is not a metric type of dimension %s (want one of %s)", s.MetricType, s.Dimension, strings.Join(types, ", "))
	}
	if s.Lookback == "" {
		s.Lookback = DefaultLookback
	}
	days, ok := Lookbacks[s.Lookback]
	if !ok {
		return nil, spec.Errorf("settings.lookback", "want one of %s, got %q", strings.Join(lookbackNames, ", "), s.Lookback)
	}
	f.lookback = time.Duration(days) * 24 * time.Hour
	if s.Account == "" {
		s.Account = DefaultAccount
	}
	if s.Table != "" {
		if err := lakehouse.ValidateName("table", s.Table); err != nil {
			return nil, spec.Errorf("settings.table", "%v", err)
		}
		f.table = s.Common.Table(s.Table)
	} else {
		f.table = s.Common.Table(s.Prefix + "_" + s.Account + "_metrics")
	}
	return f, nil
}

// Cursor is the export's position, kept in its load ledger.
type Cursor struct {
	AfterID int64 `json:"after_id"`
}

// TableName is the table the points go to.
func (f *Flow) TableName() lakehouse.TableName { return f.table }

// Run exports the points recorded since the last run (on the first run,
// those within the lookback).
func (f *Flow) Run(ctx context.Context, r *job.Run) (job.Result, error) {
	e, err := f.s.Begin(ctx, r, Kind, lakehouse.LoadAppend, Schema)
	if err != nil {
		return job.Result{}, err
	}
	store := r.Env.Platform
	var cur Cursor
	first, err := e.Cursor(&cur)
	if err != nil {
		return e.Result(), err
	}
	now := platform.Now() // exported_ts of every row of this run
	var since *time.Time
	if first {
		t := now.Add(-f.lookback)
		since = &t
	}
	b := e.NewBatch()
	if first {
		b.Ensure(f.table)
	}
	// one load per run (loadRows 0): the first run's lookback is all or nothing
	from := cur.AfterID // Pipe moves cur as chunks are staged
	read := func(ctx context.Context, out chan<- export.Chunk[int64]) error {
		return f.read(ctx, store, from, since, now, out)
	}
	err = export.Pipe(ctx, e, b, 0, &cur, read, func(after int64) { cur.AfterID = after })
	return e.Result(), err
}

// chunkRows is the number of rows per record batch handed to staging.
const chunkRows = 64 * 1024

// read pages through the points after the cursor in id order and sends
// chunks in order; since, on the first run, is the lookback's start.
func (f *Flow) read(ctx context.Context, store platform.Store, after int64, since *time.Time, now time.Time, out chan<- export.Chunk[int64]) error {
	bld := array.NewRecordBuilder(memory.DefaultAllocator, Schema)
	defer bld.Release()
	send := func(after int64) error {
		c := export.Chunk[int64]{Table: f.table, After: after}
		if bld.Field(0).Len() > 0 {
			c.Rec = bld.NewRecordBatch()
		}
		return export.Send(ctx, out, c)
	}
	exported := arrow.Timestamp(now.UnixMicro())
	read := false // points read since the last chunk
	for {
		// every dimension is read (and the cursor moves past all of them):
		// a filter in the query would leave the cursor behind skipped points
		page, err := store.Metrics(ctx, platform.MetricQuery{AfterID: after, Limit: platform.MaxPage})
		if err != nil {
			return fmt.Errorf("read metrics: %w", err)
		}
		for _, m := range page {
			after, read = m.ID, true
			if !f.keep(m, since) {
				continue
			}
			appendPoint(bld, m, exported)
		}
		if bld.Field(0).Len() >= chunkRows {
			if err := send(after); err != nil {
				return err
			}
			read = false
		}
		if len(page) < platform.MaxPage {
			break
		}
	}
	if read {
		return send(after)
	}
	return nil
}

// keep reports whether m is of the job's dimension, id and type and, on
// the first run, within the lookback.
func (f *Flow) keep(m platform.Metric, since *time.Time) bool {
	switch {
	case m.Dimension != f.s.Dimension, m.Type != f.s.MetricType, f.s.DimensionID != "" && m.DimensionID != f.s.DimensionID:
		return false
	case since != nil && m.Timestamp.Before(*since):
		return false
	}
	return true
}

func appendPoint(bld *array.RecordBuilder, m platform.Metric, exported arrow.Timestamp) {
	bld.Field(0).(*array.StringBuilder).Append(m.Dimension)
	if m.DimensionID == "" {
		bld.Field(1).AppendNull()
	} else {
		bld.Field(1).(*array.StringBuilder).Append(m.DimensionID)
	}
	bld.Field(2).(*array.StringBuilder).Append(m.Type)
	bld.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(m.Timestamp.UnixMicro()))
	bld.Field(4).(*array.Float64Builder).Append(m.Value)
	bld.Field(5).(*array.TimestampBuilder).Append(exported)
}
