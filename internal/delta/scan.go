package delta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeport/lakeport/internal/delta/dv"
	"github.com/lakeport/lakeport/internal/delta/predicate"
)

// constColumn is a column whose value is the same for every row of a file
// (CDF's _change_type, _commit_version, _commit_timestamp).
type constColumn struct {
	Field arrow.Field
}

// readPlan describes what every file of a scan produces.
type readPlan struct {
	snap       *Snapshot
	fields     []*StructField // logical top-level columns to materialize, in order
	consts     []constColumn  // appended after fields
	readSchema *arrow.Schema  // fields + consts
	outSchema  *arrow.Schema  // what the caller sees (a projection of readSchema)
	outIdx     []int          // readSchema index of each output column
	pred       *predicate.Bound
	batchSize  int
	mapping    fieldMatcher
}

// fileTask is one data file to read.
type fileTask struct {
	path            string
	partitionValues map[string]*string
	dv              *dv.Descriptor             // rows to drop
	onlyDV          *dv.Descriptor             // when set: keep only rows in onlyDV and not in dv (CDF deletion-vector diffs)
	consts          map[string]predicate.Value // by constant column name
	cdc             bool                       // a _change_data file: _change_type is stored in it
}

func (s *Snapshot) newPlan(columns []string, where string, batchSize int, consts []constColumn) (*readPlan, error) {
	if batchSize <= 0 {
		batchSize = DefaultBatchSize
	}
	p := &readPlan{snap: s, consts: consts, batchSize: batchSize, mapping: fieldMatcher{s.mapping}}
	full := append(arrowFields(s.schema), constFields(consts)...)
	fullSchema := arrow.NewSchema(full, nil)
	var pred *predicate.Bound
	if strings.TrimSpace(where) != "" {
		e, err := predicate.Parse(where)
		if err != nil {
			return nil, fmt.Errorf("where: %w", err)
		}
		pred, err = predicate.Bind(e, fullSchema)
		if err != nil {
			return nil, fmt.Errorf("where: %w", err)
		}
	}
	p.pred = pred
	// output columns
	var out []string
	if len(columns) == 0 {
		for _, f := range full {
			out = append(out, f.Name)
		}
	} else {
		for _, c := range columns {
			c = strings.TrimSpace(c)
			idx := fieldIndexFold(full, c)
			if idx < 0 {
				return nil, fmt.Errorf("%s: unknown column %q (columns: %s)", s.table.location, c, strings.Join(fieldNames(full), ", "))
			}
			out = append(out, full[idx].Name)
		}
	}
	// materialized = output columns plus the predicate's top-level columns, in table order
	need := map[string]bool{}
	for _, c := range out {
		need[c] = true
	}
	if pred != nil {
		for _, c := range pred.Columns() {
			top := strings.SplitN(c, ".", 2)[0]
			if i := fieldIndexFold(full, top); i >= 0 {
				need[full[i].Name] = true
			}
		}
	}
	var readFields []arrow.Field
	for _, f := range s.schema.Fields {
		if need[f.Name] {
			p.fields = append(p.fields, f)
			readFields = append(readFields, arrow.Field{Name: f.Name, Type: arrowTypeOf(f), Nullable: f.Nullable})
		}
	}
	var keptConsts []constColumn
	for _, c := range consts {
		if need[c.Field.Name] {
			keptConsts = append(keptConsts, c)
			readFields = append(readFields, c.Field)
		}
	}
	p.consts = keptConsts
	p.readSchema = arrow.NewSchema(readFields, nil)
	var outFields []arrow.Field
	for _, c := range out {
		i := p.readSchema.FieldIndices(c)[0]
		p.outIdx = append(p.outIdx, i)
		outFields = append(outFields, readFields[i])
	}
	p.outSchema = arrow.NewSchema(outFields, nil)
	if pred != nil {
		// rebind against the materialized schema so Filter finds its columns
		e, _ := predicate.Parse(where)
		rb, err := predicate.Bind(e, p.readSchema)
		if err != nil {
			return nil, fmt.Errorf("where: %w", err)
		}
		p.pred = rb
	}
	return p, nil
}

func constFields(cs []constColumn) []arrow.Field {
	out := make([]arrow.Field, len(cs))
	for i, c := range cs {
		out[i] = c.Field
	}
	return out
}

func fieldIndexFold(fs []arrow.Field, name string) int {
	for i, f := range fs {
		if f.Name == name {
			return i
		}
	}
	for i, f := range fs {
		if strings.EqualFold(f.Name, name) {
			return i
		}
	}
	return -1
}

func fieldNames(fs []arrow.Field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

func (s *Snapshot) scan(ctx context.Context, opts ScanOptions) (Batches, error) {
	p, err := s.newPlan(opts.Columns, opts.Where, opts.BatchSize, nil)
	if err != nil {
		return nil, err
	}
	var tasks []fileTask
	for _, f := range s.prune(p.pred) {
		tasks = append(tasks, fileTask{path: f.Path, partitionValues: f.PartitionValues, dv: f.DeletionVector})
	}
	return newPipeline(ctx, p, tasks, opts.Limit, opts.Ordered), nil
}

// prune keeps the files whose partition values and statistics may satisfy pred.
func (s *Snapshot) prune(pred *predicate.Bound) []*Add {
	if pred == nil {
		return s.files
	}
	var out []*Add
	for _, f := range s.files {
		if pred.MayMatch(newFileStats(s, f)) {
			out = append(out, f)
		}
	}
	return out
}

// FilesFor returns the live files a scan with this predicate reads: those
// that partition pruning and min/max statistics cannot rule out.
func (s *Snapshot) FilesFor(where string) ([]*Add, error) {
	p, err := s.newPlan(nil, where, 0, nil)
	if err != nil {
		return nil, err
	}
	return s.prune(p.pred), nil
}

// ---- reading one file ----

func (t *Table) openData(ctx context.Context, logPath string, batchSize int) (*parquetFile, func(), error) {
	b, key, done, err := t.locate(ctx, logPath)
	if err != nil {
		return nil, nil, err
	}
	pf, err := openParquet(ctx, b, key, batchSize)
	if err != nil {
		done()
		return nil, nil, err
	}
	return pf, done, nil
}

// loadDV reads a deletion vector, resolving its path against the table root.
func (t *Table) loadDV(ctx context.Context, d *dv.Descriptor) (*dv.Bitmap, error) {
	if d == nil {
		return nil, nil
	}
	bm, err := dv.Load(ctx, *d, func(ctx context.Context, p string, absolute bool, off, n int64) ([]byte, error) {
		if !absolute {
			return t.bucket.ReadRange(ctx, p, off, n)
		}
		b, key, done, err := t.locate(ctx, p)
		if err != nil {
			return nil, err
		}
		defer done()
		return b.ReadRange(ctx, key, off, n)
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.location, err)
	}
	return bm, nil
}

// readFile streams one file's batches into emit.
func (p *readPlan) readFile(ctx context.Context, task fileTask, emit func(arrow.RecordBatch) error) error {
	t := p.snap.table
	drop, err := t.loadDV(ctx, task.dv)
	if err != nil {
		return err
	}
	only, err := t.loadDV(ctx, task.onlyDV)
	if err != nil {
		return err
	}
	pf, closeExtra, err := t.openData(ctx, task.path, p.batchSize)
	if err != nil {
		return fmt.Errorf("%s: data file %s: %w", t.location, task.path, err)
	}
	defer closeExtra()
	defer pf.Close()
	fileSchema, err := pf.reader.Schema()
	if err != nil {
		return err
	}
	// which file fields feed which logical fields: flat columns of common
	// types and INT96 timestamps are read directly (directColumn), the others
	// through pqarrow's record reader
	srcIdx := make([]int, len(p.fields)) // index into the columns of a batch, or -1
	var fileFields []int                 // top-level file fields read through pqarrow
	type directSource struct {
		field int // logical field index, or -1 for the change type column
		src   columnSource
	}
	var direct []directSource
	defer func() {
		for _, d := range direct {
			d.src.close()
		}
	}()
	for i, f := range p.fields {
		srcIdx[i] = -1
		if p.snap.isPartitionColumn(f.Name) {
			continue
		}
		if j := p.mapping.find(fileSchema.Fields(), f); j >= 0 {
			if src := pf.directColumn(j); src != nil {
				direct = append(direct, directSource{field: i, src: src})
				continue
			}
			srcIdx[i] = len(fileFields)
			fileFields = append(fileFields, j)
		}
	}
	changeTypeIdx := -1
	if task.cdc {
		j := fileSchema.FieldIndices(ChangeTypeColumn)
		if len(j) == 0 {
			return fmt.Errorf("%s: change data file %s has no %s column", t.location, task.path, ChangeTypeColumn)
		}
		if src := pf.directColumn(j[0]); src != nil {
			direct = append(direct, directSource{field: -1, src: src})
		} else {
			changeTypeIdx = len(fileFields)
			fileFields = append(fileFields, j[0])
		}
	}
	var rowBase int64
	produce := func(n int, cols []arrow.Array) error {
		if len(direct) > 0 {
			cols = append(make([]arrow.Array, 0, len(cols)+len(direct)), cols...)
			for _, d := range direct {
				arr, err := d.src.next(n)
				if err != nil {
					name := ChangeTypeColumn
					if d.field >= 0 {
						name = p.fields[d.field].Name
					}
					return fmt.Errorf("%s: data file %s: column %q: %w", t.location, task.path, name, err)
				}
				defer arr.Release()
				if d.field >= 0 {
					srcIdx[d.field] = len(cols)
				} else {
					changeTypeIdx = len(cols)
				}
				cols = append(cols, arr)
			}
		}
		rec, err := p.assemble(ctx, task, n, cols, srcIdx, changeTypeIdx)
		if err != nil {
			return err
		}
		rec, err = p.selectRows(rec, rowBase, drop, only, task.onlyDV != nil)
		rowBase += int64(n)
		if err != nil || rec == nil {
			return err
		}
		if p.pred != nil {
			filtered, err := p.pred.Filter(rec, memory.DefaultAllocator)
			rec.Release()
			if err != nil {
				return fmt.Errorf("%s: %w", t.location, err)
			}
			rec = filtered
		}
		if rec.NumRows() == 0 {
			rec.Release()
			return nil
		}
		return emit(p.project(rec))
	}
	if len(fileFields) == 0 {
		// nothing through pqarrow: batches of batchSize rows, read by the
		// direct columns (or none: then only the row count matters)
		total := pf.NumRows()
		for done := int64(0); done < total; {
			n := min(int64(p.batchSize), total-done)
			if err := produce(int(n), nil); err != nil {
				return err
			}
			done += n
		}
		return nil
	}
	rr, err := pf.reader.GetRecordReader(ctx, pf.leaves(fileFields), nil)
	if err != nil {
		return fmt.Errorf("%s: data file %s: %w", t.location, task.path, err)
	}
	defer rr.Release()
	for {
		rec, err := rr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: data file %s: %w", t.location, task.path, err)
		}
		if rec == nil {
			return nil
		}
		cols := rec.Columns()
		if err := produce(int(rec.NumRows()), cols); err != nil {
			return err
		}
	}
}

// assemble builds a record of readSchema from the file's columns, partition values and constants.
func (p *readPlan) assemble(ctx context.Context, task fileTask, n int, fileCols []arrow.Array, srcIdx []int, changeTypeIdx int) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, 0, len(p.fields)+len(p.consts))
	release := func() {
		for _, c := range cols {
			c.Release()
		}
	}
	for i, f := range p.fields {
		var col arrow.Array
		switch {
		case p.snap.isPartitionColumn(f.Name):
			v, err := p.snap.parsePartition(task.partitionValues, f)
			if err != nil {
				release()
				return nil, fmt.Errorf("%s: partition column %q of %s: %w", p.snap.table.location, f.Name, task.path, err)
			}
			c, err := repeatValue(arrowTypeOf(f), v, n)
			if err != nil {
				release()
				return nil, err
			}
			col = c
		case srcIdx[i] < 0:
			col = array.MakeArrayOfNull(memory.DefaultAllocator, arrowTypeOf(f), n)
		default:
			c, err := p.mapping.conform(ctx, fileCols[srcIdx[i]], f.Type)
			if err != nil {
				release()
				return nil, fmt.Errorf("%s: column %q in %s: %w", p.snap.table.location, f.Name, task.path, err)
			}
			col = c
		}
		cols = append(cols, col)
	}
	for _, c := range p.consts {
		if c.Field.Name == ChangeTypeColumn && changeTypeIdx >= 0 {
			col, err := p.mapping.conform(ctx, fileCols[changeTypeIdx], &PrimitiveType{Name: "string"})
			if err != nil {
				release()
				return nil, err
			}
			cols = append(cols, col)
			continue
		}
		col, err := repeatValue(c.Field.Type, task.consts[c.Field.Name], n)
		if err != nil {
			release()
			return nil, err
		}
		cols = append(cols, col)
	}
	rec := array.NewRecordBatch(p.readSchema, cols, int64(n))
	release()
	return rec, nil
}

func repeatValue(dt arrow.DataType, v predicate.Value, n int) (arrow.Array, error) {
	if v.Kind == predicate.KindNull {
		return array.MakeArrayOfNull(memory.DefaultAllocator, dt, n), nil
	}
	b := array.NewBuilder(memory.DefaultAllocator, dt)
	defer b.Release()
	b.Reserve(n)
	for i := 0; i < n; i++ {
		if err := v.AppendTo(b); err != nil {
			return nil, err
		}
	}
	return b.NewArray(), nil
}

// selectRows drops rows deleted by the deletion vector (or, for DV diffs, keeps only
// rows in only and not in drop). rowBase is the file row index of the record's first row.
func (p *readPlan) selectRows(rec arrow.RecordBatch, rowBase int64, drop, only *dv.Bitmap, diff bool) (arrow.RecordBatch, error) {
	if drop == nil && !diff {
		return rec, nil
	}
	n := int(rec.NumRows())
	keep := make([]bool, n)
	kept := 0
	for i := 0; i < n; i++ {
		row := uint64(rowBase) + uint64(i)
		k := drop == nil || !drop.Contains(row)
		if diff {
			k = k && only != nil && only.Contains(row)
		}
		keep[i] = k
		if k {
			kept++
		}
	}
	if kept == n {
		return rec, nil
	}
	defer rec.Release()
	if kept == 0 {
		return nil, nil
	}
	return takeRows(rec, keep)
}

func takeRows(rec arrow.RecordBatch, keep []bool) (arrow.RecordBatch, error) {
	b := array.NewBooleanBuilder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(keep, nil)
	mask := b.NewBooleanArray()
	defer mask.Release()
	return filterRecord(rec, mask)
}

// project keeps the output columns of a readSchema record.
func (p *readPlan) project(rec arrow.RecordBatch) arrow.RecordBatch {
	if len(p.outIdx) == int(rec.NumCols()) {
		same := true
		for i, j := range p.outIdx {
			if i != j {
				same = false
				break
			}
		}
		if same {
			return rec
		}
	}
	cols := make([]arrow.Array, len(p.outIdx))
	for i, j := range p.outIdx {
		cols[i] = rec.Column(j)
	}
	out := array.NewRecordBatch(p.outSchema, cols, rec.NumRows())
	rec.Release()
	return out
}

// ---- the ordered, parallel pipeline ----

type item struct {
	rec arrow.RecordBatch
	err error
}

// pipeline reads files in parallel and yields their batches in file order.
// At most `parallel` files are open at once and each holds at most two
// batches ahead, so memory is bounded by the batch size.
type pipeline struct {
	schema  *arrow.Schema
	results chan chan item
	cur     chan item
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	limit   int64
	emitted int64
	done    bool
}

func newPipeline(ctx context.Context, p *readPlan, tasks []fileTask, limit int64, ordered bool) *pipeline {
	parallel := max(1, runtime.GOMAXPROCS(0))
	ctx, cancel := context.WithCancel(ctx)
	pl := &pipeline{schema: p.outSchema, cancel: cancel, limit: limit}
	read := func(task fileTask, ch chan<- item) {
		err := p.readFile(ctx, task, func(rec arrow.RecordBatch) error {
			select {
			case ch <- item{rec: rec}:
				return nil
			case <-ctx.Done():
				rec.Release()
				return ctx.Err()
			}
		})
		if err != nil && ctx.Err() == nil {
			select {
			case ch <- item{err: err}:
			case <-ctx.Done():
			}
		}
	}
	if !ordered {
		// workers share one output channel: batches come in whatever order
		// the files finish, and every core stays busy
		out := make(chan item, parallel)
		pl.results = make(chan chan item, 1)
		pl.results <- out
		close(pl.results)
		next := make(chan fileTask)
		pl.wg.Add(1)
		go func() {
			defer pl.wg.Done()
			defer close(next)
			for _, task := range tasks {
				select {
				case next <- task:
				case <-ctx.Done():
					return
				}
			}
		}()
		var workers sync.WaitGroup
		for w := 0; w < parallel; w++ {
			workers.Add(1)
			pl.wg.Add(1)
			go func() {
				defer pl.wg.Done()
				defer workers.Done()
				for task := range next {
					read(task, out)
				}
			}()
		}
		go func() { workers.Wait(); close(out) }()
		return pl
	}
	// ordered: one channel per file, handed to the consumer in file order;
	// a few files are read ahead, each at most one batch ahead
	pl.results = make(chan chan item, max(1, parallel-1))
	pl.wg.Add(1)
	go func() {
		defer pl.wg.Done()
		defer close(pl.results)
		for _, task := range tasks {
			ch := make(chan item, 1)
			select {
			case pl.results <- ch:
			case <-ctx.Done():
				return
			}
			pl.wg.Add(1)
			go func(task fileTask) {
				defer pl.wg.Done()
				defer close(ch)
				read(task, ch)
			}(task)
		}
	}()
	return pl
}

func (pl *pipeline) Schema() *arrow.Schema { return pl.schema }

func (pl *pipeline) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for !pl.done {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if pl.cur == nil {
			ch, ok := <-pl.results
			if !ok {
				pl.done = true
				break
			}
			pl.cur = ch
		}
		it, ok := <-pl.cur
		if !ok {
			pl.cur = nil
			continue
		}
		if it.err != nil {
			pl.done = true
			pl.Close()
			return nil, it.err
		}
		rec := it.rec
		if pl.limit > 0 {
			left := pl.limit - pl.emitted
			if rec.NumRows() >= left {
				if rec.NumRows() > left {
					s := rec.NewSlice(0, left)
					rec.Release()
					rec = s
				}
				pl.done = true
				pl.Close()
			}
		}
		pl.emitted += rec.NumRows()
		return rec, nil
	}
	return nil, io.EOF
}

func (pl *pipeline) Close() error {
	pl.cancel()
	go func() {
		// drain so blocked workers can exit and release their batches
		for ch := range pl.results {
			for it := range ch {
				if it.rec != nil {
					it.rec.Release()
				}
			}
		}
	}()
	if pl.cur != nil {
		cur := pl.cur
		pl.cur = nil
		go func() {
			for it := range cur {
				if it.rec != nil {
					it.rec.Release()
				}
			}
		}()
	}
	return nil
}
