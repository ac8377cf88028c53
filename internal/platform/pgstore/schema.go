package pgstore

const schemaVersion = 1

var schema = []string{
	`CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS counters (name text PRIMARY KEY, value bigint NOT NULL, last_ts timestamptz NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS streams (
		id bigserial PRIMARY KEY,
		name text NOT NULL UNIQUE,
		last_id bigint NOT NULL,
		last_ts timestamptz NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS events (
		stream_id bigint NOT NULL,
		receive_ts timestamptz NOT NULL,
		id bigint NOT NULL,
		event_ts timestamptz NOT NULL,
		data json NOT NULL,
		PRIMARY KEY (stream_id, receive_ts, id))`,
	`CREATE TABLE IF NOT EXISTS checkpoints (key text PRIMARY KEY, value text NOT NULL, updated_at timestamptz NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS fields (name text PRIMARY KEY, type text NOT NULL, identifier boolean NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS profiles (
		id bigint PRIMARY KEY,
		attrs jsonb NOT NULL,
		created_at timestamptz NOT NULL,
		updated_at timestamptz NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS identifiers (
		field text NOT NULL,
		value text NOT NULL,
		profile_id bigint NOT NULL,
		PRIMARY KEY (field, value))`,
	`CREATE INDEX IF NOT EXISTS identifiers_profile ON identifiers (profile_id)`,
	`CREATE TABLE IF NOT EXISTS audience_queue (profile_id bigint PRIMARY KEY)`,
	`CREATE TABLE IF NOT EXISTS audiences (
		id bigserial PRIMARY KEY,
		slug text NOT NULL UNIQUE,
		definition text NOT NULL,
		version bigint NOT NULL,
		members bigint NOT NULL DEFAULT 0,
		created_at timestamptz NOT NULL,
		updated_at timestamptz NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS memberships (
		audience_id bigint NOT NULL,
		profile_id bigint NOT NULL,
		entered_at timestamptz NOT NULL,
		PRIMARY KEY (audience_id, profile_id))`,
	`CREATE INDEX IF NOT EXISTS memberships_profile ON memberships (profile_id, audience_id)`,
	`CREATE TABLE IF NOT EXISTS audience_changes (
		id bigint PRIMARY KEY,
		ts timestamptz NOT NULL,
		audience text NOT NULL,
		profile_id bigint NOT NULL,
		change text NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS audience_changes_ts ON audience_changes (ts, id)`,
	`CREATE TABLE IF NOT EXISTS system_events (
		id bigint PRIMARY KEY,
		ts timestamptz NOT NULL,
		account_id text NOT NULL,
		user_id text NOT NULL,
		subject_type text NOT NULL,
		subject_id text NOT NULL,
		verb text NOT NULL,
		notes text NOT NULL,
		related jsonb NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS system_events_ts ON system_events (ts, id)`,
	`CREATE TABLE IF NOT EXISTS metrics (
		id bigserial PRIMARY KEY,
		dimension text NOT NULL,
		dimension_id text NOT NULL,
		type text NOT NULL,
		ts timestamptz NOT NULL,
		value double precision NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS metrics_ts ON metrics (ts)`,
	`INSERT INTO counters (name, value, last_ts) VALUES
		('profiles', 0, 'epoch'), ('audience_changes', 0, 'epoch'), ('system_events', 0, 'epoch')
		ON CONFLICT (name) DO NOTHING`,
	// metric ids come from a counter row (not the bigserial's sequence) so
	// that writers commit them in order and a reader paging by id never
	// misses a point committed behind one it has seen
	`INSERT INTO counters (name, value, last_ts) SELECT 'metrics', coalesce(max(id), 0), 'epoch' FROM metrics
		ON CONFLICT (name) DO NOTHING`,
}
