package lakehousetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/lakehouse/staging"
)

// Harness prepares tables for the suite in a fresh, empty lakehouse.
type Harness interface {
	// Lakehouse is the driver under test, opened on the harness's lakehouse.
	Lakehouse() lakehouse.Lakehouse
	// CreateTable creates catalog.schema.table (catalog and schema too, if
	// needed) with these columns.
	CreateTable(ctx context.Context, name lakehouse.TableName, schema *arrow.Schema, o TableOptions) error
	// Append inserts rows and returns the new version.
	Append(ctx context.Context, name lakehouse.TableName, rec arrow.RecordBatch) (int64, error)
	// Merge upserts rows by key columns and returns the new version.
	Merge(ctx context.Context, name lakehouse.TableName, keys []string, rec arrow.RecordBatch) (int64, error)
	// Delete deletes the rows whose column equals one of the integers.
	Delete(ctx context.Context, name lakehouse.TableName, column string, values []int64) (int64, error)
	// ExpireChanges makes the change feed of every version before the
	// current one unreadable, as vacuum or log retention would.
	ExpireChanges(ctx context.Context, name lakehouse.TableName) error
	// Staging is the staging area loads read from (the suite writes files
	// into it).
	Staging() staging.Area
	Close() error
}

// TableOptions shape a table the harness creates.
type TableOptions struct {
	PartitionColumns []string
	ChangeDataFeed   bool
}

// Open returns a harness on a new, empty lakehouse. The suite closes it.
type Open func(t *testing.T) Harness

// Types used in the suite's tables.
var (
	TS    = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	TSNTZ = &arrow.TimestampType{Unit: arrow.Microsecond}
)

// Batch builds a record batch from rows of Go values: int64, int32, string,
// float64, bool, time.Time (timestamp or date column), []string (array of
// strings) and nil for NULL.
func Batch(schema *arrow.Schema, rows ...[]any) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, row := range rows {
		if len(row) != schema.NumFields() {
			panic(fmt.Sprintf("row has %d values, schema %d columns", len(row), schema.NumFields()))
		}
		for i, v := range row {
			appendValue(b.Field(i), v)
		}
	}
	return b.NewRecordBatch()
}

func appendValue(fb array.Builder, v any) {
	if v == nil {
		fb.AppendNull()
		return
	}
	switch fb := fb.(type) {
	case *array.Int64Builder:
		fb.Append(toInt(v))
	case *array.Int32Builder:
		fb.Append(int32(toInt(v)))
	case *array.StringBuilder:
		fb.Append(v.(string))
	case *array.Float64Builder:
		fb.Append(v.(float64))
	case *array.BooleanBuilder:
		fb.Append(v.(bool))
	case *array.TimestampBuilder:
		fb.Append(arrow.Timestamp(v.(time.Time).UnixMicro()))
	case *array.Date32Builder:
		fb.Append(arrow.Date32FromTime(v.(time.Time)))
	case *array.ListBuilder:
		fb.Append(true)
		vb := fb.ValueBuilder().(*array.StringBuilder)
		for _, s := range v.([]string) {
			vb.Append(s)
		}
	default:
		panic(fmt.Sprintf("lakehousetest: no builder for %T", fb))
	}
}

func toInt(v any) int64 {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int64:
		return n
	case int32:
		return int64(n)
	}
	panic(fmt.Sprintf("not an integer: %T", v))
}
