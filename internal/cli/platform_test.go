package cli

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/platform/pgstore/pgtest"
)

// platformRun runs the CLI with --platform loc.
func platformRun(t *testing.T, loc string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(context.Background(), append([]string{"platform", "--platform", loc}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

func platformFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPlatformCommandsSQLite(t *testing.T) {
	testPlatformCommands(t, "sqlite://"+filepath.Join(t.TempDir(), "sub", "platform.db"))
}

func TestPlatformCommandsPostgres(t *testing.T) {
	testPlatformCommands(t, pgtest.FreshSchema(t, pgtest.URL(t)))
}

func testPlatformCommands(t *testing.T, loc string) {
	must := func(args ...string) string {
		t.Helper()
		out, errOut, code := platformRun(t, loc, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	events := platformFile(t, "ev.ndjson", "{\"event\":\"view\",\"event_ts\":\"2024-01-01T00:00:00Z\"}\n\n{\"event\":\"click\"}\n{\"event\":\"buy\"}\n")
	if out := must("ingest", events, "--stream", "web"); out != "3 events appended to web (ids 1-3)\n" {
		t.Errorf("ingest = %q", out)
	}
	if out := must("streams"); !regexp.MustCompile(`(?m)^web\s+3\s+\d{4}-`).MatchString(out) {
		t.Errorf("streams = %q", out)
	}
	out := must("streams", "tail", "web", "-n", "2")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "2\t") ||
		!strings.HasSuffix(lines[1], "\t{\"event\":\"buy\"}") {
		t.Errorf("tail -n 2 = %q", out)
	}
	must("fields", "define", "age", "number")
	must("fields", "define", "crm_id", "string", "--identifier")
	if out := must("fields"); !regexp.MustCompile(`(?m)^crm_id\s+string\s+true$`).MatchString(out) {
		t.Errorf("fields = %q", out)
	}
	if out := must("audiences", "put", "adults", "age >= 18"); out != "audience adults: version 1, 0 members\n" {
		t.Errorf("audiences put = %q", out)
	}
	profiles := platformFile(t, "p.ndjson", `{"identifiers":{"email":"Ada@Example.com","phone":"+31 6 1234 5678"},"attributes":{"age":36}}
{"identifiers":{"email":["kid@x.io"],"crm_id":"C-1"},"attributes":{"age":9}}
`)
	if out := must("profiles", "upsert", profiles); !strings.Contains(out, "2 created") || !strings.Contains(out, "1 entered") {
		t.Errorf("profiles upsert = %q", out)
	}
	out = must("profiles", "show", "phone:0031612345678")
	for _, want := range []string{`"ada@example.com"`, `"+31612345678"`, `"age": 36`} {
		if !strings.Contains(out, want) {
			t.Errorf("profiles show lacks %s:\n%s", want, out)
		}
	}
	if out := must("audiences", "members", "adults"); !strings.Contains(out, "email:ada@example.com") || strings.Contains(out, "kid@x.io") {
		t.Errorf("members = %q", out)
	}
	if out := must("audiences", "changes"); !regexp.MustCompile(`(?m)^1\s+\S+\s+adults\s+1\s+enter$`).MatchString(out) {
		t.Errorf("changes = %q", out)
	}
	if out := must("audiences"); !regexp.MustCompile(`(?m)^adults\s+1\s+1\s`).MatchString(out) {
		t.Errorf("audiences = %q", out)
	}
	must("profiles", "delete", "email:ADA@example.com")
	if out := must("audiences", "members", "adults"); strings.Contains(out, "ada") {
		t.Errorf("deleted profile still a member: %q", out)
	}
	if out := must("profiles"); strings.Count(strings.TrimSpace(out), "\n") != 1 || !strings.Contains(out, "crm_id:C-1") {
		t.Errorf("profiles = %q", out)
	}
	if out := must("events"); !regexp.MustCompile(`(?m)audience:adults\s+created\s+version=1\s+age >= 18$`).MatchString(out) {
		t.Errorf("events = %q", out)
	}
	if out := must("metrics", "--dimension", "stream"); !regexp.MustCompile(`(?m)stream\s+web\s+events\s+3$`).MatchString(out) {
		t.Errorf("metrics = %q", out)
	}
	if out := must("audiences", "refresh"); out != "0 profiles evaluated, 0 entered, 0 exited\n" {
		t.Errorf("refresh = %q", out)
	}

	// Failures: one line on stderr, exit 1, nothing half-applied.
	bad := platformFile(t, "bad.ndjson", "{\"event\":\"ok\"}\n{\"event\":\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"ingest", bad, "--stream", "web"}, "bad.ndjson: line 2: invalid JSON"},
		{[]string{"ingest", events}, "--stream is required"},
		{[]string{"ingest", events, "--stream", "no spaces"}, "stream name"},
		{[]string{"ingest", filepath.Join(t.TempDir(), "missing.ndjson"), "--stream", "web"}, "no such file"},
		{[]string{"profiles", "show", "email:nobody@x.io"}, `profile "email:nobody@x.io" not found`},
		{[]string{"profiles", "show", "phone:12"}, `field "phone"`},
		{[]string{"profiles", "show", "nocolon"}, "FIELD:VALUE"},
		{[]string{"profiles", "upsert", platformFile(t, "p2.ndjson", `{"identifiers":{"email":"a@b.io"},"attributes":{"shoe":1}}`)}, `field "shoe": unknown attribute`},
		{[]string{"audiences", "put", "x", "shoe > 1"}, "undeclared reference to 'shoe'"},
		{[]string{"audiences", "members", "nope"}, `audience "nope" not found`},
		{[]string{"fields", "define", "age", "string"}, "conflict"},
		{[]string{"streams", "tail", "nope"}, `stream "nope" not found`},
		{[]string{"events", "--since", "whenever"}, "--since"},
	} {
		_, errOut, code := platformRun(t, loc, c.args...)
		if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "lakeport: ") || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want one line mentioning %q", c.args, code, errOut, c.want)
		}
	}
	if out := must("streams", "tail", "web"); strings.Count(out, "\n") != 3 {
		t.Errorf("a failed ingest changed the stream: %q", out)
	}
}

func TestPlatformBadLocation(t *testing.T) {
	_, errOut, code := platformRun(t, "mysql://db/x", "streams")
	if code != 1 || !strings.Contains(errOut, "want sqlite://PATH or postgres://") {
		t.Fatalf("exit %d, %q", code, errOut)
	}
	_, errOut, code = platformRun(t, "postgres://nobody:s3cret@127.0.0.1:1/x?connect_timeout=2", "streams")
	if code != 1 || strings.Contains(errOut, "s3cret") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("unreachable PostgreSQL: exit %d, stderr %q (one line, no password)", code, errOut)
	}
}

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestPlatformServe(t *testing.T) {
	loc := "sqlite://" + filepath.Join(t.TempDir(), "platform.db")
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb lockedBuffer
	done := make(chan int)
	go func() {
		done <- Execute(ctx, []string{"platform", "--platform", loc, "serve", "--addr", "127.0.0.1:0"}, &out, &errb)
	}()
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := regexp.MustCompile(`serving on (http://\S+)`).FindStringSubmatch(errb.String()); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		cancel()
		t.Fatalf("server did not start: %q", errb.String())
	}
	resp, err := http.Post(url+"/api/v1/collect/app", "application/x-ndjson", strings.NewReader("{\"a\":1}\n{\"a\":2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("collect = %d", resp.StatusCode)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exit %d: %s", code, errb.String())
	}
	if o, _, code := platformRun(t, loc, "streams"); code != 0 || !regexp.MustCompile(`(?m)^app\s+2\s`).MatchString(o) {
		t.Fatalf("after serve: streams = %q", o)
	}
}
