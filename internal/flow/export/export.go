package export

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakeport/lakeport/internal/delta"
	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/lakehouse/staging"
)

// Hook, when set (by crash tests), is called at every point where a crash
// matters: after each staged file, after the pending load is recorded,
// after each table's load, after the ledger moves, after each deletion.
var Hook func(point string)

func hook(point string) {
	if Hook != nil {
		Hook(point)
	}
}

// File size limits: a staged file is closed and the next one begun once it
// holds this many rows or bytes (system events: 100,000 events or 1 GB).
const (
	DefaultFileRows  = 1_000_000
	DefaultFileBytes = 1 << 30
)

// Target is where an export's rows go and how they are staged.
type Target struct {
	Lakehouse lakehouse.Lakehouse
	Staging   staging.Area
	Format    string             // lakehouse.FormatParquet, FormatCSV or FormatCSVGzip
	Mode      lakehouse.LoadMode // append (default) or replace
	// Schema is the tables' columns; nil for a replace whose columns are
	// inferred from the staged data.
	Schema    *arrow.Schema
	FileRows  int64 // 0: DefaultFileRows
	FileBytes int64 // 0: DefaultFileBytes
}

// Exporter runs one export run against its ledger.
type Exporter struct {
	t      Target
	run    *job.Run
	kind   string
	app    string // load key App
	prefix string // staging names of this job
	store  ledgerStore
	ledger Ledger
	log    *slog.Logger

	rows, bytes int64 // loaded by this run
	loads       int
}

// Start opens the ledger of r's job, finishes a pending load left by an
// earlier run, and removes staged files no load references.
func Start(ctx context.Context, r *job.Run, kind string, t Target) (*Exporter, error) {
	if r.Checkpoints == nil {
		return nil, errs.Invalidf("%s: the export needs the job state store for its ledger", r.Job.Path())
	}
	if t.FileRows <= 0 {
		t.FileRows = DefaultFileRows
	}
	if t.FileBytes <= 0 {
		t.FileBytes = DefaultFileBytes
	}
	if t.Mode == "" {
		t.Mode = lakehouse.LoadAppend
	}
	e := &Exporter{t: t, run: r, kind: kind, prefix: r.Job.Name + "/",
		store: ledgerStore{cp: r.Checkpoints, path: r.Job.Path()}, log: r.Log}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if e.ledger, err = e.store.load(ctx); err != nil {
		return nil, err
	}
	if e.ledger.Epoch == "" {
		var b [6]byte
		rand.Read(b[:])
		e.ledger.Epoch = hex.EncodeToString(b[:])
		if err := e.store.save(ctx, e.ledger); err != nil {
			return nil, err
		}
	}
	e.app = "lakeport:" + kind + ":" + r.Job.Name + ":" + e.ledger.Epoch
	if p := e.ledger.Pending; p != nil {
		e.log.Info("finishing a load an earlier run staged", "load", p.Load, "run", p.Run, "rows", p.Rows)
		if err := e.finish(ctx, p); err != nil {
			return nil, err
		}
	}
	if err := e.removeUnreferenced(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// Ledger returns the ledger as it stands.
func (e *Exporter) Ledger() Ledger { return e.ledger }

// Cursor decodes the ledger's cursor into v; first is true when there is
// none yet (the job's first run: v is left as it was).
func (e *Exporter) Cursor(v any) (first bool, err error) {
	if len(e.ledger.Cursor) == 0 {
		return true, nil
	}
	if err := json.Unmarshal(e.ledger.Cursor, v); err != nil {
		return false, errs.Invalidf("%s: the export ledger's cursor is unreadable: %v", e.run.Job.Path(), err)
	}
	return false, nil
}

// Result is what the run loaded, for the run history.
func (e *Exporter) Result() job.Result {
	return job.Result{Rows: e.rows, Bytes: e.bytes, Notes: map[string]any{"loads": e.loads, "loads_total": e.ledger.Loads, "rows_total": e.ledger.Rows}}
}

// NewBatch begins the next load.
func (e *Exporter) NewBatch() *Batch {
	return &Batch{e: e, load: e.ledger.Loads + 1, tables: map[lakehouse.TableName]*tableWriter{}}
}

// Commit loads the batch's files and moves the cursor to cursor (any
// JSON-able value) exactly once. A batch without tables only moves the
// cursor.
func (e *Exporter) Commit(ctx context.Context, b *Batch, cursor any) error {
	cur, err := json.Marshal(cursor)
	if err != nil {
		return err
	}
	tables, err := b.close(ctx)
	if err != nil {
		b.Abort(ctx)
		return err
	}
	if len(tables) == 0 {
		l := e.ledger
		l.Cursor = cur
		if err := e.store.save(ctx, l); err != nil {
			return err
		}
		e.ledger = l
		return nil
	}
	p := &Pending{Load: b.load, Run: e.run.Seq, Tables: tables, Cursor: cur, Format: e.t.Format}
	if e.t.Schema != nil {
		st, err := delta.FromArrow(e.t.Schema)
		if err != nil {
			b.Abort(ctx)
			return fmt.Errorf("%s: %w", e.run.Job.Path(), err)
		}
		p.Schema = st.SchemaString()
	}
	for _, t := range tables {
		p.Rows += t.Rows
	}
	l := e.ledger
	l.Pending = p
	if err := e.store.save(ctx, l); err != nil {
		b.Abort(ctx)
		return err
	}
	e.ledger = l
	hook("pending-recorded")
	e.bytes += b.bytes
	return e.finish(ctx, p)
}

// finish loads a pending load's tables (each a no-op if the table already
// holds the key), moves the ledger past it, and deletes its files.
func (e *Exporter) finish(ctx context.Context, p *Pending) error {
	var schema *arrow.Schema
	if p.Schema != "" {
		st, err := delta.ParseSchema(p.Schema)
		if err != nil {
			return errs.Invalidf("%s: the export ledger's pending load has an unreadable schema: %v", e.run.Job.Path(), err)
		}
		schema = delta.ArrowSchema(st)
	}
	for _, tf := range p.Tables {
		res, err := e.t.Lakehouse.Load(ctx, tf.Table, lakehouse.LoadRequest{
			Staging: e.t.Staging, Files: tf.Files, Format: p.Format, Mode: e.t.Mode,
			Key: lakehouse.LoadKey{App: e.app, Version: p.Load}, Create: true, Schema: schema})
		if err != nil {
			return fmt.Errorf("load %d into %s: %w", p.Load, tf.Table.Plain(), err)
		}
		e.log.Info("loaded", "table", tf.Table.Plain(), "load", p.Load, "rows", tf.Rows, "skipped", res.Skipped, "version", res.Version)
		hook("loaded")
	}
	l := e.ledger
	l.Cursor, l.Loads, l.Rows, l.Pending = p.Cursor, p.Load, l.Rows+p.Rows, nil
	if err := e.store.save(ctx, l); err != nil {
		return err
	}
	e.ledger = l
	e.rows += p.Rows
	e.loads++
	hook("ledger-moved")
	for _, tf := range p.Tables {
		for _, f := range tf.Files {
			if err := e.t.Staging.Delete(ctx, f); err != nil {
				// the load committed; a file left behind is removed next run
				e.log.Warn("could not delete a staged file", "file", f, "err", err)
				continue
			}
			hook("deleted")
		}
	}
	return nil
}

// removeUnreferenced deletes this job's staged files, partial ones
// included; called when no load is pending, so none is referenced.
func (e *Exporter) removeUnreferenced(ctx context.Context) error {
	if err := e.t.Staging.DeletePrefix(ctx, e.prefix); err != nil {
		return fmt.Errorf("staging %s: removing unreferenced files: %w", e.t.Staging, err)
	}
	hook("deleted")
	return nil
}
