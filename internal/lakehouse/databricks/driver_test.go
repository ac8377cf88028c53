package databricks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/lakeport/lakeport/internal/delta"
	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/lakehouse/lakehousetest"
	"github.com/lakeport/lakeport/internal/lakehouse/staging"
)

var bg = context.Background()

// modelHarness runs the driver on the model warehouse: tables are made
// with the Delta writer in the model's directory, as a user's Spark jobs
// would make them.
type modelHarness struct {
	lh    *Lakehouse
	pool  *modelPool
	m     *model
	ws    *localWorkspace
	root  string
	stage staging.Area
}

func newModelHarness(t *testing.T) *modelHarness {
	root := filepath.Join(t.TempDir(), "lake")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	stage, err := staging.Open(bg, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m := newModel(root)
	pool := &modelPool{m: m, pageRows: 7}
	ws := &localWorkspace{root: root}
	lh := newLakehouse(Config{Workspace: ws, BatchSize: 0}, pool)
	return &modelHarness{lh: lh, pool: pool, m: m, ws: ws, root: root, stage: stage}
}

func (h *modelHarness) Lakehouse() lakehouse.Lakehouse { return h.lh }
func (h *modelHarness) Close() error                   { return h.lh.Close() }
func (h *modelHarness) Staging() staging.Area          { return h.stage }

func (h *modelHarness) path(n lakehouse.TableName) string {
	return filepath.Join(h.root, n.Catalog, n.Schema, n.Table)
}

func (h *modelHarness) CreateTable(ctx context.Context, n lakehouse.TableName, s *arrow.Schema, o lakehousetest.TableOptions) error {
	if err := n.Validate(); err != nil {
		return err
	}
	p := h.path(n)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	props := map[string]string{}
	if o.ChangeDataFeed {
		props["delta.enableChangeDataFeed"] = "true"
	}
	t, err := delta.Create(ctx, p, delta.TableSpec{Schema: s, PartitionColumns: o.PartitionColumns, Properties: props})
	if err != nil {
		return err
	}
	return t.Close()
}

func (h *modelHarness) write(ctx context.Context, n lakehouse.TableName, fn func(t *delta.Table) (*delta.CommitResult, error)) (int64, error) {
	t, err := delta.Open(ctx, h.path(n))
	if err != nil {
		return 0, err
	}
	defer t.Close()
	res, err := fn(t)
	if err != nil {
		return 0, err
	}
	return res.Version, nil
}

func (h *modelHarness) Append(ctx context.Context, n lakehouse.TableName, rec arrow.RecordBatch) (int64, error) {
	return h.write(ctx, n, func(t *delta.Table) (*delta.CommitResult, error) {
		return t.Append(ctx, delta.RecordsOf(rec.Schema(), rec), delta.WriteOptions{})
	})
}

func (h *modelHarness) Merge(ctx context.Context, n lakehouse.TableName, keys []string, rec arrow.RecordBatch) (int64, error) {
	return h.write(ctx, n, func(t *delta.Table) (*delta.CommitResult, error) {
		return t.Merge(ctx, delta.RecordsOf(rec.Schema(), rec), delta.MergeOptions{Keys: keys}, delta.WriteOptions{})
	})
}

func (h *modelHarness) Delete(ctx context.Context, n lakehouse.TableName, column string, values []int64) (int64, error) {
	vals := make([]string, len(values))
	for i, v := range values {
		vals[i] = fmt.Sprint(v)
	}
	return h.write(ctx, n, func(t *delta.Table) (*delta.CommitResult, error) {
		return t.Delete(ctx, fmt.Sprintf("%s IN (%s)", lakehouse.QuoteIdent(column), strings.Join(vals, ", ")), delta.WriteOptions{})
	})
}

func (h *modelHarness) ExpireChanges(ctx context.Context, n lakehouse.TableName) error {
	t, err := delta.Open(ctx, h.path(n))
	if err != nil {
		return err
	}
	defer t.Close()
	time.Sleep(5 * time.Millisecond)
	_, err = t.Vacuum(ctx, delta.VacuumOptions{Retention: time.Nanosecond, AllowShortRetention: true})
	return err
}

// TestConformanceModel runs the port's conformance suite on the driver:
// every statement is built by sql.go, run by the model warehouse, read
// back through the driver's result handling (paged, re-batched, counted)
// and classified by errors.go.
func TestConformanceModel(t *testing.T) {
	lakehousetest.Run(t, func(t *testing.T) lakehousetest.Harness { return newModelHarness(t) })
}

var events = arrow.NewSchema([]arrow.Field{
	{Name: "event_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "ts", Type: lakehousetest.TS, Nullable: true},
	{Name: "kind", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

func eventTable(t *testing.T, h *modelHarness, n int) (lakehouse.TableName, int64) {
	t.Helper()
	name := lakehouse.TableName{Catalog: "main", Schema: "web", Table: "events"}
	if err := h.CreateTable(bg, name, events, lakehousetest.TableOptions{}); err != nil {
		t.Fatal(err)
	}
	var rows [][]any
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		rows = append(rows, []any{int64(i), base.Add(time.Duration(n-i) * time.Minute), "k"})
	}
	rec := lakehousetest.Batch(events, rows...)
	defer rec.Release()
	v, err := h.Append(bg, name, rec)
	if err != nil {
		t.Fatal(err)
	}
	return name, v
}

func collect(t *testing.T, rows lakehouse.Rows) (ids []int64, batches []int64, err error) {
	t.Helper()
	defer rows.Close()
	for {
		rec, err := rows.Next(bg)
		if errors.Is(err, io.EOF) {
			return ids, batches, nil
		}
		if err != nil {
			return ids, batches, err
		}
		batches = append(batches, rec.NumRows())
		for i := 0; i < int(rec.NumRows()); i++ {
			v, _ := lakehouse.ValueAt(rec.Column(0), i)
			ids = append(ids, v.Int)
		}
		rec.Release()
	}
}

// TestOrderedScanPagesAndBatches: results come in pages (7 rows here) and
// are re-cut into the requested batch size; the statement carries the
// watermark as parameters, not text.
func TestOrderedScanPagesAndBatches(t *testing.T) {
	h := newModelHarness(t)
	name, v := eventTable(t, h, 50)
	after := lakehouse.Timestamp(time.Date(2024, 3, 1, 0, 10, 0, 0, time.UTC))
	rows, err := h.lh.Scan(bg, name, lakehouse.ScanRequest{Version: v, Columns: []string{"event_id"},
		Order: &lakehouse.Order{Column: "ts", TieBreaker: "event_id", After: &lakehouse.Position{Key: after}}, BatchSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	if got := rows.Schema().Field(1).Type.(*arrow.TimestampType).TimeZone; got != "UTC" {
		t.Errorf("timestamp column zone %q, want UTC", got)
	}
	ids, batches, err := collect(t, rows)
	if err != nil {
		t.Fatal(err)
	}
	// rows 0..40 have ts >= 00:10 (ts = 50-i minutes); row 40 sits at the
	// key with a non-NULL tie-breaker, after a NULL tie: order 40, 39, ..., 0
	if len(ids) != 41 || ids[0] != 40 || ids[40] != 0 {
		t.Errorf("ids = %v", ids)
	}
	for i, b := range batches {
		if b > 4 || (b < 4 && i != len(batches)-1) {
			t.Errorf("batch sizes %v, want 4s", batches)
			break
		}
	}
	var data *Statement
	for i := range h.m.executed {
		if strings.Contains(h.m.executed[i].SQL, "ORDER BY `ts`") {
			data = &h.m.executed[i]
		}
	}
	if data == nil || strings.Contains(data.SQL, "2024") || len(data.Params) == 0 {
		t.Fatalf("ordered statement %+v: want the watermark as a parameter", data)
	}
}

// TestTruncatedResultIsAnError: a result that ends short of the count of
// the same snapshot fails (transient), never returns fewer rows silently.
func TestTruncatedResultIsAnError(t *testing.T) {
	for _, ordered := range []bool{false, true} {
		h := newModelHarness(t)
		name, v := eventTable(t, h, 30)
		h.pool.fault = func(st Statement) faultKind {
			if strings.Contains(st.SQL, "ORDER BY") {
				return faultTruncate
			}
			return noFault
		}
		req := lakehouse.ScanRequest{Version: v}
		if ordered {
			req.Order = &lakehouse.Order{Column: "ts"}
		}
		rows, err := h.lh.Scan(bg, name, req)
		if err != nil {
			t.Fatal(err)
		}
		ids, _, err := collect(t, rows)
		if err == nil {
			t.Fatalf("ordered=%v: truncated stream read without error (%d rows)", ordered, len(ids))
		}
		if !errors.Is(err, errs.ErrTransient) || !strings.Contains(err.Error(), "of 30 rows") || !strings.Contains(err.Error(), "main.web.events") {
			t.Errorf("ordered=%v: error %v: want transient, naming the table and the counts", ordered, err)
		}
	}
}

func stageParquet(t *testing.T, area staging.Area, name string, rec arrow.RecordBatch) string {
	t.Helper()
	defer rec.Release()
	w, err := area.NewWriter(bg, name)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := pqarrow.NewFileWriter(rec.Schema(), w, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := pw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	return name
}

var people = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

func tableRows(t *testing.T, h *modelHarness, n lakehouse.TableName) []int64 {
	t.Helper()
	d, err := h.lh.Describe(bg, n)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := h.lh.Scan(bg, n, lakehouse.ScanRequest{Version: d.Version})
	if err != nil {
		t.Fatal(err)
	}
	ids, _, err := collect(t, rows)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}

func countSQLs(h *modelHarness, prefix string) int {
	n := 0
	for _, st := range h.m.executed {
		if strings.HasPrefix(st.SQL, prefix) {
			n++
		}
	}
	return n
}

// TestCopyIntoAnswerLostIsReissued: the connection resets after COPY INTO
// ran; the driver sends it again, COPY INTO skips the files it loaded, and
// every row is in the table once.
func TestCopyIntoAnswerLostIsReissued(t *testing.T) {
	h := newModelHarness(t)
	n := lakehouse.TableName{Catalog: "main", Schema: "exports", Table: "users"}
	p1 := stageParquet(t, h.stage, "job/run-1/part-0.parquet", lakehousetest.Batch(people, []any{1, "ada"}, []any{2, "bob"}))
	p2 := stageParquet(t, h.stage, "job/run-1/part-1.parquet", lakehousetest.Batch(people, []any{3, "cy"}))
	lost := 0
	h.pool.fault = func(st Statement) faultKind {
		if strings.HasPrefix(st.SQL, "COPY INTO") && lost == 0 {
			lost++
			return faultLost
		}
		return noFault
	}
	res, err := h.lh.Load(bg, n, lakehouse.LoadRequest{Staging: h.stage, Files: []string{p1, p2}, Create: true, Key: lakehouse.LoadKey{App: "job", Version: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if got := countSQLs(h, "COPY INTO"); got != 2 {
		t.Errorf("COPY INTO executed %d times, want 2 (the first answer was lost)", got)
	}
	if got := tableRows(t, h, n); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("table rows %v, want each row once", got)
	}
	if !res.Created || res.Skipped || res.Rows != 3 {
		t.Errorf("result %+v", res)
	}
	// the same key again is a no-op, even with a lost answer on the ledger
	again, err := h.lh.Load(bg, n, lakehouse.LoadRequest{Staging: h.stage, Files: []string{p1, p2}, Key: lakehouse.LoadKey{App: "job", Version: 1}})
	if err != nil || !again.Skipped {
		t.Errorf("repeated load = %+v, %v", again, err)
	}
}

// TestOverwriteAnswerLostRestarts: an overwrite's COPY INTO (forced) whose
// answer is lost restarts at the TRUNCATE, so rows are not doubled.
func TestOverwriteAnswerLostRestarts(t *testing.T) {
	h := newModelHarness(t)
	n := lakehouse.TableName{Catalog: "main", Schema: "exports", Table: "users"}
	p1 := stageParquet(t, h.stage, "a/part-0.parquet", lakehousetest.Batch(people, []any{1, "ada"}))
	p2 := stageParquet(t, h.stage, "b/part-0.parquet", lakehousetest.Batch(people, []any{2, "bob"}, []any{3, "cy"}))
	if _, err := h.lh.Load(bg, n, lakehouse.LoadRequest{Staging: h.stage, Files: []string{p1, p2}, Create: true, Key: lakehouse.LoadKey{App: "a", Version: 1}}); err != nil {
		t.Fatal(err)
	}
	lost := 0
	h.pool.fault = func(st Statement) faultKind {
		if strings.Contains(st.SQL, "'force' = 'true'") && lost == 0 {
			lost++
			return faultLost
		}
		return noFault
	}
	if _, err := h.lh.Load(bg, n, lakehouse.LoadRequest{Staging: h.stage, Files: []string{p2}, Mode: lakehouse.LoadOverwrite, Key: lakehouse.LoadKey{App: "b", Version: 1}}); err != nil {
		t.Fatal(err)
	}
	if got := tableRows(t, h, n); !slices.Equal(got, []int64{2, 3}) {
		t.Errorf("after overwrite with a lost answer: %v, want [2 3]", got)
	}
	if got := countSQLs(h, "TRUNCATE"); got != 2 {
		t.Errorf("TRUNCATE ran %d times, want 2", got)
	}
}

// TestLoadChunksFiles: more than 1,000 files become several COPY INTO
// statements, and files of different directories different statements.
func TestLoadChunksFiles(t *testing.T) {
	area, err := staging.Open(bg, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for i := 0; i < 2500; i++ {
		files = append(files, fmt.Sprintf("run-1/part-%05d.parquet", i))
	}
	files = append(files, "run-2/part-00000.parquet")
	groups := fileGroups(lakehouse.LoadRequest{Staging: area, Files: files})
	var sizes []int
	for _, g := range groups {
		sizes = append(sizes, len(g.files))
	}
	if !slices.Equal(sizes, []int{1000, 1000, 500, 1}) || !strings.HasSuffix(groups[3].dir, "run-2") {
		t.Errorf("groups = %v", sizes)
	}
}

// TestErrorsClassified: driver errors map onto Lakeport's kinds.
func TestErrorsClassified(t *testing.T) {
	tn := lakehouse.TableName{Catalog: "main", Schema: "crm", Table: "users"}
	cases := []struct {
		err    error
		c      errContext
		target error
	}{
		{errors.New("databricks: request error: open session request error: request error after 1 attempt(s): unexpected HTTP status 401 Unauthorized"), errContext{table: tn}, errs.ErrAuth},
		{errors.New("databricks: request error: unexpected HTTP status 403 Forbidden"), errContext{table: tn}, errs.ErrAuth},
		{errors.New("databricks: request error: request error after 5 attempt(s): unexpected HTTP status 503 Service Unavailable"), errContext{table: tn}, errs.ErrTransient},
		{errors.New("databricks: request error: request error after 5 attempt(s): unexpected HTTP status 429 Too Many Requests"), errContext{table: tn}, errs.ErrTransient},
		{sqlError("TABLE_OR_VIEW_NOT_FOUND", "42P01", "nope"), errContext{table: tn}, lakehouse.ErrNotFound},
		{sqlError("UNRESOLVED_COLUMN.WITH_SUGGESTION", "42703", "no column"), errContext{table: tn}, lakehouse.ErrInvalid},
		{sqlError("INSUFFICIENT_PERMISSIONS", "42501", "no"), errContext{table: tn}, errs.ErrAuth},
		{sqlError("DELTA_CONCURRENT_APPEND", "2D521", "race"), errContext{table: tn}, errs.ErrConflict},
		{sqlError("UNSUPPORTED_FEATURE.TIME_TRAVEL", "0A000", "no"), errContext{table: tn}, errs.ErrUnsupported},
		{sqlError("DELTA_MISSING_CHANGE_DATA", "KD002", "change data was not recorded for version [2]"), errContext{table: tn, op: opChanges, start: 1, end: 3}, lakehouse.ErrChangesUnavailable},
		{sqlError("DELTA_CHANGE_DATA_FILE_NOT_FOUND", "42K03", "vacuumed"), errContext{table: tn, op: opChanges}, lakehouse.ErrChangesUnavailable},
		{sqlError("DELTA_FILE_NOT_FOUND_DETAILED", "42K03", "vacuumed"), errContext{table: tn, op: opScan, version: 2}, lakehouse.ErrVersionUnavailable},
		{sqlError("DELTA_VERSION_NOT_FOUND", "22003", "Cannot time travel Delta table to version 1. Available versions: [3, 9]."), errContext{table: tn, op: opScan, version: 1}, lakehouse.ErrVersionUnavailable},
		{sqlError("DELTA_VERSION_NOT_FOUND", "22003", "Cannot time travel Delta table to version 12. Available versions: [3, 9]."), errContext{table: tn, op: opScan, version: 12}, lakehouse.ErrInvalid},
		{fmt.Errorf("post: %w", io.ErrUnexpectedEOF), errContext{table: tn}, errs.ErrTransient},
		{fmt.Errorf("%w: received 3 of 5 rows", errTruncated), errContext{table: tn}, errs.ErrTransient},
	}
	for _, c := range cases {
		got := classify(c.err, c.c)
		if !errors.Is(got, c.target) {
			t.Errorf("classify(%q) = %v (%T), want %v", c.err, got, got, c.target)
		}
		if !strings.Contains(got.Error(), "main") {
			t.Errorf("classify(%q) = %q: want the table named", c.err, got)
		}
	}
	if errs.Classify(classify(errors.New("unexpected HTTP status 401 Unauthorized"), errContext{table: tn})) != errs.Auth {
		t.Errorf("errs.Classify does not see auth")
	}
	if errs.Classify(classify(sqlError("TABLE_OR_VIEW_NOT_FOUND", "42P01", "x"), errContext{table: tn})) != errs.Invalid {
		t.Errorf("errs.Classify: not found should be invalid (never retried)")
	}
}

// TestExpiredTokenIsAuth: a 401 for an expired token surfaces as errs.Auth
// (never retried) from every operation.
func TestExpiredTokenIsAuth(t *testing.T) {
	h := newModelHarness(t)
	name, v := eventTable(t, h, 3)
	h.pool.fault = func(Statement) faultKind { return faultExpired }
	_, err := h.lh.Scan(bg, name, lakehouse.ScanRequest{Version: v})
	if !errors.Is(err, errs.ErrAuth) {
		t.Errorf("scan: %v, want errs.Auth", err)
	}
	_, err = h.lh.Describe(bg, name)
	if !errors.Is(err, errs.ErrAuth) {
		t.Errorf("describe: %v, want errs.Auth", err)
	}
	h.pool.fault = func(Statement) faultKind { return fault503 }
	_, err = h.lh.CountNulls(bg, name, v, "ts")
	if !errors.Is(err, errs.ErrTransient) {
		t.Errorf("503 after retries: %v, want errs.Transient", err)
	}
}

// TestBrowsingNeverWakesTheWarehouse: Catalogs/Schemas/Tables use the
// workspace only; Describe needs SQL.
func TestBrowsingNeverWakesTheWarehouse(t *testing.T) {
	h := newModelHarness(t)
	name, _ := eventTable(t, h, 1)
	if _, err := h.lh.Catalogs(bg); err != nil {
		t.Fatal(err)
	}
	if _, err := h.lh.Schemas(bg, "main"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.lh.Tables(bg, "main", "web"); err != nil {
		t.Fatal(err)
	}
	if h.pool.sessions != 0 {
		t.Errorf("browsing opened %d SQL sessions", h.pool.sessions)
	}
	if _, err := h.lh.Describe(bg, name); err != nil {
		t.Fatal(err)
	}
	if h.pool.sessions != 1 {
		t.Errorf("describe opened %d SQL sessions, want 1", h.pool.sessions)
	}
}

func TestTelemetryBlocked(t *testing.T) {
	called := 0
	tr := noTelemetry{base: roundTripFunc(func(*http.Request) (*http.Response, error) { called++; return nil, errors.New("base") })}
	for _, p := range []string{"/telemetry-ext", "/api/2.0/connector-service/feature-flags/GOLANG/1.14.0"} {
		req, _ := http.NewRequest("POST", "https://h"+p, nil)
		if _, err := tr.RoundTrip(req); !errors.Is(err, errTelemetryOff) {
			t.Errorf("%s: %v", p, err)
		}
	}
	req, _ := http.NewRequest("POST", "https://h/sql/1.0/warehouses/x", nil)
	tr.RoundTrip(req)
	if called != 1 {
		t.Errorf("SQL request not passed on")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
