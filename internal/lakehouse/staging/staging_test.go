package staging_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lakeport/lakeport/internal/lakehouse/staging"
)

var ctx = context.Background()

func TestAreas(t *testing.T) {
	dir := t.TempDir()
	for _, loc := range []string{dir, "file://" + filepath.ToSlash(dir) + "/sub", "mem://staging-test/prefix"} {
		t.Run(loc, func(t *testing.T) {
			a, err := staging.Open(ctx, loc)
			if err != nil {
				t.Fatal(err)
			}
			w, err := a.NewWriter(ctx, "job/run-1/part-00000.csv")
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(w, "a,b\n1,2\n")
			if names, _ := a.List(ctx, "job/"); len(names) != 0 {
				t.Errorf("file visible before Close: %v", names)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			names, err := a.List(ctx, "job/")
			if err != nil || !slices.Equal(names, []string{"job/run-1/part-00000.csv"}) {
				t.Fatalf("List = %v, %v", names, err)
			}
			r, err := a.Open(ctx, names[0])
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(r)
			r.Close()
			if string(b) != "a,b\n1,2\n" {
				t.Errorf("read back %q", b)
			}
			loc := a.Location(names[0])
			if la, ok := a.(staging.LocalArea); ok {
				if got, err := os.ReadFile(la.LocalPath(names[0])); err != nil || string(got) != string(b) || loc != la.LocalPath(names[0]) {
					t.Errorf("local path %s: %q, %v (location %s)", la.LocalPath(names[0]), got, err, loc)
				}
			} else if !strings.HasPrefix(loc, "mem://staging-test/prefix/job/") {
				t.Errorf("Location = %s", loc)
			}
			w2, _ := a.NewWriter(ctx, "job/run-2/part-00000.csv")
			w2.Write([]byte("partial")) // never closed: a crash mid-write
			if err := a.Delete(ctx, names[0]); err != nil {
				t.Fatal(err)
			}
			if err := a.DeletePrefix(ctx, "job/"); err != nil {
				t.Fatal(err)
			}
			if la, ok := a.(staging.LocalArea); ok {
				if _, err := os.Stat(filepath.Dir(filepath.Dir(la.LocalPath(names[0])))); !os.IsNotExist(err) {
					t.Errorf("DeletePrefix left the directory: %v", err)
				}
			}
			if err := a.DeletePrefix(ctx, "job"); err == nil {
				t.Errorf("DeletePrefix without a trailing slash: no error")
			}
			if err := a.Delete(ctx, names[0]); err != nil {
				t.Errorf("second delete: %v", err)
			}
			if names, _ := a.List(ctx, ""); len(names) != 0 {
				t.Errorf("after delete: %v", names)
			}
			for _, bad := range []string{"", "/abs", "../up", "a/../../b"} {
				if _, err := a.NewWriter(ctx, bad); err == nil {
					t.Errorf("NewWriter(%q): no error", bad)
				}
			}
		})
	}
}

func TestWarehouseLocation(t *testing.T) {
	a, err := staging.Open(ctx, "s3://bkt/stage?region=us-east-1&endpoint=http://127.0.0.1:1&use_path_style=true")
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Location("j/p.parquet"); got != "s3://bkt/stage/j/p.parquet" {
		t.Errorf("Location = %s", got)
	}
	if _, err := staging.Open(ctx, "/Volumes/main/lakeport/stage"); err == nil || !strings.Contains(err.Error(), "connection") {
		t.Errorf("volume without connection: %v", err)
	}
}
