package delta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/lakeport/lakeport/internal/delta/datafile"
)

// ErrNotAdoptable is wrapped by the errors of AppendParquet and
// OverwriteParquet that refuse the table or a file as they are (the
// message names the table, the file and the reason). Nothing was
// committed; the rows can still be written through Append or Overwrite,
// which re-encode them.
var ErrNotAdoptable = errors.New("Parquet files cannot be adopted as they are")

// AppendParquet commits Parquet files that the caller has already placed
// under the table root (keys relative to it) as data files, as they are,
// in one blind append: no row is read or re-encoded. Each file's footer is
// read to check its columns against the table's schema and to compute the
// add action's statistics (datafile.FooterStats).
//
// Only what needs nothing more than the files themselves is accepted;
// otherwise the error wraps ErrNotAdoptable:
//
//   - the table: not partitioned, no column mapping, reader version 1,
//     writer version 1, 2 or 4 (no CHECK constraints) or 7 with only the
//     appendOnly, invariants, changeDataFeed and inCommitTimestamp
//     features, no row tracking, and flat columns of primitive types;
//   - each file: a readable, unencrypted Parquet file whose top-level
//     columns are the table's, by name and in order, each a primitive
//     column whose Arrow type (from its Parquet types alone) is the one the
//     table's type maps to (timestamps INT64 microseconds, adjusted to UTC
//     for timestamp), with no nulls in a non-nullable column by the
//     footer's null counts, compressed with snappy, gzip, zstd or nothing,
//     with PLAIN, dictionary and RLE encodings and version 1 data pages.
//
// Like Append it honours WriteOptions.AppID/AppVersion (a write the table
// already holds is Skipped) and retries after conflicting commits.
//
// AppendParquet never deletes the files. When it fails or skips, no commit
// references them, and the caller deletes them (or leaves them to Vacuum,
// which removes unreferenced files older than the retention); once it
// succeeds they belong to the table.
func (t *Table) AppendParquet(ctx context.Context, keys []string, o WriteOptions) (*CommitResult, error) {
	return t.adoptParquet(ctx, keys, o, false)
}

// OverwriteParquet is AppendParquet that also removes every file the table
// held: the files' rows replace the table's (as Overwrite).
func (t *Table) OverwriteParquet(ctx context.Context, keys []string, o WriteOptions) (*CommitResult, error) {
	return t.adoptParquet(ctx, keys, o, true)
}

// adoptedFile is a placed file and its footer.
type adoptedFile struct {
	key   string
	size  int64
	md    *metadata.FileMetaData
	pages string // why its data pages do not fit ("" when they do)
}

func (t *Table) adoptParquet(ctx context.Context, keys []string, o WriteOptions, overwrite bool) (*CommitResult, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: no Parquet files to adopt", t.location)
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if err := checkAdoptKey(k); err != nil {
			return nil, fmt.Errorf("%s: %w", t.location, err)
		}
		if seen[k] {
			return nil, fmt.Errorf("%s: file %s given twice", t.location, k)
		}
		seen[k] = true
	}
	mode := "Append"
	if overwrite {
		mode = "Overwrite"
	}
	var files []*adoptedFile // footers, read once
	return t.retry(ctx, o.attempts(), func(snap *Snapshot) (*CommitResult, error) {
		if o.skipped(snap) {
			return &CommitResult{Version: snap.version, Skipped: true}, nil
		}
		if overwrite && snap.appendOnly() {
			return nil, fmt.Errorf("%s: the table is append-only (delta.appendOnly = true)", t.location)
		}
		if reason := adoptableTable(snap); reason != "" {
			return nil, fmt.Errorf("%s: %w: the table %s", t.location, ErrNotAdoptable, reason)
		}
		if files == nil {
			var err error
			if files, err = t.readFooters(ctx, keys); err != nil {
				return nil, err
			}
		}
		live := make(map[string]bool, len(snap.files))
		for _, f := range snap.files {
			live[t.canonicalPath(f.Path)] = true
		}
		statsCols := 0
		if v, ok := snap.Property("delta.dataSkippingNumIndexedCols"); ok {
			statsCols, _ = strconv.Atoi(v)
		}
		phys := physicalFields(snap.schema, snap.mapping)
		now := time.Now().UnixMilli()
		var rows, bytes int64
		adds := make([]*Add, 0, len(files))
		for _, f := range files {
			p := datafile.EncodePath(f.key)
			if live[t.canonicalPath(p)] {
				return nil, fmt.Errorf("%s: file %s is already part of the table", t.location, f.key)
			}
			if reason := adoptableFile(snap, f); reason != "" {
				return nil, fmt.Errorf("%s: %w: file %s: %s", t.location, ErrNotAdoptable, f.key, reason)
			}
			stats, err := datafile.FooterStats(f.md, phys, statsCols)
			if err != nil {
				return nil, fmt.Errorf("%s: %w: file %s: %v", t.location, ErrNotAdoptable, f.key, err)
			}
			adds = append(adds, &Add{Path: p, PartitionValues: map[string]*string{}, Size: f.size, ModificationTime: now, DataChange: true, Stats: stats})
			rows += f.md.NumRows
			bytes += f.size
		}
		tx := &transaction{t: t, read: snap, op: "WRITE", params: map[string]any{"mode": mode}, adds: adds, appTxn: o.txn(), blind: !overwrite}
		res := &CommitResult{FilesAdded: len(adds), RowsInserted: rows}
		if overwrite {
			plan, err := t.planDelete(ctx, snap, "", o)
			if err != nil {
				return nil, err
			}
			tx.removes, tx.readAll = plan.removes, true
			res.FilesRemoved, res.RowsDeleted = len(plan.removes), plan.rows
		}
		tx.metrics = map[string]any{"numFiles": strconv.Itoa(len(adds)), "numOutputRows": strconv.FormatInt(rows, 10),
			"numOutputBytes": strconv.FormatInt(bytes, 10), "numRemovedFiles": strconv.Itoa(len(tx.removes))}
		v, err := tx.commit(ctx)
		if err != nil {
			return nil, err
		}
		res.Version = v
		return res, nil
	})
}

// checkAdoptKey accepts a clean relative key outside the log and change
// data directories, with no hidden (_ or .) path segment.
func checkAdoptKey(k string) error {
	if k == "" || strings.HasPrefix(k, "/") || path.Clean(k) != k {
		return fmt.Errorf("file key %q: want a clean path relative to the table root", k)
	}
	for seg := range strings.SplitSeq(k, "/") {
		if strings.HasPrefix(seg, "_") || strings.HasPrefix(seg, ".") {
			return fmt.Errorf("file key %q: a hidden path segment (_ or .) cannot hold data files", k)
		}
	}
	return nil
}

// readFooters opens each file through the table's bucket and reads its footer.
func (t *Table) readFooters(ctx context.Context, keys []string) ([]*adoptedFile, error) {
	out := make([]*adoptedFile, 0, len(keys))
	for _, k := range keys {
		f, err := t.bucket.OpenFile(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("%s: file %s: %w", t.location, k, err)
		}
		size := f.Size()
		rdr, err := file.NewParquetReader(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w: file %s: not a readable Parquet file: %v", t.location, ErrNotAdoptable, k, err)
		}
		md := rdr.MetaData()
		pages := firstPages(f, md)
		rdr.Close()
		f.Close()
		out = append(out, &adoptedFile{key: k, size: size, md: md, pages: pages})
	}
	return out, nil
}

// firstPages looks at the header of the first data page of every column
// chunk (two bytes each) and returns why it does not fit: a version 2 data
// page, or a header it cannot tell. Writers do not mix page versions within
// a column chunk, and the footer's encoding stats cannot tell (arrow-go
// counts version 2 pages as DATA_PAGE there).
func firstPages(r io.ReaderAt, md *metadata.FileMetaData) string {
	var b [2]byte
	for rg := 0; rg < md.NumRowGroups(); rg++ {
		rgm := md.RowGroup(rg)
		if rgm.NumRows() == 0 {
			continue
		}
		for col := 0; col < md.NumColumns(); col++ {
			cc, err := rgm.ColumnChunk(col)
			if err != nil {
				return err.Error()
			}
			if _, err := r.ReadAt(b[:], cc.DataPageOffset()); err != nil {
				return fmt.Sprintf("column %s: reading its first page header: %v", cc.PathInSchema(), err)
			}
			// a thrift compact PageHeader starts with field 1, type (i32,
			// zigzag varint): 0x15, then 0 DATA_PAGE, 4 DICTIONARY_PAGE
			// (some writers point data_page_offset at it), 6 DATA_PAGE_V2
			switch {
			case b[0] == 0x15 && (b[1] == 0 || b[1] == 4):
			case b[0] == 0x15 && b[1] == 6:
				return fmt.Sprintf("column %s has version 2 data pages", cc.PathInSchema())
			default:
				return fmt.Sprintf("column %s: unexpected page header at offset %d", cc.PathInSchema(), cc.DataPageOffset())
			}
		}
	}
	return ""
}

// adoptWriterFeatures are the table features an adopted file needs nothing for.
var adoptWriterFeatures = map[string]bool{"appendOnly": true, "invariants": true, "changeDataFeed": true, "inCommitTimestamp": true}

// adoptableTable returns why files cannot be adopted into the table as
// they are ("" when they can). Retry has already run checkWritable.
func adoptableTable(s *Snapshot) string {
	p := s.protocol
	switch {
	case len(s.metadata.PartitionColumns) > 0:
		return "is partitioned"
	case s.mapping != MappingNone:
		return "uses column mapping"
	case p.MinReaderVersion != 1:
		return fmt.Sprintf("has reader version %d", p.MinReaderVersion)
	}
	switch p.MinWriterVersion {
	case 1, 2, 4:
	case 7:
		for _, f := range p.WriterFeatures {
			if !adoptWriterFeatures[f] {
				return fmt.Sprintf("has writer feature %s", f)
			}
		}
	default:
		return fmt.Sprintf("has writer version %d", p.MinWriterVersion)
	}
	for k, v := range s.metadata.Configuration {
		switch {
		case strings.HasPrefix(k, "delta.constraints."):
			return fmt.Sprintf("has a CHECK constraint (%s)", k)
		case k == "delta.enableRowTracking" && strings.EqualFold(v, "true"):
			return "has row tracking"
		}
	}
	for _, f := range s.schema.Fields {
		switch ft := f.Type.(type) {
		case *DecimalType:
		case *PrimitiveType:
			if ft.Name == "void" {
				return fmt.Sprintf("has column %q of type void", f.Name)
			}
		default:
			return fmt.Sprintf("has nested column %q (%s)", f.Name, f.Type)
		}
	}
	return ""
}

var adoptCodecs = map[compress.Compression]bool{
	compress.Codecs.Uncompressed: true, compress.Codecs.Snappy: true, compress.Codecs.Gzip: true, compress.Codecs.Zstd: true,
}

var adoptEncodings = map[parquet.Encoding]bool{
	parquet.Encodings.Plain: true, parquet.Encodings.PlainDict: true, parquet.Encodings.RLE: true,
	parquet.Encodings.RLEDict: true, parquet.Encodings.BitPacked: true,
}

// adoptableFile returns why a file's columns or encoding do not fit the
// table ("" when they do).
func adoptableFile(s *Snapshot, af *adoptedFile) string {
	md := af.md
	root := md.Schema.Root()
	fields := s.schema.Fields
	if root.NumFields() != len(fields) {
		return fmt.Sprintf("it has %d columns (%s), the table %d (%s)", root.NumFields(), fileColumnNames(root), len(fields), tableColumnNames(fields))
	}
	fileArrow, err := pqarrow.FromParquet(md.Schema, &pqarrow.ArrowReadProperties{}, nil)
	if err != nil {
		return fmt.Sprintf("its schema has no Arrow form: %v", err)
	}
	leaf := make([]int, len(fields)) // Parquet column of each top-level field
	for i, f := range fields {
		node := root.Field(i)
		if node.Name() != f.Name {
			return fmt.Sprintf("column %d is %q, the table's %q", i+1, node.Name(), f.Name)
		}
		pn, ok := node.(*schema.PrimitiveNode)
		if !ok || node.RepetitionType() == parquet.Repetitions.Repeated {
			return fmt.Sprintf("column %q is not a flat column", f.Name)
		}
		leaf[i] = md.Schema.ColumnIndexByNode(pn)
		if got, want := fileArrow.Field(i).Type, ArrowType(f.Type); !arrow.TypeEqual(got, want) {
			return fmt.Sprintf("column %q is %s (Parquet %s %s), the table's %s (%s)", f.Name, got, pn.PhysicalType(), pn.LogicalType(), f.Type, want)
		}
	}
	for i, f := range fields {
		var nulls int64
		nullsKnown := true
		for rg := 0; rg < md.NumRowGroups(); rg++ {
			cc, err := md.RowGroup(rg).ColumnChunk(leaf[i])
			if err != nil {
				return fmt.Sprintf("column %q: %v", f.Name, err)
			}
			if cc.CryptoMetadata() != nil {
				return fmt.Sprintf("column %q is encrypted", f.Name)
			}
			if cc.FilePath() != "" {
				return fmt.Sprintf("column %q is stored in another file (%s)", f.Name, cc.FilePath())
			}
			if !adoptCodecs[cc.Compression()] {
				return fmt.Sprintf("column %q is compressed with %s", f.Name, cc.Compression())
			}
			for _, e := range cc.Encodings() {
				if !adoptEncodings[e] {
					return fmt.Sprintf("column %q has encoding %s", f.Name, e)
				}
			}
			st, err := cc.Statistics()
			if err != nil || st == nil || !st.HasNullCount() {
				nullsKnown = false
			} else {
				nulls += st.NullCount()
			}
		}
		if !f.Nullable && root.Field(i).RepetitionType() != parquet.Repetitions.Required {
			switch {
			case !nullsKnown:
				return fmt.Sprintf("column %q is not nullable in the table and the file's footer does not count its nulls", f.Name)
			case nulls > 0:
				return fmt.Sprintf("column %q is not nullable in the table and holds %d nulls", f.Name, nulls)
			}
		}
	}
	return af.pages
}

func fileColumnNames(root *schema.GroupNode) string {
	names := make([]string, root.NumFields())
	for i := range names {
		names[i] = root.Field(i).Name()
	}
	return strings.Join(names, ", ")
}

func tableColumnNames(fields []*StructField) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}
