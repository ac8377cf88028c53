package platform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Event is one entry of a stream. IDs are a gap-free sequence per stream
// starting at 1; all events appended by one write share a ReceiveTS, and
// receive times never decrease along a stream.
type Event struct {
	Stream    string
	ID        int64
	EventTS   time.Time
	ReceiveTS time.Time
	Data      json.RawMessage // a JSON object, stored byte for byte
}

// Cursor returns the position just after e.
func (e Event) Cursor() Cursor { return Cursor{Time: e.ReceiveTS, ID: e.ID} }

// EventInput is an event to append. A zero EventTS means "when received".
// Events made by DecodeNDJSON, DecodeObject, Send.Event and
// CopyVariant.Event are already validated (Checked) and are not parsed
// again by the store; their Data must not be modified.
type EventInput struct {
	EventTS time.Time
	Data    json.RawMessage
	checked bool
}

// Checked reports whether e was validated by one of this package's
// decoders, so a store need not parse its Data again.
func (e EventInput) Checked() bool { return e.checked }

// Append adds events to one stream.
type Append struct {
	Stream string
	Events []EventInput
}

// AppendResult is what one Append wrote: IDs FirstID..FirstID+Count-1.
type AppendResult struct {
	Stream    string
	FirstID   int64
	Count     int
	ReceiveTS time.Time
}

// StreamInfo describes a stream.
type StreamInfo struct {
	Name   string
	Events int64
	LastTS time.Time // receive time of the newest event
}

// EventTSField is the top-level key of an event object that, when present,
// gives its event time (an RFC 3339 string).
const EventTSField = "event_ts"

// ValidateStreamName accepts 1-255 characters of letters, digits, '_', '-'
// and '.', not starting with '.' or '-'.
func ValidateStreamName(name string) error {
	if name == "" || len(name) > 255 {
		return Invalidf("stream name must be 1-255 characters, got %d", len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' ||
			i > 0 && (c == '-' || c == '.')
		if !ok {
			return Invalidf("stream name %q: invalid character %q at %d (letters, digits, _ - . allowed)", name, c, i)
		}
	}
	return nil
}

// ValidateEvent checks that data is one JSON object and returns the event
// time given by its top-level "event_ts" (zero if absent).
func ValidateEvent(data []byte) (time.Time, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return time.Time{}, Invalidf("event must be a JSON object")
	}
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		return time.Time{}, Invalidf("invalid JSON: %v", err)
	}
	if !bytes.Contains(data, []byte(`"`+EventTSField+`"`)) {
		return time.Time{}, nil
	}
	raw, ok := topLevelMember(data, EventTSField)
	if !ok {
		return time.Time{}, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, &FieldError{Field: EventTSField, Reason: "must be an RFC 3339 timestamp string"}
	}
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, &FieldError{Field: EventTSField, Reason: fmt.Sprintf("must be an RFC 3339 timestamp, got %q", s)}
	}
	return ts.UTC().Truncate(time.Microsecond), nil
}

// topLevelMember returns the raw value of key in a valid JSON object.
func topLevelMember(obj []byte, key string) ([]byte, bool) {
	i := skipSpace(obj, 1) // past '{'
	for i < len(obj) && obj[i] == '"' {
		end := skipString(obj, i)
		k := obj[i:end]
		i = skipSpace(obj, end)
		i = skipSpace(obj, i+1) // past ':'
		vend := skipValue(obj, i)
		if len(k) == len(key)+2 && string(k[1:len(k)-1]) == key {
			return obj[i:vend], true
		}
		i = skipSpace(obj, vend)
		if i < len(obj) && obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
	return nil, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the (valid) JSON value starting at i.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	default:
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\n' && b[i] != '\t' && b[i] != '\r' {
			i++
		}
		return i
	}
}
