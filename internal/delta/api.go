package delta

import (
	"context"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// At selects which version of a table to read. The zero value is the latest version.
type At struct {
	Version   *int64     // exact version
	Timestamp *time.Time // latest version committed at or before this time
}

// Latest selects the newest version of a table.
func Latest() At { return At{} }

// AtVersion selects version v.
func AtVersion(v int64) At { return At{Version: &v} }

// AtTimestamp selects the latest version committed at or before t.
func AtTimestamp(t time.Time) At { return At{Timestamp: &t} }

// ScanOptions shape a scan of one snapshot.
type ScanOptions struct {
	Columns   []string // projection by logical name; empty means all columns
	Where     string   // predicate, e.g. "a > 3 AND b IN ('x','y')"; used for file skipping and row filtering
	BatchSize int      // rows per record batch; 0 means DefaultBatchSize
	Limit     int64    // stop after this many rows; 0 means no limit
	// Ordered yields rows in a stable order (files sorted by path, rows in
	// file order). Unordered scans read files in parallel and yield batches
	// as they are ready, which is faster on several cores.
	Ordered bool
}

// DefaultBatchSize is the number of rows per record batch when ScanOptions.BatchSize is 0.
const DefaultBatchSize = 32 * 1024

// ChangesOptions select a range of the change data feed (both ends inclusive).
type ChangesOptions struct {
	StartVersion   *int64
	EndVersion     *int64 // nil means the latest version
	StartTimestamp *time.Time
	EndTimestamp   *time.Time
	Columns        []string // projection; empty means all, plus _change_type, _commit_version, _commit_timestamp
	Where          string
	BatchSize      int
	Limit          int64 // stop after this many rows; 0 means no limit
}

// Batches is a stream of Arrow record batches. Next returns io.EOF at the end.
// The caller releases each batch it receives and closes the stream.
type Batches interface {
	Schema() *arrow.Schema
	Next(ctx context.Context) (arrow.RecordBatch, error)
	Close() error
}

// Open opens the Delta table at location (a directory path or a bucket URL).
// It reads nothing until a snapshot is asked for.
func Open(ctx context.Context, location string, opts ...Option) (*Table, error) {
	t, err := open(ctx, location)
	if err != nil {
		return nil, err
	}
	for _, o := range opts {
		o(t)
	}
	return t, nil
}

// Option configures how a table is read.
type Option func(*Table)

// WithPartitionTimeZone sets the time zone of timestamp partition values
// written without an offset ("2021-09-08 11:11:11"). Spark writes them in its
// session time zone; the default is UTC. Values with an offset or "Z" are exact.
func WithPartitionTimeZone(loc *time.Location) Option {
	return func(t *Table) { t.partitionTZ = loc }
}

// Snapshot loads the table state at the selected version.
func (t *Table) Snapshot(ctx context.Context, at At) (*Snapshot, error) { return t.snapshot(ctx, at) }

// Scan streams the snapshot's rows as Arrow record batches.
func (s *Snapshot) Scan(ctx context.Context, opts ScanOptions) (Batches, error) {
	return s.scan(ctx, opts)
}

// Changes streams the change data feed between two versions, with the
// semantics of Databricks table_changes.
func (t *Table) Changes(ctx context.Context, opts ChangesOptions) (Batches, error) {
	return t.changes(ctx, opts)
}
