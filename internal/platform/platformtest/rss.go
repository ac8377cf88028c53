package platformtest

import (
	"testing"

	"github.com/lakeport/lakeport/internal/benchmem"
)

// ReportPeakRSS reports the process's peak resident set size as the metric
// "peak-RSS-MiB". It is meaningful when the benchmark runs alone in its
// process (go test -bench '^Name$'); it reports nothing where /proc is unavailable.
func ReportPeakRSS(b *testing.B) {
	if v := benchmem.PeakRSSMiB(); v >= 0 {
		b.ReportMetric(v, "peak-RSS-MiB")
	}
}
