package dbxfake_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go"
	"github.com/databricks/databricks-sdk-go/apierr"
	"github.com/databricks/databricks-sdk-go/service/catalog"
	"github.com/databricks/databricks-sdk-go/service/files"
	"github.com/databricks/databricks-sdk-go/service/iam"
	"github.com/databricks/databricks-sdk-go/service/sql"

	"github.com/lakeport/lakeport/internal/lakehouse/databricks/dbxfake"
)

const pat = "dapi-fake-token"

func workspace(t *testing.T, s *dbxfake.Server) *databricks.WorkspaceClient {
	t.Helper()
	s.AddToken(pat)
	w, err := databricks.NewWorkspaceClient((*databricks.Config)(s.SDKConfig(pat)))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func seedCatalog(s *dbxfake.Server) {
	s.AddCatalog("main")
	s.AddCatalog("empty")
	s.AddSchema("main", "sales")
	s.AddTable(dbxfake.Table{
		Catalog: "main", Schema: "sales", Name: "orders",
		Columns: []dbxfake.Column{
			{Name: "id", TypeText: "bigint", TypeName: "LONG"},
			{Name: "amount", TypeText: "decimal(10,2)", TypeName: "DECIMAL", Nullable: true},
			{Name: "updated_at", TypeText: "timestamp", TypeName: "TIMESTAMP", Nullable: true},
		},
		Properties: map[string]string{"delta.enableChangeDataFeed": "true"},
	})
	s.AddTable(dbxfake.Table{Catalog: "main", Schema: "sales", Name: "v_orders", Type: "VIEW"})
}

func TestSDKUnityCatalog(t *testing.T) {
	s := dbxfake.New(t)
	seedCatalog(s)
	s.Grant("main", "USE_CATALOG", "USE_SCHEMA", "SELECT")
	w := workspace(t, s)
	ctx := context.Background()

	me, err := w.CurrentUser.Me(ctx, iam.MeRequest{})
	if err != nil || me.UserName != dbxfake.DefaultUser {
		t.Fatalf("Me = %+v, %v", me, err)
	}

	cats, err := w.Catalogs.ListAll(ctx, catalog.ListCatalogsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cats {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"empty", "main"}) {
		t.Fatalf("catalogs = %v", names)
	}
	schemas, err := w.Schemas.ListAll(ctx, catalog.ListSchemasRequest{CatalogName: "main"})
	if err != nil || len(schemas) != 1 || schemas[0].FullName != "main.sales" {
		t.Fatalf("schemas = %+v, %v", schemas, err)
	}
	tables, err := w.Tables.ListAll(ctx, catalog.ListTablesRequest{CatalogName: "main", SchemaName: "sales"})
	if err != nil || len(tables) != 2 || tables[0].Name != "orders" || tables[1].TableType != catalog.TableTypeView {
		t.Fatalf("tables = %+v, %v", tables, err)
	}
	tbl, err := w.Tables.GetByFullName(ctx, "main.sales.orders")
	if err != nil {
		t.Fatal(err)
	}
	if tbl.TableType != catalog.TableTypeManaged || tbl.DataSourceFormat != catalog.DataSourceFormatDelta ||
		len(tbl.Columns) != 3 || tbl.Columns[1].Name != "amount" || tbl.Columns[1].TypeName != catalog.ColumnTypeNameDecimal ||
		tbl.Columns[1].TypeText != "decimal(10,2)" || tbl.Columns[1].Position != 1 || !tbl.Columns[1].Nullable ||
		tbl.Properties["delta.enableChangeDataFeed"] != "true" {
		t.Fatalf("table = %+v", tbl)
	}
	if _, err := w.Tables.GetByFullName(ctx, "main.sales.nope"); !errors.Is(err, apierr.ErrNotFound) {
		t.Fatalf("missing table: %v", err)
	}
	if _, err := w.Schemas.ListAll(ctx, catalog.ListSchemasRequest{CatalogName: "nope"}); !errors.Is(err, apierr.ErrNotFound) {
		t.Fatalf("missing catalog: %v", err)
	}

	eff, err := w.Grants.GetEffectiveBySecurableTypeAndFullName(ctx, "catalog", "main")
	if err != nil || len(eff.PrivilegeAssignments) != 1 {
		t.Fatalf("effective = %+v, %v", eff, err)
	}
	var privs []string
	for _, p := range eff.PrivilegeAssignments[0].Privileges {
		privs = append(privs, string(p.Privilege))
	}
	if eff.PrivilegeAssignments[0].Principal != dbxfake.DefaultUser || !slices.Equal(privs, []string{"USE_CATALOG", "USE_SCHEMA", "SELECT"}) {
		t.Fatalf("effective = %+v", eff.PrivilegeAssignments)
	}
	eff, err = w.Grants.GetEffectiveBySecurableTypeAndFullName(ctx, "catalog", "empty")
	if err != nil || len(eff.PrivilegeAssignments) != 0 {
		t.Fatalf("no grants: %+v, %v", eff, err)
	}
	g, err := w.Grants.GetBySecurableTypeAndFullName(ctx, "catalog", "main")
	if err != nil || len(g.PrivilegeAssignments) != 1 || len(g.PrivilegeAssignments[0].Privileges) != 3 {
		t.Fatalf("grants = %+v, %v", g, err)
	}

	ops := s.RequestsFor("rest:GET /api/2.1/unity-catalog/tables/main.sales.orders")
	if len(ops) != 1 || ops[0].Token() != pat || ops[0].Status != 200 {
		t.Fatalf("recorded = %+v", ops)
	}
}

func TestSDKWarehouseColdStart(t *testing.T) {
	s := dbxfake.New(t)
	w := workspace(t, s)
	ctx := context.Background()
	s.SetWarehouseState(dbxfake.StateStopped)
	s.StartAfterPolls(1)

	wh, err := w.Warehouses.GetById(ctx, dbxfake.WarehouseID)
	if err != nil || wh.State != sql.StateStopped {
		t.Fatalf("get = %+v, %v", wh, err)
	}
	host, port := s.HostPort()
	if wh.OdbcParams == nil || wh.OdbcParams.Path != dbxfake.HTTPPath || wh.OdbcParams.Hostname != host || wh.OdbcParams.Port != port {
		t.Fatalf("odbc = %+v", wh.OdbcParams)
	}
	wait, err := w.Warehouses.Start(ctx, sql.StartRequest{Id: dbxfake.WarehouseID})
	if err != nil {
		t.Fatal(err)
	}
	var seen []sql.State
	got, err := wait.OnProgress(func(r *sql.GetWarehouseResponse) { seen = append(seen, r.State) }).GetWithTimeout(30 * time.Second)
	if err != nil || got.State != sql.StateRunning {
		t.Fatalf("wait = %+v, %v", got, err)
	}
	if !slices.Equal(seen, []sql.State{sql.StateStarting, sql.StateRunning}) {
		t.Fatalf("states seen = %v", seen)
	}
	if n := len(s.RequestsFor("rest:POST /api/2.0/sql/warehouses/abc123fake/start")); n != 1 {
		t.Fatalf("%d start calls", n)
	}

	perms, err := w.Warehouses.GetPermissionsByWarehouseId(ctx, dbxfake.WarehouseID)
	if err != nil || !aclHas(perms, dbxfake.DefaultUser, sql.WarehousePermissionLevelCanUse) {
		t.Fatalf("perms = %+v, %v", perms, err)
	}
	s.DenyWarehouse(true)
	if _, err := w.Warehouses.GetById(ctx, dbxfake.WarehouseID); !errors.Is(err, apierr.ErrPermissionDenied) {
		t.Fatalf("denied get: %v", err)
	}
	perms, err = w.Warehouses.GetPermissionsByWarehouseId(ctx, dbxfake.WarehouseID)
	if err != nil || aclHas(perms, dbxfake.DefaultUser, sql.WarehousePermissionLevelCanUse) {
		t.Fatalf("denied perms = %+v, %v", perms, err)
	}
}

func aclHas(p *sql.WarehousePermissions, user string, lvl sql.WarehousePermissionLevel) bool {
	for _, a := range p.AccessControlList {
		if a.UserName != user {
			continue
		}
		for _, x := range a.AllPermissions {
			if x.PermissionLevel == lvl {
				return true
			}
		}
	}
	return false
}

func TestSDKFiles(t *testing.T) {
	s := dbxfake.New(t)
	w := workspace(t, s)
	ctx := context.Background()
	const p = "/Volumes/main/sales/landing/batch 1/part-0.csv"
	data := []byte("id,amount\n1,2.50\n")
	if err := w.Files.Upload(ctx, files.UploadRequest{FilePath: p, Contents: io.NopCloser(bytes.NewReader(data))}); err != nil {
		t.Fatal(err)
	}
	if got, ok := s.File(p); !ok || !bytes.Equal(got, data) {
		t.Fatalf("stored %q %v", got, ok)
	}
	if err := w.Files.Upload(ctx, files.UploadRequest{FilePath: p, Contents: io.NopCloser(bytes.NewReader(data))}); !errors.Is(err, apierr.ErrAlreadyExists) && !errors.Is(err, apierr.ErrResourceConflict) {
		t.Fatalf("second upload without overwrite: %v", err)
	}
	if err := w.Files.Upload(ctx, files.UploadRequest{FilePath: p, Overwrite: true, Contents: io.NopCloser(strings.NewReader("x"))}); err != nil {
		t.Fatal(err)
	}
	md, err := w.Files.GetMetadataByFilePath(ctx, p)
	if err != nil || md.ContentLength != 1 {
		t.Fatalf("metadata = %+v, %v", md, err)
	}
	dl, err := w.Files.DownloadByFilePath(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(dl.Contents)
	dl.Contents.Close()
	if err != nil || string(b) != "x" {
		t.Fatalf("download = %q, %v", b, err)
	}
	entries, err := w.Files.ListDirectoryContentsAll(ctx, files.ListDirectoryContentsRequest{DirectoryPath: "/Volumes/main/sales/landing"})
	if err != nil || len(entries) != 1 || !entries[0].IsDirectory || entries[0].Name != "batch 1" {
		t.Fatalf("list = %+v, %v", entries, err)
	}
	if err := w.Files.DeleteByFilePath(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.File(p); ok || len(s.Files()) != 0 {
		t.Fatalf("files after delete: %v", s.Files())
	}
	if _, err := w.Files.DownloadByFilePath(ctx, p); !errors.Is(err, apierr.ErrNotFound) {
		t.Fatalf("download deleted: %v", err)
	}
}

func TestSDKOAuthM2M(t *testing.T) {
	s := dbxfake.New(t)
	s.AddServicePrincipal("sp-client", "sp-secret")
	s.SetTokenLifetime(time.Hour)
	w, err := databricks.NewWorkspaceClient((*databricks.Config)(s.SDKConfigM2M("sp-client", "sp-secret")))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	me, err := w.CurrentUser.Me(ctx, iam.MeRequest{})
	if err != nil || me.UserName != "sp-client" {
		t.Fatalf("Me = %+v, %v", me, err)
	}
	if _, err := w.CurrentUser.Me(ctx, iam.MeRequest{}); err != nil {
		t.Fatal(err)
	}
	if n := s.MintedTokens(); n != 1 {
		t.Fatalf("minted %d tokens, want 1 (cached)", n)
	}
	if n := len(s.RequestsFor("rest:GET /oidc/.well-known/oauth-authorization-server")); n == 0 {
		t.Fatal("SDK did not read the OAuth metadata")
	}
	mes := s.RequestsFor("rest:GET /api/2.0/preview/scim/v2/Me")
	if !strings.HasPrefix(mes[0].Token(), "dbxfake-oauth-") {
		t.Fatalf("Me sent %q", mes[0].Auth)
	}

	// Wrong secret: the SDK reports the failure.
	bad, err := databricks.NewWorkspaceClient((*databricks.Config)(s.SDKConfigM2M("sp-client", "wrong")))
	if err == nil {
		_, err = bad.CurrentUser.Me(ctx, iam.MeRequest{})
	}
	if err == nil {
		t.Fatal("wrong secret accepted")
	}

	// The server expires every token: the next call is a 401 auth error.
	s.ExpireTokens()
	if _, err := w.CurrentUser.Me(ctx, iam.MeRequest{}); !errors.Is(err, apierr.ErrUnauthenticated) {
		t.Fatalf("after ExpireTokens: %v", err)
	}
}

func TestSDKShortLivedTokensAreRefreshed(t *testing.T) {
	s := dbxfake.New(t)
	s.AddServicePrincipal("sp", "secret")
	s.SetTokenLifetime(time.Second)
	w, err := databricks.NewWorkspaceClient((*databricks.Config)(s.SDKConfigM2M("sp", "secret")))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := w.CurrentUser.Me(ctx, iam.MeRequest{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond)
	if _, err := w.CurrentUser.Me(ctx, iam.MeRequest{}); err != nil {
		t.Fatal(err)
	}
	if n := s.MintedTokens(); n < 2 {
		t.Fatalf("minted %d tokens, want a refresh", n)
	}
	for _, r := range s.RequestsFor("rest:GET /api/2.0/preview/scim/v2/Me") {
		if r.Status != 200 {
			t.Fatalf("Me answered %d", r.Status)
		}
	}
}

func TestPATExpired(t *testing.T) {
	s := dbxfake.New(t)
	w := workspace(t, s)
	ctx := context.Background()
	s.ExpireTokens()
	_, err := w.CurrentUser.Me(ctx, iam.MeRequest{})
	if !errors.Is(err, apierr.ErrUnauthenticated) {
		t.Fatalf("expired PAT: %v", err)
	}
	s.AddToken(pat)
	if _, err := w.CurrentUser.Me(ctx, iam.MeRequest{}); err != nil {
		t.Fatal(err)
	}
	// Unknown token.
	w2, _ := databricks.NewWorkspaceClient((*databricks.Config)(s.SDKConfig("nope")))
	if _, err := w2.CurrentUser.Me(ctx, iam.MeRequest{}); !errors.Is(err, apierr.ErrUnauthenticated) {
		t.Fatalf("unknown PAT: %v", err)
	}
}

func TestRESTFaults(t *testing.T) {
	s := dbxfake.New(t)
	seedCatalog(s)
	w := workspace(t, s)
	ctx := context.Background()

	// 503 and 429 are retried by the SDK.
	s.Inject(dbxfake.Fault{Match: dbxfake.MatchOp("rest:GET /api/2.1/unity-catalog/catalogs"), Kind: dbxfake.Status503})
	s.Inject(dbxfake.Fault{Match: dbxfake.MatchOp("rest:GET /api/2.1/unity-catalog/catalogs"), Kind: dbxfake.Status429, RetryAfter: time.Second})
	if cats, err := w.Catalogs.ListAll(ctx, catalog.ListCatalogsRequest{}); err != nil || len(cats) != 2 {
		t.Fatalf("catalogs after faults = %v, %v", cats, err)
	}
	rs := s.RequestsFor("rest:GET /api/2.1/unity-catalog/catalogs")
	if len(rs) != 3 || rs[0].Status != 503 || rs[0].Fault != dbxfake.Status503 || rs[1].Status != 429 || rs[2].Status != 200 {
		t.Fatalf("requests = %+v", rs)
	}
	if s.PendingFaults() != 0 {
		t.Fatal("faults left")
	}

	// 429 carries Retry-After.
	s.Inject(dbxfake.Fault{Kind: dbxfake.Status429, RetryAfter: 1500 * time.Millisecond})
	req, _ := http.NewRequest("GET", s.URL()+"/api/2.0/preview/scim/v2/Me", nil)
	req.Header.Set("Authorization", "Bearer "+pat)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" {
		t.Fatalf("429: %d Retry-After=%q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	// Injected expired token: 401, not retried.
	s.Inject(dbxfake.Fault{Match: dbxfake.MatchPathPrefix("/api/2.1/unity-catalog/tables/"), Kind: dbxfake.ExpiredToken})
	if _, err := w.Tables.GetByFullName(ctx, "main.sales.orders"); !errors.Is(err, apierr.ErrUnauthenticated) {
		t.Fatalf("expired fault: %v", err)
	}

	// Truncated download: the body ends before Content-Length.
	s.PutFile("/Volumes/main/sales/landing/big.bin", bytes.Repeat([]byte("0123456789"), 1000))
	s.Inject(dbxfake.Fault{Match: dbxfake.MatchOp("rest:GET /api/2.0/fs/files/Volumes/main/sales/landing/big.bin"), Kind: dbxfake.TruncateResult})
	dl, err := w.Files.DownloadByFilePath(ctx, "/Volumes/main/sales/landing/big.bin")
	if err == nil {
		_, err = io.ReadAll(dl.Contents)
		dl.Contents.Close()
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated download: %v", err)
	}

	// Reset in the middle of an upload: the file is stored, the client sees
	// a connection error.
	s.Inject(dbxfake.Fault{Match: dbxfake.MatchPathPrefix("/api/2.0/fs/files/"), Kind: dbxfake.ResetConnection})
	err = w.Files.Upload(ctx, files.UploadRequest{FilePath: "/Volumes/main/sales/landing/r.csv", Contents: io.NopCloser(strings.NewReader("abc"))})
	if got, ok := s.File("/Volumes/main/sales/landing/r.csv"); !ok || string(got) != "abc" {
		t.Fatalf("reset upload stored %q %v", got, ok)
	}
	puts := s.RequestsFor("rest:PUT /api/2.0/fs/files/Volumes/main/sales/landing/r.csv")
	if puts[0].Fault != dbxfake.ResetConnection || puts[0].Status != 0 {
		t.Fatalf("puts = %+v", puts)
	}
	// The SDK cannot rewind a plain reader, so the reset surfaces.
	if err == nil || !strings.Contains(err.Error(), "connection reset by peer") || len(puts) != 1 {
		t.Fatalf("upload through a reset: err=%v, %d PUTs", err, len(puts))
	}
}
