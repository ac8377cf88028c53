package workspace

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/databricks/databricks-sdk-go/service/sql"

	"github.com/lakeport/lakeport/internal/errs"
)

// Warehouse states (the SDK's sql.State values).
const (
	StateRunning  = string(sql.StateRunning)
	StateStarting = string(sql.StateStarting)
	StateStopped  = string(sql.StateStopped)
	StateStopping = string(sql.StateStopping)
	StateDeleting = string(sql.StateDeleting)
	StateDeleted  = string(sql.StateDeleted)
)

// WarehouseProgress is one observation while EnsureWarehouse waits.
type WarehouseProgress struct {
	ID, Name string
	// State is the warehouse's state as last read.
	State string
	// Starting is true once EnsureWarehouse asked the warehouse to start.
	Starting bool
	// Elapsed is the time since EnsureWarehouse began; Limit is the bound
	// (warehouse_wait).
	Elapsed, Limit time.Duration
	// Message is the warehouse's health summary, if any.
	Message string
}

// String renders the progress for a log or terminal line.
func (p WarehouseProgress) String() string {
	s := fmt.Sprintf("warehouse %s: %s (%s of %s)", p.label(), p.State, p.Elapsed.Round(time.Second), p.Limit)
	if p.Message != "" {
		s += ": " + p.Message
	}
	return s
}

func (p WarehouseProgress) label() string {
	if p.Name != "" && p.Name != p.ID {
		return fmt.Sprintf("%q (%s)", p.Name, p.ID)
	}
	return p.ID
}

// WarehouseState reads the warehouse's state (without starting it).
func (c *Client) WarehouseState(ctx context.Context) (*sql.GetWarehouseResponse, error) {
	var w *sql.GetWarehouseResponse
	err := c.call(ctx, "get warehouse "+c.warehouseID, func(ctx context.Context) error {
		var err error
		w, err = c.warehouses.GetById(ctx, c.warehouseID)
		return err
	})
	return w, err
}

// EnsureWarehouse returns once the SQL warehouse is RUNNING: a stopped
// warehouse is started, a starting one waited for, a stopping one waited
// for and started again. It polls the state through the SDK at jittered
// intervals, reports each observation to progress (if not nil), and gives up
// after the connection's warehouse_wait with an errs.Transient error naming
// the warehouse and its last state. A deleted warehouse is errs.Invalid;
// REST failures are retried per the retry policy (Retry-After honoured)
// within the same bound.
func (c *Client) EnsureWarehouse(ctx context.Context, progress func(WarehouseProgress)) error {
	limit := c.cfg.warehouseWait()
	begin := time.Now()
	wctx, cancel := context.WithDeadlineCause(ctx, begin.Add(limit), errWaitExceeded)
	defer cancel()
	p := WarehouseProgress{ID: c.warehouseID, Limit: limit}
	// expired reports whether err ended the wait because warehouse_wait
	// (not the caller's deadline) ran out.
	expired := func(err error) bool {
		if ctx.Err() != nil {
			return false
		}
		if errors.Is(context.Cause(wctx), errWaitExceeded) {
			return true
		}
		callerDL, has := ctx.Deadline()
		ownDL, _ := wctx.Deadline()
		return errors.Is(err, context.DeadlineExceeded) && (!has || ownDL.Before(callerDL))
	}
	timeout := func() error {
		state := p.State
		if state == "" {
			state = "not reached"
		}
		return c.wrap("start warehouse", errs.Transientf("warehouse %s is still %s after %s (warehouse_wait %s); it may be starting slowly or out of capacity",
			p.label(), state, time.Since(begin).Round(time.Second), limit))
	}
	for {
		w, err := c.WarehouseState(wctx)
		if err != nil {
			if expired(err) {
				if p.State == "" {
					return fmt.Errorf("%w; last error: %w", timeout(), err)
				}
				return timeout()
			}
			return err
		}
		p.State, p.Name, p.Elapsed = string(w.State), w.Name, time.Since(begin)
		p.Message = ""
		if w.Health != nil {
			p.Message = w.Health.Summary
			if p.Message == "" {
				p.Message = w.Health.Message
			}
		}
		if progress != nil {
			progress(p)
		}
		switch w.State {
		case sql.StateRunning:
			return nil
		case sql.StateDeleted, sql.StateDeleting:
			return c.wrap("start warehouse", errs.Invalidf("warehouse %s is %s: the connection's http_path names a warehouse that no longer exists", p.label(), w.State))
		case sql.StateStopped:
			err := c.call(wctx, "start warehouse "+c.warehouseID, func(ctx context.Context) error {
				_, err := c.warehouses.Start(ctx, sql.StartRequest{Id: c.warehouseID})
				return err
			})
			if err != nil {
				if expired(err) {
					return timeout()
				}
				if errs.Classify(err) != errs.Conflict {
					return err
				}
				// INVALID_STATE: it changed under us (e.g. started by
				// someone else); read it again.
			}
			p.Starting = true
		}
		d := jitter(c.cfg.pollInterval(), c.cfg.Retry.Rand)
		if dl, _ := wctx.Deadline(); time.Until(dl) < d {
			// One last look at the deadline, not past it.
			d = max(time.Until(dl), 0)
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-wctx.Done():
			t.Stop()
			if ctx.Err() != nil {
				return c.fail("start warehouse", ctx, errs.Transientf("warehouse %s was %s", p.label(), p.State))
			}
			return timeout()
		}
	}
}

// WarehouseReady is EnsureWarehouse reporting to the configuration's
// WarehouseProgress callback (the SQL driver calls it before its first
// statement).
func (c *Client) WarehouseReady(ctx context.Context) error {
	return c.EnsureWarehouse(ctx, c.cfg.WarehouseProgress)
}

var errWaitExceeded = errors.New("warehouse_wait exceeded")
