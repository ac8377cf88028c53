package server

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/lakeport/lakeport/internal/platform"
)

// errorBody is the JSON of every error response.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
	Line  int    `json:"line,omitempty"`
	Field string `json:"field,omitempty"`
}

// writeError answers with the status of err's class; internal errors are
// logged and answered without detail.
func writeError(w http.ResponseWriter, log *slog.Logger, err error) {
	body := errorBody{Error: err.Error()}
	var le *platform.LineError
	if errors.As(err, &le) {
		body.Line = le.Line
	}
	var fe *platform.FieldError
	if errors.As(err, &fe) {
		body.Field = fe.Field
	}
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, platform.ErrInvalid):
		status, body.Code = http.StatusBadRequest, "invalid_input"
	case errors.Is(err, platform.ErrNotFound):
		status, body.Code = http.StatusNotFound, "not_found"
	case errors.Is(err, platform.ErrConflict):
		status, body.Code = http.StatusConflict, "conflict"
	default:
		log.Error("collect: internal error", "err", err)
		body = errorBody{Code: "internal", Error: "internal error; see the server log"}
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
