package databricks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	dbsqlerr "github.com/databricks/databricks-sql-go/errors"

	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/lakehouse"
)

func init() { errs.Register(classifyKind) }

// op is what a statement was doing, which decides what some errors mean:
// a vacuumed file is a lost version for a scan, lost changes for the feed.
type op int

const (
	opOther op = iota
	opDescribe
	opScan
	opChanges
	opLoad
)

type errContext struct {
	table      lakehouse.TableName
	op         op
	version    int64 // opScan
	start, end int64 // opChanges
}

var (
	errorClassRE = regexp.MustCompile(`\[([A-Z][A-Z0-9_]*(?:\.[A-Z0-9_]+)?)\]`)
	httpStatusRE = regexp.MustCompile(`HTTP status (\d{3})`)
	availableRE  = regexp.MustCompile(`(?i)available versions:?\s*\[?\s*(\d+)\s*,\s*(\d+)`)
)

// errorClass returns the Databricks error class in a message
// ("[TABLE_OR_VIEW_NOT_FOUND] ..."), or "".
func errorClass(msg string) string {
	if m := errorClassRE.FindStringSubmatch(msg); m != nil {
		return m[1]
	}
	return ""
}

// sqlState returns the SQLSTATE of a driver execution error, or one named
// in the message ("SQLSTATE: 42P01").
func sqlState(err error) string {
	var ee dbsqlerr.DBExecutionError
	if errors.As(err, &ee) && ee.SqlState() != "" {
		return ee.SqlState()
	}
	msg := err.Error()
	if i := strings.Index(msg, "SQLSTATE: "); i >= 0 && len(msg) >= i+15 {
		return msg[i+10 : i+15]
	}
	return ""
}

func httpStatus(err error) int {
	if m := httpStatusRE.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// isConnError reports an error of the connection itself (reset, EOF,
// broken pipe): the statement's outcome is unknown.
func isConnError(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNABORTED) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && !ne.Timeout() {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return false // never reached the server
		}
		return true
	}
	msg := strings.ToLower(err.Error())
	for _, s := range []string{"connection reset", "broken pipe", "unexpected eof", ": eof", "server closed idle connection", "connection was forcibly closed"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// outcomeUnknown reports an error after which a statement may or may not
// have run: the connection failed and no SQL answer came back.
func outcomeUnknown(err error) bool {
	if err == nil || errorClass(err.Error()) != "" || sqlState(err) != "" {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return isConnError(err)
}

var notFoundClasses = map[string]string{
	"TABLE_OR_VIEW_NOT_FOUND": "table", "SCHEMA_NOT_FOUND": "schema", "CATALOG_NOT_FOUND": "catalog",
	"NO_SUCH_CATALOG_EXCEPTION": "catalog", "DELTA_TABLE_NOT_FOUND": "table", "DELTA_MISSING_DELTA_TABLE": "table",
}

// changesGone are error classes meaning a change feed range cannot be read.
var changesGone = []string{
	"DELTA_MISSING_CHANGE_DATA", "DELTA_CHANGE_DATA_FILE_NOT_FOUND", "DELTA_CHANGE_TABLE_FEED_DISABLED",
	"DELTA_CDC_NOT_ALLOWED_IN_THIS_VERSION", "DELTA_FILE_NOT_FOUND", "DELTA_LOG_FILE_NOT_FOUND",
	"DELTA_VERSIONS_NOT_CONTIGUOUS", "DELTA_TIMESTAMP_EARLIER_THAN_COMMIT_RETENTION", "VERSION_NOT_FOUND",
	"DELTA_VERSION_NOT_FOUND", "DELTA_FILE_NOT_FOUND_DETAILED",
}

// versionGone are error classes meaning a pinned version cannot be read.
var versionGone = []string{
	"DELTA_FILE_NOT_FOUND", "DELTA_FILE_NOT_FOUND_DETAILED", "DELTA_LOG_FILE_NOT_FOUND", "DELTA_VERSIONS_NOT_CONTIGUOUS",
	"VERSION_NOT_FOUND", "DELTA_VERSION_NOT_FOUND", "DELTA_MISSING_PART_FILES", "FAILED_READ_FILE",
}

func hasClass(class, msg string, list []string) bool {
	for _, c := range list {
		if class == c || strings.HasPrefix(class, c+".") || strings.Contains(msg, "["+c+"]") {
			return true
		}
	}
	return false
}

// classify turns a driver error into Lakeport's types: lakehouse errors
// (not found, unavailable versions or changes, invalid) where the SQL
// answer says so, else an errs kind (auth, transient with Retry-After,
// conflict, unsupported, invalid). The message keeps the server's text
// (which never holds credentials) and names the table.
func classify(err error, c errContext) error {
	if err == nil {
		return nil
	}
	var le interface{ Is(error) bool }
	if errors.As(err, &le) && (errors.Is(err, lakehouse.ErrNotFound) || errors.Is(err, lakehouse.ErrInvalid) ||
		errors.Is(err, lakehouse.ErrChangesUnavailable) || errors.Is(err, lakehouse.ErrVersionUnavailable)) {
		return err
	}
	var ke *errs.Error
	if errors.As(err, &ke) {
		return err
	}
	msg := err.Error()
	class := errorClass(msg)
	state := sqlState(err)
	name := c.table.Plain()
	lower := strings.ToLower(msg)
	if what, ok := notFoundClasses[class]; ok || state == "42P01" {
		if what == "" {
			what = "table"
		}
		n := name
		switch what {
		case "catalog":
			n = c.table.Catalog
		case "schema":
			n = c.table.Catalog + "." + c.table.Schema
		}
		return &notFound{NotFoundError: lakehouse.NotFoundError{What: what, Name: n}, err: err}
	}
	switch c.op {
	case opChanges:
		if hasClass(class, msg, changesGone) || strings.Contains(lower, "change data was not recorded") ||
			strings.Contains(lower, "change data feed") && strings.Contains(lower, "not enabled") ||
			strings.Contains(lower, "cannot time travel") {
			return &lakehouse.ChangesUnavailableError{Table: c.table, Start: c.start, End: c.end, Reason: firstLine(msg), Err: err}
		}
	case opScan:
		if strings.Contains(lower, "cannot time travel") || hasClass(class, msg, []string{"VERSION_NOT_FOUND", "DELTA_VERSION_NOT_FOUND"}) {
			// before the earliest version: gone; after the latest: bad input
			if m := availableRE.FindStringSubmatch(msg); m != nil {
				lo, _ := strconv.ParseInt(m[1], 10, 64)
				if c.version > lo {
					return lakehouse.Invalidf("%s: version %d does not exist (%s)", name, c.version, firstLine(msg))
				}
			}
			return &lakehouse.VersionUnavailableError{Table: c.table, Version: c.version, Reason: firstLine(msg), Err: err}
		}
		if hasClass(class, msg, versionGone) {
			return &lakehouse.VersionUnavailableError{Table: c.table, Version: c.version, Reason: firstLine(msg), Err: err}
		}
	}
	kind, retryAfter := kindOf(err, class, state)
	wrapped := fmt.Errorf("%s: %w", name, err)
	if name == ".." {
		wrapped = err
	}
	switch kind {
	case errs.Invalid:
		return &lakehouse.InvalidError{Reason: wrapped.Error()}
	case errs.Unsupported:
		return &lakehouse.UnsupportedError{What: name, Err: err}
	case errs.Transient:
		return &errs.Error{Kind: errs.Transient, Err: wrapped, RetryAfter: retryAfter}
	case errs.Unknown:
		return wrapped
	}
	return errs.Wrap(kind, wrapped)
}

// notFound keeps the driver's error reachable from a NotFoundError.
type notFound struct {
	lakehouse.NotFoundError
	err error
}

func (e *notFound) Unwrap() []error { return []error{&e.NotFoundError, e.err} }

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return s
}

// kindOf decides the errs kind of a driver error from its error class,
// SQLSTATE, HTTP status and the driver's retry hints.
func kindOf(err error, class, state string) (errs.Kind, time.Duration) {
	if errors.Is(err, context.DeadlineExceeded) {
		return errs.Transient, 0
	}
	if errors.Is(err, context.Canceled) {
		return errs.Unknown, 0
	}
	var dbe dbsqlerr.DBError
	var retryAfter time.Duration
	if errors.As(err, &dbe) {
		retryAfter = dbe.RetryAfter()
	}
	lower := strings.ToLower(err.Error())
	switch {
	case strings.Contains(class, "PERMISSION") || strings.Contains(class, "INSUFFICIENT_PRIVILEGE") ||
		class == "UNAUTHORIZED_ACCESS" || state == "42501":
		return errs.Auth, 0
	case strings.Contains(class, "CONCURRENT") || strings.HasPrefix(state, "40") ||
		strings.Contains(lower, "concurrentappendexception") || strings.Contains(lower, "concurrent update"):
		return errs.Conflict, 0
	case strings.HasPrefix(class, "UNSUPPORTED") || strings.HasSuffix(class, "_NOT_SUPPORTED") || state == "0A000":
		return errs.Unsupported, 0
	case class == "TEMPORARILY_UNAVAILABLE" || strings.HasPrefix(state, "08") || state == "XX000" && strings.Contains(lower, "temporarily"):
		return errs.Transient, retryAfter
	case strings.HasPrefix(state, "42") || strings.HasPrefix(state, "22") || strings.HasPrefix(state, "23") ||
		strings.HasPrefix(class, "PARSE_") || strings.HasPrefix(class, "UNRESOLVED_") || strings.HasPrefix(class, "DATATYPE_MISMATCH") ||
		strings.HasPrefix(class, "INVALID_") || strings.HasPrefix(class, "DELTA_INVALID") || strings.HasPrefix(class, "CAST_"):
		return errs.Invalid, 0
	}
	switch s := httpStatus(err); {
	case s == 401 || s == 403:
		return errs.Auth, 0
	case s == 429 || s == 503 || s == 502 || s == 504:
		return errs.Transient, retryAfter
	case s == 400 || s == 404:
		if strings.Contains(lower, "token") && (strings.Contains(lower, "expired") || strings.Contains(lower, "invalid")) {
			return errs.Auth, 0
		}
	}
	if strings.Contains(lower, "invalid access token") || strings.Contains(lower, "token is expired") || strings.Contains(lower, "token expired") ||
		strings.Contains(lower, "unauthorized") || strings.Contains(lower, "credential was not sent") {
		return errs.Auth, 0
	}
	if dbe != nil && dbe.IsRetryable() {
		return errs.Transient, retryAfter
	}
	if isConnError(err) || errors.Is(err, errTruncated) {
		return errs.Transient, 0
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return errs.Transient, 0
	}
	return errs.Unknown, 0
}

// classifyKind is the errs classifier for driver errors that reach the job
// runner unwrapped.
func classifyKind(err error) (errs.Kind, bool) {
	var dbe dbsqlerr.DBError
	if !errors.As(err, &dbe) && !errors.Is(err, errTruncated) {
		return errs.Unknown, false
	}
	k, _ := kindOf(err, errorClass(err.Error()), sqlState(err))
	return k, k != errs.Unknown
}

// errTruncated is a result that ended before the rows its count promised.
var errTruncated = errors.New("the result stream ended early")
