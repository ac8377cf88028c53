// Package jobstore holds the job engine's durable state (job.Store) in
// SQLite (the embedded default) or PostgreSQL, through one implementation
// over database/sql with a small dialect switch.
//
// # Invariants
//
//   - One schema for both databases: plain tables, times as microseconds
//     since the Unix epoch (UTC, 0 for none), JSON as text. Opening creates
//     it if needed, under a lock (SQLite: an immediate transaction;
//     PostgreSQL: an advisory lock), so concurrent first opens are safe.
//   - Every operation that reads then writes is one statement or one
//     transaction: run sequence numbers come from an upsert on a per-job
//     counter; a checkpoint moves by compare-and-set; a lease is taken by a
//     conditional upsert (insert, or take over only if expired or already
//     ours), so two processes racing for a job's lease cannot both win.
//   - Values are always bound parameters, never spliced into SQL.
//   - Errors never contain a password: PostgreSQL errors are reported
//     against host/database only.
package jobstore
