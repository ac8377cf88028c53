package deltatest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/google/uuid"
)

// Fixture writes a small, protocol-following Delta table for tests, benchmarks
// and sample data. It is not Lakeport's production writer: it is single-writer,
// keeps the table state in memory and writes straight to a local directory.
//
// Data files are Snappy-compressed Parquet with per-file statistics in their
// add actions; commits are written put-if-absent as _delta_log/%020d.json.
// Each record batch given to Append or Commit becomes one data file per
// partition value it contains.
//
// Fixture deliberately does not import internal/delta, so that the kernel's own
// tests can use it.
type Fixture struct {
	// Dir is the table's root directory.
	Dir string
	// Now is the commit clock: commitInfo.timestamp (and inCommitTimestamp),
	// add.modificationTime, remove.deletionTimestamp and the modification times
	// of the files written come from it. Nil means time.Now. Set it to build
	// time-travel cases deterministically.
	Now func() time.Time
	// RowGroupRows caps the rows per Parquet row group; 0 means 1<<20.
	RowGroupRows int64

	mu       sync.Mutex
	schema   *arrow.Schema
	partCols []string // as declared, in schema spelling
	partSet  map[string]bool
	protocol *fxProtocolAction
	metadata *fxMetadataAction
	version  int64
	live     []*fxAddAction // live files in the order they were added
	liveIdx  map[string]int
	tombs    map[string]*fxRemoveAction
	txns     map[string]*fxTxnAction
	domains  map[string]*fxDomainAction
	written  map[int64]fxWrittenFiles
	seq      int
}

type fxWrittenFiles struct{ adds, cdc []string }

// Commit describes one commit for Fixture.Commit. Every part is optional, but a
// commit writes at least its commitInfo.
type Commit struct {
	// Add are rows to write as new data files. Each batch has the table's
	// columns (matched by name) and becomes one file per partition value.
	Add []arrow.RecordBatch
	// Remove are paths of live files (as Files returns them) to remove.
	Remove []string
	// CDC are change data rows: the table's columns plus a string column
	// _change_type, written as cdc files under _change_data/.
	CDC []arrow.RecordBatch
	// Extra are raw actions written verbatim, one JSON object each, e.g.
	// {"txn":{...}} or {"metaData":{...}}. Protocol, metaData, txn,
	// domainMetadata, add and remove actions among them also update the state
	// that Files and Checkpoint see.
	Extra []json.RawMessage
	// NoDataChange writes the adds and removes with dataChange=false, as a
	// rearrangement such as OPTIMIZE does.
	NoDataChange bool
	// Operation is commitInfo.operation; empty means WRITE, DELETE or UPDATE
	// depending on the actions.
	Operation string
}

// fxChangeType is the column of a cdc file that holds the change type.
const fxChangeType = "_change_type"

// ---- actions, as they appear in the log ----

type fxProtocolAction struct {
	MinReaderVersion int      `json:"minReaderVersion"`
	MinWriterVersion int      `json:"minWriterVersion"`
	ReaderFeatures   []string `json:"readerFeatures,omitempty"`
	WriterFeatures   []string `json:"writerFeatures,omitempty"`
}

type fxFormatSpec struct {
	Provider string            `json:"provider"`
	Options  map[string]string `json:"options"`
}

type fxMetadataAction struct {
	ID               string            `json:"id"`
	Name             *string           `json:"name,omitempty"`
	Description      *string           `json:"description,omitempty"`
	Format           fxFormatSpec      `json:"format"`
	SchemaString     string            `json:"schemaString"`
	PartitionColumns []string          `json:"partitionColumns"`
	Configuration    map[string]string `json:"configuration"`
	CreatedTime      *int64            `json:"createdTime,omitempty"`
}

type fxDvDescriptor struct {
	StorageType    string `json:"storageType"`
	PathOrInlineDv string `json:"pathOrInlineDv"`
	Offset         *int32 `json:"offset,omitempty"`
	SizeInBytes    int32  `json:"sizeInBytes"`
	Cardinality    int64  `json:"cardinality"`
	MaxRowIndex    *int64 `json:"maxRowIndex,omitempty"`
}

type fxAddAction struct {
	Path                    string             `json:"path"`
	PartitionValues         map[string]*string `json:"partitionValues"`
	Size                    int64              `json:"size"`
	ModificationTime        int64              `json:"modificationTime"`
	DataChange              bool               `json:"dataChange"`
	Stats                   string             `json:"stats,omitempty"`
	Tags                    map[string]string  `json:"tags,omitempty"`
	DeletionVector          *fxDvDescriptor    `json:"deletionVector,omitempty"`
	BaseRowID               *int64             `json:"baseRowId,omitempty"`
	DefaultRowCommitVersion *int64             `json:"defaultRowCommitVersion,omitempty"`
	ClusteringProvider      *string            `json:"clusteringProvider,omitempty"`
}

type fxRemoveAction struct {
	Path                    string             `json:"path"`
	DeletionTimestamp       *int64             `json:"deletionTimestamp,omitempty"`
	DataChange              bool               `json:"dataChange"`
	ExtendedFileMetadata    *bool              `json:"extendedFileMetadata,omitempty"`
	PartitionValues         map[string]*string `json:"partitionValues,omitempty"`
	Size                    *int64             `json:"size,omitempty"`
	Stats                   string             `json:"stats,omitempty"`
	Tags                    map[string]string  `json:"tags,omitempty"`
	DeletionVector          *fxDvDescriptor    `json:"deletionVector,omitempty"`
	BaseRowID               *int64             `json:"baseRowId,omitempty"`
	DefaultRowCommitVersion *int64             `json:"defaultRowCommitVersion,omitempty"`
}

type fxCdcAction struct {
	Path            string             `json:"path"`
	PartitionValues map[string]*string `json:"partitionValues"`
	Size            int64              `json:"size"`
	DataChange      bool               `json:"dataChange"`
}

type fxTxnAction struct {
	AppID       string `json:"appId"`
	Version     int64  `json:"version"`
	LastUpdated *int64 `json:"lastUpdated,omitempty"`
}

type fxDomainAction struct {
	Domain        string `json:"domain"`
	Configuration string `json:"configuration"`
	Removed       bool   `json:"removed"`
}

type fxCommitInfoAction struct {
	Timestamp           int64          `json:"timestamp"`
	InCommitTimestamp   *int64         `json:"inCommitTimestamp,omitempty"`
	Operation           string         `json:"operation"`
	OperationParameters map[string]any `json:"operationParameters"`
	IsBlindAppend       bool           `json:"isBlindAppend"`
	EngineInfo          string         `json:"engineInfo"`
	TxnID               string         `json:"txnId"`
}

// ---- creating a table ----

// FixtureOption configures NewFixture.
type FixtureOption func(*Fixture)

// WithClock sets Fixture.Now before commit 0 is written, so that every commit,
// the first included, takes its timestamp from now.
func WithClock(now func() time.Time) FixtureOption { return func(f *Fixture) { f.Now = now } }

// NewFixture creates a Delta table in dir (created if needed) and writes commit
// 0: protocol, metaData (with the Delta schemaString built from schema) and
// commitInfo. partitionColumns name top-level columns of schema; props become
// metaData.configuration. Pass WithClock to time commit 0 too.
//
// The protocol is the lowest that fits: reader 1 / writer 2, writer 4 with
// delta.enableChangeDataFeed=true, and table features (reader 3 / writer 7)
// when the schema has timestamp_ntz or delta.enableInCommitTimestamps=true.
//
// Supported column types: int64/32/16/8 (long/integer/short/byte), float64/32
// (double/float), boolean, string, binary, date32 (date), timestamp[us] with a
// time zone (timestamp) or without (timestamp_ntz), decimal128 (decimal(p,s)),
// and structs, lists and maps of those.
func NewFixture(dir string, schema *arrow.Schema, partitionColumns []string, props map[string]string, opts ...FixtureOption) (*Fixture, error) {
	if schema == nil || schema.NumFields() == 0 {
		return nil, errors.New("deltatest: a table needs at least one column")
	}
	seen := map[string]bool{}
	for _, fld := range schema.Fields() {
		k := strings.ToLower(fld.Name)
		if seen[k] {
			return nil, fmt.Errorf("deltatest: duplicate column %q", fld.Name)
		}
		seen[k] = true
		if fld.Name == fxChangeType {
			return nil, fmt.Errorf("deltatest: %s is reserved for change data", fxChangeType)
		}
	}
	fields := make([]any, 0, schema.NumFields())
	for _, fld := range schema.Fields() {
		jf, err := fxDeltaField(fld)
		if err != nil {
			return nil, fmt.Errorf("deltatest: %w", err)
		}
		fields = append(fields, jf)
	}
	schemaString, err := json.Marshal(map[string]any{"type": "struct", "fields": fields})
	if err != nil {
		return nil, err
	}
	f := &Fixture{
		Dir: dir, schema: schema, partSet: map[string]bool{}, liveIdx: map[string]int{},
		tombs: map[string]*fxRemoveAction{}, txns: map[string]*fxTxnAction{}, domains: map[string]*fxDomainAction{},
		written: map[int64]fxWrittenFiles{}, version: -1,
	}
	for _, o := range opts {
		o(f)
	}
	for _, pc := range partitionColumns {
		idx := schema.FieldIndices(pc)
		if len(idx) != 1 {
			return nil, fmt.Errorf("deltatest: partition column %q is not a column of the schema", pc)
		}
		if !fxIsPrimitive(schema.Field(idx[0]).Type) {
			return nil, fmt.Errorf("deltatest: partition column %q has type %s; only primitive types can partition", pc, schema.Field(idx[0]).Type)
		}
		if f.partSet[pc] {
			return nil, fmt.Errorf("deltatest: partition column %q is listed twice", pc)
		}
		f.partCols = append(f.partCols, pc)
		f.partSet[pc] = true
	}
	if len(f.partCols) == schema.NumFields() {
		return nil, errors.New("deltatest: every column is a partition column; a table needs a data column")
	}
	conf := map[string]string{}
	for k, v := range props {
		conf[k] = v
	}
	f.protocol = fxProtocolFor(schema, conf)
	now := f.now()
	created := now.UnixMilli()
	f.metadata = &fxMetadataAction{
		ID: uuid.NewString(), Format: fxFormatSpec{Provider: "parquet", Options: map[string]string{}},
		SchemaString: string(schemaString), PartitionColumns: append([]string{}, f.partCols...),
		Configuration: conf, CreatedTime: &created,
	}
	if err := os.MkdirAll(filepath.Join(dir, "_delta_log"), 0o755); err != nil {
		return nil, err
	}
	partBy, _ := json.Marshal(f.metadata.PartitionColumns)
	propJSON, _ := json.Marshal(conf)
	ci := map[string]any{"partitionBy": string(partBy), "properties": string(propJSON), "isManaged": "false"}
	if _, err := f.commitAt(now, "CREATE TABLE", ci, true, []any{
		map[string]any{"protocol": f.protocol},
		map[string]any{"metaData": f.metadata},
	}, fxWrittenFiles{}); err != nil {
		return nil, err
	}
	return f, nil
}

func fxProtocolFor(schema *arrow.Schema, conf map[string]string) *fxProtocolAction {
	cdf := strings.EqualFold(conf["delta.enableChangeDataFeed"], "true")
	ict := strings.EqualFold(conf["delta.enableInCommitTimestamps"], "true")
	ntz := false
	for _, fld := range schema.Fields() {
		ntz = ntz || fxHasNTZ(fld.Type)
	}
	if !ntz && !ict {
		if cdf {
			return &fxProtocolAction{MinReaderVersion: 1, MinWriterVersion: 4}
		}
		return &fxProtocolAction{MinReaderVersion: 1, MinWriterVersion: 2}
	}
	p := &fxProtocolAction{MinReaderVersion: 1, MinWriterVersion: 7, WriterFeatures: []string{}}
	if ntz {
		p.MinReaderVersion = 3
		p.ReaderFeatures = []string{"timestampNtz"}
		p.WriterFeatures = append(p.WriterFeatures, "timestampNtz")
	}
	if cdf {
		p.WriterFeatures = append(p.WriterFeatures, "changeDataFeed")
	}
	if ict {
		p.WriterFeatures = append(p.WriterFeatures, "inCommitTimestamp")
	}
	return p
}

func fxHasNTZ(dt arrow.DataType) bool {
	switch t := dt.(type) {
	case *arrow.TimestampType:
		return t.TimeZone == ""
	case *arrow.StructType:
		for _, c := range t.Fields() {
			if fxHasNTZ(c.Type) {
				return true
			}
		}
	case *arrow.ListType:
		return fxHasNTZ(t.Elem())
	case *arrow.MapType:
		return fxHasNTZ(t.KeyType()) || fxHasNTZ(t.ItemType())
	}
	return false
}

func fxIsPrimitive(dt arrow.DataType) bool {
	switch dt.(type) {
	case *arrow.StructType, *arrow.ListType, *arrow.MapType:
		return false
	}
	return true
}

// fxDeltaField renders an Arrow field as a Delta schema field.
func fxDeltaField(fld arrow.Field) (map[string]any, error) {
	t, err := fxDeltaType(fld.Type)
	if err != nil {
		return nil, fmt.Errorf("column %q: %w", fld.Name, err)
	}
	return map[string]any{"name": fld.Name, "type": t, "nullable": fld.Nullable, "metadata": map[string]any{}}, nil
}

func fxDeltaType(dt arrow.DataType) (any, error) {
	switch t := dt.(type) {
	case *arrow.Int64Type:
		return "long", nil
	case *arrow.Int32Type:
		return "integer", nil
	case *arrow.Int16Type:
		return "short", nil
	case *arrow.Int8Type:
		return "byte", nil
	case *arrow.Float64Type:
		return "double", nil
	case *arrow.Float32Type:
		return "float", nil
	case *arrow.BooleanType:
		return "boolean", nil
	case *arrow.StringType:
		return "string", nil
	case *arrow.BinaryType:
		return "binary", nil
	case *arrow.Date32Type:
		return "date", nil
	case *arrow.TimestampType:
		if t.Unit != arrow.Microsecond {
			return nil, fmt.Errorf("timestamps must have microsecond unit (Delta stores microseconds), got %s", t)
		}
		if t.TimeZone == "" {
			return "timestamp_ntz", nil
		}
		return "timestamp", nil
	case *arrow.Decimal128Type:
		return fmt.Sprintf("decimal(%d,%d)", t.Precision, t.Scale), nil
	case *arrow.StructType:
		fs := make([]any, 0, t.NumFields())
		for _, c := range t.Fields() {
			jf, err := fxDeltaField(c)
			if err != nil {
				return nil, err
			}
			fs = append(fs, jf)
		}
		return map[string]any{"type": "struct", "fields": fs}, nil
	case *arrow.ListType:
		el, err := fxDeltaType(t.Elem())
		if err != nil {
			return nil, err
		}
		return map[string]any{"type": "array", "elementType": el, "containsNull": t.ElemField().Nullable}, nil
	case *arrow.MapType:
		k, err := fxDeltaType(t.KeyType())
		if err != nil {
			return nil, err
		}
		v, err := fxDeltaType(t.ItemType())
		if err != nil {
			return nil, err
		}
		return map[string]any{"type": "map", "keyType": k, "valueType": v, "valueContainsNull": t.ItemField().Nullable}, nil
	}
	return nil, fmt.Errorf("no Delta type for Arrow type %s", dt)
}

// ---- accessors ----

func (f *Fixture) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// Schema is the Arrow schema the fixture was created with.
func (f *Fixture) Schema() *arrow.Schema { return f.schema }

// Version is the latest committed version.
func (f *Fixture) Version() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.version
}

// Files returns the paths of the live data files, as their add actions name
// them (relative to Dir, URL-encoded), in the order they were added.
func (f *Fixture) Files() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.live))
	for i, a := range f.live {
		out[i] = a.Path
	}
	return out
}

// Written returns the data files (adds) and change data files (cdc) that the
// commit at version v wrote through this Fixture, as their actions name them.
func (f *Fixture) Written(v int64) (adds, cdc []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := f.written[v]
	return append([]string(nil), w.adds...), append([]string(nil), w.cdc...)
}

// LocalPath maps a path as an action names it (relative and URL-encoded) to
// the file's path on disk.
func (f *Fixture) LocalPath(p string) string {
	if dec, err := url.PathUnescape(p); err == nil {
		p = dec
	}
	return filepath.Join(f.Dir, filepath.FromSlash(p))
}

// ---- committing ----

// Append writes recs as new data files in one commit and returns its version.
func (f *Fixture) Append(recs ...arrow.RecordBatch) (int64, error) {
	return f.Commit(Commit{Add: recs})
}

// Commit writes one commit: data files for c.Add, remove actions for
// c.Remove, cdc files for c.CDC, c.Extra verbatim, and a commitInfo. It
// returns the new version. The commit file is written put-if-absent: if the
// version already exists the commit fails with an error wrapping
// os.ErrExist (the data files it wrote are left behind, as any writer's would).
func (f *Fixture) Commit(c Commit) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	dataChange := !c.NoDataChange
	removed := map[string]bool{}
	for _, p := range c.Remove {
		if _, ok := f.liveIdx[p]; !ok || removed[p] {
			return -1, fmt.Errorf("deltatest: remove %q: not a live file of the table", p)
		}
		removed[p] = true
	}
	var actions []any
	var w fxWrittenFiles
	for _, rec := range c.Add {
		adds, err := f.writeBatch(rec, false, now)
		if err != nil {
			return -1, err
		}
		for _, a := range adds {
			a.DataChange = dataChange
			actions = append(actions, map[string]any{"add": a})
			w.adds = append(w.adds, a.Path)
		}
	}
	for _, p := range c.Remove {
		a := f.live[f.liveIdx[p]]
		ts, size, ext := now.UnixMilli(), a.Size, true
		actions = append(actions, map[string]any{"remove": &fxRemoveAction{
			Path: a.Path, DeletionTimestamp: &ts, DataChange: dataChange, ExtendedFileMetadata: &ext,
			PartitionValues: a.PartitionValues, Size: &size, Stats: a.Stats, Tags: a.Tags, DeletionVector: a.DeletionVector,
		}})
	}
	for _, rec := range c.CDC {
		cdcs, err := f.writeBatch(rec, true, now)
		if err != nil {
			return -1, err
		}
		for _, a := range cdcs {
			actions = append(actions, map[string]any{"cdc": &fxCdcAction{Path: a.Path, PartitionValues: a.PartitionValues, Size: a.Size}})
			w.cdc = append(w.cdc, a.Path)
		}
	}
	for i, raw := range c.Extra {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return -1, fmt.Errorf("deltatest: extra action %d is not a JSON object: %w", i, err)
		}
		actions = append(actions, json.RawMessage(fxCompactJSON(raw)))
	}
	op := c.Operation
	if op == "" {
		switch {
		case len(c.Remove) == 0:
			op = "WRITE"
		case len(c.Add) == 0:
			op = "DELETE"
		default:
			op = "UPDATE"
		}
	}
	blind := len(c.Remove) == 0 && len(c.CDC) == 0
	params := map[string]any{"mode": "Append"}
	if !blind {
		params = map[string]any{"predicate": "[]"}
	}
	return f.commitAt(now, op, params, blind, actions, w)
}

func (f *Fixture) commitAt(now time.Time, op string, params map[string]any, blind bool, actions []any, w fxWrittenFiles) (int64, error) {
	v := f.version + 1
	ci := &fxCommitInfoAction{
		Timestamp: now.UnixMilli(), Operation: op, OperationParameters: params, IsBlindAppend: blind,
		EngineInfo: "lakeport-deltatest", TxnID: uuid.NewString(),
	}
	if f.ictEnabled() {
		ts := now.UnixMilli()
		ci.InCommitTimestamp = &ts
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// commitInfo first: in-commit timestamps require it, and Spark does the same.
	if err := enc.Encode(map[string]any{"commitInfo": ci}); err != nil {
		return -1, err
	}
	for _, a := range actions {
		if err := enc.Encode(a); err != nil {
			return -1, err
		}
	}
	name := filepath.Join(f.Dir, "_delta_log", fmt.Sprintf("%020d.json", v))
	if err := fxPutIfAbsent(name, buf.Bytes(), now); err != nil {
		return -1, fmt.Errorf("deltatest: commit %d: %w", v, err)
	}
	f.version = v
	f.written[v] = w
	// apply the commit to the in-memory state
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		if err := f.apply(line); err != nil {
			return -1, fmt.Errorf("deltatest: commit %d was written but cannot be tracked: %w", v, err)
		}
	}
	return v, nil
}

func (f *Fixture) ictEnabled() bool {
	return strings.EqualFold(f.metadata.Configuration["delta.enableInCommitTimestamps"], "true")
}

// apply updates the tracked table state with one action line.
func (f *Fixture) apply(line []byte) error {
	var a struct {
		Protocol       *fxProtocolAction `json:"protocol"`
		MetaData       *fxMetadataAction `json:"metaData"`
		Add            *fxAddAction      `json:"add"`
		Remove         *fxRemoveAction   `json:"remove"`
		Txn            *fxTxnAction      `json:"txn"`
		DomainMetadata *fxDomainAction   `json:"domainMetadata"`
	}
	if err := json.Unmarshal(line, &a); err != nil {
		return err
	}
	switch {
	case a.Protocol != nil:
		f.protocol = a.Protocol
	case a.MetaData != nil:
		f.metadata = a.MetaData
	case a.Add != nil:
		if a.Add.PartitionValues == nil {
			a.Add.PartitionValues = map[string]*string{}
		}
		if i, ok := f.liveIdx[a.Add.Path]; ok {
			f.live[i] = a.Add
		} else {
			f.liveIdx[a.Add.Path] = len(f.live)
			f.live = append(f.live, a.Add)
		}
		delete(f.tombs, a.Add.Path)
	case a.Remove != nil:
		if i, ok := f.liveIdx[a.Remove.Path]; ok {
			f.live = append(f.live[:i], f.live[i+1:]...)
			delete(f.liveIdx, a.Remove.Path)
			for j := i; j < len(f.live); j++ {
				f.liveIdx[f.live[j].Path] = j
			}
		}
		f.tombs[a.Remove.Path] = a.Remove
	case a.Txn != nil:
		f.txns[a.Txn.AppID] = a.Txn
	case a.DomainMetadata != nil:
		f.domains[a.DomainMetadata.Domain] = a.DomainMetadata
	}
	return nil
}

// fxPutIfAbsent writes name atomically, failing with os.ErrExist when it exists:
// the content goes to a temporary file that is then hard-linked into place
// (link(2) never replaces a file), so no reader sees a partial commit.
func fxPutIfAbsent(name string, data []byte, mtime time.Time) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chtimes(tmp.Name(), mtime, mtime); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), name); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s already exists: %w", filepath.Base(name), os.ErrExist)
		}
		return err
	}
	return nil
}

func fxCompactJSON(raw []byte) []byte {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}

// ---- data files ----

// conform returns rec with the table's columns in table order (plus
// _change_type when cdc), matched by name.
func (f *Fixture) conform(rec arrow.RecordBatch, cdc bool) (arrow.RecordBatch, error) {
	want := f.schema.Fields()
	if cdc {
		want = append(append([]arrow.Field{}, want...), arrow.Field{Name: fxChangeType, Type: arrow.BinaryTypes.String})
	}
	sc := rec.Schema()
	if int(rec.NumCols()) != len(want) {
		return nil, fmt.Errorf("deltatest: batch has columns %v, want %v", fxFieldNames(sc.Fields()), fxFieldNames(want))
	}
	cols := make([]arrow.Array, len(want))
	for i, fld := range want {
		idx := sc.FieldIndices(fld.Name)
		if len(idx) != 1 {
			return nil, fmt.Errorf("deltatest: batch has no column %q (columns: %v)", fld.Name, fxFieldNames(sc.Fields()))
		}
		col := rec.Column(idx[0])
		if !arrow.TypeEqual(col.DataType(), fld.Type) {
			return nil, fmt.Errorf("deltatest: column %q has type %s, the table has %s", fld.Name, col.DataType(), fld.Type)
		}
		if !fld.Nullable && col.NullN() > 0 {
			return nil, fmt.Errorf("deltatest: column %q is not nullable but has %d nulls", fld.Name, col.NullN())
		}
		cols[i] = col
	}
	return array.NewRecordBatch(arrow.NewSchema(want, nil), cols, rec.NumRows()), nil
}

func fxFieldNames(fs []arrow.Field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

// writeBatch writes one batch as one file per partition value and returns an
// add action per file (for cdc, the add's Path/PartitionValues/Size describe
// the cdc file).
func (f *Fixture) writeBatch(rec arrow.RecordBatch, cdc bool, now time.Time) ([]*fxAddAction, error) {
	full, err := f.conform(rec, cdc)
	if err != nil {
		return nil, err
	}
	defer full.Release()
	if full.NumRows() == 0 {
		return nil, nil
	}
	parts, err := f.split(full)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, p := range parts {
			p.rec.Release()
		}
	}()
	out := make([]*fxAddAction, 0, len(parts))
	for _, p := range parts {
		a, err := f.writePart(p, cdc, now)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

type fxPart struct {
	values map[string]*string // partition values
	dir    string             // "a=1/b=x/" (on disk, Hive-escaped) or ""
	rec    arrow.RecordBatch  // the data columns (partition columns dropped)
}

// split groups the rows of rec by partition value, in order of first appearance.
func (f *Fixture) split(rec arrow.RecordBatch) ([]*fxPart, error) {
	sc := rec.Schema()
	var dataIdx, partIdx []int
	for i, fld := range sc.Fields() {
		if f.partSet[fld.Name] {
			continue
		}
		dataIdx = append(dataIdx, i)
	}
	for _, pc := range f.partCols {
		partIdx = append(partIdx, sc.FieldIndices(pc)[0])
	}
	dataFields := make([]arrow.Field, len(dataIdx))
	for i, j := range dataIdx {
		dataFields[i] = sc.Field(j)
	}
	dataSchema := arrow.NewSchema(dataFields, nil)
	project := func(cols []arrow.Array, n int64) arrow.RecordBatch {
		return array.NewRecordBatch(dataSchema, cols, n)
	}
	if len(partIdx) == 0 {
		cols := make([]arrow.Array, len(dataIdx))
		for i, j := range dataIdx {
			cols[i] = rec.Column(j)
		}
		return []*fxPart{{values: map[string]*string{}, rec: project(cols, rec.NumRows())}}, nil
	}
	type group struct {
		p    *fxPart
		rows []int32
	}
	groups := map[string]*group{}
	var order []*group
	for row := 0; row < int(rec.NumRows()); row++ {
		var key strings.Builder
		vals := make([]*string, len(partIdx))
		for i, j := range partIdx {
			v, err := fxPartitionValue(rec.Column(j), row)
			if err != nil {
				return nil, fmt.Errorf("deltatest: partition column %q: %w", sc.Field(j).Name, err)
			}
			vals[i] = v
			if v == nil {
				key.WriteString("\x00N")
			} else {
				key.WriteString("\x00V")
				key.WriteString(*v)
			}
		}
		g, ok := groups[key.String()]
		if !ok {
			p := &fxPart{values: map[string]*string{}}
			var dir strings.Builder
			for i, j := range partIdx {
				name := sc.Field(j).Name
				p.values[name] = vals[i]
				seg := fxHiveDefaultPartition
				if vals[i] != nil {
					seg = fxEscapePathName(*vals[i])
				}
				dir.WriteString(fxEscapePathName(name) + "=" + seg + "/")
			}
			p.dir = dir.String()
			g = &group{p: p}
			groups[key.String()] = g
			order = append(order, g)
		}
		g.rows = append(g.rows, int32(row))
	}
	out := make([]*fxPart, 0, len(order))
	for _, g := range order {
		if len(order) == 1 {
			cols := make([]arrow.Array, len(dataIdx))
			for i, j := range dataIdx {
				cols[i] = rec.Column(j)
			}
			g.p.rec = project(cols, rec.NumRows())
			out = append(out, g.p)
			continue
		}
		ib := array.NewInt32Builder(memory.DefaultAllocator)
		ib.AppendValues(g.rows, nil)
		idx := ib.NewArray()
		ib.Release()
		cols := make([]arrow.Array, len(dataIdx))
		for i, j := range dataIdx {
			c, err := compute.TakeArray(context.Background(), rec.Column(j), idx)
			if err != nil {
				idx.Release()
				return nil, err
			}
			cols[i] = c
		}
		idx.Release()
		g.p.rec = project(cols, int64(len(g.rows)))
		for _, c := range cols {
			c.Release()
		}
		out = append(out, g.p)
	}
	return out, nil
}

const fxHiveDefaultPartition = "__HIVE_DEFAULT_PARTITION__"

// fxEscapePathName escapes a partition directory name the way Spark (Hive) does.
func fxEscapePathName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || strings.IndexByte("\"#%'*/:=?\\{[]^", c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// writePart writes one Parquet file and returns its add action.
func (f *Fixture) writePart(p *fxPart, cdc bool, now time.Time) (*fxAddAction, error) {
	f.seq++
	name := fmt.Sprintf("part-%05d-%s-c000.snappy.parquet", f.seq, uuid.NewString())
	dir := p.dir
	if cdc {
		name = fmt.Sprintf("cdc-%05d-%s-c000.snappy.parquet", f.seq, uuid.NewString())
		dir = "_change_data/" + dir
	}
	rel := dir + name
	abs := filepath.Join(f.Dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return nil, err
	}
	size, err := fxWriteParquetFile(abs, p.rec, f.rowGroupRows())
	if err != nil {
		return nil, fmt.Errorf("deltatest: write %s: %w", rel, err)
	}
	if err := os.Chtimes(abs, now, now); err != nil {
		return nil, err
	}
	a := &fxAddAction{Path: (&url.URL{Path: rel}).EscapedPath(), PartitionValues: p.values, Size: size, ModificationTime: now.UnixMilli()}
	if !cdc {
		a.Stats, err = fxFileStats(p.rec)
		if err != nil {
			return nil, err
		}
	}
	return a, nil
}

func (f *Fixture) rowGroupRows() int64 {
	if f.RowGroupRows > 0 {
		return f.RowGroupRows
	}
	return 1 << 20
}

// fxWriteParquetFile writes rec to a new file (failing if it exists) as
// Snappy-compressed Parquet and returns its size.
func fxWriteParquetFile(name string, rec arrow.RecordBatch, rowGroupRows int64) (int64, error) {
	file, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, err
	}
	ok := false
	defer func() {
		if !ok {
			file.Close()
			os.Remove(name)
		}
	}()
	bw := bufio.NewWriterSize(file, 1<<20)
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(rowGroupRows),
		parquet.WithCreatedBy("lakeport-deltatest"),
	)
	w, err := pqarrow.NewFileWriter(rec.Schema(), bw, props, pqarrow.NewArrowWriterProperties())
	if err != nil {
		return 0, err
	}
	if err := w.Write(rec); err != nil {
		w.Close()
		return 0, err
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	st, err := file.Stat()
	if err != nil {
		return 0, err
	}
	if err := file.Close(); err != nil {
		return 0, err
	}
	ok = true
	return st.Size(), nil
}

// ---- partition values and statistics ----

// fxPartitionValue serializes one value as a Delta partition value (PROTOCOL.md
// "Partition Value Serialization"); nil is null. Empty strings are null, as in Spark.
func fxPartitionValue(col arrow.Array, row int) (*string, error) {
	if col.IsNull(row) {
		return nil, nil
	}
	var s string
	switch c := col.(type) {
	case *array.String:
		s = c.Value(row)
		if s == "" {
			return nil, nil
		}
	case *array.Binary:
		s = string(c.Value(row))
		if s == "" {
			return nil, nil
		}
	case *array.Int64:
		s = strconv.FormatInt(c.Value(row), 10)
	case *array.Int32:
		s = strconv.FormatInt(int64(c.Value(row)), 10)
	case *array.Int16:
		s = strconv.FormatInt(int64(c.Value(row)), 10)
	case *array.Int8:
		s = strconv.FormatInt(int64(c.Value(row)), 10)
	case *array.Float64:
		s = fxFormatFloat(c.Value(row), 64)
	case *array.Float32:
		s = fxFormatFloat(float64(c.Value(row)), 32)
	case *array.Boolean:
		s = strconv.FormatBool(c.Value(row))
	case *array.Date32:
		s = c.Value(row).ToTime().Format("2006-01-02")
	case *array.Timestamp:
		t := time.UnixMicro(int64(c.Value(row))).UTC()
		if c.DataType().(*arrow.TimestampType).TimeZone == "" {
			s = t.Format("2006-01-02 15:04:05.999999")
		} else {
			s = t.Format("2006-01-02T15:04:05.999999Z")
		}
	case *array.Decimal128:
		s = c.Value(row).ToString(c.DataType().(*arrow.Decimal128Type).Scale)
	default:
		return nil, fmt.Errorf("cannot partition by %s", col.DataType())
	}
	return &s, nil
}

func fxFormatFloat(v float64, bits int) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(v, 'g', -1, bits)
}

type fxStatsJSON struct {
	NumRecords int64          `json:"numRecords"`
	MinValues  map[string]any `json:"minValues"`
	MaxValues  map[string]any `json:"maxValues"`
	NullCount  map[string]any `json:"nullCount"`
}

// fxFileStats computes the add.stats JSON of a data file: numRecords and, per
// column, nullCount and (for orderable types) exact minValues and maxValues.
// Nested struct fields nest, as Spark writes them; booleans, binary, arrays and
// maps get a nullCount only, and floats with NaN or infinities get no min/max.
func fxFileStats(rec arrow.RecordBatch) (string, error) {
	st := fxStatsJSON{NumRecords: rec.NumRows(), MinValues: map[string]any{}, MaxValues: map[string]any{}, NullCount: map[string]any{}}
	for i, fld := range rec.Schema().Fields() {
		fxColumnStats(fld.Name, rec.Column(i), st.MinValues, st.MaxValues, st.NullCount)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(st); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

func fxColumnStats(name string, col arrow.Array, mins, maxs, nulls map[string]any) {
	if s, ok := col.(*array.Struct); ok {
		cmin, cmax, cnull := map[string]any{}, map[string]any{}, map[string]any{}
		for i, fld := range s.DataType().(*arrow.StructType).Fields() {
			// a child is null wherever its struct is; Spark counts those rows as null too
			fxColumnStats(fld.Name, s.Field(i), cmin, cmax, cnull)
		}
		if len(cmin) > 0 {
			mins[name] = cmin
		}
		if len(cmax) > 0 {
			maxs[name] = cmax
		}
		nulls[name] = cnull
		return
	}
	nulls[name] = col.NullN()
	lo, hi, ok := fxMinMax(col)
	if ok {
		mins[name] = lo
		maxs[name] = hi
	}
}

// fxMinMax returns JSON-ready exact bounds of the non-null values of col.
func fxMinMax(col arrow.Array) (any, any, bool) {
	n := col.Len()
	ints := func(get func(int) int64) (int64, int64, bool) {
		var lo, hi int64
		found := false
		for i := 0; i < n; i++ {
			if col.IsNull(i) {
				continue
			}
			v := get(i)
			if !found || v < lo {
				lo = v
			}
			if !found || v > hi {
				hi = v
			}
			found = true
		}
		return lo, hi, found
	}
	floats := func(get func(int) float64, bits int) (any, any, bool) {
		var lo, hi float64
		found := false
		for i := 0; i < n; i++ {
			if col.IsNull(i) {
				continue
			}
			v := get(i)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, nil, false
			}
			if !found || v < lo {
				lo = v
			}
			if !found || v > hi {
				hi = v
			}
			found = true
		}
		if !found {
			return nil, nil, false
		}
		return json.RawMessage(strconv.FormatFloat(lo, 'g', -1, bits)), json.RawMessage(strconv.FormatFloat(hi, 'g', -1, bits)), true
	}
	switch c := col.(type) {
	case *array.Int64:
		lo, hi, ok := ints(func(i int) int64 { return c.Value(i) })
		return lo, hi, ok
	case *array.Int32:
		lo, hi, ok := ints(func(i int) int64 { return int64(c.Value(i)) })
		return lo, hi, ok
	case *array.Int16:
		lo, hi, ok := ints(func(i int) int64 { return int64(c.Value(i)) })
		return lo, hi, ok
	case *array.Int8:
		lo, hi, ok := ints(func(i int) int64 { return int64(c.Value(i)) })
		return lo, hi, ok
	case *array.Float64:
		return floats(func(i int) float64 { return c.Value(i) }, 64)
	case *array.Float32:
		return floats(func(i int) float64 { return float64(c.Value(i)) }, 32)
	case *array.Date32:
		lo, hi, ok := ints(func(i int) int64 { return int64(c.Value(i)) })
		day := func(d int64) string { return arrow.Date32(d).ToTime().Format("2006-01-02") }
		return day(lo), day(hi), ok
	case *array.Timestamp:
		lo, hi, ok := ints(func(i int) int64 { return int64(c.Value(i)) })
		ntz := c.DataType().(*arrow.TimestampType).TimeZone == ""
		return fxStatTimestamp(lo, ntz), fxStatTimestamp(hi, ntz), ok
	case *array.String:
		var lo, hi string
		found := false
		for i := 0; i < n; i++ {
			if c.IsNull(i) {
				continue
			}
			v := c.Value(i)
			if !found || v < lo {
				lo = v
			}
			if !found || v > hi {
				hi = v
			}
			found = true
		}
		return lo, hi, found
	case *array.Decimal128:
		var lo, hi = c.Value(0), c.Value(0)
		found := false
		for i := 0; i < n; i++ {
			if c.IsNull(i) {
				continue
			}
			v := c.Value(i)
			if !found || v.Less(lo) {
				lo = v
			}
			if !found || v.Greater(hi) {
				hi = v
			}
			found = true
		}
		scale := c.DataType().(*arrow.Decimal128Type).Scale
		return json.RawMessage(lo.ToString(scale)), json.RawMessage(hi.ToString(scale)), found
	}
	return nil, nil, false
}

// fxStatTimestamp formats a timestamp statistic: millisecond precision (as Spark
// writes it) when that is exact, else microseconds, so the bound stays exact.
func fxStatTimestamp(us int64, ntz bool) string {
	t := time.UnixMicro(us).UTC()
	layout := "2006-01-02T15:04:05.000"
	if us%1000 != 0 {
		layout = "2006-01-02T15:04:05.000000"
	}
	if !ntz {
		layout += "Z"
	}
	return t.Format(layout)
}

// ---- checkpoints ----

// Checkpoint writes a classic single-file Parquet checkpoint of the current
// version, _delta_log/%020d.checkpoint.parquet, with the columns Spark writes
// (txn, add, remove, metaData, protocol; domainMetadata when the table has
// any), and then _last_checkpoint {"version":N,"size":M,...}. Live files are
// written with dataChange=false; remove tombstones are kept while younger than
// delta.deletedFileRetentionDuration (default one week) by the Now clock.
func (f *Fixture) Checkpoint() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	retention := 7 * 24 * time.Hour
	if s, ok := f.metadata.Configuration["delta.deletedFileRetentionDuration"]; ok {
		if d, err := fxParseInterval(s); err == nil {
			retention = d
		}
	}
	cutoff := now.Add(-retention).UnixMilli()
	var rows []fxCpRow
	rows = append(rows, fxCpRow{Protocol: f.protocol})
	rows = append(rows, fxCpRow{MetaData: fxCpMetaFrom(f.metadata)})
	for _, id := range fxSortedKeys(f.txns) {
		rows = append(rows, fxCpRow{Txn: f.txns[id]})
	}
	for _, d := range fxSortedKeys(f.domains) {
		if !f.domains[d].Removed {
			rows = append(rows, fxCpRow{DomainMetadata: f.domains[d]})
		}
	}
	for _, a := range f.live {
		rows = append(rows, fxCpRow{Add: fxCpAddFrom(a)})
	}
	for _, p := range fxSortedKeys(f.tombs) {
		r := f.tombs[p]
		if r.DeletionTimestamp != nil && *r.DeletionTimestamp < cutoff {
			continue
		}
		rows = append(rows, fxCpRow{Remove: fxCpRemoveFrom(r)})
	}
	schema := fxCheckpointSchema(len(f.domains) > 0)
	js, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, schema, bytes.NewReader(js))
	if err != nil {
		return fmt.Errorf("deltatest: checkpoint: %w", err)
	}
	defer rec.Release()
	v := f.version
	logDir := filepath.Join(f.Dir, "_delta_log")
	tmp := filepath.Join(logDir, fmt.Sprintf(".%020d.checkpoint.parquet.tmp-%s", v, uuid.NewString()))
	size, err := fxWriteParquetFile(tmp, rec, 1<<20)
	if err != nil {
		return fmt.Errorf("deltatest: checkpoint: %w", err)
	}
	defer os.Remove(tmp)
	name := filepath.Join(logDir, fmt.Sprintf("%020d.checkpoint.parquet", v))
	if err := os.Link(tmp, name); err != nil {
		return fmt.Errorf("deltatest: checkpoint %d: %w", v, err)
	}
	last, _ := json.Marshal(map[string]int64{"version": v, "size": int64(len(rows)), "sizeInBytes": size, "numOfAddFiles": int64(len(f.live))})
	lastTmp := filepath.Join(logDir, "._last_checkpoint.tmp-"+uuid.NewString())
	if err := os.WriteFile(lastTmp, last, 0o644); err != nil {
		return err
	}
	if err := os.Rename(lastTmp, filepath.Join(logDir, "_last_checkpoint")); err != nil {
		os.Remove(lastTmp)
		return err
	}
	return nil
}

// fxKvList renders a map as the JSON form of an Arrow map: [{"key":..,"value":..}], sorted by key.
type fxKvList map[string]*string

func (m fxKvList) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte("null"), nil
	}
	type kv struct {
		Key   string  `json:"key"`
		Value *string `json:"value"`
	}
	out := make([]kv, 0, len(m))
	for _, k := range fxSortedKeys(m) {
		out = append(out, kv{k, m[k]})
	}
	return json.Marshal(out)
}

func fxPlainKV(m map[string]string) fxKvList {
	if m == nil {
		return nil
	}
	out := make(fxKvList, len(m))
	for k, v := range m {
		out[k] = &v
	}
	return out
}

type fxCpRow struct {
	Txn            *fxTxnAction      `json:"txn"`
	Add            *fxCpAdd          `json:"add"`
	Remove         *fxCpRemove       `json:"remove"`
	MetaData       *fxCpMeta         `json:"metaData"`
	Protocol       *fxProtocolAction `json:"protocol"`
	DomainMetadata *fxDomainAction   `json:"domainMetadata,omitempty"`
}

type fxCpAdd struct {
	Path                    string          `json:"path"`
	PartitionValues         fxKvList        `json:"partitionValues"`
	Size                    int64           `json:"size"`
	ModificationTime        int64           `json:"modificationTime"`
	DataChange              bool            `json:"dataChange"`
	Stats                   *string         `json:"stats"`
	Tags                    fxKvList        `json:"tags"`
	DeletionVector          *fxDvDescriptor `json:"deletionVector"`
	BaseRowID               *int64          `json:"baseRowId"`
	DefaultRowCommitVersion *int64          `json:"defaultRowCommitVersion"`
	ClusteringProvider      *string         `json:"clusteringProvider"`
}

type fxCpRemove struct {
	Path                    string          `json:"path"`
	DeletionTimestamp       *int64          `json:"deletionTimestamp"`
	DataChange              bool            `json:"dataChange"`
	ExtendedFileMetadata    *bool           `json:"extendedFileMetadata"`
	PartitionValues         fxKvList        `json:"partitionValues"`
	Size                    *int64          `json:"size"`
	Tags                    fxKvList        `json:"tags"`
	DeletionVector          *fxDvDescriptor `json:"deletionVector"`
	BaseRowID               *int64          `json:"baseRowId"`
	DefaultRowCommitVersion *int64          `json:"defaultRowCommitVersion"`
}

type fxCpFormat struct {
	Provider string   `json:"provider"`
	Options  fxKvList `json:"options"`
}

type fxCpMeta struct {
	ID               string     `json:"id"`
	Name             *string    `json:"name"`
	Description      *string    `json:"description"`
	Format           fxCpFormat `json:"format"`
	SchemaString     string     `json:"schemaString"`
	PartitionColumns []string   `json:"partitionColumns"`
	Configuration    fxKvList   `json:"configuration"`
	CreatedTime      *int64     `json:"createdTime"`
}

func fxCpAddFrom(a *fxAddAction) *fxCpAdd {
	c := &fxCpAdd{Path: a.Path, PartitionValues: fxKvList(a.PartitionValues), Size: a.Size, ModificationTime: a.ModificationTime,
		DataChange: false, Tags: fxPlainKV(a.Tags), DeletionVector: a.DeletionVector, BaseRowID: a.BaseRowID,
		DefaultRowCommitVersion: a.DefaultRowCommitVersion, ClusteringProvider: a.ClusteringProvider}
	if c.PartitionValues == nil {
		c.PartitionValues = fxKvList{}
	}
	if a.Stats != "" {
		s := a.Stats
		c.Stats = &s
	}
	return c
}

func fxCpRemoveFrom(r *fxRemoveAction) *fxCpRemove {
	return &fxCpRemove{Path: r.Path, DeletionTimestamp: r.DeletionTimestamp, DataChange: r.DataChange,
		ExtendedFileMetadata: r.ExtendedFileMetadata, PartitionValues: fxKvList(r.PartitionValues), Size: r.Size,
		Tags: fxPlainKV(r.Tags), DeletionVector: r.DeletionVector, BaseRowID: r.BaseRowID, DefaultRowCommitVersion: r.DefaultRowCommitVersion}
}

func fxCpMetaFrom(m *fxMetadataAction) *fxCpMeta {
	pc := m.PartitionColumns
	if pc == nil {
		pc = []string{}
	}
	opts := fxPlainKV(m.Format.Options)
	if opts == nil {
		opts = fxKvList{}
	}
	conf := fxPlainKV(m.Configuration)
	if conf == nil {
		conf = fxKvList{}
	}
	return &fxCpMeta{ID: m.ID, Name: m.Name, Description: m.Description, Format: fxCpFormat{Provider: m.Format.Provider, Options: opts},
		SchemaString: m.SchemaString, PartitionColumns: pc, Configuration: conf, CreatedTime: m.CreatedTime}
}

// fxCheckpointSchema is the Arrow form of the checkpoint schema Spark writes.
func fxCheckpointSchema(withDomains bool) *arrow.Schema {
	str, i64, i32, boolean := arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Int32, arrow.FixedWidthTypes.Boolean
	f := func(name string, t arrow.DataType) arrow.Field {
		return arrow.Field{Name: name, Type: t, Nullable: true}
	}
	strMap := func() arrow.DataType { return arrow.MapOf(str, str) }
	strList := func() arrow.DataType { return arrow.ListOf(str) }
	dvType := func() arrow.DataType {
		return arrow.StructOf(f("storageType", str), f("pathOrInlineDv", str), f("offset", i32),
			f("sizeInBytes", i32), f("cardinality", i64), f("maxRowIndex", i64))
	}
	fields := []arrow.Field{
		f("txn", arrow.StructOf(f("appId", str), f("version", i64), f("lastUpdated", i64))),
		f("add", arrow.StructOf(f("path", str), f("partitionValues", strMap()), f("size", i64), f("modificationTime", i64),
			f("dataChange", boolean), f("stats", str), f("tags", strMap()), f("deletionVector", dvType()),
			f("baseRowId", i64), f("defaultRowCommitVersion", i64), f("clusteringProvider", str))),
		f("remove", arrow.StructOf(f("path", str), f("deletionTimestamp", i64), f("dataChange", boolean),
			f("extendedFileMetadata", boolean), f("partitionValues", strMap()), f("size", i64), f("tags", strMap()),
			f("deletionVector", dvType()), f("baseRowId", i64), f("defaultRowCommitVersion", i64))),
		f("metaData", arrow.StructOf(f("id", str), f("name", str), f("description", str),
			f("format", arrow.StructOf(f("provider", str), f("options", strMap()))),
			f("schemaString", str), f("partitionColumns", strList()), f("configuration", strMap()), f("createdTime", i64))),
		f("protocol", arrow.StructOf(f("minReaderVersion", i32), f("minWriterVersion", i32),
			f("readerFeatures", strList()), f("writerFeatures", strList()))),
	}
	if withDomains {
		fields = append(fields, f("domainMetadata", arrow.StructOf(f("domain", str), f("configuration", str), f("removed", boolean))))
	}
	return arrow.NewSchema(fields, nil)
}

func fxSortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// fxParseInterval parses a Delta interval such as "interval 7 days".
func fxParseInterval(s string) (time.Duration, error) {
	fs := strings.Fields(strings.ToLower(s))
	if len(fs) > 0 && fs[0] == "interval" {
		fs = fs[1:]
	}
	if len(fs) != 2 {
		return 0, fmt.Errorf("invalid interval %q", s)
	}
	n, err := strconv.ParseInt(fs[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid interval %q", s)
	}
	unit := map[string]time.Duration{
		"millisecond": time.Millisecond, "second": time.Second, "minute": time.Minute,
		"hour": time.Hour, "day": 24 * time.Hour, "week": 7 * 24 * time.Hour,
	}[strings.TrimSuffix(fs[1], "s")]
	if unit == 0 {
		return 0, fmt.Errorf("invalid interval unit in %q", s)
	}
	return time.Duration(n) * unit, nil
}
