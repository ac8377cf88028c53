package platform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Message sends and copy variants are two streams with fixed schemas: every
// event appended to them must decode as a Send or a CopyVariant (unknown
// keys, missing required keys and wrong types are *FieldError).
const (
	StreamSends        = "message_sends"
	StreamCopyVariants = "copy_variants"
)

// Send records one message sent to a user.
type Send struct {
	EventTimestamp     time.Time `json:"event_timestamp"`
	UserID             string    `json:"user_id"`
	MessageID          string    `json:"message_id"`
	CopyID             string    `json:"copy_id,omitempty"`
	TemplateID         string    `json:"template_id,omitempty"`
	CampaignID         string    `json:"campaign_id,omitempty"`
	CampaignTemplateID string    `json:"campaign_template_id,omitempty"`
}

// CopyVariant is the metadata of one variant of a message's copy.
type CopyVariant struct {
	CopyID     string            `json:"copy_id"`
	TemplateID string            `json:"template_id,omitempty"`
	Vars       map[string]string `json:"vars,omitempty"`
	Attrs      map[string]string `json:"attrs,omitempty"`
}

// Event returns s as an event of StreamSends.
func (s Send) Event() (EventInput, error) {
	data, err := json.Marshal(s)
	if err != nil {
		return EventInput{}, err
	}
	ts, err := validateSchema(StreamSends, data)
	return EventInput{EventTS: ts, Data: data, checked: err == nil}, err
}

// Event returns v as an event of StreamCopyVariants.
func (v CopyVariant) Event() (EventInput, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return EventInput{}, err
	}
	ts, err := validateSchema(StreamCopyVariants, data)
	return EventInput{EventTS: ts, Data: data, checked: err == nil}, err
}

// HasSchema reports whether stream has a fixed schema.
func HasSchema(stream string) bool { return stream == StreamSends || stream == StreamCopyVariants }

// ValidateSchemaEvent checks an event of a fixed-schema stream and returns
// its event time (a send's event_timestamp; zero for copy variants).
func ValidateSchemaEvent(stream string, data []byte) (time.Time, error) {
	return validateSchema(stream, data)
}

func validateSchema(stream string, data []byte) (time.Time, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	switch stream {
	case StreamSends:
		var s struct {
			EventTimestamp     *string `json:"event_timestamp"`
			UserID             *string `json:"user_id"`
			MessageID          *string `json:"message_id"`
			CopyID             *string `json:"copy_id"`
			TemplateID         *string `json:"template_id"`
			CampaignID         *string `json:"campaign_id"`
			CampaignTemplateID *string `json:"campaign_template_id"`
		}
		if err := dec.Decode(&s); err != nil {
			return time.Time{}, schemaError(err)
		}
		for name, v := range map[string]*string{"event_timestamp": s.EventTimestamp, "user_id": s.UserID, "message_id": s.MessageID} {
			if v == nil || *v == "" {
				return time.Time{}, &FieldError{Field: name, Reason: "is required"}
			}
		}
		ts, err := time.Parse(time.RFC3339Nano, *s.EventTimestamp)
		if err != nil {
			return time.Time{}, &FieldError{Field: "event_timestamp", Reason: fmt.Sprintf("want an RFC 3339 timestamp, got %q", *s.EventTimestamp)}
		}
		return ts.UTC().Truncate(time.Microsecond), nil
	case StreamCopyVariants:
		var v struct {
			CopyID     *string           `json:"copy_id"`
			TemplateID *string           `json:"template_id"`
			Vars       map[string]string `json:"vars"`
			Attrs      map[string]string `json:"attrs"`
		}
		if err := dec.Decode(&v); err != nil {
			return time.Time{}, schemaError(err)
		}
		if v.CopyID == nil || *v.CopyID == "" {
			return time.Time{}, &FieldError{Field: "copy_id", Reason: "is required"}
		}
		return time.Time{}, nil
	}
	return time.Time{}, Invalidf("stream %q has no fixed schema", stream)
}

// schemaError turns a decoding error into a *FieldError where it names one.
func schemaError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &FieldError{Field: te.Field, Reason: fmt.Sprintf("want %s, got a JSON %s", te.Type, te.Value)}
	}
	const unknown = "json: unknown field "
	if msg := err.Error(); len(msg) > len(unknown) && msg[:len(unknown)] == unknown {
		name := msg[len(unknown):]
		if len(name) >= 2 && name[0] == '"' {
			name = name[1 : len(name)-1]
		}
		return &FieldError{Field: name, Reason: "is not in the schema"}
	}
	return Invalidf("invalid JSON: %v", err)
}
