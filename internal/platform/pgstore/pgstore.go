package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/engine"
)

// Open connects to the PostgreSQL database at url (a postgres:// URL or
// key=value DSN) and creates the schema if needed.
func Open(ctx context.Context, url string, opts platform.Options) (*engine.Store, error) {
	d, err := openDriver(ctx, url)
	if err != nil {
		return nil, err
	}
	return engine.New(d, opts), nil
}

type driver struct {
	pool *pgxpool.Pool
	name string // for errors: host/database, never the password
}

// Advisory lock classes (second key; the first is the schema's hash).
const (
	lockMigrate   = 1
	lockProfiles  = 2
	lockAudiences = 3
)

func openDriver(ctx context.Context, url string) (*driver, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, platform.Invalidf("platform store: bad PostgreSQL URL: %v", redact(err))
	}
	cc := cfg.ConnConfig
	// Every statement is a key lookup or a short range: JIT compilation only
	// adds latency (and fires on the inflated estimates of fresh tables).
	if _, set := cc.RuntimeParams["jit"]; !set {
		cc.RuntimeParams["jit"] = "off"
	}
	name := fmt.Sprintf("postgres://%s:%d/%s", cc.Host, cc.Port, cc.Database)
	if sp := cc.RuntimeParams["search_path"]; sp != "" {
		name += "?search_path=" + sp
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("platform store %s: %w", name, redact(err))
	}
	d := &driver{pool: pool, name: name}
	if err := d.migrate(ctx, cc.RuntimeParams["search_path"]); err != nil {
		pool.Close()
		return nil, fmt.Errorf("platform store %s: %w", name, redact(err))
	}
	return d, nil
}

// redact returns err on one line, with anything after "password" dropped
// (pgx quotes connection strings in some parse errors), keeping the chain
// for errors.Is/As.
func redact(err error) error { return &flatError{err} }

type flatError struct{ err error }

func (e *flatError) Unwrap() error { return e.err }

func (e *flatError) Error() string {
	msg := strings.Join(strings.Fields(e.err.Error()), " ")
	if i := strings.Index(strings.ToLower(msg), "password"); i >= 0 {
		msg = msg[:i] + "password=[redacted]"
	}
	return msg
}

func (d *driver) migrate(ctx context.Context, searchPath string) error {
	if first := strings.TrimSpace(strings.Split(searchPath, ",")[0]); first != "" && first != "$user" {
		name := strings.Trim(first, `"`)
		if _, err := d.pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{name}.Sanitize()); err != nil {
			return err
		}
	}
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext(current_schema()), $1)`, lockMigrate); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, schema[0]); err != nil { // meta
		return fmt.Errorf("creating schema: %w", err)
	}
	var v string
	err = tx.QueryRow(ctx, `SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&v)
	switch {
	case err == nil:
		if n, _ := strconv.Atoi(v); n > schemaVersion {
			return fmt.Errorf("schema version %s is newer than this Lakeport's (%d)", v, schemaVersion)
		}
	case !errors.Is(err, pgx.ErrNoRows):
		return err
	}
	for _, stmt := range schema {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("creating schema: %w", err)
		}
	}
	for _, f := range platform.BuiltinFields {
		if _, err := tx.Exec(ctx, `INSERT INTO fields (name, type, identifier) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`,
			f.Name, string(f.Type), f.Identifier); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO meta (key, value) VALUES ('schema_version', $1)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, strconv.Itoa(schemaVersion)); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func (d *driver) Close() error {
	d.pool.Close()
	return nil
}

func (d *driver) Begin(ctx context.Context) (engine.Tx, error) {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("platform store %s: %w", d.name, redact(err))
	}
	return &wtx{d: d, tx: tx, ctx: ctx}, nil
}

// utc normalises a scanned time.
func utc(t time.Time) time.Time { return t.UTC() }
