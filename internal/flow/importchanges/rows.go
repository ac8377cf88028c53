package importchanges

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/platform"
)

// row is what one table row (or change row) maps to.
type row struct {
	id      platform.Identifier
	idKey   string // the normalised identifier value
	attrs   map[string]any
	event   *platform.EventInput
	eventTS time.Time
	// why the row (or its event) is not applied; empty when it is
	skip, rejectEvent string
}

// reader maps the rows of one batch schema.
type reader struct {
	m       *mapping
	reg     platform.Registry
	id      int
	attrs   []int
	name    int
	ts      int
	params  int
	ct, cv  int // change type and commit version (-1 in a snapshot)
	idField string
}

func newReader(m *mapping, reg platform.Registry, s *arrow.Schema) *reader {
	idx := func(name string) int {
		if name == "" {
			return -1
		}
		if i := s.FieldIndices(name); len(i) > 0 {
			return i[0]
		}
		return -1
	}
	r := &reader{m: m, reg: reg, id: idx(m.idColumn), ct: idx(lakehouse.ChangeTypeColumn), cv: idx(lakehouse.CommitVersionColumn), idField: m.idField,
		name: -1, ts: -1, params: -1}
	for _, a := range m.attrs {
		r.attrs = append(r.attrs, idx(a.column))
	}
	if m.event != nil {
		r.name, r.ts, r.params = idx(m.event.name), idx(m.event.ts), idx(m.event.params)
	}
	return r
}

// changeType of row i ("insert" in a snapshot).
func (r *reader) changeType(rec arrow.RecordBatch, i int) string {
	if r.ct < 0 {
		return lakehouse.ChangeInsert
	}
	s, _ := rec.Column(r.ct).(*array.String)
	if s == nil || s.IsNull(i) {
		return ""
	}
	return s.Value(i)
}

func (r *reader) commitVersion(rec arrow.RecordBatch, i int) int64 {
	c, _ := rec.Column(r.cv).(*array.Int64)
	if c == nil || c.IsNull(i) {
		return -1
	}
	return c.Value(i)
}

// identifier reads and normalises row i's identifier.
func (r *reader) identifier(rec arrow.RecordBatch, i int) (platform.Identifier, string) {
	col := rec.Column(r.id)
	if col.IsNull(i) {
		return platform.Identifier{}, "no identifier"
	}
	var v string
	switch a := col.(type) {
	case *array.String:
		v = a.Value(i)
	default:
		lv, err := lakehouse.ValueAt(col, i)
		if err != nil || lv.Kind != lakehouse.KindInt {
			return platform.Identifier{}, fmt.Sprintf("identifier column of type %s", col.DataType())
		}
		v = strconv.FormatInt(lv.Int, 10)
	}
	id, err := r.reg.NormalizeIdentifier(platform.Identifier{Field: r.idField, Value: v})
	if err != nil {
		return platform.Identifier{}, err.Error()
	}
	return id, ""
}

// read maps row i. withEvent says whether its event is wanted at all.
func (r *reader) read(rec arrow.RecordBatch, i int, withEvent bool) row {
	var out row
	id, why := r.identifier(rec, i)
	if why != "" {
		out.skip = why
		return out
	}
	out.id, out.idKey = id, id.Value
	if len(r.attrs) > 0 {
		raw := make(map[string]any, len(r.attrs))
		for k, ci := range r.attrs {
			raw[r.m.attrs[k].attribute] = attrValue(rec.Column(ci), i)
		}
		attrs, err := r.reg.NormalizeAttributes(raw)
		if err != nil {
			out.skip = err.Error()
			return out
		}
		out.attrs = attrs
	}
	if r.m.event != nil && withEvent {
		out.event, out.eventTS, out.rejectEvent = r.eventOf(rec, i, id)
	}
	return out
}

// attrValue converts a column value to what Registry.NormalizeAttributes
// takes (nil for NULL: the attribute is removed).
func attrValue(arr arrow.Array, i int) any {
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.Int8:
		return float64(a.Value(i))
	case *array.Int16:
		return float64(a.Value(i))
	case *array.Int32:
		return float64(a.Value(i))
	case *array.Int64:
		return float64(a.Value(i))
	case *array.Float32:
		return float64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	case *array.Decimal128:
		return decimalFloat(a.Value(i), a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Date32:
		return a.Value(i).ToTime()
	case *array.Timestamp:
		v, _ := lakehouse.ValueAt(a, i)
		return v.Time()
	case *array.List:
		start, end := a.ValueOffsets(i)
		vals, ok := a.ListValues().(*array.String)
		if !ok {
			return nil
		}
		out := make([]string, 0, end-start)
		for j := start; j < end; j++ {
			if !vals.IsNull(int(j)) {
				out = append(out, vals.Value(int(j)))
			}
		}
		return out
	}
	return nil
}

func decimalFloat(v decimal128.Num, scale int32) float64 {
	r := new(big.Rat).SetInt(v.BigInt())
	if scale > 0 {
		r.Quo(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	}
	f, _ := r.Float64()
	return f
}

// Purchase rules: these events need these parameters (non-null).
var purchaseRules = map[string][]string{
	"purchase":       {"event_group_id", "currency", "unit_sale_price", "quantity"},
	"cart_page_view": {"event_group_id", "currency", "unit_sale_price"},
}

// eventOf builds row i's event, or says why it has none ("" and nil: the row
// has no event name).
func (r *reader) eventOf(rec arrow.RecordBatch, i int, id platform.Identifier) (*platform.EventInput, time.Time, string) {
	nc := rec.Column(r.name)
	if nc.IsNull(i) {
		return nil, time.Time{}, ""
	}
	name := nc.(*array.String).Value(i)
	if name == "" {
		return nil, time.Time{}, ""
	}
	tc := rec.Column(r.ts)
	if tc.IsNull(i) {
		return nil, time.Time{}, fmt.Sprintf("event %q has no timestamp", name)
	}
	var ts time.Time
	if t, ok := attrValue(tc, i).(time.Time); ok {
		ts = t.UTC().Truncate(time.Microsecond)
	}
	var params []byte
	if r.params >= 0 {
		pc := rec.Column(r.params)
		switch {
		case pc.IsNull(i):
		case pc.DataType().ID() == arrow.STRING:
			params = bytes.TrimSpace([]byte(pc.(*array.String).Value(i)))
			if len(params) == 0 {
				params = nil
			} else if params[0] != '{' || !json.Valid(params) {
				return nil, ts, fmt.Sprintf("event %q: parameters are not a JSON object", name)
			}
		default:
			params = lakehouse.AppendJSONValue(nil, pc, i)
		}
	}
	if need, ok := purchaseRules[name]; ok {
		var m map[string]json.RawMessage
		if params != nil {
			json.Unmarshal(params, &m)
		}
		for _, k := range need {
			if v, ok := m[k]; !ok || string(v) == "null" {
				return nil, ts, fmt.Sprintf("event %q needs parameter %s", name, k)
			}
		}
	}
	var b bytes.Buffer
	b.WriteString(`{"event_name":`)
	writeJSON(&b, name)
	b.WriteString(`,"event_ts":`)
	writeJSON(&b, ts.Format(time.RFC3339Nano))
	b.WriteByte(',')
	writeJSON(&b, id.Field)
	b.WriteByte(':')
	writeJSON(&b, id.Value)
	if params != nil {
		b.WriteString(`,"parameters":`)
		b.Write(params)
	}
	b.WriteByte('}')
	ev, err := platform.DecodeObject(b.Bytes())
	if err != nil {
		return nil, ts, fmt.Sprintf("event %q: %v", name, err)
	}
	ev.EventTS = ts
	return &ev, ts, ""
}

func writeJSON(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s)
	b.Write(enc)
}
