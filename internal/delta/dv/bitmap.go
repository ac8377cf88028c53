package dv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"math/bits"

	"github.com/RoaringBitmap/roaring/v2/roaring64"
)

// MagicNumber starts every serialized deletion vector ("RoaringBitmapArray",
// portable 64-bit Roaring format), little-endian.
const MagicNumber uint32 = 1681511377

// nativeMagicNumber marks Delta's Java-only "native" RoaringBitmapArray
// serialization, which the protocol does not allow in tables.
const nativeMagicNumber uint32 = 1681511376

// MaxRowIndex is the largest row index a deletion vector can hold: the
// protocol requires the high bit of every 32-bit bucket key to be zero.
const MaxRowIndex = uint64(1)<<63 - 1

// ErrCorrupt is wrapped by every error about malformed deletion vector bytes
// or descriptors that disagree with the data.
var ErrCorrupt = errors.New("corrupt deletion vector")

// Bitmap is a set of deleted row indexes (0-based positions in a data file).
// A nil *Bitmap is an empty set. A Bitmap is safe for concurrent readers.
type Bitmap struct {
	rb *roaring64.Bitmap
}

// NewBitmap returns a bitmap holding rows. It panics if a row exceeds
// MaxRowIndex, which no deletion vector can represent.
func NewBitmap(rows ...uint64) *Bitmap {
	b := &Bitmap{rb: roaring64.New()}
	for _, r := range rows {
		b.Add(r)
	}
	return b
}

// Add inserts row. It panics if row exceeds MaxRowIndex.
func (b *Bitmap) Add(row uint64) {
	if row > MaxRowIndex {
		panic(fmt.Sprintf("dv: row index %d exceeds the maximum %d", row, MaxRowIndex))
	}
	if b.rb == nil {
		b.rb = roaring64.New()
	}
	b.rb.Add(row)
}

// Contains reports whether row is deleted.
func (b *Bitmap) Contains(row uint64) bool {
	return b != nil && b.rb != nil && b.rb.Contains(row)
}

// Cardinality is the number of deleted rows.
func (b *Bitmap) Cardinality() uint64 {
	if b == nil || b.rb == nil {
		return 0
	}
	return b.rb.GetCardinality()
}

// IsEmpty reports whether no row is deleted.
func (b *Bitmap) IsEmpty() bool { return b.Cardinality() == 0 }

// Max returns the largest deleted row index; ok is false for an empty bitmap.
func (b *Bitmap) Max() (row uint64, ok bool) {
	if b.IsEmpty() {
		return 0, false
	}
	return b.rb.Maximum(), true
}

// ToArray returns the deleted rows in increasing order.
func (b *Bitmap) ToArray() []uint64 {
	if b == nil || b.rb == nil {
		return nil
	}
	return b.rb.ToArray()
}

// All iterates over the deleted rows in increasing order.
func (b *Bitmap) All() iter.Seq[uint64] {
	if b == nil || b.rb == nil {
		return func(func(uint64) bool) {}
	}
	return roaring64.Values(b.rb)
}

// Equal reports whether both bitmaps hold the same rows.
func (b *Bitmap) Equal(o *Bitmap) bool {
	if b.IsEmpty() || o.IsEmpty() {
		return b.IsEmpty() && o.IsEmpty()
	}
	return b.rb.Equals(o.rb)
}

// String renders small bitmaps for test failures.
func (b *Bitmap) String() string {
	rows := b.ToArray()
	if len(rows) > 32 {
		return fmt.Sprintf("%v ... (%d rows)", rows[:32], len(rows))
	}
	return fmt.Sprint(rows)
}

// Encode serializes b as a RoaringBitmapArray: the magic number followed by
// the portable 64-bit Roaring format, run-optimized. This is the payload
// stored inline (before Z85) or framed in a DV file; its length is the
// descriptor's sizeInBytes.
func Encode(b *Bitmap) []byte {
	rb := roaring64.New()
	if b != nil && b.rb != nil {
		rb = b.rb.Clone()
	}
	rb.RunOptimize()
	var buf bytes.Buffer
	buf.Grow(4 + int(rb.GetSerializedSizeInBytes()))
	var magic [4]byte
	binary.LittleEndian.PutUint32(magic[:], MagicNumber)
	buf.Write(magic[:])
	if _, err := rb.WriteTo(&buf); err != nil {
		// Writing to a bytes.Buffer cannot fail.
		panic(fmt.Sprintf("dv: serializing bitmap: %v", err))
	}
	return buf.Bytes()
}

// Decode parses a serialized RoaringBitmapArray (magic number + portable
// 64-bit Roaring format). The whole input must be consumed. The structure is
// validated completely (bucket and container counts against the input
// length, sorted keys and values, run bounds, bitset cardinalities, the
// protocol's high-bit rule) before the bitmap is materialized, so corrupt
// input is an error wrapping ErrCorrupt and never causes a panic or an
// allocation beyond a small multiple of len(serialized).
func Decode(serialized []byte) (*Bitmap, error) {
	if len(serialized) < 4 {
		return nil, fmt.Errorf("serialized bitmap is %d bytes, shorter than the magic number: %w", len(serialized), ErrCorrupt)
	}
	switch magic := binary.LittleEndian.Uint32(serialized); magic {
	case MagicNumber:
	case nativeMagicNumber, bits.ReverseBytes32(nativeMagicNumber):
		// Delta Spark's Java-only "native" format; it writes the magic
		// big-endian. (PROTOCOL.md's inline JSON example 3 is in this format.)
		return nil, fmt.Errorf("serialized bitmap uses the native (Java-only) RoaringBitmapArray format (magic %d), which tables must not contain: %w", magic, ErrCorrupt)
	default:
		return nil, fmt.Errorf("serialized bitmap has magic number %d, want %d: %w", magic, MagicNumber, ErrCorrupt)
	}
	payload := serialized[4:]
	card, err := validatePortable64(payload)
	if err != nil {
		return nil, fmt.Errorf("serialized bitmap: %v: %w", err, ErrCorrupt)
	}
	rb := roaring64.New()
	n, err := rb.ReadPortableFrom(bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("serialized bitmap: %v: %w", err, ErrCorrupt)
	}
	if n != int64(len(payload)) {
		return nil, fmt.Errorf("serialized bitmap: decoder consumed %d of %d bytes: %w", n, len(payload), ErrCorrupt)
	}
	if got := rb.GetCardinality(); got != card {
		return nil, fmt.Errorf("serialized bitmap: decoded cardinality %d, structure says %d: %w", got, card, ErrCorrupt)
	}
	return &Bitmap{rb: rb}, nil
}

// Roaring serialization constants (RoaringFormatSpec).
const (
	serialCookieNoRun   = 12346
	serialCookie        = 12347
	noOffsetThreshold   = 4
	arrayMaxCardinality = 4096
	bitsetBytes         = 8192
	minBucketBytes      = 4 + 8 // key + smallest 32-bit bitmap (cookie + zero count)
)

type byteReader struct {
	b   []byte
	off int
}

func (r *byteReader) remaining() int { return len(r.b) - r.off }

func (r *byteReader) next(n int) ([]byte, error) {
	if n < 0 || n > r.remaining() {
		return nil, fmt.Errorf("truncated at byte %d: need %d bytes, %d left", r.off, n, r.remaining())
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s, nil
}

func (r *byteReader) u16() (uint16, error) {
	s, err := r.next(2)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(s), nil
}

func (r *byteReader) u32() (uint32, error) {
	s, err := r.next(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(s), nil
}

func (r *byteReader) u64() (uint64, error) {
	s, err := r.next(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(s), nil
}

// validatePortable64 walks the portable 64-bit Roaring format without
// allocating in proportion to any count it reads, and returns the total
// cardinality. It requires the input to be consumed exactly.
func validatePortable64(p []byte) (uint64, error) {
	r := &byteReader{b: p}
	buckets, err := r.u64()
	if err != nil {
		return 0, fmt.Errorf("bucket count: %v", err)
	}
	if buckets > uint64(r.remaining()/minBucketBytes) {
		return 0, fmt.Errorf("bucket count %d cannot fit in %d remaining bytes", buckets, r.remaining())
	}
	var total uint64
	var prevKey uint32
	for i := uint64(0); i < buckets; i++ {
		key, err := r.u32()
		if err != nil {
			return 0, fmt.Errorf("bucket %d key: %v", i, err)
		}
		if key&0x80000000 != 0 {
			return 0, fmt.Errorf("bucket %d key %#x has its high bit set (row indexes must be < 2^63)", i, key)
		}
		if i > 0 && key <= prevKey {
			return 0, fmt.Errorf("bucket keys not strictly increasing: %d after %d", key, prevKey)
		}
		prevKey = key
		c, err := validate32(r)
		if err != nil {
			return 0, fmt.Errorf("bucket %d (key %d): %v", i, key, err)
		}
		total += c
	}
	if r.remaining() != 0 {
		return 0, fmt.Errorf("%d trailing bytes after the last bucket", r.remaining())
	}
	return total, nil
}

// validate32 walks one standard 32-bit Roaring bitmap and returns its
// cardinality.
func validate32(r *byteReader) (uint64, error) {
	start := r.off
	cookie, err := r.u32()
	if err != nil {
		return 0, fmt.Errorf("cookie: %v", err)
	}
	var size int
	var runFlags []byte
	switch {
	case cookie&0xFFFF == serialCookie:
		size = int(cookie>>16) + 1
		if runFlags, err = r.next((size + 7) / 8); err != nil {
			return 0, fmt.Errorf("run-container flags: %v", err)
		}
	case cookie == serialCookieNoRun:
		n, err := r.u32()
		if err != nil {
			return 0, fmt.Errorf("container count: %v", err)
		}
		if n > 1<<16 {
			return 0, fmt.Errorf("container count %d exceeds 65536", n)
		}
		size = int(n)
	default:
		return 0, fmt.Errorf("unknown cookie %#x at byte %d", cookie, start)
	}
	header, err := r.next(4 * size)
	if err != nil {
		return 0, fmt.Errorf("descriptive header of %d containers: %v", size, err)
	}
	if runFlags == nil || size >= noOffsetThreshold {
		if _, err := r.next(4 * size); err != nil {
			return 0, fmt.Errorf("offset header of %d containers: %v", size, err)
		}
	}
	var total uint64
	for i := 0; i < size; i++ {
		key := binary.LittleEndian.Uint16(header[4*i:])
		card := int(binary.LittleEndian.Uint16(header[4*i+2:])) + 1
		if i > 0 && key <= binary.LittleEndian.Uint16(header[4*(i-1):]) {
			return 0, fmt.Errorf("container keys not strictly increasing at container %d", i)
		}
		isRun := runFlags != nil && runFlags[i/8]&(1<<(i%8)) != 0
		switch {
		case isRun:
			nruns, err := r.u16()
			if err != nil {
				return 0, fmt.Errorf("container %d run count: %v", i, err)
			}
			runs, err := r.next(4 * int(nruns))
			if err != nil {
				return 0, fmt.Errorf("container %d runs: %v", i, err)
			}
			sum := 0
			next := 0 // smallest value the next run may start at (adjacent runs are tolerated)
			for j := 0; j < int(nruns); j++ {
				s := int(binary.LittleEndian.Uint16(runs[4*j:]))
				l := int(binary.LittleEndian.Uint16(runs[4*j+2:])) + 1
				if s < next {
					return 0, fmt.Errorf("container %d run %d overlaps or is out of order", i, j)
				}
				if s+l > 1<<16 {
					return 0, fmt.Errorf("container %d run %d exceeds 16 bits", i, j)
				}
				sum += l
				next = s + l
			}
			if sum != card {
				return 0, fmt.Errorf("container %d: runs hold %d values, header says %d", i, sum, card)
			}
		case card > arrayMaxCardinality:
			words, err := r.next(bitsetBytes)
			if err != nil {
				return 0, fmt.Errorf("container %d bitset: %v", i, err)
			}
			pop := 0
			for w := 0; w < bitsetBytes; w += 8 {
				pop += bits.OnesCount64(binary.LittleEndian.Uint64(words[w:]))
			}
			if pop != card {
				return 0, fmt.Errorf("container %d: bitset holds %d values, header says %d", i, pop, card)
			}
		default:
			vals, err := r.next(2 * card)
			if err != nil {
				return 0, fmt.Errorf("container %d array: %v", i, err)
			}
			for j := 1; j < card; j++ {
				if binary.LittleEndian.Uint16(vals[2*j:]) <= binary.LittleEndian.Uint16(vals[2*(j-1):]) {
					return 0, fmt.Errorf("container %d array values not strictly increasing", i)
				}
			}
		}
		total += uint64(card)
	}
	return total, nil
}
