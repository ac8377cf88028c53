// Package job is Lakeport's job engine: job specs read from lakeport.yaml,
// schedules, the runner (leases, retries, run history, system events,
// metrics, failure webhooks) and the scheduler behind `lakeport serve`.
// Each job kind lives in its own internal/flow/<kind> package and
// registers a Factory (Register); the engine knows nothing of what a flow
// moves. Durable state sits behind Store (package jobstore: SQLite or
// PostgreSQL; conformance suite in jobtest).
//
// # Configuration
//
//	platform: sqlite://.lakeport/platform.db   # or postgres://user:${PGPASSWORD}@host/db
//	state: sqlite://.lakeport/state.db
//	connections:
//	  lake: {type: local, path: ./lakehouse}
//	  prod:
//	    type: databricks
//	    host: adb-1234567890123456.7.azuredatabricks.net
//	    http_path: /sql/1.0/warehouses/abc123
//	    token: ${DATABRICKS_TOKEN}
//	jobs:
//	  - name: web-events
//	    kind: import.table
//	    connection: lake
//	    schedule: {frequency: daily, time_of_day: "02:30", time_zone: Europe/Amsterdam}
//	    notify: https://hooks.example.com/lakeport/${HOOK_TOKEN}
//	    retries: 3
//	    settings: {catalog: main, schema: web, table: events, timestamp_column: ts}
//
// # Invariants
//
//   - Validation names the field. Every configuration problem is a
//     FieldError whose path locates it in the file
//     (`jobs[2].schedule.time_of_day: want HH:MM`); unknown keys are errors,
//     also inside a kind's settings (Spec.DecodeSettings). All problems of a
//     file are reported at once, on one line.
//   - Secrets are references. A credential is written `${NAME}` and read
//     from the environment when used (Secret.Resolve); a literal secret in
//     the file is an error. Secret and EnvString print, log, and marshal
//     only the reference, so definitions in the state store, logs and API
//     responses never hold a value; error messages pass through
//     Config.Redact before they are stored, sent or printed.
//   - One run at a time per job, across processes. A run holds the job's
//     lease (owner + expiry in the state store), renewed every third of its
//     TTL; a run whose lease is lost is stopped. A schedule slot that ran
//     already (elsewhere) is not run again.
//   - Retry in one place. Only the runner retries, and only errors that
//     errs.Classify calls Transient or Conflict, with jittered exponential
//     backoff honouring a Retry-After hint; invalid input, unsupported
//     features, auth failures and unknown errors fail the run at once. All
//     attempts of a run share its sequence number (Run.Seq), so a flow's
//     idempotency token (a Delta txn version, a staged file name) is stable
//     across them.
//   - The engine never touches a flow's checkpoint. A flow moves its
//     checkpoint with its output (in the platform store's transaction, a
//     Delta txn, or by compare-and-set in Run.Checkpoints after a durable
//     write); a failed or canceled run therefore leaves it where it was.
//   - Every run is recorded: run history (start, end, status, rows, bytes,
//     attempts, error and its kind, notes) in the state store; system events
//     (started, then finished or failed) and metrics (rows, bytes, duration)
//     in the platform. A failed run POSTs a JSON Notification to the job's
//     webhook. Bookkeeping failures are logged, never turn a success into a
//     failure.
//   - Schedules are wall-clock in a time zone and explicit about daylight
//     saving: a time in the spring-forward gap fires at the end of the gap,
//     a time in the fall-back overlap fires once, at its first occurrence;
//     `every` and hourly schedules follow elapsed time. Missed slots (the
//     server was down) collapse into one run. A canceled run (the server
//     stopped) leaves its slot due; a failed one consumes it.
//   - Time is injected (Clock): no engine decision reads the wall clock
//     directly, so tests drive time.
package job
