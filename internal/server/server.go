package server

import (
	"net/http"
)

// Options configure the HTTP API.
type Options struct {
	Collect CollectOptions
}

// New returns Lakeport's HTTP API over the platform: the collect endpoint
// and a health check.
func New(w Writer, opts Options) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/collect/{stream}", NewCollectHandler(w, opts.Collect))
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, r *http.Request) {
		writeJSON(rw, http.StatusOK, map[string]string{"status": "ok"})
	})
	return mux
}
