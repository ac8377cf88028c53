package job_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/job"
)

// syncDefs stores the jobs' definitions as of now (their creation time
// anchors their first slot).
func syncDefs(t *testing.T, h *harness, specs []*job.Spec) {
	t.Helper()
	var defs []job.Definition
	for _, s := range specs {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		defs = append(defs, job.Definition{Name: s.Name, Body: b})
	}
	if _, err := h.state.SyncDefinitions(context.Background(), job.DefJob, defs, h.clock.Now()); err != nil {
		t.Fatal(err)
	}
}

type schedRun struct {
	job  string
	slot time.Time
	err  error
}

// startScheduler runs a scheduler with a one-minute tick; runs are reported
// on the returned channel.
func startScheduler(t *testing.T, h *harness, r *job.Runner, specs []*job.Spec, conc int) (<-chan schedRun, context.CancelFunc, <-chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	runs := make(chan schedRun, 100)
	s := &job.Scheduler{Runner: r, Jobs: specs, Clock: h.clock, Tick: time.Minute, Concurrency: conc,
		OnRun: func(spec *job.Spec, rec job.RunRecord, err error) {
			runs <- schedRun{job: spec.Name, slot: rec.Scheduled, err: err}
		}}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	// Wait until it is ticking.
	h.clock.WaitFor(t, "the scheduler's tick", func(ws []time.Duration) bool { return len(ws) > 0 })
	return runs, cancel, done
}

func recv(t *testing.T, ch <-chan schedRun) schedRun {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(30 * time.Second): // a deadlock guard, not a timing assertion
		t.Fatal("no run reported")
	}
	return schedRun{}
}

func TestSchedulerAcrossDST(t *testing.T) {
	h := newHarness(t, "sqlite")
	var mu sync.Mutex
	ran := map[string][]time.Time{}
	flow := func(ctx context.Context, r *job.Run) (job.Result, error) {
		mu.Lock()
		ran[r.Job.Name] = append(ran[r.Job.Name], h.clock.Now())
		mu.Unlock()
		return job.Result{Rows: 1}, nil
	}
	specs := []*job.Spec{
		spec(t, "quarterly", "    schedule: every 15m\n", flow),
		spec(t, "nightly", "    schedule: {frequency: daily, time_of_day: \"02:30\", time_zone: Europe/Amsterdam}\n", flow),
		spec(t, "manual", "", flow),
		spec(t, "paused", "    schedule: every 15m\n    paused: true\n", flow),
		spec(t, "once", "    schedule: once\n", flow),
	}
	syncDefs(t, h, specs) // defined at 23:50 UTC on 2025-03-29
	runs, cancel, done := startScheduler(t, h, h.runner, specs, 2)
	// Expected, in UTC: once at start; every 15 minutes from 00:00; the
	// nightly 02:30 Amsterdam run at the end of the spring-forward gap,
	// 03:00 CEST = 01:00 UTC.
	want := map[string][]string{
		"once":      {"23:50"},
		"quarterly": {"00:00", "00:15", "00:30", "00:45", "01:00", "01:15", "01:30"},
		"nightly":   {"01:00"},
	}
	expect := map[time.Time]int{}
	for _, slots := range want {
		for _, s := range slots {
			tm, _ := time.Parse("15:04", s)
			day := t0
			if s < "23:00" {
				day = t0.Add(24 * time.Hour)
			}
			at := time.Date(day.Year(), day.Month(), day.Day(), tm.Hour(), tm.Minute(), 0, 0, time.UTC)
			expect[at]++
		}
	}
	got := map[string][]string{}
	take := func(n int) {
		for range n {
			r := recv(t, runs)
			if r.err != nil {
				t.Fatalf("%s: %v", r.job, r.err)
			}
			got[r.job] = append(got[r.job], r.slot.UTC().Format("15:04"))
		}
	}
	take(expect[t0])
	end := t0.Add(100 * time.Minute)
	for h.clock.Now().Before(end) {
		h.clock.Advance(time.Minute)
		take(expect[h.clock.Now()])
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-runs:
		t.Fatalf("unexpected run %s at %s", r.job, r.slot)
	default:
	}
	for name := range want {
		sort.Strings(got[name])
		if fmt.Sprint(got[name]) != fmt.Sprint(want[name]) {
			t.Errorf("%s ran for slots %v, want %v", name, got[name], want[name])
		}
	}
	if len(ran["manual"])+len(ran["paused"]) != 0 {
		t.Errorf("manual or paused jobs ran: %v", ran)
	}
	if at := ran["nightly"]; len(at) != 1 || at[0].In(mustLoc(t, "Europe/Amsterdam")).Format("15:04 MST") != "03:00 CEST" {
		t.Errorf("nightly ran at %v", at)
	}
}

func mustLoc(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestSchedulerCatchesUpOnce(t *testing.T) {
	h := newHarness(t, "sqlite")
	calls := 0
	s := spec(t, "behind", "    schedule: hourly\n", func(ctx context.Context, r *job.Run) (job.Result, error) { calls++; return job.Result{}, nil })
	// Defined two days ago; the server was down since.
	h.clock.Set(t0)
	if _, err := h.state.SyncDefinitions(context.Background(), job.DefJob, []job.Definition{{Name: "behind", Body: []byte(`{}`)}}, t0.Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	runs, cancel, done := startScheduler(t, h, h.runner, []*job.Spec{s}, 1)
	r := recv(t, runs)
	if r.err != nil || !r.slot.Equal(time.Date(2025, 3, 29, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("catch-up run: slot %s, %v (want the latest missed slot, 23:00)", r.slot, r.err)
	}
	h.clock.Advance(time.Minute)
	h.clock.WaitFor(t, "the next tick", func(ws []time.Duration) bool { return len(ws) > 0 })
	cancel()
	<-done
	if calls != 1 {
		t.Errorf("%d runs for 48 missed slots, want 1", calls)
	}
}

func TestSchedulerConcurrencyAndStop(t *testing.T) {
	h := newHarness(t, "sqlite")
	var running, peak atomic.Int32
	started := make(chan string, 10)
	flow := func(ctx context.Context, r *job.Run) (job.Result, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		started <- r.Job.Name
		<-ctx.Done() // runs until the scheduler stops
		return job.Result{}, ctx.Err()
	}
	var specs []*job.Spec
	for i := range 4 {
		specs = append(specs, spec(t, fmt.Sprintf("c%d", i), "    schedule: once\n", flow))
	}
	syncDefs(t, h, specs)
	runs, cancel, done := startScheduler(t, h, h.runner, specs, 2)
	<-started
	<-started
	// Time passes; the two others wait for a free slot.
	for range 5 {
		h.clock.Advance(time.Minute)
	}
	h.clock.WaitFor(t, "a tick", func(ws []time.Duration) bool { return len(ws) > 0 })
	select {
	case name := <-started:
		t.Fatalf("%s started beyond the concurrency limit", name)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if peak.Load() != 2 || running.Load() != 0 {
		t.Errorf("peak %d, still running %d", peak.Load(), running.Load())
	}
	_ = runs
	for _, sp := range specs {
		rs, _ := h.state.Runs(context.Background(), sp.Name, 0, 10)
		for _, r := range rs {
			if r.Status != job.StatusCanceled {
				t.Errorf("%s: %s after stop, want canceled", sp.Name, r.Status)
			}
		}
		if last, _ := h.state.LastScheduled(context.Background(), sp.Name); !last.IsZero() {
			t.Errorf("%s: a stopped run consumed its slot", sp.Name)
		}
	}
}

// Two schedulers (two processes' handles and owners) over the same jobs:
// every slot runs exactly once.
func TestTwoSchedulers(t *testing.T) {
	backends(t, func(t *testing.T, h *harness) {
		var mu sync.Mutex
		count := map[string]int{}
		changed := make(chan struct{}, 100)
		flow := func(ctx context.Context, r *job.Run) (job.Result, error) {
			mu.Lock()
			count[fmt.Sprintf("%s@%s", r.Job.Name, r.Scheduled.UTC().Format("15:04"))]++
			mu.Unlock()
			changed <- struct{}{}
			return job.Result{}, nil
		}
		specs := []*job.Spec{
			spec(t, "a", "    schedule: every 15m\n", flow),
			spec(t, "b", "    schedule: every 30m\n", flow),
		}
		syncDefs(t, h, specs)
		other := &job.Runner{State: h.open(), Env: h.runner.Env, Clock: h.clock, Owner: "process-2", LeaseTTL: time.Hour}
		reports1, cancel1, done1 := startScheduler(t, h, h.runner, specs, 2)
		reports2, cancel2, done2 := startScheduler(t, h, other, specs, 2)
		go func() {
			for range reports1 {
			}
		}()
		go func() {
			for range reports2 {
			}
		}()
		var want []string
		for h.clock.Now().Before(t0.Add(70 * time.Minute)) {
			h.clock.Advance(time.Minute)
			now := h.clock.Now()
			for _, s := range []struct {
				name  string
				every int
			}{{"a", 15}, {"b", 30}} {
				if now.Minute()%s.every != 0 {
					continue
				}
				key := fmt.Sprintf("%s@%s", s.name, now.Format("15:04"))
				want = append(want, key)
				for {
					mu.Lock()
					n := count[key]
					mu.Unlock()
					if n > 0 {
						break
					}
					select {
					case <-changed:
					case <-time.After(30 * time.Second): // deadlock guard
						t.Fatalf("slot %s never ran", key)
					}
				}
			}
		}
		// A few more ticks give a duplicate every chance to show.
		for range 3 {
			h.clock.Advance(time.Minute)
		}
		cancel1()
		cancel2()
		<-done1
		<-done2
		mu.Lock()
		defer mu.Unlock()
		for k, n := range count {
			if n != 1 {
				t.Errorf("slot %s ran %d times", k, n)
			}
		}
		if len(count) != len(want) {
			t.Errorf("slots run: %v, want %v", count, want)
		}
		owners := map[string]int{}
		for _, s := range specs {
			rs, _ := h.state.Runs(context.Background(), s.Name, 0, 100)
			for _, r := range rs {
				owners[r.Owner]++
			}
		}
		t.Logf("runs per process: %v", owners)
	})
}
