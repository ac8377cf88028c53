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

// deltaWriter changes tables with the Delta writer in the model's
// directory, as a user's Spark jobs would.
type deltaWriter struct{ root string }

func (h deltaWriter) path(n lakehouse.TableName) string {
	return filepath.Join(h.root, n.Catalog, n.Schema, n.Table)
}

func (h deltaWriter) CreateTable(ctx context.Context, n lakehouse.TableName, s *arrow.Schema, o lakehousetest.TableOptions) error {
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

func (h deltaWriter) write(ctx context.Context, n lakehouse.TableName, fn func(t *delta.Table) (*delta.CommitResult, error)) (int64, error) {
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

func (h deltaWriter) Append(ctx context.Context, n lakehouse.TableName, rec arrow.RecordBatch) (int64, error) {
	return h.write(ctx, n, func(t *delta.Table) (*delta.CommitResult, error) {
		return t.Append(ctx, delta.RecordsOf(rec.Schema(), rec), delta.WriteOptions{})
	})
}

func (h deltaWriter) Merge(ctx context.Context, n lakehouse.TableName, keys []string, rec arrow.RecordBatch) (int64, error) {
	return h.write(ctx, n, func(t *delta.Table) (*delta.CommitResult, error) {
		return t.Merge(ctx, delta.RecordsOf(rec.Schema(), rec), delta.MergeOptions{Keys: keys}, delta.WriteOptions{})
	})
}

func (h deltaWriter) Delete(ctx context.Context, n lakehouse.TableName, column string, values []int64) (int64, error) {
	vals := make([]string, len(values))
	for i, v := range values {
		vals[i] = fmt.Sprint(v)
	}
	return h.write(ctx, n, func(t *delta.Table) (*delta.CommitResult, error) {
		return t.Delete(ctx, fmt.Sprintf("%s IN (%s)", lakehouse.QuoteIdent(column), strings.Join(vals, ", ")), delta.WriteOptions{})
	})
}

func (h deltaWriter) ExpireChanges(ctx context.Context, n lakehouse.TableName) error {
	t, err := delta.Open(ctx, h.path(n))
	if err != nil {
		return err
	}
	defer t.Close()
	time.Sleep(5 * time.Millisecond)
	_, err = t.Vacuum(ctx, delta.VacuumOptions{Retention: time.Nanosecond, AllowShortRetention: true})
	return err
}

var events = arrow.NewSchema([]arrow.Field{
	{Name: "event_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "ts", Type: lakehousetest.TS, Nullable: true},
	{Name: "kind", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

func eventTable(t *testing.T, h lakehousetest.Harness, n int) (lakehouse.TableName, int64) {
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

func tableRows(t *testing.T, lh *Lakehouse, n lakehouse.TableName) []int64 {
	t.Helper()
	d, err := lh.Describe(bg, n)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := lh.Scan(bg, n, lakehouse.ScanRequest{Version: d.Version})
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
