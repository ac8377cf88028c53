package delta_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/lakeport/lakeport/internal/delta"
	"github.com/lakeport/lakeport/internal/delta/deltatest"
)

// duckdb returns the shared DuckDB tool (an independent Parquet reader).
func duckdb(t *testing.T) string {
	t.Helper()
	p := filepath.Join(filepath.Dir(filepath.Dir(deltatest.CorpusDir(t))), "tools", "duckdb")
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("DuckDB tool missing at %s", p)
		}
		t.Skipf("SKIPPING: DuckDB tool missing at %s", p)
	}
	return p
}

func runDuckDB(t *testing.T, tool, sql string) []string {
	t.Helper()
	out, err := exec.Command(tool, sql).Output()
	if err != nil {
		t.Fatalf("duckdb %q: %v", sql, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	rows := lines[1:]
	sort.Strings(rows)
	return rows
}

// TestDuckDBReadsWrittenFiles writes a table with the writer and checks that
// DuckDB, reading the live data files on its own, sees the same rows.
func TestDuckDBReadsWrittenFiles(t *testing.T) {
	tool := duckdb(t)
	ctx := context.Background()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "amount", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}, Nullable: true},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	for _, compression := range []string{"snappy", "zstd"} {
		dir := filepath.Join(t.TempDir(), "t")
		tbl, err := delta.Create(ctx, dir, delta.TableSpec{Schema: schema, PartitionColumns: []string{"country"}})
		if err != nil {
			t.Fatal(err)
		}
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		var want []string
		base := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
		for i := int64(0); i < 500; i++ {
			ts := base.Add(time.Duration(i) * time.Minute)
			name := "n" + string(rune('a'+i%26)) + " \"q\""
			b.Field(0).(*array.Int64Builder).Append(i)
			b.Field(1).(*array.StringBuilder).Append(name)
			b.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(i*101 - 7000))
			b.Field(3).(*array.Date32Builder).Append(arrow.Date32FromTime(ts))
			b.Field(4).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixMicro()))
			b.Field(5).(*array.StringBuilder).Append([]string{"NL", "D E", "x%y/z"}[i%3])
			amt := float64(i*101-7000) / 100
			want = append(want, strings.Join([]string{jsonNum(i), strings.ReplaceAll(name, `"`, `""`), strconv.FormatFloat(amt, 'f', 2, 64),
				ts.Format("2006-01-02"), ts.Format("2006-01-02 15:04:05.000000")}, "|"))
		}
		rec := b.NewRecordBatch()
		b.Release()
		if _, err := tbl.Append(ctx, delta.RecordsOf(schema, rec), delta.WriteOptions{Compression: compression}); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		snap, _ := tbl.Snapshot(ctx, delta.Latest())
		var files []string
		for _, f := range snap.Files() {
			key, _ := urlUnescape(f.Path)
			files = append(files, "'"+strings.ReplaceAll(filepath.Join(dir, key), "'", "''")+"'")
			if compression == "zstd" && !strings.HasSuffix(key, ".zstd.parquet") {
				t.Errorf("zstd file named %s", key)
			}
		}
		got := runDuckDB(t, tool, "SELECT id || '|' || name || '|' || CAST(amount AS VARCHAR) || '|' || CAST(day AS VARCHAR) || '|' || strftime(ts AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S.%f') AS r FROM read_parquet(["+strings.Join(files, ",")+"])")
		for i := range got {
			got[i] = strings.Trim(got[i], `"`)
			got[i] = strings.ReplaceAll(got[i], `""`, `"`)
		}
		for i := range want {
			want[i] = strings.ReplaceAll(want[i], `""`, `"`)
		}
		sort.Strings(want)
		if d := deltatest.Diff(want, got); d != "" {
			t.Errorf("%s: DuckDB reads different rows:\n%s", compression, d)
		}
	}
}

func jsonNum(i int64) string { b, _ := json.Marshal(i); return string(b) }

func fmtFloat(f float64) string {
	b, _ := json.Marshal(f)
	s := string(b)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

func urlUnescape(p string) (string, error) {
	var sb strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '%' && i+2 < len(p) {
			var v byte
			for _, c := range p[i+1 : i+3] {
				v <<= 4
				switch {
				case c >= '0' && c <= '9':
					v |= byte(c - '0')
				case c >= 'a' && c <= 'f':
					v |= byte(c-'a') + 10
				case c >= 'A' && c <= 'F':
					v |= byte(c-'A') + 10
				}
			}
			sb.WriteByte(v)
			i += 2
			continue
		}
		sb.WriteByte(p[i])
	}
	return sb.String(), nil
}

// TestLogMatchesSpark compares the writer's log actions and checkpoint schema
// with what Spark writes (tables in the corpus).
func TestLogMatchesSpark(t *testing.T) {
	ctx := context.Background()
	corpus := deltatest.CorpusDir(t)
	dir := filepath.Join(t.TempDir(), "t")
	tbl, err := delta.Create(ctx, dir, delta.TableSpec{Schema: modelSchema, PartitionColumns: []string{"part"}, Properties: map[string]string{"delta.checkpointInterval": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		rec := modelBatch([]mrow{{int64(i), "a", 1, "x"}}, nil)
		tbl.Append(ctx, delta.RecordsOf(modelSchema, rec), delta.WriteOptions{AppID: "a", AppVersion: int64(i)})
		rec.Release()
	}
	keysOf := func(raw json.RawMessage) []string {
		var m map[string]json.RawMessage
		json.Unmarshal(raw, &m)
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return ks
	}
	ours := map[string][]string{}
	for _, v := range []int{0, 1} {
		for _, a := range logActions(t, dir, v) {
			for kind, raw := range a {
				ours[kind] = keysOf(raw)
			}
		}
	}
	// Spark 3 / Delta writes these fields (delta-rs/partition-type-primitives, kernel-rs golden tables)
	spark := map[string][]string{}
	for _, f := range []string{"kernel-rs/golden/data-reader-partition-values/delta/_delta_log/00000000000000000000.json", "kernel-rs/data/app-txn-no-checkpoint/_delta_log/00000000000000000001.json"} {
		b, err := os.ReadFile(filepath.Join(corpus, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var m map[string]json.RawMessage
			json.Unmarshal([]byte(line), &m)
			for kind, raw := range m {
				spark[kind] = keysOf(raw)
			}
		}
	}
	for _, kind := range []string{"add", "metaData", "protocol", "txn"} {
		need := map[string]bool{}
		for _, k := range spark[kind] {
			need[k] = true
		}
		for _, k := range ours[kind] {
			delete(need, k)
		}
		// optional fields, written only for features Lakeport does not enable (DVs, row tracking, clustering)
		for _, optional := range []string{"tags", "name", "description", "deletionVector", "baseRowId", "defaultRowCommitVersion", "clusteringProvider"} {
			delete(need, optional)
		}
		if len(need) > 0 {
			t.Errorf("%s: Spark writes fields %v that Lakeport does not (ours: %v)", kind, need, ours[kind])
		}
	}
	for _, k := range []string{"timestamp", "operation", "operationParameters", "isBlindAppend"} {
		if !contains(ours["commitInfo"], k) {
			t.Errorf("commitInfo lacks %q: %v", k, ours["commitInfo"])
		}
	}
	// checkpoint schema: every column and field Lakeport writes has Spark's name and type
	ourCP := parquetSchema(t, filepath.Join(dir, "_delta_log", "00000000000000000002.checkpoint.parquet"))
	sparkCP := parquetSchema(t, filepath.Join(corpus, "kernel-rs/golden/checkpoint/delta/_delta_log/00000000000000000010.checkpoint.parquet"))
	for _, f := range ourCP.Fields() {
		sf, ok := sparkCP.FieldsByName(f.Name)
		if !ok {
			t.Errorf("checkpoint column %q is not in Spark's checkpoint", f.Name)
			continue
		}
		compareStruct(t, f.Name, f.Type, sf[0].Type)
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func parquetSchema(t *testing.T, path string) *arrow.Schema {
	t.Helper()
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	s, err := fr.Schema()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func compareStruct(t *testing.T, path string, ours, spark arrow.DataType) {
	os, ok1 := ours.(*arrow.StructType)
	ss, ok2 := spark.(*arrow.StructType)
	if !ok1 || !ok2 {
		if deltatest.DeltaTypeName(ours) != deltatest.DeltaTypeName(spark) {
			t.Errorf("checkpoint %s: type %s, Spark has %s", path, deltatest.DeltaTypeName(ours), deltatest.DeltaTypeName(spark))
		}
		return
	}
	for _, f := range os.Fields() {
		i, ok := ss.FieldIdx(f.Name)
		if !ok {
			if path+"."+f.Name != "add.clusteringProvider" {
				t.Errorf("checkpoint field %s.%s is not in Spark's checkpoint", path, f.Name)
			}
			continue
		}
		compareStruct(t, path+"."+f.Name, f.Type, ss.Field(i).Type)
	}
}
