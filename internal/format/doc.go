// Package format renders and parses Arrow record batches as text formats:
// an aligned table for terminals, NDJSON and CSV.
//
// Invariants: values are rendered exactly (decimals keep their scale,
// timestamps keep microseconds and are shown in UTC); nested values are JSON.
package format
