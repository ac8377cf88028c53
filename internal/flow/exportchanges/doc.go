// Package exportchanges is the export.audience_changes job kind: it copies
// the platform's audience enter/exit log for up to 10 audiences into one
// lakehouse table, {prefix}_seg_changes, with the fixed schema
//
//	{id_field} STRING, segment_slug STRING, timestamp TIMESTAMP, exit BOOLEAN
//
// (the first column is named after the chosen identifier field and holds
// the profile's value of it: the first, sorted, when it has several; NULL
// when it has none or the profile was deleted or merged away since), as
// the Lytics "Export Audience Changes" integration does. The table is
// appended to, never dropped.
//
// Settings (besides internal/flow/export.Common; format parquet, csv or
// csv.gz, default parquet): audiences (1 to 10 slugs, each must exist when
// the job is created); id_field (an identifier field of the registry,
// default email); table (default {prefix}_seg_changes); backfill (at the
// job's first run, an enter row for every current member instead of the
// log's history); flush_rows (rows per load, default 100,000). Near real
// time: the job runs every 5 minutes unless it has a schedule, and within
// a run a load is committed every flush_rows changes (or after 5 minutes
// of staging), so a backlog lands in loads of at most flush_rows rows.
//
// # Invariants
//
//   - The cursor is the (time, id) of the last change read; the log is
//     read in that order and never grows behind a cursor, so each change
//     is read once. Changes of other audiences are skipped but move the
//     cursor.
//   - Without backfill the first run starts at the beginning of the log.
//     With backfill the first run takes the end of the log as its
//     position, writes an enter row for every member at that position (see
//     Flow.backfill for why paging the members gives exactly that set),
//     and commits the rows as one load with the cursor at the position and
//     the position recorded (Cursor.Backfill); the changes follow from
//     there. A backfill that crashes before its load commits is redone
//     from a new position; one that committed is never redone.
//   - Identifier values are looked up by profile ID when the change is
//     exported (profiles read in ID ranges, cached for the run).
//   - Exactly once through internal/flow/export: rows and cursor move
//     together through the load ledger.
package exportchanges
