package dbxfake

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// WarehouseID is the id of the one SQL warehouse the fake workspace has.
	WarehouseID = "abc123fake"
	// HTTPPath is the warehouse's Thrift endpoint (the driver's WithHTTPPath).
	HTTPPath = "/sql/1.0/warehouses/" + WarehouseID
	// WorkspaceID is what /.well-known/databricks-config reports.
	WorkspaceID = "1234567890123456"
	// DefaultUser is the user name a personal access token belongs to
	// (SCIM Me, permission listings). A service principal's user name is its
	// client id.
	DefaultUser = "fake-user@lakeport.test"
)

// Warehouse states.
const (
	StateStopped  = "STOPPED"
	StateStarting = "STARTING"
	StateRunning  = "RUNNING"
	StateStopping = "STOPPING"
)

// Request is one HTTP request the fake received.
type Request struct {
	Method string
	Path   string
	// Op names the operation: "thrift:ExecuteStatement", "thrift:FetchResults",
	// ... for SQL calls on HTTPPath, "rest:GET /api/2.0/sql/warehouses/abc123fake"
	// (method, space, path) for everything else.
	Op string
	// SQL is the statement text of a thrift:ExecuteStatement call.
	SQL string
	// Auth is the Authorization header as sent ("Bearer <token>").
	Auth string
	Time time.Time
	// Fault is the fault injected into this request, 0 when none.
	Fault FaultKind
	// Status is the HTTP status answered; 0 while the request is in flight
	// and when the connection was reset or cut.
	Status int
}

// Token returns the bearer token of the request, "" when none.
func (r Request) Token() string {
	if t, ok := strings.CutPrefix(r.Auth, "Bearer "); ok {
		return t
	}
	return ""
}

// FaultKind is a kind of injected failure.
type FaultKind int

const (
	// Status503 answers 503 Service Unavailable without handling the request.
	Status503 FaultKind = iota + 1
	// Status429 answers 429 Too Many Requests with a Retry-After header
	// (Fault.RetryAfter rounded up to whole seconds) without handling it.
	Status429
	// ResetConnection handles the request (a statement executes, a file is
	// stored) and then resets the TCP connection instead of answering.
	ResetConnection
	// ExpiredToken answers 401 as for an expired token, without handling
	// the request.
	ExpiredToken
	// TruncateResult delivers fewer result rows than announced: on
	// thrift:FetchResults (or an ExecuteStatement carrying direct results)
	// the Arrow batch's rowCount says N but its IPC record holds fewer rows
	// and no more rows are offered; on a REST download the body is cut
	// short of its Content-Length and the connection closed.
	TruncateResult
)

func (k FaultKind) String() string {
	switch k {
	case 0:
		return "none"
	case Status503:
		return "Status503"
	case Status429:
		return "Status429"
	case ResetConnection:
		return "ResetConnection"
	case ExpiredToken:
		return "ExpiredToken"
	case TruncateResult:
		return "TruncateResult"
	}
	return "FaultKind(" + strconv.Itoa(int(k)) + ")"
}

// Fault is injected into the next Times requests (1 when Times <= 0) for
// which Match returns true (every request when Match is nil). Faults are
// tried in the order they were injected; a request gets at most one.
type Fault struct {
	Match      func(Request) bool
	Kind       FaultKind
	RetryAfter time.Duration
	Times      int
}

// MatchOp matches requests whose Op is one of ops
// (e.g. "thrift:ExecuteStatement", "rest:PUT /api/2.0/fs/files/Volumes/c/s/v/f").
func MatchOp(ops ...string) func(Request) bool {
	return func(r Request) bool {
		for _, op := range ops {
			if r.Op == op {
				return true
			}
		}
		return false
	}
}

// MatchSQL matches thrift:ExecuteStatement requests whose SQL contains substr
// (case-insensitively).
func MatchSQL(substr string) func(Request) bool {
	substr = strings.ToLower(substr)
	return func(r Request) bool {
		return r.Op == "thrift:ExecuteStatement" && strings.Contains(strings.ToLower(r.SQL), substr)
	}
}

// MatchPathPrefix matches requests whose URL path starts with prefix.
func MatchPathPrefix(prefix string) func(Request) bool {
	return func(r Request) bool { return strings.HasPrefix(r.Path, prefix) }
}

type fault struct {
	Fault
	left int
}

type tokenInfo struct {
	principal string
	sp        bool      // a service principal (OAuth) token
	expires   time.Time // zero: never
	expired   bool
}

// Server is a fake Databricks workspace: REST APIs (OAuth, SQL warehouses,
// Unity Catalog, SCIM Me, permissions, Files) and the SQL warehouse's
// Thrift endpoint at HTTPPath.
type Server struct {
	t   testing.TB
	srv *httptest.Server

	mu            sync.Mutex
	tokens        map[string]*tokenInfo
	sps           map[string]string // client id -> secret
	tokenLifetime time.Duration
	minted        int

	whState     string
	startPolls  int // GETs answered STARTING before RUNNING
	pollsSeen   int
	denyWH      bool
	catalogs    map[string]*catalog
	grants      map[string][]string
	files       map[string]*fileEntry
	dirs        map[string]bool
	faults      []*fault
	requests    []Request
	executed    []Query
	sqlHandler  func(Query) (*Result, error)
	thrift      *thriftState
	clientTrans *http.Transport
}

// New starts a fake workspace on 127.0.0.1 (plain HTTP, random port) and
// stops it at t.Cleanup. The warehouse is RUNNING, no token is valid until
// AddToken or AddServicePrincipal, and SQL statements fail until HandleSQL.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		t:             t,
		tokens:        map[string]*tokenInfo{},
		sps:           map[string]string{},
		tokenLifetime: time.Hour,
		whState:       StateRunning,
		catalogs:      map[string]*catalog{},
		grants:        map[string][]string{},
		files:         map[string]*fileEntry{},
		dirs:          map[string]bool{"/": true},
	}
	s.thrift = newThriftState(s)
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("dbxfake: listen: %v", err)
	}
	s.srv.Listener = l
	s.srv.Config.ErrorLog = nil
	s.srv.Start()
	t.Cleanup(s.Close)
	return s
}

// Close stops the server (also done at t.Cleanup).
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
	s.thrift.closeAll()
	s.mu.Lock()
	ct := s.clientTrans
	s.mu.Unlock()
	if ct != nil {
		ct.CloseIdleConnections()
	}
}

// URL is "http://127.0.0.1:PORT".
func (s *Server) URL() string { return s.srv.URL }

// HostPort returns "127.0.0.1" and the port.
func (s *Server) HostPort() (string, int) {
	a := s.srv.Listener.Addr().(*net.TCPAddr)
	return a.IP.String(), a.Port
}

// AddToken makes token a valid personal access token of DefaultUser (again
// valid if ExpireTokens expired it).
func (s *Server) AddToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = &tokenInfo{principal: DefaultUser}
}

// AddServicePrincipal registers an OAuth M2M client: POST /oidc/v1/token
// with grant_type=client_credentials and these credentials (HTTP Basic or
// form fields) mints an access token.
func (s *Server) AddServicePrincipal(clientID, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sps[clientID] = secret
}

// SetTokenLifetime sets the lifetime of OAuth access tokens minted from now
// on (default 1h); an expired or unknown bearer token gets 401 on REST and
// on Thrift.
func (s *Server) SetTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenLifetime = d
}

// ExpireTokens expires every token known so far: the OAuth tokens minted and
// the personal access tokens added (AddToken re-validates one).
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ti := range s.tokens {
		ti.expired = true
	}
}

// MintedTokens is the number of OAuth access tokens minted so far.
func (s *Server) MintedTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.minted
}

// Inject adds a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := f.Times
	if n <= 0 {
		n = 1
	}
	s.faults = append(s.faults, &fault{Fault: f, left: n})
}

// PendingFaults is how many injections are still to happen.
func (s *Server) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.faults {
		n += f.left
	}
	return n
}

// Requests returns everything received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// RequestsFor returns the requests whose Op is op.
func (s *Server) RequestsFor(op string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Op == op {
			out = append(out, r)
		}
	}
	return out
}

// Executed returns the SQL statements that actually executed (reached the
// HandleSQL handler), in order.
func (s *Server) Executed() []Query {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Query(nil), s.executed...)
}

// SetWarehouseState sets the warehouse state: STOPPED, STARTING, RUNNING or
// STOPPING. While it is not RUNNING, SQL (Thrift) requests get 503 and a
// STOPPED warehouse starts (auto-start, as a serverless warehouse does).
func (s *Server) SetWarehouseState(state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch state {
	case StateStopped, StateStarting, StateRunning, StateStopping:
	default:
		s.t.Fatalf("dbxfake: unknown warehouse state %q", state)
	}
	s.whState = state
	s.pollsSeen = 0
}

// StartAfterPolls makes a starting warehouse answer STARTING to n polls (GETs
// of the warehouse, and SQL requests, which get 503) and RUNNING to the one
// after. Default 0: start makes it RUNNING at once.
func (s *Server) StartAfterPolls(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.startPolls = n
}

// WarehouseState returns the current state.
func (s *Server) WarehouseState() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.whState
}

// DenyWarehouse(true) takes CAN_USE on the warehouse away from everyone:
// warehouse REST calls get 403 PERMISSION_DENIED, SQL requests 403, and the
// warehouse permissions list no longer names the caller.
func (s *Server) DenyWarehouse(deny bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denyWH = deny
}

// pollLocked counts one poll of a STARTING warehouse and returns the state.
func (s *Server) pollLocked() string {
	if s.whState == StateStarting {
		s.pollsSeen++
		if s.pollsSeen > s.startPolls {
			s.whState = StateRunning
		}
	}
	return s.whState
}

func (s *Server) startLocked() {
	switch s.whState {
	case StateStopped, StateStopping:
		s.whState = StateStarting
		s.pollsSeen = 0
		if s.startPolls <= 0 {
			s.whState = StateRunning
		}
	}
}

// ---- request plumbing ----

type ctxKey int

const (
	faultKey ctxKey = iota
	principalKey
)

func faultFrom(ctx context.Context) FaultKind {
	k, _ := ctx.Value(faultKey).(FaultKind)
	return k
}

func (s *Server) record(r Request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
	return len(s.requests) - 1
}

func (s *Server) setStatus(idx, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[idx].Status = status
}

func (s *Server) takeFault(r Request) *fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.left > 0 && (f.Match == nil || f.Match(r)) {
			f.left--
			return f
		}
	}
	return nil
}

// authenticate checks the bearer token. It returns the principal, or ""
// and a message.
func (s *Server) authenticate(r *http.Request) (string, string) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return "", "Credential was not sent or was of an unsupported type for this API."
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ti := s.tokens[tok]
	switch {
	case ti == nil:
		return "", "Invalid access token."
	case ti.expired || (!ti.expires.IsZero() && time.Now().After(ti.expires)):
		return "", "Token is expired."
	}
	return ti.principal, ""
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("dbxfake: connection cannot be hijacked")
	}
	return hj.Hijack()
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// bufferWriter collects a response that is then thrown away (reset).
type bufferWriter struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func (b *bufferWriter) Header() http.Header {
	if b.h == nil {
		b.h = http.Header{}
	}
	return b.h
}
func (b *bufferWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferWriter) Write(p []byte) (int, error) { return b.buf.Write(p) }

// resetConn resets the client connection (TCP RST) without answering.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	c, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// cutConn closes the connection (FIN) after flushing what was written.
func cutConn(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	c, buf, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if buf != nil {
		_ = buf.Flush()
	}
	_ = c.Close()
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := Request{
		Method: r.Method,
		Path:   r.URL.Path,
		Auth:   r.Header.Get("Authorization"),
		Time:   time.Now(),
	}
	isThrift := r.Method == http.MethodPost && r.URL.Path == HTTPPath
	var call *thriftCall
	if isThrift {
		call = peekThriftCall(body)
		req.Op = "thrift:" + call.name
		req.SQL = call.sql
	} else {
		req.Op = "rest:" + r.Method + " " + r.URL.Path
	}
	f := s.takeFault(req)
	if f != nil {
		req.Fault = f.Kind
	}
	idx := s.record(req)
	sw := &statusWriter{ResponseWriter: w}
	defer func() { s.setStatus(idx, sw.status) }()

	ctx := r.Context()
	if f != nil {
		switch f.Kind {
		case Status503:
			writeError(sw, http.StatusServiceUnavailable, "TEMPORARILY_UNAVAILABLE", "The service is temporarily unavailable (injected).")
			return
		case Status429:
			secs := int((f.RetryAfter + time.Second - 1) / time.Second)
			sw.Header().Set("Retry-After", strconv.Itoa(secs))
			writeError(sw, http.StatusTooManyRequests, "REQUEST_LIMIT_EXCEEDED", "Too many requests (injected).")
			return
		case ExpiredToken:
			sw.Header().Set("X-Databricks-Reason-Phrase", "Token is expired.")
			writeError(sw, http.StatusUnauthorized, "UNAUTHENTICATED", "Token is expired.")
			return
		}
		ctx = context.WithValue(ctx, faultKey, f.Kind)
	}
	r = r.WithContext(ctx)
	r.Body = io.NopCloser(bytes.NewReader(body))

	kind := faultFrom(ctx)
	if kind == ResetConnection {
		// Handle fully, throw the answer away, reset the connection.
		bw := &bufferWriter{}
		s.route(bw, r, body, isThrift)
		resetConn(w)
		return
	}
	s.route(sw, r, body, isThrift)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, body []byte, isThrift bool) {
	p := r.URL.Path
	// Unauthenticated endpoints.
	switch {
	case p == "/.well-known/databricks-config":
		s.wellKnownConfig(w, r)
		return
	case p == "/oidc/.well-known/oauth-authorization-server":
		s.oidcMetadata(w, r)
		return
	case p == "/oidc/v1/token":
		s.oidcToken(w, r)
		return
	}
	principal, msg := s.authenticate(r)
	if principal == "" {
		if isThrift {
			w.Header().Set("X-Databricks-Reason-Phrase", msg)
		}
		writeError(w, http.StatusUnauthorized, "UNAUTHENTICATED", msg)
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), principalKey, principal))
	if isThrift {
		s.serveThrift(w, r, body)
		return
	}
	s.serveREST(w, r, principal)
}

// writeError writes a Databricks-style JSON error.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error_code": code, "message": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(v)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func errorf(format string, a ...any) error { return fmt.Errorf("dbxfake: "+format, a...) }
