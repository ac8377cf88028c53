package dv

import (
	"fmt"
	"strconv"
	"strings"
)

// Storage types of a deletion vector descriptor.
const (
	StorageUUIDRelative = "u" // file relative to the table root, named by a Z85-encoded UUID
	StorageAbsolutePath = "p" // file at an absolute path/URI
	StorageInline       = "i" // serialized bitmap inline in the log, Z85-encoded
)

// encodedUUIDLen is the length of a Z85-encoded 16-byte UUID.
const encodedUUIDLen = 20

// Descriptor is the deletionVector field of add and remove actions.
type Descriptor struct {
	StorageType    string `json:"storageType"`
	PathOrInlineDv string `json:"pathOrInlineDv"`
	Offset         *int32 `json:"offset,omitempty"`
	SizeInBytes    int32  `json:"sizeInBytes"`
	Cardinality    int64  `json:"cardinality"`
	// MaxRowIndex is a transient field some writers (Delta Spark) use to
	// validate a DV; it is not stored in the log by the reference
	// implementation. When set, Load checks that no row index exceeds it.
	MaxRowIndex *int64 `json:"maxRowIndex,omitempty"`
}

// UniqueID identifies the DV for log replay as the protocol defines it:
// storageType + pathOrInlineDv, plus "@" + offset when offset is set.
// Together with the data file path it forms the key of a logical file.
func (d Descriptor) UniqueID() string {
	if d.Offset == nil {
		return d.StorageType + d.PathOrInlineDv
	}
	return d.StorageType + d.PathOrInlineDv + "@" + strconv.FormatInt(int64(*d.Offset), 10)
}

// IsInline reports whether the DV is stored inline in the log.
func (d Descriptor) IsInline() bool { return d.StorageType == StorageInline }

// Location returns where the DV file lives.
//
// For storage type "u" it returns the path relative to the table root,
// "<prefix>/deletion_vector_<uuid>.bin" or "deletion_vector_<uuid>.bin", with
// absolute=false. The path is literal (not percent-encoded); the random
// prefix must not contain path separators or be a dot segment, so the path
// cannot escape the table root.
//
// For "p" it returns pathOrInlineDv verbatim with absolute=true. Like the
// path of an add action it is a URI (percent-encoded); parsing it is the
// caller's job.
//
// Inline ("i") and unknown storage types are errors naming the storage type.
func (d Descriptor) Location() (path string, absolute bool, err error) {
	switch d.StorageType {
	case StorageUUIDRelative:
		s := d.PathOrInlineDv
		if len(s) < encodedUUIDLen {
			return "", false, fmt.Errorf("deletion vector %q (storage type u): pathOrInlineDv must be at least %d characters (Z85 UUID), got %d: %w",
				s, encodedUUIDLen, len(s), ErrCorrupt)
		}
		prefix, enc := s[:len(s)-encodedUUIDLen], s[len(s)-encodedUUIDLen:]
		raw, err := Z85Decode(enc)
		if err != nil {
			return "", false, fmt.Errorf("deletion vector %q (storage type u): UUID: %v: %w", s, err, ErrCorrupt)
		}
		if strings.ContainsAny(prefix, `/\`) || prefix == "." || prefix == ".." {
			return "", false, fmt.Errorf("deletion vector %q (storage type u): random prefix %q is not a single path segment: %w", s, prefix, ErrCorrupt)
		}
		name := "deletion_vector_" + formatUUID(raw) + ".bin"
		if prefix == "" {
			return name, false, nil
		}
		return prefix + "/" + name, false, nil
	case StorageAbsolutePath:
		if d.PathOrInlineDv == "" {
			return "", false, fmt.Errorf("deletion vector (storage type p): empty path: %w", ErrCorrupt)
		}
		return d.PathOrInlineDv, true, nil
	case StorageInline:
		return "", false, fmt.Errorf("deletion vector: storage type %q (inline) has no file location", d.StorageType)
	default:
		return "", false, fmt.Errorf("deletion vector: unsupported storage type %q", d.StorageType)
	}
}

// name describes the DV for error messages: its location, or "inline".
func (d Descriptor) name() string {
	switch d.StorageType {
	case StorageInline:
		return "inline deletion vector"
	case StorageUUIDRelative, StorageAbsolutePath:
		if p, _, err := d.Location(); err == nil {
			return "deletion vector " + strconv.Quote(p)
		}
	}
	return fmt.Sprintf("deletion vector %q (storage type %q)", d.PathOrInlineDv, d.StorageType)
}

func formatUUID(b []byte) string {
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&0xF])
	}
	return string(out)
}
