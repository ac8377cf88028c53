package delta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakeport/lakeport/internal/delta/predicate"
)

// MergeOptions describe an upsert by key columns.
type MergeOptions struct {
	// Keys are the columns that identify a row (their values must be unique in the source).
	Keys []string
	// DeleteWhen, a predicate over the source's columns, marks source rows
	// whose matching target rows are deleted instead of updated (and which
	// are not inserted when nothing matches), e.g. "op = 'delete'".
	DeleteWhen string
	// NoInsert skips source rows that match no target row.
	NoInsert bool
}

// mergeSource is the whole source, conformed to the table schema, indexed by key.
type mergeSource struct {
	recs    []arrow.RecordBatch
	byKey   map[string][2]int // key -> (batch, row)
	deletes map[[2]int]bool
	keyIdx  []int
	min     []predicate.Value
	max     []predicate.Value
	keys    []string // distinct keys rendered as literals, for a single key column
}

func (m *mergeSource) release() { releaseAll(m.recs) }

// rowKey renders the key columns of a row; ok is false when a key is null (nulls never match).
func rowKey(rec arrow.RecordBatch, keyIdx []int, row int) (string, bool) {
	var sb strings.Builder
	for i, k := range keyIdx {
		col := rec.Column(k)
		if col.IsNull(row) {
			return "", false
		}
		if i > 0 {
			sb.WriteByte(0)
		}
		sb.WriteString(predicate.ValueAt(col, row).String())
	}
	return sb.String(), true
}

func (t *Table) loadMergeSource(ctx context.Context, snap *Snapshot, conf *conformer, src RecordSource, m MergeOptions) (*mergeSource, error) {
	ms := &mergeSource{byKey: map[string][2]int{}, deletes: map[[2]int]bool{}}
	schema := ArrowSchema(conf.table)
	for _, k := range m.Keys {
		i := fieldIndexFold(schema.Fields(), k)
		if i < 0 {
			return nil, &InvalidDataError{Column: k, Reason: "merge key is not a table column"}
		}
		ms.keyIdx = append(ms.keyIdx, i)
	}
	ms.min, ms.max = make([]predicate.Value, len(ms.keyIdx)), make([]predicate.Value, len(ms.keyIdx))
	var del *predicate.Bound
	if m.DeleteWhen != "" {
		e, err := predicate.Parse(m.DeleteWhen)
		if err != nil {
			return nil, fmt.Errorf("delete condition: %w", err)
		}
		if del, err = predicate.Bind(e, src.Schema()); err != nil {
			return nil, fmt.Errorf("delete condition: %w", err)
		}
	}
	for {
		raw, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			ms.release()
			return nil, err
		}
		var mask []bool
		if del != nil {
			if mask, err = matchMask(del, raw); err != nil {
				raw.Release()
				ms.release()
				return nil, err
			}
		}
		rec, err := conf.apply(ctx, raw)
		raw.Release()
		if err != nil {
			ms.release()
			return nil, fmt.Errorf("%s: %w", t.location, err)
		}
		b := len(ms.recs)
		ms.recs = append(ms.recs, rec)
		for r := 0; r < int(rec.NumRows()); r++ {
			if mask != nil && mask[r] {
				ms.deletes[[2]int{b, r}] = true
			}
			key, ok := rowKey(rec, ms.keyIdx, r)
			if !ok {
				continue
			}
			if _, dup := ms.byKey[key]; dup {
				ms.release()
				return nil, &InvalidDataError{Column: strings.Join(m.Keys, ","), Reason: fmt.Sprintf("several source rows have the key %s; a merge needs unique keys", strings.ReplaceAll(key, "\x00", ", "))}
			}
			ms.byKey[key] = [2]int{b, r}
			for i, k := range ms.keyIdx {
				v := predicate.ValueAt(rec.Column(k), r)
				if c, ok := predicate.Compare(v, ms.min[i]); ms.min[i].Kind == predicate.KindNull || ok && c < 0 {
					ms.min[i] = v
				}
				if c, ok := predicate.Compare(v, ms.max[i]); ms.max[i].Kind == predicate.KindNull || ok && c > 0 {
					ms.max[i] = v
				}
			}
			if len(ms.keyIdx) == 1 && len(ms.keys) <= 1000 {
				ms.keys = append(ms.keys, key)
			}
		}
	}
	return ms, nil
}

// candidates is a predicate the target rows a merge may touch satisfy: the
// key values for a single key with few values, else each key's range.
func (m *mergeSource) candidates(schema *arrow.Schema) string {
	if len(m.byKey) == 0 {
		return "FALSE"
	}
	quote := func(i int) string {
		return "`" + strings.ReplaceAll(schema.Field(m.keyIdx[i]).Name, "`", "``") + "`"
	}
	if len(m.keyIdx) == 1 && len(m.byKey) <= 1000 {
		keys := append([]string(nil), m.keys...)
		sort.Strings(keys)
		return quote(0) + " IN (" + strings.Join(keys, ", ") + ")"
	}
	var parts []string
	for i := range m.keyIdx {
		parts = append(parts, fmt.Sprintf("%s >= %s AND %s <= %s", quote(i), m.min[i].String(), quote(i), m.max[i].String()))
	}
	return strings.Join(parts, " AND ")
}

// Merge upserts the source into the table by key: matching target rows are
// updated (or deleted, per DeleteWhen), other source rows inserted. Only the
// files that statistics say may hold a source key are read and rewritten.
// With change data feed on, the commit carries update_preimage,
// update_postimage, delete and insert rows.
func (t *Table) Merge(ctx context.Context, src RecordSource, m MergeOptions, o WriteOptions) (*CommitResult, error) {
	if len(m.Keys) == 0 {
		return nil, fmt.Errorf("%s: merge needs at least one key column", t.location)
	}
	var ms *mergeSource
	var conf *conformer
	var loadedFrom *Snapshot
	defer func() {
		if ms != nil {
			ms.release()
		}
	}()
	return t.retry(ctx, o.attempts(), func(snap *Snapshot) (*CommitResult, error) {
		if o.skipped(snap) {
			return &CommitResult{Version: snap.version, Skipped: true}, nil
		}
		if snap.appendOnly() {
			return nil, fmt.Errorf("%s: the table is append-only (delta.appendOnly = true)", t.location)
		}
		if ms == nil {
			var err error
			if conf, err = newConformer(snap, src.Schema(), o.MergeSchema, deleteOnlyColumns(snap, m.DeleteWhen)); err != nil {
				return nil, fmt.Errorf("%s: %w", t.location, err)
			}
			if conf.evolved && snap.mapping != MappingNone {
				max, _ := strconv.Atoi(snap.metadata.Configuration["delta.columnMapping.maxColumnId"])
				assignPhysicalNames(conf.table, max)
			}
			if ms, err = t.loadMergeSource(ctx, snap, conf, src, m); err != nil {
				return nil, err
			}
			loadedFrom = snap
		} else if !sameSchema(loadedFrom, snap) {
			return nil, &ConflictError{Table: t.location, Version: snap.version, Reason: "the schema changed during the merge"}
		}
		return t.mergeOnce(ctx, snap, conf, ms, m, o)
	})
}

func (t *Table) mergeOnce(ctx context.Context, snap *Snapshot, conf *conformer, ms *mergeSource, m MergeOptions, o WriteOptions) (*CommitResult, error) {
	work := snapWithSchema(snap, conf.table)
	where := ms.candidates(ArrowSchema(conf.table))
	pred, err := bindWhere(work, where)
	if err != nil {
		return nil, fmt.Errorf("%s: merge condition %s: %w", t.location, where, err)
	}
	dw, err := t.newDataWriter(snap, conf.table, false, o)
	if err != nil {
		return nil, err
	}
	var cw *dataWriter
	if snap.ChangeDataFeedEnabled() {
		if cw, err = t.newDataWriter(snap, conf.table, true, o); err != nil {
			dw.w.Abort(ctx)
			return nil, err
		}
	}
	abort := func(err error) (*CommitResult, error) {
		dw.w.Abort(ctx)
		if cw != nil {
			cw.w.Abort(ctx)
		}
		return nil, err
	}
	plan, err := work.newPlan(nil, "", 0, nil)
	if err != nil {
		return abort(err)
	}
	matched := map[[2]int]bool{}
	read := map[string]bool{}
	var removes []*Remove
	res := &CommitResult{}
	keyNames := make([]string, len(ms.keyIdx))
	for i, k := range ms.keyIdx {
		keyNames[i] = conf.table.Fields[k].Name
	}
	keyPlan, err := work.newPlan(keyNames, "", 0, nil)
	if err != nil {
		return abort(err)
	}
	keyOnly := make([]int, len(keyNames))
	for i := range keyOnly {
		keyOnly[i] = i
	}
	for _, f := range work.prune(pred) {
		read[t.fileKey(f.Path, dvID(f.DeletionVector))] = true
		task := fileTask{path: f.Path, partitionValues: f.PartitionValues, dv: f.DeletionVector}
		// pass 1 reads only the key columns: is any source key in this file?
		touched := false
		err := keyPlan.readFile(ctx, task, func(rec arrow.RecordBatch) error {
			defer rec.Release()
			for r := 0; r < int(rec.NumRows()) && !touched; r++ {
				if key, ok := rowKey(rec, keyOnly, r); ok {
					_, touched = ms.byKey[key]
				}
			}
			return nil
		})
		if err != nil {
			return abort(err)
		}
		if !touched {
			continue
		}
		// pass 2 streams the file through, batch by batch, rewriting it
		removes = append(removes, removeOf(f))
		err = plan.readFile(ctx, task, func(rec arrow.RecordBatch) error {
			defer rec.Release()
			var keep, pre, gone []int64
			post := map[int][]int64{} // source batch -> rows
			for r := 0; r < int(rec.NumRows()); r++ {
				key, ok := rowKey(rec, ms.keyIdx, r)
				ref, hit := ms.byKey[key]
				if !ok || !hit {
					keep = append(keep, int64(r))
					continue
				}
				matched[ref] = true
				if ms.deletes[ref] {
					gone = append(gone, int64(r))
					continue
				}
				pre = append(pre, int64(r))
				post[ref[0]] = append(post[ref[0]], int64(ref[1]))
			}
			res.RowsUpdated += int64(len(pre))
			res.RowsDeleted += int64(len(gone))
			if err := t.emitRows(ctx, dw, cw, rec, keep, ""); err != nil {
				return err
			}
			if err := t.emitRows(ctx, nil, cw, rec, pre, ChangeUpdatePreimage); err != nil {
				return err
			}
			if err := t.emitRows(ctx, nil, cw, rec, gone, ChangeDelete); err != nil {
				return err
			}
			for b, rows := range post {
				if err := t.emitRows(ctx, dw, cw, ms.recs[b], rows, ChangeUpdatePostimage); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return abort(err)
		}
	}
	if !m.NoInsert {
		for b, rec := range ms.recs {
			var ins []int64
			for r := 0; r < int(rec.NumRows()); r++ {
				ref := [2]int{b, r}
				if !matched[ref] && !ms.deletes[ref] {
					ins = append(ins, int64(r))
				}
			}
			res.RowsInserted += int64(len(ins))
			if err := t.emitRows(ctx, dw, cw, rec, ins, ChangeInsert); err != nil {
				return abort(err)
			}
		}
	}
	adds, _, err := dw.finish(ctx)
	if err != nil {
		if cw != nil {
			cw.w.Abort(ctx)
		}
		return nil, err
	}
	var cdcs []*CDC
	if cw != nil {
		if _, cdcs, err = cw.finish(ctx); err != nil {
			t.discard(ctx, adds, nil)
			return nil, err
		}
	}
	if len(adds) == 0 && len(removes) == 0 && o.AppID == "" {
		t.discard(ctx, nil, cdcs)
		return &CommitResult{Version: snap.version}, nil
	}
	tx := &transaction{t: t, read: snap, op: "MERGE", adds: adds, removes: removes, cdcs: cdcs, appTxn: o.txn(),
		readPred: pred, readKeys: read, metadata: evolvedMetadata(snap, conf),
		params: map[string]any{"predicate": jsonString([]string{"keys: " + strings.Join(m.Keys, ", ")})},
		metrics: map[string]any{"numTargetRowsUpdated": strconv.FormatInt(res.RowsUpdated, 10), "numTargetRowsInserted": strconv.FormatInt(res.RowsInserted, 10),
			"numTargetRowsDeleted": strconv.FormatInt(res.RowsDeleted, 10), "numTargetFilesRemoved": strconv.Itoa(len(removes)), "numTargetFilesAdded": strconv.Itoa(len(adds))}}
	v, err := tx.commit(ctx)
	if err != nil {
		t.discard(ctx, adds, cdcs)
		return nil, err
	}
	res.Version, res.FilesAdded, res.FilesRemoved = v, len(adds), len(removes)
	return res, nil
}

// emitRows writes the chosen rows as data (when dw is set) and as change data
// of the given kind (when cw is set and kind is not empty).
func (t *Table) emitRows(ctx context.Context, dw, cw *dataWriter, rec arrow.RecordBatch, rows []int64, kind string) error {
	if len(rows) == 0 {
		return nil
	}
	sub, err := take(ctx, rec, rows)
	if err != nil {
		return err
	}
	defer sub.Release()
	if dw != nil {
		if err := dw.write(ctx, sub); err != nil {
			return err
		}
	}
	if cw != nil && kind != "" {
		return cw.writeChange(ctx, sub, kind)
	}
	return nil
}

// deleteOnlyColumns are the source columns DeleteWhen uses that the table
// lacks: they steer the merge and are not written.
func deleteOnlyColumns(snap *Snapshot, deleteWhen string) map[string]bool {
	out := map[string]bool{}
	if deleteWhen == "" {
		return out
	}
	e, err := predicate.Parse(deleteWhen)
	if err != nil {
		return out
	}
	walkColumns(e, func(name string) {
		if snap.schema.Field(strings.SplitN(name, ".", 2)[0]) == nil {
			out[strings.ToLower(name)] = true
		}
	})
	return out
}

func walkColumns(e predicate.Expr, fn func(string)) {
	switch v := e.(type) {
	case predicate.Column:
		fn(strings.Join(v.Path, "."))
	case predicate.Comparison:
		walkColumns(v.Left, fn)
		walkColumns(v.Right, fn)
	case predicate.In:
		walkColumns(v.Column, fn)
	case predicate.IsNull:
		walkColumns(v.Column, fn)
	case predicate.Not:
		walkColumns(v.X, fn)
	case predicate.And:
		walkColumns(v.Left, fn)
		walkColumns(v.Right, fn)
	case predicate.Or:
		walkColumns(v.Left, fn)
		walkColumns(v.Right, fn)
	}
}
