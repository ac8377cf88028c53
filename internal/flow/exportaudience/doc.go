// Package exportaudience is the export.audience job kind: it copies one
// audience's current members into a lakehouse table,
// {prefix}_user_{audience_slug}, that each run drops and re-creates with
// the whole audience (a full replace), as the Lytics "Export Audience"
// integration does. One row per member, one column per profile field:
//
//	{identifier field} STRING    the profile's value (the first, sorted, when it has several)
//	{string field}     STRING
//	{number field}     DOUBLE
//	{boolean field}    BOOLEAN
//	{datetime field}   TIMESTAMP
//	{string_array}     STRING    as JSON (every non-scalar value is JSON text)
//
// Rows are staged as CSV (or gzip CSV) and the table is created from the
// files; the column types come from the field registry and are handed to
// the load with the files, so the CSV text is parsed as those types rather
// than guessed from its first row (a phone number or a zip code would read
// as a number, and a later value that is not one would fail the load).
//
// Settings (besides internal/flow/export.Common; format csv or csv.gz,
// default csv): audience (its slug; required, must exist when the job is
// created); fields (the profile fields exported, in that order; each must
// be in the registry; default: the identifier fields and then the
// attributes the current members have, each sorted by name, or, for an
// empty audience, the registry's identifier fields); table (default
// {prefix}_user_{audience_slug}, sanitized by export.TableSlug). The
// schedule defaults to every 24 hours; `once` exports a single time.
//
// # Invariants
//
//   - Each run is one load in replace mode: the table holds exactly the
//     members of one read of the audience (paged by profile ID); members
//     who left are gone, fields that appeared are new columns. An empty
//     audience still replaces the table (with no rows).
//   - The ledger's cursor records the load's columns: a load an earlier
//     run left pending is finished with the columns it was staged with
//     before this run reads the audience again.
//   - Exactly once through internal/flow/export: a crash anywhere leaves
//     either the old table or the new one (the local driver builds the new
//     table aside and swaps directories), never a mix, and the rerun
//     finishes or redoes the load.
package exportaudience
