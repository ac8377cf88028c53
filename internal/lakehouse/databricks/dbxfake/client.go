package dbxfake

import (
	"database/sql"
	"database/sql/driver"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/databricks/databricks-sdk-go/config"
	dbsql "github.com/databricks/databricks-sql-go"
)

// noLoader keeps an SDK config from reading DATABRICKS_* variables or
// ~/.databrickscfg: tests see only what they set.
type noLoader struct{}

func (noLoader) Name() string                   { return "dbxfake" }
func (noLoader) Configure(*config.Config) error { return nil }

// SDKConfig is a databricks-sdk-go config for the fake with a personal access
// token: Host = URL(), AuthType "pat", no environment or config-file
// loading. Use it with databricks.NewWorkspaceClient((*databricks.Config)(cfg)).
func (s *Server) SDKConfig(token string) *config.Config {
	return &config.Config{
		Host:                s.URL(),
		Token:               token,
		AuthType:            "pat",
		Loaders:             []config.Loader{noLoader{}},
		HTTPTimeoutSeconds:  30,
		RetryTimeoutSeconds: 60,
	}
}

// SDKConfigM2M is a databricks-sdk-go config for the fake authenticating as
// an OAuth M2M service principal (AuthType "oauth-m2m"): the SDK reads
// /oidc/.well-known/oauth-authorization-server and mints tokens at
// /oidc/v1/token.
func (s *Server) SDKConfigM2M(clientID, secret string) *config.Config {
	return &config.Config{
		Host:                s.URL(),
		ClientID:            clientID,
		ClientSecret:        secret,
		AuthType:            "oauth-m2m",
		Loaders:             []config.Loader{noLoader{}},
		HTTPTimeoutSeconds:  30,
		RetryTimeoutSeconds: 60,
	}
}

// redirectTransport sends requests for https://127.0.0.1 without a port
// (where the SQL driver sends its telemetry feature-flag and telemetry
// calls, built from the bare host name) to the fake instead.
type redirectTransport struct {
	base *http.Transport
	port int
}

func (t *redirectTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Hostname() == "127.0.0.1" && r.URL.Port() == "" {
		r = r.Clone(r.Context())
		r.URL.Scheme = "http"
		r.URL.Host = "127.0.0.1:" + strconv.Itoa(t.port)
		r.Host = r.URL.Host
	}
	return t.base.RoundTrip(r)
}

// Transport is an http.RoundTripper for clients of the fake: plain HTTP,
// its idle connections closed when the server stops, and bare-host
// requests (https://127.0.0.1/...) redirected to the fake's port.
func (s *Server) Transport() http.RoundTripper {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clientTrans == nil {
		s.clientTrans = &http.Transport{
			Proxy:                 nil,
			MaxIdleConnsPerHost:   16,
			IdleConnTimeout:       30 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
		}
	}
	_, port := s.HostPort()
	return &redirectTransport{base: s.clientTrans, port: port}
}

// Connector is a databricks-sql-go connector for the fake's warehouse with a
// personal access token: WithServerHostname("http://127.0.0.1"), WithPort,
// WithHTTPPath(HTTPPath), WithAccessToken(token), WithTransport(Transport())
// and fast retries (WithRetries(4, 100ms, 2s); a Retry-After header still
// wins). opts come after these, so they can override any of them.
func (s *Server) Connector(token string, opts ...dbsql.ConnOption) driver.Connector {
	host, port := s.HostPort()
	all := []dbsql.ConnOption{
		dbsql.WithServerHostname("http://" + host),
		dbsql.WithPort(port),
		dbsql.WithHTTPPath(HTTPPath),
		dbsql.WithAccessToken(token),
		dbsql.WithTransport(s.Transport()),
		dbsql.WithRetries(4, 100*time.Millisecond, 2*time.Second),
	}
	c, err := dbsql.NewConnector(append(all, opts...)...)
	if err != nil {
		s.t.Fatalf("dbxfake: NewConnector: %v", err)
	}
	return c
}

// DB is sql.OpenDB(s.Connector(token, opts...)), closed at t.Cleanup.
func (s *Server) DB(token string, opts ...dbsql.ConnOption) *sql.DB {
	db := sql.OpenDB(s.Connector(token, opts...))
	s.t.Cleanup(func() { _ = db.Close() })
	return db
}

// DSN is a databricks-sql-go DSN for the fake with a personal access token:
// "http://token:TOKEN@127.0.0.1:PORT/sql/1.0/warehouses/abc123fake" (the
// http:// prefix makes the driver use plain HTTP). extra is appended as the
// query string (e.g. "maxRows=10&enableTelemetry=false").
func (s *Server) DSN(token, extra string) string {
	host, port := s.HostPort()
	dsn := "http://token:" + url.PathEscape(token) + "@" + host + ":" + strconv.Itoa(port) + HTTPPath
	if extra != "" {
		dsn += "?" + extra
	}
	return dsn
}
