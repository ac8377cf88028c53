// Package staging holds export files between the moment they are written
// and the moment a lakehouse load commits them: a local directory or a
// bucket (internal/blob), or, from the Databricks workspace package, a Unity
// Catalog volume.
//
// # Invariants
//
//   - A staged file is visible under its name only once its writer's Close
//     succeeded: a crash mid-write never leaves a truncated file that a load
//     could pick up (local files are renamed into place; object stores
//     commit on Close).
//   - Names are relative, '/'-separated and deterministic (the export flows
//     derive them from job, run and part), so re-staging after a crash
//     replaces a file rather than adding a second copy.
//   - Location(name) is what a warehouse reads (COPY INTO's FROM/FILES): a
//     local path, s3://bucket/key, gs://bucket/key, abfss://... or a
//     /Volumes/... path. It never carries credentials or query parameters.
//   - Deleting a missing file is not an error, so cleanup can be retried.
package staging
