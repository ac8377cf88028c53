package predicate

import (
	"strings"
)

// Expr is a parsed filter expression. String renders it in the syntax Parse
// accepts, and Parse(e.String()) yields an expression with the same String.
//
// The nodes are And, Or, Not, Comparison, In, IsNull, and, as a bare
// predicate, a boolean Column or a Literal.
type Expr interface {
	String() string
}

// Op is a comparison operator.
type Op uint8

// The comparison operators.
const (
	OpEq Op = iota + 1 // =, ==
	OpNe               // !=, <>
	OpLt               // <
	OpLe               // <=
	OpGt               // >
	OpGe               // >=
)

func (o Op) String() string {
	switch o {
	case OpEq:
		return "="
	case OpNe:
		return "!="
	case OpLt:
		return "<"
	case OpLe:
		return "<="
	case OpGt:
		return ">"
	case OpGe:
		return ">="
	}
	return "?"
}

// negate returns the operator o' with NOT (a o b) == a o' b.
func (o Op) negate() Op {
	switch o {
	case OpEq:
		return OpNe
	case OpNe:
		return OpEq
	case OpLt:
		return OpGe
	case OpLe:
		return OpGt
	case OpGt:
		return OpLe
	case OpGe:
		return OpLt
	}
	return o
}

// flip returns the operator o' with a o b == b o' a.
func (o Op) flip() Op {
	switch o {
	case OpLt:
		return OpGt
	case OpLe:
		return OpGe
	case OpGt:
		return OpLt
	case OpGe:
		return OpLe
	}
	return o
}

// holds reports whether a comparison result c (-1, 0, 1) satisfies o.
func (o Op) holds(c int) bool {
	switch o {
	case OpEq:
		return c == 0
	case OpNe:
		return c != 0
	case OpLt:
		return c < 0
	case OpLe:
		return c <= 0
	case OpGt:
		return c > 0
	case OpGe:
		return c >= 0
	}
	return false
}

// Operand is one side of a comparison: a Column or a Literal.
type Operand interface {
	Expr
	operand()
}

// Column references a column; Path has more than one element for a field of
// a struct column (a.b.c).
type Column struct {
	Path []string
}

// Literal is a constant. NTZ marks a TIMESTAMP_NTZ literal (its Value is a
// KindTimestamp like any other timestamp).
type Literal struct {
	Value Value
	NTZ   bool
}

// Comparison is Left Op Right.
type Comparison struct {
	Op          Op
	Left, Right Operand
}

// In is Column [NOT] IN (List...).
type In struct {
	Column Column
	List   []Literal
	Not    bool
}

// IsNull is Column IS [NOT] NULL.
type IsNull struct {
	Column Column
	Not    bool
}

// Not is NOT X.
type Not struct {
	X Expr
}

// And is Left AND Right.
type And struct {
	Left, Right Expr
}

// Or is Left OR Right.
type Or struct {
	Left, Right Expr
}

func (Column) operand()  {}
func (Literal) operand() {}

// reserved words cannot be bare column names.
var reserved = map[string]bool{
	"and": true, "or": true, "not": true, "in": true, "is": true,
	"null": true, "true": true, "false": true,
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && isDigit(c)) {
			return false
		}
	}
	return true
}

func quoteName(s string) string {
	if isIdent(s) && !reserved[strings.ToLower(s)] {
		return s
	}
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

func (c Column) String() string {
	parts := make([]string, len(c.Path))
	for i, p := range c.Path {
		parts[i] = quoteName(p)
	}
	return strings.Join(parts, ".")
}

// name is the dotted path without quoting, for messages.
func (c Column) name() string { return strings.Join(c.Path, ".") }

func (l Literal) String() string {
	if l.NTZ && l.Value.Kind == KindTimestamp {
		return "TIMESTAMP_NTZ '" + formatTimestamp(l.Value.Int) + "'"
	}
	return l.Value.String()
}

func (c Comparison) String() string {
	return str(c.Left) + " " + c.Op.String() + " " + str(c.Right)
}

func (in In) String() string {
	var b strings.Builder
	b.WriteString(in.Column.String())
	if in.Not {
		b.WriteString(" NOT")
	}
	b.WriteString(" IN (")
	for i, l := range in.List {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(l.String())
	}
	b.WriteString(")")
	return b.String()
}

func (n IsNull) String() string {
	if n.Not {
		return n.Column.String() + " IS NOT NULL"
	}
	return n.Column.String() + " IS NULL"
}

func (n Not) String() string {
	switch n.X.(type) {
	case Column, Literal, Not:
		return "NOT " + str(n.X)
	}
	return "NOT (" + str(n.X) + ")"
}

func (a And) String() string {
	return paren(a.Left, isOr) + " AND " + paren(a.Right, isOr)
}

func (o Or) String() string {
	return str(o.Left) + " OR " + str(o.Right)
}

func isOr(e Expr) bool { _, ok := e.(Or); return ok }

func paren(e Expr, need func(Expr) bool) string {
	if need(e) {
		return "(" + str(e) + ")"
	}
	return str(e)
}

func str(e Expr) string {
	if e == nil {
		return "<nil>"
	}
	return e.String()
}
