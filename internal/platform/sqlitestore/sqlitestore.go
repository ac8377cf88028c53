package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/engine"
)

// Open opens (creating if needed) the store in the SQLite file at path.
func Open(ctx context.Context, path string, opts platform.Options) (*engine.Store, error) {
	d, err := openDriver(ctx, path)
	if err != nil {
		return nil, err
	}
	return engine.New(d, opts), nil
}

type driver struct {
	path string
	w    *sql.DB // the single writer connection
	r    *sql.DB // readers
	ins  map[int]*sql.Stmt
	bulk map[bulkKind]map[int]*sql.Stmt
	// blocks are the connections of ReadStreamBlock (blockread.go)
	blocks *blockPool
}

// insertRows are the row counts of the prepared multi-row event inserts,
// largest first; a batch is cut into these. (Many more numbered parameters
// per statement cost more: the driver looks each one's name up linearly.)
var insertRows = []int{32, 8, 1}

func openDriver(ctx context.Context, path string) (*driver, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, platform.Invalidf("sqlite path %q: must be a file name without '?' or '#'", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("platform store %s: %w", path, err)
		}
	}
	dsn := path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	w, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(4)
	d := &driver{path: path, w: w, r: r, ins: map[int]*sql.Stmt{}, blocks: &blockPool{path: path}}
	if err := d.migrate(ctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("platform store %s: %w", path, err)
	}
	for _, n := range insertRows {
		if d.ins[n], err = w.PrepareContext(ctx, insertEventsSQL(n)); err != nil {
			d.Close()
			return nil, err
		}
	}
	if err := d.prepareBulk(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func (d *driver) migrate(ctx context.Context) error {
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var v string
	err = tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&v)
	if err == nil {
		n, _ := strconv.Atoi(v)
		if n > schemaVersion {
			return fmt.Errorf("schema version %s is newer than this Lakeport's (%d)", v, schemaVersion)
		}
		for up := n + 1; up <= schemaVersion; up++ {
			for _, stmt := range upgrades[up] {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("upgrading the schema from version %d to %d: %w", up-1, up, err)
				}
			}
		}
	}
	for _, stmt := range schema {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("creating schema: %w", err)
		}
	}
	for _, f := range platform.BuiltinFields {
		if _, err := tx.ExecContext(ctx, `INSERT INTO fields (name, type, identifier) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
			f.Name, string(f.Type), f.Identifier); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('schema_version', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, strconv.Itoa(schemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

func (d *driver) Close() error {
	d.blocks.close()
	for _, s := range d.ins {
		s.Close()
	}
	for _, m := range d.bulk {
		for _, s := range m {
			s.Close()
		}
	}
	return errors.Join(d.r.Close(), d.w.Close())
}

func (d *driver) Begin(ctx context.Context) (engine.Tx, error) {
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("platform store %s: %w", d.path, err)
	}
	return &wtx{d: d, tx: tx}, nil
}

// micros converts to the stored form of a time.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros converts back (the zero time round-trips).
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// cursorMicros is the stored form of a cursor's time (zero sorts first).
func cursorMicros(c platform.Cursor) int64 { return micros(c.Time) }

// jsonArray renders values as a JSON array: the single parameter of a
// json_each() bulk statement.
func jsonArray[T any](values []T) (string, error) {
	b, err := json.Marshal(values)
	return string(b), err
}

func decodeAttrs(s string) (map[string]any, error) {
	m := map[string]any{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("stored attributes: %w", err)
	}
	return m, nil
}
