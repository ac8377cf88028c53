package databricks

// A model warehouse for tests: it executes the statements sql.go builds
// (and only those) against a local lakehouse (internal/lakehouse/local, the
// reference driver), with Databricks' answers and error texts: COPY INTO
// skips files it already loaded into a table unless forced, a placeholder
// table takes the first COPY INTO's columns, time travel past the log is
// DELTA_FILE_NOT_FOUND, and so on. It serves the driver's statements
// behind dbxfake's Thrift warehouse (fake_test.go), so every statement
// travels the production path: database/sql, databricks-sql-go, Arrow IPC.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeport/lakeport/internal/delta"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/lakehouse/local"
	"github.com/lakeport/lakeport/internal/lakehouse/staging"
)

type model struct {
	root string

	mu          sync.Mutex
	ledger      map[lakehouse.TableName]map[string]string
	loaded      map[lakehouse.TableName]map[string]bool // COPY INTO's record of loaded files
	placeholder map[lakehouse.TableName]bool
	copies      int64
	executed    []Statement
	// volumes, if set, returns a local copy of a /Volumes/... directory
	// (the workspace's Files API), for COPY INTO from a volume
	volumes func(dir string) (string, error)
}

func newModel(root string) *model {
	return &model{root: root, ledger: map[lakehouse.TableName]map[string]string{}, loaded: map[lakehouse.TableName]map[string]bool{},
		placeholder: map[lakehouse.TableName]bool{}}
}

// sqlError is an answer with an error class and SQLSTATE, worded as the
// driver words execution errors.
func sqlError(class, state, format string, args ...any) error {
	return &warehouseError{class: class, state: state, msg: fmt.Sprintf(format, args...)}
}

// warehouseError is the model's answer to a failed statement: served by
// dbxfake as an ERROR_STATE with this SQLSTATE and "[CLASS] message".
type warehouseError struct{ class, state, msg string }

func (e *warehouseError) Error() string {
	return fmt.Sprintf("databricks: execution error: failed to execute query: [%s] %s SQLSTATE: %s", e.class, e.msg, e.state)
}

var (
	reName     = regexp.MustCompile("`([^`]+)`\\.`([^`]+)`\\.`([^`]+)`")
	reVersion  = regexp.MustCompile(`VERSION AS OF (\d+)`)
	reSelect   = regexp.MustCompile(`(?s)^SELECT (.*?)\nFROM `)
	reIdent    = regexp.MustCompile("`((?:[^`]|``)*)`")
	reOrderBy  = regexp.MustCompile("ORDER BY `((?:[^`]|``)*)` ASC(?:, `((?:[^`]|``)*)` ASC NULLS FIRST)?")
	reOffset   = regexp.MustCompile(`OFFSET (\d+)`)
	reIsNull   = regexp.MustCompile("WHERE `((?:[^`]|``)*)` IS NULL$")
	reLiteral  = regexp.MustCompile(`'((?:[^'\\]|\\.)*)'`)
	reColumnDD = regexp.MustCompile("^  `((?:[^`]|``)*)` ([A-Z_]+(?:\\(\\d+,\\d+\\))?)( NOT NULL)?,?$")
)

func unescape(s string) string {
	r := strings.NewReplacer(`\\`, `\`, `\'`, `'`, `\n`, "\n", `\r`, "\r")
	return r.Replace(s)
}

func tableOf(sql string) lakehouse.TableName {
	m := reName.FindStringSubmatch(sql)
	if m == nil {
		return lakehouse.TableName{}
	}
	return lakehouse.TableName{Catalog: m[1], Schema: m[2], Table: m[3]}
}

func identList(s string) []string {
	if strings.TrimSpace(s) == "*" {
		return nil
	}
	var out []string
	for _, m := range reIdent.FindAllStringSubmatch(s, -1) {
		out = append(out, strings.ReplaceAll(m[1], "``", "`"))
	}
	return out
}

func (m *model) lake() *local.Lakehouse {
	l, err := local.Open(m.root, local.Options{})
	if err != nil {
		panic(err)
	}
	return l
}

// toSQL renders a local driver error as the warehouse would answer it.
func (m *model) toSQL(err error, name lakehouse.TableName, version int64) error {
	var nf *lakehouse.NotFoundError
	var vu *lakehouse.VersionUnavailableError
	var cu *lakehouse.ChangesUnavailableError
	switch {
	case errors.As(err, &nf):
		return sqlError("TABLE_OR_VIEW_NOT_FOUND", "42P01", "The table or view %s cannot be found.", name)
	case errors.As(err, &vu):
		return sqlError("DELTA_FILE_NOT_FOUND_DETAILED", "42K03", "File referenced in the transaction log cannot be found. This occurs when data has been manually deleted from the file system rather than using the table DELETE statement (%s).", vu.Reason)
	case errors.As(err, &cu):
		return sqlError("DELTA_MISSING_CHANGE_DATA", "KD002", "Error getting change data for range [%d , %d] as change data was not recorded for version [%d]. (%s)", cu.Start, cu.End, cu.Start, cu.Reason)
	case errors.Is(err, lakehouse.ErrInvalid) && strings.Contains(err.Error(), "version"):
		lh := m.lake()
		defer lh.Close()
		d, derr := lh.Describe(context.Background(), name)
		if derr == nil {
			return sqlError("DELTA_VERSION_NOT_FOUND", "22003", "Cannot time travel Delta table to version %d. Available versions: [0, %d].", version, d.Version)
		}
	}
	return sqlError("INTERNAL_ERROR", "XX000", "%v", err)
}

// result is a statement's answer.
type result struct {
	schema *arrow.Schema
	recs   []arrow.RecordBatch
}

func oneRow(fields []arrow.Field, vals ...any) *result {
	s := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, s)
	defer b.Release()
	for i, v := range vals {
		switch fb := b.Field(i).(type) {
		case *array.Int64Builder:
			fb.Append(v.(int64))
		case *array.StringBuilder:
			fb.Append(v.(string))
		case *array.TimestampBuilder:
			fb.Append(arrow.Timestamp(v.(time.Time).UnixMicro()))
		}
	}
	return &result{schema: s, recs: []arrow.RecordBatch{b.NewRecordBatch()}}
}

func drainRows(ctx context.Context, rows lakehouse.Rows) (*result, error) {
	defer rows.Close()
	r := &result{schema: rows.Schema()}
	for {
		rec, err := rows.Next(ctx)
		if errors.Is(err, io.EOF) {
			return r, nil
		}
		if err != nil {
			release(r.recs)
			return nil, err
		}
		r.recs = append(r.recs, rec)
	}
}

func (r *result) rows() int64 {
	var n int64
	for _, b := range r.recs {
		n += b.NumRows()
	}
	return n
}

var countField = []arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64}}

// value reads an ordered-scan parameter as the local driver's Value.
func paramValue(sql string, p Param) (lakehouse.Value, error) {
	switch p.Type {
	case "BIGINT":
		n, err := strconv.ParseInt(p.Value, 10, 64)
		return lakehouse.Int(n), err
	case "DATE":
		t, err := time.Parse(time.DateOnly, p.Value)
		return lakehouse.Date(t), err
	}
	if strings.Contains(sql, "CAST(:"+p.Name+" AS TIMESTAMP_NTZ)") {
		t, err := time.Parse("2006-01-02 15:04:05.000000", p.Value)
		return lakehouse.Timestamp(t), err
	}
	if strings.Contains(sql, "CAST(:"+p.Name+" AS TIMESTAMP)") {
		t, err := time.Parse(time.RFC3339Nano, p.Value)
		return lakehouse.Timestamp(t), err
	}
	return lakehouse.String(p.Value), nil
}

func (m *model) handle(ctx context.Context, st Statement) (*result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.executed = append(m.executed, st)
	sql := st.SQL
	name := tableOf(sql)
	params := map[string]Param{}
	for _, p := range st.Params {
		params[p.Name] = p
	}
	lh := m.lake()
	defer lh.Close()
	switch {
	case strings.HasPrefix(sql, "DESCRIBE HISTORY "):
		d, err := lh.Describe(ctx, name)
		if err != nil {
			return nil, m.toSQL(err, name, 0)
		}
		return oneRow([]arrow.Field{{Name: "version", Type: arrow.PrimitiveTypes.Int64}, {Name: "timestamp", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "Etc/UTC"}}, {Name: "operation", Type: arrow.BinaryTypes.String}},
			d.Version, d.VersionTime, "WRITE"), nil
	case strings.HasPrefix(sql, "SHOW TBLPROPERTIES "):
		d, err := lh.Describe(ctx, name)
		if err != nil && !m.placeholder[name] {
			return nil, m.toSQL(err, name, 0)
		}
		s := arrow.NewSchema([]arrow.Field{{Name: "key", Type: arrow.BinaryTypes.String}, {Name: "value", Type: arrow.BinaryTypes.String}}, nil)
		b := array.NewRecordBuilder(memory.DefaultAllocator, s)
		defer b.Release()
		if d != nil {
			for k, v := range d.Properties {
				b.Field(0).(*array.StringBuilder).Append(k)
				b.Field(1).(*array.StringBuilder).Append(v)
			}
		}
		for k, v := range m.ledger[name] {
			b.Field(0).(*array.StringBuilder).Append(k)
			b.Field(1).(*array.StringBuilder).Append(v)
		}
		return &result{schema: s, recs: []arrow.RecordBatch{b.NewRecordBatch()}}, nil
	case strings.HasPrefix(sql, "ALTER TABLE ") && strings.Contains(sql, "SET TBLPROPERTIES"):
		lits := reLiteral.FindAllStringSubmatch(sql, -1)
		if m.ledger[name] == nil {
			m.ledger[name] = map[string]string{}
		}
		for i := 0; i+1 < len(lits); i += 2 {
			m.ledger[name][unescape(lits[i][1])] = unescape(lits[i+1][1])
		}
		return &result{schema: arrow.NewSchema(nil, nil)}, nil
	case strings.HasPrefix(sql, "DROP TABLE IF EXISTS "):
		p, _ := lh.TablePath(name)
		os.RemoveAll(p)
		delete(m.ledger, name)
		delete(m.loaded, name)
		delete(m.placeholder, name)
		return &result{schema: arrow.NewSchema(nil, nil)}, nil
	case strings.HasPrefix(sql, "TRUNCATE TABLE "):
		p, _ := lh.TablePath(name)
		t, err := delta.Open(ctx, p)
		if err != nil {
			return nil, m.toSQL(&lakehouse.NotFoundError{What: "table", Name: name.Plain()}, name, 0)
		}
		defer t.Close()
		snap, err := t.Snapshot(ctx, delta.Latest())
		if err != nil {
			return nil, m.toSQL(err, name, 0)
		}
		if _, err := t.Overwrite(ctx, delta.RecordsOf(snap.ArrowSchema()), delta.WriteOptions{}); err != nil {
			return nil, m.toSQL(err, name, 0)
		}
		return &result{schema: arrow.NewSchema(nil, nil)}, nil
	case strings.HasPrefix(sql, "CREATE TABLE IF NOT EXISTS "):
		p, _ := lh.TablePath(name)
		if _, err := os.Stat(filepath.Join(p, "_delta_log")); err == nil || m.placeholder[name] {
			return &result{schema: arrow.NewSchema(nil, nil)}, nil
		}
		if !strings.Contains(sql, " (\n") {
			m.placeholder[name] = true
			return &result{schema: arrow.NewSchema(nil, nil)}, nil
		}
		var fields []arrow.Field
		for _, line := range strings.Split(sql, "\n") {
			if c := reColumnDD.FindStringSubmatch(line); c != nil {
				fields = append(fields, arrow.Field{Name: strings.ReplaceAll(c[1], "``", "`"), Type: arrowTypeOfName(c[2]), Nullable: c[3] == ""})
			}
		}
		os.MkdirAll(filepath.Dir(p), 0o755)
		t, err := delta.Create(ctx, p, delta.TableSpec{Schema: arrow.NewSchema(fields, nil), Name: name.Table})
		if err != nil {
			return nil, sqlError("INTERNAL_ERROR", "XX000", "%v", err)
		}
		t.Close()
		return &result{schema: arrow.NewSchema(nil, nil)}, nil
	case strings.HasPrefix(sql, "COPY INTO "):
		return m.copyInto(ctx, lh, name, sql)
	case strings.Contains(sql, "table_changes("):
		lit := reLiteral.FindStringSubmatch(sql)
		name, _ = lakehouse.ParseTableName(unescape(lit[1]))
		start, _ := strconv.ParseInt(params["start_version"].Value, 10, 64)
		end, _ := strconv.ParseInt(params["end_version"].Value, 10, 64)
		req := lakehouse.ChangesRequest{StartVersion: start, EndVersion: end}
		if sm := reSelect.FindStringSubmatch(sql); sm != nil && !strings.HasPrefix(sm[1], "COUNT") {
			for _, c := range identList(sm[1]) {
				if !strings.HasPrefix(c, "_c") && !strings.HasPrefix(c, "_commit") {
					req.Columns = append(req.Columns, c)
				}
			}
		}
		rows, err := lh.Changes(ctx, name, req)
		if err != nil {
			return nil, m.toSQL(err, name, 0)
		}
		r, err := drainRows(ctx, rows)
		if err != nil {
			return nil, m.toSQL(err, name, 0)
		}
		return m.shape(sql, r), nil
	case strings.HasPrefix(sql, "SELECT * FROM ") && strings.HasSuffix(sql, " LIMIT 0") && !strings.Contains(sql, "VERSION AS OF"):
		if m.placeholder[name] {
			return &result{schema: arrow.NewSchema(nil, nil)}, nil
		}
		d, err := lh.Describe(ctx, name)
		if err != nil {
			return nil, m.toSQL(err, name, 0)
		}
		return m.scan(ctx, lh, name, d.Version, sql, params)
	case strings.HasPrefix(sql, "SELECT COUNT(*) AS n\nFROM ") && !reVersion.MatchString(sql) && !strings.Contains(sql, "table_changes"):
		if m.placeholder[name] {
			return oneRow(countField, int64(0)), nil
		}
		d, err := lh.Describe(ctx, name)
		if err != nil {
			return nil, m.toSQL(err, name, 0)
		}
		return m.scan(ctx, lh, name, d.Version, sql, params)
	case reVersion.MatchString(sql):
		v, _ := strconv.ParseInt(reVersion.FindStringSubmatch(sql)[1], 10, 64)
		return m.scan(ctx, lh, name, v, sql, params)
	}
	return nil, sqlError("PARSE_SYNTAX_ERROR", "42601", "the model cannot run: %s", sql)
}

// shape applies LIMIT 0 and COUNT(*) to a result.
func (m *model) shape(sql string, r *result) *result {
	switch {
	case strings.HasSuffix(sql, " LIMIT 0"):
		release(r.recs)
		r.recs = nil
	case strings.HasPrefix(sql, "SELECT COUNT(*)"):
		n := r.rows()
		release(r.recs)
		return oneRow(countField, n)
	}
	return r
}

func (m *model) scan(ctx context.Context, lh *local.Lakehouse, name lakehouse.TableName, v int64, sql string, params map[string]Param) (*result, error) {
	if mm := reIsNull.FindStringSubmatch(sql); mm != nil {
		n, err := lh.CountNulls(ctx, name, v, strings.ReplaceAll(mm[1], "``", "`"))
		if err != nil {
			return nil, m.toSQL(err, name, v)
		}
		return oneRow(countField, n), nil
	}
	req := lakehouse.ScanRequest{Version: v}
	if sm := reSelect.FindStringSubmatch(sql); sm != nil && !strings.HasPrefix(sm[1], "COUNT") {
		req.Columns = identList(sm[1])
	}
	if strings.Contains(sql, " IS NOT NULL") { // an ordered scan (or its count)
		key := strings.ReplaceAll(reIdent.FindStringSubmatch(sql[strings.Index(sql, "WHERE "):])[1], "``", "`")
		o := &lakehouse.Order{Column: key}
		if om := reOrderBy.FindStringSubmatch(sql); om != nil && om[2] != "" {
			o.TieBreaker = strings.ReplaceAll(om[2], "``", "`")
		} else if strings.Contains(sql, "AND (") { // a count with a tie-breaker
			o.TieBreaker = strings.ReplaceAll(reIdent.FindStringSubmatch(sql[strings.Index(sql, "AND ("):])[1], "``", "`")
			if o.TieBreaker == key {
				part := sql[strings.Index(sql, " AND `"):]
				o.TieBreaker = strings.ReplaceAll(reIdent.FindStringSubmatch(part)[1], "``", "`")
			}
		}
		val := func(n string) (*lakehouse.Value, error) {
			p, ok := params[n]
			if !ok {
				return nil, nil
			}
			v, err := paramValue(sql, p)
			return &v, err
		}
		if k, err := val("after_key"); err != nil {
			return nil, err
		} else if k != nil {
			o.After = &lakehouse.Position{Key: *k}
			if t, err := val("after_tie"); err != nil {
				return nil, err
			} else if t != nil {
				o.After.Tie = *t
			}
		}
		var err error
		if o.From, err = val("from_key"); err != nil {
			return nil, err
		}
		if o.Until, err = val("until_key"); err != nil {
			return nil, err
		}
		req.Order = o
	} else if om := reOffset.FindStringSubmatch(sql); om != nil {
		req.Offset, _ = strconv.ParseInt(om[1], 10, 64)
	}
	rows, err := lh.Scan(ctx, name, req)
	if err != nil {
		return nil, m.toSQL(err, name, v)
	}
	r, err := drainRows(ctx, rows)
	if err != nil {
		return nil, m.toSQL(err, name, v)
	}
	if req.Order != nil && len(req.Columns) > 0 && r.schema.NumFields() != len(req.Columns) {
		return nil, fmt.Errorf("model: ordered scan returned %d columns for %v", r.schema.NumFields(), req.Columns)
	}
	return m.shape(sql, r), nil
}

var reCopy = regexp.MustCompile(`(?s)FILEFORMAT = (\w+)\nFILES = \((.*?)\)`)

func (m *model) copyInto(ctx context.Context, lh *local.Lakehouse, name lakehouse.TableName, sql string) (*result, error) {
	from := sql[strings.Index(sql, "\nFROM ")+6:]
	dir := unescape(reLiteral.FindStringSubmatch(from)[1])
	cm := reCopy.FindStringSubmatch(sql)
	var files []string
	for _, l := range reLiteral.FindAllStringSubmatch(cm[2], -1) {
		files = append(files, unescape(l[1]))
	}
	format := lakehouse.FormatParquet
	if cm[1] == "CSV" {
		format = lakehouse.FormatCSV
		if strings.Contains(sql, "'compression' = 'gzip'") {
			format = lakehouse.FormatCSVGzip
		}
	}
	src := dir // where the files are read
	if strings.HasPrefix(dir, "/Volumes/") && m.volumes != nil {
		var err error
		if src, err = m.volumes(dir); err != nil {
			return nil, err
		}
	}
	force := strings.Contains(sql, "'force' = 'true'")
	if m.loaded[name] == nil {
		m.loaded[name] = map[string]bool{}
	}
	var todo []string
	for _, f := range files {
		p := dir + "/" + f
		if _, err := os.Stat(src + "/" + f); err != nil {
			return nil, sqlError("PATH_NOT_FOUND", "42K03", "Path does not exist: %s.", p)
		}
		if force || !m.loaded[name][p] {
			todo = append(todo, f)
		}
	}
	fields := []arrow.Field{{Name: "num_affected_rows", Type: arrow.PrimitiveTypes.Int64}, {Name: "num_inserted_rows", Type: arrow.PrimitiveTypes.Int64}}
	if len(todo) == 0 {
		return oneRow(fields, int64(0), int64(0)), nil
	}
	area, err := staging.Open(ctx, src)
	if err != nil {
		return nil, err
	}
	m.copies++
	res, err := lh.Load(ctx, name, lakehouse.LoadRequest{Staging: area, Files: todo, Format: format, Create: m.placeholder[name],
		Key: lakehouse.LoadKey{App: "copy-into", Version: m.copies}})
	if err != nil {
		return nil, m.toSQL(err, name, 0)
	}
	delete(m.placeholder, name)
	for _, f := range todo {
		m.loaded[name][dir+"/"+f] = true
	}
	return oneRow(fields, res.Rows, res.Rows), nil
}
