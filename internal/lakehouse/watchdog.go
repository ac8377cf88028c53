package lakehouse

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lakeport/lakeport/internal/errs"
)

// Watchdog bounds each lakehouse call by a query timeout. Calls run in its
// context; a call that takes longer than the timeout cancels the context and
// fails as a transient error, so the job runner retries the run.
type Watchdog struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	timeout time.Duration
}

var errQueryTimeout = errors.New("query timeout")

// NewWatchdog returns a watchdog for calls made on behalf of ctx.
func NewWatchdog(ctx context.Context, timeout time.Duration) *Watchdog {
	c, cancel := context.WithCancelCause(ctx)
	return &Watchdog{ctx: c, cancel: cancel, timeout: timeout}
}

// Context is the context the watched calls run in.
func (w *Watchdog) Context() context.Context { return w.ctx }

// Call runs fn, cancelling it when it exceeds the timeout.
func (w *Watchdog) Call(fn func(ctx context.Context) error) error {
	t := time.AfterFunc(w.timeout, func() { w.cancel(errQueryTimeout) })
	err := fn(w.ctx)
	t.Stop()
	if errors.Is(context.Cause(w.ctx), errQueryTimeout) {
		return errs.Wrap(errs.Transient, fmt.Errorf("the lakehouse did not answer within the query timeout (%s): %w", w.timeout, err))
	}
	return err
}

// Stop releases the watchdog's context.
func (w *Watchdog) Stop() { w.cancel(nil) }
