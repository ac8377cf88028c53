// Package blob is Lakeport's object-storage layer: one small API over local
// directories, in-process memory, S3, GCS and Azure Blob Storage.
//
// A Bucket is opened on a root location (see Open); every key is relative to
// that root. The invariants below hold on every backend, and the conformance
// suite in package blobtest checks them.
//
// # Keys
//
// Keys are "/"-separated, valid UTF-8, non-empty, with no leading or trailing
// "/", no empty, "." or ".." segments and no control characters. Any other
// byte is kept literally: spaces, "=", "%", "%20", ":", "#", "?", unicode and
// dot-files are all ordinary key characters (Delta/Spark partition
// directories such as "a=2021-01-01 00%3A00%3A00/" depend on this). Invalid
// keys are rejected with an error. File names beginning with ".lakeport-tmp-"
// are reserved for the local backend's temporary files.
//
// # Visibility and atomicity
//
// Put, PutIfAbsent and NewWriter never expose a partial object: readers see
// the old object (or none) until the write completes, then the whole new
// one. A NewWriter object appears only when Close returns nil; cancelling the
// writer's context before Close aborts it and nothing is written.
//
// PutIfAbsent is an atomic create: with many concurrent callers on one key,
// exactly one succeeds and the others get ErrExist. Locally this is link(2)
// of a fully written temp file; on S3 it is a conditional PUT with
// "If-None-Match: *" (a server that ignores that header, such as an old
// S3-compatible store, silently overwrites instead); on GCS and Azure it is
// the service's own does-not-exist precondition.
//
// # Listing
//
// List is flat and recursive: it returns every object whose key starts with
// the prefix (a plain string prefix, not a directory), sorted ascending by
// key in byte order. Directories, and S3 "folder" marker objects ending in
// "/", are not objects. A prefix that matches nothing, or a local root that
// does not exist yet, lists as empty, not as an error.
//
// # Errors
//
// Missing objects give errors matching ErrNotFound, failed PutIfAbsent gives
// ErrExist (test with errors.Is). Every error names the operation, the key
// and the bucket's Location.
//
// # Local directories
//
// Plain paths and file:// URLs are served with package os directly, not with
// gocloud's fileblob: a key is the file name on disk byte for byte, and no
// sidecar (.attrs) or other files are left next to the data (only a hidden
// temp file while a write is in progress, or after a crash), so a Delta
// table written here is exactly what Spark or delta-rs expect, and a table
// they wrote is read as is. Writes go to a temp file in the target directory
// and are renamed (Put, NewWriter) or hard-linked (PutIfAbsent) into place;
// parent directories are created as needed and temp files are removed on
// every error path. Because this is a real file system, a key cannot be both
// an object and a "directory" of other keys ("a" and "a/b").
//
// # Cloud backends
//
// mem://, s3://, gs:// and azblob:// go through gocloud.dev/blob.
// Credentials always come from the environment (AWS, Google and Azure
// default chains), never from the location, so Location never holds a
// secret. Keys always round-trip through this package, but gocloud
// hex-escapes some characters in the names it stores ("__0x25__" for "%"),
// which matters when other tools share the bucket:
//   - S3 and GCS: only control characters (invalid keys anyway) and text that
//     itself looks like an escape, "__0x<hex>__" (never produced by Spark or
//     Delta), are escaped; a foreign object named like that is listed
//     unescaped.
//   - Azure: also % # ? " and \, so an object another tool wrote with such
//     a name (e.g. Spark's "x=a%20b/") is not reachable by its literal key.
//
// OpenFile on a cloud bucket returns a File whose ReadAt issues ranged reads
// through a small cache of read-ahead windows (so the many tiny reads of a
// Parquet reader do not each cost a request); the context given to OpenFile
// governs all of them, and the object is assumed not to change meanwhile.
package blob
