package lakehouse

import (
	"context"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakeport/lakeport/internal/lakehouse/staging"
)

// Lakehouse is the port to a lakehouse: a catalog of tables that can be
// browsed, described, scanned at a pinned version, followed through their
// change feed, and loaded from staged files. The local driver
// (internal/lakehouse/local) serves Delta tables in a directory; a Databricks
// driver serves a SQL warehouse and Unity Catalog. Every driver must pass
// lakehousetest.Run.
type Lakehouse interface {
	// Catalogs lists the catalogs, sorted by name.
	Catalogs(ctx context.Context) ([]string, error)
	// Schemas lists the schemas of a catalog, sorted by name.
	Schemas(ctx context.Context, catalog string) ([]string, error)
	// Tables lists the tables and views of a schema, sorted by name.
	Tables(ctx context.Context, catalog, schema string) ([]TableInfo, error)
	// Describe returns a table's format, kind, columns, current version,
	// partition columns and whether its change data feed is on.
	Describe(ctx context.Context, name TableName) (*Description, error)
	// Scan streams the rows of a table at a pinned version: in the order of
	// req.Order (see Order), or without an order in an order that is stable
	// for that version (so req.Offset can resume a scan). A version whose
	// log or files were cleaned up fails with a *VersionUnavailableError,
	// from Scan or from Rows.Next.
	Scan(ctx context.Context, name TableName, req ScanRequest) (Rows, error)
	// CountNulls counts the rows at version whose column is NULL (the rows an
	// ordered scan on that column never returns).
	CountNulls(ctx context.Context, name TableName, version int64, column string) (int64, error)
	// Changes streams the change feed between two versions (both inclusive)
	// in commit order, with the ChangeType, CommitVersion and CommitTimestamp
	// columns added. A range the feed no longer covers (change data feed
	// off, log or files cleaned up) fails with a *ChangesUnavailableError,
	// either from Changes or from Rows.Next.
	Changes(ctx context.Context, name TableName, req ChangesRequest) (Rows, error)
	// Load commits staged files into a table exactly once per req.Key.
	Load(ctx context.Context, name TableName, req LoadRequest) (*LoadResult, error)
	Close() error
}

// Rows is a stream of Arrow record batches. Next returns io.EOF at the end;
// the caller releases each batch it receives and closes the stream.
type Rows interface {
	Schema() *arrow.Schema
	Next(ctx context.Context) (arrow.RecordBatch, error)
	Close() error
}

// TableInfo is one entry of a schema's listing.
type TableInfo struct {
	Name TableName
	Kind Kind
}

// Kind tells tables from views.
type Kind string

const (
	KindTable Kind = "TABLE"
	KindView  Kind = "VIEW"
)

// Format is the storage format of a table.
type Format string

const FormatDelta Format = "DELTA"

// Description describes a table at its current version.
type Description struct {
	Name             TableName
	Kind             Kind
	Format           Format
	Columns          []Column
	PartitionColumns []string
	// ChangeDataFeed is delta.enableChangeDataFeed.
	ChangeDataFeed bool
	// Version is the current version (the latest commit).
	Version int64
	// VersionTime is the commit time of Version.
	VersionTime time.Time
	Properties  map[string]string
}

// Column returns the column named name (exact, then case-insensitive), or nil.
func (d *Description) Column(name string) *Column {
	for i := range d.Columns {
		if d.Columns[i].Name == name {
			return &d.Columns[i]
		}
	}
	for i := range d.Columns {
		if equalFold(d.Columns[i].Name, name) {
			return &d.Columns[i]
		}
	}
	return nil
}

// Column is one top-level column of a table.
type Column struct {
	Name string
	// Type is the Databricks SQL type in its canonical lower-case form:
	// string, bigint, int, smallint, tinyint, double, float, decimal(p,s),
	// boolean, binary, date, timestamp, timestamp_ntz, array<T>,
	// map<K,V>, struct<name:T,...>.
	Type     string
	Nullable bool
}

// ScanRequest shapes a scan of one table version.
type ScanRequest struct {
	// Version pins the table version read. Required: take it from Describe.
	Version int64
	// Columns projects the output; empty means all columns. An ordered scan
	// always returns its order and tie-breaker columns (added if missing).
	Columns []string
	// Order, when set, makes the scan a range scan sorted by
	// (Order.Column, Order.TieBreaker).
	Order *Order
	// Offset skips this many rows of an unordered scan's stable order
	// (resuming a scan of the same version). Not allowed with Order.
	Offset int64
	// BatchSize is the number of rows per batch (0: the driver's default).
	BatchSize int
}

// Order sorts a scan ascending by Column, then TieBreaker (NULL tie-breakers
// first), and limits it to a range of Column. Rows whose Column is NULL are
// never returned (count them with CountNulls).
//
// Column must be a timestamp, timestamp_ntz, date or integer column;
// TieBreaker (optional) an integer, string, date or timestamp column.
type Order struct {
	Column     string
	TieBreaker string
	// After keeps only rows strictly after this position in the order (see
	// Position).
	After *Position
	// From keeps only rows with Column >= From.
	From *Value
	// Until keeps only rows with Column <= Until.
	Until *Value
}

// Position is a place in an ordered scan: the (Column, TieBreaker) values of
// a row. Without a tie-breaker Tie is the zero Value and "after" means
// Column > Key. With one, rows with Column = Key come after the position
// when their tie-breaker sorts after Tie (a NULL Tie is before every
// non-NULL value; a NULL tie-breaker is never after any position with the
// same Key).
type Position struct {
	Key Value `json:"key"`
	Tie Value `json:"tie"`
}

// ChangesRequest selects a range of the change feed.
type ChangesRequest struct {
	StartVersion int64
	EndVersion   int64 // inclusive; must exist
	// Columns projects the table's columns; empty means all. The change
	// columns are always added.
	Columns   []string
	BatchSize int
}

// Change feed columns, added after the table's columns.
const (
	ChangeTypeColumn      = "_change_type"
	CommitVersionColumn   = "_commit_version"
	CommitTimestampColumn = "_commit_timestamp"
)

// Change types.
const (
	ChangeInsert          = "insert"
	ChangeDelete          = "delete"
	ChangeUpdatePreimage  = "update_preimage"
	ChangeUpdatePostimage = "update_postimage"
)

// LoadMode says what a load does with the rows a table already holds.
type LoadMode string

const (
	LoadAppend    LoadMode = "append"    // add the rows
	LoadOverwrite LoadMode = "overwrite" // replace all rows, keep the table and its schema
	// LoadReplace drops the table and creates it again from the files: with
	// Schema when set, else with the columns inferred from the data (as
	// COPY INTO with inferSchema does). It implies Create.
	LoadReplace LoadMode = "replace"
)

// Staged file formats.
const (
	FormatParquet = "parquet"
	FormatCSV     = "csv"    // UTF-8, comma-separated, a header row, empty = NULL
	FormatCSVGzip = "csv.gz" // FormatCSV compressed with gzip
)

// LoadRequest commits staged files into a table.
type LoadRequest struct {
	// Staging is where the files are; Files are names in it. A warehouse
	// reads them at Staging.Location(name), the local driver through
	// Staging.Open.
	Staging staging.Area
	Files   []string
	// Format is FormatParquet, FormatCSV or FormatCSVGzip; empty: from the
	// first file's extension.
	Format string
	Mode   LoadMode
	// Key makes the load idempotent: a load whose key the table already
	// holds (same App, same or higher Version) is a no-op.
	Key LoadKey
	// Create creates the table if missing: with Schema when set, else with
	// the first file's columns.
	Create bool
	// Schema is the table's columns when the load creates it (nil: from the
	// data). Columns of staged CSV files are parsed as these types.
	Schema *arrow.Schema
	// Properties are table properties used when the load creates the table.
	Properties map[string]string
}

// LoadKey identifies one load: a job (App) and its run sequence (Version).
type LoadKey struct {
	App     string
	Version int64
}

// LoadResult describes a load.
type LoadResult struct {
	Version int64 // the table version committed (or current, when Skipped)
	Skipped bool  // the key was already loaded; nothing was written
	Rows    int64
	Created bool
}
