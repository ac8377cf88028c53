package delta

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakeport/lakeport/internal/delta/dv"
)

// VacuumOptions shape a vacuum.
type VacuumOptions struct {
	// Retention keeps files removed less than this long ago (time travel
	// within it keeps working) and any unreferenced file younger than it
	// (a writer may be about to commit it). Zero means the table's
	// delta.deletedFileRetentionDuration, default 7 days.
	Retention time.Duration
	// AllowShortRetention permits a retention shorter than the table's.
	AllowShortRetention bool
	DryRun              bool
}

// VacuumResult lists what a vacuum removed (or would remove, in a dry run).
type VacuumResult struct {
	Files []string
	Bytes int64
}

func (s *Snapshot) retention() time.Duration {
	if v, ok := s.Property("delta.deletedFileRetentionDuration"); ok {
		if d, err := ParseInterval(v); err == nil {
			return d
		}
	}
	return 7 * 24 * time.Hour
}

// Vacuum deletes files the table no longer references: data and change data
// files removed longer ago than the retention, and files left by writers that
// never committed. Files the latest snapshot references, and their deletion
// vectors, are never deleted.
func (t *Table) Vacuum(ctx context.Context, o VacuumOptions) (*VacuumResult, error) {
	snap, err := t.snapshot(ctx, Latest())
	if err != nil {
		return nil, err
	}
	retention := o.Retention
	if retention == 0 {
		retention = snap.retention()
	}
	if retention < snap.retention() && !o.AllowShortRetention {
		return nil, fmt.Errorf("%s: a retention of %s is shorter than the table's %s; time travel and concurrent writers could lose files (allow it explicitly to proceed)",
			t.location, retention, snap.retention())
	}
	cutoff := time.Now().Add(-retention)
	keep := map[string]bool{}
	protect := func(p string, d *dv.Descriptor) {
		if k, ok := t.relativeKey(p); ok {
			keep[k] = true
		}
		if d != nil {
			if loc, abs, err := d.Location(); err == nil && !abs {
				keep[loc] = true
			}
		}
	}
	for _, a := range snap.files {
		protect(a.Path, a.DeletionVector)
	}
	tombs, err := t.tombstones(ctx, snap)
	if err != nil {
		return nil, err
	}
	for _, r := range tombs {
		if r.DeletionTimestamp != nil && time.UnixMilli(*r.DeletionTimestamp).After(cutoff) {
			protect(r.Path, r.DeletionVector)
		}
	}
	objs, err := t.bucket.List(ctx, "")
	if err != nil {
		return nil, err
	}
	res := &VacuumResult{}
	for _, o2 := range objs {
		if keep[o2.Key] || !vacuumable(o2.Key) || o2.ModTime.After(cutoff) {
			continue
		}
		res.Files = append(res.Files, o2.Key)
		res.Bytes += o2.Size
	}
	if o.DryRun {
		return res, nil
	}
	for _, k := range res.Files {
		if err := t.bucket.Delete(ctx, k); err != nil {
			return res, fmt.Errorf("%s: vacuum %s: %w", t.location, k, err)
		}
	}
	return res, nil
}

// vacuumable: data files and change data; never the log or other hidden files.
func vacuumable(key string) bool {
	if strings.HasPrefix(key, "_change_data/") {
		return true
	}
	for _, seg := range strings.Split(key, "/") {
		if strings.HasPrefix(seg, "_") || strings.HasPrefix(seg, ".") {
			return false
		}
	}
	return strings.HasSuffix(key, ".parquet") || strings.Contains(key, "deletion_vector_")
}

// OptimizeOptions shape a compaction of small files.
type OptimizeOptions struct {
	TargetFileSize int64  // files smaller than this are compacted together (default 128 MiB)
	Where          string // limit to partitions matching this predicate on partition columns
	Compression    string
}

// Optimize rewrites the small files of each partition into fewer, larger
// ones. The commit changes no data (dataChange=false), so change data feeds
// and streaming readers ignore it.
func (t *Table) Optimize(ctx context.Context, o OptimizeOptions) (*CommitResult, error) {
	if o.TargetFileSize <= 0 {
		o.TargetFileSize = 128 << 20
	}
	return t.retry(ctx, 10, func(snap *Snapshot) (*CommitResult, error) {
		files := snap.files
		if o.Where != "" {
			pred, err := bindWhere(snap, o.Where)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.location, err)
			}
			for _, c := range pred.Columns() {
				if !snap.isPartitionColumn(c) {
					return nil, fmt.Errorf("%s: optimize where: %q is not a partition column", t.location, c)
				}
			}
			files = snap.prune(pred)
		}
		groups := map[string][]*Add{}
		for _, f := range files {
			if f.Size < o.TargetFileSize {
				k := partitionKey(f.PartitionValues)
				groups[k] = append(groups[k], f)
			}
		}
		keys := make([]string, 0, len(groups))
		for k, g := range groups {
			if len(g) > 1 {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		if len(keys) == 0 {
			return &CommitResult{Version: snap.version}, nil
		}
		plan, err := snap.newPlan(nil, "", 0, nil)
		if err != nil {
			return nil, err
		}
		dw, err := t.newDataWriter(snap, snap.schema, false, WriteOptions{Compression: o.Compression, TargetFileSize: o.TargetFileSize})
		if err != nil {
			return nil, err
		}
		var removes []*Remove
		read := map[string]bool{}
		for _, k := range keys {
			for _, f := range groups[k] {
				read[t.fileKey(f.Path, dvID(f.DeletionVector))] = true
				r := removeOf(f)
				r.DataChange = false
				removes = append(removes, r)
				if err := plan.readFile(ctx, fileTask{path: f.Path, partitionValues: f.PartitionValues, dv: f.DeletionVector}, func(rec arrow.RecordBatch) error {
					defer rec.Release()
					return dw.write(ctx, rec)
				}); err != nil {
					dw.w.Abort(ctx)
					return nil, err
				}
			}
		}
		adds, _, err := dw.finish(ctx)
		if err != nil {
			return nil, err
		}
		for _, a := range adds {
			a.DataChange = false
		}
		tx := &transaction{t: t, read: snap, op: "OPTIMIZE", adds: adds, removes: removes, readKeys: read,
			params:  map[string]any{"predicate": jsonString([]string{o.Where})},
			metrics: map[string]any{"numRemovedFiles": strconv.Itoa(len(removes)), "numAddedFiles": strconv.Itoa(len(adds))}}
		v, err := tx.commit(ctx)
		if err != nil {
			t.discard(ctx, adds, nil)
			return nil, err
		}
		return &CommitResult{Version: v, FilesAdded: len(adds), FilesRemoved: len(removes)}, nil
	})
}

func partitionKey(pv map[string]*string) string {
	keys := make([]string, 0, len(pv))
	for k := range pv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	for _, k := range keys {
		sb.WriteString(k)
		sb.WriteByte('=')
		if v := pv[k]; v != nil {
			sb.WriteString(strconv.Quote(*v))
		} else {
			sb.WriteString("null")
		}
		sb.WriteByte(0)
	}
	return sb.String()
}
