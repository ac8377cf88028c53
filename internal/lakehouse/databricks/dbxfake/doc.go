// Package dbxfake is a fake Databricks workspace for tests: an HTTP server
// on 127.0.0.1 that the real databricks-sql-go driver (v1.14) and the real
// databricks-sdk-go (v0.182) talk to as if it were a workspace with one SQL
// warehouse. It records every request and injects faults.
//
// # What it serves
//
// REST (JSON, Databricks error bodies {"error_code","message"}):
//
//   - GET /.well-known/databricks-config, GET /oidc/.well-known/oauth-authorization-server,
//     POST /oidc/v1/token (grant_type=client_credentials; client id and secret
//     in HTTP Basic or the form) — no auth needed.
//   - GET /api/2.0/preview/scim/v2/Me
//   - GET /api/2.0/sql/warehouses, GET /api/2.0/sql/warehouses/{id},
//     POST .../{id}/start, POST .../{id}/stop, GET /api/2.0/permissions/warehouses/{id}
//   - GET /api/2.1/unity-catalog/catalogs[/{name}], /schemas?catalog_name=,
//     /schemas/{full_name}, /tables?catalog_name=&schema_name=,
//     /tables/{full_name}, /tables/{full_name}/exists,
//     /permissions/{catalog|schema|table}/{full_name} (grants),
//     /effective-permissions/{catalog|schema|table}/{full_name}
//   - Files API: PUT (?overwrite=true), GET, HEAD, DELETE /api/2.0/fs/files{path};
//     PUT, GET (listing), HEAD, DELETE /api/2.0/fs/directories{path}
//   - GET /api/2.0/connector-service/feature-flags/... (the SQL driver's
//     telemetry switch; always off)
//
// SQL: POST HTTPPath speaks the Thrift binary protocol over HTTP
// (TCLIService: OpenSession, CloseSession, GetInfo, ExecuteStatement,
// GetOperationStatus, GetResultSetMetadata, FetchResults, CancelOperation,
// CloseOperation). Results are Arrow only (ARROW_BASED_SET): the metadata
// carries the TTableSchema and arrowSchema (the IPC schema message), each
// TSparkArrowBatch.batch the IPC record-batch message(s) that follow it,
// LZ4-framed when the client sets canDecompressLZ4Result. Direct results
// (first page, and closeOperation when it holds every row) are on by default,
// pages hold at most the client's maxRows (SetPageRows lowers it),
// FETCH_NEXT paging sets hasMoreRows. Native parameters
// (TExecuteStatementReq.parameters, field 1288) reach the handler as
// Query.Params. A statement the handler fails comes back as operation state
// ERROR_STATE with errorMessage, displayMessage and sqlState (from a
// *SQLError, else 42000): the driver returns it as an error implementing
// errors.DBExecutionError whose SqlState() is that state. Every request on
// HTTPPath needs a valid bearer token (else 401); while the warehouse is not
// RUNNING it gets 503 (and a STOPPED warehouse starts, as serverless ones
// do); with DenyWarehouse(true) it gets 403.
//
// The Thrift code is generated from internal/tcli/TCLIService.thrift (a
// trimmed HiveServer2 IDL plus the Databricks fields the driver uses) with
// Debian's thrift-compiler: `go generate ./internal/lakehouse/databricks/dbxfake/internal/tcli`.
//
// # Connecting
//
// The SQL driver over plain HTTP (what Connector does):
//
//	s := dbxfake.New(t)
//	s.AddToken("dapi-test")
//	s.HandleSQL(func(q dbxfake.Query) (*dbxfake.Result, error) { ... })
//	host, port := s.HostPort()
//	c, err := dbsql.NewConnector(
//		dbsql.WithServerHostname("http://"+host), // "http://" selects plain HTTP
//		dbsql.WithPort(port),
//		dbsql.WithHTTPPath(dbxfake.HTTPPath),
//		dbsql.WithAccessToken("dapi-test"),
//		dbsql.WithTransport(s.Transport()), // optional, see below
//		dbsql.WithRetries(4, 100*time.Millisecond, 2*time.Second), // optional, faster tests
//	)
//	db := sql.OpenDB(c)
//
// or simply db := s.DB("dapi-test", moreOpts...) / sql.OpenDB(s.Connector(token)),
// or the DSN s.DSN(token, "maxRows=100") =
// "http://token:TOKEN@127.0.0.1:PORT/sql/1.0/warehouses/abc123fake?maxRows=100"
// with sql.Open("databricks", dsn).
//
// Transport is needed by nothing but makes the driver's telemetry
// feature-flag call (sent to https://127.0.0.1/..., the bare host name) land
// on the fake instead of port 443. The driver's own OAuth M2M
// (WithClientCredentials) insists on https and cannot reach the fake; use
// dbsql.WithExternalToken / WithTokenProvider with a token minted by the SDK
// (s.SDKConfigM2M(id, secret).GetToken()) instead.
//
// Arrow results: conn.Raw, then rows.(dbsqlrows.Rows).GetArrowIPCStreams
// (each stream is the schema message plus one batch; read it with arrow-go
// v18 ipc.NewReader) or GetArrowBatches (arrow/go/v12 records).
//
// The SDK:
//
//	w, err := databricks.NewWorkspaceClient((*databricks.Config)(s.SDKConfig("dapi-test")))
//	w, err := databricks.NewWorkspaceClient((*databricks.Config)(s.SDKConfigM2M(clientID, secret)))
//
// SDKConfig is config.Config{Host: s.URL(), Token: token, AuthType: "pat"}
// and SDKConfigM2M {Host, ClientID, ClientSecret, AuthType: "oauth-m2m"},
// both with a no-op loader so DATABRICKS_* variables and ~/.databrickscfg
// are ignored. Any config with Host: s.URL() works.
//
// # Faults
//
// Inject(Fault{Match, Kind, RetryAfter, Times}) fails the next Times matching
// requests (MatchOp, MatchSQL, MatchPathPrefix help). Status503, Status429
// and ExpiredToken answer without handling the request (the statement does
// not run). ResetConnection handles the request — the statement runs, the
// file is stored — and then resets the TCP connection (RST). TruncateResult
// cuts the last Arrow batch of a page in half while its rowCount still
// announces every row, and ends the result (hasMoreRows=false): the driver's
// Rows.Next fails with an IPC "unexpected EOF", and so does reading the IPC
// stream; on a file download the body stops halfway through Content-Length.
//
// What the real clients do with them (tested here): the driver retries 503
// and 429 (honouring Retry-After, in whole seconds) on every call, retries
// connection errors except on ExecuteStatement (so a reset COPY INTO is an
// error after the statement ran once; Executed shows it), and reports 401 as
// an error containing "401". The SDK retries 429 and 503 (its own backoff,
// about 1 s; it ignores Retry-After), surfaces a reset when it cannot rewind
// the request body, and maps 401 to apierr.ErrUnauthenticated.
//
// Requests() lists everything received with its Op ("thrift:ExecuteStatement",
// "rest:GET /api/2.0/sql/warehouses/abc123fake"), SQL, Authorization header,
// injected Fault and answered Status; Executed() the statements that reached
// the handler.
//
// Every statement goes to the handler, including the driver's own: Ping
// (sql.DB.Ping, and the pool's validity checks) runs "select 1".
//
// The handler runs on server goroutines (concurrently for concurrent
// clients). The fake takes its own reference to the returned record batches
// (Retain) and releases it when the statement is closed, so a handler may
// release its references once it has returned.
package dbxfake
