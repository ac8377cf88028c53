package delta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeport/lakeport/internal/delta/datafile"
	"github.com/lakeport/lakeport/internal/delta/predicate"
)

// WriteOptions apply to every write operation.
type WriteOptions struct {
	// AppID and AppVersion make a write idempotent: the commit carries a txn
	// action, and a write whose (AppID, AppVersion) the table already holds
	// (or a higher version) is a no-op.
	AppID      string
	AppVersion int64
	// MergeSchema adds columns the data has and the table lacks (as nullable columns).
	MergeSchema bool
	// Compression of data files: snappy (default), zstd, gzip, uncompressed.
	Compression string
	// TargetFileSize rolls data files past this many bytes (default 128 MiB).
	TargetFileSize int64
	// MaxAttempts bounds retries after conflicting concurrent commits (default 10).
	MaxAttempts int
}

// CommitResult describes a committed write.
type CommitResult struct {
	Version      int64 // the version committed (or, when Skipped, the version read)
	Skipped      bool  // the (AppID, AppVersion) was already committed: nothing was written
	Attempts     int
	FilesAdded   int
	FilesRemoved int
	RowsInserted int64
	RowsUpdated  int64
	RowsDeleted  int64
}

func (o WriteOptions) attempts() int {
	if o.MaxAttempts > 0 {
		return o.MaxAttempts
	}
	return 10
}

// skipped reports whether the snapshot already holds this idempotent write.
func (o WriteOptions) skipped(s *Snapshot) bool {
	if o.AppID == "" {
		return false
	}
	v, ok := s.AppTransactionVersion(o.AppID)
	return ok && v >= o.AppVersion
}

func (o WriteOptions) txn() *Txn {
	if o.AppID == "" {
		return nil
	}
	return &Txn{AppID: o.AppID, Version: o.AppVersion}
}

// dataWriter writes logical batches of one schema as data (or change data) files.
type dataWriter struct {
	t    *Table
	w    *datafile.Writer
	phys *arrow.Schema
	cdc  bool
	rows int64
}

func (t *Table) newDataWriter(snap *Snapshot, schema *StructType, cdc bool, o WriteOptions) (*dataWriter, error) {
	fields := physicalFields(schema, snap.mapping)
	if cdc {
		fields = append(fields, arrow.Field{Name: ChangeTypeColumn, Type: arrow.BinaryTypes.String, Nullable: true})
	}
	phys := arrow.NewSchema(fields, nil)
	var parts []string
	for _, p := range snap.metadata.PartitionColumns {
		parts = append(parts, schema.Field(p).PhysicalName(snap.mapping))
	}
	statsCols := 0
	if v, ok := snap.Property("delta.dataSkippingNumIndexedCols"); ok {
		statsCols, _ = strconv.Atoi(v)
	}
	opts := datafile.Options{PartitionColumns: parts, Compression: o.Compression, TargetFileSize: o.TargetFileSize, StatsColumns: statsCols}
	if cdc {
		opts.Dir, opts.NoStats = "_change_data", true
	}
	w, err := datafile.NewWriter(t.bucket, phys, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.location, err)
	}
	return &dataWriter{t: t, w: w, phys: phys, cdc: cdc}, nil
}

// write writes a logical batch (plus a _change_type column for change data).
func (d *dataWriter) write(ctx context.Context, rec arrow.RecordBatch) error {
	if rec.NumRows() == 0 {
		return nil
	}
	p := toPhysical(rec, d.phys)
	defer p.Release()
	d.rows += rec.NumRows()
	return d.w.Write(ctx, p)
}

// writeChange writes rows of a logical batch as change data of one kind.
func (d *dataWriter) writeChange(ctx context.Context, rec arrow.RecordBatch, kind string) error {
	if rec == nil || rec.NumRows() == 0 {
		return nil
	}
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	for i := 0; i < int(rec.NumRows()); i++ {
		b.Append(kind)
	}
	ct := b.NewArray()
	defer ct.Release()
	cols := append(append([]arrow.Array(nil), rec.Columns()...), ct)
	fields := append(append([]arrow.Field(nil), rec.Schema().Fields()...), arrow.Field{Name: ChangeTypeColumn, Type: arrow.BinaryTypes.String, Nullable: true})
	withType := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows())
	defer withType.Release()
	return d.write(ctx, withType)
}

// finish closes the writer and returns the actions for its files.
func (d *dataWriter) finish(ctx context.Context) ([]*Add, []*CDC, error) {
	files, err := d.w.Close(ctx)
	if err != nil {
		d.w.Abort(ctx)
		return nil, nil, fmt.Errorf("%s: %w", d.t.location, err)
	}
	var adds []*Add
	var cdcs []*CDC
	for _, f := range files {
		if d.cdc {
			cdcs = append(cdcs, &CDC{Path: f.Path, PartitionValues: f.PartitionValues, Size: f.Size})
		} else {
			adds = append(adds, &Add{Path: f.Path, PartitionValues: f.PartitionValues, Size: f.Size, ModificationTime: f.ModificationTime, DataChange: true, Stats: f.Stats})
		}
	}
	return adds, cdcs, nil
}

// discard removes files written for an attempt that will not commit.
func (t *Table) discard(ctx context.Context, adds []*Add, cdcs []*CDC) {
	for _, a := range adds {
		if k, ok := t.relativeKey(a.Path); ok {
			t.bucket.Delete(ctx, k)
		}
	}
	for _, c := range cdcs {
		if k, ok := t.relativeKey(c.Path); ok {
			t.bucket.Delete(ctx, k)
		}
	}
}

// writeSource conforms and writes a whole source as new data files.
func (t *Table) writeSource(ctx context.Context, snap *Snapshot, src RecordSource, o WriteOptions, check func(arrow.RecordBatch) error) (*conformer, []*Add, int64, error) {
	conf, err := newConformer(snap, src.Schema(), o.MergeSchema, nil)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%s: %w", t.location, err)
	}
	if conf.evolved && snap.mapping != MappingNone {
		max, _ := strconv.Atoi(snap.metadata.Configuration["delta.columnMapping.maxColumnId"])
		assignPhysicalNames(conf.table, max)
	}
	dw, err := t.newDataWriter(snap, conf.table, false, o)
	if err != nil {
		return nil, nil, 0, err
	}
	fail := func(err error) (*conformer, []*Add, int64, error) {
		dw.w.Abort(ctx)
		return nil, nil, 0, err
	}
	for {
		rec, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(err)
		}
		c, err := conf.apply(ctx, rec)
		rec.Release()
		if err != nil {
			return fail(fmt.Errorf("%s: %w", t.location, err))
		}
		if check != nil {
			if err := check(c); err != nil {
				c.Release()
				return fail(err)
			}
		}
		err = dw.write(ctx, c)
		c.Release()
		if err != nil {
			return fail(fmt.Errorf("%s: %w", t.location, err))
		}
	}
	adds, _, err := dw.finish(ctx)
	if err != nil {
		return nil, nil, 0, err
	}
	return conf, adds, dw.rows, nil
}

// evolvedMetadata returns the metaData action for a schema that gained columns.
func evolvedMetadata(snap *Snapshot, conf *conformer) *Metadata {
	if !conf.evolved {
		return nil
	}
	md := *snap.metadata
	md.Configuration = map[string]string{}
	for k, v := range snap.metadata.Configuration {
		md.Configuration[k] = v
	}
	if snap.mapping != MappingNone {
		max := 0
		var walk func(s *StructType)
		walk = func(s *StructType) {
			for _, f := range s.Fields {
				if id := int(f.FieldID()); id > max {
					max = id
				}
				if st, ok := f.Type.(*StructType); ok {
					walk(st)
				}
			}
		}
		walk(conf.table)
		md.Configuration["delta.columnMapping.maxColumnId"] = strconv.Itoa(max)
	}
	md.SchemaString = conf.table.SchemaString()
	return &md
}

func sameSchema(a, b *Snapshot) bool {
	return a.metadata.SchemaString == b.metadata.SchemaString && fmt.Sprint(a.metadata.PartitionColumns) == fmt.Sprint(b.metadata.PartitionColumns)
}

func (s *Snapshot) appendOnly() bool { v, _ := s.Property("delta.appendOnly"); return v == "true" }

// Append adds the source's rows to the table (a blind append: it never
// conflicts with concurrent data changes).
func (t *Table) Append(ctx context.Context, src RecordSource, o WriteOptions) (*CommitResult, error) {
	return t.writeNew(ctx, "WRITE", map[string]any{"mode": "Append"}, src, o, nil)
}

// Overwrite replaces the table's rows with the source's rows.
func (t *Table) Overwrite(ctx context.Context, src RecordSource, o WriteOptions) (*CommitResult, error) {
	return t.writeNew(ctx, "WRITE", map[string]any{"mode": "Overwrite"}, src, o, &replaceSpec{all: true})
}

// ReplaceWhere replaces the rows matching where (typically whole partitions,
// as a backfill does) with the source's rows, all of which must match where.
func (t *Table) ReplaceWhere(ctx context.Context, where string, src RecordSource, o WriteOptions) (*CommitResult, error) {
	return t.writeNew(ctx, "WRITE", map[string]any{"mode": "Overwrite", "predicate": jsonString([]string{where})}, src, o, &replaceSpec{where: where})
}

type replaceSpec struct {
	all   bool
	where string
}

// writeNew writes the source once, then commits it with whatever the
// operation removes from the snapshot current at each attempt.
func (t *Table) writeNew(ctx context.Context, op string, params map[string]any, src RecordSource, o WriteOptions, rep *replaceSpec) (*CommitResult, error) {
	var written *Snapshot
	var conf *conformer
	var adds []*Add
	var rows int64
	committed := false
	defer func() {
		if !committed && adds != nil {
			t.discard(context.WithoutCancel(ctx), adds, nil)
		}
	}()
	return t.retry(ctx, o.attempts(), func(snap *Snapshot) (*CommitResult, error) {
		if o.skipped(snap) {
			return &CommitResult{Version: snap.version, Skipped: true}, nil
		}
		if rep != nil && snap.appendOnly() {
			return nil, fmt.Errorf("%s: the table is append-only (delta.appendOnly = true)", t.location)
		}
		if written == nil {
			var check func(arrow.RecordBatch) error
			if rep != nil && rep.where != "" {
				pred, err := bindWhere(snap, rep.where)
				if err != nil {
					return nil, err
				}
				check = func(rec arrow.RecordBatch) error {
					mask, err := matchMask(pred, rec)
					if err != nil {
						return err
					}
					for i, m := range mask {
						if !m {
							return &InvalidDataError{Column: "(row)", Reason: fmt.Sprintf("row %d does not match the replace condition %q", i, rep.where)}
						}
					}
					return nil
				}
			}
			var err error
			conf, adds, rows, err = t.writeSource(ctx, snap, src, o, check)
			if err != nil {
				return nil, err
			}
			written = snap
		} else if !sameSchema(written, snap) {
			return nil, &ConflictError{Table: t.location, Version: snap.version, Reason: "the schema changed while the data was being written"}
		}
		tx := &transaction{t: t, read: snap, op: op, params: params, adds: adds, appTxn: o.txn(), blind: rep == nil}
		tx.metadata = evolvedMetadata(snap, conf)
		res := &CommitResult{FilesAdded: len(adds), RowsInserted: rows}
		var extraAdds []*Add
		var cdcs []*CDC
		if rep != nil {
			plan, err := t.planDelete(ctx, snap, rep.where, o)
			if err != nil {
				return nil, err
			}
			tx.removes, extraAdds, cdcs = plan.removes, plan.adds, plan.cdcs
			tx.readAll, tx.readPred, tx.readKeys = rep.all || plan.pred == nil, plan.pred, plan.read
			tx.adds = append(append([]*Add(nil), adds...), extraAdds...)
			res.FilesRemoved, res.RowsDeleted = len(plan.removes), plan.rows
			if len(cdcs) > 0 {
				// a commit with change data files must describe all its changes in them
				extra, err := t.insertChanges(ctx, snap, conf.table, adds, o)
				if err != nil {
					t.discard(ctx, extraAdds, cdcs)
					return nil, err
				}
				cdcs = append(cdcs, extra...)
			}
			tx.cdcs = cdcs
		}
		tx.metrics = map[string]any{"numFiles": strconv.Itoa(len(tx.adds)), "numOutputRows": strconv.FormatInt(rows, 10), "numRemovedFiles": strconv.Itoa(len(tx.removes))}
		v, err := tx.commit(ctx)
		if err != nil {
			t.discard(ctx, extraAdds, cdcs)
			return nil, err
		}
		committed = true
		res.Version = v
		res.FilesAdded = len(tx.adds)
		return res, nil
	})
}

// insertChanges re-reads newly written files as insert change data.
func (t *Table) insertChanges(ctx context.Context, snap *Snapshot, schema *StructType, adds []*Add, o WriteOptions) ([]*CDC, error) {
	cw, err := t.newDataWriter(snap, schema, true, o)
	if err != nil {
		return nil, err
	}
	plan, err := snapWithSchema(snap, schema).newPlan(nil, "", 0, nil)
	if err != nil {
		return nil, err
	}
	for _, a := range adds {
		if err := plan.readFile(ctx, fileTask{path: a.Path, partitionValues: a.PartitionValues}, func(rec arrow.RecordBatch) error {
			defer rec.Release()
			return cw.writeChange(ctx, rec, ChangeInsert)
		}); err != nil {
			cw.w.Abort(ctx)
			return nil, err
		}
	}
	_, cdcs, err := cw.finish(ctx)
	return cdcs, err
}

// snapWithSchema is the snapshot as if its schema were s (after evolution).
func snapWithSchema(snap *Snapshot, s *StructType) *Snapshot {
	c := *snap
	c.schema = s
	return &c
}

func bindWhere(snap *Snapshot, where string) (*predicate.Bound, error) {
	e, err := predicate.Parse(where)
	if err != nil {
		return nil, fmt.Errorf("where: %w", err)
	}
	b, err := predicate.Bind(e, snap.ArrowSchema())
	if err != nil {
		return nil, fmt.Errorf("where: %w", err)
	}
	return b, nil
}

const rowIndexColumn = "__lakeport_row_index"

// matchMask evaluates a predicate on every row: true where it holds.
func matchMask(pred *predicate.Bound, rec arrow.RecordBatch) ([]bool, error) {
	n := int(rec.NumRows())
	ib := array.NewInt64Builder(memory.DefaultAllocator)
	for i := 0; i < n; i++ {
		ib.Append(int64(i))
	}
	idx := ib.NewArray()
	ib.Release()
	cols := append(append([]arrow.Array(nil), rec.Columns()...), idx)
	fields := append(append([]arrow.Field(nil), rec.Schema().Fields()...), arrow.Field{Name: rowIndexColumn, Type: arrow.PrimitiveTypes.Int64})
	withIdx := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(n))
	idx.Release()
	defer withIdx.Release()
	out, err := pred.Filter(withIdx, memory.DefaultAllocator)
	if err != nil {
		return nil, err
	}
	defer out.Release()
	mask := make([]bool, n)
	matched := out.Column(int(out.NumCols()) - 1).(*array.Int64)
	for i := 0; i < matched.Len(); i++ {
		mask[matched.Value(i)] = true
	}
	return mask, nil
}

// take returns the rows of rec at the given indices.
func take(ctx context.Context, rec arrow.RecordBatch, rows []int64) (arrow.RecordBatch, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	b := array.NewInt64Builder(memory.DefaultAllocator)
	b.AppendValues(rows, nil)
	idx := b.NewArray()
	b.Release()
	defer idx.Release()
	cols := make([]arrow.Array, rec.NumCols())
	for i := range cols {
		c, err := compute.TakeArray(ctx, rec.Column(i), idx)
		if err != nil {
			for _, p := range cols[:i] {
				p.Release()
			}
			return nil, err
		}
		cols[i] = c
	}
	out := array.NewRecordBatch(rec.Schema(), cols, int64(len(rows)))
	for _, c := range cols {
		c.Release()
	}
	return out, nil
}
