package databricks

// The driver on its production path against dbxfake: database/sql, the
// databricks-sql-go connector (Thrift over HTTP, Arrow IPC results, native
// parameters), the workspace client (SDK: warehouse start, Unity Catalog,
// token minting) — every statement executed by the model warehouse
// (model_test.go) behind dbxfake's Thrift server.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	dbsqllogger "github.com/databricks/databricks-sql-go/logger"

	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/lakehouse/databricks/dbxfake"
	"github.com/lakeport/lakeport/internal/lakehouse/databricks/workspace"
	"github.com/lakeport/lakeport/internal/lakehouse/lakehousetest"
	"github.com/lakeport/lakeport/internal/lakehouse/local"
	"github.com/lakeport/lakeport/internal/lakehouse/staging"
)

func TestMain(m *testing.M) {
	// the driver logs every failed request; the fault tests cause plenty
	_ = dbsqllogger.SetLogLevel("disabled")
	os.Exit(m.Run())
}

const (
	fakePAT    = "dapi-lakeport-test"
	fakeClient = "sp-lakeport"
	fakeSecret = "sp-secret"
)

// fakeSetup is what a test may change before the harness opens the driver.
type fakeSetup struct {
	driver Config
	ws     workspace.Config
	// m2m authenticates as a service principal (OAuth M2M) instead of a PAT
	m2m bool
}

type fakeHarness struct {
	deltaWriter
	s     *dbxfake.Server
	m     *model
	ws    *workspace.Client
	lh    *Lakehouse
	stage staging.Area
}

// newFakeHarness starts dbxfake with the model warehouse behind it and
// opens the driver on it through a workspace client, as FromWorkspace does.
func newFakeHarness(t *testing.T, opts ...func(*fakeSetup)) *fakeHarness {
	t.Helper()
	root := filepath.Join(t.TempDir(), "lake")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	stage, err := staging.Open(bg, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := dbxfake.New(t)
	s.AddToken(fakePAT)
	s.AddServicePrincipal(fakeClient, fakeSecret)
	h := &fakeHarness{deltaWriter: deltaWriter{root: root}, s: s, m: newModel(root), stage: stage}
	volumes := t.TempDir()
	h.m.volumes = func(dir string) (string, error) {
		local := filepath.Join(volumes, filepath.FromSlash(dir))
		for _, f := range s.Files() {
			if rest, ok := strings.CutPrefix(f, dir+"/"); ok && !strings.Contains(rest, "/") {
				data, _ := s.File(f)
				if err := os.MkdirAll(local, 0o755); err != nil {
					return "", err
				}
				if err := os.WriteFile(filepath.Join(local, rest), data, 0o644); err != nil {
					return "", err
				}
			}
		}
		return local, nil
	}
	s.HandleSQL(h.serve)
	setup := fakeSetup{
		// fast retries of 429/503 (a Retry-After still wins); result
		// pages of 16 rows, so results are fetched page by page
		driver: Config{FetchRows: 16, Retries: 4, RetryWaitMin: 50 * time.Millisecond, RetryWaitMax: time.Second},
		ws: workspace.Config{
			Name: "fake", Host: s.URL(), HTTPPath: dbxfake.HTTPPath, Token: fakePAT, HTTPTransport: s.Transport(),
			PollInterval: 10 * time.Millisecond, WarehouseWait: 30 * time.Second,
			Retry: workspace.RetryPolicy{Attempts: 4, Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond},
		},
	}
	for _, o := range opts {
		o(&setup)
	}
	if setup.m2m {
		setup.ws.Token, setup.ws.ClientID, setup.ws.ClientSecret = "", fakeClient, fakeSecret
	}
	client, err := workspace.New(bg, setup.ws)
	if err != nil {
		t.Fatal(err)
	}
	cfg := workspaceConfig(client, setup.driver)
	cfg.Workspace = ucPartitions{Client: client, root: root}
	lh, err := Open(bg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lh.Close() })
	h.ws, h.lh = client, lh
	return h
}

// ucPartitions is the workspace client with one gap of dbxfake filled: its Unity
// Catalog has no partition_index (see .tmp/dbx-requests.md), so the
// partition columns come from the Delta log.
type ucPartitions struct {
	*workspace.Client
	root string
}

func (u ucPartitions) Table(ctx context.Context, n lakehouse.TableName) (*lakehouse.Description, error) {
	d, err := u.Client.Table(ctx, n)
	if err != nil || len(d.PartitionColumns) > 0 {
		return d, err
	}
	l, lerr := local.Open(u.root, local.Options{})
	if lerr != nil {
		return d, nil
	}
	defer l.Close()
	if ld, lerr := l.Describe(ctx, n); lerr == nil {
		d.PartitionColumns = ld.PartitionColumns
	}
	return d, nil
}

func (h *fakeHarness) Lakehouse() lakehouse.Lakehouse { return h.lh }
func (h *fakeHarness) Close() error                   { return h.lh.Close() }
func (h *fakeHarness) Staging() staging.Area          { return h.stage }

// serve is the fake warehouse's SQL handler: the model runs the statement;
// tables it creates or changes are published to the fake's Unity Catalog.
func (h *fakeHarness) serve(q dbxfake.Query) (*dbxfake.Result, error) {
	if strings.EqualFold(strings.TrimSpace(q.SQL), "select 1") { // the driver's ping
		return dbxfake.MustResult([]arrow.Field{{Name: "1", Type: arrow.PrimitiveTypes.Int32}}, []any{int32(1)}), nil
	}
	st := Statement{SQL: q.SQL}
	for _, p := range q.Params {
		st.Params = append(st.Params, Param{Name: p.Name, Type: p.Type, Value: p.Value, Null: p.Null})
	}
	r, err := h.m.handle(bg, st)
	for _, prefix := range []string{"CREATE ", "COPY INTO ", "DROP ", "TRUNCATE ", "ALTER "} {
		if strings.HasPrefix(q.SQL, prefix) {
			h.publish(tableOf(q.SQL))
		}
	}
	if err != nil {
		var we *warehouseError
		if errors.As(err, &we) {
			return nil, &dbxfake.SQLError{State: we.state, Message: "[" + we.class + "] " + we.msg}
		}
		return nil, &dbxfake.SQLError{State: "XX000", Message: "[INTERNAL_ERROR] " + err.Error()}
	}
	if r.schema == nil || r.schema.NumFields() == 0 {
		release(r.recs)
		return &dbxfake.Result{}, nil
	}
	return &dbxfake.Result{Schema: r.schema, Batches: r.recs}, nil
}

// publish puts a table of the model's lake into the fake's Unity Catalog
// (a placeholder table without columns, as CREATE TABLE ... USING DELTA
// leaves it).
func (h *fakeHarness) publish(n lakehouse.TableName) {
	if n.Table == "" {
		return
	}
	h.m.mu.Lock()
	placeholder := h.m.placeholder[n]
	h.m.mu.Unlock()
	t := dbxfake.Table{Catalog: n.Catalog, Schema: n.Schema, Name: n.Table}
	if !placeholder {
		l, err := local.Open(h.root, local.Options{})
		if err != nil {
			return
		}
		defer l.Close()
		d, err := l.Describe(bg, n)
		if err != nil {
			return
		}
		t.Properties = d.Properties
		for i, c := range d.Columns {
			name := c.Type
			if i := strings.IndexAny(name, "<("); i >= 0 {
				name = name[:i]
			}
			t.Columns = append(t.Columns, dbxfake.Column{Name: c.Name, TypeText: c.Type, TypeName: strings.ToUpper(name), Nullable: c.Nullable, Position: i})
		}
	}
	h.s.AddTable(t)
}

func (h *fakeHarness) CreateTable(ctx context.Context, n lakehouse.TableName, s *arrow.Schema, o lakehousetest.TableOptions) error {
	err := h.deltaWriter.CreateTable(ctx, n, s, o)
	h.publish(n)
	return err
}

func (h *fakeHarness) Append(ctx context.Context, n lakehouse.TableName, rec arrow.RecordBatch) (int64, error) {
	v, err := h.deltaWriter.Append(ctx, n, rec)
	h.publish(n)
	return v, err
}

func (h *fakeHarness) Merge(ctx context.Context, n lakehouse.TableName, keys []string, rec arrow.RecordBatch) (int64, error) {
	v, err := h.deltaWriter.Merge(ctx, n, keys, rec)
	h.publish(n)
	return v, err
}

func (h *fakeHarness) Delete(ctx context.Context, n lakehouse.TableName, column string, values []int64) (int64, error) {
	v, err := h.deltaWriter.Delete(ctx, n, column, values)
	h.publish(n)
	return v, err
}

// TestConformanceFake runs the port's conformance suite on the production
// path: every statement built by sql.go goes through database/sql and
// databricks-sql-go to dbxfake's Thrift warehouse, comes back as Arrow
// IPC pages, is re-batched, counted and classified; browsing and the
// warehouse go through the workspace client (SDK) over REST.
func TestConformanceFake(t *testing.T) {
	lakehousetest.Run(t, func(t *testing.T) lakehousetest.Harness { return newFakeHarness(t) })
}
