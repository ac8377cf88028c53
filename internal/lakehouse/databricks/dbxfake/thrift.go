package dbxfake

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/thrift/lib/go/thrift"

	"github.com/lakeport/lakeport/internal/lakehouse/databricks/dbxfake/internal/tcli"
)

// serverProtocol is the highest protocol version the fake speaks.
const serverProtocol = tcli.TProtocolVersion_SPARK_CLI_SERVICE_PROTOCOL_V8

// ArrowNativeTypes are the native Arrow types a client asked for
// (TExecuteStatementReq.useArrowNativeTypes). Databricks sends the other
// kinds as strings; the fake sends whatever schema the handler returns, so a
// handler that wants to mimic the server looks at these.
type ArrowNativeTypes struct {
	Timestamp, Decimal, Complex, Interval bool
}

type session struct {
	id              string // SprintGuid form, as the driver prints it
	catalog, schema string
	conf            map[string]string
	closed          bool
}

type operation struct {
	id        string
	handle    *tcli.TOperationHandle
	session   *session
	sql       string
	hasResult bool
	schema    *arrow.Schema
	schemaIPC []byte
	records   []arrow.RecordBatch
	total     int64
	offset    int64 // next row FetchResults delivers
	affected  int64
	err       error
	lz4       bool
	runPolls  int // GetOperationStatus calls still answered RUNNING
	closed    bool
	canceled  bool
}

type thriftState struct {
	s             *Server
	processor     *tcli.TCLIServiceProcessor
	sessions      map[string]*session
	ops           map[string]*operation
	pageRows      int64
	directResults bool
	runningPolls  int
}

func newThriftState(s *Server) *thriftState {
	ts := &thriftState{
		s:             s,
		sessions:      map[string]*session{},
		ops:           map[string]*operation{},
		directResults: true,
	}
	ts.processor = tcli.NewTCLIServiceProcessor(&tcliHandler{ts: ts})
	return ts
}

// SetPageRows caps the rows the fake puts in one result page (direct
// results or one FetchResults answer) below what the client asks for;
// 0 (default) means the client's maxRows.
func (s *Server) SetPageRows(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.thrift.pageRows = int64(n)
}

// SetDirectResults chooses whether ExecuteStatement answers with direct
// results (status, metadata and the first page in the same response) when
// the client asks for them (default true). With false the client polls
// GetOperationStatus, then calls GetResultSetMetadata and FetchResults.
func (s *Server) SetDirectResults(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.thrift.directResults = on
}

// SetRunningPolls makes each statement report RUNNING to its first n status
// checks (direct results count as one) before FINISHED or ERROR. The
// statement itself executes when ExecuteStatement arrives.
func (s *Server) SetRunningPolls(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.thrift.runningPolls = n
}

// OpenSessions is the number of Thrift sessions open now.
func (s *Server) OpenSessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ss := range s.thrift.sessions {
		if !ss.closed {
			n++
		}
	}
	return n
}

// OpenOperations is the number of statements not closed yet (neither by
// CloseOperation, nor by the server after delivering all rows as direct
// results, nor by closing their session).
func (s *Server) OpenOperations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, op := range s.thrift.ops {
		if !op.closed {
			n++
		}
	}
	return n
}

type thriftCall struct{ name, sql string }

// peekThriftCall decodes the method name (and the statement of an
// ExecuteStatement) of a binary-protocol Thrift call.
func peekThriftCall(body []byte) *thriftCall {
	ctx := context.Background()
	p := thrift.NewTBinaryProtocolConf(thrift.NewStreamTransportR(bytes.NewReader(body)), &thrift.TConfiguration{})
	name, _, _, err := p.ReadMessageBegin(ctx)
	if err != nil || name == "" {
		return &thriftCall{name: "unknown"}
	}
	c := &thriftCall{name: name}
	if name == "ExecuteStatement" {
		args := tcli.NewTCLIServiceExecuteStatementArgs()
		if err := args.Read(ctx, p); err == nil && args.Req != nil {
			c.sql = args.Req.Statement
		}
	}
	return c
}

func (s *Server) serveThrift(w http.ResponseWriter, r *http.Request, body []byte) {
	s.mu.Lock()
	deny := s.denyWH
	if !deny && s.whState != StateRunning {
		// A serverless warehouse starts on demand; until it runs the
		// endpoint answers 503.
		s.startLocked()
		s.pollLocked()
	}
	state := s.whState
	s.mu.Unlock()
	if deny {
		w.Header().Set("X-Databricks-Reason-Phrase", "PERMISSION_DENIED: User does not have CAN_USE on SQL warehouse "+WarehouseID)
		writeError(w, http.StatusForbidden, "PERMISSION_DENIED", "User does not have CAN_USE on SQL warehouse "+WarehouseID+".")
		return
	}
	if state != StateRunning {
		w.Header().Set("X-Databricks-Reason-Phrase", "SQL warehouse "+WarehouseID+" is "+state)
		writeError(w, http.StatusServiceUnavailable, "TEMPORARILY_UNAVAILABLE", "SQL warehouse "+WarehouseID+" is "+state+".")
		return
	}

	ctx := r.Context()
	cfg := &thrift.TConfiguration{}
	in := thrift.NewTBinaryProtocolConf(thrift.NewStreamTransportR(bytes.NewReader(body)), cfg)
	outBuf := thrift.NewTMemoryBuffer()
	out := thrift.NewTBinaryProtocolConf(outBuf, cfg)
	if _, err := s.thrift.processor.Process(ctx, in, out); err != nil {
		var te thrift.TTransportException
		if errors.As(err, &te) || outBuf.Len() == 0 {
			http.Error(w, "thrift: "+err.Error(), http.StatusBadRequest)
			return
		}
		// An application exception was written for the client.
	}
	w.Header().Set("Content-Type", "application/x-thrift")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(outBuf.Bytes())
}

// ---- the TCLIService implementation ----

type tcliHandler struct{ ts *thriftState }

var _ tcli.TCLIService = (*tcliHandler)(nil)

func okStatus() *tcli.TStatus { return &tcli.TStatus{StatusCode: tcli.TStatusCode_SUCCESS_STATUS} }

func errStatus(code tcli.TStatusCode, msg string) *tcli.TStatus {
	return &tcli.TStatus{StatusCode: code, ErrorMessage: &msg, DisplayMessage: &msg}
}

func newHandleID() *tcli.THandleIdentifier {
	g := make([]byte, 16)
	sec := make([]byte, 16)
	_, _ = rand.Read(g)
	_, _ = rand.Read(sec)
	return &tcli.THandleIdentifier{GUID: g, Secret: sec}
}

// guidString formats a handle GUID the way the driver prints it.
func guidString(b []byte) string {
	if len(b) == 16 {
		return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	}
	return fmt.Sprintf("%x", b)
}

func (h *tcliHandler) OpenSession(ctx context.Context, req *tcli.TOpenSessionReq) (*tcli.TOpenSessionResp, error) {
	version := serverProtocol
	if req.ClientProtocolI64 != nil && tcli.TProtocolVersion(*req.ClientProtocolI64) < version {
		version = tcli.TProtocolVersion(*req.ClientProtocolI64)
	} else if req.ClientProtocolI64 == nil && req.ClientProtocol != nil && *req.ClientProtocol < version {
		version = *req.ClientProtocol
	}
	id := newHandleID()
	ss := &session{id: guidString(id.GUID), conf: map[string]string{}}
	for k, v := range req.Configuration {
		ss.conf[k] = v
	}
	if ns := req.InitialNamespace; ns != nil {
		if ns.CatalogName != nil {
			ss.catalog = string(*ns.CatalogName)
		}
		if ns.SchemaName != nil {
			ss.schema = string(*ns.SchemaName)
		}
	}
	s := h.ts.s
	s.mu.Lock()
	h.ts.sessions[ss.id] = ss
	s.mu.Unlock()
	multi := true
	cat, sch := tcli.TIdentifier(ss.catalog), tcli.TIdentifier(ss.schema)
	if cat == "" {
		cat = "hive_metastore"
	}
	if sch == "" {
		sch = "default"
	}
	return &tcli.TOpenSessionResp{
		Status:                 okStatus(),
		ServerProtocolVersion:  version,
		SessionHandle:          &tcli.TSessionHandle{SessionId: id},
		Configuration:          map[string]string{},
		InitialNamespace:       &tcli.TNamespace{CatalogName: &cat, SchemaName: &sch},
		CanUseMultipleCatalogs: &multi,
	}, nil
}

func (h *tcliHandler) session(hd *tcli.TSessionHandle) *session {
	if hd == nil || hd.SessionId == nil {
		return nil
	}
	ss := h.ts.sessions[guidString(hd.SessionId.GUID)]
	if ss == nil || ss.closed {
		return nil
	}
	return ss
}

func (h *tcliHandler) CloseSession(ctx context.Context, req *tcli.TCloseSessionReq) (*tcli.TCloseSessionResp, error) {
	s := h.ts.s
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := h.session(req.SessionHandle)
	if ss == nil {
		return &tcli.TCloseSessionResp{Status: errStatus(tcli.TStatusCode_INVALID_HANDLE_STATUS, "Invalid SessionHandle")}, nil
	}
	ss.closed = true
	for _, op := range h.ts.ops {
		if op.session == ss {
			op.close()
		}
	}
	return &tcli.TCloseSessionResp{Status: okStatus()}, nil
}

func (h *tcliHandler) GetInfo(ctx context.Context, req *tcli.TGetInfoReq) (*tcli.TGetInfoResp, error) {
	v := "Spark SQL"
	if req.InfoType == 18 { // CLI_DBMS_VER
		v = "3.5.0"
	}
	return &tcli.TGetInfoResp{Status: okStatus(), InfoValue: &tcli.TGetInfoValue{StringValue: &v}}, nil
}

func (op *operation) close() {
	if op.closed {
		return
	}
	op.closed = true
	for _, r := range op.records {
		r.Release()
	}
	op.records = nil
}

func params(in []*tcli.TSparkParameter) []Param {
	var out []Param
	for _, p := range in {
		if p == nil {
			continue
		}
		var q Param
		if p.Name != nil {
			q.Name = *p.Name
		}
		if p.Type != nil {
			q.Type = *p.Type
		}
		switch {
		case p.Value == nil:
			q.Null = true
		case p.Value.StringValue != nil:
			q.Value = *p.Value.StringValue
		case p.Value.DoubleValue != nil:
			q.Value = fmt.Sprint(*p.Value.DoubleValue)
		case p.Value.BooleanValue != nil:
			q.Value = fmt.Sprint(*p.Value.BooleanValue)
		default:
			q.Null = true
		}
		out = append(out, q)
	}
	return out
}

func (h *tcliHandler) ExecuteStatement(ctx context.Context, req *tcli.TExecuteStatementReq) (*tcli.TExecuteStatementResp, error) {
	ts := h.ts
	s := ts.s
	s.mu.Lock()
	ss := h.session(req.SessionHandle)
	if ss == nil {
		s.mu.Unlock()
		return &tcli.TExecuteStatementResp{Status: errStatus(tcli.TStatusCode_ERROR_STATUS, "Invalid SessionHandle: the session does not exist or was closed")}, nil
	}
	q := Query{SQL: req.Statement, Params: params(req.Parameters), Session: ss.id, Catalog: ss.catalog, Schema: ss.schema}
	if nt := req.UseArrowNativeTypes; nt != nil {
		q.ArrowNative = ArrowNativeTypes{
			Timestamp: nt.GetTimestampAsArrow(), Decimal: nt.GetDecimalAsArrow(),
			Complex: nt.GetComplexTypesAsArrow(), Interval: nt.GetIntervalTypesAsArrow(),
		}
	}
	handler := s.sqlHandler
	s.executed = append(s.executed, q)
	runPolls := ts.runningPolls
	direct := ts.directResults && req.GetDirectResults != nil
	s.mu.Unlock()

	var res *Result
	var err error
	if handler == nil {
		err = &SQLError{State: "0A000", Message: "dbxfake: no SQL handler installed (Server.HandleSQL)"}
	} else {
		res, err = runHandler(handler, q)
	}

	op := &operation{
		sql:      req.Statement,
		session:  ss,
		err:      err,
		lz4:      req.GetCanDecompressLZ4Result_(),
		runPolls: runPolls,
	}
	if err == nil && res != nil {
		op.affected = res.RowsAffected
		if res.Schema != nil {
			op.hasResult = true
			op.schema = res.Schema
			for _, rec := range res.Batches {
				if rec == nil {
					continue
				}
				if !rec.Schema().Equal(res.Schema) {
					op.err = &SQLError{State: "XX000", Message: "dbxfake: handler returned a batch whose schema differs from Result.Schema"}
					break
				}
				rec.Retain()
				op.records = append(op.records, rec)
				op.total += rec.NumRows()
			}
			if op.err == nil {
				op.schemaIPC, op.err = schemaIPC(res.Schema)
			}
		}
	}
	id := newHandleID()
	op.id = guidString(id.GUID)
	op.handle = &tcli.TOperationHandle{
		OperationId:   id,
		OperationType: tcli.TOperationType_EXECUTE_STATEMENT,
		HasResultSet:  op.hasResult,
	}
	if op.err == nil && !op.hasResult {
		mr := float64(op.affected)
		op.handle.ModifiedRowCount = &mr
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	ts.ops[op.id] = op
	resp := &tcli.TExecuteStatementResp{Status: okStatus(), OperationHandle: op.handle}
	if !direct {
		return resp, nil
	}
	dr := &tcli.TSparkDirectResults{OperationStatus: op.status()}
	if dr.OperationStatus.GetOperationState() == tcli.TOperationState_FINISHED_STATE {
		maxRows := req.GetDirectResults.MaxRows
		dr.ResultSetMetadata = op.metadata()
		page, err := op.fetch(ts.pageLimit(maxRows), faultFrom(ctx) == TruncateResult)
		if err != nil {
			return nil, err
		}
		dr.ResultSet = page
		if !page.GetHasMoreRows() {
			dr.CloseOperation = &tcli.TCloseOperationResp{Status: okStatus()}
			op.close()
		}
	} else if dr.OperationStatus.GetOperationState() == tcli.TOperationState_ERROR_STATE {
		dr.CloseOperation = &tcli.TCloseOperationResp{Status: okStatus()}
		op.close()
	}
	resp.DirectResults = dr
	return resp, nil
}

// runHandler calls the handler, turning a panic into an error.
func runHandler(h func(Query) (*Result, error), q Query) (res *Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &SQLError{State: "XX000", Message: fmt.Sprintf("dbxfake: SQL handler panicked: %v", r)}
		}
	}()
	return h(q)
}

func (ts *thriftState) pageLimit(clientMax int64) int64 {
	n := clientMax
	if n <= 0 {
		n = 100000
	}
	if ts.pageRows > 0 && ts.pageRows < n {
		n = ts.pageRows
	}
	return n
}

// status is the operation's status response; it counts one poll.
func (op *operation) status() *tcli.TGetOperationStatusResp {
	st := &tcli.TGetOperationStatusResp{Status: okStatus()}
	state := tcli.TOperationState_FINISHED_STATE
	switch {
	case op.canceled:
		state = tcli.TOperationState_CANCELED_STATE
	case op.runPolls > 0:
		op.runPolls--
		state = tcli.TOperationState_RUNNING_STATE
	case op.err != nil:
		state = tcli.TOperationState_ERROR_STATE
		sqlState, msg := "42000", op.err.Error()
		var se *SQLError
		if errors.As(op.err, &se) {
			if se.State != "" {
				sqlState = se.State
			}
			msg = se.Message
		}
		display := msg
		if !strings.Contains(display, "SQLSTATE") {
			display = msg + " SQLSTATE: " + sqlState
		}
		st.SqlState = &sqlState
		st.ErrorMessage = &msg
		st.DisplayMessage = &display
		ec := int32(0)
		st.ErrorCode = &ec
	}
	st.OperationState = &state
	if state == tcli.TOperationState_FINISHED_STATE {
		hr := op.hasResult
		st.HasResultSet = &hr
		n := op.affected
		st.NumModifiedRows = &n
	}
	return st
}

func (op *operation) metadata() *tcli.TGetResultSetMetadataResp {
	format := tcli.TSparkRowSetType_ARROW_BASED_SET
	lz := op.lz4
	md := &tcli.TGetResultSetMetadataResp{
		Status:        okStatus(),
		Schema:        tableSchema(op.schema),
		ResultFormat:  &format,
		Lz4Compressed: &lz,
	}
	if op.schemaIPC != nil {
		md.ArrowSchema = op.schemaIPC
	} else {
		b, err := schemaIPC(arrow.NewSchema(nil, nil))
		if err == nil {
			md.ArrowSchema = b
		}
	}
	staging := false
	md.IsStagingOperation = &staging
	return md
}

// fetch delivers the next page of at most maxRows rows, one Arrow batch per
// (slice of a) record. truncate cuts the page's last batch short (its
// rowCount still announcing every row) and ends the result.
func (op *operation) fetch(maxRows int64, truncate bool) (*tcli.TFetchResultsResp, error) {
	start := op.offset
	end := start + maxRows
	if end > op.total {
		end = op.total
	}
	rs := &tcli.TRowSet{StartRowOffset: start, Rows: []*tcli.TRow{}, ArrowBatches: []*tcli.TSparkArrowBatch{}}
	var pos int64
	for _, rec := range op.records {
		n := rec.NumRows()
		lo, hi := max(start, pos), min(end, pos+n)
		if lo < hi {
			slice := rec.NewSlice(lo-pos, hi-pos)
			b, err := batchIPC(op.schema, op.schemaIPC, slice)
			slice.Release()
			if err != nil {
				return nil, err
			}
			rs.ArrowBatches = append(rs.ArrowBatches, &tcli.TSparkArrowBatch{Batch: b, RowCount: hi - lo})
		}
		pos += n
	}
	op.offset = end
	more := op.offset < op.total
	if truncate {
		if k := len(rs.ArrowBatches); k > 0 {
			last := rs.ArrowBatches[k-1]
			last.Batch = last.Batch[:len(last.Batch)/2]
		}
		more = false
		op.offset = op.total
	}
	if op.lz4 {
		for _, b := range rs.ArrowBatches {
			c, err := lz4Frame(b.Batch)
			if err != nil {
				return nil, err
			}
			b.Batch = c
		}
	}
	return &tcli.TFetchResultsResp{
		Status:            okStatus(),
		HasMoreRows:       &more,
		Results:           rs,
		ResultSetMetadata: op.metadata(),
	}, nil
}

func (h *tcliHandler) op(hd *tcli.TOperationHandle) (*operation, *tcli.TStatus) {
	if hd == nil || hd.OperationId == nil {
		return nil, errStatus(tcli.TStatusCode_INVALID_HANDLE_STATUS, "Invalid OperationHandle")
	}
	op := h.ts.ops[guidString(hd.OperationId.GUID)]
	if op == nil {
		return nil, errStatus(tcli.TStatusCode_INVALID_HANDLE_STATUS, "Invalid OperationHandle: unknown operation")
	}
	if op.closed {
		return nil, errStatus(tcli.TStatusCode_INVALID_HANDLE_STATUS, "Invalid OperationHandle: the operation is closed")
	}
	return op, nil
}

func (h *tcliHandler) GetOperationStatus(ctx context.Context, req *tcli.TGetOperationStatusReq) (*tcli.TGetOperationStatusResp, error) {
	s := h.ts.s
	s.mu.Lock()
	defer s.mu.Unlock()
	op, st := h.op(req.OperationHandle)
	if op == nil {
		return &tcli.TGetOperationStatusResp{Status: st}, nil
	}
	return op.status(), nil
}

func (h *tcliHandler) CancelOperation(ctx context.Context, req *tcli.TCancelOperationReq) (*tcli.TCancelOperationResp, error) {
	s := h.ts.s
	s.mu.Lock()
	defer s.mu.Unlock()
	op, st := h.op(req.OperationHandle)
	if op == nil {
		return &tcli.TCancelOperationResp{Status: st}, nil
	}
	op.canceled = true
	return &tcli.TCancelOperationResp{Status: okStatus()}, nil
}

func (h *tcliHandler) CloseOperation(ctx context.Context, req *tcli.TCloseOperationReq) (*tcli.TCloseOperationResp, error) {
	s := h.ts.s
	s.mu.Lock()
	defer s.mu.Unlock()
	op, st := h.op(req.OperationHandle)
	if op == nil {
		return &tcli.TCloseOperationResp{Status: st}, nil
	}
	op.close()
	return &tcli.TCloseOperationResp{Status: okStatus()}, nil
}

func (h *tcliHandler) GetResultSetMetadata(ctx context.Context, req *tcli.TGetResultSetMetadataReq) (*tcli.TGetResultSetMetadataResp, error) {
	s := h.ts.s
	s.mu.Lock()
	defer s.mu.Unlock()
	op, st := h.op(req.OperationHandle)
	if op == nil {
		return &tcli.TGetResultSetMetadataResp{Status: st}, nil
	}
	return op.metadata(), nil
}

func (h *tcliHandler) FetchResults(ctx context.Context, req *tcli.TFetchResultsReq) (*tcli.TFetchResultsResp, error) {
	s := h.ts.s
	s.mu.Lock()
	defer s.mu.Unlock()
	op, st := h.op(req.OperationHandle)
	if op == nil {
		return &tcli.TFetchResultsResp{Status: st}, nil
	}
	if op.err != nil || op.canceled {
		return &tcli.TFetchResultsResp{Status: errStatus(tcli.TStatusCode_ERROR_STATUS, "The operation has no result set: it failed or was canceled")}, nil
	}
	switch req.Orientation {
	case tcli.TFetchOrientation_FETCH_NEXT:
	case tcli.TFetchOrientation_FETCH_FIRST:
		op.offset = 0
	default:
		return &tcli.TFetchResultsResp{Status: errStatus(tcli.TStatusCode_ERROR_STATUS, "dbxfake: only FETCH_NEXT and FETCH_FIRST are supported")}, nil
	}
	return op.fetch(h.ts.pageLimit(req.MaxRows), faultFrom(ctx) == TruncateResult)
}

// closeAll releases every operation's batches (server shutdown).
func (ts *thriftState) closeAll() {
	ts.s.mu.Lock()
	defer ts.s.mu.Unlock()
	for _, op := range ts.ops {
		op.close()
	}
}
