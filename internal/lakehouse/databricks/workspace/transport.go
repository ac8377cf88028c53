package workspace

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// sdkTransport sits under the SDK's REST client. The SDK retries 429 and
// 503 answers itself, ignoring Retry-After; this transport hands them back
// as a *StatusError instead, which the SDK passes through at once, so that
// Client.call does the retrying (with the server's hint and jitter).
type sdkTransport struct{ base http.RoundTripper }

func (t sdkTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
		return resp, err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	se := &StatusError{StatusCode: resp.StatusCode, Header: resp.Header}
	var e struct {
		ErrorCode string `json:"error_code"`
		Message   string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && (e.ErrorCode != "" || e.Message != "") {
		se.ErrorCode, se.Message = e.ErrorCode, e.Message
	} else {
		se.Message = strings.TrimSpace(string(body))
		if len(se.Message) > 200 {
			se.Message = se.Message[:200] + "..."
		}
	}
	return nil, se
}

// StatusError is a 429 or 503 answer from a Databricks REST API.
type StatusError struct {
	StatusCode int
	Header     http.Header
	ErrorCode  string
	Message    string
}

// The SDK decides to retry by looking for these in an error's text; the
// message is rendered without them so that it does not.
var sdkRetryWords = strings.NewReplacer(
	"REQUEST_LIMIT_EXCEEDED", "request limit exceeded",
	"Unexpected error", "unexpected error",
	"connection reset by peer", "connection reset",
	"connection refused", "connection refused (remote)",
	"i/o timeout", "I/O timeout",
	"TLS handshake timeout", "TLS handshake timed out",
)

func (e *StatusError) Error() string {
	s := fmt.Sprintf("HTTP %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return sdkRetryWords.Replace(s)
}
