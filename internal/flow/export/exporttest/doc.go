// Package exporttest is the test bench of the export kinds: a local
// lakehouse, a SQLite platform store and job state store, specs from YAML,
// runs with a ledger, tables read back through the Delta reader, and the
// crash campaign (a child process killed at numbered crash points, then
// rerun) that proves every source row lands exactly once.
package exporttest
