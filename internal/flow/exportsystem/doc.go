// Package exportsystem is the export.system_events job kind: it copies the
// platform's system events (the audit log of what Lakeport does) into one
// lakehouse table with the fixed schema
//
//	id BIGINT, date TIMESTAMP, aid STRING, user_id STRING, subject_type STRING,
//	subject_id STRING, verb STRING, notes STRING, related STRING
//
// (aid is the account id of the actor, related the other subjects as a JSON
// object; empty strings are NULL), in {prefix}_system_event_export_{account}
// unless `table` names it, as the Lytics "System Events Export" integration
// does. The table is appended to, never dropped.
//
// Settings (besides internal/flow/export.Common, whose format defaults to
// parquet here and file_rows to 100,000): account (names the table, default
// "default"; it does not filter); table; start_date (default 30 days before
// the first run) and end_date (yyyy-mm-dd or RFC 3339, on the event's time,
// end exclusive); subject_type and subject_id (exact matches); load_rows
// (events per load, default 10,000,000). Without a schedule the job runs
// about every hour.
//
// # Invariants
//
//   - The cursor is the (time, id) of the last system event read; the audit
//     log is read in that order and never grows behind a cursor, so each
//     event is read once.
//   - The default start date is fixed in the cursor by the first run, so it
//     does not slide with later runs.
//   - Events outside the dates or not matching the subject filters are
//     skipped but still move the cursor; a changed filter applies to events
//     read afterwards.
//   - Exactly once through internal/flow/export: rows and cursor move
//     together through the load ledger.
package exportsystem
