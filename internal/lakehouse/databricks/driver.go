package databricks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	dbsql "github.com/databricks/databricks-sql-go"
	"github.com/databricks/databricks-sql-go/auth"

	"github.com/lakeport/lakeport/internal/lakehouse"
)

// Workspace is what the driver needs from the workspace package
// (internal/lakehouse/databricks/workspace): Unity Catalog browsing over
// REST (never wakes the warehouse), the warehouse's cold start, and the
// authenticator of SQL requests.
type Workspace interface {
	Catalogs(ctx context.Context) ([]string, error)
	Schemas(ctx context.Context, catalog string) ([]string, error)
	Tables(ctx context.Context, catalog, schema string) ([]lakehouse.TableInfo, error)
	// Table is Unity Catalog's description of a table (Version and
	// VersionTime unset; the driver reads them with SQL).
	Table(ctx context.Context, name lakehouse.TableName) (*lakehouse.Description, error)
	// WarehouseReady starts the SQL warehouse if it is stopped and waits
	// (bounded) until it runs.
	WarehouseReady(ctx context.Context) error
	// SQLAuthenticator authenticates the SQL driver's requests (PAT or
	// OAuth M2M, re-minted before expiry).
	SQLAuthenticator() auth.Authenticator
}

// Config opens a Lakehouse on a SQL warehouse.
type Config struct {
	Workspace Workspace
	// Host is the workspace host name, or http(s)://host[:port] (http only
	// for local fakes).
	Host string
	// Port is the port (0: 443, or the port in Host).
	Port int
	// HTTPPath is the warehouse's HTTP path (/sql/1.0/warehouses/ID).
	HTTPPath string
	// Catalog is the session's initial catalog (optional; names are always
	// three-part).
	Catalog string
	// BatchSize is the default number of rows per batch (0: 65536).
	BatchSize int
	// FetchRows is the number of rows the driver fetches per result page
	// (0: the driver's default, 100000).
	FetchRows int
	// Retries, RetryWaitMin and RetryWaitMax tune the driver's retries of
	// 429/503 answers and of idempotent calls (0: the driver's defaults, 4
	// retries between 1s and 30s). The driver honours Retry-After.
	Retries                    int
	RetryWaitMin, RetryWaitMax time.Duration
	// Reissues is how often a statement whose answer was lost (connection
	// reset) is sent again (0: 3). Only statements that are safe to repeat
	// are re-issued (see doc.go).
	Reissues int
	// Transport replaces the HTTP transport (tests); telemetry requests
	// never leave the process either way.
	Transport http.RoundTripper
}

// DefaultBatchSize is Config.BatchSize when unset.
const DefaultBatchSize = 1 << 16

// Lakehouse is the lakehouse port on a Databricks SQL warehouse and Unity
// Catalog. It is safe for concurrent use.
type Lakehouse struct {
	cfg  Config
	ws   Workspace
	pool sessions

	mu     sync.Mutex
	closed bool
}

var _ lakehouse.Lakehouse = (*Lakehouse)(nil)

// Open returns a Lakehouse for cfg. It does not connect: the warehouse is
// woken by the first statement, never by browsing.
func Open(ctx context.Context, cfg Config) (*Lakehouse, error) {
	if cfg.Workspace == nil {
		return nil, lakehouse.Invalidf("databricks: no workspace client")
	}
	if cfg.Host == "" || cfg.HTTPPath == "" {
		return nil, lakehouse.Invalidf("databricks: host and http_path are required")
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.Reissues <= 0 {
		cfg.Reissues = 3
	}
	connector, err := dbsql.NewConnector(connOptions(cfg)...)
	if err != nil {
		return nil, fmt.Errorf("databricks: %w", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(10 * time.Minute)
	return newLakehouse(cfg, &dbPool{db: db, ws: cfg.Workspace}), nil
}

func newLakehouse(cfg Config, pool sessions) *Lakehouse {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.Reissues <= 0 {
		cfg.Reissues = 3
	}
	return &Lakehouse{cfg: cfg, ws: cfg.Workspace, pool: pool}
}

// connOptions are the driver's options: endpoint, authenticator, session
// time zone UTC (so no bound or value shifts with a workspace default),
// native Arrow decimals and timestamps, telemetry blocked.
func connOptions(cfg Config) []dbsql.ConnOption {
	host := cfg.Host
	port := cfg.Port
	if h, p, ok := splitHostPort(host); ok {
		host = h
		if p != 0 { // a port in Host wins; else cfg.Port
			port = p
		}
	}
	if port == 0 {
		port = 443
	}
	opts := []dbsql.ConnOption{
		dbsql.WithServerHostname(host),
		dbsql.WithPort(port),
		dbsql.WithHTTPPath(cfg.HTTPPath),
		dbsql.WithAuthenticator(cfg.Workspace.SQLAuthenticator()),
		dbsql.WithSessionParams(map[string]string{"timezone": "UTC"}),
		dbsql.WithArrowNativeDecimal(true),
		dbsql.WithUserAgentEntry("lakeport"),
		dbsql.WithTransport(noTelemetry{base: baseTransport(cfg.Transport)}),
	}
	if cfg.Catalog != "" {
		opts = append(opts, dbsql.WithInitialNamespace(cfg.Catalog, ""))
	}
	if cfg.FetchRows > 0 {
		opts = append(opts, dbsql.WithMaxRows(cfg.FetchRows))
	}
	if cfg.Retries != 0 || cfg.RetryWaitMin != 0 || cfg.RetryWaitMax != 0 {
		opts = append(opts, dbsql.WithRetries(cfg.Retries, cfg.RetryWaitMin, cfg.RetryWaitMax))
	}
	return opts
}

// splitHostPort reads "http://h:p" or "https://h:p" (the driver wants host
// and port apart; the scheme stays on the host so the driver uses it).
func splitHostPort(s string) (string, int, bool) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return "", 0, false
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return s, 0, true
	}
	var p int
	if _, err := fmt.Sscanf(rest[i+1:], "%d", &p); err != nil {
		return s, 0, true
	}
	return scheme + "://" + rest[:i], p, true
}

func baseTransport(t http.RoundTripper) http.RoundTripper {
	if t != nil {
		return t
	}
	return http.DefaultTransport.(*http.Transport).Clone()
}

// noTelemetry keeps the driver's telemetry in the process: its feature-flag
// lookup and its export fail locally, so the driver runs with telemetry off
// (v1.14.0 has no connector option for it; see doc.go).
type noTelemetry struct{ base http.RoundTripper }

var errTelemetryOff = errors.New("lakeport: driver telemetry is disabled")

func telemetryPath(p string) bool {
	return strings.HasPrefix(p, "/telemetry-ext") || strings.HasPrefix(p, "/api/2.0/connector-service/feature-flags")
}

func (t noTelemetry) RoundTrip(r *http.Request) (*http.Response, error) {
	if telemetryPath(r.URL.Path) {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, errTelemetryOff
	}
	return t.base.RoundTrip(r)
}

// Close closes the SQL connections.
func (l *Lakehouse) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return l.pool.Close()
}

func (l *Lakehouse) batchSize(n int) int {
	if n > 0 {
		return n
	}
	return l.cfg.BatchSize
}

func (l *Lakehouse) Catalogs(ctx context.Context) ([]string, error) {
	return l.ws.Catalogs(ctx)
}

func (l *Lakehouse) Schemas(ctx context.Context, catalog string) ([]string, error) {
	if err := lakehouse.ValidateName("catalog", catalog); err != nil {
		return nil, err
	}
	return l.ws.Schemas(ctx, catalog)
}

func (l *Lakehouse) Tables(ctx context.Context, catalog, schema string) ([]lakehouse.TableInfo, error) {
	if err := lakehouse.ValidateName("catalog", catalog); err != nil {
		return nil, err
	}
	if err := lakehouse.ValidateName("schema", schema); err != nil {
		return nil, err
	}
	return l.ws.Tables(ctx, catalog, schema)
}

// Describe is Unity Catalog's description plus the current version and its
// commit time from DESCRIBE HISTORY (this statement wakes the warehouse).
func (l *Lakehouse) Describe(ctx context.Context, name lakehouse.TableName) (*lakehouse.Description, error) {
	if err := name.Validate(); err != nil {
		return nil, err
	}
	d, err := l.ws.Table(ctx, name)
	if err != nil {
		return nil, err
	}
	if d.Kind == lakehouse.KindView {
		return d, nil
	}
	s, err := l.pool.Session(ctx)
	if err != nil {
		return nil, classify(err, errContext{table: name, op: opDescribe})
	}
	defer s.Close()
	v, ts, err := latestVersion(ctx, s, name)
	if err != nil {
		return nil, err
	}
	d.Version, d.VersionTime = v, ts
	return d, nil
}
