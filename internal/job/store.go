package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lakeport/lakeport/internal/errs"
)

// Store is the durable state of the job engine: job definitions, run
// history, per-job checkpoints and leases. The SQLite and PostgreSQL stores
// (package jobstore) implement it; both pass the conformance suite in
// jobtest. Times are stored at microsecond precision, in UTC.
type Store interface {
	// SyncDefinitions makes the stored definitions of type typ exactly defs:
	// new names are created, changed bodies updated, names no longer present
	// deleted. It reports what changed, sorted by name. A definition keeps
	// its Created time across updates.
	SyncDefinitions(ctx context.Context, typ string, defs []Definition, now time.Time) ([]DefinitionChange, error)
	// Definitions lists the definitions of type typ by name.
	Definitions(ctx context.Context, typ string) ([]Definition, error)

	// StartRun records a run of r.Job as running and assigns its Seq: one
	// more than the job's previous run (1 for the first). Any other run of
	// the job still marked running is marked abandoned (the caller holds
	// the job's lease, so no such run is alive).
	StartRun(ctx context.Context, r RunRecord) (RunRecord, error)
	// FinishRun stores the outcome of the run (r.Job, r.Seq).
	FinishRun(ctx context.Context, r RunRecord) error
	// Runs returns up to limit runs of job, newest first, with Seq below
	// beforeSeq (0: from the newest).
	Runs(ctx context.Context, job string, beforeSeq int64, limit int) ([]RunRecord, error)
	// LastScheduled returns the latest Scheduled time among the job's runs
	// that completed (succeeded or failed), or the zero Time.
	LastScheduled(ctx context.Context, job string) (time.Time, error)

	// Checkpoint returns the value stored under (job, key), or "".
	Checkpoint(ctx context.Context, job, key string) (string, error)
	// SetCheckpoint moves the value under (job, key) from prev to next
	// ("" = none stored); if the stored value is not prev it fails with an
	// error matching errs.ErrConflict and changes nothing.
	SetCheckpoint(ctx context.Context, job, key, prev, next string) error
	// Checkpoints returns all of a job's checkpoint values.
	Checkpoints(ctx context.Context, job string) (map[string]string, error)

	// AcquireLease gives owner the job's lease until now+ttl if nobody
	// holds it, it expired, or owner already holds it. Otherwise it fails
	// with a *LeaseHeldError (errors.Is ErrLeaseHeld).
	AcquireLease(ctx context.Context, job, owner string, now time.Time, ttl time.Duration) (Lease, error)
	// RenewLease extends owner's lease to now+ttl. If owner no longer holds
	// it (it expired and another owner took it) it fails with ErrLeaseLost.
	// An expired lease nobody took is renewed.
	RenewLease(ctx context.Context, job, owner string, now time.Time, ttl time.Duration) (Lease, error)
	// ReleaseLease gives the lease up if owner holds it (else it is a no-op).
	ReleaseLease(ctx context.Context, job, owner string) error
	// Leases lists the leases held (possibly expired) by job name.
	Leases(ctx context.Context) ([]Lease, error)

	Close() error
}

// Definition types held by SyncDefinitions.
const (
	DefJob        = "job"
	DefConnection = "connection"
)

// Definition is one stored job or connection definition (its JSON).
type Definition struct {
	Name    string
	Body    json.RawMessage
	Created time.Time
	Updated time.Time
}

// DefinitionChange is one change made by SyncDefinitions.
type DefinitionChange struct {
	Name   string
	Change string // "created", "changed", "deleted"
}

// Status is a run's state.
type Status string

// Run states.
const (
	StatusRunning   Status = "running"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusCanceled  Status = "canceled"  // stopped (e.g. the server shut down); its slot runs again
	StatusAbandoned Status = "abandoned" // its process died; found by the next run
)

// RunRecord is one entry of the run history.
type RunRecord struct {
	Job       string
	Seq       int64
	Kind      string
	Scheduled time.Time // the schedule slot it ran for; zero for a run on demand
	Start     time.Time
	End       time.Time // zero while running
	Status    Status
	Rows      int64
	Bytes     int64
	Attempts  int
	Error     string    // one line, secrets redacted
	ErrorKind errs.Kind // classification of Error
	Notes     map[string]any
	Owner     string // the process that ran it
}

// Duration returns End-Start (0 while running).
func (r RunRecord) Duration() time.Duration {
	if r.End.IsZero() {
		return 0
	}
	return r.End.Sub(r.Start)
}

// Lease is a job's run lock.
type Lease struct {
	Job     string
	Owner   string
	Expires time.Time
}

// ErrLeaseHeld and ErrLeaseLost are the lease failures (errors.Is).
var (
	ErrLeaseHeld = errors.New("lease held by another owner")
	ErrLeaseLost = errors.New("lease lost")
)

// LeaseHeldError says who holds a job's lease. It classifies as
// errs.Conflict.
type LeaseHeldError struct {
	Job     string
	Owner   string
	Expires time.Time
}

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("job %s is already running (lease held by %s until %s)", e.Job, e.Owner, e.Expires.UTC().Format(time.RFC3339))
}

func (e *LeaseHeldError) Is(target error) bool {
	return target == ErrLeaseHeld || target == errs.ErrConflict
}

// CheckpointConflictError is a SetCheckpoint whose prev did not match.
type CheckpointConflictError struct {
	Job, Key string
}

func (e *CheckpointConflictError) Error() string {
	return fmt.Sprintf("job %s: checkpoint %q moved since it was read", e.Job, e.Key)
}

func (e *CheckpointConflictError) Is(target error) bool { return target == errs.ErrConflict }

// Checkpoints is one job's view of the generic checkpoint store, for flows
// whose output has no transactional home of its own. A flow that writes
// into a place that can hold its checkpoint atomically (the platform store,
// a Delta txn) keeps it there instead.
type Checkpoints struct {
	store Store
	job   string
}

// NewCheckpoints returns job's checkpoints in store.
func NewCheckpoints(store Store, job string) *Checkpoints {
	return &Checkpoints{store: store, job: job}
}

// Get returns the value under key, or "".
func (c *Checkpoints) Get(ctx context.Context, key string) (string, error) {
	return c.store.Checkpoint(ctx, c.job, key)
}

// Set moves the value under key from prev to next; a stored value other
// than prev is an errs.Conflict error and nothing changes.
func (c *Checkpoints) Set(ctx context.Context, key, prev, next string) error {
	return c.store.SetCheckpoint(ctx, c.job, key, prev, next)
}

// All returns every value of the job.
func (c *Checkpoints) All(ctx context.Context) (map[string]string, error) {
	return c.store.Checkpoints(ctx, c.job)
}
