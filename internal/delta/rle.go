package delta

import (
	"encoding/binary"
	"errors"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow/bitutil"
)

// errRLETruncated reports RLE/bit-packed data that ends before the values it should hold.
var errRLETruncated = errors.New("parquet: RLE/bit-packed data ends early (corrupt page?)")

// rleDecoder decodes Parquet's RLE/bit-packing hybrid encoding, used for
// definition levels, dictionary indices and RLE-encoded booleans. It reads
// values of up to 32 bits. It holds no memory of its own: data belongs to the
// page being decoded.
type rleDecoder struct {
	data  []byte // the runs not yet started
	width uint   // bits per value, 0..32

	rleLeft  int    // values left in the current RLE run
	rleValue uint32 // the value of the current RLE run

	packedLeft int    // values left in the current bit-packed run
	packed     []byte // the current bit-packed run's bytes
	packedBit  int    // bit position of the next value in packed
}

// reset starts decoding data, values of width bits.
func (d *rleDecoder) reset(data []byte, width uint) {
	*d = rleDecoder{data: data, width: width}
}

// nextRun reads the header of the next run.
func (d *rleDecoder) nextRun() error {
	header, n := binary.Uvarint(d.data)
	if n <= 0 {
		return errRLETruncated
	}
	d.data = d.data[n:]
	if header&1 == 0 { // RLE run: a count, then one value in ceil(width/8) bytes
		count := header >> 1
		nbytes := int(d.width+7) / 8
		if len(d.data) < nbytes || count > 1<<31 {
			return errRLETruncated
		}
		var v uint32
		for i := 0; i < nbytes; i++ {
			v |= uint32(d.data[i]) << (8 * i)
		}
		d.data = d.data[nbytes:]
		d.rleLeft, d.rleValue = int(count), v
		if d.rleLeft == 0 {
			return d.nextRun()
		}
		return nil
	}
	// bit-packed run: groups of 8 values, width bytes per group
	groups := header >> 1
	if groups > 1<<28 {
		return errRLETruncated
	}
	nbytes := int(groups) * int(d.width)
	count := int(groups) * 8
	if nbytes > len(d.data) {
		// a writer may end the last run early: keep the values that are there
		nbytes = len(d.data)
		if d.width > 0 {
			count = nbytes * 8 / int(d.width)
		}
	}
	d.packed, d.packedBit, d.packedLeft = d.data[:nbytes], 0, count
	d.data = d.data[nbytes:]
	if count == 0 {
		if len(d.data) == 0 {
			return errRLETruncated
		}
		return d.nextRun()
	}
	return nil
}

// decodeUint32 fills dst with the next len(dst) values.
func (d *rleDecoder) decodeUint32(dst []uint32) error {
	for len(dst) > 0 {
		if d.rleLeft == 0 && d.packedLeft == 0 {
			if err := d.nextRun(); err != nil {
				return err
			}
		}
		if d.rleLeft > 0 {
			m := min(len(dst), d.rleLeft)
			v := d.rleValue
			for i := range dst[:m] {
				dst[i] = v
			}
			d.rleLeft -= m
			dst = dst[m:]
			continue
		}
		m := min(len(dst), d.packedLeft)
		unpackBits(dst[:m], d.packed, d.packedBit, d.width)
		d.packedBit += m * int(d.width)
		d.packedLeft -= m
		dst = dst[m:]
	}
	return nil
}

// decodeBits decodes the next n one-bit values into the bitmap dst from bit
// offset off on, and returns how many are 1. The decoder's width must be 1,
// and those n bits of dst zero (bit-packed runs are ORed in).
func (d *rleDecoder) decodeBits(dst []byte, off, n int) (ones int, err error) {
	for n > 0 {
		if d.rleLeft == 0 && d.packedLeft == 0 {
			if err := d.nextRun(); err != nil {
				return ones, err
			}
		}
		if d.rleLeft > 0 {
			m := min(n, d.rleLeft)
			set := d.rleValue != 0
			bitutil.SetBitsTo(dst, int64(off), int64(m), set)
			if set {
				ones += m
			}
			d.rleLeft -= m
			off += m
			n -= m
			continue
		}
		m := min(n, d.packedLeft)
		ones += orBits(dst, off, d.packed, d.packedBit, m)
		d.packedBit += m
		d.packedLeft -= m
		off += m
		n -= m
	}
	return ones, nil
}

// orBits ORs n bits of src from bit srcOff on into dst from bit dstOff on, and
// returns how many of them are set. It copies when those bits of dst are
// still zero, as they are in the freshly allocated bitmaps it writes.
func orBits(dst []byte, dstOff int, src []byte, srcOff, n int) (ones int) {
	for n > 0 {
		// the next up to 8 bits of src, in the low bits of b
		sb, ss := srcOff>>3, uint(srcOff&7)
		b := uint(src[sb]) >> ss
		if ss != 0 && sb+1 < len(src) {
			b |= uint(src[sb+1]) << (8 - ss)
		}
		k := min(n, 8)
		b &= 1<<k - 1
		ones += bits.OnesCount8(uint8(b))
		db, ds := dstOff>>3, uint(dstOff&7)
		dst[db] |= byte(b << ds)
		if ds+uint(k) > 8 {
			dst[db+1] |= byte(b >> (8 - ds))
		}
		srcOff += k
		dstOff += k
		n -= k
	}
	return ones
}

// unpackBits reads len(dst) little-endian values of width bits from src,
// starting at bit bitPos.
func unpackBits(dst []uint32, src []byte, bitPos int, width uint) {
	if width == 0 {
		clear(dst)
		return
	}
	mask := uint64(1)<<width - 1
	w := int(width)
	i := 0
	if w <= 8 {
		// whole groups of 8 values (w bytes, starting at a byte boundary)
		// from one 8-byte load each
		for ; i < len(dst) && (bitPos/w)%8 != 0; i++ {
			dst[i] = unpackOne(src, bitPos, mask)
			bitPos += w
		}
		b := bitPos >> 3
		for ; i+8 <= len(dst) && b+8 <= len(src); i += 8 {
			v := binary.LittleEndian.Uint64(src[b:])
			d := dst[i : i+8 : i+8]
			d[0] = uint32(v & mask)
			d[1] = uint32(v >> width & mask)
			d[2] = uint32(v >> (2 * width) & mask)
			d[3] = uint32(v >> (3 * width) & mask)
			d[4] = uint32(v >> (4 * width) & mask)
			d[5] = uint32(v >> (5 * width) & mask)
			d[6] = uint32(v >> (6 * width) & mask)
			d[7] = uint32(v >> (7 * width) & mask)
			b += w
		}
		bitPos = b * 8
	}
	// one 8-byte load per value while 8 bytes remain at the value's first byte
	for ; i < len(dst); i++ {
		b := bitPos >> 3
		if b+8 > len(src) {
			break
		}
		dst[i] = uint32(binary.LittleEndian.Uint64(src[b:]) >> (bitPos & 7) & mask)
		bitPos += w
	}
	for ; i < len(dst); i++ {
		dst[i] = unpackOne(src, bitPos, mask)
		bitPos += w
	}
}

// unpackOne reads the value at bit bitPos of src (mask: its width's bits).
func unpackOne(src []byte, bitPos int, mask uint64) uint32 {
	var v uint64
	b := bitPos >> 3
	if b+8 <= len(src) {
		v = binary.LittleEndian.Uint64(src[b:])
	} else {
		for k := 0; k < 8 && b+k < len(src); k++ {
			v |= uint64(src[b+k]) << (8 * k)
		}
	}
	return uint32(v >> (bitPos & 7) & mask)
}
