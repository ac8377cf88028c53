package sqlitestore

// schemaVersion is the version of schema; Open refuses newer files and
// brings older ones up to date with upgrades.
const schemaVersion = 2

var schema = []string{
	`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL, last_ts INTEGER NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS streams (
		id INTEGER PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		last_id INTEGER NOT NULL,
		last_ts INTEGER NOT NULL)`,
	eventsTable("events"),
	`CREATE TABLE IF NOT EXISTS checkpoints (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS fields (name TEXT PRIMARY KEY, type TEXT NOT NULL, identifier INTEGER NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS profiles (
		id INTEGER PRIMARY KEY,
		attrs TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS identifiers (
		field TEXT NOT NULL,
		value TEXT NOT NULL,
		profile_id INTEGER NOT NULL,
		PRIMARY KEY (field, value)) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS identifiers_profile ON identifiers (profile_id)`,
	`CREATE TABLE IF NOT EXISTS audience_queue (profile_id INTEGER PRIMARY KEY)`,
	`CREATE TABLE IF NOT EXISTS audiences (
		id INTEGER PRIMARY KEY,
		slug TEXT NOT NULL UNIQUE,
		definition TEXT NOT NULL,
		version INTEGER NOT NULL,
		members INTEGER NOT NULL DEFAULT 0,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS memberships (
		audience_id INTEGER NOT NULL,
		profile_id INTEGER NOT NULL,
		entered_at INTEGER NOT NULL,
		PRIMARY KEY (audience_id, profile_id)) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS memberships_profile ON memberships (profile_id, audience_id)`,
	`CREATE TABLE IF NOT EXISTS audience_changes (
		id INTEGER PRIMARY KEY,
		ts INTEGER NOT NULL,
		audience TEXT NOT NULL,
		profile_id INTEGER NOT NULL,
		change TEXT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS audience_changes_ts ON audience_changes (ts, id)`,
	`CREATE TABLE IF NOT EXISTS system_events (
		id INTEGER PRIMARY KEY,
		ts INTEGER NOT NULL,
		account_id TEXT NOT NULL,
		user_id TEXT NOT NULL,
		subject_type TEXT NOT NULL,
		subject_id TEXT NOT NULL,
		verb TEXT NOT NULL,
		notes TEXT NOT NULL,
		related TEXT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS system_events_ts ON system_events (ts, id)`,
	`CREATE TABLE IF NOT EXISTS metrics (
		id INTEGER PRIMARY KEY,
		dimension TEXT NOT NULL,
		dimension_id TEXT NOT NULL,
		type TEXT NOT NULL,
		ts INTEGER NOT NULL,
		value REAL NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS metrics_ts ON metrics (ts)`,
	`INSERT INTO counters (name, value, last_ts) VALUES ('profiles', 0, 0), ('audience_changes', 0, 0), ('system_events', 0, 0)
		ON CONFLICT (name) DO NOTHING`,
}

// upgrades[v] brings a file of schema version v-1 to version v (run in the
// migration's transaction, before schema).
var upgrades = map[int][]string{
	// events clustered by their primary key: a stream read walks one
	// b-tree instead of an index plus a row lookup per event
	2: {
		eventsTable("events_v2"),
		`INSERT INTO events_v2 (stream_id, receive_ts, id, event_ts, data)
			SELECT stream_id, receive_ts, id, event_ts, data FROM events ORDER BY stream_id, receive_ts, id`,
		`DROP TABLE events`,
		`ALTER TABLE events_v2 RENAME TO events`,
	},
}

// eventsTable creates the events table (schema version 2) under name.
func eventsTable(name string) string {
	return `CREATE TABLE IF NOT EXISTS ` + name + ` (
		stream_id INTEGER NOT NULL,
		receive_ts INTEGER NOT NULL,
		id INTEGER NOT NULL,
		event_ts INTEGER NOT NULL,
		data TEXT NOT NULL,
		PRIMARY KEY (stream_id, receive_ts, id)) WITHOUT ROWID`
}
