package datafile

import (
	"encoding/json"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/blob"
	"github.com/lakeport/lakeport/internal/delta/deltatest"
)

// TestCorpusStats rewrites data files of real tables (Spark, Databricks,
// delta-rs) with the Writer and compares the statistics with the ones their
// writer logged for the same rows: same columns, nesting and values
// (timestamps as instants: Spark writes them in its session time zone).
func TestCorpusStats(t *testing.T) {
	for _, table := range []string{
		"kernel-rs/golden/data-skipping-basic-stats-all-types/delta",
		"kernel-rs/golden/parquet-all-types/delta",
		"kernel-rs/golden/data-reader-timestamp_ntz/delta",
		"kernel-rs/golden/basic-decimal-table/delta",
		"kernel-rs/golden/kernel-timestamp-pst/delta",
		"kernel-rs/golden/kernel-timestamp-int96/delta",
		"kernel-rs/golden/table-with-columnmapping-mode-id/delta",
		"kernel-rs/golden/table-with-columnmapping-mode-name/delta",
		"kernel-rs/data/cdf-table-backtick-column-names",
		"delta-rs/partition-type-primitives",
		"delta-rs/table_with_column_mapping",
	} {
		t.Run(strings.ReplaceAll(table, "/", "_"), func(t *testing.T) {
			dir := deltatest.CorpusPath(t, table)
			src, err := blob.Open(t.Context(), dir)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			compared := 0
			for _, a := range corpusAdds(t, dir) {
				if a.Stats == "" || len(a.DV) > 0 && string(a.DV) != "null" {
					continue
				}
				key, err := url.PathUnescape(a.Path)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(key))); err != nil {
					continue // removed by a later commit and not kept
				}
				sc, recs, _ := readParquet(t, src, key)
				var rows int64
				for _, r := range recs {
					rows += r.NumRows()
				}
				if rows == 0 {
					continue
				}
				out, _ := newBucket(t)
				files := writeAll(t, out, sc, Options{}, recs...)
				if len(files) != 1 {
					t.Fatalf("%d files", len(files))
				}
				compareWithLogged(t, key, files[0].Stats, a.Stats)
				// Our path has the shape of theirs.
				if !regexp.MustCompile(`part-\d{5}-`).MatchString(a.Path) || !fileNameRE.MatchString(files[0].Key) {
					t.Errorf("file names: theirs %s, ours %s", a.Path, files[0].Key)
				}
				compared++
			}
			if compared == 0 {
				t.Fatal("no file compared")
			}
		})
	}
}

func compareWithLogged(t *testing.T, key, ours, theirs string) {
	t.Helper()
	parse := func(s string) map[string]any {
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			t.Fatalf("%s: stats %s: %v", key, s, err)
		}
		delete(m, "tightBounds")
		return m
	}
	o, th := parse(ours), parse(theirs)
	var walk func(path string, o, th any)
	walk = func(path string, o, th any) {
		switch tv := th.(type) {
		case map[string]any:
			om, ok := o.(map[string]any)
			if !ok {
				t.Errorf("%s %s: ours %v, theirs an object", key, path, o)
				return
			}
			ks := func(m map[string]any) []string {
				var k []string
				for x := range m {
					k = append(k, x)
				}
				slices.Sort(k)
				return k
			}
			if !slices.Equal(ks(om), ks(tv)) {
				t.Errorf("%s %s: ours has %v, theirs %v\nours   %s\ntheirs %s", key, path, ks(om), ks(tv), ours, theirs)
				return
			}
			for k := range tv {
				walk(path+"."+k, om[k], tv[k])
			}
		case json.Number:
			on, ok := o.(json.Number)
			a, aok := new(big.Rat).SetString(string(tv))
			b, bok := new(big.Rat).SetString(string(on))
			if !ok || !aok || !bok || a.Cmp(b) != 0 {
				t.Errorf("%s %s: ours %v, theirs %v", key, path, o, tv)
			}
		case string:
			os, ok := o.(string)
			if !ok {
				t.Errorf("%s %s: ours %v, theirs %q", key, path, o, tv)
				return
			}
			if ti, err := time.Parse("2006-01-02T15:04:05.000Z07:00", tv); err == nil {
				oi, err := time.Parse("2006-01-02T15:04:05.000Z07:00", os)
				if err != nil || !oi.Equal(ti) || !strings.HasSuffix(os, "Z") {
					t.Errorf("%s %s: ours %q, theirs %q", key, path, os, tv)
				}
				return
			}
			if os != tv {
				t.Errorf("%s %s: ours %q, theirs %q", key, path, os, tv)
			}
		default:
			t.Errorf("%s %s: theirs %v (%T)", key, path, th, th)
		}
	}
	walk("", o, th)
}
