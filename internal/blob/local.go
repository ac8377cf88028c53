package blob

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// local serves a directory with package os: key "a/b" is the file root/a/b,
// byte for byte, with nothing else written beside it.
type local struct {
	root string // absolute, cleaned
}

func newLocal(path string) (*local, error) {
	root, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	// The root may not exist yet (it is created by the first write), but if
	// it does it has to be a directory.
	if fi, err := os.Stat(root); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", root)
	}
	return &local{root: root}, nil
}

func (l *local) path(key string) string { return filepath.Join(l.root, filepath.FromSlash(key)) }

// notFound maps "no such file" conditions, including a directory or a file
// in place of a parent directory, to ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) {
		return fmt.Errorf("%w (%v)", ErrNotFound, err)
	}
	return err
}

func (l *local) close() error { return nil }

func (l *local) list(ctx context.Context, prefix, after string) ([]ObjectInfo, error) {
	// Start at the deepest directory the prefix fully names.
	dir := prefix[:strings.LastIndexByte(prefix, '/')+1]
	var out []ObjectInfo
	if err := l.walk(ctx, dir, prefix, after, &out); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// walk appends the objects under directory key dir ("" or ending in "/")
// whose keys start with prefix. Missing directories are simply empty.
// Symlinks to files are followed; symlinked directories are not descended.
func (l *local) walk(ctx context.Context, dir, prefix, after string, out *[]ObjectInfo) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ents, err := readDirUnsorted(l.path(dir))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil
		}
		return err
	}
	for _, e := range ents {
		key := dir + e.Name()
		if e.IsDir() {
			sub := key + "/"
			if sub < after && !strings.HasPrefix(after, sub) {
				continue // every key below sorts before after
			}
			if strings.HasPrefix(sub, prefix) || strings.HasPrefix(prefix, sub) {
				if err := l.walk(ctx, sub, prefix, after, out); err != nil {
					return err
				}
			}
			continue
		}
		if key <= after || !strings.HasPrefix(key, prefix) || strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		fi, err := os.Stat(l.path(key))
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed meanwhile, or a dangling symlink
		}
		if err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			*out = append(*out, ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()})
		}
	}
	return nil
}

// readDirUnsorted is os.ReadDir without the sort: list sorts only the
// entries it keeps, so a listing after a key (a Delta log from its last
// checkpoint on) does not pay for sorting the whole directory.
func readDirUnsorted(path string) ([]os.DirEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

func (l *local) stat(_ context.Context, key string) (ObjectInfo, error) {
	fi, err := os.Stat(l.path(key))
	if err != nil {
		return ObjectInfo{}, notFound(err)
	}
	if !fi.Mode().IsRegular() {
		return ObjectInfo{}, fmt.Errorf("%w (not a regular file)", ErrNotFound)
	}
	return ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

func (l *local) readAll(_ context.Context, key string) ([]byte, error) {
	data, err := os.ReadFile(l.path(key))
	return data, notFound(err)
}

func (l *local) readRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	f, err := l.openFile(ctx, key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, n)
	m, err := f.ReadAt(buf, off)
	if m == len(buf) {
		return buf, nil
	}
	return nil, fmt.Errorf("range [%d, %d) of %d-byte object: %w", off, off+n, f.Size(), err)
}

// osFile is the local File: the *os.File itself plus its size.
type osFile struct {
	*os.File
	size int64
}

func (f *osFile) Size() int64 { return f.size }

func (l *local) openFile(_ context.Context, key string) (File, error) {
	f, err := os.Open(l.path(key))
	if err != nil {
		return nil, notFound(err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%w (not a regular file)", ErrNotFound)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &osFile{File: f, size: fi.Size()}, nil
}

// createTemp makes a temp file next to key's final path, creating parent
// directories as needed. The temp name is hidden from List and reserved.
func (l *local) createTemp(ctx context.Context, key string) (f *os.File, final string, err error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	final = l.path(key)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return nil, "", err
	}
	f, err = os.CreateTemp(filepath.Dir(final), tempPrefix+"*")
	return f, final, err
}

// commit finishes the temp file f: unless werr (the error from writing it)
// is set, it is synced and moved into place — renamed over final, or for
// ifAbsent hard-linked to final, which fails atomically if final exists.
// The temp file is gone afterwards in every case.
func commit(f *os.File, final string, ifAbsent bool, werr error) error {
	tmp := f.Name()
	err := werr
	if err == nil {
		err = f.Chmod(0o644) // CreateTemp uses 0600; data files are world-readable as usual
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && !ifAbsent {
		if err = os.Rename(tmp, final); err == nil {
			return nil
		}
	}
	if err == nil && ifAbsent {
		if err = os.Link(tmp, final); errors.Is(err, fs.ErrExist) {
			err = ErrExist
		}
	}
	// Best effort: once linked, the object exists whatever happens here
	// (reporting a failure would make the caller think it lost the race),
	// and a leftover temp file is hidden from List.
	os.Remove(tmp)
	return err
}

func (l *local) put(ctx context.Context, key string, data []byte, ifAbsent bool) error {
	f, final, err := l.createTemp(ctx, key)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	return commit(f, final, ifAbsent, err)
}

func (l *local) newWriter(ctx context.Context, key string) (io.WriteCloser, error) {
	f, final, err := l.createTemp(ctx, key)
	if err != nil {
		return nil, err
	}
	return &localWriter{ctx: ctx, f: f, buf: bufio.NewWriterSize(f, 256<<10), final: final}, nil
}

type localWriter struct {
	ctx    context.Context
	f      *os.File
	buf    *bufio.Writer
	final  string
	err    error // first write error; makes Close discard the temp file
	closed bool
}

func (w *localWriter) Write(p []byte) (int, error) {
	if w.closed {
		return 0, errors.New("write after close")
	}
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.buf.Write(p)
	w.err = err
	return n, err
}

func (w *localWriter) Close() error {
	if w.closed {
		return errors.New("already closed")
	}
	w.closed = true
	err := w.err
	if err == nil {
		err = w.buf.Flush()
	}
	if err == nil {
		err = w.ctx.Err() // a cancelled context aborts the write
	}
	return commit(w.f, w.final, false, err)
}

func (l *local) delete(_ context.Context, key string) error {
	p := l.path(key)
	fi, err := os.Lstat(p)
	if err != nil {
		return notFound(err)
	}
	if fi.IsDir() { // never remove a directory: it is not an object
		return fmt.Errorf("%w (is a directory)", ErrNotFound)
	}
	return notFound(os.Remove(p))
}
