package job

import (
	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/platform"
)

// The platform port's error classes, in the engine's terms: its invalid
// input is never retried, a lost race (a checkpoint that moved) is retried
// after a re-read, and a missing stream, profile or audience is a
// configuration problem.
func init() {
	errs.RegisterSentinel(platform.ErrInvalid, errs.Invalid)
	errs.RegisterSentinel(platform.ErrConflict, errs.Conflict)
	errs.RegisterSentinel(platform.ErrNotFound, errs.Invalid)
}
