package delta

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// columnSource produces one column of a file, n rows at a time, in step with
// the file's other columns. It is how columns that bypass the pqarrow record
// reader (flatColumn, int96Column) are read.
type columnSource interface {
	// next returns the next n rows of the column.
	next(n int) (arrow.Array, error)
	// close releases what the source holds of the file.
	close()
}

// flatKind is how a flat column's values are laid out, in Parquet and in Arrow.
type flatKind int

const (
	flatFixed32 flatKind = iota // INT32 or FLOAT: int32, date32, float32
	flatFixed64                 // INT64 or DOUBLE: int64, timestamp, float64
	flatBool                    // BOOLEAN: a bitmap
	flatBinary                  // BYTE_ARRAY: string, binary (32-bit offsets)
)

// flatColumn reads a top-level, non-repeated Parquet column of a primitive
// type straight from its pages into Arrow arrays, bypassing pqarrow's record
// reader. That reader decodes dictionaries lazily (re-allocating the decoded
// dictionary as it grows), builds strings one Append at a time and grows its
// buffers by doubling, and every column chunk gets a page reader with fresh
// buffers. Here a column chunk's dictionary is decoded once, every batch's
// buffers are allocated once at their final size, and the page reader and the
// decoding scratch (flatScratch) are reused from chunk to chunk and file to
// file.
//
// It handles PLAIN and dictionary (PLAIN_DICTIONARY, RLE_DICTIONARY) values,
// RLE booleans, and RLE definition levels, in V1 and V2 data pages (what
// flatLeaf checks); other columns go through pqarrow. Its output is what
// pqarrow produces for the same column: same type, nulls and values (the
// tests compare the two).
//
// Memory: the arrays it returns own fresh buffers, never shared with the
// column, its scratch or each other, so they (and strings taken from them)
// stay valid whatever happens to the column or the file after next returns.
// The scratch (page buffers, decoded dictionary, index and string scratch) is
// never handed out: values are copied from it.
type flatColumn struct {
	rdr      *file.Reader
	src      io.ReaderAt // the file, for the column chunks' streams
	props    *parquet.ReaderProperties
	leaf     int
	kind     flatKind
	dt       arrow.DataType
	nullable bool // max definition level 1 (else 0: required)

	rg         int // current row group, -1 before the first
	pages      file.PageReader
	ownedPages bool // pages is this chunk's own (not the pooled one): close it after the chunk

	// the current data page
	pageLeft int        // rows of the page not yet read
	defs     rleDecoder // definition levels (nullable columns)
	dictMode bool       // values are dictionary indices (idx), else plain (plain)
	idx      rleDecoder // dictionary indices
	plain    []byte     // plain values not yet read
	boolBit  int        // plain booleans: bit offset of the next value in plain
	boolRLE  bool       // booleans are RLE-encoded (in boolDec)
	boolDec  rleDecoder

	hasDict bool // the current column chunk's dictionary is in scratch
	*flatScratch
}

// flatScratch is the memory a flatColumn reuses from batch to batch and,
// through flatScratchPools, from file to file: the page reader (its stream
// buffer, decompression and page buffers), the decoded dictionary and the
// scratch of a batch. Nothing in it is ever part of an array handed out: the
// values are copied from it into each batch's own buffers, so reusing it
// cannot change an array a caller holds (TestFlatColumnArraysOutliveReader).
type flatScratch struct {
	stream parquet.BufferedReader // the column chunk's bytes (reset for each chunk)
	pages  file.PageReader        // reads stream's pages (reset for each chunk)

	dict32      []uint32
	dict64      []uint64
	dictOffsets []int32 // binary: value i is dictData[dictOffsets[i]:dictOffsets[i+1]]
	dictData    []byte

	indices  []uint32
	bytes    []byte // binary: the values of the batch being built
	boolBits []byte // RLE booleans of a page segment, dense
}

// flatStreamBuffer is the buffer size of a flatColumn's stream. Page headers
// are read through it, and the first bytes of each page copied from it; the
// rest of a page larger than the buffer is read directly. Small, so that
// little is copied twice (the file layer does its own read-ahead for remote
// files).
const flatStreamBuffer = 32 << 10

// flatScratchPools hold the scratch of closed flatColumns, one pool per
// kind, so that a scratch only ever grows the buffers of one kind of column.
var flatScratchPools = [...]sync.Pool{
	flatFixed32: {New: func() any { return new(flatScratch) }},
	flatFixed64: {New: func() any { return new(flatScratch) }},
	flatBool:    {New: func() any { return new(flatScratch) }},
	flatBinary:  {New: func() any { return new(flatScratch) }},
}

// flatLeaf reports whether top-level field i of the file can be read by a
// flatColumn: a primitive leaf, not repeated, whose pqarrow type flatColumn
// produces and whose column chunks use only encodings it decodes.
func (p *parquetFile) flatLeaf(field int) (leaf int, kind flatKind, ok bool) {
	sf := p.reader.Manifest.Fields[field]
	if !sf.IsLeaf() || sf.Field == nil {
		return 0, 0, false
	}
	md := p.reader.ParquetReader().MetaData()
	col := md.Schema.Column(sf.ColIndex)
	if col.MaxRepetitionLevel() != 0 || col.MaxDefinitionLevel() > 1 {
		return 0, 0, false
	}
	phys := col.PhysicalType()
	switch sf.Field.Type.ID() {
	case arrow.INT32, arrow.DATE32:
		ok, kind = phys == parquet.Types.Int32, flatFixed32
	case arrow.FLOAT32:
		ok, kind = phys == parquet.Types.Float, flatFixed32
	case arrow.INT64, arrow.TIMESTAMP:
		ok, kind = phys == parquet.Types.Int64, flatFixed64
	case arrow.FLOAT64:
		ok, kind = phys == parquet.Types.Double, flatFixed64
	case arrow.BOOL:
		ok, kind = phys == parquet.Types.Boolean, flatBool
	case arrow.STRING, arrow.BINARY:
		ok, kind = phys == parquet.Types.ByteArray, flatBinary
	}
	if !ok {
		return 0, 0, false
	}
	for rg := 0; rg < md.NumRowGroups(); rg++ {
		cc, err := md.RowGroup(rg).ColumnChunk(sf.ColIndex)
		if err != nil {
			return 0, 0, false
		}
		for _, e := range cc.Encodings() {
			switch e {
			case parquet.Encodings.Plain, parquet.Encodings.PlainDict, parquet.Encodings.RLEDict, parquet.Encodings.RLE:
			default:
				return 0, 0, false
			}
		}
	}
	return sf.ColIndex, kind, true
}

func newFlatColumn(p *parquetFile, field, leaf int, kind flatKind) *flatColumn {
	col := p.reader.ParquetReader().MetaData().Schema.Column(leaf)
	return &flatColumn{
		rdr:         p.reader.ParquetReader(),
		src:         p.f,
		props:       p.props,
		flatScratch: flatScratchPools[kind].Get().(*flatScratch),
		leaf:        leaf,
		kind:        kind,
		dt:          p.reader.Manifest.Fields[field].Field.Type,
		nullable:    col.MaxDefinitionLevel() == 1,
		rg:          -1,
	}
}

// newBuffer allocates a zeroed buffer of n bytes.
func newBuffer(n int) *memory.Buffer {
	b := memory.NewResizableBuffer(memory.DefaultAllocator)
	b.Resize(n)
	return b
}

// next reads the next n rows, crossing pages and row groups as needed.
func (c *flatColumn) next(n int) (arrow.Array, error) {
	var validity, values, offsets *memory.Buffer
	release := func() {
		for _, b := range []*memory.Buffer{validity, values, offsets} {
			if b != nil {
				b.Release()
			}
		}
	}
	var bitmap []byte
	if c.nullable {
		validity = newBuffer(int(bitutil.BytesForBits(int64(n))))
		bitmap = validity.Bytes()
	}
	switch c.kind {
	case flatFixed32:
		values = newBuffer(n * 4)
	case flatFixed64:
		values = newBuffer(n * 8)
	case flatBool:
		values = newBuffer(int(bitutil.BytesForBits(int64(n))))
	case flatBinary:
		offsets = newBuffer((n + 1) * 4)
		c.bytes = c.bytes[:0]
	}
	nulls := 0
	for pos := 0; pos < n; {
		if c.pageLeft == 0 {
			if err := c.nextPage(); err != nil {
				release()
				return nil, fmt.Errorf("column %d, row group %d: %w", c.leaf, c.rg, err)
			}
			continue
		}
		run := min(n-pos, c.pageLeft)
		valid := run
		if c.nullable {
			ones, err := c.defs.decodeBits(bitmap, pos, run)
			if err != nil {
				release()
				return nil, fmt.Errorf("column %d, row group %d: definition levels: %w", c.leaf, c.rg, err)
			}
			valid = ones
		}
		var err error
		switch c.kind {
		case flatFixed32:
			err = readFixed(c, arrow.Uint32Traits.CastFromBytes(values.Bytes())[pos:pos+run], valid, bitmap, pos, c.dict32)
		case flatFixed64:
			err = readFixed(c, arrow.Uint64Traits.CastFromBytes(values.Bytes())[pos:pos+run], valid, bitmap, pos, c.dict64)
		case flatBool:
			err = c.readBools(values.Bytes(), pos, run, valid, bitmap)
		case flatBinary:
			err = c.readBinary(arrow.Int32Traits.CastFromBytes(offsets.Bytes()), pos, run, valid, bitmap)
		}
		if err != nil {
			release()
			return nil, fmt.Errorf("column %d, row group %d: %w", c.leaf, c.rg, err)
		}
		nulls += run - valid
		pos += run
		c.pageLeft -= run
	}
	if nulls == 0 && validity != nil {
		validity.Release()
		validity = nil
	}
	bufs := []*memory.Buffer{validity, values}
	if c.kind == flatBinary {
		if len(c.bytes) > math.MaxInt32 {
			release()
			return nil, fmt.Errorf("column %d: %d bytes of values in one batch, more than 32-bit offsets allow", c.leaf, len(c.bytes))
		}
		values = newBuffer(len(c.bytes))
		copy(values.Bytes(), c.bytes)
		bufs = []*memory.Buffer{validity, offsets, values}
	}
	d := array.NewData(c.dt, n, bufs, nil, nulls, 0)
	release()
	defer d.Release()
	return array.MakeFromData(d), nil
}

// nextPage moves to the next data page, loading dictionary pages and moving
// to the next row group on the way.
func (c *flatColumn) nextPage() error {
	for {
		if c.pages != nil && c.pages.Next() {
			switch pg := c.pages.Page().(type) {
			case *file.DictionaryPage:
				if err := c.loadDictionary(pg); err != nil {
					return err
				}
			case *file.DataPageV1:
				return c.startV1(pg)
			case *file.DataPageV2:
				return c.startV2(pg)
			}
			continue
		}
		if c.pages != nil {
			err := c.pages.Err()
			c.endChunk()
			if err != nil {
				return err
			}
		}
		if c.rg+1 >= c.rdr.NumRowGroups() {
			return errors.New("column ended before the file's rows")
		}
		c.rg++
		if err := c.startChunk(); err != nil {
			return err
		}
	}
}

// startChunk prepares to read the column chunk of row group c.rg. Plain
// (unencrypted, recent) chunks are read through the pooled stream and page
// reader, reset to the chunk; others through a page reader of their own.
func (c *flatColumn) startChunk() error {
	c.hasDict = false
	md := c.rdr.MetaData()
	cc, err := md.RowGroup(c.rg).ColumnChunk(c.leaf)
	if err != nil {
		return err
	}
	start, size := cc.DataPageOffset(), cc.TotalCompressedSize()
	if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 && start > cc.DictionaryPageOffset() {
		start = cc.DictionaryPageOffset()
	}
	if cc.CryptoMetadata() != nil || md.WriterVersion().LessThan(metadata.Parquet816FixedVersion) || start < 0 || size < 0 {
		// arrow-go knows the decryption and the old writers' padding
		pr, err := c.rdr.RowGroup(c.rg).GetColumnPageReader(c.leaf)
		if err != nil {
			return err
		}
		c.pages, c.ownedPages = pr, true
		return nil
	}
	if c.stream == nil {
		// the stream's buffer size is min(BufferSize, the size given here):
		// the same for all chunks, whatever the size of this one
		st, err := c.props.GetStream(c.src, start, flatStreamBuffer)
		if err != nil {
			return err
		}
		c.stream = st
	}
	if c.flatScratch.pages == nil {
		pr, err := c.rdr.RowGroup(c.rg).GetColumnPageReader(c.leaf)
		if err != nil {
			return err
		}
		c.flatScratch.pages = pr
	}
	c.stream.Reset(io.NewSectionReader(c.src, start, size))
	c.flatScratch.pages.Reset(c.stream, cc.NumValues(), cc.Compression(), nil)
	if err := c.flatScratch.pages.Err(); err != nil {
		return err
	}
	c.pages, c.ownedPages = c.flatScratch.pages, false
	return nil
}

// endChunk lets go of the current column chunk's page reader.
func (c *flatColumn) endChunk() {
	if c.ownedPages {
		c.pages.Close()
	}
	c.pages, c.ownedPages, c.pageLeft = nil, false, 0
}

// close ends the column and returns its scratch to the pool; the column must
// not be used after.
func (c *flatColumn) close() {
	if c.pages != nil {
		c.endChunk()
	}
	if c.flatScratch != nil {
		if c.stream != nil {
			// let go of the file: the pool outlives it
			c.stream.Reset(bytes.NewReader(nil))
		}
		flatScratchPools[c.kind].Put(c.flatScratch)
		c.flatScratch = nil
	}
}

func (c *flatColumn) startV1(pg *file.DataPageV1) error {
	data := pg.Data()
	if c.nullable {
		if pg.DefinitionLevelEncoding() != parquet.Encodings.RLE {
			return fmt.Errorf("unsupported definition level encoding %s", pg.DefinitionLevelEncoding())
		}
		if len(data) < 4 {
			return errors.New("data page too short for its definition levels")
		}
		l := int(binary.LittleEndian.Uint32(data))
		if l < 0 || l > len(data)-4 {
			return errors.New("definition levels overrun the data page")
		}
		c.defs.reset(data[4:4+l], 1)
		data = data[4+l:]
	}
	c.pageLeft = int(pg.NumValues())
	return c.startValues(parquet.Encoding(pg.Encoding()), data)
}

func (c *flatColumn) startV2(pg *file.DataPageV2) error {
	data := pg.Data()
	rep, def := int(pg.RepetitionLevelByteLen()), int(pg.DefinitionLevelByteLen())
	if rep < 0 || def < 0 || rep+def > len(data) {
		return errors.New("levels overrun the data page")
	}
	if c.nullable {
		c.defs.reset(data[rep:rep+def], 1)
	}
	c.pageLeft = int(pg.NumValues())
	return c.startValues(parquet.Encoding(pg.Encoding()), data[rep+def:])
}

// startValues prepares to decode a data page's values.
func (c *flatColumn) startValues(enc parquet.Encoding, data []byte) error {
	c.dictMode, c.boolRLE, c.boolBit, c.plain = false, false, 0, nil
	switch enc {
	case parquet.Encodings.Plain:
		c.plain = data
	case parquet.Encodings.PlainDict, parquet.Encodings.RLEDict:
		if !c.hasDict {
			return errors.New("dictionary-encoded page without a dictionary page")
		}
		c.dictMode = true
		if len(data) == 0 { // only nulls
			c.idx.reset(nil, 0)
			return nil
		}
		if data[0] > 32 {
			return fmt.Errorf("invalid dictionary index bit width %d", data[0])
		}
		c.idx.reset(data[1:], uint(data[0]))
	case parquet.Encodings.RLE:
		if c.kind != flatBool {
			return errors.New("RLE values in a non-boolean column")
		}
		if len(data) < 4 {
			return errors.New("data page too short for its RLE booleans")
		}
		l := int(binary.LittleEndian.Uint32(data))
		if l < 0 || l > len(data)-4 {
			return errors.New("RLE booleans overrun the data page")
		}
		c.boolRLE = true
		c.boolDec.reset(data[4:4+l], 1)
	default:
		return fmt.Errorf("unsupported encoding %s", enc)
	}
	return nil
}

// loadDictionary decodes a dictionary page into the column's dictionary.
func (c *flatColumn) loadDictionary(pg *file.DictionaryPage) error {
	if enc := parquet.Encoding(pg.Encoding()); enc != parquet.Encodings.Plain && enc != parquet.Encodings.PlainDict {
		return fmt.Errorf("unsupported dictionary page encoding %s", enc)
	}
	n := int(pg.NumValues())
	data := pg.Data()
	if n < 0 {
		return errors.New("negative dictionary size")
	}
	switch c.kind {
	case flatFixed32:
		if len(data) < n*4 {
			return errors.New("dictionary page too short")
		}
		c.dict32 = resize(c.dict32, n)
		copy(arrow.Uint32Traits.CastToBytes(c.dict32), data)
	case flatFixed64:
		if len(data) < n*8 {
			return errors.New("dictionary page too short")
		}
		c.dict64 = resize(c.dict64, n)
		copy(arrow.Uint64Traits.CastToBytes(c.dict64), data)
	case flatBinary:
		c.dictOffsets = resize(c.dictOffsets, n+1)
		c.dictData = c.dictData[:0]
		c.dictOffsets[0] = 0
		for i := 0; i < n; i++ {
			if len(data) < 4 {
				return errors.New("dictionary page too short")
			}
			l := int(binary.LittleEndian.Uint32(data))
			if l < 0 || l > len(data)-4 {
				return errors.New("dictionary value overruns the page")
			}
			c.dictData = append(c.dictData, data[4:4+l]...)
			if len(c.dictData) > math.MaxInt32 {
				return errors.New("dictionary too large")
			}
			c.dictOffsets[i+1] = int32(len(c.dictData))
			data = data[4+l:]
		}
		// shortCopy bytes to spare past the end, for copyShort
		c.dictData = append(c.dictData, make([]byte, shortCopy)...)[:len(c.dictData)]
	default:
		return errors.New("dictionary page in a boolean column")
	}
	c.hasDict = true
	return nil
}

// resize returns s with length n, reallocated only when its capacity is short.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// dictIndices decodes the next n dictionary indices into the column's scratch.
func (c *flatColumn) dictIndices(n int) ([]uint32, error) {
	c.indices = resize(c.indices, n)
	if err := c.idx.decodeUint32(c.indices); err != nil {
		return nil, err
	}
	return c.indices, nil
}

// readFixed reads a page segment of len(out) rows of a fixed-width column, of
// which valid are not null (bitmap from bit pos on says which), into out.
func readFixed[T uint32 | uint64](c *flatColumn, out []T, valid int, bitmap []byte, pos int, dict []T) error {
	dense := out[:valid]
	if c.dictMode {
		idx, err := c.dictIndices(valid)
		if err != nil {
			return err
		}
		for i, j := range idx {
			if int(j) >= len(dict) {
				return fmt.Errorf("dictionary index %d out of range (%d values)", j, len(dict))
			}
			dense[i] = dict[j]
		}
	} else {
		raw := castToBytes(dense)
		if len(c.plain) < len(raw) {
			return errors.New("plain values end early")
		}
		copy(raw, c.plain)
		c.plain = c.plain[len(raw):]
	}
	if valid < len(out) {
		spread(out, valid, bitmap, pos)
	}
	return nil
}

// castToBytes views a slice of fixed-width values as bytes.
func castToBytes[T uint32 | uint64](s []T) []byte {
	switch s := any(s).(type) {
	case []uint32:
		return arrow.Uint32Traits.CastToBytes(s)
	case []uint64:
		return arrow.Uint64Traits.CastToBytes(s)
	}
	panic("unreachable")
}

// spread moves the first valid values of out to the rows that bitmap (from
// bit pos on) marks valid, zeroing the others. It works backwards, in place.
func spread[T uint32 | uint64](out []T, valid int, bitmap []byte, pos int) {
	j := valid - 1
	for i := len(out) - 1; i > j; i-- {
		if bitutil.BitIsSet(bitmap, pos+i) {
			out[i] = out[j]
			j--
		} else {
			out[i] = 0
		}
	}
}

// readBools reads a page segment of run rows of a boolean column into the
// bitmap out from bit pos on; valid of them are not null (validity says which).
func (c *flatColumn) readBools(out []byte, pos, run, valid int, validity []byte) error {
	src, srcOff := c.plain, c.boolBit
	if c.boolRLE {
		c.boolBits = resize(c.boolBits, int(bitutil.BytesForBits(int64(valid))))
		clear(c.boolBits) // decodeBits ORs bit-packed runs in
		if _, err := c.boolDec.decodeBits(c.boolBits, 0, valid); err != nil {
			return err
		}
		src, srcOff = c.boolBits, 0
	} else {
		if srcOff+valid > len(src)*8 {
			return errors.New("plain booleans end early")
		}
		c.boolBit += valid
	}
	if valid == run {
		orBits(out, pos, src, srcOff, run)
		return nil
	}
	j := srcOff
	for i := 0; i < run; i++ {
		if bitutil.BitIsSet(validity, pos+i) {
			if bitutil.BitIsSet(src, j) {
				bitutil.SetBit(out, pos+i)
			}
			j++
		}
	}
	return nil
}

// shortCopy is the length up to which readBinary copies a dictionary string
// as two 8-byte words rather than through memmove.
const shortCopy = 16

// copyShort copies 16 bytes from src to dst.
func copyShort(dst, src []byte) {
	_, _ = dst[15], src[15]
	binary.LittleEndian.PutUint64(dst, binary.LittleEndian.Uint64(src))
	binary.LittleEndian.PutUint64(dst[8:], binary.LittleEndian.Uint64(src[8:]))
}

// readBinary reads a page segment of run rows of a byte-array column: it
// appends the values to c.bytes and sets offsets[pos+1 : pos+run+1]; valid of
// the rows are not null (validity says which).
func (c *flatColumn) readBinary(offsets []int32, pos, run, valid int, validity []byte) error {
	offsets = offsets[pos : pos+run+1]
	buf := c.bytes
	if c.dictMode {
		idx, err := c.dictIndices(valid)
		if err != nil {
			return err
		}
		// size the batch's bytes once for this segment
		ndict := len(c.dictOffsets) - 1
		total := 0
		for _, j := range idx {
			if int(j) >= ndict {
				return fmt.Errorf("dictionary index %d out of range (%d values)", j, ndict)
			}
			total += int(c.dictOffsets[j+1] - c.dictOffsets[j])
		}
		if cap(buf)-len(buf) < total+shortCopy {
			grown := make([]byte, len(buf), 2*cap(buf)+total+shortCopy)
			copy(grown, buf)
			buf = grown
		}
		dictData, dictOffsets := c.dictData, c.dictOffsets
		k := 0
		for i := 0; i < run; i++ {
			if valid == run || bitutil.BitIsSet(validity, pos+i) {
				j := idx[k]
				k++
				o, e := dictOffsets[j], dictOffsets[j+1]
				if n := len(buf); e-o <= shortCopy {
					// buf and dictData have shortCopy bytes to spare
					// past their lengths: copy a whole word pair
					copyShort(buf[n:n+shortCopy], dictData[o:o+shortCopy])
					buf = buf[:n+int(e-o)]
				} else {
					buf = append(buf, dictData[o:e]...)
				}
			}
			offsets[i+1] = int32(len(buf))
		}
	} else {
		data := c.plain
		for i := 0; i < run; i++ {
			if valid == run || bitutil.BitIsSet(validity, pos+i) {
				if len(data) < 4 {
					return errors.New("plain values end early")
				}
				l := int(binary.LittleEndian.Uint32(data))
				if l < 0 || l > len(data)-4 {
					return errors.New("plain value overruns the page")
				}
				buf = append(buf, data[4:4+l]...)
				data = data[4+l:]
			}
			offsets[i+1] = int32(len(buf))
		}
		c.plain = data
	}
	c.bytes = buf
	return nil
}
