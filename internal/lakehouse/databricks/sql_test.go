package databricks

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakeport/lakeport/internal/lakehouse"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	tbl = lakehouse.TableName{Catalog: "main", Schema: "web", Table: "events"}
	t0  = time.Date(2024, 3, 1, 10, 30, 0, 123456000, time.UTC)
)

// golden compares a statement with testdata/NAME.sql.
func golden(t *testing.T, name string, st Statement) {
	t.Helper()
	path := filepath.Join("testdata", name+".sql")
	got := st.Golden()
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

func must(t *testing.T) func(Statement, error) Statement {
	return func(st Statement, err error) Statement {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
}

func TestGoldenScans(t *testing.T) {
	ts := lakehouse.Timestamp(t0)
	from, until := lakehouse.Timestamp(t0.Add(-time.Hour)), lakehouse.Timestamp(t0.Add(time.Hour))
	cols := []string{"event_id", "ts", "kind"}
	golden(t, "probe", probeSQL(tbl, 7))
	golden(t, "table_probe", tableProbeSQL(tbl))
	golden(t, "scan_ordered_tie", orderedScanSQL(tbl, 7, cols, orderSpec{Key: "ts", KeyType: "timestamp", Tie: "event_id", TieType: "bigint"}))
	golden(t, "scan_ordered_no_tie", orderedScanSQL(tbl, 7, cols, orderSpec{Key: "ts", KeyType: "timestamp"}))
	golden(t, "scan_ordered_after", orderedScanSQL(tbl, 7, cols, orderSpec{Key: "ts", KeyType: "timestamp", Tie: "event_id", TieType: "bigint",
		After: &lakehouse.Position{Key: ts, Tie: lakehouse.Int(42)}}))
	golden(t, "scan_ordered_after_null_tie", orderedScanSQL(tbl, 7, cols, orderSpec{Key: "ts", KeyType: "timestamp", Tie: "event_id", TieType: "bigint",
		After: &lakehouse.Position{Key: ts}}))
	golden(t, "scan_ordered_after_no_tie", orderedScanSQL(tbl, 7, cols, orderSpec{Key: "ts", KeyType: "timestamp", After: &lakehouse.Position{Key: ts}}))
	golden(t, "scan_ordered_from_until", orderedScanSQL(tbl, 7, []string{"kind", "ts", "event_id"}, orderSpec{Key: "ts", KeyType: "timestamp", Tie: "event_id", TieType: "bigint",
		After: &lakehouse.Position{Key: ts, Tie: lakehouse.Int(42)}, From: &from, Until: &until}))
	golden(t, "scan_ordered_ntz_date_tie", orderedScanSQL(tbl, 7, nil, orderSpec{Key: "local_ts", KeyType: "timestamp_ntz", Tie: "day", TieType: "date",
		After: &lakehouse.Position{Key: ts, Tie: lakehouse.Date(t0)}}))
	golden(t, "scan_ordered_int_string_tie", orderedScanSQL(tbl, 7, nil, orderSpec{Key: "seq", KeyType: "bigint", Tie: "code", TieType: "string",
		After: &lakehouse.Position{Key: lakehouse.Int(-5), Tie: lakehouse.String("it's")}}))
	golden(t, "count_ordered", orderedCountSQL(tbl, 7, orderSpec{Key: "ts", KeyType: "timestamp", Tie: "event_id", TieType: "bigint",
		After: &lakehouse.Position{Key: ts, Tie: lakehouse.Int(42)}, Until: &until}))
	golden(t, "scan_unordered", unorderedScanSQL(tbl, 7, nil, 0))
	golden(t, "scan_unordered_offset", unorderedScanSQL(tbl, 7, []string{"id", "name"}, 137))
	golden(t, "count", countSQL(tbl, 7))
	golden(t, "table_count", tableCountSQL(tbl))
	golden(t, "count_nulls", countNullsSQL(tbl, 7, "ts"))
	golden(t, "describe_history", historySQL(tbl))
}

func TestGoldenChanges(t *testing.T) {
	golden(t, "changes_probe", changesProbeSQL(tbl, 3, 9))
	golden(t, "changes", changesSQL(tbl, 3, 9, []string{"id", "name"}, []string{"id", "name", "tags"}))
	golden(t, "changes_count", changesCountSQL(tbl, 3, 9))
}

var loadSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "local ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "price", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
	{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	{Name: "attrs", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String), Nullable: true},
	{Name: "addr", Type: arrow.StructOf(arrow.Field{Name: "city", Type: arrow.BinaryTypes.String, Nullable: true}), Nullable: true},
}, nil)

func TestGoldenLoads(t *testing.T) {
	users := lakehouse.TableName{Catalog: "main", Schema: "exports", Table: "lakeport_user_vip"}
	golden(t, "create_table", must(t)(createTableSQL(users, loadSchema, map[string]string{"delta.enableChangeDataFeed": "true", "comment.by": "lakeport's"})))
	golden(t, "create_placeholder", must(t)(placeholderCreateSQL(users, nil)))
	golden(t, "drop_table", dropTableSQL(users))
	golden(t, "truncate_table", truncateSQL(users))
	files := []string{"part-00000.parquet", "part-00001.parquet"}
	golden(t, "copy_parquet", must(t)(copyIntoSQL(users, copySpec{Dir: "s3://bucket/lakeport/job1/run-7", Files: files, Format: lakehouse.FormatParquet})))
	golden(t, "copy_parquet_merge_schema", must(t)(copyIntoSQL(users, copySpec{Dir: "/Volumes/main/exports/staging/job1/run-7", Files: files, Format: lakehouse.FormatParquet, MergeSchema: true})))
	golden(t, "copy_parquet_force", must(t)(copyIntoSQL(users, copySpec{Dir: "gs://bucket/p", Files: files[:1], Format: lakehouse.FormatParquet, Force: true})))
	small := arrow.NewSchema(loadSchema.Fields()[:3], nil)
	golden(t, "copy_csv_typed", must(t)(copyIntoSQL(users, copySpec{Dir: "abfss://c@acct.dfs.core.windows.net/p", Files: []string{"a.csv"}, Format: lakehouse.FormatCSV, Columns: small})))
	golden(t, "copy_csv_gz_infer_merge", must(t)(copyIntoSQL(users, copySpec{Dir: "s3://bucket/metrics", Files: []string{"m-1.csv.gz", "it's.csv.gz"}, Format: lakehouse.FormatCSVGzip, InferSchema: true, MergeSchema: true})))
	golden(t, "ledger_read", ledgerReadSQL(users))
	golden(t, "ledger_write", must(t)(ledgerWriteSQL(users, lakehouse.LoadKey{App: "export.audience-vip", Version: 42})))
}

func TestCopyIntoLimits(t *testing.T) {
	many := make([]string, MaxCopyFiles+1)
	for i := range many {
		many[i] = "f.parquet"
	}
	if _, err := copyIntoSQL(tbl, copySpec{Dir: "s3://b", Files: many, Format: lakehouse.FormatParquet}); err == nil {
		t.Errorf("COPY INTO with %d files: no error", len(many))
	}
	if _, err := copyIntoSQL(tbl, copySpec{Dir: "s3://b", Files: many[:1], Format: "json"}); err == nil {
		t.Errorf("COPY INTO of json: no error")
	}
}

func TestQuotingNeverBreaksOut(t *testing.T) {
	for _, s := range []string{`a'b`, `a\'b`, `x\`, "l1\nl2"} {
		q := quoteString(s)
		body := q[1 : len(q)-1]
		// every quote inside is escaped
		for i := 0; i < len(body); i++ {
			if body[i] == '\\' {
				i++
				continue
			}
			if body[i] == '\'' || body[i] == '\n' {
				t.Errorf("quoteString(%q) = %s: unescaped %q", s, q, body[i])
			}
		}
	}
	if _, err := ledgerWriteSQL(tbl, lakehouse.LoadKey{App: "x') ; DROP TABLE y; --", Version: 1}); err == nil {
		t.Errorf("ledger app with quotes accepted")
	}
	if _, err := propertiesClause(map[string]string{"a' = 'b": "c"}); err == nil {
		t.Errorf("property key with quotes accepted")
	}
	bad := arrow.NewSchema([]arrow.Field{{Name: "a\x00b", Type: arrow.PrimitiveTypes.Int64}}, nil)
	if _, err := createTableSQL(tbl, bad, nil); err == nil {
		t.Errorf("column name with a control character accepted")
	}
	st := orderedScanSQL(tbl, 1, []string{"we`ird"}, orderSpec{Key: "t`s", KeyType: "timestamp", After: &lakehouse.Position{Key: lakehouse.Timestamp(t0)}})
	if !strings.Contains(st.SQL, "`we``ird`") || !strings.Contains(st.SQL, "`t``s` > CAST(:after_key AS TIMESTAMP)") {
		t.Errorf("identifiers not quoted: %s", st.SQL)
	}
	if strings.Contains(st.SQL, "2024") {
		t.Errorf("a value was pasted into the statement: %s", st.SQL)
	}
}

func TestSQLTypes(t *testing.T) {
	var got []string
	for _, f := range loadSchema.Fields() {
		s, err := canonicalType(f.Type)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	want := "bigint string timestamp timestamp_ntz date decimal(10,2) array<string> map<string,string> struct<city:string>"
	if strings.Join(got, " ") != want {
		t.Errorf("types = %s\nwant    %s", strings.Join(got, " "), want)
	}
	if _, err := canonicalType(arrow.FixedWidthTypes.Duration_s); err == nil {
		t.Errorf("duration: no error")
	}
}
