package platform

import "bytes"

// DecodeNDJSON splits body into events, one JSON object per line (blank
// lines are skipped, "\r\n" is accepted). Every line is checked before any
// is returned: the first bad line fails the whole body with a *LineError
// naming it. The events' Data alias body.
func DecodeNDJSON(body []byte) ([]EventInput, error) {
	events := make([]EventInput, 0, bytes.Count(body, []byte{'\n'})+1)
	for line := 1; len(body) > 0; line++ {
		var text []byte
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			text, body = body[:i], body[i+1:]
		} else {
			text, body = body, nil
		}
		text = bytes.TrimSpace(text)
		if len(text) == 0 {
			continue
		}
		ts, err := ValidateEvent(text)
		if err != nil {
			return nil, &LineError{Line: line, Err: err}
		}
		events = append(events, EventInput{EventTS: ts, Data: text, checked: true})
	}
	if len(events) == 0 {
		return nil, Invalidf("no events in body")
	}
	return events, nil
}

// DecodeObject reads a body holding exactly one JSON object as one event.
func DecodeObject(body []byte) (EventInput, error) {
	text := bytes.TrimSpace(body)
	ts, err := ValidateEvent(text)
	if err != nil {
		return EventInput{}, err
	}
	return EventInput{EventTS: ts, Data: text, checked: true}, nil
}
