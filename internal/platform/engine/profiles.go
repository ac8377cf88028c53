package engine

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"time"

	"github.com/lakeport/lakeport/internal/platform"
)

// chunk is how many profile inputs are resolved per round of lookups.
const chunk = 1000

type normalized struct {
	ids   []platform.Identifier
	attrs map[string]any
}

// writeProfiles applies upserts then deletes. It returns the state it left
// each changed profile in (nil: deleted), which is also what it queued for
// audience evaluation.
func (s *Store) writeProfiles(ctx context.Context, tx Tx, ups []platform.ProfileInput, dels []platform.Identifier, now time.Time) ([]platform.UpsertResult, int, known, error) {
	if err := tx.LockProfiles(ctx); err != nil {
		return nil, 0, nil, err
	}
	fields, err := tx.Fields(ctx)
	if err != nil {
		return nil, 0, nil, err
	}
	reg := platform.NewRegistry(fields)
	in := make([]normalized, len(ups))
	for i, u := range ups {
		if in[i], err = normalize(reg, u); err != nil {
			return nil, 0, nil, fmt.Errorf("profile %d: %w", i+1, err)
		}
	}
	delIDs := make([]platform.Identifier, len(dels))
	for i, d := range dels {
		if delIDs[i], err = reg.NormalizeIdentifier(d); err != nil {
			return nil, 0, nil, fmt.Errorf("delete %d: %w", i+1, err)
		}
	}
	results := make([]platform.UpsertResult, 0, len(in))
	changed := known{}
	for start := 0; start < len(in); start += chunk {
		r, err := upsertChunk(ctx, tx, in[start:min(start+chunk, len(in))], now, changed)
		if err != nil {
			return nil, 0, nil, err
		}
		results = append(results, r...)
	}
	deleted := 0
	if len(delIDs) > 0 {
		owners, err := tx.LookupIdentifiers(ctx, delIDs)
		if err != nil {
			return nil, 0, nil, err
		}
		var ids []int64
		for _, id := range owners {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 {
			slices.Sort(ids)
			doomed, err := tx.LoadProfiles(ctx, ids)
			if err != nil {
				return nil, 0, nil, err
			}
			var released []platform.Identifier
			for _, p := range doomed {
				released = append(released, p.Identifiers...)
			}
			if err := tx.SaveProfiles(ctx, &ProfileChanges{Released: released, Deleted: ids, Queue: ids}); err != nil {
				return nil, 0, nil, err
			}
			deleted = len(ids)
			for _, id := range ids {
				changed[id] = nil
			}
		}
	}
	return results, deleted, changed, nil
}

// known holds profiles whose current state this transaction already has:
// a profile, or nil for one deleted.
type known map[int64]*platform.Profile

func normalize(reg platform.Registry, u platform.ProfileInput) (normalized, error) {
	if len(u.Identifiers) == 0 {
		return normalized{}, platform.Invalidf("a profile needs at least one identifier")
	}
	var n normalized
	for _, id := range u.Identifiers {
		id, err := reg.NormalizeIdentifier(id)
		if err != nil {
			return normalized{}, err
		}
		if !slices.Contains(n.ids, id) {
			n.ids = append(n.ids, id)
		}
	}
	attrs, err := reg.NormalizeAttributes(u.Attributes)
	if err != nil {
		return normalized{}, err
	}
	n.attrs = attrs
	return n, nil
}

// merger resolves a chunk of inputs in memory against the profiles their
// identifiers lead to, then stores the outcome in one SaveProfiles.
type merger struct {
	owner      map[platform.Identifier]int64
	profiles   map[int64]*platform.Profile
	fresh      map[int64]bool // created in this chunk
	dirty      map[int64]bool
	deleted    map[int64]bool // stored profiles merged away
	mergedInto map[int64]int64
	owners     map[platform.Identifier]int64 // identifier owners to store
	nextID     int64
	now        time.Time
}

func upsertChunk(ctx context.Context, tx Tx, in []normalized, now time.Time, changed known) ([]platform.UpsertResult, error) {
	var ids []platform.Identifier
	seen := map[platform.Identifier]bool{}
	for _, n := range in {
		for _, id := range n.ids {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	owner, err := tx.LookupIdentifiers(ctx, ids)
	if err != nil {
		return nil, err
	}
	var pids []int64
	for _, pid := range owner {
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	pids = slices.Compact(pids)
	profiles, err := tx.LoadProfiles(ctx, pids)
	if err != nil {
		return nil, err
	}
	if len(profiles) != len(pids) {
		return nil, fmt.Errorf("identifiers refer to %d profiles, %d exist", len(pids), len(profiles))
	}
	first, err := tx.AllocateProfileIDs(ctx, len(in))
	if err != nil {
		return nil, err
	}
	m := &merger{owner: owner, profiles: profiles, fresh: map[int64]bool{}, dirty: map[int64]bool{},
		deleted: map[int64]bool{}, mergedInto: map[int64]int64{}, owners: map[platform.Identifier]int64{},
		nextID: first, now: now}
	results := make([]platform.UpsertResult, len(in))
	for i, n := range in {
		results[i] = m.apply(n)
	}
	for i := range results { // report where merged-away profiles ended up
		for {
			to, ok := m.mergedInto[results[i].ID]
			if !ok {
				break
			}
			results[i].ID = to
		}
	}
	c := &ProfileChanges{Owners: m.owners}
	for id := range m.dirty {
		p := m.profiles[id]
		platform.SortIdentifiers(p.Identifiers)
		c.Saved = append(c.Saved, p)
		c.Queue = append(c.Queue, id)
		changed[id] = p
	}
	for id := range m.deleted {
		c.Deleted = append(c.Deleted, id)
		c.Queue = append(c.Queue, id)
		changed[id] = nil
	}
	sort.Slice(c.Saved, func(i, j int) bool { return c.Saved[i].ID < c.Saved[j].ID })
	slices.Sort(c.Deleted)
	slices.Sort(c.Queue)
	if len(c.Queue) == 0 {
		return results, nil
	}
	return results, tx.SaveProfiles(ctx, c)
}

// apply resolves one input: the profiles its identifiers lead to are merged
// into the oldest (lowest ID), or a profile is created.
func (m *merger) apply(n normalized) platform.UpsertResult {
	var matched []int64
	for _, id := range n.ids {
		if pid, ok := m.owner[id]; ok && !slices.Contains(matched, pid) {
			matched = append(matched, pid)
		}
	}
	slices.Sort(matched)
	var res platform.UpsertResult
	var p *platform.Profile
	changed := false
	if len(matched) == 0 {
		p = &platform.Profile{ID: m.nextID, Attributes: map[string]any{}, CreatedAt: m.now, UpdatedAt: m.now}
		m.nextID++
		m.profiles[p.ID], m.fresh[p.ID] = p, true
		res.Created, changed = true, true
	} else {
		p = m.profiles[matched[0]]
		if len(matched) > 1 {
			m.merge(p, matched[1:])
			res.Merged, changed = matched[1:], true
		}
	}
	for _, id := range n.ids {
		if m.owner[id] != p.ID {
			m.owner[id], m.owners[id] = p.ID, p.ID
			p.Identifiers = append(p.Identifiers, id)
			changed = true
		}
	}
	for k, v := range n.attrs {
		old, had := p.Attributes[k]
		switch {
		case v == nil && had:
			delete(p.Attributes, k)
			changed = true
		case v != nil && (!had || !reflect.DeepEqual(old, v)):
			p.Attributes[k] = v
			changed = true
		}
	}
	if changed {
		p.UpdatedAt = m.now
		m.dirty[p.ID] = true
	}
	res.ID, res.Changed = p.ID, changed
	return res
}

// merge folds others into p: attributes by last update (newest wins, p
// included), identifiers united, the earliest creation time kept.
func (m *merger) merge(p *platform.Profile, others []int64) {
	all := []*platform.Profile{p}
	for _, id := range others {
		all = append(all, m.profiles[id])
	}
	sort.SliceStable(all, func(i, j int) bool {
		if !all[i].UpdatedAt.Equal(all[j].UpdatedAt) {
			return all[i].UpdatedAt.Before(all[j].UpdatedAt)
		}
		return all[i].ID < all[j].ID
	})
	attrs := map[string]any{}
	for _, q := range all {
		maps.Copy(attrs, q.Attributes)
	}
	p.Attributes = attrs
	for _, id := range others {
		q := m.profiles[id]
		for _, ident := range q.Identifiers {
			m.owner[ident], m.owners[ident] = p.ID, p.ID
			p.Identifiers = append(p.Identifiers, ident)
		}
		if q.CreatedAt.Before(p.CreatedAt) {
			p.CreatedAt = q.CreatedAt
		}
		delete(m.profiles, id)
		delete(m.dirty, id)
		m.mergedInto[id] = p.ID
		if !m.fresh[id] {
			m.deleted[id] = true
		}
	}
}
