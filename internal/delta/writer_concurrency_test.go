package delta_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/lakeport/lakeport/internal/delta"
)

// child processes: the test binary re-executed with LAKEPORT_WRITER_CHILD set.
func TestMain(m *testing.M) {
	switch os.Getenv("LAKEPORT_WRITER_CHILD") {
	case "append":
		os.Exit(childAppend())
	case "crash":
		os.Exit(childCrashWorkload())
	}
	os.Exit(m.Run())
}

func childAppend() int {
	ctx := context.Background()
	loc := os.Getenv("LAKEPORT_CHILD_TABLE")
	worker, _ := strconv.Atoi(os.Getenv("LAKEPORT_CHILD_WORKER"))
	n, _ := strconv.Atoi(os.Getenv("LAKEPORT_CHILD_N"))
	tbl, err := delta.Open(ctx, loc)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for i := 0; i < n; i++ {
		rec := modelBatch([]mrow{{id: int64(worker*1000 + i), part: "p" + strconv.Itoa(worker%3), val: int64(i), note: "proc"}}, nil)
		_, err := tbl.Append(ctx, delta.RecordsOf(modelSchema, rec), delta.WriteOptions{})
		rec.Release()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

func newModelTable(t *testing.T, ctx context.Context, loc string) *delta.Table {
	t.Helper()
	tbl, err := delta.Create(ctx, loc, delta.TableSpec{Schema: modelSchema, PartitionColumns: []string{"part"},
		Properties: map[string]string{"delta.enableChangeDataFeed": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// checkCommits verifies versions 0..want exist, contiguous, and the table has rows rows.
func checkCommits(t *testing.T, ctx context.Context, tbl *delta.Table, want int64, rows int) {
	t.Helper()
	snap, err := tbl.Snapshot(ctx, delta.Latest())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Version() != want {
		t.Errorf("latest version %d, want %d (every commit exactly once)", snap.Version(), want)
	}
	for v := int64(0); v <= want; v++ {
		if _, err := tbl.Snapshot(ctx, delta.AtVersion(v)); err != nil {
			t.Errorf("version %d: %v", v, err)
		}
	}
	b, err := snap.Scan(ctx, delta.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(tableRows(t, ctx, b)); got != rows {
		t.Errorf("%d rows, want %d", got, rows)
	}
}

func concurrentWriters(t *testing.T, ctx context.Context, loc string) {
	tbl := newModelTable(t, ctx, loc)
	const workers, appends = 6, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers*2)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			// each worker opens its own handle, as separate services would
			tw, err := delta.Open(ctx, loc)
			if err != nil {
				errs <- err
				return
			}
			for i := 0; i < appends; i++ {
				rec := modelBatch([]mrow{{id: int64(w*1000 + i), part: "p" + strconv.Itoa(w%3), val: 0, note: "go"}}, nil)
				_, err := tw.Append(ctx, delta.RecordsOf(modelSchema, rec), delta.WriteOptions{MaxAttempts: 50})
				rec.Release()
				if err != nil {
					errs <- fmt.Errorf("worker %d append %d: %w", w, i, err)
					return
				}
			}
			// merges of disjoint keys: each must land, none lost
			src := modelBatch([]mrow{{id: int64(w * 1000), part: "p" + strconv.Itoa(w%3), val: 100 + int64(w), note: "merged"}}, nil)
			_, err = tw.Merge(ctx, delta.RecordsOf(modelSchema, src), delta.MergeOptions{Keys: []string{"id"}}, delta.WriteOptions{MaxAttempts: 50})
			src.Release()
			if err != nil {
				errs <- fmt.Errorf("worker %d merge: %w", w, err)
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkCommits(t, ctx, tbl, workers*appends+workers, workers*appends)
	snap, _ := tbl.Snapshot(ctx, delta.Latest())
	b, _ := snap.Scan(ctx, delta.ScanOptions{Where: "note = 'merged'"})
	if got := len(tableRows(t, ctx, b)); got != workers {
		t.Errorf("%d merged rows, want %d: an update was lost", got, workers)
	}
}

func TestConcurrentWritersLocal(t *testing.T) {
	concurrentWriters(t, context.Background(), filepath.Join(t.TempDir(), "t"))
}

func TestConcurrentWritersS3(t *testing.T) {
	concurrentWriters(t, context.Background(), s3Prefix(t, "concurrent"))
}

func TestConcurrentProcessesLocal(t *testing.T) {
	concurrentProcesses(t, filepath.Join(t.TempDir(), "t"))
}

func TestConcurrentProcessesS3(t *testing.T) {
	concurrentProcesses(t, s3Prefix(t, "processes"))
}

// concurrentProcesses runs several writer processes appending to one table.
func concurrentProcesses(t *testing.T, loc string) {
	ctx := context.Background()
	tbl := newModelTable(t, ctx, loc)
	const procs, appends = 4, 10
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var cmds []*exec.Cmd
	for p := 0; p < procs; p++ {
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), "LAKEPORT_WRITER_CHILD=append", "LAKEPORT_CHILD_TABLE="+loc,
			"LAKEPORT_CHILD_WORKER="+strconv.Itoa(p), "LAKEPORT_CHILD_N="+strconv.Itoa(appends))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("process %d: %v", i, err)
		}
	}
	checkCommits(t, ctx, tbl, procs*appends, procs*appends)
}
