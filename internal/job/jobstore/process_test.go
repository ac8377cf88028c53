package jobstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/job/jobstore"
	"github.com/lakeport/lakeport/internal/platform/pgstore/pgtest"
)

const helperEnv = "LAKEPORT_JOBSTORE_LEASE_HELPER"

// TestMain lets the test binary act as a contending process.
func TestMain(m *testing.M) {
	if loc := os.Getenv(helperEnv); loc != "" {
		os.Exit(leaseHelper(loc, os.Getenv("HELPER_OWNER")))
	}
	os.Exit(m.Run())
}

// leaseHelper loops: take the job's lease, enter the critical section (a
// checkpoint compare-and-set from "" that fails if anyone else is in it),
// leave, release. It prints how often it got in and exits 2 on a violation.
func leaseHelper(loc, owner string) int {
	ctx := context.Background()
	s, err := jobstore.Open(ctx, loc)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	entered := 0
	for i := 0; i < 40; i++ {
		if _, err := s.AcquireLease(ctx, "j", owner, time.Now(), time.Hour); err != nil {
			if !errors.Is(err, job.ErrLeaseHeld) {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			continue
		}
		if err := s.SetCheckpoint(ctx, "j", "inside", "", owner); err != nil {
			fmt.Fprintf(os.Stderr, "%s got the lease while another process was inside: %v\n", owner, err)
			return 2
		}
		entered++
		if err := s.SetCheckpoint(ctx, "j", "inside", owner, ""); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := s.ReleaseLease(ctx, "j", owner); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	fmt.Println("entered", entered)
	return 0
}

func raceProcesses(t *testing.T, loc string) {
	// Create the schema first so the processes race only for the lease.
	s, err := jobstore.Open(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	const procs = 3
	var wg sync.WaitGroup
	outs := make([]string, procs)
	errs := make([]error, procs)
	for i := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), helperEnv+"="+loc, "HELPER_OWNER=proc-"+strconv.Itoa(i))
			out, err := cmd.CombinedOutput()
			outs[i], errs[i] = string(out), err
		}()
	}
	wg.Wait()
	total := 0
	for i := range procs {
		if errs[i] != nil {
			t.Fatalf("process %d: %v: %s", i, errs[i], outs[i])
		}
		n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(outs[i]), "entered")))
		if err != nil {
			t.Fatalf("process %d output %q", i, outs[i])
		}
		total += n
	}
	if total == 0 {
		t.Fatal("no process ever got the lease")
	}
	t.Logf("%d processes entered the critical section %d times, never together", procs, total)
}

func TestLeaseAcrossProcessesSQLite(t *testing.T) {
	raceProcesses(t, "sqlite://"+filepath.Join(t.TempDir(), "state.db"))
}

func TestLeaseAcrossProcessesPostgres(t *testing.T) {
	raceProcesses(t, pgtest.FreshSchema(t, pgtest.URL(t)))
}
