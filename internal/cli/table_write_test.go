package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTableWriteCommands(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join(dir, "customers")
	out, errOut, code := run(t, "table", "create", table, "--schema", "id long NOT NULL, email string, amount decimal(10,2), country string",
		"--partition-by", "country", "--property", "delta.enableChangeDataFeed=true")
	if code != 0 || !strings.Contains(out, "version 0") {
		t.Fatalf("create: %s %s", out, errOut)
	}
	csvFile := filepath.Join(dir, "in.csv")
	os.WriteFile(csvFile, []byte("country,id,email,amount\nNL,1,a@x.nl,10.50\nDE,2,b@x.de,\nNL,3,c@x.nl,7.25\n"), 0o644)
	out, errOut, code = run(t, "table", "append", table, csvFile)
	if code != 0 || !strings.Contains(out, "committed version 1: 3 rows inserted") {
		t.Fatalf("append csv: %s %s", out, errOut)
	}
	ndjson := filepath.Join(dir, "upd.ndjson")
	os.WriteFile(ndjson, []byte(`{"id":1,"email":"a@new.nl","amount":11.00,"country":"NL"}`+"\n"+`{"id":4,"email":"d@x.fr","amount":1.00,"country":"FR"}`+"\n"), 0o644)
	out, errOut, code = run(t, "table", "append", table, ndjson, "--mode", "merge", "--keys", "id")
	if code != 0 || !strings.Contains(out, "1 rows inserted, 1 updated") {
		t.Fatalf("merge ndjson: %s %s", out, errOut)
	}
	out, _, _ = run(t, "table", "show", table, "--format", "csv", "--columns", "id,email,amount,country", "--limit", "0")
	for _, want := range []string{"1,a@new.nl,11.00,NL", "2,b@x.de,,DE", "3,c@x.nl,7.25,NL", "4,d@x.fr,1.00,FR"} {
		if !strings.Contains(out, want) {
			t.Errorf("show: missing %q in\n%s", want, out)
		}
	}
	out, _, _ = run(t, "table", "changes", table, "--from", "2", "--format", "csv", "--columns", "id,_change_type")
	for _, want := range []string{"1,update_preimage", "1,update_postimage", "4,insert"} {
		if !strings.Contains(out, want) {
			t.Errorf("changes: missing %q in\n%s", want, out)
		}
	}
	// idempotent append: the second run with the same app id and version writes nothing
	for i, want := range []string{"committed version 3", "already committed"} {
		out, errOut, code = run(t, "table", "append", table, csvFile, "--mode", "replace-where", "--where", "country = 'NL'", "--app-id", "backfill", "--app-version", "1")
		if code == 0 && !strings.Contains(out, want) {
			t.Errorf("run %d: %q, want %q", i, out, want)
		}
		if i == 0 && code == 0 {
			t.Errorf("replace-where with rows outside the condition succeeded: %s", out)
			break
		}
		if i == 0 {
			if !strings.Contains(errOut, "does not match the replace condition") {
				t.Errorf("replace-where error: %s", errOut)
			}
			break
		}
	}
	out, errOut, code = run(t, "table", "optimize", table)
	if code != 0 {
		t.Errorf("optimize: %s %s", out, errOut)
	}
	out, errOut, code = run(t, "table", "vacuum", table, "--dry-run")
	if code != 0 || !strings.Contains(out, "would delete 0 files") {
		t.Errorf("vacuum dry run: %s %s", out, errOut)
	}
	for _, args := range [][]string{
		{"table", "create", filepath.Join(dir, "bad"), "--schema", "id lng"},
		{"table", "append", table, filepath.Join(dir, "missing.csv")},
		{"table", "append", table, csvFile, "--mode", "merge"},
	} {
		_, stderr, code := run(t, args...)
		if code == 0 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want one error line", args, code, stderr)
		}
	}
}
