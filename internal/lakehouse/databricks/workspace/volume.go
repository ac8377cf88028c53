package workspace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/databricks/databricks-sdk-go/service/files"

	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/lakehouse/staging"
)

// Volume is a parsed Unity Catalog volume location.
type Volume struct {
	Catalog, Schema, Name string
	// Prefix is the directory under the volume ("" for its root), without
	// leading or trailing slashes.
	Prefix string
}

// Root is /Volumes/catalog/schema/volume[/prefix], without a trailing slash.
func (v Volume) Root() string {
	r := "/Volumes/" + v.Catalog + "/" + v.Schema + "/" + v.Name
	if v.Prefix != "" {
		r += "/" + v.Prefix
	}
	return r
}

// ParseVolume reads /Volumes/catalog/schema/volume[/prefix].
func ParseVolume(location string) (Volume, error) {
	rest, ok := strings.CutPrefix(location, "/Volumes/")
	if !ok {
		return Volume{}, errs.Invalidf("staging %q: want /Volumes/CATALOG/SCHEMA/VOLUME[/PREFIX]", location)
	}
	parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	if len(parts) < 3 {
		return Volume{}, errs.Invalidf("staging %q: want /Volumes/CATALOG/SCHEMA/VOLUME[/PREFIX]", location)
	}
	for i, what := range []string{"catalog", "schema", "volume"} {
		if err := lakehouse.ValidateName(what, parts[i]); err != nil {
			return Volume{}, errs.Invalidf("staging %q: %v", location, err)
		}
	}
	for _, p := range parts[3:] {
		if p == "" || p == "." || p == ".." {
			return Volume{}, errs.Invalidf("staging %q: empty, '.' or '..' path segment", location)
		}
	}
	return Volume{Catalog: parts[0], Schema: parts[1], Name: parts[2], Prefix: strings.Join(parts[3:], "/")}, nil
}

// VolumeArea returns a staging area in a Unity Catalog volume
// (/Volumes/catalog/schema/volume[/prefix]) reached through the Files API.
// Location(name) is the /Volumes/... path COPY INTO reads. Writers buffer
// to a local temporary file and upload it on Close (so a file appears
// whole or not at all, and an upload can be retried); uploads overwrite.
func (c *Client) VolumeArea(location string) (staging.Area, error) {
	v, err := ParseVolume(location)
	if err != nil {
		return nil, err
	}
	return &volumeArea{c: c, v: v, root: v.Root()}, nil
}

// Staging opens the connection's staging location: a volume through the
// Files API, a bucket URL through staging.Open. It is errs.Invalid when the
// connection has none.
func (c *Client) Staging(ctx context.Context) (staging.Area, error) {
	switch loc := c.cfg.Staging; {
	case loc == "":
		return nil, errs.Invalidf("databricks connection %q: staging is not set (a /Volumes/... path or a bucket URL the warehouse can read)", c.cfg.Name)
	case strings.HasPrefix(loc, "/Volumes/"):
		return c.VolumeArea(loc)
	default:
		return staging.Open(ctx, loc)
	}
}

type volumeArea struct {
	c    *Client
	v    Volume
	root string
}

func (a *volumeArea) String() string { return a.root }

func (a *volumeArea) Location(name string) string { return a.root + "/" + name }

func checkName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || path.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../") {
		return errs.Invalidf("staging: bad file name %q (want a relative path like job/run-1/part-00000.parquet)", name)
	}
	return nil
}

func (a *volumeArea) NewWriter(ctx context.Context, name string) (io.WriteCloser, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp("", "lakeport-stage-*")
	if err != nil {
		return nil, fmt.Errorf("staging %s: %w", a.Location(name), err)
	}
	return &volumeWriter{a: a, ctx: ctx, name: name, f: f}, nil
}

type volumeWriter struct {
	a      *volumeArea
	ctx    context.Context
	name   string
	f      *os.File
	err    error
	closed bool
}

func (w *volumeWriter) Write(p []byte) (int, error) {
	if w.closed {
		return 0, fs.ErrClosed
	}
	n, err := w.f.Write(p)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

// Close uploads the buffered file (retried per the policy; each attempt
// re-reads it from the start) and removes the temporary copy.
func (w *volumeWriter) Close() error {
	if w.closed {
		return fs.ErrClosed
	}
	w.closed = true
	defer os.Remove(w.f.Name())
	defer w.f.Close()
	if w.err != nil {
		return fmt.Errorf("staging %s: %w", w.a.Location(w.name), w.err)
	}
	p := w.a.Location(w.name)
	return w.a.c.call(w.ctx, "upload "+p, func(ctx context.Context) error {
		if _, err := w.f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		return w.a.c.files.Upload(ctx, files.UploadRequest{FilePath: p, Contents: seekableBody{w.f}, Overwrite: true})
	})
}

func (a *volumeArea) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	p := a.Location(name)
	var rc io.ReadCloser
	err := a.c.call(ctx, "download "+p, func(ctx context.Context) error {
		r, err := a.c.files.Download(ctx, files.DownloadRequest{FilePath: p})
		if err != nil {
			return err
		}
		rc = r.Contents
		return nil
	})
	if err != nil {
		if isStatus(err, 404) {
			return nil, fmt.Errorf("staging %s: %w (%w)", p, fs.ErrNotExist, err)
		}
		return nil, err
	}
	return rc, nil
}

func (a *volumeArea) Delete(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	p := a.Location(name)
	err := a.c.call(ctx, "delete "+p, func(ctx context.Context) error {
		err := a.c.files.Delete(ctx, files.DeleteFileRequest{FilePath: p})
		if isStatus(err, 404) {
			return nil
		}
		return err
	})
	return err
}

// DeletePrefix deletes every file under prefix (which must end in '/'),
// then, best effort, the directories left empty under it.
func (a *volumeArea) DeletePrefix(ctx context.Context, prefix string) error {
	if !strings.HasSuffix(prefix, "/") {
		return errs.Invalidf("staging: prefix %q must end in '/'", prefix)
	}
	if err := checkName(strings.TrimSuffix(prefix, "/")); err != nil {
		return err
	}
	names, err := a.List(ctx, prefix)
	if err != nil {
		return err
	}
	var all []error
	dirs := map[string]bool{strings.TrimSuffix(prefix, "/"): true}
	for _, n := range names {
		all = append(all, a.Delete(ctx, n))
		for d := path.Dir(n); d != "." && strings.HasPrefix(d+"/", prefix); d = path.Dir(d) {
			dirs[d] = true
		}
	}
	if err := errors.Join(all...); err != nil {
		return err
	}
	// Deepest first; a directory that is gone or not empty is left alone.
	order := make([]string, 0, len(dirs))
	for d := range dirs {
		order = append(order, d)
	}
	sort.Slice(order, func(i, j int) bool { return strings.Count(order[i], "/") > strings.Count(order[j], "/") })
	for _, d := range order {
		_ = a.c.files.DeleteDirectory(ctx, files.DeleteDirectoryRequest{DirectoryPath: a.root + "/" + d})
	}
	return nil
}

// List walks the directories under the area's root that can hold names
// starting with prefix (one Files API listing per directory).
func (a *volumeArea) List(ctx context.Context, prefix string) ([]string, error) {
	start := ""
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		start = prefix[:i]
	}
	var out []string
	var walk func(rel string) error
	walk = func(rel string) error {
		dir := a.root
		if rel != "" {
			dir += "/" + rel
		}
		var entries []files.DirectoryEntry
		err := a.c.call(ctx, "list "+dir, func(ctx context.Context) error {
			var err error
			entries, err = a.c.files.ListDirectoryContentsAll(ctx, files.ListDirectoryContentsRequest{DirectoryPath: dir})
			return err
		})
		if err != nil {
			if isStatus(err, 404) {
				return nil // nothing staged there (yet)
			}
			return err
		}
		for _, e := range entries {
			name := e.Name
			if name == "" {
				name = path.Base(e.Path)
			}
			r := name
			if rel != "" {
				r = rel + "/" + name
			}
			if e.IsDirectory {
				// Descend only where names with the prefix can be.
				if strings.HasPrefix(r+"/", prefix) || strings.HasPrefix(prefix, r+"/") {
					if err := walk(r); err != nil {
						return err
					}
				}
				continue
			}
			if strings.HasPrefix(r, prefix) {
				out = append(out, r)
			}
		}
		return nil
	}
	if err := walk(start); err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}

var _ staging.Area = (*volumeArea)(nil)

// seekableBody is the upload body: the SDK resets a seekable body itself,
// and closing it must not close the file a retry reads again.
type seekableBody struct{ *os.File }

func (seekableBody) Close() error { return nil }
