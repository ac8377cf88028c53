package exportsystem

import (
	"context"
	"encoding/json"
	"fmt"
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
const Kind = "export.system_events"

func init() {
	job.Register(Kind, New)
	job.RegisterDefaultSchedule(Kind, job.Schedule{Frequency: job.Every, Every: time.Hour})
}

// Settings are the job's `settings:` in lakeport.yaml.
type Settings struct {
	export.Common `yaml:",inline"`
	Account       string `yaml:"account"`
	Table         string `yaml:"table"`
	StartDate     string `yaml:"start_date"`
	EndDate       string `yaml:"end_date"`
	SubjectType   string `yaml:"subject_type"`
	SubjectID     string `yaml:"subject_id"`
	LoadRows      int64  `yaml:"load_rows"`
}

// Defaults of the settings.
const (
	DefaultAccount   = "default"
	DefaultFileRows  = 100_000 // events per staged file (files also close at export.DefaultFileBytes)
	DefaultLoadRows  = 10_000_000
	DefaultStartDays = 30 // the default start date is this many days before the first run
)

// Schema is the table's columns.
var Schema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: false},
	{Name: "date", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "aid", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "user_id", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "subject_type", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "subject_id", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "verb", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "notes", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "related", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// Flow is one export.system_events job.
type Flow struct {
	spec       *job.Spec
	s          Settings
	start, end *time.Time
	table      lakehouse.TableName
}

// New is the job.Factory of export.system_events.
func New(spec *job.Spec, env *job.Env) (job.Flow, error) {
	f := &Flow{spec: spec}
	s := &f.s
	if err := spec.DecodeSettings(s); err != nil {
		return nil, err
	}
	if err := s.Check(spec, lakehouse.FormatParquet, lakehouse.FormatCSV, lakehouse.FormatCSVGzip); err != nil {
		return nil, err
	}
	if s.FileRows == 0 {
		s.FileRows = DefaultFileRows
	}
	if s.Account == "" {
		s.Account = DefaultAccount
	}
	if s.Table != "" {
		if err := lakehouse.ValidateName("table", s.Table); err != nil {
			return nil, spec.Errorf("settings.table", "%v", err)
		}
		f.table = s.Common.Table(s.Table)
	} else {
		f.table = s.Common.Table(s.Prefix + "_system_event_export_" + s.Account)
	}
	var err error
	if f.start, f.end, err = export.DateRange(spec, s.StartDate, s.EndDate); err != nil {
		return nil, err
	}
	if err := export.LoadRows(spec, &s.LoadRows, DefaultLoadRows); err != nil {
		return nil, err
	}
	return f, nil
}

// Cursor is the export's position, kept in its load ledger.
type Cursor struct {
	// Start is the default start date, fixed by the first run (nil when
	// start_date is set).
	Start *time.Time      `json:"start,omitempty"`
	After platform.Cursor `json:"after"`
}

// TableName is the table the events go to.
func (f *Flow) TableName() lakehouse.TableName { return f.table }

// Run exports the system events recorded since the last run.
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
	if first && f.start == nil {
		start := platform.Now().AddDate(0, 0, -DefaultStartDays)
		cur.Start = &start
	}
	start := f.start
	if start == nil {
		start = cur.Start
	}
	b := e.NewBatch()
	if first {
		b.Ensure(f.table)
	}
	from := cur.After // Pipe moves cur as chunks are staged
	read := func(ctx context.Context, out chan<- export.Chunk[platform.Cursor]) error {
		return f.read(ctx, store, from, start, out)
	}
	err = export.Pipe(ctx, e, b, f.s.LoadRows, &cur, read, func(after platform.Cursor) { cur.After = after })
	return e.Result(), err
}

// chunkRows is the number of rows per record batch handed to staging.
const chunkRows = 64 * 1024

// read pages through the audit log after the cursor and sends chunks in
// order. The log is in time order, so reading starts at the start date.
func (f *Flow) read(ctx context.Context, store platform.Store, after platform.Cursor, start *time.Time, out chan<- export.Chunk[platform.Cursor]) error {
	bld := array.NewRecordBuilder(memory.DefaultAllocator, Schema)
	defer bld.Release()
	send := func(after platform.Cursor) error {
		c := export.Chunk[platform.Cursor]{Table: f.table, After: after}
		if bld.Field(0).Len() > 0 {
			c.Rec = bld.NewRecordBatch()
		}
		return export.Send(ctx, out, c)
	}
	from := after
	if start != nil && from.Less(platform.Cursor{Time: *start}) {
		from = platform.Cursor{Time: *start} // events before it would be skipped
	}
	read := false // events read since the last chunk
	for {
		page, err := store.SystemEvents(ctx, from, platform.MaxPage)
		if err != nil {
			return fmt.Errorf("read system events: %w", err)
		}
		for _, ev := range page {
			from, after, read = ev.Cursor(), ev.Cursor(), true
			if !f.keep(ev, start) {
				continue
			}
			if err := appendEvent(bld, ev); err != nil {
				return err
			}
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

// keep reports whether ev passes the dates and subject filters.
func (f *Flow) keep(ev platform.SystemEvent, start *time.Time) bool {
	switch {
	case start != nil && ev.Time.Before(*start), f.end != nil && !ev.Time.Before(*f.end):
		return false
	case f.s.SubjectType != "" && ev.SubjectType != f.s.SubjectType, f.s.SubjectID != "" && ev.SubjectID != f.s.SubjectID:
		return false
	}
	return true
}

func appendEvent(bld *array.RecordBuilder, ev platform.SystemEvent) error {
	bld.Field(0).(*array.Int64Builder).Append(ev.ID)
	bld.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(ev.Time.UnixMicro()))
	for i, v := range []string{ev.AccountID, ev.UserID, ev.SubjectType, ev.SubjectID, ev.Verb, ev.Notes} {
		sb := bld.Field(2 + i).(*array.StringBuilder)
		if v == "" {
			sb.AppendNull()
		} else {
			sb.Append(v)
		}
	}
	related := []byte("{}")
	if len(ev.Related) > 0 {
		var err error
		if related, err = json.Marshal(ev.Related); err != nil { // keys sorted
			return fmt.Errorf("system event %d: related: %w", ev.ID, err)
		}
	}
	bld.Field(8).(*array.StringBuilder).BinaryBuilder.Append(related)
	return nil
}
