package delta

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/lakeport/lakeport/internal/blob"
)

// parquetFile is an open Parquet data or checkpoint file.
type parquetFile struct {
	f      blob.File
	props  *parquet.ReaderProperties
	reader *pqarrow.FileReader
}

// openParquet opens a Parquet file for reading record batches of batchSize rows.
// The column chunks are streamed through a bounded buffer, so memory depends on
// the batch size and the projected columns, not the file size.
func openParquet(ctx context.Context, b *blob.Bucket, key string, batchSize int) (*parquetFile, error) {
	f, err := b.OpenFile(ctx, key)
	if err != nil {
		return nil, err
	}
	props := parquet.NewReaderProperties(memory.DefaultAllocator)
	props.BufferedStreamEnabled = true
	props.BufferSize = 262144
	rdr, err := file.NewParquetReader(f, file.WithReadProps(props))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: not a readable Parquet file: %w", key, err)
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: int64(batchSize)}, memory.DefaultAllocator)
	if err != nil {
		rdr.Close()
		f.Close()
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return &parquetFile{f: f, props: props, reader: fr}, nil
}

func (p *parquetFile) Close() error {
	p.reader.ParquetReader().Close()
	return p.f.Close()
}

func (p *parquetFile) NumRows() int64 { return p.reader.ParquetReader().NumRows() }

// leaves returns the leaf column indices under the given top-level field indices.
func (p *parquetFile) leaves(fields []int) []int {
	var out []int
	var walk func(sf *pqarrow.SchemaField)
	walk = func(sf *pqarrow.SchemaField) {
		if sf.IsLeaf() {
			out = append(out, sf.ColIndex)
			return
		}
		for i := range sf.Children {
			walk(&sf.Children[i])
		}
	}
	for _, i := range fields {
		walk(&p.reader.Manifest.Fields[i])
	}
	return out
}

// directColumn returns a reader that bypasses pqarrow for top-level field i
// of the file, or nil when pqarrow should read it: an int96Column for INT96
// timestamps (which pqarrow cannot read outside years 1677-2262), a
// flatColumn for flat columns of common primitive types (faster than pqarrow).
func (p *parquetFile) directColumn(field int) columnSource {
	if leaf, ok := p.int96Leaf(field); ok {
		return newInt96Column(p, leaf)
	}
	if leaf, kind, ok := p.flatLeaf(field); ok {
		return newFlatColumn(p, field, leaf, kind)
	}
	return nil
}
