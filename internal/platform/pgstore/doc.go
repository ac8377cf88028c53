// Package pgstore is the platform store on PostgreSQL (jackc/pgx/v5), for
// production: several Lakeport processes may share one database. It sits
// behind engine.Store, so it behaves exactly as the port (and platformtest)
// specify.
//
// Invariants:
//   - Tables live in the first schema of the connection's search_path (a
//     "search_path" URL parameter selects it; the schema is created if
//     missing, its name quoted, never spliced).
//   - Logs get gap-free IDs in commit order: appending to a stream updates
//     the stream's counter row first and holds that row lock to commit (the
//     audience-change and system-event logs likewise hold their counters),
//     so a reader paging by (time, ID) is never overtaken by a commit.
//   - Profile writers serialise on a transaction advisory lock; membership
//     writers on another; queued profiles are claimed FOR UPDATE SKIP LOCKED
//     and a writer re-queueing a profile locks its queue row, so no change
//     is evaluated on stale data and then forgotten.
//   - Locks are taken in one order (streams by name, profiles, checkpoint,
//     audiences, audience-change counter, system-event counter), so writers
//     do not deadlock.
//   - Every statement is parameterised (bulk values as arrays with unnest);
//     user values never become SQL text. Lookups by a list of IDs are
//     unnest($1) CROSS JOIN LATERAL (... OFFSET 0): an index probe per ID
//     that the planner cannot flatten, so no plan depends on statistics
//     (right after a bulk load there are none, and "= ANY($1)" or a plain
//     join became full scans per page).
//   - ReadStreamBlock (exports) is ReadStream's query for the whole block,
//     every column in binary, the raw row values decoded straight into
//     the block (no allocation per event; the JSON bytes are those
//     data::text returns), in a read-only transaction with enable_sort
//     off so that the primary key is walked in order whatever the limit
//     (without statistics a limit above the planner's guess of a stream's
//     size chose a bitmap scan sorting the rest of the stream).
package pgstore
