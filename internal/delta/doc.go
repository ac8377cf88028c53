// Package delta is Lakeport's Delta Lake kernel: log replay, snapshots, scans
// and change data feed, read through internal/blob.
//
// Invariants:
//   - The kernel knows nothing of jobs, flows or platforms.
//   - It fails closed: an unknown reader feature, a broken log (missing
//     protocol or metadata, non-contiguous versions) or an unreadable file is
//     an error naming the table and the reason, never silently skipped data.
//   - Data leaves the kernel as Arrow record batches, streamed; memory is
//     bounded by the batch size, not by the table size.
//   - A data file enters a table only through a commit. Table.AppendParquet
//     and OverwriteParquet commit Parquet files a caller placed under the
//     table root as they are, with statistics from their footers, only when
//     the table needs nothing beyond the files (no partitions, column
//     mapping, constraints or unknown writer features) and each file's
//     columns are the table's; otherwise ErrNotAdoptable, and nothing is
//     committed. They never delete the caller's files.
package delta
