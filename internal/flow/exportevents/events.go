package exportevents

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
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

func init() {
	job.Register(Kind, New)
	job.RegisterDefaultSchedule(Kind, job.Schedule{Frequency: job.Every, Every: 15 * time.Minute})
}

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
	var err error
	if f.start, f.end, err = export.DateRange(spec, s.StartDate, s.EndDate); err != nil {
		return nil, err
	}
	if s.MaxEvents < 0 {
		return nil, spec.Errorf("settings.max_events", "want 0 (no limit) or more, got %d", s.MaxEvents)
	}
	if err := export.LoadRows(spec, &s.LoadRows, DefaultLoadRows); err != nil {
		return nil, err
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
	b := e.NewBatch()
	if first {
		if f.s.SingleTable || len(streams) == 0 {
			b.Ensure(f.TableOf(""))
		}
		for _, st := range streams {
			b.Ensure(f.TableOf(st))
		}
	}
	// the reader gets its own copy of the start positions: Pipe moves cur
	// as chunks are staged
	start := Cursor{Since: cur.Since, Streams: maps.Clone(cur.Streams)}
	exported := e.Ledger().Rows
	read := func(ctx context.Context, out chan<- export.Chunk[streamPos]) error {
		return f.read(ctx, store, streams, start, exported, out)
	}
	err = export.Pipe(ctx, e, b, f.s.LoadRows, &cur, read, func(p streamPos) { cur.Streams[p.stream] = p.after })
	return e.Result(), err
}

// streamPos is a reader's position: the last event read of a stream.
type streamPos struct {
	stream string
	after  platform.Cursor
}

// chunkRows is the number of rows per record batch handed to staging.
const chunkRows = 16 * 1024

// chunkBytes bounds the JSON of a chunk: large events make short chunks
// rather than large ones (two chunks are in flight at a time).
const chunkBytes = 16 << 20

// read reads the streams after the cursor a block at a time and sends
// chunks in order; exported is the number of events the job exported
// before.
func (f *Flow) read(ctx context.Context, store platform.Store, streams []string, cur Cursor, exported int64, out chan<- export.Chunk[streamPos]) error {
	capped := func() bool { return f.s.MaxEvents > 0 && exported >= f.s.MaxEvents }
	dataBytes := chunkRows * 128 // JSON per block: then as much as the last block held
	for _, st := range streams {
		after, ok := cur.Streams[st]
		if !ok && cur.Since != nil {
			after = platform.Cursor{Time: *cur.Since}
		}
		for !capped() {
			// a new block each time: the chunk's arrays share its memory
			blk := &platform.EventBlock{MaxData: chunkBytes}
			blk.Grow(chunkRows, min(dataBytes+dataBytes/8, chunkBytes))
			n, err := store.ReadStreamBlock(ctx, st, after, chunkRows, blk)
			if err != nil {
				return fmt.Errorf("read stream %s: %w", st, err)
			}
			if n == 0 {
				break
			}
			dataBytes = max(len(blk.Data), chunkRows*16)
			kept, read, err := f.keep(blk, st, f.s.MaxEvents-exported)
			if err != nil {
				return err
			}
			after = blk.Cursor(read - 1)
			exported += int64(kept.Len())
			c := export.Chunk[streamPos]{Table: f.TableOf(st), After: streamPos{st, after}}
			if kept.Len() > 0 {
				c.Rec = blockRecord(kept, st)
			}
			if err := export.Send(ctx, out, c); err != nil {
				return err
			}
			if n < chunkRows && !blk.Full() {
				break // the stream's end
			}
		}
	}
	return nil
}

// keep applies the date range, the kept fields and the event cap (room
// events left when positive) to a block read from stream: it returns the
// events to export (blk itself when all of them are, unchanged) and how
// many of blk's events were consumed (all unless the cap was reached).
func (f *Flow) keep(blk *platform.EventBlock, stream string, room int64) (*platform.EventBlock, int, error) {
	capped := f.s.MaxEvents > 0
	if f.start == nil && f.end == nil && f.fields == nil && (!capped || room >= int64(blk.Len())) {
		return blk, blk.Len(), nil
	}
	var start, end int64
	if f.start != nil {
		start = f.start.UnixMicro()
	}
	if f.end != nil {
		end = f.end.UnixMicro()
	}
	kept := &platform.EventBlock{}
	for i := range blk.Len() {
		if capped && int64(kept.Len()) >= room {
			return kept, i, nil
		}
		ts := blk.EventTS[i]
		if f.start != nil && ts < start || f.end != nil && ts >= end {
			continue
		}
		data := blk.EventData(i)
		if f.fields != nil {
			var err error
			if data, err = f.keepFields(data); err != nil {
				return nil, 0, fmt.Errorf("event %d of stream %s: %w", blk.ID[i], stream, err)
			}
		}
		kept.AppendRaw(blk.ID[i], ts, blk.ReceiveTS[i], data)
	}
	return kept, blk.Len(), nil
}

// keepFields drops the fields not chosen from an event's JSON object.
func (f *Flow) keepFields(data []byte) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("data is not a JSON object: %w", err)
	}
	for k := range m {
		if !f.fields[k] {
			delete(m, k)
		}
	}
	return json.Marshal(m)
}

// blockRecord is a record batch of Schema over the block's memory (no
// copy): the block must not change while the record is in use.
func blockRecord(blk *platform.EventBlock, stream string) arrow.RecordBatch {
	n := blk.Len()
	fixed := func(dt arrow.DataType, vals []int64) arrow.Array {
		return array.MakeFromData(array.NewData(dt, n, []*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(vals))}, nil, 0, 0))
	}
	text := func(offsets []int32, data []byte) arrow.Array {
		return array.MakeFromData(array.NewData(arrow.BinaryTypes.String, n,
			[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offsets)), memory.NewBufferBytes(data)}, nil, 0, 0))
	}
	streamOffsets := make([]int32, n+1)
	for i := range streamOffsets {
		streamOffsets[i] = int32(i * len(stream))
	}
	cols := []arrow.Array{
		fixed(Schema.Field(0).Type, blk.ID),
		fixed(Schema.Field(1).Type, blk.EventTS),
		fixed(Schema.Field(2).Type, blk.ReceiveTS),
		text(streamOffsets, bytes.Repeat([]byte(stream), n)),
		text(blk.DataOffsets, blk.Data),
	}
	rec := array.NewRecordBatch(Schema, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return rec
}
