package dbxfake_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	dbsql "github.com/databricks/databricks-sql-go"
	dbsqlerr "github.com/databricks/databricks-sql-go/errors"
	dbsqllogger "github.com/databricks/databricks-sql-go/logger"
	dbsqlrows "github.com/databricks/databricks-sql-go/rows"

	"github.com/lakeport/lakeport/internal/lakehouse/databricks/dbxfake"
)

var orderFields = []arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "amount", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
	{Name: "updated_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "active", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
}

var t0 = time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)

// ordersResult has n rows: id i+1, name "n<i+1>" (NULL for every 3rd).
func ordersResult(n int) *dbxfake.Result {
	var rows [][]any
	for i := 0; i < n; i++ {
		var name any = fmt.Sprintf("n%d", i+1)
		if (i+1)%3 == 0 {
			name = nil
		}
		rows = append(rows, []any{int64(i + 1), name, fmt.Sprintf("%d.25", i+1), t0.Add(time.Duration(i) * time.Hour), i%2 == 0, float64(i) / 2, t0})
	}
	return dbxfake.MustResult(orderFields, rows...)
}

// multiBatch splits r's single batch into batches of size k.
func multiBatch(r *dbxfake.Result, k int64) *dbxfake.Result {
	rec := r.Batches[0]
	var out []arrow.RecordBatch
	for lo := int64(0); lo < rec.NumRows(); lo += k {
		out = append(out, rec.NewSlice(lo, min(lo+k, rec.NumRows())))
	}
	return &dbxfake.Result{Schema: r.Schema, Batches: out}
}

func TestMain(m *testing.M) {
	// The driver logs every failed request at error level; the tests cause
	// plenty on purpose.
	_ = dbsqllogger.SetLogLevel("disabled")
	os.Exit(m.Run())
}

func newSQLServer(t *testing.T, rows int) *dbxfake.Server {
	s := dbxfake.New(t)
	s.AddToken(pat)
	s.HandleSQL(func(q dbxfake.Query) (*dbxfake.Result, error) {
		u := strings.ToUpper(q.SQL)
		switch {
		case strings.HasPrefix(u, "SELECT"):
			return multiBatch(ordersResult(rows), 7), nil
		case strings.HasPrefix(u, "INSERT"), strings.HasPrefix(u, "COPY INTO"):
			return &dbxfake.Result{RowsAffected: 3}, nil
		}
		return nil, &dbxfake.SQLError{State: "42P01", Message: "[TABLE_OR_VIEW_NOT_FOUND] The table or view `nope` cannot be found."}
	})
	return s
}

type order struct {
	id     int64
	name   sql.NullString
	amount sql.NullString
	ts     sql.NullTime
	active sql.NullBool
	score  sql.NullFloat64
	day    sql.NullTime
}

func scanOrders(t *testing.T, rows *sql.Rows) []order {
	t.Helper()
	defer rows.Close()
	var out []order
	for rows.Next() {
		var o order
		if err := rows.Scan(&o.id, &o.name, &o.amount, &o.ts, &o.active, &o.score, &o.day); err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func checkOrders(t *testing.T, got []order, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%d rows, want %d", len(got), n)
	}
	for i, o := range got {
		if o.id != int64(i+1) {
			t.Fatalf("row %d id %d", i, o.id)
		}
		if (i+1)%3 == 0 == o.name.Valid || (o.name.Valid && o.name.String != fmt.Sprintf("n%d", i+1)) {
			t.Fatalf("row %d name %+v", i, o.name)
		}
		if !o.ts.Valid || !o.ts.Time.Equal(t0.Add(time.Duration(i)*time.Hour)) {
			t.Fatalf("row %d ts %v", i, o.ts)
		}
		if o.active.Bool != (i%2 == 0) || o.score.Float64 != float64(i)/2 {
			t.Fatalf("row %d active/score %+v %+v", i, o.active, o.score)
		}
		if !strings.HasPrefix(o.amount.String, fmt.Sprintf("%d.25", i+1)) {
			t.Fatalf("row %d amount %q", i, o.amount.String)
		}
		if y, m, d := o.day.Time.Date(); y != 2024 || m != 5 || d != 6 {
			t.Fatalf("row %d day %v", i, o.day.Time)
		}
	}
}

func TestSQLSelectWithParameters(t *testing.T) {
	s := newSQLServer(t, 5)
	db := s.DB(pat)
	ctx := context.Background()

	rows, err := db.QueryContext(ctx, "SELECT * FROM main.sales.orders WHERE id > :min AND name <> :name AND ts < :ts AND x = :nothing",
		sql.Named("min", int64(0)), sql.Named("name", "zz"), sql.Named("ts", t0), sql.Named("nothing", nil))
	if err != nil {
		t.Fatal(err)
	}
	checkOrders(t, scanOrders(t, rows), 5)

	rows, err = db.QueryContext(ctx, "SELECT * FROM main.sales.orders WHERE id > ? AND score < ?", 1, 2.5)
	if err != nil {
		t.Fatal(err)
	}
	checkOrders(t, scanOrders(t, rows), 5)

	ex := s.Executed()
	if len(ex) != 2 {
		t.Fatalf("executed %d statements", len(ex))
	}
	wantNamed := []dbxfake.Param{
		{Name: "min", Type: "BIGINT", Value: "0"},
		{Name: "name", Type: "STRING", Value: "zz"},
		{Name: "ts", Type: "TIMESTAMP", Value: t0.Format(time.RFC3339Nano)},
		{Name: "nothing", Type: "VOID", Null: true},
	}
	if !slices.Equal(ex[0].Params, wantNamed) {
		t.Fatalf("named params = %+v", ex[0].Params)
	}
	// database/sql converts int to int64 before the driver sees it.
	wantPos := []dbxfake.Param{{Type: "BIGINT", Value: "1"}, {Type: "DOUBLE", Value: "2.5"}}
	if !slices.Equal(ex[1].Params, wantPos) {
		t.Fatalf("positional params = %+v", ex[1].Params)
	}
	if ex[0].Session == "" || !strings.HasPrefix(ex[0].SQL, "SELECT * FROM main.sales.orders WHERE id > :min") {
		t.Fatalf("query = %+v", ex[0])
	}
	// Everything fit in direct results: no FetchResults, and the server
	// closed the operations itself.
	if n := len(s.RequestsFor("thrift:FetchResults")); n != 0 {
		t.Fatalf("%d FetchResults", n)
	}
	if n := s.OpenOperations(); n != 0 {
		t.Fatalf("%d open operations", n)
	}
	for _, r := range s.RequestsFor("thrift:ExecuteStatement") {
		if r.Token() != pat || r.Status != 200 {
			t.Fatalf("request %+v", r)
		}
	}
	db.Close()
	if s.OpenSessions() != 0 || len(s.RequestsFor("thrift:CloseSession")) == 0 {
		t.Fatalf("sessions open after db.Close: %d", s.OpenSessions())
	}
}

func TestSQLExecAndErrors(t *testing.T) {
	s := newSQLServer(t, 1)
	db := s.DB(pat, dbsql.WithInitialNamespace("main", "sales"))
	ctx := context.Background()
	res, err := db.ExecContext(ctx, "INSERT INTO t VALUES (1), (2), (3)")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 3 {
		t.Fatalf("RowsAffected = %d, %v", n, err)
	}
	if ex := s.Executed(); ex[0].Catalog != "main" || ex[0].Schema != "sales" {
		t.Fatalf("namespace = %q.%q", ex[0].Catalog, ex[0].Schema)
	}

	_, err = db.QueryContext(ctx, "DROP TABLE nope")
	var execErr dbsqlerr.DBExecutionError
	if !errors.As(err, &execErr) || execErr.SqlState() != "42P01" || !strings.Contains(err.Error(), "TABLE_OR_VIEW_NOT_FOUND") {
		t.Fatalf("error = %v (%T)", err, err)
	}
	_, err = db.ExecContext(ctx, "DROP TABLE nope")
	if !errors.As(err, &execErr) || execErr.SqlState() != "42P01" {
		t.Fatalf("exec error = %v", err)
	}
}

func TestSQLPaging(t *testing.T) {
	for _, direct := range []bool{true, false} {
		t.Run(fmt.Sprintf("direct=%v", direct), func(t *testing.T) {
			s := newSQLServer(t, 25)
			s.SetDirectResults(direct)
			db := s.DB(pat, dbsql.WithMaxRows(10))
			rows, err := db.QueryContext(context.Background(), "SELECT * FROM big")
			if err != nil {
				t.Fatal(err)
			}
			checkOrders(t, scanOrders(t, rows), 25)
			fetches := len(s.RequestsFor("thrift:FetchResults"))
			want := 2 // pages 11-20, 21-25 after the direct-results page
			if !direct {
				want = 3
				if len(s.RequestsFor("thrift:GetOperationStatus")) == 0 {
					t.Fatal("no GetOperationStatus without direct results")
				}
			}
			if fetches != want {
				t.Fatalf("%d FetchResults, want %d", fetches, want)
			}
			if len(s.RequestsFor("thrift:CloseOperation")) != 1 || s.OpenOperations() != 0 {
				t.Fatalf("operation not closed: %d open", s.OpenOperations())
			}
		})
	}
}

func TestSQLRunningPolls(t *testing.T) {
	s := newSQLServer(t, 3)
	s.SetRunningPolls(2)
	db := s.DB(pat)
	rows, err := db.QueryContext(context.Background(), "SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	checkOrders(t, scanOrders(t, rows), 3)
	if n := len(s.RequestsFor("thrift:GetOperationStatus")); n < 1 {
		t.Fatalf("%d status polls", n)
	}
}

// rawQuery runs a query on the driver connection and returns its driver.Rows.
func rawQuery(t *testing.T, db *sql.DB, q string) (driver.Rows, func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var rows driver.Rows
	err = conn.Raw(func(dc any) error {
		var err error
		rows, err = dc.(driver.QueryerContext).QueryContext(ctx, q, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows, func() { rows.Close(); conn.Close() }
}

func TestSQLArrowIPCStreams(t *testing.T) {
	s := newSQLServer(t, 25)
	db := s.DB(pat, dbsql.WithMaxRows(10))
	rows, done := rawQuery(t, db, "SELECT * FROM big")
	defer done()
	it, err := rows.(dbsqlrows.Rows).GetArrowIPCStreams(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var ids []int64
	streams := 0
	for it.HasNext() {
		r, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		streams++
		rd, err := ipc.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		if !rd.Schema().Equal(arrow.NewSchema(orderFields, nil)) {
			t.Fatalf("schema = %v", rd.Schema())
		}
		for rd.Next() {
			rec := rd.RecordBatch()
			col := rec.Column(0).(*array.Int64)
			ids = append(ids, col.Int64Values()...)
			if dec := rec.Column(2).(*array.Decimal128); dec.ValueStr(0) == "" {
				t.Fatal("decimal lost")
			}
		}
		if rd.Err() != nil {
			t.Fatal(rd.Err())
		}
		rd.Release()
	}
	if len(ids) != 25 || ids[0] != 1 || ids[24] != 25 || !slices.IsSorted(ids) {
		t.Fatalf("ids = %v", ids)
	}
	// Batches of 7 rows paged by 10: [1-7][8-10] [11-14][15-20] [21][22-25].
	if streams != 6 {
		t.Fatalf("%d IPC streams", streams)
	}
}

func TestSQLArrowBatches(t *testing.T) {
	s := newSQLServer(t, 12)
	db := s.DB(pat)
	rows, done := rawQuery(t, db, "SELECT * FROM t")
	defer done()
	it, err := rows.(dbsqlrows.Rows).GetArrowBatches(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := int64(0)
	for it.HasNext() {
		rec, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if rec.NumCols() != int64(len(orderFields)) {
			t.Fatalf("%d columns", rec.NumCols())
		}
		n += rec.NumRows()
		rec.Release()
	}
	if n != 12 {
		t.Fatalf("%d rows", n)
	}
}

func TestSQLViaDSN(t *testing.T) {
	s := newSQLServer(t, 4)
	db, err := sql.Open("databricks", s.DSN(pat, "maxRows=3"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	checkOrders(t, scanOrders(t, rows), 4)
	if n := len(s.RequestsFor("thrift:FetchResults")); n != 1 {
		t.Fatalf("%d FetchResults", n)
	}
}

func TestSQLWarehouseColdStartAndDenied(t *testing.T) {
	s := newSQLServer(t, 2)
	s.SetWarehouseState(dbxfake.StateStopped)
	s.StartAfterPolls(1)
	db := s.DB(pat)
	rows, err := db.Query("SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	checkOrders(t, scanOrders(t, rows), 2)
	opens := s.RequestsFor("thrift:OpenSession")
	// StartAfterPolls(1): the first call finds it STOPPED, starts it and
	// gets 503; the driver retries and the warehouse is RUNNING.
	if len(opens) != 2 || opens[0].Status != 503 || opens[1].Status != 200 {
		t.Fatalf("OpenSession requests = %+v", opens)
	}
	if s.WarehouseState() != dbxfake.StateRunning {
		t.Fatal("warehouse not running")
	}

	s.DenyWarehouse(true)
	db2 := s.DB(pat)
	if err := db2.Ping(); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("denied ping: %v", err)
	}
}

func TestSQLFaults503And429AreRetried(t *testing.T) {
	s := newSQLServer(t, 25)
	db := s.DB(pat, dbsql.WithMaxRows(10))
	s.Inject(dbxfake.Fault{Match: dbxfake.MatchOp("thrift:ExecuteStatement"), Kind: dbxfake.Status503, Times: 2})
	s.Inject(dbxfake.Fault{Match: dbxfake.MatchOp("thrift:FetchResults"), Kind: dbxfake.Status429, RetryAfter: time.Second})
	start := time.Now()
	rows, err := db.Query("SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	checkOrders(t, scanOrders(t, rows), 25)
	if el := time.Since(start); el < time.Second {
		t.Fatalf("Retry-After not honoured: %v", el)
	}
	if n := len(s.Executed()); n != 1 {
		t.Fatalf("executed %d times, want 1 (503 is answered before executing)", n)
	}
	ex := s.RequestsFor("thrift:ExecuteStatement")
	if len(ex) != 3 || ex[0].Status != 503 || ex[2].Status != 200 {
		t.Fatalf("ExecuteStatement requests = %+v", ex)
	}
	fr := s.RequestsFor("thrift:FetchResults")
	if len(fr) != 3 || fr[0].Status != 429 || fr[0].Fault != dbxfake.Status429 {
		t.Fatalf("FetchResults requests = %+v", fr)
	}
}

func TestSQLFaultResetDuringCopyInto(t *testing.T) {
	s := newSQLServer(t, 1)
	db := s.DB(pat)
	s.Inject(dbxfake.Fault{Match: dbxfake.MatchSQL("COPY INTO"), Kind: dbxfake.ResetConnection})
	_, err := db.Exec("COPY INTO main.sales.orders FROM '/Volumes/main/sales/landing' FILEFORMAT = CSV")
	if err == nil {
		t.Fatal("reset connection not reported")
	}
	ex := s.Executed()
	if len(ex) != 1 || !strings.HasPrefix(ex[0].SQL, "COPY INTO") {
		t.Fatalf("executed = %+v", ex)
	}
	reqs := s.RequestsFor("thrift:ExecuteStatement")
	if len(reqs) != 1 || reqs[0].Fault != dbxfake.ResetConnection || reqs[0].Status != 0 {
		t.Fatalf("requests = %+v (driver must not retry ExecuteStatement)", reqs)
	}
	// A retry by the caller runs it a second time.
	if _, err := db.Exec("COPY INTO main.sales.orders FROM '/Volumes/main/sales/landing' FILEFORMAT = CSV"); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Executed()); n != 2 {
		t.Fatalf("executed %d", n)
	}
}

func TestSQLFaultExpiredToken(t *testing.T) {
	s := newSQLServer(t, 1)
	db := s.DB(pat)
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	s.Inject(dbxfake.Fault{Match: dbxfake.MatchOp("thrift:ExecuteStatement"), Kind: dbxfake.ExpiredToken})
	_, err := db.Exec("INSERT INTO t VALUES (1)")
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("injected expiry: %v", err)
	}
	for _, q := range s.Executed() {
		if strings.HasPrefix(q.SQL, "INSERT") {
			t.Fatal("statement ran despite 401")
		}
	}

	// Real expiry: every token the server knows turns invalid.
	s.ExpireTokens()
	_, err = db.Exec("INSERT INTO t VALUES (1)")
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("expired token: %v", err)
	}
	db2 := s.DB(pat)
	if err := db2.Ping(); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("connect with expired token: %v", err)
	}
}

func TestSQLOAuthTokenOnThrift(t *testing.T) {
	s := newSQLServer(t, 2)
	s.AddServicePrincipal("sp", "secret")
	s.SetTokenLifetime(time.Hour)
	cfg := s.SDKConfigM2M("sp", "secret")
	var calls atomic.Int32
	tokenFn := func() (string, error) {
		calls.Add(1)
		tok, err := cfg.GetToken()
		if err != nil {
			return "", err
		}
		return tok.AccessToken, nil
	}
	db := s.DB("", dbsql.WithExternalToken(tokenFn))
	rows, err := db.Query("SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	checkOrders(t, scanOrders(t, rows), 2)
	ex := s.RequestsFor("thrift:ExecuteStatement")
	if !strings.HasPrefix(ex[0].Token(), "dbxfake-oauth-") || calls.Load() == 0 {
		t.Fatalf("thrift auth = %q", ex[0].Auth)
	}
}

func TestSQLFaultTruncatedResult(t *testing.T) {
	t.Run("database/sql", func(t *testing.T) {
		s := newSQLServer(t, 25)
		db := s.DB(pat, dbsql.WithMaxRows(10))
		s.Inject(dbxfake.Fault{Match: dbxfake.MatchOp("thrift:FetchResults"), Kind: dbxfake.TruncateResult})
		rows, err := db.Query("SELECT 1")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			n++
		}
		if rows.Err() == nil || n >= 25 {
			t.Fatalf("truncated result went unnoticed: %d rows, err %v", n, rows.Err())
		}
		t.Logf("after %d rows: %v", n, rows.Err())
	})
	t.Run("ipc", func(t *testing.T) {
		s := newSQLServer(t, 25)
		db := s.DB(pat, dbsql.WithMaxRows(10))
		s.Inject(dbxfake.Fault{Match: dbxfake.MatchOp("thrift:ExecuteStatement"), Kind: dbxfake.TruncateResult})
		rows, done := rawQuery(t, db, "SELECT * FROM t")
		defer done()
		it, err := rows.(dbsqlrows.Rows).GetArrowIPCStreams(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		var readErr error
		n := 0
		for it.HasNext() && readErr == nil {
			r, err := it.Next()
			if err != nil {
				readErr = err
				break
			}
			rd, err := ipc.NewReader(r)
			if err != nil {
				readErr = err
				break
			}
			for rd.Next() {
				n += int(rd.RecordBatch().NumRows())
			}
			readErr = rd.Err()
			rd.Release()
		}
		if readErr == nil || !errors.Is(readErr, io.ErrUnexpectedEOF) && !strings.Contains(readErr.Error(), "EOF") {
			t.Fatalf("truncated stream: %d rows, err %v", n, readErr)
		}
		if n >= 10 {
			t.Fatalf("%d rows delivered from a truncated first page", n)
		}
	})
}
