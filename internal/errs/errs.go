package errs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Kind is what a caller should do about an error.
type Kind int

// The kinds; see the package documentation.
const (
	Unknown Kind = iota
	Invalid
	Transient
	Conflict
	Unsupported
	Auth
)

var kindNames = [...]string{"unknown", "invalid", "transient", "conflict", "unsupported", "auth"}

// String returns the kind's lower-case name ("invalid", "transient", ...).
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "kind(" + strconv.Itoa(int(k)) + ")"
	}
	return kindNames[k]
}

// Retryable reports whether an error of this kind may succeed when tried
// again: Transient and Conflict.
func (k Kind) Retryable() bool { return k == Transient || k == Conflict }

// Error is an error with a kind and, for transient errors, an optional hint
// of how long to wait before retrying.
type Error struct {
	Kind       Kind
	Err        error
	RetryAfter time.Duration // 0: no hint
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Kind.String() + " error"
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, errs.ErrInvalid) and friends work.
func (e *Error) Is(target error) bool {
	s, ok := target.(*sentinel)
	return ok && s.kind == e.Kind
}

type sentinel struct{ kind Kind }

func (s *sentinel) Error() string { return s.kind.String() }

// Sentinels for errors.Is: errors.Is(err, errs.ErrTransient) holds for any
// *Error of that kind in err's chain.
var (
	ErrInvalid     error = &sentinel{Invalid}
	ErrTransient   error = &sentinel{Transient}
	ErrConflict    error = &sentinel{Conflict}
	ErrUnsupported error = &sentinel{Unsupported}
	ErrAuth        error = &sentinel{Auth}
)

// Wrap returns err with the given kind (nil stays nil).
func Wrap(kind Kind, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: kind, Err: err}
}

// New returns a new error of the given kind with a formatted message
// (%w wraps as with fmt.Errorf).
func New(kind Kind, format string, args ...any) error {
	return &Error{Kind: kind, Err: fmt.Errorf(format, args...)}
}

// Invalidf returns an Invalid error.
func Invalidf(format string, args ...any) error { return New(Invalid, format, args...) }

// Transientf returns a Transient error.
func Transientf(format string, args ...any) error { return New(Transient, format, args...) }

// Conflictf returns a Conflict error.
func Conflictf(format string, args ...any) error { return New(Conflict, format, args...) }

// Unsupportedf returns an Unsupported error.
func Unsupportedf(format string, args ...any) error { return New(Unsupported, format, args...) }

// Authf returns an Auth error.
func Authf(format string, args ...any) error { return New(Auth, format, args...) }

// WithRetryAfter returns err classified Transient carrying a hint to wait d
// before the next attempt.
func WithRetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: Transient, Err: err, RetryAfter: d}
}

// RetryAfter returns the first Retry-After hint in err's chain.
func RetryAfter(err error) (time.Duration, bool) {
	for e := err; e != nil; {
		var ke *Error
		if !errors.As(e, &ke) {
			return 0, false
		}
		if ke.RetryAfter > 0 {
			return ke.RetryAfter, true
		}
		e = ke.Err
	}
	return 0, false
}

// A Classifier recognises errors of one package (its sentinels and types)
// and says their kind; ok is false for errors it does not know.
type Classifier func(err error) (kind Kind, ok bool)

var (
	mu          sync.RWMutex
	classifiers []Classifier
)

// Register adds a classifier consulted by Classify. Ports call it from init
// for their own error types.
func Register(c Classifier) {
	mu.Lock()
	classifiers = append(classifiers, c)
	mu.Unlock()
}

// RegisterSentinel classifies every error matching target (errors.Is) as kind.
func RegisterSentinel(target error, kind Kind) {
	Register(func(err error) (Kind, bool) { return kind, errors.Is(err, target) })
}

// Classify returns err's kind (Unknown for nil or unrecognised errors).
func Classify(err error) Kind {
	if err == nil {
		return Unknown
	}
	var ke *Error
	if errors.As(err, &ke) {
		return ke.Kind
	}
	// Error types of other packages opt in with an Is method matching a
	// sentinel, e.g. func (e *MyErr) Is(t error) bool { return t == errs.ErrInvalid }.
	for _, s := range []*sentinel{ErrInvalid.(*sentinel), ErrTransient.(*sentinel), ErrConflict.(*sentinel),
		ErrUnsupported.(*sentinel), ErrAuth.(*sentinel)} {
		if errors.Is(err, s) {
			return s.kind
		}
	}
	mu.RLock()
	cs := classifiers
	mu.RUnlock()
	for _, c := range cs {
		if k, ok := c(err); ok {
			return k
		}
	}
	return classifyStd(err)
}

func classifyStd(err error) Kind {
	switch {
	case errors.Is(err, context.Canceled):
		// The caller gave up; retrying would ignore that.
		return Unknown
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ETIMEDOUT),
		errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH):
		return Transient
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return Transient
	}
	var de *net.DNSError
	if errors.As(err, &de) && (de.IsTemporary || de.IsTimeout) {
		return Transient
	}
	return Unknown
}

// FromHTTP classifies a failed HTTP response by its status code and
// Retry-After header (seconds or an HTTP date, relative to now), wrapping
// err: 400/404/405/410/413/422 Invalid, 401/403 Auth, 409/412 Conflict,
// 501 Unsupported, 408/425/429/500/502/503/504 Transient; other statuses
// are Unknown (returned unwrapped).
func FromHTTP(status int, retryAfter string, now time.Time, err error) error {
	if err == nil {
		err = fmt.Errorf("HTTP %d %s", status, http.StatusText(status))
	}
	var k Kind
	switch status {
	case 400, 404, 405, 410, 413, 422:
		k = Invalid
	case 401, 403:
		k = Auth
	case 409, 412:
		k = Conflict
	case 501:
		k = Unsupported
	case 408, 425, 429, 500, 502, 503, 504:
		k = Transient
	default:
		return err
	}
	e := &Error{Kind: k, Err: err}
	if k == Transient {
		e.RetryAfter, _ = ParseRetryAfter(retryAfter, now)
	}
	return e
}

// ParseRetryAfter parses a Retry-After header value: delay seconds or an
// HTTP date (then the wait is measured from now; a date in the past is 0).
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(24*time.Hour/time.Second) {
			n = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return d, true
}
