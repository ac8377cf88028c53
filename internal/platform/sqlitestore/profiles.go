package sqlitestore

import (
	"context"
	"encoding/json"

	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/engine"
)

// LockProfiles is a no-op: the single writer serialises all writes.
func (t *wtx) LockProfiles(ctx context.Context) error { return nil }

func (t *wtx) LookupIdentifiers(ctx context.Context, ids []platform.Identifier) (map[platform.Identifier]int64, error) {
	out := make(map[platform.Identifier]int64, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	pairs := make([][2]string, len(ids))
	for i, id := range ids {
		pairs[i] = [2]string{id.Field, id.Value}
	}
	arr, err := jsonArray(pairs)
	if err != nil {
		return nil, err
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT i.field, i.value, i.profile_id FROM json_each(?) j
		CROSS JOIN identifiers i ON i.field = j.value->>0 AND i.value = j.value->>1`, arr)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id platform.Identifier
		var pid int64
		if err := rows.Scan(&id.Field, &id.Value, &pid); err != nil {
			return nil, err
		}
		out[id] = pid
	}
	return out, rows.Err()
}

func (t *wtx) LoadProfiles(ctx context.Context, ids []int64) (map[int64]*platform.Profile, error) {
	return loadProfiles(ctx, t.tx, ids)
}

// loadProfiles reads the profiles among ids with their identifiers.
func loadProfiles(ctx context.Context, q querier, ids []int64) (map[int64]*platform.Profile, error) {
	out := make(map[int64]*platform.Profile, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	arr, err := jsonArray(ids)
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT p.id, p.attrs, p.created_at, p.updated_at FROM json_each(?) j
		CROSS JOIN profiles p ON p.id = j.value`, arr)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		p, err := scanProfile(rows)
		if err != nil {
			return nil, err
		}
		out[p.ID] = p
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, addIdentifiers(ctx, q, arr, out)
}

// addIdentifiers fills in the identifiers of profiles (ids as a JSON array).
func addIdentifiers(ctx context.Context, q querier, idsJSON string, profiles map[int64]*platform.Profile) error {
	rows, err := q.QueryContext(ctx, `SELECT i.profile_id, i.field, i.value FROM json_each(?) j
		CROSS JOIN identifiers i ON i.profile_id = j.value ORDER BY i.profile_id, i.field, i.value`, idsJSON)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var pid int64
		var id platform.Identifier
		if err := rows.Scan(&pid, &id.Field, &id.Value); err != nil {
			return err
		}
		if p := profiles[pid]; p != nil {
			p.Identifiers = append(p.Identifiers, id)
		}
	}
	return rows.Err()
}

type scanner interface{ Scan(dest ...any) error }

func scanProfile(s scanner) (*platform.Profile, error) {
	var p platform.Profile
	var attrs string
	var created, updated int64
	if err := s.Scan(&p.ID, &attrs, &created, &updated); err != nil {
		return nil, err
	}
	var err error
	if p.Attributes, err = decodeAttrs(attrs); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &p, nil
}

func (t *wtx) AllocateProfileIDs(ctx context.Context, n int) (int64, error) {
	var last int64
	err := t.tx.QueryRowContext(ctx, `UPDATE counters SET value = max(value, (SELECT coalesce(max(id), 0) FROM profiles)) + ?
		WHERE name = 'profiles' RETURNING value`, n).Scan(&last)
	return last - int64(n) + 1, err
}

func (t *wtx) SaveProfiles(ctx context.Context, c *engine.ProfileChanges) error {
	if len(c.Saved) > 0 {
		rows := make([][]any, len(c.Saved))
		for i, p := range c.Saved {
			attrs, err := json.Marshal(p.Attributes)
			if err != nil {
				return err
			}
			rows[i] = []any{p.ID, string(attrs), micros(p.CreatedAt), micros(p.UpdatedAt)}
		}
		if err := t.bulk(ctx, bulkProfiles, rows); err != nil {
			return err
		}
	}
	if len(c.Owners) > 0 {
		rows := make([][]any, 0, len(c.Owners))
		for id, pid := range c.Owners {
			rows = append(rows, []any{id.Field, id.Value, pid})
		}
		if err := t.bulk(ctx, bulkIdentifiers, rows); err != nil {
			return err
		}
	}
	for _, id := range c.Released {
		if _, err := t.tx.ExecContext(ctx, `DELETE FROM identifiers WHERE field = ? AND value = ?`, id.Field, id.Value); err != nil {
			return err
		}
	}
	for _, id := range c.Deleted {
		if _, err := t.tx.ExecContext(ctx, `DELETE FROM profiles WHERE id = ?`, id); err != nil {
			return err
		}
	}
	if len(c.Queue) > 0 {
		rows := make([][]any, len(c.Queue))
		for i, id := range c.Queue {
			rows[i] = []any{id}
		}
		if err := t.bulk(ctx, bulkQueue, rows); err != nil {
			return err
		}
	}
	return nil
}

func (t *wtx) ProfilesAfter(ctx context.Context, afterID int64, limit int) ([]*platform.Profile, error) {
	return profilesAfter(ctx, t.tx, afterID, limit)
}

func profilesAfter(ctx context.Context, q querier, afterID int64, limit int) ([]*platform.Profile, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, attrs, created_at, updated_at FROM profiles WHERE id > ? ORDER BY id LIMIT ?`, afterID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*platform.Profile
	byID := map[int64]*platform.Profile{}
	var ids []int64
	for rows.Next() {
		p, err := scanProfile(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
		byID[p.ID] = p
		ids = append(ids, p.ID)
	}
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return out, err
	}
	rows.Close()
	arr, err := jsonArray(ids)
	if err != nil {
		return nil, err
	}
	return out, addIdentifiers(ctx, q, arr, byID)
}
