package predicate

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func BenchmarkFilter(b *testing.B) {
	mem := memory.NewGoAllocator()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "price", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	}, nil)
	const n = 64 * 1024
	rb := array.NewRecordBuilder(mem, schema)
	for i := range n {
		rb.Field(0).(*array.Int64Builder).Append(int64(i))
		if i%10 == 0 {
			rb.Field(1).AppendNull()
		} else {
			rb.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("k%d", i%100))
		}
		rb.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(i % 10000)))
		rb.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(int64(i) * 1000))
	}
	rec := rb.NewRecordBatch()
	rb.Release()
	defer rec.Release()
	for _, where := range []string{
		"id >= 0",
		"id < 1000 OR id > 60000",
		"s IN ('k1', 'k2', 'k3') AND price > 12.5",
		"ts > TIMESTAMP '1970-01-01 00:00:30' AND NOT (s = 'k7')",
	} {
		e, err := Parse(where)
		if err != nil {
			continue
		}
		bound, err := Bind(e, schema)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(where, func(b *testing.B) {
			b.SetBytes(n)
			for b.Loop() {
				out, err := bound.Filter(rec, mem)
				if err != nil {
					b.Fatal(err)
				}
				out.Release()
			}
		})
	}
}
