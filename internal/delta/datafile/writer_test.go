package datafile

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/lakeport/lakeport/internal/delta/deltatest"
	"github.com/lakeport/lakeport/internal/delta/predicate"
)

var fileNameRE = regexp.MustCompile(`^(part|cdc)-\d{5}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.c000(\.snappy|\.zstd|\.gz)?\.parquet$`)

// TestRoundTrip writes every Delta type over several batches and reads the
// files back with pqarrow: same rows, Spark's Parquet types, field ids kept.
func TestRoundTrip(t *testing.T) {
	for _, codec := range []string{"", "zstd", "gzip", "uncompressed"} {
		t.Run("codec="+codec, func(t *testing.T) {
			b, dir := newBucket(t)
			sc := allTypesSchema()
			var recs []arrow.RecordBatch
			for i := range 5 {
				recs = append(recs, buildRecord(sc, genRows(uint64(i), int64(i*1000), 1000, 0.2)))
			}
			files := writeAll(t, b, sc, Options{Compression: codec}, recs...)
			checkFiles(t, dir, files)
			if len(files) != 1 {
				t.Fatalf("%d files, want 1", len(files))
			}
			f := files[0]
			if !fileNameRE.MatchString(f.Key) {
				t.Errorf("file name %q is not like Spark's", f.Key)
			}
			wantExt := map[string]string{"": ".snappy.parquet", "zstd": ".zstd.parquet", "gzip": ".gz.parquet", "uncompressed": "-c000.parquet"}[codec]
			if !strings.HasSuffix(strings.Replace(f.Key, ".c000.parquet", "-c000.parquet", 1), wantExt) {
				t.Errorf("file name %q, want suffix %q", f.Key, wantExt)
			}
			if f.NumRecords != 5000 || len(f.PartitionValues) != 0 {
				t.Errorf("NumRecords %d, partition values %v", f.NumRecords, f.PartitionValues)
			}
			gotSchema, got, rdr := readParquet(t, b, f.Key)
			if d := deltatest.Diff(canonical(t, sc, recs), canonical(t, gotSchema, got)); d != "" {
				t.Fatalf("rows differ:\n%s", d)
			}
			if g, w := deltatest.CanonicalSchema(gotSchema), deltatest.CanonicalSchema(sc); !slices.Equal(g, w) {
				t.Errorf("schema read back %v, want %v", g, w)
			}
			checkParquetSchema(t, rdr.MetaData().Schema)
			// Only encodings every Spark/Databricks reader has.
			for g := 0; g < rdr.NumRowGroups(); g++ {
				for c := 0; c < rdr.MetaData().Schema.NumColumns(); c++ {
					cc, err := rdr.MetaData().RowGroup(g).ColumnChunk(c)
					if err != nil {
						t.Fatal(err)
					}
					for _, e := range cc.Encodings() {
						switch e {
						case parquet.Encodings.Plain, parquet.Encodings.PlainDict, parquet.Encodings.RLEDict, parquet.Encodings.RLE, parquet.Encodings.BitPacked:
						default:
							t.Errorf("column %s: encoding %v", cc.PathInSchema(), e)
						}
					}
				}
			}
			if c, err := rdr.MetaData().RowGroup(0).ColumnChunk(0); err != nil || (codec == "" && c.Compression().String() != "SNAPPY") {
				t.Errorf("compression: %v", err)
			}
		})
	}
}

// checkParquetSchema checks the physical layout Spark would write for allTypesSchema.
func checkParquetSchema(t *testing.T, s *schema.Schema) {
	t.Helper()
	want := map[string]struct {
		phys   parquet.Type
		logTyp string
	}{
		"id":               {parquet.Types.Int64, "Int(bitWidth=64, isSigned=true)"},
		"i8":               {parquet.Types.Int32, "Int(bitWidth=8, isSigned=true)"},
		"i16":              {parquet.Types.Int32, "Int(bitWidth=16, isSigned=true)"},
		"d":                {parquet.Types.Int32, "Date"},
		"ts":               {parquet.Types.Int64, "Timestamp(isAdjustedToUTC=true, timeUnit=microseconds, is_from_converted_type=false, force_set_converted_type=false)"},
		"ntz":              {parquet.Types.Int64, "Timestamp(isAdjustedToUTC=false, timeUnit=microseconds, is_from_converted_type=false, force_set_converted_type=false)"},
		"dec1":             {parquet.Types.Int32, "Decimal(precision=9, scale=2)"},
		"dec2":             {parquet.Types.Int64, "Decimal(precision=18, scale=4)"},
		"dec3":             {parquet.Types.FixedLenByteArray, "Decimal(precision=38, scale=10)"},
		"s":                {parquet.Types.ByteArray, "String"},
		"st.a":             {parquet.Types.Int32, "Int(bitWidth=32, isSigned=true)"},
		"lst.list.element": {parquet.Types.Int32, "Int(bitWidth=32, isSigned=true)"},
		"m.key_value.key":  {parquet.Types.ByteArray, "String"},
	}
	seen := map[string]bool{}
	for i := 0; i < s.NumColumns(); i++ {
		c := s.Column(i)
		path := c.Path()
		w, ok := want[path]
		if !ok {
			continue
		}
		seen[path] = true
		if c.PhysicalType() != w.phys || c.LogicalType().String() != w.logTyp {
			t.Errorf("column %s: %v %s, want %v %s", path, c.PhysicalType(), c.LogicalType(), w.phys, w.logTyp)
		}
	}
	for p := range want {
		if !seen[p] {
			t.Errorf("no column %s in %s", p, s)
		}
	}
	// Field ids, including nested ones.
	ids := map[string]int32{}
	var walk func(n schema.Node, prefix string)
	walk = func(n schema.Node, prefix string) {
		name := prefix + n.Name()
		ids[name] = n.FieldID()
		if g, ok := n.(*schema.GroupNode); ok {
			for i := 0; i < g.NumFields(); i++ {
				walk(g.Field(i), name+".")
			}
		}
	}
	root := s.Root()
	for i := 0; i < root.NumFields(); i++ {
		walk(root.Field(i), "")
	}
	for name, id := range map[string]int32{"id": 1, "ts": 12, "st": 17, "st.a": 101, "st.b": 102, "lst": 18, "lst.list.element": 181, "m": 19} {
		if ids[name] != id {
			t.Errorf("field id of %s = %d, want %d", name, ids[name], id)
		}
	}
	if s.Root().Field(0).RepetitionType() != parquet.Repetitions.Required {
		t.Errorf("non-nullable id is %v", s.Root().Field(0).RepetitionType())
	}
}

// TestTimestampUnits: second, millisecond and nanosecond timestamps are
// stored as microseconds, their stats in milliseconds.
func TestTimestampUnits(t *testing.T) {
	b, _ := newBucket(t)
	mk := func(unit arrow.TimeUnit, tz string, vals ...int64) (arrow.Field, arrow.Array) {
		typ := &arrow.TimestampType{Unit: unit, TimeZone: tz}
		tb := array.NewTimestampBuilder(memory.DefaultAllocator, typ)
		for _, v := range vals {
			tb.Append(arrow.Timestamp(v))
		}
		return arrow.Field{Name: "t" + unit.String() + tz, Type: typ, Nullable: true}, tb.NewArray()
	}
	var fields []arrow.Field
	var cols []arrow.Array
	for _, c := range []struct {
		unit arrow.TimeUnit
		tz   string
		vals []int64
	}{
		{arrow.Second, "UTC", []int64{1, -1}},
		{arrow.Millisecond, "", []int64{1500, -1500}},
		{arrow.Nanosecond, "UTC", []int64{1_234_567_891, -1_234_567_891}},
	} {
		f, a := mk(c.unit, c.tz, c.vals...)
		fields = append(fields, f)
		cols = append(cols, a)
	}
	sc := arrow.NewSchema(fields, nil)
	rec := array.NewRecordBatch(sc, cols, 2)
	files := writeAll(t, b, sc, Options{}, rec)
	want := `{"numRecords":2,"minValues":{"ts_UTC":"1969-12-31T23:59:59.000Z","tms":"1969-12-31T23:59:58.500","tns_UTC":"1969-12-31T23:59:58.765Z"},` +
		`"maxValues":{"ts_UTC":"1970-01-01T00:00:01.000Z","tms":"1970-01-01T00:00:01.500","tns_UTC":"1970-01-01T00:00:01.234Z"},` +
		`"nullCount":{"ts_UTC":0,"tms":0,"tns_UTC":0}}`
	want = strings.NewReplacer("ts_UTC", fields[0].Name, "tms", fields[1].Name, "tns_UTC", fields[2].Name).Replace(want)
	if files[0].Stats != want {
		t.Errorf("stats\n%s\nwant\n%s", files[0].Stats, want)
	}
	_, got, _ := readParquet(t, b, files[0].Key)
	us := []int64{1_000_000, -1_000_000, 1_500_000, -1_500_000, 1_234_567, -1_234_567} // ns truncated toward zero
	for i, c := range got[0].Columns() {
		ts := c.(*array.Timestamp)
		if ts.DataType().(*arrow.TimestampType).Unit != arrow.Microsecond {
			t.Errorf("column %d read back as %s", i, ts.DataType())
		}
		for r := range 2 {
			if int64(ts.Value(r)) != us[2*i+r] {
				t.Errorf("column %d row %d = %d, want %d", i, r, ts.Value(r), us[2*i+r])
			}
		}
	}
}

// TestDuckDBReadsSame has DuckDB, an independent reader, read the files of a
// partitioned write and compares its rows with the rows written.
func TestDuckDBReadsSame(t *testing.T) {
	duck := duckdbTool(t)
	b, dir := newBucket(t)
	sc := allTypesSchema()
	// Partition by i8 (about 256 values) and nothing else: the rest goes in
	// the files; small files so several roll.
	var recs []arrow.RecordBatch
	var rows []row
	for i := range 3 {
		rs := genRows(uint64(100+i), int64(i*3000), 3000, 0.15)
		for k := range rs {
			if rs[k].i8 != nil {
				rs[k].i8 = ptr(*rs[k].i8 % 4)
			}
		}
		rows = append(rows, rs...)
		recs = append(recs, buildRecord(sc, rs))
	}
	files := writeAll(t, b, sc, Options{PartitionColumns: []string{"i8"}, TargetFileSize: 64 << 10}, recs...)
	checkFiles(t, dir, files)
	if len(files) < 8 {
		t.Errorf("%d files; want more than 8 (5 partitions, 64 KiB target)", len(files))
	}
	// DuckDB reads the data columns; expected values come from the Go rows.
	sql := fmt.Sprintf(`SELECT id, i16, i32, i64, f32::VARCHAR, f64::VARCHAR, b, s, hex(bin), d::VARCHAR,
		epoch_us(ts), epoch_us(ntz), dec1::VARCHAR, dec2::VARCHAR, dec3::VARCHAR, st.a, st.b, lst::VARCHAR, m::VARCHAR
		FROM read_parquet('%s/**/*.parquet', hive_partitioning=false) ORDER BY id`, dir)
	var got, want []string
	for _, r := range duckdbRows(t, duck, sql) {
		// floats: compare values, not DuckDB's notation
		for i, bits := range map[int]int{4: 32, 5: 64} {
			if f, err := strconv.ParseFloat(r[i], bits); err == nil {
				r[i] = duckFloat(f, bits)
			}
		}
		got = append(got, strings.Join(r, " | "))
	}
	for _, x := range rows {
		want = append(want, duckRow(x))
	}
	if d := deltatest.Diff(want, got); d != "" {
		t.Fatalf("DuckDB rows differ from the rows written:\n%s", d)
	}
	// DuckDB's view of the partition directories matches the partition values.
	sql = fmt.Sprintf(`SELECT DISTINCT coalesce(i8::VARCHAR, 'NULL') FROM read_parquet('%s/**/*.parquet', hive_partitioning=true) ORDER BY 1`, dir)
	var parts []string
	for _, r := range duckdbRows(t, duck, sql) {
		parts = append(parts, r[0])
	}
	if g := strings.Join(parts, ","); g != "-1,-2,-3,0,1,2,3,NULL" {
		t.Errorf("DuckDB hive partitions: %s", g)
	}
}

func duckdbTool(t *testing.T) string {
	t.Helper()
	p := os.Getenv("LAKEPORT_DUCKDB")
	if p == "" {
		p, _ = filepath.Abs("../../../../shared/tools/duckdb")
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("DuckDB tool not found at %s (set LAKEPORT_DUCKDB)", p)
	}
	return p
}

// duckdbRows runs sql and returns the CSV records after the header.
func duckdbRows(t *testing.T, tool, sql string) [][]string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(tool, "--threads", "2", sql)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("duckdb: %v\n%s", err, stderr.String())
	}
	r := csv.NewReader(&stdout)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("duckdb output: %v", err)
	}
	return recs[1:]
}

func duckRow(x row) string {
	var f []string
	add := func(s string) { f = append(f, s) }
	opt := func(v any) string {
		switch v := v.(type) {
		case *int16:
			if v != nil {
				return strconv.Itoa(int(*v))
			}
		case *int32:
			if v != nil {
				return strconv.Itoa(int(*v))
			}
		case *int64:
			if v != nil {
				return strconv.FormatInt(*v, 10)
			}
		}
		return ""
	}
	add(strconv.FormatInt(x.id, 10))
	add(opt(x.i16))
	add(opt(x.i32))
	add(opt(x.i64))
	if x.f32 == nil {
		add("")
	} else {
		add(duckFloat(float64(*x.f32), 32))
	}
	if x.f64 == nil {
		add("")
	} else {
		add(duckFloat(*x.f64, 64))
	}
	if x.b == nil {
		add("")
	} else {
		add(strconv.FormatBool(*x.b))
	}
	if x.s == nil {
		add("")
	} else {
		add((*x.s))
	}
	if x.bin == nil {
		add("")
	} else {
		add(strings.ToUpper(fmt.Sprintf("%x", x.bin)))
	}
	if x.d == nil {
		add("")
	} else {
		add(time.Unix(int64(*x.d)*86400, 0).UTC().Format("2006-01-02"))
	}
	add(opt(x.ts))
	add(opt(x.ntz))
	dec := func(v *big.Int, scale int) string {
		if v == nil {
			return ""
		}
		return new(big.Rat).SetFrac(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)).FloatString(scale)
	}
	if x.dec1 == nil {
		add("")
	} else {
		add(dec(big.NewInt(*x.dec1), 2))
	}
	if x.dec2 == nil {
		add("")
	} else {
		add(dec(big.NewInt(*x.dec2), 4))
	}
	add(dec(x.dec3, 10))
	if x.st == nil {
		add("")
		add("")
	} else {
		add(opt(x.st.a))
		if x.st.b == nil {
			add("")
		} else {
			add((*x.st.b))
		}
	}
	if x.lst == nil {
		add("")
	} else {
		var parts []string
		for _, v := range x.lst {
			if v == nil {
				parts = append(parts, "NULL")
			} else {
				parts = append(parts, strconv.Itoa(int(*v)))
			}
		}
		add(("[" + strings.Join(parts, ", ") + "]"))
	}
	if x.m == nil {
		add("")
	} else {
		var parts []string
		for _, kv := range x.m {
			v := "NULL"
			if p := kv[1].(*int32); p != nil {
				v = strconv.Itoa(int(*p))
			}
			parts = append(parts, kv[0].(string)+"="+v)
		}
		add(("{" + strings.Join(parts, ", ") + "}"))
	}
	return strings.Join(f, " | ")
}

// duckFloat renders a float for comparison (shortest digits).
func duckFloat(f float64, bits int) string { return strconv.FormatFloat(f, 'g', -1, bits) }

// TestStats checks the stats JSON against values computed here from the
// rows written, over several batches, for each StatsColumns setting.
func TestStats(t *testing.T) {
	sc := allTypesSchema()
	for _, n := range []int{0, -1, 5, 17, 1} {
		t.Run(fmt.Sprintf("StatsColumns=%d", n), func(t *testing.T) {
			b, _ := newBucket(t)
			var rows []row
			var recs []arrow.RecordBatch
			for i := range 4 {
				rs := genRows(uint64(7+i), int64(i*500), 500, 0.3)
				rows = append(rows, rs...)
				rec := buildRecord(sc, rs)
				if i == 2 { // a sliced batch: offsets must be honoured
					big := buildRecord(sc, append(append(genRows(99, -100, 3, 0.5), rs...), genRows(98, -200, 4, 0.5)...))
					rec = big.NewSlice(3, 3+int64(len(rs)))
				}
				recs = append(recs, rec)
			}
			files := writeAll(t, b, sc, Options{StatsColumns: n}, recs...)
			want := expectedStats(rows, n)
			compareStats(t, files[0].Stats, want)
		})
	}
	t.Run("all null", func(t *testing.T) {
		b, _ := newBucket(t)
		rs := genRows(5, 0, 50, 1)
		files := writeAll(t, b, sc, Options{}, buildRecord(sc, rs))
		want := `{"numRecords":50,"minValues":{"id":0,"st":{}},"maxValues":{"id":49,"st":{}},"nullCount":{"id":0,"i8":50,"i16":50,"i32":50,"i64":50,"f32":50,"f64":50,"b":50,"s":50,"bin":50,"d":50,"ts":50,"ntz":50,"dec1":50,"dec2":50,"dec3":50,"st":{"a":50,"b":50},"lst":50,"m":50}}`
		if files[0].Stats != want {
			t.Errorf("stats\n%s\nwant\n%s", files[0].Stats, want)
		}
	})
	t.Run("NoStats", func(t *testing.T) {
		b, _ := newBucket(t)
		files := writeAll(t, b, sc, Options{NoStats: true, Dir: "_change_data"}, buildRecord(sc, genRows(5, 0, 50, 0.1)))
		if files[0].Stats != "" || !strings.HasPrefix(files[0].Key, "_change_data/cdc-00000-") {
			t.Errorf("file %+v", files[0])
		}
	})
}

// leaf describes a column of allTypesSchema for the expected statistics.
type leaf struct {
	path []string
	kind string                  // int, float32, float64, decimal, date, ts, ntz, string, none
	get  func(x row) (any, bool) // value, present
}

func leaves() []leaf {
	i := func(name string, f func(x row) (int64, bool)) leaf {
		return leaf{[]string{name}, "int", func(x row) (any, bool) { v, ok := f(x); return v, ok }}
	}
	return []leaf{
		i("id", func(x row) (int64, bool) { return x.id, true }),
		i("i8", func(x row) (int64, bool) { return derefInt(x.i8) }),
		i("i16", func(x row) (int64, bool) { return derefInt(x.i16) }),
		i("i32", func(x row) (int64, bool) { return derefInt(x.i32) }),
		i("i64", func(x row) (int64, bool) { return derefInt(x.i64) }),
		{[]string{"f32"}, "float32", func(x row) (any, bool) {
			if x.f32 == nil {
				return nil, false
			}
			return float64(*x.f32), true
		}},
		{[]string{"f64"}, "float64", func(x row) (any, bool) {
			if x.f64 == nil {
				return nil, false
			}
			return *x.f64, true
		}},
		{[]string{"b"}, "none", func(x row) (any, bool) { return nil, x.b != nil }},
		{[]string{"s"}, "string", func(x row) (any, bool) {
			if x.s == nil {
				return nil, false
			}
			return *x.s, true
		}},
		{[]string{"bin"}, "none", func(x row) (any, bool) { return nil, x.bin != nil }},
		{[]string{"d"}, "date", func(x row) (any, bool) { v, ok := derefInt(x.d); return v, ok }},
		{[]string{"ts"}, "ts", func(x row) (any, bool) { v, ok := derefInt(x.ts); return v, ok }},
		{[]string{"ntz"}, "ntz", func(x row) (any, bool) { v, ok := derefInt(x.ntz); return v, ok }},
		{[]string{"dec1"}, "decimal2", func(x row) (any, bool) {
			if x.dec1 == nil {
				return nil, false
			}
			return big.NewInt(*x.dec1), true
		}},
		{[]string{"dec2"}, "decimal4", func(x row) (any, bool) {
			if x.dec2 == nil {
				return nil, false
			}
			return big.NewInt(*x.dec2), true
		}},
		{[]string{"dec3"}, "decimal10", func(x row) (any, bool) { return x.dec3, x.dec3 != nil }},
		{[]string{"st", "a"}, "int", func(x row) (any, bool) {
			if x.st == nil {
				return nil, false
			}
			v, ok := derefInt(x.st.a)
			return v, ok
		}},
		{[]string{"st", "b"}, "string", func(x row) (any, bool) {
			if x.st == nil || x.st.b == nil {
				return nil, false
			}
			return *x.st.b, true
		}},
		{[]string{"lst"}, "none", func(x row) (any, bool) { return nil, x.lst != nil }},
		{[]string{"m"}, "none", func(x row) (any, bool) { return nil, x.m != nil }},
	}
}

func derefInt[T int8 | int16 | int32 | int64](p *T) (int64, bool) {
	if p == nil {
		return 0, false
	}
	return int64(*p), true
}

// expectedStats computes, from the rows, the statistics map (JSON shapes:
// map[string]any, with leaf values as strings in canonical form).
func expectedStats(rows []row, n int) map[string]any {
	if n == 0 {
		n = 32
	}
	ls := leaves()
	if n > 0 && n < len(ls) {
		ls = ls[:n]
	}
	mins, maxs, nulls := map[string]any{}, map[string]any{}, map[string]any{}
	put := func(m map[string]any, path []string, v any) {
		for _, p := range path[:len(path)-1] {
			sub, ok := m[p].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[p] = sub
			}
			m = sub
		}
		if v != nil {
			m[path[len(path)-1]] = v
		}
	}
	for _, l := range ls {
		var vals []any
		var nullN int64
		for _, x := range rows {
			v, ok := l.get(x)
			if !ok {
				nullN++
				continue
			}
			vals = append(vals, v)
		}
		put(nulls, l.path, nullN)
		if l.kind == "none" {
			continue
		}
		lo, hi := expectedMinMax(l.kind, vals)
		put(mins, l.path, lo)
		put(maxs, l.path, hi)
	}
	return map[string]any{"numRecords": int64(len(rows)), "minValues": mins, "maxValues": maxs, "nullCount": nulls}
}

// expectedMinMax returns the canonical texts of the min and max (nil when none).
func expectedMinMax(kind string, vals []any) (any, any) {
	if len(vals) == 0 {
		return nil, nil
	}
	switch kind {
	case "int", "date", "ts", "ntz":
		lo, hi := vals[0].(int64), vals[0].(int64)
		for _, v := range vals {
			lo, hi = min(lo, v.(int64)), max(hi, v.(int64))
		}
		f := func(v int64) string {
			switch kind {
			case "date":
				return time.Unix(v*86400, 0).UTC().Format("2006-01-02")
			case "ts":
				return time.UnixMicro(v).UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000") + "Z"
			case "ntz":
				return time.UnixMicro(v).UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000")
			}
			return strconv.FormatInt(v, 10)
		}
		return f(lo), f(hi)
	case "float32", "float64":
		// Spark's order: NaN above everything.
		var lo, hi float64
		nums, nan := 0, false
		for _, v := range vals {
			f := v.(float64)
			if math.IsNaN(f) {
				nan = true
				continue
			}
			if nums == 0 || f < lo {
				lo = f
			}
			if nums == 0 || f > hi {
				hi = f
			}
			nums++
		}
		if nan {
			hi = math.NaN()
		}
		if nums == 0 {
			lo = math.NaN()
		}
		return lo, hi
	case "decimal2", "decimal4", "decimal10":
		scale, _ := strconv.Atoi(strings.TrimPrefix(kind, "decimal"))
		lo, hi := vals[0].(*big.Int), vals[0].(*big.Int)
		for _, v := range vals {
			if v.(*big.Int).Cmp(lo) < 0 {
				lo = v.(*big.Int)
			}
			if v.(*big.Int).Cmp(hi) > 0 {
				hi = v.(*big.Int)
			}
		}
		den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
		return new(big.Rat).SetFrac(lo, den).FloatString(scale), new(big.Rat).SetFrac(hi, den).FloatString(scale)
	case "string":
		lo, hi := vals[0].(string), vals[0].(string)
		for _, v := range vals {
			lo, hi = min(lo, v.(string)), max(hi, v.(string))
		}
		r := []rune(lo)
		if len(r) > 32 {
			lo = string(r[:32])
		}
		var maxv any = hi
		if m, ok := sparkTruncateMax(hi); ok {
			maxv = m
		} else {
			maxv = nil
		}
		return lo, maxv
	}
	panic(kind)
}

// sparkTruncateMax restates Delta Spark's truncateMaxStringAgg (prefix 32)
// over code points.
func sparkTruncateMax(s string) (string, bool) {
	r := []rune(s)
	if len(r) <= 32 {
		return s, true
	}
	for n := 32; n <= 64; {
		if n >= len(r) {
			return s, true
		}
		switch {
		case r[n] == 0x10FFFF:
			n++
		case r[n] < 0x7F:
			return string(r[:n]) + "\u007f", true
		default:
			return string(r[:n]) + "\U0010FFFF", true
		}
	}
	return "", false
}

// compareStats parses got and compares it with want (expectedStats).
func compareStats(t *testing.T, got string, want map[string]any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(got))
	dec.UseNumber()
	var g map[string]any
	if err := dec.Decode(&g); err != nil {
		t.Fatalf("stats %s: %v", got, err)
	}
	keys := func(m map[string]any) []string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	if !slices.Equal(keys(g), []string{"maxValues", "minValues", "nullCount", "numRecords"}) {
		t.Fatalf("stats keys %v in %s", keys(g), got)
	}
	if n, _ := g["numRecords"].(json.Number).Int64(); n != want["numRecords"].(int64) {
		t.Errorf("numRecords %d, want %d", n, want["numRecords"])
	}
	var cmp func(path string, g, w map[string]any, what string)
	cmp = func(path string, g, w map[string]any, what string) {
		if !slices.Equal(keys(g), keys(w)) {
			t.Errorf("%s%s: keys %v, want %v", what, path, keys(g), keys(w))
			return
		}
		for k, wv := range w {
			gv := g[k]
			p := path + "." + k
			switch wv := wv.(type) {
			case map[string]any:
				gm, ok := gv.(map[string]any)
				if !ok {
					t.Errorf("%s%s: %v, want an object", what, p, gv)
					continue
				}
				cmp(p, gm, wv, what)
			case int64:
				if n, err := gv.(json.Number).Int64(); err != nil || n != wv {
					t.Errorf("%s%s: %v, want %d", what, p, gv, wv)
				}
			case float64:
				var f float64
				switch gv := gv.(type) {
				case json.Number:
					f, _ = gv.Float64()
				case string:
					f, _ = strconv.ParseFloat(gv, 64)
					if !math.IsNaN(f) && !math.IsInf(f, 0) {
						t.Errorf("%s%s: %q: only NaN and infinities are strings", what, p, gv)
					}
				}
				if k == "f32" {
					f = float64(float32(f))
				}
				if !(f == wv || math.IsNaN(f) && math.IsNaN(wv)) {
					t.Errorf("%s%s: %v, want %v", what, p, gv, wv)
				}
			case string:
				gs, ok := gv.(string)
				if n, isNum := gv.(json.Number); isNum {
					gs, ok = n.String(), true
				}
				if !ok || gs != wv {
					t.Errorf("%s%s: %v, want %q", what, p, gv, wv)
				}
			}
		}
	}
	for _, k := range []string{"minValues", "maxValues", "nullCount"} {
		cmp("", g[k].(map[string]any), want[k].(map[string]any), k)
	}
}

// TestStringStatsTruncation pins Spark's truncation and tie-breaking.
func TestStringStatsTruncation(t *testing.T) {
	x31, x32 := strings.Repeat("x", 31), strings.Repeat("x", 32)
	maxRune := "\U0010FFFF"
	for _, c := range []struct {
		in      string
		wantMax string
		ok      bool
	}{
		{"short", "short", true},
		{x32, x32, true},
		{x32 + "a", x32 + "\x7f", true},
		{x32 + "é", x32 + maxRune, true},
		{x32 + "\x7f", x32 + maxRune, true},
		{x31 + "日本", x31 + "日" + maxRune, true},
		{x32 + maxRune + "a", x32 + maxRune + "\x7f", true},
		{x32 + maxRune + maxRune, x32 + maxRune + maxRune, true}, // the whole string fits the expansion
		{x32 + strings.Repeat(maxRune, 40), "", false},
		{x32 + strings.Repeat(maxRune, 32) + "a", x32 + strings.Repeat(maxRune, 32) + "\x7f", true}, // code points (Spark: UTF-16 units)
		{x32 + strings.Repeat(maxRune, 31) + "a", x32 + strings.Repeat(maxRune, 31) + "\x7f", true},
	} {
		got, ok := truncateMax(c.in)
		if got != c.wantMax || ok != c.ok {
			t.Errorf("truncateMax(%q) = %q, %v; want %q, %v", c.in, got, ok, c.wantMax, c.ok)
		}
		want, wok := sparkTruncateMax(c.in)
		if want != got || wok != ok {
			t.Errorf("restatement disagrees on %q: %q, %v", c.in, want, wok)
		}
		if ok && got < c.in {
			t.Errorf("max %q below value %q", got, c.in)
		}
	}
	if got := truncateRunes("日本語"+strings.Repeat("a", 40), 32); got != "日本語"+strings.Repeat("a", 29) {
		t.Errorf("truncateRunes: %q", got)
	}
}

// TestInvalidUTF8Stats: string bounds that are not UTF-8 are left out.
func TestInvalidUTF8Stats(t *testing.T) {
	b, _ := newBucket(t)
	sc := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	rb.Field(0).(*array.StringBuilder).AppendValues([]string{"abc", strings.Repeat("z", 40) + "\xff", "\xfe"}, nil)
	files := writeAll(t, b, sc, Options{}, rb.NewRecordBatch())
	if want := `{"numRecords":3,"minValues":{"s":"abc"},"maxValues":{},"nullCount":{"s":0}}`; files[0].Stats != want {
		t.Errorf("stats %s, want %s", files[0].Stats, want)
	}
}

// TestFloatStats pins NaN, infinities and float32 shortest digits.
func TestFloatStats(t *testing.T) {
	b, _ := newBucket(t)
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "f", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "d", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "n", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "z", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	rb.Field(0).(*array.Float32Builder).AppendValues([]float32{3.4, -0.1, 1e-7}, nil)
	rb.Field(1).(*array.Float64Builder).AppendValues([]float64{math.Inf(-1), 2.5, math.NaN()}, nil)
	rb.Field(2).(*array.Float64Builder).AppendValues([]float64{math.NaN(), math.NaN(), 0}, []bool{true, true, false})
	rb.Field(3).(*array.Float64Builder).AppendValues([]float64{1e21, 123456789, 1e-7}, nil)
	files := writeAll(t, b, sc, Options{}, rb.NewRecordBatch())
	want := `{"numRecords":3,"minValues":{"f":-0.1,"d":"-Infinity","n":"NaN","z":1e-07},"maxValues":{"f":3.4,"d":"NaN","n":"NaN","z":1e+21},"nullCount":{"f":0,"d":0,"n":1,"z":0}}`
	if files[0].Stats != want {
		t.Errorf("stats\n%s\nwant\n%s", files[0].Stats, want)
	}
}

// TestTargetFileSize: files roll near the target; every row is in exactly one file.
func TestTargetFileSize(t *testing.T) {
	b, dir := newBucket(t)
	const target = 256 << 10
	g := newEventGen()
	var recs []arrow.RecordBatch
	for from := int64(0); from < 200_000; from += 20_000 {
		recs = append(recs, g.batch(from, 20_000))
	}
	files := writeAll(t, b, eventSchema, Options{TargetFileSize: target, RowGroupSize: 5000}, recs...)
	checkFiles(t, dir, files)
	if len(files) < 20 {
		t.Fatalf("%d files for about 12 MiB at a 256 KiB target", len(files))
	}
	var rows int64
	for i, f := range files {
		rows += f.NumRecords
		// The first file is rolled before any compression ratio is known,
		// by in-memory size: smaller.
		if f.Size > target*5/4 || (i > 0 && i < len(files)-1 && f.Size < target*3/4) {
			t.Errorf("file %d: %d bytes, target %d", i, f.Size, target)
		}
		if want := fmt.Sprintf("part-%05d-", i); !strings.HasPrefix(f.Key, want) {
			t.Errorf("file %d is %s, want %s...", i, f.Key, want)
		}
	}
	if rows != 200_000 {
		t.Errorf("%d rows in files, want 200000", rows)
	}
	var got []arrow.RecordBatch
	var gs *arrow.Schema
	for _, f := range files {
		s, r, rdr := readParquet(t, b, f.Key)
		gs = s
		got = append(got, r...)
		if n := rdr.NumRowGroups(); int64(n) < f.NumRecords/5000 {
			t.Errorf("%s: %d row groups for %d rows of at most 5000", f.Key, n, f.NumRecords)
		}
		for i := 0; i < rdr.NumRowGroups(); i++ {
			if n := rdr.MetaData().RowGroup(i).NumRows(); n > 5000 || n == 0 {
				t.Errorf("%s: row group %d has %d rows", f.Key, i, n)
			}
		}
	}
	if d := deltatest.Diff(canonical(t, eventSchema, recs), canonical(t, gs, got)); d != "" {
		t.Fatal(d)
	}
}

// TestRowGroupBytes: row groups are cut by bytes too.
func TestRowGroupBytes(t *testing.T) {
	b, _ := newBucket(t)
	w, err := NewWriter(b, eventSchema, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.rowGroupBytes = 1 << 20
	g := newEventGen()
	ctx := context.Background()
	for from := int64(0); from < 100_000; from += 10_000 {
		if err := w.Write(ctx, g.batch(from, 10_000)); err != nil {
			t.Fatal(err)
		}
	}
	files, err := w.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, _, rdr := readParquet(t, b, files[0].Key)
	if n := rdr.NumRowGroups(); n < 10 {
		t.Errorf("%d row groups; want one per 1 MiB of about 23 MiB", n)
	}
}

// TestAbort: nothing the writer wrote stays, whether files were open or finished.
func TestAbort(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		close bool
	}{{"open files", false}, {"after Close", true}} {
		t.Run(c.name, func(t *testing.T) {
			b, dir := newBucket(t)
			if err := b.Put(ctx, "_delta_log/00000000000000000000.json", []byte("{}")); err != nil {
				t.Fatal(err)
			}
			sc := allTypesSchema()
			w, err := NewWriter(b, sc, Options{PartitionColumns: []string{"b"}, TargetFileSize: 32 << 10})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 4 {
				if err := w.Write(ctx, buildRecord(sc, genRows(uint64(i), int64(i*1000), 1000, 0.1))); err != nil {
					t.Fatal(err)
				}
			}
			if c.close {
				files, err := w.Close(ctx)
				if err != nil || len(files) < 3 {
					t.Fatalf("%d files, %v", len(files), err)
				}
			}
			cctx, cancel := context.WithCancel(ctx)
			cancel() // Abort works with a cancelled context
			w.Abort(cctx)
			objs, err := b.List(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) != 1 || objs[0].Key != "_delta_log/00000000000000000000.json" {
				t.Errorf("left behind: %v", objs)
			}
			filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".json") {
					t.Errorf("file left on disk: %s", p)
				}
				return nil
			})
			if err := w.Write(ctx, buildRecord(sc, genRows(1, 0, 1, 0))); err == nil {
				t.Error("Write after Abort succeeded")
			}
		})
	}
}

// TestManyPartitions writes rows of many interleaved partitions with few
// open files allowed: memory stays bounded, rows are all there.
func TestManyPartitions(t *testing.T) {
	b, dir := newBucket(t)
	sc := allTypesSchema()
	w, err := NewWriter(b, sc, Options{PartitionColumns: []string{"i16", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	w.maxOpenFiles = 4
	w.maxBufferedBytes = 64 << 10
	ctx := context.Background()
	var recs []arrow.RecordBatch
	for i := range 6 {
		rs := genRows(uint64(i), int64(i*2000), 2000, 0.05)
		for k := range rs {
			if rs[k].i16 != nil {
				rs[k].i16 = ptr(*rs[k].i16 % 10)
			}
		}
		rec := buildRecord(sc, rs)
		recs = append(recs, rec)
		if err := w.Write(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	files, err := w.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if w.peakOpen != 4 {
		t.Errorf("at most %d files open at once, want 4", w.peakOpen)
	}
	checkFiles(t, dir, files)
	seen := map[string]bool{}
	var got []arrow.RecordBatch
	var gs *arrow.Schema
	for _, f := range files {
		s, r, _ := readParquet(t, b, f.Key)
		gs = s
		// every row of the file has the file's partition values
		for _, rec := range r {
			got = append(got, withPartitions(t, rec, f, sc))
		}
		seen[fmt.Sprint(f.PartitionValues["i16"] == nil, deref(f.PartitionValues["i16"]), deref(f.PartitionValues["b"]))] = true
	}
	if len(seen) < 40 {
		t.Errorf("%d distinct partitions, want about 57", len(seen))
	}
	_ = gs
	if d := deltatest.Diff(canonical(t, sc, recs), canonical(t, sc, got)); d != "" {
		t.Fatal(d)
	}
}

func deref(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

// withPartitions rebuilds a full allTypesSchema record from a file's data
// columns and its partition values (i16 and b).
func withPartitions(t *testing.T, rec arrow.RecordBatch, f File, sc *arrow.Schema) arrow.RecordBatch {
	t.Helper()
	n := int(rec.NumRows())
	var cols []arrow.Array
	di := 0
	for _, fld := range sc.Fields() {
		switch fld.Name {
		case "i16":
			bld := array.NewInt16Builder(memory.DefaultAllocator)
			for range n {
				if v := f.PartitionValues["i16"]; v == nil {
					bld.AppendNull()
				} else {
					x, err := strconv.ParseInt(*v, 10, 16)
					if err != nil {
						t.Fatal(err)
					}
					bld.Append(int16(x))
				}
			}
			cols = append(cols, bld.NewArray())
		case "b":
			bld := array.NewBooleanBuilder(memory.DefaultAllocator)
			for range n {
				if v := f.PartitionValues["b"]; v == nil {
					bld.AppendNull()
				} else {
					bld.Append(*v == "true")
				}
			}
			cols = append(cols, bld.NewArray())
		default:
			cols = append(cols, rec.Column(di))
			di++
		}
	}
	return array.NewRecordBatch(sc, cols, int64(n))
}

// TestErrors: bad options and records are refused with clear errors.
func TestErrors(t *testing.T) {
	b, _ := newBucket(t)
	sc := allTypesSchema()
	for _, c := range []struct {
		opts Options
		sc   *arrow.Schema
		want string
	}{
		{Options{Compression: "lz9"}, sc, "unknown compression"},
		{Options{PartitionColumns: []string{"nope"}}, sc, `partition column "nope"`},
		{Options{PartitionColumns: []string{"st"}}, sc, "cannot be a partition column"},
		{Options{PartitionColumns: []string{"id", "id"}}, sc, "listed twice"},
		{Options{TargetFileSize: -1}, sc, "negative target"},
		{Options{StatsColumns: -2}, sc, "stats columns"},
		{Options{Dir: "/abs"}, sc, "invalid directory"},
		{Options{PartitionColumns: []string{"x"}}, arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int32}}, nil), "at least one data column"},
		{Options{}, arrow.NewSchema([]arrow.Field{{Name: "u", Type: arrow.PrimitiveTypes.Uint32}}, nil), "no Delta type"},
	} {
		_, err := NewWriter(b, c.sc, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.opts, err, c.want)
		}
	}
	ctx := context.Background()
	w, err := NewWriter(b, sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	other := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int32}}, nil)
	ob := array.NewRecordBuilder(memory.DefaultAllocator, other)
	if err := w.Write(ctx, ob.NewRecordBatch()); err == nil || !strings.Contains(err.Error(), "columns") {
		t.Errorf("mismatched record: %v", err)
	}
	// a null in the non-nullable id
	rec := buildRecord(sc, genRows(1, 0, 3, 0))
	ib := array.NewInt64Builder(memory.DefaultAllocator)
	ib.AppendValues([]int64{1, 0, 3}, []bool{true, false, true})
	cols := slices.Clone(rec.Columns())
	cols[0] = ib.NewArray()
	if err := w.Write(ctx, array.NewRecordBatch(sc, cols, 3)); err == nil || !strings.Contains(err.Error(), "not nullable") {
		t.Errorf("null in non-nullable column: %v", err)
	}
	// the writer is still usable after refusing a record
	if err := w.Write(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if files, err := w.Close(ctx); err != nil || len(files) != 1 {
		t.Fatalf("%v %v", files, err)
	}
	if _, err := w.Close(ctx); err == nil {
		t.Error("second Close succeeded")
	}
}

// TestStorageError: a failing upload surfaces from Write or Close, and
// Abort still cleans up.
func TestStorageError(t *testing.T) {
	ctx := context.Background()
	b, dir := newBucket(t)
	// A file where a partition directory must go makes that upload fail.
	if err := os.WriteFile(filepath.Join(dir, "b=true"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	sc := allTypesSchema()
	w, err := NewWriter(b, sc, Options{PartitionColumns: []string{"b"}})
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	for i := range 3 {
		if werr = w.Write(ctx, buildRecord(sc, genRows(uint64(i), 0, 500, 0.1))); werr != nil {
			break
		}
	}
	if werr == nil {
		_, werr = w.Close(ctx)
	}
	if werr == nil {
		t.Fatal("no error writing under a file")
	}
	var pe *os.PathError
	if !errors.As(werr, &pe) && !strings.Contains(werr.Error(), "b=true") {
		t.Errorf("error does not name the file: %v", werr)
	}
	w.Abort(ctx)
	objs, _ := b.List(ctx, "")
	for _, o := range objs {
		if o.Key != "b=true" {
			t.Errorf("left behind: %s", o.Key)
		}
	}
}

// TestCloseWithoutWrites returns no files and writes nothing.
func TestCloseWithoutWrites(t *testing.T) {
	b, _ := newBucket(t)
	ctx := context.Background()
	w, err := NewWriter(b, eventSchema, Options{})
	if err != nil {
		t.Fatal(err)
	}
	empty := array.NewRecordBuilder(memory.DefaultAllocator, eventSchema).NewRecordBatch()
	if err := w.Write(ctx, empty); err != nil {
		t.Fatal(err)
	}
	files, err := w.Close(ctx)
	if err != nil || len(files) != 0 {
		t.Fatalf("%v, %v", files, err)
	}
	if objs, _ := b.List(ctx, ""); len(objs) != 0 {
		t.Errorf("wrote %v", objs)
	}
}

// TestCancelledWrite: a cancelled context fails the Write, before anything
// is queued; Abort after Close removes the files.
func TestCancelledWrite(t *testing.T) {
	b, _ := newBucket(t)
	w, err := NewWriter(b, eventSchema, Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := newEventGen()
	if err := w.Write(context.Background(), g.batch(0, 1000)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Write(ctx, g.batch(1000, 1000)); !errors.Is(err, context.Canceled) {
		t.Errorf("Write with a cancelled context: %v", err)
	}
	// Nothing of that batch was queued: the writer goes on.
	if err := w.Write(context.Background(), g.batch(2000, 1000)); err != nil {
		t.Fatal(err)
	}
	files, err := w.Close(context.Background())
	if err != nil || len(files) != 1 || files[0].NumRecords != 2000 {
		t.Fatalf("%v, %v", files, err)
	}
	w.Abort(ctx)
	if objs, _ := b.List(context.Background(), ""); len(objs) != 0 {
		t.Errorf("left behind: %v", objs)
	}
}

// TestChangeDataFiles: Dir and partitions together, as Spark lays out _change_data.
func TestChangeDataFiles(t *testing.T) {
	b, dir := newBucket(t)
	sc := allTypesSchema()
	files := writeAll(t, b, sc, Options{Dir: "_change_data", NoStats: true, PartitionColumns: []string{"b"}}, buildRecord(sc, genRows(3, 0, 300, 0.2)))
	checkFiles(t, dir, files)
	if len(files) != 3 {
		t.Fatalf("%d files", len(files))
	}
	for _, f := range files {
		if !regexp.MustCompile(`^_change_data/b=(true|false|__HIVE_DEFAULT_PARTITION__)/cdc-\d{5}-`).MatchString(f.Key) || f.Stats != "" {
			t.Errorf("%s stats %q", f.Key, f.Stats)
		}
	}
}

// TestStatsReadable: Lakeport's reader parses every statistic written.
func TestStatsReadable(t *testing.T) {
	b, _ := newBucket(t)
	sc := allTypesSchema()
	files := writeAll(t, b, sc, Options{}, buildRecord(sc, genRows(11, 0, 2000, 0.1)))
	var st struct {
		Min map[string]json.RawMessage `json:"minValues"`
		Max map[string]json.RawMessage `json:"maxValues"`
	}
	if err := json.Unmarshal([]byte(files[0].Stats), &st); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range []map[string]json.RawMessage{st.Min, st.Max} {
		for name, raw := range m {
			f, _ := sc.FieldsByName(name)
			if st, ok := f[0].Type.(*arrow.StructType); ok {
				var sub map[string]json.RawMessage
				json.Unmarshal(raw, &sub)
				for k, v := range sub {
					i, _ := st.FieldIdx(k)
					if _, err := predicate.ParseStatValue(st.Field(i).Type, v); err != nil {
						t.Errorf("%s.%s %s: %v", name, k, v, err)
					}
					n++
				}
				continue
			}
			if _, err := predicate.ParseStatValue(f[0].Type, raw); err != nil {
				t.Errorf("%s %s: %v", name, raw, err)
			}
			n++
		}
	}
	if n < 30 {
		t.Errorf("only %d statistics", n)
	}
}
