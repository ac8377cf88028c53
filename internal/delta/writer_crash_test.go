package delta_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/delta"
)

// The crash workload: a fixed sequence of idempotent operations, each
// committed with txn (appId "crash", version i). crashState(k) is the table
// after the first k operations.
const crashOps = 12

func crashOp(i int) (rows []mrow, mergeOp bool) {
	if i%3 == 0 { // update the rows of operation i-1
		for j := 0; j < 4; j++ {
			rows = append(rows, mrow{id: int64((i-1)*100 + j), part: fmt.Sprintf("p%d", j%2), val: int64(i), note: fmt.Sprintf("op%d", i)})
		}
		return rows, true
	}
	for j := 0; j < 4; j++ {
		rows = append(rows, mrow{id: int64(i*100 + j), part: fmt.Sprintf("p%d", j%2), val: int64(j), note: fmt.Sprintf("op%d", i)})
	}
	return rows, false
}

func crashState(k int) []string {
	m := map[int64]mrow{}
	for i := 1; i <= k; i++ {
		rows, _ := crashOp(i)
		for _, r := range rows {
			m[r.id] = r
		}
	}
	return modelLines(m)
}

func childCrashWorkload() int {
	ctx := context.Background()
	tbl, err := delta.Open(ctx, os.Getenv("LAKEPORT_CHILD_TABLE"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for i := 1; i <= crashOps; i++ {
		rows, merge := crashOp(i)
		rec := modelBatch(rows, nil)
		o := delta.WriteOptions{AppID: "crash", AppVersion: int64(i)}
		if merge {
			_, err = tbl.Merge(ctx, delta.RecordsOf(modelSchema, rec), delta.MergeOptions{Keys: []string{"id"}}, o)
		} else {
			_, err = tbl.Append(ctx, delta.RecordsOf(modelSchema, rec), o)
		}
		rec.Release()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

func crashRuns() int {
	if n, err := strconv.Atoi(os.Getenv("LAKEPORT_CRASH_RUNS")); err == nil && n > 0 {
		return n
	}
	return 100
}

// TestCrashAtRandomPoints kills a writer process at random moments (SIGKILL)
// and checks that the table stays readable, that each operation is wholly
// committed or absent, that a rerun completes the work exactly once, and that
// vacuum removes the files the dead writer left behind.
func TestCrashAtRandomPoints(t *testing.T) {
	ctx := context.Background()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	run := func(loc string, kill time.Duration) error {
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), "LAKEPORT_WRITER_CHILD=crash", "LAKEPORT_CHILD_TABLE="+loc)
		if err := cmd.Start(); err != nil {
			return err
		}
		if kill > 0 {
			timer := time.AfterFunc(kill, func() { cmd.Process.Signal(syscall.SIGKILL) })
			defer timer.Stop()
		}
		return cmd.Wait()
	}
	// a full run tells how long the workload takes, to spread kill points over it
	full := filepath.Join(t.TempDir(), "full")
	newModelTable(t, ctx, full)
	start := time.Now()
	if err := run(full, 0); err != nil {
		t.Fatalf("uninterrupted run: %v", err)
	}
	span := time.Since(start)
	rng := rand.New(rand.NewPCG(7, 7))
	killed, partial := 0, 0
	for i := 0; i < crashRuns(); i++ {
		loc := filepath.Join(t.TempDir(), "t")
		tbl := newModelTable(t, ctx, loc)
		if run(loc, time.Duration(rng.Int64N(int64(span)))+time.Millisecond) != nil {
			killed++
		}
		snap, err := tbl.Snapshot(ctx, delta.Latest())
		if err != nil {
			t.Fatalf("run %d: table unreadable after the kill: %v", i, err)
		}
		k, _ := snap.AppTransactionVersion("crash")
		if k > 0 && k < crashOps {
			partial++
		}
		b, err := snap.Scan(ctx, delta.ScanOptions{})
		if err != nil {
			t.Fatalf("run %d: scan after the kill: %v", i, err)
		}
		if got, want := tableRows(t, ctx, b), crashState(int(k)); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("run %d: after %d committed operations the rows are\n%v\nwant\n%v", i, k, got, want)
		}
		// the rerun finishes the work; committed operations are skipped, not doubled
		if err := run(loc, 0); err != nil {
			t.Fatalf("run %d: rerun: %v", i, err)
		}
		snap, _ = tbl.Snapshot(ctx, delta.Latest())
		b, _ = snap.Scan(ctx, delta.ScanOptions{})
		if got, want := tableRows(t, ctx, b), crashState(crashOps); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("run %d: after the rerun the rows differ", i)
		}
		// vacuum removes what the dead writer left; the table reads the same
		if _, err := tbl.Vacuum(ctx, delta.VacuumOptions{Retention: time.Nanosecond, AllowShortRetention: true}); err != nil {
			t.Fatalf("run %d: vacuum: %v", i, err)
		}
		if orphans := unreferenced(t, ctx, tbl, loc); len(orphans) > 0 {
			t.Fatalf("run %d: files left after vacuum: %v", i, orphans)
		}
		snap, _ = tbl.Snapshot(ctx, delta.Latest())
		b, _ = snap.Scan(ctx, delta.ScanOptions{})
		if got := tableRows(t, ctx, b); fmt.Sprint(got) != fmt.Sprint(crashState(crashOps)) {
			t.Fatalf("run %d: vacuum changed the table", i)
		}
	}
	t.Logf("%d runs, %d killed mid-way, %d left a partial prefix of operations (workload %s)", crashRuns(), killed, partial, span)
	if killed == 0 {
		t.Error("no run was killed before it finished: the kill points missed the workload")
	}
}

// unreferenced lists data files on disk that the latest snapshot does not reference.
func unreferenced(t *testing.T, ctx context.Context, tbl *delta.Table, dir string) []string {
	snap, err := tbl.Snapshot(ctx, delta.Latest())
	if err != nil {
		t.Fatal(err)
	}
	live := map[string]bool{}
	for _, f := range snap.Files() {
		live[f.Path] = true
	}
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".parquet") {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "_delta_log/") {
			return nil
		}
		if !live[rel] && !live[escapePath(rel)] {
			out = append(out, rel)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func escapePath(p string) string {
	var parts []string
	for _, s := range strings.Split(p, "/") {
		parts = append(parts, strings.ReplaceAll(s, "%", "%25"))
	}
	return strings.Join(parts, "/")
}
