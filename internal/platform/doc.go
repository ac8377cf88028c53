// Package platform is the port to the customer-engagement platform that
// every Lakeport import writes to and every export reads from: streams of
// events, a field registry, profiles, audiences with their enter/exit log,
// an audit log of system events, metrics, message sends and copy variants.
//
// Store is the port. The embedded SQLite store (sqlitestore) and the
// PostgreSQL store (pgstore) implement it through package engine; a vendor
// may implement it against its own platform. The conformance suite in
// platformtest pins down the behaviour below for every implementation.
//
// # Invariants
//
//   - Atomic writes. Store.Write applies appends, profile upserts and
//     deletions and a checkpoint compare-and-set in one transaction: all or
//     nothing. A checkpoint that moved is a conflict, so a retried run is a
//     no-op ("rows and their checkpoint in one transaction").
//   - Incremental reads. Streams, the audience-change log and the system
//     event log are append-only, with gap-free IDs and non-decreasing times,
//     and become visible in (time, ID) order: a reader paging with the
//     Cursor of the last entry it saw reads every entry exactly once.
//   - Validation before storage. Input is checked whole before anything is
//     written: an event must be a JSON object (NDJSON errors name the line),
//     an attribute must be in the registry and fit its type, an identifier
//     must be valid for its field (email, E.164 phone, UUID); errors are
//     *FieldError naming the field. Identifiers are stored normalised.
//   - Typed errors. Every error a Store returns for bad input matches
//     ErrInvalid, for a missing stream/profile/audience ErrNotFound, and for
//     a lost race or a redefinition ErrConflict (errors.Is).
//   - Profiles. An identifier value belongs to at most one profile. An
//     upsert whose identifiers lead to several profiles merges them into the
//     oldest (lowest ID): identifiers united, attributes newest-first, the
//     input on top. Identifiers are only added; deletion removes a profile.
//   - Audiences. A membership is the value of the audience's CEL definition
//     on the profile. Only changed profiles are re-evaluated (they are queued
//     in the write's transaction); every enter and exit is logged with its
//     time; creating or changing a definition re-evaluates all profiles
//     against that audience only.
//   - Own audit trail and metrics. Audience creation, change and deletion
//     write system events (with the Actor of the context) and size/added/
//     removed metrics; every append writes a stream-volume metric.
package platform
