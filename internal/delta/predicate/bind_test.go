package predicate

import (
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

var bindSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "b", Type: arrow.PrimitiveTypes.Int8},
	{Name: "n", Type: arrow.PrimitiveTypes.Int32},
	{Name: "f", Type: arrow.PrimitiveTypes.Float32},
	{Name: "g", Type: arrow.PrimitiveTypes.Float64},
	{Name: "price", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}},
	{Name: "s", Type: arrow.BinaryTypes.String},
	{Name: "bin", Type: arrow.BinaryTypes.Binary},
	{Name: "d", Type: arrow.FixedWidthTypes.Date32},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: "ntz", Type: &arrow.TimestampType{Unit: arrow.Microsecond}},
	{Name: "flag", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "Mixed", Type: arrow.PrimitiveTypes.Int64},
	{Name: "dup", Type: arrow.PrimitiveTypes.Int64},
	{Name: "DUP", Type: arrow.PrimitiveTypes.Int64},
	{Name: "my col", Type: arrow.PrimitiveTypes.Int64},
	{Name: "st", Type: arrow.StructOf(
		arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		arrow.Field{Name: "inner", Type: arrow.StructOf(arrow.Field{Name: "Deep", Type: arrow.BinaryTypes.String, Nullable: true}), Nullable: true},
	), Nullable: true},
	{Name: "arr", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32)},
}, nil)

func TestBind(t *testing.T) {
	tests := []struct {
		src, want string
		cols      []string
	}{
		{"id > 3", "id > 3", []string{"id"}},
		{"ID > 3", "id > 3", []string{"id"}},
		{"mixed = 1 AND MIXED = 2", "Mixed = 1 AND Mixed = 2", []string{"Mixed"}},
		{"dup = 1 OR DUP = 2", "dup = 1 OR DUP = 2", []string{"dup", "DUP"}},
		{"`my col` = 1", "`my col` = 1", []string{"my col"}},
		{"st.x < 5 AND st.inner.deep = 'a'", "st.x < 5 AND st.inner.Deep = 'a'", []string{"st.x", "st.inner.Deep"}},
		{"3 < id", "id > 3", []string{"id"}},
		{"3 >= id", "id <= 3", []string{"id"}},
		{"id = 2.5", "id = 2.5", []string{"id"}},
		{"id = 1e3", "id = 1000e0", []string{"id"}},
		{"id = '42'", "id = 42", []string{"id"}},
		{"g = 1", "g = 1e0", []string{"g"}},
		{"g = 0.1", "g = 0.1e0", []string{"g"}},
		{"g = 'NaN'", "g = 'NaN'", []string{"g"}},
		{"f = 0.1", "f = 0.1e0", []string{"f"}},
		{"price = 1", "price = 1.0", []string{"price"}},
		{"price = 0.1e0", "price = 0.1", []string{"price"}},
		{"price > '12.345'", "price > 12.345", []string{"price"}},
		{"price IN (1, 2.50, NULL)", "price IN (1.0, 2.5, NULL)", []string{"price"}},
		{"s = 'x' OR s IS NULL", "s = 'x' OR s IS NULL", []string{"s"}},
		{"bin = 'ab'", "bin = X'6162'", []string{"bin"}},
		{"d = '2021-01-01'", "d = DATE '2021-01-01'", []string{"d"}},
		{"d < TIMESTAMP '2021-01-01 12:00:00'", "d < TIMESTAMP '2021-01-01 12:00:00'", []string{"d"}},
		{"d < '2021-01-01 12:00:00'", "d < TIMESTAMP '2021-01-01 12:00:00'", []string{"d"}},
		{"ts >= '2021-01-01'", "ts >= TIMESTAMP '2021-01-01 00:00:00'", []string{"ts"}},
		{"ts >= DATE '2021-01-01'", "ts >= TIMESTAMP '2021-01-01 00:00:00'", []string{"ts"}},
		{"ts >= '2021-01-01T01:00:00+01:00'", "ts >= TIMESTAMP '2021-01-01 00:00:00'", []string{"ts"}},
		{"ntz >= TIMESTAMP '2021-01-01 10:00:00'", "ntz >= TIMESTAMP_NTZ '2021-01-01 10:00:00'", []string{"ntz"}},
		{"flag", "flag = TRUE", []string{"flag"}},
		{"NOT flag", "NOT (flag = TRUE)", []string{"flag"}},
		{"flag = 'false'", "flag = FALSE", []string{"flag"}},
		{"id = n AND f < g", "id = n AND f < g", []string{"id", "n", "f", "g"}},
		{"price > id", "price > id", []string{"price", "id"}},
		{"d < ts", "d < ts", []string{"d", "ts"}},
		{"id = NULL", "NULL", []string{"id"}},
		{"1 = 1", "TRUE", nil},
		{"1 = 2 OR NULL", "FALSE OR NULL", nil},
		{"DATE '2021-01-01' = '2021-01-01'", "TRUE", nil},
		{"NOT TRUE", "NOT TRUE", nil},
		{"st IS NULL", "st IS NULL", []string{"st"}},
		{"arr IS NOT NULL", "arr IS NOT NULL", []string{"arr"}},
		{"(id = 1 OR id = 2) AND NOT (s = 'a' AND s = 'b')", "(id = 1 OR id = 2) AND NOT (s = 'a' AND s = 'b')", []string{"id", "s"}},
	}
	for _, tt := range tests {
		b := mustBind(t, tt.src, bindSchema)
		if got := b.String(); got != tt.want {
			t.Errorf("Bind(%q).String() = %q, want %q", tt.src, got, tt.want)
		}
		if got := b.Columns(); !reflect.DeepEqual(got, tt.cols) && !(len(got) == 0 && len(tt.cols) == 0) {
			t.Errorf("Bind(%q).Columns() = %q, want %q", tt.src, got, tt.cols)
		}
		// The bound rendering parses and binds to itself.
		if b2 := mustBind(t, b.String(), bindSchema); b2.String() != b.String() {
			t.Errorf("rebinding %q: %q", b.String(), b2.String())
		}
	}
}

func TestBindErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"foo = 1", `unknown column "foo"`},
		{"st.nope = 1", `unknown column "st.nope"`},
		{"st.inner.nope IS NULL", `unknown column "st.inner.nope"`},
		{"`foo bar` = 1", `unknown column "foo bar"`},
		{"id.x = 1", `column "id" (long) has no field "x"`},
		{"Dup = 1", `ambiguous column "Dup": matches "dup" and "DUP"`},
		{"d = 'abc'", `cannot compare column "d" (date) with 'abc'`},
		{"d = 5", `cannot compare column "d" (date) with 5`},
		{"d IN (DATE '2021-01-01', 5)", `cannot compare column "d" (date) with 5`},
		{"ts = 5", `cannot compare column "ts" (timestamp) with 5`},
		{"ntz = '2021-01-01 00:00:00+02:00'", `cannot compare column "ntz" (timestamp_ntz) with '2021-01-01 00:00:00+02:00'`},
		{"id = 'abc'", `cannot compare column "id" (long) with 'abc'`},
		{"id = DATE '2021-01-01'", `cannot compare column "id" (long) with DATE '2021-01-01'`},
		{"s = 5", `cannot compare column "s" (string) with 5`},
		{"flag = 1", `cannot compare column "flag" (boolean) with 1`},
		{"price = 'x'", `cannot compare column "price" (decimal(10,2)) with 'x'`},
		{"id = s", `cannot compare column "id" (long) with column "s" (string)`},
		{"st = 1", `column "st" (struct) cannot be compared with values`},
		{"st IN (1)", `column "st" (struct) cannot be compared with values`},
		{"id", `column "id" (long) is not boolean: compare it with a value`},
		{"5", `5 is not a condition`},
		{"1 = 'a'", `cannot compare 1 with 'a'`},
	}
	for _, tt := range tests {
		e, err := Parse(tt.src)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.src, err)
		}
		_, err = Bind(e, bindSchema)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Bind(%q) error = %v, want %q", tt.src, err, tt.want)
		}
	}
	if _, err := Bind(nil, bindSchema); err == nil {
		t.Error("Bind(nil): no error")
	}
	if _, err := Bind(Column{Path: []string{"id"}}, nil); err == nil {
		t.Error("Bind with nil schema: no error")
	}
}
