package sqlitestore

import (
	"context"
	"time"

	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/engine"
)

// LockAudiences is a no-op: the single writer serialises all writes.
func (t *wtx) LockAudiences(ctx context.Context) error { return nil }

func (t *wtx) Audiences(ctx context.Context) ([]platform.Audience, error) {
	return queryAudiences(ctx, t.tx)
}

func queryAudiences(ctx context.Context, q querier) ([]platform.Audience, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, slug, definition, version, members, created_at, updated_at FROM audiences ORDER BY slug`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []platform.Audience
	for rows.Next() {
		var a platform.Audience
		var created, updated int64
		if err := rows.Scan(&a.ID, &a.Slug, &a.Definition, &a.Version, &a.Members, &created, &updated); err != nil {
			return nil, err
		}
		a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
		out = append(out, a)
	}
	return out, rows.Err()
}

func (t *wtx) SaveAudience(ctx context.Context, a *platform.Audience) error {
	if a.ID != 0 {
		_, err := t.tx.ExecContext(ctx, `UPDATE audiences SET definition = ?, version = ?, updated_at = ? WHERE id = ?`,
			a.Definition, a.Version, micros(a.UpdatedAt), a.ID)
		return err
	}
	return t.tx.QueryRowContext(ctx, `INSERT INTO audiences (slug, definition, version, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, a.Slug, a.Definition, a.Version, micros(a.CreatedAt), micros(a.UpdatedAt)).Scan(&a.ID)
}

func (t *wtx) DeleteAudience(ctx context.Context, id int64) error {
	_, err := t.tx.ExecContext(ctx, `DELETE FROM audiences WHERE id = ?`, id)
	return err
}

func (t *wtx) Queued(ctx context.Context, limit int) ([]int64, error) {
	return queryIDs(ctx, t.tx, `SELECT profile_id FROM audience_queue ORDER BY profile_id LIMIT ?`, limit)
}

func (t *wtx) Dequeue(ctx context.Context, ids []int64) error {
	arr, err := jsonArray(ids)
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `DELETE FROM audience_queue WHERE profile_id IN (SELECT value FROM json_each(?))`, arr)
	return err
}

func (t *wtx) Memberships(ctx context.Context, profileIDs []int64) (map[int64][]int64, error) {
	out := map[int64][]int64{}
	arr, err := jsonArray(profileIDs)
	if err != nil {
		return nil, err
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT m.profile_id, m.audience_id FROM json_each(?) j
		CROSS JOIN memberships m ON m.profile_id = j.value`, arr)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var pid, aid int64
		if err := rows.Scan(&pid, &aid); err != nil {
			return nil, err
		}
		out[pid] = append(out[pid], aid)
	}
	return out, rows.Err()
}

func (t *wtx) MemberIDs(ctx context.Context, audienceID, afterProfileID int64, limit int) ([]int64, error) {
	return queryIDs(ctx, t.tx, `SELECT profile_id FROM memberships WHERE audience_id = ? AND profile_id > ?
		ORDER BY profile_id LIMIT ?`, audienceID, afterProfileID, limit)
}

func (t *wtx) ApplyTransitions(ctx context.Context, ts []engine.Transition, now time.Time) error {
	if len(ts) == 0 {
		return nil
	}
	first, at, err := t.nextLog(ctx, "audience_changes", len(ts), now)
	if err != nil {
		return err
	}
	type row struct {
		ID  int64  `json:"i"`
		A   int64  `json:"a"`
		S   string `json:"s"`
		P   int64  `json:"p"`
		E   bool   `json:"e"`
		Chg string `json:"c"`
	}
	rows := make([]row, len(ts))
	for i, tr := range ts {
		chg := platform.Exit
		if tr.Enter {
			chg = platform.Enter
		}
		rows[i] = row{first + int64(i), tr.AudienceID, tr.Audience, tr.ProfileID, tr.Enter, chg}
	}
	arr, err := jsonArray(rows)
	if err != nil {
		return err
	}
	stmts := []string{
		`INSERT INTO memberships (audience_id, profile_id, entered_at)
			SELECT value->>'a', value->>'p', ?2 FROM json_each(?1) WHERE value->>'e'`,
		`DELETE FROM memberships WHERE (audience_id, profile_id) IN
			(SELECT value->>'a', value->>'p' FROM json_each(?1) WHERE NOT value->>'e')`,
		`INSERT INTO audience_changes (id, ts, audience, profile_id, change)
			SELECT value->>'i', ?2, value->>'s', value->>'p', value->>'c' FROM json_each(?1)`,
		`UPDATE audiences SET members = members + d.delta FROM
			(SELECT value->>'a' AS aid, sum(CASE WHEN value->>'e' THEN 1 ELSE -1 END) AS delta FROM json_each(?1) GROUP BY 1) d
			WHERE audiences.id = d.aid`,
	}
	for _, q := range stmts {
		if _, err := t.tx.ExecContext(ctx, q, arr, at); err != nil {
			return err
		}
	}
	return nil
}

func queryIDs(ctx context.Context, q querier, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
