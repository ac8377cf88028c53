package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/pgstore"
	"github.com/lakeport/lakeport/internal/platform/pgstore/pgtest"
	"github.com/lakeport/lakeport/internal/platform/sqlitestore"
	"github.com/lakeport/lakeport/internal/server"
)

func sqliteStore(t testing.TB) platform.Store {
	s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"), platform.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func pgStore(t testing.TB) platform.Store {
	s, err := pgstore.Open(context.Background(), pgtest.FreshSchema(t, pgtest.URL(t)), platform.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type reply struct {
	status int
	body   map[string]any
}

func post(t *testing.T, srv *httptest.Server, path, contentType string, body io.Reader) reply {
	t.Helper()
	resp, err := http.Post(srv.URL+path, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("response is not JSON: %v", err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("response Content-Type %q", ct)
	}
	return reply{resp.StatusCode, m}
}

func count(t *testing.T, s platform.Store, stream string) int {
	t.Helper()
	evs, err := s.ReadStream(context.Background(), stream, platform.Cursor{}, 0)
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			return 0
		}
		t.Fatal(err)
	}
	return len(evs)
}

func TestCollect(t *testing.T) {
	for name, open := range map[string]func(testing.TB) platform.Store{"sqlite": sqliteStore, "postgres": pgStore} {
		t.Run(name, func(t *testing.T) { testCollect(t, open(t)) })
	}
}

func testCollect(t *testing.T, s platform.Store) {
	srv := httptest.NewServer(server.New(s, server.Options{Collect: server.CollectOptions{MaxBodyBytes: 1 << 10}}))
	defer srv.Close()

	r := post(t, srv, "/api/v1/collect/web", "application/x-ndjson",
		strings.NewReader("{\"e\":1}\n{\"e\":2,\"event_ts\":\"2024-01-01T00:00:00Z\"}\r\n\n{\"e\":3}\n"))
	if r.status != 200 || r.body["accepted"] != 3.0 || r.body["first_id"] != 1.0 || r.body["last_id"] != 3.0 || r.body["stream"] != "web" {
		t.Fatalf("NDJSON post = %d %v", r.status, r.body)
	}
	r = post(t, srv, "/api/v1/collect/web", "application/json; charset=utf-8", strings.NewReader(`{"e":4}`))
	if r.status != 200 || r.body["accepted"] != 1.0 || r.body["first_id"] != 4.0 {
		t.Fatalf("JSON post = %d %v", r.status, r.body)
	}
	evs, _ := s.ReadStream(context.Background(), "web", platform.Cursor{}, 0)
	if len(evs) != 4 || string(evs[1].Data) != `{"e":2,"event_ts":"2024-01-01T00:00:00Z"}` || evs[1].EventTS.Year() != 2024 {
		t.Fatalf("stored events = %+v", evs)
	}

	// A malformed line rejects the whole body, naming the line.
	r = post(t, srv, "/api/v1/collect/web", "application/x-ndjson", strings.NewReader("{\"e\":5}\n{\"e\":6}\n{\"e\":\n{\"e\":8}\n"))
	if r.status != 400 || r.body["line"] != 3.0 || r.body["code"] != "invalid_input" || !strings.HasPrefix(r.body["error"].(string), "line 3:") {
		t.Fatalf("malformed line = %d %v", r.status, r.body)
	}
	r = post(t, srv, "/api/v1/collect/web", "application/x-ndjson", strings.NewReader("{\"e\":5}\n{\"event_ts\":\"soon\"}\n"))
	if r.status != 400 || r.body["line"] != 2.0 || r.body["field"] != "event_ts" {
		t.Fatalf("bad event_ts = %d %v", r.status, r.body)
	}
	if n := count(t, s, "web"); n != 4 {
		t.Fatalf("rejected bodies were half-applied: %d events", n)
	}

	// Oversized bodies are refused, with or without a Content-Length.
	big := strings.Repeat("{\"padding\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n", 40)
	r = post(t, srv, "/api/v1/collect/big", "application/x-ndjson", strings.NewReader(big))
	if r.status != 413 || r.body["code"] != "too_large" || !strings.Contains(r.body["error"].(string), "1 KiB") {
		t.Fatalf("oversized body = %d %v", r.status, r.body)
	}
	r = post(t, srv, "/api/v1/collect/big", "application/x-ndjson", io.MultiReader(strings.NewReader(big))) // chunked
	if r.status != 413 {
		t.Fatalf("oversized chunked body = %d %v", r.status, r.body)
	}
	if n := count(t, s, "big"); n != 0 {
		t.Fatalf("oversized bodies stored %d events", n)
	}

	for _, c := range []struct {
		path, ct, body string
		status         int
		code           string
	}{
		{"/api/v1/collect/web", "text/plain", `{"e":1}`, 415, "unsupported_media_type"},
		{"/api/v1/collect/web", "", `{"e":1}`, 415, "unsupported_media_type"},
		{"/api/v1/collect/bad%20name", "application/json", `{"e":1}`, 400, "invalid_input"},
		{"/api/v1/collect/web", "application/json", `[{"e":1}]`, 400, "invalid_input"},
		{"/api/v1/collect/web", "application/json", `{"e":1}{"e":2}`, 400, "invalid_input"},
		{"/api/v1/collect/web", "application/x-ndjson", "\n\n", 400, "invalid_input"},
		{"/api/v1/collect/" + platform.StreamSends, "application/json", `{"user_id":"u","message_id":"m"}`, 400, "invalid_input"},
	} {
		r := post(t, srv, c.path, c.ct, strings.NewReader(c.body))
		if r.status != c.status || r.body["code"] != c.code {
			t.Errorf("POST %s (%s) %q = %d %v, want %d %s", c.path, c.ct, c.body, r.status, r.body, c.status, c.code)
		}
	}
	if n := count(t, s, "web"); n != 4 {
		t.Fatalf("rejected requests stored events: %d", n)
	}

	resp, err := http.Get(srv.URL + "/api/v1/collect/web")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET collect = %d, want 405", resp.StatusCode)
	}
}

// failing is a Writer whose database is broken.
type failing struct{}

func (failing) Write(context.Context, platform.Batch) (platform.WriteResult, error) {
	return platform.WriteResult{}, io.ErrUnexpectedEOF
}

func TestCollectInternalErrorIsNotLeaked(t *testing.T) {
	srv := httptest.NewServer(server.New(failing{}, server.Options{Collect: server.CollectOptions{Logger: discard()}}))
	defer srv.Close()
	r := post(t, srv, "/api/v1/collect/s", "application/json", strings.NewReader(`{}`))
	if r.status != 500 || r.body["code"] != "internal" || strings.Contains(r.body["error"].(string), "EOF") {
		t.Fatalf("internal error = %d %v", r.status, r.body)
	}
}
