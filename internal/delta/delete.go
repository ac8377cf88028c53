package delta

import (
	"context"
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakeport/lakeport/internal/delta/predicate"
)

// deletePlan is what deleting the rows matching a predicate does to one snapshot.
type deletePlan struct {
	pred    *predicate.Bound // nil: every row
	removes []*Remove
	adds    []*Add // rewritten files holding the rows that stay
	cdcs    []*CDC
	read    map[string]bool // file keys read
	rows    int64           // rows deleted
}

func removeOf(a *Add) *Remove {
	ext := true
	size := a.Size
	return &Remove{Path: a.Path, DataChange: true, ExtendedFileMetadata: &ext, PartitionValues: a.PartitionValues, Size: &size,
		Stats: a.Stats, Tags: a.Tags, DeletionVector: a.DeletionVector, BaseRowID: a.BaseRowID, DefaultRowCommitVersion: a.DefaultRowCommitVersion}
}

// planDelete finds the rows matching where (all rows when where is empty).
// Files whose partition values decide the predicate are removed whole; other
// candidate files are rewritten without the matching rows. With change data
// feed on and any file rewritten, every deleted row is also written as
// change data (a commit's change data files must describe all its changes).
func (t *Table) planDelete(ctx context.Context, snap *Snapshot, where string, o WriteOptions) (*deletePlan, error) {
	p := &deletePlan{read: map[string]bool{}}
	if where == "" {
		for _, f := range snap.files {
			p.removes = append(p.removes, removeOf(f))
			p.rows += statsRows(f)
		}
		return p, nil
	}
	pred, err := bindWhere(snap, where)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.location, err)
	}
	p.pred = pred
	partOnly := true
	for _, c := range pred.Columns() {
		if !snap.isPartitionColumn(c) {
			partOnly = false
		}
	}
	cdfOn := snap.ChangeDataFeedEnabled()
	var whole, partial []*Add
	for _, f := range snap.prune(pred) {
		p.read[t.fileKey(f.Path, dvID(f.DeletionVector))] = true
		if partOnly {
			whole = append(whole, f) // prune is exact on partition values
		} else {
			partial = append(partial, f)
		}
	}
	plan, err := snap.newPlan(nil, "", 0, nil)
	if err != nil {
		return nil, err
	}
	var dw, cw *dataWriter
	fail := func(err error) (*deletePlan, error) {
		if dw != nil {
			dw.w.Abort(ctx)
		}
		if cw != nil {
			cw.w.Abort(ctx)
		}
		return nil, err
	}
	for _, f := range partial {
		var keep []arrow.RecordBatch
		var gone []arrow.RecordBatch
		err := plan.readFile(ctx, fileTask{path: f.Path, partitionValues: f.PartitionValues, dv: f.DeletionVector}, func(rec arrow.RecordBatch) error {
			defer rec.Release()
			mask, err := matchMask(pred, rec)
			if err != nil {
				return err
			}
			var k, g []int64
			for i, m := range mask {
				if m {
					g = append(g, int64(i))
				} else {
					k = append(k, int64(i))
				}
			}
			if len(g) == 0 {
				rec.Retain()
				keep = append(keep, rec)
				return nil
			}
			kr, err := take(ctx, rec, k)
			if err != nil {
				return err
			}
			gr, err := take(ctx, rec, g)
			if err != nil {
				return err
			}
			if kr != nil {
				keep = append(keep, kr)
			}
			gone = append(gone, gr)
			return nil
		})
		if err != nil {
			releaseAll(keep, gone)
			return fail(err)
		}
		if len(gone) == 0 {
			releaseAll(keep, nil)
			continue
		}
		if dw == nil {
			if dw, err = t.newDataWriter(snap, snap.schema, false, o); err != nil {
				releaseAll(keep, gone)
				return fail(err)
			}
			if cdfOn {
				if cw, err = t.newDataWriter(snap, snap.schema, true, o); err != nil {
					releaseAll(keep, gone)
					return fail(err)
				}
			}
		}
		p.removes = append(p.removes, removeOf(f))
		for _, r := range keep {
			if err := dw.write(ctx, r); err != nil {
				releaseAll(keep, gone)
				return fail(err)
			}
		}
		for _, r := range gone {
			p.rows += r.NumRows()
			if cw != nil {
				if err := cw.writeChange(ctx, r, ChangeDelete); err != nil {
					releaseAll(keep, gone)
					return fail(err)
				}
			}
		}
		releaseAll(keep, gone)
	}
	for _, f := range whole {
		p.removes = append(p.removes, removeOf(f))
		if cw == nil {
			p.rows += statsRows(f)
			continue
		}
		if err := plan.readFile(ctx, fileTask{path: f.Path, partitionValues: f.PartitionValues, dv: f.DeletionVector}, func(rec arrow.RecordBatch) error {
			defer rec.Release()
			p.rows += rec.NumRows()
			return cw.writeChange(ctx, rec, ChangeDelete)
		}); err != nil {
			return fail(err)
		}
	}
	if dw != nil {
		adds, _, err := dw.finish(ctx)
		if err != nil {
			return fail(err)
		}
		p.adds = adds
	}
	if cw != nil {
		_, cdcs, err := cw.finish(ctx)
		if err != nil {
			t.discard(ctx, p.adds, nil)
			return nil, err
		}
		p.cdcs = cdcs
	}
	return p, nil
}

func releaseAll(sets ...[]arrow.RecordBatch) {
	for _, s := range sets {
		for _, r := range s {
			r.Release()
		}
	}
}

// statsRows is a file's row count from its statistics (0 when unknown), less deleted rows.
func statsRows(a *Add) int64 {
	fs := newFileStats(nil, a)
	n, _ := fs.NumRecords()
	if a.DeletionVector != nil {
		n -= a.DeletionVector.Cardinality
	}
	return n
}

// Delete removes the rows matching where (every row when where is empty).
func (t *Table) Delete(ctx context.Context, where string, o WriteOptions) (*CommitResult, error) {
	return t.retry(ctx, o.attempts(), func(snap *Snapshot) (*CommitResult, error) {
		if o.skipped(snap) {
			return &CommitResult{Version: snap.version, Skipped: true}, nil
		}
		if snap.appendOnly() {
			return nil, fmt.Errorf("%s: the table is append-only (delta.appendOnly = true)", t.location)
		}
		plan, err := t.planDelete(ctx, snap, where, o)
		if err != nil {
			return nil, err
		}
		if len(plan.removes) == 0 && o.AppID == "" {
			return &CommitResult{Version: snap.version}, nil // nothing matched: no commit
		}
		params := map[string]any{}
		if where != "" {
			params["predicate"] = jsonString([]string{where})
		}
		tx := &transaction{t: t, read: snap, op: "DELETE", params: params, removes: plan.removes, adds: plan.adds, cdcs: plan.cdcs,
			appTxn: o.txn(), readAll: plan.pred == nil, readPred: plan.pred, readKeys: plan.read,
			metrics: map[string]any{"numRemovedFiles": strconv.Itoa(len(plan.removes)), "numAddedFiles": strconv.Itoa(len(plan.adds)),
				"numDeletedRows": strconv.FormatInt(plan.rows, 10), "numAddedChangeFiles": strconv.Itoa(len(plan.cdcs))}}
		v, err := tx.commit(ctx)
		if err != nil {
			t.discard(ctx, plan.adds, plan.cdcs)
			return nil, err
		}
		return &CommitResult{Version: v, FilesAdded: len(plan.adds), FilesRemoved: len(plan.removes), RowsDeleted: plan.rows}, nil
	})
}
