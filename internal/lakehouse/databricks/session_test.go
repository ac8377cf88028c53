package databricks

import (
	"bytes"
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"testing"
	"time"

	dbsqlrows "github.com/databricks/databricks-sql-go/rows"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// fakeRows serves IPC streams the way the driver does: one stream per
// batch, each the schema message followed by the batch.
type fakeRows struct {
	schemaBytes []byte
	streams     [][]byte
	i           int
}

func (r *fakeRows) Columns() []string              { return nil }
func (r *fakeRows) Close() error                   { return nil }
func (r *fakeRows) Next(dest []driver.Value) error { return io.EOF }
func (r *fakeRows) GetArrowBatches(context.Context) (dbsqlrows.ArrowBatchIterator, error) {
	return nil, errors.New("not used")
}
func (r *fakeRows) HasNext() bool { return r.i < len(r.streams) }
func (r *fakeRows) Next2() (io.Reader, error) {
	if r.i >= len(r.streams) {
		return nil, io.EOF
	}
	r.i++
	return bytes.NewReader(r.streams[r.i-1]), nil
}
func (r *fakeRows) SchemaBytes() ([]byte, error) { return r.schemaBytes, nil }

// iterator adapts fakeRows to the iterator's Next (the name clashes with
// driver.Rows.Next).
type iterator struct{ *fakeRows }

func (it iterator) Next() (io.Reader, error) { return it.fakeRows.Next2() }
func (it iterator) Close()                   {}

type rowsWithIter struct{ *fakeRows }

func (r rowsWithIter) GetArrowIPCStreams(context.Context) (dbsqlrows.ArrowIPCStreamIterator, error) {
	return iterator{r.fakeRows}, nil
}

func ipcBytes(t *testing.T, schema *arrow.Schema, rec arrow.RecordBatch) []byte {
	var b bytes.Buffer
	w := ipc.NewWriter(&b, ipc.WithSchema(schema))
	if rec != nil {
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestIPCStreamsToArrowV18: the driver's IPC streams are read into
// arrow-go v18 batches, timestamps labelled UTC, in order.
func TestIPCStreamsToArrowV18(t *testing.T) {
	wire := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "Etc/UTC"}, Nullable: true},
	}, nil)
	when := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	r := &fakeRows{schemaBytes: ipcBytes(t, wire, nil)}
	for i := 0; i < 3; i++ {
		b := array.NewRecordBuilder(memory.DefaultAllocator, wire)
		b.Field(0).(*array.Int64Builder).AppendValues([]int64{int64(2 * i), int64(2*i + 1)}, nil)
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(when.UnixMicro()))
		b.Field(1).(*array.TimestampBuilder).AppendNull()
		rec := b.NewRecordBatch()
		r.streams = append(r.streams, ipcBytes(t, wire, rec))
		rec.Release()
		b.Release()
	}
	res := &ipcResult{out: make(chan arrow.RecordBatch, 1), done: make(chan struct{}), end: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		defer close(res.end)
		res.err = res.stream(context.Background(), rowsWithIter{r}, ready)
	}()
	if err := <-ready; err != nil {
		t.Fatal(err)
	}
	if tz := res.Schema().Field(1).Type.(*arrow.TimestampType).TimeZone; tz != "UTC" {
		t.Errorf("schema zone %q", tz)
	}
	var ids []int64
	for {
		rec, err := res.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !rec.Schema().Equal(res.Schema()) {
			t.Errorf("batch schema %v, want %v", rec.Schema(), res.Schema())
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			ids = append(ids, rec.Column(0).(*array.Int64).Value(i))
		}
		if got := rec.Column(1).(*array.Timestamp).Value(0).ToTime(arrow.Microsecond); !got.Equal(when) {
			t.Errorf("ts = %v", got)
		}
		rec.Release()
	}
	if len(ids) != 6 || ids[5] != 5 {
		t.Errorf("ids = %v", ids)
	}
	res.Close()
}
