package databricks

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/lakehouse/databricks/workspace"
)

// A cold start is reported on every change of state and every 15 s while
// the state stays, not on every poll.
func TestWarehouseProgressLogged(t *testing.T) {
	var buf bytes.Buffer
	report := warehouseLog(slog.New(slog.NewTextHandler(&buf, nil)), "prod")
	for i, st := range []string{"STOPPED", "STARTING", "STARTING", "STARTING", "STARTING", "RUNNING"} {
		report(workspace.WarehouseProgress{ID: "abc", State: st, Elapsed: time.Duration(i) * 8 * time.Second, Limit: 10 * time.Minute})
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	// STOPPED@0, STARTING@8s, STARTING@24s (15 s later), RUNNING@40s
	if len(lines) != 4 || !strings.Contains(lines[0], "STOPPED") || !strings.Contains(lines[3], "RUNNING") || !strings.Contains(lines[1], "connection=prod") {
		t.Errorf("progress lines:\n%s", buf.String())
	}
}
