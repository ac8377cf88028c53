package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/engine"
)

func (t *wtx) LockAudiences(ctx context.Context) error {
	_, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext(current_schema()), $1)`, lockAudiences)
	return err
}

func (t *wtx) Audiences(ctx context.Context) ([]platform.Audience, error) {
	return queryAudiences(ctx, t.tx)
}

func queryAudiences(ctx context.Context, q querier) ([]platform.Audience, error) {
	rows, err := q.Query(ctx, `SELECT id, slug, definition, version, members, created_at, updated_at FROM audiences ORDER BY slug COLLATE "C"`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (platform.Audience, error) {
		var a platform.Audience
		err := r.Scan(&a.ID, &a.Slug, &a.Definition, &a.Version, &a.Members, &a.CreatedAt, &a.UpdatedAt)
		a.CreatedAt, a.UpdatedAt = utc(a.CreatedAt), utc(a.UpdatedAt)
		return a, err
	})
}

func (t *wtx) SaveAudience(ctx context.Context, a *platform.Audience) error {
	if a.ID != 0 {
		_, err := t.tx.Exec(ctx, `UPDATE audiences SET definition = $1, version = $2, updated_at = $3 WHERE id = $4`,
			a.Definition, a.Version, a.UpdatedAt, a.ID)
		return err
	}
	return t.tx.QueryRow(ctx, `INSERT INTO audiences (slug, definition, version, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, a.Slug, a.Definition, a.Version, a.CreatedAt, a.UpdatedAt).Scan(&a.ID)
}

func (t *wtx) DeleteAudience(ctx context.Context, id int64) error {
	_, err := t.tx.Exec(ctx, `DELETE FROM audiences WHERE id = $1`, id)
	return err
}

func (t *wtx) Queued(ctx context.Context, limit int) ([]int64, error) {
	rows, err := t.tx.Query(ctx, `SELECT profile_id FROM audience_queue ORDER BY profile_id LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

func (t *wtx) Dequeue(ctx context.Context, ids []int64) error {
	_, err := t.tx.Exec(ctx, `DELETE FROM audience_queue q USING unnest($1::bigint[]) AS u(id) WHERE q.profile_id = u.id`, ids)
	return err
}

func (t *wtx) Memberships(ctx context.Context, profileIDs []int64) (map[int64][]int64, error) {
	rows, err := t.tx.Query(ctx, `SELECT m.profile_id, m.audience_id
		FROM unnest($1::bigint[]) AS u(id) CROSS JOIN LATERAL (SELECT * FROM memberships WHERE profile_id = u.id OFFSET 0) m`, profileIDs)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]int64{}
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
	rows, err := t.tx.Query(ctx, `SELECT profile_id FROM memberships WHERE audience_id = $1 AND profile_id > $2
		ORDER BY profile_id LIMIT $3`, audienceID, afterProfileID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

func (t *wtx) ApplyTransitions(ctx context.Context, ts []engine.Transition, now time.Time) error {
	if len(ts) == 0 {
		return nil
	}
	first, at, err := t.nextLog(ctx, "audience_changes", len(ts), now)
	if err != nil {
		return err
	}
	n := len(ts)
	ids, auds, pids := make([]int64, n), make([]int64, n), make([]int64, n)
	slugs, changes, enters := make([]string, n), make([]string, n), make([]bool, n)
	for i, tr := range ts {
		ids[i], auds[i], pids[i], slugs[i], enters[i] = first+int64(i), tr.AudienceID, tr.ProfileID, tr.Audience, tr.Enter
		changes[i] = platform.Exit
		if tr.Enter {
			changes[i] = platform.Enter
		}
	}
	stmts := []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO memberships (audience_id, profile_id, entered_at)
			SELECT u.a, u.p, $4 FROM unnest($1::bigint[], $2::bigint[], $3::bool[]) AS u(a, p, e) WHERE u.e`,
			[]any{auds, pids, enters, at}},
		{`DELETE FROM memberships m USING unnest($1::bigint[], $2::bigint[], $3::bool[]) AS u(a, p, e)
			WHERE NOT u.e AND m.audience_id = u.a AND m.profile_id = u.p`,
			[]any{auds, pids, enters}},
		{`INSERT INTO audience_changes (id, ts, audience, profile_id, change)
			SELECT u.i, $5, u.s, u.p, u.c FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[]) AS u(i, s, p, c)`,
			[]any{ids, slugs, pids, changes, at}},
		{`UPDATE audiences SET members = members + d.delta
			FROM (SELECT u.a, sum(CASE WHEN u.e THEN 1 ELSE -1 END) AS delta
			      FROM unnest($1::bigint[], $2::bool[]) AS u(a, e) GROUP BY u.a) d
			WHERE audiences.id = d.a`,
			[]any{auds, enters}},
	}
	for _, s := range stmts {
		if _, err := t.tx.Exec(ctx, s.sql, s.args...); err != nil {
			return err
		}
	}
	return nil
}
