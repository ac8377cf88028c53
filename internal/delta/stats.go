package delta

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakeport/lakeport/internal/delta/predicate"
)

// fileStats adapts an add action's statistics and partition values to predicate.Stats.
type fileStats struct {
	snap       *Snapshot
	add        *Add
	parsed     bool
	Records    *int64                     `json:"numRecords"`
	MinValues  map[string]json.RawMessage `json:"minValues"`
	MaxValues  map[string]json.RawMessage `json:"maxValues"`
	NullCounts map[string]json.RawMessage `json:"nullCount"`
}

func newFileStats(s *Snapshot, a *Add) *fileStats {
	fs := &fileStats{snap: s, add: a}
	if a.Stats != "" {
		dec := json.NewDecoder(strings.NewReader(a.Stats))
		dec.UseNumber()
		fs.parsed = dec.Decode(fs) == nil
	}
	return fs
}

func (f *fileStats) NumRecords() (int64, bool) {
	if f.parsed && f.Records != nil {
		return *f.Records, true
	}
	return 0, false
}

// resolve walks a logical column path ("a.b") to its fields.
func (f *fileStats) resolve(col string) []*StructField {
	st := f.snap.schema
	var chain []*StructField
	for _, part := range strings.Split(col, ".") {
		if st == nil {
			return nil
		}
		fld := st.Field(part)
		if fld == nil {
			return nil
		}
		chain = append(chain, fld)
		st, _ = fld.Type.(*StructType)
	}
	return chain
}

func (f *fileStats) partition(chain []*StructField) (predicate.Value, bool, bool) {
	if len(chain) != 1 || !f.snap.isPartitionColumn(chain[0].Name) {
		return predicate.Value{}, false, false
	}
	v, err := f.snap.parsePartition(f.add.PartitionValues, chain[0])
	if err != nil {
		return predicate.Value{}, true, false
	}
	return v, true, true
}

func (f *fileStats) stat(m map[string]json.RawMessage, chain []*StructField) (json.RawMessage, bool) {
	cur := m
	for i, fld := range chain {
		raw, ok := cur[fld.PhysicalName(f.snap.mapping)]
		if !ok {
			return nil, false
		}
		if i == len(chain)-1 {
			if bytes.Equal(raw, []byte("null")) {
				return nil, false
			}
			return raw, true
		}
		cur = nil
		if json.Unmarshal(raw, &cur) != nil {
			return nil, false
		}
	}
	return nil, false
}

func (f *fileStats) minMax(col string, m map[string]json.RawMessage) (predicate.Value, bool) {
	chain := f.resolve(col)
	if chain == nil {
		return predicate.Value{}, false
	}
	if v, isPart, ok := f.partition(chain); isPart {
		return v, ok && v.Kind != predicate.KindNull
	}
	if !f.parsed {
		return predicate.Value{}, false
	}
	raw, ok := f.stat(m, chain)
	if !ok {
		return predicate.Value{}, false
	}
	v, err := predicate.ParseStatValue(ArrowType(chain[len(chain)-1].Type), raw)
	if err != nil {
		return predicate.Value{}, false
	}
	return v, true
}

func (f *fileStats) Min(col string) (predicate.Value, bool) { return f.minMax(col, f.MinValues) }
func (f *fileStats) Max(col string) (predicate.Value, bool) { return f.minMax(col, f.MaxValues) }

func (f *fileStats) NullCount(col string) (int64, bool) {
	chain := f.resolve(col)
	if chain == nil {
		return 0, false
	}
	if v, isPart, ok := f.partition(chain); isPart {
		if !ok {
			return 0, false
		}
		n, known := f.NumRecords()
		if v.Kind != predicate.KindNull {
			return 0, true
		}
		if !known {
			return 0, false
		}
		return n, true
	}
	if !f.parsed {
		return 0, false
	}
	raw, ok := f.stat(f.NullCounts, chain)
	if !ok {
		return 0, false
	}
	var n int64
	if json.Unmarshal(raw, &n) != nil {
		return 0, false
	}
	return n, true
}

var _ predicate.Stats = (*fileStats)(nil)

func (s *Snapshot) isPartitionColumn(name string) bool {
	for _, p := range s.metadata.PartitionColumns {
		if strings.EqualFold(p, name) {
			return true
		}
	}
	return false
}

// partitionValue looks a partition value up by physical name (column mapping), then logical name.
func (s *Snapshot) partitionValue(pv map[string]*string, f *StructField) *string {
	if v, ok := pv[f.PhysicalName(s.mapping)]; ok {
		return v
	}
	if v, ok := pv[f.Name]; ok {
		return v
	}
	for k, v := range pv {
		if strings.EqualFold(k, f.Name) {
			return v
		}
	}
	return nil
}

// parsePartition parses a file's value of partition column f. Zone-less
// timestamps are read in the table's partition time zone.
func (s *Snapshot) parsePartition(pv map[string]*string, f *StructField) (predicate.Value, error) {
	raw := s.partitionValue(pv, f)
	v, err := predicate.ParsePartitionValue(ArrowType(f.Type), raw)
	if err != nil || raw == nil || v.Kind != predicate.KindTimestamp || s.table.partitionTZ == nil {
		return v, err
	}
	if p, ok := f.Type.(*PrimitiveType); !ok || p.Name != "timestamp" || hasZone(*raw) {
		return v, nil
	}
	u := time.UnixMicro(v.Int).UTC()
	local := time.Date(u.Year(), u.Month(), u.Day(), u.Hour(), u.Minute(), u.Second(), u.Nanosecond(), s.table.partitionTZ)
	v.Int = local.UnixMicro()
	return v, nil
}

// hasZone reports whether a timestamp text carries "Z" or a UTC offset after its date.
func hasZone(s string) bool {
	if len(s) <= 10 {
		return false
	}
	rest := s[10:]
	return strings.ContainsAny(rest, "Zz+") || strings.Contains(rest, "-")
}

// arrowTypeOf is a shorthand used by scans.
func arrowTypeOf(f *StructField) arrow.DataType { return ArrowType(f.Type) }
