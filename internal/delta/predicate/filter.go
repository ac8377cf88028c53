package predicate

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/compute/exec"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Filter returns the rows of rec for which the predicate is TRUE; rows where
// it is FALSE or NULL (three-valued logic) are dropped. Columns are found in
// rec by name (exact, else case-insensitive), nested ones through struct
// children; a field inside a null struct is null. When every row passes, rec
// itself is returned, retained; otherwise a new record. The caller releases
// the result.
func (b *Bound) Filter(rec arrow.RecordBatch, mem memory.Allocator) (arrow.RecordBatch, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	n := int(rec.NumRows())
	ev := &evaluator{rec: rec, n: n, cols: map[string]*rowCol{}}
	res, err := ev.eval(b.root)
	if err != nil {
		return nil, err
	}
	// Count passing rows and find whether they are one contiguous run.
	first, last, pass := -1, -1, 0
	for i, v := range res {
		if v == triTrue {
			if first < 0 {
				first = i
			}
			last = i
			pass++
		}
	}
	switch {
	case pass == n:
		rec.Retain()
		return rec, nil
	case pass == 0:
		return rec.NewSlice(0, 0), nil
	case last-first+1 == pass:
		return rec.NewSlice(int64(first), int64(last+1)), nil
	}
	mb := array.NewBooleanBuilder(mem)
	defer mb.Release()
	mb.Reserve(n)
	for _, v := range res {
		mb.UnsafeAppend(v == triTrue)
	}
	mask := mb.NewBooleanArray()
	defer mask.Release()
	ctx := exec.WithAllocator(context.Background(), mem)
	out, err := compute.FilterRecordBatch(ctx, rec, mask, &compute.FilterOptions{NullSelection: compute.SelectionDropNulls})
	if err != nil {
		return nil, fmt.Errorf("predicate: filtering record: %w", err)
	}
	return out, nil
}

// rowCol is a column of the record being filtered.
type rowCol struct {
	arr   arrow.Array
	nulls []bool // nil when no row is null
}

func (c *rowCol) isNull(i int) bool { return c.nulls != nil && c.nulls[i] }

type evaluator struct {
	rec  arrow.RecordBatch
	n    int
	cols map[string]*rowCol
}

func (ev *evaluator) col(c *colRef) (*rowCol, error) {
	if rc, ok := ev.cols[c.name]; ok {
		return rc, nil
	}
	var (
		arr     arrow.Array
		parents []arrow.Array
	)
	fields := ev.rec.Schema().Fields()
	for i, seg := range c.path {
		idx := fieldIndex(fields, seg)
		if idx < 0 {
			return nil, fmt.Errorf("predicate: column %q not found in record", c.name)
		}
		if i == 0 {
			arr = ev.rec.Column(idx)
		} else {
			st, ok := arr.(*array.Struct)
			if !ok {
				return nil, fmt.Errorf("predicate: column %q not found in record", c.name)
			}
			parents = append(parents, arr)
			arr = st.Field(idx)
		}
		if i+1 < len(c.path) {
			st, ok := arr.DataType().(*arrow.StructType)
			if !ok {
				return nil, fmt.Errorf("predicate: column %q not found in record", c.name)
			}
			fields = st.Fields()
		}
	}
	if arr.Len() != ev.n {
		return nil, fmt.Errorf("predicate: column %q has %d rows, record has %d", c.name, arr.Len(), ev.n)
	}
	rc := &rowCol{arr: arr}
	withNulls := arr.NullN() > 0 || arr.DataType().ID() == arrow.NULL
	for _, p := range parents {
		withNulls = withNulls || p.NullN() > 0
	}
	if d, ok := arr.(*array.Dictionary); ok && d.Dictionary().NullN() > 0 {
		withNulls = true
	}
	if withNulls {
		rc.nulls = make([]bool, ev.n)
		for i := range rc.nulls {
			null := arr.IsNull(i)
			if d, ok := arr.(*array.Dictionary); ok && !null {
				null = d.Dictionary().IsNull(d.GetValueIndex(i))
			}
			for _, p := range parents {
				null = null || p.IsNull(i)
			}
			rc.nulls[i] = null
		}
	}
	ev.cols[c.name] = rc
	return rc, nil
}

// fieldIndex finds name among fields, exactly or else case-insensitively.
func fieldIndex(fields []arrow.Field, name string) int {
	folded := -1
	for i, f := range fields {
		if f.Name == name {
			return i
		}
		if folded < 0 && strings.EqualFold(f.Name, name) {
			folded = i
		}
	}
	return folded
}

func (ev *evaluator) eval(n node) ([]tri, error) {
	out := make([]tri, ev.n)
	switch n := n.(type) {
	case constNode:
		for i := range out {
			out[i] = n.v
		}
	case andNode, orNode:
		var l, r node
		isAnd := false
		if a, ok := n.(andNode); ok {
			l, r, isAnd = a.l, a.r, true
		} else {
			o := n.(orNode)
			l, r = o.l, o.r
		}
		a, err := ev.eval(l)
		if err != nil {
			return nil, err
		}
		b, err := ev.eval(r)
		if err != nil {
			return nil, err
		}
		for i := range out {
			if isAnd {
				out[i] = and3(a[i], b[i])
			} else {
				out[i] = or3(a[i], b[i])
			}
		}
	case notNode:
		x, err := ev.eval(n.x)
		if err != nil {
			return nil, err
		}
		for i, v := range x {
			out[i] = notTri(v)
		}
	case cmpNode:
		c, err := ev.col(n.col)
		if err != nil {
			return nil, err
		}
		if n.other != nil {
			o, err := ev.col(n.other)
			if err != nil {
				return nil, err
			}
			for i := range out {
				if c.isNull(i) || o.isNull(i) {
					out[i] = triNull
					continue
				}
				r, ok := Compare(valueAt(c.arr, i), valueAt(o.arr, i))
				out[i] = result(n.op, r, ok)
			}
			break
		}
		cmp := literalComparer(c.arr, n.lit)
		for i := range out {
			if c.isNull(i) {
				out[i] = triNull
				continue
			}
			r, ok := cmp(i)
			out[i] = result(n.op, r, ok)
		}
	case inNode:
		c, err := ev.col(n.col)
		if err != nil {
			return nil, err
		}
		cmps := make([]func(int) (int, bool), len(n.list))
		for j, v := range n.list {
			cmps[j] = literalComparer(c.arr, v)
		}
		miss, found := triFalse, triTrue // IN
		if n.hasNull {
			miss = triNull
		}
		if n.not {
			found = triFalse
			if !n.hasNull {
				miss = triTrue
			}
		}
	rows:
		for i := range out {
			if c.isNull(i) {
				out[i] = triNull
				continue
			}
			for _, cmp := range cmps {
				if r, ok := cmp(i); ok && r == 0 {
					out[i] = found
					continue rows
				}
			}
			out[i] = miss
		}
	case nullNode:
		c, err := ev.col(n.col)
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i] = boolTri(c.isNull(i) != n.not)
		}
	default:
		return nil, fmt.Errorf("predicate: unknown node %T", n)
	}
	return out, nil
}

func result(op Op, c int, ok bool) tri {
	if !ok {
		return triNull
	}
	return boolTri(op.holds(c))
}

func and3(a, b tri) tri {
	switch {
	case a == triFalse || b == triFalse:
		return triFalse
	case a == triTrue && b == triTrue:
		return triTrue
	}
	return triNull
}

func or3(a, b tri) tri {
	switch {
	case a == triTrue || b == triTrue:
		return triTrue
	case a == triFalse && b == triFalse:
		return triFalse
	}
	return triNull
}

// literalComparer returns a function comparing the non-null element i of arr
// with lit, specialised for the common array types.
func literalComparer(arr arrow.Array, lit Value) func(int) (int, bool) {
	generic := func(i int) (int, bool) { return Compare(valueAt(arr, i), lit) }
	switch a := arr.(type) {
	case *array.Int8:
		return intComparer(a, lit, generic)
	case *array.Int16:
		return intComparer(a, lit, generic)
	case *array.Int32:
		return intComparer(a, lit, generic)
	case *array.Int64:
		return intComparer(a, lit, generic)
	case *array.Uint8:
		return intComparer(a, lit, generic)
	case *array.Uint16:
		return intComparer(a, lit, generic)
	case *array.Uint32:
		return intComparer(a, lit, generic)
	case *array.Float32:
		if lit.Kind == KindFloat {
			l := lit.Float
			return func(i int) (int, bool) { return cmpFloat(float64(a.Value(i)), l), true }
		}
	case *array.Float64:
		if lit.Kind == KindFloat {
			l := lit.Float
			return func(i int) (int, bool) { return cmpFloat(a.Value(i), l), true }
		}
	case *array.String:
		if lit.Kind == KindString || lit.Kind == KindBinary {
			l := lit.Str
			return func(i int) (int, bool) { return strings.Compare(a.Value(i), l), true }
		}
	case *array.LargeString:
		if lit.Kind == KindString || lit.Kind == KindBinary {
			l := lit.Str
			return func(i int) (int, bool) { return strings.Compare(a.Value(i), l), true }
		}
	case *array.Binary:
		if lit.Kind == KindString || lit.Kind == KindBinary {
			l := []byte(lit.Str)
			return func(i int) (int, bool) { return bytes.Compare(a.Value(i), l), true }
		}
	case *array.Date32:
		switch lit.Kind {
		case KindDate:
			l := lit.Int
			return func(i int) (int, bool) { return cmpInt(int64(a.Value(i)), l), true }
		case KindTimestamp:
			l := lit.Int
			return func(i int) (int, bool) { return cmpInt(dateToMicros(int64(a.Value(i))), l), true }
		}
	case *array.Timestamp:
		if lit.Kind == KindTimestamp {
			unit := a.DataType().(*arrow.TimestampType).Unit
			if unit == arrow.Nanosecond {
				// Compare in nanoseconds so sub-microsecond digits count.
				l, ok := mulExact(lit.Int, 1000)
				if !ok {
					sign := -1 // every value is below the literal
					if lit.Int < 0 {
						sign = 1
					}
					return func(int) (int, bool) { return sign, true }
				}
				return func(i int) (int, bool) { return cmpInt(int64(a.Value(i)), l), true }
			}
			l := lit.Int
			return func(i int) (int, bool) { return cmpInt(unitToMicros(int64(a.Value(i)), unit), l), true }
		}
	case *array.Boolean:
		if lit.Kind == KindBool {
			l := lit.Bool
			return func(i int) (int, bool) { return cmpBool(a.Value(i), l), true }
		}
	case *array.Decimal128:
		if cmp := decimal128Comparer(a, lit); cmp != nil {
			return cmp
		}
	}
	return generic
}

type intArray[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32] interface {
	Value(int) T
}

func intComparer[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32](a intArray[T], lit Value, generic func(int) (int, bool)) func(int) (int, bool) {
	switch lit.Kind {
	case KindInt:
		l := lit.Int
		return func(i int) (int, bool) { return cmpInt(int64(a.Value(i)), l), true }
	case KindFloat:
		l := lit.Float
		return func(i int) (int, bool) { return cmpIntFloat(int64(a.Value(i)), l), true }
	case KindDecimal:
		if lit.Dec == nil {
			return generic
		}
		// Compare x with the rational r through floor(r): x < r iff
		// x <= floor(r) and x != r.
		fl := new(big.Int).Div(lit.Dec.Num(), lit.Dec.Denom()) // Euclidean: floor for positive denominators
		exact := lit.Dec.IsInt()
		if !fl.IsInt64() {
			sign := -1
			if fl.Sign() < 0 {
				sign = 1
			}
			return func(int) (int, bool) { return sign, true }
		}
		f := fl.Int64()
		return func(i int) (int, bool) {
			x := int64(a.Value(i))
			switch {
			case x < f:
				return -1, true
			case x > f:
				return 1, true
			case exact:
				return 0, true
			}
			return -1, true
		}
	}
	return generic
}

// decimal128Comparer compares unscaled decimal128 values with lit*10^scale,
// through its floor as intComparer does.
func decimal128Comparer(a *array.Decimal128, lit Value) func(int) (int, bool) {
	r, ok := lit.toRat()
	if !ok {
		return nil
	}
	scale := a.DataType().(*arrow.Decimal128Type).Scale
	if scale < 0 || scale > 76 {
		return nil
	}
	t := new(big.Rat).Mul(r, new(big.Rat).SetInt(pow10(scale)))
	fl := new(big.Int).Div(t.Num(), t.Denom())
	exact := t.IsInt()
	if fl.BitLen() > 126 {
		sign := -1
		if fl.Sign() < 0 {
			sign = 1
		}
		return func(int) (int, bool) { return sign, true }
	}
	f := decimal128.FromBigInt(fl)
	return func(i int) (int, bool) {
		switch c := a.Value(i).Cmp(f); {
		case c != 0:
			return c, true
		case exact:
			return 0, true
		}
		return -1, true
	}
}
