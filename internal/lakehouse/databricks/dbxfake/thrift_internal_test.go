package dbxfake

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/thrift/lib/go/thrift"
	"github.com/pierrec/lz4/v4"

	"github.com/lakeport/lakeport/internal/lakehouse/databricks/dbxfake/internal/tcli"
)

// The driver never asks for LZ4 (v1.14 forces it off), so the LZ4 framing
// and the handle bookkeeping are checked with the generated Thrift client.
func TestThriftProtocolLZ4AndHandles(t *testing.T) {
	s := New(t)
	s.AddToken("tok")
	fields := []arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}
	s.HandleSQL(func(q Query) (*Result, error) {
		return NewResult(fields, []any{1, "a"}, []any{2, nil}, []any{3, "c"}, []any{4, "d"}, []any{5, "e"})
	})
	ctx := context.Background()
	trans, err := thrift.NewTHttpClientWithOptions(s.URL()+HTTPPath, thrift.THttpClientOptions{Client: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	trans.(*thrift.THttpClient).SetHeader("Authorization", "Bearer tok")
	c := tcli.NewTCLIServiceClientFactory(trans, thrift.NewTBinaryProtocolFactoryConf(&thrift.TConfiguration{}))

	v := int64(tcli.TProtocolVersion_SPARK_CLI_SERVICE_PROTOCOL_V9)
	sess, err := c.OpenSession(ctx, &tcli.TOpenSessionReq{ClientProtocolI64: &v})
	if err != nil || sess.Status.StatusCode != tcli.TStatusCode_SUCCESS_STATUS {
		t.Fatalf("OpenSession: %+v, %v", sess, err)
	}
	if sess.ServerProtocolVersion != tcli.TProtocolVersion_SPARK_CLI_SERVICE_PROTOCOL_V8 {
		t.Fatalf("protocol %v", sess.ServerProtocolVersion)
	}
	yes := true
	ex, err := c.ExecuteStatement(ctx, &tcli.TExecuteStatementReq{
		SessionHandle:           sess.SessionHandle,
		Statement:               "SELECT id, s FROM t",
		RunAsync:                true,
		GetDirectResults:        &tcli.TSparkGetDirectResults{MaxRows: 2},
		CanReadArrowResult_:     &yes,
		CanDecompressLZ4Result_: &yes,
	})
	if err != nil || ex.Status.StatusCode != tcli.TStatusCode_SUCCESS_STATUS || ex.DirectResults == nil {
		t.Fatalf("ExecuteStatement: %+v, %v", ex, err)
	}
	md := ex.DirectResults.ResultSetMetadata
	if !md.GetLz4Compressed() || md.GetResultFormat() != tcli.TSparkRowSetType_ARROW_BASED_SET || len(md.Schema.Columns) != 2 ||
		md.Schema.Columns[0].TypeDesc.Types[0].PrimitiveEntry.Type != tcli.TTypeId_BIGINT_TYPE {
		t.Fatalf("metadata %+v", md)
	}
	if ex.DirectResults.CloseOperation != nil || !ex.DirectResults.ResultSet.GetHasMoreRows() {
		t.Fatal("5 rows do not fit a 2-row page")
	}
	read := func(rs *tcli.TRowSet) []int64 {
		t.Helper()
		var ids []int64
		for _, b := range rs.ArrowBatches {
			raw, err := io.ReadAll(lz4.NewReader(bytes.NewReader(b.Batch)))
			if err != nil {
				t.Fatal(err)
			}
			rd, err := ipc.NewReader(io.MultiReader(bytes.NewReader(md.ArrowSchema), bytes.NewReader(raw)))
			if err != nil {
				t.Fatal(err)
			}
			n := int64(0)
			for rd.Next() {
				ids = append(ids, rd.RecordBatch().Column(0).(*array.Int64).Int64Values()...)
				n += rd.RecordBatch().NumRows()
			}
			if rd.Err() != nil || n != b.RowCount {
				t.Fatalf("batch: %d rows, rowCount %d, err %v", n, b.RowCount, rd.Err())
			}
			rd.Release()
		}
		return ids
	}
	ids := read(ex.DirectResults.ResultSet.Results)
	for _, want := range [][]int64{{3, 4}, {5}} {
		fr, err := c.FetchResults(ctx, &tcli.TFetchResultsReq{OperationHandle: ex.OperationHandle, MaxRows: 2, IncludeResultSetMetadata: &yes})
		if err != nil || fr.Status.StatusCode != tcli.TStatusCode_SUCCESS_STATUS {
			t.Fatalf("FetchResults: %+v, %v", fr, err)
		}
		got := read(fr.Results)
		if len(got) != len(want) || got[0] != want[0] || fr.Results.StartRowOffset != want[0]-1 {
			t.Fatalf("page %v at %d, want %v", got, fr.Results.StartRowOffset, want)
		}
		ids = append(ids, got...)
		if fr.GetHasMoreRows() != (want[0] == 3) {
			t.Fatalf("hasMoreRows %v after %v", fr.GetHasMoreRows(), got)
		}
	}
	if len(ids) != 5 || ids[0] != 1 {
		t.Fatalf("ids %v", ids)
	}
	if st, err := c.GetOperationStatus(ctx, &tcli.TGetOperationStatusReq{OperationHandle: ex.OperationHandle}); err != nil ||
		st.GetOperationState() != tcli.TOperationState_FINISHED_STATE || !st.GetHasResultSet() {
		t.Fatalf("status %+v, %v", st, err)
	}
	if cl, err := c.CloseOperation(ctx, &tcli.TCloseOperationReq{OperationHandle: ex.OperationHandle}); err != nil || cl.Status.StatusCode != tcli.TStatusCode_SUCCESS_STATUS {
		t.Fatalf("CloseOperation %+v, %v", cl, err)
	}
	if fr, err := c.FetchResults(ctx, &tcli.TFetchResultsReq{OperationHandle: ex.OperationHandle, MaxRows: 2}); err != nil || fr.Status.StatusCode != tcli.TStatusCode_INVALID_HANDLE_STATUS {
		t.Fatalf("fetch after close: %+v, %v", fr, err)
	}
	if cs, err := c.CloseSession(ctx, &tcli.TCloseSessionReq{SessionHandle: sess.SessionHandle}); err != nil || cs.Status.StatusCode != tcli.TStatusCode_SUCCESS_STATUS {
		t.Fatalf("CloseSession %+v, %v", cs, err)
	}
	ex2, err := c.ExecuteStatement(ctx, &tcli.TExecuteStatementReq{SessionHandle: sess.SessionHandle, Statement: "SELECT 1"})
	if err != nil || ex2.Status.StatusCode != tcli.TStatusCode_ERROR_STATUS {
		t.Fatalf("execute on closed session: %+v, %v", ex2, err)
	}
	if n := len(s.Executed()); n != 1 {
		t.Fatalf("executed %d", n)
	}
	if s.OpenSessions() != 0 || s.OpenOperations() != 0 {
		t.Fatal("leaked handles")
	}
}

func TestPeekThriftCallGarbage(t *testing.T) {
	if c := peekThriftCall([]byte("not thrift")); c.name != "unknown" {
		t.Fatalf("peek = %+v", c)
	}
}
