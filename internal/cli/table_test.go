package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakeport/lakeport/internal/delta/deltatest"
)

func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestTableCommands(t *testing.T) {
	corpus := deltatest.CorpusDir(t)
	cdf := filepath.Join(corpus, "kernel-rs", "data", "cdf-table")
	dv := filepath.Join(corpus, "kernel-rs", "data", "table-with-dv-small")

	out, _, code := run(t, "table", "info", cdf)
	for _, want := range []string{"version:         3", "change data feed: true", "partitioned by:  birthday", "files:", "birthday: date"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("info: missing %q in:\n%s", want, out)
		}
	}
	out, _, code = run(t, "table", "show", dv, "--format", "csv", "--limit", "0")
	if code != 0 || out != "value\n1\n2\n3\n4\n5\n6\n7\n8\n" {
		t.Errorf("show csv = %q (exit %d); want the 8 rows the deletion vector leaves", out, code)
	}
	out, _, code = run(t, "table", "show", cdf, "--version", "0", "--where", "id <= 2", "--columns", "name,id", "--format", "json")
	if code != 0 || out != "{\"name\":\"Steve\",\"id\":1}\n{\"name\":\"Bob\",\"id\":2}\n" {
		t.Errorf("show json = %q (exit %d)", out, code)
	}
	out, _, code = run(t, "table", "changes", cdf, "--from", "3", "--columns", "id,_change_type,_commit_version")
	if code != 0 || !strings.Contains(out, "| 7  | delete       | 3               |") || !strings.Contains(out, "(1 rows)") {
		t.Errorf("changes = %s (exit %d)", out, code)
	}
}

func TestTableErrorsAreOneLine(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	for _, args := range [][]string{
		{"table", "info", missing},
		{"table", "show", missing},
		{"table", "show", filepath.Join(deltatest.CorpusDir(t), "kernel-rs", "data", "cdf-table"), "--where", "id >"},
		{"table", "changes", missing},
		{"table", "show", missing, "--format", "xml"},
	} {
		_, stderr, code := run(t, args...)
		if code == 0 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.HasPrefix(stderr, "lakeport: ") {
			t.Errorf("%v: exit %d, stderr %q; want one line and a non-zero exit", args, code, stderr)
		}
	}
}
