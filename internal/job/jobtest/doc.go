// Package jobtest holds test support for the job engine: a fake Clock that
// moves only when told, and RunStore, the conformance suite every
// job.Store implementation must pass (package jobstore runs it on SQLite
// and PostgreSQL).
//
// # Invariants the suite pins down
//
//   - Definitions: a sync creates, changes and deletes by name, per type,
//     keeping the creation time; an unchanged sync changes nothing.
//   - Runs: sequence numbers per job start at 1 and never repeat, even
//     when two handles start runs at once; a run left running is marked
//     abandoned by the next start; only completed scheduled runs count for
//     LastScheduled; history pages newest first; times keep microseconds.
//   - Checkpoints: compare-and-set; a stale prev is errs.Conflict and
//     changes nothing; of racing writers exactly one wins.
//   - Leases: one owner at a time, re-entrant for the owner, taken over
//     only after expiry; a renewal after a takeover reports ErrLeaseLost;
//     of racing contenders on two handles exactly one wins, and a critical
//     section guarded by the lease is never entered twice at once.
//
// The fake Clock never reads the wall clock; WaitFor only guards against a
// deadlock with a generous real-time limit, it asserts nothing about time.
package jobtest
