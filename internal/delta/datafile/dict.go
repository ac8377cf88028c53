package datafile

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
)

// Dictionary encoding pays off for columns with few distinct values and
// costs time (hashing every value until the dictionary outgrows its page
// limit and the writer falls back to plain) for columns of nearly unique
// values: ids, event times, JSON payloads. The writer samples the first
// batch it is given and turns the dictionary off for top-level columns
// whose sample is mostly distinct.
const (
	dictSampleRows     = 8192
	dictDistinctCutoff = 0.5 // distinct / sampled above which the dictionary is off
)

// dictionaryChoices returns writer properties turning the dictionary off
// for the high-cardinality top-level columns of rec.
func dictionaryChoices(rec arrow.RecordBatch) []parquet.WriterProperty {
	var out []parquet.WriterProperty
	for i, f := range rec.Schema().Fields() {
		if highCardinality(rec.Column(i)) {
			out = append(out, parquet.WithDictionaryFor(f.Name, false))
		}
	}
	return out
}

func highCardinality(arr arrow.Array) bool {
	n := min(arr.Len(), dictSampleRows)
	if n < 64 {
		return false
	}
	var distinct, seen int
	switch a := arr.(type) {
	case *array.String:
		distinct, seen = countDistinct(n, a.IsValid, a.Value)
	case *array.LargeString:
		distinct, seen = countDistinct(n, a.IsValid, a.Value)
	case *array.Binary:
		distinct, seen = countDistinct(n, a.IsValid, a.ValueString)
	case *array.Int64:
		distinct, seen = countDistinct(n, a.IsValid, a.Value)
	case *array.Int32:
		distinct, seen = countDistinct(n, a.IsValid, a.Value)
	case *array.Timestamp:
		distinct, seen = countDistinct(n, a.IsValid, a.Value)
	case *array.Float64:
		distinct, seen = countDistinct(n, a.IsValid, a.Value)
	case *array.Float32:
		distinct, seen = countDistinct(n, a.IsValid, a.Value)
	case *array.Decimal128:
		distinct, seen = countDistinct(n, a.IsValid, a.Value)
	default:
		return false
	}
	return seen >= 64 && float64(distinct) > dictDistinctCutoff*float64(seen)
}

func countDistinct[T comparable](n int, valid func(int) bool, value func(int) T) (distinct, seen int) {
	set := make(map[T]struct{}, n)
	for i := range n {
		if !valid(i) {
			continue
		}
		seen++
		set[value(i)] = struct{}{}
	}
	return len(set), seen
}
