// Package export is what the five export kinds (export.audience,
// export.events, export.system_events, export.audience_changes,
// export.metrics) share: staging rows as files and loading them into
// lakehouse tables exactly once, with a load ledger of Lakeport's own.
//
// A run of an export kind reads platform rows after its cursor, writes them
// through a Batch into staged files (CSV, gzip CSV or Parquet, rolled at a
// row or byte limit), and commits the Batch: the ledger records the pending
// load (its files and the cursor it reaches), the lakehouse loads each
// table's files with the key (App, load number), the ledger moves the cursor
// and clears the pending load, and only then are the staged files deleted.
// Pipe runs the kind's reader on a goroutine of its own while the run
// stages what it reads (Chunk, Send), committing a load every so many rows.
//
// # Invariants
//
//   - The ledger is the job's checkpoint "export" in the state store,
//     moved by compare-and-set. It holds the cursor up to which every row is
//     in the tables, the number of loads committed, and at most one pending
//     load.
//   - Exactly once: a pending load is finished (loaded again with the same
//     key, which the table skips when it already holds it; a replace is
//     idempotent by nature) before anything new is staged, so a crash at any
//     point between staging, loading and saving the ledger neither loses
//     nor doubles a row. The table's own record of the key (a Delta txn
//     action on the local driver) is lost when a table is replaced; the
//     ledger is not.
//   - Staged file names are deterministic: {job}/run-{seq}/load-{n}/{table}-part-{k}.{ext}.
//     Files the ledger does not reference (a crash before the pending load
//     was recorded) are deleted at the next run; files of a pending load
//     are deleted only after the ledger says it committed.
//   - Load numbers only grow, so a key is never reused for other rows. The
//     key's App names the ledger's epoch (random, made on the first run): a
//     ledger lost and begun again exports from the start rather than having
//     its loads skipped under keys the tables already hold.
package export
