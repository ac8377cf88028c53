package exporttest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/lakeport/lakeport/internal/flow/export"
)

// Campaign is a crash campaign of one export kind: a child process runs the
// export and is killed (SIGKILL) at a random crash point of
// internal/flow/export; the next child is the rerun. After the campaign a
// clean run must leave every source row in the tables exactly once and no
// staged file behind.
type Campaign struct {
	Name  string
	Setup func(tb testing.TB, f *Fixture)        // seed the source (parent, once)
	Grow  func(tb testing.TB, f *Fixture, i int) // add source rows before child i (parent; may be nil)
	Run   func(ctx context.Context, f *Fixture) error
	Check func(tb testing.TB, f *Fixture) // the tables hold the source exactly once
	// Kills is the number of crashes to cause (default 100, or
	// LAKEPORT_EXPORT_CRASH_KILLS).
	Kills int
}

const (
	envChild = "LAKEPORT_EXPORT_CRASH_CHILD"
	envDir   = "LAKEPORT_EXPORT_CRASH_DIR"
	envAt    = "LAKEPORT_EXPORT_CRASH_AT"
)

// ChildMain runs the child side of a campaign when this process is one
// (call it first in TestMain); it returns when the process is not a child.
func ChildMain(campaigns ...Campaign) {
	name := os.Getenv(envChild)
	if name == "" {
		return
	}
	for _, c := range campaigns {
		if c.Name != name {
			continue
		}
		at, _ := strconv.Atoi(os.Getenv(envAt))
		n := 0
		export.Hook = func(point string) {
			if n++; n == at {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {}
			}
		}
		f := Open(&childTB{}, os.Getenv(envDir))
		err := c.Run(context.Background(), f)
		f.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "child run:", err)
			os.Exit(3)
		}
		fmt.Printf("crashpoints %d\n", n)
		os.Exit(0)
	}
	fmt.Fprintln(os.Stderr, "unknown crash campaign", name)
	os.Exit(2)
}

// RunCampaign runs the parent side.
func RunCampaign(t *testing.T, c Campaign) {
	kills := c.Kills
	if n, err := strconv.Atoi(os.Getenv("LAKEPORT_EXPORT_CRASH_KILLS")); err == nil && n > 0 {
		kills = n
	}
	if kills == 0 {
		kills = 100
	}
	dir := t.TempDir()
	f := Open(t, dir)
	c.Setup(t, f)
	f.Close()
	rng := rand.New(rand.NewPCG(uint64(len(c.Name)), 7))
	killed, runs := 0, 0
	maxAt := 12
	for i := 0; killed < kills; i++ {
		if i > 20*kills {
			t.Fatalf("only %d kills in %d runs", killed, i)
		}
		if c.Grow != nil && i%3 == 0 {
			f := Open(t, dir)
			c.Grow(t, f, i)
			f.Close()
		}
		at := 1 + rng.IntN(maxAt)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envChild+"="+c.Name, envDir+"="+dir, envAt+"="+strconv.Itoa(at))
		out, err := cmd.CombinedOutput()
		runs++
		if ee, ok := err.(*exec.ExitError); ok && ee.Sys().(syscall.WaitStatus).Signaled() {
			killed++
			continue
		}
		if err != nil {
			t.Fatalf("child %d (crash point %d): %v\n%s", i, at, err, out)
		}
		// the run passed fewer crash points than at: aim within its count next time
		var points int
		for _, line := range strings.Split(string(out), "\n") {
			if _, err := fmt.Sscanf(line, "crashpoints %d", &points); err == nil && points > 0 {
				maxAt = points
			}
		}
	}
	t.Logf("%s: %d kills in %d runs", c.Name, killed, runs)
	f = Open(t, dir)
	if err := c.Run(context.Background(), f); err != nil {
		t.Fatalf("clean run after the campaign: %v", err)
	}
	c.Check(t, f)
	if left := f.Staged(t); len(left) > 0 {
		t.Errorf("staged files left after a clean run: %v", left)
	}
}

// childTB is the testing.TB of a child process: failures exit.
type childTB struct{ testing.TB }

func (childTB) Helper() {}
func (childTB) Fatal(args ...any) {
	fmt.Fprintln(os.Stderr, args...)
	os.Exit(4)
}
func (childTB) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(4)
}
func (childTB) Cleanup(func()) {}
