package job

import (
	"context"
	"log/slog"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lakeport/lakeport/internal/platform"
)

// Flow is one job kind's work. Each internal/flow/<kind> package registers a
// Factory for its kind; the engine builds the flow from the job's spec and
// runs it on schedule.
type Flow interface {
	// Run performs one run. A flow keeps its own checkpoint where its output
	// lands (for imports: in the same platform.Store transaction as the rows)
	// so that a retried or crashed run resumes without losing or doubling a row.
	Run(ctx context.Context, r *Run) (Result, error)
}

// Run is what one run of a job may use.
type Run struct {
	Job      *Spec          // the job as configured
	Seq      int64          // run sequence number of this job, starting at 1
	Env      *Env           // shared services
	Progress func(Progress) // report progress on long runs (may be called often; cheap)
	Log      *slog.Logger

	// Scheduled is the schedule slot this run is for; zero for a run on
	// demand (`lakeport run`). Kinds that work in windows may use it.
	Scheduled time.Time
	// Attempt is 1 for a run's first attempt and counts its retries; Seq
	// stays the same across them.
	Attempt int
	// Checkpoints is the job's generic checkpoint store (for flows whose
	// output has no transactional home; see Checkpoints).
	Checkpoints *Checkpoints
}

// Progress is a snapshot of a run's progress.
type Progress struct {
	Rows  int64
	Bytes int64
}

// Result is what a run did, recorded in the run history and as metrics.
type Result struct {
	Rows  int64
	Bytes int64
	// Notes are kind-specific facts worth showing (e.g. rows skipped for a
	// null timestamp), stored with the run.
	Notes map[string]any
}

// Env holds the services flows share. Connections resolves a job's
// connection name to an opened lakehouse (type any here to keep this package
// free of driver imports; flows assert the port type they need).
type Env struct {
	Platform    platform.Store
	Connections func(ctx context.Context, name string) (any, error)
	// StagingDir is the default staging area of exports (a local
	// directory), used when neither the job nor its connection names one.
	StagingDir string

	conns *connSet // connections opened by NewEnv's resolver
}

// Factory validates a job's spec for its kind and builds the flow. Errors
// name the bad field, e.g. `jobs[2].settings.timestamp_column: required`.
type Factory func(spec *Spec, env *Env) (Flow, error)

var kinds = map[string]Factory{}

// Register makes a job kind available. Flow packages call it from init.
func Register(kind string, f Factory) { kinds[kind] = f }

var defaultSchedules = map[string]Schedule{}

// RegisterDefaultSchedule gives a kind the schedule its jobs get when they
// declare none (e.g. exports of events: about every 15 minutes).
func RegisterDefaultSchedule(kind string, s Schedule) { defaultSchedules[kind] = s }

// DefaultSchedule returns the schedule a job of kind gets when it declares
// none; false: the job runs only on demand.
func DefaultSchedule(kind string) (Schedule, bool) {
	s, ok := defaultSchedules[kind]
	return s, ok
}

// hasKey reports whether a YAML mapping node has key.
func hasKey(n *yaml.Node, key string) bool {
	if n == nil || n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

// Kinds lists the registered job kinds.
func Kinds() []string {
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	return out
}
