package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakeport/lakeport/internal/blob"
	"github.com/lakeport/lakeport/internal/delta"
	"github.com/lakeport/lakeport/internal/delta/predicate"
	"github.com/lakeport/lakeport/internal/lakehouse"
)

func init() {
	lakehouse.Register("local", func(ctx context.Context, location string) (lakehouse.Lakehouse, error) {
		return Open(location, Options{})
	})
}

// Options tune the driver; the zero value is the default.
type Options struct {
	// WindowRows is the number of rows an ordered scan aims to hold (and
	// sort) in memory at once; a window that turns out to hold more than
	// twice this is split and read again. Default 1 << 20.
	WindowRows int64
	// BatchSize is the default number of rows per batch (default 64 Ki).
	BatchSize int
}

// DefaultWindowRows is Options.WindowRows when unset.
const DefaultWindowRows = 1 << 20

// Lakehouse serves the Delta tables under a directory laid out as
// catalog/schema/table. It is safe for concurrent use.
type Lakehouse struct {
	root string
	opts Options

	mu     sync.Mutex
	tables map[lakehouse.TableName]*delta.Table
}

var _ lakehouse.Lakehouse = (*Lakehouse)(nil)

// Open opens the lakehouse rooted at dir, which must exist.
func Open(dir string, opts Options) (*Lakehouse, error) {
	if dir == "" {
		return nil, lakehouse.Invalidf("local lakehouse: no directory given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("local lakehouse: %w", err)
	}
	if !st.IsDir() {
		return nil, lakehouse.Invalidf("local lakehouse: %s is not a directory", dir)
	}
	if opts.WindowRows <= 0 {
		opts.WindowRows = DefaultWindowRows
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = delta.DefaultBatchSize
	}
	return &Lakehouse{root: abs, opts: opts, tables: map[lakehouse.TableName]*delta.Table{}}, nil
}

// Root is the lakehouse directory.
func (l *Lakehouse) Root() string { return l.root }

// TablePath is the directory of a table (it need not exist).
func (l *Lakehouse) TablePath(name lakehouse.TableName) (string, error) {
	if err := name.Validate(); err != nil {
		return "", err
	}
	return filepath.Join(l.root, name.Catalog, name.Schema, name.Table), nil
}

// Close releases the open tables.
func (l *Lakehouse) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for n, t := range l.tables {
		errs = append(errs, t.Close())
		delete(l.tables, n)
	}
	return errors.Join(errs...)
}

func (l *Lakehouse) Catalogs(ctx context.Context) ([]string, error) {
	return subdirs(l.root, "catalog")
}

func (l *Lakehouse) Schemas(ctx context.Context, catalog string) ([]string, error) {
	if err := lakehouse.ValidateName("catalog", catalog); err != nil {
		return nil, err
	}
	dir := filepath.Join(l.root, catalog)
	if !isDir(dir) {
		return nil, &lakehouse.NotFoundError{What: "catalog", Name: catalog}
	}
	return subdirs(dir, "schema")
}

func (l *Lakehouse) Tables(ctx context.Context, catalog, schema string) ([]lakehouse.TableInfo, error) {
	if err := lakehouse.ValidateName("catalog", catalog); err != nil {
		return nil, err
	}
	if err := lakehouse.ValidateName("schema", schema); err != nil {
		return nil, err
	}
	dir := filepath.Join(l.root, catalog, schema)
	if !isDir(dir) {
		if !isDir(filepath.Join(l.root, catalog)) {
			return nil, &lakehouse.NotFoundError{What: "catalog", Name: catalog}
		}
		return nil, &lakehouse.NotFoundError{What: "schema", Name: catalog + "." + schema}
	}
	names, err := subdirs(dir, "table")
	if err != nil {
		return nil, err
	}
	var out []lakehouse.TableInfo
	for _, n := range names {
		if isDir(filepath.Join(dir, n, "_delta_log")) {
			out = append(out, lakehouse.TableInfo{Name: lakehouse.TableName{Catalog: catalog, Schema: schema, Table: n}, Kind: lakehouse.KindTable})
		}
	}
	return out, nil
}

// subdirs lists the directories of dir whose names are valid names
// (hidden and other entries are not part of the catalog).
func subdirs(dir, what string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("local lakehouse: %w", err)
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "_") {
			continue
		}
		if lakehouse.ValidateName(what, e.Name()) != nil {
			continue
		}
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// table opens (once) the Delta table behind name.
func (l *Lakehouse) table(ctx context.Context, name lakehouse.TableName) (*delta.Table, error) {
	dir, err := l.TablePath(name)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.tables[name]; ok {
		return t, nil
	}
	if !isDir(filepath.Join(dir, "_delta_log")) {
		return nil, &lakehouse.NotFoundError{What: "table", Name: name.Plain()}
	}
	t, err := delta.Open(ctx, dir)
	if err != nil {
		return nil, err
	}
	l.tables[name] = t
	return t, nil
}

func (l *Lakehouse) snapshot(ctx context.Context, name lakehouse.TableName, at delta.At) (*delta.Snapshot, error) {
	t, err := l.table(ctx, name)
	if err != nil {
		return nil, err
	}
	s, err := t.Snapshot(ctx, at)
	if err != nil {
		return nil, wrapDelta(name, err)
	}
	return s, nil
}

// wrapDelta classifies a kernel error for the port.
func wrapDelta(name lakehouse.TableName, err error) error {
	var ve *delta.VersionError
	var ue *delta.UnsupportedError
	var ce *delta.CDFUnavailableError
	switch {
	case errors.As(err, &ce):
		return &lakehouse.ChangesUnavailableError{Table: name, Start: ce.Start, End: ce.End, Reason: ce.Reason, Err: err}
	case errors.Is(err, delta.ErrNotATable):
		return &lakehouse.NotFoundError{What: "table", Name: name.Plain()}
	case errors.As(err, &ve):
		return &lakehouse.InvalidError{Reason: fmt.Sprintf("%s: %s", name.Plain(), ve.Reason)}
	case errors.As(err, &ue):
		return &lakehouse.UnsupportedError{What: name.Plain(), Err: err}
	}
	return err
}

func (l *Lakehouse) Describe(ctx context.Context, name lakehouse.TableName) (*lakehouse.Description, error) {
	s, err := l.snapshot(ctx, name, delta.Latest())
	if err != nil {
		return nil, err
	}
	d := &lakehouse.Description{
		Name: name, Kind: lakehouse.KindTable, Format: lakehouse.FormatDelta,
		PartitionColumns: append([]string(nil), s.PartitionColumns()...),
		ChangeDataFeed:   s.ChangeDataFeedEnabled(),
		Version:          s.Version(),
		VersionTime:      s.Timestamp(),
		Properties:       map[string]string{},
	}
	for k, v := range s.Metadata().Configuration {
		d.Properties[k] = v
	}
	for _, f := range s.Schema().Fields {
		d.Columns = append(d.Columns, lakehouse.Column{Name: f.Name, Type: SQLType(f.Type), Nullable: f.Nullable})
	}
	return d, nil
}

// SQLType renders a Delta type as its canonical Databricks SQL type.
func SQLType(t delta.DataType) string {
	switch v := t.(type) {
	case *delta.PrimitiveType:
		switch v.Name {
		case "long":
			return "bigint"
		case "integer":
			return "int"
		case "short":
			return "smallint"
		case "byte":
			return "tinyint"
		}
		return v.Name
	case *delta.DecimalType:
		return fmt.Sprintf("decimal(%d,%d)", v.Precision, v.Scale)
	case *delta.ArrayType:
		return "array<" + SQLType(v.Element) + ">"
	case *delta.MapType:
		return "map<" + SQLType(v.Key) + "," + SQLType(v.Value) + ">"
	case *delta.StructType:
		parts := make([]string, len(v.Fields))
		for i, f := range v.Fields {
			parts[i] = f.Name + ":" + SQLType(f.Type)
		}
		return "struct<" + strings.Join(parts, ",") + ">"
	}
	return t.String()
}

// resolveColumns checks a projection against the schema and returns the
// table's spelling of each name.
func resolveColumns(name lakehouse.TableName, s *delta.Snapshot, cols []string) ([]string, error) {
	out := make([]string, 0, len(cols))
	for _, c := range cols {
		f, err := resolveColumn(name, s, c)
		if err != nil {
			return nil, err
		}
		out = append(out, f.Name)
	}
	return out, nil
}

func resolveColumn(name lakehouse.TableName, s *delta.Snapshot, c string) (*delta.StructField, error) {
	if err := lakehouse.ValidateColumnName(c); err != nil {
		return nil, fmt.Errorf("%s: %w", name.Plain(), err)
	}
	f := s.Schema().Field(c)
	if f == nil {
		names := make([]string, len(s.Schema().Fields))
		for i, f := range s.Schema().Fields {
			names[i] = f.Name
		}
		return nil, lakehouse.Invalidf("%s: unknown column %q (columns: %s)", name.Plain(), c, strings.Join(names, ", "))
	}
	return f, nil
}

func (l *Lakehouse) batchSize(n int) int {
	if n > 0 {
		return n
	}
	return l.opts.BatchSize
}

func (l *Lakehouse) Scan(ctx context.Context, name lakehouse.TableName, req lakehouse.ScanRequest) (lakehouse.Rows, error) {
	if req.Version < 0 {
		return nil, lakehouse.Invalidf("%s: scan version %d is negative", name.Plain(), req.Version)
	}
	s, err := l.snapshot(ctx, name, delta.AtVersion(req.Version))
	if err != nil {
		var ve *delta.VersionError
		if errors.As(err, &ve) && strings.Contains(ve.Reason, "cannot be reconstructed") {
			return nil, &lakehouse.VersionUnavailableError{Table: name, Version: req.Version, Reason: ve.Reason, Err: err}
		}
		return nil, err
	}
	cols, err := resolveColumns(name, s, req.Columns)
	if err != nil {
		return nil, err
	}
	if req.Order != nil {
		if req.Offset != 0 {
			return nil, lakehouse.Invalidf("%s: an ordered scan resumes with Order.After, not Offset", name.Plain())
		}
		return l.orderedScan(ctx, name, s, cols, req)
	}
	if req.Offset < 0 {
		return nil, lakehouse.Invalidf("%s: negative offset %d", name.Plain(), req.Offset)
	}
	b, err := s.Scan(ctx, delta.ScanOptions{Columns: cols, BatchSize: l.batchSize(req.BatchSize), Ordered: true})
	if err != nil {
		return nil, wrapDelta(name, err)
	}
	return &skipRows{Batches: b, skip: req.Offset, name: name, version: req.Version}, nil
}

// versionError classifies an error met while reading a version's files: a
// missing file means the version was vacuumed.
func versionError(name lakehouse.TableName, version int64, err error) error {
	if errors.Is(err, blob.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return &lakehouse.VersionUnavailableError{Table: name, Version: version, Reason: "a data file was removed (vacuumed)", Err: err}
	}
	return wrapDelta(name, err)
}

// skipRows drops the first rows of a stream (an unordered scan's offset).
type skipRows struct {
	delta.Batches
	skip    int64
	name    lakehouse.TableName
	version int64
}

func (r *skipRows) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for {
		rec, err := r.Batches.Next(ctx)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, versionError(r.name, r.version, err)
		}
		if err != nil || r.skip == 0 {
			return rec, err
		}
		n := rec.NumRows()
		if n <= r.skip {
			r.skip -= n
			rec.Release()
			continue
		}
		out := rec.NewSlice(r.skip, n)
		rec.Release()
		r.skip = 0
		return out, nil
	}
}

func (l *Lakehouse) CountNulls(ctx context.Context, name lakehouse.TableName, version int64, column string) (int64, error) {
	s, err := l.snapshot(ctx, name, delta.AtVersion(version))
	if err != nil {
		return 0, err
	}
	f, err := resolveColumn(name, s, column)
	if err != nil {
		return 0, err
	}
	where := predicate.IsNull{Column: predicate.Column{Path: []string{f.Name}}}
	b, err := s.Scan(ctx, delta.ScanOptions{Columns: []string{f.Name}, Where: where.String()})
	if err != nil {
		return 0, wrapDelta(name, err)
	}
	defer b.Close()
	var n int64
	for {
		rec, err := b.Next(ctx)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return 0, wrapDelta(name, err)
		}
		n += rec.NumRows()
		rec.Release()
	}
}

func (l *Lakehouse) Changes(ctx context.Context, name lakehouse.TableName, req lakehouse.ChangesRequest) (lakehouse.Rows, error) {
	t, err := l.table(ctx, name)
	if err != nil {
		return nil, err
	}
	if req.StartVersion < 0 || req.EndVersion < req.StartVersion {
		return nil, lakehouse.Invalidf("%s: bad change range %d..%d", name.Plain(), req.StartVersion, req.EndVersion)
	}
	var cols []string
	if len(req.Columns) > 0 {
		s, err := l.snapshot(ctx, name, delta.AtVersion(req.EndVersion))
		if err != nil {
			return nil, err
		}
		if cols, err = resolveColumns(name, s, req.Columns); err != nil {
			return nil, err
		}
		cols = append(cols, delta.ChangeTypeColumn, delta.CommitVersionColumn, delta.CommitTimestampColumn)
	}
	start, end := req.StartVersion, req.EndVersion
	b, err := t.Changes(ctx, delta.ChangesOptions{StartVersion: &start, EndVersion: &end, Columns: cols, BatchSize: l.batchSize(req.BatchSize)})
	if err != nil {
		return nil, wrapDelta(name, err)
	}
	return &changeRows{Batches: b, name: name}, nil
}

// changeRows classifies errors met while streaming (a vacuumed file).
type changeRows struct {
	delta.Batches
	name lakehouse.TableName
}

func (c *changeRows) Next(ctx context.Context) (arrow.RecordBatch, error) {
	rec, err := c.Batches.Next(ctx)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, wrapDelta(c.name, err)
	}
	return rec, err
}

// notExist reports a missing file (for staged files).
func notExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
