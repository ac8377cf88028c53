// Package importchanges is the import.changes job kind: it follows a Delta
// table's change data feed into platform profiles and events, as the
// Insider One Databricks integration does.
//
// Settings: catalog, schema, table (one table per job); identifier
// {column, field}: the column identifying a profile and the platform
// identifier field it maps to; attributes {column: attribute}: columns mapped
// to predefined platform attributes; events {name_column, timestamp_column,
// parameters_column, stream}: rows with an event name become events of the
// stream (default databricks_{catalog}_{schema}_{table}); delete_profiles
// (default false); batch_size (change rows per platform write, default
// 5000); query_timeout (default 15m). The schedule (hourly, daily at a time,
// or any other) is the job's.
//
// # Rules checked when the job is created (and at every run)
//
//   - The table is a Delta table, not a view, with the change data feed on;
//     each failing rule is an error on settings.table saying how to fix it
//     (ALTER TABLE ... SET TBLPROPERTIES (delta.enableChangeDataFeed = true)).
//   - The identifier field is a platform identifier field; the identifier
//     column is a string or integer column.
//   - Every mapped attribute is predefined in the platform's field registry
//     (never created on the fly) and its type matches the column's:
//     VARCHAR/TEXT/STRING -> string; TIMESTAMP/TIMESTAMP_NTZ/DATE ->
//     datetime; numeric -> number; BOOLEAN -> boolean; ARRAY<STRING> ->
//     string_array. Each failure names settings.attributes.COLUMN.
//   - Event columns: the name a string, the timestamp a time, the
//     parameters a struct, a map<string,...> or a string holding a JSON
//     object.
//
// # Invariants
//
//   - First run: the snapshot at the current version is loaded (every row
//     an insert); afterwards the change feed is followed from that version.
//     Inserts and update postimages upsert the profile (a NULL column
//     removes its attribute) and, if the row has an event name, append its
//     event; update preimages are ignored; deletes are ignored unless
//     delete_profiles is on, then they delete the profile.
//   - Exactly once: every platform write carries the checkpoint (phase,
//     commit version, rows of the next version applied, or rows of the
//     snapshot applied) in the same transaction, compare-and-set. The
//     change feed and unordered snapshot scans come in a stable order, so
//     a run that died mid-version resumes at the exact row.
//   - A write never holds a profile deletion followed by an upsert of the
//     same identifier (the store applies deletes after upserts): the write
//     is cut before such an upsert.
//   - Purchase rules: a "purchase" event needs the parameters
//     event_group_id, currency, unit_sale_price and quantity; a
//     "cart_page_view" event the first three. An event that breaks them,
//     has no timestamp or malformed parameters is not written; the row's
//     profile still is. Rows without an identifier, or with a value that is
//     not valid for the field or the attribute type, are not applied.
//     All of these are counted in Result.Notes with examples, never dropped
//     silently.
//   - When the change feed no longer reaches back to the checkpoint (the
//     range was vacuumed or its log expired), the job re-snapshots the
//     table at its current version and applies the difference: upserts
//     change only profiles whose attributes differ; events are written only
//     for rows whose event time is after the latest event already written
//     (an event with an older time that arrived while the feed was lost
//     cannot be told from an imported one, and is not re-sent); with
//     delete_profiles on, profiles holding a value of the identifier field
//     that the table no longer holds are deleted (the table is taken as the
//     source of truth for that field). Then it follows the feed again. The
//     same happens when the version a first snapshot was pinned to was
//     vacuumed before the snapshot finished loading, and when the table's
//     version is behind the checkpoint (the table was dropped and created
//     again).
//   - Result.Rows counts the profile upserts and deletions written;
//     Result.Bytes the bytes of the events.
package importchanges
