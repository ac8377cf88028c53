package engine

import (
	"context"
	"slices"
	"time"

	"github.com/lakeport/lakeport/internal/platform"
)

// refreshPage is how many queued profiles are evaluated per round.
const refreshPage = 1000

// RefreshAudiences implements platform.Store.RefreshAudiences.
func (s *Store) RefreshAudiences(ctx context.Context) (platform.RefreshStats, error) {
	var stats platform.RefreshStats
	err := s.inTx(ctx, func(tx Tx) error {
		now := platform.Now()
		var m []platform.Metric
		var err error
		stats, m, err = s.refresh(ctx, tx, now, nil)
		if err != nil || len(m) == 0 {
			return err
		}
		return tx.InsertMetrics(ctx, m)
	})
	return stats, err
}

// refresh evaluates every queued profile (and no other) against every
// audience, applies the resulting enters and exits and empties the queue.
// Profiles in cur are taken from there instead of being loaded again. It
// returns the audience metrics to record.
func (s *Store) refresh(ctx context.Context, tx Tx, now time.Time, cur known) (platform.RefreshStats, []platform.Metric, error) {
	var stats platform.RefreshStats
	if err := tx.LockAudiences(ctx); err != nil {
		return stats, nil, err
	}
	auds, err := tx.Audiences(ctx)
	if err != nil {
		return stats, nil, err
	}
	reg, defs, err := s.compileAll(ctx, tx, auds)
	if err != nil {
		return stats, nil, err
	}
	counts := newCounts()
	for {
		ids, err := tx.Queued(ctx, refreshPage)
		if err != nil {
			return stats, nil, err
		}
		if len(ids) == 0 {
			break
		}
		if len(auds) > 0 {
			ts, err := evaluate(ctx, tx, ids, auds, defs, reg, cur)
			if err != nil {
				return stats, nil, err
			}
			if err := tx.ApplyTransitions(ctx, ts, now); err != nil {
				return stats, nil, err
			}
			counts.add(ts)
			stats.ProfilesEvaluated += len(ids)
		}
		if err := tx.Dequeue(ctx, ids); err != nil {
			return stats, nil, err
		}
	}
	stats.Entered, stats.Exited = counts.entered, counts.exited
	m, err := counts.metrics(ctx, tx, now)
	return stats, m, err
}

// evaluate decides the transitions of profiles ids (missing ones have been
// deleted and leave every audience).
func evaluate(ctx context.Context, tx Tx, ids []int64, auds []platform.Audience, defs []*platform.Definition, reg platform.Registry, cur known) ([]Transition, error) {
	var load []int64
	for _, id := range ids {
		if _, ok := cur[id]; !ok {
			load = append(load, id)
		}
	}
	profiles, err := tx.LoadProfiles(ctx, load)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if p, ok := cur[id]; ok && p != nil {
			profiles[id] = p
		}
	}
	member, err := tx.Memberships(ctx, ids)
	if err != nil {
		return nil, err
	}
	var ts []Transition
	for _, pid := range ids {
		p := profiles[pid]
		var act platform.Activation
		if p != nil {
			act = platform.NewActivation(p, reg)
		}
		for i, a := range auds {
			want := p != nil && defs[i].Match(act)
			if want != slices.Contains(member[pid], a.ID) {
				ts = append(ts, Transition{AudienceID: a.ID, Audience: a.Slug, ProfileID: pid, Enter: want})
			}
		}
	}
	return ts, nil
}

// compileAll compiles the definitions of auds (cached by ID and version).
func (s *Store) compileAll(ctx context.Context, tx Tx, auds []platform.Audience) (platform.Registry, []*platform.Definition, error) {
	fields, err := tx.Fields(ctx)
	if err != nil {
		return nil, nil, err
	}
	defs := make([]*platform.Definition, len(auds))
	for i, a := range auds {
		if defs[i], err = s.compile(a, fields); err != nil {
			return nil, nil, err
		}
	}
	return platform.NewRegistry(fields), defs, nil
}

func (s *Store) compile(a platform.Audience, fields []platform.Field) (*platform.Definition, error) {
	k := defKey{a.ID, a.Version}
	s.mu.Lock()
	d := s.defs[k]
	s.mu.Unlock()
	if d != nil && d.Source == a.Definition {
		return d, nil
	}
	d, err := platform.CompileDefinition(a.Definition, fields)
	if err != nil {
		return nil, err
	}
	if a.ID != 0 {
		s.mu.Lock()
		s.defs[k] = d
		s.mu.Unlock()
	}
	return d, nil
}

// PutAudience implements platform.Store.PutAudience.
func (s *Store) PutAudience(ctx context.Context, slug, definition string) (platform.Audience, error) {
	if err := platform.ValidateSlug(slug); err != nil {
		return platform.Audience{}, err
	}
	var out platform.Audience
	err := s.inTx(ctx, func(tx Tx) error {
		if err := tx.LockAudiences(ctx); err != nil {
			return err
		}
		fields, err := tx.Fields(ctx)
		if err != nil {
			return err
		}
		def, err := platform.CompileDefinition(definition, fields)
		if err != nil {
			return err
		}
		auds, err := tx.Audiences(ctx)
		if err != nil {
			return err
		}
		now := platform.Now()
		a := platform.Audience{Slug: slug, CreatedAt: now}
		verb := platform.VerbCreated
		if i := slices.IndexFunc(auds, func(a platform.Audience) bool { return a.Slug == slug }); i >= 0 {
			if auds[i].Definition == definition {
				out = auds[i]
				return nil
			}
			a, verb = auds[i], platform.VerbChanged
		}
		a.Definition, a.Version, a.UpdatedAt = definition, a.Version+1, now
		if err := tx.SaveAudience(ctx, &a); err != nil {
			return err
		}
		counts := newCounts()
		reg := platform.NewRegistry(fields)
		for after := int64(0); ; {
			ps, err := tx.ProfilesAfter(ctx, after, refreshPage)
			if err != nil {
				return err
			}
			if len(ps) == 0 {
				break
			}
			ids := make([]int64, len(ps))
			for i, p := range ps {
				ids[i] = p.ID
			}
			member, err := tx.Memberships(ctx, ids)
			if err != nil {
				return err
			}
			var ts []Transition
			for _, p := range ps {
				want := def.Match(platform.NewActivation(p, reg))
				if want != slices.Contains(member[p.ID], a.ID) {
					ts = append(ts, Transition{AudienceID: a.ID, Audience: a.Slug, ProfileID: p.ID, Enter: want})
				}
			}
			if err := tx.ApplyTransitions(ctx, ts, now); err != nil {
				return err
			}
			counts.add(ts)
			after = ps[len(ps)-1].ID
		}
		ev := systemEvent(ctx, platform.SubjectAudience, slug, verb, definition, map[string]string{"version": itoa(a.Version)})
		if _, err := tx.AppendSystemEvents(ctx, []platform.SystemEvent{ev}, now); err != nil {
			return err
		}
		counts.touch(a.ID)
		m, err := counts.metrics(ctx, tx, now)
		if err != nil {
			return err
		}
		if err := tx.InsertMetrics(ctx, m); err != nil {
			return err
		}
		auds, err = tx.Audiences(ctx)
		if err != nil {
			return err
		}
		out = auds[slices.IndexFunc(auds, func(x platform.Audience) bool { return x.ID == a.ID })]
		return nil
	})
	return out, err
}

// DeleteAudience implements platform.Store.DeleteAudience.
func (s *Store) DeleteAudience(ctx context.Context, slug string) error {
	if err := platform.ValidateSlug(slug); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx Tx) error {
		if err := tx.LockAudiences(ctx); err != nil {
			return err
		}
		auds, err := tx.Audiences(ctx)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(auds, func(a platform.Audience) bool { return a.Slug == slug })
		if i < 0 {
			return &platform.NotFoundError{What: "audience", Key: slug}
		}
		a, now := auds[i], platform.Now()
		removed := 0
		for {
			ids, err := tx.MemberIDs(ctx, a.ID, 0, refreshPage)
			if err != nil {
				return err
			}
			if len(ids) == 0 {
				break
			}
			ts := make([]Transition, len(ids))
			for i, pid := range ids {
				ts[i] = Transition{AudienceID: a.ID, Audience: a.Slug, ProfileID: pid}
			}
			if err := tx.ApplyTransitions(ctx, ts, now); err != nil {
				return err
			}
			removed += len(ids)
		}
		if err := tx.DeleteAudience(ctx, a.ID); err != nil {
			return err
		}
		ev := systemEvent(ctx, platform.SubjectAudience, slug, platform.VerbDeleted, a.Definition, map[string]string{"version": itoa(a.Version)})
		if _, err := tx.AppendSystemEvents(ctx, []platform.SystemEvent{ev}, now); err != nil {
			return err
		}
		return tx.InsertMetrics(ctx, []platform.Metric{
			{Dimension: platform.DimensionAudience, DimensionID: slug, Type: platform.MetricSize, Timestamp: now, Value: 0},
			{Dimension: platform.DimensionAudience, DimensionID: slug, Type: platform.MetricRemoved, Timestamp: now, Value: float64(removed)},
		})
	})
}

// counts tallies transitions per audience for the metrics of a change.
type counts struct {
	added, removed  map[int64]int
	entered, exited int
}

func newCounts() *counts { return &counts{added: map[int64]int{}, removed: map[int64]int{}} }

func (c *counts) add(ts []Transition) {
	for _, t := range ts {
		if t.Enter {
			c.added[t.AudienceID]++
			c.entered++
		} else {
			c.removed[t.AudienceID]++
			c.exited++
		}
	}
}

// touch makes an audience report metrics even without transitions.
func (c *counts) touch(id int64) { c.added[id] += 0 }

// metrics returns size, added and removed points for every audience that
// had transitions (or was touched).
func (c *counts) metrics(ctx context.Context, tx Tx, now time.Time) ([]platform.Metric, error) {
	if len(c.added) == 0 && len(c.removed) == 0 {
		return nil, nil
	}
	auds, err := tx.Audiences(ctx)
	if err != nil {
		return nil, err
	}
	var out []platform.Metric
	for _, a := range auds {
		added, okA := c.added[a.ID]
		removed, okR := c.removed[a.ID]
		if !okA && !okR {
			continue
		}
		pt := func(typ string, v int64) platform.Metric {
			return platform.Metric{Dimension: platform.DimensionAudience, DimensionID: a.Slug, Type: typ, Timestamp: now, Value: float64(v)}
		}
		out = append(out, pt(platform.MetricSize, a.Members), pt(platform.MetricAdded, int64(added)), pt(platform.MetricRemoved, int64(removed)))
	}
	return out, nil
}
