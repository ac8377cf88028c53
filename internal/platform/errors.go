package platform

import (
	"errors"
	"fmt"
)

// The three classes of failure a caller must tell apart. Test with errors.Is:
// invalid input is never retried, not found is answered as such, a conflict
// is re-read and then retried.
var (
	ErrInvalid  = errors.New("invalid input")
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// InvalidError is input that can never succeed as given.
type InvalidError struct{ Reason string }

func (e *InvalidError) Error() string        { return e.Reason }
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// Invalidf returns an *InvalidError with a formatted reason.
func Invalidf(format string, args ...any) error {
	return &InvalidError{Reason: fmt.Sprintf(format, args...)}
}

// FieldError is invalid input that names the offending field (a profile
// attribute, an identifier or a field of a fixed schema).
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string        { return fmt.Sprintf("field %q: %s", e.Field, e.Reason) }
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// LineError places an error on a 1-based line of NDJSON input.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// NotFoundError names what was looked up and by which key.
type NotFoundError struct {
	What string // "stream", "profile", "audience", ...
	Key  string
}

func (e *NotFoundError) Error() string        { return fmt.Sprintf("%s %q not found", e.What, e.Key) }
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// ConflictError is a write that lost against the stored state, e.g. a
// checkpoint that moved since it was read or a field redefined with
// another type.
type ConflictError struct {
	What   string
	Key    string
	Reason string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s %q: conflict: %s", e.What, e.Key, e.Reason)
}
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }
