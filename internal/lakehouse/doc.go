// Package lakehouse is the port to a lakehouse: browse catalogs, describe
// tables, scan a pinned version (ordered by a watermark column or in a
// stable order), follow the change feed, and load staged files. Flows use
// only this interface; drivers implement it (local: Delta tables in a
// directory, through internal/delta; later Databricks SQL and Unity
// Catalog). Every driver passes lakehousetest.Run.
//
// # Invariants
//
//   - Names from users are validated before use: catalog, schema and table
//     names are 1-255 ASCII letters, digits, '_' and '-' (ValidateName);
//     column names are 1-255 characters without control characters
//     (ValidateColumnName). Names reach SQL only quoted (QuoteIdent,
//     TableName.String) and values only as typed literals or parameters;
//     no statement is built by pasting user text.
//   - A scan reads one pinned version (ScanRequest.Version), so a run sees a
//     consistent snapshot however long it takes and whatever commits land.
//   - An ordered scan returns the rows with a non-NULL order column strictly
//     after Order.After (and within From/Until) sorted by (column,
//     tie-breaker), NULL tie-breakers first. Rows with equal keys are
//     adjacent, so a reader that commits only whole key groups can resume
//     with After = the last committed position and never lose or repeat a
//     row, even when the tie-breaker is not unique. Memory is bounded by the
//     driver (see local's windows), never by the table size.
//   - An unordered scan of a version returns its rows in the same order
//     every time, so Offset resumes it exactly.
//   - The change feed comes in commit-version order, in the same order for
//     the same version whatever the range's end; a range it no longer
//     covers is a *ChangesUnavailableError (errors.Is ErrChangesUnavailable),
//     from Changes or from Rows.Next, never silently fewer rows.
//   - Load commits all its files in one table commit tagged with its key;
//     a key already committed (same App, same or lower Version) is a no-op.
//   - A pinned version whose files or log were cleaned up is a
//     *VersionUnavailableError (ErrVersionUnavailable), never a partial read.
//   - Errors are classified: ErrInvalid (never retried), ErrNotFound,
//     ErrChangesUnavailable, ErrVersionUnavailable, ErrUnsupported; they
//     name the table and column. Invalid and not-found errors match
//     errs.ErrInvalid and unsupported ones errs.ErrUnsupported, so the job
//     runner never retries them.
package lakehouse
