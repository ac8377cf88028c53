package delta

import (
	"errors"
	"fmt"
)

// ErrNotATable is returned when a location holds no Delta log.
var ErrNotATable = errors.New("not a Delta table")

// UnsupportedError reports a protocol feature, data type or file kind this
// reader does not support. Reading fails closed rather than skip data.
type UnsupportedError struct {
	What string // "reader feature", "data type", ...
	Name string
}

func (e *UnsupportedError) Error() string { return fmt.Sprintf("unsupported %s %q", e.What, e.Name) }

// CorruptLogError reports a Delta log that cannot be replayed: a gap in the
// versions, a missing protocol or metadata action, an unreadable file.
type CorruptLogError struct {
	Table  string
	Reason string
}

func (e *CorruptLogError) Error() string {
	return fmt.Sprintf("%s: corrupt Delta log: %s", e.Table, e.Reason)
}

// VersionError reports a version or timestamp outside what the table can serve.
type VersionError struct {
	Table  string
	Reason string
}

func (e *VersionError) Error() string { return fmt.Sprintf("%s: %s", e.Table, e.Reason) }
