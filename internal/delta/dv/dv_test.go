package dv

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestZ85KnownVectors(t *testing.T) {
	// From the Z85 specification (rfc.zeromq.org/spec/32).
	raw := []byte{0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B}
	if got := Z85Encode(raw); got != "HelloWorld" {
		t.Fatalf("Z85Encode = %q, want HelloWorld", got)
	}
	dec, err := Z85Decode("HelloWorld")
	if err != nil || !bytes.Equal(dec, raw) {
		t.Fatalf("Z85Decode(HelloWorld) = %x, %v", dec, err)
	}
	if got := Z85Encode(nil); got != "" {
		t.Fatalf("Z85Encode(nil) = %q", got)
	}
	// Padding: 5 bytes encode as 2 groups, the second zero-padded.
	if got, _ := Z85Decode(Z85Encode([]byte{1, 2, 3, 4, 5})); !bytes.Equal(got, []byte{1, 2, 3, 4, 5, 0, 0, 0}) {
		t.Fatalf("padded round trip = %x", got)
	}
	// The Rust z85 crate's padded tail (written by delta-kernel-rs): "##093"
	// is the two bytes 03 00.
	if got, err := Z85Decode("HelloWorld##093"); err != nil || !bytes.Equal(got, append(slices.Clone(raw), 3, 0)) {
		t.Fatalf("padded tail = %x, %v", got, err)
	}
	if got, err := Z85Decode("#0000"); err != nil || !bytes.Equal(got, []byte{0, 0, 0}) {
		t.Fatalf("one-byte padded tail = %x, %v", got, err)
	}
	for _, bad := range []string{"abcd", "abcd\"", "abc de", "#####", "%nSc1", "##093Hello", "###5a", "#%nSc"} {
		if _, err := Z85Decode(bad); err == nil {
			t.Errorf("Z85Decode(%q) succeeded", bad)
		}
	}
	if _, err := Z85Decode("%nSc0"); err != nil { // 0xFFFFFFFF
		t.Errorf("Z85Decode(max group): %v", err)
	}
}

func TestLocation(t *testing.T) {
	cases := []struct {
		d    Descriptor
		path string
		abs  bool
	}{
		// Protocol JSON example 1.
		{Descriptor{StorageType: "u", PathOrInlineDv: "ab^-aqEH.-t@S}K{vb[*k^", Offset: ptr[int32](4), SizeInBytes: 40, Cardinality: 6},
			"ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin", false},
		// delta-kernel-rs test vectors.
		{Descriptor{StorageType: "u", PathOrInlineDv: "dvrsTVZ&*Sl-RXRWjryu/!"},
			"dv/deletion_vector_550e8400-e29b-41d4-a716-446655440000.bin", false},
		{Descriptor{StorageType: "u", PathOrInlineDv: "5<w-%>:JjlQ/G/]6C<1m"},
			"deletion_vector_123e4567-e89b-12d3-a456-426614174000.bin", false},
		{Descriptor{StorageType: "u", PathOrInlineDv: "vBn[lx{q8@P<9BNH/isA", Offset: ptr[int32](1), SizeInBytes: 36, Cardinality: 2},
			"deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin", false},
		// Protocol JSON example 2.
		{Descriptor{StorageType: "p", PathOrInlineDv: "s3://mytable/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin", Offset: ptr[int32](4)},
			"s3://mytable/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin", true},
	}
	for _, c := range cases {
		p, abs, err := c.d.Location()
		if err != nil || p != c.path || abs != c.abs {
			t.Errorf("%+v.Location() = %q, %v, %v; want %q, %v", c.d, p, abs, err, c.path, c.abs)
		}
	}
	for _, d := range []Descriptor{
		{StorageType: "i", PathOrInlineDv: "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L"},
		{StorageType: "r", PathOrInlineDv: "some/relative.bin"},
		{StorageType: "", PathOrInlineDv: "x"},
		{StorageType: "u", PathOrInlineDv: "tooShort"},
		{StorageType: "u", PathOrInlineDv: "ab^-aqEH.-t@S}K{vb[*k\""},      // invalid z85 char
		{StorageType: "u", PathOrInlineDv: "../" + "5<w-%>:JjlQ/G/]6C<1m"}, // escapes the table root
		{StorageType: "u", PathOrInlineDv: "..5<w-%>:JjlQ/G/]6C<1m"},
		{StorageType: "p", PathOrInlineDv: ""},
	} {
		if p, _, err := d.Location(); err == nil {
			t.Errorf("%+v.Location() = %q, want error", d, p)
		} else if d.StorageType != "u" && d.StorageType != "p" && !strings.Contains(err.Error(), fmt.Sprintf("%q", d.StorageType)) {
			t.Errorf("error %q does not name storage type %q", err, d.StorageType)
		}
	}
}

func TestUniqueID(t *testing.T) {
	d := Descriptor{StorageType: "u", PathOrInlineDv: "ab^-aqEH.-t@S}K{vb[*k^", Offset: ptr[int32](4)}
	if got := d.UniqueID(); got != "uab^-aqEH.-t@S}K{vb[*k^@4" {
		t.Errorf("UniqueID = %q", got)
	}
	d.Offset = nil
	if got := d.UniqueID(); got != "uab^-aqEH.-t@S}K{vb[*k^" {
		t.Errorf("UniqueID = %q", got)
	}
	i := Descriptor{StorageType: "i", PathOrInlineDv: "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L"}
	if got := i.UniqueID(); got != "iwi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L" {
		t.Errorf("UniqueID = %q", got)
	}
}

func TestLoadInlineExamples(t *testing.T) {
	want := []uint64{3, 4, 7, 11, 18, 29}
	for _, d := range []Descriptor{
		// delta-kernel-rs test_inline_read.
		{StorageType: "i", PathOrInlineDv: "^Bg9^0rr910000000000iXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L", SizeInBytes: 44, Cardinality: 6},
	} {
		bm, err := Load(context.Background(), d, nil)
		if err != nil {
			t.Fatalf("Load(%s): %v", d.PathOrInlineDv, err)
		}
		if got := bm.ToArray(); !slices.Equal(got, want) {
			t.Errorf("rows = %v, want %v", got, want)
		}
		for _, r := range []uint64{1, 2, 8, 17, 55, 200} {
			if bm.Contains(r) {
				t.Errorf("Contains(%d) = true", r)
			}
		}
	}
	// PROTOCOL.md's "JSON Example 3 — Inline" is not in the portable format
	// the protocol specifies: it starts with the big-endian magic 1681511376 of
	// Delta Spark's Java-only "native" RoaringBitmapArray serialization. Make
	// sure that is reported as such rather than misread.
	ex3 := Descriptor{StorageType: "i", PathOrInlineDv: "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L", SizeInBytes: 40, Cardinality: 6}
	if _, err := Load(context.Background(), ex3, nil); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "native") {
		t.Errorf("protocol example 3: err = %v, want a magic-number ErrCorrupt", err)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	var big []uint64
	for i := uint64(0); i < 10000; i += 2 { // bitset container (5000 values)
		big = append(big, i)
	}
	for i := uint64(70000); i < 200000; i++ { // runs across containers
		big = append(big, i)
	}
	big = append(big, 1<<32, 1<<32+5, 5<<32+65535, MaxRowIndex) // several buckets, incl. the max key
	cases := [][]uint64{nil, {0}, {3, 4, 7, 11, 18, 29}, big}
	for _, rows := range cases {
		b := NewBitmap(rows...)
		enc := Encode(b)
		if binary.LittleEndian.Uint32(enc) != MagicNumber {
			t.Fatalf("missing magic")
		}
		dec, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Encode(%d rows)): %v", len(rows), err)
		}
		if !dec.Equal(b) || dec.Cardinality() != uint64(len(rows)) {
			t.Fatalf("round trip of %d rows: got %d rows", len(rows), dec.Cardinality())
		}
		if !slices.Equal(dec.ToArray(), b.ToArray()) {
			t.Fatalf("ToArray mismatch")
		}
		var it []uint64
		for r := range dec.All() {
			it = append(it, r)
		}
		if !slices.Equal(it, b.ToArray()) {
			t.Fatalf("All mismatch")
		}
		if enc2 := Encode(dec); !bytes.Equal(enc, enc2) {
			t.Fatalf("re-encoding is not stable")
		}
	}
	var nilBM *Bitmap
	if nilBM.Contains(1) || nilBM.Cardinality() != 0 || !nilBM.IsEmpty() || len(nilBM.ToArray()) != 0 {
		t.Fatal("nil bitmap is not empty")
	}
	if d, err := Decode(Encode(nil)); err != nil || !d.IsEmpty() {
		t.Fatalf("empty round trip: %v", err)
	}
}

func TestAddPanicsBeyondMax(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	NewBitmap(MaxRowIndex + 1)
}

// portable builds a RoaringBitmapArray by hand: magic, bucket count, and for
// each bucket its key followed by raw 32-bit bitmap bytes.
func portable(buckets ...any) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, MagicNumber)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(buckets)/2))
	for i := 0; i < len(buckets); i += 2 {
		b = binary.LittleEndian.AppendUint32(b, buckets[i].(uint32))
		b = append(b, buckets[i+1].([]byte)...)
	}
	return b
}

// arrayBitmap32 serializes a no-run 32-bit bitmap with one array container.
func arrayBitmap32(key uint16, vals ...uint16) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, serialCookieNoRun)
	b = binary.LittleEndian.AppendUint32(b, 1)
	b = binary.LittleEndian.AppendUint16(b, key)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(vals)-1))
	b = binary.LittleEndian.AppendUint32(b, 16) // offset (ignored)
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	return b
}

func TestDecodeCorrupt(t *testing.T) {
	good := portable(uint32(0), arrayBitmap32(0, 1, 5, 9))
	if bm, err := Decode(good); err != nil || !slices.Equal(bm.ToArray(), []uint64{1, 5, 9}) {
		t.Fatalf("hand-built bitmap: %v %v", bm, err)
	}
	withEmptyBucket := portable(uint32(0), arrayBitmap32(0, 1), uint32(1), binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, serialCookieNoRun), 0), uint32(2), arrayBitmap32(3, 7))
	if bm, err := Decode(withEmptyBucket); err != nil || !slices.Equal(bm.ToArray(), []uint64{1, 2<<32 | 3<<16 | 7}) {
		t.Fatalf("bitmap with an empty bucket: %v %v", bm, err)
	}

	native := slices.Clone(good)
	binary.LittleEndian.PutUint32(native, nativeMagicNumber)
	hugeCount := slices.Clone(good)
	binary.LittleEndian.PutUint64(hugeCount[4:], 1<<62)
	bitsetBad := portable(uint32(0), func() []byte {
		var b []byte
		b = binary.LittleEndian.AppendUint32(b, serialCookieNoRun)
		b = binary.LittleEndian.AppendUint32(b, 1)
		b = binary.LittleEndian.AppendUint16(b, 0)
		b = binary.LittleEndian.AppendUint16(b, 5000-1) // claims 5000, holds 0
		b = binary.LittleEndian.AppendUint32(b, 16)
		return append(b, make([]byte, bitsetBytes)...)
	}())
	runOverflow := portable(uint32(0), func() []byte {
		var b []byte
		b = binary.LittleEndian.AppendUint32(b, serialCookie) // 1 container, run flags follow
		b = append(b, 1)
		b = binary.LittleEndian.AppendUint16(b, 0)
		b = binary.LittleEndian.AppendUint16(b, 9)
		b = binary.LittleEndian.AppendUint16(b, 1)     // one run
		b = binary.LittleEndian.AppendUint16(b, 65530) // start
		b = binary.LittleEndian.AppendUint16(b, 10-1)  // length 10: past 65535
		return b
	}())
	cases := map[string][]byte{
		"empty":            nil,
		"short":            {1, 2},
		"bad magic":        append([]byte{0, 0, 0, 0}, good[4:]...),
		"native magic":     native,
		"no bucket count":  good[:8],
		"huge count":       hugeCount,
		"truncated":        good[:len(good)-1],
		"trailing":         append(slices.Clone(good), 0),
		"high bit key":     portable(uint32(0x80000000), arrayBitmap32(0, 1)),
		"unsorted keys":    portable(uint32(2), arrayBitmap32(0, 1), uint32(1), arrayBitmap32(0, 1)),
		"unsorted array":   portable(uint32(0), arrayBitmap32(0, 5, 1)),
		"duplicate array":  portable(uint32(0), arrayBitmap32(0, 5, 5)),
		"bitset card":      bitsetBad,
		"run overflow":     runOverflow,
		"bad cookie":       portable(uint32(0), []byte{1, 2, 3, 4, 0, 0, 0, 0}),
		"too many conts":   portable(uint32(0), binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, serialCookieNoRun), 1<<16+1)),
		"containers trunc": portable(uint32(0), binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, serialCookieNoRun), 1000)),
	}
	for name, in := range cases {
		if bm, err := Decode(in); err == nil {
			t.Errorf("%s: Decode succeeded: %v", name, bm)
		} else if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: error %v does not wrap ErrCorrupt", name, err)
		}
	}
}

// dvFile builds a DV file holding the given serialized bitmaps and returns it
// with the offset of each DV.
func dvFile(payloads ...[]byte) ([]byte, []int32) {
	f := []byte{FileFormatVersion}
	var offs []int32
	for _, p := range payloads {
		offs = append(offs, int32(len(f)))
		f = binary.BigEndian.AppendUint32(f, uint32(len(p)))
		f = append(f, p...)
		f = binary.BigEndian.AppendUint32(f, crc32.ChecksumIEEE(p))
	}
	return f, offs
}

type memFile struct {
	files map[string][]byte
	calls []string
}

func (m *memFile) read(_ context.Context, path string, absolute bool, off, n int64) ([]byte, error) {
	m.calls = append(m.calls, fmt.Sprintf("%s abs=%v [%d,+%d)", path, absolute, off, n))
	f, ok := m.files[path]
	if !ok {
		return nil, fmt.Errorf("open %s: no such file", path)
	}
	if off < 0 || n < 0 || off > int64(len(f)) || n > int64(len(f))-off {
		return nil, fmt.Errorf("read %s [%d,+%d): beyond end of file (%d bytes)", path, off, n, len(f))
	}
	return f[off : off+n], nil
}

func TestLoadFile(t *testing.T) {
	a, b := NewBitmap(0, 9), NewBitmap(1, 2, 3, 1<<33)
	pa, pb := Encode(a), Encode(b)
	file, offs := dvFile(pa, pb)
	const rel = "deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin"
	m := &memFile{files: map[string][]byte{rel: file, "s3://bucket/t/dv.bin": file}}
	ctx := context.Background()
	u := Descriptor{StorageType: "u", PathOrInlineDv: "vBn[lx{q8@P<9BNH/isA", Offset: ptr(offs[0]), SizeInBytes: int32(len(pa)), Cardinality: 2}
	got, err := Load(ctx, u, m.read)
	if err != nil || !got.Equal(a) {
		t.Fatalf("Load first DV: %v %v", got, err)
	}
	if m.calls[0] != rel+" abs=false [0,+"+fmt.Sprint(1+8+len(pa))+")" {
		t.Errorf("offset-1 read should start at 0 to check the version byte: %v", m.calls)
	}
	noOff := u
	noOff.Offset = nil
	if got, err := Load(ctx, noOff, m.read); err != nil || !got.Equal(a) {
		t.Fatalf("Load without offset: %v %v", got, err)
	}
	p := Descriptor{StorageType: "p", PathOrInlineDv: "s3://bucket/t/dv.bin", Offset: ptr(offs[1]), SizeInBytes: int32(len(pb)), Cardinality: 4, MaxRowIndex: ptr[int64](1 << 33)}
	if got, err := Load(ctx, p, m.read); err != nil || !got.Equal(b) {
		t.Fatalf("Load second DV: %v %v", got, err)
	}
	if last := m.calls[len(m.calls)-1]; last != fmt.Sprintf("s3://bucket/t/dv.bin abs=true [%d,+%d)", offs[1], 8+len(pb)) {
		t.Errorf("second read = %s", last)
	}
	inl := Descriptor{StorageType: "i", PathOrInlineDv: Z85Encode(pb), SizeInBytes: int32(len(pb)), Cardinality: 4}
	if got, err := Load(ctx, inl, nil); err != nil || !got.Equal(b) {
		t.Fatalf("Load inline: %v %v", got, err)
	}

	corruptCRC := slices.Clone(file)
	corruptCRC[offs[0]+4+int32(len(pa))] ^= 1
	badVersion := slices.Clone(file)
	badVersion[0] = 2
	flipped := slices.Clone(file)
	flipped[offs[0]+4+6] ^= 0x40 // inside the bitmap; CRC catches it
	m.files["crc"], m.files["ver"], m.files["flip"] = corruptCRC, badVersion, flipped
	pathOf := func(name string) Descriptor {
		d := u
		d.StorageType, d.PathOrInlineDv = "p", name
		return d
	}
	with := func(d Descriptor, f func(*Descriptor)) Descriptor { f(&d); return d }
	errCases := map[string]struct {
		d       Descriptor
		corrupt bool
		want    string
	}{
		"size mismatch":  {with(u, func(d *Descriptor) { d.SizeInBytes++ }), true, "sizeInBytes"},
		"cardinality":    {with(u, func(d *Descriptor) { d.Cardinality = 3 }), true, "cardinality"},
		"negative card":  {with(u, func(d *Descriptor) { d.Cardinality = -1 }), true, "cardinality"},
		"maxRowIndex":    {with(u, func(d *Descriptor) { d.MaxRowIndex = ptr[int64](8) }), true, "maxRowIndex"},
		"crc":            {pathOf("crc"), true, "CRC-32"},
		"bit flip":       {pathOf("flip"), true, "CRC-32"},
		"version":        {pathOf("ver"), true, "version"},
		"beyond EOF":     {with(u, func(d *Descriptor) { d.Offset = ptr[int32](int32(len(file))) }), false, "beyond end"},
		"offset zero":    {with(u, func(d *Descriptor) { d.Offset = ptr[int32](0) }), true, "offset"},
		"tiny size":      {with(u, func(d *Descriptor) { d.SizeInBytes = 2 }), true, "sizeInBytes"},
		"missing file":   {pathOf("nope"), false, "no such file"},
		"unknown type":   {with(u, func(d *Descriptor) { d.StorageType = "r" }), false, `"r"`},
		"inline offset":  {with(inl, func(d *Descriptor) { d.Offset = ptr[int32](1) }), true, "offset"},
		"inline size":    {with(inl, func(d *Descriptor) { d.SizeInBytes += 4 }), true, "sizeInBytes"},
		"inline small":   {with(inl, func(d *Descriptor) { d.SizeInBytes -= 4 }), true, "sizeInBytes"},
		"inline z85":     {with(inl, func(d *Descriptor) { d.PathOrInlineDv += "x" }), true, "z85"},
		"inline card":    {with(inl, func(d *Descriptor) { d.Cardinality = 1 }), true, "cardinality"},
		"offset skips 1": {with(u, func(d *Descriptor) { d.Offset = ptr[int32](2) }), true, "size at offset 2"},
	}
	for name, c := range errCases {
		_, err := Load(ctx, c.d, m.read)
		if err == nil {
			t.Errorf("%s: Load succeeded", name)
			continue
		}
		if errors.Is(err, ErrCorrupt) != c.corrupt {
			t.Errorf("%s: errors.Is(ErrCorrupt) = %v, want %v (%v)", name, !c.corrupt, c.corrupt, err)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not mention %q", name, err, c.want)
		}
		if !strings.Contains(err.Error(), "deletion vector") {
			t.Errorf("%s: error %q does not name the DV", name, err)
		}
	}
}
