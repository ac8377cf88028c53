package platform

import (
	"slices"
	"time"
)

// EventBlock holds events of one stream column by column: the bulk form of
// []Event that exports read with Store.ReadStreamBlock. Appending to a
// block allocates only when its slices grow, so a reused block reads a
// stream without allocating per event; the columns can become Arrow arrays
// without copying (DataOffsets are Arrow string offsets).
type EventBlock struct {
	ID        []int64
	EventTS   []int64 // microseconds since the Unix epoch, UTC
	ReceiveTS []int64 // microseconds since the Unix epoch, UTC
	// Data holds the events' JSON back to back: event i's is
	// Data[DataOffsets[i]:DataOffsets[i+1]].
	Data        []byte
	DataOffsets []int32 // Len()+1 entries, starting at 0 (empty when Len() is 0)
	// MaxData bounds the memory of a block being read into: a read stops
	// after the event that takes Data to this many bytes (0, or more
	// than MaxBlockData: MaxBlockData).
	MaxData int
}

// Full reports whether the block holds its MaxData bytes of JSON: a
// ReadStreamBlock call appends nothing more to it.
func (b *EventBlock) Full() bool {
	limit := MaxBlockData
	if b.MaxData > 0 && b.MaxData < limit {
		limit = b.MaxData
	}
	return len(b.Data) >= limit
}

// Len is the number of events in the block.
func (b *EventBlock) Len() int { return len(b.ID) }

// Reset empties the block, keeping its memory.
func (b *EventBlock) Reset() {
	b.ID, b.EventTS, b.ReceiveTS, b.Data, b.DataOffsets = b.ID[:0], b.EventTS[:0], b.ReceiveTS[:0], b.Data[:0], b.DataOffsets[:0]
}

// Grow makes room for events more events holding dataBytes of JSON in all,
// so that appending them does not reallocate.
func (b *EventBlock) Grow(events, dataBytes int) {
	b.ID = slices.Grow(b.ID, events)
	b.EventTS = slices.Grow(b.EventTS, events)
	b.ReceiveTS = slices.Grow(b.ReceiveTS, events)
	b.DataOffsets = slices.Grow(b.DataOffsets, events+1)
	b.Data = slices.Grow(b.Data, dataBytes)
}

// AppendRaw adds one event in stored form; data is copied.
func (b *EventBlock) AppendRaw(id, eventTS, receiveTS int64, data []byte) {
	if len(b.DataOffsets) == 0 {
		b.DataOffsets = append(b.DataOffsets, 0)
	}
	b.ID = append(b.ID, id)
	b.EventTS = append(b.EventTS, eventTS)
	b.ReceiveTS = append(b.ReceiveTS, receiveTS)
	b.Data = append(b.Data, data...)
	b.DataOffsets = append(b.DataOffsets, int32(len(b.Data)))
}

// Append adds an event.
func (b *EventBlock) Append(e Event) {
	b.AppendRaw(e.ID, e.EventTS.UnixMicro(), e.ReceiveTS.UnixMicro(), e.Data)
}

// EventData is event i's JSON (a view into the block, not a copy).
func (b *EventBlock) EventData(i int) []byte { return b.Data[b.DataOffsets[i]:b.DataOffsets[i+1]] }

// Event returns event i of stream (its data copied out of the block).
func (b *EventBlock) Event(i int, stream string) Event {
	return Event{
		Stream:    stream,
		ID:        b.ID[i],
		EventTS:   time.UnixMicro(b.EventTS[i]).UTC(),
		ReceiveTS: time.UnixMicro(b.ReceiveTS[i]).UTC(),
		Data:      append([]byte(nil), b.EventData(i)...),
	}
}

// Cursor is the position just after event i.
func (b *EventBlock) Cursor(i int) Cursor {
	return Cursor{Time: time.UnixMicro(b.ReceiveTS[i]).UTC(), ID: b.ID[i]}
}

// MaxBlockData bounds the JSON bytes of a block (its offsets are 32-bit):
// a read stops after the event that crosses it.
const MaxBlockData = 1 << 30
