package deltatest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestLocateCorpus(t *testing.T) {
	dir := CorpusDir(t)
	if _, err := os.Stat(filepath.Join(dir, "INDEX.md")); err != nil {
		t.Fatal(err)
	}
	t.Setenv(CorpusEnv, filepath.Join(t.TempDir(), "missing"))
	if _, err := LocateCorpus(); err == nil || !strings.Contains(err.Error(), CorpusEnv) {
		t.Errorf("LocateCorpus with a bad $%s: %v", CorpusEnv, err)
	}
	t.Setenv(CorpusEnv, dir)
	if got, err := LocateCorpus(); err != nil || got != dir {
		t.Errorf("LocateCorpus with $%s=%s: %q, %v", CorpusEnv, dir, got, err)
	}
}

var commitFile = regexp.MustCompile(`^[0-9]{20}\.json$`)

// latestSchemaString returns the schemaString of the last metaData action in
// the table's JSON commits ("" when the commits hold none, e.g. when only a
// checkpoint has it).
func latestSchemaString(t *testing.T, table string) string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(table, "_delta_log"))
	if err != nil {
		return ""
	}
	var names []string
	for _, e := range entries {
		if commitFile.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	schema := ""
	for _, n := range names {
		f, err := os.Open(filepath.Join(table, "_delta_log", n))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var a struct {
				MetaData *struct {
					SchemaString string `json:"schemaString"`
				} `json:"metaData"`
			}
			if json.Unmarshal(sc.Bytes(), &a) == nil && a.MetaData != nil {
				schema = a.MetaData.SchemaString
			}
		}
		f.Close()
	}
	return schema
}

// deltaSchemaStrings renders a Delta schemaString the way CanonicalSchema
// renders Arrow schemas.
func deltaSchemaStrings(t *testing.T, schemaString string) []string {
	t.Helper()
	var s struct {
		Fields []struct {
			Name string          `json:"name"`
			Type json.RawMessage `json:"type"`
		} `json:"fields"`
	}
	if err := json.Unmarshal([]byte(schemaString), &s); err != nil {
		t.Fatalf("schemaString: %v", err)
	}
	var out []string
	for _, f := range s.Fields {
		out = append(out, f.Name+": "+deltaTypeString(t, f.Type))
	}
	return out
}

func deltaTypeString(t *testing.T, raw json.RawMessage) string {
	var name string
	if json.Unmarshal(raw, &name) == nil {
		return strings.ReplaceAll(name, " ", "")
	}
	var c struct {
		Type        string          `json:"type"`
		ElementType json.RawMessage `json:"elementType"`
		KeyType     json.RawMessage `json:"keyType"`
		ValueType   json.RawMessage `json:"valueType"`
		Fields      []struct {
			Name string          `json:"name"`
			Type json.RawMessage `json:"type"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("type %s: %v", raw, err)
	}
	switch c.Type {
	case "array":
		return "array<" + deltaTypeString(t, c.ElementType) + ">"
	case "map":
		return "map<" + deltaTypeString(t, c.KeyType) + ", " + deltaTypeString(t, c.ValueType) + ">"
	case "struct":
		var parts []string
		for _, f := range c.Fields {
			parts = append(parts, f.Name+": "+deltaTypeString(t, f.Type))
		}
		return "struct<" + strings.Join(parts, ", ") + ">"
	}
	t.Fatalf("unknown complex type %s", raw)
	return ""
}

// TestGoldenExpected reads the Spark-written expected/ parquet of every
// kernel-rs golden table, renders it canonically, and checks that its schema
// matches the Delta schema of the table's latest metadata (so the Delta type
// mapping, INT96 timestamps included, is right).
func TestGoldenExpected(t *testing.T) {
	golden := filepath.Join(CorpusDir(t), "kernel-rs", "golden")
	dirs, err := filepath.Glob(filepath.Join(golden, "*", "expected"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no expected/ dirs under %s: %v", golden, err)
	}
	var compared, skipped, totalRows int
	for _, exp := range dirs {
		table := filepath.Dir(exp)
		name := filepath.Base(table)
		t.Run(name, func(t *testing.T) {
			schema, recs, err := ReadParquetDir(exp)
			if err != nil {
				t.Fatalf("ReadParquetDir: %v", err)
			}
			rows, err := CanonicalRows(schema, recs)
			if err != nil {
				t.Fatalf("CanonicalRows: %v", err)
			}
			totalRows += len(rows)
			got := CanonicalSchema(schema)
			ss := latestSchemaString(t, filepath.Join(table, "delta"))
			if ss == "" {
				skipped++
				t.Logf("no metaData in JSON commits; schema %q not compared", got)
				return
			}
			want := deltaSchemaStrings(t, ss)
			if !slices.Equal(got, want) {
				t.Errorf("expected/ schema differs from the Delta schema:\n got %q\nwant %q", got, want)
			}
			compared++
		})
	}
	t.Logf("%d expected/ dirs, %d rows; schema compared with the Delta log for %d, skipped %d",
		len(dirs), totalRows, compared, skipped)
}

func TestParseCDFExpectations(t *testing.T) {
	corpus := CorpusDir(t)
	wantQueries := map[string]int{"kernel-rs_cdf_expected.md": 18, "delta-rs_load_cdf_expected.md": 10}
	for file, n := range wantQueries {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join(corpus, "expected-cdf", file)
			qs, err := ParseCDFExpectations(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(qs) != n {
				t.Errorf("%d queries, want %d", len(qs), n)
			}
			// Every block heading in the file must be accounted for.
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			blocks := map[string]bool{}
			for _, q := range qs {
				blocks[q.Block] = true
			}
			if headings := strings.Count(string(raw), "\n## "); headings != len(blocks) {
				t.Errorf("%d headings, %d parsed blocks", headings, len(blocks))
			}
			names := map[string]bool{}
			for _, q := range qs {
				if names[q.Name] {
					t.Errorf("duplicate query name %q", q.Name)
				}
				names[q.Name] = true
				if q.Expected == nil && q.ExpectError == "" {
					t.Errorf("%s: no expectation", q.Name)
					continue
				}
				if _, err := os.Stat(filepath.Join(corpus, q.Table, "_delta_log")); err != nil {
					t.Errorf("%s: table %s: %v", q.Name, q.Table, err)
				}
				if q.StartVersion == nil && q.StartTimestamp == nil {
					t.Errorf("%s: no start", q.Name)
				}
				if q.Expected != nil {
					if len(q.Columns) > 0 && !slices.Equal(q.Columns, q.Expected.Columns) {
						t.Errorf("%s: projection %q but table columns %q", q.Name, q.Columns, q.Expected.Columns)
					}
					if len(q.Expected.CanonicalRows()) != len(q.Expected.Rows) {
						t.Errorf("%s: CanonicalRows lost rows", q.Name)
					}
				}
				t.Logf("%-58s %-48s %s rows=%s cols=%d%s", q.Name, q.Table, describeRange(q), rowCount(q), colCount(q), describeExtras(q))
			}
		})
	}
}

func describeRange(q CDFQuery) string {
	b := func(v *int64, ts fmt.Stringer) string {
		switch {
		case v != nil:
			return fmt.Sprintf("v%d", *v)
		case ts != nil:
			return ts.String()
		}
		return "latest"
	}
	var st, et fmt.Stringer
	if q.StartTimestamp != nil {
		st = q.StartTimestamp
	}
	if q.EndTimestamp != nil {
		et = q.EndTimestamp
	}
	return "[" + b(q.StartVersion, st) + " .. " + b(q.EndVersion, et) + "]"
}

func rowCount(q CDFQuery) string {
	if q.Expected == nil {
		return "error(" + q.ExpectError + ")"
	}
	return fmt.Sprint(len(q.Expected.Rows))
}

func colCount(q CDFQuery) int {
	if q.Expected == nil {
		return 0
	}
	return len(q.Expected.Columns)
}

func describeExtras(q CDFQuery) string {
	s := ""
	if q.Columns != nil {
		s += fmt.Sprintf(" columns=%q", q.Columns)
	}
	if q.Filter != "" {
		s += fmt.Sprintf(" filter=%q", q.Filter)
	}
	return s
}

func TestParseCDFExpectationsDetails(t *testing.T) {
	corpus := CorpusDir(t)
	kr, err := ParseCDFExpectations(filepath.Join(corpus, "expected-cdf", "kernel-rs_cdf_expected.md"))
	if err != nil {
		t.Fatal(err)
	}
	dr, err := ParseCDFExpectations(filepath.Join(corpus, "expected-cdf", "delta-rs_load_cdf_expected.md"))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]CDFQuery{}
	for _, q := range append(kr, dr...) {
		byName[q.Name] = q
	}

	q := byName["simple_cdf_version_ranges#2"]
	if q.Table != "kernel-rs/data/cdf-table-simple" || *q.StartVersion != 1 || *q.EndVersion != 1 || len(q.Expected.Rows) != 10 {
		t.Errorf("simple_cdf_version_ranges#2: %+v", q)
	}
	q = byName["backtick_column_names"]
	if !slices.Equal(q.Expected.Columns, []string{"id.num", "id.num`s", "struct_col", "_change_type", "_commit_version"}) ||
		q.Expected.Rows[0][2] != "{field: 1, field.one: 2}" {
		t.Errorf("backtick_column_names: %+v", q.Expected)
	}
	q = byName["cdf_with_cdc_and_dvs"]
	if q.EndVersion != nil || !slices.Contains(q.Expected.CanonicalRows(), "11 |  | update_postimage | 20") {
		t.Errorf("cdf_with_cdc_and_dvs: null cells: %q", q.Expected.CanonicalRows())
	}
	q = byName["cdf_partition_predicate_in_list_prunes_to_listed_partitions"]
	if q.Filter != "birthday IN (DATE '2023-12-22', DATE '2023-12-25')" ||
		!slices.Equal(q.Columns, []string{"id", "name", "birthday", "_change_type"}) {
		t.Errorf("filter/columns: %q %q", q.Filter, q.Columns)
	}
	q = byName["test_load_local_datetime"]
	if *q.StartVersion != 0 || q.EndTimestamp == nil || q.EndTimestamp.UnixMilli() != 1703265021675 {
		t.Errorf("test_load_local_datetime: %+v", q)
	}
	q = byName["test_load_vacuumed_table"]
	if q.StartTimestamp == nil || q.StartTimestamp.UnixMilli() != 1704555899570 || q.EndVersion != nil || q.EndTimestamp != nil {
		t.Errorf("test_load_vacuumed_table: %+v", q)
	}
	// The one table printed without borders.
	q = byName["test_load_local_non_partitioned"]
	if len(q.Expected.Columns) != 10 || len(q.Expected.Rows) != 25 {
		t.Errorf("test_load_local_non_partitioned: %d columns, %d rows", len(q.Expected.Columns), len(q.Expected.Rows))
	}
}

func TestParseCDFExpectationsSynthetic(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, fmt.Sprintf("f%d.md", len(s)))
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("# title\n\nprose\n\n## errs\n```\nquery: table t; changes from version 5 to version 2\nquery: table t; changes from commit timestamp 2024-01-01T00:00:00Z to commit timestamp 2024-01-02T00:00:00.5+01:00; filter a = 'x;y'\n```\n```\nerror: start version 5 is after end version 2\n```\n```\n+---+\n| a |\n+---+\n+---+\n```\n")
	qs, err := ParseCDFExpectations(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 2 || qs[0].ExpectError != "start version 5 is after end version 2" || qs[0].Expected != nil ||
		qs[1].Filter != "a = 'x;y'" || len(qs[1].Expected.Rows) != 0 || qs[1].EndTimestamp.UTC().Format("15:04:05.0") != "23:00:00.5" ||
		qs[0].Name != "errs#1" || qs[1].Name != "errs#2" {
		t.Errorf("parsed %+v", qs)
	}
	for _, bad := range []string{
		"## a\n```\nquery: table t; changes from version 0 to latest\n```\n",                                   // missing result
		"## a\n```\nquery: table t; changes from version 0 to latest\n```\n```\n| a |\n| 1 | 2 |\n```\n",       // ragged row
		"## a\n```\nquery: table t; changes since version 0\n```\n```\n| a |\n```\n",                           // unknown part
		"## a\n```\nquery: table t; changes from version x to latest\n```\n```\n| a |\n```\n",                  // bad version
		"## a\n```\nquery: table t; changes from version 0 to latest\n```\nstray\n```\n| a |\n```\n",           // text outside fences
		"## a\n```\nquery: table t; changes from version 0 to latest\n```\n```\n| a |\n",                       // unterminated
		"## a\n```\nquery: table t; changes from latest to version 1\n```\n```\n| a |\n```\n",                  // latest as start
		"## a\n```\nquery: table t; changes from version 0 to latest; columns a,\n```\n```\n| a |\n```\n",      // empty column
		"## a\n```\nquery: table t; changes from commit timestamp yesterday to latest\n```\n```\n| a |\n```\n", // bad timestamp
		"## a\n```\nquery: table t; changes from version 0 to latest\n```\n```\nsome words\n```\n",             // not a table
	} {
		if _, err := ParseCDFExpectations(write(bad)); err == nil {
			t.Errorf("parsed invalid input:\n%s", bad)
		}
	}
}

// project returns the named columns of recs.
func project(t *testing.T, s *arrow.Schema, recs []arrow.RecordBatch, names ...string) (*arrow.Schema, []arrow.RecordBatch) {
	t.Helper()
	var idx []int
	var fields []arrow.Field
	for _, n := range names {
		i := s.FieldIndices(n)
		if len(i) != 1 {
			t.Fatalf("column %q not in %v", n, CanonicalSchema(s))
		}
		idx = append(idx, i[0])
		fields = append(fields, s.Field(i[0]))
	}
	ps := arrow.NewSchema(fields, nil)
	var out []arrow.RecordBatch
	for _, r := range recs {
		cols := make([]arrow.Array, len(idx))
		for k, i := range idx {
			cols[k] = r.Column(i)
		}
		out = append(out, array.NewRecordBatch(ps, cols, r.NumRows()))
	}
	return ps, out
}

// TestReadParquetDirINT96 reads Spark data files holding INT96 timestamps:
// pqarrow yields timestamp[ns, tz=UTC], which CanonicalSchema maps to
// "timestamp", and the values equal the expected/ answer (written as
// TIMESTAMP_MICROS).
func TestReadParquetDirINT96(t *testing.T) {
	table := filepath.Join(CorpusDir(t), "kernel-rs", "golden", "kernel-timestamp-int96")
	s, recs, err := ReadParquetDir(filepath.Join(table, "delta"))
	if err != nil {
		t.Fatal(err)
	}
	ts, ok := s.Field(s.FieldIndices("time")[0]).Type.(*arrow.TimestampType)
	if !ok || ts.Unit != arrow.Nanosecond || ts.TimeZone == "" {
		t.Fatalf("INT96 column read as %v, want timestamp[ns, tz]", s.Field(s.FieldIndices("time")[0]).Type)
	}
	if got := CanonicalSchema(s); !slices.Equal(got, []string{"id: integer", "time: timestamp"}) {
		t.Errorf("schema %q", got)
	}
	es, erecs, err := ReadParquetDir(filepath.Join(table, "expected"))
	if err != nil {
		t.Fatal(err)
	}
	es, erecs = project(t, es, erecs, "id", "time")
	want, err := CanonicalRows(es, erecs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := CanonicalRows(s, recs)
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(want, got); d != "" {
		t.Errorf("INT96 data vs expected:\n%s", d)
	}
	t.Logf("INT96 rows: %q", got)
}

// TestPrettyRowsMatchesRealExpectations renders real data with PrettyRows and
// compares it with cells of the expected-cdf tables: the version-0 inserts
// of cdf-table-non-partitioned are exactly its version-0 data files (ints,
// strings, dates, a long, booleans, doubles, shorts), and delta-rs'
// _commit_timestamp cells are the commits' timestamps.
func TestPrettyRowsMatchesRealExpectations(t *testing.T) {
	corpus := CorpusDir(t)
	kr, err := ParseCDFExpectations(filepath.Join(corpus, "expected-cdf", "kernel-rs_cdf_expected.md"))
	if err != nil {
		t.Fatal(err)
	}
	var q *CDFQuery
	for i := range kr {
		if kr[i].Name == "cdf_non_partitioned" {
			q = &kr[i]
		}
	}
	if q == nil {
		t.Fatal("cdf_non_partitioned not found")
	}
	dataCols := q.Expected.Columns[:len(q.Expected.Columns)-2] // drop _change_type, _commit_version
	var want []string
	for _, r := range q.Expected.Rows {
		if r[len(r)-2] == "insert" && r[len(r)-1] == "0" {
			want = append(want, strings.Join(r[:len(dataCols)], " | "))
		}
	}
	sort.Strings(want)
	table := filepath.Join(corpus, q.Table)
	var schema *arrow.Schema
	var recs []arrow.RecordBatch
	for _, a := range commitActions(t, table, 0) {
		if a.Add == nil {
			continue
		}
		s, rs, err := readParquetFile(filepath.Join(table, filepath.FromSlash(a.Add.Path)))
		if err != nil {
			t.Fatal(err)
		}
		schema, recs = s, append(recs, rs...)
	}
	got, err := PrettyRows(schema, recs, dataCols)
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(want, got); d != "" {
		t.Errorf("PrettyRows of version-0 data vs cdf_non_partitioned inserts:\n%s", d)
	}

	// delta-rs _commit_timestamp cells.
	dr, err := ParseCDFExpectations(filepath.Join(corpus, "expected-cdf", "delta-rs_load_cdf_expected.md"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, q := range dr {
		ti, vi := slices.Index(q.Expected.Columns, "_commit_timestamp"), slices.Index(q.Expected.Columns, "_commit_version")
		if ti < 0 || vi < 0 {
			continue
		}
		seen := map[string]bool{}
		for _, r := range q.Expected.Rows {
			if seen[r[vi]] {
				continue
			}
			seen[r[vi]] = true
			var v int64
			fmt.Sscan(r[vi], &v)
			ms, ok := commitTimestamp(t, filepath.Join(corpus, q.Table), v)
			if !ok {
				continue
			}
			for _, tz := range []string{"", "UTC"} { // both zone-less and UTC-zoned columns print alike
				b := array.NewTimestampBuilder(memory.DefaultAllocator, &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: tz})
				b.Append(arrow.Timestamp(ms))
				arr := b.NewArray()
				s := arrow.NewSchema([]arrow.Field{{Name: "ts", Type: arr.DataType()}}, nil)
				rows, err := PrettyRows(s, []arrow.RecordBatch{array.NewRecordBatch(s, []arrow.Array{arr}, 1)}, []string{"ts"})
				if err != nil {
					t.Fatal(err)
				}
				if rows[0] != r[ti] {
					t.Errorf("%s: version %d: commit timestamp %d renders %q, expected %q", q.Name, v, ms, rows[0], r[ti])
				}
			}
			checked++
		}
	}
	if checked < 10 {
		t.Errorf("checked only %d commit timestamps", checked)
	}
	t.Logf("%d data rows and %d commit timestamps rendered as in the expected files", len(got), checked)
}

type logAction struct {
	Add *struct {
		Path string `json:"path"`
	} `json:"add"`
	CommitInfo *struct {
		Timestamp         *int64 `json:"timestamp"`
		InCommitTimestamp *int64 `json:"inCommitTimestamp"`
	} `json:"commitInfo"`
}

func commitActions(t *testing.T, table string, version int64) []logAction {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(table, "_delta_log", fmt.Sprintf("%020d.json", version)))
	if err != nil {
		return nil
	}
	var out []logAction
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		var a logAction
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// commitTimestamp is inCommitTimestamp, else commitInfo.timestamp, of a commit.
func commitTimestamp(t *testing.T, table string, version int64) (int64, bool) {
	for _, a := range commitActions(t, table, version) {
		if a.CommitInfo == nil {
			continue
		}
		if a.CommitInfo.InCommitTimestamp != nil {
			return *a.CommitInfo.InCommitTimestamp, true
		}
		if a.CommitInfo.Timestamp != nil {
			return *a.CommitInfo.Timestamp, true
		}
	}
	return 0, false
}
