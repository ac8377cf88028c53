package importtable

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/platform"
)

// Flow is one import.table job.
type Flow struct {
	cfg *config
}

// New is the job.Factory of import.table: it validates the settings, and
// the table when the connection can be reached.
func New(spec *job.Spec, env *job.Env) (job.Flow, error) {
	cfg, err := parseSettings(spec)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.queryTimeout)
	defer cancel()
	lh, err := job.ConnectionAs[lakehouse.Lakehouse](ctx, spec, env, "a lakehouse")
	if err != nil {
		return nil, err
	}
	d, err := lh.Describe(ctx, cfg.table)
	if err != nil {
		return nil, describeError(spec, cfg.table, err)
	}
	if _, err := cfg.check(d); err != nil {
		return nil, err
	}
	return &Flow{cfg: cfg}, nil
}

func describeError(spec *job.Spec, t lakehouse.TableName, err error) error {
	if errors.Is(err, lakehouse.ErrNotFound) || errors.Is(err, lakehouse.ErrInvalid) {
		return spec.Errorf("settings.table", "%v", err)
	}
	return fmt.Errorf("describe %s: %w", t.Plain(), err)
}

// Checkpoint is the job's position, stored in the platform under
// "import.table:JOB" in the same transaction as the events it covers.
type Checkpoint struct {
	Table lakehouse.TableName `json:"table"`
	Order []string            `json:"order"` // timestamp column, tie-breaker column (if any)
	// After is the (timestamp, tie-breaker) of the last row written; every
	// row at or before it has been written, none after it.
	After lakehouse.Position `json:"after"`
	// Version is the table version the run that wrote it read.
	Version int64 `json:"version"`
}

func (c *Checkpoint) encode() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// Run imports the rows after the checkpoint at the table's current version.
func (f *Flow) Run(ctx context.Context, r *job.Run) (job.Result, error) {
	if r.Env == nil || r.Env.Platform == nil {
		return job.Result{}, errs.Invalidf("%s: no platform store", f.cfg.spec.Path())
	}
	lh, err := job.ConnectionAs[lakehouse.Lakehouse](ctx, f.cfg.spec, r.Env, "a lakehouse")
	if err != nil {
		return job.Result{}, err
	}
	return f.RunWith(ctx, lh, r.Env.Platform, r.Progress, r.Log)
}

// RunWith is Run with its services given directly.
func (f *Flow) RunWith(ctx context.Context, lh lakehouse.Lakehouse, store platform.Store, progress func(job.Progress), log *slog.Logger) (job.Result, error) {
	c := f.cfg
	if progress == nil {
		progress = func(job.Progress) {}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	res := job.Result{Notes: map[string]any{"stream": c.stream}}
	wd := lakehouse.NewWatchdog(ctx, c.queryTimeout)
	defer wd.Stop()

	var d *lakehouse.Description
	err := wd.Call(func(ctx context.Context) (err error) { d, err = lh.Describe(ctx, c.table); return })
	if err != nil {
		return res, describeError(c.spec, c.table, err)
	}
	cols, err := c.check(d)
	if err != nil {
		return res, err
	}
	order := []string{cols.ts}
	if cols.tie != "" {
		order = append(order, cols.tie)
	}
	prev, err := store.Checkpoint(ctx, c.key)
	if err != nil {
		return res, err
	}
	var after *lakehouse.Position
	if prev != "" {
		var cp Checkpoint
		if err := json.Unmarshal([]byte(prev), &cp); err != nil {
			return res, fmt.Errorf("%s: checkpoint %q is unreadable: %w", c.spec.Path(), c.key, err)
		}
		if cp.Table != c.table || fmt.Sprint(cp.Order) != fmt.Sprint(order) {
			return res, errs.Invalidf("%s: this job's checkpoint was made reading %s ordered by %v, but the settings now say %s ordered by %v; "+
				"give the job a new name to import from the start", c.spec.Path(), cp.Table.Plain(), cp.Order, c.table.Plain(), order)
		}
		after = &cp.After
		res.Notes["resumed_after"] = positionString(cp.After)
	}
	o := &lakehouse.Order{Column: cols.ts, TieBreaker: cols.tie, After: after}
	if c.since != nil {
		v := lakehouse.Timestamp(*c.since)
		if cols.tsKind == lakehouse.KindDate {
			v = lakehouse.Date(*c.since)
		}
		o.From = &v
	}
	res.Notes["table_version"] = d.Version
	var rows lakehouse.Rows
	err = wd.Call(func(ctx context.Context) (err error) {
		rows, err = lh.Scan(wd.Context(), c.table, lakehouse.ScanRequest{Version: d.Version, Order: o, BatchSize: min(c.batchSize, 65536)})
		return
	})
	if err != nil {
		return res, fmt.Errorf("scan %s: %w", c.table.Plain(), err)
	}
	defer rows.Close()
	w := &writer{store: store, cfg: c, prev: prev, version: d.Version, order: order, progress: progress, res: &res}
	w.enc = lakehouse.NewRowEncoder(rows.Schema())
	sch := rows.Schema()
	ki, ri := sch.FieldIndices(cols.ts)[0], sch.FieldIndices(cols.record)[0]
	ti := -1
	if cols.tie != "" {
		ti = sch.FieldIndices(cols.tie)[0]
	}
	w.start(ctx)
	err = func() error {
		for {
			var rec arrow.RecordBatch
			err := wd.Call(func(ctx context.Context) (err error) { rec, err = rows.Next(wd.Context()); return })
			if errors.Is(err, io.EOF) {
				return w.flush(ctx)
			}
			if err != nil {
				return fmt.Errorf("scan %s: %w", c.table.Plain(), err)
			}
			err = w.add(ctx, rec, ki, ti, ri)
			rec.Release()
			if err != nil {
				return err
			}
		}
	}()
	if werr := w.finish(); err == nil {
		err = werr
	}
	res.Notes["batches"] = w.batches
	if w.written != nil {
		res.Notes["watermark"] = positionString(*w.written)
	}
	if err != nil {
		return res, err
	}
	var nulls int64
	err = wd.Call(func(ctx context.Context) (err error) {
		nulls, err = lh.CountNulls(ctx, c.table, d.Version, cols.ts)
		return
	})
	if err != nil {
		return res, fmt.Errorf("count rows with a null %s in %s: %w", cols.ts, c.table.Plain(), err)
	}
	res.Notes["null_timestamp_rows"] = nulls
	if nulls > 0 {
		log.Warn("rows with a null timestamp are not imported", "table", c.table.Plain(), "column", cols.ts, "rows", nulls)
	}
	return res, nil
}

func positionString(p lakehouse.Position) string {
	if p.Tie.IsNull() {
		return p.Key.String()
	}
	return p.Key.String() + " / " + p.Tie.String()
}

// writer groups rows into platform writes. A write is cut only between two
// rows with different positions, so the checkpoint (the last row's
// position) always means "everything up to here, nothing after". Writes go
// through one goroutine, in order, while the next batch is being prepared;
// after a failed write no later one is attempted.
type writer struct {
	store    platform.Store
	cfg      *config
	enc      *lakehouse.RowEncoder
	prev     string // the checkpoint the next write expects to replace
	version  int64
	order    []string
	progress func(job.Progress)
	res      *job.Result

	pending []platform.EventInput
	bytes   int64
	last    *lakehouse.Position // position of the last pending row
	buf     []byte

	q       chan queuedWrite
	done    chan struct{}
	mu      sync.Mutex
	err     error               // the first failed write
	written *lakehouse.Position // position of the last durable write
	batches int
}

type queuedWrite struct {
	batch platform.Batch
	pos   lakehouse.Position
	bytes int64
}

func (w *writer) start(ctx context.Context) {
	w.q, w.done = make(chan queuedWrite, 1), make(chan struct{})
	go func() {
		defer close(w.done)
		for qw := range w.q {
			if w.failed() != nil {
				continue
			}
			n := len(qw.batch.Appends[0].Events)
			if _, err := w.store.Write(ctx, qw.batch); err != nil {
				w.mu.Lock()
				w.err = fmt.Errorf("write %d events to stream %s: %w", n, w.cfg.stream, err)
				w.mu.Unlock()
				continue
			}
			w.mu.Lock()
			w.res.Rows += int64(n)
			w.res.Bytes += qw.bytes
			w.batches++
			pos := qw.pos
			w.written = &pos
			p := job.Progress{Rows: w.res.Rows, Bytes: w.res.Bytes}
			w.mu.Unlock()
			w.progress(p)
		}
	}()
}

func (w *writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// finish waits for the queued writes and returns the first failure.
func (w *writer) finish() error {
	close(w.q)
	<-w.done
	return w.failed()
}

func (w *writer) add(ctx context.Context, rec arrow.RecordBatch, ki, ti, ri int) error {
	keyCol, recCol := rec.Column(ki), rec.Column(ri)
	var tieCol arrow.Array
	if ti >= 0 {
		tieCol = rec.Column(ti)
	}
	for i := 0; i < int(rec.NumRows()); i++ {
		key, err := lakehouse.ValueAt(keyCol, i)
		if err != nil {
			return err
		}
		pos := lakehouse.Position{Key: key}
		if tieCol != nil {
			if pos.Tie, err = lakehouse.ValueAt(tieCol, i); err != nil {
				return err
			}
		}
		if w.last != nil {
			switch c := pos.Compare(*w.last); {
			case c < 0:
				return fmt.Errorf("%s: the lakehouse returned rows out of order (%s after %s)", w.cfg.table.Plain(), positionString(pos), positionString(*w.last))
			case c > 0 && len(w.pending) >= w.cfg.batchSize:
				if err := w.flush(ctx); err != nil {
					return err
				}
			}
		}
		w.buf = w.enc.Append(w.buf[:0], rec, i)
		ev, err := platform.DecodeObject(append([]byte(nil), w.buf...))
		if err != nil {
			return fmt.Errorf("%s: row at %s: %w", w.cfg.table.Plain(), positionString(pos), err)
		}
		if rv, _ := lakehouse.ValueAt(recCol, i); !rv.IsNull() {
			ev.EventTS = rv.Time()
		} else {
			ev.EventTS = key.Time()
		}
		w.pending = append(w.pending, ev)
		w.bytes += int64(len(ev.Data))
		w.last = &pos
	}
	return nil
}

// flush queues the pending events and their checkpoint as one write (one
// transaction).
func (w *writer) flush(ctx context.Context) error {
	if err := w.failed(); err != nil {
		return err
	}
	if len(w.pending) == 0 {
		return nil
	}
	cp := Checkpoint{Table: w.cfg.table, Order: w.order, After: *w.last, Version: w.version}
	next := cp.encode()
	qw := queuedWrite{pos: *w.last, bytes: w.bytes, batch: platform.Batch{
		Appends:    []platform.Append{{Stream: w.cfg.stream, Events: w.pending}},
		Checkpoint: &platform.Checkpoint{Key: w.cfg.key, Prev: w.prev, Next: next},
	}}
	select {
	case w.q <- qw:
	case <-ctx.Done():
		return ctx.Err()
	}
	w.prev = next
	w.pending, w.bytes = make([]platform.EventInput, 0, w.cfg.batchSize), 0
	return nil
}
