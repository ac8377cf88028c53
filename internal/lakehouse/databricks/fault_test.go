package databricks

// The driver's behaviour under faults, on the production path (fake_test.go):
// each test injects a fault into dbxfake and asserts what the real driver and
// SDK did from the requests the fake recorded and the statements it executed.

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/lakehouse/databricks/dbxfake"
	"github.com/lakeport/lakeport/internal/lakehouse/lakehousetest"
)

const (
	opExecute     = "thrift:ExecuteStatement"
	opOpenSession = "thrift:OpenSession"
	opFetch       = "thrift:FetchResults"
	opWarehouse   = "rest:GET /api/2.0/sql/warehouses/" + dbxfake.WarehouseID
	opStart       = "rest:POST /api/2.0/sql/warehouses/" + dbxfake.WarehouseID + "/start"
)

// executed counts the statements the warehouse ran that contain substr.
func executed(h *fakeHarness, substr string) int {
	n := 0
	for _, q := range h.s.Executed() {
		if strings.Contains(q.SQL, substr) {
			n++
		}
	}
	return n
}

// statementRequests are the ExecuteStatement calls whose SQL contains substr.
func statementRequests(h *fakeHarness, substr string) []dbxfake.Request {
	var out []dbxfake.Request
	for _, r := range h.s.RequestsFor(opExecute) {
		if strings.Contains(r.SQL, substr) {
			out = append(out, r)
		}
	}
	return out
}

func withFetchRows(n int) func(*fakeSetup) { return func(s *fakeSetup) { s.driver.FetchRows = n } }

// TestOrderedScanPagesAndBatches: the result comes over FetchResults in
// pages of 7 rows and is re-cut into batches of 4; the watermark travels
// as native parameters, not text.
func TestOrderedScanPagesAndBatches(t *testing.T) {
	h := newFakeHarness(t, withFetchRows(7))
	name, v := eventTable(t, h, 50)
	after := lakehouse.Timestamp(time.Date(2024, 3, 1, 0, 10, 0, 0, time.UTC))
	rows, err := h.lh.Scan(bg, name, lakehouse.ScanRequest{Version: v, Columns: []string{"event_id"},
		Order: &lakehouse.Order{Column: "ts", TieBreaker: "event_id", After: &lakehouse.Position{Key: after}}, BatchSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	if got := rows.Schema().Field(1).Type.(*arrow.TimestampType).TimeZone; got != "UTC" {
		t.Errorf("timestamp column zone %q, want UTC", got)
	}
	ids, batches, err := collect(t, rows)
	if err != nil {
		t.Fatal(err)
	}
	// rows 0..40 have ts >= 00:10 (ts = 50-i minutes): order 40, 39, ..., 0
	if len(ids) != 41 || ids[0] != 40 || ids[40] != 0 {
		t.Errorf("ids = %v", ids)
	}
	for i, b := range batches {
		if b > 4 || (b < 4 && i != len(batches)-1) {
			t.Errorf("batch sizes %v, want 4s", batches)
			break
		}
	}
	if n := len(h.s.RequestsFor(opFetch)); n < 41/7 {
		t.Errorf("%d FetchResults calls for 41 rows in pages of 7: the result was not paged", n)
	}
	var data *dbxfake.Query
	for _, q := range h.s.Executed() {
		if strings.Contains(q.SQL, "ORDER BY `ts`") {
			data = &q
		}
	}
	if data == nil || strings.Contains(data.SQL, "2024") || len(data.Params) == 0 {
		t.Fatalf("ordered statement %+v: want the watermark as a parameter", data)
	}
	for _, p := range data.Params {
		if p.Name == "after_key" && p.Value != "2024-03-01T00:10:00.000000Z" {
			t.Errorf("after_key = %+v", p)
		}
	}
}

// TestWarehouseStart503: a stopped warehouse is started and waited for (its
// state GET answering 503 once on the way) before any SQL is sent; the
// statement then runs once. A 503 from the SQL endpoint itself is retried
// by the driver (the statement never ran), and a 503 that outlasts the
// retries is errs.Transient.
func TestWarehouseStart503(t *testing.T) {
	t.Run("stopped warehouse", func(t *testing.T) {
		h := newFakeHarness(t)
		name, v := eventTable(t, h, 5)
		h.s.SetWarehouseState(dbxfake.StateStopped)
		h.s.StartAfterPolls(2)
		h.s.Inject(dbxfake.Fault{Match: dbxfake.MatchOp(opWarehouse), Kind: dbxfake.Status503, Times: 1})
		rows, err := h.lh.Scan(bg, name, lakehouse.ScanRequest{Version: v})
		if err != nil {
			t.Fatal(err)
		}
		if ids, _, err := collect(t, rows); err != nil || !slices.Equal(ids, []int64{0, 1, 2, 3, 4}) {
			t.Fatalf("rows %v, %v", ids, err)
		}
		reqs := h.s.Requests()
		start, firstSQL, lastPoll, got503 := -1, -1, -1, false
		for i, r := range reqs {
			switch {
			case r.Op == opStart:
				if start >= 0 {
					t.Errorf("warehouse started twice")
				}
				start = i
			case r.Op == opWarehouse:
				if firstSQL < 0 {
					lastPoll = i
				}
				got503 = got503 || r.Status == 503
			case strings.HasPrefix(r.Op, "thrift:"):
				if firstSQL < 0 {
					firstSQL = i
				}
				if r.Status == 503 {
					t.Errorf("SQL request %s sent before the warehouse was running (503)", r.Op)
				}
			}
		}
		if start < 0 || firstSQL < start || firstSQL < lastPoll || !got503 {
			t.Errorf("start at %d, last poll before SQL at %d, first SQL at %d, 503 seen %v: want 503, start, polls, then SQL", start, lastPoll, firstSQL, got503)
		}
		if polls := len(h.s.RequestsFor(opWarehouse)); polls < 4 { // 503, STOPPED, STARTING x2, RUNNING
			t.Errorf("%d warehouse polls: the start was not waited for", polls)
		}
		if h.s.WarehouseState() != dbxfake.StateRunning {
			t.Errorf("warehouse %s", h.s.WarehouseState())
		}
		if n := executed(h, "ORDER BY _metadata"); n != 1 {
			t.Errorf("scan statement executed %d times, want 1", n)
		}
	})
	t.Run("sql endpoint 503", func(t *testing.T) {
		h := newFakeHarness(t)
		name, v := eventTable(t, h, 5)
		h.s.Inject(dbxfake.Fault{Match: dbxfake.MatchSQL("COUNT(*)"), Kind: dbxfake.Status503, Times: 2})
		n, err := h.lh.CountNulls(bg, name, v, "kind")
		if err != nil || n != 0 {
			t.Fatalf("CountNulls = %d, %v", n, err)
		}
		reqs := statementRequests(h, "COUNT(*)")
		if len(reqs) != 3 || reqs[0].Status != 503 || reqs[1].Status != 503 || reqs[2].Status != 200 {
			t.Errorf("count requests %v, want 503, 503, 200", statuses(reqs))
		}
		if got := executed(h, "COUNT(*)"); got != 1 {
			t.Errorf("count executed %d times, want 1", got)
		}
	})
	t.Run("503 outlasts retries", func(t *testing.T) {
		h := newFakeHarness(t, func(s *fakeSetup) { s.driver.Retries, s.driver.RetryWaitMax = 2, 100*time.Millisecond })
		name, v := eventTable(t, h, 5)
		h.s.Inject(dbxfake.Fault{Match: dbxfake.MatchOp(opOpenSession), Kind: dbxfake.Status503, Times: 100})
		_, err := h.lh.CountNulls(bg, name, v, "kind")
		if !errors.Is(err, errs.ErrTransient) || !strings.Contains(err.Error(), "main.web.events") {
			t.Errorf("CountNulls: %v, want errs.Transient naming the table", err)
		}
		if len(h.s.Executed()) != 0 {
			t.Errorf("statements ran: %v", h.s.Executed())
		}
	})
}

func statuses(rs []dbxfake.Request) []int {
	var out []int
	for _, r := range rs {
		out = append(out, r.Status)
	}
	return out
}

// TestRetryAfter429: a 429 with Retry-After is retried no sooner than the
// server asked, by the SQL driver (ExecuteStatement: the statement had not
// run, so it runs once) and by the workspace client (Unity Catalog REST).
func TestRetryAfter429(t *testing.T) {
	const wait = time.Second
	t.Run("sql", func(t *testing.T) {
		h := newFakeHarness(t)
		name, v := eventTable(t, h, 5)
		h.s.Inject(dbxfake.Fault{Match: dbxfake.MatchSQL("COUNT(*)"), Kind: dbxfake.Status429, RetryAfter: wait, Times: 1})
		n, err := h.lh.CountNulls(bg, name, v, "kind")
		if err != nil || n != 0 {
			t.Fatalf("CountNulls = %d, %v", n, err)
		}
		reqs := statementRequests(h, "COUNT(*)")
		if len(reqs) != 2 || reqs[0].Status != 429 || reqs[1].Status != 200 {
			t.Fatalf("count requests %v, want 429 then 200", statuses(reqs))
		}
		if gap := reqs[1].Time.Sub(reqs[0].Time); gap < wait {
			t.Errorf("retried after %v, before Retry-After %v", gap, wait)
		}
		if got := executed(h, "COUNT(*)"); got != 1 {
			t.Errorf("count executed %d times, want 1", got)
		}
	})
	t.Run("rest", func(t *testing.T) {
		h := newFakeHarness(t)
		eventTable(t, h, 1)
		const path = "/api/2.1/unity-catalog/tables"
		h.s.Inject(dbxfake.Fault{Match: dbxfake.MatchPathPrefix(path), Kind: dbxfake.Status429, RetryAfter: wait, Times: 1})
		tables, err := h.lh.Tables(bg, "main", "web")
		if err != nil || len(tables) != 1 {
			t.Fatalf("Tables = %v, %v", tables, err)
		}
		var reqs []dbxfake.Request
		for _, r := range h.s.Requests() {
			if strings.HasPrefix(r.Path, path) {
				reqs = append(reqs, r)
			}
		}
		if len(reqs) != 2 || reqs[0].Status != 429 || reqs[1].Status != 200 {
			t.Fatalf("tables requests %v, want 429 then 200", statuses(reqs))
		}
		if gap := reqs[1].Time.Sub(reqs[0].Time); gap < wait {
			t.Errorf("retried after %v, before Retry-After %v", gap, wait)
		}
	})
}

// TestCopyIntoConnectionReset: the connection resets after COPY INTO ran
// (the files are loaded, the answer is lost); the driver does not retry
// ExecuteStatement, the loader re-issues the load, COPY INTO skips the
// files it already loaded, and every row is in the table once.
func TestCopyIntoConnectionReset(t *testing.T) {
	h := newFakeHarness(t)
	n := lakehouse.TableName{Catalog: "main", Schema: "exports", Table: "users"}
	p1 := stageParquet(t, h.stage, "job/run-1/part-0.parquet", lakehousetest.Batch(people, []any{1, "ada"}, []any{2, "bob"}))
	p2 := stageParquet(t, h.stage, "job/run-1/part-1.parquet", lakehousetest.Batch(people, []any{3, "cy"}))
	h.s.Inject(dbxfake.Fault{Match: dbxfake.MatchSQL("COPY INTO"), Kind: dbxfake.ResetConnection, Times: 1})
	res, err := h.lh.Load(bg, n, lakehouse.LoadRequest{Staging: h.stage, Files: []string{p1, p2}, Create: true, Key: lakehouse.LoadKey{App: "job", Version: 1}})
	if err != nil {
		t.Fatal(err)
	}
	reqs := statementRequests(h, "COPY INTO")
	if len(reqs) != 2 || reqs[0].Fault != dbxfake.ResetConnection || reqs[1].Status != 200 {
		t.Errorf("COPY INTO requests: %d (first fault %v): want the reset one and its re-issue", len(reqs), reqs[0].Fault)
	}
	if got := executed(h, "COPY INTO"); got != 2 {
		t.Errorf("COPY INTO executed %d times, want 2 (the first answer was lost)", got)
	}
	if got := tableRows(t, h.lh, n); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("table rows %v, want each row once", got)
	}
	if !res.Created || res.Skipped || res.Rows != 3 {
		t.Errorf("result %+v, want created, 3 rows", res)
	}
	// the same key again is a no-op
	again, err := h.lh.Load(bg, n, lakehouse.LoadRequest{Staging: h.stage, Files: []string{p1, p2}, Key: lakehouse.LoadKey{App: "job", Version: 1}})
	if err != nil || !again.Skipped {
		t.Errorf("repeated load = %+v, %v", again, err)
	}
	if got := tableRows(t, h.lh, n); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("after the repeated load: %v", got)
	}
}

// TestOverwriteConnectionReset: an overwrite's COPY INTO (forced) whose
// answer is lost restarts at the TRUNCATE, so rows are not doubled.
func TestOverwriteConnectionReset(t *testing.T) {
	h := newFakeHarness(t)
	n := lakehouse.TableName{Catalog: "main", Schema: "exports", Table: "users"}
	p1 := stageParquet(t, h.stage, "a/part-0.parquet", lakehousetest.Batch(people, []any{1, "ada"}))
	p2 := stageParquet(t, h.stage, "b/part-0.parquet", lakehousetest.Batch(people, []any{2, "bob"}, []any{3, "cy"}))
	if _, err := h.lh.Load(bg, n, lakehouse.LoadRequest{Staging: h.stage, Files: []string{p1, p2}, Create: true, Key: lakehouse.LoadKey{App: "a", Version: 1}}); err != nil {
		t.Fatal(err)
	}
	h.s.Inject(dbxfake.Fault{Match: dbxfake.MatchSQL("'force' = 'true'"), Kind: dbxfake.ResetConnection, Times: 1})
	if _, err := h.lh.Load(bg, n, lakehouse.LoadRequest{Staging: h.stage, Files: []string{p2}, Mode: lakehouse.LoadOverwrite, Key: lakehouse.LoadKey{App: "b", Version: 1}}); err != nil {
		t.Fatal(err)
	}
	if got := executed(h, "'force' = 'true'"); got != 2 {
		t.Errorf("forced COPY INTO executed %d times, want 2", got)
	}
	if got := executed(h, "TRUNCATE"); got != 2 {
		t.Errorf("TRUNCATE ran %d times, want 2", got)
	}
	if got := tableRows(t, h.lh, n); !slices.Equal(got, []int64{2, 3}) {
		t.Errorf("after overwrite with a lost answer: %v, want [2 3]", got)
	}
}

// TestExpiredToken: a rejected (expired) token is errs.Auth from SQL and
// from REST, and nothing runs; with OAuth M2M the workspace client re-mints
// tokens before they expire, so work continues past a token's lifetime.
func TestExpiredToken(t *testing.T) {
	t.Run("pat expired", func(t *testing.T) {
		h := newFakeHarness(t)
		name, v := eventTable(t, h, 3)
		h.s.ExpireTokens()
		_, err := h.lh.Scan(bg, name, lakehouse.ScanRequest{Version: v})
		if !errors.Is(err, errs.ErrAuth) || errs.Classify(err) != errs.Auth {
			t.Errorf("scan: %v, want errs.Auth", err)
		}
		_, err = h.lh.Describe(bg, name)
		if !errors.Is(err, errs.ErrAuth) {
			t.Errorf("describe: %v, want errs.Auth", err)
		}
		if len(h.s.Executed()) != 0 {
			t.Errorf("statements ran with an expired token: %v", h.s.Executed())
		}
	})
	t.Run("expires mid-session", func(t *testing.T) {
		h := newFakeHarness(t)
		name, v := eventTable(t, h, 3)
		h.s.Inject(dbxfake.Fault{Match: dbxfake.MatchSQL("IS NULL"), Kind: dbxfake.ExpiredToken, Times: 1})
		_, err := h.lh.CountNulls(bg, name, v, "kind")
		if !errors.Is(err, errs.ErrAuth) || errs.Classify(err) != errs.Auth || !strings.Contains(err.Error(), "main.web.events") {
			t.Errorf("CountNulls: %v, want errs.Auth naming the table", err)
		}
		if reqs := statementRequests(h, "IS NULL"); len(reqs) != 1 {
			t.Errorf("%d requests for the statement: a 401 must not be retried", len(reqs))
		}
		if got := executed(h, "IS NULL"); got != 0 {
			t.Errorf("statement ran %d times", got)
		}
	})
	t.Run("m2m re-minted", func(t *testing.T) {
		h := newFakeHarness(t, func(s *fakeSetup) { s.m2m = true })
		const life = 2 * time.Second
		h.s.SetTokenLifetime(life)
		name, v := eventTable(t, h, 3)
		if got := tableRows(t, h.lh, name); len(got) != 3 {
			t.Fatalf("rows %v", got)
		}
		first := h.s.RequestsFor(opExecute)[0].Token()
		time.Sleep(life + 200*time.Millisecond) // the first token has expired
		if n, err := h.lh.CountNulls(bg, name, v, "kind"); err != nil || n != 0 {
			t.Fatalf("CountNulls after the first token's lifetime = %d, %v", n, err)
		}
		reqs := h.s.RequestsFor(opExecute)
		last := reqs[len(reqs)-1].Token()
		if last == first || last == "" || h.s.MintedTokens() < 2 {
			t.Errorf("tokens: first %q, last %q, minted %d: want a re-minted token", first, last, h.s.MintedTokens())
		}
		for _, r := range h.s.Requests() {
			if r.Status == 401 {
				t.Errorf("%s answered 401: an expired token was sent", r.Op)
			}
		}
	})
}

// TestTruncatedResult: a result page that holds fewer rows than it
// announces fails the scan (transient, naming the table) — whether it is
// the first page (direct results) or a later one — and never returns fewer
// rows as if complete.
func TestTruncatedResult(t *testing.T) {
	for _, c := range []struct {
		name    string
		ordered bool
		match   func(dbxfake.Request) bool
	}{
		{"unordered later page", false, dbxfake.MatchOp(opFetch)},
		{"ordered later page", true, dbxfake.MatchOp(opFetch)},
		{"ordered first page", true, dbxfake.MatchSQL("ORDER BY `ts`")},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newFakeHarness(t, withFetchRows(7))
			name, v := eventTable(t, h, 30)
			h.s.Inject(dbxfake.Fault{Match: c.match, Kind: dbxfake.TruncateResult, Times: 1})
			req := lakehouse.ScanRequest{Version: v}
			if c.ordered {
				req.Order = &lakehouse.Order{Column: "ts"}
			}
			rows, err := h.lh.Scan(bg, name, req)
			var ids []int64
			if err == nil {
				ids, _, err = collect(t, rows)
			}
			if err == nil {
				t.Fatalf("truncated stream read without error (%d rows)", len(ids))
			}
			if !errors.Is(err, errs.ErrTransient) || !strings.Contains(err.Error(), "main.web.events") {
				t.Errorf("error %v: want transient, naming the table", err)
			}
			if len(ids) >= 30 {
				t.Errorf("%d rows before the error", len(ids))
			}
			injected := false
			for _, r := range h.s.Requests() {
				injected = injected || r.Fault == dbxfake.TruncateResult
			}
			if !injected {
				t.Errorf("the fault was never injected")
			}
		})
	}
}

// TestBrowsingNeverWakesTheWarehouse: Catalogs/Schemas/Tables use Unity
// Catalog REST only; a stopped warehouse stays stopped until Describe.
func TestBrowsingNeverWakesTheWarehouse(t *testing.T) {
	h := newFakeHarness(t)
	name, _ := eventTable(t, h, 1)
	h.s.SetWarehouseState(dbxfake.StateStopped)
	if _, err := h.lh.Catalogs(bg); err != nil {
		t.Fatal(err)
	}
	if _, err := h.lh.Schemas(bg, "main"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.lh.Tables(bg, "main", "web"); err != nil {
		t.Fatal(err)
	}
	for _, r := range h.s.Requests() {
		if strings.HasPrefix(r.Op, "thrift:") || r.Op == opStart || r.Op == opWarehouse {
			t.Errorf("browsing sent %s", r.Op)
		}
	}
	if h.s.WarehouseState() != dbxfake.StateStopped {
		t.Errorf("warehouse %s after browsing", h.s.WarehouseState())
	}
	if _, err := h.lh.Describe(bg, name); err != nil {
		t.Fatal(err)
	}
	if len(h.s.RequestsFor(opStart)) != 1 || h.s.WarehouseState() != dbxfake.StateRunning {
		t.Errorf("describe did not start the warehouse")
	}
}
