package predicate

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// row maps a column path to its value. For a struct column the entry at its
// own name is KindNull when the struct is null (anything else means valid),
// and its fields are at "name.field".
type row map[string]Value

// buildRecord builds a record of schema from rows with Value.AppendTo.
func buildRecord(t testing.TB, mem memory.Allocator, schema *arrow.Schema, rows []row) arrow.RecordBatch {
	t.Helper()
	rb := array.NewRecordBuilder(mem, schema)
	defer rb.Release()
	for _, r := range rows {
		for i, f := range schema.Fields() {
			appendField(t, rb.Field(i), f, f.Name, r)
		}
	}
	return rb.NewRecordBatch()
}

func appendField(t testing.TB, b array.Builder, f arrow.Field, path string, r row) {
	t.Helper()
	if sb, ok := b.(*array.StructBuilder); ok {
		if r[path].Kind == KindNull {
			sb.AppendNull()
			return
		}
		sb.Append(true)
		for i, cf := range f.Type.(*arrow.StructType).Fields() {
			appendField(t, sb.FieldBuilder(i), cf, path+"."+cf.Name, r)
		}
		return
	}
	if err := r[path].AppendTo(b); err != nil {
		t.Fatalf("appending %s: %v", path, err)
	}
}

// mapStats is a Stats for tests; a missing key means unknown.
type mapStats struct {
	numRecords *int64
	min, max   map[string]Value
	nullCount  map[string]int64
}

func (s mapStats) NumRecords() (int64, bool) {
	if s.numRecords == nil {
		return 0, false
	}
	return *s.numRecords, true
}

func (s mapStats) Min(c string) (Value, bool)       { v, ok := s.min[c]; return v, ok }
func (s mapStats) Max(c string) (Value, bool)       { v, ok := s.max[c]; return v, ok }
func (s mapStats) NullCount(c string) (int64, bool) { v, ok := s.nullCount[c]; return v, ok }

func i64(n int64) *int64 { return &n }

// mustBind parses and binds src.
func mustBind(t testing.TB, src string, schema *arrow.Schema) *Bound {
	t.Helper()
	e, err := Parse(src)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	b, err := Bind(e, schema)
	if err != nil {
		t.Fatalf("Bind(%q): %v", src, err)
	}
	return b
}

// filteredIDs runs b.Filter on rec and returns the "id" column of the result.
func filteredIDs(t testing.TB, b *Bound, rec arrow.RecordBatch, mem memory.Allocator) []int64 {
	t.Helper()
	out, err := b.Filter(rec, mem)
	if err != nil {
		t.Fatalf("Filter(%s): %v", b, err)
	}
	defer out.Release()
	idx := out.Schema().FieldIndices("id")
	if len(idx) == 0 {
		t.Fatalf("no id column")
	}
	ids := []int64{}
	col := out.Column(idx[0]).(*array.Int64)
	for i := 0; i < col.Len(); i++ {
		ids = append(ids, col.Value(i))
	}
	return ids
}
