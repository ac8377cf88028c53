package local_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/lakeport/lakeport/internal/delta"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/lakehouse/local"
	"github.com/lakeport/lakeport/internal/lakehouse/staging"
)

var loadCtx = context.Background()

var utcTS = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// eventSchema is the shape export.events stages.
var eventSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "event_ts", Type: utcTS, Nullable: true},
	{Name: "receive_ts", Type: utcTS, Nullable: true},
	{Name: "stream", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "data", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

var eventBase = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)

// eventBatch builds event rows with ids [from, from+n) of schema s (eventSchema's
// columns, possibly a prefix, an extra string column, or id as int32).
func eventBatch(s *arrow.Schema, from, n int64) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, s)
	defer b.Release()
	for i := from; i < from+n; i++ {
		for j, f := range s.Fields() {
			switch fb := b.Field(j).(type) {
			case *array.Int64Builder:
				fb.Append(i)
			case *array.Int32Builder:
				fb.Append(int32(i))
			case *array.TimestampBuilder:
				fb.Append(arrow.Timestamp(eventBase.Add(time.Duration(i) * time.Millisecond).UnixMicro()))
			case *array.StringBuilder:
				switch f.Name {
				case "stream":
					fb.Append([]string{"web", "app"}[i%2])
				case "data":
					fb.Append(fmt.Sprintf(`{"n":%d,"page":"/p/%d","ua":"Mozilla/5.0"}`, i, i%97))
				default:
					fb.Append("x")
				}
			}
		}
	}
	return b.NewRecordBatch()
}

// stageParquet writes recs into the area as the export stages Parquet
// (snappy, no dictionary, statistics, the Arrow schema stored; row groups
// of rowGroup rows).
func stageParquet(t testing.TB, area staging.Area, name string, s *arrow.Schema, rowGroup int64, recs ...arrow.RecordBatch) string {
	t.Helper()
	w, err := area.NewWriter(loadCtx, name)
	if err != nil {
		t.Fatal(err)
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithDictionaryDefault(false),
		parquet.WithMaxRowGroupLength(rowGroup), parquet.WithStats(true))
	pw, err := pqarrow.NewFileWriter(s, w, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := pw.WriteBuffered(r); err != nil {
			t.Fatal(err)
		}
		r.Release()
	}
	if err := pw.Close(); err != nil { // closes w
		t.Fatal(err)
	}
	return name
}

// tableIDs reads every id of a table (latest version) through the driver.
func tableIDs(t *testing.T, lh *local.Lakehouse, n lakehouse.TableName) []int64 {
	t.Helper()
	d, err := lh.Describe(loadCtx, n)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := lh.Scan(loadCtx, n, lakehouse.ScanRequest{Version: d.Version, Columns: []string{"id"}})
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for {
		rec, err := rows.Next(loadCtx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch c := rec.Column(0).(type) {
		case *array.Int64:
			ids = append(ids, c.Int64Values()...)
		default:
			t.Fatalf("id column %T", c)
		}
		rec.Release()
	}
	slices.Sort(ids)
	return ids
}

func idRange(ranges ...[2]int64) []int64 {
	var out []int64
	for _, r := range ranges {
		for i := r[0]; i < r[1]; i++ {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out
}

var adoptedName = regexp.MustCompile(`^part-\d{5}-[0-9a-f-]{36}-c000\.parquet$`)

// liveFiles returns the table's live data file keys and every *.parquet under its directory.
func liveFiles(t *testing.T, dir string) (live, onDisk []string) {
	t.Helper()
	tbl, err := delta.Open(loadCtx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	snap, err := tbl.Snapshot(loadCtx, delta.Latest())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range snap.Files() {
		k, _ := url.PathUnescape(f.Path)
		live = append(live, k)
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") && !strings.Contains(p, "_delta_log") {
			rel, _ := filepath.Rel(dir, p)
			onDisk = append(onDisk, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(live)
	slices.Sort(onDisk)
	return live, onDisk
}

func newLoadLake(t *testing.T, stagingLoc string) (*local.Lakehouse, staging.Area) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "lake")
	os.MkdirAll(root, 0o755)
	lh, err := local.Open(root, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lh.Close() })
	if stagingLoc == "" {
		stagingLoc = t.TempDir()
	}
	area, err := staging.Open(loadCtx, stagingLoc)
	if err != nil {
		t.Fatal(err)
	}
	return lh, area
}

var eventsTable = lakehouse.TableName{Catalog: "main", Schema: "exports", Table: "events"}

// TestLoadAdoptsParquet: staged Parquet files become the table's data files
// as they are (hard links of the staged files), in one commit with the
// txn; every row is read once, the staged files stay, a repeated load is
// skipped and adds nothing, and the table survives the staged files' deletion.
func TestLoadAdoptsParquet(t *testing.T) {
	lh, area := newLoadLake(t, "")
	f1 := stageParquet(t, area, "run-1/load-1/events-part-00000.parquet", eventSchema, 1000, eventBatch(eventSchema, 0, 2500))
	f2 := stageParquet(t, area, "run-1/load-1/events-part-00001.parquet", eventSchema, 1000, eventBatch(eventSchema, 2500, 1500))
	req := lakehouse.LoadRequest{Staging: area, Files: []string{f1, f2}, Format: lakehouse.FormatParquet, Key: lakehouse.LoadKey{App: "export-events", Version: 1}, Create: true, Schema: eventSchema}
	res, err := lh.Load(loadCtx, eventsTable, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped || res.Rows != 4000 || !res.Created {
		t.Errorf("load = %+v", res)
	}
	dir, _ := lh.TablePath(eventsTable)
	live, onDisk := liveFiles(t, dir)
	if len(live) != 2 || !slices.Equal(live, onDisk) {
		t.Fatalf("live %v, on disk %v", live, onDisk)
	}
	la := area.(staging.LocalArea)
	staged := map[string]bool{}
	for _, k := range live {
		if !adoptedName.MatchString(k) {
			t.Errorf("data file %s: not an adopted file name", k)
		}
		fi, err := os.Stat(filepath.Join(dir, k))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{f1, f2} {
			sfi, err := os.Stat(la.LocalPath(f))
			if err != nil {
				t.Fatalf("staged file %s is gone: %v", f, err)
			}
			if os.SameFile(fi, sfi) {
				staged[f] = true
			}
		}
	}
	if len(staged) != 2 { // os.SameFile: same device and inode
		t.Errorf("table files are hard links of %d of the 2 staged files", len(staged))
	}
	if got := tableIDs(t, lh, eventsTable); !slices.Equal(got, idRange([2]int64{0, 4000})) {
		t.Errorf("%d ids after the load", len(got))
	}
	again, err := lh.Load(loadCtx, eventsTable, req)
	if err != nil || !again.Skipped || again.Version != res.Version {
		t.Errorf("repeated load: %+v, %v", again, err)
	}
	if l2, d2 := liveFiles(t, dir); !slices.Equal(l2, live) || !slices.Equal(d2, onDisk) {
		t.Errorf("repeated load changed the files: %v, %v", l2, d2)
	}
	// the export deletes its staged files once the ledger moved: the table keeps its links
	if err := area.DeletePrefix(loadCtx, "run-1/"); err != nil {
		t.Fatal(err)
	}
	if got := tableIDs(t, lh, eventsTable); len(got) != 4000 {
		t.Errorf("%d rows after the staged files were deleted", len(got))
	}
	// a second load, then the footer statistics prune: one file per id
	f3 := stageParquet(t, area, "run-2/load-1/events-part-00000.parquet", eventSchema, 1000, eventBatch(eventSchema, 4000, 100))
	res2, err := lh.Load(loadCtx, eventsTable, lakehouse.LoadRequest{Staging: area, Files: []string{f3}, Key: lakehouse.LoadKey{App: "export-events", Version: 2}})
	if err != nil || res2.Rows != 100 {
		t.Fatalf("second load %+v, %v", res2, err)
	}
	tbl, _ := delta.Open(loadCtx, dir)
	defer tbl.Close()
	snap, _ := tbl.Snapshot(loadCtx, delta.Latest())
	for _, c := range []struct {
		where string
		files int
	}{{"id = 10", 1}, {"id = 3000", 1}, {"id = 4050", 1}, {"id >= 2400 AND id < 2600", 2}, {"id > 9999", 0},
		{fmt.Sprintf("event_ts >= TIMESTAMP '%s'", eventBase.Add(4000*time.Millisecond).Format("2006-01-02 15:04:05.000")), 1}} {
		files, err := snap.FilesFor(c.where)
		if err != nil || len(files) != c.files {
			t.Errorf("FilesFor(%s): %d files, %v; want %d", c.where, len(files), err, c.files)
		}
	}
}

// TestLoadAdoptsFromBucket: a staging area that is not a local directory
// is copied into the table directory (the same path as a link across file
// systems), then adopted.
func TestLoadAdoptsFromBucket(t *testing.T) {
	lh, area := newLoadLake(t, "mem://load-adopt-bucket/staging")
	f1 := stageParquet(t, area, "run-1/a.parquet", eventSchema, 100, eventBatch(eventSchema, 0, 300))
	res, err := lh.Load(loadCtx, eventsTable, lakehouse.LoadRequest{Staging: area, Files: []string{f1}, Key: lakehouse.LoadKey{App: "x", Version: 1}, Create: true, Schema: eventSchema})
	if err != nil || res.Rows != 300 {
		t.Fatalf("load %+v, %v", res, err)
	}
	dir, _ := lh.TablePath(eventsTable)
	live, onDisk := liveFiles(t, dir)
	if len(live) != 1 || !adoptedName.MatchString(live[0]) || !slices.Equal(live, onDisk) {
		t.Errorf("live %v, on disk %v", live, onDisk)
	}
	if names, _ := area.List(loadCtx, "run-1/"); len(names) != 1 {
		t.Errorf("staged files after the load: %v", names)
	}
	if got := tableIDs(t, lh, eventsTable); !slices.Equal(got, idRange([2]int64{0, 300})) {
		t.Errorf("%d ids", len(got))
	}
}

// TestLoadFallsBack: what cannot be adopted is re-encoded as before
// (partitioned and column-mapped tables, a file whose columns differ in a
// way the writer reconciles) or refused with the writer's error (an extra
// column); the placed files never stay behind.
func TestLoadFallsBack(t *testing.T) {
	fields := eventSchema.Fields()
	cases := []struct {
		name    string
		props   map[string]string
		parts   []string
		file    *arrow.Schema
		wantErr string
	}{
		{name: "partitioned", parts: []string{"stream"}, file: eventSchema},
		{name: "column mapping", props: map[string]string{"delta.columnMapping.mode": "name"}, file: eventSchema},
		{name: "missing nullable column", file: arrow.NewSchema(fields[:4], nil)},
		{name: "narrower id", file: arrow.NewSchema(append([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int32}}, fields[1:]...), nil)},
		{name: "extra column", file: arrow.NewSchema(append(slices.Clone(fields), arrow.Field{Name: "extra", Type: arrow.BinaryTypes.String, Nullable: true}), nil), wantErr: "extra"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lh, area := newLoadLake(t, "")
			dir, _ := lh.TablePath(eventsTable)
			os.MkdirAll(filepath.Dir(dir), 0o755)
			tbl, err := delta.Create(loadCtx, dir, delta.TableSpec{Schema: eventSchema, PartitionColumns: c.parts, Properties: c.props})
			if err != nil {
				t.Fatal(err)
			}
			tbl.Close()
			f1 := stageParquet(t, area, "run-1/a.parquet", c.file, 100, eventBatch(c.file, 0, 250))
			res, err := lh.Load(loadCtx, eventsTable, lakehouse.LoadRequest{Staging: area, Files: []string{f1}, Key: lakehouse.LoadKey{App: "x", Version: 1}})
			live, onDisk := liveFiles(t, dir)
			if !slices.Equal(live, onDisk) {
				t.Errorf("files left behind: live %v, on disk %v", live, onDisk)
			}
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Errorf("load: %+v, %v; want an error naming %q", res, err, c.wantErr)
				}
				return
			}
			if err != nil || res.Rows != 250 {
				t.Fatalf("load %+v, %v", res, err)
			}
			for _, k := range live {
				if adoptedName.MatchString(filepath.Base(k)) {
					t.Errorf("file %s adopted; want re-encoded", k)
				}
			}
			if got := tableIDs(t, lh, eventsTable); !slices.Equal(got, idRange([2]int64{0, 250})) {
				t.Errorf("%d ids", len(got))
			}
		})
	}
}

// TestLoadModesAdopt: overwrite and replace adopt Parquet files too.
func TestLoadModesAdopt(t *testing.T) {
	lh, area := newLoadLake(t, "")
	f1 := stageParquet(t, area, "a.parquet", eventSchema, 100, eventBatch(eventSchema, 0, 200))
	f2 := stageParquet(t, area, "b.parquet", eventSchema, 100, eventBatch(eventSchema, 500, 50))
	key := func(v int64) lakehouse.LoadKey { return lakehouse.LoadKey{App: "job", Version: v} }
	if _, err := lh.Load(loadCtx, eventsTable, lakehouse.LoadRequest{Staging: area, Files: []string{f1}, Key: key(1), Create: true}); err != nil {
		t.Fatal(err)
	}
	dir, _ := lh.TablePath(eventsTable)
	res, err := lh.Load(loadCtx, eventsTable, lakehouse.LoadRequest{Staging: area, Files: []string{f2}, Mode: lakehouse.LoadOverwrite, Key: key(2)})
	if err != nil || res.Rows != 50 {
		t.Fatalf("overwrite %+v, %v", res, err)
	}
	if got := tableIDs(t, lh, eventsTable); !slices.Equal(got, idRange([2]int64{500, 550})) {
		t.Errorf("after overwrite: %d ids", len(got))
	}
	if live, _ := liveFiles(t, dir); len(live) != 1 || !adoptedName.MatchString(live[0]) {
		t.Errorf("after overwrite: %v", live)
	}
	res, err = lh.Load(loadCtx, eventsTable, lakehouse.LoadRequest{Staging: area, Files: []string{f1, f2}, Mode: lakehouse.LoadReplace, Key: key(3)})
	if err != nil || res.Rows != 250 || !res.Created {
		t.Fatalf("replace %+v, %v", res, err)
	}
	if got := tableIDs(t, lh, eventsTable); !slices.Equal(got, idRange([2]int64{0, 200}, [2]int64{500, 550})) {
		t.Errorf("after replace: %d ids", len(got))
	}
	live, onDisk := liveFiles(t, dir)
	if len(live) != 2 || !adoptedName.MatchString(live[0]) || !slices.Equal(live, onDisk) {
		t.Errorf("after replace: live %v, on disk %v", live, onDisk)
	}
	d, err := lh.Describe(loadCtx, eventsTable)
	if err != nil || len(d.Columns) != 5 || d.Columns[1].Type != "timestamp" {
		t.Errorf("replaced table: %+v, %v", d, err)
	}
}
