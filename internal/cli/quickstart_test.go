package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestQuickstart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "qs")
	for round := 0; round < 2; round++ { // the second run recreates the directory
		var out, errb bytes.Buffer
		if code := Execute(context.Background(), []string{"quickstart", "--dir", dir}, &out, &errb); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		for _, want := range []string{
			"web_events run 1 succeeded: 4995 rows",
			"null_timestamp_rows=5",
			"crm_users  run 1 succeeded: 200 rows",
			"web_events run 2 succeeded: 250 rows",
			"crm_users  run 2 succeeded: 5 rows (phase=changes, profile_deletes=1, profile_upserts=4, rows_read=7, update_preimages_ignored=2, version=3)",
			"5245 events",
			"customer0003@example.com   country=DE first_name=Edsger interests=[travel] lifetime_value=1149.86",
			"customer0010@example.com   deleted",
		} {
			if !strings.Contains(out.String(), want) {
				t.Fatalf("round %d: output lacks %q:\n%s", round, want, out.String())
			}
		}
	}
	// a directory it did not make is left alone
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "precious.txt"), []byte("x"), 0o644)
	var out, errb bytes.Buffer
	if code := Execute(context.Background(), []string{"quickstart", "--dir", other}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "not made by lakeport quickstart") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(other, "precious.txt")); err != nil {
		t.Errorf("the other directory was touched: %v", err)
	}
}
