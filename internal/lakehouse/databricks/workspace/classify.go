package workspace

import (
	"errors"
	"net/http"
	"time"

	"github.com/databricks/databricks-sdk-go/apierr"
	"github.com/databricks/databricks-sdk-go/config"
	"github.com/databricks/databricks-sdk-go/httpclient"
	"golang.org/x/oauth2"

	"github.com/lakeport/lakeport/internal/errs"
)

func init() { errs.Register(Classify) }

// Classify is the errs.Classifier for the Databricks SDK's errors: REST API
// errors (*apierr.APIError), raw HTTP errors (*httpclient.HttpError) and
// OAuth token endpoint errors (*oauth2.RetrieveError), and the 429/503
// answers the client intercepts (*StatusError).
//
//   - 401, 403, and any 4xx from the token endpoint: errs.Auth
//   - 400, 404, 405, 410, 413, 422: errs.Invalid, except INVALID_STATE
//     (a resource in the wrong state, e.g. a warehouse stopping): errs.Conflict
//   - 409, 412, ABORTED, ALREADY_EXISTS: errs.Conflict
//   - 429, REQUEST_LIMIT_EXCEEDED, RESOURCE_EXHAUSTED, TEMPORARILY_UNAVAILABLE,
//     408, 425, 500, 502, 503, 504: errs.Transient (with the Retry-After hint)
//   - 501, NOT_IMPLEMENTED: errs.Unsupported
//   - DATA_LOSS and anything else: not recognised (errs.Unknown).
func Classify(err error) (errs.Kind, bool) {
	k, _, ok := sdkKind(err)
	return k, ok
}

// classify returns err as an *errs.Error with its kind and Retry-After hint
// when the SDK classifier recognises it; otherwise err unchanged.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var ke *errs.Error
	if errors.As(err, &ke) {
		return err
	}
	k, ra, ok := sdkKind(err)
	if !ok {
		return err
	}
	return &errs.Error{Kind: k, Err: err, RetryAfter: ra}
}

func sdkKind(err error) (errs.Kind, time.Duration, bool) {
	if err == nil {
		return errs.Unknown, 0, false
	}
	now := time.Now()
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		code := re.Response.StatusCode
		if k, ra, ok := statusKind(code, re.Response.Header, now); ok && k == errs.Transient {
			return k, ra, true
		}
		if code >= 400 && code < 500 {
			// invalid_client, invalid_grant, unauthorized_client...
			return errs.Auth, 0, true
		}
		return statusKind(code, re.Response.Header, now)
	}
	var ae *apierr.APIError
	if errors.As(err, &ae) {
		var h http.Header
		if ae.ResponseWrapper != nil && ae.ResponseWrapper.Response != nil {
			h = ae.ResponseWrapper.Response.Header
		}
		switch {
		case errors.Is(ae, apierr.ErrDataLoss):
			return errs.Unknown, 0, false
		case errors.Is(ae, apierr.ErrInvalidState):
			return errs.Conflict, 0, true
		case errors.Is(ae, apierr.ErrAborted), errors.Is(ae, apierr.ErrResourceAlreadyExists), errors.Is(ae, apierr.ErrAlreadyExists):
			return errs.Conflict, 0, true
		case errors.Is(ae, apierr.ErrTooManyRequests), errors.Is(ae, apierr.ErrTemporarilyUnavailable):
			ra, _ := errs.ParseRetryAfter(h.Get("Retry-After"), now)
			return errs.Transient, ra, true
		case errors.Is(ae, apierr.ErrNotImplemented):
			return errs.Unsupported, 0, true
		case errors.Is(ae, apierr.ErrUnauthenticated), errors.Is(ae, apierr.ErrPermissionDenied):
			return errs.Auth, 0, true
		}
		return statusKind(ae.StatusCode, h, now)
	}
	var se *StatusError
	if errors.As(err, &se) {
		return statusKind(se.StatusCode, se.Header, now)
	}
	var he *httpclient.HttpError
	if errors.As(err, &he) && he.Response != nil {
		return statusKind(he.StatusCode, he.Response.Header, now)
	}
	if errors.Is(err, config.ErrNoHostConfigured) {
		return errs.Invalid, 0, true
	}
	return errs.Unknown, 0, false
}

// statusKind classifies an HTTP status as errs.FromHTTP does.
func statusKind(code int, h http.Header, now time.Time) (errs.Kind, time.Duration, bool) {
	ra := ""
	if h != nil {
		ra = h.Get("Retry-After")
	}
	e := errs.FromHTTP(code, ra, now, errors.New("x"))
	var ke *errs.Error
	if !errors.As(e, &ke) {
		return errs.Unknown, 0, false
	}
	return ke.Kind, ke.RetryAfter, true
}

// isStatus reports whether err is a REST error with the HTTP status code.
func isStatus(err error, code int) bool {
	var ae *apierr.APIError
	if errors.As(err, &ae) {
		return ae.StatusCode == code
	}
	var he *httpclient.HttpError
	if errors.As(err, &he) && he.Response != nil {
		return he.StatusCode == code
	}
	return false
}
