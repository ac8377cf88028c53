package delta_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeport/lakeport/internal/delta"
)

func logActions(t *testing.T, dir string, v int) []map[string]json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "_delta_log", strings.Repeat("0", 20-len(itoa(v)))+itoa(v)+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]json.RawMessage
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func itoa(v int) string { b, _ := json.Marshal(v); return string(b) }

func TestCreateSmallestProtocol(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		props  map[string]string
		reader int
		writer int
		feats  string
	}{
		{nil, 1, 2, ""},
		{map[string]string{"delta.enableChangeDataFeed": "true"}, 1, 4, ""},
		{map[string]string{"delta.columnMapping.mode": "name"}, 2, 5, ""},
		{map[string]string{"delta.enableInCommitTimestamps": "true"}, 1, 7, "appendOnly,inCommitTimestamp,invariants"},
	}
	for _, c := range cases {
		dir := filepath.Join(t.TempDir(), "t")
		tbl, err := delta.Create(ctx, dir, delta.TableSpec{Schema: modelSchema, PartitionColumns: []string{"part"}, Properties: c.props})
		if err != nil {
			t.Fatal(err)
		}
		snap, err := tbl.Snapshot(ctx, delta.Latest())
		if err != nil {
			t.Fatal(err)
		}
		p := snap.Protocol()
		if p.MinReaderVersion != c.reader || p.MinWriterVersion != c.writer || strings.Join(p.WriterFeatures, ",") != c.feats {
			t.Errorf("%v: protocol %+v, want reader %d writer %d features %q", c.props, p, c.reader, c.writer, c.feats)
		}
		if _, err := delta.Create(ctx, dir, delta.TableSpec{Schema: modelSchema}); err == nil || !strings.Contains(err.Error(), "already exists") {
			t.Errorf("second create: %v", err)
		}
	}
	for _, bad := range []delta.TableSpec{
		{Schema: modelSchema, PartitionColumns: []string{"nope"}},
		{Schema: modelSchema, Properties: map[string]string{"delta.enableChangeDataFeed": "yes"}},
		{Schema: arrow.NewSchema(nil, nil)},
		{Schema: arrow.NewSchema([]arrow.Field{{Name: "u", Type: arrow.PrimitiveTypes.Uint32}}, nil)},
	} {
		if _, err := delta.Create(ctx, filepath.Join(t.TempDir(), "t"), bad); err == nil {
			t.Errorf("create %+v: no error", bad)
		}
	}
}

func TestIdempotentWrites(t *testing.T) {
	ctx := context.Background()
	tbl := newModelTable(t, ctx, filepath.Join(t.TempDir(), "t"))
	rec := modelBatch([]mrow{{1, "a", 1, "x"}}, nil)
	defer rec.Release()
	o := delta.WriteOptions{AppID: "job-7", AppVersion: 3}
	first, err := tbl.Append(ctx, delta.RecordsOf(modelSchema, rec), o)
	if err != nil || first.Skipped {
		t.Fatalf("first write: %+v, %v", first, err)
	}
	for _, v := range []int64{3, 2} {
		o.AppVersion = v
		again, err := tbl.Append(ctx, delta.RecordsOf(modelSchema, rec), o)
		if err != nil || !again.Skipped || again.Version != first.Version {
			t.Errorf("retried write (version %d): %+v, %v; want skipped", v, again, err)
		}
	}
	snap, _ := tbl.Snapshot(ctx, delta.Latest())
	if v, ok := snap.AppTransactionVersion("job-7"); !ok || v != 3 {
		t.Errorf("txn = %d, %v", v, ok)
	}
	b, _ := snap.Scan(ctx, delta.ScanOptions{})
	if n := len(tableRows(t, ctx, b)); n != 1 {
		t.Errorf("%d rows after retries, want 1", n)
	}
}

func TestSchemaEvolution(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []string{"none", "name"} {
		dir := filepath.Join(t.TempDir(), "t")
		tbl, err := delta.Create(ctx, dir, delta.TableSpec{Schema: modelSchema, Properties: map[string]string{"delta.columnMapping.mode": mode}})
		if err != nil {
			t.Fatal(err)
		}
		wide := arrow.NewSchema(append(modelSchema.Fields(), arrow.Field{Name: "extra", Type: arrow.BinaryTypes.String, Nullable: true}), nil)
		b := array.NewRecordBuilder(memory.DefaultAllocator, wide)
		b.Field(0).(*array.Int64Builder).Append(1)
		b.Field(1).(*array.StringBuilder).Append("a")
		b.Field(2).(*array.Int64Builder).Append(5)
		b.Field(3).(*array.StringBuilder).Append("n")
		b.Field(4).(*array.StringBuilder).Append("new!")
		rec := b.NewRecordBatch()
		b.Release()
		_, err = tbl.Append(ctx, delta.RecordsOf(wide, rec), delta.WriteOptions{})
		var ide *delta.InvalidDataError
		if !errors.As(err, &ide) || ide.Column != "extra" {
			t.Errorf("%s: append with an extra column and no merge-schema: %v", mode, err)
		}
		if _, err := tbl.Append(ctx, delta.RecordsOf(wide, rec), delta.WriteOptions{MergeSchema: true}); err != nil {
			t.Fatalf("%s: merge-schema append: %v", mode, err)
		}
		rec.Release()
		snap, _ := tbl.Snapshot(ctx, delta.Latest())
		if f := snap.Schema().Field("extra"); f == nil || !f.Nullable {
			t.Fatalf("%s: schema after merge-schema: %v", mode, snap.Schema())
		}
		bs, _ := snap.Scan(ctx, delta.ScanOptions{Columns: []string{"extra"}})
		_, recs, err := drain(ctx, bs)
		if err != nil || len(recs) != 1 || recs[0].Column(0).(*array.String).Value(0) != "new!" {
			t.Errorf("%s: reading the new column: %v", mode, err)
		}
		// an int32 column written into the long column is a safe widening; a string is not
		narrow := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int32}, {Name: "val", Type: arrow.BinaryTypes.String}}, nil)
		nb := array.NewRecordBuilder(memory.DefaultAllocator, narrow)
		nb.Field(0).(*array.Int32Builder).Append(2)
		nb.Field(1).(*array.StringBuilder).Append("oops")
		nrec := nb.NewRecordBatch()
		nb.Release()
		_, err = tbl.Append(ctx, delta.RecordsOf(narrow, nrec), delta.WriteOptions{})
		nrec.Release()
		if !errors.As(err, &ide) || ide.Column != "val" || !strings.Contains(err.Error(), "not a safe widening") {
			t.Errorf("%s: string into long: %v", mode, err)
		}
		// nothing was half-written: the failed appends left no commit
		after, _ := tbl.Snapshot(ctx, delta.Latest())
		if after.Version() != snap.Version() {
			t.Errorf("%s: a failed append committed version %d", mode, after.Version())
		}
	}
}

func TestNotNullAndAppendOnly(t *testing.T) {
	ctx := context.Background()
	tbl, err := delta.Create(ctx, filepath.Join(t.TempDir(), "t"), delta.TableSpec{Schema: modelSchema, Properties: map[string]string{"delta.appendOnly": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, modelSchema)
	b.Field(0).AppendNull()
	b.Field(1).(*array.StringBuilder).Append("a")
	b.Field(2).(*array.Int64Builder).Append(1)
	b.Field(3).(*array.StringBuilder).Append("x")
	rec := b.NewRecordBatch()
	b.Release()
	defer rec.Release()
	_, err = tbl.Append(ctx, delta.RecordsOf(modelSchema, rec), delta.WriteOptions{})
	if err == nil || !strings.Contains(err.Error(), `"id"`) || !strings.Contains(err.Error(), "NOT NULL") {
		t.Errorf("null in a NOT NULL column: %v", err)
	}
	if _, err := tbl.Delete(ctx, "val > 0", delta.WriteOptions{}); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("delete on an append-only table: %v", err)
	}
}

func TestInCommitTimestamps(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "t")
	tbl, err := delta.Create(ctx, dir, delta.TableSpec{Schema: modelSchema, Properties: map[string]string{"delta.enableInCommitTimestamps": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	var last int64
	for i := 0; i < 5; i++ {
		rec := modelBatch([]mrow{{int64(i), "a", 1, "x"}}, nil)
		if _, err := tbl.Append(ctx, delta.RecordsOf(modelSchema, rec), delta.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		acts := logActions(t, dir, i+1)
		var ci struct {
			InCommitTimestamp *int64 `json:"inCommitTimestamp"`
		}
		if _, first := acts[0]["commitInfo"]; !first {
			t.Fatalf("commit %d: commitInfo is not the first action", i+1)
		}
		json.Unmarshal(acts[0]["commitInfo"], &ci)
		if ci.InCommitTimestamp == nil || *ci.InCommitTimestamp <= last {
			t.Fatalf("commit %d: inCommitTimestamp %v not increasing past %d", i+1, ci.InCommitTimestamp, last)
		}
		last = *ci.InCommitTimestamp
	}
	snap, _ := tbl.Snapshot(ctx, delta.Latest())
	if snap.Timestamp().UnixMilli() != last {
		t.Errorf("snapshot timestamp %v, want the in-commit timestamp %d", snap.Timestamp(), last)
	}
}

func TestCheckpointsAndReplayAgree(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "t")
	tbl, err := delta.Create(ctx, dir, delta.TableSpec{Schema: modelSchema, PartitionColumns: []string{"part"}, Properties: map[string]string{"delta.checkpointInterval": "3"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 7; i++ {
		rec := modelBatch([]mrow{{int64(i), []string{"a", "b"}[i%2], int64(i), "x"}}, nil)
		if _, err := tbl.Append(ctx, delta.RecordsOf(modelSchema, rec), delta.WriteOptions{AppID: "app", AppVersion: int64(i)}); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	if _, err := tbl.Delete(ctx, "id = 2", delta.WriteOptions{}); err != nil { // version 8
		t.Fatal(err)
	}
	for _, v := range []int{3, 6} {
		if _, err := os.Stat(filepath.Join(dir, "_delta_log", strings.Repeat("0", 20-len(itoa(v)))+itoa(v)+".checkpoint.parquet")); err != nil {
			t.Errorf("no checkpoint at version %d: %v", v, err)
		}
	}
	lc, err := os.ReadFile(filepath.Join(dir, "_delta_log", "_last_checkpoint"))
	if err != nil || !strings.Contains(string(lc), `"version":6`) {
		t.Errorf("_last_checkpoint = %s, %v", lc, err)
	}
	withCP := snapshotRows(t, ctx, dir)
	snap, _ := tbl.Snapshot(ctx, delta.Latest())
	if v, _ := snap.AppTransactionVersion("app"); v != 6 {
		t.Errorf("txn through the checkpoint = %d, want 6", v)
	}
	// the same table without its checkpoints replays to the same rows
	plain := filepath.Join(t.TempDir(), "plain")
	copyTree(t, dir, plain)
	cps, _ := filepath.Glob(filepath.Join(plain, "_delta_log", "*.checkpoint.parquet"))
	for _, c := range cps {
		os.Remove(c)
	}
	os.Remove(filepath.Join(plain, "_delta_log", "_last_checkpoint"))
	if got := snapshotRows(t, ctx, plain); strings.Join(got, "\n") != strings.Join(withCP, "\n") {
		t.Errorf("checkpoint and log replay disagree:\n%v\n%v", withCP, got)
	}
}

func TestVacuumKeepsWhatSnapshotsNeed(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "t")
	tbl := newModelTable(t, ctx, dir)
	rec := modelBatch([]mrow{{1, "a", 1, "x"}, {2, "b", 2, "y"}}, nil)
	tbl.Append(ctx, delta.RecordsOf(modelSchema, rec), delta.WriteOptions{})
	rec.Release()
	if _, err := tbl.Delete(ctx, "id = 1", delta.WriteOptions{}); err != nil { // rewrites partition a's file... removes it whole
		t.Fatal(err)
	}
	orphan := filepath.Join(dir, "part=a", "part-99999-orphan.c000.snappy.parquet")
	os.WriteFile(orphan, []byte("junk"), 0o644)
	old := time.Now().Add(-30 * 24 * time.Hour)
	os.Chtimes(orphan, old, old)
	// default retention (7 days): the recently removed file stays (time travel), the old orphan goes
	res, err := tbl.Vacuum(ctx, delta.VacuumOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 || !strings.Contains(res.Files[0], "orphan") {
		t.Errorf("vacuum deleted %v, want only the old orphan", res.Files)
	}
	if _, err := tbl.Snapshot(ctx, delta.AtVersion(1)); err != nil {
		t.Fatal(err)
	}
	s1, _ := tbl.Snapshot(ctx, delta.AtVersion(1))
	if b, err := s1.Scan(ctx, delta.ScanOptions{}); err != nil || len(tableRows(t, ctx, b)) != 2 {
		t.Errorf("time travel to version 1 after vacuum: %v", err)
	}
	if _, err := tbl.Vacuum(ctx, delta.VacuumOptions{Retention: time.Hour}); err == nil {
		t.Error("a retention below the table's was accepted without AllowShortRetention")
	}
	// live files are never removed, whatever the retention
	res, err = tbl.Vacuum(ctx, delta.VacuumOptions{Retention: time.Nanosecond, AllowShortRetention: true})
	if err != nil {
		t.Fatal(err)
	}
	if rows := snapshotRows(t, ctx, dir); len(rows) != 1 {
		t.Errorf("after an aggressive vacuum the latest snapshot has %d rows, want 1 (removed %v)", len(rows), res.Files)
	}
}

func TestOptimizeCompactsWithoutDataChange(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "t")
	tbl := newModelTable(t, ctx, dir)
	for i := 0; i < 6; i++ {
		rec := modelBatch([]mrow{{int64(i), []string{"a", "b"}[i%2], int64(i), "x"}}, nil)
		tbl.Append(ctx, delta.RecordsOf(modelSchema, rec), delta.WriteOptions{})
		rec.Release()
	}
	before := snapshotRows(t, ctx, dir)
	res, err := tbl.Optimize(ctx, delta.OptimizeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.FilesRemoved != 6 || res.FilesAdded != 2 {
		t.Errorf("optimize removed %d and added %d files, want 6 and 2 (one per partition)", res.FilesRemoved, res.FilesAdded)
	}
	if after := snapshotRows(t, ctx, dir); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Error("optimize changed the rows")
	}
	v := res.Version
	b, err := tbl.Changes(ctx, delta.ChangesOptions{StartVersion: &v, EndVersion: &v})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tableRows(t, ctx, b)); n != 0 {
		t.Errorf("optimize produced %d change rows, want 0", n)
	}
}
