// Package engine implements platform.Store once, over a small transactional
// Driver that a SQL database provides (sqlitestore, pgstore). Everything
// that is not storage lives here, so both stores behave identically:
// validation, profile resolution and merging, audience evaluation, the
// system events and metrics the platform writes about itself.
//
// Invariants:
//   - Every Store method that writes runs in exactly one Driver transaction
//     and commits only if every step succeeded.
//   - Locks are taken in one order: streams (by name), profiles, the
//     checkpoint, audiences (and their change log), the system-event log.
//   - Profile upserts are resolved in chunks: one identifier lookup and one
//     profile load per chunk, the merge in memory, one SaveProfiles. A
//     changed profile is queued in the same transaction; an unchanged one is
//     neither written nor queued.
//   - Audience refresh reads only the queue (never scans all profiles) and
//     evaluates each queued profile once against every audience; a profile
//     no longer present leaves every audience. Unless the store defers it,
//     the refresh runs inside the write's transaction, so memberships are
//     never behind the profiles they derive from.
package engine
