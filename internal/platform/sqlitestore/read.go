package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/lakeport/lakeport/internal/platform"
)

func (d *driver) Checkpoint(ctx context.Context, key string) (string, error) {
	var v string
	err := d.r.QueryRowContext(ctx, `SELECT value FROM checkpoints WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func (d *driver) Streams(ctx context.Context) ([]platform.StreamInfo, error) {
	rows, err := d.r.QueryContext(ctx, `SELECT name, last_id, last_ts FROM streams ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []platform.StreamInfo
	for rows.Next() {
		var s platform.StreamInfo
		var ts int64
		if err := rows.Scan(&s.Name, &s.Events, &ts); err != nil {
			return nil, err
		}
		s.LastTS = fromMicros(ts)
		out = append(out, s)
	}
	return out, rows.Err()
}

// The log reads below spell a cursor condition (t, id) > (?, ?) out as
// t >= ? AND (t > ? OR id > ?): SQLite evaluates a row-value comparison on
// every row it reads, which cost a third of a stream read.

func (d *driver) ReadStream(ctx context.Context, stream string, after platform.Cursor, limit int) ([]platform.Event, error) {
	id, err := d.streamID(ctx, stream)
	if err != nil {
		return nil, err
	}
	return d.events(ctx, stream, `SELECT id, event_ts, receive_ts, data FROM events
		WHERE stream_id = ?1 AND receive_ts >= ?2 AND (receive_ts > ?2 OR id > ?3) ORDER BY receive_ts, id LIMIT ?4`,
		id, cursorMicros(after), after.ID, limit)
}

func (d *driver) LastEvents(ctx context.Context, stream string, n int) ([]platform.Event, error) {
	id, err := d.streamID(ctx, stream)
	if err != nil {
		return nil, err
	}
	evs, err := d.events(ctx, stream, `SELECT id, event_ts, receive_ts, data FROM events
		WHERE stream_id = ? ORDER BY receive_ts DESC, id DESC LIMIT ?`, id, n)
	slices.Reverse(evs)
	return evs, err
}

func (d *driver) streamID(ctx context.Context, stream string) (int64, error) {
	var id int64
	err := d.r.QueryRowContext(ctx, `SELECT id FROM streams WHERE name = ?`, stream).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, &platform.NotFoundError{What: "stream", Key: stream}
	}
	return id, err
}

func (d *driver) events(ctx context.Context, stream, query string, args ...any) ([]platform.Event, error) {
	rows, err := d.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []platform.Event
	for rows.Next() {
		e := platform.Event{Stream: stream}
		var ets, rts int64
		var data string
		if err := rows.Scan(&e.ID, &ets, &rts, &data); err != nil {
			return nil, err
		}
		e.EventTS, e.ReceiveTS, e.Data = fromMicros(ets), fromMicros(rts), json.RawMessage(data)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (d *driver) Fields(ctx context.Context) ([]platform.Field, error) {
	return queryFields(ctx, d.r)
}

func (d *driver) ProfileByIdentifier(ctx context.Context, id platform.Identifier) (*platform.Profile, error) {
	var pid int64
	err := d.r.QueryRowContext(ctx, `SELECT profile_id FROM identifiers WHERE field = ? AND value = ?`, id.Field, id.Value).Scan(&pid)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ps, err := loadProfiles(ctx, d.r, []int64{pid})
	if err != nil {
		return nil, err
	}
	return ps[pid], nil
}

func (d *driver) Profiles(ctx context.Context, afterID int64, limit int) ([]platform.Profile, error) {
	ps, err := profilesAfter(ctx, d.r, afterID, limit)
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
	return queryAudiences(ctx, d.r)
}

func (d *driver) Members(ctx context.Context, audienceID, afterProfileID int64, limit int) ([]platform.Member, error) {
	rows, err := d.r.QueryContext(ctx, `SELECT p.id, p.attrs, p.created_at, p.updated_at, m.entered_at
		FROM memberships m JOIN profiles p ON p.id = m.profile_id
		WHERE m.audience_id = ? AND m.profile_id > ? ORDER BY m.profile_id LIMIT ?`, audienceID, afterProfileID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []platform.Member
	byID := map[int64]*platform.Profile{}
	var ids []int64
	for rows.Next() {
		var m platform.Member
		var attrs string
		var created, updated, entered int64
		if err := rows.Scan(&m.Profile.ID, &attrs, &created, &updated, &entered); err != nil {
			return nil, err
		}
		if m.Profile.Attributes, err = decodeAttrs(attrs); err != nil {
			return nil, err
		}
		m.Profile.CreatedAt, m.Profile.UpdatedAt, m.EnteredAt = fromMicros(created), fromMicros(updated), fromMicros(entered)
		out = append(out, m)
		ids = append(ids, m.Profile.ID)
	}
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	for i := range out {
		byID[out[i].Profile.ID] = &out[i].Profile
	}
	arr, err := jsonArray(ids)
	if err != nil {
		return nil, err
	}
	return out, addIdentifiers(ctx, d.r, arr, byID)
}

func (d *driver) AudienceChanges(ctx context.Context, after platform.Cursor, limit int) ([]platform.AudienceChange, error) {
	rows, err := d.r.QueryContext(ctx, `SELECT id, ts, audience, profile_id, change FROM audience_changes
		WHERE ts >= ?1 AND (ts > ?1 OR id > ?2) ORDER BY ts, id LIMIT ?3`, cursorMicros(after), after.ID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []platform.AudienceChange
	for rows.Next() {
		var c platform.AudienceChange
		var ts int64
		if err := rows.Scan(&c.ID, &ts, &c.Audience, &c.ProfileID, &c.Change); err != nil {
			return nil, err
		}
		c.Time = fromMicros(ts)
		out = append(out, c)
	}
	return out, rows.Err()
}

func (d *driver) SystemEvents(ctx context.Context, after platform.Cursor, limit int) ([]platform.SystemEvent, error) {
	rows, err := d.r.QueryContext(ctx, `SELECT id, ts, account_id, user_id, subject_type, subject_id, verb, notes, related
		FROM system_events WHERE ts >= ?1 AND (ts > ?1 OR id > ?2) ORDER BY ts, id LIMIT ?3`, cursorMicros(after), after.ID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []platform.SystemEvent
	for rows.Next() {
		var e platform.SystemEvent
		var ts int64
		var related string
		if err := rows.Scan(&e.ID, &ts, &e.AccountID, &e.UserID, &e.SubjectType, &e.SubjectID, &e.Verb, &e.Notes, &related); err != nil {
			return nil, err
		}
		e.Time = fromMicros(ts)
		if err := json.Unmarshal([]byte(related), &e.Related); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (d *driver) Metrics(ctx context.Context, q platform.MetricQuery) ([]platform.Metric, error) {
	var where []string
	args := []any{q.AfterID}
	where = append(where, "id > ?")
	for _, c := range []struct {
		col string
		v   string
	}{{"dimension", q.Dimension}, {"dimension_id", q.DimensionID}, {"type", q.Type}} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	if !q.From.IsZero() {
		where = append(where, "ts >= ?")
		args = append(args, micros(q.From))
	}
	if !q.To.IsZero() {
		where = append(where, "ts < ?")
		args = append(args, micros(q.To))
	}
	args = append(args, q.Limit)
	rows, err := d.r.QueryContext(ctx, `SELECT id, dimension, dimension_id, type, ts, value FROM metrics WHERE `+
		strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []platform.Metric
	for rows.Next() {
		var m platform.Metric
		var ts int64
		if err := rows.Scan(&m.ID, &m.Dimension, &m.DimensionID, &m.Type, &ts, &m.Value); err != nil {
			return nil, err
		}
		m.Timestamp = fromMicros(ts)
		out = append(out, m)
	}
	return out, rows.Err()
}
