package server

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"sync"
	"time"

	"github.com/lakeport/lakeport/internal/platform"
)

// Writer is the part of the platform the collect endpoint needs.
type Writer interface {
	Write(ctx context.Context, b platform.Batch) (platform.WriteResult, error)
}

// DefaultMaxBodyBytes is the default request body limit of the collect
// endpoint.
const DefaultMaxBodyBytes = 10 << 20

// CollectOptions configure the collect endpoint.
type CollectOptions struct {
	// MaxBodyBytes limits a request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Logger receives internal errors; nil means slog.Default().
	Logger *slog.Logger
}

// CollectResponse is the body of a successful collect request.
type CollectResponse struct {
	Stream    string    `json:"stream"`
	Accepted  int       `json:"accepted"`
	FirstID   int64     `json:"first_id"`
	LastID    int64     `json:"last_id"`
	ReceiveTS time.Time `json:"receive_ts"`
}

// Content types the collect endpoint reads.
const (
	ContentTypeJSON   = "application/json"     // one JSON object
	ContentTypeNDJSON = "application/x-ndjson" // one JSON object per line
)

type collect struct {
	w    Writer
	max  int64
	log  *slog.Logger
	bufs sync.Pool
}

// NewCollectHandler returns the handler of POST /api/v1/collect/{stream};
// mount it on a pattern with a {stream} wildcard (New does).
func NewCollectHandler(w Writer, opts CollectOptions) http.Handler {
	c := &collect{w: w, max: opts.MaxBodyBytes, log: opts.Logger}
	if c.max <= 0 {
		c.max = DefaultMaxBodyBytes
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.bufs.New = func() any { return new(bytes.Buffer) }
	return c
}

func (c *collect) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	stream := r.PathValue("stream")
	if err := platform.ValidateStreamName(stream); err != nil {
		writeError(w, c.log, err)
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != ContentTypeJSON && mt != ContentTypeNDJSON) {
		writeJSON(w, http.StatusUnsupportedMediaType, errorBody{Code: "unsupported_media_type",
			Error: "Content-Type must be " + ContentTypeJSON + " (one object) or " + ContentTypeNDJSON + " (one object per line)"})
		return
	}
	if r.ContentLength > c.max {
		writeTooLarge(w, c.max)
		return
	}
	buf := c.bufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 2*int(c.max) {
			buf.Reset()
			c.bufs.Put(buf)
		}
	}()
	buf.Reset()
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, c.max)); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeTooLarge(w, c.max)
			return
		}
		writeJSON(w, http.StatusBadRequest, errorBody{Code: "invalid_input", Error: "reading the body: " + err.Error()})
		return
	}
	var events []platform.EventInput
	if mt == ContentTypeNDJSON {
		events, err = platform.DecodeNDJSON(buf.Bytes())
	} else {
		var e platform.EventInput
		e, err = platform.DecodeObject(buf.Bytes())
		events = []platform.EventInput{e}
	}
	if err != nil {
		writeError(w, c.log, err)
		return
	}
	res, err := c.w.Write(r.Context(), platform.Batch{Appends: []platform.Append{{Stream: stream, Events: events}}})
	if err != nil {
		writeError(w, c.log, err)
		return
	}
	a := res.Appended[0]
	writeJSON(w, http.StatusOK, CollectResponse{Stream: stream, Accepted: a.Count, FirstID: a.FirstID,
		LastID: a.FirstID + int64(a.Count) - 1, ReceiveTS: a.ReceiveTS})
}

func writeTooLarge(w http.ResponseWriter, max int64) {
	w.Header().Set("Connection", "close")
	writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Code: "too_large",
		Error: "request body is larger than the limit of " + formatBytes(max)})
}
