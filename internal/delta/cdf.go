package delta

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakeport/lakeport/internal/blob"
	"github.com/lakeport/lakeport/internal/delta/predicate"
)

// Change data feed columns.
const (
	ChangeTypeColumn      = "_change_type"
	CommitVersionColumn   = "_commit_version"
	CommitTimestampColumn = "_commit_timestamp"
)

// Change types.
const (
	ChangeInsert          = "insert"
	ChangeDelete          = "delete"
	ChangeUpdatePreimage  = "update_preimage"
	ChangeUpdatePostimage = "update_postimage"
)

var cdfColumns = []constColumn{
	{Field: arrow.Field{Name: ChangeTypeColumn, Type: arrow.BinaryTypes.String}},
	{Field: arrow.Field{Name: CommitVersionColumn, Type: arrow.PrimitiveTypes.Int64}},
	{Field: arrow.Field{Name: CommitTimestampColumn, Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}}},
}

// CDFUnavailableError reports a version range whose changes cannot be read:
// change data feed was off, or the log or files of the range were cleaned up.
type CDFUnavailableError struct {
	Table  string
	Start  int64
	End    int64
	Reason string
}

func (e *CDFUnavailableError) Error() string {
	return fmt.Sprintf("%s: changes between versions %d and %d are not available: %s", e.Table, e.Start, e.End, e.Reason)
}

func (t *Table) changes(ctx context.Context, opts ChangesOptions) (Batches, error) {
	files, err := t.listLog(ctx)
	if err != nil {
		return nil, err
	}
	commits := map[int64]logFile{}
	latest := int64(-1)
	for _, f := range files {
		if f.Kind == kindCommit {
			commits[f.Version] = f
			latest = max(latest, f.Version)
		}
	}
	if latest < 0 {
		return nil, fmt.Errorf("%s: %w", t.location, ErrNotATable)
	}
	start, end, err := t.changeRange(ctx, files, opts, latest)
	if err != nil {
		return nil, err
	}
	startSnap, err := t.snapshot(ctx, AtVersion(start))
	if err != nil {
		return nil, &CDFUnavailableError{Table: t.location, Start: start, End: end, Reason: err.Error()}
	}
	endSnap := startSnap
	if end != start {
		if endSnap, err = t.snapshot(ctx, AtVersion(end)); err != nil {
			return nil, err
		}
	}
	meta := startSnap.metadata
	ict := startSnap.ictEnabled()
	var tasks []fileTask
	plan, err := endSnap.newPlan(opts.Columns, opts.Where, opts.BatchSize, cdfColumns)
	if err != nil {
		return nil, err
	}
	for v := start; v <= end; v++ {
		lf, ok := commits[v]
		if !ok {
			return nil, &CDFUnavailableError{Table: t.location, Start: start, End: end, Reason: fmt.Sprintf("commit %d has been removed from the log", v)}
		}
		b, err := t.bucket.ReadAll(ctx, lf.Key)
		if err != nil {
			return nil, &CDFUnavailableError{Table: t.location, Start: start, End: end, Reason: fmt.Sprintf("commit %d: %v", v, err)}
		}
		actions, err := ParseActions(strings.NewReader(string(b)))
		if err != nil {
			return nil, &CorruptLogError{Table: t.location, Reason: fmt.Sprintf("commit %d: %v", v, err)}
		}
		var ci *CommitInfo
		for _, a := range actions {
			if a.Metadata != nil && v != start {
				meta = a.Metadata
				ict = strings.EqualFold(meta.Configuration["delta.enableInCommitTimestamps"], "true")
			}
			if a.Protocol != nil {
				if err := checkReadable(a.Protocol); err != nil {
					return nil, fmt.Errorf("%s: version %d: %w", t.location, v, err)
				}
			}
			if a.CommitInfo != nil {
				ci = a.CommitInfo
			}
		}
		ts := commitTime(ci, lf.ModTime, ict)
		vt, err := commitTasks(actions, v, ts, t)
		if err != nil {
			return nil, err
		}
		if len(vt) > 0 && !strings.EqualFold(meta.Configuration["delta.enableChangeDataFeed"], "true") {
			return nil, &CDFUnavailableError{Table: t.location, Start: start, End: end,
				Reason: fmt.Sprintf("change data feed was not enabled at version %d (set delta.enableChangeDataFeed = true)", v)}
		}
		for _, task := range vt {
			if plan.pred != nil && !plan.pred.MayMatch(newFileStats(endSnap, &Add{PartitionValues: task.partitionValues})) {
				continue
			}
			tasks = append(tasks, task)
		}
	}
	return &vacuumAware{Batches: newPipeline(ctx, plan, tasks, opts.Limit, true), table: t.location, start: start, end: end}, nil
}

// commitTasks turns one commit into the file reads that produce its changes:
// its cdc files when it has any, else its data-changing adds and removes,
// pairing an add and a remove of the same file as a deletion-vector diff.
func commitTasks(actions []Action, v int64, ts time.Time, t *Table) ([]fileTask, error) {
	consts := func(kind string) map[string]predicate.Value {
		return map[string]predicate.Value{
			ChangeTypeColumn:      {Kind: predicate.KindString, Str: kind}, // "" for cdc files, which store it
			CommitVersionColumn:   {Kind: predicate.KindInt, Int: v},
			CommitTimestampColumn: {Kind: predicate.KindTimestamp, Int: ts.UnixMicro()},
		}
	}
	var tasks []fileTask
	for _, a := range actions {
		if a.CDC != nil {
			tasks = append(tasks, fileTask{path: a.CDC.Path, partitionValues: a.CDC.PartitionValues, consts: consts(""), cdc: true})
		}
	}
	if len(tasks) > 0 {
		return tasks, nil
	}
	removes := map[string]*Remove{}
	for _, a := range actions {
		if a.Remove != nil && a.Remove.DataChange {
			removes[t.canonicalPath(a.Remove.Path)] = a.Remove
		}
	}
	paired := map[string]bool{}
	for _, a := range actions {
		if a.Add == nil || !a.Add.DataChange {
			continue
		}
		key := t.canonicalPath(a.Add.Path)
		if r, ok := removes[key]; ok {
			paired[key] = true
			// rows deleted by this commit: in the new DV, not in the old one
			if a.Add.DeletionVector != nil {
				tasks = append(tasks, fileTask{path: a.Add.Path, partitionValues: a.Add.PartitionValues, dv: r.DeletionVector, onlyDV: a.Add.DeletionVector, consts: consts(ChangeDelete)})
			}
			// rows restored by this commit: in the old DV, not in the new one
			if r.DeletionVector != nil {
				tasks = append(tasks, fileTask{path: a.Add.Path, partitionValues: a.Add.PartitionValues, dv: a.Add.DeletionVector, onlyDV: r.DeletionVector, consts: consts(ChangeInsert)})
			}
			continue
		}
		tasks = append(tasks, fileTask{path: a.Add.Path, partitionValues: a.Add.PartitionValues, dv: a.Add.DeletionVector, consts: consts(ChangeInsert)})
	}
	for _, a := range actions {
		if a.Remove == nil || !a.Remove.DataChange || paired[t.canonicalPath(a.Remove.Path)] {
			continue
		}
		tasks = append(tasks, fileTask{path: a.Remove.Path, partitionValues: a.Remove.PartitionValues, dv: a.Remove.DeletionVector, consts: consts(ChangeDelete)})
	}
	return tasks, nil
}

// changeRange resolves the options to an inclusive version range.
func (t *Table) changeRange(ctx context.Context, files []logFile, o ChangesOptions, latest int64) (int64, int64, error) {
	start, end := int64(0), latest
	switch {
	case o.StartVersion != nil:
		start = *o.StartVersion
	case o.StartTimestamp != nil:
		v, err := t.versionAt(ctx, files, o.StartTimestamp.Add(-time.Nanosecond))
		var ve *VersionError
		switch {
		case errors.As(err, &ve):
			v = -1 // before the first commit: start there
			for _, f := range files {
				if f.Kind == kindCommit {
					v = f.Version - 1
					break
				}
			}
		case err != nil:
			return 0, 0, err
		}
		start = v + 1
	default:
		return 0, 0, errors.New("changes: a start version or start timestamp is required")
	}
	switch {
	case o.EndVersion != nil:
		end = *o.EndVersion
	case o.EndTimestamp != nil:
		v, err := t.versionAt(ctx, files, *o.EndTimestamp)
		if err != nil {
			return 0, 0, err
		}
		end = v
	}
	if start < 0 {
		return 0, 0, &VersionError{Table: t.location, Reason: fmt.Sprintf("start version %d is negative", start)}
	}
	if end > latest {
		return 0, 0, &VersionError{Table: t.location, Reason: fmt.Sprintf("end version %d does not exist (latest is %d)", end, latest)}
	}
	if start > latest {
		return 0, 0, &VersionError{Table: t.location, Reason: fmt.Sprintf("start version %d does not exist (latest is %d)", start, latest)}
	}
	if start > end {
		return 0, 0, &VersionError{Table: t.location, Reason: fmt.Sprintf("start version %d is after end version %d", start, end)}
	}
	return start, end, nil
}

// vacuumAware turns a missing data file in a change feed into CDFUnavailableError.
type vacuumAware struct {
	Batches
	table      string
	start, end int64
}

func (v *vacuumAware) Next(ctx context.Context) (arrow.RecordBatch, error) {
	rec, err := v.Batches.Next(ctx)
	if err != nil && errors.Is(err, blob.ErrNotFound) {
		return nil, &CDFUnavailableError{Table: v.table, Start: v.start, End: v.end, Reason: fmt.Sprintf("a file of the range was removed (vacuumed): %v", err)}
	}
	return rec, err
}
