package importchanges

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/platform"
)

// Flow is one import.changes job.
type Flow struct {
	cfg *config
}

// New is the job.Factory of import.changes: it validates the settings, the
// table (Delta, change data feed on, not a view) and the mapping against the
// platform's field registry.
func New(spec *job.Spec, env *job.Env) (job.Flow, error) {
	cfg, err := parseSettings(spec)
	if err != nil {
		return nil, err
	}
	if env == nil || env.Platform == nil {
		return nil, errs.Invalidf("%s: no platform store", spec.Path())
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.queryTimeout)
	defer cancel()
	lh, err := job.ConnectionAs[lakehouse.Lakehouse](ctx, spec, env, "a lakehouse")
	if err != nil {
		return nil, err
	}
	if _, _, err := cfg.validate(ctx, lh, env.Platform); err != nil {
		return nil, err
	}
	return &Flow{cfg: cfg}, nil
}

// Phases of the checkpoint.
const (
	PhaseSnapshot   = "snapshot"   // loading the snapshot at Version; Rows of it applied
	PhaseChanges    = "changes"    // every change through Version applied, plus Rows change rows of Version+1
	PhaseResnapshot = "resnapshot" // the change feed was gone: reloading the snapshot at Version
	PhasePurge      = "purge"      // after a re-snapshot: deleting profiles absent from it (AfterProfile: paging cursor)
)

// Checkpoint is the job's position, stored in the platform under
// "import.changes:JOB" in the same transaction as the writes it covers.
type Checkpoint struct {
	Table        lakehouse.TableName `json:"table"`
	Phase        string              `json:"phase"`
	Version      int64               `json:"version"`
	Rows         int64               `json:"rows,omitempty"`
	AfterProfile int64               `json:"after_profile,omitempty"`
	// EventsUntil is the latest event time written so far.
	EventsUntil *time.Time `json:"events_until,omitempty"`
	// EventsAfter (re-snapshot): rows whose event is at or before it are
	// taken as already imported, and emit no event.
	EventsAfter *time.Time `json:"events_after,omitempty"`
	Resnapshots int        `json:"resnapshots,omitempty"`
}

func (c *Checkpoint) encode() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// Run applies the table's changes since the checkpoint.
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

// run is the state of one run.
type run struct {
	c        *config
	lh       lakehouse.Lakehouse
	store    platform.Store
	m        *mapping
	reg      platform.Registry
	log      *slog.Logger
	progress func(job.Progress)
	wd       *lakehouse.Watchdog

	prev string     // stored checkpoint value
	cp   Checkpoint // position after the rows added to pending

	pending    platform.Batch
	pendingN   int
	pendingDel map[string]bool
	pendingEvB int64

	res      *job.Result
	counts   map[string]int64
	examples []string
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
	res := job.Result{Notes: map[string]any{}}
	r := &run{c: c, lh: lh, store: store, log: log, progress: progress, res: &res, counts: map[string]int64{}, pendingDel: map[string]bool{}}
	r.wd = lakehouse.NewWatchdog(ctx, c.queryTimeout)
	defer r.wd.Stop()
	var d *lakehouse.Description
	err := r.wd.Call(func(ctx context.Context) (err error) { d, r.m, err = c.validate(ctx, lh, store); return })
	if err != nil {
		return res, err
	}
	fields, err := store.Fields(ctx)
	if err != nil {
		return res, err
	}
	r.reg = platform.NewRegistry(fields)
	if r.prev, err = store.Checkpoint(ctx, c.key); err != nil {
		return res, err
	}
	if r.prev == "" {
		r.cp = Checkpoint{Table: c.table, Phase: PhaseSnapshot, Version: d.Version}
	} else {
		if err := json.Unmarshal([]byte(r.prev), &r.cp); err != nil {
			return res, fmt.Errorf("%s: checkpoint %q is unreadable: %w", c.spec.Path(), c.key, err)
		}
		if r.cp.Table != c.table {
			return res, errs.Invalidf("%s: this job's checkpoint was made reading %s, but the settings now say %s; give the job a new name to import from the start",
				c.spec.Path(), r.cp.Table.Plain(), c.table.Plain())
		}
	}
	err = r.loop(ctx, d)
	r.notes()
	return res, err
}

func (r *run) loop(ctx context.Context, d *lakehouse.Description) error {
	if r.cp.Version > d.Version && r.cp.Phase != PhasePurge {
		// the table is older than the checkpoint: it was dropped and
		// created again. Load it as it is now and apply the difference.
		r.log.Warn("table version is behind the checkpoint; re-snapshotting", "table", r.c.table.Plain(), "checkpoint", r.cp.Version, "table_version", d.Version)
		r.res.Notes["resnapshot_reason"] = fmt.Sprintf("the table's version %d is behind the checkpoint's %d (was it recreated?)", d.Version, r.cp.Version)
		until := r.cp.EventsUntil
		r.cp = Checkpoint{Table: r.c.table, Phase: PhaseResnapshot, Version: d.Version, EventsUntil: until, EventsAfter: until, Resnapshots: r.cp.Resnapshots + 1}
		if err := r.flush(ctx, true); err != nil {
			return err
		}
	}
	for step := 0; step < 100; step++ {
		switch r.cp.Phase {
		case PhaseSnapshot, PhaseResnapshot:
			if err := r.snapshot(ctx); err != nil {
				if !errors.Is(err, lakehouse.ErrVersionUnavailable) || r.cp.Version >= d.Version {
					return err
				}
				// the pinned version was vacuumed before the snapshot was
				// loaded: load the current one, applying the difference
				if ferr := r.flush(ctx, false); ferr != nil {
					return ferr
				}
				r.log.Warn("snapshot version unavailable; re-snapshotting", "table", r.c.table.Plain(), "version", r.cp.Version, "err", err)
				r.res.Notes["resnapshot_reason"] = err.Error()
				until := r.cp.EventsUntil
				r.cp = Checkpoint{Table: r.c.table, Phase: PhaseResnapshot, Version: d.Version, EventsUntil: until, EventsAfter: until, Resnapshots: r.cp.Resnapshots + 1}
				if err := r.flush(ctx, true); err != nil {
					return err
				}
				continue
			}
			next := Checkpoint{Table: r.c.table, Phase: PhaseChanges, Version: r.cp.Version, EventsUntil: r.cp.EventsUntil, Resnapshots: r.cp.Resnapshots}
			if r.cp.Phase == PhaseResnapshot && r.c.s.DeleteProfiles {
				next.Phase = PhasePurge
			}
			r.cp = next
			if err := r.flush(ctx, true); err != nil {
				return err
			}
		case PhasePurge:
			if err := r.purge(ctx); err != nil {
				return err
			}
			r.cp = Checkpoint{Table: r.c.table, Phase: PhaseChanges, Version: r.cp.Version, EventsUntil: r.cp.EventsUntil, Resnapshots: r.cp.Resnapshots}
			if err := r.flush(ctx, true); err != nil {
				return err
			}
		case PhaseChanges:
			if r.cp.Version >= d.Version {
				r.res.Notes["version"] = r.cp.Version
				return nil
			}
			err := r.changes(ctx, r.cp.Version+1, d.Version)
			var cu *lakehouse.ChangesUnavailableError
			if errors.As(err, &cu) {
				// The feed no longer reaches back to the checkpoint: reload the
				// table as it is now and apply the difference.
				if err := r.flush(ctx, false); err != nil {
					return err
				}
				r.log.Warn("change feed unavailable; re-snapshotting", "table", r.c.table.Plain(), "from", r.cp.Version+1, "reason", cu.Reason)
				r.res.Notes["resnapshot_reason"] = cu.Error()
				until := r.cp.EventsUntil
				r.cp = Checkpoint{Table: r.c.table, Phase: PhaseResnapshot, Version: d.Version, EventsUntil: until, EventsAfter: until, Resnapshots: r.cp.Resnapshots + 1}
				if err := r.flush(ctx, true); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return err
			}
			r.cp = Checkpoint{Table: r.c.table, Phase: PhaseChanges, Version: d.Version, EventsUntil: r.cp.EventsUntil, Resnapshots: r.cp.Resnapshots}
			if err := r.flush(ctx, true); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: checkpoint phase %q is unknown", r.c.spec.Path(), r.cp.Phase)
		}
	}
	return fmt.Errorf("%s: the import did not settle", r.c.spec.Path())
}

// snapshot applies the rows of the snapshot at r.cp.Version after r.cp.Rows.
func (r *run) snapshot(ctx context.Context) error {
	r.res.Notes["snapshot_version"] = r.cp.Version
	var rows lakehouse.Rows
	err := r.wd.Call(func(context.Context) (err error) {
		rows, err = r.lh.Scan(r.wd.Context(), r.c.table, lakehouse.ScanRequest{Version: r.cp.Version, Columns: r.m.columns(), Offset: r.cp.Rows, BatchSize: min(r.c.batchSize, 65536)})
		return
	})
	if err != nil {
		return fmt.Errorf("scan %s: %w", r.c.table.Plain(), err)
	}
	defer rows.Close()
	rd := newReader(r.m, r.reg, rows.Schema())
	return r.each(rows, func(rec arrow.RecordBatch, i int) error {
		if err := r.apply(ctx, rd, rec, i, lakehouse.ChangeInsert); err != nil {
			return err
		}
		r.cp.Rows++
		return r.maybeFlush(ctx)
	})
}

// changes applies the change feed from version start (skipping the rows of
// it already applied) through end.
func (r *run) changes(ctx context.Context, start, end int64) error {
	var rows lakehouse.Rows
	err := r.wd.Call(func(context.Context) (err error) {
		rows, err = r.lh.Changes(r.wd.Context(), r.c.table, lakehouse.ChangesRequest{StartVersion: start, EndVersion: end, Columns: r.m.columns(), BatchSize: min(r.c.batchSize, 65536)})
		return
	})
	if err != nil {
		return err
	}
	defer rows.Close()
	rd := newReader(r.m, r.reg, rows.Schema())
	skip := r.cp.Rows // rows of version start applied by an earlier run (counted in r.cp.Rows)
	return r.each(rows, func(rec arrow.RecordBatch, i int) error {
		v := rd.commitVersion(rec, i)
		if v < 0 {
			return fmt.Errorf("%s: a change row has no commit version", r.c.table.Plain())
		}
		if v < r.cp.Version+1 {
			return fmt.Errorf("%s: the change feed went back from version %d to %d", r.c.table.Plain(), r.cp.Version+1, v)
		}
		if v > r.cp.Version+1 {
			r.cp.Version, r.cp.Rows = v-1, 0 // every change before v is applied
			skip = 0
		}
		if skip > 0 {
			skip--
			return nil
		}
		if err := r.apply(ctx, rd, rec, i, rd.changeType(rec, i)); err != nil {
			return err
		}
		r.cp.Rows++
		return r.maybeFlush(ctx)
	})
}

// each calls fn for every row of the stream.
func (r *run) each(rows lakehouse.Rows, fn func(rec arrow.RecordBatch, i int) error) error {
	for {
		var rec arrow.RecordBatch
		err := r.wd.Call(func(context.Context) (err error) { rec, err = rows.Next(r.wd.Context()); return })
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			if err := fn(rec, i); err != nil {
				rec.Release()
				return err
			}
		}
		rec.Release()
	}
}

// apply adds one row's effect to the pending write.
func (r *run) apply(ctx context.Context, rd *reader, rec arrow.RecordBatch, i int, changeType string) error {
	r.counts["rows_read"]++
	switch changeType {
	case lakehouse.ChangeUpdatePreimage:
		r.counts["update_preimages_ignored"]++
		return nil
	case lakehouse.ChangeDelete:
		if !r.c.s.DeleteProfiles {
			r.counts["deletes_not_propagated"]++
			return nil
		}
		id, why := rd.identifier(rec, i)
		if why != "" {
			r.reject("rows_without_identifier", why)
			return nil
		}
		r.pending.Deletes = append(r.pending.Deletes, id)
		r.pendingDel[id.Value] = true
		r.pendingN++
		r.counts["profile_deletes"]++
		return nil
	case lakehouse.ChangeInsert, lakehouse.ChangeUpdatePostimage:
	default:
		return fmt.Errorf("%s: unknown change type %q", r.c.table.Plain(), changeType)
	}
	withEvent := r.m.event != nil
	row := rd.read(rec, i, withEvent)
	if row.skip != "" {
		kind := "rejected_rows"
		if row.skip == "no identifier" {
			kind = "rows_without_identifier"
		}
		r.reject(kind, row.skip)
		return nil
	}
	if r.pendingDel[row.idKey] {
		// deletes apply after upserts in a write: write the delete first
		if err := r.flush(ctx, false); err != nil {
			return err
		}
	}
	r.pending.Upserts = append(r.pending.Upserts, platform.ProfileInput{Identifiers: []platform.Identifier{row.id}, Attributes: row.attrs})
	r.pendingN++
	r.counts["profile_upserts"]++
	switch {
	case row.rejectEvent != "":
		r.reject("rejected_events", row.rejectEvent)
	case row.event != nil:
		if r.cp.Phase == PhaseResnapshot && r.cp.EventsAfter != nil && !row.eventTS.After(*r.cp.EventsAfter) {
			r.counts["events_already_imported"]++
			break
		}
		if len(r.pending.Appends) == 0 {
			r.pending.Appends = []platform.Append{{Stream: r.c.stream}}
		}
		r.pending.Appends[0].Events = append(r.pending.Appends[0].Events, *row.event)
		r.pendingEvB += int64(len(row.event.Data))
		r.counts["events"]++
		if r.cp.EventsUntil == nil || row.eventTS.After(*r.cp.EventsUntil) {
			t := row.eventTS
			r.cp.EventsUntil = &t
		}
	}
	return nil
}

func (r *run) reject(kind, why string) {
	r.counts[kind]++
	if len(r.examples) < 10 {
		r.examples = append(r.examples, kind+": "+why)
	}
}

func (r *run) maybeFlush(ctx context.Context) error {
	if r.pendingN >= r.c.batchSize {
		return r.flush(ctx, false)
	}
	return nil
}

// flush writes the pending changes with the checkpoint in one transaction.
// With force it writes the checkpoint even when nothing is pending.
func (r *run) flush(ctx context.Context, force bool) error {
	next := r.cp.encode()
	if r.pendingN == 0 && len(r.pending.Appends) == 0 && (!force || next == r.prev) {
		return nil
	}
	b := r.pending
	b.Checkpoint = &platform.Checkpoint{Key: r.c.key, Prev: r.prev, Next: next}
	if _, err := r.store.Write(ctx, b); err != nil {
		return fmt.Errorf("write %d changes of %s: %w", r.pendingN, r.c.table.Plain(), err)
	}
	r.prev = next
	r.res.Rows += int64(r.pendingN)
	r.res.Bytes += r.pendingEvB
	r.pending = platform.Batch{}
	r.pendingN, r.pendingEvB = 0, 0
	clear(r.pendingDel)
	r.progress(job.Progress{Rows: r.res.Rows, Bytes: r.res.Bytes})
	return nil
}

// purge deletes the profiles holding a value of the identifier field that
// the snapshot at r.cp.Version does not hold (after a re-snapshot, with
// delete_profiles on: the deletes the lost change feed would have carried).
func (r *run) purge(ctx context.Context) error {
	seed := maphash.MakeSeed()
	var keys []uint64
	var rows lakehouse.Rows
	err := r.wd.Call(func(context.Context) (err error) {
		rows, err = r.lh.Scan(r.wd.Context(), r.c.table, lakehouse.ScanRequest{Version: r.cp.Version, Columns: []string{r.m.idColumn}})
		return
	})
	if err != nil {
		return fmt.Errorf("scan %s: %w", r.c.table.Plain(), err)
	}
	rd := newReader(r.m, r.reg, rows.Schema())
	err = r.each(rows, func(rec arrow.RecordBatch, i int) error {
		if id, why := rd.identifier(rec, i); why == "" {
			keys = append(keys, maphash.String(seed, id.Value))
		}
		return nil
	})
	rows.Close()
	if err != nil {
		return err
	}
	slices.Sort(keys)
	for {
		page, err := r.store.Profiles(ctx, r.cp.AfterProfile, 1000)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		for _, p := range page {
			vals := p.Values(r.m.idField)
			if len(vals) == 0 {
				continue
			}
			present := false
			for _, v := range vals {
				if _, ok := slices.BinarySearch(keys, maphash.String(seed, v)); ok {
					present = true
				}
			}
			if !present {
				r.pending.Deletes = append(r.pending.Deletes, platform.Identifier{Field: r.m.idField, Value: vals[0]})
				r.pendingN++
				r.counts["profile_deletes"]++
			}
		}
		r.cp.AfterProfile = page[len(page)-1].ID
		if err := r.flush(ctx, true); err != nil {
			return err
		}
	}
}

func (r *run) notes() {
	n := r.res.Notes
	for k, v := range r.counts {
		n[k] = v
	}
	if len(r.examples) > 0 {
		n["examples"] = r.examples
	}
	n["phase"] = r.cp.Phase
	if r.cp.Resnapshots > 0 {
		n["resnapshots"] = r.cp.Resnapshots
	}
	if r.c.stream != "" {
		n["stream"] = r.c.stream
	}
}
