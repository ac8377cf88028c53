package lakehouse

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeport/lakeport/internal/errs"
)

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"main", "a_b", "A-1", "0abc", "x"} {
		if err := ValidateName("table", ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-a", "a b", "a.b", "a/b", "..", "a`b", "é", "a;b", string(make([]byte, 256))} {
		err := ValidateName("table", bad)
		if !errors.Is(err, ErrInvalid) || !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("%q: %v, want invalid", bad, err)
		}
	}
	for _, bad := range []string{"", "a\nb", "a\x00", "\x7f"} {
		if err := ValidateColumnName(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("column %q: %v, want invalid", bad, err)
		}
	}
	if err := ValidateColumnName("first name (€)"); err != nil {
		t.Error(err)
	}
}

func TestValueJSON(t *testing.T) {
	ts := time.Date(2024, 2, 29, 23, 59, 59, 123456000, time.UTC)
	for _, v := range []Value{{}, Int(-42), String("it's \"q\""), Timestamp(ts), Date(ts), Timestamp(time.Unix(-1, 5000))} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var back Value
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if back != v {
			t.Errorf("%s: got back %+v, want %+v", b, back, v)
		}
	}
	if Compare(Value{}, Int(math.MinInt64)) >= 0 || Compare(String("a"), String("b")) >= 0 {
		t.Error("Compare")
	}
	p := Position{Key: Int(1), Tie: String("b")}
	if p.Compare(Position{Key: Int(1)}) <= 0 || p.Compare(Position{Key: Int(2)}) >= 0 {
		t.Error("Position.Compare")
	}
}

func TestRowEncoder(t *testing.T) {
	s := arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "we\"ird", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
		{Name: "skip", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, s)
	defer b.Release()
	strs := []string{"plain", "q\"uo\\te\n\t\x01", "bad\xffutf8 \u2028", ""}
	for _, v := range strs {
		b.Field(0).(*array.StringBuilder).Append(v)
		b.Field(1).(*array.Float64Builder).Append(1.5)
		b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC).UnixMicro()))
		lb := b.Field(3).(*array.ListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.StringBuilder).Append(v)
		b.Field(4).(*array.Int64Builder).Append(1)
	}
	b.Field(0).AppendNull()
	b.Field(1).(*array.Float64Builder).Append(math.NaN())
	b.Field(2).AppendNull()
	b.Field(3).AppendNull()
	b.Field(4).AppendNull()
	rec := b.NewRecordBatch()
	defer rec.Release()
	enc := NewRowEncoder(s, "skip")
	for i := 0; i < int(rec.NumRows()); i++ {
		out := enc.Append(nil, rec, i)
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("row %d: %s: %v", i, out, err)
		}
		if _, ok := m["skip"]; ok {
			t.Errorf("omitted column present: %s", out)
		}
		if i < len(strs) {
			want := []rune(strs[i])
			_ = want
			if i == 0 && m["s"] != "plain" || i == 1 && m["s"] != strs[1] {
				t.Errorf("row %d: s = %q", i, m["s"])
			}
			if m["ts"] != "2024-01-02T03:04:05.000006Z" || m["f"] != 1.5 {
				t.Errorf("row %d: %s", i, out)
			}
		} else if m["s"] != nil || m["f"] != "NaN" {
			t.Errorf("null row: %s", out)
		}
	}
}
