package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeport/lakeport/internal/delta"
	"github.com/lakeport/lakeport/internal/delta/predicate"
	"github.com/lakeport/lakeport/internal/lakehouse"
)

// An ordered scan reads the rows of one snapshot in (key, tie) order with
// memory bounded by Options.WindowRows, never by the table size: it cuts the
// key range into consecutive half-open windows [a, b), reads each window
// with a range predicate (the kernel skips files whose min/max statistics
// rule the window out), sorts the window in memory and emits it. Window
// boundaries come from the files' statistics (rows spread evenly between a
// file's min and max are assumed); a window whose rows turn out to exceed
// twice the target is abandoned and split at a key taken from the rows it
// did read. The windows always cover the whole range — the first is open
// below, the last open above — so statistics only decide how the work is
// cut, never which rows are returned.

// keyRange is what statistics say about one file's order column.
type keyRange struct {
	min, max int64 // inclusive, in the key's integer domain
	rows     int64
}

type orderedRows struct {
	l       *Lakehouse
	name    lakehouse.TableName
	snap    *delta.Snapshot
	cols    []string // output columns
	keyCol  string
	tieCol  string
	keyKind lakehouse.ValueKind
	tieKind lakehouse.ValueKind
	base    predicate.Expr // NOT NULL, after, from, until
	batch   int
	target  int64

	known    []keyRange
	unknown  int64 // rows in files without usable statistics
	lo       *int64
	finished bool
	schema   *arrow.Schema

	pending []arrow.RecordBatch // sorted output of the current window
	err     error

	// Windows counts the windows read, Splits the windows split after
	// overflowing, MaxHeld the most rows held at once (tests, benchmarks).
	Windows, Splits int
	MaxHeld         int64
}

func (l *Lakehouse) orderedScan(ctx context.Context, name lakehouse.TableName, s *delta.Snapshot, cols []string, req lakehouse.ScanRequest) (lakehouse.Rows, error) {
	o := req.Order
	kf, err := resolveColumn(name, s, o.Column)
	if err != nil {
		return nil, err
	}
	keyKind, okKey, _ := lakehouse.OrderKind(SQLType(kf.Type))
	if !okKey {
		return nil, lakehouse.Invalidf("%s: column %q has type %s; a scan can be ordered by a timestamp, timestamp_ntz, date or integer column", name.Plain(), kf.Name, SQLType(kf.Type))
	}
	r := &orderedRows{l: l, name: name, snap: s, keyCol: kf.Name, keyKind: keyKind, batch: l.batchSize(req.BatchSize), target: l.opts.WindowRows}
	if o.TieBreaker != "" {
		tf, err := resolveColumn(name, s, o.TieBreaker)
		if err != nil {
			return nil, err
		}
		tk, _, okTie := lakehouse.OrderKind(SQLType(tf.Type))
		if !okTie {
			return nil, lakehouse.Invalidf("%s: tie-breaker column %q has type %s; want an integer, string, date or timestamp column", name.Plain(), tf.Name, SQLType(tf.Type))
		}
		if strings.EqualFold(tf.Name, kf.Name) {
			return nil, lakehouse.Invalidf("%s: the tie-breaker column must differ from the order column %q", name.Plain(), kf.Name)
		}
		r.tieCol, r.tieKind = tf.Name, tk
	}
	// output columns: the projection plus key and tie
	if len(cols) == 0 {
		for _, f := range s.Schema().Fields {
			cols = append(cols, f.Name)
		}
	}
	r.cols = appendMissing(cols, r.keyCol)
	if r.tieCol != "" {
		r.cols = appendMissing(r.cols, r.tieCol)
	}
	if err := r.buildBase(o); err != nil {
		return nil, err
	}
	files, err := s.FilesFor(r.base.String())
	if err != nil {
		return nil, lakehouse.Invalidf("%s: %v", name.Plain(), err)
	}
	r.plan(kf, files)
	fields := make([]arrow.Field, 0, len(r.cols))
	full := s.ArrowSchema()
	for _, c := range r.cols {
		fields = append(fields, full.Field(full.FieldIndices(c)[0]))
	}
	r.schema = arrow.NewSchema(fields, nil)
	return r, nil
}

func appendMissing(cols []string, c string) []string {
	for _, x := range cols {
		if x == c {
			return cols
		}
	}
	return append(append([]string(nil), cols...), c)
}

func col(name string) predicate.Column { return predicate.Column{Path: []string{name}} }

// literal converts a port value to a kernel literal for a column of kind k.
func literal(v lakehouse.Value, k lakehouse.ValueKind) (predicate.Literal, error) {
	if v.Kind != k {
		return predicate.Literal{}, lakehouse.Invalidf("a %s value (%s) cannot bound a %s column", v.Kind, v, k)
	}
	switch v.Kind {
	case lakehouse.KindInt:
		return predicate.Literal{Value: predicate.Value{Kind: predicate.KindInt, Int: v.Int}}, nil
	case lakehouse.KindString:
		return predicate.Literal{Value: predicate.Value{Kind: predicate.KindString, Str: v.Str}}, nil
	case lakehouse.KindTimestamp:
		return predicate.Literal{Value: predicate.Value{Kind: predicate.KindTimestamp, Int: v.Int}}, nil
	case lakehouse.KindDate:
		return predicate.Literal{Value: predicate.Value{Kind: predicate.KindDate, Int: v.Int}}, nil
	}
	return predicate.Literal{}, lakehouse.Invalidf("cannot bound a scan by %s", v)
}

func cmpExpr(c string, op predicate.Op, l predicate.Literal) predicate.Expr {
	return predicate.Comparison{Op: op, Left: col(c), Right: l}
}

func and(a, b predicate.Expr) predicate.Expr {
	if a == nil {
		return b
	}
	return predicate.And{Left: a, Right: b}
}

func keyLiteral(k lakehouse.ValueKind, v int64) predicate.Literal {
	kind := predicate.KindInt
	switch k {
	case lakehouse.KindTimestamp:
		kind = predicate.KindTimestamp
	case lakehouse.KindDate:
		kind = predicate.KindDate
	}
	return predicate.Literal{Value: predicate.Value{Kind: kind, Int: v}}
}

// buildBase is the predicate every window shares: key IS NOT NULL, after
// the position, within [From, Until]. It also sets the first window's start.
func (r *orderedRows) buildBase(o *lakehouse.Order) error {
	var e predicate.Expr = predicate.IsNull{Column: col(r.keyCol), Not: true}
	bad := func(what string, err error) error {
		return lakehouse.Invalidf("%s: %s: %v", r.name.Plain(), what, err)
	}
	raise := func(v int64) {
		if r.lo == nil || v > *r.lo {
			r.lo = &v
		}
	}
	if o.After != nil && !o.After.Key.IsNull() {
		kl, err := literal(o.After.Key, r.keyKind)
		if err != nil {
			return bad("after", err)
		}
		var after predicate.Expr = cmpExpr(r.keyCol, predicate.OpGt, kl)
		if r.tieCol != "" {
			var tieAfter predicate.Expr
			if o.After.Tie.IsNull() {
				tieAfter = predicate.IsNull{Column: col(r.tieCol), Not: true}
			} else {
				tl, err := literal(o.After.Tie, r.tieKind)
				if err != nil {
					return bad("after (tie-breaker)", err)
				}
				tieAfter = cmpExpr(r.tieCol, predicate.OpGt, tl)
			}
			after = predicate.Or{Left: after, Right: predicate.And{Left: cmpExpr(r.keyCol, predicate.OpEq, kl), Right: tieAfter}}
			raise(o.After.Key.Int)
		} else {
			raise(satAdd(o.After.Key.Int, 1))
		}
		e = and(e, after)
	}
	if o.From != nil {
		l, err := literal(*o.From, r.keyKind)
		if err != nil {
			return bad("from", err)
		}
		e = and(e, cmpExpr(r.keyCol, predicate.OpGe, l))
		raise(o.From.Int)
	}
	if o.Until != nil {
		l, err := literal(*o.Until, r.keyKind)
		if err != nil {
			return bad("until", err)
		}
		e = and(e, cmpExpr(r.keyCol, predicate.OpLe, l))
	}
	r.base = e
	return nil
}

func satAdd(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	if b < 0 && a < math.MinInt64-b {
		return math.MinInt64
	}
	return a + b
}

type fileStatsJSON struct {
	NumRecords *int64                     `json:"numRecords"`
	MinValues  map[string]json.RawMessage `json:"minValues"`
	MaxValues  map[string]json.RawMessage `json:"maxValues"`
}

// plan reads the key's range in every candidate file from its statistics
// (or its partition value).
func (r *orderedRows) plan(kf *delta.StructField, files []*delta.Add) {
	phys := kf.PhysicalName(r.snap.ColumnMapping())
	at := delta.ArrowType(kf.Type)
	isPart := false
	for _, p := range r.snap.PartitionColumns() {
		if strings.EqualFold(p, kf.Name) {
			isPart = true
		}
	}
	// statistics of timestamps are truncated to milliseconds
	widen := int64(0)
	if r.keyKind == lakehouse.KindTimestamp {
		widen = 999
	}
	for _, f := range files {
		var st fileStatsJSON
		parsed := false
		if f.Stats != "" {
			dec := json.NewDecoder(strings.NewReader(f.Stats))
			dec.UseNumber()
			parsed = dec.Decode(&st) == nil
		}
		rows := int64(-1)
		if parsed && st.NumRecords != nil {
			rows = *st.NumRecords
		}
		if isPart {
			raw, ok := f.PartitionValues[phys]
			if !ok {
				raw = f.PartitionValues[kf.Name]
			}
			v, err := predicate.ParsePartitionValue(at, raw)
			if err == nil && v.Kind != predicate.KindNull && rows >= 0 {
				r.known = append(r.known, keyRange{min: v.Int, max: v.Int, rows: rows})
				continue
			}
		} else if parsed && rows >= 0 {
			mn, okMin := statValue(at, st.MinValues[phys])
			mx, okMax := statValue(at, st.MaxValues[phys])
			if okMin && okMax && mn <= mx {
				r.known = append(r.known, keyRange{min: mn, max: satAdd(mx, widen), rows: rows})
				continue
			}
			if rows == 0 {
				continue
			}
		}
		if rows < 0 {
			rows = r.target * 4 // unknown: assume it is large
		}
		r.unknown += rows
	}
	sort.Slice(r.known, func(i, j int) bool { return r.known[i].min < r.known[j].min })
}

func statValue(at arrow.DataType, raw json.RawMessage) (int64, bool) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return 0, false
	}
	v, err := predicate.ParseStatValue(at, raw)
	if err != nil {
		return 0, false
	}
	switch v.Kind {
	case predicate.KindInt, predicate.KindTimestamp, predicate.KindDate:
		return v.Int, true
	}
	return 0, false
}

// estimate is the number of rows statistics expect with a key in [a, b).
func (r *orderedRows) estimate(a, b int64) float64 {
	est := float64(r.unknown)
	for _, k := range r.known {
		if k.min >= b {
			break
		}
		lo, hi := max(a, k.min), min(b, satAdd(k.max, 1))
		if hi <= lo {
			continue
		}
		span := float64(satAdd(k.max, 1)) - float64(k.min)
		est += float64(k.rows) * (float64(hi) - float64(lo)) / span
	}
	return est
}

// nextEnd picks the end of the window starting at a: the largest b whose
// estimate stays within the target, or nil (open above) when the rest fits.
func (r *orderedRows) nextEnd(a *int64) *int64 {
	if r.unknown > r.target || len(r.known) == 0 {
		return nil
	}
	start := int64(math.MinInt64)
	if a != nil {
		start = *a
	} else {
		start = r.known[0].min
	}
	end := start
	for _, k := range r.known {
		end = max(end, satAdd(k.max, 1))
	}
	if end <= start || r.estimate(start, end) <= float64(r.target) {
		return nil
	}
	lo, hi := satAdd(start, 1), end // find the largest b in [lo, hi) with estimate <= target
	if r.estimate(start, lo) > float64(r.target) {
		return &lo
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if r.estimate(start, mid) <= float64(r.target) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return &lo
}

func (r *orderedRows) Schema() *arrow.Schema { return r.schema }

func (r *orderedRows) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for len(r.pending) == 0 {
		if r.err != nil {
			return nil, r.err
		}
		if r.finished {
			return nil, io.EOF
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := r.nextWindow(ctx); err != nil {
			r.err = err
			return nil, err
		}
	}
	rec := r.pending[0]
	r.pending = r.pending[1:]
	return rec, nil
}

func (r *orderedRows) Close() error {
	for _, p := range r.pending {
		p.Release()
	}
	r.pending = nil
	r.finished = true
	return nil
}

// nextWindow reads, sorts and queues the next window's rows.
func (r *orderedRows) nextWindow(ctx context.Context) error {
	a := r.lo
	b := r.nextEnd(a)
	for {
		single := a != nil && b != nil && *b-*a <= 1
		recs, overflow, err := r.read(ctx, a, b, single)
		if err != nil {
			return err
		}
		if overflow == nil {
			r.Windows++
			if b == nil {
				r.finished = true
			} else {
				r.lo = b
			}
			return r.emit(ctx, recs)
		}
		r.Splits++
		b = overflow
	}
}

// read collects the rows of window [a, b). If there are more than twice the
// target (and the window spans more than one key) it stops and returns a
// smaller end to try instead.
func (r *orderedRows) read(ctx context.Context, a, b *int64, single bool) ([]arrow.RecordBatch, *int64, error) {
	where := r.base
	if a != nil {
		where = and(where, cmpExpr(r.keyCol, predicate.OpGe, keyLiteral(r.keyKind, *a)))
	}
	if b != nil {
		where = and(where, cmpExpr(r.keyCol, predicate.OpLt, keyLiteral(r.keyKind, *b)))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows, err := r.snap.Scan(ctx, delta.ScanOptions{Columns: r.cols, Where: where.String(), BatchSize: r.batch})
	if err != nil {
		return nil, nil, wrapDelta(r.name, err)
	}
	defer rows.Close()
	var recs []arrow.RecordBatch
	var n int64
	limit := 2 * r.target
	for {
		rec, err := rows.Next(ctx)
		if errors.Is(err, io.EOF) {
			return recs, nil, nil
		}
		if err != nil {
			releaseAll(recs)
			return nil, nil, versionError(r.name, r.snap.Version(), err)
		}
		recs = append(recs, rec)
		n += rec.NumRows()
		r.MaxHeld = max(r.MaxHeld, n)
		if n > limit && !single {
			split, err := r.splitPoint(recs, a)
			releaseAll(recs)
			if err != nil {
				return nil, nil, err
			}
			if b != nil && split >= *b {
				split = *b - 1
				if a != nil && split <= *a {
					split = *a + 1
				}
			}
			return nil, &split, nil
		}
	}
}

// splitPoint picks a window end from rows read so far: the key below which
// about target of them lie, above the window start.
func (r *orderedRows) splitPoint(recs []arrow.RecordBatch, a *int64) (int64, error) {
	var keys []int64
	for _, rec := range recs {
		c := rec.Column(rec.Schema().FieldIndices(r.keyCol)[0])
		for i := 0; i < c.Len(); i++ {
			v, err := lakehouse.ValueAt(c, i)
			if err != nil {
				return 0, err
			}
			keys = append(keys, v.Int)
		}
	}
	slices.Sort(keys)
	split := keys[min(int(r.target), len(keys)-1)]
	if split == keys[0] {
		split = satAdd(split, 1) // at least the smallest key, alone
	}
	if a != nil && split <= *a {
		split = *a + 1
	}
	return split, nil
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// emit sorts a window's rows and queues them as batches.
func (r *orderedRows) emit(ctx context.Context, recs []arrow.RecordBatch) error {
	defer releaseAll(recs)
	var total int64
	for _, rec := range recs {
		total += rec.NumRows()
	}
	if total == 0 {
		return nil
	}
	whole, err := concat(r.schema, recs)
	if err != nil {
		return err
	}
	defer whole.Release()
	ki := r.schema.FieldIndices(r.keyCol)[0]
	keys, _, err := intColumn(whole.Column(ki))
	if err != nil {
		return err
	}
	var tieInts []int64
	var tieNull []bool
	var tieStrs []string
	if r.tieCol != "" {
		tc := whole.Column(r.schema.FieldIndices(r.tieCol)[0])
		if r.tieKind == lakehouse.KindString {
			tieStrs, tieNull, err = stringColumn(tc)
		} else {
			tieInts, tieNull, err = intColumn(tc)
		}
		if err != nil {
			return err
		}
	}
	less := func(i, j int) int {
		if c := cmpInt(keys[i], keys[j]); c != 0 {
			return c
		}
		if tieNull == nil {
			return 0
		}
		if tieNull[i] || tieNull[j] {
			switch {
			case tieNull[i] && tieNull[j]:
				return 0
			case tieNull[i]:
				return -1
			}
			return 1
		}
		if tieStrs != nil {
			return strings.Compare(tieStrs[i], tieStrs[j])
		}
		return cmpInt(tieInts[i], tieInts[j])
	}
	n := int(total)
	sorted := true
	for i := 1; i < n; i++ {
		if less(i-1, i) > 0 {
			sorted = false
			break
		}
	}
	out := whole
	if !sorted {
		perm := make([]int, n)
		for i := range perm {
			perm[i] = i
		}
		slices.SortFunc(perm, func(x, y int) int {
			if c := less(x, y); c != 0 {
				return c
			}
			return cmpInt(int64(x), int64(y)) // equal positions keep their read order
		})
		if out, err = take(ctx, whole, perm); err != nil {
			return err
		}
		defer out.Release()
	}
	for off := int64(0); off < total; off += int64(r.batch) {
		r.pending = append(r.pending, out.NewSlice(off, min(total, off+int64(r.batch))))
	}
	return nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func concat(schema *arrow.Schema, recs []arrow.RecordBatch) (arrow.RecordBatch, error) {
	if len(recs) == 1 {
		recs[0].Retain()
		return recs[0], nil
	}
	cols := make([]arrow.Array, schema.NumFields())
	var n int64
	for _, r := range recs {
		n += r.NumRows()
	}
	for i := range cols {
		parts := make([]arrow.Array, len(recs))
		for j, r := range recs {
			parts[j] = r.Column(i)
		}
		c, err := array.Concatenate(parts, memory.DefaultAllocator)
		if err != nil {
			for _, p := range cols[:i] {
				p.Release()
			}
			return nil, err
		}
		cols[i] = c
	}
	out := array.NewRecordBatch(schema, cols, n)
	for _, c := range cols {
		c.Release()
	}
	return out, nil
}

func take(ctx context.Context, rec arrow.RecordBatch, perm []int) (arrow.RecordBatch, error) {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	b.Reserve(len(perm))
	for _, p := range perm {
		b.UnsafeAppend(int64(p))
	}
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
	out := array.NewRecordBatch(rec.Schema(), cols, int64(len(perm)))
	for _, c := range cols {
		c.Release()
	}
	return out, nil
}

// intColumn reads an integer, date or timestamp column as int64s (nulls as 0).
func intColumn(a arrow.Array) ([]int64, []bool, error) {
	n := a.Len()
	out := make([]int64, n)
	var nulls []bool
	if a.NullN() > 0 {
		nulls = make([]bool, n)
	}
	fast := false
	switch c := a.(type) {
	case *array.Int64:
		copy(out, c.Int64Values())
		fast = true
	case *array.Timestamp:
		if c.DataType().(*arrow.TimestampType).Unit == arrow.Microsecond {
			for i, v := range c.TimestampValues() {
				out[i] = int64(v)
			}
			fast = true
		}
	}
	if !fast {
		for i := 0; i < n; i++ {
			v, err := lakehouse.ValueAt(a, i)
			if err != nil {
				return nil, nil, err
			}
			out[i] = v.Int
		}
	}
	if nulls != nil {
		for i := 0; i < n; i++ {
			if a.IsNull(i) {
				nulls[i], out[i] = true, 0
			}
		}
	}
	if nulls == nil {
		nulls = make([]bool, n)
	}
	return out, nulls, nil
}

func stringColumn(a arrow.Array) ([]string, []bool, error) {
	n := a.Len()
	out := make([]string, n)
	nulls := make([]bool, n)
	for i := 0; i < n; i++ {
		v, err := lakehouse.ValueAt(a, i)
		if err != nil {
			return nil, nil, err
		}
		out[i], nulls[i] = v.Str, v.IsNull()
	}
	return out, nulls, nil
}
