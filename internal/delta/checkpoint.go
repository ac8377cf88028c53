package delta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/lakeport/lakeport/internal/delta/dv"
)

// checkpointColumns are the top-level checkpoint columns a snapshot needs.
// remove (tombstones) and commitInfo are not needed to reconstruct the live files.
var checkpointColumns = []string{"add", "metaData", "protocol", "txn", "domainMetadata", "sidecar", "checkpointMetadata"}

// readCheckpoint reads every action of one checkpoint (all its parts and sidecars).
func (t *Table) readCheckpoint(ctx context.Context, parts []logFile, emit func(*Action) error) error {
	for _, p := range parts {
		var sidecars []Sidecar
		collect := func(a *Action) error {
			if a.Sidecar != nil {
				sidecars = append(sidecars, *a.Sidecar)
				return nil
			}
			return emit(a)
		}
		var err error
		if p.Parquet {
			err = t.readParquetActions(ctx, p.Key, checkpointColumns, collect)
		} else {
			err = t.readJSONActions(ctx, p.Key, collect)
		}
		if err != nil {
			return &CorruptLogError{Table: t.location, Reason: fmt.Sprintf("checkpoint %s: %v", path.Base(p.Key), err)}
		}
		for _, sc := range sidecars {
			key := sc.Path
			if !strings.Contains(key, "/") {
				key = logDir + "_sidecars/" + key
			} else if k, ok := t.relativeKey(sc.Path); ok {
				key = k
			}
			if err := t.readParquetActions(ctx, key, []string{"add", "remove"}, emit); err != nil {
				return &CorruptLogError{Table: t.location, Reason: fmt.Sprintf("sidecar %s of checkpoint %s: %v", sc.Path, path.Base(p.Key), err)}
			}
		}
	}
	return nil
}

func (t *Table) readJSONActions(ctx context.Context, key string, emit func(*Action) error) error {
	b, err := t.bucket.ReadAll(ctx, key)
	if err != nil {
		return err
	}
	actions, err := ParseActions(strings.NewReader(string(b)))
	if err != nil {
		return err
	}
	for i := range actions {
		if err := emit(&actions[i]); err != nil {
			return err
		}
	}
	return nil
}

// readParquetActions reads the named top-level action columns of a Parquet
// checkpoint or sidecar file and emits one Action per non-null cell.
func (t *Table) readParquetActions(ctx context.Context, key string, columns []string, emit func(*Action) error) error {
	pf, err := openParquet(ctx, t.bucket, key, 8192)
	if err != nil {
		return err
	}
	defer pf.Close()
	sc, err := pf.reader.Schema()
	if err != nil {
		return err
	}
	var fields []int
	for _, c := range columns {
		if idx := sc.FieldIndices(c); len(idx) > 0 {
			fields = append(fields, idx[0])
		}
	}
	if len(fields) == 0 {
		return nil
	}
	rr, err := pf.reader.GetRecordReader(ctx, pf.leaves(fields), nil)
	if err != nil {
		return err
	}
	defer rr.Release()
	for {
		rec, err := rr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := actionsFromRecord(rec, emit); err != nil {
			return err
		}
	}
}

func actionsFromRecord(rec arrow.RecordBatch, emit func(*Action) error) error {
	cols := map[string]*array.Struct{}
	for i, f := range rec.Schema().Fields() {
		if s, ok := rec.Column(i).(*array.Struct); ok {
			cols[f.Name] = s
		}
	}
	for row := 0; row < int(rec.NumRows()); row++ {
		for name, s := range cols {
			if s.IsNull(row) {
				continue
			}
			r := structRow{s, row}
			var a Action
			switch name {
			case "add":
				p, ok := r.str("path")
				if !ok {
					continue // a null add.path marks an absent action in some writers
				}
				a.Add = &Add{Path: p, PartitionValues: r.strMap("partitionValues"), Size: r.int("size"),
					ModificationTime: r.int("modificationTime"), DataChange: r.bool("dataChange"),
					Tags: r.plainMap("tags"), DeletionVector: r.dv("deletionVector"),
					BaseRowID: r.optInt("baseRowId"), DefaultRowCommitVersion: r.optInt("defaultRowCommitVersion")}
				a.Add.Stats, _ = r.str("stats")
				if a.Add.Stats == "" {
					a.Add.Stats = r.json("stats_parsed")
				}
			case "remove":
				p, ok := r.str("path")
				if !ok {
					continue
				}
				a.Remove = &Remove{Path: p, DeletionTimestamp: r.optInt("deletionTimestamp"), DataChange: r.bool("dataChange"),
					PartitionValues: r.strMap("partitionValues"), DeletionVector: r.dv("deletionVector")}
			case "metaData":
				if _, ok := r.str("id"); !ok {
					if _, ok := r.str("schemaString"); !ok {
						continue // an all-null struct: no metaData on this row
					}
				}
				md := &Metadata{PartitionColumns: r.strList("partitionColumns"), Configuration: r.plainMap("configuration"),
					CreatedTime: r.optInt("createdTime")}
				md.ID, _ = r.str("id")
				md.Name, _ = r.str("name")
				md.Description, _ = r.str("description")
				md.SchemaString, _ = r.str("schemaString")
				if f, ok := r.child("format").(*array.Struct); ok && f.IsValid(row) {
					md.Format.Provider, _ = structRow{f, row}.str("provider")
					md.Format.Options = structRow{f, row}.plainMap("options")
				}
				a.Metadata = md
			case "protocol":
				if r.optInt("minReaderVersion") == nil {
					continue
				}
				a.Protocol = &Protocol{MinReaderVersion: int(r.int("minReaderVersion")), MinWriterVersion: int(r.int("minWriterVersion")),
					ReaderFeatures: r.strList("readerFeatures"), WriterFeatures: r.strList("writerFeatures")}
			case "txn":
				id, ok := r.str("appId")
				if !ok {
					continue
				}
				a.Txn = &Txn{AppID: id, Version: r.int("version"), LastUpdated: r.optInt("lastUpdated")}
			case "domainMetadata":
				d, ok := r.str("domain")
				if !ok {
					continue
				}
				a.DomainMetadata = &DomainMetadata{Domain: d, Removed: r.bool("removed")}
				a.DomainMetadata.Configuration, _ = r.str("configuration")
			case "sidecar":
				p, ok := r.str("path")
				if !ok {
					continue
				}
				a.Sidecar = &Sidecar{Path: p, SizeInBytes: r.int("sizeInBytes"), ModificationTime: r.int("modificationTime")}
			case "checkpointMetadata":
				a.CheckpointMetadata = &CheckpointMetadata{Version: r.int("version")}
			default:
				continue
			}
			if err := emit(&a); err != nil {
				return err
			}
		}
	}
	return nil
}

// structRow reads named fields of one row of a struct array.
type structRow struct {
	s   *array.Struct
	row int
}

func (r structRow) child(name string) arrow.Array {
	st := r.s.DataType().(*arrow.StructType)
	if i, ok := st.FieldIdx(name); ok {
		return r.s.Field(i)
	}
	return nil
}

func (r structRow) str(name string) (string, bool) {
	switch c := r.child(name).(type) {
	case *array.String:
		if c.IsValid(r.row) {
			return c.Value(r.row), true
		}
	case *array.LargeString:
		if c.IsValid(r.row) {
			return c.Value(r.row), true
		}
	}
	return "", false
}

func (r structRow) optInt(name string) *int64 {
	c := r.child(name)
	if c == nil || c.IsNull(r.row) {
		return nil
	}
	var v int64
	switch c := c.(type) {
	case *array.Int64:
		v = c.Value(r.row)
	case *array.Int32:
		v = int64(c.Value(r.row))
	case *array.Int16:
		v = int64(c.Value(r.row))
	case *array.Int8:
		v = int64(c.Value(r.row))
	default:
		return nil
	}
	return &v
}

func (r structRow) int(name string) int64 {
	if p := r.optInt(name); p != nil {
		return *p
	}
	return 0
}

func (r structRow) bool(name string) bool {
	if c, ok := r.child(name).(*array.Boolean); ok && c.IsValid(r.row) {
		return c.Value(r.row)
	}
	return false
}

func (r structRow) strList(name string) []string {
	l, ok := r.child(name).(*array.List)
	if !ok || l.IsNull(r.row) {
		return nil
	}
	vals, ok := l.ListValues().(*array.String)
	if !ok {
		return nil
	}
	start, end := l.ValueOffsets(r.row)
	out := make([]string, 0, end-start)
	for i := start; i < end; i++ {
		out = append(out, vals.Value(int(i)))
	}
	return out
}

// strMap reads a map<string,string> whose values may be null (partition values).
func (r structRow) strMap(name string) map[string]*string {
	m, ok := r.child(name).(*array.Map)
	if !ok || m.IsNull(r.row) {
		return map[string]*string{}
	}
	keys, kok := m.Keys().(*array.String)
	items, iok := m.Items().(*array.String)
	if !kok || !iok {
		return map[string]*string{}
	}
	start, end := m.ValueOffsets(r.row)
	out := make(map[string]*string, end-start)
	for i := int(start); i < int(end); i++ {
		if items.IsNull(i) {
			out[keys.Value(i)] = nil
			continue
		}
		v := items.Value(i)
		out[keys.Value(i)] = &v
	}
	return out
}

func (r structRow) plainMap(name string) map[string]string {
	in := r.strMap(name)
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

func (r structRow) dv(name string) *dv.Descriptor {
	s, ok := r.child(name).(*array.Struct)
	if !ok || s.IsNull(r.row) {
		return nil
	}
	d := structRow{s, r.row}
	st, ok := d.str("storageType")
	if !ok {
		return nil
	}
	desc := &dv.Descriptor{StorageType: st, SizeInBytes: int32(d.int("sizeInBytes")), Cardinality: d.int("cardinality"),
		MaxRowIndex: d.optInt("maxRowIndex")}
	desc.PathOrInlineDv, _ = d.str("pathOrInlineDv")
	if off := d.optInt("offset"); off != nil {
		o := int32(*off)
		desc.Offset = &o
	}
	return desc
}

// json renders a struct cell (stats_parsed) as the JSON stats string of an add action.
func (r structRow) json(name string) string {
	c := r.child(name)
	if c == nil || c.IsNull(r.row) {
		return ""
	}
	b, err := json.Marshal(c.GetOneForMarshal(r.row))
	if err != nil {
		return ""
	}
	return string(b)
}
