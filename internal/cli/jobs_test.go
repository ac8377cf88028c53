package cli

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/job/jobstore"
	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/sqlitestore"
)

// A fake job kind for the command tests: it "imports" settings.rows rows,
// or fails as told.
type cliFlowSettings struct {
	Rows int    `yaml:"rows"`
	Fail string `yaml:"fail"`
}

type cliFlow struct{ s cliFlowSettings }

func (f cliFlow) Run(ctx context.Context, r *job.Run) (job.Result, error) {
	if f.s.Fail != "" {
		return job.Result{}, errs.Invalidf("%s", os.ExpandEnv(f.s.Fail))
	}
	if _, err := r.Env.Connections(ctx, r.Job.Connection); err != nil {
		return job.Result{}, err
	}
	r.Progress(job.Progress{Rows: int64(f.s.Rows)})
	return job.Result{Rows: int64(f.s.Rows), Bytes: int64(f.s.Rows) * 100, Notes: map[string]any{"skipped_null_timestamps": 0}}, nil
}

func init() {
	job.Register("test.cli", func(spec *job.Spec, env *job.Env) (job.Flow, error) {
		var s cliFlowSettings
		if err := spec.DecodeSettings(&s); err != nil {
			return nil, err
		}
		return cliFlow{s}, nil
	})
}

const cliConfig = `
connections:
  lake: {type: local, path: lakehouse}
  prod: {type: databricks, host: h.example.com, http_path: /sql/1.0/warehouses/x, token: "${TEST_CLI_SECRET}"}
jobs:
  - name: hello
    kind: test.cli
    connection: lake
    settings: {rows: 1234567}
  - name: fails
    kind: test.cli
    connection: prod
    retries: 0
    schedule: {frequency: daily, time_of_day: "02:30", time_zone: Europe/Amsterdam}
    settings: {fail: "column ts missing (token ${TEST_CLI_SECRET})"}
  - name: quarter
    kind: test.cli
    schedule: every 15m
    connection: lake
    paused: true
`

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "lakeport.yaml")
	if err := os.MkdirAll(filepath.Join(dir, "lakehouse"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func cli(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestJobCommands(t *testing.T) {
	t.Setenv("TEST_CLI_SECRET", "tok-abcdef-123")
	cfg := writeConfig(t, cliConfig)

	out, errOut, code := cli(t, "jobs", "--config", cfg)
	if code != 0 {
		t.Fatalf("jobs: %d %s", code, errOut)
	}
	for _, re := range []string{
		`(?m)^NAME\s+KIND\s+SCHEDULE\s+NEXT RUN\s+LAST RUN\s+STATUS$`,
		`(?m)^hello\s+test.cli\s+manual\s+-\s+-\s+never run$`,
		`(?m)^fails\s+test.cli\s+daily at 02:30 Europe/Amsterdam\s+\d{4}-\d\d-\d\d 02:30 CES?T\s+-\s+never run$`,
		`(?m)^quarter\s+test.cli\s+every 15m\s+paused\s+-\s+never run$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("jobs output does not match %s:\n%s", re, out)
		}
	}

	out, errOut, code = cli(t, "run", "hello", "--config", cfg)
	if code != 0 {
		t.Fatalf("run hello: %d %s", code, errOut)
	}
	if !regexp.MustCompile(`^job hello run 1 succeeded: 1,234,567 rows, 117\.7 MiB in \d\d:\d\d:\d\d\n  skipped_null_timestamps: 0\n$`).MatchString(out) {
		t.Errorf("run output = %q", out)
	}
	if strings.Contains(errOut, "\r") {
		t.Errorf("progress line drawn on a non-terminal: %q", errOut)
	}
	if _, _, code := cli(t, "run", "hello", "--config", cfg); code != 0 {
		t.Fatal("second run failed")
	}

	out, errOut, code = cli(t, "run", "fails", "--config", cfg)
	if code != 1 {
		t.Fatalf("run fails: exit %d", code)
	}
	if out != "" || errOut != "lakeport: job fails run 1 failed: column ts missing (token [redacted])\n" {
		t.Errorf("failure output: %q / %q", out, errOut)
	}

	out, errOut, code = cli(t, "runs", "hello", "--config", cfg)
	if code != 0 {
		t.Fatalf("runs: %s", errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "RUN") || !regexp.MustCompile(`^2\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+\d\d:\d\d:\d\d\s+succeeded\s+1,234,567\s+117\.7 MiB\s+1\s+on demand`).MatchString(lines[1]) {
		t.Errorf("runs output:\n%s", out)
	}
	out, _, _ = cli(t, "runs", "fails", "--config", cfg)
	if !strings.Contains(out, "failed") || !strings.Contains(out, "invalid: column ts missing (token [redacted])") || strings.Contains(out, "tok-abcdef") {
		t.Errorf("runs of the failed job:\n%s", out)
	}
	out, _, code = cli(t, "runs", "quarter", "--config", cfg)
	if code != 0 || out != "job quarter has not run yet\n" {
		t.Errorf("runs of a job never run: %q", out)
	}

	out, _, _ = cli(t, "jobs", "--config", cfg)
	if !regexp.MustCompile(`(?m)^hello\s+test.cli\s+manual\s+-\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC\s+succeeded$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^fails\s.*\sfailed$`).MatchString(out) {
		t.Errorf("jobs after runs:\n%s", out)
	}

	// The runs reached the platform: events and metrics.
	ctx := context.Background()
	plat, err := sqlitestore.Open(ctx, filepath.Join(filepath.Dir(cfg), ".lakeport", "platform.db"), platform.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer plat.Close()
	evs, _ := plat.SystemEvents(ctx, platform.Cursor{}, 100)
	var verbs []string
	for _, e := range evs {
		verbs = append(verbs, e.SubjectID+":"+e.Verb)
		if strings.Contains(e.Notes, "tok-abcdef") {
			t.Errorf("secret in a system event: %+v", e)
		}
	}
	want := "fails:created hello:created quarter:created hello:started hello:finished hello:started hello:finished fails:started fails:failed"
	if strings.Join(verbs, " ") != want {
		t.Errorf("system events:\n%s\nwant\n%s", strings.Join(verbs, " "), want)
	}
	ms, _ := plat.Metrics(ctx, platform.MetricQuery{Dimension: platform.DimensionJob, DimensionID: "hello", Type: platform.MetricRows})
	if len(ms) != 2 || ms[0].Value != 1234567 {
		t.Errorf("metrics = %+v", ms)
	}
}

func TestJobCommandErrors(t *testing.T) {
	cfg := writeConfig(t, cliConfig)
	bad := writeConfig(t, "jobs:\n  - {name: a, kind: test.cli}\n  - {name: b, kind: test.cli}\n  - {name: c, kind: test.cli, schedule: {frequency: daily, time_of_day: \"7pm\"}}\n")
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", "nope", "--config", cfg}, `lakeport: no job "nope" in ` + cfg + ` (jobs: hello, fails, quarter)`},
		{[]string{"jobs", "--config", bad}, "lakeport: " + bad + ": jobs[2].schedule.time_of_day: want HH:MM"},
		{[]string{"run", "a", "--config", bad}, "lakeport: " + bad + ": jobs[2].schedule.time_of_day: want HH:MM"},
		{[]string{"jobs", "--config", filepath.Join(dir, "none.yaml")}, "lakeport: configuration file " + filepath.Join(dir, "none.yaml") + " not found (use --config FILE)"},
		{[]string{"runs", "nope", "--config", cfg}, `lakeport: no job "nope"`},
		{[]string{"run", "--config", cfg}, "lakeport: accepts 1 arg(s), received 0"},
	}
	for _, c := range cases {
		_, errOut, code := cli(t, c.args...)
		if code != 1 || !strings.HasPrefix(errOut, c.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want one line starting %q", c.args, code, errOut, c.want)
		}
	}
	// The default --config is ./lakeport.yaml.
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	os.Chdir(dir)
	if _, errOut, _ := cli(t, "jobs"); errOut != "lakeport: configuration file lakeport.yaml not found (use --config FILE)\n" {
		t.Errorf("default config: %q", errOut)
	}
}

// syncWriter lets the test read what serve writes while it runs.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func TestServe(t *testing.T) {
	cfg := writeConfig(t, `
connections:
  lake: {type: local, path: lakehouse}
jobs:
  - {name: first, kind: test.cli, schedule: once, settings: {rows: 5}}
  - {name: later, kind: test.cli, schedule: {frequency: daily, time_of_day: "03:00"}, settings: {rows: 1}}
`)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncWriter
	done := make(chan int)
	go func() {
		done <- Execute(ctx, []string{"serve", "--config", cfg, "--addr", "127.0.0.1:0", "--tick", "20ms"}, &out, &errOut)
	}()
	state, err := jobstore.Open(context.Background(), "sqlite://"+filepath.Join(filepath.Dir(cfg), ".lakeport", "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer state.Close()
	guard := time.After(30 * time.Second) // deadlock guard, not a timing assertion
	for {
		runs, err := state.Runs(context.Background(), "first", 0, 1)
		if err == nil && len(runs) == 1 && runs[0].Status == job.StatusSucceeded {
			break
		}
		select {
		case <-guard:
			t.Fatalf("the once job never ran; stderr:\n%s", errOut.String())
		case code := <-done:
			t.Fatalf("serve exited %d early: %s", code, errOut.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	m := regexp.MustCompile(`serving on (http://[0-9.:]+)`).FindStringSubmatch(errOut.String())
	if m == nil {
		t.Fatalf("no address in %q", errOut.String())
	}
	resp, err := http.Get(m[1] + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("healthz: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exit %d: %s", code, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if runs, _ := state.Runs(context.Background(), "later", 0, 1); len(runs) != 0 {
		t.Errorf("a job not due ran: %+v", runs)
	}
}

func TestServeRefusesInvalidJobs(t *testing.T) {
	cfg := writeConfig(t, "jobs:\n  - {name: a, kind: test.cli, settings: {rows: many}}\n")
	_, errOut, code := cli(t, "serve", "--config", cfg, "--addr", "")
	if code != 1 || errOut != "lakeport: jobs[0].settings.rows: want an integer, got \"many\"\n" {
		t.Errorf("exit %d: %q", code, errOut)
	}
}

func TestProgressText(t *testing.T) {
	if got := progressText(1234567, 83*time.Second+400*time.Millisecond); got != "rows 1,234,567  14,802 rows/s  00:01:23" {
		t.Errorf("progress = %q", got)
	}
	if got := progressText(0, 0); got != "rows 0  - rows/s  00:00:00" {
		t.Errorf("progress at start = %q", got)
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", -1234567: "-1,234,567", 100000: "100,000"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q", n, got)
		}
	}
	if got := clockDuration(26*time.Hour + 3*time.Minute + 4*time.Second); got != "26:03:04" {
		t.Errorf("clockDuration = %q", got)
	}
	var buf bytes.Buffer
	p := newProgressLine(&buf)
	p.update(job.Progress{Rows: 10})
	p.stop()
	if !strings.HasPrefix(buf.String(), "\r\033[Krows 10 ") || !strings.HasSuffix(buf.String(), "\r\033[K") {
		t.Errorf("progress line = %q", buf.String())
	}
}
