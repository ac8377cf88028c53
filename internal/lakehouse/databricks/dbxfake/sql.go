package dbxfake

import (
	"github.com/apache/arrow-go/v18/arrow"
)

// Query is one SQL statement as the warehouse received it.
type Query struct {
	SQL    string
	Params []Param
	// Session is the id of the Thrift session the statement ran in, in the
	// driver's GUID form (what the driver logs as the connection id).
	Session string
	// Catalog and Schema are the session's initial namespace, empty when the
	// client set none (dbsql.WithInitialNamespace).
	Catalog, Schema string
	// ArrowNative is what the client asked to receive as native Arrow types.
	ArrowNative ArrowNativeTypes
}

// Param is one native query parameter: Name is empty for a positional one
// (the driver sends positional parameters in order). Type is the SQL type
// name the client sent ("STRING", "BIGINT", "DECIMAL(10,2)", ..., "VOID"
// for NULL) and Value its string form (empty with Null set for NULL).
type Param struct {
	Name  string
	Type  string
	Value string
	Null  bool
}

// Result is what a statement returns: Arrow record batches with Schema
// (nil Schema: no result set, e.g. for DML; then RowsAffected is reported as
// the number of modified rows).
type Result struct {
	Schema       *arrow.Schema
	Batches      []arrow.RecordBatch
	RowsAffected int64
}

// SQLError is an error with a SQLSTATE. Returned by a HandleSQL handler it
// becomes a Thrift ERROR_STATUS with that sqlState and message.
type SQLError struct {
	State   string
	Message string
}

func (e *SQLError) Error() string {
	if e.State == "" {
		return e.Message
	}
	return "[" + e.State + "] " + e.Message
}

// HandleSQL sets the function that executes statements. The batches of a
// result are delivered to the client as Arrow IPC, paged over FetchResults
// (see SetPageRows). An error becomes an ERROR_STATUS (SQLSTATE from a
// *SQLError, else 42000).
func (s *Server) HandleSQL(h func(q Query) (*Result, error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sqlHandler = h
}
