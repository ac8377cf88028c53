package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/google/uuid"

	"github.com/lakeport/lakeport/internal/delta"
	"github.com/lakeport/lakeport/internal/format"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/lakehouse/staging"
)

// Load commits staged Parquet or CSV files into a table in one Delta commit
// carrying a txn action (appId = Key.App, version = Key.Version), so a
// repeated load with the same key is a no-op. Staged Parquet files the
// table can take as they are become its data files without being re-read
// (see adoptStaged); other files are read and written again through the
// Delta writer. LoadReplace builds the new table in a sibling directory
// and swaps it in with two renames; a crash between them leaves no table,
// which the retried load creates.
func (l *Lakehouse) Load(ctx context.Context, name lakehouse.TableName, req lakehouse.LoadRequest) (*lakehouse.LoadResult, error) {
	dir, err := l.TablePath(name)
	if err != nil {
		return nil, err
	}
	if req.Key.App == "" {
		return nil, lakehouse.Invalidf("%s: a load needs an idempotency key (App)", name.Plain())
	}
	if req.Staging == nil {
		return nil, lakehouse.Invalidf("%s: a load needs a staging area", name.Plain())
	}
	if len(req.Files) == 0 {
		return nil, lakehouse.Invalidf("%s: a load needs at least one staged file", name.Plain())
	}
	mode := req.Mode
	if mode == "" {
		mode = lakehouse.LoadAppend
	}
	switch mode {
	case lakehouse.LoadAppend, lakehouse.LoadOverwrite:
	case lakehouse.LoadReplace:
		return l.replace(ctx, name, dir, req)
	default:
		return nil, lakehouse.Invalidf("%s: unknown load mode %q (append, overwrite, replace)", name.Plain(), mode)
	}
	res := &lakehouse.LoadResult{}
	t, err := l.table(ctx, name)
	var nf *lakehouse.NotFoundError
	switch {
	case errors.As(err, &nf) && req.Create:
		created, err := l.create(ctx, name, dir, req)
		if err != nil {
			return nil, err
		}
		res.Created = created
		if t, err = l.table(ctx, name); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	}
	snap, err := t.Snapshot(ctx, delta.Latest())
	if err != nil {
		return nil, wrapDelta(name, err)
	}
	if v, ok := snap.AppTransactionVersion(req.Key.App); ok && v >= req.Key.Version {
		return &lakehouse.LoadResult{Version: snap.Version(), Skipped: true}, nil
	}
	o := delta.WriteOptions{AppID: req.Key.App, AppVersion: req.Key.Version}
	if allParquet(req) {
		adopt := t.AppendParquet
		if mode == lakehouse.LoadOverwrite {
			adopt = t.OverwriteParquet
		}
		cr, ok, err := adoptStaged(ctx, dir, req, func(keys []string) (*delta.CommitResult, error) { return adopt(ctx, keys, o) })
		if err != nil {
			return nil, wrapDelta(name, err)
		}
		if ok {
			res.Version, res.Skipped, res.Rows = cr.Version, cr.Skipped, cr.RowsInserted
			return res, nil
		}
	}
	src, err := openStaged(ctx, req, snap.ArrowSchema())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name.Plain(), err)
	}
	defer src.Close()
	var cr *delta.CommitResult
	if mode == lakehouse.LoadOverwrite {
		cr, err = t.Overwrite(ctx, src, o)
	} else {
		cr, err = t.Append(ctx, src, o)
	}
	if err != nil {
		return nil, wrapDelta(name, err)
	}
	res.Version, res.Skipped, res.Rows = cr.Version, cr.Skipped, cr.RowsInserted
	return res, nil
}

// create makes an empty table with the request's schema (or the first
// file's columns); false when another writer created it first.
func (l *Lakehouse) create(ctx context.Context, name lakehouse.TableName, dir string, req lakehouse.LoadRequest) (bool, error) {
	schema := req.Schema
	if schema == nil {
		src, err := openStaged(ctx, lakehouse.LoadRequest{Staging: req.Staging, Files: req.Files[:1], Format: req.Format}, nil)
		if err != nil {
			return false, fmt.Errorf("%s: %w", name.Plain(), err)
		}
		schema = src.Schema()
		src.Close()
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return false, err
	}
	ct, err := delta.Create(ctx, dir, delta.TableSpec{Schema: schema, Properties: req.Properties, Name: name.Table})
	if err != nil {
		if strings.Contains(err.Error(), "already exists") {
			return false, nil
		}
		return false, fmt.Errorf("%s: %w", name.Plain(), err)
	}
	ct.Close()
	return true, nil
}

// replace drops the table and creates it again from the files.
func (l *Lakehouse) replace(ctx context.Context, name lakehouse.TableName, dir string, req lakehouse.LoadRequest) (*lakehouse.LoadResult, error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	// leftovers of a replace that crashed between its renames
	if old, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), "."+name.Table+".*-[0-9]*")); len(old) > 0 {
		for _, p := range old {
			os.RemoveAll(p)
		}
	}
	stamp := fmt.Sprintf("%d", time.Now().UnixNano())
	build := filepath.Join(filepath.Dir(dir), "."+name.Table+".replace-"+stamp)
	defer os.RemoveAll(build)
	src, err := openStaged(ctx, req, req.Schema)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name.Plain(), err)
	}
	defer src.Close()
	schema := req.Schema
	if schema == nil {
		schema = src.Schema()
	}
	t, err := delta.Create(ctx, build, delta.TableSpec{Schema: schema, Properties: req.Properties, Name: name.Table})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name.Plain(), err)
	}
	o := delta.WriteOptions{AppID: req.Key.App, AppVersion: req.Key.Version}
	var cr *delta.CommitResult
	adopted := false
	if allParquet(req) {
		cr, adopted, err = adoptStaged(ctx, build, req, func(keys []string) (*delta.CommitResult, error) { return t.AppendParquet(ctx, keys, o) })
	}
	if err == nil && !adopted {
		cr, err = t.Append(ctx, src, o)
	}
	t.Close()
	if err != nil {
		return nil, wrapDelta(name, err)
	}
	// swap: the old table goes to a trash name, the new one takes its place
	l.forget(name)
	trash := filepath.Join(filepath.Dir(dir), "."+name.Table+".dropped-"+stamp)
	if err := os.Rename(dir, trash); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: dropping the old table: %w", name.Plain(), err)
	}
	if err := os.Rename(build, dir); err != nil {
		return nil, fmt.Errorf("%s: installing the new table: %w", name.Plain(), err)
	}
	os.RemoveAll(trash)
	return &lakehouse.LoadResult{Version: cr.Version, Rows: cr.RowsInserted, Created: true}, nil
}

// allParquet reports whether every staged file of the request is Parquet.
func allParquet(req lakehouse.LoadRequest) bool {
	for _, name := range req.Files {
		f := req.Format
		if f == "" {
			f, _ = format.FormatOf(name)
		}
		if f != lakehouse.FormatParquet {
			return false
		}
	}
	return true
}

// adoptStaged loads staged Parquet files without re-encoding them: each is
// placed in the table directory dir under a fresh data file name (a hard
// link to the staged file when the staging area is a local directory on
// the same file system, else a copy), then commit (the table's
// AppendParquet or OverwriteParquet) adopts them. ok is false when a file
// could not be placed or the table or a file cannot be adopted as it is
// (delta.ErrNotAdoptable): nothing was committed and the caller re-encodes
// the rows (and reports a missing or unreadable file). Placed files that
// end up in no commit (a refusal, an error, a skipped load) are removed
// here; the staged files are never touched.
func adoptStaged(ctx context.Context, dir string, req lakehouse.LoadRequest, commit func(keys []string) (*delta.CommitResult, error)) (cr *delta.CommitResult, ok bool, err error) {
	keys := make([]string, 0, len(req.Files))
	var placed []string
	defer func() {
		if !ok || cr.Skipped {
			for _, p := range placed {
				os.Remove(p)
			}
		}
	}()
	for i, name := range req.Files {
		key := fmt.Sprintf("part-%05d-%s-c000.parquet", i, uuid.NewString())
		p := filepath.Join(dir, key)
		if err := placeStaged(ctx, req.Staging, name, p); err != nil {
			return nil, false, ctx.Err()
		}
		placed = append(placed, p)
		keys = append(keys, key)
	}
	cr, err = commit(keys)
	switch {
	case errors.Is(err, delta.ErrNotAdoptable):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	return cr, true, nil
}

// placeStaged puts a staged file at path dst: a hard link when the area is
// a local directory on dst's file system, else a streamed copy (synced).
// A link shares the staged file's inode, whose modification time is set to
// now, so that a concurrent vacuum never takes the not yet committed file
// for an old leftover.
func placeStaged(ctx context.Context, area staging.Area, name, dst string) error {
	if la, ok := area.(staging.LocalArea); ok {
		src := la.LocalPath(name)
		// link(2) does not follow a symbolic link: link regular files only
		if fi, err := os.Lstat(src); err == nil && fi.Mode().IsRegular() && os.Link(src, dst) == nil {
			now := time.Now()
			os.Chtimes(dst, now, now)
			return nil
		}
	}
	r, err := area.Open(ctx, name)
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
	}
	return err
}

// forget drops a cached table handle (the directory changed under it).
func (l *Lakehouse) forget(name lakehouse.TableName) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.tables[name]; ok {
		t.Close()
		delete(l.tables, name)
	}
}

// multiSource reads several staged files of one schema as one source.
type multiSource struct {
	ctx    context.Context
	req    lakehouse.LoadRequest
	types  *arrow.Schema
	schema *arrow.Schema
	cur    format.Source
	temp   string // a local copy of the current file, removed on close
	i      int
}

func openStaged(ctx context.Context, req lakehouse.LoadRequest, types *arrow.Schema) (*multiSource, error) {
	if types == nil {
		types = arrow.NewSchema(nil, nil)
	}
	m := &multiSource{ctx: ctx, req: req, types: types}
	if err := m.open(0); err != nil {
		return nil, err
	}
	m.schema = m.cur.Schema()
	return m, nil
}

func (m *multiSource) open(i int) error {
	name := m.req.Files[i]
	f := m.req.Format
	if f == "" {
		var err error
		if f, err = format.FormatOf(name); err != nil {
			return lakehouse.Invalidf("staged file %s: %v", name, err)
		}
	}
	if f != lakehouse.FormatParquet && f != lakehouse.FormatCSV && f != lakehouse.FormatCSVGzip {
		return lakehouse.Invalidf("staged file %s: format %q (parquet, csv or csv.gz)", name, f)
	}
	path, temp, err := localCopy(m.ctx, m.req.Staging, name)
	if err != nil {
		return err
	}
	src, err := format.OpenFile(path, f, m.types)
	if err != nil {
		removeTemp(temp)
		return fmt.Errorf("staged file %s: %w", name, err)
	}
	if m.schema != nil && !src.Schema().Equal(m.schema) {
		src.Close()
		removeTemp(temp)
		return lakehouse.Invalidf("staged file %s: its columns (%s) differ from the first file's (%s)", name, src.Schema(), m.schema)
	}
	m.cur, m.temp, m.i = src, temp, i
	return nil
}

// localCopy returns a local path of a staged file: in place for a local
// area, else a temporary copy (temp is then its path, to remove).
func localCopy(ctx context.Context, area staging.Area, name string) (path, temp string, err error) {
	if la, ok := area.(staging.LocalArea); ok {
		p := la.LocalPath(name)
		if _, err := os.Stat(p); err != nil {
			if notExist(err) {
				return "", "", lakehouse.Invalidf("staged file %s does not exist in %s", name, area)
			}
			return "", "", err
		}
		return p, "", nil
	}
	r, err := area.Open(ctx, name)
	if err != nil {
		return "", "", fmt.Errorf("staged file %s in %s: %w", name, area, err)
	}
	defer r.Close()
	f, err := os.CreateTemp("", "lakeport-staged-*-"+filepath.Base(name))
	if err != nil {
		return "", "", err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", "", fmt.Errorf("staged file %s in %s: %w", name, area, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", "", err
	}
	return f.Name(), f.Name(), nil
}

func removeTemp(p string) {
	if p != "" {
		os.Remove(p)
	}
}

func (m *multiSource) Schema() *arrow.Schema { return m.schema }

func (m *multiSource) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for {
		rec, err := m.cur.Next(ctx)
		if !errors.Is(err, io.EOF) {
			return rec, err
		}
		if m.i+1 >= len(m.req.Files) {
			return nil, io.EOF
		}
		m.closeCurrent()
		if err := m.open(m.i + 1); err != nil {
			return nil, err
		}
	}
}

func (m *multiSource) closeCurrent() error {
	if m.cur == nil {
		return nil
	}
	err := m.cur.Close()
	removeTemp(m.temp)
	m.cur, m.temp = nil, ""
	return err
}

func (m *multiSource) Close() error { return m.closeCurrent() }
