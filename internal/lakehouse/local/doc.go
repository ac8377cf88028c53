// Package local is the lakehouse driver for a directory of Delta tables
// laid out as ROOT/catalog/schema/table, read and written through
// internal/delta. Catalogs and schemas are directories; a table is a
// directory with a _delta_log. There are no views.
//
// # Ordered scans in bounded memory
//
// A watermark import needs a table's rows after a position, sorted by
// (timestamp, tie-breaker). Sorting the table in memory is not an option
// (10M rows), and Delta files are not sorted. The driver cuts the key range
// into consecutive half-open windows [a, b) and, window by window, reads
// the rows with a range predicate (the kernel skips every file whose
// min/max statistics cannot overlap the window), sorts them in memory and
// emits them. Windows are chosen from the files' statistics: each file
// contributes its row count spread evenly over its [min, max]; a window
// ends where the estimate reaches Options.WindowRows (default 1 Mi rows).
// On an append-mostly event table (files cover successive time ranges)
// windows follow the files and each file is read about once; an
// incremental run after a watermark only touches files whose max lies past
// it, so its cost follows the new rows, not the table.
//
// Statistics are only a plan. If a window holds more than twice the target
// (skewed data, files without statistics, wide ranges) the read stops, the
// rows read are dropped and the window is split at a key taken from them
// (the target-th smallest), then read again; without any statistics this
// finds windows from the data alone. A window that spans a single key
// value cannot be split and is held whole: memory is bounded by
// 2 × WindowRows or by the largest number of rows sharing one key,
// whichever is larger. Correctness never depends on statistics: the first
// window is open below, the last open above, windows are contiguous, and
// every row is filtered exactly by the kernel's predicate, so each row with
// a non-NULL key in the range is returned exactly once, in order. Windows
// whose rows arrive already sorted are not permuted.
//
// # Other invariants
//
//   - Unordered scans stream files in path order (the snapshot's order),
//     stable for a version, so an offset resumes exactly.
//   - The change feed is the kernel's (commit order; per commit its change
//     data files or its adds and removes in log order); kernel
//     CDFUnavailableError becomes lakehouse.ChangesUnavailableError.
//   - Load commits staged files with a Delta txn action (appId = key.App,
//     version = key.Version). Parquet files the table can take as they are
//     (delta.Table.AppendParquet; append, overwrite and replace) are
//     hard-linked into the table directory under fresh part-NNNNN-<uuid>-c000
//     names (copied when the staging area is a bucket or another file
//     system) and adopted without being re-read; a link is safe because
//     staged files are written whole under a temporary name and renamed,
//     never rewritten in place. Otherwise (CSV, a partitioned or
//     column-mapped table, a file whose columns differ) the rows are read
//     and written again through the Delta writer. The staged files are left
//     for the export to delete; placed files no commit took are removed
//     (after a crash, vacuum removes them).
//   - Names are validated before they touch the file system, so no name
//     can escape the root directory.
package local
