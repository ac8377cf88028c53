package jobstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // the "sqlite" database/sql driver

	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/job"
)

// schemaVersion is the version of the tables below.
const schemaVersion = 1

var schema = []string{
	`CREATE TABLE IF NOT EXISTS job_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS job_definitions (
		type TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL,
		created_us BIGINT NOT NULL, updated_us BIGINT NOT NULL,
		PRIMARY KEY (type, name))`,
	`CREATE TABLE IF NOT EXISTS job_run_seq (job TEXT PRIMARY KEY, seq BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS job_runs (
		job TEXT NOT NULL, seq BIGINT NOT NULL, kind TEXT NOT NULL,
		scheduled_us BIGINT NOT NULL, started_us BIGINT NOT NULL, ended_us BIGINT NOT NULL,
		status TEXT NOT NULL, rows_n BIGINT NOT NULL, bytes_n BIGINT NOT NULL, attempts INTEGER NOT NULL,
		error TEXT NOT NULL, error_kind TEXT NOT NULL, notes TEXT NOT NULL, owner TEXT NOT NULL,
		PRIMARY KEY (job, seq))`,
	`CREATE INDEX IF NOT EXISTS job_runs_by_status ON job_runs (job, status)`,
	`CREATE TABLE IF NOT EXISTS job_checkpoints (
		job TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_us BIGINT NOT NULL,
		PRIMARY KEY (job, key))`,
	`CREATE TABLE IF NOT EXISTS job_leases (
		job TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_us BIGINT NOT NULL, acquired_us BIGINT NOT NULL)`,
}

// Store is a job.Store in SQLite or PostgreSQL.
type Store struct {
	db       *sql.DB
	postgres bool
	name     string // for errors: a file or host/database, never a password
}

var _ job.Store = (*Store)(nil)

// Open opens the store at location: sqlite://PATH or postgres://URL.
func Open(ctx context.Context, location string) (*Store, error) {
	switch {
	case strings.HasPrefix(location, "sqlite://"):
		return OpenSQLite(ctx, strings.TrimPrefix(location, "sqlite://"))
	case strings.HasPrefix(location, "postgres://"), strings.HasPrefix(location, "postgresql://"):
		return OpenPostgres(ctx, location)
	}
	return nil, errs.Invalidf("state store: want sqlite://PATH or postgres://..., got %q", redactURL(location))
}

// OpenSQLite opens (creating if needed) the store in the SQLite file at path.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, errs.Invalidf("state store: sqlite path %q: want a file name without '?' or '#'", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("state store %s: %w", path, err)
		}
	}
	dsn := path + "?_pragma=busy_timeout(15000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("state store %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	s := &Store{db: db, name: path}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// OpenPostgres connects to the PostgreSQL database at url and creates the
// schema if needed (in the URL's search_path, if it sets one).
func OpenPostgres(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, errs.Invalidf("state store: bad PostgreSQL URL: %s", flat(err))
	}
	name := fmt.Sprintf("postgres://%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
	if sp := cfg.RuntimeParams["search_path"]; sp != "" {
		name += "?search_path=" + sp
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("state store %s: %s", name, flat(err))
	}
	db.SetMaxOpenConns(8)
	s := &Store{db: db, postgres: true, name: name}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// wrap reports err against the store's name, never a password; it keeps
// the chain for errors.Is/As.
func (s *Store) wrap(err error) error {
	if err == nil {
		return nil
	}
	return &storeError{name: s.name, err: err}
}

type storeError struct {
	name string
	err  error
}

func (e *storeError) Error() string { return "state store " + e.name + ": " + flat(e.err) }
func (e *storeError) Unwrap() error { return e.err }

// flat puts an error on one line and drops anything after "password".
func flat(err error) string {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	if i := strings.Index(strings.ToLower(msg), "password"); i >= 0 {
		msg = msg[:i] + "password=[redacted]"
	}
	return msg
}

func redactURL(s string) string {
	if i := strings.Index(s, "@"); i >= 0 {
		if j := strings.Index(s, "://"); j >= 0 && j < i {
			return s[:j+3] + "[redacted]" + s[i:]
		}
	}
	return s
}

// q rewrites ?-placeholders for PostgreSQL ($1, $2, ...).
func (s *Store) q(query string) string {
	if !s.postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(err)
	}
	defer tx.Rollback()
	if s.postgres {
		// Serialise concurrent first opens (CREATE TABLE IF NOT EXISTS races).
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.lakeport_job_state'))`); err != nil {
			return s.wrap(err)
		}
	}
	for _, stmt := range schema {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return s.wrap(fmt.Errorf("creating schema: %w", err))
		}
	}
	var v string
	err = tx.QueryRowContext(ctx, s.q(`SELECT value FROM job_meta WHERE key = 'schema_version'`)).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO job_meta (key, value) VALUES ('schema_version', ?)`), strconv.Itoa(schemaVersion)); err != nil {
			return s.wrap(err)
		}
	case err != nil:
		return s.wrap(err)
	default:
		if n, _ := strconv.Atoi(v); n > schemaVersion {
			return s.wrap(fmt.Errorf("schema version %s is newer than this Lakeport's (%d)", v, schemaVersion))
		}
	}
	return s.wrap(tx.Commit())
}

func us(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromUS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// SyncDefinitions implements job.Store.
func (s *Store) SyncDefinitions(ctx context.Context, typ string, defs []job.Definition, now time.Time) ([]job.DefinitionChange, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, s.wrap(err)
	}
	defer tx.Rollback()
	if s.postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.lakeport_job_definitions'))`); err != nil {
			return nil, s.wrap(err)
		}
	}
	rows, err := tx.QueryContext(ctx, s.q(`SELECT name, body FROM job_definitions WHERE type = ?`), typ)
	if err != nil {
		return nil, s.wrap(err)
	}
	stored := map[string]string{}
	for rows.Next() {
		var name, body string
		if err := rows.Scan(&name, &body); err != nil {
			rows.Close()
			return nil, s.wrap(err)
		}
		stored[name] = body
	}
	if err := rows.Close(); err != nil {
		return nil, s.wrap(err)
	}
	var changes []job.DefinitionChange
	seen := map[string]bool{}
	for _, d := range defs {
		if seen[d.Name] {
			return nil, errs.Invalidf("definition %s %q given twice", typ, d.Name)
		}
		seen[d.Name] = true
		body := string(d.Body)
		old, ok := stored[d.Name]
		switch {
		case !ok:
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO job_definitions (type, name, body, created_us, updated_us) VALUES (?, ?, ?, ?, ?)`),
				typ, d.Name, body, us(now), us(now))
			changes = append(changes, job.DefinitionChange{Name: d.Name, Change: "created"})
		case old != body:
			_, err = tx.ExecContext(ctx, s.q(`UPDATE job_definitions SET body = ?, updated_us = ? WHERE type = ? AND name = ?`),
				body, us(now), typ, d.Name)
			changes = append(changes, job.DefinitionChange{Name: d.Name, Change: "changed"})
		}
		if err != nil {
			return nil, s.wrap(err)
		}
	}
	for name := range stored {
		if seen[name] {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM job_definitions WHERE type = ? AND name = ?`), typ, name); err != nil {
			return nil, s.wrap(err)
		}
		changes = append(changes, job.DefinitionChange{Name: name, Change: "deleted"})
	}
	if err := tx.Commit(); err != nil {
		return nil, s.wrap(err)
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Name < changes[j].Name })
	return changes, nil
}

// Definitions implements job.Store.
func (s *Store) Definitions(ctx context.Context, typ string) ([]job.Definition, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT name, body, created_us, updated_us FROM job_definitions WHERE type = ? ORDER BY name`), typ)
	if err != nil {
		return nil, s.wrap(err)
	}
	defer rows.Close()
	var out []job.Definition
	for rows.Next() {
		var d job.Definition
		var body string
		var c, u int64
		if err := rows.Scan(&d.Name, &body, &c, &u); err != nil {
			return nil, s.wrap(err)
		}
		d.Body, d.Created, d.Updated = json.RawMessage(body), fromUS(c), fromUS(u)
		out = append(out, d)
	}
	return out, s.wrap(rows.Err())
}

// StartRun implements job.Store.
func (s *Store) StartRun(ctx context.Context, r job.RunRecord) (job.RunRecord, error) {
	if r.Job == "" {
		return r, errs.Invalidf("StartRun: no job name")
	}
	if r.Status == "" {
		r.Status = job.StatusRunning
	}
	notes, err := encodeNotes(r.Notes)
	if err != nil {
		return r, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return r, s.wrap(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE job_runs SET status = ?, ended_us = ?, error = ? WHERE job = ? AND status = ?`),
		string(job.StatusAbandoned), us(r.Start), "abandoned: its process stopped without finishing it", r.Job, string(job.StatusRunning)); err != nil {
		return r, s.wrap(err)
	}
	if err := tx.QueryRowContext(ctx, s.q(`INSERT INTO job_run_seq (job, seq) VALUES (?, 1)
		ON CONFLICT (job) DO UPDATE SET seq = job_run_seq.seq + 1 RETURNING seq`), r.Job).Scan(&r.Seq); err != nil {
		return r, s.wrap(err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO job_runs (job, seq, kind, scheduled_us, started_us, ended_us, status,
		rows_n, bytes_n, attempts, error, error_kind, notes, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		r.Job, r.Seq, r.Kind, us(r.Scheduled), us(r.Start), us(r.End), string(r.Status),
		r.Rows, r.Bytes, r.Attempts, r.Error, kindName(r), notes, r.Owner); err != nil {
		return r, s.wrap(err)
	}
	return r, s.wrap(tx.Commit())
}

func kindName(r job.RunRecord) string {
	if r.Error == "" {
		return ""
	}
	return r.ErrorKind.String()
}

func parseKind(s string) errs.Kind {
	for k := errs.Unknown; k <= errs.Auth; k++ {
		if k.String() == s {
			return k
		}
	}
	return errs.Unknown
}

func encodeNotes(n map[string]any) (string, error) {
	if len(n) == 0 {
		return "", nil
	}
	b, err := json.Marshal(n)
	if err != nil {
		return "", errs.Invalidf("run notes: %v", err)
	}
	return string(b), nil
}

// FinishRun implements job.Store.
func (s *Store) FinishRun(ctx context.Context, r job.RunRecord) error {
	notes, err := encodeNotes(r.Notes)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE job_runs SET ended_us = ?, status = ?, rows_n = ?, bytes_n = ?, attempts = ?,
		error = ?, error_kind = ?, notes = ? WHERE job = ? AND seq = ?`),
		us(r.End), string(r.Status), r.Rows, r.Bytes, r.Attempts, r.Error, kindName(r), notes, r.Job, r.Seq)
	if err != nil {
		return s.wrap(err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return errs.Invalidf("state store: no run %d of job %s", r.Seq, r.Job)
	}
	return nil
}

// Runs implements job.Store.
func (s *Store) Runs(ctx context.Context, jobName string, beforeSeq int64, limit int) ([]job.RunRecord, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT job, seq, kind, scheduled_us, started_us, ended_us, status, rows_n, bytes_n,
		attempts, error, error_kind, notes, owner FROM job_runs WHERE job = ? AND (? = 0 OR seq < ?) ORDER BY seq DESC LIMIT ?`),
		jobName, beforeSeq, beforeSeq, limit)
	if err != nil {
		return nil, s.wrap(err)
	}
	defer rows.Close()
	var out []job.RunRecord
	for rows.Next() {
		var r job.RunRecord
		var sch, st, en int64
		var status, kind, notes string
		if err := rows.Scan(&r.Job, &r.Seq, &r.Kind, &sch, &st, &en, &status, &r.Rows, &r.Bytes,
			&r.Attempts, &r.Error, &kind, &notes, &r.Owner); err != nil {
			return nil, s.wrap(err)
		}
		r.Scheduled, r.Start, r.End = fromUS(sch), fromUS(st), fromUS(en)
		r.Status, r.ErrorKind = job.Status(status), parseKind(kind)
		if notes != "" {
			if err := json.Unmarshal([]byte(notes), &r.Notes); err != nil {
				return nil, s.wrap(fmt.Errorf("run %d of %s: notes: %w", r.Seq, r.Job, err))
			}
		}
		out = append(out, r)
	}
	return out, s.wrap(rows.Err())
}

// LastScheduled implements job.Store.
func (s *Store) LastScheduled(ctx context.Context, jobName string) (time.Time, error) {
	var v sql.NullInt64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT MAX(scheduled_us) FROM job_runs WHERE job = ? AND status IN (?, ?)`),
		jobName, string(job.StatusSucceeded), string(job.StatusFailed)).Scan(&v)
	if err != nil {
		return time.Time{}, s.wrap(err)
	}
	return fromUS(v.Int64), nil
}

// Checkpoint implements job.Store.
func (s *Store) Checkpoint(ctx context.Context, jobName, key string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT value FROM job_checkpoints WHERE job = ? AND key = ?`), jobName, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, s.wrap(err)
}

// SetCheckpoint implements job.Store.
func (s *Store) SetCheckpoint(ctx context.Context, jobName, key, prev, next string) error {
	var res sql.Result
	var err error
	now := us(time.Now())
	switch {
	case prev == "" && next == "":
		cur, err := s.Checkpoint(ctx, jobName, key)
		if err != nil {
			return err
		}
		if cur != "" {
			return &job.CheckpointConflictError{Job: jobName, Key: key}
		}
		return nil
	case prev == "":
		res, err = s.db.ExecContext(ctx, s.q(`INSERT INTO job_checkpoints (job, key, value, updated_us) VALUES (?, ?, ?, ?)
			ON CONFLICT (job, key) DO NOTHING`), jobName, key, next, now)
	case next == "":
		res, err = s.db.ExecContext(ctx, s.q(`DELETE FROM job_checkpoints WHERE job = ? AND key = ? AND value = ?`), jobName, key, prev)
	default:
		res, err = s.db.ExecContext(ctx, s.q(`UPDATE job_checkpoints SET value = ?, updated_us = ? WHERE job = ? AND key = ? AND value = ?`),
			next, now, jobName, key, prev)
	}
	if err != nil {
		return s.wrap(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.wrap(err)
	}
	if n != 1 {
		return &job.CheckpointConflictError{Job: jobName, Key: key}
	}
	return nil
}

// Checkpoints implements job.Store.
func (s *Store) Checkpoints(ctx context.Context, jobName string) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT key, value FROM job_checkpoints WHERE job = ?`), jobName)
	if err != nil {
		return nil, s.wrap(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, s.wrap(err)
		}
		out[k] = v
	}
	return out, s.wrap(rows.Err())
}

// AcquireLease implements job.Store.
func (s *Store) AcquireLease(ctx context.Context, jobName, owner string, now time.Time, ttl time.Duration) (job.Lease, error) {
	if owner == "" || ttl <= 0 {
		return job.Lease{}, errs.Invalidf("AcquireLease: want an owner and a positive ttl")
	}
	exp := now.Add(ttl)
	for try := 0; try < 3; try++ {
		res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO job_leases (job, owner, expires_us, acquired_us) VALUES (?, ?, ?, ?)
			ON CONFLICT (job) DO UPDATE SET owner = excluded.owner, expires_us = excluded.expires_us,
				acquired_us = CASE WHEN job_leases.owner = excluded.owner THEN job_leases.acquired_us ELSE excluded.acquired_us END
			WHERE job_leases.owner = excluded.owner OR job_leases.expires_us <= ?`),
			jobName, owner, us(exp), us(now), us(now))
		if err != nil {
			return job.Lease{}, s.wrap(err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return job.Lease{}, s.wrap(err)
		}
		if n == 1 {
			return job.Lease{Job: jobName, Owner: owner, Expires: fromUS(us(exp))}, nil
		}
		var holder string
		var until int64
		err = s.db.QueryRowContext(ctx, s.q(`SELECT owner, expires_us FROM job_leases WHERE job = ?`), jobName).Scan(&holder, &until)
		if errors.Is(err, sql.ErrNoRows) {
			continue // released in between: try again
		}
		if err != nil {
			return job.Lease{}, s.wrap(err)
		}
		return job.Lease{}, &job.LeaseHeldError{Job: jobName, Owner: holder, Expires: fromUS(until)}
	}
	return job.Lease{}, &job.LeaseHeldError{Job: jobName}
}

// RenewLease implements job.Store.
func (s *Store) RenewLease(ctx context.Context, jobName, owner string, now time.Time, ttl time.Duration) (job.Lease, error) {
	exp := now.Add(ttl)
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE job_leases SET expires_us = ? WHERE job = ? AND owner = ?`), us(exp), jobName, owner)
	if err != nil {
		return job.Lease{}, s.wrap(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return job.Lease{}, s.wrap(err)
	}
	if n != 1 {
		return job.Lease{}, fmt.Errorf("job %s: %w (another process took it after it expired)", jobName, job.ErrLeaseLost)
	}
	return job.Lease{Job: jobName, Owner: owner, Expires: fromUS(us(exp))}, nil
}

// ReleaseLease implements job.Store.
func (s *Store) ReleaseLease(ctx context.Context, jobName, owner string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM job_leases WHERE job = ? AND owner = ?`), jobName, owner)
	return s.wrap(err)
}

// Leases implements job.Store.
func (s *Store) Leases(ctx context.Context) ([]job.Lease, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT job, owner, expires_us FROM job_leases ORDER BY job`)
	if err != nil {
		return nil, s.wrap(err)
	}
	defer rows.Close()
	var out []job.Lease
	for rows.Next() {
		var l job.Lease
		var e int64
		if err := rows.Scan(&l.Job, &l.Owner, &e); err != nil {
			return nil, s.wrap(err)
		}
		l.Expires = fromUS(e)
		out = append(out, l)
	}
	return out, s.wrap(rows.Err())
}
