package workspace

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/lakeport/lakeport/internal/errs"
)

// RetryPolicy is how a REST call that failed with a transient error (429,
// 5xx, a dropped connection) is tried again. The SDK's own retry loop is
// switched off (it ignores Retry-After and is not jittered per client), so
// this is the only one.
type RetryPolicy struct {
	// Attempts is the most tries per call, the first included (0: 6).
	Attempts int
	// Initial is the first backoff step (0: 1s); it doubles per retry up to
	// Max (0: 30s). Each wait is "equal jitter": between half and all of the
	// step.
	Initial time.Duration
	Max     time.Duration
	// MaxRetryAfter is the longest Retry-After a call waits in place (0: 5m);
	// a longer hint ends the call with a transient error carrying the hint,
	// for the job runner to reschedule.
	MaxRetryAfter time.Duration
	// Rand returns a number in [0,1) (nil: math/rand).
	Rand func() float64
}

// DefaultRetry is the policy of a zero RetryPolicy.
var DefaultRetry = RetryPolicy{Attempts: 6, Initial: time.Second, Max: 30 * time.Second, MaxRetryAfter: 5 * time.Minute}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Attempts <= 0 {
		p.Attempts = DefaultRetry.Attempts
	}
	if p.Initial <= 0 {
		p.Initial = DefaultRetry.Initial
	}
	if p.Max <= 0 {
		p.Max = DefaultRetry.Max
	}
	if p.Max < p.Initial {
		p.Max = p.Initial
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultRetry.MaxRetryAfter
	}
	if p.Rand == nil {
		p.Rand = rand.Float64
	}
	return p
}

// Delay returns the wait before retry number retry (1 for the first retry)
// after err, and false when the call should not wait in place (the error's
// Retry-After exceeds MaxRetryAfter).
//
// Without a Retry-After hint the wait is in [step/2, step], step =
// min(Initial*2^(retry-1), Max). With one (ra) it is in [ra, ra + min(ra/4,
// step)]: never sooner than the server asked, and spread so that many
// clients told the same thing do not return together.
func (p RetryPolicy) Delay(retry int, err error) (time.Duration, bool) {
	p = p.withDefaults()
	step := p.Initial
	for i := 1; i < retry && step < p.Max; i++ {
		step *= 2
	}
	step = min(step, p.Max)
	if ra, ok := errs.RetryAfter(err); ok {
		if ra > p.MaxRetryAfter {
			return 0, false
		}
		spread := min(ra/4, step)
		return ra + time.Duration(p.Rand()*float64(spread)), true
	}
	return step/2 + time.Duration(p.Rand()*float64(step/2)), true
}

// jitter returns d spread evenly over [d*3/4, d*5/4].
func jitter(d time.Duration, rnd func() float64) time.Duration {
	if rnd == nil {
		rnd = rand.Float64
	}
	return d*3/4 + time.Duration(rnd()*float64(d/2))
}

// call runs fn, retrying transient failures per the client's policy, within
// ctx. Every error it returns is classified (an *errs.Error carrying the
// kind and any Retry-After) and says what was being done.
func (c *Client) call(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	p := c.cfg.Retry.withDefaults()
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if strings.Contains(err.Error(), "would exceed context deadline") {
			// The SDK's client-side rate limiter refuses a wait that would
			// outlast ctx: that is ctx's deadline, reached early.
			return c.wrap(what, fmt.Errorf("%w (%v)", context.DeadlineExceeded, err))
		}
		err = classify(err)
		if ctx.Err() != nil {
			return c.fail(what, ctx, err)
		}
		if errs.Classify(err) != errs.Transient || attempt >= p.Attempts {
			return c.wrap(what, err)
		}
		d, ok := p.Delay(attempt, err)
		if !ok {
			return c.wrap(what, err)
		}
		if dl, has := ctx.Deadline(); has && time.Until(dl) < d {
			// The wait would outlast the caller's deadline: give the
			// transient error (and its hint) back instead of sleeping.
			return c.wrap(what, err)
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return c.fail(what, ctx, err)
		case <-t.C:
		}
	}
}

// wrap prefixes err with the connection and the operation.
func (c *Client) wrap(what string, err error) error {
	return &opError{conn: c.cfg.Name, op: what, err: err}
}

// fail is the error of a call whose context ended: the context's error
// (cancellation is not retried; a deadline is transient) with the last
// failure for the message.
func (c *Client) fail(what string, ctx context.Context, last error) error {
	cause := context.Cause(ctx)
	if cause == nil {
		cause = ctx.Err()
	}
	return c.wrap(what, fmt.Errorf("%w (last error: %v)", cause, last))
}

// opError is an error of one operation on a connection. It unwraps to the
// classified cause, so errs.Classify and errs.RetryAfter see through it.
type opError struct {
	conn, op string
	err      error
}

func (e *opError) Error() string {
	if e.conn == "" {
		return "databricks: " + e.op + ": " + e.err.Error()
	}
	return fmt.Sprintf("databricks connection %q: %s: %v", e.conn, e.op, e.err)
}

func (e *opError) Unwrap() error { return e.err }
