package workspace

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/databricks/databricks-sdk-go/client"
	"github.com/databricks/databricks-sdk-go/config"
	"github.com/databricks/databricks-sdk-go/config/credentials"
	sdkauth "github.com/databricks/databricks-sdk-go/config/experimental/auth"
	"github.com/databricks/databricks-sdk-go/service/catalog"
	"github.com/databricks/databricks-sdk-go/service/files"
	"github.com/databricks/databricks-sdk-go/service/iam"
	"github.com/databricks/databricks-sdk-go/service/sql"
	"github.com/databricks/databricks-sql-go/auth"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/lakeport/lakeport/internal/errs"
)

// Client is one Databricks workspace reached through the SDK: its REST APIs
// (warehouses, Unity Catalog, Files) and the credentials the SQL driver
// shares. It is safe for concurrent use.
type Client struct {
	cfg         Config
	sdk         *config.Config
	warehouseID string

	warehouses *sql.WarehousesAPI
	catalogs   *catalog.CatalogsAPI
	schemas    *catalog.SchemasAPI
	tables     *catalog.TablesAPI
	grants     *catalog.GrantsAPI
	files      *files.FilesAPI
	me         *iam.CurrentUserAPI
}

// New returns a client for cfg. It does no I/O: credentials are checked on
// the first call (Verify checks them explicitly).
func New(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	base, _ := cfg.baseURL()
	id, _ := WarehouseIDFromPath(cfg.HTTPPath)
	sc := &config.Config{
		Host: base.String(),
		// Only this configuration counts: no DATABRICKS_* environment
		// variables, no ~/.databrickscfg profile.
		Loaders: []config.Loader{noLoader{}},
		// No /.well-known/databricks-config discovery: a workspace host
		// is all Lakeport is given.
		HostMetadataResolver: func(context.Context, string) (*config.HostMetadata, error) { return nil, nil },
		// One attempt per SDK request: the SDK's retry loop ignores
		// Retry-After, so Client.call retries instead. sdkTransport turns
		// the 429 and 503 answers the SDK would retry into errors it
		// passes through at once; for anything else it still deems
		// retryable (by message), a retry timeout of one second ends its
		// loop before its first backoff (at least 1.05s) with the first
		// error.
		RetryTimeoutSeconds: 1,
		HTTPTransport:       sdkTransport{transportOr(cfg.HTTPTransport)},
	}
	if cfg.ClientID != "" {
		sc.Credentials = &m2mCredentials{
			tokenURL: base.String() + "/oidc/v1/token",
			id:       cfg.ClientID,
			secret:   cfg.ClientSecret,
			client:   &http.Client{Transport: transportOr(cfg.HTTPTransport), Timeout: time.Minute},
		}
	} else {
		sc.Token = cfg.Token
		sc.Credentials = config.PatCredentials{}
	}
	dc, err := client.New(sc)
	if err != nil {
		return nil, errs.Invalidf("databricks connection %q: %v", cfg.Name, err)
	}
	return &Client{
		cfg: cfg, sdk: sc, warehouseID: id,
		warehouses: sql.NewWarehouses(dc),
		catalogs:   catalog.NewCatalogs(dc),
		schemas:    catalog.NewSchemas(dc),
		tables:     catalog.NewTables(dc),
		grants:     catalog.NewGrants(dc),
		files:      files.NewFiles(dc),
		me:         iam.NewCurrentUser(dc),
	}, nil
}

// Config returns the client's configuration.
func (c *Client) Config() Config { return c.cfg }

// WarehouseID is the id in the configured HTTP path.
func (c *Client) WarehouseID() string { return c.warehouseID }

// AuthType is "pat" or "oauth-m2m".
func (c *Client) AuthType() string {
	if c.cfg.ClientID != "" {
		return "oauth-m2m"
	}
	return "pat"
}

// Close releases the client (nothing today; present for symmetry).
func (c *Client) Close() error { return nil }

// SQLAuthenticator returns an authenticator for the SQL driver (pass it to
// dbsql.WithAuthenticator) that sets
// the same credentials as the REST calls: a PAT, or an OAuth token from the
// one cached token source, which re-mints tokens before they expire. Its
// errors are classified (an expired or rejected credential is errs.Auth).
func (c *Client) SQLAuthenticator() auth.Authenticator { return sqlAuth{c} }

type sqlAuth struct{ c *Client }

func (a sqlAuth) Authenticate(r *http.Request) error {
	if err := a.c.sdk.Authenticate(r); err != nil {
		return a.c.wrap("authenticate", classify(err))
	}
	return nil
}

func transportOr(t http.RoundTripper) http.RoundTripper {
	if t == nil {
		return http.DefaultTransport
	}
	return t
}

type noLoader struct{}

func (noLoader) Name() string                   { return "lakeport" }
func (noLoader) Configure(*config.Config) error { return nil }

// m2mCredentials is OAuth machine-to-machine authentication (client
// credentials at the workspace's /oidc/v1/token) with the SDK's token cache
// and token-endpoint retry (which honours Retry-After). It differs from the
// SDK's oauth-m2m strategy in one way: each token is treated as expiring a
// little early (a quarter of its lifetime, at most 30s), so a token is
// never sent in its last moments, when it could expire in flight. The cache
// also refreshes in the background from half-life on.
type m2mCredentials struct {
	tokenURL, id, secret string
	client               *http.Client
}

func (m *m2mCredentials) Name() string { return "oauth-m2m" }

func (m *m2mCredentials) Configure(context.Context, *config.Config) (credentials.CredentialsProvider, error) {
	cc := &clientcredentials.Config{
		ClientID: m.id, ClientSecret: m.secret, TokenURL: m.tokenURL,
		Scopes: []string{"all-apis"}, AuthStyle: oauth2.AuthStyleInHeader,
	}
	ts := sdkauth.TokenSourceFn(func(ctx context.Context) (*oauth2.Token, error) {
		t, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, m.client))
		if err != nil {
			return nil, fmt.Errorf("oauth-m2m token for client %s: %w", m.id, err)
		}
		t.Expiry = early(t.Expiry, time.Now())
		return t, nil
	})
	cached := sdkauth.NewCachedTokenSource(sdkauth.NewRetryingTokenSource(ts), sdkauth.WithAsyncRefresh(true))
	return credentials.NewOAuthCredentialsProviderFromTokenSource(cached), nil
}

// early moves a token's expiry forward by a quarter of its remaining
// lifetime, at most 30s. A zero expiry (never expires) stays zero.
func early(expiry, now time.Time) time.Time {
	if expiry.IsZero() {
		return expiry
	}
	ttl := expiry.Sub(now)
	if ttl <= 0 {
		return expiry
	}
	return expiry.Add(-min(ttl/4, 30*time.Second))
}
