package databricks

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/lakeport/lakeport/internal/format"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/lakehouse/databricks/workspace"
	"github.com/lakeport/lakeport/internal/lakehouse/lakehousetest"
	"github.com/lakeport/lakeport/internal/lakehouse/staging"
)

// TestConformanceLive runs the conformance suite against a real workspace
// when DATABRICKS_HOST, DATABRICKS_HTTP_PATH, DATABRICKS_STAGING (a
// /Volumes/... path) and DATABRICKS_TOKEN (or DATABRICKS_CLIENT_ID and
// DATABRICKS_CLIENT_SECRET) are set. The suite creates and drops catalogs
// main and dev's schemas: use a dedicated test workspace.
func TestConformanceLive(t *testing.T) {
	host, path, stage := os.Getenv("DATABRICKS_HOST"), os.Getenv("DATABRICKS_HTTP_PATH"), os.Getenv("DATABRICKS_STAGING")
	token, id, secret := os.Getenv("DATABRICKS_TOKEN"), os.Getenv("DATABRICKS_CLIENT_ID"), os.Getenv("DATABRICKS_CLIENT_SECRET")
	if host == "" || path == "" || stage == "" || token == "" && (id == "" || secret == "") {
		t.Skip("SKIPPED: no Databricks workspace — set DATABRICKS_HOST, DATABRICKS_HTTP_PATH, DATABRICKS_STAGING and DATABRICKS_TOKEN " +
			"(or DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET) to run the lakehouse conformance suite against a dedicated test workspace")
	}
	cfg := workspace.Config{Name: "live", Host: host, HTTPPath: path, Token: token, ClientID: id, ClientSecret: secret, Staging: stage}
	lakehousetest.Run(t, func(t *testing.T) lakehousetest.Harness {
		ctx := context.Background()
		client, err := workspace.New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		lh, err := FromWorkspace(ctx, client, Config{})
		if err != nil {
			t.Fatal(err)
		}
		area, err := client.Staging(ctx)
		if err != nil {
			t.Fatal(err)
		}
		h := &liveHarness{lh: lh, area: area}
		for _, c := range []string{"main", "dev"} {
			for _, s := range []string{"crm", "web", "exports"} {
				h.exec(t, "DROP SCHEMA IF EXISTS "+lakehouse.QuoteIdent(c)+"."+lakehouse.QuoteIdent(s)+" CASCADE")
			}
		}
		return h
	})
}

// liveHarness changes tables with plain SQL, as a user would.
type liveHarness struct {
	lh   *Lakehouse
	area staging.Area
}

func (h *liveHarness) Lakehouse() lakehouse.Lakehouse { return h.lh }
func (h *liveHarness) Staging() staging.Area          { return h.area }
func (h *liveHarness) Close() error                   { return h.lh.Close() }

func (h *liveHarness) run(ctx context.Context, sql string) error {
	s, err := h.lh.pool.Session(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	_, recs, err := readAll(ctx, s, Statement{SQL: sql})
	release(recs)
	return err
}

func (h *liveHarness) exec(t *testing.T, sql string) {
	if err := h.run(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (h *liveHarness) version(ctx context.Context, n lakehouse.TableName) (int64, error) {
	s, err := h.lh.pool.Session(ctx)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	v, _, err := latestVersion(ctx, s, n)
	return v, err
}

func (h *liveHarness) CreateTable(ctx context.Context, n lakehouse.TableName, schema *arrow.Schema, o lakehousetest.TableOptions) error {
	if err := n.Validate(); err != nil {
		return err
	}
	if err := h.run(ctx, "CREATE SCHEMA IF NOT EXISTS "+lakehouse.QuoteIdent(n.Catalog)+"."+lakehouse.QuoteIdent(n.Schema)); err != nil {
		return err
	}
	props := map[string]string{}
	if o.ChangeDataFeed {
		props["delta.enableChangeDataFeed"] = "true"
	}
	st, err := createTableSQL(n, schema, props)
	if err != nil {
		return err
	}
	sql := st.SQL
	if len(o.PartitionColumns) > 0 {
		sql = strings.Replace(sql, ") USING DELTA", ") USING DELTA\nPARTITIONED BY ("+colList(o.PartitionColumns)+")", 1)
	}
	return h.run(ctx, sql)
}

// literal renders row i of a column as a SQL literal (test data only).
func literal(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "NULL"
	}
	switch v := a.(type) {
	case *array.String:
		return quoteString(v.Value(i))
	case *array.Timestamp:
		ts := v.Value(i).ToTime(arrow.Microsecond).UTC().Format("2006-01-02 15:04:05.000000")
		if v.DataType().(*arrow.TimestampType).TimeZone == "" {
			return "TIMESTAMP_NTZ'" + ts + "'"
		}
		return "TIMESTAMP'" + ts + "Z'"
	case *array.Date32:
		return "DATE'" + v.Value(i).ToTime().Format(time.DateOnly) + "'"
	case *array.List:
		var parts []string
		vals := v.ListValues()
		start, end := v.ValueOffsets(i)
		for j := start; j < end; j++ {
			parts = append(parts, literal(vals, int(j)))
		}
		return "array(" + strings.Join(parts, ", ") + ")"
	}
	s, _ := format.Cell(a, i)
	return s
}

func values(rec arrow.RecordBatch) string {
	var rows []string
	for i := 0; i < int(rec.NumRows()); i++ {
		cells := make([]string, rec.NumCols())
		for j := range cells {
			cells[j] = literal(rec.Column(j), i)
		}
		rows = append(rows, "("+strings.Join(cells, ", ")+")")
	}
	return strings.Join(rows, ",\n")
}

func names(s *arrow.Schema) []string {
	out := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		out[i] = f.Name
	}
	return out
}

func (h *liveHarness) Append(ctx context.Context, n lakehouse.TableName, rec arrow.RecordBatch) (int64, error) {
	if err := h.run(ctx, "INSERT INTO "+n.String()+" ("+colList(names(rec.Schema()))+") VALUES\n"+values(rec)); err != nil {
		return 0, err
	}
	return h.version(ctx, n)
}

func (h *liveHarness) Merge(ctx context.Context, n lakehouse.TableName, keys []string, rec arrow.RecordBatch) (int64, error) {
	var on []string
	for _, k := range keys {
		on = append(on, "t."+lakehouse.QuoteIdent(k)+" = s."+lakehouse.QuoteIdent(k))
	}
	sql := "MERGE INTO " + n.String() + " t USING (SELECT * FROM VALUES\n" + values(rec) + "\nAS v(" + colList(names(rec.Schema())) + ")) s ON " +
		strings.Join(on, " AND ") + " WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
	if err := h.run(ctx, sql); err != nil {
		return 0, err
	}
	return h.version(ctx, n)
}

func (h *liveHarness) Delete(ctx context.Context, n lakehouse.TableName, column string, vals []int64) (int64, error) {
	s := make([]string, len(vals))
	for i, v := range vals {
		s[i] = fmt.Sprint(v)
	}
	if err := h.run(ctx, "DELETE FROM "+n.String()+" WHERE "+lakehouse.QuoteIdent(column)+" IN ("+strings.Join(s, ", ")+")"); err != nil {
		return 0, err
	}
	return h.version(ctx, n)
}

// ExpireChanges vacuums with a zero retention (the warehouse must allow
// spark.databricks.delta.retentionDurationCheck.enabled = false).
func (h *liveHarness) ExpireChanges(ctx context.Context, n lakehouse.TableName) error {
	return h.run(ctx, "VACUUM "+n.String()+" RETAIN 0 HOURS")
}
