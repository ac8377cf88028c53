package delta_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakeport/lakeport/internal/blob"
	"github.com/lakeport/lakeport/internal/delta"
	"github.com/lakeport/lakeport/internal/delta/deltatest"
)

// corpusTable is one row of the corpus INDEX.md "All tables" list.
type corpusTable struct {
	Path     string // relative to the corpus
	Features string
	Notes    string
}

var indexRow = regexp.MustCompile("^\\| `([^`]+)` \\|[^|]*\\|[^|]*\\|([^|]*)\\|(.*)\\|\\s*$")

func corpusTables(t *testing.T, corpus string) []corpusTable {
	f, err := os.Open(filepath.Join(corpus, "INDEX.md"))
	if err != nil {
		t.Fatalf("corpus index: %v", err)
	}
	defer f.Close()
	var out []corpusTable
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	inAll := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			inAll = strings.HasPrefix(line, "## All tables")
			continue
		}
		if !inAll {
			continue
		}
		if m := indexRow.FindStringSubmatch(line); m != nil && m[1] != "table (path under /tmp/delta-corpus)" {
			out = append(out, corpusTable{Path: m[1], Features: strings.TrimSpace(m[2]), Notes: strings.TrimSpace(m[3])})
		}
	}
	if len(out) < 200 {
		t.Fatalf("corpus index lists %d tables, want 200+", len(out))
	}
	return out
}

// tableRoot is where the Delta table itself lives: golden tables keep it in delta/.
func tableRoot(corpus string, ct corpusTable) string {
	dir := filepath.Join(corpus, ct.Path)
	if fi, err := os.Stat(filepath.Join(dir, "delta")); err == nil && fi.IsDir() {
		return filepath.Join(dir, "delta")
	}
	return dir
}

// mustReject lists the negative tables and the words their error must contain.
var mustReject = map[string]string{
	"kernel-rs/golden/deltalog-invalid-protocol-version":                              `reader version "99"`,
	"kernel-rs/golden/deltalog-state-reconstruction-from-checkpoint-missing-metadata": "no metaData action",
	"kernel-rs/golden/deltalog-state-reconstruction-from-checkpoint-missing-protocol": "no protocol action",
	"kernel-rs/golden/deltalog-state-reconstruction-without-metadata":                 "no metaData action",
	"kernel-rs/golden/deltalog-state-reconstruction-without-protocol":                 "no protocol action",
	"kernel-rs/golden/versions-not-contiguous":                                        "not contiguous",
	"kernel-rs/golden/no-delta-log-folder":                                            "not a Delta table",
	"delta-rs/simple_table_features":                                                  `reader feature "blahabl"`,
	// not marked negative in the index, but unreadable by any reader: no schema, or no log
	"kernel-rs/golden/data-reader-absolute-paths-escaped-chars": "no metaData action",
	"kernel-rs/data/crc-malformed":                              "holds no commits or checkpoints",
}

// sessionTimeZone emulates the Spark session time zone a table's zone-less
// timestamp partition values were written in (see delta.WithPartitionTimeZone).
var sessionTimeZone = map[string]string{
	"kernel-rs/golden/data-reader-partition-values": "America/Los_Angeles",
}

// prepare emulates the setup a Spark test applies to a fixture before reading it.
var prepare = map[string]func(t *testing.T, root string) string{
	// written with the test-only DV file name prefix "test%dv%prefix-"
	"delta-io-delta/spark-test-resources/table-with-dv-large":             renameDVPrefix,
	"delta-io-delta/spark-test-resources/partitioned-table-with-dv-large": renameDVPrefix,
	// an absolute DV path templated with the folder it is copied to
	"delta-io-delta/spark-test-resources/table-with-dv-special-char": substituteDVFolder,
}

// supportedByIssue are the reader features the reader must read; any other
// reader feature a corpus table lists must be refused with its name.
var supportedByIssue = map[string]bool{
	"deletionVectors": true, "columnMapping": true, "timestampNtz": true, "v2Checkpoint": true,
	"vacuumProtocolCheck": true, "typeWidening": true, "typeWidening-preview": true, "inCommitTimestamp": true,
}

var readerFeaturesRE = regexp.MustCompile(`R:([A-Za-z0-9_,-]+)`)

func unsupportedFeature(ct corpusTable) string {
	m := readerFeaturesRE.FindStringSubmatch(ct.Features)
	if m == nil {
		return ""
	}
	for _, f := range strings.Split(m[1], ",") {
		if !supportedByIssue[f] {
			return f
		}
	}
	return ""
}

// expectedTxns are the app transaction versions the corpus notes give.
var expectedTxns = map[string]map[string]int64{
	"kernel-rs/data/app-txn-checkpoint":    {"my-app": 3, "my-app2": 2},
	"kernel-rs/data/app-txn-no-checkpoint": {"my-app": 3, "my-app2": 2},
	// delta.setTransactionRetentionDuration = 1 day: only the app without lastUpdated survives
	"kernel-rs/data/app-txn-with-last-updated": {"new_app_0": 1},
}

type tally struct {
	mu     sync.Mutex
	counts map[string][2]int // category -> passed, failed
}

func (t *tally) add(cat string, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.counts[cat]
	if ok {
		c[0]++
	} else {
		c[1]++
	}
	t.counts[cat] = c
}

func (t *tally) report() string {
	cats := make([]string, 0, len(t.counts))
	for c := range t.counts {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	var sb strings.Builder
	for _, c := range cats {
		fmt.Fprintf(&sb, "%s: %d passed, %d failed\n", c, t.counts[c][0], t.counts[c][1])
	}
	return sb.String()
}

func scanAll(ctx context.Context, s *delta.Snapshot, opts delta.ScanOptions) (*arrow.Schema, []arrow.RecordBatch, error) {
	b, err := s.Scan(ctx, opts)
	if err != nil {
		return nil, nil, err
	}
	defer b.Close()
	return drain(ctx, b)
}

func drain(ctx context.Context, b delta.Batches) (*arrow.Schema, []arrow.RecordBatch, error) {
	var recs []arrow.RecordBatch
	for {
		rec, err := b.Next(ctx)
		if errors.Is(err, io.EOF) {
			return b.Schema(), recs, nil
		}
		if err != nil {
			return nil, nil, err
		}
		recs = append(recs, rec)
	}
}

// TestCorpus is the acceptance test over the whole Delta corpus. Every table is
// in exactly one category:
//   - expected: the latest snapshot equals expected/ (sorted multiset, types included);
//   - reject: a negative table fails with an error naming the reason;
//   - unsupported: a table needing a reader feature outside the supported set is
//     refused with an error naming that feature;
//   - txn: app transaction versions match the corpus notes;
//   - readable: every other table loads and scans, and the row count equals the
//     add actions' numRecords minus deletion-vector cardinalities (where stats exist).
//
// CDF expectations are checked by TestCorpusCDF.
func TestCorpus(t *testing.T) {
	corpus := deltatest.CorpusDir(t)
	ctx := context.Background()
	tl := &tally{counts: map[string][2]int{}}
	for _, ct := range corpusTables(t, corpus) {
		root := tableRoot(corpus, ct)
		cat := "readable"
		expectedDir := filepath.Join(corpus, ct.Path, "expected")
		if _, ok := mustReject[ct.Path]; ok {
			cat = "reject"
		} else if unsupportedFeature(ct) != "" {
			cat = "unsupported"
		} else if _, ok := expectedTxns[ct.Path]; ok {
			cat = "txn"
		} else if fi, err := os.Stat(expectedDir); err == nil && fi.IsDir() {
			cat = "expected"
		}
		t.Run(cat+"/"+ct.Path, func(t *testing.T) {
			ok := false
			defer func() { tl.add(cat, ok) }()
			if fn := prepare[ct.Path]; fn != nil {
				root = fn(t, root)
			}
			ctx := ctx
			if tz := sessionTimeZone[ct.Path]; tz != "" {
				loc, err := time.LoadLocation(tz)
				if err != nil {
					t.Fatal(err)
				}
				ctx = context.WithValue(ctx, tzKey{}, loc)
			}
			if cat == "readable" && missingDataFiles(t, ctx, root) {
				cat = "log-only"
				ok = checkLogOnly(t, ctx, root)
				return
			}
			switch cat {
			case "reject":
				ok = checkRejected(t, ctx, root, mustReject[ct.Path])
			case "unsupported":
				ok = checkRejected(t, ctx, root, fmt.Sprintf("%q", unsupportedFeature(ct)))
			case "txn":
				ok = checkTxns(t, ctx, root, expectedTxns[ct.Path])
			case "expected":
				ok = checkExpected(t, ctx, root, expectedDir)
			default:
				ok = checkReadable(t, ctx, root)
			}
		})
	}
	report := tl.report()
	t.Logf("Delta corpus acceptance:\n%s", report)
	if p := os.Getenv("LAKEPORT_CORPUS_REPORT"); p != "" {
		if err := os.WriteFile(p, []byte(report), 0o644); err != nil {
			t.Errorf("write report: %v", err)
		}
	}
}

type tzKey struct{}

func openLatest(ctx context.Context, root string) (*delta.Snapshot, error) {
	var opts []delta.Option
	if loc, ok := ctx.Value(tzKey{}).(*time.Location); ok {
		opts = append(opts, delta.WithPartitionTimeZone(loc))
	}
	tbl, err := delta.Open(ctx, root, opts...)
	if err != nil {
		return nil, err
	}
	return tbl.Snapshot(ctx, delta.Latest())
}

func checkRejected(t *testing.T, ctx context.Context, root, want string) bool {
	t.Helper()
	snap, err := openLatest(ctx, root)
	if err == nil {
		_, _, err = scanAll(ctx, snap, delta.ScanOptions{})
	}
	if err == nil {
		t.Errorf("read succeeded; want an error containing %s", want)
		return false
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %s", err, want)
		return false
	}
	return true
}

func checkTxns(t *testing.T, ctx context.Context, root string, want map[string]int64) bool {
	t.Helper()
	snap, err := openLatest(ctx, root)
	if err != nil {
		t.Error(err)
		return false
	}
	got := map[string]int64{}
	for id, tx := range snap.AppTransactions() {
		got[id] = tx.Version
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("app transactions = %v, want %v", got, want)
		return false
	}
	for id, v := range want {
		if gv, ok := snap.AppTransactionVersion(id); !ok || gv != v {
			t.Errorf("AppTransactionVersion(%q) = %d, %v; want %d", id, gv, ok, v)
			return false
		}
	}
	if missingDataFiles(t, ctx, root) {
		return checkLogOnly(t, ctx, root)
	}
	return checkReadable(t, ctx, root)
}

func checkExpected(t *testing.T, ctx context.Context, root, expectedDir string) bool {
	t.Helper()
	snap, err := openLatest(ctx, root)
	if err != nil {
		t.Error(err)
		return false
	}
	gotSchema, got, err := scanAll(ctx, snap, delta.ScanOptions{})
	if err != nil {
		t.Error(err)
		return false
	}
	wantSchema, want, err := deltatest.ReadParquetDir(expectedDir)
	if err != nil {
		t.Fatalf("expected: %v", err)
	}
	// the expected files were written by Spark with the table's columns; compare
	// by column name so that a different column order in expected/ is no failure
	gotSchema, got = reorder(t, gotSchema, got, wantSchema)
	if gotSchema == nil {
		return false
	}
	ws, gs := deltatest.CanonicalSchema(wantSchema), deltatest.CanonicalSchema(gotSchema)
	if strings.Join(ws, "; ") != strings.Join(gs, "; ") {
		t.Errorf("schema:\n got %v\nwant %v", gs, ws)
		return false
	}
	wr, err := deltatest.CanonicalRows(wantSchema, want)
	if err != nil {
		t.Fatal(err)
	}
	gr, err := deltatest.CanonicalRows(gotSchema, got)
	if err != nil {
		t.Fatal(err)
	}
	if d := deltatest.Diff(wr, gr); d != "" {
		t.Errorf("rows differ from expected/:\n%s", d)
		return false
	}
	return true
}

// reorder projects got onto the column order of want (by name, case-insensitively).
func reorder(t *testing.T, gs *arrow.Schema, got []arrow.RecordBatch, want *arrow.Schema) (*arrow.Schema, []arrow.RecordBatch) {
	t.Helper()
	if gs.NumFields() != want.NumFields() {
		t.Errorf("columns: got %v, want %v", deltatest.CanonicalSchema(gs), deltatest.CanonicalSchema(want))
		return nil, nil
	}
	idx := make([]int, want.NumFields())
	for i, f := range want.Fields() {
		idx[i] = -1
		for j, g := range gs.Fields() {
			if strings.EqualFold(f.Name, g.Name) {
				idx[i] = j
			}
		}
		if idx[i] < 0 {
			t.Errorf("expected column %q missing from %v", f.Name, deltatest.CanonicalSchema(gs))
			return nil, nil
		}
	}
	fields := make([]arrow.Field, len(idx))
	for i, j := range idx {
		fields[i] = gs.Field(j)
	}
	schema := arrow.NewSchema(fields, nil)
	out := make([]arrow.RecordBatch, len(got))
	for k, rec := range got {
		cols := make([]arrow.Array, len(idx))
		for i, j := range idx {
			cols[i] = rec.Column(j)
		}
		out[k] = arrowRecord(schema, cols, rec.NumRows())
	}
	return schema, out
}

func checkReadable(t *testing.T, ctx context.Context, root string) bool {
	t.Helper()
	snap, err := openLatest(ctx, root)
	if err != nil {
		t.Error(err)
		return false
	}
	_, recs, err := scanAll(ctx, snap, delta.ScanOptions{})
	if err != nil {
		t.Error(err)
		return false
	}
	var rows int64
	for _, r := range recs {
		rows += r.NumRows()
	}
	want, known := statsRowCount(snap)
	if known && rows != want {
		t.Errorf("scan returned %d rows; the log's numRecords minus deletion vectors say %d", rows, want)
		return false
	}
	return true
}

// missingDataFiles reports whether the table is a log-only fixture: its
// snapshot loads but names data files that are not in the corpus.
func missingDataFiles(t *testing.T, ctx context.Context, root string) bool {
	snap, err := openLatest(ctx, root)
	if err != nil {
		return false
	}
	for _, f := range snap.Files() {
		p, err := url.PathUnescape(f.Path)
		if err != nil || strings.Contains(f.Path, ":") || strings.HasPrefix(p, "/") {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(p))); errors.Is(err, os.ErrNotExist) {
			return true
		}
	}
	return false
}

// checkLogOnly: a log-only fixture's snapshot loads, and a scan fails with a
// not-found error that names the missing file rather than returning partial data.
func checkLogOnly(t *testing.T, ctx context.Context, root string) bool {
	t.Helper()
	snap, err := openLatest(ctx, root)
	if err != nil {
		t.Error(err)
		return false
	}
	_, _, err = scanAll(ctx, snap, delta.ScanOptions{})
	if err == nil || !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("scan of a table with missing data files: err = %v, want a not-found error", err)
		return false
	}
	return true
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func renameDVPrefix(t *testing.T, root string) string {
	dst := filepath.Join(t.TempDir(), "table")
	copyTree(t, root, dst)
	matches, _ := filepath.Glob(filepath.Join(dst, "test%dv%prefix-*.bin"))
	if len(matches) == 0 {
		t.Fatal("no prefixed DV files to rename")
	}
	for _, m := range matches {
		if err := os.Rename(m, filepath.Join(dst, strings.TrimPrefix(filepath.Base(m), "test%dv%prefix-"))); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func substituteDVFolder(t *testing.T, root string) string {
	dst := filepath.Join(t.TempDir(), "table")
	copyTree(t, root, dst)
	folder := filepath.Join(dst, "folder&with%special char")
	logs, _ := filepath.Glob(filepath.Join(dst, "_delta_log", "*.json"))
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		enc := (&url.URL{Path: folder}).EscapedPath()
		if err := os.WriteFile(l, []byte(strings.ReplaceAll(string(b), "{{FOLDER_WITH_SPECIAL_CHAR}}", enc)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// statsRowCount sums numRecords minus deletion-vector cardinality over the live files.
func statsRowCount(s *delta.Snapshot) (int64, bool) {
	var n int64
	for _, f := range s.Files() {
		m := regexp.MustCompile(`"numRecords":(\d+)`).FindStringSubmatch(f.Stats)
		if m == nil {
			return 0, false
		}
		var k int64
		fmt.Sscan(m[1], &k)
		n += k
		if f.DeletionVector != nil {
			n -= f.DeletionVector.Cardinality
		}
	}
	return n, true
}

// TestCorpusCDF checks every block of expected-cdf/*.md.
func TestCorpusCDF(t *testing.T) {
	corpus := deltatest.CorpusDir(t)
	ctx := context.Background()
	tl := &tally{counts: map[string][2]int{}}
	files, _ := filepath.Glob(filepath.Join(corpus, "expected-cdf", "*.md"))
	if len(files) == 0 {
		t.Fatal("no expected-cdf/*.md in the corpus")
	}
	for _, f := range files {
		queries, err := deltatest.ParseCDFExpectations(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, q := range queries {
			t.Run(filepath.Base(f)+"/"+q.Name, func(t *testing.T) {
				ok := checkCDF(t, ctx, corpus, q)
				tl.add("cdf", ok)
			})
		}
	}
	t.Logf("Delta corpus CDF:\n%s", tl.report())
	if p := os.Getenv("LAKEPORT_CORPUS_REPORT"); p != "" {
		fh, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			fh.WriteString(tl.report())
			fh.Close()
		}
	}
}

func checkCDF(t *testing.T, ctx context.Context, corpus string, q deltatest.CDFQuery) bool {
	t.Helper()
	tbl, err := delta.Open(ctx, filepath.Join(corpus, q.Table))
	if err != nil {
		t.Error(err)
		return false
	}
	opts := delta.ChangesOptions{StartVersion: q.StartVersion, EndVersion: q.EndVersion,
		StartTimestamp: q.StartTimestamp, EndTimestamp: q.EndTimestamp, Where: q.Filter}
	if opts.StartVersion == nil && opts.StartTimestamp == nil {
		zero := int64(0)
		opts.StartVersion = &zero
	}
	b, err := tbl.Changes(ctx, opts)
	var schema *arrow.Schema
	var recs []arrow.RecordBatch
	if err == nil {
		schema, recs, err = drain(ctx, b)
		b.Close()
	}
	if q.ExpectError != "" {
		if err == nil || !strings.Contains(err.Error(), q.ExpectError) {
			t.Errorf("error = %v, want one containing %q", err, q.ExpectError)
			return false
		}
		return true
	}
	if err != nil {
		t.Error(err)
		return false
	}
	cols := q.Columns
	if cols == nil {
		cols = q.Expected.Columns
	}
	got, err := deltatest.PrettyRows(schema, recs, cols)
	if err != nil {
		t.Error(err)
		return false
	}
	if d := deltatest.Diff(q.Expected.CanonicalRows(), got); d != "" {
		t.Errorf("%s (line %d): changes differ:\n%s", q.Table, q.Line, d)
		return false
	}
	return true
}
