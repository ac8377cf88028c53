package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Sentinel errors; match them with errors.Is. Returned errors wrap them with
// the operation, key and location.
var (
	ErrNotFound = errors.New("blob: not found")
	ErrExist    = errors.New("blob: already exists")
)

// ObjectInfo describes one object.
type ObjectInfo struct {
	Key     string // relative to the bucket root
	Size    int64
	ModTime time.Time
}

// File is a read-only handle on one object, suitable for Parquet readers.
type File interface {
	io.ReaderAt
	io.ReadSeeker
	io.Closer
	Size() int64
}

// backend is implemented once per storage kind (local files, gocloud).
// Keys and prefixes reaching it are already validated; errors it returns
// wrap ErrNotFound/ErrExist where they apply and are wrapped again by Bucket
// with the operation, key and location.
type backend interface {
	list(ctx context.Context, prefix, after string) ([]ObjectInfo, error)
	stat(ctx context.Context, key string) (ObjectInfo, error)
	readAll(ctx context.Context, key string) ([]byte, error)
	readRange(ctx context.Context, key string, off, n int64) ([]byte, error)
	openFile(ctx context.Context, key string) (File, error)
	put(ctx context.Context, key string, data []byte, ifAbsent bool) error
	newWriter(ctx context.Context, key string) (io.WriteCloser, error)
	delete(ctx context.Context, key string) error
	close() error
}

// Bucket is a root location in some object store. It is safe for concurrent
// use and must not be used after Close.
type Bucket struct {
	location string
	be       backend
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

// Open opens a bucket rooted at location, which is one of:
//
//	./rel/dir, /abs/dir            local directory (need not exist yet)
//	file:///abs/dir                local directory, path percent-decoded
//	mem://name/prefix              in-process; one name is one store per process
//	s3://bucket/prefix?region=…&endpoint=…&use_path_style=true
//	gs://bucket/prefix, azblob://container/prefix
//
// Cloud credentials come from the environment (the usual SDK chains). Query
// parameters are those of the gocloud URL openers. Errors name the location.
func Open(ctx context.Context, location string) (*Bucket, error) {
	b, err := open(ctx, location)
	if err != nil {
		return nil, fmt.Errorf("blob: open %s: %w", redact(location), err)
	}
	return b, nil
}

func open(ctx context.Context, location string) (*Bucket, error) {
	if location == "" {
		return nil, errors.New("empty location")
	}
	if !schemeRE.MatchString(location) {
		return openLocal(location)
	}
	u, err := url.Parse(location)
	if err != nil {
		return nil, err
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme == "file" {
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("file URL with host %q: only local paths are supported", u.Host)
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return nil, errors.New("file URL takes no query or fragment")
		}
		if !strings.HasPrefix(u.Path, "/") {
			return nil, errors.New("file URL must have an absolute path (file:///abs/dir)")
		}
		return openLocal(u.Path)
	}
	return openCloud(ctx, u)
}

func openLocal(path string) (*Bucket, error) {
	be, err := newLocal(path)
	if err != nil {
		return nil, err
	}
	loc := &url.URL{Scheme: "file", Path: filepath.ToSlash(be.root)}
	return &Bucket{location: loc.String(), be: be}, nil
}

// redact strips userinfo from a URL-shaped location for error messages.
func redact(location string) string {
	if !schemeRE.MatchString(location) {
		return location
	}
	if u, err := url.Parse(location); err == nil {
		u.User = nil
		return u.String()
	}
	return location
}

// Local reports whether the bucket is a local directory (where a stat is
// cheap and a listing reads the whole directory).
func (b *Bucket) Local() bool {
	_, ok := b.be.(*local)
	return ok
}

// Location returns the normalized root URL, e.g. "file:///abs/dir" or
// "s3://bkt/prefix?endpoint=…". It never contains credentials.
func (b *Bucket) Location() string { return b.location }

// Close releases the bucket's resources.
func (b *Bucket) Close() error {
	return b.wrap("close", "", b.be.close())
}

// List returns every object whose key starts with prefix, sorted by key.
func (b *Bucket) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, b.wrap("list", prefix, err)
	}
	objs, err := b.be.list(ctx, prefix, "")
	return objs, b.wrap("list", prefix, err)
}

// ListAfter is List restricted to keys that sort after the key after. Backends
// that can start a listing at a key (the local filesystem, S3) skip the
// earlier keys without reading them, so listing the tail of a long log costs
// what the tail costs.
func (b *Bucket) ListAfter(ctx context.Context, prefix, after string) ([]ObjectInfo, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, b.wrap("list", prefix, err)
	}
	objs, err := b.be.list(ctx, prefix, after)
	return objs, b.wrap("list", prefix, err)
}

// Stat describes the object at key, or returns ErrNotFound.
func (b *Bucket) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := checkKey(key); err != nil {
		return ObjectInfo{}, b.wrap("stat", key, err)
	}
	info, err := b.be.stat(ctx, key)
	return info, b.wrap("stat", key, err)
}

// ReadAll returns the object's content, or ErrNotFound.
func (b *Bucket) ReadAll(ctx context.Context, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, b.wrap("read", key, err)
	}
	data, err := b.be.readAll(ctx, key)
	return data, b.wrap("read", key, err)
}

// ReadRange returns exactly n bytes starting at off, or an error (ErrNotFound
// for a missing object; a range past the end of the object is an error).
func (b *Bucket) ReadRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	err := checkKey(key)
	if err == nil && (off < 0 || n < 0) {
		err = fmt.Errorf("invalid range offset %d length %d", off, n)
	}
	if err != nil {
		return nil, b.wrap("read range", key, err)
	}
	data, err := b.be.readRange(ctx, key, off, n)
	if err == nil && int64(len(data)) != n {
		err = fmt.Errorf("range [%d, %d): got %d bytes (past end of object?)", off, off+n, len(data))
	}
	if err != nil {
		return nil, b.wrap("read range", key, err)
	}
	return data, nil
}

// OpenFile opens the object for random access, or returns ErrNotFound. Local
// buckets return a plain *os.File-backed File; cloud buckets read ranges on
// demand using ctx. ReadAt is safe for concurrent use; Read and Seek share one
// position.
func (b *Bucket) OpenFile(ctx context.Context, key string) (File, error) {
	if err := checkKey(key); err != nil {
		return nil, b.wrap("open", key, err)
	}
	f, err := b.be.openFile(ctx, key)
	if err != nil {
		return nil, b.wrap("open", key, err)
	}
	return f, nil
}

// Put creates or replaces the object at key. The object is replaced
// atomically: readers never see partial content.
func (b *Bucket) Put(ctx context.Context, key string, data []byte) error {
	if err := checkKey(key); err != nil {
		return b.wrap("put", key, err)
	}
	return b.wrap("put", key, b.be.put(ctx, key, data, false))
}

// PutIfAbsent creates the object at key unless it exists, in which case it
// returns ErrExist. Among concurrent callers on one key exactly one succeeds.
func (b *Bucket) PutIfAbsent(ctx context.Context, key string, data []byte) error {
	if err := checkKey(key); err != nil {
		return b.wrap("put-if-absent", key, err)
	}
	return b.wrap("put-if-absent", key, b.be.put(ctx, key, data, true))
}

// NewWriter starts a streaming write of key. The object becomes visible, all
// at once, only when Close returns nil. To abandon the write, cancel ctx and
// then call Close. The writer must always be closed.
func (b *Bucket) NewWriter(ctx context.Context, key string) (io.WriteCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, b.wrap("write", key, err)
	}
	w, err := b.be.newWriter(ctx, key)
	if err != nil {
		return nil, b.wrap("write", key, err)
	}
	return &writer{w: w, b: b, key: key}, nil
}

// Delete removes the object at key, or returns ErrNotFound.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return b.wrap("delete", key, err)
	}
	return b.wrap("delete", key, b.be.delete(ctx, key))
}

// wrap names the operation, key and location in err (nil stays nil).
func (b *Bucket) wrap(op, key string, err error) error {
	if err == nil {
		return nil
	}
	if key == "" {
		return fmt.Errorf("blob: %s %s: %w", op, b.location, err)
	}
	return fmt.Errorf("blob: %s %q in %s: %w", op, key, b.location, err)
}

// writer adds key and location to a backend writer's errors.
type writer struct {
	w   io.WriteCloser
	b   *Bucket
	key string
}

func (w *writer) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	return n, w.b.wrap("write", w.key, err)
}

func (w *writer) Close() error { return w.b.wrap("write", w.key, w.w.Close()) }

// tempPrefix starts the names of the local backend's temporary files.
const tempPrefix = ".lakeport-tmp-"

// checkKey enforces the key rules in the package documentation.
func checkKey(key string) error {
	if key == "" {
		return errors.New("invalid key: empty")
	}
	if err := checkChars(key); err != nil {
		return err
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("invalid key %q: empty, \".\" or \"..\" path segment, or leading/trailing \"/\"", key)
		}
	}
	if base := key[strings.LastIndexByte(key, '/')+1:]; strings.HasPrefix(base, tempPrefix) {
		return fmt.Errorf("invalid key %q: names starting with %q are reserved", key, tempPrefix)
	}
	return nil
}

// checkPrefix accepts any prefix of a valid key, including "" and "dir/".
func checkPrefix(prefix string) error {
	if err := checkChars(prefix); err != nil {
		return err
	}
	segs := strings.Split(prefix, "/")
	for _, seg := range segs[:len(segs)-1] { // the last segment may be partial
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("invalid prefix %q: empty, \".\" or \"..\" path segment, or leading \"/\"", prefix)
		}
	}
	return nil
}

func checkChars(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("invalid key %q: not valid UTF-8", s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("invalid key %q: control character", s)
		}
	}
	return nil
}
