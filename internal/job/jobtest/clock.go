package jobtest

import (
	"sort"
	"sync"
	"testing"
	"time"
)

// Clock is a job.Clock whose time moves only when told (Advance, Set).
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	changed chan struct{} // closed and replaced whenever waiters change
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

// NewClock returns a fake clock reading start.
func NewClock(start time.Time) *Clock {
	return &Clock{now: start, changed: make(chan struct{})}
}

// Now implements job.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After implements job.Clock: the channel fires when the clock reaches
// now+d (at once if d <= 0).
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{at: c.now.Add(d), ch: ch})
	c.notify()
	return ch
}

func (c *Clock) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// Advance moves the clock forward by d, firing the timers due.
func (c *Clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// Set moves the clock to t (never backwards), firing the timers due.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Before(c.now) {
		return
	}
	c.now = t
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(t) {
			w.ch <- t
		} else {
			keep = append(keep, w)
		}
	}
	c.waiters = keep
	c.notify()
}

// Waiters returns the pending timers' remaining durations, shortest first.
func (c *Clock) Waiters() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]time.Duration, len(c.waiters))
	for i, w := range c.waiters {
		out[i] = w.at.Sub(c.now)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// WaitFor blocks until cond holds for the pending timers' durations, or
// fails the test after a generous real-time guard (a deadlock, not a
// timing assertion).
func (c *Clock) WaitFor(t testing.TB, what string, cond func(waiters []time.Duration) bool) []time.Duration {
	t.Helper()
	guard := time.After(30 * time.Second)
	for {
		c.mu.Lock()
		ch := c.changed
		c.mu.Unlock()
		if ws := c.Waiters(); cond(ws) {
			return ws
		}
		select {
		case <-ch:
		case <-guard:
			t.Fatalf("fake clock: gave up waiting for %s (timers pending: %v)", what, c.Waiters())
		}
	}
}

// AutoAdvance starts firing, as soon as it is set, every timer due within
// limit of the clock's time, moving the clock to it (what a retry's
// backoff wait needs to pass instantly). The returned stop function ends
// it and returns the durations it advanced through, in order.
func (c *Clock) AutoAdvance(limit time.Duration) (stop func() []time.Duration) {
	quit := make(chan struct{})
	done := make(chan struct{})
	var advanced []time.Duration
	go func() {
		defer close(done)
		for {
			c.mu.Lock()
			var next *waiter
			for i := range c.waiters {
				w := &c.waiters[i]
				if w.at.Sub(c.now) <= limit && (next == nil || w.at.Before(next.at)) {
					next = w
				}
			}
			ch := c.changed
			var at time.Time
			var d time.Duration
			if next != nil {
				at, d = next.at, next.at.Sub(c.now)
			}
			c.mu.Unlock()
			if next != nil {
				advanced = append(advanced, d)
				c.Set(at)
				continue
			}
			select {
			case <-ch:
			case <-quit:
				return
			}
		}
	}()
	return func() []time.Duration {
		close(quit)
		<-done
		return advanced
	}
}
