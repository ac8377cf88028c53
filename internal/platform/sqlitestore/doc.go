// Package sqlitestore is the embedded platform store: a single SQLite file
// (modernc.org/sqlite, no cgo) behind engine.Store, so it behaves exactly as
// the port (and platformtest) specify.
//
// Invariants:
//   - One writer: all writes go through one connection in BEGIN IMMEDIATE
//     transactions, so logs (streams, audience changes, system events) get
//     gap-free IDs in commit order and a reader's cursor is never overtaken.
//     Reads use a separate pool and see the last committed state (WAL).
//   - Durability: WAL with synchronous=NORMAL; a committed write survives a
//     process crash (not necessarily a power loss of the last commits).
//   - Times are stored as integer Unix microseconds (UTC); event data as the
//     exact bytes received; attributes as JSON text.
//   - Every statement is parameterised; user values never become SQL text.
//   - The schema is created on Open and versioned in the meta table; a file
//     written by a newer schema version is refused, an older one upgraded
//     in the same transaction (version 2: events WITHOUT ROWID).
//   - Exports read streams in bulk (ReadStreamBlock, blockread.go) through
//     modernc's C API on read-only connections of their own.
package sqlitestore
