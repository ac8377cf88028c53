// Package platformtest is the conformance suite of the platform port: every
// platform.Store implementation must pass Run. It checks behaviour only
// through the port, so a vendor's store can run it too.
package platformtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lakeport/lakeport/internal/platform"
)

// Open returns a new, empty store opened with opts; it is closed by the
// suite.
type Open func(t testing.TB, opts platform.Options) platform.Store

type test struct {
	name string
	fn   func(t *testing.T, open Open)
}

// Run runs the whole suite, each test on its own fresh store.
func Run(t *testing.T, open Open) {
	groups := [][]test{streamTests, profileTests, audienceTests, logTests}
	for _, g := range groups {
		for _, tc := range g {
			t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
		}
	}
}

// fresh opens a store with default options and closes it after the test.
func fresh(t *testing.T, open Open) platform.Store {
	return freshWith(t, open, platform.Options{})
}

func freshWith(t *testing.T, open Open, opts platform.Options) platform.Store {
	t.Helper()
	s := open(t, opts)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

var ctx = context.Background()

func write(t *testing.T, s platform.Store, b platform.Batch) platform.WriteResult {
	t.Helper()
	res, err := s.Write(ctx, b)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return res
}

// wantErr fails unless err matches class (errors.Is) and its message holds
// every one of parts.
func wantErr(t *testing.T, err, class error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", class)
	}
	if !errors.Is(err, class) {
		t.Fatalf("error %q is not %v", err, class)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

// wantFieldError fails unless err is a *platform.FieldError naming field.
func wantFieldError(t *testing.T, err error, field string) {
	t.Helper()
	var fe *platform.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is not a *platform.FieldError", err)
	}
	if fe.Field != field {
		t.Fatalf("error %q names field %q, want %q", err, fe.Field, field)
	}
	if !errors.Is(err, platform.ErrInvalid) {
		t.Fatalf("field error %q is not ErrInvalid", err)
	}
}

func obj(kv ...any) json.RawMessage {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	return b
}

func events(n int, f func(i int) json.RawMessage) []platform.EventInput {
	out := make([]platform.EventInput, n)
	for i := range out {
		out[i] = platform.EventInput{Data: f(i)}
	}
	return out
}

func appendBatch(stream string, evs ...platform.EventInput) platform.Batch {
	return platform.Batch{Appends: []platform.Append{{Stream: stream, Events: evs}}}
}

// readAll pages through a stream with the given page size.
func readAll(t testing.TB, s platform.Store, stream string, pageSize int) []platform.Event {
	t.Helper()
	var all []platform.Event
	var cur platform.Cursor
	for {
		page, err := s.ReadStream(ctx, stream, cur, pageSize)
		if err != nil {
			t.Fatalf("ReadStream(%q): %v", stream, err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		cur = page[len(page)-1].Cursor()
	}
}

func email(s string) platform.Identifier {
	return platform.Identifier{Field: platform.FieldEmail, Value: s}
}
func phone(s string) platform.Identifier {
	return platform.Identifier{Field: platform.FieldPhone, Value: s}
}

func upsert(ids []platform.Identifier, attrs map[string]any) platform.ProfileInput {
	return platform.ProfileInput{Identifiers: ids, Attributes: attrs}
}

func ids(ids ...platform.Identifier) []platform.Identifier { return ids }

func defineFields(t *testing.T, s platform.Store, fields ...platform.Field) {
	t.Helper()
	for _, f := range fields {
		if err := s.DefineField(ctx, f); err != nil {
			t.Fatalf("DefineField(%v): %v", f, err)
		}
	}
}

// standardFields are the attributes most tests use.
var standardFields = []platform.Field{
	{Name: "name", Type: platform.TypeString},
	{Name: "age", Type: platform.TypeNumber},
	{Name: "vip", Type: platform.TypeBoolean},
	{Name: "signed_up", Type: platform.TypeDatetime},
	{Name: "tags", Type: platform.TypeStringArray},
	{Name: "country", Type: platform.TypeString},
}

func mustProfile(t *testing.T, s platform.Store, id platform.Identifier) platform.Profile {
	t.Helper()
	p, err := s.Profile(ctx, id)
	if err != nil {
		t.Fatalf("Profile(%v): %v", id, err)
	}
	return p
}

func fmtIDs(ids []platform.Identifier) string {
	out := ""
	for _, id := range ids {
		out += fmt.Sprintf("%s ", id)
	}
	return out
}

var (
	errorsIs = errors.Is
	errorsAs = errors.As
)
