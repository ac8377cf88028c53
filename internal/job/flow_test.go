package job

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/errs"
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

func TestConnectionAs(t *testing.T) {
	spec := &Spec{Index: 3, Name: "j", Connection: "lake"}
	env := &Env{Connections: func(ctx context.Context, name string) (any, error) { return 42, nil }}
	if _, err := ConnectionAs[fmt.Stringer](context.Background(), spec, env, "a lakehouse"); err == nil ||
		!strings.Contains(err.Error(), `jobs[3].connection: connection "lake" is not a lakehouse (it is a int)`) || !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("wrong port type: %v", err)
	}
	if v, err := ConnectionAs[int](context.Background(), spec, env, "a number"); err != nil || v != 42 {
		t.Errorf("right port type: %v, %v", v, err)
	}
	if _, err := ConnectionAs[int](context.Background(), spec, nil, "a number"); err == nil || !strings.Contains(err.Error(), "no connections are configured") {
		t.Errorf("no environment: %v", err)
	}
}
