// Package dv implements Delta Lake deletion vectors (DVs): the descriptor
// carried by add/remove actions, the RoaringBitmapArray serialization, the
// on-disk DV file framing and the Z85 text encoding used for inline DVs and
// for UUIDs in relative DV paths.
//
// Formats (Delta PROTOCOL.md, "Deletion Vectors" and appendix "Deletion
// Vector Format"):
//
//   - Descriptor: storageType "u" (file relative to the table root, named by
//     a Z85-encoded UUID with an optional random prefix), "p" (absolute
//     path/URI) or "i" (inline, Z85 of the serialized bitmap). sizeInBytes is
//     the size of the serialized bitmap (magic included, checksum excluded,
//     before Z85 for inline DVs); cardinality is the number of deleted rows.
//   - Serialized bitmap ("RoaringBitmapArray"): 4-byte little-endian magic
//     1681511377 followed by the portable 64-bit Roaring format (8-byte LE
//     bucket count, then per bucket a 4-byte LE key holding the high 32 bits
//     and a standard 32-bit Roaring bitmap). The protocol requires every key
//     to have its most significant bit clear, so row indexes are < 2^63.
//   - DV file: one version byte (1) at position 0, then per DV: 4-byte
//     big-endian dataSize, dataSize bytes of serialized bitmap, 4-byte
//     big-endian CRC-32 (IEEE) of those bytes. A descriptor's offset points at
//     the dataSize field; when absent, the DV starts right after the version
//     byte (offset 1), as delta-kernel-rs reads it.
//
// Decoding never trusts sizes in the input: every length and count is checked
// against the bytes actually present before anything is allocated, so corrupt
// or hostile input yields an error (wrapping ErrCorrupt), never a panic or an
// allocation larger than a small multiple of the input.
//
// Invariants:
//   - Load verifies everything the format lets it verify: the size recorded
//     in the file against sizeInBytes, the CRC-32, the magic number, the
//     bitmap structure, the cardinality against the descriptor, and (when
//     present) maxRowIndex. Errors name the DV (path, or "inline") and the
//     problem.
//   - The package does no I/O of its own: Load asks its caller for a byte
//     range; the caller (the Delta reader) resolves the path against the
//     table root.
package dv
