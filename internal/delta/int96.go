package delta

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// int96Column reads a top-level INT96 timestamp column (Spark's legacy
// timestamp encoding) straight to microseconds. The Arrow Parquet reader
// converts INT96 to nanoseconds and so fails outside years 1677-2262; Delta
// timestamps are microseconds and span years 1-9999.
type int96Column struct {
	rdr      *file.Reader
	col      int
	rg       int
	chunk    *file.Int96ColumnChunkReader
	maxDef   int16
	values   []parquet.Int96
	defs     []int16
	timeType *arrow.TimestampType
}

// int96Leaf reports whether top-level field i of the file is a flat INT96 column, and its leaf index.
func (p *parquetFile) int96Leaf(field int) (int, bool) {
	sf := p.reader.Manifest.Fields[field]
	if !sf.IsLeaf() {
		return 0, false
	}
	col := p.reader.ParquetReader().MetaData().Schema.Column(sf.ColIndex)
	return sf.ColIndex, col.PhysicalType() == parquet.Types.Int96 && col.MaxRepetitionLevel() == 0
}

func newInt96Column(p *parquetFile, leaf int) *int96Column {
	maxDef := p.reader.ParquetReader().MetaData().Schema.Column(leaf).MaxDefinitionLevel()
	return &int96Column{rdr: p.reader.ParquetReader(), col: leaf, rg: -1, maxDef: maxDef,
		timeType: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}}
}

func (c *int96Column) close() {}

const julianDayOfUnixEpoch = 2440588

// next reads the next n values, crossing row groups as needed.
func (c *int96Column) next(n int) (arrow.Array, error) {
	b := array.NewTimestampBuilder(memory.DefaultAllocator, c.timeType)
	defer b.Release()
	b.Reserve(n)
	for b.Len() < n {
		if c.chunk == nil || !c.chunk.HasNext() {
			c.rg++
			if c.rg >= c.rdr.NumRowGroups() {
				return nil, fmt.Errorf("INT96 column ended after %d of %d rows", b.Len(), n)
			}
			cr, err := c.rdr.RowGroup(c.rg).Column(c.col)
			if err != nil {
				return nil, err
			}
			c.chunk = cr.(*file.Int96ColumnChunkReader)
			continue
		}
		want := n - b.Len()
		if cap(c.values) < want {
			c.values, c.defs = make([]parquet.Int96, want), make([]int16, want)
		}
		total, _, err := c.chunk.ReadBatch(int64(want), c.values[:want], c.defs[:want], nil)
		if err != nil {
			return nil, err
		}
		vi := 0
		for i := 0; i < int(total); i++ {
			if c.maxDef > 0 && c.defs[i] < c.maxDef {
				b.AppendNull()
				continue
			}
			v := c.values[vi]
			vi++
			nanos := int64(binary.LittleEndian.Uint64(v[:8]))
			day := int64(binary.LittleEndian.Uint32(v[8:])) - julianDayOfUnixEpoch
			if day > math.MaxInt64/86_400_000_000-1 || day < math.MinInt64/86_400_000_000+1 {
				return nil, fmt.Errorf("INT96 timestamp out of range (day %d)", day)
			}
			b.Append(arrow.Timestamp(day*86_400_000_000 + nanos/1000))
		}
	}
	return b.NewArray(), nil
}
