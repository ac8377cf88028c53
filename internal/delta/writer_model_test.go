package delta_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeport/lakeport/internal/delta"
)

// The model test drives random operations against a table and an in-memory
// model, then checks every version (time travel) and the change data feed
// between random versions against the model.

var modelSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "part", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "val", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

type mrow struct {
	id   int64
	part string
	val  int64
	note string
}

func (r mrow) String() string { return fmt.Sprintf("%d|%s|%d|%s", r.id, r.part, r.val, r.note) }

type change struct {
	row  mrow
	kind string
}

func modelBatch(rows []mrow, del map[int64]bool) arrow.RecordBatch {
	schema := modelSchema
	if del != nil {
		schema = arrow.NewSchema(append(modelSchema.Fields(), arrow.Field{Name: "del", Type: arrow.FixedWidthTypes.Boolean}), nil)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.Int64Builder).Append(r.id)
		b.Field(1).(*array.StringBuilder).Append(r.part)
		b.Field(2).(*array.Int64Builder).Append(r.val)
		b.Field(3).(*array.StringBuilder).Append(r.note)
		if del != nil {
			b.Field(4).(*array.BooleanBuilder).Append(del[r.id])
		}
	}
	return b.NewRecordBatch()
}

func tableRows(t *testing.T, ctx context.Context, b delta.Batches) []string {
	t.Helper()
	defer b.Close()
	_, recs, err := drain(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rec := range recs {
		s := rec.Schema()
		get := func(name string) arrow.Array { return rec.Column(s.FieldIndices(name)[0]) }
		for i := 0; i < int(rec.NumRows()); i++ {
			r := mrow{id: get("id").(*array.Int64).Value(i), part: get("part").(*array.String).Value(i),
				val: get("val").(*array.Int64).Value(i), note: get("note").(*array.String).Value(i)}
			line := r.String()
			if idx := s.FieldIndices(delta.ChangeTypeColumn); len(idx) > 0 {
				line += " " + rec.Column(idx[0]).(*array.String).Value(i)
			}
			out = append(out, line)
		}
	}
	sort.Strings(out)
	return out
}

func modelLines(m map[int64]mrow) []string {
	var out []string
	for _, r := range m {
		out = append(out, r.String())
	}
	sort.Strings(out)
	return out
}

func changeLines(cs []change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.row.String()+" "+c.kind)
	}
	sort.Strings(out)
	return out
}

func modelOps() int {
	if n, err := strconv.Atoi(os.Getenv("LAKEPORT_MODEL_OPS")); err == nil && n > 0 {
		return n
	}
	return 30
}

func TestWriterModel(t *testing.T) {
	ctx := context.Background()
	seeds := []uint64{1, 2, 3}
	if s, err := strconv.ParseUint(os.Getenv("LAKEPORT_MODEL_SEED"), 10, 64); err == nil {
		seeds = []uint64{s}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { runModel(t, ctx, seed, modelOps()) })
	}
}

func runModel(t *testing.T, ctx context.Context, seed uint64, ops int) {
	rng := rand.New(rand.NewPCG(seed, seed))
	dir := filepath.Join(t.TempDir(), "model")
	tbl, err := delta.Create(ctx, dir, delta.TableSpec{Schema: modelSchema, PartitionColumns: []string{"part"},
		Properties: map[string]string{"delta.enableChangeDataFeed": "true", "delta.checkpointInterval": "4"}})
	if err != nil {
		t.Fatal(err)
	}
	model := map[int64]mrow{}
	history := [][]string{modelLines(model)} // per version
	changes := [][]change{nil}               // per version
	nextID := int64(1)
	parts := []string{"a", "b", "c", "d e", "x%y"}
	newRows := func(n int, part string) []mrow {
		var rows []mrow
		for i := 0; i < n; i++ {
			p := part
			if p == "" {
				p = parts[rng.IntN(len(parts))]
			}
			rows = append(rows, mrow{nextID, p, rng.Int64N(100), fmt.Sprintf("n%d", rng.IntN(1000))})
			nextID++
		}
		return rows
	}
	commit := func(res *delta.CommitResult, err error, desc string, cs []change) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", desc, err)
		}
		if res.Version == int64(len(history)-1) { // nothing committed
			if len(cs) != 0 {
				t.Fatalf("%s: expected a commit", desc)
			}
			return
		}
		if res.Version != int64(len(history)) {
			t.Fatalf("%s: committed version %d, want %d", desc, res.Version, len(history))
		}
		history = append(history, modelLines(model))
		changes = append(changes, cs)
	}
	for op := 0; op < ops; op++ {
		switch k := rng.IntN(10); {
		case k < 3: // append
			rows := newRows(1+rng.IntN(20), "")
			var cs []change
			for _, r := range rows {
				model[r.id] = r
				cs = append(cs, change{r, "insert"})
			}
			rec := modelBatch(rows, nil)
			res, err := tbl.Append(ctx, delta.RecordsOf(modelSchema, rec), delta.WriteOptions{})
			rec.Release()
			commit(res, err, "append", cs)
		case k < 5: // delete where val < x (data predicate) or part = p (partition predicate)
			var where string
			var cs []change
			if rng.IntN(2) == 0 {
				x := rng.Int64N(40)
				where = fmt.Sprintf("val < %d", x)
				for id, r := range model {
					if r.val < x {
						delete(model, id)
						cs = append(cs, change{r, "delete"})
					}
				}
			} else {
				p := parts[rng.IntN(len(parts))]
				where = fmt.Sprintf("part = '%s'", p)
				for id, r := range model {
					if r.part == p {
						delete(model, id)
						cs = append(cs, change{r, "delete"})
					}
				}
			}
			res, err := tbl.Delete(ctx, where, delta.WriteOptions{})
			commit(res, err, "delete "+where, cs)
		case k < 6: // replace a partition (backfill)
			p := parts[rng.IntN(len(parts))]
			var cs []change
			for id, r := range model {
				if r.part == p {
					delete(model, id)
					cs = append(cs, change{r, "delete"})
				}
			}
			rows := newRows(1+rng.IntN(10), p)
			for _, r := range rows {
				model[r.id] = r
				cs = append(cs, change{r, "insert"})
			}
			rec := modelBatch(rows, nil)
			res, err := tbl.ReplaceWhere(ctx, fmt.Sprintf("part = '%s'", p), delta.RecordsOf(modelSchema, rec), delta.WriteOptions{})
			rec.Release()
			commit(res, err, "replace where part = "+p, cs)
		case k < 9: // merge: update some, delete some, insert some
			var src []mrow
			del := map[int64]bool{}
			var cs []change
			for id, r := range model {
				switch rng.IntN(6) {
				case 0:
					nr := r
					nr.val = rng.Int64N(100)
					nr.note = "upd"
					if rng.IntN(3) == 0 {
						nr.part = parts[rng.IntN(len(parts))] // moves partition
					}
					src = append(src, nr)
					model[id] = nr
					cs = append(cs, change{r, "update_preimage"}, change{nr, "update_postimage"})
				case 1:
					src = append(src, r)
					del[id] = true
					delete(model, id)
					cs = append(cs, change{r, "delete"})
				}
			}
			for _, r := range newRows(rng.IntN(5), "") {
				src = append(src, r)
				model[r.id] = r
				cs = append(cs, change{r, "insert"})
			}
			if len(src) == 0 {
				continue
			}
			rec := modelBatch(src, del)
			res, err := tbl.Merge(ctx, delta.RecordsOf(rec.Schema(), rec), delta.MergeOptions{Keys: []string{"id"}, DeleteWhen: "del = true"}, delta.WriteOptions{})
			rec.Release()
			commit(res, err, "merge", cs)
		default: // overwrite
			var cs []change
			for _, r := range model {
				cs = append(cs, change{r, "delete"})
			}
			model = map[int64]mrow{}
			rows := newRows(rng.IntN(15), "")
			for _, r := range rows {
				model[r.id] = r
				cs = append(cs, change{r, "insert"})
			}
			rec := modelBatch(rows, nil)
			res, err := tbl.Overwrite(ctx, delta.RecordsOf(modelSchema, rec), delta.WriteOptions{})
			rec.Release()
			commit(res, err, "overwrite", cs)
		}
		latest := int64(len(history) - 1)
		check := func(v int64) {
			snap, err := tbl.Snapshot(ctx, delta.AtVersion(v))
			if err != nil {
				t.Fatalf("op %d: version %d: %v", op, v, err)
			}
			b, err := snap.Scan(ctx, delta.ScanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := tableRows(t, ctx, b); fmt.Sprint(got) != fmt.Sprint(history[v]) {
				t.Fatalf("op %d: version %d differs from the model:\ngot  %v\nwant %v", op, v, got, history[v])
			}
		}
		check(latest)
		check(rng.Int64N(latest + 1))
		if latest >= 1 {
			a := 1 + rng.Int64N(latest)
			bv := a + rng.Int64N(latest-a+1)
			b, err := tbl.Changes(ctx, delta.ChangesOptions{StartVersion: &a, EndVersion: &bv})
			if err != nil {
				t.Fatalf("changes %d..%d: %v", a, bv, err)
			}
			var want []change
			for v := a; v <= bv; v++ {
				want = append(want, changes[v]...)
			}
			if got, w := tableRows(t, ctx, b), changeLines(want); fmt.Sprint(got) != fmt.Sprint(w) {
				t.Fatalf("op %d: changes %d..%d differ:\ngot  %v\nwant %v", op, a, bv, got, w)
			}
		}
	}
	t.Logf("seed %d: %d versions, %d rows at the end", seed, len(history), len(model))
}
