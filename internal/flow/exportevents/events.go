package exportevents

import (
	"context"
	"encoding/json"
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
const Kind = "export.events"

func init() { job.Register(Kind, New) }

// Settings are the job's `settings:` in lakeport.yaml.
type Settings struct {
	export.Common `yaml:",inline"`
	Streams       []string `yaml:"streams"`
	SingleTable   bool     `yaml:"single_table"`
	Fields        []string `yaml:"fields"`
	MaxEvents     int64    `yaml:"max_events"`
	StartDate     string   `yaml:"start_date"`
	EndDate       string   `yaml:"end_date"`
	FromNowOn     bool     `yaml:"from_now_on"`
	LoadRows      int64    `yaml:"load_rows"`
}

// DefaultLoadRows is the number of events per load when unset.
const DefaultLoadRows = 10_000_000

// Schema is the tables' columns.
var Schema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: false},
	{Name: "event_ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "receive_ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "stream", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "data", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// Flow is one export.events job.
type Flow struct {
	spec       *job.Spec
	s          Settings
	start, end *time.Time
	fields     map[string]bool
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

// New is the job.Factory of export.events.
func New(spec *job.Spec, env *job.Env) (job.Flow, error) {
	f := &Flow{spec: spec}
	s := &f.s
	if err := spec.DecodeSettings(s); err != nil {
		return nil, err
	}
	if err := s.Check(spec, lakehouse.FormatParquet, lakehouse.FormatCSV, lakehouse.FormatCSVGzip); err != nil {
		return nil, err
	}
	for i, st := range s.Streams {
		if err := platform.ValidateStreamName(st); err != nil {
			return nil, spec.Errorf(fmt.Sprintf("settings.streams[%d]", i), "%v", err)
		}
	}
	for _, p := range []struct {
		field, v string
		out      **time.Time
	}{{"start_date", s.StartDate, &f.start}, {"end_date", s.EndDate, &f.end}} {
		if p.v == "" {
			continue
		}
		t, err := ParseDate(p.v)
		if err != nil {
			return nil, spec.Errorf("settings."+p.field, "%v", err)
		}
		*p.out = &t
	}
	if f.start != nil && f.end != nil && !f.end.After(*f.start) {
		return nil, spec.Errorf("settings.end_date", "end date %s is not after the start date %s", s.EndDate, s.StartDate)
	}
	if s.MaxEvents < 0 {
		return nil, spec.Errorf("settings.max_events", "want 0 (no limit) or more, got %d", s.MaxEvents)
	}
	switch {
	case s.LoadRows == 0:
		s.LoadRows = DefaultLoadRows
	case s.LoadRows < 1:
		return nil, spec.Errorf("settings.load_rows", "want at least 1, got %d", s.LoadRows)
	}
	if len(s.Fields) > 0 {
		f.fields = map[string]bool{}
		for _, fl := range s.Fields {
			f.fields[fl] = true
		}
	}
	if len(s.Streams) > 0 && env != nil && env.Platform != nil {
		known, err := env.Platform.Streams(context.Background())
		if err != nil {
			return nil, err
		}
		var names []string
		for _, k := range known {
			names = append(names, k.Name)
		}
		for i, st := range s.Streams {
			if !slices.Contains(names, st) {
				return nil, spec.Errorf(fmt.Sprintf("settings.streams[%d]", i), "unknown stream %q (streams: %s)", st, strings.Join(names, ", "))
			}
		}
	}
	return f, nil
}

// Cursor is the export's position, kept in its load ledger.
type Cursor struct {
	// Since, with from_now_on, is the time of the first run: streams
	// without a position start after it.
	Since   *time.Time                 `json:"since,omitempty"`
	Streams map[string]platform.Cursor `json:"streams"`
}

// TableOf is the table holding a stream's events.
func (f *Flow) TableOf(stream string) lakehouse.TableName {
	if f.s.SingleTable {
		return f.s.Table(f.s.Prefix + "_events_all")
	}
	return f.s.Table(f.s.Prefix + "_events_" + stream)
}

// Run exports the events received since the last run.
func (f *Flow) Run(ctx context.Context, r *job.Run) (job.Result, error) {
	if err := export.Platform(r); err != nil {
		return job.Result{}, err
	}
	store := r.Env.Platform
	lh, err := export.Lakehouse(ctx, f.spec, r.Env)
	if err != nil {
		return job.Result{}, err
	}
	area, err := f.s.OpenStaging(ctx, f.spec, r.Env, lh)
	if err != nil {
		return job.Result{}, err
	}
	e, err := export.Start(ctx, r, Kind, export.Target{Lakehouse: lh, Staging: area, Format: f.s.Format, Schema: Schema, FileRows: f.s.FileRows})
	if err != nil {
		return job.Result{}, err
	}
	var cur Cursor
	first, err := e.Cursor(&cur)
	if err != nil {
		return e.Result(), err
	}
	first = !first
	if cur.Streams == nil {
		cur.Streams = map[string]platform.Cursor{}
	}
	if first && f.s.FromNowOn {
		now := platform.Now()
		cur.Since = &now
	}
	streams := f.s.Streams
	if len(streams) == 0 {
		infos, err := store.Streams(ctx)
		if err != nil {
			return e.Result(), err
		}
		for _, in := range infos {
			streams = append(streams, in.Name)
		}
	}
	exported := e.Ledger().Rows
	b := e.NewBatch()
	if first {
		if f.s.SingleTable || len(streams) == 0 {
			b.Ensure(f.TableOf(""))
		}
		for _, st := range streams {
			b.Ensure(f.TableOf(st))
		}
	}
	bld := array.NewRecordBuilder(memory.DefaultAllocator, Schema)
	defer bld.Release()
	for _, st := range streams {
		after, ok := cur.Streams[st]
		if !ok && cur.Since != nil {
			after = platform.Cursor{Time: *cur.Since}
		}
		table := f.TableOf(st)
		for {
			if err := ctx.Err(); err != nil {
				b.Abort(ctx)
				return e.Result(), err
			}
			page, err := store.ReadStream(ctx, st, after, platform.MaxPage)
			if err != nil {
				b.Abort(ctx)
				return e.Result(), fmt.Errorf("read stream %s: %w", st, err)
			}
			if len(page) == 0 {
				break
			}
			for _, ev := range page {
				if f.s.MaxEvents > 0 && exported >= f.s.MaxEvents {
					break
				}
				after = platform.Cursor{Time: ev.ReceiveTS, ID: ev.ID}
				if f.start != nil && ev.EventTS.Before(*f.start) || f.end != nil && !ev.EventTS.Before(*f.end) {
					continue
				}
				if err := f.append(bld, st, ev); err != nil {
					b.Abort(ctx)
					return e.Result(), err
				}
				exported++
			}
			cur.Streams[st] = after
			pending := int64(bld.Field(0).Len())
			if pending >= 64*1024 || b.Rows()+pending >= f.s.LoadRows {
				if err := flush(ctx, b, table, bld); err != nil {
					b.Abort(ctx)
					return e.Result(), err
				}
			}
			if b.Rows() >= f.s.LoadRows { // the builder is empty: the cursor covers exactly the batch
				if err := e.Commit(ctx, b, cur); err != nil {
					return e.Result(), err
				}
				b = e.NewBatch()
			}
			if len(page) < platform.MaxPage || f.s.MaxEvents > 0 && exported >= f.s.MaxEvents {
				break
			}
		}
		if err := flush(ctx, b, table, bld); err != nil {
			b.Abort(ctx)
			return e.Result(), err
		}
	}
	if err := e.Commit(ctx, b, cur); err != nil {
		return e.Result(), err
	}
	return e.Result(), nil
}

func flush(ctx context.Context, b *export.Batch, table lakehouse.TableName, bld *array.RecordBuilder) error {
	if bld.Field(0).Len() == 0 {
		return nil
	}
	rec := bld.NewRecordBatch()
	defer rec.Release()
	return b.Write(ctx, table, rec)
}

func (f *Flow) append(bld *array.RecordBuilder, stream string, ev platform.Event) error {
	bld.Field(0).(*array.Int64Builder).Append(ev.ID)
	bld.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(ev.EventTS.UnixMicro()))
	bld.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(ev.ReceiveTS.UnixMicro()))
	bld.Field(3).(*array.StringBuilder).Append(stream)
	data := ev.Data
	if f.fields != nil {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("event %d of stream %s: data is not a JSON object: %w", ev.ID, stream, err)
		}
		for k := range m {
			if !f.fields[k] {
				delete(m, k)
			}
		}
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		data = b
	}
	bld.Field(4).(*array.StringBuilder).BinaryBuilder.Append(data)
	return nil
}
