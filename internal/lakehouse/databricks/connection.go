package databricks

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

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
	cfg.WarehouseProgress = warehouseLog(slog.Default(), c.Name)
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

// warehouseLog reports a warehouse cold start on log: every change of
// state, and otherwise every 15 seconds while the wait goes on.
func warehouseLog(log *slog.Logger, conn string) func(workspace.WarehouseProgress) {
	var mu sync.Mutex
	var last string
	var at time.Duration
	return func(p workspace.WarehouseProgress) {
		mu.Lock()
		defer mu.Unlock()
		if p.State == last && p.Elapsed-at < 15*time.Second {
			return
		}
		last, at = p.State, p.Elapsed
		log.Info("waiting for the SQL warehouse", "connection", conn, "progress", p.String())
	}
}
