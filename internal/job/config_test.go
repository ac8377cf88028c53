package job

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/errs"
)

func init() {
	Register("test.kind", func(*Spec, *Env) (Flow, error) { return nil, errors.New("not for running") })
}

const goodConfig = `
platform: sqlite://data/platform.db
state: postgres://lakeport:${TEST_PG_PASSWORD}@db.example.com:5432/lakeport?sslmode=require
connections:
  lake:
    type: local
    path: lakehouse
  prod:
    type: databricks
    host: adb-123.4.azuredatabricks.net
    http_path: /sql/1.0/warehouses/abc123
    token: ${TEST_DATABRICKS_TOKEN}
jobs:
  - name: web-events
    kind: test.kind
    connection: lake
    schedule: {frequency: daily, time_of_day: "02:30", time_zone: Europe/Amsterdam}
    notify: https://hooks.example.com/services/${TEST_HOOK}
    retries: 5
    settings:
      catalog: main
      schema: web
      table: events
      timestamp_column: ts
      batch_size: 5000
  - name: users
    kind: test.kind
    connection: prod
    schedule: every 15m
  - name: once
    kind: test.kind
    connection: lake
    schedule: once
    paused: true
  - name: manual
    kind: test.kind
    connection: lake
`

func TestParseGoodConfig(t *testing.T) {
	c, err := Parse([]byte(goodConfig), "/etc/lakeport")
	if err != nil {
		t.Fatal(err)
	}
	if c.Platform.Raw() != "sqlite:///etc/lakeport/data/platform.db" {
		t.Errorf("platform = %q", c.Platform.Raw())
	}
	if c.State.String() != "postgres://lakeport:${TEST_PG_PASSWORD}@db.example.com:5432/lakeport?sslmode=require" {
		t.Errorf("state = %q", c.State)
	}
	if len(c.Connections) != 2 || c.Connections[0].Name != "lake" || c.Connections[0].Path != "/etc/lakeport/lakehouse" {
		t.Fatalf("connections = %+v", c.Connections)
	}
	prod, _ := c.Connection("prod")
	if prod.Token.Var() != "TEST_DATABRICKS_TOKEN" || prod.HTTPPath != "/sql/1.0/warehouses/abc123" {
		t.Errorf("prod = %+v", prod)
	}
	if len(c.Jobs) != 4 {
		t.Fatalf("jobs = %d", len(c.Jobs))
	}
	j := c.Jobs[0]
	if j.Name != "web-events" || j.Index != 0 || j.Retries != 5 || j.Schedule.String() != "daily at 02:30 Europe/Amsterdam" {
		t.Errorf("job 0 = %+v (%s)", j, j.Schedule)
	}
	if c.Jobs[1].Schedule.String() != "every 15m" || c.Jobs[1].Retries != DefaultRetries || c.Jobs[1].Path() != "jobs[1]" {
		t.Errorf("job 1 = %+v", c.Jobs[1])
	}
	if !c.Jobs[2].Paused || c.Jobs[2].Schedule.Frequency != Once {
		t.Errorf("job 2 = %+v", c.Jobs[2])
	}
	if c.Jobs[3].Schedule.Frequency != Manual {
		t.Errorf("job 3 = %+v", c.Jobs[3])
	}
	if _, err := c.Job("nope"); err == nil || !strings.Contains(err.Error(), "jobs: web-events, users, once, manual") || errs.Classify(err) != errs.Invalid {
		t.Errorf("unknown job: %v", err)
	}
	// Defaults and the single-connection default.
	c, err = Parse([]byte("connections: {lake: {type: local, path: /data}}\njobs: [{name: a, kind: test.kind}]\n"), "/x")
	if err != nil {
		t.Fatal(err)
	}
	if c.Platform.Raw() != "sqlite:///x/.lakeport/platform.db" || c.State.Raw() != "sqlite:///x/.lakeport/state.db" {
		t.Errorf("defaults: %q %q", c.Platform.Raw(), c.State.Raw())
	}
	if c.Jobs[0].Connection != "lake" {
		t.Errorf("the only connection is the default: %q", c.Jobs[0].Connection)
	}
	if c, err := Parse(nil, "/x"); err != nil || len(c.Jobs) != 0 {
		t.Errorf("empty file: %v", err)
	}
}

// TestBadConfigs is the catalogue: each bad configuration gives a clear
// error naming its field.
func TestBadConfigs(t *testing.T) {
	conn := "connections: {lake: {type: local, path: /data}}\n"
	dbx := func(extra string) string {
		return "connections:\n  p:\n    type: databricks\n    host: h\n    http_path: /sql/1.0/warehouses/a\n    token: ${T}\n    " + extra + "\n"
	}
	job := func(extra string) string {
		return conn + "jobs:\n  - name: a\n    kind: test.kind\n" + extra
	}
	cases := []struct {
		name, yaml, want string
	}{
		{"yaml syntax", "jobs: [", "did not find expected node content"},
		{"top-level list", "- a\n- b\n", "want a mapping"},
		{"unknown top-level field", "platfrom: sqlite://x\n", "platfrom: unknown field (want one of: connections, jobs, platform, state)"},
		{"platform scheme", "platform: mysql://x\n", `platform: want sqlite://PATH or postgres://..., got "mysql://x"`},
		{"platform sqlite query", "platform: sqlite://x.db?mode=ro\n", "platform: want sqlite://PATH"},
		{"state literal password", "state: postgres://u:hunter2@db/x\n", "state: the password must be an environment reference"},
		{"state is a list", "state: [a]\n", "state: want a string"},
		{"connections a list", "connections: [a]\n", "connections: want a mapping of connection names"},
		{"connection without type", "connections: {lake: {path: /x}}\n", "connections.lake.type: required"},
		{"connection unknown type", "connections: {lake: {type: s3}}\n", `connections.lake.type: unknown connection type "s3" (want local or databricks)`},
		{"connection unknown field", "connections: {lake: {type: local, path: /x, user: me}}\n", "connections.lake.user: unknown field"},
		{"local without path", "connections: {lake: {type: local}}\n", "connections.lake.path: required"},
		{"local with host", "connections: {lake: {type: local, path: /x, host: h}}\n", "connections.lake.host: only for type databricks"},
		{"bad connection name", "connections: {\"my lake\": {type: local, path: /x}}\n", `connections."my lake": connection names are`},
		{"databricks literal token", "connections: {p: {type: databricks, host: h, http_path: /sql/1.0/warehouses/a, token: dapi123}}\n",
			"connections.p.token: must be an environment reference such as ${DATABRICKS_TOKEN}: secrets are never written in the configuration file"},
		{"databricks without token", "connections: {p: {type: databricks, host: h, http_path: /sql/1.0/warehouses/a}}\n", "connections.p.token: required"},
		{"databricks without host", "connections: {p: {type: databricks, http_path: /sql/1.0/warehouses/a, token: \"${T}\"}}\n", "connections.p.host: required"},
		{"databricks bad http_path", "connections: {p: {type: databricks, host: h, http_path: sql/1.0, token: \"${T}\"}}\n", "connections.p.http_path: want a path starting with /"},
		{"databricks token and oauth", "connections: {p: {type: databricks, host: h, http_path: /s, token: \"${T}\", client_id: c, client_secret: \"${S}\"}}\n", "connections.p.token: use either token or client_id"},
		{"databricks client_id alone", "connections: {p: {type: databricks, host: h, http_path: /s, client_id: c}}\n", "connections.p.client_secret: required with client_id"},
		{"databricks with path", "connections: {p: {type: databricks, host: h, http_path: /s, token: \"${T}\", path: /x}}\n", "connections.p.path: only for type local"},
		{"databricks port zero-ish", dbx("port: 70000"), "connections.p.port: want a TCP port 1-65535, got 70000"},
		{"databricks port negative", dbx("port: -1"), "connections.p.port: want a TCP port 1-65535, got -1"},
		{"databricks port a word", dbx("port: https"), `connections.p.port: want an integer, got "https"`},
		{"databricks warehouse_wait number", dbx("warehouse_wait: 10"), "connections.p.warehouse_wait: want a duration such as 30s, 15m or 2h"},
		{"databricks warehouse_wait short", dbx("warehouse_wait: 500ms"), "connections.p.warehouse_wait: want a duration from 1s to 24h, got 500ms"},
		{"databricks warehouse_wait long", dbx("warehouse_wait: 48h"), "connections.p.warehouse_wait: want a duration from 1s to 24h, got 48h0m0s"},
		{"databricks warehouse_wait negative", dbx("warehouse_wait: -5m"), "connections.p.warehouse_wait: want a duration from 1s to 24h"},
		{"databricks staging short volume", dbx("staging: /Volumes/main/exports"), "connections.p.staging: want /Volumes/CATALOG/SCHEMA/VOLUME[/PREFIX]"},
		{"databricks staging bad volume name", dbx("staging: /Volumes/main/ex ports/v"), `connections.p.staging: "/Volumes/main/ex ports/v": schema name "ex ports"`},
		{"databricks staging dot segment", dbx("staging: /Volumes/main/s/v/../x"), `connections.p.staging: "/Volumes/main/s/v/../x": empty, '.' or '..' path segment`},
		{"databricks staging local dir", dbx("staging: /tmp/staging"), `connections.p.staging: want /Volumes/CATALOG/SCHEMA/VOLUME[/PREFIX] or a bucket URL the warehouse reads (s3://, gs://, azblob://), got "/tmp/staging"`},
		{"databricks staging no bucket", dbx("staging: s3://"), `connections.p.staging: "s3://": the bucket name is missing`},
		{"databricks staging file URL", dbx("staging: file:///tmp/x"), "connections.p.staging: want /Volumes/"},
		{"databricks bad catalog", dbx("catalog: my catalog"), `connections.p.catalog: catalog name "my catalog"`},
		{"local with port", "connections: {lake: {type: local, path: /x, port: 443}}\n", "connections.lake.port: only for type databricks"},
		{"local with staging", "connections: {lake: {type: local, path: /x, staging: s3://b}}\n", "connections.lake.staging: only for type databricks"},
		{"local with warehouse_wait", "connections: {lake: {type: local, path: /x, warehouse_wait: 1m}}\n", "connections.lake.warehouse_wait: only for type databricks"},
		{"jobs a mapping", "jobs: {a: 1}\n", "jobs: want a list"},
		{"job a string", "jobs: [a]\n", `jobs[0]: want a mapping, got "a"`},
		{"job without name", conn + "jobs: [{kind: test.kind}]\n", "jobs[0].name: required"},
		{"job without kind", conn + "jobs: [{name: a}]\n", "jobs[0].kind: required"},
		{"job unknown kind", conn + "jobs: [{name: a, kind: import.tabel}]\n", `jobs[0].kind: unknown kind "import.tabel" (known: `},
		{"job bad name", conn + "jobs: [{name: a b, kind: test.kind}]\n", "jobs[0].name: job names are"},
		{"duplicate job", conn + "jobs: [{name: a, kind: test.kind}, {name: a, kind: test.kind}]\n", `jobs[1].name: "a" is already the name of jobs[0]`},
		{"unknown connection", conn + "jobs: [{name: a, kind: test.kind, connection: prod}]\n", `jobs[0].connection: unknown connection "prod" (defined: lake)`},
		{"unknown job field", job("    schedul: daily\n"), "jobs[0].schedul: unknown field"},
		{"duplicate job field", job("    name: b\n"), "jobs[0].name: duplicate field"},
		{"retries negative", job("    retries: -1\n"), "jobs[0].retries: want 0-100"},
		{"retries a word", job("    retries: many\n"), `jobs[0].retries: want an integer, got "many"`},
		{"paused a word", job("    paused: maybe\n"), `jobs[0].paused: want true or false, got "maybe"`},
		{"notify not a URL", job("    notify: hooks.example.com\n"), "jobs[0].notify: want an http:// or https:// URL"},
		{"settings a list", job("    settings: [a]\n"), "jobs[0].settings: want a mapping"},
		{"schedule unknown word", job("    schedule: sometimes\n"), `jobs[0].schedule: unknown frequency "sometimes"`},
		{"schedule daily extra", job("    schedule: daily at 3\n"), "jobs[0].schedule: want once, hourly, daily, weekly, monthly or every DURATION"},
		{"schedule without frequency", job("    schedule: {time_of_day: \"02:00\"}\n"), "jobs[0].schedule.frequency: required"},
		{"schedule unknown frequency", job("    schedule: {frequency: yearly}\n"), `jobs[0].schedule.frequency: unknown frequency "yearly"`},
		{"schedule a list", job("    schedule: [daily]\n"), "jobs[0].schedule: want a frequency"},
		{"time_of_day 24h", job("    schedule: {frequency: daily, time_of_day: \"24:00\"}\n"), "jobs[0].schedule.time_of_day: want HH:MM"},
		{"time_of_day 12h", job("    schedule: {frequency: daily, time_of_day: 2pm}\n"), "jobs[0].schedule.time_of_day: want HH:MM"},
		{"time_of_day short", job("    schedule: {frequency: daily, time_of_day: \"2:30\"}\n"), "jobs[0].schedule.time_of_day: want HH:MM"},
		{"time zone", job("    schedule: {frequency: daily, time_zone: Europe/Amsterdm}\n"), `jobs[0].schedule.time_zone: unknown time zone "Europe/Amsterdm"`},
		{"time zone Local", job("    schedule: {frequency: daily, time_zone: Local}\n"), `jobs[0].schedule.time_zone: unknown time zone "Local"`},
		{"every too short", job("    schedule: every 10s\n"), "jobs[0].schedule.every: must be at least 1m"},
		{"every not a duration", job("    schedule: {every: fortnight}\n"), `jobs[0].schedule.every: want a duration such as 15m or 2h, got "fortnight"`},
		{"every missing", job("    schedule: {frequency: every}\n"), "jobs[0].schedule.every: required"},
		{"weekly without day", job("    schedule: {frequency: weekly, time_of_day: \"09:00\"}\n"), "jobs[0].schedule.day_of_week: required"},
		{"weekly bad day", job("    schedule: {frequency: weekly, day_of_week: funday}\n"), `jobs[0].schedule.day_of_week: want a day of the week (monday ... sunday), got "funday"`},
		{"monthly day 32", job("    schedule: {frequency: monthly, day_of_month: 32}\n"), "jobs[0].schedule.day_of_month: want 1-31"},
		{"hourly minute 60", job("    schedule: {frequency: hourly, minute: 60}\n"), "jobs[0].schedule.minute: want 0-59"},
		{"field of another frequency", job("    schedule: {frequency: daily, day_of_week: monday}\n"), "jobs[0].schedule.day_of_week: not used by daily schedules"},
		{"once bad at", job("    schedule: {frequency: once, at: tomorrow}\n"), "jobs[0].schedule.at: want YYYY-MM-DD HH:MM"},
		{"schedule unknown field", job("    schedule: {frequency: daily, timezone: UTC}\n"), "jobs[0].schedule.timezone: unknown field"},
		{"third job", conn + "jobs:\n  - {name: a, kind: test.kind}\n  - {name: b, kind: test.kind}\n  - {name: c, kind: test.kind, schedule: {frequency: daily, time_of_day: \"7.30\"}}\n",
			"jobs[2].schedule.time_of_day: want HH:MM"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.yaml), "/x")
			if err == nil {
				t.Fatalf("no error for:\n%s", c.yaml)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q\ndoes not contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if errs.Classify(err) != errs.Invalid {
				t.Errorf("error classifies as %s, want invalid", errs.Classify(err))
			}
			for _, secret := range []string{"hunter2", "dapi123"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error reveals a secret: %q", err)
				}
			}
		})
	}
}

func TestSeveralProblemsReported(t *testing.T) {
	_, err := Parse([]byte(`
jobs:
  - {name: a, kind: nope}
  - {name: b, kind: test.kind, schedule: {frequency: daily, time_of_day: "25:00"}}
`), "/x")
	var ce *ConfigError
	if !errors.As(err, &ce) || len(ce.Problems) != 2 {
		t.Fatalf("err = %v", err)
	}
	if ce.Problems[0].Path != "jobs[0].kind" || ce.Problems[1].Path != "jobs[1].schedule.time_of_day" {
		t.Errorf("problems = %v", ce.Problems)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "lakeport.yaml")
	if err := os.WriteFile(p, []byte("jobs: [{name: a, kind: test.kind, retries: x}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p)
	if err == nil || err.Error() != p+`: jobs[0].retries: want an integer, got "x"` {
		t.Errorf("Load error = %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing file: %v", err)
	}
	os.WriteFile(p, []byte("state: sqlite://s.db\n"), 0o644)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.State.Raw() != "sqlite://"+filepath.Join(dir, "s.db") || c.File != p {
		t.Errorf("state = %q", c.State.Raw())
	}
}

type testSettings struct {
	Catalog         string        `yaml:"catalog" lakeport:"required"`
	Schema          string        `yaml:"schema" lakeport:"required"`
	Table           string        `yaml:"table" lakeport:"required"`
	TimestampColumn string        `yaml:"timestamp_column" lakeport:"required"`
	BatchSize       int           `yaml:"batch_size"`
	Timeout         time.Duration `yaml:"query_timeout"`
	Since           *time.Time    `yaml:"since"`
	Columns         []string      `yaml:"columns"`
	Mapping         map[string]struct {
		Attribute string `yaml:"attribute" lakeport:"required"`
	} `yaml:"mapping"`
	DeleteProfiles bool    `yaml:"delete_profiles"`
	Ratio          float64 `yaml:"ratio"`
}

func TestDecodeSettings(t *testing.T) {
	parse := func(settings string) *Spec {
		t.Helper()
		c, err := Parse([]byte("jobs:\n  - {name: z, kind: test.kind}\n  - {name: a, kind: test.kind}\n  - name: b\n    kind: test.kind\n"+settings), "/x")
		if err != nil {
			t.Fatal(err)
		}
		return c.Jobs[2]
	}
	s := parse("    settings:\n      catalog: main\n      schema: web\n      table: events\n      timestamp_column: ts\n      query_timeout: 90s\n" +
		"      since: 2024-01-31T12:00:00Z\n      columns: [a, b]\n      mapping: {email: {attribute: email}}\n      delete_profiles: true\n      ratio: 1\n")
	got := testSettings{BatchSize: 1000}
	if err := s.DecodeSettings(&got); err != nil {
		t.Fatal(err)
	}
	if got.Catalog != "main" || got.TimestampColumn != "ts" || got.BatchSize != 1000 || got.Timeout != 90*time.Second ||
		got.Since == nil || !got.Since.Equal(utc("2024-01-31T12:00:00Z")) || len(got.Columns) != 2 ||
		got.Mapping["email"].Attribute != "email" || !got.DeleteProfiles || got.Ratio != 1 {
		t.Errorf("decoded = %+v", got)
	}
	cases := map[string]string{
		"    settings: {catalog: main, schema: web, table: events}\n": "jobs[2].settings.timestamp_column: required",
		"": "jobs[2].settings.catalog: required; jobs[2].settings.schema: required; jobs[2].settings.table: required; jobs[2].settings.timestamp_column: required",
		"    settings: {catalog: m, schema: s, table: t, timestamp_column: ts, tabel: x}\n":                         "jobs[2].settings.tabel: unknown field (want one of: batch_size, catalog, columns, delete_profiles, mapping, query_timeout, ratio, schema, since, table, timestamp_column)",
		"    settings: {catalog: m, schema: s, table: t, timestamp_column: ts, batch_size: big}\n":                  `jobs[2].settings.batch_size: want an integer, got "big"`,
		"    settings: {catalog: m, schema: s, table: t, timestamp_column: ts, query_timeout: 5}\n":                 "jobs[2].settings.query_timeout: want a duration such as 30s, 15m or 2h",
		"    settings: {catalog: m, schema: s, table: t, timestamp_column: ts, since: yesterday}\n":                 `jobs[2].settings.since: want a time (RFC 3339, e.g. 2024-01-31T12:00:00Z), got "yesterday"`,
		"    settings: {catalog: m, schema: s, table: t, timestamp_column: ts, columns: a}\n":                       "jobs[2].settings.columns: want a list",
		"    settings: {catalog: m, schema: s, table: t, timestamp_column: ts, mapping: {email: {}}}\n":             "jobs[2].settings.mapping.email.attribute: required",
		"    settings: {catalog: m, schema: s, table: t, timestamp_column: ts, columns: [[a]]}\n":                   "jobs[2].settings.columns[0]: want a string",
		"    settings: {catalog: m, schema: s, table: t, timestamp_column: \"\"}\n":                                 "jobs[2].settings.timestamp_column: required",
		"    settings: {catalog: m, schema: s, table: t, timestamp_column: ts, batch_size: 99999999999999999999}\n": "jobs[2].settings.batch_size: integer 99999999999999999999 out of range",
	}
	for settings, want := range cases {
		var v testSettings
		err := parse(settings).DecodeSettings(&v)
		if err == nil || err.Error() != want {
			t.Errorf("settings %q:\n got %v\nwant %s", settings, err, want)
		}
		if errs.Classify(err) != errs.Invalid {
			t.Errorf("settings error classifies as %s", errs.Classify(err))
		}
	}
	if err := s.DecodeSettings(testSettings{}); err == nil {
		t.Error("non-pointer accepted")
	}
	if err := s.Errorf("settings.table", "table %q not found", "x"); err.Error() != `jobs[2].settings.table: table "x" not found` || errs.Classify(err) != errs.Invalid {
		t.Errorf("Errorf = %v", err)
	}
}

func TestDatabricksConnectionDefaults(t *testing.T) {
	c, err := Parse([]byte(goodConfig), "/etc/lakeport")
	if err != nil {
		t.Fatal(err)
	}
	prod, _ := c.Connection("prod")
	if prod.Port != DefaultDatabricksPort || prod.WarehouseWait != DefaultWarehouseWait || prod.Staging != "" {
		t.Errorf("defaults: port %d, warehouse_wait %s, staging %q", prod.Port, prod.WarehouseWait, prod.Staging)
	}
	lake, _ := c.Connection("lake")
	if lake.Port != 0 || lake.WarehouseWait != 0 {
		t.Errorf("local connection got databricks defaults: %+v", lake)
	}
}

func TestDatabricksConnectionSettings(t *testing.T) {
	for _, staging := range []string{"/Volumes/main/lakeport/staging", "/Volumes/main/lakeport/staging/", "/Volumes/main/lakeport/staging/exports/daily",
		"s3://my-bucket/lakeport", "gs://b", "azblob://container/prefix"} {
		y := "connections:\n  p:\n    type: databricks\n    host: https://adb-1.2.azuredatabricks.net\n    http_path: /sql/1.0/warehouses/a\n" +
			"    client_id: sp-1\n    client_secret: ${S}\n    port: 8443\n    warehouse_wait: 90s\n    catalog: main\n    staging: " + staging + "\n"
		c, err := Parse([]byte(y), "/etc")
		if err != nil {
			t.Fatalf("staging %s: %v", staging, err)
		}
		p := c.Connections[0]
		if p.Port != 8443 || p.WarehouseWait != 90*time.Second || p.Staging != staging || p.ClientID != "sp-1" || p.ClientSecret.Var() != "S" || p.Catalog != "main" {
			t.Errorf("parsed %+v", p)
		}
	}
}

func TestSecrets(t *testing.T) {
	env := map[string]string{"TEST_DATABRICKS_TOKEN": "dapiSECRETVALUE", "TEST_PG_PASSWORD": "pgSECRET", "TEST_HOOK": "T000/B000/XXXX"}
	old := lookupEnv
	lookupEnv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	defer func() { lookupEnv = old }()
	c, err := Parse([]byte(goodConfig), "/etc/lakeport")
	if err != nil {
		t.Fatal(err)
	}
	prod, _ := c.Connection("prod")
	if v, err := prod.Token.Resolve(); err != nil || v != "dapiSECRETVALUE" {
		t.Fatalf("resolve = %q, %v", v, err)
	}
	// Nothing prints or serialises the value.
	var logBuf strings.Builder
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("conn", "token", prod.Token, "conn", prod, "state", c.State)
	js, _ := json.Marshal(prod)
	specJS, _ := json.Marshal(c.Jobs[0])
	outputs := []string{
		prod.Token.String(), fmt.Sprint(prod.Token), fmt.Sprintf("%v %+v %#v %s %q", prod.Token, prod, prod, prod.Token, prod.Token),
		string(js), string(specJS), logBuf.String(), c.State.String(), fmt.Sprintf("%+v", c),
	}
	for _, out := range outputs {
		for _, v := range env {
			if strings.Contains(out, v) {
				t.Errorf("secret value printed: %s", out)
			}
		}
	}
	if prod.Token.String() != "${TEST_DATABRICKS_TOKEN}" || !strings.Contains(string(js), `"token":"${TEST_DATABRICKS_TOKEN}"`) {
		t.Errorf("reference: %s / %s", prod.Token, js)
	}
	if u, err := c.State.Resolve(); err != nil || u != "postgres://lakeport:pgSECRET@db.example.com:5432/lakeport?sslmode=require" {
		t.Errorf("state resolves to %q, %v", u, err)
	}
	if got := c.Redact("login failed for dapiSECRETVALUE at https://hooks.example.com/services/T000/B000/XXXX"); got != "login failed for [redacted] at https://hooks.example.com/services/[redacted]" {
		t.Errorf("Redact = %q", got)
	}
	delete(env, "TEST_DATABRICKS_TOKEN")
	_, err = prod.Token.Resolve()
	if err == nil || err.Error() != "connections.prod.token: environment variable TEST_DATABRICKS_TOKEN is not set" || errs.Classify(err) != errs.Auth {
		t.Errorf("unset variable: %v", err)
	}
	delete(env, "TEST_PG_PASSWORD")
	if _, err := c.State.Resolve(); err == nil || err.Error() != "state: environment variable TEST_PG_PASSWORD is not set" {
		t.Errorf("unset variable in URL: %v", err)
	}
	// A literal URL password is masked when printed.
	if s := NewEnvString("postgres://u:pw@h/db").String(); strings.Contains(s, "pw@") {
		t.Errorf("masked = %q", s)
	}
}

// FuzzParse: no input panics the parser, and every error is one line
// naming what is wrong.
func FuzzParse(f *testing.F) {
	f.Add([]byte(goodConfig))
	f.Add([]byte("jobs: [{name: a, kind: test.kind, schedule: {frequency: weekly, day_of_week: mon, time_of_day: \"09:00\"}}]"))
	f.Add([]byte("connections: {p: {type: databricks, host: h, http_path: /x, token: \"${T}\"}}"))
	f.Add([]byte("a: &x [*x, *x]"))
	f.Add([]byte("jobs:\n  - name: a\n    kind: test.kind\n    settings: {x: [1, {y: 2}]}\n    schedule: every 1h\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "/x")
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			if errs.Classify(err) != errs.Invalid {
				t.Fatalf("error not invalid: %v", err)
			}
			return
		}
		for _, j := range c.Jobs {
			if _, err := json.Marshal(j); err != nil {
				t.Fatalf("job %s does not marshal: %v", j.Name, err)
			}
			j.Schedule.Next(time.Date(2025, 3, 30, 0, 0, 0, 0, time.UTC))
			var v map[string]any
			j.DecodeSettings(&v)
		}
	})
}

func TestAliases(t *testing.T) {
	// A recursive alias and an exponential one are errors, not hangs.
	if _, err := Parse([]byte("jobs: &x [*x]\n"), "/x"); err == nil {
		t.Error("recursive alias: no error")
	}
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	b.WriteString("jobs: [{name: a, kind: test.kind, settings: *a8}]\n")
	if _, err := Parse([]byte(b.String()), "/x"); err == nil {
		t.Error("exponential aliases: no error")
	}
	// Ordinary aliases work.
	c, err := Parse([]byte("jobs: [{name: a, kind: test.kind, schedule: &s {frequency: daily, time_of_day: \"03:00\"}}, {name: b, kind: test.kind, schedule: *s}]\n"), "/x")
	if err != nil || c.Jobs[1].Schedule.String() != "daily at 03:00 UTC" {
		t.Errorf("alias: %v", err)
	}
}
