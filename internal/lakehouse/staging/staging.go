package staging

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/lakeport/lakeport/internal/blob"
)

// Area is where export files wait to be loaded.
type Area interface {
	// NewWriter creates (or replaces) the file name; it becomes visible
	// only when Close returns nil.
	NewWriter(ctx context.Context, name string) (io.WriteCloser, error)
	// Open reads a staged file.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	// Location is the file's address for a warehouse load.
	Location(name string) string
	// Delete removes a staged file; a missing file is not an error.
	Delete(ctx context.Context, name string) error
	// List returns the names under prefix ("" for all), sorted.
	List(ctx context.Context, prefix string) ([]string, error)
	// DeletePrefix removes every file under prefix (a directory-like
	// prefix ending in '/'), including partial files a crash left behind.
	DeletePrefix(ctx context.Context, prefix string) error
	// String describes the area for messages (no credentials).
	String() string
}

// LocalArea is implemented by areas on the local file system, so a local
// reader can open a staged file in place instead of copying it.
type LocalArea interface {
	Area
	// LocalPath is the file's path on this machine.
	LocalPath(name string) string
}

// Open opens the staging area at location: a local directory (created on
// first write) or a bucket URL that internal/blob opens (file://, s3://,
// gs://, azblob://, mem://).
func Open(ctx context.Context, location string) (Area, error) {
	if strings.HasPrefix(location, "/Volumes/") {
		return nil, fmt.Errorf("staging %s: a Unity Catalog volume is reached through a Databricks connection (set the connection's staging, not the job's)", location)
	}
	b, err := blob.Open(ctx, location)
	if err != nil {
		return nil, fmt.Errorf("staging: %w", err)
	}
	a := &bucketArea{b: b}
	u, err := url.Parse(b.Location())
	if err != nil {
		return nil, fmt.Errorf("staging %s: %w", location, err)
	}
	if u.Scheme == "file" {
		a.dir = filepath.FromSlash(u.Path)
		return &localArea{a}, nil
	}
	a.base = warehouseURL(u)
	return a, nil
}

// warehouseURL turns a gocloud bucket URL into the address a warehouse
// reads: no query, and Azure containers as abfss:// when the account is
// known.
func warehouseURL(u *url.URL) string {
	q := u.Query()
	out := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	if u.Scheme == "azblob" {
		account := q.Get("storage_account")
		if account == "" {
			account = os.Getenv("AZURE_STORAGE_ACCOUNT")
		}
		if account != "" {
			out = url.URL{Scheme: "abfss", Host: u.Host + "@" + account + ".dfs.core.windows.net", Path: u.Path}
		}
	}
	return strings.TrimSuffix(out.String(), "/")
}

// bucketArea is an Area on a blob bucket.
type bucketArea struct {
	b    *blob.Bucket
	base string // warehouse address of the bucket root (cloud)
	dir  string // local directory (file)
}

func checkName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || path.Clean(name) != name || strings.HasPrefix(name, "../") || name == ".." {
		return fmt.Errorf("staging: bad file name %q (want a relative path like job/run-1/part-00000.parquet)", name)
	}
	return nil
}

func (a *bucketArea) NewWriter(ctx context.Context, name string) (io.WriteCloser, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	return a.b.NewWriter(ctx, name)
}

func (a *bucketArea) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	f, err := a.b.OpenFile(ctx, name)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, 0, f.Size()), f}, nil
}

func (a *bucketArea) Location(name string) string { return a.base + "/" + name }

func (a *bucketArea) Delete(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	err := a.b.Delete(ctx, name)
	if errors.Is(err, blob.ErrNotFound) {
		return nil
	}
	return err
}

func (a *bucketArea) List(ctx context.Context, prefix string) ([]string, error) {
	objs, err := a.b.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.Key)
	}
	return out, nil
}

func (a *bucketArea) DeletePrefix(ctx context.Context, prefix string) error {
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	names, err := a.List(ctx, prefix)
	if err != nil {
		return err
	}
	var all []error
	for _, n := range names {
		all = append(all, a.Delete(ctx, n))
	}
	return errors.Join(all...)
}

func checkPrefix(prefix string) error {
	if !strings.HasSuffix(prefix, "/") {
		return fmt.Errorf("staging: prefix %q must end in '/'", prefix)
	}
	return checkName(strings.TrimSuffix(prefix, "/"))
}

func (a *bucketArea) String() string { return a.b.Location() }

// localArea is a bucketArea on a local directory.
type localArea struct{ *bucketArea }

func (a *localArea) Location(name string) string { return a.LocalPath(name) }

// DeletePrefix removes the directory, temporary files of interrupted
// writes included.
func (a *localArea) DeletePrefix(ctx context.Context, prefix string) error {
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	return os.RemoveAll(a.LocalPath(strings.TrimSuffix(prefix, "/")))
}

func (a *localArea) LocalPath(name string) string {
	return filepath.Join(a.dir, filepath.FromSlash(name))
}
