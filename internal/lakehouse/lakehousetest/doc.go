// Package lakehousetest is the conformance suite of the lakehouse port, in
// the manner of go-cloud's drivertest: every driver runs Run with a Harness
// that creates and changes tables the way a user would (the local driver
// through internal/delta; a warehouse driver through SQL), and the suite
// checks behaviour only through lakehouse.Lakehouse. It covers browsing,
// name validation, describing, pinned-version scans, stable unordered scans
// with offsets, ordered range scans (every orderable type, positions,
// resumption at key-group boundaries, errors), null counts, the change feed
// (order, types, unavailable ranges) and idempotent loads.
package lakehousetest
