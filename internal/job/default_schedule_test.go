package job

import (
	"testing"
	"time"
)

func TestKindDefaultSchedule(t *testing.T) {
	Register("test.scheduled", func(*Spec, *Env) (Flow, error) { return nil, nil })
	RegisterDefaultSchedule("test.scheduled", Schedule{Frequency: Every, Every: 15 * time.Minute})
	cfg, err := Parse([]byte(`
jobs:
  - name: implicit
    kind: test.scheduled
  - name: explicit
    kind: test.scheduled
    schedule: {frequency: daily, time_of_day: "03:00"}
  - name: other
    kind: test.kind
`), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Jobs[0].Schedule; s.Frequency != Every || s.Every != 15*time.Minute {
		t.Errorf("a job without a schedule got %v, want the kind's every 15m", s)
	}
	if s := cfg.Jobs[1].Schedule; s.Frequency != Daily || s.Hour != 3 {
		t.Errorf("a declared schedule was replaced: %v", s)
	}
	if s := cfg.Jobs[2].Schedule; s.Frequency != Manual {
		t.Errorf("a kind without a default got %v, want manual", s)
	}
}
