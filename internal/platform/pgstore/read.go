package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lakeport/lakeport/internal/platform"
)

func (d *driver) Checkpoint(ctx context.Context, key string) (string, error) {
	var v string
	err := d.pool.QueryRow(ctx, `SELECT value FROM checkpoints WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func (d *driver) Streams(ctx context.Context) ([]platform.StreamInfo, error) {
	rows, err := d.pool.Query(ctx, `SELECT name, last_id, last_ts FROM streams ORDER BY name COLLATE "C"`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (platform.StreamInfo, error) {
		var s platform.StreamInfo
		err := r.Scan(&s.Name, &s.Events, &s.LastTS)
		s.LastTS = utc(s.LastTS)
		return s, err
	})
}

func (d *driver) ReadStream(ctx context.Context, stream string, after platform.Cursor, limit int) ([]platform.Event, error) {
	id, err := d.streamID(ctx, stream)
	if err != nil {
		return nil, err
	}
	return d.events(ctx, stream, `SELECT id, event_ts, receive_ts, data::text FROM events
		WHERE stream_id = $1 AND (receive_ts, id) > ($2, $3) ORDER BY receive_ts, id LIMIT $4`,
		id, after.Time, after.ID, limit)
}

func (d *driver) LastEvents(ctx context.Context, stream string, n int) ([]platform.Event, error) {
	id, err := d.streamID(ctx, stream)
	if err != nil {
		return nil, err
	}
	evs, err := d.events(ctx, stream, `SELECT id, event_ts, receive_ts, data::text FROM events
		WHERE stream_id = $1 ORDER BY receive_ts DESC, id DESC LIMIT $2`, id, n)
	slices.Reverse(evs)
	return evs, err
}

func (d *driver) streamID(ctx context.Context, stream string) (int64, error) {
	var id int64
	err := d.pool.QueryRow(ctx, `SELECT id FROM streams WHERE name = $1`, stream).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, &platform.NotFoundError{What: "stream", Key: stream}
	}
	return id, err
}

func (d *driver) events(ctx context.Context, stream, query string, args ...any) ([]platform.Event, error) {
	rows, err := d.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (platform.Event, error) {
		e := platform.Event{Stream: stream}
		var data string
		err := r.Scan(&e.ID, &e.EventTS, &e.ReceiveTS, &data)
		e.EventTS, e.ReceiveTS, e.Data = utc(e.EventTS), utc(e.ReceiveTS), json.RawMessage(data)
		return e, err
	})
}

func (d *driver) Fields(ctx context.Context) ([]platform.Field, error) {
	return queryFields(ctx, d.pool)
}

func (d *driver) ProfileByIdentifier(ctx context.Context, id platform.Identifier) (*platform.Profile, error) {
	var pid int64
	err := d.pool.QueryRow(ctx, `SELECT profile_id FROM identifiers WHERE field = $1 AND value = $2`, id.Field, id.Value).Scan(&pid)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ps, err := loadProfiles(ctx, d.pool, []int64{pid})
	if err != nil {
		return nil, err
	}
	return ps[pid], nil
}

func (d *driver) Profiles(ctx context.Context, afterID int64, limit int) ([]platform.Profile, error) {
	ps, err := profilesAfter(ctx, d.pool, afterID, limit)
	if err != nil {
		return nil, err
	}
	out := make([]platform.Profile, len(ps))
	for i, p := range ps {
		out[i] = *p
	}
	return out, nil
}

func (d *driver) Audiences(ctx context.Context) ([]platform.Audience, error) {
	return queryAudiences(ctx, d.pool)
}

func (d *driver) Members(ctx context.Context, audienceID, afterProfileID int64, limit int) ([]platform.Member, error) {
	rows, err := d.pool.Query(ctx, `SELECT p.id, p.attrs::text, p.created_at, p.updated_at, m.entered_at
		FROM memberships m JOIN profiles p ON p.id = m.profile_id
		WHERE m.audience_id = $1 AND m.profile_id > $2 ORDER BY m.profile_id LIMIT $3`, audienceID, afterProfileID, limit)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (platform.Member, error) {
		var entered time.Time
		p, err := scanProfile(r, &entered)
		if err != nil {
			return platform.Member{}, err
		}
		return platform.Member{Profile: *p, EnteredAt: utc(entered)}, nil
	})
	if err != nil || len(out) == 0 {
		return out, err
	}
	byID := make(map[int64]*platform.Profile, len(out))
	ids := make([]int64, len(out))
	for i := range out {
		byID[out[i].Profile.ID], ids[i] = &out[i].Profile, out[i].Profile.ID
	}
	return out, addIdentifiers(ctx, d.pool, ids, byID)
}

func (d *driver) AudienceChanges(ctx context.Context, after platform.Cursor, limit int) ([]platform.AudienceChange, error) {
	rows, err := d.pool.Query(ctx, `SELECT id, ts, audience, profile_id, change FROM audience_changes
		WHERE (ts, id) > ($1, $2) ORDER BY ts, id LIMIT $3`, after.Time, after.ID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (platform.AudienceChange, error) {
		var c platform.AudienceChange
		err := r.Scan(&c.ID, &c.Time, &c.Audience, &c.ProfileID, &c.Change)
		c.Time = utc(c.Time)
		return c, err
	})
}

func (d *driver) SystemEvents(ctx context.Context, after platform.Cursor, limit int) ([]platform.SystemEvent, error) {
	rows, err := d.pool.Query(ctx, `SELECT id, ts, account_id, user_id, subject_type, subject_id, verb, notes, related::text
		FROM system_events WHERE (ts, id) > ($1, $2) ORDER BY ts, id LIMIT $3`, after.Time, after.ID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (platform.SystemEvent, error) {
		var e platform.SystemEvent
		var related string
		if err := r.Scan(&e.ID, &e.Time, &e.AccountID, &e.UserID, &e.SubjectType, &e.SubjectID, &e.Verb, &e.Notes, &related); err != nil {
			return e, err
		}
		e.Time = utc(e.Time)
		if err := json.Unmarshal([]byte(related), &e.Related); err != nil {
			return e, fmt.Errorf("system event %d: related: %w", e.ID, err)
		}
		return e, nil
	})
}

func (d *driver) Metrics(ctx context.Context, q platform.MetricQuery) ([]platform.Metric, error) {
	where := []string{"id > $1"}
	args := []any{q.AfterID}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if q.Dimension != "" {
		add("dimension = $%d", q.Dimension)
	}
	if q.DimensionID != "" {
		add("dimension_id = $%d", q.DimensionID)
	}
	if q.Type != "" {
		add("type = $%d", q.Type)
	}
	if !q.From.IsZero() {
		add("ts >= $%d", q.From)
	}
	if !q.To.IsZero() {
		add("ts < $%d", q.To)
	}
	args = append(args, q.Limit)
	rows, err := d.pool.Query(ctx, `SELECT id, dimension, dimension_id, type, ts, value FROM metrics WHERE `+
		strings.Join(where, " AND ")+fmt.Sprintf(` ORDER BY id LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (platform.Metric, error) {
		var m platform.Metric
		err := r.Scan(&m.ID, &m.Dimension, &m.DimensionID, &m.Type, &m.Timestamp, &m.Value)
		m.Timestamp = utc(m.Timestamp)
		return m, err
	})
}
