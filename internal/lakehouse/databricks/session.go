package databricks

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	dbsql "github.com/databricks/databricks-sql-go"
	dbsqlrows "github.com/databricks/databricks-sql-go/rows"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// sessions hands out SQL sessions (one connection each).
type sessions interface {
	Session(ctx context.Context) (session, error)
	Close() error
}

// session runs statements one after another on one connection. At most
// one result is open at a time; it must be closed before the next
// statement.
type session interface {
	// Query runs a statement and streams its result as arrow-go v18 record
	// batches.
	Query(ctx context.Context, st Statement) (resultSet, error)
	Close() error
}

// resultSet is a statement's result. Next returns io.EOF at the end; the
// caller releases each batch.
type resultSet interface {
	Schema() *arrow.Schema
	Next(ctx context.Context) (arrow.RecordBatch, error)
	Close() error
}

// dbPool is sessions on database/sql over the databricks-sql-go connector.
type dbPool struct {
	db *sql.DB
	ws Workspace
}

func (p *dbPool) Session(ctx context.Context) (session, error) {
	if err := p.ws.WarehouseReady(ctx); err != nil {
		return nil, err
	}
	c, err := p.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	return &dbSession{conn: c}, nil
}

func (p *dbPool) Close() error { return p.db.Close() }

type dbSession struct {
	conn *sql.Conn
	// broken is set after an error that may have left the connection
	// unusable (a reset); Close then discards it instead of pooling it.
	broken bool
}

func (s *dbSession) Close() error {
	if s.broken {
		// hand the driver connection back as bad so the pool drops it
		_ = s.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	return s.conn.Close()
}

func namedValues(params []Param) []driver.NamedValue {
	out := make([]driver.NamedValue, len(params))
	for i, p := range params {
		var v any = p.Value
		if p.Null {
			v = nil
		}
		typ := dbsql.SqlString
		switch p.Type {
		case "BIGINT":
			typ = dbsql.SqlBigInt
		case "DATE":
			typ = dbsql.SqlDate
		case "TIMESTAMP":
			typ = dbsql.SqlTimestamp
		}
		if p.Null {
			typ = dbsql.SqlVoid
		}
		out[i] = driver.NamedValue{Name: p.Name, Ordinal: i + 1, Value: dbsql.Parameter{Name: p.Name, Type: typ, Value: v}}
	}
	return out
}

// Query runs the statement on the session's driver connection and streams
// the result's Arrow IPC streams (the driver is on Arrow v12; the bytes are
// read with arrow-go v18's IPC reader, so no v12 type reaches Lakeport).
// The driver connection is used only inside sql.Conn.Raw: a goroutine holds
// it there while the result is read and hands batches over a channel of
// one (memory: one batch ahead).
func (s *dbSession) Query(ctx context.Context, st Statement) (resultSet, error) {
	r := &ipcResult{
		out:  make(chan arrow.RecordBatch, 1),
		done: make(chan struct{}),
		end:  make(chan struct{}),
	}
	ready := make(chan error, 1)
	go func() {
		defer close(r.end)
		started := false
		err := s.conn.Raw(func(dc any) error {
			q, ok := dc.(driver.QueryerContext)
			if !ok {
				return fmt.Errorf("databricks: driver connection %T cannot query", dc)
			}
			rows, err := q.QueryContext(ctx, st.SQL, namedValues(st.Params))
			if err != nil {
				return err
			}
			defer rows.Close()
			started = true
			return r.stream(ctx, rows, ready)
		})
		if err != nil && isConnError(err) {
			s.broken = true
		}
		if !started {
			ready <- err
			return
		}
		r.err = err
	}()
	if err := <-ready; err != nil {
		<-r.end
		return nil, err
	}
	return r, nil
}

type ipcResult struct {
	schema *arrow.Schema
	out    chan arrow.RecordBatch
	done   chan struct{} // closed by Close: stop reading
	end    chan struct{} // closed when the reader goroutine has finished
	err    error         // the reader's error, valid after end

	closeOnce sync.Once
}

// stream reads the driver's IPC streams; it reports the schema on ready
// before the first batch.
func (r *ipcResult) stream(ctx context.Context, rows driver.Rows, ready chan<- error) (err error) {
	defer close(r.out)
	ar, ok := rows.(dbsqlrows.Rows)
	if !ok {
		err := fmt.Errorf("databricks: driver rows %T have no Arrow interface", rows)
		ready <- err
		return err
	}
	it, err := ar.GetArrowIPCStreams(ctx)
	if err != nil {
		ready <- err
		return err
	}
	defer it.Close()
	// the first stream (if any) is read before the schema is reported, so a
	// result whose schema comes with its first page has it
	var first io.Reader
	var firstErr error
	if it.HasNext() {
		first, firstErr = it.Next()
	}
	if firstErr != nil && !errors.Is(firstErr, io.EOF) {
		ready <- firstErr
		return firstErr
	}
	schema, err := resultSchema(it, rows)
	if err != nil {
		ready <- err
		return err
	}
	r.schema = schema
	ready <- nil
	send := func(rec arrow.RecordBatch) bool {
		select {
		case r.out <- rec:
			return true
		case <-r.done:
			rec.Release()
			return false
		case <-ctx.Done():
			rec.Release()
			return false
		}
	}
	read := func(src io.Reader) (bool, error) {
		rd, err := ipc.NewReader(src, ipc.WithAllocator(memory.DefaultAllocator))
		if err != nil {
			return false, fmt.Errorf("databricks: reading an Arrow IPC stream: %w", err)
		}
		defer rd.Release()
		for rd.Next() {
			rec := rd.RecordBatch()
			rec.Retain()
			if !send(normalize(schema, rec)) {
				return false, nil
			}
		}
		if err := rd.Err(); err != nil && !errors.Is(err, io.EOF) {
			return false, fmt.Errorf("databricks: reading an Arrow IPC stream: %w", err)
		}
		return true, nil
	}
	if first != nil {
		if ok, err := read(first); err != nil || !ok {
			return err
		}
	}
	for it.HasNext() {
		src, err := it.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if ok, err := read(src); err != nil || !ok {
			return err
		}
	}
	return ctx.Err()
}

// resultSchema is the result's Arrow schema: the driver's schema bytes, or
// (for a result without Arrow metadata, e.g. an empty DDL result) one built
// from the column type names.
func resultSchema(it dbsqlrows.ArrowIPCStreamIterator, rows driver.Rows) (*arrow.Schema, error) {
	b, err := it.SchemaBytes()
	if err == nil && len(b) > 0 {
		rd, err := ipc.NewReader(bytes.NewReader(b))
		if err == nil {
			s := rd.Schema()
			rd.Release()
			return normalizeSchema(s), nil
		}
	}
	cols := rows.Columns()
	fields := make([]arrow.Field, len(cols))
	tn, _ := rows.(driver.RowsColumnTypeDatabaseTypeName)
	for i, c := range cols {
		typ := "STRING"
		if tn != nil {
			typ = tn.ColumnTypeDatabaseTypeName(i)
		}
		fields[i] = arrow.Field{Name: c, Type: arrowTypeOfName(typ), Nullable: true}
	}
	return arrow.NewSchema(fields, nil), nil
}

func arrowTypeOfName(t string) arrow.DataType {
	switch strings.ToUpper(t) {
	case "BIGINT", "LONG":
		return arrow.PrimitiveTypes.Int64
	case "INT", "INTEGER":
		return arrow.PrimitiveTypes.Int32
	case "SMALLINT", "SHORT":
		return arrow.PrimitiveTypes.Int16
	case "TINYINT", "BYTE":
		return arrow.PrimitiveTypes.Int8
	case "DOUBLE":
		return arrow.PrimitiveTypes.Float64
	case "FLOAT":
		return arrow.PrimitiveTypes.Float32
	case "BOOLEAN":
		return arrow.FixedWidthTypes.Boolean
	case "DATE":
		return arrow.FixedWidthTypes.Date32
	case "TIMESTAMP":
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	case "TIMESTAMP_NTZ":
		return &arrow.TimestampType{Unit: arrow.Microsecond}
	case "BINARY":
		return arrow.BinaryTypes.Binary
	}
	return arrow.BinaryTypes.String
}

// normalizeSchema labels timestamp (with time zone) columns UTC: the
// warehouse sends instants labelled with the session zone; Lakeport's
// timestamps are UTC (timestamp_ntz stays without a zone).
func normalizeSchema(s *arrow.Schema) *arrow.Schema {
	changed := false
	fields := s.Fields()
	for i, f := range fields {
		if ts, ok := f.Type.(*arrow.TimestampType); ok && ts.TimeZone != "" && ts.TimeZone != "UTC" {
			fields[i].Type = &arrow.TimestampType{Unit: ts.Unit, TimeZone: "UTC"}
			changed = true
		}
	}
	if !changed {
		return s
	}
	md := s.Metadata()
	return arrow.NewSchema(fields, &md)
}

// normalize gives a batch the result's (normalized) schema.
func normalize(schema *arrow.Schema, rec arrow.RecordBatch) arrow.RecordBatch {
	if rec.Schema().Equal(schema) {
		return rec
	}
	cols := make([]arrow.Array, rec.NumCols())
	for i := range cols {
		c := rec.Column(i)
		want := schema.Field(i).Type
		if arrow.TypeEqual(c.DataType(), want) {
			c.Retain()
			cols[i] = c
			continue
		}
		d := c.Data()
		nd := array.NewData(want, d.Len(), d.Buffers(), d.Children(), d.NullN(), d.Offset())
		cols[i] = array.MakeFromData(nd)
		nd.Release()
	}
	out := array.NewRecordBatch(schema, cols, rec.NumRows())
	for _, c := range cols {
		c.Release()
	}
	rec.Release()
	return out
}

func (r *ipcResult) Schema() *arrow.Schema { return r.schema }

func (r *ipcResult) Next(ctx context.Context) (arrow.RecordBatch, error) {
	select {
	case rec, ok := <-r.out:
		if ok {
			return rec, nil
		}
		<-r.end
		if r.err != nil {
			return nil, r.err
		}
		return nil, io.EOF
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (r *ipcResult) Close() error {
	r.closeOnce.Do(func() {
		close(r.done)
		// drain what the reader already handed over
		for rec := range r.out {
			rec.Release()
		}
		<-r.end
	})
	return nil
}
