package predicate

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// SyntaxError is the error of Parse: "position 12: expected a value after
// '>'". Pos is the 1-based character (not byte) position of the offending
// token; the end of the input is one past the last character. Callers add
// their context ("where: position 12: ...").
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("position %d: %s", e.Pos, e.Msg)
}

type tokKind uint8

const (
	tEOF    tokKind = iota
	tIdent          // bare identifier or keyword
	tQuoted         // `backticked identifier`
	tString         // 'string'
	tBinary         // X'hex'
	tNumber         // 12, 1.5, 1e3
	tOp             // = == != <> < <= > >=
	tLParen         // (
	tRParen         // )
	tComma          // ,
	tDot            // .
	tMinus          // -
	tPlus           // +
)

type token struct {
	kind tokKind
	text string // identifier name, string contents, number text, operator
	raw  string // the source text of the token
	off  int    // byte offset in the source
}

const maxDepth = 200

type parser struct {
	src   string
	toks  []token
	i     int
	depth int
}

// Parse parses a filter expression:
//
//	expr       := or
//	or         := and (OR and)*
//	and        := not (AND not)*
//	not        := NOT not | primary
//	primary    := '(' or ')' | operand [cmp operand | [NOT] IN '(' literal (',' literal)* ')' | IS [NOT] NULL]
//	cmp        := = | == | != | <> | < | <= | > | >=
//	operand    := column | literal
//	column     := name ('.' name)*         name: [A-Za-z_][A-Za-z0-9_]* or `any text` (`` for `)
//	literal    := [+|-] number | 'text' ('' for ') | X'hex' | TRUE | FALSE | NULL
//	            | DATE 'YYYY-MM-DD' | TIMESTAMP '...' | TIMESTAMP_NTZ '...'
//
// Keywords are case-insensitive. An operand alone is a predicate too: a
// boolean column, or TRUE/FALSE/NULL. Integers that do not fit 64 bits and
// numbers with a fractional part are exact decimals; numbers with an exponent
// are floats. TIMESTAMP literals without a zone are UTC. IN and IS NULL need a
// column on the left. Errors are *SyntaxError.
func Parse(src string) (Expr, error) {
	p := &parser{src: src}
	if err := p.lex(); err != nil {
		return nil, err
	}
	if p.peek().kind == tEOF {
		return nil, p.errAt(p.peek(), "expected a condition")
	}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		if t.kind == tRParen {
			return nil, p.errAt(t, "unexpected ')'")
		}
		return nil, p.errAt(t, "expected AND, OR or the end of the condition")
	}
	return e, nil
}

func (p *parser) pos(off int) int { return utf8.RuneCountInString(p.src[:off]) + 1 }

func (p *parser) errAt(t token, format string, args ...any) error {
	return &SyntaxError{Pos: p.pos(t.off), Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (t token) is(keyword string) bool {
	return t.kind == tIdent && strings.EqualFold(t.text, keyword)
}

// lex tokenizes the whole source.
func (p *parser) lex() error {
	s := p.src
	i := 0
	errAt := func(off int, format string, args ...any) error {
		return &SyntaxError{Pos: p.pos(off), Msg: fmt.Sprintf(format, args...)}
	}
	emit := func(k tokKind, text string, start, end int) {
		p.toks = append(p.toks, token{kind: k, text: text, raw: s[start:end], off: start})
	}
	for i < len(s) {
		c := s[i]
		start := i
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case (c == 'x' || c == 'X') && i+1 < len(s) && s[i+1] == '\'':
			str, end, ok := scanQuoted(s, i+1, '\'')
			if !ok {
				return errAt(start, "unterminated binary literal")
			}
			b, err := hex.DecodeString(str)
			if err != nil {
				return errAt(start, "invalid hex digits in binary literal")
			}
			emit(tBinary, string(b), start, end)
			i = end
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			for i < len(s) && (s[i] == '_' || isDigit(s[i]) || s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z') {
				i++
			}
			emit(tIdent, s[start:i], start, i)
		case c == '`':
			name, end, ok := scanQuoted(s, i, '`')
			if !ok {
				return errAt(start, "unterminated `quoted` column name")
			}
			if name == "" {
				return errAt(start, "empty column name")
			}
			emit(tQuoted, name, start, end)
			i = end
		case c == '\'':
			str, end, ok := scanQuoted(s, i, '\'')
			if !ok {
				return errAt(start, "unterminated string literal")
			}
			emit(tString, str, start, end)
			i = end
		case isDigit(c) || c == '.' && i+1 < len(s) && isDigit(s[i+1]) && !p.afterName():
			for i < len(s) && isDigit(s[i]) {
				i++
			}
			if i < len(s) && s[i] == '.' {
				i++
				for i < len(s) && isDigit(s[i]) {
					i++
				}
			}
			if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
				j := i + 1
				if j < len(s) && (s[j] == '+' || s[j] == '-') {
					j++
				}
				if j >= len(s) || !isDigit(s[j]) {
					return errAt(start, "invalid number %q", s[start:min(j+1, len(s))])
				}
				for j < len(s) && isDigit(s[j]) {
					j++
				}
				i = j
			}
			if i < len(s) && (s[i] == '_' || s[i] == '.' || s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || isDigit(s[i])) {
				return errAt(start, "invalid number %q", s[start:i+1])
			}
			emit(tNumber, s[start:i], start, i)
		case c == '=':
			i++
			if i < len(s) && s[i] == '=' {
				i++
			}
			emit(tOp, "=", start, i)
		case c == '!':
			if i+1 < len(s) && s[i+1] == '=' {
				i += 2
				emit(tOp, "!=", start, i)
			} else {
				return errAt(start, "unexpected character '!'")
			}
		case c == '<':
			i++
			op := "<"
			if i < len(s) && s[i] == '=' {
				i, op = i+1, "<="
			} else if i < len(s) && s[i] == '>' {
				i, op = i+1, "!="
			}
			emit(tOp, op, start, i)
		case c == '>':
			i++
			op := ">"
			if i < len(s) && s[i] == '=' {
				i, op = i+1, ">="
			}
			emit(tOp, op, start, i)
		case c == '(':
			i++
			emit(tLParen, "(", start, i)
		case c == ')':
			i++
			emit(tRParen, ")", start, i)
		case c == ',':
			i++
			emit(tComma, ",", start, i)
		case c == '.':
			i++
			emit(tDot, ".", start, i)
		case c == '-':
			i++
			emit(tMinus, "-", start, i)
		case c == '+':
			i++
			emit(tPlus, "+", start, i)
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError {
				return errAt(start, "unexpected byte 0x%02x", c)
			}
			return errAt(start, "unexpected character %q", r)
		}
	}
	p.toks = append(p.toks, token{kind: tEOF, off: len(s)})
	return nil
}

// afterName reports whether the last token ends a column name, so that a '.'
// is a path separator rather than the start of a number.
func (p *parser) afterName() bool {
	if len(p.toks) == 0 {
		return false
	}
	k := p.toks[len(p.toks)-1].kind
	return k == tIdent || k == tQuoted
}

// scanQuoted reads a q-quoted text starting at s[i] == q, where qq stands for
// q, and returns its contents and the offset after the closing quote.
func scanQuoted(s string, i int, q byte) (string, int, bool) {
	var b strings.Builder
	i++
	for {
		j := strings.IndexByte(s[i:], q)
		if j < 0 {
			return "", 0, false
		}
		b.WriteString(s[i : i+j])
		i += j + 1
		if i < len(s) && s[i] == q {
			b.WriteByte(q)
			i++
			continue
		}
		return b.String(), i, true
	}
}

func (p *parser) enter(t token) error {
	p.depth++
	if p.depth > maxDepth {
		return p.errAt(t, "condition nested too deeply")
	}
	return nil
}

func (p *parser) parseOr() (Expr, error) {
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.peek().is("OR") {
		p.next()
		if startsCondition(p.peek()) {
			r, err := p.parseAnd()
			if err != nil {
				return nil, err
			}
			l = Or{Left: l, Right: r}
			continue
		}
		return nil, p.errAt(p.peek(), "expected a condition after OR")
	}
	return l, nil
}

func (p *parser) parseAnd() (Expr, error) {
	l, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for p.peek().is("AND") {
		p.next()
		if !startsCondition(p.peek()) {
			return nil, p.errAt(p.peek(), "expected a condition after AND")
		}
		r, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		l = And{Left: l, Right: r}
	}
	return l, nil
}

// startsCondition reports whether t can begin a condition.
func startsCondition(t token) bool {
	switch t.kind {
	case tEOF, tRParen, tComma, tDot, tOp:
		return false
	case tIdent:
		return !t.is("AND") && !t.is("OR") && !t.is("IN") && !t.is("IS")
	}
	return true
}

func (p *parser) parseNot() (Expr, error) {
	if t := p.peek(); t.is("NOT") {
		p.next()
		if err := p.enter(t); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		if !startsCondition(p.peek()) {
			return nil, p.errAt(p.peek(), "expected a condition after NOT")
		}
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return Not{X: x}, nil
	}
	return p.parsePrimary()
}

func (p *parser) parsePrimary() (Expr, error) {
	t := p.peek()
	if t.kind == tLParen {
		p.next()
		if err := p.enter(t); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		if !startsCondition(p.peek()) {
			return nil, p.errAt(p.peek(), "expected a condition after '('")
		}
		e, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if p.peek().kind != tRParen {
			return nil, p.errAt(p.peek(), "expected ')' to close '(' at position %d", p.pos(t.off))
		}
		p.next()
		return e, nil
	}
	left, ok, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, p.errAt(t, "expected a condition")
	}
	t = p.peek()
	switch {
	case t.kind == tOp:
		p.next()
		right, ok, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, p.errAt(p.peek(), "expected a value after '%s'", t.raw)
		}
		return Comparison{Op: opOf(t.text), Left: left, Right: right}, nil
	case t.is("IN"), t.is("NOT") && p.peekAt(1).is("IN"):
		col, isCol := left.(Column)
		if !isCol {
			return nil, p.errAt(t, "IN needs a column on its left")
		}
		not := t.is("NOT")
		if not {
			p.next()
		}
		p.next()
		return p.parseInList(col, not)
	case t.is("NOT"):
		return nil, p.errAt(p.peekAt(1), "expected IN after NOT")
	case t.is("IS"):
		col, isCol := left.(Column)
		if !isCol {
			return nil, p.errAt(t, "IS NULL needs a column on its left")
		}
		p.next()
		not := false
		if p.peek().is("NOT") {
			p.next()
			not = true
		}
		if !p.peek().is("NULL") {
			if not {
				return nil, p.errAt(p.peek(), "expected NULL after IS NOT")
			}
			return nil, p.errAt(p.peek(), "expected NULL or NOT NULL after IS")
		}
		p.next()
		return IsNull{Column: col, Not: not}, nil
	}
	// A bare operand: a boolean column, or TRUE / FALSE / NULL.
	return left, nil
}

func opOf(s string) Op {
	switch s {
	case "=":
		return OpEq
	case "!=":
		return OpNe
	case "<":
		return OpLt
	case "<=":
		return OpLe
	case ">":
		return OpGt
	}
	return OpGe
}

func (p *parser) parseInList(col Column, not bool) (Expr, error) {
	open := p.peek()
	if open.kind != tLParen {
		return nil, p.errAt(open, "expected '(' after IN")
	}
	p.next()
	in := In{Column: col, Not: not}
	for {
		t := p.peek()
		op, ok, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		lit, isLit := op.(Literal)
		if !ok || !isLit {
			return nil, p.errAt(t, "expected a value in the IN list")
		}
		in.List = append(in.List, lit)
		switch t := p.next(); t.kind {
		case tComma:
			continue
		case tRParen:
			return in, nil
		default:
			return nil, p.errAt(t, "expected ',' or ')' in the IN list")
		}
	}
}

// parseOperand parses a column or a literal; ok is false (with nothing
// consumed) when the next token starts neither.
func (p *parser) parseOperand() (Operand, bool, error) {
	t := p.peek()
	switch t.kind {
	case tNumber:
		p.next()
		lit, err := p.number(t, t.text)
		return lit, err == nil, err
	case tMinus, tPlus:
		n := p.peekAt(1)
		if n.kind != tNumber {
			return nil, false, p.errAt(n, "expected a number after '%s'", t.raw)
		}
		p.next()
		p.next()
		text := n.text
		if t.kind == tMinus {
			text = "-" + text
		}
		lit, err := p.number(t, text)
		return lit, err == nil, err
	case tString:
		p.next()
		return Literal{Value: Value{Kind: KindString, Str: t.text}}, true, nil
	case tBinary:
		p.next()
		return Literal{Value: Value{Kind: KindBinary, Str: t.text}}, true, nil
	case tQuoted:
		return p.column()
	case tIdent:
		switch strings.ToLower(t.text) {
		case "true", "false":
			p.next()
			return Literal{Value: Value{Kind: KindBool, Bool: strings.EqualFold(t.text, "true")}}, true, nil
		case "null":
			p.next()
			return Literal{}, true, nil
		case "date", "timestamp", "timestamp_ntz":
			if s := p.peekAt(1); s.kind == tString {
				p.next()
				p.next()
				return p.typedLiteral(t, s)
			}
		}
		if reserved[strings.ToLower(t.text)] {
			return nil, false, nil
		}
		return p.column()
	}
	return nil, false, nil
}

func (p *parser) column() (Operand, bool, error) {
	var col Column
	for {
		t := p.next()
		switch {
		case t.kind == tQuoted:
		case t.kind == tIdent && !reserved[strings.ToLower(t.text)]:
		default:
			return nil, false, p.errAt(t, "expected a field name after '.'")
		}
		col.Path = append(col.Path, t.text)
		if p.peek().kind != tDot {
			return col, true, nil
		}
		p.next()
	}
}

func (p *parser) typedLiteral(kw, s token) (Operand, bool, error) {
	switch strings.ToLower(kw.text) {
	case "date":
		d, err := parseDate(s.text)
		if err != nil {
			return nil, false, p.errAt(s, "invalid DATE literal %s (want 'YYYY-MM-DD')", s.raw)
		}
		return Literal{Value: Value{Kind: KindDate, Int: d}}, true, nil
	case "timestamp":
		us, err := parseTimestamp(s.text, false)
		if err != nil {
			return nil, false, p.errAt(s, "invalid TIMESTAMP literal %s (want 'YYYY-MM-DD HH:MM:SS[.ffffff]' with an optional Z or ±HH:MM)", s.raw)
		}
		return Literal{Value: Value{Kind: KindTimestamp, Int: us}}, true, nil
	default:
		us, err := parseTimestamp(s.text, true)
		if err != nil {
			return nil, false, p.errAt(s, "invalid TIMESTAMP_NTZ literal %s (want 'YYYY-MM-DD HH:MM:SS[.ffffff]' without a zone)", s.raw)
		}
		return Literal{Value: Value{Kind: KindTimestamp, Int: us}, NTZ: true}, true, nil
	}
}

// number converts number text (with its sign) to a literal.
func (p *parser) number(t token, text string) (Literal, error) {
	if strings.ContainsAny(text, "eE") {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsInf(f, 0) {
			if errors.Is(err, strconv.ErrRange) || math.IsInf(f, 0) {
				return Literal{}, p.errAt(t, "number %s out of range", text)
			}
			return Literal{}, p.errAt(t, "invalid number %s", text)
		}
		return Literal{Value: Value{Kind: KindFloat, Float: f}}, nil
	}
	if !strings.Contains(text, ".") {
		if i, err := strconv.ParseInt(text, 10, 64); err == nil {
			return Literal{Value: Value{Kind: KindInt, Int: i}}, nil
		}
	}
	if len(text) > 1000 {
		return Literal{}, p.errAt(t, "number too long")
	}
	r, ok := new(big.Rat).SetString(text)
	if !ok {
		return Literal{}, p.errAt(t, "invalid number %s", text)
	}
	return Literal{Value: Value{Kind: KindDecimal, Dec: r}}, nil
}
