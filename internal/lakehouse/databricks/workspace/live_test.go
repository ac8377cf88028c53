package workspace_test

import (
	"fmt"
	"io"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/lakehouse/databricks/workspace"
)

// TestLiveWorkspace runs against a real workspace when DATABRICKS_HOST is
// set (see docs/DATABRICKS.md): DATABRICKS_HTTP_PATH, and DATABRICKS_TOKEN
// or DATABRICKS_CLIENT_ID + DATABRICKS_CLIENT_SECRET; optionally
// DATABRICKS_CATALOG (grants checked), DATABRICKS_STAGING (a /Volumes/...
// path: a file is written, listed, read and deleted under a fresh prefix)
// and DATABRICKS_LIVE_START=1 (the warehouse is started if stopped, which
// costs warehouse time).
func TestLiveWorkspace(t *testing.T) {
	host := os.Getenv("DATABRICKS_HOST")
	if host == "" {
		t.Skip("DATABRICKS_HOST is not set: the live suite needs a workspace (docs/DATABRICKS.md)")
	}
	cfg := workspace.Config{
		Name: "live", Host: host, HTTPPath: os.Getenv("DATABRICKS_HTTP_PATH"),
		Token: os.Getenv("DATABRICKS_TOKEN"), ClientID: os.Getenv("DATABRICKS_CLIENT_ID"), ClientSecret: os.Getenv("DATABRICKS_CLIENT_SECRET"),
		Catalog: os.Getenv("DATABRICKS_CATALOG"), Staging: os.Getenv("DATABRICKS_STAGING"),
	}
	if cfg.ClientID != "" {
		cfg.Token = ""
	}
	c, err := workspace.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range r.Checks {
		t.Logf("%-9s %-7s %s", ch.Name, ch.Status, ch.Detail)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	cats, err := c.Catalogs(ctx)
	if err != nil || len(cats) == 0 || !slices.IsSorted(cats) {
		t.Fatalf("Catalogs = %v, %v", cats, err)
	}
	if cfg.Catalog != "" {
		schemas, err := c.Schemas(ctx, cfg.Catalog)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range schemas[:min(len(schemas), 3)] {
			tables, err := c.Tables(ctx, cfg.Catalog, s)
			if err != nil {
				t.Fatal(err)
			}
			for _, ti := range tables[:min(len(tables), 3)] {
				d, err := c.Table(ctx, ti.Name)
				if err != nil {
					t.Fatalf("%s: %v", ti.Name.Plain(), err)
				}
				t.Logf("%s %s %s cdf=%v version=%d columns=%d", d.Name.Plain(), d.Kind, d.Format, d.ChangeDataFeed, d.Version, len(d.Columns))
			}
		}
	}
	if os.Getenv("DATABRICKS_LIVE_START") == "1" {
		err := c.EnsureWarehouse(ctx, func(p workspace.WarehouseProgress) { t.Log(p) })
		if err != nil {
			t.Fatal(err)
		}
	}
	if cfg.Staging != "" {
		a, err := c.Staging(ctx)
		if err != nil {
			t.Fatal(err)
		}
		prefix := fmt.Sprintf("lakeport-live-test/%d/", time.Now().UnixNano())
		w, err := a.NewWriter(ctx, prefix+"a.csv")
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, "a\n1\n")
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		defer a.DeletePrefix(ctx, prefix)
		names, err := a.List(ctx, prefix)
		if err != nil || !slices.Equal(names, []string{prefix + "a.csv"}) {
			t.Fatalf("List = %v, %v", names, err)
		}
		rc, err := a.Open(ctx, names[0])
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if string(b) != "a\n1\n" {
			t.Errorf("read back %q", b)
		}
	}
}
