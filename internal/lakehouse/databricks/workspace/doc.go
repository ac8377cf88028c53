// Package workspace is Lakeport's side of a Databricks workspace reached
// through the Databricks SDK for Go (databricks-sdk-go): connection settings
// and credentials, the SQL warehouse's cold start, Unity Catalog browsing,
// staging files in a Unity Catalog volume, `lakeport connection verify`,
// and the classification of the SDK's errors. The SQL driver
// (internal/lakehouse/databricks) uses a Client for all of this and runs
// only SQL itself.
//
// API:
//
//	cfg, err := workspace.FromConnection(conn)  // *job.Connection -> Config (secrets resolved)
//	c, err := workspace.New(ctx, cfg)            // no I/O
//	c.SQLAuthenticator()                         // for dbsql.WithAuthenticator
//	c.EnsureWarehouse(ctx, progress)             // or c.WarehouseReady(ctx)
//	c.Catalogs(ctx); c.Schemas(ctx, cat); c.Tables(ctx, cat, schema); c.Table(ctx, name)
//	c.VolumeArea("/Volumes/c/s/v/prefix"); c.Staging(ctx)
//	c.Verify(ctx)                                // login, warehouse, catalog
//	workspace.Classify                           // registered with errs.Register
//
// # Invariants
//
//   - Only the Config counts: the SDK is given no environment variables
//     (DATABRICKS_*), no ~/.databrickscfg profile and no host discovery, so
//     what `lakeport.yaml` says is what is used.
//   - One credential source per Client, shared by REST and SQL: a personal
//     access token, or an OAuth M2M token from the workspace's
//     /oidc/v1/token cached by the SDK's token cache. A token is treated as
//     expiring a quarter of its lifetime (at most 30s) early, and the cache
//     re-mints it in the background from half its lifetime, so a request
//     never carries a token about to expire. A token the workspace rejects
//     anyway (revoked, expired early) is errs.Auth, never retried.
//   - Retries happen in one place per call (Client.call): the SDK's own
//     retry loop is cut to a single attempt (it ignores Retry-After). A
//     transient failure (429, 5xx, a dropped connection) is retried at most
//     RetryPolicy.Attempts times with equal-jitter exponential backoff; a
//     Retry-After is a lower bound (plus up to a quarter of it as jitter, so
//     clients told the same thing spread out). A hint longer than
//     MaxRetryAfter, or a wait that would outlast ctx's deadline, ends the
//     call with a transient error carrying the hint, for the job runner.
//   - EnsureWarehouse reads the state through the SDK, starts a STOPPED
//     warehouse, and waits at jittered intervals, never longer than
//     warehouse_wait (default 10m): past it, an errs.Transient error names
//     the warehouse, its last state and the bound. Browsing, staging and
//     Verify never start the warehouse.
//   - Browsing is Unity Catalog REST only. Types are Lakeport's canonical
//     lower-case Databricks SQL types (ColumnType); a type Lakeport cannot
//     parse is an error naming the column, not a guess. Views (also
//     materialized and metric views) are lakehouse.KindView. Table's Version
//     is what Unity Catalog last recorded (delta.lastUpdateVersion, -1 when
//     absent) and may lag: never pin a scan to it.
//   - Every error a Client returns is classified (errs.Classify): 401/403
//     and token endpoint 4xx are Auth; 400/404 Invalid (404 on browsing is a
//     *lakehouse.NotFoundError); INVALID_STATE and 409 Conflict; 429/5xx
//     Transient with Retry-After; 501 Unsupported. Messages name the
//     connection and operation and never hold a secret.
//   - A volume staging area makes a file visible only when its writer's
//     Close succeeds (the bytes are buffered in a local temporary file and
//     uploaded in one PUT, retried from the start); Delete of a missing file
//     succeeds; List is sorted.
package workspace
