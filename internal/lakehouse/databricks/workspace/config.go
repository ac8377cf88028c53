package workspace

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/job"
)

// Defaults.
const (
	DefaultPort          = job.DefaultDatabricksPort
	DefaultWarehouseWait = job.DefaultWarehouseWait
	DefaultPollInterval  = 5 * time.Second
)

// Config is how to reach one Databricks workspace and SQL warehouse. Secrets
// are values here (resolved from the environment by FromConnection); Config
// never prints them (String, %v).
type Config struct {
	// Name is the connection's name, used in messages.
	Name string
	// Host is the workspace host name ("adb-123.4.azuredatabricks.net") or
	// an https:// URL. An http:// URL is accepted for local fakes in tests.
	Host string
	// Port is the HTTPS port (0: 443). A port in Host wins.
	Port int
	// HTTPPath is the SQL warehouse's HTTP path, /sql/1.0/warehouses/ID.
	HTTPPath string
	// Token is a personal access token; or ClientID and ClientSecret are a
	// service principal's OAuth machine-to-machine credentials.
	Token        string
	ClientID     string
	ClientSecret string
	// Catalog is the default catalog (optional); Verify checks its grants.
	Catalog string
	// WarehouseWait bounds EnsureWarehouse (0: 10 minutes).
	WarehouseWait time.Duration
	// Staging is the connection's staging location (optional): a volume
	// path or a bucket URL.
	Staging string

	// WarehouseProgress, if set, sees WarehouseReady's progress.
	WarehouseProgress func(WarehouseProgress)

	// PollInterval is the mean wait between warehouse state polls (0: 5s);
	// each wait is jittered.
	PollInterval time.Duration
	// Retry is how REST calls are retried (zero: DefaultRetry).
	Retry RetryPolicy
	// HTTPTransport replaces the HTTP transport (tests, proxies).
	HTTPTransport http.RoundTripper
}

// String describes the configuration without secrets.
func (c Config) String() string {
	auth := "token"
	if c.ClientID != "" {
		auth = "oauth-m2m client " + c.ClientID
	}
	return fmt.Sprintf("databricks connection %q (%s, %s, %s)", c.Name, c.Host, c.HTTPPath, auth)
}

// GoString is String, so %#v does not print secrets either.
func (c Config) GoString() string { return c.String() }

// FromConnection builds a Config from a configured connection, resolving its
// secrets from the environment (a missing variable is an errs.Auth error
// naming it).
func FromConnection(c *job.Connection) (Config, error) {
	if c.Type != job.ConnDatabricks {
		return Config{}, errs.Invalidf("connection %q is of type %q, not %s", c.Name, c.Type, job.ConnDatabricks)
	}
	cfg := Config{
		Name: c.Name, Host: c.Host, Port: c.Port, HTTPPath: c.HTTPPath, ClientID: c.ClientID,
		Catalog: c.Catalog, WarehouseWait: c.WarehouseWait, Staging: c.Staging,
	}
	var err error
	if c.ClientID != "" {
		if cfg.ClientSecret, err = c.ClientSecret.Resolve(); err != nil {
			return Config{}, err
		}
	} else if cfg.Token, err = c.Token.Resolve(); err != nil {
		return Config{}, err
	}
	return cfg, cfg.validate()
}

// validate checks what New needs; errors are errs.Invalid and name the field.
func (c *Config) validate() error {
	bad := func(field, format string, args ...any) error {
		return errs.Invalidf("connection %q: %s: %s", c.Name, field, fmt.Sprintf(format, args...))
	}
	if c.Host == "" {
		return bad("host", "required")
	}
	if _, err := c.baseURL(); err != nil {
		return bad("host", "%v", err)
	}
	if c.Port < 0 || c.Port > 65535 {
		return bad("port", "want 1-65535, got %d", c.Port)
	}
	if _, err := WarehouseIDFromPath(c.HTTPPath); err != nil {
		return bad("http_path", "%v", err)
	}
	switch {
	case c.Token != "" && (c.ClientID != "" || c.ClientSecret != ""):
		return bad("token", "use either token or client_id and client_secret, not both")
	case c.ClientID != "" && c.ClientSecret == "":
		return bad("client_secret", "required with client_id")
	case c.ClientID == "" && c.ClientSecret != "":
		return bad("client_id", "required with client_secret")
	case c.Token == "" && c.ClientID == "":
		return bad("token", "required (or client_id and client_secret)")
	}
	if c.WarehouseWait < 0 {
		return bad("warehouse_wait", "must not be negative")
	}
	return nil
}

// baseURL is the workspace's REST root: scheme://host[:port].
func (c *Config) baseURL() (*url.URL, error) {
	h := strings.TrimSpace(c.Host)
	if !strings.Contains(h, "://") {
		h = "https://" + h
	}
	u, err := url.Parse(h)
	if err != nil {
		return nil, fmt.Errorf("want a host name or https:// URL: %v", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("want a host name or https:// URL, got scheme %q", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("want a host name or https:// URL, got %q", c.Host)
	}
	if u.User != nil {
		return nil, fmt.Errorf("credentials in the host URL are not allowed")
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		return nil, fmt.Errorf("want a host without a path, got %q", c.Host)
	}
	out := &url.URL{Scheme: u.Scheme, Host: u.Host}
	if u.Port() == "" && c.Port != 0 && c.Port != DefaultPort {
		out.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(c.Port))
	}
	return out, nil
}

// Endpoint returns the host name, port and HTTP path the SQL driver
// connects to.
func (c *Config) Endpoint() (host string, port int, httpPath string) {
	u, err := c.baseURL()
	if err != nil {
		return c.Host, c.Port, c.HTTPPath
	}
	port = DefaultPort
	if p := u.Port(); p != "" {
		port, _ = strconv.Atoi(p)
	} else if u.Scheme == "http" {
		port = 80
	}
	return u.Hostname(), port, c.HTTPPath
}

func (c *Config) warehouseWait() time.Duration {
	if c.WarehouseWait <= 0 {
		return DefaultWarehouseWait
	}
	return c.WarehouseWait
}

func (c *Config) pollInterval() time.Duration {
	if c.PollInterval <= 0 {
		return DefaultPollInterval
	}
	return c.PollInterval
}

// WarehouseIDFromPath returns the warehouse id of an HTTP path
// /sql/1.0/warehouses/ID (or the older /sql/1.0/endpoints/ID).
func WarehouseIDFromPath(httpPath string) (string, error) {
	p := strings.TrimSuffix(httpPath, "/")
	for _, prefix := range []string{"/sql/1.0/warehouses/", "/sql/1.0/endpoints/"} {
		if id, ok := strings.CutPrefix(p, prefix); ok {
			if id == "" || strings.ContainsAny(id, "/?#% ") {
				break
			}
			return id, nil
		}
	}
	return "", fmt.Errorf("want a SQL warehouse HTTP path /sql/1.0/warehouses/ID, got %q", httpPath)
}
