// Package exportmetrics is the export.metrics job kind: it copies the
// platform's time-series points of one dimension and metric type into a
// lakehouse table with the fixed schema
//
//	dimension STRING, dimension_id STRING, dimension_type STRING, ts TIMESTAMP,
//	value DOUBLE, exported_ts TIMESTAMP
//
// (dimension_type is the metric type, exported_ts the time of the run that
// exported the point), in {prefix}_{account}_metrics unless `table` names
// it, as the Lytics "Metrics Export" integration does. The table is appended
// to, never dropped; files are staged as gzip CSV only.
//
// Settings (besides internal/flow/export.Common; format must be csv.gz):
// dimension (stream, audience or job; required); dimension_id (default all);
// metric_type (one valid for the dimension: stream events; audience size,
// added, removed; job rows, bytes, duration; required); lookback (0d, 7d,
// 14d, 30d, 60d or 90d, default 30d: the first run exports the points with a
// timestamp at or after the run's time minus it); account (names the table,
// default "default"); table. Without a schedule the job runs about every
// hour.
//
// # Invariants
//
//   - The cursor is the id of the last point read; points are read in id
//     order over all dimensions, so each point is read once provided a
//     store never makes a point visible behind an id a reader has seen.
//     SQLite (one writer at a time) keeps that; PostgreSQL's bigserial ids
//     do not promise it under concurrent writers (docs/exports/metrics.md).
//   - Points of another dimension, id or type, and on the first run points
//     older than the lookback, are skipped but still move the cursor; later
//     runs export every new point whatever its timestamp.
//   - A run is one load: the first run, which applies the lookback, commits
//     all or nothing, so "first run" is exactly "no cursor in the ledger".
//   - Exactly once through internal/flow/export: rows and cursor move
//     together through the load ledger.
package exportmetrics
