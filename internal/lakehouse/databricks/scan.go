package databricks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeport/lakeport/internal/lakehouse"
)

// readAll runs a statement and returns its batches (small results only:
// counts, history, properties, COPY INTO's summary).
func readAll(ctx context.Context, s session, st Statement) (*arrow.Schema, []arrow.RecordBatch, error) {
	rs, err := s.Query(ctx, st)
	if err != nil {
		return nil, nil, err
	}
	defer rs.Close()
	var out []arrow.RecordBatch
	for {
		rec, err := rs.Next(ctx)
		if errors.Is(err, io.EOF) {
			return rs.Schema(), out, nil
		}
		if err != nil {
			release(out)
			return nil, nil, err
		}
		out = append(out, rec)
	}
}

func release(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// column finds a column of a result by name (case-insensitive).
func column(rec arrow.RecordBatch, name string) arrow.Array {
	for i, f := range rec.Schema().Fields() {
		if strings.EqualFold(f.Name, name) {
			return rec.Column(i)
		}
	}
	return nil
}

func intAt(a arrow.Array, i int) (int64, bool) {
	if a == nil || a.IsNull(i) {
		return 0, false
	}
	switch v := a.(type) {
	case *array.Int64:
		return v.Value(i), true
	case *array.Int32:
		return int64(v.Value(i)), true
	case *array.String:
		var n int64
		_, err := fmt.Sscan(v.Value(i), &n)
		return n, err == nil
	}
	return 0, false
}

// queryCount runs a COUNT(*) statement.
func queryCount(ctx context.Context, s session, st Statement) (int64, error) {
	_, recs, err := readAll(ctx, s, st)
	if err != nil {
		return 0, err
	}
	defer release(recs)
	for _, r := range recs {
		if r.NumRows() > 0 {
			if n, ok := intAt(r.Column(0), 0); ok {
				return n, nil
			}
		}
	}
	return 0, fmt.Errorf("databricks: a count returned no number")
}

// latestVersion reads the table's latest commit.
func latestVersion(ctx context.Context, s session, name lakehouse.TableName) (int64, time.Time, error) {
	_, recs, err := readAll(ctx, s, historySQL(name))
	if err != nil {
		return 0, time.Time{}, classify(err, errContext{table: name, op: opDescribe})
	}
	defer release(recs)
	for _, r := range recs {
		if r.NumRows() == 0 {
			continue
		}
		v, ok := intAt(column(r, "version"), 0)
		if !ok {
			break
		}
		var ts time.Time
		if t, ok := column(r, "timestamp").(*array.Timestamp); ok && !t.IsNull(0) {
			unit := t.DataType().(*arrow.TimestampType).Unit
			ts = t.Value(0).ToTime(unit).UTC()
		}
		return v, ts, nil
	}
	return 0, time.Time{}, fmt.Errorf("%s: DESCRIBE HISTORY returned no version", name.Plain())
}

// probe returns the table's columns at a pinned version (and fails when
// the version is gone).
func probe(ctx context.Context, s session, name lakehouse.TableName, version int64) (*arrow.Schema, error) {
	schema, recs, err := readAll(ctx, s, probeSQL(name, version))
	if err != nil {
		return nil, classify(err, errContext{table: name, op: opScan, version: version})
	}
	release(recs)
	return schema, nil
}

// resolve finds a column of schema by name (exact, then
// case-insensitive) and returns the table's spelling.
func resolve(name lakehouse.TableName, schema *arrow.Schema, c string) (arrow.Field, error) {
	if err := lakehouse.ValidateColumnName(c); err != nil {
		return arrow.Field{}, fmt.Errorf("%s: %w", name.Plain(), err)
	}
	for _, f := range schema.Fields() {
		if f.Name == c {
			return f, nil
		}
	}
	for _, f := range schema.Fields() {
		if strings.EqualFold(f.Name, c) {
			return f, nil
		}
	}
	names := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		names[i] = f.Name
	}
	return arrow.Field{}, lakehouse.Invalidf("%s: unknown column %q (columns: %s)", name.Plain(), c, strings.Join(names, ", "))
}

func (l *Lakehouse) Scan(ctx context.Context, name lakehouse.TableName, req lakehouse.ScanRequest) (lakehouse.Rows, error) {
	if err := name.Validate(); err != nil {
		return nil, err
	}
	for _, c := range req.Columns {
		if err := lakehouse.ValidateColumnName(c); err != nil {
			return nil, fmt.Errorf("%s: %w", name.Plain(), err)
		}
	}
	if req.Version < 0 {
		return nil, lakehouse.Invalidf("%s: scan version %d is negative", name.Plain(), req.Version)
	}
	if req.Order != nil && req.Offset != 0 {
		return nil, lakehouse.Invalidf("%s: an ordered scan resumes with Order.After, not Offset", name.Plain())
	}
	if req.Offset < 0 {
		return nil, lakehouse.Invalidf("%s: negative offset %d", name.Plain(), req.Offset)
	}
	s, err := l.pool.Session(ctx)
	if err != nil {
		return nil, classify(err, errContext{table: name, op: opScan, version: req.Version})
	}
	rows, err := l.scan(ctx, s, name, req)
	if err != nil {
		s.Close()
		return nil, err
	}
	return rows, nil
}

func (l *Lakehouse) scan(ctx context.Context, s session, name lakehouse.TableName, req lakehouse.ScanRequest) (*scanRows, error) {
	ec := errContext{table: name, op: opScan, version: req.Version}
	schema, err := probe(ctx, s, name, req.Version)
	if err != nil {
		return nil, err
	}
	var cols []string
	for _, c := range req.Columns {
		f, err := resolve(name, schema, c)
		if err != nil {
			return nil, err
		}
		cols = append(cols, f.Name)
	}
	var data, count Statement
	if req.Order != nil {
		o, err := orderOf(name, schema, req.Order)
		if err != nil {
			return nil, err
		}
		if len(cols) == 0 {
			for _, f := range schema.Fields() {
				cols = append(cols, f.Name)
			}
		}
		cols = appendMissing(cols, o.Key)
		if o.Tie != "" {
			cols = appendMissing(cols, o.Tie)
		}
		data, count = orderedScanSQL(name, req.Version, cols, o), orderedCountSQL(name, req.Version, o)
	} else {
		data, count = unorderedScanSQL(name, req.Version, cols, req.Offset), countSQL(name, req.Version)
	}
	want, err := queryCount(ctx, s, count)
	if err != nil {
		return nil, classify(err, ec)
	}
	if req.Order == nil {
		want = max(0, want-req.Offset)
	}
	return l.open(ctx, s, data, want, req.BatchSize, ec)
}

func appendMissing(cols []string, c string) []string {
	for _, x := range cols {
		if x == c {
			return cols
		}
	}
	return append(append([]string(nil), cols...), c)
}

// orderOf checks an Order against the columns of the pinned version.
func orderOf(name lakehouse.TableName, schema *arrow.Schema, o *lakehouse.Order) (orderSpec, error) {
	kf, err := resolve(name, schema, o.Column)
	if err != nil {
		return orderSpec{}, err
	}
	kt, _ := canonicalType(kf.Type)
	keyKind, okKey, _ := lakehouse.OrderKind(kt)
	if !okKey {
		return orderSpec{}, lakehouse.Invalidf("%s: column %q has type %s; a scan can be ordered by a timestamp, timestamp_ntz, date or integer column", name.Plain(), kf.Name, kt)
	}
	spec := orderSpec{Key: kf.Name, KeyType: kt, After: o.After, From: o.From, Until: o.Until}
	var tieKind lakehouse.ValueKind
	if o.TieBreaker != "" {
		tf, err := resolve(name, schema, o.TieBreaker)
		if err != nil {
			return orderSpec{}, err
		}
		tt, _ := canonicalType(tf.Type)
		k, _, okTie := lakehouse.OrderKind(tt)
		if !okTie {
			return orderSpec{}, lakehouse.Invalidf("%s: tie-breaker column %q has type %s; want an integer, string, date or timestamp column", name.Plain(), tf.Name, tt)
		}
		if strings.EqualFold(tf.Name, kf.Name) {
			return orderSpec{}, lakehouse.Invalidf("%s: the tie-breaker column must differ from the order column %q", name.Plain(), kf.Name)
		}
		spec.Tie, spec.TieType, tieKind = tf.Name, tt, k
	}
	check := func(what string, v lakehouse.Value, want lakehouse.ValueKind) error {
		if v.IsNull() || v.Kind == want {
			return nil
		}
		return lakehouse.Invalidf("%s: %s: a %s value (%s) cannot bound a %s column", name.Plain(), what, v.Kind, v, want)
	}
	if o.After != nil {
		if err := check("after", o.After.Key, keyKind); err != nil {
			return orderSpec{}, err
		}
		if spec.Tie != "" {
			if err := check("after (tie-breaker)", o.After.Tie, tieKind); err != nil {
				return orderSpec{}, err
			}
		}
	}
	if o.From != nil {
		if err := check("from", *o.From, keyKind); err != nil {
			return orderSpec{}, err
		}
	}
	if o.Until != nil {
		if err := check("until", *o.Until, keyKind); err != nil {
			return orderSpec{}, err
		}
	}
	return spec, nil
}

// open runs the data statement and returns its rows, re-cut into batches
// of batchSize and checked against the count want.
func (l *Lakehouse) open(ctx context.Context, s session, st Statement, want int64, batchSize int, ec errContext) (*scanRows, error) {
	rs, err := s.Query(ctx, st)
	if err != nil {
		return nil, classify(err, ec)
	}
	return &scanRows{s: s, rs: rs, want: want, batch: int64(l.batchSize(batchSize)), ec: ec}, nil
}

// scanRows streams a result in batches of a fixed size and fails, rather
// than ending early, when the rows received fall short of the count the
// same snapshot gave: a broken stream is an error, never fewer rows.
type scanRows struct {
	s     session
	rs    resultSet
	want  int64
	got   int64
	batch int64
	ec    errContext

	cur    arrow.RecordBatch // the batch being cut
	off    int64
	err    error
	closed bool
}

func (r *scanRows) Schema() *arrow.Schema { return r.rs.Schema() }

func (r *scanRows) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if r.err != nil {
		return nil, r.err
	}
	// gather slices of pages until a batch is full or the result ends
	var parts []arrow.RecordBatch
	var n int64
	defer func() { release(parts) }()
	for n < r.batch {
		if r.cur == nil || r.off >= r.cur.NumRows() {
			if r.cur != nil {
				r.cur.Release()
				r.cur = nil
			}
			rec, err := r.rs.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.err = classify(err, r.ec)
				return nil, r.err
			}
			r.cur, r.off = rec, 0
			continue
		}
		k := min(r.batch-n, r.cur.NumRows()-r.off)
		parts = append(parts, r.cur.NewSlice(r.off, r.off+k))
		r.off += k
		n += k
	}
	r.got += n
	if r.got > r.want {
		r.err = classify(fmt.Errorf("the result holds more rows than its count (%d)", r.want), r.ec)
		return nil, r.err
	}
	if n == 0 {
		if r.got != r.want {
			r.err = classify(fmt.Errorf("%w: received %d of %d rows", errTruncated, r.got, r.want), r.ec)
			return nil, r.err
		}
		return nil, io.EOF
	}
	if len(parts) == 1 {
		out := parts[0]
		parts = nil
		return out, nil
	}
	out, err := concat(r.rs.Schema(), parts)
	if err != nil {
		r.err = err
		return nil, err
	}
	return out, nil
}

// concat joins batches of one schema.
func concat(schema *arrow.Schema, parts []arrow.RecordBatch) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, schema.NumFields())
	var rows int64
	for _, p := range parts {
		rows += p.NumRows()
	}
	for i := range cols {
		arrs := make([]arrow.Array, len(parts))
		for j, p := range parts {
			arrs[j] = p.Column(i)
		}
		c, err := array.Concatenate(arrs, memory.DefaultAllocator)
		if err != nil {
			for _, x := range cols[:i] {
				x.Release()
			}
			return nil, fmt.Errorf("databricks: joining result pages: %w", err)
		}
		cols[i] = c
	}
	out := array.NewRecordBatch(schema, cols, rows)
	for _, c := range cols {
		c.Release()
	}
	return out, nil
}

func (r *scanRows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	err := r.rs.Close()
	return errors.Join(err, r.s.Close())
}

func (l *Lakehouse) CountNulls(ctx context.Context, name lakehouse.TableName, version int64, column string) (int64, error) {
	if err := name.Validate(); err != nil {
		return 0, err
	}
	if err := lakehouse.ValidateColumnName(column); err != nil {
		return 0, fmt.Errorf("%s: %w", name.Plain(), err)
	}
	s, err := l.pool.Session(ctx)
	if err != nil {
		return 0, classify(err, errContext{table: name, op: opScan, version: version})
	}
	defer s.Close()
	schema, err := probe(ctx, s, name, version)
	if err != nil {
		return 0, err
	}
	f, err := resolve(name, schema, column)
	if err != nil {
		return 0, err
	}
	n, err := queryCount(ctx, s, countNullsSQL(name, version, f.Name))
	if err != nil {
		return 0, classify(err, errContext{table: name, op: opScan, version: version})
	}
	return n, nil
}

// Changes reads table_changes between two versions. The range's end must
// exist (checked against DESCRIBE HISTORY); the feed's schema and
// availability come from a probe, then the count and the rows.
func (l *Lakehouse) Changes(ctx context.Context, name lakehouse.TableName, req lakehouse.ChangesRequest) (lakehouse.Rows, error) {
	if err := name.Validate(); err != nil {
		return nil, err
	}
	if req.StartVersion < 0 || req.EndVersion < req.StartVersion {
		return nil, lakehouse.Invalidf("%s: bad change range %d..%d", name.Plain(), req.StartVersion, req.EndVersion)
	}
	for _, c := range req.Columns {
		if err := lakehouse.ValidateColumnName(c); err != nil {
			return nil, fmt.Errorf("%s: %w", name.Plain(), err)
		}
	}
	ec := errContext{table: name, op: opChanges, start: req.StartVersion, end: req.EndVersion}
	s, err := l.pool.Session(ctx)
	if err != nil {
		return nil, classify(err, ec)
	}
	rows, err := l.changes(ctx, s, name, req, ec)
	if err != nil {
		s.Close()
		return nil, err
	}
	return rows, nil
}

func (l *Lakehouse) changes(ctx context.Context, s session, name lakehouse.TableName, req lakehouse.ChangesRequest, ec errContext) (*scanRows, error) {
	latest, _, err := latestVersion(ctx, s, name)
	if err != nil {
		return nil, err
	}
	if req.EndVersion > latest {
		return nil, lakehouse.Invalidf("%s: change range %d..%d ends after the latest version %d", name.Plain(), req.StartVersion, req.EndVersion, latest)
	}
	schema, recs, err := readAll(ctx, s, changesProbeSQL(name, req.StartVersion, req.EndVersion))
	if err != nil {
		return nil, classify(err, ec)
	}
	release(recs)
	var table []arrow.Field
	for _, f := range schema.Fields() {
		switch f.Name {
		case lakehouse.ChangeTypeColumn, lakehouse.CommitVersionColumn, lakehouse.CommitTimestampColumn:
			continue
		}
		table = append(table, f)
	}
	tableSchema := arrow.NewSchema(table, nil)
	var cols []string
	if len(req.Columns) == 0 {
		for _, f := range table {
			cols = append(cols, f.Name)
		}
	}
	for _, c := range req.Columns {
		f, err := resolve(name, tableSchema, c)
		if err != nil {
			return nil, err
		}
		cols = append(cols, f.Name)
	}
	var sortCols []string
	for _, f := range table {
		if sortable(f.Type) {
			sortCols = append(sortCols, f.Name)
		}
	}
	want, err := queryCount(ctx, s, changesCountSQL(name, req.StartVersion, req.EndVersion))
	if err != nil {
		return nil, classify(err, ec)
	}
	return l.open(ctx, s, changesSQL(name, req.StartVersion, req.EndVersion, cols, sortCols), want, req.BatchSize, ec)
}

// sortable reports whether Databricks can ORDER BY a column of this type
// (maps, and anything holding a map, cannot be sorted).
func sortable(t arrow.DataType) bool {
	switch v := t.(type) {
	case *arrow.MapType:
		return false
	case *arrow.ListType:
		return sortable(v.Elem())
	case *arrow.StructType:
		for _, f := range v.Fields() {
			if !sortable(f.Type) {
				return false
			}
		}
	}
	return true
}
