package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lakeport/lakeport/internal/platform"
)

// wtx is one write transaction.
type wtx struct {
	d   *driver
	tx  pgx.Tx
	ctx context.Context
}

func (t *wtx) Commit() error {
	if err := t.tx.Commit(t.ctx); err != nil {
		return fmt.Errorf("platform store %s: commit: %w", t.d.name, err)
	}
	return nil
}

func (t *wtx) Rollback() error {
	err := t.tx.Rollback(context.WithoutCancel(t.ctx))
	if errors.Is(err, pgx.ErrTxClosed) {
		return nil
	}
	return err
}

func (t *wtx) Append(ctx context.Context, stream string, events []platform.EventInput, now time.Time) (platform.AppendResult, error) {
	var streamID, lastID int64
	var lastTS time.Time
	err := t.tx.QueryRow(ctx, `INSERT INTO streams (name, last_id, last_ts) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET last_id = streams.last_id + excluded.last_id, last_ts = greatest(streams.last_ts, excluded.last_ts)
		RETURNING id, last_id, last_ts`, stream, len(events), now).Scan(&streamID, &lastID, &lastTS)
	if err != nil {
		return platform.AppendResult{}, err
	}
	lastTS = utc(lastTS)
	first := lastID - int64(len(events)) + 1
	rows := make([][]any, len(events))
	for i, e := range events {
		ts := lastTS
		if !e.EventTS.IsZero() {
			ts = e.EventTS
		}
		rows[i] = []any{streamID, lastTS, first + int64(i), ts, string(e.Data)}
	}
	_, err = t.tx.CopyFrom(ctx, pgx.Identifier{"events"}, []string{"stream_id", "receive_ts", "id", "event_ts", "data"}, pgx.CopyFromRows(rows))
	if err != nil {
		return platform.AppendResult{}, err
	}
	return platform.AppendResult{Stream: stream, FirstID: first, Count: len(events), ReceiveTS: lastTS}, nil
}

func (t *wtx) SetCheckpoint(ctx context.Context, key, prev, next string) (bool, string, error) {
	// Make the row exist, then lock it: concurrent writers of one key queue
	// here and the later one sees the earlier one's value.
	if _, err := t.tx.Exec(ctx, `INSERT INTO checkpoints (key, value, updated_at) VALUES ($1, '', now()) ON CONFLICT (key) DO NOTHING`, key); err != nil {
		return false, "", err
	}
	var cur string
	if err := t.tx.QueryRow(ctx, `SELECT value FROM checkpoints WHERE key = $1 FOR UPDATE`, key).Scan(&cur); err != nil {
		return false, "", err
	}
	if cur != prev {
		return false, cur, nil
	}
	_, err := t.tx.Exec(ctx, `UPDATE checkpoints SET value = $2, updated_at = $3 WHERE key = $1`, key, next, platform.Now())
	return err == nil, cur, err
}

func (t *wtx) Fields(ctx context.Context) ([]platform.Field, error) {
	return queryFields(ctx, t.tx)
}

func (t *wtx) InsertField(ctx context.Context, f platform.Field) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO fields (name, type, identifier) VALUES ($1, $2, $3)`, f.Name, string(f.Type), f.Identifier)
	return err
}

// nextLog advances a log counter by n (holding its row lock to commit) and
// returns the first new ID and the log time max(now, last).
func (t *wtx) nextLog(ctx context.Context, name string, n int, now time.Time) (int64, time.Time, error) {
	var last int64
	var ts time.Time
	err := t.tx.QueryRow(ctx, `UPDATE counters SET value = value + $2, last_ts = greatest(last_ts, $3)
		WHERE name = $1 RETURNING value, last_ts`, name, n, now).Scan(&last, &ts)
	return last - int64(n) + 1, utc(ts), err
}

func (t *wtx) AppendSystemEvents(ctx context.Context, events []platform.SystemEvent, now time.Time) ([]platform.SystemEvent, error) {
	first, ts, err := t.nextLog(ctx, "system_events", len(events), now)
	if err != nil {
		return nil, err
	}
	out := make([]platform.SystemEvent, len(events))
	for i, e := range events {
		e.ID, e.Time = first+int64(i), ts
		related, err := json.Marshal(e.Related)
		if err != nil {
			return nil, err
		}
		if _, err := t.tx.Exec(ctx, `INSERT INTO system_events
			(id, ts, account_id, user_id, subject_type, subject_id, verb, notes, related) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::jsonb)`,
			e.ID, ts, e.AccountID, e.UserID, e.SubjectType, e.SubjectID, e.Verb, e.Notes, string(related)); err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

func (t *wtx) InsertMetrics(ctx context.Context, points []platform.Metric) error {
	n := len(points)
	if n == 0 {
		return nil
	}
	// the counter row's lock, held to commit, orders writers: ids become
	// visible in increasing order (Store.Metrics pages by id)
	first, _, err := t.nextLog(ctx, "metrics", n, time.Unix(0, 0))
	if err != nil {
		return err
	}
	ids := make([]int64, n)
	dims, dimIDs, types := make([]string, n), make([]string, n), make([]string, n)
	tss, values := make([]time.Time, n), make([]float64, n)
	for i, m := range points {
		ids[i] = first + int64(i)
		dims[i], dimIDs[i], types[i], tss[i], values[i] = m.Dimension, m.DimensionID, m.Type, m.Timestamp, m.Value
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO metrics (id, dimension, dimension_id, type, ts, value)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::float8[])`, ids, dims, dimIDs, types, tss, values)
	return err
}

// querier is what both the pool and a transaction offer.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func queryFields(ctx context.Context, q querier) ([]platform.Field, error) {
	rows, err := q.Query(ctx, `SELECT name, type, identifier FROM fields ORDER BY name COLLATE "C"`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (platform.Field, error) {
		var f platform.Field
		var typ string
		err := r.Scan(&f.Name, &typ, &f.Identifier)
		f.Type = platform.FieldType(typ)
		return f, err
	})
}
