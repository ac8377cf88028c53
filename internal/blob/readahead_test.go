package blob

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// TestRemoteFileReadAhead checks that Parquet-style access patterns on a
// cloud bucket cost few ranged requests.
func TestRemoteFileReadAhead(t *testing.T) {
	ctx := context.Background()
	b, err := Open(ctx, "mem://readahead-test")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	data := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB
	size := int64(len(data))
	if err := b.Put(ctx, "f.parquet", data); err != nil {
		t.Fatal(err)
	}
	file, err := b.OpenFile(ctx, "f.parquet")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	f := file.(*remoteFile)
	read := func(off int64, n int) {
		t.Helper()
		buf := make([]byte, n)
		if m, err := f.ReadAt(buf, off); (err != nil && err != io.EOF) || !bytes.Equal(buf[:m], data[off:off+int64(m)]) {
			t.Fatalf("ReadAt(%d, %d) = %d, %v or wrong content", off, n, m, err)
		}
	}
	read(size-8, 8)           // footer length
	read(size-8-20000, 20000) // footer
	if f.fetches != 1 {
		t.Errorf("footer reads made %d requests, want 1", f.fetches)
	}
	for off := int64(0); off < 1<<20; off += 1000 { // 1 MiB in 1000-byte reads
		read(off, 1000)
	}
	if f.fetches > 3 {
		t.Errorf("1049 small sequential reads made %d requests in total, want <= 3", f.fetches)
	}
	before := f.fetches
	read(0, 2<<20) // large reads bypass the cache
	if f.fetches != before+1 {
		t.Errorf("large read made %d requests, want 1", f.fetches-before)
	}
}
