// Package databricks is the lakehouse driver for a Databricks SQL warehouse
// and Unity Catalog: lakehouse.Lakehouse on the official Go driver
// (github.com/databricks/databricks-sql-go v1.14.0) for SQL, and the
// workspace package (REST through databricks-sdk-go) for browsing, the
// warehouse's cold start and authentication.
//
// # Invariants
//
//   - Browsing (Catalogs, Schemas, Tables) is Unity Catalog REST only and
//     never wakes the warehouse. Describe adds the current version with
//     DESCRIBE HISTORY, so it may. Every SQL session starts with
//     Workspace.WarehouseReady (bounded wait, Retry-After honoured).
//   - Every statement is built in sql.go by pure functions with a golden
//     file in testdata/. Names are validated (lakehouse.ValidateName,
//     ValidateColumnName) and quoted with backquotes (lakehouse.QuoteIdent);
//     values from users are typed named parameters (:after_key BIGINT ...).
//     Where Databricks SQL takes no parameter (VERSION AS OF, OFFSET,
//     table_changes' table name, COPY INTO's FROM and FILES, DDL options,
//     TBLPROPERTIES) the value is an int64 rendered by strconv, a validated
//     name, or an escaped string literal of a checked value.
//   - Timestamps are compared as UTC instants: the session time zone is
//     UTC, timestamp bounds are cast from RFC 3339 UTC text, timestamp_ntz
//     bounds from zone-less text; result timestamps are labelled UTC.
//   - A scan reads one pinned version (VERSION AS OF). Its rows come as
//     Arrow: the driver's IPC streams (rows.GetArrowIPCStreams, Arrow v12
//     on the driver's side) are decoded with arrow-go v18's IPC reader, so
//     no v12 type reaches Lakeport, and re-cut to the requested batch size.
//   - A result never ends silently short: before the rows, the same
//     snapshot's COUNT(*) with the same filter is read (exact, because the
//     version is pinned), and a stream that ends with fewer rows — or
//     brings more — fails with a transient error. The driver's IPC API
//     does not expose the server's per-batch row counts, hence the count.
//   - Ordered scans: WHERE key IS NOT NULL AND (key > :after_key OR (key =
//     :after_key_eq AND tie > :after_tie)) AND key >= :from_key AND key <=
//     :until_key ORDER BY key, tie NULLS FIRST — one statement, streamed by
//     the driver page by page (FetchRows per page), so memory is one page
//     plus one batch, whatever the table size.
//   - Unordered scans are stable for a version: ORDER BY
//     _metadata.file_path, _metadata.row_index (a version's files never
//     change; this works for every column type, unlike ORDER BY all
//     columns, which cannot sort maps and would cost a sort of the whole
//     row), and Offset is OFFSET n.
//   - The change feed is table_changes('`c`.`s`.`t`', :start_version,
//     :end_version) ordered by _commit_version, _change_type, then every
//     sortable column, so a range reads the same rows in the same order
//     each time. The end must not pass the latest version (DESCRIBE
//     HISTORY), else the request is invalid. Change data feed off, a
//     vacuumed change file, a cleaned-up log (DELTA_MISSING_CHANGE_DATA,
//     DELTA_CHANGE_DATA_FILE_NOT_FOUND, DELTA_FILE_NOT_FOUND*,
//     DELTA_LOG_FILE_NOT_FOUND, VERSION_NOT_FOUND, "cannot time travel")
//     become *lakehouse.ChangesUnavailableError; in a scan the same classes
//     are a *lakehouse.VersionUnavailableError (a version past the latest
//     is invalid input).
//   - Errors are classified once (errors.go): not-found classes become
//     *lakehouse.NotFoundError; SQLSTATE 42/22/23 and PARSE_, UNRESOLVED_,
//     INVALID_ classes are invalid; permission classes, HTTP 401/403 and
//     expired tokens are errs.Auth; concurrent-modification classes are
//     errs.Conflict; UNSUPPORTED_ and 0A000 unsupported; HTTP 429/502/503/504
//     (after the driver's own retries, which honour Retry-After), connection
//     errors and truncated results are errs.Transient with the driver's
//     Retry-After hint. A classifier is registered with errs.Register.
//   - Driver telemetry is off: v1.14.0 has no connector option for it, so
//     the driver's HTTP transport is wrapped and refuses its feature-flag
//     lookup and /telemetry-ext export locally (the driver then treats
//     telemetry as disabled); nothing about queries leaves the process.
//
// # Loads
//
// Load stages nothing itself: the files are already in the staging area (a
// bucket via internal/blob, or a Unity Catalog volume via the Files API),
// and COPY INTO reads them at Staging.Location(name). Files are grouped by
// directory (COPY INTO's FILES are relative to FROM) and in chunks of at
// most 1,000 (MaxCopyFiles). Formats: FILEFORMAT = PARQUET; CSV with
// 'header'; csv.gz adds 'compression' = 'gzip'. CSV into a table of known
// columns reads FROM (SELECT CAST(col AS type) AS col ... FROM 'dir'), so
// the files' text is parsed as the table's types; without known columns,
// 'inferSchema'. A table created from the data is a placeholder (CREATE
// TABLE ... USING DELTA without columns) loaded with 'mergeSchema' in
// FORMAT_OPTIONS and COPY_OPTIONS, the documented way; with
// LoadRequest.Schema it is created with those columns.
//
// The ledger: the table property lakeport.load.<App> holds the highest
// Key.Version loaded, written by ALTER TABLE ... SET TBLPROPERTIES after
// the data and read (SHOW TBLPROPERTIES) before every load: a key at or
// below it is a no-op (LoadResult.Skipped). The data and the ledger are
// separate commits, so every step is made safe to repeat instead:
//
//   - append: COPY INTO without 'force' skips files it already loaded into
//     the table, so a crash before the ledger, or a COPY INTO whose answer
//     was lost to a connection reset (the driver never retries
//     ExecuteStatement), is simply sent again and loads each file once;
//   - overwrite: TRUNCATE TABLE, then COPY INTO with 'force' (the files may
//     have been loaded before): a lost answer restarts at the TRUNCATE;
//   - replace (audience export): DROP TABLE, CREATE (schema or
//     placeholder), COPY INTO into the new table: a lost answer restarts at
//     the DROP.
//
// Staged file names are deterministic per run (the flows' rule), so a
// re-run stages the same names and COPY INTO recognises them. An
// alternative ledger — tagging commits with
// spark.databricks.delta.commitInfo.userMetadata and reading DESCRIBE
// HISTORY before a re-issue — was not used: SQL warehouses restrict which
// Spark confs a session may SET, and a property is one cheap read.
// LoadResult.Rows is the sum of COPY INTO's num_inserted_rows; after a
// re-issue it counts only what the last attempt inserted.
//
// DefaultStaging (export.StagingProvider) is the connection's `staging`
// setting through the workspace client: a /Volumes/... path (Files API) or
// a bucket URL (internal/blob). A local directory is refused: the
// warehouse, not Lakeport, reads the files.
//
// # Tests
//
// The tests run the production path — FromWorkspace/OpenConnection, the
// workspace client (SDK), database/sql and databricks-sql-go over Thrift —
// against dbxfake, whose SQL handler is a model warehouse (model_test.go)
// executing the driver's statements on local Delta tables. The conformance
// suite runs there (TestConformanceFake), and every fault dbxfake injects
// has a test asserting from its recorded requests (fault_test.go).
//
// The live conformance suite (lakehousetest.Run) runs against a workspace
// when DATABRICKS_HOST, DATABRICKS_HTTP_PATH and DATABRICKS_TOKEN (or
// DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET) are set.
package databricks
