package delta_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakeport/lakeport/internal/blob"
	"github.com/lakeport/lakeport/internal/delta"
	"github.com/lakeport/lakeport/internal/delta/deltatest"
)

// s3Prefix returns a fresh location on the test S3 server (scripts/s3-server.sh).
func s3Prefix(t *testing.T, name string) string {
	t.Helper()
	base := os.Getenv("LAKEPORT_TEST_S3_URL")
	if base == "" {
		msg := `LAKEPORT_TEST_S3_URL is not set: start the test S3 server with eval "$(scripts/s3-server.sh start)"`
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("\n*** SKIPPING Delta-on-S3 tests: " + msg + " ***")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	rnd := make([]byte, 4)
	rand.Read(rnd)
	u.Path = "/" + path.Join(strings.Trim(u.Path, "/"), "lakeport-deltatest", hex.EncodeToString(rnd), name)
	return u.String()
}

// upload copies a local table directory to a bucket location, byte for byte.
func upload(t *testing.T, ctx context.Context, dir, location string) {
	t.Helper()
	b, err := blob.Open(ctx, location)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	t.Cleanup(func() {
		b, err := blob.Open(context.Background(), location)
		if err != nil {
			return
		}
		defer b.Close()
		objs, _ := b.List(context.Background(), "")
		for _, o := range objs {
			b.Delete(context.Background(), o.Key)
		}
	})
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return b.Put(ctx, filepath.ToSlash(rel), data)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReadFromS3 reads corpus tables from a real S3-compatible server and
// checks they give the same rows and changes as from the local directory.
func TestReadFromS3(t *testing.T) {
	ctx := context.Background()
	corpus := deltatest.CorpusDir(t)
	for _, rel := range []string{
		"kernel-rs/golden/dv-partitioned-with-checkpoint/delta", // DVs, partitions, classic checkpoint
		"kernel-rs/data/v2-checkpoints-parquet-with-sidecars",   // v2 checkpoint with sidecars
		"kernel-rs/golden/data-reader-escaped-chars/delta",      // special characters in partition paths
		"kernel-rs/data/with-short-dv",                          // inline DV
		"kernel-rs/golden/table-with-columnmapping-mode-name/delta",
	} {
		t.Run(rel, func(t *testing.T) {
			local := filepath.Join(corpus, rel)
			loc := s3Prefix(t, path.Base(strings.TrimSuffix(rel, "/delta")))
			upload(t, ctx, local, loc)
			want := snapshotRows(t, ctx, local)
			got := snapshotRows(t, ctx, loc)
			if d := deltatest.Diff(want, got); d != "" {
				t.Errorf("rows from %s differ from the local copy:\n%s", loc, d)
			}
		})
	}
	t.Run("changes", func(t *testing.T) {
		local := filepath.Join(corpus, "kernel-rs/data/cdf-table-with-cdc-and-dvs")
		loc := s3Prefix(t, "cdf")
		upload(t, ctx, local, loc)
		rows := func(location string) []string {
			tbl, err := delta.Open(ctx, location)
			if err != nil {
				t.Fatal(err)
			}
			zero := int64(0)
			b, err := tbl.Changes(ctx, delta.ChangesOptions{StartVersion: &zero})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			s, recs, err := drain(ctx, b)
			if err != nil {
				t.Fatal(err)
			}
			r, err := deltatest.CanonicalRows(s, recs)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		want, got := rows(local), rows(loc)
		if len(want) == 0 {
			t.Fatal("no changes read locally")
		}
		if d := deltatest.Diff(want, got); d != "" {
			t.Errorf("changes from S3 differ:\n%s", d)
		}
	})
}
