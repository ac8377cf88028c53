// Package blobtest is the conformance suite for blob.Bucket backends. Every
// backend must pass Run; other packages may use it for their own buckets.
package blobtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/blob"
)

// SpecialKeys are keys whose characters must survive unchanged on every
// backend (Spark/Delta write names like these).
var SpecialKeys = []string{
	"part=a%20b/part-00000.parquet",
	"a=2021-01-01 00%3A00%3A00/f.parquet",
	"with space.txt",
	"pct%literal%2F%",
	"colon:x",
	"hash#frag",
	"question?mark",
	"amp&plus+eq=semi;comma,",
	"quote'dq\"bracket[1]{2}",
	"tilde~bang!at@dollar$",
	"back\\slash",
	"ünïcödé/日本語/emoji-🙂.txt",
	".dotfile",
	"dir/.hidden",
	"x.attrs",
	"lit__0x41__",
	"_delta_log/.00000000000000000000.json.crc",
}

// Run runs the suite. open must return a new, empty bucket on each call.
func Run(t *testing.T, open func(t *testing.T) *blob.Bucket) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b *blob.Bucket)
	}{
		{"PutReadStatDelete", testPutReadStatDelete},
		{"NotFound", testNotFound},
		{"PutIfAbsent", testPutIfAbsent},
		{"PutIfAbsentRace", testPutIfAbsentRace},
		{"List", testList},
		{"ListAfter", testListAfter},
		{"SpecialKeys", testSpecialKeys},
		{"InvalidKeys", testInvalidKeys},
		{"ReadRange", testReadRange},
		{"OpenFile", testOpenFile},
		{"NewWriter", testNewWriter},
		{"NewWriterAbort", testNewWriterAbort},
		{"AtomicOverwrite", testAtomicOverwrite},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := open(t)
			t.Cleanup(func() { b.Close() })
			tc.fn(t, b)
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

func mustPut(t *testing.T, b *blob.Bucket, key string, data []byte) {
	t.Helper()
	if err := b.Put(ctx(t), key, data); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func mustRead(t *testing.T, b *blob.Bucket, key string, want []byte) {
	t.Helper()
	got, err := b.ReadAll(ctx(t), key)
	if err != nil {
		t.Fatalf("ReadAll(%q): %v", key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("ReadAll(%q) = %d bytes %.40q, want %d bytes %.40q", key, len(got), got, len(want), want)
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want errors.Is(err, %v)", what, err, target)
	}
}

func keys(objs []blob.ObjectInfo) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.Key
	}
	return out
}

func testPutReadStatDelete(t *testing.T, b *blob.Bucket) {
	c := ctx(t)
	key := "dir/sub/obj.bin"
	before := time.Now().Add(-time.Hour) // generous: server clocks differ
	mustPut(t, b, key, []byte("hello"))
	mustRead(t, b, key, []byte("hello"))
	info, err := b.Stat(c, key)
	if err != nil {
		t.Fatal(err)
	}
	if info.Key != key || info.Size != 5 || info.ModTime.Before(before) {
		t.Fatalf("Stat = %+v", info)
	}

	mustPut(t, b, key, []byte("replaced content")) // overwrite
	mustRead(t, b, key, []byte("replaced content"))
	if info, _ := b.Stat(c, key); info.Size != 16 {
		t.Fatalf("Stat after overwrite: size %d", info.Size)
	}

	mustPut(t, b, "empty", nil)
	mustRead(t, b, "empty", []byte{})
	if info, err := b.Stat(c, "empty"); err != nil || info.Size != 0 {
		t.Fatalf("Stat(empty) = %+v, %v", info, err)
	}

	if err := b.Delete(c, key); err != nil {
		t.Fatal(err)
	}
	_, err = b.Stat(c, key)
	wantErr(t, "Stat after Delete", err, blob.ErrNotFound)
	wantErr(t, "Delete twice", b.Delete(c, key), blob.ErrNotFound)
	objs, err := b.List(c, "")
	if err != nil || !slices.Equal(keys(objs), []string{"empty"}) {
		t.Fatalf("List after Delete = %v, %v", keys(objs), err)
	}
}

func testNotFound(t *testing.T, b *blob.Bucket) {
	c := ctx(t)
	mustPut(t, b, "dir/present", []byte("x"))
	for _, key := range []string{"missing", "dir/missing", "dir", "dir/present/below"} {
		_, err := b.Stat(c, key)
		wantErr(t, "Stat "+key, err, blob.ErrNotFound)
		if !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), b.Location()) {
			t.Errorf("error %q does not name key %q and location %q", err, key, b.Location())
		}
		_, err = b.ReadAll(c, key)
		wantErr(t, "ReadAll "+key, err, blob.ErrNotFound)
		_, err = b.ReadRange(c, key, 0, 1)
		wantErr(t, "ReadRange "+key, err, blob.ErrNotFound)
		_, err = b.OpenFile(c, key)
		wantErr(t, "OpenFile "+key, err, blob.ErrNotFound)
		wantErr(t, "Delete "+key, b.Delete(c, key), blob.ErrNotFound)
	}
	objs, err := b.List(c, "nothing/here/")
	if err != nil || len(objs) != 0 {
		t.Fatalf("List(missing prefix) = %v, %v; want empty, nil", objs, err)
	}
}

func testPutIfAbsent(t *testing.T, b *blob.Bucket) {
	c := ctx(t)
	key := "_delta_log/00000000000000000000.json"
	if err := b.PutIfAbsent(c, key, []byte("first")); err != nil {
		t.Fatal(err)
	}
	err := b.PutIfAbsent(c, key, []byte("second"))
	wantErr(t, "second PutIfAbsent", err, blob.ErrExist)
	if !strings.Contains(err.Error(), key) {
		t.Errorf("error %q does not name the key", err)
	}
	mustRead(t, b, key, []byte("first"))
	// Put still overwrites, and PutIfAbsent works again after Delete.
	mustPut(t, b, key, []byte("third"))
	mustRead(t, b, key, []byte("third"))
	if err := b.Delete(c, key); err != nil {
		t.Fatal(err)
	}
	if err := b.PutIfAbsent(c, key, []byte("fourth")); err != nil {
		t.Fatal(err)
	}
	mustRead(t, b, key, []byte("fourth"))
	objs, _ := b.List(c, "")
	if !slices.Equal(keys(objs), []string{key}) {
		t.Fatalf("List = %v, want only %q (no leftovers)", keys(objs), key)
	}
}

func testPutIfAbsentRace(t *testing.T, b *blob.Bucket) {
	const racers, rounds = 16, 3
	c := ctx(t)
	for round := range rounds {
		key := fmt.Sprintf("_delta_log/%020d.json", round)
		var (
			start   = make(chan struct{})
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []int
		)
		payload := func(i int) []byte {
			return []byte(strings.Repeat(fmt.Sprintf("round %d racer %d\n", round, i), 100+i))
		}
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				err := b.PutIfAbsent(c, key, payload(i))
				switch {
				case err == nil:
					mu.Lock()
					winners = append(winners, i)
					mu.Unlock()
				case !errors.Is(err, blob.ErrExist):
					t.Errorf("racer %d: %v (want nil or ErrExist)", i, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("round %d: %d winners %v, want exactly 1", round, len(winners), winners)
		}
		mustRead(t, b, key, payload(winners[0]))
	}
	objs, err := b.List(c, "")
	if err != nil || len(objs) != rounds {
		t.Fatalf("List = %v, %v; want %d objects", keys(objs), err, rounds)
	}
}

func testList(t *testing.T, b *blob.Bucket) {
	c := ctx(t)
	all := []string{
		"_delta_log/00000000000000000009.json",
		"_delta_log/00000000000000000010.checkpoint.parquet",
		"_delta_log/00000000000000000010.json",
		"_delta_log/_last_checkpoint",
		"a.b",
		"a/b",
		"a/c/d/e",
		"a0",
		"ab/x",
		"b.c",
		"b-c/d",
		"b/c",
		"part=1/f",
		"part=10/f",
		"part=2/f",
	}
	slices.Sort(all) // byte order: "a.b" < "a/b" < "a0", "b-c/d" < "b.c" < "b/c"
	shuffled := slices.Clone(all)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for i, k := range shuffled {
		mustPut(t, b, k, bytes.Repeat([]byte{'x'}, i))
	}
	size := map[string]int64{}
	for i, k := range shuffled {
		size[k] = int64(i)
	}
	for _, prefix := range []string{"", "a", "a/", "a/c", "a/c/d/e", "a/c/d/e/", "_delta_log/", "_delta_log/0000",
		"_delta_log/00000000000000000010", "b", "b/", "part=1", "part=1/", "zzz", "no/such/dir/", "a0/"} {
		var want []string
		for _, k := range all {
			if strings.HasPrefix(k, prefix) {
				want = append(want, k)
			}
		}
		objs, err := b.List(c, prefix)
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		if got := keys(objs); !slices.Equal(got, want) {
			t.Errorf("List(%q) =\n  %q\nwant\n  %q", prefix, got, want)
		}
		for _, o := range objs {
			if o.Size != size[o.Key] || o.ModTime.IsZero() {
				t.Errorf("List(%q): %+v, want size %d and a ModTime", prefix, o, size[o.Key])
			}
		}
	}
}

func testSpecialKeys(t *testing.T, b *blob.Bucket) {
	c := ctx(t)
	for _, k := range SpecialKeys {
		mustPut(t, b, k, []byte("content of "+k))
	}
	for _, k := range SpecialKeys {
		mustRead(t, b, k, []byte("content of "+k))
		info, err := b.Stat(c, k)
		if err != nil || info.Key != k || info.Size != int64(len("content of "+k)) {
			t.Errorf("Stat(%q) = %+v, %v", k, info, err)
		}
		got, err := b.ReadRange(c, k, 0, 7)
		if err != nil || string(got) != "content" {
			t.Errorf("ReadRange(%q) = %q, %v", k, got, err)
		}
		f, err := b.OpenFile(c, k)
		if err != nil {
			t.Fatalf("OpenFile(%q): %v", k, err)
		}
		if data, err := io.ReadAll(f); err != nil || string(data) != "content of "+k {
			t.Errorf("OpenFile(%q) read %q, %v", k, data, err)
		}
		f.Close()
	}
	want := slices.Clone(SpecialKeys)
	slices.Sort(want)
	objs, err := b.List(c, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(objs); !slices.Equal(got, want) {
		t.Fatalf("List =\n  %q\nwant\n  %q", got, want)
	}
	objs, err = b.List(c, "part=a%20b/")
	if err != nil || !slices.Equal(keys(objs), []string{"part=a%20b/part-00000.parquet"}) {
		t.Fatalf("List(part=a%%20b/) = %q, %v", keys(objs), err)
	}
	for _, k := range SpecialKeys {
		if err := b.Delete(c, k); err != nil {
			t.Errorf("Delete(%q): %v", k, err)
		}
	}
	if objs, err := b.List(c, ""); err != nil || len(objs) != 0 {
		t.Fatalf("List after deleting all = %q, %v", keys(objs), err)
	}
}

func testInvalidKeys(t *testing.T, b *blob.Bucket) {
	c := ctx(t)
	for _, k := range []string{"", "/abs", "trailing/", "a//b", "../up", "a/../b", "a/./b", ".", "nul\x00", "nl\n", "bad\xffutf8", "dir/.lakeport-tmp-x"} {
		if err := b.Put(c, k, []byte("x")); err == nil {
			t.Errorf("Put(%q) succeeded, want an invalid-key error", k)
		}
		if _, err := b.Stat(c, k); err == nil || errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Stat(%q) = %v, want an invalid-key error", k, err)
		}
	}
	for _, p := range []string{"/abs", "a//", "../", "x\x00"} {
		if _, err := b.List(c, p); err == nil {
			t.Errorf("List(%q) succeeded, want an invalid-prefix error", p)
		}
	}
	if objs, err := b.List(c, ""); err != nil || len(objs) != 0 {
		t.Fatalf("List = %q, %v; want nothing written", keys(objs), err)
	}
}

func testReadRange(t *testing.T, b *blob.Bucket) {
	c := ctx(t)
	r := rand.New(rand.NewPCG(1, 2))
	data := randBytes(r, 100_003)
	mustPut(t, b, "data.bin", data)
	check := func(off, n int64) {
		t.Helper()
		got, err := b.ReadRange(c, "data.bin", off, n)
		if err != nil {
			t.Fatalf("ReadRange(%d, %d): %v", off, n, err)
		}
		if !bytes.Equal(got, data[off:off+n]) {
			t.Fatalf("ReadRange(%d, %d): wrong content", off, n)
		}
	}
	check(0, int64(len(data)))
	check(0, 1)
	check(int64(len(data))-1, 1)
	check(int64(len(data))-8, 8)
	check(12345, 0)
	for range 30 {
		off := r.Int64N(int64(len(data)))
		check(off, r.Int64N(int64(len(data))-off+1))
	}
	for _, bad := range [][2]int64{{-1, 1}, {0, -1}, {int64(len(data)) - 3, 4}, {int64(len(data)) + 10, 1}} {
		if got, err := b.ReadRange(c, "data.bin", bad[0], bad[1]); err == nil {
			t.Errorf("ReadRange(%d, %d) = %d bytes, want an error", bad[0], bad[1], len(got))
		}
	}
}

func testOpenFile(t *testing.T, b *blob.Bucket) {
	c := ctx(t)
	r := rand.New(rand.NewPCG(3, 4))
	data := randBytes(r, 2_500_007) // several read-ahead windows
	size := int64(len(data))
	mustPut(t, b, "big.parquet", data)
	f, err := b.OpenFile(c, "big.parquet")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Size() != size {
		t.Fatalf("Size = %d, want %d", f.Size(), size)
	}
	readAt := func(off int64, n int) {
		t.Helper()
		buf := make([]byte, n)
		m, err := f.ReadAt(buf, off)
		want := data[min(off, size):min(off+int64(n), size)]
		if m != len(want) || !bytes.Equal(buf[:m], want) {
			t.Fatalf("ReadAt(off %d, n %d) = %d bytes (%v), want %d bytes", off, n, m, err, len(want))
		}
		if (m < n) != (err == io.EOF) || (err != nil && err != io.EOF) {
			t.Fatalf("ReadAt(off %d, n %d) = %d, %v: want io.EOF exactly when short", off, n, m, err)
		}
	}
	// Parquet-style: footer length, footer, then many small sequential reads.
	readAt(size-8, 8)
	readAt(size-8-5000, 5000)
	for off := int64(1000); off < 300_000; off += 4096 {
		readAt(off, 4096)
	}
	for range 200 {
		off := r.Int64N(size)
		readAt(off, int(r.Int64N(min(size-off, 3<<20)+1)))
	}
	readAt(0, int(size))
	readAt(size-10, 100) // short: io.EOF
	readAt(size, 10)     // at end: 0, io.EOF
	readAt(size+5, 1)

	// Concurrent ReadAt.
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rr := rand.New(rand.NewPCG(uint64(g), 99))
			for range 50 {
				off := rr.Int64N(size)
				n := int(rr.Int64N(min(size-off, 200_000)) + 1)
				buf := make([]byte, n)
				if m, err := f.ReadAt(buf, off); m != n || (err != nil && err != io.EOF) || !bytes.Equal(buf, data[off:off+int64(n)]) {
					t.Errorf("concurrent ReadAt(%d, %d) = %d, %v or wrong content", off, n, m, err)
					return
				}
			}
		}()
	}
	wg.Wait()

	// Seek and Read.
	if pos, err := f.Seek(-100, io.SeekEnd); err != nil || pos != size-100 {
		t.Fatalf("Seek(-100, End) = %d, %v", pos, err)
	}
	if tail, err := io.ReadAll(f); err != nil || !bytes.Equal(tail, data[size-100:]) {
		t.Fatalf("ReadAll after Seek: %d bytes, %v", len(tail), err)
	}
	if n, err := f.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("Read at end = %d, %v; want 0, io.EOF", n, err)
	}
	if pos, err := f.Seek(1000, io.SeekStart); err != nil || pos != 1000 {
		t.Fatalf("Seek(1000, Start) = %d, %v", pos, err)
	}
	if pos, err := f.Seek(24, io.SeekCurrent); err != nil || pos != 1024 {
		t.Fatalf("Seek(24, Current) = %d, %v", pos, err)
	}
	buf := make([]byte, 10)
	if _, err := io.ReadFull(f, buf); err != nil || !bytes.Equal(buf, data[1024:1034]) {
		t.Fatalf("Read after Seek: %v", err)
	}
	if _, err := f.Seek(-1, io.SeekStart); err == nil {
		t.Fatal("Seek to a negative position succeeded")
	}
	all, err := io.ReadAll(io.NewSectionReader(f, 0, size))
	if err != nil || !bytes.Equal(all, data) {
		t.Fatalf("SectionReader read %d bytes, %v", len(all), err)
	}
}

func testNewWriter(t *testing.T, b *blob.Bucket) {
	c := ctx(t)
	r := rand.New(rand.NewPCG(5, 6))
	data := randBytes(r, 1_000_000)
	check := func(key string, old []byte) {
		w, err := b.NewWriter(c, key)
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < len(data); {
			n := min(len(data)-off, 1+int(r.IntN(70_000)))
			if _, err := w.Write(data[off : off+n]); err != nil {
				t.Fatal(err)
			}
			off += n
			// Not visible (or still the old object) before Close.
			if got, err := b.ReadAll(c, key); old == nil && !errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("before Close: ReadAll = %d bytes, %v; want ErrNotFound", len(got), err)
			} else if old != nil && !bytes.Equal(got, old) {
				t.Fatalf("before Close: ReadAll = %d bytes, %v; want the old object", len(got), err)
			}
			if objs, _ := b.List(c, ""); old == nil && slices.Contains(keys(objs), key) {
				t.Fatalf("before Close: List shows %q", key)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		mustRead(t, b, key, data)
	}
	check("out/part-00000.parquet", nil)
	mustPut(t, b, "out/existing", []byte("old"))
	check("out/existing", []byte("old"))
	objs, err := b.List(c, "")
	if err != nil || !slices.Equal(keys(objs), []string{"out/existing", "out/part-00000.parquet"}) {
		t.Fatalf("List = %q, %v", keys(objs), err)
	}
	// An empty stream makes an empty object.
	w, err := b.NewWriter(c, "out/empty")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	mustRead(t, b, "out/empty", []byte{})
}

func testNewWriterAbort(t *testing.T, b *blob.Bucket) {
	wctx, cancel := context.WithCancel(ctx(t))
	w, err := b.NewWriter(wctx, "aborted/obj")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("partial data")); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := w.Close(); err == nil {
		t.Fatal("Close after cancel succeeded, want an error")
	}
	_, err = b.Stat(ctx(t), "aborted/obj")
	wantErr(t, "Stat after aborted write", err, blob.ErrNotFound)
	if objs, err := b.List(ctx(t), ""); err != nil || len(objs) != 0 {
		t.Fatalf("List after abort = %q, %v; want empty", keys(objs), err)
	}
}

// testAtomicOverwrite checks readers never see a partial or mixed object
// while it is being replaced.
func testAtomicOverwrite(t *testing.T, b *blob.Bucket) {
	c := ctx(t)
	const size = 1 << 20
	versions := [][]byte{bytes.Repeat([]byte{'a'}, size), bytes.Repeat([]byte{'b'}, size)}
	mustPut(t, b, "hot", versions[0])
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; i <= 10; i++ {
			if i%2 == 0 {
				w, err := b.NewWriter(c, "hot")
				if err == nil {
					w.Write(versions[i%2][:size/2])
					w.Write(versions[i%2][size/2:])
					err = w.Close()
				}
				if err != nil {
					t.Error(err)
				}
			} else if err := b.Put(c, "hot", versions[i%2]); err != nil {
				t.Error(err)
			}
		}
		close(done)
	}()
	var failure error
	for reads := 0; failure == nil; reads++ {
		select {
		case <-done:
			return
		default:
		}
		got, err := b.ReadAll(c, "hot")
		if err != nil {
			failure = fmt.Errorf("read %d: %w", reads, err)
		} else if len(got) != size || bytes.Count(got, got[:1]) != size {
			failure = fmt.Errorf("read %d saw a partial or mixed object (%d bytes)", reads, len(got))
		}
	}
	wg.Wait()
	t.Fatal(failure)
}

func testListAfter(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	keys := []string{
		"_delta_log/00000000000000000009.json",
		"_delta_log/00000000000000000010.checkpoint.parquet",
		"_delta_log/00000000000000000010.json",
		"_delta_log/00000000000000000011.json",
		"_delta_log/_sidecars/a.parquet",
		"_delta_log/0000/x.json",
		"data/part-0.parquet",
	}
	for _, k := range keys {
		if err := b.Put(ctx, k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := b.ListAfter(ctx, "_delta_log/", "_delta_log/00000000000000000010")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range got {
		names = append(names, o.Key)
	}
	want := []string{
		"_delta_log/00000000000000000010.checkpoint.parquet",
		"_delta_log/00000000000000000010.json",
		"_delta_log/00000000000000000011.json",
		"_delta_log/_sidecars/a.parquet",
	}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("ListAfter = %v\nwant %v", names, want)
	}
	all, err := b.ListAfter(ctx, "", "")
	if err != nil || len(all) != len(keys) {
		t.Errorf("ListAfter with no bound: %d objects, %v; want %d", len(all), err, len(keys))
	}
}
