package databricks

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/flow/export"
	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/lakehouse/databricks/dbxfake"
	"github.com/lakeport/lakeport/internal/lakehouse/databricks/workspace"
	"github.com/lakeport/lakeport/internal/lakehouse/lakehousetest"
)

var _ export.StagingProvider = (*Lakehouse)(nil)

// TestOpenConnectionDefaultStaging: a configured connection opened the
// production way (OpenConnection, as the connector registry does) scans
// through the fake, and its `staging` setting (a UC volume) is the default
// staging area of exports: files go up through the Files API and COPY INTO
// loads them from /Volumes/....
func TestOpenConnectionDefaultStaging(t *testing.T) {
	h := newFakeHarness(t)
	name, v := eventTable(t, h, 3)
	t.Setenv("LAKEPORT_TEST_DBX_TOKEN", fakePAT)
	const volume = "/Volumes/main/exports/stage/lakeport"
	conn := &job.Connection{Name: "dbx", Type: job.ConnDatabricks, Host: h.s.URL(), HTTPPath: dbxfake.HTTPPath,
		Token: job.SecretFromEnv("LAKEPORT_TEST_DBX_TOKEN"), Staging: volume}
	opened, err := OpenConnection(bg, conn)
	if err != nil {
		t.Fatal(err)
	}
	lh := opened.(*Lakehouse)
	defer lh.Close()
	rows, err := lh.Scan(bg, name, lakehouse.ScanRequest{Version: v})
	if err != nil {
		t.Fatal(err)
	}
	if ids, _, err := collect(t, rows); err != nil || !slices.Equal(ids, []int64{0, 1, 2}) {
		t.Fatalf("scan over OpenConnection: %v, %v", ids, err)
	}

	area, err := opened.(export.StagingProvider).DefaultStaging(bg)
	if err != nil {
		t.Fatal(err)
	}
	f := stageParquet(t, area, "job/run-1/part-0.parquet", lakehousetest.Batch(people, []any{1, "ada"}, []any{2, "bob"}))
	if loc := area.Location(f); loc != volume+"/job/run-1/part-0.parquet" {
		t.Errorf("Location = %q", loc)
	}
	if _, ok := h.s.File(volume + "/job/run-1/part-0.parquet"); !ok {
		t.Fatalf("staged file not in the volume; files: %v", h.s.Files())
	}
	target := lakehouse.TableName{Catalog: "main", Schema: "exports", Table: "users"}
	res, err := lh.Load(bg, target, lakehouse.LoadRequest{Staging: area, Files: []string{f}, Create: true, Key: lakehouse.LoadKey{App: "job", Version: 1}})
	if err != nil || res.Rows != 2 {
		t.Fatalf("load from the volume: %+v, %v", res, err)
	}
	if got := tableRows(t, lh, target); !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("loaded rows %v", got)
	}
	var copySQL string
	for _, q := range h.s.Executed() {
		if strings.HasPrefix(q.SQL, "COPY INTO") {
			copySQL = q.SQL
		}
	}
	if !strings.Contains(copySQL, "FROM '"+volume+"/job/run-1'") {
		t.Errorf("COPY INTO does not read the volume:\n%s", copySQL)
	}
}

// TestDefaultStagingSettings: a bucket URL opens through internal/blob; an
// unset setting or a local directory (which the warehouse cannot read) is
// errs.Invalid naming what to set.
func TestDefaultStagingSettings(t *testing.T) {
	open := func(staging string) *Lakehouse {
		t.Helper()
		c, err := workspace.New(bg, workspace.Config{Name: "dbx", Host: "adb-1.azuredatabricks.net", HTTPPath: dbxfake.HTTPPath, Token: "x", Staging: staging})
		if err != nil {
			t.Fatal(err)
		}
		lh, err := FromWorkspace(bg, c, Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { lh.Close() })
		return lh
	}
	area, err := open("mem://stage/lakeport").DefaultStaging(bg)
	if err != nil {
		t.Fatal(err)
	}
	if loc := area.Location("run-1/a.parquet"); !strings.HasPrefix(loc, "mem://") || !strings.HasSuffix(loc, "/run-1/a.parquet") {
		t.Errorf("bucket Location = %q", loc)
	}
	for _, bad := range []string{"", t.TempDir(), "file:///tmp/stage"} {
		_, err := open(bad).DefaultStaging(bg)
		if !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), "staging") {
			t.Errorf("staging %q: %v, want errs.Invalid about staging", bad, err)
		}
	}
}
