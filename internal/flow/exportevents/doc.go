// Package exportevents is the export.events job kind: it copies the
// platform's event streams into lakehouse tables with the fixed schema
//
//	id BIGINT, event_ts TIMESTAMP, receive_ts TIMESTAMP, stream STRING, data STRING
//
// (data is the whole event as JSON), one table per stream
// ({prefix}_events_{stream}) or all streams in {prefix}_events_all, as the
// Lytics "Export Events" integration does. The tables are appended to, never
// dropped.
//
// Settings (besides internal/flow/export.Common): streams (default all,
// including streams that appear later); single_table; fields (the data
// fields kept, default all); max_events (a cap over the job's lifetime);
// start_date and end_date (yyyy-mm-dd or RFC 3339, on the event time, end
// exclusive); from_now_on (only events received after the first run);
// load_rows (events per load, default 10,000,000). The schedule is the
// job's: daily, weekly or monthly at a time of day in a time zone, or about
// every 15 minutes.
//
// # Invariants
//
//   - The cursor is, per stream, the (receive time, id) of the last event
//     read; streams are read in that order, so each event is read once
//     (platform.Store.ReadStream never inserts behind a cursor).
//   - Events outside the dates or beyond max_events are skipped but still
//     move the cursor; a changed filter applies to events read afterwards.
//   - Exactly once through internal/flow/export: rows and cursor move
//     together through the load ledger.
package exportevents
