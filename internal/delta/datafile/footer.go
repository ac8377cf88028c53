package datafile

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// FooterStats returns the Delta statistics JSON of a Parquet file computed
// from its footer alone (the column chunk statistics of every row group),
// in the format and under the rules of the statistics a Writer computes
// from the data: the same leaf columns (the first statsColumns, with
// Options.StatsColumns' meaning), string truncation and rendering.
//
// fields are the file's columns as the table sees them (physical names,
// Delta's Arrow types); a leaf is matched to the file's column of the same
// path. What a footer cannot tell is left out, which Delta allows:
//
//   - min and max of a column when some row group holding values has none
//     (statistics not written, or dropped by the writer as too large) or
//     stores it in a form that does not fit the column's type;
//   - the max of a float or double column: Parquet writers leave NaN out
//     of min/max, and in Delta's order NaN is above every number, so the
//     footer max is not an upper bound (the min still is a lower bound;
//     a column of only NaN has no min/max in the footer, and none here);
//   - the null count of a column when some row group lacks it, and of a
//     list or map column (the footer counts null leaf values, not null
//     lists or maps). A field of a struct counts rows where the struct is
//     null, as the Writer does.
func FooterStats(md *metadata.FileMetaData, fields []arrow.Field, statsColumns int) (string, error) {
	n := statsColumns
	switch {
	case n < -1:
		return "", fmt.Errorf("datafile: stats columns %d: want -1 (all), 0 (default 32) or a positive count", n)
	case n == 0:
		n = DefaultStatsColumns
	}
	cols := newStatsTree(fields, n)
	byPath := make(map[string]int, md.Schema.NumColumns())
	for i := 0; i < md.Schema.NumColumns(); i++ {
		byPath[strings.Join(md.Schema.Column(i).ColumnPath(), "\x00")] = i
	}
	var walk func(cols []*colStats, fields []arrow.Field, prefix []string) error
	walk = func(cols []*colStats, fields []arrow.Field, prefix []string) error {
		for i, c := range cols { // cols follow fields, in order
			f := fields[i]
			path := append(prefix[:len(prefix):len(prefix)], f.Name)
			if c.isStruct {
				if err := walk(c.children, f.Type.(*arrow.StructType).Fields(), path); err != nil {
					return err
				}
				continue
			}
			col, ok := byPath[strings.Join(path, "\x00")]
			if !ok || !isFlat(f.Type) {
				c.nullsUnknown, c.boundsUnknown = true, true
				continue
			}
			if err := c.foldFooter(md, col); err != nil {
				return fmt.Errorf("datafile: column %s: %w", strings.Join(path, "."), err)
			}
		}
		return nil
	}
	if err := walk(cols, fields, nil); err != nil {
		return "", err
	}
	return (&fileStats{cols: cols}).json(md.NumRows), nil
}

// isFlat reports whether a leaf of the stats tree is one Parquet column (not a list or map).
func isFlat(dt arrow.DataType) bool {
	switch dt.(type) {
	case *arrow.ListType, *arrow.LargeListType, *arrow.MapType, *arrow.FixedSizeListType:
		return false
	}
	return true
}

// foldFooter folds the statistics of Parquet column col over every row group.
func (c *colStats) foldFooter(md *metadata.FileMetaData, col int) error {
	descr := md.Schema.Column(col)
	if c.minMax && !footerBoundsFit(c, descr) {
		c.boundsUnknown = true
	}
	if c.kind == kindFloat32 || c.kind == kindFloat64 {
		c.noMax = true
	}
	for rg := 0; rg < md.NumRowGroups(); rg++ {
		rgm := md.RowGroup(rg)
		cc, err := rgm.ColumnChunk(col)
		if err != nil {
			return err
		}
		st, err := cc.Statistics()
		if err != nil {
			return err
		}
		allNull := false
		if st == nil || !st.HasNullCount() {
			c.nullsUnknown = true
		} else {
			c.nulls += st.NullCount()
			allNull = st.NullCount() >= rgm.NumRows()
		}
		if !c.minMax || c.boundsUnknown || allNull || rgm.NumRows() == 0 {
			continue
		}
		if st == nil || !st.HasMinMax() || !bothBounds(md, rg, col) {
			c.boundsUnknown = true
			continue
		}
		if !c.foldChunk(st) {
			c.boundsUnknown = true
		}
	}
	return nil
}

// bothBounds reports whether a column chunk's footer statistics hold both
// a min and a max: arrow-go's TypedStatistics.HasMinMax holds when either
// is there, and a writer drops each one larger than its size limit alone.
func bothBounds(md *metadata.FileMetaData, rg, col int) bool {
	if md.FileMetaData == nil || rg >= len(md.RowGroups) || col >= len(md.RowGroups[rg].Columns) {
		return false
	}
	st := md.RowGroups[rg].Columns[col].GetMetaData().GetStatistics()
	if st == nil {
		return false
	}
	if md.Schema.Column(col).ColumnOrder() == parquet.ColumnOrders.TypeDefinedOrder {
		return st.IsSetMinValue() && st.IsSetMaxValue()
	}
	return st.IsSetMin() && st.IsSetMax()
}

// footerBoundsFit reports whether the footer's min/max of a Parquet column
// can stand for the bounds of a leaf of kind c.kind, and sets the time
// unit of timestamps from the file's.
func footerBoundsFit(c *colStats, descr *schema.Column) bool {
	if descr.MaxRepetitionLevel() > 0 {
		return false
	}
	phys, logical := descr.PhysicalType(), descr.LogicalType()
	if it, ok := logical.(schema.IntLogicalType); ok && !it.IsSigned() {
		return false
	}
	switch c.kind {
	case kindInt:
		switch logical.(type) {
		case nil, schema.NoLogicalType, schema.IntLogicalType:
		default:
			return false
		}
		return phys == parquet.Types.Int32 || phys == parquet.Types.Int64
	case kindDate:
		_, ok := logical.(schema.DateLogicalType)
		return ok && phys == parquet.Types.Int32
	case kindTimestamp, kindTimestampNTZ:
		ts, ok := logical.(schema.TimestampLogicalType)
		if !ok || phys != parquet.Types.Int64 {
			return false
		}
		switch ts.TimeUnit() {
		case schema.TimeUnitMillis:
			c.unit = arrow.Millisecond
		case schema.TimeUnitMicros:
			c.unit = arrow.Microsecond
		case schema.TimeUnitNanos:
			c.unit = arrow.Nanosecond
		default:
			return false
		}
		return true
	case kindFloat32:
		return phys == parquet.Types.Float
	case kindFloat64:
		return phys == parquet.Types.Double || phys == parquet.Types.Float
	case kindDecimal:
		dec, ok := logical.(schema.DecimalLogicalType)
		if !ok || dec.Scale() != c.scale || descr.SortOrder() != schema.SortSIGNED {
			return false
		}
		switch phys {
		case parquet.Types.Int32, parquet.Types.Int64:
			return true
		case parquet.Types.FixedLenByteArray, parquet.Types.ByteArray:
			return true
		}
		return false
	case kindString:
		return phys == parquet.Types.ByteArray && descr.SortOrder() == schema.SortUNSIGNED
	}
	return false
}

// foldChunk folds one column chunk's min and max; false when they cannot be read.
func (c *colStats) foldChunk(st metadata.TypedStatistics) bool {
	switch c.kind {
	case kindInt, kindDate, kindTimestamp, kindTimestampNTZ:
		switch s := st.(type) {
		case *metadata.Int32Statistics:
			c.foldInt(int64(s.Min()), int64(s.Max()), true)
		case *metadata.Int64Statistics:
			c.foldInt(s.Min(), s.Max(), true)
		default:
			return false
		}
	case kindFloat32, kindFloat64:
		var lo float64
		switch s := st.(type) {
		case *metadata.Float32Statistics:
			lo = float64(s.Min())
		case *metadata.Float64Statistics:
			lo = s.Min()
		default:
			return false
		}
		if lo != lo {
			return false
		}
		if lo == 0 {
			lo = 0 // writers store a zero min as -0.0 (PARQUET-1222); the Writer's is 0
		}
		// the max is not written (noMax); the min of the non-NaN values is
		// the min in Delta's order
		c.foldFloat(floatRange{lo: lo, hi: lo, num: true})
	case kindDecimal:
		var lo, hi decimal128.Num
		switch s := st.(type) {
		case *metadata.Int32Statistics:
			lo, hi = decimal128.FromI64(int64(s.Min())), decimal128.FromI64(int64(s.Max()))
		case *metadata.Int64Statistics:
			lo, hi = decimal128.FromI64(s.Min()), decimal128.FromI64(s.Max())
		case *metadata.FixedLenByteArrayStatistics:
			var ok1, ok2 bool
			lo, ok1 = bigEndianDecimal(s.Min())
			hi, ok2 = bigEndianDecimal(s.Max())
			if !ok1 || !ok2 {
				return false
			}
		case *metadata.ByteArrayStatistics:
			var ok1, ok2 bool
			lo, ok1 = bigEndianDecimal(s.Min())
			hi, ok2 = bigEndianDecimal(s.Max())
			if !ok1 || !ok2 {
				return false
			}
		default:
			return false
		}
		c.foldDecimalRange(lo, hi)
	case kindString:
		s, ok := st.(*metadata.ByteArrayStatistics)
		if !ok {
			return false
		}
		c.foldStringRange(string(s.Min()), string(s.Max()))
	default:
		return false
	}
	return true
}

// bigEndianDecimal decodes an unscaled decimal stored as big-endian two's
// complement bytes (at most 16).
func bigEndianDecimal(b []byte) (decimal128.Num, bool) {
	if len(b) == 0 || len(b) > 16 {
		return decimal128.Num{}, false
	}
	var buf [16]byte
	if b[0]&0x80 != 0 {
		for i := range buf {
			buf[i] = 0xff
		}
	}
	copy(buf[16-len(b):], b)
	return decimal128.New(int64(binary.BigEndian.Uint64(buf[:8])), binary.BigEndian.Uint64(buf[8:])), true
}
