// Package importtable is the import.table job kind: it imports the rows of
// a lakehouse table into a platform stream incrementally by a watermark on a
// timestamp column, as the Lytics "Import Table" integration does.
//
// Settings: catalog, schema, table; timestamp_column (orders the rows and
// selects those newer than the last import: timestamp, timestamp_ntz or
// date); record_timestamp_column (the event time, default the timestamp
// column); tie_breaker_column (default DefaultTieBreaker: a column named id,
// {table}_id, event_id, uuid or key); since ("yyyy-mm-dd HH:MM:SS UTC");
// stream (default databricks_{catalog}_{schema}_{table}, created on first
// write); batch_size (rows per platform write, default 10000);
// query_timeout (longest wait for one answer of the lakehouse, default 15m).
// The schedule (keep updated: frequency, time of day, time zone) is the
// job's, handled by the engine.
//
// # Invariants
//
//   - Each run reads one pinned table version (the latest when it starts),
//     in (timestamp, tie-breaker) order, strictly after the checkpoint.
//   - Exactly once: each platform write appends a batch of events and moves
//     the checkpoint (the last row's position) in the same transaction,
//     compare-and-set on the previous value. A crash or a failed write
//     leaves the platform at the previous write's state and checkpoint; the
//     next run resumes after it.
//   - A write is cut only between rows with different positions, so rows
//     sharing a (timestamp, tie-breaker) — or a timestamp, when there is no
//     tie-breaker — always land in the same write; the checkpoint therefore
//     means "every row up to here, none after" even when the tie-breaker is
//     not unique. A batch may exceed batch_size by such a group.
//   - Rows whose timestamp is NULL are never imported; every run counts
//     them at its version and reports the count (Result.Notes
//     "null_timestamp_rows") and logs a warning.
//   - A row that arrives with a timestamp at or before the watermark is not
//     imported (this is a watermark import, as in the integration it
//     reproduces); use the change data feed (import.changes) for tables
//     that change in place.
//   - The checkpoint names the table and the order columns; a job whose
//     settings point elsewhere refuses to run with an old checkpoint.
//   - Each event is the row as a JSON object (every column; timestamps as
//     RFC 3339 UTC) with the record timestamp as its event time.
package importtable
