package databricks

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/lakeport/lakeport/internal/lakehouse"
)

// Load commits staged files with COPY INTO (see doc.go, "Loads"):
//
//  1. SHOW TBLPROPERTIES reads the ledger (and tells a missing table);
//     a key the table holds (same app, same or higher version) is a no-op.
//  2. replace: DROP TABLE, CREATE TABLE (the schema, or a placeholder
//     without columns), COPY INTO. overwrite: TRUNCATE TABLE, COPY INTO
//     with force. append: COPY INTO (creating the table first if asked).
//  3. ALTER TABLE ... SET TBLPROPERTIES records the key.
//
// COPY INTO lists at most MaxCopyFiles files per statement. A statement
// whose answer is lost to a connection error is sent again: an append's
// COPY INTO skips the files it already loaded into the table, so the
// re-issue loads each file once; a replace or overwrite starts again from
// its DROP or TRUNCATE, so its end state is the same however often it runs.
func (l *Lakehouse) Load(ctx context.Context, name lakehouse.TableName, req lakehouse.LoadRequest) (*lakehouse.LoadResult, error) {
	if err := name.Validate(); err != nil {
		return nil, err
	}
	if req.Key.App == "" {
		return nil, lakehouse.Invalidf("%s: a load needs an idempotency key (App)", name.Plain())
	}
	ledger, err := ledgerKey(req.Key.App)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name.Plain(), err)
	}
	if req.Staging == nil {
		return nil, lakehouse.Invalidf("%s: a load needs a staging area", name.Plain())
	}
	if len(req.Files) == 0 {
		return nil, lakehouse.Invalidf("%s: a load needs at least one staged file", name.Plain())
	}
	format, err := loadFormat(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name.Plain(), err)
	}
	mode := req.Mode
	if mode == "" {
		mode = lakehouse.LoadAppend
	}
	switch mode {
	case lakehouse.LoadAppend, lakehouse.LoadOverwrite, lakehouse.LoadReplace:
	default:
		return nil, lakehouse.Invalidf("%s: unknown load mode %q (append, overwrite, replace)", name.Plain(), mode)
	}
	if req.Schema != nil {
		if _, err := createTableSQL(name, req.Schema, nil); err != nil {
			return nil, err
		}
	}
	if _, err := propertiesClause(req.Properties); err != nil {
		return nil, fmt.Errorf("%s: %w", name.Plain(), err)
	}
	groups := fileGroups(req)
	ld := &loader{l: l, name: name, req: req, format: format, groups: groups, ledger: ledger, mode: mode, before: -1}
	return ld.run(ctx)
}

func loadFormat(req lakehouse.LoadRequest) (string, error) {
	if req.Format != "" {
		switch req.Format {
		case lakehouse.FormatParquet, lakehouse.FormatCSV, lakehouse.FormatCSVGzip:
			return req.Format, nil
		}
		return "", lakehouse.Invalidf("staged format %q (parquet, csv or csv.gz)", req.Format)
	}
	f := strings.ToLower(req.Files[0])
	switch {
	case strings.HasSuffix(f, ".parquet"):
		return lakehouse.FormatParquet, nil
	case strings.HasSuffix(f, ".csv.gz"), strings.HasSuffix(f, ".csv.gzip"):
		return lakehouse.FormatCSVGzip, nil
	case strings.HasSuffix(f, ".csv"):
		return lakehouse.FormatCSV, nil
	}
	return "", lakehouse.Invalidf("staged file %s: cannot tell its format from the name (set Format: parquet, csv or csv.gz)", req.Files[0])
}

// fileGroup is files of one directory of the staging area, at most
// MaxCopyFiles: one COPY INTO.
type fileGroup struct {
	dir   string
	files []string
}

// fileGroups splits the staged files' locations by directory (COPY INTO
// names FILES relative to FROM) and into chunks of MaxCopyFiles, in the
// request's order.
func fileGroups(req lakehouse.LoadRequest) []fileGroup {
	var out []fileGroup
	idx := map[string][]int{} // dir -> indexes of its groups in out
	for _, f := range req.Files {
		loc := req.Staging.Location(f)
		dir, base := ".", loc
		if i := strings.LastIndexByte(loc, '/'); i >= 0 {
			dir, base = loc[:i], loc[i+1:]
		}
		gs := idx[dir]
		if len(gs) == 0 || len(out[gs[len(gs)-1]].files) == MaxCopyFiles {
			out = append(out, fileGroup{dir: dir})
			idx[dir] = append(gs, len(out)-1)
			gs = idx[dir]
		}
		g := &out[gs[len(gs)-1]]
		g.files = append(g.files, base)
	}
	return out
}

type loader struct {
	l      *Lakehouse
	name   lakehouse.TableName
	req    lakehouse.LoadRequest
	format string
	groups []fileGroup
	ledger string
	mode   lakehouse.LoadMode

	s       session
	res     lakehouse.LoadResult
	reissue int   // attempts restarted after a lost answer
	created bool  // an attempt created the table
	before  int64 // the table's rows before an append (-1: unknown)
}

func (ld *loader) ec() errContext { return errContext{table: ld.name, op: opLoad} }

func (ld *loader) session(ctx context.Context) error {
	if ld.s != nil {
		return nil
	}
	s, err := ld.l.pool.Session(ctx)
	if err != nil {
		return classify(err, ld.ec())
	}
	ld.s = s
	return nil
}

func (ld *loader) dropSession() {
	if ld.s != nil {
		ld.s.Close()
		ld.s = nil
	}
}

func (ld *loader) run(ctx context.Context) (*lakehouse.LoadResult, error) {
	defer ld.dropSession()
	for attempt := 0; ; attempt++ {
		res, err := ld.attempt(ctx)
		if err == nil {
			return res, nil
		}
		var lost *lostAnswer
		if !errors.As(err, &lost) && !isConnError(err) || attempt >= ld.l.cfg.Reissues {
			return nil, err
		}
		// a statement's answer was lost: start again on a new connection;
		// every step below is safe to repeat (see Load)
		ld.reissue++
		ld.dropSession()
	}
}

// exec runs a statement and returns its batches.
func (ld *loader) exec(ctx context.Context, st Statement) ([]arrow.RecordBatch, error) {
	if err := ld.session(ctx); err != nil {
		return nil, err
	}
	_, recs, err := readAll(ctx, ld.s, st)
	if err != nil {
		if outcomeUnknown(err) {
			return nil, &lostAnswer{err: err}
		}
		return nil, classify(err, ld.ec())
	}
	return recs, nil
}

// lostAnswer is a statement whose outcome is unknown (connection error).
type lostAnswer struct{ err error }

func (e *lostAnswer) Error() string { return "the answer was lost: " + e.err.Error() }
func (e *lostAnswer) Unwrap() error { return e.err }

func (ld *loader) run1(ctx context.Context, st Statement) error {
	recs, err := ld.exec(ctx, st)
	release(recs)
	return err
}

func (ld *loader) attempt(ctx context.Context) (*lakehouse.LoadResult, error) {
	ld.res = lakehouse.LoadResult{}
	loaded, exists, err := ld.readLedger(ctx)
	if err != nil {
		return nil, err
	}
	if exists && loaded >= 0 && loaded >= ld.req.Key.Version {
		v, _, err := latestVersion(ctx, ld.s, ld.name)
		if err != nil {
			return nil, err
		}
		return &lakehouse.LoadResult{Version: v, Skipped: true}, nil
	}
	var columns *arrow.Schema // the table's columns (nil: none yet)
	merge := false
	switch {
	case ld.mode == lakehouse.LoadReplace:
		if err := ld.run1(ctx, dropTableSQL(ld.name)); err != nil {
			return nil, err
		}
		if columns, err = ld.create(ctx); err != nil {
			return nil, err
		}
		ld.created = true
	case !exists:
		if !ld.req.Create {
			return nil, &lakehouse.NotFoundError{What: "table", Name: ld.name.Plain()}
		}
		if columns, err = ld.create(ctx); err != nil {
			return nil, err
		}
		ld.created, ld.before = true, 0
	default:
		if columns, err = ld.columns(ctx); err != nil {
			return nil, err
		}
		if ld.mode == lakehouse.LoadAppend && ld.reissue == 0 {
			// kept to count the rows loaded if an answer gets lost
			if ld.before, err = ld.count(ctx); err != nil {
				return nil, err
			}
		}
	}
	if columns == nil || columns.NumFields() == 0 {
		columns, merge = nil, true // a placeholder table takes the files' columns
	}
	force := false
	if ld.mode == lakehouse.LoadOverwrite {
		if err := ld.run1(ctx, truncateSQL(ld.name)); err != nil {
			return nil, err
		}
		force = true
	}
	for _, g := range ld.groups {
		c := copySpec{Dir: g.dir, Files: g.files, Format: ld.format, MergeSchema: merge, Force: force}
		if ld.format != lakehouse.FormatParquet {
			c.Columns = columns
			c.InferSchema = columns == nil
		}
		st, err := copyIntoSQL(ld.name, c)
		if err != nil {
			return nil, err
		}
		recs, err := ld.exec(ctx, st)
		if err != nil {
			return nil, err
		}
		ld.res.Rows += insertedRows(recs)
		release(recs)
		merge = false // the first COPY gave the table its columns
	}
	st, err := ledgerWriteSQL(ld.name, ld.req.Key)
	if err != nil {
		return nil, err
	}
	if err := ld.run1(ctx, st); err != nil {
		return nil, err
	}
	v, _, err := latestVersion(ctx, ld.s, ld.name)
	if err != nil {
		return nil, err
	}
	ld.res.Version = v
	ld.res.Created = ld.created
	if ld.reissue > 0 && ld.mode == lakehouse.LoadAppend && ld.before >= 0 {
		// a re-issued COPY INTO reports only what it loaded itself
		after, err := ld.count(ctx)
		if err != nil {
			return nil, err
		}
		ld.res.Rows = after - ld.before
	}
	res := ld.res
	return &res, nil
}

// readLedger returns the highest version of the load's app the table
// holds (-1: none) and whether the table exists.
func (ld *loader) readLedger(ctx context.Context) (int64, bool, error) {
	recs, err := ld.exec(ctx, ledgerReadSQL(ld.name))
	var nf *lakehouse.NotFoundError
	if errors.As(err, &nf) {
		return -1, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	defer release(recs)
	for _, r := range recs {
		keys, _ := column(r, "key").(*array.String)
		vals, _ := column(r, "value").(*array.String)
		if keys == nil || vals == nil {
			continue
		}
		for i := 0; i < int(r.NumRows()); i++ {
			if keys.Value(i) == ld.ledger {
				v, err := strconv.ParseInt(strings.TrimSpace(vals.Value(i)), 10, 64)
				if err != nil {
					return 0, false, fmt.Errorf("%s: ledger property %s = %q is not a version", ld.name.Plain(), ld.ledger, vals.Value(i))
				}
				return v, true, nil
			}
		}
	}
	return -1, true, nil
}

// create creates the table: with the request's schema, else as a
// placeholder whose columns come from the first COPY INTO.
func (ld *loader) create(ctx context.Context) (*arrow.Schema, error) {
	if ld.req.Schema != nil {
		st, err := createTableSQL(ld.name, ld.req.Schema, ld.req.Properties)
		if err != nil {
			return nil, err
		}
		return ld.req.Schema, ld.run1(ctx, st)
	}
	st, err := placeholderCreateSQL(ld.name, ld.req.Properties)
	if err != nil {
		return nil, err
	}
	if err := ld.run1(ctx, st); err != nil {
		return nil, err
	}
	// the table may exist already (IF NOT EXISTS, or an earlier attempt)
	return ld.columns(ctx)
}

// columns are the table's current columns (none for a placeholder).
func (ld *loader) columns(ctx context.Context) (*arrow.Schema, error) {
	if err := ld.session(ctx); err != nil {
		return nil, err
	}
	schema, recs, err := readAll(ctx, ld.s, tableProbeSQL(ld.name))
	if err != nil {
		if outcomeUnknown(err) {
			return nil, &lostAnswer{err: err}
		}
		return nil, classify(err, ld.ec())
	}
	release(recs)
	return schema, nil
}

// count counts the table's rows.
func (ld *loader) count(ctx context.Context) (int64, error) {
	if err := ld.session(ctx); err != nil {
		return 0, err
	}
	n, err := queryCount(ctx, ld.s, tableCountSQL(ld.name))
	if err != nil {
		if outcomeUnknown(err) {
			return 0, &lostAnswer{err: err}
		}
		return 0, classify(err, ld.ec())
	}
	return n, nil
}

// insertedRows reads COPY INTO's summary (num_inserted_rows, else
// num_affected_rows).
func insertedRows(recs []arrow.RecordBatch) int64 {
	var n int64
	for _, r := range recs {
		c := column(r, "num_inserted_rows")
		if c == nil {
			c = column(r, "num_affected_rows")
		}
		for i := 0; i < int(r.NumRows()); i++ {
			if v, ok := intAt(c, i); ok {
				n += v
			}
		}
	}
	return n
}
