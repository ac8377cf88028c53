// Package benchmem measures a benchmark process: its peak resident set size
// (VmHWM from /proc/self/status) and its CPU time. Peak RSS is per process,
// so the project's bench scripts run each benchmark in a process of its own.
//
// Invariants: it only reads (and, in ResetPeak, resets) the process's own
// counters; where /proc is unavailable the figures are -1 or 0, never a guess.
package benchmem

import (
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ResetPeak returns free memory to the OS and restarts VmHWM from the
// current RSS, so a peak read afterwards covers only the work measured.
func ResetPeak() {
	runtime.GC()
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// PeakRSSMiB is the process's peak resident set size in MiB, or -1 when unknown.
func PeakRSSMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(string(rest)), " kB"), 64)
			if err != nil {
				return -1
			}
			return kb / 1024
		}
	}
	return -1
}

// CPUTime is the process's user plus system CPU time so far.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
