package predicate

import (
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"testing"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		src, want string
	}{
		{"a > 3", "a > 3"},
		{"a>3", "a > 3"},
		{"a == 3", "a = 3"},
		{"a <> 3", "a != 3"},
		{"a != 3", "a != 3"},
		{"a <= 3 and b >= 4", "a <= 3 AND b >= 4"},
		{"a < 1 Or b > 2 AND c = 3", "a < 1 OR b > 2 AND c = 3"},
		{"(a < 1 OR b > 2) AND c = 3", "(a < 1 OR b > 2) AND c = 3"},
		{"NOT a = 1", "NOT (a = 1)"},
		{"not a = 1 and b = 2", "NOT (a = 1) AND b = 2"},
		{"NOT (a = 1 AND b = 2)", "NOT (a = 1 AND b = 2)"},
		{"NOT NOT flag", "NOT NOT flag"},
		{"flag", "flag"},
		{"flag AND NOT other", "flag AND NOT other"},
		{"TRUE", "TRUE"},
		{"null", "NULL"},
		{"3 < a", "3 < a"},
		{"a = b", "a = b"},
		{"a IN (1, 2,3)", "a IN (1, 2, 3)"},
		{"a not in ('x', NULL)", "a NOT IN ('x', NULL)"},
		{"a IS NULL", "a IS NULL"},
		{"a is not null", "a IS NOT NULL"},
		{"a = -5", "a = -5"},
		{"a = - 5", "a = -5"},
		{"a = +5", "a = 5"},
		{"a = -9223372036854775808", "a = -9223372036854775808"},
		{"a = 9223372036854775808", "a = 9223372036854775808.0"},
		{"a = 1.50", "a = 1.5"},
		{"a = 1.", "a = 1.0"},
		{"a = .25", "a = 0.25"},
		{"a = -0.001", "a = -0.001"},
		{"a = 1e3", "a = 1000e0"},
		{"a = 1.5E-3", "a = 0.0015e0"},
		{"a = 2e+30", "a = 2e+30"},
		{"s = 'it''s'", "s = 'it''s'"},
		{"s = ''", "s = ''"},
		{"s = 'multi\nline'", "s = 'multi\nline'"},
		{"s = 'ünïcödé'", "s = 'ünïcödé'"},
		{"b = X'00fF'", "b = X'00FF'"},
		{"b = x''", "b = X''"},
		{"d = DATE '2024-02-29'", "d = DATE '2024-02-29'"},
		{"d = date '2024-2-9'", "d = DATE '2024-02-09'"},
		{"ts = TIMESTAMP '2023-12-22 17:10:21.675'", "ts = TIMESTAMP '2023-12-22 17:10:21.675'"},
		{"ts = TIMESTAMP '2023-12-22T17:10:21.675Z'", "ts = TIMESTAMP '2023-12-22 17:10:21.675'"},
		{"ts = TIMESTAMP '2023-12-22T17:10:21.675+01:00'", "ts = TIMESTAMP '2023-12-22 16:10:21.675'"},
		{"ts = TIMESTAMP '2023-12-22 00:30:00-0130'", "ts = TIMESTAMP '2023-12-22 02:00:00'"},
		{"ts = TIMESTAMP '2023-12-22'", "ts = TIMESTAMP '2023-12-22 00:00:00'"},
		{"ts = TIMESTAMP '1969-12-31 23:59:59.999999'", "ts = TIMESTAMP '1969-12-31 23:59:59.999999'"},
		{"ts = TIMESTAMP_NTZ '2023-12-22 17:10:21'", "ts = TIMESTAMP_NTZ '2023-12-22 17:10:21'"},
		{"`my col` = 1", "`my col` = 1"},
		{"`a``b` = 1", "`a``b` = 1"},
		{"`and` = 1", "`and` = 1"},
		{"`abc` = 1", "abc = 1"},
		{"a.b.c = 1", "a.b.c = 1"},
		{"a . `b c` = 1", "a.`b c` = 1"},
		{"date = DATE '2020-01-01'", "date = DATE '2020-01-01'"},
		{"timestamp IS NULL", "timestamp IS NULL"},
		{"x = 1 OR (y = 2 OR z = 3)", "x = 1 OR y = 2 OR z = 3"},
		{"x = 1 AND (y = 2 AND z = 3)", "x = 1 AND y = 2 AND z = 3"},
		{"  a\t=\n1  ", "a = 1"},
		{"_x9 = 1", "_x9 = 1"},
	}
	for _, tt := range tests {
		e, err := Parse(tt.src)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.src, err)
			continue
		}
		if got := e.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.src, got, tt.want)
		}
		// Round trip: the rendering parses back to the same rendering and tree.
		e2, err := Parse(e.String())
		if err != nil {
			t.Errorf("Parse(%q) (round trip of %q): %v", e.String(), tt.src, err)
			continue
		}
		if e2.String() != e.String() {
			t.Errorf("round trip of %q: %q != %q", tt.src, e2.String(), e.String())
		}
	}
}

func TestParseTree(t *testing.T) {
	e, err := Parse("a.b > 1 AND NOT (c IN (1.50, NULL) OR d IS NOT NULL)")
	if err != nil {
		t.Fatal(err)
	}
	want := And{
		Left: Comparison{Op: OpGt, Left: Column{Path: []string{"a", "b"}}, Right: Literal{Value: Value{Kind: KindInt, Int: 1}}},
		Right: Not{X: Or{
			Left:  In{Column: Column{Path: []string{"c"}}, List: []Literal{{Value: Value{Kind: KindDecimal, Dec: big.NewRat(3, 2)}}, {}}},
			Right: IsNull{Column: Column{Path: []string{"d"}}, Not: true},
		}},
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("got %#v\nwant %#v", e, want)
	}
	// Precedence: OR < AND < NOT < comparison, left associative.
	e, _ = Parse("a OR b AND NOT c OR d")
	want2 := Or{Left: Or{Left: Column{Path: []string{"a"}}, Right: And{Left: Column{Path: []string{"b"}}, Right: Not{X: Column{Path: []string{"c"}}}}}, Right: Column{Path: []string{"d"}}}
	if !reflect.DeepEqual(e, want2) {
		t.Errorf("got %#v\nwant %#v", e, want2)
	}
	// Exactness of decimals and big integers.
	e, _ = Parse("x = 12345678901234567890.000000000000000001")
	r, _ := new(big.Rat).SetString("12345678901234567890.000000000000000001")
	if got := e.(Comparison).Right.(Literal).Value; got.Kind != KindDecimal || got.Dec.Cmp(r) != 0 {
		t.Errorf("decimal literal = %v", got)
	}
	// Timestamps: micros since epoch, UTC.
	e, _ = Parse("t = TIMESTAMP '1970-01-01T00:00:00.123456Z'")
	if got := e.(Comparison).Right.(Literal).Value; got.Kind != KindTimestamp || got.Int != 123456 {
		t.Errorf("timestamp literal = %+v", got)
	}
	e, _ = Parse("t = TIMESTAMP '1970-01-01 01:00:00+01:00'")
	if got := e.(Comparison).Right.(Literal).Value; got.Int != 0 {
		t.Errorf("timestamp literal with offset = %+v", got)
	}
	e, _ = Parse("t = DATE '1969-12-31'")
	if got := e.(Comparison).Right.(Literal).Value; got.Kind != KindDate || got.Int != -1 {
		t.Errorf("date literal = %+v", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		src, want string
	}{
		{"", "position 1: expected a condition"},
		{"   ", "position 4: expected a condition"},
		{"amount_usd >", "position 13: expected a value after '>'"},
		{"amount > AND b = 1", "position 10: expected a value after '>'"},
		{"a <> ", "position 6: expected a value after '<>'"},
		{"a = 1 AND", "position 10: expected a condition after AND"},
		{"a = 1 OR OR b = 2", "position 10: expected a condition after OR"},
		{"NOT", "position 4: expected a condition after NOT"},
		{"a = 1 b = 2", "position 7: expected AND, OR or the end of the condition"},
		{"a = 1)", "position 6: unexpected ')'"},
		{"(a = 1", "position 7: expected ')' to close '(' at position 1"},
		{"()", "position 2: expected a condition after '('"},
		{"a IN 1", "position 6: expected '(' after IN"},
		{"a IN ()", "position 7: expected a value in the IN list"},
		{"a IN (b)", "position 7: expected a value in the IN list"},
		{"a IN (1 2)", "position 9: expected ',' or ')' in the IN list"},
		{"a IN (1,", "position 9: expected a value in the IN list"},
		{"1 IN (1)", "position 3: IN needs a column on its left"},
		{"a NOT 1", "position 7: expected IN after NOT"},
		{"a IS 1", "position 6: expected NULL or NOT NULL after IS"},
		{"a IS NOT 1", "position 10: expected NULL after IS NOT"},
		{"'x' IS NULL", "position 5: IS NULL needs a column on its left"},
		{"s = 'abc", "position 5: unterminated string literal"},
		{"`abc = 1", "position 1: unterminated `quoted` column name"},
		{"`` = 1", "position 1: empty column name"},
		{"a = X'0g'", "position 5: invalid hex digits in binary literal"},
		{"a = X'0'", "position 5: invalid hex digits in binary literal"},
		{"a = 1abc", "position 5: invalid number \"1a\""},
		{"a = 1.2.3", "position 5: invalid number \"1.2.\""},
		{"a = 1e", "position 5: invalid number \"1e\""},
		{"a = 1e999", "position 5: number 1e999 out of range"},
		{"a = -x", "position 6: expected a number after '-'"},
		{"a = #", "position 5: unexpected character '#'"},
		{"`ä` = €", "position 7: unexpected character '€'"},
		{"ä = 1", "position 1: unexpected character 'ä'"},
		{"a = !", "position 5: unexpected character '!'"},
		{"a = 1 AND b.", "position 13: expected a field name after '.'"},
		{"a.and = 1", "position 3: expected a field name after '.'"},
		{"d = DATE '2021-02-30'", "position 10: invalid DATE literal '2021-02-30' (want 'YYYY-MM-DD')"},
		{"d = DATE '2021-01-01 10:00'", "position 10: invalid DATE literal '2021-01-01 10:00' (want 'YYYY-MM-DD')"},
		{"t = TIMESTAMP '2021-01-01 25:00'", "position 15: invalid TIMESTAMP literal '2021-01-01 25:00' (want 'YYYY-MM-DD HH:MM:SS[.ffffff]' with an optional Z or ±HH:MM)"},
		{"t = TIMESTAMP_NTZ '2021-01-01 10:00+01:00'", "position 19: invalid TIMESTAMP_NTZ literal '2021-01-01 10:00+01:00' (want 'YYYY-MM-DD HH:MM:SS[.ffffff]' without a zone)"},
		{"= 1", "position 1: expected a condition"},
		{"AND", "position 1: expected a condition"},
		{"a = = 1", "position 5: expected a value after '='"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.src)
		if err == nil {
			t.Errorf("Parse(%q): no error, want %q", tt.src, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Parse(%q):\n got %q\nwant %q", tt.src, err.Error(), tt.want)
		}
		var se *SyntaxError
		if !errors.As(err, &se) || se.Pos < 1 {
			t.Errorf("Parse(%q): error %T is not a *SyntaxError with a position", tt.src, err)
		}
	}
}

// TestParseErrorWrapped checks the message the reader shows for --where.
func TestParseErrorWrapped(t *testing.T) {
	_, err := Parse("amount_usd >")
	if got, want := fmt.Errorf("where: %w", err).Error(), "where: position 13: expected a value after '>'"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseDepth(t *testing.T) {
	src := ""
	for range 1000 {
		src += "("
	}
	if _, err := Parse(src + "a"); err == nil {
		t.Error("deep nesting: no error")
	}
	src = ""
	for range 100 {
		src += "NOT ("
	}
	src += "a = 1"
	for range 100 {
		src += ")"
	}
	if _, err := Parse(src); err != nil {
		t.Errorf("100 nested NOT: %v", err)
	}
}
