package export

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/klauspost/compress/gzip"

	"github.com/lakeport/lakeport/internal/format"
	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/lakehouse"
)

// Batch is one load being staged: rows per table, written to files as they
// come.
type Batch struct {
	e      *Exporter
	load   int64
	tables map[lakehouse.TableName]*tableWriter
	rows   int64
	bytes  int64
}

// Rows is the number of rows written to the batch so far.
func (b *Batch) Rows() int64 { return b.rows }

// Bytes is the number of bytes staged so far (closed files only).
func (b *Batch) Bytes() int64 { return b.bytes }

// Ensure makes table part of the load even without rows, so that the load
// creates it (a new export's table exists after its first run).
func (b *Batch) Ensure(table lakehouse.TableName) { b.table(table) }

func (b *Batch) table(t lakehouse.TableName) *tableWriter {
	tw, ok := b.tables[t]
	if !ok {
		tw = &tableWriter{b: b, name: t}
		b.tables[t] = tw
	}
	return tw
}

// Write stages rows for table. rec's columns must be the target's schema
// (or, for an inferred schema, the same in every call).
func (b *Batch) Write(ctx context.Context, table lakehouse.TableName, rec arrow.RecordBatch) error {
	tw := b.table(table)
	for off := int64(0); off < rec.NumRows(); {
		if tw.cur == nil {
			if err := tw.open(ctx, rec.Schema()); err != nil {
				return err
			}
		}
		n := min(rec.NumRows()-off, b.e.t.FileRows-tw.cur.rows)
		part := rec
		if off != 0 || n != rec.NumRows() {
			part = rec.NewSlice(off, off+n)
		}
		err := tw.cur.write(part)
		if part != rec {
			part.Release()
		}
		if err != nil {
			return fmt.Errorf("staging %s: %w", tw.cur.name, err)
		}
		off += n
		b.rows += n
		if tw.cur.rows >= b.e.t.FileRows || tw.cur.bytes() >= b.e.t.FileBytes {
			if err := tw.closeFile(); err != nil {
				return err
			}
		}
	}
	if p := b.e.run.Progress; p != nil {
		p(job.Progress{Rows: b.e.rows + b.rows, Bytes: b.e.bytes + b.bytes})
	}
	return nil
}

// close finishes every file and returns the tables in name order.
func (b *Batch) close(ctx context.Context) ([]TableFiles, error) {
	var out []TableFiles
	for _, tw := range b.tables {
		if tw.cur == nil && len(tw.files) == 0 {
			if err := tw.open(ctx, b.e.t.Schema); err != nil { // an empty file creates the table
				return nil, err
			}
		}
		if err := tw.closeFile(); err != nil {
			return nil, err
		}
		out = append(out, TableFiles{Table: tw.name, Files: tw.files, Rows: tw.rows})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Table.Plain() < out[j].Table.Plain() })
	return out, nil
}

// Abort deletes the batch's files (a run that failed before its load was
// recorded); what it cannot delete, the next run does.
func (b *Batch) Abort(ctx context.Context) {
	for _, tw := range b.tables {
		if tw.cur != nil {
			tw.cur.abort()
			tw.cur = nil
		}
		for _, f := range tw.files {
			b.e.t.Staging.Delete(ctx, f)
		}
	}
}

// tableWriter stages one table's rows of a batch.
type tableWriter struct {
	b     *Batch
	name  lakehouse.TableName
	cur   *stagedFile
	files []string
	rows  int64
}

func (tw *tableWriter) open(ctx context.Context, schema *arrow.Schema) error {
	if schema == nil {
		return fmt.Errorf("staging %s: no columns (an empty load needs the target schema)", tw.name.Plain())
	}
	e := tw.b.e
	name := fmt.Sprintf("%srun-%06d/load-%06d/%s-part-%05d.%s", e.prefix, e.run.Seq, tw.b.load,
		strings.ReplaceAll(tw.name.Table, "/", "_"), len(tw.files), e.t.Format)
	w, err := e.t.Staging.NewWriter(ctx, name)
	if err != nil {
		return fmt.Errorf("staging %s: %w", name, err)
	}
	f, err := newStagedFile(name, w, e.t.Format, schema)
	if err != nil {
		w.Close()
		e.t.Staging.Delete(ctx, name)
		return fmt.Errorf("staging %s: %w", name, err)
	}
	tw.cur = f
	return nil
}

func (tw *tableWriter) closeFile() error {
	f := tw.cur
	if f == nil {
		return nil
	}
	tw.cur = nil
	if err := f.close(); err != nil {
		return fmt.Errorf("staging %s: %w", f.name, err)
	}
	tw.files = append(tw.files, f.name)
	tw.rows += f.rows
	tw.b.bytes += f.bytes()
	hook("staged")
	return nil
}

// stagedFile is one file being written.
type stagedFile struct {
	name  string
	out   io.WriteCloser // the staging writer (visible once closed)
	count *countingWriter
	gz    *gzip.Writer
	pq    *pqarrow.FileWriter
	csv   format.Writer
	rows  int64
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

func newStagedFile(name string, out io.WriteCloser, f string, schema *arrow.Schema) (*stagedFile, error) {
	s := &stagedFile{name: name, out: out, count: &countingWriter{w: out}}
	switch f {
	case lakehouse.FormatParquet:
		props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithDictionaryDefault(false),
			parquet.WithMaxRowGroupLength(stagedRowGroupRows), parquet.WithStats(true))
		w, err := pqarrow.NewFileWriter(schema, nopCloser{s.count}, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
		if err != nil {
			return nil, err
		}
		s.pq = w
	case lakehouse.FormatCSV, lakehouse.FormatCSVGzip:
		var w io.Writer = s.count
		if f == lakehouse.FormatCSVGzip {
			s.gz = gzip.NewWriter(s.count)
			w = s.gz
		}
		cw, err := format.NewWriter("csv", w, schema)
		if err != nil {
			return nil, err
		}
		s.csv = cw
	default:
		return nil, fmt.Errorf("unknown staging format %q (parquet, csv, csv.gz)", f)
	}
	return s, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func (s *stagedFile) write(rec arrow.RecordBatch) error {
	var err error
	if s.pq != nil {
		err = s.pq.WriteBuffered(rec)
		if err == nil && s.pq.RowGroupTotalBytesWritten() >= stagedRowGroupBytes {
			err = s.pq.NewBufferedRowGroupChecked() // this row group is written out; the next rows start one
		}
	} else {
		err = s.csv.Write(rec)
	}
	if err == nil {
		s.rows += rec.NumRows()
	}
	return err
}

// bytes is the size written so far (compressed; buffered rows not counted).
func (s *stagedFile) bytes() int64 { return s.count.n }

func (s *stagedFile) close() error {
	var err error
	if s.pq != nil {
		err = s.pq.Close()
	} else {
		err = s.csv.Close()
		if s.gz != nil && err == nil {
			err = s.gz.Close()
		}
	}
	if err != nil {
		s.abort()
		return err
	}
	return s.out.Close()
}

// abort closes the writer without publishing a complete file where the
// backend allows it; a partial file is deleted by the next run.
func (s *stagedFile) abort() {
	if a, ok := s.out.(interface{ Abort() }); ok {
		a.Abort()
		return
	}
	s.out.Close()
}

// stagedRowGroupRows and stagedRowGroupBytes bound a staged Parquet file's
// row groups: the writer buffers a whole row group, so they bound its
// memory (about 25 MiB of event rows; fewer rows when they are large), not
// the file's size.
const (
	stagedRowGroupRows  = 64 * 1024
	stagedRowGroupBytes = 32 << 20
)
