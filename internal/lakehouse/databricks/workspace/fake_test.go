package workspace_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/databricks/databricks-sql-go/auth"

	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/lakehouse/databricks/dbxfake"
	"github.com/lakeport/lakeport/internal/lakehouse/databricks/workspace"
)

var ctx = context.Background()

const (
	pat      = "dapi-test-token"
	spID     = "sp-lakeport-1"
	spSecret = "sp-secret-value"
)

// fastRetry keeps backoff waits short; Retry-After still decides when given.
var fastRetry = workspace.RetryPolicy{Attempts: 4, Initial: 20 * time.Millisecond, Max: 50 * time.Millisecond}

func fakeConfig(s *dbxfake.Server) workspace.Config {
	return workspace.Config{
		Name: "fake", Host: s.URL(), HTTPPath: dbxfake.HTTPPath, Token: pat,
		HTTPTransport: s.Transport(), PollInterval: 10 * time.Millisecond, Retry: fastRetry,
	}
}

func newPAT(t *testing.T) (*dbxfake.Server, *workspace.Client) {
	t.Helper()
	s := dbxfake.New(t)
	s.AddToken(pat)
	c, err := workspace.New(ctx, fakeConfig(s))
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func newM2M(t *testing.T, s *dbxfake.Server) *workspace.Client {
	t.Helper()
	cfg := fakeConfig(s)
	cfg.Token, cfg.ClientID, cfg.ClientSecret = "", spID, spSecret
	c, err := workspace.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// restRequests returns the recorded REST requests (not token requests).
func restRequests(s *dbxfake.Server) []dbxfake.Request {
	var out []dbxfake.Request
	for _, r := range s.Requests() {
		if strings.HasPrefix(r.Op, "rest:") && !strings.HasPrefix(r.Path, "/oidc/") {
			out = append(out, r)
		}
	}
	return out
}

func TestPATLogin(t *testing.T) {
	// The environment is ignored: only the Config counts.
	t.Setenv("DATABRICKS_TOKEN", "dapi-from-env")
	t.Setenv("DATABRICKS_HOST", "https://elsewhere.example.com")
	s, c := newPAT(t)
	s.AddCatalog("main")
	cats, err := c.Catalogs(ctx)
	if err != nil || !slices.Equal(cats, []string{"main"}) {
		t.Fatalf("Catalogs = %v, %v", cats, err)
	}
	for _, r := range s.Requests() {
		if r.Auth != "Bearer "+pat {
			t.Errorf("%s sent %q", r.Op, r.Auth)
		}
		if r.Path == "/.well-known/databricks-config" {
			t.Errorf("host discovery was requested")
		}
	}
	if c.AuthType() != "pat" {
		t.Errorf("auth type %s", c.AuthType())
	}
	// The SQL authenticator sets the same credential.
	var _ auth.Authenticator = c.SQLAuthenticator()
	req, _ := http.NewRequest(http.MethodPost, s.URL()+dbxfake.HTTPPath, nil)
	if err := c.SQLAuthenticator().Authenticate(req); err != nil || req.Header.Get("Authorization") != "Bearer "+pat {
		t.Errorf("SQL auth header %q, %v", req.Header.Get("Authorization"), err)
	}
}

func TestOAuthM2MLogin(t *testing.T) {
	s := dbxfake.New(t)
	s.AddServicePrincipal(spID, spSecret)
	s.AddCatalog("main")
	c := newM2M(t, s)
	rep, err := c.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ch := rep.Check(workspace.CheckLogin); ch.Status != workspace.CheckOK || !strings.Contains(ch.Detail, spID) || !strings.Contains(ch.Detail, "oauth-m2m") {
		t.Errorf("login check %+v", ch)
	}
	if _, err := c.Catalogs(ctx); err != nil {
		t.Fatal(err)
	}
	if n := s.MintedTokens(); n != 1 {
		t.Errorf("minted %d tokens, want 1 (cached)", n)
	}
	rest := restRequests(s)
	tok := rest[0].Token()
	if !strings.HasPrefix(tok, "dbxfake-oauth-") {
		t.Fatalf("REST used %q", rest[0].Auth)
	}
	for _, r := range rest {
		if r.Token() != tok || r.Status != http.StatusOK {
			t.Errorf("%s: token %q, status %d", r.Op, r.Token(), r.Status)
		}
	}
	// SQL and REST share the token source.
	req, _ := http.NewRequest(http.MethodPost, s.URL()+dbxfake.HTTPPath, nil)
	if err := c.SQLAuthenticator().Authenticate(req); err != nil || req.Header.Get("Authorization") != "Bearer "+tok {
		t.Errorf("SQL auth header %q, %v", req.Header.Get("Authorization"), err)
	}
	if s.MintedTokens() != 1 {
		t.Errorf("the SQL authenticator minted its own token")
	}
}

func TestOAuthWrongSecretIsAuth(t *testing.T) {
	s := dbxfake.New(t)
	s.AddServicePrincipal(spID, "another-secret")
	c := newM2M(t, s)
	_, err := c.Catalogs(ctx)
	if !errors.Is(err, errs.ErrAuth) {
		t.Fatalf("err = %v (%s), want auth", err, errs.Classify(err))
	}
	if strings.Contains(err.Error(), spSecret) {
		t.Errorf("the error shows the secret: %v", err)
	}
	if n := len(s.RequestsFor("rest:POST /oidc/v1/token")); n != 1 {
		t.Errorf("%d token requests: a rejected client must not be retried", n)
	}
}

func TestOAuthTokenEndpointRetryAfter(t *testing.T) {
	s := dbxfake.New(t)
	s.AddServicePrincipal(spID, spSecret)
	s.AddCatalog("main")
	op := "rest:POST /oidc/v1/token"
	s.Inject(dbxfake.Fault{Kind: dbxfake.Status429, RetryAfter: time.Second, Match: dbxfake.MatchOp(op), Times: 1})
	c := newM2M(t, s)
	if _, err := c.Catalogs(ctx); err != nil {
		t.Fatal(err)
	}
	rs := s.RequestsFor(op)
	if len(rs) != 2 || rs[0].Status != 429 || rs[1].Status != 200 {
		t.Fatalf("token requests %+v", rs)
	}
	if gap := rs[1].Time.Sub(rs[0].Time); gap < time.Second {
		t.Errorf("token retried after %s, before Retry-After (1s)", gap)
	}
}

func TestOAuthTokenRemintedBeforeExpiry(t *testing.T) {
	s := dbxfake.New(t)
	s.AddServicePrincipal(spID, spSecret)
	s.SetTokenLifetime(2 * time.Second)
	s.AddCatalog("main")
	c := newM2M(t, s)
	if _, err := c.Catalogs(ctx); err != nil {
		t.Fatal(err)
	}
	first := restRequests(s)[0].Token()
	// Past half its (early) lifetime, the token is still used and a new one
	// is minted in the background.
	time.Sleep(time.Second)
	if _, err := c.Catalogs(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.MintedTokens() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.MintedTokens(); n != 2 {
		t.Fatalf("minted %d tokens after half the lifetime, want 2", n)
	}
	// the server counts the token when it answers; the client caches it a
	// moment later, so the next calls switch to it as soon as it is stored
	var last string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := c.Catalogs(ctx); err != nil {
			t.Fatal(err)
		}
		rest := restRequests(s)
		if last = rest[len(rest)-1].Token(); last != first && last != "" {
			break
		}
	}
	if last == first || last == "" {
		t.Errorf("the re-minted token was not used: %q", last)
	}
	// Long after expiry, a call mints again first (blocking) and succeeds.
	time.Sleep(2100 * time.Millisecond)
	if _, err := c.Catalogs(ctx); err != nil {
		t.Fatal(err)
	}
	if n := s.MintedTokens(); n < 3 {
		t.Errorf("minted %d tokens after expiry, want at least 3", n)
	}
	for _, r := range restRequests(s) {
		if r.Status != http.StatusOK {
			t.Errorf("%s got %d with token %s: a token was used after it expired", r.Op, r.Status, r.Token())
		}
	}
}

func TestExpiredTokensAreAuthErrors(t *testing.T) {
	for _, mode := range []string{"pat", "oauth-m2m"} {
		t.Run(mode, func(t *testing.T) {
			s := dbxfake.New(t)
			s.AddToken(pat)
			s.AddServicePrincipal(spID, spSecret)
			s.AddCatalog("main")
			var c *workspace.Client
			if mode == "pat" {
				c, _ = workspace.New(ctx, fakeConfig(s))
			} else {
				c = newM2M(t, s)
			}
			if _, err := c.Catalogs(ctx); err != nil {
				t.Fatal(err)
			}
			s.ExpireTokens()
			before := len(restRequests(s))
			_, err := c.Catalogs(ctx)
			if !errors.Is(err, errs.ErrAuth) || errs.Classify(err) != errs.Auth {
				t.Fatalf("after ExpireTokens: %v (%s), want auth", err, errs.Classify(err))
			}
			if n := len(restRequests(s)) - before; n != 1 {
				t.Errorf("%d requests: an auth error must not be retried", n)
			}
			if !strings.Contains(err.Error(), `databricks connection "fake": list catalogs`) {
				t.Errorf("message %q", err)
			}
		})
	}
	// The injected fault: one 401 "Token is expired".
	s, c := newPAT(t)
	s.Inject(dbxfake.Fault{Kind: dbxfake.ExpiredToken, Match: dbxfake.MatchPathPrefix("/api/2.1/unity-catalog/catalogs")})
	if _, err := c.Catalogs(ctx); errs.Classify(err) != errs.Auth {
		t.Errorf("ExpiredToken fault: %v", err)
	}
}

func TestEnsureWarehouseStartsStopped(t *testing.T) {
	s, c := newPAT(t)
	s.SetWarehouseState(dbxfake.StateStopped)
	s.StartAfterPolls(3)
	var seen []workspace.WarehouseProgress
	if err := c.EnsureWarehouse(ctx, func(p workspace.WarehouseProgress) { seen = append(seen, p) }); err != nil {
		t.Fatal(err)
	}
	if s.WarehouseState() != dbxfake.StateRunning {
		t.Errorf("state %s", s.WarehouseState())
	}
	var states []string
	for _, p := range seen {
		if len(states) == 0 || states[len(states)-1] != p.State {
			states = append(states, p.State)
		}
		if p.ID != dbxfake.WarehouseID || p.Name == "" || p.Limit != 10*time.Minute {
			t.Errorf("progress %+v", p)
		}
	}
	if !slices.Equal(states, []string{"STOPPED", "STARTING", "RUNNING"}) {
		t.Errorf("states seen %v", states)
	}
	if !seen[len(seen)-1].Starting || !strings.Contains(seen[0].String(), "STOPPED") {
		t.Errorf("progress %+v / %s", seen[len(seen)-1], seen[0])
	}
	if n := len(s.RequestsFor("rest:POST /api/2.0/sql/warehouses/" + dbxfake.WarehouseID + "/start")); n != 1 {
		t.Errorf("%d start requests", n)
	}
	// Running: one read, no start.
	before := len(s.Requests())
	if err := c.WarehouseReady(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Requests()) - before; n != 1 {
		t.Errorf("%d requests for a running warehouse", n)
	}
}

func TestEnsureWarehouseWaitBound(t *testing.T) {
	s := dbxfake.New(t)
	s.AddToken(pat)
	cfg := fakeConfig(s)
	cfg.WarehouseWait = 300 * time.Millisecond
	cfg.PollInterval = 20 * time.Millisecond
	c, _ := workspace.New(ctx, cfg)
	s.SetWarehouseState(dbxfake.StateStopped)
	s.StartAfterPolls(1 << 30)
	var last workspace.WarehouseProgress
	err := c.EnsureWarehouse(ctx, func(p workspace.WarehouseProgress) { last = p })
	if errs.Classify(err) != errs.Transient {
		t.Fatalf("err = %v (%s), want transient", err, errs.Classify(err))
	}
	for _, want := range []string{dbxfake.WarehouseID, "STARTING", "warehouse_wait 300ms"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not name %q", err, want)
		}
	}
	if last.State != dbxfake.StateStarting {
		t.Errorf("last progress %+v", last)
	}
	// The caller's own deadline ends the wait too.
	cfg.WarehouseWait = time.Hour
	c, _ = workspace.New(ctx, cfg)
	dctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	err = c.EnsureWarehouse(dctx, nil)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("caller deadline: %v", err)
	}
}

func TestEnsureWarehouseDenied(t *testing.T) {
	s, c := newPAT(t)
	s.DenyWarehouse(true)
	err := c.EnsureWarehouse(ctx, nil)
	if errs.Classify(err) != errs.Auth {
		t.Errorf("denied: %v (%s)", err, errs.Classify(err))
	}
}

func TestEnsureWarehouse503DuringStart(t *testing.T) {
	s, c := newPAT(t)
	s.SetWarehouseState(dbxfake.StateStopped)
	s.StartAfterPolls(1)
	startOp := "rest:POST /api/2.0/sql/warehouses/" + dbxfake.WarehouseID + "/start"
	getOp := "rest:GET /api/2.0/sql/warehouses/" + dbxfake.WarehouseID
	s.Inject(dbxfake.Fault{Kind: dbxfake.Status503, Match: dbxfake.MatchOp(startOp), Times: 1})
	// Then 503s on the first two polls after the (retried) start. Match runs
	// under the fake's lock: it keeps its own state.
	started := false
	s.Inject(dbxfake.Fault{Kind: dbxfake.Status503, Match: func(r dbxfake.Request) bool {
		if r.Op == startOp {
			started = true
		}
		return started && r.Op == getOp
	}, Times: 2})
	if err := c.EnsureWarehouse(ctx, nil); err != nil {
		t.Fatal(err)
	}
	starts := s.RequestsFor(startOp)
	if len(starts) != 2 || starts[0].Status != 503 || starts[1].Status != 200 {
		t.Errorf("start requests: %+v (want a 503, then one retry: the SDK must not retry on its own)", starts)
	}
	var got503 int
	for _, r := range s.RequestsFor(getOp) {
		if r.Status == 503 {
			got503++
		}
	}
	if got503 != 2 || s.PendingFaults() != 0 || s.WarehouseState() != dbxfake.StateRunning {
		t.Errorf("%d GETs answered 503; pending faults %d; state %s", got503, s.PendingFaults(), s.WarehouseState())
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	s, c := newPAT(t)
	s.AddCatalog("main")
	op := "rest:GET /api/2.1/unity-catalog/catalogs"
	s.Inject(dbxfake.Fault{Kind: dbxfake.Status429, RetryAfter: time.Second, Match: dbxfake.MatchOp(op), Times: 1})
	if _, err := c.Catalogs(ctx); err != nil {
		t.Fatal(err)
	}
	rs := s.RequestsFor(op)
	if len(rs) != 2 || rs[0].Status != 429 || rs[1].Status != 200 {
		t.Fatalf("requests %+v", rs)
	}
	if gap := rs[1].Time.Sub(rs[0].Time); gap < time.Second {
		t.Errorf("retried after %s, before Retry-After (1s)", gap)
	}
	// During the warehouse start too.
	s.SetWarehouseState(dbxfake.StateStopped)
	startOp := "rest:POST /api/2.0/sql/warehouses/" + dbxfake.WarehouseID + "/start"
	s.Inject(dbxfake.Fault{Kind: dbxfake.Status429, RetryAfter: time.Second, Match: dbxfake.MatchOp(startOp), Times: 1})
	if err := c.EnsureWarehouse(ctx, nil); err != nil {
		t.Fatal(err)
	}
	rs = s.RequestsFor(startOp)
	if len(rs) != 2 || rs[0].Status != 429 || rs[1].Time.Sub(rs[0].Time) < time.Second {
		t.Errorf("start requests %+v", rs)
	}
	// A Retry-After longer than the caller's deadline is handed back, hint
	// included, without waiting.
	s.Inject(dbxfake.Fault{Kind: dbxfake.Status429, RetryAfter: 30 * time.Second, Match: dbxfake.MatchOp(op), Times: 1})
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := c.Catalogs(dctx)
	if d, ok := errs.RetryAfter(err); errs.Classify(err) != errs.Transient || !ok || d != 30*time.Second || dctx.Err() != nil {
		t.Errorf("long Retry-After: %v (hint %s)", err, d)
	}
}

func TestBrowsing(t *testing.T) {
	s, c := newPAT(t)
	s.SetWarehouseState(dbxfake.StateStopped)
	s.AddCatalog("main")
	s.AddCatalog("analytics")
	s.AddSchema("main", "crm")
	s.AddSchema("main", "web")
	s.AddTable(dbxfake.Table{Catalog: "main", Schema: "crm", Name: "users", Type: "MANAGED", Format: "DELTA",
		Columns: []dbxfake.Column{
			{Name: "id", TypeText: "bigint", TypeName: "LONG", Position: 0},
			{Name: "email", TypeText: "varchar(200)", TypeName: "STRING", Nullable: true, Position: 1},
			{Name: "amount", TypeText: "decimal(10,2)", TypeName: "DECIMAL", Nullable: true, Position: 2},
			{Name: "tags", TypeText: "array<string>", TypeName: "ARRAY", Nullable: true, Position: 3},
			{Name: "attrs", TypeText: "struct<plan:string,seats:int>", TypeName: "STRUCT", Nullable: true, Position: 4},
			{Name: "updated_at", TypeText: "timestamp", TypeName: "TIMESTAMP", Nullable: true, Position: 5},
		},
		Properties: map[string]string{"delta.enableChangeDataFeed": "true", "delta.lastUpdateVersion": "7"}})
	s.AddTable(dbxfake.Table{Catalog: "main", Schema: "crm", Name: "active_users", Type: "VIEW",
		Columns: []dbxfake.Column{{Name: "id", TypeText: "bigint", TypeName: "LONG"}}})
	s.AddTable(dbxfake.Table{Catalog: "main", Schema: "crm", Name: "events", Type: "EXTERNAL", Format: "DELTA",
		Columns: []dbxfake.Column{{Name: "ts", TypeText: "timestamp_ntz", TypeName: "TIMESTAMP_NTZ"}}})

	cats, err := c.Catalogs(ctx)
	if err != nil || !slices.Equal(cats, []string{"analytics", "main"}) {
		t.Errorf("Catalogs = %v, %v", cats, err)
	}
	schemas, err := c.Schemas(ctx, "main")
	if err != nil || !slices.Contains(schemas, "crm") || !slices.Contains(schemas, "web") || !slices.IsSorted(schemas) {
		t.Errorf("Schemas = %v, %v", schemas, err)
	}
	tables, err := c.Tables(ctx, "main", "crm")
	var got []string
	for _, ti := range tables {
		got = append(got, ti.Name.Table+":"+string(ti.Kind))
	}
	if err != nil || !slices.Equal(got, []string{"active_users:VIEW", "events:TABLE", "users:TABLE"}) {
		t.Errorf("Tables = %v, %v", got, err)
	}
	d, err := c.Table(ctx, lakehouse.TableName{Catalog: "main", Schema: "crm", Table: "users"})
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, col := range d.Columns {
		cols = append(cols, col.Name+" "+col.Type)
	}
	want := []string{"id bigint", "email string", "amount decimal(10,2)", "tags array<string>", "attrs struct<plan:string,seats:int>", "updated_at timestamp"}
	if !slices.Equal(cols, want) || d.Columns[0].Nullable || !d.Columns[1].Nullable {
		t.Errorf("columns %v", d.Columns)
	}
	if d.Kind != lakehouse.KindTable || d.Format != lakehouse.FormatDelta || !d.ChangeDataFeed || d.Version != 7 {
		t.Errorf("description %+v", d)
	}
	v, err := c.Table(ctx, lakehouse.TableName{Catalog: "main", Schema: "crm", Table: "active_users"})
	if err != nil || v.Kind != lakehouse.KindView || v.ChangeDataFeed || v.Version != -1 {
		t.Errorf("view %+v, %v", v, err)
	}

	// Not found, by kind.
	_, err = c.Table(ctx, lakehouse.TableName{Catalog: "main", Schema: "crm", Table: "nope"})
	var nf *lakehouse.NotFoundError
	if !errors.Is(err, lakehouse.ErrNotFound) || !errors.As(err, &nf) || nf.What != "table" || errs.Classify(err) != errs.Invalid {
		t.Errorf("missing table: %v", err)
	}
	if _, err := c.Schemas(ctx, "nope"); !errors.Is(err, lakehouse.ErrNotFound) {
		t.Errorf("missing catalog: %v", err)
	}
	if _, err := c.Tables(ctx, "main", "nope"); !errors.Is(err, lakehouse.ErrNotFound) {
		t.Errorf("missing schema: %v", err)
	}
	// Bad names never reach the workspace.
	before := len(s.Requests())
	if _, err := c.Table(ctx, lakehouse.TableName{Catalog: "main", Schema: "crm", Table: "a;b"}); !errors.Is(err, lakehouse.ErrInvalid) {
		t.Errorf("bad name: %v", err)
	}
	if len(s.Requests()) != before {
		t.Error("a bad name was sent")
	}

	// Browsing never touched the warehouse.
	if s.WarehouseState() != dbxfake.StateStopped {
		t.Errorf("browsing woke the warehouse: %s", s.WarehouseState())
	}
	for _, r := range s.Requests() {
		if strings.Contains(r.Path, "/sql/") {
			t.Errorf("browsing called %s", r.Op)
		}
	}
}

func TestVolumeArea(t *testing.T) {
	s, c := newPAT(t)
	a, err := c.VolumeArea("/Volumes/main/lakeport/staging/exports")
	if err != nil {
		t.Fatal(err)
	}
	if names, err := a.List(ctx, ""); err != nil || len(names) != 0 {
		t.Errorf("empty area: %v, %v", names, err)
	}
	write := func(name, data string) {
		t.Helper()
		w, err := a.NewWriter(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, data); err != nil {
			t.Fatal(err)
		}
		if _, ok := s.File(a.Location(name)); ok {
			t.Errorf("%s visible before Close", name)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	write("job/run-1/part-00000.csv", "a,b\n1,2\n")
	write("job/run-1/part-00001.csv", "a,b\n3,4\n")
	write("job/run-2/part-00000.csv", "a,b\n5,6\n")
	write("other.csv", "x\n")
	// A 503 on upload is retried with the whole body again.
	s.Inject(dbxfake.Fault{Kind: dbxfake.Status503, Match: dbxfake.MatchOp("rest:PUT /api/2.0/fs/files/Volumes/main/lakeport/staging/exports/job/run-2/part-00001.csv"), Times: 1})
	write("job/run-2/part-00001.csv", strings.Repeat("retry me,", 1000))
	if b, _ := s.File("/Volumes/main/lakeport/staging/exports/job/run-2/part-00001.csv"); string(b) != strings.Repeat("retry me,", 1000) {
		t.Errorf("retried upload stored %d bytes", len(b))
	}
	if loc := a.Location("job/run-1/part-00000.csv"); loc != "/Volumes/main/lakeport/staging/exports/job/run-1/part-00000.csv" {
		t.Errorf("Location = %s", loc)
	}
	if a.String() != "/Volumes/main/lakeport/staging/exports" {
		t.Errorf("String = %s", a)
	}
	names, err := a.List(ctx, "job/")
	if err != nil || !slices.Equal(names, []string{"job/run-1/part-00000.csv", "job/run-1/part-00001.csv", "job/run-2/part-00000.csv", "job/run-2/part-00001.csv"}) {
		t.Errorf("List(job/) = %v, %v", names, err)
	}
	names, _ = a.List(ctx, "job/run-1/part-0000")
	if !slices.Equal(names, []string{"job/run-1/part-00000.csv", "job/run-1/part-00001.csv"}) {
		t.Errorf("List(job/run-1/part-0000) = %v", names)
	}
	names, _ = a.List(ctx, "")
	if len(names) != 5 || names[4] != "other.csv" {
		t.Errorf("List() = %v", names)
	}
	r, err := a.Open(ctx, "job/run-1/part-00001.csv")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != "a,b\n3,4\n" {
		t.Errorf("read back %q", b)
	}
	if _, err := a.Open(ctx, "job/missing.csv"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open missing: %v", err)
	}
	if err := a.Delete(ctx, "job/run-1/part-00000.csv"); err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(ctx, "job/run-1/part-00000.csv"); err != nil {
		t.Errorf("deleting a missing file: %v", err)
	}
	if _, ok := s.File("/Volumes/main/lakeport/staging/exports/job/run-1/part-00000.csv"); ok {
		t.Error("not deleted")
	}
	if err := a.DeletePrefix(ctx, "job/"); err != nil {
		t.Fatal(err)
	}
	if names, err := a.List(ctx, ""); err != nil || !slices.Equal(names, []string{"other.csv"}) {
		t.Errorf("after DeletePrefix(job/): %v, %v", names, err)
	}
	if err := a.DeletePrefix(ctx, "job"); errs.Classify(err) != errs.Invalid {
		t.Errorf("DeletePrefix without '/': %v", err)
	}
	for _, bad := range []string{"", "/abs", "../x", "a/../../b", "a//b"} {
		if _, err := a.NewWriter(ctx, bad); errs.Classify(err) != errs.Invalid {
			t.Errorf("NewWriter(%q) = %v", bad, err)
		}
	}
	// Staging() opens the connection's volume.
	cfg := fakeConfig(s)
	cfg.Staging = "/Volumes/main/lakeport/staging/exports"
	c2, _ := workspace.New(ctx, cfg)
	a2, err := c2.Staging(ctx)
	if err != nil || a2.Location("x") != "/Volumes/main/lakeport/staging/exports/x" {
		t.Errorf("Staging() = %v, %v", a2, err)
	}
	if _, err := c.Staging(ctx); errs.Classify(err) != errs.Invalid {
		t.Errorf("no staging: %v", err)
	}
}

func TestVerify(t *testing.T) {
	setup := func(t *testing.T) *dbxfake.Server {
		s := dbxfake.New(t)
		s.AddToken(pat)
		s.AddServicePrincipal(spID, spSecret)
		s.AddCatalog("main")
		s.SetWarehouseState(dbxfake.StateStopped)
		return s
	}
	withCatalog := func(c workspace.Config) workspace.Config { c.Catalog = "main"; return c }
	sp := func(c workspace.Config) workspace.Config {
		c.Token, c.ClientID, c.ClientSecret = "", spID, spSecret
		return c
	}
	statuses := func(r *workspace.VerifyReport) string {
		var out []string
		for _, ch := range r.Checks {
			out = append(out, ch.Name+"="+string(ch.Status))
		}
		return strings.Join(out, " ")
	}
	run := func(t *testing.T, s *dbxfake.Server, cfg workspace.Config) *workspace.VerifyReport {
		t.Helper()
		c, err := workspace.New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	t.Run("all pass", func(t *testing.T) {
		s := setup(t)
		s.Grant("main", "USE_CATALOG", "USE_SCHEMA", "SELECT")
		r := run(t, s, sp(withCatalog(fakeConfig(s))))
		if statuses(r) != "login=ok warehouse=ok catalog=ok" || !r.OK() || r.Err() != nil {
			t.Fatalf("%s: %+v", statuses(r), r.Checks)
		}
		if d := r.Check(workspace.CheckCatalog).Detail; !strings.Contains(d, "USE CATALOG") || !strings.Contains(d, "lacks CREATE TABLE, MODIFY") {
			t.Errorf("catalog detail %q", d)
		}
		if d := r.Check(workspace.CheckWarehouse).Detail; !strings.Contains(d, "STOPPED") {
			t.Errorf("warehouse detail %q", d)
		}
		if s.WarehouseState() != dbxfake.StateStopped {
			t.Error("verify started the warehouse")
		}
		// Without a catalog, listing catalogs is the check.
		r = run(t, s, fakeConfig(s))
		if statuses(r) != "login=ok warehouse=ok catalog=ok" {
			t.Errorf("%s", statuses(r))
		}
	})
	t.Run("login fails", func(t *testing.T) {
		s := setup(t)
		cfg := withCatalog(fakeConfig(s))
		cfg.Token = "dapi-wrong"
		r := run(t, s, cfg)
		if statuses(r) != "login=failed warehouse=skipped catalog=skipped" {
			t.Fatalf("%s", statuses(r))
		}
		f := r.Failed()
		if f.Name != workspace.CheckLogin || errs.Classify(f.Err) != errs.Auth || !strings.Contains(f.Detail, "rejected the token") {
			t.Errorf("failed check %+v", f)
		}
		if err := r.Err(); errs.Classify(err) != errs.Auth || !strings.Contains(err.Error(), "login check failed") {
			t.Errorf("report error %v", err)
		}
		// A wrong client secret fails at login too.
		cfg = sp(withCatalog(fakeConfig(s)))
		cfg.ClientSecret = "wrong"
		r = run(t, s, cfg)
		if f := r.Failed(); f == nil || f.Name != workspace.CheckLogin || !strings.Contains(f.Detail, spID) || strings.Contains(f.Detail, "wrong") {
			t.Errorf("bad secret: %+v", r.Checks)
		}
	})
	t.Run("warehouse fails", func(t *testing.T) {
		s := setup(t)
		s.Grant("main", "USE_CATALOG")
		s.DenyWarehouse(true)
		r := run(t, s, sp(withCatalog(fakeConfig(s))))
		if statuses(r) != "login=ok warehouse=failed catalog=ok" {
			t.Fatalf("%s", statuses(r))
		}
		if f := r.Failed(); errs.Classify(f.Err) != errs.Auth || !strings.Contains(f.Detail, "CAN USE") || !strings.Contains(f.Detail, dbxfake.WarehouseID) {
			t.Errorf("failed check %+v", f)
		}
		// A wrong warehouse id.
		s.DenyWarehouse(false)
		cfg := sp(withCatalog(fakeConfig(s)))
		cfg.HTTPPath = "/sql/1.0/warehouses/nope"
		r = run(t, s, cfg)
		if f := r.Failed(); f == nil || f.Name != workspace.CheckWarehouse || !strings.Contains(f.Detail, "http_path") {
			t.Errorf("wrong warehouse: %+v", r.Checks)
		}
	})
	t.Run("catalog fails", func(t *testing.T) {
		s := setup(t)
		r := run(t, s, sp(withCatalog(fakeConfig(s))))
		if statuses(r) != "login=ok warehouse=ok catalog=failed" {
			t.Fatalf("%s", statuses(r))
		}
		if f := r.Failed(); errs.Classify(f.Err) != errs.Auth || !strings.Contains(f.Detail, "lacks USE CATALOG on main") {
			t.Errorf("failed check %+v", f)
		}
		cfg := sp(fakeConfig(s))
		cfg.Catalog = "nope"
		r = run(t, s, cfg)
		if f := r.Failed(); f == nil || f.Name != workspace.CheckCatalog || !strings.Contains(f.Detail, "catalog nope not found") {
			t.Errorf("missing catalog: %+v", r.Checks)
		}
	})
}
