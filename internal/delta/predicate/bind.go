package predicate

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Bound is an expression resolved against a schema, ready for file skipping
// (MayMatch) and row filtering (Filter). It is immutable and safe for
// concurrent use.
type Bound struct {
	root node
	cols []string
}

// class groups Arrow types by how their values compare.
type class uint8

const (
	clsOther class = iota
	clsBool
	clsInt
	clsFloat
	clsDecimal
	clsString
	clsBinary
	clsDate
	clsTimestamp
	clsStruct
)

func classOf(dt arrow.DataType) class {
	switch valueType(dt).(type) {
	case *arrow.BooleanType:
		return clsBool
	case *arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Int64Type,
		*arrow.Uint8Type, *arrow.Uint16Type, *arrow.Uint32Type, *arrow.Uint64Type:
		return clsInt
	case *arrow.Float16Type, *arrow.Float32Type, *arrow.Float64Type:
		return clsFloat
	case *arrow.Decimal32Type, *arrow.Decimal64Type, *arrow.Decimal128Type, *arrow.Decimal256Type:
		return clsDecimal
	case *arrow.StringType, *arrow.LargeStringType, *arrow.StringViewType:
		return clsString
	case *arrow.BinaryType, *arrow.LargeBinaryType, *arrow.BinaryViewType, *arrow.FixedSizeBinaryType:
		return clsBinary
	case *arrow.Date32Type, *arrow.Date64Type:
		return clsDate
	case *arrow.TimestampType:
		return clsTimestamp
	case *arrow.StructType:
		return clsStruct
	}
	return clsOther
}

// family groups classes that compare with each other.
func (c class) family() int {
	switch c {
	case clsInt, clsFloat, clsDecimal:
		return 1
	case clsString, clsBinary:
		return 2
	case clsDate, clsTimestamp:
		return 3
	case clsBool:
		return 4
	}
	return 0
}

// colRef is a resolved column.
type colRef struct {
	path  []string // names as in the schema
	name  string   // path joined with "."
	dt    arrow.DataType
	class class
}

func (c *colRef) String() string { return Column{Path: c.path}.String() }

func (c *colRef) float32() bool {
	switch valueType(c.dt).(type) {
	case *arrow.Float16Type, *arrow.Float32Type:
		return true
	}
	return false
}

func (c *colRef) ntz() bool {
	t, ok := valueType(c.dt).(*arrow.TimestampType)
	return ok && t.TimeZone == ""
}

// describe is `column "a.b" (long)` for messages.
func (c *colRef) describe() string {
	return fmt.Sprintf("column %q (%s)", c.name, typeName(c.dt))
}

type tri uint8

const (
	triFalse tri = iota
	triTrue
	triNull
)

type node interface{}

type (
	constNode struct{ v tri }
	andNode   struct{ l, r node }
	orNode    struct{ l, r node }
	notNode   struct{ x node }
	// cmpNode is col op other (a column) or col op lit.
	cmpNode struct {
		op    Op
		col   *colRef
		other *colRef
		lit   Value
	}
	inNode struct {
		col     *colRef
		list    []Value // non-null values, coerced
		hasNull bool
		not     bool
	}
	nullNode struct {
		col *colRef
		not bool
	}
)

// Bind resolves e against schema: column names match top-level fields and,
// through dots, fields of struct columns, exactly or else case-insensitively;
// literals are coerced to the type of the column they are compared with
// (numbers across int, float and decimal; 'text' parsed for numeric, boolean,
// date and timestamp columns; DATE and TIMESTAMP with each other). Comparing
// two columns is allowed; comparing with NULL is never true.
func Bind(e Expr, schema *arrow.Schema) (*Bound, error) {
	if schema == nil {
		return nil, errors.New("predicate: nil schema")
	}
	b := &binder{schema: schema, seen: map[string]bool{}}
	root, err := b.bind(e)
	if err != nil {
		return nil, err
	}
	return &Bound{root: root, cols: b.cols}, nil
}

type binder struct {
	schema *arrow.Schema
	cols   []string
	seen   map[string]bool
}

func (b *binder) bind(e Expr) (node, error) {
	switch e := e.(type) {
	case And:
		l, err := b.bind(e.Left)
		if err != nil {
			return nil, err
		}
		r, err := b.bind(e.Right)
		if err != nil {
			return nil, err
		}
		return andNode{l, r}, nil
	case Or:
		l, err := b.bind(e.Left)
		if err != nil {
			return nil, err
		}
		r, err := b.bind(e.Right)
		if err != nil {
			return nil, err
		}
		return orNode{l, r}, nil
	case Not:
		x, err := b.bind(e.X)
		if err != nil {
			return nil, err
		}
		return notNode{x}, nil
	case Column:
		c, err := b.resolve(e)
		if err != nil {
			return nil, err
		}
		if c.class != clsBool {
			return nil, fmt.Errorf("%s is not boolean: compare it with a value", c.describe())
		}
		return cmpNode{op: OpEq, col: c, lit: Value{Kind: KindBool, Bool: true}}, nil
	case Literal:
		switch e.Value.Kind {
		case KindNull:
			return constNode{triNull}, nil
		case KindBool:
			return constNode{boolTri(e.Value.Bool)}, nil
		}
		return nil, fmt.Errorf("%s is not a condition", e)
	case Comparison:
		return b.bindComparison(e)
	case In:
		c, err := b.resolve(e.Column)
		if err != nil {
			return nil, err
		}
		if c.class.family() == 0 {
			return nil, fmt.Errorf("%s cannot be compared with values", c.describe())
		}
		n := inNode{col: c, not: e.Not}
		for _, l := range e.List {
			v, err := coerce(c, l)
			if err != nil {
				return nil, err
			}
			if v.isNull() {
				n.hasNull = true
				continue
			}
			n.list = append(n.list, v)
		}
		return n, nil
	case IsNull:
		c, err := b.resolve(e.Column)
		if err != nil {
			return nil, err
		}
		return nullNode{col: c, not: e.Not}, nil
	case nil:
		return nil, errors.New("predicate: nil expression")
	}
	return nil, fmt.Errorf("predicate: unsupported expression %T", e)
}

func boolTri(b bool) tri {
	if b {
		return triTrue
	}
	return triFalse
}

func (b *binder) bindComparison(e Comparison) (node, error) {
	lc, lIsCol := e.Left.(Column)
	rc, rIsCol := e.Right.(Column)
	ll, lIsLit := e.Left.(Literal)
	rl, rIsLit := e.Right.(Literal)
	if e.Op < OpEq || e.Op > OpGe {
		return nil, fmt.Errorf("predicate: invalid operator %d", e.Op)
	}
	switch {
	case lIsCol && rIsCol:
		l, err := b.resolve(lc)
		if err != nil {
			return nil, err
		}
		r, err := b.resolve(rc)
		if err != nil {
			return nil, err
		}
		if l.class.family() == 0 || l.class.family() != r.class.family() {
			return nil, fmt.Errorf("cannot compare %s with %s", l.describe(), r.describe())
		}
		return cmpNode{op: e.Op, col: l, other: r}, nil
	case lIsCol && rIsLit, lIsLit && rIsCol:
		op, col, lit := e.Op, lc, rl
		if lIsLit {
			op, col, lit = op.flip(), rc, ll
		}
		c, err := b.resolve(col)
		if err != nil {
			return nil, err
		}
		v, err := coerce(c, lit)
		if err != nil {
			return nil, err
		}
		if v.isNull() {
			return constNode{triNull}, nil
		}
		return cmpNode{op: op, col: c, lit: v}, nil
	case lIsLit && rIsLit:
		if ll.Value.isNull() || rl.Value.isNull() {
			return constNode{triNull}, nil
		}
		l, r := ll.Value, rl.Value
		// Literals of different kinds compare after the same coercions as
		// with a column: 'text' against a date, for example.
		if l.Kind != r.Kind {
			if cl := literalClass(r); cl != clsOther {
				if v, err := coerceTo(cl, false, false, l); err == nil {
					l = v
				}
			}
			if cl := literalClass(l); cl != clsOther {
				if v, err := coerceTo(cl, false, false, r); err == nil {
					r = v
				}
			}
		}
		c, ok := Compare(l, r)
		if !ok {
			return nil, fmt.Errorf("cannot compare %s with %s", ll, rl)
		}
		return constNode{boolTri(e.Op.holds(c))}, nil
	}
	return nil, fmt.Errorf("predicate: invalid comparison operands %T and %T", e.Left, e.Right)
}

func literalClass(v Value) class {
	switch v.Kind {
	case KindDate:
		return clsDate
	case KindTimestamp:
		return clsTimestamp
	case KindInt:
		return clsInt
	case KindFloat:
		return clsFloat
	case KindDecimal:
		return clsDecimal
	case KindBool:
		return clsBool
	}
	return clsOther
}

// resolve finds a column of the schema.
func (b *binder) resolve(c Column) (*colRef, error) {
	if len(c.Path) == 0 {
		return nil, errors.New("predicate: empty column name")
	}
	fields := b.schema.Fields()
	ref := &colRef{}
	for i, seg := range c.Path {
		if i > 0 {
			st, ok := ref.dt.(*arrow.StructType)
			if !ok {
				return nil, fmt.Errorf("column %q (%s) has no field %q", ref.name, typeName(ref.dt), seg)
			}
			fields = st.Fields()
		}
		f, err := findField(fields, seg)
		if err == errNotFound {
			return nil, fmt.Errorf("unknown column %q", c.name())
		}
		if err != nil {
			return nil, err
		}
		ref.path = append(ref.path, f.Name)
		ref.name = strings.Join(ref.path, ".")
		ref.dt = f.Type
	}
	ref.class = classOf(ref.dt)
	if !b.seen[ref.name] {
		b.seen[ref.name] = true
		b.cols = append(b.cols, ref.name)
	}
	return ref, nil
}

// findField finds name among fields: the exact match, else the only
// case-insensitive match.
func findField(fields []arrow.Field, name string) (arrow.Field, error) {
	var exact, folded []int
	for i, f := range fields {
		if f.Name == name {
			exact = append(exact, i)
		} else if strings.EqualFold(f.Name, name) {
			folded = append(folded, i)
		}
	}
	switch {
	case len(exact) == 1:
		return fields[exact[0]], nil
	case len(exact) > 1:
		return arrow.Field{}, fmt.Errorf("ambiguous column %q: the schema has it %d times", name, len(exact))
	case len(folded) == 1:
		return fields[folded[0]], nil
	case len(folded) > 1:
		return arrow.Field{}, fmt.Errorf("ambiguous column %q: matches %q and %q", name, fields[folded[0]].Name, fields[folded[1]].Name)
	}
	return arrow.Field{}, errNotFound
}

var errNotFound = errors.New("not found")

// coerce converts a literal to the type of column c.
func coerce(c *colRef, l Literal) (Value, error) {
	if l.Value.isNull() {
		return Value{}, nil
	}
	if c.class.family() == 0 {
		return Value{}, fmt.Errorf("%s cannot be compared with values", c.describe())
	}
	v, err := coerceTo(c.class, c.float32(), c.ntz(), l.Value)
	if err != nil {
		return Value{}, fmt.Errorf("cannot compare %s with %s", c.describe(), l)
	}
	return v, nil
}

var errIncompatible = errors.New("incompatible")

func coerceTo(cl class, f32, ntz bool, v Value) (Value, error) {
	switch cl {
	case clsInt, clsFloat, clsDecimal:
		if v.Kind == KindString {
			n, ok := parseNumberString(v.Str)
			if !ok {
				return Value{}, errIncompatible
			}
			v = n
		}
		switch v.Kind {
		case KindInt, KindFloat, KindDecimal:
		default:
			return Value{}, errIncompatible
		}
		switch cl {
		case clsFloat:
			f, _ := v.toFloat()
			if f32 {
				f = float64(float32(f))
			}
			return Value{Kind: KindFloat, Float: f}, nil
		case clsDecimal:
			if v.Kind == KindFloat && !math.IsNaN(v.Float) && !math.IsInf(v.Float, 0) {
				// The decimal the float was written as: 0.1e0 is 0.1.
				r, _ := new(big.Rat).SetString(strconv.FormatFloat(v.Float, 'g', -1, 64))
				return Value{Kind: KindDecimal, Dec: r}, nil
			}
			if v.Kind == KindInt {
				return Value{Kind: KindDecimal, Dec: new(big.Rat).SetInt64(v.Int)}, nil
			}
		}
		return v, nil
	case clsBool:
		switch v.Kind {
		case KindBool:
			return v, nil
		case KindString:
			switch strings.ToLower(strings.TrimSpace(v.Str)) {
			case "true":
				return Value{Kind: KindBool, Bool: true}, nil
			case "false":
				return Value{Kind: KindBool}, nil
			}
		}
	case clsString:
		if v.Kind == KindString || v.Kind == KindBinary {
			return v, nil
		}
	case clsBinary:
		if v.Kind == KindString || v.Kind == KindBinary {
			return Value{Kind: KindBinary, Str: v.Str}, nil
		}
	case clsDate:
		switch v.Kind {
		case KindDate, KindTimestamp:
			return v, nil
		case KindString:
			s := strings.TrimSpace(v.Str)
			if d, err := parseDate(s); err == nil {
				return Value{Kind: KindDate, Int: d}, nil
			}
			if us, err := parseTimestamp(s, false); err == nil {
				return Value{Kind: KindTimestamp, Int: us}, nil
			}
		}
	case clsTimestamp:
		switch v.Kind {
		case KindTimestamp:
			return v, nil
		case KindDate:
			return Value{Kind: KindTimestamp, Int: dateToMicros(v.Int)}, nil
		case KindString:
			if us, err := parseTimestamp(strings.TrimSpace(v.Str), ntz); err == nil {
				return Value{Kind: KindTimestamp, Int: us}, nil
			}
		}
	}
	return Value{}, errIncompatible
}

// parseNumberString reads 'text' compared with a numeric column: an integer,
// an exact decimal, a float with an exponent, or NaN / Infinity.
func parseNumberString(s string) (Value, bool) {
	s = strings.TrimSpace(s)
	if _, ok := checkNumberSyntax(s); !ok {
		f, err := parseFloatText(s, 64)
		return Value{Kind: KindFloat, Float: f}, err == nil
	}
	if strings.ContainsAny(s, "eE") {
		f, err := strconv.ParseFloat(s, 64)
		return Value{Kind: KindFloat, Float: f}, err == nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return Value{Kind: KindInt, Int: i}, true
	}
	r, ok := parseDecimalText(s)
	return Value{Kind: KindDecimal, Dec: r}, ok
}

// Columns returns the columns the expression references, once each, in order
// of appearance, as named in the schema ("a.b" for field b of struct a).
func (b *Bound) Columns() []string { return append([]string(nil), b.cols...) }

// String renders the bound expression: resolved column names, literals as
// coerced to their column's type, literals on the right.
func (b *Bound) String() string { return nodeString(b.root, 0) }

// precedence levels for nodeString.
const (
	precOr = iota + 1
	precAnd
	precNot
)

func nodeString(n node, parent int) string {
	wrap := func(s string, prec int) string {
		if prec < parent {
			return "(" + s + ")"
		}
		return s
	}
	switch n := n.(type) {
	case constNode:
		switch n.v {
		case triTrue:
			return "TRUE"
		case triFalse:
			return "FALSE"
		}
		return "NULL"
	case andNode:
		return wrap(nodeString(n.l, precAnd)+" AND "+nodeString(n.r, precAnd), precAnd)
	case orNode:
		return wrap(nodeString(n.l, precOr)+" OR "+nodeString(n.r, precOr), precOr)
	case notNode:
		switch n.x.(type) {
		case constNode, notNode:
			return "NOT " + nodeString(n.x, precNot)
		}
		return "NOT (" + nodeString(n.x, 0) + ")"
	case cmpNode:
		if n.other != nil {
			return n.col.String() + " " + n.op.String() + " " + n.other.String()
		}
		return n.col.String() + " " + n.op.String() + " " + litString(n.col, n.lit)
	case inNode:
		var sb strings.Builder
		sb.WriteString(n.col.String())
		if n.not {
			sb.WriteString(" NOT")
		}
		sb.WriteString(" IN (")
		for i, v := range n.list {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(litString(n.col, v))
		}
		if n.hasNull {
			if len(n.list) > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("NULL")
		}
		sb.WriteString(")")
		return sb.String()
	case nullNode:
		if n.not {
			return n.col.String() + " IS NOT NULL"
		}
		return n.col.String() + " IS NULL"
	}
	return "?"
}

func litString(c *colRef, v Value) string {
	switch {
	case v.Kind == KindFloat && c.float32():
		return formatFloat(v.Float, 32)
	case v.Kind == KindTimestamp && c.ntz():
		return Literal{Value: v, NTZ: true}.String()
	}
	return v.String()
}
