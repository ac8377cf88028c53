package delta_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeport/lakeport/internal/delta"
	"github.com/lakeport/lakeport/internal/delta/deltatest"
)

var peopleSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

func people(t *testing.T, from, to int64, country string) arrow.RecordBatch {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, peopleSchema)
	defer b.Release()
	for i := from; i < to; i++ {
		b.Field(0).(*array.Int64Builder).Append(i)
		b.Field(1).(*array.StringBuilder).Append("p" + string(rune('a'+i%26)))
		b.Field(2).(*array.StringBuilder).Append(country)
	}
	return b.NewRecordBatch()
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newFixture(t *testing.T, part []string, props map[string]string) (*deltatest.Fixture, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)}
	f, err := deltatest.NewFixture(filepath.Join(t.TempDir(), "people"), peopleSchema, part, props)
	if err != nil {
		t.Fatal(err)
	}
	f.Now = c.now
	return f, c
}

func ids(t *testing.T, b delta.Batches, err error) []int64 {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, recs, err := drain(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	idx := b.Schema().FieldIndices("id")[0]
	var out []int64
	for _, r := range recs {
		col := r.Column(idx).(*array.Int64)
		for i := 0; i < col.Len(); i++ {
			out = append(out, col.Value(i))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTimeTravel(t *testing.T) {
	ctx := context.Background()
	f, c := newFixture(t, nil, nil) // version 0 at 12:00
	c.t = c.t.Add(time.Hour)
	if _, err := f.Append(people(t, 0, 3, "NL")); err != nil { // v1 at 13:00
		t.Fatal(err)
	}
	first := f.Files()[0]
	c.t = c.t.Add(time.Hour)
	if _, err := f.Append(people(t, 3, 5, "DE")); err != nil { // v2 at 14:00
		t.Fatal(err)
	}
	c.t = c.t.Add(time.Hour)
	if _, err := f.Commit(deltatest.Commit{Remove: []string{first}}); err != nil { // v3 at 15:00
		t.Fatal(err)
	}
	tbl, err := delta.Open(ctx, f.Dir)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		at   delta.At
		want []int64
		ver  int64
	}{
		{delta.AtVersion(0), nil, 0},
		{delta.AtVersion(1), seq(0, 3), 1},
		{delta.AtVersion(2), seq(0, 5), 2},
		{delta.Latest(), seq(3, 5), 3},
		{delta.AtTimestamp(time.Date(2024, 3, 1, 13, 30, 0, 0, time.UTC)), seq(0, 3), 1},
		{delta.AtTimestamp(time.Date(2024, 3, 1, 14, 0, 0, 0, time.UTC)), seq(0, 5), 2},
		{delta.AtTimestamp(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)), seq(3, 5), 3},
	}
	for _, tc := range cases {
		snap, err := tbl.Snapshot(ctx, tc.at)
		if err != nil {
			t.Fatalf("%+v: %v", tc.at, err)
		}
		if snap.Version() != tc.ver {
			t.Errorf("%+v: version %d, want %d", tc.at, snap.Version(), tc.ver)
		}
		b, err := snap.Scan(ctx, delta.ScanOptions{})
		if got := ids(t, b, err); !equal(got, tc.want) {
			t.Errorf("version %d: ids %v, want %v", tc.ver, got, tc.want)
		}
	}
	var ve *delta.VersionError
	if _, err := tbl.Snapshot(ctx, delta.AtVersion(9)); !errors.As(err, &ve) || !strings.Contains(err.Error(), "latest is 3") {
		t.Errorf("version 9: err = %v, want a VersionError naming the latest version", err)
	}
	if _, err := tbl.Snapshot(ctx, delta.AtTimestamp(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))); !errors.As(err, &ve) || !strings.Contains(err.Error(), "before the earliest") {
		t.Errorf("timestamp before the table: err = %v, want a VersionError", err)
	}
}

func TestSkippingAndFiltering(t *testing.T) {
	ctx := context.Background()
	f, _ := newFixture(t, []string{"country"}, nil)
	for i := int64(0); i < 10; i++ {
		country := "NL"
		if i%2 == 1 {
			country = "DE"
		}
		if _, err := f.Append(people(t, i*10, i*10+10, country)); err != nil {
			t.Fatal(err)
		}
	}
	tbl, err := delta.Open(ctx, f.Dir)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := tbl.Snapshot(ctx, delta.Latest())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		where string
		files int
		want  []int64
	}{
		{"id >= 35 AND id < 42", 2, seq(35, 42)},
		{"id = 7", 1, []int64{7}},
		{"id IN (5, 95)", 2, []int64{5, 95}},
		{"country = 'DE'", 5, append(append(append(append(seq(10, 20), seq(30, 40)...), seq(50, 60)...), seq(70, 80)...), seq(90, 100)...)},
		{"country = 'DE' AND id < 20", 1, seq(10, 20)},
		{"id > 1000 OR country = 'FR'", 0, nil},
		{"id < 3 OR id > 97", 2, []int64{0, 1, 2, 98, 99}},
		{"name IS NULL", 0, nil}, // nullCount is 0 in every file
		{"NOT (id >= 10)", 1, seq(0, 10)},
	}
	for _, tc := range cases {
		files, err := snap.FilesFor(tc.where)
		if err != nil {
			t.Fatalf("%s: %v", tc.where, err)
		}
		if len(files) != tc.files {
			t.Errorf("%s: %d files read, want %d", tc.where, len(files), tc.files)
		}
		b, err := snap.Scan(ctx, delta.ScanOptions{Where: tc.where})
		if got := ids(t, b, err); !equal(got, tc.want) {
			t.Errorf("%s: ids %v, want %v", tc.where, got, tc.want)
		}
	}
	if _, err := snap.Scan(ctx, delta.ScanOptions{Where: "nope = 1"}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown column: err = %v, want one naming it", err)
	}
	if _, err := snap.Scan(ctx, delta.ScanOptions{Columns: []string{"id", "bogus"}}); err == nil || !strings.Contains(err.Error(), `"bogus"`) {
		t.Errorf("unknown projected column: err = %v, want one naming it", err)
	}
	// projection and limit
	b, err := snap.Scan(ctx, delta.ScanOptions{Columns: []string{"country", "id"}, Limit: 15, BatchSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	_, recs, err := drain(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, r := range recs {
		n += r.NumRows()
		if r.NumRows() > 4 {
			t.Errorf("batch of %d rows, want at most 4", r.NumRows())
		}
		if r.Schema().Field(0).Name != "country" || r.NumCols() != 2 {
			t.Errorf("projected schema %v", r.Schema())
		}
	}
	if n != 15 {
		t.Errorf("limit 15 returned %d rows", n)
	}
}

func TestChangesErrors(t *testing.T) {
	ctx := context.Background()
	v := func(n int64) *int64 { return &n }
	// CDF off
	f, _ := newFixture(t, nil, nil)
	if _, err := f.Append(people(t, 0, 3, "NL")); err != nil {
		t.Fatal(err)
	}
	tbl, _ := delta.Open(ctx, f.Dir)
	_, err := tbl.Changes(ctx, delta.ChangesOptions{StartVersion: v(0)})
	var cu *delta.CDFUnavailableError
	if !errors.As(err, &cu) || !strings.Contains(err.Error(), "not enabled at version") {
		t.Errorf("CDF off: err = %v, want CDFUnavailableError", err)
	}
	// CDF on, then a data file vacuumed
	g, _ := newFixture(t, nil, map[string]string{"delta.enableChangeDataFeed": "true"})
	if _, err := g.Append(people(t, 0, 3, "NL")); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Append(people(t, 3, 6, "NL")); err != nil {
		t.Fatal(err)
	}
	tbl, _ = delta.Open(ctx, g.Dir)
	b, err := tbl.Changes(ctx, delta.ChangesOptions{StartVersion: v(1), EndVersion: v(2)})
	if got := ids(t, b, err); !equal(got, seq(0, 6)) {
		t.Errorf("changes 1..2: %v", got)
	}
	if err := os.Remove(g.LocalPath(g.Files()[0])); err != nil {
		t.Fatal(err)
	}
	b, err = tbl.Changes(ctx, delta.ChangesOptions{StartVersion: v(1)})
	if err == nil {
		_, _, err = drain(ctx, b)
	}
	if !errors.As(err, &cu) || !strings.Contains(err.Error(), "vacuumed") {
		t.Errorf("vacuumed file: err = %v, want CDFUnavailableError", err)
	}
	for _, o := range []delta.ChangesOptions{
		{StartVersion: v(2), EndVersion: v(1)},
		{StartVersion: v(0), EndVersion: v(7)},
		{StartVersion: v(5)},
	} {
		var ve *delta.VersionError
		if _, err := tbl.Changes(ctx, o); !errors.As(err, &ve) {
			t.Errorf("range %d..%v: err = %v, want a VersionError", *o.StartVersion, o.EndVersion, err)
		}
	}
}

func TestNotATable(t *testing.T) {
	ctx := context.Background()
	for _, dir := range []string{filepath.Join(t.TempDir(), "missing"), t.TempDir()} {
		tbl, err := delta.Open(ctx, dir)
		if err == nil {
			_, err = tbl.Snapshot(ctx, delta.Latest())
		}
		if !errors.Is(err, delta.ErrNotATable) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %v, want ErrNotATable on one line", dir, err)
		}
	}
}

// TestLastCheckpointIsAHint: a missing, stale or corrupt _last_checkpoint never changes the snapshot.
func TestLastCheckpointIsAHint(t *testing.T) {
	ctx := context.Background()
	src := filepath.Join(deltatest.CorpusDir(t), "kernel-rs", "golden", "basic-with-inserts-deletes-checkpoint", "delta")
	want := snapshotRows(t, ctx, src)
	for name, content := range map[string]*string{
		"missing": nil,
		"corrupt": ptr("{not json"),
		"stale":   ptr(`{"version":0,"size":1}`),
		"ahead":   ptr(`{"version":99,"size":1}`),
	} {
		dst := filepath.Join(t.TempDir(), "t")
		copyTree(t, src, dst)
		lc := filepath.Join(dst, "_delta_log", "_last_checkpoint")
		os.Remove(lc)
		if content != nil {
			os.WriteFile(lc, []byte(*content), 0o644)
		}
		if got := snapshotRows(t, ctx, dst); deltatest.Diff(want, got) != "" {
			t.Errorf("%s _last_checkpoint: rows differ:\n%s", name, deltatest.Diff(want, got))
		}
	}
}

func ptr(s string) *string { return &s }

func snapshotRows(t *testing.T, ctx context.Context, root string) []string {
	t.Helper()
	snap, err := openLatest(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	s, recs, err := scanAll(ctx, snap, delta.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := deltatest.CanonicalRows(s, recs)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func FuzzParseActions(f *testing.F) {
	f.Add([]byte(`{"add":{"path":"a","partitionValues":{},"size":1,"modificationTime":1,"dataChange":true}}`))
	f.Add([]byte(`{"protocol":{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["deletionVectors"]}}` + "\n" + `{"metaData":{"id":"x","schemaString":"{\"type\":\"struct\",\"fields\":[]}"}}`))
	f.Add([]byte(`{"remove":{"path":"a","deletionVector":{"storageType":"i","pathOrInlineDv":"wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L","sizeInBytes":40,"cardinality":6}}}`))
	if dir, err := deltatest.LocateCorpus(); err == nil {
		logs, _ := filepath.Glob(filepath.Join(dir, "kernel-rs", "data", "*", "_delta_log", "00000000000000000001.json"))
		for _, l := range logs {
			if b, err := os.ReadFile(l); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		actions, err := delta.ParseActions(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		for _, a := range actions {
			if a.Metadata != nil {
				delta.ParseSchema(a.Metadata.SchemaString)
			}
		}
	})
}

func FuzzParseSchema(f *testing.F) {
	f.Add(`{"type":"struct","fields":[{"name":"a","type":"decimal(10,2)","nullable":true,"metadata":{}}]}`)
	f.Add(`{"type":"struct","fields":[{"name":"m","type":{"type":"map","keyType":"string","valueType":{"type":"array","elementType":"long","containsNull":true},"valueContainsNull":true},"nullable":true,"metadata":{}}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		st, err := delta.ParseSchema(s)
		if err != nil {
			return
		}
		delta.ArrowSchema(st) // every parsed schema maps to Arrow without panicking
	})
}
