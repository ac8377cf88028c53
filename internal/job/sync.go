package job

import (
	"context"
	"encoding/json"
	"time"

	"github.com/lakeport/lakeport/internal/platform"
)

// Sync makes the state store hold cfg's connections and jobs as their
// definitions (secrets only as references) and records a system event for
// every job created, changed or deleted. It returns the job changes.
func Sync(ctx context.Context, state Store, plat platform.Store, cfg *Config, now time.Time) ([]DefinitionChange, error) {
	conns := make([]Definition, 0, len(cfg.Connections))
	for _, c := range cfg.Connections {
		b, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		conns = append(conns, Definition{Name: c.Name, Body: b})
	}
	if _, err := state.SyncDefinitions(ctx, DefConnection, conns, now); err != nil {
		return nil, err
	}
	jobs := make([]Definition, 0, len(cfg.Jobs))
	for _, s := range cfg.Jobs {
		b, err := json.Marshal(s)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, Definition{Name: s.Name, Body: b})
	}
	changes, err := state.SyncDefinitions(ctx, DefJob, jobs, now)
	if err != nil {
		return nil, err
	}
	if plat != nil {
		for _, ch := range changes {
			verb := map[string]string{"created": platform.VerbCreated, "changed": platform.VerbChanged, "deleted": platform.VerbDeleted}[ch.Change]
			if _, err := plat.RecordSystemEvent(ctx, platform.SystemEvent{SubjectType: platform.SubjectJob, SubjectID: ch.Name,
				Verb: verb, Notes: "from " + cfg.File}); err != nil {
				return changes, err
			}
		}
	}
	return changes, nil
}
