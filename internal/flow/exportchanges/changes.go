package exportchanges

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
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
const Kind = "export.audience_changes"

func init() {
	job.Register(Kind, New)
	job.RegisterDefaultSchedule(Kind, job.Schedule{Frequency: job.Every, Every: 5 * time.Minute})
}

// Settings are the job's `settings:` in lakeport.yaml.
type Settings struct {
	export.Common `yaml:",inline"`
	Audiences     []string `yaml:"audiences" lakeport:"required"`
	IDField       string   `yaml:"id_field"`
	Table         string   `yaml:"table"`
	Backfill      bool     `yaml:"backfill"`
	FlushRows     int64    `yaml:"flush_rows"`
}

// Defaults and limits.
const (
	MaxAudiences     = 10
	DefaultIDField   = platform.FieldEmail
	DefaultFlushRows = 100_000
	// FlushInterval also ends a load within a run that has been staging
	// for this long (a run that reads a long backlog slowly).
	FlushInterval = 5 * time.Minute
)

// Schema is the table's columns; the first is named after the identifier
// field.
func Schema(idField string) *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: idField, Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "segment_slug", Type: arrow.BinaryTypes.String, Nullable: false},
		{Name: "timestamp", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: false},
		{Name: "exit", Type: arrow.FixedWidthTypes.Boolean, Nullable: false},
	}, nil)
}

// Flow is one export.audience_changes job.
type Flow struct {
	spec   *job.Spec
	s      Settings
	schema *arrow.Schema
	want   map[string]bool
}

// New is the job.Factory of export.audience_changes.
func New(spec *job.Spec, env *job.Env) (job.Flow, error) {
	f := &Flow{spec: spec, want: map[string]bool{}}
	s := &f.s
	if err := spec.DecodeSettings(s); err != nil {
		return nil, err
	}
	if err := s.Check(spec, lakehouse.FormatParquet, lakehouse.FormatCSV, lakehouse.FormatCSVGzip); err != nil {
		return nil, err
	}
	if len(s.Audiences) == 0 {
		return nil, spec.Errorf("settings.audiences", "want 1 to %d audience slugs", MaxAudiences)
	}
	for i, a := range s.Audiences {
		field := fmt.Sprintf("settings.audiences[%d]", i)
		if i >= MaxAudiences {
			return nil, spec.Errorf(field, "at most %d audiences", MaxAudiences)
		}
		if err := platform.ValidateSlug(a); err != nil {
			return nil, spec.Errorf(field, "%v", err)
		}
		if f.want[a] {
			return nil, spec.Errorf(field, "audience %q is listed twice", a)
		}
		f.want[a] = true
	}
	if s.IDField == "" {
		s.IDField = DefaultIDField
	}
	if slices.Contains([]string{"segment_slug", "timestamp", "exit"}, s.IDField) {
		return nil, spec.Errorf("settings.id_field", "%q is the name of another column", s.IDField)
	}
	if s.Table == "" {
		s.Table = export.TableSlug(s.Prefix + "_seg_changes")
	}
	if err := lakehouse.ValidateName("table", s.Table); err != nil {
		return nil, spec.Errorf("settings.table", "%v", err)
	}
	switch {
	case s.FlushRows == 0:
		s.FlushRows = DefaultFlushRows
	case s.FlushRows < 1:
		return nil, spec.Errorf("settings.flush_rows", "want at least 1, got %d", s.FlushRows)
	}
	if env != nil && env.Platform != nil {
		ctx := context.Background()
		all, err := env.Platform.Audiences(ctx)
		if err != nil {
			return nil, err
		}
		var slugs []string
		for _, a := range all {
			slugs = append(slugs, a.Slug)
		}
		for i, a := range s.Audiences {
			if !slices.Contains(slugs, a) {
				known := strings.Join(slugs, ", ")
				if known == "" {
					known = "none"
				}
				return nil, spec.Errorf(fmt.Sprintf("settings.audiences[%d]", i), "unknown audience %q (audiences: %s)", a, known)
			}
		}
		fields, err := env.Platform.Fields(ctx)
		if err != nil {
			return nil, err
		}
		var ids []string
		for _, fl := range fields {
			if fl.Identifier {
				ids = append(ids, fl.Name)
			}
		}
		if !slices.Contains(ids, s.IDField) {
			return nil, spec.Errorf("settings.id_field", "unknown identifier field %q (identifier fields: %s)", s.IDField, strings.Join(ids, ", "))
		}
	}
	f.schema = Schema(s.IDField)
	return f, nil
}

// Cursor is the export's position, kept in its load ledger.
type Cursor struct {
	// Changes is the (time, id) of the last change read: every change of
	// the chosen audiences up to it is in the table.
	Changes platform.Cursor `json:"changes"`
	// Backfill, after a backfill, is the position of the log it was taken
	// at: the table holds an enter row for every member at that point and
	// then every change after it.
	Backfill *platform.Cursor `json:"backfill,omitempty"`
}

// TableName is the table the changes are exported to.
func (f *Flow) TableName() lakehouse.TableName { return f.s.Common.Table(f.s.Table) }

// Run exports the changes logged since the last run (after a backfill on
// the first run when asked).
func (f *Flow) Run(ctx context.Context, r *job.Run) (job.Result, error) {
	e, err := f.s.Begin(ctx, r, Kind, lakehouse.LoadAppend, f.schema)
	if err != nil {
		return job.Result{}, err
	}
	store := r.Env.Platform
	var cur Cursor
	first, err := e.Cursor(&cur)
	if err != nil {
		return e.Result(), err
	}
	w := &writer{f: f, e: e, b: e.NewBatch(), ids: newLookup(store, f.s.IDField), bld: array.NewRecordBuilder(memory.DefaultAllocator, f.schema)}
	defer w.bld.Release()
	if first {
		w.b.Ensure(f.TableName())
		if f.s.Backfill {
			at, err := f.backfill(ctx, store, w)
			if err != nil {
				w.abort(ctx)
				return e.Result(), err
			}
			cur = Cursor{Changes: at, Backfill: &at}
			// the backfill is one load, whatever flush_rows says
			if err := w.commit(ctx, cur); err != nil {
				return e.Result(), err
			}
		}
	}
	for {
		page, err := store.AudienceChanges(ctx, cur.Changes, platform.MaxPage)
		if err != nil {
			w.abort(ctx)
			return e.Result(), fmt.Errorf("read audience changes: %w", err)
		}
		var pids []int64
		for _, c := range page {
			if f.want[c.Audience] {
				pids = append(pids, c.ProfileID)
			}
		}
		if err := w.ids.resolve(ctx, pids); err != nil {
			w.abort(ctx)
			return e.Result(), err
		}
		for _, c := range page {
			cur.Changes = c.Cursor()
			if !f.want[c.Audience] {
				continue // other audiences move the cursor only
			}
			id, ok := w.ids.get(c.ProfileID)
			w.append(id, ok, c.Audience, c.Time, c.Change == platform.Exit)
			if w.rows() >= f.s.FlushRows { // the cursor covers exactly the batch's rows
				if err := w.commit(ctx, cur); err != nil {
					return e.Result(), err
				}
			}
		}
		if len(page) < platform.MaxPage {
			break
		}
		if err := w.spill(ctx); err != nil {
			w.abort(ctx)
			return e.Result(), err
		}
		if w.rows() > 0 && time.Since(w.since) >= FlushInterval {
			if err := w.commit(ctx, cur); err != nil {
				return e.Result(), err
			}
		}
	}
	if err := w.commit(ctx, cur); err != nil {
		return e.Result(), err
	}
	return e.Result(), nil
}

// writer builds rows into record batches and stages them in the current
// batch; commit ends the load.
type writer struct {
	f     *Flow
	e     *export.Exporter
	b     *export.Batch
	bld   *array.RecordBuilder
	ids   *lookup
	since time.Time // when the batch got its first row
}

func (w *writer) append(id string, ok bool, slug string, t time.Time, exit bool) {
	if w.rows() == 0 {
		w.since = time.Now()
	}
	if ok {
		w.bld.Field(0).(*array.StringBuilder).Append(id)
	} else {
		w.bld.Field(0).AppendNull()
	}
	w.bld.Field(1).(*array.StringBuilder).Append(slug)
	w.bld.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(t.UnixMicro()))
	w.bld.Field(3).(*array.BooleanBuilder).Append(exit)
}

// rows is the number of rows of the current load, staged or built.
func (w *writer) rows() int64 { return w.b.Rows() + int64(w.bld.Field(0).Len()) }

// spill stages the rows built so far.
func (w *writer) spill(ctx context.Context) error {
	if w.bld.Field(0).Len() == 0 {
		return nil
	}
	rec := w.bld.NewRecordBatch()
	defer rec.Release()
	return w.b.Write(ctx, w.f.TableName(), rec)
}

// commit loads the batch with cursor and begins the next.
func (w *writer) commit(ctx context.Context, cur Cursor) error {
	if err := w.spill(ctx); err != nil {
		w.abort(ctx)
		return err
	}
	if err := w.e.Commit(ctx, w.b, cur); err != nil {
		return err
	}
	w.b = w.e.NewBatch()
	return nil
}

func (w *writer) abort(ctx context.Context) {
	if w.bld.Field(0).Len() > 0 {
		w.bld.NewRecordBatch().Release()
	}
	w.b.Abort(ctx)
}

// backfill writes an enter row for every member of the chosen audiences at
// one position of the change log, and returns that position: the changes
// are exported from there.
//
// The position is taken first (the end of the log), then the members are
// paged. Paging is not one snapshot, so after each page the log is read on
// to its end, keeping each (audience, profile)'s first change after the
// position. A profile of the page's range whose first change since is an
// exit was a member at the position (with or without a row in the page:
// it may have left before its page was read); one whose first change is an
// enter was not (its enter is exported as a change); one without changes
// since was a member iff it is in the page. So the backfill is the
// membership at the position exactly, and no change is missed or doubled.
func (f *Flow) backfill(ctx context.Context, store platform.Store, w *writer) (platform.Cursor, error) {
	var at platform.Cursor
	for {
		page, err := store.AudienceChanges(ctx, at, platform.MaxPage)
		if err != nil {
			return at, fmt.Errorf("backfill: read audience changes: %w", err)
		}
		if len(page) > 0 {
			at = page[len(page)-1].Cursor()
		}
		if len(page) < platform.MaxPage {
			break
		}
	}
	type key struct {
		audience string
		profile  int64
	}
	firstSince := map[key]string{}
	q := at
	readOn := func() error {
		for {
			page, err := store.AudienceChanges(ctx, q, platform.MaxPage)
			if err != nil {
				return fmt.Errorf("backfill: read audience changes: %w", err)
			}
			for _, c := range page {
				q = c.Cursor()
				k := key{c.Audience, c.ProfileID}
				if _, ok := firstSince[k]; !ok && f.want[c.Audience] {
					firstSince[k] = c.Change
				}
			}
			if len(page) < platform.MaxPage {
				return nil
			}
		}
	}
	for _, slug := range f.s.Audiences {
		var after int64
		for {
			page, err := store.Members(ctx, slug, after, platform.MaxPage)
			if err != nil {
				if errors.Is(err, platform.ErrNotFound) {
					break // deleted since: its exits are in the log after the position
				}
				return at, fmt.Errorf("backfill: read audience %s: %w", slug, err)
			}
			if err := readOn(); err != nil {
				return at, err
			}
			hi := int64(math.MaxInt64) // the page's range of profile IDs is (after, hi]
			if len(page) == platform.MaxPage {
				hi = page[len(page)-1].Profile.ID
			}
			inPage := map[int64]bool{}
			for _, m := range page {
				inPage[m.Profile.ID] = true
				if c, ok := firstSince[key{slug, m.Profile.ID}]; ok && c != platform.Exit {
					continue // entered after the position
				}
				t := m.EnteredAt
				if t.After(at.Time) { // left and came back since: a member at the position
					t = at.Time
				}
				id, ok := identifier(m.Profile, f.s.IDField)
				w.append(id, ok, slug, t, false)
			}
			var left []int64 // members at the position gone before their page was read
			for k, c := range firstSince {
				if k.audience == slug && c == platform.Exit && k.profile > after && k.profile <= hi && !inPage[k.profile] {
					left = append(left, k.profile)
				}
			}
			sort.Slice(left, func(i, j int) bool { return left[i] < left[j] })
			if err := w.ids.resolve(ctx, left); err != nil {
				return at, err
			}
			for _, p := range left {
				id, ok := w.ids.get(p)
				w.append(id, ok, slug, at.Time, false)
			}
			if err := w.spill(ctx); err != nil {
				return at, err
			}
			if len(page) < platform.MaxPage {
				break
			}
			after = hi
		}
	}
	return at, nil
}

// identifier returns a profile's value of an identifier field: the first
// in sort order when it holds several; false when it holds none.
func identifier(p platform.Profile, field string) (string, bool) {
	for _, id := range p.Identifiers { // sorted by field, then value
		if id.Field == field {
			return id.Value, true
		}
	}
	return "", false
}

// lookup finds profiles' identifier values by profile ID, in batches, with
// a cache for the run.
type lookup struct {
	store platform.Store
	field string
	cache map[int64]*string // nil: no such profile or no value
}

func newLookup(store platform.Store, field string) *lookup {
	return &lookup{store: store, field: field, cache: map[int64]*string{}}
}

// Lookup batching: needed IDs at most lookupGap apart are read in one range
// (Profiles pages by ID); the cache is emptied when it grows past
// lookupCache entries.
const (
	lookupGap   = 16
	lookupCache = 1 << 20
)

// resolve reads the profiles of ids not cached yet.
func (l *lookup) resolve(ctx context.Context, ids []int64) error {
	if len(l.cache) > lookupCache {
		l.cache = map[int64]*string{}
	}
	var need []int64
	for _, id := range ids {
		if _, ok := l.cache[id]; !ok {
			need = append(need, id)
		}
	}
	slices.Sort(need)
	need = slices.Compact(need)
	for i := 0; i < len(need); {
		j := i
		for j+1 < len(need) && need[j+1]-need[j] <= lookupGap {
			j++
		}
		lo, hi := need[i], need[j]
		for after := lo - 1; after < hi; {
			limit := int(min(int64(platform.MaxPage), hi-after))
			ps, err := l.store.Profiles(ctx, after, limit)
			if err != nil {
				return fmt.Errorf("read profiles after %d: %w", after, err)
			}
			for _, p := range ps {
				if p.ID > hi {
					break
				}
				if _, ok := slices.BinarySearch(need[i:j+1], p.ID); ok {
					if v, ok := identifier(p, l.field); ok {
						l.cache[p.ID] = &v
					}
				}
			}
			if len(ps) < limit {
				break
			}
			after = ps[len(ps)-1].ID
		}
		for _, id := range need[i : j+1] {
			if _, ok := l.cache[id]; !ok {
				l.cache[id] = nil // deleted (or merged away), or without a value
			}
		}
		i = j + 1
	}
	return nil
}

func (l *lookup) get(id int64) (string, bool) {
	if v := l.cache[id]; v != nil {
		return *v, true
	}
	return "", false
}
