package job

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	neturl "net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/platform"
)

// Runner defaults.
const (
	DefaultLeaseTTL      = time.Minute
	DefaultBackoff       = time.Second
	DefaultMaxBackoff    = 5 * time.Minute
	DefaultMaxRetryAfter = time.Hour
	notifyTimeout        = 10 * time.Second
)

// Runner runs jobs: one run at a time per job (a lease in the state
// store), retries of retryable failures, run history, system events and
// metrics in the platform, and a webhook notification on failure. It is
// the one place where retrying happens.
type Runner struct {
	State Store
	Env   *Env  // services given to flows; nil: an empty Env
	Clock Clock // nil: SystemClock
	// Owner identifies this process in leases and run history; empty: a
	// unique host/pid/random name.
	Owner string
	// LeaseTTL is how long a lease lasts unless renewed; it is renewed every
	// third of it while the run goes on.
	LeaseTTL time.Duration
	Backoff  Backoff
	// HTTPClient sends webhook notifications (nil: http.DefaultClient).
	HTTPClient *http.Client
	Log        *slog.Logger // nil: discard
	// Redact scrubs secrets from error messages before they are stored,
	// sent or logged (Config.Redact); nil: messages are kept as they are.
	Redact func(string) string

	ownerOnce sync.Once
	owner     string
}

// Backoff is the wait between attempts of a failed run: exponential from
// Initial, capped at Max, with "equal jitter" (between half and all of the
// step). A Retry-After hint on the error (errs.RetryAfter) is a lower bound,
// itself capped at MaxRetryAfter.
type Backoff struct {
	Initial       time.Duration
	Max           time.Duration
	MaxRetryAfter time.Duration
	Rand          func() float64 // [0,1); nil: math/rand
}

// Delay returns the wait before retry number retry (1 for the first retry)
// after err.
func (b Backoff) Delay(retry int, err error) time.Duration {
	initial, maxd, maxRA := b.Initial, b.Max, b.MaxRetryAfter
	if initial <= 0 {
		initial = DefaultBackoff
	}
	if maxd <= 0 {
		maxd = DefaultMaxBackoff
	}
	if maxRA <= 0 {
		maxRA = DefaultMaxRetryAfter
	}
	step := initial
	for i := 1; i < retry && step < maxd; i++ {
		step *= 2
	}
	step = min(step, maxd)
	rnd := b.Rand
	if rnd == nil {
		rnd = mrand.Float64
	}
	d := step/2 + time.Duration(rnd()*float64(step/2))
	if ra, ok := errs.RetryAfter(err); ok {
		d = max(d, min(ra, maxRA))
	}
	return d
}

// RunOptions are the per-run choices.
type RunOptions struct {
	// Scheduled is the schedule slot the run is for (zero: on demand). A
	// slot that already ran (another process got there first) is not run
	// again: Run returns ErrSlotDone.
	Scheduled time.Time
	// Progress, if set, sees the flow's progress reports.
	Progress func(Progress)
}

// ErrSlotDone is returned by Run for a schedule slot that has already run.
var ErrSlotDone = errors.New("schedule slot already ran")

// RunError is a run that ended without succeeding; Record is its history
// entry.
type RunError struct {
	Record RunRecord
	Err    error
}

func (e *RunError) Error() string {
	r := e.Record
	what := "failed"
	if r.Status == StatusCanceled {
		what = "was canceled"
	}
	tries := ""
	if r.Attempts > 1 {
		tries = fmt.Sprintf(" after %d attempts", r.Attempts)
	}
	return fmt.Sprintf("job %s run %d %s%s: %s", r.Job, r.Seq, what, tries, r.Error)
}

func (e *RunError) Unwrap() error { return e.Err }

func (r *Runner) clock() Clock {
	if r.Clock == nil {
		return SystemClock
	}
	return r.Clock
}

func (r *Runner) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

func (r *Runner) redact(s string) string {
	if r.Redact != nil {
		s = r.Redact(s)
	}
	return strings.Join(strings.Fields(s), " ")
}

// ownerName returns Owner, or a name made up once for this Runner.
func (r *Runner) ownerName() string {
	r.ownerOnce.Do(func() {
		r.owner = r.Owner
		if r.owner == "" {
			r.owner = DefaultOwner()
		}
	})
	return r.owner
}

// DefaultOwner returns a name unique to this process: host/pid/random.
func DefaultOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	rand.Read(b[:])
	return host + "/" + strconv.Itoa(os.Getpid()) + "/" + hex.EncodeToString(b[:])
}

func (r *Runner) ttl() time.Duration {
	if r.LeaseTTL <= 0 {
		return DefaultLeaseTTL
	}
	return r.LeaseTTL
}

// Factory returns the registered factory of kind.
func lookupKind(kind string) Factory { return kinds[kind] }

// Run runs spec once now: it takes the job's lease (a *LeaseHeldError if
// the job is running elsewhere), records the run, runs the flow with
// retries, and records the outcome. A run that did not succeed returns a
// *RunError carrying its record.
func (r *Runner) Run(ctx context.Context, spec *Spec, opts RunOptions) (RunRecord, error) {
	clock, log, owner, ttl := r.clock(), r.log(), r.ownerName(), r.ttl()
	factory := lookupKind(spec.Kind)
	if factory == nil {
		return RunRecord{}, spec.Errorf("kind", "unknown kind %q", spec.Kind)
	}
	if _, err := r.State.AcquireLease(ctx, spec.Name, owner, clock.Now(), ttl); err != nil {
		return RunRecord{}, err
	}
	bg := context.WithoutCancel(ctx)
	defer func() {
		rctx, cancel := context.WithTimeout(bg, 10*time.Second)
		defer cancel()
		if err := r.State.ReleaseLease(rctx, spec.Name, owner); err != nil {
			log.Warn("releasing lease", "job", spec.Name, "err", err)
		}
	}()
	if !opts.Scheduled.IsZero() {
		last, err := r.State.LastScheduled(ctx, spec.Name)
		if err != nil {
			return RunRecord{}, err
		}
		if !last.Before(opts.Scheduled) {
			return RunRecord{}, ErrSlotDone
		}
	}
	rec, err := r.State.StartRun(ctx, RunRecord{Job: spec.Name, Kind: spec.Kind, Scheduled: opts.Scheduled,
		Start: clock.Now(), Status: StatusRunning, Owner: owner})
	if err != nil {
		return RunRecord{}, err
	}
	log = log.With("job", spec.Name, "run", rec.Seq)
	env := r.Env
	if env == nil {
		env = &Env{}
	}
	r.event(bg, env, rec, platform.VerbStarted, "")
	log.Info("run started", "kind", spec.Kind)

	runCtx, cancel := context.WithCancelCause(ctx)
	renewDone := make(chan struct{})
	stopRenew := make(chan struct{})
	go func() {
		defer close(renewDone)
		r.renew(runCtx, spec.Name, owner, ttl, stopRenew, cancel)
	}()

	res, runErr := r.attempts(runCtx, spec, factory, env, &rec, opts, log)
	close(stopRenew)
	<-renewDone
	if cause := context.Cause(runCtx); runErr != nil && errors.Is(cause, ErrLeaseLost) {
		runErr = cause
	}
	cancel(nil)

	rec.End = clock.Now()
	rec.Rows, rec.Bytes, rec.Notes = res.Rows, res.Bytes, res.Notes
	switch {
	case runErr == nil:
		rec.Status = StatusSucceeded
	case ctx.Err() != nil:
		rec.Status = StatusCanceled
	default:
		rec.Status = StatusFailed
	}
	if runErr != nil {
		rec.Error = r.redact(runErr.Error())
		rec.ErrorKind = errs.Classify(runErr)
	}
	if rec.Status == StatusFailed && !spec.Notify.IsZero() {
		if err := r.notify(bg, spec, rec); err != nil {
			log.Warn("failure notification not delivered", "err", r.redact(err.Error()))
			if rec.Notes == nil {
				rec.Notes = map[string]any{}
			}
			rec.Notes["notify_error"] = r.redact(err.Error())
		}
	}
	fctx, fcancel := context.WithTimeout(bg, 30*time.Second)
	defer fcancel()
	if err := r.State.FinishRun(fctx, rec); err != nil {
		log.Error("recording run outcome", "err", err)
		if runErr == nil {
			runErr = err
		}
	}
	switch rec.Status {
	case StatusSucceeded:
		r.event(fctx, env, rec, platform.VerbFinished, fmt.Sprintf("%d rows, %d bytes in %s", rec.Rows, rec.Bytes, rec.Duration().Round(time.Millisecond)))
		log.Info("run succeeded", "rows", rec.Rows, "bytes", rec.Bytes, "duration", rec.Duration(), "attempts", rec.Attempts)
	default:
		r.event(fctx, env, rec, platform.VerbFailed, rec.Error)
		log.Warn("run "+string(rec.Status), "err", rec.Error, "kind", rec.ErrorKind, "attempts", rec.Attempts)
	}
	r.metrics(fctx, env, rec)
	if runErr != nil {
		return rec, &RunError{Record: rec, Err: runErr}
	}
	return rec, nil
}

// attempts runs the flow until it succeeds, fails for good or runs out of
// retries.
func (r *Runner) attempts(ctx context.Context, spec *Spec, factory Factory, env *Env, rec *RunRecord, opts RunOptions, log *slog.Logger) (Result, error) {
	var flow Flow
	progress := opts.Progress
	if progress == nil {
		progress = func(Progress) {}
	}
	for attempt := 1; ; attempt++ {
		rec.Attempts = attempt
		var res Result
		var err error
		if flow == nil {
			flow, err = build(factory, spec, env)
		}
		if err == nil {
			res, err = runFlow(ctx, flow, &Run{Job: spec, Seq: rec.Seq, Scheduled: rec.Scheduled, Env: env, Progress: progress, Log: log,
				Attempt: attempt, Checkpoints: NewCheckpoints(r.State, spec.Name)})
		}
		if err == nil || ctx.Err() != nil {
			return res, err
		}
		kind := errs.Classify(err)
		if !kind.Retryable() || attempt > spec.Retries {
			return res, err
		}
		d := r.Backoff.Delay(attempt, err)
		log.Warn("attempt failed; retrying", "attempt", attempt, "kind", kind, "err", r.redact(err.Error()), "wait", d)
		select {
		case <-ctx.Done():
			return res, err
		case <-r.clock().After(d):
		}
	}
}

func build(factory Factory, spec *Spec, env *Env) (f Flow, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("building the %s flow panicked: %v\n%s", spec.Kind, p, debug.Stack())
		}
	}()
	f, err = factory(spec, env)
	if err == nil && f == nil {
		err = fmt.Errorf("the %s factory returned no flow", spec.Kind)
	}
	return f, err
}

func runFlow(ctx context.Context, f Flow, run *Run) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the %s flow panicked: %v\n%s", run.Job.Kind, p, debug.Stack())
		}
	}()
	return f.Run(ctx, run)
}

// renew keeps the lease alive until stop closes; if the lease is lost the
// run is canceled with ErrLeaseLost as the cause.
func (r *Runner) renew(ctx context.Context, job, owner string, ttl time.Duration, stop <-chan struct{}, cancel context.CancelCauseFunc) {
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-r.clock().After(ttl / 3):
		}
		_, err := r.State.RenewLease(ctx, job, owner, r.clock().Now(), ttl)
		switch {
		case errors.Is(err, ErrLeaseLost):
			r.log().Error("lease lost; stopping the run", "job", job)
			cancel(err)
			return
		case err != nil:
			r.log().Warn("renewing lease", "job", job, "err", err)
		}
	}
}

// event writes a system event; a failure is logged, not fatal (the run's
// outcome is already in the run history).
func (r *Runner) event(ctx context.Context, env *Env, rec RunRecord, verb, notes string) {
	if env.Platform == nil {
		return
	}
	_, err := env.Platform.RecordSystemEvent(ctx, platform.SystemEvent{
		SubjectType: platform.SubjectJob, SubjectID: rec.Job, Verb: verb, Notes: notes,
		Related: map[string]string{"run": strconv.FormatInt(rec.Seq, 10), "kind": rec.Kind},
	})
	if err != nil {
		r.log().Warn("recording system event", "job", rec.Job, "verb", verb, "err", err)
	}
}

func (r *Runner) metrics(ctx context.Context, env *Env, rec RunRecord) {
	if env.Platform == nil {
		return
	}
	ts := rec.End.UTC().Truncate(time.Microsecond)
	pt := func(typ string, v float64) platform.Metric {
		return platform.Metric{Dimension: platform.DimensionJob, DimensionID: rec.Job, Type: typ, Timestamp: ts, Value: v}
	}
	err := env.Platform.RecordMetrics(ctx, []platform.Metric{
		pt(platform.MetricRows, float64(rec.Rows)),
		pt(platform.MetricBytes, float64(rec.Bytes)),
		pt(platform.MetricDuration, rec.Duration().Seconds()),
	})
	if err != nil {
		r.log().Warn("recording metrics", "job", rec.Job, "err", err)
	}
}

// Notification is the JSON body POSTed to a job's webhook when a run fails.
type Notification struct {
	Event     string    `json:"event"` // "job.run.failed"
	Job       string    `json:"job"`
	Kind      string    `json:"kind"`
	Run       int64     `json:"run"`
	Status    Status    `json:"status"`
	Error     string    `json:"error"`
	ErrorKind string    `json:"error_kind"`
	Attempts  int       `json:"attempts"`
	Scheduled time.Time `json:"scheduled,omitzero"`
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished"`
	Rows      int64     `json:"rows"`
	Bytes     int64     `json:"bytes"`
}

func (r *Runner) notify(ctx context.Context, spec *Spec, rec RunRecord) error {
	url, err := spec.Notify.Resolve()
	if err != nil {
		return err
	}
	body, err := json.Marshal(Notification{Event: "job.run.failed", Job: rec.Job, Kind: rec.Kind, Run: rec.Seq,
		Status: rec.Status, Error: rec.Error, ErrorKind: rec.ErrorKind.String(), Attempts: rec.Attempts,
		Scheduled: rec.Scheduled, Started: rec.Start, Finished: rec.End, Rows: rec.Rows, Bytes: rec.Bytes})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, notifyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s.notify: %s", spec.Path(), flatURLError(err, url))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "lakeport")
	client := r.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("notifying %s: %s", webhookHost(url), flatURLError(err, url))
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("notifying %s: HTTP %d", webhookHost(url), resp.StatusCode)
	}
	return nil
}

// webhookHost names a webhook by scheme and host only: its path or query
// may hold a token.
func webhookHost(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil || u.Host == "" {
		return "the webhook"
	}
	return u.Scheme + "://" + u.Host
}

// flatURLError keeps a resolved URL (it may hold secrets) out of a message.
func flatURLError(err error, url string) string {
	return strings.ReplaceAll(err.Error(), url, "[webhook URL]")
}

// Check builds spec's flow without running it: the kind's own validation of
// its settings (and whatever it checks when a job is created, such as a
// table's change data feed being on). Errors name the field.
func Check(spec *Spec, env *Env) error {
	factory := lookupKind(spec.Kind)
	if factory == nil {
		return spec.Errorf("kind", "unknown kind %q", spec.Kind)
	}
	if env == nil {
		env = &Env{}
	}
	_, err := build(factory, spec, env)
	return err
}
