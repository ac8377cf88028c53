package engine

import (
	"context"
	"time"

	"github.com/lakeport/lakeport/internal/platform"
)

// Driver is a database behind a Store: write transactions and reads.
type Driver interface {
	// Begin starts a write transaction.
	Begin(ctx context.Context) (Tx, error)
	Reader
	Close() error
}

// Reader answers the read side of platform.Store. Arguments are already
// validated; a missing stream is a *platform.NotFoundError, a missing
// profile or audience is nil.
type Reader interface {
	Checkpoint(ctx context.Context, key string) (string, error)
	Streams(ctx context.Context) ([]platform.StreamInfo, error)
	ReadStream(ctx context.Context, stream string, after platform.Cursor, limit int) ([]platform.Event, error)
	LastEvents(ctx context.Context, stream string, n int) ([]platform.Event, error)
	Fields(ctx context.Context) ([]platform.Field, error)
	ProfileByIdentifier(ctx context.Context, id platform.Identifier) (*platform.Profile, error)
	Profiles(ctx context.Context, afterID int64, limit int) ([]platform.Profile, error)
	Audiences(ctx context.Context) ([]platform.Audience, error)
	Members(ctx context.Context, audienceID, afterProfileID int64, limit int) ([]platform.Member, error)
	AudienceChanges(ctx context.Context, after platform.Cursor, limit int) ([]platform.AudienceChange, error)
	SystemEvents(ctx context.Context, after platform.Cursor, limit int) ([]platform.SystemEvent, error)
	Metrics(ctx context.Context, q platform.MetricQuery) ([]platform.Metric, error)
}

// BlockReader is a Reader that reads a stream column by column natively
// (platform.Store.ReadStreamBlock, arguments validated).
type BlockReader interface {
	ReadStreamBlock(ctx context.Context, stream string, after platform.Cursor, limit int, b *platform.EventBlock) (int, error)
}

// Tx is one write transaction. Nothing it does is visible to others before
// Commit; Rollback after Commit is a no-op.
//
// Logs (each stream, the audience-change log, the system-event log) get
// gap-free IDs and non-decreasing times: the driver holds the log's counter
// (a row lock, or the database's single writer) from the append to commit,
// so entries become visible in ID order and a reader's cursor is never
// overtaken.
type Tx interface {
	Commit() error
	Rollback() error

	// Append adds events to a stream (creating it) with receive time
	// max(now, the stream's last receive time) and the next IDs. Events with
	// a zero EventTS get the receive time.
	Append(ctx context.Context, stream string, events []platform.EventInput, now time.Time) (platform.AppendResult, error)
	// SetCheckpoint stores next under key if the stored value is prev (""
	// = none); otherwise it reports false and the stored value.
	SetCheckpoint(ctx context.Context, key, prev, next string) (ok bool, current string, err error)

	Fields(ctx context.Context) ([]platform.Field, error)
	InsertField(ctx context.Context, f platform.Field) error

	// LockProfiles serialises profile writers until the end of the
	// transaction (a no-op where writes are serial anyway).
	LockProfiles(ctx context.Context) error
	// LookupIdentifiers returns the owner of each identifier that has one.
	LookupIdentifiers(ctx context.Context, ids []platform.Identifier) (map[platform.Identifier]int64, error)
	// LoadProfiles returns the profiles that exist among ids, with their
	// identifiers.
	LoadProfiles(ctx context.Context, ids []int64) (map[int64]*platform.Profile, error)
	// AllocateProfileIDs reserves n new profile IDs, first..first+n-1, all
	// greater than any existing profile's.
	AllocateProfileIDs(ctx context.Context, n int) (first int64, err error)
	SaveProfiles(ctx context.Context, c *ProfileChanges) error
	// ProfilesAfter pages through all profiles by ID.
	ProfilesAfter(ctx context.Context, afterID int64, limit int) ([]*platform.Profile, error)

	// LockAudiences serialises membership writers until the end of the
	// transaction.
	LockAudiences(ctx context.Context) error
	Audiences(ctx context.Context) ([]platform.Audience, error)
	// SaveAudience inserts a (ID 0, then assigned) or updates its
	// definition, version and update time.
	SaveAudience(ctx context.Context, a *platform.Audience) error
	// DeleteAudience removes an audience that has no members left.
	DeleteAudience(ctx context.Context, id int64) error
	// Queued returns up to limit changed profiles awaiting evaluation, by
	// ID, skipping any another transaction holds.
	Queued(ctx context.Context, limit int) ([]int64, error)
	Dequeue(ctx context.Context, ids []int64) error
	// Memberships returns the audiences each of the profiles is in.
	Memberships(ctx context.Context, profileIDs []int64) (map[int64][]int64, error)
	// MemberIDs pages through an audience's member profile IDs.
	MemberIDs(ctx context.Context, audienceID, afterProfileID int64, limit int) ([]int64, error)
	// ApplyTransitions adds and removes memberships, keeps member counts and
	// appends one audience change per transition at max(now, last change).
	ApplyTransitions(ctx context.Context, ts []Transition, now time.Time) error

	// AppendSystemEvents assigns IDs and times (max(now, last)) and stores.
	AppendSystemEvents(ctx context.Context, events []platform.SystemEvent, now time.Time) ([]platform.SystemEvent, error)
	InsertMetrics(ctx context.Context, points []platform.Metric) error
}

// ProfileChanges is what one profile write stores, applied in this order.
type ProfileChanges struct {
	// Saved profiles are inserted or updated (attributes and timestamps;
	// their Identifiers field is informational).
	Saved []*platform.Profile
	// Owners sets the owning profile of each identifier (insert or move).
	Owners map[platform.Identifier]int64
	// Released identifiers are removed (those of deleted profiles).
	Released []platform.Identifier
	// Deleted profiles are removed (their identifiers were moved or
	// released).
	Deleted []int64
	// Queue holds the profiles to evaluate against audiences.
	Queue []int64
}

// Transition is one profile entering (Enter) or leaving an audience.
type Transition struct {
	AudienceID int64
	Audience   string
	ProfileID  int64
	Enter      bool
}
