package platformtest

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// ReportPeakRSS reports the process's peak resident set size (VmHWM from
// /proc/self/status) as the metric "peak-RSS-MiB". It is meaningful when
// the benchmark runs alone in its process (go test -bench '^Name$'). It
// reports nothing where /proc is unavailable.
func ReportPeakRSS(b *testing.B) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err == nil {
				b.ReportMetric(kb/1024, "peak-RSS-MiB")
			}
			return
		}
	}
}
