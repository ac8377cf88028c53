package importchanges_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"go.yaml.in/yaml/v3"

	"github.com/lakeport/lakeport/internal/delta"
	"github.com/lakeport/lakeport/internal/flow/importchanges"
	"github.com/lakeport/lakeport/internal/flow/importtable"
	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/lakehouse/lakehousetest"
	"github.com/lakeport/lakeport/internal/lakehouse/local"
	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/sqlitestore"
)

func TestMain(m *testing.M) {
	if os.Getenv("LAKEPORT_IMPORT_CHILD") == "crash" {
		if err := crashWorkload(os.Getenv("LAKEPORT_CHILD_DIR")); err != nil {
			fmt.Fprintln(os.Stderr, "crash workload:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The crash workload: steps 1..crashSteps, each committing to two tables
// (idempotently, with txn app ids) and then running both imports. Every
// step is safe to repeat, so a killed process is simply run again.
const crashSteps = 6

var crashEvents = arrow.NewSchema([]arrow.Field{
	{Name: "event_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "ts", Type: lakehousetest.TS, Nullable: true},
	{Name: "user", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

var crashCustomers = arrow.NewSchema([]arrow.Field{
	{Name: "customer_id", Type: arrow.BinaryTypes.String},
	{Name: "plan", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "event_name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "event_time", Type: lakehousetest.TS, Nullable: true},
	{Name: "params_json", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// eventRows are step k's rows of the events table, in two commits. Within
// a commit the timestamps are shuffled and shared; the second commit's are
// all later than the first's (a watermark import needs rows to arrive in
// time order: a killed step may have its first commit imported before its
// second is written).
func eventRows(k int) [2][][]any {
	var files [2][][]any
	for i := 0; i < 120; i++ {
		f := i / 60
		ts := t0.Add(time.Duration(k)*time.Hour + time.Duration(f*20+i*7%20)*time.Minute)
		files[f] = append(files[f], []any{k*1000 + i, ts, fmt.Sprint("u", i%5)})
	}
	return files
}

// customerStep is what step k does to the customers table: rows merged
// (each an insert or an update, each an event with params {"row", "rev"})
// and ids deleted afterwards.
func customerStep(k int) (merged [][]any, deleted []string) {
	rng := rand.New(rand.NewPCG(uint64(k), 99))
	row := func(id string) []any {
		return []any{id, fmt.Sprintf("plan%d", k), "page_view", t0.Add(time.Duration(k) * time.Hour),
			fmt.Sprintf(`{"row":%q,"rev":%d}`, id, k)}
	}
	if k == 1 {
		for i := 0; i < 80; i++ {
			merged = append(merged, row(fmt.Sprint("c", i)))
		}
		return merged, nil
	}
	picked := map[string]bool{}
	for len(picked) < 15 {
		picked[fmt.Sprint("c", rng.IntN(80+10*(k-1)))] = true
	}
	for i := 0; i < 10; i++ {
		picked[fmt.Sprint("c", 80+10*(k-2)+i)] = true
	}
	ids := make([]string, 0, len(picked))
	for id := range picked {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		merged = append(merged, row(id))
	}
	if k%2 == 0 {
		for len(deleted) < 4 {
			id := fmt.Sprint("c", rng.IntN(80))
			if !picked[id] && !slices.Contains(deleted, id) {
				deleted = append(deleted, id)
			}
		}
		sort.Strings(deleted)
	}
	return merged, deleted
}

type crashEnv struct {
	lh    *local.Lakehouse
	store platform.Store
	env   *job.Env
}

func openCrashEnv(dir string) (*crashEnv, error) {
	lake := filepath.Join(dir, "lake")
	if err := os.MkdirAll(filepath.Join(lake, "main", "crm"), 0o755); err != nil {
		return nil, err
	}
	lh, err := local.Open(lake, local.Options{WindowRows: 100})
	if err != nil {
		return nil, err
	}
	store, err := sqlitestore.Open(ctx, filepath.Join(dir, "platform.db"), platform.Options{})
	if err != nil {
		return nil, err
	}
	e := &crashEnv{lh: lh, store: store}
	e.env = &job.Env{Platform: store, Connections: func(context.Context, string) (any, error) { return lh, nil }}
	return e, nil
}

func (e *crashEnv) Close() { e.lh.Close(); e.store.Close() }

func (e *crashEnv) table(name string, s *arrow.Schema, props map[string]string) (*delta.Table, error) {
	dir, _ := e.lh.TablePath(lakehouse.TableName{Catalog: "main", Schema: "crm", Table: name})
	// Create fails when a table exists (a process killed while creating it
	// leaves none, or an empty log directory)
	if t, err := delta.Create(ctx, dir, delta.TableSpec{Schema: s, Properties: props}); err == nil {
		return t, nil
	}
	return delta.Open(ctx, dir)
}

func crashSpec(name, kind, settings string) *job.Spec {
	s := &job.Spec{Name: name, Kind: kind, Connection: "lake"}
	yaml.Unmarshal([]byte(settings), &s.Settings)
	return s
}

var (
	tableJob   = crashSpec("events", importtable.Kind, "catalog: main\nschema: crm\ntable: events\ntimestamp_column: ts\nbatch_size: 25\n")
	changesJob = crashSpec("customers", importchanges.Kind, `catalog: main
schema: crm
table: customers
identifier: {column: customer_id, field: customer_id}
attributes: {plan: plan}
events: {name_column: event_name, timestamp_column: event_time, parameters_column: params_json}
delete_profiles: true
batch_size: 9
`)
)

func crashWorkload(dir string) error {
	e, err := openCrashEnv(dir)
	if err != nil {
		return err
	}
	defer e.Close()
	for _, f := range []platform.Field{{Name: "customer_id", Type: platform.TypeString, Identifier: true}, {Name: "plan", Type: platform.TypeString}} {
		if err := e.store.DefineField(ctx, f); err != nil {
			return err
		}
	}
	events, err := e.table("events", crashEvents, nil)
	if err != nil {
		return err
	}
	defer events.Close()
	customers, err := e.table("customers", crashCustomers, map[string]string{"delta.enableChangeDataFeed": "true"})
	if err != nil {
		return err
	}
	defer customers.Close()
	for k := 1; k <= crashSteps; k++ {
		for i, rows := range eventRows(k) {
			rec := lakehousetest.Batch(crashEvents, rows...)
			_, err := events.Append(ctx, delta.RecordsOf(crashEvents, rec), delta.WriteOptions{AppID: "crash-events", AppVersion: int64(2*k + i)})
			rec.Release()
			if err != nil {
				return err
			}
		}
		merged, deleted := customerStep(k)
		rec := lakehousetest.Batch(crashCustomers, merged...)
		_, err := customers.Merge(ctx, delta.RecordsOf(crashCustomers, rec), delta.MergeOptions{Keys: []string{"customer_id"}},
			delta.WriteOptions{AppID: "crash-customers", AppVersion: int64(2 * k)})
		rec.Release()
		if err != nil {
			return err
		}
		if len(deleted) > 0 {
			where := "customer_id IN ("
			for i, id := range deleted {
				if i > 0 {
					where += ", "
				}
				where += "'" + id + "'"
			}
			if _, err := customers.Delete(ctx, where+")", delta.WriteOptions{AppID: "crash-customers", AppVersion: int64(2*k + 1)}); err != nil {
				return err
			}
		}
		for _, s := range []*job.Spec{tableJob, changesJob} {
			var fl job.Flow
			if s.Kind == importtable.Kind {
				fl, err = importtable.New(s, e.env)
			} else {
				fl, err = importchanges.New(s, e.env)
			}
			if err != nil {
				return err
			}
			if _, err := fl.Run(ctx, &job.Run{Job: s, Seq: int64(k), Env: e.env, Progress: func(job.Progress) {}}); err != nil {
				return fmt.Errorf("step %d %s: %w", k, s.Kind, err)
			}
		}
	}
	return nil
}

// crashExpected is the platform the workload must leave: every events-table
// row once in its stream; one event per merged customer row (the first
// step's rows through the snapshot, later ones through the feed); a profile
// per customer still in the table, with its latest plan.
func crashExpected() (eventIDs []string, customerEvents []string, profiles []string) {
	plans := map[string]string{}
	for k := 1; k <= crashSteps; k++ {
		for _, f := range eventRows(k) {
			for _, r := range f {
				eventIDs = append(eventIDs, fmt.Sprint(r[0]))
			}
		}
		merged, deleted := customerStep(k)
		for _, r := range merged {
			plans[r[0].(string)] = r[1].(string)
			customerEvents = append(customerEvents, r[4].(string))
		}
		for _, id := range deleted {
			delete(plans, id)
		}
	}
	for id, p := range plans {
		profiles = append(profiles, id+"="+p)
	}
	sort.Strings(eventIDs)
	sort.Strings(customerEvents)
	sort.Strings(profiles)
	return
}

func crashActual(dir string) (eventIDs []string, customerEvents []string, profiles []string, err error) {
	e, err := openCrashEnv(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	defer e.Close()
	read := func(stream string, fn func(m map[string]json.RawMessage)) error {
		var cur platform.Cursor
		for {
			evs, err := e.store.ReadStream(ctx, stream, cur, 1000)
			if err != nil {
				return err
			}
			if len(evs) == 0 {
				return nil
			}
			for _, ev := range evs {
				var m map[string]json.RawMessage
				if err := json.Unmarshal(ev.Data, &m); err != nil {
					return err
				}
				fn(m)
			}
			cur = evs[len(evs)-1].Cursor()
		}
	}
	if err := read("databricks_main_crm_events", func(m map[string]json.RawMessage) { eventIDs = append(eventIDs, string(m["event_id"])) }); err != nil {
		return nil, nil, nil, err
	}
	if err := read("databricks_main_crm_customers", func(m map[string]json.RawMessage) {
		customerEvents = append(customerEvents, string(m["parameters"]))
	}); err != nil {
		return nil, nil, nil, err
	}
	var after int64
	for {
		page, err := e.store.Profiles(ctx, after, 1000)
		if err != nil {
			return nil, nil, nil, err
		}
		if len(page) == 0 {
			break
		}
		for _, p := range page {
			profiles = append(profiles, fmt.Sprint(p.Values("customer_id")[0], "=", p.Attributes["plan"]))
			after = p.ID
		}
	}
	sort.Strings(eventIDs)
	sort.Strings(customerEvents)
	sort.Strings(profiles)
	return eventIDs, customerEvents, profiles, nil
}

func crashRuns() int {
	if n, err := strconv.Atoi(os.Getenv("LAKEPORT_CRASH_RUNS")); err == nil && n > 0 {
		return n
	}
	return 100
}

// TestCrashAtRandomPoints kills a process running both imports (SIGKILL) at
// random moments, runs it again to completion, and checks that the
// platform holds every source row exactly once: each events-table row once
// in its stream, each customer change once as an event, and the profiles of
// exactly the customers the table holds, with their latest attributes.
func TestCrashAtRandomPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: skipped in -short mode")
	}
	exe := childBinary(t)
	run := func(dir string, kill time.Duration) error {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), "LAKEPORT_IMPORT_CHILD=crash", "LAKEPORT_CHILD_DIR="+dir)
		out := &limitedBuffer{}
		cmd.Stderr = out
		if err := cmd.Start(); err != nil {
			return err
		}
		if kill > 0 {
			timer := time.AfterFunc(kill, func() { cmd.Process.Signal(syscall.SIGKILL) })
			defer timer.Stop()
		}
		err := cmd.Wait()
		if err != nil && kill == 0 {
			return fmt.Errorf("%w: %s", err, out.b)
		}
		return err
	}
	wantIDs, wantEvents, wantProfiles := crashExpected()
	check := func(dir string, label string) {
		t.Helper()
		ids, evs, profs, err := crashActual(dir)
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		if !slices.Equal(ids, wantIDs) {
			t.Fatalf("%s: events stream holds %d rows (%d distinct), want %d", label, len(ids), len(slices.Compact(slices.Clone(ids))), len(wantIDs))
		}
		if !slices.Equal(evs, wantEvents) {
			t.Fatalf("%s: customer events: %d, want %d", label, len(evs), len(wantEvents))
		}
		if !slices.Equal(profs, wantProfiles) {
			t.Fatalf("%s: profiles: %d, want %d\n got %v\nwant %v", label, len(profs), len(wantProfiles), profs, wantProfiles)
		}
	}
	full := t.TempDir()
	start := time.Now()
	if err := run(full, 0); err != nil {
		t.Fatalf("uninterrupted run: %v", err)
	}
	span := time.Since(start)
	check(full, "uninterrupted run")
	rng := rand.New(rand.NewPCG(11, 12))
	killed := 0
	for i := 0; i < crashRuns(); i++ {
		dir := t.TempDir()
		// one or two kills, then a run to completion
		for k := 0; k < 1+rng.IntN(2); k++ {
			if run(dir, time.Duration(rng.Int64N(int64(span)))+time.Millisecond) != nil {
				killed++
			}
		}
		if err := run(dir, 0); err != nil {
			t.Fatalf("kill point %d: rerun: %v", i, err)
		}
		check(dir, fmt.Sprintf("kill point %d", i))
	}
	t.Logf("%d runs, %d killed mid-way; workload takes %s", crashRuns(), killed, span)
	if killed < crashRuns()/2 {
		t.Errorf("only %d of %d runs were killed before finishing", killed, crashRuns())
	}
}

// childBinary is the program the crash test runs and kills: this test
// binary, or under -race (where every start costs a second of race-runtime
// set-up and the flows are single-goroutine) the same package built
// without -race.
func childBinary(t *testing.T) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if !raceEnabled {
		return exe
	}
	out := filepath.Join(t.TempDir(), "child.test")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "test", "-c", "-o", out, ".")
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Logf("building the child without -race failed (%v: %s); using the race-enabled test binary", err, b)
		return exe
	}
	return out
}

type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if len(l.b) < 4096 {
		l.b = append(l.b, p[:min(len(p), 4096-len(l.b))]...)
	}
	return len(p), nil
}
