package blob_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/blob"
	"github.com/lakeport/lakeport/internal/blob/blobtest"
)

func open(t *testing.T, location string) *blob.Bucket {
	t.Helper()
	b, err := blob.Open(context.Background(), location)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// diskFiles returns every file under dir as a slash-separated relative path.
func diskFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == dir {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// checkDiskMatchesList fails unless the files on disk are exactly the
// listed objects: no temp files, sidecars or escaped names.
func checkDiskMatchesList(t *testing.T, location, dir string) {
	t.Helper()
	b := open(t, location)
	defer b.Close()
	objs, err := b.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, o := range objs {
		listed = append(listed, o.Key)
	}
	if disk := diskFiles(t, dir); !slices.Equal(disk, listed) {
		t.Errorf("files on disk:\n  %q\nlisted objects:\n  %q", disk, listed)
	}
}

func TestLocalPath(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) *blob.Bucket {
		dir := filepath.Join(t.TempDir(), "table") // does not exist yet
		t.Cleanup(func() { checkDiskMatchesList(t, dir, dir) })
		b := open(t, dir)
		if want := "file://" + dir; b.Location() != want {
			t.Fatalf("Location = %q, want %q", b.Location(), want)
		}
		return b
	})
}

func TestLocalFileURL(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) *blob.Bucket {
		dir := filepath.Join(t.TempDir(), "my table", "x=a%20b")
		loc := (&url.URL{Scheme: "file", Path: dir}).String() // ".../my%20table/x=a%2520b"
		t.Cleanup(func() { checkDiskMatchesList(t, loc, dir) })
		b := open(t, loc)
		if b.Location() != loc {
			t.Fatalf("Location = %q, want %q", b.Location(), loc)
		}
		return b
	})
}

func TestLocalRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	b := open(t, "./t")
	defer b.Close()
	if want := "file://" + filepath.Join(dir, "t"); b.Location() != want {
		t.Fatalf("Location = %q, want %q", b.Location(), want)
	}
	if err := b.Put(context.Background(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "t", "k")); err != nil || string(data) != "v" {
		t.Fatalf("file on disk: %q, %v", data, err)
	}
}

// TestLocalExactNames checks keys are file names byte for byte, both ways.
func TestLocalExactNames(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b := open(t, dir)
	defer b.Close()
	for _, k := range blobtest.SpecialKeys {
		if err := b.Put(ctx, k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	want := slices.Clone(blobtest.SpecialKeys)
	slices.Sort(want)
	if got := diskFiles(t, dir); !slices.Equal(got, want) {
		t.Fatalf("files on disk:\n  %q\nwant exactly\n  %q", got, want)
	}

	// A table written by another tool (Spark) is read as is.
	spark := t.TempDir()
	names := []string{
		"_delta_log/00000000000000000000.json",
		"_delta_log/.00000000000000000000.json.crc",
		"ts=2021-01-01 00%3A00%3A00/part-00000-c000.snappy.parquet",
		"city=S%C3%A3o Paulo/part-00001.parquet",
		"x.attrs",
	}
	for _, n := range names {
		p := filepath.Join(spark, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("spark:"+n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sb := open(t, spark)
	defer sb.Close()
	objs, err := sb.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.Key)
		data, err := sb.ReadAll(ctx, o.Key)
		if err != nil || string(data) != "spark:"+o.Key {
			t.Errorf("ReadAll(%q) = %q, %v", o.Key, data, err)
		}
	}
	slices.Sort(names)
	if !slices.Equal(got, names) {
		t.Fatalf("List = %q, want %q", got, names)
	}
}

func noTempFiles(t *testing.T, dir string) {
	t.Helper()
	for _, f := range diskFiles(t, dir) {
		if strings.Contains(f, ".lakeport-tmp-") {
			t.Errorf("temp file left behind: %s", f)
		}
	}
}

func TestLocalErrorsLeaveNoTempFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b := open(t, dir)
	defer b.Close()
	if err := b.Put(ctx, "file", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "dir/inner", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "file/below", []byte("x")); err == nil {
		t.Error("Put under a file succeeded")
	}
	if err := b.Put(ctx, "dir", []byte("x")); err == nil {
		t.Error("Put over a directory succeeded")
	}
	if err := b.PutIfAbsent(ctx, "dir", []byte("x")); err == nil {
		t.Error("PutIfAbsent over a directory succeeded")
	}
	w, err := b.NewWriter(ctx, "dir")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("data"))
	if err := w.Close(); err == nil {
		t.Error("NewWriter over a directory succeeded")
	}
	if err := b.Delete(ctx, "dir"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Delete(dir) = %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "dir", "inner")); err != nil {
		t.Error(err)
	}
	noTempFiles(t, dir)
	if got := diskFiles(t, dir); !slices.Equal(got, []string{"dir/inner", "file"}) {
		t.Errorf("files = %q", got)
	}
}

func TestLocalListHidesTempFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b := open(t, dir)
	defer b.Close()
	w, err := b.NewWriter(ctx, "d/obj")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("in progress"))
	if len(diskFiles(t, dir)) != 1 { // the temp file
		t.Fatalf("files = %q, want one temp file", diskFiles(t, dir))
	}
	if objs, err := b.List(ctx, ""); err != nil || len(objs) != 0 {
		t.Fatalf("List during write = %v, %v", objs, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := diskFiles(t, dir); !slices.Equal(got, []string{"d/obj"}) {
		t.Fatalf("files = %q", got)
	}
	if fi, err := os.Stat(filepath.Join(dir, "d", "obj")); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("Stat = %v, %v; want mode 0644", fi, err)
	}
}

func TestLocalMissingRoot(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "no", "such", "dir")
	b := open(t, dir)
	defer b.Close()
	for _, p := range []string{"", "a", "a/", "_delta_log/"} {
		if objs, err := b.List(ctx, p); err != nil || len(objs) != 0 {
			t.Errorf("List(%q) = %v, %v; want empty", p, objs, err)
		}
	}
	if _, err := b.Stat(ctx, "x"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat = %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("reads created the root: %v", err)
	}

	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	if _, err := blob.Open(ctx, file); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("Open(file) = %v, want an error naming it", err)
	}
}

func TestLocalOpenFileIsOSFile(t *testing.T) {
	ctx := context.Background()
	b := open(t, t.TempDir())
	defer b.Close()
	b.Put(ctx, "k", []byte("abc"))
	f, err := b.OpenFile(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, ok := f.(interface{ Fd() uintptr }); !ok {
		t.Errorf("local OpenFile returned %T, want an *os.File-backed file", f)
	}
}

func TestMem(t *testing.T) {
	var n atomic.Int64
	blobtest.Run(t, func(t *testing.T) *blob.Bucket {
		return open(t, fmt.Sprintf("mem://blobtest-%d-%d", time.Now().UnixNano(), n.Add(1)))
	})
}

func TestMemSharedByName(t *testing.T) {
	ctx := context.Background()
	a := open(t, "mem://shared")
	if err := a.Put(ctx, "p/k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	b := open(t, "mem://shared")
	p := open(t, "mem://shared/p")
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if data, err := b.ReadAll(ctx, "p/k"); err != nil || string(data) != "v" {
		t.Fatalf("other handle: %q, %v", data, err)
	}
	if data, err := p.ReadAll(ctx, "k"); err != nil || string(data) != "v" {
		t.Fatalf("prefixed handle: %q, %v", data, err)
	}
	if other := open(t, "mem://other"); other != nil {
		if _, err := other.Stat(ctx, "p/k"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("mem://other sees mem://shared: %v", err)
		}
	}
}

// noGCPProbe keeps gocloud's gs:// opener from looking for Google default
// credentials, which may probe the GCE metadata server over the network: with
// an emulator host set it uses placeholder credentials (and opens lazily).
func noGCPProbe(t *testing.T) {
	t.Setenv("STORAGE_EMULATOR_HOST", "127.0.0.1:1")
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(t.TempDir(), "missing.json"))
}

func TestLocation(t *testing.T) {
	noGCPProbe(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "very-secret-value")
	for in, want := range map[string]string{
		"/data/t/":                "file:///data/t",
		"/data/a b/x=1%20":        "file:///data/a%20b/x=1%2520",
		"file:///data/a%20b/":     "file:///data/a%20b",
		"file://localhost/data/t": "file:///data/t",
		"mem://n":                 "mem://n",
		"mem://n/a/b/":            "mem://n/a/b",
		"s3://bkt":                "s3://bkt",
		"s3://bkt/pre/fix/?use_path_style=true&region=eu-west-1&endpoint=http://127.0.0.1:1": "s3://bkt/pre/fix?endpoint=http%3A%2F%2F127.0.0.1%3A1&region=eu-west-1&use_path_style=true",
		"s3://user:pw@bkt/p?endpoint=http://u:pw@127.0.0.1:1&region=x":                       "s3://bkt/p?endpoint=http%3A%2F%2F127.0.0.1%3A1&region=x",
		"gs://bkt/p?anonymous=true": "gs://bkt/p?anonymous=true",
	} {
		b, err := blob.Open(context.Background(), in)
		if err != nil {
			t.Errorf("Open(%q): %v", in, err)
			continue
		}
		if got := b.Location(); got != want {
			t.Errorf("Open(%q).Location() = %q, want %q", in, got, want)
		}
		if strings.Contains(b.Location(), "very-secret") || strings.Contains(b.Location(), "pw") {
			t.Errorf("Location %q leaks a secret", b.Location())
		}
		b.Close()
		if again := open(t, want); again.Location() != want { // Location is a valid location
			t.Errorf("Open(%q).Location() = %q", want, again.Location())
		}
	}
	for _, in := range []string{"", "ftp://host/x", "s3:///nobucket", "s3://bkt/a//b", "s3://bkt/../x", "s3://bkt?prefix=x",
		"file://otherhost/x", "file:///x?y=1", "mem://n?x=1", "s3://bkt?bogus=1"} {
		_, err := blob.Open(context.Background(), in)
		if err == nil {
			t.Errorf("Open(%q) succeeded, want an error", in)
		} else if !strings.Contains(err.Error(), in) {
			t.Errorf("Open(%q) error %q does not name the location", in, err)
		}
	}
}

// TestCloudOpeners checks gs:// and azblob:// open through gocloud without
// credentials: either lazily (no request is made by Open) or with a clear
// error naming the location. Nothing here touches the network.
func TestCloudOpeners(t *testing.T) {
	noGCPProbe(t)
	for _, in := range []string{
		"gs://lakeport-bkt/tables/t1",
		"gs://lakeport-bkt/tables/t1?anonymous=true",
		"azblob://container/tables/t1?storage_account=devacct&localemu=true&protocol=http&domain=127.0.0.1:1",
		"azblob://container/tables/t1",
	} {
		b, err := blob.Open(context.Background(), in)
		if err != nil {
			t.Logf("Open(%q): %v", in, err)
			if !strings.Contains(err.Error(), strings.SplitN(in, "?", 2)[0]) {
				t.Errorf("error does not name the location: %v", err)
			}
			continue
		}
		t.Logf("Open(%q) = %s (lazy)", in, b.Location())
		if !strings.HasPrefix(b.Location(), strings.SplitN(in, "?", 2)[0]) {
			t.Errorf("Location = %q", b.Location())
		}
		b.Close()
	}
}

// TestS3 runs the suite against a real S3-compatible server named by
// LAKEPORT_TEST_S3_URL (see scripts/s3-server.sh).
func TestS3(t *testing.T) {
	base := os.Getenv("LAKEPORT_TEST_S3_URL")
	if base == "" {
		msg := "LAKEPORT_TEST_S3_URL is not set: start the test S3 server with\n\n" +
			"\teval \"$(scripts/s3-server.sh start)\"\n\nand run the tests again"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("\n\n*** SKIPPING the S3 conformance tests. " + msg + " ***\n")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	rnd := make([]byte, 4)
	rand.Read(rnd)
	run := path.Join(strings.Trim(u.Path, "/"), "lakeport-blobtest", time.Now().UTC().Format("20060102T150405")+"-"+hex.EncodeToString(rnd))
	var n atomic.Int64
	blobtest.Run(t, func(t *testing.T) *blob.Bucket {
		v := *u
		v.Path = "/" + path.Join(run, fmt.Sprintf("%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), n.Add(1)))
		loc := v.String()
		t.Cleanup(func() { // leave the server's bucket clean
			b := open(t, loc)
			defer b.Close()
			objs, _ := b.List(context.Background(), "")
			for _, o := range objs {
				b.Delete(context.Background(), o.Key)
			}
		})
		b := open(t, loc)
		if secret := os.Getenv("AWS_SECRET_ACCESS_KEY"); secret != "" && strings.Contains(b.Location(), secret) {
			t.Fatalf("Location %q contains the secret", b.Location())
		}
		return b
	})
}
