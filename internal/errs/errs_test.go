package errs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/errs"
)

var errPortSentinel = errors.New("port: not found")

type ownType struct{}

func (ownType) Error() string        { return "own" }
func (ownType) Is(target error) bool { return target == errs.ErrUnsupported }

func init() {
	errs.RegisterSentinel(errPortSentinel, errs.Invalid)
}

func TestClassify(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want errs.Kind
	}{
		{"nil", nil, errs.Unknown},
		{"plain", errors.New("x"), errs.Unknown},
		{"invalid", errs.Invalidf("bad %s", "x"), errs.Invalid},
		{"wrapped invalid", fmt.Errorf("ctx: %w", errs.Invalidf("bad")), errs.Invalid},
		{"transient", errs.Transientf("later"), errs.Transient},
		{"conflict", errs.Conflictf("moved"), errs.Conflict},
		{"unsupported", errs.Unsupportedf("feature"), errs.Unsupported},
		{"auth", errs.Authf("no"), errs.Auth},
		{"Wrap", errs.Wrap(errs.Auth, io.EOF), errs.Auth},
		{"outermost kind wins", errs.Wrap(errs.Invalid, errs.Transientf("x")), errs.Invalid},
		{"own type with Is", fmt.Errorf("w: %w", ownType{}), errs.Unsupported},
		{"registered sentinel", fmt.Errorf("w: %w", errPortSentinel), errs.Invalid},
		{"deadline", context.DeadlineExceeded, errs.Transient},
		{"canceled", context.Canceled, errs.Unknown},
		{"conn refused", &net.OpError{Op: "dial", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}, errs.Transient},
		{"conn reset", fmt.Errorf("read: %w", syscall.ECONNRESET), errs.Transient},
		{"unexpected EOF", io.ErrUnexpectedEOF, errs.Transient},
		{"net timeout", &net.DNSError{IsTimeout: true}, errs.Transient},
		{"retry after", errs.WithRetryAfter(errors.New("slow down"), time.Second), errs.Transient},
		{"joined", errors.Join(errors.New("a"), errs.Conflictf("b")), errs.Conflict},
	}
	for _, c := range cases {
		if got := errs.Classify(c.err); got != c.want {
			t.Errorf("%s: Classify(%v) = %s, want %s", c.name, c.err, got, c.want)
		}
	}
}

func TestIsAndUnwrap(t *testing.T) {
	err := fmt.Errorf("job x: %w", errs.Wrap(errs.Transient, io.ErrUnexpectedEOF))
	if !errors.Is(err, errs.ErrTransient) || errors.Is(err, errs.ErrInvalid) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Error("errors.Is does not see the kind and the cause")
	}
	if err.Error() != "job x: unexpected EOF" {
		t.Errorf("message changed: %q", err)
	}
	if errs.Wrap(errs.Invalid, nil) != nil || errs.WithRetryAfter(nil, time.Second) != nil {
		t.Error("wrapping nil is not nil")
	}
	if !errs.Transient.Retryable() || !errs.Conflict.Retryable() || errs.Invalid.Retryable() || errs.Unknown.Retryable() ||
		errs.Auth.Retryable() || errs.Unsupported.Retryable() {
		t.Error("Retryable")
	}
	if errs.Kind(42).String() != "kind(42)" || errs.Unsupported.String() != "unsupported" {
		t.Error("String")
	}
}

func TestRetryAfter(t *testing.T) {
	err := fmt.Errorf("outer: %w", errs.WithRetryAfter(errors.New("429"), 7*time.Second))
	if d, ok := errs.RetryAfter(err); !ok || d != 7*time.Second {
		t.Errorf("RetryAfter = %v, %v", d, ok)
	}
	if _, ok := errs.RetryAfter(errs.Transientf("x")); ok {
		t.Error("hint without one")
	}
	// A hint deeper in the chain is found through kinds without one.
	deep := errs.Wrap(errs.Transient, errs.WithRetryAfter(errors.New("x"), time.Minute))
	if d, ok := errs.RetryAfter(deep); !ok || d != time.Minute {
		t.Errorf("deep hint = %v, %v", d, ok)
	}
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"120":                           2 * time.Minute,
		"0":                             0,
		"Wed, 01 Jan 2025 12:00:30 GMT": 30 * time.Second,
		"Wed, 01 Jan 2025 11:00:00 GMT": 0,
		"99999999":                      24 * time.Hour,
	}
	for v, want := range cases {
		if d, ok := errs.ParseRetryAfter(v, now); !ok || d != want {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v", v, d, ok, want)
		}
	}
	for _, v := range []string{"", "-1", "soon"} {
		if _, ok := errs.ParseRetryAfter(v, now); ok {
			t.Errorf("ParseRetryAfter(%q) ok", v)
		}
	}
}

func TestFromHTTP(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	cases := map[int]errs.Kind{400: errs.Invalid, 401: errs.Auth, 403: errs.Auth, 404: errs.Invalid, 409: errs.Conflict,
		429: errs.Transient, 500: errs.Transient, 501: errs.Unsupported, 503: errs.Transient, 418: errs.Unknown}
	for status, want := range cases {
		if got := errs.Classify(errs.FromHTTP(status, "", now, nil)); got != want {
			t.Errorf("HTTP %d: %s, want %s", status, got, want)
		}
	}
	err := errs.FromHTTP(429, "3", now, errors.New("rate limited"))
	if d, ok := errs.RetryAfter(err); !ok || d != 3*time.Second || err.Error() != "rate limited" {
		t.Errorf("429 with Retry-After: %v %v %q", d, ok, err)
	}
	if _, ok := errs.RetryAfter(errs.FromHTTP(400, "3", now, nil)); ok {
		t.Error("a hint on a non-transient error")
	}
}
