package platform

import (
	"context"
	"time"
)

// SystemEvent is one entry of the audit log of what Lakeport does. IDs are a
// gap-free sequence; times never decrease along it.
type SystemEvent struct {
	ID          int64
	Time        time.Time
	AccountID   string
	UserID      string
	SubjectType string // SubjectJob, SubjectAuthorization, SubjectAudience, ...
	SubjectID   string
	Verb        string // VerbCreated, VerbStarted, ...
	Notes       string
	Related     map[string]string // other subjects involved, e.g. {"run": "42"}
}

// Cursor returns the position just after e.
func (e SystemEvent) Cursor() Cursor { return Cursor{Time: e.Time, ID: e.ID} }

// Subject types and verbs of the audit log.
const (
	SubjectJob           = "job"
	SubjectAuthorization = "authorization"
	SubjectAudience      = "audience"

	VerbCreated  = "created"
	VerbChanged  = "changed"
	VerbDeleted  = "deleted"
	VerbStarted  = "started"
	VerbFinished = "finished"
	VerbFailed   = "failed"
	VerbVerified = "verified"
)

// Validate checks the fields a caller must set.
func (e SystemEvent) Validate() error {
	if e.SubjectType == "" {
		return &FieldError{Field: "subject_type", Reason: "is required"}
	}
	if e.Verb == "" {
		return &FieldError{Field: "verb", Reason: "is required"}
	}
	return nil
}

// Actor is who a request acts for; stores copy it into the system events
// they write for their own operations (e.g. an audience created).
type Actor struct {
	AccountID string
	UserID    string
}

type actorKey struct{}

// WithActor returns ctx carrying the actor.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx (zero if none).
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}
