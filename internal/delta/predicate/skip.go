package predicate

import (
	"math"
)

// Stats describes one data file for skipping. Every method may report false
// for "unknown". col is a path as returned by Bound.Columns. Min and Max are
// in the column's type as ParseStatValue returns them; a Min or Max of
// KindNull counts as unknown. Partition columns are passed as stats too:
// min = max = the value, nullCount = numRecords if the value is null, else 0.
type Stats interface {
	NumRecords() (int64, bool)
	Min(col string) (Value, bool)
	Max(col string) (Value, bool)
	NullCount(col string) (int64, bool)
}

// stringStatPrefix is the length at which a string max statistic may have
// been truncated: Delta keeps a 32-character prefix
// (delta.dataSkippingStringPrefixLength). A max of this many bytes or more is
// not an upper bound we trust; counting bytes rather than characters also
// covers writers that truncate by bytes (32 characters are at least 32 bytes).
const stringStatPrefix = 32

// timestampStatSlack widens a timestamp max statistic: Spark truncates
// timestamp statistics to milliseconds, so the true max may be up to 999µs
// above the recorded one.
const timestampStatSlack = 999

// MayMatch reports whether a file with statistics s may contain a row that
// satisfies the predicate. It is conservative: false means that no row can
// match, and whatever is unknown (missing statistics, comparisons between
// columns, NaN bounds) counts as "may match".
func (b *Bound) MayMatch(s Stats) bool {
	if s == nil {
		return true
	}
	if n, ok := s.NumRecords(); ok && n == 0 {
		return false
	}
	return mayBeTrue(b.root, false, s)
}

// mayBeTrue reports whether n (negated when neg) may be true for some row.
// NOT is pushed down: De Morgan for AND/OR, operator inversion for
// comparisons, IN <-> NOT IN, IS NULL <-> IS NOT NULL. Both are exact under
// three-valued logic (NOT of NULL is NULL) and with NaN as the largest float.
func mayBeTrue(n node, neg bool, s Stats) bool {
	switch n := n.(type) {
	case constNode:
		v := n.v
		if neg {
			v = notTri(v)
		}
		return v == triTrue
	case andNode:
		if neg { // NOT (a AND b) = NOT a OR NOT b
			return mayBeTrue(n.l, true, s) || mayBeTrue(n.r, true, s)
		}
		return mayBeTrue(n.l, false, s) && mayBeTrue(n.r, false, s)
	case orNode:
		if neg { // NOT (a OR b) = NOT a AND NOT b
			return mayBeTrue(n.l, true, s) && mayBeTrue(n.r, true, s)
		}
		return mayBeTrue(n.l, false, s) || mayBeTrue(n.r, false, s)
	case notNode:
		return mayBeTrue(n.x, !neg, s)
	case cmpNode:
		op := n.op
		if neg {
			op = op.negate()
		}
		if allNull(n.col, s) || (n.other != nil && allNull(n.other, s)) {
			return false // a comparison with NULL is never true
		}
		if n.other != nil {
			return true
		}
		return cmpMayBeTrue(n.col, op, n.lit, s)
	case inNode:
		not := n.not != neg
		if allNull(n.col, s) {
			return false
		}
		if not {
			// x NOT IN (a, b) = x != a AND x != b; with a NULL in the list
			// it is never true.
			if n.hasNull {
				return false
			}
			for _, v := range n.list {
				if !cmpMayBeTrue(n.col, OpNe, v, s) {
					return false
				}
			}
			return true
		}
		for _, v := range n.list {
			if cmpMayBeTrue(n.col, OpEq, v, s) {
				return true
			}
		}
		return false
	case nullNode:
		isNull := n.not == neg
		if isNull {
			nc, ok := s.NullCount(n.col.name)
			return !ok || nc > 0
		}
		return !allNull(n.col, s)
	}
	return true
}

func notTri(v tri) tri {
	switch v {
	case triTrue:
		return triFalse
	case triFalse:
		return triTrue
	}
	return triNull
}

// allNull reports whether the statistics prove every value of c null.
func allNull(c *colRef, s Stats) bool {
	n, ok := s.NumRecords()
	if !ok {
		return false
	}
	nc, ok := s.NullCount(c.name)
	return ok && nc >= n
}

// cmpMayBeTrue reports whether "c op lit" may hold for some non-null value of
// c within the file's [min, max] bounds.
func cmpMayBeTrue(c *colRef, op Op, lit Value, s Stats) bool {
	lo, loOK := s.Min(c.name)
	hi, hiOK := s.Max(c.name)
	loOK = loOK && !lo.isNull()
	hiOK = hiOK && !hi.isNull()
	switch c.class {
	case clsFloat:
		if (loOK && lo.isNaN()) || (hiOK && hi.isNaN()) {
			return true
		}
		// Writers that take bounds from Parquet statistics leave NaN out
		// of them, and NaN sorts above everything: when NaN satisfies the
		// comparison the max is no bound.
		if nan := (Value{Kind: KindFloat, Float: math.NaN()}); hiOK {
			if c, ok := Compare(nan, lit); !ok || op.holds(c) {
				hiOK = false
			}
		}
	case clsString, clsBinary:
		if hiOK && (hi.Kind == KindString || hi.Kind == KindBinary) && len(hi.Str) >= stringStatPrefix {
			hiOK = false // possibly a truncated prefix
		}
	case clsTimestamp:
		if hiOK && hi.Kind == KindTimestamp {
			if hi.Int <= math.MaxInt64-timestampStatSlack {
				hi.Int += timestampStatSlack
			} else {
				hiOK = false
			}
		}
	}
	// cmpLo and cmpHi compare the bounds with the literal; not comparable
	// (a statistic of an unexpected kind) counts as unknown.
	var cLo, cHi int
	if loOK {
		cLo, loOK = Compare(lo, lit)
	}
	if hiOK {
		cHi, hiOK = Compare(hi, lit)
	}
	switch op {
	case OpEq:
		return !(loOK && cLo > 0) && !(hiOK && cHi < 0)
	case OpNe:
		return !(loOK && hiOK && cLo == 0 && cHi == 0)
	case OpLt:
		return !(loOK && cLo >= 0)
	case OpLe:
		return !(loOK && cLo > 0)
	case OpGt:
		return !(hiOK && cHi <= 0)
	case OpGe:
		return !(hiOK && cHi < 0)
	}
	return true
}
