package databricks

import (
	"context"
	"strings"

	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/lakehouse/databricks/workspace"
)

// OpenConnection opens the lakehouse of a configured databricks connection
// (job.RegisterConnector(job.ConnDatabricks, databricks.OpenConnection)).
// Secrets are resolved from the environment by the workspace package.
func OpenConnection(ctx context.Context, c *job.Connection) (any, error) {
	cfg, err := workspace.FromConnection(c)
	if err != nil {
		return nil, err
	}
	client, err := workspace.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return FromWorkspace(ctx, client, Config{})
}

// FromWorkspace opens the lakehouse on a workspace client: the SQL
// endpoint (host, port, HTTP path, catalog) comes from the client's
// configuration; the rest of cfg tunes the driver.
func FromWorkspace(ctx context.Context, client *workspace.Client, cfg Config) (*Lakehouse, error) {
	return Open(ctx, workspaceConfig(client, cfg))
}

// workspaceConfig fills cfg's endpoint, catalog, transport and workspace
// from a workspace client's configuration.
func workspaceConfig(client *workspace.Client, cfg Config) Config {
	wc := client.Config()
	host, port, path := wc.Endpoint()
	if strings.HasPrefix(strings.TrimSpace(wc.Host), "http://") {
		host = "http://" + host // a local fake
	}
	cfg.Workspace = client
	cfg.Host, cfg.Port, cfg.HTTPPath = host, port, path
	if cfg.Catalog == "" {
		cfg.Catalog = wc.Catalog
	}
	if cfg.Transport == nil {
		cfg.Transport = wc.HTTPTransport
	}
	return cfg
}
