package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"

	"github.com/lakeport/lakeport/internal/platform"
)

// wtx is a write transaction on the single writer connection.
type wtx struct {
	d  *driver
	tx *sql.Tx
}

func (t *wtx) Commit() error {
	if err := t.tx.Commit(); err != nil {
		return fmt.Errorf("platform store %s: commit: %w", t.d.path, err)
	}
	return nil
}

func (t *wtx) Rollback() error {
	if err := t.tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return err
	}
	return nil
}

func insertEventsSQL(rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO events (stream_id, receive_ts, id, event_ts, data) VALUES ")
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "(?1, ?2, ?3+%d, ?%d, ?%d)", i, 4+2*i, 5+2*i)
	}
	return b.String()
}

func (t *wtx) Append(ctx context.Context, stream string, events []platform.EventInput, now time.Time) (platform.AppendResult, error) {
	var streamID, lastID, lastTS int64
	err := t.tx.QueryRowContext(ctx, `INSERT INTO streams (name, last_id, last_ts) VALUES (?1, ?2, ?3)
		ON CONFLICT (name) DO UPDATE SET last_id = last_id + ?2, last_ts = max(last_ts, ?3)
		RETURNING id, last_id, last_ts`, stream, len(events), micros(now)).Scan(&streamID, &lastID, &lastTS)
	if err != nil {
		return platform.AppendResult{}, err
	}
	first := lastID - int64(len(events)) + 1
	args := make([]any, 3+2*insertRows[0])
	args[0], args[1] = streamID, lastTS
	for i := 0; i < len(events); {
		n := 0
		for _, n = range insertRows {
			if len(events)-i >= n {
				break
			}
		}
		args[2] = first + int64(i)
		for j := 0; j < n; j++ {
			e := events[i+j]
			ts := lastTS
			if !e.EventTS.IsZero() {
				ts = micros(e.EventTS)
			}
			args[3+2*j], args[4+2*j] = ts, bindText(e.Data)
		}
		if _, err := t.tx.StmtContext(ctx, t.d.ins[n]).ExecContext(ctx, args[:3+2*n]...); err != nil {
			return platform.AppendResult{}, err
		}
		i += n
	}
	return platform.AppendResult{Stream: stream, FirstID: first, Count: len(events), ReceiveTS: fromMicros(lastTS)}, nil
}

// bindText passes b as a TEXT parameter without copying it (the driver
// copies parameters into SQLite before Exec returns).
func bindText(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func (t *wtx) SetCheckpoint(ctx context.Context, key, prev, next string) (bool, string, error) {
	var cur string
	err := t.tx.QueryRowContext(ctx, `SELECT value FROM checkpoints WHERE key = ?`, key).Scan(&cur)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, "", err
	}
	if cur != prev {
		return false, cur, nil
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO checkpoints (key, value, updated_at) VALUES (?1, ?2, ?3)
		ON CONFLICT (key) DO UPDATE SET value = ?2, updated_at = ?3`, key, next, micros(platform.Now()))
	return err == nil, cur, err
}

func (t *wtx) Fields(ctx context.Context) ([]platform.Field, error) {
	return queryFields(ctx, t.tx)
}

func (t *wtx) InsertField(ctx context.Context, f platform.Field) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO fields (name, type, identifier) VALUES (?, ?, ?)`, f.Name, string(f.Type), f.Identifier)
	return err
}

// nextLog advances a log counter by n and returns its first new ID and the
// log time max(now, last).
func (t *wtx) nextLog(ctx context.Context, name string, n int, now time.Time) (int64, int64, error) {
	var last, ts int64
	err := t.tx.QueryRowContext(ctx, `UPDATE counters SET value = value + ?2, last_ts = max(last_ts, ?3)
		WHERE name = ?1 RETURNING value, last_ts`, name, n, micros(now)).Scan(&last, &ts)
	return last - int64(n) + 1, ts, err
}

func (t *wtx) AppendSystemEvents(ctx context.Context, events []platform.SystemEvent, now time.Time) ([]platform.SystemEvent, error) {
	first, ts, err := t.nextLog(ctx, "system_events", len(events), now)
	if err != nil {
		return nil, err
	}
	out := make([]platform.SystemEvent, len(events))
	for i, e := range events {
		e.ID, e.Time = first+int64(i), fromMicros(ts)
		related, err := json.Marshal(e.Related)
		if err != nil {
			return nil, err
		}
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO system_events
			(id, ts, account_id, user_id, subject_type, subject_id, verb, notes, related) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, ts, e.AccountID, e.UserID, e.SubjectType, e.SubjectID, e.Verb, e.Notes, string(related)); err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

func (t *wtx) InsertMetrics(ctx context.Context, points []platform.Metric) error {
	type row struct {
		D, DID, T string
		TS        int64
		V         float64
	}
	rows := make([]row, len(points))
	for i, m := range points {
		rows[i] = row{m.Dimension, m.DimensionID, m.Type, micros(m.Timestamp), m.Value}
	}
	arr, err := jsonArray(rows)
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO metrics (dimension, dimension_id, type, ts, value)
		SELECT value->>'D', value->>'DID', value->>'T', value->>'TS', value->>'V' FROM json_each(?)`, arr)
	return err
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func queryFields(ctx context.Context, q querier) ([]platform.Field, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, type, identifier FROM fields ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []platform.Field
	for rows.Next() {
		var f platform.Field
		var typ string
		if err := rows.Scan(&f.Name, &typ, &f.Identifier); err != nil {
			return nil, err
		}
		f.Type = platform.FieldType(typ)
		out = append(out, f)
	}
	return out, rows.Err()
}
