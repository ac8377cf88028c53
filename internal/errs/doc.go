// Package errs classifies failures into the few kinds that decide what
// Lakeport does next, so that retrying happens in one place (the job
// runner) and every layer below it only has to say what went wrong.
//
// # Kinds
//
//   - Invalid: input that can never succeed as given (a bad setting, a
//     missing column, an unmapped type). Never retried.
//   - Transient: the same call may succeed later (a timeout, a dropped
//     connection, HTTP 429/503). Retried with jittered backoff; a
//     Retry-After hint carried by the error is honoured.
//   - Conflict: lost a race against stored state (a checkpoint moved, a
//     concurrent commit). The caller re-reads, then retries.
//   - Unsupported: a feature Lakeport does not implement (an unknown Delta
//     reader feature). Never retried.
//   - Auth: credentials missing, wrong or lacking permission. Never retried.
//   - Unknown: anything not classified. Not retried: failing loudly beats
//     hammering a system for a reason nobody understood.
//
// # Invariants
//
//   - Classify is the only place that decides a kind. It looks, in order,
//     for an *Error in the chain; for an error whose Is method matches one
//     of the sentinels (ErrInvalid, ErrTransient, ...), the way a package
//     makes its own error types classifiable; for a registered classifier
//     (ports register their existing sentinel errors from init, so this
//     package imports nothing of Lakeport's); then for well-known
//     standard-library failures (timeouts, refused or reset connections).
//   - Wrapping never hides the cause: *Error unwraps, so errors.Is and
//     errors.As still see the original error.
//   - An error's message is not changed by classification; the kind is
//     metadata.
package errs
