package exporttest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"go.yaml.in/yaml/v3"

	"github.com/lakeport/lakeport/internal/format"
	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/job/jobstore"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/lakehouse/local"
	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/sqlitestore"
)

// Fixture is a lakehouse, platform and state store in one directory.
type Fixture struct {
	Dir      string
	Lake     *local.Lakehouse
	Platform platform.Store
	State    job.Store
	Env      *job.Env

	ownPlatform bool
}

// Open opens (or reopens, after a crash) the fixture in dir.
func Open(tb testing.TB, dir string) *Fixture {
	tb.Helper()
	ctx := context.Background()
	lake := filepath.Join(dir, "lake")
	if err := os.MkdirAll(lake, 0o755); err != nil {
		tb.Fatal(err)
	}
	lh, err := local.Open(lake, local.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	plat, err := sqlitestore.Open(ctx, filepath.Join(dir, "platform.db"), platform.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	state, err := jobstore.OpenSQLite(ctx, filepath.Join(dir, "state.db"))
	if err != nil {
		tb.Fatal(err)
	}
	f := &Fixture{Dir: dir, Lake: lh, Platform: plat, State: state, ownPlatform: true}
	f.Env = &job.Env{Platform: plat, StagingDir: filepath.Join(dir, "staging"), Connections: func(ctx context.Context, name string) (any, error) {
		if name != "lake" {
			return nil, fmt.Errorf("unknown connection %q", name)
		}
		return lh, nil
	}}
	tb.Cleanup(func() { f.Close() })
	return f
}

// Close closes the stores.
func (f *Fixture) Close() {
	f.Lake.Close()
	if f.ownPlatform {
		f.Platform.Close()
	}
	f.State.Close()
}

// Spec is a job of kind on connection "lake" with settings given as YAML.
func Spec(tb testing.TB, name, kind, settings string) *job.Spec {
	tb.Helper()
	s := &job.Spec{Name: name, Kind: kind, Connection: "lake"}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(settings), &doc); err != nil {
		tb.Fatal(err)
	}
	if len(doc.Content) > 0 {
		s.Settings = *doc.Content[0]
	}
	return s
}

// Run runs flow once as the next run of spec's job.
func (f *Fixture) Run(ctx context.Context, spec *job.Spec, flow job.Flow) (job.Result, error) {
	// run numbers survive a crash of the process: kept in a file
	p := filepath.Join(f.Dir, "seq-"+spec.Name)
	var seq int64
	if b, err := os.ReadFile(p); err == nil {
		fmt.Sscan(string(b), &seq)
	}
	seq++
	if err := os.WriteFile(p, []byte(fmt.Sprint(seq)), 0o644); err != nil {
		return job.Result{}, err
	}
	return flow.Run(ctx, &job.Run{Job: spec, Seq: seq, Env: f.Env, Attempt: 1, Checkpoints: job.NewCheckpoints(f.State, spec.Name)})
}

// Table reads a table back: its columns as "name type" and its rows as
// lines of '|'-joined cells, sorted.
func (f *Fixture) Table(tb testing.TB, name lakehouse.TableName) (columns, rows []string) {
	tb.Helper()
	ctx := context.Background()
	d, err := f.Lake.Describe(ctx, name)
	if err != nil {
		tb.Fatalf("describe %s: %v", name.Plain(), err)
	}
	for _, c := range d.Columns {
		columns = append(columns, c.Name+" "+c.Type)
	}
	r, err := f.Lake.Scan(ctx, name, lakehouse.ScanRequest{Version: d.Version})
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	for {
		rec, err := r.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		rows = append(rows, Lines(rec)...)
		rec.Release()
	}
	sort.Strings(rows)
	return columns, rows
}

// Lines renders a batch's rows as '|'-joined cells (NULL for null).
func Lines(rec arrow.RecordBatch) []string {
	out := make([]string, rec.NumRows())
	cells := make([]string, rec.NumCols())
	for i := range out {
		for c := range cells {
			v, ok := format.Cell(rec.Column(c), i)
			if !ok {
				v = "NULL"
			}
			cells[c] = v
		}
		out[i] = strings.Join(cells, "|")
	}
	return out
}

// Staged lists the files left in the fixture's default staging directory.
func (f *Fixture) Staged(tb testing.TB) []string {
	var out []string
	filepath.WalkDir(f.Env.StagingDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// UsePlatform makes the fixture export from store (e.g. a PostgreSQL
// platform) instead of its SQLite one; the caller closes store.
func (f *Fixture) UsePlatform(store platform.Store) {
	f.Platform.Close()
	f.Platform, f.ownPlatform = store, false
	f.Env.Platform = store
}
