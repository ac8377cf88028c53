package datafile

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// stringPrefixLength is the number of characters (code points) kept of
// string min/max values (Delta's dataSkippingStringPrefixLength default).
const stringPrefixLength = 32

// statsKind says which min/max a leaf column collects.
type statsKind uint8

const (
	kindNone statsKind = iota // null count only: boolean, binary, list, map
	kindInt                   // byte, short, integer, long
	kindFloat32
	kindFloat64
	kindDecimal
	kindDate
	kindTimestamp    // with time zone: ISO 8601 in UTC with Z
	kindTimestampNTZ // without: ISO 8601 without a zone
	kindString
)

// colStats accumulates the statistics of one column of a file: a struct
// (children) or a leaf. Values are folded in batch by batch.
type colStats struct {
	name     string
	children []*colStats // struct fields collected (nil for a leaf)
	isStruct bool
	kind     statsKind
	minMax   bool // leaf collects min/max; for a struct: some descendant does
	unit     arrow.TimeUnit
	scale    int32

	nulls int64
	has   bool // a non-null value was seen (min/max below are set)
	imin  int64
	imax  int64
	fmin  float64 // over non-NaN values
	fmax  float64
	fnum  bool // saw a non-NaN float
	fnan  bool // saw a NaN
	dmin  decimal128.Num
	dmax  decimal128.Num
	smin  string // truncated to stringPrefixLength code points
	smax  string // truncated to maxKeep code points (enough to build the final max)

	// Set only for statistics taken from a Parquet footer (FooterStats):
	nullsUnknown  bool // some row group has no null count: no nullCount is written
	boundsUnknown bool // some row group with values has no min/max: neither is written
	noMax         bool // the max is not known to be an upper bound (floats: NaN): only the min is written
}

// maxKeep is how many code points of the string max are kept: the final
// max (truncateMax) looks at most at code point 2*stringPrefixLength.
const maxKeep = 2*stringPrefixLength + 2

// newStatsTree builds the collectors for the data fields, following Spark's
// dataSkippingNumIndexedCols: only the first n leaf columns (depth first;
// a list or map counts as one leaf) get statistics at all; n < 0 means all.
func newStatsTree(fields []arrow.Field, n int) []*colStats {
	budget := n
	if n < 0 {
		budget = math.MaxInt
	}
	out, _ := statsFields(fields, budget)
	return out
}

func statsFields(fields []arrow.Field, budget int) ([]*colStats, int) {
	var out []*colStats
	used := 0
	for _, f := range fields {
		if used >= budget {
			break
		}
		c := &colStats{name: f.Name}
		if st, ok := f.Type.(*arrow.StructType); ok {
			c.isStruct = true
			var cnt int
			c.children, cnt = statsFields(st.Fields(), budget-used)
			used += cnt
			for _, ch := range c.children {
				c.minMax = c.minMax || ch.minMax
			}
		} else {
			used++
			c.kind, c.unit, c.scale = leafKind(f.Type)
			c.minMax = c.kind != kindNone
		}
		out = append(out, c)
	}
	return out, used
}

func leafKind(dt arrow.DataType) (statsKind, arrow.TimeUnit, int32) {
	switch t := dt.(type) {
	case *arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Int64Type:
		return kindInt, 0, 0
	case *arrow.Float32Type:
		return kindFloat32, 0, 0
	case *arrow.Float64Type:
		return kindFloat64, 0, 0
	case *arrow.Decimal128Type:
		return kindDecimal, 0, t.Scale
	case *arrow.Date32Type:
		return kindDate, 0, 0
	case *arrow.TimestampType:
		if t.TimeZone != "" {
			return kindTimestamp, t.Unit, 0
		}
		return kindTimestampNTZ, t.Unit, 0
	case *arrow.StringType, *arrow.LargeStringType:
		return kindString, 0, 0
	}
	return kindNone, 0, 0
}

// update folds arr into the statistics. valid, when not nil, marks the rows
// whose ancestors (structs) are all non-null; other rows count as null.
func (c *colStats) update(arr arrow.Array, valid []bool) {
	n := arr.Len()
	if c.isStruct {
		sa := arr.(*array.Struct)
		childValid := valid
		if arr.NullN() > 0 {
			childValid = make([]bool, n)
			for i := range n {
				childValid[i] = (valid == nil || valid[i]) && arr.IsValid(i)
			}
		}
		for i, ch := range c.children {
			ch.update(sa.Field(i), childValid)
		}
		return
	}
	dense := valid == nil && arr.NullN() == 0
	if dense {
		// no nulls
	} else if valid == nil {
		c.nulls += int64(arr.NullN())
	} else {
		for i := range n {
			if !valid[i] || arr.IsNull(i) {
				c.nulls++
			}
		}
	}
	if !c.minMax || arr.NullN() == n {
		return
	}
	ok := func(i int) bool { return (valid == nil || valid[i]) && arr.IsValid(i) }
	if dense {
		ok = nil
	}
	switch a := arr.(type) {
	case *array.Int8:
		c.foldInt(scanInts(a.Int8Values(), ok))
	case *array.Int16:
		c.foldInt(scanInts(a.Int16Values(), ok))
	case *array.Int32:
		c.foldInt(scanInts(a.Int32Values(), ok))
	case *array.Int64:
		c.foldInt(scanInts(a.Int64Values(), ok))
	case *array.Date32:
		c.foldInt(scanInts(a.Date32Values(), ok))
	case *array.Timestamp:
		c.foldInt(scanInts(a.TimestampValues(), ok))
	case *array.Float32:
		c.foldFloat(scanFloats(a.Float32Values(), ok))
	case *array.Float64:
		c.foldFloat(scanFloats(a.Float64Values(), ok))
	case *array.Decimal128:
		c.foldDecimal(a, ok)
	case *array.String:
		c.foldString(a, ok)
	case *array.LargeString:
		c.foldString(a, ok)
	}
}

type integer interface {
	~int8 | ~int16 | ~int32 | ~int64
}

// scanInts returns the min and max of vals over the rows ok accepts (all when ok is nil).
func scanInts[T integer](vals []T, ok func(int) bool) (lo, hi int64, found bool) {
	if ok == nil {
		if len(vals) == 0 {
			return 0, 0, false
		}
		mn, mx := vals[0], vals[0]
		for _, v := range vals[1:] {
			mn = min(mn, v)
			mx = max(mx, v)
		}
		return int64(mn), int64(mx), true
	}
	for i, v := range vals {
		if !ok(i) {
			continue
		}
		if !found {
			lo, hi, found = int64(v), int64(v), true
			continue
		}
		lo = min(lo, int64(v))
		hi = max(hi, int64(v))
	}
	return lo, hi, found
}

func (c *colStats) foldInt(lo, hi int64, found bool) {
	if !found {
		return
	}
	if !c.has {
		c.imin, c.imax, c.has = lo, hi, true
		return
	}
	c.imin = min(c.imin, lo)
	c.imax = max(c.imax, hi)
}

type floatRange struct {
	lo, hi   float64
	num, nan bool
}

func scanFloats[T float32 | float64](vals []T, ok func(int) bool) floatRange {
	var r floatRange
	for i, v := range vals {
		if ok != nil && !ok(i) {
			continue
		}
		f := float64(v)
		if f != f {
			r.nan = true
			continue
		}
		if !r.num {
			r.lo, r.hi, r.num = f, f, true
			continue
		}
		if f < r.lo {
			r.lo = f
		}
		if f > r.hi {
			r.hi = f
		}
	}
	return r
}

// foldFloat follows Spark's ordering, in which NaN is larger than any
// number: the max is NaN when any value is, the min only when all are.
func (c *colStats) foldFloat(r floatRange) {
	if !r.num && !r.nan {
		return
	}
	c.has = true
	c.fnan = c.fnan || r.nan
	if !r.num {
		return
	}
	if !c.fnum {
		c.fmin, c.fmax, c.fnum = r.lo, r.hi, true
		return
	}
	c.fmin = math.Min(c.fmin, r.lo)
	c.fmax = math.Max(c.fmax, r.hi)
}

func (c *colStats) foldDecimal(a *array.Decimal128, ok func(int) bool) {
	vals := a.Values()
	for i, v := range vals {
		if ok != nil && !ok(i) {
			continue
		}
		c.foldDecimalRange(v, v)
	}
}

func (c *colStats) foldDecimalRange(lo, hi decimal128.Num) {
	if !c.has {
		c.dmin, c.dmax, c.has = lo, hi, true
		return
	}
	if lo.Less(c.dmin) {
		c.dmin = lo
	}
	if c.dmax.Less(hi) {
		c.dmax = hi
	}
}

type stringArray interface {
	arrow.Array
	Value(int) string
}

func (c *colStats) foldString(a stringArray, ok func(int) bool) {
	var lo, hi string
	found := false
	n := a.Len()
	for i := range n {
		if ok != nil && !ok(i) {
			continue
		}
		v := a.Value(i)
		if !found {
			lo, hi, found = v, v, true
			continue
		}
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	if !found {
		return
	}
	c.foldStringRange(lo, hi)
}

// foldStringRange folds the string range [lo, hi] into the statistics.
func (c *colStats) foldStringRange(lo, hi string) {
	// Truncation is monotonic, so min(truncated) = truncated(min): keep
	// only prefixes (copied: the batch's buffers are not ours to keep).
	lo = truncateRunes(lo, stringPrefixLength)
	hi = truncateRunes(hi, maxKeep)
	if !c.has {
		c.smin, c.smax, c.has = cloneString(lo), cloneString(hi), true
		return
	}
	if lo < c.smin {
		c.smin = cloneString(lo)
	}
	if hi > c.smax {
		c.smax = cloneString(hi)
	}
}

func cloneString(s string) string { return string([]byte(s)) }

// truncateRunes returns the first n code points of s (an invalid byte counts as one).
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for k := 0; k < n; k++ {
		if i >= len(s) {
			return s
		}
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i]
}

// truncateMax shortens a string max to about stringPrefixLength code points
// while keeping it an upper bound, as Delta Spark does
// (StatisticsCollection.truncateMaxStringAgg): the prefix is followed by a
// tie-breaker, U+007F when the first dropped character is below it, else
// U+10FFFF; prefixes ending in U+10FFFF are extended (up to twice the
// length). ok is false when no bound that short exists: the max is omitted.
func truncateMax(s string) (string, bool) {
	runes := []rune(truncateRunes(s, 2*stringPrefixLength+1))
	if len(runes) <= stringPrefixLength {
		return s, true
	}
	for cur := stringPrefixLength; cur <= 2*stringPrefixLength; {
		if cur >= len(runes) {
			return s, true // the whole string fits
		}
		switch r := runes[cur]; {
		case r == utf8.MaxRune:
			cur++
		case r < 0x7f:
			return string(runes[:cur]) + "\x7f", true
		default:
			return string(runes[:cur]) + string(utf8.MaxRune), true
		}
	}
	return "", false
}

// fileStats is the statistics of one data file.
type fileStats struct {
	cols []*colStats
}

func (s *fileStats) update(rec arrow.RecordBatch) {
	for i, c := range s.cols {
		c.update(rec.Column(i), nil)
	}
}

// json renders the Delta stats JSON: numRecords, minValues, maxValues and
// nullCount, nested like the schema (physical names).
func (s *fileStats) json(numRecords int64) string {
	b := make([]byte, 0, 256)
	b = append(b, `{"numRecords":`...)
	b = strconv.AppendInt(b, numRecords, 10)
	b = append(b, `,"minValues":`...)
	b = appendMinMax(b, s.cols, false)
	b = append(b, `,"maxValues":`...)
	b = appendMinMax(b, s.cols, true)
	b = append(b, `,"nullCount":`...)
	b = appendNulls(b, s.cols)
	b = append(b, '}')
	return string(b)
}

func appendMinMax(b []byte, cols []*colStats, isMax bool) []byte {
	b = append(b, '{')
	first := true
	for _, c := range cols {
		if !c.minMax {
			continue
		}
		var val []byte
		if c.isStruct {
			val = appendMinMax(nil, c.children, isMax)
		} else {
			var ok bool
			if val, ok = c.value(isMax); !ok {
				continue
			}
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, c.name)
		b = append(b, ':')
		b = append(b, val...)
	}
	return append(b, '}')
}

// hasNulls reports whether a column has a null count to write: a leaf whose
// count is known, a struct with such a leaf.
func (c *colStats) hasNulls() bool {
	if !c.isStruct {
		return !c.nullsUnknown
	}
	for _, ch := range c.children {
		if ch.hasNulls() {
			return true
		}
	}
	return false
}

func appendNulls(b []byte, cols []*colStats) []byte {
	b = append(b, '{')
	first := true
	for _, c := range cols {
		if !c.hasNulls() {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, c.name)
		b = append(b, ':')
		if c.isStruct {
			b = appendNulls(b, c.children)
		} else {
			b = strconv.AppendInt(b, c.nulls, 10)
		}
	}
	return append(b, '}')
}

// value renders the min or max of a leaf as JSON; ok is false when there is none.
func (c *colStats) value(isMax bool) ([]byte, bool) {
	if !c.has || c.boundsUnknown || isMax && c.noMax {
		return nil, false
	}
	pick := func(lo, hi int64) int64 {
		if isMax {
			return hi
		}
		return lo
	}
	switch c.kind {
	case kindInt:
		return strconv.AppendInt(nil, pick(c.imin, c.imax), 10), true
	case kindFloat32, kindFloat64:
		var f float64
		switch {
		case isMax && c.fnan, !isMax && !c.fnum:
			f = math.NaN()
		case isMax:
			f = c.fmax
		default:
			f = c.fmin
		}
		return appendJSONFloat(nil, f, c.kind == kindFloat32), true
	case kindDecimal:
		v := c.dmin
		if isMax {
			v = c.dmax
		}
		return []byte(formatDecimal(v, c.scale)), true
	case kindDate:
		s, err := formatDate(pick(c.imin, c.imax))
		if err != nil {
			return nil, false
		}
		return appendJSONString(nil, s), true
	case kindTimestamp, kindTimestampNTZ:
		us, err := toMicros(pick(c.imin, c.imax), c.unit)
		if err != nil {
			return nil, false
		}
		t, err := microsTime(us)
		if err != nil {
			return nil, false
		}
		// Milliseconds, rounded down (time.Time's fraction is never
		// negative), as Spark's JSON timestamp format writes them; readers
		// allow for the dropped microseconds when they use a max.
		s := t.Format("2006-01-02T15:04:05.000")
		if c.kind == kindTimestamp {
			s += "Z"
		}
		return appendJSONString(nil, s), true
	case kindString:
		// Text that is not UTF-8 cannot be a JSON string faithfully (and
		// truncateMax works on characters): no bound is better than a wrong one.
		s := c.smin
		if isMax {
			s = c.smax
		}
		if !utf8.ValidString(s) {
			return nil, false
		}
		if isMax {
			var ok bool
			if s, ok = truncateMax(s); !ok {
				return nil, false
			}
		}
		return appendJSONString(nil, s), true
	}
	return nil, false
}

// appendJSONFloat writes a float as a JSON number with the shortest digits
// that round-trip (float32 precision for float columns); NaN and the
// infinities are strings, as Spark (Jackson) writes them.
func appendJSONFloat(b []byte, f float64, single bool) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	bits := 64
	if single {
		bits = 32
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.AppendFloat(b, f, 'e', -1, bits)
	}
	b = strconv.AppendFloat(b, f, 'f', -1, bits)
	return b
}

// appendJSONString writes s as a JSON string (valid UTF-8 expected),
// escaping only what JSON requires.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexLower[c>>4], hexLower[c&15])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hexLower = "0123456789abcdef"
