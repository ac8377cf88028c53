package format

import (
	"bufio"
	"bytes"
	"context"
	stdcsv "encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/klauspost/compress/gzip"
)

// Source is a stream of record batches read from a file. Next returns io.EOF
// at the end; the caller releases each batch and closes the source.
type Source interface {
	Schema() *arrow.Schema
	Next(ctx context.Context) (arrow.RecordBatch, error)
	Close() error
}

// InputFormats lists the formats OpenFile reads.
var InputFormats = []string{"csv", "csv.gz", "ndjson", "parquet"}

// FormatOf guesses a file's format from its extension.
func FormatOf(path string) (string, error) {
	if strings.HasSuffix(strings.ToLower(path), ".csv.gz") {
		return "csv.gz", nil
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return "csv", nil
	case ".ndjson", ".jsonl", ".json":
		return "ndjson", nil
	case ".parquet":
		return "parquet", nil
	}
	return "", fmt.Errorf("%s: cannot tell the format from the extension (want .csv, .csv.gz, .ndjson, .jsonl, .json or .parquet, or name the format)", path)
}

const batchRows = 64 * 1024

// OpenFile reads a CSV (with a header row; csv.gz: gzip-compressed), NDJSON
// or Parquet file. Columns
// named in types are parsed as those types (a table's schema); CSV columns
// not named there are inferred, NDJSON fields not named there are ignored.
func OpenFile(path, format string, types *arrow.Schema) (Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	switch format {
	case "csv", "csv.gz":
		known := map[string]arrow.DataType{}
		for _, fl := range types.Fields() {
			known[fl.Name] = fl.Type
		}
		var in io.Reader = f
		if format == "csv.gz" {
			gz, err := gzip.NewReader(f)
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("%s: not gzip: %w", path, err)
			}
			in = gz
		}
		// a file with a header and no rows has nothing to infer from (and
		// arrow's inferring reader cannot handle it): its columns are the
		// known types, else strings
		br := bufio.NewReaderSize(in, 64*1024)
		header, rest, err := splitHeader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if header == nil {
			f.Close()
			return nil, fmt.Errorf("%s: no header row", path)
		}
		if !rest {
			fields := make([]arrow.Field, len(header))
			for i, name := range header {
				t, ok := known[name]
				if !ok {
					t = arrow.BinaryTypes.String
				}
				fields[i] = arrow.Field{Name: name, Type: t, Nullable: true}
			}
			f.Close()
			return &emptySource{schema: arrow.NewSchema(fields, nil)}, nil
		}
		r := csv.NewInferringReader(br, csv.WithHeader(true), csv.WithChunk(batchRows), csv.WithColumnTypes(known),
			csv.WithNullReader(true, ""), csv.WithLazyQuotes(false))
		c := &csvSource{r: r, f: f, path: path}
		// the inferring reader knows the columns once it has read the header and a first batch
		first, err := c.read()
		if err != nil && !errors.Is(err, io.EOF) {
			c.Close()
			return nil, err
		}
		c.first = first
		if c.r.Schema() == nil {
			c.Close()
			return nil, fmt.Errorf("%s: no header row", path)
		}
		return c, nil
	case "ndjson":
		r := array.NewJSONReader(f, types, array.WithChunk(batchRows))
		return &jsonSource{r: r, f: f, schema: types, path: path}, nil
	case "parquet":
		rdr, err := file.NewParquetReader(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: not a Parquet file: %w", path, err)
		}
		fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: batchRows}, memory.DefaultAllocator)
		if err != nil {
			rdr.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		rr, err := fr.GetRecordReader(context.Background(), nil, nil)
		if err != nil {
			rdr.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return &parquetSource{rr: rr, rdr: rdr, path: path}, nil
	}
	f.Close()
	return nil, fmt.Errorf("unknown input format %q (want one of %s)", format, strings.Join(InputFormats, ", "))
}

// splitHeader peeks at a CSV stream without consuming it: the header's
// column names (nil for an empty file) and whether any byte follows the
// header line.
func splitHeader(br *bufio.Reader) (header []string, rest bool, err error) {
	for n := 4096; ; n *= 2 {
		b, perr := br.Peek(n)
		if i := bytes.IndexByte(b, '\n'); i >= 0 || perr != nil {
			line := b
			if i >= 0 {
				line = b[:i+1]
			}
			if len(bytes.TrimSpace(line)) == 0 {
				return nil, false, nil
			}
			rec, err := stdcsv.NewReader(bytes.NewReader(line)).Read()
			if err != nil {
				return nil, false, fmt.Errorf("header row: %w", err)
			}
			return rec, i >= 0 && len(bytes.TrimSpace(b[i+1:])) > 0 || i >= 0 && perr == nil && len(b) == n, nil
		}
		if n > 1<<24 {
			return nil, false, errors.New("header row longer than 16 MiB")
		}
	}
}

// emptySource is a file with columns and no rows.
type emptySource struct{ schema *arrow.Schema }

func (e *emptySource) Schema() *arrow.Schema                           { return e.schema }
func (e *emptySource) Next(context.Context) (arrow.RecordBatch, error) { return nil, io.EOF }
func (e *emptySource) Close() error                                    { return nil }

type csvSource struct {
	r     *csv.Reader
	f     *os.File
	path  string
	rows  int64
	first arrow.RecordBatch
}

func (c *csvSource) Schema() *arrow.Schema { return c.r.Schema() }

func (c *csvSource) Next(context.Context) (arrow.RecordBatch, error) {
	if c.first != nil {
		rec := c.first
		c.first = nil
		return rec, nil
	}
	return c.read()
}

func (c *csvSource) read() (arrow.RecordBatch, error) {
	if !c.r.Next() {
		if err := c.r.Err(); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: near row %d: %w", c.path, c.rows+1, err)
		}
		return nil, io.EOF
	}
	rec := c.r.RecordBatch()
	rec.Retain()
	c.rows += rec.NumRows()
	return rec, nil
}

func (c *csvSource) Close() error {
	if c.first != nil {
		c.first.Release()
	}
	c.r.Release()
	return c.f.Close()
}

type jsonSource struct {
	r      *array.JSONReader
	f      *os.File
	schema *arrow.Schema
	path   string
	rows   int64
}

func (j *jsonSource) Schema() *arrow.Schema { return j.schema }

func (j *jsonSource) Next(context.Context) (arrow.RecordBatch, error) {
	if !j.r.Next() {
		if err := j.r.Err(); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: near line %d: %w", j.path, j.rows+1, err)
		}
		return nil, io.EOF
	}
	rec := j.r.RecordBatch()
	rec.Retain()
	j.rows += rec.NumRows()
	return rec, nil
}

func (j *jsonSource) Close() error { j.r.Release(); return j.f.Close() }

type parquetSource struct {
	rr   pqarrow.RecordReader
	rdr  *file.Reader
	path string
}

func (p *parquetSource) Schema() *arrow.Schema { return p.rr.Schema() }

func (p *parquetSource) Next(context.Context) (arrow.RecordBatch, error) {
	rec, err := p.rr.Read()
	if errors.Is(err, io.EOF) || (err == nil && rec == nil) {
		return nil, io.EOF
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.path, err)
	}
	rec.Retain()
	return rec, nil
}

func (p *parquetSource) Close() error { p.rr.Release(); return p.rdr.Close() }
