// Package datafile writes Delta Lake data files: Parquet files, split by
// partition values into Hive-style directories, with the per-file
// statistics Delta keeps in add actions. It is the data half of the Delta
// writer; package delta turns the returned Files into add (or cdc) actions
// and commits them. It does not import package delta.
//
// # Files and paths
//
// A file is written at
//
//	[<Dir>/][<col>=<value>/...]part-<seq>-<uuid>.c000.<codec>.parquet
//
// like Delta Spark (cdc-... under _change_data). <seq> is the writer's
// five-digit file counter, so Close returns files in a deterministic order.
// Partition directory values are the serialized partition values (see
// SerializePartitionValue; a timestamp with a zone is shown as
// "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC) with Spark's Hive path escaping
// (control characters and "#%'*/:=?\{[]^ become %XX); null and "" are
// __HIVE_DEFAULT_PARTITION__. File.Key is the blob key; File.Path is that
// key URL-encoded as Hadoop's Path.toUri does (a literal "%" in a directory
// name becomes %25, a space %20; non-ASCII text is kept), which is what the
// log holds: url.PathUnescape(Path) == Key.
//
// # Parquet
//
// Files are streamed to the bucket (blob.Bucket.NewWriter; an object is
// visible only once complete) with arrow-go's pqarrow; a file is never held
// whole in memory. Partition columns are not stored. Timestamps are INT64
// TIMESTAMP(MICROS) with isAdjustedToUTC true for a zone (Delta timestamp)
// and false without (timestamp_ntz); other units are converted to
// microseconds (nanoseconds truncated toward zero). Decimals are INT32,
// INT64 or FIXED_LEN_BYTE_ARRAY by precision, like Spark. Lists use the
// standard three-level form ("list"/"element"), maps "key_value".
// "PARQUET:field_id" field metadata (column mapping id mode) becomes the
// Parquet field id, nested fields included. Data pages are V1 with PLAIN,
// dictionary and RLE encodings only, which every Spark and Databricks
// reader handles. Dictionary encoding is on, except for top-level columns
// whose values in the first batch written are mostly distinct (ids, event
// times, JSON payloads), where it only costs time. Snappy is the standard
// encoder (see snappy.go).
//
// # Statistics
//
// Computed batch by batch as rows are written (no second pass over the
// data), and
// rendered like Delta Spark's: {"numRecords":N,"minValues":{...},
// "maxValues":{...},"nullCount":{...}}, nested like the schema, keyed by
// physical name. As in Spark (dataSkippingNumIndexedCols), only the first
// StatsColumns leaf columns (depth first; a list or map is one leaf) get
// statistics at all. Of those, every leaf has a null count (for a field in a
// struct, rows where the struct is null count as null; a list or map counts
// its own nulls), and byte/short/int/long, float/double, decimal, date,
// timestamp, timestamp_ntz and string leaves have min and max:
//
//   - strings: min is truncated to 32 characters (code points); max is
//     truncated too and followed by a tie-breaker (U+007F, or U+10FFFF) so it
//     stays an upper bound, extending past trailing U+10FFFF characters up to
//     64 characters, else no max is written (Spark's truncateMaxStringAgg;
//     Spark counts UTF-16 units there, which differs only outside the BMP);
//     a min or max that is not valid UTF-8 is left out;
//   - timestamps: ISO 8601 with milliseconds, rounded down, and Z for a
//     timestamp ("2024-01-02T03:04:05.123Z"), no zone for timestamp_ntz
//     (readers widen a max by the dropped microseconds);
//   - floats: JSON numbers; NaN sorts above every number (Spark's order), so
//     a file with a NaN has max "NaN", and min "NaN" only if all values are;
//     NaN and infinities are JSON strings as Spark writes them;
//   - decimals: JSON numbers in plain notation with all scale digits;
//   - dates: "YYYY-MM-DD".
//
// A column whose values are all null has no min or max.
//
// FooterStats computes the same JSON for a Parquet file someone else wrote,
// from its footer alone (column chunk statistics folded over the row
// groups), for files adopted into a table as they are. It leaves out what a
// footer cannot vouch for: the min/max of a column when a row group with
// values lacks either (writers drop oversized ones), every float max
// (Parquet writers skip NaN, Delta's largest value), and the null counts a
// row group lacks or that a list or map cannot give.
//
// # Files, row groups and memory
//
// Write splits a batch by partition values (a batch of one partition is
// passed on as is; rows of several are copied out per partition) and
// queues it for a worker goroutine, which computes the statistics and
// writes the Parquet data while the caller prepares the next batch; at most
// one batch waits in the queue. Each open file gathers the batches of its
// next row group (RowGroupSize rows or RowGroupBytes of Arrow memory,
// whichever comes first) and then writes them column by column straight to
// its upload. A file is rolled once its estimated size reaches
// TargetFileSize: bytes written plus the rows not yet written at the
// compression ratio seen so far (batches are split to fit), so files end
// just below the target; the first file of a writer, rolled before any
// ratio is known, is counted at Arrow size and comes out smaller.
//
// Memory is therefore about RowGroupBytes per open file plus the batch
// being written and the one queued. With many partitions written at once,
// at most MaxOpenFiles files stay open (the least recently written is
// finished) and their gathered batches together stay under
// MaxBufferedBytes (the largest pending row group is written out early):
// memory stays bounded at the price of smaller files and row groups when
// rows of many partitions are interleaved.
//
// # Errors and cleanup
//
// A Writer is used by one goroutine. Because the Parquet encoding runs in
// the background, an encoding or storage error is returned by a later Write
// or by Close. After Write or Close fails, the Writer only accepts Abort,
// which stops the worker, abandons open uploads and deletes every file the
// Writer finished; Abort after a successful Close also deletes the files
// (for a commit that failed). A Write refused before any of its rows were
// queued (wrong schema, a null in a non-nullable column, a context already
// cancelled) leaves the Writer usable.
package datafile
