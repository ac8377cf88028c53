package job_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/job/jobstore"
	"github.com/lakeport/lakeport/internal/job/jobtest"
	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/pgstore"
	"github.com/lakeport/lakeport/internal/platform/pgstore/pgtest"
	"github.com/lakeport/lakeport/internal/platform/sqlitestore"
)

// The fake kind: each job's behaviour is set by the test that runs it.
var behaviours sync.Map // job name -> flowFunc

type flowFunc func(ctx context.Context, r *job.Run) (job.Result, error)

func (f flowFunc) Run(ctx context.Context, r *job.Run) (job.Result, error) { return f(ctx, r) }

type fakeSettings struct {
	Table string `yaml:"table" lakeport:"required"`
}

func init() {
	job.Register("test.fake", func(spec *job.Spec, env *job.Env) (job.Flow, error) {
		var s fakeSettings
		if err := spec.DecodeSettings(&s); err != nil {
			return nil, err
		}
		f, ok := behaviours.Load(spec.Name)
		if !ok {
			return nil, spec.Errorf("name", "no behaviour for this test job")
		}
		return f.(flowFunc), nil
	})
}

var t0 = time.Date(2025, 3, 29, 23, 50, 0, 0, time.UTC)

type harness struct {
	t      *testing.T
	clock  *jobtest.Clock
	state  job.Store
	plat   platform.Store
	runner *job.Runner
	open   func() job.Store // another handle on the same state database
}

func backends(t *testing.T, test func(t *testing.T, h *harness)) {
	t.Run("sqlite", func(t *testing.T) { test(t, newHarness(t, "sqlite")) })
	t.Run("postgres", func(t *testing.T) { test(t, newHarness(t, "postgres")) })
}

func newHarness(t *testing.T, backend string) *harness {
	ctx := context.Background()
	var stateLoc string
	var plat platform.Store
	var err error
	switch backend {
	case "sqlite":
		dir := t.TempDir()
		stateLoc = "sqlite://" + filepath.Join(dir, "state.db")
		plat, err = sqlitestore.Open(ctx, filepath.Join(dir, "platform.db"), platform.Options{})
	case "postgres":
		base := pgtest.URL(t)
		stateLoc = pgtest.FreshSchema(t, base)
		plat, err = pgstore.Open(ctx, pgtest.FreshSchema(t, base), platform.Options{})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { plat.Close() })
	open := func() job.Store {
		s, err := jobstore.Open(ctx, stateLoc)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	h := &harness{t: t, clock: jobtest.NewClock(t0), plat: plat, open: open}
	h.state = open()
	h.runner = &job.Runner{State: h.state, Env: &job.Env{Platform: plat}, Clock: h.clock, Owner: "test-owner",
		LeaseTTL: time.Hour, Backoff: job.Backoff{Rand: func() float64 { return 0.5 }}}
	return h
}

// spec parses a one-job configuration.
func spec(t *testing.T, name, extra string, fn flowFunc) *job.Spec {
	t.Helper()
	behaviours.Store(name, fn)
	c, err := job.Parse([]byte("jobs:\n  - name: "+name+"\n    kind: test.fake\n    settings: {table: t}\n"+extra), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return c.Jobs[0]
}

func (h *harness) events() []platform.SystemEvent {
	evs, err := h.plat.SystemEvents(context.Background(), platform.Cursor{}, 1000)
	if err != nil {
		h.t.Fatal(err)
	}
	return evs
}

func (h *harness) metrics(jobName string) map[string]float64 {
	ms, err := h.plat.Metrics(context.Background(), platform.MetricQuery{Dimension: platform.DimensionJob, DimensionID: jobName})
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]float64{}
	for _, m := range ms {
		out[m.Type] += m.Value
	}
	return out
}

func TestRunSucceeds(t *testing.T) {
	backends(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		var seen []job.Progress
		s := spec(t, "ok", "", func(ctx context.Context, r *job.Run) (job.Result, error) {
			if r.Seq < 1 || r.Attempt != 1 || r.Job.Name != "ok" || r.Env.Platform == nil || r.Checkpoints == nil || r.Log == nil {
				t.Errorf("run = %+v", r)
			}
			r.Progress(job.Progress{Rows: 10, Bytes: 100})
			h.clock.Advance(90 * time.Second)
			r.Progress(job.Progress{Rows: 20, Bytes: 200})
			return job.Result{Rows: 20, Bytes: 200, Notes: map[string]any{"null_timestamps": 2}}, nil
		})
		rec, err := h.runner.Run(ctx, s, job.RunOptions{Progress: func(p job.Progress) { seen = append(seen, p) }})
		if err != nil {
			t.Fatal(err)
		}
		if rec.Seq != 1 || rec.Status != job.StatusSucceeded || rec.Rows != 20 || rec.Bytes != 200 || rec.Attempts != 1 ||
			rec.Duration() != 90*time.Second || rec.Owner != "test-owner" || rec.Kind != "test.fake" {
			t.Errorf("record = %+v", rec)
		}
		if len(seen) != 2 || seen[1].Rows != 20 {
			t.Errorf("progress = %v", seen)
		}
		runs, err := h.state.Runs(ctx, "ok", 0, 10)
		if err != nil || len(runs) != 1 || runs[0].Status != job.StatusSucceeded || runs[0].Notes["null_timestamps"] != 2.0 ||
			!runs[0].Start.Equal(t0) || !runs[0].End.Equal(t0.Add(90*time.Second)) {
			t.Fatalf("history = %+v, %v", runs, err)
		}
		rec2, err := h.runner.Run(ctx, s, job.RunOptions{})
		if err != nil || rec2.Seq != 2 {
			t.Fatalf("second run: %+v, %v", rec2, err)
		}
		evs := h.events()
		var verbs []string
		for _, e := range evs {
			if e.SubjectType == platform.SubjectJob && e.SubjectID == "ok" {
				verbs = append(verbs, e.Verb+"#"+e.Related["run"])
			}
		}
		if strings.Join(verbs, " ") != "started#1 finished#1 started#2 finished#2" {
			t.Errorf("system events = %v", verbs)
		}
		if !strings.Contains(evs[1].Notes, "20 rows") || evs[1].Related["kind"] != "test.fake" {
			t.Errorf("finished event = %+v", evs[1])
		}
		m := h.metrics("ok")
		if m[platform.MetricRows] != 40 || m[platform.MetricBytes] != 400 || m[platform.MetricDuration] != 180 {
			t.Errorf("metrics = %v", m)
		}
		if leases, _ := h.state.Leases(ctx); len(leases) != 0 {
			t.Errorf("lease not released: %v", leases)
		}
	})
}

func TestRetries(t *testing.T) {
	h := newHarness(t, "sqlite")
	ctx := context.Background()
	var attempts []int
	var seqs []int64
	s := spec(t, "flaky", "", func(ctx context.Context, r *job.Run) (job.Result, error) {
		attempts = append(attempts, r.Attempt)
		seqs = append(seqs, r.Seq)
		switch r.Attempt {
		case 1:
			return job.Result{Rows: 5}, errs.Transientf("warehouse starting")
		case 2:
			return job.Result{}, fmt.Errorf("write: %w", &platform.ConflictError{What: "checkpoint", Key: "k", Reason: "moved"})
		case 3:
			return job.Result{}, errs.WithRetryAfter(errors.New("HTTP 429"), 30*time.Second)
		}
		return job.Result{Rows: 7}, nil
	})
	stop := h.clock.AutoAdvance(10 * time.Minute)
	rec, err := h.runner.Run(ctx, s, job.RunOptions{})
	waits := stop()
	if err != nil {
		t.Fatal(err)
	}
	if rec.Attempts != 4 || rec.Rows != 7 || rec.Status != job.StatusSucceeded {
		t.Errorf("record = %+v", rec)
	}
	if fmt.Sprint(attempts) != "[1 2 3 4]" || fmt.Sprint(seqs) != "[1 1 1 1]" {
		t.Errorf("attempts %v seqs %v: the run keeps its seq across retries", attempts, seqs)
	}
	// Rand 0.5: 3/4 of 1s, 2s; then the Retry-After hint, 30s.
	if fmt.Sprint(waits) != "[750ms 1.5s 30s]" {
		t.Errorf("backoff waits = %v", waits)
	}
}

func TestNotRetried(t *testing.T) {
	cases := []struct {
		name string
		err  error
		kind errs.Kind
	}{
		{"invalid", errs.Invalidf("column ts not found"), errs.Invalid},
		{"platform invalid", &platform.FieldError{Field: "email", Reason: "not an email"}, errs.Invalid},
		{"unsupported", errs.Unsupportedf("reader feature x"), errs.Unsupported},
		{"auth", errs.Authf("token rejected"), errs.Auth},
		{"unknown", errors.New("mystery"), errs.Unknown},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, "sqlite")
			n := 0
			s := spec(t, "bad", "", func(ctx context.Context, r *job.Run) (job.Result, error) { n++; return job.Result{}, c.err })
			rec, err := h.runner.Run(context.Background(), s, job.RunOptions{})
			var re *job.RunError
			if !errors.As(err, &re) || n != 1 || rec.Attempts != 1 || rec.Status != job.StatusFailed || rec.ErrorKind != c.kind {
				t.Fatalf("err %v, calls %d, record %+v", err, n, rec)
			}
			if !errors.Is(err, c.err) || !strings.HasPrefix(err.Error(), "job bad run 1 failed: ") {
				t.Errorf("error = %v", err)
			}
		})
	}
}

func TestRetriesExhausted(t *testing.T) {
	h := newHarness(t, "sqlite")
	n := 0
	s := spec(t, "down", "    retries: 2\n", func(ctx context.Context, r *job.Run) (job.Result, error) {
		n++
		return job.Result{}, errs.Transientf("connection refused")
	})
	stop := h.clock.AutoAdvance(10 * time.Minute)
	rec, err := h.runner.Run(context.Background(), s, job.RunOptions{})
	stop()
	if err == nil || n != 3 || rec.Attempts != 3 || rec.ErrorKind != errs.Transient {
		t.Fatalf("err %v calls %d record %+v", err, n, rec)
	}
	if err.Error() != "job down run 1 failed after 3 attempts: connection refused" {
		t.Errorf("message = %q", err)
	}
}

func TestFailureNotifiesAndLeavesCheckpoint(t *testing.T) {
	backends(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		var mu sync.Mutex
		var got []job.Notification
		var ctype string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var n job.Notification
			body, _ := io.ReadAll(r.Body)
			if err := json.Unmarshal(body, &n); err != nil {
				t.Errorf("webhook body %s: %v", body, err)
			}
			mu.Lock()
			got = append(got, n)
			ctype = r.Header.Get("Content-Type")
			mu.Unlock()
		}))
		defer srv.Close()
		t.Setenv("TEST_HOOK_TOKEN", "hooktoken123")
		t.Setenv("TEST_SECRET", "s3cr3t-value")
		cfg, err := job.Parse([]byte(`
connections:
  prod: {type: databricks, host: h, http_path: /p, token: "${TEST_SECRET}"}
jobs:
  - name: failing
    kind: test.fake
    settings: {table: t}
    notify: `+srv.URL+`/hook/${TEST_HOOK_TOKEN}
`), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		s := cfg.Jobs[0]
		if err := h.state.SetCheckpoint(ctx, "failing", "watermark", "", "100"); err != nil {
			t.Fatal(err)
		}
		behaviours.Store("failing", flowFunc(func(ctx context.Context, r *job.Run) (job.Result, error) {
			w, _ := r.Checkpoints.Get(ctx, "watermark")
			if w != "100" {
				t.Errorf("checkpoint seen by the flow = %q", w)
			}
			// The flow would move it only after a durable write; it fails first.
			return job.Result{Rows: 3}, errs.Invalidf("login with s3cr3t-value refused: column ts is not a timestamp")
		}))
		h.runner.Redact = cfg.Redact
		rec, err := h.runner.Run(ctx, s, job.RunOptions{})
		if err == nil || rec.Status != job.StatusFailed {
			t.Fatalf("run: %+v %v", rec, err)
		}
		if strings.Contains(err.Error(), "s3cr3t-value") || !strings.Contains(rec.Error, "login with [redacted] refused") {
			t.Errorf("secret in error: %v / %q", err, rec.Error)
		}
		if w, _ := h.state.Checkpoint(ctx, "failing", "watermark"); w != "100" {
			t.Errorf("checkpoint after a failed run = %q, want 100", w)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 1 {
			t.Fatalf("notifications = %d", len(got))
		}
		n := got[0]
		if n.Event != "job.run.failed" || n.Job != "failing" || n.Run != 1 || n.Status != job.StatusFailed || n.ErrorKind != "invalid" ||
			n.Rows != 3 || n.Attempts != 1 || !n.Started.Equal(t0) || strings.Contains(n.Error, "s3cr3t") || ctype != "application/json" {
			t.Errorf("notification = %+v (%s)", n, ctype)
		}
		var failed *platform.SystemEvent
		for _, e := range h.events() {
			if e.Verb == platform.VerbFailed {
				failed = &e
			}
		}
		if failed == nil || !strings.Contains(failed.Notes, "column ts is not a timestamp") || strings.Contains(failed.Notes, "s3cr3t") {
			t.Errorf("failed event = %+v", failed)
		}
		if m := h.metrics("failing"); m[platform.MetricRows] != 3 {
			t.Errorf("metrics of a failed run = %v", m)
		}
	})
}

func TestNotifyFailureIsNoted(t *testing.T) {
	h := newHarness(t, "sqlite")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	s := spec(t, "nf", "    notify: "+srv.URL+"/secret-path\n", func(ctx context.Context, r *job.Run) (job.Result, error) {
		return job.Result{}, errs.Invalidf("bad")
	})
	rec, _ := h.runner.Run(context.Background(), s, job.RunOptions{})
	note, _ := rec.Notes["notify_error"].(string)
	if !strings.Contains(note, "HTTP 500") || strings.Contains(note, "secret-path") {
		t.Errorf("notify_error = %q", note)
	}
}

func TestLease(t *testing.T) {
	backends(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		started := make(chan struct{})
		release := make(chan struct{})
		s := spec(t, "long", "", func(ctx context.Context, r *job.Run) (job.Result, error) {
			close(started)
			<-release
			return job.Result{}, nil
		})
		done := make(chan error)
		go func() { _, err := h.runner.Run(ctx, s, job.RunOptions{}); done <- err }()
		<-started
		// Another process (its own store handle and owner) cannot run it.
		other := &job.Runner{State: h.open(), Clock: h.clock, Owner: "other-process", LeaseTTL: time.Hour}
		_, err := other.Run(ctx, s, job.RunOptions{})
		var held *job.LeaseHeldError
		if !errors.As(err, &held) || held.Owner != "test-owner" {
			t.Fatalf("second runner: %v, want lease held by test-owner", err)
		}
		if !strings.Contains(err.Error(), "job long is already running") {
			t.Errorf("message = %q", err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if runs, _ := h.state.Runs(ctx, "long", 0, 10); len(runs) != 1 {
			t.Errorf("runs = %d, want 1 (the refused run leaves no history)", len(runs))
		}
		behaviours.Store("long", flowFunc(func(ctx context.Context, r *job.Run) (job.Result, error) { return job.Result{}, nil }))
		if rec, err := other.Run(ctx, s, job.RunOptions{}); err != nil || rec.Seq != 2 {
			t.Errorf("after release: %+v, %v", rec, err)
		}
	})
}

func TestLeaseRenewedAndLost(t *testing.T) {
	h := newHarness(t, "sqlite")
	ctx := context.Background()
	h.runner.LeaseTTL = 3 * time.Minute
	started := make(chan struct{})
	s := spec(t, "stolen", "", func(ctx context.Context, r *job.Run) (job.Result, error) {
		close(started)
		<-ctx.Done()
		return job.Result{}, ctx.Err()
	})
	done := make(chan struct{})
	var rec job.RunRecord
	var err error
	go func() { rec, err = h.runner.Run(ctx, s, job.RunOptions{}); close(done) }()
	<-started
	// Renewal every minute keeps it: nobody can take it 5 minutes in.
	for range 5 {
		h.clock.WaitFor(t, "the renewal timer", func(ws []time.Duration) bool { return len(ws) == 1 && ws[0] == time.Minute })
		h.clock.Advance(time.Minute)
	}
	h.clock.WaitFor(t, "the renewal timer", func(ws []time.Duration) bool { return len(ws) == 1 && ws[0] == time.Minute })
	if _, err := h.state.AcquireLease(ctx, "stolen", "thief", h.clock.Now(), time.Minute); err == nil {
		t.Fatal("a renewed lease was taken")
	}
	// Simulate a pause longer than the TTL: the lease expires and another
	// process takes it; the next renewal finds it lost and stops the run.
	if _, err := h.state.AcquireLease(ctx, "stolen", "thief", h.clock.Now().Add(4*time.Minute), time.Hour); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Minute)
	<-done
	if !errors.Is(err, job.ErrLeaseLost) || rec.Status != job.StatusFailed {
		t.Fatalf("after losing the lease: %+v, %v", rec, err)
	}
	if leases, _ := h.state.Leases(ctx); len(leases) != 1 || leases[0].Owner != "thief" {
		t.Errorf("the thief's lease was touched: %v", leases)
	}
}

func TestCanceledRun(t *testing.T) {
	h := newHarness(t, "sqlite")
	ctx, cancel := context.WithCancel(context.Background())
	srvCalled := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { srvCalled = true }))
	defer srv.Close()
	slot := t0.Add(-time.Minute)
	s := spec(t, "stopme", "    notify: "+srv.URL+"\n", func(ctx context.Context, r *job.Run) (job.Result, error) {
		cancel()
		<-ctx.Done()
		return job.Result{Rows: 1}, ctx.Err()
	})
	rec, err := h.runner.Run(ctx, s, job.RunOptions{Scheduled: slot})
	if err == nil || rec.Status != job.StatusCanceled || srvCalled {
		t.Fatalf("canceled run: %+v %v (notified %v)", rec, err, srvCalled)
	}
	if !strings.Contains(err.Error(), "was canceled") {
		t.Errorf("message = %q", err)
	}
	last, _ := h.state.LastScheduled(context.Background(), "stopme")
	if !last.IsZero() {
		t.Errorf("a canceled run consumed its slot: %v", last)
	}
	runs, _ := h.state.Runs(context.Background(), "stopme", 0, 1)
	if len(runs) != 1 || runs[0].Status != job.StatusCanceled || runs[0].End.IsZero() {
		t.Errorf("history = %+v", runs)
	}
}

func TestSlotDoneAndAbandoned(t *testing.T) {
	h := newHarness(t, "sqlite")
	ctx := context.Background()
	slot := t0.Add(-10 * time.Minute)
	calls := 0
	s := spec(t, "slotted", "", func(ctx context.Context, r *job.Run) (job.Result, error) { calls++; return job.Result{}, nil })
	// A process died mid-run earlier.
	if _, err := h.state.StartRun(ctx, job.RunRecord{Job: "slotted", Kind: "test.fake", Start: t0.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	rec, err := h.runner.Run(ctx, s, job.RunOptions{Scheduled: slot})
	if err != nil || rec.Seq != 2 || !rec.Scheduled.Equal(slot) {
		t.Fatalf("run: %+v %v", rec, err)
	}
	runs, _ := h.state.Runs(ctx, "slotted", 0, 10)
	if runs[1].Status != job.StatusAbandoned {
		t.Errorf("dead run = %+v", runs[1])
	}
	if _, err := h.runner.Run(ctx, s, job.RunOptions{Scheduled: slot}); !errors.Is(err, job.ErrSlotDone) || calls != 1 {
		t.Errorf("same slot again: %v (calls %d)", err, calls)
	}
	if _, err := h.runner.Run(ctx, s, job.RunOptions{}); err != nil || calls != 2 {
		t.Errorf("on demand after a slot: %v", err)
	}
}

func TestBuildAndPanics(t *testing.T) {
	h := newHarness(t, "sqlite")
	ctx := context.Background()
	s := spec(t, "panics", "", func(ctx context.Context, r *job.Run) (job.Result, error) { panic("index out of range") })
	rec, err := h.runner.Run(ctx, s, job.RunOptions{})
	if err == nil || rec.Status != job.StatusFailed || !strings.Contains(rec.Error, "panicked: index out of range") || rec.Attempts != 1 {
		t.Errorf("panic: %+v %v", rec, err)
	}
	// Settings the kind rejects: the run fails, invalid, not retried.
	c, err := job.Parse([]byte("jobs: [{name: nosettings, kind: test.fake, settings: {tabel: x}}]\n"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rec, err = h.runner.Run(ctx, c.Jobs[0], job.RunOptions{})
	if err == nil || rec.ErrorKind != errs.Invalid || !strings.Contains(rec.Error, "jobs[0].settings.tabel: unknown field") {
		t.Errorf("bad settings: %+v %v", rec, err)
	}
	unknown := &job.Spec{Name: "x", Kind: "nope"}
	if _, err := h.runner.Run(ctx, unknown, job.RunOptions{}); err == nil || errs.Classify(err) != errs.Invalid {
		t.Errorf("unknown kind: %v", err)
	}
}

func TestBackoffDelay(t *testing.T) {
	b := job.Backoff{Initial: time.Second, Max: 10 * time.Second, Rand: func() float64 { return 0 }}
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i, w := range want {
		if d := b.Delay(i+1, errors.New("x")); d != w {
			t.Errorf("retry %d: %v, want %v", i+1, d, w)
		}
	}
	b.Rand = func() float64 { return 0.999999 }
	if d := b.Delay(40, errors.New("x")); d > 10*time.Second || d < 9*time.Second {
		t.Errorf("capped: %v", d)
	}
	if d := b.Delay(1, errs.WithRetryAfter(errors.New("x"), 3*time.Hour)); d != job.DefaultMaxRetryAfter {
		t.Errorf("hint capped: %v", d)
	}
}

func TestSync(t *testing.T) {
	h := newHarness(t, "sqlite")
	ctx := context.Background()
	t.Setenv("TEST_TOKEN_VALUE", "dapi-very-secret")
	parse := func(y string) *job.Config {
		c, err := job.Parse([]byte(y), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := parse(`
connections:
  prod: {type: databricks, host: h, http_path: /p, token: "${TEST_TOKEN_VALUE}"}
jobs:
  - {name: a, kind: test.fake, settings: {table: t}}
  - {name: b, kind: test.fake, settings: {table: t}, schedule: hourly}
`)
	ch, err := job.Sync(ctx, h.state, h.plat, c, t0)
	if err != nil || fmt.Sprint(ch) != "[{a created} {b created}]" {
		t.Fatalf("sync = %v, %v", ch, err)
	}
	conns, _ := h.state.Definitions(ctx, job.DefConnection)
	if len(conns) != 1 || strings.Contains(string(conns[0].Body), "dapi-very-secret") || !strings.Contains(string(conns[0].Body), "${TEST_TOKEN_VALUE}") {
		t.Errorf("stored connection = %s", conns[0].Body)
	}
	defs, _ := h.state.Definitions(ctx, job.DefJob)
	var body map[string]any
	json.Unmarshal(defs[1].Body, &body)
	if body["schedule"] != "hourly at :00" || body["kind"] != "test.fake" || body["settings"].(map[string]any)["table"] != "t" {
		t.Errorf("stored job = %s", defs[1].Body)
	}
	c = parse("jobs: [{name: b, kind: test.fake, settings: {table: u}}]\n")
	ch, err = job.Sync(ctx, h.state, h.plat, c, t0.Add(time.Hour))
	if err != nil || fmt.Sprint(ch) != "[{a deleted} {b changed}]" {
		t.Fatalf("resync = %v, %v", ch, err)
	}
	var verbs []string
	for _, e := range h.events() {
		verbs = append(verbs, e.SubjectID+":"+e.Verb)
	}
	if strings.Join(verbs, " ") != "a:created b:created a:deleted b:changed" {
		t.Errorf("events = %v", verbs)
	}
}
