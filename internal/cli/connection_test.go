package cli

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/lakeport/lakeport/internal/lakehouse/databricks/dbxfake"
)

// httpsToFake sends the workspace client's https://127.0.0.1:PORT requests
// to the fake's plain HTTP listener.
type httpsToFake struct{ base http.RoundTripper }

func (t httpsToFake) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme = "http"
	return t.base.RoundTrip(r)
}

func TestConnectionVerify(t *testing.T) {
	s := dbxfake.New(t)
	s.AddToken("dapi-cli-verify-token")
	s.AddServicePrincipal("sp-cli", "sp-cli-secret")
	s.AddCatalog("main")
	s.Grant("main", "USE_CATALOG", "USE_SCHEMA", "SELECT")
	s.SetWarehouseState(dbxfake.StateStopped)
	old := workspaceTransport
	workspaceTransport = httpsToFake{s.Transport()}
	t.Cleanup(func() { workspaceTransport = old })
	t.Setenv("TEST_CLI_DBX_TOKEN", "dapi-cli-verify-token")
	t.Setenv("TEST_CLI_DBX_BAD", "dapi-cli-wrong-token")
	t.Setenv("TEST_CLI_SP_SECRET", "sp-cli-secret")
	_, port := s.HostPort()
	config := writeConfig(t, fmt.Sprintf(`
connections:
  lake: {type: local, path: lakehouse}
  prod: {type: databricks, host: 127.0.0.1, port: %[1]d, http_path: %[2]s, token: "${TEST_CLI_DBX_TOKEN}", catalog: main}
  sp: {type: databricks, host: 127.0.0.1, port: %[1]d, http_path: %[2]s, client_id: sp-cli, client_secret: "${TEST_CLI_SP_SECRET}", catalog: main}
  badtoken: {type: databricks, host: 127.0.0.1, port: %[1]d, http_path: %[2]s, token: "${TEST_CLI_DBX_BAD}"}
  nowarehouse: {type: databricks, host: 127.0.0.1, port: %[1]d, http_path: /sql/1.0/warehouses/gone, token: "${TEST_CLI_DBX_TOKEN}"}
  nocatalog: {type: databricks, host: 127.0.0.1, port: %[1]d, http_path: %[2]s, client_id: sp-cli, client_secret: "${TEST_CLI_SP_SECRET}", catalog: other}
  unset: {type: databricks, host: 127.0.0.1, port: %[1]d, http_path: %[2]s, token: "${TEST_CLI_DBX_UNSET}"}
`, port, dbxfake.HTTPPath))

	out, errOut, code := cli(t, "connection", "verify", "prod", "--config", config)
	if code != 0 || !strings.Contains(out, "login") || !strings.Contains(out, "warehouse  ok") || !strings.Contains(out, "catalog    ok") {
		t.Errorf("prod: code %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = cli(t, "connection", "verify", "sp", "--config", config)
	if code != 0 || !strings.Contains(out, "sp-cli (oauth-m2m)") {
		t.Errorf("sp: code %d\n%s%s", code, out, errOut)
	}
	cases := []struct{ name, stdout, stderr string }{
		{"badtoken", "login      FAILED", "login check failed"},
		{"nowarehouse", "warehouse  FAILED", "warehouse check failed"},
		{"nocatalog", "catalog    FAILED", "catalog check failed"},
	}
	for _, c := range cases {
		out, errOut, code := cli(t, "connection", "verify", c.name, "--config", config)
		if code == 0 || !strings.Contains(out, c.stdout) || !strings.Contains(errOut, c.stderr) {
			t.Errorf("%s: code %d\nstdout:\n%s\nstderr:\n%s", c.name, code, out, errOut)
		}
		if strings.Contains(out+errOut, "dapi-cli-wrong-token") || strings.Contains(out+errOut, "sp-cli-secret") {
			t.Errorf("%s: a secret was printed:\n%s%s", c.name, out, errOut)
		}
	}
	if _, errOut, code := cli(t, "connection", "verify", "unset", "--config", config); code == 0 || !strings.Contains(errOut, "TEST_CLI_DBX_UNSET") {
		t.Errorf("unset secret: %d %s", code, errOut)
	}
	if out, _, code := cli(t, "connection", "verify", "lake", "--config", config); code != 0 || !strings.Contains(out, "path       ok") {
		t.Errorf("local: %d %s", code, out)
	}
	if _, errOut, code := cli(t, "connection", "verify", "nope", "--config", config); code == 0 || !strings.Contains(errOut, `no connection "nope"`) {
		t.Errorf("unknown: %d %s", code, errOut)
	}
	if s.WarehouseState() != dbxfake.StateStopped {
		t.Error("verify started the warehouse")
	}
}
