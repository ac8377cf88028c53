package dv

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// FileFormatVersion is the version byte at position 0 of a DV file.
const FileFormatVersion byte = 1

// DefaultOffset is where a DV starts in its file when the descriptor has no
// offset: right after the version byte.
const DefaultOffset = 1

// ReadRangeFunc reads n bytes at offset off of the DV file at path. path is
// relative to the table root when absolute is false (resolve it against the
// root), else an absolute path/URI as stored in the log. It must return
// exactly n bytes or an error (a short file is an error).
type ReadRangeFunc func(ctx context.Context, path string, absolute bool, off, n int64) ([]byte, error)

// Load materializes the deletion vector d.
//
// Inline DVs are Z85-decoded from the descriptor (padding beyond sizeInBytes
// is dropped). On-disk DVs are read with one call to readRange covering the
// framed DV: 4-byte big-endian size, the serialized bitmap, 4-byte
// big-endian CRC-32. When the DV starts at offset 1 (or the offset is
// absent) the read starts at 0 instead so that the file's version byte is
// checked too, at no extra cost; for other offsets the version byte is not
// read. Load verifies the recorded size against sizeInBytes, the checksum,
// the bitmap structure, the cardinality and, when set, maxRowIndex. Errors
// name the DV and the problem; malformed data wraps ErrCorrupt, and errors
// from readRange are wrapped as-is.
func Load(ctx context.Context, d Descriptor, readRange ReadRangeFunc) (*Bitmap, error) {
	var (
		bm  *Bitmap
		err error
	)
	switch d.StorageType {
	case StorageInline:
		bm, err = loadInline(d)
	case StorageUUIDRelative, StorageAbsolutePath:
		bm, err = loadFile(ctx, d, readRange)
	default:
		return nil, fmt.Errorf("%s: unsupported storage type %q", d.name(), d.StorageType)
	}
	if err != nil {
		return nil, err
	}
	if card := bm.Cardinality(); d.Cardinality < 0 || card != uint64(d.Cardinality) {
		return nil, fmt.Errorf("%s: holds %d rows, descriptor cardinality is %d: %w", d.name(), card, d.Cardinality, ErrCorrupt)
	}
	if d.MaxRowIndex != nil {
		if hi, ok := bm.Max(); ok && (*d.MaxRowIndex < 0 || hi > uint64(*d.MaxRowIndex)) {
			return nil, fmt.Errorf("%s: deletes row %d beyond maxRowIndex %d: %w", d.name(), hi, *d.MaxRowIndex, ErrCorrupt)
		}
	}
	return bm, nil
}

func loadInline(d Descriptor) (*Bitmap, error) {
	if d.Offset != nil {
		return nil, fmt.Errorf("%s: inline DVs must not have an offset (got %d): %w", d.name(), *d.Offset, ErrCorrupt)
	}
	raw, err := Z85Decode(d.PathOrInlineDv)
	if err != nil {
		return nil, fmt.Errorf("%s: %v: %w", d.name(), err, ErrCorrupt)
	}
	size := int(d.SizeInBytes)
	if size < 0 || size > len(raw) || len(raw)-size >= 4 {
		return nil, fmt.Errorf("%s: sizeInBytes %d does not match %d decoded bytes (Z85 pads to a multiple of 4): %w",
			d.name(), d.SizeInBytes, len(raw), ErrCorrupt)
	}
	for _, b := range raw[size:] {
		if b != 0 {
			return nil, fmt.Errorf("%s: non-zero padding after sizeInBytes %d: %w", d.name(), size, ErrCorrupt)
		}
	}
	bm, err := Decode(raw[:size])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.name(), err)
	}
	return bm, nil
}

func loadFile(ctx context.Context, d Descriptor, readRange ReadRangeFunc) (*Bitmap, error) {
	path, absolute, err := d.Location()
	if err != nil {
		return nil, err
	}
	name := d.name()
	if readRange == nil {
		return nil, fmt.Errorf("%s: no reader for on-disk deletion vectors", name)
	}
	if d.SizeInBytes < 4 {
		return nil, fmt.Errorf("%s: sizeInBytes %d is smaller than the magic number: %w", name, d.SizeInBytes, ErrCorrupt)
	}
	off := int64(DefaultOffset)
	if d.Offset != nil {
		off = int64(*d.Offset)
	}
	if off < DefaultOffset {
		return nil, fmt.Errorf("%s: offset %d is before the first DV in the file (%d): %w", name, off, DefaultOffset, ErrCorrupt)
	}
	size := int64(d.SizeInBytes)
	frame := 4 + size + 4
	readOff, skip := off, int64(0)
	if off == DefaultOffset {
		readOff, skip = 0, DefaultOffset // include the version byte
	}
	buf, err := readRange(ctx, path, absolute, readOff, skip+frame)
	if err != nil {
		return nil, fmt.Errorf("%s: reading %d bytes at offset %d: %w", name, skip+frame, readOff, err)
	}
	if int64(len(buf)) != skip+frame {
		return nil, fmt.Errorf("%s: read %d bytes at offset %d, want %d (file too short?): %w", name, len(buf), readOff, skip+frame, ErrCorrupt)
	}
	if skip > 0 && buf[0] != FileFormatVersion {
		return nil, fmt.Errorf("%s: unsupported DV file format version %d (want %d): %w", name, buf[0], FileFormatVersion, ErrCorrupt)
	}
	buf = buf[skip:]
	if got := binary.BigEndian.Uint32(buf); int64(got) != size {
		return nil, fmt.Errorf("%s: size at offset %d is %d, descriptor sizeInBytes is %d: %w", name, off, got, size, ErrCorrupt)
	}
	data := buf[4 : 4+size]
	want := binary.BigEndian.Uint32(buf[4+size:])
	if got := crc32.ChecksumIEEE(data); got != want {
		return nil, fmt.Errorf("%s: CRC-32 mismatch at offset %d: computed %#08x, stored %#08x: %w", name, off, got, want, ErrCorrupt)
	}
	bm, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s at offset %d: %w", name, off, err)
	}
	return bm, nil
}
