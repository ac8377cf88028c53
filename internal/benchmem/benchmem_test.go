package benchmem

import "testing"

func TestReadings(t *testing.T) {
	ResetPeak()
	before := PeakRSSMiB()
	if before <= 0 {
		t.Fatalf("PeakRSSMiB = %v, want a positive figure on Linux", before)
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	if after := PeakRSSMiB(); after < before+32 {
		t.Errorf("peak RSS %v MiB after touching 64 MiB, was %v", after, before)
	}
	_ = buf[len(buf)-1]
	if CPUTime() <= 0 {
		t.Error("CPUTime is not positive")
	}
}
