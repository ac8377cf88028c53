package job

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Scheduler defaults.
const (
	DefaultTick        = 5 * time.Second
	DefaultConcurrency = 4
)

// NextRun returns when a job with schedule s is next due, given the
// schedule slot of its last completed run (zero if none) and when it was
// first defined; zero means never. A new recurring job first runs at its
// first slot after it was defined; a once job runs at its time, or at the
// first opportunity if it has none, and never again after it completed.
func NextRun(s Schedule, last, created time.Time) time.Time {
	switch s.Frequency {
	case Manual:
		return time.Time{}
	case Once:
		if !last.IsZero() {
			return time.Time{}
		}
		if !s.At.IsZero() {
			return s.At
		}
		return created
	}
	base := last
	if base.IsZero() {
		base = created
	}
	return s.Next(base)
}

// latestSlot returns the newest slot at or before now, starting from the
// due slot next: missed slots (the server was down) collapse into one run.
func latestSlot(s Schedule, next, now time.Time) time.Time {
	slot := next
	for range 1_000_000 {
		n := s.Next(slot)
		if n.IsZero() || n.After(now) {
			break
		}
		slot = n
	}
	return slot
}

// Scheduler runs jobs when their schedules say, until its context ends.
//
// Each tick it runs every due job not already running in this process,
// at most Concurrency at a time; the Runner's lease keeps other processes
// from running the same job at once, and a slot that already ran elsewhere
// is skipped. A run that was canceled (the scheduler stopped) leaves its
// slot due, so it runs again at the next start; a run that failed after its
// retries consumes its slot.
type Scheduler struct {
	Runner      *Runner
	Jobs        []*Spec
	Clock       Clock         // nil: SystemClock
	Tick        time.Duration // how often due jobs are looked for; 0: DefaultTick
	Concurrency int           // 0: DefaultConcurrency
	Log         *slog.Logger
	// OnRun, if set, is called after every run attempt the scheduler made
	// (including ErrSlotDone and lease conflicts).
	OnRun func(spec *Spec, rec RunRecord, err error)
}

type schedState struct {
	next      time.Time
	notBefore time.Time // after an attempt that did not move next: wait a tick
	running   bool
}

// Run schedules until ctx ends, then waits for the runs in flight (they see
// the canceled context) and returns nil.
func (s *Scheduler) Run(ctx context.Context) error {
	clock := s.Clock
	if clock == nil {
		clock = SystemClock
	}
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tick := s.Tick
	if tick <= 0 {
		tick = DefaultTick
	}
	conc := s.Concurrency
	if conc <= 0 {
		conc = DefaultConcurrency
	}
	store := s.Runner.State

	created := map[string]time.Time{}
	defs, err := store.Definitions(ctx, DefJob)
	if err != nil {
		return err
	}
	for _, d := range defs {
		created[d.Name] = d.Created
	}
	start := clock.Now()
	state := map[string]*schedState{}
	nextOf := func(spec *Spec) (time.Time, error) {
		last, err := store.LastScheduled(ctx, spec.Name)
		if err != nil {
			return time.Time{}, err
		}
		c, ok := created[spec.Name]
		if !ok {
			c = start
		}
		return NextRun(spec.Schedule, last, c), nil
	}
	for _, spec := range s.Jobs {
		if spec.Paused || spec.Schedule.Frequency == Manual {
			continue
		}
		next, err := nextOf(spec)
		if err != nil {
			return err
		}
		state[spec.Name] = &schedState{next: next}
		log.Info("scheduled", "job", spec.Name, "schedule", spec.Schedule.String(), "next", next)
	}

	type finished struct {
		spec *Spec
	}
	done := make(chan finished)
	var wg sync.WaitGroup
	inFlight := 0
	defer wg.Wait()
	for {
		now := clock.Now()
		for _, spec := range s.Jobs {
			st := state[spec.Name]
			if st == nil || st.running || st.next.IsZero() || st.next.After(now) || st.notBefore.After(now) || inFlight >= conc {
				continue
			}
			slot := latestSlot(spec.Schedule, st.next, now)
			st.running = true
			inFlight++
			wg.Add(1)
			go func(spec *Spec, slot time.Time) {
				defer wg.Done()
				rec, err := s.Runner.Run(ctx, spec, RunOptions{Scheduled: slot})
				var held *LeaseHeldError
				switch {
				case errors.Is(err, ErrSlotDone), errors.As(err, &held):
					log.Debug("not run here", "job", spec.Name, "slot", slot, "why", err)
				case err != nil && rec.Seq == 0:
					log.Error("could not run", "job", spec.Name, "slot", slot, "err", err)
				}
				if s.OnRun != nil {
					s.OnRun(spec, rec, err)
				}
				select {
				case done <- finished{spec}:
				case <-ctx.Done():
				}
			}(spec, slot)
		}
		select {
		case <-ctx.Done():
			return nil
		case f := <-done:
			inFlight--
			st := state[f.spec.Name]
			st.running = false
			next, err := nextOf(f.spec)
			if err != nil {
				log.Error("reading schedule state", "job", f.spec.Name, "err", err)
				next = st.next
			}
			if next.Equal(st.next) {
				// Not run here (running elsewhere, canceled, or the store
				// failed): look again next tick rather than spin.
				st.notBefore = clock.Now().Add(tick)
			}
			st.next = next
		case <-clock.After(tick):
		}
	}
}
