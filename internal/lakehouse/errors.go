package lakehouse

import (
	"errors"
	"fmt"

	"github.com/lakeport/lakeport/internal/errs"
)

// Error classes a caller tells apart with errors.Is: invalid input is never
// retried; not found is answered as such; unavailable changes mean the
// caller must re-snapshot; unsupported is a table or type this driver cannot
// serve (fail closed). Invalid and not-found errors also match
// errs.ErrInvalid, unsupported ones errs.ErrUnsupported, so the job runner
// classifies them without knowing this package.
var (
	ErrInvalid            = errors.New("invalid input")
	ErrNotFound           = errors.New("not found")
	ErrChangesUnavailable = errors.New("changes unavailable")
	ErrVersionUnavailable = errors.New("version unavailable")
	ErrUnsupported        = errors.New("unsupported")
)

// InvalidError is input that can never succeed as given (a bad name, an
// unknown column, a type that cannot be ordered...).
type InvalidError struct{ Reason string }

func (e *InvalidError) Error() string { return e.Reason }
func (e *InvalidError) Is(target error) bool {
	return target == ErrInvalid || target == errs.ErrInvalid
}

// Invalidf returns an *InvalidError with a formatted reason.
func Invalidf(format string, args ...any) error {
	return &InvalidError{Reason: fmt.Sprintf(format, args...)}
}

// NotFoundError names a catalog, schema or table that does not exist.
type NotFoundError struct {
	What string // "catalog", "schema", "table"
	Name string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s %s not found", e.What, e.Name) }
func (e *NotFoundError) Is(target error) bool {
	return target == ErrNotFound || target == errs.ErrInvalid
}

// ChangesUnavailableError is a change-feed range that cannot be read: the
// change data feed was off for part of it, or its log or files were cleaned
// up (vacuum, log retention). The remedy is a new snapshot.
type ChangesUnavailableError struct {
	Table      TableName
	Start, End int64
	Reason     string
	Err        error // the driver's error, if any
}

func (e *ChangesUnavailableError) Error() string {
	return fmt.Sprintf("%s: changes between versions %d and %d are not available: %s", e.Table.Plain(), e.Start, e.End, e.Reason)
}
func (e *ChangesUnavailableError) Is(target error) bool { return target == ErrChangesUnavailable }
func (e *ChangesUnavailableError) Unwrap() error        { return e.Err }

// UnsupportedError is something a driver refuses rather than serve partially.
type UnsupportedError struct {
	What string
	Err  error
}

func (e *UnsupportedError) Error() string {
	if e.Err != nil {
		return e.What + ": " + e.Err.Error()
	}
	return "unsupported: " + e.What
}
func (e *UnsupportedError) Is(target error) bool {
	return target == ErrUnsupported || target == errs.ErrUnsupported
}
func (e *UnsupportedError) Unwrap() error { return e.Err }

// VersionUnavailableError is a table version that can no longer be read:
// its log or data files were cleaned up (vacuum, log retention). A reader
// pinned to it must pin a newer version.
type VersionUnavailableError struct {
	Table   TableName
	Version int64
	Reason  string
	Err     error
}

func (e *VersionUnavailableError) Error() string {
	return fmt.Sprintf("%s: version %d can no longer be read: %s", e.Table.Plain(), e.Version, e.Reason)
}
func (e *VersionUnavailableError) Is(target error) bool { return target == ErrVersionUnavailable }
func (e *VersionUnavailableError) Unwrap() error        { return e.Err }
