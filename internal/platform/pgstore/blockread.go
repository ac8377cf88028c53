package pgstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/engine"
)

// Exports read millions of events in one go. ReadStream scans each row
// into an Event (two time.Times, a string and a copy of the JSON);
// ReadStreamBlock instead runs one query for the whole block, asks for
// every column in PostgreSQL's binary format and decodes the raw row
// values (pgx reuses their buffer from row to row) straight into the
// block's columns, so a read allocates nothing per event.

// blockSQL is ReadStream's query (same condition and order) over the
// stored columns: the JSON is read as stored (json's binary form is its
// text, which is what data::text returns; a jsonb column's is a version
// byte and then that text).
const blockSQL = `SELECT id, event_ts, receive_ts, data FROM events
	WHERE stream_id = $1 AND (receive_ts, id) > ($2, $3) ORDER BY receive_ts, id LIMIT $4`

// blockFormats asks for every result column in binary.
var blockFormats = pgx.QueryResultFormats{pgx.BinaryFormatCode, pgx.BinaryFormatCode, pgx.BinaryFormatCode, pgx.BinaryFormatCode}

// pgEpochMicros is PostgreSQL's epoch (2000-01-01 UTC), the origin of a
// binary timestamptz, in microseconds since the Unix epoch.
const pgEpochMicros = 946_684_800 * 1_000_000

var _ engine.BlockReader = (*driver)(nil)

// ReadStreamBlock implements engine.BlockReader.
func (d *driver) ReadStreamBlock(ctx context.Context, stream string, after platform.Cursor, limit int, b *platform.EventBlock) (int, error) {
	tx, id, err := d.beginBlockRead(ctx, stream)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx) // read only: nothing to commit
	rows, err := tx.Query(ctx, blockSQL, blockFormats, id, after.Time, after.ID, limit)
	if err != nil {
		return 0, err
	}
	// Stopping early (a full block) closes rows, which reads the rest of
	// the result (at most limit rows) off the connection.
	defer rows.Close()
	jsonb := false
	switch oid := rows.FieldDescriptions()[3].DataTypeOID; oid {
	case pgtype.JSONOID, pgtype.TextOID:
	case pgtype.JSONBOID:
		jsonb = true
	default:
		return 0, fmt.Errorf("platform store %s: read stream %s: events.data has type OID %d, want json", d.name, stream, oid)
	}
	n := 0
	for n < limit && !b.Full() && rows.Next() {
		if n%4096 == 4095 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
		v := rows.RawValues()
		if len(v) != 4 || len(v[0]) != 8 || len(v[1]) != 8 || len(v[2]) != 8 || v[3] == nil {
			return n, fmt.Errorf("platform store %s: read stream %s: unexpected row layout", d.name, stream)
		}
		evTS, ok1 := micros(v[1])
		rcvTS, ok2 := micros(v[2])
		if !ok1 || !ok2 {
			return n, fmt.Errorf("platform store %s: read stream %s: infinite timestamp", d.name, stream)
		}
		data := v[3]
		if jsonb {
			if len(data) == 0 || data[0] != 1 {
				return n, fmt.Errorf("platform store %s: read stream %s: unknown jsonb version", d.name, stream)
			}
			data = data[1:]
		}
		b.AppendRaw(int64(binary.BigEndian.Uint64(v[0])), evTS, rcvTS, data)
		n++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, nil
}

// micros decodes a binary timestamptz to microseconds since the Unix
// epoch; false for ±infinity (which ReadStream cannot scan either).
func micros(v []byte) (int64, bool) {
	us := int64(binary.BigEndian.Uint64(v))
	if us == 1<<63-1 || us == -1<<63 {
		return 0, false
	}
	return us + pgEpochMicros, true
}

// beginBlockRead starts the read-only transaction of a block read and
// looks the stream up.
//
// The plan must not depend on statistics (see doc.go): without them
// (fresh or bulk-loaded events) the planner guesses that a stream holds a
// few thousand events, and for a limit above that it prefers sorting all
// of the stream after the cursor (a bitmap scan) to walking the primary
// key in order, for every block. With sorting off for the transaction
// only the ordered index scan is left.
func (d *driver) beginBlockRead(ctx context.Context, stream string) (pgx.Tx, int64, error) {
	tx, err := d.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, 0, err
	}
	var id int64
	err = tx.QueryRow(ctx, `SELECT id, set_config('enable_sort', 'off', true) FROM streams WHERE name = $1`, stream).Scan(&id, nil)
	if err != nil {
		tx.Rollback(ctx)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, 0, &platform.NotFoundError{What: "stream", Key: stream}
		}
		return nil, 0, err
	}
	return tx, id, nil
}
