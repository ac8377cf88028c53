package workspace

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go/apierr"
	"github.com/databricks/databricks-sdk-go/common"
	"github.com/databricks/databricks-sdk-go/httpclient"
	"github.com/databricks/databricks-sdk-go/service/catalog"
	"golang.org/x/oauth2"

	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/lakehouse"
)

func TestParseType(t *testing.T) {
	cases := []struct{ in, want string }{
		{"string", "string"},
		{"STRING", "string"},
		{"bigint", "bigint"},
		{"long", "bigint"},
		{"int", "int"},
		{"integer", "int"},
		{"short", "smallint"},
		{"smallint", "smallint"},
		{"byte", "tinyint"},
		{"tinyint", "tinyint"},
		{"double", "double"},
		{"float", "float"},
		{"real", "float"},
		{"boolean", "boolean"},
		{"binary", "binary"},
		{"date", "date"},
		{"timestamp", "timestamp"},
		{"timestamp_ntz", "timestamp_ntz"},
		{"timestamp_ltz", "timestamp"},
		{"timestamp with local time zone", "timestamp"},
		{"decimal", "decimal(10,0)"},
		{"decimal(10,2)", "decimal(10,2)"},
		{"DECIMAL( 38 , 18 )", "decimal(38,18)"},
		{"numeric(5)", "decimal(5,0)"},
		{"dec(7,3)", "decimal(7,3)"},
		{"varchar(20)", "string"},
		{"char(3)", "string"},
		{"array<string>", "array<string>"},
		{"ARRAY<LONG>", "array<bigint>"},
		{"map<string,int>", "map<string,int>"},
		{"map<string, array<decimal(5,2)>>", "map<string,array<decimal(5,2)>>"},
		{"struct<a:int,b:string>", "struct<a:int,b:string>"},
		{"struct<a: int NOT NULL COMMENT 'the, a', b:array<struct<c:long>>>", "struct<a:int,b:array<struct<c:bigint>>>"},
		{"struct<`a b`:int,`x``y`:string>", "struct<a b:int,x`y:string>"},
		{"struct<a int, b string>", "struct<a:int,b:string>"},
		{"struct<>", "struct<>"},
		{"variant", "variant"},
		{"interval day to second", "interval day to second"},
		{"INTERVAL YEAR", "interval year"},
		{"geography(4326)", "geography(4326)"},
		{"void", "void"},
	}
	for _, c := range cases {
		got, err := ParseType(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseType(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "array<", "array<string", "map<string>", "decimal(40,2)", "decimal(5,6)", "decimal(x)", "struct<a:int", "int int", "array<>", "struct<a:int COMMENT 'x>"} {
		if got, err := ParseType(bad); err == nil {
			t.Errorf("ParseType(%q) = %q, want an error", bad, got)
		}
	}
}

func TestColumnType(t *testing.T) {
	cases := []struct {
		col  catalog.ColumnInfo
		want string
	}{
		{catalog.ColumnInfo{Name: "a", TypeText: "bigint", TypeName: "LONG"}, "bigint"},
		{catalog.ColumnInfo{Name: "a", TypeName: "LONG"}, "bigint"},
		{catalog.ColumnInfo{Name: "a", TypeName: "DECIMAL", TypePrecision: 12, TypeScale: 4}, "decimal(12,4)"},
		{catalog.ColumnInfo{Name: "a", TypeName: "TIMESTAMP_NTZ"}, "timestamp_ntz"},
		{catalog.ColumnInfo{Name: "a", TypeName: "CHAR"}, "string"},
		// type_json wins over type_text.
		{catalog.ColumnInfo{Name: "a", TypeText: "varchar(10)", TypeJson: `{"name":"a","type":"string","nullable":true,"metadata":{"__CHAR_VARCHAR_TYPE_STRING":"varchar(10)"}}`}, "string"},
		{catalog.ColumnInfo{Name: "s", TypeJson: `{"name":"s","type":{"type":"struct","fields":[{"name":"x","type":"long","nullable":true,"metadata":{}},{"name":"y y","type":{"type":"array","elementType":"decimal(5,2)","containsNull":true},"nullable":true,"metadata":{}}]},"nullable":true,"metadata":{}}`}, "struct<x:bigint,y y:array<decimal(5,2)>>"},
		{catalog.ColumnInfo{Name: "m", TypeJson: `{"name":"m","type":{"type":"map","keyType":"string","valueType":"integer","valueContainsNull":true},"nullable":true,"metadata":{}}`}, "map<string,int>"},
		// Unparseable type_json falls back to type_text.
		{catalog.ColumnInfo{Name: "a", TypeText: "short", TypeJson: `{not json`}, "smallint"},
	}
	for _, c := range cases {
		got, err := ColumnType(c.col)
		if err != nil || got != c.want {
			t.Errorf("ColumnType(%+v) = %q, %v; want %q", c.col, got, err, c.want)
		}
	}
	_, err := ColumnType(catalog.ColumnInfo{Name: "weird", TypeText: "array<"})
	if err == nil || !strings.Contains(err.Error(), `column "weird"`) {
		t.Errorf("bad type: %v, want an error naming the column", err)
	}
	if _, err := ColumnType(catalog.ColumnInfo{Name: "n", TypeName: "ARRAY"}); err == nil {
		t.Error("nested type_name without text: want an error")
	}
}

func TestDescribe(t *testing.T) {
	name := lakehouse.TableName{Catalog: "main", Schema: "crm", Table: "users"}
	ti := &catalog.TableInfo{
		Name: "users", TableType: catalog.TableTypeManaged, DataSourceFormat: catalog.DataSourceFormatDelta,
		Properties: map[string]string{"delta.enableChangeDataFeed": "TRUE", "delta.lastUpdateVersion": "42", "delta.lastCommitTimestamp": "1700000000000"},
		Columns: []catalog.ColumnInfo{
			{Name: "ts", TypeText: "timestamp", Position: 2, Nullable: true},
			{Name: "id", TypeText: "bigint", Position: 0},
			{Name: "dt", TypeText: "date", Position: 1, Nullable: true, PartitionIndex: 0, ForceSendFields: []string{"PartitionIndex"}},
			{Name: "region", TypeText: "string", Position: 3, Nullable: true, PartitionIndex: 1},
		},
	}
	d, err := describe(name, ti)
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range d.Columns {
		cols = append(cols, fmt.Sprintf("%s %s %v", c.Name, c.Type, c.Nullable))
	}
	if got := strings.Join(cols, ", "); got != "id bigint false, dt date true, ts timestamp true, region string true" {
		t.Errorf("columns = %s", got)
	}
	if d.Kind != lakehouse.KindTable || d.Format != lakehouse.FormatDelta || !d.ChangeDataFeed || d.Version != 42 ||
		!d.VersionTime.Equal(time.UnixMilli(1700000000000)) || strings.Join(d.PartitionColumns, ",") != "dt,region" {
		t.Errorf("description = %+v", d)
	}
	ti = &catalog.TableInfo{Name: "v", TableType: catalog.TableTypeView, Columns: []catalog.ColumnInfo{{Name: "a", TypeText: "int"}}}
	d, err = describe(name, ti)
	if err != nil || d.Kind != lakehouse.KindView || d.ChangeDataFeed || d.Version != -1 || len(d.PartitionColumns) != 0 {
		t.Errorf("view = %+v, %v", d, err)
	}
	for _, tt := range []catalog.TableType{catalog.TableTypeMaterializedView, catalog.TableTypeMetricView} {
		if tableKind(tt) != lakehouse.KindView {
			t.Errorf("%s is not a view", tt)
		}
	}
	for _, tt := range []catalog.TableType{catalog.TableTypeExternal, catalog.TableTypeStreamingTable, catalog.TableTypeManagedShallowClone} {
		if tableKind(tt) != lakehouse.KindTable {
			t.Errorf("%s is not a table", tt)
		}
	}
	ti = &catalog.TableInfo{Name: "bad", Columns: []catalog.ColumnInfo{{Name: "x", TypeText: "map<int"}}}
	if _, err := describe(name, ti); !errors.Is(err, errs.ErrUnsupported) || !strings.Contains(err.Error(), `column "x"`) {
		t.Errorf("bad column type: %v", err)
	}
}

func apiError(status int, code string, header http.Header) error {
	resp := &http.Response{StatusCode: status, Header: header, Request: &http.Request{}}
	return &apierr.APIError{StatusCode: status, ErrorCode: code, Message: code + " message",
		ResponseWrapper: &common.ResponseWrapper{Response: resp}}
}

func TestClassify(t *testing.T) {
	ra := http.Header{"Retry-After": []string{"7"}}
	cases := []struct {
		name string
		err  error
		want errs.Kind
		ra   time.Duration
	}{
		{"401", apiError(401, "UNAUTHENTICATED", nil), errs.Auth, 0},
		{"403", apiError(403, "PERMISSION_DENIED", nil), errs.Auth, 0},
		{"400", apiError(400, "INVALID_PARAMETER_VALUE", nil), errs.Invalid, 0},
		{"404", apiError(404, "RESOURCE_DOES_NOT_EXIST", nil), errs.Invalid, 0},
		{"400 invalid state", apiError(400, "INVALID_STATE", nil), errs.Conflict, 0},
		{"409", apiError(409, "RESOURCE_ALREADY_EXISTS", nil), errs.Conflict, 0},
		{"409 aborted", apiError(409, "ABORTED", nil), errs.Conflict, 0},
		{"429", apiError(429, "REQUEST_LIMIT_EXCEEDED", ra), errs.Transient, 7 * time.Second},
		{"400 request limit", apiError(400, "REQUEST_LIMIT_EXCEEDED", nil), errs.Transient, 0},
		{"503", apiError(503, "TEMPORARILY_UNAVAILABLE", ra), errs.Transient, 7 * time.Second},
		{"500", apiError(500, "INTERNAL_ERROR", nil), errs.Transient, 0},
		{"502 no body", apiError(502, "", nil), errs.Transient, 0},
		{"504", apiError(504, "DEADLINE_EXCEEDED", nil), errs.Transient, 0},
		{"501", apiError(501, "NOT_IMPLEMENTED", nil), errs.Unsupported, 0},
		{"data loss", apiError(500, "DATA_LOSS", nil), errs.Unknown, 0},
		{"intercepted 429", fmt.Errorf("Get \"x\": %w", &StatusError{StatusCode: 429, Header: ra, ErrorCode: "REQUEST_LIMIT_EXCEEDED"}), errs.Transient, 7 * time.Second},
		{"intercepted 503", &StatusError{StatusCode: 503}, errs.Transient, 0},
		{"http error 503", &httpclient.HttpError{Response: &http.Response{StatusCode: 503, Header: ra}}, errs.Transient, 7 * time.Second},
		{"token 401", &oauth2.RetrieveError{Response: &http.Response{StatusCode: 401}, ErrorCode: "invalid_client"}, errs.Auth, 0},
		{"token 400", &oauth2.RetrieveError{Response: &http.Response{StatusCode: 400}, ErrorCode: "invalid_grant"}, errs.Auth, 0},
		{"token 429", &oauth2.RetrieveError{Response: &http.Response{StatusCode: 429, Header: ra}}, errs.Transient, 7 * time.Second},
		{"token 503", &oauth2.RetrieveError{Response: &http.Response{StatusCode: 503}}, errs.Transient, 0},
		{"wrapped", fmt.Errorf("failed during request visitor: %w", fmt.Errorf("error getting token: %w",
			&oauth2.RetrieveError{Response: &http.Response{StatusCode: 401}})), errs.Auth, 0},
	}
	for _, c := range cases {
		got := errs.Classify(c.err)
		if got != c.want {
			t.Errorf("%s: errs.Classify = %s, want %s", c.name, got, c.want)
		}
		ce := classify(c.err)
		if k := errs.Classify(ce); k != c.want {
			t.Errorf("%s: classify kind = %s, want %s", c.name, k, c.want)
		}
		if d, _ := errs.RetryAfter(ce); d != c.ra {
			t.Errorf("%s: Retry-After = %s, want %s", c.name, d, c.ra)
		}
	}
	// The SDK retries errors whose text has these words; StatusError's
	// text never does.
	se := &StatusError{StatusCode: 429, ErrorCode: "REQUEST_LIMIT_EXCEEDED", Message: "REQUEST_LIMIT_EXCEEDED: Unexpected error, connection reset by peer"}
	for _, w := range []string{"REQUEST_LIMIT_EXCEEDED", "Unexpected error", "connection reset by peer"} {
		if strings.Contains(se.Error(), w) {
			t.Errorf("%q contains %q", se.Error(), w)
		}
	}
	if _, ok := Classify(errors.New("other")); ok {
		t.Error("an unrelated error was recognised")
	}
	// An opError keeps the kind and the hint.
	c := &Client{cfg: Config{Name: "prod"}}
	e := c.wrap("list catalogs", classify(apiError(429, "REQUEST_LIMIT_EXCEEDED", ra)))
	if errs.Classify(e) != errs.Transient || !strings.HasPrefix(e.Error(), `databricks connection "prod": list catalogs: `) {
		t.Errorf("wrapped: %v (%s)", e, errs.Classify(e))
	}
	if d, _ := errs.RetryAfter(e); d != 7*time.Second {
		t.Errorf("wrapped Retry-After = %s", d)
	}
}

func TestRetryDelayBounds(t *testing.T) {
	for _, r := range []float64{0, 0.5, 0.999999} {
		p := RetryPolicy{Initial: time.Second, Max: 8 * time.Second, MaxRetryAfter: time.Minute, Rand: func() float64 { return r }}
		for retry := 1; retry <= 8; retry++ {
			step := min(time.Second<<(retry-1), 8*time.Second)
			d, ok := p.Delay(retry, errors.New("x"))
			if !ok || d < step/2 || d > step {
				t.Errorf("rand %v retry %d: %s, want [%s,%s]", r, retry, d, step/2, step)
			}
			ra := errs.WithRetryAfter(errors.New("x"), 20*time.Second)
			d, ok = p.Delay(retry, ra)
			if !ok || d < 20*time.Second || d > 20*time.Second+min(5*time.Second, step) {
				t.Errorf("rand %v retry %d with Retry-After 20s: %s", r, retry, d)
			}
		}
		if _, ok := p.Delay(1, errs.WithRetryAfter(errors.New("x"), 2*time.Minute)); ok {
			t.Error("a Retry-After beyond MaxRetryAfter should not be waited in place")
		}
	}
	// Different random draws spread the waits.
	seen := map[time.Duration]bool{}
	for i := range 10 {
		p := RetryPolicy{Rand: func() float64 { return float64(i) / 10 }}
		d, _ := p.Delay(3, nil)
		seen[d] = true
	}
	if len(seen) != 10 {
		t.Errorf("jitter gave %d distinct waits of 10", len(seen))
	}
	for _, r := range []float64{0, 0.5, 0.999} {
		d := jitter(4*time.Second, func() float64 { return r })
		if d < 3*time.Second || d > 5*time.Second {
			t.Errorf("poll jitter %s out of [3s,5s]", d)
		}
	}
}

func TestCallRetriesTransientOnly(t *testing.T) {
	ctx := context.Background()
	c := &Client{cfg: Config{Name: "x", Retry: RetryPolicy{Attempts: 3, Initial: time.Millisecond, Max: 2 * time.Millisecond}}}
	n := 0
	err := c.call(ctx, "op", func(context.Context) error { n++; return apiError(503, "TEMPORARILY_UNAVAILABLE", nil) })
	if n != 3 || errs.Classify(err) != errs.Transient {
		t.Errorf("503: %d attempts, %v", n, err)
	}
	n = 0
	err = c.call(ctx, "op", func(context.Context) error { n++; return apiError(403, "PERMISSION_DENIED", nil) })
	if n != 1 || errs.Classify(err) != errs.Auth {
		t.Errorf("403: %d attempts, %v", n, err)
	}
	n = 0
	err = c.call(ctx, "op", func(context.Context) error {
		n++
		if n < 2 {
			return apiError(429, "REQUEST_LIMIT_EXCEEDED", nil)
		}
		return nil
	})
	if n != 2 || err != nil {
		t.Errorf("429 then ok: %d attempts, %v", n, err)
	}
	// A Retry-After that does not fit the deadline is returned, not slept.
	dctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	n = 0
	err = c.call(dctx, "op", func(context.Context) error {
		n++
		return apiError(429, "REQUEST_LIMIT_EXCEEDED", http.Header{"Retry-After": []string{"30"}})
	})
	if d, _ := errs.RetryAfter(err); n != 1 || d != 30*time.Second || dctx.Err() != nil {
		t.Errorf("long Retry-After: %d attempts, %v (hint %s)", n, err, d)
	}
	// Cancellation stops the retries and is not transient.
	cctx, cancel2 := context.WithCancel(ctx)
	cancel2()
	err = c.call(cctx, "op", func(context.Context) error { return apiError(503, "TEMPORARILY_UNAVAILABLE", nil) })
	if !errors.Is(err, context.Canceled) || errs.Classify(err) == errs.Transient {
		t.Errorf("canceled: %v (%s)", err, errs.Classify(err))
	}
}

func TestConfig(t *testing.T) {
	good := Config{Name: "p", Host: "adb-1.2.azuredatabricks.net", HTTPPath: "/sql/1.0/warehouses/abc", Token: "dapi"}
	if err := good.validate(); err != nil {
		t.Fatal(err)
	}
	h, port, path := good.Endpoint()
	if h != "adb-1.2.azuredatabricks.net" || port != 443 || path != "/sql/1.0/warehouses/abc" {
		t.Errorf("endpoint %s %d %s", h, port, path)
	}
	u, _ := good.baseURL()
	if u.String() != "https://adb-1.2.azuredatabricks.net" {
		t.Errorf("base %s", u)
	}
	p8443 := good
	p8443.Port = 8443
	if u, _ := p8443.baseURL(); u.String() != "https://adb-1.2.azuredatabricks.net:8443" {
		t.Errorf("port base %s", u)
	}
	if _, port, _ := p8443.Endpoint(); port != 8443 {
		t.Errorf("port %d", port)
	}
	bad := []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Host = "" }, "host: required"},
		{func(c *Config) { c.Host = "ftp://x" }, `host: want a host name or https:// URL, got scheme "ftp"`},
		{func(c *Config) { c.Host = "https://x/path" }, "host: want a host without a path"},
		{func(c *Config) { c.Host = "https://u:p@x" }, "credentials in the host URL"},
		{func(c *Config) { c.HTTPPath = "/sql/protocolv1/o/1/0123" }, "http_path: want a SQL warehouse HTTP path"},
		{func(c *Config) { c.ClientID = "sp" }, "token: use either token or client_id"},
		{func(c *Config) { c.Token = ""; c.ClientID = "sp" }, "client_secret: required with client_id"},
		{func(c *Config) { c.Token = "" }, "token: required"},
		{func(c *Config) { c.Port = 70000 }, "port: want 1-65535"},
	}
	for _, b := range bad {
		c := good
		b.mod(&c)
		err := c.validate()
		if err == nil || !strings.Contains(err.Error(), b.want) || errs.Classify(err) != errs.Invalid {
			t.Errorf("want %q, got %v", b.want, err)
		}
	}
	s := fmt.Sprintf("%v %+v %#v %s", good, good, good, good)
	if strings.Contains(s, "dapi") {
		t.Errorf("config printed a secret: %s", s)
	}
	if id, err := WarehouseIDFromPath("/sql/1.0/endpoints/xyz/"); err != nil || id != "xyz" {
		t.Errorf("endpoints path: %q %v", id, err)
	}
}

func TestFromConnection(t *testing.T) {
	t.Setenv("WS_TEST_TOKEN", "dapi-secret")
	t.Setenv("WS_TEST_SECRET", "sp-secret")
	yaml := `connections:
  pat:
    type: databricks
    host: adb-1.2.azuredatabricks.net
    http_path: /sql/1.0/warehouses/abc
    token: ${WS_TEST_TOKEN}
    catalog: main
    staging: /Volumes/main/lakeport/staging/x
  sp:
    type: databricks
    host: https://adb-1.2.azuredatabricks.net
    port: 8443
    http_path: /sql/1.0/warehouses/abc
    client_id: sp-1
    client_secret: ${WS_TEST_SECRET}
    warehouse_wait: 2m
  missing:
    type: databricks
    host: h
    http_path: /sql/1.0/warehouses/abc
    token: ${WS_TEST_UNSET}
`
	cfg, err := job.Parse([]byte(yaml), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pat, _ := cfg.Connection("pat")
	c, err := FromConnection(pat)
	if err != nil || c.Token != "dapi-secret" || c.Port != 443 || c.WarehouseWait != 10*time.Minute || c.Catalog != "main" || c.Staging != "/Volumes/main/lakeport/staging/x" {
		t.Errorf("pat: %+v %v", c, err)
	}
	sp, _ := cfg.Connection("sp")
	c, err = FromConnection(sp)
	if err != nil || c.ClientSecret != "sp-secret" || c.Token != "" || c.WarehouseWait != 2*time.Minute {
		t.Errorf("sp: %v", err)
	}
	if h, port, _ := c.Endpoint(); h != "adb-1.2.azuredatabricks.net" || port != 8443 {
		t.Errorf("sp endpoint %s %d", h, port)
	}
	missing, _ := cfg.Connection("missing")
	if _, err := FromConnection(missing); errs.Classify(err) != errs.Auth || !strings.Contains(err.Error(), "WS_TEST_UNSET") {
		t.Errorf("missing secret: %v", err)
	}
	if _, err := FromConnection(&job.Connection{Name: "l", Type: job.ConnLocal}); errs.Classify(err) != errs.Invalid {
		t.Errorf("local connection: %v", err)
	}
}

func TestParseVolume(t *testing.T) {
	v, err := ParseVolume("/Volumes/main/lakeport/staging/exports/daily/")
	if err != nil || v.Catalog != "main" || v.Schema != "lakeport" || v.Name != "staging" || v.Prefix != "exports/daily" || v.Root() != "/Volumes/main/lakeport/staging/exports/daily" {
		t.Errorf("%+v %v", v, err)
	}
	v, err = ParseVolume("/Volumes/main/lakeport/staging")
	if err != nil || v.Prefix != "" || v.Root() != "/Volumes/main/lakeport/staging" {
		t.Errorf("%+v %v", v, err)
	}
	for _, bad := range []string{"/Volumes/main/lakeport", "s3://b/x", "/Volumes/ma in/s/v", "/Volumes/m/s/v/../x", "/Volumes/m/s/v//x"} {
		if _, err := ParseVolume(bad); errs.Classify(err) != errs.Invalid {
			t.Errorf("ParseVolume(%q) = %v", bad, err)
		}
	}
}

func TestEarlyExpiry(t *testing.T) {
	now := time.Now()
	if got := early(now.Add(time.Hour), now); got != now.Add(time.Hour-30*time.Second) {
		t.Errorf("1h token: expires %s early", now.Add(time.Hour).Sub(got))
	}
	if got := early(now.Add(2*time.Second), now); got != now.Add(1500*time.Millisecond) {
		t.Errorf("2s token: expires %s early", now.Add(2*time.Second).Sub(got))
	}
	if !early(time.Time{}, now).IsZero() {
		t.Error("zero expiry changed")
	}
}
