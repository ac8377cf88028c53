package datafile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/google/uuid"

	"github.com/lakeport/lakeport/internal/blob"
)

// Options configure a Writer.
type Options struct {
	PartitionColumns []string // top-level column names of the records (physical names) to partition by, in order
	Compression      string   // "snappy" (default), "zstd", "gzip", "uncompressed"
	TargetFileSize   int64    // roll to a new file past this many bytes; 0 = 128 MiB
	RowGroupSize     int64    // max rows per row group; 0 = 1M rows (row groups are also cut at RowGroupBytes)
	Dir              string   // key prefix inside the table: "" for data files, "_change_data" for change data files
	NoStats          bool     // change data files carry no stats
	StatsColumns     int      // leading leaf columns with stats (delta.dataSkippingNumIndexedCols); 0 = 32; -1 = all
}

// File is one finished data file, ready for an add (or cdc) action.
type File struct {
	Path             string             // relative to the table root, URL-encoded as in the log
	Key              string             // the blob key written (url.PathUnescape(Path))
	PartitionValues  map[string]*string // partition column -> Delta-serialized value (nil = null)
	Size             int64
	NumRecords       int64
	Stats            string // Delta stats JSON; "" when Options.NoStats
	ModificationTime int64  // ms since the epoch
}

// Defaults and memory bounds (see the package documentation).
const (
	DefaultTargetFileSize = 128 << 20
	DefaultRowGroupSize   = 1 << 20
	DefaultStatsColumns   = 32
	// RowGroupBytes cuts a row group once the batches gathered for it take
	// this much Arrow memory: a file holds its next row group's batches
	// until it writes them out, column by column.
	RowGroupBytes = 24 << 20
	// MaxOpenFiles bounds the files open at once (one per partition being
	// written); past it the least recently written file is finished.
	MaxOpenFiles = 16
	// MaxBufferedBytes bounds the batches held over all open files; past it
	// the largest pending row group is written out.
	MaxBufferedBytes = 96 << 20
)

// Writer writes record batches as Delta data files. It is not safe for
// concurrent use. After an error from Write (other than a refused record,
// see the package documentation) or from Close the Writer is unusable; call
// Abort to remove what it wrote. A Writer that was written to must be
// closed or aborted: it runs a goroutine until then.
type Writer struct {
	// Set up by NewWriter (props: by the first Write, before the worker starts).
	b          *blob.Bucket
	schema     *arrow.Schema // the records'
	dataSchema *arrow.Schema // stored in the Parquet files
	dataIdx    []int         // record column of each data field
	partIdx    []int         // record column of each partition column
	opts       Options
	target     int64
	ext        string // ".snappy", "" for uncompressed
	prefix     string // "part" or "cdc"
	baseProps  []parquet.WriterProperty
	props      *parquet.WriterProperties
	tuned      bool // props adapted to the first batch (dictionary choices)
	arrowProps pqarrow.ArrowWriterProperties
	// limits, copied from the constants (tests lower them)
	rowGroupBytes    int64
	rowGroupRows     int64
	maxOpenFiles     int
	maxBufferedBytes int64

	// The caller's: partitions seen (a partition's cur belongs to the worker).
	parts map[string]*partition

	// The worker's until it exits (done is closed), then Close's or Abort's.
	open     []*dataFile // open files, in no order
	files    []File      // finished files, with their sequence numbers in seqs
	seqs     []int
	created  []string // every key a blob writer was opened for
	seq      int
	tick     uint64
	peakOpen int // most files open at once (for tests)
	// bytes per row of the finished files, to split batches near the target size
	doneBytes, doneRows int64
	// Arrow bytes of the row groups completed, and the Parquet bytes they took
	doneArrow, doneParquet int64

	// The worker goroutine writes the batches Write queues on jobs.
	jobs    chan job
	done    chan struct{}
	started bool
	stopped bool // jobs is closed
	closed  bool // by Close or Abort
	abort   atomic.Bool
	mu      sync.Mutex
	err     error // first failure (of Write or of the worker): the writer is unusable
}

// job is a batch of one partition's rows (data columns only) for the worker.
type job struct {
	ctx  context.Context // the Write call's, for its values only
	part *partition
	rec  arrow.RecordBatch
}

type partition struct {
	values map[string]*string
	dir    string // escaped "a=1/b=x" or ""
	cur    *dataFile
}

// dataFile is one open data file.
type dataFile struct {
	part    *partition
	seq     int
	key     string
	cancel  context.CancelFunc
	bw      io.WriteCloser
	cw      *countingWriter
	fw      *pqarrow.FileWriter
	stats   *fileStats
	rows    int64
	lastUse uint64
	// The row group being gathered: batches kept (retained) until it is
	// written, column by column, when full.
	pending      []arrow.RecordBatch
	pendingRows  int64
	pendingBytes int64 // recordSize of pending
	// The row group last written: where it starts in the file, and its
	// Arrow size (0 when it is complete: nothing in progress).
	rgStart int64
	rgBytes int64
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// NewWriter starts a writer of records with the given schema (physical
// names; "PARQUET:field_id" field metadata is kept as Parquet field ids).
// Nothing is written until the first Write.
func NewWriter(b *blob.Bucket, schema *arrow.Schema, opts Options) (*Writer, error) {
	if b == nil || schema == nil {
		return nil, errors.New("datafile: nil bucket or schema")
	}
	w := &Writer{
		b: b, schema: schema, opts: opts, parts: map[string]*partition{}, prefix: "part",
		rowGroupBytes: RowGroupBytes, maxOpenFiles: MaxOpenFiles, maxBufferedBytes: MaxBufferedBytes,
	}
	codec, ext, err := codecFor(opts.Compression)
	if err != nil {
		return nil, err
	}
	w.ext = ext
	switch {
	case opts.TargetFileSize < 0:
		return nil, fmt.Errorf("datafile: negative target file size %d", opts.TargetFileSize)
	case opts.TargetFileSize == 0:
		w.target = DefaultTargetFileSize
	default:
		w.target = opts.TargetFileSize
	}
	rgRows := opts.RowGroupSize
	switch {
	case rgRows < 0:
		return nil, fmt.Errorf("datafile: negative row group size %d", rgRows)
	case rgRows == 0:
		rgRows = DefaultRowGroupSize
	}
	w.rowGroupRows = rgRows
	if opts.StatsColumns < -1 {
		return nil, fmt.Errorf("datafile: stats columns %d: want -1 (all), 0 (default 32) or a positive count", opts.StatsColumns)
	}
	if opts.Dir != "" {
		for seg := range strings.SplitSeq(opts.Dir, "/") {
			if seg == "" || seg == "." || seg == ".." {
				return nil, fmt.Errorf("datafile: invalid directory %q", opts.Dir)
			}
		}
		if opts.Dir == "_change_data" || strings.HasPrefix(opts.Dir, "_change_data/") {
			w.prefix = "cdc" // as Delta Spark names change data files
		}
	}

	// Partition columns: top-level, distinct, of a partitionable type.
	isPart := make([]bool, schema.NumFields())
	for _, name := range opts.PartitionColumns {
		idx := schema.FieldIndices(name)
		if len(idx) != 1 {
			return nil, fmt.Errorf("datafile: partition column %q: want exactly one top-level field of that name, found %d", name, len(idx))
		}
		if isPart[idx[0]] {
			return nil, fmt.Errorf("datafile: partition column %q listed twice", name)
		}
		if !partitionable(schema.Field(idx[0]).Type) {
			return nil, fmt.Errorf("datafile: partition column %q has type %s, which cannot be a partition column", name, schema.Field(idx[0]).Type)
		}
		isPart[idx[0]] = true
		w.partIdx = append(w.partIdx, idx[0])
	}
	var fields []arrow.Field
	for i, f := range schema.Fields() {
		if isPart[i] {
			continue
		}
		if err := checkType(f.Type); err != nil {
			return nil, fmt.Errorf("datafile: column %q: %w", f.Name, err)
		}
		fields = append(fields, f)
		w.dataIdx = append(w.dataIdx, i)
	}
	if len(fields) == 0 {
		return nil, errors.New("datafile: every column is a partition column: a data file needs at least one data column")
	}
	w.dataSchema = arrow.NewSchema(fields, nil)
	w.baseProps = []parquet.WriterProperty{
		parquet.WithCompression(codec),
		parquet.WithMaxRowGroupLength(rgRows),
		parquet.WithStoreDecimalAsInteger(true), // INT32/INT64/FIXED_LEN_BYTE_ARRAY by precision, like Spark
		parquet.WithDictionaryDefault(true),
		parquet.WithDataPageVersion(parquet.DataPageV1),
		parquet.WithAllocator(memory.DefaultAllocator),
	}
	w.props = parquet.NewWriterProperties(w.baseProps...)
	w.arrowProps = pqarrow.NewArrowWriterProperties(
		pqarrow.WithCoerceTimestamps(arrow.Microsecond), // Delta timestamps are microseconds
		pqarrow.WithTruncatedTimestamps(true),
	)
	// Fail now, not at the first write, on a schema Parquet cannot take.
	if _, err := pqarrow.ToParquet(w.dataSchema, w.props, w.arrowProps); err != nil {
		return nil, fmt.Errorf("datafile: schema: %w", err)
	}
	return w, nil
}

func codecFor(name string) (compress.Compression, string, error) {
	switch strings.ToLower(name) {
	case "", "snappy":
		return compress.Codecs.Snappy, ".snappy", nil
	case "zstd":
		return compress.Codecs.Zstd, ".zstd", nil
	case "gzip":
		return compress.Codecs.Gzip, ".gz", nil
	case "uncompressed", "none":
		return compress.Codecs.Uncompressed, "", nil
	}
	return 0, "", fmt.Errorf("datafile: unknown compression %q (want snappy, zstd, gzip or uncompressed)", name)
}

func partitionable(dt arrow.DataType) bool {
	switch dt.(type) {
	case *arrow.StringType, *arrow.LargeStringType, *arrow.BinaryType, *arrow.LargeBinaryType,
		*arrow.BooleanType, *arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Int64Type,
		*arrow.Float32Type, *arrow.Float64Type, *arrow.Decimal128Type, *arrow.Date32Type, *arrow.TimestampType:
		return true
	}
	return false
}

// checkType accepts the Arrow types that have a Delta type.
func checkType(dt arrow.DataType) error {
	switch t := dt.(type) {
	case *arrow.StructType:
		for _, f := range t.Fields() {
			if err := checkType(f.Type); err != nil {
				return fmt.Errorf("field %q: %w", f.Name, err)
			}
		}
		return nil
	case *arrow.ListType:
		return checkType(t.Elem())
	case *arrow.LargeListType:
		return checkType(t.Elem())
	case *arrow.MapType:
		if err := checkType(t.KeyType()); err != nil {
			return err
		}
		return checkType(t.ItemType())
	case *arrow.Decimal128Type:
		if t.Precision < 1 || t.Precision > 38 {
			return fmt.Errorf("decimal precision %d outside 1-38", t.Precision)
		}
		return nil
	}
	if partitionable(dt) {
		return nil
	}
	return fmt.Errorf("type %s has no Delta type", dt)
}

// Write appends the rows of rec, split by partition values, to the open
// file of each partition, rolling files at the target size. The rows are
// encoded by a background goroutine while the caller goes on: Write
// returns once they are queued (at most one batch waits), and an encoding
// or storage error is returned by a later Write or by Close. rec is
// retained until then, so the caller may release it at once.
func (w *Writer) Write(ctx context.Context, rec arrow.RecordBatch) error {
	if w.closed {
		return errors.New("datafile: write after Close or Abort")
	}
	if err := w.failure(); err != nil {
		return err
	}
	if err := w.checkRecord(rec); err != nil {
		return err // the writer stays usable: nothing was written
	}
	if rec.NumRows() == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := w.write(ctx, rec); err != nil {
		w.fail(err)
		return err
	}
	return nil
}

// failure returns the first error of the writer or its worker.
func (w *Writer) failure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *Writer) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

// enqueue hands a batch (and its reference) to the worker, starting it on
// first use. A worker that failed goes on taking and dropping batches until
// the queue is closed, so this never waits for long.
func (w *Writer) enqueue(ctx context.Context, p *partition, rec arrow.RecordBatch) error {
	if !w.started {
		w.started = true
		w.jobs = make(chan job)
		w.done = make(chan struct{})
		go w.work()
	}
	select {
	case w.jobs <- job{ctx: ctx, part: p, rec: rec}:
		return nil
	case <-ctx.Done():
		rec.Release()
		return ctx.Err()
	}
}

// work writes the queued batches until jobs is closed, or stops at the first error.
func (w *Writer) work() {
	defer close(w.done)
	defer func() {
		if p := recover(); p != nil { // an encoder bug must not take the process down
			w.fail(fmt.Errorf("datafile: writing Parquet: panic: %v", p))
			for j := range w.jobs {
				j.rec.Release()
			}
		}
	}()
	for j := range w.jobs {
		if w.abort.Load() {
			j.rec.Release()
			continue
		}
		err := w.writePartition(j.ctx, j.part, j.rec)
		j.rec.Release()
		if err != nil {
			w.fail(err)
			for j := range w.jobs { // unblock the caller, drop the rest
				j.rec.Release()
			}
			return
		}
	}
}

// stop closes the queue and waits for the worker to exit.
func (w *Writer) stop() {
	if w.started && !w.stopped {
		w.stopped = true
		close(w.jobs)
		<-w.done
	}
}

func (w *Writer) checkRecord(rec arrow.RecordBatch) error {
	sc := rec.Schema()
	if sc.NumFields() != w.schema.NumFields() {
		return fmt.Errorf("datafile: record has %d columns, the writer's schema %d", sc.NumFields(), w.schema.NumFields())
	}
	for i, f := range w.schema.Fields() {
		got := sc.Field(i)
		if got.Name != f.Name || !arrow.TypeEqual(got.Type, f.Type) {
			return fmt.Errorf("datafile: record column %d is %s %s, want %s %s", i, got.Name, got.Type, f.Name, f.Type)
		}
		if !f.Nullable && rec.Column(i).NullN() > 0 {
			return fmt.Errorf("datafile: column %q is not nullable but has %d nulls", f.Name, rec.Column(i).NullN())
		}
	}
	return nil
}

func (w *Writer) write(ctx context.Context, rec arrow.RecordBatch) error {
	data := w.dataRecord(rec)
	if !w.tuned {
		w.tuned = true // before the worker starts: it reads w.props
		w.props = parquet.NewWriterProperties(append(w.baseProps, dictionaryChoices(data)...)...)
	}
	if len(w.partIdx) == 0 {
		p := w.parts[""]
		if p == nil {
			p = &partition{values: map[string]*string{}}
			w.parts[""] = p
		}
		return w.enqueue(ctx, p, data)
	}
	defer data.Release()
	groups, err := w.split(rec)
	if err != nil {
		return err
	}
	for _, g := range groups {
		sub, err := g.records(ctx, data)
		if err != nil {
			return err
		}
		if err := w.enqueue(ctx, g.part, sub); err != nil {
			return err
		}
	}
	return nil
}

// dataRecord projects rec on the data (non-partition) columns.
func (w *Writer) dataRecord(rec arrow.RecordBatch) arrow.RecordBatch {
	cols := make([]arrow.Array, len(w.dataIdx))
	for i, j := range w.dataIdx {
		cols[i] = rec.Column(j)
	}
	return array.NewRecordBatch(w.dataSchema, cols, rec.NumRows())
}

// group is the rows of one partition in a batch, as runs of row numbers.
type group struct {
	part *partition
	runs [][2]int // [start, end)
}

func (g *group) add(i int) {
	if n := len(g.runs); n > 0 && g.runs[n-1][1] == i {
		g.runs[n-1][1]++
		return
	}
	g.runs = append(g.runs, [2]int{i, i + 1})
}

// records returns the group's rows of data: data itself when they are all
// its rows, else a copy (a take), so that a batch queued for one partition
// never pins the buffers of the whole batch.
func (g *group) records(ctx context.Context, data arrow.RecordBatch) (arrow.RecordBatch, error) {
	if len(g.runs) == 1 && g.runs[0][0] == 0 && int64(g.runs[0][1]) == data.NumRows() {
		data.Retain()
		return data, nil
	}
	b := array.NewInt32Builder(memory.DefaultAllocator)
	defer b.Release()
	for _, r := range g.runs {
		for i := r[0]; i < r[1]; i++ {
			b.Append(int32(i))
		}
	}
	idx := b.NewArray()
	defer idx.Release()
	out, err := compute.Take(ctx, *compute.DefaultTakeOptions(), compute.NewDatum(data), compute.NewDatum(idx))
	if err != nil {
		return nil, fmt.Errorf("datafile: splitting rows by partition: %w", err)
	}
	return out.(*compute.RecordDatum).Value, nil
}

// split groups the rows of rec by partition values, in order of first appearance.
func (w *Writer) split(rec arrow.RecordBatch) ([]*group, error) {
	cols := make([]arrow.Array, len(w.partIdx))
	for j, i := range w.partIdx {
		cols[j] = rec.Column(i)
	}
	vals := make([]*string, len(cols))
	byKey := map[string]*group{}
	var order []*group
	var cur *group
	var kb []byte
	for i := 0; i < int(rec.NumRows()); i++ {
		changed := i == 0
		for j, a := range cols {
			if i > 0 && sameValue(a, i, i-1) {
				continue
			}
			v, err := SerializePartitionValue(a, i)
			if err != nil {
				return nil, fmt.Errorf("datafile: partition column %q: %w", w.opts.PartitionColumns[j], err)
			}
			if v != vals[j] && (v == nil || vals[j] == nil || *v != *vals[j]) {
				changed = true
			}
			vals[j] = v
		}
		if changed {
			kb = partitionKey(kb[:0], vals)
			g := byKey[string(kb)]
			if g == nil {
				g = &group{part: w.partition(string(kb), vals, cols, i)}
				byKey[string(kb)] = g
				order = append(order, g)
			}
			cur = g
		}
		cur.add(i)
	}
	return order, nil
}

func partitionKey(b []byte, vals []*string) []byte {
	for _, v := range vals {
		if v == nil {
			b = append(b, 'n')
			continue
		}
		b = append(b, 'v')
		b = strconv.AppendInt(b, int64(len(*v)), 10)
		b = append(b, ':')
		b = append(b, *v...)
	}
	return b
}

// partition returns the partition of key, creating it from row i.
func (w *Writer) partition(key string, vals []*string, cols []arrow.Array, i int) *partition {
	if p := w.parts[key]; p != nil {
		return p
	}
	p := &partition{values: make(map[string]*string, len(vals))}
	var dir strings.Builder
	for j, v := range vals {
		name := w.opts.PartitionColumns[j]
		p.values[name] = v
		if j > 0 {
			dir.WriteByte('/')
		}
		dir.WriteString(escapePathName(name))
		dir.WriteByte('=')
		dir.WriteString(escapePathName(partitionDirValue(cols[j], i, v)))
	}
	p.dir = dir.String()
	w.parts[key] = p
	return p
}

// sameValue reports whether rows i and j of a hold the same value (false when unsure).
func sameValue(a arrow.Array, i, j int) bool {
	ni, nj := a.IsNull(i), a.IsNull(j)
	if ni || nj {
		return ni && nj
	}
	switch a := a.(type) {
	case *array.String:
		return a.Value(i) == a.Value(j)
	case *array.LargeString:
		return a.Value(i) == a.Value(j)
	case *array.Int8:
		return a.Value(i) == a.Value(j)
	case *array.Int16:
		return a.Value(i) == a.Value(j)
	case *array.Int32:
		return a.Value(i) == a.Value(j)
	case *array.Int64:
		return a.Value(i) == a.Value(j)
	case *array.Date32:
		return a.Value(i) == a.Value(j)
	case *array.Timestamp:
		return a.Value(i) == a.Value(j)
	case *array.Boolean:
		return a.Value(i) == a.Value(j)
	case *array.Decimal128:
		return a.Value(i) == a.Value(j)
	}
	return false
}

// writePartition appends rec to p's open file, opening and rolling files as needed.
func (w *Writer) writePartition(ctx context.Context, p *partition, rec arrow.RecordBatch) error {
	n := rec.NumRows()
	for off := int64(0); off < n; {
		f := p.cur
		if f == nil {
			var err error
			if f, err = w.openFile(ctx, p); err != nil {
				return err
			}
		}
		chunk := min(n-off, w.rowsUntilFull(f, rec))
		sub := rec
		if chunk != n {
			sub = rec.NewSlice(off, off+chunk)
		}
		f.add(sub)
		if chunk != n {
			sub.Release()
		}
		w.tick++
		f.lastUse = w.tick
		if err := w.settle(f); err != nil {
			return err
		}
		off += chunk
	}
	return w.limitBuffered()
}

// settle writes f's pending row group when it is full and finishes f when
// it has reached the target size.
func (w *Writer) settle(f *dataFile) error {
	if f.pendingRows >= w.rowGroupRows || f.pendingBytes >= w.rowGroupBytes {
		if err := w.flush(f); err != nil {
			return err
		}
	}
	if w.size(f) >= w.target {
		return w.finish(f)
	}
	return nil
}

// size estimates f's final size so far. Bytes are exact up to the start of
// the row group last written (pqarrow keeps a row group's last page until
// the next one starts); that row group and the pending rows are counted at
// the compression ratio seen so far (1 before any row group is complete).
func (w *Writer) size(f *dataFile) int64 {
	rest := f.rgBytes + f.pendingBytes
	if w.doneArrow > 0 {
		rest = int64(float64(rest) * float64(w.doneParquet) / float64(w.doneArrow))
	}
	return f.rgStart + rest
}

// rowsUntilFull estimates how many rows of rec f takes before the target
// size (at least one), from the bytes per row of f, else of the files
// finished, else of rec in memory (an overestimate: files are compressed).
func (w *Writer) rowsUntilFull(f *dataFile, rec arrow.RecordBatch) int64 {
	size, rows := w.size(f), f.rows
	if size <= 0 || rows == 0 {
		size, rows = w.doneBytes, w.doneRows
	}
	if size <= 0 || rows == 0 {
		size, rows = recordSize(rec), rec.NumRows()
	}
	if size <= 0 || rows == 0 {
		return 1 << 62
	}
	left := (w.target - w.size(f)) * rows / size
	return max(left+1, 1)
}

// limitBuffered writes out the largest pending row groups while the open
// files together hold more than maxBufferedBytes of pending rows.
func (w *Writer) limitBuffered() error {
	for {
		var total int64
		var big *dataFile
		for _, f := range w.open {
			total += f.pendingBytes
			if big == nil || f.pendingBytes > big.pendingBytes {
				big = f
			}
		}
		if total <= w.maxBufferedBytes || big == nil {
			return nil
		}
		if err := w.flush(big); err != nil {
			return err
		}
	}
}

// flush writes f's pending batches as a row group (more if they exceed
// the row limit), column by column, straight to the file's upload.
func (w *Writer) flush(f *dataFile) error {
	if f.pendingRows == 0 {
		return nil
	}
	cols := make([]*arrow.Chunked, len(w.dataSchema.Fields()))
	arrs := make([]arrow.Array, len(f.pending))
	for i, fld := range w.dataSchema.Fields() {
		for j, r := range f.pending {
			arrs[j] = r.Column(i)
		}
		cols[i] = arrow.NewChunked(fld.Type, arrs)
	}
	// Row groups of at most rowGroupRows rows and, when batches much larger
	// than rowGroupBytes came in, about rowGroupBytes each.
	step := w.rowGroupRows
	if f.pendingBytes > 2*w.rowGroupBytes {
		step = min(step, max(1, w.rowGroupBytes*f.pendingRows/f.pendingBytes))
		if n := (f.pendingRows + step - 1) / step; f.pendingRows%step != 0 && n > 1 {
			step = (f.pendingRows + n - 1) / n // even sizes, no small last group
		}
	}
	var err error
	for off := int64(0); off < f.pendingRows && err == nil; off += step {
		n := min(step, f.pendingRows-off)
		if err = w.startRowGroup(f); err != nil {
			break
		}
		f.rgBytes = f.pendingBytes * n / f.pendingRows
		for _, c := range cols {
			if err = f.fw.WriteColumnChunked(c, off, n); err != nil {
				break
			}
		}
	}
	for _, c := range cols {
		c.Release()
	}
	for _, r := range f.pending {
		r.Release()
	}
	clear(f.pending)
	f.pending = f.pending[:0]
	f.pendingRows, f.pendingBytes = 0, 0
	if err != nil {
		return fmt.Errorf("datafile: writing %s: %w", f.key, err)
	}
	return nil
}

// startRowGroup starts a row group in f, which completes the previous one:
// its size is then known exactly and counted in the compression ratio.
func (w *Writer) startRowGroup(f *dataFile) error {
	if err := f.fw.NewRowGroupChecked(); err != nil {
		return err
	}
	w.rowGroupDone(f)
	return nil
}

// rowGroupDone accounts for f's row group in progress having been written out.
func (w *Writer) rowGroupDone(f *dataFile) {
	if f.rgBytes > 0 {
		w.doneArrow += f.rgBytes
		w.doneParquet += f.cw.n - f.rgStart
	}
	f.rgStart, f.rgBytes = f.cw.n, 0
}

// openFile starts the next file of p, first finishing the least recently
// written file when maxOpenFiles are open.
func (w *Writer) openFile(ctx context.Context, p *partition) (*dataFile, error) {
	for len(w.open) >= w.maxOpenFiles {
		lru := w.open[0]
		for _, f := range w.open[1:] {
			if f.lastUse < lru.lastUse {
				lru = f
			}
		}
		if err := w.finish(lru); err != nil {
			return nil, err
		}
	}
	seq := w.seq
	w.seq++
	name := fmt.Sprintf("%s-%05d-%s.c000%s.parquet", w.prefix, seq, uuid.NewString(), w.ext)
	key := name
	if p.dir != "" {
		key = p.dir + "/" + key
	}
	if w.opts.Dir != "" {
		key = w.opts.Dir + "/" + key
	}
	// The file's upload lives until the file is finished or aborted, not
	// just for the Write call that opened it.
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	bw, err := w.b.NewWriter(fctx, key)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("datafile: %w", err)
	}
	w.created = append(w.created, key)
	f := &dataFile{part: p, seq: seq, key: key, cancel: cancel, bw: bw, cw: &countingWriter{w: bw}}
	f.fw, err = pqarrow.NewFileWriter(w.dataSchema, f.cw, w.props, w.arrowProps)
	if err != nil {
		cancel()
		bw.Close()
		return nil, fmt.Errorf("datafile: %s: %w", key, err)
	}
	f.rgStart = f.cw.n // the magic number
	if !w.opts.NoStats {
		n := w.opts.StatsColumns
		if n == 0 {
			n = DefaultStatsColumns
		}
		f.stats = &fileStats{cols: newStatsTree(w.dataSchema.Fields(), n)}
	}
	p.cur = f
	w.open = append(w.open, f)
	w.peakOpen = max(w.peakOpen, len(w.open))
	return f, nil
}

// add takes rec (retained) into f's pending row group and its statistics.
func (f *dataFile) add(rec arrow.RecordBatch) {
	if f.stats != nil {
		f.stats.update(rec)
	}
	rec.Retain()
	f.pending = append(f.pending, rec)
	f.pendingRows += rec.NumRows()
	f.pendingBytes += recordSize(rec)
	f.rows += rec.NumRows()
}

// finish completes f (footer, then the blob upload) and records it.
func (w *Writer) finish(f *dataFile) error {
	w.open = slices.DeleteFunc(w.open, func(o *dataFile) bool { return o == f })
	if f.part.cur == f {
		f.part.cur = nil
	}
	err := w.flush(f)
	if err == nil {
		err = f.fw.Close()
	}
	if err == nil {
		w.rowGroupDone(f) // the footer is counted with the last row group
	}
	if err != nil {
		f.cancel() // abandon the upload
		f.bw.Close()
		return fmt.Errorf("datafile: finishing %s: %w", f.key, err)
	}
	if err := f.bw.Close(); err != nil {
		f.cancel()
		return fmt.Errorf("datafile: %w", err)
	}
	f.cancel()
	file := File{
		Path:             encodePath(f.key),
		Key:              f.key,
		PartitionValues:  make(map[string]*string, len(f.part.values)),
		Size:             f.cw.n,
		NumRecords:       f.rows,
		ModificationTime: time.Now().UnixMilli(),
	}
	for k, v := range f.part.values {
		if v != nil {
			s := *v
			v = &s
		}
		file.PartitionValues[k] = v
	}
	if f.stats != nil {
		file.Stats = f.stats.json(f.rows)
	}
	w.files = append(w.files, file)
	w.seqs = append(w.seqs, f.seq)
	w.doneBytes += f.cw.n
	w.doneRows += f.rows
	return nil
}

// Close waits for the queued batches, finishes every open file and returns
// all files written, in the order they were started.
func (w *Writer) Close(ctx context.Context) ([]File, error) {
	if w.closed {
		return nil, errors.New("datafile: Close after Close or Abort")
	}
	w.closed = true
	w.stop()
	if err := w.failure(); err != nil {
		return nil, err
	}
	slices.SortFunc(w.open, func(a, b *dataFile) int { return a.seq - b.seq })
	for len(w.open) > 0 {
		if err := ctx.Err(); err != nil {
			w.fail(err)
			return nil, err
		}
		if err := w.finish(w.open[0]); err != nil {
			w.fail(err)
			return nil, err
		}
	}
	idx := make([]int, len(w.files))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return w.seqs[a] - w.seqs[b] })
	out := make([]File, len(idx))
	for i, j := range idx {
		out[i] = w.files[j]
	}
	return out, nil
}

// Abort stops the worker, abandons the open files and deletes every file
// the writer finished, best effort (errors are ignored; it works with a
// cancelled ctx). The Writer is unusable afterwards.
func (w *Writer) Abort(ctx context.Context) {
	w.closed = true
	w.abort.Store(true)
	w.stop()
	w.fail(errors.New("datafile: writer aborted"))
	for _, f := range w.open {
		f.cancel()
		f.bw.Close()
		f.part.cur = nil
		for _, r := range f.pending {
			r.Release()
		}
		f.pending = nil
	}
	w.open = nil
	dctx := context.WithoutCancel(ctx)
	for _, key := range w.created {
		w.b.Delete(dctx, key)
	}
	w.created = nil
	w.files = nil
	w.seqs = nil
}

// recordSize is the Arrow memory of rec's rows (of a slice: its share).
func recordSize(rec arrow.RecordBatch) int64 {
	var n int64
	for _, c := range rec.Columns() {
		n += arraySize(c)
	}
	return n
}

func arraySize(a arrow.Array) int64 {
	n := int64(a.Len())
	var size int64
	if a.NullN() > 0 {
		size += (n + 7) / 8
	}
	switch a := a.(type) {
	case *array.String:
		if n > 0 {
			size += int64(a.ValueOffset(int(n)-1)+a.ValueLen(int(n)-1)-a.ValueOffset(0)) + 4*(n+1)
		}
	case *array.LargeString:
		if n > 0 {
			size += a.ValueOffset(int(n)-1) + int64(a.ValueLen(int(n)-1)) - a.ValueOffset(0) + 8*(n+1)
		}
	case *array.Binary:
		if n > 0 {
			size += int64(a.ValueOffset(int(n)-1)+a.ValueLen(int(n)-1)-a.ValueOffset(0)) + 4*(n+1)
		}
	case *array.LargeBinary:
		if n > 0 {
			size += a.ValueOffset(int(n)-1) + int64(a.ValueLen(int(n)-1)) - a.ValueOffset(0) + 8*(n+1)
		}
	case *array.Struct:
		for i := 0; i < a.NumField(); i++ {
			size += arraySize(a.Field(i))
		}
	case array.ListLike: // list, large list, map
		if n > 0 {
			start, _ := a.ValueOffsets(0)
			_, end := a.ValueOffsets(int(n) - 1)
			vals := array.NewSlice(a.ListValues(), start, end)
			size += arraySize(vals) + 8*(n+1)
			vals.Release()
		}
	case *array.Boolean:
		size += (n + 7) / 8
	default:
		if fw, ok := a.DataType().(arrow.FixedWidthDataType); ok {
			size += n * int64(fw.BitWidth()) / 8
		}
	}
	return size
}
