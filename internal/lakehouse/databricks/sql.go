package databricks

// Every SQL statement the driver sends is built here, by pure functions
// with golden tests (testdata/*.sql; go test -update rewrites them).
//
// Rules:
//   - identifiers are validated by the caller (lakehouse.ValidateName,
//     ValidateColumnName) and always rendered with lakehouse.QuoteIdent;
//   - values from users (watermarks, bounds, versions of the change feed)
//     are named parameters (:name) with an explicit SQL type;
//   - a few places of Databricks SQL take no parameter markers (VERSION AS
//     OF, OFFSET, DDL options, COPY INTO's FROM/FILES, table_changes' table
//     name, TBLPROPERTIES): there the value is an int64 rendered by
//     strconv, or a string literal rendered by quoteString after the value
//     was checked (names by ValidateName, ledger app ids by appRE, property
//     keys by propKeyRE); staged file locations are escaped literals.

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakeport/lakeport/internal/lakehouse"
)

// Param is a named, typed statement parameter; Value is its text form
// (NULL when Null).
type Param struct {
	Name  string
	Type  string // BIGINT, STRING, DATE, TIMESTAMP
	Value string
	Null  bool
}

// Statement is one SQL statement with its parameters.
type Statement struct {
	SQL    string
	Params []Param
}

// Golden renders a statement for golden files and logs (no secrets ever
// reach a statement).
func (s Statement) Golden() string {
	var b strings.Builder
	b.WriteString(s.SQL)
	b.WriteString("\n")
	for _, p := range s.Params {
		v := p.Value
		if p.Null {
			v = "NULL"
		}
		fmt.Fprintf(&b, "-- :%s %s = %s\n", p.Name, p.Type, v)
	}
	return b.String()
}

// quoteString renders a SQL string literal (Databricks SQL escapes with
// backslashes).
func quoteString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`)
	return "'" + r.Replace(s) + "'"
}

func colList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = lakehouse.QuoteIdent(c)
	}
	return strings.Join(q, ", ")
}

func selectList(cols []string) string {
	if len(cols) == 0 {
		return "*"
	}
	return colList(cols)
}

func versionOf(t lakehouse.TableName, v int64) string {
	return t.String() + " VERSION AS OF " + strconv.FormatInt(v, 10)
}

// probeSQL reads no rows of a pinned version: its result schema is the
// table's columns at that version, and it fails when the version is gone.
func probeSQL(t lakehouse.TableName, version int64) Statement {
	return Statement{SQL: "SELECT * FROM " + versionOf(t, version) + " LIMIT 0"}
}

// tableProbeSQL reads no rows of the current version: the table's columns.
func tableProbeSQL(t lakehouse.TableName) Statement {
	return Statement{SQL: "SELECT * FROM " + t.String() + " LIMIT 0"}
}

// historySQL reads the latest commit (version, timestamp).
func historySQL(t lakehouse.TableName) Statement {
	return Statement{SQL: "DESCRIBE HISTORY " + t.String() + " LIMIT 1"}
}

// orderSpec is an ordered scan resolved against the table's columns.
type orderSpec struct {
	Key, Tie         string // column names (Tie may be empty)
	KeyType, TieType string // canonical SQL types
	After            *lakehouse.Position
	From, Until      *lakehouse.Value
}

// paramFor renders a value compared with a column of sqlType. Timestamps
// are passed as text and cast in the statement: TIMESTAMP parameters from
// an RFC 3339 UTC string, TIMESTAMP_NTZ ones from a zone-less string, so
// the session time zone never shifts a bound.
func paramFor(name, sqlType string, v lakehouse.Value) (Param, string) {
	ref := ":" + name
	switch v.Kind {
	case lakehouse.KindInt:
		return Param{Name: name, Type: "BIGINT", Value: strconv.FormatInt(v.Int, 10)}, ref
	case lakehouse.KindString:
		return Param{Name: name, Type: "STRING", Value: v.Str}, ref
	case lakehouse.KindDate:
		return Param{Name: name, Type: "DATE", Value: v.Time().Format(time.DateOnly)}, ref
	case lakehouse.KindTimestamp:
		if strings.EqualFold(sqlType, "timestamp_ntz") {
			return Param{Name: name, Type: "STRING", Value: v.Time().Format("2006-01-02 15:04:05.000000")}, "CAST(" + ref + " AS TIMESTAMP_NTZ)"
		}
		return Param{Name: name, Type: "STRING", Value: v.Time().Format("2006-01-02T15:04:05.000000Z")}, "CAST(" + ref + " AS TIMESTAMP)"
	}
	return Param{Name: name, Type: "STRING", Null: true}, ref
}

// orderedWhere is the filter of an ordered scan: key not NULL, strictly
// after the position, within [From, Until].
func orderedWhere(o orderSpec) (string, []Param) {
	key := lakehouse.QuoteIdent(o.Key)
	conds := []string{key + " IS NOT NULL"}
	var params []Param
	add := func(name, typ string, v lakehouse.Value) string {
		p, ref := paramFor(name, typ, v)
		params = append(params, p)
		return ref
	}
	if o.After != nil && !o.After.Key.IsNull() {
		k := add("after_key", o.KeyType, o.After.Key)
		if o.Tie == "" {
			conds = append(conds, key+" > "+k)
		} else {
			tie := lakehouse.QuoteIdent(o.Tie)
			var tieAfter string
			if o.After.Tie.IsNull() {
				tieAfter = tie + " IS NOT NULL"
			} else {
				tieAfter = tie + " > " + add("after_tie", o.TieType, o.After.Tie)
			}
			// the key parameter is referenced twice; one marker per use
			k2 := add("after_key_eq", o.KeyType, o.After.Key)
			conds = append(conds, "("+key+" > "+k+" OR ("+key+" = "+k2+" AND "+tieAfter+"))")
		}
	}
	if o.From != nil && !o.From.IsNull() {
		conds = append(conds, key+" >= "+add("from_key", o.KeyType, *o.From))
	}
	if o.Until != nil && !o.Until.IsNull() {
		conds = append(conds, key+" <= "+add("until_key", o.KeyType, *o.Until))
	}
	return strings.Join(conds, "\n  AND "), params
}

// orderedScanSQL selects the rows of a pinned version after a position in
// (key, tie) order, NULL tie-breakers first.
func orderedScanSQL(t lakehouse.TableName, version int64, cols []string, o orderSpec) Statement {
	where, params := orderedWhere(o)
	order := lakehouse.QuoteIdent(o.Key) + " ASC"
	if o.Tie != "" {
		order += ", " + lakehouse.QuoteIdent(o.Tie) + " ASC NULLS FIRST"
	}
	sql := "SELECT " + selectList(cols) + "\nFROM " + versionOf(t, version) +
		"\nWHERE " + where + "\nORDER BY " + order
	return Statement{SQL: sql, Params: params}
}

// orderedCountSQL counts what orderedScanSQL returns (the row count a
// complete result must have).
func orderedCountSQL(t lakehouse.TableName, version int64, o orderSpec) Statement {
	where, params := orderedWhere(o)
	return Statement{SQL: "SELECT COUNT(*) AS n\nFROM " + versionOf(t, version) + "\nWHERE " + where, Params: params}
}

// unorderedScanSQL reads a pinned version in a stable order: by data file
// path, then row position in the file. A version's files never change, so
// the order is the same on every read and OFFSET resumes exactly; unlike an
// ORDER BY over all columns it works for every column type (maps cannot be
// sorted) and does not depend on the data.
func unorderedScanSQL(t lakehouse.TableName, version int64, cols []string, offset int64) Statement {
	sql := "SELECT " + selectList(cols) + "\nFROM " + versionOf(t, version) +
		"\nORDER BY _metadata.file_path ASC, _metadata.row_index ASC"
	if offset > 0 {
		sql += "\nOFFSET " + strconv.FormatInt(offset, 10)
	}
	return Statement{SQL: sql}
}

// countSQL counts the rows of a pinned version.
func countSQL(t lakehouse.TableName, version int64) Statement {
	return Statement{SQL: "SELECT COUNT(*) AS n\nFROM " + versionOf(t, version)}
}

// tableCountSQL counts the rows of the current version.
func tableCountSQL(t lakehouse.TableName) Statement {
	return Statement{SQL: "SELECT COUNT(*) AS n\nFROM " + t.String()}
}

// countNullsSQL counts the rows of a pinned version whose column is NULL.
func countNullsSQL(t lakehouse.TableName, version int64, column string) Statement {
	return Statement{SQL: "SELECT COUNT(*) AS n\nFROM " + versionOf(t, version) + "\nWHERE " + lakehouse.QuoteIdent(column) + " IS NULL"}
}

func changesSource(t lakehouse.TableName) (string, []Param) {
	return "table_changes(" + quoteString(t.String()) + ", :start_version, :end_version)", nil
}

func changeParams(start, end int64) []Param {
	return []Param{
		{Name: "start_version", Type: "BIGINT", Value: strconv.FormatInt(start, 10)},
		{Name: "end_version", Type: "BIGINT", Value: strconv.FormatInt(end, 10)},
	}
}

// changesProbeSQL reads no rows of the change feed: its schema, and an
// error when the range is not available.
func changesProbeSQL(t lakehouse.TableName, start, end int64) Statement {
	src, _ := changesSource(t)
	return Statement{SQL: "SELECT * FROM " + src + " LIMIT 0", Params: changeParams(start, end)}
}

// changesSQL reads the change feed between two versions in commit order.
// Within a commit the order is fixed by the change type and then every
// sortable column (sortCols; maps cannot be sorted), so the same range
// reads the same rows in the same order.
func changesSQL(t lakehouse.TableName, start, end int64, cols, sortCols []string) Statement {
	src, _ := changesSource(t)
	out := append(append([]string(nil), cols...), lakehouse.ChangeTypeColumn, lakehouse.CommitVersionColumn, lakehouse.CommitTimestampColumn)
	order := []string{lakehouse.QuoteIdent(lakehouse.CommitVersionColumn) + " ASC", lakehouse.QuoteIdent(lakehouse.ChangeTypeColumn) + " ASC"}
	for _, c := range sortCols {
		order = append(order, lakehouse.QuoteIdent(c)+" ASC NULLS FIRST")
	}
	sql := "SELECT " + colList(out) + "\nFROM " + src + "\nORDER BY " + strings.Join(order, ", ")
	return Statement{SQL: sql, Params: changeParams(start, end)}
}

// changesCountSQL counts the rows of a change feed range.
func changesCountSQL(t lakehouse.TableName, start, end int64) Statement {
	src, _ := changesSource(t)
	return Statement{SQL: "SELECT COUNT(*) AS n\nFROM " + src, Params: changeParams(start, end)}
}

var propKeyRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$`)

func propertiesClause(props map[string]string) (string, error) {
	if len(props) == 0 {
		return "", nil
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		if !propKeyRE.MatchString(k) {
			return "", lakehouse.Invalidf("table property %q: want letters, digits, '_', '.' and '-'", k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = quoteString(k) + " = " + quoteString(props[k])
	}
	return "\nTBLPROPERTIES (" + strings.Join(parts, ", ") + ")", nil
}

// createTableSQL creates a Delta table with the given columns (if it does
// not exist yet).
func createTableSQL(t lakehouse.TableName, schema *arrow.Schema, props map[string]string) (Statement, error) {
	cols := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		if err := lakehouse.ValidateColumnName(f.Name); err != nil {
			return Statement{}, err
		}
		typ, err := sqlTypeOf(f.Type)
		if err != nil {
			return Statement{}, lakehouse.Invalidf("%s: column %q: %v", t.Plain(), f.Name, err)
		}
		cols[i] = "  " + lakehouse.QuoteIdent(f.Name) + " " + typ
		if !f.Nullable {
			cols[i] += " NOT NULL"
		}
	}
	p, err := propertiesClause(props)
	if err != nil {
		return Statement{}, err
	}
	return Statement{SQL: "CREATE TABLE IF NOT EXISTS " + t.String() + " (\n" + strings.Join(cols, ",\n") + "\n) USING DELTA" + p}, nil
}

// placeholderCreateSQL creates an empty Delta table without columns: the
// first COPY INTO with mergeSchema gives it the files' columns (the
// documented way to load into a table whose schema comes from the data).
func placeholderCreateSQL(t lakehouse.TableName, props map[string]string) (Statement, error) {
	p, err := propertiesClause(props)
	if err != nil {
		return Statement{}, err
	}
	return Statement{SQL: "CREATE TABLE IF NOT EXISTS " + t.String() + " USING DELTA" + p}, nil
}

func dropTableSQL(t lakehouse.TableName) Statement {
	return Statement{SQL: "DROP TABLE IF EXISTS " + t.String()}
}

func truncateSQL(t lakehouse.TableName) Statement {
	return Statement{SQL: "TRUNCATE TABLE " + t.String()}
}

// MaxCopyFiles is the most files one COPY INTO lists (FILES = (...)).
const MaxCopyFiles = 1000

// copySpec is one COPY INTO statement.
type copySpec struct {
	Dir    string   // the location the files are relative to
	Files  []string // names relative to Dir, at most MaxCopyFiles
	Format string   // lakehouse.FormatParquet, FormatCSV, FormatCSVGzip
	// Columns, when set, select and cast the files' columns (CSV into a
	// table of known types).
	Columns *arrow.Schema
	// InferSchema reads CSV column types from the data.
	InferSchema bool
	// MergeSchema lets the load add the files' columns to the table (a
	// placeholder table, or a table created from the data).
	MergeSchema bool
	// Force loads files even if COPY INTO loaded them into this table
	// before (an overwrite reloads files an earlier run loaded).
	Force bool
}

func copyIntoSQL(t lakehouse.TableName, c copySpec) (Statement, error) {
	if len(c.Files) == 0 || len(c.Files) > MaxCopyFiles {
		return Statement{}, fmt.Errorf("COPY INTO %s: %d files (want 1 to %d)", t.Plain(), len(c.Files), MaxCopyFiles)
	}
	var b strings.Builder
	b.WriteString("COPY INTO " + t.String() + "\nFROM ")
	if c.Columns != nil && c.Format != lakehouse.FormatParquet {
		sel := make([]string, c.Columns.NumFields())
		for i, f := range c.Columns.Fields() {
			if err := lakehouse.ValidateColumnName(f.Name); err != nil {
				return Statement{}, err
			}
			typ, err := sqlTypeOf(f.Type)
			if err != nil {
				return Statement{}, lakehouse.Invalidf("%s: column %q: %v", t.Plain(), f.Name, err)
			}
			q := lakehouse.QuoteIdent(f.Name)
			sel[i] = "CAST(" + q + " AS " + typ + ") AS " + q
		}
		b.WriteString("(\n  SELECT " + strings.Join(sel, ", ") + "\n  FROM " + quoteString(c.Dir) + "\n)")
	} else {
		b.WriteString(quoteString(c.Dir))
	}
	switch c.Format {
	case lakehouse.FormatParquet:
		b.WriteString("\nFILEFORMAT = PARQUET")
	case lakehouse.FormatCSV, lakehouse.FormatCSVGzip:
		b.WriteString("\nFILEFORMAT = CSV")
	default:
		return Statement{}, lakehouse.Invalidf("%s: staged format %q (parquet, csv or csv.gz)", t.Plain(), c.Format)
	}
	files := make([]string, len(c.Files))
	for i, f := range c.Files {
		files[i] = quoteString(f)
	}
	b.WriteString("\nFILES = (" + strings.Join(files, ", ") + ")")
	var fo []string
	switch c.Format {
	case lakehouse.FormatCSV:
		fo = append(fo, "'header' = 'true'")
	case lakehouse.FormatCSVGzip:
		fo = append(fo, "'header' = 'true'", "'compression' = 'gzip'")
	}
	if c.InferSchema && c.Format != lakehouse.FormatParquet {
		fo = append(fo, "'inferSchema' = 'true'")
	}
	if c.MergeSchema {
		fo = append(fo, "'mergeSchema' = 'true'")
	}
	if len(fo) > 0 {
		b.WriteString("\nFORMAT_OPTIONS (" + strings.Join(fo, ", ") + ")")
	}
	var co []string
	if c.MergeSchema {
		co = append(co, "'mergeSchema' = 'true'")
	}
	if c.Force {
		co = append(co, "'force' = 'true'")
	}
	if len(co) > 0 {
		b.WriteString("\nCOPY_OPTIONS (" + strings.Join(co, ", ") + ")")
	}
	return Statement{SQL: b.String()}, nil
}

// The load ledger is a table property per load App:
// lakeport.load.<app> = <highest Version loaded>. It is written after
// the data (ALTER TABLE ... SET TBLPROPERTIES), read before every load.
const ledgerPrefix = "lakeport.load."

// appRE is what a ledger app id may hold (job names are narrower).
var appRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$`)

func ledgerKey(app string) (string, error) {
	if !appRE.MatchString(app) {
		return "", lakehouse.Invalidf("load key app %q: want letters, digits, '_', '.' and '-' (at most 200)", app)
	}
	return ledgerPrefix + app, nil
}

// ledgerReadSQL lists the table's properties (the ledger among them). It
// fails with TABLE_OR_VIEW_NOT_FOUND for a missing table.
func ledgerReadSQL(t lakehouse.TableName) Statement {
	return Statement{SQL: "SHOW TBLPROPERTIES " + t.String()}
}

// ledgerWriteSQL records that app's load Version is in the table.
func ledgerWriteSQL(t lakehouse.TableName, key lakehouse.LoadKey) (Statement, error) {
	k, err := ledgerKey(key.App)
	if err != nil {
		return Statement{}, err
	}
	return Statement{SQL: "ALTER TABLE " + t.String() + " SET TBLPROPERTIES (" + quoteString(k) + " = " + quoteString(strconv.FormatInt(key.Version, 10)) + ")"}, nil
}

// sqlTypeOf renders an Arrow type as a Databricks SQL type for DDL (struct
// field names quoted).
func sqlTypeOf(t arrow.DataType) (string, error) { return typeName(t, true) }

// canonicalType renders an Arrow type as the canonical lower-case
// Databricks type of lakehouse.Column (struct<city:string>).
func canonicalType(t arrow.DataType) (string, error) { return typeName(t, false) }

func typeName(t arrow.DataType, ddl bool) (string, error) {
	kw := func(s string) string {
		if ddl {
			return strings.ToUpper(s)
		}
		return s
	}
	switch v := t.(type) {
	case *arrow.Int8Type:
		return kw("tinyint"), nil
	case *arrow.Int16Type:
		return kw("smallint"), nil
	case *arrow.Int32Type:
		return kw("int"), nil
	case *arrow.Int64Type:
		return kw("bigint"), nil
	case *arrow.Float32Type:
		return kw("float"), nil
	case *arrow.Float64Type:
		return kw("double"), nil
	case *arrow.BooleanType:
		return kw("boolean"), nil
	case *arrow.StringType, *arrow.LargeStringType:
		return kw("string"), nil
	case *arrow.BinaryType, *arrow.LargeBinaryType:
		return kw("binary"), nil
	case *arrow.Date32Type:
		return kw("date"), nil
	case *arrow.TimestampType:
		if v.TimeZone == "" {
			return kw("timestamp_ntz"), nil
		}
		return kw("timestamp"), nil
	case *arrow.Decimal128Type:
		return kw("decimal") + fmt.Sprintf("(%d,%d)", v.Precision, v.Scale), nil
	case *arrow.ListType:
		e, err := typeName(v.Elem(), ddl)
		if err != nil {
			return "", err
		}
		return kw("array") + "<" + e + ">", nil
	case *arrow.MapType:
		k, err := typeName(v.KeyType(), ddl)
		if err != nil {
			return "", err
		}
		it, err := typeName(v.ItemType(), ddl)
		if err != nil {
			return "", err
		}
		return kw("map") + "<" + k + "," + it + ">", nil
	case *arrow.StructType:
		parts := make([]string, v.NumFields())
		for i, f := range v.Fields() {
			ft, err := typeName(f.Type, ddl)
			if err != nil {
				return "", err
			}
			n := f.Name
			if ddl {
				n = lakehouse.QuoteIdent(n)
			}
			parts[i] = n + ":" + ft
		}
		return kw("struct") + "<" + strings.Join(parts, ",") + ">", nil
	}
	return "", fmt.Errorf("no Databricks SQL type for Arrow type %s", t)
}
