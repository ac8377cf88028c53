package sqlitestore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/sqlitestore"
)

// A file of schema version 1 (events in a rowid table) is upgraded on Open:
// the events table becomes WITHOUT ROWID, every event is kept, and the
// stream's ids go on from where they were.
func TestUpgradeFromVersion1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "platform.db")
	s, err := sqlitestore.Open(ctx, path, platform.Options{})
	if err != nil {
		t.Fatal(err)
	}
	appendN := func(s platform.Store, from, n int) {
		in := make([]platform.EventInput, n)
		for i := range in {
			in[i].Data = json.RawMessage(fmt.Sprintf(`{"i":%d}`, from+i))
		}
		if _, err := s.Write(ctx, platform.Batch{Appends: []platform.Append{{Stream: "web", Events: in}}}); err != nil {
			t.Fatal(err)
		}
	}
	appendN(s, 0, 250)
	s.Close()
	// turn the file back into what version 1 wrote
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`CREATE TABLE events_v1 (stream_id INTEGER NOT NULL, receive_ts INTEGER NOT NULL, id INTEGER NOT NULL,
			event_ts INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (stream_id, receive_ts, id))`,
		`INSERT INTO events_v1 SELECT stream_id, receive_ts, id, event_ts, data FROM events`,
		`DROP TABLE events`,
		`ALTER TABLE events_v1 RENAME TO events`,
		`UPDATE meta SET value = '1' WHERE key = 'schema_version'`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	tableSQL := func() string {
		var q string
		if err := db.QueryRow(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'events'`).Scan(&q); err != nil {
			t.Fatal(err)
		}
		return q
	}
	if strings.Contains(tableSQL(), "WITHOUT ROWID") {
		t.Fatal("setup: the events table is still WITHOUT ROWID")
	}
	s, err = sqlitestore.Open(ctx, path, platform.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if q := tableSQL(); !strings.Contains(q, "WITHOUT ROWID") {
		t.Fatalf("events table after the upgrade: %s", q)
	}
	var v string
	db.QueryRow(`SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&v)
	db.Close()
	if v != "2" {
		t.Fatalf("schema version after the upgrade = %q, want 2", v)
	}
	appendN(s, 250, 5)
	var b platform.EventBlock
	n, err := s.ReadStreamBlock(ctx, "web", platform.Cursor{}, 1000, &b)
	if err != nil || n != 255 {
		t.Fatalf("read %d events, %v; want 255", n, err)
	}
	for i := range n {
		if b.ID[i] != int64(i+1) || string(b.EventData(i)) != fmt.Sprintf(`{"i":%d}`, i) {
			t.Fatalf("event %d: id %d data %s", i, b.ID[i], b.EventData(i))
		}
	}
}
