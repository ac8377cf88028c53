package deltatest_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// ---- test data ----

var (
	tsUTC   = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	tsNTZ   = &arrow.TimestampType{Unit: arrow.Microsecond}
	dec10_2 = &arrow.Decimal128Type{Precision: 10, Scale: 2}
	pointT  = arrow.StructOf(arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		arrow.Field{Name: "y", Type: arrow.BinaryTypes.String, Nullable: true})
)

// allTypes has a column of every primitive Delta type, a struct and a partition column.
var allTypes = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "i16", Type: arrow.PrimitiveTypes.Int16, Nullable: true},
	{Name: "i8", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
	{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
	{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "ts", Type: tsUTC, Nullable: true},
	{Name: "ntz", Type: tsNTZ, Nullable: true},
	{Name: "dec", Type: dec10_2, Nullable: true},
	{Name: "pt", Type: pointT, Nullable: true},
	{Name: "part", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// row is one row of allTypes; nil pointers are nulls.
type row struct {
	id   int64
	i32  *int32
	i16  *int16
	i8   *int8
	f64  *float64
	f32  *float32
	b    *bool
	s    *string
	bin  []byte // nil is null
	d    *int32 // days
	ts   *int64 // micros
	ntz  *int64
	dec  *int64 // unscaled, scale 2
	pt   *[2]*string
	part *string
}

func p[T any](v T) *T { return &v }

var baseTime = time.Date(2024, 3, 10, 12, 30, 45, 123456000, time.UTC)

func sampleRows(first int64, n int) []row {
	parts := []*string{p("a"), p("x y/z=%"), nil, p("ünï"), p("")}
	strs := []*string{p("plain"), p("comma, \"quote\""), nil, p("ünïcødé ✓"), p("")}
	var out []row
	for i := 0; i < n; i++ {
		id := first + int64(i)
		r := row{id: id, part: parts[i%len(parts)], s: strs[(i+1)%len(strs)]}
		if i%4 != 3 { // every fourth row has nulls
			r.i32 = p(int32(id*1000 - 7))
			r.i16 = p(int16(-id))
			r.i8 = p(int8(id % 100))
			r.f64 = p(float64(id) + 0.25)
			r.f32 = p(float32(id) * 1.5)
			r.b = p(id%2 == 0)
			r.bin = []byte{byte(id), 0, 0xff}
			r.d = p(int32(19000 + id))
			r.ts = p(baseTime.UnixMicro() + id*3_600_000_001)
			r.ntz = p(baseTime.UnixMicro() - id*1_000)
			r.dec = p(id*12345 - 50)
			r.pt = &[2]*string{nil, p(fmt.Sprint("y", id))}
			if i%2 == 0 {
				r.pt[0] = p(fmt.Sprint(id * 7))
			}
		}
		out = append(out, r)
	}
	return out
}

func buildRecord(t testing.TB, schema *arrow.Schema, rows []row) arrow.RecordBatch {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, r := range rows {
		for i, fld := range schema.Fields() {
			fb := b.Field(i)
			switch fld.Name {
			case "id":
				fb.(*array.Int64Builder).Append(r.id)
			case "i32":
				appendOpt(fb, r.i32, func(v int32) { fb.(*array.Int32Builder).Append(v) })
			case "i16":
				appendOpt(fb, r.i16, func(v int16) { fb.(*array.Int16Builder).Append(v) })
			case "i8":
				appendOpt(fb, r.i8, func(v int8) { fb.(*array.Int8Builder).Append(v) })
			case "f64":
				appendOpt(fb, r.f64, func(v float64) { fb.(*array.Float64Builder).Append(v) })
			case "f32":
				appendOpt(fb, r.f32, func(v float32) { fb.(*array.Float32Builder).Append(v) })
			case "b":
				appendOpt(fb, r.b, func(v bool) { fb.(*array.BooleanBuilder).Append(v) })
			case "s":
				appendOpt(fb, r.s, func(v string) { fb.(*array.StringBuilder).Append(v) })
			case "part":
				appendOpt(fb, r.part, func(v string) { fb.(*array.StringBuilder).Append(v) })
			case "bin":
				if r.bin == nil {
					fb.AppendNull()
				} else {
					fb.(*array.BinaryBuilder).Append(r.bin)
				}
			case "d":
				appendOpt(fb, r.d, func(v int32) { fb.(*array.Date32Builder).Append(arrow.Date32(v)) })
			case "ts":
				appendOpt(fb, r.ts, func(v int64) { fb.(*array.TimestampBuilder).Append(arrow.Timestamp(v)) })
			case "ntz":
				appendOpt(fb, r.ntz, func(v int64) { fb.(*array.TimestampBuilder).Append(arrow.Timestamp(v)) })
			case "dec":
				appendOpt(fb, r.dec, func(v int64) { fb.(*array.Decimal128Builder).Append(decimal128.FromI64(v)) })
			case "pt":
				sb := fb.(*array.StructBuilder)
				if r.pt == nil {
					sb.AppendNull()
					continue
				}
				sb.Append(true)
				xb, yb := sb.FieldBuilder(0).(*array.Int64Builder), sb.FieldBuilder(1).(*array.StringBuilder)
				if r.pt[0] == nil {
					xb.AppendNull()
				} else {
					x, _ := strconv.ParseInt(*r.pt[0], 10, 64)
					xb.Append(x)
				}
				appendOpt(yb, r.pt[1], yb.Append)
			default:
				t.Fatalf("no builder for column %q", fld.Name)
			}
		}
	}
	return b.NewRecordBatch()
}

func appendOpt[T any](b array.Builder, v *T, app func(T)) {
	if v == nil {
		b.AppendNull()
		return
	}
	app(*v)
}

// ---- expected renderings ----

// duckRow renders a row the way duckSQL selects it.
func duckRow(r row, withPart bool) string {
	opt := func(ok bool, s func() string) string {
		if !ok {
			return "NULL"
		}
		return s()
	}
	f := []string{
		strconv.FormatInt(r.id, 10),
		opt(r.i32 != nil, func() string { return strconv.Itoa(int(*r.i32)) }),
		opt(r.i16 != nil, func() string { return strconv.Itoa(int(*r.i16)) }),
		opt(r.i8 != nil, func() string { return strconv.Itoa(int(*r.i8)) }),
		opt(r.f64 != nil, func() string { return duckFloat(*r.f64, 64) }),
		opt(r.f32 != nil, func() string { return duckFloat(float64(*r.f32), 32) }),
		opt(r.b != nil, func() string { return strconv.FormatBool(*r.b) }),
		opt(r.s != nil, func() string { return *r.s }),
		opt(r.bin != nil, func() string { return strings.ToUpper(hex.EncodeToString(r.bin)) }),
		opt(r.d != nil, func() string { return arrow.Date32(*r.d).ToTime().Format("2006-01-02") }),
		opt(r.ts != nil, func() string { return strconv.FormatInt(*r.ts, 10) }),
		opt(r.ntz != nil, func() string { return strconv.FormatInt(*r.ntz, 10) }),
		opt(r.dec != nil, func() string { return decimal128.FromI64(*r.dec).ToString(2) }),
		opt(r.pt != nil && r.pt[0] != nil, func() string { return *r.pt[0] }),
		opt(r.pt != nil && r.pt[1] != nil, func() string { return *r.pt[1] }),
	}
	if withPart {
		// Spark (and the fixture) store an empty partition string as null
		f = append(f, opt(r.part != nil && *r.part != "", func() string { return *r.part }))
	}
	return strings.Join(f, "|")
}

// duckFloat renders a float as DuckDB casts it to VARCHAR (for the values used here).
func duckFloat(v float64, bits int) string {
	s := strconv.FormatFloat(v, 'g', -1, bits)
	if !strings.ContainsAny(s, ".eEnN") {
		s += ".0"
	}
	return s
}

const duckColumns = `concat_ws('|', id, coalesce(CAST(i32 AS VARCHAR), 'NULL'), coalesce(CAST(i16 AS VARCHAR), 'NULL'),
  coalesce(CAST(i8 AS VARCHAR), 'NULL'), coalesce(CAST(f64 AS VARCHAR), 'NULL'), coalesce(CAST(f32 AS VARCHAR), 'NULL'),
  coalesce(CAST(b AS VARCHAR), 'NULL'), coalesce(s, 'NULL'), coalesce(hex(bin), 'NULL'), coalesce(strftime(d, '%Y-%m-%d'), 'NULL'),
  coalesce(CAST(epoch_us(ts) AS VARCHAR), 'NULL'), coalesce(CAST(epoch_us(ntz) AS VARCHAR), 'NULL'),
  coalesce(CAST(dec AS VARCHAR), 'NULL'), coalesce(CAST(pt.x AS VARCHAR), 'NULL'), coalesce(pt.y, 'NULL'))`

// ---- DuckDB ----

// duckdbTool finds ../shared/tools/duckdb (or $LAKEPORT_DUCKDB). When it is
// missing the test fails under CI=true and is skipped otherwise.
func duckdbTool(t *testing.T) string {
	t.Helper()
	tool := os.Getenv("LAKEPORT_DUCKDB")
	if tool == "" {
		root, err := moduleRoot()
		if err != nil {
			t.Fatal(err)
		}
		tool = filepath.Join(root, "..", "shared", "tools", "duckdb")
	}
	missing := func(why string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("DuckDB (%s) is required under CI=true: %s", tool, why)
		}
		t.Skipf("SKIPPING: DuckDB (%s) unavailable: %s", tool, why)
	}
	if _, err := os.Stat(tool); err != nil {
		missing(err.Error())
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing("node is not installed")
	}
	return tool
}

func moduleRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", errors.New("no go.mod above the working directory")
		}
		d = parent
	}
}

// duckQuery runs SQL in DuckDB and returns the CSV rows without the header.
func duckQuery(t *testing.T, tool, sql string) [][]string {
	t.Helper()
	cmd := exec.Command(tool, "--threads", "1", sql)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 2 && strings.Contains(stderr.String(), "npm install") {
			if os.Getenv("CI") == "true" {
				t.Fatalf("DuckDB is required under CI=true: %s", stderr.String())
			}
			t.Skipf("SKIPPING: DuckDB could not be installed: %s", stderr.String())
		}
		t.Fatalf("duckdb %q: %v\n%s", sql, err, stderr.String())
	}
	recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("duckdb output: %v\n%s", err, out)
	}
	if len(recs) == 0 {
		t.Fatalf("duckdb printed no header")
	}
	return recs[1:]
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// ---- tests ----

// clock returns a deterministic clock that advances one minute per call.
func clock(start time.Time) func() time.Time {
	n := 0
	return func() time.Time {
		n++
		return start.Add(time.Duration(n-1) * time.Minute)
	}
}

func newAllTypes(t *testing.T, dir string, props map[string]string) *deltatest.Fixture {
	t.Helper()
	f, err := deltatest.NewFixture(dir, allTypes, []string{"part"}, props, deltatest.WithClock(clock(baseTime)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestFixtureReadByDuckDB writes a partitioned table of every type and reads
// its data files back with DuckDB's Delta-agnostic Parquet reader.
func TestFixtureReadByDuckDB(t *testing.T) {
	tool := duckdbTool(t)
	dir := t.TempDir()
	f := newAllTypes(t, dir, nil)
	rows := sampleRows(0, 23)
	for _, chunk := range [][]row{rows[:10], rows[10:]} {
		rec := buildRecord(t, allTypes, chunk)
		if _, err := f.Append(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	if got := len(f.Files()); got != 8 { // 2 batches x 4 partition values (a, "x y/z=%", null, ünï)
		t.Fatalf("%d data files, want 8: %v", got, f.Files())
	}
	var want []string
	for _, r := range rows {
		want = append(want, duckRow(r, false))
	}
	sort.Strings(want)
	glob := filepath.Join(dir, "**", "*.parquet")
	got := duckQuery(t, tool, fmt.Sprintf("SELECT %s AS r FROM read_parquet(%s, hive_partitioning = false) ORDER BY r", duckColumns, sqlString(glob)))
	var gotRows []string
	for _, r := range got {
		gotRows = append(gotRows, r[0])
	}
	if d := deltatest.Diff(want, gotRows); d != "" {
		t.Fatalf("DuckDB read different rows:\n%s", d)
	}
	// The partition directories carry the partition values, Hive-escaped.
	got = duckQuery(t, tool, fmt.Sprintf(`SELECT id, parse_path(filename, 'system')[-2] AS dir FROM read_parquet(%s, filename = true, hive_partitioning = false) ORDER BY id`, sqlString(glob)))
	wantDir := map[string]string{"a": "part=a", "x y/z=%": "part=x y%2Fz%3D%25", "ünï": "part=ünï", "": "part=__HIVE_DEFAULT_PARTITION__"}
	for i, r := range got {
		pv := ""
		if rows[i].part != nil {
			pv = *rows[i].part
		}
		if r[0] != strconv.FormatInt(rows[i].id, 10) || r[1] != wantDir[pv] {
			t.Errorf("row %d: id %s in directory %q, want id %d in %q", i, r[0], r[1], rows[i].id, wantDir[pv])
		}
	}
}

// readLog parses the actions of one commit.
func readLog(t *testing.T, dir string, v int64) []map[string]json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "_delta_log", fmt.Sprintf("%020d.json", v)))
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]json.RawMessage
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var a map[string]json.RawMessage
		if err := json.Unmarshal(line, &a); err != nil {
			t.Fatalf("commit %d: %v: %s", v, err, line)
		}
		out = append(out, a)
	}
	return out
}

func actionsOf(t *testing.T, acts []map[string]json.RawMessage, kind string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, a := range acts {
		if raw, ok := a[kind]; ok {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
	}
	return out
}

func TestFixtureLog(t *testing.T) {
	dir := t.TempDir()
	f := newAllTypes(t, dir, map[string]string{"delta.enableChangeDataFeed": "true"})
	v0 := readLog(t, dir, 0)
	if ci := actionsOf(t, v0[:1], "commitInfo"); len(ci) != 1 || ci[0]["timestamp"] != float64(baseTime.UnixMilli()) {
		t.Fatalf("commit 0 must start with commitInfo at the clock's time: %v", v0[0])
	}
	// timestamp_ntz needs table features; CDF adds its writer feature.
	proto := actionsOf(t, v0, "protocol")
	if len(proto) != 1 || proto[0]["minReaderVersion"] != 3.0 || proto[0]["minWriterVersion"] != 7.0 ||
		fmt.Sprint(proto[0]["readerFeatures"]) != "[timestampNtz]" || fmt.Sprint(proto[0]["writerFeatures"]) != "[timestampNtz changeDataFeed]" {
		t.Fatalf("protocol = %v", proto)
	}
	md := actionsOf(t, v0, "metaData")
	if len(md) != 1 || fmt.Sprint(md[0]["partitionColumns"]) != "[part]" || md[0]["format"].(map[string]any)["provider"] != "parquet" {
		t.Fatalf("metaData = %v", md)
	}
	var schema struct {
		Fields []struct {
			Name     string
			Type     any
			Nullable bool
		}
	}
	if err := json.Unmarshal([]byte(md[0]["schemaString"].(string)), &schema); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, fl := range schema.Fields {
		ty, _ := json.Marshal(fl.Type)
		types = append(types, fmt.Sprintf("%s:%s:%v", fl.Name, ty, fl.Nullable))
	}
	wantTypes := `id:"long":false i32:"integer":true i16:"short":true i8:"byte":true f64:"double":true f32:"float":true b:"boolean":true s:"string":true bin:"binary":true d:"date":true ts:"timestamp":true ntz:"timestamp_ntz":true dec:"decimal(10,2)":true ` +
		`pt:{"fields":[{"metadata":{},"name":"x","nullable":true,"type":"long"},{"metadata":{},"name":"y","nullable":true,"type":"string"}],"type":"struct"}:true part:"string":true`
	if got := strings.Join(types, " "); got != wantTypes {
		t.Fatalf("schemaString fields:\n got %s\nwant %s", got, wantTypes)
	}
	// protocol versions without table features
	for _, tc := range []struct {
		props  map[string]string
		reader float64
		writer float64
	}{{nil, 1, 2}, {map[string]string{"delta.enableChangeDataFeed": "true"}, 1, 4}} {
		d := t.TempDir()
		sc := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
		if _, err := deltatest.NewFixture(d, sc, nil, tc.props); err != nil {
			t.Fatal(err)
		}
		pr := actionsOf(t, readLog(t, d, 0), "protocol")[0]
		if pr["minReaderVersion"] != tc.reader || pr["minWriterVersion"] != tc.writer || pr["readerFeatures"] != nil {
			t.Errorf("props %v: protocol %v, want %v/%v", tc.props, pr, tc.reader, tc.writer)
		}
	}

	// An append: stats per file, partition values, dataChange.
	rows := []row{
		{id: 5, i32: p(int32(-3)), f64: p(2.5), f32: p(float32(0.1)), b: p(true), s: p("b"), bin: []byte{1}, d: p(int32(19000)),
			ts: p(baseTime.UnixMicro()), ntz: p(baseTime.UnixMicro() + 1), dec: p(int64(1230)), pt: &[2]*string{p("7"), nil}, part: p("x y/z=%")},
		{id: 2, i32: p(int32(9)), f64: p(-1.0), f32: p(float32(3)), b: p(false), s: p("a,\"é"), d: p(int32(19001)),
			ts: p(baseTime.UnixMicro() + 3000), dec: p(int64(-5)), part: p("x y/z=%")},
		{id: 9, part: nil},
	}
	rec := buildRecord(t, allTypes, rows)
	defer rec.Release()
	v, err := f.Append(rec)
	if err != nil || v != 1 {
		t.Fatalf("Append = %d, %v", v, err)
	}
	adds := actionsOf(t, readLog(t, dir, 1), "add")
	if len(adds) != 2 {
		t.Fatalf("adds = %v", adds)
	}
	a := adds[0]
	if !strings.HasPrefix(a["path"].(string), "part=x%20y%252Fz%253D%2525/part-") || a["dataChange"] != true ||
		fmt.Sprint(a["partitionValues"]) != "map[part:x y/z=%]" || a["modificationTime"] != float64(baseTime.Add(time.Minute).UnixMilli()) {
		t.Fatalf("add = %v", a)
	}
	if fi, err := os.Stat(f.LocalPath(a["path"].(string))); err != nil || fi.Size() != int64(a["size"].(float64)) {
		t.Fatalf("data file %s: %v (size %v)", a["path"], err, a["size"])
	}
	wantStats := `{"numRecords":2,` +
		`"minValues":{"d":"2022-01-08","dec":-0.05,"f32":0.1,"f64":-1,"i32":-3,"id":2,"ntz":"2024-03-10T12:30:45.123457","pt":{"x":7},"s":"a,\"é","ts":"2024-03-10T12:30:45.123456Z"},` +
		`"maxValues":{"d":"2022-01-09","dec":12.30,"f32":3,"f64":2.5,"i32":9,"id":5,"ntz":"2024-03-10T12:30:45.123457","pt":{"x":7},"s":"b","ts":"2024-03-10T12:30:45.126456Z"},` +
		`"nullCount":{"b":0,"bin":1,"d":0,"dec":0,"f32":0,"f64":0,"i16":2,"i32":0,"i8":2,"id":0,"ntz":1,"pt":{"x":1,"y":2},"s":0,"ts":0}}`
	if a["stats"] != wantStats {
		t.Fatalf("stats:\n got %s\nwant %s", a["stats"], wantStats)
	}
	if b := adds[1]; !strings.HasPrefix(b["path"].(string), "part=__HIVE_DEFAULT_PARTITION__/") || fmt.Sprint(b["partitionValues"]) != "map[part:<nil>]" {
		t.Fatalf("null partition add = %v", b)
	}

	// Remove with dataChange, cdc files under _change_data, extra actions.
	live := f.Files()
	cdcRec := withChangeType(t, buildRecord(t, allTypes, []row{{id: 9}}), "delete")
	defer cdcRec.Release()
	v, err = f.Commit(deltatest.Commit{
		Remove: live[1:],
		CDC:    []arrow.RecordBatch{cdcRec},
		Extra:  []json.RawMessage{json.RawMessage(`{"txn": {"appId": "job-1", "version": 3}}`)},
	})
	if err != nil || v != 2 {
		t.Fatalf("Commit = %d, %v", v, err)
	}
	acts := readLog(t, dir, 2)
	ci := actionsOf(t, acts[:1], "commitInfo")
	rm, cdc, txn := actionsOf(t, acts, "remove"), actionsOf(t, acts, "cdc"), actionsOf(t, acts, "txn")
	if len(ci) != 1 || ci[0]["operation"] != "DELETE" || ci[0]["isBlindAppend"] != false {
		t.Fatalf("commitInfo = %v", ci)
	}
	if len(rm) != 1 || rm[0]["path"] != live[1] || rm[0]["dataChange"] != true || rm[0]["deletionTimestamp"] != float64(baseTime.Add(2*time.Minute).UnixMilli()) {
		t.Fatalf("remove = %v", rm)
	}
	if len(cdc) != 1 || !strings.HasPrefix(cdc[0]["path"].(string), "_change_data/part=__HIVE_DEFAULT_PARTITION__/cdc-") || cdc[0]["dataChange"] != false {
		t.Fatalf("cdc = %v", cdc)
	}
	if len(txn) != 1 || txn[0]["appId"] != "job-1" {
		t.Fatalf("txn = %v", txn)
	}
	if got := f.Files(); len(got) != 1 || got[0] != live[0] {
		t.Fatalf("Files() = %v, want [%s]", got, live[0])
	}
	if adds, cdcs := f.Written(2); len(adds) != 0 || len(cdcs) != 1 || cdcs[0] != cdc[0]["path"] {
		t.Fatalf("Written(2) = %v, %v", adds, cdcs)
	}
	// The cdc file stores _change_type and no partition column.
	_, recs, err := deltatest.ReadParquetDir(filepath.Dir(f.LocalPath(cdc[0]["path"].(string))))
	if err != nil {
		t.Fatal(err)
	}
	if sc := recs[0].Schema(); sc.HasField("part") || !sc.HasField("_change_type") {
		t.Fatalf("cdc file schema: %s", sc)
	}

	// Errors: removing a file twice, a commit that exists, a foreign batch.
	if _, err := f.Commit(deltatest.Commit{Remove: live[1:]}); err == nil {
		t.Fatal("removing a removed file succeeded")
	}
	other := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int32}}, nil)
	ob := array.NewRecordBuilder(memory.DefaultAllocator, other)
	ob.Field(0).(*array.Int32Builder).Append(1)
	orec := ob.NewRecordBatch()
	ob.Release()
	if _, err := f.Append(orec); err == nil {
		t.Fatal("appending a batch of another schema succeeded")
	}
	if err := os.WriteFile(filepath.Join(dir, "_delta_log", fmt.Sprintf("%020d.json", 3)), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Append(rec); !errors.Is(err, os.ErrExist) {
		t.Fatalf("committing over an existing version: %v, want os.ErrExist", err)
	}
	if _, err := deltatest.NewFixture(dir, allTypes, nil, nil); !errors.Is(err, os.ErrExist) {
		t.Fatalf("creating a table over a table: %v, want os.ErrExist", err)
	}
}

// withChangeType returns rec with every _change_type set to kind.
func withChangeType(t *testing.T, rec arrow.RecordBatch, kind string) arrow.RecordBatch {
	t.Helper()
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	defer sb.Release()
	for i := 0; i < int(rec.NumRows()); i++ {
		sb.Append(kind)
	}
	ct := sb.NewArray()
	defer ct.Release()
	cols := append([]arrow.Array{}, rec.Columns()...)
	fields := rec.Schema().Fields()
	if idx := rec.Schema().FieldIndices("_change_type"); len(idx) == 1 {
		cols[idx[0]] = ct
	} else {
		cols = append(cols, ct)
		fields = append(fields, arrow.Field{Name: "_change_type", Type: arrow.BinaryTypes.String})
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows())
}

func TestFixtureCheckpointFile(t *testing.T) {
	dir := t.TempDir()
	f := newAllTypes(t, dir, map[string]string{"delta.deletedFileRetentionDuration": "interval 2 minutes"})
	for i := 0; i < 3; i++ {
		rec := buildRecord(t, allTypes, sampleRows(int64(i*10), 3))
		if _, err := f.Append(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	files := f.Files()
	// v4 removes one file (tombstone kept), v5 a txn; the clock is then 5 minutes on
	if _, err := f.Commit(deltatest.Commit{Remove: files[:1]}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Commit(deltatest.Commit{Extra: []json.RawMessage{json.RawMessage(`{"txn":{"appId":"app","version":7,"lastUpdated":1}}`)}}); err != nil {
		t.Fatal(err)
	}
	if err := f.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	last, err := os.ReadFile(filepath.Join(dir, "_delta_log", "_last_checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	var lc map[string]int64
	if err := json.Unmarshal(last, &lc); err != nil || lc["version"] != 5 || lc["size"] != 3+int64(len(files)-1)+1 {
		// protocol, metaData, txn, live adds, one tombstone
		t.Fatalf("_last_checkpoint = %s (%v)", last, err)
	}
	cp := filepath.Join(dir, "_delta_log", "00000000000000000005.checkpoint.parquet")
	pf, err := file.OpenParquetFile(cp, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	sc := tbl.Schema()
	var top []string
	for _, fld := range sc.Fields() {
		top = append(top, fld.Name)
	}
	if strings.Join(top, ",") != "txn,add,remove,metaData,protocol" {
		t.Fatalf("checkpoint columns = %v", top)
	}
	addT := sc.Field(1).Type.(*arrow.StructType)
	pvIdx, _ := addT.FieldIdx("partitionValues")
	stIdx, _ := addT.FieldIdx("stats")
	if addT.Field(pvIdx).Type.ID() != arrow.MAP || addT.Field(stIdx).Type.ID() != arrow.STRING {
		t.Fatalf("add struct = %s", addT)
	}
	if int64(tbl.NumRows()) != lc["size"] {
		t.Fatalf("checkpoint has %d rows, _last_checkpoint says %d", tbl.NumRows(), lc["size"])
	}
	// Tombstones older than the retention are dropped: a new checkpoint later on has none.
	for i := 0; i < 3; i++ {
		if _, err := f.Commit(deltatest.Commit{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	last, _ = os.ReadFile(filepath.Join(dir, "_delta_log", "_last_checkpoint"))
	if err := json.Unmarshal(last, &lc); err != nil || lc["version"] != 8 || lc["size"] != 3+int64(len(files)-1) {
		t.Fatalf("_last_checkpoint after the retention = %s", last)
	}
	if err := f.Checkpoint(); !errors.Is(err, os.ErrExist) {
		t.Fatalf("a second checkpoint of version 8: %v, want os.ErrExist", err)
	}
}

// ---- read back with the Delta reader ----

func scanAll(t *testing.T, dir string, at delta.At) (*arrow.Schema, []arrow.RecordBatch) {
	t.Helper()
	ctx := context.Background()
	tbl, err := delta.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	snap, err := tbl.Snapshot(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := snap.Scan(ctx, delta.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	return bs.Schema(), drain(t, bs)
}

func drain(t *testing.T, bs delta.Batches) []arrow.RecordBatch {
	t.Helper()
	var out []arrow.RecordBatch
	for {
		rec, err := bs.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
}

func canonical(t *testing.T, sc *arrow.Schema, recs []arrow.RecordBatch) []string {
	t.Helper()
	rows, err := deltatest.CanonicalRows(sc, recs)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// expectedRows renders rows as a scan of allTypes returns them: an empty
// partition string reads back as null.
func expectedRows(t *testing.T, rows []row) []string {
	t.Helper()
	norm := append([]row(nil), rows...)
	for i := range norm {
		if norm[i].part != nil && *norm[i].part == "" {
			norm[i].part = nil
		}
	}
	rec := buildRecord(t, allTypes, norm)
	defer rec.Release()
	return canonical(t, allTypes, []arrow.RecordBatch{rec})
}

func TestFixtureReadByDelta(t *testing.T) {
	dir := t.TempDir()
	f := newAllTypes(t, dir, map[string]string{"delta.enableChangeDataFeed": "true"})
	r1, r2 := sampleRows(0, 12), sampleRows(100, 7)
	for _, rows := range [][]row{r1, r2} {
		rec := buildRecord(t, allTypes, rows)
		if _, err := f.Append(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	check := func(name string, at delta.At, want []row) {
		t.Helper()
		sc, recs := scanAll(t, dir, at)
		if d := deltatest.Diff(expectedRows(t, want), canonical(t, sc, recs)); d != "" {
			t.Fatalf("%s: scan differs:\n%s", name, d)
		}
	}
	check("v2", delta.Latest(), append(append([]row{}, r1...), r2...))
	check("v1", delta.AtVersion(1), r1)
	// time travel by the fixture's clock: v1 was committed at baseTime+1m
	check("at v1's time", delta.AtTimestamp(baseTime.Add(time.Minute+30*time.Second)), r1)

	// v3 deletes the files of v2, with their rows in a cdc file
	adds2, _ := f.Written(2)
	cdcRec := withChangeType(t, buildRecord(t, allTypes, r2), "delete")
	if _, err := f.Commit(deltatest.Commit{Remove: adds2, CDC: []arrow.RecordBatch{cdcRec}}); err != nil {
		t.Fatal(err)
	}
	check("v3", delta.Latest(), r1)

	// changes of v2 (inserts from its adds) and v3 (from its cdc files)
	ctx := context.Background()
	tbl, err := delta.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	cols := []string{"id", "part", "_change_type", "_commit_version"}
	bs, err := tbl.Changes(ctx, delta.ChangesOptions{StartVersion: p(int64(2)), EndVersion: p(int64(3)), Columns: cols})
	if err != nil {
		t.Fatal(err)
	}
	recs := drain(t, bs)
	bs.Close()
	var want []string
	for _, r := range r2 {
		part := "NULL"
		if r.part != nil && *r.part != "" {
			part = *r.part
		}
		want = append(want, fmt.Sprintf("%d|%s|insert|2", r.id, part), fmt.Sprintf("%d|%s|delete|3", r.id, part))
	}
	var got []string
	for _, rec := range recs {
		for i := 0; i < int(rec.NumRows()); i++ {
			var cells []string
			for c := range cols {
				col := rec.Column(c)
				if col.IsNull(i) {
					cells = append(cells, "NULL")
				} else {
					cells = append(cells, col.ValueStr(i))
				}
			}
			got = append(got, strings.Join(cells, "|"))
		}
	}
	sort.Strings(want)
	sort.Strings(got)
	if d := deltatest.Diff(want, got); d != "" {
		t.Fatalf("changes differ:\n%s", d)
	}

	// A checkpoint carries the state alone: with the commits before it gone,
	// the latest snapshot still reads the same rows.
	if err := f.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	for v := int64(0); v <= 3; v++ {
		if err := os.Remove(filepath.Join(dir, "_delta_log", fmt.Sprintf("%020d.json", v))); err != nil {
			t.Fatal(err)
		}
	}
	check("checkpoint only", delta.Latest(), r1)
	snap, err := tbl.Snapshot(ctx, delta.Latest())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Version() != 3 || len(snap.Files()) != len(f.Files()) || !snap.ChangeDataFeedEnabled() ||
		!snap.Protocol().HasFeature("timestampNtz") || strings.Join(snap.PartitionColumns(), ",") != "part" {
		t.Fatalf("snapshot from the checkpoint: version %d, %d files, protocol %+v", snap.Version(), len(snap.Files()), snap.Protocol())
	}
	for _, a := range snap.Files() {
		if a.Stats == "" || a.DataChange {
			t.Fatalf("checkpoint add %s: stats %q dataChange %v", a.Path, a.Stats, a.DataChange)
		}
	}
}
