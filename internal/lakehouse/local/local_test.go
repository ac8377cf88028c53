package local_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakeport/lakeport/internal/delta"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/lakehouse/lakehousetest"
	"github.com/lakeport/lakeport/internal/lakehouse/local"
	"github.com/lakeport/lakeport/internal/lakehouse/staging"
)

// harness drives the local driver's tables through the Delta writer.
type harness struct {
	lh    *local.Lakehouse
	root  string
	stage staging.Area
}

func newHarness(t *testing.T, opts local.Options) *harness {
	root := filepath.Join(t.TempDir(), "lake")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	lh, err := local.Open(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	loc := t.TempDir()
	if opts.WindowRows != 0 {
		// the small-window run stages in a bucket that is not a local
		// directory, so loads read through staging.Area.Open
		loc = "mem://" + strings.ReplaceAll(t.Name(), "/", "-")
	}
	stage, err := staging.Open(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{lh: lh, root: root, stage: stage}
}

func (h *harness) Lakehouse() lakehouse.Lakehouse { return h.lh }
func (h *harness) Close() error                   { return h.lh.Close() }

func (h *harness) open(ctx context.Context, n lakehouse.TableName) (*delta.Table, error) {
	p, err := h.lh.TablePath(n)
	if err != nil {
		return nil, err
	}
	return delta.Open(ctx, p)
}

func (h *harness) CreateTable(ctx context.Context, n lakehouse.TableName, s *arrow.Schema, o lakehousetest.TableOptions) error {
	p, err := h.lh.TablePath(n)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	props := map[string]string{}
	if o.ChangeDataFeed {
		props["delta.enableChangeDataFeed"] = "true"
	}
	t, err := delta.Create(ctx, p, delta.TableSpec{Schema: s, PartitionColumns: o.PartitionColumns, Properties: props})
	if err != nil {
		return err
	}
	return t.Close()
}

func (h *harness) Append(ctx context.Context, n lakehouse.TableName, rec arrow.RecordBatch) (int64, error) {
	t, err := h.open(ctx, n)
	if err != nil {
		return 0, err
	}
	defer t.Close()
	res, err := t.Append(ctx, delta.RecordsOf(rec.Schema(), rec), delta.WriteOptions{})
	if err != nil {
		return 0, err
	}
	return res.Version, nil
}

func (h *harness) Merge(ctx context.Context, n lakehouse.TableName, keys []string, rec arrow.RecordBatch) (int64, error) {
	t, err := h.open(ctx, n)
	if err != nil {
		return 0, err
	}
	defer t.Close()
	res, err := t.Merge(ctx, delta.RecordsOf(rec.Schema(), rec), delta.MergeOptions{Keys: keys}, delta.WriteOptions{})
	if err != nil {
		return 0, err
	}
	return res.Version, nil
}

func (h *harness) Delete(ctx context.Context, n lakehouse.TableName, column string, values []int64) (int64, error) {
	t, err := h.open(ctx, n)
	if err != nil {
		return 0, err
	}
	defer t.Close()
	vals := make([]string, len(values))
	for i, v := range values {
		vals[i] = fmt.Sprint(v)
	}
	res, err := t.Delete(ctx, fmt.Sprintf("%s IN (%s)", lakehouse.QuoteIdent(column), strings.Join(vals, ", ")), delta.WriteOptions{})
	if err != nil {
		return 0, err
	}
	return res.Version, nil
}

func (h *harness) ExpireChanges(ctx context.Context, n lakehouse.TableName) error {
	t, err := h.open(ctx, n)
	if err != nil {
		return err
	}
	defer t.Close()
	time.Sleep(5 * time.Millisecond) // let file times fall behind the vacuum cutoff
	_, err = t.Vacuum(ctx, delta.VacuumOptions{Retention: time.Nanosecond, AllowShortRetention: true})
	return err
}

func (h *harness) Staging() staging.Area { return h.stage }

func TestConformance(t *testing.T) {
	lakehousetest.Run(t, func(t *testing.T) lakehousetest.Harness { return newHarness(t, local.Options{}) })
}

// TestConformanceSmallWindows runs the suite with windows of a few rows, so
// ordered scans cut many windows and split overflowing ones.
func TestConformanceSmallWindows(t *testing.T) {
	lakehousetest.Run(t, func(t *testing.T) lakehousetest.Harness { return newHarness(t, local.Options{WindowRows: 25}) })
}
