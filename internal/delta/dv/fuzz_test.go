package dv_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakeport/lakeport/internal/delta/deltatest/corpus"
	"github.com/lakeport/lakeport/internal/delta/dv"
)

// seedFiles returns the real DV files of the corpus (empty when the corpus
// is absent: fuzzing then starts from the synthetic seeds only).
func seedFiles(tb testing.TB) [][]byte {
	corpusDir, err := corpus.Locate()
	if err != nil {
		tb.Logf("fuzz seeds: corpus not found (%v); using synthetic seeds only", err)
		return nil
	}
	var files [][]byte
	seen := map[string]bool{}
	_ = filepath.WalkDir(corpusDir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(p, ".bin") || strings.HasPrefix(e.Name(), ".") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err == nil && len(b) < 1<<20 && !seen[string(b)] {
			seen[string(b)] = true
			files = append(files, b)
		}
		return nil
	})
	return files
}

// framedBitmaps extracts the serialized bitmaps of a DV file (version byte,
// then size/bitmap/CRC frames).
func framedBitmaps(file []byte) [][]byte {
	var out [][]byte
	for off := 1; off+4 <= len(file); {
		n := int(binary.BigEndian.Uint32(file[off:]))
		if n < 0 || off+4+n+4 > len(file) {
			break
		}
		out = append(out, file[off+4:off+4+n])
		off += 4 + n + 4
	}
	return out
}

func syntheticBitmaps() [][]byte {
	var big []uint64
	for i := uint64(0); i < 9000; i += 2 {
		big = append(big, i)
	}
	return [][]byte{
		dv.Encode(nil),
		dv.Encode(dv.NewBitmap(0, 9)),
		dv.Encode(dv.NewBitmap(3, 4, 7, 11, 18, 29, 1<<32, 7<<32|65535)),
		dv.Encode(dv.NewBitmap(big...)),
	}
}

func FuzzDecode(f *testing.F) {
	for _, b := range syntheticBitmaps() {
		f.Add(b)
	}
	for _, file := range seedFiles(f) {
		for _, b := range framedBitmaps(file) {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		bm, err := dv.Decode(data)
		if err != nil {
			if !errors.Is(err, dv.ErrCorrupt) {
				t.Fatalf("error does not wrap ErrCorrupt: %v", err)
			}
			return
		}
		if hi, ok := bm.Max(); ok && hi > dv.MaxRowIndex {
			t.Fatalf("decoded row %d beyond MaxRowIndex", hi)
		}
		// Anything accepted must survive a round trip unchanged.
		back, err := dv.Decode(dv.Encode(bm))
		if err != nil {
			t.Fatalf("re-decoding our own encoding: %v", err)
		}
		if !back.Equal(bm) || back.Cardinality() != bm.Cardinality() {
			t.Fatalf("round trip changed the bitmap")
		}
	})
}

func FuzzZ85(f *testing.F) {
	f.Add("HelloWorld", []byte{0x86, 0x4F})
	f.Add("^Bg9^0rr910000000000iXQKl0rr91000005c8Xg##093", []byte{})
	f.Add("vBn[lx{q8@P<9BNH/isA", []byte{1, 2, 3, 4, 5})
	f.Add("#####", []byte{0})
	f.Add("%nSc0", []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF})
	for _, file := range seedFiles(f) {
		if len(file) >= 5 {
			f.Add(dv.Z85Encode(file), file[:5])
		}
	}
	f.Fuzz(func(t *testing.T, s string, b []byte) {
		if dec, err := dv.Z85Decode(s); err == nil {
			if len(dec) > len(s) {
				t.Fatalf("decoded %d bytes from %d characters", len(dec), len(s))
			}
			// A standard encoding (no padded tail) re-encodes identically.
			if len(dec)%4 == 0 {
				if enc := dv.Z85Encode(dec); enc != s {
					t.Fatalf("Z85Encode(Z85Decode(%q)) = %q", s, enc)
				}
			}
		}
		enc := dv.Z85Encode(b)
		if len(enc) != (len(b)+3)/4*5 {
			t.Fatalf("Z85Encode(%d bytes) has length %d", len(b), len(enc))
		}
		dec, err := dv.Z85Decode(enc)
		if err != nil {
			t.Fatalf("Z85Decode(Z85Encode(%x)): %v", b, err)
		}
		if !bytes.Equal(dec[:len(b)], b) || strings.Trim(string(dec[len(b):]), "\x00") != "" {
			t.Fatalf("round trip %x -> %q -> %x", b, enc, dec)
		}
	})
}

func FuzzLoad(f *testing.F) {
	for _, file := range seedFiles(f) {
		for i, b := range framedBitmaps(file) {
			card := int64(-1)
			if bm, err := dv.Decode(b); err == nil {
				card = int64(bm.Cardinality())
			}
			off := int32(1)
			for _, prev := range framedBitmaps(file)[:i] {
				off += int32(len(prev)) + 8
			}
			f.Add(file, "u", "vBn[lx{q8@P<9BNH/isA", true, off, int32(len(b)), card, int64(-1))
			f.Add(file, "p", "s3://b/t/dv.bin", i == 0, off, int32(len(b)), card, int64(1<<40))
			f.Add([]byte{}, "i", dv.Z85Encode(b), false, int32(0), int32(len(b)), card, int64(-1))
		}
	}
	for _, b := range syntheticBitmaps() {
		bm, _ := dv.Decode(b)
		f.Add([]byte{}, "i", dv.Z85Encode(b), false, int32(0), int32(len(b)), int64(bm.Cardinality()), int64(-1))
	}
	f.Add([]byte{1, 0, 0, 0, 34}, "u", "ab^-aqEH.-t@S}K{vb[*k^", true, int32(1), int32(34), int64(1), int64(5))
	f.Add([]byte{}, "x", "", false, int32(0), int32(0), int64(0), int64(-1))

	f.Fuzz(func(t *testing.T, file []byte, storageType, pathOrInline string, hasOffset bool, offset, size int32, card, maxRow int64) {
		d := dv.Descriptor{StorageType: storageType, PathOrInlineDv: pathOrInline, SizeInBytes: size, Cardinality: card}
		if hasOffset {
			d.Offset = &offset
		}
		if maxRow >= 0 {
			d.MaxRowIndex = &maxRow
		}
		read := func(_ context.Context, _ string, _ bool, off, n int64) ([]byte, error) {
			if off < 0 || n < 0 || off > int64(len(file)) || n > int64(len(file))-off {
				return nil, errors.New("range beyond end of file")
			}
			return file[off : off+n], nil
		}
		bm, err := dv.Load(context.Background(), d, read)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if bm.Cardinality() != uint64(card) {
			t.Fatalf("Load accepted cardinality %d for a bitmap of %d rows", card, bm.Cardinality())
		}
		_ = d.UniqueID()
	})
}
