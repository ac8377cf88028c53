package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/lakeport/lakeport/internal/errs"
	_ "github.com/lakeport/lakeport/internal/flow/exportaudience" // job kind export.audience
	_ "github.com/lakeport/lakeport/internal/flow/exportchanges"  // job kind export.audience_changes
	_ "github.com/lakeport/lakeport/internal/flow/exportevents"   // job kind export.events
	_ "github.com/lakeport/lakeport/internal/flow/exportmetrics"  // job kind export.metrics
	_ "github.com/lakeport/lakeport/internal/flow/exportsystem"   // job kind export.system_events
	_ "github.com/lakeport/lakeport/internal/flow/importchanges"  // job kind import.changes
	_ "github.com/lakeport/lakeport/internal/flow/importtable"    // job kind import.table
	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/job/jobstore"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/lakehouse/databricks"
	_ "github.com/lakeport/lakeport/internal/lakehouse/local" // lakehouse driver "local"
	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/server"
)

const defaultConfig = "lakeport.yaml"

// Connections of type local open the local lakehouse driver (a directory of
// catalog/schema/table Delta tables); type databricks opens a SQL warehouse
// and Unity Catalog.
func init() {
	job.RegisterConnector(job.ConnLocal, func(ctx context.Context, c *job.Connection) (any, error) {
		return lakehouse.Open(ctx, "local", c.Path)
	})
	job.RegisterConnector(job.ConnDatabricks, databricks.OpenConnection)
}

func configFlag(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVar(path, "config", defaultConfig, "configuration file (platform, state, connections, jobs)")
}

// jobsEnv is what the job commands open: the configuration, the state
// store and (when needed) the platform store.
type jobsEnv struct {
	cfg   *job.Config
	state job.Store
	plat  platform.Store
}

func (e *jobsEnv) Close() {
	if e.state != nil {
		e.state.Close()
	}
	if e.plat != nil {
		e.plat.Close()
	}
}

func openJobs(ctx context.Context, configPath string, withPlatform bool) (*jobsEnv, error) {
	cfg, err := job.Load(configPath)
	if err != nil {
		return nil, err
	}
	e := &jobsEnv{cfg: cfg}
	loc, err := cfg.State.Resolve()
	if err != nil {
		return nil, err
	}
	if e.state, err = jobstore.Open(ctx, loc); err != nil {
		return nil, errors.New(cfg.Redact(err.Error()))
	}
	if withPlatform {
		loc, err := cfg.Platform.Resolve()
		if err != nil {
			e.Close()
			return nil, err
		}
		if e.plat, err = openPlatform(ctx, loc); err != nil {
			e.Close()
			return nil, fmt.Errorf("platform store: %s", cfg.Redact(err.Error()))
		}
	}
	return e, nil
}

func newJobsCmd() *cobra.Command {
	var config string
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "List the configured jobs with their kind, schedule, next run and last status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			e, err := openJobs(ctx, config, false)
			if err != nil {
				return err
			}
			defer e.Close()
			defs, err := e.state.Definitions(ctx, job.DefJob)
			if err != nil {
				return err
			}
			created := map[string]time.Time{}
			for _, d := range defs {
				created[d.Name] = d.Created
			}
			leases, err := e.state.Leases(ctx)
			if err != nil {
				return err
			}
			now := time.Now()
			running := map[string]bool{}
			for _, l := range leases {
				running[l.Job] = l.Expires.After(now)
			}
			var rows [][]string
			for _, s := range e.cfg.Jobs {
				last, err := e.state.LastScheduled(ctx, s.Name)
				if err != nil {
					return err
				}
				c, ok := created[s.Name]
				if !ok {
					c = now
				}
				next := "-"
				switch {
				case s.Paused:
					next = "paused"
				default:
					if t := job.NextRun(s.Schedule, last, c); !t.IsZero() {
						if !t.After(now) {
							next = "due"
						} else {
							next = t.In(scheduleLoc(s.Schedule)).Format("2006-01-02 15:04 MST")
						}
					}
				}
				lastRun, status := "-", "never run"
				runs, err := e.state.Runs(ctx, s.Name, 0, 1)
				if err != nil {
					return err
				}
				if len(runs) > 0 {
					lastRun = runs[0].Start.In(scheduleLoc(s.Schedule)).Format("2006-01-02 15:04 MST")
					status = string(runs[0].Status)
				}
				if running[s.Name] {
					status = "running"
				}
				rows = append(rows, []string{s.Name, s.Kind, s.Schedule.String(), next, lastRun, status})
			}
			if len(rows) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "no jobs in %s\n", config)
				return nil
			}
			platformTable(cmd.OutOrStdout(), "NAME\tKIND\tSCHEDULE\tNEXT RUN\tLAST RUN\tSTATUS", rows)
			return nil
		},
	}
	configFlag(cmd, &config)
	return cmd
}

func scheduleLoc(s job.Schedule) *time.Location {
	if s.Location == nil {
		return time.UTC
	}
	return s.Location
}

func newRunCmd() *cobra.Command {
	var config string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "run JOB",
		Short: "Run a job once now (a progress line shows rows, rate and elapsed time on a terminal)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			e, err := openJobs(ctx, config, true)
			if err != nil {
				return err
			}
			defer e.Close()
			spec, err := e.cfg.Job(args[0])
			if err != nil {
				return err
			}
			if _, err := job.Sync(ctx, e.state, e.plat, e.cfg, time.Now()); err != nil {
				return err
			}
			env := job.NewEnv(e.plat, e.cfg)
			defer env.Close()
			logw := io.Discard
			if verbose {
				logw = cmd.ErrOrStderr()
			}
			runner := &job.Runner{State: e.state, Env: env, Redact: e.cfg.Redact,
				Log: slog.New(slog.NewTextHandler(logw, nil))}
			var opts job.RunOptions
			var line *progressLine
			if f, ok := cmd.ErrOrStderr().(*os.File); ok && isTerminal(f) {
				line = newProgressLine(f)
				opts.Progress = line.update
			}
			rec, err := runner.Run(ctx, spec, opts)
			if line != nil {
				line.stop()
			}
			if err != nil {
				return errors.New(e.cfg.Redact(err.Error()))
			}
			printRunSummary(cmd.OutOrStdout(), rec)
			return nil
		},
	}
	configFlag(cmd, &config)
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "log the run's steps (attempts, retries) to stderr")
	return cmd
}

func printRunSummary(w io.Writer, r job.RunRecord) {
	fmt.Fprintf(w, "job %s run %d %s: %s rows, %s in %s", r.Job, r.Seq, r.Status, thousands(r.Rows), humanBytes(r.Bytes), clockDuration(r.Duration()))
	if r.Attempts > 1 {
		fmt.Fprintf(w, " (%d attempts)", r.Attempts)
	}
	fmt.Fprintln(w)
	keys := make([]string, 0, len(r.Notes))
	for k := range r.Notes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %s: %v\n", k, r.Notes[k])
	}
}

func newRunsCmd() *cobra.Command {
	var config string
	var limit int
	cmd := &cobra.Command{
		Use:   "runs JOB",
		Short: "Show a job's run history, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			e, err := openJobs(ctx, config, false)
			if err != nil {
				return err
			}
			defer e.Close()
			runs, err := e.state.Runs(ctx, args[0], 0, limit)
			if err != nil {
				return err
			}
			if len(runs) == 0 {
				if _, err := e.cfg.Job(args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "job %s has not run yet\n", args[0])
				return nil
			}
			var rows [][]string
			for _, r := range runs {
				dur := "-"
				if !r.End.IsZero() {
					dur = clockDuration(r.Duration())
				}
				sched := "on demand"
				if !r.Scheduled.IsZero() {
					sched = r.Scheduled.UTC().Format("2006-01-02 15:04Z")
				}
				msg := r.Error
				if msg != "" && r.ErrorKind != errs.Unknown {
					msg = r.ErrorKind.String() + ": " + msg
				}
				rows = append(rows, []string{strconv.FormatInt(r.Seq, 10), r.Start.UTC().Format("2006-01-02 15:04:05Z"), dur,
					string(r.Status), thousands(r.Rows), humanBytes(r.Bytes), strconv.Itoa(r.Attempts), sched, msg})
			}
			platformTable(cmd.OutOrStdout(), "RUN\tSTARTED\tDURATION\tSTATUS\tROWS\tBYTES\tATTEMPTS\tSCHEDULED\tERROR", rows)
			return nil
		},
	}
	configFlag(cmd, &config)
	cmd.Flags().IntVarP(&limit, "limit", "n", 20, "how many runs to show")
	return cmd
}

func newServeCmd() *cobra.Command {
	var config, addr string
	var conc int
	var tick time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the scheduler (and the platform HTTP API on --addr) until interrupted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			e, err := openJobs(ctx, config, true)
			if err != nil {
				return err
			}
			defer e.Close()
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			env := job.NewEnv(e.plat, e.cfg)
			defer env.Close()
			// Fail closed on jobs whose settings can never work.
			var bad []string
			for _, s := range e.cfg.Jobs {
				if err := job.Check(s, env); err != nil {
					switch errs.Classify(err) {
					case errs.Invalid, errs.Unsupported, errs.Auth:
						bad = append(bad, e.cfg.Redact(err.Error()))
					default:
						log.Warn("job check failed; will try when it runs", "job", s.Name, "err", e.cfg.Redact(err.Error()))
					}
				}
			}
			if len(bad) > 0 {
				return errors.New(strings.Join(bad, "; "))
			}
			changes, err := job.Sync(ctx, e.state, e.plat, e.cfg, time.Now())
			if err != nil {
				return err
			}
			for _, c := range changes {
				log.Info("job definition "+c.Change, "job", c.Name)
			}
			runner := &job.Runner{State: e.state, Env: env, Redact: e.cfg.Redact, Log: log}
			sched := &job.Scheduler{Runner: runner, Jobs: e.cfg.Jobs, Tick: tick, Concurrency: conc, Log: log}

			var srv *http.Server
			srvErr := make(chan error, 1)
			if addr != "" {
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					return err
				}
				srv = &http.Server{Handler: server.New(e.plat, server.Options{}), ReadHeaderTimeout: 10 * time.Second}
				fmt.Fprintf(cmd.ErrOrStderr(), "lakeport: serving on http://%s (POST /api/v1/collect/{stream}); scheduling %d jobs from %s\n",
					ln.Addr(), len(e.cfg.Jobs), config)
				go func() { srvErr <- srv.Serve(ln) }()
			} else {
				fmt.Fprintf(cmd.ErrOrStderr(), "lakeport: scheduling %d jobs from %s\n", len(e.cfg.Jobs), config)
			}
			schedCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			schedDone := make(chan error, 1)
			go func() { schedDone <- sched.Run(schedCtx) }()
			var runErr error
			select {
			case runErr = <-schedDone:
			case err := <-srvErr:
				runErr = err
				cancel()
				<-schedDone
			case <-ctx.Done():
				fmt.Fprintln(cmd.ErrOrStderr(), "lakeport: stopping: waiting for running jobs to stop")
				runErr = <-schedDone
			}
			if srv != nil {
				sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				defer scancel()
				srv.Shutdown(sctx)
			}
			return runErr
		},
	}
	configFlag(cmd, &config)
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", `listen address of the platform HTTP API ("" to serve none)`)
	cmd.Flags().IntVar(&conc, "concurrency", job.DefaultConcurrency, "most jobs running at once")
	cmd.Flags().DurationVar(&tick, "tick", job.DefaultTick, "how often to look for due jobs")
	return cmd
}

// progressLine redraws "rows 1,234,567  45,678 rows/s  00:01:23" in place
// on a terminal, at most a few times a second and at least once a second.
type progressLine struct {
	w     io.Writer
	start time.Time
	mu    sync.Mutex
	rows  int64
	last  time.Time
	quit  chan struct{}
	done  chan struct{}
}

func newProgressLine(w io.Writer) *progressLine {
	p := &progressLine{w: w, start: time.Now(), quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-t.C:
				p.mu.Lock()
				p.draw(time.Now())
				p.mu.Unlock()
			}
		}
	}()
	return p
}

func (p *progressLine) update(pr job.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rows = pr.Rows
	if now := time.Now(); now.Sub(p.last) >= 200*time.Millisecond {
		p.draw(now)
	}
}

func (p *progressLine) draw(now time.Time) {
	p.last = now
	fmt.Fprint(p.w, "\r\033[K"+progressText(p.rows, now.Sub(p.start)))
}

// stop ends the redrawing and clears the line.
func (p *progressLine) stop() {
	close(p.quit)
	<-p.done
	fmt.Fprint(p.w, "\r\033[K")
}

// progressText formats the progress line.
func progressText(rows int64, elapsed time.Duration) string {
	rate := "-"
	if elapsed >= 100*time.Millisecond {
		rate = thousands(int64(float64(rows) / elapsed.Seconds()))
	}
	return fmt.Sprintf("rows %s  %s rows/s  %s", thousands(rows), rate, clockDuration(elapsed))
}

// thousands formats n with comma separators: 1,234,567.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// clockDuration formats d as HH:MM:SS.
func clockDuration(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
}
