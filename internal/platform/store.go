package platform

import (
	"context"
	"time"
)

// Store is the platform port: everything Lakeport imports lands here and
// everything it exports is read from here. The embedded SQLite store and
// the PostgreSQL store implement it; a vendor's platform can too. All
// implementations must pass platformtest.Run.
type Store interface {
	// Write applies a batch atomically: every append, profile upsert and
	// deletion and the checkpoint move in one transaction, or nothing is
	// written and an error says why. Unless the store was opened with
	// Options.DeferAudienceRefresh, audience memberships of the changed
	// profiles are brought up to date in the same transaction.
	Write(ctx context.Context, b Batch) (WriteResult, error)
	// Checkpoint returns the value stored under key by a Write, or "" if
	// none was.
	Checkpoint(ctx context.Context, key string) (string, error)

	// Streams lists every stream with its event count, sorted by name.
	Streams(ctx context.Context) ([]StreamInfo, error)
	// ReadStream returns up to limit events of stream that come after the
	// cursor in (ReceiveTS, ID) order. A zero cursor reads from the start.
	// Events are never inserted behind a cursor a reader has seen, so
	// paging with the last event's cursor reads every event exactly once.
	ReadStream(ctx context.Context, stream string, after Cursor, limit int) ([]Event, error)
	// ReadStreamBlock is the bulk form of ReadStream for exports: it appends
	// up to limit events of stream after the cursor to b, in the same order
	// with the same guarantees, and returns how many it appended. limit is
	// not capped by MaxPage. A call stops early only once b is Full (it
	// holds b.MaxData, at most MaxBlockData, bytes of JSON); otherwise
	// fewer than limit events means the stream has no more.
	ReadStreamBlock(ctx context.Context, stream string, after Cursor, limit int, b *EventBlock) (int, error)
	// LastEvents returns the newest n events of stream, oldest first.
	LastEvents(ctx context.Context, stream string, n int) ([]Event, error)

	// DefineField adds an attribute or identifier field to the registry.
	// Defining an existing field again with the same definition is a no-op;
	// with another definition it is a conflict.
	DefineField(ctx context.Context, f Field) error
	// Fields lists the registry (built-in identifiers included) by name.
	Fields(ctx context.Context) ([]Field, error)

	// Profile returns the profile holding the identifier.
	Profile(ctx context.Context, id Identifier) (Profile, error)
	// Profiles pages through all profiles by ID.
	Profiles(ctx context.Context, afterID int64, limit int) ([]Profile, error)

	// PutAudience creates an audience or changes its definition, and brings
	// its membership up to date over all profiles in the same transaction.
	PutAudience(ctx context.Context, slug, definition string) (Audience, error)
	// DeleteAudience records an exit for every member and removes it.
	DeleteAudience(ctx context.Context, slug string) error
	Audience(ctx context.Context, slug string) (Audience, error)
	Audiences(ctx context.Context) ([]Audience, error)
	// Members pages through an audience's current members by profile ID
	// (the backfill of an audience-changes export).
	Members(ctx context.Context, slug string, afterProfileID int64, limit int) ([]Member, error)
	// AudienceChanges pages through the enter/exit log of all audiences.
	AudienceChanges(ctx context.Context, after Cursor, limit int) ([]AudienceChange, error)
	// RefreshAudiences evaluates the profiles changed since the last
	// refresh (and only those) against every audience.
	RefreshAudiences(ctx context.Context) (RefreshStats, error)

	// RecordSystemEvent appends to the audit log; ID and Time are assigned.
	RecordSystemEvent(ctx context.Context, e SystemEvent) (SystemEvent, error)
	// SystemEvents pages through the audit log in (Time, ID) order.
	SystemEvents(ctx context.Context, after Cursor, limit int) ([]SystemEvent, error)

	// RecordMetrics appends time-series points; IDs are assigned.
	RecordMetrics(ctx context.Context, points []Metric) error
	// Metrics returns points matching q in ID order.
	Metrics(ctx context.Context, q MetricQuery) ([]Metric, error)

	Close() error
}

// Options configure a store's behaviour; the zero value is the default.
type Options struct {
	// DeferAudienceRefresh leaves changed profiles queued after Write; a
	// later RefreshAudiences evaluates them. By default Write evaluates
	// them in its own transaction.
	DeferAudienceRefresh bool
}

// Batch is one atomic Write. Appends are applied first, then Upserts in
// order, then Deletes, then the Checkpoint compare-and-set.
type Batch struct {
	Appends    []Append
	Upserts    []ProfileInput
	Deletes    []Identifier
	Checkpoint *Checkpoint
}

// Checkpoint moves the value under Key from Prev to Next atomically with the
// rest of the batch; if the stored value is not Prev ("" = none stored) the
// whole batch fails with a *ConflictError, so a retried run is a no-op.
type Checkpoint struct {
	Key  string
	Prev string
	Next string
}

// WriteResult reports what a Write did, in the order of the batch.
type WriteResult struct {
	Appended  []AppendResult
	Upserted  []UpsertResult
	Deleted   int // profiles deleted (identifiers that held none are ignored)
	Audiences RefreshStats
}

// Cursor is a position in an append-only log: streams, audience changes and
// system events. The zero Cursor is before the first entry.
type Cursor struct {
	Time time.Time
	ID   int64
}

// Less reports whether c sorts before d.
func (c Cursor) Less(d Cursor) bool {
	if !c.Time.Equal(d.Time) {
		return c.Time.Before(d.Time)
	}
	return c.ID < d.ID
}

// MaxPage is the largest page any paging method returns.
const MaxPage = 10000

// Now returns the current time as stores keep it: UTC, microseconds.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
