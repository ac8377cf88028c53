package dv_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/lakeport/lakeport/internal/delta/deltatest/corpus"
	"github.com/lakeport/lakeport/internal/delta/dv"
)

var commitName = regexp.MustCompile(`^[0-9]{20}\.json$`)

// corpusDV is one deletionVector found in a commit of a corpus table.
type corpusDV struct {
	table  string // table root, relative to the corpus
	commit string // commit file name
	action string // "add" or "remove"
	path   string // data file path
	desc   dv.Descriptor
}

// scanCorpusDVs returns every deletion vector referenced by add/remove
// actions in the JSON commits of all tables in the corpus.
func scanCorpusDVs(t testing.TB, root string) []corpusDV {
	t.Helper()
	var out []corpusDV
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// Only commit files (<20 digits>.json): the corpus also holds macOS
		// AppleDouble files such as _delta_log/._00000000000000000000.json.
		if e.IsDir() || filepath.Base(filepath.Dir(p)) != "_delta_log" || !commitName.MatchString(e.Name()) {
			return nil
		}
		table, _ := filepath.Rel(root, filepath.Dir(filepath.Dir(p)))
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				continue
			}
			var a map[string]json.RawMessage
			if err := json.Unmarshal(line, &a); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			for _, kind := range []string{"add", "remove"} {
				raw, ok := a[kind]
				if !ok {
					continue
				}
				var fa struct {
					Path           string         `json:"path"`
					DeletionVector *dv.Descriptor `json:"deletionVector"`
				}
				if err := json.Unmarshal(raw, &fa); err != nil {
					return fmt.Errorf("%s: %s: %w", p, kind, err)
				}
				if fa.DeletionVector != nil {
					out = append(out, corpusDV{table, filepath.Base(p), kind, fa.Path, *fa.DeletionVector})
				}
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// specialCharPlaceholder is substituted by Delta's Spark test suite with the
// URI of a folder inside the table (table-with-dv-special-char).
const specialCharPlaceholder = "{{FOLDER_WITH_SPECIAL_CHAR}}"

// deltaTestDVPrefix is Delta Spark's test-only DV file name prefix
// (spark.databricks.delta.testOnly.dvFileNamePrefix): tables written by its
// test suite have it on disk but not in the log.
const deltaTestDVPrefix = "test%dv%prefix-"

// localReader resolves DV locations for a corpus table on the local disk.
func localReader(tableDir string) dv.ReadRangeFunc {
	return func(_ context.Context, path string, absolute bool, off, n int64) ([]byte, error) {
		var local string
		if absolute {
			if !strings.HasPrefix(path, "file:") {
				return nil, fmt.Errorf("unsupported absolute DV path %q", path)
			}
			rest := strings.TrimPrefix(path, "file:")
			folder := ""
			if strings.HasPrefix(rest, specialCharPlaceholder) {
				rest = strings.TrimPrefix(rest, specialCharPlaceholder)
				folder = filepath.Join(tableDir, "folder&with%special char")
			}
			dec, err := url.PathUnescape(rest)
			if err != nil {
				return nil, err
			}
			local = folder + filepath.FromSlash(dec)
		} else {
			local = filepath.Join(tableDir, filepath.FromSlash(path))
		}
		f, err := os.Open(local)
		if errors.Is(err, fs.ErrNotExist) {
			f, err = os.Open(filepath.Join(filepath.Dir(local), deltaTestDVPrefix+filepath.Base(local)))
		}
		if err != nil {
			return nil, err
		}
		defer f.Close()
		buf := make([]byte, n)
		if _, err := f.ReadAt(buf, off); err != nil {
			if err == io.EOF {
				return nil, fmt.Errorf("%s: short file: %w", local, io.ErrUnexpectedEOF)
			}
			return nil, err
		}
		return buf, nil
	}
}

func TestCorpusDeletionVectors(t *testing.T) {
	corpusDir := corpus.Dir(t)
	dvs := scanCorpusDVs(t, corpusDir)
	if len(dvs) < 100 {
		t.Fatalf("found only %d deletion vectors in the corpus; expected the DV tables listed in INDEX.md", len(dvs))
	}
	type key struct{ table, uid string }
	loaded := map[key][]uint64{}
	perTable := map[string]int{}
	byType := map[string]int{}
	reencodedSame := 0
	for _, c := range dvs {
		tableDir := filepath.Join(corpusDir, c.table)
		bm, err := dv.Load(context.Background(), c.desc, localReader(tableDir))
		if err != nil {
			t.Errorf("%s %s %s %s: %v", c.table, c.commit, c.action, c.path, err)
			continue
		}
		rows := bm.ToArray()
		k := key{c.table, c.desc.UniqueID()}
		if prev, ok := loaded[k]; ok && !slices.Equal(prev, rows) {
			t.Errorf("%s: DV %s decodes differently in two actions", c.table, k.uid)
		}
		loaded[k] = rows
		perTable[c.table]++
		byType[c.desc.StorageType]++

		// Re-encoding must decode to the same rows; count byte-identical
		// re-encodings (informational: writers may choose other containers).
		enc := dv.Encode(bm)
		back, err := dv.Decode(enc)
		if err != nil || !back.Equal(bm) {
			t.Errorf("%s: re-encode round trip failed: %v", c.table, err)
		}
		if orig, ok := originalBytes(t, c, tableDir); ok && bytes.Equal(orig, enc) {
			reencodedSame++
		}
	}
	tables := make([]string, 0, len(perTable))
	for tb := range perTable {
		tables = append(tables, tb)
	}
	sort.Strings(tables)
	for _, tb := range tables {
		t.Logf("%-70s %3d DV references", tb, perTable[tb])
	}
	t.Logf("loaded %d DV references (%d distinct), storage types %v; %d re-encoded byte-identically",
		len(dvs), len(loaded), byType, reencodedSame)
	for _, st := range []string{"u", "p", "i"} {
		if byType[st] == 0 {
			t.Errorf("corpus provided no DV of storage type %q", st)
		}
	}
}

// originalBytes returns the serialized bitmap exactly as stored.
func originalBytes(t testing.TB, c corpusDV, tableDir string) ([]byte, bool) {
	if c.desc.StorageType == "i" {
		raw, err := dv.Z85Decode(c.desc.PathOrInlineDv)
		if err != nil {
			return nil, false
		}
		return raw[:c.desc.SizeInBytes], true
	}
	p, abs, err := c.desc.Location()
	if err != nil {
		return nil, false
	}
	off := int64(1)
	if c.desc.Offset != nil {
		off = int64(*c.desc.Offset)
	}
	b, err := localReader(tableDir)(context.Background(), p, abs, off+4, int64(c.desc.SizeInBytes))
	return b, err == nil
}

// TestCorpusKnownDeletionVectors pins the rows of DVs whose content is known
// from the table notes or the source repositories' own tests.
func TestCorpusKnownDeletionVectors(t *testing.T) {
	corpusDir := corpus.Dir(t)
	dvs := scanCorpusDVs(t, corpusDir)
	find := func(table, action string) []corpusDV {
		var out []corpusDV
		for _, c := range dvs {
			if c.table == filepath.FromSlash(table) && c.action == action {
				out = append(out, c)
			}
		}
		return out
	}
	load := func(c corpusDV) *dv.Bitmap {
		t.Helper()
		bm, err := dv.Load(context.Background(), c.desc, localReader(filepath.Join(corpusDir, c.table)))
		if err != nil {
			t.Fatalf("%s: %v", c.table, err)
		}
		return bm
	}

	// INDEX.md: "10 rows, 2 deleted by DV => 8 visible"; delta-kernel-rs
	// test_deletion_vector_read pins rows 0 and 9.
	small := find("kernel-rs/data/table-with-dv-small", "add")
	if len(small) != 1 {
		t.Fatalf("table-with-dv-small: %d DVs", len(small))
	}
	if got := load(small[0]).ToArray(); !slices.Equal(got, []uint64{0, 9}) {
		t.Errorf("table-with-dv-small rows = %v, want [0 9]", got)
	}
	if p, abs, _ := small[0].desc.Location(); p != "deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin" || abs {
		t.Errorf("table-with-dv-small location = %q abs=%v", p, abs)
	}

	// with-short-dv: INDEX.md calls it an "inline DV", but its log has a
	// "u" descriptor (a short file-based DV) with cardinality 3.
	short := find("kernel-rs/data/with-short-dv", "add")
	if len(short) != 1 || short[0].desc.StorageType != "u" || load(short[0]).Cardinality() != 3 {
		t.Errorf("with-short-dv: %+v", short)
	}

	// The corpus' only inline DVs: cdf-table-with-dv, written by
	// delta-kernel-rs, with "offset": null in the JSON. One of them ends in the
	// z85 crate's padded tail "##093" (sizeInBytes 34), which standard Z85
	// (and Delta's Java codec) cannot decode; the table's expected CDF (row 3
	// deleted at version 5; rows 0, 1, 4, 5 at version 3) confirms the
	// padded reading.
	wantInline := map[string][]uint64{
		"^Bg9^0rr910000000000iXQKl0rr91000005c8Xg##093":      {3},
		"^Bg9^0rr910000000000iXQKl0rr91000315c8Xg000f5":      {0, 5},
		"^Bg9^0rr910000000000iXQKl0rr91000935c8Xg000311onP9": {0, 1, 4, 5},
	}
	var inline int
	for _, c := range find("kernel-rs/data/cdf-table-with-dv", "add") {
		if c.desc.StorageType != "i" {
			continue
		}
		inline++
		want, ok := wantInline[c.desc.PathOrInlineDv]
		if got := load(c).ToArray(); !ok || c.desc.Offset != nil || !slices.Equal(got, want) {
			t.Errorf("cdf-table-with-dv inline DV %+v: rows %v, want %v", c.desc, got, want)
		}
	}
	if inline != 3 {
		t.Errorf("cdf-table-with-dv: %d inline DVs in add actions, want 3", inline)
	}

	// Absolute-path DV with a URL-encoded file name in a folder with special
	// characters; 5 rows deleted.
	special := find("delta-io-delta/spark-test-resources/table-with-dv-special-char", "add")
	if len(special) != 1 || special[0].desc.StorageType != "p" || load(special[0]).Cardinality() != 5 {
		t.Errorf("table-with-dv-special-char: %+v", special)
	}

	// DVs stored at offsets other than 1 in shared DV files.
	var offsets []int32
	for _, c := range find("delta-io-delta/spark-test-resources/table-with-dv-large", "add") {
		load(c)
		offsets = append(offsets, *c.desc.Offset)
	}
	if !slices.ContainsFunc(offsets, func(o int32) bool { return o > 1 }) {
		t.Errorf("table-with-dv-large: expected DVs at offsets > 1, got %v", offsets)
	}

	for _, table := range []string{
		"kernel-rs/golden/dv-partitioned-with-checkpoint/delta",
		"delta-io-delta/kernel-defaults/basic-dv-with-checkpoint",
		"delta-io-delta/kernel-defaults/basic-dv-no-checkpoint",
	} {
		adds := find(table, "add")
		if len(adds) == 0 {
			t.Errorf("%s: no DVs", table)
		}
		for _, c := range adds {
			if bm := load(c); bm.Cardinality() != uint64(c.desc.Cardinality) {
				t.Errorf("%s: cardinality %d != %d", table, bm.Cardinality(), c.desc.Cardinality)
			}
		}
	}
}

// TestCorpusCorruptedDeletionVectors flips every byte of a real DV file
// region and checks that Load reports an error for each (the CRC or the size
// check must catch it) and never panics.
func TestCorpusCorruptedDeletionVectors(t *testing.T) {
	corpusDir := corpus.Dir(t)
	table := filepath.Join(corpusDir, "kernel-rs", "data", "table-with-dv-small")
	var c *corpusDV
	for _, d := range scanCorpusDVs(t, corpusDir) {
		if d.table == filepath.Join("kernel-rs", "data", "table-with-dv-small") {
			c = &d
			break
		}
	}
	if c == nil {
		t.Fatal("table-with-dv-small DV not found")
	}
	p, _, _ := c.desc.Location()
	orig, err := os.ReadFile(filepath.Join(table, p))
	if err != nil {
		t.Fatal(err)
	}
	for i := range orig {
		for _, mask := range []byte{0x01, 0x80, 0xFF} {
			mut := slices.Clone(orig)
			mut[i] ^= mask
			rd := func(_ context.Context, _ string, _ bool, off, n int64) ([]byte, error) {
				if off+n > int64(len(mut)) {
					return nil, io.ErrUnexpectedEOF
				}
				return mut[off : off+n], nil
			}
			if _, err := dv.Load(context.Background(), c.desc, rd); err == nil {
				t.Errorf("byte %d ^ %#x: corruption not detected", i, mask)
			}
		}
	}
}
