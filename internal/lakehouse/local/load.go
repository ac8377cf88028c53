package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakeport/lakeport/internal/delta"
	"github.com/lakeport/lakeport/internal/format"
	"github.com/lakeport/lakeport/internal/lakehouse"
)

// Load commits staged Parquet or CSV files (local paths) into a table in one
// Delta commit carrying a txn action (appId = Key.App, version =
// Key.Version), so a repeated load with the same key is a no-op.
func (l *Lakehouse) Load(ctx context.Context, name lakehouse.TableName, req lakehouse.LoadRequest) (*lakehouse.LoadResult, error) {
	dir, err := l.TablePath(name)
	if err != nil {
		return nil, err
	}
	if req.Key.App == "" {
		return nil, lakehouse.Invalidf("%s: a load needs an idempotency key (App)", name.Plain())
	}
	if len(req.Files) == 0 {
		return nil, lakehouse.Invalidf("%s: a load needs at least one staged file", name.Plain())
	}
	mode := req.Mode
	if mode == "" {
		mode = lakehouse.LoadAppend
	}
	if mode != lakehouse.LoadAppend && mode != lakehouse.LoadOverwrite {
		return nil, lakehouse.Invalidf("%s: unknown load mode %q (append, overwrite)", name.Plain(), mode)
	}
	res := &lakehouse.LoadResult{}
	t, err := l.table(ctx, name)
	var nf *lakehouse.NotFoundError
	var types *arrow.Schema
	switch {
	case errors.As(err, &nf) && req.Create:
		src, err := openStaged(req.Files[:1], req.Format, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name.Plain(), err)
		}
		schema := src.Schema()
		src.Close()
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return nil, err
		}
		ct, err := delta.Create(ctx, dir, delta.TableSpec{Schema: schema, Properties: req.Properties, Name: name.Table})
		if err != nil && !strings.Contains(err.Error(), "already exists") {
			return nil, fmt.Errorf("%s: %w", name.Plain(), err)
		}
		if ct != nil {
			ct.Close()
			res.Created = true
		}
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
	types = snap.ArrowSchema()
	if v, ok := snap.AppTransactionVersion(req.Key.App); ok && v >= req.Key.Version {
		return &lakehouse.LoadResult{Version: snap.Version(), Skipped: true}, nil
	}
	src, err := openStaged(req.Files, req.Format, types)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name.Plain(), err)
	}
	defer src.Close()
	o := delta.WriteOptions{AppID: req.Key.App, AppVersion: req.Key.Version}
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

// multiSource reads several staged files of one schema as one source.
type multiSource struct {
	files  []string
	format string
	types  *arrow.Schema
	schema *arrow.Schema
	cur    format.Source
	i      int
}

func openStaged(files []string, f string, types *arrow.Schema) (*multiSource, error) {
	if types == nil {
		types = arrow.NewSchema(nil, nil)
	}
	m := &multiSource{files: files, format: f, types: types}
	if err := m.open(0); err != nil {
		return nil, err
	}
	m.schema = m.cur.Schema()
	return m, nil
}

func (m *multiSource) open(i int) error {
	p := m.files[i]
	f := m.format
	if f == "" {
		var err error
		if f, err = format.FormatOf(p); err != nil {
			return err
		}
	}
	if f != "parquet" && f != "csv" {
		return lakehouse.Invalidf("staged file %s: format %q (parquet or csv)", p, f)
	}
	src, err := format.OpenFile(p, f, m.types)
	if err != nil {
		if notExist(err) {
			return lakehouse.Invalidf("staged file %s does not exist", p)
		}
		return err
	}
	if m.schema != nil && !src.Schema().Equal(m.schema) {
		src.Close()
		return lakehouse.Invalidf("staged file %s: its columns (%s) differ from the first file's (%s)", p, src.Schema(), m.schema)
	}
	m.cur, m.i = src, i
	return nil
}

func (m *multiSource) Schema() *arrow.Schema { return m.schema }

func (m *multiSource) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for {
		rec, err := m.cur.Next(ctx)
		if !errors.Is(err, io.EOF) {
			return rec, err
		}
		if m.i+1 >= len(m.files) {
			return nil, io.EOF
		}
		m.cur.Close()
		if err := m.open(m.i + 1); err != nil {
			m.cur = nil
			return nil, err
		}
	}
}

func (m *multiSource) Close() error {
	if m.cur == nil {
		return nil
	}
	return m.cur.Close()
}
