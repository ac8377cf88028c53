package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/engine"
)

func (t *wtx) LockProfiles(ctx context.Context) error {
	_, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext(current_schema()), $1)`, lockProfiles)
	return err
}

func (t *wtx) LookupIdentifiers(ctx context.Context, ids []platform.Identifier) (map[platform.Identifier]int64, error) {
	out := make(map[platform.Identifier]int64, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	fields, values := make([]string, len(ids)), make([]string, len(ids))
	for i, id := range ids {
		fields[i], values[i] = id.Field, id.Value
	}
	rows, err := t.tx.Query(ctx, `SELECT i.field, i.value, i.profile_id
		FROM unnest($1::text[], $2::text[]) AS u(field, value)
		JOIN identifiers i ON i.field = u.field AND i.value = u.value`, fields, values)
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

func loadProfiles(ctx context.Context, q querier, ids []int64) (map[int64]*platform.Profile, error) {
	out := make(map[int64]*platform.Profile, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT p.id, p.attrs::text, p.created_at, p.updated_at
		FROM unnest($1::bigint[]) AS u(id) CROSS JOIN LATERAL (SELECT * FROM profiles WHERE id = u.id OFFSET 0) p`, ids)
	if err != nil {
		return nil, err
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*platform.Profile, error) { return scanProfile(r) })
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		out[p.ID] = p
	}
	return out, addIdentifiers(ctx, q, ids, out)
}

// addIdentifiers fills in the identifiers of profiles.
func addIdentifiers(ctx context.Context, q querier, ids []int64, profiles map[int64]*platform.Profile) error {
	rows, err := q.Query(ctx, `SELECT i.profile_id, i.field, i.value
		FROM unnest($1::bigint[]) AS u(id) CROSS JOIN LATERAL (SELECT * FROM identifiers WHERE profile_id = u.id OFFSET 0) i
		ORDER BY i.profile_id, i.field COLLATE "C", i.value COLLATE "C"`, ids)
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

func scanProfile(s scanner, extra ...any) (*platform.Profile, error) {
	var p platform.Profile
	var attrs string
	if err := s.Scan(append([]any{&p.ID, &attrs, &p.CreatedAt, &p.UpdatedAt}, extra...)...); err != nil {
		return nil, err
	}
	p.Attributes = map[string]any{}
	if err := json.Unmarshal([]byte(attrs), &p.Attributes); err != nil {
		return nil, fmt.Errorf("stored attributes of profile %d: %w", p.ID, err)
	}
	p.CreatedAt, p.UpdatedAt = utc(p.CreatedAt), utc(p.UpdatedAt)
	return &p, nil
}

func (t *wtx) AllocateProfileIDs(ctx context.Context, n int) (int64, error) {
	var last int64
	err := t.tx.QueryRow(ctx, `UPDATE counters SET value = greatest(value, (SELECT coalesce(max(id), 0) FROM profiles)) + $1
		WHERE name = 'profiles' RETURNING value`, n).Scan(&last)
	return last - int64(n) + 1, err
}

func (t *wtx) SaveProfiles(ctx context.Context, c *engine.ProfileChanges) error {
	if n := len(c.Saved); n > 0 {
		ids, attrs := make([]int64, n), make([]string, n)
		created, updated := make([]time.Time, n), make([]time.Time, n)
		for i, p := range c.Saved {
			b, err := json.Marshal(p.Attributes)
			if err != nil {
				return err
			}
			ids[i], attrs[i], created[i], updated[i] = p.ID, string(b), p.CreatedAt, p.UpdatedAt
		}
		if _, err := t.tx.Exec(ctx, `INSERT INTO profiles (id, attrs, created_at, updated_at)
			SELECT u.id, u.attrs::jsonb, u.created_at, u.updated_at
			FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::timestamptz[]) AS u(id, attrs, created_at, updated_at)
			ON CONFLICT (id) DO UPDATE SET attrs = excluded.attrs, created_at = excluded.created_at, updated_at = excluded.updated_at`,
			ids, attrs, created, updated); err != nil {
			return err
		}
	}
	if n := len(c.Owners); n > 0 {
		fields, values, pids := make([]string, 0, n), make([]string, 0, n), make([]int64, 0, n)
		for id, pid := range c.Owners {
			fields, values, pids = append(fields, id.Field), append(values, id.Value), append(pids, pid)
		}
		if _, err := t.tx.Exec(ctx, `INSERT INTO identifiers (field, value, profile_id)
			SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
			ON CONFLICT (field, value) DO UPDATE SET profile_id = excluded.profile_id`, fields, values, pids); err != nil {
			return err
		}
	}
	if n := len(c.Released); n > 0 {
		fields, values := make([]string, n), make([]string, n)
		for i, id := range c.Released {
			fields[i], values[i] = id.Field, id.Value
		}
		if _, err := t.tx.Exec(ctx, `DELETE FROM identifiers i USING unnest($1::text[], $2::text[]) AS u(field, value)
			WHERE i.field = u.field AND i.value = u.value`, fields, values); err != nil {
			return err
		}
	}
	if len(c.Deleted) > 0 {
		if _, err := t.tx.Exec(ctx, `DELETE FROM profiles p USING unnest($1::bigint[]) AS u(id) WHERE p.id = u.id`, c.Deleted); err != nil {
			return err
		}
	}
	if len(c.Queue) > 0 {
		// DO UPDATE (not DO NOTHING) locks a queued row, so a refresh cannot
		// claim it on the old state of the profile while this write is open.
		if _, err := t.tx.Exec(ctx, `INSERT INTO audience_queue (profile_id) SELECT unnest($1::bigint[])
			ON CONFLICT (profile_id) DO UPDATE SET profile_id = excluded.profile_id`, c.Queue); err != nil {
			return err
		}
	}
	return nil
}

func (t *wtx) ProfilesAfter(ctx context.Context, afterID int64, limit int) ([]*platform.Profile, error) {
	return profilesAfter(ctx, t.tx, afterID, limit)
}

func profilesAfter(ctx context.Context, q querier, afterID int64, limit int) ([]*platform.Profile, error) {
	rows, err := q.Query(ctx, `SELECT id, attrs::text, created_at, updated_at FROM profiles WHERE id > $1 ORDER BY id LIMIT $2`, afterID, limit)
	if err != nil {
		return nil, err
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*platform.Profile, error) { return scanProfile(r) })
	if err != nil || len(ps) == 0 {
		return ps, err
	}
	byID := make(map[int64]*platform.Profile, len(ps))
	ids := make([]int64, len(ps))
	for i, p := range ps {
		byID[p.ID], ids[i] = p, p.ID
	}
	return ps, addIdentifiers(ctx, q, ids, byID)
}
