package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	gcblob "gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob" // azblob://
	_ "gocloud.dev/blob/gcsblob"   // gs://
	"gocloud.dev/blob/memblob"
	_ "gocloud.dev/blob/s3blob" // s3://
	"gocloud.dev/gcerrors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// cloud serves a bucket through gocloud.dev/blob.
type cloud struct {
	b *gcblob.Bucket // already prefixed with the location's path
}

// memStores keeps mem:// stores by name for the life of the process.
var memStores = struct {
	sync.Mutex
	m map[string]*gcblob.Bucket
}{m: map[string]*gcblob.Bucket{}}

func openCloud(ctx context.Context, u *url.URL) (*Bucket, error) {
	switch u.Scheme {
	case "mem", "s3", "gs", "azblob":
	default:
		return nil, fmt.Errorf("unsupported scheme %q (want a local path, file, mem, s3, gs or azblob)", u.Scheme)
	}
	if u.Host == "" && u.Scheme != "mem" {
		return nil, errors.New("missing bucket name")
	}
	if u.Fragment != "" {
		return nil, errors.New("URL fragment not allowed")
	}
	q := u.Query()
	if q.Has("prefix") || q.Has("key") {
		return nil, errors.New(`put the prefix in the URL path, not in a "prefix" or "key" parameter`)
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		if err := checkKey(prefix); err != nil {
			return nil, fmt.Errorf("bad path: %w", err)
		}
	}

	var b *gcblob.Bucket
	if u.Scheme == "mem" {
		if len(q) != 0 {
			return nil, errors.New("mem URL takes no parameters")
		}
		memStores.Lock()
		store := memStores.m[u.Host]
		if store == nil {
			store = memblob.OpenBucket(nil)
			memStores.m[u.Host] = store
		}
		memStores.Unlock()
		// A fresh *Bucket per Open over the shared store, so that closing
		// one does not close the others.
		b = gcblob.PrefixedBucket(store, "")
	} else {
		bu := url.URL{Scheme: u.Scheme, Host: u.Host, RawQuery: u.RawQuery}
		var err error
		if b, err = gcblob.OpenBucket(ctx, bu.String()); err != nil {
			return nil, err
		}
	}
	if prefix != "" {
		// The wrapper shares b's driver and closes it; b itself is dropped
		// unclosed, as gocloud's own "prefix" URL parameter does.
		b = gcblob.PrefixedBucket(b, prefix+"/")
	}

	// Normalized location: no userinfo, sorted parameters, no endpoint userinfo.
	if ep := q.Get("endpoint"); ep != "" {
		if eu, err := url.Parse(ep); err == nil && eu.User != nil {
			eu.User = nil
			q.Set("endpoint", eu.String())
		}
	}
	loc := url.URL{Scheme: u.Scheme, Host: u.Host, RawQuery: q.Encode()}
	if prefix != "" {
		loc.Path = "/" + prefix
	}
	return &Bucket{location: loc.String(), be: &cloud{b: b}}, nil
}

// cloudErr maps gocloud error codes to this package's sentinels.
func cloudErr(err error) error {
	if err != nil && gcerrors.Code(err) == gcerrors.NotFound {
		return ErrNotFound
	}
	return err
}

func (c *cloud) close() error { return c.b.Close() }

func (c *cloud) list(ctx context.Context, prefix, after string) ([]ObjectInfo, error) {
	var out []ObjectInfo
	opts := &gcblob.ListOptions{Prefix: prefix}
	if after != "" {
		opts.BeforeList = func(as func(any) bool) error {
			var in *s3.ListObjectsV2Input
			if as(&in) {
				in.StartAfter = aws.String(after) // S3 starts the listing there
			}
			return nil
		}
	}
	it := c.b.List(opts)
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err // a missing bucket is an error here, not an empty list
		}
		if obj.IsDir || strings.HasSuffix(obj.Key, "/") || obj.Key <= after { // "folder" markers are not objects
			continue
		}
		out = append(out, ObjectInfo{Key: obj.Key, Size: obj.Size, ModTime: obj.ModTime})
	}
	slices.SortFunc(out, func(a, b ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

func (c *cloud) stat(ctx context.Context, key string) (ObjectInfo, error) {
	a, err := c.b.Attributes(ctx, key)
	if err != nil {
		return ObjectInfo{}, cloudErr(err)
	}
	return ObjectInfo{Key: key, Size: a.Size, ModTime: a.ModTime}, nil
}

func (c *cloud) readAll(ctx context.Context, key string) ([]byte, error) {
	data, err := c.b.ReadAll(ctx, key)
	return data, cloudErr(err)
}

func (c *cloud) readRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	r, err := c.b.NewRangeReader(ctx, key, off, n, nil)
	if err != nil {
		return nil, cloudErr(err)
	}
	defer r.Close()
	buf := make([]byte, n)
	m, err := io.ReadFull(r, buf)
	if err != nil {
		return nil, fmt.Errorf("range [%d, %d): read %d bytes: %w", off, off+n, m, err)
	}
	return buf, nil
}

func (c *cloud) put(ctx context.Context, key string, data []byte, ifAbsent bool) error {
	opts := &gcblob.WriterOptions{IfNotExist: ifAbsent}
	for attempt := 1; ; attempt++ {
		err := c.b.WriteAll(ctx, key, data, opts)
		if err == nil || !ifAbsent {
			return err
		}
		if gcerrors.Code(err) == gcerrors.FailedPrecondition { // HTTP 412 and equivalents
			return fmt.Errorf("%w (%v)", ErrExist, err)
		}
		// S3 answers 409 ConditionalRequestConflict when another conditional
		// write of the key is in flight; retrying then resolves to success
		// or 412.
		var ae interface{ ErrorCode() string }
		if !errors.As(err, &ae) || ae.ErrorCode() != "ConditionalRequestConflict" || attempt == 5 {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * 50 * time.Millisecond):
		}
	}
}

func (c *cloud) newWriter(ctx context.Context, key string) (io.WriteCloser, error) {
	return c.b.NewWriter(ctx, key, nil) // gocloud commits on Close, aborts on ctx cancel
}

func (c *cloud) delete(ctx context.Context, key string) error {
	return cloudErr(c.b.Delete(ctx, key))
}

func (c *cloud) openFile(ctx context.Context, key string) (File, error) {
	a, err := c.b.Attributes(ctx, key)
	if err != nil {
		return nil, cloudErr(err)
	}
	return &remoteFile{ctx: ctx, b: c.b, key: key, size: a.Size}, nil
}

// Read-ahead for remoteFile: a miss fetches at least readAhead bytes, and up
// to maxWindows such windows are kept (most recent first), so interleaved
// readers of a few column chunks each still hit their own window.
const (
	readAhead  = 1 << 20
	maxWindows = 4
)

// remoteFile implements File with ranged reads of a cloud object.
type remoteFile struct {
	ctx  context.Context
	b    *gcblob.Bucket
	key  string
	size int64

	mu      sync.Mutex
	pos     int64    // for Read and Seek
	windows []window // cached ranges, most recently used first
	fetches int      // ranged requests made (for tests)
}

type window struct {
	off  int64
	data []byte
}

func (f *remoteFile) Size() int64 { return f.size }

func (f *remoteFile) Close() error {
	f.mu.Lock()
	f.windows = nil
	f.mu.Unlock()
	return nil
}

// ReadAt follows the io.ReaderAt contract and is safe for concurrent use.
func (f *remoteFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("blob: ReadAt %q: negative offset", f.key)
	}
	if off >= f.size {
		return 0, io.EOF
	}
	want := p
	if rest := f.size - off; int64(len(want)) > rest {
		want = want[:rest]
	}
	if len(want) == 0 {
		return 0, nil
	}
	end := off + int64(len(want))

	f.mu.Lock()
	for i, w := range f.windows {
		if off >= w.off && end <= w.off+int64(len(w.data)) {
			copy(want, w.data[off-w.off:])
			copy(f.windows[1:i+1], f.windows[:i]) // move to front
			f.windows[0] = w
			f.mu.Unlock()
			return f.result(len(want), len(p))
		}
	}
	f.fetches++
	f.mu.Unlock()

	// Miss: fetch without holding the lock. Large reads go straight into p;
	// small ones fetch a readAhead-sized window, shifted back to end at EOF
	// so that Parquet's footer reads (last 8 bytes, then the footer just
	// before them) cost one request.
	if len(want) >= readAhead {
		if err := f.fetch(want, off); err != nil {
			return 0, err
		}
		return f.result(len(want), len(p))
	}
	wOff, wEnd := off, min(off+readAhead, f.size)
	if wEnd == f.size {
		wOff = max(0, wEnd-readAhead)
	}
	buf := make([]byte, wEnd-wOff)
	if err := f.fetch(buf, wOff); err != nil {
		return 0, err
	}
	copy(want, buf[off-wOff:])
	f.mu.Lock()
	f.windows = append([]window{{off: wOff, data: buf}}, f.windows...)
	if len(f.windows) > maxWindows {
		f.windows = f.windows[:maxWindows]
	}
	f.mu.Unlock()
	return f.result(len(want), len(p))
}

// result reports io.EOF when fewer than asked bytes were available.
func (f *remoteFile) result(n, asked int) (int, error) {
	if n < asked {
		return n, io.EOF
	}
	return n, nil
}

func (f *remoteFile) fetch(buf []byte, off int64) error {
	r, err := f.b.NewRangeReader(f.ctx, f.key, off, int64(len(buf)), nil)
	if err != nil {
		return fmt.Errorf("blob: read %q at %d: %w", f.key, off, cloudErr(err))
	}
	defer r.Close()
	if _, err := io.ReadFull(r, buf); err != nil {
		return fmt.Errorf("blob: read %q at %d: %w", f.key, off, err)
	}
	return nil
}

func (f *remoteFile) Read(p []byte) (int, error) {
	f.mu.Lock()
	pos := f.pos
	f.mu.Unlock()
	n, err := f.ReadAt(p, pos)
	f.mu.Lock()
	f.pos = pos + int64(n)
	f.mu.Unlock()
	if n > 0 && err == io.EOF {
		err = nil // io.Reader: report EOF on the next call
	}
	return n, err
}

func (f *remoteFile) Seek(offset int64, whence int) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.pos
	case io.SeekEnd:
		offset += f.size
	default:
		return 0, fmt.Errorf("blob: Seek %q: invalid whence %d", f.key, whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("blob: Seek %q: negative position", f.key)
	}
	f.pos = offset
	return offset, nil
}
