// Package pgtest gives tests a PostgreSQL to run against: the server at
// $LAKEPORT_TEST_POSTGRES_URL (default DefaultURL), each test in a fresh
// schema dropped afterwards. When the server is unreachable the test fails
// under CI=true and is skipped loudly otherwise.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultURL is the server tests use when LAKEPORT_TEST_POSTGRES_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// URL returns the test server's URL after checking that it answers.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("LAKEPORT_TEST_POSTGRES_URL")
	if u == "" {
		u = DefaultURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err == nil {
		err = conn.Ping(ctx)
		conn.Close(ctx)
	}
	if err != nil {
		msg := "PostgreSQL is not reachable at " + redacted(u) + " (set LAKEPORT_TEST_POSTGRES_URL): " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal("PostgreSQL is required under CI=true: " + msg)
		}
		t.Skip("\n\n*** SKIPPING the PostgreSQL tests. " + msg + " ***\n")
	}
	return u
}

// FreshSchema creates an empty schema, drops it when the test ends, and
// returns base with search_path set to it.
func FreshSchema(t testing.TB, base string) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	schema := "lakeport_test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("dropping test schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func redacted(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
