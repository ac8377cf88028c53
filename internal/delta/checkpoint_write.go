package delta

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/lakeport/lakeport/internal/delta/dv"
)

// The classic checkpoint schema, as Spark writes it.
var (
	strMap   = arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String)
	strList  = arrow.ListOf(arrow.BinaryTypes.String)
	dvStruct = arrow.StructOf(
		arrow.Field{Name: "storageType", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "pathOrInlineDv", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "offset", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		arrow.Field{Name: "sizeInBytes", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		arrow.Field{Name: "cardinality", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		arrow.Field{Name: "maxRowIndex", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	)
	nullable = func(name string, t arrow.DataType) arrow.Field {
		return arrow.Field{Name: name, Type: t, Nullable: true}
	}
	checkpointSchema = arrow.NewSchema([]arrow.Field{
		nullable("txn", arrow.StructOf(nullable("appId", arrow.BinaryTypes.String), nullable("version", arrow.PrimitiveTypes.Int64), nullable("lastUpdated", arrow.PrimitiveTypes.Int64))),
		nullable("add", arrow.StructOf(nullable("path", arrow.BinaryTypes.String), nullable("partitionValues", strMap), nullable("size", arrow.PrimitiveTypes.Int64),
			nullable("modificationTime", arrow.PrimitiveTypes.Int64), nullable("dataChange", arrow.FixedWidthTypes.Boolean), nullable("stats", arrow.BinaryTypes.String),
			nullable("tags", strMap), nullable("deletionVector", dvStruct), nullable("baseRowId", arrow.PrimitiveTypes.Int64), nullable("defaultRowCommitVersion", arrow.PrimitiveTypes.Int64))),
		nullable("remove", arrow.StructOf(nullable("path", arrow.BinaryTypes.String), nullable("deletionTimestamp", arrow.PrimitiveTypes.Int64), nullable("dataChange", arrow.FixedWidthTypes.Boolean),
			nullable("extendedFileMetadata", arrow.FixedWidthTypes.Boolean), nullable("partitionValues", strMap), nullable("size", arrow.PrimitiveTypes.Int64),
			nullable("deletionVector", dvStruct), nullable("baseRowId", arrow.PrimitiveTypes.Int64), nullable("defaultRowCommitVersion", arrow.PrimitiveTypes.Int64))),
		nullable("metaData", arrow.StructOf(nullable("id", arrow.BinaryTypes.String), nullable("name", arrow.BinaryTypes.String), nullable("description", arrow.BinaryTypes.String),
			nullable("format", arrow.StructOf(nullable("provider", arrow.BinaryTypes.String), nullable("options", strMap))),
			nullable("schemaString", arrow.BinaryTypes.String), nullable("partitionColumns", strList), nullable("configuration", strMap), nullable("createdTime", arrow.PrimitiveTypes.Int64))),
		nullable("protocol", arrow.StructOf(nullable("minReaderVersion", arrow.PrimitiveTypes.Int32), nullable("minWriterVersion", arrow.PrimitiveTypes.Int32),
			nullable("readerFeatures", strList), nullable("writerFeatures", strList))),
		nullable("domainMetadata", arrow.StructOf(nullable("domain", arrow.BinaryTypes.String), nullable("configuration", arrow.BinaryTypes.String), nullable("removed", arrow.FixedWidthTypes.Boolean))),
	}, nil)
)

// writeCheckpoint writes a classic single-file checkpoint of the snapshot and
// then _last_checkpoint. Removes newer than delta.deletedFileRetentionDuration
// (default 7 days) are kept as tombstones, as Spark keeps them.
func (t *Table) writeCheckpoint(ctx context.Context, s *Snapshot) error {
	if s.protocol.HasFeature("v2Checkpoint") {
		return nil // v2 checkpoints are not written by Lakeport; readers replay the log
	}
	tombstones, err := t.tombstones(ctx, s)
	if err != nil {
		return err
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, checkpointSchema)
	defer b.Release()
	rows := 0
	row := func(col int, fill func(sb *array.StructBuilder)) {
		for i := 0; i < checkpointSchema.NumFields(); i++ {
			if i == col {
				sb := b.Field(i).(*array.StructBuilder)
				sb.Append(true)
				fill(sb)
			} else {
				b.Field(i).AppendNull()
			}
		}
		rows++
	}
	row(4, func(sb *array.StructBuilder) {
		p := s.protocol
		sb.FieldBuilder(0).(*array.Int32Builder).Append(int32(p.MinReaderVersion))
		sb.FieldBuilder(1).(*array.Int32Builder).Append(int32(p.MinWriterVersion))
		appendStrList(sb.FieldBuilder(2).(*array.ListBuilder), p.ReaderFeatures, p.MinReaderVersion < 3)
		appendStrList(sb.FieldBuilder(3).(*array.ListBuilder), p.WriterFeatures, p.MinWriterVersion < 7)
	})
	row(3, func(sb *array.StructBuilder) {
		m := s.metadata
		sb.FieldBuilder(0).(*array.StringBuilder).Append(m.ID)
		appendOptString(sb.FieldBuilder(1).(*array.StringBuilder), m.Name)
		appendOptString(sb.FieldBuilder(2).(*array.StringBuilder), m.Description)
		fb := sb.FieldBuilder(3).(*array.StructBuilder)
		fb.Append(true)
		fb.FieldBuilder(0).(*array.StringBuilder).Append(orDefault(m.Format.Provider, "parquet"))
		appendStrMap(fb.FieldBuilder(1).(*array.MapBuilder), plainPtrMap(m.Format.Options))
		sb.FieldBuilder(4).(*array.StringBuilder).Append(m.SchemaString)
		appendStrList(sb.FieldBuilder(5).(*array.ListBuilder), m.PartitionColumns, false)
		appendStrMap(sb.FieldBuilder(6).(*array.MapBuilder), plainPtrMap(m.Configuration))
		appendOptInt(sb.FieldBuilder(7).(*array.Int64Builder), m.CreatedTime)
	})
	ids := make([]string, 0, len(s.txns))
	for id := range s.txns {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		tx := s.txns[id]
		row(0, func(sb *array.StructBuilder) {
			sb.FieldBuilder(0).(*array.StringBuilder).Append(tx.AppID)
			sb.FieldBuilder(1).(*array.Int64Builder).Append(tx.Version)
			appendOptInt(sb.FieldBuilder(2).(*array.Int64Builder), tx.LastUpdated)
		})
	}
	for _, d := range s.domains {
		row(5, func(sb *array.StructBuilder) {
			sb.FieldBuilder(0).(*array.StringBuilder).Append(d.Domain)
			sb.FieldBuilder(1).(*array.StringBuilder).Append(d.Configuration)
			sb.FieldBuilder(2).(*array.BooleanBuilder).Append(false)
		})
	}
	for _, a := range s.files {
		row(1, func(sb *array.StructBuilder) {
			sb.FieldBuilder(0).(*array.StringBuilder).Append(a.Path)
			appendStrMap(sb.FieldBuilder(1).(*array.MapBuilder), a.PartitionValues)
			sb.FieldBuilder(2).(*array.Int64Builder).Append(a.Size)
			sb.FieldBuilder(3).(*array.Int64Builder).Append(a.ModificationTime)
			sb.FieldBuilder(4).(*array.BooleanBuilder).Append(false)
			appendOptString(sb.FieldBuilder(5).(*array.StringBuilder), a.Stats)
			appendStrMapOrNull(sb.FieldBuilder(6).(*array.MapBuilder), a.Tags)
			appendDV(sb.FieldBuilder(7).(*array.StructBuilder), a.DeletionVector)
			appendOptInt(sb.FieldBuilder(8).(*array.Int64Builder), a.BaseRowID)
			appendOptInt(sb.FieldBuilder(9).(*array.Int64Builder), a.DefaultRowCommitVersion)
		})
	}
	for _, r := range tombstones {
		row(2, func(sb *array.StructBuilder) {
			sb.FieldBuilder(0).(*array.StringBuilder).Append(r.Path)
			appendOptInt(sb.FieldBuilder(1).(*array.Int64Builder), r.DeletionTimestamp)
			sb.FieldBuilder(2).(*array.BooleanBuilder).Append(false)
			sb.FieldBuilder(3).(*array.BooleanBuilder).Append(r.ExtendedFileMetadata != nil && *r.ExtendedFileMetadata)
			if r.PartitionValues != nil {
				appendStrMap(sb.FieldBuilder(4).(*array.MapBuilder), r.PartitionValues)
			} else {
				sb.FieldBuilder(4).AppendNull()
			}
			appendOptInt(sb.FieldBuilder(5).(*array.Int64Builder), r.Size)
			appendDV(sb.FieldBuilder(6).(*array.StructBuilder), r.DeletionVector)
			appendOptInt(sb.FieldBuilder(7).(*array.Int64Builder), r.BaseRowID)
			appendOptInt(sb.FieldBuilder(8).(*array.Int64Builder), r.DefaultRowCommitVersion)
		})
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	key := logDir + fmt.Sprintf("%020d.checkpoint.parquet", s.version)
	w, err := t.bucket.NewWriter(ctx, key)
	if err != nil {
		return err
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy))
	pw, err := pqarrow.NewFileWriter(checkpointSchema, w, props, pqarrow.DefaultWriterProps())
	if err != nil {
		w.Close()
		return err
	}
	if err := pw.Write(rec); err != nil {
		pw.Close()
		return err
	}
	if err := pw.Close(); err != nil { // closes w too
		return err
	}
	st, err := t.bucket.Stat(ctx, key)
	if err != nil {
		return err
	}
	hint, _ := json.Marshal(map[string]any{"version": s.version, "size": rows, "sizeInBytes": st.Size, "numOfAddFiles": len(s.files)})
	return t.bucket.Put(ctx, logDir+"_last_checkpoint", hint)
}

// tombstones replays the removes still within the retention period.
func (t *Table) tombstones(ctx context.Context, s *Snapshot) ([]*Remove, error) {
	retention := 7 * 24 * time.Hour
	if v, ok := s.Property("delta.deletedFileRetentionDuration"); ok {
		if d, err := ParseInterval(v); err == nil {
			retention = d
		}
	}
	cutoff := time.Now().Add(-retention).UnixMilli()
	seg, _, err := t.segmentFor(ctx, s.version)
	if err != nil {
		return nil, err
	}
	live := map[string]bool{}
	for _, a := range s.files {
		live[t.fileKey(a.Path, dvID(a.DeletionVector))] = true
	}
	seen := map[string]bool{}
	var out []*Remove
	keep := func(r *Remove) {
		k := t.fileKey(r.Path, dvID(r.DeletionVector))
		if seen[k] || live[k] || r.DeletionTimestamp == nil || *r.DeletionTimestamp < cutoff {
			return
		}
		seen[k] = true
		out = append(out, r)
	}
	for i := len(seg.Replay) - 1; i >= 0; i-- {
		if err := t.readJSONActions(ctx, seg.Replay[i].Key, func(a *Action) error {
			if a.Remove != nil {
				keep(a.Remove)
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	if len(seg.Checkpoint) > 0 {
		for _, p := range seg.Checkpoint {
			if !p.Parquet {
				continue
			}
			if err := t.readParquetActions(ctx, p.Key, []string{"remove"}, func(a *Action) error {
				if a.Remove != nil {
					keep(a.Remove)
				}
				return nil
			}); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func appendStrList(b *array.ListBuilder, vals []string, null bool) {
	if null {
		b.AppendNull()
		return
	}
	b.Append(true)
	vb := b.ValueBuilder().(*array.StringBuilder)
	for _, v := range vals {
		vb.Append(v)
	}
}

func appendStrMap(b *array.MapBuilder, m map[string]*string) {
	b.Append(true)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	kb, ib := b.KeyBuilder().(*array.StringBuilder), b.ItemBuilder().(*array.StringBuilder)
	for _, k := range keys {
		kb.Append(k)
		if v := m[k]; v != nil {
			ib.Append(*v)
		} else {
			ib.AppendNull()
		}
	}
}

func appendStrMapOrNull(b *array.MapBuilder, m map[string]string) {
	if m == nil {
		b.AppendNull()
		return
	}
	appendStrMap(b, plainPtrMap(m))
}

func plainPtrMap(m map[string]string) map[string]*string {
	out := make(map[string]*string, len(m))
	for k, v := range m {
		v := v
		out[k] = &v
	}
	return out
}

func appendOptString(b *array.StringBuilder, s string) {
	if s == "" {
		b.AppendNull()
		return
	}
	b.Append(s)
}

func appendOptInt(b *array.Int64Builder, v *int64) {
	if v == nil {
		b.AppendNull()
		return
	}
	b.Append(*v)
}

func appendDV(b *array.StructBuilder, d *dv.Descriptor) {
	if d == nil {
		b.AppendNull()
		return
	}
	b.Append(true)
	b.FieldBuilder(0).(*array.StringBuilder).Append(d.StorageType)
	b.FieldBuilder(1).(*array.StringBuilder).Append(d.PathOrInlineDv)
	if d.Offset != nil {
		b.FieldBuilder(2).(*array.Int32Builder).Append(*d.Offset)
	} else {
		b.FieldBuilder(2).AppendNull()
	}
	b.FieldBuilder(3).(*array.Int32Builder).Append(d.SizeInBytes)
	b.FieldBuilder(4).(*array.Int64Builder).Append(d.Cardinality)
	appendOptInt(b.FieldBuilder(5).(*array.Int64Builder), d.MaxRowIndex)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
